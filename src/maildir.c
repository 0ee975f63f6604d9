/* maildir.c — durable Maildir delivery: tmp (O_EXCL) → fsync → close →
 * link into new/ or cur/ → fsync the directory. */
#include "maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "fsutil.h"

static const char *const subdirs[] = { "tmp", "new", "cur" };

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The directory part of path ("." when there is none), into out. */
static void
parent_of(const char *path, char *out, size_t len)
{
	size_t n = strlen(path);
	char *slash;

	snprintf(out, len, "%s", path);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	slash = strrchr(out, '/');
	if (!slash)
		snprintf(out, len, ".");
	else if (slash == out)
		out[1] = '\0';
	else
		*slash = '\0';
}

int
pl_maildir_ensure(const char *maildir, struct pl_err *e)
{
	char p[4096], parent[4096];
	int created_top = 0;

	if (!*maildir)
		return pl_errf(e, EX_CANTCREAT, "empty Maildir folder name");
	if (!is_dir(maildir)) {
		/* Sync each new ancestor into its parent, from the top down. */
		char top[4096];
		snprintf(top, sizeof top, "%s", maildir);
		for (;;) {
			parent_of(top, parent, sizeof parent);
			if (is_dir(parent) || strcmp(parent, top) == 0)
				break;
			snprintf(top, sizeof top, "%s", parent);
		}
		if (pl_mkdirs(maildir, 0700, e) < 0)
			return -1;
		/* top is the highest directory created: its parent needs a sync,
		 * and so does every directory between it and the folder. */
		parent_of(top, parent, sizeof parent);
		if (pl_fsync_dir(parent, e) < 0)
			return -1;
		snprintf(p, sizeof p, "%s", maildir);
		while (strcmp(p, top) != 0) {
			parent_of(p, parent, sizeof parent);
			if (pl_fsync_dir(parent, e) < 0)
				return -1;
			snprintf(p, sizeof p, "%s", parent);
		}
		created_top = 1;
	}
	int made = 0;
	for (size_t i = 0; i < sizeof subdirs / sizeof *subdirs; i++) {
		if ((size_t)snprintf(p, sizeof p, "%s/%s", maildir, subdirs[i]) >= sizeof p)
			return pl_errf(e, EX_CANTCREAT, "Maildir path too long: %s", maildir);
		if (mkdir(p, 0700) == 0)
			made = 1;
		else if (errno != EEXIST || !is_dir(p))
			return pl_errf(e, EX_CANTCREAT, "cannot create directory %s: %s", p,
			    errno == EEXIST ? "not a directory" : strerror(errno));
	}
	if ((made || created_top) && pl_fsync_dir(maildir, e) < 0)
		return -1;
	return 0;
}

/* This host's name for file names: '/' and ':' written \057 and \072. */
static void
host_part(char *esc, size_t len)
{
	char host[256];
	size_t k = 0;

	if (gethostname(host, sizeof host) < 0 || !*host)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	for (const char *h = host; *h && k + 5 < len; h++) {
		if (*h == '/')
			k += (size_t)snprintf(esc + k, len - k, "\\057");
		else if (*h == ':')
			k += (size_t)snprintf(esc + k, len - k, "\\072");
		else
			esc[k++] = *h;
	}
	esc[k] = '\0';
}

void
pl_maildir_unique(char *out, size_t len)
{
	static unsigned long count;
	char esc[1024];
	unsigned char rnd[8];
	struct timeval tv;

	gettimeofday(&tv, NULL);
	host_part(esc, sizeof esc);
	random_bytes(rnd, sizeof rnd);
	snprintf(out, len, "%lld.M%ldP%ldQ%luR%02x%02x%02x%02x%02x%02x%02x%02x.%s",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(), ++count, rnd[0], rnd[1],
	    rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], esc);
}

/* ":2," and the flags sorted and without duplicates; -1 on a bad flag. */
static int
info_suffix(const char *flags, char *out, size_t len)
{
	int seen[128] = { 0 };
	size_t k;

	for (const char *f = flags; *f; f++) {
		unsigned char c = (unsigned char)*f;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
			return -1;
		seen[c] = 1;
	}
	k = (size_t)snprintf(out, len, ":2,");
	for (int c = 0; c < 128 && k + 1 < len; c++)
		if (seen[c])
			out[k++] = (char)c;
	out[k] = '\0';
	return 0;
}

