/* syncer.c — the daemon runs paloma-sync: on a timer, and when IDLE says so. */
#include "syncer.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "util.h"

/* paloma-sync --idle's exit codes (sync_main.c). */
#define IDLE_NEW_MAIL	0
#define IDLE_TIMED_OUT	2
/* How long one IDLE lasts before the watcher reconnects. */
#define IDLE_SECONDS	"25m"
#define BACKOFF_FIRST	60

struct pl_syncer;

struct watch {
	struct pl_syncer *y;
	char *name;		/* IMAP account */
	pid_t watcher;		/* paloma-sync --idle, or 0 */
	pid_t syncing;		/* paloma-sync -q NAME, or 0 */
	int wanted;		/* new mail seen while a sync could not start */
	int no_idle;		/* the server has no IDLE: timer only */
	long backoff;		/* seconds before the next watcher after a failure */
	struct pl_timer *retry;
};

struct pl_syncer {
	struct pl_loop *loop;
	const struct pl_config *cfg;
	const char *config_path;
	const char *log_path;
	pid_t full;		/* paloma-sync -q (every account), or 0 */
	struct pl_timer *timer;
	struct watch *w;
	size_t nw;
};

static int
has_server(const struct pl_config *c)
{
	for (size_t i = 0; i < c->naccounts; i++)
		if (c->accounts[i].proto != PL_FETCH_NONE)
			return 1;
	return 0;
}

/* Starts paloma-sync with args (after the program name and -c FILE);
 * stdout to /dev/null, stderr to the daemon's log, default signals. */
static pid_t
spawn(struct pl_syncer *y, const char *const *args)
{
	int err;
	pid_t pid = pl_spawn_helper("paloma-sync", y->config_path, args, y->log_path, &err);

	if (pid == 0)
		pl_log("sync: cannot run paloma-sync: %s", strerror(err));
	return pid;
}

static void
sync_account(struct pl_syncer *y, struct watch *w)
{
	const char *args[] = { "-q", "--", w->name, NULL };

	if (w->syncing || y->full) {
		w->wanted = 1;
		return;
	}
	w->wanted = 0;
	w->syncing = spawn(y, args);
}

static void
start_watch(struct pl_syncer *y, struct watch *w)
{
	char timeout[] = IDLE_SECONDS;
	const char *args[] = { "--idle", w->name, "--timeout", timeout, NULL };

	if (w->watcher || w->no_idle || w->retry)
		return;
	w->watcher = spawn(y, args);
}

static void
on_retry(void *arg)
{
	struct watch *w = arg;

	w->retry = NULL;
	start_watch(w->y, w);
}

static void
on_timer(void *arg)
{
	struct pl_syncer *y = arg;
	const char *args[] = { "-q", NULL };
	int busy = 0;

	y->timer = NULL;
	for (size_t i = 0; i < y->nw; i++)
		busy |= y->w[i].syncing != 0;
	/* An account sync still running: try again shortly rather than have
	 * the full sync skip that account. */
	if (busy || y->full) {
		y->timer = pl_timer_add(y->loop, 5000, on_timer, y);
		return;
	}
	y->full = spawn(y, args);
	y->timer = pl_timer_add(y->loop, (int64_t)y->cfg->sync_interval * 1000, on_timer, y);
}

static void
free_watches(struct pl_syncer *y)
{
	for (size_t i = 0; i < y->nw; i++) {
		if (y->w[i].retry)
			pl_timer_cancel(y->loop, y->w[i].retry);
		free(y->w[i].name);
	}
	free(y->w);
	y->w = NULL;
	y->nw = 0;
}

