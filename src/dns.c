/* dns.c — delivery routes over c-ares, driven by the caller's poll loop.
 * The outcomes and their status codes are listed at the top of dns.h.
 *
 * A lookup goes through two stages:
 *   MX    one MX query for the domain;
 *   ADDR  an AAAA and an A query for every MX host kept (for the domain
 *         itself when it has no MX: implicit MX), all at once.
 * Each c-ares query carries a small struct query naming its lookup and
 * host; the lookup counts its queries in flight.  When the last one has
 * answered, or the lookup's deadline passes, the lookup is finished: its
 * route is built and it moves from the active list to the ready list, whose
 * callbacks pl_dns_process() calls.  So a callback never runs inside
 * pl_dns_route() or inside c-ares, and c-ares may call our query callbacks
 * at any time (even from within ares_query()) without harm.
 *
 * A lookup finished by its deadline stays allocated until c-ares has
 * answered its remaining queries, whose answers are then dropped.
 *
 * With DANE on (pl_dns_set_dane) there is a third stage:
 *   TLSA  a TLSA query for _25._tcp.HOST of every host with an address,
 *         when the MX answer was authenticated (RFC 7672 2.2).
 * The MX and TLSA queries are then built here with the AD bit set
 * (RFC 6840 5.7: a validating resolver then says in the AD bit of its reply
 * whether it validated the answer) and sent with ares_send(), whose answers
 * we judge ourselves (pl_dns_answer_status).  Only a resolver the user
 * trusts, over a trusted path (a local unbound), makes that bit worth
 * anything.
 *
 * We use ares_query() (not ares_search, not ares_getaddrinfo): no search
 * domains, no /etc/hosts, and the status of every query is ours to judge,
 * so that "one MX host failed temporarily" stays distinguishable from "it
 * does not exist".
 *
 * VIOLATION: RFC 7505 wants a null MX to be the only MX record.  When one
 * comes beside real MX records we ignore it and use the others. */
#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "dns.h"

enum { CLASS_IN = 1, TYPE_A = 1, TYPE_MX = 15, TYPE_AAAA = 28, TYPE_TLSA = 52 };
enum { STAGE_MX, STAGE_ADDR, STAGE_TLSA };
#define PENDING (-1000)		/* not an ares status */

struct host {
	char *name;
	int pref;
	struct in6_addr v6[PL_DNS_MAX_ADDRS];
	struct in_addr v4[PL_DNS_MAX_ADDRS];
	size_t n6, n4;
	int st6, st4;		/* ares status of the AAAA and A queries, or PENDING */
	int tlsa_asked;		/* a TLSA query was sent */
	int tlsa_st;		/* its ares status, or PENDING */
	int tlsa_ad;		/* its answer was authenticated */
	struct pl_tlsa tlsa[PL_DNS_MAX_TLSA];
	size_t ntlsa;
};

struct lookup {
	struct pl_dns *d;
	char *domain;		/* as asked, final dot removed */
	pl_route_cb cb;
	void *arg;
	int64_t deadline;	/* monotonic ms */
	int stage;
	int outstanding;	/* c-ares queries in flight */
	int active;		/* on d->active */
	int finished;		/* route built: on d->ready or delivered */
	int delivered;		/* callback called */
	int expired;		/* finished by the deadline */
	struct host *hosts;
	size_t nhosts;
	size_t nnull;		/* null MX records seen */
	int dane;		/* DANE was on when the lookup started */
	int mx_ad;		/* the MX answer was authenticated */
	int host_only;		/* PL_DNS_HOST: no MX query */
	struct pl_route *r;	/* set once finished (or early, by fail()) */
	struct lookup *prev, *next;
};

struct list {
	struct lookup *head, *tail;
};

struct pl_dns {
	ares_channel ch;
	int timeout_ms;
	int closing;
	int npending;
	int dane, assume_ad;	/* pl_dns_set_dane */
	struct list active;	/* in start order, hence by deadline */
	struct list ready;	/* finished, callback not yet called */
};

struct query {
	struct lookup *lk;
	int type;
	size_t host;
	int sent;		/* by ares_send: the answer is ours to judge */
};

static void
list_add(struct list *l, struct lookup *lk)
{
	lk->next = NULL;
	lk->prev = l->tail;
	if (l->tail)
		l->tail->next = lk;
	else
		l->head = lk;
	l->tail = lk;
}

static void
list_del(struct list *l, struct lookup *lk)
{
	if (lk->prev)
		lk->prev->next = lk->next;
	else
		l->head = lk->next;
	if (lk->next)
		lk->next->prev = lk->prev;
	else
		l->tail = lk->prev;
	lk->prev = lk->next = NULL;
}

/* ---- Pure parts --------------------------------------------------------- */

