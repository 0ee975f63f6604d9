/* test_smtp.c — the SMTP client machine driven from scripted dialogues.
 *
 * A script is a list of steps: "S:line" the server says line (CRLF added),
 * "C:line" the client must have said line (checked, in order and exactly, at
 * the next server line or event), and events: "connect", "closed",
 * "timeout", "tls:1"/"tls:0", "add:N" (transaction N), "quit",
 * "body:TEXT" (stream TEXT then end), "raw:BYTES" (server bytes as is),
 * "want:NAME".  Every script runs twice: server bytes fed whole, then one
 * byte at a time. */
#include <stdlib.h>
#include <string.h>

#include "smtp.h"
#include "tap.h"
#include "util.h"

static struct buf olog;
static struct pl_smtp_outcome last;

static const char *const res_name[] = { "delivered", "temp", "perm" };

static void
on_rcpt(void *arg, struct pl_smtp_txn *t, size_t k, const struct pl_smtp_outcome *o)
{
	(void)arg;
	buf_printf(&olog, "%s %s: %s %s %s\n", (const char *)t->user, t->rcpt[k],
	    res_name[o->result], o->status, o->step);
	last = *o;
}

static void
on_txn(void *arg, struct pl_smtp_txn *t)
{
	(void)arg;
	buf_printf(&olog, "%s done\n", (const char *)t->user);
}

static const char *const want_name[] = { "READ", "WRITE", "START_TLS", "BODY", "TXN", "CLOSE",
	"DONE" };

struct run {
	struct pl_smtp *s;
	struct buf expect;
	char err[4096];
	int bad;
};

static void
fail(struct run *r, const char *fmt, const char *a, const char *b)
{
	if (r->bad++)
		return;
	snprintf(r->err, sizeof r->err, fmt, a, b);
}

/* The client's output so far must be exactly what the script expects. */
static void
check_output(struct run *r)
{
	size_t n;
	const char *out = pl_smtp_output(r->s, &n);
	const char *want = r->expect.p ? r->expect.p : "";

	if (n != r->expect.len || memcmp(out, want, n) != 0) {
		char *got = xstrndup(out, n);
		fail(r, "client said\n'%s'\nexpected\n'%s'", got, want);
		free(got);
	}
	pl_smtp_written(r->s, n);
	r->expect.len = 0;
	if (r->expect.p)
		r->expect.p[0] = '\0';
}

static void
feed(struct run *r, const char *p, size_t n, int bytewise)
{
	if (!bytewise)
		pl_smtp_on_data(r->s, p, n);
	else
		for (size_t i = 0; i < n; i++)
			pl_smtp_on_data(r->s, p + i, 1);
}

/* Runs one script; returns the outcome log ("" if the dialogue went wrong,
 * with the reason in r->err). */
static void
run_script(struct run *r, const struct pl_smtp_params *pp, struct pl_smtp_txn *txns,
    const char *const *script, int bytewise)
{
	memset(r, 0, sizeof *r);
	olog.len = 0;
	if (olog.p)
		olog.p[0] = '\0';
	r->s = pl_smtp_new(pp);
	for (const char *const *st = script; *st; st++) {
		const char *a = *st;

		if (!strncmp(a, "C:", 2)) {
			buf_adds(&r->expect, a + 2);
			buf_adds(&r->expect, "\r\n");
			continue;
		}
		check_output(r);
		if (!strncmp(a, "S:", 2)) {
			struct buf b = { 0 };
			buf_adds(&b, a + 2);
			buf_adds(&b, "\r\n");
			feed(r, b.p, b.len, bytewise);
			buf_free(&b);
		} else if (!strncmp(a, "raw:", 4))
			feed(r, a + 4, strlen(a + 4), bytewise);
		else if (!strcmp(a, "connect"))
			pl_smtp_on_connected(r->s);
		else if (!strcmp(a, "closed"))
			pl_smtp_on_closed(r->s);
		else if (!strcmp(a, "timeout"))
			pl_smtp_on_timeout(r->s);
		else if (!strcmp(a, "quit"))
			pl_smtp_quit(r->s);
		else if (!strncmp(a, "add:", 4)) {
			if (pl_smtp_add_txn(r->s, &txns[atoi(a + 4)]) < 0)
				fail(r, "add_txn refused at %s%s", a, "");
		} else if (!strncmp(a, "tls:", 4)) {
			if (pl_smtp_want(r->s) != PL_SMTP_WANT_START_TLS)
				fail(r, "want %s at %s, expected START_TLS",
				    want_name[pl_smtp_want(r->s)], a);
			pl_smtp_on_tls(r->s, a[4] == '1');
		} else if (!strncmp(a, "body:", 5)) {
			if (pl_smtp_want(r->s) != PL_SMTP_WANT_BODY)
				fail(r, "want %s at %s, expected BODY", want_name[pl_smtp_want(r->s)],
				    a);
			pl_smtp_body(r->s, a + 5, strlen(a + 5));
			pl_smtp_body_end(r->s);
		} else if (!strncmp(a, "want:", 5)) {
			if (strcmp(want_name[pl_smtp_want(r->s)], a + 5) != 0)
				fail(r, "want %s, expected %s", want_name[pl_smtp_want(r->s)], a + 5);
		} else
			fail(r, "bad script step %s%s", a, "");
	}
	check_output(r);
}

static const char *const rcpt1[] = { "b@mx.test" };
static const char *const rcpt3[] = { "r1@mx.test", "r2@mx.test", "r3@mx.test" };
static const char *const rcpt2[] = { "r1@mx.test", "r2@mx.test" };

static struct pl_smtp_params
params(enum pl_smtp_tls tls)
{
	struct pl_smtp_params p = { 0 };

	p.helo = "client.test";
	p.tls = tls;
	p.rcpt_done = on_rcpt;
	p.txn_done = on_txn;
	return p;
}

