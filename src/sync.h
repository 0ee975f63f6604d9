/* sync.h — reading an account's mail in: the parts of `paloma sync`.
 *
 * sync_main.c runs one account after the other: it loads the config, makes
 * the notmuch tags of the account's mail agree with the flags in its file
 * names (local changes, pl_sync_local_changes), starts the indexer (a
 * thread that owns every notmuch write of the run) and calls the engine for
 * the account's protocol: pl_sync_imap (sync_imap.c) or pl_sync_pop3
 * (sync_pop3.c).  The engines talk to the server (libetpan over
 * netstream.c), store mail with syncstate.h's names and keep the state; they
 * never touch notmuch themselves: every change to a file that notmuch must
 * learn about goes through the indexer, and its journal line is written
 * when the indexer reports the change done (pl_ix_reap).
 *
 * Layout: mail of folder F of account A is in <maildir>/A/<pl_folder_local(F)>;
 * its state in <state>/sync/A/ (see syncstate.h). */
#ifndef PALOMA_SYNC_H
#define PALOMA_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "syncstate.h"
#include "util.h"

/* ---- The indexer: notmuch writes in a thread of their own ---- */

/* Work for the indexer.  The engine has already done the file system part
 * (written and synced the file, renamed it, unlinked it); the indexer makes
 * the database agree:
 *   PL_IX_ADD     index path, add the new-mail tags, then the flags of its
 *                 name (S → not unread, F → flagged, R → replied, P →
 *                 passed, D → draft, T → deleted);
 *   PL_IX_RENAME  path was renamed to new_path (flags changed): the database
 *                 learns the new name, forgets the old, and the tags follow
 *                 the new name's flags;
 *   PL_IX_REMOVE  path was unlinked: the database forgets it (a message
 *                 whose last file this was disappears).  When the engine
 *                 does not know the name (the user removed the file), path
 *                 is the folder's directory with a trailing '/' and key the
 *                 message's UID (or POP3 key): the database forgets the
 *                 folder's files (cur/, new/) named with that key that are
 *                 gone from the disk. */
enum pl_ix_kind { PL_IX_ADD, PL_IX_RENAME, PL_IX_REMOVE };

/* A finished piece of work, handed back by pl_ix_reap with what the engine
 * gave: st is the folder state to journal it in (the engine's), key and
 * flags the message's.  ok is 0 when the database refused or stayed locked
 * (an ADD is then journaled as unindexed, and retried by a later sync). */
struct pl_ix_done {
	enum pl_ix_kind kind;
	struct pl_sstate *st;
	uint64_t key;
	unsigned flags;
	int ok;
};

struct pl_ix;

/* Starts the indexer for the notmuch database in maildir_root; new_tags (a
 * NULL-terminated list) go to every added message.  NULL when no thread
 * could be started (e says why). */
struct pl_ix *pl_ix_start(const char *maildir_root, const char *const *new_tags,
    struct pl_err *e);
/* Queues work; paths are copied.  new_path only for PL_IX_RENAME. */
void pl_ix_push(struct pl_ix *ix, enum pl_ix_kind kind, const char *path, const char *new_path,
    struct pl_sstate *st, uint64_t key, unsigned flags);
/* Hands back the work finished since the last call (wait = 0), or all the
 * work queued so far once it is finished (wait = 1).  *out is an array of
 * *n entries the caller frees; journal each with pl_ix_journal. */
void pl_ix_reap(struct pl_ix *ix, int wait, struct pl_ix_done **out, size_t *n);
/* Applies one finished piece of work to its state (in memory, journal
 * queued): ADD → pl_sstate_add (unindexed when !ok) or pl_sstate_set_indexed
 * when the message is already there; RENAME → pl_sstate_set_flags; REMOVE →
 * pl_sstate_remove.  The caller flushes the state afterwards. */
void pl_ix_journal(const struct pl_ix_done *d);
/* Waits for the queue to drain and stops the thread.  Returns the number
 * of work items that failed; e holds the first failure. */
size_t pl_ix_stop(struct pl_ix *ix, struct pl_err *e);

/* notmuch's flag mapping has no T: adds or removes T in the names of m's
 * files as its "deleted" tag says, and tells the database (db, open for
 * writing, of the maildir root) the new names.  For the indexer's local
 * pass and the client's tag changes. */
struct _notmuch_database;
struct _notmuch_message;
int pl_ix_deleted_to_names(struct _notmuch_database *db, struct _notmuch_message *m,
    const char *root, struct pl_err *e);

/* ---- One run ---- */

struct pl_sync_stats {
	unsigned long fetched;		/* new messages stored */
	unsigned long long bytes;	/* their size */
	unsigned long flags_in;		/* local files whose flags the server changed */
	unsigned long flags_out;	/* server messages whose flags we changed */
	unsigned long removed_in;	/* local files removed (gone on the server) */
	unsigned long removed_out;	/* server messages removed (gone locally) */
	unsigned long uploaded;		/* local mail APPENDed */
	unsigned folders;		/* folders synced */
};

struct pl_sync {
	const struct pl_config *cfg;
	const struct pl_account *acct;
	char *account_dir;	/* <maildir>/<account> */
	char *state_dir;	/* <state>/sync/<account> */
	struct pl_ix *ix;
	struct pl_sync_stats st;
	/* Progress, called by the engines (sync_main.c prints it): a folder
	 * starts with total messages (total_bytes) to fetch, then done of them
	 * (done_bytes) are stored. */
	void (*progress)(struct pl_sync *s, const char *folder, unsigned long done,
	    unsigned long total, unsigned long long done_bytes, unsigned long long total_bytes);
	/* Watching INBOX (IDLE): seconds to wait for new mail before returning. */
	long idle_timeout;
	void *user;
};

/* Syncs every folder of the account (IMAP): returns 0, or -1 with e for the
 * first folder that failed (the others are still synced when the
 * connection lives; a failure to connect or log in ends the account). */
int pl_sync_imap(struct pl_sync *s, struct pl_err *e);
/* Logs in, selects INBOX and waits with IDLE for up to s->idle_timeout
 * seconds: 1 when the server announced new mail, 0 when the time ran out,
 * -1 with e when the server has no IDLE (EX_UNAVAILABLE) or failed. */
int pl_sync_imap_idle(struct pl_sync *s, struct pl_err *e);
/* POP3: new messages by UIDL into <account>/INBOX. */
int pl_sync_pop3(struct pl_sync *s, struct pl_err *e);

/* Makes the account's files agree with their tags before the engines run:
 * for every message of <maildir>/<account> changed in notmuch since the
 * last run (notmuch lastmod), renames its files to the flags its tags say
 * (notmuch's synchronize_flags mapping, plus deleted ↔ T).  The revision
 * seen is kept in <state>/sync/<account>/revision.  Holds the database for
 * one short write session. */
int pl_sync_local_changes(struct pl_sync *s, struct pl_err *e);
/* After the engine, before pl_ix_stop (it reads the revisions the
 * indexer's sessions saw, once its queue is drained): when no other writer
 * came between the local pass and the indexer's sessions, records the
 * revision after them, so that the next pass skips this run's own mail. */
int pl_sync_local_done(struct pl_sync *s, struct pl_err *e);

#endif
