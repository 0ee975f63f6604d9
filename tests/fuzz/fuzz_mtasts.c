/* fuzz_mtasts.c — libFuzzer target for the MTA-STS parsers (mtasts.c).
 *
 * Input: the bytes of a policy as an HTTPS server would send them (RFC 8461
 * 3.2), and the same bytes as TXT records: the whole input up to its first
 * NUL as one record, and its lines as the strings of several records (3.1).
 * A policy that parses must be one paloma can use: a known mode, max_age
 * within the cap, mx patterns in lower case without a trailing dot, at
 * least one unless the mode is none, each matching a host name built from
 * it; an id from a TXT record is 1-32 letters and digits.
 *
 * Build: make build-fuzz/fuzz_mtasts.  Seeds: tests/fuzz/corpus/fuzz_mtasts/ */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "util.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void
sts_fz_check_id(const char *id)
{
	size_t n = strlen(id);

	CHECK(n >= 1 && n <= 32);
	for (size_t i = 0; i < n; i++)
		CHECK((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9'));
}

static void
sts_fz_check_policy(const struct pl_mtasts_policy *p)
{
	CHECK(p->mode == PL_MTASTS_NONE || p->mode == PL_MTASTS_TESTING ||
	    p->mode == PL_MTASTS_ENFORCE);
	CHECK(p->max_age >= 0 && p->max_age <= PL_MTASTS_MAX_AGE);
	CHECK(p->mode == PL_MTASTS_NONE || p->nmx > 0);
	for (size_t i = 0; i < p->nmx; i++) {
		const char *m = p->mx[i];
		size_t n = strlen(m);
		char host[300];

		CHECK(n > 0 && n <= 255 && m[n - 1] != '.');
		for (size_t k = 0; k < n; k++)
			CHECK(!(m[k] >= 'A' && m[k] <= 'Z'));
		if (m[0] == '*')
			snprintf(host, sizeof host, "X%s", m + 1);
		else
			snprintf(host, sizeof host, "%s.", m);
		CHECK(pl_mtasts_mx_ok(p, host));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct pl_mtasts_policy p;
	struct pl_err e;
	char id[33], *s, **lines = NULL, *save = NULL, *line;
	size_t nlines = 0;

	if (n > PL_MTASTS_MAX_BODY)
		return 0;
	if (pl_mtasts_parse_policy((const char *)d, n, &p, &e) == 0) {
		sts_fz_check_policy(&p);
		pl_mtasts_policy_free(&p);
	} else {
		CHECK(e.msg[0] != '\0' && p.nmx == 0 && p.mx == NULL);
	}
	s = xstrndup((const char *)d, n);
	if (pl_mtasts_parse_txt(s, id, sizeof id))
		sts_fz_check_id(id);
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lines = xrealloc(lines, (nlines + 1) * sizeof *lines);
		lines[nlines++] = line;
	}
	if (pl_mtasts_select_txt(lines, nlines, id, sizeof id))
		sts_fz_check_id(id);
	free(lines);
	free(s);
	return 0;
}
