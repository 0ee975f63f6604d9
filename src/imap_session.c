/* imap_session.c — connecting and logging in to an IMAP server, and the
 * small pieces of IMAP the sync engine shares (see imap_session.h). */
#include "imap_session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "netstream.h"
#include "secret.h"
#include "syncstate.h"

int
pl_imap_fatal(int r)
{
	return r == MAILIMAP_ERROR_STREAM || r == MAILIMAP_ERROR_PARSE ||
	    r == MAILIMAP_ERROR_FATAL || r == MAILIMAP_ERROR_MEMORY ||
	    r == MAILIMAP_ERROR_BAD_STATE || r == MAILIMAP_ERROR_CONNECTION_REFUSED ||
	    r == MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION;
}

/* The server's text of the last tagged reply, with its response code when
 * it was one libetpan keeps as an atom ("[AUTHENTICATIONFAILED] …"). */
static void
server_text(mailimap *im, char *out, size_t len)
{
	const char *text = im->imap_response && *im->imap_response ? im->imap_response
	    : "(no reply text)";
	const char *atom = im->imap_response_info ? im->imap_response_info->rsp_atom : NULL;

	if (atom && *atom)
		snprintf(out, len, "[%s] %s", atom, text);
	else
		snprintf(out, len, "%s", text);
}

int
pl_imap_fail(struct pl_imap *c, struct pl_err *e, int r, const char *what, ...)
{
	char w[512], why[700];
	va_list ap;
	int over;

	va_start(ap, what);
	vsnprintf(w, sizeof w, what, ap);
	va_end(ap);
	/* A limit crossed (netstream.h) is the cause, whatever libetpan made of
	 * the answer it cut. */
	over = c->im && c->im->imap_stream && pl_stream_exceeded(c->im->imap_stream);
	if (over || pl_imap_fatal(r)) {
		const char *s = c->im && c->im->imap_stream ? pl_stream_error(c->im->imap_stream)
		    : "";

		c->dead = 1;
		if (over)
			snprintf(why, sizeof why, "%s", s);
		else if (r == MAILIMAP_ERROR_FATAL) {
			char t[600];

			server_text(c->im, t, sizeof t);
			snprintf(why, sizeof why, "the server ended the session: %s", t);
		} else if (r == MAILIMAP_ERROR_PARSE)
			snprintf(why, sizeof why, "unreadable reply from the server");
		else if (r == MAILIMAP_ERROR_MEMORY)
			snprintf(why, sizeof why, "out of memory");
		else if (*s)
			snprintf(why, sizeof why, "%s", s);
		else
			snprintf(why, sizeof why, "connection closed by the server");
		return pl_errf(e, EX_TEMPFAIL, "imap %s: connection lost while %s: %s",
		    c->acct->host, w, why);
	}
	server_text(c->im, why, sizeof why);
	return pl_errf(e, EX_PROTOCOL, "imap %s: %s: %s", c->acct->host, w, why);
}

static void
read_caps(struct pl_imap *c)
{
	static const struct {
		const char *name;
		unsigned bit;
	} known[] = {
		{ "IDLE", PL_CAP_IDLE }, { "UIDPLUS", PL_CAP_UIDPLUS },
		{ "CONDSTORE", PL_CAP_CONDSTORE }, { "QRESYNC", PL_CAP_QRESYNC },
		{ "ENABLE", PL_CAP_ENABLE }, { "SPECIAL-USE", PL_CAP_SPECIAL_USE },
	};
	size_t i;

	c->caps = 0;
	for (i = 0; i < sizeof known / sizeof known[0]; i++)
		if (mailimap_has_extension(c->im, (char *)known[i].name))
			c->caps |= known[i].bit;
	/* QRESYNC implies CONDSTORE (RFC 7162 3.2.3) */
	if (c->caps & PL_CAP_QRESYNC)
		c->caps |= PL_CAP_CONDSTORE;
}

static int
have_caps(mailimap *im)
{
	return im->imap_connection_info && im->imap_connection_info->imap_capability;
}

