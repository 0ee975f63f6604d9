/* config.c — reads the INI-style settings file (paloma.conf(5)).
 *
 * Syntax: `[section]` or `[account NAME]` headers, `key = value` lines, and
 * comment lines starting with '#' or ';'.  Values run to the end of the line
 * (no inline comments); surrounding double quotes are removed.  Every error
 * names the file, the line and the key, and is EX_CONFIG. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "fsutil.h"
#include "paths.h"

enum section { S_NONE, S_GENERAL, S_ACCOUNT, S_DELIVERY, S_UI };

static const long default_retry[] = { 60, 300, 900, 1800, 3600, 7200, 14400 };

static void
set_defaults(struct pl_config *c)
{
	char host[256];

	c->maildir = pl_expand_home("~/Mail");
	c->editor = NULL;
	c->sync_interval = 300;
	if (gethostname(host, sizeof host) != 0 || host[0] == '\0')
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	c->helo_name = xstrdup(host);
	c->dns_servers = NULL;
	c->smtp_port = 25;
	c->nretry = sizeof default_retry / sizeof default_retry[0];
	c->retry = xmalloc(sizeof default_retry);
	memcpy(c->retry, default_retry, sizeof default_retry);
	c->max_lifetime = 5 * 86400;
	c->delay_warning = 4 * 3600;
	c->parallel = 16;
	c->per_domain = 4;
	c->max_message_size = 35LL * 1024 * 1024;
	c->tls = PL_TLS_OPPORTUNISTIC;
	c->autostart = 1;
	c->mta_sts = 1;
	c->dane = 1;
	c->mta_sts_port = 443;
	c->timeout_connect = 30;
	c->timeout_greeting = 300;
	c->timeout_command = 300;
	c->timeout_mail = 300;
	c->timeout_rcpt = 300;
	c->timeout_data_init = 120;
	c->timeout_data_block = 180;
	c->timeout_data_end = 600;
	c->ui.default_query = xstrdup("tag:inbox");
}

static const struct {
	const char *key;
	size_t off;
} timeouts[] = {
	{ "timeout_connect", offsetof(struct pl_config, timeout_connect) },
	{ "timeout_greeting", offsetof(struct pl_config, timeout_greeting) },
	{ "timeout_command", offsetof(struct pl_config, timeout_command) },
	{ "timeout_mail", offsetof(struct pl_config, timeout_mail) },
	{ "timeout_rcpt", offsetof(struct pl_config, timeout_rcpt) },
	{ "timeout_data_init", offsetof(struct pl_config, timeout_data_init) },
	{ "timeout_data_block", offsetof(struct pl_config, timeout_data_block) },
	{ "timeout_data_end", offsetof(struct pl_config, timeout_data_end) },
};

struct ctx {
	struct pl_config *c;
	const char *file;
	int line;
	enum section sec;
	struct pl_account *acct;
	const char *key;
	struct pl_err *e;
	/* keys seen in the current section, to refuse a key given twice */
	char seen[64][32];
	int nseen;
	/* the current account's keys that are checked together at its end */
	int tls_line, tls_none, folders_line, pop3_delete_line, fetch_line, sent_folder_line;
	const char *sent_key;	/* the key that set sent_folder_line */
	int dkim_line, transport_line;
	const char *fetch_key;	/* first key that needs a server, for messages */
	const char *auth_key;	/* first login key (user, password_command…) */
	int auth_line;
	int dnsbl_set;		/* dnsbl = given: no default zones */
};

static int
bad(struct ctx *x, const char *fmt, const char *value)
{
	struct buf shown = { 0 };
	char why[512];

	/* The value may hold any bytes: the message is one line of text. */
	pl_buf_printable(&shown, value);
	snprintf(why, sizeof why, fmt, shown.p ? shown.p : "");
	buf_free(&shown);
	return pl_errf(x->e, EX_CONFIG, "%s:%d: %s: %s", x->file, x->line, x->key, why);
}

static int
parse_bool(struct ctx *x, const char *v, int *out)
{
	if (!ascii_casecmp(v, "yes") || !ascii_casecmp(v, "true") || !ascii_casecmp(v, "on") ||
	    !strcmp(v, "1"))
		*out = 1;
	else if (!ascii_casecmp(v, "no") || !ascii_casecmp(v, "false") ||
	    !ascii_casecmp(v, "off") || !strcmp(v, "0"))
		*out = 0;
	else
		return bad(x, "'%s' is not yes or no", v);
	return 0;
}

static int
parse_int(struct ctx *x, const char *v, int lo, int hi, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end != '\0' || n < lo || n > hi) {
		char fmt[128];
		snprintf(fmt, sizeof fmt, "'%%s' is not a whole number from %d to %d", lo, hi);
		return bad(x, fmt, v);
	}
	*out = (int)n;
	return 0;
}

static int
parse_dur(struct ctx *x, const char *v, long *out)
{
	if (parse_duration(v, out) < 0 || *out <= 0)
		return bad(x, "'%s' is not a duration (like 90s, 15m, 4h, 5d)", v);
	return 0;
}

static int
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
	return 0;
}

static int
general_key(struct ctx *x, const char *k, const char *v)
{
	struct pl_config *c = x->c;

	if (!strcmp(k, "maildir")) {
		free(c->maildir);
		c->maildir = pl_expand_home(v);
		if (c->maildir[0] != '/')
			return bad(x, "'%s' is not an absolute path (or ~/…)", v);
		return 0;
	}
	if (!strcmp(k, "editor"))
		return set_str(&c->editor, v);
	if (!strcmp(k, "sync_interval"))
		return parse_dur(x, v, &c->sync_interval);
	return bad(x, "%s", "unknown key in [general]");
}


/* The rest of a URL after "scheme://": host (a name, or an IPv6 address
 * in brackets), an optional :port, an optional final '/', nothing else.
 * *h..*he is the host; *port 0 when none is given.  -1 on bad syntax. */
static int
host_port(const char *p, const char **h, const char **he, long *port)
{
	*port = 0;
	if (*p == '[') {
		*h = ++p;
		*he = strchr(p, ']');
		if (*he == NULL || *he == *h ||
		    strspn(*h, "0123456789abcdefABCDEF:.") != (size_t)(*he - *h))
			return -1;
		p = *he + 1;
	} else {
		*h = p;
		p += strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");
		*he = p;
		if (*he == *h || **h == '.' || **h == '-')
			return -1;
	}
	if (*p == ':') {
		char *end;

		errno = 0;
		*port = strtol(p + 1, &end, 10);
		if (errno || end == p + 1 || p[1] < '0' || p[1] > '9' || *port < 1 ||
		    *port > 65535)
			return -1;
		p = end;
	}
	if (*p == '/')
		p++;
	return *p == '\0' ? 0 : -1;
}

/* "imaps://host[:port]", "imap://host[:port]" (or pop3s, pop3), an IPv6
 * address in brackets, an optional final '/'; no user, no path. */
