/* secret.c — password_command and oauth2_token_command: split into words
 * (see secret.h), run with posix_spawnp, stdout read through a pipe with a
 * deadline.  The output is a secret: it goes to the caller and nowhere else,
 * and the buffers that held it are cleared before they are freed. */
#include "secret.h"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

void
pl_free_words(char **argv)
{
	if (argv == NULL)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

int
pl_split_words(const char *cmd, char ***argvp, struct pl_err *e)
{
	char **argv = NULL;
	size_t n = 0;
	struct buf w = { 0 };
	const char *p = cmd;
	int in_word = 0;

	*argvp = NULL;
	for (;;) {
		char ch = *p;

		if (ch == '\0' || ch == ' ' || ch == '\t' || ch == '\n') {
			if (in_word) {
				argv = xrealloc(argv, (n + 2) * sizeof *argv);
				argv[n++] = buf_steal(&w);
				argv[n] = NULL;
				in_word = 0;
			}
			if (ch == '\0')
				break;
			p++;
			continue;
		}
		in_word = 1;
		if (ch == '\'') {
			const char *q = strchr(p + 1, '\'');
			if (q == NULL)
				goto open_quote;
			buf_add(&w, p + 1, (size_t)(q - p - 1));
			p = q + 1;
		} else if (ch == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0')
					goto open_quote;
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				buf_addc(&w, *p);
			}
			p++;
		} else if (ch == '\\') {
			if (p[1] == '\0') {
				buf_free(&w);
				pl_free_words(argv);
				return pl_errf(e, EX_CONFIG, "command ends with a lone backslash");
			}
			buf_addc(&w, p[1]);
			p += 2;
		} else {
			buf_addc(&w, ch);
			p++;
		}
	}
	buf_free(&w);
	if (n == 0) {
		free(argv);
		return pl_errf(e, EX_CONFIG, "empty command");
	}
	*argvp = argv;
	return 0;

open_quote:
	buf_free(&w);
	pl_free_words(argv);
	return pl_errf(e, EX_CONFIG, "command has a quote that is not closed");
}

static void
clear_buf(struct buf *b)
{
	if (b->p)
		explicit_bzero(b->p, b->cap);
	buf_free(b);
}

struct pl_secret_run {
	char **argv;
	pid_t pid;
	int fd;			/* the read end of its stdout; -1 after EOF */
	struct buf b;		/* what it printed: PL_SECRET_MAX + 1, never moved */
};

static void
run_free(struct pl_secret_run *r)
{
	if (r->fd >= 0)
		close(r->fd);
	clear_buf(&r->b);
	pl_free_words(r->argv);
	free(r);
}

int
pl_secret_start(const char *cmd, struct pl_secret_run **runp, struct pl_err *e)
{
	struct pl_secret_run *r;
	posix_spawn_file_actions_t fa;
	char **argv;
	int pfd[2], st, rc;

	*runp = NULL;
	if (pl_split_words(cmd, &argv, e) < 0)
		return -1;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		rc = pl_errf(e, EX_OSERR, "cannot make a pipe for %s: %s", argv[0],
		    strerror(errno));
		pl_free_words(argv);
		return rc;
	}
	r = xcalloc(1, sizeof *r);
	r->argv = argv;
	r->fd = pfd[0];
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	st = posix_spawnp(&r->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (st != 0) {
		rc = pl_errf(e, st == ENOENT || st == EACCES || st == ENOEXEC ? EX_CONFIG : EX_OSERR,
		    "cannot run %s: %s", argv[0], strerror(st));
		run_free(r);
		return rc;
	}
	fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) | O_NONBLOCK);
	buf_grow(&r->b, PL_SECRET_MAX + 1);
	r->b.p[0] = '\0';
	*runp = r;
	return 0;
}

int
pl_secret_fd(const struct pl_secret_run *r)
{
	return r->fd;
}

