/* dsn.c — RFC 3464 delivery status notifications, built from their inputs
 * alone (see dsn.h for the shape of the report). */
#include "dsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

#define FOLD_AT 78		/* fold header lines before this column when possible */
#define LINE_MAX_OCTETS 900	/* and always before RFC 5322's 998 */

/* ---- text hygiene ------------------------------------------------------ */

/* Appends n bytes of s as one line of text: printable ASCII as is, a tab as
 * a space, valid UTF-8 as is when utf8 is set, anything else (controls, line
 * breaks, broken or disallowed 8-bit) as '?'. */
static void
add_clean(struct buf *b, const char *s, size_t n, int utf8)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned long cp;

	for (size_t i = 0; i < n;) {
		size_t l;
		if (u[i] >= 0x20 && u[i] < 0x7f) {
			buf_addc(b, (char)u[i++]);
		} else if (u[i] == '\t') {
			buf_addc(b, ' ');
			i++;
		} else if (u[i] >= 0x80 && utf8 && (l = pl_utf8_char(u + i, n - i, &cp)) > 0) {
			buf_add(b, u + i, l);
			i += l;
		} else {
			buf_addc(b, '?');
			i += u[i] >= 0x80 && (l = pl_utf8_char(u + i, n - i, &cp)) > 0 ? l : 1;
		}
	}
}

/* Splits text into lines (CRLF, LF or CR breaks); a final empty line is
 * not one.  *out is to free. */
struct line { const char *p; size_t n; };

static size_t
split_lines(const char *text, struct line **out)
{
	size_t n = 0, cap = 0;
	const char *s = text;

	*out = NULL;
	while (s && *s) {
		size_t len = strcspn(s, "\r\n");
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			*out = xrealloc(*out, cap * sizeof **out);
		}
		(*out)[n++] = (struct line){ s, len };
		s += len;
		if (*s == '\r')
			s++;
		if (*s == '\n')
			s++;
	}
	return n;
}

/* ---- header folding ----------------------------------------------------- */

struct fold {
	struct buf *b;
	size_t col;		/* octets on the current line */
	int brk;		/* start the next word on a continuation line */
	int nw;			/* words on the current line */
};

static void
fold_start(struct fold *f, struct buf *b, const char *name)
{
	f->b = b;
	f->brk = 0;
	f->nw = 0;
	buf_adds(b, name);
	buf_addc(b, ':');
	f->col = strlen(name) + 1;
}

/* One word (no white space), preceded by a space or a fold. */
static void
fold_word(struct fold *f, const char *w, size_t n)
{
	while (n > 0) {
		size_t take = n;
		if (f->nw > 0 && (f->brk || f->col + 1 + n > FOLD_AT)) {
			buf_adds(f->b, "\r\n");
			f->col = 0;
			f->nw = 0;
		}
		f->brk = 0;
		if (f->col + 1 + take > LINE_MAX_OCTETS)
			take = LINE_MAX_OCTETS - f->col - 1;
		buf_addc(f->b, ' ');
		buf_add(f->b, w, take);
		f->col += 1 + take;
		f->nw++;
		w += take;
		n -= take;
		if (n > 0)
			f->brk = 1;
	}
}

/* Every white-space separated word of s (already clean text). */
static void
fold_words(struct fold *f, const char *s)
{
	while (*s) {
		size_t sp = strspn(s, " "), len;
		s += sp;
		len = strcspn(s, " ");
		if (len)
			fold_word(f, s, len);
		s += len;
	}
}

static void
fold_end(struct fold *f)
{
	buf_adds(f->b, "\r\n");
}

/* A header whose value is clean text; folded at spaces. */
static void
add_header(struct buf *b, const char *name, const char *value)
{
	struct fold f;

	fold_start(&f, b, name);
	fold_words(&f, value);
	fold_end(&f);
}

/* ---- reading the original header ---------------------------------------- */

/* Length of the header section of a message (without the blank line). */
static size_t
header_len(const char *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (m[i] != '\n')
			continue;
		if (i + 1 < n && m[i + 1] == '\n')
			return i + 1;
		if (i + 2 < n && m[i + 1] == '\r' && m[i + 2] == '\n')
			return i + 1;
	}
	if ((n >= 1 && m[0] == '\n') || (n >= 2 && m[0] == '\r' && m[1] == '\n'))
		return 0;
	return n;
}

