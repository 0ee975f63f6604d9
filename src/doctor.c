/* doctor.c — the checks of `paloma doctor`; see doctor.h and paloma-doctor(1).
 *
 * The host's checks come first (account NULL): port 25 reachable, the
 * sending address, its reverse DNS, forward-confirmed, the HELO name, DNS
 * blocklists.  Then, per account: SPF of the address's domain for the
 * sending address (spf.c), the DKIM record against the key, the DMARC
 * record and alignment, and whether a DMARC policy of quarantine/reject
 * makes direct delivery hopeless.  DNS questions go one at a time through
 * dnssync.c, each within DOC_DNS_MS. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libpsl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dnssync.h"
#include "doctor.h"
#include "queue.h"
#include "spf.h"

#define DOC_DNS_MS     5000
#define DOC_MAX_DOMAINS 3

struct doc {
	const struct pl_config *c;
	struct pl_dnssync *dns;
	struct pl_doc_report *rep;
	char ip[INET6_ADDRSTRLEN];	/* the sending address, or "" */
	char *ptr;			/* its confirmed PTR name, or NULL */
	psl_ctx_t *psl;			/* the public suffix list, loaded when needed */
};

static void __attribute__((format(printf, 5, 6)))
item(struct doc *d, const char *account, const char *check, enum pl_doc_result r,
    const char *fmt, ...)
{
	struct pl_doc_item *it;
	struct buf b = { 0 };
	va_list ap;

	d->rep->v = xrealloc(d->rep->v, (d->rep->n + 1) * sizeof *d->rep->v);
	it = &d->rep->v[d->rep->n++];
	memset(it, 0, sizeof *it);
	it->account = account ? xstrdup(account) : NULL;
	it->check = xstrdup(check);
	it->result = r;
	va_start(ap, fmt);
	{
		char tmp[2048];
		vsnprintf(tmp, sizeof tmp, fmt, ap);
		buf_adds(&b, tmp);
	}
	va_end(ap);
	it->why = buf_steal(&b);
	it->fix = xstrdup("");
}

/* Sets the fix of the item added last. */
static void __attribute__((format(printf, 2, 3)))
fix(struct doc *d, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	free(d->rep->v[d->rep->n - 1].fix);
	d->rep->v[d->rep->n - 1].fix = xstrdup(tmp);
}

static int
ask(struct doc *d, int type, const char *name, char ***ans, size_t *n)
{
	return pl_dnssync_query(d->dns, type, name, ans, n);
}

/* ---- Addresses ------------------------------------------------------------ */

/* The kind of address that cannot be seen from outside, or NULL. */
static const char *
private_kind(const char *ip, int loopback_too)
{
	unsigned char b[16];

	if (inet_pton(AF_INET, ip, b) == 1) {
		if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
		    (b[0] == 192 && b[1] == 168))
			return "a private (RFC 1918) address";
		if (b[0] == 100 && (b[1] & 0xc0) == 64)
			return "a carrier-grade NAT (100.64.0.0/10) address";
		if (b[0] == 169 && b[1] == 254)
			return "a link-local address";
		if (loopback_too && b[0] == 127)
			return "a loopback address";
		return NULL;
	}
	if (inet_pton(AF_INET6, ip, b) == 1) {
		if ((b[0] & 0xfe) == 0xfc)
			return "a unique local (fc00::/7) address";
		if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
			return "a link-local address";
		if (loopback_too && memcmp(b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0)
			return "a loopback address";
	}
	return NULL;
}

/* "4.3.2.1" + suffix, or the IPv6 nibbles; 0, or -1 for no address. */
static int
reverse_name(const char *ip, const char *suffix4, const char *suffix6, char *out, size_t len)
{
	unsigned char b[16];
	static const char hex[] = "0123456789abcdef";

	if (inet_pton(AF_INET, ip, b) == 1) {
		snprintf(out, len, "%u.%u.%u.%u.%s", b[3], b[2], b[1], b[0], suffix4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, b) == 1) {
		struct buf r = { 0 };
		for (int i = 15; i >= 0; i--)
			buf_printf(&r, "%c.%c.", hex[b[i] & 15], hex[b[i] >> 4]);
		buf_adds(&r, suffix6);
		snprintf(out, len, "%s", r.p);
		buf_free(&r);
		return 0;
	}
	return -1;
}

