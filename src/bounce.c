/* bounce.c — the daemon's reports to the sender, from an envelope's state. */
#include "bounce.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "fsutil.h"
#include "log.h"
#include "report.h"

/* Runs paloma-index on the report, detached (double fork: nothing to reap
 * later, and the daemon's loop does not wait for the notmuch database). */
static void
index_later(const char *root, const char *path)
{
	char helper[4300];
	pid_t pid;
	int status;

	pl_helper_path("paloma-index", helper, sizeof helper);
	pid = fork();
	if (pid < 0) {
		pl_log("cannot start %s for %s: %s", helper, path, strerror(errno));
		return;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		if (fork() != 0)
			_exit(0);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
		}
		execl(helper, "paloma-index", root, path, "inbox", "unread", "bounce", (char *)NULL);
		pl_log("cannot run %s: %s", helper, strerror(errno));
		_exit(127);
	}
	waitpid(pid, &status, 0);
}

int
pl_bounce_write(const struct pl_config *c, const struct pl_envelope *env,
    enum pl_bounce_kind kind, struct pl_err *e)
{
	enum pl_rcpt_state want = kind == PL_BOUNCE_FAILED ? PL_RCPT_FAILED : PL_RCPT_DEFERRED;
	const char *action = kind == PL_BOUNCE_FAILED ? "failed" : "delayed";
	struct pl_dsn_rcpt *r = xcalloc(env->nrcpt, sizeof *r);
	struct pl_dsn_params p = { 0 };
	char *orig = NULL, *path = NULL, key[128];
	size_t n = 0, len = 0;
	uint32_t h = 2166136261u;	/* FNV-1a of the recipients' numbers */
	int rc;

	for (size_t k = 0; k < env->nrcpt; k++)
		if (env->rcpt[k].state == want) {
			pl_dsn_rcpt_from_env(&r[n++], env, k, action,
			    env->created + c->max_lifetime);
			for (size_t b = 0; b < sizeof k; b++)
				h = (h ^ (uint8_t)(k >> (8 * b))) * 16777619u;
		}
	if (n == 0) {
		free(r);
		return 0;
	}
	/* One report per entry, kind and set of recipients, even when the
	 * daemon is killed before it saves that the report is written. */
	snprintf(key, sizeof key, "%lld.paloma-%s-%s-%08" PRIx32, (long long)env->created,
	    env->id, action, h);
	/* The original's header goes into the report; without it (the file
	 * is damaged or gone) the report still says what happened. */
	if (pl_read_file(pl_queue_message_path(pl_queue_dir(), env->id),
	    (size_t)c->max_message_size + (1 << 20), &orig, &len) < 0) {
		orig = NULL;
		len = 0;
	}
	p.env = env;
	p.rcpt = r;
	p.nrcpt = n;
	p.reporting_mta = c->helo_name;
	p.orig = orig ? orig : "";
	p.orig_len = len;
	p.date = pl_now();
	rc = pl_report_store(&p, c->maildir, env->account, key, &path, e);
	if (rc == 1)
		pl_log("%s: the %s report was written before the daemon stopped: %s",
		    env->id, action, path);
	/* Indexed now, unless it was there already and a client has since
	 * moved it to cur/: then it is indexed and maybe archived, and
	 * indexing it again would put it back in the inbox. */
	if (rc == 0 || (rc == 1 && strstr(path, "/cur/") == NULL))
		index_later(c->maildir, path);
	free(path);
	free(orig);
	free(r);
	return rc < 0 ? -1 : 0;
}
