/* util.c — errors, buffers, small parsers shared by every part of paloma. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int
pl_errf(struct pl_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

static void
oom(void)
{
	fputs("paloma: out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
buf_grow(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 64;
	while (b->cap < need)
		b->cap *= 2;
	b->p = xrealloc(b->p, b->cap);
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

char *
buf_steal(struct buf *b)
{
	char *p;

	if (b->p == NULL)
		return xstrdup("");
	p = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

static int
lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int
ascii_casecmp(const char *a, const char *b)
{
	for (; *a && lower((unsigned char)*a) == lower((unsigned char)*b); a++, b++)
		;
	return lower((unsigned char)*a) - lower((unsigned char)*b);
}

int
ascii_ncasecmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; a++, b++, n--) {
		int d = lower((unsigned char)*a) - lower((unsigned char)*b);
		if (d != 0 || *a == '\0')
			return d;
	}
	return 0;
}

char *
ascii_lower(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)lower((unsigned char)*p);
	return s;
}

int
pl_has_8bit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

char *
trim(char *s)
{
	char *e;

	while (is_space(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_space(e[-1]))
		*--e = '\0';
	return s;
}

int
parse_duration(const char *s, long *out)
{
	long total = 0;

	if (*s == '\0')
		return -1;
	while (*s) {
		char *end;
		long mult;
		long v;

		if (*s < '0' || *s > '9')
			return -1;
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno)
			return -1;
		switch (*end) {
		case '\0': case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case 'w': mult = 7 * 86400; break;
		default: return -1;
		}
		if (v > (long)(3650L * 86400 / mult))
			return -1;
		total += v * mult;
		s = *end ? end + 1 : end;
	}
	*out = total;
	return 0;
}

int
parse_size(const char *s, long long *out)
{
	char *end;
	long long v, mult = 1;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mult = 1024; end++; break;
	case 'm': case 'M': mult = 1024 * 1024; end++; break;
	case 'g': case 'G': mult = 1024LL * 1024 * 1024; end++; break;
	default: return -1;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || v > (1LL << 40) / mult)
		return -1;
	*out = v * mult;
	return 0;
}

void
fmt_duration(long secs, char *out, size_t len)
{
	static const struct { long n; char c; } u[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};
	size_t off = 0;
	int parts = 0;

	if (secs <= 0) {
		snprintf(out, len, "0s");
		return;
	}
	for (size_t i = 0; i < 4 && parts < 2 && off < len; i++) {
		if (secs >= u[i].n) {
			off += (size_t)snprintf(out + off, len - off, "%ld%c", secs / u[i].n, u[i].c);
			secs %= u[i].n;
			parts++;
		} else if (parts > 0) {
			break;
		}
	}
}

void
escape_value(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			buf_adds(b, "\\\\");
		else if (c == '\n')
			buf_adds(b, "\\n");
		else if (c == '\r')
			buf_adds(b, "\\r");
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_addc(b, (char)c);
	}
}

size_t
pl_utf8_char(const unsigned char *s, size_t n, unsigned long *cp)
{
	unsigned long c, min;
	size_t len;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		len = 1, c = s[0], min = 0;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	if (cp)
		*cp = c;
	return len;
}

void
pl_buf_printable(struct buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		size_t l = pl_utf8_char(u + i, n - i, NULL);

		if (l == 0 || u[i] < 0x20 || u[i] == 0x7f) {
			buf_addc(b, '?');
			i++;
		} else {
			buf_add(b, u + i, l);
			i += l;
		}
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *
unescape_value(const char *s)
{
	struct buf b = { 0 };

	for (; *s; s++) {
		if (*s != '\\' || s[1] == '\0') {
			buf_addc(&b, *s);
			continue;
		}
		s++;
		if (*s == 'n') {
			buf_addc(&b, '\n');
		} else if (*s == 'r') {
			buf_addc(&b, '\r');
		} else if (*s == 'x' && hexval((unsigned char)s[1]) >= 0 &&
		    hexval((unsigned char)s[2]) >= 0) {
			int v = hexval((unsigned char)s[1]) * 16 + hexval((unsigned char)s[2]);
			/* A NUL would end the string early; keep it visible instead. */
			buf_addc(&b, v ? (char)v : '?');
			s += 2;
		} else {
			buf_addc(&b, *s);
		}
	}
	return buf_steal(&b);
}

void
random_bytes(void *p, size_t n)
{
	unsigned char *c = p;

	while (n > 0) {
		ssize_t r = getrandom(c, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* getrandom cannot fail on Linux >= 3.17 with a valid buffer. */
			abort();
		}
		c += r;
		n -= (size_t)r;
	}
}

int64_t
pl_now(void)
{
	static int64_t offset = -1;

	if (offset < 0) {
		const char *s = getenv("PALOMA_TEST_TIME_OFFSET");
		offset = s ? strtoll(s, NULL, 10) : 0;
		if (offset < 0)
			offset = 0;
	}
	return (int64_t)time(NULL) + offset;
}

char *
pl_taglist_get(const char *rec, const char *tag, int icase)
{
	size_t tl = strlen(tag);
	const char *p = rec;

	while (*p) {
		const char *end = strchr(p, ';'), *eq;

		if (end == NULL)
			end = p + strlen(p);
		while (p < end && strchr(" \t\r\n", *p))
			p++;
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq) {
			const char *ne = eq;

			while (ne > p && strchr(" \t\r\n", ne[-1]))
				ne--;
			if ((size_t)(ne - p) == tl && (icase ? ascii_ncasecmp(p, tag, tl) :
			    memcmp(p, tag, tl)) == 0) {
				struct buf v = { 0 };

				for (const char *q = eq + 1; q < end; q++)
					if (!strchr(" \t\r\n", *q))
						buf_addc(&v, *q);
				return v.p ? buf_steal(&v) : xstrdup("");
			}
		}
		p = *end ? end + 1 : end;
	}
	return NULL;
}

int64_t
pl_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