enum pl_dns_result
pl_dns_classify(int st, const char **text)
{
	const char *t;
	enum pl_dns_result res = PL_DNS_TEMPFAIL;

	switch (st) {
	case ARES_SUCCESS:	res = PL_DNS_OK; t = "answered"; break;
	case ARES_ENOTFOUND:	res = PL_DNS_PERMFAIL; t = "no such domain (NXDOMAIN)"; break;
	case ARES_ENODATA:	res = PL_DNS_PERMFAIL; t = "no record of that type"; break;
	case ARES_EBADNAME:	res = PL_DNS_PERMFAIL; t = "not a valid domain name"; break;
	case ARES_ESERVFAIL:	t = "DNS server failure (SERVFAIL)"; break;
	case ARES_EREFUSED:	t = "the DNS server refused to answer (REFUSED)"; break;
	/* c-ares 1.18.1 tries the next server on a SERVFAIL or REFUSED answer
	 * and, when none is left, reports ECONNREFUSED, as for no server at all */
	case ARES_ECONNREFUSED:	t = "no DNS server answered it (SERVFAIL, REFUSED or unreachable)"; break;
	case ARES_ETIMEOUT:	t = "the DNS server did not answer in time"; break;
	case ARES_EFORMERR:	t = "the DNS server could not parse the query (FORMERR)"; break;
	case ARES_ENOTIMP:	t = "the DNS server does not implement the query (NOTIMP)"; break;
	case ARES_EBADRESP:	t = "malformed DNS answer"; break;
	case ARES_ENOMEM:	t = "out of memory"; break;
	case ARES_EDESTRUCTION:
	case ARES_ECANCELLED:	t = "cancelled"; break;
	default:		t = ares_strerror(st); break;
	}
	if (text)
		*text = t;
	return res;
}

int
pl_dns_answer_status(const unsigned char *abuf, int alen, int *ad)
{
	int rcode, ancount;

	*ad = 0;
	if (abuf == NULL || alen < 12)
		return ARES_EBADRESP;
	*ad = (abuf[3] & 0x20) != 0;
	rcode = abuf[3] & 0x0f;
	ancount = abuf[6] << 8 | abuf[7];
	switch (rcode) {
	case 0:  return ancount > 0 ? ARES_SUCCESS : ARES_ENODATA;
	case 1:  return ARES_EFORMERR;
	case 2:  return ARES_ESERVFAIL;
	case 3:  return ARES_ENOTFOUND;
	case 4:  return ARES_ENOTIMP;
	case 5:  return ARES_EREFUSED;
	default: return ARES_EBADRESP;
	}
}

/* Skips a (possibly compressed) name at *pos; -1 when it runs off the end. */
static int
skip_name(const unsigned char *p, size_t len, size_t *pos)
{
	while (*pos < len) {
		unsigned c = p[*pos];

		if (c == 0) {
			(*pos)++;
			return 0;
		}
		if ((c & 0xc0) == 0xc0) {
			if (*pos + 2 > len)
				return -1;
			*pos += 2;
			return 0;
		}
		if (c & 0xc0)
			return -1;	/* extended label types: not in answers */
		*pos += 1 + c;
	}
	return -1;
}

int
pl_dns_parse_tlsa(const unsigned char *p, int alen, struct pl_tlsa *tlsa, size_t max)
{
	size_t len = alen > 0 ? (size_t)alen : 0, pos = 12, n = 0;
	unsigned qd, an;

	if (len < 12)
		return -1;
	qd = (unsigned)p[4] << 8 | p[5];
	an = (unsigned)p[6] << 8 | p[7];
	for (unsigned i = 0; i < qd; i++) {
		if (skip_name(p, len, &pos) < 0 || pos + 4 > len)
			return -1;
		pos += 4;
	}
	for (unsigned i = 0; i < an; i++) {
		unsigned type, rdlen;

		if (skip_name(p, len, &pos) < 0 || pos + 10 > len)
			goto bad;
		type = (unsigned)p[pos] << 8 | p[pos + 1];
		rdlen = (unsigned)p[pos + 8] << 8 | p[pos + 9];
		pos += 10;
		if (pos + rdlen > len)
			goto bad;
		/* other types (a CNAME on the way) are skipped */
		if (type == TYPE_TLSA && rdlen >= 3 && n < max) {
			tlsa[n].usage = p[pos];
			tlsa[n].selector = p[pos + 1];
			tlsa[n].mtype = p[pos + 2];
			tlsa[n].len = rdlen - 3;
			tlsa[n].data = xmalloc(rdlen - 3 + 1);
			memcpy(tlsa[n].data, p + pos + 3, rdlen - 3);
			n++;
		}
		pos += rdlen;
	}
	return (int)n;
bad:
	for (size_t i = 0; i < n; i++)
		free(tlsa[i].data);
	return -1;
}

