/* test_mtasts.c — mtasts.c: the MTA-STS policy and TXT parsers (RFC 8461
 * 3.1, 3.2), MX pattern matching (4.1) and the policy cache files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "mtasts.h"
#include "tap.h"
#include "util.h"

static struct pl_mtasts_policy pol;
static struct pl_err err;

/* Parses text (a C string); 0 or -1 as pl_mtasts_parse_policy. */
static int
parse(const char *text)
{
	pl_mtasts_policy_free(&pol);
	return pl_mtasts_parse_policy(text, strlen(text), &pol, &err);
}

static void
test_policy(void)
{
	static const char nul[] = "version: STSv1\nmode: none\nmax_age: 1\0\n";

	OK(parse("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\n"
	    "max_age: 86400\n") == 0, "a policy with LF lines parses");
	OK(pol.mode == PL_MTASTS_ENFORCE && pol.max_age == 86400 && pol.nmx == 2,
	    "mode, max_age and both mx read");
	STREQ(pol.nmx == 2 ? pol.mx[1] : NULL, "*.example.net", "mx patterns kept in order");
	OK(parse("version: STSv1\r\nmode: testing\r\nmx: mx.example.com\r\nmax_age: 604800\r\n")
	    == 0 && pol.mode == PL_MTASTS_TESTING && pol.max_age == 604800,
	    "CRLF lines parse");
	OK(parse("version: STSv1\nmode: none\nmax_age: 0") == 0 && pol.mode == PL_MTASTS_NONE &&
	    pol.nmx == 0, "mode none needs no mx; the last line needs no terminator");
	OK(parse("mode: enforce\nversion: STSv1\nmx: a.example\nmax_age: 1\n") < 0,
	    "version not first: invalid");
	OK(strstr(err.msg, "line 1") != NULL, "the error names the line (%s)", err.msg);
	OK(parse("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n") < 0,
	    "version STSv2: invalid");
	OK(parse("Version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n") < 0,
	    "keys are case-sensitive (Version)");
	OK(parse("version: stsv1\nmode: enforce\nmx: a.example\nmax_age: 1\n") < 0,
	    "values are case-sensitive (stsv1)");
	OK(parse("version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n") < 0,
	    "mode Enforce: invalid");
	OK(parse("version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n") < 0,
	    "unknown mode: invalid");
	OK(parse("version: STSv1\nmx: a.example\nmax_age: 1\n") < 0, "no mode: invalid");
	OK(parse("version: STSv1\nmode: enforce\nmx: a.example\n") < 0, "no max_age: invalid");
	OK(parse("version: STSv1\nmode: testing\nmax_age: 1\n") < 0, "testing without mx: invalid");
	OK(parse("version: STSv1\nmode: enforce\nmax_age: 1\n") < 0, "enforce without mx: invalid");
	OK(parse("version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 5\n"
	    "max_age: 6\nversion: STSv9\n") == 0 && pol.mode == PL_MTASTS_TESTING &&
	    pol.max_age == 5, "a repeated field counts once, the first");
	OK(parse("version: STSv1\nmode: enforce\nfoo_bar.baz-1: anything = ; at all\n"
	    "mx: a.example\nmax_age: 1\nmode2: x\n") == 0, "unknown fields are ignored");
	OK(parse("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 9999999999\n") == 0 &&
	    pol.max_age == PL_MTASTS_MAX_AGE, "max_age above a year is capped at 31557600");
	OK(parse("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 10000000000\n") < 0,
	    "max_age of 11 digits: invalid");
	OK(parse("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n") < 0,
	    "negative max_age: invalid");
	OK(parse("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 86 400\n") < 0,
	    "max_age with a blank inside: invalid");
	OK(parse("version: STSv1\nmode: enforce\nmx: a.example\nmax_age:\n") < 0,
	    "empty max_age: invalid");
	OK(parse("version:STSv1\nmode:\tenforce \t\nmx:  a.example\nmax_age: 60  \n") == 0 &&
	    pol.max_age == 60 && pol.mode == PL_MTASTS_ENFORCE,
	    "blanks after the colon and at the end of a line are allowed");
	OK(parse(" version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n") < 0,
	    "a blank before the key: invalid");
	OK(parse("version: STSv1\nmode : enforce\nmx: a.example\nmax_age: 1\n") < 0,
	    "a blank before the colon: invalid");
	OK(parse("version: STSv1\nmode: enforce\rmx: a.example\nmax_age: 1\n") < 0,
	    "a bare CR inside a line: invalid");
	OK(pl_mtasts_parse_policy(nul, sizeof nul - 1, &pol, &err) < 0, "a NUL byte: invalid");
	OK(parse("version: STSv1\nmode: enforce\nthis line has no colon\nmx: a.example\n"
	    "max_age: 1\n") < 0, "a line that is not a field: invalid");
	OK(parse("version: STSv1\nmode: enforce\nan_extension_name_of_33_chars_xxx: v\n"
	    "mx: a.example\nmax_age: 1\n") < 0, "a field name longer than 32: invalid");
	OK(parse("version: STSv1\n\nmode: enforce\nmx: a.example\nmax_age: 1\n") < 0,
	    "an empty line between fields: invalid");
	OK(parse("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n\n\r\n") == 0,
	    "empty lines at the end are allowed");
	OK(parse("") < 0 && parse("\n") < 0, "an empty body: invalid");
	OK(parse("<html><body>Not found</body></html>\n") < 0, "an HTML page: invalid");
	OK(parse("version: STSv1\nmode: enforce\nmx: MAIL.Example.COM.\nmax_age: 1\n") == 0,
	    "an mx with capitals and a trailing dot parses");
	STREQ(pol.nmx ? pol.mx[0] : NULL, "mail.example.com", "it is kept lower case, no dot");
	OK(parse("version: STSv1\nmode: enforce\nmx: mail.*.example\nmax_age: 1\n") < 0,
	    "a wildcard not in front: invalid");
	OK(parse("version: STSv1\nmode: enforce\nmx: *example.net\nmax_age: 1\n") < 0,
	    "a wildcard without its dot: invalid");
	OK(parse("version: STSv1\nmode: enforce\nmx: mail..example\nmax_age: 1\n") < 0,
	    "an mx with an empty label: invalid");
	OK(parse("version: STSv1\nmode: enforce\nmx: -mail.example\nmax_age: 1\n") < 0,
	    "an mx label starting with a hyphen: invalid");
	OK(parse("version: STSv1\nmode: enforce\nmx: *.\nmax_age: 1\n") < 0,
	    "mx \"*.\" alone: invalid");
	pl_mtasts_policy_free(&pol);
}

