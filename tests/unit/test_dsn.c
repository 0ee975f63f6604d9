/* test_dsn.c — delivery status notifications (RFC 3464) built from inputs:
 * every required field with its value, the multipart/report structure, CRLF
 * everywhere, folding, encoding, and the refusal to report on <>. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsn.h"
#include "message.h"
#include "tap.h"
#include "util.h"

#define T0 1790000000LL		/* Arrival-Date */
#define DAY 86400

static const char orig[] =
    "From: Paloma Tester <me@example.org>\r\n"
    "To: bob@example.test, carol@example.test\r\n"
    "Subject: Gr\xc3\xbc\xc3\x9f" "e from the\r\n"
    " hills\r\n"
    "Date: Thu, 21 Sep 2026 10:00:00 +0000\r\n"
    "Message-ID: <orig.1@example.org>\r\n"
    "X-Note: caf\xc3\xa9 \xe2\x98\x95\r\n"
    "\r\n"
    "Body text that must not appear in the report.\r\n";

/* ---- a small reader for the report ---------------------------------------- */

/* The unfolded value of header name in the header block starting at h (up
 * to the first empty line), leading white space removed; NULL if absent. */
static char *
hdr(const char *h, const char *name)
{
	size_t nl = strlen(name);
	const char *end = strstr(h, "\r\n\r\n");

	if (!end)
		end = h + strlen(h);
	for (const char *l = h; l && l < end; l = strstr(l, "\r\n") ? strstr(l, "\r\n") + 2 : NULL) {
		if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
			struct buf v = { 0 };
			const char *p = l + nl + 1;
			for (;;) {
				const char *eol = strstr(p, "\r\n");
				buf_add(&v, p, (size_t)(eol - p));
				if (eol[2] == ' ' || eol[2] == '\t') {
					p = eol + 2;
					continue;
				}
				break;
			}
			char *s = buf_steal(&v), *t = s;
			while (*t == ' ')
				t++;
			memmove(s, t, strlen(t) + 1);
			return s;
		}
	}
	return NULL;
}

/* The raw header line(s) of name, folds kept. */
static char *
hdr_raw(const char *h, const char *name)
{
	char pat[128];
	const char *p, *q;

	snprintf(pat, sizeof pat, "\r\n%s:", name);
	p = strstr(h - 2, pat);	/* h is never the buffer's start here */
	if (!p)
		return NULL;
	p += 2;
	for (q = p; (q = strstr(q, "\r\n")) && (q[2] == ' ' || q[2] == '\t'); q += 2)
		;
	return xstrndup(p, (size_t)(q - p));
}

static int
crlf_only(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			return 0;
		if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n'))
			return 0;
	}
	return 1;
}

static size_t
longest_line(const char *s)
{
	size_t best = 0;

	while (*s) {
		size_t n = strcspn(s, "\r\n");
		if (n > best)
			best = n;
		s += n;
		s += strspn(s, "\r\n") > 2 ? 2 : strspn(s, "\r\n");
	}
	return best;
}

/* Text with line breaks and runs of spaces as one space (wrapping aside). */
static char *
flat(const char *s)
{
	struct buf o = { 0 };

	for (; *s; s++) {
		char c = *s == '\r' || *s == '\n' ? ' ' : *s;
		if (c == ' ' && o.len && o.p[o.len - 1] == ' ')
			continue;
		buf_addc(&o, c);
	}
	return buf_steal(&o);
}

struct report {
	char *text;
	char *boundary;
	char *part[4];		/* each part: its header block, a blank line, its body */
	int nparts;
	int closed;		/* the close-delimiter was found, at the end */
};

static void
parse(struct report *r, const char *text)
{
	char *ct, *b, delim[256], close_[256];
	const char *p;

	memset(r, 0, sizeof *r);
	r->text = xstrdup(text);
	ct = hdr(text, "Content-Type");
	if (!ct || !(b = strstr(ct, "boundary=\""))) {
		free(ct);
		return;
	}
	r->boundary = xstrndup(b + 10, strcspn(b + 10, "\""));
	free(ct);
	snprintf(delim, sizeof delim, "\r\n--%s\r\n", r->boundary);
	snprintf(close_, sizeof close_, "\r\n--%s--\r\n", r->boundary);
	p = strstr(text, delim);
	while (p && r->nparts < 4) {
		const char *start = p + strlen(delim), *next = strstr(start, delim);
		const char *cl = strstr(start, close_);
		const char *end = next && (!cl || next < cl) ? next : cl;
		if (!end)
			break;
		r->part[r->nparts++] = xstrndup(start, (size_t)(end - start));
		if (end == cl) {
			r->closed = strcmp(cl + strlen(close_), "") == 0;
			break;
		}
		p = next;
	}
}

