/* compose.c — templates, the draft file and the final MIME message (compose.h). */
#include "compose.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "fsutil.h"
#include "message.h"

/* The largest file attached (the queue refuses bigger messages anyway). */
#define ATTACH_MAX (64 * 1024 * 1024)

/* --- draft fields ------------------------------------------------------- */

const char *
pl_draft_get(const struct pl_draft *d, const char *name)
{
	for (size_t i = 0; i < d->nf; i++)
		if (ascii_casecmp(d->f[i].name, name) == 0)
			return d->f[i].value;
	return NULL;
}

void
pl_draft_set(struct pl_draft *d, const char *name, const char *value)
{
	for (size_t i = 0; i < d->nf; i++) {
		if (ascii_casecmp(d->f[i].name, name) != 0)
			continue;
		free(d->f[i].value);
		if (value) {
			d->f[i].value = xstrdup(value);
			return;
		}
		free(d->f[i].name);
		memmove(&d->f[i], &d->f[i + 1], (d->nf - i - 1) * sizeof d->f[0]);
		d->nf--;
		return;
	}
	if (value == NULL)
		return;
	d->f = xrealloc(d->f, (d->nf + 1) * sizeof d->f[0]);
	d->f[d->nf].name = xstrdup(name);
	d->f[d->nf].value = xstrdup(value);
	d->nf++;
}

void
pl_draft_attach(struct pl_draft *d, const char *path, const char *type, const char *name)
{
	d->att = xrealloc(d->att, (d->natt + 1) * sizeof d->att[0]);
	d->att[d->natt].path = xstrdup(path);
	d->att[d->natt].type = type ? xstrdup(type) : NULL;
	d->att[d->natt].name = name ? xstrdup(name) : NULL;
	d->natt++;
}

void
pl_draft_detach(struct pl_draft *d, size_t i)
{
	if (i >= d->natt)
		return;
	free(d->att[i].path);
	free(d->att[i].type);
	free(d->att[i].name);
	memmove(&d->att[i], &d->att[i + 1], (d->natt - i - 1) * sizeof d->att[0]);
	d->natt--;
}

static void
free_fields(struct pl_draft *d)
{
	for (size_t i = 0; i < d->nf; i++) {
		free(d->f[i].name);
		free(d->f[i].value);
	}
	free(d->f);
	d->f = NULL;
	d->nf = 0;
}

void
pl_draft_free(struct pl_draft *d)
{
	free_fields(d);
	while (d->natt > 0)
		pl_draft_detach(d, d->natt - 1);
	free(d->att);
	free(d->body);
	memset(d, 0, sizeof *d);
}

/* A new string: n bytes of s without blanks at either end. */
static char *
trimdup(const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
	    s[n - 1] == '\n'))
		n--;
	return xstrndup(s, n);
}

/* --- addresses in the draft ---------------------------------------------- */

/* "Name <addr>" as the user reads it: UTF-8, quoted only when the name has
 * characters an address list gives a meaning to. */
static void
fmt_addr(struct buf *b, const char *display, const char *mailbox)
{
	if (display == NULL || *display == '\0') {
		buf_adds(b, mailbox);
		return;
	}
	if (strpbrk(display, "()<>[]:;@\\,.\"")) {
		buf_addc(b, '"');
		for (const char *p = display; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_addc(b, '\\');
			if (*p != '\r' && *p != '\n')
				buf_addc(b, *p);
		}
		buf_addc(b, '"');
	} else {
		buf_adds(b, display);
	}
	buf_printf(b, " <%s>", mailbox);
}

static char *
account_from(const struct pl_account *a)
{
	struct buf b = { 0 };

	buf_adds(&b, "");
	if (a)
		fmt_addr(&b, a->display_name, a->address);
	return buf_steal(&b);
}

/* Parses a header's address list, display names decoded by o->decode.
 * -1 (nothing appended) when it does not parse. */
