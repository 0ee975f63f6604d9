/* test_mime.c — a message file as the pager shows it (mime.c, mimetext.c,
 * rfc2047.c): encoded headers in many charsets, body charsets, QP and
 * base64, format=flowed, alternatives, HTML through w3m or the fallback,
 * attachments and saving them, broken MIME, the auth summary, and that no
 * byte of a message ever reaches the terminal as a control character.
 * Messages come from tests/sync/mkmail.py (fixed seed) and from literals. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mime.h"
#include "rfc2047.h"
#include "tap.h"
#include "termsafe.h"

static char dir[] = "/tmp/test_mime.XXXXXX";
static struct pl_rendered r;
static struct pl_render_opts opts;
static struct pl_err err;

static int
render_path(const char *path)
{
	int rc;

	pl_rendered_free(&r);
	memset(&err, 0, sizeof err);
	rc = pl_mime_render(path, &opts, &r, &err);
	if (rc == 0 && (!term_safe(r.text, r.len, 0) || strlen(r.text) != r.len)) {
		printf("# unsafe text from %s\n", path);
		return -2;
	}
	return rc;
}

static const char *
write_msg(const char *name, const char *s, size_t n)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	fwrite(s, 1, n, f);
	fclose(f);
	return path;
}

static int
render_str(const char *s)
{
	return render_path(write_msg("lit.eml", s, strlen(s)));
}

static int
has(const char *needle)
{
	int ok = r.text && strstr(r.text, needle) != NULL;

	if (!ok)
		printf("# missing: %s\n", needle);
	return ok;
}

static const struct pl_attachment *
att_named(const char *name)
{
	for (size_t i = 0; i < r.natt; i++)
		if (r.att[i].filename && strcmp(r.att[i].filename, name) == 0)
			return &r.att[i];
	return NULL;
}

static int
mk(int i)
{
	char path[256];

	snprintf(path, sizeof path, "%s/mk/%05d.eml", dir, i);
	return render_path(path);
}

/* The widest line of the body (after the header block), in characters. */
static size_t
widest_body_line(void)
{
	const char *p = strstr(r.text, "\n\n"), *nl;
	size_t best = 0;

	for (p = p ? p + 2 : r.text; *p; p = nl + 1) {
		size_t w = 0;

		nl = strchr(p, '\n');
		if (nl == NULL)
			break;
		for (const char *q = p; q < nl; q++)
			w += ((unsigned char)*q & 0xc0) != 0x80;
		if (w > best)
			best = w;
	}
	return best;
}

static char *
read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long len;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	s = malloc((size_t)len + 1);
	*n = fread(s, 1, (size_t)len, f);
	s[*n] = '\0';
	fclose(f);
	return s;
}