static void
report_free(struct report *r)
{
	free(r->text);
	free(r->boundary);
	for (int i = 0; i < r->nparts; i++)
		free(r->part[i]);
}

/* The body of a part (after its blank line). */
static const char *
body(const char *part)
{
	const char *p = strstr(part, "\r\n\r\n");
	return p ? p + 4 : "";
}

/* The i-th block (0: per-message) of a delivery-status body. */
static const char *
block(const char *ds, int i)
{
	const char *p = ds;

	while (i-- > 0) {
		p = strstr(p, "\r\n\r\n");
		if (!p)
			return "";
		p += 4;
	}
	return p;
}

static int
b64val(char c)
{
	const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strchr(t, c);
	return c && p ? (int)(p - t) : -1;
}

/* Decodes a header value made of =?UTF-8?B?…?= words (and ASCII words). */
static char *
decode_2047(const char *s)
{
	struct buf o = { 0 };

	while (*s) {
		if (strncmp(s, "=?UTF-8?B?", 10) == 0) {
			const char *e = strstr(s + 10, "?=");
			unsigned v = 0;
			int bits = 0;
			for (const char *p = s + 10; p < e; p++) {
				int d = b64val(*p);
				if (d < 0)
					continue;
				v = v << 6 | (unsigned)d;
				bits += 6;
				if (bits >= 8) {
					bits -= 8;
					buf_addc(&o, (char)(v >> bits & 0xff));
				}
			}
			s = e + 2;
			while (*s == ' ' && strncmp(s + 1, "=?", 2) == 0)
				s++;	/* white space between encoded words goes */
		} else {
			buf_addc(&o, *s++);
		}
	}
	return buf_steal(&o);
}

/* ---- the tests ------------------------------------------------------------ */

static struct pl_envelope env;

static void
setup(void)
{
	memset(&env, 0, sizeof env);
	snprintf(env.id, sizeof env.id, "0123456789abcdef");
	env.created = T0;
	env.sender = "me@example.org";
	env.message_id = "<orig.1@example.org>";
}

static int
build(const struct pl_dsn_rcpt *rc, size_t n, struct buf *out, struct pl_err *e)
{
	struct pl_dsn_params p = {
		.env = &env, .rcpt = rc, .nrcpt = n, .reporting_mta = "mail.example.org",
		.orig = orig, .orig_len = sizeof orig - 1, .date = T0 + 5 * DAY,
		.message_id = "<r.1@mail.example.org>",
	};
	return pl_dsn_build(&p, out, e);
}

static const char reply_5xx[] =
    "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n"
    "550-5.1.1 double-checking the recipient's email address for typos or\r\n"
    "550 5.1.1 unnecessary spaces. https://support.example.test/mail/?p=NoSuchUser x1-2";

