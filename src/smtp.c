/* smtp.c — the SMTP client protocol machine: reply parser, session and
 * transactions, dot-stuffing, 8-bit to 7-bit conversion.  See smtp.h.
 *
 * Nothing here does I/O or reads the clock.  The session keeps a FIFO of the
 * commands whose replies are awaited; a reply always answers the oldest one
 * (RFC 2920 keeps that order with PIPELINING too). */
#include "smtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sevenbit.h"

/* ---- Reply parser -------------------------------------------------------- */

void
pl_smtp_parser_init(struct pl_smtp_parser *ps)
{
	memset(ps, 0, sizeof *ps);
}

void
pl_smtp_parser_free(struct pl_smtp_parser *ps)
{
	buf_free(&ps->line);
	buf_free(&ps->text);
	buf_free(&ps->raw);
	memset(ps, 0, sizeof *ps);
}

/* A short, printable excerpt of untrusted bytes for an error message. */
static void
excerpt(const char *p, size_t n, char *out, size_t outlen)
{
	size_t i, j = 0;

	for (i = 0; i < n && j + 4 < outlen; i++) {
		unsigned char c = (unsigned char)p[i];
		out[j++] = c >= 32 && c < 127 ? (char)c : '?';
	}
	if (i < n && j + 4 < outlen) {
		memcpy(out + j, "...", 3);
		j += 3;
	}
	out[j] = '\0';
}

static int
parse_fail(struct pl_smtp_parser *ps, struct pl_err *e, const char *fmt, const char *line,
    size_t n)
{
	char ex[80];

	excerpt(line, n, ex, sizeof ex);
	ps->failed = 1;
	buf_free(&ps->line);
	buf_free(&ps->text);
	buf_free(&ps->raw);
	return pl_errf(e, EX_PROTOCOL, fmt, ex);
}

/* "x.y.z" at the start of text, its class matching the reply's (RFC 3463). */
static void
parse_esc(const char *t, int code, char *esc, size_t len)
{
	const char *p = t;
	int n;

	esc[0] = '\0';
	if (*p != '2' && *p != '4' && *p != '5')
		return;
	if (*p - '0' != code / 100)
		return;
	p++;
	for (int part = 0; part < 2; part++) {
		if (*p++ != '.')
			return;
		for (n = 0; *p >= '0' && *p <= '9'; p++)
			n++;
		if (n < 1 || n > 3)
			return;
	}
	if (*p != '\0' && *p != ' ' && *p != '\n' && *p != '\t')
		return;
	if ((size_t)(p - t) >= len)
		return;
	memcpy(esc, t, (size_t)(p - t));
	esc[p - t] = '\0';
}

/* One line, CRLF removed.  1: the reply is complete, 0: more lines, -1. */
static int
parse_line(struct pl_smtp_parser *ps, struct pl_smtp_reply *r, struct pl_err *e)
{
	const char *l = ps->line.p ? ps->line.p : "";
	size_t n = ps->line.len, i;
	int code, last;

	if (n < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' ||
	    l[2] > '9')
		return parse_fail(ps, e, "SMTP reply line without a 3-digit code: \"%s\"", l, n);
	if (n == 3 || l[3] == ' ')
		last = 1;
	else if (l[3] == '-')
		last = 0;
	else
		return parse_fail(ps, e, "SMTP reply code not followed by a space or '-': \"%s\"", l,
		    n);
	for (i = 4; i < n; i++) {
		unsigned char c = (unsigned char)l[i];
		/* VIOLATION: RFC 5321 4.2 allows only HT and 32..126 in the text;
		 * octets >= 128 (UTF-8 from localised servers) are accepted. */
		if ((c < 32 && c != '\t') || c == 127)
			return parse_fail(ps, e, "SMTP reply with a control character: \"%s\"", l, n);
	}
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (ps->nlines > 0 && code != ps->code)
		return parse_fail(ps, e, "SMTP reply lines with different codes: \"%s\"", l, n);
	if (ps->nlines + 1 > PL_SMTP_LINES_MAX)
		return parse_fail(ps, e, "SMTP reply of more than 1000 lines: \"%s\"", l, n);
	if (ps->raw.len + n + 1 > PL_SMTP_REPLY_MAX)
		return parse_fail(ps, e, "SMTP reply longer than 64 KB: \"%s\"", l, n);
	ps->code = code;
	if (ps->nlines++ > 0) {
		buf_addc(&ps->text, '\n');
		buf_addc(&ps->raw, '\n');
	}
	buf_add(&ps->text, n > 4 ? l + 4 : "", n > 4 ? n - 4 : 0);
	buf_add(&ps->raw, l, n);
	ps->line.len = 0;
	if (!last)
		return 0;
	r->code = code;
	r->text = ps->text.p;
	r->raw = ps->raw.p;
	r->nlines = ps->nlines;
	parse_esc(r->text, code, r->esc, sizeof r->esc);
	ps->complete = 1;
	return 1;
}

int
pl_smtp_parse(struct pl_smtp_parser *ps, const char *p, size_t n, size_t *used,
    struct pl_smtp_reply *r, struct pl_err *e)
{
	size_t i;

	*used = 0;
	if (ps->failed)
		return pl_errf(e, EX_PROTOCOL, "SMTP reply parser stopped after an error");
	if (ps->complete) {
		ps->complete = 0;
		ps->nlines = 0;
		ps->text.len = ps->raw.len = 0;
		if (ps->text.p)
			ps->text.p[0] = '\0';
		if (ps->raw.p)
			ps->raw.p[0] = '\0';
	}
	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c == '\n') {
			/* VIOLATION: RFC 5321 2.3.8 ends lines with CRLF; a bare
			 * LF is accepted as a line end, as most clients do. */
			int rc;

			ps->cr = 0;
			rc = parse_line(ps, r, e);
			if (rc != 0) {
				*used = i + 1;
				return rc;
			}
			continue;
		}
		if (ps->cr)
			return parse_fail(ps, e, "SMTP reply with a bare CR: \"%s\"", ps->line.p,
			    ps->line.len);
		if (c == '\r') {
			ps->cr = 1;
			continue;
		}
		if (ps->line.len >= PL_SMTP_LINE_MAX)
			return parse_fail(ps, e, "SMTP reply line longer than 4096 octets: \"%s\"",
			    ps->line.p, ps->line.len);
		buf_addc(&ps->line, c);
	}
	*used = n;
	return 0;
}

