/* test_compose.c — templates, the draft file and the built message (compose.c).
 *
 * The original message is given as decoded fields, as the client gets them
 * from the MIME renderer; the built message is parsed back with message.c
 * and its bodies decoded here to compare with what went in. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "compose.h"
#include "config.h"
#include "fsutil.h"
#include "message.h"
#include "tap.h"

static struct pl_config cfg;

static const char *conf_text =
    "[account work]\n"
    "address = me@work.test\n"
    "name = Me Myself\n"
    "\n"
    "[account home]\n"
    "address = me@home.test\n"
    "name = Zoë Home\n"
    "default = yes\n";

static struct pl_orig
sample(void)
{
	struct pl_orig o = { 0 };

	o.from = "Bob <bob@example.net>";
	o.to = "me@work.test, Carol <carol@example.net>";
	o.cc = "\"Doe, John\" <john@example.net>, Me <ME@home.test>, bob@example.net";
	o.subject = "Re: RE: lunch";
	o.date = "Mon, 23 Nov 2026 08:16:19 +0100";
	o.message_id = "<m2@example.net>";
	o.references = "<m0@example.net>\r\n <m1@example.net>";
	o.body = "Hello\n\n> earlier\nbye\n\n";
	return o;
}

/* A decoder standing in for the MIME module's. */
static char *
fake_decode(const char *s)
{
	if (strcmp(s, "=?UTF-8?Q?caf=C3=A9?=") == 0)
		return strdup("café");
	if (strcmp(s, "=?UTF-8?Q?B=C3=B6b?=") == 0)
		return strdup("Böb");
	return NULL;
}

