/* test_dns.c — the pure parts of dns.c: MX ordering and shuffling, the
 * classification of c-ares statuses, domain literals and names; and the
 * lookups that need no DNS server (literals, bad names, cancellation). */
#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "tap.h"
#include "util.h"

static uint32_t
lcg(void *arg)
{
	uint32_t *s = arg;

	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

static void
test_sort(void)
{
	static const char *const names[] = { "c", "a", "b", "d", "e", "f" };
	static const int prefs[] = { 30, 10, 10, 20, 10, 5 };
	int seen_first[3] = { 0 }, ordered = 1, complete = 1;
	uint32_t seed = 1;

	for (int run = 0; run < 200; run++) {
		struct pl_mx mx[6];
		int have[6] = { 0 };

		memset(mx, 0, sizeof mx);
		for (int i = 0; i < 6; i++) {
			mx[i].host = (char *)names[i];
			mx[i].pref = prefs[i];
		}
		pl_dns_sort_mx(mx, 6, run % 2 ? lcg : NULL, &seed);
		for (int i = 1; i < 6; i++)
			if (mx[i - 1].pref > mx[i].pref)
				ordered = 0;
		for (int i = 0; i < 6; i++)
			for (int k = 0; k < 6; k++)
				if (mx[i].host == names[k])
					have[k]++;
		for (int k = 0; k < 6; k++)
			if (have[k] != 1)
				complete = 0;
		/* mx[1] is one of the three hosts with preference 10 */
		seen_first[mx[1].host[0] == 'a' ? 0 : mx[1].host[0] == 'b' ? 1 : 2]++;
		if (strcmp(mx[0].host, "f") || strcmp(mx[4].host, "d") || strcmp(mx[5].host, "c"))
			ordered = 0;
	}
	OK(ordered, "sort: by preference, distinct preferences in place");
	OK(complete, "sort: every host kept once");
	OK(seen_first[0] > 20 && seen_first[1] > 20 && seen_first[2] > 20,
	    "shuffle: each of three equal preferences comes first sometimes (%d %d %d)",
	    seen_first[0], seen_first[1], seen_first[2]);

	struct pl_mx one = { .host = (char *)"x", .pref = 1 };
	pl_dns_sort_mx(&one, 1, NULL, NULL);
	pl_dns_sort_mx(NULL, 0, NULL, NULL);
	STREQ(one.host, "x", "sort: one host, and none, are fine");
}

static void
test_classify(void)
{
	const char *t;

	OK(pl_dns_classify(ARES_SUCCESS, NULL) == PL_DNS_OK, "success is OK");
	OK(pl_dns_classify(ARES_ENOTFOUND, &t) == PL_DNS_PERMFAIL, "NXDOMAIN is permanent");
	STREQ(t, "no such domain (NXDOMAIN)", "NXDOMAIN says so");
	OK(pl_dns_classify(ARES_ENODATA, NULL) == PL_DNS_PERMFAIL, "no data is permanent");
	OK(pl_dns_classify(ARES_ESERVFAIL, &t) == PL_DNS_TEMPFAIL, "SERVFAIL is temporary");
	OK(strstr(t, "SERVFAIL") != NULL, "SERVFAIL says so");
	OK(pl_dns_classify(ARES_EREFUSED, NULL) == PL_DNS_TEMPFAIL, "REFUSED is temporary");
	OK(pl_dns_classify(ARES_ECONNREFUSED, &t) == PL_DNS_TEMPFAIL,
	    "ECONNREFUSED (SERVFAIL/REFUSED from every server) is temporary");
	OK(strstr(t, "SERVFAIL") && strstr(t, "REFUSED"), "ECONNREFUSED names both");
	OK(pl_dns_classify(ARES_ETIMEOUT, NULL) == PL_DNS_TEMPFAIL, "timeout is temporary");
	OK(pl_dns_classify(ARES_EBADRESP, NULL) == PL_DNS_TEMPFAIL, "bad answer is temporary");
	OK(pl_dns_classify(ARES_ENOMEM, NULL) == PL_DNS_TEMPFAIL, "no memory is temporary");
	OK(pl_dns_classify(ARES_EDESTRUCTION, &t) == PL_DNS_TEMPFAIL, "destruction is temporary");
	STREQ(t, "cancelled", "destruction is a cancellation");
	OK(pl_dns_classify(9999, &t) == PL_DNS_TEMPFAIL && t, "unknown status: temporary");
}

static void
test_literal(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char a[INET6_ADDRSTRLEN];

	OK(pl_dns_literal("[127.0.0.2]", &ss, &len) == 1 && ss.ss_family == AF_INET &&
	    len == sizeof(struct sockaddr_in), "IPv4 literal");
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof a);
	STREQ(a, "127.0.0.2", "IPv4 literal address");
	OK(pl_dns_literal("[IPv6:::1]", &ss, &len) == 1 && ss.ss_family == AF_INET6 &&
	    len == sizeof(struct sockaddr_in6), "IPv6 literal");
	OK(pl_dns_literal("[ipv6:2001:db8::1]", &ss, &len) == 1, "IPv6 tag in any case");
	OK(pl_dns_literal("example.test", &ss, &len) == 0, "a name is no literal");
	OK(pl_dns_literal("[]", &ss, &len) == -1, "empty literal");
	OK(pl_dns_literal("[127.0.0.1", &ss, &len) == -1, "unclosed literal");
	OK(pl_dns_literal("[::1]", &ss, &len) == -1, "IPv6 without its tag");
	OK(pl_dns_literal("[IPv6:127.0.0.1]", &ss, &len) == -1, "IPv4 under the IPv6 tag");
	OK(pl_dns_literal("[1.2.3]", &ss, &len) == -1, "three parts");
	OK(pl_dns_literal("[x-tag:abc]", &ss, &len) == -1, "general address literal");
	OK(pl_dns_literal("[0000000000000000000000000000000000000000000000000000000000000000001.2.3.4]",
	    &ss, &len) == -1, "overlong literal");
}