/* The unfolded value of the first header called name, or NULL; to free. */
static char *
header_get(const char *h, size_t n, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < n;) {
		size_t eol = i;
		while (eol < n && h[eol] != '\n')
			eol++;
		if (eol - i > nl && h[i + nl] == ':' && ascii_ncasecmp(h + i, name, nl) == 0) {
			struct buf v = { 0 };
			size_t j = i + nl + 1;
			for (;;) {
				size_t end = eol;
				if (end > j && h[end - 1] == '\r')
					end--;
				buf_add(&v, h + j, end - j);
				if (eol + 1 < n && (h[eol + 1] == ' ' || h[eol + 1] == '\t')) {
					j = eol + 1;
					eol = j;
					while (eol < n && h[eol] != '\n')
						eol++;
					continue;
				}
				break;
			}
			char *s = buf_steal(&v), *t = trim(s);
			memmove(s, t, strlen(t) + 1);
			return s;
		}
		i = eol + 1;
	}
	return NULL;
}

/* ---- pieces of the report ----------------------------------------------- */

int
pl_dsn_status_valid(const char *s)
{
	size_t n;

	if (!s || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	s += 2;
	for (int part = 0; part < 2; part++) {
		n = strspn(s, "0123456789");
		if (n < 1 || n > 3)
			return 0;
		s += n;
		if (part == 0 && *s++ != '.')
			return 0;
	}
	return *s == '\0';
}

static int
is_failed(const struct pl_dsn_rcpt *r)
{
	return strcmp(r->action, "failed") == 0;
}

static const char *
status_of(const struct pl_dsn_rcpt *r)
{
	if (pl_dsn_status_valid(r->status))
		return r->status;
	return is_failed(r) ? "5.0.0" : "4.0.0";
}

/* A diagnostic that is an SMTP reply: starts with a 2xx/4xx/5xx code. */
static int
is_smtp_reply(const char *d)
{
	return d && (d[0] == '2' || d[0] == '4' || d[0] == '5') && d[1] >= '0' && d[1] <= '9' &&
	    d[2] >= '0' && d[2] <= '9' && (d[3] == ' ' || d[3] == '-' || d[3] == '\0' ||
	    d[3] == '\r' || d[3] == '\n');
}

static void
add_date_header(struct buf *b, const char *name, int64_t t)
{
	char d[64];

	pl_rfc5322_date(t, d, sizeof d);
	buf_printf(b, "%s: %s\r\n", name, d);
}

/* Final-Recipient: rfc822 for ASCII addresses; RFC 6533's utf-8 type, with
 * non-ASCII characters as \x{HEX}, for internationalised ones. */
static void
add_final_recipient(struct buf *b, const char *addr)
{
	const unsigned char *u = (const unsigned char *)addr;
	size_t n = strlen(addr);
	unsigned long cp;

	if (!pl_has_8bit(addr, n)) {
		buf_adds(b, "Final-Recipient: rfc822; ");
		add_clean(b, addr, n, 0);
		buf_adds(b, "\r\n");
		return;
	}
	buf_adds(b, "Final-Recipient: utf-8; ");
	for (size_t i = 0; i < n;) {
		size_t l = u[i] >= 0x80 ? pl_utf8_char(u + i, n - i, &cp) : 0;
		if (l > 0) {
			buf_printf(b, "\\x{%lX}", cp);
			i += l;
		} else if (u[i] == '\\') {
			buf_adds(b, "\\x{5C}");
			i++;
		} else {
			add_clean(b, addr + i, 1, 0);
			i++;
		}
	}
	buf_adds(b, "\r\n");
}

/* Diagnostic-Code: every line of the reply on its own (folded) line. */
static void
add_diagnostic(struct buf *b, const char *diag)
{
	struct line *lines;
	size_t n = split_lines(diag, &lines);
	struct fold f;
	struct buf w = { 0 };

	fold_start(&f, b, "Diagnostic-Code");
	fold_words(&f, is_smtp_reply(diag) ? "smtp;" : "X-Paloma;");
	for (size_t i = 0; i < n; i++) {
		w.len = 0;
		add_clean(&w, lines[i].p, lines[i].n, 0);
		if (w.len == 0)
			continue;
		if (i > 0)
			f.brk = 1;
		fold_words(&f, w.p);
	}
	fold_end(&f);
	buf_free(&w);
	free(lines);
}

/* Remote-MTA: the host name, without the bracketed address. */
static void
add_remote_mta(struct buf *b, const char *remote)
{
	size_t n = strcspn(remote, " ");

	buf_adds(b, "Remote-MTA: dns; ");
	add_clean(b, remote, n, 0);
	buf_adds(b, "\r\n");
}

static void
delivery_status(const struct pl_dsn_params *p, const char *mta, struct buf *b)
{
	const struct pl_envelope *env = p->env;

	buf_adds(b, "Reporting-MTA: dns; ");
	add_clean(b, mta, strlen(mta), 0);
	buf_adds(b, "\r\n");
	if (env->id[0]) {
		buf_adds(b, "X-Paloma-Queue-ID: ");
		add_clean(b, env->id, strlen(env->id), 0);
		buf_adds(b, "\r\n");
	}
	if (env->created > 0)
		add_date_header(b, "Arrival-Date", env->created);
	for (size_t i = 0; i < p->nrcpt; i++) {
		const struct pl_dsn_rcpt *r = &p->rcpt[i];
		buf_adds(b, "\r\n");
		add_final_recipient(b, r->addr);
		buf_printf(b, "Action: %s\r\n", is_failed(r) ? "failed" : "delayed");
		buf_printf(b, "Status: %s\r\n", status_of(r));
		if (r->remote && *r->remote)
			add_remote_mta(b, r->remote);
		if (r->diagnostic && *r->diagnostic)
			add_diagnostic(b, r->diagnostic);
		if (r->last_attempt > 0)
			add_date_header(b, "Last-Attempt-Date", r->last_attempt);
		if (!is_failed(r) && r->retry_until > 0)
			add_date_header(b, "Will-Retry-Until", r->retry_until);
	}
}

/* ---- the human-readable part -------------------------------------------- */

/* Appends text wrapped at 72 columns, each line starting with indent. */
static void
add_wrapped(struct buf *b, const char *indent, const char *text)
{
	size_t col = 0;

	while (*text) {
		size_t sp = strspn(text, " "), len;
		text += sp;
		len = strcspn(text, " ");
		if (!len)
			break;
		if (col > 0 && col + 1 + len > 72) {
			buf_adds(b, "\r\n");
			col = 0;
		}
		if (col == 0) {
			buf_adds(b, indent);
			col = strlen(indent);
		} else {
			buf_addc(b, ' ');
			col++;
		}
		buf_add(b, text, len);
		col += len;
		text += len;
	}
	if (col > 0)
		buf_adds(b, "\r\n");
}

static void
fmt_span(int64_t secs, char *out, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs >= 86400 - 3600)
		snprintf(out, len, "%lld day%s", (long long)((secs + 43200) / 86400),
		    (secs + 43200) / 86400 == 1 ? "" : "s");
	else if (secs >= 3600)
		snprintf(out, len, "%lld hour%s", (long long)((secs + 1800) / 3600),
		    (secs + 1800) / 3600 == 1 ? "" : "s");
	else
		snprintf(out, len, "%lld minutes", (long long)((secs + 59) / 60));
}

