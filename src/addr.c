/* addr.c — RFC 5322 address-list parser and RFC 5321 mailbox checks.
 *
 * Deliberate leniencies are listed in doc/VIOLATIONS.md: empty list elements,
 * obs-route in angle addresses (dropped), and display names with dots. */
#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tok { T_END, T_ATOM, T_QSTR, T_DOT, T_SPECIAL };

struct parser {
	const char *s;
	size_t i, n;
	const char *err;
};

static int
is_atext(unsigned char c)
{
	if (c >= 0x80)		/* UTF-8, RFC 6532 */
		return 1;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int
peek(struct parser *p)
{
	return p->i < p->n ? (unsigned char)p->s[p->i] : -1;
}

/* Skips folding white space and (nested) comments.  0, or -1 on an open comment. */
static int
skip_cfws(struct parser *p)
{
	for (;;) {
		int c = peek(p);

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			p->i++;
		} else if (c == '(') {
			int depth = 0;
			do {
				c = peek(p);
				if (c < 0) {
					p->err = "unclosed comment";
					return -1;
				}
				p->i++;
				if (c == '\\' && p->i < p->n)
					p->i++;
				else if (c == '(')
					depth++;
				else if (c == ')')
					depth--;
			} while (depth > 0);
		} else {
			return 0;
		}
	}
}

/* Reads one token after CFWS; text receives its content (quoted strings with
 * their quotes and escapes as written). */
static enum tok
next_token(struct parser *p, struct buf *text)
{
	int c;

	text->len = 0;
	if (text->p)
		text->p[0] = '\0';
	if (skip_cfws(p) < 0)
		return T_SPECIAL;
	c = peek(p);
	if (c < 0)
		return T_END;
	if (c == '"') {
		size_t start = p->i++;
		for (;;) {
			c = peek(p);
			if (c < 0) {
				p->err = "unclosed quoted string";
				return T_SPECIAL;
			}
			p->i++;
			if (c == '\\') {
				if (p->i >= p->n) {
					p->err = "unclosed quoted string";
					return T_SPECIAL;
				}
				p->i++;
			} else if (c == '"') {
				break;
			}
		}
		buf_add(text, p->s + start, p->i - start);
		return T_QSTR;
	}
	if (c == '.') {
		p->i++;
		buf_addc(text, '.');
		return T_DOT;
	}
	if (is_atext((unsigned char)c)) {
		size_t start = p->i;
		while (p->i < p->n && is_atext((unsigned char)p->s[p->i]))
			p->i++;
		buf_add(text, p->s + start, p->i - start);
		return T_ATOM;
	}
	buf_addc(text, (char)c);
	return T_SPECIAL;
}

/* The content of a quoted string, without quotes and escapes. */
static void
unquote(struct buf *out, const char *q)
{
	size_t n = strlen(q);

	for (size_t i = 1; i + 1 < n; i++) {
		if (q[i] == '\\' && i + 2 < n)
			i++;
		if (q[i] != '\r' && q[i] != '\n')
			buf_addc(out, q[i]);
	}
}

/* Checks a domain: dot-separated labels of letters, digits and hyphens (or
 * UTF-8), or an address literal.  Returns a reason or NULL. */
static const char *
check_domain(const char *d)
{
	size_t n = strlen(d);

	if (n == 0)
		return "domain missing after @";
	if (n > 253)
		return "domain longer than 253 characters";
	if (d[0] == '[') {
		char lit[64];
		unsigned char tmp[16];

		if (d[n - 1] != ']' || n - 2 >= sizeof lit)
			return "bad address literal";
		memcpy(lit, d + 1, n - 2);
		lit[n - 2] = '\0';
		if (ascii_ncasecmp(lit, "IPv6:", 5) == 0)
			return inet_pton(AF_INET6, lit + 5, tmp) == 1 ? NULL : "bad IPv6 address literal";
		return inet_pton(AF_INET, lit, tmp) == 1 ? NULL : "bad IPv4 address literal";
	}
	for (const char *label = d; ; ) {
		const char *end = strchr(label, '.');
		size_t len = end ? (size_t)(end - label) : strlen(label);

		if (len == 0)
			return "empty label in domain";
		if (len > 63)
			return "domain label longer than 63 characters";
		if (label[0] == '-' || label[len - 1] == '-')
			return "domain label starts or ends with '-'";
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)label[i];
			if (!(c >= 0x80 || c == '-' || (c >= '0' && c <= '9') ||
			    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
				return "invalid character in domain";
		}
		if (end == NULL)
			break;
		label = end + 1;
	}
	return NULL;
}