static int
parse_url(struct ctx *x, const char *k, const char *v)
{
	struct pl_account *a = x->acct;
	int pop = !strcmp(k, "pop3");
	const char *scheme = pop ? "pop3" : "imap", *p = v, *h, *he;
	char fmt[160];
	int implicit = 0;
	long port = 0;

	snprintf(fmt, sizeof fmt, "'%%s' is not %ss://host[:port] or %s://host[:port]",
	    scheme, scheme);
	if (a->proto != PL_FETCH_NONE)
		return bad(x, "%s", "an account reads mail from imap or from pop3, not both");
	if (strchr(v, '@'))
		return bad(x, "'%s': give the user name with user =, not in the URL", v);
	if (!strncmp(p, scheme, 4) && p[4] == 's' && !strncmp(p + 5, "://", 3))
		implicit = 1, p += 8;
	else if (!strncmp(p, scheme, 4) && !strncmp(p + 4, "://", 3))
		p += 7;
	else
		return bad(x, fmt, v);
	if (host_port(p, &h, &he, &port) < 0)
		return bad(x, fmt, v);
	a->proto = pop ? PL_FETCH_POP3 : PL_FETCH_IMAP;
	a->tls = implicit ? PL_FETCH_TLS : PL_FETCH_STARTTLS;
	a->host = xstrndup(h, (size_t)(he - h));
	a->port = port ? (int)port : pop ? (implicit ? 995 : 110) : (implicit ? 993 : 143);
	return 0;
}

static void
free_folders(struct pl_account *a)
{
	for (size_t i = 0; i < a->nfolders; i++)
		free(a->folders[i]);
	free(a->folders);
	a->folders = NULL;
	a->nfolders = 0;
}

