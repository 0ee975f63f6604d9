/* dkimverify.c — DKIM verification for the client, with its DNS and its
 * memory; see dkimverify.h.  libopendkim (dkim.c) checks the signatures;
 * this file gives it the keys and keeps what was learnt:
 *   - keys by name (selector._domainkey.domain), found or known absent, for
 *     the session: a thread from one list asks once;
 *   - verdicts by message (SHA-256 of its bytes, not its file name, which
 *     changes with its flags, nor its Message-ID, which a forger can copy),
 *     for the session; a temperror only for TEMP_KEEP seconds, so that a
 *     message read while offline is checked again later. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "dkimverify.h"
#include "dnssync.h"
#include "util.h"

#define KEYS_MAX 64
#define SEEN_MAX 256
#define TEMP_KEEP 60

struct key {
	char *name;
	char *rec;		/* NULL: none published */
};

struct seen {
	unsigned char id[32];
	struct pl_dkim_verdict v[PL_DKIMV_MAX];
	int n;
	int64_t until;		/* pl_now() after which it is checked again */
};

struct pl_dkimv {
	pl_dkimv_dns_fn dns;
	void *arg;
	struct pl_dnssync *r;	/* ours, when dns is pl_dnssync_query */
	struct key keys[KEYS_MAX];
	size_t nkeys, nextkey;
	struct seen *seen;
	size_t nseen, nextseen;
	/* the message being verified: how many questions, since when, and
	 * why the last one failed ("" while none has) */
	int asked;
	int64_t first_ms;
	char failed[96];
};

int
pl_dkimv_new(struct pl_dkimv **out, const char *servers, struct pl_err *e)
{
	struct pl_dnssync *r;

	if (pl_dnssync_new(&r, servers, PL_DKIMV_TIMEOUT_MS, e) < 0)
		return -1;
	*out = pl_dkimv_new_dns(pl_dnssync_query, r);
	(*out)->r = r;
	return 0;
}

struct pl_dkimv *
pl_dkimv_new_dns(pl_dkimv_dns_fn dns, void *arg)
{
	struct pl_dkimv *v = xcalloc(1, sizeof *v);

	v->dns = dns;
	v->arg = arg;
	return v;
}

void
pl_dkimv_free(struct pl_dkimv *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nkeys; i++) {
		free(v->keys[i].name);
		free(v->keys[i].rec);
	}
	free(v->seen);
	pl_dnssync_free(v->r);
	free(v);
}

static struct key *
key_find(struct pl_dkimv *v, const char *name)
{
	for (size_t i = 0; i < v->nkeys; i++)
		if (ascii_casecmp(v->keys[i].name, name) == 0)
			return &v->keys[i];
	return NULL;
}

/* Remembers a definite answer, the oldest making room. */
static void
key_keep(struct pl_dkimv *v, const char *name, const char *rec)
{
	struct key *k;

	if (v->nkeys < KEYS_MAX) {
		k = &v->keys[v->nkeys++];
	} else {
		k = &v->keys[v->nextkey];
		v->nextkey = (v->nextkey + 1) % KEYS_MAX;
		free(k->name);
		free(k->rec);
	}
	k->name = xstrdup(name);
	k->rec = rec ? xstrdup(rec) : NULL;
}

/* The record to use among the TXT records at the name: the first that has
 * a key (p=, empty when revoked), else the first. */
static const char *
pick(char **ans, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *p = pl_taglist_get(ans[i], "p", 0);

		free(p);
		if (p)
			return ans[i];
	}
	return ans[0];
}

