/* conn.c — carries out what the SMTP machine (smtp.c) asks for, on one
 * non-blocking socket in the daemon's event loop.  See conn.h. */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "secret.h"
#include "smtp.h"
#include "tls.h"

struct txnw {
	struct pl_smtp_txn t;
	struct pl_job *job;
};

struct pl_conn {
	struct pl_loop *loop;
	struct pl_smtp *smtp;
	const struct pl_conn_ops *ops;
	void *arg;
	int fd;
	int connecting;
	int aborting;
	int finished;
	int in_step;
	int again;
	unsigned long progress;	/* pl_smtp_progress when the timer was armed */
	struct pl_tls *tls;
	void *tls_ctx;
	struct pl_timer *timer;
	int connect_timeout;
	int verify;		/* the certificate must verify (a relay, DANE, MTA-STS) */
	int authenticate;	/* an MX: pl_tls_authenticate with tlsa */
	const struct pl_tlsa *tlsa;
	size_t ntlsa;
	int verified;		/* the certificate verified */
	char notverified[128];	/* else why */
	char *auth_user, *secret_cmd;
	int secret_timeout_ms;
	struct pl_secret_run *secret_run;	/* the secret command, while it runs */
	int secret_fd;				/* its output, watched by the loop */
	struct pl_timer *secret_timer;
	int64_t secret_deadline;		/* pl_mono_ms */
	char mx[256], ip[INET6_ADDRSTRLEN], remote[340], tlsdesc[160];
};

static void step(struct pl_conn *c);
static void close_socket(struct pl_conn *c);

const char *
pl_conn_remote(const struct pl_conn *c)
{
	return c->remote;
}

const char *
pl_conn_ip(const struct pl_conn *c)
{
	return c->ip;
}

const char *
pl_conn_mx(const struct pl_conn *c)
{
	return c->mx;
}

const char *
pl_conn_tls(const struct pl_conn *c)
{
	return c->tlsdesc[0] ? c->tlsdesc : NULL;
}

int
pl_conn_tls_verified(const struct pl_conn *c, const char **why)
{
	*why = !c->tlsdesc[0] ? "no TLS" : c->verified ? "verified" : c->notverified;
	return c->tlsdesc[0] && c->verified;
}

static void
copy_outcome(struct pl_outcome *o, const struct pl_smtp_outcome *so)
{
	o->result = so->result == PL_SMTP_DELIVERED ? PL_RESULT_OK :
	    so->result == PL_SMTP_PERM ? PL_RESULT_PERM : PL_RESULT_TEMP;
	snprintf(o->status, sizeof o->status, "%s", so->status);
	snprintf(o->reply, sizeof o->reply, "%s", so->reply);
	snprintf(o->step, sizeof o->step, "%s", so->step);
}

static void
cb_rcpt(void *arg, struct pl_smtp_txn *t, size_t k, const struct pl_smtp_outcome *so)
{
	struct pl_conn *c = arg;
	struct txnw *w = t->user;
	struct pl_outcome o;

	copy_outcome(&o, so);
	c->ops->rcpt_done(c->arg, c, w->job, k, &o);
}

static void
cb_txn(void *arg, struct pl_smtp_txn *t)
{
	struct pl_conn *c = arg;
	struct txnw *w = t->user;

	c->ops->job_done(c->arg, c, w->job);
	free(w);
}

static void
on_timer(void *arg)
{
	struct pl_conn *c = arg;

	c->timer = NULL;
	if (c->connecting) {
		char why[128];
		c->connecting = 0;
		snprintf(why, sizeof why, "no connection within %d seconds", c->connect_timeout);
		pl_smtp_on_connect_failed(c->smtp, why);
	} else if (pl_smtp_want(c->smtp) == PL_SMTP_WANT_START_TLS) {
		/* A server that accepts STARTTLS and then says nothing is a TLS
		 * failure like any other: the owner may retry it in clear. */
		pl_log("%s: TLS handshake failed: no answer within %d seconds", c->remote,
		    pl_smtp_timeout(c->smtp));
		close_socket(c);
		pl_smtp_on_tls(c->smtp, 0);
	} else {
		pl_smtp_on_timeout(c->smtp);
	}
	step(c);
}

