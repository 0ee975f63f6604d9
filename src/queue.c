/* queue.c — queue entries on disk: create, read, rewrite, list, remove.
 * The format is documented in doc/QUEUE.md; keep the two in step. */
#include "queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "fsutil.h"
#include "log.h"
#include "paths.h"

#define ENVELOPE_MAX (16 << 20)

/* Crockford's base-32 alphabet, in ASCII order, so ids sort by time. */
static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";

const char *
pl_queue_dir(void)
{
	static char p[4096];

	snprintf(p, sizeof p, "%s/queue", pl_state_dir());
	return p;
}

int
pl_queue_init(const char *qdir, struct pl_err *e)
{
	char p[4200];

	if (pl_mkdirs(qdir, 0700, e) < 0)
		return -1;
	snprintf(p, sizeof p, "%s/tmp", qdir);
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return pl_errf(e, EX_CANTCREAT, "cannot create %s: %s", p, strerror(errno));
	snprintf(p, sizeof p, "%s/entries", qdir);
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return pl_errf(e, EX_CANTCREAT, "cannot create %s: %s", p, strerror(errno));
	snprintf(p, sizeof p, "%s/done", qdir);
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return pl_errf(e, EX_CANTCREAT, "cannot create %s: %s", p, strerror(errno));
	return 0;
}

int
pl_queue_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n != PL_QUEUE_ID_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strchr(b32, id[i]) == NULL || id[i] == '\0')
			return 0;
	return 1;
}

/* 11 characters of microseconds since the epoch, then 5 random ones. */
static void
make_id(char id[PL_QUEUE_ID_LEN + 1])
{
	struct timeval tv;
	unsigned long long us;
	unsigned char rnd[5];

	gettimeofday(&tv, NULL);
	us = (unsigned long long)tv.tv_sec * 1000000ULL + (unsigned long long)tv.tv_usec;
	for (int i = 10; i >= 0; i--) {
		id[i] = b32[us & 31];
		us >>= 5;
	}
	random_bytes(rnd, sizeof rnd);
	for (int i = 0; i < 5; i++)
		id[11 + i] = b32[rnd[i] & 31];
	id[PL_QUEUE_ID_LEN] = '\0';
}

void
pl_envelope_add_rcpt(struct pl_envelope *env, const char *addr, int64_t now)
{
	struct pl_rcpt *r;

	env->rcpt = xrealloc(env->rcpt, (env->nrcpt + 1) * sizeof *env->rcpt);
	r = &env->rcpt[env->nrcpt++];
	memset(r, 0, sizeof *r);
	r->addr = xstrdup(addr);
	r->state = PL_RCPT_QUEUED;
	r->next_attempt = now;
}

int
pl_queue_submit(const char *qdir, struct pl_envelope *env, const char *msg, size_t len,
    struct pl_err *e)
{
	char tmpdir[4200], path[4300], epath[4300], dst[4200], parent[4200];
	struct buf text = { 0 };
	int tries = 0, mfd = -1, efd = -1, r1, r2;

	if (pl_queue_init(qdir, e) < 0)
		return -1;
	for (;;) {
		make_id(env->id);
		snprintf(tmpdir, sizeof tmpdir, "%s/tmp/%s", qdir, env->id);
		if (mkdir(tmpdir, 0700) == 0)
			break;
		if (errno != EEXIST || ++tries > 100)
			return pl_errf(e, errno == ENOSPC || errno == EDQUOT ? EX_TEMPFAIL :
			    EX_CANTCREAT, "cannot create %s: %s", tmpdir, strerror(errno));
	}
	env->size = (long long)len;
	/* Both files are written before either is synced: the first fsync
	 * then commits both in one journal transaction. */
	snprintf(path, sizeof path, "%s/message", tmpdir);
	snprintf(epath, sizeof epath, "%s/envelope", tmpdir);
	pl_envelope_format(env, &text);
	if ((mfd = pl_create_write(path, msg, len, e)) < 0)
		goto fail;
	if ((efd = pl_create_write(epath, text.p, text.len, e)) < 0)
		goto fail;
	r1 = pl_sync_close(mfd, path, e);
	mfd = -1;
	r2 = pl_sync_close(efd, epath, r1 < 0 ? NULL : e);
	efd = -1;
	if (r1 < 0 || r2 < 0 || pl_fsync_dir(tmpdir, e) < 0)
		goto fail;
	snprintf(dst, sizeof dst, "%s/entries/%s", qdir, env->id);
	if (rename(tmpdir, dst) < 0) {
		pl_errf(e, errno == ENOSPC ? EX_TEMPFAIL : EX_IOERR, "cannot move %s to %s: %s",
		    tmpdir, dst, strerror(errno));
		goto fail;
	}
	snprintf(parent, sizeof parent, "%s/entries", qdir);
	if (pl_fsync_dir(parent, e) < 0) {
		/* Not known to be durable: take it back rather than claim it. */
		pl_rmtree(dst);
		goto fail;
	}
	buf_free(&text);
	return 0;
fail:
	if (mfd >= 0)
		close(mfd);
	if (efd >= 0)
		close(efd);
	buf_free(&text);
	pl_rmtree(tmpdir);
	return -1;
}

