/* outbox.c — the queue in the client's outbox (outbox.h). */
#include "outbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "fsutil.h"
#include "message.h"
#include "paths.h"

/* The newest part of the delivery log read for TLS details. */
#define LOG_TAIL (4 * 1024 * 1024)

static int
by_id_desc(const void *a, const void *b)
{
	return strcmp(((const struct pl_outbox_msg *)b)->env.id,
	    ((const struct pl_outbox_msg *)a)->env.id);
}

static char *
dup_trim(const char *s)
{
	char *t = xstrdup(s), *u = trim(t);

	memmove(t, u, strlen(u) + 1);
	return t;
}

/* Subject and To from the message file's header. */
static void
read_header(const char *path, struct pl_outbox_msg *m)
{
	struct pl_message msg;
	char *data, *end;
	size_t len;

	if (pl_read_file(path, 64 * 1024 * 1024, &data, &len) < 0)
		return;
	end = strstr(data, "\r\n\r\n");
	if (pl_message_parse(data, end ? (size_t)(end - data) + 4 : len, &msg, NULL) == 0) {
		const char *s = pl_message_get(&msg, "Subject"), *t = pl_message_get(&msg, "To");
		m->subject = s ? dup_trim(s) : NULL;
		m->to = t ? dup_trim(t) : NULL;
		pl_message_free(&msg);
	}
	free(data);
}

/* Valid ids in qdir/sub. */
static void
list_dir(const char *qdir, const char *sub, char ***ids, size_t *n)
{
	char path[4200];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof path, "%s/%s", qdir, sub);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!pl_queue_id_valid(de->d_name))
			continue;
		*ids = xrealloc(*ids, (*n + 1) * sizeof **ids);
		(*ids)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
}

static char *
read_log_tail(size_t *len)
{
	char path[4200], *data = NULL;
	FILE *f;
	long size;

	*len = 0;
	snprintf(path, sizeof path, "%s/delivery.log", pl_state_dir());
	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0) {
		long from = size > LOG_TAIL ? size - LOG_TAIL : 0;
		data = xmalloc((size_t)(size - from) + 1);
		if (fseek(f, from, SEEK_SET) == 0)
			*len = fread(data, 1, (size_t)(size - from), f);
		data[*len] = '\0';
	}
	fclose(f);
	return data;
}

int
pl_outbox_load(const char *qdir, int64_t since, struct pl_outbox_msg **out, size_t *n,
    struct pl_err *e)
{
	char **ids = NULL;
	size_t nids = 0, logn = 0;
	char *log = NULL;
	struct pl_outbox_msg *v = NULL;
	size_t nv = 0;

	(void)e;
	list_dir(qdir, "entries", &ids, &nids);
	list_dir(qdir, "done", &ids, &nids);
	log = read_log_tail(&logn);
	for (size_t i = 0; i < nids; i++) {
		struct pl_outbox_msg m = { 0 };
		struct pl_err le;
		char path[4200];

		/* removed meanwhile, or damaged: `paloma queue list` says which */
		if (pl_queue_load_any(qdir, ids[i], &m.env, &m.retired, &le) < 0)
			continue;
		if (m.env.created < since) {
			pl_envelope_free(&m.env);
			continue;
		}
		snprintf(path, sizeof path, "%s/%s/%s/message", qdir,
		    m.retired ? "done" : "entries", m.env.id);
		read_header(path, &m);
		m.tls = xcalloc(m.env.nrcpt + 1, sizeof *m.tls);
		for (size_t j = 0; log && j < m.env.nrcpt; j++)
			if (m.env.rcpt[j].state == PL_RCPT_DELIVERED)
				m.tls[j] = pl_outbox_log_tls(log, logn, m.env.id, m.env.rcpt[j].addr);
		v = xrealloc(v, (nv + 1) * sizeof *v);
		v[nv++] = m;
	}
	free(log);
	pl_queue_ids_free(ids, nids);
	if (nv > 1)
		qsort(v, nv, sizeof *v, by_id_desc);
	*out = v;
	*n = nv;
	return 0;
}

