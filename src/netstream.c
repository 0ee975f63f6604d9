/* netstream.c — TCP connect and libetpan mailstreams over src/tls.c.
 *
 * One mailstream_low driver serves both kinds of stream: a plain one (tls is
 * NULL) and a TLS one.  libetpan's contract for a driver, as its own socket
 * driver keeps it:
 *   read   bytes read, 0 at end of stream, -1 on error (timeouts included);
 *   write  bytes written (at least 1: libetpan loops while 0 comes back),
 *          -1 on error;
 *   close  closes the connection, the low stream itself stays allocated;
 *   free   frees the driver's data AND the mailstream_low itself (it is
 *          called after close by mailstream_close, and alone when the low
 *          stream is swapped for STARTTLS, where the socket must stay open);
 *   get_cancel must not be NULL: mailstream_low_get_cancel calls it blindly
 *          and IDLE (mailstream_low_wait_idle) needs a real cancel object.
 * certificate_chain and the idle hooks may be NULL (libetpan checks them and
 * falls back to poll on get_fd).  mailstream_cancel_new and friends are
 * exported by libetpan but their header is not installed: declared here. */
#include "netstream.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libetpan/mailstream_low.h>

#include "tls.h"

struct mailstream_cancel;
struct mailstream_cancel *mailstream_cancel_new(void);
void mailstream_cancel_free(struct mailstream_cancel *cancel);
int mailstream_cancel_get_fd(struct mailstream_cancel *cancel);
int mailstream_cancel_cancelled(struct mailstream_cancel *cancel);
void mailstream_cancel_notify(struct mailstream_cancel *cancel);
void mailstream_cancel_ack(struct mailstream_cancel *cancel);

/* The budget of the answer being read (see netstream.h) and the state of
 * the IMAP literal watch: the bytes of a literal are skipped (a message
 * may well contain "{123}" at the end of a line), the rest is scanned for
 * "{digits}" followed by CRLF. */
struct limits {
	size_t budget, line_max;	/* of the answer being read */
	size_t got, line;		/* its bytes so far; those since the last LF */
	size_t next_budget, next_line;	/* for the next answer (0: defaults) */
	size_t def_line;		/* pl_stream_limits */
	int imap;
	int wrote;			/* a command went out since the last read */
	int exceeded;			/* a limit was crossed: the stream is dead */
	enum { LIT_TEXT, LIT_DIGITS, LIT_CLOSE, LIT_CR } lit;
	int ndigits;
	uint64_t num;			/* the literal's announced size */
	uint64_t skip;			/* literal bytes still to come */
};

/* The IMAP greeting, read whole before libetpan sees it (pl_stream_limits
 * arms it; see pl_imap_greeting_clean). */
#define GREETING_MAX 8192
struct greeting {
	enum { GREET_OFF, GREET_ARMED, GREET_SERVING } state;
	size_t len, off;
	char buf[GREETING_MAX];
};

/* The pace of the dialogue (netstream.h, "How long a server may take"):
 * a phase is a TLS handshake, the writing of a command or the reading of an
 * answer; it starts when the direction changes and must be over by its
 * deadline, which moves on by a second for every PL_STREAM_PACE bytes. */
enum { PACE_NONE, PACE_HANDSHAKE, PACE_WRITE, PACE_READ };
struct pace {
	unsigned phase;			/* PACE_* */
	int64_t start, deadline;	/* ms, CLOCK_MONOTONIC */
	int64_t allowed;		/* ms the phase had before its bytes */
	uint64_t bytes;			/* moved in the phase */
};

struct sdata {
	int fd;
	void *ctx;			/* TLS context, or NULL */
	struct pl_tls *tls;		/* NULL: plain */
	struct mailstream_cancel *cancel;
	struct limits lim;
	struct greeting greet;
	struct pace pace;
	char err[512];
};

