/* dkim_main.c — libexec/paloma/paloma-dkim, run by `paloma dkim`:
 *
 *   paloma-dkim [-c FILE] keygen DOMAIN [--selector S] [--out PATH]
 *   paloma-dkim [-c FILE] check [ACCOUNT]
 *
 * keygen makes a 2048-bit RSA key (mode 0600, in a 0700 directory; never
 * overwrites a file) and prints the TXT record to publish and the account
 * lines to add.  check asks the DNS (the config's dns_servers) for
 * SELECTOR._domainkey.DOMAIN and says, one PASS or FAIL line per check with
 * the fix, whether the record publishes the account key's public half.
 * Exit: 0 all passed, 1 a check failed, sysexits for usage and set-up. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "config.h"
#include "dkim.h"
#include "dns.h"
#include "dnssync.h"
#include "fsutil.h"
#include "paths.h"
#include "util.h"

#define KEY_BITS 2048
#define DNS_TIMEOUT_MS 5000

static int
usage(void)
{
	fputs("usage: paloma dkim keygen DOMAIN [--selector S] [--out PATH]\n"
	    "       paloma dkim check [ACCOUNT]\n", stderr);
	return EX_USAGE;
}

static const char *
ssl_error(void)
{
	static char why[256];
	unsigned long err = ERR_get_error();

	if (err == 0)
		return "unknown OpenSSL error";
	ERR_error_string_n(err, why, sizeof why);
	return why;
}

/* A selector is one or more DNS labels. */
static int
valid_selector(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

/* The base64 of the DER SubjectPublicKeyInfo: the p= of the record. */
static char *
public_b64(EVP_PKEY *k)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);
	char *b64;

	if (n <= 0)
		return NULL;
	b64 = xmalloc((size_t)(4 * ((n + 2) / 3) + 1));
	EVP_EncodeBlock((unsigned char *)b64, der, n);
	OPENSSL_free(der);
	return b64;
}

/* name. IN TXT "…" "…": strings of at most 255 octets (RFC 1035 3.3.14). */
static void
print_record(FILE *f, const char *selector, const char *domain, const char *p)
{
	char txt[4096];
	size_t n;

	snprintf(txt, sizeof txt, "v=DKIM1; k=rsa; p=%s", p);
	fprintf(f, "%s._domainkey.%s. IN TXT", selector, domain);
	n = strlen(txt);
	for (size_t i = 0; i < n; i += 255)
		fprintf(f, " \"%.*s\"", (int)(n - i < 255 ? n - i : 255), txt + i);
	fputc('\n', f);
}

static EVP_PKEY *
load_key(const char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return k;
}

/* ---- keygen ------------------------------------------------------------- */

static int
keygen(const struct pl_config *c, int argc, char **argv)
{
	const char *domain = NULL, *selector = "paloma", *out = NULL;
	char path[PATH_MAX], dir[PATH_MAX], *pub = NULL, *slash;
	EVP_PKEY *k = NULL;
	BIO *b = NULL;
	char *pem;
	long pemlen;
	struct pl_err e;
	int rc = EX_SOFTWARE;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--selector") && i + 1 < argc)
			selector = argv[++i];
		else if (!strcmp(argv[i], "--out") && i + 1 < argc)
			out = argv[++i];
		else if (argv[i][0] == '-' || domain)
			return usage();
		else
			domain = argv[i];
	}
	if (domain == NULL)
		return usage();
	if (!pl_dns_valid_domain(domain) || pl_has_8bit(domain, strlen(domain)) ||
	    domain[strlen(domain) - 1] == '.') {
		fprintf(stderr, "paloma dkim: '%s' is not a domain name\n", domain);
		return EX_USAGE;
	}
	if (!valid_selector(selector)) {
		fprintf(stderr, "paloma dkim: '%s' is not a selector: use letters, digits, "
		    "'-' and '_'\n", selector);
		return EX_USAGE;
	}
	if (out) {
		char *x = pl_expand_home(out);
		snprintf(path, sizeof path, "%s", x);
		free(x);
	} else {
		const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

		if (xdg && *xdg == '/')
			snprintf(path, sizeof path, "%s/paloma/dkim/%s.%s.pem", xdg, domain,
			    selector);
		else
			snprintf(path, sizeof path, "%s/.config/paloma/dkim/%s.%s.pem",
			    home ? home : "", domain, selector);
	}
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "paloma dkim: %s exists already: it is never overwritten "
		    "(choose another --selector or --out)\n", path);
		return EX_CANTCREAT;
	}
	snprintf(dir, sizeof dir, "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (pl_mkdirs(dir, 0700, &e) < 0) {
			fprintf(stderr, "paloma dkim: %s\n", e.msg);
			return e.code;
		}
	}

	if ((k = EVP_RSA_gen(KEY_BITS)) == NULL || (b = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) ||
	    (pub = public_b64(k)) == NULL) {
		fprintf(stderr, "paloma dkim: cannot make an RSA key: %s\n", ssl_error());
		goto out;
	}
	pemlen = BIO_get_mem_data(b, &pem);
	if (pl_write_new(path, pem, (size_t)pemlen, &e) < 0) {
		fprintf(stderr, "paloma dkim: %s\n", e.msg);
		rc = e.code;
		goto out;
	}
	if (slash)
		pl_fsync_dir(dir, NULL);
	printf("Wrote a %d-bit RSA private key to %s (mode 0600).\n\n"
	    "1. Publish this DNS record in the zone of %s:\n\n", KEY_BITS, path, domain);
	print_record(stdout, selector, domain, pub);
	printf("\n2. Add these lines to the account that sends as @%s in %s:\n\n"
	    "dkim_key = %s\ndkim_selector = %s\n", domain, c->path, path, selector);
	printf("dkim_domain = %s\n", domain);
	printf("\n3. Once the record is published, `paloma dkim check` confirms it.\n");
	rc = 0;
