/* message.c — parse, check and rewrite a message for the queue.
 *
 * Leniencies (doc/VIOLATIONS.md): a leading mbox "From " line is dropped; a
 * line in the header block that is not a field ends the headers and starts the
 * body, as sendmail does; bare CR and bare LF both become CRLF. */
#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LINE 998

struct lines {
	const char *p, *end;
};

/* Yields each line without its ending; CRLF, LF and a bare CR all end a line. */
static int
next_line(struct lines *l, const char **s, size_t *n)
{
	const char *q;

	if (l->p >= l->end)
		return 0;
	*s = l->p;
	for (q = l->p; q < l->end && *q != '\n' && *q != '\r'; q++)
		;
	*n = (size_t)(q - l->p);
	if (q < l->end && *q == '\r')
		q++;
	if (q < l->end && *q == '\n' && (q == *s + *n || q[-1] == '\r'))
		q++;
	l->p = q;
	return 1;
}

static int
is_field_name(const char *s, size_t n, size_t *namelen, size_t *colon)
{
	size_t i, j;

	for (i = 0; i < n && s[i] != ':'; i++)
		if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127)
			break;
	/* VIOLATION (RFC 5322 4.5, obs-optional): white space may stand
	 * between the name and the colon, "Subject : x"; it is dropped. */
	for (j = i; j < n && (s[j] == ' ' || s[j] == '\t'); j++)
		;
	if (i == 0 || j == n || s[j] != ':')
		return 0;
	*namelen = i;
	*colon = j;
	return 1;
}

int
pl_message_parse(const char *data, size_t len, struct pl_message *m, struct pl_err *e)
{
	struct lines l = { data, data + len };
	struct buf body = { 0 };
	const char *s;
	size_t n, lineno = 0;
	int in_headers = 1;

	memset(m, 0, sizeof *m);
	if (len > 0 && memchr(data, '\0', len) != NULL)
		return pl_errf(e, EX_DATAERR, "message contains a NUL byte at offset %zu "
		    "(SMTP cannot carry it; encode binary data as an attachment)",
		    (size_t)((const char *)memchr(data, '\0', len) - data));
	while (next_line(&l, &s, &n)) {
		size_t namelen, colon;

		lineno++;
		if (in_headers) {
			if (lineno == 1 && n >= 5 && memcmp(s, "From ", 5) == 0)
				continue;
			if (n > MAX_LINE)
				goto toolong;
			if (n == 0) {
				in_headers = 0;
				continue;
			}
			if ((s[0] == ' ' || s[0] == '\t') && m->nh > 0) {
				struct pl_header *h = &m->h[m->nh - 1];
				size_t old = strlen(h->value);
				h->value = xrealloc(h->value, old + 2 + n + 1);
				memcpy(h->value + old, "\r\n", 2);
				memcpy(h->value + old + 2, s, n);
				h->value[old + 2 + n] = '\0';
				continue;
			}
			if (is_field_name(s, n, &namelen, &colon)) {
				const char *v = s + colon + 1;
				m->h = xrealloc(m->h, (m->nh + 1) * sizeof *m->h);
				m->h[m->nh].name = xstrndup(s, namelen);
				m->h[m->nh].value = xstrndup(v, n - colon - 1);
				m->nh++;
				continue;
			}
			in_headers = 0;	/* not a field: the body starts here */
		}
		buf_add(&body, s, n);
		buf_add(&body, "\r\n", 2);
	}
	for (size_t i = 0; i < m->nh; i++)
		if (pl_has_8bit(m->h[i].value, strlen(m->h[i].value)) ||
		    pl_has_8bit(m->h[i].name, strlen(m->h[i].name)))
			m->header_8bit = 1;
	m->body_8bit = pl_has_8bit(body.p ? body.p : "", body.len);
	m->bodylen = body.len;
	m->body = buf_steal(&body);
	return 0;
toolong:
	{
		char name[40];
		size_t k = 0;
		while (k < n && k < sizeof name - 1 && s[k] != ':')
			k++;
		snprintf(name, sizeof name, "%.*s", (int)k, s);
		pl_message_free(m);
		buf_free(&body);
		return pl_errf(e, EX_DATAERR, "header line %zu (%s) is %zu octets long; "
		    "the limit is 998 (RFC 5322): fold it", lineno, name, n);
	}
}

