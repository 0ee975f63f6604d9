/* imap_folder.c — syncing one IMAP folder with its Maildir folder.
 *
 * The steps, in this order (crash safety: see syncstate.h):
 *   1. the local side: folder, state, list of files;
 *   2. SELECT (CONDSTORE when the server has it); a new UIDVALIDITY
 *      re-matched by Message-ID (imap_resync.c);
 *   3. files a crashed run stored (inside an intent, right size) adopted;
 *      messages still waiting for the index queued again;
 *   4. local deletions: \Deleted and UID EXPUNGE on the server;
 *   5. remote changes — UID FETCH (CHANGEDSINCE m VANISHED) with QRESYNC,
 *      CHANGEDSINCE and a UID SEARCH when the count is off with CONDSTORE,
 *      every message's flags otherwise — merged three ways with the flags
 *      of the last sync: STOREs first, then the local renames;
 *   6. local-only files APPENDed (renamed to their APPENDUID);
 *   7. new messages fetched in batches: intent, fetch, store, sync, index,
 *      journal.
 * An upload-only folder (the sent folder outside the synced list) does 1
 * and 6 only. */
#include "imap_folder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "maildir.h"
#include "sync.h"
#include "syncstate.h"

/* ---- small helpers ---- */

void
imap_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

void
imap_fpath(const struct fsync *f, const struct pl_mfile *m, char *out, size_t len)
{
	snprintf(out, len, "%s/%s/%s", f->dir, m->in_new ? "new" : "cur", m->name);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_rflag(const void *a, const void *b)
{
	return cmp_u32(&((const struct rflag *)a)->uid, &((const struct rflag *)b)->uid);
}

int
imap_cmp_mfile(const void *a, const void *b)
{
	const struct pl_mfile *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key;
}

static int
has_u32(const uint32_t *v, size_t n, uint32_t x)
{
	return n > 0 && bsearch(&x, v, n, sizeof *v, cmp_u32) != NULL;
}

void
imap_push_u32(uint32_t **v, size_t *n, size_t *cap, uint32_t x)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xrealloc(*v, *cap * sizeof **v);
	}
	(*v)[(*n)++] = x;
}

/* The live (not gone) file of a UID, or NULL. */
static struct pl_mfile *
file_of(struct fsync *f, uint64_t uid)
{
	struct pl_mfile *m = pl_mfile_find(f->files, f->nfiles, 'U', uid), *end;

	/* the first live one among those with this UID (a file renamed away
	 * or removed by this run may share it) */
	for (end = f->files + f->nfiles; m && m < end && m->kind == 'U' && m->key == uid; m++)
		if (!f->gone[m - f->files])
			return m;
	return NULL;
}

static void
reap(struct fsync *f, int wait)
{
	struct pl_ix_done *d = NULL;
	size_t n = 0, i;

	pl_ix_reap(f->s->ix, wait, &d, &n);
	for (i = 0; i < n; i++)
		pl_ix_journal(&d[i]);
	free(d);
}

struct mailimap_fetch_type *
imap_fetch_type(int uid, int flags, int size, int body, int msgid)
{
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();

	if (uid)
		mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	if (flags)
		mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_flags());
	if (size)
		mailimap_fetch_type_new_fetch_att_list_add(ft,
		    mailimap_fetch_att_new_rfc822_size());
	if (body)
		mailimap_fetch_type_new_fetch_att_list_add(ft,
		    mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL)));
	if (msgid) {
		clist *h = clist_new();

		clist_append(h, strdup("MESSAGE-ID"));
		mailimap_fetch_type_new_fetch_att_list_add(ft,
		    mailimap_fetch_att_new_body_peek_section(
		    mailimap_section_new_header_fields(mailimap_header_list_new(h))));
	}
	return ft;
}

/* UID STORE ±FLAGS.SILENT (flags) on uids (sorted), in commands of at
 * most SET_RANGES ranges. */
static int
store(struct fsync *f, const uint32_t *uids, size_t n, int add, unsigned flags,
    struct pl_err *e)
{
	struct mailimap_set *set;
	size_t pos = 0, from = 0;

	while ((set = pl_imap_uid_set(uids, n, &pos, SET_RANGES)) != NULL) {
		struct mailimap_flag_list *fl = pl_imap_flag_list(flags);
		struct mailimap_store_att_flags *sa = add
		    ? mailimap_store_att_flags_new_add_flags_silent(fl)
		    : mailimap_store_att_flags_new_remove_flags_silent(fl);
		int r;

		/* .SILENT, but others' changes may come along */
		pl_imap_budget_msgs(f->c, pos - from, PL_IMAP_MSG_BYTES);
		from = pos;
		r = mailimap_uid_store(f->c->im, set, sa);

		mailimap_store_att_flags_free(sa);
		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR)
			return pl_imap_fail(f->c, e, r, "storing flags in %s", f->name);
	}
	return 0;
}

