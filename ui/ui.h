/* ui.h — the terminal client's internal interface (for the files of ui/).
 *
 * The screen is a stack of views; the top one owns the body.  Layout:
 *
 *   row 0             the title bar (ui_title), drawn by the view
 *   rows 1 … rows-3   the view's body (ui->body_top, ui->body_rows)
 *   row rows-2        the status bar (ui_bar): view-specific counts
 *   row rows-1        the message line: ui_status / ui_error / prompts
 *
 * The main loop (main.c) reads a key, maps it through the bindings of the
 * top view (keys.c: bind.VIEW.KEY from the config, then the view's
 * defaults, then the "global" ones) to an action, and gives the action to
 * the view; a view that does not handle it lets the loop do the common
 * ones (quit, back, help, refresh, sync, outbox, compose).  Keys bound to
 * nothing go to the view's key() hook, if it has one, for raw input.
 *
 * Nothing here may print to stdout/stderr while curses runs: errors go to
 * the message line.  External programs run through ui_run(), which gives
 * them the terminal and takes it back. */
#ifndef PALOMA_UI_H
#define PALOMA_UI_H

#include <curses.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "threads.h"
#include "util.h"

#define UI_ACTION_ENUM(n) UI_A_##n,
enum ui_action {
	UI_A_none = 0,
	PL_UI_ACTIONS(UI_ACTION_ENUM)
	UI_A_COUNT
};
#define UI_COLOR_ENUM(n) UI_C_##n,
enum ui_color { PL_UI_COLORS(UI_COLOR_ENUM) UI_C_COUNT };

struct ui;

struct view {
	const char *name;	/* the bind.VIEW name: "index", "pager", "outbox"… */
	/* Draws the whole screen (title, body, status bar); the message line
	 * is the loop's. */
	void (*draw)(struct ui *, struct view *);
	/* 1: handled; 0: let the loop try its common actions. */
	int (*action)(struct ui *, struct view *, enum ui_action);
	/* Optional: a key bound to no action (raw input); 1 when used. */
	int (*key)(struct ui *, struct view *, int ch);
	/* Optional: the window changed size (draw follows). */
	void (*resize)(struct ui *, struct view *);
	/* Optional: the database changed (new mail, a tag change): reload,
	 * keeping the selection.  Called on every view of the stack, bottom
	 * first.  (Not named "refresh": curses has a macro of that name.) */
	void (*db_changed)(struct ui *, struct view *);
	/* Frees the view (it was popped or the client quits). */
	void (*close)(struct ui *, struct view *);
	struct view *below;	/* the stack; set by ui_push */
};

/* Which reply ui_compose writes. */
enum compose_kind { COMPOSE_NEW, COMPOSE_REPLY, COMPOSE_REPLY_ALL, COMPOSE_FORWARD };

struct ui {
	struct pl_config *cfg;
	const char *config_path;	/* -c FILE, or NULL: the default */
	struct view *top;
	int rows, cols;
	int body_top, body_rows;
	int quit;
	int dirty;		/* redraw before the next key */
	/* The message line. */
	char msg[1024];
	int msg_error;
	/* The last tag change, for undo. */
	struct pl_tag_undo undo;
	char undo_what[128];
	/* New mail: the database's stamp and how often to look (ms). */
	unsigned long long db_stamp;
	int poll_ms;
	/* A background `paloma sync`: its pid (0: none) and its stderr. */
	pid_t sync_pid;
	int sync_fd;
	char sync_last[512];
	char sync_part[1024];	/* a line of the sync's output not ended yet */
	int tty_err;		/* the terminal, for programs run by ui_run */
};

