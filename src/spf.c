/* spf.c — check_host() of RFC 7208 over a lookup callback; see spf.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spf.h"
#include "util.h"

#define SPF_MAX_LOOKUPS 10	/* RFC 7208 4.6.4 */
#define SPF_MAX_VOIDS   2
#define SPF_MAX_NAMES   10	/* MX hosts, PTR names per term */
#define SPF_MAX_TERMS   512
#define SPF_NAME_MAX    1024

struct spf_ip {
	int fam;		/* 4 or 6 */
	unsigned char b[16];
};

enum spf_kind {
	K_ALL, K_INCLUDE, K_A, K_MX, K_PTR, K_IP4, K_IP6, K_EXISTS, K_REDIRECT, K_EXP, K_OTHER
};

struct spf_term {
	char q;			/* + - ~ ? */
	enum spf_kind kind;
	char *spec;		/* domain-spec or redirect target (unexpanded), or NULL */
	int c4, c6;		/* CIDR lengths */
	struct spf_ip net;	/* ip4, ip6 */
	char *text;		/* as written */
};

struct spf_ctx {
	struct spf_ip ip;
	const char *sender, *helo;
	pl_spf_lookup_fn lookup;
	void *arg;
	int lookups, voids;
	char err[512];		/* why of a permerror or temperror, first one wins */
	char leaf[256];		/* the innermost term that matched */
};

static int
spf_err(struct spf_ctx *x, const char *fmt, const char *a, const char *b)
{
	if (x->err[0] == '\0')
		snprintf(x->err, sizeof x->err, fmt, a, b ? b : "");
	return -1;
}

static void
free_ans(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
parse_ip(const char *s, struct spf_ip *ip)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(ip, 0, sizeof *ip);
	if (inet_pton(AF_INET, s, ip->b) == 1) {
		ip->fam = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->b) == 1) {
		ip->fam = 6;
		if (memcmp(ip->b, mapped, 12) == 0) {	/* ::ffff:a.b.c.d counts as IPv4 */
			memmove(ip->b, ip->b + 12, 4);
			memset(ip->b + 4, 0, 12);
			ip->fam = 4;
		}
		return 0;
	}
	return -1;
}

static int
ip_in(const struct spf_ip *ip, const struct spf_ip *net, int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (ip->fam != net->fam)
		return 0;
	if (memcmp(ip->b, net->b, (size_t)full) != 0)
		return 0;
	if (rest) {
		unsigned char m = (unsigned char)(0xff << (8 - rest));
		if ((ip->b[full] & m) != (net->b[full] & m))
			return 0;
	}
	return 1;
}

/* ---- Macros (RFC 7208 7) --------------------------------------------------- */

static void
ip_dotted(const struct spf_ip *ip, struct buf *b)
{
	static const char hex[] = "0123456789abcdef";

	if (ip->fam == 4) {
		buf_printf(b, "%u.%u.%u.%u", ip->b[0], ip->b[1], ip->b[2], ip->b[3]);
		return;
	}
	for (int i = 0; i < 16; i++) {
		if (i)
			buf_addc(b, '.');
		buf_addc(b, hex[ip->b[i] >> 4]);
		buf_addc(b, '.');
		buf_addc(b, hex[ip->b[i] & 15]);
	}
}

static int
is_delim(char c)
{
	return c && strchr(".-+,/_=", c) != NULL;
}

/* Expands one %{…} body [p, end): letter, digits, r, delimiters. */
static int
expand_one(struct spf_ctx *x, const char *p, const char *end, const char *domain,
    struct buf *out)
{
	struct buf val = { 0 }, joined = { 0 };
	char letter = *p, lc = (char)(letter | 0x20);
	const char *at = strrchr(x->sender, '@'), *q = p + 1;
	long keep = 0;
	int rev = 0, rc = 0;
	char delims[16] = "";
	char *parts[256];
	size_t np = 0, first;

