/* syncstate.c — a folder's sync state (snapshot + journal), the names of
 * synced message files, storing fetched mail, and folder name mapping.
 *
 * The state of folder F lives in <dir>/<F>.state and <dir>/<F>.journal
 * (F made safe for one file name).  Both are text, one record a line, fields
 * separated by one space, numbers unsigned decimal (keys are uint64, the
 * UIDVALIDITY and UIDNEXT uint32), flags as pl_flags_format letters or "-"
 * for none.
 *
 * The snapshot, replaced as a whole (tmp, fsync, rename, fsync dir):
 *
 *   paloma-sync-state 1
 *   G <generation>          bumped by each compaction
 *   V <uidvalidity>
 *   M <highestmodseq>
 *   N <uidnext>
 *   + <key> <flags> [u]     one per message, keys strictly ascending;
 *                           "u": stored but not yet indexed
 *   E <number of messages>  last line: a shorter file is damaged
 *
 * The journal, appended to (O_APPEND, fdatasync per flush):
 *
 *   paloma-sync-journal <generation>   the snapshot it continues
 *   F <lo> <hi>             intent to fetch keys lo..hi (kept until compaction)
 *   + <key> <flags> [u]     message added (or replaced)
 *   = <key> <flags>         flags changed
 *   i <key>                 indexed
 *   - <key>                 removed
 *   V <uidvalidity>         new UIDVALIDITY: every message and intent forgotten
 *   M <highestmodseq>
 *   N <uidnext>
 *
 * Loading reads the snapshot then replays the journal.  A journal line
 * without its newline is the last write of a crashed run: it is ignored,
 * and cut off so that the next append starts a clean line.  A journal of an
 * older generation was absorbed by a compaction that crashed before removing
 * it: it is ignored and removed.  A journal of a newer generation than the
 * snapshot means the snapshot was lost or replaced: replaying it on the wrong
 * base could make the sync delete mail, so it is an error, as is any other
 * damage (EX_DATAERR naming file and line). */
#include "syncstate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

#define STATE_MAX	((size_t)1 << 30)

/* ---- The state: records in memory ---- */

