/* compose.c — writing mail in the client: the template in the editor, then
 * the review screen (send, edit again, attach, change the fields, postpone,
 * abort).
 *
 * The draft lives in a private file (0600, $XDG_RUNTIME_DIR/paloma or the
 * state directory) for as long as the review screen is open; the editor
 * gets its path as its last argument, split from the config's `editor`,
 * $VISUAL, $EDITOR or "vi" without a shell.  Sending runs the front end
 * exactly as a script would: `paloma [-c CONFIG] send -t -i -v` with the
 * built message on its standard input, so the queue, the Sent copy and the
 * daemon's wake-up are the same code.  Postponing stores the message in
 * <maildir>/<account>/Drafts with the flags D (draft) and S (seen). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "addrbook.h"
#include "compose.h"
#include "fsutil.h"
#include "maildir.h"
#include "message.h"
#include "mime.h"
#include "outbox.h"
#include "paths.h"
#include "secret.h"
#include "ui.h"

struct cview {
	struct view v;
	struct pl_draft d;
	char path[PATH_MAX];	/* the draft file */
	char fwd[PATH_MAX];	/* a private copy of a message forwarded as attachment */
	int sel;		/* the selected attachment */
	char *orig_id;		/* the original's Message-ID (no <>), for reply/forward */
	const char *orig_tag;	/* "replied" or "passed" once this is sent */
};

static const struct ui_keydef compose_keys[] = {
	{ "y", UI_A_send }, { "e", UI_A_edit }, { "a", UI_A_attach }, { "D", UI_A_detach },
	{ "t", UI_A_edit_to }, { "c", UI_A_edit_cc }, { "s", UI_A_edit_subject },
	{ "F", UI_A_edit_from }, { "P", UI_A_postpone }, { "q", UI_A_abort },
	{ "j", UI_A_down }, { "k", UI_A_up }, { "Down", UI_A_down }, { "Up", UI_A_up },
	{ NULL, UI_A_none },
};

/* --- the editor --------------------------------------------------------- */

static int
write_draft(struct cview *c, struct pl_err *e)
{
	struct buf b = { 0 };
	int fd, rc = 0;

	pl_draft_format(&c->d, &b);
	fd = open(c->path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || pl_write_all(fd, b.p, b.len) < 0)
		rc = pl_errf(e, EX_IOERR, "cannot write the draft %s: %s", c->path,
		    strerror(errno));
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = pl_errf(e, EX_IOERR, "cannot write the draft %s: %s", c->path,
		    strerror(errno));
	buf_free(&b);
	return rc;
}

/* Runs the editor on the draft file and reads it back.  -1 with the reason
 * on the message line. */
static int
edit(struct ui *ui, struct cview *c)
{
	const char *cmd = ui->cfg->editor;
	char **argv = NULL, *text;
	struct pl_err e;
	size_t n = 0, len;
	int st;

	if (cmd == NULL || *cmd == '\0')
		cmd = getenv("VISUAL");
	if (cmd == NULL || *cmd == '\0')
		cmd = getenv("EDITOR");
	if (cmd == NULL || *cmd == '\0')
		cmd = "vi";
	if (write_draft(c, &e) < 0) {
		ui_error(ui, "%s", e.msg);
		return -1;
	}
	if (pl_split_words(cmd, &argv, &e) < 0) {
		ui_error(ui, "editor '%s': %s", cmd, e.msg);
		return -1;
	}
	while (argv[n])
		n++;
	argv = xrealloc(argv, (n + 2) * sizeof *argv);
	argv[n] = xstrdup(c->path);
	argv[n + 1] = NULL;
	st = ui_run(ui, argv, 0);
	pl_free_words(argv);
	if (st == -1)
		return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		ui_error(ui, "the editor '%s' failed (%s %d); the draft is as it was", cmd,
		    WIFEXITED(st) ? "exit status" : "signal",
		    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		return -1;
	}
	if (pl_read_file(c->path, 16 * 1024 * 1024, &text, &len) < 0) {
		ui_error(ui, "cannot read the draft %s back: %s", c->path, strerror(errno));
		return -1;
	}
	if (pl_draft_parse(&c->d, text, len, &e) < 0) {
		free(text);
		ui_error(ui, "%s (e: edit again)", e.msg);
		return -1;
	}
	free(text);
	return 0;
}