/* 1 when name has ip among its A/AAAA records; -1 when that could not be
 * told (DNS failure). */
static int
name_has_addr(struct doc *d, const char *name, const char *ip)
{
	unsigned char want[16], got[16];
	int fam = strchr(ip, ':') ? AF_INET6 : AF_INET, found = 0, rc;
	char **ans;
	size_t n;

	if (inet_pton(fam, ip, want) != 1)
		return 0;
	rc = ask(d, fam == AF_INET ? 1 : 28, name, &ans, &n);
	for (size_t i = 0; i < n; i++)
		if (inet_pton(fam, ans[i], got) == 1 &&
		    memcmp(want, got, fam == AF_INET ? 4 : 16) == 0)
			found = 1;
	pl_dnssync_free_answers(ans, n);
	return rc < 0 ? -1 : found;
}

/* ---- Port 25 -------------------------------------------------------------- */

/* Connects within ms; the socket, or -1 with why. */
static int
try_connect(const char *ip, int port, int ms, char *local, size_t llen, char *why, size_t wlen)
{
	struct sockaddr_storage ss, me;
	socklen_t slen, mlen = sizeof me;
	struct pollfd p;
	int fd, err = 0;
	socklen_t elen = sizeof err;

	memset(&ss, 0, sizeof ss);
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
		slen = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, ip, &s4->sin_addr);
		slen = sizeof *s4;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, wlen, "%s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, slen) < 0 && errno != EINPROGRESS) {
		snprintf(why, wlen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	p.fd = fd;
	p.events = POLLOUT;
	if (poll(&p, 1, ms) <= 0) {
		snprintf(why, wlen, "no answer within %d s", ms / 1000);
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
		snprintf(why, wlen, "%s", strerror(err ? err : errno));
		close(fd);
		return -1;
	}
	local[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&me, &mlen) == 0) {
		if (me.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&me)->sin_addr, local,
			    (socklen_t)llen);
		else if (me.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&me)->sin6_addr, local,
			    (socklen_t)llen);
	}
	return fd;
}

/* The recipient domains of the queue, else well-known ones. */
static size_t
port25_domains(char **out, size_t max)
{
	static const char *const known[] = { "gmail.com", "outlook.com", "yahoo.com" };
	const char *qdir = pl_queue_dir();
	char **ids = NULL;
	size_t nids = 0, n = 0;
	struct pl_err e;

	if (pl_queue_list(qdir, &ids, &nids, &e) == 0) {
		for (size_t i = 0; i < nids && n < max; i++) {
			struct pl_envelope env;

			memset(&env, 0, sizeof env);
			if (pl_queue_load(qdir, ids[i], &env, &e) < 0)
				continue;
			for (size_t k = 0; k < env.nrcpt && n < max; k++) {
				const char *at = strrchr(env.rcpt[k].addr, '@');
				int dup = 0;

				if (at == NULL || at[1] == '[' || at[1] == '\0')
					continue;
				for (size_t j = 0; j < n; j++)
					dup |= ascii_casecmp(out[j], at + 1) == 0;
				if (!dup)
					out[n++] = xstrdup(at + 1);
			}
			pl_envelope_free(&env);
		}
		pl_queue_ids_free(ids, nids);
	}
	for (size_t i = 0; n == 0 && i < sizeof known / sizeof known[0] && i < max; i++)
		out[i] = xstrdup(known[i]);
	if (n == 0)
		n = max < 3 ? max : 3;
	return n;
}

