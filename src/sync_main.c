/* sync_main.c — `paloma sync`: reads the accounts' mail in.
 *
 *   paloma-sync [-c FILE] [-q] [--progress] [ACCOUNT…]
 *   paloma-sync [-c FILE] --idle ACCOUNT [--timeout SECONDS]
 *
 * The first form syncs the named accounts (default: every account with an
 * imap = or pop3 = server), one after the other: local tag changes first
 * (pl_sync_local_changes), then the protocol engine with the indexer
 * thread beside it.  An account that fails does not stop the others; the
 * exit status is the first failure's (sysexits), else 0.  On a terminal a
 * progress line shows the folder, messages done/total, bytes, rate and time
 * left; a summary line per account follows unless -q.  --progress writes
 * the same figures as lines on standard error, terminal or not:
 *   progress ACCOUNT FOLDER DONE/TOTAL BYTES/TOTAL_BYTES
 * (the client shows them in its status line while it syncs).
 *
 * The second form is for the daemon: it waits on the account's INBOX with
 * IMAP IDLE and exits 0 when new mail arrived, 2 when the time ran out,
 * EX_UNAVAILABLE (69) when the server has no IDLE, or the error's code.
 *
 * Two syncs of one account never run at once: each holds
 * <state>/sync/<account>/lock while it works; a second one skips that
 * account with EX_TEMPFAIL. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "paths.h"
#include "sync.h"
#include "util.h"

#define IDLE_NEW_MAIL	0
#define IDLE_TIMED_OUT	2

struct run {
	int quiet;
	int tty;		/* stderr is a terminal: progress line */
	int lines;		/* --progress: progress as lines, for a program */
	int shown;		/* a progress line is on screen */
	const char *account;
	double folder_start;	/* monotonic seconds when the folder began */
	double last_draw;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
fmt_bytes(unsigned long long n, char *out, size_t len)
{
	if (n >= 10ULL * 1024 * 1024)
		snprintf(out, len, "%.0f MB", n / 1048576.0);
	else if (n >= 1024 * 1024)
		snprintf(out, len, "%.1f MB", n / 1048576.0);
	else if (n >= 1024)
		snprintf(out, len, "%.0f KB", n / 1024.0);
	else
		snprintf(out, len, "%llu B", n);
}

static void
clear_line(struct run *r)
{
	if (r->shown) {
		fputs("\r\033[K", stderr);
		r->shown = 0;
	}
}

/* The progress line: "work INBOX  120/300  1.2 MB  350 msg/s  4 s left". */
static void
progress(struct pl_sync *s, const char *folder, unsigned long done, unsigned long total,
    unsigned long long done_bytes, unsigned long long total_bytes)
{
	struct run *r = s->user;
	double t = now_s(), el;
	char b[32], tb[32], left[32] = "";

	if (r->lines) {
		if (done != 0 && done < total && t - r->last_draw < 0.2)
			return;
		r->last_draw = t;
		fprintf(stderr, "progress %s %s %lu/%lu %llu/%llu\n", r->account, folder, done,
		    total, done_bytes, total_bytes);
		fflush(stderr);
		return;
	}
	if (!r->tty || r->quiet)
		return;
	if (done == 0)
		r->folder_start = t;
	if (done != 0 && done < total && t - r->last_draw < 0.1)
		return;
	r->last_draw = t;
	el = t - r->folder_start;
	fmt_bytes(done_bytes, b, sizeof b);
	fmt_bytes(total_bytes, tb, sizeof tb);
	if (done > 0 && done < total && el > 0.5) {
		double rate = done / el;
		snprintf(left, sizeof left, "  %.0f msg/s  %.0f s left", rate,
		    (total - done) / rate);
	}
	fprintf(stderr, "\r\033[K%s %s  %lu/%lu  %s/%s%s", r->account, folder, done, total, b, tb,
	    left);
	fflush(stderr);
	r->shown = 1;
}