/* --- sending -------------------------------------------------------------- */

/* Runs `paloma … send -t -i -v` with msg on its standard input, without
 * giving it the terminal; its output lands in out.  The wait status, or -1
 * when it could not be started. */
static int
run_send(struct ui *ui, const struct buf *msg, struct buf *out)
{
	static const char *const args[] = { "send", "-t", "-i", "-v", NULL };
	char tmpl[PATH_MAX];
	int fd, st;

	snprintf(tmpl, sizeof tmpl, "%s/send-XXXXXX", pl_runtime_dir());
	if ((fd = mkostemp(tmpl, O_CLOEXEC)) < 0) {
		buf_printf(out, "cannot make a temporary file in %s: %s", pl_runtime_dir(),
		    strerror(errno));
		return -1;
	}
	unlink(tmpl);
	if (pl_write_all(fd, msg->p, msg->len) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		buf_printf(out, "cannot hand the message over: %s", strerror(errno));
		close(fd);
		return -1;
	}
	st = pl_run_front(ui->config_path, args, fd, out);
	close(fd);
	return st;
}

/* The line of the front end's output worth showing: the first one, without
 * "paloma: ". */
static const char *
first_line(struct buf *b)
{
	char *s;

	if (b->p == NULL)
		return "";
	s = b->p;
	s[strcspn(s, "\n")] = '\0';
	if (strncmp(s, "paloma: ", 8) == 0)
		s += 8;
	return s;
}

static int
has_recipients(const struct pl_draft *d)
{
	static const char *f[] = { "To", "Cc", "Bcc" };

	for (int i = 0; i < 3; i++) {
		const char *v = pl_draft_get(d, f[i]);
		if (v && *v)
			return 1;
	}
	return 0;
}

static void
do_send(struct ui *ui, struct cview *c)
{
	struct buf msg = { 0 }, out = { 0 };
	struct pl_err e;
	int st;

	if (!has_recipients(&c->d)) {
		ui_error(ui, "no recipients: t sets To, c sets Cc");
		return;
	}
	if (pl_compose_build(&c->d, 0, &msg, &e) < 0) {
		ui_error(ui, "not sent: %s", e.msg);
		return;
	}
	ui_status(ui, "sending…");
	st = run_send(ui, &msg, &out);
	buf_free(&msg);
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		/* The original is now answered (R) or forwarded (P); the next
		 * sync tells the server.  Tagged first: ui_tag sets its own
		 * status line, the send's result goes over it. */
		if (c->orig_id && c->orig_tag) {
			const char *add[] = { c->orig_tag, NULL };
			char *q = ui_query_id("id", c->orig_id);

			ui_tag(ui, q, add, NULL, c->orig_tag);
			free(q);
		}
		ui_status(ui, "%s (o: outbox)", out.len ? first_line(&out) : "queued");
		buf_free(&out);
		ui_pop(ui);	/* close_view removes the files */
		return;
	}
	if (st == -1)
		ui_error(ui, "not sent: %s", first_line(&out));
	else if (WIFEXITED(st))
		ui_error(ui, "not sent (paloma send exit status %d): %s", WEXITSTATUS(st),
		    first_line(&out));
	else
		ui_error(ui, "not sent: paloma send was killed by signal %d", WTERMSIG(st));
	buf_free(&out);
}

/* --- postponing ------------------------------------------------------------ */

