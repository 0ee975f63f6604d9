/* test_sevenbit.c — the 7-bit conversion made before signing (sevenbit.c):
 * quoted-printable that decodes to the original, long lines split with soft
 * breaks, 8-bit headers and base64 parts untouched, multipart labels, and
 * above all that its output is left byte for byte as it is by a second
 * conversion: the daemon (pl_smtp_to_7bit, the same algorithm) then never
 * changes a signed message. */
#include <stdlib.h>
#include <string.h>

#include "sevenbit.h"
#include "smtp.h"
#include "tap.h"
#include "util.h"

static struct buf out;
static int parts;

static const char *
conv(const char *msg)
{
	buf_free(&out);
	buf_adds(&out, "");
	parts = pl_7bit_convert(msg, strlen(msg), &out);
	return out.p;
}

/* The body of a converted single-part message, quoted-printable decoded. */
static char *
qp_decode_body(const char *msg)
{
	const char *p = strstr(msg, "\r\n\r\n");
	struct buf b = { 0 };

	buf_adds(&b, "");
	if (p == NULL)
		return buf_steal(&b);
	for (p += 4; *p; p++) {
		if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
			p += 2;
		} else if (p[0] == '=' && p[1] && p[2]) {
			char hex[3] = { p[1], p[2], 0 };
			buf_addc(&b, (char)strtol(hex, NULL, 16));
			p += 2;
		} else
			buf_addc(&b, *p);
	}
	return buf_steal(&b);
}

static int
max_line(const char *s)
{
	int m = 0, col = 0;

	for (; *s; s++) {
		col = *s == '\n' ? 0 : col + 1;
		if (col > m)
			m = col;
	}
	return m;
}

static int
all_7bit(const char *s, size_t n)
{
	return !pl_has_8bit(s, n);
}

/* The daemon's conversion leaves s as it is, and so does ours. */
static int
stable(const char *s)
{
	struct buf a = { 0 }, b = { 0 };
	size_t n = strlen(s);
	int na = pl_smtp_to_7bit(s, n, &a), nb = pl_7bit_convert(s, n, &b);
	int ok = na == 0 && nb == 0 && a.len == n && b.len == n && memcmp(a.p, s, n) == 0 &&
	    memcmp(b.p, s, n) == 0;

	buf_free(&a);
	buf_free(&b);
	return ok;
}

/* Converting s, then converting the result again: the second pass finds
 * nothing to do and gives the same bytes. */
static int
idempotent(const char *s)
{
	struct buf a = { 0 }, b = { 0 };
	size_t n = strlen(s);
	int na = pl_7bit_convert(s, n, &a), nb;
	int ok;

	buf_addc(&a, '\0');
	a.len--;
	nb = pl_smtp_to_7bit(a.p, a.len, &b);
	ok = na > 0 && nb == 0 && a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
	buf_free(&a);
	buf_free(&b);
	return ok;
}