static int
orig_addrs(const struct pl_orig *o, const char *value, struct pl_addrlist *l)
{
	size_t first = l->n;

	if (value == NULL)
		return 0;
	if (pl_addr_parse_list(value, l, NULL) < 0)
		return -1;
	for (size_t i = first; o->decode && i < l->n; i++) {
		if (l->v[i].display) {
			char *dec = o->decode(l->v[i].display);
			if (dec) {
				free(l->v[i].display);
				l->v[i].display = dec;
			}
		}
	}
	return 0;
}

static int
in_list(const struct pl_addrlist *l, const char *mailbox)
{
	for (size_t i = 0; i < l->n; i++)
		if (pl_addr_equal(l->v[i].mailbox, mailbox))
			return 1;
	return 0;
}

static void
push_addr(struct pl_addrlist *l, const struct pl_addr *a)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof l->v[0]);
	l->v[l->n].display = a->display ? xstrdup(a->display) : NULL;
	l->v[l->n].mailbox = xstrdup(a->mailbox);
	l->n++;
}

static char *
fmt_list(const struct pl_addrlist *l)
{
	struct buf b = { 0 };

	buf_adds(&b, "");
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			buf_adds(&b, ", ");
		fmt_addr(&b, l->v[i].display, l->v[i].mailbox);
	}
	return buf_steal(&b);
}

/* The account with this address, the local part's case ignored too: mail
 * to ME@example.org reaches me@example.org on every server one meets. */
static const struct pl_account *
own_account(const struct pl_config *c, const char *mailbox)
{
	for (size_t i = 0; i < c->naccounts; i++)
		if (c->accounts[i].address && ascii_casecmp(c->accounts[i].address, mailbox) == 0)
			return &c->accounts[i];
	return NULL;
}

static int
is_own(const struct pl_config *c, const char *mailbox)
{
	return own_account(c, mailbox) != NULL;
}

const struct pl_account *
pl_compose_pick_account(const struct pl_config *c, const struct pl_orig *o)
{
	const char *fields[3];

	if (o) {
		fields[0] = o->to;
		fields[1] = o->cc;
		fields[2] = o->delivered_to;
		for (int k = 0; k < 3; k++) {
			struct pl_addrlist l = { 0 };
			const struct pl_account *a = NULL;
			if (fields[k] == NULL || pl_addr_parse_list(fields[k], &l, NULL) < 0)
				continue;
			for (size_t i = 0; i < l.n && a == NULL; i++)
				a = own_account(c, l.v[i].mailbox);
			pl_addrlist_free(&l);
			if (a)
				return a;
		}
	}
	return pl_config_default_account(c);
}

/* --- templates ------------------------------------------------------------ */

static void
base_fields(struct pl_draft *d, const struct pl_account *a)
{
	char *from = account_from(a);

	memset(d, 0, sizeof *d);
	pl_draft_set(d, "From", from);
	pl_draft_set(d, "To", "");
	pl_draft_set(d, "Cc", "");
	pl_draft_set(d, "Bcc", "");
	pl_draft_set(d, "Subject", "");
	free(from);
}

void
pl_compose_new(const struct pl_config *c, struct pl_draft *d)
{
	base_fields(d, pl_config_default_account(c));
	d->body = xstrdup("\n");
}

/* subject with every leading "prefix" (and blanks) taken off, decoded. */
static char *
strip_prefix(const struct pl_orig *o, const char *subject, const char *prefix)
{
	size_t pl = strlen(prefix);
	char *dec = NULL, *r;
	const char *s;

	if (subject == NULL)
		return xstrdup("");
	if (o->decode)
		dec = o->decode(subject);
	s = dec ? dec : subject;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (ascii_ncasecmp(s, prefix, pl) != 0)
			break;
		s += pl;
	}
	r = trimdup(s, strlen(s));
	free(dec);
	return r;
}

/* An id in angle brackets (added when missing), or NULL for an empty one. */
static char *
bracket_id(const char *id)
{
	char *t, *r;

	if (id == NULL)
		return NULL;
	t = trimdup(id, strlen(id));
	if (*t == '\0') {
		free(t);
		return NULL;
	}
	if (*t == '<') {
		return t;
	}
	r = xmalloc(strlen(t) + 3);
	sprintf(r, "<%s>", t);
	free(t);
	return r;
}

