/* prompt.c — reading a line, or a yes/no, on the message line.
 *
 * The text is kept as UTF-8 and edited by characters, not bytes:
 * get_wch gives one character at a time, and Backspace removes a whole
 * UTF-8 sequence.  When the text is wider than the line, its end is shown. */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "ui.h"

/* Appends the UTF-8 of c to b (len its capacity); 0 when it did not fit. */
static int
put_utf8(char *b, size_t len, size_t *n, wint_t c)
{
	char tmp[4];
	size_t k;

	if (c < 0x80)
		tmp[0] = (char)c, k = 1;
	else if (c < 0x800)
		tmp[0] = (char)(0xc0 | c >> 6), tmp[1] = (char)(0x80 | (c & 0x3f)), k = 2;
	else if (c < 0x10000)
		tmp[0] = (char)(0xe0 | c >> 12), tmp[1] = (char)(0x80 | ((c >> 6) & 0x3f)),
		    tmp[2] = (char)(0x80 | (c & 0x3f)), k = 3;
	else
		tmp[0] = (char)(0xf0 | c >> 18), tmp[1] = (char)(0x80 | ((c >> 12) & 0x3f)),
		    tmp[2] = (char)(0x80 | ((c >> 6) & 0x3f)), tmp[3] = (char)(0x80 | (c & 0x3f)),
		    k = 4;
	if (*n + k >= len)
		return 0;
	memcpy(b + *n, tmp, k);
	*n += k;
	b[*n] = '\0';
	return 1;
}

static void
back_char(char *b, size_t *n)
{
	while (*n > 0 && ((unsigned char)b[*n - 1] & 0xc0) == 0x80)
		(*n)--;
	if (*n > 0)
		(*n)--;
	b[*n] = '\0';
}

static void
show(struct ui *u, const char *label, const char *text)
{
	int lw = ui_width(label), room = u->cols - lw - 1, tw = ui_width(text);
	const char *t = text;

	/* Scroll: show the end of a long text. */
	while (tw > room && *t) {
		size_t skip = ui_fit(t, 1);
		if (skip == 0)
			skip = 1;
		t += skip;
		tw = ui_width(t);
	}
	attrset(A_NORMAL);
	move(u->rows - 1, 0);
	clrtoeol();
	ui_put(u->rows - 1, 0, label, u->cols, 0);
	ui_put(u->rows - 1, lw, t, room, 0);
	curs_set(1);
	refresh();
}

int
ui_prompt_complete(struct ui *u, const char *label, const char *initial, char *out,
    size_t len, ui_complete_fn complete, void *ctx)
{
	char *b = xcalloc(1, len);
	size_t n = 0;
	int rc = -1;

	if (initial) {
		snprintf(b, len, "%s", initial);
		n = strlen(b);
	}
	for (;;) {
		wint_t c;
		int kind;

		show(u, label, b);
		kind = get_wch(&c);
		if (kind == ERR)
			continue;
		if (kind == KEY_CODE_YES) {
			if (c == KEY_BACKSPACE)
				back_char(b, &n);
			else if (c == KEY_ENTER)
				goto accept;
			else if (c == KEY_RESIZE) {
				getmaxyx(stdscr, u->rows, u->cols);
				u->dirty = 1;
			}
			continue;
		}
		switch (c) {
		case '\n': case '\r':
			goto accept;
		case 27: case 7:	/* Esc, ^G */
			goto done;
		case 127: case 8:
			back_char(b, &n);
			break;
		case 21:		/* ^U */
			n = 0;
			b[0] = '\0';
			break;
		case 23:		/* ^W: the word before the cursor */
			while (n > 0 && b[n - 1] == ' ')
				n--;
			while (n > 0 && b[n - 1] != ' ')
				n--;
			b[n] = '\0';
			break;
		case '\t':
			if (complete) {
				char *c2 = xcalloc(1, len);
				if (complete(ctx, b, c2, len) == 1) {
					snprintf(b, len, "%s", c2);
					n = strlen(b);
				}
				free(c2);
			}
			break;
		default:
			if (c >= 0x20 && c != 0x7f)
				put_utf8(b, len, &n, c);
			break;
		}
	}
accept:
	snprintf(out, len, "%s", b);
	rc = 0;
done:
	free(b);
	curs_set(0);
	move(u->rows - 1, 0);
	clrtoeol();
	u->msg[0] = '\0';
	return rc;
}

int
ui_prompt(struct ui *u, const char *label, const char *initial, char *out, size_t len)
{
	return ui_prompt_complete(u, label, initial, out, len, NULL, NULL);
}

int
ui_confirm(struct ui *u, const char *question)
{
	int c;

	show(u, question, " (y/n) ");
	do
		c = getch();
	while (c == ERR || c == KEY_RESIZE);
	curs_set(0);
	move(u->rows - 1, 0);
	clrtoeol();
	return c == 'y' || c == 'Y';
}

char **
ui_split(const char *s)
{
	char *copy = xstrdup(s), *save = NULL, **v = xcalloc(1, sizeof *v);
	size_t n = 0;

	for (char *w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
		v = xrealloc(v, (n + 2) * sizeof *v);
		v[n++] = xstrdup(w);
		v[n] = NULL;
	}
	free(copy);
	return v;
}

void
ui_free_words(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}
