/* index.c — the thread list of a notmuch query, newest first.
 *
 * Drawing asks threads.c only for the rows on screen plus one screen
 * ahead, so the first screen of a query of 100,000 messages costs what a
 * screenful costs.  One row: date, authors, message count (matched/total
 * when they differ), subject, and the tags other than the usual ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"

struct index {
	struct view v;
	struct pl_query *q;	/* NULL when the query could not be opened */
	char *query;
	size_t sel, first;
	size_t nmsgs;		/* messages matching */
	char note[600];		/* why the list is empty */
};

/* Tags every row would show: left out to keep rows quiet. */
static const char *const quiet_tags[] = { "inbox", "unread", "attachment", NULL };

static const struct ui_keydef index_keys[] = {
	{ "+", UI_A_tag_add }, { "-", UI_A_tag_remove }, { "a", UI_A_archive },
	{ "d", UI_A_delete }, { "F", UI_A_flag }, { "N", UI_A_toggle_unread },
	{ "u", UI_A_undo }, { "r", UI_A_reply }, { "g", UI_A_reply_all },
	{ "R", UI_A_reply_all }, { "f", UI_A_forward }, { "Tab", UI_A_next_unread },
	{ "Right", UI_A_open }, { "Left", UI_A_back }, { NULL, UI_A_none },
};

static int
quiet(const char *t)
{
	for (int i = 0; quiet_tags[i]; i++)
		if (!strcmp(quiet_tags[i], t))
			return 1;
	return 0;
}

static void
draw_row(struct ui *u, int y, const struct pl_thread *t, int selected)
{
	char date[32], count[32];
	struct buf tags = { 0 };
	attr_t base = selected ? ui_attr(UI_C_selected) : A_NORMAL;
	int x = 0, cols = u->cols, w, tw;

	if (t->unread)
		base |= ui_attr(UI_C_unread);
	ui_date(t->newest, date, sizeof date);
	if (t->matched != t->total)
		snprintf(count, sizeof count, "(%d/%d)", t->matched, t->total);
	else
		snprintf(count, sizeof count, "(%d)", t->total);
	for (char **p = t->tags; p && *p; p++)
		if (!quiet(*p))
			buf_printf(&tags, "%s%s", tags.len ? " " : "", *p);

	attrset(base | (selected ? 0 : ui_attr(UI_C_date)));
	x += ui_put(y, x, date, 10, 1);
	attrset(base);
	x += ui_put(y, x, " ", 1, 1);
	w = cols >= 60 ? 20 : cols / 4;
	attrset(base | (selected ? 0 : ui_attr(UI_C_authors)));
	x += ui_put(y, x, t->authors, w, 1);
	attrset(base);
	x += ui_put(y, x, " ", 1, 1);
	attrset(base | (selected ? 0 : ui_attr(UI_C_count)));
	x += ui_put(y, x, count, 8, 1);
	/* The subject gets what is left, the tags at most a third of it. */
	tw = tags.len ? ui_width(tags.p) + 1 : 0;
	if (tw > (cols - x) / 3)
		tw = (cols - x) / 3;
	attrset(base | (selected ? 0 : ui_attr(UI_C_subject)));
	w = ui_put(y, x, t->subject[0] ? t->subject : "(no subject)", cols - x - tw, 0);
	x += w;
	if (tw > 1) {
		attrset(base);
		x += ui_put(y, x, " ", 1, 1);
		attrset(base | (selected ? 0 : ui_attr(UI_C_tags)));
		x += ui_put(y, x, tags.p, tw - 1, 0);
	}
	attrset(base);
	if (x < cols)
		ui_put(y, x, "", cols - x, 1);
	attrset(A_NORMAL);
	buf_free(&tags);
}

static void
index_draw(struct ui *u, struct view *v)
{
	struct index *ix = (struct index *)v;
	char left[1200], right[128];
	size_t loaded = 0;
	int complete = 1;

	erase();
	snprintf(left, sizeof left, "paloma: %s", ix->query);
	ui_title(u, left, "?:help  /:search  S:searches  $:sync");
	if (ix->q) {
		/* What is on screen, and a screen ahead for the next page. */
		pl_threads_get(ix->q, ix->first + 2 * (size_t)u->body_rows);
		if (ix->sel >= ix->first + (size_t)u->body_rows)
			ix->first = ix->sel - (size_t)u->body_rows + 1;
		if (ix->sel < ix->first)
			ix->first = ix->sel;
		for (int r = 0; r < u->body_rows; r++) {
			const struct pl_thread *t = pl_threads_get(ix->q, ix->first + (size_t)r);
			if (t == NULL)
				break;
			draw_row(u, u->body_top + r, t, ix->first + (size_t)r == ix->sel);
		}
		loaded = pl_threads_loaded(ix->q, &complete);
	}
	if (loaded == 0) {
		attrset(ui_attr(UI_C_note));
		ui_put(u->body_top + 1, 2, ix->note[0] ? ix->note : "No messages match this query.",
		    u->cols - 4, 0);
		attrset(A_NORMAL);
	}
	if (loaded)
		snprintf(left, sizeof left, "thread %zu of %zu%s  (%zu message%s)", ix->sel + 1,
		    loaded, complete ? "" : "+", ix->nmsgs, ix->nmsgs == 1 ? "" : "s");
	else
		snprintf(left, sizeof left, "no threads");
	snprintf(right, sizeof right, "%s", u->sync_pid > 0 ? "syncing…" : "");
	ui_bar(u->rows - 2, UI_C_status, left, right);
}