static void
kill_wait(pid_t pid)
{
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		struct timespec ts = { 0, 10 * 1000000L };

		if (waitpid(pid, &st, WNOHANG) != 0)
			return;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

void
pl_syncer_set_config(struct pl_syncer *y, const struct pl_config *cfg)
{
	size_t n = 0;

	for (size_t i = 0; i < y->nw; i++) {
		kill_wait(y->w[i].watcher);
		kill_wait(y->w[i].syncing);
	}
	free_watches(y);
	y->cfg = cfg;
	if (y->timer)
		pl_timer_cancel(y->loop, y->timer);
	y->timer = NULL;
	if (!has_server(cfg))
		return;
	y->w = xcalloc(cfg->naccounts, sizeof *y->w);
	for (size_t i = 0; i < cfg->naccounts; i++)
		if (cfg->accounts[i].proto == PL_FETCH_IMAP) {
			y->w[n].y = y;
			y->w[n].name = xstrdup(cfg->accounts[i].name);
			y->w[n].backoff = BACKOFF_FIRST;
			n++;
		}
	y->nw = n;
	y->timer = pl_timer_add(y->loop, 0, on_timer, y);
	for (size_t i = 0; i < y->nw; i++)
		start_watch(y, &y->w[i]);
}

struct pl_syncer *
pl_syncer_new(struct pl_loop *loop, const struct pl_config *cfg, const char *config_path,
    const char *log_path)
{
	struct pl_syncer *y = xcalloc(1, sizeof *y);

	y->loop = loop;
	y->config_path = config_path;
	y->log_path = log_path;
	pl_syncer_set_config(y, cfg);
	return y;
}

/* The watcher of w ended with status st. */
static void
watcher_done(struct pl_syncer *y, struct watch *w, int st)
{
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;

	w->watcher = 0;
	if (code == IDLE_NEW_MAIL) {
		w->backoff = BACKOFF_FIRST;
		sync_account(y, w);
	} else if (code == IDLE_TIMED_OUT) {
		w->backoff = BACKOFF_FIRST;
	} else if (code == EX_UNAVAILABLE) {
		pl_log("sync: %s: the server has no IDLE; new mail comes every %ld s", w->name,
		    y->cfg->sync_interval);
		w->no_idle = 1;
		return;
	} else {
		long next = w->backoff;

		if (WIFSIGNALED(st))
			pl_log("sync: %s: watcher killed by signal %d", w->name, WTERMSIG(st));
		pl_log("sync: %s: watching INBOX failed (exit %d); again in %ld s", w->name, code,
		    next);
		w->backoff = next * 2 > y->cfg->sync_interval ? y->cfg->sync_interval : next * 2;
		if (w->backoff < BACKOFF_FIRST)
			w->backoff = BACKOFF_FIRST;
		w->retry = pl_timer_add(y->loop, (int64_t)next * 1000, on_retry, w);
		return;
	}
	start_watch(y, w);
}

void
pl_syncer_reap(struct pl_syncer *y)
{
	int st;

	if (y->full && waitpid(y->full, &st, WNOHANG) == y->full) {
		y->full = 0;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			pl_log("sync: paloma-sync ended with %s %d", WIFEXITED(st) ? "exit status" :
			    "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		for (size_t i = 0; i < y->nw; i++)
			if (y->w[i].wanted)
				sync_account(y, &y->w[i]);
	}
	for (size_t i = 0; i < y->nw; i++) {
		struct watch *w = &y->w[i];

		if (w->syncing && waitpid(w->syncing, &st, WNOHANG) == w->syncing) {
			w->syncing = 0;
			if (w->wanted)
				sync_account(y, w);
		}
		if (w->watcher && waitpid(w->watcher, &st, WNOHANG) == w->watcher)
			watcher_done(y, w, st);
	}
}

void
pl_syncer_free(struct pl_syncer *y)
{
	if (y == NULL)
		return;
	kill_wait(y->full);
	for (size_t i = 0; i < y->nw; i++) {
		kill_wait(y->w[i].watcher);
		kill_wait(y->w[i].syncing);
	}
	free_watches(y);
	if (y->timer)
		pl_timer_cancel(y->loop, y->timer);
	free(y);
}
