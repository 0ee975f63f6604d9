/* mimetext.c — text for the pager: charsets, the terminal-safety gate,
 * format=flowed and the HTML dumper (see mimetext.h).
 *
 * Deliberate leniencies (mail as it is, not as the RFCs say):
 *   - ISO-8859-1 is decoded as windows-1252, as browsers do: its 0x80–0x9F
 *     are C1 controls nobody means, and the quotes and euro sign are common;
 *   - us-ascii or no charset with 8-bit bytes: UTF-8 if the bytes are valid
 *     UTF-8, else windows-1252;
 *   - a lone CR in a body is a line break (old Mac mail), never a carriage
 *     return that could overwrite what the screen shows. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "mimetext.h"
#include "secret.h"

extern char **environ;

/* windows-1252's 0x80–0x9F; the five holes become U+FFFD. */
static const uint16_t cp1252_hi[32] = {
	0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd,
	0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0x0178,
};

static void
put_cp(struct buf *b, uint32_t c)
{
	char u[4];

	if (c < 0x80) {
		buf_addc(b, (char)c);
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | c >> 6);
		u[1] = (char)(0x80 | (c & 0x3f));
		buf_add(b, u, 2);
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | c >> 12);
		u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | c >> 18);
		u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		buf_add(b, u, 4);
	}
}

/* Decodes one UTF-8 character at s (n > 0 bytes left): its length, or 0
 * when the bytes there are not valid UTF-8 (overlong forms, surrogates and
 * code points past U+10FFFF included). */

