/* smtp.h — the SMTP client as a pure protocol machine (RFC 5321, 2920,
 * 3207, 3463, 1870, 6152, 6531).
 *
 * No sockets, no TLS calls, no clock, no DNS: the I/O layer (conn.c) feeds
 * events in and carries out what the machine asks for.  The same code is
 * driven from strings by tests/unit/test_smtp.c and tests/fuzz/.
 *
 * One machine is one connection to one MX address carrying any number of
 * transactions in turn (RSET between them).  Driving it:
 *
 *   s = pl_smtp_new(&params);
 *   connect; on success pl_smtp_on_connected(s), on failure
 *   pl_smtp_on_connect_failed(s, why).
 *   loop:
 *     bytes read      → pl_smtp_on_data(s, p, n)
 *     peer closed     → pl_smtp_on_closed(s)
 *     timer expired   → pl_smtp_on_timeout(s)   (re-arm it with
 *                       pl_smtp_timeout(s) after every event)
 *     switch (pl_smtp_want(s)):
 *     WRITE     write pl_smtp_output(); pl_smtp_written(s, n) for what went
 *     READ      wait for the server (keep reading whenever readable)
 *     START_TLS run the TLS handshake, then pl_smtp_on_tls(s, ok)
 *     BODY      stream the current transaction's message through
 *               pl_smtp_body(s, p, n) (as output drains), then
 *               pl_smtp_body_end(s); convert it first with pl_smtp_to_7bit()
 *               when pl_smtp_body_7bit(s) says so
 *     TXN       the session is ready: pl_smtp_add_txn() the next one, or
 *               pl_smtp_quit() when there are none
 *     CLOSE     (output is flushed) close the socket, then pl_smtp_on_closed
 *     DONE      every recipient has its outcome: pl_smtp_free(s)
 *
 * Add transactions when pl_smtp_want() says TXN: one added earlier shares the
 * fate of a connection that fails before it is ready (a 554 greeting makes
 * its recipients permanent failures), where the caller would rather try the
 * next MX (see pl_smtp_usable()).
 *
 * Every recipient of every transaction added gets exactly one rcpt_done call,
 * then its transaction one txn_done call, before pl_smtp_want() says DONE.
 * Callbacks must not free the machine; they may call pl_smtp_add_txn() and
 * pl_smtp_quit().
 *
 * Deliberate leniencies toward broken servers are marked "VIOLATION:" in
 * smtp.c. */
#ifndef PALOMA_SMTP_H
#define PALOMA_SMTP_H

#include <stddef.h>

#include "util.h"

/* ---- Reply parser (RFC 5321 4.2) ---------------------------------------- */

#define PL_SMTP_LINE_MAX   4096		/* octets of one reply line, CRLF excluded */
#define PL_SMTP_REPLY_MAX  65536	/* octets of one reply, all lines */
#define PL_SMTP_LINES_MAX  1000		/* lines of one reply */

/* One complete reply. */
struct pl_smtp_reply {
	int code;		/* 200..599 */
	char esc[16];		/* RFC 3463 "5.1.1" from the first line's text, or "" */
	const char *text;	/* each line's text after "NNN-"/"NNN ", joined with "\n" */
	const char *raw;	/* the lines as received, CRLF removed, joined with "\n" */
	size_t nlines;
};

/* A resumable parser: bytes may arrive split anywhere.  Memory stays bounded
 * by the limits above whatever the input.  Fields are private. */
struct pl_smtp_parser {
	struct buf line;	/* the line being read */
	struct buf text, raw;	/* the reply being assembled */
	size_t nlines;
	int code;
	int cr;			/* the last byte was CR */
	int complete;		/* a reply was handed out: clear before the next */
	int failed;
};

void pl_smtp_parser_init(struct pl_smtp_parser *p);
void pl_smtp_parser_free(struct pl_smtp_parser *p);
/* Consumes bytes from p[0..n).  Returns 1 when a reply is complete: *r is
 * filled (valid until the next call) and *used says how many bytes were
 * consumed, call again with the rest.  Returns 0 when all n bytes were
 * consumed and the reply is not complete yet (*used == n).  Returns -1 on a
 * protocol error, e says why; the parser then refuses everything. */