static struct pl_smtp_txn
txn(const char *name, const char *const *rcpt, size_t n)
{
	struct pl_smtp_txn t = { 0 };

	t.sender = "a@client.test";
	t.rcpt = rcpt;
	t.nrcpt = n;
	t.user = (void *)name;
	return t;
}

/* Runs script both ways and checks the dialogue and the outcome log. */
static struct pl_smtp *
dialogue(const char *name, const struct pl_smtp_params *p, struct pl_smtp_txn *txns,
    const char *const *script, const char *want_log, int keep)
{
	struct run r;

	for (int bytewise = 0; bytewise < 2; bytewise++) {
		run_script(&r, p, txns, script, bytewise);
		OK(!r.bad, "%s: dialogue (%s)", name, bytewise ? "byte by byte" : "whole");
		if (r.bad)
			printf("#   %s\n", r.err);
		STREQ(olog.p ? olog.p : "", want_log, "%s: outcomes (%s)", name,
		    bytewise ? "byte by byte" : "whole");
		buf_free(&r.expect);
		if (bytewise && keep)
			return r.s;
		pl_smtp_free(r.s);
	}
	return NULL;
}

static void
test_plain(void)
{
	struct pl_smtp_params p = params(PL_SMTP_TLS_OPPORTUNISTIC);
	struct pl_smtp_txn t[] = { txn("t0", rcpt1, 1) };
	const char *const script[] = {
		"want:READ", "connect", "S:220 mx.test ESMTP", "C:EHLO client.test",
		"S:250 mx.test", "want:TXN", "add:0",
		"C:MAIL FROM:<a@client.test>", "S:250 2.1.0 ok",
		"C:RCPT TO:<b@mx.test>", "S:250 2.1.5 ok",
		"C:DATA", "S:354 go ahead",
		"body:Subject: hi\r\n\r\nhello\r\n",
		"C:Subject: hi", "C:", "C:hello", "C:.", "want:READ",
		"S:250 2.0.0 queued as ABC", "want:TXN", "quit",
		"C:QUIT", "S:221 2.0.0 bye", "want:CLOSE", "closed", "want:DONE", NULL };
	struct pl_smtp *s = dialogue("plain success", &p, t, script,
	    "t0 b@mx.test: delivered 2.0.0 final\nt0 done\n", 1);

	STREQ(last.reply, "250 2.0.0 queued as ABC", "the outcome carries the reply");
	OK(pl_smtp_failure(s) == NULL && pl_smtp_usable(s), "a clean session");
	pl_smtp_free(s);
}

static void
test_multiline_ehlo(void)
{
	struct pl_smtp_params p = params(PL_SMTP_TLS_OPPORTUNISTIC);
	struct pl_smtp_txn t[] = { txn("t0", rcpt1, 1) };
	t[0].size = 123;
	t[0].body_8bit = 1;
	const char *const script[] = {
		"add:0", "connect", "S:220-mx.test ESMTP", "S:220 second greeting line",
		"C:EHLO client.test",
		"S:250-mx.test greets client.test", "S:250-PIPELINING", "S:250-SIZE 1000000",
		"S:250-auth PLAIN LOGIN", "S:250-ENHANCEDSTATUSCODES", "S:250-8BITMIME",
		"S:250 SMTPUTF8",
		"C:MAIL FROM:<a@client.test> SIZE=123 BODY=8BITMIME", "C:RCPT TO:<b@mx.test>",
		"C:DATA", "S:250 2.1.0 ok", "S:250 2.1.5 ok", "S:354 go",
		"body:x", "C:x", "C:.", "S:250 ok", "quit", "C:QUIT", "closed", "want:DONE", NULL };
	struct pl_smtp *s = dialogue("multi-line EHLO", &p, t, script,
	    "t0 b@mx.test: delivered 2.0.0 final\nt0 done\n", 1);
	const struct pl_smtp_caps *c = pl_smtp_caps(s);

	OK(c->esmtp && c->pipelining && c->size && c->size_max == 1000000 &&
	    c->enhancedstatuscodes && c->eightbitmime && c->smtputf8 && !c->starttls,
	    "capabilities parsed");
	STREQ(c->auth, "PLAIN LOGIN", "AUTH mechanisms kept");
	OK(pl_smtp_body_7bit(s) == 0, "no conversion with 8BITMIME");
	pl_smtp_free(s);
}

static void
test_helo(void)
{
	struct pl_smtp_params p = params(PL_SMTP_TLS_OPPORTUNISTIC);
	struct pl_smtp_txn t[] = { txn("t0", rcpt1, 1) };
	const char *const script[] = {
		"connect", "S:220 old.test SMTP", "C:EHLO client.test",
		"S:502 5.5.1 command not recognised", "C:HELO client.test", "S:250 old.test",
		"add:0", "C:MAIL FROM:<a@client.test>", "S:250 ok", "C:RCPT TO:<b@mx.test>",
		"S:250 ok", "C:DATA", "S:354 go", "body:hi\r\n", "C:hi", "C:.", "S:250 ok",
		"quit", "C:QUIT", "S:221 bye", "closed", "want:DONE", NULL };
	dialogue("HELO fallback", &p, t, script,
	    "t0 b@mx.test: delivered 2.0.0 final\nt0 done\n", 0);
}

