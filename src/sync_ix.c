/* sync_ix.c — the indexer: every notmuch write of a sync, in a thread of its
 * own; and the local-changes pass that turns tags into file names.
 *
 * The thread works in short write sessions: open the database (waiting out
 * another writer, index.c), do at most SESSION_ITEMS items or SESSION_MS of
 * work in one atomic section, close (which commits), and only then report
 * the items done: a journal line says "indexed" only once the index holds
 * it.  Between sessions the lock is free, so that the client, the daemon or
 * `notmuch tag` wait at most a fraction of a second for a long sync.
 *
 * Revisions: the local-changes pass looks at messages changed since the
 * revision saved in <state>/sync/<account>/revision ("UUID REV\n").  The
 * indexer's own changes need no such look (its tags already follow the
 * file names), so after a run the saved revision may skip them — but only
 * when nobody else wrote in between: each session must start at the
 * revision where the previous one ended, and the first where the saved one
 * says.  Otherwise the revision the local pass saved stays, and the next
 * pass looks at this run's mail once more (slower, never wrong). */
#include <errno.h>
#include <fcntl.h>
#include <notmuch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fsutil.h"
#include "index.h"
#include "sync.h"

#define SESSION_ITEMS	500
#define SESSION_MS	250
/* A session waits this long for more work before it commits, so that an
 * engine pushing message by message does not cost a commit each. */
#define LINGER_MS	20

struct item {
	struct item *next;
	enum pl_ix_kind kind;
	char *path, *new_path;
	struct pl_sstate *st;
	uint64_t key;
	unsigned flags;
	int ok;
};

struct pl_ix {
	char *root;
	char **tags;		/* inbox, unread, then the account's */
	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t work;	/* to the thread: work queued, or stop */
	pthread_cond_t finished_cv;	/* to reap and stop: items finished */
	/* Everything below is under mu. */
	struct item *head, **tailp;
	unsigned long long pushed, finished;
	struct pl_ix_done *done;
	size_t ndone, capdone;
	int stopping;
	int waiters;		/* reapers waiting: commit without lingering */
	size_t nfailed;
	struct pl_err first;
	/* The revisions the sessions saw. */
	unsigned sessions;
	int contiguous;		/* each session started where the previous ended */
	char first_uuid[64];
	unsigned long first_start, last_end;
};

static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* ---- Applying one item ---- */

/* The part of path after the last '/', and whether its directory is a
 * Maildir's cur/ or new/ (*in_new set); NULL when it is neither. */
static const char *
maildir_base(const char *path, int *in_new)
{
	const char *b = strrchr(path, '/'), *d;

	if (b == NULL || b == path)
		return NULL;
	for (d = b - 1; d > path && d[-1] != '/'; d--)
		;
	if (b - d != 3 || (memcmp(d, "cur", 3) && memcmp(d, "new", 3)))
		return NULL;
	*in_new = d[0] == 'n';
	return b + 1;
}

/* 1 when a maildir file name has the T flag, 0 when not, -1 when it has no
 * flags to say (no ":2," info outside new/; notmuch skips those too). */
static int
name_has_t(const char *path)
{
	const char *b, *info;
	int in_new;

	if ((b = maildir_base(path, &in_new)) == NULL)
		return -1;
	if ((info = strstr(b, ":2,")) == NULL)
		return in_new ? 0 : -1;
	return strchr(info + 3, 'T') != NULL;
}

/* notmuch's flag mapping has no T: "deleted" when any file of the message
 * has T (a union over its files, as notmuch does for the other flags). */
static notmuch_status_t
t_to_deleted(notmuch_message_t *m)
{
	notmuch_filenames_t *fn;
	int seen = 0, t = 0;

	for (fn = notmuch_message_get_filenames(m); notmuch_filenames_valid(fn);
	    notmuch_filenames_move_to_next(fn)) {
		int h = name_has_t(notmuch_filenames_get(fn));

		if (h >= 0)
			seen = 1;
		if (h > 0)
			t = 1;
	}
	notmuch_filenames_destroy(fn);
	if (!seen)
		return NOTMUCH_STATUS_SUCCESS;
	return t ? notmuch_message_add_tag(m, "deleted") : notmuch_message_remove_tag(m, "deleted");
}

