/* test_threads.c — the client's notmuch view on a real database in a
 * temporary maildir root: threads newest first and loaded lazily, counts,
 * a thread's messages in order, tag changes with their file renames (S
 * when unread goes, T with deleted), exact undo, and the errors (a query
 * notmuch refuses, no database at all). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "index.h"
#include "tap.h"
#include "threads.h"
#include "util.h"

static char root[256], inbox[512];

/* A message <id@test> in INBOX/new, indexed with inbox and unread. */
static void
put(const char *id, const char *subject, const char *date, const char *parent)
{
	static const char *const tags[] = { "inbox", "unread", NULL };
	char path[1024], msg[1024], irt[256] = "";
	struct pl_err e;
	int n;

	if (parent)
		snprintf(irt, sizeof irt, "In-Reply-To: <%s@test>\nReferences: <%s@test>\n", parent,
		    parent);
	n = snprintf(msg, sizeof msg, "From: Ann <ann@example.org>\nTo: me@example.org\n"
	    "Subject: %s\nMessage-ID: <%s@test>\n%sDate: %s\n\nbody of %s\n", subject, id, irt,
	    date, id);
	snprintf(path, sizeof path, "%s/new/%s.M1P1.test", inbox, id);
	if (pl_write_new(path, msg, (size_t)n, NULL) < 0 || pl_index_add(root, path, tags, &e) < 0) {
		printf("Bail out! cannot write or index %s\n", path);
		exit(1);
	}
}

/* The name of the one file of message id (in cur/ or new/), or "". */
static const char *
file_of(const char *id)
{
	static char name[512];
	const char *sub[] = { "cur", "new" };

	name[0] = '\0';
	for (int i = 0; i < 2; i++) {
		char d[600];
		DIR *dir;
		struct dirent *de;

		snprintf(d, sizeof d, "%s/%s", inbox, sub[i]);
		if ((dir = opendir(d)) == NULL)
			continue;
		while ((de = readdir(dir)) != NULL)
			if (!strncmp(de->d_name, id, strlen(id)) && de->d_name[strlen(id)] == '.')
				snprintf(name, sizeof name, "%s/%s", sub[i], de->d_name);
		closedir(dir);
	}
	return name;
}

static int
has(char **v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return 1;
	return 0;
}

static char **
msg_tags(const char *id, struct pl_tmsg **m, size_t *n)
{
	struct pl_query *q;
	struct pl_err e;
	char qs[128];

	snprintf(qs, sizeof qs, "id:%s@test", id);
	if (pl_threads_open(root, qs, &q, &e) < 0)
		return NULL;
	if (pl_threads_get(q, 0) == NULL ||
	    pl_thread_messages(q, pl_threads_get(q, 0)->id, m, n, &e) < 0) {
		pl_threads_close(q);
		return NULL;
	}
	pl_threads_close(q);
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*m)[i].id, qs + 3))
			return (*m)[i].tags;
	return NULL;
}

static void
test_reading(void)
{
	struct pl_query *q;
	struct pl_err e;
	struct pl_tmsg *m;
	const struct pl_thread *t;
	size_t n;
	int complete;

	OK(pl_threads_open(root, "tag:inbox", &q, &e) == 0, "open tag:inbox");
	OK(pl_threads_loaded(q, &complete) == 0 && !complete, "nothing loaded before asked");
	t = pl_threads_get(q, 0);
	OK(t && !strcmp(t->subject, "newest single"), "newest thread first");
	OK(pl_threads_loaded(q, NULL) == 1, "asking for the first thread loads only it");
	t = pl_threads_get(q, 1);
	/* Sorted newest first, notmuch names a thread after its newest
	 * message, without the "Re: ". */
	OK(t && !strcmp(t->subject, "the thread reply") && t->total == 3 && t->matched == 3,
	    "then the three-message thread (its newest reply counts)");
	OK(t && t->unread && has(t->tags, "inbox") && has(t->tags, "unread"), "its tags");
	OK(pl_threads_get(q, 2) && !strcmp(pl_threads_get(q, 2)->subject, "oldest single"),
	    "oldest last");
	OK(pl_threads_get(q, 3) == NULL, "past the end: NULL");
	pl_threads_loaded(q, &complete);
	OK(complete, "complete once the end was seen");
	OK(pl_threads_count(q) == 3, "three threads");
	OK(pl_threads_count_messages(q) == 5, "five messages");
	OK(pl_thread_messages(q, pl_threads_get(q, 1)->id, &m, &n, &e) == 0 && n == 3,
	    "the thread's three messages");
	OK(n == 3 && !strcmp(m[0].id, "root@test") && m[0].depth == 0 && m[1].depth == 1 &&
	    m[2].depth == 1 && m[0].matched, "in thread order, root first, replies deeper");
	OK(n == 3 && strstr(m[0].path, "/INBOX/new/root.") != NULL, "with their files");
	pl_tmsgs_free(m, n);
	pl_threads_close(q);

	OK(pl_threads_open(root, "subject:reply", &q, &e) == 0, "open subject:reply");
	t = pl_threads_get(q, 0);
	OK(t && t->matched == 2 && t->total == 3, "matched 2 of 3 in the thread");
	OK(pl_threads_get(q, 1) == NULL, "one thread");
	OK(pl_thread_messages(q, t->id, &m, &n, &e) == 0 && n == 3 && !m[0].matched &&
	    m[1].matched, "the root does not match, the replies do");
	pl_tmsgs_free(m, n);
	pl_threads_close(q);

	OK(pl_count_messages(root, "tag:unread", &e) == 5, "pl_count_messages");
	OK(pl_threads_open(root, "tag:nosuchtag", &q, &e) == 0 && pl_threads_get(q, 0) == NULL,
	    "a query matching nothing is an empty list");
	pl_threads_close(q);
}

