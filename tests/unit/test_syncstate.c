/* test_syncstate.c — a folder's sync state survives reopening and crashes
 * (torn journal lines, stale journals), damage is reported with file and
 * line, message file names carry key, size and flags, stored mail is LF and
 * leaves nothing behind on error, and folder names map both ways. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "maildir.h"
#include "syncstate.h"
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

static void
put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || pl_write_all(fd, text, strlen(text)) < 0)
		abort();
	close(fd);
}

static void
add_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);

	if (fd < 0 || pl_write_all(fd, text, strlen(text)) < 0)
		abort();
	close(fd);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- flags ---- */

static void
test_flags(void)
{
	char out[7];
	int ok = 1;

	OK(pl_flags_parse("RS") == (PL_FL_R | PL_FL_S), "RS is replied and seen");
	OK(pl_flags_parse("aSxTz") == (PL_FL_S | PL_FL_T), "other letters are not synced");
	OK(pl_flags_parse("") == 0, "no letters, no flags");
	pl_flags_format(PL_FL_ALL, out);
	STREQ(out, "DFPRST", "all flags in DFPRST order");
	pl_flags_format(PL_FL_S | PL_FL_D, out);
	STREQ(out, "DS", "D before S");
	pl_flags_format(0, out);
	STREQ(out, "", "no flags is empty");
	for (unsigned f = 0; f <= PL_FL_ALL; f++) {
		pl_flags_format(f, out);
		ok &= pl_flags_parse(out) == f;
	}
	OK(ok, "format then parse gives back each of the 64 sets");
}

/* The merge, one flag at a time: local wins when it changed, else remote. */
static unsigned
merge_ref(unsigned base, unsigned local, unsigned remote)
{
	unsigned out = 0;

	for (int i = 0; i < 6; i++) {
		unsigned b = base >> i & 1, l = local >> i & 1, r = remote >> i & 1;
		out |= (l != b ? l : r) << i;
	}
	return out;
}

static void
test_merge(void)
{
	unsigned bad = 0;

	for (unsigned b = 0; b <= PL_FL_ALL; b++)
		for (unsigned l = 0; l <= PL_FL_ALL; l++)
			for (unsigned r = 0; r <= PL_FL_ALL; r++)
				if (pl_flags_merge(b, l, r) != merge_ref(b, l, r))
					bad++;
	OK(bad == 0, "merge agrees with the per-flag rule on all 64^3 cases (%u differ)", bad);
	OK(pl_flags_merge(PL_FL_S, 0, PL_FL_S | PL_FL_F) == PL_FL_F,
	    "local unseen and remote flagged: both kept");
	OK(pl_flags_merge(0, PL_FL_T, PL_FL_T) == PL_FL_T, "both deleted: deleted");
}

/* ---- names ---- */