static int
u8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;
	unsigned long c;

	while (i < n) {
		if ((k = pl_utf8_char(p + i, n - i, &c)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

static void
from_cp1252(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80)
			buf_addc(out, (char)c);
		else if (c < 0xa0)
			put_cp(out, cp1252_hi[c - 0x80]);
		else
			put_cp(out, c);
	}
}

/* Converts with iconv; a byte that does not convert becomes U+FFFD and
 * conversion goes on after it.  -1 when iconv does not know the charset. */
static int
from_iconv(struct buf *out, const char *s, size_t n, const char *charset)
{
	iconv_t cd = g_mime_iconv_open("UTF-8", charset);
	char *in = (char *)s, *op;
	size_t inleft = n, outleft, r;
	int err;

	if (cd == (iconv_t)-1)
		return -1;
	iconv(cd, NULL, NULL, NULL, NULL);	/* a cached descriptor may hold state */
	while (inleft > 0) {
		buf_grow(out, inleft * 4 + 64);
		op = out->p + out->len;
		outleft = out->cap - out->len - 1;
		r = iconv(cd, &in, &inleft, &op, &outleft);
		out->len = (size_t)(op - out->p);
		out->p[out->len] = '\0';
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		err = errno;
		put_cp(out, 0xfffd);
		if (err != EILSEQ)
			break;	/* EINVAL: a sequence cut at the end */
		in++;
		inleft--;
	}
	/* Back to the initial state: ISO-2022-JP may owe a shift sequence. */
	do {
		buf_grow(out, 64);
		op = out->p + out->len;
		outleft = out->cap - out->len - 1;
		r = iconv(cd, NULL, NULL, &op, &outleft);
		out->len = (size_t)(op - out->p);
		out->p[out->len] = '\0';
	} while (r == (size_t)-1 && errno == E2BIG);
	g_mime_iconv_close(cd);
	return 0;
}

static int
cs_is(const char *cs, const char *const *names)
{
	for (; *names; names++)
		if (ascii_casecmp(cs, *names) == 0)
			return 1;
	return 0;
}

void
pl_text_to_utf8(struct buf *out, const char *s, size_t n, const char *charset)
{
	static const char *const guess[] = { "us-ascii", "ascii", "ansi_x3.4-1968", "unknown",
		"unknown-8bit", "x-unknown", "default", "8bit", "x-user-defined", "us", NULL };
	static const char *const utf8[] = { "utf-8", "utf8", "x-utf-8", "unicode-1-1-utf-8",
		NULL };
	static const char *const w1252[] = { "iso-8859-1", "windows-1252", "cp1252",
		"x-cp1252", NULL };
	const char *canon;
	char cs[64];

	buf_grow(out, n + 1);
	if (charset == NULL || *charset == '\0' || strlen(charset) >= sizeof cs)
		goto guess;
	/* Some mailers quote the value twice or pad it. */
	snprintf(cs, sizeof cs, "%s", charset);
	trim(cs);
	if (cs_is(cs, guess) || *cs == '\0')
		goto guess;
	if (cs_is(cs, utf8)) {
		buf_add(out, s, n);	/* pl_text_put replaces what is invalid */
		return;
	}
	canon = g_mime_charset_canon_name(cs);
	if (cs_is(cs, w1252) || (canon && cs_is(canon, w1252))) {
		from_cp1252(out, s, n);
		return;
	}
	if (from_iconv(out, s, n, cs) == 0)
		return;
guess:
	if (!pl_has_8bit(s, n) || u8_valid(s, n))
		buf_add(out, s, n);
	else
		from_cp1252(out, s, n);
}

void
pl_text_put(struct buf *out, const char *s, size_t n, int header)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;
	unsigned long c;

	buf_grow(out, n + 1);
	while (i < n) {
		if (p[i] < 0x80) {
			c = p[i++];
			if (header) {
				if (c == '\t' || c == '\n' || c == '\r')
					buf_addc(out, ' ');
				else if (c >= 0x20 && c != 0x7f)
					buf_addc(out, (char)c);
			} else if (c == '\r') {
				if (i < n && p[i] == '\n')
					continue;	/* CRLF: the LF comes next */
				buf_addc(out, '\n');
			} else if (c == '\t' || c == '\n' || (c >= 0x20 && c != 0x7f)) {
				buf_addc(out, (char)c);
			} else {
				put_cp(out, 0xfffd);
			}
			continue;
		}
		k = pl_utf8_char(p + i, n - i, &c);
		if (k == 0) {
			put_cp(out, 0xfffd);
			i++;
			continue;
		}
		if (c >= 0x80 && c < 0xa0) {	/* C1: CSI (0x9b) and friends */
			if (!header)
				put_cp(out, 0xfffd);
		} else {
			buf_add(out, s + i, k);
		}
		i += k;
	}
}

/* Columns of one code point: enough of wcwidth(3) for mail, without
 * depending on the locale. */
