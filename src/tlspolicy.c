/* tlspolicy.c — the daemon's TLS policy toward each MX host: DANE (RFC 7672)
 * from the route's TLSA records, MTA-STS (RFC 8461) from the policy that
 * paloma-mtasts keeps fresh in the background, else opportunistic TLS.  The
 * route is in (dns.c) when sched_routed turns its MX hosts into targets,
 * each with its policy, and starts delivery.  See doc/paloma-daemon.1, "TLS
 * policy: DANE and MTA-STS". */
#include "sched_priv.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"

/* MTA-STS: paloma-mtasts runs before a domain's first delivery of the
 * daemon's life and again when it last ran more than STS_RECHECK_MS ago;
 * the domain's mail waits for it at most STS_WAIT_MS, then it is killed
 * and the cached policy (if any) is used. */
#define STS_RECHECK_MS (3600 * 1000)
#define STS_WAIT_MS 60000
#define STS_POLL_MS 50

/* The tls_policy= of a delivery log line: what protected the attempt. */
const char *
sched_pol_name(const struct dom *d, enum tpol pol, int tls)
{
	if (!tls)
		return "none";
	if (d->kind != ROUTE_DIRECT)
		return "verified";	/* a relay's certificate always is */
	return pol == POL_DANE ? "dane" : pol == POL_STS ? "mta-sts" :
	    pol == POL_DANE_ENCRYPT ? "encrypt" : "opportunistic";
}

/* 1 when the policy never lets mail go to that MX in clear. */
int
sched_pol_required(enum tpol pol)
{
	return pol == POL_DANE || pol == POL_DANE_ENCRYPT || pol == POL_STS;
}

static struct sts_seen *
sts_find(struct pl_sched *s, const char *domain)
{
	for (struct sts_seen *n = s->sts_seen; n; n = n->next)
		if (ascii_casecmp(n->domain, domain) == 0)
			return n;
	return NULL;
}

/* Starts paloma-mtasts [-c CONFIG] DOMAIN (stdin and stdout /dev/null, its
 * one line of stderr into daemon.log); its pid, or 0. */
static pid_t
sts_spawn(struct pl_sched *s, const char *domain)
{
	const char *args[] = { domain, NULL };
	int err;
	pid_t pid = pl_spawn_helper("paloma-mtasts",
	    s->cfg->path && access(s->cfg->path, F_OK) == 0 ? s->cfg->path : NULL, args,
	    s->daemon_log, &err);

	if (pid == 0)
		pl_log("%s: cannot run paloma-mtasts to refresh its MTA-STS policy: %s", domain,
		    strerror(err));
	return pid;
}


/* Polls the child: the daemon's SIGCHLD belongs to the syncer, and a
 * refresh happens once an hour per domain at most. */
static void
sts_poll(void *arg)
{
	struct dom *d = arg;
	int st = 0;
	pid_t r;

	d->sts_timer = NULL;
	r = waitpid(d->sts_pid, &st, WNOHANG);
	if (r == 0 && pl_mono_ms() - d->sts_start < STS_WAIT_MS) {
		d->sts_timer = pl_timer_add(d->s->loop, STS_POLL_MS, sts_poll, d);
		return;
	}
	if (r == 0) {
		pl_log("%s: paloma-mtasts did not finish within %d s: killed; a cached MTA-STS "
		    "policy, if any, stays in force", d->domain, STS_WAIT_MS / 1000);
		kill(d->sts_pid, SIGKILL);
		waitpid(d->sts_pid, &st, 0);
	} else if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		pl_log("%s: the MTA-STS policy could not be refreshed (paloma-mtasts %s %d); a "
		    "cached policy, if any, stays in force", d->domain,
		    r > 0 && WIFEXITED(st) ? "exit status" : "signal",
		    r > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : r > 0 ? WTERMSIG(st) : -1);
	}
	d->sts_pid = 0;
	d->sts_waiting = 0;
	if (d->route) {
		sched_routed(d);
	} else if (d->resolved) {
		/* The DNS lookup failed meanwhile: its jobs have their outcome;
		 * jobs added since need a lookup of their own. */
		d->resolved = 0;
		if (d->pending)
			sched_dom_resolve(d->s, d);
		else
			sched_dom_maybe_free(d);
	}
}

/* Refreshes the domain's MTA-STS policy in the background when it is due;
 * the route waits for it (sts_waiting). */
void
sched_sts_refresh(struct pl_sched *s, struct dom *d)
{
	struct sts_seen *n;

	/* a literal has no policy; a name that is not one is refused by the
	 * route lookup anyway, and a leading '-' would read as an option */
	if (d->kind != ROUTE_DIRECT || !s->cfg->mta_sts || !pl_dns_valid_domain(d->domain) ||
	    d->domain[0] == '-')
		return;
	n = sts_find(s, d->domain);
	if (n && pl_mono_ms() - n->at < STS_RECHECK_MS)
		return;
	if (n == NULL) {
		n = xcalloc(1, sizeof *n);
		n->domain = xstrdup(d->domain);
		n->next = s->sts_seen;
		s->sts_seen = n;
	}
	n->at = pl_mono_ms();
	d->sts_pid = sts_spawn(s, d->domain);
	if (d->sts_pid <= 0) {
		d->sts_pid = 0;
		return;
	}
	d->sts_waiting = 1;
	d->sts_start = pl_mono_ms();
	d->sts_timer = pl_timer_add(s->loop, STS_POLL_MS, sts_poll, d);
}

