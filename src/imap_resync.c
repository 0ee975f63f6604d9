/* imap_resync.c — a folder whose UIDVALIDITY changed (the server rebuilt
 * it, or the state was lost): its messages are listed with their
 * Message-IDs and matched to the local files, so that nothing is fetched
 * twice and nothing duplicated.  Messages without a Message-ID, and
 * Message-IDs that two messages share, are matched by the SHA-256 of their
 * content (the local file as stored, the server's with CRLF as LF). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "imap_folder.h"

/* Reads at most max bytes of a file (the header is enough for a
 * Message-ID). */
static int
read_head(const char *path, size_t max, struct buf *b)
{
	FILE *fp = fopen(path, "re");
	size_t got;

	if (fp == NULL)
		return -1;
	buf_grow(b, max);
	got = fread(b->p + b->len, 1, max, fp);
	b->len += got;
	b->p[b->len] = 0;
	fclose(fp);
	return 0;
}

struct srvmsg {
	char *id;		/* "m<Message-ID>" or "h<sha256 hex>"; NULL: unknown yet */
	uint32_t uid;
	uint32_t size;
	unsigned flags;
	int taken;
};

static int
cmp_srvmsg(const void *a, const void *b)
{
	const struct srvmsg *x = a, *y = b;

	if (!x->id || !y->id)
		return !x->id - !y->id;
	return strcmp(x->id, y->id);
}

static char *
hash_id(const char *p, size_t n, int crlf)
{
	unsigned char h[32];
	char *s = xmalloc(66);
	int i;

	pl_message_sha256(p, n, crlf, h);
	s[0] = 'h';
	for (i = 0; i < 32; i++)
		snprintf(s + 1 + 2 * i, 3, "%02x", h[i]);
	return s;
}

static char *
id_of_msgid(const char *mid)
{
	char *s = xmalloc(strlen(mid) + 2);

	s[0] = 'm';
	strcpy(s + 1, mid);
	return s;
}

/* Hashes the bodies of the server messages without a Message-ID. */
static int
hash_server_bodies(struct fsync *f, struct srvmsg *sv, size_t n, struct pl_err *e)
{
	uint32_t *uids = NULL;
	size_t nu = 0, cap = 0, i, pos = 0;

	for (i = 0; i < n; i++)
		if (sv[i].id == NULL)
			imap_push_u32(&uids, &nu, &cap, sv[i].uid);
	while (pos < nu) {
		size_t start = pos, bytes = 0, j;
		struct mailimap_set *set;
		struct mailimap_fetch_type *ft;
		clist *res = NULL;
		clistiter *it;
		int r;

		while (pos < nu && (pos == start || (pos - start < BATCH_MSGS &&
		    bytes < BATCH_BYTES))) {
			for (j = 0; j < n; j++)
				if (sv[j].uid == uids[pos])
					bytes += sv[j].size;
			pos++;
		}
		j = start;
		set = pl_imap_uid_set(uids, pos, &j, SIZE_MAX);
		ft = imap_fetch_type(1, 0, 0, 1, 0);
		pl_imap_budget_bodies(f->c, pos - start, bytes);
		r = mailimap_uid_fetch(f->c->im, set, ft, &res);
		mailimap_fetch_type_free(ft);
		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR) {
			free(uids);
			return pl_imap_fail(f->c, e, r, "fetching %s", f->name);
		}
		for (it = clist_begin(res); it; it = clist_next(it)) {
			struct pl_imap_msg m;

			pl_imap_msg_read(clist_content(it), &m);
			for (j = 0; j < n && m.uid && m.body; j++)
				if (sv[j].uid == m.uid && sv[j].id == NULL)
					sv[j].id = hash_id(m.body, m.body_len, 1);
		}
		mailimap_fetch_list_free(res);
	}
	free(uids);
	return 0;
}

static char *
local_hash(struct fsync *f, const struct pl_mfile *m)
{
	char path[4096], *all = NULL, *id;
	size_t len = 0;

	imap_fpath(f, m, path, sizeof path);
	if (pl_read_file(path, MAX_UPLOAD, &all, &len) < 0)
		return NULL;
	id = hash_id(all, len, 0);
	free(all);
	return id;
}

