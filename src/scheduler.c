/* scheduler.c — what to deliver now, over which connection, and what the
 * outcome does to each recipient.  See scheduler.h; the TLS policy toward
 * each MX (DANE, MTA-STS) is in tlspolicy.c. */
#include "scheduler.h"
#include "sched_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "conn.h"
#include "dns.h"
#include "log.h"
#include "mtasts.h"
#include "paths.h"
#include "queue.h"
#include "bounce.h"
#include "secret.h"
#include "smtp.h"
#include "tls.h"

#define RESCAN_MS 60000
#define HISTORY_MAX 100
#define DONE_KEEP (7 * 86400)

static const struct pl_conn_ops conn_ops;
static void sync_retired(struct pl_sched *s);
static void settle(struct pl_sched *s, struct qent *q);
static void dom_free(struct dom *d);
static int reroute_blocklisted(struct pl_sched *s, struct sjob *j);
static void dom_fallback_pending(struct dom *d, const char *why);

int64_t
pl_retry_next(const struct pl_config *c, int64_t created, int attempts, int64_t now)
{
	int64_t next, end = created + c->max_lifetime;
	size_t i;

	if (now >= end)
		return 0;
	i = attempts <= 0 ? 0 : (size_t)attempts - 1;
	if (i >= c->nretry)
		i = c->nretry - 1;
	next = now + c->retry[i];
	/* The last attempt is made when the lifetime ends, not up to a whole
	 * retry interval later: a recipient still failing then is bounced on
	 * time (the delayed report promised Will-Retry-Until = end). */
	return next > end ? end : next;
}

static unsigned
hash_id(const char *id)
{
	unsigned h = 5381;

	for (; *id; id++)
		h = h * 33 + (unsigned char)*id;
	return h % NBUCKETS;
}

static struct qent *
find_q(struct pl_sched *s, const char *id)
{
	for (struct qent *q = s->h[hash_id(id)]; q; q = q->hnext)
		if (strcmp(q->env.id, id) == 0)
			return q;
	return NULL;
}

static int
waiting(const struct pl_rcpt *r)
{
	return r->state == PL_RCPT_QUEUED || r->state == PL_RCPT_DEFERRED;
}

static void
update_due(struct pl_sched *s, struct qent *q)
{
	size_t nfinal = 0;

	q->next_due = INT64_MAX;
	for (size_t i = 0; i < q->env.nrcpt; i++) {
		const struct pl_rcpt *r = &q->env.rcpt[i];
		if (q->busy[i])
			continue;
		nfinal += PL_RCPT_FINAL(r->state);
		if (waiting(r) && r->next_attempt < q->next_due)
			q->next_due = r->next_attempt;
		if (r->state == PL_RCPT_FAILED && q->retry_at < q->next_due)
			q->next_due = q->retry_at;	/* a report is owed */
	}
	/* Every recipient final but the entry still queued (a crash between the
	 * last state write and the move to done/): it is owed its retirement. */
	if (nfinal == q->env.nrcpt && q->retry_at < q->next_due)
		q->next_due = q->retry_at;
	if (q->dirty && q->retry_at < q->next_due)
		q->next_due = q->retry_at;
	/* A delay warning is owed at created + delay_warning, not only at the
	 * next attempt after it. */
	if (!q->env.delay_warned && q->env.sender[0] != '\0') {
		int64_t warn_at = q->env.created + s->cfg->delay_warning;
		if (q->retry_at > warn_at)
			warn_at = q->retry_at;
		for (size_t i = 0; i < q->env.nrcpt; i++)
			if (!q->busy[i] && q->env.rcpt[i].state == PL_RCPT_DEFERRED &&
			    warn_at < q->next_due)
				q->next_due = warn_at;
	}
}

static void
drop_q(struct pl_sched *s, struct qent *q)
{
	struct qent **pp = &s->h[hash_id(q->env.id)];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == q) {
			*pp = q->hnext;
			break;
		}
	pl_envelope_free(&q->env);
	free(q->busy);
	free(q);
	s->nq--;
}

static int
dns_prepare(void *arg, struct pollfd *fds, int max, int *timeout_ms)
{
	int n = pl_dns_pollfds(arg, fds, max);

	*timeout_ms = pl_dns_timeout_ms(arg, *timeout_ms);
	return n;
}

static void
dns_dispatch(void *arg, struct pollfd *fds, int n)
{
	pl_dns_process(arg, fds, n);
}

struct pl_sched *
pl_sched_new(struct pl_loop *loop, const struct pl_config *cfg, struct pl_err *e)
{
	struct pl_sched *s = xcalloc(1, sizeof *s);

	s->loop = loop;
	s->cfg = cfg;
	if (pl_dns_new(&s->dns, cfg->dns_servers, 10000, e) < 0) {
		free(s);
		return NULL;
	}
	pl_loop_set_poller(loop, dns_prepare, dns_dispatch, s->dns);
	pl_dns_set_dane(s->dns, cfg->dane, cfg->dns_assume_ad);
	s->tls_ctx = pl_tls_ctx_new(PL_TLS_MX, NULL, e);
	if (s->tls_ctx == NULL) {
		pl_dns_free(s->dns);
		free(s);
		return NULL;
	}
	snprintf(s->delivery_log, sizeof s->delivery_log, "%s/delivery.log", pl_state_dir());
	snprintf(s->daemon_log, sizeof s->daemon_log, "%s/daemon.log", pl_state_dir());
	return s;
}

void
pl_sched_set_config(struct pl_sched *s, const struct pl_config *cfg)
{
	s->cfg = cfg;
	pl_dns_set_dane(s->dns, cfg->dane, cfg->dns_assume_ad);
}

