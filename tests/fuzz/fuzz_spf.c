/* fuzz_spf.c — libFuzzer target for the SPF evaluator (spf.c).
 *
 * Input: the first line is the SPF record of f.test; each further line
 * "T NAME VALUE" is a DNS record (T: A, 6 for AAAA, M for MX, P for PTR,
 * X for TXT; VALUE "TEMP" makes the lookup fail temporarily).  A name with
 * no TXT record in the table answers with the first line again, so that
 * include and redirect recurse.  check_host() must return one of its
 * results with an explanation, stop at the lookup limits (at most 11
 * DNS-querying terms, a bounded number of queries in all) and never crash.
 *
 * Build: make fuzz (build-fuzz/fuzz_spf).  Seeds: tests/fuzz/corpus/fuzz_spf/ */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spf.h"
#include "util.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

struct spf_fz {
	char *first;
	char **type, **name, **value;
	size_t n;
	int calls;
};

static int
spf_fz_lookup(void *arg, int type, const char *name, char ***ans, size_t *n)
{
	struct spf_fz *z = arg;
	char t = type == PL_SPF_T_A ? 'A' : type == PL_SPF_T_AAAA ? '6' :
	    type == PL_SPF_T_MX ? 'M' : type == PL_SPF_T_PTR ? 'P' : 'X';
	int seen_txt = 0;

	CHECK(name != NULL && strlen(name) <= 253);
	z->calls++;
	*ans = NULL;
	*n = 0;
	for (size_t i = 0; i < z->n; i++) {
		if (z->type[i][0] != t || ascii_casecmp(z->name[i], name) != 0)
			continue;
		if (strcmp(z->value[i], "TEMP") == 0) {
			for (size_t k = 0; k < *n; k++)
				free((*ans)[k]);
			free(*ans);
			*ans = NULL;
			*n = 0;
			return -1;
		}
		seen_txt = 1;
		*ans = xrealloc(*ans, (*n + 1) * sizeof **ans);
		(*ans)[(*n)++] = xstrdup(z->value[i]);
	}
	if (t == 'X' && !seen_txt) {
		*ans = xcalloc(1, sizeof **ans);
		(*ans)[(*n)++] = xstrdup(z->first);
	}
	return *n ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct spf_fz z;
	struct pl_spf_out o;
	char *s, *line, *save = NULL;
	static const char *const ips[] = { "192.0.2.1", "2001:db8::1", "127.0.0.2" };
	enum pl_spf_result r;

	if (n > 8192)
		return 0;
	memset(&z, 0, sizeof z);
	s = xstrndup((const char *)d, n);
	line = strtok_r(s, "\n", &save);
	z.first = line ? line : "";
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		char *a = strtok(line, " "), *b = strtok(NULL, " "), *c = strtok(NULL, "");
		if (a == NULL || b == NULL || c == NULL)
			continue;
		z.type = xrealloc(z.type, (z.n + 1) * sizeof *z.type);
		z.name = xrealloc(z.name, (z.n + 1) * sizeof *z.name);
		z.value = xrealloc(z.value, (z.n + 1) * sizeof *z.value);
		z.type[z.n] = a;
		z.name[z.n] = b;
		z.value[z.n++] = c;
	}
	for (size_t k = 0; k < sizeof ips / sizeof ips[0]; k++) {
		z.calls = 0;
		r = pl_spf_check(ips[k], "f.test", "user@f.test", "helo.test", spf_fz_lookup, &z, &o);
		CHECK(r >= PL_SPF_NONE && r <= PL_SPF_PERMERROR);
		CHECK(r == o.result);
		CHECK(o.why[0] != '\0' && strlen(o.why) < sizeof o.why);
		CHECK(o.lookups <= 11 && o.voids <= 3);
		/* 1 TXT, then at most 11 terms of at most 11 queries each. */
		CHECK(z.calls <= 1 + 11 * 11);
		CHECK(strcmp(pl_spf_result_name(r), "?") != 0);
		pl_spf_out_free(&o);
	}
	free(z.type);
	free(z.name);
	free(z.value);
	free(s);
	return 0;
}
