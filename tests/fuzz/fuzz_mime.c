/* fuzz_mime.c — libFuzzer target for the message renderer (mime.c,
 * mimetext.c, rfc2047.c).
 *
 * The input is a message file.  It is rendered (the first byte's low bit
 * asks for all header fields, the next bits pick a width); whatever the
 * bytes, the text must be valid UTF-8 without NUL, ESC or any other control
 * but \t and \n, and as long as it says.  Each listed attachment (the first
 * few) must save, to exactly its listed size: the render and pl_mime_save
 * number the parts alike.  The input is also decoded as one header value,
 * which must come out safe and on one line.  The HTML dumper is a program
 * that does not exist, so HTML takes the tag-stripping path (no process per
 * input).
 *
 * Build: make fuzz (build-fuzz/fuzz_mime).  Seeds: tests/fuzz/corpus/fuzz_mime/ */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/termsafe.h"
#include "mime.h"
#include "util.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int
fm_field_safe(const char *s)
{
	return s == NULL || term_safe(s, strlen(s), 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static int fd = -1;
	static char path[64], dest[64];
	struct pl_render_opts o = { 0 };
	struct pl_rendered r;
	struct pl_err e;
	size_t lines = 0;
	char *copy, *h;

	if (n < 1 || n > 65536)
		return 0;
	if (fd < 0) {
		/* A file without a disk: /proc/self/fd/N opens the memfd again. */
		fd = memfd_create("fuzz_mime", MFD_CLOEXEC);
		CHECK(fd >= 0);
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		snprintf(dest, sizeof dest, "/dev/shm/fuzz_mime.%d", (int)getpid());
	}
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, d + 1, n - 1, 0) == (ssize_t)(n - 1));
	o.all_headers = d[0] & 1;
	o.width = (d[0] >> 1) * 2;	/* 0 (the default) to 254 */
	o.html_command = "/nonexistent/paloma-fuzz-dumper";
	memset(&e, 0, sizeof e);
	CHECK(pl_mime_render(path, &o, &r, &e) == 0);
	CHECK(r.text != NULL && strlen(r.text) == r.len && term_safe(r.text, r.len, 0));
	for (size_t i = 0; i < r.len; i++)
		lines += r.text[i] == '\n';
	CHECK(r.header_lines <= lines);
	CHECK(fm_field_safe(r.auth) && fm_field_safe(r.from) && fm_field_safe(r.to));
	CHECK(fm_field_safe(r.cc) && fm_field_safe(r.subject) && fm_field_safe(r.date));
	CHECK(fm_field_safe(r.message_id) && fm_field_safe(r.in_reply_to));
	CHECK(fm_field_safe(r.references) && fm_field_safe(r.reply_to));
	for (size_t i = 0; i < r.natt; i++) {
		const struct pl_attachment *a = &r.att[i];
		struct stat st;

		CHECK(a->id > 0 && a->type && fm_field_safe(a->type) && fm_field_safe(a->filename));
		CHECK(a->filename == NULL || strchr(a->filename, '/') == NULL);
		if (i >= 3)
			continue;
		unlink(dest);
		CHECK(pl_mime_save(path, a->id, dest, &e) == 0);
		CHECK(stat(dest, &st) == 0 && (size_t)st.st_size == a->size);
		unlink(dest);
	}
	pl_rendered_free(&r);
	copy = xstrndup((const char *)d, n);
	h = pl_mime_decode_header(copy);
	CHECK(term_safe(h, strlen(h), 1));
	free(h);
	free(copy);
	return 0;
}