int
pl_dns_tlsa_usable(const struct pl_tlsa *t)
{
	if (t->usage != 2 && t->usage != 3)
		return 0;
	if (t->selector > 1)
		return 0;
	switch (t->mtype) {
	case 0:  return t->len > 0;
	case 1:  return t->len == 32;
	case 2:  return t->len == 64;
	default: return 0;
	}
}

static uint32_t
default_rnd(void *arg)
{
	uint32_t x;

	(void)arg;
	random_bytes(&x, sizeof x);
	return x;
}

static int
by_pref(const void *a, const void *b)
{
	const struct pl_mx *x = a, *y = b;

	return (x->pref > y->pref) - (x->pref < y->pref);
}

void
pl_dns_sort_mx(struct pl_mx *mx, size_t n, uint32_t (*rnd)(void *), void *rarg)
{
	if (n < 2)
		return;
	if (!rnd)
		rnd = default_rnd;
	qsort(mx, n, sizeof *mx, by_pref);
	for (size_t i = 0; i < n; ) {
		size_t j = i + 1;
		while (j < n && mx[j].pref == mx[i].pref)
			j++;
		/* Fisher-Yates over mx[i..j) */
		for (size_t k = j - 1; k > i; k--) {
			size_t m = i + rnd(rarg) % (k - i + 1);
			struct pl_mx t = mx[k];
			mx[k] = mx[m];
			mx[m] = t;
		}
		i = j;
	}
}

int
pl_dns_literal(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char in[64];
	size_t n;

	if (s[0] != '[')
		return 0;
	n = strlen(s);
	if (n < 3 || s[n - 1] != ']' || n - 2 >= sizeof in)
		return -1;
	memcpy(in, s + 1, n - 2);
	in[n - 2] = '\0';
	memset(ss, 0, sizeof *ss);
	if (ascii_ncasecmp(in, "IPv6:", 5) == 0) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, in + 5, &a->sin6_addr) != 1)
			return -1;
		a->sin6_family = AF_INET6;
		*len = sizeof *a;
		return 1;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		/* other tags (General-address-literal) are not supported */
		if (inet_pton(AF_INET, in, &a->sin_addr) != 1)
			return -1;
		a->sin_family = AF_INET;
		*len = sizeof *a;
		return 1;
	}
}

int
pl_dns_valid_domain(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c >= 0x80))
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

/* ---- Routes ------------------------------------------------------------- */

void
pl_route_free(struct pl_route *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nmx; i++) {
		free(r->mx[i].host);
		free(r->mx[i].addrs);
		free(r->mx[i].addrlens);
		for (size_t k = 0; k < r->mx[i].ntlsa; k++)
			free(r->mx[i].tlsa[k].data);
		free(r->mx[i].tlsa);
		free(r->mx[i].tlsa_why);
	}
	free(r->mx);
	free(r->why);
	free(r->domain);
	free(r);
}

static struct pl_route *
route_new(struct lookup *lk)
{
	struct pl_route *r = xcalloc(1, sizeof *r);

	r->domain = xstrdup(lk->domain);
	return r;
}