	switch (lc) {
	case 's': buf_adds(&val, x->sender); break;
	case 'l':
		if (at && at > x->sender)
			buf_add(&val, x->sender, (size_t)(at - x->sender));
		else
			buf_adds(&val, "postmaster");
		break;
	case 'o': buf_adds(&val, at ? at + 1 : x->sender); break;
	case 'd': buf_adds(&val, domain); break;
	case 'i': ip_dotted(&x->ip, &val); break;
	case 'p': buf_adds(&val, "unknown"); break;
	case 'v': buf_adds(&val, x->ip.fam == 4 ? "in-addr" : "ip6"); break;
	case 'h': buf_adds(&val, x->helo && *x->helo ? x->helo : "unknown"); break;
	case 'c': case 'r': case 't':
		buf_free(&val);
		return spf_err(x, "macro %%{%s} is only allowed in exp=", (char[]){ letter, 0 }, NULL);
	default:
		buf_free(&val);
		return spf_err(x, "unknown macro letter '%s'", (char[]){ letter, 0 }, NULL);
	}
	while (q < end && *q >= '0' && *q <= '9') {
		keep = keep * 10 + (*q - '0');
		if (keep > 128)
			keep = 128;
		q++;
	}
	if (q > p + 1 && keep == 0) {
		buf_free(&val);
		return spf_err(x, "macro with 0 parts kept%s", "", NULL);
	}
	if (q < end && (*q == 'r' || *q == 'R')) {
		rev = 1;
		q++;
	}
	for (size_t k = 0; q < end; q++) {
		if (!is_delim(*q)) {
			buf_free(&val);
			return spf_err(x, "bad macro transformer '%s'", (char[]){ *q, 0 }, NULL);
		}
		if (k + 1 < sizeof delims && !strchr(delims, *q))
			delims[k++] = *q;
	}
	if (delims[0] == '\0')
		strcpy(delims, ".");
	if (val.p == NULL)
		buf_adds(&val, "");
	/* Split into parts at any delimiter. */
	for (char *s = val.p;;) {
		size_t len = strcspn(s, delims);
		if (np < sizeof parts / sizeof parts[0])
			parts[np++] = s;
		if (s[len] == '\0')
			break;
		s[len] = '\0';
		s += len + 1;
	}
	if (rev)
		for (size_t i = 0; i < np / 2; i++) {
			char *t = parts[i];
			parts[i] = parts[np - 1 - i];
			parts[np - 1 - i] = t;
		}
	first = (keep && (size_t)keep < np) ? np - (size_t)keep : 0;
	for (size_t i = first; i < np; i++) {
		if (i > first)
			buf_addc(&joined, '.');
		buf_adds(&joined, parts[i]);
	}
	if (joined.p == NULL)
		buf_adds(&joined, "");
	if (letter != lc) {	/* upper case: URL-escape */
		for (const unsigned char *u = (const unsigned char *)joined.p; *u; u++) {
			if ((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') ||
			    (*u >= '0' && *u <= '9') || strchr("-._~", *u))
				buf_addc(out, (char)*u);
			else
				buf_printf(out, "%%%02X", *u);
		}
	} else {
		buf_adds(out, joined.p);
	}
	buf_free(&val);
	buf_free(&joined);
	return rc;
}

/* Expands a domain-spec into out (a name of at most 253 octets: leftmost
 * labels dropped beyond that, RFC 7208 7.3).  -1: permerror. */
static int
expand(struct spf_ctx *x, const char *spec, const char *domain, char *out, size_t outsz)
{
	struct buf b = { 0 };
	const char *s = spec, *name;

	while (*s) {
		if (*s != '%') {
			if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f) {
				buf_free(&b);
				return spf_err(x, "bad character in '%s'", spec, NULL);
			}
			buf_addc(&b, *s++);
			continue;
		}
		s++;
		if (*s == '%')
			buf_addc(&b, '%');
		else if (*s == '_')
			buf_addc(&b, ' ');
		else if (*s == '-')
			buf_adds(&b, "%20");
		else if (*s == '{') {
			const char *end = strchr(s, '}');
			if (end == NULL || end == s + 1 ||
			    expand_one(x, s + 1, end, domain, &b) < 0) {
				buf_free(&b);
				return spf_err(x, "bad macro in '%s'", spec, NULL);
			}
			s = end;
		} else {
			buf_free(&b);
			return spf_err(x, "bad macro in '%s'", spec, NULL);
		}
		s++;
		if (b.len > 4 * SPF_NAME_MAX) {
			buf_free(&b);
			return spf_err(x, "'%s' expands too long", spec, NULL);
		}
	}
	if (b.p == NULL)
		buf_adds(&b, "");
	if (b.len && b.p[b.len - 1] == '.')
		b.p[--b.len] = '\0';
	name = b.p;
	while (strlen(name) > 253) {
		const char *dot = strchr(name, '.');
		if (dot == NULL) {
			buf_free(&b);
			return spf_err(x, "'%s' expands to a label too long", spec, NULL);
		}
		name = dot + 1;
	}
	if (*name == '\0' || strlen(name) >= outsz) {
		buf_free(&b);
		return spf_err(x, "'%s' expands to an empty name", spec, NULL);
	}
	strcpy(out, name);
	buf_free(&b);
	return 0;
}