static void
test_templates(void)
{
	struct pl_draft d;
	struct pl_orig o = sample();
	struct buf b = { 0 };

	pl_compose_new(&cfg, &d);
	STREQ(pl_draft_get(&d, "From"), "Zoë Home <me@home.test>", "new: From is the default account");
	STREQ(pl_draft_get(&d, "To"), "", "new: To empty");
	STREQ(pl_draft_get(&d, "Subject"), "", "new: Subject empty");
	pl_draft_format(&d, &b);
	STREQ(b.p, "From: Zoë Home <me@home.test>\nTo: \nCc: \nBcc: \nSubject: \n\n\n",
	    "new: the draft file");
	buf_free(&b);
	pl_draft_free(&d);

	pl_compose_reply(&cfg, &o, PL_REPLY, &d);
	STREQ(pl_draft_get(&d, "From"), "Me Myself <me@work.test>",
	    "reply: From is the account the message was sent to");
	STREQ(pl_draft_get(&d, "To"), "Bob <bob@example.net>", "reply: To is From");
	STREQ(pl_draft_get(&d, "Cc"), "", "reply: no Cc");
	STREQ(pl_draft_get(&d, "Subject"), "Re: lunch", "reply: one Re:");
	STREQ(pl_draft_get(&d, "In-Reply-To"), "<m2@example.net>", "reply: In-Reply-To");
	STREQ(pl_draft_get(&d, "References"), "<m0@example.net> <m1@example.net> <m2@example.net>",
	    "reply: References");
	STREQ(d.body, "On Mon, 23 Nov 2026 08:16:19 +0100, Bob wrote:\n> Hello\n>\n>> earlier\n"
	    "> bye\n\n", "reply: quoted body");
	pl_draft_free(&d);

	o.reply_to = "List <list@example.org>";
	pl_compose_reply(&cfg, &o, PL_REPLY, &d);
	STREQ(pl_draft_get(&d, "To"), "List <list@example.org>", "reply: To is Reply-To");
	pl_draft_free(&d);
	o.reply_to = NULL;

	pl_compose_reply(&cfg, &o, PL_REPLY_ALL, &d);
	STREQ(pl_draft_get(&d, "To"), "Bob <bob@example.net>", "reply-all: To");
	STREQ(pl_draft_get(&d, "Cc"), "Carol <carol@example.net>, \"Doe, John\" <john@example.net>",
	    "reply-all: Cc has the others, none of mine, no duplicate");
	pl_draft_free(&d);

	/* Answering one's own sent message goes to its recipients. */
	o.from = "Me Myself <me@work.test>";
	o.to = "Bob <bob@example.net>";
	o.cc = "Carol <carol@example.net>";
	pl_compose_reply(&cfg, &o, PL_REPLY_ALL, &d);
	STREQ(pl_draft_get(&d, "To"), "Bob <bob@example.net>", "reply to own message: To");
	STREQ(pl_draft_get(&d, "Cc"), "Carol <carol@example.net>", "reply to own message: Cc");
	STREQ(pl_draft_get(&d, "From"), "Zoë Home <me@home.test>",
	    "reply to own message: not addressed to me, default account");
	pl_draft_free(&d);

	/* Decoded display names and subject; no Message-ID, no date. */
	o = sample();
	o.from = "=?UTF-8?Q?B=C3=B6b?= <bob@example.net>";
	o.subject = "=?UTF-8?Q?caf=C3=A9?=";
	o.date = NULL;
	o.message_id = NULL;
	o.references = NULL;
	o.decode = fake_decode;
	pl_compose_reply(&cfg, &o, PL_REPLY, &d);
	STREQ(pl_draft_get(&d, "To"), "Böb <bob@example.net>", "reply: display name decoded");
	STREQ(pl_draft_get(&d, "Subject"), "Re: café", "reply: subject decoded");
	OK(pl_draft_get(&d, "In-Reply-To") == NULL && pl_draft_get(&d, "References") == NULL,
	    "reply: no ids when the original has none");
	OK(strncmp(d.body, "Böb wrote:\n", 11) == 0, "reply: attribution without a date");
	pl_draft_free(&d);

	o = sample();
	pl_compose_forward(&cfg, &o, PL_FWD_INLINE, &d);
	STREQ(pl_draft_get(&d, "Subject"), "Fwd: Re: RE: lunch", "forward: Fwd: prefix");
	STREQ(pl_draft_get(&d, "To"), "", "forward: To empty");
	OK(d.natt == 0, "forward inline: no attachment");
	STREQ(d.body, "\n\n----- Forwarded message -----\nFrom: Bob <bob@example.net>\n"
	    "Date: Mon, 23 Nov 2026 08:16:19 +0100\nSubject: Re: RE: lunch\n"
	    "To: me@work.test, Carol <carol@example.net>\n"
	    "Cc: \"Doe, John\" <john@example.net>, Me <ME@home.test>, bob@example.net\n\n"
	    "Hello\n\n> earlier\nbye\n\n----- End forwarded message -----\n",
	    "forward inline: header block and body");
	pl_draft_free(&d);

	o.subject = "fwd: x";
	o.path = "/tmp/orig.eml";
	pl_compose_forward(&cfg, &o, PL_FWD_ATTACH, &d);
	STREQ(pl_draft_get(&d, "Subject"), "Fwd: x", "forward: Fwd: once");
	OK(d.natt == 1 && strcmp(d.att[0].path, "/tmp/orig.eml") == 0 &&
	    strcmp(d.att[0].type, "message/rfc822") == 0, "forward as attachment: message/rfc822");
	pl_draft_free(&d);
}

static void
test_from_choice(void)
{
	struct pl_orig o = { 0 };

	OK(pl_compose_pick_account(&cfg, &o) == pl_config_find_account(&cfg, "home"),
	    "From: the default account when nothing matches");
	o.to = "someone@example.net";
	o.delivered_to = "ME@Work.test";
	OK(pl_compose_pick_account(&cfg, &o) == pl_config_find_account(&cfg, "work"),
	    "From: the account in Delivered-To");
	o.cc = "x <me@home.test>";
	OK(pl_compose_pick_account(&cfg, &o) == pl_config_find_account(&cfg, "home"),
	    "From: To and Cc before Delivered-To");
	o.to = "garbage <<<";
	o.cc = NULL;
	OK(pl_compose_pick_account(&cfg, &o) == pl_config_find_account(&cfg, "work"),
	    "From: an unparsable To is skipped");
}

