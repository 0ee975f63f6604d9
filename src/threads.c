/* threads.c — the client's view of the notmuch database: a query's
 * threads loaded lazily, a thread's messages in order, and tag changes
 * that rename the files so the next sync pushes them (see threads.h). */
#include "threads.h"

#include <errno.h>
#include <fcntl.h>
#include <notmuch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index.h"
#include "sync.h"
#include "syncstate.h"

struct pl_query {
	char *db_path, *query;
	notmuch_database_t *db;
	notmuch_query_t *nq;
	notmuch_threads_t *it;	/* NULL once exhausted */
	struct pl_thread *t;
	size_t n, cap;
	int complete;
};

static int
nm_fail(struct pl_err *e, int code, notmuch_database_t *db, notmuch_status_t st,
    const char *what, const char *root)
{
	const char *s = db ? notmuch_database_status_string(db) : NULL;
	char why[512];

	pl_index_detail(why, sizeof why, st, s ? xstrdup(s) : NULL);
	return pl_errf(e, code, "%s (notmuch database in %s): %s", what, root, why);
}

static int
open_ro(const char *root, notmuch_database_t **db, struct pl_err *e)
{
	notmuch_status_t st;
	char *msg = NULL, why[512];

	/* No config file, as index.c: ~/.notmuch-config must not redirect us. */
	st = notmuch_database_open_with_config(root, NOTMUCH_DATABASE_MODE_READ_ONLY, "",
	    NULL, db, &msg);
	if (st == NOTMUCH_STATUS_SUCCESS) {
		free(msg);
		return 0;
	}
	pl_index_detail(why, sizeof why, st, msg);
	if (st == NOTMUCH_STATUS_NO_DATABASE || st == NOTMUCH_STATUS_FILE_ERROR)
		return pl_errf(e, EX_NOINPUT, "no mail database in %s yet (run paloma sync): %s",
		    root, why);
	return pl_errf(e, EX_IOERR, "cannot open the notmuch database in %s: %s", root, why);
}

static char **
tags_list(notmuch_tags_t *t)
{
	char **v = NULL;
	size_t n = 0;

	/* notmuch gives tags in term order, that is sorted. */
	for (; notmuch_tags_valid(t); notmuch_tags_move_to_next(t)) {
		v = xrealloc(v, (n + 2) * sizeof *v);
		v[n++] = xstrdup(notmuch_tags_get(t));
	}
	notmuch_tags_destroy(t);
	if (v == NULL)
		v = xcalloc(1, sizeof *v);
	v[n] = NULL;
	return v;
}

static void
free_list(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static int
has(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return 1;
	return 0;
}

static void
clear_loaded(struct pl_query *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->t[i].id);
		free(q->t[i].authors);
		free(q->t[i].subject);
		free_list(q->t[i].tags);
	}
	free(q->t);
	q->t = NULL;
	q->n = q->cap = 0;
	q->complete = 0;
}

static void
drop_db(struct pl_query *q)
{
	if (q->it)
		notmuch_threads_destroy(q->it);
	if (q->nq)
		notmuch_query_destroy(q->nq);
	if (q->db)
		notmuch_database_destroy(q->db);
	q->it = NULL;
	q->nq = NULL;
	q->db = NULL;
}

/* Opens the database and starts the thread search; a query notmuch cannot
 * parse fails here, when the search starts, not when it is created. */
static int
start(struct pl_query *q, struct pl_err *e)
{
	notmuch_status_t st;

	if (open_ro(q->db_path, &q->db, e) < 0)
		return -1;
	if ((q->nq = notmuch_query_create(q->db, q->query)) == NULL) {
		drop_db(q);
		return pl_errf(e, EX_SOFTWARE, "out of memory for the query");
	}
	notmuch_query_set_sort(q->nq, NOTMUCH_SORT_NEWEST_FIRST);
	st = notmuch_query_search_threads(q->nq, &q->it);
	if (st != NOTMUCH_STATUS_SUCCESS) {
		int code = st == NOTMUCH_STATUS_XAPIAN_EXCEPTION ||
		    st == NOTMUCH_STATUS_BAD_QUERY_SYNTAX ? EX_DATAERR : EX_IOERR;
		const char *s = notmuch_database_status_string(q->db);
		char why[512];

		pl_index_detail(why, sizeof why, st, s ? xstrdup(s) : NULL);
		q->it = NULL;
		drop_db(q);
		return pl_errf(e, code, "query '%s': %s", q->query, why);
	}
	return 0;
}

