/* fuzz_queuefiles.c — libFuzzer target for the queue's files as the client
 * and the daemon read them, beyond the envelope parser itself (which
 * fuzz_envelope covers).
 *
 * The first byte picks the test (its value modulo 3):
 *   0: the delivery log.  The rest is "ID RCPT\n" then the log's text;
 *      pl_outbox_log_tls must give NULL or the tls= value of a "delivered"
 *      line naming that entry and recipient: one line, no longer than the
 *      log;
 *   1: an envelope as the outbox shows it: the rest is an envelope file;
 *      if pl_envelope_parse takes it, each recipient's pl_outbox_rcpt_line
 *      must be a non-empty string (the client draws controls in it, a line
 *      end from the envelope's Status or Remote too, as '?');
 *   2: a control socket request: the rest is what one read() gave the
 *      daemon (NUL-terminated there); pl_ctl_parse must say what it is, and
 *      a cancel must carry a non-empty ID and address without spaces in the
 *      ID and without line ends.
 *
 * Build: make fuzz (build-fuzz/fuzz_queuefiles).  Seeds: tests/fuzz/corpus/fuzz_queuefiles/ */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "outbox.h"
#include "queue.h"
#include "util.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void
qf_log(const char *s, size_t n)
{
	const char *nl = memchr(s, '\n', n), *sp;
	char *id, *rcpt, *tls;

	if (nl == NULL || (sp = memchr(s, ' ', (size_t)(nl - s))) == NULL)
		return;
	id = xstrndup(s, (size_t)(sp - s));
	rcpt = xstrndup(sp + 1, (size_t)(nl - sp - 1));
	tls = pl_outbox_log_tls(nl + 1, n - (size_t)(nl + 1 - s), id, rcpt);
	if (tls) {
		CHECK(strchr(tls, '\n') == NULL && strlen(tls) < n);
		CHECK(memmem(nl + 1, n - (size_t)(nl + 1 - s), " result=delivered", 17) != NULL);
		free(tls);
	}
	free(id);
	free(rcpt);
}

static void
qf_outbox(const char *text)
{
	struct pl_envelope env;
	struct pl_err e;

	if (pl_envelope_parse(text, &env, &e) < 0)
		return;
	for (size_t i = 0; i < env.nrcpt; i++) {
		struct buf b = { 0 };

		pl_outbox_rcpt_line(&env.rcpt[i], i % 2 ? "TLSv1.3" : NULL, 1700000000, &b);
		CHECK(b.len > 0 && strlen(b.p) == b.len);
		buf_free(&b);
	}
	pl_envelope_free(&env);
}

static void
qf_ctl(char *line)
{
	struct pl_ctl_req r;
	enum pl_ctl_kind k = pl_ctl_parse(line, &r);

	CHECK(k == r.kind && strpbrk(line, "\r\n") == NULL);
	if (k == PL_CTL_CANCEL) {
		CHECK(r.id && *r.id && r.addr && *r.addr && strchr(r.id, ' ') == NULL);
		CHECK(strpbrk(r.addr, "\r\n") == NULL && r.id == line + 7);
	} else if (k == PL_CTL_BAD) {
		CHECK(r.why && *r.why && r.id == NULL && r.addr == NULL);
	} else {
		CHECK(k == PL_CTL_WAKE || k == PL_CTL_FLUSH || k == PL_CTL_STATUS);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *s;

	if (n < 1)
		return 0;
	/* As the readers get them: the log and envelopes NUL-terminated after
	 * their length, the request line in a 256-byte read. */
	s = xstrndup((const char *)d + 1, n - 1);
	switch (d[0] % 3) {
	case 0:
		qf_log(s, strlen(s));
		break;
	case 1:
		qf_outbox(s);
		break;
	default:
		if (strlen(s) < 256)
			qf_ctl(s);
		break;
	}
	free(s);
	return 0;
}