static void
test_references(void)
{
	struct buf refs = { 0 };
	char *r;
	int n = 0;

	for (int i = 0; i < 30; i++)
		buf_printf(&refs, "<r%d@x> ", i);
	r = pl_compose_references(refs.p, NULL, "mid@x");
	for (char *p = r; (p = strchr(p, '<')); p++)
		n++;
	OK(n == PL_REFERENCES_MAX, "References trimmed to %d ids (got %d)", PL_REFERENCES_MAX, n);
	OK(strncmp(r, "<r0@x> <r12@x> ", 15) == 0, "the root is kept, then the newest: %s", r);
	OK(strlen(r) > 8 && strcmp(r + strlen(r) - 7, "<mid@x>") == 0, "the Message-ID comes last");
	free(r);
	buf_free(&refs);

	r = pl_compose_references(NULL, "<a@x>", "<b@x>");
	STREQ(r, "<a@x> <b@x>", "no References: In-Reply-To, then the Message-ID");
	free(r);
	r = pl_compose_references("<a@x> <b@x>", NULL, "<b@x>");
	STREQ(r, "<a@x> <b@x>", "the Message-ID is not repeated");
	free(r);
	OK(pl_compose_references(NULL, NULL, NULL) == NULL, "nothing: NULL");
}

static void
test_draft_file(void)
{
	struct pl_draft d = { 0 };
	struct pl_err e;
	const char *text =
	    "from: Me <me@work.test>\r\n"
	    "To: a@example.net,\n"
	    "  b@example.net\n"
	    "Subject: hi\n"
	    "Reply-To: list@example.org\n"
	    "\n"
	    "Body line\n\nFrom: not a header\n";

	pl_draft_attach(&d, "/etc/hostname", NULL, NULL);
	OK(pl_draft_parse(&d, text, strlen(text), &e) == 0, "draft parses");
	STREQ(pl_draft_get(&d, "From"), "Me <me@work.test>", "field names in any case");
	STREQ(pl_draft_get(&d, "To"), "a@example.net, b@example.net", "continuation lines join");
	STREQ(pl_draft_get(&d, "reply-to"), "list@example.org", "added fields kept");
	STREQ(d.body, "Body line\n\nFrom: not a header\n", "body after the blank line");
	OK(d.natt == 1, "attachments kept across a parse");
	pl_draft_set(&d, "To", NULL);
	OK(pl_draft_get(&d, "To") == NULL, "set NULL removes a field");
	pl_draft_detach(&d, 0);
	OK(d.natt == 0, "detach");

	text = "To: x@y\nthis is no header\n\nbody\n";
	OK(pl_draft_parse(&d, text, strlen(text), &e) < 0 && e.code == EX_DATAERR &&
	    strstr(e.msg, "line 2"), "a line without a colon is an error naming it: %s", e.msg);
	STREQ(pl_draft_get(&d, "From"), "Me <me@work.test>", "a failed parse leaves the draft");
	pl_draft_free(&d);
}

/* --- decoding the built message ------------------------------------------ */

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

static void
b64_decode(const char *s, size_t n, struct buf *out)
{
	unsigned v = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		int x = b64val((unsigned char)s[i]);
		if (x < 0)
			continue;
		v = (v << 6) | (unsigned)x;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addc(out, (char)((v >> bits) & 0xff));
		}
	}
}

static void
qp_decode(const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=' && i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;
		} else if (s[i] == '=' && i + 2 < n) {
			char h[3] = { s[i + 1], s[i + 2], 0 };
			buf_addc(out, (char)strtol(h, NULL, 16));
			i += 2;
		} else if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
			buf_addc(out, '\n');
			i++;
		} else {
			buf_addc(out, s[i]);
		}
	}
}

/* The longest line of s, CRLF not counted. */
static size_t
max_line(const char *s, size_t n)
{
	size_t m = 0, col = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' || s[i] == '\n') {
			col = 0;
			continue;
		}
		if (++col > m)
			m = col;
	}
	return m;
}

