/* tls.c — OpenSSL client sessions on non-blocking sockets. */
#include "tls.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "dns.h"

struct pl_tls {
	SSL *ssl;
	enum pl_tls_mode mode;
};

static void
ssl_error(struct pl_err *e, const char *what, int sslerr)
{
	unsigned long code = ERR_get_error();
	char buf[256];

	if (code) {
		ERR_error_string_n(code, buf, sizeof buf);
		ERR_clear_error();
	} else if (sslerr == SSL_ERROR_SYSCALL || sslerr == SSL_ERROR_ZERO_RETURN) {
		snprintf(buf, sizeof buf, "connection closed by the server");
	} else {
		snprintf(buf, sizeof buf, "TLS error %d", sslerr);
	}
	pl_errf(e, EX_TEMPFAIL, "%s: %s", what, buf);
}

void *
pl_tls_ctx_new(enum pl_tls_mode mode, const char *ca_file, struct pl_err *e)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		ssl_error(e, "cannot make a TLS context", 0);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (mode == PL_TLS_RELAY)
		SSL_CTX_set_default_verify_paths(ctx);
	if (ca_file) {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			ssl_error(e, "cannot load CA file", 0);
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else if (mode != PL_TLS_RELAY) {
		SSL_CTX_set_default_verify_paths(ctx);
	}
	/* DANE sessions (pl_tls_authenticate) need it on the context. */
	if (mode == PL_TLS_MX && SSL_CTX_dane_enable(ctx) <= 0) {
		ssl_error(e, "cannot enable DANE", 0);
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* MX: verify, but never fail the handshake for it (opportunistic);
	 * the result is read back with SSL_get_verify_result. */
	SSL_CTX_set_verify(ctx, mode != PL_TLS_MX ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	return ctx;
}

int
pl_tls_ctx_verifies(void *ctx)
{
	return SSL_CTX_get_verify_mode(ctx) != SSL_VERIFY_NONE;
}

void
pl_tls_ctx_free(void *ctx)
{
	SSL_CTX_free(ctx);
}

struct pl_tls *
pl_tls_new(void *ctx, int fd, const char *host, struct pl_err *e)
{
	struct pl_tls *t = xcalloc(1, sizeof *t);

	t->ssl = SSL_new(ctx);
	if (t->ssl == NULL) {
		ssl_error(e, "cannot start TLS", 0);
		free(t);
		return NULL;
	}
	t->mode = SSL_CTX_get_verify_mode(ctx) == SSL_VERIFY_NONE ? PL_TLS_MX : PL_TLS_VERIFY;
	SSL_set_fd(t->ssl, fd);
	if (host && *host && host[0] != '[') {
		SSL_set_tlsext_host_name(t->ssl, host);
		SSL_set1_host(t->ssl, host);
	}
	SSL_set_connect_state(t->ssl);
	return t;
}

int
pl_tls_authenticate(struct pl_tls *t, const char *host, const struct pl_tlsa *tlsa,
    size_t ntlsa, struct pl_err *e)
{
	size_t added = 0;

	if (ntlsa > 0) {
		if (SSL_dane_enable(t->ssl, host) <= 0) {
			ssl_error(e, "cannot enable DANE", 0);
			return -1;
		}
		SSL_dane_set_flags(t->ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
		for (size_t i = 0; i < ntlsa; i++)
			if (SSL_dane_tlsa_add(t->ssl, tlsa[i].usage, tlsa[i].selector,
			    tlsa[i].mtype, tlsa[i].data, tlsa[i].len) > 0)
				added++;
		ERR_clear_error();
		if (added == 0)
			return pl_errf(e, EX_TEMPFAIL, "none of the TLSA records of %s can be used",
			    host);
	}
	SSL_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
	t->mode = PL_TLS_VERIFY;	/* a failed check is told as such */
	return 0;
}

void
pl_tls_free(struct pl_tls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t);
}

static int
want(struct pl_tls *t, int r, int *events)
{
	int err = SSL_get_error(t->ssl, r);

	if (err == SSL_ERROR_WANT_READ) {
		*events = POLLIN;
		return 1;
	}
	if (err == SSL_ERROR_WANT_WRITE) {
		*events = POLLOUT;
		return 1;
	}
	return 0;
}

int
pl_tls_handshake(struct pl_tls *t, int *events, struct pl_err *e)
{
	int r;

	ERR_clear_error();	/* SSL_get_error reads the thread's error queue */
	r = SSL_do_handshake(t->ssl);

	if (r == 1)
		return 1;
	if (want(t, r, events))
		return 0;
	if (t->mode == PL_TLS_VERIFY && SSL_get_verify_result(t->ssl) != X509_V_OK) {
		pl_errf(e, EX_TEMPFAIL, "TLS certificate not trusted: %s",
		    X509_verify_cert_error_string(SSL_get_verify_result(t->ssl)));
		ERR_clear_error();
		return -1;
	}
	ssl_error(e, "TLS handshake failed", SSL_get_error(t->ssl, r));
	return -1;
}

ssize_t
pl_tls_read(struct pl_tls *t, void *p, size_t n, int *events, struct pl_err *e)
{
	int r;

	ERR_clear_error();
	r = SSL_read(t->ssl, p, (int)(n > 1 << 30 ? 1 << 30 : n));

	if (r > 0)
		return r;
	if (SSL_get_error(t->ssl, r) == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (want(t, r, events))
		return -1;
	if (SSL_get_error(t->ssl, r) == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
		return 0;	/* closed without close_notify: treat as EOF */
	ssl_error(e, "TLS read failed", SSL_get_error(t->ssl, r));
	return -2;
}

ssize_t
pl_tls_write(struct pl_tls *t, const void *p, size_t n, int *events, struct pl_err *e)
{
	int r;

	ERR_clear_error();
	r = SSL_write(t->ssl, p, (int)(n > 1 << 30 ? 1 << 30 : n));

	if (r > 0)
		return r;
	if (want(t, r, events))
		return -1;
	ssl_error(e, "TLS write failed", SSL_get_error(t->ssl, r));
	return -2;
}

int
pl_tls_pending(struct pl_tls *t)
{
	return SSL_pending(t->ssl);
}

void
pl_tls_describe(struct pl_tls *t, char *out, size_t len)
{
	snprintf(out, len, "%s %s", SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl));
}

int
pl_tls_verified(struct pl_tls *t, char *why, size_t len)
{
	long r = SSL_get_verify_result(t->ssl);
	X509 *cert = SSL_get1_peer_certificate(t->ssl);

	if (cert == NULL) {
		snprintf(why, len, "no certificate");
		return 0;
	}
	X509_free(cert);
	if (r == X509_V_OK) {
		snprintf(why, len, "verified");
		return 1;
	}
	snprintf(why, len, "%s", X509_verify_cert_error_string(r));
	return 0;
}

void
pl_tls_fingerprint(struct pl_tls *t, char *out, size_t len)
{
	X509 *cert = SSL_get1_peer_certificate(t->ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t off = 0;

	out[0] = '\0';
	if (cert == NULL)
		return;
	if (X509_digest(cert, EVP_sha256(), md, &n) == 1)
		for (unsigned i = 0; i < n && off + 3 < len; i++)
			off += (size_t)snprintf(out + off, len - off, "%s%02X", i ? ":" : "", md[i]);
	X509_free(cert);
}