static void
test_names(void)
{
	struct pl_mfile m;
	char n1[512], n2[512];

	pl_mfile_name(n1, sizeof n1, 'U', 4242, 1234, PL_FL_S | PL_FL_R);
	OK(strstr(n1, ",S=1234,U=4242:2,RS") != NULL, "IMAP name: %s", n1);
	pl_mfile_parse(n1, &m);
	OK(m.kind == 'U' && m.key == 4242 && m.size == 1234 && m.flags == (PL_FL_S | PL_FL_R),
	    "IMAP name parses back");
	pl_mfile_name(n1, sizeof n1, 'P', 0x00ab00cd00ef0012ULL, 7, 0);
	OK(strstr(n1, ",S=7,P=00ab00cd00ef0012:2,") != NULL, "POP3 name, 16 lowercase hex: %s", n1);
	pl_mfile_parse(n1, &m);
	OK(m.kind == 'P' && m.key == 0x00ab00cd00ef0012ULL && m.size == 7 && m.flags == 0,
	    "POP3 name parses back");
	pl_mfile_name(n2, sizeof n2, 'P', 0x00ab00cd00ef0012ULL, 7, 0);
	OK(strcmp(n1, n2) != 0, "two names for the same message differ");

	pl_mfile_parse("123.M1P2.host,S=456,W=470:2,S", &m);
	OK(m.kind == 0 && m.key == 0 && m.size == 456 && m.flags == PL_FL_S,
	    "Dovecot name without U= is local mail with its size");
	pl_mfile_parse("1.M2.h,U=9,S=10:2,FS", &m);
	OK(m.kind == 'U' && m.key == 9 && m.size == 10 && m.flags == (PL_FL_F | PL_FL_S),
	    "U= before S=");
	pl_mfile_parse("1.M2.h,W=3,S=10,U=9", &m);
	OK(m.kind == 'U' && m.key == 9 && m.size == 10 && m.flags == 0, "no info: no flags");
	pl_mfile_parse("1.M2.h,U=0:2,S", &m);
	OK(m.kind == 0, "U=0 is no UID");
	pl_mfile_parse("1.M2.h,U=4294967296", &m);
	OK(m.kind == 0, "U= above 2^32-1 is no UID");
	pl_mfile_parse("1.M2.h,U=12x", &m);
	OK(m.kind == 0, "U= with junk is no UID");
	pl_mfile_parse("1.M2.h,P=0123456789ABCDEF", &m);
	OK(m.kind == 'P' && m.key == 0x0123456789abcdefULL, "P= in upper case hex");
	pl_mfile_parse("1.M2.h,P=0123", &m);
	OK(m.kind == 0, "P= of 4 digits is no key");
	pl_mfile_parse("U=5", &m);
	OK(m.kind == 0, "the unique part is not a field");
	pl_mfile_parse("1.M2.h:2,S,U=5", &m);
	OK(m.kind == 0 && m.flags == PL_FL_S, "fields after the info do not count");

	pl_mfile_rename(n1, sizeof n1, "1.M2.h,S=10,U=9:2,aS", PL_FL_F | PL_FL_R);
	STREQ(n1, "1.M2.h,S=10,U=9:2,FRa", "rename keeps the custom letter, sorted ASCII");
	pl_mfile_rename(n1, sizeof n1, "1.M2.h,S=10,U=9", PL_FL_S);
	STREQ(n1, "1.M2.h,S=10,U=9:2,S", "rename adds the info when missing");
	pl_mfile_rename(n1, sizeof n1, "1.M2.h,S=10,U=9:2,zTS", 0);
	STREQ(n1, "1.M2.h,S=10,U=9:2,z", "rename to no flags");

	pl_mfile_with_key(n1, sizeof n1, "123.M1P2.host,S=456,W=470:2,S", 'U', 77, -1, PL_FL_S);
	STREQ(n1, "123.M1P2.host,S=456,W=470,U=77:2,S", "with_key keeps S= and W=");
	pl_mfile_parse(n1, &m);
	OK(m.kind == 'U' && m.key == 77 && m.size == 456, "with_key name parses back");
	pl_mfile_with_key(n1, sizeof n1, "9.x,U=5,S=3:2,aT", 'U', 12, -1, PL_FL_D);
	STREQ(n1, "9.x,S=3,U=12:2,Da", "with_key replaces a key from another folder");
	pl_mfile_with_key(n1, sizeof n1, "9.x", 'P', 1, -1, 0);
	STREQ(n1, "9.x,P=0000000000000001:2,", "with_key on a bare name");
	pl_mfile_with_key(n1, sizeof n1, "9.x:2,S", 'U', 4, 1234, PL_FL_S);
	STREQ(n1, "9.x,S=1234,U=4:2,S", "with_key adds the size to local mail");
	pl_mfile_with_key(n1, sizeof n1, "9.x,S=99,W=100:2,", 'U', 4, 120, 0);
	STREQ(n1, "9.x,W=100,S=120,U=4:2,", "with_key replaces a size that is not the file's");
	pl_mfile_with_key(n1, sizeof n1, "9.x,W=1:2:2,S", 'U', 3, -1, PL_FL_S);
	STREQ(n1, "9.x,W=1\\0722,U=3:2,S", "with_key: no ':' left in the base");
	pl_mfile_parse(n1, &m);
	OK(m.kind == 'U' && m.key == 3, "so the key is not read as info");
}

/* ---- scan ---- */

static void
test_scan(void)
{
	char dir[512], p[1024];
	struct pl_mfile *v;
	size_t n;
	struct pl_err e = { 0 };
	const char *cur[] = {
		"3.a.h,S=5,U=30:2,S", "1.a.h,S=5,U=10:2,", "2.a.h,S=5,P=00000000000000ff:2,F",
		"9.a.h,S=456,W=470:2,S", ".hidden,U=1:2,S",
	};
	const char *new[] = { "4.a.h,S=5,U=20", "5.a.h" };

	snprintf(dir, sizeof dir, "%s/scan", root);
	OK(pl_folder_scan(dir, &v, &n, &e) == 0 && n == 0 && v == NULL, "missing folder: empty");
	if (pl_maildir_ensure(dir, &e) < 0)
		abort();
	for (size_t i = 0; i < sizeof cur / sizeof *cur; i++) {
		snprintf(p, sizeof p, "%s/cur/%s", dir, cur[i]);
		put_file(p, "hello");
	}
	for (size_t i = 0; i < sizeof new / sizeof *new; i++) {
		snprintf(p, sizeof p, "%s/new/%s", dir, new[i]);
		put_file(p, "hello");
	}
	snprintf(p, sizeof p, "%s/tmp/6.a.h,U=40:2,", dir);
	put_file(p, "x");
	snprintf(p, sizeof p, "%s/cur/subdir", dir);
	mkdir(p, 0700);
	OK(pl_folder_scan(dir, &v, &n, &e) == 0, "scan (%s)", e.msg);
	OK(n == 6, "six message files: not tmp/, dot files or directories (%zu)", n);
	if (n != 6) {
		pl_mfiles_free(v, n);
		return;
	}
	OK(v[0].kind == 0 && v[1].kind == 0 && v[2].kind == 'P' && v[3].kind == 'U' &&
	    v[3].key == 10 && v[4].key == 20 && v[5].key == 30, "sorted by kind, then key");
	OK(v[4].in_new && !v[3].in_new && v[4].flags == 0, "new/ marked");
	OK(v[2].key == 0xff && v[2].flags == PL_FL_F, "POP3 file read");
	OK(pl_mfile_find(v, n, 'U', 20) == &v[4], "find U 20");
	OK(pl_mfile_find(v, n, 'U', 25) == NULL && pl_mfile_find(v, n, 'P', 10) == NULL,
	    "find what is not there");
	OK(pl_mfile_find(v, n, 'P', 0xff) == &v[2], "find P");
	pl_mfiles_free(v, n);
}

