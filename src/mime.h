/* mime.h — a message as the reader sees it (GMime 3).
 *
 * pl_mime_render turns one message file into what the pager shows: the
 * chosen header fields with RFC 2047 words decoded, then the body as UTF-8
 * text: text/plain preferred in multipart/alternative, quoted-printable and
 * base64 decoded, any charset converted (an unknown or lying charset falls
 * back to windows-1252, never garbage bytes), format=flowed reflowed to the
 * width asked for, text/html rendered through an external dumper when there
 * is no text/plain, and message/rfc822 parts shown inline.  Each part that
 * is not shown inline becomes an attachment in the list (file names decoded
 * from RFC 2231 or RFC 2047).  A one-line summary of the message's
 * Authentication-Results / DKIM-Signature comes with it.
 *
 * Untrusted input: a message of any shape renders, at worst as its raw text
 * with a note; nothing here runs a shell (the HTML dumper is split into
 * words like secret.h's commands and gets the HTML on its standard input).
 * Fuzzed by tests/fuzz/fuzz_mime.c. */
#ifndef PALOMA_MIME_H
#define PALOMA_MIME_H

#include <stddef.h>

#include "util.h"

struct pl_dkimv;

struct pl_render_opts {
	int all_headers;	/* every header field, as in the file (decoded) */
	int width;		/* for format=flowed; 0: 80 */
	/* Gets the HTML as UTF-8 on its standard input; NULL:
	 * "w3m -dump -T text/html -I UTF-8 -O UTF-8 -cols WIDTH". */
	const char *html_command;
	/* Checks the DKIM signatures of a message that has no results from
	 * the provider (dkimverify.h); NULL: the summary says "not verified". */
	struct pl_dkimv *dkim;
};

struct pl_attachment {
	int id;			/* for pl_mime_save: the part's number in a depth-first walk */
	char *type;		/* "application/pdf" (lower case) */
	char *filename;		/* decoded, UTF-8, may be NULL */
	size_t size;		/* decoded size in bytes */
};

struct pl_rendered {
	char *text;		/* UTF-8, lines ending in \n: header block, a blank line, body */
	size_t len;
	size_t header_lines;	/* how many of the first lines are the header block */
	struct pl_attachment *att;
	size_t natt;
	char *auth;		/* "DKIM pass (example.org), SPF pass, DMARC pass" or NULL */
	/* Decoded header fields for the client (UTF-8, NULL when absent).
	 * Address fields are formatted lists ("Jürgen Weiß <j@x.test>, b@y.test");
	 * message_id, in_reply_to and references keep their angle brackets. */
	char *from, *to, *cc, *subject, *date, *message_id, *in_reply_to, *references;
	char *reply_to;
};

/* Renders the message in file path.  -1 with e only when the file cannot
 * be read (EX_NOINPUT, EX_IOERR); a malformed message still renders. */
int pl_mime_render(const char *path, const struct pl_render_opts *o, struct pl_rendered *out,
    struct pl_err *e);
void pl_rendered_free(struct pl_rendered *r);

/* For a delivery report (ours or a remote MTA's, which quote the header
 * of the returned mail): the Message-ID of the mail it is about, i.e. the
 * first "Message-ID:" line of the rendered body (after the report's own
 * header block) whose value is "<…>" and not the report's own; a new
 * string, or NULL. */
char *pl_mime_report_about(const struct pl_rendered *r);

/* Writes attachment id of the message in path, decoded, to dest (created
 * 0600 with O_EXCL: an existing file is not overwritten, EX_CANTCREAT). */
int pl_mime_save(const char *path, int id, const char *dest, struct pl_err *e);

/* Decodes RFC 2047 encoded words in a header value to UTF-8 (also the
 * common broken forms: words inside quotes, unencoded 8-bit in a known
 * charset).  The caller frees it. */
char *pl_mime_decode_header(const char *value);

#endif
