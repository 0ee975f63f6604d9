/* message.h — an RFC 5322 message as paloma queues it.
 *
 * The parser takes a buffer (never a file), checks what SMTP cannot carry
 * (NUL bytes, header lines over 998 octets) and normalises line endings to
 * CRLF.  Headers keep their raw, folded text; the body is kept byte for byte
 * apart from line endings, so 8-bit bodies pass intact. */
#ifndef PALOMA_MESSAGE_H
#define PALOMA_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct pl_header {
	char *name;		/* as written */
	char *value;		/* after the colon, folding kept as CRLF + WSP */
};

struct pl_message {
	struct pl_header *h;
	size_t nh;
	char *body;		/* CRLF line endings */
	size_t bodylen;
	int body_8bit;		/* a byte >= 0x80 in the body */
	int header_8bit;	/* a byte >= 0x80 in a header (RFC 6532) */
};

/* Parses len bytes.  Errors (EX_DATAERR): NUL byte, header line over 998 octets. */
int pl_message_parse(const char *data, size_t len, struct pl_message *m, struct pl_err *e);
void pl_message_free(struct pl_message *m);

/* The value of the first header called name (any case), or NULL. */
const char *pl_message_get(const struct pl_message *m, const char *name);
/* Removes every header called name; returns how many. */
int pl_message_remove(struct pl_message *m, const char *name);
/* Appends a header; value is used as given (the caller folds). */
void pl_message_add(struct pl_message *m, const char *name, const char *value);
/* The whole message, CRLF line endings. */
void pl_message_write(const struct pl_message *m, struct buf *out);

/* "Mon, 23 Nov 2026 08:16:19 +0100" for t in local time. */
void pl_rfc5322_date(int64_t t, char *out, size_t len);
/* A display name ready for a header: as is, quoted, or RFC 2047-encoded. */
void pl_encode_display_name(struct buf *out, const char *name);

#endif
