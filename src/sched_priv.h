/* sched_priv.h — what scheduler.c and tlspolicy.c share: the daemon's
 * queue entries, jobs, domains and connections in memory, and the
 * functions one calls in the other.  Nothing outside the two includes it. */
#ifndef PALOMA_SCHED_PRIV_H
#define PALOMA_SCHED_PRIV_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "conn.h"
#include "dns.h"
#include "event.h"
#include "mtasts.h"
#include "queue.h"
#include "scheduler.h"
#include "util.h"

#define NBUCKETS 4096		/* of the queue entries' hash table */

/* A queue entry in memory. */
struct qent {
	struct pl_envelope env;
	char *busy;		/* per recipient: in flight */
	int inflight;		/* jobs in flight */
	int64_t next_due;	/* earliest next attempt of a waiting recipient */
	int dirty;		/* the last save failed: save again */
	int64_t retry_at;	/* when a failed save or report is tried again */
	int seen;		/* found by the current scan */
	struct qent *hnext;
};

struct dom;

/* Where a domain's mail goes: its MX hosts, the account's relay
 * (transport = relay), or the account's fallback_relay when direct
 * delivery cannot work. */
enum route_kind { ROUTE_DIRECT, ROUTE_RELAY, ROUTE_FALLBACK };

/* One message's recipients for one domain (for a relay: every recipient). */
struct sjob {
	struct pl_job job;
	struct qent *q;
	size_t *idx;		/* recipient indexes in q->env */
	struct pl_outcome *out;
	char **remote;		/* per recipient: "mx [ip]" it was tried at */
	char **tls;
	const char **pol;	/* per recipient: the tls_policy= of that attempt */
	struct dom *d;
	char *via_why;		/* ROUTE_FALLBACK: why direct delivery was given up */
	struct sjob *next;
};

/* The TLS policy toward one MX (doc/paloma-daemon.1, "TLS policy"). */
enum tpol {
	POL_OPPORTUNISTIC,	/* STARTTLS when offered, anything goes */
	POL_DANE,		/* usable TLSA records: TLS required, authenticated by them */
	POL_DANE_ENCRYPT,	/* authenticated but unusable TLSA records: TLS required */
	POL_STS,		/* MTA-STS enforce: TLS required, PKIX for the MX name */
	POL_STS_TESTING,	/* MTA-STS testing: opportunistic, failures logged */
};

struct target {
	char *mx;
	struct sockaddr_storage ss;
	socklen_t len;
	int dead;		/* failed in this round */
	int no_tls;		/* the TLS handshake failed: try in clear */
	enum tpol pol;
	size_t mxi;		/* its host in d->route */
};

struct dom {
	struct pl_sched *s;
	char *domain;
	struct sjob *pending, **ptail;
	int npending;
	int nconn;
	int resolving;
	int resolved;
	struct target *t;
	size_t nt;
	struct pl_outcome last_fail;
	int has_fail;
	struct buf tried;	/* "mx [ip]: why; ..." of the addresses given up on */
	int ntried;
	struct pl_outcome last_dead;	/* why the address last given up on failed */
	char *last_remote;	/* and which it was */
	int nfallback;		/* addresses given up on that call for the fallback
				 * relay: refused or timed out at connect, or
				 * refused the sender's reputation */
	int nconnect;		/* of those, at connect */
	/* ROUTE_RELAY, ROUTE_FALLBACK: domain is the relay's host name */
	enum route_kind kind;
	char *account;		/* whose relay */
	int port, implicit_tls;
	char *auth_user, *secret_cmd;	/* no AUTH when auth_user is NULL */
	int xoauth2;
	void *tls_ctx;		/* verifying, with the account's ca_file */
	char *tls_error;	/* when tls_ctx could not be made */
	struct pl_route *route;	/* ROUTE_DIRECT: the MX hosts, with their TLSA records */
	const char *last_pol;	/* the policy toward last_remote */
	/* MTA-STS: paloma-mtasts running for this domain (the route waits) */
	int sts_waiting;
	pid_t sts_pid;
	int64_t sts_start;
	struct pl_timer *sts_timer;
	struct pl_mtasts_policy sts;	/* the policy in force, mode NONE if none */
	struct dom *next;
};

/* When paloma-mtasts last ran for a domain. */
struct sts_seen {
	char *domain;
	int64_t at;		/* monotonic ms */
	struct sts_seen *next;
};

struct sconn {
	struct pl_sched *s;
	struct pl_conn *c;
	struct dom *d;
	size_t ti;
	struct sconn *next;
};

struct pl_sched {
	struct pl_loop *loop;
	const struct pl_config *cfg;
	struct pl_dns *dns;
	void *tls_ctx;
	struct qent *h[NBUCKETS];
	size_t nq;
	struct dom *doms;
	struct sconn *conns;
	int nconn;
	int njobs;
	int stopping;
	int entries_unsynced;	/* entries retired since queue/entries/ was synced */
	int64_t last_scan;
	char delivery_log[4200];
	char daemon_log[4200];
	struct sts_seen *sts_seen;
};

/* ---- scheduler.c ---- */

/* Opens connections while there is work, targets left and room. */
void sched_dom_start(struct dom *d);
/* Looks the domain's route up, once. */
void sched_dom_resolve(struct pl_sched *s, struct dom *d);
/* Frees d when nothing uses it any more. */
void sched_dom_maybe_free(struct dom *d);
/* Every pending job of d gets outcome o (remote: where it came from). */
void sched_dom_fail_pending(struct dom *d, const struct pl_outcome *o, const char *remote);
/* *dst = a copy of v (NULL: none), the old value freed. */
void sched_set_str(char **dst, const char *v);

/* ---- tlspolicy.c ---- */

/* The tls_policy= of a delivery log line: what protected the attempt. */
const char *sched_pol_name(const struct dom *d, enum tpol pol, int tls);
/* 1 when the policy never lets mail go to that MX in clear. */
int sched_pol_required(enum tpol pol);
/* Refreshes the domain's MTA-STS policy in the background when it is due;
 * the route waits for it (sts_waiting). */
void sched_sts_refresh(struct pl_sched *s, struct dom *d);
/* The route and (when asked) the MTA-STS policy are in: targets, each with
 * its policy, then delivery starts. */
void sched_routed(struct dom *d);
/* A connection to target ti refused by its TLS policy: the outcome, in pf,
 * says which policy asked for what. */
const struct pl_outcome *sched_policy_failure(const struct dom *d, size_t ti,
    const struct pl_outcome *fail, struct pl_outcome *pf);

#endif
