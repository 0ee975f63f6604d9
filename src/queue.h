/* queue.h — the durable mail queue (format: doc/QUEUE.md).
 *
 * One entry per message: a directory holding `message` (the RFC 5322 text,
 * CRLF) and `envelope` (sender, recipients and each recipient's state).  An
 * entry is built in queue/tmp/ and published by one rename into
 * queue/entries/, after its files and directory are fsync'ed: it is either
 * there whole or not at all.  The envelope is rewritten the same way (tmp →
 * fsync → rename → fsync dir) each time a recipient's state changes. */
#ifndef PALOMA_QUEUE_H
#define PALOMA_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define PL_QUEUE_ID_LEN 16

enum pl_rcpt_state {
	PL_RCPT_QUEUED,		/* not tried yet */
	PL_RCPT_DEFERRED,	/* temporary failure; tried again at next_attempt */
	PL_RCPT_DELIVERED,	/* a 2xx after the final dot */
	PL_RCPT_FAILED,		/* permanent failure or expired; report not yet written */
	PL_RCPT_BOUNCED,	/* failed and reported (or not reportable: null sender) */
	PL_RCPT_CANCELLED,	/* given up by the user before delivery; no report */
};

/* 1 for delivered, bounced and cancelled: nothing more will happen to the
 * recipient. */
#define PL_RCPT_FINAL(s) ((s) == PL_RCPT_DELIVERED || (s) == PL_RCPT_BOUNCED || \
	(s) == PL_RCPT_CANCELLED)

struct pl_rcpt {
	char *addr;		/* local@domain */
	enum pl_rcpt_state state;
	int attempts;
	int64_t next_attempt;	/* unix time */
	int64_t last_attempt;	/* 0: never */
	char *status;		/* enhanced status code, "4.7.1", or NULL */
	char *reply;		/* the remote's last reply, or our own reason */
	char *remote;		/* "mx1.example.org [192.0.2.1]" or NULL */
	char *tls_policy;	/* what protected the last attempt at remote: "dane",
				 * "mta-sts", "verified" (a relay), "encrypt" (TLS
				 * required, not authenticated: unusable TLSA
				 * records), "opportunistic", "none" (clear text); NULL: not known */
	char **history;		/* one line per attempt: "TIME text" */
	size_t nhistory;
};

struct pl_envelope {
	char id[PL_QUEUE_ID_LEN + 1];
	int64_t created;
	char *sender;		/* "" for the null sender <> */
	char *account;		/* account name, or NULL */
	char *message_id;
	long long size;		/* of the message file */
	int body_8bit;		/* needs BODY=8BITMIME */
	int smtputf8;		/* needs SMTPUTF8 */
	int delay_warned;	/* a "delayed" report was written */
	struct pl_rcpt *rcpt;
	size_t nrcpt;
};

/* $XDG_STATE_HOME/paloma/queue (static storage). */
const char *pl_queue_dir(void);

/* Makes queue/, queue/tmp/ and queue/entries/ (0700) when missing. */
int pl_queue_init(const char *qdir, struct pl_err *e);

/* Adds a recipient in state queued, due at `now`. */
void pl_envelope_add_rcpt(struct pl_envelope *env, const char *addr, int64_t now);

/* Writes message and envelope as a new entry; fills env->id.  Returns 0 only
 * once the entry is durable.  On error nothing is left in the queue. */
int pl_queue_submit(const char *qdir, struct pl_envelope *env, const char *msg, size_t len,
    struct pl_err *e);

/* Reads an entry's envelope.  EX_NOINPUT when there is no such entry. */
int pl_queue_load(const char *qdir, const char *id, struct pl_envelope *env, struct pl_err *e);
/* The same, also looking among retired entries; *retired says where it was. */
int pl_queue_load_any(const char *qdir, const char *id, struct pl_envelope *env, int *retired,
    struct pl_err *e);
/* Rewrites an entry's envelope durably. */
int pl_queue_save(const char *qdir, const struct pl_envelope *env, struct pl_err *e);
/* Retires an entry whose recipients are all final: one rename moves it to
 * queue/done/, where `paloma queue show` still finds it for a week. */
int pl_queue_retire(const char *qdir, const char *id, struct pl_err *e);
/* Retires an entry by one rename, without a sync: the caller fsyncs
 * queue/entries/ (pl_queue_sync_entries) once for every entry it retired in
 * a round.  Until then a crash may bring the entry back, and its recipients
 * are delivered again: at least once, never zero times.  The final states
 * are then written over the envelope in queue/done/, in place and unsynced
 * (informational: the outcomes are in delivery.log too). */
int pl_queue_finish(const char *qdir, const struct pl_envelope *env, struct pl_err *e);
int pl_queue_sync_entries(const char *qdir, struct pl_err *e);
/* Deletes retired entries older than max_age seconds. */
void pl_queue_prune_done(const char *qdir, int64_t max_age);
/* Removes an entry: one rename makes it vanish, then its files are deleted. */
int pl_queue_remove(const char *qdir, const char *id, struct pl_err *e);
/* The ids of all entries, oldest first.  Free with pl_queue_ids_free. */
int pl_queue_list(const char *qdir, char ***ids, size_t *n, struct pl_err *e);
void pl_queue_ids_free(char **ids, size_t n);
/* Path of an entry's message file (static storage). */
const char *pl_queue_message_path(const char *qdir, const char *id);

/* Marks the recipient addr (queued, deferred or failed) cancelled, with a
 * history line saying so.  0, or -1 with e: no such recipient (EX_NOINPUT),
 * already final (EX_DATAERR).  Only for envelopes no daemon holds: see
 * pl_outbox_cancel. */
int pl_envelope_cancel_rcpt(struct pl_envelope *env, const char *addr, int64_t now,
    struct pl_err *e);

/* The envelope file's text, and its parser (which checks every field). */
void pl_envelope_format(const struct pl_envelope *env, struct buf *out);
int pl_envelope_parse(const char *text, struct pl_envelope *env, struct pl_err *e);
void pl_envelope_free(struct pl_envelope *env);

const char *pl_rcpt_state_name(enum pl_rcpt_state s);
/* 1 when the id has the queue's form (so it is safe as a path component). */
int pl_queue_id_valid(const char *id);

#endif