static void
forget_caps(mailimap *im)
{
	if (have_caps(im)) {
		mailimap_capability_data_free(im->imap_connection_info->imap_capability);
		im->imap_connection_info->imap_capability = NULL;
	}
}

static int
fetch_caps(struct pl_imap *c, struct pl_err *e)
{
	struct mailimap_capability_data *cap = NULL;
	int r;

	if (!have_caps(c->im)) {
		r = mailimap_capability(c->im, &cap);
		if (r != MAILIMAP_NO_ERROR)
			return pl_imap_fail(c, e, r, "asking for the capabilities");
		mailimap_capability_data_free(cap);
	}
	read_caps(c);
	return 0;
}

static int
enable_qresync(struct pl_imap *c, struct pl_err *e)
{
	struct mailimap_capability_data *want, *got = NULL;
	struct mailimap_capability *cap;
	clist *l;
	clistiter *it;
	int r;

	if (!(c->caps & PL_CAP_QRESYNC) || !(c->caps & PL_CAP_ENABLE))
		return 0;
	l = clist_new();
	cap = mailimap_capability_new(MAILIMAP_CAPABILITY_NAME, NULL, strdup("QRESYNC"));
	clist_append(l, cap);
	want = mailimap_capability_data_new(l);
	r = mailimap_enable(c->im, want, &got);
	mailimap_capability_data_free(want);
	if (r != MAILIMAP_NO_ERROR) {
		if (pl_imap_fatal(r))
			return pl_imap_fail(c, e, r, "enabling QRESYNC");
		return 0;	/* refused: go on with CONDSTORE */
	}
	for (it = got ? clist_begin(got->cap_list) : NULL; it; it = clist_next(it)) {
		struct mailimap_capability *x = clist_content(it);

		if (x->cap_type == MAILIMAP_CAPABILITY_NAME && x->cap_data.cap_name &&
		    !ascii_casecmp(x->cap_data.cap_name, "QRESYNC"))
			c->qresync = 1;
	}
	if (got)
		mailimap_capability_data_free(got);
	return 0;
}

static void
clear_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

int
pl_imap_open(struct pl_imap *c, const struct pl_account *a, struct pl_err *e)
{
	struct pl_err why = { 0 };
	mailstream *s;
	char *secret = NULL;
	int fd, r, is_oauth = 0;

	memset(c, 0, sizeof *c);
	c->acct = a;
	if (pl_account_secret(a, &secret, &is_oauth, e) < 0)
		return -1;
	fd = pl_net_connect(a->host, a->port, a->timeout, &why);
	if (fd < 0) {
		clear_free(secret);
		return pl_errf(e, why.code, "imap %s", why.msg);
	}
	if (a->tls == PL_FETCH_TLS)
		s = pl_stream_tls(fd, a->host, a->ca_file, (int)a->timeout, &why);
	else
		s = pl_stream_plain(fd, (int)a->timeout);
	if (s == NULL) {
		clear_free(secret);
		if (a->tls != PL_FETCH_TLS)
			close(fd);
		if (!why.msg[0])
			return pl_errf(e, EX_OSERR, "imap %s: out of memory", a->host);
		return pl_errf(e, why.code, "imap %s", why.msg);
	}
	pl_stream_limits(s, 0, 1);
	c->im = mailimap_new(0, NULL);
	if (c->im == NULL) {
		mailstream_close(s);
		clear_free(secret);
		return pl_errf(e, EX_OSERR, "imap %s: out of memory", a->host);
	}
	r = mailimap_connect(c->im, s);
	if (r != MAILIMAP_NO_ERROR && r != MAILIMAP_NO_ERROR_AUTHENTICATED &&
	    r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
		if (!pl_imap_fatal(r))
			r = MAILIMAP_ERROR_STREAM;
		pl_imap_fail(c, e, r, "waiting for the greeting");
		goto fail;
	}
	if (a->tls == PL_FETCH_STARTTLS) {
		if (!have_caps(c->im) && fetch_caps(c, e) < 0)
			goto fail;
		if (!mailimap_has_extension(c->im, "STARTTLS")) {
			pl_errf(e, EX_UNAVAILABLE, "imap %s: the server does not offer STARTTLS "
			    "(use imaps://, or tls = none to read mail in the clear)", a->host);
			goto fail;
		}
		r = mailimap_starttls(c->im);
		if (r != MAILIMAP_NO_ERROR) {
			pl_imap_fail(c, e, r, "starting TLS");
			goto fail;
		}
		if (pl_stream_starttls(c->im->imap_stream, fd, a->host, a->ca_file, &why) < 0) {
			c->dead = 1;
			pl_errf(e, why.code, "imap %s", why.msg);
			goto fail;
		}
		forget_caps(c->im);	/* those from before TLS are not to be trusted */
	}
	if (is_oauth)
		r = mailimap_oauth2_authenticate(c->im, a->user, secret);
	else
		r = mailimap_login(c->im, a->user, secret);
	clear_free(secret);
	secret = NULL;
	if (r != MAILIMAP_NO_ERROR) {
		if (pl_imap_fatal(r)) {
			pl_imap_fail(c, e, r, "logging in as %s", a->user);
		} else {
			char why_s[700];

			server_text(c->im, why_s, sizeof why_s);
			pl_errf(e, EX_NOPERM, "imap %s: login as %s refused: %s", a->host, a->user,
			    why_s);
		}
		goto fail;
	}
	if (fetch_caps(c, e) < 0 || enable_qresync(c, e) < 0)
		goto fail;
	return 0;
fail:
	clear_free(secret);
	pl_imap_close(c);
	return -1;
}