void
pl_message_free(struct pl_message *m)
{
	for (size_t i = 0; i < m->nh; i++) {
		free(m->h[i].name);
		free(m->h[i].value);
	}
	free(m->h);
	free(m->body);
	memset(m, 0, sizeof *m);
}

const char *
pl_message_get(const struct pl_message *m, const char *name)
{
	for (size_t i = 0; i < m->nh; i++)
		if (ascii_casecmp(m->h[i].name, name) == 0)
			return m->h[i].value;
	return NULL;
}

int
pl_message_remove(struct pl_message *m, const char *name)
{
	size_t j = 0;
	int removed = 0;

	for (size_t i = 0; i < m->nh; i++) {
		if (ascii_casecmp(m->h[i].name, name) == 0) {
			free(m->h[i].name);
			free(m->h[i].value);
			removed++;
		} else {
			m->h[j++] = m->h[i];
		}
	}
	m->nh = j;
	return removed;
}

void
pl_message_add(struct pl_message *m, const char *name, const char *value)
{
	struct buf v = { 0 };

	buf_addc(&v, ' ');
	buf_adds(&v, value);
	m->h = xrealloc(m->h, (m->nh + 1) * sizeof *m->h);
	m->h[m->nh].name = xstrdup(name);
	m->h[m->nh].value = buf_steal(&v);
	m->nh++;
}

void
pl_message_write(const struct pl_message *m, struct buf *out)
{
	for (size_t i = 0; i < m->nh; i++) {
		buf_adds(out, m->h[i].name);
		buf_addc(out, ':');
		buf_adds(out, m->h[i].value);
		buf_add(out, "\r\n", 2);
	}
	buf_add(out, "\r\n", 2);
	buf_add(out, m->body, m->bodylen);
}

void
pl_rfc5322_date(int64_t t, char *out, size_t len)
{
	static const char *days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *mons[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
		"Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;
	long off;

	localtime_r(&tt, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(out, len, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday],
	    tm.tm_mday, mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

static void
base64(struct buf *out, const unsigned char *s, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		buf_addc(out, tab[(v >> 18) & 63]);
		buf_addc(out, tab[(v >> 12) & 63]);
		buf_addc(out, i + 1 < n ? tab[(v >> 6) & 63] : '=');
		buf_addc(out, i + 2 < n ? tab[v & 63] : '=');
	}
}

void
pl_encode_display_name(struct buf *out, const char *name)
{
	int special = 0;

	if (pl_has_8bit(name, strlen(name))) {
		/* RFC 2047 B encoding, in words of at most 45 octets of UTF-8 that
		 * never split a character. */
		const unsigned char *s = (const unsigned char *)name;
		size_t n = strlen(name);
		while (n > 0) {
			size_t take = n < 45 ? n : 45;
			while (take > 0 && take < n && (s[take] & 0xc0) == 0x80)
				take--;
			if (take == 0)	/* not UTF-8: split anywhere */
				take = n < 45 ? n : 45;
			buf_adds(out, "=?UTF-8?B?");
			base64(out, s, take);
			buf_adds(out, "?=");
			s += take;
			n -= take;
			if (n > 0)
				buf_adds(out, "\r\n ");
		}
		return;
	}
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(" !#$%&'*+-/=?^_`{|}~", *p)))
			special = 1;
	if (!special) {
		buf_adds(out, name);
		return;
	}
	buf_addc(out, '"');
	for (const char *p = name; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addc(out, '\\');
		if (*p != '\r' && *p != '\n')
			buf_addc(out, *p);
	}
	buf_addc(out, '"');
}