static void
test_failed(void)
{
	struct pl_dsn_rcpt rc = {
		.addr = "bob@example.test", .action = "failed", .status = "5.1.1",
		.remote = "mx1.example.test [127.0.0.2]", .diagnostic = reply_5xx,
		.last_attempt = T0 + 60,
	};
	struct buf out = { 0 };
	struct pl_err e = { 0 };
	int ret;
	struct report r;
	char *v, *s, d[64];

	ret = build(&rc, 1, &out, &e);
	OK(ret == 0, "failed report builds");
	OK(crlf_only(out.p, out.len), "CRLF line endings everywhere");
	OK(longest_line(out.p) <= 78 + 20, "no line much over 78 octets (longest %zu)",
	    longest_line(out.p));
	parse(&r, out.p);

	STREQ(v = hdr(out.p, "From"), "\"Mail Delivery System\" <MAILER-DAEMON@mail.example.org>",
	    "From: Mail Delivery System <MAILER-DAEMON@helo>"); free(v);
	STREQ(v = hdr(out.p, "To"), "<me@example.org>", "To: the envelope sender"); free(v);
	v = hdr(out.p, "Subject");
	OK(v && strncmp(v, "=?UTF-8?B?", 10) == 0, "UTF-8 subject is RFC 2047-encoded");
	OK(v && strspn(v, " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
	    "abcdefghijklmnopqrstuvwxyz{|}~") == strlen(v), "the Subject header is ASCII");
	STREQ(s = decode_2047(v ? v : ""), "Undelivered Mail Returned to Sender: "
	    "Gr\xc3\xbc\xc3\x9f" "e from the hills", "subject names the original's subject");
	free(s);
	free(v);
	pl_rfc5322_date(T0 + 5 * DAY, d, sizeof d);
	STREQ(v = hdr(out.p, "Date"), d, "Date: the report's date"); free(v);
	STREQ(v = hdr(out.p, "Message-ID"), "<r.1@mail.example.org>", "Message-ID given"); free(v);
	STREQ(v = hdr(out.p, "In-Reply-To"), "<orig.1@example.org>", "In-Reply-To the original");
	free(v);
	STREQ(v = hdr(out.p, "References"), "<orig.1@example.org>", "References the original");
	free(v);
	STREQ(v = hdr(out.p, "Auto-Submitted"), "auto-replied", "Auto-Submitted: auto-replied");
	free(v);
	STREQ(v = hdr(out.p, "MIME-Version"), "1.0", "MIME-Version: 1.0"); free(v);
	v = hdr(out.p, "Content-Type");
	OK(v && strncmp(v, "multipart/report; report-type=delivery-status; boundary=\"", 57) == 0,
	    "multipart/report; report-type=delivery-status (%s)", v ? v : "none");
	free(v);

	OK(r.boundary && strlen(r.boundary) <= 70, "boundary of at most 70 characters");
	OK(r.nparts == 3, "three parts (got %d)", r.nparts);
	OK(r.closed, "close-delimiter ends the message");
	if (r.nparts != 3) {
		report_free(&r);
		buf_free(&out);
		return;
	}
	STREQ(v = hdr(r.part[0], "Content-Type"), "text/plain; charset=utf-8",
	    "part 1 is text/plain; charset=utf-8"); free(v);
	STREQ(v = hdr(r.part[1], "Content-Type"), "message/delivery-status",
	    "part 2 is message/delivery-status"); free(v);
	STREQ(v = hdr(r.part[2], "Content-Type"), "text/rfc822-headers",
	    "part 3 is text/rfc822-headers"); free(v);
	STREQ(v = hdr(r.part[2], "Content-Transfer-Encoding"), "8bit",
	    "8-bit original header is declared 8bit"); free(v);

	const char *h = body(r.part[0]);
	OK(strstr(h, "bob@example.test (failed, status 5.1.1)") != NULL, "text names the recipient");
	OK(strstr(h, "The server mx1.example.test [127.0.0.2] said:") != NULL, "text names the server");
	OK(strstr(h, "    > 550-5.1.1 The email account that you tried to reach does not exist. "
	    "Please try\r\n    > 550-5.1.1 double-checking") != NULL, "text quotes every reply line");
	OK(strstr(h, "does not exist at that domain: check the") != NULL, "5.1.1 hint: spelling");

	const char *ds = body(r.part[1]), *m = block(ds, 0), *b1 = block(ds, 1);
	STREQ(v = hdr(m, "Reporting-MTA"), "dns; mail.example.org", "Reporting-MTA: dns; helo");
	free(v);
	STREQ(v = hdr(m, "X-Paloma-Queue-ID"), "0123456789abcdef", "X-Paloma-Queue-ID"); free(v);
	pl_rfc5322_date(T0, d, sizeof d);
	STREQ(v = hdr(m, "Arrival-Date"), d, "Arrival-Date: the entry's creation"); free(v);
	OK(hdr(m, "Final-Recipient") == NULL, "per-message block holds no recipient fields");
	STREQ(v = hdr(b1, "Final-Recipient"), "rfc822; bob@example.test", "Final-Recipient");
	free(v);
	STREQ(v = hdr(b1, "Action"), "failed", "Action: failed"); free(v);
	STREQ(v = hdr(b1, "Status"), "5.1.1", "Status as it came"); free(v);
	STREQ(v = hdr(b1, "Remote-MTA"), "dns; mx1.example.test", "Remote-MTA: dns; host"); free(v);
	STREQ(v = hdr(b1, "Diagnostic-Code"), "smtp; 550-5.1.1 The email account that you tried "
	    "to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email "
	    "address for typos or 550 5.1.1 unnecessary spaces. "
	    "https://support.example.test/mail/?p=NoSuchUser x1-2",
	    "Diagnostic-Code: smtp; the whole multi-line reply"); free(v);
	v = hdr_raw(b1, "Diagnostic-Code");
	OK(v && strstr(v, "Please try\r\n 550-5.1.1 double-checking") &&
	    strstr(v, "typos or\r\n 550 5.1.1"), "each reply line starts a folded line");
	free(v);
	pl_rfc5322_date(T0 + 60, d, sizeof d);
	STREQ(v = hdr(b1, "Last-Attempt-Date"), d, "Last-Attempt-Date"); free(v);
	OK(hdr(b1, "Will-Retry-Until") == NULL, "no Will-Retry-Until when failed");
	OK(strstr(ds, "\r\n\r\n\r\n") == NULL, "blocks separated by exactly one blank line");

	size_t hl = (size_t)(strstr(orig, "\r\n\r\n") + 2 - orig);
	const char *oh = body(r.part[2]);
	OK(strlen(oh) == hl && memcmp(oh, orig, hl) == 0, "part 3 is the original header, byte "
	    "for byte");
	OK(strstr(out.p, "Body text") == NULL, "the original body is not included");
	report_free(&r);
	buf_free(&out);
}