static int
txt(const char *record, const char *want_id)
{
	char id[33] = "unchanged";
	int rc = pl_mtasts_parse_txt(record, id, sizeof id);

	if (want_id == NULL)
		return rc == 0;
	return rc == 1 && strcmp(id, want_id) == 0;
}

static void
test_txt(void)
{
	char id[33];
	char *two_sts[] = { "v=STSv1; id=one", "v=STSv1; id=two" };
	char *mixed[] = { "v=spf1 -all", "v=STSv1; id=20261123", "v=STSv10; id=x" };
	char *broken[] = { "v=STSv1; id=" };

	OK(txt("v=STSv1; id=20160831085700Z;", "20160831085700Z"), "the RFC's example");
	OK(txt("v=STSv1;id=abc", "abc"), "no blanks, no trailing delimiter");
	OK(txt("v=STSv1 ;\tid=abc ; ", "abc"), "blanks around the delimiters");
	OK(txt("v=STSv1; ext=val; id=abc; x-y.z_1=!\"#$%&'()*+,-./:<>?@[]^`{|}~", "abc"),
	    "extension fields are ignored");
	OK(txt("v=STSv1; id=first; id=second", "first"), "a repeated id counts once, the first");
	OK(txt("v=STSv1; id=12345678901234567890123456789012", "12345678901234567890123456789012"),
	    "an id of 32 characters");
	OK(txt("v=STSv1; id=123456789012345678901234567890123", NULL), "an id of 33: invalid");
	OK(txt("v=STSv1; id=2026-11-23", NULL), "an id with hyphens: invalid");
	OK(txt("v=STSv1; id=", NULL), "an empty id: invalid");
	OK(txt("v=STSv1", NULL), "no id: invalid");
	OK(txt("v=STSv1; ext=1", NULL), "only an extension: invalid");
	OK(txt("v=STSv2; id=abc", NULL), "v=STSv2: not an STS record");
	OK(txt("V=STSv1; id=abc", NULL), "V=: not an STS record");
	OK(txt(" v=STSv1; id=abc", NULL), "a blank in front: invalid");
	OK(txt("id=abc; v=STSv1", NULL), "v= not first: invalid");
	OK(txt("v=STSv1 id=abc", NULL), "no delimiter: invalid");
	OK(txt("v=STSv1; id=abc;;", NULL), "an empty field: invalid");
	OK(txt("v=STSv1; ext=a=b; id=abc", NULL), "an '=' inside a value: invalid");
	OK(txt("v=STSv1; id=abc\x01", NULL), "a control character: invalid");
	OK(pl_mtasts_select_txt(mixed, 3, id, sizeof id) == 1 && strcmp(id, "20261123") == 0,
	    "other TXT records beside the STS one are discarded");
	OK(pl_mtasts_select_txt(two_sts, 2, id, sizeof id) == 0,
	    "two STS records: the domain has no usable record");
	OK(pl_mtasts_select_txt(broken, 1, id, sizeof id) == 0, "one broken STS record: none");
	OK(pl_mtasts_select_txt(NULL, 0, id, sizeof id) == 0, "no TXT records: none");
}

