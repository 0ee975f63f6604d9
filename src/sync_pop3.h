/* sync_pop3.h — the POP3 replies sync_pop3.c reads itself, as functions of
 * a stream and of bytes, so that they are fuzzed without a server
 * (tests/fuzz/fuzz_pop3.c).
 *
 * Untrusted input: a status line of any length or content, a multi-line
 * body without its final ".", NUL bytes, listings with junk lines,
 * duplicate numbers or UIDLs and numbers out of range all end in an error
 * or in a listing that keeps the promises below. */
#ifndef PALOMA_SYNC_POP3_H
#define PALOMA_SYNC_POP3_H

#include <stddef.h>
#include <stdint.h>

#include <libetpan/mailstream.h>

#include "util.h"

/* A message on the server. */
struct pl_pop3_msg {
	unsigned num;		/* 1 .. 0xffffffff */
	unsigned long size;	/* from LIST; 0 when LIST did not give it */
	uint64_t key;		/* pl_pop3_key of its UIDL */
	int skip;		/* duplicate UIDL: only the first counts */
	int fetch;		/* for sync_pop3.c's plan */
};

/* Reads one status line from s (line is libetpan's line buffer): 1 for
 * +OK, 0 for -ERR, -1 when the connection ended or failed first, or the
 * line was neither.  reply gets the text after the status word, one line
 * with no control character ("(no text)" when empty). */
int pl_pop3_status(mailstream *s, MMAPString *line, char *reply, size_t rlen);

/* Reads a multi-line body (after +OK) into b up to its "." line, with the
 * dot-stuffing undone and each line kept with its own line end; -1 when
 * the connection ended before the ".". */
int pl_pop3_body(mailstream *s, MMAPString *line, struct buf *b);

/* The messages of a UIDL listing (the body pl_pop3_body read: lines
 * "<number> <uidl>"), sorted by number; junk lines are skipped.  p[len]
 * must be writable (a struct buf's terminator): lines are cut in place.
 * *out is NULL when there is none. */
void pl_pop3_uidls(char *p, size_t len, struct pl_pop3_msg **out, size_t *n);

/* Adds the sizes of a LIST listing (lines "<number> <size>"; p as above)
 * to m (sorted by number), and marks each message whose UIDL an earlier
 * one has with skip. */
void pl_pop3_sizes(char *p, size_t len, struct pl_pop3_msg *m, size_t n);

#endif