static void
test_scan_large(void)
{
	char dir[512], p[1024], name[256];
	struct pl_mfile *v;
	size_t n, bad = 0;
	struct pl_err e = { 0 };
	double t;

	snprintf(dir, sizeof dir, "%s/large", root);
	if (pl_maildir_ensure(dir, &e) < 0)
		abort();
	/* Created in descending key order, so that sorting is tested. */
	for (int i = 20000; i > 0; i--) {
		snprintf(name, sizeof name, "%d.M1.h,S=1,U=%d:2,S", i, i);
		snprintf(p, sizeof p, "%s/cur/%s", dir, name);
		int fd = open(p, O_WRONLY | O_CREAT, 0600);
		if (fd < 0)
			abort();
		close(fd);
	}
	t = now_ms();
	OK(pl_folder_scan(dir, &v, &n, &e) == 0 && n == 20000, "scan of 20000 files");
	t = now_ms() - t;
	for (size_t i = 0; i < n; i++)
		bad += v[i].key != i + 1;
	OK(bad == 0, "all 20000 in key order");
	OK(t < 2000, "scan took %.1f ms", t);
	for (uint64_t k = 1; k <= 20000; k += 997)
		bad += pl_mfile_find(v, n, 'U', k) != &v[k - 1];
	OK(bad == 0, "binary search finds them");
	pl_mfiles_free(v, n);
	pl_rmtree(dir);
}

/* ---- store ---- */

static void
test_store(void)
{
	char dir[512], name[512], p[1024], *data;
	const char msg[] = "From: a\r\nSubject: x\r\n\r\nline\rwith lone CR\r\nend\r";
	const char want[] = "From: a\nSubject: x\n\nline\rwith lone CR\nend\r";
	struct pl_err e = { 0 };
	struct pl_mfile m;
	struct stat st;
	size_t len;
	int rc;

	snprintf(dir, sizeof dir, "%s/store", root);
	if (pl_maildir_ensure(dir, &e) < 0)
		abort();
	rc = pl_mfile_store(dir, 'U', 5, PL_FL_S, msg, sizeof msg - 1, 1, name, sizeof name, &e);
	OK(rc == 0, "store (%s)", rc ? e.msg : name);
	if (rc)
		return;
	snprintf(p, sizeof p, "%s/cur/%s", dir, name);
	OK(pl_read_file(p, 1 << 20, &data, &len) == 0 && len == sizeof want - 1 &&
	    memcmp(data, want, len) == 0, "CRLF stored as LF, lone CR kept");
	free(data);
	pl_mfile_parse(name, &m);
	OK(stat(p, &st) == 0 && m.size == st.st_size, "S= (%lld) is the file size", m.size);
	OK(m.kind == 'U' && m.key == 5 && m.flags == PL_FL_S, "name holds key and flags");
	OK(mode_of(p) == 0600, "file mode 0600");
	snprintf(p, sizeof p, "%s/tmp", dir);
	OK(count(p) == 0, "nothing left in tmp/");

	rc = pl_mfile_store(dir, 'P', 6, 0, msg, sizeof msg - 1, 0, name, sizeof name, &e);
	snprintf(p, sizeof p, "%s/cur/%s", dir, name);
	OK(rc == 0 && pl_read_file(p, 1 << 20, &data, &len) == 0 && len == sizeof msg - 1 &&
	    memcmp(data, msg, len) == 0, "without crlf the bytes are kept");
	if (rc == 0)
		free(data);
	pl_mfile_parse(name, &m);
	OK(m.kind == 'P' && m.key == 6 && m.size == (long long)sizeof msg - 1, "POP3 store name");

	rc = pl_mfile_store(dir, 'U', 7, 0, "", 0, 1, name, sizeof name, &e);
	pl_mfile_parse(name, &m);
	OK(rc == 0 && m.size == 0, "an empty message is stored, S=0");

	/* A large message crosses the write buffer. */
	{
		struct buf big = { 0 };
		for (int i = 0; i < 40000; i++)
			buf_adds(&big, "0123456789\r\n");
		rc = pl_mfile_store(dir, 'U', 8, 0, big.p, big.len, 1, name, sizeof name, &e);
		snprintf(p, sizeof p, "%s/cur/%s", dir, name);
		OK(rc == 0 && stat(p, &st) == 0 && st.st_size == 40000 * 11,
		    "440000 bytes after conversion");
		buf_free(&big);
	}

	OK(pl_folder_sync(dir, &e) == 0, "folder sync (%s)", e.msg);

	snprintf(p, sizeof p, "%s/gone", root);
	e.code = 0;
	rc = pl_mfile_store(p, 'U', 9, 0, "x", 1, 0, name, sizeof name, &e);
	OK(rc < 0 && e.code == EX_CANTCREAT, "missing folder: EX_CANTCREAT (%s)", e.msg);
	OK(access(p, F_OK) < 0, "and nothing created");

	/* cur/ missing: the rename fails, tmp/ must be empty afterwards. */
	snprintf(p, sizeof p, "%s/nocur", root);
	if (pl_maildir_ensure(p, &e) < 0)
		abort();
	snprintf(name, sizeof name, "%s/nocur/cur", root);
	rmdir(name);
	rc = pl_mfile_store(p, 'U', 9, 0, "x\r\n", 3, 1, name, sizeof name, &e);
	snprintf(p, sizeof p, "%s/nocur/tmp", root);
	OK(rc < 0 && count(p) == 0, "failed rename leaves nothing in tmp/ (%s)", e.msg);

	rc = pl_mfile_store(dir, 'U', 10, 0, "x", 1, 0, name, 10, &e);
	OK(rc < 0, "a name buffer too small is an error");
	snprintf(p, sizeof p, "%s/tmp", dir);
	OK(count(p) == 0, "tmp/ still empty");
}

