/* fuzz_addr.c — libFuzzer target for RFC 5322 address lists (addr.c).
 *
 * The input, as a string, goes through pl_addr_parse_list and
 * pl_addr_parse_one; every mailbox accepted must keep the limits (64-octet
 * local part, 254-octet address, a domain in lower case), parse again to
 * itself, and every display name must be free of CR and LF.  The input is
 * also encoded as a display name (pl_encode_display_name): the result must be
 * a phrase that parses back, with RFC 2047 words of at most 75 octets.
 *
 * Build: make fuzz (build-fuzz/fuzz_addr).  Seeds: tests/fuzz/corpus/fuzz_addr/ */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "message.h"
#include "util.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int
addr_has8(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

static void
addr_check_mailbox(const char *mb)
{
	const char *at = strrchr(mb, '@'), *dom;
	char *again = NULL;
	struct pl_err e;

	CHECK(at != NULL && at != mb);
	CHECK(strlen(mb) <= 254);
	CHECK((size_t)(at - mb) <= 64);
	dom = at + 1;
	CHECK(*dom != '\0');
	if (*dom != '[')
		for (const char *q = dom; *q; q++)
			CHECK(!(*q >= 'A' && *q <= 'Z'));
	CHECK(pl_addr_equal(mb, mb));
	CHECK(strcmp(pl_addr_domain(mb), dom) == 0);
	CHECK(pl_addr_is_utf8(mb) == addr_has8(mb));
	/* A mailbox we made must be one we accept, unchanged. */
	CHECK(pl_addr_parse_one(mb, &again, &e) == 0);
	CHECK(strcmp(again, mb) == 0);
	free(again);
}

static void
addr_check_encoded(const char *name)
{
	struct buf enc = { 0 }, hdr = { 0 };
	struct pl_addrlist l = { 0 };
	struct pl_err e;
	int has8 = addr_has8(name);

	pl_encode_display_name(&enc, name);
	if (enc.p == NULL)
		buf_adds(&enc, "");
	/* No line breaks but the folding of encoded words. */
	for (size_t i = 0; i < enc.len; i++) {
		if (enc.p[i] == '\r')
			CHECK(has8 && enc.p[i + 1] == '\n' && enc.p[i + 2] == ' ');
		if (enc.p[i] == '\n')
			CHECK(i > 0 && enc.p[i - 1] == '\r');
	}
	if (has8) {
		const char *w = enc.p;
		while (w && *w) {
			const char *end = strstr(w, "\r\n ");
			size_t len = end ? (size_t)(end - w) : strlen(w);
			CHECK(len <= 75);
			CHECK(strncmp(w, "=?UTF-8?B?", 10) == 0);
			CHECK(len >= 12 && memcmp(w + len - 2, "?=", 2) == 0);
			w = end ? end + 3 : w + len;
		}
	}
	buf_printf(&hdr, "%s <a@b.test>", enc.p);
	CHECK(pl_addr_parse_list(hdr.p, &l, &e) == 0);
	CHECK(l.n == 1 && strcmp(l.v[0].mailbox, "a@b.test") == 0);
	if (!has8 && enc.p[0] == '"') {
		/* Quoted: the name comes back, less its line breaks. */
		struct buf want = { 0 };
		for (const char *q = name; *q; q++)
			if (*q != '\r' && *q != '\n')
				buf_addc(&want, *q);
		if (want.len == 0)
			CHECK(l.v[0].display == NULL);
		else
			CHECK(l.v[0].display && strcmp(l.v[0].display, want.p) == 0);
		buf_free(&want);
	}
	pl_addrlist_free(&l);
	buf_free(&enc);
	buf_free(&hdr);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct pl_addrlist l = { 0 };
	struct pl_err e;
	char *s, *one = NULL;

	if (n > 4096)
		return 0;
	s = xstrndup((const char *)d, n);	/* stops at a NUL, like a C caller */
	memset(&e, 0, sizeof e);
	if (pl_addr_parse_list(s, &l, &e) == 0) {
		for (size_t i = 0; i < l.n; i++) {
			addr_check_mailbox(l.v[i].mailbox);
			if (l.v[i].display) {
				CHECK(strchr(l.v[i].display, '\r') == NULL);
				CHECK(strchr(l.v[i].display, '\n') == NULL);
			}
		}
		if (pl_addr_parse_one(s, &one, &e) == 0) {
			CHECK(l.n == 1 && strcmp(one, l.v[0].mailbox) == 0);
			free(one);
		} else {
			CHECK(l.n != 1 && e.code == EX_DATAERR);
		}
		pl_addrlist_free(&l);
	} else {
		CHECK(l.n == 0 && l.v == NULL);
		CHECK(e.code == EX_DATAERR);
		CHECK(strncmp(e.msg, "malformed address '", 19) == 0);
		CHECK(pl_addr_parse_one(s, &one, &e) < 0);
	}
	addr_check_encoded(s);
	free(s);
	return 0;
}
