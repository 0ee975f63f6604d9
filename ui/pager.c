/* pager.c — a thread's messages, one at a time, as mime.c renders them.
 *
 * The rendered text is cut into screen lines by display columns (again
 * after a resize).  Opening a message removes its unread tag (not kept for
 * undo: reading is not an edit).  Tag keys act on the message shown. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "addr.h"
#include "dkimverify.h"
#include "mime.h"
#include "outbox.h"
#include "queue.h"
#include "paths.h"
#include "ui.h"

struct line {
	char *s;
	enum ui_color c;
};

struct pager {
	struct view v;
	struct pl_query *q;	/* the index's; outlives the pager */
	char *thread;
	struct pl_tmsg *m;
	size_t n, cur;
	struct pl_rendered r;
	int rendered, all_headers;
	struct line *lines;
	size_t nlines, first;
	/* A message sent from one of the accounts: what became of each
	 * recipient ("Delivery: …" lines, with the state's colour). */
	char **dlines;
	enum ui_color *dcolor;
	size_t ndlines;
	char *about;		/* a report: the Message-ID of the mail it is about */
};

static const struct ui_keydef pager_keys[] = {
	{ "Space", UI_A_page_down }, { "b", UI_A_page_up }, { "PgUp", UI_A_page_up },
	{ "j", UI_A_down }, { "k", UI_A_up }, { "Enter", UI_A_down }, { "g", UI_A_top },
	{ "G", UI_A_bottom }, { "n", UI_A_next_message }, { "J", UI_A_next_message },
	{ "p", UI_A_prev_message }, { "K", UI_A_prev_message }, { "Tab", UI_A_next_unread },
	{ "h", UI_A_headers }, { "s", UI_A_save_attachment }, { "v", UI_A_open_attachment },
	{ "+", UI_A_tag_add }, { "-", UI_A_tag_remove },
	{ "a", UI_A_archive }, { "d", UI_A_delete }, { "F", UI_A_flag },
	{ "N", UI_A_toggle_unread }, { "u", UI_A_undo }, { "r", UI_A_reply },
	{ "R", UI_A_reply_all }, { "f", UI_A_forward }, { "Left", UI_A_back },
	{ "L", UI_A_original }, { NULL, UI_A_none },
};

static char tmpdir[4096];

static void
clear_lines(struct pager *p)
{
	for (size_t i = 0; i < p->nlines; i++)
		free(p->lines[i].s);
	free(p->lines);
	p->lines = NULL;
	p->nlines = 0;
}

static void
add_line(struct pager *p, const char *s, size_t len, enum ui_color c)
{
	p->lines = xrealloc(p->lines, (p->nlines + 1) * sizeof *p->lines);
	p->lines[p->nlines].s = xstrndup(s, len);
	p->lines[p->nlines].c = c;
	p->nlines++;
}

/* One logical line, tabs expanded, cut into pieces of the screen's width. */
static void
wrap(struct pager *p, const char *s, size_t len, int width, enum ui_color c)
{
	struct buf b = { 0 };
	const char *t;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\t') {
			do
				buf_addc(&b, ' ');
			while (b.len % 8);
		} else {
			buf_addc(&b, s[i]);
		}
	}
	buf_addc(&b, '\0');
	t = b.p;
	do {
		size_t k = ui_fit(t, width);
		if (k == 0 && *t)
			k = 1;	/* a character wider than the screen */
		add_line(p, t, k, c);
		t += k;
	} while (*t);
	buf_free(&b);
}

static void
fmt_size(size_t n, char *out, size_t len)
{
	if (n >= 1024 * 1024)
		snprintf(out, len, "%.1f MB", n / 1048576.0);
	else if (n >= 1024)
		snprintf(out, len, "%zu KB", (n + 1023) / 1024);
	else
		snprintf(out, len, "%zu B", n);
}