int
pl_threads_open(const char *db_path, const char *query, struct pl_query **out,
    struct pl_err *e)
{
	struct pl_query *q = xcalloc(1, sizeof *q);

	q->db_path = xstrdup(db_path);
	q->query = xstrdup(query && *query ? query : "*");
	if (start(q, e) < 0) {
		pl_threads_close(q);
		return -1;
	}
	*out = q;
	return 0;
}

static void
load_one(struct pl_query *q, notmuch_thread_t *th)
{
	struct pl_thread *t;
	const char *s;

	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 64;
		q->t = xrealloc(q->t, q->cap * sizeof *q->t);
	}
	t = &q->t[q->n++];
	t->id = xstrdup(notmuch_thread_get_thread_id(th));
	t->newest = notmuch_thread_get_newest_date(th);
	s = notmuch_thread_get_authors(th);
	t->authors = xstrdup(s ? s : "");
	/* notmuch separates the matching authors from the others with '|':
	 * for the reader it is one list. */
	for (char *p = t->authors; (p = strchr(p, '|')) != NULL; p++)
		*p = ',';
	s = notmuch_thread_get_subject(th);
	t->subject = xstrdup(s ? s : "");
	t->matched = notmuch_thread_get_matched_messages(th);
	t->total = notmuch_thread_get_total_messages(th);
	t->tags = tags_list(notmuch_thread_get_tags(th));
	t->unread = has(t->tags, "unread");
}

const struct pl_thread *
pl_threads_get(struct pl_query *q, size_t i)
{
	while (i >= q->n && !q->complete) {
		if (q->it == NULL || !notmuch_threads_valid(q->it)) {
			/* The end (or a database error, which notmuch reports as
			 * the end): what was loaded is all there is. */
			if (q->it)
				notmuch_threads_destroy(q->it);
			q->it = NULL;
			q->complete = 1;
			break;
		}
		notmuch_thread_t *th = notmuch_threads_get(q->it);
		if (th == NULL) {
			q->complete = 1;
			break;
		}
		load_one(q, th);
		/* Each thread's memory goes now: a long scroll must not keep
		 * every notmuch object alive until the query closes. */
		notmuch_thread_destroy(th);
		notmuch_threads_move_to_next(q->it);
	}
	return i < q->n ? &q->t[i] : NULL;
}

size_t
pl_threads_loaded(const struct pl_query *q, int *complete)
{
	if (complete)
		*complete = q->complete;
	return q->n;
}

size_t
pl_threads_count(struct pl_query *q)
{
	notmuch_query_t *c;
	unsigned n = 0;

	if (q->db == NULL || (c = notmuch_query_create(q->db, q->query)) == NULL)
		return q->n;
	if (notmuch_query_count_threads(c, &n) != NOTMUCH_STATUS_SUCCESS)
		n = (unsigned)q->n;
	notmuch_query_destroy(c);
	return n;
}

size_t
pl_threads_count_messages(struct pl_query *q)
{
	notmuch_query_t *c;
	unsigned n = 0;

	if (q->db == NULL || (c = notmuch_query_create(q->db, q->query)) == NULL)
		return 0;
	if (notmuch_query_count_messages(c, &n) != NOTMUCH_STATUS_SUCCESS)
		n = 0;
	notmuch_query_destroy(c);
	return n;
}

const char *
pl_threads_query(const struct pl_query *q)
{
	return q->query;
}

int
pl_threads_refresh(struct pl_query *q, struct pl_err *e)
{
	drop_db(q);
	clear_loaded(q);
	return start(q, e);
}

