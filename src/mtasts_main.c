/* mtasts_main.c — paloma-mtasts, run by the daemon for a recipient domain:
 *
 *   paloma-mtasts [-c FILE] DOMAIN
 *
 * Refreshes the MTA-STS policy cache (mtasts.h) for DOMAIN, RFC 8461 5.1:
 * asks for the _mta-sts.DOMAIN TXT record with the config's dns_servers;
 * with no usable STS record the domain has no new policy (a cached one that
 * has not expired stays in force, 5.1 and 10.2); with the id of the cached,
 * unexpired policy, fetched less than a day ago, only its `checked` time is
 * updated; otherwise the policy is fetched from
 * https://mta-sts.DOMAIN/.well-known/mta-sts.txt (port [delivery]
 * mta_sts_port, 443 but in tests) and replaces the cached one.
 *
 * HTTPS is libcurl's: a well-kept client that verifies the certificate and
 * the name (system CAs, or the file $SSL_CERT_FILE names), with no
 * redirects (3.3), no proxy, 2xx answers of type text/plain only, at most
 * 64 KiB and 30 s in all ($PALOMA_TEST_MTASTS_TIMEOUT seconds in tests).
 * The address of mta-sts.DOMAIN comes from our own resolver and is handed
 * to libcurl with CURLOPT_RESOLVE, so that libcurl never asks the system's.
 *
 * One line on stderr says what happened.  Exit status: 0 the cache says
 * what is known (a policy, or none); 75 (EX_TEMPFAIL) DNS or HTTPS failed
 * or the policy was not valid (a cached, unexpired policy stays in force);
 * 64 bad arguments; 78 a bad configuration; 73 or 74 the cache cannot be
 * written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "dns.h"
#include "dnssync.h"
#include "mtasts.h"

#define DNS_TIMEOUT_MS   5000	/* each of TXT, A, AAAA: with the fetch, 45 s at worst */
#define FETCH_TIMEOUT_S  30
/* A policy is fetched again after a day even with the same id, so that
 * the policy of a domain mail goes to often never runs out: one that
 * expires while its server happens to be unreachable leaves the domain
 * without protection. */
#define REFETCH_AFTER    86400

static void
usage(FILE *f)
{
	fputs("usage: paloma-mtasts [-c FILE] DOMAIN\n", f);
}

/* What the cached policy still means, for the end of a line:
 * "the cached policy (enforce, id X) stays in force for 3h" or "no policy
 * is cached". */
static void
cached_note(const struct pl_mtasts_policy *old, int have, long long now, char *out,
    size_t outlen)
{
	char left[32];

	if (!have) {
		snprintf(out, outlen, "no policy is cached");
		return;
	}
	fmt_duration((long)(old->fetched + old->max_age - now), left, sizeof left);
	snprintf(out, outlen, "the cached policy (%s, id %s) stays in force for %s",
	    pl_mtasts_mode_name(old->mode), old->id, left);
}

/* ---- HTTPS -------------------------------------------------------------- */

struct body {
	struct buf b;
	int too_big;
};

static size_t
on_data(char *data, size_t size, size_t n, void *arg)
{
	struct body *body = arg;

	if (body->b.len + n > PL_MTASTS_MAX_BODY) {
		body->too_big = 1;
		return 0;	/* makes libcurl stop with CURLE_WRITE_ERROR */
	}
	buf_add(&body->b, data, size * n);
	return size * n;
}

/* "text/plain", in any case, alone or with parameters (3.3). */
static int
text_plain(const char *type)
{
	if (type == NULL || ascii_ncasecmp(type, "text/plain", 10) != 0)
		return 0;
	return type[10] == '\0' || type[10] == ';' || type[10] == ' ' || type[10] == '\t';
}

/* The addresses of host, for CURLOPT_RESOLVE: "a,b,[v6]".  0, 1 when it has
 * none, -1 when the lookups failed (why filled). */
