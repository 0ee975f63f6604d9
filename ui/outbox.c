/* outbox.c — the outbox view: queued and recent messages (7 days), each
 * with what became of every recipient.  R retries now (`paloma queue
 * flush`: the daemon's flush, or the queue's own when no daemon runs), C
 * cancels the selected recipient, Enter shows or hides the delivery history
 * of the selected message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "mime.h"
#include "outbox.h"
#include "queue.h"
#include "ui.h"

#define RECENT (7 * 24 * 3600)

/* One screen line: a message's heading, a recipient, or a history line. */
struct oline {
	size_t msg;
	long rcpt;		/* -1 for the heading */
	long hist;		/* -1 unless a history line */
};

struct oview {
	struct view v;
	struct pl_outbox_msg *m;
	size_t nm;
	struct oline *l;
	size_t nl;
	size_t sel;		/* a line (headings and recipients are selectable) */
	size_t top;
	char *open_id;		/* the message whose history is shown */
};

static const struct ui_keydef outbox_keys[] = {
	{ "R", UI_A_retry }, { "C", UI_A_cancel }, { "Enter", UI_A_open },
	{ "j", UI_A_down }, { "k", UI_A_up }, { "Down", UI_A_down }, { "Up", UI_A_up },
	{ "q", UI_A_back }, { "PgDn", UI_A_page_down }, { "PgUp", UI_A_page_up },
	{ "$", UI_A_refresh },
	{ NULL, UI_A_none },
};

static void
add_line(struct oview *o, size_t msg, long rcpt, long hist)
{
	o->l = xrealloc(o->l, (o->nl + 1) * sizeof *o->l);
	o->l[o->nl].msg = msg;
	o->l[o->nl].rcpt = rcpt;
	o->l[o->nl].hist = hist;
	o->nl++;
}

static void
layout(struct oview *o)
{
	o->nl = 0;
	for (size_t i = 0; i < o->nm; i++) {
		const struct pl_envelope *env = &o->m[i].env;
		int open = o->open_id && strcmp(o->open_id, env->id) == 0;
		add_line(o, i, -1, -1);
		for (size_t j = 0; j < env->nrcpt; j++) {
			add_line(o, i, (long)j, -1);
			for (size_t h = 0; open && h < env->rcpt[j].nhistory; h++)
				add_line(o, i, (long)j, (long)h);
		}
	}
	if (o->sel >= o->nl)
		o->sel = o->nl ? o->nl - 1 : 0;
}

static void
load(struct ui *ui, struct oview *o)
{
	struct pl_err e;
	char *keep = NULL;
	long keep_rcpt = -1;

	if (o->sel < o->nl) {
		keep = xstrdup(o->m[o->l[o->sel].msg].env.id);
		keep_rcpt = o->l[o->sel].rcpt;
	}
	pl_outbox_free(o->m, o->nm);
	o->m = NULL;
	o->nm = 0;
	if (pl_outbox_load(pl_queue_dir(), pl_now() - RECENT, &o->m, &o->nm, &e) < 0)
		ui_error(ui, "%s", e.msg);
	layout(o);
	o->sel = 0;
	for (size_t i = 0; keep && i < o->nl; i++)
		if (strcmp(o->m[o->l[i].msg].env.id, keep) == 0 && o->l[i].rcpt == keep_rcpt &&
		    o->l[i].hist < 0) {
			o->sel = i;
			break;
		}
	free(keep);
}

static enum ui_color
state_color(enum pl_rcpt_state s)
{
	switch (s) {
	case PL_RCPT_QUEUED: return UI_C_queued;
	case PL_RCPT_DEFERRED: return UI_C_deferred;
	case PL_RCPT_DELIVERED: return UI_C_delivered;
	default: return UI_C_bounced;
	}
}

static void
draw(struct ui *ui, struct view *v)
{
	struct oview *o = (struct oview *)v;
	int64_t now = pl_now();
	size_t queued = 0;
	char right[64], left[128];

	erase();
	for (size_t i = 0; i < o->nm; i++)
		queued += !o->m[i].retired;
	snprintf(right, sizeof right, "%zu queued, %zu done (7 days)", queued, o->nm - queued);
	ui_title(ui, "Outbox", right);
	if (o->sel < o->top)
		o->top = o->sel;
	if (o->sel >= o->top + (size_t)ui->body_rows)
		o->top = o->sel - (size_t)ui->body_rows + 1;
	if (o->nm == 0)
		ui_put(ui->body_top, 0, "Nothing queued or sent in the last 7 days.", ui->cols, 0);
	for (int r = 0; r < ui->body_rows && o->top + (size_t)r < o->nl; r++) {
		size_t li = o->top + (size_t)r;
		const struct oline *l = &o->l[li];
		const struct pl_outbox_msg *m = &o->m[l->msg];
		struct buf b = { 0 };
		attr_t at;
		int y = ui->body_top + r;

		if (l->rcpt < 0) {
			char date[32];
			char *subj = m->subject ? pl_mime_decode_header(m->subject) : NULL;
			char *to = m->to ? pl_mime_decode_header(m->to) : NULL;
			ui_date((time_t)m->env.created, date, sizeof date);
			buf_printf(&b, "%-10s %s  →  %s", date,
			    subj ? subj : m->subject ? m->subject : "(no subject)",
			    to ? to : m->to ? m->to : "");
			free(subj);
			free(to);
			at = ui_attr(UI_C_subject) | A_BOLD;
		} else if (l->hist < 0) {
			const struct pl_rcpt *rc = &m->env.rcpt[l->rcpt];
			buf_printf(&b, "    <%s>  ", rc->addr);
			pl_outbox_rcpt_line(rc, m->tls ? m->tls[l->rcpt] : NULL, now, &b);
			at = ui_attr(state_color(rc->state));
		} else {
			buf_printf(&b, "        %s", m->env.rcpt[l->rcpt].history[l->hist]);
			at = ui_attr(UI_C_note);
		}
		if (li == o->sel)
			at = ui_attr(UI_C_selected);
		attron(at);
		ui_put(y, 0, b.p ? b.p : "", ui->cols, 1);
		attroff(at);
		buf_free(&b);
	}
	snprintf(left, sizeof left, "R:retry now  C:cancel recipient  Enter:history  q:back");
	ui_bar(ui->rows - 2, UI_C_status, left, "");
}