void
pl_threads_close(struct pl_query *q)
{
	if (q == NULL)
		return;
	drop_db(q);
	clear_loaded(q);
	free(q->db_path);
	free(q->query);
	free(q);
}

struct msgs {
	struct pl_tmsg *m;
	size_t n, cap;
};

static void
walk(struct msgs *out, notmuch_messages_t *ms, int depth)
{
	for (; notmuch_messages_valid(ms); notmuch_messages_move_to_next(ms)) {
		notmuch_message_t *m = notmuch_messages_get(ms);
		struct pl_tmsg *t;
		const char *s;

		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 16;
			out->m = xrealloc(out->m, out->cap * sizeof *out->m);
		}
		t = &out->m[out->n++];
		t->id = xstrdup(notmuch_message_get_message_id(m));
		s = notmuch_message_get_filename(m);
		t->path = xstrdup(s ? s : "");
		t->depth = depth;
		t->date = notmuch_message_get_date(m);
		s = notmuch_message_get_header(m, "from");
		t->from = xstrdup(s ? s : "");
		s = notmuch_message_get_header(m, "subject");
		t->subject = xstrdup(s ? s : "");
		t->tags = tags_list(notmuch_message_get_tags(m));
		{
			notmuch_bool_t match = FALSE;
			notmuch_message_get_flag_st(m, NOTMUCH_MESSAGE_FLAG_MATCH, &match);
			t->matched = match != 0;
		}
		walk(out, notmuch_message_get_replies(m), depth + 1);
		notmuch_message_destroy(m);
	}
}

/* The thread searched with (or without) the view's query, so that each
 * message knows whether it matches. */
static int
thread_msgs(struct pl_query *q, const char *qs, struct msgs *out, struct pl_err *e)
{
	notmuch_query_t *nq = notmuch_query_create(q->db, qs);
	notmuch_threads_t *ts;
	notmuch_status_t st;

	if (nq == NULL)
		return pl_errf(e, EX_SOFTWARE, "out of memory for the query");
	if ((st = notmuch_query_search_threads(nq, &ts)) != NOTMUCH_STATUS_SUCCESS) {
		notmuch_query_destroy(nq);
		return nm_fail(e, EX_IOERR, q->db, st, "cannot read a thread", q->db_path);
	}
	if (notmuch_threads_valid(ts)) {
		notmuch_thread_t *th = notmuch_threads_get(ts);
		walk(out, notmuch_thread_get_toplevel_messages(th), 0);
		notmuch_thread_destroy(th);
	}
	notmuch_query_destroy(nq);
	return 0;
}

int
pl_thread_messages(struct pl_query *q, const char *thread_id, struct pl_tmsg **out,
    size_t *n, struct pl_err *e)
{
	struct msgs m = { 0 };
	struct buf qs = { 0 };
	int rc;

	if (q->db == NULL && start(q, e) < 0)
		return -1;
	buf_printf(&qs, "thread:%s", thread_id);
	if (strcmp(q->query, "*") != 0)
		buf_printf(&qs, " and (%s)", q->query);
	rc = thread_msgs(q, qs.p, &m, e);
	if (rc == 0 && m.n == 0) {
		/* It no longer matches (archived since the list was drawn): the
		 * whole thread, all shown as matching. */
		qs.len = 0;
		buf_printf(&qs, "thread:%s", thread_id);
		rc = thread_msgs(q, qs.p, &m, e);
		for (size_t i = 0; i < m.n; i++)
			m.m[i].matched = 1;
	}
	buf_free(&qs);
	if (rc < 0) {
		pl_tmsgs_free(m.m, m.n);
		return -1;
	}
	if (m.n == 0)
		return pl_errf(e, EX_NOINPUT, "thread %s is gone from the database", thread_id);
	*out = m.m;
	*n = m.n;
	return 0;
}

void
pl_tmsgs_free(struct pl_tmsg *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].id);
		free(m[i].path);
		free(m[i].from);
		free(m[i].subject);
		free_list(m[i].tags);
	}
	free(m);
}