static int
resolve(struct pl_dnssync *r, const char *host, struct buf *list, char *why, size_t whylen)
{
	static const int types[] = { 1, 28 };
	int failed = 0;

	for (size_t t = 0; t < 2; t++) {
		char **ans;
		size_t n;
		int rc = pl_dnssync_query(r, types[t], host, &ans, &n);

		if (rc < 0) {
			snprintf(why, whylen, "cannot resolve %s: %s", host, pl_dnssync_error(r));
			failed = 1;
			continue;
		}
		for (size_t i = 0; i < n; i++)
			buf_printf(list, types[t] == 28 ? "%s[%s]" : "%s%s", list->len ? "," : "",
			    ans[i]);
		pl_dnssync_free_answers(ans, n);
	}
	if (list->len > 0)
		return 0;
	if (!failed)
		snprintf(why, whylen, "%s has no address", host);
	return failed ? -1 : 1;
}

static long
fetch_timeout(void)
{
	const char *t = getenv("PALOMA_TEST_MTASTS_TIMEOUT");
	long v = t ? strtol(t, NULL, 10) : 0;

	return v > 0 && v < FETCH_TIMEOUT_S ? v : FETCH_TIMEOUT_S;
}

/* GETs the policy of domain into *out.  0, or -1 with why filled. */
static int
fetch(struct pl_dnssync *r, const char *domain, int port, struct buf *out, char *why,
    size_t whylen)
{
	char host[300], url[400], errbuf[CURL_ERROR_SIZE] = "";
	struct buf addrs = { 0 }, entry = { 0 };
	struct body body = { { 0 }, 0 };
	struct curl_slist *res = NULL;
	const char *cafile = getenv("SSL_CERT_FILE"), *ctype = NULL;
	long status = 0;
	CURL *c;
	CURLcode cc;
	int rc = -1;

	snprintf(host, sizeof host, "mta-sts.%s", domain);
	if (resolve(r, host, &addrs, why, whylen) != 0) {
		buf_free(&addrs);
		return -1;
	}
	snprintf(url, sizeof url, "https://%s:%d/.well-known/mta-sts.txt", host, port);
	buf_printf(&entry, "%s:%d:%s", host, port, addrs.p);
	res = curl_slist_append(NULL, entry.p);
	if ((c = curl_easy_init()) == NULL || res == NULL) {
		snprintf(why, whylen, "libcurl cannot start");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_RESOLVE, res);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cafile && *cafile)
		curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, fetch_timeout());
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE, (long)PL_MTASTS_MAX_BODY);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "paloma-mtasts");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype);
	if (body.too_big || cc == CURLE_FILESIZE_EXCEEDED)
		snprintf(why, whylen, "%s: the policy is larger than %d bytes", url,
		    PL_MTASTS_MAX_BODY);
	else if (cc != CURLE_OK)
		snprintf(why, whylen, "%s: %s", url, *errbuf ? errbuf : curl_easy_strerror(cc));
	else if (status < 200 || status > 299)
		snprintf(why, whylen, "%s: HTTP status %ld%s", url, status,
		    status >= 300 && status <= 399 ? " (redirects are not followed)" : "");
	else if (!text_plain(ctype))
		snprintf(why, whylen, "%s: content type %s, not text/plain", url,
		    ctype ? ctype : "missing");
	else
		rc = 0;
	if (rc == 0) {
		*out = body.b;
		body.b = (struct buf){ 0 };
	}
out:
	buf_free(&body.b);
	buf_free(&addrs);
	buf_free(&entry);
	curl_slist_free_all(res);
	if (c)
		curl_easy_cleanup(c);
	return rc;
}

/* ---- The refresh (RFC 8461 5.1) ----------------------------------------- */

struct run {
	const struct pl_config *cfg;
	struct pl_dnssync *r;
	char *domain;
	long long now;
	struct pl_mtasts_policy old;
	int have;
};

/* Fetches and stores the policy that comes with id. */
static int
refresh(struct run *x, const char *id)
{
	struct pl_mtasts_policy p;
	struct buf text = { 0 };
	struct pl_err e;
	char why[700], note[200];

	cached_note(&x->old, x->have, x->now, note, sizeof note);
	if (fetch(x->r, x->domain, x->cfg->mta_sts_port, &text, why, sizeof why) < 0) {
		fprintf(stderr, "%s: MTA-STS policy (id %s) not fetched: %s; %s\n", x->domain, id,
		    why, note);
		return EX_TEMPFAIL;
	}
	if (pl_mtasts_parse_policy(text.p ? text.p : "", text.len, &p, &e) < 0) {
		fprintf(stderr, "%s: MTA-STS policy (id %s) not valid: %s; %s\n", x->domain, id,
		    e.msg, note);
		buf_free(&text);
		return EX_TEMPFAIL;
	}
	buf_free(&text);
	snprintf(p.id, sizeof p.id, "%s", id);
	p.fetched = p.checked = x->now;
	if (pl_mtasts_cache_store(x->domain, &p, &e) < 0) {
		fprintf(stderr, "paloma: %s\n", e.msg);
		pl_mtasts_policy_free(&p);
		return e.code ? e.code : EX_CANTCREAT;
	}
	fprintf(stderr, "%s: MTA-STS policy %s, max_age %ld, %zu mx pattern%s (id %s)\n",
	    x->domain, pl_mtasts_mode_name(p.mode), p.max_age, p.nmx, p.nmx == 1 ? "" : "s",
	    p.id);
	pl_mtasts_policy_free(&p);
	return 0;
}

