/* tap.h — the smallest TAP producer: `ok N - name` lines for tests/run. */
#ifndef PALOMA_TAP_H
#define PALOMA_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

/* cond is evaluated once: it may have side effects. */
#define OK(cond, ...) do { \
	int ok_ = (cond) ? 1 : 0; \
	tap_n++; \
	if (ok_) { printf("ok %d - ", tap_n); } \
	else { tap_failed++; printf("not ok %d - ", tap_n); } \
	printf(__VA_ARGS__); \
	printf("\n"); \
	if (!ok_) printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
} while (0)

#define STREQ(got, want, ...) do { \
	const char *g_ = (got), *w_ = (want); \
	int eq_ = (g_ == NULL && w_ == NULL) || (g_ && w_ && strcmp(g_, w_) == 0); \
	OK(eq_, __VA_ARGS__); \
	if (!eq_) printf("#   got  '%s'\n#   want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
} while (0)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