static void
test_mx(void)
{
	OK(parse("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\n"
	    "max_age: 86400\n") == 0, "policy for matching");
	OK(pl_mtasts_mx_ok(&pol, "mail.example.com"), "exact name matches");
	OK(pl_mtasts_mx_ok(&pol, "MAIL.Example.Com"), "case does not matter");
	OK(pl_mtasts_mx_ok(&pol, "mail.example.com."), "a trailing dot does not matter");
	OK(!pl_mtasts_mx_ok(&pol, "mail.example.org"), "another name does not match");
	OK(!pl_mtasts_mx_ok(&pol, "xmail.example.com"), "a longer name does not match");
	OK(!pl_mtasts_mx_ok(&pol, "example.com"), "the parent does not match an exact pattern");
	OK(pl_mtasts_mx_ok(&pol, "mx1.example.net"), "*. matches one label");
	OK(pl_mtasts_mx_ok(&pol, "MX1.EXAMPLE.NET."), "*. matches any case, trailing dot");
	OK(!pl_mtasts_mx_ok(&pol, "a.b.example.net"), "*. does not match two labels");
	OK(!pl_mtasts_mx_ok(&pol, "example.net"), "*. does not match the bare domain");
	OK(!pl_mtasts_mx_ok(&pol, ".example.net"), "*. does not match an empty label");
	OK(!pl_mtasts_mx_ok(&pol, "") && !pl_mtasts_mx_ok(&pol, "."), "empty names never match");
	pl_mtasts_policy_free(&pol);
}

static char state[4096], cachedir[4200];

static int
mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? -1 : (int)(st.st_mode & 0777);
}

/* Writes the cache file name as given; len (size_t)-1: strlen(data). */
static int
write_raw(const char *name, const char *data, size_t len)
{
	char path[4400];
	FILE *f;

	if (len == (size_t)-1)
		len = strlen(data);
	snprintf(path, sizeof path, "%s/%s", cachedir, name);
	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	fwrite(data, 1, len, f);
	return fclose(f);
}