static void
test_pop3_key(void)
{
	OK(pl_pop3_key("abc") == 0xba7816bf8f01cfeaULL, "SHA-256(abc), first 8 bytes");
	OK(pl_pop3_key("") == 0xe3b0c44298fc1c14ULL, "SHA-256 of nothing");
}

/* ---- folder names ---- */

static void
roundtrip(const char *remote, char delim, const char *local)
{
	char *l = pl_folder_local(remote, delim), *r;

	STREQ(l, local, "local name of '%s' (delim %c)", remote, delim ? delim : '0');
	if (!l)
		return;
	r = pl_folder_remote(l, delim);
	STREQ(r, remote, "and back to '%s'", remote);
	free(l);
	free(r);
}

static void
test_folders(void)
{
	const char *bad[] = {
		"", "&", "&Jjo", "&AOQ", "&AGE-", "&AOR-", "&AOQ-&AOQ-", "&AOQA-", "&3gA-",
		"&2D0-", "&AAk-", "a\x80", "a\tb", "&A-", "&A/Q-", "\x7f",
	};
	char *s;
	int nulls = 0;

	roundtrip("INBOX", '/', "INBOX");
	roundtrip("Entw&APw-rfe", '/', "Entw\xc3\xbc" "rfe");
	roundtrip("&ZeVnLIqe-", '/', "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	roundtrip("&2D3eAA-", '/', "\xf0\x9f\x98\x80");
	roundtrip("&AOQA5A-", '/', "\xc3\xa4\xc3\xa4");
	roundtrip("a&-b", '/', "a&b");
	roundtrip("&AOQ-&-", '/', "\xc3\xa4&");
	roundtrip("INBOX.Sent", '.', "INBOX/Sent");
	roundtrip("INBOX/Sent", '/', "INBOX/Sent");
	roundtrip("a/b", '.', "a%2Fb");
	roundtrip("a/b", 0, "a%2Fb");
	roundtrip("100%", '/', "100%25");
	roundtrip("%2F", '/', "%252F");
	roundtrip(".hidden", '/', "%2Ehidden");
	roundtrip("..", '/', "%2E.");
	roundtrip(".", '/', "%2E");
	roundtrip("a/../b", '/', "a/%2E./b");
	roundtrip("a.b/c", '/', "a.b/c");
	roundtrip("INBOX/cur", '/', "INBOX/%63ur");
	roundtrip("new", '/', "%6Eew");
	roundtrip("tmp.x", '.', "%74mp/x");
	roundtrip("Work/&ZeVnLIqe-/x y", '/', "Work/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/x y");
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		s = pl_folder_local(bad[i], '/');
		nulls += s == NULL;
		if (s)
			printf("# accepted '%s' as '%s'\n", bad[i], s);
		free(s);
	}
	OK(nulls == (int)(sizeof bad / sizeof *bad), "invalid modified UTF-7 refused (%d of %zu)",
	    nulls, sizeof bad / sizeof *bad);
	OK(pl_folder_local("a//b", '/') == NULL, "empty level refused");
	OK(pl_folder_local("a.", '.') == NULL, "trailing delimiter refused");
	OK(pl_folder_local("/a", '/') == NULL, "leading delimiter refused");
	OK(pl_folder_remote("a/b", 0) == NULL, "no hierarchy without a delimiter");
	OK(pl_folder_remote("a.b", '.') == NULL, "the delimiter inside a level");
	OK(pl_folder_remote(".notmuch", '/') == NULL, "hidden directories are not folders");
	OK(pl_folder_remote("INBOX/cur", '/') == NULL, "cur/ is not a folder");
	OK(pl_folder_remote("a\nb", '/') == NULL, "control characters refused");
	OK(pl_folder_remote("\xc3(", '/') == NULL, "bad UTF-8 refused");
	OK(pl_folder_remote("a%00b", '/') == NULL, "an escaped NUL refused");
	s = pl_folder_remote("50%off", '/');
	STREQ(s, "50%off", "a lone %% is itself");
	free(s);
}