static size_t
msg_index(const struct pl_sstate *s, uint64_t key)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->msgs[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
msg_put(struct pl_sstate *s, uint64_t key, unsigned flags, int unindexed)
{
	size_t i = s->n;

	/* Keys mostly arrive in ascending order: appending needs no search. */
	if (s->n > 0 && s->msgs[s->n - 1].key >= key) {
		i = msg_index(s, key);
		if (s->msgs[i].key == key) {
			s->msgs[i].flags = flags & PL_FL_ALL;
			s->msgs[i].unindexed = unindexed != 0;
			return;
		}
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->msgs = xrealloc(s->msgs, s->cap * sizeof *s->msgs);
	}
	memmove(&s->msgs[i + 1], &s->msgs[i], (s->n - i) * sizeof *s->msgs);
	s->msgs[i].key = key;
	s->msgs[i].flags = flags & PL_FL_ALL;
	s->msgs[i].unindexed = unindexed != 0;
	s->n++;
}

static void
msg_del(struct pl_sstate *s, struct pl_smsg *m)
{
	size_t i = (size_t)(m - s->msgs);

	memmove(m, m + 1, (s->n - i - 1) * sizeof *m);
	s->n--;
}

static void
intent_put(struct pl_sstate *s, uint64_t lo, uint64_t hi)
{
	if (s->nintents > 0) {
		struct pl_srange *r = &s->intents[s->nintents - 1];
		/* Batches usually follow each other: grow the last range. */
		if (lo >= r->lo && (lo <= r->hi || lo - 1 == r->hi)) {
			if (hi > r->hi)
				r->hi = hi;
			return;
		}
	}
	s->intents = xrealloc(s->intents, (s->nintents + 1) * sizeof *s->intents);
	s->intents[s->nintents].lo = lo;
	s->intents[s->nintents].hi = hi;
	s->nintents++;
}

static void
reset_uidvalidity(struct pl_sstate *s, uint32_t uidvalidity)
{
	s->uidvalidity = uidvalidity;
	s->n = 0;
	s->highestmodseq = 0;
	s->uidnext = 0;
	free(s->intents);
	s->intents = NULL;
	s->nintents = 0;
}

struct pl_smsg *
pl_sstate_find(struct pl_sstate *s, uint64_t key)
{
	size_t i = msg_index(s, key);

	return i < s->n && s->msgs[i].key == key ? &s->msgs[i] : NULL;
}

int
pl_sstate_intended(const struct pl_sstate *s, uint64_t key)
{
	for (size_t i = 0; i < s->nintents; i++)
		if (key >= s->intents[i].lo && key <= s->intents[i].hi)
			return 1;
	return 0;
}

/* ---- Journal lines ---- */

static void
put_u64(struct buf *b, uint64_t v)
{
	char t[20];
	size_t k = sizeof t;

	do {
		t[--k] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	buf_add(b, t + k, sizeof t - k);
}

static void
put_flags(struct buf *b, unsigned flags)
{
	char f[7];

	pl_flags_format(flags, f);
	buf_adds(b, *f ? f : "-");
}

/* "op" then up to two numbers, for the journal. */
static void
queue_line(struct pl_sstate *s, char op, uint64_t a, int two, uint64_t b)
{
	buf_addc(&s->pending, op);
	buf_addc(&s->pending, ' ');
	put_u64(&s->pending, a);
	if (two) {
		buf_addc(&s->pending, ' ');
		put_u64(&s->pending, b);
	}
}

static void
put_msg(struct buf *b, const struct pl_smsg *m)
{
	buf_adds(b, "+ ");
	put_u64(b, m->key);
	buf_addc(b, ' ');
	put_flags(b, m->flags);
	buf_adds(b, m->unindexed ? " u\n" : "\n");
}

void
pl_sstate_add(struct pl_sstate *s, uint64_t key, unsigned flags, int unindexed)
{
	struct pl_smsg m = { key, flags & PL_FL_ALL, unindexed != 0 };

	msg_put(s, key, flags, unindexed);
	put_msg(&s->pending, &m);
}

void
pl_sstate_set_flags(struct pl_sstate *s, uint64_t key, unsigned flags)
{
	struct pl_smsg *m = pl_sstate_find(s, key);

	if (m == NULL || m->flags == (flags & PL_FL_ALL))
		return;
	m->flags = flags & PL_FL_ALL;
	queue_line(s, '=', key, 0, 0);
	buf_addc(&s->pending, ' ');
	put_flags(&s->pending, m->flags);
	buf_addc(&s->pending, '\n');
}

void
pl_sstate_set_indexed(struct pl_sstate *s, uint64_t key)
{
	struct pl_smsg *m = pl_sstate_find(s, key);

	if (m == NULL || !m->unindexed)
		return;
	m->unindexed = 0;
	queue_line(s, 'i', key, 0, 0);
	buf_addc(&s->pending, '\n');
}

void
pl_sstate_remove(struct pl_sstate *s, uint64_t key)
{
	struct pl_smsg *m = pl_sstate_find(s, key);

	if (m == NULL)
		return;
	msg_del(s, m);
	queue_line(s, '-', key, 0, 0);
	buf_addc(&s->pending, '\n');
}

void
pl_sstate_set_modseq(struct pl_sstate *s, uint64_t modseq)
{
	if (s->highestmodseq == modseq)
		return;
	s->highestmodseq = modseq;
	queue_line(s, 'M', modseq, 0, 0);
	buf_addc(&s->pending, '\n');
}

void
pl_sstate_set_uidnext(struct pl_sstate *s, uint32_t uidnext)
{
	if (s->uidnext == uidnext)
		return;
	s->uidnext = uidnext;
	queue_line(s, 'N', uidnext, 0, 0);
	buf_addc(&s->pending, '\n');
}

void
pl_sstate_set_uidvalidity(struct pl_sstate *s, uint32_t uidvalidity)
{
	/* The same value again is no news: the records stay. */
	if (s->uidvalidity == uidvalidity)
		return;
	reset_uidvalidity(s, uidvalidity);
	queue_line(s, 'V', uidvalidity, 0, 0);
	buf_addc(&s->pending, '\n');
}

/* ---- Loading ---- */

/* One line cut into fields at single spaces. */
struct fields {
	const char *p[4];
	size_t len[4];
	int n;
};

static int
split_fields(const char *p, size_t n, struct fields *f)
{
	const char *end = p + n;

	f->n = 0;
	for (;;) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *stop = sp ? sp : end;
		if (stop == p || f->n == 4)
			return -1;
		f->p[f->n] = p;
		f->len[f->n++] = (size_t)(stop - p);
		if (!sp)
			return 0;
		p = sp + 1;
	}
}

static int
fnum(const struct fields *f, int i, uint64_t max, uint64_t *v)
{
	/* 20 digits hold any uint64; more can only be leading zeros, which
	 * paloma never writes. */
	return f->len[i] > 20 ? -1 : pl_field_num(f->p[i], f->len[i], max, v);
}

static int
fflags(const struct fields *f, int i, unsigned *out)
{
	unsigned fl = 0;

	if (f->len[i] == 1 && f->p[i][0] == '-') {
		*out = 0;
		return 0;
	}
	for (size_t k = 0; k < f->len[i]; k++) {
		unsigned bit = (unsigned)pl_flag_bit((unsigned char)f->p[i][k]);
		if (bit == 0 || (fl & bit))
			return -1;
		fl |= bit;
	}
	*out = fl;
	return 0;
}

enum { SNAPSHOT, JOURNAL };

/* Applies one record line; NULL, or why it is damaged. */
static const char *
apply_line(struct pl_sstate *s, int where, const char *line, size_t len)
{
	struct fields f;
	uint64_t a, b;
	unsigned fl;

	if (split_fields(line, len, &f) < 0 || f.len[0] != 1)
		return "not a record";
	switch (f.p[0][0]) {
	case '+':
		if (f.n < 3 || fnum(&f, 1, UINT64_MAX, &a) < 0 || fflags(&f, 2, &fl) < 0 ||
		    (f.n == 4 && (f.len[3] != 1 || f.p[3][0] != 'u')))
			return "bad message record";
		if (where == SNAPSHOT && s->n > 0 && s->msgs[s->n - 1].key >= a)
			return "message keys out of order";
		msg_put(s, a, fl, f.n == 4);
		return NULL;
	case '=':
		if (where != JOURNAL || f.n != 3 || fnum(&f, 1, UINT64_MAX, &a) < 0 ||
		    fflags(&f, 2, &fl) < 0)
			return "bad flags record";
		{
			struct pl_smsg *m = pl_sstate_find(s, a);
			if (m)
				m->flags = fl;
		}
		return NULL;
	case 'F':
		if (where != JOURNAL || f.n != 3 || fnum(&f, 1, UINT64_MAX, &a) < 0 ||
		    fnum(&f, 2, UINT64_MAX, &b) < 0 || a > b)
			return "bad intent record";
		intent_put(s, a, b);
		return NULL;
	}
	if (f.n != 2)
		return "wrong number of fields";
	switch (f.p[0][0]) {
	case 'i':
	case '-':
		if (where != JOURNAL || fnum(&f, 1, UINT64_MAX, &a) < 0)
			return "bad message key";
		{
			struct pl_smsg *m = pl_sstate_find(s, a);
			if (m && f.p[0][0] == 'i')
				m->unindexed = 0;
			else if (m)
				msg_del(s, m);
		}
		return NULL;
	case 'V':
		if (fnum(&f, 1, UINT32_MAX, &a) < 0)
			return "bad UIDVALIDITY";
		if (where == JOURNAL)
			reset_uidvalidity(s, (uint32_t)a);
		else
			s->uidvalidity = (uint32_t)a;
		return NULL;
	case 'M':
		if (fnum(&f, 1, UINT64_MAX, &a) < 0)
			return "bad MODSEQ";
		s->highestmodseq = a;
		return NULL;
	case 'N':
		if (fnum(&f, 1, UINT32_MAX, &a) < 0)
			return "bad UIDNEXT";
		s->uidnext = (uint32_t)a;
		return NULL;
	case 'G':
		if (where != SNAPSHOT || fnum(&f, 1, UINT64_MAX, &a) < 0)
			return "bad generation";
		s->gen = a;
		return NULL;
	}
	return "unknown record";
}

static char *
state_file(const struct pl_sstate *s, const char *ext)
{
	struct buf b = { 0 };

	buf_adds(&b, s->path);
	buf_adds(&b, ext);
	return buf_steal(&b);
}

static int
damaged(struct pl_err *e, const char *path, size_t line, const char *why)
{
	return pl_errf(e, EX_DATAERR, "damaged sync state %s:%zu: %s", path, line, why);
}

static int
load_snapshot(struct pl_sstate *s, struct pl_err *e)
{
	char *path = state_file(s, ".state"), *data;
	const char *p, *end, *nl, *why;
	static const char magic[] = "paloma-sync-state 1";
	size_t len, line = 0;
	int ended = 0, rc = -1;

	if (pl_read_file(path, STATE_MAX, &data, &len) < 0) {
		if (errno == ENOENT) {
			free(path);
			return 0;
		}
		rc = pl_errf(e, EX_IOERR, "cannot read %s: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	for (p = data, end = data + len; p < end; p = nl + 1) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			damaged(e, path, line, "no newline: the file was cut short");
			goto out;
		}
		if (line == 1) {
			if ((size_t)(nl - p) != sizeof magic - 1 ||
			    memcmp(p, magic, sizeof magic - 1) != 0) {
				damaged(e, path, line, "not a paloma sync state (version 1)");
				goto out;
			}
			continue;
		}
		if (ended) {
			damaged(e, path, line, "records after the end");
			goto out;
		}
		if (nl - p > 2 && p[0] == 'E' && p[1] == ' ') {
			uint64_t count;
			if (pl_field_num(p + 2, (size_t)(nl - p - 2), UINT64_MAX, &count) < 0 ||
			    count != s->n) {
				damaged(e, path, line, "message count does not match");
				goto out;
			}
			ended = 1;
			continue;
		}
		if ((why = apply_line(s, SNAPSHOT, p, (size_t)(nl - p))) != NULL) {
			damaged(e, path, line, why);
			goto out;
		}
	}
	if (!ended) {
		damaged(e, path, line + 1, "no end record: the file was cut short");
		goto out;
	}
	rc = 0;
out:
	free(data);
	free(path);
	return rc;
}

static int
load_journal(struct pl_sstate *s, struct pl_err *e)
{
	char *path = state_file(s, ".journal"), *data;
	const char *p, *end, *nl, *why;
	static const char magic[] = "paloma-sync-journal ";
	size_t len, line = 0, good = 0;
	int rc = -1;

	if (pl_read_file(path, STATE_MAX, &data, &len) < 0) {
		if (errno == ENOENT) {
			free(path);
			return 0;
		}
		rc = pl_errf(e, EX_IOERR, "cannot read %s: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	for (p = data, end = data + len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;	/* torn by a crash: never flushed, never acted on */
		line++;
		if (line == 1) {
			uint64_t gen;
			size_t n = (size_t)(nl - p);
			if (n <= sizeof magic - 1 || memcmp(p, magic, sizeof magic - 1) != 0 ||
			    n - (sizeof magic - 1) > 20 ||
			    pl_field_num(p + sizeof magic - 1, n - (sizeof magic - 1), UINT64_MAX,
			    &gen) < 0) {
				damaged(e, path, line, "not a paloma sync journal");
				goto out;
			}
			if (gen > s->gen) {
				damaged(e, path, line, "the journal is newer than its snapshot");
				goto out;
			}
			if (gen < s->gen) {
				/* Absorbed by a compaction that crashed before
				 * removing it. */
				line = 0;
				good = 0;
				break;
			}
		} else if ((why = apply_line(s, JOURNAL, p, (size_t)(nl - p))) != NULL) {
			damaged(e, path, line, why);
			goto out;
		}
		good = (size_t)(nl + 1 - data);
	}
	/* Cut what is not to be replayed, so that the next append starts on a
	 * clean line of the right generation. */
	if (good == 0) {
		if (unlink(path) < 0 && errno != ENOENT) {
			rc = pl_errf(e, EX_IOERR, "cannot remove %s: %s", path, strerror(errno));
			goto out;
		}
	} else if (good < len && truncate(path, (off_t)good) < 0) {
		rc = pl_errf(e, EX_IOERR, "cannot truncate %s: %s", path, strerror(errno));
		goto out;
	}
	s->jlines = line;
	rc = 0;
out:
	free(data);
	free(path);
	return rc;
}

/* path's parent directory, to free. */
static char *
parent_dup(const char *path)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	while (n > 0 && path[n - 1] != '/')
		n--;
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 0)
		return xstrdup(".");
	return xstrndup(path, n);
}

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Makes dir (0700, parents too) and syncs each new directory into its
 * parent, so that files written there later do not vanish with it. */