long
pl_count_messages(const char *db_path, const char *query, struct pl_err *e)
{
	notmuch_database_t *db;
	notmuch_query_t *q;
	notmuch_status_t st;
	unsigned n = 0;

	if (open_ro(db_path, &db, e) < 0)
		return -1;
	if ((q = notmuch_query_create(db, query && *query ? query : "*")) == NULL) {
		notmuch_database_destroy(db);
		return pl_errf(e, EX_SOFTWARE, "out of memory for the query");
	}
	st = notmuch_query_count_messages(q, &n);
	notmuch_query_destroy(q);
	if (st != NOTMUCH_STATUS_SUCCESS) {
		nm_fail(e, EX_DATAERR, db, st, "cannot count", db_path);
		notmuch_database_destroy(db);
		return -1;
	}
	notmuch_database_destroy(db);
	return (long)n;
}

unsigned long long
pl_db_stamp(const char *db_path)
{
	static const char *const names[] = { "iamglass", "iamchert", "." };
	char p[4200];
	struct stat st;

	/* Xapian rewrites its version file at every commit. */
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(p, sizeof p, "%s/.notmuch/xapian/%s", db_path, names[i]);
		if (stat(p, &st) == 0)
			return (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL +
			    (unsigned long long)st.st_mtim.tv_nsec + (unsigned long long)st.st_size +
			    (unsigned long long)st.st_ino * 7919ULL;
	}
	return 0;
}

/* ---- Tag changes ---------------------------------------------------- */

static int
check_tags(const char *const *v, struct pl_err *e)
{
	for (; v && *v; v++) {
		if (**v == '\0')
			return pl_errf(e, EX_DATAERR, "empty tag");
		if (strlen(*v) > NOTMUCH_TAG_MAX)
			return pl_errf(e, EX_DATAERR, "tag '%.40s…' is longer than %d bytes", *v,
			    NOTMUCH_TAG_MAX);
		for (const char *p = *v; *p; p++)
			if ((unsigned char)*p <= ' ' || *p == 0x7f)
				return pl_errf(e, EX_DATAERR, "tag '%s' has a space or control "
				    "character", *v);
	}
	return 0;
}

