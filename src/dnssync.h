/* dnssync.h — one DNS question at a time, answered or given up within a
 * timeout: for paloma doctor, which asks a few dozen questions in order
 * and may simply wait (the daemon uses the asynchronous dns.h instead).
 * c-ares underneath, with [delivery] dns_servers or the system resolver;
 * never /etc/hosts. */
#ifndef PALOMA_DNSSYNC_H
#define PALOMA_DNSSYNC_H

#include <stddef.h>

#include "util.h"

struct pl_dnssync;

/* servers: as pl_dns_new() (NULL: resolv.conf); timeout_ms bounds each
 * question.  Returns 0, or -1 with e filled (EX_CONFIG for bad servers). */
int pl_dnssync_new(struct pl_dnssync **r, const char *servers, int timeout_ms,
    struct pl_err *e);
void pl_dnssync_free(struct pl_dnssync *r);

/* Asks for type (1 A, 12 PTR, 15 MX, 16 TXT, 28 AAAA) at name, with the
 * contract of spf.h's pl_spf_lookup_fn (arg is the struct pl_dnssync):
 * 0 with *n malloc'd strings (MX hosts by preference, a null MX as ""),
 * 1 for NXDOMAIN or no record, -1 for a failure, whose reason
 * pl_dnssync_error() then gives. */
int pl_dnssync_query(void *r, int type, const char *name, char ***ans, size_t *n);
const char *pl_dnssync_error(const struct pl_dnssync *r);

void pl_dnssync_free_answers(char **ans, size_t n);

#endif
