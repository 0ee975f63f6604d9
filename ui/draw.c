/* draw.c — text on the screen by display columns, colours, dates.
 *
 * Mail text is UTF-8 whatever the locale; it is decoded here (bad bytes
 * become U+FFFD) and measured with wcwidth, so that wide (CJK, emoji) and
 * combining characters keep columns aligned and a cut never falls inside a
 * character. */
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "ui.h"

/* One character of UTF-8 at s (n bytes left): its code point and length;
 * a malformed sequence is one byte of U+FFFD. */
static size_t
utf8_next(const unsigned char *s, size_t n, wchar_t *out)
{
	unsigned long v;
	size_t l = pl_utf8_char(s, n, &v);

	*out = l ? (wchar_t)v : 0xfffd;
	return l ? l : 1;
}

/* The columns of one character as drawn: controls and characters the
 * locale cannot show are drawn as '?' (one column). */
static int
char_width(wchar_t *c)
{
	int w;

	if (*c == '\t')
		*c = ' ';
	if (*c < 0x20 || *c == 0x7f || (*c >= 0x80 && *c < 0xa0)) {
		*c = '?';
		return 1;
	}
	if ((w = wcwidth(*c)) < 0) {
		*c = '?';
		return 1;
	}
	return w;
}

static size_t
measure(const char *s, int width, int *cols)
{
	size_t i = 0, n = strlen(s);
	int used = 0;

	while (i < n) {
		wchar_t c;
		size_t l = utf8_next((const unsigned char *)s + i, n - i, &c);
		int w = char_width(&c);

		if (width >= 0 && used + w > width)
			break;
		used += w;
		i += l;
	}
	if (cols)
		*cols = used;
	return i;
}

int
ui_width(const char *s)
{
	int cols;

	measure(s, -1, &cols);
	return cols;
}

size_t
ui_fit(const char *s, int width)
{
	return measure(s, width, NULL);
}

int
ui_put(int y, int x, const char *s, int width, int pad)
{
	size_t i = 0, n = strlen(s), k = 0;
	wchar_t buf[512];
	int used = 0;

	if (width <= 0)
		return 0;
	move(y, x);
	while (i < n) {
		wchar_t c;
		size_t l = utf8_next((const unsigned char *)s + i, n - i, &c);
		int w = char_width(&c);

		if (used + w > width)
			break;
		if (w == 0 && used == 0) {	/* a combining mark with no base */
			i += l;
			continue;
		}
		buf[k++] = c;
		used += w;
		i += l;
		if (k == sizeof buf / sizeof buf[0] - 1) {
			addnwstr(buf, (int)k);
			k = 0;
		}
	}
	if (k)
		addnwstr(buf, (int)k);
	if (pad)
		for (int j = used; j < width; j++)
			addch(' ');
	return pad ? width : used;
}

void
ui_bar(int y, enum ui_color c, const char *left, const char *right)
{
	int cols = COLS, rw = right ? ui_width(right) : 0;

	attrset(ui_attr(c));
	if (rw > cols / 2)
		rw = 0;
	ui_put(y, 0, left ? left : "", cols - rw - (rw ? 1 : 0), 1);
	if (rw) {
		addch(' ');
		ui_put(y, cols - rw, right, rw, 1);
	}
	attrset(A_NORMAL);
}

void
ui_title(struct ui *u, const char *left, const char *right)
{
	(void)u;
	ui_bar(0, UI_C_title, left, right);
}

/* ---- colours ---------------------------------------------------------- */

static attr_t attrs[UI_C_COUNT];

static const struct {
	short fg, bg;
	attr_t a;
} defaults[UI_C_COUNT] = {
	[UI_C_normal] = { -1, -1, A_NORMAL },
	[UI_C_title] = { -1, -1, A_REVERSE },
	[UI_C_status] = { -1, -1, A_REVERSE },
	[UI_C_error] = { COLOR_RED, -1, A_BOLD },
	[UI_C_selected] = { -1, -1, A_REVERSE },
	[UI_C_unread] = { -1, -1, A_BOLD },
	[UI_C_date] = { -1, -1, A_NORMAL },
	[UI_C_authors] = { -1, -1, A_NORMAL },
	[UI_C_subject] = { -1, -1, A_NORMAL },
	[UI_C_count] = { -1, -1, A_NORMAL },
	[UI_C_tags] = { COLOR_CYAN, -1, A_NORMAL },
	[UI_C_header] = { COLOR_GREEN, -1, A_NORMAL },
	[UI_C_quote] = { COLOR_CYAN, -1, A_NORMAL },
	[UI_C_attachment] = { COLOR_MAGENTA, -1, A_NORMAL },
	[UI_C_auth] = { COLOR_YELLOW, -1, A_NORMAL },
	[UI_C_note] = { COLOR_YELLOW, -1, A_NORMAL },
	[UI_C_queued] = { COLOR_YELLOW, -1, A_NORMAL },
	[UI_C_deferred] = { COLOR_YELLOW, -1, A_BOLD },
	[UI_C_delivered] = { COLOR_GREEN, -1, A_NORMAL },
	[UI_C_bounced] = { COLOR_RED, -1, A_BOLD },
};

#define COLOR_NAME(n) #n,
static const char *const color_objects[] = { PL_UI_COLORS(COLOR_NAME) NULL };

static attr_t
to_attr(unsigned a)
{
	attr_t r = A_NORMAL;

	if (a & PL_ATTR_BOLD)
		r |= A_BOLD;
	if (a & PL_ATTR_UNDERLINE)
		r |= A_UNDERLINE;
	if (a & PL_ATTR_REVERSE)
		r |= A_REVERSE;
	if (a & PL_ATTR_DIM)
		r |= A_DIM;
	if (a & PL_ATTR_STANDOUT)
		r |= A_STANDOUT;
	if (a & PL_ATTR_BLINK)
		r |= A_BLINK;
	if (a & PL_ATTR_ITALIC)
		r |= A_ITALIC;
	return r;
}

void
ui_colors_init(const struct pl_ui *u)
{
	int color = has_colors() && start_color() == OK;

	if (color)
		use_default_colors();
	for (int i = 0; i < UI_C_COUNT; i++) {
		short fg = defaults[i].fg, bg = defaults[i].bg;
		attr_t a = defaults[i].a;

		for (size_t j = 0; u && j < u->ncolors; j++)
			if (!strcmp(u->colors[j].object, color_objects[i])) {
				fg = (short)u->colors[j].fg;
				bg = (short)u->colors[j].bg;
				a = to_attr(u->colors[j].attr);
			}
		if (color && (fg >= COLORS || bg >= COLORS))
			fg = bg = -1;	/* colour 208 on an 8-colour terminal */
		if (color && (fg != -1 || bg != -1) && i + 1 < COLOR_PAIRS &&
		    init_pair((short)(i + 1), fg, bg) == OK)
			a |= COLOR_PAIR(i + 1);
		attrs[i] = a;
	}
}

attr_t
ui_attr(enum ui_color c)
{
	return c < UI_C_COUNT ? attrs[c] : A_NORMAL;
}

void
ui_date(time_t t, char *out, size_t len)
{
	time_t now = (time_t)pl_now();
	struct tm tm, tn;

	localtime_r(&t, &tm);
	localtime_r(&now, &tn);
	if (tm.tm_year == tn.tm_year && tm.tm_yday == tn.tm_yday)
		strftime(out, len, "%H:%M", &tm);
	else if (tm.tm_year == tn.tm_year)
		strftime(out, len, "%b %d", &tm);
	else
		strftime(out, len, "%Y-%m-%d", &tm);
}