/* The command has ended with status: 1 and *out, or -1 with e; r is freed. */
static int
run_end(struct pl_secret_run *r, int status, char **out, struct pl_err *e)
{
	const char *name = r->argv[0];
	int rc = -1;

	if (WIFSIGNALED(status))
		pl_errf(e, EX_UNAVAILABLE, "%s: killed by signal %d", name, WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		pl_errf(e, EX_UNAVAILABLE, "%s: exit status %d", name, WEXITSTATUS(status));
	else if (strlen(r->b.p) != r->b.len)
		pl_errf(e, EX_UNAVAILABLE, "%s: printed a NUL byte", name);
	else
		rc = 1;
	if (rc == 1) {
		struct buf *b = &r->b;

		if (b->len > 0 && b->p[b->len - 1] == '\n') {
			b->p[--b->len] = '\0';
			if (b->len > 0 && b->p[b->len - 1] == '\r')
				b->p[--b->len] = '\0';
		}
		if (b->len == 0)
			rc = pl_errf(e, EX_UNAVAILABLE, "%s: printed nothing", name);
		else
			*out = buf_steal(b);
	}
	run_free(r);
	return rc;
}

/* Kills and reaps the command, frees r: -1. */
static int
run_kill(struct pl_secret_run *r)
{
	if (waitpid(r->pid, NULL, WNOHANG) == 0) {
		kill(r->pid, SIGKILL);
		while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	run_free(r);
	return -1;
}

int
pl_secret_step(struct pl_secret_run *r, char **out, struct pl_err *e)
{
	char chunk[4096];
	int status = 0;
	pid_t w;

	*out = NULL;
	while (r->fd >= 0) {
		ssize_t n = read(r->fd, chunk, sizeof chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0) {
			pl_errf(e, EX_OSERR, "%s: reading its output: %s", r->argv[0],
			    strerror(errno));
			return run_kill(r);
		}
		if (n == 0) {
			close(r->fd);
			r->fd = -1;
			break;
		}
		if (r->b.len + (size_t)n > PL_SECRET_MAX) {
			explicit_bzero(chunk, sizeof chunk);
			pl_errf(e, EX_UNAVAILABLE, "%s: printed more than %d bytes, killed",
			    r->argv[0], PL_SECRET_MAX);
			return run_kill(r);
		}
		buf_add(&r->b, chunk, (size_t)n);
		explicit_bzero(chunk, (size_t)n);
	}
	/* all printed: done once it has exited */
	while ((w = waitpid(r->pid, &status, WNOHANG)) < 0 && errno == EINTR)
		;
	if (w == 0)
		return 0;
	if (w < 0) {
		pl_errf(e, EX_OSERR, "%s: %s", r->argv[0], strerror(errno));
		run_free(r);
		return -1;
	}
	return run_end(r, status, out, e);
}

void
pl_secret_abort(struct pl_secret_run *r, int timeout_ms, struct pl_err *e)
{
	if (r == NULL)
		return;
	if (e)
		pl_errf(e, EX_UNAVAILABLE, "%s: no answer within %d ms, killed", r->argv[0],
		    timeout_ms);
	run_kill(r);
}

int
pl_run_secret_command_timeout(const char *cmd, int timeout_ms, char **out,
    struct pl_err *e)
{
	struct pl_secret_run *r;
	int64_t deadline = pl_mono_ms() + timeout_ms;
	int st;

	*out = NULL;
	if (pl_secret_start(cmd, &r, e) < 0)
		return -1;
	while ((st = pl_secret_step(r, out, e)) == 0) {
		struct pollfd pfd = { .fd = pl_secret_fd(r), .events = POLLIN };
		int64_t left = deadline - pl_mono_ms();

		if (left <= 0) {
			pl_secret_abort(r, timeout_ms, e);
			return -1;
		}
		/* after the end of its output, wait for its exit a little at a time */
		if (poll(&pfd, pfd.fd >= 0 ? 1 : 0, pfd.fd >= 0 ?
		    (left > 1000000 ? 1000000 : (int)left) : (left < 20 ? (int)left : 20)) < 0 &&
		    errno != EINTR) {
			pl_errf(e, EX_OSERR, "poll: %s", strerror(errno));
			pl_secret_abort(r, timeout_ms, NULL);
			return -1;
		}
	}
	return st > 0 ? 0 : -1;
}

int
pl_run_secret_command(const char *cmd, char **out, struct pl_err *e)
{
	return pl_run_secret_command_timeout(cmd, 30000, out, e);
}

int
pl_account_secret(const struct pl_account *a, char **secret, int *is_oauth, struct pl_err *e)
{
	struct pl_err why;
	const char *cmd = a->oauth2_token_command ? a->oauth2_token_command : a->password_command;

	*secret = NULL;
	*is_oauth = a->oauth2_token_command != NULL;
	if (!cmd)
		return pl_errf(e, EX_CONFIG, "account %s has no password_command or "
		    "oauth2_token_command", a->name);
	if (pl_run_secret_command(cmd, secret, &why) < 0)
		return pl_errf(e, why.code, "account %s: %s failed: %s", a->name,
		    *is_oauth ? "oauth2_token_command" : "password_command", why.msg);
	return 0;
}
