/* sevenbit.c — quoted-printable down-conversion of 8-bit and long-line MIME
 * parts; see sevenbit.h.  Pure: bytes in, bytes out, libc only. */
#include <stdio.h>
#include <string.h>

#include "sevenbit.h"
#include "util.h"

#define DEPTH_MAX 20		/* nesting deeper than this is copied as it is */
#define LINE_MAX_OCTETS 998	/* RFC 5321 4.5.3.1.6, without the CRLF */
#define QP_COLS 75		/* RFC 2045 6.7: 76 with the soft break's '=' */

/* What the converter needs from an entity's header. */
struct part {
	char type[128];		/* "multipart/mixed", lower case, no parameters */
	char boundary[128];
	char cte[32];		/* Content-Transfer-Encoding, lower case */
	int has_version;	/* MIME-Version present */
};

/* The start of the line after the one at p (past its LF), or e. */
static const char *
next_line(const char *p, const char *e)
{
	const char *nl = memchr(p, '\n', (size_t)(e - p));

	return nl ? nl + 1 : e;
}

/* The end of the field starting at p: its line and continuation lines. */
static const char *
field_end(const char *p, const char *e)
{
	const char *f = next_line(p, e);

	while (f < e && (*f == ' ' || *f == '\t'))
		f = next_line(f, e);
	return f;
}

static int
is_blank(const char *p, const char *le)
{
	size_t n = (size_t)(le - p);

	return (n == 1 && p[0] == '\n') || (n == 2 && p[0] == '\r' && p[1] == '\n');
}

/* The value of a field [v, e) unfolded into out: line breaks dropped, tabs
 * made spaces, blanks trimmed at both ends. */
