/* dsn.h — delivery status notifications (RFC 3464, 3462/6522, 3463, 3834).
 *
 * pl_dsn_build is a pure function: no clock, no files, no randomness.  Given
 * the queue entry's envelope, the recipients to report and what happened to
 * each, it writes a complete RFC 5322 message (CRLF line endings):
 *
 *   From: "Mail Delivery System" <MAILER-DAEMON@reporting_mta>
 *   To: <the original sender>
 *   Subject: Undelivered Mail Returned to Sender: <original subject>
 *        or: Delayed Mail (still being retried): <original subject>
 *        (RFC 2047-encoded when it is not ASCII)
 *   Auto-Submitted: auto-replied            (RFC 3834: never answer it)
 *   In-Reply-To, References: the original Message-ID
 *   Content-Type: multipart/report; report-type=delivery-status
 *     1. text/plain; charset=utf-8 — which recipients failed or are delayed,
 *        what each server said (quoted), and what the user can do about it
 *     2. message/delivery-status — Reporting-MTA, X-Paloma-Queue-ID,
 *        Arrival-Date; then per recipient Final-Recipient, Action, Status,
 *        Remote-MTA, Diagnostic-Code, Last-Attempt-Date, Will-Retry-Until
 *     3. text/rfc822-headers — the original message's header section
 *        (left out when there is none: the original is gone or damaged)
 *
 * Diagnostic-Code is "smtp; <reply>" when the diagnostic is a remote SMTP
 * reply (it starts with a 2xx/4xx/5xx code), every line of a multi-line reply
 * kept and folded onto continuation lines; otherwise (DNS failures, timeouts,
 * refused connections: our own words) it is "X-Paloma; <text>".
 *
 * Promise 5: no report is ever made about a message from the null sender.
 * pl_dsn_build refuses it (EX_DATAERR); the caller logs the failure instead. */
#ifndef PALOMA_DSN_H
#define PALOMA_DSN_H

#include <stddef.h>
#include <stdint.h>

#include "queue.h"
#include "util.h"

/* One recipient being reported.  Strings are borrowed. */
struct pl_dsn_rcpt {
	const char *addr;	/* local@domain (UTF-8 allowed: RFC 6533 "utf-8" type) */
	const char *action;	/* "failed" or "delayed" */
	const char *status;	/* RFC 3463 code as it came, "5.1.1"; NULL or malformed:
				 * "5.0.0" for failed, "4.0.0" for delayed */
	const char *remote;	/* "mx1.example.test [192.0.2.1]", or NULL (no server reached) */
	const char *diagnostic;	/* the remote's full reply (lines split by CRLF or LF), or
				 * our own reason, or NULL */
	int64_t last_attempt;	/* unix time; 0: never tried (no Last-Attempt-Date) */
	int64_t retry_until;	/* delayed only: when paloma gives up (Will-Retry-Until) */
};

struct pl_dsn_params {
	const struct pl_envelope *env;	/* sender (To:), id, created (Arrival-Date),
					 * message_id (In-Reply-To) */
	const struct pl_dsn_rcpt *rcpt;	/* at least one */
	size_t nrcpt;
	const char *reporting_mta;	/* our name: the helo_name */
	const char *orig;		/* the original message, or just its header (the
					 * header section, up to the blank line, is used),
					 * or NULL: no third part */
	size_t orig_len;
	int64_t date;			/* the report's Date */
	const char *message_id;		/* the report's own Message-ID, "<…>" */
};

/* Appends the report to out.  Errors: EX_DATAERR for the null sender (or no
 * recipients, or an action other than failed/delayed); out is unchanged then. */
int pl_dsn_build(const struct pl_dsn_params *p, struct buf *out, struct pl_err *e);

/* Fills r from the envelope's recipient k: addr, status, remote, reply as
 * the diagnostic, last_attempt.  action and retry_until are the caller's. */
void pl_dsn_rcpt_from_env(struct pl_dsn_rcpt *r, const struct pl_envelope *env, size_t k,
    const char *action, int64_t retry_until);

/* 1 when s is an RFC 3463 status code "class.subject.detail" (class 2, 4 or
 * 5; subject and detail of 1 to 3 digits). */
int pl_dsn_status_valid(const char *s);

/* A fresh Message-ID for a report: "<SECONDS.RANDOM.report@host>". */
void pl_dsn_message_id(const char *host, int64_t now, char *out, size_t len);

#endif