int pl_smtp_parse(struct pl_smtp_parser *ps, const char *p, size_t n, size_t *used,
    struct pl_smtp_reply *r, struct pl_err *e);

/* ---- Outcomes ------------------------------------------------------------ */

enum pl_smtp_result { PL_SMTP_DELIVERED, PL_SMTP_TEMP, PL_SMTP_PERM };

/* Where in the dialogue an outcome was decided (for reports). */
enum pl_smtp_step {
	PL_SMTP_STEP_CONNECT, PL_SMTP_STEP_GREETING, PL_SMTP_STEP_EHLO,
	PL_SMTP_STEP_STARTTLS, PL_SMTP_STEP_MAIL, PL_SMTP_STEP_RCPT,
	PL_SMTP_STEP_DATA, PL_SMTP_STEP_FINAL, PL_SMTP_STEP_AUTH,
};

/* The same fields as conn.h's struct pl_outcome. */
struct pl_smtp_outcome {
	enum pl_smtp_result result;
	char status[16];	/* RFC 3463: from the reply, else X.0.0 by class, or ours */
	char reply[2048];	/* the remote's full reply (lines joined with "\n"), or
				 * our own reason starting with "paloma: " */
	char step[16];		/* "connect", "greeting", "EHLO", "STARTTLS", "MAIL",
				 * "RCPT", "DATA", "final", "AUTH" */
};

const char *pl_smtp_step_name(enum pl_smtp_step st);

/* ---- Session ------------------------------------------------------------- */

/* tls policy: NONE never sends STARTTLS (for an MX whose handshake failed on
 * the last attempt); OPPORTUNISTIC uses it when offered and carries on in
 * clear when the STARTTLS command is refused; REQUIRED fails the connection
 * with a temporary 4.7.4 ("security features not supported", RFC 3463) when
 * STARTTLS is not offered or refused: the server may be fixed, another MX may
 * have it, and the queue's lifetime turns it into a bounce in the end. */
enum pl_smtp_tls { PL_SMTP_TLS_NONE, PL_SMTP_TLS_OPPORTUNISTIC, PL_SMTP_TLS_REQUIRED,
	PL_SMTP_TLS_IMPLICIT };
/* IMPLICIT (smtps, RFC 8314): the handshake comes first, before the greeting;
 * the machine starts in WANT_START_TLS. */

/* RFC 5321 4.5.3.2 timeouts, in seconds; 0 in params means the default. */
struct pl_smtp_timeouts {
	int greeting;		/* 300: the 220 greeting */
	int command;		/* 300: EHLO, HELO, STARTTLS + handshake, RSET, QUIT */
	int mail;		/* 300 */
	int rcpt;		/* 300 */
	int data_init;		/* 120: the 354 */
	int data_block;		/* 180: between writes of the body */
	int data_end;		/* 600: the reply to the final dot */
};

/* One message's recipients for this MX.  Owned by the caller; must stay
 * valid until its txn_done call. */
struct pl_smtp_txn {
	const char *sender;	/* "" for the null sender <> */
	const char *const *rcpt;
	size_t nrcpt;
	long long size;		/* message octets, for SIZE= (0: unknown) */
	int body_8bit;		/* the body has 8-bit octets: BODY=8BITMIME */
	int smtputf8;		/* the header needs SMTPUTF8; non-ASCII addresses
				 * are detected by the machine itself */
	void *user;		/* the caller's */
};

struct pl_smtp;

struct pl_smtp_params {
	const char *helo;	/* our name for EHLO/HELO */
	enum pl_smtp_tls tls;
	struct pl_smtp_timeouts timeouts;
	/* AUTH (RFC 4954) toward a relay: with auth_user set the session logs
	 * in once TLS is up, before any transaction, by XOAUTH2 when
	 * auth_xoauth2, else PLAIN or LOGIN (whichever EHLO offers, PLAIN
	 * first).  The secret is asked for with WANT_SECRET only then.
	 * auth_host names the server in reasons ("relay HOST refused the login
	 * for USER: 535 …").  A refused login is a temporary failure of every
	 * recipient (the password is wrong, not the address). */
	const char *auth_user;
	int auth_xoauth2;
	const char *auth_host;
	/* The outcome of recipient k of t; exactly once per recipient. */
	void (*rcpt_done)(void *arg, struct pl_smtp_txn *t, size_t k,
	    const struct pl_smtp_outcome *o);
	/* Every recipient of t has its outcome; t is no longer used. */
	void (*txn_done)(void *arg, struct pl_smtp_txn *t);
	void *arg;
};

