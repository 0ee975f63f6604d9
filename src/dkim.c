/* dkim.c — DKIM signing through libopendkim, loaded on demand; see dkim.h.
 *
 * <opendkim/dkim.h> gives the types and prototypes only: the front end is
 * not linked with libopendkim.  The functions come from dlopen() into a
 * table whose entries have the prototypes' own types. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <opendkim/dkim.h>

#include "addr.h"
#include "dkim.h"
#include "fsutil.h"
#include "sevenbit.h"
#include "util.h"

#define DKIM_SONAME "libopendkim.so.11"

const char *const pl_dkim_headers[] = {
	"From", "Sender", "Reply-To", "To", "Cc", "Subject", "Date", "Message-ID",
	"In-Reply-To", "References", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "Content-Disposition", "Content-ID",
	"Content-Description", "Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc",
	"Resent-Date", "Resent-Message-ID", "List-Id", "List-Unsubscribe",
	"List-Unsubscribe-Post", "Autocrypt", "OpenPGP", NULL
};

static const char *const oversign[] = { "From", NULL };

#define FN(name) __typeof__(&name) name
static struct {
	void *handle;
	FN(dkim_init);
	FN(dkim_close);
	FN(dkim_options);
	FN(dkim_sign);
	FN(dkim_header);
	FN(dkim_eoh);
	FN(dkim_body);
	FN(dkim_eom);
	FN(dkim_getsighdr_d);
	FN(dkim_geterror);
	FN(dkim_getresultstr);
	FN(dkim_free);
} lib;
#undef FN

static int
load(struct pl_err *e)
{
	const char *soname = getenv("PALOMA_DKIM_LIBRARY");	/* tests only */
	void *h;

	if (lib.handle)
		return 0;
	if (soname == NULL || *soname == '\0')
		soname = DKIM_SONAME;
	if ((h = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return pl_errf(e, EX_UNAVAILABLE, "cannot load %s to sign with DKIM: %s "
		    "(install libopendkim11, or remove dkim_key from the account)", soname,
		    dlerror());
#define SYM(name) \
	if ((*(void **)&lib.name = dlsym(h, #name)) == NULL) { \
		dlclose(h); \
		return pl_errf(e, EX_UNAVAILABLE, "%s has no %s: not the libopendkim " \
		    "paloma was built for (install libopendkim11)", soname, #name); \
	}
	SYM(dkim_init) SYM(dkim_close) SYM(dkim_options) SYM(dkim_sign) SYM(dkim_header)
	SYM(dkim_eoh) SYM(dkim_body) SYM(dkim_eom) SYM(dkim_getsighdr_d) SYM(dkim_geterror)
	SYM(dkim_getresultstr) SYM(dkim_free)
#undef SYM
	lib.handle = h;
	return 0;
}

int
pl_dkim_read_key(const char *path, char **pem, size_t *len, struct pl_err *e)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return pl_errf(e, EX_CONFIG, "cannot read the DKIM key %s: %s%s", path,
		    strerror(errno), errno == ENOENT ? " (make one with `paloma dkim keygen`)" :
		    "");
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return pl_errf(e, EX_CONFIG, "the DKIM key %s is not a regular file", path);
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		return pl_errf(e, EX_CONFIG, "the DKIM key %s is open to others (mode %04o): "
		    "a private key must be private; chmod 600 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
	}
	if (pl_read_fd(fd, 1 << 20, pem, len) < 0) {
		int err = errno;
		close(fd);
		return pl_errf(e, EX_CONFIG, "cannot read the DKIM key %s: %s", path,
		    err == EFBIG ? "larger than 1 MB, not a key" : strerror(err));
	}
	close(fd);
	if (*len == 0 || strstr(*pem, "-----BEGIN ") == NULL) {
		free(*pem);
		*pem = NULL;
		return pl_errf(e, EX_CONFIG, "the DKIM key %s is not a PEM private key", path);
	}
	return 0;
}

const char *
pl_dkim_domain(const struct pl_account *a)
{
	return a->dkim_domain ? a->dkim_domain : pl_addr_domain(a->address);
}

/* A failure of libopendkim in one line. */
static int
dkim_fail(DKIM *d, DKIM_STAT st, const char *what, struct pl_err *e)
{
	const char *why = d ? lib.dkim_geterror(d) : NULL;

	if (why == NULL || *why == '\0')
		why = lib.dkim_getresultstr(st);
	return pl_errf(e, st == DKIM_STAT_NORESOURCE ? EX_OSERR : EX_CONFIG,
	    "DKIM signing failed at %s: %s", what, why ? why : "unknown error");
}

int
pl_dkim_sign(const char *pem, size_t pemlen, const char *selector, const char *domain,
    const char *msg, size_t len, struct buf *sig, struct pl_err *e)
{
	const char *p = msg, *end = msg + len, *body;
	DKIM_LIB *dl;
	DKIM *d = NULL;
	DKIM_STAT st;
	unsigned char *hdr;
	size_t hlen;
	int rc = -1;

	(void)pemlen;
	if (load(e) < 0)
		return -1;
	if ((dl = lib.dkim_init(NULL, NULL)) == NULL)
		return pl_errf(e, EX_OSERR, "cannot start libopendkim");
	if ((st = lib.dkim_options(dl, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
	    (void *)pl_dkim_headers, sizeof(char **))) != DKIM_STAT_OK ||
	    (st = lib.dkim_options(dl, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
	    (void *)oversign, sizeof(char **))) != DKIM_STAT_OK) {
		dkim_fail(NULL, st, "setting the header fields", e);
		goto out;
	}
	d = lib.dkim_sign(dl, (const unsigned char *)"paloma", NULL,
	    (dkim_sigkey_t)(uintptr_t)pem, (const unsigned char *)selector,
	    (const unsigned char *)domain, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
	    DKIM_SIGN_RSASHA256, -1, &st);
	if (d == NULL) {
		dkim_fail(NULL, st, "the key", e);
		goto out;
	}
	/* Header fields, each with its continuation lines, without the final
	 * CRLF; then the body after the blank line. */
	while (p < end && !(p[0] == '\r' && p + 1 < end && p[1] == '\n')) {
		const char *f = p, *nl;

		do {
			nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl + 1 : end;
		} while (p < end && (*p == ' ' || *p == '\t'));
		hlen = (size_t)(p - f);
		if (hlen >= 2 && f[hlen - 2] == '\r' && f[hlen - 1] == '\n')
			hlen -= 2;
		if ((st = lib.dkim_header(d, (u_char *)(uintptr_t)f, hlen)) != DKIM_STAT_OK) {
			dkim_fail(d, st, "a header field", e);
			goto out;
		}
	}
	body = p < end ? p + 2 : end;
	if ((st = lib.dkim_eoh(d)) != DKIM_STAT_OK) {
		dkim_fail(d, st, "the end of the header", e);
		goto out;
	}
	if (body < end &&
	    (st = lib.dkim_body(d, (u_char *)(uintptr_t)body, (size_t)(end - body))) !=
	    DKIM_STAT_OK) {
		dkim_fail(d, st, "the body", e);
		goto out;
	}
	if ((st = lib.dkim_eom(d, NULL)) != DKIM_STAT_OK) {
		dkim_fail(d, st, "the signature", e);
		goto out;
	}
	if ((st = lib.dkim_getsighdr_d(d, sizeof "DKIM-Signature: " - 1, &hdr, &hlen)) !=
	    DKIM_STAT_OK) {
		dkim_fail(d, st, "the signature field", e);
		goto out;
	}
	/* libopendkim folds with a bare LF: SMTP and verifiers want CRLF. */
	buf_adds(sig, "DKIM-Signature: ");
	for (size_t i = 0; i < hlen; i++) {
		if (hdr[i] == '\r')
			continue;
		if (hdr[i] == '\n')
			buf_addc(sig, '\r');
		buf_addc(sig, (char)hdr[i]);
	}
	buf_adds(sig, "\r\n");
	rc = 0;
out:
	if (d)
		lib.dkim_free(d);
	lib.dkim_close(dl);
	return rc;
}

int
pl_dkim_sign_message(const struct pl_account *a, struct buf *text, struct pl_err *e)
{
	struct buf seven = { 0 }, sig = { 0 };
	const struct buf *msg = text;
	char *pem;
	size_t pemlen;
	int rc;

	if (pl_dkim_read_key(a->dkim_key, &pem, &pemlen, e) < 0)
		return -1;
	if (pl_7bit_convert(text->p, text->len, &seven) > 0)
		msg = &seven;
	rc = pl_dkim_sign(pem, pemlen, a->dkim_selector, pl_dkim_domain(a), msg->p, msg->len,
	    &sig, e);
	explicit_bzero(pem, pemlen);
	free(pem);
	if (rc == 0) {
		buf_add(&sig, msg->p, msg->len);
		buf_free(text);
		*text = sig;
	} else
		buf_free(&sig);
	buf_free(&seven);
	return rc;
}
