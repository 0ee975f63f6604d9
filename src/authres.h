/* authres.h — a message's authentication in one line for the pager. */
#ifndef PALOMA_AUTHRES_H
#define PALOMA_AUTHRES_H

#include <stddef.h>

#include "dkim.h"

/* 1 when the topmost Authentication-Results field (ar[0]; nar fields, raw
 * values, topmost first) holds results to show: the provider has spoken,
 * and the client does not verify DKIM itself. */
int pl_authres_provided(const char *const *ar, size_t nar);

/* The line, printable ASCII only; the caller frees it:
 *   - the provider's results when pl_authres_provided(): "DKIM pass
 *     (example.org), SPF pass, DMARC pass, according to mx.example.net";
 *   - else, for a message with a DKIM-Signature (dkim_signature, the first
 *     field's raw value), the nv verdicts paloma found (dkimverify.h):
 *     "DKIM pass (example.org), verified by paloma", "DKIM fail
 *     (example.org: body hash did not verify), checked by paloma";
 *   - or, with no verdicts (v NULL: the caller does not verify), "DKIM
 *     signed by example.org (not verified)";
 *   - NULL when there is neither. */
char *pl_authres_summary(const char *const *ar, size_t nar, const char *dkim_signature,
    const struct pl_dkim_verdict *v, int nv);

#endif
