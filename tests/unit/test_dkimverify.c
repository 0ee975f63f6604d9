/* test_dkimverify.c — the client's own DKIM verification (dkimverify.c,
 * dkim.c's verifier, authres.c's wording, mime.c's call): pass; a body or
 * a header changed after signing fails; no key published, a revoked key
 * and a malformed signature are permerrors; a DNS that is down or silent is
 * a temperror within the timeout; a message is verified once per session
 * and a key looked up once; a message with the provider's
 * Authentication-Results shows those and asks nothing.
 *
 * The keys come from a DNS function of the test's own (pl_dkimv_new_dns),
 * except for the DNS failures, which go through c-ares to loopback ports
 * that refuse or never answer; tests/ui/dkim.sh does the whole path with a
 * real DNS server and a message signed by python3-dkim. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "authres.h"
#include "dkim.h"
#include "dkimverify.h"
#include "mime.h"
#include "tap.h"
#include "util.h"

static char pem[4096], record[1200];
static int lookups;

/* A fresh 2048-bit key: the PEM in pem, its record in record. */
static int
make_key(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	unsigned char *der = NULL;
	char b64[1024];
	BIO *bio;
	int n;

	if (k == NULL || (bio = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
	n = BIO_read(bio, pem, sizeof pem - 1);
	pem[n > 0 ? n : 0] = '\0';
	BIO_free(bio);
	n = i2d_PUBKEY(k, &der);
	EVP_EncodeBlock((unsigned char *)b64, der, n);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	snprintf(record, sizeof record, "v=DKIM1; k=rsa; p=%s", b64);
	return 0;
}

/* The test's DNS: sel publishes the key (after an SPF record, to be
 * skipped), revoked an empty p=, anything else nothing; counts questions. */
static int
fake_dns(void *arg, int type, const char *name, char ***ans, size_t *n)
{
	(void)arg;
	lookups++;
	*ans = NULL;
	*n = 0;
	if (type != 16)
		return 1;
	if (strcmp(name, "sel._domainkey.example.test") == 0) {
		*ans = xcalloc(2, sizeof **ans);
		(*ans)[0] = xstrdup("v=spf1 -all");
		(*ans)[1] = xstrdup(record);
		*n = 2;
		return 0;
	}
	if (strcmp(name, "revoked._domainkey.example.test") == 0) {
		*ans = xcalloc(1, sizeof **ans);
		(*ans)[0] = xstrdup("v=DKIM1; k=rsa; p=");
		*n = 1;
		return 0;
	}
	return 1;
}

static const char body_msg[] = "From: Ann <ann@example.test>\r\nTo: bob@example.net\r\n"
    "Subject: the plan\r\nDate: Mon, 23 Nov 2026 08:16:19 +0100\r\n"
    "Message-ID: <plan@example.test>\r\n\r\nMeet at noon.\r\n\r\nAnn\r\n";

/* msg (CRLF) with a signature for selector and domain added on top. */
static char *
sign(const char *selector, const char *domain, const char *msg)
{
	struct buf sig = { 0 };
	struct pl_err e;

	if (pl_dkim_sign(pem, strlen(pem), selector, domain, msg, strlen(msg), &sig, &e) < 0) {
		printf("# signing failed: %s\n", e.msg);
		return xstrdup("");
	}
	buf_adds(&sig, msg);
	return buf_steal(&sig);
}

/* msg as a Maildir file usually holds it: with bare LF line ends. */
static char *
stored(char *msg)
{
	size_t k = 0;

	for (size_t i = 0; msg[i]; i++)
		if (msg[i] != '\r')
			msg[k++] = msg[i];
	msg[k] = '\0';
	return msg;
}

static char *
signed_msg(const char *selector, const char *domain, const char *msg)
{
	return stored(sign(selector, domain, msg));
}

/* s with the first from replaced by to. */
static char *
replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	struct buf b = { 0 };

	if (p == NULL)
		return xstrdup(s);
	buf_add(&b, s, (size_t)(p - s));
	buf_adds(&b, to);
	buf_adds(&b, p + strlen(from));
	return buf_steal(&b);
}

static int nv;
static struct pl_dkim_verdict v[PL_DKIMV_MAX];

static int
verify(struct pl_dkimv *dv, const char *msg)
{
	struct pl_err e;

	memset(v, 0, sizeof v);
	nv = pl_dkimv_verify(dv, msg, strlen(msg), v, &e);
	if (nv < 0)
		printf("# %s\n", e.msg);
	return nv;
}

/* The summary line for the last verdicts, as the pager shows it. */
static char summary_line[600];

static const char *
summary(const char *sigfield)
{
	char *s = pl_authres_summary(NULL, 0, sigfield, nv > 0 ? v : NULL, nv);

	snprintf(summary_line, sizeof summary_line, "%s", s ? s : "(null)");
	free(s);
	return summary_line;
}

static int
printable(const char *s)
{
	for (; *s; s++)
		if (*s < ' ' || *s > '~')
			return 0;
	return 1;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A UDP socket on a loopback port: bound and silent (*fd kept), or closed
 * again (fd NULL) so that the port refuses. */
static int
udp_port(int *fd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &sl) < 0)
		return -1;
	if (fd)
		*fd = s;
	else
		close(s);
	return ntohs(sa.sin_port);
}