/* ---- Session ------------------------------------------------------------- */

enum cmd { C_GREETING, C_EHLO, C_HELO, C_STARTTLS, C_MAIL, C_RCPT, C_DATA, C_DOT, C_RSET,
	C_QUIT, C_AUTH };

enum state {
	S_INIT,		/* not connected yet */
	S_TALK,		/* commands sent, replies awaited */
	S_TLS,		/* handshake under way in the I/O layer */
	S_READY,	/* idle between transactions */
	S_BODY,		/* the I/O layer streams the message */
	S_CLOSE,	/* the I/O layer must close */
	S_DONE,
	S_SECRET,	/* AUTH is next: waiting for the secret */
};

enum { R_NEW, R_SENT, R_ACCEPTED, R_DONE };

struct tx {
	struct pl_smtp_txn *t;
	unsigned char *st;	/* per recipient: R_* */
	size_t naccepted;
	int mail_failed;	/* all recipients have their outcome from MAIL */
	int convert;		/* body to 7 bit */
	int abort_dot;		/* the dot after a 354 with nobody accepted */
	struct tx *next;
};

struct pending {
	enum cmd c;
	size_t k;
};

struct pl_smtp {
	struct pl_smtp_params p;
	enum state state;
	struct pl_smtp_parser parser;
	struct buf out;
	size_t out_off;
	struct pending *pend;
	size_t npend, pend_head, pend_cap;
	struct pl_smtp_caps caps;
	struct tx *txq, **txtail;	/* txq is the current one once active */
	int active;			/* txq has started */
	int dirty;			/* a MAIL was sent since the last RSET */
	int quit_req;
	int usable, tls_active, tls_failed, quitting;
	int body_unsent;	/* the message and its dot are not all written yet */
	struct pl_smtp_stuffer stuffer;
	struct pl_smtp_outcome fail;
	int failed;
	int implicit_pending;	/* smtps: the handshake comes before the greeting */
	const char *mech;	/* AUTH mechanism chosen */
	int auth_step;		/* AUTH LOGIN: 0 AUTH sent, 1 user sent, 2 password sent;
				 * XOAUTH2: 1 once the error challenge was answered */
	int authed, auth_failed;
	char *secret;		/* AUTH LOGIN: the password until it is sent */
	int wipe_out;		/* the output held a secret: clear it once written */
	unsigned long progress;	/* connections, whole replies, bytes written */
};

static const char *const step_names[] = { "connect", "greeting", "EHLO", "STARTTLS", "MAIL",
	"RCPT", "DATA", "final", "AUTH" };

const char *
pl_smtp_step_name(enum pl_smtp_step st)
{
	return (unsigned)st < sizeof step_names / sizeof step_names[0] ? step_names[st] : "?";
}

static enum pl_smtp_step
cmd_step(enum cmd c)
{
	switch (c) {
	case C_GREETING: return PL_SMTP_STEP_GREETING;
	case C_EHLO: case C_HELO: return PL_SMTP_STEP_EHLO;
	case C_STARTTLS: return PL_SMTP_STEP_STARTTLS;
	case C_MAIL: case C_RSET: case C_QUIT: return PL_SMTP_STEP_MAIL;
	case C_RCPT: return PL_SMTP_STEP_RCPT;
	case C_DATA: return PL_SMTP_STEP_DATA;
	case C_DOT: return PL_SMTP_STEP_FINAL;
	case C_AUTH: return PL_SMTP_STEP_AUTH;
	}
	return PL_SMTP_STEP_CONNECT;
}

/* Where the session is, for outcomes decided by the connection. */
static enum pl_smtp_step
cur_step(const struct pl_smtp *s)
{
	switch (s->state) {
	case S_INIT: return PL_SMTP_STEP_CONNECT;
	case S_TLS: return PL_SMTP_STEP_STARTTLS;
	case S_SECRET: return PL_SMTP_STEP_AUTH;
	case S_BODY: return PL_SMTP_STEP_DATA;
	case S_TALK:
		if (s->npend)
			return cmd_step(s->pend[s->pend_head].c);
		return PL_SMTP_STEP_MAIL;
	default: return PL_SMTP_STEP_MAIL;
	}
}

static const char *const cmd_names[] = { "the greeting", "EHLO", "HELO", "STARTTLS", "MAIL",
	"RCPT", "DATA", "the final dot", "RSET", "QUIT", "AUTH" };

static int
deftime(int v, int d)
{
	return v > 0 ? v : d;
}

struct pl_smtp *
pl_smtp_new(const struct pl_smtp_params *p)
{
	struct pl_smtp *s = xcalloc(1, sizeof *s);
	struct pl_smtp_timeouts *t = &s->p.timeouts;

	s->p = *p;
	t->greeting = deftime(t->greeting, 300);
	t->command = deftime(t->command, 300);
	t->mail = deftime(t->mail, 300);
	t->rcpt = deftime(t->rcpt, 300);
	t->data_init = deftime(t->data_init, 120);
	t->data_block = deftime(t->data_block, 180);
	t->data_end = deftime(t->data_end, 600);
	s->state = S_INIT;
	s->txtail = &s->txq;
	pl_smtp_parser_init(&s->parser);
	pl_smtp_stuff_init(&s->stuffer);
	return s;
}

static void
tx_free(struct tx *x)
{
	free(x->st);
	free(x);
}

void
pl_smtp_free(struct pl_smtp *s)
{
	struct tx *x, *nx;

	if (s == NULL)
		return;
	for (x = s->txq; x; x = nx) {
		nx = x->next;
		tx_free(x);
	}
	pl_smtp_parser_free(&s->parser);
	if (s->wipe_out && s->out.p)
		explicit_bzero(s->out.p, s->out.cap);
	buf_free(&s->out);
	if (s->secret) {
		explicit_bzero(s->secret, strlen(s->secret));
		free(s->secret);
	}
	free(s->pend);
	free(s);
}

/* -- output and the FIFO of awaited replies -- */

static void
push_pending(struct pl_smtp *s, enum cmd c, size_t k)
{
	if (s->npend == s->pend_cap) {
		size_t ncap = s->pend_cap ? s->pend_cap * 2 : 8;
		struct pending *np = xcalloc(ncap, sizeof *np);
		for (size_t i = 0; i < s->npend; i++)
			np[i] = s->pend[(s->pend_head + i) % s->pend_cap];
		free(s->pend);
		s->pend = np;
		s->pend_cap = ncap;
		s->pend_head = 0;
	}
	s->pend[(s->pend_head + s->npend) % s->pend_cap] = (struct pending){ c, k };
	s->npend++;
}

