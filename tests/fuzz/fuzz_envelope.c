/* fuzz_envelope.c — libFuzzer target for queue envelopes (queue.c).
 *
 * The first byte picks the test:
 *   even: the rest is an envelope file's text.  pl_envelope_parse refuses it
 *     (EX_DATAERR, "envelope …") or accepts it; an accepted envelope is
 *     formatted, parsed again and formatted again to the same text;
 *   odd: the rest is a list of NUL-separated strings (sender, account,
 *     Message-Id, then recipient, status, reply, remote, history… groups)
 *     put into an envelope; format then parse must give every string back
 *     exactly: the escaping of CR, LF, backslash and controls is lossless.
 *
 * Build: make fuzz (build-fuzz/fuzz_envelope).  Seeds: tests/fuzz/corpus/fuzz_envelope/ */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "util.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int
env_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
env_compare(const struct pl_envelope *a, const struct pl_envelope *b)
{
	CHECK(strcmp(a->id, b->id) == 0 && a->created == b->created);
	CHECK(env_streq(a->sender, b->sender) && env_streq(a->account, b->account));
	CHECK(env_streq(a->message_id, b->message_id));
	CHECK(a->size == b->size && a->body_8bit == b->body_8bit);
	CHECK(a->smtputf8 == b->smtputf8 && a->delay_warned == b->delay_warned);
	CHECK(a->nrcpt == b->nrcpt);
	for (size_t i = 0; i < a->nrcpt; i++) {
		const struct pl_rcpt *r = &a->rcpt[i], *s = &b->rcpt[i];
		CHECK(strcmp(r->addr, s->addr) == 0 && r->state == s->state);
		CHECK(r->attempts == s->attempts && r->next_attempt == s->next_attempt);
		CHECK(r->last_attempt == s->last_attempt);
		CHECK(env_streq(r->status, s->status) && env_streq(r->reply, s->reply));
		CHECK(env_streq(r->remote, s->remote) && r->nhistory == s->nhistory);
		for (size_t j = 0; j < r->nhistory; j++)
			CHECK(strcmp(r->history[j], s->history[j]) == 0);
	}
}

static void
env_text(const char *text)
{
	struct pl_envelope env, env2;
	struct buf f1 = { 0 }, f2 = { 0 };
	struct pl_err e;

	memset(&e, 0, sizeof e);
	if (pl_envelope_parse(text, &env, &e) < 0) {
		CHECK(e.code == EX_DATAERR && strncmp(e.msg, "envelope ", 9) == 0);
		CHECK(env.rcpt == NULL && env.sender == NULL && env.nrcpt == 0);
		return;
	}
	CHECK(pl_queue_id_valid(env.id) && env.sender != NULL && env.nrcpt > 0);
	for (size_t i = 0; i < env.nrcpt; i++) {
		CHECK(env.rcpt[i].addr[0] != '\0');
		CHECK(env.rcpt[i].state >= PL_RCPT_QUEUED && env.rcpt[i].state <= PL_RCPT_BOUNCED);
	}
	pl_envelope_format(&env, &f1);
	CHECK(pl_envelope_parse(f1.p, &env2, &e) == 0);
	env_compare(&env, &env2);
	pl_envelope_format(&env2, &f2);
	CHECK(f1.len == f2.len && strcmp(f1.p, f2.p) == 0);
	pl_envelope_free(&env);
	pl_envelope_free(&env2);
	buf_free(&f1);
	buf_free(&f2);
}

/* The next NUL-terminated string of the input, or NULL at its end. */
static char *
env_next(const uint8_t **d, const uint8_t *end)
{
	const uint8_t *z;
	char *s;

	if (*d >= end)
		return NULL;
	z = memchr(*d, '\0', (size_t)(end - *d));
	if (z == NULL)
		z = end;
	s = xstrndup((const char *)*d, (size_t)(z - *d));
	*d = z < end ? z + 1 : end;
	return s;
}

static void
env_strings(const uint8_t *d, size_t n)
{
	const uint8_t *end = d + n;
	struct pl_envelope env, back;
	struct buf f = { 0 };
	struct pl_err e;
	char *s;

	memset(&env, 0, sizeof env);
	memcpy(env.id, "0pxq3k7m2zs4b9ta", PL_QUEUE_ID_LEN + 1);
	env.created = (int64_t)n * 1000003;
	env.sender = env_next(&d, end);
	if (env.sender == NULL)
		env.sender = xstrdup("");
	env.account = env_next(&d, end);
	env.message_id = env_next(&d, end);
	env.size = (long long)n;
	env.body_8bit = n & 1;
	env.smtputf8 = (n >> 1) & 1;
	env.delay_warned = (n >> 2) & 1;
	while ((s = env_next(&d, end)) != NULL) {
		struct pl_rcpt *r;

		if (*s == '\0') {	/* an empty recipient cannot be written */
			free(s);
			continue;
		}
		pl_envelope_add_rcpt(&env, s, (int64_t)env.nrcpt * 7);
		free(s);
		r = &env.rcpt[env.nrcpt - 1];
		r->state = (enum pl_rcpt_state)(env.nrcpt % 5);
		r->attempts = (int)env.nrcpt;
		r->last_attempt = (int64_t)env.nrcpt * 3;
		r->status = env_next(&d, end);
		r->reply = env_next(&d, end);
		r->remote = env_next(&d, end);
		for (int k = 0; k < 2 && (s = env_next(&d, end)) != NULL; k++) {
			r->history = xrealloc(r->history, (r->nhistory + 1) * sizeof *r->history);
			r->history[r->nhistory++] = s;
		}
	}
	if (env.nrcpt == 0)
		pl_envelope_add_rcpt(&env, "a@b.test", 0);
	pl_envelope_format(&env, &f);
	memset(&e, 0, sizeof e);
	CHECK(pl_envelope_parse(f.p, &back, &e) == 0);
	env_compare(&env, &back);
	pl_envelope_free(&env);
	pl_envelope_free(&back);
	buf_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *text;

	if (n < 1 || n > 65536)
		return 0;
	if (d[0] & 1) {
		env_strings(d + 1, n - 1);
		return 0;
	}
	text = xstrndup((const char *)d + 1, n - 1);
	env_text(text);
	free(text);
	return 0;
}
