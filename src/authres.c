/* authres.c — the one-line summary of a message's authentication
 * (RFC 8601 Authentication-Results, else its DKIM-Signature), see authres.h.
 *
 * Only the topmost field counts: it is the one the user's own server
 * added; fields further down came with the message and could say anything
 * (a forged "dkim=pass header.d=paypal.com").  Comments are dropped, results and
 * domains are reduced to the characters they may hold, so that the line
 * is safe to show as it is.  Who vouches for the results ends the line:
 * "according to mx.example.net" (the field's authserv-id) for the
 * provider's, "verified by paloma" / "checked by paloma" for the client's
 * own (dkimverify.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "util.h"

/* v without RFC 5322 comments, with ';' kept. */
static char *
strip_comments(const char *v)
{
	struct buf b = { 0 };
	int depth = 0;

	buf_adds(&b, "");
	for (; *v; v++) {
		if (*v == '\\' && depth > 0 && v[1]) {
			v++;
			continue;
		}
		if (*v == '(')
			depth++;
		else if (*v == ')' && depth > 0)
			depth--;
		else if (depth == 0)
			buf_addc(&b, *v == '\t' || *v == '\r' || *v == '\n' ? ' ' : *v);
	}
	return buf_steal(&b);
}

/* Copies the leading characters of s that belong in a word of kind
 * (0: result, lower case letters; 1: domain) into out. */
static void
auth_word(char *out, size_t len, const char *s, size_t n, int domain)
{
	size_t k = 0;

	if (n > 0 && *s == '"') {
		s++;
		n--;
	}
	for (size_t i = 0; i < n && k + 1 < len; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if ((c >= 'a' && c <= 'z') || (domain && ((c >= '0' && c <= '9') || c == '.' ||
		    c == '-' || c == '_')))
			out[k++] = c;
		else
			break;
	}
	out[k] = '\0';
}

/* Appends "DKIM pass (example.org), SPF pass, DMARC pass" for one field,
 * and puts its authserv-id in server; how many results it found. */
static int
auth_results(const char *value, struct buf *b, char *server, size_t slen)
{
	char *v = strip_comments(value), *save = NULL, *seg;
	int first = 1, found = 0, ndkim = 0;

	*server = '\0';
	for (seg = strtok_r(v, ";", &save); seg; seg = strtok_r(NULL, ";", &save)) {
		char method[16], result[16], domain[256] = "", *tok, *tsave = NULL, *eq;

		if (first) {	/* the authserv-id, then perhaps a version */
			first = 0;
			seg += strspn(seg, " ");
			auth_word(server, slen, seg, strcspn(seg, " "), 1);
			continue;
		}
		tok = strtok_r(seg, " ", &tsave);
		if (tok == NULL || (eq = strchr(tok, '=')) == NULL)
			continue;
		auth_word(method, sizeof method, tok, (size_t)(eq - tok), 0);
		auth_word(result, sizeof result, eq + 1, strlen(eq + 1), 0);
		if (*result == '\0')
			continue;
		while ((tok = strtok_r(NULL, " ", &tsave)) != NULL) {
			const char *d = NULL, *at;

			if (ascii_ncasecmp(tok, "header.d=", 9) == 0)
				d = tok + 9;
			else if (ascii_ncasecmp(tok, "header.i=", 9) == 0 && *domain == '\0')
				d = (at = strchr(tok, '@')) ? at + 1 : tok + 9;
			if (d)
				auth_word(domain, sizeof domain, d, strlen(d), 1);
		}
		if (strcmp(method, "dkim") == 0) {
			if (++ndkim > 3)
				continue;
			buf_printf(b, "%sDKIM %s", b->len ? ", " : "", result);
			if (*domain)
				buf_printf(b, " (%s)", domain);
		} else if (strcmp(method, "spf") == 0) {
			buf_printf(b, "%sSPF %s", b->len ? ", " : "", result);
		} else if (strcmp(method, "dmarc") == 0) {
			buf_printf(b, "%sDMARC %s", b->len ? ", " : "", result);
		} else {
			continue;
		}
		found++;
	}
	free(v);
	return found;
}

/* The d= tag of a DKIM-Signature field. */
static void
dkim_domain(const char *value, char *out, size_t len)
{
	const char *p = value;

	*out = '\0';
	while (p && *p) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == ';')
			p++;
		if (p[0] == 'd' && (p[1] == '=' || p[1] == ' ' || p[1] == '\t')) {
			p++;
			while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
				p++;
			if (*p == '=') {
				p++;
				while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
					p++;
				auth_word(out, len, p, strcspn(p, "; \t\r\n"), 1);
				return;
			}
		}
		p = strchr(p, ';');
	}
}

int
pl_authres_provided(const char *const *ar, size_t nar)
{
	struct buf b = { 0 };
	char server[256];
	int found = nar > 0 && auth_results(ar[0], &b, server, sizeof server) > 0;

	buf_free(&b);
	return found;
}

/* "DKIM fail (example.org: body hash did not verify)" for one verdict of
 * paloma's own.  d= is untrusted: one that is not a plain domain is not
 * shown cut short (a pass for "paypal.com\x01.evil.test" must not read as
 * paypal.com's); the reason, the library's, keeps its printable ASCII.
 * A verdict on the whole message (its header refused before a signature
 * was read) has no domain: first_d, the first signature's, stands in. */
static void
verdict(struct buf *b, const struct pl_dkim_verdict *v, const char *first_d)
{
	static const char *const names[] = {
		[PL_DKIM_PASS] = "pass", [PL_DKIM_FAIL] = "fail",
		[PL_DKIM_TEMPERROR] = "temperror", [PL_DKIM_PERMERROR] = "permerror",
	};
	const char *dom = *v->domain ? v->domain : first_d;
	char d[256], why[sizeof v->why];
	size_t k = 0;

	auth_word(d, sizeof d, dom, strlen(dom), 1);
	if (strlen(d) != strlen(dom))
		snprintf(d, sizeof d, "invalid domain");
	for (const char *p = v->why; *p && k + 1 < sizeof why; p++)
		if (*p >= ' ' && *p <= '~')
			why[k++] = *p;
	why[k] = '\0';
	buf_printf(b, "%sDKIM %s (%s%s%s)", b->len ? ", " : "", names[v->result],
	    *d ? d : *why ? "" : "unknown domain", *d && *why ? ": " : "", why);
}

char *
pl_authres_summary(const char *const *ar, size_t nar, const char *dkim_signature,
    const struct pl_dkim_verdict *v, int nv)
{
	struct buf b = { 0 };
	char dkim_d[256] = "", server[256];
	int found = 0, pass = 1;

	buf_adds(&b, "");
	if (nar > 0 && (found = auth_results(ar[0], &b, server, sizeof server) > 0))
		buf_printf(&b, ", according to %s", *server ? server : "your mail server");
	if (dkim_signature)
		dkim_domain(dkim_signature, dkim_d, sizeof dkim_d);
	if (!found && dkim_signature && v && nv > 0) {
		for (int i = 0; i < nv; i++) {
			verdict(&b, &v[i], nv == 1 ? dkim_d : "");
			pass &= v[i].result == PL_DKIM_PASS;
		}
		buf_adds(&b, pass ? ", verified by paloma" : ", checked by paloma");
		found = 1;
	}
	if (!found && dkim_signature) {
		buf_printf(&b, "DKIM signed by %s (not verified)", *dkim_d ? dkim_d : "unknown domain");
		found = 1;
	}
	if (!found) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}
