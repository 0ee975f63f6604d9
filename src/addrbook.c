/* addrbook.c — address completion from notmuch's known addresses (addrbook.h). */
#include "addrbook.h"

#include <notmuch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "util.h"

/* How many of the newest matching messages are looked at. */
#define SCAN_MAX 200

/* 1 when prefix starts s or one of its words (ASCII case ignored). */
static int
word_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	if (s == NULL)
		return 0;
	for (const char *p = s; *p; p++)
		if ((p == s || p[-1] == ' ' || p[-1] == '.' || p[-1] == '"') &&
		    ascii_ncasecmp(p, prefix, n) == 0)
			return 1;
	return 0;
}

static char *
match_header(const char *value, const char *prefix)
{
	struct pl_addrlist l = { 0 };
	char *r = NULL;

	if (value == NULL || pl_addr_parse_list(value, &l, NULL) < 0)
		return NULL;
	for (size_t i = 0; i < l.n && r == NULL; i++) {
		struct buf b = { 0 };
		if (!word_prefix(l.v[i].mailbox, prefix) && !word_prefix(l.v[i].display, prefix))
			continue;
		if (l.v[i].display && *l.v[i].display) {
			if (strpbrk(l.v[i].display, "()<>[]:;@\\,.\""))
				buf_printf(&b, "\"%s\" <%s>", l.v[i].display, l.v[i].mailbox);
			else
				buf_printf(&b, "%s <%s>", l.v[i].display, l.v[i].mailbox);
		} else {
			buf_adds(&b, l.v[i].mailbox);
		}
		r = buf_steal(&b);
	}
	pl_addrlist_free(&l);
	return r;
}

char *
pl_addrbook_complete(const char *db_path, const char *prefix)
{
	notmuch_database_t *db = NULL;
	notmuch_query_t *q;
	notmuch_messages_t *ms;
	char *msg = NULL, *qs, *r = NULL;
	struct buf b = { 0 };
	int n = 0;

	/* Only word characters go into the query: the prefix is the user's. */
	for (const char *p = prefix; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_' ||
		    *p == '@' || (unsigned char)*p >= 0x80))
			return NULL;
	if (notmuch_database_open_with_config(db_path, NOTMUCH_DATABASE_MODE_READ_ONLY, "", NULL,
	    &db, &msg) != NOTMUCH_STATUS_SUCCESS) {
		free(msg);
		return NULL;
	}
	free(msg);
	buf_printf(&b, "from:%s* or to:%s*", prefix, prefix);
	qs = buf_steal(&b);
	q = notmuch_query_create(db, qs);
	free(qs);
	if (q == NULL)
		goto out;
	notmuch_query_set_sort(q, NOTMUCH_SORT_NEWEST_FIRST);
	if (notmuch_query_search_messages(q, &ms) == NOTMUCH_STATUS_SUCCESS) {
		for (; r == NULL && n < SCAN_MAX && notmuch_messages_valid(ms);
		    notmuch_messages_move_to_next(ms), n++) {
			notmuch_message_t *m = notmuch_messages_get(ms);
			static const char *hdr[] = { "from", "to", "cc" };
			for (int k = 0; k < 3 && r == NULL; k++)
				r = match_header(notmuch_message_get_header(m, hdr[k]), prefix);
			notmuch_message_destroy(m);
		}
	}
	notmuch_query_destroy(q);
out:
	notmuch_database_destroy(db);
	return r;
}
