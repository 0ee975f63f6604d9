/* rfc2047.c — encoded words in header text (see rfc2047.h).
 *
 * Leniencies (mail as mailers write it): encoded words are recognized
 * anywhere, not only between white space; base64 padding and stray
 * characters inside a word are skipped; a word with an unknown charset is
 * decoded as if it had none (UTF-8 when valid, else windows-1252). */
#include <string.h>

#include <glib.h>

#include "mimetext.h"
#include "rfc2047.h"
#include "util.h"

struct ew {
	char charset[64];
	char enc;		/* 'B' or 'Q' */
	const char *text;
	size_t textlen;
};

/* Parses an encoded word at s: its length, or 0 when s does not start one. */
static size_t
ew_parse(const char *s, struct ew *w)
{
	const char *p = s + 2, *q, *end;
	size_t n;

	if (s[0] != '=' || s[1] != '?')
		return 0;
	for (q = p; *q && *q != '?' && *q != ' ' && *q != '\t' && *q != '\r' && *q != '\n'; q++)
		;
	n = (size_t)(q - p);
	if (*q != '?' || n == 0 || n >= sizeof w->charset)
		return 0;
	memcpy(w->charset, p, n);
	w->charset[n] = '\0';
	w->charset[strcspn(w->charset, "*")] = '\0';	/* RFC 2231 language */
	if ((q[1] != 'B' && q[1] != 'b' && q[1] != 'Q' && q[1] != 'q') || q[2] != '?')
		return 0;
	w->enc = q[1] == 'b' || q[1] == 'B' ? 'B' : 'Q';
	w->text = q + 3;
	for (end = w->text; *end && !(end[0] == '?' && end[1] == '='); end++)
		if (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			return 0;
	if (*end == '\0')
		return 0;
	w->textlen = (size_t)(end - w->text);
	return (size_t)(end + 2 - s);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Appends the bytes the word's text stands for. */
static void
ew_bytes(const struct ew *w, struct buf *out)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned acc = 0;
	int bits = 0;

	for (size_t i = 0; i < w->textlen; i++) {
		char c = w->text[i];

		if (w->enc == 'B') {
			const char *k = c ? strchr(b64, c) : NULL;

			if (k == NULL)
				continue;	/* padding, or junk */
			acc = (acc << 6 | (unsigned)(k - b64)) & 0xffffff;
			if ((bits += 6) >= 8) {
				bits -= 8;
				buf_addc(out, (char)(acc >> bits & 0xff));
			}
		} else if (c == '_') {
			buf_addc(out, ' ');
		} else if (c == '=' && i + 2 < w->textlen && hexval(w->text[i + 1]) >= 0 &&
		    hexval(w->text[i + 2]) >= 0) {
			buf_addc(out, (char)(hexval(w->text[i + 1]) << 4 | hexval(w->text[i + 2])));
			i += 2;
		} else {
			buf_addc(out, c);
		}
	}
}

/* Decodes (merge = 0) or rewrites (merge = 1) s; see rfc2047.h. */
static char *
scan(const char *s, int merge)
{
	struct buf out = { 0 }, raw = { 0 }, pend = { 0 }, run = { 0 };
	char pcs[64] = "";
	struct ew w;
	size_t i = 0, k;

	buf_adds(&out, "");
	buf_adds(&raw, "");
	buf_adds(&pend, "");
	buf_adds(&run, "");
	for (;;) {
		int ew = s[i] == '=' && s[i + 1] == '?' && (k = ew_parse(s + i, &w)) > 0;

		/* A run of encoded words ends: its text goes out. */
		if (!ew && (pend.len > 0 || run.len > 0)) {
			pl_text_to_utf8(&run, pend.p, pend.len, pcs);
			pend.len = 0;
			if (merge) {
				gchar *b = g_base64_encode((const guchar *)run.p, run.len);

				buf_printf(&out, "=?UTF-8?B?%s?=", b);
				g_free(b);
			} else {
				buf_add(&out, run.p, run.len);
			}
			run.len = 0;
		}
		if (ew) {
			if (raw.len > 0) {
				if (merge)
					buf_add(&out, raw.p, raw.len);
				else
					pl_text_to_utf8(&out, raw.p, raw.len, NULL);
				raw.len = 0;
			}
			if (pend.len > 0 && ascii_casecmp(pcs, w.charset) != 0) {
				pl_text_to_utf8(&run, pend.p, pend.len, pcs);
				pend.len = 0;
			}
			memcpy(pcs, w.charset, sizeof pcs);
			ew_bytes(&w, &pend);
			i += k;
			/* White space between two encoded words is not text. */
			k = i;
			while (s[k] == ' ' || s[k] == '\t' || s[k] == '\r' || s[k] == '\n')
				k++;
			if (k > i && s[k] == '=' && s[k + 1] == '?' && ew_parse(s + k, &w) > 0)
				i = k;
			continue;
		}
		if (s[i] == '\0')
			break;
		buf_addc(&raw, s[i++]);
	}
	if (raw.len > 0) {
		if (merge)
			buf_add(&out, raw.p, raw.len);
		else
			pl_text_to_utf8(&out, raw.p, raw.len, NULL);
	}
	buf_free(&raw);
	buf_free(&pend);
	buf_free(&run);
	return buf_steal(&out);
}

char *
pl_rfc2047_decode(const char *s)
{
	return scan(s, 0);
}

char *
pl_rfc2047_merge(const char *s)
{
	return scan(s, 1);
}