static void
check_port25(struct doc *d, char *local, size_t llen)
{
	char *domains[DOC_MAX_DOMAINS];
	size_t nd = port25_domains(domains, DOC_MAX_DOMAINS);
	int port = d->c->smtp_port, ms, tried = 0, ok = 0;
	struct buf fails = { 0 }, list = { 0 };

	ms = (int)(d->c->timeout_connect > 10 ? 10 : d->c->timeout_connect) * 1000;
	if (ms <= 0)
		ms = 10000;
	for (size_t i = 0; i < nd; i++)
		buf_printf(&list, "%s%s", i ? ", " : "", domains[i]);
	for (size_t i = 0; i < nd && !ok; i++) {
		char **mx = NULL;
		size_t nmx = 0;
		int rc = ask(d, 15, domains[i], &mx, &nmx);

		if (rc == 1 || (rc == 0 && nmx == 0)) {	/* implicit MX */
			pl_dnssync_free_answers(mx, nmx);
			mx = xcalloc(1, sizeof *mx);
			mx[0] = xstrdup(domains[i]);
			nmx = 1;
		} else if (rc < 0) {
			buf_printf(&fails, "%s%s: MX lookup failed (%s)", fails.len ? "; " : "",
			    domains[i], pl_dnssync_error(d->dns));
		}
		for (size_t k = 0; k < nmx && k < 2 && !ok; k++) {
			char **a = NULL;
			size_t na = 0;

			if (mx[k][0] == '\0')
				continue;	/* null MX */
			ask(d, 1, mx[k], &a, &na);
			if (na == 0) {
				pl_dnssync_free_answers(a, na);
				ask(d, 28, mx[k], &a, &na);
			}
			for (size_t j = 0; j < na && j < 2 && !ok; j++) {
				char why[256];
				int fd = try_connect(a[j], port, ms, local, llen, why, sizeof why);

				tried++;
				if (fd >= 0) {
					close(fd);
					ok = 1;
					item(d, NULL, "port25", PL_DOC_PASS, "connected to %s [%s] port %d: "
					    "this host can deliver to other mail servers directly", mx[k],
					    a[j], port);
				} else {
					buf_printf(&fails, "%s%s [%s]: %s", fails.len ? "; " : "", mx[k],
					    a[j], why);
				}
			}
			pl_dnssync_free_answers(a, na);
		}
		pl_dnssync_free_answers(mx, nmx);
	}
	if (!ok && tried) {
		item(d, NULL, "port25", PL_DOC_FAIL, "could not connect to port %d of any mail "
		    "server tried (%s): your provider blocks port %d, so mail cannot leave directly",
		    port, fails.p, port);
		fix(d, "use transport = relay with relay = smtps://SUBMISSION-HOST:465 in each "
		    "[account] (your mail provider's or ISP's server), or fallback_relay = … to "
		    "keep direct delivery where it works");
	} else if (!ok) {
		item(d, NULL, "port25", PL_DOC_WARN, "could not find a mail server to try among %s "
		    "(%s): the outbound connection was not checked", list.p,
		    fails.p ? fails.p : "no addresses");
		fix(d, "check that DNS works (dns_servers = in [delivery]), then run paloma doctor "
		    "again");
	}
	for (size_t i = 0; i < nd; i++)
		free(domains[i]);
	buf_free(&fails);
	buf_free(&list);
}

static void
check_address(struct doc *d, const char *local)
{
	const char *kind;

	if (d->c->public_ip) {
		snprintf(d->ip, sizeof d->ip, "%s", d->c->public_ip);
		if ((kind = private_kind(d->ip, 0)) != NULL) {
			item(d, NULL, "address", PL_DOC_WARN, "public_ip = %s is %s: receivers never "
			    "see it, so the checks below look at the wrong address", d->ip, kind);
			fix(d, "set public_ip = to the address the world sees your mail come from "
			    "(for example from `curl -4 ifconfig.me`)");
		} else {
			item(d, NULL, "address", PL_DOC_PASS, "mail leaves from %s (public_ip)", d->ip);
		}
		return;
	}
	if (local == NULL || *local == '\0') {
		item(d, NULL, "address", PL_DOC_WARN, "the sending address is unknown (no "
		    "connection succeeded and public_ip is not set): reverse DNS, SPF and "
		    "blocklists cannot be checked");
		fix(d, "set public_ip = YOUR-PUBLIC-ADDRESS in [delivery]");
		return;
	}
	snprintf(d->ip, sizeof d->ip, "%s", local);
	if ((kind = private_kind(local, 1)) != NULL) {
		item(d, NULL, "address", PL_DOC_WARN, "this host connects from %s, %s behind NAT: "
		    "receivers see another address, which the checks below cannot know", local, kind);
		fix(d, "set public_ip = to the address the world sees (for example from "
		    "`curl -4 ifconfig.me`) in [delivery]");
	} else {
		item(d, NULL, "address", PL_DOC_PASS, "mail leaves from %s (the local address of "
		    "the connection)", local);
	}
}