static void
layout(struct ui *u, struct pager *p)
{
	const char *s, *e, *end;
	size_t ln = 0;
	int width = u->cols > 1 ? u->cols : 80;
	char line[1200];

	clear_lines(p);
	if (!p->rendered)
		return;
	s = p->r.text;
	end = p->r.text + p->r.len;
	for (; s < end; s = e + 1, ln++) {
		enum ui_color c = UI_C_normal;

		if ((e = memchr(s, '\n', (size_t)(end - s))) == NULL)
			e = end;
		if (ln < p->r.header_lines)
			c = UI_C_header;
		else if (*s == '>')
			c = UI_C_quote;
		wrap(p, s, (size_t)(e - s), width, c);
		if (ln + 1 == p->r.header_lines && p->r.auth) {
			snprintf(line, sizeof line, "Auth: %s", p->r.auth);
			wrap(p, line, strlen(line), width, UI_C_auth);
		}
		if (ln + 1 == p->r.header_lines) {
			for (size_t i = 0; i < p->ndlines; i++)
				wrap(p, p->dlines[i], strlen(p->dlines[i]), width, p->dcolor[i]);
			if (p->about) {
				snprintf(line, sizeof line, "About: %s (L opens it)", p->about);
				wrap(p, line, strlen(line), width, UI_C_note);
			}
		}
		if (e == end)
			break;
	}
	if (p->r.natt) {
		add_line(p, "", 0, UI_C_normal);
		for (size_t i = 0; i < p->r.natt; i++) {
			const struct pl_attachment *a = &p->r.att[i];
			char size[32];

			fmt_size(a->size, size, sizeof size);
			snprintf(line, sizeof line, "[%zu] %s  %s  (%s)", i + 1,
			    a->filename ? a->filename : "(no name)", a->type, size);
			wrap(p, line, strlen(line), width, UI_C_attachment);
		}
	}
}

static void
clear_delivery(struct pager *p)
{
	for (size_t i = 0; i < p->ndlines; i++)
		free(p->dlines[i]);
	free(p->dlines);
	free(p->dcolor);
	free(p->about);
	p->dlines = NULL;
	p->dcolor = NULL;
	p->ndlines = 0;
	p->about = NULL;
}

static enum ui_color
state_color(enum pl_rcpt_state st)
{
	switch (st) {
	case PL_RCPT_DELIVERED: return UI_C_delivered;
	case PL_RCPT_DEFERRED: return UI_C_deferred;
	case PL_RCPT_FAILED:
	case PL_RCPT_BOUNCED: return UI_C_bounced;
	default: return UI_C_queued;
	}
}

/* 1 when one of the addresses in a From field is an account's. */
static int
from_me(const struct pl_config *c, const char *from)
{
	struct pl_addrlist l = { 0 };
	struct pl_err e;
	int mine = 0;

	if (from == NULL || pl_addr_parse_list(from, &l, &e) < 0)
		return 0;
	for (size_t i = 0; i < l.n && !mine; i++)
		mine = pl_config_find_address(c, l.v[i].mailbox) != NULL;
	pl_addrlist_free(&l);
	return mine;
}

/* For mail the user sent: each recipient's fate from the queue (entries
 * and the last 7 days of done/), the line the outbox shows. */
static void
find_delivery(struct ui *u, struct pager *p)
{
	struct pl_outbox_msg *m = NULL;
	struct pl_err e;
	size_t n = 0;
	int64_t now = pl_now();

	if (p->r.message_id == NULL || !from_me(u->cfg, p->r.from))
		return;
	if (pl_outbox_load(pl_queue_dir(), now - 7 * 86400, &m, &n, &e) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct pl_envelope *env = &m[i].env;

		if (env->message_id == NULL || strcmp(env->message_id, p->r.message_id))
			continue;
		p->dlines = xcalloc(env->nrcpt, sizeof *p->dlines);
		p->dcolor = xcalloc(env->nrcpt, sizeof *p->dcolor);
		for (size_t k = 0; k < env->nrcpt; k++) {
			struct buf b = { 0 };

			buf_printf(&b, "Delivery: <%s> ", env->rcpt[k].addr);
			pl_outbox_rcpt_line(&env->rcpt[k], m[i].tls ? m[i].tls[k] : NULL, now, &b);
			p->dcolor[k] = state_color(env->rcpt[k].state);
			p->dlines[k] = buf_steal(&b);
		}
		p->ndlines = env->nrcpt;
		break;
	}
	pl_outbox_free(m, n);
}