static const struct pl_account *
from_account(const struct ui *ui, const struct pl_draft *d)
{
	const char *from = pl_draft_get(d, "From");
	struct pl_addrlist l = { 0 };
	const struct pl_account *a = NULL;

	if (from && pl_addr_parse_list(from, &l, NULL) == 0 && l.n > 0)
		for (size_t i = 0; i < ui->cfg->naccounts && a == NULL; i++)
			if (ascii_casecmp(ui->cfg->accounts[i].address, l.v[0].mailbox) == 0)
				a = &ui->cfg->accounts[i];
	pl_addrlist_free(&l);
	return a ? a : pl_config_default_account(ui->cfg);
}

static void
do_postpone(struct ui *ui, struct cview *c)
{
	const struct pl_account *a = from_account(ui, &c->d);
	struct buf msg = { 0 }, lf = { 0 };
	char folder[PATH_MAX];
	struct pl_err e;

	if (a == NULL || ui->cfg->maildir == NULL) {
		ui_error(ui, "cannot postpone: no account to keep the draft in");
		return;
	}
	if (pl_compose_build(&c->d, pl_now(), &msg, &e) < 0) {
		ui_error(ui, "cannot postpone: %s", e.msg);
		return;
	}
	for (size_t i = 0; i < msg.len; i++)
		if (!(msg.p[i] == '\r' && i + 1 < msg.len && msg.p[i + 1] == '\n'))
			buf_addc(&lf, msg.p[i]);
	buf_free(&msg);
	snprintf(folder, sizeof folder, "%s/%s/Drafts", ui->cfg->maildir, a->name);
	if (pl_maildir_deliver(folder, lf.p ? lf.p : "", lf.len, "DS", NULL, &e) < 0) {
		ui_error(ui, "cannot postpone: %s", e.msg);
		buf_free(&lf);
		return;
	}
	buf_free(&lf);
	ui_status(ui, "postponed to %s", folder);
	ui_pop(ui);	/* close_view removes the files */
}

/* --- the review screen ----------------------------------------------------- */

static void
draw(struct ui *ui, struct view *v)
{
	struct cview *c = (struct cview *)v;
	const char *subj = pl_draft_get(&c->d, "Subject");
	int y = ui->body_top, end = ui->body_top + ui->body_rows;
	char line[512];

	erase();
	ui_title(ui, "Compose", subj && *subj ? subj : "(no subject)");
	for (size_t i = 0; i < c->d.nf && y < end; i++, y++) {
		attron(ui_attr(UI_C_header));
		snprintf(line, sizeof line, "%11s: ", c->d.f[i].name);
		ui_put(y, 0, line, ui->cols, 0);
		attroff(ui_attr(UI_C_header));
		ui_put(y, 13, c->d.f[i].value, ui->cols - 13, 0);
	}
	if (y < end)
		y++;
	if (y < end) {
		snprintf(line, sizeof line, "Attachments: %zu", c->d.natt);
		ui_put(y++, 0, line, ui->cols, 0);
	}
	for (size_t i = 0; i < c->d.natt && y < end; i++, y++) {
		const struct pl_part *p = &c->d.att[i];
		struct stat sb;
		char sz[32] = "?";
		if (stat(p->path, &sb) == 0)
			snprintf(sz, sizeof sz, "%lldK", ((long long)sb.st_size + 1023) / 1024);
		const char *shown = p->name ? p->name : p->path;
		if (p->path == c->fwd || (c->fwd[0] && strcmp(p->path, c->fwd) == 0))
			shown = "(the forwarded message)";
		snprintf(line, sizeof line, "%c %2zu  %-40s %-24s %s", (int)i == c->sel ? '>' : ' ',
		    i + 1, shown, p->type ? p->type : pl_mime_type_guess(shown), sz);
		attron((int)i == c->sel ? ui_attr(UI_C_selected) : ui_attr(UI_C_attachment));
		ui_put(y, 0, line, ui->cols, 1);
		attroff((int)i == c->sel ? ui_attr(UI_C_selected) : ui_attr(UI_C_attachment));
	}
	if (y < end)
		y++;
	/* The body's first lines. */
	for (const char *p = c->d.body ? c->d.body : ""; *p && y < end; y++) {
		size_t ll = strcspn(p, "\n");
		char *l = xstrndup(p, ll);
		if (*l == '>')
			attron(ui_attr(UI_C_quote));
		ui_put(y, 0, l, ui->cols, 0);
		if (*l == '>')
			attroff(ui_attr(UI_C_quote));
		free(l);
		p += ll;
		if (*p == '\n')
			p++;
	}
	ui_bar(ui->rows - 2, UI_C_status,
	    "y:send e:edit a:attach D:detach t:To c:Cc s:Subject F:From P:postpone q:abort", "");
}

