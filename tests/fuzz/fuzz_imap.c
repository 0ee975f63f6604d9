/* fuzz_imap.c — libFuzzer target for the IMAP engine's handling of what a
 * server says (imap_session.c, imap_folder.c, sync_imap.c, and the body
 * helpers imap_resync.c relies on).
 *
 * Why this shape: our code never reads IMAP bytes itself; libetpan parses
 * them and our code walks the structures it builds.  Those structures are
 * only as sane as libetpan's parser makes them (NIL where a string was
 * expected, 0 for "*", a literal where an atom was expected, an extension
 * response out of place), and hand-built structures would only contain
 * what we thought of.  So the input goes the whole way: bytes → libetpan's
 * stream and parser (a mailimap session over tests/fuzz/memstream.h) → the
 * same libetpan command the engine sends → the engine's own walk of the
 * result.  Crashes inside libetpan are found too; those we cannot fix in
 * libetpan must be avoided by the way we call it.
 *
 * Input: byte 0 is the stream's read size (1..256), byte 1 the command;
 * the rest is the server's side: a greeting, then the responses to the one
 * command (tag "1").  Commands, as the engine sends them:
 *   0  UID FETCH 1:100 (UID FLAGS)            → imap_take_fetch
 *   1  the same with (CHANGEDSINCE 5)         → imap_take_fetch
 *   2  the same with (CHANGEDSINCE 5 VANISHED) → imap_take_vanished, _fetch
 *   3  SELECT INBOX (CONDSTORE)               → selection info, HIGHESTMODSEQ
 *   4  SELECT INBOX
 *   5  UID FETCH 1:* (UID FLAGS BODY.PEEK[])  → each body's Message-ID and
 *                                               hash (fetch_batch, resync)
 *   6  APPEND with UIDPLUS                    → APPENDUID
 *   7  UID SEARCH UID 1:100                   → the UIDs
 *   8  LIST "" "*"                            → the folders an account with
 *      folders = * (9: with folders = INBOX, Archive/2026, Sent) syncs and
 *      the sent folder, each folder's local name
 * then the session ends as the engine ends it (pl_imap_close: LOGOUT, which
 * reads what is left of the input).  Every failure must read as one line from pl_imap_fail; what the walks
 * keep must be what the server could have meant (UIDs non-zero, flags in
 * PL_FL_ALL, vanished UIDs among the state's).
 *
 * A literal's announced size ({4294967295}) is allocated by libetpan at
 * once: virtual memory the kernel hands out lazily (or refuses, which
 * libetpan reports as MAILIMAP_ERROR_MEMORY), not a crash, but under ASan
 * each such input costs a second and half a gigabyte, and libFuzzer stops
 * at an allocation over its limit.  Inputs announcing a literal over
 * IM_MAX_LITERAL are skipped (see doc/FUZZING.md).  libetpan's parser leaks
 * a few bytes on some malformed responses (a bad BODY[section]), memory of
 * its own that we are never given: those leaks are suppressed below.
 *
 * Build: make fuzz (build-fuzz/fuzz_imap).  Seeds: tests/fuzz/corpus/fuzz_imap/ */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap_folder.h"
#include "netstream.h"
#include "syncstate.h"
#include "memstream.h"
#include "util.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

#define IM_STATE_N 64
#define IM_MAX_LITERAL (1u << 20)

/* The state's keys: 1..40, then a few far apart (UIDs near the top). */
static void
im_state(struct pl_sstate *st, struct pl_smsg *msgs)
{
	size_t n = 0;

	memset(st, 0, sizeof *st);
	for (uint64_t k = 1; k <= 40; k++)
		msgs[n++].key = k;
	msgs[n++].key = 1000;
	msgs[n++].key = 65536;
	msgs[n++].key = 2147483648u;
	msgs[n++].key = 4294967295u;
	st->msgs = msgs;
	st->n = n;
	st->cap = IM_STATE_N;
	st->jfd = -1;
	st->highestmodseq = 5;
}

static void
im_check_fail(struct pl_imap *c, int r)
{
	struct pl_err e;

	CHECK(pl_imap_fail(c, &e, r, "fetching %s", "INBOX") == -1);
	CHECK(e.code == EX_TEMPFAIL || e.code == EX_PROTOCOL);
	CHECK(strncmp(e.msg, "imap imap.test: ", 16) == 0 && strchr(e.msg, '\n') == NULL);
	CHECK(pl_imap_fatal(r) == c->dead);
}

/* 1 when one of v's ranges holds uid ("*" is 0: the highest UID). */
static int
im_in_vanished(const struct mailimap_qresync_vanished *v, uint64_t uid)
{
	if (v == NULL || v->qr_known_uids == NULL)
		return 0;
	for (clistiter *it = clist_begin(v->qr_known_uids->set_list); it; it = clist_next(it)) {
		const struct mailimap_set_item *item = clist_content(it);
		uint64_t lo = item->set_first, hi = item->set_last ? item->set_last : UINT32_MAX;

		if ((lo <= uid && uid <= hi) || (hi <= uid && uid <= lo))
			return 1;
	}
	return 0;
}

