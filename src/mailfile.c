/* mailfile.c — synced message files: flags, names, scanning a folder,
 * storing fetched mail (tmp → cur without a per-message fsync; one sync per
 * batch), and the POP3 key of a UIDL.  See syncstate.h for the names. */
#include "syncstate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fsutil.h"
#include "maildir.h"

static const char flag_letters[] = "DFPRST";

/* ---- Flags ---- */

int
pl_flag_bit(unsigned char c)
{
	switch (c) {
	case 'D': return PL_FL_D;
	case 'F': return PL_FL_F;
	case 'P': return PL_FL_P;
	case 'R': return PL_FL_R;
	case 'S': return PL_FL_S;
	case 'T': return PL_FL_T;
	}
	return 0;
}

unsigned
pl_flags_parse(const char *letters)
{
	unsigned f = 0;

	for (; *letters; letters++)
		f |= (unsigned)pl_flag_bit((unsigned char)*letters);
	return f;
}

void
pl_flags_format(unsigned flags, char *out)
{
	size_t k = 0;

	for (int i = 0; i < 6; i++)
		if (flags & (1u << i))
			out[k++] = flag_letters[i];
	out[k] = '\0';
}

unsigned
pl_flags_merge(unsigned base, unsigned local, unsigned remote)
{
	/* A flag either side changed is the opposite of base (if both changed
	 * it, they agree); one nobody changed stays as base. */
	return (((local ^ base) | (remote ^ base)) ^ base) & PL_FL_ALL;
}

/* ---- Message file names ---- */

/* The base (before ":2,") and the info (after it, NULL when none). */
static size_t
name_split(const char *name, const char **info)
{
	const char *p = strstr(name, ":2,");

	*info = p ? p + 3 : NULL;
	return p ? (size_t)(p - name) : strlen(name);
}

int
pl_field_num(const char *p, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)p[i] - '0';
		if (d > 9 || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int
field_hex16(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n != 16)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

void
pl_mfile_parse(const char *name, struct pl_mfile *m)
{
	const char *info, *p, *end, *comma;
	size_t blen = name_split(name, &info);
	uint64_t v;

	m->kind = 0;
	m->key = 0;
	m->size = -1;
	m->flags = info ? pl_flags_parse(info) : 0;
	/* The first component is the unique part; fields follow, each
	 * ",X=value", in any order (Dovecot adds W=, others their own).  The
	 * first valid one of a kind counts. */
	end = name + blen;
	p = memchr(name, ',', blen);
	while (p && p < end) {
		p++;
		comma = memchr(p, ',', (size_t)(end - p));
		size_t n = (size_t)((comma ? comma : end) - p);
		if (n >= 2 && p[1] == '=') {
			if (p[0] == 'U' && m->kind == 0 &&
			    pl_field_num(p + 2, n - 2, UINT32_MAX, &v) == 0 && v > 0) {
				/* UID 0 does not exist: such a file is not the
				 * server's, or the sync would delete it there. */
				m->kind = 'U';
				m->key = v;
			} else if (p[0] == 'P' && m->kind == 0 &&
			    field_hex16(p + 2, n - 2, &v) == 0) {
				m->kind = 'P';
				m->key = v;
			} else if (p[0] == 'S' && m->size < 0 &&
			    pl_field_num(p + 2, n - 2, INT64_MAX, &v) == 0)
				m->size = (long long)v;
		}
		p = comma;
	}
}

static void
put_key(struct buf *b, int kind, uint64_t key)
{
	if (kind == 'P')
		buf_printf(b, ",P=%016" PRIx64, key);
	else
		buf_printf(b, ",U=%" PRIu64, key);
}

/* ":2," and the info letters: old's unsynced bytes plus flags, sorted,
 * without duplicates. */
static void
put_info(struct buf *b, const char *old, unsigned flags)
{
	unsigned char seen[256] = { 0 };

	if (old)
		for (const unsigned char *p = (const unsigned char *)old; *p; p++)
			if (!pl_flag_bit(*p))
				seen[*p] = 1;
	for (int i = 0; i < 6; i++)
		if (flags & (1u << i))
			seen[(unsigned char)flag_letters[i]] = 1;
	buf_adds(b, ":2,");
	for (int c = 1; c < 256; c++)
		if (seen[c])
			buf_addc(b, (char)c);
}

static void
copy_out(char *out, size_t len, struct buf *b)
{
	if (len > 0)
		snprintf(out, len, "%s", b->p ? b->p : "");
	buf_free(b);
}

void
pl_mfile_name(char *out, size_t len, int kind, uint64_t key, size_t size, unsigned flags)
{
	struct buf b = { 0 };
	char uniq[512];

	pl_maildir_unique(uniq, sizeof uniq);
	buf_printf(&b, "%s,S=%zu", uniq, size);
	put_key(&b, kind, key);
	put_info(&b, NULL, flags);
	copy_out(out, len, &b);
}

void
pl_mfile_rename(char *out, size_t len, const char *name, unsigned flags)
{
	struct buf b = { 0 };
	const char *info;
	size_t blen = name_split(name, &info);

	buf_add(&b, name, blen);
	put_info(&b, info, flags);
	copy_out(out, len, &b);
}

/* Part of a base name, with ':' written \072 (as in pl_maildir_unique's
 * host names): a base ending in ":2" followed by the new ",U=" would
 * otherwise read as the start of the info. */
static void
put_base(struct buf *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ':')
			buf_adds(b, "\\072");
		else
			buf_addc(b, p[i]);
	}
}