/* Comma-separated folder names, or "*" alone for every folder. */
static int
parse_folders(struct ctx *x, const char *v)
{
	struct pl_account *a = x->acct;
	const char *p = v;

	for (;;) {
		const char *comma = strchr(p, ',');
		char *name = comma ? xstrndup(p, (size_t)(comma - p)) : xstrdup(p);
		char *t = trim(name);

		if (*t == '\0') {
			free(name);
			free_folders(a);
			return bad(x, "'%s' has an empty folder name", v);
		}
		a->folders = xrealloc(a->folders, (a->nfolders + 1) * sizeof *a->folders);
		a->folders[a->nfolders++] = xstrdup(t);
		free(name);
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	for (size_t i = 0; i < a->nfolders; i++)
		if (!strcmp(a->folders[i], "*") && a->nfolders > 1) {
			free_folders(a);
			return bad(x, "'%s': * means every folder and stands alone", v);
		}
	x->folders_line = x->line;
	return 0;
}

static int
parse_ca_file(struct ctx *x, const char *v)
{
	struct pl_account *a = x->acct;
	char *path = pl_expand_home(v), fmt[256];
	struct stat st;
	FILE *f;

	if (path[0] != '/') {
		free(path);
		return bad(x, "'%s' is not an absolute path (or ~/…)", v);
	}
	f = fopen(path, "r");
	if (f == NULL || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(fmt, sizeof fmt, "cannot read '%%s': %s",
		    f == NULL ? strerror(errno) : "not a regular file");
		if (f)
			fclose(f);
		free(path);
		return bad(x, fmt, v);
	}
	fclose(f);
	free(a->ca_file);
	a->ca_file = path;
	return 0;
}

static void
free_tags(struct pl_account *a)
{
	for (size_t i = 0; i < a->nnew_tags; i++)
		free(a->new_tags[i]);
	free(a->new_tags);
	a->new_tags = NULL;
	a->nnew_tags = 0;
}

/* Tags separated by blanks or commas: no control characters, and not
 * starting with + or - (notmuch tag would read those as operations). */
static int
parse_tags(struct ctx *x, const char *v)
{
	struct pl_account *a = x->acct;
	char *copy = xstrdup(v), *save = NULL;

	free_tags(a);
	for (char *t = strtok_r(copy, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
		for (const char *p = t; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				free(copy);
				free_tags(a);
				return bad(x, "%s", "a tag has a control character");
			}
		if (*t == '+' || *t == '-') {
			free_tags(a);
			bad(x, "tag '%s' starts with + or -", t);
			free(copy);
			return -1;
		}
		a->new_tags = xrealloc(a->new_tags, (a->nnew_tags + 1) * sizeof *a->new_tags);
		a->new_tags[a->nnew_tags++] = xstrdup(t);
	}
	free(copy);
	return 0;
}

/* relay = / fallback_relay = smtps://host[:port] or smtp://host[:port]. */
static int
parse_relay(struct ctx *x, const char *v, struct pl_relay *r)
{
	const char *p = v, *h, *he;
	static const char fmt[] = "'%s' is not smtps://host[:port] or smtp://host[:port]";
	long port = 0;

	if (strchr(v, '@'))
		return bad(x, "'%s': give the user name with relay_user =, not in the URL", v);
	if (!strncmp(p, "smtps://", 8))
		r->implicit_tls = 1, p += 8;
	else if (!strncmp(p, "smtp://", 7))
		r->implicit_tls = 0, p += 7;
	else
		return bad(x, fmt, v);
	if (host_port(p, &h, &he, &port) < 0)
		return bad(x, fmt, v);
	free(r->host);
	r->host = xstrndup(h, (size_t)(he - h));
	r->port = port ? (int)port : r->implicit_tls ? 465 : 587;
	return 0;
}

/* The account's sending keys: DKIM and the transport. */
static int
account_send_key(struct ctx *x, const char *k, const char *v)
{
	struct pl_account *a = x->acct;

	if (!strcmp(k, "dkim_key")) {
		char *path = pl_expand_home(v);

		if (path[0] != '/') {
			free(path);
			return bad(x, "'%s' is not an absolute path (or ~/…)", v);
		}
		free(a->dkim_key);
		a->dkim_key = path;
		x->dkim_line = x->line;
		return 0;
	}
	if (!strcmp(k, "dkim_selector")) {
		if (*v == '\0' || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-_.") != strlen(v) || *v == '.' || *v == '-')
			return bad(x, "'%s' is not a selector (letters, digits, - _ .)", v);
		return set_str(&a->dkim_selector, v);
	}
	if (!strcmp(k, "dkim_domain")) {
		if (*v == '\0' || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-.") != strlen(v) || *v == '.' || *v == '-')
			return bad(x, "'%s' is not a domain name", v);
		set_str(&a->dkim_domain, v);
		ascii_lower(a->dkim_domain);
		return 0;
	}
	if (!strcmp(k, "transport")) {
		if (!strcmp(v, "direct"))
			a->transport = PL_TRANSPORT_DIRECT;
		else if (!strcmp(v, "relay"))
			a->transport = PL_TRANSPORT_RELAY;
		else
			return bad(x, "'%s' is not direct or relay", v);
		x->transport_line = x->line;
		return 0;
	}
	if (!strcmp(k, "relay"))
		return parse_relay(x, v, &a->relay);
	if (!strcmp(k, "fallback_relay"))
		return parse_relay(x, v, &a->fallback_relay);
	if (!strcmp(k, "relay_user")) {
		if (*v == '\0')
			return bad(x, "%s", "empty user name");
		return set_str(&a->relay_user, v);
	}
	return 1;
}

/* Keys that only mean something with imap = or pop3 =. */
static const char *const fetch_keys[] = {
	"user", "password_command", "oauth2_token_command", "ca_file", "folders", "tls",
	"pop3_delete", "bounces_to_server", "sent_folder", "new_tags", "save_sent", "timeout",
};

static int
account_fetch_key(struct ctx *x, const char *k, const char *v)
{
	struct pl_account *a = x->acct;

	for (size_t i = 0; i < sizeof fetch_keys / sizeof fetch_keys[0]; i++) {
		/* The login keys and ca_file also serve a relay: checked at
		 * the end. */
		int login = i < 4;

		if (strcmp(k, fetch_keys[i]))
			continue;
		if (login && x->auth_key == NULL) {
			x->auth_key = fetch_keys[i];
			x->auth_line = x->line;
		} else if (!login && x->fetch_key == NULL) {
			x->fetch_key = fetch_keys[i];
			x->fetch_line = x->line;
		}
	}
	if (!strcmp(k, "imap") || !strcmp(k, "pop3"))
		return parse_url(x, k, v);
	if (!strcmp(k, "user")) {
		if (*v == '\0')
			return bad(x, "%s", "empty user name");
		return set_str(&a->user, v);
	}
	if (!strcmp(k, "password_command") || !strcmp(k, "oauth2_token_command")) {
		if (a->password_command || a->oauth2_token_command)
			return bad(x, "%s", "give password_command or oauth2_token_command, not both");
		if (*v == '\0')
			return bad(x, "%s", "empty command");
		return set_str(k[0] == 'p' ? &a->password_command : &a->oauth2_token_command, v);
	}
	if (!strcmp(k, "folders"))
		return parse_folders(x, v);
	if (!strcmp(k, "ca_file"))
		return parse_ca_file(x, v);
	if (!strcmp(k, "tls")) {
		if (!strcmp(v, "none"))
			x->tls_none = 1;
		else if (strcmp(v, "required"))
			return bad(x, "'%s' is not required or none", v);
		x->tls_line = x->line;
		return 0;
	}
	if (!strcmp(k, "pop3_delete")) {
		x->pop3_delete_line = x->line;
		return parse_bool(x, v, &a->pop3_delete);
	}
	if (!strcmp(k, "bounces_to_server"))
		return parse_bool(x, v, &a->bounces_to_server);
	if (!strcmp(k, "save_sent")) {
		x->sent_folder_line = x->line;
		x->sent_key = "save_sent";
		return parse_bool(x, v, &a->save_sent);
	}
	if (!strcmp(k, "sent_folder")) {
		if (*v == '\0')
			return bad(x, "%s", "empty folder name");
		x->sent_folder_line = x->line;
		x->sent_key = "sent_folder";
		return set_str(&a->sent_folder, v);
	}
	if (!strcmp(k, "new_tags"))
		return parse_tags(x, v);
	if (!strcmp(k, "timeout")) {
		if (parse_dur(x, v, &a->timeout) < 0)
			return -1;
		if (a->timeout > 3600)
			return bad(x, "'%s' is more than an hour", v);
		return 0;
	}
	return 1;
}

/* At the end of an [account] section: the keys that go together. */
static int
end_account(struct ctx *x)
{
	struct pl_account *a = x->acct;
	int rc = 0;

	if (a == NULL)
		return 0;
	if (a->proto == PL_FETCH_NONE && x->fetch_key) {
		x->line = x->fetch_line;
		x->key = x->fetch_key;
		rc = bad(x, "%s", "needs imap = or pop3 = in the same account");
	} else if (a->proto == PL_FETCH_NONE && x->auth_key && a->relay.host == NULL &&
	    a->fallback_relay.host == NULL) {
		x->line = x->auth_line;
		x->key = x->auth_key;
		rc = bad(x, "%s", "needs imap =, pop3 =, relay = or fallback_relay = in the same account");
	} else if ((a->relay.host || a->fallback_relay.host) && a->user == NULL &&
	    a->relay_user == NULL && (a->password_command || a->oauth2_token_command)) {
		x->line = a->line;
		x->key = "relay_user";
		rc = bad(x, "account '%s' logs in to its relay but has no relay_user or user", a->name);
	} else if (a->proto != PL_FETCH_NONE && a->user == NULL) {
		x->line = a->line;
		x->key = "user";
		rc = bad(x, "account '%s' reads mail from a server but has no user", a->name);
	} else if (x->tls_none && a->tls != PL_FETCH_STARTTLS) {
		x->line = x->tls_line;
		x->key = "tls";
		rc = bad(x, "%s", "none is only for imap:// or pop3:// (imaps:// and pop3s:// are TLS)");
	} else if (a->proto == PL_FETCH_POP3 && a->nfolders > 0) {
		x->line = x->folders_line;
		x->key = "folders";
		rc = bad(x, "%s", "POP3 reads only the inbox; folders is for imap");
	} else if (a->proto == PL_FETCH_IMAP && x->pop3_delete_line) {
		x->line = x->pop3_delete_line;
		x->key = "pop3_delete";
		rc = bad(x, "%s", "is for pop3 accounts; imap keeps messages on the server");
	} else if (a->proto == PL_FETCH_POP3 && x->sent_folder_line) {
		x->line = x->sent_folder_line;
		x->key = x->sent_key;
		rc = bad(x, "%s", "is for imap accounts: POP3 has no sent folder");
	}
	if (rc == 0 && a->dkim_key && a->dkim_selector == NULL) {
		x->line = x->dkim_line;
		x->key = "dkim_key";
		rc = bad(x, "%s", "needs dkim_selector = in the same account");
	} else if (rc == 0 && a->dkim_selector && a->dkim_key == NULL) {
		x->line = a->line;
		x->key = "dkim_selector";
		rc = bad(x, "account '%s' has a dkim_selector but no dkim_key", a->name);
	} else if (rc == 0 && a->transport == PL_TRANSPORT_RELAY && a->relay.host == NULL) {
		x->line = x->transport_line;
		x->key = "transport";
		rc = bad(x, "%s", "relay needs relay = smtps://host or smtp://host in the same account");
	}
	if (rc < 0)
		return rc;
	if (x->tls_none)
		a->tls = PL_FETCH_CLEAR;
	if (a->proto == PL_FETCH_IMAP && a->nfolders == 0) {
		a->folders = xmalloc(sizeof *a->folders);
		a->folders[0] = xstrdup("INBOX");
		a->nfolders = 1;
	}
	x->tls_line = x->tls_none = x->folders_line = 0;
	x->pop3_delete_line = x->fetch_line = x->sent_folder_line = 0;
	x->dkim_line = x->transport_line = 0;
	x->fetch_key = x->auth_key = NULL;
	x->auth_line = 0;
	x->acct = NULL;
	return 0;
}

static int
account_key(struct ctx *x, const char *k, const char *v)
{
	struct pl_account *a = x->acct;
	int rc;

	if (!strcmp(k, "address")) {
		struct pl_err e;
		char *mb;

		if (pl_addr_parse_one(v, &mb, &e) < 0)
			return bad(x, "%s", e.msg);
		free(a->address);
		a->address = mb;
		return 0;
	}
	if (!strcmp(k, "name"))
		return set_str(&a->display_name, v);
	if (!strcmp(k, "default"))
		return parse_bool(x, v, &a->is_default);
	if ((rc = account_send_key(x, k, v)) <= 0)
		return rc;
	if ((rc = account_fetch_key(x, k, v)) <= 0)
		return rc;
	return bad(x, "%s", "unknown key in [account]");
}

static int
parse_retry(struct ctx *x, const char *v)
{
	struct pl_config *c = x->c;
	char *copy = xstrdup(v), *save = NULL;
	long *r = NULL;
	size_t n = 0;

	for (char *t = strtok_r(copy, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
		long d;
		if (parse_duration(t, &d) < 0 || d <= 0) {
			int rc = bad(x, "'%s' is not a duration (like 90s, 15m, 4h, 5d)", t);
			free(copy);
			free(r);
			return rc;
		}
		r = xrealloc(r, (n + 1) * sizeof *r);
		r[n++] = d;
	}
	free(copy);
	if (n == 0)
		return bad(x, "%s", "empty retry schedule");
	free(c->retry);
	c->retry = r;
	c->nretry = n;
	return 0;
}

/* One dns_servers item: "ip", "ip:port", "[ipv6]" or "[ipv6]:port", or a bare
 * IPv6 address.  The syntax c-ares' ares_set_servers_ports_csv() takes. */
static int
server_ok(const char *s)
{
	char host[INET6_ADDRSTRLEN + 1];
	unsigned char a[sizeof(struct in6_addr)];
	const char *port = NULL, *end;
	size_t n;

	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL || (end[1] != '\0' && end[1] != ':'))
			return 0;
		n = (size_t)(end - s - 1);
		if (n >= sizeof host)
			return 0;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (end[1] == ':')
			port = end + 2;
		if (inet_pton(AF_INET6, host, a) != 1)
			return 0;
	} else if (inet_pton(AF_INET6, s, a) == 1) {
		return 1;
	} else {
		end = strchr(s, ':');
		n = end ? (size_t)(end - s) : strlen(s);
		if (n >= sizeof host)
			return 0;
		memcpy(host, s, n);
		host[n] = '\0';
		if (end)
			port = end + 1;
		if (inet_pton(AF_INET, host, a) != 1)
			return 0;
	}
	if (port) {
		char *pe;
		long p = strtol(port, &pe, 10);

		if (*port < '0' || *port > '9' || *pe || p < 1 || p > 65535)
			return 0;
	}
	return 1;
}

/* "ip[:port]" or "[ipv6]:port", comma or blank separated, each checked here
 * so that a typo is reported with its line rather than at the first lookup.
 * Kept comma separated, as c-ares wants them. */
static int
parse_servers(struct ctx *x, const char *v)
{
	char *copy = xstrdup(v), *save = NULL;
	struct buf list = { 0 };

	for (char *t = strtok_r(copy, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
		if (!server_ok(t)) {
			bad(x, "'%s' is not an IP address with an optional :port", t);
			free(copy);
			buf_free(&list);
			return -1;
		}
		if (list.len)
			buf_addc(&list, ',');
		buf_adds(&list, t);
	}
	free(copy);
	if (list.len == 0)
		return bad(x, "'%s' is not a list of IP addresses with optional :port", v);
	free(x->c->dns_servers);
	x->c->dns_servers = buf_steal(&list);
	return 0;
}

static void
free_dnsbl(struct pl_config *c)
{
	for (size_t i = 0; i < c->ndnsbl; i++)
		free(c->dnsbl[i]);
	free(c->dnsbl);
	c->dnsbl = NULL;
	c->ndnsbl = 0;
}

/* DNS blocklist zones, separated by blanks or commas; "none" for none. */
static int
parse_dnsbl(struct ctx *x, const char *v)
{
	struct pl_config *c = x->c;
	char *copy = xstrdup(v), *save = NULL;

	free_dnsbl(c);
	x->dnsbl_set = 1;
	if (!strcmp(v, "none")) {
		free(copy);
		return 0;
	}
	for (char *t = strtok_r(copy, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
		if (strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") !=
		    strlen(t) || *t == '.' || *t == '-' || !strchr(t, '.')) {
			free_dnsbl(c);
			bad(x, "'%s' is not a DNS zone", t);
			free(copy);
			return -1;
		}
		c->dnsbl = xrealloc(c->dnsbl, (c->ndnsbl + 1) * sizeof *c->dnsbl);
		c->dnsbl[c->ndnsbl++] = ascii_lower(xstrdup(t));
	}
	free(copy);
	return 0;
}

/* What EHLO may carry (RFC 5321 4.1.1.1): a domain of LDH labels, or an
 * address literal "[192.0.2.1]" / "[IPv6:2001:db8::1]". */
static int
helo_ok(const char *v)
{
	unsigned char a[sizeof(struct in6_addr)];
	size_t n = strlen(v), label = 0;

	if (*v == '[') {
		char lit[INET6_ADDRSTRLEN + 8];

		if (n < 3 || v[n - 1] != ']' || n - 2 >= sizeof lit)
			return 0;
		memcpy(lit, v + 1, n - 2);
		lit[n - 2] = '\0';
		if (!ascii_ncasecmp(lit, "IPv6:", 5))
			return inet_pton(AF_INET6, lit + 5, a) == 1;
		return inet_pton(AF_INET, lit, a) == 1;
	}
	if (n == 0 || n > 253)
		return 0;
	for (const char *p = v;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-')
				return 0;
			if (*p == '\0')
				return 1;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || (*p == '-' && label > 0)) {
			label++;
		} else {
			return 0;
		}
	}
}

/* A saved search's name is shown in the client's list of searches: one to
 * 64 octets of well-formed UTF-8 without control characters (C0, DEL, C1). */
static int
search_name_ok(const char *name)
{
	const unsigned char *u = (const unsigned char *)name;
	size_t n = strlen(name);

	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n;) {
		unsigned long cp;
		size_t l = pl_utf8_char(u + i, n - i, &cp);

		if (l == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return 0;
		i += l;
	}
	return 1;
}

static int
delivery_key(struct ctx *x, const char *k, const char *v)
{
	struct pl_config *c = x->c;

	if (!strcmp(k, "helo_name")) {
		if (!helo_ok(v))
			return bad(x, "'%s' is not a host name", v);
		return set_str(&c->helo_name, v);
	}
	if (!strcmp(k, "dns_servers"))
		return parse_servers(x, v);
	if (!strcmp(k, "smtp_port"))
		return parse_int(x, v, 1, 65535, &c->smtp_port);
	if (!strcmp(k, "retry_schedule"))
		return parse_retry(x, v);
	if (!strcmp(k, "max_lifetime"))
		return parse_dur(x, v, &c->max_lifetime);
	if (!strcmp(k, "delay_warning"))
		return parse_dur(x, v, &c->delay_warning);
	if (!strcmp(k, "parallel"))
		return parse_int(x, v, 1, 1000, &c->parallel);
	if (!strcmp(k, "per_domain"))
		return parse_int(x, v, 1, 100, &c->per_domain);
	if (!strcmp(k, "max_message_size")) {
		if (parse_size(v, &c->max_message_size) < 0 || c->max_message_size < 1024)
			return bad(x, "'%s' is not a size of at least 1K (like 35M, 512K)", v);
		return 0;
	}
	if (!strcmp(k, "tls")) {
		if (!strcmp(v, "opportunistic"))
			c->tls = PL_TLS_OPPORTUNISTIC;
		else if (!strcmp(v, "required"))
			c->tls = PL_TLS_REQUIRED;
		else
			return bad(x, "'%s' is not opportunistic or required", v);
		return 0;
	}
	if (!strcmp(k, "autostart"))
		return parse_bool(x, v, &c->autostart);
	if (!strcmp(k, "public_ip")) {
		struct in6_addr a6;
		struct in_addr a4;

		if (inet_pton(AF_INET, v, &a4) != 1 && inet_pton(AF_INET6, v, &a6) != 1)
			return bad(x, "'%s' is not an IPv4 or IPv6 address", v);
		return set_str(&c->public_ip, v);
	}
	if (!strcmp(k, "dnsbl"))
		return parse_dnsbl(x, v);
	if (!strcmp(k, "mta_sts"))
		return parse_bool(x, v, &c->mta_sts);
	if (!strcmp(k, "dane"))
		return parse_bool(x, v, &c->dane);
	if (!strcmp(k, "mta_sts_port"))
		return parse_int(x, v, 1, 65535, &c->mta_sts_port);
	if (!strcmp(k, "dns_assume_ad"))
		return parse_bool(x, v, &c->dns_assume_ad);
	for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++)
		if (!strcmp(k, timeouts[i].key))
			return parse_dur(x, v, (long *)((char *)c + timeouts[i].off));
	return bad(x, "%s", "unknown key in [delivery]");
}

/* ---- [ui] ------------------------------------------------------------ */

#define NAME_STR(n) #n,
static const char *const ui_views[] = { PL_UI_VIEWS(NAME_STR) NULL };
static const char *const ui_actions[] = { PL_UI_ACTIONS(NAME_STR) NULL };
static const char *const ui_objects[] = { PL_UI_COLORS(NAME_STR) NULL };
static const char *const color_names[] = { "black", "red", "green", "yellow", "blue",
	"magenta", "cyan", "white", NULL };
static const char *const attr_names[] = { "bold", "underline", "reverse", "dim",
	"standout", "blink", "italic", NULL };
static const char *const key_names[] = { "Enter", "Space", "Tab", "Esc", "Backspace",
	"Up", "Down", "Left", "Right", "PgUp", "PgDn", "Home", "End", "Delete", "Insert",
	"equal", NULL };

static void print_val(struct buf *out, const char *key, const char *v);

static int
in_list(const char *const *l, const char *s)
{
	for (int i = 0; l[i]; i++)
		if (!strcmp(l[i], s))
			return i;
	return -1;
}

int
pl_ui_key_valid(const char *k)
{
	if (k[0] > ' ' && k[0] < 0x7f && k[0] != '=' && k[1] == '\0')
		return 1;
	if (k[0] == '^' && k[1] >= '@' && k[1] <= '_' && k[2] == '\0')
		return 1;
	if (k[0] == '^' && k[1] >= 'a' && k[1] <= 'z' && k[2] == '\0')
		return 1;
	if (k[0] == 'F' && k[1] >= '1' && k[1] <= '9') {
		int n = atoi(k + 1);
		return n >= 1 && n <= 12 && strspn(k + 1, "0123456789") == strlen(k + 1);
	}
	return in_list(key_names, k) >= 0;
}

/* "red", "color208", "208", "default" */
static int
parse_color_word(const char *w, int *out)
{
	const char *d = w;
	int i;

	if (!strcmp(w, "default")) {
		*out = -1;
		return 0;
	}
	if ((i = in_list(color_names, w)) >= 0) {
		*out = i;
		return 0;
	}
	if (!strncmp(w, "color", 5))
		d = w + 5;
	if (*d && strspn(d, "0123456789") == strlen(d) && strlen(d) <= 3 && atoi(d) <= 255) {
		*out = atoi(d);
		return 0;
	}
	return -1;
}

static int
parse_color(struct ctx *x, const char *obj, const char *v)
{
	struct pl_ui *u = &x->c->ui;
	struct pl_ui_color col = { NULL, -1, -1, 0 };
	char *copy = xstrdup(v), *save = NULL, *w;
	int n = 0;

	if (in_list(ui_objects, obj) < 0) {
		free(copy);
		return bad(x, "'%s' is not a colour object (see paloma.conf(5))", obj);
	}
	for (w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save), n++) {
		int a;
		if (n < 2 && parse_color_word(w, n == 0 ? &col.fg : &col.bg) == 0)
			continue;
		if (n >= 2 && (a = in_list(attr_names, w)) >= 0) {
			col.attr |= 1u << a;
			continue;
		}
		bad(x, n < 2 ? "'%s' is not a colour (black red green yellow blue magenta cyan "
		    "white default colorN)" : "'%s' is not an attribute (bold underline reverse "
		    "dim standout blink italic)", w);
		free(copy);
		return -1;
	}
	free(copy);
	if (n < 2)
		return bad(x, "'%s' is not FOREGROUND BACKGROUND [ATTRIBUTE…]", v);
	for (size_t i = 0; i < u->ncolors; i++)
		if (!strcmp(u->colors[i].object, obj)) {
			u->colors[i].fg = col.fg;
			u->colors[i].bg = col.bg;
			u->colors[i].attr = col.attr;
			return 0;
		}
	col.object = xstrdup(obj);
	u->colors = xrealloc(u->colors, (u->ncolors + 1) * sizeof *u->colors);
	u->colors[u->ncolors++] = col;
	return 0;
}

/* bind.VIEW.KEY: the key is what follows the second dot, so "bind.index.."
 * binds '.'. */
static int
parse_bind(struct ctx *x, const char *rest, const char *v)
{
	struct pl_ui *u = &x->c->ui;
	const char *dot = strchr(rest, '.');
	char *view;

	if (dot == NULL || dot == rest || dot[1] == '\0')
		return bad(x, "%s", "is not bind.VIEW.KEY");
	view = xstrndup(rest, (size_t)(dot - rest));
	if (in_list(ui_views, view) < 0) {
		bad(x, "'%s' is not a view (global index pager searches help compose outbox)",
		    view);
		free(view);
		return -1;
	}
	if (!pl_ui_key_valid(dot + 1)) {
		free(view);
		return bad(x, "'%s' is not a key name (a character, ^X, Enter, Space, Up, PgDn, "
		    "F1…; see paloma.conf(5))", dot + 1);
	}
	if (in_list(ui_actions, v) < 0 && strcmp(v, "none")) {
		free(view);
		return bad(x, "'%s' is not an action (see paloma.conf(5))", v);
	}
	u->binds = xrealloc(u->binds, (u->nbinds + 1) * sizeof *u->binds);
	u->binds[u->nbinds].view = view;
	u->binds[u->nbinds].key = xstrdup(dot + 1);
	u->binds[u->nbinds].action = xstrdup(v);
	u->binds[u->nbinds].line = x->line;
	u->nbinds++;
	return 0;
}

static int
ui_key(struct ctx *x, const char *k, const char *v)
{
	struct pl_ui *u = &x->c->ui;

	if (!strcmp(k, "default_query")) {
		if (*v == '\0')
			return bad(x, "%s", "empty query (use * for every message)");
		return set_str(&u->default_query, v);
	}
	if (!strcmp(k, "html_command")) {
		if (*v == '\0')
			return bad(x, "%s", "empty command");
		return set_str(&u->html_command, v);
	}
	if (!strncmp(k, "search.", 7)) {
		const char *name = k + 7;
		if (!search_name_ok(name))
			return bad(x, "%s", "is not search.NAME (NAME: 1 to 64 octets of printable "
			    "UTF-8)");
		if (*v == '\0')
			return bad(x, "%s", "empty query (use * for every message)");
		for (size_t i = 0; i < u->nsearches; i++)
			if (!strcmp(u->searches[i].name, name))
				return bad(x, "%s", "set twice in the same section");
		u->searches = xrealloc(u->searches, (u->nsearches + 1) * sizeof *u->searches);
		u->searches[u->nsearches].name = xstrdup(name);
		u->searches[u->nsearches].query = xstrdup(v);
		u->nsearches++;
		return 0;
	}
	if (!strncmp(k, "bind.", 5))
		return parse_bind(x, k + 5, v);
	if (!strncmp(k, "color.", 6))
		return parse_color(x, k + 6, v);
	return bad(x, "%s", "unknown key in [ui] (default_query, html_command, search.NAME, "
	    "bind.VIEW.KEY, color.OBJECT)");
}

static void
ui_free(struct pl_ui *u)
{
	free(u->default_query);
	free(u->html_command);
	for (size_t i = 0; i < u->nsearches; i++) {
		free(u->searches[i].name);
		free(u->searches[i].query);
	}
	free(u->searches);
	for (size_t i = 0; i < u->nbinds; i++) {
		free(u->binds[i].view);
		free(u->binds[i].key);
		free(u->binds[i].action);
	}
	free(u->binds);
	for (size_t i = 0; i < u->ncolors; i++)
		free(u->colors[i].object);
	free(u->colors);
}

static void
print_color_word(struct buf *out, int c)
{
	if (c < 0)
		buf_adds(out, " default");
	else if (c < 8)
		buf_printf(out, " %s", color_names[c]);
	else
		buf_printf(out, " color%d", c);
}

static void
ui_print(const struct pl_ui *u, struct buf *out)
{
	buf_adds(out, "\n[ui]\n");
	print_val(out, "default_query", u->default_query);
	if (u->html_command)
		print_val(out, "html_command", u->html_command);
	else
		buf_adds(out, "# html_command: not set, w3m -dump is used\n");
	for (size_t i = 0; i < u->nsearches; i++) {
		char k[300];
		snprintf(k, sizeof k, "search.%s", u->searches[i].name);
		print_val(out, k, u->searches[i].query);
	}
	for (size_t i = 0; i < u->nbinds; i++)
		buf_printf(out, "bind.%s.%s = %s\n", u->binds[i].view, u->binds[i].key,
		    u->binds[i].action);
	for (size_t i = 0; i < u->ncolors; i++) {
		buf_printf(out, "color.%s =", u->colors[i].object);
		print_color_word(out, u->colors[i].fg);
		print_color_word(out, u->colors[i].bg);
		for (int a = 0; attr_names[a]; a++)
			if (u->colors[i].attr & (1u << a))
				buf_printf(out, " %s", attr_names[a]);
		buf_addc(out, '\n');
	}
}

static int
section_header(struct ctx *x, char *s)
{
	char *end = strchr(s, ']');
	char *name;

	x->key = "section";
	if (end == NULL || trim(end + 1)[0] != '\0')
		return bad(x, "'%s' is not a [section] header", s);
	*end = '\0';
	name = trim(s + 1);
	if (end_account(x) < 0)
		return -1;
	x->key = "section";
	x->nseen = 0;
	if (!strcmp(name, "general")) {
		x->sec = S_GENERAL;
	} else if (!strcmp(name, "delivery")) {
		x->sec = S_DELIVERY;
	} else if (!strcmp(name, "ui")) {
		x->sec = S_UI;
	} else if (!strncmp(name, "account", 7) && (name[7] == ' ' || name[7] == '\t')) {
		struct pl_config *c = x->c;
		char *an = trim(name + 8);

		if (*an == '\0' || an[0] == '.' ||
		    strspn(an, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
		    strlen(an))
			return bad(x, "'%s' is not an account name (letters, digits, - _ .)", an);
		if (pl_config_find_account(c, an))
			return bad(x, "account '%s' is defined twice", an);
		c->accounts = xrealloc(c->accounts, (c->naccounts + 1) * sizeof *c->accounts);
		x->acct = &c->accounts[c->naccounts++];
		memset(x->acct, 0, sizeof *x->acct);
		x->acct->name = xstrdup(an);
		x->acct->line = x->line;
		x->acct->save_sent = 1;
		x->acct->timeout = 60;	/* PL_STREAM_TIMEOUT */
		x->sec = S_ACCOUNT;
	} else {
		return bad(x, "unknown section [%s] (known: general, account NAME, delivery, ui)", name);
	}
	return 0;
}

static int
key_line(struct ctx *x, char *s)
{
	char *eq = strchr(s, '=');
	char *k, *v;
	size_t vl;

	if (eq == NULL) {
		x->key = "line";
		return bad(x, "'%s' is not 'key = value'", s);
	}
	*eq = '\0';
	k = trim(s);
	v = trim(eq + 1);
	vl = strlen(v);
	if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
		v[vl - 1] = '\0';
		v++;
	}
	x->key = k;
	if (x->sec == S_NONE)
		return bad(x, "%s", "key outside any section (start with [general], [account NAME] or [delivery])");
	for (int i = 0; i < x->nseen; i++)
		if (!strcmp(x->seen[i], k))
			return bad(x, "%s", "set twice in the same section");
	if (x->nseen < 64 && strlen(k) < sizeof x->seen[0])
		strcpy(x->seen[x->nseen++], k);
	switch (x->sec) {
	case S_GENERAL: return general_key(x, k, v);
	case S_ACCOUNT: return account_key(x, k, v);
	case S_DELIVERY: return delivery_key(x, k, v);
	case S_UI: return ui_key(x, k, v);
	default: return -1;
	}
}

/* After the whole file: every account has an address, at most one default. */
static int
finish(struct ctx *x)
{
	struct pl_config *c = x->c;
	int ndefault = 0;

	if (end_account(x) < 0)
		return -1;
	for (size_t i = 0; i < c->naccounts; i++) {
		struct pl_account *a = &c->accounts[i];
		if (a->address == NULL) {
			x->line = a->line;
			x->key = "address";
			return bad(x, "account '%s' has no address", a->name);
		}
		if (a->is_default && ++ndefault > 1) {
			x->line = a->line;
			x->key = "default";
			return bad(x, "account '%s' is a second default account", a->name);
		}
	}
	if (ndefault == 0 && c->naccounts > 0)
		c->accounts[0].is_default = 1;
	return 0;
}

int
pl_config_parse(struct pl_config *c, const char *name, const char *text, struct pl_err *e)
{
	struct ctx x = { .c = c, .file = name, .e = e };
	const char *p = text;

	memset(c, 0, sizeof *c);
	set_defaults(c);
	c->path = xstrdup(name);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, len), *s;
		int rc = 0, nul = strlen(line) != len;

		x.line++;
		s = trim(line);
		if (nul) {
			x.key = "line";
			rc = bad(&x, "%s", "contains a NUL byte");
		} else if (*s == '\0' || *s == '#' || *s == ';') {
			rc = 0;
		} else if (*s == '[') {
			rc = section_header(&x, s);
		} else {
			rc = key_line(&x, s);
		}
		free(line);
		if (rc < 0) {
			pl_config_free(c);
			return -1;
		}
		p = nl ? nl + 1 : p + len;
	}
	if (finish(&x) < 0) {
		pl_config_free(c);
		return -1;
	}
	if (!x.dnsbl_set) {
		static const char *const zones[] = { "zen.spamhaus.org", "bl.spamcop.net",
		    "b.barracudacentral.org" };

		c->ndnsbl = sizeof zones / sizeof zones[0];
		c->dnsbl = xcalloc(c->ndnsbl, sizeof *c->dnsbl);
		for (size_t i = 0; i < c->ndnsbl; i++)
			c->dnsbl[i] = xstrdup(zones[i]);
	}
	return 0;
}