/* A domain-spec's syntax (RFC 7208 7.1): macros well formed, and a
 * literal ending in a toplabel. */
static int
spec_valid(const char *s)
{
	const char *last;
	size_t len = strlen(s);
	int alpha = 0;

	if (len == 0)
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p != '%')
			continue;
		p++;
		if (*p == '{') {
			const char *end = strchr(p, '}');
			if (end == NULL || end == p + 1)
				return 0;
			p = end;
		} else if (*p != '%' && *p != '_' && *p != '-') {
			return 0;
		}
	}
	if (s[len - 1] == '}')
		return 1;
	if (s[len - 1] == '.')
		len--;
	last = s + len;
	while (last > s && last[-1] != '.')
		last--;
	if (last == s + len)
		return 0;
	for (const char *p = last; p < s + len; p++) {
		if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')
			alpha = 1;
		else if (!(*p >= '0' && *p <= '9') && *p != '-')
			return 0;
	}
	return alpha && *last != '-' && s[len - 1] != '-';
}

static int
domain_valid(const char *d)
{
	size_t label = 0, len = strlen(d);

	if (len == 0 || len > 253)
		return 0;
	for (const char *p = d; *p; p++) {
		if (*p == '.') {
			if (label == 0 && p[1] != '\0')
				return 0;
			label = 0;
		} else if ((unsigned char)*p <= ' ' || ++label > 63) {
			return 0;
		}
	}
	return strchr(d, '.') != NULL;
}

/* ---- Record syntax (RFC 7208 4.6, 5, 6) ------------------------------------ */

static int
parse_cidr(const char *s, int max, int *out)
{
	int v = 0;

	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
		return -1;
	for (; *s >= '0' && *s <= '9'; s++)
		if ((v = v * 10 + (*s - '0')) > max)
			return -1;
	*out = v;
	return *s ? -1 : 0;
}

/* Where a domain-spec ends: the first '/' outside %{…}. */
static const char *
spec_end(const char *s)
{
	for (; *s && *s != '/'; s++)
		if (s[0] == '%' && s[1] == '{') {
			const char *e = strchr(s, '}');
			if (e == NULL)
				return s + strlen(s);
			s = e;
		}
	return s;
}

