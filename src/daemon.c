/* daemon.c — `paloma daemon`: the queue runner.
 *
 *   paloma-daemon [-c FILE] [--foreground] [--once]
 *
 * One per state directory (flock on daemon.lock).  Listens on a UNIX socket
 * (0600) for wake/flush/status requests, delivers due recipients through the
 * scheduler, and reacts to SIGTERM (stop: no new transactions, in-flight ones
 * get a grace period, then are abandoned and retried later), SIGHUP (reload
 * the config) and SIGINT (like SIGTERM).  Logs to daemon.log in the state
 * directory, and also to stderr with --foreground. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "event.h"
#include "fsutil.h"
#include "log.h"
#include "paths.h"
#include "queue.h"
#include "scheduler.h"
#include "syncer.h"

#define STOP_GRACE_MS 10000

struct daemon {
	struct pl_loop *loop;
	struct pl_sched *sched;
	struct pl_syncer *syncer;	/* NULL with --once */
	struct pl_config cfg;
	const char *config_path;
	int once;
	int stopping;
	int64_t stop_deadline;
	int listen_fd;
	int sig_fd;
};

static int
usage(void)
{
	fputs("usage: paloma [-c FILE] daemon [--foreground] [--once]\n", stderr);
	return EX_USAGE;
}

/* A control connection: read one line, answer, close. */
static void
on_client(void *arg, int fd, int revents)
{
	struct daemon *d = arg;
	char line[256], reply[256];
	struct pl_ctl_req req;
	struct pl_err e;
	ssize_t n;

	(void)revents;
	n = read(fd, line, sizeof line - 1);
	pl_loop_del(d->loop, fd);
	if (n <= 0) {
		close(fd);
		return;
	}
	line[n] = '\0';
	switch (pl_ctl_parse(line, &req)) {
	case PL_CTL_WAKE:
		pl_sched_scan(d->sched);
		snprintf(reply, sizeof reply, "ok\n");
		break;
	case PL_CTL_FLUSH:
		snprintf(reply, sizeof reply, "ok %d\n", pl_sched_flush(d->sched));
		break;
	case PL_CTL_CANCEL:	/* the user gave up on one recipient */
		if (pl_sched_cancel(d->sched, req.id, req.addr, &e) < 0)
			snprintf(reply, sizeof reply, "error %s\n", e.msg);
		else
			snprintf(reply, sizeof reply, "ok\n");
		break;
	case PL_CTL_STATUS:
		snprintf(reply, sizeof reply, "ok pid=%d busy=%d\n", (int)getpid(),
		    pl_sched_busy(d->sched));
		break;
	default:
		snprintf(reply, sizeof reply, "error %s\n", req.why);
		break;
	}
	pl_write_all(fd, reply, strlen(reply));
	close(fd);
}

static void
on_accept(void *arg, int fd, int revents)
{
	struct daemon *d = arg;
	int c;

	(void)revents;
	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (c >= 0)
		pl_loop_add(d->loop, c, POLLIN, on_client, d);
}

static void
reload(struct daemon *d)
{
	struct pl_config c;
	struct pl_err e;

	if (pl_config_load(&c, d->config_path, d->config_path != NULL, &e) < 0) {
		pl_log("reload refused, keeping the old settings: %s", e.msg);
		return;
	}
	pl_config_free(&d->cfg);
	d->cfg = c;
	pl_sched_set_config(d->sched, &d->cfg);
	if (d->syncer)
		pl_syncer_set_config(d->syncer, &d->cfg);
	pl_log("settings reloaded from %s", d->cfg.path);
}

static void
on_signal(void *arg, int fd, int revents)
{
	struct daemon *d = arg;
	struct signalfd_siginfo si;

	(void)revents;
	while (read(fd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGHUP) {
			reload(d);
		} else if (si.ssi_signo == SIGCHLD) {
			if (d->syncer)
				pl_syncer_reap(d->syncer);
		} else if (!d->stopping) {
			pl_log("stopping on signal %d: no new deliveries; %d in flight",
			    (int)si.ssi_signo, pl_sched_busy(d->sched));
			d->stopping = 1;
			d->stop_deadline = pl_mono_ms() + STOP_GRACE_MS;
			pl_sched_stop(d->sched);
		}
	}
}

static int
listen_socket(struct pl_err *e)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = pl_ctl_path();
	mode_t old;
	int fd;

	if (pl_mkdirs(pl_runtime_dir(), 0700, e) < 0)
		return -1;
	if (strlen(path) >= sizeof sun.sun_path)
		return pl_errf(e, EX_CANTCREAT, "socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	unlink(path);		/* we hold the lock: any socket there is stale */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return pl_errf(e, EX_OSERR, "socket: %s", strerror(errno));
	old = umask(077);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(fd, 64) < 0) {
		umask(old);
		close(fd);
		return pl_errf(e, EX_CANTCREAT, "cannot listen on %s: %s", path, strerror(errno));
	}
	umask(old);
	chmod(path, 0600);
	return fd;
}

/* Detaches from the terminal; the parent exits once the child is ready. */
static int
detach(int *ready_fd)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		char c;
		close(p[1]);
		_exit(read(p[0], &c, 1) == 1 ? 0 : EX_TEMPFAIL);
	}
	close(p[0]);
	setsid();
	*ready_fd = p[1];
	return 0;
}