/* Appends each "<…>" of s to ids. */
static void
collect_ids(const char *s, char ***ids, size_t *n)
{
	while (s && (s = strchr(s, '<')) != NULL) {
		const char *end = strchr(s, '>');
		if (end == NULL)
			break;
		*ids = xrealloc(*ids, (*n + 1) * sizeof **ids);
		(*ids)[(*n)++] = xstrndup(s, (size_t)(end - s + 1));
		s = end + 1;
	}
}

char *
pl_compose_references(const char *references, const char *in_reply_to,
    const char *message_id)
{
	char **ids = NULL, *mid = bracket_id(message_id);
	size_t n = 0;
	struct buf b = { 0 };

	collect_ids(references, &ids, &n);
	if (n == 0)
		collect_ids(in_reply_to, &ids, &n);
	if (mid && (n == 0 || strcmp(ids[n - 1], mid) != 0)) {
		ids = xrealloc(ids, (n + 1) * sizeof *ids);
		ids[n++] = mid;
		mid = NULL;
	}
	free(mid);
	if (n == 0) {
		free(ids);
		return NULL;
	}
	/* RFC 5322 3.6.4 lets a long chain be cut: keep the root and the newest. */
	for (size_t i = 0; i < n; i++) {
		if (n > PL_REFERENCES_MAX && i > 0 && i < n - (PL_REFERENCES_MAX - 1))
			continue;
		if (b.len)
			buf_addc(&b, ' ');
		buf_adds(&b, ids[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return buf_steal(&b);
}

/* "> " before each line of body, ">" before quoted and empty lines;
 * trailing empty lines dropped. */
static void
quote_body(struct buf *b, const char *body)
{
	size_t len = body ? strlen(body) : 0;
	const char *p = body, *end;

	while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == ' ' ||
	    body[len - 1] == '\t' || body[len - 1] == '\r'))
		len--;
	end = body ? body + len : NULL;
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)((nl ? nl : end) - p);
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll == 0 || p[0] == '>')
			buf_addc(b, '>');
		else
			buf_adds(b, "> ");
		buf_add(b, p, ll);
		buf_addc(b, '\n');
		p = nl ? nl + 1 : end;
	}
}

/* The name of the original's author for the attribution line. */
static char *
author_name(const struct pl_orig *o)
{
	struct pl_addrlist l = { 0 };
	char *r;

	if (o->from == NULL)
		return xstrdup("someone");
	if (orig_addrs(o, o->from, &l) < 0 || l.n == 0) {
		pl_addrlist_free(&l);
		return o->decode && (r = o->decode(o->from)) ? r : xstrdup(o->from);
	}
	r = xstrdup(l.v[0].display && *l.v[0].display ? l.v[0].display : l.v[0].mailbox);
	pl_addrlist_free(&l);
	return r;
}

void
pl_compose_reply(const struct pl_config *c, const struct pl_orig *o,
    enum pl_reply_kind k, struct pl_draft *d)
{
	struct pl_addrlist from = { 0 }, to = { 0 }, cc = { 0 }, all = { 0 };
	const char *to_src = o->reply_to ? o->reply_to : o->from;
	char *s, *subj, *who, *irt;
	struct buf b = { 0 };
	int own = 0;

	base_fields(d, pl_compose_pick_account(c, o));

	/* Answering one's own message continues the conversation with its
	 * recipients, as mutt does. */
	if (o->reply_to == NULL && orig_addrs(o, o->from, &from) == 0 && from.n > 0 &&
	    is_own(c, from.v[0].mailbox) && o->to != NULL) {
		to_src = o->to;
		own = 1;
	}
	if (orig_addrs(o, to_src, &to) < 0) {
		pl_draft_set(d, "To", to_src);
	} else {
		s = fmt_list(&to);
		pl_draft_set(d, "To", s);
		free(s);
	}
	if (k == PL_REPLY_ALL) {
		orig_addrs(o, own ? NULL : o->to, &all);
		orig_addrs(o, o->cc, &all);
		for (size_t i = 0; i < all.n; i++)
			if (!is_own(c, all.v[i].mailbox) && !in_list(&to, all.v[i].mailbox) &&
			    !in_list(&cc, all.v[i].mailbox))
				push_addr(&cc, &all.v[i]);
		s = fmt_list(&cc);
		pl_draft_set(d, "Cc", s);
		free(s);
	}

