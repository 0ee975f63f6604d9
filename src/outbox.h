/* outbox.h — the queue as the client's outbox shows it: queued entries and
 * the retired ones of the last days, newest first, each with its subject,
 * To and each recipient's fate in one line; and the user's two actions on
 * it, retry now and cancel one recipient. */
#ifndef PALOMA_OUTBOX_H
#define PALOMA_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "queue.h"
#include "util.h"

struct pl_outbox_msg {
	struct pl_envelope env;
	int retired;		/* in queue/done: every recipient final */
	char *subject, *to;	/* from the message's header, raw (may be RFC 2047) */
	char **tls;		/* per recipient: the delivery log's tls= for the
				 * delivery, or NULL */
};

/* Loads the entries of queue/entries and of queue/done created since
 * `since` (unix time), newest first.  A damaged entry is skipped. */
int pl_outbox_load(const char *qdir, int64_t since, struct pl_outbox_msg **out, size_t *n,
    struct pl_err *e);
void pl_outbox_free(struct pl_outbox_msg *m, size_t n);

/* One line about a recipient for the outbox, e.g.
 *   "deferred, next try in 4m (2 attempts): 451 4.7.1 Greylisted"
 *   "delivered 14:05 by mx1.example.net [192.0.2.1], TLSv1.3, DANE: 250 ok"
 * with the TLS policy of the last attempt (r->tls_policy: DANE, MTA-STS,
 * verified TLS, opportunistic TLS) when known.
 *   "bounced: 550 5.1.1 no such user" */
void pl_outbox_rcpt_line(const struct pl_rcpt *r, const char *tls, int64_t now,
    struct buf *out);

/* The tls= value of the last "delivered" line for id and rcpt in the
 * delivery log text, or NULL; a new string. */
char *pl_outbox_log_tls(const char *log, size_t len, const char *id, const char *rcpt);

/* Cancels one recipient of a queued entry: with no daemon running, under
 * the daemon's lock (state dir/daemon.lock), as `paloma queue flush` does;
 * with a daemon, by its control request "cancel ID ADDR".  EX_TEMPFAIL when
 * the daemon does not answer or cannot do it. */
int pl_outbox_cancel(const char *qdir, const char *id, const char *addr, struct pl_err *e);

/* The front end `paloma` beside the running helper (libexec/paloma/X →
 * bin/paloma), $PALOMA_FRONT when set, else "paloma" through PATH. */
void pl_front_path(char *out, size_t len);
/* Runs `paloma [-c config_path] ARGS…` without a shell, standard input
 * from in_fd (-1: /dev/null), stdout and stderr captured into out (the
 * first 8 KB).  The wait status, or -1 (why in out) when it did not run. */
int pl_run_front(const char *config_path, const char *const *args, int in_fd,
    struct buf *out);

#endif
