/* test_tlspolicy.c — the pure parts of the outbound TLS policy: reading a
 * DNS answer's status and AD bit, TLSA records and which of them SMTP can
 * use (RFC 7672 3.1.3), a TLS session refusing records none of which
 * OpenSSL can use, and the recipient's tls_policy through the envelope, the
 * delivery log line and the outbox line. */
#include <ares.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "log.h"
#include "outbox.h"
#include "queue.h"
#include "tap.h"
#include "tls.h"
#include "util.h"

/* A DNS header: id 1, QR+RD, flags2 (RA/AD/RCODE), 1 question, an answers. */
static size_t
header(unsigned char *p, unsigned flags2, unsigned an)
{
	const unsigned char h[12] = { 0, 1, 0x81, (unsigned char)flags2, 0, 1, 0,
		(unsigned char)an, 0, 0, 0, 0 };

	memcpy(p, h, sizeof h);
	return sizeof h;
}

/* _25._tcp.mx.t. TLSA IN */
static size_t
question(unsigned char *p)
{
	static const unsigned char q[] = { 3, '_', '2', '5', 4, '_', 't', 'c', 'p', 2, 'm', 'x',
		1, 't', 0, 0, 52, 0, 1 };

	memcpy(p, q, sizeof q);
	return sizeof q;
}

/* An answer record named by a pointer to the question's name. */
static size_t
record(unsigned char *p, unsigned type, const unsigned char *rdata, unsigned rdlen)
{
	size_t n = 0;

	p[n++] = 0xc0;
	p[n++] = 12;
	p[n++] = 0;
	p[n++] = (unsigned char)type;
	p[n++] = 0;
	p[n++] = 1;
	memset(p + n, 0, 4);	/* TTL */
	n += 4;
	p[n++] = (unsigned char)(rdlen >> 8);
	p[n++] = (unsigned char)rdlen;
	memcpy(p + n, rdata, rdlen);
	return n + rdlen;
}

static void
test_answer_status(void)
{
	unsigned char b[64];
	int ad = -1;

	header(b, 0xa0, 1);	/* RA, AD, NOERROR */
	OK(pl_dns_answer_status(b, 12, &ad) == ARES_SUCCESS && ad == 1,
	    "NOERROR with an answer and AD: success, authenticated");
	header(b, 0x80, 1);
	OK(pl_dns_answer_status(b, 12, &ad) == ARES_SUCCESS && ad == 0,
	    "no AD bit: not authenticated");
	header(b, 0xa0, 0);
	OK(pl_dns_answer_status(b, 12, &ad) == ARES_ENODATA && ad == 1,
	    "NOERROR without answers: no data (still authenticated)");
	header(b, 0xa3, 0);
	OK(pl_dns_answer_status(b, 12, &ad) == ARES_ENOTFOUND, "NXDOMAIN");
	header(b, 0x82, 0);
	OK(pl_dns_answer_status(b, 12, &ad) == ARES_ESERVFAIL, "SERVFAIL");
	header(b, 0x85, 0);
	OK(pl_dns_answer_status(b, 12, &ad) == ARES_EREFUSED, "REFUSED");
	OK(pl_dns_answer_status(b, 11, &ad) == ARES_EBADRESP && ad == 0,
	    "shorter than a header: malformed, not authenticated");
}

static void
test_parse_tlsa(void)
{
	unsigned char b[512], rd[3 + 32], cname[] = { 2, 'm', 'y', 1, 't', 0 };
	struct pl_tlsa t[4];
	size_t n;
	int k;

	rd[0] = 3;
	rd[1] = 1;
	rd[2] = 1;
	for (int i = 0; i < 32; i++)
		rd[3 + i] = (unsigned char)i;
	n = header(b, 0xa0, 3);
	n += question(b + n);
	n += record(b + n, 5, cname, sizeof cname);	/* a CNAME on the way */
	n += record(b + n, 52, rd, sizeof rd);
	rd[0] = 2;
	rd[2] = 2;
	n += record(b + n, 52, rd, 3 + 5);
	k = pl_dns_parse_tlsa(b, (int)n, t, 4);
	OK(k == 2, "two TLSA records, the CNAME skipped (%d)", k);
	if (k == 2) {
		OK(t[0].usage == 3 && t[0].selector == 1 && t[0].mtype == 1 && t[0].len == 32 &&
		    t[0].data[31] == 31, "3 1 1 with its 32 octets");
		OK(pl_dns_tlsa_usable(&t[0]), "DANE-EE SPKI SHA-256 is usable");
		OK(t[1].usage == 2 && t[1].mtype == 2 && t[1].len == 5, "2 1 2 with 5 octets");
		OK(!pl_dns_tlsa_usable(&t[1]), "SHA-512 of 5 octets is not usable");
		for (int i = 0; i < k; i++)
			free(t[i].data);
	}
	OK(pl_dns_parse_tlsa(b, (int)n, t, 1) == 1, "at most max records are kept");
	free(t[0].data);
	OK(pl_dns_parse_tlsa(b, (int)n - 1, t, 4) == -1, "a record cut short: malformed");
	b[12] = 0xc0;	/* the question's name a pointer past the end */
	OK(pl_dns_parse_tlsa(b, 13, t, 4) == -1, "a name running off the end: malformed");
	OK(pl_dns_parse_tlsa(b, 5, t, 4) == -1, "shorter than a header: malformed");

	struct pl_tlsa u = { .usage = 1, .selector = 1, .mtype = 1, .len = 32, .data = rd };
	OK(!pl_dns_tlsa_usable(&u), "PKIX-EE(1) is unusable for SMTP (RFC 7672 3.1.3)");
	u.usage = 0;
	OK(!pl_dns_tlsa_usable(&u), "PKIX-TA(0) is unusable for SMTP");
	u.usage = 2;
	OK(pl_dns_tlsa_usable(&u), "DANE-TA(2) is usable");
	u.selector = 2;
	OK(!pl_dns_tlsa_usable(&u), "an unknown selector is not");
	u.selector = 0;
	u.mtype = 0;
	OK(pl_dns_tlsa_usable(&u), "a full certificate (matching type 0) is");
	u.mtype = 3;
	OK(!pl_dns_tlsa_usable(&u), "an unknown matching type is not");
}