static void
test_delayed(void)
{
	struct pl_dsn_rcpt rc = {
		.addr = "carol@example.test", .action = "delayed", .status = "4.7.1",
		.remote = "mx.example.test [127.0.0.3]",
		.diagnostic = "451 4.7.1 Greylisted, try again later",
		.last_attempt = T0 + 4 * 3600, .retry_until = T0 + 5 * DAY,
	};
	struct buf out = { 0 };
	struct pl_err e = { 0 };
	int ret;
	struct report r;
	char *v, d[64];

	static const char plain[] = "From: me@example.org\r\nSubject: Hello there\r\n\r\nhi\r\n";
	struct pl_dsn_params p = {
		.env = &env, .rcpt = &rc, .nrcpt = 1, .reporting_mta = "mail.example.org",
		.orig = plain, .orig_len = sizeof plain - 1, .date = T0 + 4 * 3600,
		.message_id = "<r.2@mail.example.org>",
	};
	ret = pl_dsn_build(&p, &out, &e);
	OK(ret == 0, "delayed report builds");
	STREQ(v = hdr(out.p, "Subject"), "Delayed Mail (still being retried): Hello there",
	    "delayed subject, ASCII left as is"); free(v);
	parse(&r, out.p);
	OK(r.nparts == 3 && r.closed, "three parts");
	if (r.nparts == 3) {
		const char *b1 = block(body(r.part[1]), 1);
		STREQ(v = hdr(b1, "Action"), "delayed", "Action: delayed"); free(v);
		STREQ(v = hdr(b1, "Status"), "4.7.1", "Status: 4.7.1"); free(v);
		pl_rfc5322_date(T0 + 5 * DAY, d, sizeof d);
		STREQ(v = hdr(b1, "Will-Retry-Until"), d, "Will-Retry-Until when delayed"); free(v);
		STREQ(v = hdr(b1, "Diagnostic-Code"), "smtp; 451 4.7.1 Greylisted, try again later",
		    "one-line diagnostic"); free(v);
		char *t = flat(body(r.part[0]));
		OK(strstr(t, "has not yet been delivered to 1 recipient") != NULL,
		    "text says not yet delivered");
		pl_rfc5322_date(T0 + 5 * DAY, d, sizeof d);
		char want[256];
		snprintf(want, sizeof want, "paloma keeps trying until %s; there is nothing you "
		    "need to do", d);
		OK(strstr(t, want) != NULL, "delayed hint: keeps trying until, nothing to do");
		free(t);
		STREQ(v = hdr(r.part[2], "Content-Transfer-Encoding"), NULL,
		    "ASCII header part has no 8bit label"); free(v);
		STREQ(v = hdr(r.part[2], "Content-Description"), "Delayed message header",
		    "header part described as delayed"); free(v);
	}
	STREQ(v = hdr(out.p, "In-Reply-To"), "<orig.1@example.org>",
	    "In-Reply-To from the envelope's Message-ID"); free(v);
	report_free(&r);
	buf_free(&out);
}