static void
test_starttls(void)
{
	struct pl_smtp_params p = params(PL_SMTP_TLS_OPPORTUNISTIC);
	struct pl_smtp_txn t[] = { txn("t0", rcpt1, 1) };
	const char *const script[] = {
		"connect", "S:220 mx.test", "C:EHLO client.test",
		"S:250-mx.test", "S:250-STARTTLS", "S:250 PIPELINING",
		"C:STARTTLS", "S:220 2.0.0 ready", "want:START_TLS", "tls:1",
		"C:EHLO client.test", "S:250-mx.test", "S:250 8BITMIME",
		"want:TXN", "add:0",
		/* no PIPELINING after TLS: capabilities were reset */
		"C:MAIL FROM:<a@client.test>", "S:250 ok", "C:RCPT TO:<b@mx.test>",
		"S:250 ok", "C:DATA", "S:354 go", "body:hi", "C:hi", "C:.", "S:250 ok",
		"quit", "C:QUIT", "S:221 bye", "closed", NULL };
	struct pl_smtp *s = dialogue("STARTTLS then EHLO again", &p, t, script,
	    "t0 b@mx.test: delivered 2.0.0 final\nt0 done\n", 1);
	OK(pl_smtp_tls_active(s) && !pl_smtp_caps(s)->pipelining, "TLS on, caps reset");
	pl_smtp_free(s);

	/* Plaintext after the 220 must not be taken as said under TLS. */
	const char *const inject[] = {
		"connect", "S:220 mx.test", "C:EHLO client.test", "S:250-mx.test",
		"S:250 STARTTLS", "C:STARTTLS", "raw:220 ready\r\n250 injected\r\n",
		"tls:1", "C:EHLO client.test", "S:250 mx.test", "want:TXN", NULL };
	dialogue("STARTTLS response injection ignored", &p, t, inject, "", 0);

	const char *const failed[] = {
		"add:0", "connect", "S:220 mx.test", "C:EHLO client.test",
		"S:250-mx.test", "S:250 STARTTLS", "C:STARTTLS", "S:220 ready", "tls:0",
		"want:CLOSE", "closed", "want:DONE", NULL };
	s = dialogue("TLS handshake failure", &p, t, failed,
	    "t0 b@mx.test: temp 4.7.5 STARTTLS\nt0 done\n", 1);
	OK(pl_smtp_tls_failed(s) && !pl_smtp_usable(s), "tls_failed set, not usable");
	pl_smtp_free(s);

	/* tls none: STARTTLS offered but not used (the MX failed TLS before). */
	struct pl_smtp_params pn = params(PL_SMTP_TLS_NONE);
	const char *const none[] = {
		"connect", "S:220 mx.test", "C:EHLO client.test",
		"S:250-mx.test", "S:250 STARTTLS", "want:TXN", NULL };
	dialogue("tls none skips STARTTLS", &pn, t, none, "", 0);

	/* STARTTLS refused: opportunistic carries on in clear. */
	const char *const refused[] = {
		"connect", "S:220 mx.test", "C:EHLO client.test",
		"S:250-mx.test", "S:250 STARTTLS", "C:STARTTLS", "S:454 4.7.0 TLS not available",
		"want:TXN", NULL };
	dialogue("STARTTLS refused, opportunistic", &p, t, refused, "", 0);
}

static void
test_tls_required(void)
{
	struct pl_smtp_params p = params(PL_SMTP_TLS_REQUIRED);
	struct pl_smtp_txn t[] = { txn("t0", rcpt1, 1) };
	const char *const script[] = {
		"add:0", "connect", "S:220 mx.test", "C:EHLO client.test", "S:250 mx.test",
		"C:QUIT", "S:221 bye", "want:CLOSE", "closed", "want:DONE", NULL };
	struct pl_smtp *s = dialogue("tls required without STARTTLS", &p, t, script,
	    "t0 b@mx.test: temp 4.7.4 STARTTLS\nt0 done\n", 1);
	OK(pl_smtp_failure(s) && !strcmp(pl_smtp_failure(s)->status, "4.7.4") &&
	    !pl_smtp_usable(s), "connection failure 4.7.4, not usable");
	pl_smtp_free(s);
}

static const char *const ehlo_pipe[] = { "connect", "S:220 mx.test", "C:EHLO client.test",
	"S:250-mx.test", "S:250-ENHANCEDSTATUSCODES", "S:250 PIPELINING" };
#define EHLO_PIPE ehlo_pipe[0], ehlo_pipe[1], ehlo_pipe[2], ehlo_pipe[3], ehlo_pipe[4], \
	ehlo_pipe[5]
static const char *const ehlo_plain[] = { "connect", "S:220 mx.test", "C:EHLO client.test",
	"S:250-mx.test", "S:250 SIZE 1000" };
#define EHLO_PLAIN ehlo_plain[0], ehlo_plain[1], ehlo_plain[2], ehlo_plain[3], ehlo_plain[4]

static void
test_pipelining(void)
{
	struct pl_smtp_params p = params(PL_SMTP_TLS_OPPORTUNISTIC);
	struct pl_smtp_txn t[] = { txn("t0", rcpt3, 3) };
	const char *const script[] = { EHLO_PIPE, "add:0",
		"C:MAIL FROM:<a@client.test>", "C:RCPT TO:<r1@mx.test>", "C:RCPT TO:<r2@mx.test>",
		"C:RCPT TO:<r3@mx.test>", "C:DATA",
		"S:250 2.1.0 ok", "S:250 2.1.5 ok", "S:550 5.1.1 <r2@mx.test>: no such user",
		"S:250 2.1.5 ok", "S:354 go", "body:hi\r\n", "C:hi", "C:.",
		"S:250 2.0.0 ok", "want:TXN", NULL };
	dialogue("PIPELINING, one of three refused", &p, t, script,
	    "t0 r2@mx.test: perm 5.1.1 RCPT\n"
	    "t0 r1@mx.test: delivered 2.0.0 final\n"
	    "t0 r3@mx.test: delivered 2.0.0 final\nt0 done\n", 0);
}