/* ---- state ---- */

static int
same_state(const struct pl_sstate *a, const struct pl_sstate *b)
{
	if (a->uidvalidity != b->uidvalidity || a->highestmodseq != b->highestmodseq ||
	    a->uidnext != b->uidnext || a->n != b->n || a->nintents != b->nintents)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (a->msgs[i].key != b->msgs[i].key || a->msgs[i].flags != b->msgs[i].flags ||
		    a->msgs[i].unindexed != b->msgs[i].unindexed)
			return 0;
	for (size_t i = 0; i < a->nintents; i++)
		if (a->intents[i].lo != b->intents[i].lo || a->intents[i].hi != b->intents[i].hi)
			return 0;
	return 1;
}

static void
test_state_basic(void)
{
	struct pl_sstate s, t;
	struct pl_err e = { 0 };
	char dir[512], p[1024];
	int rc;

	snprintf(dir, sizeof dir, "%s/state/acct", root);
	rc = pl_sstate_open(&s, dir, "Work/Pro%jects", &e);
	OK(rc == 0 && s.n == 0 && s.uidvalidity == 0, "a new state is empty (%s)", e.msg);
	if (rc)
		return;
	OK(mode_of(dir) == 0700, "state directory created 0700");
	OK(strstr(s.path, "/Work%2FPro%25jects") != NULL, "file name made safe: %s", s.path);
	pl_sstate_set_uidvalidity(&s, 777);
	pl_sstate_add(&s, 3, PL_FL_S, 0);
	pl_sstate_add(&s, 1, 0, 1);
	pl_sstate_add(&s, 2, PL_FL_F, 0);
	pl_sstate_add(&s, 10, PL_FL_R, 1);
	OK(s.n == 4 && s.msgs[0].key == 1 && s.msgs[1].key == 2 && s.msgs[2].key == 3 &&
	    s.msgs[3].key == 10, "kept sorted whatever the order of adds");
	pl_sstate_add(&s, 2, PL_FL_D, 1);
	OK(s.n == 4 && pl_sstate_find(&s, 2)->flags == PL_FL_D, "adding again replaces");
	pl_sstate_set_modseq(&s, 123456789012ULL);
	pl_sstate_set_uidnext(&s, 11);
	snprintf(p, sizeof p, "%s.journal", s.path);
	OK(access(p, F_OK) < 0, "nothing written before flush");
	OK(pl_sstate_flush(&s, &e) == 0, "flush (%s)", e.msg);
	OK(mode_of(p) == 0600, "journal mode 0600");
	OK(s.pending.len == 0, "nothing pending after flush");

	rc = pl_sstate_open(&t, dir, "Work/Pro%jects", &e);
	OK(rc == 0 && same_state(&s, &t), "reopened from the journal: equal (%s)", e.msg);
	OK(t.uidvalidity == 777 && t.highestmodseq == 123456789012ULL && t.uidnext == 11,
	    "UIDVALIDITY, MODSEQ, UIDNEXT kept");
	if (rc == 0)
		pl_sstate_close(&t);

	pl_sstate_set_flags(&s, 3, PL_FL_S | PL_FL_T);
	pl_sstate_set_indexed(&s, 1);
	pl_sstate_remove(&s, 2);
	pl_sstate_remove(&s, 99);
	pl_sstate_set_flags(&s, 99, PL_FL_S);
	OK(s.n == 3 && pl_sstate_find(&s, 2) == NULL && pl_sstate_find(&s, 1)->unindexed == 0 &&
	    pl_sstate_find(&s, 3)->flags == (PL_FL_S | PL_FL_T), "changes in memory");
	OK(pl_sstate_flush(&s, &e) == 0, "flush again");
	rc = pl_sstate_open(&t, dir, "Work/Pro%jects", &e);
	OK(rc == 0 && same_state(&s, &t), "changes replayed (%s)", e.msg);
	if (rc == 0)
		pl_sstate_close(&t);

	OK(pl_sstate_compact(&s, &e) == 0, "compact (%s)", e.msg);
	OK(access(p, F_OK) < 0, "journal gone after compaction");
	snprintf(p, sizeof p, "%s.state", s.path);
	OK(mode_of(p) == 0600, "snapshot mode 0600");
	rc = pl_sstate_open(&t, dir, "Work/Pro%jects", &e);
	OK(rc == 0 && same_state(&s, &t) && t.gen == 1, "compacted state reopens equal (%s)",
	    e.msg);
	if (rc == 0)
		pl_sstate_close(&t);

	/* After a compaction, more changes go to a fresh journal. */
	pl_sstate_add(&s, 20, 0, 0);
	OK(pl_sstate_flush(&s, &e) == 0, "flush after compaction");
	rc = pl_sstate_open(&t, dir, "Work/Pro%jects", &e);
	OK(rc == 0 && same_state(&s, &t) && pl_sstate_find(&t, 20),
	    "snapshot + new journal (%s)", e.msg);
	if (rc == 0)
		pl_sstate_close(&t);
	pl_sstate_close(&s);
}