static int
expunge(struct fsync *f, const uint32_t *uids, size_t n, struct pl_err *e)
{
	struct mailimap_set *set;
	size_t pos = 0, from = 0;

	if (!(f->c->caps & PL_CAP_UIDPLUS))
		return 0;	/* left flagged \Deleted */
	while ((set = pl_imap_uid_set(uids, n, &pos, SET_RANGES)) != NULL) {
		int r;

		pl_imap_budget_msgs(f->c, pos - from, PL_IMAP_MSG_BYTES);
		from = pos;
		r = mailimap_uid_expunge(f->c->im, set);

		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR)
			return pl_imap_fail(f->c, e, r, "expunging in %s", f->name);
	}
	return 0;
}

/* A new UIDVALIDITY: no message, MODSEQ or UIDNEXT of the old one
 * counts. */
void
imap_new_uidvalidity(struct fsync *f, uint32_t uv)
{
	pl_sstate_set_uidvalidity(&f->st, uv);
	if (f->st.highestmodseq)
		pl_sstate_set_modseq(&f->st, 0);
	if (f->st.uidnext)
		pl_sstate_set_uidnext(&f->st, 0);
}

/* ---- SELECT ---- */

void
imap_take_fetch(struct fsync *f, clist *res)
{
	clistiter *it;

	for (it = res ? clist_begin(res) : NULL; it; it = clist_next(it)) {
		struct pl_imap_msg m;

		pl_imap_msg_read(clist_content(it), &m);
		if (m.uid == 0 || !m.has_flags)
			continue;
		if (f->nrem == f->caprem) {
			f->caprem = f->caprem ? f->caprem * 2 : 64;
			f->rem = xrealloc(f->rem, f->caprem * sizeof *f->rem);
		}
		f->rem[f->nrem].uid = m.uid;
		f->rem[f->nrem].flags = m.flags;
		f->nrem++;
	}
}

struct urange {
	uint32_t lo, hi;
};

static int
cmp_urange(const void *a, const void *b)
{
	const struct urange *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The ranges of one VANISHED response, "*" (0) read as the highest UID. */
static void
vanished_ranges(const struct mailimap_qresync_vanished *v, struct urange **r, size_t *n,
    size_t *cap)
{
	clistiter *si;

	if (v == NULL || v->qr_known_uids == NULL)
		return;
	for (si = clist_begin(v->qr_known_uids->set_list); si; si = clist_next(si)) {
		const struct mailimap_set_item *item = clist_content(si);
		uint32_t lo = item->set_first, hi = item->set_last;

		if (hi == 0)
			hi = UINT32_MAX;
		if (lo > hi) {
			uint32_t t = lo;
			lo = hi;
			hi = t;
		}
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*r = xrealloc(*r, *cap * sizeof **r);
		}
		(*r)[*n].lo = lo;
		(*r)[*n].hi = hi;
		(*n)++;
	}
}

/* The ranges are merged first and walked beside the sorted state once: a
 * server repeating "1:*" a million times, or sending a million VANISHED
 * responses, costs a sort, not a million passes over the state. */
void
imap_take_vanished(struct fsync *f, struct mailimap_qresync_vanished *first)
{
	struct mailimap_response_info *ri = f->c->im->imap_response_info;
	struct urange *r = NULL;
	size_t n = 0, cap = 0, m = 0, j = 0;
	clistiter *it;

	vanished_ranges(first, &r, &n, &cap);
	/* the others are still in the response info */
	for (it = ri ? clist_begin(ri->rsp_extension_list) : NULL; it; it = clist_next(it)) {
		struct mailimap_extension_data *x = clist_content(it);

		if (x->ext_extension->ext_id == MAILIMAP_EXTENSION_QRESYNC &&
		    x->ext_type == MAILIMAP_QRESYNC_TYPE_VANISHED && x->ext_data != NULL)
			vanished_ranges(x->ext_data, &r, &n, &cap);
	}
	imap_sort(r, n, sizeof *r, cmp_urange);
	for (size_t i = 0; i < n; i++) {	/* merge overlapping ranges */
		if (m > 0 && r[i].lo <= r[m - 1].hi) {
			if (r[i].hi > r[m - 1].hi)
				r[m - 1].hi = r[i].hi;
		} else {
			r[m++] = r[i];
		}
	}
	for (size_t i = 0; i < f->st.n && j < m; i++) {	/* state keys are sorted */
		uint64_t key = f->st.msgs[i].key;

		while (j < m && r[j].hi < key)
			j++;
		if (j < m && key >= r[j].lo)
			imap_push_u32(&f->van, &f->nvan, &f->capvan, (uint32_t)key);
	}
	free(r);
}