static void
test_all_refused(void)
{
	struct pl_smtp_params p = params(PL_SMTP_TLS_OPPORTUNISTIC);
	struct pl_smtp_txn t[] = { txn("t0", rcpt2, 2), txn("t1", rcpt1, 1) };
	const char *const piped[] = { EHLO_PIPE, "add:0",
		"C:MAIL FROM:<a@client.test>", "C:RCPT TO:<r1@mx.test>", "C:RCPT TO:<r2@mx.test>",
		"C:DATA", "S:250 ok", "S:550 5.1.1 no", "S:550 5.1.1 no",
		"S:554 5.5.1 no valid recipients", "want:TXN", "add:1",
		"C:RSET", "S:250 ok", "C:MAIL FROM:<a@client.test>", "C:RCPT TO:<b@mx.test>",
		"C:DATA", NULL };
	dialogue("all refused, PIPELINING: DATA refused, RSET", &p, t, piped,
	    "t0 r1@mx.test: perm 5.1.1 RCPT\nt0 r2@mx.test: perm 5.1.1 RCPT\nt0 done\n", 0);

	/* A server that says 354 anyway gets an empty message. */
	const char *const piped354[] = { EHLO_PIPE, "add:0",
		"C:MAIL FROM:<a@client.test>", "C:RCPT TO:<r1@mx.test>", "C:RCPT TO:<r2@mx.test>",
		"C:DATA", "S:250 ok", "S:550 5.1.1 no", "S:550 5.1.1 no",
		"S:354 go", "C:.", "S:554 5.5.1 no valid recipients", "want:TXN", "quit",
		"C:QUIT", NULL };
	dialogue("all refused, PIPELINING, 354 anyway: empty message", &p, t, piped354,
	    "t0 r1@mx.test: perm 5.1.1 RCPT\nt0 r2@mx.test: perm 5.1.1 RCPT\nt0 done\n", 0);

	const char *const plain[] = { EHLO_PLAIN, "add:0",
		"C:MAIL FROM:<a@client.test>", "S:250 ok", "C:RCPT TO:<r1@mx.test>",
		"S:550 no", "C:RCPT TO:<r2@mx.test>", "S:551 5.1.6 moved", "want:TXN",
		"quit", "C:QUIT", NULL };
	dialogue("all refused, no PIPELINING: no DATA", &p, t, plain,
	    "t0 r1@mx.test: perm 5.0.0 RCPT\nt0 r2@mx.test: perm 5.1.6 RCPT\nt0 done\n", 0);
}

static void
test_rcpt_452(void)
{
	struct pl_smtp_params p = params(PL_SMTP_TLS_OPPORTUNISTIC);
	struct pl_smtp_txn t[] = { txn("t0", rcpt2, 2) };
	const char *const script[] = { EHLO_PLAIN, "add:0",
		"C:MAIL FROM:<a@client.test>", "S:250 ok", "C:RCPT TO:<r1@mx.test>",
		"S:452 4.5.3 too many recipients", "C:RCPT TO:<r2@mx.test>", "S:250 ok",
		"C:DATA", "S:354 go", "body:x", "C:x", "C:.", "S:250 ok", NULL };
	dialogue("452 at RCPT: temporary", &p, t, script,
	    "t0 r1@mx.test: temp 4.5.3 RCPT\nt0 r2@mx.test: delivered 2.0.0 final\nt0 done\n",
	    0);
}

static void
test_mail_5xx(void)
{
	struct pl_smtp_params p = params(PL_SMTP_TLS_OPPORTUNISTIC);
	struct pl_smtp_txn t[] = { txn("t0", rcpt2, 2) };
	const char *const script[] = { EHLO_PLAIN, "add:0",
		"C:MAIL FROM:<a@client.test>", "S:550 5.7.1 sender rejected", "want:TXN",
		"quit", "C:QUIT", NULL };
	dialogue("5xx at MAIL: all permanent", &p, t, script,
	    "t0 r1@mx.test: perm 5.7.1 MAIL\nt0 r2@mx.test: perm 5.7.1 MAIL\nt0 done\n", 0);

	const char *const piped[] = { EHLO_PIPE, "add:0",
		"C:MAIL FROM:<a@client.test>", "C:RCPT TO:<r1@mx.test>", "C:RCPT TO:<r2@mx.test>",
		"C:DATA", "S:451 4.3.0 try later", "S:503 5.5.1 no MAIL", "S:503 5.5.1 no MAIL",
		"S:503 5.5.1 no MAIL", "want:TXN", NULL };
	dialogue("4xx at MAIL, PIPELINING: all temporary", &p, t, piped,
	    "t0 r1@mx.test: temp 4.3.0 MAIL\nt0 r2@mx.test: temp 4.3.0 MAIL\nt0 done\n", 0);
}

static void
test_final_4xx(void)
{
	struct pl_smtp_params p = params(PL_SMTP_TLS_OPPORTUNISTIC);
	struct pl_smtp_txn t[] = { txn("t0", rcpt2, 2) };
	const char *const script[] = { EHLO_PIPE, "add:0",
		"C:MAIL FROM:<a@client.test>", "C:RCPT TO:<r1@mx.test>", "C:RCPT TO:<r2@mx.test>",
		"C:DATA", "S:250 ok", "S:250 ok", "S:250 ok", "S:354 go", "body:x", "C:x", "C:.",
		"S:451-4.7.1 greylisted,", "S:451 4.7.1 come back later", NULL };
	dialogue("4xx after the final dot", &p, t, script,
	    "t0 r1@mx.test: temp 4.7.1 final\nt0 r2@mx.test: temp 4.7.1 final\nt0 done\n", 0);
	STREQ(last.reply, "451-4.7.1 greylisted,\n451 4.7.1 come back later",
	    "a multi-line reply kept whole");
}