/* "/N", "//M", "/N//M" → c4, c6. */
static int
parse_dual_cidr(const char *s, struct spf_term *t)
{
	char tmp[32];
	const char *dd;

	if (*s == '\0')
		return 0;
	if (strlen(s) >= sizeof tmp || *s != '/')
		return -1;
	dd = strstr(s, "//");
	if (dd != s) {
		size_t n = dd ? (size_t)(dd - s - 1) : strlen(s + 1);
		memcpy(tmp, s + 1, n);
		tmp[n] = '\0';
		if (parse_cidr(tmp, 32, &t->c4) < 0)
			return -1;
	}
	if (dd && parse_cidr(dd + 2, 128, &t->c6) < 0)
		return -1;
	return 0;
}

static int
parse_term(const char *text, struct spf_term *t)
{
	const char *p = text, *name, *rest;
	size_t nlen;
	static const struct { const char *name; enum spf_kind kind; } mech[] = {
		{ "all", K_ALL }, { "include", K_INCLUDE }, { "a", K_A }, { "mx", K_MX },
		{ "ptr", K_PTR }, { "ip4", K_IP4 }, { "ip6", K_IP6 }, { "exists", K_EXISTS },
	};

	memset(t, 0, sizeof *t);
	t->q = '+';
	t->c4 = 32;
	t->c6 = 128;
	t->text = xstrdup(text);
	/* A modifier: name "=" value, the name being ALPHA *( ALPHA / DIGIT / - _ . ). */
	nlen = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");
	if (nlen > 0 && p[nlen] == '=' && ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')) {
		const char *v = p + nlen + 1;
		if (nlen == 8 && ascii_ncasecmp(p, "redirect", 8) == 0) {
			if (!spec_valid(v))
				return -1;
			t->kind = K_REDIRECT;
			t->spec = xstrdup(v);
		} else if (nlen == 3 && ascii_ncasecmp(p, "exp", 3) == 0) {
			if (!spec_valid(v))
				return -1;
			t->kind = K_EXP;
		} else {
			t->kind = K_OTHER;
		}
		return 0;
	}
	if (strchr("+-~?", *p) && *p)
		t->q = *p++;
	name = p;
	while (*p && *p != ':' && *p != '/')
		p++;
	nlen = (size_t)(p - name);
	rest = p;
	t->kind = K_OTHER;
	for (size_t i = 0; i < sizeof mech / sizeof mech[0]; i++)
		if (strlen(mech[i].name) == nlen && ascii_ncasecmp(name, mech[i].name, nlen) == 0)
			t->kind = mech[i].kind;
	switch (t->kind) {
	case K_ALL:
		return *rest ? -1 : 0;
	case K_INCLUDE:
	case K_EXISTS:
		if (*rest != ':' || !spec_valid(rest + 1))
			return -1;
		t->spec = xstrdup(rest + 1);
		return 0;
	case K_A:
	case K_MX:
	case K_PTR:
		if (*rest == ':') {
			const char *e = spec_end(rest + 1);
			t->spec = xstrndup(rest + 1, (size_t)(e - rest - 1));
			if (!spec_valid(t->spec))
				return -1;
			rest = e;
		}
		if (t->kind == K_PTR)
			return *rest ? -1 : 0;
		return parse_dual_cidr(rest, t);
	case K_IP4:
	case K_IP6: {
		char addr[64];
		const char *slash;
		size_t alen;

		if (*rest != ':')
			return -1;
		rest++;
		slash = strchr(rest, '/');
		alen = slash ? (size_t)(slash - rest) : strlen(rest);
		if (alen == 0 || alen >= sizeof addr)
			return -1;
		memcpy(addr, rest, alen);
		addr[alen] = '\0';
		if (inet_pton(t->kind == K_IP4 ? AF_INET : AF_INET6, addr, t->net.b) != 1)
			return -1;
		t->net.fam = t->kind == K_IP4 ? 4 : 6;
		if (slash && parse_cidr(slash + 1, t->kind == K_IP4 ? 32 : 128,
		    t->kind == K_IP4 ? &t->c4 : &t->c6) < 0)
			return -1;
		if (t->kind == K_IP6) {
			/* An IPv4-mapped network: compare as IPv4. */
			static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			    0xff, 0xff };
			if (memcmp(t->net.b, mapped, 12) == 0 && t->c6 >= 96) {
				memmove(t->net.b, t->net.b + 12, 4);
				t->net.fam = 4;
				t->c4 = t->c6 - 96;
			}
		}
		return 0;
	}
	default:
		return -1;	/* an unknown mechanism */
	}
}