/* Tab in the address prompts: the last address being typed, completed from
 * the addresses of the notmuch database. */
static int
complete_addr(void *ctx, const char *text, char *out, size_t len)
{
	struct ui *ui = ctx;
	const char *start = strrchr(text, ',');
	char *found;

	start = start ? start + 1 : text;
	while (*start == ' ')
		start++;
	if (strlen(start) < 2 || ui->cfg->maildir == NULL)
		return 0;
	if ((found = pl_addrbook_complete(ui->cfg->maildir, start)) == NULL)
		return 0;
	snprintf(out, len, "%.*s%s%s", (int)(start - text), text, found, "");
	free(found);
	return 1;
}

static void
edit_field(struct ui *ui, struct cview *c, const char *name, int addresses)
{
	const char *cur = pl_draft_get(&c->d, name);
	char label[32], buf[4096];
	int r;

	snprintf(label, sizeof label, "%s: ", name);
	if (addresses)
		r = ui_prompt_complete(ui, label, cur, buf, sizeof buf, complete_addr, ui);
	else
		r = ui_prompt(ui, label, cur, buf, sizeof buf);
	if (r < 0)
		return;
	if (addresses && *buf) {
		struct pl_addrlist l = { 0 };
		struct pl_err e;
		if (pl_addr_parse_list(buf, &l, &e) < 0) {
			ui_error(ui, "%s: %s", name, e.msg);
			return;
		}
		pl_addrlist_free(&l);
	}
	pl_draft_set(&c->d, name, trim(buf));
}

static void
do_attach(struct ui *ui, struct cview *c)
{
	char buf[PATH_MAX], *path;
	struct stat sb;

	if (ui_prompt(ui, "Attach file: ", NULL, buf, sizeof buf) < 0 || *trim(buf) == '\0')
		return;
	path = pl_expand_home(trim(buf));
	if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || access(path, R_OK) < 0) {
		ui_error(ui, "cannot attach %s: %s", path,
		    errno ? strerror(errno) : "not a regular file");
		free(path);
		return;
	}
	if (*path != '/') {
		char cwd[PATH_MAX], *abs;
		if (getcwd(cwd, sizeof cwd)) {
			abs = xmalloc(strlen(cwd) + strlen(path) + 2);
			sprintf(abs, "%s/%s", cwd, path);
			free(path);
			path = abs;
		}
	}
	pl_draft_attach(&c->d, path, NULL, NULL);
	c->sel = (int)c->d.natt - 1;
	ui_status(ui, "attached %s", path);
	free(path);
}