static void
test_verdicts(struct pl_dkimv *dv)
{
	char *good = signed_msg("sel", "example.test", body_msg), *bad;
	int before;

	OK(verify(dv, good) == 1 && v[0].result == PL_DKIM_PASS &&
	    strcmp(v[0].domain, "example.test") == 0, "signed, stored with LF: pass");
	STREQ(summary(good), "DKIM pass (example.test), verified by paloma",
	    "... the line says paloma verified it");
	OK(lookups == 1, "... one key lookup (the SPF record beside the key skipped)");
	OK(verify(dv, good) == 1 && v[0].result == PL_DKIM_PASS && lookups == 1,
	    "verified again (re-opened, redrawn): remembered, no lookup");

	bad = replace(good, "Meet at noon.", "Meet at midnight.");
	OK(verify(dv, bad) == 1 && v[0].result == PL_DKIM_FAIL &&
	    strcmp(v[0].why, "body hash did not verify") == 0, "body changed: fail (%s)", v[0].why);
	STREQ(summary(bad), "DKIM fail (example.test: body hash did not verify), checked by paloma",
	    "... the line");
	OK(lookups == 1, "... the key was remembered from the first message");
	free(bad);

	bad = replace(good, "Subject: the plan", "Subject: the new plan");
	OK(verify(dv, bad) == 1 && v[0].result == PL_DKIM_FAIL &&
	    strcmp(v[0].why, "signature did not verify") == 0, "Subject changed: fail (%s)",
	    v[0].why);
	free(bad);

	bad = replace(good, "\nFrom: Ann", "\nFrom: Mallory <m@evil.test>\nFrom: Ann");
	OK(verify(dv, bad) == 1 && v[0].result == PL_DKIM_PERMERROR,
	    "a second From added: permerror (%s)", v[0].why);
	STREQ(summary(bad), "DKIM permerror (example.test: multiple From: header fields present), "
	    "checked by paloma", "... named after the signature's domain");
	free(bad);

	before = lookups;
	bad = signed_msg("nokey", "example.test", body_msg);
	OK(verify(dv, bad) == 1 && v[0].result == PL_DKIM_PERMERROR &&
	    strcmp(v[0].why, "no key published") == 0, "no key published: permerror");
	STREQ(summary(bad), "DKIM permerror (example.test: no key published), checked by paloma",
	    "... the line");
	OK(lookups == before + 1, "... after one lookup");
	free(bad);

	bad = signed_msg("revoked", "example.test", body_msg);
	OK(verify(dv, bad) == 1 && v[0].result == PL_DKIM_PERMERROR &&
	    strcmp(v[0].why, "key revoked") == 0, "an empty p=: permerror, key revoked");
	free(bad);
	free(good);
}

