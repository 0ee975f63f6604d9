/* mtasts.h — MTA-STS (RFC 8461): the policy and TXT record parsers, MX
 * pattern matching, and the per-domain policy cache the daemon reads.
 *
 * Fetching a policy needs HTTPS; that is paloma-mtasts's job (mtasts_main.c,
 * the only program linking libcurl), which stores what it fetched with
 * pl_mtasts_cache_store().  Everything here is pure or plain file I/O, so
 * that the daemon links it without libcurl.
 *
 * The cache is one file per domain, <state>/mta-sts/DOMAIN (lower case, no
 * trailing dot), mode 0600 in a 0700 directory, replaced whole by a rename.
 * Its format, one "key: value" a line, first line the magic:
 *
 *	paloma-mta-sts 1
 *	domain: example.test
 *	id: 20261123
 *	fetched: 1763900000          (unix time)
 *	checked: 1763900000          (unix time)
 *	mode: enforce
 *	max_age: 86400
 *	nmx: 2
 *	mx: mail.example.test        (nmx lines, in the policy's order)
 *	mx: *.example.net
 *
 * A file that does not read exactly so (truncated by a crash, edited by
 * hand, a line missing or one too many) counts as no cached policy: nmx
 * makes a file cut after one of its mx lines incomplete, not a policy with
 * fewer MX hosts. */
#ifndef PALOMA_MTASTS_H
#define PALOMA_MTASTS_H

#include <stddef.h>

#include "util.h"

#define PL_MTASTS_MAX_AGE   31557600L	/* RFC 8461 3.2: larger values are capped */
#define PL_MTASTS_MAX_BODY  65536	/* bytes of policy text we accept (3.3) */

enum pl_mtasts_mode { PL_MTASTS_NONE, PL_MTASTS_TESTING, PL_MTASTS_ENFORCE };

struct pl_mtasts_policy {
	enum pl_mtasts_mode mode;
	long max_age;		/* seconds, capped at PL_MTASTS_MAX_AGE */
	char **mx;		/* patterns, lower case, no trailing dot:
				 * "mail.example.com" or "*.example.net" */
	size_t nmx;
	char id[33];		/* id= of the TXT record this policy came with */
	long long fetched;	/* unix time the policy was fetched */
	long long checked;	/* unix time the TXT record was last seen with that id */
};

/* RFC 8461 3.2 policy text: "version: STSv1" first, then "key: value" lines
 * ending in LF or CRLF; mode and max_age required, at least one mx unless
 * mode is none; unknown keys ignored, a repeated key other than mx counts
 * once (the first).  Keys and values are case-sensitive.  Fills p (mode,
 * max_age, mx; id, fetched and checked zero) and returns 0, or -1 with e
 * (EX_DATAERR) naming the line at fault and p empty. */
int pl_mtasts_parse_policy(const char *text, size_t len, struct pl_mtasts_policy *p,
    struct pl_err *e);

/* RFC 8461 3.1 TXT record "v=STSv1; id=…;" (strings already joined):
 * 1 valid, with the id (1-32 letters and digits) copied into id (idsize >=
 * 33); 0 not an STS record or not a valid one. */
int pl_mtasts_parse_txt(const char *txt, char *id, size_t idsize);

/* All the TXT strings of _mta-sts.DOMAIN: records not starting with
 * "v=STSv1" are discarded; exactly one must remain and be valid.  1 with the
 * id copied, 0 when the domain has no usable STS record. */
int pl_mtasts_select_txt(char *const *txt, size_t n, char *id, size_t idsize);

/* 1 when the MX host name matches one of the policy's patterns (RFC 8461
 * 4.1): case-insensitive, trailing dots ignored, "*." standing for exactly
 * one left-most label. */
int pl_mtasts_mx_ok(const struct pl_mtasts_policy *p, const char *mx);

/* "none", "testing", "enforce". */
const char *pl_mtasts_mode_name(enum pl_mtasts_mode m);

void pl_mtasts_policy_free(struct pl_mtasts_policy *p);

/* The cache, one file per domain under <state>/mta-sts/ (paths.h), 0600:
 * 1: a policy, not expired at `now` (now < fetched + max_age), is in *p;
 * 0: none (never fetched, expired, unreadable, or the domain is not a valid
 * name); *p is then empty. */
int pl_mtasts_cache_load(const char *domain, long long now, struct pl_mtasts_policy *p);
/* Writes p for domain (temporary file, fsync, rename, directory fsync),
 * creating the directory 0700.  0, or -1 with e. */
int pl_mtasts_cache_store(const char *domain, const struct pl_mtasts_policy *p,
    struct pl_err *e);

#endif