void
pl_sched_free(struct pl_sched *s)
{
	while (s->conns)
		pl_conn_abort(s->conns->c);	/* closed() unlinks it */
	sync_retired(s);
	for (size_t i = 0; i < NBUCKETS; i++)
		while (s->h[i])
			drop_q(s, s->h[i]);
	pl_dns_free(s->dns);
	while (s->doms) {
		struct dom *d = s->doms;
		s->doms = d->next;
		dom_free(d);
	}
	pl_tls_ctx_free(s->tls_ctx);
	while (s->sts_seen) {
		struct sts_seen *n = s->sts_seen->next;
		free(s->sts_seen->domain);
		free(s->sts_seen);
		s->sts_seen = n;
	}
	free(s);
}

void
pl_sched_scan(struct pl_sched *s)
{
	const char *qdir = pl_queue_dir();
	struct pl_err e;
	char **ids;
	size_t n;

	s->last_scan = pl_mono_ms();
	if (pl_queue_list(qdir, &ids, &n, &e) < 0) {
		pl_log("cannot scan the queue: %s", e.msg);
		return;
	}
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct qent *q = s->h[i]; q; q = q->hnext)
			q->seen = 0;
	for (size_t i = 0; i < n; i++) {
		struct qent *q = find_q(s, ids[i]);
		if (q) {
			q->seen = 1;
			continue;
		}
		q = xcalloc(1, sizeof *q);
		if (pl_queue_load(qdir, ids[i], &q->env, &e) < 0) {
			if (e.code != EX_NOINPUT)
				pl_log("skipping queue entry %s: %s", ids[i], e.msg);
			free(q);
			continue;
		}
		q->busy = xcalloc(q->env.nrcpt, 1);
		q->seen = 1;
		update_due(s, q);
		q->hnext = s->h[hash_id(q->env.id)];
		s->h[hash_id(q->env.id)] = q;
		s->nq++;
		/* What a daemon killed mid-way still owed: reports for recipients
		 * left failed, the retirement of an entry all final.  Now, before
		 * a new attempt adds recipients to that report, which would then
		 * name the old ones a second time. */
		settle(s, q);	/* may free q */
	}
	/* Entries removed by the user: forget them (jobs in flight finish, but
	 * their outcome is not saved: the entry is gone). */
	for (size_t i = 0; i < NBUCKETS; i++) {
		struct qent *q = s->h[i];
		while (q) {
			struct qent *next = q->hnext;
			if (!q->seen && q->inflight == 0) {
				pl_log("%s: removed from the queue", q->env.id);
				drop_q(s, q);
			}
			q = next;
		}
	}
	pl_queue_ids_free(ids, n);
	pl_queue_prune_done(qdir, DONE_KEEP);
}

int
pl_sched_flush(struct pl_sched *s)
{
	int64_t now = pl_now();
	int k = 0;

	pl_sched_scan(s);
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct qent *q = s->h[i]; q; q = q->hnext) {
			for (size_t j = 0; j < q->env.nrcpt; j++) {
				struct pl_rcpt *r = &q->env.rcpt[j];
				if (waiting(r) && !q->busy[j] && r->next_attempt > now) {
					r->next_attempt = now;
					k++;
				}
			}
			update_due(s, q);
		}
	pl_log("flush: %d recipients made due now", k);
	return k;
}

int
pl_sched_cancel(struct pl_sched *s, const char *id, const char *addr, struct pl_err *e)
{
	struct qent *q;

	pl_sched_scan(s);
	q = find_q(s, id);
	if (q == NULL)
		return pl_errf(e, EX_NOINPUT, "no queue entry %s", id);
	for (size_t j = 0; j < q->env.nrcpt; j++)
		if (q->busy[j] && pl_addr_equal(q->env.rcpt[j].addr, addr))
			return pl_errf(e, EX_TEMPFAIL, "<%s> is being delivered right now; try "
			    "again in a moment", q->env.rcpt[j].addr);
	if (pl_envelope_cancel_rcpt(&q->env, addr, pl_now(), e) < 0)
		return -1;
	pl_log("%s: <%s> cancelled by the user", id, addr);
	q->dirty = 1;		/* settle saves it, and retires the entry when all is final */
	settle(s, q);
	return 0;
}

void
pl_sched_stop(struct pl_sched *s)
{
	s->stopping = 1;
}

int
pl_sched_busy(struct pl_sched *s)
{
	return s->njobs + s->nconn + pl_dns_pending(s->dns);
}

int
pl_sched_due(struct pl_sched *s)
{
	int64_t now = pl_now();

	if (s->stopping)
		return 0;
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct qent *q = s->h[i]; q; q = q->hnext)
			if (q->next_due <= now)
				return 1;
	return 0;
}

int
pl_sched_wait_ms(struct pl_sched *s)
{
	int64_t now = pl_now(), next = INT64_MAX;
	int64_t ms;

	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct qent *q = s->h[i]; q; q = q->hnext)
			if (q->next_due < next)
				next = q->next_due;
	ms = RESCAN_MS - (pl_mono_ms() - s->last_scan);
	if (next != INT64_MAX) {
		int64_t d = (next - now) * 1000;
		if (d < ms)
			ms = d;
	}
	return ms < 0 ? 0 : (int)ms;
}

/* --- outcomes ----------------------------------------------------------- */

void
sched_set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? xstrdup(v) : NULL;
}

static void
add_history(struct pl_rcpt *r, int64_t now, const char *what)
{
	char t[32];
	struct buf b = { 0 };

	pl_iso_time(now, t, sizeof t);
	buf_printf(&b, "%s %s", t, what);
	if (r->nhistory >= HISTORY_MAX) {
		free(r->history[0]);
		memmove(r->history, r->history + 1, (r->nhistory - 1) * sizeof *r->history);
		r->nhistory--;
	}
	r->history = xrealloc(r->history, (r->nhistory + 1) * sizeof *r->history);
	r->history[r->nhistory++] = buf_steal(&b);
}

/* The id the accepting server gave the message, from its reply: Postfix's
 * "250 2.0.0 Ok: queued as 4XyZ", Exim's "250 OK id=1abc-…", Sendmail's
 * "250 2.0.0 x1234 Message accepted for delivery" is not recognised. */
