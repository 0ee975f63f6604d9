/* dkim.h — DKIM signatures (RFC 6376) on outgoing mail, made by `paloma
 * send` before the message is queued.
 *
 * libopendkim is loaded with dlopen() only when the sending account has a
 * dkim_key, so that `paloma send` for everyone else starts with libc alone
 * (doc/DESIGN.md).  Signatures are rsa-sha256, relaxed/relaxed, over the
 * usual header fields (PL_DKIM_HEADERS), with From oversigned so that no
 * From can be added after signing.
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

#endif
