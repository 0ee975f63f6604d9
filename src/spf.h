/* spf.h — Sender Policy Framework (RFC 7208): check_host() over a DNS
 * lookup callback, so that it runs the same against the network (doctor.c)
 * and against a table in a test or a fuzz input.
 *
 * Supported: the mechanisms all, include, a, mx, ptr (minimally: at most 10
 * names, each confirmed by its addresses), ip4, ip6, exists with CIDR
 * lengths; the modifiers redirect= and exp= (exp is ignored); qualifiers
 * + - ~ ?; the limit of 10 DNS-querying terms (include, a, mx, ptr,
 * exists, redirect), of 10 MX or PTR names per term, and of 2 void lookups
 * (NXDOMAIN or no records), each past its limit a permerror; macros
 * %{s l o d i p v h} with digits, r and delimiters, and %% %_ %-.  The
 * exp-only macros c r t in a domain-spec are a permerror.  %{p} expands to
 * "unknown", as RFC 7208 7.3 allows. */
#ifndef PALOMA_SPF_H
#define PALOMA_SPF_H

#include <stddef.h>

enum pl_spf_result {
	PL_SPF_NONE, PL_SPF_NEUTRAL, PL_SPF_PASS, PL_SPF_FAIL, PL_SPF_SOFTFAIL,
	PL_SPF_TEMPERROR, PL_SPF_PERMERROR
};

/* DNS record types asked for (their DNS numbers). */
enum { PL_SPF_T_A = 1, PL_SPF_T_PTR = 12, PL_SPF_T_MX = 15, PL_SPF_T_TXT = 16,
	PL_SPF_T_AAAA = 28 };

/* Answers a query for type at name (no final dot): fills *ans with *n
 * malloc'd strings that the evaluator frees (free(3) on each, then on the
 * array): addresses in text form for A and AAAA, host names for MX (by
 * preference) and PTR (name is then the in-addr.arpa / ip6.arpa name), one
 * string per TXT record with its character-strings joined.  Returns 0 with
 * answers, 1 for NXDOMAIN or no records of that type (*n = 0), -1 for a
 * temporary failure (timeout, SERVFAIL, …). */
typedef int (*pl_spf_lookup_fn)(void *arg, int type, const char *name, char ***ans,
    size_t *n);

struct pl_spf_out {
	enum pl_spf_result result;
	char term[256];		/* the term that decided it at the top level, as
				 * written ("ip4:192.0.2.0/24", "include:_spf.x",
				 * "-all"), "redirect=…", or "" */
	char why[512];		/* one line: what decided, or the error */
	char *record;		/* the domain's own SPF record, or NULL; free() it */
	int lookups;		/* DNS-querying terms evaluated */
	int voids;		/* void lookups seen */
};

/* check_host(ip, domain, sender) of RFC 7208 4: ip is an IPv4 or IPv6
 * address in text form, sender the MAIL FROM address (or "postmaster@"
 * domain when empty), helo the HELO name for %{h} (may be NULL).  Always
 * fills *out; returns out->result. */
enum pl_spf_result pl_spf_check(const char *ip, const char *domain, const char *sender,
    const char *helo, pl_spf_lookup_fn lookup, void *arg, struct pl_spf_out *out);

void pl_spf_out_free(struct pl_spf_out *out);

/* "pass", "fail", … */
const char *pl_spf_result_name(enum pl_spf_result r);

/* The record to publish so that ip passes: "v=spf1 ip4:IP -all" without a
 * record (old NULL), else old with "ip4:IP" (ip6:) added right after
 * "v=spf1".  Malloc'd. */
char *pl_spf_suggest(const char *old, const char *ip);

#endif