	subj = strip_prefix(o, o->subject, "re:");
	buf_printf(&b, "Re: %s", subj);
	pl_draft_set(d, "Subject", trim(b.p));
	buf_free(&b);
	free(subj);

	if ((irt = bracket_id(o->message_id)) != NULL) {
		pl_draft_set(d, "In-Reply-To", irt);
		free(irt);
	}
	if ((s = pl_compose_references(o->references, o->in_reply_to, o->message_id)) != NULL) {
		pl_draft_set(d, "References", s);
		free(s);
	}

	who = author_name(o);
	buf_adds(&b, "");
	if (o->date && *o->date)
		buf_printf(&b, "On %s, %s wrote:\n", o->date, who);
	else
		buf_printf(&b, "%s wrote:\n", who);
	free(who);
	quote_body(&b, o->body);
	buf_addc(&b, '\n');
	d->body = buf_steal(&b);

	pl_addrlist_free(&from);
	pl_addrlist_free(&to);
	pl_addrlist_free(&cc);
	pl_addrlist_free(&all);
}

static void
fwd_field(struct buf *b, const struct pl_orig *o, const char *name, const char *value)
{
	char *dec;

	if (value == NULL || *value == '\0')
		return;
	dec = o->decode ? o->decode(value) : NULL;
	buf_printf(b, "%s: %s\n", name, dec ? dec : value);
	free(dec);
}

void
pl_compose_forward(const struct pl_config *c, const struct pl_orig *o,
    enum pl_fwd_kind k, struct pl_draft *d)
{
	struct buf b = { 0 };
	char *subj;

	base_fields(d, pl_compose_pick_account(c, o));
	subj = strip_prefix(o, o->subject, "fwd:");
	buf_printf(&b, "Fwd: %s", subj);
	pl_draft_set(d, "Subject", trim(b.p));
	buf_free(&b);
	free(subj);

	buf_adds(&b, "\n");
	if (k == PL_FWD_INLINE) {
		size_t len = o->body ? strlen(o->body) : 0;
		buf_adds(&b, "\n----- Forwarded message -----\n");
		fwd_field(&b, o, "From", o->from);
		fwd_field(&b, o, "Date", o->date);
		fwd_field(&b, o, "Subject", o->subject);
		fwd_field(&b, o, "To", o->to);
		fwd_field(&b, o, "Cc", o->cc);
		buf_addc(&b, '\n');
		if (len > 0) {
			buf_add(&b, o->body, len);
			if (o->body[len - 1] != '\n')
				buf_addc(&b, '\n');
		}
		buf_adds(&b, "----- End forwarded message -----\n");
	} else if (o->path) {
		pl_draft_attach(d, o->path, "message/rfc822", NULL);
	}
	d->body = buf_steal(&b);
}

/* --- the draft file --------------------------------------------------------- */

void
pl_draft_format(const struct pl_draft *d, struct buf *out)
{
	for (size_t i = 0; i < d->nf; i++)
		buf_printf(out, "%s: %s\n", d->f[i].name, d->f[i].value);
	buf_addc(out, '\n');
	if (d->body)
		buf_adds(out, d->body);
}