/* ---- connecting ---- */

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int
pl_net_connect(const char *host, int port, long timeout_s, struct pl_err *e)
{
	struct addrinfo hints, *res = NULL, *ai;
	char service[16], why[256] = "no address";
	int r, ms = (timeout_s > 0 && timeout_s < PL_CONNECT_TIMEOUT ? (int)timeout_s :
	    PL_CONNECT_TIMEOUT) * 1000;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(service, sizeof service, "%d", port);
	r = getaddrinfo(host, service, &hints, &res);
	if (r != 0)
		return pl_errf(e, EX_TEMPFAIL, "%s: cannot resolve: %s", host,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
		if (fd < 0) {
			snprintf(why, sizeof why, "socket: %s", strerror(errno));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			freeaddrinfo(res);
			return fd;
		}
		if (errno == EINPROGRESS) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			int err = 0;
			socklen_t len = sizeof err;

			do
				r = poll(&p, 1, ms);
			while (r < 0 && errno == EINTR);
			if (r == 0) {
				snprintf(why, sizeof why, "no connection within %d s", ms / 1000);
			} else if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
				snprintf(why, sizeof why, "%s", strerror(errno));
			} else if (err) {
				snprintf(why, sizeof why, "%s", strerror(err));
			} else {
				freeaddrinfo(res);
				return fd;
			}
		} else {
			snprintf(why, sizeof why, "%s", strerror(errno));
		}
		close(fd);
	}
	freeaddrinfo(res);
	return pl_errf(e, EX_TEMPFAIL, "%s port %d: cannot connect: %s", host, port, why);
}

/* ---- the driver ---- */

static int
timeout_ms(mailstream_low *low)
{
	return (int)(low && low->timeout ? low->timeout : PL_STREAM_TIMEOUT) * 1000;
}

/* Enters a phase (a no-op when already in it) that may last ms before
 * counting its bytes. */
static void
pace_enter(struct sdata *d, unsigned phase, int ms)
{
	struct pace *p = &d->pace;

	if (p->phase == phase)
		return;
	p->phase = phase;
	p->start = pl_mono_ms();
	p->allowed = ms;
	p->deadline = p->start + ms;
	p->bytes = 0;
}

/* n bytes moved: the phase may last a little longer. */
static void
pace_count(struct sdata *d, size_t n)
{
	struct pace *p = &d->pace;

	p->bytes += n;
	if (p->phase != PACE_HANDSHAKE)
		p->deadline = p->start + p->allowed +
		    (int64_t)(p->bytes * 1000 / PL_STREAM_PACE);
}

/* The phase is past its deadline: why, into d->err. */
static int
too_slow(struct sdata *d)
{
	struct pace *p = &d->pace;
	long long s = (long long)((pl_mono_ms() - p->start + 500) / 1000);

	if (p->phase == PACE_HANDSHAKE)
		snprintf(d->err, sizeof d->err, "not done within %lld s", s);
	else
		snprintf(d->err, sizeof d->err, "the server is too slow: %llu bytes %s in %lld s "
		    "(%s gets %lld s, and 1 s more per %d KiB)", (unsigned long long)p->bytes,
		    p->phase == PACE_READ ? "of its answer" : "of our command taken",
		    s, p->phase == PACE_READ ? "an answer" : "a command",
		    (long long)(p->allowed / 1000), PL_STREAM_PACE / 1024);
	return -1;
}

/* Waits for events on the socket, ms at most and no longer than the phase's
 * deadline: 0, or -1 on timeout, cancel or error. */
static int
wait_fd(struct sdata *d, int events, int ms)
{
	struct pollfd p[2] = {
		{ .fd = d->fd, .events = (short)events },
		{ .fd = mailstream_cancel_get_fd(d->cancel), .events = POLLIN },
	};
	int64_t left = d->pace.deadline - pl_mono_ms();
	int r, wait = ms;

	if (d->pace.phase != PACE_NONE) {
		if (left <= 0)
			return too_slow(d);
		if (left < wait)
			wait = (int)left;
	}
	do
		r = poll(p, p[1].fd >= 0 ? 2 : 1, wait);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		snprintf(d->err, sizeof d->err, "poll: %s", strerror(errno));
		return -1;
	}
	if (r == 0 && wait < ms)
		return too_slow(d);
	if (r == 0) {
		snprintf(d->err, sizeof d->err, "timed out after %d s waiting for the server",
		    ms / 1000);
		return -1;
	}
	if (p[1].revents & POLLIN) {
		mailstream_cancel_ack(d->cancel);
		snprintf(d->err, sizeof d->err, "cancelled");
		return -1;
	}
	return 0;
}

