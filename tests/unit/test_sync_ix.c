/* test_sync_ix.c — the sync's indexer thread and local-changes pass against
 * a real notmuch database in a temporary maildir root: new mail tagged from
 * its flags, renames and removals followed, the journal, tags turned into
 * file names (and a second pass with nothing to do), the saved revision,
 * and another writer holding the database. */
#include <errno.h>
#include <fcntl.h>
#include <notmuch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "index.h"
#include "sync.h"
#include "tap.h"
#include "util.h"

static char root[256], inbox[512];
static int nfile;

/* Writes a message with Message-ID <id@test> as <folder>/<sub>/<name>;
 * returns the path (static until the next call). */
static const char *
put(const char *folder, const char *sub, const char *id, const char *info)
{
	static char path[1024];
	char msg[512];
	int n;

	n = snprintf(msg, sizeof msg, "From: a@example.org\nTo: me@example.org\n"
	    "Subject: %s\nMessage-ID: <%s@test>\nDate: Mon, 21 Sep 2026 10:00:00 +0000\n\n"
	    "body of %s\n", id, id, id);
	nfile++;
	snprintf(path, sizeof path, "%s/%s/%d.M1P1.test,S=%d,U=%d%s", folder, sub, nfile, n,
	    nfile, info);
	if (pl_write_new(path, msg, (size_t)n, NULL) < 0) {
		perror(path);
		exit(1);
	}
	return path;
}

static void
mkfolder(const char *f)
{
	char p[600];

	snprintf(p, sizeof p, "%s/cur", f);
	pl_mkdirs(p, 0700, NULL);
	snprintf(p, sizeof p, "%s/new", f);
	pl_mkdirs(p, 0700, NULL);
	snprintf(p, sizeof p, "%s/tmp", f);
	pl_mkdirs(p, 0700, NULL);
}

static notmuch_database_t *
ro(void)
{
	notmuch_database_t *db = NULL;

	if (notmuch_database_open_with_config(root, NOTMUCH_DATABASE_MODE_READ_ONLY, "", NULL,
	    &db, NULL) != NOTMUCH_STATUS_SUCCESS)
		return NULL;
	return db;
}

/* The tags of <id@test>, joined by spaces; "(missing)" when unknown. */
static const char *
tags(const char *id)
{
	static char out[256];
	notmuch_database_t *db = ro();
	notmuch_message_t *m = NULL;
	notmuch_tags_t *t;
	char mid[128];
	size_t k = 0;

	snprintf(out, sizeof out, "(missing)");
	snprintf(mid, sizeof mid, "%s@test", id);
	if (db && notmuch_database_find_message(db, mid, &m) == NOTMUCH_STATUS_SUCCESS && m) {
		out[0] = '\0';
		for (t = notmuch_message_get_tags(m); notmuch_tags_valid(t);
		    notmuch_tags_move_to_next(t))
			k += (size_t)snprintf(out + k, sizeof out - k, "%s%s", k ? " " : "",
			    notmuch_tags_get(t));
		notmuch_message_destroy(m);
	}
	if (db)
		notmuch_database_destroy(db);
	return out;
}

/* The file names of <id@test> (base names, joined by spaces). */
static const char *
files(const char *id)
{
	static char out[1024];
	notmuch_database_t *db = ro();
	notmuch_message_t *m = NULL;
	notmuch_filenames_t *f;
	char mid[128];
	size_t k = 0;

	snprintf(out, sizeof out, "(missing)");
	snprintf(mid, sizeof mid, "%s@test", id);
	if (db && notmuch_database_find_message(db, mid, &m) == NOTMUCH_STATUS_SUCCESS && m) {
		out[0] = '\0';
		for (f = notmuch_message_get_filenames(m); notmuch_filenames_valid(f);
		    notmuch_filenames_move_to_next(f)) {
			const char *p = notmuch_filenames_get(f);
			const char *b = strrchr(p, '/');

			/* "cur/NAME" */
			while (b > p && b[-1] != '/')
				b--;
			k += (size_t)snprintf(out + k, sizeof out - k, "%s%s", k ? " " : "", b);
		}
		notmuch_message_destroy(m);
	}
	if (db)
		notmuch_database_destroy(db);
	return out;
}

/* Changes tags of <id@test> directly, as the client or `notmuch tag` would
 * ("+flagged -unread"). */
