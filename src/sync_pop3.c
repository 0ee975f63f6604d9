/* sync_pop3.c — POP3: new messages by UIDL into <account>/INBOX.
 *
 * POP3 has one folder and no flags: a message is new when the key of its
 * UIDL (pl_pop3_key) is not in the folder's state.  New messages are
 * retrieved in batches: each stored in cur/ under a ",P=<key>" name, the
 * batch synced to disk (pl_folder_sync), handed to the indexer, and
 * journaled when the indexer is done with it.  A crash between storing and
 * journaling leaves a complete file with the key: the next sync adopts it
 * instead of retrieving it again.  UIDLs gone from the server are dropped
 * from the state; the local files stay (they are the user's mail now).
 *
 * With pop3_delete = yes, only messages the state holds (stored, synced,
 * journaled) are marked with DELE, and the server deletes them at QUIT; a
 * connection that breaks before QUIT deletes nothing (RFC 1939).
 *
 * libetpan reads the greeting and does STLS, USER and PASS.  The
 * multi-line commands (UIDL, LIST, RETR) are read here, on its stream:
 * libetpan's own readers (mailstream_read_multiline, read_list) take a
 * closed connection for an endless run of empty lines, and its RETR stops a
 * line at a NUL byte.  DELE and QUIT are ours too: mailpop3_dele would list
 * again first, and mailpop3_quit reports success whatever the server says. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libetpan/libetpan.h>
#include <openssl/evp.h>

#include "maildir.h"
#include "netstream.h"
#include "secret.h"
#include "sync.h"
#include "sync_pop3.h"

/* A batch: this many messages or bytes between two syncs to disk. */
#define BATCH_MSGS	200
#define BATCH_BYTES	(16 * 1024 * 1024)
/* What the server may send (netstream.h): status and listing lines of at
 * most LINE_MAX_BYTES; a listing PL_STREAM_BUDGET and LISTING_BYTES per
 * message STAT counts; a message (RETR) PL_STREAM_BUDGET and its LIST size
 * and an eighth more, in lines of any length. */
#define LINE_MAX_BYTES	(1024 * 1024)
#define LISTING_BYTES	128

struct pop {
	mailpop3 *p;
	mailstream *s;
	int fd;
	const char *host;
	MMAPString *line;
	char reply[512];	/* text of the last -ERR (or +OK) */
};

/* ---- The dialogue ---- */

/* A command got no status, and the session is given up: the connection
 * failed (the stream says why), or it is fine and what came was not POP3
 * (as IMAP says it, imap_session.c). */
static int
lost(struct pop *c, const char *during, struct pl_err *e)
{
	const char *why = c->s ? pl_stream_error(c->s) : "";

	return pl_errf(e, EX_TEMPFAIL, "%s: connection lost during %s: %s", c->host, during,
	    *why ? why : "unreadable reply from the server");
}

/* Sends one command line; private ones (credentials) are kept out of any
 * stream log. */
static int
send_line(struct pop *c, int private, const char *fmt, ...)
{
	struct buf b = { 0 };
	va_list ap;
	int rc = 0;

	va_start(ap, fmt);
	buf_grow(&b, 256);
	{
		va_list aq;
		int n;

		va_copy(aq, ap);
		n = vsnprintf(b.p, b.cap, fmt, aq);
		va_end(aq);
		if (n >= 0 && (size_t)n >= b.cap) {
			buf_grow(&b, (size_t)n + 1);
			n = vsnprintf(b.p, b.cap, fmt, ap);
		}
		b.len = n > 0 ? (size_t)n : 0;
	}
	va_end(ap);
	buf_adds(&b, "\r\n");
	mailstream_set_privacy(c->s, !private);
	if (mailstream_write(c->s, b.p, b.len) < 0 || mailstream_flush(c->s) < 0)
		rc = -1;
	mailstream_set_privacy(c->s, 1);
	explicit_bzero(b.p, b.cap);
	buf_free(&b);
	return rc;
}

