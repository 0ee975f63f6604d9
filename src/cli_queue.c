/* cli_queue.c — `paloma queue`: list, show, remove, cancel and flush queue entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ctl.h"
#include "fsutil.h"
#include "paths.h"
#include "outbox.h"
#include "queue.h"

static void
fmt_size(long long n, char *out, size_t len)
{
	if (n < 1024)
		snprintf(out, len, "%lld", n);
	else if (n < 1024 * 1024)
		snprintf(out, len, "%.1fK", n / 1024.0);
	else
		snprintf(out, len, "%.1fM", n / (1024.0 * 1024));
}

static void
fmt_time(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static int
queue_list(void)
{
	const char *q = pl_queue_dir();
	struct pl_err e;
	char **ids;
	size_t n, nrcpt = 0, shown = 0;
	int64_t now = pl_now();

	if (pl_queue_list(q, &ids, &n, &e) < 0)
		return cli_fail(&e);
	for (size_t i = 0; i < n; i++) {
		struct pl_envelope env;
		char age[32], size[32];

		if (pl_queue_load(q, ids[i], &env, &e) < 0) {
			/* removed meanwhile, or damaged: say so and go on */
			if (e.code != EX_NOINPUT)
				printf("%s  (%s)\n", ids[i], e.msg);
			continue;
		}
		if (shown++ == 0)
			printf("%-16s %5s %6s  %s\n", "ID", "AGE", "SIZE", "SENDER -> RECIPIENTS (STATE)");
		fmt_duration((long)(now - env.created), age, sizeof age);
		fmt_size(env.size, size, sizeof size);
		printf("%s %5s %6s  <%s> ->", env.id, age, size, env.sender);
		for (size_t j = 0; j < env.nrcpt; j++) {
			const struct pl_rcpt *r = &env.rcpt[j];
			printf(" %s (%s", r->addr, pl_rcpt_state_name(r->state));
			if (r->state == PL_RCPT_DEFERRED) {
				char next[32];
				fmt_duration((long)(r->next_attempt - now), next, sizeof next);
				printf(", next in %s", next);
			}
			putchar(')');
		}
		putchar('\n');
		nrcpt += env.nrcpt;
		pl_envelope_free(&env);
	}
	if (shown == 0)
		puts("The queue is empty.");
	else
		printf("-- %zu message%s, %zu recipient%s\n", shown, shown == 1 ? "" : "s",
		    nrcpt, nrcpt == 1 ? "" : "s");
	pl_queue_ids_free(ids, n);
	return 0;
}

static const char *
done_path(const char *q, const char *id)
{
	static char p[4300];

	snprintf(p, sizeof p, "%s/done/%s/message", q, id);
	return p;
}

static int
queue_show(const char *id)
{
	const char *q = pl_queue_dir();
	struct pl_envelope env;
	struct pl_err e;
	char t[64], *msg;
	size_t len;

	int retired;

	if (pl_queue_load_any(q, id, &env, &retired, &e) < 0)
		return cli_fail(&e);
	fmt_time(env.created, t, sizeof t);
	printf("Queue-Id:   %s%s\nQueued:     %s\nSender:     <%s>\n", env.id,
	    retired ? " (done: every recipient delivered or bounced)" : "", t, env.sender);
	if (env.account)
		printf("Account:    %s\n", env.account);
	printf("Size:       %lld bytes%s%s\n", env.size, env.body_8bit ? ", 8-bit" : "",
	    env.smtputf8 ? ", SMTPUTF8" : "");
	if (env.message_id)
		printf("Message-Id: %s\n", env.message_id);
	for (size_t i = 0; i < env.nrcpt; i++) {
		const struct pl_rcpt *r = &env.rcpt[i];

		printf("\nRecipient:  <%s>\n  state:    %s\n  attempts: %d\n", r->addr,
		    pl_rcpt_state_name(r->state), r->attempts);
		if (r->state == PL_RCPT_QUEUED || r->state == PL_RCPT_DEFERRED) {
			fmt_time(r->next_attempt, t, sizeof t);
			printf("  next:     %s\n", t);
		}
		if (r->last_attempt) {
			fmt_time(r->last_attempt, t, sizeof t);
			printf("  last:     %s\n", t);
		}
		if (r->remote)
			printf("  remote:   %s\n", r->remote);
		if (r->tls_policy)
			printf("  policy:   %s\n", r->tls_policy);
		if (r->status || r->reply)
			printf("  reply:    %s%s%s\n", r->status ? r->status : "",
			    r->status && r->reply ? " " : "", r->reply ? r->reply : "");
		for (size_t j = 0; j < r->nhistory; j++)
			printf("  history:  %s\n", r->history[j]);
	}
	if (pl_read_file(retired ? done_path(q, id) : pl_queue_message_path(q, id),
	    (size_t)env.size + 1, &msg, &len) == 0) {
		char *end = strstr(msg, "\r\n\r\n");
		fputs("\nHeaders:\n", stdout);
		for (char *p = msg; p < (end ? end + 2 : msg + len); p++)
			if (*p != '\r')
				putchar(*p);
		free(msg);
	}
	pl_envelope_free(&env);
	return 0;
}

