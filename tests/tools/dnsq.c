/* dnsq — resolves delivery routes with src/dns.c, for the shell tests.
 *
 *   dnsq [--servers CSV] [--timeout MS] [--cancel-after MS] DOMAIN…
 *
 * Starts every lookup at once, drives them with its own poll() loop, then
 * prints each domain's outcome in the order of the arguments:
 *
 *   DOMAIN ok HOST PREF ADDRESS      one line per address, in order
 *   DOMAIN implicit                  no MX: the domain's own addresses
 *   DOMAIN literal                   a domain literal
 *   DOMAIN note WHY                  OK, but some MX hosts were skipped
 *   DOMAIN temp|perm STATUS WHY      a failure
 *
 * --cancel-after MS frees the resolver after MS ms, cancelling what is left.
 * Exits 0 when every callback was called exactly once, 1 otherwise, 2 on
 * usage or set-up errors.  Prints "elapsed MS" on stderr. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"
#include "util.h"

struct slot {
	const char *domain;
	int calls;
	struct buf out;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_route(void *arg, struct pl_route *r)
{
	struct slot *s = arg;
	static const char *const res[] = { "ok", "temp", "perm" };

	if (s->calls++) {
		buf_printf(&s->out, "%s CALLED AGAIN\n", s->domain);
		pl_route_free(r);
		return;
	}
	for (size_t i = 0; i < r->nmx; i++) {
		for (size_t k = 0; k < r->mx[i].naddrs; k++) {
			char a[INET6_ADDRSTRLEN] = "?";
			const struct sockaddr_storage *ss = &r->mx[i].addrs[k];

			if (ss->ss_family == AF_INET6)
				inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr,
				    a, sizeof a);
			else if (ss->ss_family == AF_INET)
				inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr,
				    a, sizeof a);
			buf_printf(&s->out, "%s ok %s %d %s\n", s->domain, r->mx[i].host,
			    r->mx[i].pref, a);
		}
	}
	if (r->implicit && r->result == PL_DNS_OK)
		buf_printf(&s->out, "%s implicit\n", s->domain);
	if (r->literal)
		buf_printf(&s->out, "%s literal\n", s->domain);
	if (r->result == PL_DNS_OK) {
		if (r->why[0])
			buf_printf(&s->out, "%s note %s\n", s->domain, r->why);
	} else {
		buf_printf(&s->out, "%s %s %s %s\n", s->domain, res[r->result], r->status, r->why);
	}
	pl_route_free(r);
}

static void
usage(void)
{
	fprintf(stderr, "usage: dnsq [--servers CSV] [--timeout MS] [--cancel-after MS] "
	    "DOMAIN...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *servers = NULL;
	int timeout = 0, cancel_after = -1, i, bad = 0;
	struct pl_dns *d;
	struct pl_err e;
	struct slot *slots;
	int64_t start;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--servers") == 0)
			servers = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0)
			timeout = atoi(argv[++i]);
		else if (strcmp(argv[i], "--cancel-after") == 0)
			cancel_after = atoi(argv[++i]);
		else
			usage();
	}
	if (i >= argc)
		usage();
	if (pl_dns_new(&d, servers, timeout, &e) < 0) {
		fprintf(stderr, "dnsq: %s\n", e.msg);
		return 2;
	}
	slots = xcalloc((size_t)(argc - i), sizeof *slots);
	start = now_ms();
	for (int k = i; k < argc; k++) {
		slots[k - i].domain = argv[k];
		pl_dns_route(d, argv[k], on_route, &slots[k - i]);
	}
	while (pl_dns_pending(d) > 0) {
		struct pollfd fds[32];
		int n = pl_dns_pollfds(d, fds, 32);
		int t = pl_dns_timeout_ms(d, -1);

		if (cancel_after >= 0) {
			int64_t left = start + cancel_after - now_ms();

			if (left <= 0)
				break;
			if (t < 0 || left < t)
				t = (int)left;
		}
		if (poll(fds, (nfds_t)n, t) < 0)
			perror("dnsq: poll");
		pl_dns_process(d, fds, n);
	}
	pl_dns_free(d);
	fprintf(stderr, "elapsed %lld\n", (long long)(now_ms() - start));
	for (int k = 0; k < argc - i; k++) {
		if (slots[k].calls != 1) {
			printf("%s CALLED %d TIMES\n", slots[k].domain, slots[k].calls);
			bad = 1;
		}
		fputs(slots[k].out.p ? slots[k].out.p : "", stdout);
		buf_free(&slots[k].out);
	}
	free(slots);
	return bad;
}
