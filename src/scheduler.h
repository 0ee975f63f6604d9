/* scheduler.h — decides what to deliver when, and records what happened.
 *
 * It keeps the queue's envelopes in memory, picks the recipients that are
 * due, groups them by domain (all of a message's recipients in one domain go
 * in one transaction), looks up each domain's route (dns.c), opens up to
 * `per_domain` connections per domain and `parallel` in all (conn.c), hands
 * each connection the domain's messages in turn, and applies every
 * recipient's outcome to its envelope durably: delivered, deferred until the
 * next retry, or failed — then writes the report (dsn.c) and retires the
 * entry once every recipient is final. */
#ifndef PALOMA_SCHEDULER_H
#define PALOMA_SCHEDULER_H

#include "config.h"
#include "event.h"
#include "util.h"

struct pl_sched;

struct pl_sched *pl_sched_new(struct pl_loop *loop, const struct pl_config *cfg, struct pl_err *e);
void pl_sched_free(struct pl_sched *s);
/* The config object changed (SIGHUP): use the new one from now on. */
void pl_sched_set_config(struct pl_sched *s, const struct pl_config *cfg);

/* Looks at the queue directory: loads new entries, forgets removed ones. */
void pl_sched_scan(struct pl_sched *s);
/* Makes every waiting recipient due now; returns how many. */
int pl_sched_flush(struct pl_sched *s);
/* Starts what is due and what the limits allow. */
void pl_sched_run(struct pl_sched *s);
/* Cancels recipient addr of entry id (the user gave up on it): saved at
 * once, no report, the entry retired when nothing else is left.  Refused
 * while that recipient is being delivered (EX_TEMPFAIL), for no such entry
 * or recipient (EX_NOINPUT) and for a final one (EX_DATAERR). */
int pl_sched_cancel(struct pl_sched *s, const char *id, const char *addr, struct pl_err *e);
/* No new transactions from now on. */
void pl_sched_stop(struct pl_sched *s);

/* Transactions, DNS lookups and connections in flight. */
int pl_sched_busy(struct pl_sched *s);
/* 1 when some recipient is due now (and not in flight). */
int pl_sched_due(struct pl_sched *s);
/* How long the loop may sleep before something becomes due (ms). */
int pl_sched_wait_ms(struct pl_sched *s);

/* The retry policy, pure: when a recipient that failed temporarily for the
 * attempts-th time is tried next (never later than created + max_lifetime,
 * so the last attempt is made when the lifetime ends), or 0 when it has
 * expired. */
int64_t pl_retry_next(const struct pl_config *c, int64_t created, int attempts, int64_t now);

#endif
