/* imap_session.h — one IMAP session of the sync engine (sync_imap.c), and
 * the small pieces of IMAP it needs: flags, UID sets, fetch results.
 *
 * A session is libetpan's mailimap over netstream.c (paloma's TLS), logged
 * in with the account's password or XOAUTH2 token.  Every failure becomes
 * one line naming the server ("imap HOST: what: why"); a failure of the
 * connection itself (the stream broke, timed out, the server said BYE or
 * sent what libetpan cannot parse) marks the session dead: nothing more can
 * be said on it. */
#ifndef PALOMA_IMAP_SESSION_H
#define PALOMA_IMAP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <libetpan/libetpan.h>

#include "config.h"
#include "util.h"

/* Capabilities the engine uses. */
enum {
	PL_CAP_IDLE = 1 << 0,
	PL_CAP_UIDPLUS = 1 << 1,
	PL_CAP_CONDSTORE = 1 << 2,
	PL_CAP_QRESYNC = 1 << 3,
	PL_CAP_ENABLE = 1 << 4,
	PL_CAP_SPECIAL_USE = 1 << 5
};

struct pl_imap {
	mailimap *im;
	const struct pl_account *acct;
	unsigned caps;		/* PL_CAP_* after login */
	int qresync;		/* ENABLE QRESYNC accepted */
	int dead;		/* the connection is gone */
};

/* Connects, does TLS as the account says (STARTTLS required for
 * PL_FETCH_STARTTLS), logs in (LOGIN, or AUTHENTICATE XOAUTH2) and reads
 * the capabilities.  Errors: EX_TEMPFAIL (connect, timeouts, drops),
 * netstream's code for TLS, EX_NOPERM for a refused login (with the
 * server's text), EX_UNAVAILABLE when STARTTLS is missing. */
int pl_imap_open(struct pl_imap *c, const struct pl_account *a, struct pl_err *e);
/* LOGOUT when the session lives, then frees it. */
void pl_imap_close(struct pl_imap *c);
/* Fills e for libetpan's result r of the step `what` (a phrase like
 * "fetching INBOX") and returns -1: a connection failure (c->dead set,
 * EX_TEMPFAIL) is "imap HOST: connection lost while fetching INBOX: <what
 * the stream saw>", a refusal (EX_PROTOCOL) "imap HOST: fetching INBOX:
 * <the server's text>". */
int pl_imap_fail(struct pl_imap *c, struct pl_err *e, int r, const char *what, ...)
	__attribute__((format(printf, 4, 5)));
/* 1 when r means the connection is unusable. */
int pl_imap_fatal(int r);
/* The highest HIGHESTMODSEQ the last command's responses carried, or 0. */
uint64_t pl_imap_highestmodseq(struct pl_imap *c);

/* ---- What the server may send (netstream.h) ----
 *
 * Every answer has a budget: PL_STREAM_BUDGET unless the engine sets one
 * for the command it sends next.  An answer about n messages (a listing of
 * flags and sizes, a SEARCH, a STORE, an EXPUNGE) may add
 * PL_IMAP_MSG_BYTES per message, or PL_IMAP_HEADER_BYTES when it carries
 * header lines; a batch of bodies may add the sizes the server announced
 * (RFC822.SIZE) and an eighth of them, for servers that count loosely.  A
 * server that sends more fails the session with a clear reason instead of
 * growing paloma-sync without end.  Set right before the command. */
#define PL_IMAP_MSG_BYTES 1024
#define PL_IMAP_HEADER_BYTES 4096

/* The next answer is about n messages, with per bytes allowed for each. */
void pl_imap_budget_msgs(struct pl_imap *c, uint64_t n, size_t per);
/* The next answer carries n bodies announced as bytes in all. */
void pl_imap_budget_bodies(struct pl_imap *c, uint64_t n, uint64_t bytes);

/* ---- Flags ---- */

/* PL_FL_* bits of a FETCH FLAGS list. */
unsigned pl_imap_flags_of(const struct mailimap_msg_att_dynamic *d);
/* A flag list for flags (PL_FL_*); the caller frees it. */
struct mailimap_flag_list *pl_imap_flag_list(unsigned flags);

/* ---- UID sets ---- */

/* A set of the UIDs uids[*pos…] (sorted, ascending), coalesced into ranges,
 * with at most max_ranges ranges; *pos is advanced past the UIDs taken.
 * NULL when none is left. */
struct mailimap_set *pl_imap_uid_set(const uint32_t *uids, size_t n, size_t *pos,
    size_t max_ranges);
/* "1:5,7,9:10", for messages and tests. */
void pl_uid_set_format(const uint32_t *uids, size_t n, struct buf *out);

/* ---- Fetch results ---- */

struct pl_imap_msg {
	uint32_t uid;		/* 0: the response had no UID */
	int has_flags;
	unsigned flags;		/* PL_FL_* */
	uint64_t modseq;	/* 0 when absent */
	int has_size;
	uint32_t size;		/* RFC822.SIZE */
	const char *body;	/* the (only) BODY[…] section, or NULL */
	size_t body_len;
};

void pl_imap_msg_read(const struct mailimap_msg_att *att, struct pl_imap_msg *m);

/* ---- One folder (imap_folder.c) ---- */

struct pl_sync;
/* Syncs the server folder name (hierarchy delimiter delim) with
 * <account_dir>/<pl_folder_local(name)>; upload_only: only APPENDs the
 * folder's local-only files (the sent folder outside the synced list).
 * 0, or -1 with e (c->dead when the connection went). */
int pl_imap_sync_folder(struct pl_sync *s, struct pl_imap *c, const char *name, char delim,
    int upload_only, struct pl_err *e);

/* ---- Pure helpers (unit-tested) ---- */

/* The Message-ID of a message header (up to the first empty line, CRLF or
 * LF), unfolded, without surrounding blanks, with its angle brackets; NULL
 * when there is none.  The caller frees it. */
char *pl_header_message_id(const char *msg, size_t len);
/* Appends data with LF line ends as CRLF (a CRLF stays CRLF). */
void pl_lf_to_crlf(const char *p, size_t n, struct buf *out);
/* SHA-256 of a message as stored locally: with crlf, CRLF pairs count as
 * LF (what pl_mfile_store writes); without, the bytes as they are. */
void pl_message_sha256(const char *p, size_t n, int crlf, unsigned char out[32]);

#endif