/* One whole line (with its line end), or NULL when the connection ended or
 * failed first: a line without "\n" is a connection closed mid-line. */
static char *
get_line(mailstream *s, MMAPString *line, size_t *len)
{
	char *l = mailstream_read_line(s, line);

	if (l == NULL || line->len == 0 || l[line->len - 1] != '\n')
		return NULL;
	*len = line->len;
	return l;
}

int
pl_pop3_status(mailstream *s, MMAPString *line, char *reply, size_t rlen)
{
	size_t n;
	char *l = get_line(s, line, &n);
	int ok;

	if (l == NULL)
		return -1;
	while (n > 0 && (l[n - 1] == '\n' || l[n - 1] == '\r'))
		n--;
	if (n >= 3 && memcmp(l, "+OK", 3) == 0)
		ok = 1;
	else if (n >= 4 && memcmp(l, "-ERR", 4) == 0)
		ok = 0;
	else
		return -1;
	l += ok ? 3 : 4;
	n -= ok ? 3 : 4;
	while (n > 0 && *l == ' ')
		l++, n--;
	snprintf(reply, rlen, "%.*s", (int)n, l);
	/* The text goes into one-line messages: no control characters. */
	for (char *p = reply; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (!*reply)
		snprintf(reply, rlen, "(no text)");
	return ok;
}

/* The status line, its text in c->reply. */
static int
status(struct pop *c)
{
	return pl_pop3_status(c->s, c->line, c->reply, sizeof c->reply);
}

int
pl_pop3_body(mailstream *s, MMAPString *line, struct buf *b)
{
	for (;;) {
		size_t n;
		char *l = get_line(s, line, &n);

		if (l == NULL)
			return -1;
		if (l[0] == '.') {
			if (n == 2 || (n == 3 && l[1] == '\r'))
				return 0;
			l++;
			n--;
		}
		buf_add(b, l, n);
	}
}

/* Sends a command and reads its status: 1, 0 (-ERR) or -1 (with e). */
static int
command(struct pop *c, const char *what, struct pl_err *e, const char *fmt, unsigned arg)
{
	int r;

	if (send_line(c, 0, fmt, arg) < 0 || (r = status(c)) < 0)
		return lost(c, what, e);
	return r;
}

static void
pop_close(struct pop *c)
{
	/* Closed without QUIT: a broken session deletes nothing. */
	if (c->p) {
		if (c->p->pop3_stream) {
			mailstream_close(c->p->pop3_stream);
			c->p->pop3_stream = NULL;
		}
		free(c->p->pop3_timestamp);
		c->p->pop3_timestamp = NULL;
		mailpop3_free(c->p);
	} else if (c->s)
		mailstream_close(c->s);
	if (c->line)
		mmap_string_free(c->line);
	memset(c, 0, sizeof *c);
}

/* Whether libetpan's failure r after a command came without a reply (a
 * broken connection, an unreadable reply) rather than as the server's
 * refusal (-ERR, its text in pop3_response, which may otherwise still hold
 * an earlier reply). */
static int
no_reply(struct pop *c, int r)
{
	return r == MAILPOP3_ERROR_STREAM || c->p->pop3_response == NULL;
}

static int
etpan_fail(struct pop *c, int r, int code, const char *what, struct pl_err *e)
{
	if (no_reply(c, r))
		return lost(c, what, e);
	snprintf(c->reply, sizeof c->reply, "%s", c->p->pop3_response);
	for (char *p = c->reply; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return pl_errf(e, code, "%s: %s refused: %s", c->host, what, c->reply);
}

static int
pop_connect(const struct pl_account *a, struct pop *c, struct pl_err *e)
{
	int r;

	c->host = a->host;
	c->fd = pl_net_connect(a->host, a->port, a->timeout, e);
	if (c->fd < 0)
		return -1;
	c->s = a->tls == PL_FETCH_TLS ?
	    pl_stream_tls(c->fd, a->host, a->ca_file, (int)a->timeout, e) :
	    pl_stream_plain(c->fd, (int)a->timeout);
	if (c->s == NULL) {
		if (a->tls == PL_FETCH_TLS)
			return -1;	/* e says why; fd is closed */
		close(c->fd);
		return pl_errf(e, EX_OSERR, "%s: out of memory", a->host);
	}
	pl_stream_limits(c->s, LINE_MAX_BYTES, 0);
	c->line = mmap_string_new("");
	c->p = mailpop3_new(0, NULL);
	if (c->line == NULL || c->p == NULL)
		return pl_errf(e, EX_OSERR, "%s: out of memory", a->host);
	if ((r = mailpop3_connect(c->p, c->s)) != MAILPOP3_NO_ERROR) {
		if (c->p->pop3_stream == NULL)	/* not taken over */
			c->p->pop3_stream = c->s;
		return etpan_fail(c, r, EX_TEMPFAIL, "greeting", e);
	}
	if (a->tls == PL_FETCH_STARTTLS) {
		r = mailpop3_stls(c->p);
		if (r == MAILPOP3_ERROR_SSL)
			return pl_errf(e, EX_PROTOCOL, "%s: the server sent data after accepting "
			    "STLS (refused: it could be injected)", c->host);
		if (r != MAILPOP3_NO_ERROR) {
			if (no_reply(c, r))
				return lost(c, "STLS", e);
			return pl_errf(e, EX_UNAVAILABLE, "%s: the server refuses STLS (%s); "
			    "use pop3s:// or, only on a trusted network, tls = none",
			    c->host, c->p->pop3_response);
		}
		if (pl_stream_starttls(c->s, c->fd, a->host, a->ca_file, e) < 0)
			return -1;
	}
	return 0;
}

/* AUTH XOAUTH2 with the token as initial response. */
static int
auth_xoauth2(struct pop *c, const char *user, const char *token, struct pl_err *e)
{
	struct buf raw = { 0 };
	unsigned char *b64;
	int r;

	buf_printf(&raw, "user=%s\001auth=Bearer %s\001\001", user, token);
	b64 = xmalloc(4 * ((raw.len + 2) / 3) + 1);
	EVP_EncodeBlock(b64, (const unsigned char *)raw.p, (int)raw.len);
	explicit_bzero(raw.p, raw.len);
	buf_free(&raw);
	r = send_line(c, 1, "AUTH XOAUTH2 %s", (char *)b64);
	explicit_bzero(b64, strlen((char *)b64));
	free(b64);
	if (r < 0)
		return lost(c, "login", e);
	r = status(c);
	if (r < 0 && c->line->len > 0 && c->line->str[0] == '+') {
		/* A challenge carrying the error: an empty answer ends it. */
		if (send_line(c, 0, "") < 0)
			return lost(c, "login", e);
		r = status(c);
	}
	if (r < 0)
		return lost(c, "login", e);
	if (r == 0)
		return pl_errf(e, EX_NOPERM, "%s: login refused for %s: %s", c->host, user,
		    c->reply);
	return 0;
}

static int
pop_login(const struct pl_account *a, struct pop *c, const char *secret, int oauth,
    struct pl_err *e)
{
	int r;

	if (oauth)
		return auth_xoauth2(c, a->user, secret, e);
	/* libetpan's command buffer is 513 bytes: longer would be cut. */
	if (strlen(a->user) > 400 || strlen(secret) > 400)
		return pl_errf(e, EX_CONFIG, "%s: user name or password too long for POP3",
		    c->host);
	if ((r = mailpop3_user(c->p, a->user)) == MAILPOP3_NO_ERROR)
		r = mailpop3_pass(c->p, secret);
	if (r != MAILPOP3_NO_ERROR) {
		if (no_reply(c, r))
			return lost(c, "login", e);
		return pl_errf(e, EX_NOPERM, "%s: login refused for %s: %s", c->host, a->user,
		    c->p->pop3_response);
	}
	return 0;
}

/* ---- The listing ---- */

static int
by_num(const void *a, const void *b)
{
	const struct pl_pop3_msg *x = a, *y = b;

	return x->num < y->num ? -1 : x->num > y->num;
}

static int
by_key(const void *a, const void *b)
{
	const struct pl_pop3_msg *x = *(struct pl_pop3_msg *const *)a;
	const struct pl_pop3_msg *y = *(struct pl_pop3_msg *const *)b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->num < y->num ? -1 : x->num > y->num;
}

/* Splits a listing into "<number> <word>" lines; fn gets each. */
static void
each_line(char *p, size_t len, void (*fn)(void *, unsigned, const char *), void *arg)
{
	char *end;

	if (len == 0)
		return;
	for (end = p + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *w;
		unsigned long num;

		if (nl == NULL)
			nl = end;
		*nl = '\0';
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		num = strtoul(p, &w, 10);
		if (w != p && (*w == ' ' || *w == '\t') && num > 0 && num <= 0xffffffffUL) {
			while (*w == ' ' || *w == '\t')
				w++;
			fn(arg, (unsigned)num, w);
		}
		p = nl + 1;
	}
}

struct listing {
	struct pl_pop3_msg *m;
	size_t n, cap;
};

static void
add_uidl(void *arg, unsigned num, const char *uidl)
{
	struct listing *l = arg;
	size_t n = strcspn(uidl, " \t");

	if (n == 0 || n > 512)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->m = xrealloc(l->m, l->cap * sizeof *l->m);
	}
	memset(&l->m[l->n], 0, sizeof l->m[l->n]);
	l->m[l->n].num = num;
	{
		char *u = xstrndup(uidl, n);

		l->m[l->n].key = pl_pop3_key(u);
		free(u);
	}
	l->n++;
}

static void
add_size(void *arg, unsigned num, const char *size)
{
	struct listing *l = arg;
	struct pl_pop3_msg k = { .num = num }, *m;

	m = bsearch(&k, l->m, l->n, sizeof *l->m, by_num);
	if (m)
		m->size = strtoul(size, NULL, 10);
}

void
pl_pop3_uidls(char *p, size_t len, struct pl_pop3_msg **out, size_t *n)
{
	struct listing l = { 0 };

	each_line(p, len, add_uidl, &l);
	if (l.n > 0)
		qsort(l.m, l.n, sizeof *l.m, by_num);
	*out = l.m;
	*n = l.n;
}

void
pl_pop3_sizes(char *p, size_t len, struct pl_pop3_msg *m, size_t n)
{
	struct listing l = { .m = m, .n = n, .cap = n };
	struct pl_pop3_msg **byk;

	each_line(p, len, add_size, &l);
	/* Two messages with one UIDL (a broken server): the first counts. */
	byk = xcalloc(n + 1, sizeof *byk);
	for (size_t i = 0; i < n; i++)
		byk[i] = &m[i];
	if (n > 0)
		qsort(byk, n, sizeof *byk, by_key);
	for (size_t i = 1; i < n; i++)
		if (byk[i]->key == byk[i - 1]->key)
			byk[i]->skip = 1;
	free(byk);
}

/* Lines of a listing body (the last one may lack its line end). */
static size_t
count_lines(const char *p, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += p[i] == '\n';
	return n + (len > 0 && p[len - 1] != '\n');
}

/* UIDL and LIST: the server's messages, sorted by number. */
static int
pop_listing(struct pop *c, struct pl_pop3_msg **out, size_t *nout, struct pl_err *e)
{
	struct pl_pop3_msg *m;
	struct buf b = { 0 };
	size_t n, nlines, budget = PL_STREAM_BUDGET;
	int r;

	*out = NULL;
	*nout = 0;
	/* STAT's count sizes the listings' budget (the default without it) */
	if ((r = command(c, "STAT", e, "STAT", 0)) < 0)
		return -1;
	if (r == 1) {
		unsigned long count = strtoul(c->reply, NULL, 10);

		if (count < (SIZE_MAX - PL_STREAM_BUDGET) / LISTING_BYTES)
			budget += count * LISTING_BYTES;
	}
	pl_stream_budget(c->s, budget, 0);
	if ((r = command(c, "UIDL", e, "UIDL", 0)) < 0)
		return -1;
	if (r == 0)
		return pl_errf(e, EX_UNAVAILABLE, "%s: the server has no UIDL (%s): without it "
		    "new mail cannot be told from old", c->host, c->reply);
	if (pl_pop3_body(c->s, c->line, &b) < 0) {
		buf_free(&b);
		return lost(c, "UIDL", e);
	}
	nlines = count_lines(b.p, b.len);
	pl_pop3_uidls(b.p, b.len, &m, &n);
	/* A line that is not "<number> <uidl>" hides a message: skipping it
	 * would pass off a broken listing as a smaller (or empty) mailbox. */
	if (n < nlines) {
		buf_free(&b);
		free(m);
		return pl_errf(e, EX_PROTOCOL, "%s: malformed UIDL listing: %zu of its %zu lines "
		    "are not \"<number> <uidl>\"", c->host, nlines - n, nlines);
	}
	if (n == 0) {		/* an empty mailbox */
		buf_free(&b);
		return 0;
	}
	b.len = 0;
	pl_stream_budget(c->s, budget, 0);
	if ((r = command(c, "LIST", e, "LIST", 0)) <= 0 || pl_pop3_body(c->s, c->line, &b) < 0) {
		buf_free(&b);
		free(m);
		if (r == 0)
			return pl_errf(e, EX_PROTOCOL, "%s: LIST refused: %s", c->host, c->reply);
		return lost(c, "LIST", e);
	}
	pl_pop3_sizes(b.p, b.len, m, n);
	buf_free(&b);
	*out = m;
	*nout = n;
	return 0;
}

/* ---- Storing ---- */

struct run {
	struct pl_sync *s;
	struct pl_sstate *st;
	char folder[4096];
	struct pop *c;
	char **paths;		/* the batch's stored files */
	uint64_t *keys;
	size_t nb;
	size_t bb;
	unsigned long done, total;
	unsigned long long done_bytes, total_bytes;
};

/* Journals what the indexer has finished (all of it with wait). */
static int
journal(struct run *r, int wait, struct pl_err *e)
{
	struct pl_ix_done *d;
	size_t n;

	pl_ix_reap(r->s->ix, wait, &d, &n);
	for (size_t i = 0; i < n; i++)
		pl_ix_journal(&d[i]);
	free(d);
	return pl_sstate_flush(r->st, e);
}

/* The batch is on disk: sync it, hand it to the indexer. */
static int
commit(struct run *r, struct pl_err *e)
{
	int rc = 0;

	if (r->nb > 0 && (rc = pl_folder_sync(r->folder, e)) == 0) {
		for (size_t i = 0; i < r->nb; i++)
			pl_ix_push(r->s->ix, PL_IX_ADD, r->paths[i], NULL, r->st, r->keys[i], 0);
		r->s->st.fetched += r->nb;
		r->done += r->nb;
		if (r->s->progress)
			r->s->progress(r->s, "INBOX", r->done, r->total, r->done_bytes,
			    r->total_bytes);
	}
	for (size_t i = 0; i < r->nb; i++)
		free(r->paths[i]);
	r->nb = r->bb = 0;
	if (rc == 0)
		rc = journal(r, 0, e);
	return rc;
}

static int
retrieve(struct run *r, const struct pl_pop3_msg *m, struct buf *b, struct pl_err *e)
{
	char name[1024];
	int k;

	/* A LIST size that is wrong or missing still gets the default. */
	pl_stream_budget(r->c->s, m->size < (SIZE_MAX - PL_STREAM_BUDGET) / 2 ?
	    PL_STREAM_BUDGET + m->size + m->size / 8 : SIZE_MAX, SIZE_MAX);
	if ((k = command(r->c, "RETR", e, "RETR %u", m->num)) < 0)
		return -1;
	if (k == 0)
		return pl_errf(e, EX_TEMPFAIL, "%s: RETR %u refused: %s", r->c->host, m->num,
		    r->c->reply);
	b->len = 0;
	if (pl_pop3_body(r->c->s, r->c->line, b) < 0)
		return lost(r->c, "RETR", e);
	if (pl_mfile_store(r->folder, 'P', m->key, 0, b->p ? b->p : "", b->len, 1, name,
	    sizeof name, e) < 0)
		return -1;
	r->paths[r->nb] = xmalloc(strlen(r->folder) + strlen(name) + 6);
	sprintf(r->paths[r->nb], "%s/cur/%s", r->folder, name);
	r->keys[r->nb] = m->key;
	r->nb++;
	r->bb += b->len;
	r->done_bytes += m->size;
	r->s->st.bytes += b->len;
	return 0;
}

/* A file of an interrupted run is adopted when it is whole: its size is
 * what its name says (else the crash tore it, and it is fetched again). */
static int
whole(const char *path, const struct pl_mfile *f)
{
	struct stat sb;

	return f->size >= 0 && stat(path, &sb) == 0 && sb.st_size == f->size;
}

/* Decides what to retrieve: known keys are skipped (those still waiting for
 * the index are queued for it again), files of an interrupted run adopted. */
static void
plan(struct run *r, struct pl_pop3_msg *m, size_t n, struct pl_mfile *files, size_t nf)
{
	char path[8192];

	for (size_t i = 0; i < n; i++) {
		struct pl_smsg *sm;
		struct pl_mfile *f;

		if (m[i].skip)
			continue;
		sm = pl_sstate_find(r->st, m[i].key);
		f = pl_mfile_find(files, nf, 'P', m[i].key);
		if (f)
			snprintf(path, sizeof path, "%s/%s/%s", r->folder, f->in_new ? "new" : "cur",
			    f->name);
		if (sm) {
			if (sm->unindexed && f)
				pl_ix_push(r->s->ix, PL_IX_ADD, path, NULL, r->st, m[i].key,
				    sm->flags);
			continue;
		}
		if (f && whole(path, f)) {
			pl_ix_push(r->s->ix, PL_IX_ADD, path, NULL, r->st, m[i].key, f->flags);
			continue;
		}
		if (f && unlink(path) == 0)	/* torn: the index forgets it too */
			pl_ix_push(r->s->ix, PL_IX_REMOVE, path, NULL, NULL, 0, 0);
		m[i].fetch = 1;
		r->total++;
		r->total_bytes += m[i].size;
	}
}

static int
fetch_new(struct run *r, struct pl_pop3_msg *m, size_t n, struct pl_err *e)
{
	struct buf b = { 0 };
	int rc = 0;

	r->paths = xcalloc(BATCH_MSGS, sizeof *r->paths);
	r->keys = xcalloc(BATCH_MSGS, sizeof *r->keys);
	if (r->s->progress && r->total > 0)
		r->s->progress(r->s, "INBOX", 0, r->total, 0, r->total_bytes);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!m[i].fetch)
			continue;
		rc = retrieve(r, &m[i], &b, e);
		if (rc == 0 && (r->nb == BATCH_MSGS || r->bb >= BATCH_BYTES))
			rc = commit(r, e);
	}
	/* What was stored before a failure is kept and journaled all the
	 * same: the next sync goes on from there. */
	if (r->nb > 0) {
		struct pl_err ce;

		if (commit(r, rc == 0 ? e : &ce) < 0)
			rc = -1;
	}
	if (b.p)	/* mail is private: no copy left in freed memory */
		explicit_bzero(b.p, b.cap);
	buf_free(&b);
	free(r->paths);
	free(r->keys);
	r->paths = NULL;
	r->keys = NULL;
	return rc;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* UIDLs the server no longer has: their records go (the files stay). */
