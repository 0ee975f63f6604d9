/* sync_imap.c — the IMAP engine of `paloma sync`: an account's folders one
 * after the other on one connection (imap_session.c, imap_folder.c), and
 * watching INBOX with IDLE. */
#include "sync.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsutil.h"
#include "imap_folder.h"
#include "imap_session.h"
#include "netstream.h"

/* Re-issue IDLE before servers drop it (RFC 2177: 29 minutes). */
#define IDLE_MAX_S (29 * 60)

static int
has_oflag(const struct mailimap_mailbox_list *mb, const char *flag)
{
	clistiter *it;

	if (mb->mb_flag == NULL || mb->mb_flag->mbf_oflags == NULL)
		return 0;
	for (it = clist_begin(mb->mb_flag->mbf_oflags); it; it = clist_next(it)) {
		struct mailimap_mbx_list_oflag *o = clist_content(it);

		if (o->of_type == MAILIMAP_MBX_LIST_OFLAG_FLAG_EXT && o->of_flag_ext &&
		    !ascii_casecmp(o->of_flag_ext, flag))
			return 1;
	}
	return 0;
}

static int
selectable(const struct mailimap_mailbox_list *mb)
{
	if (mb->mb_flag && mb->mb_flag->mbf_type == MAILIMAP_MBX_LIST_FLAGS_SFLAG &&
	    mb->mb_flag->mbf_sflag == MAILIMAP_MBX_LIST_SFLAG_NOSELECT)
		return 0;
	return !has_oflag(mb, "Noselect") && !has_oflag(mb, "NonExistent");
}

int
imap_list_folders(struct pl_imap *c, struct imap_listing *l, struct pl_err *e)
{
	clistiter *it;
	int r;

	memset(l, 0, sizeof *l);
	l->delim = '/';
	r = mailimap_list(c->im, "", "*", &l->raw);
	if (r != MAILIMAP_NO_ERROR)
		return pl_imap_fail(c, e, r, "listing folders");
	l->mb = xcalloc(clist_count(l->raw) + 1, sizeof *l->mb);
	for (it = clist_begin(l->raw); it; it = clist_next(it)) {
		struct mailimap_mailbox_list *mb = clist_content(it);

		if (mb->mb_name == NULL)
			continue;
		l->mb[l->n++] = mb;
		if (l->n == 1 || !ascii_casecmp(mb->mb_name, "INBOX"))
			l->delim = mb->mb_delimiter;
		if (!l->sent && has_oflag(mb, "Sent") && selectable(mb))
			l->sent = mb->mb_name;
	}
	return 0;
}

void
imap_listing_free(struct imap_listing *l)
{
	if (l->raw)
		mailimap_list_result_free(l->raw);
	free(l->mb);
}

/* The server's name for a configured folder: as listed, else a listed
 * folder whose local path is what the config says, else as written. */
static const char *
server_name(const struct imap_listing *l, const char *want)
{
	size_t i;

	if (!ascii_casecmp(want, "INBOX"))
		return "INBOX";
	for (i = 0; i < l->n; i++)
		if (!strcmp(l->mb[i]->mb_name, want))
			return l->mb[i]->mb_name;
	for (i = 0; i < l->n; i++) {
		char *loc = pl_folder_local(l->mb[i]->mb_name, l->delim);
		int same = loc && !strcmp(loc, want);

		free(loc);
		if (same)
			return l->mb[i]->mb_name;
	}
	return want;
}

static void
add_folder(struct imap_want **v, size_t *n, const char *name, int upload_only)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp((*v)[i].name, name))
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[*n].name = xstrdup(name);
	(*v)[*n].upload_only = upload_only;
	(*n)++;
}

/* Tells `paloma send` where the sent folder is (<state>/sent-folder: its
 * local path), rewritten only when it changed. */
static void
record_sent(struct pl_sync *s, const char *sent, char delim)
{
	char *local = pl_folder_local(sent, delim), *old = NULL, *path;
	size_t len = 0;
	struct pl_err e;
	struct buf b = { 0 };

	if (local == NULL)
		return;
	buf_printf(&b, "%s\n", local);
	path = xmalloc(strlen(s->state_dir) + sizeof "/sent-folder");
	sprintf(path, "%s/sent-folder", s->state_dir);
	if (pl_read_file(path, 4096, &old, &len) < 0 || len != b.len || memcmp(old, b.p, len)) {
		if (pl_mkdirs(s->state_dir, 0700, &e) == 0)
			pl_write_durable(s->state_dir, "sent-folder", b.p, b.len, &e);
	}
	free(old);
	free(path);
	free(local);
	buf_free(&b);
}

const char *
imap_choose_folders(const struct pl_account *a, const struct imap_listing *l,
    struct imap_want **v, size_t *n)
{
	const char *sent;
	size_t i;

