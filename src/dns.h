/* dns.h — delivery routes (RFC 5321 5.1, RFC 7505) from an asynchronous
 * resolver (c-ares) that the daemon's own poll() loop drives: no threads,
 * nothing ever blocks.
 *
 * Driving it, once per round of the event loop:
 *
 *   n = pl_dns_pollfds(d, fds, max);        the resolver's sockets
 *   timeout = pl_dns_timeout_ms(d, timeout); lowers the loop's timeout
 *   poll(…);
 *   pl_dns_process(d, fds, n);               always, even when poll timed out
 *                                            or no fd of ours is ready
 *
 * A route lookup (pl_dns_route) asks for the domain's MX records, orders
 * them by preference (equal preferences shuffled), then asks for the A and
 * AAAA records of every MX host at once.  Without MX records the domain's
 * own addresses are used (implicit MX).  Domain literals ("[127.0.0.2]",
 * "[IPv6:::1]") need no DNS at all.  Any number of lookups may run at the
 * same time.
 *
 * Outcomes (the status goes into reports as it is):
 *   OK        at least one host with at least one address
 *   PERMFAIL  5.1.2 NXDOMAIN, or no MX and no address
 *             5.1.10 null MX (RFC 7505)
 *             5.4.4 MX hosts exist but none of them has an address, and
 *                   every one of those lookups failed permanently
 *                   (NXDOMAIN or no A/AAAA), as Postfix does
 *             5.1.3 not a valid domain name or domain literal
 *   TEMPFAIL  4.4.3 SERVFAIL, REFUSED, timeout, a malformed answer, an
 *                   MX host lookup failing temporarily when no host has an
 *                   address, the lookup running past timeout_ms, or
 *                   pl_dns_free() cancelling it
 * An MX host without an address is skipped; the route is OK as long as one
 * host has one.
 *
 * DNS answers are untrusted: at most PL_DNS_MAX_MX hosts (the most
 * preferred) and PL_DNS_MAX_ADDRS addresses per host are kept.
 *
 * Addresses come from DNS only, never from /etc/hosts, and names are asked
 * as they are, without resolv.conf search domains. */
#ifndef PALOMA_DNS_H
#define PALOMA_DNS_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util.h"

#define PL_DNS_MAX_MX     20	/* MX hosts kept from one answer */
#define PL_DNS_MAX_ADDRS  10	/* addresses kept per host (A and AAAA together) */
#define PL_DNS_TIMEOUT_MS 30000	/* timeout_ms when 0 is given */

/* A resolver: one c-ares channel and the lookups in flight on it. */
struct pl_dns;

/* servers: "127.0.0.1:5353,[::1]:53" (ares_set_servers_ports_csv syntax;
 * port 53 when none is given), or NULL for the system's resolv.conf.
 * timeout_ms bounds each pl_dns_route() from the call to its callback
 * (0: PL_DNS_TIMEOUT_MS); each DNS query is tried twice within it.
 * Returns 0, or -1 with e filled (EX_CONFIG for bad servers). */
int pl_dns_new(struct pl_dns **d, const char *servers, int timeout_ms, struct pl_err *e);
/* A c-ares channel (ch: an ares_channel *) with paloma's timeouts and the
 * servers given ("ip[:port],…"; NULL: resolv.conf); for the blocking
 * lookups of dnssync.c too.  The caller ares_destroy()s it and calls
 * ares_library_cleanup(). */
int pl_dns_channel(void *ch, const char *servers, int timeout_ms, struct pl_err *e);

/* Ends every lookup still pending: each one's callback is called, before
 * pl_dns_free returns, with its answer when it had one, otherwise with
 * TEMPFAIL 4.4.3 "… was cancelled".  Callbacks run from here may call
 * pl_dns_route() on d: it is answered "cancelled" at once.  NULL is fine. */
void pl_dns_free(struct pl_dns *d);

/* ---- Poll integration --------------------------------------------------- */

/* Fills fds[0..max) with the resolver's sockets (POLLIN, and POLLOUT for a
 * TCP connection with output waiting); returns how many. */
int pl_dns_pollfds(struct pl_dns *d, struct pollfd *fds, int max);