static void
forget_gone(struct pl_sstate *st, const struct pl_pop3_msg *m, size_t n)
{
	uint64_t *keys = xcalloc(n + 1, sizeof *keys), *gone = NULL;
	size_t ngone = 0;

	for (size_t i = 0; i < n; i++)
		keys[i] = m[i].key;
	qsort(keys, n, sizeof *keys, cmp_u64);
	for (size_t i = 0; i < st->n; i++)
		if (!bsearch(&st->msgs[i].key, keys, n, sizeof *keys, cmp_u64)) {
			gone = xrealloc(gone, (ngone + 1) * sizeof *gone);
			gone[ngone++] = st->msgs[i].key;
		}
	for (size_t i = 0; i < ngone; i++)
		pl_sstate_remove(st, gone[i]);
	free(gone);
	free(keys);
}

/* pop3_delete: DELE what the state holds (stored, synced and journaled). */
static int
delete_stored(struct run *r, const struct pl_pop3_msg *m, size_t n, unsigned long *ndel,
    struct pl_err *e)
{
	int k;

	*ndel = 0;
	for (size_t i = 0; i < n; i++) {
		if (m[i].skip || pl_sstate_find(r->st, m[i].key) == NULL)
			continue;
		if ((k = command(r->c, "DELE", e, "DELE %u", m[i].num)) < 0)
			return -1;
		if (k == 0)
			return pl_errf(e, EX_TEMPFAIL, "%s: DELE %u refused: %s", r->c->host,
			    m[i].num, r->c->reply);
		(*ndel)++;
	}
	return 0;
}