/* Sets lk's outcome to a failure; the lookup is finished by the caller. */
static void fail(struct lookup *lk, enum pl_dns_result res, const char *status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fail(struct lookup *lk, enum pl_dns_result res, const char *status, const char *fmt, ...)
{
	struct buf b = { 0 };
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	buf_adds(&b, s ? s : "DNS lookup failed");
	free(s);
	pl_route_free(lk->r);
	lk->r = route_new(lk);
	lk->r->result = res;
	snprintf(lk->r->status, sizeof lk->r->status, "%s", status);
	lk->r->why = buf_steal(&b);
}

/* Why a host has no address: 1 (temporary) or 0 (permanent), phrase in *t. */
static int
host_failure(const struct lookup *lk, const struct host *h, const char **t)
{
	int st6 = h->st6 == PENDING ? ARES_ETIMEOUT : h->st6;
	int st4 = h->st4 == PENDING ? ARES_ETIMEOUT : h->st4;

	if (lk->d->closing)
		st6 = st4 = ARES_ECANCELLED;
	if (pl_dns_classify(st4, t) == PL_DNS_TEMPFAIL)
		return 1;
	if (pl_dns_classify(st6, t) == PL_DNS_TEMPFAIL)
		return 1;
	if (st4 == ARES_ENOTFOUND || st6 == ARES_ENOTFOUND)
		*t = "no such host (NXDOMAIN)";
	else if (st4 == ARES_EBADNAME || st6 == ARES_EBADNAME)
		*t = "not a valid host name";
	else
		*t = "no A or AAAA record";
	return 0;
}

/* The DANE state of host h from its TLSA answer (see dns.h). */
static void
set_dane(const struct lookup *lk, const struct host *h, struct pl_mx *m)
{
	int st = h->tlsa_st == PENDING ? ARES_ETIMEOUT : h->tlsa_st;
	const char *t;

	m->dane = PL_DANE_NONE;
	if (!lk->dane || !lk->mx_ad || !h->tlsa_asked)
		return;
	if (st != ARES_SUCCESS) {
		if (pl_dns_classify(st, &t) == PL_DNS_PERMFAIL)
			return;		/* NXDOMAIN, no records: no DANE */
		m->dane = PL_DANE_FAILED;
		if (asprintf(&m->tlsa_why, "the TLSA lookup of _25._tcp.%s failed: %s",
		    h->name, t) < 0)
			m->tlsa_why = NULL;
		return;
	}
	if (!h->tlsa_ad)
		return;		/* insecure: as if there were none */
	m->dane = PL_DANE_UNUSABLE;
	for (size_t i = 0; i < h->ntlsa; i++) {
		struct pl_tlsa *c;

		if (!pl_dns_tlsa_usable(&h->tlsa[i]))
			continue;
		m->tlsa = xrealloc(m->tlsa, (m->ntlsa + 1) * sizeof *m->tlsa);
		c = &m->tlsa[m->ntlsa++];
		*c = h->tlsa[i];
		c->data = xmalloc(c->len + 1);
		memcpy(c->data, h->tlsa[i].data, c->len);
		m->dane = PL_DANE_USABLE;
	}
}

static void
add_mx(const struct lookup *lk, struct pl_route *r, const struct host *h)
{
	size_t k6, k4, half = PL_DNS_MAX_ADDRS / 2;
	struct pl_mx *m;

	/* keep both families when the answers hold too many */
	k6 = h->n6;
	if (h->n6 + h->n4 > PL_DNS_MAX_ADDRS)
		k6 = h->n6 < half ? h->n6 : (PL_DNS_MAX_ADDRS - h->n4 > half ?
		    PL_DNS_MAX_ADDRS - h->n4 : half);
	k4 = h->n4 < PL_DNS_MAX_ADDRS - k6 ? h->n4 : PL_DNS_MAX_ADDRS - k6;
	r->mx = xrealloc(r->mx, (r->nmx + 1) * sizeof *r->mx);
	m = &r->mx[r->nmx++];
	memset(m, 0, sizeof *m);
	m->host = xstrdup(h->name);
	m->pref = h->pref;
	m->naddrs = k6 + k4;
	m->addrs = xcalloc(m->naddrs, sizeof *m->addrs);
	m->addrlens = xcalloc(m->naddrs, sizeof *m->addrlens);
	for (size_t i = 0; i < k6; i++) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&m->addrs[i];

		a->sin6_family = AF_INET6;
		a->sin6_addr = h->v6[i];
		m->addrlens[i] = sizeof *a;
	}
	for (size_t i = 0; i < k4; i++) {
		struct sockaddr_in *a = (struct sockaddr_in *)&m->addrs[k6 + i];

		a->sin_family = AF_INET;
		a->sin_addr = h->v4[i];
		m->addrlens[k6 + i] = sizeof *a;
	}
	set_dane(lk, h, m);
}

/* Builds the route from the hosts' answers. */
static void
build_route(struct lookup *lk)
{
	struct buf skipped = { 0 };
	struct pl_route *r;
	const char *t = "";
	int anytemp = 0;

	if (lk->d->closing) {
		fail(lk, PL_DNS_TEMPFAIL, "4.4.3", "the DNS lookup of %s was cancelled", lk->domain);
		return;
	}
	if (lk->stage == STAGE_MX) {
		fail(lk, PL_DNS_TEMPFAIL, "4.4.3", "the DNS lookup of the MX records of %s timed out "
		    "after %d ms", lk->domain, lk->d->timeout_ms);
		return;
	}
	r = route_new(lk);
	r->implicit = lk->nhosts == 1 && lk->hosts[0].pref < 0;
	r->secure = lk->dane && lk->mx_ad;
	for (size_t i = 0; i < lk->nhosts; i++) {
		struct host *h = &lk->hosts[i];
		int temp;

		if (h->n6 + h->n4 > 0) {
			add_mx(lk, r, h);
			continue;
		}
		temp = host_failure(lk, h, &t);
		anytemp |= temp;
		buf_printf(&skipped, "%s%s, %s", skipped.len ? "; " : "", h->name, t);
	}
	if (r->implicit && r->nmx)
		r->mx[0].pref = 0;
	if (r->nmx) {
		r->result = PL_DNS_OK;
		if (skipped.len) {
			char *s = buf_steal(&skipped);

			buf_printf(&skipped, "MX hosts of %s skipped: %s", lk->domain, s);
			free(s);
		}
		r->why = buf_steal(&skipped);
		lk->r = r;
		return;
	}
	pl_route_free(r);
	if (lk->host_only) {
		if (anytemp)
			fail(lk, PL_DNS_TEMPFAIL, "4.4.3", "the lookup of the address of %s "
			    "failed: %s", lk->domain, t);
		else
			fail(lk, PL_DNS_PERMFAIL, "5.1.2", "%s has no address (A or AAAA "
			    "record)", lk->domain);
		lk->r->implicit = 1;
	} else if (lk->nhosts == 1 && lk->hosts[0].pref < 0) {
		if (anytemp)
			fail(lk, PL_DNS_TEMPFAIL, "4.4.3", "%s has no MX record and the lookup of its "
			    "address failed: %s", lk->domain, t);
		else
			fail(lk, PL_DNS_PERMFAIL, "5.1.2", "%s has no MX record and no address: it "
			    "accepts no mail", lk->domain);
		lk->r->implicit = 1;
	} else if (anytemp) {
		fail(lk, PL_DNS_TEMPFAIL, "4.4.3", "none of the MX hosts of %s could be resolved: %s",
		    lk->domain, skipped.p);
	} else {
		fail(lk, PL_DNS_PERMFAIL, "5.4.4", "none of the MX hosts of %s has an address: %s",
		    lk->domain, skipped.p);
	}
	buf_free(&skipped);
}

