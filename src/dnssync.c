/* dnssync.c — one DNS question at a time over c-ares; see dnssync.h. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ares.h>

#include "dns.h"
#include "dnssync.h"

struct pl_dnssync {
	ares_channel ch;
	int timeout_ms;
	char err[256];
};

struct answer {
	int done, status;
	unsigned char *abuf;
	int alen;
};

int
pl_dnssync_new(struct pl_dnssync **out, const char *servers, int timeout_ms, struct pl_err *e)
{
	struct pl_dnssync *r = xcalloc(1, sizeof *r);

	r->timeout_ms = timeout_ms;
	if (pl_dns_channel(&r->ch, servers, timeout_ms, e) < 0) {
		free(r);
		return -1;
	}
	*out = r;
	return 0;
}

void
pl_dnssync_free(struct pl_dnssync *r)
{
	if (r == NULL)
		return;
	ares_destroy(r->ch);
	free(r);
	ares_library_cleanup();
}

const char *
pl_dnssync_error(const struct pl_dnssync *r)
{
	return r->err;
}

void
pl_dnssync_free_answers(char **ans, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ans[i]);
	free(ans);
}

static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct answer *a = arg;

	(void)timeouts;
	a->done = 1;
	a->status = status;
	if (status == ARES_SUCCESS && abuf && alen > 0) {
		a->abuf = xmalloc((size_t)alen);
		memcpy(a->abuf, abuf, (size_t)alen);
		a->alen = alen;
	}
}

static void
add(char ***ans, size_t *n, const char *s, size_t len)
{
	*ans = xrealloc(*ans, (*n + 1) * sizeof **ans);
	(*ans)[(*n)++] = xstrndup(s, len);
}

static int
mx_cmp(const void *a, const void *b)
{
	const struct ares_mx_reply *x = *(struct ares_mx_reply *const *)a;
	const struct ares_mx_reply *y = *(struct ares_mx_reply *const *)b;

	return (int)x->priority - (int)y->priority;
}

/* Turns the answer into strings; the ares status of parsing. */
static int
parse(int type, const unsigned char *abuf, int alen, char ***ans, size_t *n)
{
	char txt[INET6_ADDRSTRLEN];
	int rc;

	switch (type) {
	case 1:
	case 28: {
		struct ares_addrttl a4[32];
		struct ares_addr6ttl a6[32];
		int na = 32;

		if (type == 1)
			rc = ares_parse_a_reply(abuf, alen, NULL, a4, &na);
		else
			rc = ares_parse_aaaa_reply(abuf, alen, NULL, a6, &na);
		if (rc != ARES_SUCCESS)
			return rc;
		for (int i = 0; i < na; i++) {
			if (type == 1)
				inet_ntop(AF_INET, &a4[i].ipaddr, txt, sizeof txt);
			else
				inet_ntop(AF_INET6, &a6[i].ip6addr, txt, sizeof txt);
			add(ans, n, txt, strlen(txt));
		}
		return ARES_SUCCESS;
	}
	case 15: {
		struct ares_mx_reply *mx = NULL, **v;
		size_t k = 0;

		rc = ares_parse_mx_reply(abuf, alen, &mx);
		if (rc != ARES_SUCCESS)
			return rc;
		for (struct ares_mx_reply *m = mx; m; m = m->next)
			k++;
		v = xcalloc(k ? k : 1, sizeof *v);
		k = 0;
		for (struct ares_mx_reply *m = mx; m; m = m->next)
			v[k++] = m;
		qsort(v, k, sizeof *v, mx_cmp);
		for (size_t i = 0; i < k; i++)
			add(ans, n, v[i]->host, strlen(v[i]->host));
		free(v);
		ares_free_data(mx);
		return ARES_SUCCESS;
	}
	case 16: {
		struct ares_txt_ext *t = NULL;
		struct buf b = { 0 };

		rc = ares_parse_txt_reply_ext(abuf, alen, &t);
		if (rc != ARES_SUCCESS)
			return rc;
		for (struct ares_txt_ext *p = t; p; p = p->next) {
			if (p->record_start && p != t) {
				add(ans, n, b.p ? b.p : "", b.len);
				b.len = 0;
				if (b.p)
					b.p[0] = '\0';
			}
			buf_add(&b, p->txt, p->length);
		}
		if (t)
			add(ans, n, b.p ? b.p : "", b.len);
		buf_free(&b);
		ares_free_data(t);
		return ARES_SUCCESS;
	}
	case 12: {
		struct hostent *h = NULL;
		unsigned char dummy[4] = { 0 };

		rc = ares_parse_ptr_reply(abuf, alen, dummy, sizeof dummy, AF_INET, &h);
		if (rc != ARES_SUCCESS)
			return rc;
		if (h->h_name)
			add(ans, n, h->h_name, strlen(h->h_name));
		for (char **a = h->h_aliases; a && *a; a++) {
			int dup = 0;
			for (size_t i = 0; i < *n; i++)
				dup |= ascii_casecmp((*ans)[i], *a) == 0;
			if (!dup)
				add(ans, n, *a, strlen(*a));
		}
		ares_free_hostent(h);
		return ARES_SUCCESS;
	}
	default:
		return ARES_ENOTIMP;
	}
}