static int
ensure_dir(const char *dir, struct pl_err *e)
{
	char *top, *p, *parent;
	int rc = 0;

	if (is_dir(dir))
		return 0;
	top = xstrdup(dir);
	for (;;) {
		parent = parent_dup(top);
		if (is_dir(parent) || strcmp(parent, top) == 0) {
			free(parent);
			break;
		}
		free(top);
		top = parent;
	}
	if (pl_mkdirs(dir, 0700, e) < 0) {
		free(top);
		return -1;
	}
	p = xstrdup(dir);
	for (;;) {
		parent = parent_dup(p);
		if (rc == 0 && pl_fsync_dir(parent, e) < 0)
			rc = -1;
		if (strcmp(p, top) == 0 || strcmp(parent, p) == 0) {
			free(parent);
			break;
		}
		free(p);
		p = parent;
	}
	free(p);
	free(top);
	return rc;
}

int
pl_sstate_open(struct pl_sstate *s, const char *dir, const char *name, struct pl_err *e)
{
	struct buf b = { 0 };

	memset(s, 0, sizeof *s);
	s->jfd = -1;
	if (*name == '\0')
		return pl_errf(e, EX_SOFTWARE, "sync state of a folder without a name");
	if (ensure_dir(dir, e) < 0)
		return -1;
	buf_adds(&b, dir);
	buf_addc(&b, '/');
	for (const char *p = name; *p; p++) {
		if (*p == '/')
			buf_adds(&b, "%2F");
		else if (*p == '%')
			buf_adds(&b, "%25");
		else if (*p == '.' && p == name)
			buf_adds(&b, "%2E");
		else
			buf_addc(&b, *p);
	}
	s->path = buf_steal(&b);
	if (load_snapshot(s, e) < 0 || load_journal(s, e) < 0) {
		pl_sstate_close(s);
		return -1;
	}
	return 0;
}

