/* addrbook.h — address completion from the notmuch database: the people one
 * has written to or heard from, most recent first. */
#ifndef PALOMA_ADDRBOOK_H
#define PALOMA_ADDRBOOK_H

/* The best address for prefix (matched case-insensitively against the start
 * of the display name, of any word of it, or of the mailbox), as
 * "Name <local@domain>", among the From/To/Cc of the newest messages that
 * notmuch finds for `from:PREFIX* or to:PREFIX*`.  A new string, or NULL
 * when nothing matches or there is no database. */
char *pl_addrbook_complete(const char *db_path, const char *prefix);

#endif