	*v = NULL;
	*n = 0;
	if (a->nfolders == 1 && !strcmp(a->folders[0], "*")) {
		add_folder(v, n, "INBOX", 0);
		for (i = 0; i < l->n; i++)
			if (selectable(l->mb[i]))
				add_folder(v, n, ascii_casecmp(l->mb[i]->mb_name, "INBOX")
				    ? l->mb[i]->mb_name : "INBOX", 0);
	} else if (a->nfolders == 0) {
		add_folder(v, n, "INBOX", 0);
	} else {
		for (i = 0; i < a->nfolders; i++)
			add_folder(v, n, server_name(l, a->folders[i]), 0);
	}
	sent = a->sent_folder ? server_name(l, a->sent_folder) : l->sent ? l->sent : "Sent";
	add_folder(v, n, sent, 1);	/* no-op when synced anyway */
	return sent;
}

int
pl_sync_imap(struct pl_sync *s, struct pl_err *e)
{
	struct pl_imap c;
	struct imap_listing l;
	struct imap_want *fv = NULL;
	struct pl_err first = { 0 };
	size_t nf = 0, i;
	int failed = 0;

	if (pl_imap_open(&c, s->acct, e) < 0)
		return -1;
	if (imap_list_folders(&c, &l, e) < 0) {
		pl_imap_close(&c);
		return -1;
	}
	record_sent(s, imap_choose_folders(s->acct, &l, &fv, &nf), l.delim);
	for (i = 0; i < nf && !c.dead; i++) {
		struct pl_err fe = { 0 };

		if (pl_imap_sync_folder(s, &c, fv[i].name, l.delim, fv[i].upload_only, &fe) < 0 &&
		    !failed) {
			failed = 1;
			first = fe;
		}
	}
	imap_listing_free(&l);
	for (i = 0; i < nf; i++)
		free(fv[i].name);
	free(fv);
	pl_imap_close(&c);
	if (failed) {
		*e = first;
		return -1;
	}
	return 0;
}

/* ---- IDLE ---- */

/* Waits up to ms for the server to say something: 1 data, 0 time out,
 * -1 error. */
static int
wait_readable(mailimap *im, long ms)
{
	struct pollfd p;
	int r;

	if (im->imap_stream->read_buffer_len > 0)
		return 1;	/* already read by libetpan */
	p.fd = mailimap_idle_get_fd(im);
	p.events = POLLIN;
	if (p.fd < 0)
		return -1;
	do
		r = poll(&p, 1, ms > INT32_MAX ? INT32_MAX : (int)ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	return r > 0;
}

int
pl_sync_imap_idle(struct pl_sync *s, struct pl_err *e)
{
	struct pl_imap c;
	time_t end = time(NULL) + (s->idle_timeout > 0 ? s->idle_timeout : 0);
	int r, rc = 0;

	if (pl_imap_open(&c, s->acct, e) < 0)
		return -1;
	if (!(c.caps & PL_CAP_IDLE)) {
		pl_imap_close(&c);
		return pl_errf(e, EX_UNAVAILABLE, "imap %s: the server does not offer IDLE",
		    s->acct->host);
	}
	r = mailimap_select(c.im, "INBOX");
	if (r != MAILIMAP_NO_ERROR || c.im->imap_selection_info == NULL) {
		pl_imap_fail(&c, e, r == MAILIMAP_NO_ERROR ? MAILIMAP_ERROR_SELECT : r,
		    "selecting INBOX");
		pl_imap_close(&c);
		return -1;
	}
	for (;;) {
		uint32_t before = c.im->imap_selection_info->sel_exists;
		long left = (long)(end - time(NULL)), wait_s;
		int got;

		if (left <= 0)
			break;
		wait_s = left < IDLE_MAX_S ? left : IDLE_MAX_S;
		r = mailimap_idle(c.im);
		if (r != MAILIMAP_NO_ERROR) {
			rc = pl_imap_fail(&c, e, r, "starting IDLE on INBOX");
			break;
		}
		got = wait_readable(c.im, wait_s * 1000);
		r = mailimap_idle_done(c.im);
		if (r != MAILIMAP_NO_ERROR) {
			rc = pl_imap_fail(&c, e, r, "waiting for new mail in INBOX");
			break;
		}
		if (got < 0) {
			rc = pl_errf(e, EX_TEMPFAIL, "imap %s: waiting for new mail: %s",
			    s->acct->host, strerror(errno));
			c.dead = 1;
			break;
		}
		{
			struct mailimap_selection_info *si = c.im->imap_selection_info;
			struct mailimap_response_info *ri = c.im->imap_response_info;
			uint32_t gone = ri && ri->rsp_expunged ? clist_count(ri->rsp_expunged) : 0;

			if ((si->sel_has_exists && si->sel_exists + gone > before) ||
			    (si->sel_has_recent && si->sel_recent > 0)) {
				rc = 1;
				break;
			}
		}
		/* a keep-alive, an expunge, a flag change: wait on */
	}
	pl_imap_close(&c);
	return rc;
}
