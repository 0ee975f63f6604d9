/* mtasts.c — MTA-STS policies (RFC 8461): parsers, MX matching, the cache.
 * See mtasts.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "fsutil.h"
#include "mtasts.h"
#include "paths.h"

#define CACHE_MAGIC "paloma-mta-sts 1"
#define CACHE_MAX   (4 * PL_MTASTS_MAX_BODY)

static int
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 8461 sts-ext-name / sts-policy-ext-name: (ALPHA / DIGIT)
 * *31(ALPHA / DIGIT / "_" / "-" / "."); the length of the name at s. */
static size_t
ext_name_len(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_alnum((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n && i < 32; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!is_alnum(c) && c != '_' && c != '-' && c != '.')
			break;
	}
	return i;
}

static int
valid_id(const char *s, size_t n)
{
	if (n < 1 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum((unsigned char)s[i]))
			return 0;
	return 1;
}

/* RFC 5321 Domain: labels of letters, digits and inner hyphens, 1-63
 * bytes each, at most 253 in all. */
static int
valid_domain(const char *s, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (c == '-' ? label == 0 : !is_alnum(c))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && s[n - 1] != '-';
}

/* sts-policy-mx-value = ["*."] Domain.  A trailing dot is taken off first
 * (VIOLATION: the ABNF has none; a domain written absolute is the same name
 * and refusing it would drop the whole policy). */
static char *
mx_pattern(const char *s, size_t n)
{
	size_t skip = 0;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n >= 2 && s[0] == '*' && s[1] == '.')
		skip = 2;
	if (!valid_domain(s + skip, n - skip))
		return NULL;
	return ascii_lower(xstrndup(s, n));
}

static void
add_mx(struct pl_mtasts_policy *p, char *pattern)
{
	p->mx = xrealloc(p->mx, (p->nmx + 1) * sizeof *p->mx);
	p->mx[p->nmx++] = pattern;
}

const char *
pl_mtasts_mode_name(enum pl_mtasts_mode m)
{
	switch (m) {
	case PL_MTASTS_TESTING:
		return "testing";
	case PL_MTASTS_ENFORCE:
		return "enforce";
	default:
		return "none";
	}
}

static int
mode_parse(const char *s, size_t n, enum pl_mtasts_mode *m)
{
	static const enum pl_mtasts_mode modes[] = { PL_MTASTS_NONE, PL_MTASTS_TESTING,
		PL_MTASTS_ENFORCE };

	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		const char *name = pl_mtasts_mode_name(modes[i]);

		if (strlen(name) == n && memcmp(name, s, n) == 0) {
			*m = modes[i];
			return 0;
		}
	}
	return -1;
}