static int
pop_pending(struct pl_smtp *s, struct pending *out)
{
	if (s->npend == 0)
		return 0;
	*out = s->pend[s->pend_head];
	s->pend_head = (s->pend_head + 1) % s->pend_cap;
	s->npend--;
	return 1;
}

static void send_cmd(struct pl_smtp *s, enum cmd c, size_t k, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
send_cmd(struct pl_smtp *s, enum cmd c, size_t k, const char *fmt, ...)
{
	va_list ap;
	char tmp[1200];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof tmp) {
		/* Addresses are far shorter than this (RFC 5321 4.5.3.1.3). */
		n = sizeof tmp - 1;
	}
	buf_add(&s->out, tmp, (size_t)n);
	buf_add(&s->out, "\r\n", 2);
	push_pending(s, c, k);
	s->state = S_TALK;
}

const char *
pl_smtp_output(const struct pl_smtp *s, size_t *len)
{
	*len = s->out.len - s->out_off;
	return s->out.p ? s->out.p + s->out_off : "";
}

void
pl_smtp_written(struct pl_smtp *s, size_t n)
{
	if (n > s->out.len - s->out_off)
		n = s->out.len - s->out_off;
	s->progress += n > 0;
	s->out_off += n;
	if (s->out_off == s->out.len) {
		if (s->wipe_out && s->out.p) {
			explicit_bzero(s->out.p, s->out.cap);
			s->wipe_out = 0;
		}
		s->body_unsent = 0;
		s->out.len = s->out_off = 0;
		if (s->out.p)
			s->out.p[0] = '\0';
	} else if (s->out_off > 65536 && s->out_off > s->out.len / 2) {
		memmove(s->out.p, s->out.p + s->out_off, s->out.len - s->out_off + 1);
		s->out.len -= s->out_off;
		s->out_off = 0;
	}
}

static void
clear_output(struct pl_smtp *s)
{
	if (s->wipe_out && s->out.p) {
		explicit_bzero(s->out.p, s->out.cap);
		s->wipe_out = 0;
	}
	s->out.len = s->out_off = 0;
	s->body_unsent = 0;
	if (s->out.p)
		s->out.p[0] = '\0';
}

/* -- outcomes -- */

static void
set_outcome(struct pl_smtp_outcome *o, enum pl_smtp_result res, const char *status,
    enum pl_smtp_step step, const char *reply)
{
	memset(o, 0, sizeof *o);
	o->result = res;
	snprintf(o->status, sizeof o->status, "%s", status);
	snprintf(o->step, sizeof o->step, "%s", pl_smtp_step_name(step));
	snprintf(o->reply, sizeof o->reply, "%s", reply);
}

/* From a reply: 2xx delivered, 5xx permanent, anything else temporary. */
static void
reply_outcome(struct pl_smtp_outcome *o, const struct pl_smtp_reply *r, enum pl_smtp_step step)
{
	enum pl_smtp_result res;
	const char *def;

	if (r->code >= 500) {
		res = PL_SMTP_PERM;
		def = "5.0.0";
	} else if (r->code >= 200 && r->code < 300) {
		res = PL_SMTP_DELIVERED;
		def = "2.0.0";
	} else {
		res = PL_SMTP_TEMP;
		def = "4.0.0";
	}
	/* An enhanced code of another class than the reply is not used. */
	set_outcome(o, res, r->esc[0] && r->esc[0] == def[0] ? r->esc : def, step, r->raw);
}

static void
report(struct pl_smtp *s, struct tx *x, size_t k, const struct pl_smtp_outcome *o)
{
	if (x->st[k] == R_DONE)
		return;
	if (x->st[k] == R_ACCEPTED)
		x->naccepted--;
	x->st[k] = R_DONE;
	if (s->p.rcpt_done)
		s->p.rcpt_done(s->p.arg, x->t, k, o);
}

/* Every recipient of x without an outcome gets o (only accepted ones when
 * accepted_only). */
static void
report_all(struct pl_smtp *s, struct tx *x, const struct pl_smtp_outcome *o, int accepted_only)
{
	for (size_t k = 0; k < x->t->nrcpt; k++)
		if (!accepted_only || x->st[k] == R_ACCEPTED)
			report(s, x, k, o);
}

/* The current transaction is over: every recipient must have its outcome. */
static void
finish_txn(struct pl_smtp *s)
{
	struct tx *x = s->txq;
	struct pl_smtp_outcome o;

	set_outcome(&o, PL_SMTP_TEMP, "4.0.0", cur_step(s),
	    "paloma: transaction ended without an outcome for this recipient");
	report_all(s, x, &o, 0);	/* a safety net; never expected */
	s->txq = x->next;
	if (s->txq == NULL)
		s->txtail = &s->txq;
	s->active = 0;
	if (s->p.txn_done)
		s->p.txn_done(s->p.arg, x->t);
	tx_free(x);
}

/* The connection cannot carry mail any more: every recipient without an
 * outcome gets o; QUIT first when the dialogue is still sound. */
static void
conn_fail(struct pl_smtp *s, const struct pl_smtp_outcome *o, int quit)
{
	if (s->state == S_CLOSE || s->state == S_DONE)
		return;
	if (!s->failed) {
		s->fail = *o;
		s->failed = 1;
	}
	s->quitting = 1;
	s->npend = 0;
	s->pend_head = 0;
	if (quit) {
		clear_output(s);
		send_cmd(s, C_QUIT, 0, "QUIT");
	} else {
		clear_output(s);
		s->state = S_CLOSE;
	}
	while (s->txq) {
		report_all(s, s->txq, o, 0);
		finish_txn(s);
	}
}

static void
own_fail(struct pl_smtp *s, enum pl_smtp_result res, const char *status, const char *why,
    int quit)
{
	struct pl_smtp_outcome o;

	set_outcome(&o, res, status, cur_step(s), why);
	conn_fail(s, &o, quit);
}

/* -- transactions -- */

/* An address we must not put into a command: control characters (CRLF
 * would inject commands), angle brackets, or longer than any real path
 * (RFC 5321 4.5.3.1.3 allows 256 octets; 512 leaves room for SMTPUTF8). */