const char *
pl_rcpt_state_name(enum pl_rcpt_state s)
{
	switch (s) {
	case PL_RCPT_QUEUED: return "queued";
	case PL_RCPT_DEFERRED: return "deferred";
	case PL_RCPT_DELIVERED: return "delivered";
	case PL_RCPT_FAILED: return "failed";
	case PL_RCPT_BOUNCED: return "bounced";
	case PL_RCPT_CANCELLED: return "cancelled";
	}
	return "?";
}

int
pl_envelope_cancel_rcpt(struct pl_envelope *env, const char *addr, int64_t now,
    struct pl_err *e)
{
	for (size_t i = 0; i < env->nrcpt; i++) {
		struct pl_rcpt *r = &env->rcpt[i];
		char t[32];
		struct buf h = { 0 };

		if (!pl_addr_equal(r->addr, addr))
			continue;
		if (PL_RCPT_FINAL(r->state))
			return pl_errf(e, EX_DATAERR, "<%s> is %s already: nothing to cancel",
			    r->addr, pl_rcpt_state_name(r->state));
		r->state = PL_RCPT_CANCELLED;
		free(r->status);
		r->status = NULL;
		free(r->reply);
		r->reply = xstrdup("cancelled by the user");
		pl_iso_time(now, t, sizeof t);
		buf_printf(&h, "%s cancelled by the user", t);
		r->history = xrealloc(r->history, (r->nhistory + 1) * sizeof *r->history);
		r->history[r->nhistory++] = buf_steal(&h);
		return 0;
	}
	return pl_errf(e, EX_NOINPUT, "no recipient <%s> in queue entry %s", addr, env->id);
}

static int
state_from_name(const char *s, enum pl_rcpt_state *out)
{
	for (int i = PL_RCPT_QUEUED; i <= PL_RCPT_CANCELLED; i++)
		if (strcmp(s, pl_rcpt_state_name((enum pl_rcpt_state)i)) == 0) {
			*out = (enum pl_rcpt_state)i;
			return 0;
		}
	return -1;
}

static void
field(struct buf *out, const char *name, const char *value)
{
	if (value == NULL)
		return;
	buf_adds(out, name);
	buf_adds(out, ": ");
	escape_value(out, value);
	buf_addc(out, '\n');
}

void
pl_envelope_format(const struct pl_envelope *env, struct buf *out)
{
	buf_adds(out, "# paloma queue envelope (doc/QUEUE.md)\n");
	buf_adds(out, "Version: 1\n");
	buf_printf(out, "Id: %s\n", env->id);
	buf_printf(out, "Created: %lld\n", (long long)env->created);
	buf_adds(out, "Sender: <");
	escape_value(out, env->sender);
	buf_adds(out, ">\n");
	field(out, "Account", env->account);
	field(out, "Message-Id", env->message_id);
	buf_printf(out, "Size: %lld\n", env->size);
	buf_printf(out, "Body: %s\n", env->body_8bit ? "8bit" : "7bit");
	buf_printf(out, "Smtputf8: %s\n", env->smtputf8 ? "yes" : "no");
	buf_printf(out, "Delay-Warned: %s\n", env->delay_warned ? "yes" : "no");
	for (size_t i = 0; i < env->nrcpt; i++) {
		const struct pl_rcpt *r = &env->rcpt[i];

		buf_adds(out, "\nRecipient: <");
		escape_value(out, r->addr);
		buf_adds(out, ">\n");
		buf_printf(out, "State: %s\n", pl_rcpt_state_name(r->state));
		buf_printf(out, "Attempts: %d\n", r->attempts);
		buf_printf(out, "Next-Attempt: %lld\n", (long long)r->next_attempt);
		buf_printf(out, "Last-Attempt: %lld\n", (long long)r->last_attempt);
		field(out, "Status", r->status);
		field(out, "Reply", r->reply);
		field(out, "Remote", r->remote);
		field(out, "Tls-Policy", r->tls_policy);
		for (size_t j = 0; j < r->nhistory; j++)
			field(out, "History", r->history[j]);
	}
}

