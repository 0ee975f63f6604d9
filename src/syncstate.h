/* syncstate.h — what a sync knows about one folder, kept crash-safe.
 *
 * Mail read in from a server is stored in a Maildir folder under names that
 * say where it came from (see doc/SYNC.md):
 *
 *   <unique>,S=<size>,U=<uid>:2,<flags>     IMAP: the UID in its folder
 *   <unique>,S=<size>,P=<16 hex>:2,<flags>  POP3: the first 8 bytes of
 *                                            SHA-256(UIDL), in hex
 *
 * S= is the file's size in bytes (as in Maildir++): a file adopted after a
 * crash must have it, or it is a torn write and is fetched again.
 * <unique> is pl_maildir_unique()'s name.  A file of new/ has no ":2," part
 * (its flags are none).  A file without ",U=" or ",P=" is local mail the
 * sync has not seen yet (for example a copy of a sent message to upload).
 *
 * The folder's state (struct pl_sstate) holds the UIDVALIDITY, the highest
 * MODSEQ and UIDNEXT last seen, and one record per message: its key (IMAP
 * UID or POP3 key), the flags both sides agreed on at the last sync (the
 * base of the three-way flag merge) and whether it still waits to be
 * indexed.  It lives in two files of the account's state directory:
 *
 *   <name>.state    a snapshot, replaced atomically (tmp, fsync, rename)
 *   <name>.journal  the changes since, one line each, appended
 *
 * Loading reads the snapshot then replays the journal; a torn last journal
 * line (a crash while writing it) is ignored.  The order that makes a crash
 * harmless: (1) record the intent to fetch a UID range and flush, (2) write
 * the messages and sync them to disk, (3) journal them as added and flush.
 * A file found after a crash with a ",U=" inside an open intent range but
 * not in the state was fetched by the interrupted run: it is adopted, not
 * fetched again.  A ",U=" file outside every intent range and unknown to
 * the state was moved in from another folder by the user: it is new local
 * mail (uploaded, then renamed).
 *
 * State files are 0600 in 0700 directories.  All functions here are
 * single-threaded; none talks to a server or to notmuch. */
#ifndef PALOMA_SYNCSTATE_H
#define PALOMA_SYNCSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Maildir flags, one bit each.  IMAP: \Draft, \Flagged, $Forwarded,
 * \Answered, \Seen, \Deleted.  Other letters in a name are kept as they are
 * but not synced. */
enum {
	PL_FL_D = 1 << 0,	/* draft */
	PL_FL_F = 1 << 1,	/* flagged */
	PL_FL_P = 1 << 2,	/* passed (forwarded) */
	PL_FL_R = 1 << 3,	/* replied */
	PL_FL_S = 1 << 4,	/* seen */
	PL_FL_T = 1 << 5,	/* trashed (deleted) */
	PL_FL_ALL = (1 << 6) - 1
};

/* The synced flags among the letters of a Maildir info ("RS", "FST…"). */
unsigned pl_flags_parse(const char *letters);
/* "DFPRST" order, NUL-terminated; out must hold 7 bytes. */
void pl_flags_format(unsigned flags, char *out);
/* The flag bit of one letter (0 for a letter not synced), and a decimal
 * number of n digits up to max (-1 when not one); for syncstate.c and
 * mailfile.c, which both read them. */
int pl_flag_bit(unsigned char c);
int pl_field_num(const char *p, size_t n, uint64_t max, uint64_t *out);
/* Three-way merge of one message's flags: for each flag, the side that
 * changed it since base wins (when both changed it they agree). */
unsigned pl_flags_merge(unsigned base, unsigned local, unsigned remote);

/* One message file of a folder, as read from its name. */
struct pl_mfile {
	char *name;		/* base name in cur/ or new/ */
	int in_new;		/* 1: new/, 0: cur/ */
	int kind;		/* 'U' (IMAP), 'P' (POP3), 0 (local mail) */
	uint64_t key;		/* UID, or the POP3 key; 0 when kind is 0 */
	unsigned flags;		/* from the ":2," info; 0 in new/ */
	long long size;		/* from ",S=", or -1 */
};

/* Lists the message files of folder/cur and folder/new (not tmp/, not
 * subfolders; names starting with '.' skipped), sorted by (kind, key).
 * A missing folder is an empty list.  Free with pl_mfiles_free. */
int pl_folder_scan(const char *folder, struct pl_mfile **files, size_t *n, struct pl_err *e);
void pl_mfiles_free(struct pl_mfile *files, size_t n);
/* Binary search in a pl_folder_scan list; NULL when absent. */
struct pl_mfile *pl_mfile_find(struct pl_mfile *files, size_t n, int kind, uint64_t key);
/* Reads kind, key, flags and size from a base name, as pl_folder_scan does
 * (name and in_new are left alone).  A ",U=" must be 1..4294967295 and a
 * ",P=" 16 hex digits, else the file is local mail (kind 0). */
void pl_mfile_parse(const char *name, struct pl_mfile *m);

/* A new file name for a message of kind 'U' or 'P' with key, size and
 * flags: "<unique>,S=<size>,U=<key>:2,<flags>" (always with the ":2,"
 * info: synced mail goes to cur/). */
void pl_mfile_name(char *out, size_t len, int kind, uint64_t key, size_t size,
    unsigned flags);
/* name with its synced flags replaced by flags (other info letters kept,
 * ":2," added when missing), for a rename in cur/. */