static void
test_state_torn(void)
{
	struct pl_sstate s, t;
	struct pl_err e = { 0 };
	char dir[512], p[1024];
	int rc;

	snprintf(dir, sizeof dir, "%s/state/torn", root);
	if (pl_sstate_open(&s, dir, "INBOX", &e) < 0)
		abort();
	pl_sstate_add(&s, 1, PL_FL_S, 0);
	pl_sstate_add(&s, 2, 0, 0);
	if (pl_sstate_flush(&s, &e) < 0)
		abort();
	snprintf(p, sizeof p, "%s.journal", s.path);
	add_file(p, "+ 3 S");	/* a crash while writing this line */
	rc = pl_sstate_open(&t, dir, "INBOX", &e);
	OK(rc == 0 && t.n == 2 && pl_sstate_find(&t, 3) == NULL,
	    "torn last line ignored (%s)", e.msg);
	if (rc)
		return;
	pl_sstate_add(&t, 4, PL_FL_F, 0);
	OK(pl_sstate_flush(&t, &e) == 0, "append after the torn line");
	pl_sstate_close(&t);
	rc = pl_sstate_open(&t, dir, "INBOX", &e);
	OK(rc == 0 && t.n == 3 && pl_sstate_find(&t, 4) && !pl_sstate_find(&t, 3),
	    "the torn line was cut, the new one reads (%s)", e.msg);
	if (rc == 0)
		pl_sstate_close(&t);
	pl_sstate_close(&s);

	/* A torn header alone: an empty journal. */
	snprintf(dir, sizeof dir, "%s/state/torn2", root);
	if (pl_sstate_open(&s, dir, "INBOX", &e) < 0)
		abort();
	snprintf(p, sizeof p, "%s.journal", s.path);
	put_file(p, "paloma-sync-jour");
	rc = pl_sstate_open(&t, dir, "INBOX", &e);
	OK(rc == 0 && t.n == 0 && access(p, F_OK) < 0, "torn header: empty, removed (%s)", e.msg);
	if (rc == 0)
		pl_sstate_close(&t);
	pl_sstate_close(&s);
}

static void
expect_damage(const char *dir, const char *file, const char *text, const char *where,
    const char *what)
{
	struct pl_sstate s;
	struct pl_err e = { 0 };
	char p[1024];
	int rc;

	snprintf(p, sizeof p, "%s/INBOX.%s", dir, file);
	put_file(p, text);
	rc = pl_sstate_open(&s, dir, "INBOX", &e);
	OK(rc < 0 && e.code == EX_DATAERR && strstr(e.msg, where) != NULL,
	    "%s: EX_DATAERR at %s (%s)", what, where, e.msg);
	if (rc == 0)
		pl_sstate_close(&s);
	unlink(p);
}

static void
test_state_damage(void)
{
	char dir[512];

	snprintf(dir, sizeof dir, "%s/state/damage", root);
	pl_mkdirs(dir, 0700, NULL);
	expect_damage(dir, "journal", "paloma-sync-journal 0\n+ 1 S\ngarbage\n+ 2 S\n",
	    "INBOX.journal:3", "damaged middle line");
	expect_damage(dir, "journal", "paloma-sync-journal 0\n+ 1 S\n+ 2 Q\n+ 3\n",
	    "INBOX.journal:3", "unknown flag letter");
	expect_damage(dir, "journal", "paloma-sync-journal 0\nF 5 4\n", "INBOX.journal:2",
	    "empty intent range");
	expect_damage(dir, "journal", "paloma-sync-journal 0\nV 4294967296\n",
	    "INBOX.journal:2", "UIDVALIDITY above 32 bits");
	expect_damage(dir, "journal", "+ 1 S\n", "INBOX.journal:1", "no journal header");
	expect_damage(dir, "journal", "paloma-sync-journal 3\n+ 1 S\n", "INBOX.journal:1",
	    "journal newer than the snapshot");
	expect_damage(dir, "journal", "paloma-sync-journal 0\n+  1 S\n", "INBOX.journal:2",
	    "two spaces");
	expect_damage(dir, "journal", "paloma-sync-journal 0\n+ 1 S \n", "INBOX.journal:2",
	    "trailing space");
	expect_damage(dir, "journal", "paloma-sync-journal 0\n+ 18446744073709551616 S\n",
	    "INBOX.journal:2", "key above 64 bits");
	expect_damage(dir, "state", "paloma-sync-state 1\nG 0\n+ 1 S\n+ 2 S\n",
	    "INBOX.state:5", "snapshot without its end");
	expect_damage(dir, "state", "paloma-sync-state 1\n+ 2 S\n+ 1 S\nE 2\n",
	    "INBOX.state:3", "snapshot keys out of order");
	expect_damage(dir, "state", "paloma-sync-state 1\n+ 1 S\nE 2\n", "INBOX.state:3",
	    "snapshot count wrong");
	expect_damage(dir, "state", "paloma-sync-state 2\nE 0\n", "INBOX.state:1",
	    "unknown version");
	expect_damage(dir, "state", "paloma-sync-state 1\nE 0\n+ 1 S\n", "INBOX.state:3",
	    "records after the end");
	expect_damage(dir, "state", "paloma-sync-state 1\n- 1\nE 0\n", "INBOX.state:2",
	    "removal in a snapshot");
	expect_damage(dir, "state", "paloma-sync-state 1\nE 0", "INBOX.state:2",
	    "snapshot without final newline");
}

