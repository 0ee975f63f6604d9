/* test_util.c — the small parsers and formatters of util.c: durations,
 * sizes, and the escaping of values in state files. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util.h"

static void
duration_ok(const char *s, long want)
{
	long got = -12345;
	int rc = parse_duration(s, &got);

	OK(rc == 0 && got == want, "parse_duration(\"%s\") = %ld (got %ld, rc %d)", s, want,
	    got, rc);
}

static void
duration_bad(const char *s)
{
	long got = -12345;
	int rc = parse_duration(s, &got);

	OK(rc == -1 && got == -12345, "parse_duration(\"%s\") is refused, out untouched", s);
}

static void
size_ok(const char *s, long long want)
{
	long long got = -12345;
	int rc = parse_size(s, &got);

	OK(rc == 0 && got == want, "parse_size(\"%s\") = %lld (got %lld, rc %d)", s, want,
	    got, rc);
}

static void
size_bad(const char *s)
{
	long long got = -12345;
	int rc = parse_size(s, &got);

	OK(rc == -1 && got == -12345, "parse_size(\"%s\") is refused, out untouched", s);
}

static void
fmt_is(long secs, const char *want)
{
	char out[32];

	memset(out, 'X', sizeof out);
	fmt_duration(secs, out, sizeof out);
	STREQ(out, want, "fmt_duration(%ld)", secs);
}

static void
escape_is(const char *in, const char *want, const char *what)
{
	struct buf b = { 0 };
	char *back;

	buf_adds(&b, "");
	escape_value(&b, in);
	STREQ(b.p, want, "escape_value: %s", what);
	back = unescape_value(b.p);
	STREQ(back, in, "unescape_value(escape_value(x)) == x: %s", what);
	free(back);
	buf_free(&b);
}

static void
unescape_is(const char *in, const char *want, const char *what)
{
	char *got = unescape_value(in);

	STREQ(got, want, "unescape_value: %s", what);
	free(got);
}

int
main(void)
{
	/* Durations: a bare number is seconds; units s m h d w; parts add up. */
	duration_ok("90", 90);
	duration_ok("90s", 90);
	duration_ok("5m", 300);
	duration_ok("4h", 4 * 3600);
	duration_ok("5d", 5 * 86400);
	duration_ok("1w", 7 * 86400);
	duration_ok("1d2h", 86400 + 7200);
	duration_ok("1h30m15s", 3600 + 1800 + 15);
	duration_ok("0", 0);
	duration_ok("3650d", 3650L * 86400);
	duration_bad("");
	duration_bad("m");
	duration_bad("-5m");
	duration_bad("+5m");
	duration_bad(" 5m");
	duration_bad("5 m");
	duration_bad("5x");
	duration_bad("5M");		/* minutes are lower case; M is a size */
	duration_bad("5ms");
	duration_bad("1.5h");
	duration_bad("3651d");		/* more than ten years */
	duration_bad("99999999999999999999");

	/* Sizes: K, M, G are powers of 1024, either case, an optional B. */
	size_ok("1000", 1000);
	size_ok("512K", 512 * 1024);
	size_ok("512k", 512 * 1024);
	size_ok("35M", 35LL * 1024 * 1024);
	size_ok("35MB", 35LL * 1024 * 1024);
	size_ok("35mb", 35LL * 1024 * 1024);
	size_ok("1G", 1024LL * 1024 * 1024);
	size_ok("0", 0);
	size_ok("1024G", 1LL << 40);
	size_bad("");
	size_bad("M");
	size_bad("-1");
	size_bad(" 1");
	size_bad("1T");
	size_bad("1 M");
	size_bad("1MBB");
	size_bad("1025G");
	size_bad("99999999999999999999");

	/* Formatting: at most two units, largest first, never empty. */
	fmt_is(0, "0s");
	fmt_is(-5, "0s");
	fmt_is(45, "45s");
	fmt_is(60, "1m");
	fmt_is(90, "1m30s");
	fmt_is(3600, "1h");
	fmt_is(4 * 3600, "4h");
	fmt_is(86400 + 2 * 3600, "1d2h");
	fmt_is(86400 + 2 * 3600 + 5, "1d2h");
	fmt_is(86400 + 5, "1d");	/* the second unit must be the next one */
	fmt_is(5 * 86400, "5d");
	fmt_is(14 * 86400, "14d");
	{
		char small[6] = "XXXXX";
		fmt_duration(86400 + 7200, small, 4);
		OK(small[3] == '\0' && small[4] == 'X', "fmt_duration stays in its buffer");
	}
	/* What fmt_duration prints, parse_duration reads back. */
	{
		static const long v[] = { 1, 59, 61, 3599, 3661, 86399, 90000, 432000 };
		for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
			char d[32];
			long back = -1;
			int rc;
			fmt_duration(v[i], d, sizeof d);
			rc = parse_duration(d, &back);
			OK(rc == 0 && back <= v[i] && back > v[i] * 9 / 10,
			    "fmt_duration(%ld) = \"%s\" reads back as %ld", v[i], d, back);
		}
	}

	/* Escaping for one-line values. */
	escape_is("plain text", "plain text", "plain text unchanged");
	escape_is("", "", "empty string");
	escape_is("a\\b", "a\\\\b", "backslash doubled");
	escape_is("line1\r\nline2", "line1\\r\\nline2", "CR and LF");
	escape_is("tab\there", "tab\\x09here", "tab as \\x09");
	escape_is("\x01\x1f\x7f", "\\x01\\x1f\\x7f", "controls and DEL as \\xNN");
	escape_is("caf\xc3\xa9", "caf\xc3\xa9", "UTF-8 kept as is");
	escape_is("\\n", "\\\\n", "a literal backslash-n stays two characters");
	escape_is("\\x41", "\\\\x41", "a literal \\x41 is not decoded");
	escape_is("end\\", "end\\\\", "trailing backslash");
	unescape_is("\\x41\\x4a", "AJ", "\\xNN in either case");
	unescape_is("\\x4A", "J", "upper-case hex digits");
	unescape_is("\\x00", "?", "\\x00 becomes '?', never a NUL");
	unescape_is("\\xg1", "xg1", "\\x without two hex digits is kept");
	unescape_is("\\x4", "x4", "\\x with one hex digit is kept");
	unescape_is("a\\", "a\\", "trailing lone backslash kept");
	unescape_is("\\q", "q", "unknown escape gives the character");
	{
		/* Every byte 1..255 survives the round trip. */
		char all[256];
		struct buf b = { 0 };
		char *back;
		int clean = 1;
		for (int i = 1; i < 256; i++)
			all[i - 1] = (char)i;
		all[255] = '\0';
		escape_value(&b, all);
		for (size_t i = 0; i < b.len; i++)
			if (b.p[i] == '\n' || b.p[i] == '\r' || (unsigned char)b.p[i] < 0x20)
				clean = 0;
		OK(clean, "escaped bytes 1..255 hold no control character");
		back = unescape_value(b.p);
		OK(strcmp(back, all) == 0, "bytes 1..255 round-trip");
		free(back);
		buf_free(&b);
	}

	/* Small helpers the parsers rely on. */
	{
		char s[] = " \t\r\n x y \r\n";
		STREQ(trim(s), "x y", "trim removes white space at both ends");
		char l[] = "MiXeD.Example.ORG";
		STREQ(ascii_lower(l), "mixed.example.org", "ascii_lower");
		OK(ascii_casecmp("Example.ORG", "example.org") == 0, "ascii_casecmp equal");
		OK(ascii_casecmp("a", "b") < 0, "ascii_casecmp orders");
		OK(ascii_ncasecmp("IPv6:x", "ipv6:y", 5) == 0, "ascii_ncasecmp prefix");
		OK(ascii_ncasecmp("ab", "abc", 3) != 0, "ascii_ncasecmp length");
	}
	{
		struct pl_err e = { 0 };
		int rc = pl_errf(&e, EX_CONFIG, "x %d", 5), rc2 = pl_errf(NULL, EX_CONFIG, "x");
		OK(rc == -1 && e.code == EX_CONFIG &&
		    strcmp(e.msg, "x 5") == 0, "pl_errf fills code and text, returns -1");
		OK(rc2 == -1, "pl_errf with no error struct");
	}
	{
		struct buf b = { 0 };
		char *p = buf_steal(&b);
		STREQ(p, "", "buf_steal of an empty buffer is \"\"");
		free(p);
		buf_printf(&b, "%s-%d", "a", 1);
		buf_add(&b, "xyz", 2);
		OK(b.len == 5 && strcmp(b.p, "a-1xy") == 0, "buf_printf and buf_add");
		buf_free(&b);
	}
	/* tag=value lists (DKIM, DMARC) */
	{
		char *v;

		v = pl_taglist_get("v=DKIM1; k=rsa; p=MIGf MA0G\r\n\tCSqG", "p", 0);
		STREQ(v, "MIGfMA0GCSqG", "taglist: the value, folding and blanks removed");
		free(v);
		v = pl_taglist_get(" V = DMARC1 ;P=reject", "p", 1);
		STREQ(v, "reject", "taglist: names without case when asked (DMARC)");
		free(v);
		v = pl_taglist_get("P=reject", "p", 0);
		OK(v == NULL, "taglist: DKIM names are case-sensitive");
		free(v);
		v = pl_taglist_get("pp=1; p=", "p", 0);
		STREQ(v, "", "taglist: an empty value, and no prefix match");
		free(v);
		OK(pl_taglist_get("k=rsa;;", "p", 0) == NULL, "taglist: absent");
	}
	/* pl_utf8_char and pl_buf_printable. */
	{
		static const struct { const char *s; size_t len; unsigned long cp; } u[] = {
			{ "A", 1, 0x41 }, { "\xc3\xa9", 2, 0xe9 }, { "\xe2\x82\xac", 3, 0x20ac },
			{ "\xf0\x9f\x90\xa6", 4, 0x1f426 },
			{ "\xc0\xaf", 0, 0 },		/* overlong '/' */
			{ "\xed\xa0\x80", 0, 0 },	/* surrogate */
			{ "\xf4\x90\x80\x80", 0, 0 },	/* past U+10FFFF */
			{ "\xe2\x82", 0, 0 },		/* cut short */
			{ "\x80", 0, 0 }, { "\xff", 0, 0 },
		};
		for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
			unsigned long cp = 0;
			size_t l = pl_utf8_char((const unsigned char *)u[i].s, strlen(u[i].s), &cp);
			OK(l == u[i].len && (l == 0 || cp == u[i].cp), "utf8_char case %zu: %zu U+%lX",
			    i, l, cp);
		}
		struct buf b = { 0 };
		pl_buf_printable(&b, "caf\xc3\xa9 \x1b[2J\x7f\xff\xc3 ok");
		STREQ(b.p, "caf\xc3\xa9 ?[2J??? ok", "printable: controls and bad bytes become ?");
		buf_free(&b);
	}

	return tap_done();
}
