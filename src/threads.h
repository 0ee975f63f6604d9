/* threads.h — the client's view of the notmuch database.
 *
 * Reading: a query's threads, newest first, loaded lazily — opening a
 * query costs as little as one screen of threads, whatever the number of
 * matches (notmuch_query_search_threads is iterated only as far as the
 * caller asks: pl_threads_get(q, i) for an i not loaded yet iterates up to
 * it).  The database is opened read-only for as long as the view lives, and
 * reopened when it changed (pl_threads_refresh: new mail from a sync, tags
 * from another program).
 *
 * Writing: tag changes open the database for writing for one short
 * session (index.c's open with lock back-off) and rename the files to the
 * flags their tags say (notmuch's synchronize_flags mapping, plus
 * deleted ↔ T), so that the next sync pushes them to the server. */
#ifndef PALOMA_THREADS_H
#define PALOMA_THREADS_H

#include <stddef.h>
#include <time.h>

#include "util.h"

struct pl_thread {
	char *id;		/* notmuch thread id, for "thread:ID" */
	time_t newest;		/* date of its newest matching message */
	char *authors;		/* UTF-8, matching authors first ("Ann, Bob, Carl") */
	char *subject;		/* UTF-8, decoded */
	int matched, total;	/* messages matching the query / in the thread */
	char **tags;		/* sorted, NULL-terminated */
	int unread;		/* some message is tagged unread */
};

struct pl_query;

/* Opens db_path (the maildir root) read-only and prepares query (notmuch
 * syntax).  EX_DATAERR for a query notmuch refuses (the text says why),
 * EX_NOINPUT when there is no database yet. */
int pl_threads_open(const char *db_path, const char *query, struct pl_query **out,
    struct pl_err *e);
/* Thread i (0 = newest), loading as far as needed; NULL past the end. */
const struct pl_thread *pl_threads_get(struct pl_query *q, size_t i);
/* The number of threads loaded so far, and whether that is all of them. */
size_t pl_threads_loaded(const struct pl_query *q, int *complete);
/* The number of matching threads (notmuch_query_count_threads: cheap). */
size_t pl_threads_count(struct pl_query *q);
/* Runs the query again on a fresh view of the database (after a sync or a
 * tag change), keeping nothing loaded. */
int pl_threads_refresh(struct pl_query *q, struct pl_err *e);
void pl_threads_close(struct pl_query *q);

/* The messages of a thread in thread order (depth first), each with its
 * first file's path, for the pager. */
struct pl_tmsg {
	char *id;		/* Message-ID without <> */
	char *path;		/* its first file */
	int depth;		/* 0 for a thread root */
	time_t date;
	char *from, *subject;	/* UTF-8 */
	char **tags;		/* sorted, NULL-terminated */
	int matched;		/* matches the query */
};
int pl_thread_messages(struct pl_query *q, const char *thread_id, struct pl_tmsg **out,
    size_t *n, struct pl_err *e);
void pl_tmsgs_free(struct pl_tmsg *m, size_t n);

/* Counts the messages matching query (for saved searches' unread counts);
 * -1 with e on error. */
long pl_count_messages(const char *db_path, const char *query, struct pl_err *e);

/* Adds and removes tags on every message matching query (e.g. "thread:X"
 * or "id:Y"), then renames their files to match (see above).  add and del
 * are NULL-terminated lists, either may be NULL.  EX_TEMPFAIL when the
 * database stayed locked, EX_DATAERR for a bad query or tag. */
int pl_tag_query(const char *db_path, const char *query, const char *const *add,
    const char *const *del, struct pl_err *e);

/* What one tag change actually did, message by message: only the tags a
 * message gained or lost are recorded (adding "inbox" to a message that
 * had it is not a change), so that undoing puts back exactly what was. */
struct pl_tag_change {
	char *id;		/* Message-ID */
	char **added, **removed;	/* NULL-terminated, either may be empty */
};
struct pl_tag_undo {
	struct pl_tag_change *c;
	size_t n;
};
/* pl_tag_query that also fills undo (emptied first; may be NULL). */
int pl_tag_query_undo(const char *db_path, const char *query, const char *const *add,
    const char *const *del, struct pl_tag_undo *undo, struct pl_err *e);
/* Reverses the changes in u (messages since gone are skipped). */
int pl_tag_undo(const char *db_path, const struct pl_tag_undo *u, struct pl_err *e);
void pl_tag_undo_free(struct pl_tag_undo *u);

/* The number of messages matching the query (exact and cheap, unlike
 * pl_threads_count, which must look at every match's thread). */
size_t pl_threads_count_messages(struct pl_query *q);
/* The query's text and database root. */
const char *pl_threads_query(const struct pl_query *q);

/* A stamp that changes whenever the database is written (the mtime and
 * size of the Xapian version file): cheap enough to poll every second.
 * 0 when there is no database. */
unsigned long long pl_db_stamp(const char *db_path);

#endif