static int
parse_i64(const char *v, int64_t *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end != '\0' || n < 0)
		return -1;
	*out = n;
	return 0;
}

static int
parse_yesno(const char *v, int *out)
{
	if (!strcmp(v, "yes"))
		*out = 1;
	else if (!strcmp(v, "no"))
		*out = 0;
	else
		return -1;
	return 0;
}

/* "<addr>" → addr (unescaped); NULL when not in angle brackets. */
static char *
angle_value(const char *v)
{
	size_t n = strlen(v);

	if (n < 2 || v[0] != '<' || v[n - 1] != '>')
		return NULL;
	char *inner = xstrndup(v + 1, n - 2);
	char *s = unescape_value(inner);
	free(inner);
	return s;
}

int
pl_envelope_parse(const char *text, struct pl_envelope *env, struct pl_err *e)
{
	struct pl_rcpt *r = NULL;
	const char *p = text;
	int line = 0, version = 0;

	memset(env, 0, sizeof *env);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *l = xstrndup(p, len), *colon, *k, *v;
		int bad = 0;
		int64_t num = 0;

		line++;
		p = nl ? nl + 1 : p + len;
		if (l[0] == '\0' || l[0] == '#') {
			free(l);
			continue;
		}
		colon = strstr(l, ": ");
		if (colon == NULL) {
			free(l);
			pl_errf(e, EX_DATAERR, "envelope line %d: not 'Field: value'", line);
			goto fail;
		}
		*colon = '\0';
		k = l;
		v = colon + 2;
		if (!strcmp(k, "Version")) {
			bad = parse_i64(v, &num) < 0 || num != 1;
			version = 1;
		} else if (!strcmp(k, "Id")) {
			bad = !pl_queue_id_valid(v);
			if (!bad)
				memcpy(env->id, v, PL_QUEUE_ID_LEN + 1);
		} else if (!strcmp(k, "Created")) {
			bad = parse_i64(v, &env->created) < 0;
		} else if (!strcmp(k, "Sender")) {
			free(env->sender);
			bad = (env->sender = angle_value(v)) == NULL;
		} else if (!strcmp(k, "Account")) {
			free(env->account);
			env->account = unescape_value(v);
		} else if (!strcmp(k, "Message-Id")) {
			free(env->message_id);
			env->message_id = unescape_value(v);
		} else if (!strcmp(k, "Size")) {
			bad = parse_i64(v, &num) < 0;
			env->size = num;
		} else if (!strcmp(k, "Body")) {
			env->body_8bit = !strcmp(v, "8bit");
			bad = !env->body_8bit && strcmp(v, "7bit");
		} else if (!strcmp(k, "Smtputf8")) {
			bad = parse_yesno(v, &env->smtputf8) < 0;
		} else if (!strcmp(k, "Delay-Warned")) {
			bad = parse_yesno(v, &env->delay_warned) < 0;
		} else if (!strcmp(k, "Recipient")) {
			char *a = angle_value(v);
			if (a == NULL || *a == '\0') {
				free(a);
				bad = 1;
			} else {
				pl_envelope_add_rcpt(env, a, 0);
				free(a);
				r = &env->rcpt[env->nrcpt - 1];
			}
		} else if (r == NULL) {
			/* a recipient's field before any Recipient */
			bad = !strcmp(k, "State") || !strcmp(k, "Attempts") ||
			    !strcmp(k, "Next-Attempt") || !strcmp(k, "Last-Attempt") ||
			    !strcmp(k, "Status") || !strcmp(k, "Reply") || !strcmp(k, "Remote") ||
			    !strcmp(k, "Tls-Policy") || !strcmp(k, "History");
		} else if (!strcmp(k, "State")) {
			bad = state_from_name(v, &r->state) < 0;
		} else if (!strcmp(k, "Attempts")) {
			bad = parse_i64(v, &num) < 0 || num > 1000000;
			r->attempts = (int)num;
		} else if (!strcmp(k, "Next-Attempt")) {
			bad = parse_i64(v, &r->next_attempt) < 0;
		} else if (!strcmp(k, "Last-Attempt")) {
			bad = parse_i64(v, &r->last_attempt) < 0;
		} else if (!strcmp(k, "Status")) {
			free(r->status);
			r->status = unescape_value(v);
		} else if (!strcmp(k, "Reply")) {
			free(r->reply);
			r->reply = unescape_value(v);
		} else if (!strcmp(k, "Remote")) {
			free(r->remote);
			r->remote = unescape_value(v);
		} else if (!strcmp(k, "Tls-Policy")) {
			free(r->tls_policy);
			r->tls_policy = unescape_value(v);
		} else if (!strcmp(k, "History")) {
			r->history = xrealloc(r->history, (r->nhistory + 1) * sizeof *r->history);
			r->history[r->nhistory++] = unescape_value(v);
		}
		/* Other fields are ignored: a newer paloma may have written them. */
		if (bad) {
			pl_errf(e, EX_DATAERR, "envelope line %d: bad %s", line, k);
			free(l);
			goto fail;
		}
		free(l);
	}
	if (!version || env->id[0] == '\0' || env->sender == NULL || env->nrcpt == 0) {
		pl_errf(e, EX_DATAERR, "envelope incomplete (needs Version, Id, Sender, Recipient)");
		goto fail;
	}
	return 0;
