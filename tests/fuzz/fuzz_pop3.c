/* fuzz_pop3.c — libFuzzer target for the POP3 replies sync_pop3.c reads
 * itself (sync_pop3.h), over libetpan's stream and line reader.
 *
 * The first input byte is the stream's read size (1..256 octets per read,
 * so that lines cross its buffer anywhere); the rest is what the server
 * says, read as sync_pop3.c's dialogue reads it: UIDL's status and listing,
 * LIST's status and listing, then a RETR status and body per listed
 * message, then DELE and QUIT statuses, until the bytes end.  Every status
 * text must be one non-empty line without controls; every body whole lines
 * with the dot-stuffing undone; a listing sorted by number, each number in
 * range, and of the messages sharing a UIDL exactly the first not skipped.
 *
 * Build: make fuzz (build-fuzz/fuzz_pop3).  Seeds: tests/fuzz/corpus/fuzz_pop3/ */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memstream.h"
#include "sync_pop3.h"
#include "syncstate.h"
#include "util.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/* Bounds the work per input: a listing of a million messages is fine for
 * the parser but would make each run slow. */
#define P3_MAX_RETR 64

static int
p3_status(mailstream *s, MMAPString *line)
{
	char reply[512];
	int r = pl_pop3_status(s, line, reply, sizeof reply);

	CHECK(r >= -1 && r <= 1);
	if (r >= 0) {
		CHECK(reply[0] != '\0' && strlen(reply) < sizeof reply);
		for (const char *p = reply; *p; p++)
			CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	}
	return r;
}

/* A body: -1 at the end of the input, else 0 with whole lines in b. */
static int
p3_body(mailstream *s, MMAPString *line, struct buf *b)
{
	b->len = 0;
	if (pl_pop3_body(s, line, b) < 0)
		return -1;
	CHECK(b->len == 0 || b->p[b->len - 1] == '\n');
	CHECK(b->len == 0 || b->p[b->len] == '\0');
	return 0;
}

static void
p3_check_listing(const struct pl_pop3_msg *m, size_t n, size_t nlines)
{
	CHECK(n <= nlines);
	for (size_t i = 0; i < n; i++) {
		CHECK(m[i].num > 0);
		CHECK(i == 0 || m[i - 1].num <= m[i].num);
	}
	/* Of the messages sharing a UIDL, exactly one counts. */
	for (size_t i = 0; i < n; i++) {
		size_t counted = 0;

		for (size_t k = 0; k < n; k++)
			counted += m[k].key == m[i].key && !m[k].skip;
		CHECK(counted == 1);
	}
}

static size_t
p3_lines(const struct buf *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->len; i++)
		n += b->p[i] == '\n';
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct fz_mem mem = { 0 };
	struct pl_pop3_msg *m = NULL;
	struct buf b = { 0 };
	MMAPString *line;
	mailstream *s;
	size_t nm = 0, nlines;

	if (n < 1)
		return 0;
	mem.chunk = (size_t)d[0] + 1;
	mem.p = d + 1;
	mem.n = n - 1;
	s = fz_mem_stream(&mem);
	line = mmap_string_new("");
	CHECK(s != NULL && line != NULL);
	if (p3_status(s, line) != 1 || p3_body(s, line, &b) < 0)
		goto out;
	nlines = p3_lines(&b);
	pl_pop3_uidls(b.p, b.len, &m, &nm);
	CHECK(nm <= nlines);
	if (nm == 0 || p3_status(s, line) != 1 || p3_body(s, line, &b) < 0)
		goto out;
	pl_pop3_sizes(b.p, b.len, m, nm);
	p3_check_listing(m, nm, nlines);
	for (size_t i = 0; i < nm && i < P3_MAX_RETR; i++) {
		int r = p3_status(s, line);

		if (r < 0)
			goto out;
		if (r == 1 && p3_body(s, line, &b) < 0)
			goto out;
	}
	for (size_t i = 0; i < nm && i < P3_MAX_RETR; i++)
		if (p3_status(s, line) != 1)
			break;
	p3_status(s, line);
out:
	free(m);
	buf_free(&b);
	mmap_string_free(line);
	mailstream_close(s);
	return 0;
}