static int
do_select(struct fsync *f, struct pl_err *e)
{
	struct pl_imap *c = f->c;
	uint64_t modseq = 0;
	int r;

	/* Not mailimap_select_qresync: libetpan 1.9.4 sends "SELECT mb QRESYNC
	 * (…)" without the parentheses around the parameters, which Dovecot
	 * takes without a word and without the changes.  QRESYNC's changes
	 * come from UID FETCH … (CHANGEDSINCE n VANISHED) instead. */
	if (c->caps & PL_CAP_CONDSTORE) {
		r = mailimap_select_condstore(c->im, f->name, &modseq);
	} else {
		r = mailimap_select(c->im, f->name);
	}
	if (r != MAILIMAP_NO_ERROR || c->im->imap_selection_info == NULL)
		return pl_imap_fail(c, e, r == MAILIMAP_NO_ERROR ? MAILIMAP_ERROR_SELECT : r,
		    "selecting %s", f->name);
	f->selected = 1;
	f->uidvalidity = c->im->imap_selection_info->sel_uidvalidity;
	f->uidnext = c->im->imap_selection_info->sel_uidnext;
	f->exists = c->im->imap_selection_info->sel_exists;
	f->modseq = modseq;
	return 0;
}

/* ---- local state: adopt, retry the index ---- */

static void
adopt(struct fsync *f)
{
	size_t i;

	/* stored before, not indexed yet */
	for (i = 0; i < f->st.n; i++) {
		struct pl_mfile *m;
		char path[4096];

		if (!f->st.msgs[i].unindexed || (m = file_of(f, f->st.msgs[i].key)) == NULL)
			continue;
		imap_fpath(f, m, path, sizeof path);
		pl_ix_push(f->s->ix, PL_IX_ADD, path, NULL, &f->st, m->key, m->flags);
	}
	for (i = 0; i < f->nfiles; i++) {
		struct pl_mfile *m = &f->files[i];
		char path[4096];
		struct stat sb;

		if (m->kind != 'U' || f->gone[i] || pl_sstate_find(&f->st, m->key) ||
		    !pl_sstate_intended(&f->st, m->key))
			continue;
		imap_fpath(f, m, path, sizeof path);
		if (stat(path, &sb) == 0 && m->size >= 0 && sb.st_size == m->size) {
			pl_sstate_add(&f->st, m->key, m->flags, 1);
			pl_ix_push(f->s->ix, PL_IX_ADD, path, NULL, &f->st, m->key, m->flags);
		} else {
			/* a torn write: fetched again */
			unlink(path);
			pl_ix_push(f->s->ix, PL_IX_REMOVE, path, NULL, &f->st, 0, 0);
			f->gone[i] = 1;
		}
	}
}

/* ---- local deletions ---- */

static int
push_local_deletions(struct fsync *f, struct pl_err *e)
{
	uint32_t *del = NULL;
	size_t n = 0, cap = 0, i;
	int rc = 0;

	for (i = 0; i < f->st.n; i++)
		if (file_of(f, f->st.msgs[i].key) == NULL)
			imap_push_u32(&del, &n, &cap, (uint32_t)f->st.msgs[i].key);
	if (n == 0)
		return 0;
	if (store(f, del, n, 1, PL_FL_T, e) < 0 || expunge(f, del, n, e) < 0) {
		rc = -1;
	} else {
		char *d = xmalloc(strlen(f->dir) + 2);

		sprintf(d, "%s/", f->dir);	/* the file's name is unknown */
		for (i = 0; i < n; i++) {
			pl_sstate_remove(&f->st, del[i]);
			pl_ix_push(f->s->ix, PL_IX_REMOVE, d, NULL, &f->st, del[i], 0);
		}
		free(d);
		f->s->st.removed_out += n;
	}
	free(del);
	return rc;
}

/* ---- remote changes ---- */