static void
on_timer_first(void *arg)
{
	struct pl_conn *c = arg;

	c->timer = NULL;
	step(c);
}

static void
arm_timer(struct pl_conn *c, int seconds)
{
	if (c->timer)
		pl_timer_cancel(c->loop, c->timer);
	c->timer = seconds > 0 ? pl_timer_add(c->loop, (int64_t)seconds * 1000, on_timer, c) : NULL;
}

static void
close_socket(struct pl_conn *c)
{
	if (c->fd < 0)
		return;
	pl_loop_del(c->loop, c->fd);
	if (c->tls) {
		pl_tls_free(c->tls);
		c->tls = NULL;
	}
	close(c->fd);
	c->fd = -1;
}

/* Reads what the server sent and feeds it to the machine. */
static void
do_read(struct pl_conn *c)
{
	char buf[16384];
	struct pl_err e;

	for (int rounds = 0; rounds < 64 && c->fd >= 0; rounds++) {
		ssize_t n;
		int ev = 0;

		if (c->tls)
			n = pl_tls_read(c->tls, buf, sizeof buf, &ev, &e);
		else
			n = read(c->fd, buf, sizeof buf);
		if (n > 0) {
			enum pl_smtp_want w;

			pl_smtp_on_data(c->smtp, buf, (size_t)n);
			w = pl_smtp_want(c->smtp);
			/* After the 220 to STARTTLS the next bytes on the socket
			 * belong to the TLS handshake: reading them here as clear
			 * text would eat the server's hello (or its EOF) and turn
			 * a TLS failure into an ordinary closed connection. */
			if (w == PL_SMTP_WANT_DONE || w == PL_SMTP_WANT_CLOSE ||
			    w == PL_SMTP_WANT_START_TLS)
				return;
			continue;
		}
		if (n == 0 || (c->tls ? n == -2 : (errno != EAGAIN && errno != EINTR))) {
			close_socket(c);
			pl_smtp_on_closed(c->smtp);
			return;
		}
		return;		/* would block */
	}
}

static void
on_io(void *arg, int fd, int revents)
{
	struct pl_conn *c = arg;

	(void)fd;
	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof err;

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		c->connecting = 0;
		if (err != 0 || (revents & (POLLERR | POLLHUP) && !(revents & POLLOUT))) {
			char why[256];
			snprintf(why, sizeof why, "%s: %s", c->remote,
			    strerror(err ? err : ECONNREFUSED));
			close_socket(c);
			pl_smtp_on_connect_failed(c->smtp, why);
		} else {
			pl_smtp_on_connected(c->smtp);
		}
		step(c);
		return;
	}
	/* During the handshake the socket is the TLS layer's alone: step()
	 * carries it on.  A read here would run the handshake inside SSL_read
	 * and report its failure as a closed connection. */
	if (revents & (POLLIN | POLLHUP | POLLERR) &&
	    pl_smtp_want(c->smtp) != PL_SMTP_WANT_START_TLS)
		do_read(c);
	step(c);
}

/* 1 when a line is longer than SMTP carries (RFC 5321 4.5.3.1.6: 998 octets
 * and CRLF); such parts are sent quoted-printable, never cut. */
static int
has_long_line(const char *p, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' || p[i] == '\r')
			run = 0;
		else if (++run > 998)
			return 1;
	}
	return 0;
}