/* ---- main.c: the stack, the message line, the loop --------------------- */
void ui_push(struct ui *, struct view *);
/* Pops and closes the top view; the last view popped ends the loop. */
void ui_pop(struct ui *);
void ui_status(struct ui *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ui_error(struct ui *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Tells every view on the stack that the database changed. */
void ui_db_changed(struct ui *);
/* Runs argv (found through PATH, no shell) with the terminal given back to
 * it; returns its wait status, or -1 with the reason on the message line.
 * pause: wait for a key afterwards (for programs that print and exit). */
int ui_run(struct ui *, char *const argv[], int pause);
/* Starts `paloma sync -q` in the background (a second press while one
 * runs only says so); the loop reports its end and refreshes. */
void ui_sync_start(struct ui *);
/* Tag change on every message of query, remembered for undo; what names
 * it in the message line ("archived"); refreshes the views. */
int ui_tag(struct ui *, const char *query, const char *const *add, const char *const *del,
    const char *what);
/* "thread:ID" / "id:MSGID" quoted for a notmuch query; the caller frees. */
char *ui_query_id(const char *prefix, const char *id);

/* ---- prompt.c: reading a line on the message line ---------------------- */
/* Completion on Tab: given the text so far, writes the completed text to
 * out and returns 1, or 0 when there is nothing to complete. */
typedef int (*ui_complete_fn)(void *ctx, const char *text, char *out, size_t len);
/* Edits a line (UTF-8): Backspace, ^U (clear), ^W (word), ^A/^E, ←/→,
 * Enter accepts (returns 0), Esc or ^G cancels (-1).  initial may be NULL. */
int ui_prompt(struct ui *, const char *label, const char *initial, char *out, size_t len);
int ui_prompt_complete(struct ui *, const char *label, const char *initial, char *out,
    size_t len, ui_complete_fn complete, void *ctx);
/* y/n question: 1 for y, 0 for anything else. */
int ui_confirm(struct ui *, const char *question);
/* Splits "a b -c" into a NULL-terminated list of words (free with
 * ui_free_words); for tags typed after + or -. */
char **ui_split(const char *s);
void ui_free_words(char **v);

/* ---- draw.c: text by display columns ---------------------------------- */
/* Draws UTF-8 s at (y, x) in at most width columns (wide characters take
 * two, combining ones none; never cut inside a character; control
 * characters shown as '?'), padding with spaces to width when pad; returns
 * the columns used. */
int ui_put(int y, int x, const char *s, int width, int pad);
/* The display width of UTF-8 s. */
int ui_width(const char *s);
/* The byte length of the longest prefix of s that fits in width columns. */
size_t ui_fit(const char *s, int width);
/* A full-width bar at row y in colour c with left and right texts. */
void ui_bar(int y, enum ui_color c, const char *left, const char *right);
void ui_title(struct ui *, const char *left, const char *right);
/* The curses attributes of a colour object (config colours or defaults). */
attr_t ui_attr(enum ui_color c);
void ui_colors_init(const struct pl_ui *u);
/* "14:05" today, "Nov 23" this year, "2025-11-23" before. */
void ui_date(time_t t, char *out, size_t len);

/* ---- keys.c: bindings --------------------------------------------------- */
struct ui_keydef {
	const char *key;	/* a config key name: "j", "^U", "Enter", "PgDn" */
	enum ui_action action;
};
/* Reads the config's bindings; an unknown key name is refused with the
 * config line in e. */
int ui_keys_init(const struct pl_ui *u, struct pl_err *e);
/* Sets a view's default bindings (table ends with key NULL); a view calls
 * this when created.  The config's bind.VIEW.KEY still wins. */
void ui_keys_defaults(const char *view, const struct ui_keydef *defs);
/* The action of a key in a view: config view, view defaults, config
 * global, global defaults. */
enum ui_action ui_keys_lookup(const char *view, int ch);
int ui_key_code(const char *name);		/* -1 when not a key name */
void ui_key_name(int ch, char *out, size_t len);
const char *ui_action_name(enum ui_action a);
/* A view listing the bindings of view (the `?` screen). */
void ui_help_open(struct ui *, const char *view);

/* ---- index.c, searches.c, pager.c --------------------------------------- */
/* The thread list of query; -1 with the reason on the message line (the
 * view is not pushed). */
int ui_index_open(struct ui *, const char *query);
/* The saved searches (config search.NAME) with their unread counts. */
void ui_searches_open(struct ui *);
/* The messages of a thread of q, in a pager. */
int ui_pager_open(struct ui *, struct pl_query *q, const char *thread_id);

/* ---- compose.c and outbox.c (another part of the client) -------------- */
/* Writes a new message or a reply/forward of the message in path (NULL for
 * COMPOSE_NEW); 0 when sent or postponed, -1 when aborted or failed (the
 * reason on the message line). */
int ui_compose(struct ui *, enum compose_kind, const char *path);
void ui_outbox_open(struct ui *);

#endif