static int
fetch_changes(struct fsync *f, struct pl_err *e)
{
	struct pl_imap *c = f->c;
	struct mailimap_set *set;
	struct mailimap_fetch_type *ft;
	clist *res = NULL;
	int r;

	f->upto = f->st.n ? (uint32_t)f->st.msgs[f->st.n - 1].key : 0;
	if (f->upto == 0)
		return 0;
	set = mailimap_set_new_interval(1, f->upto);
	ft = imap_fetch_type(1, 1, 0, 0, 0);
	/* VANISHED (EARLIER) can name each message we know */
	pl_imap_budget_msgs(c, (uint64_t)f->exists + f->st.n, PL_IMAP_MSG_BYTES);
	if (c->qresync && f->st.highestmodseq && f->modseq) {
		struct mailimap_qresync_vanished *v = NULL;

		r = mailimap_uid_fetch_qresync(c->im, set, ft, f->st.highestmodseq, &res, &v);
		if (r == MAILIMAP_NO_ERROR) {
			imap_take_vanished(f, v);
			if (v)
				mailimap_qresync_vanished_free(v);
		}
		f->full = 0;
		f->have_van_list = 1;	/* VANISHED (EARLIER) told us */
	} else if ((c->caps & PL_CAP_CONDSTORE) && f->st.highestmodseq && f->modseq) {
		r = mailimap_uid_fetch_changedsince(c->im, set, ft, f->st.highestmodseq, &res);
		f->full = 0;
	} else {
		r = mailimap_uid_fetch(c->im, set, ft, &res);
		f->full = 1;
	}
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR)
		return pl_imap_fail(c, e, r, "fetching flags of %s", f->name);
	imap_take_fetch(f, res);
	mailimap_fetch_list_free(res);
	if (!f->full && !f->have_van_list && f->exists != f->st.n) {
		/* CONDSTORE only: did messages go?  The UIDs still there. */
		struct mailimap_search_key *key =
		    mailimap_search_key_new_uid(mailimap_set_new_interval(1, f->upto));
		clist *found = NULL;
		clistiter *it;
		uint32_t *present = NULL;
		size_t np = 0, cap = 0, i;

		pl_imap_budget_msgs(c, f->exists, PL_IMAP_MSG_BYTES);
		r = mailimap_uid_search(c->im, NULL, key, &found);
		mailimap_search_key_free(key);
		if (r != MAILIMAP_NO_ERROR)
			return pl_imap_fail(c, e, r, "listing the messages of %s", f->name);
		for (it = clist_begin(found); it; it = clist_next(it))
			imap_push_u32(&present, &np, &cap, *(uint32_t *)clist_content(it));
		mailimap_search_result_free(found);
		imap_sort(present, np, sizeof *present, cmp_u32);
		for (i = 0; i < f->st.n; i++)
			if (!has_u32(present, np, (uint32_t)f->st.msgs[i].key))
				imap_push_u32(&f->van, &f->nvan, &f->capvan, (uint32_t)f->st.msgs[i].key);
		free(present);
	}
	return 0;
}

struct action {
	uint32_t uid;
	unsigned merged, local, base;
	enum { A_FLAGS, A_DELETE, A_GONE } what;
	int from_server;	/* the server changed it (stats) */
};

