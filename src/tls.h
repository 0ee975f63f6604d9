/* tls.h — the one TLS layer of paloma (OpenSSL), over non-blocking sockets.
 *
 * Toward MX hosts TLS is opportunistic (RFC 7435): the certificate is not
 * required to verify, but whether it would have verified is recorded and
 * logged; unless the recipient domain's policy asks for authentication
 * (pl_tls_authenticate: DANE's TLSA records, or MTA-STS's PKIX check).  Toward IMAP/POP3/submission servers it is verified (chain and
 * host name) against the system's CAs or a given CA file. */
#ifndef PALOMA_TLS_H
#define PALOMA_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

struct pl_tls;

enum pl_tls_mode { PL_TLS_MX, PL_TLS_VERIFY, PL_TLS_RELAY };

/* A client context.  ca_file: NULL for the system's trust store.  VERIFY
 * trusts ca_file instead of the system's CAs; RELAY (a submission server)
 * trusts the system's CAs and ca_file too; both fail the handshake when
 * the chain or the host name given to pl_tls_new does not verify. */
void *pl_tls_ctx_new(enum pl_tls_mode mode, const char *ca_file, struct pl_err *e);
void pl_tls_ctx_free(void *ctx);
/* 1 when the context fails handshakes that do not verify (VERIFY, RELAY). */
int pl_tls_ctx_verifies(void *ctx);

/* Starts a client session on a connected socket; host is used for SNI and
 * the name check. */
struct pl_tls *pl_tls_new(void *ctx, int fd, const char *host, struct pl_err *e);
void pl_tls_free(struct pl_tls *t);

/* Makes a session toward an MX (before its handshake) authenticate the
 * server, failing the handshake otherwise:
 *   ntlsa > 0  DANE (RFC 7672): the records (struct pl_tlsa of dns.h, only
 *              usable ones) with the MX host name as the TLSA base domain
 *              and the reference name for DANE-TA(2); DANE-EE(3) matches
 *              are not name-checked (RFC 7672 3.1.1);
 *   ntlsa = 0  PKIX (MTA-STS, RFC 8461 4.2): the chain against the system's
 *              CAs (or SSL_CERT_FILE) and the MX host name.
 * Returns 0, or -1 with e (no record could be used). */
struct pl_tlsa;
int pl_tls_authenticate(struct pl_tls *t, const char *host, const struct pl_tlsa *tlsa,
    size_t ntlsa, struct pl_err *e);

/* Non-blocking handshake step: 1 done, 0 call again when *events (POLLIN or
 * POLLOUT) is ready, -1 failed (e says why). */
int pl_tls_handshake(struct pl_tls *t, int *events, struct pl_err *e);
/* Non-blocking read/write: bytes moved, 0 at EOF (read only), -1 with *events
 * set when it must wait, -2 on error (e says why). */
ssize_t pl_tls_read(struct pl_tls *t, void *p, size_t n, int *events, struct pl_err *e);
ssize_t pl_tls_write(struct pl_tls *t, const void *p, size_t n, int *events, struct pl_err *e);
/* Bytes already decrypted and waiting in the session. */
int pl_tls_pending(struct pl_tls *t);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384" */
void pl_tls_describe(struct pl_tls *t, char *out, size_t len);
/* 1 when chain and name verified; else 0 with why ("self-signed certificate"). */
int pl_tls_verified(struct pl_tls *t, char *why, size_t len);
/* SHA-256 fingerprint of the peer certificate, "AB:CD:…", or "" */
void pl_tls_fingerprint(struct pl_tls *t, char *out, size_t len);

#endif
