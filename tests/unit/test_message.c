/* test_message.c — parsing, checking and writing messages (message.c):
 * line endings, folding, the mbox From line, NUL bytes and the 998-octet
 * limit, RFC 2047 display names and RFC 5322 dates. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "message.h"
#include "tap.h"

static struct pl_message m;
static struct pl_err err;

static int
parse(const char *s)
{
	memset(&err, 0, sizeof err);
	pl_message_free(&m);
	return pl_message_parse(s, strlen(s), &m, &err);
}

static const char *
written(void)
{
	static struct buf b;

	buf_free(&b);
	buf_adds(&b, "");
	pl_message_write(&m, &b);
	return b.p;
}

static const char *
encoded(const char *name)
{
	static struct buf b;

	buf_free(&b);
	buf_adds(&b, "");
	pl_encode_display_name(&b, name);
	return b.p;
}

static const char *
date_in(const char *tz, int64_t t)
{
	static char out[64];

	setenv("TZ", tz, 1);
	tzset();
	pl_rfc5322_date(t, out, sizeof out);
	return out;
}

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

int
main(void)
{
	int rc;

	/* A plain CRLF message. */
	rc = parse("From: A <a@x.test>\r\nTo: b@y.test\r\nSubject: hi\r\n\r\nbody\r\n");
	OK(rc == 0 && m.nh == 3, "CRLF message: three headers");
	STREQ(m.h[0].name, "From", "first header name as written");
	STREQ(m.h[0].value, " A <a@x.test>", "value keeps the space after the colon");
	STREQ(pl_message_get(&m, "subject"), " hi", "get is case-insensitive");
	OK(pl_message_get(&m, "Cc") == NULL, "get of a missing header is NULL");
	STREQ(m.body, "body\r\n", "body");
	OK(m.bodylen == 6 && !m.body_8bit && !m.header_8bit, "length and 7-bit flags");
	STREQ(written(), "From: A <a@x.test>\r\nTo: b@y.test\r\nSubject: hi\r\n\r\nbody\r\n",
	    "written back byte for byte");

	/* Line endings. */
	rc = parse("Subject: lf\n\nline 1\nline 2\n");
	OK(rc == 0, "LF message parses");
	STREQ(m.body, "line 1\r\nline 2\r\n", "LF becomes CRLF");
	rc = parse("Subject: cr\r\rone\rtwo\r");
	STREQ(m.body, "one\r\ntwo\r\n", "bare CR becomes CRLF");
	rc = parse("Subject: mixed\r\n\na\r\nb\nc\rd");
	STREQ(m.body, "a\r\nb\r\nc\r\nd\r\n", "mixed endings, last line without one");
	rc = parse("Subject: x\n\n\n\n");
	STREQ(m.body, "\r\n\r\n", "empty body lines kept");
	rc = parse("Subject: crcrlf\r\n\r\na\r\r\nb\r\n");
	STREQ(m.body, "a\r\n\r\nb\r\n", "CR CR LF is a bare CR then CRLF");

	/* Folding. */
	rc = parse("Subject: one\r\n two\r\n\tthree\r\nTo: b@y.test\r\n\r\n");
	OK(rc == 0 && m.nh == 2, "folded header is one header");
	STREQ(m.h[0].value, " one\r\n two\r\n\tthree", "folding kept as CRLF + WSP");
	STREQ(written(), "Subject: one\r\n two\r\n\tthree\r\nTo: b@y.test\r\n\r\n",
	    "folded header written as it came");
	rc = parse("Subject: lf\n folded\n\nb\n");
	STREQ(m.h[0].value, " lf\r\n folded", "LF folding becomes CRLF folding");
	rc = parse(" leading space\nSubject: x\n\n");
	OK(rc == 0 && m.nh == 0, "continuation before any header: no headers");
	STREQ(m.body, " leading space\r\nSubject: x\r\n\r\n", "... it starts the body");
	rc = parse("Empty:\r\nX:  \r\n\r\n");
	OK(rc == 0 && m.nh == 2, "headers with empty values");
	STREQ(m.h[0].value, "", "empty value");
	STREQ(m.h[1].value, "  ", "white-space value kept");

	/* The mbox From line. */
	rc = parse("From sender@x.test Mon Nov 23 08:00:00 2026\nSubject: mbox\n\nb\n");
	OK(rc == 0 && m.nh == 1, "mbox From line dropped");
	STREQ(m.h[0].name, "Subject", "... the first header follows it");
	rc = parse("Subject: s\nFrom x@y Mon\n\nb\n");
	OK(rc == 0 && m.nh == 1, "a From_ line after line 1 is not dropped");
	STREQ(m.body, "From x@y Mon\r\n\r\nb\r\n", "... it starts the body");
	rc = parse("From: real@x.test\n\n");
	OK(rc == 0 && m.nh == 1 && strcmp(m.h[0].name, "From") == 0,
	    "From: header is not an mbox line");

	/* A body that starts without a blank line. */
	rc = parse("Subject: no blank\nthis is the body\nX-Not: a header\n");
	OK(rc == 0 && m.nh == 1, "non-field line ends the headers");
	STREQ(m.body, "this is the body\r\nX-Not: a header\r\n", "... and is the body's first line");
	STREQ(written(), "Subject: no blank\r\n\r\nthis is the body\r\nX-Not: a header\r\n",
	    "written with the blank line added");
	rc = parse("Bad Name: x\n\n");
	OK(rc == 0 && m.nh == 0, "a name with a space is not a field");
	rc = parse(":novalue\n");
	OK(rc == 0 && m.nh == 0, "an empty name is not a field");
	rc = parse("Na\xc3\xafve: x\n");
	OK(rc == 0 && m.nh == 0 && m.body_8bit && !m.header_8bit,
	    "8-bit name is not a field: it is body");
	rc = parse("");
	OK(rc == 0 && m.nh == 0 && m.bodylen == 0 && m.body && *m.body == '\0', "empty message");
	pl_message_free(&m);
	rc = pl_message_parse(NULL, 0, &m, &err);
	OK(rc == 0 && m.nh == 0 && m.bodylen == 0, "NULL, 0 is an empty message");
	rc = parse("Subject: only headers");
	OK(rc == 0 && m.nh == 1 && m.bodylen == 0, "headers only, no line end");
	STREQ(written(), "Subject: only headers\r\n\r\n", "written with the blank line");

	/* 8-bit. */
	rc = parse("Subject: caf\xc3\xa9\n\nplain\n");
	OK(rc == 0 && m.header_8bit && !m.body_8bit, "8-bit header flagged");
	rc = parse("Subject: plain\n\ncaf\xc3\xa9\n");
	OK(rc == 0 && !m.header_8bit && m.body_8bit, "8-bit body flagged");

	/* NUL bytes. */
	memset(&err, 0, sizeof err);
	pl_message_free(&m);
	rc = pl_message_parse("Subject: a\0b\n\n", 14, &m, &err);
	OK(rc == -1 && err.code == EX_DATAERR, "NUL byte refused with EX_DATAERR");
	OK(strstr(err.msg, "message contains a NUL byte at offset 10") == err.msg,
	    "... the message names its offset: %s", err.msg);
	OK(m.h == NULL && m.nh == 0 && m.body == NULL, "... and nothing is left allocated");
	rc = pl_message_parse("Subject: a\n\nbody\0", 17, &m, &err);
	OK(rc == -1 && strstr(err.msg, "offset 16") != NULL, "NUL in the body refused too");

	/* Header lines over 998 octets. */
	{
		char *v = repeat('v', 990), *s = malloc(2100);
		snprintf(s, 2100, "To: b@y.test\nX-Long: %s\n\nbody\n", v);	/* 8 + 990 */
		rc = parse(s);
		OK(rc == 0 && strlen(m.h[1].value) == 991, "998-octet header line accepted");
		snprintf(s, 2100, "To: b@y.test\nX-Long: %sv\n\nbody\n", v);
		rc = parse(s);
		OK(rc == -1 && err.code == EX_DATAERR, "999-octet header line refused");
		STREQ(err.msg, "header line 2 (X-Long) is 999 octets long; the limit is 998 "
		    "(RFC 5322): fold it", "... the message names line, field and length");
		OK(m.h == NULL && m.nh == 0, "... nothing left allocated");
		snprintf(s, 2100, "Subject: x\n %sxxxxxxxx\n\n", v);
		rc = parse(s);
		OK(rc == -1 && strstr(err.msg, "header line 2 (") && strstr(err.msg, "999 octets"),
		    "an over-long continuation line refused: %s", err.msg);
		snprintf(s, 2100, "Subject: x\n\n%s%s\n", v, v);
		rc = parse(s);
		OK(rc == 0 && m.bodylen == 1982, "a long body line is not a header matter");
		snprintf(s, 2100, "From %s%s\nSubject: x\n\n", v, v);
		rc = parse(s);
		OK(rc == 0 && m.nh == 1, "a long mbox From line is dropped, not refused");
		free(v);
		free(s);
	}

	/* Editing headers. */
	rc = parse("Bcc: a@x.test\nTo: b@y.test\nbcc: c@z.test\n\nb\n");
	rc = pl_message_remove(&m, "BCC");
	OK(rc == 2 && m.nh == 1, "remove takes every header of that name");
	OK(pl_message_remove(&m, "Bcc") == 0, "remove of a missing header is 0");
	pl_message_add(&m, "Message-ID", "<1@x.test>");
	STREQ(written(), "To: b@y.test\r\nMessage-ID: <1@x.test>\r\n\r\nb\r\n",
	    "add appends with a space after the colon");

	/* Display names for a From header. */
	STREQ(encoded("John Doe"), "John Doe", "plain name as is");
	STREQ(encoded("O'Brien-Smith"), "O'Brien-Smith", "atext specials as is");
	STREQ(encoded("Doe, John"), "\"Doe, John\"", "comma: quoted");
	STREQ(encoded("J. Doe"), "\"J. Doe\"", "dot: quoted");
	STREQ(encoded("a \"b\" c\\d"), "\"a \\\"b\\\" c\\\\d\"", "quotes and backslash escaped");
	STREQ(encoded("evil\r\nBcc: x@y.test"), "\"evilBcc: x@y.test\"",
	    "CR LF never reach the header");
	STREQ(encoded("J\xc3\xb6rg"), "=?UTF-8?B?SsO2cmc=?=", "UTF-8: one RFC 2047 word");
	{
		struct buf n = { 0 };
		for (int i = 0; i < 30; i++)
			buf_adds(&n, "\xc3\xa9");
		STREQ(encoded(n.p), "=?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6k=?="
		    "\r\n =?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqQ==?=",
		    "long UTF-8: words of at most 45 octets, split between characters");
		buf_free(&n);
		char *bad = repeat('\x80', 50);
		STREQ(encoded(bad), "=?UTF-8?B?gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICA?="
		    "\r\n =?UTF-8?B?gICAgIA=?=",
		    "invalid UTF-8 (only continuation bytes) is still split and bounded");
		free(bad);
	}
	STREQ(encoded(""), "", "empty name gives nothing");

	/* Dates. */
	STREQ(date_in("UTC0", 0), "Thu, 1 Jan 1970 00:00:00 +0000", "epoch in UTC");
	STREQ(date_in("UTC0", 1795421779), "Mon, 23 Nov 2026 08:16:19 +0000", "a date in UTC");
	STREQ(date_in("CET-1", 1795421779), "Mon, 23 Nov 2026 09:16:19 +0100", "east of UTC");
	STREQ(date_in("EST5", 1795421779), "Mon, 23 Nov 2026 03:16:19 -0500", "west of UTC");
	STREQ(date_in("NST3:30", 1795421779), "Mon, 23 Nov 2026 04:46:19 -0330",
	    "half-hour offset west");
	STREQ(date_in("IST-5:30", 1795421779), "Mon, 23 Nov 2026 13:46:19 +0530",
	    "half-hour offset east");
	STREQ(date_in("UTC0", 1795421779 - 5 * 86400), "Wed, 18 Nov 2026 08:16:19 +0000",
	    "day of month without a leading zero");

	pl_message_free(&m);
	OK(m.h == NULL && m.body == NULL && m.nh == 0, "free empties the message");
	pl_message_free(&m);
	OK(1, "free twice is harmless");
	/* obs-optional: white space before the colon */
	rc = parse("From: a@x.test\nSubject : spaced\nTo\t: b@y.test\n\nbody\n");
	OK(rc == 0 && m.nh == 3, "white space before the colon: still three headers");
	STREQ(pl_message_get(&m, "Subject"), " spaced", "  the field is found by its name");
	STREQ(m.h[2].name, "To", "  the name has no trailing white space");
	STREQ(m.body, "body\r\n", "  the body is only the body");
	rc = parse("From: a@x.test\nNot a field\nSubject: x\n\nbody\n");
	OK(rc == 0 && m.nh == 1, "a line with a space in the name still ends the header");

	return tap_done();
}