static void
test_mkmail(void)
{
	const char *build = getenv("PALOMA_BUILD");
	char cmd[1024], top[512];
	const struct pl_attachment *a;

	snprintf(top, sizeof top, "%s", build && *build ? build : ".");
	if (build && *build)
		strncat(top, "/..", sizeof top - strlen(top) - 1);
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/sync/mkmail.py --seed 7 --start 0 "
	    "--count 20 --dir %s/mk >/dev/null", top, dir);
	if (system(cmd) != 0) {
		printf("ok %d - mkmail.py messages # SKIP mkmail.py did not run\n", ++tap_n);
		return;
	}
	opts.width = 60;
	OK(mk(1) == 0 && strcmp(r.subject, "Grüße aus Köln — ✓ 日本語のテスト 1") == 0,
	    "UTF-8 B subject decoded");
	OK(has("From: Jürgen Weiß <gruss@example.test>") && has("Ελληνικά, русский, 中文"),
	    "UTF-8 B display name, base64 UTF-8 body");
	OK(r.header_lines == 4 && strncmp(r.text, "From: ", 6) == 0, "four header lines");
	OK(mk(2) == 0 && has("Subject: Café crème à la carte n° 2") &&
	    has("From: Chloé Dupont") && has("Voilà le menu: crème brûlée, pâté"),
	    "ISO-8859-1 Q headers and quoted-printable body");
	OK(mk(3) == 0 && has("Subject: Привет, мир! Сообщение 3") &&
	    has("Съешь же ещё этих мягких французских булок"), "KOI8-R subject and 8bit body");
	OK(mk(4) == 0 && has("Subject: 日本語の件名です 4") &&
	    has("いろはにほへと ちりぬるを わかよたれそ つねならむ\n"),
	    "Shift_JIS subject, ISO-2022-JP body");
	OK(mk(5) == 0 && has("\u201cSmart quotes\u201d \u2014 and \u20ac euros, \u2018ticks\u2019 \u2026"),
	    "windows-1252 8bit body");
	OK(mk(6) == 0 && has("Subject: 中文邮件 6") && has("中华人民共和国 汉字编码 测试邮件"),
	    "GB18030 subject and base64 body");
	OK(mk(7) == 0 && strstr(r.text, "=\n") == NULL && widest_body_line() > 900 && has(" é\n"),
	    "QP soft line breaks joined into one long line");
	OK(mk(9) == 0 && has("naïve café, Ærøskøbing, Zürich, Łódź"), "raw 8-bit UTF-8 body");
	OK(mk(10) == 0 && has("Plain part — see the picture.") &&
	    strstr(r.text, "HTML part with") == NULL,
	    "nested multipart: the text/plain alternative is shown, not the HTML");
	a = att_named("report.pdf");
	OK(a && strcmp(a->type, "application/pdf") == 0 && a->size == 3009,
	    "report.pdf listed with its decoded size");
	a = att_named("pic.png");
	OK(a && strcmp(a->type, "image/png") == 0 && a->size == 1500,
	    "the inline image of the unchosen HTML is listed");
	OK(mk(11) == 0 && (a = att_named("Übersicht 2024 €.bin")) != NULL && a->size == 10000,
	    "RFC 2231 UTF-8 file name and base64 size");
	OK((a = att_named("data.csv")) != NULL && strcmp(a->type, "text/csv") == 0 &&
	    a->size == 600 && strstr(r.text, "a,b,c") == NULL,
	    "a named text/csv part is an attachment, not inline");
	OK(mk(12) == 0 && widest_body_line() <= 60 && has("\n> quoted flowed text") &&
	    has("\n>> and deeper\n") && has("\n-- \nsignature\n"),
	    "format=flowed: reflowed at 60 columns, quotes and signature kept");
	OK(has(" 0the"), "DelSp=yes deletes the soft-break space");
	if (access("/usr/bin/w3m", X_OK) == 0) {
		opts.html_command = NULL;
		OK(mk(15) == 0 && strstr(r.text, "<p") == NULL && strstr(r.text, "color") == NULL && strstr(r.text, "(HTML part") == NULL &&
		    r.len > 200, "HTML only: through w3m, no tags");
	} else {
		printf("ok %d - HTML through w3m # SKIP w3m is not installed\n", ++tap_n);
	}
	OK(mk(17) == 0 && has("Teil 11 mit Umlauten äöü") && has("Empfänger249 <r249@example.test>"),
	    "huge headers: twelve B words with padding, 250 Cc names");
	OK(mk(18) == 0 && r.in_reply_to && strncmp(r.in_reply_to, "<mk-tricky-7-", 13) == 0 &&
	    r.references && strchr(r.references, '\n') == NULL,
	    "In-Reply-To and unfolded References");
	OK(mk(19) == 0 && has("See below.") && has("attached message") &&
	    has("Subject: Café crème à la carte n° 2") && has("Voilà le menu"),
	    "message/rfc822 shown inline with its headers");
	OK(r.natt == 1 && strcmp(r.att[0].type, "message/rfc822") == 0, "and listed");
	OK(mk(16) == 0 && r.subject && *r.subject == '\0', "empty subject, empty body");
	opts.all_headers = 1;
	OK(mk(9) == 0 && has("X-Raw-Header: Ünïcödé in a header, raw") && has("\nReceived: from"),
	    "all headers, raw 8-bit one decoded, folded one joined");
	opts.all_headers = 0;
}

static void
test_flowed(void)
{
	opts.width = 30;
	OK(render_str("From: a@b.test\nContent-Type: text/plain; format=flowed\n\n"
	    "one two three four five six seven \neight nine ten eleven twelve.\n"
	    "> quoted one two three four five \n> six seven eight nine ten.\n"
	    ">  stuffed\n"
	    "fixed line that is much longer than thirty columns\n") == 0,
	    "flowed literal renders");
	STREQ(strstr(r.text, "\n\n") + 2,
	    "one two three four five six\nseven eight nine ten eleven\ntwelve.\n"
	    "> quoted one two three four\n> five six seven eight nine\n> ten.\n"
	    ">  stuffed\n"
	    "fixed line that is much longer than thirty columns\n",
	    "flowed: reflowed at 30, quote prefix, space stuffing, fixed lines kept");
	opts.width = 80;
}