static int
merge_changes(struct fsync *f, struct pl_err *e)
{
	struct action *act = NULL;
	size_t nact = 0, i, b;
	uint32_t *plus[6] = { 0 }, *minus[6] = { 0 }, *del = NULL, *delflag = NULL;
	size_t nplus[6] = { 0 }, cplus[6] = { 0 }, nminus[6] = { 0 }, cminus[6] = { 0 };
	size_t ndel = 0, cdel = 0, ndf = 0, cdf = 0;
	int rc = -1;

	imap_sort(f->rem, f->nrem, sizeof *f->rem, cmp_rflag);
	imap_sort(f->van, f->nvan, sizeof *f->van, cmp_u32);
	act = xcalloc(f->st.n ? f->st.n : 1, sizeof *act);
	for (i = 0; i < f->st.n; i++) {
		struct pl_smsg *sm = &f->st.msgs[i];
		struct pl_mfile *m = file_of(f, sm->key);
		struct rflag k = { .uid = (uint32_t)sm->key }, *rf;
		unsigned remote;
		struct action *a = &act[nact];

		if (m == NULL || sm->key > f->upto)
			continue;
		rf = f->nrem ? bsearch(&k, f->rem, f->nrem, sizeof *f->rem, cmp_rflag) : NULL;
		a->uid = (uint32_t)sm->key;
		a->base = sm->flags;
		a->local = m->flags;
		if (has_u32(f->van, f->nvan, a->uid) || (f->full && rf == NULL)) {
			a->what = A_GONE;
			nact++;
			continue;
		}
		remote = rf ? rf->flags : sm->flags;
		a->merged = pl_flags_merge(sm->flags, m->flags, remote);
		a->from_server = remote != sm->flags;
		if (a->merged & PL_FL_T) {
			a->what = A_DELETE;
			if (!(remote & PL_FL_T))
				imap_push_u32(&delflag, &ndf, &cdf, a->uid);
			imap_push_u32(&del, &ndel, &cdel, a->uid);
			nact++;
			continue;
		}
		if (a->merged == a->local && a->merged == a->base && remote == a->base)
			continue;
		a->what = A_FLAGS;
		for (b = 0; b < 6; b++) {
			unsigned bit = 1u << b;

			if ((a->merged & bit) && !(remote & bit))
				imap_push_u32(&plus[b], &nplus[b], &cplus[b], a->uid);
			else if (!(a->merged & bit) && (remote & bit))
				imap_push_u32(&minus[b], &nminus[b], &cminus[b], a->uid);
		}
		if (a->merged != remote)
			f->s->st.flags_out++;
		nact++;
	}
	/* the server first: when it refuses, nothing local has changed */
	for (b = 0; b < 6; b++) {
		if (nplus[b] && store(f, plus[b], nplus[b], 1, 1u << b, e) < 0)
			goto out;
		if (nminus[b] && store(f, minus[b], nminus[b], 0, 1u << b, e) < 0)
			goto out;
	}
	if (ndf && store(f, delflag, ndf, 1, PL_FL_T, e) < 0)
		goto out;
	if (ndel && expunge(f, del, ndel, e) < 0)
		goto out;
	for (i = 0; i < nact; i++) {
		struct action *a = &act[i];
		struct pl_mfile *m = file_of(f, a->uid);
		char path[4096], npath[4096], nname[512];

		if (m == NULL)
			continue;
		imap_fpath(f, m, path, sizeof path);
		if (a->what == A_GONE || a->what == A_DELETE) {
			if (unlink(path) < 0 && errno != ENOENT)
				continue;
			f->gone[m - f->files] = 1;
			pl_ix_push(f->s->ix, PL_IX_REMOVE, path, NULL, &f->st, a->uid, 0);
			if (a->what == A_GONE || (a->from_server && !(a->local & PL_FL_T)))
				f->s->st.removed_in++;
			else
				f->s->st.removed_out++;
			continue;
		}
		if (a->merged != a->local || m->in_new) {
			pl_mfile_rename(nname, sizeof nname, m->name, a->merged);
			snprintf(npath, sizeof npath, "%s/cur/%s", f->dir, nname);
			if (rename(path, npath) < 0) {
				pl_errf(e, EX_IOERR, "%s: cannot rename to %s: %s", path, npath,
				    strerror(errno));
				goto out;
			}
			pl_ix_push(f->s->ix, PL_IX_RENAME, path, npath, &f->st, a->uid, a->merged);
			free(m->name);
			m->name = xstrdup(nname);
			m->in_new = 0;
			m->flags = a->merged;
			if (a->from_server)
				f->s->st.flags_in++;
		} else if (a->merged != a->base) {
			pl_sstate_set_flags(&f->st, a->uid, a->merged);
		}
	}
	/* expunged on the server while the file was already gone here */
	for (i = 0; i < f->nvan; i++)
		if (file_of(f, f->van[i]) == NULL && pl_sstate_find(&f->st, f->van[i]))
			pl_sstate_remove(&f->st, f->van[i]);
	rc = 0;
out:
	for (b = 0; b < 6; b++) {
		free(plus[b]);
		free(minus[b]);
	}
	free(del);
	free(delflag);
	free(act);
	return rc;
}

/* ---- uploads ---- */

static int
local_only(struct fsync *f, size_t i)
{
	struct pl_mfile *m = &f->files[i];

	if (f->gone[i])
		return 0;
	if (m->kind == 0)
		return 1;
	if (m->kind != 'U')
		return 0;
	if (pl_sstate_intended(&f->st, m->key))
		return 0;
	/* two files with one UID: the first is the synced one */
	if (file_of(f, m->key) != m)
		return 1;
	return pl_sstate_find(&f->st, m->key) == NULL;
}