/* What the user can do, keyed on the status. */
static void
add_hint(struct buf *b, const struct pl_dsn_params *p, const struct pl_dsn_rcpt *r)
{
	const char *st = status_of(r);
	char text[1024], d[64], span[64];
	int64_t last = r->last_attempt > 0 ? r->last_attempt : p->date;

	if (!is_failed(r)) {
		if (r->retry_until > 0) {
			pl_rfc5322_date(r->retry_until, d, sizeof d);
			snprintf(text, sizeof text, "paloma keeps trying until %s; there is nothing "
			    "you need to do.  You will hear again only if it gives up.", d);
		} else {
			snprintf(text, sizeof text, "paloma keeps trying; there is nothing you need "
			    "to do.  You will hear again only if it gives up.");
		}
	} else if (strcmp(st, "5.1.1") == 0) {
		snprintf(text, sizeof text, "The address does not exist at that domain: check the "
		    "spelling of the part before the @, or ask the person for a current address.");
	} else if (strcmp(st, "5.1.2") == 0 || strcmp(st, "5.1.10") == 0) {
		snprintf(text, sizeof text, "The domain does not exist or accepts no mail: check "
		    "the spelling of the part after the @.");
	} else if (strncmp(st, "5.7.", 4) == 0) {
		snprintf(text, sizeof text, "The receiving server rejected the message as spam or "
		    "by policy.  Run `paloma doctor` to check your domain's SPF, DKIM and DMARC "
		    "records and whether your address is on a block list; if it keeps "
		    "happening, send through your provider's relay.");
	} else if (strcmp(st, "5.3.4") == 0 || strcmp(st, "5.2.3") == 0) {
		snprintf(text, sizeof text, "The message is too big for the receiving server: "
		    "send large files as a link, or split them over several messages.");
	} else if (strcmp(st, "5.6.7") == 0) {
		snprintf(text, sizeof text, "The receiving server does not support non-ASCII "
		    "(internationalised) addresses: use an ASCII address for this recipient, "
		    "or for yourself, if there is one.");
	} else if (strcmp(st, "5.2.2") == 0) {
		snprintf(text, sizeof text, "The recipient's mailbox is full: try again later, "
		    "or reach them another way.");
	} else if (st[0] == '4') {
		fmt_span(last - p->env->created, span, sizeof span);
		snprintf(text, sizeof text, "paloma gave up after %s of trying.  The receiving "
		    "server may be down or refusing mail for now: you can send the message "
		    "again later.", span);
	} else {
		snprintf(text, sizeof text, "The receiving server refused the message for good: "
		    "its reply above says why.  Sending it again unchanged will fail again.");
	}
	buf_adds(b, "\r\n");
	add_wrapped(b, "  ", text);
}