int
pl_draft_parse(struct pl_draft *d, const char *text, size_t len, struct pl_err *e)
{
	struct pl_draft nd = { 0 };
	const char *p = text, *end = text + len;
	struct buf body = { 0 };
	int line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)((nl ? nl : end) - p);
		const char *colon;

		line++;
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll == 0) {
			p = nl ? nl + 1 : end;
			break;
		}
		if ((p[0] == ' ' || p[0] == '\t') && nd.nf > 0) {
			struct pl_field *f = &nd.f[nd.nf - 1];
			char *cont = trimdup(p, ll);
			size_t fl = strlen(f->value);
			if (*cont) {
				f->value = xrealloc(f->value, fl + strlen(cont) + 2);
				sprintf(f->value + fl, "%s%s", fl ? " " : "", cont);
			}
			free(cont);
			p = nl ? nl + 1 : end;
			continue;
		}
		colon = memchr(p, ':', ll);
		if (colon == NULL || colon == p) {
			free_fields(&nd);
			return pl_errf(e, EX_DATAERR, "line %d of the draft is not a header field "
			    "(Name: value); a blank line must separate the header from the body",
			    line);
		}
		for (const char *q = p; q < colon; q++) {
			if (*q <= ' ' || *q >= 127) {
				free_fields(&nd);
				return pl_errf(e, EX_DATAERR, "line %d of the draft: the field name "
				    "'%.*s' has a blank or a character that is not ASCII", line,
				    (int)(colon - p), p);
			}
		}
		{
			char *name = xstrndup(p, (size_t)(colon - p));
			char *value = trimdup(colon + 1, ll - (size_t)(colon + 1 - p));
			nd.f = xrealloc(nd.f, (nd.nf + 1) * sizeof nd.f[0]);
			nd.f[nd.nf].name = name;
			nd.f[nd.nf].value = value;
			nd.nf++;
		}
		p = nl ? nl + 1 : end;
	}
	/* The body, without CRs the editor may have added. */
	buf_adds(&body, "");
	for (; p < end; p++)
		if (!(*p == '\r' && p + 1 < end && p[1] == '\n'))
			buf_addc(&body, *p);
	free_fields(d);
	d->f = nd.f;
	d->nf = nd.nf;
	free(d->body);
	d->body = buf_steal(&body);
	return 0;
}

/* --- encodings ------------------------------------------------------------- */

void
pl_base64_lines(struct buf *out, const unsigned char *s, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t col = 0;

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
		col += 4;
		if (col >= 76) {
			buf_adds(out, "\r\n");
			col = 0;
		}
	}
	if (col > 0)
		buf_adds(out, "\r\n");
}

/* Quoted-printable (RFC 2045 6.7) of UTF-8 text with LF (or CRLF) line
 * endings: lines of at most 76 characters, soft breaks with '='. */
void
pl_qp_encode(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char tmp[4];
		size_t tl;
		int at_eol = i + 1 == n || s[i + 1] == '\n' ||
		    (s[i + 1] == '\r' && i + 2 < n && s[i + 2] == '\n');

		if (ch == '\n') {
			buf_adds(out, "\r\n");
			col = 0;
			continue;
		}
		if (ch == '\r' && i + 1 < n && s[i + 1] == '\n')
			continue;
		if ((ch >= 33 && ch <= 126 && ch != '=') ||
		    ((ch == ' ' || ch == '\t') && !at_eol)) {
			tmp[0] = (char)ch;
			tl = 1;
		} else {
			tmp[0] = '=';
			tmp[1] = hex[ch >> 4];
			tmp[2] = hex[ch & 15];
			tl = 3;
		}
		/* Room for the soft break's '=' unless this ends the line. */
		if (col + tl > (at_eol ? 76u : 75u)) {
			buf_adds(out, "=\r\n");
			col = 0;
		}
		buf_add(out, tmp, tl);
		col += tl;
	}
}

/* --- the final message ------------------------------------------------------- */

/* Writes "Name: value" folded at blanks so that lines stay near 78
 * characters; folds already in value (CRLF + blank) are redone. */
static void
put_field(struct buf *out, const char *name, const char *value)
{
	size_t col = strlen(name) + 1;
	const char *p = value;

	buf_printf(out, "%s:", name);
	while (*p) {
		size_t wl;
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		wl = strcspn(p, " \t\r\n");
		if (col + 1 + wl > 78 && col > strlen(name) + 1) {
			buf_adds(out, "\r\n");
			col = 0;
		}
		buf_addc(out, ' ');
		buf_add(out, p, wl);
		col += 1 + wl;
		p += wl;
	}
	buf_adds(out, "\r\n");
}

