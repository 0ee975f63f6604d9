/* test_maildir.c — Maildir delivery: where files land, their names, their
 * modes, and that a failed delivery leaves nothing behind. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "maildir.h"
#include "tap.h"
#include "util.h"

static char root[256];

static int
count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int
mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static int
file_is(const char *path, const char *want)
{
	char *data;
	size_t n;
	int ok;

	if (pl_read_file(path, 1 << 20, &data, &n) < 0)
		return 0;
	ok = n == strlen(want) && memcmp(data, want, n) == 0;
	free(data);
	return ok;
}

static const char msg[] = "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n";

static void
test_new(void)
{
	char dir[512], sub[600], *path = NULL;
	struct pl_err e = { 0 };
	int rc;

	snprintf(dir, sizeof dir, "%s/acct/INBOX", root);
	rc = pl_maildir_deliver(dir, msg, sizeof msg - 1, NULL, &path, &e);
	OK(rc == 0, "delivers into a folder that did not exist (%s)", rc ? e.msg : "ok");
	if (rc)
		return;
	snprintf(sub, sizeof sub, "%s/new/", dir);
	OK(strncmp(path, sub, strlen(sub)) == 0, "lands in new/: %s", path);
	OK(strchr(path + strlen(sub), ':') == NULL, "no info in a new/ name");
	OK(file_is(path, msg), "content byte for byte");
	OK(mode_of(path) == 0600, "file mode 0600 (%o)", mode_of(path));
	OK(mode_of(dir) == 0700, "folder mode 0700 (%o)", mode_of(dir));
	snprintf(sub, sizeof sub, "%s/acct", root);
	OK(mode_of(sub) == 0700, "parent created 0700 too");
	const char *subs[] = { "cur", "new", "tmp" };
	int modes_ok = 1;
	for (int i = 0; i < 3; i++) {
		snprintf(sub, sizeof sub, "%s/%s", dir, subs[i]);
		modes_ok &= mode_of(sub) == 0700;
	}
	OK(modes_ok, "cur/, new/ and tmp/ are 0700");
	snprintf(sub, sizeof sub, "%s/tmp", dir);
	OK(count(sub) == 0, "nothing left in tmp/");
	snprintf(sub, sizeof sub, "%s/cur", dir);
	OK(count(sub) == 0, "nothing in cur/");
	free(path);
}

static void
test_cur_flags(void)
{
	char dir[512], *path = NULL;
	struct pl_err e = { 0 };
	int rc;

	snprintf(dir, sizeof dir, "%s/acct/Sent", root);
	rc = pl_maildir_deliver(dir, msg, sizeof msg - 1, "SRS", &path, &e);
	OK(rc == 0, "delivers with flags");
	if (rc)
		return;
	OK(strstr(path, "/cur/") != NULL, "flags: lands in cur/");
	size_t n = strlen(path);
	OK(n > 5 && strcmp(path + n - 5, ":2,RS") == 0, "info ':2,RS': sorted, no duplicates (%s)",
	    path);
	free(path);

	rc = pl_maildir_deliver(dir, msg, sizeof msg - 1, "", &path, &e);
	OK(rc == 0 && strstr(path, "/cur/") && strcmp(path + strlen(path) - 3, ":2,") == 0,
	    "empty flags: cur/ with ':2,'");
	free(path);
	path = NULL;

	rc = pl_maildir_deliver(dir, msg, sizeof msg - 1, "S/", &path, &e);
	OK(rc == -1 && e.code == EX_USAGE && path == NULL, "bad flag refused: %s", e.msg);
	char sub[600];
	snprintf(sub, sizeof sub, "%s/cur", dir);
	OK(count(sub) == 2, "nothing delivered for a bad flag");
}

static void
test_unique(void)
{
	char dir[512], sub[600], a[512], b[512], *paths[50];
	struct pl_err e = { 0 };
	int ok = 1;

	snprintf(dir, sizeof dir, "%s/many", root);
	for (int i = 0; i < 50; i++)
		if (pl_maildir_deliver(dir, msg, sizeof msg - 1, NULL, &paths[i], &e) < 0)
			ok = 0, paths[i] = NULL;
	OK(ok, "50 deliveries in a row");
	snprintf(sub, sizeof sub, "%s/new", dir);
	OK(count(sub) == 50, "50 distinct files (%d)", count(sub));
	for (int i = 0; i < 50; i++)
		free(paths[i]);

	pl_maildir_unique(a, sizeof a);
	pl_maildir_unique(b, sizeof b);
	OK(strcmp(a, b) != 0, "two names differ");
	char host[256] = "";
	gethostname(host, sizeof host);
	OK(strchr(a, '/') == NULL && strchr(a, ':') == NULL, "no '/' or ':' in a name: %s", a);
	char want[300];
	snprintf(want, sizeof want, ".%s", host);
	OK(strchr(host, '/') || strchr(host, ':') ||
	    (strlen(a) > strlen(want) && strcmp(a + strlen(a) - strlen(want), want) == 0),
	    "name ends with the host name");
	char pid[32];
	snprintf(pid, sizeof pid, "P%ld", (long)getpid());
	OK(strstr(a, pid) && strstr(a, ".M") && strchr(a, 'R') && strchr(a, 'Q'),
	    "name has time, M usec, P pid, Q count, R random");
}

/* A folder that cannot take a delivery: the error is reported and no file
 * remains in tmp/, new/ or cur/. */