/* The end of the connection is an error to libetpan: its multi-line
 * readers (POP3 LIST, UIDL, RETR) take a read of 0 for an empty line and
 * would wait for the final dot for ever. */
static ssize_t
closed(struct sdata *d)
{
	snprintf(d->err, sizeof d->err, "connection closed by the server");
	return -1;
}

/* ---- the budget of an answer ---- */

/* "16 MiB", "64 KiB", "100 bytes" */
static void
fmt_size(uint64_t n, char *out, size_t len)
{
	if (n >= (1u << 20))
		snprintf(out, len, "%llu MiB", (unsigned long long)((n + (1u << 19)) >> 20));
	else if (n >= 1024)
		snprintf(out, len, "%llu KiB", (unsigned long long)((n + 512) >> 10));
	else
		snprintf(out, len, "%llu bytes", (unsigned long long)n);
}

/* Fails the stream: fmt has a %s for a, and one for b or none. */
static ssize_t
exceeded(struct sdata *d, const char *fmt, uint64_t a, uint64_t b)
{
	char sa[32], sb[32];

	fmt_size(a, sa, sizeof sa);
	fmt_size(b, sb, sizeof sb);
	snprintf(d->err, sizeof d->err, fmt, sa, sb);
	d->lim.exceeded = 1;
	return -1;
}

/* The first read after a command starts its answer. */
static void
answer_start(struct limits *l)
{
	if (!l->wrote)
		return;
	l->wrote = 0;
	l->budget = l->next_budget ? l->next_budget : PL_STREAM_BUDGET;
	l->line_max = l->next_line ? l->next_line : l->def_line;
	l->next_budget = l->next_line = 0;
	l->got = 0;
}

/* A literal of l->num bytes was announced, after of the bytes just
 * counted come after its announcement: refused when it cannot fit. */
static ssize_t
literal(struct sdata *d, size_t after)
{
	struct limits *l = &d->lim;

	if (l->num > l->budget - l->got + after)
		return exceeded(d, "the server announced a literal of %s, more than the %s "
		    "allowed in answer to one command", l->num, l->budget);
	l->skip = l->num;
	return 0;
}

/* What libetpan keeps of an IMAP response beyond its bytes (a response of
 * "* OK x" costs it some 200 bytes): each line of an answer counts this
 * much more against its budget, so that the budget bounds the memory of a
 * flood of short responses too, not only their bytes. */
#define IMAP_LINE_COST 256

static ssize_t
over_budget(struct sdata *d)
{
	return exceeded(d, d->lim.imap ? "the server sent more than %s in answer to one "
	    "command (each line counted as 256 bytes more)" :
	    "the server sent more than %s in answer to one command", d->lim.budget, 0);
}

/* Scans n bytes for IMAP literal announcements and counts their lines. */
static ssize_t
watch_literals(struct sdata *d, const unsigned char *p, size_t n)
{
	struct limits *l = &d->lim;
	size_t i = 0;

	while (i < n) {
		unsigned char c;

		if (l->skip > 0) {
			size_t k = l->skip < n - i ? (size_t)l->skip : n - i;

			l->skip -= k;
			i += k;
			continue;
		}
		c = p[i++];
		if (c == '\n') {
			if (IMAP_LINE_COST > l->budget - l->got)
				return over_budget(d);
			l->got += IMAP_LINE_COST;
		}
		switch (l->lit) {
		case LIT_DIGITS:
			if (c >= '0' && c <= '9') {
				/* saturates: anything this large is refused */
				l->num = l->num > UINT64_MAX / 20 ? UINT64_MAX / 2 :
				    l->num * 10 + (c - '0');
				l->ndigits++;
				continue;
			}
			l->lit = c == '}' && l->ndigits > 0 ? LIT_CLOSE : LIT_TEXT;
			if (l->lit == LIT_CLOSE)
				continue;
			break;
		case LIT_CLOSE:
		case LIT_CR:
			if (c == '\n') {
				l->lit = LIT_TEXT;
				if (literal(d, n - i) < 0)
					return -1;
				continue;
			}
			if (c == '\r' && l->lit == LIT_CLOSE) {
				l->lit = LIT_CR;
				continue;
			}
			l->lit = LIT_TEXT;
			break;
		case LIT_TEXT:
			break;
		}
		if (c == '{') {
			l->lit = LIT_DIGITS;
			l->num = 0;
			l->ndigits = 0;
		}
	}
	return 0;
}