static void
test_null_sender(void)
{
	struct pl_dsn_rcpt rc = { .addr = "bob@example.test", .action = "failed",
		.status = "5.1.1" };
	struct buf out = { 0 };
	struct pl_err e = { 0 };
	int ret;

	env.sender = "";
	ret = build(&rc, 1, &out, &e);
	OK(ret == -1 && e.code == EX_DATAERR, "null sender refused");
	OK(strstr(e.msg, "null sender") != NULL, "error says why: %s", e.msg);
	OK(out.len == 0, "nothing written for the null sender");
	env.sender = NULL;
	ret = build(&rc, 1, &out, &e);
	OK(ret == -1 && out.len == 0, "missing sender refused too");
	env.sender = "me@example.org";
	rc.action = "delivered";
	ret = build(&rc, 1, &out, &e);
	OK(ret == -1 && out.len == 0, "actions other than failed/delayed "
	    "refused");
	ret = build(&rc, 0, &out, &e);
	OK(ret == -1 && out.len == 0, "no recipients refused");
}

/* Several recipients, each with its own hint; fields only where known. */
static void
test_many(void)
{
	struct pl_dsn_rcpt rc[] = {
		{ .addr = "a@nx.example.test", .action = "failed", .status = "5.1.2",
		  .diagnostic = "Host or domain name not found (NXDOMAIN)" },
		{ .addr = "b@spam.example.test", .action = "failed", .status = "5.7.1",
		  .remote = "mx.spam.example.test [127.0.0.4]",
		  .diagnostic = "554 5.7.1 Message rejected as spam", .last_attempt = T0 },
		{ .addr = "c@big.example.test", .action = "failed", .status = "5.3.4",
		  .remote = "mx.big.example.test [127.0.0.5]",
		  .diagnostic = "552 5.3.4 Message size exceeds fixed limit", .last_attempt = T0 },
		{ .addr = "d@old.example.test", .action = "failed", .status = "5.6.7",
		  .remote = "mx.old.example.test [127.0.0.6]",
		  .diagnostic = "553 5.6.7 SMTPUTF8 not supported", .last_attempt = T0 },
		{ .addr = "e@slow.example.test", .action = "failed", .status = "4.4.7",
		  .remote = "mx.slow.example.test [127.0.0.7]",
		  .diagnostic = "connection timed out", .last_attempt = T0 + 5 * DAY },
		{ .addr = "f@null.example.test", .action = "failed", .status = "5.1.10",
		  .diagnostic = "the domain accepts no mail (null MX)" },
		{ .addr = "g@weird.example.test", .action = "failed", .status = "bogus" },
		{ .addr = "h@later.example.test", .action = "delayed", .status = NULL,
		  .retry_until = T0 + 5 * DAY },
		{ .addr = "j\xc3\xbc@例え.example.test", .action = "failed", .status = "5.1.1" },
	};
	size_t n = sizeof rc / sizeof *rc;
	struct buf out = { 0 };
	struct pl_err e = { 0 };
	int ret;
	struct report r;
	char *v;

	ret = build(rc, n, &out, &e);
	OK(ret == 0, "report on %zu recipients builds", n);
	parse(&r, out.p);
	OK(r.nparts == 3, "three parts");
	if (r.nparts != 3) {
		report_free(&r);
		buf_free(&out);
		return;
	}
	v = hdr(out.p, "Subject");
	char *sd = decode_2047(v ? v : "");
	STREQ(sd, "Undelivered Mail Returned to Sender: Gr\xc3\xbc\xc3\x9f" "e from the hills",
	    "mixed report subject says undelivered");
	free(sd);
	free(v);
	const char *ds = body(r.part[1]);
	char *t = flat(body(r.part[0]));
	for (size_t i = 0; i < n; i++) {
		const char *b = block(ds, (int)i + 1);
		OK(strncmp(b, "Final-Recipient: ", 17) == 0, "block %zu starts with Final-Recipient",
		    i + 1);
	}
	const char *b1 = block(ds, 1), *b7 = block(ds, 7), *b8 = block(ds, 8), *b9 = block(ds, 9);
	STREQ(v = hdr(b1, "Diagnostic-Code"), "X-Paloma; Host or domain name not found (NXDOMAIN)",
	    "our own reason is an X-Paloma diagnostic"); free(v);
	char *end1 = strstr(b1, "\r\n\r\n");
	char *rm = strstr(b1, "Remote-MTA");
	OK(!rm || (end1 && rm > end1), "no Remote-MTA when no server was reached");
	char *la = strstr(b1, "Last-Attempt-Date");
	OK(!la || (end1 && la > end1), "no Last-Attempt-Date when never tried");
	STREQ(v = hdr(b7, "Status"), "5.0.0", "malformed status becomes 5.0.0"); free(v);
	STREQ(v = hdr(b8, "Status"), "4.0.0", "missing status of a delayed one becomes 4.0.0");
	free(v);
	STREQ(v = hdr(b9, "Final-Recipient"), "utf-8; j\\x{FC}@\\x{4F8B}\\x{3048}.example.test",
	    "internationalised address: RFC 6533 utf-8 type"); free(v);
	OK(strstr(t, "domain does not exist or accepts no mail: check the spelling of the part "
	    "after the @") != NULL, "5.1.2 hint: the domain");
	OK(strstr(t, "`paloma doctor`") != NULL, "5.7.1 hint: paloma doctor");
	OK(strstr(t, "too big for the receiving server") != NULL, "5.3.4 hint: too big");
	OK(strstr(t, "does not support non-ASCII") != NULL, "5.6.7 hint: non-ASCII");
	OK(strstr(t, "gave up after 5 days") != NULL, "4.4.7 hint: gave up after 5 days");
	OK(strstr(t, "accepts no mail") != NULL, "5.1.10 hint: accepts no mail");
	OK(strstr(t, "\xc3\xbc@\xe4\xbe\x8b") != NULL, "text shows the UTF-8 address as is");
	STREQ(v = hdr(r.part[0], "Content-Transfer-Encoding"), "8bit", "8-bit text declared 8bit");
	free(v);
	const char *f = strstr(t, "* a@nx"), *dl = strstr(t, "* h@later");
	OK(f && dl && f < dl && strstr(t, "could not be delivered to 8 recipients") &&
	    strstr(t, "not yet been delivered to 1 recipient"), "failed listed before delayed");
	OK(crlf_only(out.p, out.len), "CRLF everywhere");
	free(t);
	report_free(&r);
	buf_free(&out);
}