/* dkim.h's key function: from memory, else from DNS within the limits. */
static int
key_lookup(void *arg, const char *sel, const char *dom, char *rec, size_t reclen, char *why,
    size_t whylen)
{
	struct pl_dkimv *v = arg;
	const struct key *k;
	char name[600], **ans = NULL;
	size_t n = 0;
	int rc;

	snprintf(name, sizeof name, "%s._domainkey.%s", sel, dom);
	if ((k = key_find(v, name)) == NULL) {
		if (*v->failed) {
			snprintf(why, whylen, "%s", v->failed);
			return -1;
		}
		if (v->asked >= PL_DKIMV_LOOKUPS ||
		    (v->asked > 0 && pl_mono_ms() - v->first_ms >= PL_DKIMV_TIMEOUT_MS)) {
			snprintf(why, whylen, "not looked up: too many signatures");
			return -1;
		}
		if (v->asked++ == 0)
			v->first_ms = pl_mono_ms();
		rc = v->dns(v->arg, 16, name, &ans, &n);
		if (rc < 0) {
			snprintf(v->failed, sizeof v->failed, "key lookup failed%s%s",
			    v->r ? ": " : "", v->r ? pl_dnssync_error(v->r) : "");
			snprintf(why, whylen, "%s", v->failed);
			pl_dnssync_free_answers(ans, n);
			return -1;
		}
		key_keep(v, name, rc == 0 && n > 0 ? pick(ans, n) : NULL);
		pl_dnssync_free_answers(ans, n);
		k = key_find(v, name);
	}
	if (k->rec == NULL)
		return 1;
	if (strlen(k->rec) >= reclen) {
		snprintf(why, whylen, "key record too long");
		return -1;
	}
	memcpy(rec, k->rec, strlen(k->rec) + 1);
	return 0;
}

static struct seen *
seen_find(struct pl_dkimv *v, const unsigned char id[32])
{
	int64_t now = pl_now();

	for (size_t i = 0; i < v->nseen; i++)
		if (memcmp(v->seen[i].id, id, 32) == 0 && v->seen[i].until > now)
			return &v->seen[i];
	return NULL;
}

static void
seen_keep(struct pl_dkimv *v, const unsigned char id[32], const struct pl_dkim_verdict *out,
    int n)
{
	struct seen *s = NULL;
	int temp = 0;

	if (v->seen == NULL)
		v->seen = xcalloc(SEEN_MAX, sizeof *v->seen);
	for (size_t i = 0; i < v->nseen && s == NULL; i++)
		if (memcmp(v->seen[i].id, id, 32) == 0)
			s = &v->seen[i];	/* an expired temperror: replaced */
	if (s == NULL && v->nseen < SEEN_MAX) {
		s = &v->seen[v->nseen++];
	} else if (s == NULL) {
		s = &v->seen[v->nextseen];
		v->nextseen = (v->nextseen + 1) % SEEN_MAX;
	}
	memcpy(s->id, id, 32);
	memcpy(s->v, out, (size_t)n * sizeof *out);
	s->n = n;
	for (int i = 0; i < n; i++)
		temp |= out[i].result == PL_DKIM_TEMPERROR;
	s->until = temp ? pl_now() + TEMP_KEEP : INT64_MAX;
}

/* msg with every bare LF made CRLF. */
static void
crlf(const char *msg, size_t len, struct buf *b)
{
	buf_grow(b, len + len / 32 + 2);
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			buf_addc(b, '\r');
		buf_addc(b, msg[i]);
	}
}

int
pl_dkimv_verify(struct pl_dkimv *v, const char *msg, size_t len,
    struct pl_dkim_verdict out[PL_DKIMV_MAX], struct pl_err *e)
{
	unsigned char id[32];
	const struct seen *s;
	struct buf b = { 0 };
	size_t n;
	int rc;

	EVP_Digest(msg, len, id, NULL, EVP_sha256(), NULL);
	if ((s = seen_find(v, id)) != NULL) {
		memcpy(out, s->v, (size_t)s->n * sizeof *out);
		return s->n;
	}
	v->asked = 0;
	v->failed[0] = '\0';
	crlf(msg, len, &b);
	rc = pl_dkim_verify(b.p ? b.p : "", b.len, key_lookup, v, out, PL_DKIMV_MAX, &n, e);
	buf_free(&b);
	if (rc < 0)
		return -1;
	seen_keep(v, id, out, (int)n);
	return (int)n;
}
