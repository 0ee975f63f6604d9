/* cli_send.c — `paloma send` and `sendmail`: take one message from stdin,
 * check it, complete it and queue it durably.  Exit 0 means the message and
 * its envelope are on disk; anything else means nothing was queued. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "ctl.h"
#include "dkim.h"
#include "fsutil.h"
#include "maildir.h"
#include "message.h"
#include "paths.h"
#include "queue.h"

struct send_opts {
	int extract;		/* -t */
	int ignore_dots;	/* -i, -oi */
	int verbose;		/* -v */
	const char *from;	/* -f / -r */
	const char *fullname;	/* -F */
	int list_queue;		/* -bp */
	int flush_queue;	/* -q */
	int nrcpt;
	char **rcpt;
};

static int
usage(const char *prog, const char *why, const char *arg)
{
	if (why)
		fprintf(stderr, "%s: %s%s%s%s\n", prog, why, arg ? " '" : "", arg ? arg : "",
		    arg ? "'" : "");
	fprintf(stderr, "usage: %s [-t] [-i] [-v] [-f ADDR] [-F NAME] [--] [RCPT…] < message\n",
	    strcmp(prog, "sendmail") ? "paloma send" : "sendmail");
	return EX_USAGE;
}

/* sendmail's options, as cron, mail(1), mutt and git send-email use them.
 * Returns 0, or an exit code after printing the problem. */
static int
parse_args(const char *prog, int argc, char **argv, struct send_opts *so)
{
	int i;

	for (i = 0; i < argc; i++) {
		char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		/* -h is sendmail's hop count (-h N), not help */
		if (!strcmp(a, "--help")) {
			usage(prog, NULL, NULL);
			return -1;
		}
		switch (a[1]) {
		case 't': case 'i': case 'v': case 'm': case 'n':
			/* clusters of flags, as in -ti */
			for (char *f = a + 1; *f; f++) {
				if (*f == 't')
					so->extract = 1;
				else if (*f == 'i')
					so->ignore_dots = 1;
				else if (*f == 'v')
					so->verbose = 1;
				else if (*f == 'm' || *f == 'n')
					;	/* -m: me too; -n: no aliasing: both meaningless here */
				else
					return usage(prog, "unknown option", a);
			}
			break;
		case 'f': case 'r': case 'F': case 'B': case 'N': case 'R': case 'V': case 'h': {
			char *val = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
			if (val == NULL)
				return usage(prog, "option needs a value:", a);
			if (a[1] == 'f' || a[1] == 'r')
				so->from = val;
			else if (a[1] == 'F')
				so->fullname = val;
			else if (a[1] == 'B' && strcmp(val, "8BITMIME") && strcmp(val, "7BIT"))
				return usage(prog, "-B takes 7BIT or 8BITMIME, not", val);
			/* -N (DSN notify), -R (DSN return), -V (envelope id), -h (hop
			 * count): accepted for compatibility, not used. */
			break;
		}
		case 'o':
			/* -oi: dots are data; -oe? (error mode), -od? (delivery mode),
			 * -om (me too): meaningless for paloma, accepted. */
			if (!strcmp(a, "-oi"))
				so->ignore_dots = 1;
			else if (strncmp(a, "-oe", 3) && strncmp(a, "-od", 3) && strcmp(a, "-om"))
				return usage(prog, "unknown option", a);
			break;
		case 'b':
			if (!strcmp(a, "-bm"))
				;
			else if (!strcmp(a, "-bp"))
				so->list_queue = 1;
			else
				return usage(prog, "unsupported mode", a);
			break;
		case 'q':
			if (a[2] != '\0')
				return usage(prog, "periodic queue runs are `paloma daemon`'s job, not", a);
			so->flush_queue = 1;
			break;
		default:
			return usage(prog, "unknown option", a);
		}
	}
	so->rcpt = argv + i;
	so->nrcpt = argc - i;
	return 0;
}