struct idref {
	const char *id;
	int local;		/* 1: lid[i], 0: sv[i] */
	size_t i;
};

static int
cmp_idref(const void *a, const void *b)
{
	return strcmp(((const struct idref *)a)->id, ((const struct idref *)b)->id);
}

/* A Message-ID on two local files or two server messages (copies, or a
 * sender that reuses IDs) cannot tell them apart: those are compared by
 * their content instead.  1 when some are. */
static int
disambiguate(struct fsync *f, char **lid, struct srvmsg *sv, size_t nsv)
{
	struct idref *v = xcalloc(f->nfiles + nsv + 1, sizeof *v);
	size_t n = 0, i, j, k;
	int any = 0;

	for (i = 0; i < f->nfiles; i++)
		if (lid[i] && lid[i][0] == 'm')
			v[n++] = (struct idref){ lid[i], 1, i };
	for (i = 0; i < nsv; i++)
		if (sv[i].id)
			v[n++] = (struct idref){ sv[i].id, 0, i };
	imap_sort(v, n, sizeof *v, cmp_idref);
	for (i = 0; i < n; i = j) {
		size_t nl = 0, ns = 0;

		for (j = i; j < n && !strcmp(v[j].id, v[i].id); j++)
			v[j].local ? nl++ : ns++;
		if (nl <= 1 && ns <= 1)
			continue;
		any = 1;
		for (k = i; k < j; k++) {
			if (v[k].local) {
				char *h = local_hash(f, &f->files[v[k].i]);

				free(lid[v[k].i]);
				lid[v[k].i] = h;
			} else {
				free(sv[v[k].i].id);
				sv[v[k].i].id = NULL;	/* hashed from the server */
			}
		}
	}
	free(v);
	return any;
}