static int
has_ctl(const char *a)
{
	if (strlen(a) > 512)
		return 1;
	for (; *a; a++)
		if ((unsigned char)*a < 32 || *a == 127 || *a == '<' || *a == '>')
			return 1;
	return 0;
}

static int
non_ascii(const char *a)
{
	for (; *a; a++)
		if ((unsigned char)*a >= 128)
			return 1;
	return 0;
}

static void
own_rcpt(struct pl_smtp *s, struct tx *x, size_t k, enum pl_smtp_result res,
    const char *status, enum pl_smtp_step step, const char *why)
{
	struct pl_smtp_outcome o;

	set_outcome(&o, res, status, step, why);
	report(s, x, k, &o);
}

static void
own_all(struct pl_smtp *s, struct tx *x, const char *status, const char *why)
{
	struct pl_smtp_outcome o;

	set_outcome(&o, PL_SMTP_PERM, status, PL_SMTP_STEP_MAIL, why);
	report_all(s, x, &o, 0);
}

/* Next recipient to send, or DATA, or the end when nobody was accepted.
 * Returns 0 when the transaction is over. */
static int
send_next_rcpt(struct pl_smtp *s, struct tx *x)
{
	for (size_t k = 0; k < x->t->nrcpt; k++)
		if (x->st[k] == R_NEW) {
			x->st[k] = R_SENT;
			send_cmd(s, C_RCPT, k, "RCPT TO:<%s>", x->t->rcpt[k]);
			return 1;
		}
	if (x->naccepted > 0) {
		send_cmd(s, C_DATA, 0, "DATA");
		return 1;
	}
	return 0;
}

/* Starts the transaction at the head of the queue.  0 when it ended at
 * once (every recipient refused before MAIL). */
static int
start_txn(struct pl_smtp *s)
{
	struct tx *x = s->txq;
	struct pl_smtp_txn *t = x->t;
	int utf8 = t->smtputf8 || non_ascii(t->sender);
	size_t left = 0;
	char why[256];

	s->active = 1;
	if (has_ctl(t->sender)) {
		own_all(s, x, "5.1.7", "paloma: the sender address has forbidden characters or is too long");
		return 0;
	}
	if (s->caps.size && s->caps.size_max > 0 && t->size > s->caps.size_max) {
		snprintf(why, sizeof why,
		    "paloma: the message (%lld octets) is larger than the server accepts (%lld)",
		    t->size, s->caps.size_max);
		own_all(s, x, "5.3.4", why);
		return 0;
	}
	if (utf8 && !s->caps.smtputf8) {
		own_all(s, x, "5.6.7",
		    "paloma: the message needs SMTPUTF8 (RFC 6531), which the server lacks");
		return 0;
	}
	for (size_t k = 0; k < t->nrcpt; k++) {
		if (has_ctl(t->rcpt[k]))
			own_rcpt(s, x, k, PL_SMTP_PERM, "5.1.3", PL_SMTP_STEP_RCPT,
			    "paloma: the recipient address has forbidden characters or is too long");
		else if (non_ascii(t->rcpt[k]) && !s->caps.smtputf8)
			own_rcpt(s, x, k, PL_SMTP_PERM, "5.6.7", PL_SMTP_STEP_RCPT,
			    "paloma: the address needs SMTPUTF8 (RFC 6531), which the server lacks");
		else {
			left++;
			utf8 |= non_ascii(t->rcpt[k]);
		}
	}
	if (left == 0)
		return 0;
	x->convert = t->body_8bit && !s->caps.eightbitmime;
	s->dirty = 1;
	char size[40] = "";
	if (s->caps.size && t->size > 0)
		snprintf(size, sizeof size, " SIZE=%lld", t->size);
	send_cmd(s, C_MAIL, 0, "MAIL FROM:<%s>%s%s%s", t->sender, size,
	    t->body_8bit && s->caps.eightbitmime ? " BODY=8BITMIME" : "",
	    utf8 ? " SMTPUTF8" : "");
	if (s->caps.pipelining) {
		/* RFC 2920: MAIL, every RCPT and DATA in one write. */
		for (size_t k = 0; k < t->nrcpt; k++)
			if (x->st[k] == R_NEW) {
				x->st[k] = R_SENT;
				send_cmd(s, C_RCPT, k, "RCPT TO:<%s>", t->rcpt[k]);
			}
		send_cmd(s, C_DATA, 0, "DATA");
	}
	return 1;
}

/* Decides what comes after a transaction or the greeting dialogue. */
static void
next(struct pl_smtp *s)
{
	for (;;) {
		if (s->state == S_CLOSE || s->state == S_DONE || s->quitting)
			return;
		if (s->txq) {
			if (s->dirty) {
				send_cmd(s, C_RSET, 0, "RSET");
				return;
			}
			if (start_txn(s))
				return;
			finish_txn(s);
			continue;
		}
		if (s->quit_req) {
			s->quitting = 1;
			send_cmd(s, C_QUIT, 0, "QUIT");
			return;
		}
		s->state = S_READY;
		return;
	}
}

/* -- AUTH (RFC 4954) -- */

