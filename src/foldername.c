/* foldername.c — IMAP folder names (modified UTF-7, RFC 3501 5.1.3) and
 * the local paths of their Maildirs.  See syncstate.h. */
#include "syncstate.h"

#include <stdlib.h>
#include <string.h>

/* ---- Folder names: modified UTF-7 (RFC 3501 5.1.3) and local paths ---- */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

static void
put_utf8(struct buf *b, uint32_t cp)
{
	char u[4];

	if (cp < 0x80) {
		buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 4);
	}
}

/* The next code point of NUL-terminated UTF-8 at *pp; -1 when not valid
 * (overlong forms, surrogates and values above U+10FFFF included). */
static int32_t
utf8_next(const unsigned char **pp)
{
	unsigned long cp;
	size_t n = pl_utf8_char(*pp, strnlen((const char *)*pp, 4), &cp);

	if (n == 0)
		return -1;
	*pp += n;
	return (int32_t)cp;
}

/* Decodes modified UTF-7 into UTF-8.  Only the canonical form is accepted
 * (printable ASCII never encoded, no two encoded runs side by side, no
 * spare bits), so that encoding the result gives the name back: the
 * server must see the very name it sent. */
static int
mutf7_decode(const char *s, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run_end = NULL;

	while (*p) {
		uint32_t bits = 0, hi = 0;
		int nbits = 0, units = 0;

		if (*p != '&') {
			if (*p < 0x20 || *p > 0x7e)
				return -1;
			buf_addc(out, (char)*p++);
			continue;
		}
		if (p[1] == '-') {
			buf_addc(out, '&');
			p += 2;
			continue;
		}
		if (p == run_end)
			return -1;
		for (p++; *p != '-'; p++) {
			int v = b64val(*p);
			if (v < 0)
				return -1;
			bits = (bits << 6 | (uint32_t)v) & 0x3fffff;
			nbits += 6;
			if (nbits < 16)
				continue;
			nbits -= 16;
			uint32_t u = bits >> nbits & 0xffff;
			units++;
			if (u >= 0xd800 && u <= 0xdbff) {
				if (hi)
					return -1;
				hi = u;
			} else if (u >= 0xdc00 && u <= 0xdfff) {
				if (!hi)
					return -1;
				put_utf8(out, 0x10000 + ((hi - 0xd800) << 10) + (u - 0xdc00));
				hi = 0;
			} else {
				if (hi || u < 0x80)
					return -1;	/* ASCII is never encoded */
				put_utf8(out, u);
			}
		}
		if (hi || units == 0 || nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0)
			return -1;
		run_end = ++p;
	}
	return 0;
}

/* Encodes NUL-terminated UTF-8 as modified UTF-7; -1 when it is not valid
 * UTF-8 or holds a control character. */
static int
mutf7_encode(const char *s, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		uint32_t bits = 0;
		int nbits = 0;

		if (*p >= 0x20 && *p <= 0x7e) {
			if (*p == '&')
				buf_adds(out, "&-");
			else
				buf_addc(out, (char)*p);
			p++;
			continue;
		}
		if (*p < 0x80)
			return -1;
		buf_addc(out, '&');
		while (*p >= 0x80) {
			int32_t cp = utf8_next(&p);
			uint32_t u[2];
			int nu = 1;

			if (cp < 0)
				return -1;
			if (cp >= 0x10000) {
				u[0] = 0xd800 + (((uint32_t)cp - 0x10000) >> 10);
				u[1] = 0xdc00 + (((uint32_t)cp - 0x10000) & 0x3ff);
				nu = 2;
			} else
				u[0] = (uint32_t)cp;
			for (int i = 0; i < nu; i++) {
				bits = bits << 16 | u[i];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					buf_addc(out, b64chars[bits >> nbits & 63]);
				}
				bits &= (1u << nbits) - 1;
			}
		}
		if (nbits > 0)
			buf_addc(out, b64chars[bits << (6 - nbits) & 63]);
		buf_addc(out, '-');
	}
	return 0;
}

static int
is_maildir_sub(const char *p, size_t n)
{
	return n == 3 && (memcmp(p, "cur", 3) == 0 || memcmp(p, "new", 3) == 0 ||
	    memcmp(p, "tmp", 3) == 0);
}

/* One level of a folder name as one directory name. */
static void
escape_level(struct buf *b, const char *p, size_t n)
{
	if (is_maildir_sub(p, n)) {
		/* A subfolder "new" would land inside its parent's new/. */
		buf_printf(b, "%%%02X", (unsigned char)p[0]);
		buf_add(b, p + 1, n - 1);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '/')
			buf_adds(b, "%2F");
		else if (p[i] == '%')
			buf_adds(b, "%25");
		else if (p[i] == '.' && i == 0)
			buf_adds(b, "%2E");
		else
			buf_addc(b, p[i]);
	}
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The reverse of escape_level; -1 for a directory that cannot be a folder
 * (hidden, a Maildir's cur/new/tmp, or holding a NUL or the delimiter). */
static int
unescape_level(struct buf *b, const char *p, size_t n, char delim)
{
	if (n == 0 || p[0] == '.' || is_maildir_sub(p, n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		int h, l;

		if (c == '%' && i + 2 < n &&
		    (h = hexval((unsigned char)p[i + 1])) >= 0 &&
		    (l = hexval((unsigned char)p[i + 2])) >= 0) {
			c = (unsigned char)(h << 4 | l);
			i += 2;
		}
		if (c == '\0' || (delim && c == (unsigned char)delim))
			return -1;
		buf_addc(b, (char)c);
	}
	return 0;
}

static int
delim_ok(char delim)
{
	return delim == 0 || ((unsigned char)delim >= 0x20 && (unsigned char)delim <= 0x7e);
}

char *
pl_folder_local(const char *name, char delim)
{
	struct buf u = { 0 }, out = { 0 };
	const char *p, *end, *stop;

	if (!delim_ok(delim) || *name == '\0' || mutf7_decode(name, &u) < 0)
		goto bad;
	p = u.p;
	end = u.p + u.len;
	for (;;) {
		stop = delim ? memchr(p, delim, (size_t)(end - p)) : NULL;
		if (stop == NULL)
			stop = end;
		if (stop == p)
			goto bad;	/* an empty level has no directory */
		if (out.len > 0)
			buf_addc(&out, '/');
		escape_level(&out, p, (size_t)(stop - p));
		if (stop == end)
			break;
		p = stop + 1;
	}
	buf_free(&u);
	return buf_steal(&out);
bad:
	buf_free(&u);
	buf_free(&out);
	return NULL;
}

char *
pl_folder_remote(const char *local, char delim)
{
	struct buf u = { 0 }, out = { 0 };
	const char *p = local, *slash;

	if (!delim_ok(delim) || *local == '\0')
		goto bad;
	for (;;) {
		slash = strchr(p, '/');
		if (slash && !delim)
			goto bad;	/* no hierarchy on the server */
		if (u.len > 0)
			buf_addc(&u, delim);
		if (unescape_level(&u, p, slash ? (size_t)(slash - p) : strlen(p), delim) < 0)
			goto bad;
		if (!slash)
			break;
		p = slash + 1;
	}
	if (mutf7_encode(u.p, &out) < 0)
		goto bad;
	buf_free(&u);
	return buf_steal(&out);
bad:
	buf_free(&u);
	buf_free(&out);
	return NULL;
}