static int
append_one(struct fsync *f, size_t i, struct pl_err *e)
{
	struct pl_imap *c = f->c;
	struct pl_mfile *m = &f->files[i];
	char path[4096], nname[512], npath[4096];
	char *data = NULL;
	size_t len = 0;
	struct buf crlf = { 0 };
	struct stat sb;
	struct mailimap_flag_list *fl;
	struct mailimap_date_time *dt = NULL;
	uint32_t uv = 0, uid = 0;
	int r, tries;

	imap_fpath(f, m, path, sizeof path);
	if (pl_read_file(path, MAX_UPLOAD, &data, &len) < 0) {
		if (errno == ENOENT)
			return 0;
		return pl_errf(e, EX_IOERR, "%s: cannot read: %s", path, strerror(errno));
	}
	if (stat(path, &sb) == 0) {
		struct tm tm;
		time_t t = sb.st_mtime;

		if (gmtime_r(&t, &tm))
			dt = mailimap_date_time_new(tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900,
			    tm.tm_hour, tm.tm_min, tm.tm_sec, 0);
	}
	pl_lf_to_crlf(data, len, &crlf);
	free(data);
	fl = pl_imap_flag_list(m->flags & ~PL_FL_T);
	for (tries = 0;; tries++) {
		r = mailimap_uidplus_append(c->im, f->name, fl, dt, crlf.p, crlf.len, &uv, &uid);
		if (r == MAILIMAP_NO_ERROR || tries > 0 || pl_imap_fatal(r) ||
		    !c->im->imap_response_info || !c->im->imap_response_info->rsp_trycreate)
			break;
		if (mailimap_create(c->im, f->name) != MAILIMAP_NO_ERROR)
			break;
	}
	mailimap_flag_list_free(fl);
	if (dt)
		mailimap_date_time_free(dt);
	buf_free(&crlf);
	if (r != MAILIMAP_NO_ERROR)
		return pl_imap_fail(c, e, r, "uploading %s to %s", m->name, f->name);
	f->s->st.uploaded++;
	if ((c->caps & PL_CAP_UIDPLUS) && uid && uv) {
		if (f->st.uidvalidity != uv)
			imap_new_uidvalidity(f, uv);	/* upload-only folders */
		pl_mfile_with_key(nname, sizeof nname, m->name, 'U', uid, (long long)len,
		    m->flags);
		snprintf(npath, sizeof npath, "%s/cur/%s", f->dir, nname);
		/* Recorded as intended first: a crash right after the rename
		 * leaves a file the next sync adopts, not one it uploads again. */
		if (pl_sstate_intent(&f->st, uid, uid, e) < 0)
			return -1;
		if (rename(path, npath) < 0)
			return pl_errf(e, EX_IOERR, "%s: cannot rename to %s: %s", path, npath,
			    strerror(errno));
		pl_sstate_add(&f->st, uid, m->flags, 0);
		pl_ix_push(f->s->ix, PL_IX_RENAME, path, npath, &f->st, uid, m->flags);
		f->gone[i] = 1;
		return pl_sstate_flush(&f->st, e);
	}
	/* no APPENDUID: the fetch of new messages brings it back */
	if (unlink(path) == 0)
		pl_ix_push(f->s->ix, PL_IX_REMOVE, path, NULL, &f->st, 0, 0);
	f->gone[i] = 1;
	return 0;
}

static int
upload(struct fsync *f, struct pl_err *e)
{
	size_t i;

	if (f->inbox && !f->s->acct->bounces_to_server)
		return 0;	/* paloma's own reports stay local */
	for (i = 0; i < f->nfiles; i++) {
		if (!local_only(f, i) || (f->files[i].flags & PL_FL_T))
			continue;
		if (append_one(f, i, e) < 0)
			return -1;
	}
	return 0;
}

/* ---- new messages ---- */

static int
cmp_newmsg(const void *a, const void *b)
{
	return cmp_u32(&((const struct newmsg *)a)->uid, &((const struct newmsg *)b)->uid);
}

