/* fuzz_dns.c — libFuzzer target for DNS answer handling (dns.c).
 *
 * Whole route lookups run through the public API on a network that exists
 * only in memory: the c-ares channel gets socket functions
 * (pl_dns_set_sockets) that take each query dns.c sends and answer it from
 * the input.  So c-ares' own parsers (ares_parse_mx_reply, _a_, _aaaa_) and
 * everything dns.c does with their results — MX ordering, duplicates, null
 * MX, implicit MX, CNAME chains, address limits, DANE's TLSA and AD bit —
 * see the bytes a hostile resolver could send.
 *
 * Input: byte 0 picks the domain (low 2 bits) and DANE (bit 2: on, bit 3:
 * assume AD).  Then one answer per query, in the order the queries are
 * sent: [flags byte 2][flags byte 3][ancount][nscount][arcount][length,
 * 2 octets] then `length` octets of records after the question.  The answer's ID and
 * question are the query's (what c-ares checks before it parses), TC is
 * cleared (no TCP here); "\xc0\x0c" in the records names the question.
 * When the input runs out, each query gets SERVFAIL.  The route must keep
 * dns.h's promises: one callback; OK with 1..PL_DNS_MAX_MX hosts sorted by
 * preference, each with 1..PL_DNS_MAX_ADDRS addresses of a known family;
 * failures with a 4.x.x or 5.x.x status and no host; always a reason.
 *
 * Build: make fuzz (build-fuzz/fuzz_dns).  Seeds: tests/fuzz/corpus/fuzz_dns/ */
#include <ares.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dns.h"
#include "util.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

#define DZ_MAXQ 64		/* queries waiting for their answer */
#define DZ_ROUNDS 64		/* rounds of the poll loop before giving up */

struct dz_net {
	const uint8_t *p;
	size_t n, off;
	struct {
		ares_socket_t s;
		unsigned char q[512];
		size_t len;
	} q[DZ_MAXQ];
	size_t nq;
	unsigned nsent;
};

static ares_socket_t
dz_socket(int domain, int type, int proto, void *arg)
{
	(void)domain;
	(void)proto;
	(void)arg;
	if (type != SOCK_DGRAM) {	/* TC is never set: no TCP */
		errno = EAFNOSUPPORT;
		return ARES_SOCKET_BAD;
	}
	return open("/dev/null", O_RDWR | O_CLOEXEC);
}

static int
dz_close(ares_socket_t s, void *arg)
{
	(void)arg;
	return close(s);
}

static int
dz_connect(ares_socket_t s, const struct sockaddr *sa, ares_socklen_t len, void *arg)
{
	(void)s;
	(void)sa;
	(void)len;
	(void)arg;
	return 0;
}

static ares_ssize_t
dz_sendv(ares_socket_t s, const struct iovec *iov, int n, void *arg)
{
	struct dz_net *z = arg;
	size_t len = 0;

	if (z->nq == DZ_MAXQ) {
		errno = ENOBUFS;
		return -1;
	}
	z->q[z->nq].s = s;
	for (int i = 0; i < n; i++) {
		size_t k = iov[i].iov_len;

		if (len + k > sizeof z->q[0].q)
			k = sizeof z->q[0].q - len;
		memcpy(z->q[z->nq].q + len, iov[i].iov_base, k);
		len += k;
	}
	z->q[z->nq].len = len;
	z->nq++;
	z->nsent++;
	len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	return (ares_ssize_t)len;
}

/* The length of the question section of a query (one name, type, class). */
static size_t
dz_question_len(const unsigned char *q, size_t len)
{
	size_t i = 12;

	while (i < len && q[i] != 0 && q[i] < 64)
		i += (size_t)q[i] + 1;
	return i + 5 <= len ? i + 5 - 12 : 0;
}

