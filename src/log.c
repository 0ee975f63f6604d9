/* log.c — daemon log and delivery log writers. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"

static int logfd = 2;
static int copy_to_stderr;

int
pl_log_open(const char *path, int also_stderr, struct pl_err *e)
{
	int fd;

	copy_to_stderr = also_stderr;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return pl_errf(e, EX_CANTCREAT, "cannot open log %s: %s", path, strerror(errno));
	if (logfd > 2)
		close(logfd);
	logfd = fd;
	return 0;
}

void
pl_iso_time(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
pl_log(const char *fmt, ...)
{
	struct buf b = { 0 };
	char t[32], *msg;
	va_list ap;
	int n;

	pl_iso_time(pl_now(), t, sizeof t);
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_printf(&b, "%s paloma[%d]: ", t, (int)getpid());
	/* One line per call, whatever the message holds. */
	for (char *p = msg; *p; p++)
		buf_addc(&b, (*p == '\n' || *p == '\r') ? ' ' : *p);
	buf_addc(&b, '\n');
	pl_write_all(logfd, b.p, b.len);
	if (copy_to_stderr && logfd != 2)
		pl_write_all(2, b.p, b.len);
	buf_free(&b);
	free(msg);
}

static void
kv(struct buf *out, const char *k, const char *v)
{
	int quote = 0;

	if (v == NULL || *v == '\0')
		return;
	for (const char *p = v; *p; p++)
		if (*p == ' ' || *p == '"' || (unsigned char)*p < 0x20)
			quote = 1;
	buf_printf(out, " %s=", k);
	if (!quote) {
		buf_adds(out, v);
		return;
	}
	buf_addc(out, '"');
	for (const char *p = v; *p; p++) {
		if (*p == '"')
			buf_adds(out, "\\\"");
		else if (*p == '\\')
			buf_adds(out, "\\\\");
		else if (*p == '\n')
			buf_adds(out, "\\n");
		else if (*p == '\r')
			;
		else if ((unsigned char)*p < 0x20)
			buf_printf(out, "\\x%02x", (unsigned char)*p);
		else
			buf_addc(out, *p);
	}
	buf_addc(out, '"');
}

void
pl_delivery_format(const struct pl_delivery_rec *r, struct buf *out)
{
	char t[32];

	pl_iso_time(r->when, t, sizeof t);
	buf_adds(out, t);
	kv(out, "id", r->id);
	if (r->rcpt)
		buf_printf(out, " rcpt=<%s>", r->rcpt);
	kv(out, "result", r->result);
	kv(out, "status", r->status);
	kv(out, "mx", r->mx);
	kv(out, "ip", r->ip);
	kv(out, "tls", r->tls);
	kv(out, "reply", r->reply);
	kv(out, "remote_id", r->remote_id);
	kv(out, "via", r->via);
	kv(out, "tls_policy", r->tls_policy);
}

void
pl_delivery_log(const char *path, const struct pl_delivery_rec *r)
{
	static int fd = -1;
	static char opened[4096];
	struct buf b = { 0 };

	if (fd < 0 || strcmp(opened, path) != 0) {
		if (fd >= 0)
			close(fd);
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			pl_log("cannot open delivery log %s: %s", path, strerror(errno));
			return;
		}
		snprintf(opened, sizeof opened, "%s", path);
	}
	pl_delivery_format(r, &b);
	buf_addc(&b, '\n');
	if (pl_write_all(fd, b.p, b.len) < 0)
		pl_log("cannot write delivery log %s: %s", path, strerror(errno));
	buf_free(&b);
}
