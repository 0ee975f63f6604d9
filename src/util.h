/* util.h — errors, growable buffers and small string helpers shared by every part. */
#ifndef PALOMA_UTIL_H
#define PALOMA_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sysexits.h>

/* An error: a sysexits code for the edge and one line of text for the user.
 * Functions inside paloma return -1 and fill one of these; only main() exits. */
struct pl_err {
	int code;
	char msg[1024];
};

/* Fills e (if not NULL) and returns -1, so that `return pl_errf(...)` reads well. */
int pl_errf(struct pl_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A growable byte buffer, always NUL-terminated after len bytes. */
struct buf {
	char *p;
	size_t len, cap;
};

void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);
/* Hands the contents over to the caller (never NULL) and empties b. */
char *buf_steal(struct buf *b);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* ASCII-only case helpers: mail syntax is ASCII, locale must not matter. */
int ascii_casecmp(const char *a, const char *b);
int ascii_ncasecmp(const char *a, const char *b, size_t n);
char *ascii_lower(char *s);
/* 1 when one of the n bytes at s is >= 0x80 (8-bit, or UTF-8). */
int pl_has_8bit(const char *s, size_t n);
/* Trims ASCII white space at both ends, in place; returns s. */
char *trim(char *s);

/* Milliseconds of CLOCK_MONOTONIC: for timeouts and deadlines. */
int64_t pl_mono_ms(void);

/* Parses "90", "90s", "5m", "4h", "5d", "1w" into seconds. 0 on success. */
int parse_duration(const char *s, long *out);
/* Parses "35M", "512K", "1G", "1000" into bytes. 0 on success. */
int parse_size(const char *s, long long *out);
/* Formats seconds as a short duration ("4h", "1d2h", "45s"). */
void fmt_duration(long secs, char *out, size_t len);

/* The value of tag in a "tag=value; tag=value" list (DKIM RFC 6376 3.2,
 * DMARC, MTA-STS), blanks removed; NULL when absent.  icase: compare tag
 * names without case (DMARC); DKIM's are case-sensitive.  A new string. */
char *pl_taglist_get(const char *rec, const char *tag, int icase);

/* Escapes a value for one line of a state file: backslash, CR, LF and other
 * control characters become \\, \r, \n, \xNN. unescape_value reverses it. */
void escape_value(struct buf *b, const char *s);
char *unescape_value(const char *s);

/* The length (1-4) of the well-formed UTF-8 character at s[0..n) (RFC 3629:
 * no overlongs, surrogates or code points past U+10FFFF), its code point in
 * *cp when cp is not NULL; 0 when the bytes there are not one. */
size_t pl_utf8_char(const unsigned char *s, size_t n, unsigned long *cp);
/* Appends s for a terminal or a one-line message: control characters and
 * bytes that are not well-formed UTF-8 become '?'. */
void pl_buf_printable(struct buf *b, const char *s);

/* Random bytes from getrandom(2). */
void random_bytes(void *p, size_t n);

/* Current time; PALOMA_TEST_TIME_OFFSET (seconds) shifts it, for tests that
 * must see days pass without waiting. */
int64_t pl_now(void);

#endif