static ares_ssize_t
dz_recvfrom(ares_socket_t s, void *buf, size_t len, int flags, struct sockaddr *from,
    ares_socklen_t *fromlen, void *arg)
{
	struct dz_net *z = arg;
	unsigned char *a = buf, hdr[7] = { 0x80, 0x02, 0, 0, 0, 0, 0 };
	size_t i, ql, body = 0, copy, out;
	struct sockaddr_in sin;

	(void)flags;
	for (i = 0; i < z->nq && z->q[i].s != s; i++)
		;
	if (i == z->nq) {
		errno = EAGAIN;
		return -1;
	}
	if (z->off + 7 <= z->n) {	/* else SERVFAIL, no records */
		memcpy(hdr, z->p + z->off, 7);
		z->off += 7;
		body = (size_t)hdr[5] << 8 | hdr[6];
		if (body > z->n - z->off)
			body = z->n - z->off;
	}
	ql = dz_question_len(z->q[i].q, z->q[i].len);
	CHECK(ql > 0 && len >= 12 + ql);
	/* A datagram longer than c-ares reads is cut, as the kernel would. */
	copy = body < len - 12 - ql ? body : len - 12 - ql;
	a[0] = z->q[i].q[0];
	a[1] = z->q[i].q[1];
	a[2] = (unsigned char)(0x80 | (hdr[0] & 0x05));	/* QR, AA, RD; never TC */
	a[3] = hdr[1];
	a[4] = 0;
	a[5] = 1;
	a[6] = 0;
	a[7] = hdr[2];
	a[8] = 0;
	a[9] = hdr[3];
	a[10] = 0;
	a[11] = hdr[4];
	memcpy(a + 12, z->q[i].q + 12, ql);
	memcpy(a + 12 + ql, z->p + z->off, copy);
	z->off += body;
	out = 12 + ql + copy;
	memmove(&z->q[i], &z->q[i + 1], (z->nq - i - 1) * sizeof z->q[0]);
	z->nq--;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(53);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (from && fromlen && *fromlen >= (ares_socklen_t)sizeof sin) {
		memcpy(from, &sin, sizeof sin);
		*fromlen = sizeof sin;
	}
	return (ares_ssize_t)out;
}

static const struct ares_socket_functions dz_funcs = {
	dz_socket, dz_close, dz_connect, dz_recvfrom, dz_sendv
};

struct dz_result {
	int calls;
};

static void
dz_check_route(void *arg, struct pl_route *r)
{
	struct dz_result *res = arg;

	res->calls++;
	CHECK(r != NULL && r->why != NULL && r->domain != NULL);
	if (r->result == PL_DNS_OK) {
		CHECK(r->status[0] == '\0');
		CHECK(r->nmx >= 1 && r->nmx <= PL_DNS_MAX_MX);
		CHECK(!r->implicit || r->nmx == 1);
		for (size_t i = 0; i < r->nmx; i++) {
			const struct pl_mx *m = &r->mx[i];

			CHECK(m->host && *m->host);
			CHECK(i == 0 || r->mx[i - 1].pref <= m->pref);
			CHECK(m->naddrs >= 1 && m->naddrs <= PL_DNS_MAX_ADDRS);
			for (size_t k = 0; k < m->naddrs; k++) {
				int fam = m->addrs[k].ss_family;

				CHECK((fam == AF_INET && m->addrlens[k] == sizeof(struct sockaddr_in)) ||
				    (fam == AF_INET6 &&
				    m->addrlens[k] == sizeof(struct sockaddr_in6)));
			}
			CHECK(m->dane != PL_DANE_USABLE || (m->ntlsa > 0 && m->tlsa != NULL));
		}
	} else {
		CHECK(r->result == PL_DNS_TEMPFAIL || r->result == PL_DNS_PERMFAIL);
		CHECK(r->status[0] == (r->result == PL_DNS_TEMPFAIL ? '4' : '5'));
		CHECK(r->status[1] == '.' && r->nmx == 0 && *r->why);
	}
	pl_route_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const char *const domains[] = {
		"example.test", "mail.example.test.", "[127.0.0.2]", "xn--bcher-kva.test"
	};
	struct dz_net z = { 0 };
	struct dz_result res = { 0 };
	struct pl_dns *dns;
	struct pl_err e;

	if (n < 1)
		return 0;
	z.p = d + 1;
	z.n = n - 1;
	CHECK(pl_dns_new(&dns, "127.0.0.1", 30000, &e) == 0);
	pl_dns_set_sockets(dns, &dz_funcs, &z);
	if (d[0] & 4)
		pl_dns_set_dane(dns, 1, (d[0] & 8) != 0);
	pl_dns_route(dns, domains[d[0] & 3], dz_check_route, &res);
	for (int round = 0; round < DZ_ROUNDS && res.calls == 0; round++) {
		struct pollfd fds[32];
		int k = pl_dns_pollfds(dns, fds, 32);

		for (int i = 0; i < k; i++)
			fds[i].revents = fds[i].events & (POLLIN | POLLOUT);
		pl_dns_process(dns, fds, k);
	}
	pl_dns_free(dns);
	CHECK(res.calls == 1);
	/* Two queries (AAAA and A, perhaps TLSA) per host at most, with
	 * c-ares' retries: bounded by the hosts kept. */
	CHECK(z.nsent <= 4 + 6 * (PL_DNS_MAX_MX + 1) * 2);
	return 0;
}