static void
check_rdns(struct doc *d)
{
	char rev[128];
	char **ans = NULL;
	size_t n = 0;
	int rc, confirmed = 0;
	const char *helo = d->c->helo_name;

	if (reverse_name(d->ip, "in-addr.arpa", "ip6.arpa", rev, sizeof rev) < 0)
		return;
	rc = ask(d, 12, rev, &ans, &n);
	if (rc != 0) {
		item(d, NULL, "rdns", rc < 0 ? PL_DOC_WARN : PL_DOC_FAIL, rc < 0 ?
		    "the reverse DNS (PTR) of %s could not be looked up (%s)" :
		    "%s has no reverse DNS (PTR) name%s: many receivers refuse or mark as spam "
		    "mail from such addresses", d->ip, rc < 0 ? pl_dnssync_error(d->dns) : "");
		fix(d, "ask whoever gives you the address (your hosting provider) to set its PTR "
		    "record to %s", helo ? helo : "your HELO name");
		item(d, NULL, "fcrdns", rc < 0 ? PL_DOC_WARN : PL_DOC_FAIL, "without a PTR name, %s cannot be "
		    "forward-confirmed: receivers want its name to point back to it", d->ip);
		fix(d, "set the PTR record first, then publish %s %s %s", helo ? helo : "NAME",
		    strchr(d->ip, ':') ? "AAAA" : "A", d->ip);
		pl_dnssync_free_answers(ans, n);
		return;
	}
	item(d, NULL, "rdns", PL_DOC_PASS, "%s has the reverse DNS name %s", d->ip, ans[0]);
	for (size_t i = 0; i < n && !confirmed; i++) {
		if (name_has_addr(d, ans[i], d->ip) == 1) {
			confirmed = 1;
			d->ptr = xstrdup(ans[i]);
		}
	}
	if (confirmed) {
		item(d, NULL, "fcrdns", PL_DOC_PASS, "%s points back to %s (forward-confirmed "
		    "reverse DNS)", d->ptr, d->ip);
	} else {
		item(d, NULL, "fcrdns", PL_DOC_FAIL, "%s does not point back to %s: receivers "
		    "treat an unconfirmed reverse name like none", ans[0], d->ip);
		fix(d, "publish %s %s %s (or change the PTR to a name that has it)", ans[0],
		    strchr(d->ip, ':') ? "AAAA" : "A", d->ip);
	}
	pl_dnssync_free_answers(ans, n);
}

static void
check_helo(struct doc *d)
{
	const char *helo = d->c->helo_name;
	int rc;

	if (helo == NULL || *helo == '\0')
		return;
	rc = name_has_addr(d, helo, d->ip);
	if (rc == 1) {
		item(d, NULL, "helo", PL_DOC_PASS, "helo_name %s resolves to %s", helo, d->ip);
		if (d->ptr && ascii_casecmp(d->ptr, helo) != 0) {
			free(d->rep->v[d->rep->n - 1].why);
			d->rep->v[d->rep->n - 1].why = NULL;
			d->rep->v[d->rep->n - 1].result = PL_DOC_WARN;
			{
				struct buf b = { 0 };
				buf_printf(&b, "helo_name %s resolves to %s but differs from its "
				    "reverse name %s: some receivers want the two to match", helo, d->ip,
				    d->ptr);
				d->rep->v[d->rep->n - 1].why = buf_steal(&b);
			}
			fix(d, "set helo_name = %s in [delivery]", d->ptr);
		}
		return;
	}
	item(d, NULL, "helo", rc < 0 ? PL_DOC_WARN : PL_DOC_FAIL, "helo_name %s does not "
	    "resolve to %s%s: receivers check the name a server greets them with", helo, d->ip,
	    rc < 0 ? " (the lookup failed)" : "");
	if (d->ptr)
		fix(d, "set helo_name = %s in [delivery], or publish %s %s %s", d->ptr, helo,
		    strchr(d->ip, ':') ? "AAAA" : "A", d->ip);
	else
		fix(d, "publish %s %s %s", helo, strchr(d->ip, ':') ? "AAAA" : "A", d->ip);
}

