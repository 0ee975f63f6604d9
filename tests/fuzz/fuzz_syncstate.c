/* fuzz_syncstate.c — libFuzzer target for syncstate.c's parsers.
 *
 * The first byte picks the test (its value modulo 4):
 *   0: the rest is a snapshot and a journal, split at the first NUL byte,
 *      written to a fresh directory and loaded with pl_sstate_open.  A
 *      refusal must be EX_DATAERR naming the .state or .journal file; a
 *      loaded state must be sorted, survive a change, a flush, a compaction
 *      and a reload unchanged, and have lost its intents;
 *   1: the same with the whole rest as the journal and no snapshot;
 *   2: the second byte is the hierarchy delimiter (0, '/', '.' or itself),
 *      the rest a server folder name for pl_folder_local; a name it accepts
 *      must come back exactly from pl_folder_remote;
 *   3: the rest is a message file name: pl_mfile_parse, then renames and
 *      key changes must keep what they do not change.
 *
 * Build: make fuzz (build-fuzz/fuzz_syncstate).  Seeds: tests/fuzz/corpus/fuzz_syncstate/ */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "syncstate.h"
#include "util.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void
ss_put(const char *dir, const char *name, const uint8_t *d, size_t n)
{
	char path[512];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(pl_write_all(fd, d, n) == 0);
	close(fd);
}

static int
ss_same(const struct pl_sstate *a, const struct pl_sstate *b)
{
	if (a->uidvalidity != b->uidvalidity || a->highestmodseq != b->highestmodseq ||
	    a->uidnext != b->uidnext || a->n != b->n || a->nintents != b->nintents)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (a->msgs[i].key != b->msgs[i].key || a->msgs[i].flags != b->msgs[i].flags ||
		    a->msgs[i].unindexed != b->msgs[i].unindexed)
			return 0;
	return 1;
}

static void
ss_state(const uint8_t *d, size_t n, int with_snapshot)
{
	struct pl_sstate s, t;
	struct pl_err e;
	char dir[256];
	const uint8_t *z = with_snapshot ? memchr(d, '\0', n) : d;
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	/* tmpfs when there is one: compaction fsyncs. */
	snprintf(dir, sizeof dir, "%s/fuzz_syncstate.XXXXXX", tmp);
	CHECK(mkdtemp(dir) != NULL);
	if (with_snapshot)
		ss_put(dir, "F.state", d, z ? (size_t)(z - d) : n);
	if (z)
		ss_put(dir, "F.journal", z + with_snapshot, n - (size_t)(z - d) - with_snapshot);
	memset(&e, 0, sizeof e);
	if (pl_sstate_open(&s, dir, "F", &e) < 0) {
		CHECK(e.code == EX_DATAERR);
		CHECK(strstr(e.msg, "F.state:") != NULL || strstr(e.msg, "F.journal:") != NULL);
		CHECK(pl_rmtree(dir) == 0);
		return;
	}
	for (size_t i = 1; i < s.n; i++)
		CHECK(s.msgs[i - 1].key < s.msgs[i].key);
	for (size_t i = 0; i < s.n; i++)
		CHECK((s.msgs[i].flags & ~(unsigned)PL_FL_ALL) == 0 && s.msgs[i].unindexed <= 1);
	for (size_t i = 0; i < s.nintents; i++) {
		CHECK(s.intents[i].lo <= s.intents[i].hi);
		CHECK(pl_sstate_intended(&s, s.intents[i].lo));
	}

	/* What was loaded, changed a little, must write and read back. */
	pl_sstate_add(&s, s.n ? s.msgs[s.n - 1].key / 2 : 7, PL_FL_S, 1);
	if (s.n > 1) {
		pl_sstate_set_flags(&s, s.msgs[0].key, s.msgs[0].flags ^ PL_FL_F);
		pl_sstate_remove(&s, s.msgs[s.n - 1].key);
	}
	CHECK(pl_sstate_flush(&s, &e) == 0);
	CHECK(pl_sstate_open(&t, dir, "F", &e) == 0);
	CHECK(ss_same(&s, &t));
	pl_sstate_close(&t);
	CHECK(pl_sstate_compact(&s, &e) == 0);
	CHECK(s.nintents == 0);
	CHECK(pl_sstate_open(&t, dir, "F", &e) == 0);
	CHECK(ss_same(&s, &t) && t.gen == s.gen);
	pl_sstate_close(&t);
	pl_sstate_close(&s);
	CHECK(pl_rmtree(dir) == 0);
}

static void
ss_folder(const uint8_t *d, size_t n)
{
	char delim, *name, *local, *remote;

	if (n < 1)
		return;
	switch (d[0] % 4) {
	case 0: delim = 0; break;
	case 1: delim = '/'; break;
	case 2: delim = '.'; break;
	default: delim = (char)d[0]; break;
	}
	name = xstrndup((const char *)d + 1, n - 1);
	local = pl_folder_local(name, delim);
	if (local) {
		CHECK(*local != '\0' && local[0] != '/' && strstr(local, "//") == NULL);
		remote = pl_folder_remote(local, delim);
		CHECK(remote != NULL && strcmp(remote, name) == 0);
		free(remote);
		free(local);
	}
	/* Any string as a local path: refused, or a valid server name. */
	remote = pl_folder_remote(name, delim);
	if (remote) {
		local = pl_folder_local(remote, delim);
		CHECK(local != NULL);
		free(local);
		free(remote);
	}
	free(name);
}

static void
ss_name(const uint8_t *d, size_t n)
{
	char *name = xstrndup((const char *)d, n);
	char out[8192];
	struct pl_mfile m, r;
	unsigned flags = n ? d[0] & PL_FL_ALL : 0;

	pl_mfile_parse(name, &m);
	CHECK(m.kind == 0 || m.kind == 'U' || m.kind == 'P');
	CHECK(m.kind != 0 || m.key == 0);
	CHECK((m.flags & ~(unsigned)PL_FL_ALL) == 0 && m.size >= -1);
	CHECK(pl_flags_parse(name) == pl_flags_parse(name) && (pl_flags_parse(name) & ~63u) == 0);

	pl_mfile_rename(out, sizeof out, name, flags);
	if (strlen(out) + 1 < sizeof out) {
		pl_mfile_parse(out, &r);
		CHECK(r.kind == m.kind && r.key == m.key && r.size == m.size && r.flags == flags);
	}
	pl_mfile_with_key(out, sizeof out, name, 'U', (uint64_t)n + 1, (long long)n, flags);
	if (strlen(out) + 1 < sizeof out) {
		pl_mfile_parse(out, &r);
		CHECK(r.kind == 'U' && r.key == (uint64_t)n + 1 && r.flags == flags);
		CHECK(r.size == (long long)n);
	}
	pl_mfile_name(out, sizeof out, 'P', (uint64_t)n * 0x9e3779b97f4a7c15ULL, n, flags);
	pl_mfile_parse(out, &r);
	CHECK(r.kind == 'P' && r.key == (uint64_t)n * 0x9e3779b97f4a7c15ULL);
	CHECK(r.size == (long long)n && r.flags == flags);
	free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n < 1 || n > 65536)
		return 0;
	switch (d[0] % 4) {
	case 0:
		ss_state(d + 1, n - 1, 1);
		break;
	case 1:
		ss_state(d + 1, n - 1, 0);
		break;
	case 2:
		ss_folder(d + 1, n - 1);
		break;
	default:
		ss_name(d + 1, n - 1);
		break;
	}
	return 0;
}