/* Reads the message.  Without -i, a line holding only "." ends it. */
static int
read_message(const struct send_opts *so, long long max, char **data, size_t *len,
    struct pl_err *e)
{
	if (pl_read_fd(0, (size_t)max, data, len) < 0) {
		if (errno == EFBIG)
			return pl_errf(e, EX_DATAERR, "message is larger than max_message_size "
			    "(%lld bytes); send big files another way or raise the limit", max);
		return pl_errf(e, EX_IOERR, "cannot read the message from standard input: %s",
		    strerror(errno));
	}
	if (!so->ignore_dots) {
		char *p = *data, *end = *data + *len;
		while (p < end) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t ll = (size_t)((nl ? nl : end) - p);
			if ((ll == 1 && p[0] == '.') || (ll == 2 && p[0] == '.' && p[1] == '\r')) {
				*len = (size_t)(p - *data);
				break;
			}
			p = nl ? nl + 1 : end;
		}
	}
	if (*len == 0) {
		free(*data);
		return pl_errf(e, EX_NOINPUT, "no message on standard input");
	}
	return 0;
}

/* -t: recipients from To, Cc and Bcc, or from the Resent- ones when present. */
static int
extract_recipients(const struct pl_message *m, struct pl_addrlist *rcpt, struct pl_err *e)
{
	static const char *plain[] = { "To", "Cc", "Bcc" };
	static const char *resent[] = { "Resent-To", "Resent-Cc", "Resent-Bcc" };
	const char **names = plain;

	for (size_t i = 0; i < m->nh; i++)
		if (ascii_ncasecmp(m->h[i].name, "Resent-", 7) == 0)
			names = resent;
	for (size_t i = 0; i < m->nh; i++) {
		for (int k = 0; k < 3; k++) {
			struct pl_addrlist l = { 0 };
			if (ascii_casecmp(m->h[i].name, names[k]) != 0)
				continue;
			if (pl_addr_parse_list(m->h[i].value, &l, e) < 0) {
				char why[sizeof e->msg];
				snprintf(why, sizeof why, "%s", e->msg);
				return pl_errf(e, EX_DATAERR, "%s header: %s", names[k], why);
			}
			for (size_t j = 0; j < l.n; j++)
				pl_addrlist_add_unique(rcpt, l.v[j].mailbox);
			pl_addrlist_free(&l);
		}
	}
	return 0;
}

/* The first address in the From header, or NULL. */
static char *
from_address(const struct pl_message *m)
{
	const char *v = pl_message_get(m, "From");
	struct pl_addrlist l = { 0 };
	char *a;

	if (v == NULL || pl_addr_parse_list(v, &l, NULL) < 0 || l.n == 0) {
		pl_addrlist_free(&l);
		return NULL;
	}
	a = xstrdup(l.v[0].mailbox);
	pl_addrlist_free(&l);
	return a;
}

static void
make_message_id(const char *domain, struct buf *out)
{
	unsigned char r[9];
	static const char hex[] = "0123456789abcdef";

	random_bytes(r, sizeof r);
	buf_printf(out, "<%lld.", (long long)pl_now());
	for (size_t i = 0; i < sizeof r; i++) {
		buf_addc(out, hex[r[i] >> 4]);
		buf_addc(out, hex[r[i] & 15]);
	}
	buf_printf(out, "@%s>", domain);
}

struct prepared {
	struct pl_envelope env;
	struct buf text;
};

/* Everything between reading the message and queueing it. */
static int
prepare(const struct pl_config *c, const struct send_opts *so, char *data, size_t len,
    struct prepared *out, struct pl_err *e)
{
	struct pl_message m;
	struct pl_addrlist rcpt = { 0 };
	const struct pl_account *acct = NULL;
	char *sender = NULL, *from = NULL;
	int rc = -1;

	if (pl_message_parse(data, len, &m, e) < 0)
		return -1;
	for (int i = 0; i < so->nrcpt; i++) {
		struct pl_addrlist l = { 0 };
		if (pl_addr_parse_list(so->rcpt[i], &l, e) < 0)
			goto out;
		for (size_t j = 0; j < l.n; j++)
			pl_addrlist_add_unique(&rcpt, l.v[j].mailbox);
		pl_addrlist_free(&l);
	}
	if (so->extract && extract_recipients(&m, &rcpt, e) < 0)
		goto out;
	if (rcpt.n == 0) {
		pl_errf(e, EX_USAGE, "no recipients: name them as arguments, or use -t to take "
		    "them from To, Cc and Bcc");
		goto out;
	}