static void
test_valid(void)
{
	char big[300];

	OK(pl_dns_valid_domain("example.test"), "plain name");
	OK(pl_dns_valid_domain("example.test."), "final dot");
	OK(pl_dns_valid_domain("_x.ex-ample.test"), "underscore and hyphen");
	OK(pl_dns_valid_domain("b\xc3\xbcro.test"), "UTF-8 bytes");
	OK(!pl_dns_valid_domain(""), "empty");
	OK(!pl_dns_valid_domain("."), "root");
	OK(!pl_dns_valid_domain("a..test"), "empty label");
	OK(!pl_dns_valid_domain(".a.test"), "leading dot");
	OK(!pl_dns_valid_domain("a b.test"), "space");
	OK(!pl_dns_valid_domain("a\\.test"), "backslash");
	memset(big, 'a', 64);
	strcpy(big + 64, ".test");
	OK(!pl_dns_valid_domain(big), "64-octet label");
	strcpy(big + 63, ".test");
	OK(pl_dns_valid_domain(big), "63-octet label");
	for (int i = 0; i < 254; i++)
		big[i] = i % 2 ? '.' : 'a';
	big[253] = '\0';
	OK(pl_dns_valid_domain(big), "253 octets");
	big[253] = 'a';
	big[254] = '\0';
	OK(!pl_dns_valid_domain(big), "254 octets");
}

struct got {
	int calls;
	struct pl_route *r;
};

static void
on_route(void *arg, struct pl_route *r)
{
	struct got *g = arg;

	g->calls++;
	pl_route_free(g->r);
	g->r = r;
}

static struct pl_dns *chained_d;

static void
on_route_chain(void *arg, struct pl_route *r)
{
	on_route(arg, r);
	pl_dns_route(chained_d, "[127.0.0.9]", on_route, (struct got *)arg + 1);
}

