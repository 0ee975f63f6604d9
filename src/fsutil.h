/* fsutil.h — the one place where paloma makes writes durable.
 *
 * Every file that must survive a crash (queue entries, envelopes, sync state,
 * Maildir deliveries) goes through pl_write_durable: write a temporary file,
 * fsync it, close it (checked: NFS and quotas report errors there), rename it
 * into place and fsync the directory. */
#ifndef PALOMA_FSUTIL_H
#define PALOMA_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

/* Writes len bytes into dir/name atomically and durably, mode 0600.  On any
 * error the temporary file is removed and name is left as it was. */
int pl_write_durable(const char *dir, const char *name, const void *data, size_t len,
    struct pl_err *e);

/* Creates path (which must not exist), writes len bytes, fsyncs and closes it,
 * mode 0600.  On error the file is removed.  The caller syncs the directory. */
int pl_write_new(const char *path, const void *data, size_t len, struct pl_err *e);

/* The two halves of pl_write_new, so that several files can be written
 * before any is synced (one journal commit serves them all): creates path
 * and writes it, returning the open descriptor (-1 on error, nothing left);
 * then fsyncs and closes it (checked), removing it on error. */
int pl_create_write(const char *path, const void *data, size_t len, struct pl_err *e);
int pl_sync_close(int fd, const char *path, struct pl_err *e);

/* Writes all of len bytes to fd, retrying short writes and EINTR. */
int pl_write_all(int fd, const void *data, size_t len);

/* fsync(2) of a directory, so that entries created or renamed in it persist. */
int pl_fsync_dir(const char *dir, struct pl_err *e);

/* mkdir -p with the given mode for each directory it creates. */
int pl_mkdirs(const char *path, mode_t mode, struct pl_err *e);

/* Removes a directory tree (no symlinks followed). 0 when it is gone. */
int pl_rmtree(const char *path);

/* Reads a whole file (at most max bytes; more is an error with errno EFBIG). */
int pl_read_file(const char *path, size_t max, char **out, size_t *outlen);

/* Reads all of fd until EOF, at most max bytes (then returns -1 with errno EFBIG
 * and *outlen = max + 1 bytes read). */
int pl_read_fd(int fd, size_t max, char **out, size_t *outlen);

/* Takes an exclusive flock(2) on path (created 0600) without waiting.
 * Returns 1 with *fd set when taken, 0 when another process holds it. */
int pl_try_lock(const char *path, int *fd, struct pl_err *e);

#endif