/* Hostile input: long words, control characters, bare CR, the boundary. */
static void
test_hostile(void)
{
	struct buf diag = { 0 }, o = { 0 }, out = { 0 };
	struct pl_err e = { 0 };
	int ret;
	struct report r;
	char *v;

	buf_adds(&diag, "550 ");
	for (int i = 0; i < 3000; i++)
		buf_addc(&diag, 'x');
	buf_adds(&diag, "\r\n550 bell\a here\rbare CR\x01 and \xff\xfe bytes");
	buf_printf(&o, "Subject: a\r\nX-Trap: --=_paloma-report-0123456789abcdef-%lld\r\n\n",
	    (long long)(T0 + 5 * DAY));
	struct pl_dsn_rcpt rc = { .addr = "bob@example.test", .action = "failed",
		.status = "5.0.0", .remote = "mx\r\nInjected: yes [127.0.0.2]",
		.diagnostic = diag.p };
	struct pl_dsn_params p = {
		.env = &env, .rcpt = &rc, .nrcpt = 1, .reporting_mta = "mail.example.org",
		.orig = o.p, .orig_len = o.len, .date = T0 + 5 * DAY, .message_id = NULL,
	};
	env.message_id = NULL;
	ret = pl_dsn_build(&p, &out, &e);
	OK(ret == 0, "hostile diagnostic builds");
	OK(crlf_only(out.p, out.len), "no bare CR or LF survives");
	OK(longest_line(out.p) <= 998, "no line over 998 octets (longest %zu)", longest_line(out.p));
	OK(strstr(out.p, "\nInjected:") == NULL, "no header injection through the remote name");
	OK(memchr(out.p, '\a', out.len) == NULL && memchr(out.p, 1, out.len) == NULL,
	    "control characters replaced");
	parse(&r, out.p);
	OK(r.nparts == 3 && r.closed, "still three parts");
	OK(r.boundary && strcmp(r.boundary, "=_paloma-report-0123456789abcdef-1790432000") != 0,
	    "boundary differs from a string found in the content (%s)", r.boundary ? r.boundary : "none");
	OK(hdr(out.p, "Message-ID") == NULL, "no Message-ID header when none was given");
	STREQ(v = hdr(out.p, "In-Reply-To"), NULL, "no In-Reply-To without an original id");
	free(v);
	if (r.nparts == 3) {
		v = hdr(block(body(r.part[1]), 1), "Diagnostic-Code");
		OK(v && strstr(v, "550 bell? here bare CR? and ?? bytes") != NULL,
		    "diagnostic kept as ASCII (%s)", v ? v + strlen(v) - 40 : "none");
		free(v);
		STREQ(body(r.part[2]), "Subject: a\r\nX-Trap: --=_paloma-report-0123456789abcdef-"
		    "1790432000\r\n", "LF-only original header converted to CRLF");
	}
	report_free(&r);
	buf_free(&out);
	buf_free(&o);
	buf_free(&diag);
	env.message_id = "<orig.1@example.org>";
}