void pl_mfile_rename(char *out, size_t len, const char *name, unsigned flags);
/* The same name with ",U=<key>" (or ",P=") put in, for local mail the
 * server has just accepted (APPENDUID); with size >= 0 also ",S=<size>"
 * (replacing any S= the name had: it must be the file's true size, for a
 * crash recovery to trust it), -1 keeps the name's S= as it is. */
void pl_mfile_with_key(char *out, size_t len, const char *name, int kind, uint64_t key,
    long long size, unsigned flags);
/* Stores a fetched message in folder/cur/ under a pl_mfile_name (kind,
 * key, flags, and the size actually written), returned in name_out: written
 * to folder/tmp/ (O_EXCL, 0600), checked close(), renamed into cur/ —
 * without fsync: the caller syncs a whole batch with pl_folder_sync before
 * journaling it.  crlf: the data has CRLF line ends (IMAP, POP3), stored
 * as LF (a lone CR is kept).  On error nothing is left in tmp/ or cur/; a
 * full disk is EX_TEMPFAIL.  The folder must exist (pl_maildir_ensure). */
int pl_mfile_store(const char *folder, int kind, uint64_t key, unsigned flags,
    const char *data, size_t len, int crlf, char *name_out, size_t name_len,
    struct pl_err *e);
/* Makes every file stored so far in the folder durable: syncfs() on the
 * folder's file system, then fsync of cur/ (one flush per batch instead of
 * one per message). */
int pl_folder_sync(const char *folder, struct pl_err *e);

/* The POP3 key of a UIDL: the first 8 bytes of its SHA-256, big-endian. */
uint64_t pl_pop3_key(const char *uidl);

/* The folder name on the server (modified UTF-7, hierarchy delimiter delim,
 * 0 for none) as a relative path below the account's Maildir: UTF-8, one
 * directory per level; '/', '%', a leading '.' and names "." and ".." are
 * written %2F, %25, %2E, and a level named "cur", "new" or "tmp" (a
 * Maildir's own directories) has its first letter written %63, %6E, %74.
 * "INBOX" stays "INBOX".  Empty levels and control characters are refused.  NULL when name is not
 * valid modified UTF-7.  The caller frees it. */
char *pl_folder_local(const char *name, char delim);
/* The reverse, for local folders to create on the server; NULL when the
 * path cannot be a folder name. */
char *pl_folder_remote(const char *local, char delim);

struct pl_smsg {
	uint64_t key;
	unsigned flags;
	unsigned char unindexed;	/* stored but not yet in notmuch */
};

struct pl_srange {
	uint64_t lo, hi;	/* inclusive */
};

struct pl_sstate {
	char *path;		/* "<dir>/<name>" without .state/.journal */
	uint32_t uidvalidity;	/* 0: never synced */
	uint64_t highestmodseq;	/* 0: unknown or no CONDSTORE */
	uint32_t uidnext;
	struct pl_smsg *msgs;	/* sorted by key */
	size_t n, cap;
	struct pl_srange *intents;	/* open fetch intents */
	size_t nintents;
	struct buf pending;	/* journal lines not yet written */
	int jfd;		/* journal, O_APPEND; -1 until needed */
	size_t jlines;		/* lines in the journal, to decide compaction */
	uint64_t gen;		/* snapshot generation the journal continues */
};

/* Loads <dir>/<name>.state and replays <dir>/<name>.journal (creating dir,
 * 0700, when missing; no files: an empty state).  name is made safe for one
 * file name here ('/' → %2F, '%' → %25, leading '.' → %2E).  A damaged
 * snapshot is an error (EX_DATAERR, naming the file and line); a damaged
 * journal line is an error unless it is the last line and has no newline. */
int pl_sstate_open(struct pl_sstate *s, const char *dir, const char *name, struct pl_err *e);
void pl_sstate_close(struct pl_sstate *s);

struct pl_smsg *pl_sstate_find(struct pl_sstate *s, uint64_t key);
/* 1 when key lies in an open intent range. */
int pl_sstate_intended(const struct pl_sstate *s, uint64_t key);

/* Changes, in memory at once and queued for the journal (written by
 * pl_sstate_flush, which callers run after the mail is on disk). */
void pl_sstate_add(struct pl_sstate *s, uint64_t key, unsigned flags, int unindexed);
void pl_sstate_set_flags(struct pl_sstate *s, uint64_t key, unsigned flags);
void pl_sstate_set_indexed(struct pl_sstate *s, uint64_t key);
void pl_sstate_remove(struct pl_sstate *s, uint64_t key);
void pl_sstate_set_modseq(struct pl_sstate *s, uint64_t modseq);
void pl_sstate_set_uidnext(struct pl_sstate *s, uint32_t uidnext);
/* A new UIDVALIDITY: forgets every message record and intent, and the
 * MODSEQ and UIDNEXT (they belong to the old one).  The same value again
 * changes nothing. */
void pl_sstate_set_uidvalidity(struct pl_sstate *s, uint32_t uidvalidity);

/* Records the intent to fetch keys lo..hi, and flushes (with fdatasync)
 * before returning: call it before writing any of those messages. */
int pl_sstate_intent(struct pl_sstate *s, uint64_t lo, uint64_t hi, struct pl_err *e);
/* Writes the queued journal lines and fdatasyncs the journal. */
int pl_sstate_flush(struct pl_sstate *s, struct pl_err *e);
/* Writes a fresh snapshot (tmp, fsync, rename, fsync dir) without the
 * intents, then empties the journal.  Call when the folder is done. */
int pl_sstate_compact(struct pl_sstate *s, struct pl_err *e);

#endif