void
pl_outbox_free(struct pl_outbox_msg *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; m[i].tls && j < m[i].env.nrcpt; j++)
			free(m[i].tls[j]);
		free(m[i].tls);
		free(m[i].subject);
		free(m[i].to);
		pl_envelope_free(&m[i].env);
	}
	free(m);
}

/* The value of key in one log line ("key=value" or key="quoted"), or NULL. */
static char *
log_value(const char *line, size_t len, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = 0; i + kl + 1 < len; i++) {
		struct buf b = { 0 };
		if ((i > 0 && line[i - 1] != ' ') || memcmp(line + i, key, kl) != 0 ||
		    line[i + kl] != '=')
			continue;
		i += kl + 1;
		buf_adds(&b, "");
		if (line[i] == '"') {
			for (i++; i < len && line[i] != '"'; i++) {
				if (line[i] == '\\' && i + 1 < len)
					i++;
				buf_addc(&b, line[i]);
			}
		} else {
			for (; i < len && line[i] != ' '; i++)
				buf_addc(&b, line[i]);
		}
		return buf_steal(&b);
	}
	return NULL;
}

char *
pl_outbox_log_tls(const char *log, size_t len, const char *id, const char *rcpt)
{
	const char *p = log, *end = log + len;
	char want_id[64], want_rcpt[1100];
	char *found = NULL;

	snprintf(want_id, sizeof want_id, " id=%s ", id);
	snprintf(want_rcpt, sizeof want_rcpt, " rcpt=<%s> ", rcpt);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)((nl ? nl : end) - p);
		if (memmem(p, ll, want_id, strlen(want_id)) &&
		    memmem(p, ll, want_rcpt, strlen(want_rcpt)) &&
		    memmem(p, ll, " result=delivered", 17)) {
			char *t = log_value(p, ll, "tls");
			if (t) {
				free(found);
				found = t;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return found;
}

static void
clock_time(int64_t t, int64_t now, char *out, size_t len)
{
	time_t tt = (time_t)t, tn = (time_t)now;
	struct tm tm, tmn;

	localtime_r(&tt, &tm);
	localtime_r(&tn, &tmn);
	if (tm.tm_year == tmn.tm_year && tm.tm_yday == tmn.tm_yday)
		strftime(out, len, "%H:%M", &tm);
	else
		strftime(out, len, "%b %d %H:%M", &tm);
}

/* The first line of a reply. */
static void
add_reply(struct buf *out, const struct pl_rcpt *r)
{
	if (r->reply && *r->reply) {
		size_t n = strcspn(r->reply, "\n");
		buf_adds(out, ": ");
		buf_add(out, r->reply, n);
	} else if (r->status) {
		buf_printf(out, ": %s", r->status);
	}
}

/* The recipient's TLS policy as the user reads it, or NULL. */
static const char *
policy_label(const struct pl_rcpt *r)
{
	const char *p = r->tls_policy;

	if (p == NULL || strcmp(p, "none") == 0)
		return NULL;	/* "no TLS" says it */
	return !strcmp(p, "dane") ? "DANE" : !strcmp(p, "mta-sts") ? "MTA-STS" :
	    !strcmp(p, "verified") ? "verified TLS" : !strcmp(p, "encrypt") ? "required TLS" :
	    "opportunistic TLS";
}

void
pl_outbox_rcpt_line(const struct pl_rcpt *r, const char *tls, int64_t now, struct buf *out)
{
	const char *pol = policy_label(r);

	char t[32];

	switch (r->state) {
	case PL_RCPT_QUEUED:
		buf_adds(out, "queued");
		if (r->next_attempt > now) {
			fmt_duration((long)(r->next_attempt - now), t, sizeof t);
			buf_printf(out, ", first try in %s", t);
		}
		break;
	case PL_RCPT_DEFERRED:
		fmt_duration((long)(r->next_attempt > now ? r->next_attempt - now : 0), t, sizeof t);
		buf_printf(out, "deferred, next try %s%s (%d attempt%s%s%s)",
		    r->next_attempt > now ? "in " : "", r->next_attempt > now ? t : "now",
		    r->attempts, r->attempts == 1 ? "" : "s", pol ? ", " : "", pol ? pol : "");
		add_reply(out, r);
		break;
	case PL_RCPT_DELIVERED:
		clock_time(r->last_attempt, now, t, sizeof t);
		buf_printf(out, "delivered %s", t);
		if (r->remote)
			buf_printf(out, " to %s", r->remote);
		if (tls)
			buf_printf(out, ", %s", strcmp(tls, "none") ? tls : "no TLS");
		if (pol)
			buf_printf(out, ", %s", pol);
		add_reply(out, r);
		break;
	case PL_RCPT_FAILED:
	case PL_RCPT_BOUNCED:
		buf_adds(out, r->state == PL_RCPT_FAILED ? "failed" : "bounced");
		if (r->remote)
			buf_printf(out, " by %s", r->remote);
		add_reply(out, r);
		break;
	case PL_RCPT_CANCELLED:
		buf_adds(out, "cancelled by you");
		break;
	}
}

int
pl_outbox_cancel(const char *qdir, const char *id, const char *addr, struct pl_err *e)
{
	struct pl_envelope env;
	char lock[4200], req[1200], reply[256];
	int fd, r, rc;

	if (!pl_queue_id_valid(id))
		return pl_errf(e, EX_USAGE, "'%s' is not a queue id", id);
	if (pl_mkdirs(pl_state_dir(), 0700, e) < 0)
		return -1;
	snprintf(lock, sizeof lock, "%s/daemon.lock", pl_state_dir());
	if ((r = pl_try_lock(lock, &fd, e)) < 0)
		return -1;
	if (r == 0) {
		/* The daemon holds the envelopes in memory: only it may change one. */
		snprintf(req, sizeof req, "cancel %s %s", id, addr);
		if (pl_ctl_request(req, reply, sizeof reply, 10000) < 0)
			return pl_errf(e, EX_TEMPFAIL, "the daemon holds the queue but does not "
			    "answer on %s", pl_ctl_path());
		reply[strcspn(reply, "\r\n")] = '\0';
		if (strncmp(reply, "ok", 2) != 0)
			return pl_errf(e, EX_TEMPFAIL, "the daemon cannot cancel <%s>: %s", addr,
			    strncmp(reply, "error ", 6) ? reply : reply + 6);
		return 0;
	}
	rc = pl_queue_load(qdir, id, &env, e);
	if (rc == 0) {
		rc = pl_envelope_cancel_rcpt(&env, addr, pl_now(), e);
		if (rc == 0)
			rc = pl_queue_save(qdir, &env, e);
		if (rc == 0) {
			int all = 1;
			for (size_t i = 0; i < env.nrcpt; i++)
				all &= PL_RCPT_FINAL(env.rcpt[i].state);
			/* Nothing left to do: retire it as the daemon would. */
			if (all)
				rc = pl_queue_retire(qdir, id, e);
		}
		pl_envelope_free(&env);
	}
	close(fd);
	return rc;
}

void
pl_front_path(char *out, size_t len)
{
	char self[PATH_MAX];
	const char *env = getenv("PALOMA_FRONT");
	ssize_t n;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		char *slash;
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			snprintf(out, len, "%s/../../bin/paloma", self);
			if (access(out, X_OK) == 0)
				return;
		}
	}
	snprintf(out, len, "paloma");
}

int
pl_run_front(const char *config_path, const char *const *args, int in_fd, struct buf *out)
{
	char front[PATH_MAX];
	const char *argv[16];
	int p[2], n = 0, st;
	pid_t pid;

	pl_front_path(front, sizeof front);
	argv[n++] = "paloma";
	if (config_path) {
		argv[n++] = "-c";
		argv[n++] = config_path;
	}
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe2(p, O_CLOEXEC) < 0) {
		buf_printf(out, "cannot make a pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		buf_printf(out, "cannot start %s: %s", front, strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		dup2(in_fd >= 0 ? in_fd : nul, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		if (strchr(front, '/'))
			execv(front, (char *const *)argv);
		else
			execvp(front, (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s\n", front, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		char b[1024];
		ssize_t r = read(p[0], b, sizeof b);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (out->len < 8192)
			buf_add(out, b, (size_t)r);
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			buf_printf(out, "cannot wait for %s: %s", front, strerror(errno));
			return -1;
		}
	return st;
}