/* max_age = 1*10(DIGIT), capped at PL_MTASTS_MAX_AGE. */
static int
max_age_parse(const char *s, size_t n, long *out)
{
	long long v = 0;

	if (n < 1 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v > PL_MTASTS_MAX_AGE ? PL_MTASTS_MAX_AGE : (long)v;
	return 0;
}

void
pl_mtasts_policy_free(struct pl_mtasts_policy *p)
{
	for (size_t i = 0; i < p->nmx; i++)
		free(p->mx[i]);
	free(p->mx);
	memset(p, 0, sizeof *p);
}

/* ---- The policy (RFC 8461 3.2) ------------------------------------------ */

struct policy_seen {
	int version, mode, max_age;
};

/* One field line (terminator removed): name ":" *WSP value *WSP. */
static int
policy_field(const char *s, size_t n, int lineno, struct policy_seen *seen,
    struct pl_mtasts_policy *p, struct pl_err *e)
{
	size_t name = ext_name_len(s, n), v;
	const char *val;
	size_t vlen;
	char *mx;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return pl_errf(e, EX_DATAERR, "line %d: control character", lineno);
	}
	if (name == 0 || name >= n || s[name] != ':')
		return pl_errf(e, EX_DATAERR, "line %d: not a \"key: value\" field", lineno);
	for (v = name + 1; v < n && is_wsp((unsigned char)s[v]); v++)
		;
	while (n > v && is_wsp((unsigned char)s[n - 1]))
		n--;
	val = s + v;
	vlen = n - v;
#define IS(key) (name == sizeof key - 1 && memcmp(s, key, name) == 0)
	if (!seen->version) {
		if (!IS("version") || vlen != 5 || memcmp(val, "STSv1", 5) != 0)
			return pl_errf(e, EX_DATAERR,
			    "line %d: the policy must start with \"version: STSv1\"", lineno);
		seen->version = 1;
	} else if (IS("mode")) {
		if (!seen->mode && mode_parse(val, vlen, &p->mode) < 0)
			return pl_errf(e, EX_DATAERR, "line %d: unknown mode \"%.*s\"", lineno,
			    (int)(vlen > 40 ? 40 : vlen), val);
		seen->mode = 1;
	} else if (IS("max_age")) {
		if (!seen->max_age && max_age_parse(val, vlen, &p->max_age) < 0)
			return pl_errf(e, EX_DATAERR, "line %d: max_age is not 1 to 10 digits",
			    lineno);
		seen->max_age = 1;
	} else if (IS("mx")) {
		if ((mx = mx_pattern(val, vlen)) == NULL)
			return pl_errf(e, EX_DATAERR, "line %d: mx \"%.*s\" is not a host name "
			    "or *.domain", lineno, (int)(vlen > 80 ? 80 : vlen), val);
		add_mx(p, mx);
	}
	/* Any other field (a repeated version among them) is an extension,
	 * ignored (3.2); its value may be anything without control characters
	 * (VIOLATION: even empty, as it is never used). */
#undef IS
	return 0;
}

int
pl_mtasts_parse_policy(const char *text, size_t len, struct pl_mtasts_policy *p,
    struct pl_err *e)
{
	struct policy_seen seen = { 0 };
	size_t pos = 0, blank = 0;
	int lineno = 0;

	memset(p, 0, sizeof *p);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;

		lineno++;
		if (nl && n > 0 && text[end - 1] == '\r')
			n--;
		if (n == 0) {
			/* VIOLATION: empty lines are allowed at the end only (editors
			 * leave them); in between they are a syntax error. */
			blank++;
		} else if (blank) {
			pl_errf(e, EX_DATAERR, "line %d: empty, with fields after it", lineno - 1);
			goto bad;
		} else if (policy_field(text + pos, n, lineno, &seen, p, e) < 0) {
			goto bad;
		}
		pos = end + 1;
	}
	if (!seen.version) {
		pl_errf(e, EX_DATAERR, "empty policy");
		goto bad;
	}
	if (!seen.mode || !seen.max_age) {
		pl_errf(e, EX_DATAERR, "no %s field", seen.mode ? "max_age" : "mode");
		goto bad;
	}
	if (p->mode != PL_MTASTS_NONE && p->nmx == 0) {
		pl_errf(e, EX_DATAERR, "mode %s without any mx field", pl_mtasts_mode_name(p->mode));
		goto bad;
	}
	return 0;
bad:
	pl_mtasts_policy_free(p);
	return -1;
}

/* ---- The TXT record (RFC 8461 3.1) -------------------------------------- */

/* sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E) */
static size_t
ext_value_len(const char *s)
{
	size_t i = 0;

	while (s[i] >= 0x21 && s[i] <= 0x7e && s[i] != ';' && s[i] != '=')
		i++;
	return i;
}