static void
remote_id(const char *reply, char *out, size_t len)
{
	static const char *marks[] = { "queued as ", "id=", "Queued as " };
	const char *p = NULL;
	size_t n;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof marks / sizeof marks[0] && p == NULL; i++)
		if ((p = strstr(reply, marks[i])) != NULL)
			p += strlen(marks[i]);
	if (p == NULL)
		return;
	n = strcspn(p, " \t\r\n;,()<>\"");
	if (n == 0 || n >= len)
		return;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Applies one outcome to recipient k of the job's entry, and logs it. */
static void
apply(struct pl_sched *s, struct sjob *j, size_t k)
{
	struct qent *q = j->q;
	struct pl_rcpt *r = &q->env.rcpt[j->idx[k]];
	const struct pl_outcome *o = &j->out[k];
	int64_t now = pl_now();
	const char *result;
	char what[2600];
	struct pl_delivery_rec rec = { 0 };
	char *ip = NULL, rid[128] = "";

	r->attempts++;
	r->last_attempt = now;
	sched_set_str(&r->status, o->status);
	sched_set_str(&r->reply, o->reply);
	sched_set_str(&r->remote, j->remote[k]);
	sched_set_str(&r->tls_policy, j->remote[k] && j->pol ? j->pol[k] : NULL);
	if (o->result == PL_RESULT_OK) {
		r->state = PL_RCPT_DELIVERED;
		result = "delivered";
	} else if (o->result == PL_RESULT_PERM) {
		r->state = PL_RCPT_FAILED;
		result = "failed";
	} else {
		int64_t next = pl_retry_next(s->cfg, q->env.created, r->attempts, now);
		if (next == 0) {
			char d[32], reason[2200];
			fmt_duration(s->cfg->max_lifetime, d, sizeof d);
			snprintf(reason, sizeof reason, "gave up after %s of temporary failures; "
			    "the last one: %s", d, o->reply);
			sched_set_str(&r->reply, reason);
			sched_set_str(&r->status, "4.4.7");
			r->state = PL_RCPT_FAILED;
			result = "expired";
		} else {
			r->state = PL_RCPT_DEFERRED;
			r->next_attempt = next;
			result = "deferred";
		}
	}
	snprintf(what, sizeof what, "%s%s%s%s%s %s %s", result,
	    j->d->kind == ROUTE_RELAY ? " via relay" :
	    j->d->kind == ROUTE_FALLBACK ? " via fallback relay" : "",
	    j->remote[k] ? " " : "", j->remote[k] ? j->remote[k] : "",
	    j->via_why && j->d->kind == ROUTE_FALLBACK ? " (direct delivery failed)" : "",
	    r->status ? r->status : "", r->reply ? r->reply : "");
	add_history(r, now, what);

	if (j->remote[k]) {
		const char *lb = strchr(j->remote[k], '[');
		if (lb)
			ip = xstrndup(lb + 1, strcspn(lb + 1, "]"));
	}
	rec.when = now;
	rec.id = q->env.id;
	rec.rcpt = r->addr;
	rec.result = result;
	rec.status = r->status;
	rec.ip = ip;
	rec.via = j->d->kind == ROUTE_RELAY ? "relay" :
	    j->d->kind == ROUTE_FALLBACK ? "fallback" : NULL;
	if (j->remote[k]) {
		char *mx = xstrndup(j->remote[k], strcspn(j->remote[k], " "));
		rec.mx = mx;
		rec.tls = j->tls[k] ? j->tls[k] : "none";
		rec.tls_policy = j->pol ? j->pol[k] : NULL;
		rec.reply = o->reply;
		if (o->result == PL_RESULT_OK)
			remote_id(o->reply, rid, sizeof rid);
		rec.remote_id = rid[0] ? rid : NULL;
		pl_delivery_log(s->delivery_log, &rec);
		free(mx);
	} else {
		rec.reply = r->reply;
		pl_delivery_log(s->delivery_log, &rec);
	}
	free(ip);
}

/* Writes the envelope; 0, or -1 with q->dirty set (try again later) or, when
 * the user removed the entry meanwhile, with q->dirty clear. */
static int
save(struct qent *q)
{
	struct pl_err e;

	if (pl_queue_save(pl_queue_dir(), &q->env, &e) < 0) {
		if (e.code == EX_NOINPUT) {
			q->dirty = 0;
			return -1;
		}
		pl_log("%s: cannot save the envelope (will try again): %s", q->env.id, e.msg);
		q->dirty = 1;
		q->retry_at = pl_now() + 60;
		return -1;
	}
	q->dirty = 0;
	return 0;
}

/* Writes the reports owed (failed recipients, a delay warning), then retires
 * the entry once every recipient is final.  May free q. */
