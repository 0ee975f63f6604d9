/* keys.c — key bindings: names, the default tables, the config's
 * bind.VIEW.KEY = ACTION, and the `?` screen that lists them.
 *
 * Lookup order for a key in a view: the config's binding for that view,
 * the view's default, the config's "global" binding, the global default.
 * Binding a key to "none" in the config hides a default. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"

#define ACTION_NAME(n) #n,
static const char *const action_names[] = { "none", PL_UI_ACTIONS(ACTION_NAME) NULL };

struct binding {
	char view[16];
	int key;
	enum ui_action action;
	int config;		/* from the config file (wins over defaults) */
};

static struct binding *binds;
static size_t nbinds;

static const struct {
	const char *name;
	int code;
} named[] = {
	{ "Enter", '\n' }, { "Space", ' ' }, { "Tab", '\t' }, { "Esc", 27 },
	{ "Backspace", KEY_BACKSPACE }, { "Up", KEY_UP }, { "Down", KEY_DOWN },
	{ "Left", KEY_LEFT }, { "Right", KEY_RIGHT }, { "PgUp", KEY_PPAGE },
	{ "PgDn", KEY_NPAGE }, { "Home", KEY_HOME }, { "End", KEY_END },
	{ "Delete", KEY_DC }, { "Insert", KEY_IC }, { "equal", '=' },
};

const char *
ui_action_name(enum ui_action a)
{
	return a < UI_A_COUNT ? action_names[a] : "?";
}

static enum ui_action
action_code(const char *name)
{
	for (int i = 0; action_names[i]; i++)
		if (!strcmp(action_names[i], name))
			return (enum ui_action)i;
	return UI_A_none;
}

int
ui_key_code(const char *k)
{
	if (!pl_ui_key_valid(k))
		return -1;
	if (k[1] == '\0')
		return (unsigned char)k[0];
	if (k[0] == '^' && k[2] == '\0')
		return (k[1] & 0x1f);
	if (k[0] == 'F' && k[1] >= '0' && k[1] <= '9')
		return KEY_F(atoi(k + 1));
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
		if (!strcmp(named[i].name, k))
			return named[i].code;
	return -1;
}

void
ui_key_name(int ch, char *out, size_t len)
{
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
		if (named[i].code == ch && ch != '=') {
			snprintf(out, len, "%s", named[i].name);
			return;
		}
	if (ch == '\r')
		snprintf(out, len, "Enter");
	else if (ch >= KEY_F(1) && ch <= KEY_F(12))
		snprintf(out, len, "F%d", ch - KEY_F(0));
	else if (ch > 0 && ch < 32)
		snprintf(out, len, "^%c", ch + '@');
	else if (ch > 32 && ch < 127)
		snprintf(out, len, "%c", ch);
	else
		snprintf(out, len, "#%d", ch);
}

static void
add(const char *view, int key, enum ui_action a, int config)
{
	/* A later binding of the same key (same view, same origin) replaces. */
	for (size_t i = 0; i < nbinds; i++)
		if (binds[i].key == key && binds[i].config == config &&
		    !strcmp(binds[i].view, view)) {
			binds[i].action = a;
			return;
		}
	binds = xrealloc(binds, (nbinds + 1) * sizeof *binds);
	snprintf(binds[nbinds].view, sizeof binds[nbinds].view, "%s", view);
	binds[nbinds].key = key;
	binds[nbinds].action = a;
	binds[nbinds].config = config;
	nbinds++;
}

static const struct ui_keydef global_defaults[] = {
	{ "Q", UI_A_quit }, { "q", UI_A_back }, { "?", UI_A_help }, { "j", UI_A_down },
	{ "Down", UI_A_down }, { "k", UI_A_up }, { "Up", UI_A_up }, { "Space", UI_A_page_down },
	{ "PgDn", UI_A_page_down }, { "PgUp", UI_A_page_up }, { "-", UI_A_page_up },
	{ "^D", UI_A_half_down }, { "^U", UI_A_half_up }, { "g", UI_A_top }, { "Home", UI_A_top },
	{ "G", UI_A_bottom }, { "End", UI_A_bottom }, { "Enter", UI_A_open },
	{ "equal", UI_A_refresh }, { "$", UI_A_sync }, { "^L", UI_A_redraw },
	{ "o", UI_A_outbox }, { "m", UI_A_compose }, { "/", UI_A_search },
	{ "S", UI_A_searches }, { NULL, UI_A_none },
};

int
ui_keys_init(const struct pl_ui *u, struct pl_err *e)
{
	ui_keys_defaults("global", global_defaults);
	for (size_t i = 0; u && i < u->nbinds; i++) {
		int k = ui_key_code(u->binds[i].key);

		if (k < 0)
			return pl_errf(e, EX_CONFIG, "line %d: bind.%s.%s: not a key name",
			    u->binds[i].line, u->binds[i].view, u->binds[i].key);
		add(u->binds[i].view, k, action_code(u->binds[i].action), 1);
	}
	return 0;
}