void
pl_mfile_with_key(char *out, size_t len, const char *name, int kind, uint64_t key,
    long long size, unsigned flags)
{
	struct buf b = { 0 };
	const char *info, *p, *end, *comma;
	size_t blen = name_split(name, &info);

	/* Keep the unique part and every field but an old key (a file moved
	 * in from another folder carries that folder's UID) and, when the
	 * size is given, an old S= (it must be the file's true size). */
	end = name + blen;
	comma = memchr(name, ',', blen);
	put_base(&b, name, (size_t)((comma ? comma : end) - name));
	for (p = comma; p && p < end; p = comma) {
		comma = memchr(p + 1, ',', (size_t)(end - p - 1));
		size_t n = (size_t)((comma ? comma : end) - p);
		if (n >= 3 && (p[1] == 'U' || p[1] == 'P') && p[2] == '=')
			continue;
		if (size >= 0 && n >= 3 && p[1] == 'S' && p[2] == '=')
			continue;
		put_base(&b, p, n);
	}
	if (size >= 0)
		buf_printf(&b, ",S=%lld", size);
	put_key(&b, kind, key);
	put_info(&b, info, flags);
	copy_out(out, len, &b);
}

/* ---- Scanning a folder ---- */

static int
mfile_cmp(const void *a, const void *b)
{
	const struct pl_mfile *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int
scan_sub(const char *folder, const char *sub, struct pl_mfile **v, size_t *n, size_t *cap,
    struct pl_err *e)
{
	char path[4096];
	struct dirent *de;
	DIR *d;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", folder, sub) >= sizeof path)
		return pl_errf(e, EX_SOFTWARE, "folder path too long: %s", folder);
	if ((d = opendir(path)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return pl_errf(e, EX_IOERR, "cannot read %s: %s", path, strerror(errno));
	}
	for (;;) {
		struct pl_mfile *m;
		struct stat st;

		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (de->d_name[0] == '.' || de->d_type == DT_DIR)
			continue;
		if (de->d_type == DT_UNKNOWN &&
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode))
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			*v = xrealloc(*v, *cap * sizeof **v);
		}
		m = &(*v)[(*n)++];
		m->name = xstrdup(de->d_name);
		m->in_new = sub[0] == 'n';
		pl_mfile_parse(m->name, m);
	}
	if (errno != 0) {
		int err = errno;
		closedir(d);
		return pl_errf(e, EX_IOERR, "cannot read %s: %s", path, strerror(err));
	}
	closedir(d);
	return 0;
}

int
pl_folder_scan(const char *folder, struct pl_mfile **files, size_t *n, struct pl_err *e)
{
	struct pl_mfile *v = NULL;
	size_t nv = 0, cap = 0;

	*files = NULL;
	*n = 0;
	if (scan_sub(folder, "cur", &v, &nv, &cap, e) < 0 ||
	    scan_sub(folder, "new", &v, &nv, &cap, e) < 0) {
		pl_mfiles_free(v, nv);
		return -1;
	}
	if (nv > 1)
		qsort(v, nv, sizeof *v, mfile_cmp);
	*files = v;
	*n = nv;
	return 0;
}