static void
check_dnsbl(struct doc *d)
{
	for (size_t i = 0; i < d->c->ndnsbl; i++) {
		const char *zone = d->c->dnsbl[i];
		char name[512];
		char **ans = NULL, **txt = NULL;
		size_t n = 0, nt = 0;
		int rc;

		if (reverse_name(d->ip, zone, zone, name, sizeof name) < 0)
			return;
		rc = ask(d, 1, name, &ans, &n);
		if (rc == 0 && strncmp(ans[0], "127.", 4) == 0) {
			ask(d, 16, name, &txt, &nt);
			item(d, NULL, "dnsbl", PL_DOC_FAIL, "%s is listed on %s (%s%s%s): receivers "
			    "that use this list refuse its mail", d->ip, zone, ans[0],
			    nt ? ": " : "", nt ? txt[0] : "");
			fix(d, "ask %s to delist %s (see its web site); meanwhile use transport = "
			    "relay or fallback_relay = …", zone, d->ip);
		} else if (rc < 0) {
			item(d, NULL, "dnsbl", PL_DOC_WARN, "could not ask %s about %s (%s)", zone,
			    d->ip, pl_dnssync_error(d->dns));
			fix(d, "many lists refuse public resolvers: check again with your own "
			    "dns_servers = , or remove %s from dnsbl =", zone);
		} else {
			item(d, NULL, "dnsbl", PL_DOC_PASS, "%s is not listed on %s", d->ip, zone);
		}
		pl_dnssync_free_answers(ans, n);
		pl_dnssync_free_answers(txt, nt);
	}
}

/* ---- Per account ------------------------------------------------------------ */

/* The organizational domain (RFC 7489 3.2): one label more than the public
 * suffix, so mail.example.co.uk → example.co.uk, not co.uk.  libpsl reads
 * the system's list (Debian's publicsuffix package) when it is newer than its
 * built-in copy.  A domain that is itself a public suffix is its own. */
static const char *
org_domain(struct doc *d, const char *dom)
{
	const char *r;

	if (d->psl == NULL)
		d->psl = psl_latest(NULL);
	r = d->psl ? psl_registrable_domain(d->psl, dom) : NULL;
	return r ? r : dom;
}

/* 1 pass, 0 not, -1 unknown. */
static int
check_spf(struct doc *d, const struct pl_account *a, const char *domain)
{
	struct pl_spf_out o;
	enum pl_spf_result r;
	char *rec;
	int ret = 0;

	r = pl_spf_check(d->ip, domain, a->address, d->c->helo_name, pl_dnssync_query, d->dns,
	    &o);
	switch (r) {
	case PL_SPF_PASS:
		item(d, a->name, "spf", PL_DOC_PASS, "%s authorises %s (%s)", domain, d->ip, o.term);
		ret = 1;
		break;
	case PL_SPF_TEMPERROR:
		item(d, a->name, "spf", PL_DOC_WARN, "the SPF record of %s could not be checked: "
		    "%s", domain, o.why);
		fix(d, "check that DNS works, then run paloma doctor again");
		ret = -1;
		break;
	case PL_SPF_PERMERROR:
		item(d, a->name, "spf", PL_DOC_FAIL, "the SPF record of %s is broken: %s; "
		    "receivers treat it as no authorisation", domain, o.why);
		rec = pl_spf_suggest(NULL, d->ip);
		fix(d, "fix the TXT record of %s (%s), for example \"%s\"", domain,
		    o.record ? o.record : "", rec);
		free(rec);
		break;
	default:
		rec = pl_spf_suggest(o.record, d->ip);
		if (r == PL_SPF_NONE)
			item(d, a->name, "spf", PL_DOC_FAIL, "%s has no SPF record: receivers cannot "
			    "tell that %s may send its mail", domain, d->ip);
		else
			item(d, a->name, "spf", PL_DOC_FAIL, "%s does not authorise %s (%s: %s): "
			    "receivers take its mail from here for forged", domain, d->ip,
			    pl_spf_result_name(r), o.why);
		if (o.record)
			fix(d, "change the TXT record of %s to \"%s\"", domain, rec);
		else
			fix(d, "publish a TXT record at %s: \"%s\"", domain, rec);
		free(rec);
		break;
	}
	pl_spf_out_free(&o);
	return ret;
}