/* Tags from the file names; fresh (a message new to the database) first
 * gets the new-mail tags, which the names' flags then override.  A known
 * message keeps its tags: a copy appearing in another folder must not put
 * archived mail back into the inbox. */
static notmuch_status_t
retag(struct pl_ix *ix, notmuch_message_t *m, int fresh)
{
	notmuch_status_t st;

	st = notmuch_message_freeze(m);
	for (size_t i = 0; st == NOTMUCH_STATUS_SUCCESS && fresh && ix->tags[i]; i++)
		st = notmuch_message_add_tag(m, ix->tags[i]);
	if (st == NOTMUCH_STATUS_SUCCESS)
		st = notmuch_message_maildir_flags_to_tags(m);
	if (st == NOTMUCH_STATUS_SUCCESS)
		st = t_to_deleted(m);
	if (st == NOTMUCH_STATUS_SUCCESS)
		st = notmuch_message_thaw(m);
	return st;
}

static int
db_fail(struct pl_ix *ix, notmuch_database_t *db, notmuch_status_t st, const char *what,
    const char *path, struct pl_err *e)
{
	const char *s = notmuch_database_status_string(db);
	char why[512];

	pl_index_detail(why, sizeof why, st, s ? xstrdup(s) : NULL);
	return pl_errf(e, st == NOTMUCH_STATUS_FILE_NOT_EMAIL ? EX_DATAERR : EX_IOERR,
	    "cannot %s %s in the notmuch database in %s: %s", what, path, ix->root, why);
}

/* Indexes path: *fresh is 1 for a message new to the database. */
static int
index_path(struct pl_ix *ix, notmuch_database_t *db, const char *path, int *fresh,
    struct pl_err *e)
{
	notmuch_message_t *m = NULL;
	notmuch_status_t st;

	st = notmuch_database_index_file(db, path, NULL, &m);
	if (st != NOTMUCH_STATUS_SUCCESS && st != NOTMUCH_STATUS_DUPLICATE_MESSAGE_ID)
		return db_fail(ix, db, st, "index", path, e);
	*fresh = st == NOTMUCH_STATUS_SUCCESS;
	st = retag(ix, m, *fresh);
	notmuch_message_destroy(m);
	if (st != NOTMUCH_STATUS_SUCCESS)
		return db_fail(ix, db, st, "tag", path, e);
	return 0;
}

/* Forgets path; the message's other files (if any) then decide its tags. */
static int
forget_path(struct pl_ix *ix, notmuch_database_t *db, const char *path, struct pl_err *e)
{
	notmuch_message_t *m = NULL;
	notmuch_status_t st;
	char *id = NULL;

	st = notmuch_database_find_message_by_filename(db, path, &m);
	if (st != NOTMUCH_STATUS_SUCCESS)
		return db_fail(ix, db, st, "look up", path, e);
	if (m == NULL)
		return 0;	/* never indexed (an ADD that failed) */
	id = xstrdup(notmuch_message_get_message_id(m));
	notmuch_message_destroy(m);
	st = notmuch_database_remove_message(db, path);
	if (st == NOTMUCH_STATUS_DUPLICATE_MESSAGE_ID) {
		/* Looked up afresh: the old object's file list is stale. */
		st = notmuch_database_find_message(db, id, &m);
		if (st == NOTMUCH_STATUS_SUCCESS && m) {
			st = retag(ix, m, 0);
			notmuch_message_destroy(m);
		}
	}
	free(id);
	if (st != NOTMUCH_STATUS_SUCCESS)
		return db_fail(ix, db, st, "remove", path, e);
	return 0;
}

/* The user removed a file the engine knows only by its key: forgets the
 * files of folder (ending in '/') whose names carry key and which are gone
 * from the disk.  notmuch keeps each directory's file names, so this reads
 * one list, not the whole folder's messages. */
