/* test_relay.c — the relay parts of the SMTP client: base64 and the AUTH
 * initial responses, the choice of mechanism, the login dialogues (implicit
 * TLS, PLAIN, LOGIN, XOAUTH2, a refused login, no STARTTLS), and the
 * fallback rule for replies about the sending host's reputation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"
#include "tap.h"
#include "util.h"

static const char *
b64(const char *s, size_t n)
{
	static struct buf b;

	b.len = 0;
	pl_smtp_base64(&b, (const unsigned char *)s, n);
	return b.p;
}

/* The client's pending output as a string, then marked written. */
static const char *
said(struct pl_smtp *s)
{
	static char out[1024];
	size_t n;
	const char *p = pl_smtp_output(s, &n);

	snprintf(out, sizeof out, "%.*s", (int)n, p);
	pl_smtp_written(s, n);
	return out;
}

static void
reply(struct pl_smtp *s, const char *r)
{
	pl_smtp_on_data(s, r, strlen(r));
}

static struct pl_smtp *
machine(enum pl_smtp_tls tls, int xoauth2)
{
	struct pl_smtp_params p = { 0 };

	p.helo = "me.test";
	p.tls = tls;
	p.auth_user = "me@example.org";
	p.auth_xoauth2 = xoauth2;
	p.auth_host = "relay.test";
	return pl_smtp_new(&p);
}

/* Connected, TLS up, EHLO answered with caps: ready for the login. */
static struct pl_smtp *
to_login(const char *caps, int xoauth2)
{
	struct pl_smtp *s = machine(PL_SMTP_TLS_IMPLICIT, xoauth2);

	pl_smtp_on_connected(s);
	OK(pl_smtp_want(s) == PL_SMTP_WANT_START_TLS, "smtps: the handshake comes first");
	pl_smtp_on_tls(s, 1);
	OK(pl_smtp_want(s) == PL_SMTP_WANT_READ, "smtps: then the greeting is awaited");
	reply(s, "220 relay.test ESMTP\r\n");
	STREQ(said(s), "EHLO me.test\r\n", "smtps: EHLO after the greeting, no STARTTLS");
	reply(s, caps);
	return s;
}