/* Moves lk to the ready list with its route. */
static void
finish(struct lookup *lk)
{
	struct pl_dns *d = lk->d;

	if (lk->finished)
		return;
	if (!lk->r)
		build_route(lk);
	lk->finished = 1;
	if (lk->active) {
		list_del(&d->active, lk);
		lk->active = 0;
	}
	list_add(&d->ready, lk);
}

static void
free_lookup(struct lookup *lk)
{
	for (size_t i = 0; i < lk->nhosts; i++) {
		free(lk->hosts[i].name);
		for (size_t k = 0; k < lk->hosts[i].ntlsa; k++)
			free(lk->hosts[i].tlsa[k].data);
	}
	free(lk->hosts);
	pl_route_free(lk->r);
	free(lk->domain);
	free(lk);
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen);

static void
start_query(struct lookup *lk, const char *name, int type, size_t host)
{
	struct query *q = xmalloc(sizeof *q);
	unsigned char *qbuf;
	int qlen;

	q->lk = lk;
	q->type = type;
	q->host = host;
	q->sent = lk->dane && (type == TYPE_MX || type == TYPE_TLSA);
	lk->outstanding++;
	if (!q->sent) {
		ares_query(lk->d->ch, name, CLASS_IN, type, on_answer, q);
		return;
	}
	/* Our own query, to set the AD bit in it (RFC 6840 5.7); ares_send
	 * gives it an id of its own. */
	if (ares_create_query(name, CLASS_IN, type, 0, 1, &qbuf, &qlen, 0) != ARES_SUCCESS) {
		on_answer(q, ARES_EBADNAME, 0, NULL, 0);
		return;
	}
	qbuf[3] |= 0x20;
	ares_send(lk->d->ch, qbuf, qlen, on_answer, q);
	ares_free_string(qbuf);
}

/* Starts the TLSA queries of every host with an address. */
static void
start_tlsa(struct lookup *lk)
{
	char name[300];

	lk->stage = STAGE_TLSA;
	lk->outstanding++;		/* as in start_hosts */
	for (size_t i = 0; i < lk->nhosts; i++) {
		struct host *h = &lk->hosts[i];

		if (h->n6 + h->n4 == 0)
			continue;
		snprintf(name, sizeof name, "_25._tcp.%s", h->name);
		if (!pl_dns_valid_domain(name))
			continue;	/* too long to have TLSA records */
		h->tlsa_asked = 1;
		h->tlsa_st = PENDING;
		start_query(lk, name, TYPE_TLSA, i);
	}
	lk->outstanding--;
}

static void
on_tlsa(struct lookup *lk, const struct query *q, int status, int ad,
    const unsigned char *abuf, int alen)
{
	struct host *h = &lk->hosts[q->host];

	if (status == ARES_SUCCESS) {
		int n = pl_dns_parse_tlsa(abuf, alen, h->tlsa, PL_DNS_MAX_TLSA);

		if (n < 0)
			status = ARES_EBADRESP;
		else if (n == 0)
			status = ARES_ENODATA;
		else
			h->ntlsa = (size_t)n;
	}
	h->tlsa_st = status;
	h->tlsa_ad = ad;
}

/* Starts the AAAA and A queries of every host. */
static void
start_hosts(struct lookup *lk)
{
	lk->stage = STAGE_ADDR;
	lk->outstanding++;		/* answers arriving meanwhile must not finish lk */
	for (size_t i = 0; i < lk->nhosts; i++) {
		struct host *h = &lk->hosts[i];

		if (!pl_dns_valid_domain(h->name)) {
			h->st6 = h->st4 = ARES_EBADNAME;
			continue;
		}
		h->st6 = h->st4 = PENDING;
		start_query(lk, h->name, TYPE_AAAA, i);
		start_query(lk, h->name, TYPE_A, i);
	}
	lk->outstanding--;
}

