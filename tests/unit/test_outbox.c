/* test_outbox.c — the outbox's view of the queue (outbox.c) and cancelling
 * one recipient (queue.c: pl_envelope_cancel_rcpt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "outbox.h"
#include "paths.h"
#include "queue.h"
#include "tap.h"

static const char *msg =
    "From: me@example.org\r\nTo: a@example.net, b@example.net\r\nSubject: hello\r\n\r\nhi\r\n";

static void
test_lines(void)
{
	struct pl_rcpt r = { 0 };
	struct buf b = { 0 };
	int64_t now = 1795424304;

	r.addr = "a@example.net";
	r.state = PL_RCPT_QUEUED;
	r.next_attempt = now;
	pl_outbox_rcpt_line(&r, NULL, now, &b);
	STREQ(b.p, "queued", "queued");
	b.len = 0;

	r.state = PL_RCPT_DEFERRED;
	r.attempts = 2;
	r.next_attempt = now + 240;
	r.reply = "451 4.7.1 Greylisted\nsecond line";
	pl_outbox_rcpt_line(&r, NULL, now, &b);
	STREQ(b.p, "deferred, next try in 4m (2 attempts): 451 4.7.1 Greylisted",
	    "deferred: next attempt and the first line of the reply");
	b.len = 0;

	r.state = PL_RCPT_BOUNCED;
	r.remote = "mx.example.net [192.0.2.1]";
	r.reply = "550 5.1.1 no such user";
	pl_outbox_rcpt_line(&r, NULL, now, &b);
	STREQ(b.p, "bounced by mx.example.net [192.0.2.1]: 550 5.1.1 no such user",
	    "bounced: the reason");
	b.len = 0;

	r.state = PL_RCPT_DELIVERED;
	r.last_attempt = now;
	r.reply = "250 ok";
	pl_outbox_rcpt_line(&r, "TLSv1.3 TLS_AES_256_GCM_SHA384", now, &b);
	OK(strncmp(b.p, "delivered ", 10) == 0 &&
	    strstr(b.p, " to mx.example.net [192.0.2.1], TLSv1.3 TLS_AES_256_GCM_SHA384: 250 ok"),
	    "delivered: host, TLS, reply: %s", b.p);
	b.len = 0;

	/* the TLS policy that protected it, in words */
	{
		static const char *const pols[][2] = {
			{ "dane", ", DANE: " }, { "mta-sts", ", MTA-STS: " },
			{ "verified", ", verified TLS: " }, { "encrypt", ", required TLS: " },
			{ "opportunistic", ", opportunistic TLS: " },
		};

		for (size_t i = 0; i < sizeof pols / sizeof pols[0]; i++) {
			r.tls_policy = (char *)pols[i][0];
			pl_outbox_rcpt_line(&r, "TLSv1.3 X", now, &b);
			OK(strstr(b.p, pols[i][1]) != NULL, "tls_policy %s reads '%s': %s", pols[i][0],
			    pols[i][1], b.p);
			b.len = 0;
		}
		r.tls_policy = "none";
		pl_outbox_rcpt_line(&r, "none", now, &b);
		OK(strstr(b.p, ", no TLS: 250 ok") != NULL, "tls_policy none: 'no TLS' alone: %s",
		    b.p);
		b.len = 0;
		r.tls_policy = NULL;
	}

	r.state = PL_RCPT_CANCELLED;
	pl_outbox_rcpt_line(&r, NULL, now, &b);
	STREQ(b.p, "cancelled by you", "cancelled");
	buf_free(&b);
}

static void
test_log(void)
{
	const char *log =
	    "2026-11-23T08:28:13Z id=1k0xq5y0n9efk6ca rcpt=<a@example.net> result=deferred status=4.7.1\n"
	    "2026-11-23T08:29:13Z id=1k0xq5y0n9efk6ca rcpt=<a@example.net> result=delivered "
	    "status=2.0.0 mx=mx ip=192.0.2.1 tls=\"TLSv1.3 TLS_AES_256_GCM_SHA384\" reply=\"250 ok\"\n"
	    "2026-11-23T08:29:14Z id=1k0xq5y0n9efk6ca rcpt=<b@example.net> result=delivered tls=none\n";
	char *t;

	t = pl_outbox_log_tls(log, strlen(log), "1k0xq5y0n9efk6ca", "a@example.net");
	STREQ(t, "TLSv1.3 TLS_AES_256_GCM_SHA384", "TLS of a delivery from the log");
	free(t);
	t = pl_outbox_log_tls(log, strlen(log), "1k0xq5y0n9efk6ca", "b@example.net");
	STREQ(t, "none", "no TLS");
	free(t);
	OK(pl_outbox_log_tls(log, strlen(log), "1k0xq5y0n9efk6cb", "a@example.net") == NULL,
	    "another entry: nothing");
}