static void
wipe_free(char **p)
{
	if (*p) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

/* Appends one line holding a secret (no length limit: tokens are long). */
static void
send_secret_line(struct pl_smtp *s, const char *prefix, struct buf *b64)
{
	buf_adds(&s->out, prefix);
	if (b64->len)
		buf_add(&s->out, b64->p, b64->len);
	buf_add(&s->out, "\r\n", 2);
	s->wipe_out = 1;
	push_pending(s, C_AUTH, 0);
	s->state = S_TALK;
	if (b64->p)
		explicit_bzero(b64->p, b64->cap);
	buf_free(b64);
}

static void
start_auth(struct pl_smtp *s)
{
	struct pl_smtp_outcome o;
	char why[600];

	s->mech = pl_smtp_auth_mech(s->caps.auth, s->p.auth_xoauth2);
	if (s->mech == NULL) {
		if (s->p.auth_xoauth2)
			snprintf(why, sizeof why, "paloma: relay %s does not offer AUTH XOAUTH2 "
			    "(it offers: %s)", s->p.auth_host ? s->p.auth_host : "",
			    s->caps.auth[0] ? s->caps.auth : "no AUTH at all");
		else
			snprintf(why, sizeof why, "paloma: relay %s offers no AUTH mechanism paloma "
			    "supports, PLAIN or LOGIN (it offers: %s)",
			    s->p.auth_host ? s->p.auth_host : "",
			    s->caps.auth[0] ? s->caps.auth : "no AUTH at all");
		set_outcome(&o, PL_SMTP_TEMP, "4.7.0", PL_SMTP_STEP_AUTH, why);
		conn_fail(s, &o, 1);
		return;
	}
	s->auth_step = 0;
	s->state = S_SECRET;
}

void
pl_smtp_set_secret(struct pl_smtp *s, const char *secret)
{
	struct buf b = { 0 };

	if (s->state != S_SECRET)
		return;
	if (strcmp(s->mech, "XOAUTH2") == 0) {
		pl_smtp_auth_xoauth2(&b, s->p.auth_user, secret);
		send_secret_line(s, "AUTH XOAUTH2 ", &b);
	} else if (strcmp(s->mech, "PLAIN") == 0) {
		pl_smtp_auth_plain(&b, s->p.auth_user, secret);
		send_secret_line(s, "AUTH PLAIN ", &b);
	} else {
		wipe_free(&s->secret);
		s->secret = xstrdup(secret);
		send_cmd(s, C_AUTH, 0, "AUTH LOGIN");
	}
}

void
pl_smtp_secret_failed(struct pl_smtp *s, const char *why)
{
	char msg[1200];

	if (s->state != S_SECRET)
		return;
	snprintf(msg, sizeof msg, "paloma: no password for the login to relay %s: %s",
	    s->p.auth_host ? s->p.auth_host : "", why ? why : "failed");
	own_fail(s, PL_SMTP_TEMP, "4.7.0", msg, 1);
}

/* The login was refused: every recipient waits (temporary), the reason
 * names the relay and the user so that the password gets fixed. */
static void
auth_refused(struct pl_smtp *s, const struct pl_smtp_reply *r)
{
	struct pl_smtp_outcome o;
	char why[1500], st[16];

	wipe_free(&s->secret);
	s->auth_failed = 1;
	snprintf(st, sizeof st, "%s", r->esc[0] ? r->esc : "4.7.0");
	st[0] = '4';	/* a wrong password is the sender's to fix, not a bad address */
	snprintf(why, sizeof why, "paloma: relay %s refused the login for %s: %s",
	    s->p.auth_host ? s->p.auth_host : "", s->p.auth_user, r->raw);
	set_outcome(&o, PL_SMTP_TEMP, st, PL_SMTP_STEP_AUTH, why);
	conn_fail(s, &o, r->code != 421);
}

static void
on_auth_reply(struct pl_smtp *s, const struct pl_smtp_reply *r)
{
	struct buf b = { 0 };

	if (r->code == 235) {
		wipe_free(&s->secret);
		s->authed = 1;
		s->usable = 1;
		next(s);
		return;
	}
	if (r->code != 334) {
		auth_refused(s, r);
		return;
	}
	if (strcmp(s->mech, "LOGIN") == 0 && s->auth_step < 2 && s->secret) {
		/* 334 VXNlcm5hbWU6 ("Username:"), then 334 UGFzc3dvcmQ6 */
		if (s->auth_step == 0)
			pl_smtp_base64(&b, (const unsigned char *)s->p.auth_user,
			    strlen(s->p.auth_user));
		else
			pl_smtp_base64(&b, (const unsigned char *)s->secret, strlen(s->secret));
		s->auth_step++;
		if (s->auth_step == 2)
			wipe_free(&s->secret);
		send_secret_line(s, "", &b);
		return;
	}
	if (strcmp(s->mech, "XOAUTH2") == 0 && s->auth_step == 0) {
		/* The error challenge (base64 JSON): an empty line gets the
		 * final reply (RFC 7628 3.2.3 does the same for OAUTHBEARER). */
		s->auth_step = 1;
		send_cmd(s, C_AUTH, 0, "%s", "");
		return;
	}
	/* A challenge we have nothing for: cancel (RFC 4954 4). */
	s->auth_step = 3;
	send_cmd(s, C_AUTH, 0, "*");
}

/* -- EHLO -- */

static void
parse_caps(struct pl_smtp_caps *c, const char *text)
{
	const char *l = strchr(text, '\n');

	memset(c, 0, sizeof *c);
	c->esmtp = 1;
	while (l) {
		const char *kw = l + 1, *end = strchr(kw, '\n'), *arg;
		size_t n, kn;

		l = end;
		n = end ? (size_t)(end - kw) : strlen(kw);
		for (kn = 0; kn < n && kw[kn] != ' ' && kw[kn] != '='; kn++)
			;
		arg = kn < n ? kw + kn + 1 : kw + n;
#define KW(s) (kn == sizeof(s) - 1 && ascii_ncasecmp(kw, s, kn) == 0)
		if (KW("STARTTLS"))
			c->starttls = 1;
		else if (KW("PIPELINING"))
			c->pipelining = 1;
		else if (KW("8BITMIME"))
			c->eightbitmime = 1;
		else if (KW("SMTPUTF8"))
			c->smtputf8 = 1;
		else if (KW("ENHANCEDSTATUSCODES"))
			c->enhancedstatuscodes = 1;
		else if (KW("SIZE")) {
			c->size = 1;
			c->size_max = 0;
			for (const char *p = arg; p < kw + n && *p >= '0' && *p <= '9'; p++) {
				if (c->size_max > (1LL << 50))
					break;	/* no limit worth the name */
				c->size_max = c->size_max * 10 + (*p - '0');
			}
		} else if (KW("AUTH") && kw[kn] == ' ') {
			size_t an = (size_t)(kw + n - arg);
			if (an >= sizeof c->auth)
				an = sizeof c->auth - 1;
			memcpy(c->auth, arg, an);
			c->auth[an] = '\0';
		}
#undef KW
	}
}

static void
after_hello(struct pl_smtp *s)
{
	if (!s->tls_active && s->caps.starttls && s->p.tls != PL_SMTP_TLS_NONE) {
		send_cmd(s, C_STARTTLS, 0, "STARTTLS");
		return;
	}
	if (!s->tls_active && s->p.tls == PL_SMTP_TLS_REQUIRED) {
		struct pl_smtp_outcome o;
		set_outcome(&o, PL_SMTP_TEMP, "4.7.4", PL_SMTP_STEP_STARTTLS,
		    "paloma: TLS is required for this host, but it does not offer STARTTLS");
		conn_fail(s, &o, 1);
		return;
	}
	if (s->p.auth_user && !s->authed) {
		start_auth(s);
		return;
	}
	s->usable = 1;
	next(s);
}

/* -- replies -- */

static void
on_reply(struct pl_smtp *s, const struct pl_smtp_reply *r)
{
	struct pending pd;
	struct pl_smtp_outcome o;
	struct tx *x = s->txq;
	int ok = r->code >= 200 && r->code < 300;

	if (s->state == S_BODY || !pop_pending(s, &pd)) {
		/* RFC 5321 3.8: a server may say 421 at any time, then close. */
		reply_outcome(&o, r, cur_step(s));
		if (r->code != 421) {
			char why[1024];
			snprintf(why, sizeof why, "paloma: unexpected reply from the server: %s",
			    r->raw);
			set_outcome(&o, PL_SMTP_TEMP, "4.5.0", cur_step(s), why);
		}
		o.result = PL_SMTP_TEMP;
		conn_fail(s, &o, 0);
		return;
	}
	reply_outcome(&o, r, cmd_step(pd.c));
	switch (pd.c) {
	case C_GREETING:
		/* VIOLATION: any 2xx greeting is taken, not only 220. */
		if (ok)
			send_cmd(s, C_EHLO, 0, "EHLO %s", s->p.helo);
		else
			conn_fail(s, &o, 1);
		return;
	case C_EHLO:
		if (ok) {
			parse_caps(&s->caps, r->text);
			after_hello(s);
		} else if (r->code >= 500)	/* 500, 502, also 550 or 554 from old servers */
			send_cmd(s, C_HELO, 0, "HELO %s", s->p.helo);
		else
			conn_fail(s, &o, 1);
		return;
	case C_HELO:
		if (ok) {
			memset(&s->caps, 0, sizeof s->caps);
			after_hello(s);
		} else
			conn_fail(s, &o, 1);
		return;
	case C_STARTTLS:
		if (r->code == 220) {
			s->state = S_TLS;
			return;
		}
		if (s->p.tls == PL_SMTP_TLS_REQUIRED) {
			char why[1024];
			snprintf(why, sizeof why, "paloma: TLS is required for this host: %s", r->raw);
			set_outcome(&o, PL_SMTP_TEMP, "4.7.4", PL_SMTP_STEP_STARTTLS, why);
			conn_fail(s, &o, 1);
			return;
		}
		s->usable = 1;	/* carry on in clear (RFC 3207 4.1) */
		next(s);
		return;
	case C_MAIL:
		if (ok) {
			if (!s->caps.pipelining && !send_next_rcpt(s, x)) {
				finish_txn(s);
				next(s);
			}
			return;
		}
		x->mail_failed = 1;
		report_all(s, x, &o, 0);
		if (!s->caps.pipelining) {
			finish_txn(s);
			next(s);
		}
		return;	/* pipelined: RCPT and DATA replies still to come */
	case C_RCPT:
		if (!x->mail_failed && x->st[pd.k] == R_SENT) {
			if (ok) {
				x->st[pd.k] = R_ACCEPTED;
				x->naccepted++;
			} else
				report(s, x, pd.k, &o);
		}
		if (!s->caps.pipelining && !send_next_rcpt(s, x)) {
			finish_txn(s);
			next(s);
		}
		return;
	case C_DATA:
		if (r->code >= 300 && r->code < 400) {
			if (x->naccepted == 0) {
				/* RFC 2920 3.1: nobody accepted, yet 354; end it empty. */
				x->abort_dot = 1;
				buf_adds(&s->out, ".\r\n");
				push_pending(s, C_DOT, 0);
				return;
			}
			pl_smtp_stuff_init(&s->stuffer);
			s->state = S_BODY;
			return;
		}
		if (o.result == PL_SMTP_DELIVERED) {
			/* 2xx to DATA: nonsense, not a delivery. */
			o.result = PL_SMTP_TEMP;
			snprintf(o.status, sizeof o.status, "4.0.0");
		}
		report_all(s, x, &o, 1);
		finish_txn(s);
		next(s);
		return;
	case C_DOT:
		if (!x->abort_dot) {
			if (r->code >= 300 && r->code < 400)
				o.result = PL_SMTP_TEMP;
			report_all(s, x, &o, 1);
		}
		finish_txn(s);
		next(s);
		return;
	case C_RSET:
		if (ok) {
			s->dirty = 0;
			next(s);
		} else {
			o.result = PL_SMTP_TEMP;
			conn_fail(s, &o, 1);
		}
		return;
	case C_QUIT:
		s->state = S_CLOSE;
		return;
	case C_AUTH:
		if (s->auth_step == 3 && r->code != 235) {
			/* our cancel: the outcome is the challenge's refusal */
			auth_refused(s, r);
			return;
		}
		on_auth_reply(s, r);
		return;
	}
}

/* -- events -- */

void
pl_smtp_on_connected(struct pl_smtp *s)
{
	if (s->state != S_INIT)
		return;
	s->progress++;
	if (s->p.tls == PL_SMTP_TLS_IMPLICIT) {
		s->implicit_pending = 1;
		s->state = S_TLS;
		return;
	}
	s->state = S_TALK;
	push_pending(s, C_GREETING, 0);
}

void
pl_smtp_on_connect_failed(struct pl_smtp *s, const char *why)
{
	char msg[1024];

	if (s->state != S_INIT)
		return;
	snprintf(msg, sizeof msg, "paloma: cannot connect: %s", why ? why : "failed");
	own_fail(s, PL_SMTP_TEMP, "4.4.1", msg, 0);
	s->state = S_DONE;
}

void
pl_smtp_on_data(struct pl_smtp *s, const char *p, size_t n)
{
	struct pl_smtp_reply r;
	struct pl_err e;
	size_t used;
	int rc;

	while (n > 0) {
		if (s->state != S_TALK && s->state != S_READY && s->state != S_BODY)
			return;	/* closing, or plaintext bytes before TLS: dropped */
		rc = pl_smtp_parse(&s->parser, p, n, &used, &r, &e);
		if (rc < 0) {
			char why[1200];
			snprintf(why, sizeof why, "paloma: protocol error: %s", e.msg);
			own_fail(s, PL_SMTP_TEMP, "4.5.0", why, 0);
			return;
		}
		if (rc == 0)
			return;
		p += used;
		n -= used;
		s->progress++;
		on_reply(s, &r);
	}
}

void
pl_smtp_on_tls(struct pl_smtp *s, int ok)
{
	if (s->state != S_TLS)
		return;
	s->progress++;
	if (!ok) {
		s->tls_failed = 1;
		own_fail(s, PL_SMTP_TEMP, "4.7.5", "paloma: the TLS handshake failed", 0);
		return;
	}
	s->tls_active = 1;
	if (s->implicit_pending) {
		s->implicit_pending = 0;
		s->state = S_TALK;
		push_pending(s, C_GREETING, 0);
		return;
	}
	memset(&s->caps, 0, sizeof s->caps);
	/* Nothing read before the handshake may count as said under TLS. */
	pl_smtp_parser_free(&s->parser);
	pl_smtp_parser_init(&s->parser);
	send_cmd(s, C_EHLO, 0, "EHLO %s", s->p.helo);
}

void
pl_smtp_on_tls_error(struct pl_smtp *s, const char *why)
{
	char msg[1200];

	if (s->state != S_TLS)
		return;
	s->tls_failed = 1;
	snprintf(msg, sizeof msg, "paloma: the TLS handshake failed: %s", why ? why : "?");
	own_fail(s, PL_SMTP_TEMP, "4.7.5", msg, 0);
}

void
pl_smtp_on_closed(struct pl_smtp *s)
{
	char why[256];

	if (s->state == S_DONE)
		return;
	if (s->state == S_CLOSE || (s->quitting && s->state == S_TALK) ||
	    (s->state == S_READY && s->txq == NULL)) {
		s->state = S_DONE;
		return;
	}
	if (s->body_unsent)
		snprintf(why, sizeof why,
		    "paloma: the server closed the connection while we sent the message");
	else if (s->state == S_TALK && s->npend)
		snprintf(why, sizeof why,
		    "paloma: the server closed the connection while we waited for the reply to %s",
		    cmd_names[s->pend[s->pend_head].c]);
	else
		snprintf(why, sizeof why, "paloma: the server closed the connection");
	own_fail(s, PL_SMTP_TEMP, "4.4.2", why, 0);
	s->state = S_DONE;
}

void
pl_smtp_on_timeout(struct pl_smtp *s)
{
	char why[256];

	if (s->state == S_CLOSE || s->state == S_DONE || s->state == S_INIT)
		return;
	if (s->quitting && s->state == S_TALK && s->npend &&
	    s->pend[s->pend_head].c == C_QUIT) {
		s->state = S_CLOSE;
		return;
	}
	if (s->body_unsent)
		snprintf(why, sizeof why, "paloma: timed out after %d s sending the message "
		    "(the server stopped reading it)", pl_smtp_timeout(s));
	else if (s->state == S_TALK && s->npend)
		snprintf(why, sizeof why, "paloma: timed out after %d s waiting for the reply to %s",
		    pl_smtp_timeout(s), cmd_names[s->pend[s->pend_head].c]);
	else if (s->state == S_TLS)
		snprintf(why, sizeof why, "paloma: the TLS handshake timed out");
	else
		snprintf(why, sizeof why, "paloma: timed out sending the message");
	own_fail(s, PL_SMTP_TEMP, "4.4.2", why, 0);
}

void
pl_smtp_abort(struct pl_smtp *s, const char *why)
{
	if (s->state == S_DONE)
		return;
	own_fail(s, PL_SMTP_TEMP, "4.3.0", why ? why : "paloma: delivery abandoned", 0);
	s->state = S_CLOSE;
}

int
pl_smtp_add_txn(struct pl_smtp *s, struct pl_smtp_txn *t)
{
	struct tx *x;

	if (s->quitting || s->quit_req || s->state == S_CLOSE || s->state == S_DONE)
		return -1;
	x = xcalloc(1, sizeof *x);
	x->t = t;
	x->st = xcalloc(t->nrcpt ? t->nrcpt : 1, 1);
	*s->txtail = x;
	s->txtail = &x->next;
	if (s->state == S_READY)
		next(s);
	return 0;
}

void
pl_smtp_quit(struct pl_smtp *s)
{
	s->quit_req = 1;
	if (s->state == S_READY && s->txq == NULL)
		next(s);
}

enum pl_smtp_want
pl_smtp_want(const struct pl_smtp *s)
{
	if (s->out.len > s->out_off && s->state != S_DONE)
		return PL_SMTP_WANT_WRITE;
	switch (s->state) {
	case S_INIT: case S_TALK: return PL_SMTP_WANT_READ;
	case S_TLS: return PL_SMTP_WANT_START_TLS;
	case S_READY: return PL_SMTP_WANT_TXN;
	case S_BODY: return PL_SMTP_WANT_BODY;
	case S_CLOSE: return PL_SMTP_WANT_CLOSE;
	case S_DONE: return PL_SMTP_WANT_DONE;
	case S_SECRET: return PL_SMTP_WANT_SECRET;
	}
	return PL_SMTP_WANT_CLOSE;
}

unsigned long
pl_smtp_progress(const struct pl_smtp *s)
{
	return s->progress;
}

int
pl_smtp_timeout(const struct pl_smtp *s)
{
	const struct pl_smtp_timeouts *t = &s->p.timeouts;

	switch (s->state) {
	case S_TLS: return t->command;
	case S_BODY: return t->data_block;
	case S_TALK:
		if (s->npend == 0)
			return t->command;
		switch (s->pend[s->pend_head].c) {
		case C_GREETING: return t->greeting;
		case C_MAIL: return t->mail;
		case C_RCPT: return t->rcpt;
		case C_DATA: return t->data_init;
		case C_DOT: return s->body_unsent ? t->data_block : t->data_end;
		default: return t->command;
		}
	default: return 0;
	}
}

struct pl_smtp_txn *
pl_smtp_current_txn(const struct pl_smtp *s)
{
	return s->active && s->txq ? s->txq->t : NULL;
}

int
pl_smtp_body_7bit(const struct pl_smtp *s)
{
	return s->active && s->txq ? s->txq->convert : 0;
}

void
pl_smtp_body(struct pl_smtp *s, const char *p, size_t n)
{
	if (s->state == S_BODY)
		pl_smtp_stuff(&s->stuffer, p, n, &s->out);
}

void
pl_smtp_body_end(struct pl_smtp *s)
{
	if (s->state != S_BODY)
		return;
	pl_smtp_stuff_end(&s->stuffer, &s->out);
	push_pending(s, C_DOT, 0);
	s->state = S_TALK;
	/* Until the dot is written the wait is the data block timeout. */
	s->body_unsent = s->out.len > s->out_off;
}

const struct pl_smtp_caps *
pl_smtp_caps(const struct pl_smtp *s)
{
	return &s->caps;
}

const struct pl_smtp_outcome *
pl_smtp_failure(const struct pl_smtp *s)
{
	return s->failed ? &s->fail : NULL;
}

int
pl_smtp_usable(const struct pl_smtp *s)
{
	return s->usable;
}

int
pl_smtp_tls_failed(const struct pl_smtp *s)
{
	return s->tls_failed;
}

int
pl_smtp_tls_active(const struct pl_smtp *s)
{
	return s->tls_active;
}

int
pl_smtp_auth_failed(const struct pl_smtp *s)
{
	return s->auth_failed;
}

/* ---- AUTH and relay helpers ------------------------------------------------ */

static int
word_in(const char *list, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = list; *p; ) {
		size_t k;
		while (*p == ' ')
			p++;
		k = strcspn(p, " ");
		if (k == n && ascii_ncasecmp(p, w, n) == 0)
			return 1;
		p += k;
	}
	return 0;
}