int
pl_config_load(struct pl_config *c, const char *path, int explicit, struct pl_err *e)
{
	char *text;
	size_t len;

	if (path == NULL) {
		path = pl_config_path();
		explicit = getenv("PALOMA_CONFIG") && *getenv("PALOMA_CONFIG");
	}
	if (pl_read_file(path, 1 << 20, &text, &len) < 0) {
		if (errno == ENOENT && !explicit) {
			memset(c, 0, sizeof *c);
			set_defaults(c);
			c->path = xstrdup(path);
			return 0;
		}
		if (errno == EFBIG)
			return pl_errf(e, EX_CONFIG, "%s: larger than 1 MB, not a config file", path);
		return pl_errf(e, EX_CONFIG, "cannot read config %s: %s", path, strerror(errno));
	}
	if (strlen(text) != len) {
		free(text);
		return pl_errf(e, EX_CONFIG, "%s: contains a NUL byte, not a config file", path);
	}
	if (pl_config_parse(c, path, text, e) < 0) {
		free(text);
		return -1;
	}
	c->found = 1;
	free(text);
	return 0;
}

void
pl_config_free(struct pl_config *c)
{
	for (size_t i = 0; i < c->naccounts; i++) {
		free(c->accounts[i].name);
		free(c->accounts[i].address);
		free(c->accounts[i].display_name);
		free(c->accounts[i].host);
		free(c->accounts[i].user);
		free(c->accounts[i].password_command);
		free(c->accounts[i].oauth2_token_command);
		free(c->accounts[i].ca_file);
		free_folders(&c->accounts[i]);
		free_tags(&c->accounts[i]);
		free(c->accounts[i].sent_folder);
		free(c->accounts[i].dkim_key);
		free(c->accounts[i].dkim_selector);
		free(c->accounts[i].dkim_domain);
		free(c->accounts[i].relay.host);
		free(c->accounts[i].fallback_relay.host);
		free(c->accounts[i].relay_user);
	}
	free(c->accounts);
	free(c->public_ip);
	free_dnsbl(c);
	free(c->path);
	free(c->maildir);
	free(c->editor);
	free(c->helo_name);
	free(c->dns_servers);
	free(c->retry);
	ui_free(&c->ui);
	memset(c, 0, sizeof *c);
}

