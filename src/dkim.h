/* dkim.h — DKIM signatures (RFC 6376) on outgoing mail, made by `paloma
 * send` before the message is queued, and their verification on incoming
 * mail for the client.
 *
 * libopendkim is loaded with dlopen() only when the sending account has a
 * dkim_key or the client verifies a message, so that `paloma send` for
 * everyone else starts with libc alone (doc/DESIGN.md).  Signatures are
 * rsa-sha256, relaxed/relaxed, over the usual header fields
 * (PL_DKIM_HEADERS), with From oversigned so that no From can be added
 * after signing.
 *
 * Sign what is sent: the message is first made 7-bit-safe (sevenbit.h), so
 * the daemon never has to convert it for a server without 8BITMIME or for
 * lines over 998 octets, and the signature holds on every route. */
#ifndef PALOMA_DKIM_H
#define PALOMA_DKIM_H

#include <stddef.h>

#include "config.h"
#include "util.h"

/* The header fields signed when present, NULL-terminated. */
extern const char *const pl_dkim_headers[];

/* Reads a private key file: it must be a regular file, readable, and
 * private to its owner (no group or other permission bits): EX_CONFIG
 * otherwise, with the chmod that fixes it.  *pem is NUL-terminated. */
int pl_dkim_read_key(const char *path, char **pem, size_t *len, struct pl_err *e);

/* The d= domain for account a: dkim_domain, else the address's domain. */
const char *pl_dkim_domain(const struct pl_account *a);

/* Signs msg (CRLF line ends) with the PEM key for selector and domain;
 * appends the whole "DKIM-Signature: …" field, folded with CRLF and ending
 * in CRLF, to sig.  EX_UNAVAILABLE when libopendkim cannot be loaded,
 * EX_SOFTWARE/EX_CONFIG when it refuses the key or the message. */
int pl_dkim_sign(const char *pem, size_t pemlen, const char *selector, const char *domain,
    const char *msg, size_t len, struct buf *sig, struct pl_err *e);

/* What `paloma send` calls for an account with dkim_key: makes *text
 * (CRLF) 7-bit-safe, signs it and puts the signature first.  On error
 * *text is left as it was. */
int pl_dkim_sign_message(const struct pl_account *a, struct buf *text, struct pl_err *e);

/* Verifying (the client, for mail that came without Authentication-Results:
 * dkimverify.h): one verdict per DKIM-Signature field, in RFC 8601 terms. */
enum pl_dkim_result {
	PL_DKIM_PASS,
	PL_DKIM_FAIL,		/* the signature or the body hash did not verify */
	PL_DKIM_TEMPERROR,	/* the key could not be fetched now */
	PL_DKIM_PERMERROR,	/* no key, a revoked or broken one, a malformed signature */
};

struct pl_dkim_verdict {
	enum pl_dkim_result result;
	char domain[256];	/* d= as the signature says it: untrusted */
	char why[96];		/* for all but a pass: "body hash did not verify" */
};

/* Fetches the key record (the TXT at selector._domainkey.domain) into rec:
 * 0 found, 1 none published (NXDOMAIN, no TXT), -1 a temporary failure,
 * why saying what failed.  Both names come from the message. */
typedef int (*pl_dkim_key_fn)(void *arg, const char *selector, const char *domain,
    char *rec, size_t reclen, char *why, size_t whylen);

/* Verifies the DKIM signatures of msg (CRLF line ends), asking key for each
 * signature's key.  Fills up to max verdicts, topmost signature first,
 * and sets *n; a message without any DKIM-Signature gives *n = 0.  -1 with
 * e only when libopendkim cannot be loaded or started. */
int pl_dkim_verify(const char *msg, size_t len, pl_dkim_key_fn key, void *arg,
    struct pl_dkim_verdict *out, size_t max, size_t *n, struct pl_err *e);

#endif
