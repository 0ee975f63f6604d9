/* report.c — build → Maildir for delivery reports (indexing: index.c). */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maildir.h"

const char *const pl_report_tags[] = { "inbox", "unread", "bounce", NULL };

int
pl_report_store(const struct pl_dsn_params *p, const char *maildir_root, const char *account,
    const char *once_key, char **path_out, struct pl_err *e)
{
	struct pl_dsn_params q = *p;
	struct buf msg = { 0 };
	char mid[512], folder[4096];
	char *path = NULL;
	int rc;

	if (path_out)
		*path_out = NULL;
	if (account && (strchr(account, '/') || strcmp(account, ".") == 0 ||
	    strcmp(account, "..") == 0))
		return pl_errf(e, EX_CONFIG, "account name '%s' cannot be a folder name", account);
	if (!q.message_id) {
		pl_dsn_message_id(q.reporting_mta, q.date, mid, sizeof mid);
		q.message_id = mid;
	}
	if (pl_dsn_build(&q, &msg, e) < 0)
		return -1;
	if (account && *account)
		snprintf(folder, sizeof folder, "%s/%s/INBOX", maildir_root, account);
	else
		snprintf(folder, sizeof folder, "%s/INBOX", maildir_root);
	rc = once_key ? pl_maildir_deliver_once(folder, once_key, msg.p, msg.len, &path, e) :
	    pl_maildir_deliver(folder, msg.p, msg.len, NULL, &path, e);
	buf_free(&msg);
	if (rc < 0)
		return -1;
	if (path_out)
		*path_out = path;
	else
		free(path);
	return rc;
}