static void
settle(struct pl_sched *s, struct qent *q)
{
	int64_t now = pl_now();
	int nfailed = 0, ndeferred = 0, nfinal = 0, changed = 0;
	struct pl_err e;

	if (q->inflight > 0)
		return;
	q->retry_at = 0;
	for (size_t i = 0; i < q->env.nrcpt; i++) {
		enum pl_rcpt_state st = q->env.rcpt[i].state;
		nfailed += st == PL_RCPT_FAILED;
		ndeferred += st == PL_RCPT_DEFERRED;
		nfinal += PL_RCPT_FINAL(st);
	}
	if (nfailed > 0) {
		int reported = 1;
		if (q->env.sender[0] == '\0') {
			pl_log("%s: %d recipient%s failed; the sender is <>, so no report is made",
			    q->env.id, nfailed, nfailed == 1 ? "" : "s");
		} else if (pl_bounce_write(s->cfg, &q->env, PL_BOUNCE_FAILED, &e) < 0) {
			pl_log("%s: cannot write the failure report (will try again): %s",
			    q->env.id, e.msg);
			q->retry_at = now + 60;
			reported = 0;
		} else {
			pl_log("%s: failure report for %d recipient%s written to <%s>'s inbox",
			    q->env.id, nfailed, nfailed == 1 ? "" : "s", q->env.sender);
		}
		for (size_t i = 0; reported && i < q->env.nrcpt; i++)
			if (q->env.rcpt[i].state == PL_RCPT_FAILED) {
				q->env.rcpt[i].state = PL_RCPT_BOUNCED;
				nfinal++;
				changed = 1;
			}
	}
	if (ndeferred > 0 && !q->env.delay_warned && q->env.sender[0] != '\0' &&
	    now - q->env.created >= s->cfg->delay_warning) {
		if (pl_bounce_write(s->cfg, &q->env, PL_BOUNCE_DELAYED, &e) < 0) {
			pl_log("%s: cannot write the delay report (will try again): %s", q->env.id,
			    e.msg);
			q->retry_at = now + 60;
		} else {
			pl_log("%s: delay report written to <%s>'s inbox", q->env.id, q->env.sender);
			q->env.delay_warned = 1;
			changed = 1;
		}
	}
	if ((changed || q->dirty) && save(q) < 0 && !q->dirty) {
		drop_q(s, q);		/* removed by the user */
		return;
	}
	if ((size_t)nfinal == q->env.nrcpt && !q->dirty) {
		if (pl_queue_retire(pl_queue_dir(), q->env.id, &e) < 0) {
			pl_log("%s: %s", q->env.id, e.msg);
			q->dirty = 1;
			q->retry_at = now + 60;
		} else {
			pl_log("%s: done", q->env.id);
			drop_q(s, q);
			return;
		}
	}
	update_due(s, q);
}

static void
job_free(struct sjob *j)
{
	for (size_t k = 0; j->remote && k < j->job.nrcpt; k++) {
		free(j->remote[k]);
		free(j->tls[k]);
	}
	free(j->remote);
	free(j->tls);
	free(j->pol);
	free(j->out);
	free(j->idx);
	free(j->job.rcpt);
	free((char *)j->job.msg_path);
	free(j->via_why);
	free(j);
}

static int
all_final(const struct qent *q)
{
	for (size_t i = 0; i < q->env.nrcpt; i++)
		if (!PL_RCPT_FINAL(q->env.rcpt[i].state))
			return 0;
	return 1;
}

/* The per-recipient results, allocated only when a job is taken up (a big
 * queue holds many jobs waiting for a connection). */
static void
job_results(struct sjob *j)
{
	if (j->out != NULL)
		return;
	j->out = xcalloc(j->job.nrcpt, sizeof *j->out);
	j->remote = xcalloc(j->job.nrcpt, sizeof *j->remote);
	j->tls = xcalloc(j->job.nrcpt, sizeof *j->tls);
	j->pol = xcalloc(j->job.nrcpt, sizeof *j->pol);
}

/* Every recipient of j has an outcome: record them and settle the entry. */
static void
job_finish(struct pl_sched *s, struct sjob *j)
{
	struct qent *q = j->q;

	if (j->d->kind == ROUTE_DIRECT && reroute_blocklisted(s, j))
		return;
	for (size_t k = 0; k < j->job.nrcpt; k++) {
		apply(s, j, k);
		q->busy[j->idx[k]] = 0;
	}
	q->inflight--;
	s->njobs--;
	job_free(j);
	if (q->inflight == 0 && !q->dirty && all_final(q)) {
		struct pl_err e;
		/* Nothing more will happen to it: retiring it is the durable
		 * record, no envelope rewrite needed first. */
		if (pl_queue_finish(pl_queue_dir(), &q->env, &e) == 0) {
			s->entries_unsynced = 1;
			pl_log("%s: done", q->env.id);
			drop_q(s, q);
			return;
		}
		if (e.code == EX_NOINPUT) {
			drop_q(s, q);	/* removed by the user meanwhile */
			return;
		}
		pl_log("%s: %s", q->env.id, e.msg);
	}
	if (save(q) < 0 && !q->dirty) {
		if (q->inflight == 0)
			drop_q(s, q);	/* removed by the user while in flight */
		return;
	}
	settle(s, q);
}

/* Gives every recipient of j the same outcome and finishes it. */
static void
job_fail_all(struct pl_sched *s, struct sjob *j, const struct pl_outcome *o)
{
	job_results(j);
	for (size_t k = 0; k < j->job.nrcpt; k++)
		j->out[k] = *o;
	job_finish(s, j);
}

/* --- domains, routes, connections ---------------------------------------- */

static struct dom *
find_dom(struct pl_sched *s, const char *domain)
{
	for (struct dom *d = s->doms; d; d = d->next)
		if (d->kind == ROUTE_DIRECT && ascii_casecmp(d->domain, domain) == 0)
			return d;
	return NULL;
}

/* Fails every job waiting for d with o; remote, when set, is where o came
 * from ("mx [ip]"). */
void
sched_dom_fail_pending(struct dom *d, const struct pl_outcome *o, const char *remote)
{
	while (d->pending) {
		struct sjob *j = d->pending;
		d->pending = j->next;
		d->npending--;
		job_results(j);
		for (size_t k = 0; remote && k < j->job.nrcpt; k++) {
			j->remote[k] = xstrdup(remote);
			j->pol[k] = d->last_pol;
		}
		job_fail_all(d->s, j, o);
	}
	d->ptail = &d->pending;
}