/* The slow way: is the state's uid in any VANISHED of the responses? */
static int
im_vanished(const struct pl_imap *c, const struct mailimap_qresync_vanished *first,
    uint64_t uid)
{
	const struct mailimap_response_info *ri = c->im->imap_response_info;

	if (im_in_vanished(first, uid))
		return 1;
	for (clistiter *it = ri ? clist_begin(ri->rsp_extension_list) : NULL; it;
	    it = clist_next(it)) {
		const struct mailimap_extension_data *x = clist_content(it);

		if (x->ext_extension->ext_id == MAILIMAP_EXTENSION_QRESYNC &&
		    x->ext_type == MAILIMAP_QRESYNC_TYPE_VANISHED && im_in_vanished(x->ext_data, uid))
			return 1;
	}
	return 0;
}

/* rem: messages with a UID and flags we know; van: exactly the state's
 * UIDs some VANISHED names, each once, in order. */
static void
im_check_fsync(const struct fsync *f, int with_van, const struct mailimap_qresync_vanished *first)
{
	size_t k = 0;

	for (size_t i = 0; i < f->nrem; i++)
		CHECK(f->rem[i].uid != 0 && (f->rem[i].flags & ~(unsigned)PL_FL_ALL) == 0);
	for (size_t i = 0; i < f->st.n; i++) {
		if (!with_van || !im_vanished(f->c, first, f->st.msgs[i].key))
			continue;
		CHECK(k < f->nvan && f->van[k] == f->st.msgs[i].key);
		k++;
	}
	CHECK(k == f->nvan);
}

static void
im_flags_fetch(struct pl_imap *c, int how)
{
	struct pl_smsg msgs[IM_STATE_N] = { { 0 } };
	struct fsync f;
	struct mailimap_set *set = mailimap_set_new_interval(1, 100);
	struct mailimap_fetch_type *ft = imap_fetch_type(1, 1, 0, 0, 0);
	struct mailimap_qresync_vanished *v = NULL;
	clist *res = NULL;
	int r;

	memset(&f, 0, sizeof f);
	f.c = c;
	f.name = "INBOX";
	im_state(&f.st, msgs);
	if (how == 0)
		r = mailimap_uid_fetch(c->im, set, ft, &res);
	else if (how == 1)
		r = mailimap_uid_fetch_changedsince(c->im, set, ft, 5, &res);
	else
		r = mailimap_uid_fetch_qresync(c->im, set, ft, 5, &res, &v);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r == MAILIMAP_NO_ERROR) {
		if (how == 2)
			imap_take_vanished(&f, v);
		imap_take_fetch(&f, res);
		im_check_fsync(&f, how == 2, v);
		if (v)
			mailimap_qresync_vanished_free(v);
		mailimap_fetch_list_free(res);
	} else {
		/* Results are the caller's only on success (libetpan may
		 * leave a freed list behind): as fetch_changes does. */
		im_check_fail(c, r);
	}
	free(f.rem);
	free(f.van);
}

static void
im_select(struct pl_imap *c, int condstore)
{
	uint64_t modseq = 0;
	int r;

	r = condstore ? mailimap_select_condstore(c->im, "INBOX", &modseq) :
	    mailimap_select(c->im, "INBOX");
	if (r != MAILIMAP_NO_ERROR || c->im->imap_selection_info == NULL) {
		im_check_fail(c, r == MAILIMAP_NO_ERROR ? MAILIMAP_ERROR_SELECT : r);
		return;
	}
	(void)pl_imap_highestmodseq(c);
}

static void
im_bodies(struct pl_imap *c)
{
	struct mailimap_set *set = mailimap_set_new_interval(1, 0);
	struct mailimap_fetch_type *ft = imap_fetch_type(1, 1, 0, 1, 0);
	clist *res = NULL;
	int r = mailimap_uid_fetch(c->im, set, ft, &res);

	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR) {
		im_check_fail(c, r);
		return;
	}
	for (clistiter *it = clist_begin(res); it; it = clist_next(it)) {
		struct pl_imap_msg m;
		unsigned char h[32];
		char *id;

		pl_imap_msg_read(clist_content(it), &m);
		CHECK((m.flags & ~(unsigned)PL_FL_ALL) == 0);
		CHECK(m.body != NULL || m.body_len == 0);
		if (m.body == NULL)
			continue;
		id = pl_header_message_id(m.body, m.body_len);
		CHECK(id == NULL || (*id && strlen(id) <= m.body_len));
		free(id);
		pl_message_sha256(m.body, m.body_len, 1, h);
	}
	mailimap_fetch_list_free(res);
}

static void
im_append(struct pl_imap *c)
{
	static const char msg[] = "Subject: t\r\n\r\nbody\r\n";
	struct mailimap_flag_list *fl = pl_imap_flag_list(PL_FL_S | PL_FL_P);
	uint32_t uv = 0, uid = 0;
	int r;

	r = mailimap_uidplus_append(c->im, "Sent", fl, NULL, msg, sizeof msg - 1, &uv, &uid);
	mailimap_flag_list_free(fl);
	if (r != MAILIMAP_NO_ERROR)
		im_check_fail(c, r);
}