static int
cp_width(uint32_t c)
{
	if ((c >= 0x0300 && c <= 0x036f) || (c >= 0x1ab0 && c <= 0x1aff) ||
	    (c >= 0x1dc0 && c <= 0x1dff) || (c >= 0x200b && c <= 0x200f) ||
	    (c >= 0x20d0 && c <= 0x20ff) || (c >= 0xfe00 && c <= 0xfe0f) ||
	    (c >= 0xfe20 && c <= 0xfe2f))
		return 0;
	if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0x303e) ||
	    (c >= 0x3041 && c <= 0x33ff) || (c >= 0x3400 && c <= 0x4dbf) ||
	    (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa000 && c <= 0xa4cf) ||
	    (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
	    (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
	    (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
	    (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd))
		return 2;
	return 1;
}

size_t
pl_text_width(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k, w = 0;
	unsigned long c;

	while (i < n) {
		if ((k = pl_utf8_char(p + i, n - i, &c)) == 0) {
			w++;
			i++;
			continue;
		}
		w += (size_t)cp_width(c);
		i += k;
	}
	return w;
}

static void
quote_prefix(struct buf *out, int depth, int empty)
{
	for (int i = 0; i < depth; i++)
		buf_addc(out, '>');
	if (depth > 0 && !empty)
		buf_addc(out, ' ');
}

/* Emits one paragraph at quote depth, wrapped at width columns at spaces
 * (a word longer than a line stays whole: URLs must not break). */
static void
flow_paragraph(struct buf *out, const char *s, size_t n, int depth, int width)
{
	size_t avail, start = 0;
	int pw = depth > 0 ? depth + 1 : 0;

	avail = width - pw < 20 ? 20 : (size_t)(width - pw);
	if (n == 0) {
		quote_prefix(out, depth, 1);
		buf_addc(out, '\n');
		return;
	}
	while (start < n) {
		size_t i = start, brk = 0, w = 0;
		int found = 0;

		/* The longest run from start that fits, ending before a space. */
		while (i < n) {
			size_t k;
			unsigned long c;

			if (s[i] == ' ' && i > start) {
				if (w > avail)
					break;
				brk = i;
				found = 1;
			}
			if ((k = pl_utf8_char((const unsigned char *)s + i, n - i, &c)) == 0) {
				k = 1;
				w++;
			} else {
				w += (size_t)cp_width(c);
			}
			if (w > avail && found)
				break;
			i += k;
		}
		if (i >= n && w <= avail) {
			brk = n;
		} else if (!found) {
			/* An overlong word: whole, up to the next space. */
			for (brk = i; brk < n && s[brk] != ' '; brk++)
				;
		}
		quote_prefix(out, depth, brk == start);
		buf_add(out, s + start, brk - start);
		buf_addc(out, '\n');
		start = brk;
		while (start < n && s[start] == ' ')
			start++;
	}
}

void
pl_text_flowed(struct buf *out, const char *s, size_t n, int delsp, int width)
{
	struct buf para = { 0 };
	int pdepth = -1, pflowed = 0;
	size_t i = 0;

	if (width <= 0)
		width = 80;
	buf_adds(&para, "");
	while (i < n) {
		const char *line = s + i, *nl = memchr(line, '\n', n - i);
		size_t len = nl ? (size_t)(nl - line) : n - i;
		int depth = 0, flowed, sig;

		i += len + (nl != NULL);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		while (len > 0 && *line == '>') {
			depth++;
			line++;
			len--;
		}
		if (len > 0 && *line == ' ') {	/* space stuffing */
			line++;
			len--;
		}
		sig = len == 3 && memcmp(line, "-- ", 3) == 0;
		flowed = !sig && len > 0 && line[len - 1] == ' ';
		if (flowed && delsp)
			len--;
		if (pdepth >= 0 && pdepth != depth) {
			/* A quote level change ends a paragraph, flowed or not. */
			flow_paragraph(out, para.p, para.len, pdepth, pflowed ? width : 1 << 20);
			para.len = 0;
			pflowed = 0;
		}
		pdepth = depth;
		buf_add(&para, line, len);
		pflowed |= flowed;
		if (!flowed) {
			if (pflowed)
				flow_paragraph(out, para.p, para.len, depth, width);
			else {
				quote_prefix(out, depth, para.len == 0);
				buf_add(out, para.p, para.len);
				buf_addc(out, '\n');
			}
			para.len = 0;
			pdepth = -1;
			pflowed = 0;
		}
	}
	if (pdepth >= 0)
		flow_paragraph(out, para.p, para.len, pdepth, pflowed ? width : 1 << 20);
	buf_free(&para);
}

/* HTML. */

/* Runs argv with html on its stdin (a socket, so that a dumper that quits
 * early gives EPIPE, never SIGPIPE) and its stdout into out.  0 on a clean
 * exit; -1 with why filled otherwise. */
static int
run_dumper(char **argv, const char *html, size_t n, struct buf *out, char *why, size_t whylen)
{
	posix_spawn_file_actions_t fa;
	int sv[2], pfd[2], st, status = 0, done = 0;
	size_t written = 0;
	int64_t deadline = pl_mono_ms() + PL_HTML_TIMEOUT_MS;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(why, whylen, "socketpair: %s", strerror(errno));
		return -1;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	/* Its complaints must not land on the curses screen. */
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	st = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	close(pfd[1]);
	if (st != 0) {
		close(sv[0]);
		close(pfd[0]);
		snprintf(why, whylen, "%s: %s", argv[0], strerror(st));
		return st == ENOENT || st == EACCES ? -2 : -1;
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	if (n == 0)
		shutdown(sv[0], SHUT_WR);
	while (!done) {
		struct pollfd pf[2];
		int64_t left = deadline - pl_mono_ms();
		int np = 0, r;

		if (left <= 0) {
			snprintf(why, whylen, "%s: no output within %d s, killed", argv[0],
			    PL_HTML_TIMEOUT_MS / 1000);
			break;
		}
		pf[np++] = (struct pollfd){ .fd = pfd[0], .events = POLLIN };
		if (written < n)
			pf[np++] = (struct pollfd){ .fd = sv[0], .events = POLLOUT };
		r = poll(pf, (nfds_t)np, (int)left);
		if (r < 0 && errno != EINTR) {
			snprintf(why, whylen, "poll: %s", strerror(errno));
			break;
		}
		if (r <= 0)
			continue;
		if (np > 1 && pf[1].revents) {
			ssize_t w = send(sv[0], html + written, n - written, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (w > 0)
				written += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				written = n;	/* it stopped reading: fine */
			if (written >= n)
				shutdown(sv[0], SHUT_WR);
		}
		if (pf[0].revents) {
			ssize_t got;

			buf_grow(out, 65536);
			got = read(pfd[0], out->p + out->len, 65536);
			if (got > 0) {
				out->len += (size_t)got;
				out->p[out->len] = '\0';
				if (out->len > PL_HTML_OUT_MAX) {
					snprintf(why, whylen, "%s: printed more than %d bytes, killed",
					    argv[0], PL_HTML_OUT_MAX);
					break;
				}
			} else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
				done = 1;
			}
		}
	}
	close(sv[0]);
	close(pfd[0]);
	if (!done)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!done)
		return -1;
	if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0) {
		snprintf(why, whylen, "%s: %s %d", argv[0],
		    WIFSIGNALED(status) ? "killed by signal" : "exit status",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		return -1;
	}
	return 0;
}

void
pl_text_html(struct buf *out, const char *html, size_t n, const char *cmd, int width)
{
	char defcmd[128], why[256] = "";
	struct buf dump = { 0 };
	struct pl_err e;
	char **argv;
	int rc;

	if (width <= 0)
		width = 80;
	if (cmd == NULL) {
		/* -I: the part is already UTF-8, whatever its <meta> says. */
		snprintf(defcmd, sizeof defcmd, "w3m -dump -T text/html -I UTF-8 -O UTF-8 -cols %d",
		    width);
		cmd = defcmd;
	}
	if (pl_split_words(cmd, &argv, &e) < 0) {
		snprintf(why, sizeof why, "html_command: %s", e.msg);
		rc = -1;
	} else {
		rc = run_dumper(argv, html, n, &dump, why, sizeof why);
		pl_free_words(argv);
	}
	if (rc == 0) {
		buf_add(out, dump.p, dump.len);
		buf_free(&dump);
		return;
	}
	buf_free(&dump);
	if (rc == -2)
		buf_adds(out, "(HTML part: install w3m or set html_command)\n\n");
	else
		buf_printf(out, "(HTML part: %s; showing its text without tags)\n\n", why);
	pl_text_strip_html(out, html, n);
}

static const struct {
	const char *name;
	uint32_t cp;
} entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	{ "nbsp", ' ' }, { "copy", 0xa9 }, { "reg", 0xae }, { "euro", 0x20ac },
	{ "mdash", 0x2014 }, { "ndash", 0x2013 }, { "hellip", 0x2026 },
	{ "laquo", 0xab }, { "raquo", 0xbb }, { "rsquo", 0x2019 }, { "lsquo", 0x2018 },
	{ "rdquo", 0x201d }, { "ldquo", 0x201c }, { "bull", 0x2022 },
};