/* The public key of a PEM private key, base64 of its DER
 * SubjectPublicKeyInfo, as DKIM's p= has it; NULL with why. */
static char *
dkim_pubkey(const char *path, char *why, size_t wlen)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;
	unsigned char *der = NULL;
	char *b64;
	int len;

	if (f == NULL) {
		snprintf(why, wlen, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL) {
		snprintf(why, wlen, "%s is not a PEM private key", path);
		return NULL;
	}
	len = i2d_PUBKEY(k, &der);
	EVP_PKEY_free(k);
	if (len <= 0) {
		snprintf(why, wlen, "cannot derive the public key of %s", path);
		return NULL;
	}
	b64 = xmalloc((size_t)(len / 3 + 2) * 4 + 1);
	EVP_EncodeBlock((unsigned char *)b64, der, len);
	OPENSSL_free(der);
	return b64;
}

/* 1 when the record is published and matches the key. */
static int
check_dkim(struct doc *d, const struct pl_account *a, const char *domain)
{
	const char *ddom = a->dkim_domain ? a->dkim_domain : domain;
	char name[512], why[512];
	char *pub, *p = NULL, **ans = NULL;
	size_t n = 0;
	int rc, ok = 0;

	if (a->dkim_key == NULL || a->dkim_selector == NULL) {
		item(d, a->name, "dkim", PL_DOC_WARN, "mail from %s is not signed (no dkim_key): "
		    "without DKIM, big receivers distrust it and DMARC can rest on SPF alone",
		    a->address);
		fix(d, "run paloma dkim keygen %s --selector paloma, publish the record it "
		    "prints, then set dkim_key = and dkim_selector = paloma in [account %s]",
		    domain, a->name);
		return 0;
	}
	pub = dkim_pubkey(a->dkim_key, why, sizeof why);
	if (pub == NULL) {
		item(d, a->name, "dkim", PL_DOC_FAIL, "dkim_key: %s: paloma cannot sign", why);
		fix(d, "make a key with paloma dkim keygen %s --selector %s", ddom,
		    a->dkim_selector);
		return 0;
	}
	snprintf(name, sizeof name, "%s._domainkey.%s", a->dkim_selector, ddom);
	rc = ask(d, 16, name, &ans, &n);
	for (size_t i = 0; rc == 0 && i < n && p == NULL; i++)
		p = pl_taglist_get(ans[i], "p", 0);
	if (rc < 0) {
		item(d, a->name, "dkim", PL_DOC_WARN, "the DKIM record at %s could not be looked "
		    "up (%s)", name, pl_dnssync_error(d->dns));
		fix(d, "check that DNS works, then run paloma doctor again");
	} else if (p == NULL) {
		item(d, a->name, "dkim", PL_DOC_FAIL, "no DKIM record at %s: receivers cannot "
		    "verify the signatures paloma adds", name);
		fix(d, "publish a TXT record at %s: \"v=DKIM1; k=rsa; p=%s\"", name, pub);
	} else if (strcmp(p, pub) != 0) {
		item(d, a->name, "dkim", PL_DOC_FAIL, "the DKIM record at %s %s: signatures "
		    "made with %s fail", name, p[0] ? "holds another key" : "is revoked (empty p=)",
		    a->dkim_key);
		fix(d, "replace the TXT record at %s with \"v=DKIM1; k=rsa; p=%s\"", name, pub);
	} else {
		item(d, a->name, "dkim", PL_DOC_PASS, "the DKIM record at %s matches %s", name,
		    a->dkim_key);
		ok = 1;
	}
	free(p);
	free(pub);
	pl_dnssync_free_answers(ans, n);
	return ok;
}

struct dmarc {
	int found;		/* 0 none, 1 found, -1 lookup failed */
	char *p, *adkim, *aspf;	/* malloc'd or NULL */
	char where[300];
};