static void
test_cancel(void)
{
	char dir[] = "/tmp/test_outbox.XXXXXX";
	struct pl_envelope env = { 0 }, back;
	struct pl_outbox_msg *m;
	struct pl_err e;
	struct buf text = { 0 };
	const char *q;
	size_t n;
	char id[PL_QUEUE_ID_LEN + 1];

	OK(mkdtemp(dir) != NULL, "temp state dir");
	setenv("XDG_STATE_HOME", dir, 1);
	setenv("XDG_RUNTIME_DIR", dir, 1);
	q = pl_queue_dir();
	OK(pl_queue_init(q, &e) == 0, "queue made");
	env.created = pl_now();
	env.sender = xstrdup("me@example.org");
	pl_envelope_add_rcpt(&env, "a@example.net", env.created);
	pl_envelope_add_rcpt(&env, "b@example.net", env.created);
	OK(pl_queue_submit(q, &env, msg, strlen(msg), &e) == 0, "entry queued");
	snprintf(id, sizeof id, "%s", env.id);

	OK(pl_outbox_load(q, 0, &m, &n, &e) == 0 && n == 1 && !m[0].retired &&
	    strcmp(m[0].subject, "hello") == 0 &&
	    strcmp(m[0].to, "a@example.net, b@example.net") == 0, "outbox: the entry, subject, To");
	pl_outbox_free(m, n);

	OK(pl_outbox_cancel(q, id, "A@example.NET", &e) < 0 && e.code == EX_NOINPUT,
	    "the local part's case counts");
	OK(pl_outbox_cancel(q, id, "a@example.NET", &e) == 0, "cancel a recipient: %s", e.msg);
	OK(pl_queue_load(q, id, &back, &e) == 0 && back.rcpt[0].state == PL_RCPT_CANCELLED &&
	    back.rcpt[1].state == PL_RCPT_QUEUED && back.rcpt[0].nhistory == 1 &&
	    strstr(back.rcpt[0].history[0], "cancelled by the user"), "saved: cancelled, with history");
	pl_envelope_format(&back, &text);
	OK(strstr(text.p, "State: cancelled\n") != NULL, "the envelope says cancelled");
	pl_envelope_free(&back);
	OK(pl_envelope_parse(text.p, &back, &e) == 0 && back.rcpt[0].state == PL_RCPT_CANCELLED,
	    "and reads it back");
	pl_envelope_free(&back);
	buf_free(&text);

	OK(pl_outbox_cancel(q, id, "a@example.net", &e) < 0 && e.code == EX_DATAERR,
	    "cancelling twice: error: %s", e.msg);
	OK(pl_outbox_cancel(q, id, "b@example.net", &e) == 0, "cancel the last one");
	OK(pl_queue_load(q, id, &back, &e) < 0, "the entry left the queue");
	OK(pl_outbox_load(q, 0, &m, &n, &e) == 0 && n == 1 && m[0].retired &&
	    m[0].env.rcpt[1].state == PL_RCPT_CANCELLED, "outbox: retired, both cancelled");
	pl_outbox_free(m, n);
	OK(pl_outbox_load(q, pl_now() + 10, &m, &n, &e) == 0 && n == 0, "older ones left out");
	pl_outbox_free(m, n);
	OK(pl_outbox_cancel(q, "../x", "a@example.net", &e) < 0 && e.code == EX_USAGE,
	    "a bad id is refused");
	pl_envelope_free(&env);
	pl_rmtree(dir);
}

int
main(void)
{
	test_lines();
	test_log();
	test_cancel();
	return tap_done();
}