static void
unfold(const char *v, const char *e, char *out, size_t size)
{
	size_t n = 0;

	while (v < e && strchr(" \t\r\n", *v))
		v++;
	for (; v < e && n + 1 < size; v++) {
		if (*v == '\r' || *v == '\n')
			continue;
		out[n++] = *v == '\t' ? ' ' : *v;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static void
content_type(const char *v, struct part *pt)
{
	const char *b;
	size_t n = 0;

	while (v[n] && v[n] != ';' && v[n] != ' ' && n + 1 < sizeof pt->type) {
		pt->type[n] = (char)(v[n] >= 'A' && v[n] <= 'Z' ? v[n] + 'a' - 'A' : v[n]);
		n++;
	}
	pt->type[n] = '\0';
	for (b = v; *b; b++)
		if ((b == v || b[-1] == ';' || b[-1] == ' ') &&
		    ascii_ncasecmp(b, "boundary=", 9) == 0)
			break;
	if (*b == '\0')
		return;
	b += 9;
	n = 0;
	if (*b == '"')
		for (b++; *b && *b != '"' && n + 1 < sizeof pt->boundary; b++)
			pt->boundary[n++] = *b;
	else
		for (; *b && *b != ';' && *b != ' ' && n + 1 < sizeof pt->boundary; b++)
			pt->boundary[n++] = *b;
	pt->boundary[n] = '\0';
}

/* 1 when the field [f, fe) is called name. */
static int
field_is(const char *f, const char *fe, const char *colon, const char *name)
{
	size_t n = strlen(name);

	(void)fe;
	return (size_t)(colon - f) == n && ascii_ncasecmp(f, name, n) == 0;
}

static void
read_header(const char *p, const char *e, struct part *pt)
{
	char v[1024];

	memset(pt, 0, sizeof *pt);
	for (const char *fe; p < e; p = fe) {
		const char *colon;

		fe = field_end(p, e);
		if ((colon = memchr(p, ':', (size_t)(fe - p))) == NULL)
			continue;
		unfold(colon + 1, fe, v, sizeof v);
		if (field_is(p, fe, colon, "Content-Type")) {
			content_type(v, pt);
		} else if (field_is(p, fe, colon, "Content-Transfer-Encoding")) {
			snprintf(pt->cte, sizeof pt->cte, "%s", v);
			ascii_lower(pt->cte);
		} else if (field_is(p, fe, colon, "MIME-Version"))
			pt->has_version = 1;
	}
}

/* The header [p, e) without its Content-Transfer-Encoding fields. */
static void
put_header_without_cte(const char *p, const char *e, struct buf *out)
{
	for (const char *fe; p < e; p = fe) {
		fe = field_end(p, e);
		if (fe - p > 25 && ascii_ncasecmp(p, "Content-Transfer-Encoding", 25) == 0 &&
		    (p[25] == ':' || p[25] == ' ' || p[25] == '\t'))
			continue;
		buf_add(out, p, (size_t)(fe - p));
	}
}

/* 1 when the body [p, e) cannot travel as it is over 7-bit SMTP. */
static int
body_needs_qp(const char *p, const char *e)
{
	size_t col = 0;

	for (; p < e; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == 0 || c >= 0x80)
			return 1;
		col = c == '\n' ? 0 : col + 1;
		if (col > LINE_MAX_OCTETS)
			return 1;
	}
	return 0;
}

/* Quoted-printable (RFC 2045 6.7) of [p, e): line breaks stay hard breaks
 * (CRLF), blanks before them are encoded, '=' and every octet outside
 * printable ASCII but the tab too. */
static void
put_qp(const char *p, const char *e, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";

	while (p < e) {
		const char *le = next_line(p, e), *te = le;
		int hard = le > p && le[-1] == '\n', col = 0;

		if (hard && --te > p && te[-1] == '\r')
			te--;
		for (const char *q = p; q < te; q++) {
			unsigned char c = (unsigned char)*q;
			int esc = c == '=' || c > '~' || (c < ' ' && c != '\t') ||
			    ((c == ' ' || c == '\t') && q + 1 == te);
			int w = esc ? 3 : 1;

			if (col + w > QP_COLS) {
				buf_adds(out, "=\r\n");
				col = 0;
			}
			if (esc) {
				buf_addc(out, '=');
				buf_addc(out, hex[c >> 4]);
				buf_addc(out, hex[c & 15]);
			} else
				buf_addc(out, (char)c);
			col += w;
		}
		if (hard)
			buf_adds(out, "\r\n");
		p = le;
	}
}

static int entity(const char *p, const char *e, struct buf *out, int depth);

/* The body of a multipart: the preamble, each part between delimiter lines
 * (the line break before a delimiter belongs to it), the closing delimiter
 * and the epilogue. */
static int
multipart(const char *p, const char *e, const char *bnd, struct buf *out, int depth)
{
	size_t bl = strlen(bnd);
	const char *part = NULL;
	int n = 0;

	for (const char *le; p < e; p = le) {
		const char *pe;

		le = next_line(p, e);
		if (!((size_t)(le - p) >= bl + 2 && p[0] == '-' && p[1] == '-' &&
		    memcmp(p + 2, bnd, bl) == 0)) {
			if (part == NULL)
				buf_add(out, p, (size_t)(le - p));
			continue;
		}
		if (part) {
			pe = p;
			if (pe > part && pe[-1] == '\n')
				pe--;
			if (pe > part && pe[-1] == '\r')
				pe--;
			n += entity(part, pe, out, depth + 1);
			buf_add(out, pe, (size_t)(p - pe));
		}
		buf_add(out, p, (size_t)(le - p));
		if ((size_t)(le - p) >= bl + 4 && p[bl + 2] == '-' && p[bl + 3] == '-') {
			buf_add(out, le, (size_t)(e - le));
			return n;
		}
		part = le;
	}
	if (part)
		n += entity(part, e, out, depth + 1);
	return n;
}

/* A container (multipart, message/rfc822): its header, relabelled 7bit when
 * it said 8bit or binary and something inside was encoded. */
static void
put_container(const char *h, const char *he, const char *body, const struct part *pt,
    int n, int add_version, struct buf *inner, struct buf *out)
{
	if (n > 0 && (!strcmp(pt->cte, "8bit") || !strcmp(pt->cte, "binary"))) {
		put_header_without_cte(h, he, out);
		buf_adds(out, "Content-Transfer-Encoding: 7bit\r\n");
	} else
		buf_add(out, h, (size_t)(he - h));
	if (add_version && n > 0 && !pt->has_version)
		buf_adds(out, "MIME-Version: 1.0\r\n");
	buf_add(out, he, (size_t)(body - he));
	if (inner->len)
		buf_add(out, inner->p, inner->len);
	buf_free(inner);
}

/* One entity [p, e): header, blank line, body.  Returns parts encoded. */
static int
entity(const char *p, const char *e, struct buf *out, int depth)
{
	const char *he, *body;
	struct buf inner = { 0 };
	struct part pt;
	int n;

	for (he = p; he < e; he = next_line(he, e))
		if (is_blank(he, next_line(he, e)))
			break;
	body = he < e ? next_line(he, e) : e;
	read_header(p, he, &pt);
	if (depth > DEPTH_MAX) {
		buf_add(out, p, (size_t)(e - p));
		return 0;
	}
	if (strncmp(pt.type, "multipart/", 10) == 0 && pt.boundary[0]) {
		n = multipart(body, e, pt.boundary, &inner, depth);
		put_container(p, he, body, &pt, n, depth == 0, &inner, out);
		return n;
	}
	if (!strcmp(pt.type, "message/rfc822") || !strcmp(pt.type, "message/global")) {
		n = entity(body, e, &inner, depth + 1);
		put_container(p, he, body, &pt, n, 0, &inner, out);
		return n;
	}
	if (!strcmp(pt.cte, "base64") || !strcmp(pt.cte, "quoted-printable") ||
	    !body_needs_qp(body, e)) {
		buf_add(out, p, (size_t)(e - p));
		return 0;
	}
	put_header_without_cte(p, he, out);
	if (depth == 0 && !pt.has_version)
		buf_adds(out, "MIME-Version: 1.0\r\n");
	buf_adds(out, "Content-Transfer-Encoding: quoted-printable\r\n");
	if (he < e)
		buf_add(out, he, (size_t)(body - he));
	else
		buf_adds(out, "\r\n");
	put_qp(body, e, out);
	return 1;
}

int
pl_7bit_convert(const char *msg, size_t len, struct buf *out)
{
	return entity(msg, msg + len, out, 0);
}

int
pl_7bit_needed(const char *msg, size_t len)
{
	struct buf tmp = { 0 };
	int n = pl_7bit_convert(msg, len, &tmp);

	buf_free(&tmp);
	return n > 0;
}
