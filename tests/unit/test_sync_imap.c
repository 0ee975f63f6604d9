/* test_sync_imap.c — the IMAP engine's pure pieces: Message-ID of a
 * header, LF → CRLF for APPEND, the content hash that matches a fetched
 * message to its stored file, UID sets, and FETCH results to flags. */
#include <stdlib.h>
#include <string.h>

#include "imap_session.h"
#include "syncstate.h"
#include "tap.h"

static void
test_message_id(void)
{
	const char *m1 = "From: a@b\r\nMessage-ID: <x1@example.test>\r\nSubject: s\r\n\r\nbody\r\n";
	const char *m2 = "Subject: s\nmessage-id:\n <folded@example.test>\nTo: b\n\nMessage-ID: <body@x>\n";
	const char *m3 = "Subject: none\n\nMessage-ID: <in-body@x>\n";
	const char *m4 = "Message-Id:   <spaces@x>  (comment)\n\n";
	const char *m5 = "X-Message-ID: <not@x>\nMessage-ID: bare-id@x\n\n";
	const char *m6 = "Message-ID: <last@x>";	/* no newline at all */
	char *id;

	id = pl_header_message_id(m1, strlen(m1));
	STREQ(id, "<x1@example.test>", "Message-ID of a CRLF header");
	free(id);
	id = pl_header_message_id(m2, strlen(m2));
	STREQ(id, "<folded@example.test>", "folded, lower-case field name");
	free(id);
	id = pl_header_message_id(m3, strlen(m3));
	OK(id == NULL, "a Message-ID line in the body does not count");
	free(id);
	id = pl_header_message_id(m4, strlen(m4));
	STREQ(id, "<spaces@x>", "blanks and a comment around <…> dropped");
	free(id);
	id = pl_header_message_id(m5, strlen(m5));
	STREQ(id, "bare-id@x", "X-Message-ID skipped; an id without <> kept as written");
	free(id);
	id = pl_header_message_id(m6, strlen(m6));
	STREQ(id, "<last@x>", "a header without a final newline");
	free(id);
	id = pl_header_message_id("", 0);
	OK(id == NULL, "empty message: none");
	/* BODY[HEADER.FIELDS (MESSAGE-ID)] of a message without one */
	id = pl_header_message_id("\r\n", 2);
	OK(id == NULL, "HEADER.FIELDS answer without the field: none");
}

static void
test_crlf(void)
{
	struct buf b = { 0 };

	pl_lf_to_crlf("a\nb\r\nc\n", 7, &b);
	STREQ(b.p, "a\r\nb\r\nc\r\n", "LF → CRLF, CRLF kept");
	buf_free(&b);
	pl_lf_to_crlf("\nx\ry", 4, &b);
	STREQ(b.p, "\r\nx\ry", "a leading LF, a lone CR kept");
	buf_free(&b);
	pl_lf_to_crlf("", 0, &b);
	OK(b.len == 0, "empty stays empty");
	buf_free(&b);
}

static void
test_hash(void)
{
	const char *lf = "Subject: x\n\nline\r\rone\n";
	const char *crlf = "Subject: x\r\n\r\nline\r\rone\r\n";
	unsigned char a[32], b[32], c[32];

	pl_message_sha256(lf, strlen(lf), 0, a);
	pl_message_sha256(crlf, strlen(crlf), 1, b);
	OK(memcmp(a, b, 32) == 0, "the server's CRLF message hashes like the stored LF file");
	pl_message_sha256(crlf, strlen(crlf), 0, c);
	OK(memcmp(a, c, 32) != 0, "without crlf the bytes count as they are");
	pl_message_sha256("ab\r", 3, 1, a);
	pl_message_sha256("ab\r", 3, 0, b);
	OK(memcmp(a, b, 32) == 0, "a final lone CR is kept");
}

static void
test_sets(void)
{
	uint32_t u[] = { 1, 2, 3, 5, 7, 8, 8, 9, 20 };
	struct buf b = { 0 };
	struct mailimap_set *set;
	size_t pos = 0, n = 0;

	pl_uid_set_format(u, 9, &b);
	STREQ(b.p, "1:3,5,7:9,20", "UIDs coalesced into ranges (a repeat ignored)");
	buf_free(&b);
	while ((set = pl_imap_uid_set(u, 9, &pos, 2)) != NULL) {
		n++;
		OK(clist_count(set->set_list) <= 2, "set %zu has at most 2 ranges", n);
		mailimap_set_free(set);
	}
	OK(n == 2 && pos == 9, "4 ranges in 2 commands of 2 (%zu)", n);
}

static struct mailimap_flag_fetch *
ff(struct mailimap_flag *f)
{
	return mailimap_flag_fetch_new(MAILIMAP_FLAG_FETCH_OTHER, f);
}

static void
test_flags(void)
{
	clist *l = clist_new();
	struct mailimap_msg_att_dynamic *d;
	struct mailimap_flag_list *fl;
	unsigned got = 0;
	clistiter *it;

	clist_append(l, ff(mailimap_flag_new_seen()));
	clist_append(l, ff(mailimap_flag_new_answered()));
	clist_append(l, ff(mailimap_flag_new_flag_keyword(strdup("$forwarded"))));
	clist_append(l, ff(mailimap_flag_new_flag_keyword(strdup("$Junk"))));
	clist_append(l, mailimap_flag_fetch_new(MAILIMAP_FLAG_FETCH_RECENT, NULL));
	d = mailimap_msg_att_dynamic_new(l);
	OK(pl_imap_flags_of(d) == (PL_FL_S | PL_FL_R | PL_FL_P),
	    "\\Seen \\Answered $Forwarded (any case) → S R P; other keywords, \\Recent ignored");
	mailimap_msg_att_dynamic_free(d);

	fl = pl_imap_flag_list(PL_FL_ALL);
	for (it = clist_begin(fl->fl_list); it; it = clist_next(it)) {
		struct mailimap_flag *f = clist_content(it);

		switch (f->fl_type) {
		case MAILIMAP_FLAG_SEEN: got |= PL_FL_S; break;
		case MAILIMAP_FLAG_ANSWERED: got |= PL_FL_R; break;
		case MAILIMAP_FLAG_FLAGGED: got |= PL_FL_F; break;
		case MAILIMAP_FLAG_DELETED: got |= PL_FL_T; break;
		case MAILIMAP_FLAG_DRAFT: got |= PL_FL_D; break;
		case MAILIMAP_FLAG_KEYWORD:
			if (!strcmp(f->fl_data.fl_keyword, "$Forwarded"))
				got |= PL_FL_P;
			break;
		}
	}
	OK(got == PL_FL_ALL && clist_count(fl->fl_list) == 6, "every flag → its IMAP flag");
	mailimap_flag_list_free(fl);
	fl = pl_imap_flag_list(0);
	OK(clist_count(fl->fl_list) == 0, "no flags → empty list");
	mailimap_flag_list_free(fl);
}

int
main(void)
{
	test_message_id();
	test_crlf();
	test_hash();
	test_sets();
	test_flags();
	return tap_done();
}