static void
push(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

/* Applies add/del to one message; records in ch what changed.  Files are
 * renamed only when something changed. */
static notmuch_status_t
retag(notmuch_database_t *db, notmuch_message_t *m, const char *const *add,
    const char *const *del, struct pl_tag_change *ch, const char *root, struct pl_err *e,
    int *rc)
{
	char **tags = tags_list(notmuch_message_get_tags(m));
	size_t na = 0, nr = 0;
	notmuch_status_t st;

	memset(ch, 0, sizeof *ch);
	st = notmuch_message_freeze(m);
	for (; st == NOTMUCH_STATUS_SUCCESS && add && *add; add++)
		if (!has(tags, *add) && !has(ch->added, *add)) {
			st = notmuch_message_add_tag(m, *add);
			push(&ch->added, &na, *add);
		}
	for (; st == NOTMUCH_STATUS_SUCCESS && del && *del; del++)
		if (has(tags, *del) && !has(ch->removed, *del) && !has(ch->added, *del)) {
			st = notmuch_message_remove_tag(m, *del);
			push(&ch->removed, &nr, *del);
		}
	free_list(tags);
	if (st == NOTMUCH_STATUS_SUCCESS)
		st = notmuch_message_thaw(m);
	if (st == NOTMUCH_STATUS_SUCCESS && na + nr > 0) {
		/* D F P R S by notmuch, then T ourselves. */
		st = notmuch_message_tags_to_maildir_flags(m);
		if (st == NOTMUCH_STATUS_SUCCESS && *rc == 0)
			*rc = pl_ix_deleted_to_names(db, m, root, e);
	}
	if (na + nr > 0)
		ch->id = xstrdup(notmuch_message_get_message_id(m));
	return st;
}

static void
change_free(struct pl_tag_change *c)
{
	free(c->id);
	free_list(c->added);
	free_list(c->removed);
}

void
pl_tag_undo_free(struct pl_tag_undo *u)
{
	if (u == NULL)
		return;
	for (size_t i = 0; i < u->n; i++)
		change_free(&u->c[i]);
	free(u->c);
	u->c = NULL;
	u->n = 0;
}

/* Closes a write session; the close commits, so its failure counts. */
static int
finish(notmuch_database_t *db, notmuch_status_t st, int rc, const char *root,
    struct pl_err *e)
{
	if (st == NOTMUCH_STATUS_SUCCESS && rc == 0)
		st = notmuch_database_end_atomic(db);
	if (st == NOTMUCH_STATUS_SUCCESS && rc == 0)
		st = notmuch_database_close(db);
	if (st != NOTMUCH_STATUS_SUCCESS && rc == 0)
		rc = nm_fail(e, st == NOTMUCH_STATUS_XAPIAN_EXCEPTION ? EX_DATAERR : EX_IOERR, db,
		    st, "cannot change tags", root);
	notmuch_database_destroy(db);	/* without a close: abandoned */
	return rc;
}

int
pl_tag_query_undo(const char *db_path, const char *query, const char *const *add,
    const char *const *del, struct pl_tag_undo *undo, struct pl_err *e)
{
	notmuch_database_t *db;
	notmuch_messages_t *ms;
	notmuch_query_t *q;
	notmuch_status_t st;
	struct pl_tag_undo u = { 0 };
	int rc = 0;

	if (undo)
		pl_tag_undo_free(undo);
	if (check_tags(add, e) < 0 || check_tags(del, e) < 0)
		return -1;
	if (pl_index_open(db_path, &db, e) < 0)
		return -1;
	st = notmuch_database_begin_atomic(db);
	if (st != NOTMUCH_STATUS_SUCCESS)
		return finish(db, st, 0, db_path, e);
	if ((q = notmuch_query_create(db, query)) == NULL)
		return finish(db, NOTMUCH_STATUS_OUT_OF_MEMORY, 0, db_path, e);
	notmuch_query_set_omit_excluded(q, NOTMUCH_EXCLUDE_FALSE);
	st = notmuch_query_search_messages(q, &ms);
	for (; st == NOTMUCH_STATUS_SUCCESS && rc == 0 && notmuch_messages_valid(ms);
	    notmuch_messages_move_to_next(ms)) {
		notmuch_message_t *m = notmuch_messages_get(ms);
		struct pl_tag_change ch;

		st = retag(db, m, add, del, &ch, db_path, e, &rc);
		if (ch.id) {
			u.c = xrealloc(u.c, (u.n + 1) * sizeof *u.c);
			u.c[u.n++] = ch;
		} else {
			change_free(&ch);
		}
		notmuch_message_destroy(m);
	}
	notmuch_query_destroy(q);
	rc = finish(db, st, rc, db_path, e);
	if (rc == 0 && undo)
		*undo = u;
	else
		pl_tag_undo_free(&u);
	return rc;
}

int
pl_tag_query(const char *db_path, const char *query, const char *const *add,
    const char *const *del, struct pl_err *e)
{
	return pl_tag_query_undo(db_path, query, add, del, NULL, e);
}

int
pl_tag_undo(const char *db_path, const struct pl_tag_undo *u, struct pl_err *e)
{
	notmuch_database_t *db;
	notmuch_status_t st;
	int rc = 0;

	if (u == NULL || u->n == 0)
		return 0;
	if (pl_index_open(db_path, &db, e) < 0)
		return -1;
	st = notmuch_database_begin_atomic(db);
	for (size_t i = 0; i < u->n && st == NOTMUCH_STATUS_SUCCESS && rc == 0; i++) {
		notmuch_message_t *m = NULL;
		struct pl_tag_change ch;

		if (notmuch_database_find_message(db, u->c[i].id, &m) != NOTMUCH_STATUS_SUCCESS ||
		    m == NULL)
			continue;	/* gone since: nothing to put back */
		/* What was added goes, what was removed comes back. */
		st = retag(db, m, (const char *const *)u->c[i].removed,
		    (const char *const *)u->c[i].added, &ch, db_path, e, &rc);
		change_free(&ch);
		notmuch_message_destroy(m);
	}
	return finish(db, st, rc, db_path, e);
}