/* A delivery report: the mail it is about (pl_mime_report_about). */
static void
find_about(struct pager *p)
{
	p->about = pl_mime_report_about(&p->r);
}

static int
is_report(const struct pl_tmsg *m)
{
	for (char **t = m->tags; t && *t; t++)
		if (!strcmp(*t, "bounce"))
			return 1;
	return 0;
}

/* The session's DKIM verifier (the Auth line of mail that came without
 * the provider's results): made at the first message shown, kept until the
 * client ends, so that what it learnt is not asked again. */
static struct pl_dkimv *
dkim_verifier(struct ui *u)
{
	static struct pl_dkimv *v;
	static int failed;
	struct pl_err e;

	if (v == NULL && !failed && pl_dkimv_new(&v, u->cfg->dns_servers, &e) < 0) {
		failed = 1;
		ui_error(u, "DKIM is not verified: %s", e.msg);
	}
	return v;
}

static void
render(struct ui *u, struct pager *p)
{
	struct pl_render_opts o = { 0 };
	struct pl_err e;

	if (p->rendered)
		pl_rendered_free(&p->r);
	p->rendered = 0;
	p->first = 0;
	o.all_headers = p->all_headers;
	o.width = u->cols > 20 ? u->cols - 1 : 80;
	o.html_command = u->cfg->ui.html_command;
	o.dkim = dkim_verifier(u);
	memset(&p->r, 0, sizeof p->r);
	if (pl_mime_render(p->m[p->cur].path, &o, &p->r, &e) < 0) {
		static const char fail[] = "(this message cannot be read: see the message line)\n";
		ui_error(u, "%s", e.msg);
		memset(&p->r, 0, sizeof p->r);
		p->r.text = xstrdup(fail);
		p->r.len = sizeof fail - 1;
	}
	p->rendered = 1;
	clear_delivery(p);
	find_delivery(u, p);
	if (is_report(&p->m[p->cur]))
		find_about(p);
	layout(u, p);
}

static int
has_tag(char **tags, const char *t)
{
	for (; tags && *tags; tags++)
		if (!strcmp(*tags, t))
			return 1;
	return 0;
}

/* Reads the thread again (after a tag change the files have new names),
 * keeping the message shown. */
static int
reload(struct ui *u, struct pager *p)
{
	struct pl_tmsg *m;
	struct pl_err e;
	size_t n;
	char *keep = p->m ? xstrdup(p->m[p->cur].id) : NULL;

	if (pl_thread_messages(p->q, p->thread, &m, &n, &e) < 0) {
		ui_error(u, "%s", e.msg);
		free(keep);
		return -1;
	}
	pl_tmsgs_free(p->m, p->n);
	p->m = m;
	p->n = n;
	if (p->cur >= n)
		p->cur = n - 1;
	for (size_t i = 0; keep && i < n; i++)
		if (!strcmp(m[i].id, keep))
			p->cur = i;
	free(keep);
	return 0;
}

static void
show(struct ui *u, struct pager *p, size_t i)
{
	static const char *const unread[] = { "unread", NULL };
	struct pl_err e;

	p->cur = i;
	render(u, p);
	if (has_tag(p->m[i].tags, "unread")) {
		char *q = ui_query_id("id", p->m[i].id);
		if (pl_tag_query(u->cfg->maildir, q, NULL, unread, &e) < 0)
			ui_error(u, "%s", e.msg);
		else
			ui_db_changed(u);
		free(q);
	}
}