	/* Envelope sender: -f, else the account matching From, else the default. */
	from = from_address(&m);
	if (so->from) {
		const char *f = so->from;
		if (!strcmp(f, "<>") || !strcmp(f, ""))
			sender = xstrdup("");
		else if (pl_addr_parse_one(f, &sender, e) < 0)
			goto out;
		if (*sender)
			acct = pl_config_find_address(c, sender);
	}
	if (acct == NULL && from)
		acct = pl_config_find_address(c, from);
	if (acct == NULL)
		acct = pl_config_default_account(c);
	if (sender == NULL) {
		if (acct == NULL) {
			pl_errf(e, EX_CONFIG, "no sender address: add an [account] with an address "
			    "to %s, or give -f ADDRESS", c->path);
			goto out;
		}
		sender = xstrdup(acct->address);
	}

	if (pl_message_get(&m, "From") == NULL) {
		struct buf v = { 0 };
		const char *name = so->fullname ? so->fullname : acct ? acct->display_name : NULL;
		const char *addr = *sender ? sender : acct ? acct->address : NULL;
		if (addr == NULL) {
			pl_errf(e, EX_DATAERR, "the message has no From header and the sender is <>: "
			    "add a From header");
			goto out;
		}
		if (name && *name) {
			pl_encode_display_name(&v, name);
			buf_printf(&v, " <%s>", addr);
		} else {
			buf_adds(&v, addr);
		}
		pl_message_add(&m, "From", v.p);
		buf_free(&v);
		free(from);
		from = xstrdup(addr);
	}
	if (pl_message_get(&m, "Date") == NULL) {
		char d[64];
		pl_rfc5322_date(pl_now(), d, sizeof d);
		pl_message_add(&m, "Date", d);
	}
	if (pl_message_get(&m, "Message-ID") == NULL) {
		struct buf id = { 0 };
		make_message_id(*sender ? pl_addr_domain(sender) :
		    from ? pl_addr_domain(from) : c->helo_name, &id);
		pl_message_add(&m, "Message-ID", id.p);
		buf_free(&id);
	}
	pl_message_remove(&m, "Bcc");
	pl_message_remove(&m, "Resent-Bcc");

	memset(&out->env, 0, sizeof out->env);
	out->env.created = pl_now();
	out->env.sender = sender;
	sender = NULL;
	out->env.account = acct ? xstrdup(acct->name) : NULL;
	{
		char *mid = xstrdup(pl_message_get(&m, "Message-ID"));
		out->env.message_id = xstrdup(trim(mid));
		free(mid);
	}
	out->env.body_8bit = m.body_8bit || m.header_8bit;
	out->env.smtputf8 = m.header_8bit || pl_addr_is_utf8(out->env.sender);
	/* A non-ASCII recipient needs SMTPUTF8 only in its own RCPT (smtp.c
	 * decides per recipient); the others may go to any server. */
	for (size_t i = 0; i < rcpt.n; i++)
		pl_envelope_add_rcpt(&out->env, rcpt.v[i].mailbox, out->env.created);
	memset(&out->text, 0, sizeof out->text);
	pl_message_write(&m, &out->text);
	/* Signed as it will be sent: made 7-bit-safe first (dkim.h). */
	if (acct && acct->dkim_key) {
		if (pl_dkim_sign_message(acct, &out->text, e) < 0) {
			buf_free(&out->text);
			pl_envelope_free(&out->env);
			goto out;
		}
		out->env.body_8bit = pl_has_8bit(out->text.p, out->text.len);
	}
	if ((long long)out->text.len > c->max_message_size) {
		pl_errf(e, EX_DATAERR, "message is %zu bytes, larger than max_message_size "
		    "(%lld bytes)", out->text.len, c->max_message_size);
		buf_free(&out->text);
		pl_envelope_free(&out->env);
		goto out;
	}
	rc = 0;
out:
	free(sender);
	free(from);
	pl_addrlist_free(&rcpt);
	pl_message_free(&m);
	return rc;
}