static void
test_size(void)
{
	struct pl_smtp_params p = params(PL_SMTP_TLS_OPPORTUNISTIC);
	struct pl_smtp_txn t[] = { txn("t0", rcpt2, 2), txn("t1", rcpt1, 1) };
	t[0].size = 5000;
	t[1].size = 500;
	const char *const script[] = { EHLO_PLAIN, "add:0", "want:TXN", "add:1",
		"C:MAIL FROM:<a@client.test> SIZE=500", NULL };
	dialogue("SIZE too big: 5.3.4 without MAIL", &p, t, script,
	    "t0 r1@mx.test: perm 5.3.4 MAIL\nt0 r2@mx.test: perm 5.3.4 MAIL\nt0 done\n", 0);
}

static void
test_smtputf8(void)
{
	static const char *const rc[] = { "r1@mx.test", "j\xc3\xbcrgen@mx.test" };
	struct pl_smtp_params p = params(PL_SMTP_TLS_OPPORTUNISTIC);
	struct pl_smtp_txn t[] = { txn("t0", rc, 2), txn("t1", rcpt1, 1) };
	t[1].smtputf8 = 1;
	const char *const script[] = { EHLO_PLAIN, "add:0",
		"C:MAIL FROM:<a@client.test>", "S:250 ok", "C:RCPT TO:<r1@mx.test>", "S:250 ok",
		"C:DATA", "S:354 go", "body:x", "C:x", "C:.", "S:250 ok", "add:1", "C:RSET",
		"S:250 ok", "want:TXN", NULL };
	dialogue("SMTPUTF8 missing: 5.6.7", &p, t, script,
	    "t0 j\xc3\xbcrgen@mx.test: perm 5.6.7 RCPT\n"
	    "t0 r1@mx.test: delivered 2.0.0 final\nt0 done\n"
	    "t1 b@mx.test: perm 5.6.7 MAIL\nt1 done\n", 0);

	const char *const ok[] = { "connect", "S:220 mx.test", "C:EHLO client.test",
		"S:250-mx.test", "S:250 SMTPUTF8", "add:0",
		"C:MAIL FROM:<a@client.test> SMTPUTF8", "S:250 ok", "C:RCPT TO:<r1@mx.test>",
		"S:250 ok", "C:RCPT TO:<j\xc3\xbcrgen@mx.test>", NULL };
	dialogue("SMTPUTF8 offered: used", &p, t, ok, "", 0);
}

static void
test_8bit(void)
{
	struct pl_smtp_params p = params(PL_SMTP_TLS_OPPORTUNISTIC);
	struct pl_smtp_txn t[] = { txn("t0", rcpt1, 1) };
	t[0].body_8bit = 1;
	const char *const script[] = { EHLO_PLAIN, "add:0",
		"C:MAIL FROM:<a@client.test>", "S:250 ok", "C:RCPT TO:<b@mx.test>", "S:250 ok",
		"C:DATA", "S:354 go", "want:BODY", NULL };
	struct pl_smtp *s = dialogue("8-bit body without 8BITMIME", &p, t, script, "", 1);
	OK(pl_smtp_body_7bit(s) == 1 && pl_smtp_current_txn(s) == &t[0],
	    "the I/O layer is told to convert");
	pl_smtp_free(s);

	const char *msg = "From: a@client.test\r\nSubject: x\r\n\r\ncaf\xc3\xa9 = ok \r\n";
	struct buf out = { 0 };
	int n = pl_smtp_to_7bit(msg, strlen(msg), &out);
	OK(n == 1, "one part converted");
	STREQ(out.p, "From: a@client.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =3D ok=20\r\n",
	    "plain 8-bit text to quoted-printable");
	buf_free(&out);

	msg = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\npre\r\n--XX\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
	    "\xc3\xa9t\xc3\xa9\r\n--XX\r\nContent-Type: application/pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nQUJD\r\n--XX\r\n"
	    "Content-Type: text/plain\r\n\r\nascii only\r\n--XX--\r\nepilogue\r\n";
	n = pl_smtp_to_7bit(msg, strlen(msg), &out);
	OK(n == 1, "one of three parts converted");
	STREQ(out.p, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\npre\r\n--XX\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "=C3=A9t=C3=A9\r\n--XX\r\nContent-Type: application/pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nQUJD\r\n--XX\r\n"
	    "Content-Type: text/plain\r\n\r\nascii only\r\n--XX--\r\nepilogue\r\n",
	    "multipart: the 8bit part re-encoded, the others untouched");
	for (size_t i = 0; i < out.len; i++)
		if ((unsigned char)out.p[i] >= 128) {
			OK(0, "no 8-bit octet left");
			break;
		}
	buf_free(&out);

	/* Long lines get soft breaks at 76 columns. */
	struct buf in = { 0 };
	buf_adds(&in, "Subject: long\r\n\r\n");
	for (int i = 0; i < 300; i++)
		buf_adds(&in, "\xc3\xa9");
	buf_adds(&in, "\r\n");
	pl_smtp_to_7bit(in.p, in.len, &out);
	int maxcol = 0, col = 0;
	for (size_t i = 0; i < out.len; i++) {
		col = out.p[i] == '\n' ? 0 : col + 1;
		if (col > maxcol)
			maxcol = col;
	}
	OK(maxcol <= 77, "quoted-printable lines within 76 octets (max %d)", maxcol - 1);
	buf_free(&in);
	buf_free(&out);
}