/* An entity at s ("&…;"): its length, with its code point in *cp; 0 if none. */
static size_t
entity(const char *s, size_t n, uint32_t *cp)
{
	size_t i;
	char name[16];

	for (i = 1; i < n && i < sizeof name && s[i] != ';'; i++)
		;
	if (i >= n || i >= sizeof name || s[i] != ';' || i == 1)
		return 0;
	memcpy(name, s + 1, i - 1);
	name[i - 1] = '\0';
	if (name[0] == '#') {
		char *end;
		unsigned long v = name[1] == 'x' || name[1] == 'X' ? strtoul(name + 2, &end, 16)
		    : strtoul(name + 1, &end, 10);

		if (*end != '\0' || end == name + 1 || v == 0 || v > 0x10ffff ||
		    (v >= 0xd800 && v <= 0xdfff))
			return 0;
		*cp = (uint32_t)v;
		return i + 1;
	}
	for (size_t k = 0; k < sizeof entities / sizeof entities[0]; k++)
		if (strcmp(entities[k].name, name) == 0) {
			*cp = entities[k].cp;
			return i + 1;
		}
	return 0;
}

/* The tag name at s ("<name" or "</name"), lower case, in name. */
static void
tag_name(const char *s, size_t n, char *name, size_t len)
{
	size_t i = 1, k = 0;

	if (i < n && s[i] == '/')
		i++;
	while (i < n && k + 1 < len && isalnum((unsigned char)s[i]))
		name[k++] = (char)tolower((unsigned char)s[i++]);
	name[k] = '\0';
}