fail:
	pl_envelope_free(env);
	return -1;
}

void
pl_envelope_free(struct pl_envelope *env)
{
	for (size_t i = 0; i < env->nrcpt; i++) {
		struct pl_rcpt *r = &env->rcpt[i];
		free(r->addr);
		free(r->status);
		free(r->reply);
		free(r->remote);
		free(r->tls_policy);
		for (size_t j = 0; j < r->nhistory; j++)
			free(r->history[j]);
		free(r->history);
	}
	free(env->rcpt);
	free(env->sender);
	free(env->account);
	free(env->message_id);
	memset(env, 0, sizeof *env);
}

static int
load_from(const char *qdir, const char *sub, const char *id, struct pl_envelope *env,
    struct pl_err *e)
{
	char path[4300];
	char *text;
	size_t len;

	if (!pl_queue_id_valid(id))
		return pl_errf(e, EX_NOINPUT, "no queue entry %s (ids look like %s)", id,
		    "0pxq3k7m2zs4b9ta");
	snprintf(path, sizeof path, "%s/%s/%s/envelope", qdir, sub, id);
	if (pl_read_file(path, ENVELOPE_MAX, &text, &len) < 0) {
		if (errno == ENOENT)
			return pl_errf(e, EX_NOINPUT, "no queue entry %s", id);
		return pl_errf(e, EX_IOERR, "cannot read %s: %s", path, strerror(errno));
	}
	if (strlen(text) != len || pl_envelope_parse(text, env, e) < 0) {
		char why[sizeof e->msg];
		snprintf(why, sizeof why, "%s", strlen(text) != len ? "NUL byte" : e->msg);
		free(text);
		return pl_errf(e, EX_DATAERR, "%s: damaged: %s", path, why);
	}
	free(text);
	if (strcmp(env->id, id) != 0) {
		pl_envelope_free(env);
		return pl_errf(e, EX_DATAERR, "%s: damaged: Id does not match its directory", path);
	}
	return 0;
}

int
pl_queue_load(const char *qdir, const char *id, struct pl_envelope *env, struct pl_err *e)
{
	return load_from(qdir, "entries", id, env, e);
}

int
pl_queue_load_any(const char *qdir, const char *id, struct pl_envelope *env, int *retired,
    struct pl_err *e)
{
	*retired = 0;
	if (load_from(qdir, "entries", id, env, e) == 0)
		return 0;
	if (e->code != EX_NOINPUT || !pl_queue_id_valid(id))
		return -1;
	*retired = 1;
	if (load_from(qdir, "done", id, env, e) == 0)
		return 0;
	return pl_errf(e, EX_NOINPUT, "no queue entry %s", id);
}

/* One rename of entries/<id> to done/<id> (replacing a leftover there);
 * the new path goes to dst when given. */
static int
move_to_done(const char *qdir, const char *id, char *dst, size_t len, struct pl_err *e)
{
	char src[4300], to[4300];

	snprintf(src, sizeof src, "%s/entries/%s", qdir, id);
	snprintf(to, sizeof to, "%s/done/%s", qdir, id);
	pl_rmtree(to);
	if (rename(src, to) < 0)
		return pl_errf(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR, "cannot retire %s: %s",
		    src, strerror(errno));
	if (dst)
		snprintf(dst, len, "%s", to);
	return 0;
}