/* A compaction that crashed after writing the snapshot but before removing
 * the journal: the old journal must not be replayed again. */
static void
test_state_stale(void)
{
	struct pl_sstate s, t;
	struct pl_err e = { 0 };
	char dir[512], p[1024], *old;
	size_t len;
	int rc;

	snprintf(dir, sizeof dir, "%s/state/stale", root);
	if (pl_sstate_open(&s, dir, "INBOX", &e) < 0)
		abort();
	pl_sstate_add(&s, 1, 0, 0);
	pl_sstate_add(&s, 2, 0, 0);
	if (pl_sstate_intent(&s, 5, 9, &e) < 0)
		abort();
	pl_sstate_remove(&s, 1);
	if (pl_sstate_flush(&s, &e) < 0)
		abort();
	snprintf(p, sizeof p, "%s.journal", s.path);
	if (pl_read_file(p, 1 << 20, &old, &len) < 0)
		abort();
	if (pl_sstate_compact(&s, &e) < 0)
		abort();
	put_file(p, old);
	free(old);
	rc = pl_sstate_open(&t, dir, "INBOX", &e);
	OK(rc == 0 && same_state(&s, &t) && !pl_sstate_intended(&t, 6),
	    "stale journal ignored: no intent, no message 1 back (%s)", e.msg);
	OK(access(p, F_OK) < 0, "and removed");
	if (rc == 0)
		pl_sstate_close(&t);
	pl_sstate_close(&s);
}

static void
test_state_intents(void)
{
	struct pl_sstate s, t;
	struct pl_err e = { 0 };
	char dir[512];
	int rc;

	snprintf(dir, sizeof dir, "%s/state/intent", root);
	if (pl_sstate_open(&s, dir, "INBOX", &e) < 0)
		abort();
	OK(pl_sstate_intent(&s, 10, 20, &e) == 0, "intent 10:20");
	OK(pl_sstate_intent(&s, 21, 30, &e) == 0, "intent 21:30");
	OK(pl_sstate_intent(&s, 100, 100, &e) == 0, "intent 100");
	OK(s.nintents == 2, "adjacent ranges merged (%zu)", s.nintents);
	OK(pl_sstate_intent(&s, 5, 4, &e) < 0, "an empty range is refused");
	OK(s.pending.len == 0, "intent flushed at once");
	OK(pl_sstate_intended(&s, 10) && pl_sstate_intended(&s, 30) &&
	    pl_sstate_intended(&s, 100) && !pl_sstate_intended(&s, 9) &&
	    !pl_sstate_intended(&s, 31) && !pl_sstate_intended(&s, 99),
	    "intended inside the ranges only");
	rc = pl_sstate_open(&t, dir, "INBOX", &e);
	OK(rc == 0 && pl_sstate_intended(&t, 15) && pl_sstate_intended(&t, 100) &&
	    !pl_sstate_intended(&t, 50), "intents survive a crash (%s)", e.msg);
	if (rc == 0)
		pl_sstate_close(&t);
	OK(pl_sstate_compact(&s, &e) == 0 && !pl_sstate_intended(&s, 15),
	    "compaction ends the intents");
	rc = pl_sstate_open(&t, dir, "INBOX", &e);
	OK(rc == 0 && !pl_sstate_intended(&t, 15) && t.nintents == 0,
	    "and they stay ended (%s)", e.msg);
	if (rc == 0)
		pl_sstate_close(&t);
	pl_sstate_close(&s);
}

