/* syncer.h — the daemon's side of reading mail in.
 *
 * The daemon links neither libetpan nor notmuch: it runs the paloma-sync
 * helper as child processes.  Every sync_interval it runs
 * `paloma-sync -q` for all accounts; for each IMAP account it keeps a
 * watcher `paloma-sync --idle ACCOUNT` waiting on INBOX, and when the
 * watcher reports new mail it syncs that account at once and watches
 * again.  A server without IDLE is left to the timer; a watcher that fails
 * is restarted after a back-off (1 min, doubling, at most sync_interval).
 * The children's error output goes to the daemon's log file. */
#ifndef PALOMA_SYNCER_H
#define PALOMA_SYNCER_H

#include <sys/types.h>

#include "config.h"
#include "event.h"

struct pl_syncer;

/* log_path: the file the children's stderr is appended to. */
struct pl_syncer *pl_syncer_new(struct pl_loop *loop, const struct pl_config *cfg,
    const char *config_path, const char *log_path);
/* New settings (SIGHUP): watchers are restarted, the timer re-armed. */
void pl_syncer_set_config(struct pl_syncer *y, const struct pl_config *cfg);
/* Called on SIGCHLD: reaps the syncer's own children (and only those). */
void pl_syncer_reap(struct pl_syncer *y);
/* Stops: SIGTERM to every child, reaped within a second, SIGKILL after. */
void pl_syncer_free(struct pl_syncer *y);

#endif