/* After poll(): reads and writes the ready sockets among fds[0..n) (n may
 * be 0), handles c-ares retries and timeouts, ends lookups past their
 * timeout, then calls the callbacks of the lookups that are complete. */
void pl_dns_process(struct pl_dns *d, const struct pollfd *fds, int n);

/* How long poll() may sleep: max_ms, lowered to the next retry or timeout
 * (0 when a callback is waiting to be called).  max_ms < 0 means no limit of
 * the caller's; then -1 is returned when nothing is pending. */
int pl_dns_timeout_ms(struct pl_dns *d, int max_ms);

/* Lookups started whose callback has not been called yet. */
int pl_dns_pending(struct pl_dns *d);

/* ---- Route lookup -------------------------------------------------------- */

enum pl_dns_result { PL_DNS_OK, PL_DNS_TEMPFAIL, PL_DNS_PERMFAIL };

/* ---- DANE (RFC 7672) ------------------------------------------------------ */

/* One TLSA record (RFC 6698 2.1). */
struct pl_tlsa {
	uint8_t usage, selector, mtype;
	unsigned char *data;
	size_t len;
};

#define PL_DNS_MAX_TLSA 16	/* TLSA records kept per host */

/* What the DNS says about an MX host's TLSA records, when DANE is on
 * (pl_dns_set_dane) and the MX answer was DNSSEC-authenticated:
 *   NONE      no DANE for it: DANE off, an unauthenticated MX or TLSA answer,
 *             NXDOMAIN or no TLSA records;
 *   USABLE    authenticated records, at least one DANE-TA(2) or DANE-EE(3)
 *             (in tlsa[]): TLS required and authenticated by them;
 *   UNUSABLE  authenticated records, none usable (PKIX-TA/EE(0/1) are
 *             unusable for SMTP, RFC 7672 3.1.3): TLS required, not
 *             authenticated (RFC 7672 2.2);
 *   FAILED    the TLSA lookup failed (SERVFAIL, timeout): the host must not
 *             be used (RFC 7672 2.2), tlsa_why says why. */
enum pl_dane { PL_DANE_NONE, PL_DANE_USABLE, PL_DANE_UNUSABLE, PL_DANE_FAILED };

/* Turns on TLSA lookups for the routes looked up from now on.  Queries are
 * sent with the AD bit set (RFC 6840 5.7) and an answer counts as
 * authenticated only when the AD bit of the reply is set, or always with
 * assume_ad (tests only: a loopback resolver that does not validate). */
void pl_dns_set_dane(struct pl_dns *d, int on, int assume_ad);

/* One host to try.  Addresses have port 0: the caller sets the SMTP port. */
struct pl_mx {
	char *host;			/* MX host name as the DNS gave it (no final dot);
					 * for implicit MX the domain; for a literal the
					 * literal as written ("[127.0.0.2]") */
	int pref;			/* MX preference; 0 for implicit MX and literals */
	struct sockaddr_storage *addrs;	/* IPv6 addresses first, then IPv4, each in
					 * the order of the answer */
	socklen_t *addrlens;		/* length of each address */
	size_t naddrs;			/* 1..PL_DNS_MAX_ADDRS */
	enum pl_dane dane;		/* see above; NONE unless DANE is on */
	struct pl_tlsa *tlsa;		/* USABLE: the usable records */
	size_t ntlsa;
	char *tlsa_why;			/* FAILED: why, else NULL */
};

/* The answer for one recipient domain. */
struct pl_route {
	enum pl_dns_result result;
	char status[8];		/* RFC 3463 code when not OK ("5.1.2", "4.4.3", …; see
				 * the top of this file), "" when OK */
	char *why;		/* one sentence for the user and the bounce, never NULL:
				 * "nullmx.test has a null MX record (RFC 7505): it
				 * accepts no mail"; when OK, a summary of hosts that
				 * were skipped, or "" */
	char *domain;		/* the domain asked for */
	int implicit;		/* no MX record: the domain's own addresses (RFC 5321
				 * 5.1) */
	int literal;		/* a domain literal, resolved without DNS */
	int secure;		/* DANE on and the MX answer (for implicit MX: the
				 * domain's no-MX answer) was authenticated */
	struct pl_mx *mx;	/* hosts to try in this order: by preference, equal
				 * preferences shuffled; only hosts with addresses */
	size_t nmx;		/* 0 unless OK */
};

