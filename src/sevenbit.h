/* sevenbit.h — making a message 7-bit-safe for SMTP (RFC 6152 3, RFC 2045,
 * RFC 5321 4.5.3.1.6), as a pure function of its bytes.
 *
 * Every leaf MIME part whose body holds an 8-bit octet, a NUL, or a line
 * longer than 998 octets, and is not already base64 or quoted-printable, is
 * re-encoded as quoted-printable (soft line breaks at 76 columns); a
 * multipart or message/rfc822 entity labelled 8bit or binary around such a
 * part becomes 7bit.  Headers (8-bit ones included, RFC 6532), preambles,
 * epilogues, delimiters and untouched parts are copied byte for byte.
 *
 * The conversion is idempotent: converting its own output changes nothing.
 * That is what lets `paloma send` sign a message (dkim.c) before it is
 * queued: the daemon's own down-conversion, the same algorithm, then leaves
 * the bytes as they are, and the signature holds. */
#ifndef PALOMA_SEVENBIT_H
#define PALOMA_SEVENBIT_H

#include <stddef.h>

#include "util.h"

/* 1 when pl_7bit_convert would change msg (some part needs encoding). */
int pl_7bit_needed(const char *msg, size_t len);

/* Appends msg (CRLF or LF line ends; output lines end as the input's do,
 * encoded parts with CRLF) converted to out; returns how many parts were
 * re-encoded (0: out holds msg unchanged). */
int pl_7bit_convert(const char *msg, size_t len, struct buf *out);

#endif