static void
free_terms(struct spf_term *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].spec);
		free(t[i].text);
	}
	free(t);
}

/* ---- Evaluation ------------------------------------------------------------ */

static int
count_lookup(struct spf_ctx *x)
{
	if (++x->lookups > SPF_MAX_LOOKUPS)
		return spf_err(x, "more than 10 DNS lookups (RFC 7208 4.6.4)%s", "", NULL);
	return 0;
}

static int
count_void(struct spf_ctx *x, const char *name)
{
	if (++x->voids > SPF_MAX_VOIDS)
		return spf_err(x, "more than 2 lookups found nothing (last: %s)", name, NULL);
	return 0;
}

/* Asks for the addresses of name in the family of the address checked:
 * 1 when one of them is in the network of bits c4/c6, 0 not, -1 temperror,
 * with *void set when there was nothing. */
static int
addr_match(struct spf_ctx *x, const char *name, int c4, int c6, int *isvoid)
{
	char **ans = NULL;
	size_t n = 0;
	int rc, m = 0;

	*isvoid = 0;
	rc = x->lookup(x->arg, x->ip.fam == 4 ? PL_SPF_T_A : PL_SPF_T_AAAA, name, &ans, &n);
	if (rc < 0) {
		free_ans(ans, n);
		return spf_err(x, "DNS lookup of %s failed temporarily%s", name, NULL);
	}
	if (rc > 0 || n == 0)
		*isvoid = 1;
	for (size_t i = 0; i < n && !m; i++) {
		struct spf_ip a;
		if (ans[i] && parse_ip(ans[i], &a) == 0 && a.fam == x->ip.fam)
			m = ip_in(&x->ip, &a, x->ip.fam == 4 ? c4 : c6);
	}
	free_ans(ans, n);
	return m;
}

static enum pl_spf_result check_host(struct spf_ctx *x, const char *domain, int depth,
    char **record);

