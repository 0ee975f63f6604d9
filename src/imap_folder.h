/* imap_folder.h — what imap_folder.c (one folder's sync) shares with
 * imap_resync.c (a new UIDVALIDITY); internal to the IMAP engine. */
#ifndef PALOMA_IMAP_FOLDER_H
#define PALOMA_IMAP_FOLDER_H

#include <stddef.h>
#include <stdint.h>

#include "imap_session.h"
#include "sync.h"
#include "syncstate.h"

#define BATCH_MSGS 200
#define BATCH_BYTES (4u << 20)
#define SET_RANGES 400		/* ranges per command: keeps lines short */
#define MAX_UPLOAD (256u << 20)

struct rflag {
	uint32_t uid;
	unsigned flags;
};

struct newmsg {
	uint32_t uid;
	uint32_t size;
};

struct fsync {
	struct pl_sync *s;
	struct pl_imap *c;
	const char *name;	/* on the server */
	char *dir;		/* the Maildir folder */
	int upload_only;
	int inbox;
	struct pl_sstate st;
	int st_open;
	struct pl_mfile *files;
	size_t nfiles;
	char *gone;		/* per file: unlinked or renamed away by this run */
	uint32_t uidvalidity, uidnext, exists;
	uint64_t modseq;	/* HIGHESTMODSEQ at SELECT */
	int selected;
	/* remote changes */
	int full;		/* rem holds every message up to `upto` */
	uint32_t upto;
	struct rflag *rem;
	size_t nrem, caprem;
	uint32_t *van;		/* vanished UIDs (sorted) */
	size_t nvan, capvan;
	int have_van_list;	/* van is complete (QRESYNC's VANISHED) */
};

/* qsort, but fine with no elements (and a NULL base). */
void imap_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
void imap_fpath(const struct fsync *f, const struct pl_mfile *m, char *out, size_t len);
int imap_cmp_mfile(const void *a, const void *b);
void imap_push_u32(uint32_t **v, size_t *n, size_t *cap, uint32_t x);
/* UID FETCH items: UID, FLAGS, RFC822.SIZE, BODY.PEEK[],
 * BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]. */
struct mailimap_fetch_type *imap_fetch_type(int uid, int flags, int size, int body, int msgid);
/* A new UIDVALIDITY: no message, MODSEQ or UIDNEXT of the old one counts. */
void imap_new_uidvalidity(struct fsync *f, uint32_t uv);
/* What a UID FETCH of flags answered (res: its result list), into f->rem:
 * the messages with a UID and FLAGS. */
void imap_take_fetch(struct fsync *f, clist *res);
/* Every VANISHED of the last command's responses (first: the one libetpan
 * returned, the others still in its response info), as UIDs of f->st,
 * into f->van. */
void imap_take_vanished(struct fsync *f, struct mailimap_qresync_vanished *first);

/* sync_imap.c: the folders of an account. */
struct imap_listing {
	struct mailimap_mailbox_list **mb;	/* LIST's answers with a name */
	size_t n;
	clist *raw;
	char delim;		/* INBOX's (else the first folder's) delimiter */
	const char *sent;	/* the \Sent special-use folder, or NULL */
};

struct imap_want {
	char *name;		/* on the server */
	int upload_only;
};

/* LIST "" "*" into l; 0, or -1 with e.  imap_listing_free it after a 0. */
int imap_list_folders(struct pl_imap *c, struct imap_listing *l, struct pl_err *e);
void imap_listing_free(struct imap_listing *l);
/* The folders to sync, as the account asks (every selectable one for
 * "*"), each once, the sent folder last (upload-only unless synced);
 * returns the sent folder's server name. */
const char *imap_choose_folders(const struct pl_account *a, const struct imap_listing *l,
    struct imap_want **v, size_t *n);

/* imap_resync.c: the folder's UIDVALIDITY is not the state's — local files
 * matched to the server's messages by Message-ID (content where that is
 * missing or ambiguous), renamed to their new UIDs; unmatched old ones
 * removed; the state starts over with the matched ones. */
int imap_resync(struct fsync *f, struct pl_err *e);

#endif