/* Parses the domain after '@' into out (lower case). */
static int
parse_domain(struct parser *p, struct buf *out)
{
	struct buf t = { 0 };
	enum tok k;
	int want_label = 1;

	if (skip_cfws(p) < 0)
		return -1;
	if (peek(p) == '[') {
		size_t start = p->i;
		while (p->i < p->n && p->s[p->i] != ']')
			p->i++;
		if (p->i >= p->n) {
			p->err = "unclosed address literal";
			return -1;
		}
		p->i++;
		buf_add(out, p->s + start, p->i - start);
		return 0;
	}
	for (;;) {
		size_t save = p->i;

		k = next_token(p, &t);
		if (want_label && k == T_ATOM) {
			buf_adds(out, t.p);
			want_label = 0;
		} else if (!want_label && k == T_DOT) {
			buf_addc(out, '.');
			want_label = 1;
		} else {
			p->i = save;
			break;
		}
	}
	buf_free(&t);
	if (p->err)
		return -1;
	if (out->len == 0) {
		p->err = "domain missing after @";
		return -1;
	}
	ascii_lower(out->p);
	return 0;
}

/* Words of a phrase or local part, gathered until a special. */
struct words {
	struct buf raw;		/* as an SMTP local part: tokens joined, no spaces */
	struct buf display;	/* as a display name: unquoted, spaced */
	int ntok, nqstr, ndots;
	int last_dot, leading_dot, double_dot;
	int spaced_words;	/* two words with only white space between them */
};

static void
gather_words(struct parser *p, struct words *w)
{
	struct buf t = { 0 };

	for (;;) {
		size_t save = p->i;
		size_t before = p->i;
		enum tok k;

		skip_cfws(p);
		int spaced = p->i != before;
		k = next_token(p, &t);
		if (k != T_ATOM && k != T_QSTR && k != T_DOT) {
			p->i = save;
			break;
		}
		if (k == T_DOT) {
			if (w->ntok == 0)
				w->leading_dot = 1;
			if (w->last_dot)
				w->double_dot = 1;
			w->ndots++;
		}
		if (k == T_QSTR)
			w->nqstr++;
		buf_adds(&w->raw, t.p);
		if (spaced && w->ntok > 0 && k != T_DOT && !w->last_dot)
			w->spaced_words = 1;
		if (w->display.len && spaced && k != T_DOT)
			buf_addc(&w->display, ' ');
		if (k == T_QSTR)
			unquote(&w->display, t.p);
		else
			buf_adds(&w->display, t.p);
		w->last_dot = k == T_DOT;
		w->ntok++;
	}
	buf_free(&t);
}

static void
words_free(struct words *w)
{
	buf_free(&w->raw);
	buf_free(&w->display);
}