/* 1 match, 0 no match, -1 temperror, -2 permerror. */
static int
eval_term(struct spf_ctx *x, const struct spf_term *t, const char *domain, int depth)
{
	char target[SPF_NAME_MAX];
	char **ans = NULL;
	size_t n = 0;
	int rc, isvoid, m = 0;

	switch (t->kind) {
	case K_ALL:
		return 1;
	case K_IP4:
	case K_IP6:
		return t->net.fam == x->ip.fam &&
		    ip_in(&x->ip, &t->net, x->ip.fam == 4 ? t->c4 : t->c6);
	default:
		break;
	}
	if (count_lookup(x) < 0)
		return -2;
	if (t->spec) {
		if (expand(x, t->spec, domain, target, sizeof target) < 0)
			return -2;
	} else {
		snprintf(target, sizeof target, "%s", domain);
	}
	switch (t->kind) {
	case K_INCLUDE: {
		enum pl_spf_result r = check_host(x, target, depth + 1, NULL);
		switch (r) {
		case PL_SPF_PASS: return 1;
		case PL_SPF_FAIL: case PL_SPF_SOFTFAIL: case PL_SPF_NEUTRAL: return 0;
		case PL_SPF_TEMPERROR: return -1;
		case PL_SPF_NONE:
			x->err[0] = '\0';
			spf_err(x, "include:%s has no SPF record%s", target, NULL);
			return -2;
		default: return -2;
		}
	}
	case K_A:
		rc = addr_match(x, target, t->c4, t->c6, &isvoid);
		if (rc < 0)
			return -1;
		if (isvoid && count_void(x, target) < 0)
			return -2;
		return rc;
	case K_EXISTS:
		rc = x->lookup(x->arg, PL_SPF_T_A, target, &ans, &n);
		free_ans(ans, n);
		if (rc < 0)
			return spf_err(x, "DNS lookup of %s failed temporarily%s", target, NULL);
		if (rc > 0 || n == 0)
			return count_void(x, target) < 0 ? -2 : 0;
		return 1;
	case K_MX:
		rc = x->lookup(x->arg, PL_SPF_T_MX, target, &ans, &n);
		if (rc < 0) {
			free_ans(ans, n);
			return spf_err(x, "DNS lookup of %s MX failed temporarily%s", target, NULL);
		}
		if (rc > 0 || n == 0) {
			free_ans(ans, n);
			return count_void(x, target) < 0 ? -2 : 0;
		}
		if (n > SPF_MAX_NAMES) {
			free_ans(ans, n);
			spf_err(x, "%s has more than 10 MX records%s", target, NULL);
			return -2;
		}
		for (size_t i = 0; i < n && m == 0; i++)
			if (ans[i] && domain_valid(ans[i]))
				m = addr_match(x, ans[i], t->c4, t->c6, &isvoid);
		free_ans(ans, n);
		return m;
	case K_PTR: {
		struct buf rev = { 0 };
		size_t tl = strlen(target);

		if (x->ip.fam == 4) {
			buf_printf(&rev, "%u.%u.%u.%u.in-addr.arpa", x->ip.b[3], x->ip.b[2],
			    x->ip.b[1], x->ip.b[0]);
		} else {
			static const char hex[] = "0123456789abcdef";
			for (int i = 15; i >= 0; i--)
				buf_printf(&rev, "%c.%c.", hex[x->ip.b[i] & 15], hex[x->ip.b[i] >> 4]);
			buf_adds(&rev, "ip6.arpa");
		}
		rc = x->lookup(x->arg, PL_SPF_T_PTR, rev.p, &ans, &n);
		buf_free(&rev);
		if (rc != 0 || n == 0) {
			free_ans(ans, n);
			if (rc > 0 || (rc == 0 && n == 0))
				return count_void(x, "the PTR name") < 0 ? -2 : 0;
			return 0;	/* a DNS error: no match (RFC 7208 5.5) */
		}
		for (size_t i = 0; i < n && i < SPF_MAX_NAMES && m == 0; i++) {
			size_t nl;
			if (ans[i] == NULL || !domain_valid(ans[i]))
				continue;
			nl = strlen(ans[i]);
			if (ascii_casecmp(ans[i], target) != 0 &&
			    !(nl > tl && ans[i][nl - tl - 1] == '.' &&
			    ascii_casecmp(ans[i] + nl - tl, target) == 0))
				continue;
			if (addr_match(x, ans[i], 32, 128, &isvoid) == 1)
				m = 1;
		}
		x->err[0] = '\0';	/* errors confirming names only make it not match */
		free_ans(ans, n);
		return m;
	}
	default:
		return -2;
	}
}

static enum pl_spf_result
qual_result(char q)
{
	switch (q) {
	case '-': return PL_SPF_FAIL;
	case '~': return PL_SPF_SOFTFAIL;
	case '?': return PL_SPF_NEUTRAL;
	default: return PL_SPF_PASS;
	}
}

/* check_host() for one domain; the top-level call fills *record, and the
 * matching term's text goes to x->leaf (innermost) and the caller's term. */
