/* fuzz_smtp_reply.c — libFuzzer target for what an SMTP server sends us.
 *
 * The first input byte picks the target and the chunking:
 *   0: the reply parser alone, input fed in chunks of (byte 1) octets; its
 *      memory must stay bounded and every reply well-formed;
 *   1: a whole session (smtp.c's machine) with the rest as the server's
 *      bytes, events (TLS result, body, new transactions, QUIT) taken from
 *      the data; every recipient must get exactly one outcome;
 *   2: pl_smtp_to_7bit() over the rest as a message, then dot-stuffing; the
 *      output must be 7-bit except in headers.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE
 *   -Isrc tests/fuzz/fuzz_smtp_reply.c src/smtp.c src/util.c
 * Seeds: tests/fuzz/corpus/fuzz_smtp_reply/ */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"
#include "util.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void
fuzz_parser(const uint8_t *d, size_t n, size_t chunk)
{
	struct pl_smtp_parser ps;
	struct pl_smtp_reply r;
	struct pl_err e;
	size_t used, off = 0;

	pl_smtp_parser_init(&ps);
	while (off < n) {
		size_t len = n - off < chunk ? n - off : chunk;
		int rc = pl_smtp_parse(&ps, (const char *)d + off, len, &used, &r, &e);

		CHECK(ps.line.cap <= 2 * PL_SMTP_LINE_MAX + 2);
		CHECK(ps.raw.cap <= 2 * PL_SMTP_REPLY_MAX + 2);
		if (rc < 0)
			break;
		CHECK(used <= len);
		if (rc == 1) {
			CHECK(r.code >= 200 && r.code <= 599);
			CHECK(r.nlines >= 1 && r.nlines <= PL_SMTP_LINES_MAX);
			CHECK(strlen(r.raw) <= PL_SMTP_REPLY_MAX);
			CHECK(r.esc[0] == '\0' || r.esc[0] - '0' == r.code / 100);
			CHECK(used > 0);
		} else
			CHECK(used == len);
		off += used;
	}
	pl_smtp_parser_free(&ps);
}

static const char *const rcpts[] = { "a@mx.test", "b@mx.test", "c\xc3\xa9@mx.test" };
static int outcomes[4][3], txn_done[4];

static void
on_rcpt(void *arg, struct pl_smtp_txn *t, size_t k, const struct pl_smtp_outcome *o)
{
	int i = (int)(intptr_t)t->user;

	(void)arg;
	CHECK(k < t->nrcpt);
	CHECK(!txn_done[i]);
	CHECK(o->status[0] == '2' || o->status[0] == '4' || o->status[0] == '5');
	CHECK((o->result == PL_SMTP_DELIVERED) == (o->status[0] == '2'));
	outcomes[i][k]++;
}

static void
on_txn(void *arg, struct pl_smtp_txn *t)
{
	(void)arg;
	txn_done[(int)(intptr_t)t->user]++;
}

static void
fuzz_session(const uint8_t *d, size_t n)
{
	struct pl_smtp_params p = { 0 };
	struct pl_smtp_txn t[4];
	struct pl_smtp *s;
	size_t off = 0, out;
	int ntxn = 0, steps = 0;

	if (n < 2)
		return;
	memset(outcomes, 0, sizeof outcomes);
	memset(txn_done, 0, sizeof txn_done);
	p.helo = "client.test";
	p.tls = (enum pl_smtp_tls)(d[0] % 3);
	p.rcpt_done = on_rcpt;
	p.txn_done = on_txn;
	for (int i = 0; i < 4; i++) {
		memset(&t[i], 0, sizeof t[i]);
		t[i].sender = i == 3 ? "" : "s@client.test";
		t[i].rcpt = rcpts;
		t[i].nrcpt = (size_t)(i % 3) + 1;
		t[i].size = i * 1000;
		t[i].body_8bit = i & 1;
		t[i].user = (void *)(intptr_t)i;
	}
	size_t chunk = d[1] % 64 + 1;
	d += 2;
	n -= 2;
	s = pl_smtp_new(&p);
	pl_smtp_on_connected(s);
	if (n > 0 && d[0] == 0xff)
		pl_smtp_add_txn(s, &t[ntxn++]);
	while (steps++ < 4 * (int)n + 1000) {	/* a bound, in case of a loop */
		enum pl_smtp_want w = pl_smtp_want(s);

		if (w == PL_SMTP_WANT_DONE)
			break;
		if (w == PL_SMTP_WANT_WRITE) {
			pl_smtp_output(s, &out);
			pl_smtp_written(s, out);
			continue;
		}
		if (w == PL_SMTP_WANT_START_TLS) {
			pl_smtp_on_tls(s, off < n ? d[off++] & 1 : 1);
			continue;
		}
		if (w == PL_SMTP_WANT_BODY) {
			pl_smtp_body(s, ".x\r\n\xc3\xa9\n.", 9);
			pl_smtp_body_end(s);
			continue;
		}
		if (w == PL_SMTP_WANT_TXN) {
			if (ntxn < 4)
				CHECK(pl_smtp_add_txn(s, &t[ntxn++]) == 0);
			else
				pl_smtp_quit(s);
			continue;
		}
		if (w == PL_SMTP_WANT_CLOSE) {
			pl_smtp_on_closed(s);
			continue;
		}
		/* READ: the server's next bytes, or the end of them. */
		if (off >= n) {
			if (steps & 1)
				pl_smtp_on_timeout(s);
			else
				pl_smtp_on_closed(s);
			continue;
		}
		size_t len = n - off < chunk ? n - off : chunk;
		pl_smtp_on_data(s, (const char *)d + off, len);
		off += len;
		(void)pl_smtp_timeout(s);
	}
	CHECK(pl_smtp_want(s) == PL_SMTP_WANT_DONE);
	for (int i = 0; i < ntxn; i++) {
		CHECK(txn_done[i] == 1);
		for (size_t k = 0; k < t[i].nrcpt; k++)
			CHECK(outcomes[i][k] == 1);
	}
	pl_smtp_free(s);
}

static void
fuzz_7bit(const uint8_t *d, size_t n)
{
	struct buf out = { 0 }, st = { 0 };
	struct pl_smtp_stuffer ds;

	pl_smtp_to_7bit((const char *)d, n, &out);
	pl_smtp_stuff_init(&ds);
	pl_smtp_stuff(&ds, out.p ? out.p : "", out.len, &st);
	pl_smtp_stuff_end(&ds, &st);
	CHECK(st.len >= 3 && memcmp(st.p + st.len - 3, ".\r\n", 3) == 0);
	for (size_t i = 0; i < st.len; i++)
		if (st.p[i] == '\n')
			CHECK(i > 0 && st.p[i - 1] == '\r');
	buf_free(&out);
	buf_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n < 2)
		return 0;
	switch (d[0] % 3) {
	case 0: fuzz_parser(d + 2, n - 2, (size_t)d[1] + 1); break;
	case 1: fuzz_session(d + 1, n - 1); break;
	case 2: fuzz_7bit(d + 1, n - 1); break;
	}
	return 0;
}