/* Hands the current transaction's message to the machine. */
static void
send_body(struct pl_conn *c)
{
	struct pl_smtp_txn *t = pl_smtp_current_txn(c->smtp);
	struct txnw *w = t->user;
	char *msg;
	size_t len;

	if (pl_read_file(w->job->msg_path, 1ULL << 31, &msg, &len) < 0) {
		char why[512];
		snprintf(why, sizeof why, "paloma: cannot read the queued message %s: %s",
		    w->job->msg_path, strerror(errno));
		pl_log("%s: %s", w->job->id, why);
		pl_smtp_abort(c->smtp, why);
		return;
	}
	if (pl_smtp_body_7bit(c->smtp) || has_long_line(msg, len)) {
		struct buf out = { 0 };
		int n = pl_smtp_to_7bit(msg, len, &out);
		pl_log("%s: %s %s: %d part%s converted to quoted-printable", w->job->id,
		    c->remote, pl_smtp_body_7bit(c->smtp) ? "has no 8BITMIME" :
		    "gets lines longer than SMTP allows (998 octets)", n, n == 1 ? "" : "s");
		pl_smtp_body(c->smtp, out.p, out.len);
		buf_free(&out);
	} else {
		pl_smtp_body(c->smtp, msg, len);
	}
	free(msg);
	pl_smtp_body_end(c->smtp);
}

static int
do_write(struct pl_conn *c)
{
	size_t len;
	const char *p = pl_smtp_output(c->smtp, &len);
	struct pl_err e;
	ssize_t n;
	int ev = POLLOUT;

	if (c->tls)
		n = pl_tls_write(c->tls, p, len, &ev, &e);
	else
		n = write(c->fd, p, len);
	if (n > 0) {
		pl_smtp_written(c->smtp, (size_t)n);
		return 1;
	}
	if (c->tls ? n == -1 : (errno == EAGAIN || errno == EINTR)) {
		pl_loop_set_events(c->loop, c->fd, ev | POLLIN);
		return 0;
	}
	close_socket(c);
	pl_smtp_on_closed(c->smtp);
	return 1;
}

static int
do_tls(struct pl_conn *c)
{
	struct pl_err e;
	int ev = POLLIN, r;

	if (c->tls == NULL) {
		c->tls = pl_tls_new(c->tls_ctx, c->fd, c->mx, &e);
		if (c->tls == NULL) {
			pl_log("%s: %s", c->remote, e.msg);
			pl_smtp_on_tls(c->smtp, 0);
			return 1;
		}
		if (c->authenticate &&
		    pl_tls_authenticate(c->tls, c->mx, c->tlsa, c->ntlsa, &e) < 0) {
			pl_log("%s: %s", c->remote, e.msg);
			close_socket(c);
			pl_smtp_on_tls_error(c->smtp, e.msg);
			return 1;
		}
	}
	r = pl_tls_handshake(c->tls, &ev, &e);
	if (r == 0) {
		pl_loop_set_events(c->loop, c->fd, ev);
		return 0;
	}
	if (r < 0) {
		pl_log("%s: %s", c->remote, e.msg);
		close_socket(c);
		if (c->verify)
			pl_smtp_on_tls_error(c->smtp, e.msg);
		else
			pl_smtp_on_tls(c->smtp, 0);
		return 1;
	} else {
		pl_tls_describe(c->tls, c->tlsdesc, sizeof c->tlsdesc);
		/* Opportunistic (RFC 7435): an unverified certificate still
		 * beats clear text; it is only recorded. */
		c->verified = pl_tls_verified(c->tls, c->notverified, sizeof c->notverified);
		if (c->verified)
			pl_log("%s: TLS %s, certificate %s", c->remote, c->tlsdesc,
			    c->ntlsa ? "matches its TLSA records (DANE)" : "verified");
		else
			pl_log("%s: TLS %s, certificate not verified (%s)", c->remote,
			    c->tlsdesc, c->notverified);
		pl_smtp_on_tls(c->smtp, 1);
	}
	return 1;
}

/* ---- The login's secret ----
 *
 * The relay asks for the login: the secret command runs beside the event
 * loop (pl_secret_start), which watches its output and a timer for its
 * deadline (secret_timeout_ms), so that a slow password manager (a
 * passphrase prompt, a network vault) holds this connection only, never the
 * daemon.  The secret is never logged and is cleared once handed over. */

static void secret_wait(struct pl_conn *c);