static void
test_dot_stuffing(void)
{
	struct pl_smtp_stuffer st;
	struct buf out = { 0 };
	const char *in = ".first\r\nmid\r\n..two\r\n.\r\nlast line . no CRLF";
	const char *want = "..first\r\nmid\r\n...two\r\n..\r\nlast line . no CRLF\r\n.\r\n";

	pl_smtp_stuff_init(&st);
	pl_smtp_stuff(&st, in, strlen(in), &out);
	pl_smtp_stuff_end(&st, &out);
	STREQ(out.p, want, "dot-stuffing, first line too, final CRLF added");

	/* The same at every split point. */
	int same = 1;
	for (size_t cut = 0; cut <= strlen(in); cut++) {
		out.len = 0;
		pl_smtp_stuff_init(&st);
		pl_smtp_stuff(&st, in, cut, &out);
		pl_smtp_stuff(&st, in + cut, strlen(in) - cut, &out);
		pl_smtp_stuff_end(&st, &out);
		same &= out.len == strlen(want) && !memcmp(out.p, want, out.len);
	}
	OK(same, "dot-stuffing independent of chunking");

	const char *bare = "a\nb\r.c\r\n\r";
	out.len = 0;
	pl_smtp_stuff_init(&st);
	for (size_t i = 0; i < strlen(bare); i++)
		pl_smtp_stuff(&st, bare + i, 1, &out);
	pl_smtp_stuff_end(&st, &out);
	STREQ(out.p, "a\r\nb\r\n..c\r\n\r\n.\r\n", "bare LF and CR become CRLF");

	out.len = 0;
	pl_smtp_stuff_init(&st);
	pl_smtp_stuff_end(&st, &out);
	STREQ(out.p, ".\r\n", "empty body");
	buf_free(&out);
}

/* Feeds s to a fresh parser; returns the rc of the first non-zero parse. */
static int
parse_all(const char *p, size_t n, struct pl_smtp_reply *r, struct pl_err *e,
    struct pl_smtp_parser *ps)
{
	size_t used;
	int rc;

	pl_smtp_parser_init(ps);
	rc = pl_smtp_parse(ps, p, n, &used, r, e);
	return rc;
}

static void
test_parser(void)
{
	struct pl_smtp_parser ps;
	struct pl_smtp_reply r;
	struct pl_err e;
	const char *ml = "250-mx.test\r\n250-8BITMIME\r\n250 SIZE 100\r\n";
	size_t used;
	int prc;

	prc = parse_all(ml, strlen(ml), &r, &e, &ps);
	OK(prc == 1 && r.code == 250 && r.nlines == 3,
	    "multi-line reply");
	STREQ(r.text, "mx.test\n8BITMIME\nSIZE 100", "text lines joined");
	pl_smtp_parser_free(&ps);

	/* Every split into two chunks gives the same reply. */
	int same = 1;
	for (size_t cut = 0; cut <= strlen(ml); cut++) {
		int rc;
		pl_smtp_parser_init(&ps);
		rc = pl_smtp_parse(&ps, ml, cut, &used, &r, &e);
		if (rc == 0)
			rc = pl_smtp_parse(&ps, ml + cut, strlen(ml) - cut, &used, &r, &e);
		same &= rc == 1 && r.nlines == 3 && !strcmp(r.text, "mx.test\n8BITMIME\nSIZE 100");
		pl_smtp_parser_free(&ps);
	}
	OK(same, "replies split at every byte");

	prc = parse_all("550 5.1.1 no\r\n", 14, &r, &e, &ps);
	OK(prc == 1 && !strcmp(r.esc, "5.1.1"),
	    "enhanced code found");
	pl_smtp_parser_free(&ps);
	prc = parse_all("550 4.1.1 no\r\n", 14, &r, &e, &ps);
	OK(prc == 1 && r.esc[0] == '\0',
	    "enhanced code of another class ignored");
	pl_smtp_parser_free(&ps);
	prc = parse_all("250\r\n", 5, &r, &e, &ps);
	OK(prc == 1 && r.code == 250 && !strcmp(r.text, ""),
	    "bare code");
	pl_smtp_parser_free(&ps);
	prc = parse_all("250 ok\n", 7, &r, &e, &ps);
	OK(prc == 1, "bare LF accepted (VIOLATION)");
	pl_smtp_parser_free(&ps);

	static const char *const bad[] = { "hello\r\n", "25\r\n", "2x0 ok\r\n", "150 ok\r\n",
		"650 ok\r\n", "2500 ok\r\n", "250_ok\r\n", "250-a\r\n251 b\r\n",
		"250 a\rb\r\n", "250 a\x01 b\r\n", "250 a\x7f\r\n", NULL };
	int rc;
	for (const char *const *b = bad; *b; b++) {
		rc = parse_all(*b, strlen(*b), &r, &e, &ps);
		OK(rc == -1 && e.code == EX_PROTOCOL, "bad reply refused: %s", e.msg);
		rc = pl_smtp_parse(&ps, "250 ok\r\n", 8, &used, &r, &e);
		OK(rc == -1, "and stays refused");
		pl_smtp_parser_free(&ps);
	}

	/* 1 MB line: refused at 4096 octets, memory bounded. */
	char *big = xmalloc(1 << 20);
	memset(big, 'a', 1 << 20);
	memcpy(big, "250 ", 4);
	rc = 0;
	pl_smtp_parser_init(&ps);
	size_t off = 0, maxcap = 0;
	while (off < (1u << 20) && rc == 0) {
		rc = pl_smtp_parse(&ps, big + off, 1000, &used, &r, &e);
		off += 1000;
		if (ps.line.cap > maxcap)
			maxcap = ps.line.cap;
	}
	OK(rc == -1 && off <= 5000 && maxcap <= 8192, "1 MB line refused early (%s)", e.msg);
	pl_smtp_parser_free(&ps);
	free(big);

	/* Endless continuation: refused after 1000 lines. */
	pl_smtp_parser_init(&ps);
	int lines = 0;
	rc = 0;
	while (rc == 0 && lines < 100000) {
		rc = pl_smtp_parse(&ps, "250-more\r\n", 10, &used, &r, &e);
		lines++;
	}
	OK(rc == -1 && lines == 1001 && ps.text.cap <= 65536 * 2, "endless reply refused: %s",
	    e.msg);
	pl_smtp_parser_free(&ps);

	/* Long lines: refused past 64 KB. */
	char line[4001];
	memset(line, 'b', sizeof line);
	memcpy(line, "250-", 4);
	line[3998] = '\r';
	line[3999] = '\n';
	pl_smtp_parser_init(&ps);
	lines = 0;
	rc = 0;
	while (rc == 0 && lines < 1000) {
		rc = pl_smtp_parse(&ps, line, 4000, &used, &r, &e);
		lines++;
	}
	OK(rc == -1 && lines == 17, "reply over 64 KB refused: %s", e.msg);
	pl_smtp_parser_free(&ps);
}