static void
step(struct oview *o, int dir, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		size_t s = o->sel;
		do {
			if (dir < 0 && s == 0)
				return;
			if (dir > 0 && s + 1 >= o->nl)
				return;
			s = dir < 0 ? s - 1 : s + 1;
		} while (o->l[s].hist >= 0);	/* history lines are not selectable */
		o->sel = s;
	}
}

static void
retry(struct ui *ui)
{
	static const char *const args[] = { "queue", "flush", NULL };
	struct buf out = { 0 };
	int st = pl_run_front(ui->config_path, args, -1, &out);
	char *s = out.p ? out.p : xstrdup("");

	s[strcspn(s, "\n")] = '\0';
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		ui_status(ui, "retry: %s", s);
	else
		ui_error(ui, "retry failed: %s", strncmp(s, "paloma: ", 8) ? s : s + 8);
	if (s != out.p)
		free(s);
	buf_free(&out);
}

static void
cancel(struct ui *ui, struct oview *o)
{
	const struct oline *l;
	const struct pl_outbox_msg *m;
	const struct pl_rcpt *r;
	char q[1200];
	struct pl_err e;

	if (o->sel >= o->nl || o->l[o->sel].rcpt < 0) {
		ui_error(ui, "select a recipient first (j/k)");
		return;
	}
	l = &o->l[o->sel];
	m = &o->m[l->msg];
	r = &m->env.rcpt[l->rcpt];
	if (PL_RCPT_FINAL(r->state)) {
		ui_error(ui, "<%s> is %s already", r->addr, pl_rcpt_state_name(r->state));
		return;
	}
	snprintf(q, sizeof q, "Cancel delivery to <%s>? ", r->addr);
	if (!ui_confirm(ui, q))
		return;
	if (pl_outbox_cancel(pl_queue_dir(), m->env.id, r->addr, &e) < 0) {
		ui_error(ui, "%s", e.msg);
		return;
	}
	ui_status(ui, "cancelled delivery to <%s>", r->addr);
	load(ui, o);
}

static int
action(struct ui *ui, struct view *v, enum ui_action a)
{
	struct oview *o = (struct oview *)v;

	switch (a) {
	case UI_A_up:
		step(o, -1, 1);
		return 1;
	case UI_A_down:
		step(o, 1, 1);
		return 1;
	case UI_A_page_up:
		step(o, -1, (size_t)ui->body_rows);
		return 1;
	case UI_A_page_down:
		step(o, 1, (size_t)ui->body_rows);
		return 1;
	case UI_A_refresh:
		load(ui, o);
		return 1;
	case UI_A_retry:
		retry(ui);
		load(ui, o);
		return 1;
	case UI_A_cancel:
		cancel(ui, o);
		return 1;
	case UI_A_open:
		if (o->sel < o->nl) {
			const char *id = o->m[o->l[o->sel].msg].env.id;
			int same = o->open_id && strcmp(o->open_id, id) == 0;
			free(o->open_id);
			o->open_id = same ? NULL : xstrdup(id);
			layout(o);
		}
		return 1;
	default:
		return 0;
	}
}

/* New mail or a sync: the queue may have moved too. */
static void
on_refresh(struct ui *ui, struct view *v)
{
	load(ui, (struct oview *)v);
}

static void
close_view(struct ui *ui, struct view *v)
{
	struct oview *o = (struct oview *)v;

	(void)ui;
	pl_outbox_free(o->m, o->nm);
	free(o->l);
	free(o->open_id);
	free(o);
}

void
ui_outbox_open(struct ui *ui)
{
	static int keys_set;
	struct oview *o = xcalloc(1, sizeof *o);

	if (!keys_set) {
		ui_keys_defaults("outbox", outbox_keys);
		keys_set = 1;
	}
	o->v.name = "outbox";
	o->v.draw = draw;
	o->v.action = action;
	o->v.db_changed = on_refresh;
	o->v.close = close_view;
	load(ui, o);
	ui_push(ui, &o->v);
}