/* Delivers into new/ or cur/ under the base name name; exists (may be
 * NULL) is set when new/NAME was there already (and nothing is written). */
static int
deliver(const char *maildir, const char *name, const char *data, size_t len,
    const char *flags, char **path_out, int *exists, struct pl_err *e)
{
	char info[64] = "", tmp[4096], dst[4096], dstdir[4096];
	int err;

	if (path_out)
		*path_out = NULL;
	if (flags && info_suffix(flags, info, sizeof info) < 0)
		return pl_errf(e, EX_USAGE, "bad Maildir flags '%s' (letters only)", flags);
	if (pl_maildir_ensure(maildir, e) < 0)
		return -1;
	snprintf(dstdir, sizeof dstdir, "%s/%s", maildir, flags ? "cur" : "new");
	if ((size_t)snprintf(tmp, sizeof tmp, "%s/tmp/%s", maildir, name) >= sizeof tmp ||
	    (size_t)snprintf(dst, sizeof dst, "%s/%s%s", dstdir, name, info) >= sizeof dst)
		return pl_errf(e, EX_CANTCREAT, "Maildir path too long: %s", maildir);

	if (pl_write_new(tmp, data, len, e) < 0)
		return -1;
	/* link(2) never replaces an existing file, unlike rename(2); where the
	 * file system has no hard links, renameat2 with RENAME_NOREPLACE. */
	if (link(tmp, dst) < 0) {
		err = errno;
		if ((err == EPERM || err == ENOSYS || err == EOPNOTSUPP || err == EMLINK) &&
		    renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
			goto linked;
		unlink(tmp);
		if (err == EEXIST && exists) {
			*exists = 1;
			if (path_out)
				*path_out = xstrdup(dst);
			return 0;
		}
		return pl_errf(e, err == ENOSPC || err == EDQUOT ? EX_TEMPFAIL : EX_CANTCREAT,
		    "cannot deliver into %s: %s", dstdir, strerror(err));
	}
	unlink(tmp);
linked:
	if (pl_fsync_dir(dstdir, e) < 0) {
		unlink(dst);
		return -1;
	}
	if (path_out)
		*path_out = xstrdup(dst);
	return 0;
}

int
pl_maildir_deliver(const char *maildir, const char *data, size_t len, const char *flags,
    char **path_out, struct pl_err *e)
{
	char name[512];

	pl_maildir_unique(name, sizeof name);
	return deliver(maildir, name, data, len, flags, path_out, NULL, e);
}

/* The path of cur/NAME:2,… in maildir, or NULL. */
static char *
find_in_cur(const char *maildir, const char *name)
{
	char dir[4096];
	size_t n = strlen(name);
	struct dirent *de;
	char *found = NULL;
	DIR *d;

	snprintf(dir, sizeof dir, "%s/cur", maildir);
	if ((d = opendir(dir)) == NULL)
		return NULL;
	while (found == NULL && (de = readdir(d)) != NULL)
		if (!strncmp(de->d_name, name, n) && de->d_name[n] == ':') {
			size_t k = strlen(dir) + strlen(de->d_name) + 2;

			found = xmalloc(k);
			snprintf(found, k, "%s/%s", dir, de->d_name);
		}
	closedir(d);
	return found;
}

int
pl_maildir_deliver_once(const char *maildir, const char *key, const char *data, size_t len,
    char **path_out, struct pl_err *e)
{
	char name[1400], esc[1024], tmp[4096];
	char *there;
	int exists = 0;

	if (path_out)
		*path_out = NULL;
	if (*key == '\0' || *key == '.' || strlen(key) > 256 ||
	    strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
	    strlen(key))
		return pl_errf(e, EX_SOFTWARE, "'%s' cannot be part of a Maildir file name", key);
	host_part(esc, sizeof esc);
	snprintf(name, sizeof name, "%s.%s", key, esc);
	if ((there = find_in_cur(maildir, name)) != NULL) {
		if (path_out)
			*path_out = there;
		else
			free(there);
		return 1;
	}
	/* a tmp/ file of this name is the leftover of a delivery cut short */
	if ((size_t)snprintf(tmp, sizeof tmp, "%s/tmp/%s", maildir, name) < sizeof tmp)
		unlink(tmp);
	if (deliver(maildir, name, data, len, NULL, path_out, &exists, e) < 0)
		return -1;
	return exists;
}