/* Counts n bytes just read against the answer's budget: -1 (the stream
 * failed, d->err says why) when they cross it.  The bytes of the failing
 * read never reach libetpan, so neither does the end of a line that
 * announces a literal too large. */
static ssize_t
charge(struct sdata *d, const void *buf, size_t n)
{
	struct limits *l = &d->lim;

	if (n > l->budget - l->got)
		return over_budget(d);
	l->got += n;
	if (l->line_max) {
		const char *nl = memrchr(buf, '\n', n);

		l->line = nl ? (size_t)((const char *)buf + n - nl - 1) : l->line + n;
		if (l->line > l->line_max)
			return exceeded(d, "the server sent a line longer than %s", l->line_max, 0);
	}
	return l->imap ? watch_literals(d, buf, n) : 0;
}

static ssize_t
read_some(mailstream_low *low, void *buf, size_t n)
{
	struct sdata *d = low->data;
	struct pl_err e = { 0 };

	if (d->fd < 0 || d->lim.exceeded || mailstream_cancel_cancelled(d->cancel))
		return -1;
	answer_start(&d->lim);
	pace_enter(d, PACE_READ, timeout_ms(low));
	for (;;) {
		ssize_t r;
		int ev = POLLIN;

		if (d->tls) {
			r = pl_tls_read(d->tls, buf, n, &ev, &e);
			if (r == 0 && n > 0)
				return closed(d);
			if (r >= 0) {
				pace_count(d, (size_t)r);
				return r;
			}
			if (r == -2) {
				snprintf(d->err, sizeof d->err, "%s", e.msg);
				return -1;
			}
		} else {
			r = recv(d->fd, buf, n, 0);
			if (r == 0 && n > 0)
				return closed(d);
			if (r >= 0) {
				pace_count(d, (size_t)r);
				return r;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				snprintf(d->err, sizeof d->err, "%s", strerror(errno));
				return -1;
			}
		}
		if (wait_fd(d, ev, timeout_ms(low)) < 0)
			return -1;
	}
}

/* ---- the IMAP greeting ---- */

/* libetpan parses the greeting without a parser context, and its literal
 * parser dereferences that context unchecked: any response code in the
 * greeting that holds a string ("* OK [BADCHARSET (x)] hi") crashes the
 * program (libetpan 1.9.4 and its master; found by fuzz_imap).  So the
 * greeting's response code is taken out unless it is CAPABILITY (atoms
 * only, and worth keeping); the engine asks for the capabilities when the
 * greeting gave none.  The line shrinks or stays: "[X]" is three octets at
 * least, and an empty text becomes "ok". */
size_t
pl_imap_greeting_clean(char *line, size_t len)
{
	static const char *const kinds[] = { "* OK [", "* PREAUTH [", "* BYE [" };
	size_t open = 0, close, text, end = len, tlen, k;

	for (k = 0; k < sizeof kinds / sizeof kinds[0] && open == 0; k++)
		if (len > strlen(kinds[k]) && !ascii_ncasecmp(line, kinds[k], strlen(kinds[k])))
			open = strlen(kinds[k]) - 1;
	if (open == 0 || (len - open > 12 && !ascii_ncasecmp(line + open, "[CAPABILITY ", 12)))
		return len;
	while (end > open && (line[end - 1] == '\n' || line[end - 1] == '\r'))
		end--;
	for (close = open; close < end && line[close] != ']'; close++)
		;
	text = close < end ? close + 1 : end;
	if (text < end && line[text] == ' ')
		text++;
	tlen = end - text;
	memmove(line + open, line + text, len - text);	/* the text and the line end */
	if (tlen == 0) {
		memmove(line + open + 2, line + open, len - end);
		memcpy(line + open, "ok", 2);
		return open + 2 + (len - end);
	}
	return open + (len - text);
}

/* Reads the greeting line whole into d->greet, cleans it, then hands it on
 * (and what came after it) as ordinary reads would. */
