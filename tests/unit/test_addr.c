/* test_addr.c — RFC 5322 address lists and RFC 5321 mailboxes (addr.c).
 *
 * A parsed list is shown as "mailbox" or "Display Name <mailbox>" joined by
 * " | ", so that each case states exactly what comes out. */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "tap.h"

static char shown[8192];

/* Parses s and renders the result; "ERR(code): message" on error. */
static const char *
show(const char *s)
{
	struct pl_addrlist l = { 0 };
	struct pl_err e = { 0 };
	struct buf b = { 0 };

	if (pl_addr_parse_list(s, &l, &e) < 0) {
		snprintf(shown, sizeof shown, "ERR(%d): %s", e.code, e.msg);
		return shown;
	}
	buf_adds(&b, "");
	for (size_t i = 0; i < l.n; i++) {
		if (i)
			buf_adds(&b, " | ");
		if (l.v[i].display)
			buf_printf(&b, "%s <%s>", l.v[i].display, l.v[i].mailbox);
		else
			buf_adds(&b, l.v[i].mailbox);
	}
	snprintf(shown, sizeof shown, "%s", b.p);
	buf_free(&b);
	pl_addrlist_free(&l);
	return shown;
}

static void
list_is(const char *in, const char *want, const char *what)
{
	STREQ(show(in), want, "%s", what);
}

/* An error: EX_DATAERR (65), naming the element and the reason. */
static void
list_err(const char *in, const char *element, const char *why, const char *what)
{
	char want[2048];

	snprintf(want, sizeof want, "ERR(65): malformed address '%s': %s", element, why);
	STREQ(show(in), want, "%s", what);
}

static void
one_is(const char *in, const char *want)
{
	char *mb = NULL;
	struct pl_err e = { 0 };
	int rc = pl_addr_parse_one(in, &mb, &e);

	if (rc < 0)
		STREQ(e.msg, want, "parse_one \"%s\"", in);
	else
		STREQ(mb, want, "parse_one \"%s\"", in);
	free(mb);
}

static char *made[32];
static size_t nmade;

/* n copies of c, freed at the end by repeat_free. */
static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	if (nmade < sizeof made / sizeof made[0])
		made[nmade++] = s;
	return s;
}

static void
repeat_free(void)
{
	while (nmade > 0)
		free(made[--nmade]);
}