/* Makes local@domain from gathered words and the domain after '@'. */
static char *
make_mailbox(struct parser *p, struct words *w)
{
	struct buf dom = { 0 }, mb = { 0 };
	const char *why;

	if (w->ntok == 0) {
		p->err = "local part missing before @";
		return NULL;
	}
	if (w->spaced_words) {
		/* "Bob bob@example.net": a name without <>, not a local part */
		p->err = "a space before the @ (write Name <address>)";
		return NULL;
	}
	if (w->nqstr > 0 && w->ntok > 1) {
		p->err = "local part mixes quoted and unquoted text";
		return NULL;
	}
	if (w->nqstr == 0 && (w->leading_dot || w->last_dot || w->double_dot)) {
		p->err = "local part has a misplaced '.'";
		return NULL;
	}
	if (w->raw.len > 64) {
		p->err = "local part longer than 64 characters";
		return NULL;
	}
	p->i++;			/* '@' */
	if (parse_domain(p, &dom) < 0) {
		buf_free(&dom);
		return NULL;
	}
	if ((why = check_domain(dom.p)) != NULL) {
		p->err = why;
		buf_free(&dom);
		return NULL;
	}
	buf_printf(&mb, "%s@%s", w->raw.p, dom.p);
	buf_free(&dom);
	if (mb.len > 254) {
		p->err = "address longer than 254 characters";
		buf_free(&mb);
		return NULL;
	}
	return buf_steal(&mb);
}

/* angle-addr after '<' was seen: [obs-route] addr-spec '>'. */
static char *
parse_angle(struct parser *p)
{
	struct words w = { 0 };
	char *mb;

	p->i++;			/* '<' */
	skip_cfws(p);
	if (peek(p) == '@') {	/* obs-route: @a,@b: — dropped */
		while (p->i < p->n && p->s[p->i] != ':' && p->s[p->i] != '>')
			p->i++;
		if (peek(p) != ':') {
			p->err = "bad source route";
			return NULL;
		}
		p->i++;
	}
	if (skip_cfws(p) < 0)
		return NULL;
	if (peek(p) == '>') {
		p->err = "empty address <>";
		return NULL;
	}
	gather_words(p, &w);
	if (!p->err)
		skip_cfws(p);
	if (p->err || peek(p) != '@') {
		if (!p->err)
			p->err = w.ntok ? "no @domain" : "not an address";
		words_free(&w);
		return NULL;
	}
	mb = make_mailbox(p, &w);
	words_free(&w);
	if (mb == NULL)
		return NULL;
	if (skip_cfws(p) < 0 || peek(p) != '>') {
		if (!p->err)
			p->err = "missing '>'";
		free(mb);
		return NULL;
	}
	p->i++;
	return mb;
}

static void
list_push(struct pl_addrlist *l, char *display, char *mailbox)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n].display = display;
	l->v[l->n].mailbox = mailbox;
	l->n++;
}

/* One mailbox, or a group when allow_group.  Appends to out. */
static int
parse_address(struct parser *p, struct pl_addrlist *out, int allow_group)
{
	struct words w = { 0 };
	char *mb;
	int c;

	gather_words(p, &w);
	if (p->err || skip_cfws(p) < 0)
		goto fail;
	c = peek(p);
	if (c == '<') {
		mb = parse_angle(p);
		if (mb == NULL)
			goto fail;
		list_push(out, w.display.len ? xstrdup(w.display.p) : NULL, mb);
	} else if (c == '@') {
		mb = make_mailbox(p, &w);
		if (mb == NULL)
			goto fail;
		list_push(out, NULL, mb);
	} else if (c == ':' && allow_group && w.ntok > 0) {
		p->i++;
		for (;;) {
			if (skip_cfws(p) < 0)
				goto fail;
			c = peek(p);
			if (c == ';') {
				p->i++;
				break;
			}
			if (c == ',') {
				p->i++;
				continue;
			}
			if (c < 0) {
				p->err = "group not closed with ';'";
				goto fail;
			}
			if (parse_address(p, out, 0) < 0)
				goto fail;
			if (skip_cfws(p) < 0)
				goto fail;
			c = peek(p);
			if (c != ',' && c != ';') {
				p->err = "expected ',' or ';' in group";
				goto fail;
			}
		}
	} else if (w.ntok > 0) {
		p->err = c < 0 ? "no @domain" : "unexpected character after name";
		goto fail;
	} else {
		p->err = "not an address";
		goto fail;
	}
	words_free(&w);
	return 0;
fail:
	words_free(&w);
	return -1;
}