int
pl_mtasts_parse_txt(const char *txt, char *id, size_t idsize)
{
	const char *s;
	int fields = 0, have_id = 0;

	if (idsize < 33 || strncmp(txt, "v=STSv1", 7) != 0)
		return 0;
	s = txt + 7;
	for (;;) {
		size_t name, val;

		while (is_wsp((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		if (*s++ != ';')
			return 0;
		while (is_wsp((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;		/* a trailing delimiter */
		name = ext_name_len(s, strlen(s));
		if (name == 0 || s[name] != '=')
			return 0;
		val = ext_value_len(s + name + 1);
		if (val == 0)
			return 0;
		if (name == 2 && memcmp(s, "id", 2) == 0 && !have_id) {
			/* A repeated id counts once, the first (3.2). */
			if (!valid_id(s + 3, val))
				return 0;
			memcpy(id, s + 3, val);
			id[val] = '\0';
			have_id = 1;
		}
		fields++;
		s += name + 1 + val;
	}
	return fields > 0 && have_id;
}

int
pl_mtasts_select_txt(char *const *txt, size_t n, char *id, size_t idsize)
{
	const char *only = NULL;

	for (size_t i = 0; i < n; i++) {
		const char *t = txt[i];

		if (strncmp(t, "v=STSv1", 7) != 0 ||
		    !(t[7] == ';' || t[7] == '\0' || is_wsp((unsigned char)t[7])))
			continue;
		if (only)
			return 0;	/* several STS records: none is usable (3.1) */
		only = t;
	}
	return only ? pl_mtasts_parse_txt(only, id, idsize) : 0;
}

/* ---- MX matching (RFC 8461 4.1) ----------------------------------------- */

/* host: hlen bytes, its trailing dot already off. */
static int
mx_match(const char *pattern, const char *host, size_t hlen)
{
	size_t plen = strlen(pattern);
	const char *dot;

	if (plen > 0 && pattern[plen - 1] == '.')
		plen--;
	if (plen >= 2 && pattern[0] == '*' && pattern[1] == '.') {
		/* "*.example.com": exactly one more label in front. */
		dot = memchr(host, '.', hlen);
		if (dot == NULL || dot == host)
			return 0;
		hlen -= (size_t)(dot + 1 - host);
		host = dot + 1;
		pattern += 2;
		plen -= 2;
	}
	return hlen == plen && ascii_ncasecmp(pattern, host, plen) == 0;
}

int
pl_mtasts_mx_ok(const struct pl_mtasts_policy *p, const char *mx)
{
	size_t n = strlen(mx);

	if (n > 0 && mx[n - 1] == '.')
		n--;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < p->nmx; i++)
		if (mx_match(p->mx[i], mx, n))
			return 1;
	return 0;
}

/* ---- The cache ---------------------------------------------------------- */

/* The cache directory and the file name for domain: lower case, no
 * trailing dot, only letters, digits, '-', '_' and dots between labels, so
 * that it is always a plain file name in dir.  -1 for anything else. */
static int
cache_name(const char *domain, char *dir, size_t dirsize, char *name, size_t namesize)
{
	size_t n = strlen(domain);

	if (n > 0 && domain[n - 1] == '.')
		n--;
	if (n == 0 || n >= namesize || !pl_dns_valid_domain(domain))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)domain[i];

		if (!is_alnum(c) && c != '-' && c != '_' && c != '.')
			return -1;
		name[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	name[n] = '\0';
	snprintf(dir, dirsize, "%s/mta-sts", pl_state_dir());
	return 0;
}

int
pl_mtasts_cache_store(const char *domain, const struct pl_mtasts_policy *p, struct pl_err *e)
{
	char dir[4096], name[256];
	struct buf b = { 0 };
	int rc;

	if (cache_name(domain, dir, sizeof dir, name, sizeof name) < 0)
		return pl_errf(e, EX_DATAERR, "'%s' is not a domain name", domain);
	if (!valid_id(p->id, strlen(p->id)))
		return pl_errf(e, EX_SOFTWARE, "MTA-STS policy of %s without a valid id", name);
	buf_printf(&b, "%s\ndomain: %s\nid: %s\nfetched: %lld\nchecked: %lld\nmode: %s\n"
	    "max_age: %ld\nnmx: %zu\n", CACHE_MAGIC, name, p->id, p->fetched, p->checked,
	    pl_mtasts_mode_name(p->mode), p->max_age, p->nmx);
	for (size_t i = 0; i < p->nmx; i++)
		buf_printf(&b, "mx: %s\n", p->mx[i]);
	rc = pl_mkdirs(dir, 0700, e);
	if (rc == 0)
		rc = pl_write_durable(dir, name, b.p, b.len, e);
	buf_free(&b);
	return rc;
}

/* The value of the line "key: value" at *s, which must be next; moves *s
 * past the line.  NULL when the line is not that, or has no newline. */
static char *
cache_line(char **s, const char *key)
{
	size_t k = strlen(key);
	char *nl, *v;

	if (strncmp(*s, key, k) != 0 || (*s)[k] != ':' || (*s)[k + 1] != ' ')
		return NULL;
	if ((nl = strchr(*s, '\n')) == NULL)
		return NULL;
	*nl = '\0';
	v = *s + k + 2;
	*s = nl + 1;
	return v;
}

/* A decimal number of at most 18 digits (no sign, no blanks). */
static int
cache_number(const char *v, long long *out)
{
	size_t n = strlen(v);

	if (n < 1 || n > 18 || strspn(v, "0123456789") != n)
		return -1;
	*out = strtoll(v, NULL, 10);
	return 0;
}

static int
cache_parse(char *s, const char *domain, struct pl_mtasts_policy *p)
{
	const char *v;
	long long num, nmx;

	if (strncmp(s, CACHE_MAGIC "\n", sizeof CACHE_MAGIC) != 0)
		return -1;
	s += sizeof CACHE_MAGIC;
	if ((v = cache_line(&s, "domain")) == NULL || strcmp(v, domain) != 0)
		return -1;
	if ((v = cache_line(&s, "id")) == NULL || !valid_id(v, strlen(v)))
		return -1;
	memcpy(p->id, v, strlen(v) + 1);
	if ((v = cache_line(&s, "fetched")) == NULL || cache_number(v, &p->fetched) < 0)
		return -1;
	if ((v = cache_line(&s, "checked")) == NULL || cache_number(v, &p->checked) < 0)
		return -1;
	if ((v = cache_line(&s, "mode")) == NULL || mode_parse(v, strlen(v), &p->mode) < 0)
		return -1;
	if ((v = cache_line(&s, "max_age")) == NULL || cache_number(v, &num) < 0 ||
	    num > PL_MTASTS_MAX_AGE)
		return -1;
	p->max_age = (long)num;
	if ((v = cache_line(&s, "nmx")) == NULL || cache_number(v, &nmx) < 0 ||
	    (nmx == 0 && p->mode != PL_MTASTS_NONE))
		return -1;
	for (long long i = 0; i < nmx; i++) {
		char *mx;

		if ((v = cache_line(&s, "mx")) == NULL || (mx = mx_pattern(v, strlen(v))) == NULL)
			return -1;
		add_mx(p, mx);
	}
	return *s == '\0' ? 0 : -1;
}

int
pl_mtasts_cache_load(const char *domain, long long now, struct pl_mtasts_policy *p)
{
	char dir[4096], name[256], path[4400];
	char *text = NULL;
	size_t len;

	memset(p, 0, sizeof *p);
	if (cache_name(domain, dir, sizeof dir, name, sizeof name) < 0)
		return 0;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (pl_read_file(path, CACHE_MAX, &text, &len) < 0)
		return 0;
	/* A NUL inside would end the text early: not our file. */
	if (strlen(text) != len || cache_parse(text, name, p) < 0 ||
	    now >= p->fetched + p->max_age) {
		free(text);
		pl_mtasts_policy_free(p);
		return 0;
	}
	free(text);
	return 1;
}