static void
test_lookups(void)
{
	struct pl_dns *d;
	struct pl_err e;
	struct got g[4];
	struct pollfd fds[16];

	memset(g, 0, sizeof g);
	OK(pl_dns_new(&d, "nonsense", 1000, &e) == -1 && e.code == EX_CONFIG,
	    "bad servers: EX_CONFIG (%s)", e.msg);
	/* a server that is never asked: port 9 on loopback */
	if (pl_dns_new(&d, "127.0.0.1:9", 1000, &e) < 0) {
		OK(0, "pl_dns_new: %s", e.msg);
		return;
	}
	pl_dns_route(d, "[IPv6:::1]", on_route, &g[0]);
	pl_dns_route(d, "no such.test", on_route, &g[1]);
	OK(g[0].calls == 0 && g[1].calls == 0, "no callback from inside pl_dns_route");
	OK(pl_dns_pending(d) == 2, "two pending");
	OK(pl_dns_timeout_ms(d, 5000) == 0, "a ready callback: poll must not sleep");
	pl_dns_process(d, fds, pl_dns_pollfds(d, fds, 16));
	OK(g[0].calls == 1 && g[0].r->result == PL_DNS_OK && g[0].r->literal &&
	    g[0].r->nmx == 1 && g[0].r->mx[0].naddrs == 1 &&
	    g[0].r->mx[0].addrs[0].ss_family == AF_INET6, "literal answered");
	OK(g[1].calls == 1 && g[1].r->result == PL_DNS_PERMFAIL, "bad name: permanent");
	STREQ(g[1].r->status, "5.1.3", "bad name: 5.1.3");
	OK(pl_dns_pending(d) == 0, "none pending");
	OK(pl_dns_timeout_ms(d, -1) == -1, "idle: no timeout of its own");
	OK(pl_dns_timeout_ms(d, 700) == 700, "idle: the caller's timeout");

	pl_route_free(g[0].r);
	pl_route_free(g[1].r);

	/* a callback starting a lookup, answered in the next round */
	chained_d = d;
	memset(g, 0, sizeof g);
	pl_dns_route(d, "[127.0.0.2]", on_route_chain, &g[0]);
	pl_dns_process(d, fds, 0);
	OK(g[0].calls == 1 && g[1].calls == 0 && pl_dns_pending(d) == 1,
	    "a lookup started by a callback waits for the next round");
	pl_dns_process(d, fds, 0);
	OK(g[1].calls == 1 && g[1].r->result == PL_DNS_OK, "and is answered then");
	for (int i = 0; i < 4; i++) {
		pl_route_free(g[i].r);
		g[i].r = NULL;
	}

	/* freeing cancels: the lookup on the wire and the one ready */
	memset(g, 0, sizeof g);
	pl_dns_route(d, "example.test", on_route, &g[0]);
	pl_dns_route(d, "[127.0.0.3]", on_route, &g[1]);
	OK(pl_dns_pending(d) == 2, "two pending before free");
	OK(pl_dns_timeout_ms(d, -1) == 0, "timeout 0 with one ready");
	pl_dns_free(d);
	OK(g[0].calls == 1 && g[0].r->result == PL_DNS_TEMPFAIL &&
	    strcmp(g[0].r->status, "4.4.3") == 0 && strstr(g[0].r->why, "cancelled"),
	    "free: the pending lookup is cancelled, temporarily (%s)", g[0].r ? g[0].r->why : "");
	OK(g[1].calls == 1 && g[1].r->result == PL_DNS_OK, "free: the answered one keeps its answer");
	for (int i = 0; i < 4; i++)
		pl_route_free(g[i].r);
	pl_dns_free(NULL);
}

int
main(void)
{
	test_sort();
	test_classify();
	test_literal();
	test_valid();
	test_lookups();
	return tap_done();
}