void
pl_imap_close(struct pl_imap *c)
{
	if (c->im == NULL)
		return;
	if (c->im->imap_stream != NULL) {
		if (c->dead) {
			/* no LOGOUT on a broken connection: it would wait for
			 * the stream's timeout */
			mailstream_close(c->im->imap_stream);
			c->im->imap_stream = NULL;
		} else {
			mailimap_logout(c->im);
		}
	}
	if (c->im->imap_stream != NULL) {
		mailstream_close(c->im->imap_stream);
		c->im->imap_stream = NULL;
	}
	mailimap_free(c->im);
	c->im = NULL;
}

/* a + b, at most SIZE_MAX */
static size_t
sat_add(uint64_t a, uint64_t b)
{
	return a > SIZE_MAX || b > SIZE_MAX - a ? SIZE_MAX : (size_t)(a + b);
}

void
pl_imap_budget_msgs(struct pl_imap *c, uint64_t n, size_t per)
{
	uint64_t extra = n > UINT64_MAX / per ? UINT64_MAX : n * per;

	pl_stream_budget(c->im->imap_stream, sat_add(PL_STREAM_BUDGET, extra), 0);
}

void
pl_imap_budget_bodies(struct pl_imap *c, uint64_t n, uint64_t bytes)
{
	uint64_t framing = n > UINT64_MAX / PL_IMAP_MSG_BYTES ? UINT64_MAX :
	    n * PL_IMAP_MSG_BYTES;

	pl_stream_budget(c->im->imap_stream, sat_add(sat_add(PL_STREAM_BUDGET, framing),
	    sat_add(bytes, bytes / 8)), 0);
}

uint64_t
pl_imap_highestmodseq(struct pl_imap *c)
{
	uint64_t best = 0;
	clistiter *it;

	if (c->im->imap_response_info == NULL)
		return 0;
	for (it = clist_begin(c->im->imap_response_info->rsp_extension_list); it;
	    it = clist_next(it)) {
		struct mailimap_extension_data *x = clist_content(it);
		struct mailimap_condstore_resptextcode *rc;

		if (x->ext_extension->ext_id != MAILIMAP_EXTENSION_CONDSTORE ||
		    x->ext_type != MAILIMAP_CONDSTORE_TYPE_RESP_TEXT_CODE || !x->ext_data)
			continue;
		rc = x->ext_data;
		if (rc->cs_type == MAILIMAP_CONDSTORE_RESPTEXTCODE_HIGHESTMODSEQ &&
		    rc->cs_data.cs_modseq_value > best)
			best = rc->cs_data.cs_modseq_value;
	}
	return best;
}