static int
is_addr_field(const char *name)
{
	static const char *names[] = { "From", "To", "Cc", "Bcc", "Reply-To", "Sender",
	    "Mail-Followup-To", "Resent-To", "Resent-Cc", "Resent-Bcc", "Resent-From" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (ascii_casecmp(name, names[i]) == 0)
			return 1;
	return 0;
}

static int
put_addr_field(struct buf *out, const char *name, const char *value, struct pl_err *e)
{
	struct pl_addrlist l = { 0 };
	struct buf v = { 0 };

	if (pl_addr_parse_list(value, &l, e) < 0) {
		char why[sizeof e->msg];
		snprintf(why, sizeof why, "%s", e->msg);
		return pl_errf(e, EX_DATAERR, "%s: %s", name, why);
	}
	if (l.n == 0) {
		pl_addrlist_free(&l);
		return 0;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (i)
			buf_adds(&v, ", ");
		if (l.v[i].display && *l.v[i].display) {
			pl_encode_display_name(&v, l.v[i].display);
			buf_printf(&v, " <%s>", l.v[i].mailbox);
		} else {
			buf_adds(&v, l.v[i].mailbox);
		}
	}
	put_field(out, name, v.p);
	buf_free(&v);
	pl_addrlist_free(&l);
	return 0;
}

/* Unstructured text (Subject, …): as is, or RFC 2047 words when not ASCII. */
static void
put_text_field(struct buf *out, const char *name, const char *value)
{
	struct buf v = { 0 };

	if (pl_has_8bit(value, strlen(value))) {
		pl_encode_display_name(&v, value);
		put_field(out, name, v.p);
		buf_free(&v);
	} else {
		put_field(out, name, value);
	}
}

/* MIME's own fields are written by the builder, never from the draft. */
static int
is_mime_field(const char *name)
{
	return ascii_casecmp(name, "MIME-Version") == 0 ||
	    ascii_ncasecmp(name, "Content-", 8) == 0;
}

enum cte { CTE_7BIT, CTE_8BIT, CTE_QP };

static enum cte
text_encoding(const char *s, size_t n)
{
	size_t col = 0;
	int eight = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\n') {
			col = 0;
			continue;
		}
		if (ch == '\r' && i + 1 < n && s[i + 1] == '\n')
			continue;
		if ((ch < 32 && ch != '\t') || ch == 127)
			return CTE_QP;
		if (ch >= 0x80)
			eight = 1;
		if (++col > 998)
			return CTE_QP;
	}
	return eight ? CTE_8BIT : CTE_7BIT;
}

static const char *
cte_name(enum cte c)
{
	return c == CTE_QP ? "quoted-printable" : c == CTE_8BIT ? "8bit" : "7bit";
}

/* Text with LF or CRLF line endings, written with CRLF and a final one. */
static void
put_crlf(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			buf_addc(out, '\r');
		buf_addc(out, s[i]);
	}
	if (n > 0 && s[n - 1] != '\n')
		buf_adds(out, "\r\n");
}

static void
put_text_part(struct buf *out, const char *body)
{
	size_t n = body ? strlen(body) : 0;
	enum cte c = text_encoding(body ? body : "", n);

	buf_printf(out, "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: %s\r\n\r\n", cte_name(c));
	if (c == CTE_QP) {
		pl_qp_encode(out, body, n);
		if (n > 0 && body[n - 1] != '\n')
			buf_adds(out, "=\r\n");
	} else {
		put_crlf(out, body ? body : "", n);
	}
}

static int
attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c && strchr("!#$&+-.^_`|~", c));
}

/* "; filename=…" (or name=…) as a quoted string when ASCII, else RFC 2231
 * UTF-8 percent-encoded, in continuations of at most 50 characters. */