static int
fetch_batch(struct fsync *f, const struct newmsg *nm, size_t n, unsigned long *done,
    unsigned long long *done_bytes, struct pl_err *e)
{
	uint32_t *uids = xmalloc(n * sizeof *uids);
	uint64_t bytes = 0;
	struct mailimap_set *set;
	struct mailimap_fetch_type *ft;
	clist *res = NULL;
	clistiter *it;
	struct {
		uint32_t uid;
		unsigned flags;
		char *path;
	} *got = xcalloc(n, sizeof *got);
	size_t ngot = 0, i, pos = 0;
	int r, rc = -1;

	for (i = 0; i < n; i++) {
		uids[i] = nm[i].uid;
		bytes += nm[i].size;
	}
	if (pl_sstate_intent(&f->st, uids[0], uids[n - 1], e) < 0)
		goto out;
	set = pl_imap_uid_set(uids, n, &pos, SIZE_MAX);
	ft = imap_fetch_type(1, 1, 0, 1, 0);
	pl_imap_budget_bodies(f->c, n, bytes);
	r = mailimap_uid_fetch(f->c->im, set, ft, &res);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR) {
		pl_imap_fail(f->c, e, r, "fetching %s", f->name);
		goto out;
	}
	rc = 0;
	for (it = clist_begin(res); it; it = clist_next(it)) {
		struct pl_imap_msg m;
		char name[512], path[4096];

		pl_imap_msg_read(clist_content(it), &m);
		if (m.uid == 0 || m.body == NULL || !has_u32(uids, n, m.uid) ||
		    (m.flags & PL_FL_T) || pl_sstate_find(&f->st, m.uid))
			continue;
		for (i = 0; i < ngot && got[i].uid != m.uid; i++)
			;
		if (i < ngot)
			continue;	/* the same message twice, stored once */
		if (ngot == n)
			break;
		if (pl_mfile_store(f->dir, 'U', m.uid, m.flags, m.body, m.body_len, 1, name,
		    sizeof name, e) < 0) {
			rc = -1;
			break;
		}
		snprintf(path, sizeof path, "%s/cur/%s", f->dir, name);
		got[ngot].uid = m.uid;
		got[ngot].flags = m.flags;
		got[ngot].path = xstrdup(path);
		ngot++;
		*done_bytes += m.body_len;
		f->s->st.bytes += m.body_len;
	}
	mailimap_fetch_list_free(res);
	res = NULL;
	if (ngot) {
		struct pl_err se;

		if (pl_folder_sync(f->dir, &se) < 0) {
			if (rc == 0)
				*e = se;
			rc = -1;
			/* not durable: leave them to the next run's adoption check */
		} else {
			for (i = 0; i < ngot; i++)
				pl_ix_push(f->s->ix, PL_IX_ADD, got[i].path, NULL, &f->st,
				    got[i].uid, got[i].flags);
		}
	}
	*done += n;
	f->s->st.fetched += ngot;
	reap(f, 0);
	if (pl_sstate_flush(&f->st, rc == 0 ? e : NULL) < 0)
		rc = -1;
out:
	for (i = 0; i < ngot; i++)
		free(got[i].path);
	free(got);
	free(uids);
	return rc;
}

static int
fetch_new(struct fsync *f, uint32_t boundary, uint32_t *listed_max, struct pl_err *e)
{
	struct pl_imap *c = f->c;
	struct mailimap_set *set;
	struct mailimap_fetch_type *ft;
	clist *res = NULL;
	clistiter *it;
	struct newmsg *nm = NULL;
	size_t n = 0, cap = 0, i;
	unsigned long long total_bytes = 0, done_bytes = 0;
	unsigned long done = 0;
	int r, rc = 0;

	*listed_max = 0;
	if (f->exists > 0) {
		set = mailimap_set_new_interval(boundary + 1, 0);
		ft = imap_fetch_type(1, 1, 1, 0, 0);
		pl_imap_budget_msgs(c, f->exists, PL_IMAP_MSG_BYTES);
		r = mailimap_uid_fetch(c->im, set, ft, &res);
		mailimap_fetch_type_free(ft);
		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR)
			return pl_imap_fail(c, e, r, "listing new messages of %s", f->name);
		for (it = clist_begin(res); it; it = clist_next(it)) {
			struct pl_imap_msg m;

			pl_imap_msg_read(clist_content(it), &m);
			/* "n:*" gives the last message even below n */
			if (m.uid <= boundary)
				continue;
			if (m.uid > *listed_max)
				*listed_max = m.uid;
			if ((m.flags & PL_FL_T) || pl_sstate_find(&f->st, m.uid))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				nm = xrealloc(nm, cap * sizeof *nm);
			}
			nm[n].uid = m.uid;
			nm[n].size = m.size;
			n++;
			total_bytes += m.size;
		}
		mailimap_fetch_list_free(res);
	}
	imap_sort(nm, n, sizeof *nm, cmp_newmsg);
	if (f->s->progress)
		f->s->progress(f->s, f->name, 0, n, 0, total_bytes);
	for (i = 0; i < n && rc == 0;) {
		size_t j = i;
		unsigned long long bytes = 0;

		while (j < n && (j == i || (j - i < BATCH_MSGS && bytes + nm[j].size <= BATCH_BYTES)))
			bytes += nm[j++].size;
		rc = fetch_batch(f, nm + i, j - i, &done, &done_bytes, e);
		if (f->s->progress)
			f->s->progress(f->s, f->name, done, n, done_bytes, total_bytes);
		i = j;
	}
	free(nm);
	return rc;
}

