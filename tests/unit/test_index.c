/* test_index.c — pl_index_add against a real notmuch database in a
 * temporary maildir: creation, tags, maildir flags winning over defaults,
 * a duplicate Message-ID, errors. */
#include <notmuch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "index.h"
#include "maildir.h"
#include "tap.h"
#include "util.h"

static char root[256];

/* The message's tags, sorted by notmuch, joined by spaces ("" if none;
 * "(missing)" when the message is not in the database). */
static void
tags_of(const char *id, char *out, size_t len)
{
	notmuch_database_t *db;
	notmuch_message_t *m = NULL;
	notmuch_tags_t *t;
	size_t k = 0;

	snprintf(out, len, "(missing)");
	if (notmuch_database_open_with_config(root, NOTMUCH_DATABASE_MODE_READ_ONLY, "", NULL,
	    &db, NULL) != NOTMUCH_STATUS_SUCCESS)
		return;
	if (notmuch_database_find_message(db, id, &m) == NOTMUCH_STATUS_SUCCESS && m) {
		out[0] = '\0';
		for (t = notmuch_message_get_tags(m); notmuch_tags_valid(t);
		    notmuch_tags_move_to_next(t))
			k += (size_t)snprintf(out + k, len - k, "%s%s", k ? " " : "",
			    notmuch_tags_get(t));
		notmuch_message_destroy(m);
	}
	notmuch_database_destroy(db);
}

static int
nfiles(const char *id)
{
	notmuch_database_t *db;
	notmuch_message_t *m = NULL;
	int n = -1;

	if (notmuch_database_open_with_config(root, NOTMUCH_DATABASE_MODE_READ_ONLY, "", NULL,
	    &db, NULL) != NOTMUCH_STATUS_SUCCESS)
		return -1;
	if (notmuch_database_find_message(db, id, &m) == NOTMUCH_STATUS_SUCCESS && m) {
		n = notmuch_message_count_files(m);
		notmuch_message_destroy(m);
	}
	notmuch_database_destroy(db);
	return n;
}

static const char msg1[] = "From: a@example.org\r\nTo: me@example.org\r\nSubject: one\r\n"
    "Message-ID: <one@example.org>\r\nDate: Mon, 21 Sep 2026 10:00:00 +0000\r\n\r\nbody\r\n";
static const char msg2[] = "From: b@example.org\r\nTo: me@example.org\r\nSubject: two\r\n"
    "Message-ID: <two@example.org>\r\nDate: Mon, 21 Sep 2026 11:00:00 +0000\r\n\r\nbody\r\n";

int
main(void)
{
	const char *tags[] = { "inbox", "unread", "bounce", NULL };
	char dir[512], got[512], *p1 = NULL, *p2 = NULL, *p3 = NULL, sub[600];
	struct pl_err e = { 0 };
	int rc;

	snprintf(root, sizeof root, "%s/paloma-index.XXXXXX", getenv("TMPDIR") ?
	    getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir, sizeof dir, "%s/me/INBOX", root);

	/* New mail into new/: created database, tags as given. */
	pl_maildir_deliver(dir, msg1, sizeof msg1 - 1, NULL, &p1, &e);
	rc = pl_index_add(root, p1, tags, &e);
	OK(rc == 0, "indexes into a database it creates (%s)", rc ? e.msg : "ok");
	snprintf(sub, sizeof sub, "%s/.notmuch/xapian", root);
	OK(access(sub, F_OK) == 0, "database in <root>/.notmuch");
	tags_of("one@example.org", got, sizeof got);
	STREQ(got, "bounce inbox unread", "tags added");

	/* Seen and flagged in cur/: the file's flags win over "unread". */
	pl_maildir_deliver(dir, msg2, sizeof msg2 - 1, "FS", &p2, &e);
	rc = pl_index_add(root, p2, tags, &e);
	OK(rc == 0, "indexes a file in cur/ (%s)", rc ? e.msg : "ok");
	tags_of("two@example.org", got, sizeof got);
	STREQ(got, "bounce flagged inbox", "maildir flags synced: F flagged, S not unread");

	/* The same Message-ID again, in another file: fine, one message. */
	pl_maildir_deliver(dir, msg1, sizeof msg1 - 1, NULL, &p3, &e);
	rc = pl_index_add(root, p3, NULL, &e);
	OK(rc == 0, "duplicate Message-ID is fine (%s)", rc ? e.msg : "ok");
	OK(nfiles("one@example.org") == 2, "one message, two files (%d)",
	    nfiles("one@example.org"));

	/* Errors: a file that is not there; a database path that is a file. */
	snprintf(sub, sizeof sub, "%s/me/INBOX/new/nonexistent", root);
	rc = pl_index_add(root, sub, tags, &e);
	OK(rc == -1 && e.code == EX_IOERR, "missing file: error (%s)", e.msg);
	rc = pl_index_add(p1, p1, tags, &e);
	OK(rc == -1, "database path that is a file: error (%s)", e.msg);
	tags_of("one@example.org", got, sizeof got);
	STREQ(got, "bounce inbox unread", "database intact after errors");

	free(p1);
	free(p2);
	free(p3);
	pl_rmtree(root);
	return tap_done();
}