/* The name asked is the only host (pref -1 marks it): implicit MX, or a
 * host route (PL_DNS_HOST). */
static void
start_self(struct lookup *lk)
{
	lk->hosts = xcalloc(1, sizeof *lk->hosts);
	lk->nhosts = 1;
	lk->hosts[0].name = xstrdup(lk->domain);
	lk->hosts[0].pref = -1;
	start_hosts(lk);
}

static void
on_mx(struct lookup *lk, int status, const unsigned char *abuf, int alen)
{
	struct ares_mx_reply *reply = NULL;
	struct pl_mx *list;
	size_t n = 0, k = 0;
	const char *t;

	if (status == ARES_SUCCESS) {
		status = ares_parse_mx_reply(abuf, alen, &reply);
		/* c-ares says EBADNAME for a name it cannot read in the answer
		 * (a count past the end, a pointer loop): the answer is broken,
		 * not the domain, so it is temporary (issue #8). */
		if (status == ARES_EBADNAME)
			status = ARES_EBADRESP;
		if (status == ARES_SUCCESS && !reply)
			status = ARES_ENODATA;
	}
	if (status == ARES_ENODATA) {
		/* RFC 5321 5.1: the domain itself is the only MX */
		start_self(lk);
		return;
	}
	if (status != ARES_SUCCESS) {
		if (pl_dns_classify(status, &t) == PL_DNS_PERMFAIL)
			fail(lk, PL_DNS_PERMFAIL, "5.1.2", "%s does not exist: %s", lk->domain, t);
		else if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED)
			fail(lk, PL_DNS_TEMPFAIL, "4.4.3", "the DNS lookup of %s was cancelled",
			    lk->domain);
		else
			fail(lk, PL_DNS_TEMPFAIL, "4.4.3", "the DNS lookup of the MX records of %s "
			    "failed: %s", lk->domain, t);
		return;
	}
	for (struct ares_mx_reply *m = reply; m; m = m->next)
		n++;
	list = xcalloc(n, sizeof *list);
	for (struct ares_mx_reply *m = reply; m; m = m->next) {
		if (!m->host || !m->host[0] || strcmp(m->host, ".") == 0) {
			lk->nnull++;
			continue;
		}
		list[k].host = m->host;
		list[k].pref = m->priority;
		k++;
	}
	if (k == 0) {
		fail(lk, PL_DNS_PERMFAIL, "5.1.10", "%s has a null MX record (RFC 7505): it accepts "
		    "no mail", lk->domain);
		free(list);
		ares_free_data(reply);
		return;
	}
	pl_dns_sort_mx(list, k, NULL, NULL);
	lk->hosts = xcalloc(k < PL_DNS_MAX_MX ? k : PL_DNS_MAX_MX, sizeof *lk->hosts);
	for (size_t i = 0; i < k && lk->nhosts < PL_DNS_MAX_MX; i++) {
		size_t j;

		for (j = 0; j < lk->nhosts; j++)	/* the same host twice: first one only */
			if (ascii_casecmp(lk->hosts[j].name, list[i].host) == 0)
				break;
		if (j < lk->nhosts)
			continue;
		lk->hosts[lk->nhosts].name = xstrdup(list[i].host);
		lk->hosts[lk->nhosts].pref = list[i].pref;
		lk->nhosts++;
	}
	free(list);
	ares_free_data(reply);
	start_hosts(lk);
}

static void
on_addr(struct lookup *lk, const struct query *q, int status, const unsigned char *abuf, int alen)
{
	struct host *h = &lk->hosts[q->host];

	if (q->type == TYPE_AAAA) {
		struct ares_addr6ttl a[PL_DNS_MAX_ADDRS];
		int n = PL_DNS_MAX_ADDRS;

		if (status == ARES_SUCCESS)
			status = ares_parse_aaaa_reply(abuf, alen, NULL, a, &n);
		if (status == ARES_SUCCESS && n <= 0)
			status = ARES_ENODATA;
		for (int i = 0; status == ARES_SUCCESS && i < n && h->n6 < PL_DNS_MAX_ADDRS; i++)
			memcpy(&h->v6[h->n6++], &a[i].ip6addr, sizeof h->v6[0]);
		h->st6 = status;
	} else {
		struct ares_addrttl a[PL_DNS_MAX_ADDRS];
		int n = PL_DNS_MAX_ADDRS;

		if (status == ARES_SUCCESS)
			status = ares_parse_a_reply(abuf, alen, NULL, a, &n);
		if (status == ARES_SUCCESS && n <= 0)
			status = ARES_ENODATA;
		for (int i = 0; status == ARES_SUCCESS && i < n && h->n4 < PL_DNS_MAX_ADDRS; i++)
			h->v4[h->n4++] = a[i].ipaddr;
		h->st4 = status;
	}
}

