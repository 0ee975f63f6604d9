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

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
clear_buf(struct buf *b)
{
	if (b->p)
		explicit_bzero(b->p, b->cap);
	buf_free(b);
}

/* Reads the child's stdout until EOF, the limit or the deadline.
 * Returns 0 at EOF, 1 on timeout, 2 past the limit, -1 on a read error. */
static int
read_output(int fd, struct buf *b, long long deadline)
{
	char chunk[4096];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t r;

		if (left <= 0)
			return 1;
		r = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		r = read(fd, chunk, sizeof chunk);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		if (b->len + (size_t)r > PL_SECRET_MAX) {
			explicit_bzero(chunk, sizeof chunk);
			return 2;
		}
		buf_add(b, chunk, (size_t)r);
		explicit_bzero(chunk, (size_t)r);
	}
}

int
pl_run_secret_command_timeout(const char *cmd, int timeout_ms, char **out,
    struct pl_err *e)
{
	char **argv;
	int pfd[2], st, rc, status = 0;
	posix_spawn_file_actions_t fa;
	struct buf b = { 0 };
	pid_t pid;

	*out = NULL;
	if (pl_split_words(cmd, &argv, e) < 0)
		return -1;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		rc = pl_errf(e, EX_OSERR, "cannot make a pipe for %s: %s", argv[0],
		    strerror(errno));
		pl_free_words(argv);
		return rc;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	st = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (st != 0) {
		close(pfd[0]);
		rc = pl_errf(e, st == ENOENT || st == EACCES || st == ENOEXEC ? EX_CONFIG : EX_OSERR,
		    "cannot run %s: %s", argv[0], strerror(st));
		pl_free_words(argv);
		return rc;
	}
	buf_grow(&b, PL_SECRET_MAX + 1);	/* never moved: no stray copies */
	b.p[0] = '\0';
	st = read_output(pfd[0], &b, now_ms() + timeout_ms);
	close(pfd[0]);
	if (st != 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	rc = -1;
	if (st == 1)
		pl_errf(e, EX_UNAVAILABLE, "%s: no answer within %d ms, killed", argv[0], timeout_ms);
	else if (st == 2)
		pl_errf(e, EX_UNAVAILABLE, "%s: printed more than %d bytes, killed", argv[0],
		    PL_SECRET_MAX);
	else if (st < 0)
		pl_errf(e, EX_OSERR, "%s: reading its output: %s", argv[0], strerror(errno));
	else if (WIFSIGNALED(status))
		pl_errf(e, EX_UNAVAILABLE, "%s: killed by signal %d", argv[0], WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		pl_errf(e, EX_UNAVAILABLE, "%s: exit status %d", argv[0], WEXITSTATUS(status));
	else if (strlen(b.p) != b.len)
		pl_errf(e, EX_UNAVAILABLE, "%s: printed a NUL byte", argv[0]);
	else
		rc = 0;
	if (rc == 0) {
		if (b.len > 0 && b.p[b.len - 1] == '\n') {
			b.p[--b.len] = '\0';
			if (b.len > 0 && b.p[b.len - 1] == '\r')
				b.p[--b.len] = '\0';
		}
		if (b.len == 0)
			rc = pl_errf(e, EX_UNAVAILABLE, "%s: printed nothing", argv[0]);
	}
	pl_free_words(argv);
	if (rc < 0) {
		clear_buf(&b);
		return -1;
	}
	*out = buf_steal(&b);
	return 0;
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