/* An MX that must not be used (its TLSA lookup failed): counted as an
 * address given up on, with why. */
static void
dom_skip_mx(struct dom *d, const char *host, const char *why)
{
	struct pl_outcome o = { .result = PL_RESULT_TEMP };

	snprintf(o.status, sizeof o.status, "4.7.5");
	snprintf(o.reply, sizeof o.reply, "paloma: %s (RFC 7672 2.2: not used until it "
	    "answers)", why);
	snprintf(o.step, sizeof o.step, "dns");
	if (d->ntried > 0)
		buf_adds(&d->tried, "; ");
	buf_printf(&d->tried, "%s: %s", host, o.reply);
	pl_log("%s: MX %s skipped: %s", d->domain, host, why);
	d->ntried++;
	d->last_dead = o;
	d->last_pol = "dane";
	sched_set_str(&d->last_remote, host);
}

static void
add_targets(struct dom *d, size_t mxi, enum tpol pol)
{
	const struct pl_mx *m = &d->route->mx[mxi];

	for (size_t a = 0; a < m->naddrs; a++) {
		struct target *t;

		d->t = xrealloc(d->t, (d->nt + 1) * sizeof *d->t);
		t = &d->t[d->nt++];
		memset(t, 0, sizeof *t);
		t->mx = xstrdup(m->host);
		memcpy(&t->ss, &m->addrs[a], m->addrlens[a]);
		t->len = m->addrlens[a];
		t->pol = pol;
		t->mxi = mxi;
	}
}

/* The route and (when asked) the MTA-STS policy are in: each MX gets its
 * TLS policy, those the policies rule out are dropped, and delivery
 * starts.  DANE wins over MTA-STS for an MX with usable TLSA records (RFC
 * 8461 2). */
void
sched_routed(struct dom *d)
{
	struct pl_sched *s = d->s;
	const struct pl_route *r = d->route;
	struct buf unlisted = { 0 };
	int sts = 0;

	if (d->kind == ROUTE_DIRECT && s->cfg->mta_sts && !r->literal &&
	    pl_mtasts_cache_load(d->domain, pl_now(), &d->sts) == 1)
		sts = d->sts.mode;
	for (size_t i = 0; i < r->nmx; i++) {
		const struct pl_mx *m = &r->mx[i];
		enum tpol pol = POL_OPPORTUNISTIC;

		if (m->dane == PL_DANE_FAILED) {
			dom_skip_mx(d, m->host, m->tlsa_why ? m->tlsa_why : "TLSA lookup failed");
			continue;
		}
		if (m->dane == PL_DANE_USABLE) {
			pol = POL_DANE;
		} else if (sts == PL_MTASTS_ENFORCE || sts == PL_MTASTS_TESTING) {
			if (!pl_mtasts_mx_ok(&d->sts, m->host)) {
				buf_printf(&unlisted, "%s%s", unlisted.len ? ", " : "", m->host);
				if (sts == PL_MTASTS_ENFORCE)
					continue;
				pl_log("%s: MTA-STS policy (testing) does not list MX %s; it would "
				    "not be used under enforce", d->domain, m->host);
			}
			pol = sts == PL_MTASTS_ENFORCE ? POL_STS : POL_STS_TESTING;
		} else if (m->dane == PL_DANE_UNUSABLE) {
			pol = POL_DANE_ENCRYPT;
		}
		add_targets(d, i, pol);
	}
	if (d->nt == 0 && sts == PL_MTASTS_ENFORCE && unlisted.len) {
		struct pl_outcome o = { .result = PL_RESULT_TEMP };

		snprintf(o.status, sizeof o.status, "4.7.5");
		snprintf(o.reply, sizeof o.reply, "paloma: the MTA-STS policy of %s lists none of "
		    "its MX hosts: %s", d->domain, unlisted.p);
		snprintf(o.step, sizeof o.step, "dns");
		pl_log("%s: %s", d->domain, o.reply);
		sched_dom_fail_pending(d, &o, NULL);
	} else if (unlisted.len && sts == PL_MTASTS_ENFORCE) {
		pl_log("%s: MX hosts not in its MTA-STS policy, not used: %s", d->domain,
		    unlisted.p);
	}
	buf_free(&unlisted);
	sched_dom_start(d);
	sched_dom_maybe_free(d);
}

/* A connection refused by the TLS policy: the reason says which policy
 * asked for what (never retried in clear, never by another policy). */
const struct pl_outcome *
sched_policy_failure(const struct dom *d, size_t ti, const struct pl_outcome *fail,
    struct pl_outcome *pf)
{
	const char *why = fail->reply, *host = d->t[ti].mx;
	char what[600];

	if (strncmp(why, "paloma: ", 8) == 0)
		why += 8;
	if (d->t[ti].pol == POL_DANE)
		snprintf(what, sizeof what, "DANE: the TLSA records of _25._tcp.%s require TLS "
		    "authenticated by them", host);
	else if (d->t[ti].pol == POL_STS)
		snprintf(what, sizeof what, "the MTA-STS policy of %s (enforce) requires TLS with a "
		    "certificate valid for %s", d->domain, host);
	else
		snprintf(what, sizeof what, "DANE: _25._tcp.%s has TLSA records (none usable), "
		    "so TLS is required", host);
	*pf = *fail;
	snprintf(pf->reply, sizeof pf->reply, "paloma: %s: %s", what, why);
	if (pf->status[0] == '4' && strncmp(pf->status, "4.7.", 4) != 0)
		snprintf(pf->status, sizeof pf->status, "4.7.5");
	return pf;
}

