/* test_spf.c — spf.c's check_host() against a table of DNS records. */
#include <stdlib.h>
#include <string.h>

#include "spf.h"
#include "tap.h"
#include "util.h"

struct rr {
	int type;
	const char *name, *value;	/* value "TEMP": a temporary failure */
};

static const struct rr *zone;
static int queries;

static int
fake_lookup(void *arg, int type, const char *name, char ***ans, size_t *n)
{
	(void)arg;
	queries++;
	*ans = NULL;
	*n = 0;
	for (const struct rr *r = zone; r->name; r++) {
		if (r->type != type || ascii_casecmp(r->name, name) != 0)
			continue;
		if (strcmp(r->value, "TEMP") == 0)
			return -1;
		*ans = xrealloc(*ans, (*n + 1) * sizeof **ans);
		(*ans)[(*n)++] = xstrdup(r->value);
	}
	return *n ? 0 : 1;
}

#define T_A PL_SPF_T_A
#define T_AAAA PL_SPF_T_AAAA
#define T_MX PL_SPF_T_MX
#define T_TXT PL_SPF_T_TXT
#define T_PTR PL_SPF_T_PTR

static const struct rr records[] = {
	{ T_TXT, "ip.test", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all" },
	{ T_TXT, "ip.test", "google-site-verification=xyz" },
	{ T_TXT, "soft.test", "v=spf1 ~all" },
	{ T_TXT, "neutral.test", "v=spf1 ?all" },
	{ T_TXT, "plain.test", "v=spf1 ip4:198.51.100.1" },
	{ T_TXT, "a.test", "v=spf1 a a:other.a.test/24 -all" },
	{ T_A, "a.test", "203.0.113.5" },
	{ T_A, "other.a.test", "198.51.100.77" },
	{ T_AAAA, "a.test", "2001:db8:1::5" },
	{ T_TXT, "mx.test", "v=spf1 mx/30 -all" },
	{ T_MX, "mx.test", "mx1.mx.test" },
	{ T_MX, "mx.test", "mx2.mx.test" },
	{ T_A, "mx1.mx.test", "203.0.113.9" },
	{ T_A, "mx2.mx.test", "203.0.113.20" },
	{ T_TXT, "inc.test", "v=spf1 include:provider.test -all" },
	{ T_TXT, "provider.test", "v=spf1 ip4:192.0.2.128/25 ~all" },
	{ T_TXT, "incnone.test", "v=spf1 include:nothing.test -all" },
	{ T_TXT, "inctemp.test", "v=spf1 include:temp.test -all" },
	{ T_TXT, "temp.test", "TEMP" },
	{ T_TXT, "redir.test", "v=spf1 redirect=ip.test" },
	{ T_TXT, "redirnone.test", "v=spf1 redirect=nothing.test" },
	{ T_TXT, "redirall.test", "v=spf1 ?all redirect=ip.test" },
	{ T_TXT, "two.test", "v=spf1 -all" },
	{ T_TXT, "two.test", "v=spf1 +all" },
	{ T_TXT, "syntax.test", "v=spf1 ip4:300.1.1.1 -all" },
	{ T_TXT, "unknown.test", "v=spf1 foo:bar -all" },
	{ T_TXT, "mod.test", "v=spf1 moo=bar exp=explain.%{d} ip4:192.0.2.1 -all" },
	{ T_TXT, "dupredir.test", "v=spf1 redirect=a.test redirect=b.test" },
	{ T_TXT, "ver.test", "v=spf10 +all" },
	{ T_TXT, "loop.test", "v=spf1 include:loop.test -all" },
	{ T_TXT, "many.test", "v=spf1 a:n1.many.test a:n2.many.test a:n3.many.test "
	    "a:n4.many.test a:n5.many.test a:n6.many.test a:n7.many.test a:n8.many.test "
	    "a:n9.many.test a:n10.many.test a:n11.many.test ip4:192.0.2.1 -all" },
	{ T_A, "n1.many.test", "10.0.0.1" }, { T_A, "n2.many.test", "10.0.0.1" },
	{ T_A, "n3.many.test", "10.0.0.1" }, { T_A, "n4.many.test", "10.0.0.1" },
	{ T_A, "n5.many.test", "10.0.0.1" }, { T_A, "n6.many.test", "10.0.0.1" },
	{ T_A, "n7.many.test", "10.0.0.1" }, { T_A, "n8.many.test", "10.0.0.1" },
	{ T_A, "n9.many.test", "10.0.0.1" }, { T_A, "n10.many.test", "10.0.0.1" },
	{ T_A, "n11.many.test", "10.0.0.1" },
	{ T_TXT, "ten.test", "v=spf1 a:n1.many.test a:n2.many.test a:n3.many.test "
	    "a:n4.many.test a:n5.many.test a:n6.many.test a:n7.many.test a:n8.many.test "
	    "a:n9.many.test a:n10.many.test ip4:192.0.2.1 -all" },
	{ T_TXT, "voids.test", "v=spf1 a:v1.test a:v2.test a:v3.test ip4:192.0.2.1 -all" },
	{ T_TXT, "twovoids.test", "v=spf1 a:v1.test a:v2.test ip4:192.0.2.1 -all" },
	{ T_TXT, "exists.test", "v=spf1 exists:%{ir}.%{l1r-}.allow.test -all" },
	{ T_A, "1.2.0.192.alice.allow.test", "127.0.0.2" },
	{ T_TXT, "macro.test", "v=spf1 exists:%{o}.%{d2}.%{h}.m.test -all" },
	{ T_A, "sender.test.macro.test.mail.example.m.test", "127.0.0.2" },
	{ T_TXT, "badmacro.test", "v=spf1 exists:%{c}.x.test -all" },
	{ T_TXT, "badmacro2.test", "v=spf1 exists:%{q}.x.test -all" },
	{ T_TXT, "ptr.test", "v=spf1 ptr -all" },
	{ T_PTR, "1.2.0.192.in-addr.arpa", "host.ptr.test" },
	{ T_PTR, "2.2.0.192.in-addr.arpa", "liar.ptr.test" },
	{ T_A, "host.ptr.test", "192.0.2.1" },
	{ T_A, "liar.ptr.test", "192.0.2.99" },
	{ T_TXT, "tempa.test", "v=spf1 a:tempname.test -all" },
	{ T_A, "tempname.test", "TEMP" },
	{ T_TXT, "case.test", "V=SPF1 IP4:192.0.2.1 -ALL" },
	{ T_TXT, "cidr6.test", "v=spf1 a//64 -all" },
	{ T_AAAA, "cidr6.test", "2001:db8:5:5::1" },
	{ T_TXT, "badcidr.test", "v=spf1 ip4:192.0.2.0/33 -all" },
	{ T_TXT, "qual.test", "v=spf1 -ip4:192.0.2.1 +all" },
	{ T_TXT, "mapped.test", "v=spf1 ip4:192.0.2.1 -all" },
	{ T_TXT, "exp.test", "v=spf1 -all exp=%{c}" },
	{ 0, NULL, NULL }
};

static enum pl_spf_result
run(const char *ip, const char *domain, struct pl_spf_out *o)
{
	zone = records;
	queries = 0;
	return pl_spf_check(ip, domain, "alice@sender.test", "mail.example", fake_lookup, NULL, o);
}

static void
expect(const char *ip, const char *domain, enum pl_spf_result want, const char *term,
    const char *label)
{
	struct pl_spf_out o;
	enum pl_spf_result r = run(ip, domain, &o);

	OK(r == want, "%s: %s for %s is %s (got %s: %s)", label, domain, ip,
	    pl_spf_result_name(want), pl_spf_result_name(r), o.why);
	if (term)
		STREQ(o.term, term, "%s: decided by '%s'", label, term);
	pl_spf_out_free(&o);
}

int
main(void)
{
	struct pl_spf_out o;
	char *s;

	expect("192.0.2.25", "ip.test", PL_SPF_PASS, "ip4:192.0.2.0/24", "ip4 CIDR");
	expect("198.51.100.1", "ip.test", PL_SPF_FAIL, "-all", "-all");
	expect("2001:db8::1", "ip.test", PL_SPF_PASS, "ip6:2001:db8::/32", "ip6 CIDR");
	expect("2001:db9::1", "ip.test", PL_SPF_FAIL, "-all", "ip6 outside");
	expect("::ffff:192.0.2.9", "ip.test", PL_SPF_PASS, NULL, "IPv4-mapped IPv6 is IPv4");
	expect("1.2.3.4", "soft.test", PL_SPF_SOFTFAIL, "~all", "~all");
	expect("1.2.3.4", "neutral.test", PL_SPF_NEUTRAL, "?all", "?all");
	expect("1.2.3.4", "plain.test", PL_SPF_NEUTRAL, "", "no match, no all: neutral");
	expect("1.2.3.4", "nothing.test", PL_SPF_NONE, NULL, "no record: none");
	expect("1.2.3.4", "ver.test", PL_SPF_NONE, NULL, "v=spf10 is not SPF");
	expect("203.0.113.5", "a.test", PL_SPF_PASS, "a", "a");
	expect("198.51.100.9", "a.test", PL_SPF_PASS, "a:other.a.test/24", "a:domain/24");
	expect("198.51.101.9", "a.test", PL_SPF_FAIL, NULL, "a outside");
	expect("2001:db8:1::5", "a.test", PL_SPF_PASS, "a", "a with AAAA");
	expect("203.0.113.10", "mx.test", PL_SPF_PASS, "mx/30", "mx/30 first host");
	expect("203.0.113.21", "mx.test", PL_SPF_PASS, "mx/30", "mx/30 second host");
	expect("203.0.113.30", "mx.test", PL_SPF_FAIL, "-all", "mx outside");
	expect("192.0.2.200", "inc.test", PL_SPF_PASS, "include:provider.test", "include pass");
	expect("192.0.2.2", "inc.test", PL_SPF_FAIL, "-all", "include softfail is no match");
	expect("192.0.2.2", "incnone.test", PL_SPF_PERMERROR, NULL, "include of nothing");
	expect("192.0.2.2", "inctemp.test", PL_SPF_TEMPERROR, NULL, "include temperror");
	expect("192.0.2.2", "temp.test", PL_SPF_TEMPERROR, NULL, "TXT temperror");
	expect("192.0.2.2", "redir.test", PL_SPF_PASS, "redirect=ip.test", "redirect pass");
	expect("10.0.0.1", "redir.test", PL_SPF_FAIL, "redirect=ip.test", "redirect fail");
	expect("10.0.0.1", "redirnone.test", PL_SPF_PERMERROR, NULL, "redirect to nothing");
	expect("10.0.0.1", "redirall.test", PL_SPF_NEUTRAL, "?all", "all wins over redirect");
	expect("10.0.0.1", "two.test", PL_SPF_PERMERROR, NULL, "two records");
	expect("10.0.0.1", "syntax.test", PL_SPF_PERMERROR, NULL, "bad ip4");
	expect("10.0.0.1", "unknown.test", PL_SPF_PERMERROR, NULL, "unknown mechanism");
	expect("192.0.2.1", "mod.test", PL_SPF_PASS, "ip4:192.0.2.1", "unknown modifier, exp ignored");
	expect("192.0.2.1", "dupredir.test", PL_SPF_PERMERROR, NULL, "redirect twice");
	expect("192.0.2.1", "loop.test", PL_SPF_PERMERROR, NULL, "include loop hits the limit");
	expect("192.0.2.1", "many.test", PL_SPF_PERMERROR, NULL, "11 lookups");
	expect("192.0.2.1", "ten.test", PL_SPF_PASS, "ip4:192.0.2.1", "10 lookups are fine");
	expect("192.0.2.1", "voids.test", PL_SPF_PERMERROR, NULL, "3 void lookups");
	expect("192.0.2.1", "twovoids.test", PL_SPF_PASS, NULL, "2 void lookups are fine");
	expect("192.0.2.1", "exists.test", PL_SPF_PASS, NULL, "exists with %{ir} %{l1r-}");
	expect("192.0.2.2", "exists.test", PL_SPF_FAIL, NULL, "exists, nothing");
	expect("192.0.2.2", "macro.test", PL_SPF_PASS, NULL, "%{o} %{d2} %{h}");
	expect("192.0.2.2", "badmacro.test", PL_SPF_PERMERROR, NULL, "%{c} outside exp");
	expect("192.0.2.2", "badmacro2.test", PL_SPF_PERMERROR, NULL, "unknown macro letter");
	expect("192.0.2.1", "ptr.test", PL_SPF_PASS, "ptr", "ptr confirmed");
	expect("192.0.2.2", "ptr.test", PL_SPF_FAIL, "-all", "ptr not confirmed");
	expect("192.0.2.3", "ptr.test", PL_SPF_FAIL, "-all", "no ptr");
	expect("192.0.2.1", "tempa.test", PL_SPF_TEMPERROR, NULL, "a temperror");
	expect("192.0.2.1", "case.test", PL_SPF_PASS, NULL, "case-insensitive");
	expect("2001:db8:5:5::77", "cidr6.test", PL_SPF_PASS, "a//64", "a//64");
	expect("2001:db8:5:6::1", "cidr6.test", PL_SPF_FAIL, NULL, "a//64 outside");
	expect("192.0.2.1", "badcidr.test", PL_SPF_PERMERROR, NULL, "/33");
	expect("192.0.2.1", "qual.test", PL_SPF_FAIL, "-ip4:192.0.2.1", "- qualifier");
	expect("192.0.2.2", "qual.test", PL_SPF_PASS, "+all", "+all");
	expect("192.0.2.2", "exp.test", PL_SPF_FAIL, "-all", "exp= not expanded");
	expect("not-an-ip", "ip.test", PL_SPF_PERMERROR, NULL, "bad address");
	expect("192.0.2.1", "bad..domain", PL_SPF_NONE, NULL, "bad domain: none");

	run("192.0.2.25", "ip.test", &o);
	STREQ(o.record, "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all", "the record is kept");
	OK(strstr(o.why, "192.0.2.25") != NULL && strstr(o.why, "ip4:192.0.2.0/24") != NULL,
	    "why names the address and the term: %s", o.why);
	pl_spf_out_free(&o);
	run("192.0.2.200", "inc.test", &o);
	OK(strstr(o.why, "ip4:192.0.2.128/25") != NULL, "why names the term inside the include: %s",
	    o.why);
	pl_spf_out_free(&o);
	run("192.0.2.1", "many.test", &o);
	OK(strstr(o.why, "more than 10") != NULL, "the limit is explained: %s", o.why);
	OK(o.lookups == 11 && queries <= 12, "evaluation stops at the 11th lookup (%d queries)",
	    queries);
	pl_spf_out_free(&o);
	run("192.0.2.1", "loop.test", &o);
	OK(queries <= 12, "a loop stops (%d queries)", queries);
	pl_spf_out_free(&o);

	s = pl_spf_suggest(NULL, "192.0.2.25");
	STREQ(s, "v=spf1 ip4:192.0.2.25 -all", "suggest a new record");
	free(s);
	s = pl_spf_suggest("v=spf1 mx ~all", "192.0.2.25");
	STREQ(s, "v=spf1 ip4:192.0.2.25 mx ~all", "suggest adding to a record");
	free(s);
	s = pl_spf_suggest(NULL, "2001:db8::25");
	STREQ(s, "v=spf1 ip6:2001:db8::25 -all", "suggest ip6");
	free(s);
	return tap_done();
}