static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct query q = *(struct query *)arg;
	struct lookup *lk = q.lk;
	int ad = 0;

	(void)timeouts;
	if (q.sent && status == ARES_SUCCESS)
		status = pl_dns_answer_status(abuf, alen, &ad);
	if (lk->d->assume_ad)
		ad = 1;
	free(arg);
	lk->outstanding--;
	if (lk->finished) {
		if (lk->delivered && lk->outstanding == 0)
			free_lookup(lk);
		return;
	}
	if (q.type == TYPE_MX) {
		if (lk->d->closing && status == ARES_SUCCESS)
			status = ARES_EDESTRUCTION;
		lk->mx_ad = ad;
		on_mx(lk, status, abuf, alen);
	} else if (q.type == TYPE_TLSA) {
		on_tlsa(lk, &q, status, ad, abuf, alen);
	} else {
		on_addr(lk, &q, status, abuf, alen);
	}
	/* the addresses are in: their TLSA records next (RFC 7672 2.2) */
	if (!lk->r && lk->outstanding == 0 && lk->stage == STAGE_ADDR && lk->dane && lk->mx_ad &&
	    !lk->d->closing)
		start_tlsa(lk);
	if (lk->r || lk->outstanding == 0)
		finish(lk);
}

/* ---- The resolver ------------------------------------------------------- */

int
pl_dns_channel(void *chp, const char *servers, int timeout_ms, struct pl_err *e)
{
	ares_channel *ch = chp;
	struct ares_options o;
	int rc;

	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS)
		return pl_errf(e, EX_SOFTWARE, "cannot start the DNS resolver: %s", ares_strerror(rc));
	memset(&o, 0, sizeof o);
	/* c-ares doubles the wait at each round of tries: t + 2t for one server */
	o.timeout = timeout_ms / 3 > 50 ? timeout_ms / 3 : 50;
	o.tries = 2;
	rc = ares_init_options(ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS) {
		ares_library_cleanup();
		return pl_errf(e, EX_OSERR, "cannot start the DNS resolver: %s", ares_strerror(rc));
	}
	if (servers) {
		rc = *servers ? ares_set_servers_ports_csv(*ch, servers) : ARES_EBADSTR;
		if (rc != ARES_SUCCESS) {
			ares_destroy(*ch);
			ares_library_cleanup();
			return pl_errf(e, EX_CONFIG, "dns_servers = %s: not a list of addresses such as "
			    "127.0.0.1:5353,[::1]:53 (%s)", servers, ares_strerror(rc));
		}
	}
	return 0;
}

int
pl_dns_new(struct pl_dns **dp, const char *servers, int timeout_ms, struct pl_err *e)
{
	struct pl_dns *d;

	*dp = NULL;
	if (timeout_ms <= 0)
		timeout_ms = PL_DNS_TIMEOUT_MS;
	d = xcalloc(1, sizeof *d);
	d->timeout_ms = timeout_ms;
	if (pl_dns_channel(&d->ch, servers, timeout_ms, e) < 0) {
		free(d);
		return -1;
	}
	*dp = d;
	return 0;
}

static void
deliver(struct lookup *lk)
{
	struct pl_dns *d = lk->d;
	struct pl_route *r = lk->r;
	pl_route_cb cb = lk->cb;
	void *arg = lk->arg;

	list_del(&d->ready, lk);
	lk->r = NULL;
	lk->delivered = 1;
	d->npending--;
	if (lk->outstanding == 0)
		free_lookup(lk);
	cb(arg, r);
}

void
pl_dns_free(struct pl_dns *d)
{
	if (!d)
		return;
	d->closing = 1;
	/* every query's callback runs now, with ARES_EDESTRUCTION */
	ares_destroy(d->ch);
	while (d->active.head)
		finish(d->active.head);
	while (d->ready.head)
		deliver(d->ready.head);
	ares_library_cleanup();
	free(d);
}

int
pl_dns_pollfds(struct pl_dns *d, struct pollfd *fds, int max)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	int bits, n = 0;

	bits = ares_getsock(d->ch, socks, ARES_GETSOCK_MAXNUM);
	for (int i = 0; i < ARES_GETSOCK_MAXNUM && n < max; i++) {
		short ev = 0;

		if (ARES_GETSOCK_READABLE(bits, i))
			ev |= POLLIN;
		if (ARES_GETSOCK_WRITABLE(bits, i))
			ev |= POLLOUT;
		if (!ev)
			break;
		fds[n].fd = socks[i];
		fds[n].events = ev;
		fds[n].revents = 0;
		n++;
	}
	return n;
}