static void
put_param(struct buf *out, const char *attr, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	int plain = 1;
	struct buf enc = { 0 };

	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if (*p < 32 || *p >= 127)
			plain = 0;
	if (plain) {
		buf_printf(out, ";\r\n %s=\"", attr);
		for (const char *p = value; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_addc(out, '\\');
			buf_addc(out, *p);
		}
		buf_addc(out, '"');
		return;
	}
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (attr_char(*p)) {
			buf_addc(&enc, (char)*p);
		} else {
			buf_addc(&enc, '%');
			buf_addc(&enc, hex[*p >> 4]);
			buf_addc(&enc, hex[*p & 15]);
		}
	}
	if (enc.len <= 50) {
		buf_printf(out, ";\r\n %s*=UTF-8''%s", attr, enc.p);
	} else {
		size_t i = 0;
		for (int k = 0; i < enc.len; k++) {
			size_t take = enc.len - i < 50 ? enc.len - i : 50;
			/* never cut a %XX in two */
			if (i + take < enc.len) {
				if (take >= 1 && enc.p[i + take - 1] == '%')
					take -= 1;
				else if (take >= 2 && enc.p[i + take - 2] == '%')
					take -= 2;
			}
			buf_printf(out, ";\r\n %s*%d*=%s%.*s", attr, k, k == 0 ? "UTF-8''" : "",
			    (int)take, enc.p + i);
			i += take;
		}
	}
	buf_free(&enc);
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* 1 when the text can go as message/rfc822 (lines within SMTP's limit). */
static int
fits_smtp(const char *s, size_t n)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0')
			return 0;
		col = s[i] == '\n' ? 0 : col + 1;
		if (col > 999)
			return 0;
	}
	return 1;
}

static int
put_attachment(struct buf *out, const struct pl_part *a, struct pl_err *e)
{
	const char *name = a->name ? a->name : base_name(a->path);
	const char *type = a->type ? a->type : pl_mime_type_guess(name);
	int rfc822 = ascii_casecmp(type, "message/rfc822") == 0;
	char *data;
	size_t len;

	if (pl_read_file(a->path, ATTACH_MAX, &data, &len) < 0)
		return pl_errf(e, EX_NOINPUT, "cannot attach %s: %s", a->path,
		    errno == EFBIG ? "larger than 64 MB" : strerror(errno));
	if (rfc822 && !fits_smtp(data, len)) {
		rfc822 = 0;
		type = "application/octet-stream";
		if (a->name == NULL)
			name = "forwarded.eml";
	}
	buf_printf(out, "Content-Type: %s", type);
	if (!rfc822 || a->name)
		put_param(out, "name", name);
	buf_adds(out, "\r\nContent-Disposition: attachment");
	if (!rfc822 || a->name)
		put_param(out, "filename", name);
	buf_adds(out, "\r\n");
	if (rfc822) {
		buf_printf(out, "Content-Transfer-Encoding: %s\r\n\r\n",
		    pl_has_8bit(data, len) ? "8bit" : "7bit");
		put_crlf(out, data, len);
	} else {
		buf_adds(out, "Content-Transfer-Encoding: base64\r\n\r\n");
		pl_base64_lines(out, (const unsigned char *)data, len);
	}
	free(data);
	return 0;
}