static void
im_search(struct pl_imap *c)
{
	struct mailimap_search_key *key =
	    mailimap_search_key_new_uid(mailimap_set_new_interval(1, 100));
	clist *found = NULL;
	int r = mailimap_uid_search(c->im, NULL, key, &found);

	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR) {
		im_check_fail(c, r);
		return;
	}
	for (clistiter *it = clist_begin(found); it; it = clist_next(it))
		CHECK(clist_content(it) != NULL);
	mailimap_search_result_free(found);
}

/* 1 when the input announces a literal ("{N}", "{N+}", "~{N}") larger than
 * IM_MAX_LITERAL. */
static int
im_huge_literal(const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v = 0;
		size_t k;

		if (d[i] != '{')
			continue;
		for (k = i + 1; k < n && d[k] >= '0' && d[k] <= '9' && v <= IM_MAX_LITERAL; k++)
			v = v * 10 + (uint64_t)(d[k] - '0');
		if (v > IM_MAX_LITERAL)
			return 1;
	}
	return 0;
}

const char *__lsan_default_suppressions(void);
/* 1 when path is relative and has no empty, "." or ".." component. */
static int
im_inside(const char *path)
{
	const char *p = path;

	for (;;) {
		size_t k = strcspn(p, "/");

		if (k == 0 || (k == 1 && p[0] == '.') || (k == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (p[k] == '\0')
			return 1;
		p += k + 1;
	}
}

/* The folders chosen: each once, the sent folder among them; their local
 * names stay inside the account's directory (a name with none, such as ""
 * from a quoted name with a NUL, fails that folder's sync with a message). */
static void
im_list(struct pl_imap *c, int all)
{
	static char *some[] = { "INBOX", "Archive/2026", "Sent" }, *star[] = { "*" };
	struct pl_account a;
	struct imap_listing l;
	struct imap_want *v;
	struct pl_err e;
	const char *sent;
	size_t n;

	if (imap_list_folders(c, &l, &e) < 0) {
		CHECK(strncmp(e.msg, "imap imap.test: ", 16) == 0);
		return;
	}
	memset(&a, 0, sizeof a);
	a.folders = all ? star : some;
	a.nfolders = all ? 1 : 3;
	sent = imap_choose_folders(&a, &l, &v, &n);
	CHECK(sent != NULL && n >= 1);
	for (size_t i = 0; i < n; i++) {
		char *local = pl_folder_local(v[i].name, l.delim);

		if (sent && !strcmp(v[i].name, sent))
			sent = NULL;
		for (size_t k = 0; k < i; k++)
			CHECK(strcmp(v[k].name, v[i].name) != 0);
		CHECK(local == NULL || im_inside(local));
		free(local);
	}
	CHECK(sent == NULL);
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	imap_listing_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libetpan.so\n";
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct pl_account acct;
	struct fz_mem mem = { 0 };
	struct pl_imap c;
	uint8_t *copy;
	const uint8_t *lf;
	int r;

	if (n < 2 || im_huge_literal(d, n))
		return 0;
	memset(&acct, 0, sizeof acct);
	acct.host = "imap.test";
	memset(&c, 0, sizeof c);
	c.acct = &acct;
	mem.chunk = (size_t)d[0] + 1;
	/* The greeting as netstream.c hands it to libetpan (without a response
	 * code other than CAPABILITY: libetpan crashes on some). */
	copy = xmalloc(n - 2 + 1);
	memcpy(copy, d + 2, n - 2);
	mem.p = copy;
	mem.n = n - 2;
	if ((lf = memchr(copy, '\n', mem.n)) != NULL) {
		size_t line = (size_t)(lf - copy) + 1;
		size_t clean = pl_imap_greeting_clean((char *)copy, line);

		memmove(copy + clean, copy + line, mem.n - line);
		mem.n -= line - clean;
	}
	c.im = mailimap_new(0, NULL);
	CHECK(c.im != NULL);
	r = mailimap_connect(c.im, fz_mem_stream(&mem));
	if (r == MAILIMAP_NO_ERROR_AUTHENTICATED || r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
		/* As after LOGIN and SELECT: every command may be sent. */
		c.im->imap_state = MAILIMAP_STATE_SELECTED;
		switch (d[1] % 10) {
		case 0: case 1: case 2: im_flags_fetch(&c, d[1] % 10); break;
		case 3: im_select(&c, 1); break;
		case 4: im_select(&c, 0); break;
		case 5: im_bodies(&c); break;
		case 6: im_append(&c); break;
		case 7: im_search(&c); break;
		default: im_list(&c, d[1] % 10 == 8); break;
		}
	}
	/* As the engine ends a session: LOGOUT unless it died, which reads
	 * whatever the input still holds. */
	pl_imap_close(&c);
	free(copy);
	return 0;
}