const struct pl_account *
pl_config_default_account(const struct pl_config *c)
{
	for (size_t i = 0; i < c->naccounts; i++)
		if (c->accounts[i].is_default)
			return &c->accounts[i];
	return NULL;
}

const struct pl_account *
pl_config_find_address(const struct pl_config *c, const char *addr)
{
	for (size_t i = 0; i < c->naccounts; i++)
		if (c->accounts[i].address && pl_addr_equal(c->accounts[i].address, addr))
			return &c->accounts[i];
	return NULL;
}

const struct pl_account *
pl_config_find_account(const struct pl_config *c, const char *name)
{
	for (size_t i = 0; i < c->naccounts; i++)
		if (!strcmp(c->accounts[i].name, name))
			return &c->accounts[i];
	return NULL;
}

static void
print_dur(struct buf *out, const char *key, long v)
{
	char d[32];

	fmt_duration(v, d, sizeof d);
	buf_printf(out, "%s = %s\n", key, d);
}

/* A value that starts and ends with '"' would lose them when read back:
 * another pair of quotes keeps them. */
static void
print_val(struct buf *out, const char *key, const char *v)
{
	size_t n = strlen(v);
	int q = n >= 2 && v[0] == '"' && v[n - 1] == '"';

	buf_printf(out, "%s = %s%s%s\n", key, q ? "\"" : "", v, q ? "\"" : "");
}