/* Two signatures, topmost first; five, of which three are shown. */
static void
test_several(struct pl_dkimv *dv)
{
	char *good = sign("sel", "example.test", body_msg);
	char *two = stored(sign("nokey", "other.test", good)), *s;

	OK(verify(dv, two) == 2 && v[0].result == PL_DKIM_PERMERROR &&
	    strcmp(v[0].domain, "other.test") == 0 && v[1].result == PL_DKIM_PASS,
	    "two signatures: a verdict each, topmost first");
	STREQ(summary(two), "DKIM permerror (other.test: no key published), DKIM pass "
	    "(example.test), checked by paloma", "... on one line");

	/* five signatures from five domains: at most PL_DKIMV_LOOKUPS questions */
	s = xstrdup(body_msg);
	for (int i = 0; i < 5; i++) {
		char d[32], *t;

		snprintf(d, sizeof d, "d%d.test", i);
		t = sign("sel", d, s);
		free(s);
		s = t;
	}
	lookups = 0;
	verify(dv, s);
	OK(nv == PL_DKIMV_MAX && lookups <= PL_DKIMV_LOOKUPS,
	    "five signatures: %d verdicts shown, %d lookups", nv, lookups);
	free(s);
	free(two);
	free(good);
}

static void
test_garbage(struct pl_dkimv *dv)
{
	static const char *const sigs[] = {
		"garbage",
		"v=1; a=rsa-sha256; d=; s=sel; h=from; bh=x; b=y",
		"v=1; a=rsa-sha256; d=example.test; s=sel; h=from; bh=!!!; b=@@@",
		"v=1; a=rsa-sha999; d=example.test; s=sel; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; c=relaxed/relaxed; d=ex\x01\x7f\xc3\xa9mple.test; s=s\x1b[2J; "
		    "h=from:from:from; bh=AAAA; b=AAAA; l=999999999999999999999",
		"v=1; d=example.test; s=sel; x=1; t=2; i=@other.test; q=dns/txt; h=; bh=; b=",
		";;;;====;;; =;=",
		"v=1; a=rsa-sha256; d=example.test; s=sel\x7f; h=from; bh=AAAA; b=AAAA",
	};
	int crashed = 0, all_perm = 1, all_ok = 1;

	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
		struct buf m = { 0 };

		buf_printf(&m, "DKIM-Signature: %s\nFrom: a@example.test\nDate: Mon, 23 Nov 2026 "
		    "08:16:19 +0100\nSubject: x\n\nbody\n", sigs[i]);
		if (verify(dv, m.p) < 0)
			crashed = 1;
		for (int k = 0; k < nv; k++)
			all_perm &= v[k].result == PL_DKIM_PERMERROR || v[k].result == PL_DKIM_FAIL;
		summary(sigs[i]);
		all_ok &= printable(summary_line) && strstr(summary_line, "checked by paloma") != NULL;
		if (!printable(summary_line) || nv < 1)
			printf("# %zu: %d verdicts: %s\n", i, nv, summary_line);
		buf_free(&m);
	}
	OK(!crashed && all_perm, "malformed signatures: permerror or fail, none passes");
	OK(all_ok, "... each summary a line of printable ASCII saying who checked");

	/* whatever d= a verdict carries, the line shows a domain or says not */
	memset(v, 0, sizeof v);
	nv = 1;
	v[0].result = PL_DKIM_PASS;
	snprintf(v[0].domain, sizeof v[0].domain, "paypal.com\x01.evil.test");
	STREQ(summary("d=x"), "DKIM pass (invalid domain), verified by paloma",
	    "a d= with a control character is not shown cut to paypal.com");
}

/* The DNS down (a port that refuses) or silent (one that never answers):
 * temperror, within the timeout; a valid signature still checked after. */