static void
test_structure(void)
{
	OK(render_str("From: a@b.test\nSubject: alt\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/alternative; boundary=XX\n\n"
	    "--XX\nContent-Type: text/html\n\n<p>the html version</p>\n"
	    "--XX\nContent-Type: text/plain; charset=utf-8\n\nthe plain version\n--XX--\n") == 0 &&
	    has("the plain version") && strstr(r.text, "html version") == NULL && r.natt == 0,
	    "alternative: text/plain chosen even when first is HTML");
	opts.html_command = "/nonexistent/dumper";
	OK(render_str("From: a@b.test\nContent-Type: text/html; charset=iso-8859-1\n\n"
	    "<html><style>p{}</style><p>Gr\xfc\xdf" "e &amp; <b>K\xf6ln</b></p><script>x()</script>"
	    "<p>zwei</p></html>\n") == 0 &&
	    has("(HTML part: install w3m or set html_command)") && has("Grüße & Köln\n") &&
	    has("zwei") && strstr(r.text, "x()") == NULL && strstr(r.text, "p{}") == NULL,
	    "HTML without a dumper: note and tag-stripped text");
	opts.html_command = "tr a-z A-Z";
	OK(render_str("From: a@b.test\nContent-Type: text/html\n\n<p>shout</p>\n") == 0 &&
	    has("<P>SHOUT</P>"), "html_command split into words, HTML on its stdin");
	opts.html_command = "false";
	OK(render_str("From: a@b.test\nContent-Type: text/html\n\n<p>fails</p>\n") == 0 &&
	    has("exit status 1") && has("fails"), "a failing dumper: note and stripped text");
	opts.html_command = NULL;
	OK(render_str("From: a@b.test\nSubject: broken\nContent-Type: multipart/mixed; "
	    "boundary=\"abc\"\n\n--xyz\nContent-Type: text/plain\n\nHello broken world\n--xyz--\n")
	    == 0 && has("Hello broken world"), "a wrong boundary still shows the text");
	OK(render_str("From: a@b.test\nContent-Type: multipart/mixed; boundary=abc\n\n--abc\n"
	    "Content-Type: text/plain\n\nHello unclosed\n") == 0 && has("Hello unclosed"),
	    "a missing closing boundary still shows the text");
	{
		struct buf b = { 0 };

		buf_adds(&b, "From: a@b.test\nSubject: deep\n");
		for (int i = 0; i < 200; i++)
			buf_printf(&b, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
		buf_adds(&b, "Content-Type: text/plain\n\nbottom\n");
		OK(render_str(b.p) == 0 && has("nested too deep"), "200 levels: renders, with a note");
		buf_free(&b);
	}
	OK(render_str("From a@b.test Mon Jan  1 00:00:00 2024\nFrom: x@y.test\nSubject: mbox\n\n"
	    "body\n") == 0 && r.from && strcmp(r.from, "x@y.test") == 0 && has("body"),
	    "an mbox From line is skipped");
	OK(render_str("From: a@b.test\r\nSubject: =?utf-8?q?CRLF_=C3=A9?=\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
	    "quoted-printable\r\n\r\nsoft=\r\nbreak caf=C3=A9\r\n") == 0 &&
	    has("Subject: CRLF é\n") && has("softbreak café\n") && strchr(r.text, '\r') == NULL,
	    "CRLF message: QP soft breaks and line ends");
	OK(render_path(write_msg("empty.eml", "", 0)) == 0 && r.len == 1, "an empty file");
	OK(render_str("From: A <a@b.test>\nReply-To: a@B.test\nTo: c@d.test\n\nx\n") == 0 &&
	    strstr(r.text, "Reply-To") == NULL && r.reply_to, "Reply-To equal to From: hidden");
	OK(render_str("From: A <a@b.test>\nReply-To: list@b.test\nTo: c@d.test\n\nx\n") == 0 &&
	    has("Reply-To: list@b.test\n") && r.header_lines == 3, "Reply-To that differs: shown");
	pl_rendered_free(&r);
	OK(pl_mime_render("/nonexistent/msg", &opts, &r, &err) == -1 && err.code == EX_NOINPUT &&
	    r.text == NULL, "a missing file: EX_NOINPUT");
}

static void
test_safety(void)
{
	static const char msg[] =
	    "From: =?utf-8?q?evil=1B]2;title=07?= <e@x.test>\n"
	    "Subject: \x1b[2Jclear =?utf-8?b?G1sybQ==?= \xc2\x9b" "1m\n"
	    "Content-Type: multipart/mixed; boundary=B\n\n"
	    "--B\nContent-Type: text/plain\n\nraw \x1b[31mred\x1b[0m nul \0 bell \a del \x7f cr\rover\n"
	    "--B\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: "
	    "quoted-printable\n\nqp =1B[5m c1 =C2=9B done\n"
	    "--B\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
	    "G1tIG1sySmI2NAo=\n"
	    "--B\nContent-Type: text/plain; charset=ISO-2022-JP\n\n\x1b$B$$$m$O\x1b(B ok\n"
	    "--B\nContent-Type: application/x-evil\nContent-Disposition: attachment; "
	    "filename=\"../../\x1b[1m.bashrc\"\n\nx\n--B--\n";
	const char *p = write_msg("evil.eml", msg, sizeof msg - 1);

	OK(render_path(p) == 0, "a message full of escapes renders terminal-safe text");
	OK(memchr(r.text, 0x1b, r.len) == NULL && strchr(r.text, '\a') == NULL &&
	    strchr(r.text, '\r') == NULL, "no ESC, BEL or CR in the output");
	OK(has("raw \xef\xbf\xbd[31mred") && has("cr\nover") && has("b64\n") && has("いろは ok"),
	    "controls replaced by U+FFFD; lone CR a line break; ISO-2022-JP's own ESC decoded");
	OK(r.subject && strchr(r.subject, 0x1b) == NULL && r.from && strchr(r.from, 0x07) == NULL,
	    "decoded fields carry no controls");
	OK(r.natt == 1 && r.att[0].filename && strchr(r.att[0].filename, '/') == NULL &&
	    strchr(r.att[0].filename, 0x1b) == NULL, "an attachment name loses '/' and ESC");
}

static void
test_save(void)
{
	static const char msg[] =
	    "From: a@b.test\nContent-Type: multipart/mixed; boundary=B\n\n"
	    "--B\nContent-Type: text/plain\n\nsee attached\n"
	    "--B\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
	    "Content-Disposition: attachment;\n filename*0*=UTF-8''%C3%9Cber;\n filename*1*=sicht.bin\n\n"
	    "AAEC/wAK\n"
	    "--B\nContent-Type: text/plain; name=\"=?utf-8?B?w5xiZXJzaWNodCAyMDI0?= "
	    "=?utf-8?B?IOKCrC50eHQ=?=\"\nContent-Disposition: attachment\n\nnotes\n--B--\n";
	static const char fwd[] =
	    "From: a@b.test\nContent-Type: multipart/mixed; boundary=F\n\n--F\n\nhi\n--F\n"
	    "Content-Type: message/rfc822\n\nFrom: inner@x.test\nSubject: inner\n"
	    "Content-Type: multipart/mixed; boundary=G\n\n--G\n\ninner text\n--G\n"
	    "Content-Type: image/gif\nContent-Disposition: attachment; filename=x.gif\n\nGIF\n"
	    "--G--\n--F--\n";
	char path[256], dest[300];
	const struct pl_attachment *a;
	size_t n;
	char *got;

	snprintf(path, sizeof path, "%s", write_msg("att.eml", msg, sizeof msg - 1));
	OK(render_path(path) == 0 && r.natt == 2 && has("see attached"), "two attachments");
	a = att_named("Übersicht.bin");
	OK(a && a->size == 6 && a->id == 3, "RFC 2231 continuation name, id 3, 6 bytes");
	OK(att_named("Übersicht 2024 €.txt") != NULL, "two RFC 2047 words in a name= joined");
	snprintf(dest, sizeof dest, "%s/saved.bin", dir);
	OK(pl_mime_save(path, 3, dest, &err) == 0, "saved");
	got = read_file(dest, &n);
	OK(got && n == 6 && memcmp(got, "\x00\x01\x02\xff\x00\x0a", 6) == 0, "exact bytes");
	free(got);
	{
		struct stat st;

		OK(stat(dest, &st) == 0 && (st.st_mode & 0777) == 0600, "mode 0600");
	}
	OK(pl_mime_save(path, 3, dest, &err) == -1 && err.code == EX_CANTCREAT,
	    "an existing file is not overwritten");
	OK(pl_mime_save(path, 99, dest, &err) == -1 && err.code == EX_DATAERR, "no part 99");
	snprintf(dest, sizeof dest, "%s/saved.txt", dir);
	if (pl_mime_save(path, 4, dest, &err) < 0)
		printf("# %s\n", err.msg);
	OK(access(dest, F_OK) == 0 && (got = read_file(dest, &n)) != NULL &&
	    n == 5 && memcmp(got, "notes", 5) == 0,
	    "the text attachment saved (the line end before a boundary is the boundary's)");
	free(got);
	/* Numbers follow the walk: the message part, then its body's parts. */
	snprintf(path, sizeof path, "%s", write_msg("fwd.eml", fwd, sizeof fwd - 1));
	OK(render_path(path) == 0 && has("inner text") && (a = att_named("x.gif")) != NULL &&
	    a->id == 6 && r.natt == 2 && r.att[0].id == 3, "parts inside message/rfc822 numbered");
	snprintf(dest, sizeof dest, "%s/x.gif", dir);
	OK(pl_mime_save(path, 6, dest, &err) == 0 && (got = read_file(dest, &n)) != NULL &&
	    n == 3 && memcmp(got, "GIF", 3) == 0, "saved from inside the forwarded message");
	free(got);
}

static void
test_auth(void)
{
	OK(render_str("Authentication-Results: mx.example.net; dkim=pass (2048-bit key)\n"
	    " header.d=example.org header.s=sel; spf=pass (sender ok) smtp.mailfrom=example.org;\n"
	    " dmarc=pass (p=reject) header.from=example.org\n"
	    "Authentication-Results: evil.example; dkim=pass header.d=paypal.com\n"
	    "From: a@example.org\n\nx\n") == 0 && r.auth &&
	    strcmp(r.auth, "DKIM pass (example.org), SPF pass, DMARC pass, "
	    "according to mx.example.net") == 0,
	    "auth summary from the topmost Authentication-Results");
	if (r.auth)
		printf("# auth: %s\n", r.auth);
	OK(render_str("Authentication-Results: mx; dkim=fail header.i=@Bad.Example;\n"
	    " spf=softfail\nFrom: a@b.test\n\nx\n") == 0 && r.auth &&
	    strcmp(r.auth, "DKIM fail (bad.example), SPF softfail, according to mx") == 0,
	    "failures, header.i");
	OK(render_str("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\n d=example.org; "
	    "s=sel; h=from; bh=x; b=y\nFrom: a@b.test\n\nx\n") == 0 && r.auth &&
	    strcmp(r.auth, "DKIM signed by example.org (not verified)") == 0, "DKIM-Signature only");
	OK(render_str("From: a@b.test\n\nx\n") == 0 && r.auth == NULL, "neither: NULL");
	OK(render_str("Authentication-Results: mx.example.net; none\n"
	    "Authentication-Results: evil.example; dkim=pass header.d=paypal.com\n"
	    "From: a@b.test\n\nx\n") == 0 && r.auth == NULL,
	    "a field below the topmost is never believed");
}

static void
test_decode_header(void)
{
	static const struct {
		const char *in, *want, *name;
	} t[] = {
		{ "=?utf-8?B?R3LDvMOfZQ==?= =?utf-8?B?IGF1cyBLw7Zsbg==?=", "Grüße aus Köln",
		  "two padded B words" },
		{ "=?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?=", "café", "a character split across words" },
		{ "\"=?iso-8859-1?q?Chlo=E9?=\" <c@x.test>", "\"Chloé\" <c@x.test>",
		  "a word inside quotes" },
		{ "Caf\xe9 cr\xe8me", "Café crème", "raw 8-bit latin1" },
		{ "Gr\xc3\xbc\xc3\x9f" "e", "Grüße", "raw UTF-8" },
		{ "one\r\n two\r\n\tthree", "one two three", "folded lines joined" },
		{ "=?koi8-r?B?8NLJ18XU?=", "Привет", "KOI8-R" },
		{ "=?x-unknown-cs?Q?abc?= d", "abc d", "unknown charset" },
		{ "=?utf-8*en?Q?hi?=", "hi", "RFC 2231 language" },
		{ "a \x1b[31m b\x7f", "a [31m b", "controls dropped" },
		{ "=?utf-8?Q?broken", "=?utf-8?Q?broken", "an unfinished word stays" },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char *s = pl_mime_decode_header(t[i].in);

		STREQ(s, t[i].want, "decode_header: %s", t[i].name);
		free(s);
	}
}

int
main(void)
{
	char cmd[300];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_decode_header();
	test_mkmail();
	test_flowed();
	test_structure();
	test_safety();
	test_save();
	test_auth();
	pl_rendered_free(&r);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