static int
action(struct ui *ui, struct view *v, enum ui_action a)
{
	struct cview *c = (struct cview *)v;

	switch (a) {
	case UI_A_send:
		do_send(ui, c);
		return 1;
	case UI_A_edit:
		edit(ui, c);
		return 1;
	case UI_A_attach:
		do_attach(ui, c);
		return 1;
	case UI_A_detach:
		if (c->d.natt == 0) {
			ui_error(ui, "no attachment to remove");
			return 1;
		}
		pl_draft_detach(&c->d, (size_t)c->sel);
		if (c->sel >= (int)c->d.natt && c->sel > 0)
			c->sel--;
		return 1;
	case UI_A_up:
		if (c->sel > 0)
			c->sel--;
		return 1;
	case UI_A_down:
		if (c->sel + 1 < (int)c->d.natt)
			c->sel++;
		return 1;
	case UI_A_edit_to:
		edit_field(ui, c, "To", 1);
		return 1;
	case UI_A_edit_cc:
		edit_field(ui, c, "Cc", 1);
		return 1;
	case UI_A_edit_from:
		edit_field(ui, c, "From", 1);
		return 1;
	case UI_A_edit_subject:
		edit_field(ui, c, "Subject", 0);
		return 1;
	case UI_A_postpone:
		do_postpone(ui, c);
		return 1;
	case UI_A_abort:
	case UI_A_back:
	case UI_A_quit:
		if (!ui_confirm(ui, "Abort this message (nothing is kept)? "))
			return 1;
		ui_status(ui, "message aborted");
		ui_pop(ui);	/* close_view removes the files */
		if (a == UI_A_quit)
			ui->quit = 1;
		return 1;
	default:
		return 0;
	}
}

static void
close_view(struct ui *ui, struct view *v)
{
	struct cview *c = (struct cview *)v;

	(void)ui;
	free(c->orig_id);
	if (c->path[0])
		unlink(c->path);
	if (c->fwd[0])
		unlink(c->fwd);
	pl_draft_free(&c->d);
	free(c);
}

/* The message forwarded as an attachment is copied: its file in the
 * maildir may be renamed (flags) or removed before the message is sent. */
static int
copy_forwarded(struct ui *ui, struct cview *c, const char *dir)
{
	char *data;
	size_t len;
	int fd;

	if (c->d.natt == 0)
		return 0;
	snprintf(c->fwd, sizeof c->fwd, "%s/fwd-XXXXXX", dir);
	if ((fd = mkostemp(c->fwd, O_CLOEXEC)) < 0) {
		c->fwd[0] = '\0';
		ui_error(ui, "cannot make a temporary file in %s: %s", dir, strerror(errno));
		return -1;
	}
	if (pl_read_file(c->d.att[0].path, 64 * 1024 * 1024, &data, &len) < 0 ||
	    pl_write_all(fd, data, len) < 0) {
		ui_error(ui, "cannot copy the forwarded message: %s", strerror(errno));
		close(fd);
		return -1;
	}
	free(data);
	close(fd);
	free(c->d.att[0].path);
	c->d.att[0].path = xstrdup(c->fwd);
	return 0;
}

/* --- templates from the original ------------------------------------------ */

/* The original's fields: header values from the file (so that address
 * lists parse before their names are decoded), the rest as rendered. */
struct orig {
	struct pl_orig o;
	struct pl_rendered r;
	struct pl_message m;
	int have_m;
};

static char *
decode(const char *s)
{
	return pl_mime_decode_header(s);
}

static int
load_orig(struct ui *ui, const char *path, struct orig *g)
{
	struct pl_render_opts ro = { 0 };
	struct pl_err e;
	char *data;
	size_t len;
	const char *body;

	memset(g, 0, sizeof *g);
	ro.width = 72;
	ro.html_command = ui->cfg->ui.html_command;
	if (pl_mime_render(path, &ro, &g->r, &e) < 0) {
		ui_error(ui, "cannot read the message: %s", e.msg);
		return -1;
	}
	if (pl_read_file(path, 64 * 1024 * 1024, &data, &len) == 0) {
		char *end = strstr(data, "\n\n");
		char *crend = strstr(data, "\r\n\r\n");
		if (crend && (end == NULL || crend < end))
			end = crend + 2;
		/* only the header block is parsed: a body may hold anything */
		if (pl_message_parse(data, end ? (size_t)(end - data + 2) : len, &g->m, NULL) == 0)
			g->have_m = 1;
		free(data);
	}
	body = g->r.text ? g->r.text : "";
	for (size_t i = 0; i < g->r.header_lines && *body; i++) {
		body = strchr(body, '\n');
		body = body ? body + 1 : "";
	}
	if (*body == '\n')
		body++;
	g->o.body = body;
	g->o.path = path;
	g->o.decode = decode;
	g->o.subject = g->r.subject;
	g->o.date = g->r.date;
	g->o.message_id = g->r.message_id;
	g->o.in_reply_to = g->r.in_reply_to;
	g->o.references = g->r.references;
	if (g->have_m) {
		g->o.from = pl_message_get(&g->m, "From");
		g->o.to = pl_message_get(&g->m, "To");
		g->o.cc = pl_message_get(&g->m, "Cc");
		g->o.reply_to = pl_message_get(&g->m, "Reply-To");
		g->o.delivered_to = pl_message_get(&g->m, "Delivered-To");
	} else {
		g->o.from = g->r.from;
		g->o.to = g->r.to;
		g->o.cc = g->r.cc;
	}
	return 0;
}