void
pl_text_strip_html(struct buf *out, const char *html, size_t n)
{
	static const char *const blocks[] = { "p", "br", "div", "tr", "li", "h1", "h2", "h3",
		"h4", "h5", "h6", "table", "blockquote", "pre", "hr", "ul", "ol", "title", NULL };
	size_t i = 0, nl = 2;	/* newlines just written: no blank lines at the top */

	while (i < n) {
		char c = html[i];

		if (c == '<') {
			const char *gt = memchr(html + i, '>', n - i);
			char name[16];
			size_t end = gt ? (size_t)(gt - html) + 1 : n;

			tag_name(html + i, n - i, name, sizeof name);
			if (html[i + 1 != n ? i + 1 : i] != '/' &&
			    (strcmp(name, "script") == 0 || strcmp(name, "style") == 0)) {
				/* Skip to the closing tag. */
				const char *close = NULL;

				for (size_t k = end; k + 1 < n; k++)
					if (html[k] == '<' && html[k + 1] == '/') {
						char cn[16];

						tag_name(html + k, n - k, cn, sizeof cn);
						if (strcmp(cn, name) == 0) {
							close = html + k;
							break;
						}
					}
				if (close == NULL)
					break;
				gt = memchr(close, '>', (size_t)(html + n - close));
				end = gt ? (size_t)(gt - html) + 1 : n;
			} else if (cs_is(name, blocks) && nl < 2) {
				buf_addc(out, '\n');
				nl++;
			}
			i = end;
			continue;
		}
		if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
			if (nl == 0 && out->len > 0 && out->p[out->len - 1] != ' ')
				buf_addc(out, ' ');
			i++;
			continue;
		}
		if (c == '&') {
			uint32_t cp;
			size_t k = entity(html + i, n - i, &cp);

			if (k > 0) {
				put_cp(out, cp);
				nl = 0;
				i += k;
				continue;
			}
		}
		buf_addc(out, c);
		nl = 0;
		i++;
	}
	if (nl == 0)
		buf_addc(out, '\n');
}
