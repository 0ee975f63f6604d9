/* fsutil.c — durable writes, directory sync, reading whole files. */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int
pl_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
pl_fsync_dir(const char *dir, struct pl_err *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return pl_errf(e, EX_IOERR, "cannot open %s: %s", dir, strerror(errno));
	if (fsync(fd) < 0) {
		int err = errno;
		close(fd);
		return pl_errf(e, EX_IOERR, "cannot sync %s: %s", dir, strerror(err));
	}
	close(fd);
	return 0;
}

static int
enospc_code(int err)
{
	return err == ENOSPC || err == EDQUOT ? EX_TEMPFAIL : EX_IOERR;
}

int
pl_create_write(const char *path, const void *data, size_t len, struct pl_err *e)
{
	int fd, err;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return pl_errf(e, errno == ENOSPC || errno == EDQUOT ? EX_TEMPFAIL : EX_CANTCREAT,
		    "cannot create %s: %s", path, strerror(errno));
	if (pl_write_all(fd, data, len) < 0) {
		err = errno;
		close(fd);
		unlink(path);
		return pl_errf(e, enospc_code(err), "cannot write %s: %s", path, strerror(err));
	}
	return fd;
}

int
pl_sync_close(int fd, const char *path, struct pl_err *e)
{
	int err;

	if (fsync(fd) < 0) {
		err = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) < 0) {
		err = errno;
		goto fail;
	}
	return 0;
fail:
	unlink(path);
	return pl_errf(e, enospc_code(err), "cannot write %s: %s", path, strerror(err));
}

int
pl_write_new(const char *path, const void *data, size_t len, struct pl_err *e)
{
	int fd = pl_create_write(path, data, len, e);

	if (fd < 0)
		return -1;
	return pl_sync_close(fd, path, e);
}

int
pl_write_durable(const char *dir, const char *name, const void *data, size_t len,
    struct pl_err *e)
{
	char tmp[4096], dst[4096];
	unsigned char rnd[6];

	random_bytes(rnd, sizeof rnd);
	snprintf(dst, sizeof dst, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s/.%s.%02x%02x%02x%02x%02x%02x.tmp", dir, name,
	    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	if (pl_write_new(tmp, data, len, e) < 0)
		return -1;
	if (rename(tmp, dst) < 0) {
		int err = errno;
		unlink(tmp);
		return pl_errf(e, enospc_code(err), "cannot rename %s to %s: %s", tmp, dst,
		    strerror(err));
	}
	return pl_fsync_dir(dir, e);
}

int
pl_mkdirs(const char *path, mode_t mode, struct pl_err *e)
{
	char p[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof p)
		return pl_errf(e, EX_CANTCREAT, "bad directory name '%s'", path);
	memcpy(p, path, n + 1);
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, mode) < 0 && errno != EEXIST)
				return pl_errf(e, EX_CANTCREAT, "cannot create directory %s: %s",
				    p, strerror(errno));
			*s = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

int
pl_rmtree(const char *path)
{
	DIR *d;
	struct dirent *de;
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char sub[4096];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
		pl_rmtree(sub);
	}
	closedir(d);
	return rmdir(path);
}

int
pl_read_fd(int fd, size_t max, char **out, size_t *outlen)
{
	struct buf b = { 0 };
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			buf_free(&b);
			return -1;
		}
		if (n == 0)
			break;
		buf_add(&b, chunk, (size_t)n);
		if (b.len > max) {
			*outlen = b.len;
			buf_free(&b);
			errno = EFBIG;
			return -1;
		}
	}
	*outlen = b.len;
	*out = buf_steal(&b);
	return 0;
}

int
pl_read_file(const char *path, size_t max, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r, err;

	if (fd < 0)
		return -1;
	r = pl_read_fd(fd, max, out, outlen);
	err = errno;
	close(fd);
	errno = err;
	return r;
}

int
pl_try_lock(const char *path, int *fd, struct pl_err *e)
{
	int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (f < 0)
		return pl_errf(e, EX_CANTCREAT, "cannot open lock %s: %s", path, strerror(errno));
	if (flock(f, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;
		close(f);
		if (err == EWOULDBLOCK)
			return 0;
		return pl_errf(e, EX_IOERR, "cannot lock %s: %s", path, strerror(err));
	}
	*fd = f;
	return 1;
}