/* The server's EHLO keywords (reset after STARTTLS). */
struct pl_smtp_caps {
	int esmtp;		/* EHLO worked (else HELO) */
	int starttls, pipelining, eightbitmime, smtputf8, enhancedstatuscodes;
	int size;		/* SIZE announced */
	long long size_max;	/* its limit, 0: none given */
	char auth[256];		/* AUTH mechanisms, space separated, for later */
};

enum pl_smtp_want {
	PL_SMTP_WANT_READ,	/* waiting for the server */
	PL_SMTP_WANT_WRITE,	/* pl_smtp_output() has bytes: write them first */
	PL_SMTP_WANT_START_TLS,	/* handshake now, then pl_smtp_on_tls() */
	PL_SMTP_WANT_BODY,	/* stream pl_smtp_current_txn()'s message */
	PL_SMTP_WANT_TXN,	/* ready: pl_smtp_add_txn() or pl_smtp_quit() */
	PL_SMTP_WANT_CLOSE,	/* close the socket, then pl_smtp_on_closed() */
	PL_SMTP_WANT_DONE,	/* finished, all outcomes given */
	PL_SMTP_WANT_SECRET,	/* AUTH is next: pl_smtp_set_secret() or
				 * pl_smtp_secret_failed() */
};

struct pl_smtp *pl_smtp_new(const struct pl_smtp_params *p);
void pl_smtp_free(struct pl_smtp *s);

/* Events from the I/O layer. */
void pl_smtp_on_connected(struct pl_smtp *s);
void pl_smtp_on_connect_failed(struct pl_smtp *s, const char *why);
void pl_smtp_on_data(struct pl_smtp *s, const char *p, size_t n);
void pl_smtp_on_tls(struct pl_smtp *s, int ok);
/* The handshake failed for a reason worth telling (a relay's certificate
 * did not verify): like pl_smtp_on_tls(s, 0), with why in the outcome. */
void pl_smtp_on_tls_error(struct pl_smtp *s, const char *why);
/* During WANT_SECRET: the password or XOAUTH2 token (copied; the machine
 * clears its copies and the output holding it once used), or why there is
 * none (a temporary failure of the connection). */
void pl_smtp_set_secret(struct pl_smtp *s, const char *secret);
void pl_smtp_secret_failed(struct pl_smtp *s, const char *why);
void pl_smtp_on_closed(struct pl_smtp *s);
void pl_smtp_on_timeout(struct pl_smtp *s);
/* Gives up now (daemon stopping): unfinished recipients temporary with why. */
void pl_smtp_abort(struct pl_smtp *s, const char *why);

/* Queues a transaction; it starts when the session is ready.  -1 when the
 * session is closing or done (the caller keeps t for another connection). */
int pl_smtp_add_txn(struct pl_smtp *s, struct pl_smtp_txn *t);
/* No more transactions: QUIT once the queued ones are done. */
void pl_smtp_quit(struct pl_smtp *s);

/* What to do next. */
enum pl_smtp_want pl_smtp_want(const struct pl_smtp *s);
/* Bytes to write, and how many of them were written. */
const char *pl_smtp_output(const struct pl_smtp *s, size_t *len);
void pl_smtp_written(struct pl_smtp *s, size_t n);
/* Seconds the current wait may last (RFC 5321 4.5.3.2), 0: no limit. */
int pl_smtp_timeout(const struct pl_smtp *s);
/* Grows when the dialogue moves on (connected, a whole reply taken, bytes
 * written, TLS done), not with a reply still arriving: a wait's timer is
 * started again only then. */
unsigned long pl_smtp_progress(const struct pl_smtp *s);

/* During WANT_BODY: the transaction, and whether its body must be converted
 * to 7 bit (the message is 8-bit, the server lacks 8BITMIME). */