static int
run(struct run *x)
{
	char name[300], id[33], note[200];
	char **txt;
	size_t n;
	struct pl_err e;
	int rc;

	x->have = pl_mtasts_cache_load(x->domain, x->now, &x->old);
	cached_note(&x->old, x->have, x->now, note, sizeof note);
	snprintf(name, sizeof name, "_mta-sts.%s", x->domain);
	rc = pl_dnssync_query(x->r, 16, name, &txt, &n);
	if (rc < 0) {
		fprintf(stderr, "%s: MTA-STS record lookup failed: %s; %s\n", x->domain,
		    pl_dnssync_error(x->r), note);
		return EX_TEMPFAIL;
	}
	rc = pl_mtasts_select_txt(txt, n, id, sizeof id);
	pl_dnssync_free_answers(txt, n);
	if (!rc) {
		fprintf(stderr, "%s: no MTA-STS record; %s\n", x->domain,
		    x->have ? note : "no policy");
		return 0;
	}
	if (!x->have || strcmp(x->old.id, id) != 0 || x->now - x->old.fetched >= REFETCH_AFTER)
		return refresh(x, id);
	x->old.checked = x->now;
	if (pl_mtasts_cache_store(x->domain, &x->old, &e) < 0) {
		fprintf(stderr, "paloma: %s\n", e.msg);
		return e.code ? e.code : EX_CANTCREAT;
	}
	fprintf(stderr, "%s: MTA-STS policy unchanged (id %s); %s\n", x->domain, id, note);
	return 0;
}

/* The domain as the cache names it: lower case, no trailing dot. */
static char *
domain_arg(const char *arg)
{
	size_t n = strlen(arg);

	if (n > 0 && arg[n - 1] == '.')
		n--;
	if (n == 0 || n > 240 || !pl_dns_valid_domain(arg) || arg[0] == '[')
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)arg[i] >= 0x80)
			return NULL;	/* an IDN must come as its A-label */
	return ascii_lower(xstrndup(arg, n));
}

int
main(int argc, char **argv)
{
	const char *config_path = NULL, *arg = NULL;
	struct pl_config cfg;
	struct run x;
	struct pl_err e;
	int status;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			config_path = argv[++i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' || arg) {
			fprintf(stderr, "paloma-mtasts: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return EX_USAGE;
		} else {
			arg = argv[i];
		}
	}
	if (arg == NULL) {
		usage(stderr);
		return EX_USAGE;
	}
	memset(&x, 0, sizeof x);
	if ((x.domain = domain_arg(arg)) == NULL) {
		fprintf(stderr, "paloma-mtasts: '%s' is not a domain name\n", arg);
		return EX_USAGE;
	}
	memset(&cfg, 0, sizeof cfg);
	if (pl_config_load(&cfg, config_path, config_path != NULL, &e) < 0) {
		fprintf(stderr, "paloma: %s\n", e.msg);
		free(x.domain);
		return e.code ? e.code : EX_CONFIG;
	}
	if (pl_dnssync_new(&x.r, cfg.dns_servers, DNS_TIMEOUT_MS, &e) < 0) {
		fprintf(stderr, "paloma: %s\n", e.msg);
		pl_config_free(&cfg);
		free(x.domain);
		return e.code ? e.code : EX_CONFIG;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	x.cfg = &cfg;
	x.now = pl_now();
	status = run(&x);
	curl_global_cleanup();
	pl_mtasts_policy_free(&x.old);
	pl_dnssync_free(x.r);
	pl_config_free(&cfg);
	free(x.domain);
	return status;
}