static int
quit(struct pop *c, struct pl_err *e)
{
	int k = command(c, "QUIT", e, "QUIT", 0);

	if (k < 0)
		return -1;
	if (k == 0)
		return pl_errf(e, EX_TEMPFAIL, "%s: QUIT refused (nothing deleted there): %s",
		    c->host, c->reply);
	return 0;
}

int
pl_sync_pop3(struct pl_sync *s, struct pl_err *e)
{
	const struct pl_account *a = s->acct;
	struct run r = { 0 };
	struct pop c = { .fd = -1 };
	struct pl_sstate st;
	struct pl_mfile *files = NULL;
	struct pl_pop3_msg *m = NULL;
	struct pl_err je;
	char *secret = NULL;
	size_t n = 0, nf = 0;
	unsigned long ndel = 0;
	int oauth = 0, rc = -1;

	r.s = s;
	r.st = &st;
	r.c = &c;
	snprintf(r.folder, sizeof r.folder, "%s/INBOX", s->account_dir);
	if (pl_maildir_ensure(r.folder, e) < 0)
		return -1;
	if (pl_sstate_open(&st, s->state_dir, "INBOX", e) < 0)
		return -1;
	/* The secret first: a slow password command must not keep a
	 * connection waiting. */
	if (pl_account_secret(a, &secret, &oauth, e) < 0)
		goto out;
	if (pop_connect(a, &c, e) < 0 || pop_login(a, &c, secret, oauth, e) < 0)
		goto out;
	explicit_bzero(secret, strlen(secret));
	free(secret);
	secret = NULL;
	if (pop_listing(&c, &m, &n, e) < 0)
		goto out;
	if (pl_folder_scan(r.folder, &files, &nf, e) < 0)
		goto out;
	plan(&r, m, n, files, nf);
	if (fetch_new(&r, m, n, e) < 0)
		goto out;
	if (journal(&r, 1, e) < 0)
		goto out;
	forget_gone(&st, m, n);
	if (a->pop3_delete && delete_stored(&r, m, n, &ndel, e) < 0)
		goto out;
	if (quit(&c, e) < 0)
		goto out;
	s->st.removed_out += ndel;
	rc = 0;
out:
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	pop_close(&c);
	/* The indexer's work refers to st: all of it is journaled before st
	 * goes. */
	if (journal(&r, 1, rc == 0 ? e : &je) < 0)
		rc = -1;
	if (rc == 0 && pl_sstate_compact(&st, e) < 0)
		rc = -1;
	s->st.folders++;
	pl_sstate_close(&st);
	pl_mfiles_free(files, nf);
	free(m);
	return rc;
}