static void
test_errors(void)
{
	struct pl_query *q = NULL;
	struct pl_err e;
	char empty[300];

	OK(pl_threads_open(root, "date:nonsense", &q, &e) < 0 && e.code == EX_DATAERR,
	    "a query notmuch refuses: EX_DATAERR");
	OK(strstr(e.msg, "date:nonsense") != NULL, "naming the query: %s", e.msg);
	OK(pl_count_messages(root, "date:nonsense", &e) < 0, "counting it fails too");
	snprintf(empty, sizeof empty, "%s/empty", root);
	pl_mkdirs(empty, 0700, NULL);
	OK(pl_threads_open(empty, "*", &q, &e) < 0 && e.code == EX_NOINPUT,
	    "no database: EX_NOINPUT (%s)", e.msg);
	OK(pl_db_stamp(empty) == 0, "no database: stamp 0");
}

static void
test_tags(void)
{
	static const char *const unread[] = { "unread", NULL }, *const inb[] = { "inbox",
		NULL }, *const del[] = { "deleted", NULL }, *const two[] = { "inbox", "work",
		NULL };
	struct pl_tag_undo u = { 0 }, u2 = { 0 };
	struct pl_tmsg *m;
	struct pl_err e;
	unsigned long long stamp = pl_db_stamp(root);
	char **tags;
	size_t n;

	OK(stamp != 0, "the database has a stamp");
	OK(pl_tag_query_undo(root, "id:old@test", NULL, unread, &u, &e) == 0, "read: -unread");
	OK(u.n == 1 && u.c[0].removed && !strcmp(u.c[0].removed[0], "unread") &&
	    u.c[0].added == NULL, "undo records the tag removed");
	OK(strstr(file_of("old"), "cur/old.M1P1.test:2,S") == file_of("old"),
	    "the file moved to cur/ with S: %s", file_of("old"));
	OK(pl_db_stamp(root) != stamp, "the stamp changed");

	OK(pl_tag_query_undo(root, "id:old@test", two, NULL, &u2, &e) == 0, "+inbox +work");
	OK(u2.n == 1 && u2.c[0].added && !strcmp(u2.c[0].added[0], "work") &&
	    u2.c[0].added[1] == NULL, "only work was a change (inbox was there)");
	OK(pl_tag_undo(root, &u2, &e) == 0, "undo +work");
	tags = msg_tags("old", &m, &n);
	OK(tags && !has(tags, "work") && has(tags, "inbox"), "work gone, inbox kept");
	pl_tmsgs_free(m, n);
	pl_tag_undo_free(&u2);

	OK(pl_tag_query_undo(root, "id:old@test", del, inb, &u2, &e) == 0, "delete");
	OK(strstr(file_of("old"), ":2,ST") != NULL, "the file has T: %s", file_of("old"));
	OK(pl_tag_undo(root, &u2, &e) == 0, "undo the delete");
	tags = msg_tags("old", &m, &n);
	OK(tags && has(tags, "inbox") && !has(tags, "deleted"), "inbox back, deleted gone");
	pl_tmsgs_free(m, n);
	OK(strstr(file_of("old"), ":2,S") && !strstr(file_of("old"), "T"), "T gone: %s",
	    file_of("old"));
	pl_tag_undo_free(&u2);

	OK(pl_tag_undo(root, &u, &e) == 0, "undo the read");
	tags = msg_tags("old", &m, &n);
	OK(tags && has(tags, "unread"), "unread again");
	pl_tmsgs_free(m, n);
	OK(strstr(file_of("old"), ":2,") && !strstr(file_of("old"), ":2,S"), "S gone: %s",
	    file_of("old"));
	pl_tag_undo_free(&u);

	OK(pl_tag_query_undo(root, "thread:{id:root@test}", NULL, inb, &u, &e) == 0 &&
	    u.n == 3, "a whole thread archived: three changes");
	OK(pl_tag_undo(root, &u, &e) == 0 && pl_count_messages(root, "tag:inbox", &e) == 5,
	    "and back");
	pl_tag_undo_free(&u);
	OK(pl_tag_query(root, "id:old@test", (const char *const[]){ "bad tag", NULL }, NULL,
	    &e) < 0 && e.code == EX_DATAERR, "a tag with a space is refused");
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(root, sizeof root, "%s/paloma-threads-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(root) == NULL)
		return 1;
	snprintf(inbox, sizeof inbox, "%s/INBOX", root);
	{
		char p[600];
		const char *sub[] = { "cur", "new", "tmp" };
		for (int i = 0; i < 3; i++) {
			snprintf(p, sizeof p, "%s/%s", inbox, sub[i]);
			pl_mkdirs(p, 0700, NULL);
		}
	}
	put("old", "oldest single", "Mon, 01 Jan 2024 10:00:00 +0000", NULL);
	put("root", "the thread", "Tue, 02 Jan 2024 10:00:00 +0000", NULL);
	put("r1", "Re: the thread reply", "Wed, 03 Jan 2024 10:00:00 +0000", "root");
	put("r2", "Re: the thread reply", "Fri, 05 Jan 2024 10:00:00 +0000", "root");
	put("new", "newest single", "Sat, 06 Jan 2024 10:00:00 +0000", NULL);

	test_reading();
	test_errors();
	test_tags();
	pl_rmtree(root);
	return tap_done();
}