/* ---- Flags ---- */

unsigned
pl_imap_flags_of(const struct mailimap_msg_att_dynamic *d)
{
	unsigned f = 0;
	clistiter *it;

	if (d == NULL || d->att_list == NULL)
		return 0;
	for (it = clist_begin(d->att_list); it; it = clist_next(it)) {
		struct mailimap_flag_fetch *ff = clist_content(it);

		if (ff->fl_type != MAILIMAP_FLAG_FETCH_OTHER || ff->fl_flag == NULL)
			continue;
		switch (ff->fl_flag->fl_type) {
		case MAILIMAP_FLAG_ANSWERED: f |= PL_FL_R; break;
		case MAILIMAP_FLAG_FLAGGED: f |= PL_FL_F; break;
		case MAILIMAP_FLAG_DELETED: f |= PL_FL_T; break;
		case MAILIMAP_FLAG_SEEN: f |= PL_FL_S; break;
		case MAILIMAP_FLAG_DRAFT: f |= PL_FL_D; break;
		case MAILIMAP_FLAG_KEYWORD:
			if (ff->fl_flag->fl_data.fl_keyword &&
			    !ascii_casecmp(ff->fl_flag->fl_data.fl_keyword, "$Forwarded"))
				f |= PL_FL_P;
			break;
		default:
			break;
		}
	}
	return f;
}

struct mailimap_flag_list *
pl_imap_flag_list(unsigned flags)
{
	struct mailimap_flag_list *l = mailimap_flag_list_new_empty();

	if (flags & PL_FL_R)
		mailimap_flag_list_add(l, mailimap_flag_new_answered());
	if (flags & PL_FL_F)
		mailimap_flag_list_add(l, mailimap_flag_new_flagged());
	if (flags & PL_FL_T)
		mailimap_flag_list_add(l, mailimap_flag_new_deleted());
	if (flags & PL_FL_S)
		mailimap_flag_list_add(l, mailimap_flag_new_seen());
	if (flags & PL_FL_D)
		mailimap_flag_list_add(l, mailimap_flag_new_draft());
	if (flags & PL_FL_P)
		mailimap_flag_list_add(l, mailimap_flag_new_flag_keyword(strdup("$Forwarded")));
	return l;
}

/* ---- UID sets ---- */

struct mailimap_set *
pl_imap_uid_set(const uint32_t *uids, size_t n, size_t *pos, size_t max_ranges)
{
	struct mailimap_set *set;
	size_t i = *pos, ranges = 0;

	if (i >= n)
		return NULL;
	set = mailimap_set_new_empty();
	while (i < n && ranges < max_ranges) {
		uint32_t lo = uids[i], hi = uids[i];

		while (i + 1 < n && (uids[i + 1] == hi || uids[i + 1] == hi + 1))
			hi = uids[++i];
		i++;
		mailimap_set_add_interval(set, lo, hi);
		ranges++;
	}
	*pos = i;
	return set;
}

void
pl_uid_set_format(const uint32_t *uids, size_t n, struct buf *out)
{
	size_t i = 0;

	while (i < n) {
		uint32_t lo = uids[i], hi = uids[i];

		while (i + 1 < n && (uids[i + 1] == hi || uids[i + 1] == hi + 1))
			hi = uids[++i];
		i++;
		if (out->len)
			buf_addc(out, ',');
		if (lo == hi)
			buf_printf(out, "%u", (unsigned)lo);
		else
			buf_printf(out, "%u:%u", (unsigned)lo, (unsigned)hi);
	}
}

/* ---- Fetch results ---- */

