/* authres.h — a message's authentication in one line for the pager. */
#ifndef PALOMA_AUTHRES_H
#define PALOMA_AUTHRES_H

#include <stddef.h>

/* From the raw values of the Authentication-Results fields (topmost first)
 * and of the first DKIM-Signature field (or NULL): "DKIM pass (example.org),
 * SPF pass, DMARC pass", "DKIM signed by example.org (not verified)", or
 * NULL when there is neither.  Printable ASCII only.  The caller frees it. */
char *pl_authres_summary(const char *const *ar, size_t nar, const char *dkim_signature);

#endif