out:
	free(pub);
	BIO_free(b);
	EVP_PKEY_free(k);
	return rc;
}

/* 1 when the record's p= is the public half of k; else 0 with why. */
static int
record_matches(const char *rec, EVP_PKEY *k, char *why, size_t len)
{
	char *p = pl_taglist_get(rec, "p", 0), *kt = pl_taglist_get(rec, "k", 0);
	char *v = pl_taglist_get(rec, "v", 0);
	unsigned char *der = NULL;
	const unsigned char *q;
	EVP_PKEY *pub = NULL;
	int n, ok = 0;

	if (v && strcmp(v, "DKIM1")) {
		snprintf(why, len, "it says v=%s, not v=DKIM1", v);
	} else if (kt && strcmp(kt, "rsa")) {
		snprintf(why, len, "it is for k=%s keys, and the key is RSA", kt);
	} else if (p == NULL) {
		snprintf(why, len, "it has no p= tag");
	} else if (*p == '\0') {
		snprintf(why, len, "its p= is empty: the key is revoked");
	} else {
		size_t pl = strlen(p);
		der = xmalloc(pl);
		n = EVP_DecodeBlock(der, (const unsigned char *)p, (int)pl);
		/* EVP_DecodeBlock counts the padding's zero bytes */
		if (n > 0 && p[pl - 1] == '=')
			n -= p[pl - 2] == '=' ? 2 : 1;
		q = der;
		if (n <= 0 || (pub = d2i_PUBKEY(NULL, &q, n)) == NULL)
			snprintf(why, len, "its p= is not a public key in base64");
		else if (EVP_PKEY_eq(pub, k) != 1)
			snprintf(why, len, "its p= is another key than %s", "the account's");
		else
			ok = 1;
	}
	EVP_PKEY_free(pub);
	free(der);
	free(p);
	free(kt);
	free(v);
	return ok;
}

/* ---- check -------------------------------------------------------------- */