static const struct pl_thread *
selected(struct index *ix)
{
	return ix->q ? pl_threads_get(ix->q, ix->sel) : NULL;
}

static void
move_sel(struct ui *u, struct index *ix, long d)
{
	long s = (long)ix->sel + d;

	if (s < 0)
		s = 0;
	if (ix->q == NULL)
		return;
	/* Past the end: the last thread that exists. */
	if (pl_threads_get(ix->q, (size_t)s) == NULL) {
		size_t n = pl_threads_loaded(ix->q, NULL);
		s = n ? (long)n - 1 : 0;
	}
	ix->sel = (size_t)s;
	(void)u;
}

/* The newest matching message of the selected thread, for a reply. */
static char *
newest_path(struct ui *u, struct index *ix, const struct pl_thread *t)
{
	struct pl_tmsg *m;
	struct pl_err e;
	size_t n, best = 0;
	char *p;

	if (pl_thread_messages(ix->q, t->id, &m, &n, &e) < 0) {
		ui_error(u, "%s", e.msg);
		return NULL;
	}
	for (size_t i = 1; i < n; i++)
		if ((m[i].matched && !m[best].matched) ||
		    (m[i].matched == m[best].matched && m[i].date >= m[best].date))
			best = i;
	p = xstrdup(m[best].path);
	pl_tmsgs_free(m, n);
	return p;
}

static void
tag_thread(struct ui *u, const struct pl_thread *t, const char *const *add,
    const char *const *del, const char *what)
{
	char *q = ui_query_id("thread", t->id);

	ui_tag(u, q, add, del, what);
	free(q);
}

static int
has_tag(const struct pl_thread *t, const char *tag)
{
	for (char **p = t->tags; p && *p; p++)
		if (!strcmp(*p, tag))
			return 1;
	return 0;
}

static void
prompt_tags(struct ui *u, const struct pl_thread *t, int add)
{
	char line[512];
	char **w;

	if (ui_prompt(u, add ? "add tags: " : "remove tags: ", NULL, line, sizeof line) < 0)
		return;
	w = ui_split(line);
	if (w[0])
		tag_thread(u, t, add ? (const char *const *)w : NULL,
		    add ? NULL : (const char *const *)w, add ? "tags added" : "tags removed");
	ui_free_words(w);
}

static int
thread_action(struct ui *u, struct index *ix, enum ui_action a)
{
	const struct pl_thread *t = selected(ix);
	static const char *const inbox[] = { "inbox", NULL }, *const deleted[] = { "deleted",
		NULL }, *const flagged[] = { "flagged", NULL }, *const unread[] = { "unread",
		NULL };
	enum compose_kind kind = COMPOSE_REPLY;
	char *path;

	switch (a) {
	case UI_A_open: case UI_A_tag_add: case UI_A_tag_remove: case UI_A_archive:
	case UI_A_delete: case UI_A_flag: case UI_A_toggle_unread: case UI_A_reply:
	case UI_A_reply_all: case UI_A_forward:
		break;
	default:
		return 0;
	}
	if (t == NULL) {
		ui_status(u, "no thread selected");
		return 1;
	}
	switch (a) {
	case UI_A_open:
		ui_pager_open(u, ix->q, t->id);
		return 1;
	case UI_A_tag_add: case UI_A_tag_remove:
		prompt_tags(u, t, a == UI_A_tag_add);
		return 1;
	case UI_A_archive:
		tag_thread(u, t, NULL, inbox, "archived");
		return 1;
	case UI_A_delete:
		tag_thread(u, t, deleted, inbox, "deleted");
		return 1;
	case UI_A_flag:
		if (has_tag(t, "flagged"))
			tag_thread(u, t, NULL, flagged, "unflagged");
		else
			tag_thread(u, t, flagged, NULL, "flagged");
		return 1;
	case UI_A_toggle_unread:
		if (t->unread)
			tag_thread(u, t, NULL, unread, "marked read");
		else
			tag_thread(u, t, unread, NULL, "marked unread");
		return 1;
	case UI_A_reply_all: case UI_A_forward:
		kind = a == UI_A_forward ? COMPOSE_FORWARD : COMPOSE_REPLY_ALL;
		/* FALLTHROUGH */
	case UI_A_reply:
		if ((path = newest_path(u, ix, t)) != NULL) {
			ui_compose(u, kind, path);
			free(path);
		}
		return 1;
	default:
		return 0;
	}
}