static enum pl_spf_result
check_host_term(struct spf_ctx *x, const char *domain, int depth, char **record, char *term,
    size_t termsz)
{
	char **ans = NULL, *rec = NULL, *copy, *tok, *save = NULL;
	size_t n = 0, nrec = 0, nt = 0;
	struct spf_term *terms = NULL;
	const struct spf_term *redirect = NULL;
	enum pl_spf_result r = PL_SPF_NEUTRAL;
	int rc, seen_exp = 0;

	if (depth > SPF_MAX_LOOKUPS + 1) {
		spf_err(x, "includes nested too deep%s", "", NULL);
		return PL_SPF_PERMERROR;
	}
	if (!domain_valid(domain)) {
		spf_err(x, "'%s' is not a valid domain%s", domain, NULL);
		return PL_SPF_NONE;
	}
	rc = x->lookup(x->arg, PL_SPF_T_TXT, domain, &ans, &n);
	if (rc < 0) {
		free_ans(ans, n);
		spf_err(x, "DNS lookup of %s TXT failed temporarily%s", domain, NULL);
		return PL_SPF_TEMPERROR;
	}
	for (size_t i = 0; i < n; i++) {
		if (ans[i] && ascii_ncasecmp(ans[i], "v=spf1", 6) == 0 &&
		    (ans[i][6] == '\0' || ans[i][6] == ' ')) {
			nrec++;
			rec = ans[i];
		}
	}
	if (nrec == 0) {
		free_ans(ans, n);
		spf_err(x, "%s has no SPF record%s", domain, NULL);
		return PL_SPF_NONE;
	}
	if (nrec > 1) {
		free_ans(ans, n);
		spf_err(x, "%s has more than one SPF record%s", domain, NULL);
		return PL_SPF_PERMERROR;
	}
	if (record)
		*record = xstrdup(rec);
	copy = xstrdup(rec + 6);
	free_ans(ans, n);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (nt >= SPF_MAX_TERMS) {
			spf_err(x, "%s: too many terms%s", domain, NULL);
			r = PL_SPF_PERMERROR;
			goto done;
		}
		terms = xrealloc(terms, (nt + 1) * sizeof *terms);
		if (parse_term(tok, &terms[nt++]) < 0) {
			spf_err(x, "syntax error in %s's SPF record at '%s'", domain, tok);
			r = PL_SPF_PERMERROR;
			goto done;
		}
		if (terms[nt - 1].kind == K_REDIRECT) {
			if (redirect) {
				spf_err(x, "%s: redirect= given twice%s", domain, NULL);
				r = PL_SPF_PERMERROR;
				goto done;
			}
			redirect = &terms[nt - 1];
		}
		if (terms[nt - 1].kind == K_EXP && seen_exp++) {
			spf_err(x, "%s: exp= given twice%s", domain, NULL);
			r = PL_SPF_PERMERROR;
			goto done;
		}
	}
	/* terms may have moved with realloc: find redirect again. */
	redirect = NULL;
	for (size_t i = 0; i < nt; i++)
		if (terms[i].kind == K_REDIRECT)
			redirect = &terms[i];
	for (size_t i = 0; i < nt; i++) {
		const struct spf_term *t = &terms[i];
		int m;

		if (t->kind == K_REDIRECT || t->kind == K_EXP || t->kind == K_OTHER)
			continue;
		m = eval_term(x, t, domain, depth);
		if (m == -1) {
			r = PL_SPF_TEMPERROR;
			goto done;
		}
		if (m == -2) {
			r = PL_SPF_PERMERROR;
			goto done;
		}
		if (m == 1) {
			if (term)
				snprintf(term, termsz, "%s", t->text);
			if (t->kind != K_INCLUDE)
				snprintf(x->leaf, sizeof x->leaf, "%s", t->text);
			r = qual_result(t->q);
			goto done;
		}
	}
	if (redirect) {
		char target[SPF_NAME_MAX];

		if (count_lookup(x) < 0 ||
		    expand(x, redirect->spec, domain, target, sizeof target) < 0) {
			r = PL_SPF_PERMERROR;
			goto done;
		}
		if (term)
			snprintf(term, termsz, "%s", redirect->text);
		r = check_host(x, target, depth + 1, NULL);
		if (r == PL_SPF_NONE) {
			x->err[0] = '\0';
			spf_err(x, "redirect=%s has no SPF record%s", target, NULL);
			r = PL_SPF_PERMERROR;
		}
		goto done;
	}
	r = PL_SPF_NEUTRAL;