/* ---- one folder ---- */

static int
prepare(struct fsync *f, const char *local, struct pl_err *e)
{
	if (pl_maildir_ensure(f->dir, e) < 0)
		return -1;
	if (pl_sstate_open(&f->st, f->s->state_dir, local, e) < 0)
		return -1;
	f->st_open = 1;
	if (pl_folder_scan(f->dir, &f->files, &f->nfiles, e) < 0)
		return -1;
	f->gone = xcalloc(f->nfiles ? f->nfiles : 1, 1);
	return 0;
}

static int
finish(struct fsync *f, int ok, uint32_t listed_max, struct pl_err *e)
{
	struct pl_err e2 = { 0 };
	int rc = 0;

	reap(f, 1);
	if (ok && f->selected && !f->upload_only) {
		uint32_t next = f->uidnext;

		if (listed_max >= next)
			next = listed_max + 1;
		if (next > f->st.uidnext)
			pl_sstate_set_uidnext(&f->st, next);
		if (f->modseq != f->st.highestmodseq)
			pl_sstate_set_modseq(&f->st, f->modseq);
	}
	if (pl_sstate_flush(&f->st, &e2) < 0 ||
	    (ok && f->st.jlines > 0 && pl_sstate_compact(&f->st, &e2) < 0)) {
		if (ok)
			*e = e2;
		rc = -1;
	}
	return rc;
}

int
pl_imap_sync_folder(struct pl_sync *s, struct pl_imap *c, const char *name, char delim,
    int upload_only, struct pl_err *e)
{
	struct fsync f;
	char *local = pl_folder_local(name, delim);
	uint32_t boundary, listed_max = 0;
	size_t i;
	int ok = 0, rc = -1, any_local = 0;

	memset(&f, 0, sizeof f);
	f.s = s;
	f.c = c;
	f.name = name;
	f.upload_only = upload_only && !(c->caps & PL_CAP_UIDPLUS) ? 0 : upload_only;
	f.inbox = !ascii_casecmp(name, "INBOX");
	if (local == NULL)
		return pl_errf(e, EX_DATAERR, "imap %s: folder name %s is not valid "
		    "modified UTF-7", s->acct->host, name);
	f.dir = xmalloc(strlen(s->account_dir) + strlen(local) + 2);
	sprintf(f.dir, "%s/%s", s->account_dir, local);
	if (prepare(&f, local, e) < 0)
		goto out;

	if (f.upload_only) {
		for (i = 0; i < f.nfiles; i++)
			any_local |= local_only(&f, i) && !(f.files[i].flags & PL_FL_T);
		if (s->progress)
			s->progress(s, name, 0, 0, 0, 0);
		ok = !any_local || upload(&f, e) == 0;
		goto done;
	}
	if (do_select(&f, e) < 0)
		goto done;
	if (f.st.uidvalidity != f.uidvalidity) {
		int any_u = 0;

		for (i = 0; i < f.nfiles; i++)
			any_u |= f.files[i].kind == 'U';
		if (f.st.uidvalidity != 0 || any_u) {
			if (imap_resync(&f, e) < 0)
				goto done;
		} else {
			imap_new_uidvalidity(&f, f.uidvalidity);
		}
	}
	adopt(&f);
	if (push_local_deletions(&f, e) < 0)
		goto done;
	if (fetch_changes(&f, e) < 0 || merge_changes(&f, e) < 0)
		goto done;
	reap(&f, 0);
	if (pl_sstate_flush(&f.st, e) < 0)
		goto done;
	/* the highest UID known before uploads add theirs */
	boundary = f.st.n ? (uint32_t)f.st.msgs[f.st.n - 1].key : 0;
	if (f.st.uidnext > 0 && f.st.uidnext - 1 > boundary)
		boundary = f.st.uidnext - 1;
	if (upload(&f, e) < 0)
		goto done;
	if (fetch_new(&f, boundary, &listed_max, e) < 0)
		goto done;
	ok = 1;
done:
	if (f.st_open) {
		rc = finish(&f, ok, listed_max, e);
		if (!ok)
			rc = -1;
		pl_sstate_close(&f.st);
	}
	/* an upload-only folder counts when it had something to upload */
	if (ok && rc == 0 && (!f.upload_only || any_local))
		s->st.folders++;
out:
	pl_mfiles_free(f.files, f.nfiles);
	free(f.gone);
	free(f.rem);
	free(f.van);
	free(f.dir);
	free(local);
	return rc;
}