static void
test_protocol_error(void)
{
	struct pl_smtp_params p = params(PL_SMTP_TLS_OPPORTUNISTIC);
	struct pl_smtp_txn t[] = { txn("t0", rcpt2, 2) };
	const char *const script[] = { EHLO_PLAIN, "add:0",
		"C:MAIL FROM:<a@client.test>", "S:250 ok", "C:RCPT TO:<r1@mx.test>",
		"S:250 ok", "C:RCPT TO:<r2@mx.test>", "S:250-ok", "S:550 mixed",
		"want:CLOSE", "closed", "want:DONE", NULL };
	struct pl_smtp *s = dialogue("mixed codes: protocol error", &p, t, script,
	    "t0 r1@mx.test: temp 4.5.0 RCPT\nt0 r2@mx.test: temp 4.5.0 RCPT\nt0 done\n", 1);
	OK(strstr(last.reply, "different codes") != NULL, "a clear reason: %s", last.reply);
	OK(pl_smtp_failure(s) && pl_smtp_failure(s)->result == PL_SMTP_TEMP,
	    "connection failure recorded");
	pl_smtp_free(s);

	const char *const garbage[] = { "add:0", "connect", "raw:HTTP/1.1 400 Bad Request\r\n",
		"want:CLOSE", NULL };
	dialogue("garbage greeting", &p, t, garbage,
	    "t0 r1@mx.test: temp 4.5.0 greeting\nt0 r2@mx.test: temp 4.5.0 greeting\nt0 done\n",
	    0);

	const char *const greet554[] = { "add:0", "connect", "S:554 5.7.1 go away",
		"C:QUIT", "S:221 bye", "want:CLOSE", "closed", NULL };
	s = dialogue("554 greeting", &p, t, greet554,
	    "t0 r1@mx.test: perm 5.7.1 greeting\nt0 r2@mx.test: perm 5.7.1 greeting\nt0 done\n",
	    1);
	OK(!pl_smtp_usable(s) && pl_smtp_failure(s)->result == PL_SMTP_PERM,
	    "554 greeting: connection failure, not usable");
	pl_smtp_free(s);

	const char *const idle421[] = { EHLO_PLAIN, "want:TXN",
		"S:421 4.4.2 idle too long", "want:CLOSE", NULL };
	dialogue("421 while idle", &p, t, idle421, "", 0);
}

static void
test_closed_and_timeout(void)
{
	struct pl_smtp_params p = params(PL_SMTP_TLS_OPPORTUNISTIC);
	struct pl_smtp_txn t[] = { txn("t0", rcpt1, 1) };
	const char *const mid[] = { EHLO_PLAIN, "add:0",
		"C:MAIL FROM:<a@client.test>", "S:250 ok", "C:RCPT TO:<b@mx.test>", "S:250 ok",
		"C:DATA", "S:354 go", "want:BODY", "closed", "want:DONE", NULL };
	dialogue("peer closes mid-DATA: temporary", &p, t, mid,
	    "t0 b@mx.test: temp 4.4.2 DATA\nt0 done\n", 0);

	const char *const dot[] = { EHLO_PLAIN, "add:0",
		"C:MAIL FROM:<a@client.test>", "S:250 ok", "C:RCPT TO:<b@mx.test>", "S:250 ok",
		"C:DATA", "S:354 go", "body:x", "C:x", "C:.", "closed", NULL };
	dialogue("peer closes after the dot: temporary", &p, t, dot,
	    "t0 b@mx.test: temp 4.4.2 final\nt0 done\n", 0);

	struct pl_smtp *s = pl_smtp_new(&p);
	pl_smtp_on_connected(s);
	OK(pl_smtp_timeout(s) == 300, "greeting timeout 5 min");
	pl_smtp_on_data(s, "220 hi\r\n250 mx\r\n", 8);
	OK(pl_smtp_timeout(s) == 300, "EHLO timeout 5 min");
	size_t n;
	pl_smtp_output(s, &n);
	pl_smtp_written(s, n);
	pl_smtp_on_data(s, "250 mx\r\n", 8);
	OK(pl_smtp_timeout(s) == 0 && pl_smtp_want(s) == PL_SMTP_WANT_TXN, "idle: no timeout");
	pl_smtp_add_txn(s, &t[0]);
	OK(pl_smtp_timeout(s) == 300, "MAIL 5 min");
	pl_smtp_on_data(s, "250 ok\r\n", 8);
	OK(pl_smtp_timeout(s) == 300, "RCPT 5 min");
	pl_smtp_on_data(s, "250 ok\r\n", 8);
	OK(pl_smtp_timeout(s) == 120, "DATA initiation 2 min");
	pl_smtp_on_data(s, "354 go\r\n", 8);
	OK(pl_smtp_timeout(s) == 180, "data block 3 min");
	pl_smtp_body(s, "Subject: x\r\n\r\nhi\r\n", 19);
	pl_smtp_body_end(s);
	OK(pl_smtp_timeout(s) == 180, "message not all written: still the data block timeout");
	{
		size_t left;
		pl_smtp_output(s, &left);
		pl_smtp_written(s, left - 1);
		OK(pl_smtp_timeout(s) == 180, "the dot not all written: still the data block timeout");
		pl_smtp_written(s, 1);
	}
	OK(pl_smtp_timeout(s) == 600, "final dot 10 min");
	olog.len = 0;
	pl_smtp_on_timeout(s);
	STREQ(olog.p, "t0 b@mx.test: temp 4.4.2 final\nt0 done\n", "timeout: temporary");
	OK(strstr(last.reply, "timed out") != NULL, "timeout reason: %s", last.reply);
	OK(pl_smtp_want(s) == PL_SMTP_WANT_CLOSE, "timeout: close");
	int arc = pl_smtp_add_txn(s, &t[0]);
	OK(arc == -1, "no transaction on a closing session");
	pl_smtp_free(s);

	p.timeouts.data_end = 42;
	s = pl_smtp_new(&p);
	OK(pl_smtp_timeout(s) == 0, "no timeout before connecting");
	pl_smtp_on_connect_failed(s, "Connection refused");
	OK(pl_smtp_want(s) == PL_SMTP_WANT_DONE && pl_smtp_failure(s) &&
	    !strcmp(pl_smtp_failure(s)->step, "connect"), "connect failure");
	pl_smtp_free(s);
}