static void
summary(const struct pl_sync *s, double secs)
{
	const struct pl_sync_stats *st = &s->st;
	char b[32];

	fmt_bytes(st->bytes, b, sizeof b);
	printf("%s: %lu new (%s), flags %lu in / %lu out, removed %lu here / %lu there, "
	    "%lu uploaded; %u folder%s in %.1f s\n", s->acct->name, st->fetched, b, st->flags_in,
	    st->flags_out, st->removed_in, st->removed_out, st->uploaded, st->folders,
	    st->folders == 1 ? "" : "s", secs);
	fflush(stdout);
}

/* Fills the paths and locks the account; 1 when another sync holds it. */
static int
prepare(struct pl_sync *s, const struct pl_config *cfg, const struct pl_account *a, int *lockfd,
    struct pl_err *e)
{
	char path[4200];
	int r;

	memset(s, 0, sizeof *s);
	s->cfg = cfg;
	s->acct = a;
	s->account_dir = xmalloc(strlen(cfg->maildir) + strlen(a->name) + 2);
	sprintf(s->account_dir, "%s/%s", cfg->maildir, a->name);
	s->state_dir = xmalloc(strlen(pl_state_dir()) + strlen(a->name) + 8);
	sprintf(s->state_dir, "%s/sync/%s", pl_state_dir(), a->name);
	if (pl_mkdirs(s->state_dir, 0700, e) < 0 || pl_mkdirs(s->account_dir, 0700, e) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/lock", s->state_dir);
	r = pl_try_lock(path, lockfd, e);
	if (r < 0)
		return -1;
	if (r == 0) {
		pl_errf(e, EX_TEMPFAIL, "another sync of this account is running");
		return 1;
	}
	return 0;
}

static void
release(struct pl_sync *s, int lockfd)
{
	if (lockfd >= 0)
		close(lockfd);
	free(s->account_dir);
	free(s->state_dir);
}

/* One account: local changes, engine, indexer.  0 or -1 with e. */
static int
sync_account(const struct pl_config *cfg, const struct pl_account *a, struct run *r,
    struct pl_err *e)
{
	struct pl_sync s;
	struct pl_err ie;
	const char **tags;
	double t0 = now_s();
	int lockfd = -1, rc;
	size_t failed;