static ssize_t
greeting_read(mailstream_low *low, void *buf, size_t n)
{
	struct sdata *d = low->data;
	struct greeting *g = &d->greet;
	size_t k;

	while (g->state == GREET_ARMED) {
		ssize_t r = read_some(low, g->buf + g->len, sizeof g->buf - g->len);
		char *lf;

		if (r <= 0)
			return r;
		if (charge(d, g->buf + g->len, (size_t)r) < 0)
			return -1;
		g->len += (size_t)r;
		if ((lf = memchr(g->buf, '\n', g->len)) != NULL) {
			size_t line = (size_t)(lf - g->buf) + 1;
			size_t clean = pl_imap_greeting_clean(g->buf, line);

			memmove(g->buf + clean, g->buf + line, g->len - line);
			g->len -= line - clean;
			g->state = GREET_SERVING;
		} else if (g->len == sizeof g->buf) {
			g->state = GREET_SERVING;	/* too long for a greeting: as it is */
		}
	}
	k = g->len - g->off < n ? g->len - g->off : n;
	memcpy(buf, g->buf + g->off, k);
	g->off += k;
	if (g->off == g->len)
		g->state = GREET_OFF;
	return (ssize_t)k;
}

static ssize_t
s_read(mailstream_low *low, void *buf, size_t n)
{
	struct sdata *d = low->data;
	ssize_t r;

	if (d->greet.state != GREET_OFF)
		return greeting_read(low, buf, n);
	r = read_some(low, buf, n);

	if (r > 0 && charge(d, buf, (size_t)r) < 0)
		return -1;
	return r;
}

/* A command written before anything was read: no greeting is coming (the
 * stream of a connection after STARTTLS). */
static void
disarm_greeting(struct sdata *d)
{
	if (d->greet.state == GREET_ARMED && d->greet.len == 0)
		d->greet.state = GREET_OFF;
}

static ssize_t
s_write(mailstream_low *low, const void *buf, size_t n)
{
	struct sdata *d = low->data;
	struct pl_err e = { 0 };

	if (d->fd < 0 || mailstream_cancel_cancelled(d->cancel))
		return -1;
	pace_enter(d, PACE_WRITE, timeout_ms(low));
	for (;;) {
		ssize_t r;
		int ev = POLLOUT;

		if (d->tls) {
			r = pl_tls_write(d->tls, buf, n, &ev, &e);
			if (r > 0) {
				d->lim.wrote = 1;
				disarm_greeting(d);
				pace_count(d, (size_t)r);
				return r;
			}
			if (r == -2 || r == 0) {
				snprintf(d->err, sizeof d->err, "%s", r ? e.msg : "connection closed");
				return -1;
			}
		} else {
			r = send(d->fd, buf, n, MSG_NOSIGNAL);
			if (r > 0) {
				d->lim.wrote = 1;
				disarm_greeting(d);
				pace_count(d, (size_t)r);
				return r;
			}
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
				snprintf(d->err, sizeof d->err, "%s",
				    r ? strerror(errno) : "connection closed");
				return -1;
			}
		}
		if (wait_fd(d, ev, timeout_ms(low)) < 0)
			return -1;
	}
}

static int
s_close(mailstream_low *low)
{
	struct sdata *d = low->data;

	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	return 0;
}

static int
s_get_fd(mailstream_low *low)
{
	return ((struct sdata *)low->data)->fd;
}

static void
sdata_free(struct sdata *d)
{
	if (d == NULL)
		return;
	pl_tls_free(d->tls);
	if (d->ctx)
		pl_tls_ctx_free(d->ctx);
	if (d->cancel)
		mailstream_cancel_free(d->cancel);
	free(d);
}

/* Frees without closing the socket (see the top of the file). */
static void
s_free(mailstream_low *low)
{
	sdata_free(low->data);
	low->data = NULL;
	free(low);
}

static void
s_cancel(mailstream_low *low)
{
	mailstream_cancel_notify(((struct sdata *)low->data)->cancel);
}

static struct mailstream_cancel *
s_get_cancel(mailstream_low *low)
{
	return ((struct sdata *)low->data)->cancel;
}

