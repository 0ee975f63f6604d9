/* compose.h — writing mail: templates for new mail, replies and forwards,
 * the draft file the editor sees, and the final MIME message.
 *
 * Pure: no terminal, no GMime.  The caller hands over the original message's
 * fields (as found in its header, or already decoded) and its body as text;
 * a template comes back as a struct pl_draft, which is written to a file for
 * the editor (pl_draft_format), read back (pl_draft_parse) and turned into
 * the RFC 5322 text that `paloma send -t -i` takes (pl_compose_build).
 *
 * The draft file is UTF-8 with LF line endings:
 *
 *     From: Ann Example <ann@example.org>
 *     To: Bob <bob@example.net>
 *     Cc:
 *     Bcc:
 *     Subject: Re: lunch
 *     In-Reply-To: <1@example.net>
 *     References: <0@example.net> <1@example.net>
 *
 *     body…
 *
 * Field names in any case; a line starting with a blank continues the field
 * above; other fields the user adds (Reply-To:, …) are kept and sent.  Empty
 * fields are dropped from the message.  Display names and the subject are
 * written as plain UTF-8; pl_compose_build encodes them (RFC 2047). */
#ifndef PALOMA_COMPOSE_H
#define PALOMA_COMPOSE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct pl_config;

/* The message being answered or forwarded.  Header values as in the file or
 * decoded; NULL when absent.  decode, when set, is applied to each display
 * name and to the subject (e.g. an RFC 2047 decoder returning a new string). */
struct pl_orig {
	const char *from, *to, *cc, *reply_to, *delivered_to;
	const char *subject, *date, *message_id, *in_reply_to, *references;
	const char *body;	/* UTF-8 text, LF line endings */
	const char *path;	/* the message file, for forwarding as an attachment */
	char *(*decode)(const char *);
};

/* A file to attach.  type NULL: guessed from the name; name NULL: the
 * path's last component (no filename parameter for message/rfc822). */
struct pl_part {
	char *path;
	char *type;
	char *name;
};

/* One header field of the draft; name as written, value UTF-8, unfolded. */
struct pl_field {
	char *name;
	char *value;
};

struct pl_draft {
	struct pl_field *f;	/* From, To, Cc, Bcc, Subject first, then the rest */
	size_t nf;
	char *body;		/* UTF-8, LF line endings */
	struct pl_part *att;
	size_t natt;
};

enum pl_reply_kind { PL_REPLY, PL_REPLY_ALL };
enum pl_fwd_kind { PL_FWD_INLINE, PL_FWD_ATTACH };

/* References keeps the first and the last ones, at most this many. */
#define PL_REFERENCES_MAX 20

/* New mail: From the default account, To/Cc/Bcc/Subject empty. */
void pl_compose_new(const struct pl_config *c, struct pl_draft *d);
/* Reply to the sender (Reply-To, else From; the original To when the
 * original is the user's own), or to everyone (also To and Cc, minus the
 * user's addresses of every account).  "Re: " once, In-Reply-To,
 * References, the body quoted under "On DATE, NAME wrote:". */
void pl_compose_reply(const struct pl_config *c, const struct pl_orig *o,
    enum pl_reply_kind k, struct pl_draft *d);
/* Forward: "Fwd: " once; inline (the original's header block and body
 * below a separator) or as a message/rfc822 attachment of o->path. */
void pl_compose_forward(const struct pl_config *c, const struct pl_orig *o,
    enum pl_fwd_kind k, struct pl_draft *d);

/* The account to send from: the one whose address is in the original's
 * To, Cc or Delivered-To, else the default account (NULL without accounts). */
const struct pl_account *pl_compose_pick_account(const struct pl_config *c,
    const struct pl_orig *o);

/* References for a reply: the original's References (or In-Reply-To) and
 * its Message-ID, trimmed to PL_REFERENCES_MAX ids (the first one kept,
 * then the newest).  A new string, or NULL when there is nothing. */
char *pl_compose_references(const char *references, const char *in_reply_to,
    const char *message_id);

/* The draft's field called name (any case), or NULL. */
const char *pl_draft_get(const struct pl_draft *d, const char *name);
/* Sets a field, adding it when missing (value NULL: removes it). */
void pl_draft_set(struct pl_draft *d, const char *name, const char *value);
void pl_draft_attach(struct pl_draft *d, const char *path, const char *type, const char *name);
void pl_draft_detach(struct pl_draft *d, size_t i);
void pl_draft_free(struct pl_draft *d);

/* The draft file's text (above).  Attachments are not in it. */
void pl_draft_format(const struct pl_draft *d, struct buf *out);
/* Reads the edited text back into d's fields and body, keeping d's
 * attachments.  EX_DATAERR for a header line that is not "Name: value". */
int pl_draft_parse(struct pl_draft *d, const char *text, size_t len, struct pl_err *e);

/* The message for `paloma send -t -i`, CRLF line endings: From/To/Cc/Bcc
 * parsed and written back with encoded display names, Subject encoded,
 * Date when date != 0 (else `paloma send` adds it; Message-ID always
 * left to it), MIME-Version, the body as text/plain; charset=utf-8 in 7bit,
 * 8bit or quoted-printable, and with attachments multipart/mixed with each
 * file in base64 (message/rfc822 as is).  EX_DATAERR for an unparsable
 * address field or a missing From, EX_NOINPUT for an unreadable file. */
int pl_compose_build(const struct pl_draft *d, int64_t date, struct buf *out,
    struct pl_err *e);

/* A MIME type for a file name from a small table of extensions;
 * "application/octet-stream" when unknown. */
const char *pl_mime_type_guess(const char *name);

/* Encodings, exposed for the tests. */
void pl_base64_lines(struct buf *out, const unsigned char *s, size_t n);
void pl_qp_encode(struct buf *out, const char *s, size_t n);

#endif