int
pl_compose_build(const struct pl_draft *d, int64_t date, struct buf *out, struct pl_err *e)
{
	static const char *order[] = { "From", "To", "Cc", "Bcc", "Subject" };
	const char *from = pl_draft_get(d, "From");
	struct buf m = { 0 };
	char boundary[64];

	if (from == NULL || *from == '\0')
		return pl_errf(e, EX_DATAERR, "the draft has no From field");
	buf_adds(&m, "");
	for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
		const char *v = pl_draft_get(d, order[k]);
		if (v == NULL || *v == '\0')
			continue;
		if (k < 4 && put_addr_field(&m, order[k], v, e) < 0)
			goto fail;
		if (k == 4)
			put_text_field(&m, "Subject", v);
	}
	if (date != 0) {
		char ds[64];
		pl_rfc5322_date(date, ds, sizeof ds);
		put_field(&m, "Date", ds);
	}
	for (size_t i = 0; i < d->nf; i++) {
		const struct pl_field *f = &d->f[i];
		int known = 0;
		for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
			known |= ascii_casecmp(f->name, order[k]) == 0;
		if (known || *f->value == '\0' || is_mime_field(f->name) ||
		    (date != 0 && ascii_casecmp(f->name, "Date") == 0))
			continue;
		if (is_addr_field(f->name)) {
			if (put_addr_field(&m, f->name, f->value, e) < 0)
				goto fail;
		} else if (ascii_casecmp(f->name, "In-Reply-To") == 0 ||
		    ascii_casecmp(f->name, "References") == 0 ||
		    ascii_casecmp(f->name, "Message-ID") == 0) {
			put_field(&m, f->name, f->value);
		} else {
			put_text_field(&m, f->name, f->value);
		}
	}
	buf_adds(&m, "MIME-Version: 1.0\r\n");
	if (d->natt == 0) {
		put_text_part(&m, d->body);
		goto done;
	}

	{
		unsigned char r[12];
		static const char hex[] = "0123456789abcdef";
		char *p = boundary + snprintf(boundary, sizeof boundary, "=_paloma_");
		random_bytes(r, sizeof r);
		for (size_t i = 0; i < sizeof r; i++) {
			*p++ = hex[r[i] >> 4];
			*p++ = hex[r[i] & 15];
		}
		*p = '\0';
	}
	buf_printf(&m, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", boundary);
	buf_adds(&m, "This is a message in MIME format.\r\n");
	{
		const char *b = d->body ? d->body : "";
		while (*b == '\n' || *b == ' ' || *b == '\t')
			b++;
		if (*b) {
			buf_printf(&m, "\r\n--%s\r\n", boundary);
			put_text_part(&m, d->body);
		}
	}
	for (size_t i = 0; i < d->natt; i++) {
		buf_printf(&m, "\r\n--%s\r\n", boundary);
		if (put_attachment(&m, &d->att[i], e) < 0)
			goto fail;
	}
	buf_printf(&m, "\r\n--%s--\r\n", boundary);
done:
	buf_add(out, m.p, m.len);
	buf_free(&m);
	return 0;
fail:
	buf_free(&m);
	return -1;
}

/* --- MIME types ----------------------------------------------------------- */

const char *
pl_mime_type_guess(const char *name)
{
	static const struct { const char *ext, *type; } tab[] = {
		{ "txt", "text/plain" }, { "text", "text/plain" }, { "log", "text/plain" },
		{ "md", "text/markdown" }, { "csv", "text/csv" }, { "html", "text/html" },
		{ "htm", "text/html" }, { "ics", "text/calendar" }, { "vcf", "text/vcard" },
		{ "diff", "text/x-diff" }, { "patch", "text/x-diff" }, { "c", "text/x-c" },
		{ "h", "text/x-c" }, { "xml", "application/xml" }, { "json", "application/json" },
		{ "pdf", "application/pdf" }, { "zip", "application/zip" },
		{ "gz", "application/gzip" }, { "tgz", "application/gzip" },
		{ "tar", "application/x-tar" }, { "xz", "application/x-xz" },
		{ "bz2", "application/x-bzip2" }, { "7z", "application/x-7z-compressed" },
		{ "doc", "application/msword" },
		{ "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
		{ "xls", "application/vnd.ms-excel" },
		{ "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
		{ "ppt", "application/vnd.ms-powerpoint" },
		{ "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
		{ "odt", "application/vnd.oasis.opendocument.text" },
		{ "ods", "application/vnd.oasis.opendocument.spreadsheet" },
		{ "png", "image/png" }, { "jpg", "image/jpeg" }, { "jpeg", "image/jpeg" },
		{ "gif", "image/gif" }, { "webp", "image/webp" }, { "svg", "image/svg+xml" },
		{ "mp3", "audio/mpeg" }, { "ogg", "audio/ogg" }, { "wav", "audio/wav" },
		{ "mp4", "video/mp4" }, { "webm", "video/webm" },
		{ "eml", "message/rfc822" }, { "asc", "application/pgp-signature" },
	};
	const char *dot = strrchr(name, '.');

	if (dot && dot != name && dot[1])
		for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
			if (ascii_casecmp(dot + 1, tab[i].ext) == 0)
				return tab[i].type;
	return "application/octet-stream";
}