/* The local folder for copies of the account's sent mail: the one the
 * last sync found on the server (paloma-sync records it), else "Sent". */
static char *
sent_folder(const struct pl_config *c, const struct pl_account *a)
{
	char path[4200], *rel = NULL;
	size_t len;

	snprintf(path, sizeof path, "%s/sync/%s/sent-folder", pl_state_dir(), a->name);
	if (pl_read_file(path, 4096, &rel, &len) == 0) {
		rel[strcspn(rel, "\n")] = '\0';
		if (*rel == '\0' || *rel == '/' || *rel == '.' || strstr(rel, "/.")) {
			free(rel);
			rel = NULL;
		}
	}
	if (rel == NULL)
		rel = xstrdup("Sent");
	snprintf(path, sizeof path, "%s/%s/%s", c->maildir, a->name, rel);
	free(rel);
	return xstrdup(path);
}

/* Keeps a copy of a queued message (CRLF) in the account's sent folder,
 * marked seen; the next sync uploads it.  The message is queued already:
 * a failure here is a warning, not an error. */
static void
save_sent(const struct pl_config *c, const struct pl_account *a, const struct buf *text)
{
	struct buf lf = { 0 };
	struct pl_err e;
	char *folder;

	if (a == NULL || a->proto != PL_FETCH_IMAP || !a->save_sent)
		return;
	buf_grow(&lf, text->len);
	for (size_t i = 0; i < text->len; i++)
		if (!(text->p[i] == '\r' && i + 1 < text->len && text->p[i + 1] == '\n'))
			buf_addc(&lf, text->p[i]);
	folder = sent_folder(c, a);
	if (pl_maildir_deliver(folder, lf.p, lf.len, "S", NULL, &e) < 0)
		fprintf(stderr, "paloma: queued, but no copy was kept for the sent folder: %s\n",
		    e.msg);
	free(folder);
	buf_free(&lf);
}

int
cli_send(const struct pl_opts *o, int argc, char **argv)
{
	struct send_opts so = { 0 };
	struct pl_config c;
	struct prepared p;
	struct pl_err e;
	char *data;
	size_t len;
	int rc;

	if ((rc = parse_args(o->prog, argc, argv, &so)) != 0)
		return rc < 0 ? 0 : rc;
	if (so.list_queue) {
		char *list[] = { "list", NULL };
		return cli_queue(o, 1, list);
	}
	if (so.flush_queue) {
		char *flush[] = { "flush", NULL };
		return cli_queue(o, 1, flush);
	}
	if ((rc = cli_load_config(o, &c)) != 0)
		return rc;
	if (read_message(&so, c.max_message_size, &data, &len, &e) < 0) {
		pl_config_free(&c);
		return cli_fail(&e);
	}
	rc = prepare(&c, &so, data, len, &p, &e);
	free(data);
	if (rc == 0) {
		rc = pl_queue_submit(pl_queue_dir(), &p.env, p.text.p, p.text.len, &e);
		if (rc == 0 && so.verbose) {
			fprintf(stderr, "paloma: queued %s from <%s> for", p.env.id, p.env.sender);
			for (size_t i = 0; i < p.env.nrcpt; i++)
				fprintf(stderr, " <%s>", p.env.rcpt[i].addr);
			fputc('\n', stderr);
		}
		if (rc == 0 && p.env.account)
			save_sent(&c, pl_config_find_account(&c, p.env.account), &p.text);
		buf_free(&p.text);
		pl_envelope_free(&p.env);
		if (rc == 0)
			pl_ctl_wake_or_start(o->config_path, c.autostart, so.verbose);
	}
	pl_config_free(&c);
	if (rc < 0) {
		if (e.code == EX_TEMPFAIL || e.code == EX_IOERR || e.code == EX_CANTCREAT) {
			fprintf(stderr, "paloma: not queued: %s (nothing was kept; free space or "
			    "fix permissions, then send again)\n", e.msg);
			return e.code;
		}
		return cli_fail(&e);
	}
	return 0;
}