int
main(void)
{
	struct buf b = { 0 };
	struct pl_smtp *s;
	const struct pl_smtp_outcome *f;

	/* base64, RFC 4648 section 10 */
	STREQ(b64("", 0), "", "base64 of nothing");
	STREQ(b64("f", 1), "Zg==", "base64 f");
	STREQ(b64("fo", 2), "Zm8=", "base64 fo");
	STREQ(b64("foo", 3), "Zm9v", "base64 foo");
	STREQ(b64("foob", 4), "Zm9vYg==", "base64 foob");
	STREQ(b64("foobar", 6), "Zm9vYmFy", "base64 foobar");
	STREQ(b64("\xff\xfe\x00", 3), "//4A", "base64 of high octets and NUL");

	pl_smtp_auth_plain(&b, "me@example.org", "s3cret");
	STREQ(b.p, "AG1lQGV4YW1wbGUub3JnAHMzY3JldA==", "AUTH PLAIN: \\0user\\0password");
	b.len = 0;
	pl_smtp_auth_xoauth2(&b, "someuser@example.com",
	    "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");
	STREQ(b.p, "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52"
	    "YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==", "XOAUTH2: Google's documented example");
	buf_free(&b);

	/* mechanisms */
	STREQ(pl_smtp_auth_mech("LOGIN PLAIN", 0), "PLAIN", "PLAIN preferred");
	STREQ(pl_smtp_auth_mech("login cram-md5", 0), "LOGIN", "LOGIN, case-insensitive");
	STREQ(pl_smtp_auth_mech("CRAM-MD5 PLAINX", 0), NULL, "no known mechanism (PLAINX is not PLAIN)");
	STREQ(pl_smtp_auth_mech("PLAIN LOGIN", 1), NULL, "XOAUTH2 wanted, not offered");
	STREQ(pl_smtp_auth_mech("PLAIN XOAUTH2", 1), "XOAUTH2", "XOAUTH2");
	STREQ(pl_smtp_auth_mech("", 0), NULL, "nothing offered");

	/* the fallback rule */
	OK(pl_smtp_blocklisted("5.7.1", "554 5.7.1 Client host [192.0.2.1] blocked using zen.spamhaus.org"),
	    "fallback: 554 5.7.1 Spamhaus");
	OK(pl_smtp_blocklisted("5.7.1", "550 5.7.1 Service unavailable; client host listed on a BlackList"),
	    "fallback: 550 5.7.1 blacklist");
	OK(pl_smtp_blocklisted("5.0.0", "554 Your IP has a poor reputation"),
	    "fallback: 554 without an enhanced code, reputation");
	OK(pl_smtp_blocklisted("5.7.606", "550 5.7.606 Access denied, banned sending IP. RBL: x"),
	    "fallback: RBL as a word");
	OK(pl_smtp_blocklisted("5.7.1", "550-5.7.1 rejected\n550 5.7.1 see our DNSBL policy"),
	    "fallback: a multi-line reply");
	OK(!pl_smtp_blocklisted("5.1.1", "550 5.1.1 User unknown"), "no fallback: user unknown");
	OK(!pl_smtp_blocklisted("5.1.1", "550 5.1.1 mailbox blocked"),
	    "no fallback: a 550 5.1.x about the mailbox");
	OK(!pl_smtp_blocklisted("4.7.1", "451 4.7.1 blocked, try later"), "no fallback: temporary");
	OK(!pl_smtp_blocklisted("5.7.1", "554 5.7.1 Relay access denied"), "no fallback: 5.7.1 without a blocklist word");
	OK(!pl_smtp_blocklisted("5.7.1", "554 5.7.1 Rejected by the PROBLEMS filter"),
	    "no fallback: rbl inside a word");
	OK(!pl_smtp_blocklisted("5.7.1", NULL), "no fallback: no reply");

	/* smtps + PLAIN */
	s = to_login("250-relay.test\r\n250-PIPELINING\r\n250 AUTH LOGIN PLAIN\r\n", 0);
	OK(pl_smtp_want(s) == PL_SMTP_WANT_SECRET, "PLAIN: the secret is asked for only now");
	STREQ(said(s), "", "PLAIN: nothing said before the secret");
	pl_smtp_set_secret(s, "s3cret");
	STREQ(said(s), "AUTH PLAIN AG1lQGV4YW1wbGUub3JnAHMzY3JldA==\r\n", "PLAIN: initial response");
	OK(!pl_smtp_usable(s), "PLAIN: not usable before 235");
	reply(s, "235 2.7.0 Authentication successful\r\n");
	OK(pl_smtp_want(s) == PL_SMTP_WANT_TXN, "PLAIN: ready for mail after 235");
	OK(pl_smtp_usable(s) && pl_smtp_tls_active(s), "PLAIN: usable, under TLS");
	pl_smtp_free(s);

	/* LOGIN */
	s = to_login("250-relay.test\r\n250 AUTH LOGIN\r\n", 0);
	pl_smtp_set_secret(s, "s3cret");
	STREQ(said(s), "AUTH LOGIN\r\n", "LOGIN: the command alone");
	reply(s, "334 VXNlcm5hbWU6\r\n");
	STREQ(said(s), "bWVAZXhhbXBsZS5vcmc=\r\n", "LOGIN: the user");
	reply(s, "334 UGFzc3dvcmQ6\r\n");
	STREQ(said(s), "czNjcmV0\r\n", "LOGIN: the password");
	reply(s, "235 2.7.0 ok\r\n");
	OK(pl_smtp_want(s) == PL_SMTP_WANT_TXN, "LOGIN: ready");
	pl_smtp_free(s);

	/* a refused login: temporary, the reason names relay and user */
	s = to_login("250-relay.test\r\n250 AUTH PLAIN\r\n", 0);
	pl_smtp_set_secret(s, "wrong");
	said(s);
	reply(s, "535 5.7.8 Authentication credentials invalid\r\n");
	f = pl_smtp_failure(s);
	OK(f && f->result == PL_SMTP_TEMP, "535: a temporary failure");
	STREQ(f ? f->status : NULL, "4.7.8", "535: status 4.7.8");
	STREQ(f ? f->reply : NULL, "paloma: relay relay.test refused the login for me@example.org: "
	    "535 5.7.8 Authentication credentials invalid", "535: the reason");
	STREQ(f ? f->step : NULL, "AUTH", "535: step AUTH");
	OK(pl_smtp_auth_failed(s) && !pl_smtp_usable(s), "535: auth_failed, not usable");
	STREQ(said(s), "QUIT\r\n", "535: QUIT");
	pl_smtp_free(s);

	/* XOAUTH2 refused: the error challenge answered with an empty line */
	s = to_login("250-relay.test\r\n250 AUTH PLAIN XOAUTH2\r\n", 1);
	pl_smtp_set_secret(s, "tok");
	STREQ(said(s), "AUTH XOAUTH2 dXNlcj1tZUBleGFtcGxlLm9yZwFhdXRoPUJlYXJlciB0b2sBAQ==\r\n",
	    "XOAUTH2: initial response");
	reply(s, "334 eyJzdGF0dXMiOiI0MDEifQ==\r\n");
	STREQ(said(s), "\r\n", "XOAUTH2: an empty line to the error challenge");
	reply(s, "535 5.7.8 Username and Password not accepted\r\n");
	f = pl_smtp_failure(s);
	OK(f && f->result == PL_SMTP_TEMP && strstr(f->reply, "refused the login"),
	    "XOAUTH2: refused, temporary");
	pl_smtp_free(s);

	/* no usable mechanism: no secret asked for */
	s = to_login("250-relay.test\r\n250 AUTH CRAM-MD5\r\n", 0);
	OK(pl_smtp_want(s) == PL_SMTP_WANT_WRITE, "no mechanism: straight to QUIT");
	f = pl_smtp_failure(s);
	OK(f && f->result == PL_SMTP_TEMP && strstr(f->reply, "offers no AUTH mechanism"),
	    "no mechanism: a temporary failure saying so");
	pl_smtp_free(s);

	/* the secret command failed */
	s = to_login("250-relay.test\r\n250 AUTH PLAIN\r\n", 0);
	pl_smtp_secret_failed(s, "cat: exit status 1");
	f = pl_smtp_failure(s);
	OK(f && f->result == PL_SMTP_TEMP && strstr(f->reply, "cat: exit status 1"),
	    "no secret: a temporary failure with the command's error");
	pl_smtp_free(s);

	/* STARTTLS required but not offered: no login attempted */
	s = machine(PL_SMTP_TLS_REQUIRED, 0);
	pl_smtp_on_connected(s);
	reply(s, "220 relay.test\r\n");
	said(s);
	reply(s, "250-relay.test\r\n250 AUTH PLAIN\r\n");
	OK(pl_smtp_want(s) != PL_SMTP_WANT_SECRET, "no STARTTLS: no secret asked for");
	STREQ(said(s), "QUIT\r\n", "no STARTTLS: QUIT, no AUTH");
	f = pl_smtp_failure(s);
	STREQ(f ? f->status : NULL, "4.7.4", "no STARTTLS: 4.7.4");
	pl_smtp_free(s);

	/* a certificate that does not verify */
	s = machine(PL_SMTP_TLS_IMPLICIT, 0);
	pl_smtp_on_connected(s);
	pl_smtp_on_tls_error(s, "TLS certificate not trusted: self-signed certificate");
	f = pl_smtp_failure(s);
	STREQ(f ? f->reply : NULL, "paloma: the TLS handshake failed: TLS certificate not trusted: "
	    "self-signed certificate", "untrusted: the reason");
	OK(pl_smtp_tls_failed(s) && pl_smtp_want(s) == PL_SMTP_WANT_CLOSE, "untrusted: closed");
	pl_smtp_free(s);

	return tap_done();
}