static void
print_fetch(struct buf *out, const struct pl_account *a)
{
	int v6 = strchr(a->host, ':') != NULL;

	buf_printf(out, "%s = %s%s://%s%s%s:%d\n", a->proto == PL_FETCH_POP3 ? "pop3" : "imap",
	    a->proto == PL_FETCH_POP3 ? "pop3" : "imap", a->tls == PL_FETCH_TLS ? "s" : "",
	    v6 ? "[" : "", a->host, v6 ? "]" : "", a->port);
	if (a->tls == PL_FETCH_CLEAR)
		buf_adds(out, "tls = none\n");
	print_val(out, "user", a->user);
	if (a->password_command)
		print_val(out, "password_command", a->password_command);
	if (a->oauth2_token_command)
		print_val(out, "oauth2_token_command", a->oauth2_token_command);
	if (a->nfolders) {
		buf_adds(out, "folders =");
		for (size_t i = 0; i < a->nfolders; i++)
			buf_printf(out, "%s %s", i ? "," : "", a->folders[i]);
		buf_addc(out, '\n');
	}
	if (a->ca_file)
		buf_printf(out, "ca_file = %s\n", a->ca_file);
	print_dur(out, "timeout", a->timeout);
	if (a->proto == PL_FETCH_POP3)
		buf_printf(out, "pop3_delete = %s\n", a->pop3_delete ? "yes" : "no");
	buf_printf(out, "bounces_to_server = %s\n", a->bounces_to_server ? "yes" : "no");
	if (a->proto == PL_FETCH_IMAP)
		buf_printf(out, "save_sent = %s\n", a->save_sent ? "yes" : "no");
	if (a->sent_folder)
		buf_printf(out, "sent_folder = %s\n", a->sent_folder);
	if (a->nnew_tags) {
		buf_adds(out, "new_tags =");
		for (size_t i = 0; i < a->nnew_tags; i++)
			buf_printf(out, " %s", a->new_tags[i]);
		buf_addc(out, '\n');
	}
}