static void
test_state_uidvalidity(void)
{
	struct pl_sstate s, t;
	struct pl_err e = { 0 };
	char dir[512];
	int rc;

	snprintf(dir, sizeof dir, "%s/state/uv", root);
	if (pl_sstate_open(&s, dir, "INBOX", &e) < 0)
		abort();
	pl_sstate_set_uidvalidity(&s, 1);
	pl_sstate_add(&s, 1, 0, 0);
	pl_sstate_add(&s, 2, 0, 0);
	pl_sstate_set_uidnext(&s, 3);
	pl_sstate_set_modseq(&s, 50);
	if (pl_sstate_intent(&s, 3, 4, &e) < 0 || pl_sstate_compact(&s, &e) < 0)
		abort();
	if (pl_sstate_intent(&s, 3, 4, &e) < 0)
		abort();
	pl_sstate_set_uidvalidity(&s, 1);
	OK(s.n == 2, "the same UIDVALIDITY again keeps the records");
	pl_sstate_set_uidvalidity(&s, 2);
	OK(s.n == 0 && s.nintents == 0 && s.uidvalidity == 2 && s.uidnext == 0 &&
	    s.highestmodseq == 0, "a new UIDVALIDITY forgets records, intents, UIDNEXT, MODSEQ");
	pl_sstate_add(&s, 7, PL_FL_S, 0);
	if (pl_sstate_flush(&s, &e) < 0)
		abort();
	rc = pl_sstate_open(&t, dir, "INBOX", &e);
	OK(rc == 0 && same_state(&s, &t) && t.n == 1 && t.msgs[0].key == 7,
	    "reset replayed over the snapshot (%s)", e.msg);
	if (rc == 0)
		pl_sstate_close(&t);
	pl_sstate_close(&s);
}

static void
test_state_many(void)
{
	struct pl_sstate s, t;
	struct pl_err e = { 0 };
	char dir[512];
	double t0, t_add, t_journal, t_snap;
	size_t bad = 0;
	int rc;

	snprintf(dir, sizeof dir, "%s/state/many", root);
	if (pl_sstate_open(&s, dir, "INBOX", &e) < 0)
		abort();
	pl_sstate_set_uidvalidity(&s, 42);
	t0 = now_ms();
	for (uint64_t k = 1; k <= 100000; k++)
		pl_sstate_add(&s, k * 3, (unsigned)(k % 64), k % 7 == 0);
	t_add = now_ms() - t0;
	OK(s.n == 100000 && t_add < 1000, "100000 ascending adds in %.1f ms", t_add);
	for (uint64_t k = 100000; k > 90000; k--)
		pl_sstate_remove(&s, k * 3);
	for (uint64_t k = 1; k <= 1000; k++)
		pl_sstate_set_flags(&s, k * 3, PL_FL_S);
	if (pl_sstate_flush(&s, &e) < 0)
		abort();
	t0 = now_ms();
	rc = pl_sstate_open(&t, dir, "INBOX", &e);
	t_journal = now_ms() - t0;
	OK(rc == 0 && same_state(&s, &t), "90000 messages replayed from the journal, equal");
	OK(t_journal < 2000, "journal replay took %.1f ms", t_journal);
	if (rc == 0)
		pl_sstate_close(&t);
	if (pl_sstate_compact(&s, &e) < 0)
		abort();
	t0 = now_ms();
	rc = pl_sstate_open(&t, dir, "INBOX", &e);
	t_snap = now_ms() - t0;
	OK(rc == 0 && same_state(&s, &t), "and from the snapshot");
	OK(t_snap < 1000, "snapshot load of 90000 took %.1f ms", t_snap);
	for (uint64_t k = 1; rc == 0 && k <= 90000; k += 101)
		bad += pl_sstate_find(&t, k * 3) == NULL || pl_sstate_find(&t, k * 3 + 1) != NULL;
	OK(rc == 0 && bad == 0, "find on the loaded state");
	if (rc == 0)
		pl_sstate_close(&t);
	pl_sstate_close(&s);

	/* The acceptance figure: 10,000 messages round trip. */
	snprintf(dir, sizeof dir, "%s/state/tenk", root);
	if (pl_sstate_open(&s, dir, "INBOX", &e) < 0)
		abort();
	for (uint64_t k = 1; k <= 10000; k++)
		pl_sstate_add(&s, k, PL_FL_S, 0);
	if (pl_sstate_flush(&s, &e) < 0 || pl_sstate_compact(&s, &e) < 0)
		abort();
	t0 = now_ms();
	rc = pl_sstate_open(&t, dir, "INBOX", &e);
	t_snap = now_ms() - t0;
	OK(rc == 0 && same_state(&s, &t), "10000 adds round trip");
	OK(t_snap < 100, "loading 10000 took %.2f ms", t_snap);
	if (rc == 0)
		pl_sstate_close(&t);
	pl_sstate_close(&s);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(root, sizeof root, "%s/paloma-syncstate-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root))
		return 1;
	test_flags();
	test_merge();
	test_names();
	test_scan();
	test_scan_large();
	test_store();
	test_pop3_key();
	test_folders();
	test_state_basic();
	test_state_torn();
	test_state_damage();
	test_state_stale();
	test_state_intents();
	test_state_uidvalidity();
	test_state_many();
	pl_rmtree(root);
	return tap_done();
}