const char *
pl_smtp_auth_mech(const char *offered, int xoauth2)
{
	if (offered == NULL)
		return NULL;
	if (xoauth2)
		return word_in(offered, "XOAUTH2") ? "XOAUTH2" : NULL;
	if (word_in(offered, "PLAIN"))
		return "PLAIN";
	if (word_in(offered, "LOGIN"))
		return "LOGIN";
	return NULL;
}

void
pl_smtp_base64(struct buf *out, const unsigned char *p, size_t n)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = a[v >> 18 & 63];
		q[1] = a[v >> 12 & 63];
		q[2] = i + 1 < n ? a[v >> 6 & 63] : '=';
		q[3] = i + 2 < n ? a[v & 63] : '=';
		buf_add(out, q, 4);
	}
	explicit_bzero(q, sizeof q);
	if (out->p == NULL)
		buf_add(out, "", 0);
}

/* raw is cleared before it is freed: it holds the secret. */
static void
base64_wiped(struct buf *out, struct buf *raw)
{
	pl_smtp_base64(out, (const unsigned char *)raw->p, raw->len);
	if (raw->p)
		explicit_bzero(raw->p, raw->cap);
	buf_free(raw);
}

void
pl_smtp_auth_plain(struct buf *out, const char *user, const char *pass)
{
	struct buf raw = { 0 };

	buf_addc(&raw, '\0');
	buf_adds(&raw, user);
	buf_addc(&raw, '\0');
	buf_adds(&raw, pass);
	base64_wiped(out, &raw);
}