static mailstream_low_driver driver = {
	.mailstream_read = s_read,
	.mailstream_write = s_write,
	.mailstream_close = s_close,
	.mailstream_get_fd = s_get_fd,
	.mailstream_free = s_free,
	.mailstream_cancel = s_cancel,
	.mailstream_get_cancel = s_get_cancel,
	.mailstream_get_certificate_chain = NULL,
	.mailstream_setup_idle = NULL,
	.mailstream_unsetup_idle = NULL,
	.mailstream_interrupt_idle = NULL,
};

static struct sdata *
sdata_new(int fd)
{
	struct sdata *d = xcalloc(1, sizeof *d);

	d->fd = fd;
	d->lim.budget = PL_STREAM_BUDGET;	/* for the greeting */
	d->cancel = mailstream_cancel_new();
	if (d->cancel == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

/* A stream over d whose waits last timeout_s seconds (0: PL_STREAM_TIMEOUT). */
static mailstream *
stream_new(struct sdata *d, int timeout_s)
{
	mailstream_low *low = mailstream_low_new(d, &driver);
	mailstream *s;

	if (low == NULL)
		return NULL;
	mailstream_low_set_timeout(low, timeout_s > 0 ? (time_t)timeout_s : PL_STREAM_TIMEOUT);
	s = mailstream_new(low, 8192);
	if (s == NULL) {
		free(low);
		return NULL;
	}
	return s;
}

static struct sdata *
data_of(mailstream *s)
{
	mailstream_low *low = s ? mailstream_get_low(s) : NULL;

	return low && low->driver == &driver ? low->data : NULL;
}

/* ---- TLS ---- */

/* A verified TLS session on fd.  The context verifies nothing during the
 * handshake (PL_TLS_MX) but records the result, which is checked right after
 * it, before anything is sent: OpenSSL keeps no peer certificate of a
 * handshake it aborted for verification, and the refusal must show the
 * certificate's fingerprint.  ca_file and the host name check (SNI and
 * SSL_set1_host in pl_tls_new) apply all the same. */
static struct sdata *
tls_open(int fd, const char *host, const char *ca_file, int ms, struct pl_err *e)
{
	struct sdata *d;
	char why[256], fp[128];
	struct pl_err te = { 0 };

	if (set_nonblock(fd) < 0) {
		pl_errf(e, EX_TEMPFAIL, "%s: %s", host, strerror(errno));
		return NULL;
	}
	d = sdata_new(fd);
	if (d == NULL) {
		pl_errf(e, EX_OSERR, "%s: out of memory", host);
		return NULL;
	}
	d->ctx = pl_tls_ctx_new(PL_TLS_MX, ca_file, &te);
	if (d->ctx == NULL) {
		pl_errf(e, EX_CONFIG, "%s: %s%s%s", host, te.msg, ca_file ? " " : "",
		    ca_file ? ca_file : "");
		goto fail;
	}
	d->tls = pl_tls_new(d->ctx, fd, host, &te);
	if (d->tls == NULL) {
		pl_errf(e, EX_TEMPFAIL, "%s: %s", host, te.msg);
		goto fail;
	}
	pace_enter(d, PACE_HANDSHAKE, ms);
	for (;;) {
		int ev = POLLIN;
		int r = pl_tls_handshake(d->tls, &ev, &te);

		if (r == 1)
			break;
		if (r < 0) {
			pl_errf(e, EX_TEMPFAIL, "%s: %s", host, te.msg);
			goto fail;
		}
		if (wait_fd(d, ev, ms) < 0) {
			pl_errf(e, EX_TEMPFAIL, "%s: TLS handshake: %s", host, d->err);
			goto fail;
		}
	}
	if (!pl_tls_verified(d->tls, why, sizeof why)) {
		pl_tls_fingerprint(d->tls, fp, sizeof fp);
		if (*fp)
			pl_errf(e, EX_TEMPFAIL, "%s: certificate not trusted: %s (SHA-256 %s); "
			    "add it with ca_file or fix the server", host, why, fp);
		else
			pl_errf(e, EX_TEMPFAIL, "%s: certificate not trusted: %s", host, why);
		goto fail;
	}
	return d;
fail:
	sdata_free(d);
	return NULL;
}

mailstream *
pl_stream_plain(int fd, int timeout_s)
{
	struct sdata *d;
	mailstream *s;

	if (set_nonblock(fd) < 0 || (d = sdata_new(fd)) == NULL)
		return NULL;
	s = stream_new(d, timeout_s);
	if (s == NULL)
		sdata_free(d);
	return s;
}

mailstream *
pl_stream_tls(int fd, const char *host, const char *ca_file, int timeout_s, struct pl_err *e)
{
	struct sdata *d = tls_open(fd, host, ca_file,
	    (timeout_s > 0 ? timeout_s : PL_STREAM_TIMEOUT) * 1000, e);
	mailstream *s;

	if (d == NULL) {
		close(fd);
		return NULL;
	}
	s = stream_new(d, timeout_s);
	if (s == NULL) {
		sdata_free(d);
		close(fd);
		pl_errf(e, EX_OSERR, "%s: out of memory", host);
	}
	return s;
}

int
pl_stream_starttls(mailstream *s, int fd, const char *host, const char *ca_file,
    struct pl_err *e)
{
	struct sdata *old = data_of(s), *d;
	mailstream_low *low, *nlow;

	if (old == NULL || old->tls != NULL || old->fd != fd)
		return pl_errf(e, EX_SOFTWARE, "%s: STARTTLS on a stream that is not plain "
		    "or not on this socket", host);
	if (s->read_buffer_len > 0)
		return pl_errf(e, EX_PROTOCOL, "%s: the server sent data after accepting "
		    "STARTTLS; refusing to go on (possible injection)", host);
	low = mailstream_get_low(s);
	d = tls_open(fd, host, ca_file, timeout_ms(low), e);
	if (d == NULL)
		return -1;
	nlow = mailstream_low_new(d, &driver);
	if (nlow == NULL) {
		sdata_free(d);
		return pl_errf(e, EX_OSERR, "%s: out of memory", host);
	}
	mailstream_low_set_timeout(nlow, mailstream_low_get_timeout(low));
	d->lim = old->lim;
	mailstream_low_free(low);	/* keeps the socket open */
	mailstream_set_low(s, nlow);
	return 0;
}

void
pl_stream_budget(mailstream *s, size_t bytes, size_t line_max)
{
	struct sdata *d = data_of(s);

	if (d) {
		d->lim.next_budget = bytes;
		d->lim.next_line = line_max;
	}
}

void
pl_stream_limits(mailstream *s, size_t line_max, int imap)
{
	struct sdata *d = data_of(s);

	if (d) {
		d->lim.def_line = line_max;
		if (!d->lim.wrote)	/* the answer being read, or the greeting */
			d->lim.line_max = line_max;
		d->lim.imap = imap;
		/* Nothing read or written yet: the next line is the greeting. */
		if (imap && d->lim.got == 0 && !d->lim.wrote && d->greet.state == GREET_OFF &&
		    d->greet.len == 0)
			d->greet.state = GREET_ARMED;
	}
}

int
pl_stream_exceeded(mailstream *s)
{
	struct sdata *d = data_of(s);

	return d && d->lim.exceeded;
}

const char *
pl_stream_error(mailstream *s)
{
	struct sdata *d = data_of(s);

	return d ? d->err : "";
}

void
pl_stream_describe(mailstream *s, char *out, size_t len)
{
	struct sdata *d = data_of(s);

	if (d && d->tls)
		pl_tls_describe(d->tls, out, len);
	else if (len)
		out[0] = '\0';
}

/* ---- A guard for libetpan's IMAP parser ---------------------------------- */

/* libetpan 1.9.4 (and its master as of 2026) copies the text of a response
 * with the code [ALERT] or [PARSE] with strdup() without checking that
 * there was text: "* OK [ALERT]\r\n" from a server crashes the program in
 * strdup(NULL) (found by tests/fuzz/fuzz_imap.c).  libetpan calls strdup
 * through the dynamic linker, so this definition, in every program that
 * talks to a server through these streams, is the one it gets: the same as
 * the C library's, except that NULL gives NULL, which libetpan stores as
 * "no alert text".  The empty asm keeps the compiler from dropping the test
 * on the strength of <string.h>'s nonnull declaration. */
char *
strdup(const char *s)
{
	const char *t = s;
	char *p;
	size_t n;

	__asm__("" : "+r"(t));
	if (t == NULL)
		return NULL;
	n = strlen(t) + 1;
	if ((p = malloc(n)) != NULL)
		memcpy(p, t, n);
	return p;
}
