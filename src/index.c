/* index.c — short notmuch write sessions: opening with lock back-off, and
 * one session per delivered file. */
#include "index.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <notmuch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long lock_wait_ms = 5000;

void
pl_index_set_lock_wait(long ms)
{
	lock_wait_ms = ms;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void
pl_index_detail(char *out, size_t len, notmuch_status_t st, char *msg)
{
	size_t n;

	snprintf(out, len, "%s", msg && *msg ? msg : notmuch_status_to_string(st));
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	for (char *p = out; *p; p++)
		if (*p == '\n')
			*p = ' ';
	free(msg);
}

/* 1 when db_path holds no database yet (no .notmuch directory). */
static int
no_database(const char *db_path)
{
	char p[4096];
	struct stat st;

	snprintf(p, sizeof p, "%s/.notmuch", db_path);
	return lstat(p, &st) < 0 && errno == ENOENT;
}

/* 1 when another process holds the Xapian write lock of the database.
 * notmuch opens with Xapian's DB_RETRY_LOCK, so that its open would block
 * for as long as the other writer keeps the database: we look first, with
 * an open-file-description lock query on the glass backend's flintlock,
 * which sees both OFD and classic POSIX locks and takes none itself. */
static int
lock_held(const char *db_path)
{
	char p[4096];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd, held;

	snprintf(p, sizeof p, "%s/.notmuch/xapian/flintlock", db_path);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	held = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	return held;
}

int
pl_index_open(const char *db_path, notmuch_database_t **db, struct pl_err *e)
{
	long waited = 0, step = 50;
	char why[512];

	for (;;) {
		char *msg = NULL;
		notmuch_status_t st;

		if (lock_held(db_path)) {
			if (waited >= lock_wait_ms)
				return pl_errf(e, EX_TEMPFAIL, "the notmuch database in %s stayed "
				    "locked for %.1f s (another program is writing to it); try again "
				    "later", db_path, waited / 1000.0);
			goto wait;
		}
		st = notmuch_database_open_with_config(db_path,
		    NOTMUCH_DATABASE_MODE_READ_WRITE, "", NULL, db, &msg);
		if (st == NOTMUCH_STATUS_NO_DATABASE || (st == NOTMUCH_STATUS_FILE_ERROR &&
		    no_database(db_path))) {
			free(msg);
			msg = NULL;
			st = notmuch_database_create_with_config(db_path, "", NULL, db, &msg);
			if (st == NOTMUCH_STATUS_DATABASE_EXISTS) {	/* created meanwhile */
				free(msg);
				goto wait;
			}
		}
		if (st == NOTMUCH_STATUS_SUCCESS) {
			free(msg);
			return 0;
		}
		if (st != NOTMUCH_STATUS_XAPIAN_EXCEPTION || waited >= lock_wait_ms) {
			pl_index_detail(why, sizeof why, st, msg);
			return pl_errf(e, st == NOTMUCH_STATUS_XAPIAN_EXCEPTION ? EX_TEMPFAIL : EX_IOERR,
			    "cannot open the notmuch database in %s for writing: %s%s", db_path, why,
			    st == NOTMUCH_STATUS_XAPIAN_EXCEPTION ? " (is another program writing to it?)"
			    : "");
		}
		free(msg);
wait:
		if (step > lock_wait_ms - waited)
			step = lock_wait_ms - waited;
		sleep_ms(step);
		waited += step;
		if (step < 800)
			step *= 2;
	}
}

int
pl_index_add(const char *db_path, const char *file, const char *const *tags,
    struct pl_err *e)
{
	notmuch_database_t *db;
	notmuch_message_t *m = NULL;
	notmuch_status_t st;
	char why[512];
	int rc = 0;

	if (pl_index_open(db_path, &db, e) < 0)
		return -1;
	st = notmuch_database_begin_atomic(db);
	if (st == NOTMUCH_STATUS_SUCCESS) {
		st = notmuch_database_index_file(db, file, NULL, &m);
		if (st == NOTMUCH_STATUS_DUPLICATE_MESSAGE_ID)
			st = NOTMUCH_STATUS_SUCCESS;
	}
	if (st != NOTMUCH_STATUS_SUCCESS) {
		const char *s = notmuch_database_status_string(db);
		pl_index_detail(why, sizeof why, st, s ? xstrdup(s) : NULL);
		rc = pl_errf(e, st == NOTMUCH_STATUS_FILE_NOT_EMAIL ? EX_DATAERR : EX_IOERR,
		    "cannot index %s in %s: %s", file, db_path, why);
		goto out;
	}
	st = notmuch_message_freeze(m);
	for (size_t i = 0; st == NOTMUCH_STATUS_SUCCESS && tags && tags[i]; i++)
		st = notmuch_message_add_tag(m, tags[i]);
	/* Flags last: what the file name says (S, F, R…) wins over defaults. */
	if (st == NOTMUCH_STATUS_SUCCESS)
		st = notmuch_message_maildir_flags_to_tags(m);
	if (st == NOTMUCH_STATUS_SUCCESS)
		st = notmuch_message_thaw(m);
	if (st != NOTMUCH_STATUS_SUCCESS) {
		pl_index_detail(why, sizeof why, st, NULL);
		rc = pl_errf(e, EX_IOERR, "cannot tag %s in %s: %s", file, db_path, why);
	}
out:
	if (m)
		notmuch_message_destroy(m);
	if (rc == 0) {
		st = notmuch_database_end_atomic(db);
		if (st != NOTMUCH_STATUS_SUCCESS) {
			pl_index_detail(why, sizeof why, st, NULL);
			rc = pl_errf(e, EX_IOERR, "cannot commit to %s: %s", db_path, why);
		}
	}
	/* Closing commits; on an error above the atomic section is abandoned. */
	st = notmuch_database_close(db);
	if (rc == 0 && st != NOTMUCH_STATUS_SUCCESS) {
		pl_index_detail(why, sizeof why, st, NULL);
		rc = pl_errf(e, EX_IOERR, "cannot close %s: %s", db_path, why);
	}
	notmuch_database_destroy(db);
	return rc;
}

int
pl_dsn_deliver(const struct pl_dsn_params *p, const char *maildir_root, const char *account,
    char **path_out, struct pl_err *e)
{
	char *path = NULL;
	int rc;

	if (path_out)
		*path_out = NULL;
	if (pl_report_store(p, maildir_root, account, NULL, &path, e) < 0)
		return -1;
	rc = pl_index_add(maildir_root, path, pl_report_tags, e) < 0 ? 1 : 0;
	if (path_out)
		*path_out = path;
	else
		free(path);
	return rc;
}