void
pl_sstate_close(struct pl_sstate *s)
{
	if (s->jfd >= 0)
		close(s->jfd);
	free(s->path);
	free(s->msgs);
	free(s->intents);
	buf_free(&s->pending);
	memset(s, 0, sizeof *s);
	s->jfd = -1;
}

/* ---- Writing ---- */

static size_t
count_lines(const char *p, size_t n)
{
	size_t k = 0;

	for (const char *q = p, *end = p + n; (q = memchr(q, '\n', (size_t)(end - q))); q++)
		k++;
	return k;
}

int
pl_sstate_flush(struct pl_sstate *s, struct pl_err *e)
{
	struct buf head = { 0 };
	char *path, *dir;
	off_t off;
	int err, fresh = s->jlines == 0;
	size_t lines;

	if (s->pending.len == 0)
		return 0;
	path = state_file(s, ".journal");
	if (s->jfd < 0) {
		/* A fresh journal replaces whatever a crashed compaction left. */
		s->jfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
		    (fresh ? O_TRUNC : 0), 0600);
		if (s->jfd < 0) {
			err = errno;
			pl_errf(e, err == ENOSPC || err == EDQUOT ? EX_TEMPFAIL : EX_CANTCREAT,
			    "cannot open %s: %s", path, strerror(err));
			free(path);
			return -1;
		}
	}
	if (fresh) {
		buf_adds(&head, "paloma-sync-journal ");
		put_u64(&head, s->gen);
		buf_addc(&head, '\n');
	}
	buf_add(&head, s->pending.p, s->pending.len);
	lines = count_lines(head.p, head.len);
	off = lseek(s->jfd, 0, SEEK_END);
	if (pl_write_all(s->jfd, head.p, head.len) < 0 || fdatasync(s->jfd) < 0) {
		err = errno;
		/* A partial line would glue itself to the next one. */
		if (off >= 0 && ftruncate(s->jfd, off) < 0)
			err = errno;
		buf_free(&head);
		pl_errf(e, err == ENOSPC || err == EDQUOT ? EX_TEMPFAIL : EX_IOERR, "cannot write %s: %s", path, strerror(err));
		free(path);
		return -1;
	}
	buf_free(&head);
	s->jlines += lines;
	s->pending.len = 0;
	s->pending.p[0] = '\0';
	if (fresh) {
		dir = parent_dup(path);
		err = pl_fsync_dir(dir, e);
		free(dir);
		if (err < 0) {
			free(path);
			return -1;
		}
	}
	free(path);
	return 0;
}