/* Stops watching the command (it has ended, or is given up). */
static void
secret_unwatch(struct pl_conn *c)
{
	if (c->secret_fd >= 0)
		pl_loop_del(c->loop, c->secret_fd);
	c->secret_fd = -1;
	if (c->secret_timer)
		pl_timer_cancel(c->loop, c->secret_timer);
	c->secret_timer = NULL;
}

/* Kills a command still running (the connection is closing). */
static void
secret_cancel(struct pl_conn *c)
{
	secret_unwatch(c);
	pl_secret_abort(c->secret_run, 0, NULL);
	c->secret_run = NULL;
}

/* The command has ended (st 1: secret; -1: e says why): the dialogue goes on. */
static void
secret_done(struct pl_conn *c, int st, char *secret, const struct pl_err *e)
{
	secret_unwatch(c);
	c->secret_run = NULL;
	if (st > 0) {
		pl_smtp_set_secret(c->smtp, secret);
		explicit_bzero(secret, strlen(secret));
		free(secret);
	} else {
		pl_log("%s: cannot get the secret for the login of %s: %s", c->remote,
		    c->auth_user, e->msg);
		pl_smtp_secret_failed(c->smtp, e->msg);
	}
	step(c);
}

static void
secret_check(struct pl_conn *c)
{
	struct pl_err e = { 0 };
	char *out = NULL;
	int st;

	if (pl_mono_ms() >= c->secret_deadline) {
		secret_unwatch(c);
		pl_secret_abort(c->secret_run, c->secret_timeout_ms, &e);
		c->secret_run = NULL;
		secret_done(c, -1, NULL, &e);
		return;
	}
	st = pl_secret_step(c->secret_run, &out, &e);
	if (st != 0) {
		c->secret_run = NULL;	/* freed by pl_secret_step */
		secret_done(c, st, out, &e);
		return;
	}
	secret_wait(c);
}

static void
on_secret_io(void *arg, int fd, int revents)
{
	(void)fd;
	(void)revents;
	secret_check(arg);
}

static void
on_secret_timer(void *arg)
{
	struct pl_conn *c = arg;

	c->secret_timer = NULL;
	secret_check(c);
}

/* Waits for the command's output, or (once it has printed all) its exit,
 * looked for every 20 ms; never past the deadline. */
static void
secret_wait(struct pl_conn *c)
{
	int fd = pl_secret_fd(c->secret_run);
	int64_t left = c->secret_deadline - pl_mono_ms();

	if (fd != c->secret_fd) {
		if (c->secret_fd >= 0)
			pl_loop_del(c->loop, c->secret_fd);
		c->secret_fd = fd;
		if (fd >= 0)
			pl_loop_add(c->loop, fd, POLLIN, on_secret_io, c);
	}
	if (c->secret_timer)
		pl_timer_cancel(c->loop, c->secret_timer);
	c->secret_timer = pl_timer_add(c->loop, left < 0 ? 0 : fd < 0 && left > 20 ? 20 : left,
	    on_secret_timer, c);
}

/* Starts the secret command: 1 when it runs (the dialogue waits for it), 0
 * when the machine was told it failed. */
static int
get_secret(struct pl_conn *c)
{
	struct pl_err e;

	if (c->secret_cmd == NULL) {
		pl_smtp_secret_failed(c->smtp, "the account has no password_command or "
		    "oauth2_token_command");
		return 0;
	}
	if (pl_secret_start(c->secret_cmd, &c->secret_run, &e) < 0) {
		pl_log("%s: cannot get the secret for the login of %s: %s", c->remote,
		    c->auth_user, e.msg);
		pl_smtp_secret_failed(c->smtp, e.msg);
		return 0;
	}
	c->secret_deadline = pl_mono_ms() + c->secret_timeout_ms;
	secret_wait(c);
	return 1;
}

