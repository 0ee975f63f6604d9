/* maildir.h — durable delivery into a Maildir folder.
 *
 * A folder is a directory holding cur/, new/ and tmp/ (Maildir, as described
 * at cr.yp.to/proto/maildir.html; Maildir++ subfolders are plain folders to
 * this module).  A delivery writes tmp/NAME with O_EXCL, fsyncs it, checks
 * close(), links it into new/NAME (or cur/NAME:2,FLAGS), removes tmp/NAME and
 * fsyncs the destination directory: once pl_maildir_deliver returns 0 the
 * message survives a crash, and no reader ever sees half a file.
 *
 * NAME is "SECONDS.M<usec>P<pid>Q<n>R<random>.HOST": unique per process
 * (Q counts deliveries), per host and per microsecond, with 64 random bits
 * besides; HOST has '/' and ':' written as \057 and \072.  Files are 0600,
 * directories 0700. */
#ifndef PALOMA_MAILDIR_H
#define PALOMA_MAILDIR_H

#include <stddef.h>

#include "util.h"

/* Makes the folder and its cur/, new/ and tmp/ (0700, parents too) when
 * missing, and fsyncs the directories it created into their parents. */
int pl_maildir_ensure(const char *maildir, struct pl_err *e);

/* Delivers len bytes into the folder maildir (created when missing).
 * flags NULL: into new/ (unseen mail, the usual delivery).  flags non-NULL:
 * into cur/ with the info ":2,FLAGS" (FLAGS sorted, duplicates dropped; only
 * ASCII letters are allowed, e.g. "S" seen, "RS" replied+seen, "" none).
 * *path_out (if path_out is not NULL) receives the delivered file's path, to
 * free.  On error (EX_CANTCREAT, EX_IOERR, EX_TEMPFAIL for a full disk,
 * EX_USAGE for bad flags) nothing is left behind in tmp/, new/ or cur/. */
int pl_maildir_deliver(const char *maildir, const char *data, size_t len, const char *flags,
    char **path_out, struct pl_err *e);

/* The unique base name for the next delivery (no ":2," info), as above. */
void pl_maildir_unique(char *out, size_t len);

/* Delivers into new/ as pl_maildir_deliver does, but at most once per key:
 * the file is "KEY.HOST" (key: letters, digits, '.', '_', '-'; by
 * convention "SECONDS.UNIQUE" as in pl_maildir_unique), and when new/ or
 * cur/ (as "KEY.HOST:2,…", read or flagged since) holds it already,
 * nothing is written and 1 is returned with its path.  For what a crash may
 * make a program write twice (the daemon's reports). 0 delivered, -1 with
 * e as pl_maildir_deliver. */
int pl_maildir_deliver_once(const char *maildir, const char *key, const char *data,
    size_t len, char **path_out, struct pl_err *e);

#endif