/* Appends a quoted line, split so that no line passes LINE_MAX_OCTETS. */
static void
add_quoted(struct buf *b, const char *s, size_t n)
{
	struct buf c = { 0 };
	size_t i = 0;

	add_clean(&c, s, n, 1);
	do {
		size_t take = c.len - i;
		if (take > LINE_MAX_OCTETS - 8) {
			take = LINE_MAX_OCTETS - 8;
			while (take > 0 && ((unsigned char)c.p[i + take] & 0xc0) == 0x80)
				take--;
		}
		buf_adds(b, "    > ");
		if (take)
			buf_add(b, c.p + i, take);
		buf_adds(b, "\r\n");
		i += take;
	} while (i < c.len);
	buf_free(&c);
}

static void
add_recipient_text(struct buf *b, const struct pl_dsn_params *p, const struct pl_dsn_rcpt *r)
{
	const char *st = status_of(r);
	char d[64];

	buf_adds(b, "\r\n* ");
	add_clean(b, r->addr, strlen(r->addr), 1);
	buf_printf(b, " (%s, status %s)\r\n\r\n", is_failed(r) ? "failed" : "delayed", st);
	if (r->diagnostic && *r->diagnostic) {
		struct line *lines;
		size_t n = split_lines(r->diagnostic, &lines);
		if (r->remote && *r->remote && is_smtp_reply(r->diagnostic)) {
			buf_adds(b, "  The server ");
			add_clean(b, r->remote, strlen(r->remote), 1);
			buf_adds(b, " said:\r\n");
		} else if (r->remote && *r->remote) {
			buf_adds(b, "  While talking to ");
			add_clean(b, r->remote, strlen(r->remote), 1);
			buf_adds(b, ":\r\n");
		} else {
			buf_adds(b, "  What went wrong:\r\n");
		}
		for (size_t i = 0; i < n; i++)
			add_quoted(b, lines[i].p, lines[i].n);
		free(lines);
	} else if (r->remote && *r->remote) {
		buf_adds(b, "  Last server tried: ");
		add_clean(b, r->remote, strlen(r->remote), 1);
		buf_adds(b, "\r\n");
	}
	if (r->last_attempt > 0) {
		pl_rfc5322_date(r->last_attempt, d, sizeof d);
		buf_printf(b, "  Last attempt: %s\r\n", d);
	}
	add_hint(b, p, r);
}