/* Builds d and parses the result into m. */
static int
build(const struct pl_draft *d, struct pl_message *m, struct buf *raw)
{
	struct pl_err e;

	memset(raw, 0, sizeof *raw);
	if (pl_compose_build(d, 0, raw, &e) < 0) {
		printf("# build: %s\n", e.msg);
		return -1;
	}
	return pl_message_parse(raw->p, raw->len, m, &e);
}

static void
new_draft(struct pl_draft *d, const char *from, const char *to, const char *subject,
    const char *body)
{
	memset(d, 0, sizeof *d);
	pl_draft_set(d, "From", from);
	pl_draft_set(d, "To", to);
	pl_draft_set(d, "Cc", "");
	pl_draft_set(d, "Subject", subject);
	d->body = xstrdup(body);
}

static void
test_build_text(void)
{
	struct pl_draft d;
	struct pl_message m;
	struct buf raw, dec = { 0 };
	struct pl_err e;

	new_draft(&d, "Me Myself <me@work.test>", "Bob <bob@example.net>", "hello", "Hi Bob\n");
	pl_draft_set(&d, "In-Reply-To", "<m2@example.net>");
	OK(build(&d, &m, &raw) == 0, "ASCII message builds and parses back");
	STREQ(pl_message_get(&m, "From"), " Me Myself <me@work.test>", "From");
	STREQ(pl_message_get(&m, "To"), " Bob <bob@example.net>", "To");
	STREQ(pl_message_get(&m, "Subject"), " hello", "Subject");
	STREQ(pl_message_get(&m, "In-Reply-To"), " <m2@example.net>", "In-Reply-To kept");
	OK(pl_message_get(&m, "Cc") == NULL, "an empty Cc is dropped");
	OK(pl_message_get(&m, "Message-ID") == NULL && pl_message_get(&m, "Date") == NULL,
	    "Message-ID and Date left to paloma send");
	STREQ(pl_message_get(&m, "MIME-Version"), " 1.0", "MIME-Version");
	STREQ(pl_message_get(&m, "Content-Type"), " text/plain; charset=utf-8", "text/plain utf-8");
	STREQ(pl_message_get(&m, "Content-Transfer-Encoding"), " 7bit", "7bit for ASCII");
	OK(m.bodylen == 8 && memcmp(m.body, "Hi Bob\r\n", 8) == 0, "body with CRLF");
	pl_message_free(&m);
	buf_free(&raw);
	OK(pl_compose_build(&d, 1795424304, &raw, &e) == 0 && strstr(raw.p, "\r\nDate: "),
	    "Date added when asked");
	buf_free(&raw);
	pl_draft_free(&d);

	new_draft(&d, "Zoë Home <me@home.test>", "\"Doe, John\" <john@example.net>, ann@example.net",
	    "café ☕", "Grüße\n");
	OK(build(&d, &m, &raw) == 0, "non-ASCII message builds");
	OK(!m.header_8bit, "headers are ASCII");
	OK(strstr(pl_message_get(&m, "From"), "=?UTF-8?B?") != NULL &&
	    strstr(pl_message_get(&m, "From"), "<me@home.test>") != NULL, "From display name encoded");
	OK(strstr(pl_message_get(&m, "Subject"), "=?UTF-8?B?") != NULL, "Subject encoded");
	STREQ(pl_message_get(&m, "To"), " \"Doe, John\" <john@example.net>, ann@example.net",
	    "a display name with a comma is quoted");
	STREQ(pl_message_get(&m, "Content-Transfer-Encoding"), " 8bit", "8bit for UTF-8 text");
	pl_message_free(&m);
	buf_free(&raw);
	pl_draft_free(&d);

	/* Long lines and control characters: quoted-printable. */
	{
		struct buf body = { 0 };
		const char *b;
		for (int i = 0; i < 300; i++)
			buf_adds(&body, "é=x ");
		buf_adds(&body, "\ntrailing space \nbell\a\n");
		new_draft(&d, "me@work.test", "bob@example.net", "qp", body.p);
		OK(build(&d, &m, &raw) == 0, "long-line message builds");
		STREQ(pl_message_get(&m, "Content-Transfer-Encoding"), " quoted-printable",
		    "quoted-printable for a line over 998");
		OK(max_line(m.body, m.bodylen) <= 76, "QP lines at most 76");
		qp_decode(m.body, m.bodylen, &dec);
		OK(dec.len == body.len && memcmp(dec.p, body.p, body.len) == 0,
		    "QP body decodes to the input");
		b = m.body;
		OK(strstr(b, "space=20\r\n") != NULL, "a trailing blank is encoded");
		buf_free(&dec);
		buf_free(&body);
		pl_message_free(&m);
		buf_free(&raw);
		pl_draft_free(&d);
	}

	/* Many recipients: folded, and they parse back the same. */
	{
		struct buf to = { 0 };
		struct pl_addrlist l = { 0 };
		for (int i = 0; i < 20; i++)
			buf_printf(&to, "%sPerson Number %d <person%d@example.net>", i ? ", " : "", i, i);
		new_draft(&d, "me@work.test", to.p, "many", "x\n");
		OK(build(&d, &m, &raw) == 0, "twenty recipients build");
		OK(max_line(raw.p, strstr(raw.p, "\r\n\r\n") - raw.p) <= 78, "header lines folded");
		OK(pl_addr_parse_list(pl_message_get(&m, "To"), &l, &e) == 0 && l.n == 20 &&
		    strcmp(l.v[19].display, "Person Number 19") == 0, "folded To parses back");
		pl_addrlist_free(&l);
		buf_free(&to);
		pl_message_free(&m);
		buf_free(&raw);
		pl_draft_free(&d);
	}

	new_draft(&d, "me@work.test", "bob@", "bad", "x\n");
	OK(pl_compose_build(&d, 0, &raw, &e) < 0 && e.code == EX_DATAERR && strstr(e.msg, "To"),
	    "a bad To is an error naming the field: %s", e.msg);
	pl_draft_set(&d, "From", "");
	OK(pl_compose_build(&d, 0, &raw, &e) < 0 && e.code == EX_DATAERR, "no From: error");
	pl_draft_free(&d);
}