static int
queue_remove(int argc, char **argv)
{
	struct pl_err e;
	int rc = 0;

	for (int i = 0; i < argc; i++) {
		if (pl_queue_remove(pl_queue_dir(), argv[i], &e) < 0)
			rc = cli_fail(&e);
		else
			printf("removed %s\n", argv[i]);
	}
	return rc;
}

/* Makes every waiting recipient due now.  Only while no daemon holds the
 * state directory's lock: a running daemon owns the envelopes. */
/* paloma queue cancel ID ADDRESS…: gives up on recipients (no report). */
static int
queue_cancel(int argc, char **argv)
{
	struct pl_err e;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (pl_outbox_cancel(pl_queue_dir(), argv[0], argv[i], &e) < 0) {
			fprintf(stderr, "paloma: queue cancel: %s\n", e.msg);
			if (rc == 0)
				rc = e.code;
		} else {
			printf("cancelled <%s> of %s\n", argv[i], argv[0]);
		}
	}
	return rc;
}

static int
queue_flush(const struct pl_opts *o)
{
	struct pl_config c;
	const char *q = pl_queue_dir();
	char lock[4200];
	struct pl_err e;
	char **ids;
	size_t n, due = 0;
	int fd, r;

	if (pl_mkdirs(pl_state_dir(), 0700, &e) < 0)
		return cli_fail(&e);
	snprintf(lock, sizeof lock, "%s/daemon.lock", pl_state_dir());
	r = pl_try_lock(lock, &fd, &e);
	if (r < 0)
		return cli_fail(&e);
	if (r == 0) {
		/* The daemon owns the envelopes: ask it. */
		char reply[256];
		if (pl_ctl_request("flush", reply, sizeof reply, 10000) < 0 ||
		    strncmp(reply, "ok ", 3) != 0) {
			fprintf(stderr, "paloma: queue flush: the daemon holds the queue but does "
			    "not answer on %s\n", pl_ctl_path());
			return EX_TEMPFAIL;
		}
		due = strtoul(reply + 3, NULL, 10);
		printf("%zu recipient%s made due now\n", due, due == 1 ? "" : "s");
		return 0;
	}
	if (pl_queue_list(q, &ids, &n, &e) < 0) {
		close(fd);
		return cli_fail(&e);
	}
	for (size_t i = 0; i < n; i++) {
		struct pl_envelope env;
		int changed = 0;

		if (pl_queue_load(q, ids[i], &env, &e) < 0)
			continue;
		for (size_t j = 0; j < env.nrcpt; j++) {
			struct pl_rcpt *rc = &env.rcpt[j];
			if ((rc->state == PL_RCPT_QUEUED || rc->state == PL_RCPT_DEFERRED) &&
			    rc->next_attempt > pl_now()) {
				rc->next_attempt = pl_now();
				changed = 1;
				due++;
			}
		}
		if (changed && pl_queue_save(q, &env, &e) < 0)
			cli_fail(&e);
		pl_envelope_free(&env);
	}
	pl_queue_ids_free(ids, n);
	close(fd);
	printf("%zu recipient%s made due now\n", due, due == 1 ? "" : "s");
	if (due > 0 && cli_load_config(o, &c) == 0) {
		pl_ctl_wake_or_start(o->config_path, c.autostart, 1);
		pl_config_free(&c);
	}
	return 0;
}

int
cli_queue(const struct pl_opts *o, int argc, char **argv)
{
	const char *cmd = argc > 0 ? argv[0] : "list";

	if (!strcmp(cmd, "list") && argc <= 1)
		return queue_list();
	if (!strcmp(cmd, "show") && argc == 2)
		return queue_show(argv[1]);
	if (!strcmp(cmd, "remove") && argc >= 2)
		return queue_remove(argc - 1, argv + 1);
	if (!strcmp(cmd, "flush") && argc == 1)
		return queue_flush(o);
	if (!strcmp(cmd, "cancel") && argc >= 3)
		return queue_cancel(argc - 1, argv + 1);
	fputs("usage: paloma queue [list | show ID | remove ID… | cancel ID ADDRESS… | flush]\n",
	    stderr);
	return EX_USAGE;
}