static void
finish(struct pl_conn *c)
{
	const struct pl_smtp_outcome *f = pl_smtp_failure(c->smtp);
	struct pl_outcome o;

	if (c->timer)
		pl_timer_cancel(c->loop, c->timer);
	c->timer = NULL;
	secret_cancel(c);
	close_socket(c);
	if (f)
		copy_outcome(&o, f);
	c->finished = 1;
	c->ops->closed(c->arg, c, f ? &o : NULL, pl_smtp_usable(c->smtp),
	    pl_smtp_tls_failed(c->smtp));
	pl_smtp_free(c->smtp);
	free(c->auth_user);
	free(c->secret_cmd);
	free(c);
}

/* Does what the machine wants until it has to wait. */
static void
step(struct pl_conn *c)
{
	if (c->in_step) {		/* called again from a callback */
		c->again = 1;
		return;
	}
	c->in_step = 1;
	for (;;) {
		enum pl_smtp_want w = pl_smtp_want(c->smtp);

		c->again = 0;
		if (c->aborting && (w == PL_SMTP_WANT_WRITE || w == PL_SMTP_WANT_READ ||
		    w == PL_SMTP_WANT_START_TLS))
			w = PL_SMTP_WANT_CLOSE;
		if (w == PL_SMTP_WANT_WRITE && c->fd >= 0) {
			if (do_write(c))
				continue;
			break;
		}
		if (w == PL_SMTP_WANT_READ && c->fd >= 0 && !c->connecting) {
			pl_loop_set_events(c->loop, c->fd, POLLIN);
			break;
		}
		if (w == PL_SMTP_WANT_READ && c->connecting)
			break;
		if (w == PL_SMTP_WANT_START_TLS && c->fd >= 0) {
			if (do_tls(c))
				continue;
			break;
		}
		if (w == PL_SMTP_WANT_BODY) {
			send_body(c);
			continue;
		}
		if (w == PL_SMTP_WANT_SECRET) {
			if (c->aborting) {
				secret_cancel(c);
				pl_smtp_secret_failed(c->smtp, "the daemon is stopping");
			} else if (c->secret_run || get_secret(c)) {
				break;	/* until the command is done */
			}
			continue;
		}
		if (w == PL_SMTP_WANT_TXN) {
			struct pl_job *j = c->aborting ? NULL : c->ops->next_job(c->arg, c);
			if (j == NULL) {
				pl_smtp_quit(c->smtp);
			} else {
				struct txnw *tw = xcalloc(1, sizeof *tw);
				tw->job = j;
				tw->t.sender = j->sender;
				tw->t.rcpt = j->rcpt;
				tw->t.nrcpt = j->nrcpt;
				tw->t.size = j->size;
				tw->t.body_8bit = j->body_8bit;
				tw->t.smtputf8 = j->smtputf8;
				tw->t.user = tw;
				if (pl_smtp_add_txn(c->smtp, &tw->t) < 0) {
					/* cannot happen while WANT_TXN; keep the
					 * recipients safe anyway */
					struct pl_outcome o = { .result = PL_RESULT_TEMP };
					snprintf(o.status, sizeof o.status, "4.4.2");
					snprintf(o.reply, sizeof o.reply, "paloma: connection closing");
					for (size_t k = 0; k < j->nrcpt; k++)
						c->ops->rcpt_done(c->arg, c, j, k, &o);
					c->ops->job_done(c->arg, c, j);
					free(tw);
					pl_smtp_quit(c->smtp);
				}
			}
			continue;
		}
		if (w == PL_SMTP_WANT_DONE) {
			c->in_step = 0;
			finish(c);
			return;
		}
		/* CLOSE, or the socket is gone while the machine still waits */
		if (c->fd >= 0)
			close_socket(c);
		pl_smtp_on_closed(c->smtp);
		if (pl_smtp_want(c->smtp) == w && w != PL_SMTP_WANT_CLOSE && !c->again)
			break;	/* the machine did not move: avoid spinning */
	}
	/* Each wait for a whole reply has one timeout (RFC 5321 4.5.3.2):
	 * a reply trickling in byte by byte or line by line does not start
	 * it again, only the dialogue moving on does. */
	if (c->fd >= 0 && !c->connecting &&
	    (c->timer == NULL || pl_smtp_progress(c->smtp) != c->progress)) {
		c->progress = pl_smtp_progress(c->smtp);
		arm_timer(c, pl_smtp_timeout(c->smtp));
	}
	c->in_step = 0;
}

