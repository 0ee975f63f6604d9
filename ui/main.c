/* main.c — paloma-ui, the terminal client: the view stack, the message
 * line, the loop, and what runs beside it (new-mail polling, a background
 * sync, external programs).
 *
 *   paloma-ui [-c FILE]        (run by `paloma` with no command)
 *
 * The loop waits for a key with a timeout, so that between keys it can
 * reap a finished sync and notice that the database changed (its stamp,
 * every PALOMA_UI_POLL_MS milliseconds, 2000 by default).  Nothing blocks
 * it but a prompt or a program run in the foreground. */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ui.h"

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

void
ui_push(struct ui *u, struct view *v)
{
	v->below = u->top;
	u->top = v;
	u->dirty = 1;
}

void
ui_pop(struct ui *u)
{
	struct view *v = u->top;

	if (v == NULL)
		return;
	u->top = v->below;
	v->close(u, v);
	u->dirty = 1;
	if (u->top == NULL)
		u->quit = 1;
}

static void
set_msg(struct ui *u, int err, const char *fmt, va_list ap)
{
	vsnprintf(u->msg, sizeof u->msg, fmt, ap);
	/* One line: a multi-line notmuch message must not scroll the screen. */
	for (char *p = u->msg; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	u->msg_error = err;
	u->dirty = 1;
}

void
ui_status(struct ui *u, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_msg(u, 0, fmt, ap);
	va_end(ap);
}

void
ui_error(struct ui *u, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_msg(u, 1, fmt, ap);
	va_end(ap);
	beep();
}

/* Bottom first: a pager reads its thread through the list below it,
 * whose database view must be fresh first. */
static void
refresh_from_bottom(struct ui *u, struct view *v)
{
	if (v == NULL)
		return;
	refresh_from_bottom(u, v->below);
	if (v->db_changed)
		v->db_changed(u, v);
}

void
ui_db_changed(struct ui *u)
{
	refresh_from_bottom(u, u->top);
	u->db_stamp = pl_db_stamp(u->cfg->maildir);
	u->dirty = 1;
}

char *
ui_query_id(const char *prefix, const char *id)
{
	struct buf b = { 0 };

	/* A quoted term: "" stands for one " inside. */
	buf_printf(&b, "%s:\"", prefix);
	for (; *id; id++) {
		if (*id == '"')
			buf_addc(&b, '"');
		buf_addc(&b, *id);
	}
	buf_addc(&b, '"');
	return buf_steal(&b);
}

int
ui_tag(struct ui *u, const char *query, const char *const *add, const char *const *del,
    const char *what)
{
	struct pl_tag_undo undo = { 0 };
	struct pl_err e;
	size_t n;

	if (pl_tag_query_undo(u->cfg->maildir, query, add, del, &undo, &e) < 0) {
		ui_error(u, "%s", e.msg);
		return -1;
	}
	n = undo.n;
	if (n > 0) {
		/* Only a change that changed something replaces the undo. */
		pl_tag_undo_free(&u->undo);
		u->undo = undo;
		snprintf(u->undo_what, sizeof u->undo_what, "%s", what);
		ui_status(u, "%s: %zu message%s", what, n, n == 1 ? "" : "s");
	} else {
		ui_status(u, "%s: nothing to change", what);
	}
	ui_db_changed(u);
	return 0;
}

static void
undo(struct ui *u)
{
	struct pl_err e;

	if (u->undo.n == 0) {
		ui_status(u, "nothing to undo");
		return;
	}
	if (pl_tag_undo(u->cfg->maildir, &u->undo, &e) < 0) {
		ui_error(u, "%s", e.msg);
		return;
	}
	ui_status(u, "undone: %s (%zu message%s)", u->undo_what, u->undo.n,
	    u->undo.n == 1 ? "" : "s");
	pl_tag_undo_free(&u->undo);
	ui_db_changed(u);
}

int
ui_run(struct ui *u, char *const argv[], int pause)
{
	pid_t pid;
	int status = -1, e;

	def_prog_mode();
	endwin();
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (u->tty_err >= 0)
			dup2(u->tty_err, 2);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		execvp(argv[0], argv);
		dprintf(2, "paloma: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	e = errno;
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (pid > 0 && pause) {
		int c;
		fputs("\n-- press Enter to return to paloma --", stdout);
		fflush(stdout);
		while ((c = getchar()) != EOF && c != '\n')
			;
	}
	reset_prog_mode();
	clearok(curscr, TRUE);
	refresh();
	u->dirty = 1;
	if (pid < 0) {
		ui_error(u, "cannot start %s: %s", argv[0], strerror(e));
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		ui_error(u, "cannot run %s", argv[0]);
	return status;
}

/* ---- the background sync --------------------------------------------- */

static void
sync_path(char *out, size_t len)
{
	char self[4096];
	ssize_t n;

	/* Beside this helper first: that is where the front put us. */
	if (getenv("PALOMA_LIBEXEC") == NULL &&
	    (n = readlink("/proc/self/exe", self, sizeof self - 1)) > 0) {
		char *slash;
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			snprintf(out, len, "%s/paloma-sync", self);
			if (access(out, X_OK) == 0)
				return;
		}
	}
	pl_helper_path("paloma-sync", out, len);
}

void
ui_sync_start(struct ui *u)
{
	char path[4400];
	char *argv[7];
	int fd[2], n = 0, null;
	pid_t pid;

	if (u->sync_pid > 0) {
		ui_status(u, "a sync is already running");
		return;
	}
	sync_path(path, sizeof path);
	if (pipe2(fd, O_CLOEXEC) < 0) {
		ui_error(u, "cannot start a sync: %s", strerror(errno));
		return;
	}
	argv[n++] = "paloma-sync";
	if (u->config_path) {
		argv[n++] = "-c";
		argv[n++] = (char *)u->config_path;
	}
	argv[n++] = "-q";
	argv[n++] = "--progress";
	argv[n] = NULL;
	if ((pid = fork()) < 0) {
		ui_error(u, "cannot start a sync: %s", strerror(errno));
		close(fd[0]);
		close(fd[1]);
		return;
	}
	if (pid == 0) {
		/* Its messages come to us through the pipe: never onto the screen. */
		null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(fd[1], 2);
		signal(SIGINT, SIG_IGN);
		execv(path, argv);
		dprintf(2, "cannot run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	fcntl(fd[0], F_SETFL, O_NONBLOCK);
	u->sync_pid = pid;
	u->sync_fd = fd[0];
	u->sync_last[0] = '\0';
	u->sync_part[0] = '\0';
	ui_status(u, "syncing…");
}

/* Shows the sync's progress lines ("progress ACCOUNT FOLDER 120/300
 * BYTES/TOTAL") in the message line and keeps the last other line (an
 * error) for the end.  A read may end mid-line: the rest waits in
 * sync_part. */
static void
sync_read(struct ui *u)
{
	char buf[2048];
	ssize_t n;

	while ((n = read(u->sync_fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			size_t k = strlen(u->sync_part);
			char acct[128], folder[512];
			unsigned long done, total;
			unsigned long long b, tb;

			if (buf[i] != '\n' && buf[i] != '\r') {
				if (k + 1 < sizeof u->sync_part) {
					u->sync_part[k] = buf[i];
					u->sync_part[k + 1] = '\0';
				}
				continue;
			}
			if (sscanf(u->sync_part, "progress %127s %511s %lu/%lu %llu/%llu", acct, folder,
			    &done, &total, &b, &tb) == 6) {
				if (total > 0)
					ui_status(u, "syncing %s %s: %lu of %lu (%llu KB of %llu)…", acct,
					    folder, done, total, b / 1024, tb / 1024);
				else
					ui_status(u, "syncing %s %s…", acct, folder);
			} else if (*trim(u->sync_part)) {
				snprintf(u->sync_last, sizeof u->sync_last, "%s", u->sync_part);
			}
			u->sync_part[0] = '\0';
		}
	}
}

static void
sync_check(struct ui *u)
{
	int status;
	pid_t r;

	if (u->sync_pid <= 0)
		return;
	sync_read(u);
	if ((r = waitpid(u->sync_pid, &status, WNOHANG)) == 0)
		return;
	sync_read(u);
	close(u->sync_fd);
	u->sync_fd = -1;
	u->sync_pid = 0;
	if (r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		ui_status(u, "sync done%s%s", u->sync_last[0] ? ": " : "", u->sync_last);
	else if (r > 0 && WIFEXITED(status))
		ui_error(u, "sync failed (exit %d)%s%s", WEXITSTATUS(status),
		    u->sync_last[0] ? ": " : "", u->sync_last);
	else
		ui_error(u, "sync was killed%s%s", u->sync_last[0] ? ": " : "", u->sync_last);
	ui_db_changed(u);
}

/* ---- the loop ---------------------------------------------------------- */

static void
draw(struct ui *u)
{
	getmaxyx(stdscr, u->rows, u->cols);
	u->body_top = 1;
	u->body_rows = u->rows > 3 ? u->rows - 3 : 0;
	if (u->top)
		u->top->draw(u, u->top);
	attrset(u->msg_error ? ui_attr(UI_C_error) : A_NORMAL);
	move(u->rows - 1, 0);
	clrtoeol();
	ui_put(u->rows - 1, 0, u->msg, u->cols - 1, 0);
	attrset(A_NORMAL);
	refresh();
	u->dirty = 0;
}

static void
common_action(struct ui *u, enum ui_action a, int ch)
{
	char q[1024], name[32];

	switch (a) {
	case UI_A_quit: u->quit = 1; break;
	case UI_A_back: ui_pop(u); break;
	case UI_A_help: ui_help_open(u, u->top->name); break;
	case UI_A_refresh: ui_db_changed(u); ui_status(u, "refreshed"); break;
	case UI_A_sync: ui_sync_start(u); break;
	case UI_A_undo: undo(u); break;
	case UI_A_outbox: ui_outbox_open(u); break;
	case UI_A_compose: ui_compose(u, COMPOSE_NEW, NULL); break;
	case UI_A_searches: ui_searches_open(u); break;
	case UI_A_redraw: clearok(curscr, TRUE); break;
	case UI_A_search:
		if (ui_prompt(u, "search: ", NULL, q, sizeof q) == 0 && *trim(q))
			ui_index_open(u, trim(q));
		break;
	case UI_A_none:
		ui_key_name(ch, name, sizeof name);
		ui_status(u, "key %s does nothing here (? lists the keys)", name);
		break;
	default:
		ui_status(u, "%s does nothing here (? lists the keys)", ui_action_name(a));
		break;
	}
}

static void
loop(struct ui *u)
{
	int64_t next_poll = pl_mono_ms() + u->poll_ms;

	u->db_stamp = pl_db_stamp(u->cfg->maildir);
	while (!u->quit && u->top && !got_signal) {
		int64_t t = next_poll - pl_mono_ms();
		enum ui_action a;
		int ch;

		if (u->dirty)
			draw(u);
		if (t < 0)
			t = 0;
		if (u->sync_pid > 0 && t > 200)
			t = 200;
		timeout((int)t);
		ch = getch();
		sync_check(u);
		if (pl_mono_ms() >= next_poll) {
			unsigned long long s = pl_db_stamp(u->cfg->maildir);
			if (s != u->db_stamp)
				ui_db_changed(u);	/* new mail, or another program's tags */
			next_poll = pl_mono_ms() + u->poll_ms;
		}
		if (ch == ERR)
			continue;
		u->dirty = 1;
		if (ch == KEY_RESIZE) {
			for (struct view *v = u->top; v; v = v->below)
				if (v->resize)
					v->resize(u, v);
			continue;
		}
		u->msg[0] = '\0';
		u->msg_error = 0;
		a = ui_keys_lookup(u->top->name, ch);
		if (a == UI_A_none && u->top->key && u->top->key(u, u->top, ch))
			continue;
		if (a != UI_A_none && u->top->action(u, u->top, a))
			continue;
		common_action(u, a, ch);
	}
}

static int
usage(void)
{
	fputs("usage: paloma [-c FILE]   (the terminal client)\n", stderr);
	return EX_USAGE;
}

int
main(int argc, char **argv)
{
	struct pl_config cfg;
	struct ui u = { 0 };
	struct pl_err e;
	const char *cpath = NULL, *env;
	int c;

	while ((c = getopt(argc, argv, "c:")) != -1) {
		if (c == 'c')
			cpath = optarg;
		else
			return usage();
	}
	if (optind != argc)
		return usage();
	if (pl_config_load(&cfg, cpath, cpath != NULL, &e) < 0) {
		fprintf(stderr, "paloma: %s\n", e.msg);
		return e.code;
	}
	if (ui_keys_init(&cfg.ui, &e) < 0) {
		fprintf(stderr, "paloma: %s: %s\n", cfg.path, e.msg);
		return e.code;
	}
	if (!isatty(0) || !isatty(1)) {
		fputs("paloma: the client needs a terminal (for scripts: paloma send, "
		    "paloma sync, notmuch)\n", stderr);
		return EX_USAGE;
	}
	u.cfg = &cfg;
	u.config_path = cpath;
	u.sync_fd = -1;
	u.poll_ms = 2000;
	if ((env = getenv("PALOMA_UI_POLL_MS")) && atoi(env) > 0)
		u.poll_ms = atoi(env);
	/* Libraries may write to stderr (Xapian, GMime): never onto the
	 * screen.  Programs we run get the terminal back. */
	u.tty_err = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if ((c = open("/dev/null", O_WRONLY)) >= 0) {
		dup2(c, 2);
		close(c);
	}
	setlocale(LC_ALL, "");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	set_escdelay(25);
	initscr();
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	ui_colors_init(&cfg.ui);
	getmaxyx(stdscr, u.rows, u.cols);
	u.body_top = 1;
	u.body_rows = u.rows > 3 ? u.rows - 3 : 0;
	ui_index_open(&u, cfg.ui.default_query);
	loop(&u);
	while (u.top)
		ui_pop(&u);
	endwin();
	if (u.sync_pid > 0)	/* it finishes on its own; not ours to wait for */
		close(u.sync_fd);
	pl_tag_undo_free(&u.undo);
	pl_config_free(&cfg);
	return 0;
}
