/* fuzz_message.c — libFuzzer target for the message parser (message.c).
 *
 * Any bytes: pl_message_parse either refuses them (EX_DATAERR: a NUL byte, a
 * header line over 998 octets) or yields headers and a body that keep the
 * promises of message.h: field names without spaces, colons or controls;
 * CR only in CRLF, and in header values only as folding (CRLF + WSP); no
 * header line over 998 octets; the body in CRLF lines; the 8-bit flags true.
 * Writing the message and parsing it again must give the same text.
 *
 * Build: make fuzz (build-fuzz/fuzz_message).  Seeds: tests/fuzz/corpus/fuzz_message/ */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "util.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int
msg_has8(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

/* Every CR is followed by LF, every LF follows a CR. */
static void
msg_check_crlf(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r')
			CHECK(i + 1 < n && s[i + 1] == '\n');
		if (s[i] == '\n')
			CHECK(i > 0 && s[i - 1] == '\r');
	}
}

static void
msg_check(const struct pl_message *m)
{
	int h8 = 0;

	for (size_t i = 0; i < m->nh; i++) {
		const char *name = m->h[i].name, *v = m->h[i].value;
		size_t linelen = strlen(name) + 1;

		CHECK(*name != '\0');
		for (const char *q = name; *q; q++)
			CHECK((unsigned char)*q > 32 && (unsigned char)*q < 127 && *q != ':');
		msg_check_crlf(v, strlen(v));
		for (const char *q = v; *q; q++) {
			if (*q == '\r') {
				CHECK(q[2] == ' ' || q[2] == '\t');
				CHECK(linelen <= 998);
				linelen = 0;
				q++;
				continue;
			}
			linelen++;
		}
		CHECK(linelen <= 998);
		h8 |= msg_has8(v, strlen(v)) | msg_has8(name, strlen(name));
		CHECK(pl_message_get(m, name) != NULL);
	}
	CHECK(m->header_8bit == h8);
	CHECK(m->body != NULL && strlen(m->body) == m->bodylen);
	CHECK(m->body_8bit == msg_has8(m->body, m->bodylen));
	msg_check_crlf(m->body, m->bodylen);
	CHECK(m->bodylen == 0 || (m->bodylen >= 2 &&
	    memcmp(m->body + m->bodylen - 2, "\r\n", 2) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct pl_message m, m2;
	struct buf w1 = { 0 }, w2 = { 0 };
	struct pl_err e;

	memset(&e, 0, sizeof e);
	if (pl_message_parse((const char *)d, n, &m, &e) < 0) {
		CHECK(e.code == EX_DATAERR);
		CHECK(memchr(d, '\0', n) != NULL || strstr(e.msg, "the limit is 998") != NULL);
		return 0;
	}
	CHECK(memchr(d, '\0', n) == NULL);
	msg_check(&m);

	/* Written and read again, the message is the same text. */
	pl_message_write(&m, &w1);
	msg_check_crlf(w1.p, w1.len);
	CHECK(pl_message_parse(w1.p, w1.len, &m2, &e) == 0);
	msg_check(&m2);
	CHECK(m2.nh == m.nh && m2.bodylen == m.bodylen);
	CHECK(memcmp(m2.body, m.body, m.bodylen) == 0);
	for (size_t i = 0; i < m.nh; i++) {
		CHECK(strcmp(m.h[i].name, m2.h[i].name) == 0);
		CHECK(strcmp(m.h[i].value, m2.h[i].value) == 0);
	}
	pl_message_write(&m2, &w2);
	CHECK(w1.len == w2.len && memcmp(w1.p, w2.p, w1.len) == 0);

	/* Header edits keep the rest in place. */
	if (m.nh > 0) {
		char *name = xstrdup(m.h[0].name);
		size_t before = m.nh;
		int k = pl_message_remove(&m, name);
		CHECK(k >= 1 && m.nh == before - (size_t)k);
		CHECK(pl_message_get(&m, name) == NULL);
		pl_message_add(&m, name, "x");
		CHECK(strcmp(pl_message_get(&m, name), " x") == 0);
		free(name);
	}
	pl_message_free(&m);
	pl_message_free(&m2);
	buf_free(&w1);
	buf_free(&w2);
	return 0;
}