static int
retag(const char *id, const char *change)
{
	notmuch_database_t *db;
	notmuch_message_t *m = NULL;
	char mid[128], buf[256], *w, *save;
	int rc = -1;

	if (pl_index_open(root, &db, NULL) < 0)
		return -1;
	snprintf(mid, sizeof mid, "%s@test", id);
	snprintf(buf, sizeof buf, "%s", change);
	if (notmuch_database_find_message(db, mid, &m) == NOTMUCH_STATUS_SUCCESS && m) {
		rc = 0;
		for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
			if ((w[0] == '+' ? notmuch_message_add_tag(m, w + 1) :
			    notmuch_message_remove_tag(m, w + 1)) != NOTMUCH_STATUS_SUCCESS)
				rc = -1;
		notmuch_message_destroy(m);
	}
	notmuch_database_close(db);
	notmuch_database_destroy(db);
	return rc;
}

static const char *
revision_file(const struct pl_sync *s)
{
	static char out[256];
	char p[600], *d = NULL;
	size_t n;

	snprintf(p, sizeof p, "%s/revision", s->state_dir);
	if (pl_read_file(p, 200, &d, &n) < 0)
		return "(none)";
	snprintf(out, sizeof out, "%.*s", (int)(n && d[n - 1] == '\n' ? n - 1 : n), d);
	free(d);
	return out;
}

static const char *
db_revision(void)
{
	static char out[256];
	notmuch_database_t *db = ro();
	const char *uuid;
	unsigned long r;

	if (db == NULL)
		return "(no database)";
	r = notmuch_database_get_revision(db, &uuid);
	snprintf(out, sizeof out, "%s %lu", uuid, r);
	notmuch_database_destroy(db);
	return out;
}

static size_t
reap_all(struct pl_ix *ix, struct pl_ix_done **d)
{
	size_t n;

	pl_ix_reap(ix, 1, d, &n);
	return n;
}

static int
all_ok(const struct pl_ix_done *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!d[i].ok)
			return 0;
	return 1;
}

/* Holds the database open for writing in a child for ms milliseconds;
 * returns once the child has the lock. */