int
main(int argc, char **argv)
{
	struct daemon d = { .listen_fd = -1, .sig_fd = -1 };
	char path[4200], log_path[4200];
	struct pl_err e;
	sigset_t mask;
	int foreground = 0, lockfd = -1, ready_fd = -1, r, rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--foreground") || !strcmp(argv[i], "-f"))
			foreground = 1;
		else if (!strcmp(argv[i], "--once"))
			d.once = 1;
		else if (!strcmp(argv[i], "-c") && i + 1 < argc)
			d.config_path = argv[++i];
		else
			return usage();
	}
	if (pl_config_load(&d.cfg, d.config_path, d.config_path != NULL, &e) < 0) {
		fprintf(stderr, "paloma: %s\n", e.msg);
		return e.code;
	}
	if (pl_mkdirs(pl_state_dir(), 0700, &e) < 0 || pl_queue_init(pl_queue_dir(), &e) < 0) {
		fprintf(stderr, "paloma: %s\n", e.msg);
		rc = e.code;
		goto out;
	}
	snprintf(path, sizeof path, "%s/daemon.lock", pl_state_dir());
	/* A daemon killed a moment ago may have left a child between fork and
	 * exec (bounce.c, ctl.c), holding a copy of the lock until its exec
	 * closes it: wait up to two seconds before calling the lock taken. */
	for (int tries = 0; (r = pl_try_lock(path, &lockfd, &e)) == 0 && tries < 20; tries++)
		usleep(100 * 1000);
	if (r < 0) {
		fprintf(stderr, "paloma: %s\n", e.msg);
		rc = e.code;
		goto out;
	}
	if (r == 0) {
		char pid[32] = "";
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, pid, sizeof pid - 1);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			close(fd);
		}
		fprintf(stderr, "paloma: a daemon already runs for %s%s%s%s\n", pl_state_dir(),
		    *pid ? " (pid " : "", pid, *pid ? ")" : "");
		rc = EX_TEMPFAIL;
		goto out;
	}
	if (!foreground && !d.once && detach(&ready_fd) < 0) {
		fprintf(stderr, "paloma: cannot detach: %s\n", strerror(errno));
		rc = EX_OSERR;
		goto out;
	}
	if (ftruncate(lockfd, 0) == 0) {
		char pid[32];
		int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
		if (pwrite(lockfd, pid, (size_t)n, 0) != n) {
			/* the pid is a courtesy for the message above */
		}
	}
	snprintf(log_path, sizeof log_path, "%s/daemon.log", pl_state_dir());
	if (pl_log_open(log_path, foreground || d.once, &e) < 0) {
		fprintf(stderr, "paloma: %s\n", e.msg);
		rc = e.code;
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	d.sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d.loop = pl_loop_new();
	pl_loop_add(d.loop, d.sig_fd, POLLIN, on_signal, &d);
	if ((d.listen_fd = listen_socket(&e)) < 0) {
		pl_log("%s", e.msg);
		rc = e.code;
		goto out;
	}
	pl_loop_add(d.loop, d.listen_fd, POLLIN, on_accept, &d);
	d.sched = pl_sched_new(d.loop, &d.cfg, &e);
	if (d.sched == NULL) {
		pl_log("%s", e.msg);
		rc = e.code;
		goto out;
	}
	pl_log("started (pid %d, queue %s%s)", (int)getpid(), pl_queue_dir(),
	    d.once ? ", once" : "");
	if (!d.once)
		d.syncer = pl_syncer_new(d.loop, &d.cfg, d.config_path, log_path);
	if (ready_fd >= 0) {
		int devnull = open("/dev/null", O_RDWR);
		if (write(ready_fd, "r", 1) != 1) {
			/* the parent sees EOF and reports a failure */
		}
		close(ready_fd);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
			close(devnull);
		}
	}
	pl_sched_scan(d.sched);
	for (;;) {
		int wait_ms;

		pl_sched_run(d.sched);
		if (d.stopping && (pl_sched_busy(d.sched) == 0 || pl_mono_ms() >= d.stop_deadline))
			break;
		if (d.once && pl_sched_busy(d.sched) == 0 && !pl_sched_due(d.sched))
			break;
		wait_ms = pl_sched_wait_ms(d.sched);
		if (d.stopping && wait_ms > 200)
			wait_ms = 200;
		if (pl_loop_once(d.loop, wait_ms) < 0) {
			pl_log("poll failed: %s", strerror(errno));
			break;
		}
	}
	if (pl_sched_busy(d.sched))
		pl_log("abandoning %d transactions in flight: their recipients stay queued",
		    pl_sched_busy(d.sched));
	pl_sched_free(d.sched);
	pl_syncer_free(d.syncer);
	unlink(pl_ctl_path());
	pl_log("stopped");
	rc = 0;
out:
	if (d.listen_fd >= 0)
		close(d.listen_fd);
	if (d.sig_fd >= 0)
		close(d.sig_fd);
	if (d.loop)
		pl_loop_free(d.loop);
	if (lockfd >= 0)
		close(lockfd);
	pl_config_free(&d.cfg);
	return rc;
}