int
main(void)
{
	const char *plain = "From: a@b.test\r\nSubject: hi\r\n\r\nhello\r\nworld\r\n";
	char *s, *d;

	/* 7-bit mail is not touched */
	STREQ(conv(plain), plain, "7-bit message copied as it is");
	OK(parts == 0, "... 0 parts converted");
	OK(!pl_7bit_needed(plain, strlen(plain)), "... pl_7bit_needed says no");

	/* 8-bit text: quoted-printable decoding to the original */
	s = "From: a@b.test\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\nGr\303\274\303\237e a=b  \r\ntab\t\r\n.\r\n";
	OK(pl_7bit_needed(s, strlen(s)), "8-bit body: needed");
	conv(s);
	OK(parts == 1, "8-bit body: one part converted");
	OK(all_7bit(out.p, out.len), "8-bit body: every octet 7-bit");
	OK(strstr(out.p, "\r\nContent-Transfer-Encoding: quoted-printable\r\n") &&
	    !strstr(out.p, "8bit"), "8-bit body: one Content-Transfer-Encoding, quoted-printable");
	OK(strstr(out.p, "Content-Type: text/plain; charset=utf-8\r\n") != NULL,
	    "8-bit body: Content-Type kept");
	OK(strstr(out.p, "a=3Db =20\r\n") && strstr(out.p, "tab=09\r\n"),
	    "8-bit body: '=' and trailing blanks encoded");
	d = qp_decode_body(out.p);
	STREQ(d, "Gr\303\274\303\237e a=b  \r\ntab\t\r\n.\r\n", "8-bit body: decodes to the original");
	free(d);
	OK(stable(out.p), "8-bit body: converting again changes nothing, ours or the daemon's");
	OK(idempotent(s), "8-bit body: the daemon's conversion leaves ours as it is");

	/* a line over 998 octets in a 7-bit message */
	{
		struct buf m = { 0 }, want = { 0 };
		buf_adds(&m, "From: a@b.test\r\nSubject: long\r\n\r\nshort\r\n");
		buf_adds(&want, "short\r\n");
		for (int i = 0; i < 1500; i++) {
			buf_addc(&m, 'w');
			buf_addc(&want, 'w');
		}
		buf_adds(&m, "\r\nend\r\n");
		buf_adds(&want, "\r\nend\r\n");
		OK(pl_7bit_needed(m.p, m.len), "long line: needed");
		conv(m.p);
		OK(parts == 1, "long line: one part converted");
		OK(max_line(out.p) <= 77, "long line: no line over 76 octets and CR (got %d)",
		    max_line(out.p));
		OK(strstr(out.p, "MIME-Version: 1.0\r\n") != NULL,
		    "long line: MIME-Version added to a message without one");
		d = qp_decode_body(out.p);
		STREQ(d, want.p, "long line: decodes to the original");
		free(d);
		OK(stable(out.p), "long line: stable under both conversions");
		OK(idempotent(m.p), "long line: the daemon's conversion leaves ours as it is");
		buf_free(&m);
		buf_free(&want);
	}

	/* 8-bit header, 7-bit body: nothing to do (RFC 6532 headers stay) */
	s = "From: J\303\274rgen <j@b.test>\r\nSubject: \303\274ber\r\n\r\nascii only\r\n";
	STREQ(conv(s), s, "8-bit header, 7-bit body: untouched");
	OK(parts == 0, "8-bit header: 0 parts converted");

	/* 8-bit header and 8-bit body: the header stays 8-bit */
	s = "From: a@b.test\r\nSubject: \303\274ber\r\n\r\n\303\274\r\n";
	conv(s);
	OK(strstr(out.p, "Subject: \303\274ber\r\n") && strstr(out.p, "\r\n\r\n=C3=BC\r\n"),
	    "8-bit header and body: header as it was, body encoded");

	/* multipart: the 8-bit text part converted, the base64 part and the
	 * preamble untouched, the multipart's 8bit label made 7bit */
	s = "From: a@b.test\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b0\"\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n"
	    "preamble\r\n--b0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n\303\244\303\266\r\n"
	    "--b0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"\303\244.bin\"\r\n\r\n"
	    "AAECAwQF\r\n--b0--\r\nepilogue\r\n";
	conv(s);
	OK(parts == 1, "multipart: one part converted");
	OK(strstr(out.p, "Content-Transfer-Encoding: 7bit\r\n\r\npreamble\r\n--b0\r\n") != NULL,
	    "multipart: its 8bit label became 7bit, the preamble kept");
	OK(strstr(out.p, "\r\n\r\n=C3=A4=C3=B6\r\n--b0\r\n") != NULL,
	    "multipart: the text part encoded, the delimiter's line break kept");
	OK(strstr(out.p, "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; "
	    "filename=\"\303\244.bin\"\r\n\r\nAAECAwQF\r\n--b0--\r\nepilogue\r\n") != NULL,
	    "multipart: the base64 part (8-bit filename too) and the epilogue untouched");
	OK(stable(out.p), "multipart: stable under both conversions");
	OK(idempotent(s), "multipart: the daemon's conversion leaves ours as it is");

	/* a message/rfc822 inside, nested multipart */
	s = "From: a@b.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n"
	    "--o\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
	    "Subject: inner\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n"
	    "--i\r\nContent-Type: text/plain\r\n\r\n\303\251t\303\251\r\n--i--\r\n--o--\r\n";
	conv(s);
	OK(parts == 1 && all_7bit(out.p, out.len), "nested: converted, all 7-bit");
	OK(stable(out.p), "nested: stable under both conversions");
	OK(idempotent(s), "nested: the daemon's conversion leaves ours as it is");

	/* already quoted-printable or base64 with 8-bit octets: left alone */
	s = "From: a@b.test\r\nContent-Transfer-Encoding: base64\r\n\r\n\303\274\r\n";
	STREQ(conv(s), s, "a part labelled base64 is never re-encoded");

	/* LF-only input: encoded lines get CRLF, the rest stays */
	s = "Subject: x\n\n\303\274\n";
	conv(s);
	OK(parts == 1 && strstr(out.p, "\n\n=C3=BC\r\n") != NULL, "LF input: encoded with CRLF");

	/* no body at all, header only */
	s = "Subject: x\r\n";
	STREQ(conv(s), s, "header only: untouched");

	buf_free(&out);
	return tap_done();
}