int
pl_sstate_intent(struct pl_sstate *s, uint64_t lo, uint64_t hi, struct pl_err *e)
{
	if (lo > hi)
		return pl_errf(e, EX_SOFTWARE, "fetch intent %" PRIu64 ":%" PRIu64 " is empty",
		    lo, hi);
	intent_put(s, lo, hi);
	queue_line(s, 'F', lo, 1, hi);
	buf_addc(&s->pending, '\n');
	return pl_sstate_flush(s, e);
}

int
pl_sstate_compact(struct pl_sstate *s, struct pl_err *e)
{
	struct buf b = { 0 };
	char *dir, *jpath;
	const char *base = strrchr(s->path, '/') + 1;
	int rc;

	buf_adds(&b, "paloma-sync-state 1\nG ");
	put_u64(&b, s->gen + 1);
	buf_adds(&b, "\nV ");
	put_u64(&b, s->uidvalidity);
	buf_adds(&b, "\nM ");
	put_u64(&b, s->highestmodseq);
	buf_adds(&b, "\nN ");
	put_u64(&b, s->uidnext);
	buf_addc(&b, '\n');
	for (size_t i = 0; i < s->n; i++)
		put_msg(&b, &s->msgs[i]);
	buf_adds(&b, "E ");
	put_u64(&b, s->n);
	buf_addc(&b, '\n');
	dir = xstrndup(s->path, (size_t)(base - 1 - s->path));
	{
		char name[4096];
		snprintf(name, sizeof name, "%s.state", base);
		rc = pl_write_durable(*dir ? dir : "/", name, b.p, b.len, e);
	}
	free(dir);
	buf_free(&b);
	if (rc < 0)
		return -1;
	/* The snapshot holds everything now.  Should the removal below be
	 * lost in a crash, the journal's older generation marks it stale. */
	s->gen++;
	if (s->jfd >= 0)
		close(s->jfd);
	s->jfd = -1;
	jpath = state_file(s, ".journal");
	unlink(jpath);
	free(jpath);
	s->jlines = 0;
	s->pending.len = 0;
	if (s->pending.p)
		s->pending.p[0] = '\0';
	free(s->intents);
	s->intents = NULL;
	s->nintents = 0;
	return 0;
}