int
main(void)
{
	/* Plain forms. */
	list_is("alice@example.org", "alice@example.org", "bare addr-spec");
	list_is("<alice@example.org>", "alice@example.org", "angle-addr");
	list_is("Alice <alice@example.org>", "Alice <alice@example.org>", "name-addr");
	list_is("Alice Liddell <alice@example.org>", "Alice Liddell <alice@example.org>",
	    "display name of two words");
	list_is("a@x.test, b@y.test,c@z.test", "a@x.test | b@y.test | c@z.test", "a list");
	list_is("Alice <ALICE@Example.ORG>", "Alice <ALICE@example.org>",
	    "domain in lower case, local part as written");
	list_is("a@x.test,,b@y.test, ,", "a@x.test | b@y.test", "empty elements skipped");
	list_is("", "", "empty input is an empty list");
	list_is("   \t ", "", "white space only is an empty list");

	/* Display names. */
	list_is("\"Doe, John\" <j@x.test>", "Doe, John <j@x.test>", "quoted name with a comma");
	list_is("\"Bob \\\"B\\\" Smith\" <bob@x.test>", "Bob \"B\" Smith <bob@x.test>",
	    "quoted name with escaped quotes");
	list_is("\"back\\\\slash\" <b@x.test>", "back\\slash <b@x.test>",
	    "quoted name with an escaped backslash");
	list_is("J. R. Doe <j@x.test>", "J. R. Doe <j@x.test>", "dots in a name (obs-phrase)");
	list_is("\"Folded\r\n Name\" <f@x.test>", "Folded Name <f@x.test>",
	    "CR LF dropped from a quoted name");
	list_is("Ren\xc3\xa9 <r@x.test>", "Ren\xc3\xa9 <r@x.test>", "UTF-8 display name");
	list_is("\"\" <e@x.test>", "e@x.test", "empty quoted name is no name");

	/* Comments and folding white space. */
	list_is("alice@example.org (Alice)", "alice@example.org", "trailing comment");
	list_is("(lead) Alice (mid) <alice(c)@(d)example.org> (tail)",
	    "Alice <alice@example.org>", "comments everywhere");
	list_is("a@x.test (nested (comment) here), b@y.test", "a@x.test | b@y.test",
	    "nested comment");
	list_is("a@x.test (with \\) escaped paren)", "a@x.test", "escaped paren in a comment");
	list_is("Alice\r\n <alice@example.org>,\r\n\tbob@x.test",
	    "Alice <alice@example.org> | bob@x.test", "folded header value");

	/* Groups. */
	list_is("undisclosed-recipients:;", "", "empty group");
	list_is("Team: a@x.test, b@y.test;", "a@x.test | b@y.test", "group of two");
	list_is("Team: A <a@x.test>, b@y.test;, c@z.test", "A <a@x.test> | b@y.test | c@z.test",
	    "group then an address");
	list_is("Team: a@x.test,, ;", "a@x.test", "group with an empty element");
	list_err("Team: a@x.test", "Team: a@x.test", "expected ',' or ';' in group",
	    "unclosed group");
	list_err("Team:", "Team:", "group not closed with ';'", "unclosed empty group");
	list_err("Team: a@x.test b@y.test;", "Team: a@x.test b@y.test;",
	    "expected ',' or ';' in group", "group members without a comma");
	list_err("Outer: Inner: a@x.test;;", "Outer: Inner: a@x.test;;",
	    "unexpected character after name", "nested group refused");

	/* Local parts. */
	list_is("\"john doe\"@example.org", "\"john doe\"@example.org", "quoted local part kept");
	list_is("\"a\\\"b\"@example.org", "\"a\\\"b\"@example.org", "escaped quote in local part");
	list_is("\"a@b\"@example.org", "\"a@b\"@example.org", "@ inside a quoted local part");
	list_is("first.last+tag@example.org", "first.last+tag@example.org", "dot-atom local part");
	list_is("!#$%&'*+-/=?^_`{|}~@example.org", "!#$%&'*+-/=?^_`{|}~@example.org",
	    "every atext special");
	list_err("a.@x.test", "a.@x.test", "local part has a misplaced '.'", "trailing dot");
	list_err(".a@x.test", ".a@x.test", "local part has a misplaced '.'", "leading dot");
	list_err("a..b@x.test", "a..b@x.test", "local part has a misplaced '.'", "double dot");
	list_err("\"a\".b@x.test", "\"a\".b@x.test", "local part mixes quoted and unquoted text",
	    "obs-local-part refused");
	list_err("@x.test", "@x.test", "local part missing before @", "no local part");

	/* Domains. */
	list_is("a@[192.0.2.1]", "a@[192.0.2.1]", "IPv4 literal");
	list_is("a@[IPv6:2001:db8::1]", "a@[IPv6:2001:db8::1]", "IPv6 literal");
	list_is("<a@[ipv6:::1]>", "a@[ipv6:::1]", "IPv6 tag in any case");
	list_err("a@[192.0.2.256]", "a@[192.0.2.256]", "bad IPv4 address literal", "bad IPv4");
	list_err("a@[IPv6:2001:db8::g]", "a@[IPv6:2001:db8::g]", "bad IPv6 address literal",
	    "bad IPv6");
	list_err("a@[2001:db8::1]", "a@[2001:db8::1]", "bad IPv4 address literal",
	    "IPv6 without its tag");
	list_err("a@[]", "a@[]", "bad IPv4 address literal", "empty literal");
	list_err("a@[192.0.2.1", "a@[192.0.2.1", "unclosed address literal", "unclosed literal");
	list_err("a@x.test.", "a@x.test.", "empty label in domain", "trailing dot in domain");
	list_err("a@x..test", "a@x..test", "empty label in domain", "double dot in domain");
	list_err("a@-x.test", "a@-x.test", "domain label starts or ends with '-'",
	    "hyphen at label start");
	list_err("a@x_y.test", "a@x_y.test", "invalid character in domain", "underscore in domain");
	list_err("a@", "a@", "domain missing after @", "no domain");
	list_err("a@ , b@y.test", "a@", "domain missing after @", "no domain, list goes on");

	/* UTF-8 (RFC 6531/6532). */
	list_is("j\xc3\xb6rg@b\xc3\xbc" "cher.test", "j\xc3\xb6rg@b\xc3\xbc" "cher.test",
	    "UTF-8 local part and domain");
	OK(pl_addr_is_utf8("j\xc3\xb6rg@x.test"), "is_utf8: local part");
	OK(pl_addr_is_utf8("j@b\xc3\xbc" "cher.test"), "is_utf8: domain");
	OK(!pl_addr_is_utf8("jorg@x.test"), "is_utf8: ASCII");
	OK(!pl_addr_is_utf8(""), "is_utf8: empty");

	/* Obsolete route. */
	list_is("<@relay1.test,@relay2.test:user@x.test>", "user@x.test", "obs-route dropped");
	list_is("Name <@relay.test:user@x.test>", "Name <user@x.test>", "obs-route with a name");
	list_err("<@relay.test user@x.test>", "<@relay.test user@x.test>", "bad source route",
	    "route without ':'");

	/* Bare names and broken syntax. */
	list_err("root", "root", "no @domain", "bare user name");
	list_err("root, a@x.test", "root", "unexpected character after name",
	    "bare name in a list: the error names the element");
	list_err("Alice", "Alice", "no @domain", "name only");
	list_err("a@x.test, Bob <bob@y.test", "Bob <bob@y.test", "missing '>'",
	    "unclosed angle bracket");
	list_err("<>", "<>", "empty address <>", "null path is not an address");
	list_err("<bob>", "<bob>", "no @domain", "angle-addr without domain");
	list_err("\"Bob <b@x.test>", "\"Bob <b@x.test>", "unclosed quoted string",
	    "unclosed quote");
	list_err("\"abc\\", "\"abc\\", "unclosed quoted string", "quote ending in a backslash");
	list_err("a@x.test (open", "a@x.test (open", "unclosed comment", "unclosed comment");
	list_err("a@x.test b@y.test", "b@y.test", "unexpected text after address",
	    "two addresses without a comma: the error shows the extra text");
	list_err(";", ";", "not an address", "lone special");
	list_err("a@x.test <b@y.test>", "<b@y.test>", "unexpected text after address",
	    "addr-spec then angle-addr");
	{
		/* Nothing is appended on error, even after good elements. */
		struct pl_addrlist l = { 0 };
		struct pl_err e = { 0 };
		int rc;
		pl_addrlist_add_unique(&l, "keep@x.test");
		rc = pl_addr_parse_list("a@x.test, b@y.test, bad", &l, &e);
		OK(rc == -1 && l.n == 1 && e.code == EX_DATAERR, "error appends nothing");
		rc = pl_addr_parse_list("c@z.test", &l, &e);
		OK(rc == 0 && l.n == 2 && strcmp(l.v[1].mailbox, "c@z.test") == 0,
		    "success appends");
		pl_addrlist_free(&l);
		OK(l.n == 0 && l.v == NULL, "free empties the list");
	}
	{
		/* A long element is cut in the message, which stays one line. */
		char *junk = repeat('x', 400);
		const char *got;
		junk[100] = '\n';
		got = show(junk);
		OK(strstr(got, "...': no @domain") != NULL && strchr(got, '\n') == NULL &&
		    strlen(got) < 260, "long bad element is shortened, no line break: %.60s", got);
	}

	/* Length limits: local part 64, address 254 (RFC 5321 4.5.3.1). */
	{
		char buf[600], *l64 = repeat('l', 64), *l65 = repeat('l', 65);
		char *lab63 = repeat('d', 63), *lab64 = repeat('d', 64);

		snprintf(buf, sizeof buf, "%s@x.test", l64);
		list_is(buf, buf, "64-octet local part");
		snprintf(buf, sizeof buf, "%s@x.test", l65);
		OK(strstr(show(buf), ": local part longer than 64 characters") != NULL,
		    "65-octet local part refused");
		snprintf(buf, sizeof buf, "\"%s\"@x.test", repeat('q', 63));
		OK(strstr(show(buf), ": local part longer than 64 characters") != NULL,
		    "quoted local part counts its quotes");
		snprintf(buf, sizeof buf, "a@%s.test", lab63);
		list_is(buf, buf, "63-octet label");
		snprintf(buf, sizeof buf, "a@%s.test", lab64);
		OK(strstr(show(buf), ": domain label longer than 63 characters") != NULL,
		    "64-octet label refused");
		/* 64 + 1 + 189 = 254 */
		snprintf(buf, sizeof buf, "%s@%s.%s.%s.t", l64, lab63, lab63, repeat('e', 59));
		OK(strlen(buf) == 254, "built a 254-octet address");
		list_is(buf, buf, "254-octet address");
		snprintf(buf, sizeof buf, "%s@%s.%s.%s.tt", l64, lab63, lab63, repeat('e', 59));
		OK(strstr(show(buf), ": address longer than 254 characters") != NULL,
		    "255-octet address refused");
		snprintf(buf, sizeof buf, "a@%s.%s.%s.%s.tt", lab63, lab63, lab63, lab63);
		OK(strstr(show(buf), ": domain longer than 253 characters") != NULL,
		    "256-octet domain refused");
	}

	/* parse_one. */
	one_is("Alice <alice@Example.org>", "alice@example.org");
	one_is("  bob@x.test  ", "bob@x.test");
	one_is("G: only@x.test;", "only@x.test");
	one_is("a@x.test, b@y.test", "malformed address 'a@x.test, b@y.test': more than one address");
	one_is("", "malformed address '': empty");
	one_is("undisclosed-recipients:;", "malformed address 'undisclosed-recipients:;': empty");
	one_is("root", "malformed address 'root': no @domain");
	{
		char *mb = (char *)"untouched";
		struct pl_err e = { 0 };
		int rc = pl_addr_parse_one("root", &mb, &e);
		OK(rc == -1 && e.code == EX_DATAERR &&
		    strcmp(mb, "untouched") == 0, "parse_one error: EX_DATAERR, mailbox untouched");
	}

	/* Equality, domains, unique lists. */
	OK(pl_addr_equal("a@Example.ORG", "a@example.org"), "equal: domain case ignored");
	OK(!pl_addr_equal("A@example.org", "a@example.org"), "equal: local part case kept");
	OK(!pl_addr_equal("a@x.test", "ab@x.test"), "equal: different local parts");
	OK(!pl_addr_equal("a@x.test", "a@x.testx"), "equal: different domains");
	OK(pl_addr_equal("\"a@b\"@X.test", "\"a@b\"@x.test"), "equal: quoted @ in local part");
	OK(pl_addr_equal("root", "root") && !pl_addr_equal("root", "Root"),
	    "equal: without @, exact");
	OK(!pl_addr_equal("root", "root@x.test"), "equal: bare vs full");
	STREQ(pl_addr_domain("\"a@b\"@x.test"), "x.test", "domain after the last @");
	STREQ(pl_addr_domain("root"), "", "domain of a bare name is empty");
	{
		struct pl_addrlist l = { 0 };
		int r1 = pl_addrlist_add_unique(&l, "a@x.test");
		int r2 = pl_addrlist_add_unique(&l, "a@X.TEST");
		int r3 = pl_addrlist_add_unique(&l, "A@x.test");
		OK(r1 == 1, "add_unique adds");
		OK(r2 == 0, "add_unique: same mailbox");
		OK(r3 == 1, "add_unique: other local part");
		OK(l.n == 2 && l.v[0].display == NULL, "add_unique: two entries, no names");
		pl_addrlist_free(&l);
	}
	repeat_free();
	/* a name without angle brackets is not a local part */
	STREQ(show("Bob bob@example.net"),
	    "ERR(65): malformed address 'Bob bob@example.net': a space before the @ "
	    "(write Name <address>)", "a name without <> before an address is refused");
	STREQ(show("john . doe@example.net"), "john.doe@example.net",
	    "white space around the dots of a local part is folded away (obs-local-part)");
	STREQ(show("Bob <bob@example.net>"), "Bob <bob@example.net>", "with <> the name is a name");

	return tap_done();
}