static void
pager_draw(struct ui *u, struct view *v)
{
	struct pager *p = (struct pager *)v;
	const struct pl_tmsg *m = &p->m[p->cur];
	char left[1200], right[64], tags[600] = "";
	size_t tl = 0;

	erase();
	snprintf(left, sizeof left, "%s", m->subject[0] ? m->subject : "(no subject)");
	snprintf(right, sizeof right, "message %zu of %zu", p->cur + 1, p->n);
	ui_title(u, left, right);
	for (int r = 0; r < u->body_rows && p->first + (size_t)r < p->nlines; r++) {
		const struct line *l = &p->lines[p->first + (size_t)r];
		attrset(ui_attr(l->c));
		ui_put(u->body_top + r, 0, l->s, u->cols, 0);
	}
	attrset(A_NORMAL);
	for (char **t = m->tags; t && *t && tl + 2 < sizeof tags; t++)
		tl += (size_t)snprintf(tags + tl, sizeof tags - tl, "%s%s", tl ? " " : "", *t);
	snprintf(left, sizeof left, "%s  [%s]", m->from, tags);
	if (p->nlines <= (size_t)u->body_rows)
		snprintf(right, sizeof right, "all");
	else
		snprintf(right, sizeof right, "%zu%%", (p->first + (size_t)u->body_rows) * 100 /
		    p->nlines > 100 ? 100 : (p->first + (size_t)u->body_rows) * 100 / p->nlines);
	ui_bar(u->rows - 2, UI_C_status, left, right);
}

static void
scroll_by(struct ui *u, struct pager *p, long d)
{
	long max = (long)p->nlines - u->body_rows, f = (long)p->first + d;

	if (max < 0)
		max = 0;
	if (f > max)
		f = max;
	if (f < 0)
		f = 0;
	p->first = (size_t)f;
}

static int
at_end(struct ui *u, struct pager *p)
{
	return p->first + (size_t)u->body_rows >= p->nlines;
}

static int
ask_attachment(struct ui *u, struct pager *p)
{
	char line[32];
	int n;

	if (p->r.natt == 0) {
		ui_status(u, "this message has no attachments");
		return -1;
	}
	if (p->r.natt == 1)
		return 0;
	snprintf(line, sizeof line, "attachment (1-%zu): ", p->r.natt);
	if (ui_prompt(u, line, NULL, line, sizeof line) < 0)
		return -1;
	n = atoi(line);
	if (n < 1 || (size_t)n > p->r.natt) {
		ui_error(u, "no attachment %s", line);
		return -1;
	}
	return n - 1;
}

/* A file name for an attachment: its own, without any directory part. */
static void
att_name(const struct pl_attachment *a, char *out, size_t len)
{
	const char *f = a->filename, *s;

	if (f && (s = strrchr(f, '/')) != NULL)
		f = s + 1;
	if (f == NULL || *f == '\0' || !strcmp(f, ".") || !strcmp(f, ".."))
		f = "attachment";
	snprintf(out, len, "%s", f);
}

static void
save_attachment(struct ui *u, struct pager *p)
{
	char name[512], dest[4096];
	struct pl_err e;
	char *d;
	int i;

	if ((i = ask_attachment(u, p)) < 0)
		return;
	att_name(&p->r.att[i], name, sizeof name);
	if (ui_prompt(u, "save to: ", name, dest, sizeof dest) < 0 || !*trim(dest))
		return;
	d = pl_expand_home(trim(dest));
	if (pl_mime_save(p->m[p->cur].path, p->r.att[i].id, d, &e) < 0)
		ui_error(u, "%s", e.msg);
	else
		ui_status(u, "saved %s", d);
	free(d);
}

static void
cleanup_tmp(void)
{
	if (tmpdir[0])
		pl_rmtree(tmpdir);
}

/* Saves the attachment in a private directory and hands it to
 * run-mailcap; the files stay until the client exits, for viewers that
 * return at once (a GUI program). */