void
pl_smtp_auth_xoauth2(struct buf *out, const char *user, const char *token)
{
	struct buf raw = { 0 };

	buf_adds(&raw, "user=");
	buf_adds(&raw, user);
	buf_adds(&raw, "\001auth=Bearer ");
	buf_adds(&raw, token);
	buf_adds(&raw, "\001\001");
	base64_wiped(out, &raw);
}

/* Case-insensitive substring; with word, not inside a longer word. */
static int
has_word(const char *t, const char *w, int word)
{
	size_t n = strlen(w);

	for (const char *p = t; *p; p++)
		if (ascii_ncasecmp(p, w, n) == 0) {
			int l = p > t && ((p[-1] >= 'a' && p[-1] <= 'z') ||
			    (p[-1] >= 'A' && p[-1] <= 'Z') || (p[-1] >= '0' && p[-1] <= '9'));
			char c = p[n];
			int r = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9');
			if (!word || (!l && !r))
				return 1;
		}
	return 0;
}

int
pl_smtp_blocklisted(const char *status, const char *reply)
{
	static const char *const words[] = { "blocked", "blacklist", "blocklist",
		"spamhaus", "reputation", "dnsbl" };
	int code = 0;

	if (reply == NULL)
		return 0;
	if (reply[0] >= '2' && reply[0] <= '5' && reply[1] >= '0' && reply[1] <= '9' &&
	    reply[2] >= '0' && reply[2] <= '9')
		code = (reply[0] - '0') * 100 + (reply[1] - '0') * 10 + (reply[2] - '0');
	if (code < 500 || code > 599)
		return 0;
	if (code != 554 && !(status && strncmp(status, "5.7.", 4) == 0))
		return 0;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (has_word(reply, words[i], 0))
			return 1;
	return has_word(reply, "rbl", 1);
}