static void
print_relay(struct buf *out, const char *key, const struct pl_relay *r)
{
	int v6 = strchr(r->host, ':') != NULL;

	buf_printf(out, "%s = smtp%s://%s%s%s:%d\n", key, r->implicit_tls ? "s" : "",
	    v6 ? "[" : "", r->host, v6 ? "]" : "", r->port);
}

/* DKIM and the transport; the login keys when no server printed them. */
static void
print_send(struct buf *out, const struct pl_account *a)
{
	if (a->proto == PL_FETCH_NONE) {
		if (a->user)
			print_val(out, "user", a->user);
		if (a->password_command)
			print_val(out, "password_command", a->password_command);
		if (a->oauth2_token_command)
			print_val(out, "oauth2_token_command", a->oauth2_token_command);
	}
	if (a->dkim_key) {
		buf_printf(out, "dkim_key = %s\ndkim_selector = %s\n", a->dkim_key,
		    a->dkim_selector);
		if (a->dkim_domain)
			buf_printf(out, "dkim_domain = %s\n", a->dkim_domain);
	}
	buf_printf(out, "transport = %s\n", a->transport == PL_TRANSPORT_RELAY ? "relay" :
	    "direct");
	if (a->relay.host)
		print_relay(out, "relay", &a->relay);
	if (a->fallback_relay.host)
		print_relay(out, "fallback_relay", &a->fallback_relay);
	if (a->relay_user)
		print_val(out, "relay_user", a->relay_user);
}

