/* addr.h — mail addresses: RFC 5322 address lists and RFC 5321 mailboxes.
 *
 * Addresses come from untrusted places (headers, command lines): the parser
 * takes a string, never reads past its end, and says what is wrong in words.
 * An address is kept as an SMTP mailbox, local@domain: the local part as
 * written (dot-string or quoted-string), the domain in lower case.  UTF-8 is
 * accepted in both parts (RFC 6531) and flagged by pl_addr_is_utf8. */
#ifndef PALOMA_ADDR_H
#define PALOMA_ADDR_H

#include <stddef.h>

#include "util.h"

struct pl_addr {
	char *display;		/* decoded display name or NULL */
	char *mailbox;		/* local@domain */
};

struct pl_addrlist {
	struct pl_addr *v;
	size_t n;
};

/* Parses an address list (To, Cc, Bcc, command-line recipients), groups,
 * comments and folding included.  Appends to out.  On error nothing is
 * appended and e says which address is wrong and why (EX_DATAERR). */
int pl_addr_parse_list(const char *s, struct pl_addrlist *out, struct pl_err *e);

/* Parses exactly one address (a bare addr-spec, "<addr>" or "Name <addr>")
 * into a newly allocated mailbox. */
int pl_addr_parse_one(const char *s, char **mailbox, struct pl_err *e);

void pl_addrlist_free(struct pl_addrlist *l);

/* Adds mailbox to l unless an equal one is there; returns 1 when added. */
int pl_addrlist_add_unique(struct pl_addrlist *l, const char *mailbox);

/* Equal as SMTP mailboxes: local part exactly, domain without case. */
int pl_addr_equal(const char *a, const char *b);
/* The domain of a mailbox (after the last '@'). */
const char *pl_addr_domain(const char *mailbox);
/* 1 when the mailbox has bytes beyond ASCII and needs SMTPUTF8. */
int pl_addr_is_utf8(const char *mailbox);

#endif