struct pl_conn *
pl_conn_start(struct pl_loop *loop, const struct pl_conn_params *p,
    const struct pl_conn_ops *ops, void *arg)
{
	struct pl_conn *c = xcalloc(1, sizeof *c);
	struct pl_smtp_params sp = { 0 };
	const void *a;

	c->loop = loop;
	c->ops = ops;
	c->arg = arg;
	c->fd = -1;
	c->secret_fd = -1;
	c->tls_ctx = p->tls_ctx;
	c->connect_timeout = p->timeouts.connect > 0 ? p->timeouts.connect : 30;
	snprintf(c->mx, sizeof c->mx, "%s", p->mx);
	a = p->addr.ss_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)&p->addr)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)&p->addr)->sin_addr;
	inet_ntop(p->addr.ss_family, a, c->ip, sizeof c->ip);
	snprintf(c->remote, sizeof c->remote, "%s [%s]", c->mx, c->ip);
	sp.helo = p->helo;
	sp.tls = p->tls == PL_CONN_TLS_NONE ? PL_SMTP_TLS_NONE :
	    p->tls == PL_CONN_TLS_REQUIRED ? PL_SMTP_TLS_REQUIRED :
	    p->tls == PL_CONN_TLS_IMPLICIT ? PL_SMTP_TLS_IMPLICIT : PL_SMTP_TLS_OPPORTUNISTIC;
	c->verify = p->tls_ctx && (pl_tls_ctx_verifies(p->tls_ctx) || p->authenticate);
	c->authenticate = p->authenticate;
	c->tlsa = p->tlsa;
	c->ntlsa = p->ntlsa;
	if (p->auth_user) {
		c->auth_user = xstrdup(p->auth_user);
		c->secret_cmd = p->secret_cmd ? xstrdup(p->secret_cmd) : NULL;
		c->secret_timeout_ms = p->secret_timeout_ms > 0 ? p->secret_timeout_ms : 15000;
		sp.auth_user = c->auth_user;
		sp.auth_xoauth2 = p->auth_xoauth2;
		sp.auth_host = c->mx;
	}
	sp.timeouts = p->timeouts.smtp;
	sp.rcpt_done = cb_rcpt;
	sp.txn_done = cb_txn;
	sp.arg = c;
	c->smtp = pl_smtp_new(&sp);

	c->fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		char why[256];
		snprintf(why, sizeof why, "cannot make a socket: %s", strerror(errno));
		pl_smtp_on_connect_failed(c->smtp, why);
	} else if (connect(c->fd, (const struct sockaddr *)&p->addr, p->addrlen) == 0) {
		pl_loop_add(loop, c->fd, POLLIN, on_io, c);
		pl_smtp_on_connected(c->smtp);
	} else if (errno == EINPROGRESS) {
		c->connecting = 1;
		pl_loop_add(loop, c->fd, POLLOUT, on_io, c);
		arm_timer(c, c->connect_timeout);
		return c;
	} else {
		char why[256];
		snprintf(why, sizeof why, "%s: %s", c->remote, strerror(errno));
		close(c->fd);
		c->fd = -1;
		pl_smtp_on_connect_failed(c->smtp, why);
	}
	/* Defer the first step to the loop, so that the caller's bookkeeping
	 * is complete before any callback runs. */
	c->timer = pl_timer_add(loop, 0, on_timer_first, c);
	return c;
}

void
pl_conn_abort(struct pl_conn *c)
{
	c->aborting = 1;
	if (c->connecting) {
		c->connecting = 0;
		close_socket(c);
		pl_smtp_on_connect_failed(c->smtp, "paloma: the daemon is stopping");
	} else {
		pl_smtp_abort(c->smtp, "paloma: the daemon is stopping");
	}
	step(c);
}