static void
free_orig(struct orig *g)
{
	pl_rendered_free(&g->r);
	if (g->have_m)
		pl_message_free(&g->m);
}

int
ui_compose(struct ui *ui, enum compose_kind kind, const char *path)
{
	static int keys_set;
	struct cview *c;
	struct orig g;
	char dir[PATH_MAX];
	struct pl_err e;
	int fd;

	if (!keys_set) {
		ui_keys_defaults("compose", compose_keys);
		keys_set = 1;
	}
	if (ui->cfg->naccounts == 0) {
		ui_error(ui, "no account to send from: add an [account] with an address to %s",
		    ui->cfg->path);
		return -1;
	}
	c = xcalloc(1, sizeof *c);
	if (kind == COMPOSE_NEW || path == NULL) {
		pl_compose_new(ui->cfg, &c->d);
	} else {
		if (load_orig(ui, path, &g) < 0) {
			free(c);
			return -1;
		}
		if (g.o.message_id && g.o.message_id[0] == '<') {
			size_t n = strlen(g.o.message_id);

			if (n > 2 && g.o.message_id[n - 1] == '>')
				c->orig_id = xstrndup(g.o.message_id + 1, n - 2);
			c->orig_tag = kind == COMPOSE_FORWARD ? "passed" : "replied";
		}
		if (kind == COMPOSE_FORWARD) {
			char ans[16];
			if (ui_prompt(ui, "Forward inline (i) or as an attachment (a)? ", "i", ans,
			    sizeof ans) < 0) {
				free_orig(&g);
				free(c);
				return -1;
			}
			pl_compose_forward(ui->cfg, &g.o, *trim(ans) == 'a' ? PL_FWD_ATTACH :
			    PL_FWD_INLINE, &c->d);
		} else {
			pl_compose_reply(ui->cfg, &g.o, kind == COMPOSE_REPLY_ALL ? PL_REPLY_ALL :
			    PL_REPLY, &c->d);
		}
		free_orig(&g);
	}

	snprintf(dir, sizeof dir, "%s", pl_runtime_dir());
	if (pl_mkdirs(dir, 0700, &e) < 0) {
		ui_error(ui, "%s", e.msg);
		goto fail;
	}
	snprintf(c->path, sizeof c->path, "%s/draft-XXXXXX", dir);
	if ((fd = mkostemp(c->path, O_CLOEXEC)) < 0) {
		ui_error(ui, "cannot make a draft file in %s: %s", dir, strerror(errno));
		c->path[0] = '\0';
		goto fail;
	}
	close(fd);
	if (kind == COMPOSE_FORWARD && copy_forwarded(ui, c, dir) < 0)
		goto fail;
	if (edit(ui, c) < 0 && c->d.body == NULL)
		goto fail;
	c->v.name = "compose";
	c->v.draw = draw;
	c->v.action = action;
	c->v.close = close_view;
	ui_push(ui, &c->v);
	return 0;
fail:
	close_view(ui, &c->v);
	return -1;
}
