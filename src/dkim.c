/* dkim.c — DKIM signing and verifying through libopendkim, loaded on
 * demand; see dkim.h.
 *
 * <opendkim/dkim.h> gives the types and prototypes only: the front end is
 * not linked with libopendkim.  The functions come from dlopen() into a
 * table whose entries have the prototypes' own types. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
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
	/* verifying */
	FN(dkim_verify);
	FN(dkim_chunk);
	FN(dkim_set_key_lookup);
	FN(dkim_set_user_context);
	FN(dkim_get_user_context);
	FN(dkim_getsiglist);
	FN(dkim_sig_getflags);
	FN(dkim_sig_getbh);
	FN(dkim_sig_geterror);
	FN(dkim_sig_geterrorstr);
	FN(dkim_sig_getdomain);
	FN(dkim_sig_getselector);
} lib;
#undef FN

/* Loads libopendkim once, for signing or for verifying (what the error
 * message says). */
static int
load(int verify, struct pl_err *e)
{
	const char *soname = getenv("PALOMA_DKIM_LIBRARY");	/* tests only */
	void *h;

	if (lib.handle)
		return 0;
	if (soname == NULL || *soname == '\0')
		soname = DKIM_SONAME;
	if ((h = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return pl_errf(e, EX_UNAVAILABLE, "cannot load %s to %s: %s (install "
		    "libopendkim11%s)", soname, verify ? "verify DKIM signatures" :
		    "sign with DKIM", dlerror(), verify ? "" : ", or remove dkim_key from the account");
#define SYM(name) \
	if ((*(void **)&lib.name = dlsym(h, #name)) == NULL) { \
		dlclose(h); \
		return pl_errf(e, EX_UNAVAILABLE, "%s has no %s: not the libopendkim " \
		    "paloma was built for (install libopendkim11)", soname, #name); \
	}
	SYM(dkim_init) SYM(dkim_close) SYM(dkim_options) SYM(dkim_sign) SYM(dkim_header)
	SYM(dkim_eoh) SYM(dkim_body) SYM(dkim_eom) SYM(dkim_getsighdr_d) SYM(dkim_geterror)
	SYM(dkim_getresultstr) SYM(dkim_free) SYM(dkim_verify) SYM(dkim_chunk)
	SYM(dkim_set_key_lookup) SYM(dkim_set_user_context) SYM(dkim_get_user_context)
	SYM(dkim_getsiglist) SYM(dkim_sig_getflags) SYM(dkim_sig_getbh) SYM(dkim_sig_geterror)
	SYM(dkim_sig_geterrorstr) SYM(dkim_sig_getdomain) SYM(dkim_sig_getselector)
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

/* Feeds msg (CRLF) to d: the header fields one by one, each with its
 * continuation lines and without its final CRLF, the end of the header,
 * the body, the end of the message.  *stage names the step that failed. */
static DKIM_STAT
feed(DKIM *d, const char *msg, size_t len, const char **stage)
{
	const char *p = msg, *end = msg + len, *body;
	DKIM_STAT st;

	*stage = "a header field";
	while (p < end && !(p[0] == '\r' && p + 1 < end && p[1] == '\n')) {
		const char *f = p, *nl;
		size_t hlen;

		do {
			nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl + 1 : end;
		} while (p < end && (*p == ' ' || *p == '\t'));
		hlen = (size_t)(p - f);
		if (hlen >= 2 && f[hlen - 2] == '\r' && f[hlen - 1] == '\n')
			hlen -= 2;
		if ((st = lib.dkim_header(d, (u_char *)(uintptr_t)f, hlen)) != DKIM_STAT_OK)
			return st;
	}
	body = p < end ? p + 2 : end;
	*stage = "the end of the header";
	if ((st = lib.dkim_eoh(d)) != DKIM_STAT_OK)
		return st;
	*stage = "the body";
	if (body < end &&
	    (st = lib.dkim_body(d, (u_char *)(uintptr_t)body, (size_t)(end - body))) !=
	    DKIM_STAT_OK)
		return st;
	*stage = "the signature";
	return lib.dkim_eom(d, NULL);
}

int
pl_dkim_sign(const char *pem, size_t pemlen, const char *selector, const char *domain,
    const char *msg, size_t len, struct buf *sig, struct pl_err *e)
{
	const char *stage;
	DKIM_LIB *dl;
	DKIM *d = NULL;
	DKIM_STAT st;
	unsigned char *hdr;
	size_t hlen;
	int rc = -1;

	(void)pemlen;
	if (load(0, e) < 0)
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
	if ((st = feed(d, msg, len, &stage)) != DKIM_STAT_OK) {
		dkim_fail(d, st, stage, e);
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

/* Verifying. */

/* Signatures whose key lookup failed for now: libopendkim turns the
 * callback's "try again" into a bare error, so the reason is kept here. */
#define VERIFY_TEMP_MAX 8

struct vctx {
	pl_dkim_key_fn key;
	void *arg;
	struct {
		DKIM_SIGINFO *sig;
		char why[96];
	} temp[VERIFY_TEMP_MAX];
	size_t ntemp;
};

/* libopendkim's key lookup, handed to our key function. */
static DKIM_CBSTAT
key_lookup(DKIM *d, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	struct vctx *c = lib.dkim_get_user_context(d);
	const char *sel = (const char *)lib.dkim_sig_getselector(sig);
	const char *dom = (const char *)lib.dkim_sig_getdomain(sig);
	char why[96] = "";
	int rc;

	if (c == NULL || sel == NULL || dom == NULL || buflen == 0)
		return DKIM_CBSTAT_NOTFOUND;
	*buf = '\0';
	rc = c->key(c->arg, sel, dom, (char *)buf, buflen, why, sizeof why);
	if (rc == 0)
		return DKIM_CBSTAT_CONTINUE;
	if (rc > 0)
		return DKIM_CBSTAT_NOTFOUND;
	if (c->ntemp < VERIFY_TEMP_MAX) {
		c->temp[c->ntemp].sig = sig;
		snprintf(c->temp[c->ntemp].why, sizeof c->temp[c->ntemp].why, "%s",
		    *why ? why : "key lookup failed");
		c->ntemp++;
	}
	return DKIM_CBSTAT_TRYAGAIN;
}

static const char *
temp_why(const struct vctx *c, const DKIM_SIGINFO *sig)
{
	for (size_t i = 0; i < c->ntemp; i++)
		if (c->temp[i].sig == sig)
			return c->temp[i].why;
	return NULL;
}

/* One signature's verdict, from what libopendkim made of it. */
static void
verdict(const struct vctx *c, DKIM_SIGINFO *sig, struct pl_dkim_verdict *v)
{
	unsigned flags = lib.dkim_sig_getflags(sig);
	int err = lib.dkim_sig_geterror(sig), bh = lib.dkim_sig_getbh(sig);
	const char *d = (const char *)lib.dkim_sig_getdomain(sig), *t = temp_why(c, sig);
	const char *what = lib.dkim_sig_geterrorstr(err);

	memset(v, 0, sizeof *v);
	snprintf(v->domain, sizeof v->domain, "%s", d ? d : "");
	v->result = PL_DKIM_PERMERROR;
	switch (err) {
	case DKIM_SIGERROR_OK:
	case DKIM_SIGERROR_UNKNOWN:
		if (t) {
			v->result = PL_DKIM_TEMPERROR;
			snprintf(v->why, sizeof v->why, "%s", t);
		} else if ((flags & DKIM_SIGFLAG_PASSED) && bh == DKIM_SIGBH_MATCH) {
			v->result = PL_DKIM_PASS;
		} else if (bh == DKIM_SIGBH_MISMATCH) {
			v->result = PL_DKIM_FAIL;
			snprintf(v->why, sizeof v->why, "body hash did not verify");
		} else {
			/* never processed: libopendkim itself failed */
			v->result = PL_DKIM_TEMPERROR;
			snprintf(v->why, sizeof v->why, "could not be checked");
		}
		return;
	case DKIM_SIGERROR_BADSIG:
		/* libopendkim says BADSIG for either: the body is checked only
		 * once the signature over the header holds */
		v->result = PL_DKIM_FAIL;
		snprintf(v->why, sizeof v->why, "%s", bh == DKIM_SIGBH_MISMATCH ?
		    "body hash did not verify" : "signature did not verify");
		return;
	case DKIM_SIGERROR_EXPIRED:
	case DKIM_SIGERROR_FUTURE:
		v->result = PL_DKIM_FAIL;
		snprintf(v->why, sizeof v->why, "%s", err == DKIM_SIGERROR_EXPIRED ?
		    "signature expired" : "signature dated in the future");
		return;
	case DKIM_SIGERROR_KEYFAIL:
		v->result = PL_DKIM_TEMPERROR;
		snprintf(v->why, sizeof v->why, "key lookup failed");
		return;
	case DKIM_SIGERROR_NOKEY:
		snprintf(v->why, sizeof v->why, "no key published");
		return;
	case DKIM_SIGERROR_KEYREVOKED:
		snprintf(v->why, sizeof v->why, "key revoked");
		return;
	case DKIM_SIGERROR_KEYTOOSMALL:
	case DKIM_SIGERROR_DNSSYNTAX:
	case DKIM_SIGERROR_MULTIREPLY:
	case DKIM_SIGERROR_KEYVERSION:
	case DKIM_SIGERROR_KEYUNKNOWNHASH:
	case DKIM_SIGERROR_KEYHASHMISMATCH:
	case DKIM_SIGERROR_NOTEMAILKEY:
	case DKIM_SIGERROR_KEYTYPEMISSING:
	case DKIM_SIGERROR_KEYTYPEUNKNOWN:
	case DKIM_SIGERROR_KEYDECODE:
		snprintf(v->why, sizeof v->why, "bad key: %s", what ? what : "unusable");
		return;
	default:
		snprintf(v->why, sizeof v->why, "bad signature%s%s", what ? ": " : "",
		    what ? what : "");
		return;
	}
}

int
pl_dkim_verify(const char *msg, size_t len, pl_dkim_key_fn key, void *arg,
    struct pl_dkim_verdict *out, size_t max, size_t *n, struct pl_err *e)
{
	/* Malformed signatures are reported, not dropped; a header that DKIM
	 * cannot vouch for (two From fields, no Date) fails as a whole; keys
	 * are fetched at the end of the message, where a key that cannot be
	 * fetched now fails its signature only, not the whole verification. */
	unsigned int flags = DKIM_LIBFLAGS_BADSIGHANDLES | DKIM_LIBFLAGS_STRICTHDRS |
	    DKIM_LIBFLAGS_DELAYSIGPROC;
	struct vctx c = { 0 };
	DKIM_SIGINFO **sigs = NULL;
	const char *stage;
	DKIM_LIB *dl;
	DKIM *d;
	DKIM_STAT st;
	int nsigs = 0;

	*n = 0;
	if (load(1, e) < 0)
		return -1;
	if ((dl = lib.dkim_init(NULL, NULL)) == NULL)
		return pl_errf(e, EX_OSERR, "cannot start libopendkim");
	c.key = key;
	c.arg = arg;
	if (lib.dkim_options(dl, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) !=
	    DKIM_STAT_OK || lib.dkim_set_key_lookup(dl, key_lookup) != DKIM_STAT_OK ||
	    (d = lib.dkim_verify(dl, (const unsigned char *)"paloma", NULL, &st)) == NULL) {
		lib.dkim_close(dl);
		return pl_errf(e, EX_OSERR, "cannot start libopendkim to verify");
	}
	lib.dkim_set_user_context(d, &c);
	st = feed(d, msg, len, &stage);
	if (st != DKIM_STAT_NOSIG && max > 0 &&
	    lib.dkim_getsiglist(d, &sigs, &nsigs) == DKIM_STAT_OK && nsigs > 0) {
		for (int i = 0; i < nsigs && *n < max; i++)
			if (!(lib.dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE))
				verdict(&c, sigs[i], &out[(*n)++]);
	} else if (st != DKIM_STAT_NOSIG && max > 0) {
		/* refused before its signatures were looked at */
		const char *why = lib.dkim_geterror(d);

		memset(out, 0, sizeof *out);
		out->result = PL_DKIM_PERMERROR;
		snprintf(out->why, sizeof out->why, "%s", why && *why ? why :
		    lib.dkim_getresultstr(st));
		*n = 1;
	}
	lib.dkim_free(d);
	lib.dkim_close(dl);
	return 0;
}
