/* index.h — adding delivered files to the notmuch database (libnotmuch).
 *
 * The database lives in the maildir root (<root>/.notmuch) and is opened
 * with no notmuch config file, so that the user's ~/.notmuch-config cannot
 * redirect or reconfigure paloma's writes.  It is created when missing.
 *
 * Only one process may write at a time (Xapian's lock: notmuch new, an MUA
 * tagging, another paloma).  A write session here is short: open, index one
 * file, tag, close.  libnotmuch 0.37 opens with Xapian's DB_RETRY_LOCK, so
 * its open *blocks* while another process holds the lock (it does not fail
 * with NOTMUCH_STATUS_XAPIAN_EXCEPTION): before opening we look at the lock
 * (fcntl F_OFD_GETLK on .notmuch/xapian/flintlock) and, while it is held,
 * wait with back-off (50 ms doubling to 800 ms) for about 5 s before giving
 * up with EX_TEMPFAIL.  A writer that takes the lock between the look and
 * the open still makes the open wait until it is done.  A process using
 * this must never itself hold a database open for writing while idle. */
#ifndef PALOMA_INDEX_H
#define PALOMA_INDEX_H

#include <notmuch.h>

#include "util.h"

/* Opens the database in db_path (the maildir root) for writing, creating
 * it when missing, after waiting out another writer as described above.
 * The caller closes it soon (notmuch_database_close commits) and destroys
 * it.  Errors: EX_TEMPFAIL when it stayed locked, EX_IOERR otherwise. */
int pl_index_open(const char *db_path, notmuch_database_t **db, struct pl_err *e);

/* One line for a notmuch failure: msg (a message the library allocated,
 * freed here; may be NULL) without its line ends, or st's text. */
void pl_index_detail(char *out, size_t len, notmuch_status_t st, char *msg);

/* Indexes file (an absolute path below db_path) and, in one freeze/thaw,
 * adds tags (a NULL-terminated list, may be NULL) and syncs the maildir
 * flags of its name to tags (S → not unread, F → flagged, R → replied…).
 * A message whose Message-ID is already known is fine: the file is added to
 * it and the tags too.
 * db_path: the maildir root (holding or to hold .notmuch).
 * Errors: EX_TEMPFAIL when the database stayed locked, EX_DATAERR when the
 * file is not mail, EX_IOERR otherwise; the text names the database. */
int pl_index_add(const char *db_path, const char *file, const char *const *tags,
    struct pl_err *e);

/* How long pl_index_add waits for another writer, in milliseconds (5000).
 * For tests. */
void pl_index_set_lock_wait(long ms);

#endif