/* ---- Dot-stuffing (RFC 5321 4.5.2) --------------------------------------- */

void
pl_smtp_stuff_init(struct pl_smtp_stuffer *st)
{
	st->bol = 1;
	st->cr = 0;
}

void
pl_smtp_stuff(struct pl_smtp_stuffer *st, const char *p, size_t n, struct buf *out)
{
	char *w;

	buf_grow(out, 2 * n + 2);
	w = out->p + out->len;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (st->cr) {
			/* CR then anything: a line end; a bare CR becomes CRLF. */
			st->cr = 0;
			*w++ = '\r';
			*w++ = '\n';
			st->bol = 1;
			if (c == '\n')
				continue;
		}
		if (c == '\r') {
			st->cr = 1;
			continue;
		}
		if (c == '\n') {
			*w++ = '\r';
			*w++ = '\n';
			st->bol = 1;
			continue;
		}
		if (st->bol && c == '.')
			*w++ = '.';
		*w++ = c;
		st->bol = 0;
	}
	out->len = (size_t)(w - out->p);
	out->p[out->len] = '\0';
}

void
pl_smtp_stuff_end(struct pl_smtp_stuffer *st, struct buf *out)
{
	if (st->cr) {
		st->cr = 0;
		st->bol = 1;
		buf_adds(out, "\r\n");
	}
	if (!st->bol)
		buf_adds(out, "\r\n");
	buf_adds(out, ".\r\n");
	st->bol = 1;
}

/* ---- 8-bit to 7-bit (RFC 6152 3, RFC 2045) ------------------------------- */

/* One algorithm for the daemon and for `paloma send` (which converts before
 * signing): sevenbit.c. */
int
pl_smtp_to_7bit(const char *msg, size_t len, struct buf *out)
{
	return pl_7bit_convert(msg, len, out);
}