done:
	free_terms(terms, nt);
	free(copy);
	return r;
}

static enum pl_spf_result
check_host(struct spf_ctx *x, const char *domain, int depth, char **record)
{
	return check_host_term(x, domain, depth, record, NULL, 0);
}

enum pl_spf_result
pl_spf_check(const char *ip, const char *domain, const char *sender, const char *helo,
    pl_spf_lookup_fn lookup, void *arg, struct pl_spf_out *out)
{
	struct spf_ctx x;
	char dom[SPF_NAME_MAX], snd[SPF_NAME_MAX];
	const char *kind;

	memset(out, 0, sizeof *out);
	memset(&x, 0, sizeof x);
	snprintf(dom, sizeof dom, "%s", domain ? domain : "");
	if (dom[0] && dom[strlen(dom) - 1] == '.')
		dom[strlen(dom) - 1] = '\0';
	if (sender == NULL || *sender == '\0' || strchr(sender, '@') == NULL)
		snprintf(snd, sizeof snd, "postmaster@%s", dom);
	else
		snprintf(snd, sizeof snd, "%s", sender);
	if (ip == NULL || parse_ip(ip, &x.ip) < 0) {
		out->result = PL_SPF_PERMERROR;
		snprintf(out->why, sizeof out->why, "'%s' is not an IP address", ip ? ip : "");
		return out->result;
	}
	x.sender = snd;
	x.helo = helo;
	x.lookup = lookup;
	x.arg = arg;
	out->result = check_host_term(&x, dom, 0, &out->record, out->term, sizeof out->term);
	out->lookups = x.lookups > SPF_MAX_LOOKUPS ? SPF_MAX_LOOKUPS + 1 : x.lookups;
	out->voids = x.voids;
	switch (out->result) {
	case PL_SPF_NONE:
	case PL_SPF_TEMPERROR:
	case PL_SPF_PERMERROR:
		snprintf(out->why, sizeof out->why, "%s", x.err[0] ? x.err : "no SPF record");
		break;
	case PL_SPF_NEUTRAL:
		if (out->term[0] == '\0') {
			snprintf(out->why, sizeof out->why,
			    "no term of %s's SPF record names %s (neutral)", dom, ip);
			break;
		}
		/* FALLTHROUGH */
	default:
		kind = pl_spf_result_name(out->result);
		if (x.leaf[0] && strcmp(x.leaf, out->term) != 0)
			snprintf(out->why, sizeof out->why, "%s gives %s for %s by '%s' (through '%s')",
			    dom, kind, ip, out->term, x.leaf);
		else
			snprintf(out->why, sizeof out->why, "%s gives %s for %s by '%s'", dom, kind,
			    ip, out->term);
		break;
	}
	return out->result;
}

void
pl_spf_out_free(struct pl_spf_out *out)
{
	free(out->record);
	out->record = NULL;
}

const char *
pl_spf_result_name(enum pl_spf_result r)
{
	static const char *const names[] = { "none", "neutral", "pass", "fail", "softfail",
		"temperror", "permerror" };
	return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "?";
}

char *
pl_spf_suggest(const char *old, const char *ip)
{
	struct buf b = { 0 };
	const char *mech = strchr(ip, ':') ? "ip6" : "ip4";

	if (old == NULL || ascii_ncasecmp(old, "v=spf1", 6) != 0) {
		buf_printf(&b, "v=spf1 %s:%s -all", mech, ip);
		return buf_steal(&b);
	}
	buf_printf(&b, "v=spf1 %s:%s", mech, ip);
	old += 6;
	while (*old == ' ')
		old++;
	if (*old) {
		buf_addc(&b, ' ');
		buf_adds(&b, old);
	}
	return buf_steal(&b);
}