static void
test_unwritable(void)
{
	char dir[512], sub[600], *path = NULL;
	struct pl_err e = { 0 };
	int rc;

	/* new/ is a file, not a directory: the link fails after tmp/ was written. */
	snprintf(dir, sizeof dir, "%s/broken", root);
	snprintf(sub, sizeof sub, "%s/tmp", dir);
	pl_mkdirs(sub, 0700, &e);
	snprintf(sub, sizeof sub, "%s/cur", dir);
	pl_mkdirs(sub, 0700, &e);
	snprintf(sub, sizeof sub, "%s/new", dir);
	pl_write_new(sub, "x", 1, &e);
	rc = pl_maildir_deliver(dir, msg, sizeof msg - 1, NULL, &path, &e);
	OK(rc == -1 && path == NULL, "new/ not a directory: error (%s)", e.msg);
	snprintf(sub, sizeof sub, "%s/tmp", dir);
	OK(count(sub) == 0, "nothing left in tmp/");
	snprintf(sub, sizeof sub, "%s/cur", dir);
	OK(count(sub) == 0, "nothing in cur/");

	/* new/ points into another file system (/proc): the message is written
	 * to tmp/ and fsync'ed, then the link fails (EXDEV) — even for root. */
	snprintf(dir, sizeof dir, "%s/xdev", root);
	rc = pl_maildir_ensure(dir, &e);
	snprintf(sub, sizeof sub, "%s/new", dir);
	rmdir(sub);
	if (rc == 0 && symlink("/proc", sub) == 0 && mode_of("/proc") >= 0) {
		rc = pl_maildir_deliver(dir, msg, sizeof msg - 1, NULL, &path, &e);
		OK(rc == -1 && path == NULL, "link into new/ fails: error (%s)", e.msg);
		snprintf(sub, sizeof sub, "%s/tmp", dir);
		OK(count(sub) == 0, "the written tmp/ file is removed");
	} else {
		OK(1, "link into new/ fails # SKIP no /proc");
		OK(1, "the written tmp/ file is removed # SKIP no /proc");
	}

	/* tmp/ not writable (permission): only meaningful when not root. */
	snprintf(dir, sizeof dir, "%s/ro", root);
	rc = pl_maildir_ensure(dir, &e);
	OK(rc == 0, "pl_maildir_ensure makes a folder");
	snprintf(sub, sizeof sub, "%s/tmp", dir);
	chmod(sub, 0500);
	if (geteuid() != 0) {
		rc = pl_maildir_deliver(dir, msg, sizeof msg - 1, NULL, &path, &e);
		OK(rc == -1 && path == NULL && e.code == EX_CANTCREAT,
		    "unwritable tmp/: error (%s)", e.msg);
		snprintf(sub, sizeof sub, "%s/new", dir);
		OK(count(sub) == 0, "nothing in new/");
	} else {
		OK(1, "unwritable tmp/ # SKIP running as root");
		OK(1, "nothing in new/ # SKIP running as root");
	}
	snprintf(sub, sizeof sub, "%s/tmp", dir);
	chmod(sub, 0700);

	/* The folder's path runs through a regular file. */
	snprintf(sub, sizeof sub, "%s/afile", root);
	pl_write_new(sub, "x", 1, &e);
	snprintf(dir, sizeof dir, "%s/afile/INBOX", root);
	rc = pl_maildir_deliver(dir, msg, sizeof msg - 1, NULL, &path, &e);
	OK(rc == -1 && e.code == EX_CANTCREAT, "folder under a file: error (%s)", e.msg);
	rc = pl_maildir_ensure("", &e);
	OK(rc == -1, "empty folder name refused");
}

