/* mimetext.h — the text of one MIME part, made fit for a terminal: bytes in
 * any charset to UTF-8, the gate every byte of the pager's text passes
 * through (no control character, no invalid UTF-8), format=flowed (RFC 3676)
 * and HTML through an external dumper.  Used by mime.c only; GMime-free
 * except for its charset alias table. */
#ifndef PALOMA_MIMETEXT_H
#define PALOMA_MIMETEXT_H

#include <stddef.h>

#include "util.h"

/* How long the HTML dumper may run, and how much it may print. */
#define PL_HTML_TIMEOUT_MS 10000
#define PL_HTML_OUT_MAX (8 * 1024 * 1024)

/* Appends n bytes in charset (NULL: undeclared) to out as UTF-8.  An unknown
 * or missing charset, or us-ascii with 8-bit bytes, is taken as UTF-8 when
 * the bytes are valid UTF-8, else as windows-1252; ISO-8859-1 is read as
 * windows-1252 (its superset in practice).  Bytes that do not convert
 * become U+FFFD.  The result may still hold control characters: it is not
 * yet safe to show (pl_text_put is). */
void pl_text_to_utf8(struct buf *out, const char *s, size_t n, const char *charset);

/* The gate: appends s to out so that out only ever gains valid UTF-8 with no
 * NUL, no C0 control but \t and \n, no DEL and no C1 control — a message
 * cannot drive the terminal.  In a body, CRLF and a lone CR become \n and
 * other controls or invalid bytes U+FFFD.  In a header (header != 0), line
 * breaks and tabs become spaces (folded lines joined) and controls are
 * dropped. */
void pl_text_put(struct buf *out, const char *s, size_t n, int header);

/* Columns s takes on a terminal (wide East Asian characters 2, combining
 * marks 0, an invalid byte 1). */
size_t pl_text_width(const char *s, size_t n);

/* Reflows format=flowed UTF-8 text (RFC 3676: soft breaks, DelSp, space
 * stuffing, the signature line) to width columns, keeping quote levels as
 * ">" prefixes; fixed lines stay as they are.  Appends to out. */
void pl_text_flowed(struct buf *out, const char *s, size_t n, int delsp, int width);

/* Appends the text of html (UTF-8) as cmd prints it (NULL: w3m at width
 * columns), run without a shell with the HTML on its standard input, for
 * at most PL_HTML_TIMEOUT_MS.  When it cannot run or fails, appends a note
 * and the HTML with its tags stripped.  Not yet safe to show. */
void pl_text_html(struct buf *out, const char *html, size_t n, const char *cmd, int width);

/* The crude fallback: tags dropped (script and style with their content),
 * block tags as line breaks, common entities decoded. */
void pl_text_strip_html(struct buf *out, const char *html, size_t n);

#endif