static pid_t
hold_lock(long ms)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		notmuch_database_t *db;
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		close(p[0]);
		if (notmuch_database_open_with_config(root, NOTMUCH_DATABASE_MODE_READ_WRITE, "",
		    NULL, &db, NULL) != NOTMUCH_STATUS_SUCCESS)
			_exit(1);
		if (write(p[1], "l", 1) != 1)
			_exit(1);
		nanosleep(&ts, NULL);
		notmuch_database_close(db);
		_exit(0);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1) {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	return pid;
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int
main(void)
{
	const char *newtags[] = { "work", NULL };
	struct pl_config cfg = { 0 };
	struct pl_account acct = { 0 };
	struct pl_sync s = { 0 };
	struct pl_sstate st;
	struct pl_err e = { 0 };
	struct pl_ix *ix;
	struct pl_ix_done *d;
	char p1[1024], p4[1024], p5[1024], np[1024], other[512], statedir[512], keep[256];
	char dup1[1024], dup2[1024];
	size_t n;
	double t;
	pid_t pid;
	int status;

	signal(SIGPIPE, SIG_IGN);
	snprintf(root, sizeof root, "%s/paloma-ix.XXXXXX", getenv("TMPDIR") ?
	    getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(inbox, sizeof inbox, "%s/acct/INBOX", root);
	snprintf(other, sizeof other, "%s/other/INBOX", root);
	snprintf(statedir, sizeof statedir, "%s/state/sync/acct", root);
	mkfolder(inbox);
	mkfolder(other);
	cfg.maildir = root;
	acct.name = "acct";
	s.cfg = &cfg;
	s.acct = &acct;
	s.account_dir = xmalloc(strlen(root) + 8);
	sprintf(s.account_dir, "%s/acct", root);
	s.state_dir = statedir;
	if (pl_sstate_open(&st, statedir, "INBOX", &e) < 0) {
		printf("Bail out! %s\n", e.msg);
		return 1;
	}

	/* No database yet: the local pass has nothing to do. */
	OK(pl_sync_local_changes(&s, &e) == 0, "local pass without a database (%s)", e.msg);

	/* New mail: new-mail tags, then the names' flags. */
	ix = pl_ix_start(root, newtags, &e);
	OK(ix != NULL, "indexer starts (%s)", e.msg);
	snprintf(p1, sizeof p1, "%s", put(inbox, "cur", "plain", ":2,"));
	pl_ix_push(ix, PL_IX_ADD, p1, NULL, &st, 1, 0);
	pl_ix_push(ix, PL_IX_ADD, put(inbox, "cur", "seen", ":2,S"), NULL, &st, 2, PL_FL_S);
	pl_ix_push(ix, PL_IX_ADD, put(inbox, "cur", "fr", ":2,FRS"), NULL, &st, 3,
	    PL_FL_F | PL_FL_R | PL_FL_S);
	snprintf(p4, sizeof p4, "%s", put(inbox, "cur", "trash", ":2,ST"));
	pl_ix_push(ix, PL_IX_ADD, p4, NULL, &st, 4, PL_FL_S | PL_FL_T);
	snprintf(p5, sizeof p5, "%s", put(inbox, "new", "fresh", ""));
	pl_ix_push(ix, PL_IX_ADD, p5, NULL, &st, 5, 0);
	n = reap_all(ix, &d);
	OK(n == 5 && all_ok(d, n), "reap(wait) hands back all 5 adds, ok (%zu)", n);
	OK(n == 5 && d[2].st == &st && d[2].key == 3 && d[2].kind == PL_IX_ADD &&
	    d[2].flags == (PL_FL_F | PL_FL_R | PL_FL_S), "done items carry what was pushed");
	for (size_t i = 0; i < n; i++)
		pl_ix_journal(&d[i]);
	free(d);
	STREQ(tags("plain"), "inbox unread work", "no flags: inbox unread + new tags");
	STREQ(tags("seen"), "inbox work", "S: not unread");
	STREQ(tags("fr"), "flagged inbox replied work", "F R S: flagged, replied");
	STREQ(tags("trash"), "deleted inbox work", "T: deleted");
	STREQ(tags("fresh"), "inbox unread work", "new/ without info: unread");
	OK(st.n == 5 && pl_sstate_find(&st, 4) && !pl_sstate_find(&st, 4)->unindexed,
	    "journaled: 5 records, indexed");
	pl_ix_reap(ix, 0, &d, &n);
	OK(n == 0, "nothing more to reap");
	free(d);

	/* Renames: the new name replaces the old, tags follow its flags. */
	snprintf(np, sizeof np, "%.*s:2,S", (int)(strlen(p1) - 3), p1);
	rename(p1, np);
	pl_ix_push(ix, PL_IX_RENAME, p1, np, &st, 1, PL_FL_S);
	snprintf(p1, sizeof p1, "%s", np);
	snprintf(np, sizeof np, "%.*s:2,S", (int)(strlen(p4) - 5), p4);
	rename(p4, np);
	pl_ix_push(ix, PL_IX_RENAME, p4, np, &st, 4, PL_FL_S);
	snprintf(p4, sizeof p4, "%s", np);
	n = reap_all(ix, &d);
	OK(n == 2 && all_ok(d, n), "renames done");
	for (size_t i = 0; i < n; i++)
		pl_ix_journal(&d[i]);
	free(d);
	STREQ(tags("plain"), "inbox work", "renamed to S: unread removed");
	OK(strstr(files("plain"), ":2,S") && !strchr(files("plain"), ' '),
	    "database has the new name only (%s)", files("plain"));
	STREQ(tags("trash"), "inbox work", "T dropped from the name: deleted removed");
	OK(pl_sstate_find(&st, 4) && pl_sstate_find(&st, 4)->flags == PL_FL_S,
	    "journaled: new flags");

	/* Removal: the message goes; a duplicate's other file keeps it. */
	snprintf(dup1, sizeof dup1, "%s", put(inbox, "cur", "dup", ":2,S"));
	snprintf(dup2, sizeof dup2, "%s", put(other, "cur", "dup", ":2,"));
	pl_ix_push(ix, PL_IX_ADD, dup1, NULL, &st, 6, PL_FL_S);
	pl_ix_push(ix, PL_IX_ADD, dup2, NULL, NULL, 0, 0);
	n = reap_all(ix, &d);
	free(d);
	STREQ(tags("dup"), "inbox work", "duplicate: one message, flags of both files");
	unlink(dup1);
	pl_ix_push(ix, PL_IX_REMOVE, dup1, NULL, &st, 6, 0);
	unlink(p4);
	pl_ix_push(ix, PL_IX_REMOVE, p4, NULL, &st, 4, 0);
	n = reap_all(ix, &d);
	OK(n == 2 && all_ok(d, n), "removes done");
	for (size_t i = 0; i < n; i++)
		pl_ix_journal(&d[i]);
	free(d);
	STREQ(tags("trash"), "(missing)", "last file removed: message forgotten");
	STREQ(tags("dup"), "inbox unread work", "other file remains: tags from its flags");
	OK(pl_sstate_find(&st, 4) == NULL && pl_sstate_find(&st, 6) == NULL,
	    "journaled: records removed");

	/* A failure: the item is not ok, journaled unindexed, counted. */
	snprintf(np, sizeof np, "%s/cur/nonexistent,U=7:2,", inbox);
	pl_ix_push(ix, PL_IX_ADD, np, NULL, &st, 7, 0);
	n = reap_all(ix, &d);
	OK(n == 1 && !d[0].ok, "missing file: not ok");
	if (n == 1)
		pl_ix_journal(&d[0]);
	free(d);
	OK(pl_sstate_find(&st, 7) && pl_sstate_find(&st, 7)->unindexed,
	    "journaled as unindexed");
	n = pl_ix_stop(ix, &e);
	OK(n == 1 && strstr(e.msg, "nonexistent") != NULL, "stop: 1 failure, first error (%s)",
	    e.msg);

	/* Local changes: the first pass (no revision saved) looks at all of
	 * the account and saves where the database is. */
	memset(&e, 0, sizeof e);
	OK(pl_sync_local_changes(&s, &e) == 0, "local pass (%s)", e.msg);
	STREQ(revision_file(&s), db_revision(), "revision saved");

	/* Tags changed by the user become the names' flags. */
	OK(retag("fresh", "-unread +flagged +deleted") == 0, "tagged fresh: read, flagged, deleted");
	OK(retag("plain", "+flagged +replied") == 0, "tagged plain: flagged, replied");
	snprintf(keep, sizeof keep, "%s", revision_file(&s));
	OK(pl_sync_local_changes(&s, &e) == 0, "local pass (%s)", e.msg);
	OK(access(p5, F_OK) != 0, "file left new/");
	OK(strstr(files("fresh"), "cur/") && strstr(files("fresh"), ":2,FST"),
	    "fresh is now cur/…:2,FST (%s)", files("fresh"));
	STREQ(tags("fresh"), "deleted flagged inbox work", "its tags unchanged");
	OK(strstr(files("plain"), ":2,FRS") != NULL, "plain is now …:2,FRS (%s)", files("plain"));
	OK(strcmp(revision_file(&s), keep) != 0, "revision advanced");
	STREQ(revision_file(&s), db_revision(), "saved revision is the database's");

	/* A second pass finds nothing: same files, same revision, fast. */
	snprintf(keep, sizeof keep, "%s", files("fresh"));
	t = now_s();
	OK(pl_sync_local_changes(&s, &e) == 0, "second pass (%s)", e.msg);
	t = now_s() - t;
	STREQ(files("fresh"), keep, "nothing renamed");
	OK(t < 0.1, "no-change pass in %.2f ms", t * 1000);

	/* Undelete: T leaves the name. */
	OK(retag("fresh", "-deleted") == 0, "untagged deleted");
	OK(pl_sync_local_changes(&s, &e) == 0, "local pass (%s)", e.msg);
	OK(strstr(files("fresh"), ":2,FS") && !strchr(files("fresh"), 'T'),
	    "T removed (%s)", files("fresh"));

	/* Another account's messages are not looked at: a tag on a file of
	 * "other" alone is not the account's business. */
	{
		const char *po = put(other, "cur", "elsewhere", ":2,");
		struct pl_ix *ix2 = pl_ix_start(root, NULL, &e);

		pl_ix_push(ix2, PL_IX_ADD, po, NULL, NULL, 0, 0);
		n = reap_all(ix2, &d);
		free(d);
		pl_ix_stop(ix2, NULL);
		retag("elsewhere", "+flagged");
		OK(pl_sync_local_changes(&s, &e) == 0, "local pass (%s)", e.msg);
		OK(strstr(files("elsewhere"), ":2,F") == NULL, "other account's file untouched (%s)",
		    files("elsewhere"));
	}

	/* The indexer's own sessions, back to back: the saved revision may
	 * skip them.  The pass saved where it ended; sync_main calls
	 * pl_sync_local_done before pl_ix_stop. */
	OK(pl_sync_local_changes(&s, &e) == 0, "local pass");
	ix = pl_ix_start(root, newtags, &e);
	s.ix = ix;
	pl_ix_push(ix, PL_IX_ADD, put(inbox, "cur", "later1", ":2,"), NULL, &st, 11, 0);
	n = reap_all(ix, &d);
	free(d);
	pl_ix_push(ix, PL_IX_ADD, put(inbox, "cur", "later2", ":2,"), NULL, &st, 12, 0);
	n = reap_all(ix, &d);
	free(d);
	OK(pl_sync_local_done(&s, &e) == 0, "local_done (%s)", e.msg);
	STREQ(revision_file(&s), db_revision(), "contiguous sessions: final revision saved");
	pl_ix_stop(ix, NULL);
	s.ix = NULL;

	/* Someone writes between two sessions: the revision stays where the
	 * local pass left it, so that the change is seen next time. */
	OK(pl_sync_local_changes(&s, &e) == 0, "local pass");
	snprintf(keep, sizeof keep, "%s", revision_file(&s));
	ix = pl_ix_start(root, newtags, &e);
	s.ix = ix;
	pl_ix_push(ix, PL_IX_ADD, put(inbox, "cur", "later3", ":2,"), NULL, &st, 13, 0);
	n = reap_all(ix, &d);
	free(d);
	retag("later1", "+flagged");
	pl_ix_push(ix, PL_IX_ADD, put(inbox, "cur", "later4", ":2,"), NULL, &st, 14, 0);
	n = reap_all(ix, &d);
	free(d);
	OK(pl_sync_local_done(&s, &e) == 0, "local_done (%s)", e.msg);
	STREQ(revision_file(&s), keep, "interleaved writer: revision not advanced");
	pl_ix_stop(ix, NULL);
	s.ix = NULL;
	OK(pl_sync_local_changes(&s, &e) == 0, "local pass");
	OK(strstr(files("later1"), ":2,F") != NULL, "the other writer's tag reached the name (%s)",
	    files("later1"));

	/* Another writer holds the database for 1 s: the items wait and
	 * complete. */
	pid = hold_lock(1000);
	OK(pid > 0, "child holds the write lock");
	t = now_s();
	ix = pl_ix_start(root, newtags, &e);
	pl_ix_push(ix, PL_IX_ADD, put(inbox, "cur", "waited", ":2,"), NULL, &st, 15, 0);
	n = reap_all(ix, &d);
	t = now_s() - t;
	OK(n == 1 && d[0].ok, "locked 1 s: the add waits and succeeds");
	OK(t > 0.5 && t < 4, "after %.1f s", t);
	free(d);
	waitpid(pid, &status, 0);
	STREQ(tags("waited"), "inbox unread work", "indexed after the lock");

	/* Held longer than the indexer waits: the session's items fail, the
	 * run goes on. */
	pl_index_set_lock_wait(300);
	pid = hold_lock(1500);
	pl_ix_push(ix, PL_IX_ADD, put(inbox, "cur", "failed", ":2,"), NULL, &st, 16, 0);
	n = reap_all(ix, &d);
	OK(n == 1 && !d[0].ok, "locked too long: not ok");
	free(d);
	waitpid(pid, &status, 0);
	pl_ix_push(ix, PL_IX_ADD, put(inbox, "cur", "after", ":2,"), NULL, &st, 17, 0);
	n = reap_all(ix, &d);
	OK(n == 1 && d[0].ok, "the next item, lock free again: ok");
	free(d);
	memset(&e, 0, sizeof e);
	n = pl_ix_stop(ix, &e);
	OK(n == 1 && e.code == EX_TEMPFAIL, "stop: 1 failure, EX_TEMPFAIL (%s)", e.msg);
	STREQ(tags("failed"), "(missing)", "not indexed");
	pl_index_set_lock_wait(5000);

	pl_sstate_close(&st);
	free(s.account_dir);
	pl_rmtree(root);
	return tap_done();
}
