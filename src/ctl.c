/* ctl.c — client side of the daemon's control socket, and starting it. */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "paths.h"

#ifndef LIBEXECDIR
#define LIBEXECDIR "/usr/local/libexec/paloma"
#endif

enum pl_ctl_kind
pl_ctl_parse(char *line, struct pl_ctl_req *r)
{
	memset(r, 0, sizeof *r);
	line[strcspn(line, "\r\n")] = '\0';
	if (!strcmp(line, "wake"))
		r->kind = PL_CTL_WAKE;
	else if (!strcmp(line, "flush"))
		r->kind = PL_CTL_FLUSH;
	else if (!strcmp(line, "status"))
		r->kind = PL_CTL_STATUS;
	else if (!strncmp(line, "cancel ", 7)) {
		r->id = line + 7;
		r->addr = strchr(r->id, ' ');
		if (r->addr == NULL || r->addr == r->id || r->addr[1] == '\0') {
			r->id = r->addr = NULL;
			r->why = "usage: cancel ID ADDRESS";
			r->kind = PL_CTL_BAD;
		} else {
			*r->addr++ = '\0';
			r->kind = PL_CTL_CANCEL;
		}
	} else {
		r->why = "unknown request";
		r->kind = PL_CTL_BAD;
	}
	return r->kind;
}

const char *
pl_ctl_path(void)
{
	static char p[4200];

	snprintf(p, sizeof p, "%s/daemon.sock", pl_runtime_dir());
	return p;
}

int
pl_ctl_request(const char *req, char *reply, size_t len, int timeout_ms)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = pl_ctl_path();
	char line[256];
	size_t got = 0;
	int fd, n;

	if (strlen(path) >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	n = snprintf(line, sizeof line, "%s\n", req);
	if (pl_write_all(fd, line, (size_t)n) < 0) {
		close(fd);
		return -1;
	}
	if (reply == NULL) {
		close(fd);
		return 0;
	}
	while (got + 1 < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		r = read(fd, reply + got, len - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		if (memchr(reply, '\n', got))
			break;
	}
	close(fd);
	reply[got] = '\0';
	reply[strcspn(reply, "\n")] = '\0';
	if (got == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return 0;
}

void
pl_helper_path(const char *name, char *out, size_t len)
{
	const char *env = getenv("PALOMA_LIBEXEC");
	char self[4096];
	ssize_t n;

	if (env && *env) {
		snprintf(out, len, "%s/%s", env, name);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		char *slash;
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(out, len, "%s/../libexec/paloma/%s", self, name);
			if (access(out, X_OK) == 0)
				return;
		}
	}
	snprintf(out, len, "%s/%s", LIBEXECDIR, name);
}

void
pl_ctl_wake_or_start(const char *config_path, int autostart, int verbose)
{
	char helper[4300];
	pid_t pid;
	int status;

	if (pl_ctl_request("wake", NULL, 0, 0) == 0)
		return;
	if (!autostart)
		return;
	pl_helper_path("paloma-daemon", helper, sizeof helper);
	if (access(helper, X_OK) != 0) {
		if (verbose)
			fprintf(stderr, "paloma: queued, but the daemon %s cannot be started: %s\n",
			    helper, strerror(errno));
		return;
	}
	/* Double fork: the daemon is no child of ours and outlives us.  The
	 * daemon itself refuses to run twice (lock), so a race between two
	 * senders starting it is harmless. */
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		int devnull;

		setsid();
		if (fork() != 0)
			_exit(0);
		devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
			if (devnull > 2)
				close(devnull);
		}
		if (config_path)
			execl(helper, "paloma-daemon", "--foreground", "-c", config_path, (char *)NULL);
		else
			execl(helper, "paloma-daemon", "--foreground", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	if (verbose)
		fprintf(stderr, "paloma: started the delivery daemon\n");
}

pid_t
pl_spawn_helper(const char *name, const char *config, const char *const *args,
    const char *log_path, int *err)
{
	char helper[4300];
	char *argv[16];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	pid_t pid;
	int n = 0;

	pl_helper_path(name, helper, sizeof helper);
	argv[n++] = (char *)name;
	if (config) {
		argv[n++] = "-c";
		argv[n++] = (char *)config;
	}
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, log_path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&def);
	sigdelset(&def, SIGKILL);
	sigdelset(&def, SIGSTOP);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	*err = posix_spawn(&pid, helper, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return *err ? 0 : pid;
}