static void
test_dns_down(void)
{
	char servers[64], *msg = signed_msg("sel", "example.test", body_msg);
	struct pl_dkimv *dv;
	struct pl_err e;
	int64_t t0;
	int fd = -1, port;

	port = udp_port(NULL);
	snprintf(servers, sizeof servers, "127.0.0.1:%d", port);
	OK(pl_dkimv_new(&dv, servers, &e) == 0, "a verifier on a closed port");
	t0 = mono_ms();
	OK(verify(dv, msg) == 1 && v[0].result == PL_DKIM_TEMPERROR &&
	    strncmp(v[0].why, "key lookup failed", 17) == 0, "DNS down: temperror (%s)", v[0].why);
	OK(mono_ms() - t0 < PL_DKIMV_TIMEOUT_MS, "... in %lld ms", (long long)(mono_ms() - t0));
	STREQ(summary(msg), "DKIM temperror (example.test: key lookup failed: no DNS server "
	    "answered it (SERVFAIL, REFUSED or unreachable)), checked by paloma", "... the line");
	pl_dkimv_free(dv);

	port = udp_port(&fd);
	snprintf(servers, sizeof servers, "127.0.0.1:%d", port);
	OK(pl_dkimv_new(&dv, servers, &e) == 0, "a verifier on a silent port");
	t0 = mono_ms();
	OK(verify(dv, msg) == 1 && v[0].result == PL_DKIM_TEMPERROR, "DNS silent: temperror (%s)",
	    v[0].why);
	OK(mono_ms() - t0 < PL_DKIMV_TIMEOUT_MS + 1000, "... within the timeout (%lld ms)",
	    (long long)(mono_ms() - t0));
	t0 = mono_ms();
	OK(verify(dv, msg) == 1 && v[0].result == PL_DKIM_TEMPERROR && mono_ms() - t0 < 100,
	    "... remembered for a while: re-opening does not wait again");
	pl_dkimv_free(dv);
	close(fd);
	OK(pl_dkimv_new(&dv, "not an address", &e) < 0 && e.code == EX_CONFIG,
	    "bad dns_servers: refused (%s)", e.msg);
	free(msg);
}

/* Through mime.c: the pager's path. */
static void
test_render(struct pl_dkimv *dv)
{
	char path[] = "/tmp/paloma-test-dkimverify.XXXXXX", *msg, *changed;
	struct pl_render_opts o = { .width = 80, .dkim = dv };
	struct pl_rendered r;
	struct pl_err e;
	FILE *f;
	int fd, before;

	if ((fd = mkstemp(path)) < 0)
		return;
	close(fd);
	msg = signed_msg("sel", "example.test", body_msg);
	f = fopen(path, "w");
	fprintf(f, "From ann@example.test Mon Nov 23 08:16:19 2026\n%s", msg);
	fclose(f);
	OK(pl_mime_render(path, &o, &r, &e) == 0 && r.auth &&
	    strcmp(r.auth, "DKIM pass (example.test), verified by paloma") == 0,
	    "rendered (after an mbox From line): %s", r.auth ? r.auth : "(none)");
	pl_rendered_free(&r);

	o.dkim = NULL;
	OK(pl_mime_render(path, &o, &r, &e) == 0 && r.auth &&
	    strcmp(r.auth, "DKIM signed by example.test (not verified)") == 0,
	    "rendered without a verifier (a reply's quote): not verified");
	pl_rendered_free(&r);
	o.dkim = dv;

	before = lookups;
	f = fopen(path, "w");
	changed = replace(msg, "the plan", "a new plan");
	fprintf(f, "Authentication-Results: mx.provider.test; dkim=fail header.d=example.test\n%s",
	    changed);
	fclose(f);
	free(changed);
	OK(pl_mime_render(path, &o, &r, &e) == 0 && r.auth &&
	    strcmp(r.auth, "DKIM fail (example.test), according to mx.provider.test") == 0,
	    "with the provider's Authentication-Results: those, said to be theirs: %s",
	    r.auth ? r.auth : "(none)");
	OK(lookups == before, "... and no lookup");
	pl_rendered_free(&r);
	unlink(path);
	free(msg);
}

int
main(void)
{
	struct pl_dkimv *dv;

	OK(make_key() == 0 && strstr(pem, "PRIVATE KEY"), "made a test key");
	dv = pl_dkimv_new_dns(fake_dns, NULL);

	/* first, before libopendkim is loaded for good */
	setenv("PALOMA_DKIM_LIBRARY", "libopendkim-missing.so.0", 1);
	{
		struct pl_err e;
		const char *m = "DKIM-Signature: v=1; d=example.test\nFrom: a@example.test\n\nx\n";

		OK(pl_dkimv_verify(dv, m, strlen(m), v, &e) < 0 && e.code == EX_UNAVAILABLE &&
		    strstr(e.msg, "to verify DKIM signatures") && lookups == 0,
		    "no libopendkim: not verified, says why: %s", e.msg);
	}
	unsetenv("PALOMA_DKIM_LIBRARY");
	test_verdicts(dv);
	test_several(dv);
	test_garbage(dv);
	test_render(dv);
	pl_dkimv_free(dv);
	test_dns_down();
	return tap_done();
}