void
ui_keys_defaults(const char *view, const struct ui_keydef *defs)
{
	for (; defs->key; defs++) {
		int k = ui_key_code(defs->key);
		if (k >= 0)
			add(view, k, defs->action, 0);
	}
}

static const struct binding *
find(const char *view, int key, int config)
{
	for (size_t i = 0; i < nbinds; i++)
		if (binds[i].key == key && binds[i].config == config &&
		    !strcmp(binds[i].view, view))
			return &binds[i];
	return NULL;
}

enum ui_action
ui_keys_lookup(const char *view, int ch)
{
	const struct binding *b;

	if (ch == '\r' || ch == KEY_ENTER)
		ch = '\n';
	if (ch == 127 || ch == 8)
		ch = KEY_BACKSPACE;
	if ((b = find(view, ch, 1)) || (b = find(view, ch, 0)) ||
	    (b = find("global", ch, 1)) || (b = find("global", ch, 0)))
		return b->action;
	return UI_A_none;
}

/* ---- the `?` view ------------------------------------------------------ */

struct help {
	struct view v;
	char **lines;
	size_t n;
	int first;
};

static void
help_line(struct help *h, const char *fmt, const char *a, const char *b)
{
	char line[256];

	snprintf(line, sizeof line, fmt, a, b);
	h->lines = xrealloc(h->lines, (h->n + 1) * sizeof *h->lines);
	h->lines[h->n++] = xstrdup(line);
}

/* The effective binding of each key seen in view or global, once. */
static void
help_fill(struct help *h, const char *view)
{
	int *seen = NULL;
	size_t nseen = 0;

	for (int pass = 0; pass < 2; pass++) {
		const char *src = pass == 0 ? view : "global";

		help_line(h, pass == 0 ? "  Keys of the %s view%s" : "  Everywhere%s%s",
		    pass == 0 ? view : "", ":");
		for (size_t i = 0; i < nbinds; i++) {
			char name[32];
			enum ui_action a;
			size_t j;

			if (strcmp(binds[i].view, src))
				continue;
			for (j = 0; j < nseen && seen[j] != binds[i].key; j++)
				;
			if (j < nseen)
				continue;
			seen = xrealloc(seen, (nseen + 1) * sizeof *seen);
			seen[nseen++] = binds[i].key;
			a = ui_keys_lookup(view, binds[i].key);
			if (a == UI_A_none)
				continue;
			ui_key_name(binds[i].key, name, sizeof name);
			help_line(h, "    %-10s %s", name, ui_action_name(a));
		}
		help_line(h, "%s%s", "", "");
	}
	free(seen);
}

static void
help_draw(struct ui *u, struct view *v)
{
	struct help *h = (struct help *)v;
	char right[64];

	erase();
	ui_title(u, "paloma: key bindings (q: back)", NULL);
	for (int r = 0; r < u->body_rows && (size_t)(h->first + r) < h->n; r++)
		ui_put(u->body_top + r, 0, h->lines[h->first + r], u->cols, 1);
	snprintf(right, sizeof right, "%d/%zu", h->first + 1, h->n);
	ui_bar(u->rows - 2, UI_C_status, "", right);
}

static int
help_action(struct ui *u, struct view *v, enum ui_action a)
{
	struct help *h = (struct help *)v;
	int max = (int)h->n - u->body_rows;

	if (max < 0)
		max = 0;
	switch (a) {
	case UI_A_down: h->first++; break;
	case UI_A_up: h->first--; break;
	case UI_A_page_down: case UI_A_half_down: h->first += u->body_rows - 1; break;
	case UI_A_page_up: case UI_A_half_up: h->first -= u->body_rows - 1; break;
	case UI_A_top: h->first = 0; break;
	case UI_A_bottom: h->first = max; break;
	case UI_A_open: case UI_A_help: ui_pop(u); return 1;
	default: return 0;
	}
	if (h->first > max)
		h->first = max;
	if (h->first < 0)
		h->first = 0;
	return 1;
}

static void
help_close(struct ui *u, struct view *v)
{
	struct help *h = (struct help *)v;

	(void)u;
	for (size_t i = 0; i < h->n; i++)
		free(h->lines[i]);
	free(h->lines);
	free(h);
}

void
ui_help_open(struct ui *u, const char *view)
{
	struct help *h = xcalloc(1, sizeof *h);

	h->v.name = "help";
	h->v.draw = help_draw;
	h->v.action = help_action;
	h->v.close = help_close;
	help_fill(h, view);
	ui_push(u, &h->v);
}