static void
test_tls_authenticate(void)
{
	struct pl_err e;
	void *ctx = pl_tls_ctx_new(PL_TLS_MX, NULL, &e);
	struct pl_tls *t;
	unsigned char d[5] = { 1, 2, 3, 4, 5 };
	struct pl_tlsa bad = { .usage = 3, .selector = 1, .mtype = 1, .len = 5, .data = d };

	OK(ctx != NULL, "an MX context with DANE enabled");
	if (ctx == NULL)
		return;
	t = pl_tls_new(ctx, -1, "mx.example.test", &e);
	OK(t && pl_tls_authenticate(t, "mx.example.test", &bad, 1, &e) < 0 &&
	    strstr(e.msg, "none of the TLSA records of mx.example.test can be used"),
	    "a digest of the wrong length: refused before any handshake");
	pl_tls_free(t);
	t = pl_tls_new(ctx, -1, "mx.example.test", &e);
	OK(t && pl_tls_authenticate(t, "mx.example.test", NULL, 0, &e) == 0,
	    "no records: PKIX for the name (MTA-STS)");
	pl_tls_free(t);
	pl_tls_ctx_free(ctx);
}

static void
test_policy_kept(void)
{
	struct pl_envelope env = { 0 }, back = { 0 };
	struct pl_delivery_rec rec = { 0 };
	struct buf b = { 0 };
	struct pl_err e;
	int64_t now = 1795424304;

	snprintf(env.id, sizeof env.id, "1k0xq5y0n9efk6ca");
	env.created = now;
	env.sender = xstrdup("me@example.org");
	pl_envelope_add_rcpt(&env, "a@example.net", now);
	env.rcpt[0].state = PL_RCPT_DELIVERED;
	env.rcpt[0].last_attempt = now;
	env.rcpt[0].remote = xstrdup("mx.example.net [192.0.2.1]");
	env.rcpt[0].reply = xstrdup("250 ok");
	env.rcpt[0].tls_policy = xstrdup("dane");
	pl_envelope_format(&env, &b);
	OK(strstr(b.p, "\nTls-Policy: dane\n") != NULL, "the envelope keeps Tls-Policy");
	OK(pl_envelope_parse(b.p, &back, &e) == 0 && back.nrcpt == 1 &&
	    back.rcpt[0].tls_policy && strcmp(back.rcpt[0].tls_policy, "dane") == 0,
	    "and reads it back");
	b.len = 0;
	pl_outbox_rcpt_line(&back.rcpt[0], "TLSv1.3 TLS_AES_256_GCM_SHA384", now, &b);
	OK(b.p && strstr(b.p, " to mx.example.net [192.0.2.1], TLSv1.3 TLS_AES_256_GCM_SHA384, "
	    "DANE: 250 ok"), "the outbox line names DANE: %s", b.p ? b.p : "");
	b.len = 0;
	free(back.rcpt[0].tls_policy);
	back.rcpt[0].tls_policy = xstrdup("mta-sts");
	back.rcpt[0].state = PL_RCPT_DEFERRED;
	back.rcpt[0].attempts = 1;
	back.rcpt[0].next_attempt = now + 240;
	pl_outbox_rcpt_line(&back.rcpt[0], NULL, now, &b);
	OK(b.p && strncmp(b.p, "deferred, next try in 4m (1 attempt, MTA-STS): 250 ok", 50) == 0,
	    "a deferral names the policy that held it back: %s", b.p ? b.p : "");
	b.len = 0;
	free(back.rcpt[0].tls_policy);
	back.rcpt[0].tls_policy = xstrdup("none");
	back.rcpt[0].state = PL_RCPT_DELIVERED;
	pl_outbox_rcpt_line(&back.rcpt[0], "none", now, &b);
	OK(b.p && strstr(b.p, ", no TLS: 250 ok"), "in clear: only \"no TLS\": %s",
	    b.p ? b.p : "");
	b.len = 0;

	rec.when = now;
	rec.id = env.id;
	rec.rcpt = "a@example.net";
	rec.result = "delivered";
	rec.tls = "TLSv1.3 TLS_AES_256_GCM_SHA384";
	rec.reply = "250 ok";
	rec.tls_policy = "mta-sts";
	pl_delivery_format(&rec, &b);
	OK(b.p && strstr(b.p, " reply=\"250 ok\" tls_policy=mta-sts") &&
	    b.p[b.len - 1] == 's', "the delivery log line ends with tls_policy=");
	buf_free(&b);
	pl_envelope_free(&env);
	pl_envelope_free(&back);
}

int
main(void)
{
	test_answer_status();
	test_parse_tlsa();
	test_tls_authenticate();
	test_policy_kept();
	return tap_done();
}