static int
index_action(struct ui *u, struct view *v, enum ui_action a)
{
	struct index *ix = (struct index *)v;
	long page = u->body_rows > 1 ? u->body_rows - 1 : 1;

	switch (a) {
	case UI_A_down: move_sel(u, ix, 1); return 1;
	case UI_A_up: move_sel(u, ix, -1); return 1;
	case UI_A_page_down: ix->first += (size_t)page; move_sel(u, ix, page); return 1;
	case UI_A_page_up:
		ix->first = ix->first > (size_t)page ? ix->first - (size_t)page : 0;
		move_sel(u, ix, -page);
		return 1;
	case UI_A_half_down: move_sel(u, ix, page / 2 + 1); return 1;
	case UI_A_half_up: move_sel(u, ix, -(page / 2 + 1)); return 1;
	case UI_A_top: ix->sel = ix->first = 0; return 1;
	case UI_A_bottom:
		/* Loads the whole query: the user asked for its end. */
		move_sel(u, ix, 1L << 40);
		return 1;
	case UI_A_next_unread:
		for (size_t i = ix->sel + 1; ix->q; i++) {
			const struct pl_thread *t = pl_threads_get(ix->q, i);
			if (t == NULL) {
				ui_status(u, "no unread thread below");
				break;
			}
			if (t->unread) {
				ix->sel = i;
				break;
			}
		}
		return 1;
	default:
		return thread_action(u, ix, a);
	}
}

static void
index_refresh(struct ui *u, struct view *v)
{
	struct index *ix = (struct index *)v;
	const struct pl_thread *t;
	char *keep = NULL;
	struct pl_err e;
	size_t old = ix->sel, limit;

	if ((t = selected(ix)) != NULL)
		keep = xstrdup(t->id);
	if (ix->q == NULL) {
		if (pl_threads_open(u->cfg->maildir, ix->query, &ix->q, &e) < 0) {
			snprintf(ix->note, sizeof ix->note, "%s", e.msg);
			free(keep);
			return;
		}
	} else if (pl_threads_refresh(ix->q, &e) < 0) {
		snprintf(ix->note, sizeof ix->note, "%s", e.msg);
		pl_threads_close(ix->q);
		ix->q = NULL;
		free(keep);
		return;
	}
	ix->note[0] = '\0';
	ix->nmsgs = pl_threads_count_messages(ix->q);
	/* The same thread stays selected if it is still near where it was
	 * (new mail pushes it down); otherwise the same row. */
	limit = old + 2 * (size_t)(u->body_rows > 0 ? u->body_rows : 20) + 50;
	ix->sel = old;
	for (size_t i = 0; keep && i < limit; i++) {
		if ((t = pl_threads_get(ix->q, i)) == NULL)
			break;
		if (!strcmp(t->id, keep)) {
			ix->sel = i;
			break;
		}
	}
	free(keep);
	if (pl_threads_get(ix->q, ix->sel) == NULL) {
		size_t n = pl_threads_loaded(ix->q, NULL);
		ix->sel = n ? n - 1 : 0;
	}
}

static void
index_close(struct ui *u, struct view *v)
{
	struct index *ix = (struct index *)v;

	(void)u;
	pl_threads_close(ix->q);
	free(ix->query);
	free(ix);
}

int
ui_index_open(struct ui *u, const char *query)
{
	struct index *ix;
	struct pl_query *q = NULL;
	struct pl_err e;
	static int keys_set;

	if (!keys_set) {
		ui_keys_defaults("index", index_keys);
		keys_set = 1;
	}
	if (pl_threads_open(u->cfg->maildir, query, &q, &e) < 0 && u->top != NULL) {
		/* A search that fails stays on the message line; the first
		 * list opens anyway, with the reason in it. */
		ui_error(u, "%s", e.msg);
		return -1;
	}
	ix = xcalloc(1, sizeof *ix);
	ix->v.name = "index";
	ix->v.draw = index_draw;
	ix->v.action = index_action;
	ix->v.db_changed = index_refresh;
	ix->v.close = index_close;
	ix->q = q;
	ix->query = xstrdup(query);
	if (q)
		ix->nmsgs = pl_threads_count_messages(q);
	else
		snprintf(ix->note, sizeof ix->note, "%s", e.msg);
	ui_push(u, &ix->v);
	return 0;
}