static void
notification(const struct pl_dsn_params *p, const char *mta, size_t nfailed, struct buf *b)
{
	size_t ndelayed = p->nrcpt - nfailed;
	char d[64] = "";
	struct buf s = { 0 };

	if (p->env->created > 0)
		pl_rfc5322_date(p->env->created, d, sizeof d);
	buf_adds(b, "This is the mail system at ");
	add_clean(b, mta, strlen(mta), 0);
	buf_adds(b, " (paloma).\r\n\r\n");
	if (nfailed) {
		buf_printf(&s, "Your message%s%s could not be delivered to %zu recipient%s; "
		    "paloma will not try again for %s.", *d ? " of " : "", d, nfailed,
		    nfailed == 1 ? "" : "s", nfailed == 1 ? "it" : "them");
		add_wrapped(b, "", s.p);
	}
	if (ndelayed) {
		s.len = 0;
		if (nfailed)
			buf_adds(b, "\r\n");
		buf_printf(&s, "Your message%s%s has not yet been delivered to %zu recipient%s.  "
		    "paloma is still trying: this is only a notice.", *d ? " of " : "", d,
		    ndelayed, ndelayed == 1 ? "" : "s");
		add_wrapped(b, "", s.p);
	}
	buf_free(&s);
	for (int pass = 0; pass < 2; pass++)	/* failed ones first */
		for (size_t i = 0; i < p->nrcpt; i++)
			if (is_failed(&p->rcpt[i]) == (pass == 0))
				add_recipient_text(b, p, &p->rcpt[i]);
	buf_adds(b, "\r\nThe header of your message is attached below.\r\n");
}

/* ---- the whole message ------------------------------------------------- */

/* The original header section, CRLF line endings, NUL bytes dropped. */
static void
original_header(const char *h, size_t n, struct buf *b)
{
	for (size_t i = 0; i < n; i++) {
		if (h[i] == '\0' || h[i] == '\r')
			continue;
		if (h[i] == '\n')
			buf_adds(b, "\r\n");
		else
			buf_addc(b, h[i]);
	}
	if (b->len > 0 && (b->len < 2 || memcmp(b->p + b->len - 2, "\r\n", 2) != 0))
		buf_adds(b, "\r\n");
}

static void
add_subject(struct buf *b, const char *prefix, const char *orig)
{
	struct buf s = { 0 };
	struct fold f;

	buf_adds(&s, prefix);
	if (orig && *orig) {
		buf_adds(&s, ": ");
		add_clean(&s, orig, strlen(orig), 1);
	}
	if (pl_has_8bit(s.p, s.len)) {
		buf_adds(b, "Subject: ");
		pl_encode_display_name(b, s.p);
		buf_adds(b, "\r\n");
	} else {
		fold_start(&f, b, "Subject");
		fold_words(&f, s.p);
		fold_end(&f);
	}
	buf_free(&s);
}

/* A Message-ID worth linking to: "<…>" of clean ASCII. */
static int
msgid_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 3 || n > 900 || s[0] != '<' || s[n - 1] != '>')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