static void
dmarc_lookup(struct doc *d, const char *domain, struct dmarc *m)
{
	const char *org = org_domain(d, domain);

	memset(m, 0, sizeof *m);
	for (int round = 0; round < 2 && m->found == 0; round++) {
		const char *dom = round == 0 ? domain : org;
		char **ans = NULL;
		size_t n = 0;
		int rc;

		if (round == 1 && strcmp(org, domain) == 0)
			break;
		snprintf(m->where, sizeof m->where, "_dmarc.%s", dom);
		rc = ask(d, 16, m->where, &ans, &n);
		if (rc < 0)
			m->found = -1;
		for (size_t i = 0; i < n; i++) {
			if (ascii_ncasecmp(ans[i], "v=DMARC1", 8) != 0)
				continue;
			m->found = 1;
			m->p = pl_taglist_get(ans[i], round == 1 ? "sp" : "p", 1);
			if (m->p == NULL)
				m->p = pl_taglist_get(ans[i], "p", 1);
			m->adkim = pl_taglist_get(ans[i], "adkim", 1);
			m->aspf = pl_taglist_get(ans[i], "aspf", 1);
			break;
		}
		pl_dnssync_free_answers(ans, n);
	}
}

static void
check_account(struct doc *d, const struct pl_account *a)
{
	const char *at = strrchr(a->address, '@');
	const char *domain = at ? at + 1 : a->address;
	const char *ddom = a->dkim_domain ? a->dkim_domain : domain;
	int direct = a->transport == PL_TRANSPORT_DIRECT, spf = -1, dkim, dkim_aligned;
	struct dmarc m;
	const char *policy;

	if (!direct)
		item(d, a->name, "transport", PL_DOC_PASS, "mail from %s leaves through the relay "
		    "%s port %d: the relay's address, reverse DNS and SPF standing count, not "
		    "this host's", a->address, a->relay.host ? a->relay.host : "?", a->relay.port);
	else if (d->ip[0])
		spf = check_spf(d, a, domain);
	dkim = check_dkim(d, a, domain);
	dmarc_lookup(d, domain, &m);
	dkim_aligned = dkim && (ascii_casecmp(ddom, domain) == 0 ||
	    ((m.adkim == NULL || ascii_casecmp(m.adkim, "s") != 0) &&
	    ascii_casecmp(org_domain(d, ddom), org_domain(d, domain)) == 0));
	policy = m.p ? m.p : "none";
	if (m.found < 0) {
		item(d, a->name, "dmarc", PL_DOC_WARN, "the DMARC record of %s could not be looked "
		    "up (%s)", domain, pl_dnssync_error(d->dns));
		fix(d, "check that DNS works, then run paloma doctor again");
	} else if (m.found == 0) {
		item(d, a->name, "dmarc", PL_DOC_WARN, "%s has no DMARC record: receivers do not "
		    "know what to do with mail that fails SPF and DKIM, and some distrust it all",
		    domain);
		fix(d, "publish a TXT record at _dmarc.%s: \"v=DMARC1; p=none; rua=mailto:%s\"",
		    domain, a->address);
	} else if (m.p == NULL || (ascii_casecmp(m.p, "none") != 0 &&
	    ascii_casecmp(m.p, "quarantine") != 0 && ascii_casecmp(m.p, "reject") != 0)) {
		item(d, a->name, "dmarc", PL_DOC_FAIL, "the DMARC record at %s has no valid p= "
		    "policy: receivers ignore it", m.where);
		fix(d, "publish at %s: \"v=DMARC1; p=none; rua=mailto:%s\"", m.where, a->address);
	} else if (!(spf == 1 || dkim_aligned) && direct) {
		item(d, a->name, "dmarc", PL_DOC_WARN, "%s has DMARC p=%s, but neither SPF nor an "
		    "aligned DKIM signature authorises mail from this host: it fails DMARC",
		    m.where, policy);
		fix(d, "pass SPF or DKIM for %s (see the spf and dkim lines)", domain);
	} else {
		item(d, a->name, "dmarc", PL_DOC_PASS, "%s has DMARC p=%s; aligned: SPF %s, DKIM %s",
		    m.where, policy, !direct ? "(relay)" : spf == 1 ? "yes" : "no",
		    dkim_aligned ? "yes" : "no");
	}
	if (direct && m.found == 1 && m.p && (ascii_casecmp(m.p, "quarantine") == 0 ||
	    ascii_casecmp(m.p, "reject") == 0)) {
		if (spf == 1 || dkim_aligned) {
			item(d, a->name, "direct", PL_DOC_PASS, "%s's DMARC policy p=%s is met by %s",
			    domain, m.p, spf == 1 ? "SPF" : "DKIM");
		} else {
			item(d, a->name, "direct", PL_DOC_FAIL, "%s publishes DMARC p=%s and mail "
			    "from %s sent directly from %s passes neither its SPF nor an aligned "
			    "DKIM signature: receivers will %s it", domain, m.p, a->address,
			    d->ip[0] ? d->ip : "this host",
			    ascii_casecmp(m.p, "reject") == 0 ? "reject" : "file it as spam or drop");
			fix(d, "use transport = relay with %s's submission server (relay = "
			    "smtps://HOST:465) in [account %s]; only %s's owner can authorise other "
			    "servers", domain, a->name, domain);
		}
	}
	free(m.p);
	free(m.adkim);
	free(m.aspf);
}