/* The text of the list element that starts at from, for error messages. */
static void
element_text(const char *s, size_t n, size_t from, char *out, size_t len)
{
	size_t end = from;
	int quoted = 0, angle = 0;

	while (end < n) {
		char c = s[end];
		if (c == '"')
			quoted = !quoted;
		else if (!quoted && c == '<')
			angle = 1;
		else if (!quoted && c == '>')
			angle = 0;
		else if (!quoted && !angle && c == ',')
			break;
		end++;
	}
	while (from < end && (s[from] == ' ' || s[from] == '\t' || s[from] == '\r' || s[from] == '\n'))
		from++;
	while (end > from && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\r' ||
	    s[end - 1] == '\n'))
		end--;
	if (end - from >= len)
		snprintf(out, len, "%.*s...", (int)(len - 4), s + from);
	else
		snprintf(out, len, "%.*s", (int)(end - from), s + from);
	for (char *q = out; *q; q++)
		if ((unsigned char)*q < 0x20)
			*q = ' ';
}

int
pl_addr_parse_list(const char *s, struct pl_addrlist *out, struct pl_err *e)
{
	struct parser p = { s, 0, strlen(s), NULL };
	struct pl_addrlist tmp = { 0 };

	for (;;) {
		size_t start;
		int c;

		if (skip_cfws(&p) < 0)
			goto fail_at;
		c = peek(&p);
		if (c < 0)
			break;
		if (c == ',') {
			p.i++;
			continue;
		}
		start = p.i;
		if (parse_address(&p, &tmp, 1) < 0) {
			p.i = start;
			goto fail_at;
		}
		if (skip_cfws(&p) < 0)
			goto fail_at;
		c = peek(&p);
		if (c >= 0 && c != ',') {
			p.err = "unexpected text after address";
			goto fail_at;
		}
	}
	for (size_t i = 0; i < tmp.n; i++)
		list_push(out, tmp.v[i].display, tmp.v[i].mailbox);
	free(tmp.v);
	return 0;
fail_at:
	{
		char what[200];
		element_text(s, p.n, p.i, what, sizeof what);
		pl_addrlist_free(&tmp);
		return pl_errf(e, EX_DATAERR, "malformed address '%s': %s", what,
		    p.err ? p.err : "syntax error");
	}
}

int
pl_addr_parse_one(const char *s, char **mailbox, struct pl_err *e)
{
	struct pl_addrlist l = { 0 };

	if (pl_addr_parse_list(s, &l, e) < 0)
		return -1;
	if (l.n != 1) {
		size_t n = l.n;
		pl_addrlist_free(&l);
		return pl_errf(e, EX_DATAERR, "malformed address '%s': %s", s,
		    n == 0 ? "empty" : "more than one address");
	}
	*mailbox = l.v[0].mailbox;
	free(l.v[0].display);
	free(l.v);
	return 0;
}

void
pl_addrlist_free(struct pl_addrlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].display);
		free(l->v[i].mailbox);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
pl_addrlist_add_unique(struct pl_addrlist *l, const char *mailbox)
{
	for (size_t i = 0; i < l->n; i++)
		if (pl_addr_equal(l->v[i].mailbox, mailbox))
			return 0;
	list_push(l, NULL, xstrdup(mailbox));
	return 1;
}

const char *
pl_addr_domain(const char *mailbox)
{
	const char *at = strrchr(mailbox, '@');

	return at ? at + 1 : "";
}

int
pl_addr_equal(const char *a, const char *b)
{
	const char *da = strrchr(a, '@'), *db = strrchr(b, '@');

	if (da == NULL || db == NULL)
		return strcmp(a, b) == 0;
	if (da - a != db - b || memcmp(a, b, (size_t)(da - a)) != 0)
		return 0;
	return ascii_casecmp(da, db) == 0;
}

int
pl_addr_is_utf8(const char *mailbox)
{
	for (const unsigned char *s = (const unsigned char *)mailbox; *s; s++)
		if (*s >= 0x80)
			return 1;
	return 0;
}