struct pl_smtp_txn *pl_smtp_current_txn(const struct pl_smtp *s);
int pl_smtp_body_7bit(const struct pl_smtp *s);
/* Appends message bytes to the output, dot-stuffed, CRLF ensured. */
void pl_smtp_body(struct pl_smtp *s, const char *p, size_t n);
/* Ends the body: CRLF if missing, then ".\r\n". */
void pl_smtp_body_end(struct pl_smtp *s);

/* The connection as a whole. */
const struct pl_smtp_caps *pl_smtp_caps(const struct pl_smtp *s);
/* Why the connection failed (the first connection-level failure), or NULL
 * when it ended well. */
const struct pl_smtp_outcome *pl_smtp_failure(const struct pl_smtp *s);
/* 1 once the session was ready for mail (else try the next address). */
int pl_smtp_usable(const struct pl_smtp *s);
/* 1 when the TLS handshake failed (retry this MX with tls = none). */
int pl_smtp_tls_failed(const struct pl_smtp *s);
/* 1 while TLS is in effect (after on_tls(s, 1)). */
int pl_smtp_tls_active(const struct pl_smtp *s);

/* 1 when the login was refused (the outcome says so): the relay is
 * reachable, the credentials are wrong. */
int pl_smtp_auth_failed(const struct pl_smtp *s);

/* ---- AUTH and relay helpers (pure) ---------------------------------------- */

/* The AUTH mechanism to use from EHLO's list ("PLAIN LOGIN XOAUTH2"):
 * "XOAUTH2" when xoauth2 (and offered), else "PLAIN", else "LOGIN"; NULL when
 * none of those is offered. */
const char *pl_smtp_auth_mech(const char *offered, int xoauth2);
/* The initial response of AUTH PLAIN (RFC 4616: "\0user\0password") or
 * XOAUTH2 ("user=U\1auth=Bearer T\1\1"), base64, appended to out. */
void pl_smtp_auth_plain(struct buf *out, const char *user, const char *pass);
void pl_smtp_auth_xoauth2(struct buf *out, const char *user, const char *token);
/* Base64 (RFC 4648, padded, one line) of p[0..n), appended to out. */
void pl_smtp_base64(struct buf *out, const unsigned char *p, size_t n);

/* The fallback rule for transport = direct with a fallback_relay: 1 when a
 * refusal is about the sending host's reputation, not the recipient: a
 * permanent reply (5xx) with enhanced status 5.7.x or code 554 whose text
 * names a blocklist: "blocked", "blacklist", "blocklist", "spamhaus",
 * "reputation", "DNSBL" anywhere, or "RBL" as a word (case-insensitive).  status is the RFC 3463 code, reply the full reply. */
int pl_smtp_blocklisted(const char *status, const char *reply);

/* ---- Body helpers (usable alone) ----------------------------------------- */

/* Dot-stuffing state: "." at line start doubled, bare LF and bare CR turned
 * into CRLF, the end "\r\n.\r\n" (CRLF only when missing). */
struct pl_smtp_stuffer {
	int bol;		/* at the beginning of a line */
	int cr;			/* the last byte was a CR not yet written */
};
void pl_smtp_stuff_init(struct pl_smtp_stuffer *st);
void pl_smtp_stuff(struct pl_smtp_stuffer *st, const char *p, size_t n, struct buf *out);
void pl_smtp_stuff_end(struct pl_smtp_stuffer *st, struct buf *out);

/* Converts an 8-bit MIME message (header, blank line, body) for a server
 * without 8BITMIME (RFC 6152): every leaf part whose body has 8-bit octets
 * (or lines over 998 octets) and is not already base64 or quoted-printable is
 * re-encoded as quoted-printable with its Content-Transfer-Encoding header
 * replaced; multipart parts are walked by boundary and message/rfc822
 * parts recursively.  A message with no MIME-Version gets one.  Header octets
 * are left alone (an 8-bit header needs SMTPUTF8, refused earlier with 5.6.7).
 * Note: this breaks a DKIM signature over the body.  Returns how many parts
 * were converted. */
int pl_smtp_to_7bit(const char *msg, size_t len, struct buf *out);

#endif
