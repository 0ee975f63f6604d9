/* report.h — putting a delivery report where the user reads mail.
 *
 * pl_dsn_deliver is the I/O half of reports: dsn.c builds the message
 * (pure), maildir.c delivers it durably, index.c makes it visible in the
 * client with the tags inbox, unread and bounce.  pl_dsn_deliver does all
 * three (it lives in index.c, with the notmuch code); the daemon, which does
 * not link notmuch, calls pl_report_store and leaves the indexing to the
 * paloma-index helper (bounce.c), so a locked database never stalls it. */
#ifndef PALOMA_REPORT_H
#define PALOMA_REPORT_H

#include "dsn.h"
#include "util.h"

/* The tags a report gets: inbox, unread, bounce (NULL-terminated). */
extern const char *const pl_report_tags[];

/* Builds the report described by p and delivers it into the Maildir folder
 * <maildir_root>/<account>/INBOX (<maildir_root>/INBOX when account is NULL
 * or ""), into new/, creating the folder when missing; then indexes it in
 * the notmuch database of maildir_root with pl_report_tags.
 * p->message_id may be NULL: a fresh one is made (pl_dsn_message_id).
 * *path_out (if path_out is not NULL) receives the delivered file's path.
 * Returns:
 *   0  delivered and indexed;
 *   1  delivered (durably: do not write it again) but not indexed, e.g. the
 *      database stayed locked; e says why, for the log.  `notmuch new` finds
 *      the file later, without the bounce tag;
 *  -1  not delivered (null sender, bad account name, disk errors): e says why. */
int pl_dsn_deliver(const struct pl_dsn_params *p, const char *maildir_root,
    const char *account, char **path_out, struct pl_err *e);

/* The first half of pl_dsn_deliver, without notmuch: builds the report and
 * delivers it into the Maildir folder; 0 or -1.  The daemon, which does not
 * link notmuch, then has paloma-index index the file (bounce.c).
 * once_key non-NULL: the report is written at most once under that key
 * (pl_maildir_deliver_once); 1 when it was there already, *path_out its
 * path.  So a daemon killed after writing a report, before saving that it
 * did, does not write it twice. */
int pl_report_store(const struct pl_dsn_params *p, const char *maildir_root,
    const char *account, const char *once_key, char **path_out, struct pl_err *e);

#endif