void
pl_dns_process(struct pl_dns *d, const struct pollfd *fds, int n)
{
	struct list ready;
	int64_t now;

	for (int i = 0; i < n; i++) {
		short re = fds[i].revents;

		if (!re || (re & POLLNVAL))
			continue;
		ares_process_fd(d->ch, re & (POLLIN | POLLERR | POLLHUP) ? fds[i].fd : ARES_SOCKET_BAD,
		    re & POLLOUT ? fds[i].fd : ARES_SOCKET_BAD);
	}
	/* retries and c-ares' own timeouts */
	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	now = pl_mono_ms();
	while (d->active.head && d->active.head->deadline <= now) {
		d->active.head->expired = 1;
		finish(d->active.head);
	}
	/* Lookups that callbacks start now wait for the next round. */
	ready = d->ready;
	d->ready.head = d->ready.tail = NULL;
	while (ready.head) {
		struct lookup *lk = ready.head;

		list_del(&ready, lk);
		list_add(&d->ready, lk);
		deliver(lk);
	}
}

int
pl_dns_timeout_ms(struct pl_dns *d, int max_ms)
{
	struct timeval maxtv, tv, *tvp;
	int t = max_ms;

	if (d->ready.head)
		return 0;
	if (max_ms >= 0) {
		maxtv.tv_sec = max_ms / 1000;
		maxtv.tv_usec = (max_ms % 1000) * 1000;
	}
	tvp = ares_timeout(d->ch, max_ms >= 0 ? &maxtv : NULL, &tv);
	if (tvp) {
		int64_t ms = (int64_t)tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000;

		if (t < 0 || ms < t)
			t = (int)ms;
	}
	if (d->active.head) {
		int64_t left = d->active.head->deadline - pl_mono_ms();

		if (left < 0)
			left = 0;
		if (t < 0 || left < t)
			t = (int)left;
	}
	return t;
}

void
pl_dns_set_dane(struct pl_dns *d, int on, int assume_ad)
{
	d->dane = on;
	d->assume_ad = assume_ad;
}

int
pl_dns_pending(struct pl_dns *d)
{
	return d->npending;
}

void
pl_dns_route(struct pl_dns *d, const char *domain, pl_route_cb cb, void *arg)
{
	pl_dns_route_flags(d, domain, 0, cb, arg);
}

void
pl_dns_route_flags(struct pl_dns *d, const char *domain, int flags, pl_route_cb cb, void *arg)
{
	struct lookup *lk = xcalloc(1, sizeof *lk);
	struct sockaddr_storage ss;
	socklen_t len;
	size_t n;
	int lit;

	lk->d = d;
	lk->cb = cb;
	lk->arg = arg;
	lk->deadline = pl_mono_ms() + d->timeout_ms;
	lk->dane = d->dane && !(flags & PL_DNS_NO_DANE);
	d->npending++;
	lit = pl_dns_literal(domain, &ss, &len);
	lk->domain = xstrdup(domain);
	n = strlen(lk->domain);
	if (!lit && n > 1 && lk->domain[n - 1] == '.')
		lk->domain[n - 1] = '\0';
	if (d->closing) {
		fail(lk, PL_DNS_TEMPFAIL, "4.4.3", "the DNS lookup of %s was cancelled", lk->domain);
	} else if (lit < 0) {
		fail(lk, PL_DNS_PERMFAIL, "5.1.3", "%s is not a valid domain literal: write "
		    "[192.0.2.1] or [IPv6:2001:db8::1]", lk->domain);
	} else if (lit > 0) {
		struct pl_route *r = lk->r = route_new(lk);

		r->result = PL_DNS_OK;
		r->literal = 1;
		r->why = xstrdup("");
		r->mx = xcalloc(1, sizeof *r->mx);
		r->nmx = 1;
		r->mx[0].host = xstrdup(domain);
		r->mx[0].addrs = xmalloc(sizeof *r->mx[0].addrs);
		r->mx[0].addrs[0] = ss;
		r->mx[0].addrlens = xmalloc(sizeof *r->mx[0].addrlens);
		r->mx[0].addrlens[0] = len;
		r->mx[0].naddrs = 1;
	} else if (!pl_dns_valid_domain(lk->domain)) {
		fail(lk, PL_DNS_PERMFAIL, "5.1.3", "\"%s\" is not a valid domain name", lk->domain);
	} else {
		lk->active = 1;
		list_add(&d->active, lk);
		if (flags & PL_DNS_HOST) {
			lk->host_only = 1;
			start_self(lk);
			/* answers that came at once (c-ares may fail a query
			 * inside ares_send) are all in: finish as on_answer would */
			if (lk->r || lk->outstanding == 0)
				finish(lk);
		} else {
			start_query(lk, lk->domain, TYPE_MX, 0);
		}
		return;
	}
	finish(lk);
}

/* ---- A network in memory, for the fuzzer ---------------------------------- */

void
pl_dns_set_sockets(struct pl_dns *d, const void *funcs, void *arg)
{
	ares_set_socket_functions(d->ch, funcs, arg);
}