int
pl_dnssync_query(void *arg, int type, const char *name, char ***ans, size_t *n)
{
	struct pl_dnssync *r = arg;
	struct answer a = { 0 };
	int64_t deadline = pl_mono_ms() + r->timeout_ms;
	const char *why;
	int rc;

	*ans = NULL;
	*n = 0;
	r->err[0] = '\0';
	if (!pl_dns_valid_domain(name)) {
		snprintf(r->err, sizeof r->err, "'%s' is not a valid domain name", name);
		return 1;
	}
	ares_query(r->ch, name, 1 /* C_IN */, type, on_answer, &a);
	while (!a.done) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd fds[ARES_GETSOCK_MAXNUM];
		struct timeval maxtv, tv, *tvp;
		int bits = ares_getsock(r->ch, socks, ARES_GETSOCK_MAXNUM), nf = 0, wait;
		int64_t left = deadline - pl_mono_ms();

		if (left <= 0) {
			ares_cancel(r->ch);	/* calls on_answer with ARES_ECANCELLED */
			if (!a.done) {
				a.done = 1;
				a.status = ARES_ETIMEOUT;
			}
			a.status = ARES_ETIMEOUT;
			break;
		}
		for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			/* ARES_GETSOCK_WRITABLE shifts a signed 1 by up to 31: unsigned here */
			int rd = ((unsigned)bits >> i) & 1, wr = ((unsigned)bits >> (i + 16)) & 1;

			if (!rd && !wr)
				continue;
			fds[nf].fd = socks[i];
			fds[nf].events = (short)((rd ? POLLIN : 0) | (wr ? POLLOUT : 0));
			fds[nf++].revents = 0;
		}
		maxtv.tv_sec = left / 1000;
		maxtv.tv_usec = (left % 1000) * 1000;
		tvp = ares_timeout(r->ch, &maxtv, &tv);
		wait = (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000);
		if (poll(fds, (nfds_t)nf, wait) < 0)
			continue;
		if (nf == 0) {
			ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (int i = 0; i < nf; i++)
			ares_process_fd(r->ch,
			    fds[i].revents & (POLLIN | POLLERR | POLLHUP) ? fds[i].fd : ARES_SOCKET_BAD,
			    fds[i].revents & POLLOUT ? fds[i].fd : ARES_SOCKET_BAD);
	}
	rc = a.status;
	if (rc == ARES_SUCCESS) {
		rc = parse(type, a.abuf, a.alen, ans, n);
		if (rc != ARES_SUCCESS) {
			pl_dnssync_free_answers(*ans, *n);
			*ans = NULL;
			*n = 0;
		}
	}
	free(a.abuf);
	if (rc == ARES_SUCCESS)
		return *n ? 0 : 1;
	switch (pl_dns_classify(rc, &why)) {
	case PL_DNS_PERMFAIL:
		snprintf(r->err, sizeof r->err, "%s", why);
		return 1;
	default:
		snprintf(r->err, sizeof r->err, "%s", why);
		return -1;
	}
}