/* The original is gone (empty or NULL): two parts, the report still made. */
static void
test_no_original(void)
{
	struct pl_dsn_rcpt rc = { .addr = "bob@example.test", .action = "failed",
		.status = "5.1.1" };
	struct pl_dsn_params p = {
		.env = &env, .rcpt = &rc, .nrcpt = 1, .reporting_mta = "mail.example.org",
		.orig = "", .orig_len = 0, .date = T0, .message_id = "<r.3@mail.example.org>",
	};
	struct buf out = { 0 };
	struct pl_err e = { 0 };
	struct report r;
	char *v;
	int ret;

	for (int k = 0; k < 2; k++) {
		out.len = 0;
		if (k)
			p.orig = NULL;
		ret = pl_dsn_build(&p, &out, &e);
		OK(ret == 0, "report without the original (%s) builds", k ? "NULL" : "empty");
		parse(&r, out.p);
		OK(r.nparts == 2 && r.closed, "two parts, closed (%d)", r.nparts);
		STREQ(v = hdr(out.p, "Subject"), "Undelivered Mail Returned to Sender",
		    "subject without the original's"); free(v);
		STREQ(v = hdr(out.p, "In-Reply-To"), "<orig.1@example.org>",
		    "still linked by the envelope's Message-ID"); free(v);
		report_free(&r);
	}
	buf_free(&out);
}

static void
test_helpers(void)
{
	struct pl_envelope en = { 0 };
	struct pl_rcpt q = { .addr = "x@y.test", .status = "4.2.0", .reply = "452 full",
		.remote = "mx [1.2.3.4]", .last_attempt = 42 };
	struct pl_dsn_rcpt r;
	char id[256];

	OK(pl_dsn_status_valid("5.1.1") && pl_dsn_status_valid("4.4.7") &&
	    pl_dsn_status_valid("2.0.0") && pl_dsn_status_valid("5.1.10") &&
	    pl_dsn_status_valid("5.123.456"), "valid status codes");
	OK(!pl_dsn_status_valid("3.1.1") && !pl_dsn_status_valid("5.1") &&
	    !pl_dsn_status_valid("5.1.1 ") && !pl_dsn_status_valid("5..1") &&
	    !pl_dsn_status_valid("5.1234.1") && !pl_dsn_status_valid("") &&
	    !pl_dsn_status_valid(NULL), "invalid status codes");
	en.rcpt = &q;
	en.nrcpt = 1;
	pl_dsn_rcpt_from_env(&r, &en, 0, "delayed", 99);
	OK(r.addr == q.addr && r.status == q.status && r.diagnostic == q.reply &&
	    r.remote == q.remote && r.last_attempt == 42 && r.retry_until == 99 &&
	    strcmp(r.action, "delayed") == 0, "pl_dsn_rcpt_from_env copies the recipient");
	pl_dsn_message_id("mail.example.org", T0, id, sizeof id);
	OK(strncmp(id, "<1790000000.", 12) == 0 && strstr(id, ".report@mail.example.org>"),
	    "fresh Message-ID: %s", id);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	setup();
	test_failed();
	test_delayed();
	test_null_sender();
	test_many();
	test_hostile();
	test_no_original();
	test_helpers();
	return tap_done();
}