/* The body of the part whose header contains needle, between boundaries. */
static int
find_part(const char *msg, const char *boundary, const char *needle, const char **body,
    size_t *len, const char **head)
{
	char delim[128];
	const char *p = msg;

	snprintf(delim, sizeof delim, "\r\n--%s", boundary);
	while ((p = strstr(p, delim)) != NULL) {
		const char *h = p + strlen(delim) + 2, *end = strstr(h, "\r\n\r\n"), *next;
		if (end == NULL)
			return -1;
		next = strstr(end, delim);
		if (next && memmem(h, (size_t)(end - h), needle, strlen(needle))) {
			*head = h;
			*body = end + 4;
			*len = (size_t)(next - *body);
			return 0;
		}
		p = h;
	}
	return -1;
}

static void
test_build_attachments(void)
{
	char dir[] = "/tmp/test_compose.XXXXXX";
	char bin[256], p1[300], p2[300], p3[300];
	unsigned char data[3000];
	struct pl_draft d;
	struct pl_message m;
	struct buf raw, dec = { 0 };
	const char *ct, *body, *head;
	char boundary[128];
	size_t len;
	struct pl_err e;
	const char *orig = "From: Bob <bob@example.net>\nSubject: orig\n\nthe original\n";

	OK(mkdtemp(dir) != NULL, "temp dir");
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 7);
	snprintf(p1, sizeof p1, "%s/résumé.pdf", dir);
	snprintf(p2, sizeof p2, "%s/%s.bin", dir,
	    "très-long-nom-de-fichier-accentué-pour-voir-les-continuations-rfc2231");
	snprintf(p3, sizeof p3, "%s/orig", dir);
	OK(pl_write_new(p1, data, sizeof data, &e) == 0 && pl_write_new(p2, "x", 1, &e) == 0 &&
	    pl_write_new(p3, orig, strlen(orig), &e) == 0, "attachment files written");
	(void)bin;

	new_draft(&d, "me@work.test", "bob@example.net", "files", "see attached\n");
	pl_draft_attach(&d, p1, NULL, NULL);
	pl_draft_attach(&d, p2, NULL, NULL);
	pl_draft_attach(&d, p3, "message/rfc822", NULL);
	OK(build(&d, &m, &raw) == 0, "message with attachments builds");
	ct = pl_message_get(&m, "Content-Type");
	OK(ct && strstr(ct, "multipart/mixed; boundary=\"") != NULL, "multipart/mixed");
	{
		const char *q = strchr(ct, '"');
		snprintf(boundary, sizeof boundary, "%.*s", (int)(strchr(q + 1, '"') - q - 1), q + 1);
	}
	OK(strstr(raw.p, "\r\n--") && strstr(raw.p, boundary), "boundary used");
	{
		char closing[160];
		snprintf(closing, sizeof closing, "\r\n--%s--\r\n", boundary);
		OK(raw.len > strlen(closing) &&
		    strcmp(raw.p + raw.len - strlen(closing), closing) == 0, "closing boundary last");
	}
	OK(find_part(raw.p, boundary, "text/plain", &body, &len, &head) == 0 &&
	    len == 14 && memcmp(body, "see attached\r\n", 14) == 0, "text part first");
	OK(find_part(raw.p, boundary, "application/pdf", &body, &len, &head) == 0,
	    "pdf part, type from the extension");
	OK(strstr(head, "filename*=UTF-8''r%C3%A9sum%C3%A9.pdf") != NULL,
	    "non-ASCII filename RFC 2231-encoded");
	OK(max_line(body, len) <= 76, "base64 lines at most 76");
	b64_decode(body, len, &dec);
	OK(dec.len == sizeof data && memcmp(dec.p, data, sizeof data) == 0,
	    "base64 decodes to the file");
	buf_free(&dec);
	OK(find_part(raw.p, boundary, "application/octet-stream", &body, &len, &head) == 0 &&
	    strstr(head, "filename*0*=UTF-8''tr%C3%A8s") && strstr(head, "filename*1*="),
	    "long filename in RFC 2231 continuations");
	OK(max_line(head, (size_t)(body - head)) <= 78, "part header lines short");
	OK(find_part(raw.p, boundary, "message/rfc822", &body, &len, &head) == 0 &&
	    strstr(head, "Content-Transfer-Encoding: 7bit") &&
	    len == strlen(orig) + 4 && memcmp(body, "From: Bob <bob@example.net>\r\n", 29) == 0,
	    "message/rfc822 part as is, CRLF");
	pl_message_free(&m);
	buf_free(&raw);

	pl_draft_attach(&d, "/nonexistent/file", NULL, NULL);
	OK(pl_compose_build(&d, 0, &raw, &e) < 0 && e.code == EX_NOINPUT &&
	    strstr(e.msg, "/nonexistent/file"), "a missing file: error naming it");
	pl_draft_free(&d);
	unlink(p1);
	unlink(p2);
	unlink(p3);
	rmdir(dir);
}

static void
test_types(void)
{
	STREQ(pl_mime_type_guess("a.PDF"), "application/pdf", "type: case-insensitive extension");
	STREQ(pl_mime_type_guess("photo.jpeg"), "image/jpeg", "type: jpeg");
	STREQ(pl_mime_type_guess("README"), "application/octet-stream", "type: no extension");
	STREQ(pl_mime_type_guess(".bashrc"), "application/octet-stream", "type: dot file");
	STREQ(pl_mime_type_guess("x.unknown"), "application/octet-stream", "type: unknown");
}

int
main(void)
{
	struct pl_err e;

	if (pl_config_parse(&cfg, "t.conf", conf_text, &e) < 0) {
		printf("Bail out! config: %s\n", e.msg);
		return 1;
	}
	test_templates();
	test_from_choice();
	test_references();
	test_draft_file();
	test_build_text();
	test_build_attachments();
	test_types();
	pl_config_free(&cfg);
	return tap_done();
}