void
pl_config_print(const struct pl_config *c, struct buf *out)
{
	const char *ed = c->editor;

	if (ed == NULL)
		ed = getenv("VISUAL") && *getenv("VISUAL") ? getenv("VISUAL") :
		    getenv("EDITOR") && *getenv("EDITOR") ? getenv("EDITOR") : "vi";
	buf_printf(out, "# %s%s\n\n", c->path, c->found ? "" : " (not found: defaults)");
	buf_printf(out, "[general]\nmaildir = %s\n", c->maildir);
	if (!c->editor)
		buf_adds(out, "# editor: not set, $VISUAL, $EDITOR or vi is used\n");
	buf_printf(out, "editor = %s\n", ed);
	print_dur(out, "sync_interval", c->sync_interval);
	for (size_t i = 0; i < c->naccounts; i++) {
		const struct pl_account *a = &c->accounts[i];
		buf_printf(out, "\n[account %s]\naddress = %s\n", a->name, a->address);
		if (a->display_name)
			buf_printf(out, "name = %s\n", a->display_name);
		buf_printf(out, "default = %s\n", a->is_default ? "yes" : "no");
		if (a->proto != PL_FETCH_NONE)
			print_fetch(out, a);
		print_send(out, a);
	}
	buf_printf(out, "\n[delivery]\nhelo_name = %s\n", c->helo_name);
	if (c->dns_servers)
		buf_printf(out, "dns_servers = %s\n", c->dns_servers);
	else
		buf_adds(out, "# dns_servers: not set, the system resolver is used\n");
	buf_printf(out, "smtp_port = %d\n", c->smtp_port);
	buf_adds(out, "retry_schedule =");
	for (size_t i = 0; i < c->nretry; i++) {
		char d[32];
		fmt_duration(c->retry[i], d, sizeof d);
		buf_printf(out, " %s", d);
	}
	buf_addc(out, '\n');
	print_dur(out, "max_lifetime", c->max_lifetime);
	print_dur(out, "delay_warning", c->delay_warning);
	buf_printf(out, "parallel = %d\nper_domain = %d\n", c->parallel, c->per_domain);
	buf_printf(out, "max_message_size = %lld\n", c->max_message_size);
	buf_printf(out, "tls = %s\n", c->tls == PL_TLS_REQUIRED ? "required" : "opportunistic");
	buf_printf(out, "autostart = %s\n", c->autostart ? "yes" : "no");
	if (c->public_ip)
		buf_printf(out, "public_ip = %s\n", c->public_ip);
	else
		buf_adds(out, "# public_ip: not set, found from the connection\n");
	buf_adds(out, "dnsbl =");
	for (size_t i = 0; i < c->ndnsbl; i++)
		buf_printf(out, " %s", c->dnsbl[i]);
	buf_adds(out, c->ndnsbl ? "\n" : " none\n");
	buf_printf(out, "mta_sts = %s\ndane = %s\n", c->mta_sts ? "yes" : "no",
	    c->dane ? "yes" : "no");
	if (c->mta_sts_port != 443)
		buf_printf(out, "mta_sts_port = %d\n", c->mta_sts_port);
	if (c->dns_assume_ad)
		buf_adds(out, "dns_assume_ad = yes\n");
	for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++)
		print_dur(out, timeouts[i].key, *(const long *)((const char *)c + timeouts[i].off));
	ui_print(&c->ui, out);
}