/* Once per key: a second delivery finds the first, in new/ or, read since,
 * in cur/; a leftover tmp/ file of the name is no obstacle; a key that
 * cannot be part of a file name is refused. */
static void
test_once(void)
{
	static const char other[] = "Subject: not this one\r\n\r\nx\r\n";
	char dir[512], sub[600], cur[700], *p1 = NULL, *p2 = NULL;
	struct pl_err e = { 0 };
	int rc;

	snprintf(dir, sizeof dir, "%s/once", root);
	rc = pl_maildir_deliver_once(dir, "1700000000.paloma-ABC-failed-1", msg, sizeof msg - 1,
	    &p1, &e);
	OK(rc == 0 && p1 && strstr(p1, "/new/1700000000.paloma-ABC-failed-1.") != NULL,
	    "once: delivered into new/ as KEY.HOST (%s)", p1 ? p1 : e.msg);
	rc = pl_maildir_deliver_once(dir, "1700000000.paloma-ABC-failed-1", other,
	    sizeof other - 1, &p2, &e);
	OK(rc == 1 && p1 && p2 && !strcmp(p1, p2), "once: the second time finds it in new/");
	OK(file_is(p1, msg), "... and leaves it as it was");
	snprintf(sub, sizeof sub, "%s/new", dir);
	OK(count(sub) == 1, "... one file");
	free(p2);
	p2 = NULL;

	/* read by a client: moved to cur/ with its flags */
	snprintf(cur, sizeof cur, "%s/cur/%s:2,S", dir, strrchr(p1, '/') + 1);
	OK(p1 && rename(p1, cur) == 0, "moved to cur/ as a client would");
	rc = pl_maildir_deliver_once(dir, "1700000000.paloma-ABC-failed-1", other,
	    sizeof other - 1, &p2, &e);
	OK(rc == 1 && p2 && !strcmp(p2, cur), "once: found in cur/ too (%s)", p2 ? p2 : "");
	OK(count(sub) == 0, "... nothing written into new/");
	free(p2);
	p2 = NULL;

	/* another key is another message */
	rc = pl_maildir_deliver_once(dir, "1700000000.paloma-ABC-failed-2", other,
	    sizeof other - 1, &p2, &e);
	OK(rc == 0 && count(sub) == 1, "once: another key, another file");
	free(p2);
	p2 = NULL;

	/* a crash left tmp/NAME behind */
	snprintf(sub, sizeof sub, "%s/tmp/1700000000.paloma-X-delayed-0.%s", dir,
	    strstr(p1, "failed-1.") + 9);	/* the host part */
	pl_write_new(sub, "half", 4, &e);
	rc = pl_maildir_deliver_once(dir, "1700000000.paloma-X-delayed-0", msg, sizeof msg - 1,
	    &p2, &e);
	OK(rc == 0 && p2 && file_is(p2, msg), "once: a leftover tmp/ file is replaced (%s)",
	    rc < 0 ? e.msg : "ok");
	snprintf(sub, sizeof sub, "%s/tmp", dir);
	OK(count(sub) == 0, "... and nothing stays in tmp/");
	free(p2);
	p2 = NULL;

	rc = pl_maildir_deliver_once(dir, "../x", msg, sizeof msg - 1, &p2, &e);
	OK(rc == -1 && p2 == NULL, "once: a key with '/' is refused (%s)", e.msg);
	rc = pl_maildir_deliver_once(dir, "a:2,S", msg, sizeof msg - 1, &p2, &e);
	OK(rc == -1, "once: a key with ':' is refused");
	free(p1);
}

int
main(void)
{
	snprintf(root, sizeof root, "%s/paloma-maildir.XXXXXX", getenv("TMPDIR") ?
	    getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	umask(022);
	test_new();
	test_cur_flags();
	test_unique();
	test_unwritable();
	test_once();
	pl_rmtree(root);
	return tap_done();
}