int
pl_queue_retire(const char *qdir, const char *id, struct pl_err *e)
{
	char dir[4300];

	if (move_to_done(qdir, id, NULL, 0, e) < 0)
		return -1;
	snprintf(dir, sizeof dir, "%s/entries", qdir);
	return pl_fsync_dir(dir, e);
}

int
pl_queue_finish(const char *qdir, const struct pl_envelope *env, struct pl_err *e)
{
	char dst[4300], path[4400];
	struct buf text = { 0 };
	int fd;

	if (move_to_done(qdir, env->id, dst, sizeof dst, e) < 0)
		return -1;
	/* The final states, for `queue show`, written over the old envelope in
	 * place: no new file (creating one per message costs more than all
	 * the rest), no sync.  A crash may leave it torn; the outcomes are in
	 * delivery.log all the same, and `queue show` says it is damaged. */
	snprintf(path, sizeof path, "%s/envelope", dst);
	pl_envelope_format(env, &text);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		/* Over the old bytes, then cut: the file keeps its blocks
		 * (O_TRUNC would free and allocate them again: 2x slower). */
		if (pl_write_all(fd, text.p, text.len) == 0 && ftruncate(fd, (off_t)text.len) < 0) {
			/* informational only: a longer old tail stays */
		}
		close(fd);
	}
	buf_free(&text);
	return 0;
}

int
pl_queue_sync_entries(const char *qdir, struct pl_err *e)
{
	char p[4300];

	snprintf(p, sizeof p, "%s/entries", qdir);
	return pl_fsync_dir(p, e);
}

void
pl_queue_prune_done(const char *qdir, int64_t max_age)
{
	char path[4300];
	struct dirent *de;
	struct stat st;
	DIR *d;

	snprintf(path, sizeof path, "%s/done", qdir);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!pl_queue_id_valid(de->d_name))
			continue;
		snprintf(path, sizeof path, "%s/done/%s", qdir, de->d_name);
		if (stat(path, &st) == 0 && (int64_t)st.st_mtime + max_age < (int64_t)time(NULL))
			pl_rmtree(path);
	}
	closedir(d);
}

int
pl_queue_save(const char *qdir, const struct pl_envelope *env, struct pl_err *e)
{
	char dir[4300];
	struct buf text = { 0 };
	struct stat st;
	int rc;

	snprintf(dir, sizeof dir, "%s/entries/%s", qdir, env->id);
	if (stat(dir, &st) < 0)
		return pl_errf(e, EX_NOINPUT, "no queue entry %s (removed?)", env->id);
	pl_envelope_format(env, &text);
	rc = pl_write_durable(dir, "envelope", text.p, text.len, e);
	buf_free(&text);
	return rc;
}

int
pl_queue_remove(const char *qdir, const char *id, struct pl_err *e)
{
	char src[4300], dst[4300];

	if (!pl_queue_id_valid(id))
		return pl_errf(e, EX_NOINPUT, "no queue entry %s", id);
	snprintf(src, sizeof src, "%s/entries/%s", qdir, id);
	snprintf(dst, sizeof dst, "%s/tmp/%s.removed", qdir, id);
	if (rename(src, dst) < 0) {
		if (errno == ENOENT)
			return pl_errf(e, EX_NOINPUT, "no queue entry %s", id);
		return pl_errf(e, EX_IOERR, "cannot remove %s: %s", src, strerror(errno));
	}
	snprintf(src, sizeof src, "%s/entries", qdir);
	if (pl_fsync_dir(src, e) < 0)
		return -1;
	pl_rmtree(dst);
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
pl_queue_list(const char *qdir, char ***ids, size_t *n, struct pl_err *e)
{
	char path[4300];
	DIR *d;
	struct dirent *de;

	*ids = NULL;
	*n = 0;
	snprintf(path, sizeof path, "%s/entries", qdir);
	d = opendir(path);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		return pl_errf(e, EX_IOERR, "cannot read %s: %s", path, strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		if (!pl_queue_id_valid(de->d_name))
			continue;
		*ids = xrealloc(*ids, (*n + 1) * sizeof **ids);
		(*ids)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n > 1)
		qsort(*ids, *n, sizeof **ids, cmp_str);
	return 0;
}

void
pl_queue_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

const char *
pl_queue_message_path(const char *qdir, const char *id)
{
	static char p[4300];

	snprintf(p, sizeof p, "%s/entries/%s/message", qdir, id);
	return p;
}