	r->account = a->name;
	if (prepare(&s, cfg, a, &lockfd, e) != 0) {
		release(&s, lockfd);
		return -1;
	}
	s.progress = progress;
	s.user = r;
	if (pl_sync_local_changes(&s, &ie) < 0)
		fprintf(stderr, "paloma sync: %s: local tag changes not applied this time: %s\n",
		    a->name, ie.msg);
	tags = xcalloc(a->nnew_tags + 1, sizeof *tags);
	for (size_t i = 0; i < a->nnew_tags; i++)
		tags[i] = a->new_tags[i];
	s.ix = pl_ix_start(cfg->maildir, tags, e);
	if (s.ix == NULL) {
		free(tags);
		release(&s, lockfd);
		return -1;
	}
	rc = a->proto == PL_FETCH_IMAP ? pl_sync_imap(&s, e) : pl_sync_pop3(&s, e);
	clear_line(r);
	if (pl_sync_local_done(&s, &ie) < 0)
		fprintf(stderr, "paloma sync: %s: %s\n", a->name, ie.msg);
	failed = pl_ix_stop(s.ix, &ie);
	s.ix = NULL;
	free(tags);
	if (failed > 0)
		fprintf(stderr, "paloma sync: %s: %zu message%s not indexed yet (the next sync "
		    "retries): %s\n", a->name, failed, failed == 1 ? "" : "s", ie.msg);
	if (!r->quiet)
		summary(&s, now_s() - t0);
	release(&s, lockfd);
	return rc;
}

static int
idle_account(const struct pl_config *cfg, const struct pl_account *a, long timeout)
{
	struct pl_sync s;
	struct pl_err e;
	int lockfd = -1, rc;

	/* The watcher does not take the account's lock: it stores nothing, and
	 * a sync must be able to run while it waits. */
	memset(&s, 0, sizeof s);
	s.cfg = cfg;
	s.acct = a;
	s.idle_timeout = timeout;
	rc = pl_sync_imap_idle(&s, &e);
	release(&s, lockfd);
	if (rc < 0) {
		fprintf(stderr, "paloma sync: %s: %s\n", a->name, e.msg);
		return e.code;
	}
	return rc == 1 ? IDLE_NEW_MAIL : IDLE_TIMED_OUT;
}

static int
usage(void)
{
	fputs("usage: paloma [-c FILE] sync [-q] [--progress] [ACCOUNT…]\n"
	    "       paloma [-c FILE] sync --idle ACCOUNT [--timeout SECONDS]\n", stderr);
	return EX_USAGE;
}

int
main(int argc, char **argv)
{
	struct pl_config cfg;
	struct pl_err e;
	struct run r = { 0 };
	const char *config_path = NULL, *idle = NULL;
	long timeout = 25 * 60;
	int i, rc = 0, any = 0;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			config_path = argv[++i];
		} else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
			r.quiet = 1;
		} else if (!strcmp(argv[i], "--progress")) {
			r.lines = 1;
		} else if (!strcmp(argv[i], "--idle") && i + 1 < argc) {
			idle = argv[++i];
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			if (parse_duration(argv[++i], &timeout) < 0 || timeout <= 0) {
				fprintf(stderr, "paloma sync: --timeout: '%s' is not a duration\n",
				    argv[i]);
				return EX_USAGE;
			}
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage();
			return 0;
		} else {
			fprintf(stderr, "paloma sync: unknown option '%s'\n", argv[i]);
			return usage();
		}
	}
	if (pl_config_load(&cfg, config_path, config_path != NULL, &e) < 0) {
		fprintf(stderr, "paloma: %s\n", e.msg);
		return e.code;
	}
	/* A server that goes away mid-write must be an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	r.tty = isatty(STDERR_FILENO);

	if (idle) {
		const struct pl_account *a = pl_config_find_account(&cfg, idle);

		if (i < argc)
			rc = usage();
		else if (a == NULL || a->proto != PL_FETCH_IMAP) {
			fprintf(stderr, "paloma sync: %s: no such IMAP account in %s\n", idle,
			    cfg.path);
			rc = EX_USAGE;
		} else
			rc = idle_account(&cfg, a, timeout);
		pl_config_free(&cfg);
		return rc;
	}

	/* Named accounts must exist and have a server; all are checked first. */
	for (int k = i; k < argc; k++) {
		const struct pl_account *a = pl_config_find_account(&cfg, argv[k]);

		if (a == NULL || a->proto == PL_FETCH_NONE) {
			if (a)
				fprintf(stderr, "paloma sync: account '%s' has no imap = or pop3 = "
				    "server in %s\n", argv[k], cfg.path);
			else
				fprintf(stderr, "paloma sync: no account '%s' in %s\n", argv[k],
				    cfg.path);
			pl_config_free(&cfg);
			return EX_USAGE;
		}
	}
	for (size_t k = 0; k < cfg.naccounts; k++) {
		const struct pl_account *a = &cfg.accounts[k];
		int named = i == argc;

		for (int j = i; j < argc && !named; j++)
			named = !strcmp(argv[j], a->name);
		if (!named || a->proto == PL_FETCH_NONE)
			continue;
		any = 1;
		if (sync_account(&cfg, a, &r, &e) < 0) {
			clear_line(&r);
			fprintf(stderr, "paloma sync: %s: %s\n", a->name, e.msg);
			if (rc == 0)
				rc = e.code ? e.code : EX_SOFTWARE;
		}
	}
	if (!any && !r.quiet)
		fprintf(stderr, "paloma sync: no account in %s reads mail from a server "
		    "(imap = or pop3 =)\n", cfg.path);
	pl_config_free(&cfg);
	return rc;
}