static void
open_attachment(struct ui *u, struct pager *p)
{
	char path[4700], arg[5000], name[512], type[128];
	struct pl_err e;
	int i;

	if ((i = ask_attachment(u, p)) < 0)
		return;
	if (tmpdir[0] == '\0') {
		const char *t = getenv("TMPDIR");
		snprintf(tmpdir, sizeof tmpdir, "%s/paloma-ui-XXXXXX", t && *t ? t : "/tmp");
		if (mkdtemp(tmpdir) == NULL) {
			ui_error(u, "cannot make a directory in %s: %s", t && *t ? t : "/tmp",
			    strerror(errno));
			tmpdir[0] = '\0';
			return;
		}
		atexit(cleanup_tmp);
	}
	/* run-mailcap puts the file name (%s) and the type (%t) into a
	 * command line for the shell: both come from the message, so only
	 * plain characters are kept. */
	att_name(&p->r.att[i], name, sizeof name);
	for (char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
			*c = '_';
	if (name[0] == '-' || name[0] == '.')
		name[0] = '_';
	snprintf(type, sizeof type, "%s", p->r.att[i].type);
	if (strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789/.+-") != strlen(type) ||
	    strchr(type, '/') == NULL)
		snprintf(type, sizeof type, "application/octet-stream");
	snprintf(path, sizeof path, "%s/%d-%s", tmpdir, p->r.att[i].id, name);
	unlink(path);
	if (pl_mime_save(p->m[p->cur].path, p->r.att[i].id, path, &e) < 0) {
		ui_error(u, "%s", e.msg);
		return;
	}
	/* TYPE:FILE tells run-mailcap the type; no shell sees the name. */
	snprintf(arg, sizeof arg, "%s:%s", type, path);
	{
		char *argv[] = { "run-mailcap", "--action=view", arg, NULL };
		int st = ui_run(u, argv, 0);
		if (st > 0 && u->msg[0] == '\0')
			ui_error(u, "run-mailcap found no viewer for %s", type);
	}
}

static void
tag_message(struct ui *u, struct pager *p, const char *const *add, const char *const *del,
    const char *what)
{
	char *q = ui_query_id("id", p->m[p->cur].id);

	ui_tag(u, q, add, del, what);
	free(q);
}

static void
prompt_tags(struct ui *u, struct pager *p, int add)
{
	char line[512];
	char **w;

	if (ui_prompt(u, add ? "add tags: " : "remove tags: ", NULL, line, sizeof line) < 0)
		return;
	w = ui_split(line);
	if (w[0])
		tag_message(u, p, add ? (const char *const *)w : NULL,
		    add ? NULL : (const char *const *)w, add ? "tags added" : "tags removed");
	ui_free_words(w);
}

/* After archive or delete: the next message, or back to the list. */
static void
advance(struct ui *u, struct pager *p, size_t was)
{
	if (was + 1 < p->n)
		show(u, p, was + 1);
	else
		ui_pop(u);
}

static int
tag_action(struct ui *u, struct pager *p, enum ui_action a)
{
	static const char *const inbox[] = { "inbox", NULL }, *const deleted[] = { "deleted",
		NULL }, *const flagged[] = { "flagged", NULL }, *const unread[] = { "unread",
		NULL };
	size_t was = p->cur;

	switch (a) {
	case UI_A_tag_add: case UI_A_tag_remove:
		prompt_tags(u, p, a == UI_A_tag_add);
		return 1;
	case UI_A_archive:
		tag_message(u, p, NULL, inbox, "archived");
		advance(u, p, was);
		return 1;
	case UI_A_delete:
		tag_message(u, p, deleted, inbox, "deleted");
		advance(u, p, was);
		return 1;
	case UI_A_flag:
		if (has_tag(p->m[p->cur].tags, "flagged"))
			tag_message(u, p, NULL, flagged, "unflagged");
		else
			tag_message(u, p, flagged, NULL, "flagged");
		return 1;
	case UI_A_toggle_unread:
		if (has_tag(p->m[p->cur].tags, "unread"))
			tag_message(u, p, NULL, unread, "marked read");
		else
			tag_message(u, p, unread, NULL, "marked unread");
		return 1;
	default:
		return 0;
	}
}

static int
pager_action(struct ui *u, struct view *v, enum ui_action a)
{
	struct pager *p = (struct pager *)v;
	long page = u->body_rows > 1 ? u->body_rows - 1 : 1;

	switch (a) {
	case UI_A_down: scroll_by(u, p, 1); return 1;
	case UI_A_up: scroll_by(u, p, -1); return 1;
	case UI_A_page_down:
		if (at_end(u, p)) {
			if (p->cur + 1 < p->n)
				show(u, p, p->cur + 1);
			else
				ui_status(u, "end of the thread");
		} else {
			scroll_by(u, p, page);
		}
		return 1;
	case UI_A_page_up: scroll_by(u, p, -page); return 1;
	case UI_A_half_down: scroll_by(u, p, page / 2 + 1); return 1;
	case UI_A_half_up: scroll_by(u, p, -(page / 2 + 1)); return 1;
	case UI_A_top: p->first = 0; return 1;
	case UI_A_bottom: scroll_by(u, p, (long)p->nlines); return 1;
	case UI_A_next_message:
		if (p->cur + 1 < p->n)
			show(u, p, p->cur + 1);
		else
			ui_status(u, "last message of the thread");
		return 1;
	case UI_A_prev_message:
		if (p->cur > 0)
			show(u, p, p->cur - 1);
		else
			ui_status(u, "first message of the thread");
		return 1;
	case UI_A_next_unread:
		for (size_t i = p->cur + 1; i < p->n; i++)
			if (has_tag(p->m[i].tags, "unread")) {
				show(u, p, i);
				return 1;
			}
		ui_status(u, "no unread message below");
		return 1;
	case UI_A_headers:
		p->all_headers = !p->all_headers;
		render(u, p);
		return 1;
	case UI_A_original:
		if (p->about == NULL) {
			ui_status(u, "this message is not a report about another one");
			return 1;
		} else {
			/* id: takes the Message-ID without its angle brackets. */
			char *id = xstrndup(p->about + 1, strlen(p->about) - 2);
			char *q = ui_query_id("id", id);

			ui_index_open(u, q);
			free(q);
			free(id);
		}
		return 1;
	case UI_A_save_attachment: save_attachment(u, p); return 1;
	case UI_A_open_attachment: open_attachment(u, p); return 1;
	case UI_A_reply: ui_compose(u, COMPOSE_REPLY, p->m[p->cur].path); return 1;
	case UI_A_reply_all: ui_compose(u, COMPOSE_REPLY_ALL, p->m[p->cur].path); return 1;
	case UI_A_forward: ui_compose(u, COMPOSE_FORWARD, p->m[p->cur].path); return 1;
	default:
		return tag_action(u, p, a);
	}
}

static void
pager_resize(struct ui *u, struct view *v)
{
	struct pager *p = (struct pager *)v;
	size_t keep = p->first;

	getmaxyx(stdscr, u->rows, u->cols);
	u->body_rows = u->rows > 3 ? u->rows - 3 : 0;
	layout(u, p);
	p->first = keep;
	scroll_by(u, p, 0);
}

static void
pager_refresh(struct ui *u, struct view *v)
{
	reload(u, (struct pager *)v);
}

static void
pager_close(struct ui *u, struct view *v)
{
	struct pager *p = (struct pager *)v;

	(void)u;
	if (p->rendered)
		pl_rendered_free(&p->r);
	clear_lines(p);
	clear_delivery(p);
	pl_tmsgs_free(p->m, p->n);
	free(p->thread);
	free(p);
}

int
ui_pager_open(struct ui *u, struct pl_query *q, const char *thread_id)
{
	struct pager *p = xcalloc(1, sizeof *p);
	static int keys_set;
	size_t first = 0;

	if (!keys_set) {
		ui_keys_defaults("pager", pager_keys);
		keys_set = 1;
	}
	p->q = q;
	p->thread = xstrdup(thread_id);
	if (reload(u, p) < 0) {
		free(p->thread);
		free(p);
		return -1;
	}
	p->v.name = "pager";
	p->v.draw = pager_draw;
	p->v.action = pager_action;
	p->v.resize = pager_resize;
	p->v.db_changed = pager_refresh;
	p->v.close = pager_close;
	ui_push(u, &p->v);
	/* The first unread matching message, else the first matching one. */
	for (size_t i = p->n; i-- > 0;)
		if (p->m[i].matched && !has_tag(p->m[i].tags, "unread"))
			first = i;
	for (size_t i = p->n; i-- > 0;)
		if (p->m[i].matched && has_tag(p->m[i].tags, "unread"))
			first = i;
	show(u, p, first);
	return 0;
}