int
pl_doctor_run(const struct pl_config *c, const struct pl_account *only,
    struct pl_doc_report *rep, struct pl_err *e)
{
	struct doc d;
	char local[INET6_ADDRSTRLEN] = "";
	int any_direct = 0;

	memset(&d, 0, sizeof d);
	memset(rep, 0, sizeof *rep);
	d.c = c;
	d.rep = rep;
	if (pl_dnssync_new(&d.dns, c->dns_servers, DOC_DNS_MS, e) < 0)
		return -1;
	for (size_t i = 0; i < c->naccounts; i++)
		if ((only == NULL || only == &c->accounts[i]) &&
		    c->accounts[i].transport == PL_TRANSPORT_DIRECT)
			any_direct = 1;
	if (any_direct) {
		check_port25(&d, local, sizeof local);
		check_address(&d, local);
		if (d.ip[0]) {
			check_rdns(&d);
			check_helo(&d);
			check_dnsbl(&d);
		}
	}
	for (size_t i = 0; i < c->naccounts; i++)
		if (only == NULL || only == &c->accounts[i])
			check_account(&d, &c->accounts[i]);
	free(d.ptr);
	psl_free(d.psl);
	pl_dnssync_free(d.dns);
	return 0;
}

static const char *const result_names[] = { "PASS", "WARN", "FAIL" };

static void
json_str(FILE *f, const char *s)
{
	if (s == NULL) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void
pl_doctor_print(const struct pl_doc_report *rep, int json, FILE *f)
{
	const char *last = "";

	if (json) {
		fputs("[", f);
		for (size_t i = 0; i < rep->n; i++) {
			const struct pl_doc_item *it = &rep->v[i];
			fputs(i ? ",\n {\"account\": " : "\n {\"account\": ", f);
			json_str(f, it->account);
			fputs(", \"check\": ", f);
			json_str(f, it->check);
			fprintf(f, ", \"result\": \"%s\", \"why\": ", result_names[it->result]);
			json_str(f, it->why);
			fputs(", \"fix\": ", f);
			json_str(f, it->fix);
			fputs("}", f);
		}
		fputs("\n]\n", f);
		return;
	}
	for (size_t i = 0; i < rep->n; i++) {
		const struct pl_doc_item *it = &rep->v[i];
		const char *acct = it->account ? it->account : "";

		if (i == 0 || strcmp(acct, last) != 0) {
			if (it->account)
				fprintf(f, "%s[account %s]\n", i ? "\n" : "", it->account);
			else
				fprintf(f, "[this host]\n");
			last = acct;
		}
		fprintf(f, "%s  %s  %s\n", result_names[it->result], it->check, it->why);
		if (it->fix && *it->fix)
			fprintf(f, "      fix: %s\n", it->fix);
	}
}

int
pl_doctor_status(const struct pl_doc_report *rep)
{
	int worst = 0;

	for (size_t i = 0; i < rep->n; i++)
		if ((int)rep->v[i].result > worst)
			worst = (int)rep->v[i].result;
	return worst;
}

void
pl_doctor_free(struct pl_doc_report *rep)
{
	for (size_t i = 0; i < rep->n; i++) {
		free(rep->v[i].account);
		free(rep->v[i].check);
		free(rep->v[i].why);
		free(rep->v[i].fix);
	}
	free(rep->v);
	rep->v = NULL;
	rep->n = 0;
}