void
pl_imap_msg_read(const struct mailimap_msg_att *att, struct pl_imap_msg *m)
{
	clistiter *it;

	memset(m, 0, sizeof *m);
	for (it = clist_begin(att->att_list); it; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);

		if (item->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC) {
			m->has_flags = 1;
			m->flags = pl_imap_flags_of(item->att_data.att_dyn);
		} else if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC) {
			struct mailimap_msg_att_static *st = item->att_data.att_static;

			if (st == NULL)
				continue;
			switch (st->att_type) {
			case MAILIMAP_MSG_ATT_UID:
				m->uid = st->att_data.att_uid;
				break;
			case MAILIMAP_MSG_ATT_RFC822_SIZE:
				m->has_size = 1;
				m->size = st->att_data.att_rfc822_size;
				break;
			case MAILIMAP_MSG_ATT_BODY_SECTION:
				if (st->att_data.att_body_section) {
					m->body = st->att_data.att_body_section->sec_body_part;
					m->body_len = st->att_data.att_body_section->sec_length;
					if (m->body == NULL)
						m->body_len = 0;
				}
				break;
			case MAILIMAP_MSG_ATT_RFC822:
				m->body = st->att_data.att_rfc822.att_content;
				m->body_len = m->body ? st->att_data.att_rfc822.att_length : 0;
				break;
			default:
				break;
			}
		} else if (item->att_type == MAILIMAP_MSG_ATT_ITEM_EXTENSION) {
			struct mailimap_extension_data *x = item->att_data.att_extension_data;

			if (x && x->ext_extension->ext_id == MAILIMAP_EXTENSION_CONDSTORE &&
			    x->ext_type == MAILIMAP_CONDSTORE_TYPE_FETCH_DATA && x->ext_data) {
				struct mailimap_condstore_fetch_mod_resp *mr = x->ext_data;

				m->modseq = mr->cs_modseq_value;
			}
		}
	}
}

/* ---- Pure helpers ---- */

char *
pl_header_message_id(const char *msg, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t eol = i, next;

		while (eol < len && msg[eol] != '\n')
			eol++;
		next = eol < len ? eol + 1 : eol;
		/* an empty line ends the header */
		if (eol == i || (eol == i + 1 && msg[i] == '\r'))
			break;
		if (eol - i >= 11 && !ascii_ncasecmp(msg + i, "Message-ID:", 11)) {
			struct buf v = { 0 };
			size_t j = i + 11;
			char *id, *s, *t;

			/* the value, with its continuation lines */
			for (;;) {
				size_t end = eol;

				if (end > j && msg[end - 1] == '\r')
					end--;
				buf_add(&v, msg + j, end - j);
				if (next < len && (msg[next] == ' ' || msg[next] == '\t')) {
					j = next;
					eol = j;
					while (eol < len && msg[eol] != '\n')
						eol++;
					next = eol < len ? eol + 1 : eol;
					continue;
				}
				break;
			}
			id = buf_steal(&v);
			/* keep <…> when there, else the trimmed value */
			s = strchr(id, '<');
			t = s ? strchr(s, '>') : NULL;
			if (s && t) {
				memmove(id, s, (size_t)(t - s) + 1);
				id[t - s + 1] = 0;
			} else {
				s = trim(id);
				memmove(id, s, strlen(s) + 1);
			}
			if (*id == 0) {
				free(id);
				return NULL;
			}
			return id;
		}
		i = next;
	}
	return NULL;
}

void
pl_lf_to_crlf(const char *p, size_t n, struct buf *out)
{
	size_t i, start = 0;

	buf_grow(out, n + n / 32 + 16);
	for (i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')) {
			buf_add(out, p + start, i - start);
			buf_add(out, "\r\n", 2);
			start = i + 1;
		}
	}
	buf_add(out, p + start, n - start);
}

void
pl_message_sha256(const char *p, size_t n, int crlf, unsigned char out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int olen = 32;
	size_t i, start = 0;

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	if (crlf) {
		for (i = 0; i + 1 < n; i++) {
			if (p[i] == '\r' && p[i + 1] == '\n') {
				EVP_DigestUpdate(ctx, p + start, i - start);
				start = i + 1;	/* the \n */
				i++;
			}
		}
	}
	EVP_DigestUpdate(ctx, p + start, n - start);
	EVP_DigestFinal_ex(ctx, out, &olen);
	EVP_MD_CTX_free(ctx);
}