static void
test_two_txns(void)
{
	struct pl_smtp_params p = params(PL_SMTP_TLS_OPPORTUNISTIC);
	struct pl_smtp_txn t[] = { txn("t0", rcpt1, 1), txn("t1", rcpt2, 2) };
	t[1].sender = "";
	const char *const script[] = { "add:0", "add:1", EHLO_PIPE,
		"C:MAIL FROM:<a@client.test>", "C:RCPT TO:<b@mx.test>", "C:DATA",
		"S:250 ok", "S:250 ok", "S:354 go", "body:one", "C:one", "C:.", "S:250 2.0.0 one",
		"C:RSET", "S:250 2.0.0 ok", "C:MAIL FROM:<>", "C:RCPT TO:<r1@mx.test>",
		"C:RCPT TO:<r2@mx.test>", "C:DATA", "S:250 ok", "S:250 ok", "S:250 ok",
		"S:354 go", "body:.two\r\n", "C:..two", "C:.", "S:250 2.0.0 two", "want:TXN",
		"quit", "C:QUIT", "S:221 bye", "want:CLOSE", "closed", "want:DONE", NULL };
	dialogue("two transactions, RSET between", &p, t, script,
	    "t0 b@mx.test: delivered 2.0.0 final\nt0 done\n"
	    "t1 r1@mx.test: delivered 2.0.0 final\nt1 r2@mx.test: delivered 2.0.0 final\n"
	    "t1 done\n", 0);

	/* Injection through an address is refused, not sent. */
	static const char *const evil[] = { "x@mx.test>\r\nDATA", "ok@mx.test" };
	struct pl_smtp_txn te[] = { txn("te", evil, 2) };
	const char *const inj[] = { EHLO_PLAIN, "add:0", "C:MAIL FROM:<a@client.test>",
		"S:250 ok", "C:RCPT TO:<ok@mx.test>", NULL };
	dialogue("CRLF in an address refused", &p, te, inj,
	    "te x@mx.test>\r\nDATA: perm 5.1.3 RCPT\n", 0);

	char longaddr[700];
	memset(longaddr, 'x', sizeof longaddr);
	memcpy(longaddr + 600, "@mx.test", 9);
	const char *const lr[] = { longaddr };
	struct pl_smtp_txn tl[] = { txn("tl", lr, 1) };
	const char *const lscript[] = { EHLO_PLAIN, "add:0", "want:TXN", NULL };
	char lwant[800];
	snprintf(lwant, sizeof lwant, "tl %s: perm 5.1.3 RCPT\ntl done\n", longaddr);
	dialogue("overlong address refused", &p, tl, lscript, lwant, 0);
}

/* A reply trickling in, byte by byte or line by line, is no progress: only
 * a whole reply is (conn.c starts a wait's timer again only on progress). */
static void
test_progress(void)
{
	struct pl_smtp_params p = params(PL_SMTP_TLS_OPPORTUNISTIC);
	struct pl_smtp *s = pl_smtp_new(&p);
	unsigned long at;

	at = pl_smtp_progress(s);
	pl_smtp_on_connected(s);
	OK(pl_smtp_progress(s) != at, "progress: connected");
	at = pl_smtp_progress(s);
	pl_smtp_on_data(s, "220-one line\r\n", 14);
	pl_smtp_on_data(s, "220-x", 5);
	pl_smtp_on_data(s, "x", 1);
	OK(pl_smtp_progress(s) == at, "progress: none while the greeting trickles in");
	pl_smtp_on_data(s, "\r\n220 done\r\n", 12);
	OK(pl_smtp_progress(s) != at, "progress: the whole greeting");
	pl_smtp_free(s);
}

int
main(void)
{
	test_parser();
	test_progress();
	test_plain();
	test_multiline_ehlo();
	test_helo();
	test_starttls();
	test_tls_required();
	test_pipelining();
	test_all_refused();
	test_rcpt_452();
	test_mail_5xx();
	test_final_4xx();
	test_size();
	test_smtputf8();
	test_8bit();
	test_dot_stuffing();
	test_protocol_error();
	test_closed_and_timeout();
	test_two_txns();
	buf_free(&olog);
	return tap_done();
}