int
pl_dsn_build(const struct pl_dsn_params *p, struct buf *out, struct pl_err *e)
{
	const struct pl_envelope *env = p->env;
	const char *mta = p->reporting_mta && *p->reporting_mta ? p->reporting_mta : "localhost";
	struct buf part1 = { 0 }, part2 = { 0 }, part3 = { 0 }, bnd = { 0 };
	size_t hlen, nfailed = 0;
	char *subject, *orig_id = NULL;

	if (!env->sender || !*env->sender)
		return pl_errf(e, EX_DATAERR, "no report about mail from the null sender <>");
	if (p->nrcpt == 0)
		return pl_errf(e, EX_DATAERR, "a report needs at least one recipient");
	for (size_t i = 0; i < p->nrcpt; i++) {
		const char *a = p->rcpt[i].action;
		if (!a || (strcmp(a, "failed") != 0 && strcmp(a, "delayed") != 0))
			return pl_errf(e, EX_DATAERR, "bad report action '%s'", a ? a : "(null)");
		if (!p->rcpt[i].addr)
			return pl_errf(e, EX_DATAERR, "report recipient without an address");
		nfailed += is_failed(&p->rcpt[i]);
	}

	hlen = p->orig ? header_len(p->orig, p->orig_len) : 0;
	subject = p->orig ? header_get(p->orig, hlen, "Subject") : NULL;
	if (msgid_ok(env->message_id))
		orig_id = xstrdup(env->message_id);
	else if (p->orig && (orig_id = header_get(p->orig, hlen, "Message-ID")) &&
	    !msgid_ok(orig_id)) {
		free(orig_id);
		orig_id = NULL;
	}

	notification(p, mta, nfailed, &part1);
	delivery_status(p, mta, &part2);
	if (p->orig)
		original_header(p->orig, hlen, &part3);

	/* A boundary that occurs in none of the parts. */
	for (int k = 0;; k++) {
		bnd.len = 0;
		buf_printf(&bnd, "=_paloma-report-%s-%lld", env->id[0] ? env->id : "x",
		    (long long)p->date);
		if (k)
			buf_printf(&bnd, "-%d", k);
		if (!memmem(part1.p, part1.len, bnd.p, bnd.len) &&
		    !memmem(part2.p, part2.len, bnd.p, bnd.len) &&
		    !memmem(part3.p ? part3.p : "", part3.len, bnd.p, bnd.len))
			break;
	}

	buf_printf(out, "From: \"Mail Delivery System\" <MAILER-DAEMON@");
	add_clean(out, mta, strlen(mta), 0);
	buf_adds(out, ">\r\nTo: <");
	add_clean(out, env->sender, strlen(env->sender), 1);
	buf_adds(out, ">\r\n");
	add_subject(out, nfailed ? "Undelivered Mail Returned to Sender" :
	    "Delayed Mail (still being retried)", subject);
	add_date_header(out, "Date", p->date);
	if (msgid_ok(p->message_id))
		buf_printf(out, "Message-ID: %s\r\n", p->message_id);
	if (orig_id) {
		add_header(out, "In-Reply-To", orig_id);
		add_header(out, "References", orig_id);
	}
	buf_adds(out, "Auto-Submitted: auto-replied\r\n");
	buf_adds(out, "MIME-Version: 1.0\r\n");
	buf_printf(out, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    " boundary=\"%s\"\r\n", bnd.p);
	buf_adds(out, "\r\nThis is a MIME-encapsulated message: a delivery status report.\r\n");

	buf_printf(out, "\r\n--%s\r\n", bnd.p);
	buf_printf(out, "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: %s\r\nContent-Description: Notification\r\n\r\n",
	    pl_has_8bit(part1.p, part1.len) ? "8bit" : "7bit");
	buf_add(out, part1.p, part1.len);

	buf_printf(out, "\r\n--%s\r\n", bnd.p);
	buf_adds(out, "Content-Type: message/delivery-status\r\n"
	    "Content-Description: Delivery report\r\n\r\n");
	buf_add(out, part2.p, part2.len);

	if (part3.len) {
		buf_printf(out, "\r\n--%s\r\n", bnd.p);
		buf_printf(out, "Content-Type: text/rfc822-headers\r\n%s"
		    "Content-Description: %s message header\r\n\r\n",
		    pl_has_8bit(part3.p, part3.len) ? "Content-Transfer-Encoding: 8bit\r\n" : "",
		    nfailed ? "Undelivered" : "Delayed");
		buf_add(out, part3.p, part3.len);
	}
	buf_printf(out, "\r\n--%s--\r\n", bnd.p);

	buf_free(&part1);
	buf_free(&part2);
	buf_free(&part3);
	buf_free(&bnd);
	free(subject);
	free(orig_id);
	return 0;
}

void
pl_dsn_rcpt_from_env(struct pl_dsn_rcpt *r, const struct pl_envelope *env, size_t k,
    const char *action, int64_t retry_until)
{
	const struct pl_rcpt *q = &env->rcpt[k];

	*r = (struct pl_dsn_rcpt){
		.addr = q->addr,
		.action = action,
		.status = q->status,
		.remote = q->remote,
		.diagnostic = q->reply,
		.last_attempt = q->last_attempt,
		.retry_until = retry_until,
	};
}

void
pl_dsn_message_id(const char *host, int64_t now, char *out, size_t len)
{
	unsigned char r[8];

	random_bytes(r, sizeof r);
	snprintf(out, len, "<%lld.%02x%02x%02x%02x%02x%02x%02x%02x.report@%s>", (long long)now,
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], host && *host ? host : "localhost");
}