/* Called exactly once per pl_dns_route() call, never from inside
 * pl_dns_route() itself: from pl_dns_process() or pl_dns_free().  r belongs
 * to the callback: keep it, or pl_route_free() it.  The callback may start
 * new lookups; it must not free d. */
typedef void (*pl_route_cb)(void *arg, struct pl_route *r);

/* Starts looking up the route to domain ("example.test", "example.test.",
 * "[127.0.0.2]", "[IPv6:::1]"); domain is copied. */
void pl_dns_route(struct pl_dns *d, const char *domain, pl_route_cb cb, void *arg);
/* The same with flags: PL_DNS_NO_DANE, no TLSA lookups (a relay's host:
 * DANE for SMTP is about MX hosts on port 25); PL_DNS_HOST, domain is a
 * host, not a mail domain: its own A and AAAA records only, never its MX
 * (a relay's host name may have MX records of its own, for other mail).
 * A host route is "implicit"; without an address it fails 5.1.2 "HOST has
 * no address (A or AAAA record)", or 4.4.3 when the lookup failed. */
#define PL_DNS_NO_DANE 1
#define PL_DNS_HOST 2
void pl_dns_route_flags(struct pl_dns *d, const char *domain, int flags, pl_route_cb cb,
    void *arg);

void pl_route_free(struct pl_route *r);

/* ---- Pure parts, exposed for tests --------------------------------------- */

/* Sorts mx[0..n) by preference and shuffles each run of equal preferences,
 * drawing from rnd(rarg) (random_bytes() when rnd is NULL).  Only host and
 * pref are looked at; whole entries move. */
void pl_dns_sort_mx(struct pl_mx *mx, size_t n, uint32_t (*rnd)(void *), void *rarg);

/* How an ares_query() status counts: ARES_SUCCESS → OK; NXDOMAIN
 * (ARES_ENOTFOUND), no records (ARES_ENODATA), a bad name → PERMFAIL;
 * everything else (SERVFAIL, REFUSED, timeouts, bad answers, …) → TEMPFAIL.
 * text (if not NULL) gets a short phrase: "no such domain (NXDOMAIN)". */
enum pl_dns_result pl_dns_classify(int ares_status, const char **text);

/* Parses a domain literal "[1.2.3.4]" or "[IPv6:…]" into *ss.  Returns 1 for
 * a valid literal, 0 when s is not a literal at all (no '['), -1 for a bad
 * or unsupported one. */
int pl_dns_literal(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* 1 when s is a syntactically valid domain name to ask the DNS for
 * (labels of 1..63 letters, digits, '-', '_' or non-ASCII bytes, at most
 * 253 octets, one optional final dot). */
int pl_dns_valid_domain(const char *s);

/* The status an answer to a query sent with ares_send() stands for, as
 * ares_query() would say it (ARES_SUCCESS only with answer records;
 * ARES_ENOTFOUND for NXDOMAIN, ARES_ENODATA for none, ARES_ESERVFAIL, …,
 * ARES_EBADRESP when too short), and its AD bit in *ad. */
int pl_dns_answer_status(const unsigned char *abuf, int alen, int *ad);

/* The TLSA records (type 52) of a DNS answer into tlsa[0..max); returns
 * how many, or -1 for a malformed answer.  Free each data. */
int pl_dns_parse_tlsa(const unsigned char *abuf, int alen, struct pl_tlsa *tlsa, size_t max);

/* 1 when the record is usable for SMTP (RFC 7672 3.1.3): usage DANE-TA(2)
 * or DANE-EE(3), selector 0 or 1, matching type 0, 1 (32 octets) or 2 (64
 * octets). */
int pl_dns_tlsa_usable(const struct pl_tlsa *t);

/* ---- A network in memory, for the fuzzer --------------------------------- */

/* Gives d's c-ares channel these socket functions (a struct
 * ares_socket_functions *, which must outlive d): tests/fuzz/fuzz_dns.c
 * answers every query from its input through them, so that whole route
 * lookups run on untrusted answers without a network. */
void pl_dns_set_sockets(struct pl_dns *d, const void *funcs, void *arg);

#endif
