/* termsafe.h — the test oracle for text paloma puts on a terminal, shared by
 * tests/unit/test_mime.c and tests/fuzz/fuzz_mime.c.  Written apart from
 * util.c's pl_utf8_char on purpose: the code under test uses that one.
 *
 * term_safe: valid UTF-8 with no C0 control but \t and \n (none at all when
 * line is set), no DEL and no C1 control. */
#ifndef PALOMA_TEST_TERMSAFE_H
#define PALOMA_TEST_TERMSAFE_H

#include <stddef.h>
#include <stdint.h>

static int
term_safe(const char *s, size_t n, int line)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n; ) {
		uint32_t c;
		size_t k;

		if (p[i] < 0x80) {
			if (p[i] == 0x7f || (p[i] < 0x20 && (line || (p[i] != '\t' && p[i] != '\n'))))
				return 0;
			i++;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf)
			k = 2, c = p[i] & 0x1f;
		else if (p[i] >= 0xe0 && p[i] <= 0xef)
			k = 3, c = p[i] & 0x0f;
		else if (p[i] >= 0xf0 && p[i] <= 0xf4)
			k = 4, c = p[i] & 0x07;
		else
			return 0;
		if (i + k > n)
			return 0;
		for (size_t j = 1; j < k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i + j] & 0x3f);
		}
		if ((k == 3 && c < 0x800) || (k == 4 && (c < 0x10000 || c > 0x10ffff)) ||
		    (c >= 0xd800 && c <= 0xdfff) || (c >= 0x80 && c < 0xa0))
			return 0;
		i += k;
	}
	return 1;
}

#endif