void
pl_mfiles_free(struct pl_mfile *files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(files[i].name);
	free(files);
}

struct pl_mfile *
pl_mfile_find(struct pl_mfile *files, size_t n, int kind, uint64_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pl_mfile *m = &files[mid];
		if (m->kind < kind || (m->kind == kind && m->key < key))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && files[lo].kind == kind && files[lo].key == key)
		return &files[lo];
	return NULL;
}

/* ---- Storing fetched mail ---- */

static int
io_code(int err)
{
	return err == ENOSPC || err == EDQUOT ? EX_TEMPFAIL : EX_IOERR;
}

/* Writes data with each CRLF as LF, through a buffer: one write per line
 * would cost a system call per line of every message. */
static int
write_lf(int fd, const char *p, size_t n)
{
	char out[65536];
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		out[k++] = p[i];
		if (k == sizeof out) {
			if (pl_write_all(fd, out, k) < 0)
				return -1;
			k = 0;
		}
	}
	return k ? pl_write_all(fd, out, k) : 0;
}

int
pl_mfile_store(const char *folder, int kind, uint64_t key, unsigned flags,
    const char *data, size_t len, int crlf, char *name_out, size_t name_len,
    struct pl_err *e)
{
	char name[1024], tmp[4096], dst[4096];
	size_t size = len;
	int fd, err;

	if (crlf)
		for (const char *p = data, *end = data + len;
		    (p = memchr(p, '\r', (size_t)(end - p))) != NULL; p++)
			if (p + 1 < end && p[1] == '\n')
				size--;
	pl_mfile_name(name, sizeof name, kind, key, size, flags);
	if (strlen(name) >= name_len)
		return pl_errf(e, EX_SOFTWARE, "message file name too long for its buffer: %s", name);
	if ((size_t)snprintf(tmp, sizeof tmp, "%s/tmp/%s", folder, name) >= sizeof tmp ||
	    (size_t)snprintf(dst, sizeof dst, "%s/cur/%s", folder, name) >= sizeof dst)
		return pl_errf(e, EX_SOFTWARE, "folder path too long: %s", folder);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return pl_errf(e, errno == ENOSPC || errno == EDQUOT ? EX_TEMPFAIL : EX_CANTCREAT,
		    "cannot create %s: %s", tmp, strerror(errno));
	if ((crlf ? write_lf(fd, data, len) : pl_write_all(fd, data, len)) < 0) {
		err = errno;
		close(fd);
		goto fail;
	}
	/* NFS and quotas report a failed write at close. */
	if (close(fd) < 0) {
		err = errno;
		goto fail;
	}
	if (rename(tmp, dst) < 0) {
		err = errno;
		unlink(tmp);
		return pl_errf(e, io_code(err), "cannot rename %s into %s/cur: %s", tmp, folder,
		    strerror(err));
	}
	snprintf(name_out, name_len, "%s", name);
	return 0;
fail:
	unlink(tmp);
	return pl_errf(e, io_code(err), "cannot write %s: %s", tmp, strerror(err));
}

int
pl_folder_sync(const char *folder, struct pl_err *e)
{
	char cur[4096];
	int fd, err;

	fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return pl_errf(e, EX_IOERR, "cannot open %s: %s", folder, strerror(errno));
	/* One flush of the file system covers every file of the batch. */
	if (syncfs(fd) < 0) {
		err = errno;
		close(fd);
		return pl_errf(e, io_code(err), "cannot sync %s: %s", folder, strerror(err));
	}
	close(fd);
	if ((size_t)snprintf(cur, sizeof cur, "%s/cur", folder) >= sizeof cur)
		return pl_errf(e, EX_SOFTWARE, "folder path too long: %s", folder);
	return pl_fsync_dir(cur, e);
}

uint64_t
pl_pop3_key(const char *uidl)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	uint64_t k = 0;

	if (!EVP_Digest(uidl, strlen(uidl), md, &mdlen, EVP_sha256(), NULL) || mdlen < 8)
		abort();	/* SHA-256 does not fail: OpenSSL is broken */
	for (int i = 0; i < 8; i++)
		k = k << 8 | md[i];
	return k;
}