static int
forget_key(struct pl_ix *ix, notmuch_database_t *db, const char *folder, uint64_t key,
    struct pl_err *e)
{
	static const char *const subs[] = { "cur", "new" };

	for (size_t i = 0; i < 2; i++) {
		notmuch_directory_t *dir = NULL;
		notmuch_filenames_t *fn;
		notmuch_status_t st;
		char path[4200];
		char **gone = NULL;
		size_t ngone = 0;
		int rc = 0;

		snprintf(path, sizeof path, "%s%s", folder, subs[i]);
		st = notmuch_database_get_directory(db, path, &dir);
		if (st != NOTMUCH_STATUS_SUCCESS)
			return db_fail(ix, db, st, "look up", path, e);
		if (dir == NULL)
			continue;
		for (fn = notmuch_directory_get_child_files(dir);
		    notmuch_filenames_valid(fn); notmuch_filenames_move_to_next(fn)) {
			const char *name = notmuch_filenames_get(fn);
			struct pl_mfile m = { 0 };
			char full[4500];
			struct stat sb;

			pl_mfile_parse(name, &m);
			if (m.kind == 0 || m.key != key)
				continue;
			snprintf(full, sizeof full, "%s/%s", path, name);
			if (lstat(full, &sb) < 0 && errno == ENOENT) {
				gone = xrealloc(gone, (ngone + 1) * sizeof *gone);
				gone[ngone++] = xstrdup(full);
			}
		}
		notmuch_filenames_destroy(fn);
		notmuch_directory_destroy(dir);
		/* Removed after the listing: removing changes the directory. */
		for (size_t k = 0; k < ngone; k++) {
			if (rc == 0)
				rc = forget_path(ix, db, gone[k], e);
			free(gone[k]);
		}
		free(gone);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int
apply(struct pl_ix *ix, notmuch_database_t *db, struct item *it, struct pl_err *e)
{
	int fresh;

	switch (it->kind) {
	case PL_IX_ADD:
		return index_path(ix, db, it->path, &fresh, e);
	case PL_IX_RENAME:
		/* The new name first: the message never leaves the database. */
		if (index_path(ix, db, it->new_path, &fresh, e) < 0)
			return -1;
		return forget_path(ix, db, it->path, e);
	case PL_IX_REMOVE:
		if (*it->path && it->path[strlen(it->path) - 1] == '/')
			return forget_key(ix, db, it->path, it->key, e);
		return forget_path(ix, db, it->path, e);
	}
	return pl_errf(e, EX_SOFTWARE, "indexer: unknown work %d", (int)it->kind);
}

/* ---- The thread ---- */

/* Hands a list of processed items to the done list; e: the session's first
 * failure. */
static void
finish(struct pl_ix *ix, struct item *list, const struct pl_err *e)
{
	struct item *it, *next;

	pthread_mutex_lock(&ix->mu);
	for (it = list; it; it = next) {
		struct pl_ix_done *d;

		next = it->next;
		if (ix->ndone == ix->capdone) {
			ix->capdone = ix->capdone ? ix->capdone * 2 : 64;
			ix->done = xrealloc(ix->done, ix->capdone * sizeof *ix->done);
		}
		d = &ix->done[ix->ndone++];
		d->kind = it->kind;
		d->st = it->st;
		d->key = it->key;
		d->flags = it->flags;
		d->ok = it->ok;
		if (!it->ok) {
			if (ix->nfailed++ == 0 && e)
				ix->first = *e;
		}
		ix->finished++;
		free(it->path);
		free(it->new_path);
		free(it);
	}
	pthread_cond_broadcast(&ix->finished_cv);
	pthread_mutex_unlock(&ix->mu);
}

/* Notes where a session started (end = 0) or ended (end = 1). */
static void
note_revision(struct pl_ix *ix, notmuch_database_t *db, int end)
{
	const char *uuid = NULL;
	unsigned long rev = notmuch_database_get_revision(db, &uuid);

	pthread_mutex_lock(&ix->mu);
	if (uuid == NULL)
		uuid = "";
	if (end)
		ix->last_end = rev;
	else if (ix->sessions++ == 0) {
		snprintf(ix->first_uuid, sizeof ix->first_uuid, "%s", uuid);
		ix->first_start = rev;
	} else if (strcmp(uuid, ix->first_uuid) != 0 || rev != ix->last_end)
		ix->contiguous = 0;
	pthread_mutex_unlock(&ix->mu);
}

/* Takes the next item, waiting a little for one while the session may
 * still run; NULL to end the session. */
static struct item *
next_item(struct pl_ix *ix, const struct timespec *t0)
{
	struct item *it;
	struct timespec dl;
	long left;

	pthread_mutex_lock(&ix->mu);
	if (ix->head == NULL && !ix->stopping && ix->waiters == 0 &&
	    (left = SESSION_MS - ms_since(t0)) > 0) {
		if (left > LINGER_MS)
			left = LINGER_MS;
		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_nsec += left * 1000000L;
		dl.tv_sec += dl.tv_nsec / 1000000000L;
		dl.tv_nsec %= 1000000000L;
		while (ix->head == NULL && !ix->stopping && ix->waiters == 0 &&
		    pthread_cond_timedwait(&ix->work, &ix->mu, &dl) == 0)
			;
	}
	if ((it = ix->head) != NULL) {
		ix->head = it->next;
		if (ix->head == NULL)
			ix->tailp = &ix->head;
		it->next = NULL;
	}
	pthread_mutex_unlock(&ix->mu);
	return it;
}

static void
session(struct pl_ix *ix)
{
	struct item *list = NULL, **tail = &list, *it;
	struct pl_err e = { 0 }, ie;
	notmuch_database_t *db;
	notmuch_status_t st;
	struct timespec t0;
	char why[512];
	int n = 0, committed;

	if (pl_index_open(ix->root, &db, &e) < 0) {
		/* Locked too long (or broken): what waits now fails, and is
		 * journaled as unindexed; later work tries again. */
		pthread_mutex_lock(&ix->mu);
		list = ix->head;
		ix->head = NULL;
		ix->tailp = &ix->head;
		pthread_mutex_unlock(&ix->mu);
		for (it = list; it; it = it->next)
			it->ok = 0;
		finish(ix, list, &e);
		return;
	}
	note_revision(ix, db, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = notmuch_database_begin_atomic(db);
	if (st != NOTMUCH_STATUS_SUCCESS) {
		pl_index_detail(why, sizeof why, st, NULL);
		pl_errf(&e, EX_IOERR, "cannot write to the notmuch database in %s: %s", ix->root,
		    why);
	}
	while (st == NOTMUCH_STATUS_SUCCESS && n < SESSION_ITEMS && ms_since(&t0) < SESSION_MS &&
	    (it = next_item(ix, &t0)) != NULL) {
		it->ok = apply(ix, db, it, &ie) == 0;
		if (!it->ok && e.code == 0)
			e = ie;
		*tail = it;
		tail = &it->next;
		n++;
	}
	committed = st == NOTMUCH_STATUS_SUCCESS;
	if (committed && (st = notmuch_database_end_atomic(db)) != NOTMUCH_STATUS_SUCCESS)
		committed = 0;
	if (committed)
		note_revision(ix, db, 1);
	if ((st = notmuch_database_close(db)) != NOTMUCH_STATUS_SUCCESS)
		committed = 0;
	notmuch_database_destroy(db);
	if (!committed) {
		/* Nothing of the session is sure to be in the index. */
		pl_index_detail(why, sizeof why, st, NULL);
		pl_errf(&ie, EX_IOERR, "cannot commit to the notmuch database in %s: %s",
		    ix->root, why);
		if (e.code == 0)
			e = ie;
		for (it = list; it; it = it->next)
			it->ok = 0;
		pthread_mutex_lock(&ix->mu);
		ix->contiguous = 0;
		pthread_mutex_unlock(&ix->mu);
	}
	finish(ix, list, &e);
}

static void *
run(void *arg)
{
	struct pl_ix *ix = arg;

	for (;;) {
		pthread_mutex_lock(&ix->mu);
		while (ix->head == NULL && !ix->stopping)
			pthread_cond_wait(&ix->work, &ix->mu);
		if (ix->head == NULL) {
			pthread_mutex_unlock(&ix->mu);
			return NULL;
		}
		pthread_mutex_unlock(&ix->mu);
		session(ix);
	}
}

/* ---- The interface ---- */

struct pl_ix *
pl_ix_start(const char *maildir_root, const char *const *new_tags, struct pl_err *e)
{
	struct pl_ix *ix = xcalloc(1, sizeof *ix);
	pthread_condattr_t ca;
	size_t n = 0, k = 0;
	int r;

	while (new_tags && new_tags[n])
		n++;
	ix->root = xstrdup(maildir_root);
	ix->tags = xcalloc(n + 3, sizeof *ix->tags);
	ix->tags[k++] = xstrdup("inbox");
	ix->tags[k++] = xstrdup("unread");
	for (size_t i = 0; i < n; i++)
		ix->tags[k++] = xstrdup(new_tags[i]);
	ix->tailp = &ix->head;
	ix->contiguous = 1;
	pthread_mutex_init(&ix->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ix->work, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&ix->finished_cv, NULL);
	if ((r = pthread_create(&ix->thread, NULL, run, ix)) != 0) {
		pl_errf(e, EX_OSERR, "cannot start the indexer thread: %s", strerror(r));
		pl_ix_stop(ix, NULL);
		return NULL;
	}
	ix->started = 1;
	return ix;
}

void
pl_ix_push(struct pl_ix *ix, enum pl_ix_kind kind, const char *path, const char *new_path,
    struct pl_sstate *st, uint64_t key, unsigned flags)
{
	struct item *it = xcalloc(1, sizeof *it);

	it->kind = kind;
	it->path = xstrdup(path);
	it->new_path = new_path ? xstrdup(new_path) : NULL;
	it->st = st;
	it->key = key;
	it->flags = flags;
	pthread_mutex_lock(&ix->mu);
	*ix->tailp = it;
	ix->tailp = &it->next;
	ix->pushed++;
	pthread_cond_signal(&ix->work);
	pthread_mutex_unlock(&ix->mu);
}

/* Waits (mu held) until the items pushed so far are finished. */
static void
drain(struct pl_ix *ix)
{
	unsigned long long target = ix->pushed;

	ix->waiters++;
	pthread_cond_signal(&ix->work);	/* a lingering session commits now */
	while (ix->finished < target)
		pthread_cond_wait(&ix->finished_cv, &ix->mu);
	ix->waiters--;
}

void
pl_ix_reap(struct pl_ix *ix, int wait, struct pl_ix_done **out, size_t *n)
{
	pthread_mutex_lock(&ix->mu);
	if (wait)
		drain(ix);
	*out = ix->done;
	*n = ix->ndone;
	ix->done = NULL;
	ix->ndone = ix->capdone = 0;
	pthread_mutex_unlock(&ix->mu);
}

void
pl_ix_journal(const struct pl_ix_done *d)
{
	if (d->st == NULL)
		return;
	switch (d->kind) {
	case PL_IX_ADD:
		if (pl_sstate_find(d->st, d->key) == NULL)
			pl_sstate_add(d->st, d->key, d->flags, !d->ok);
		else if (d->ok)
			pl_sstate_set_indexed(d->st, d->key);
		break;
	case PL_IX_RENAME:
		/* The file has its new flags whatever the index says. */
		pl_sstate_set_flags(d->st, d->key, d->flags);
		break;
	case PL_IX_REMOVE:
		pl_sstate_remove(d->st, d->key);
		break;
	}
}

size_t
pl_ix_stop(struct pl_ix *ix, struct pl_err *e)
{
	size_t failed;

	if (ix == NULL)
		return 0;
	pthread_mutex_lock(&ix->mu);
	ix->stopping = 1;
	pthread_cond_signal(&ix->work);
	pthread_mutex_unlock(&ix->mu);
	if (ix->started)
		pthread_join(ix->thread, NULL);
	failed = ix->nfailed;
	if (failed && e)
		*e = ix->first;
	pthread_mutex_destroy(&ix->mu);
	pthread_cond_destroy(&ix->work);
	pthread_cond_destroy(&ix->finished_cv);
	for (size_t i = 0; ix->tags[i]; i++)
		free(ix->tags[i]);
	free(ix->tags);
	free(ix->done);
	free(ix->root);
	free(ix);
	return failed;
}

/* ---- Local changes: tags → file names ---- */

struct rev {
	char uuid[64];	/* "-": there was no database */
	unsigned long rev;
};

static int
read_revision(const char *state_dir, struct rev *r)
{
	char path[4200], *data = NULL;
	size_t len;
	int ok;

	snprintf(path, sizeof path, "%s/revision", state_dir);
	if (pl_read_file(path, 256, &data, &len) < 0)
		return 0;
	ok = sscanf(data, "%63s %lu", r->uuid, &r->rev) == 2;
	free(data);
	return ok;
}

static int
save_revision(const char *state_dir, const char *uuid, unsigned long rev, struct pl_err *e)
{
	char line[128];
	int n;

	n = snprintf(line, sizeof line, "%s %lu\n", *uuid ? uuid : "-", rev);
	if (pl_mkdirs(state_dir, 0700, e) < 0)
		return -1;
	return pl_write_durable(state_dir, "revision", line, (size_t)n, e);
}

int
pl_ix_deleted_to_names(notmuch_database_t *db, notmuch_message_t *m, const char *root,
    struct pl_err *e)
{
	notmuch_filenames_t *fn;
	notmuch_tags_t *t;
	notmuch_status_t st;
	char **names = NULL, newname[4096], newpath[8192];
	size_t n = 0, cap = 0;
	int want = 0, rc = 0;

	for (t = notmuch_message_get_tags(m); notmuch_tags_valid(t); notmuch_tags_move_to_next(t))
		if (strcmp(notmuch_tags_get(t), "deleted") == 0)
			want = 1;
	notmuch_tags_destroy(t);
	/* Copied first: the renames below change the message's file list. */
	for (fn = notmuch_message_get_filenames(m); notmuch_filenames_valid(fn);
	    notmuch_filenames_move_to_next(fn)) {
		const char *f = notmuch_filenames_get(fn);
		int h = name_has_t(f);

		if (h < 0 || h == want)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			names = xrealloc(names, cap * sizeof *names);
		}
		names[n++] = xstrdup(f);
	}
	notmuch_filenames_destroy(fn);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *f = names[i], *b, *info;
		unsigned flags;
		int in_new;

		b = maildir_base(f, &in_new);
		info = strstr(b, ":2,");
		flags = info ? pl_flags_parse(info + 3) : 0;
		flags = want ? flags | PL_FL_T : flags & ~(unsigned)PL_FL_T;
		pl_mfile_rename(newname, sizeof newname, b, flags);
		/* <folder>/cur/<new name>: a name with flags belongs in cur/. */
		snprintf(newpath, sizeof newpath, "%.*scur/%s", (int)(b - f - 4), f, newname);
		if (renameat2(AT_FDCWD, f, AT_FDCWD, newpath, RENAME_NOREPLACE) < 0) {
			if (errno == ENOENT)	/* gone meanwhile: as notmuch does */
				continue;
			rc = pl_errf(e, EX_IOERR, "cannot rename %s to %s: %s", f, newpath,
			    strerror(errno));
			break;
		}
		st = notmuch_database_index_file(db, newpath, NULL, NULL);
		if (st == NOTMUCH_STATUS_SUCCESS || st == NOTMUCH_STATUS_DUPLICATE_MESSAGE_ID)
			st = notmuch_database_remove_message(db, f);
		if (st != NOTMUCH_STATUS_SUCCESS && st != NOTMUCH_STATUS_DUPLICATE_MESSAGE_ID) {
			char why[512];

			pl_index_detail(why, sizeof why, st, NULL);
			rc = pl_errf(e, EX_IOERR, "cannot record %s in the notmuch database in %s: %s",
			    newpath, root, why);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* The query for the account's messages changed after rev (all of them
 * when since is 0). */
static char *
changes_query(const struct pl_sync *s, int since, unsigned long rev)
{
	const char *root = s->cfg->maildir, *rel = s->acct->name;
	size_t rl = strlen(root);
	struct buf q = { 0 };

	if (strncmp(s->account_dir, root, rl) == 0 && s->account_dir[rl] == '/')
		rel = s->account_dir + rl + 1;
	if (since)
		buf_printf(&q, "lastmod:%lu.. and ", rev + 1);
	buf_adds(&q, "path:\"");
	for (const char *p = rel; *p; p++) {
		if (*p == '"')
			buf_addc(&q, '"');	/* quoted: "" is one " */
		buf_addc(&q, *p);
	}
	buf_adds(&q, "/**\"");
	return buf_steal(&q);
}

static int
count(notmuch_database_t *db, const char *qs, unsigned *n)
{
	notmuch_query_t *q = notmuch_query_create(db, qs);
	notmuch_status_t st;

	if (q == NULL)
		return -1;
	notmuch_query_set_omit_excluded(q, NOTMUCH_EXCLUDE_FALSE);
	st = notmuch_query_count_messages(q, n);
	notmuch_query_destroy(q);
	return st == NOTMUCH_STATUS_SUCCESS ? 0 : -1;
}

/* The write session of the local pass; *end: the revision it ended at. */
static int
apply_local(const struct pl_sync *s, const char *qs, char *uuid_out, size_t uuid_len,
    unsigned long *end, struct pl_err *e)
{
	const char *root = s->cfg->maildir, *uuid;
	notmuch_database_t *db;
	notmuch_messages_t *ms;
	notmuch_query_t *q;
	notmuch_status_t st;
	char why[512];
	int rc = 0;

	if (pl_index_open(root, &db, e) < 0)
		return -1;
	st = notmuch_database_begin_atomic(db);
	q = notmuch_query_create(db, qs);
	if (st != NOTMUCH_STATUS_SUCCESS || q == NULL)
		goto fail;
	notmuch_query_set_omit_excluded(q, NOTMUCH_EXCLUDE_FALSE);
	if ((st = notmuch_query_search_messages(q, &ms)) != NOTMUCH_STATUS_SUCCESS)
		goto fail;
	for (; rc == 0 && notmuch_messages_valid(ms); notmuch_messages_move_to_next(ms)) {
		notmuch_message_t *m = notmuch_messages_get(ms);

		/* D F P R S by notmuch (a failed rename is skipped there),
		 * then T ourselves. */
		st = notmuch_message_tags_to_maildir_flags(m);
		if (st != NOTMUCH_STATUS_SUCCESS) {
			notmuch_message_destroy(m);
			goto fail;
		}
		rc = pl_ix_deleted_to_names(db, m, root, e);
		notmuch_message_destroy(m);
	}
	notmuch_query_destroy(q);
	q = NULL;
	if (rc == 0 && (st = notmuch_database_end_atomic(db)) != NOTMUCH_STATUS_SUCCESS)
		goto fail;
	*end = notmuch_database_get_revision(db, &uuid);
	snprintf(uuid_out, uuid_len, "%s", uuid);
	if ((st = notmuch_database_close(db)) != NOTMUCH_STATUS_SUCCESS && rc == 0)
		goto fail;
	notmuch_database_destroy(db);
	return rc;
fail:
	{
		const char *ss = notmuch_database_status_string(db);

		pl_index_detail(why, sizeof why, st, ss ? xstrdup(ss) : NULL);
	}
	if (q)
		notmuch_query_destroy(q);
	notmuch_database_destroy(db);	/* the atomic section is abandoned */
	return pl_errf(e, EX_IOERR, "cannot apply tag changes in the notmuch database in %s: %s",
	    root, why);
}

int
pl_sync_local_changes(struct pl_sync *s, struct pl_err *e)
{
	const char *root = s->cfg->maildir, *uuid = NULL;
	notmuch_database_t *db;
	notmuch_status_t st;
	struct rev saved;
	char *msg = NULL, *qs, why[512], nuuid[64];
	unsigned long rev, end = 0;
	unsigned n = 0;
	int have, since, rc;

	have = read_revision(s->state_dir, &saved);
	/* A look without the write lock first: a sync with nothing changed
	 * never waits for another writer. */
	st = notmuch_database_open_with_config(root, NOTMUCH_DATABASE_MODE_READ_ONLY, "", NULL,
	    &db, &msg);
	if (st != NOTMUCH_STATUS_SUCCESS) {
		char p[4200];
		struct stat sb;

		snprintf(p, sizeof p, "%s/.notmuch", root);
		if (st == NOTMUCH_STATUS_NO_DATABASE || (st == NOTMUCH_STATUS_FILE_ERROR &&
		    lstat(p, &sb) < 0 && errno == ENOENT)) {
			/* No database, no tags to apply; the indexer may carry
			 * on from an empty one. */
			free(msg);
			return have && !strcmp(saved.uuid, "-") ? 0 :
			    save_revision(s->state_dir, "-", 0, e);
		}
		pl_index_detail(why, sizeof why, st, msg);
		return pl_errf(e, EX_IOERR, "cannot open the notmuch database in %s: %s", root, why);
	}
	free(msg);
	rev = notmuch_database_get_revision(db, &uuid);
	since = have && strcmp(saved.uuid, uuid) == 0;
	if (since && saved.rev == rev) {
		notmuch_database_destroy(db);
		return 0;
	}
	snprintf(nuuid, sizeof nuuid, "%s", uuid);
	qs = changes_query(s, since, saved.rev);
	if (count(db, qs, &n) < 0) {
		const char *ss = notmuch_database_status_string(db);

		pl_index_detail(why, sizeof why, NOTMUCH_STATUS_XAPIAN_EXCEPTION,
		    ss ? xstrdup(ss) : NULL);
		notmuch_database_destroy(db);
		free(qs);
		return pl_errf(e, EX_IOERR, "cannot search the notmuch database in %s: %s", root,
		    why);
	}
	notmuch_database_destroy(db);
	if (n == 0) {
		/* Changes elsewhere only. */
		free(qs);
		return save_revision(s->state_dir, nuuid, rev, e);
	}
	rc = apply_local(s, qs, nuuid, sizeof nuuid, &end, e);
	free(qs);
	if (rc < 0)
		return -1;
	return save_revision(s->state_dir, nuuid, end, e);
}

int
pl_sync_local_done(struct pl_sync *s, struct pl_err *e)
{
	struct pl_ix *ix = s->ix;
	struct rev saved;
	char uuid[64];
	unsigned long start, end;
	int ok;

	if (ix == NULL)
		return 0;
	pthread_mutex_lock(&ix->mu);
	drain(ix);
	ok = ix->sessions > 0 && ix->contiguous && ix->nfailed == 0;
	snprintf(uuid, sizeof uuid, "%s", ix->first_uuid);
	start = ix->first_start;
	end = ix->last_end;
	pthread_mutex_unlock(&ix->mu);
	/* Skipping the indexer's changes is right only when its first session
	 * began where the saved revision (the local pass's) ends: "-" is no
	 * database at all, which an empty one at revision 0 continues. */
	if (!ok || !read_revision(s->state_dir, &saved))
		return 0;
	if (strcmp(saved.uuid, "-") == 0 ? start != 0 :
	    strcmp(saved.uuid, uuid) != 0 || saved.rev != start)
		return 0;
	if (end == saved.rev && strcmp(saved.uuid, uuid) == 0)
		return 0;
	return save_revision(s->state_dir, uuid, end, e);
}
