/* fuzz_report.c — libFuzzer target for incoming delivery reports: what the
 * client makes of a bounce in the inbox (ours from dsn.c, or any MTA's
 * multipart/report with message/delivery-status and the returned mail or
 * its text/rfc822-headers).
 *
 * The input is the report's file.  It is rendered as the pager does
 * (pl_mime_render: message/delivery-status shown as text, the returned
 * mail inline), then pl_mime_report_about picks the mail it is about.  That
 * must be NULL or one "<…>" token taken from a line of the rendered body
 * (never from the report's own header block), on one line, and not the
 * report's own Message-ID.  The first byte picks the width and whether all
 * header fields are shown (more header lines: the body starts later).
 *
 * Build: make fuzz (build-fuzz/fuzz_report).  Seeds: tests/fuzz/corpus/fuzz_report/ */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mime.h"
#include "util.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/* The offset of the first character after the header block's lines. */
static size_t
rp_body_start(const struct pl_rendered *r)
{
	size_t off = 0;

	for (size_t ln = 0; ln < r->header_lines && off < r->len; ln++) {
		const char *nl = memchr(r->text + off, '\n', r->len - off);

		off = nl ? (size_t)(nl - r->text) + 1 : r->len;
	}
	return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static int fd = -1;
	static char path[64];
	struct pl_render_opts o = { 0 };
	struct pl_rendered r;
	struct pl_err e;
	char *about;

	if (n < 1 || n > 65536)
		return 0;
	if (fd < 0) {
		/* A file without a disk: /proc/self/fd/N opens the memfd again. */
		fd = memfd_create("fuzz_report", MFD_CLOEXEC);
		CHECK(fd >= 0);
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, d + 1, n - 1, 0) == (ssize_t)(n - 1));
	o.all_headers = d[0] & 1;
	o.width = (d[0] >> 1) * 2;
	o.html_command = "/nonexistent/paloma-fuzz-dumper";
	CHECK(pl_mime_render(path, &o, &r, &e) == 0);
	about = pl_mime_report_about(&r);
	if (about) {
		size_t len = strlen(about);
		char *line;

		CHECK(r.message_id != NULL && strcmp(about, r.message_id) != 0);
		CHECK(len >= 2 && about[0] == '<' && about[len - 1] == '>');
		CHECK(strchr(about, '\n') == NULL);
		/* On a "Message-ID:" line of the body. */
		line = memmem(r.text + rp_body_start(&r), r.len - rp_body_start(&r), about, len);
		CHECK(line != NULL);
		free(about);
	}
	pl_rendered_free(&r);
	return 0;
}