int
imap_resync(struct fsync *f, struct pl_err *e)
{
	struct pl_imap *c = f->c;
	int old_known = f->st.uidvalidity != 0;
	struct srvmsg *sv = NULL;
	char **lid;		/* per file: its id, for candidates */
	size_t nsv = 0, cap = 0, i, need_hash = 0;
	struct mailimap_set *set;
	struct mailimap_fetch_type *ft;
	clist *res = NULL;
	clistiter *it;
	int r, rc = -1;

	/* local candidates: U-files the old state knew (or all, when the
	 * state was lost) */
	lid = xcalloc(f->nfiles ? f->nfiles : 1, sizeof *lid);
	for (i = 0; i < f->nfiles; i++) {
		struct pl_mfile *m = &f->files[i];
		char path[4096];
		struct buf b = { 0 };
		char *mid;

		if (m->kind != 'U' || f->gone[i])
			continue;
		if (old_known && !pl_sstate_find(&f->st, m->key) &&
		    !pl_sstate_intended(&f->st, m->key))
			continue;	/* moved in by the user: uploaded later */
		imap_fpath(f, m, path, sizeof path);
		if (read_head(path, 256 * 1024, &b) < 0) {
			buf_free(&b);
			continue;
		}
		mid = pl_header_message_id(b.p, b.len);
		if (mid) {
			lid[i] = id_of_msgid(mid);
			free(mid);
		} else {
			lid[i] = local_hash(f, m);
			need_hash |= lid[i] != NULL;
		}
		buf_free(&b);
	}

	if (f->exists > 0) {
		set = mailimap_set_new_interval(1, 0);
		ft = imap_fetch_type(1, 1, 1, 0, 1);
		pl_imap_budget_msgs(c, f->exists, PL_IMAP_HEADER_BYTES);
		r = mailimap_uid_fetch(c->im, set, ft, &res);
		mailimap_fetch_type_free(ft);
		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR) {
			pl_imap_fail(c, e, r, "fetching Message-IDs of %s", f->name);
			goto out;
		}
		for (it = clist_begin(res); it; it = clist_next(it)) {
			struct pl_imap_msg m;
			char *mid;

			pl_imap_msg_read(clist_content(it), &m);
			if (m.uid == 0)
				continue;
			if (nsv == cap) {
				cap = cap ? cap * 2 : 64;
				sv = xrealloc(sv, cap * sizeof *sv);
			}
			mid = m.body ? pl_header_message_id(m.body, m.body_len) : NULL;
			sv[nsv].id = mid ? id_of_msgid(mid) : NULL;
			free(mid);
			sv[nsv].uid = m.uid;
			sv[nsv].size = m.size;
			sv[nsv].flags = m.flags;
			sv[nsv].taken = 0;
			nsv++;
		}
		mailimap_fetch_list_free(res);
		need_hash |= disambiguate(f, lid, sv, nsv);
		if (need_hash && hash_server_bodies(f, sv, nsv, e) < 0)
			goto out;
	}
	imap_sort(sv, nsv, sizeof *sv, cmp_srvmsg);

	/* a new state: the new UIDVALIDITY, then the matched messages */
	imap_new_uidvalidity(f, f->uidvalidity);
	for (i = 0; i < f->nfiles; i++) {
		struct pl_mfile *m = &f->files[i];
		struct srvmsg key = { .id = lid[i] }, *hit;
		char old[4096], nname[512], npath[4096];
		struct stat sb;

		if (lid[i] == NULL)
			continue;
		imap_fpath(f, m, old, sizeof old);
		hit = nsv ? bsearch(&key, sv, nsv, sizeof *sv, cmp_srvmsg) : NULL;
		while (hit && hit > sv && !strcmp(hit[-1].id ? hit[-1].id : "", lid[i]))
			hit--;
		while (hit && hit < sv + nsv && hit->id && !strcmp(hit->id, lid[i]) && hit->taken)
			hit++;
		if (hit && (hit == sv + nsv || !hit->id || strcmp(hit->id, lid[i])))
			hit = NULL;
		if (hit == NULL) {
			if (!old_known)
				continue;	/* state lost: keep it, it is uploaded */
			/* gone from the server with the old UIDVALIDITY */
			if (unlink(old) == 0 || errno == ENOENT) {
				pl_ix_push(f->s->ix, PL_IX_REMOVE, old, NULL, &f->st, 0, 0);
				f->gone[i] = 1;
				f->s->st.removed_in++;
			}
			continue;
		}
		hit->taken = 1;
		if (stat(old, &sb) < 0)
			continue;
		pl_mfile_name(nname, sizeof nname, 'U', hit->uid, (size_t)sb.st_size, m->flags);
		snprintf(npath, sizeof npath, "%s/cur/%s", f->dir, nname);
		if (rename(old, npath) < 0) {
			pl_errf(e, EX_IOERR, "%s: cannot rename to %s: %s", old, npath,
			    strerror(errno));
			goto out;
		}
		pl_sstate_add(&f->st, hit->uid, hit->flags, 0);
		pl_ix_push(f->s->ix, PL_IX_RENAME, old, npath, &f->st, hit->uid, m->flags);
		free(m->name);
		m->name = xstrdup(nname);
		m->in_new = 0;
		m->key = hit->uid;
	}
	/* the files array must stay sorted by (kind, key) for pl_mfile_find */
	{
		/* sort files and gone together */
		size_t k;
		struct { struct pl_mfile m; char g; } *tmp = xcalloc(f->nfiles ? f->nfiles : 1,
		    sizeof *tmp);

		for (k = 0; k < f->nfiles; k++) {
			tmp[k].m = f->files[k];
			tmp[k].g = f->gone[k];
		}
		imap_sort(tmp, f->nfiles, sizeof *tmp, imap_cmp_mfile);	/* m is the first member */
		for (k = 0; k < f->nfiles; k++) {
			f->files[k] = tmp[k].m;
			f->gone[k] = tmp[k].g;
		}
		free(tmp);
	}
	if (pl_sstate_flush(&f->st, e) < 0)
		goto out;
	rc = 0;
out:
	for (i = 0; i < f->nfiles; i++)
		free(lid[i]);
	free(lid);
	for (i = 0; i < nsv; i++)
		free(sv[i].id);
	free(sv);
	return rc;
}