static void
test_cache(void)
{
	struct pl_mtasts_policy got;
	char path[4400], *text = NULL;
	size_t len = 0;
	int bad = 0;

	OK(parse("version: STSv1\nmode: enforce\nmx: mail.example.test\nmx: *.example.net\n"
	    "max_age: 86400\n") == 0, "policy for the cache");
	snprintf(pol.id, sizeof pol.id, "20261123");
	pol.fetched = 1000000;
	pol.checked = 1000500;
	OK(pl_mtasts_cache_load("example.test", 1000000, &got) == 0, "nothing cached at first");
	OK(pl_mtasts_cache_store("Example.TEST.", &pol, &err) == 0, "stored (%s)",
	    err.msg);
	snprintf(path, sizeof path, "%s/example.test", cachedir);
	OK(mode_of(path) == 0600, "cache file is 0600, named in lower case");
	OK(mode_of(cachedir) == 0700, "cache directory is 0700");
	OK(pl_mtasts_cache_load("example.test.", 1000000 + 86399, &got) == 1,
	    "loaded back just before it expires");
	OK(got.mode == PL_MTASTS_ENFORCE && got.max_age == 86400 && got.fetched == 1000000 &&
	    got.checked == 1000500 && strcmp(got.id, "20261123") == 0 && got.nmx == 2,
	    "every field round-trips");
	STREQ(got.nmx == 2 ? got.mx[1] : NULL, "*.example.net", "mx patterns round-trip");
	OK(pl_mtasts_mx_ok(&got, "mx7.example.net"), "the loaded policy matches MX hosts");
	pl_mtasts_policy_free(&got);
	OK(pl_mtasts_cache_load("EXAMPLE.test", 1000000 + 86400, &got) == 0 && got.nmx == 0,
	    "expired at fetched + max_age");

	/* Every prefix of the file (a crash cutting it short) is no policy. */
	OK(pl_read_file(path, 1 << 20, &text, &len) == 0 && len > 50, "cache file read");
	for (size_t n = 0; text && n < len; n++) {
		if (write_raw("example.test", text, n) < 0 ||
		    pl_mtasts_cache_load("example.test", 1000001, &got) != 0) {
			bad++;
			pl_mtasts_policy_free(&got);
		}
	}
	OK(text && bad == 0, "each of the %zu truncations reads as no policy", len);
	if (text) {
		struct buf b = { 0 };

		buf_add(&b, text, len);
		buf_adds(&b, "mx: extra.example.test\n");
		OK(write_raw("example.test", b.p, b.len) == 0 &&
		    pl_mtasts_cache_load("example.test", 1000001, &got) == 0,
		    "one mx line more than nmx: no policy");
		OK(write_raw("other.test", text, len) == 0 &&
		    pl_mtasts_cache_load("other.test", 1000001, &got) == 0,
		    "another domain's file under this name: no policy");
		b.len = 0;
		buf_add(&b, text, len);
		b.p[20] = '\0';
		OK(write_raw("example.test", b.p, b.len) == 0 &&
		    pl_mtasts_cache_load("example.test", 1000001, &got) == 0,
		    "a NUL byte inside: no policy");
		OK(write_raw("example.test", text, len) == 0 &&
		    pl_mtasts_cache_load("example.test", 1000001, &got) == 1,
		    "the whole file again: a policy");
		pl_mtasts_policy_free(&got);
		buf_free(&b);
	}
	free(text);
	OK(write_raw("example.test", "\xff\xfe garbage\n\n", 12) == 0 &&
	    pl_mtasts_cache_load("example.test", 1000001, &got) == 0, "garbage: no policy");
	OK(write_raw("example.test",
	    "paloma-mta-sts 1\ndomain: example.test\nid: 1\nfetched: 1\nchecked: 1\n"
	    "mode: enforce\nmax_age: 99999999999\nnmx: 1\nmx: a.test\n", (size_t)-1) == 0 &&
	    pl_mtasts_cache_load("example.test", 2, &got) == 0, "max_age out of range: no policy");
	OK(write_raw("example.test",
	    "paloma-mta-sts 1\ndomain: example.test\nid: 1\nfetched: 1\nchecked: 1\n"
	    "mode: enforce\nmax_age: 60\nnmx: 0\n", (size_t)-1) == 0 &&
	    pl_mtasts_cache_load("example.test", 2, &got) == 0, "enforce without mx: no policy");
	OK(write_raw("example.test",
	    "paloma-mta-sts 1\ndomain: example.test\nid: 1\nfetched: 1\nchecked: 1\n"
	    "mode: none\nmax_age: 60\nnmx: 0\n", (size_t)-1) == 0 &&
	    pl_mtasts_cache_load("example.test", 2, &got) == 1 && got.mode == PL_MTASTS_NONE,
	    "a hand-written file in the right form is a policy (mode none)");
	pl_mtasts_policy_free(&got);
	snprintf(path, sizeof path, "%s/dir.test", cachedir);
	OK(mkdir(path, 0700) == 0 && pl_mtasts_cache_load("dir.test", 2, &got) == 0,
	    "a directory in place of the file: no policy");
	OK(pl_mtasts_cache_load("../etc", 2, &got) == 0 &&
	    pl_mtasts_cache_load("a/b.test", 2, &got) == 0 &&
	    pl_mtasts_cache_load("", 2, &got) == 0, "names that are not domains: no policy");
	OK(pl_mtasts_cache_store("../x", &pol, &err) < 0 &&
	    pl_mtasts_cache_store("a/b", &pol, &err) < 0, "and they are never written");
	pol.id[0] = '\0';
	OK(pl_mtasts_cache_store("example.test", &pol, &err) < 0, "a policy without an id is "
	    "not stored");
	pl_mtasts_policy_free(&pol);
}

int
main(void)
{
	char tmpl[] = "/tmp/test_mtasts.XXXXXX";

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(state, sizeof state, "%s", tmpl);
	setenv("XDG_STATE_HOME", state, 1);
	snprintf(cachedir, sizeof cachedir, "%s/paloma/mta-sts", state);
	test_policy();
	test_txt();
	test_mx();
	test_cache();
	pl_rmtree(state);
	return tap_done();
}
