/* searches.c — the saved searches (search.NAME = QUERY in [ui]) with how
 * many messages each has and how many are unread; Enter opens one.
 * Without any in the config, a few usual ones stand in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"

struct entry {
	char *name, *query;
	long total, unread;	/* -1: the query failed */
};

struct searches {
	struct view v;
	struct entry *e;
	size_t n, sel;
};

static const struct pl_ui_search fallback[] = {
	{ "Inbox", "tag:inbox" }, { "Unread", "tag:unread" }, { "Flagged", "tag:flagged" },
	{ "Sent", "tag:sent" }, { "Drafts", "tag:draft" }, { "All mail", "*" },
};

static const struct ui_keydef searches_keys[] = {
	{ "Right", UI_A_open }, { "Left", UI_A_back }, { NULL, UI_A_none },
};

static void
count(struct ui *u, struct searches *s)
{
	struct pl_err e;

	for (size_t i = 0; i < s->n; i++) {
		struct buf q = { 0 };

		s->e[i].total = pl_count_messages(u->cfg->maildir, s->e[i].query, &e);
		buf_printf(&q, "(%s) and tag:unread", s->e[i].query);
		s->e[i].unread = s->e[i].total < 0 ? -1 :
		    pl_count_messages(u->cfg->maildir, !strcmp(s->e[i].query, "*") ? "tag:unread" :
		    q.p, &e);
		buf_free(&q);
	}
}

static void
searches_draw(struct ui *u, struct view *v)
{
	struct searches *s = (struct searches *)v;
	int namew = 8;

	erase();
	ui_title(u, "paloma: saved searches (Enter: open, q: back)", NULL);
	for (size_t i = 0; i < s->n; i++)
		if (ui_width(s->e[i].name) > namew)
			namew = ui_width(s->e[i].name);
	if (namew > u->cols / 3)
		namew = u->cols / 3;
	for (int r = 0; r < u->body_rows && (size_t)r < s->n; r++) {
		const struct entry *e = &s->e[r];
		attr_t a = (size_t)r == s->sel ? ui_attr(UI_C_selected) : A_NORMAL;
		char counts[64];
		int x = 0;

		if (e->unread > 0)
			a |= ui_attr(UI_C_unread);
		if (e->total < 0)
			snprintf(counts, sizeof counts, "%14s", "(bad query)");
		else
			snprintf(counts, sizeof counts, "%6ld unread %7ld", e->unread, e->total);
		attrset(a);
		x += ui_put(u->body_top + r, x, "  ", 2, 1);
		x += ui_put(u->body_top + r, x, e->name, namew, 1);
		x += ui_put(u->body_top + r, x, counts, 23, 1);
		x += ui_put(u->body_top + r, x, "  ", 2, 1);
		attrset(a | ((size_t)r == s->sel ? 0 : ui_attr(UI_C_note)));
		ui_put(u->body_top + r, x, e->query, u->cols - x, 1);
		attrset(A_NORMAL);
	}
	ui_bar(u->rows - 2, UI_C_status, "saved searches: search.NAME = QUERY in [ui]", NULL);
}

static int
searches_action(struct ui *u, struct view *v, enum ui_action a)
{
	struct searches *s = (struct searches *)v;

	switch (a) {
	case UI_A_down: if (s->sel + 1 < s->n) s->sel++; return 1;
	case UI_A_up: if (s->sel > 0) s->sel--; return 1;
	case UI_A_top: case UI_A_page_up: s->sel = 0; return 1;
	case UI_A_bottom: case UI_A_page_down: s->sel = s->n ? s->n - 1 : 0; return 1;
	case UI_A_searches: ui_pop(u); return 1;
	case UI_A_open:
		if (s->n)
			ui_index_open(u, s->e[s->sel].query);
		return 1;
	default:
		return 0;
	}
}

static void
searches_refresh(struct ui *u, struct view *v)
{
	count(u, (struct searches *)v);
}

static void
searches_close(struct ui *u, struct view *v)
{
	struct searches *s = (struct searches *)v;

	(void)u;
	for (size_t i = 0; i < s->n; i++) {
		free(s->e[i].name);
		free(s->e[i].query);
	}
	free(s->e);
	free(s);
}

void
ui_searches_open(struct ui *u)
{
	const struct pl_ui_search *src = u->cfg->ui.searches;
	size_t n = u->cfg->ui.nsearches;
	struct searches *s = xcalloc(1, sizeof *s);
	static int keys_set;

	if (!keys_set) {
		ui_keys_defaults("searches", searches_keys);
		keys_set = 1;
	}
	if (n == 0) {
		src = fallback;
		n = sizeof fallback / sizeof fallback[0];
	}
	s->e = xcalloc(n, sizeof *s->e);
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		s->e[i].name = xstrdup(src[i].name);
		s->e[i].query = xstrdup(src[i].query);
	}
	count(u, s);
	s->v.name = "searches";
	s->v.draw = searches_draw;
	s->v.action = searches_action;
	s->v.db_changed = searches_refresh;
	s->v.close = searches_close;
	ui_push(u, &s->v);
}