static int
check_account(const struct pl_config *c, const struct pl_account *a)
{
	const char *domain = pl_dkim_domain(a);
	char name[600], why[300];
	char *pem = NULL, *pub = NULL;
	size_t pemlen;
	EVP_PKEY *k = NULL;
	struct pl_dnssync *dns = NULL;
	char **rec = NULL;
	size_t nrec = 0;
	struct pl_err e;
	struct buf sig = { 0 };
	int fails = 0, found = 0, r;
	static const char probe[] = "From: check@invalid\r\nSubject: check\r\n\r\ncheck\r\n";

	snprintf(name, sizeof name, "%s._domainkey.%s", a->dkim_selector, domain);
	printf("account %s: d=%s s=%s key %s\n", a->name, domain, a->dkim_selector, a->dkim_key);
	if (pl_dkim_read_key(a->dkim_key, &pem, &pemlen, &e) < 0) {
		printf("FAIL key: %s\n", e.msg);
		return 1;
	}
	if ((k = load_key(pem, pemlen)) == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		printf("FAIL key: %s is not an RSA private key in PEM (%s): make one with "
		    "`paloma dkim keygen %s`\n", a->dkim_key, k ? "another type" : ssl_error(),
		    domain);
		free(pem);
		EVP_PKEY_free(k);
		return 1;
	}
	printf("PASS key: %s is private to you, RSA %d bits\n", a->dkim_key, EVP_PKEY_get_bits(k));
	if (EVP_PKEY_get_bits(k) < 1024) {
		printf("FAIL key: verifiers ignore RSA keys under 1024 bits: make a new one with "
		    "`paloma dkim keygen %s --selector NEW`\n", domain);
		fails++;
	}
	/* The path `paloma send` takes: libopendkim loaded, the key accepted. */
	if (pl_dkim_sign(pem, pemlen, a->dkim_selector, domain, probe, strlen(probe), &sig,
	    &e) < 0) {
		printf("FAIL sign: %s\n", e.msg);
		fails++;
	} else
		printf("PASS sign: libopendkim signs with this key\n");
	buf_free(&sig);
	pub = public_b64(k);

	if (pl_dnssync_new(&dns, c->dns_servers, DNS_TIMEOUT_MS, &e) < 0) {
		printf("FAIL record: %s\n", e.msg);
		fails++;
		goto out;
	}
	r = pl_dnssync_query(dns, 16, name, &rec, &nrec);
	if (r == 1) {
		printf("FAIL record: %s has no TXT record: publish\n  ", name);
		print_record(stdout, a->dkim_selector, domain, pub);
		fails++;
	} else if (r < 0) {
		printf("FAIL record: cannot get the TXT record of %s: %s (try again later; check "
		    "dns_servers)\n", name, pl_dnssync_error(dns));
		fails++;
	} else {
		for (size_t i = 0; i < nrec && !found; i++)
			if (record_matches(rec[i], k, why, sizeof why))
				found = 1;
		if (found) {
			printf("PASS record: %s publishes this key's public half\n", name);
		} else {
			printf("FAIL record: the TXT record of %s does not match the key: %s; "
			    "publish instead\n  ", name, nrec ? why : "it is empty");
			print_record(stdout, a->dkim_selector, domain, pub);
			fails++;
		}
		if (nrec > 1)
			printf("FAIL record: %s has %zu TXT records: verifiers take one at random; "
			    "keep only the one above\n", name, nrec);
		fails += nrec > 1;
	}
	pl_dnssync_free_answers(rec, nrec);
	pl_dnssync_free(dns);
out:
	explicit_bzero(pem, pemlen);
	free(pem);
	free(pub);
	EVP_PKEY_free(k);
	return fails > 0;
}

static int
check(const struct pl_config *c, int argc, char **argv)
{
	int any = 0, failed = 0;

	if (argc > 1 || (argc == 1 && argv[0][0] == '-'))
		return usage();
	if (argc == 1) {
		const struct pl_account *a = pl_config_find_account(c, argv[0]);
		if (a == NULL) {
			fprintf(stderr, "paloma dkim: no account '%s' in %s\n", argv[0], c->path);
			return EX_USAGE;
		}
		if (a->dkim_key == NULL) {
			fprintf(stderr, "paloma dkim: account '%s' has no dkim_key: make one with "
			    "`paloma dkim keygen %s`\n", a->name, pl_dkim_domain(a));
			return EX_CONFIG;
		}
		return check_account(c, a);
	}
	for (size_t i = 0; i < c->naccounts; i++) {
		if (c->accounts[i].dkim_key == NULL)
			continue;
		failed |= check_account(c, &c->accounts[i]);
		any = 1;
	}
	if (!any) {
		fprintf(stderr, "paloma dkim: no account in %s has a dkim_key: make one with "
		    "`paloma dkim keygen DOMAIN`\n", c->path);
		return EX_CONFIG;
	}
	return failed;
}

int
main(int argc, char **argv)
{
	const char *config_path = NULL;
	struct pl_config c;
	struct pl_err e;
	int i = 1, rc;

	if (i + 1 < argc && !strcmp(argv[i], "-c")) {
		config_path = argv[i + 1];
		i += 2;
	}
	if (i >= argc)
		return usage();
	if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") || !strcmp(argv[i], "help")) {
		usage();
		return 0;
	}
	if (pl_config_load(&c, config_path, config_path != NULL, &e) < 0) {
		fprintf(stderr, "paloma: %s\n", e.msg);
		return e.code;
	}
	umask(077);
	if (!strcmp(argv[i], "keygen"))
		rc = keygen(&c, argc - i - 1, argv + i + 1);
	else if (!strcmp(argv[i], "check"))
		rc = check(&c, argc - i - 1, argv + i + 1);
	else
		rc = usage();
	fflush(stdout);
	pl_config_free(&c);
	return rc;
}
