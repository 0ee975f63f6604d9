/* dkimverify.h — the client verifies DKIM itself when a message came with
 * no Authentication-Results from the user's provider (authres.h says which).
 *
 * One verifier per client session: it asks DNS for each signature's key
 * (selector._domainkey.domain, TXT) through dnssync.h with [delivery]
 * dns_servers or the system resolver, and remembers what it found, so that
 * re-opening a message or redrawing the pager asks nothing again.  The
 * pager must never hang: each question has PL_DKIMV_TIMEOUT_MS, a message
 * gets at most PL_DKIMV_LOOKUPS of them, none is asked once one has failed
 * for now or PL_DKIMV_TIMEOUT_MS has passed since the first, and a DNS that
 * does not answer is a temperror. */
#ifndef PALOMA_DKIMVERIFY_H
#define PALOMA_DKIMVERIFY_H

#include <stddef.h>

#include "dkim.h"
#include "util.h"

#define PL_DKIMV_TIMEOUT_MS 3000
#define PL_DKIMV_LOOKUPS 3
/* Signatures reported per message, topmost first (as for a provider's). */
#define PL_DKIMV_MAX 3

struct pl_dkimv;

/* The DNS question, with the contract of dnssync.h's pl_dnssync_query (type
 * 16, TXT): 0 with *n strings, 1 for none, -1 for a failure for now. */
typedef int (*pl_dkimv_dns_fn)(void *arg, int type, const char *name, char ***ans,
    size_t *n);

/* A verifier asking servers ("ip[:port],…", NULL for the system resolver).
 * -1 with e when servers is not a list of addresses. */
int pl_dkimv_new(struct pl_dkimv **v, const char *servers, struct pl_err *e);
/* A verifier asking dns(arg, …) instead: for tests. */
struct pl_dkimv *pl_dkimv_new_dns(pl_dkimv_dns_fn dns, void *arg);
void pl_dkimv_free(struct pl_dkimv *v);

/* Verifies the signatures of a message file's bytes as stored (bare LF or
 * CRLF line ends: CRLF is what DKIM signs).  Fills up to PL_DKIMV_MAX
 * verdicts in out and returns how many (0: no DKIM-Signature at all), or
 * -1 with e when libopendkim cannot be loaded. */
int pl_dkimv_verify(struct pl_dkimv *v, const char *msg, size_t len,
    struct pl_dkim_verdict out[PL_DKIMV_MAX], struct pl_err *e);

#endif