void
sched_dom_maybe_free(struct dom *d)
{
	struct pl_sched *s = d->s;

	if (d->pending || d->nconn > 0 || d->resolving || d->sts_waiting)
		return;
	for (struct dom **pp = &s->doms; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	dom_free(d);
}

static void
dom_free(struct dom *d)
{
	free(d->account);
	free(d->auth_user);
	free(d->secret_cmd);
	free(d->tls_error);
	if (d->tls_ctx)
		pl_tls_ctx_free(d->tls_ctx);
	if (d->sts_timer)
		pl_timer_cancel(d->s->loop, d->sts_timer);
	if (d->sts_pid > 0) {
		kill(d->sts_pid, SIGKILL);
		waitpid(d->sts_pid, NULL, 0);
	}
	pl_mtasts_policy_free(&d->sts);
	pl_route_free(d->route);
	for (size_t i = 0; i < d->nt; i++)
		free(d->t[i].mx);
	free(d->t);
	buf_free(&d->tried);
	free(d->last_remote);
	free(d->domain);
	free(d);
}

static void
on_route(void *arg, struct pl_route *r)
{
	struct dom *d = arg;

	d->resolving = 0;
	d->resolved = 1;
	if (r->result != PL_DNS_OK) {
		struct pl_outcome o = { 0 };
		o.result = r->result == PL_DNS_PERMFAIL ? PL_RESULT_PERM : PL_RESULT_TEMP;
		snprintf(o.status, sizeof o.status, "%s", r->status);
		snprintf(o.reply, sizeof o.reply, "%s", r->why ? r->why : "DNS lookup failed");
		if (d->kind != ROUTE_DIRECT) {
			/* the relay's name is the user's setting, not the
			 * recipient's address: never a bounce */
			o.result = PL_RESULT_TEMP;
			o.status[0] = '4';
			snprintf(o.reply, sizeof o.reply, "paloma: cannot find relay %s: %s",
			    d->domain, r->why ? r->why : "DNS lookup failed");
		}
		snprintf(o.step, sizeof o.step, "dns");
		pl_log("%s: %s", d->domain, o.reply);
		sched_dom_fail_pending(d, &o, NULL);
		pl_route_free(r);
		sched_dom_maybe_free(d);
		return;
	}
	d->route = r;
	if (!d->sts_waiting)
		sched_routed(d);
}

static void
set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

/* Every address of d was tried and given up on: the jobs still waiting
 * fail with the last failure, and the reply names every address tried. */
static void
dom_unreachable(struct dom *d)
{
	struct pl_outcome o = d->ntried > 0 ? d->last_dead : d->last_fail;

	if (d->ntried == 0 && !d->has_fail) {
		memset(&o, 0, sizeof o);
		o.result = PL_RESULT_TEMP;
		snprintf(o.status, sizeof o.status, "4.4.1");
	}
	if (d->kind == ROUTE_DIRECT && d->ntried > 0 && d->nfallback == d->ntried) {
		char why[700];
		if (d->nconnect == d->ntried)
			snprintf(why, sizeof why, "every MX of %s refused the connection or "
			    "timed out (port 25 blocked?)", d->domain);
		else
			snprintf(why, sizeof why, "every MX of %s refused the connection or "
			    "rejected the sending host's reputation", d->domain);
		dom_fallback_pending(d, why);	/* the jobs whose account has one */
	}
	if (d->kind != ROUTE_DIRECT && d->ntried > 1) {
		snprintf(o.reply, sizeof o.reply, "relay %s could not be used (%d addresses "
		    "tried): %s", d->domain, d->ntried, d->tried.len ? d->tried.p : "");
		sched_dom_fail_pending(d, &o, NULL);
	} else if (d->ntried != 1) {
		snprintf(o.reply, sizeof o.reply, "no mail exchanger of %s could be reached "
		    "(%d address%s tried)%s%s", d->domain, d->ntried, d->ntried == 1 ? "" : "es",
		    d->tried.len ? ": " : "", d->tried.len ? d->tried.p : "");
		sched_dom_fail_pending(d, &o, NULL);
	} else {
		sched_dom_fail_pending(d, &o, d->last_remote);
	}
}

/* Opens connections while there is work, targets left and room. */
void
sched_dom_start(struct dom *d)
{
	struct pl_sched *s = d->s;

	if (d->sts_waiting)
		return;
	while (!s->stopping && d->resolved && d->npending > d->nconn && d->nconn < s->cfg->per_domain && s->nconn < s->cfg->parallel) {
		struct pl_conn_params p = { 0 };
		struct sconn *sc;
		size_t ti;

		for (ti = 0; ti < d->nt && d->t[ti].dead; ti++)
			;
		if (ti == d->nt) {
			if (d->nconn == 0)
				dom_unreachable(d);
			return;
		}
		p.mx = d->t[ti].mx;
		p.addr = d->t[ti].ss;
		p.addrlen = d->t[ti].len;
		set_port(&p.addr, s->cfg->smtp_port);
		p.helo = s->cfg->helo_name;
		p.tls = d->t[ti].no_tls ? PL_CONN_TLS_NONE :
		    s->cfg->tls == PL_TLS_REQUIRED || sched_pol_required(d->t[ti].pol) ?
		    PL_CONN_TLS_REQUIRED : PL_CONN_TLS_OPPORTUNISTIC;
		p.tls_ctx = s->tls_ctx;
		if (d->kind == ROUTE_DIRECT && (d->t[ti].pol == POL_DANE || d->t[ti].pol == POL_STS)) {
			const struct pl_mx *m = &d->route->mx[d->t[ti].mxi];
			p.authenticate = 1;
			p.tlsa = d->t[ti].pol == POL_DANE ? m->tlsa : NULL;
			p.ntlsa = d->t[ti].pol == POL_DANE ? m->ntlsa : 0;
		}
		if (d->kind != ROUTE_DIRECT) {
			/* A relay: its own port, TLS always and verified, the
			 * login.  Never in clear. */
			if (d->tls_ctx == NULL) {
				struct pl_outcome o = { .result = PL_RESULT_TEMP };
				snprintf(o.status, sizeof o.status, "4.7.0");
				snprintf(o.reply, sizeof o.reply, "paloma: cannot set up TLS for "
				    "relay %s: %s", d->domain, d->tls_error ? d->tls_error : "?");
				if (d->nconn == 0)
					sched_dom_fail_pending(d, &o, NULL);
				return;
			}
			p.mx = d->domain;
			set_port(&p.addr, d->port);
			p.tls = d->implicit_tls ? PL_CONN_TLS_IMPLICIT : PL_CONN_TLS_REQUIRED;
			p.tls_ctx = d->tls_ctx;
			p.auth_user = d->auth_user;
			p.secret_cmd = d->secret_cmd;
			p.auth_xoauth2 = d->xoauth2;
		}
		p.timeouts.connect = (int)s->cfg->timeout_connect;
		p.timeouts.smtp.greeting = (int)s->cfg->timeout_greeting;
		p.timeouts.smtp.command = (int)s->cfg->timeout_command;
		p.timeouts.smtp.mail = (int)s->cfg->timeout_mail;
		p.timeouts.smtp.rcpt = (int)s->cfg->timeout_rcpt;
		p.timeouts.smtp.data_init = (int)s->cfg->timeout_data_init;
		p.timeouts.smtp.data_block = (int)s->cfg->timeout_data_block;
		p.timeouts.smtp.data_end = (int)s->cfg->timeout_data_end;
		sc = xcalloc(1, sizeof *sc);
		sc->s = s;
		sc->d = d;
		sc->ti = ti;
		sc->next = s->conns;
		s->conns = sc;
		d->nconn++;
		s->nconn++;
		sc->c = pl_conn_start(s->loop, &p, &conn_ops, sc);
	}
}

static struct pl_job *
op_next_job(void *arg, struct pl_conn *c)
{
	struct sconn *sc = arg;
	struct dom *d = sc->d;
	struct sjob *j;

	(void)c;
	if (sc->s->stopping || d->pending == NULL)
		return NULL;
	j = d->pending;
	d->pending = j->next;
	if (d->pending == NULL)
		d->ptail = &d->pending;
	d->npending--;
	j->next = NULL;
	job_results(j);
	return &j->job;
}

static void
op_rcpt_done(void *arg, struct pl_conn *c, struct pl_job *pj, size_t k,
    const struct pl_outcome *o)
{
	struct sjob *j = (struct sjob *)pj;	/* job is the first member */
	struct sconn *sc = arg;
	enum tpol pol = sc->d->kind == ROUTE_DIRECT ? sc->d->t[sc->ti].pol : POL_OPPORTUNISTIC;
	const char *why;

	j->out[k] = *o;
	j->pol[k] = sched_pol_name(sc->d, pol, pl_conn_tls(c) != NULL);
	if (pol == POL_STS_TESTING && o->result == PL_RESULT_OK && !pl_conn_tls_verified(c, &why))
		pl_log("%s: <%s>: the MTA-STS policy of %s (testing) would have refused %s: %s",
		    j->job.id, j->job.rcpt[k], sc->d->domain, pl_conn_remote(c), why);
	free(j->remote[k]);
	j->remote[k] = xstrdup(pl_conn_remote(c));
	free(j->tls[k]);
	j->tls[k] = pl_conn_tls(c) ? xstrdup(pl_conn_tls(c)) : NULL;
}

static void
op_job_done(void *arg, struct pl_conn *c, struct pl_job *pj)
{
	struct sconn *sc = arg;

	(void)c;
	job_finish(sc->s, (struct sjob *)pj);
}

static void
op_closed(void *arg, struct pl_conn *c, const struct pl_outcome *fail, int usable,
    int tls_failed)
{
	struct sconn *sc = arg;
	struct pl_sched *s = sc->s;
	struct dom *d = sc->d;
	struct pl_outcome pf;

	(void)c;
	for (struct sconn **pp = &s->conns; *pp; pp = &(*pp)->next)
		if (*pp == sc) {
			*pp = sc->next;
			break;
		}
	d->nconn--;
	s->nconn--;
	if (fail && d->kind == ROUTE_DIRECT && sched_pol_required(d->t[sc->ti].pol) &&
	    strcmp(fail->step, "STARTTLS") == 0)
		fail = sched_policy_failure(d, sc->ti, fail, &pf);
	if (fail) {
		d->last_fail = *fail;
		d->has_fail = 1;
		if (!usable) {
			if (tls_failed && d->kind == ROUTE_DIRECT && s->cfg->tls != PL_TLS_REQUIRED &&
			    !sched_pol_required(d->t[sc->ti].pol) && !d->t[sc->ti].no_tls) {
				pl_log("%s: TLS handshake with %s failed; trying it again in clear",
				    d->domain, pl_conn_remote(c));
				d->t[sc->ti].no_tls = 1;
			} else {
				const char *rem = pl_conn_remote(c);
				size_t at = d->tried.len;
				d->t[sc->ti].dead = 1;
				if (d->ntried > 0) {
					buf_adds(&d->tried, "; ");
					at = d->tried.len;
				}
				/* connect failures name the address already */
				if (strstr(fail->reply, rem) == NULL)
					buf_printf(&d->tried, "%s: ", rem);
				for (const char *p = fail->reply; *p; p++)	/* one line */
					if (*p != '\r')
						buf_addc(&d->tried, *p == '\n' ? ' ' : *p);
				pl_log("%s: address given up on: %s", d->domain, d->tried.p + at);
				d->ntried++;
				if (strcmp(fail->step, "connect") == 0) {
					d->nconnect++;
					d->nfallback++;
				} else if (pl_smtp_blocklisted(fail->status, fail->reply)) {
					d->nfallback++;
				}
				d->last_dead = *fail;
				sched_set_str(&d->last_remote, rem);
				d->last_pol = d->kind == ROUTE_DIRECT ?
				    sched_pol_name(d, d->t[sc->ti].pol, 1) : NULL;
			}
		}
	}
	free(sc);
	sched_dom_start(d);
	sched_dom_maybe_free(d);
	/* other domains may have been waiting for a free connection slot */
	for (struct dom *o = s->doms; o; o = o->next)
		if (o != d && o->pending && o->resolved)
			sched_dom_start(o);
}

static const struct pl_conn_ops conn_ops = {
	op_next_job, op_rcpt_done, op_job_done, op_closed,
};

/* --- starting work -------------------------------------------------------- */

/* The account an entry is sent for: by name from the envelope, else by
 * the sender's address; NULL when none matches (direct delivery). */
static const struct pl_account *
entry_account(struct pl_sched *s, const struct qent *q)
{
	const struct pl_account *a = NULL;

	if (q->env.account)
		a = pl_config_find_account(s->cfg, q->env.account);
	if (a == NULL && q->env.sender[0] != '\0')
		a = pl_config_find_address(s->cfg, q->env.sender);
	return a;
}

static struct dom *
dom_new(struct pl_sched *s, const char *name, enum route_kind kind)
{
	struct dom *d = xcalloc(1, sizeof *d);

	d->s = s;
	d->domain = xstrdup(name);
	d->kind = kind;
	d->ptail = &d->pending;
	d->next = s->doms;
	s->doms = d;
	return d;
}

/* The relay (or fallback relay) of account a, as a route of its own. */
static struct dom *
relay_dom(struct pl_sched *s, const struct pl_account *a, enum route_kind kind)
{
	const struct pl_relay *r = kind == ROUTE_RELAY ? &a->relay : &a->fallback_relay;
	const char *user = a->relay_user ? a->relay_user : a->user;
	const char *cmd = a->oauth2_token_command ? a->oauth2_token_command :
	    a->password_command;
	struct pl_err e;
	struct dom *d;

	for (d = s->doms; d; d = d->next)
		if (d->kind == kind && strcmp(d->account, a->name) == 0)
			return d;
	d = dom_new(s, r->host, kind);
	d->account = xstrdup(a->name);
	d->port = r->port;
	d->implicit_tls = r->implicit_tls;
	if (user && cmd) {
		d->auth_user = xstrdup(user);
		d->secret_cmd = xstrdup(cmd);
		d->xoauth2 = a->oauth2_token_command != NULL;
	}
	d->tls_ctx = pl_tls_ctx_new(PL_TLS_RELAY, a->ca_file, &e);
	if (d->tls_ctx == NULL)
		d->tls_error = xstrdup(e.msg);
	return d;
}

/* Looks the route up once: a relay host given as an address needs no DNS. */
void
sched_dom_resolve(struct pl_sched *s, struct dom *d)
{
	char lit[INET6_ADDRSTRLEN + 8];
	struct in6_addr a6;
	struct in_addr a4;

	if (d->resolved || d->resolving)
		return;
	d->resolving = 1;
	sched_sts_refresh(s, d);
	if (d->kind != ROUTE_DIRECT && inet_pton(AF_INET, d->domain, &a4) == 1)
		snprintf(lit, sizeof lit, "[%s]", d->domain);
	else if (d->kind != ROUTE_DIRECT && inet_pton(AF_INET6, d->domain, &a6) == 1)
		snprintf(lit, sizeof lit, "[IPv6:%s]", d->domain);
	else
		snprintf(lit, sizeof lit, "%s", "");
	pl_dns_route_flags(s->dns, lit[0] ? lit : d->domain,
	    d->kind == ROUTE_DIRECT ? 0 : PL_DNS_NO_DANE | PL_DNS_HOST, on_route, d);
}

static void
dom_add_job(struct pl_sched *s, struct dom *d, struct sjob *j)
{
	j->d = d;
	j->next = NULL;
	*d->ptail = j;
	d->ptail = &j->next;
	d->npending++;
	sched_dom_resolve(s, d);
}

static struct sjob *
job_new(struct pl_sched *s, struct qent *q, size_t *idx, size_t n)
{
	struct sjob *j = xcalloc(1, sizeof *j);

	j->q = q;
	j->idx = idx;
	j->job.id = q->env.id;
	j->job.sender = q->env.sender;
	j->job.nrcpt = n;
	j->job.rcpt = xcalloc(n, sizeof *j->job.rcpt);
	for (size_t k = 0; k < n; k++) {
		j->job.rcpt[k] = q->env.rcpt[idx[k]].addr;
		q->busy[idx[k]] = 1;
	}
	j->job.msg_path = xstrdup(pl_queue_message_path(pl_queue_dir(), q->env.id));
	j->job.size = q->env.size;
	j->job.body_8bit = q->env.body_8bit;
	j->job.smtputf8 = q->env.smtputf8;
	q->inflight++;
	s->njobs++;
	return j;
}

static void
enqueue_job(struct pl_sched *s, struct qent *q, const char *domain, size_t *idx, size_t n,
    const struct pl_account *relay)
{
	struct sjob *j = job_new(s, q, idx, n);
	struct dom *d;

	if (relay) {
		d = relay_dom(s, relay, ROUTE_RELAY);
	} else if ((d = find_dom(s, domain)) == NULL) {
		d = dom_new(s, domain, ROUTE_DIRECT);
	}
	dom_add_job(s, d, j);
}

/* A message line for the log: newlines folded. */
static void
one_line(char *out, size_t len, const char *in)
{
	size_t i = 0;

	for (; *in && i + 1 < len; in++)
		if (*in != '\r')
			out[i++] = *in == '\n' ? ' ' : *in;
	out[i] = '\0';
}

/* Moves job j (not started or finished, no outcomes applied) to the
 * account's fallback relay; why says why direct delivery was given up. */
static void
to_fallback(struct pl_sched *s, const struct pl_account *a, struct sjob *j, const char *why)
{
	struct dom *fb = relay_dom(s, a, ROUTE_FALLBACK);

	free(j->via_why);
	j->via_why = xstrdup(why);
	if (j->out) {
		for (size_t k = 0; k < j->job.nrcpt; k++) {
			free(j->remote[k]);
			free(j->tls[k]);
			j->remote[k] = j->tls[k] = NULL;
		}
	}
	for (size_t k = 0; k < j->job.nrcpt; k++)
		pl_log("%s: <%s> via fallback relay %s: %s", j->job.id, j->job.rcpt[k],
		    fb->domain, why);
	dom_add_job(s, fb, j);
	if (fb->resolved)
		sched_dom_start(fb);
}

/* Every job waiting for direct domain d whose account has a fallback
 * relay goes there instead. */
static void
dom_fallback_pending(struct dom *d, const char *why)
{
	struct pl_sched *s = d->s;
	struct sjob *keep = NULL, **kt = &keep, *j, *nj;
	int n = 0;

	for (j = d->pending; j; j = nj) {
		const struct pl_account *a = entry_account(s, j->q);
		nj = j->next;
		if (a && a->fallback_relay.host) {
			d->npending--;
			to_fallback(s, a, j, why);
		} else {
			*kt = j;
			kt = &j->next;
			n++;
		}
	}
	*kt = NULL;
	d->pending = keep;
	d->ptail = kt;
	d->npending = n;
}

/* Recipients of a direct job refused for the sending host's reputation
 * (pl_smtp_blocklisted) go to the account's fallback relay, the others
 * keep their outcome.  Returns 1 when the whole job moved. */
static int
reroute_blocklisted(struct pl_sched *s, struct sjob *j)
{
	const struct pl_account *a = entry_account(s, j->q);
	size_t n = 0, m = 0, *idx;
	struct sjob *nj;
	char why[900], reply[600];

	if (a == NULL || a->fallback_relay.host == NULL || j->out == NULL)
		return 0;
	for (size_t k = 0; k < j->job.nrcpt; k++)
		if (j->out[k].result == PL_RESULT_PERM &&
		    pl_smtp_blocklisted(j->out[k].status, j->out[k].reply))
			n++;
	if (n == 0)
		return 0;
	for (size_t k = 0; k < j->job.nrcpt; k++)
		if (j->out[k].result == PL_RESULT_PERM &&
		    pl_smtp_blocklisted(j->out[k].status, j->out[k].reply)) {
			one_line(reply, sizeof reply, j->out[k].reply);
			snprintf(why, sizeof why, "%s refused the sending host's reputation: %s",
			    j->remote[k] ? j->remote[k] : j->d->domain, reply);
			break;
		}
	if (n == j->job.nrcpt) {
		j->d = NULL;
		to_fallback(s, a, j, why);
		return 1;
	}
	/* Split: the refused recipients in a job of their own. */
	idx = xcalloc(n, sizeof *idx);
	n = 0;
	for (size_t k = 0; k < j->job.nrcpt; k++) {
		if (j->out[k].result == PL_RESULT_PERM &&
		    pl_smtp_blocklisted(j->out[k].status, j->out[k].reply)) {
			idx[n++] = j->idx[k];
			j->q->busy[j->idx[k]] = 0;	/* job_new sets it again */
			free(j->remote[k]);
			free(j->tls[k]);
			continue;
		}
		j->idx[m] = j->idx[k];
		j->job.rcpt[m] = j->job.rcpt[k];
		j->out[m] = j->out[k];
		j->remote[m] = j->remote[k];
		j->tls[m] = j->tls[k];
		m++;
	}
	for (size_t k = m; k < j->job.nrcpt; k++)
		j->remote[k] = j->tls[k] = NULL;
	j->job.nrcpt = m;
	nj = job_new(s, j->q, idx, n);
	to_fallback(s, a, nj, why);
	return 0;
}

/* Groups an entry's due recipients by domain into jobs; an account with
 * transport = relay sends all of them to its relay in one. */
static void
start_entry(struct pl_sched *s, struct qent *q, int64_t now)
{
	size_t n = q->env.nrcpt;
	char *taken = xcalloc(n, 1);
	const struct pl_account *a = entry_account(s, q);
	const struct pl_account *relay = a && a->transport == PL_TRANSPORT_RELAY &&
	    a->relay.host ? a : NULL;

	for (size_t i = 0; i < n; i++) {
		const struct pl_rcpt *r = &q->env.rcpt[i];
		const char *dom;
		size_t *idx, k = 0;

		if (taken[i] || q->busy[i] || !waiting(r) || r->next_attempt > now)
			continue;
		dom = pl_addr_domain(r->addr);
		idx = xcalloc(n, sizeof *idx);
		for (size_t j = i; j < n; j++) {
			const struct pl_rcpt *rj = &q->env.rcpt[j];
			if (!taken[j] && !q->busy[j] && waiting(rj) && rj->next_attempt <= now &&
			    (relay || ascii_casecmp(pl_addr_domain(rj->addr), dom) == 0)) {
				taken[j] = 1;
				idx[k++] = j;
			}
		}
		enqueue_job(s, q, dom, idx, k, relay);
	}
	free(taken);
}

/* One directory fsync for every entry retired since the last round. */
static void
sync_retired(struct pl_sched *s)
{
	struct pl_err e;

	if (!s->entries_unsynced)
		return;
	s->entries_unsynced = 0;
	if (pl_queue_sync_entries(pl_queue_dir(), &e) < 0)
		pl_log("%s", e.msg);
}

void
pl_sched_run(struct pl_sched *s)
{
	int64_t now = pl_now();

	sync_retired(s);
	if (pl_mono_ms() - s->last_scan >= RESCAN_MS)
		pl_sched_scan(s);
	if (s->stopping)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		struct qent *q = s->h[i];
		while (q) {
			struct qent *next = q->hnext;
			if (q->next_due <= now) {
				start_entry(s, q, now);
				update_due(s, q);
				if (q->inflight == 0)
					settle(s, q);	/* may free q */
			}
			q = next;
		}
	}
	for (struct dom *d = s->doms; d; d = d->next)
		if (d->pending && d->resolved)
			sched_dom_start(d);
}
