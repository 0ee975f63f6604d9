/* mime.c — a message file as the pager shows it (see mime.h), over GMime 3.
 *
 * The file is read whole (up to MIME_MAX_FILE) and parsed by GMime; then one
 * depth-first walk of the MIME tree numbers every part (1 = the message's
 * top part, containers included) and decides what to show.  pl_mime_save
 * walks the same tree with the same rule, so the numbers agree.  What is
 * shown goes through mimetext.c: to UTF-8, then pl_text_put, the one gate
 * into the pager's text, which lets no control character through.
 *
 * Choices (the reader's point of view, not the RFCs'):
 *   - multipart/alternative: text/plain first, then HTML, then the first
 *     part; what is not shown there is listed only if it is not text (the
 *     images of an HTML version stay reachable);
 *   - a text part is shown inline unless its disposition says attachment
 *     or it has a file name and no disposition (text/csv; name=data.csv);
 *   - message/rfc822 is shown inline after a small header block, and is
 *     also listed, so that it can be saved;
 *   - message/delivery-status is shown as text: bounces must be readable;
 *   - attachment file names lose '/' and '\', so that a saved file lands
 *     where the user says, and control characters;
 *   - the auth summary: see authres.c. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "authres.h"
#include "dkimverify.h"
#include "mime.h"
#include "mimetext.h"
#include "rfc2047.h"

#define MIME_MAX_FILE (64 * 1024 * 1024)
/* Deeper parts are not walked (GMime itself stops at 1024). */
#define MIME_MAX_DEPTH 32

enum walk_mode {
	W_SHOW,		/* show text inline, list the rest */
	W_HIDDEN,	/* an alternative not chosen: list what is not text */
	W_COUNT,	/* inside something listed whole: only number the parts */
};

struct render {
	const struct pl_render_opts *o;
	int width;
	struct buf body;	/* safe text only: pl_text_put or ASCII literals */
	struct pl_attachment *att;
	size_t natt;
	int id;			/* the last part number given */
	int deep_noted;
};

static pthread_once_t mime_once = PTHREAD_ONCE_INIT;
static GMimeParserOptions *popts;

static void
mime_init_once(void)
{
	static const char *fallback[] = { "utf-8", "windows-1252", NULL };

	g_mime_init();
	popts = g_mime_parser_options_new();
	g_mime_parser_options_set_rfc2047_compliance_mode(popts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(popts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(popts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_allow_addresses_without_domain(popts, TRUE);
	/* Raw 8-bit header text: UTF-8 when valid, else the usual Windows charset. */
	g_mime_parser_options_set_fallback_charsets(popts, fallback);
}

static void
mime_init(void)
{
	pthread_once(&mime_once, mime_init_once);
}

/* Header text through the gate, trimmed; never NULL. */
static char *
clean_header(const char *s)
{
	struct buf b = { 0 };
	size_t i = 0;

	buf_adds(&b, "");
	pl_text_put(&b, s, strlen(s), 1);
	while (b.len > 0 && b.p[b.len - 1] == ' ')
		b.p[--b.len] = '\0';
	while (i < b.len && b.p[i] == ' ')
		i++;
	memmove(b.p, b.p + i, b.len - i + 1);
	return buf_steal(&b);
}

char *
pl_mime_decode_header(const char *value)
{
	char *unfolded, *dec, *s;
	size_t k = 0;

	mime_init();
	/* Folding is CRLF before white space: dropping the line ends joins it. */
	unfolded = xmalloc(strlen(value) + 1);
	for (const char *p = value; *p; p++)
		if (*p != '\r' && *p != '\n')
			unfolded[k++] = *p;
	unfolded[k] = '\0';
	dec = pl_rfc2047_decode(unfolded);
	s = clean_header(dec);
	free(dec);
	free(unfolded);
	return s;
}

static GMimeHeader *
find_header(GMimeObject *o, const char *name)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);

	return hl ? g_mime_header_list_get_header(hl, name) : NULL;
}

/* The decoded value of the first field name, or NULL. */
static char *
header_text(GMimeObject *o, const char *name)
{
	GMimeHeader *h = find_header(o, name);
	const char *raw = h ? g_mime_header_get_raw_value(h) : NULL;

	return raw ? pl_mime_decode_header(raw) : NULL;
}

/* The addresses of field name, formatted with their names decoded; the
 * decoded text when it does not parse as addresses; NULL when absent. */
static char *
header_addresses(GMimeObject *o, const char *name)
{
	GMimeHeader *h = find_header(o, name);
	const char *raw = h ? g_mime_header_get_raw_value(h) : NULL;
	InternetAddressList *l;
	char *s, *r, *merged;

	if (raw == NULL)
		return NULL;
	merged = pl_rfc2047_merge(raw);
	l = internet_address_list_parse(popts, merged);
	free(merged);
	if (l == NULL || internet_address_list_length(l) == 0) {
		if (l)
			g_object_unref(l);
		return pl_mime_decode_header(raw);
	}
	s = internet_address_list_to_string(l, NULL, FALSE);
	r = clean_header(s ? s : "");
	g_free(s);
	g_object_unref(l);
	return r;
}

/* The bare addresses of a list, lower case, for comparing two fields. */
static void
addr_specs(InternetAddressList *l, struct buf *b)
{
	int n = l ? internet_address_list_length(l) : 0;

	for (int i = 0; i < n; i++) {
		InternetAddress *a = internet_address_list_get_address(l, i);

		if (INTERNET_ADDRESS_IS_GROUP(a)) {
			addr_specs(internet_address_group_get_members((InternetAddressGroup *)a), b);
		} else if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
			const char *s = internet_address_mailbox_get_addr((InternetAddressMailbox *)a);

			for (; s && *s; s++)
				buf_addc(b, *s >= 'A' && *s <= 'Z' ? (char)(*s + 32) : *s);
			buf_addc(b, ',');
		}
	}
}

static int
same_addresses(GMimeObject *o, const char *f1, const char *f2)
{
	GMimeHeader *h1 = find_header(o, f1), *h2 = find_header(o, f2);
	InternetAddressList *l1 = NULL, *l2 = NULL;
	struct buf a = { 0 }, b = { 0 };
	int same;

	if (h1 == NULL || h2 == NULL)
		return h1 == h2;
	if (g_mime_header_get_raw_value(h1))
		l1 = internet_address_list_parse(popts, g_mime_header_get_raw_value(h1));
	if (g_mime_header_get_raw_value(h2))
		l2 = internet_address_list_parse(popts, g_mime_header_get_raw_value(h2));
	buf_adds(&a, "");
	buf_adds(&b, "");
	addr_specs(l1, &a);
	addr_specs(l2, &b);
	same = strcmp(a.p, b.p) == 0;
	if (l1)
		g_object_unref(l1);
	if (l2)
		g_object_unref(l2);
	buf_free(&a);
	buf_free(&b);
	return same;
}

static void
add_line(struct buf *b, const char *name, const char *value, size_t *lines)
{
	if (value == NULL)
		return;
	buf_adds(b, name);
	buf_adds(b, ": ");
	pl_text_put(b, value, strlen(value), 1);
	buf_addc(b, '\n');
	if (lines)
		(*lines)++;
}

/* The header block: every field when all, else the usual few. */
static void
header_block(struct buf *b, GMimeObject *msg, int all, size_t *lines)
{
	static const struct {
		const char *name;
		int addr;
	} shown[] = {
		{ "From", 1 }, { "Reply-To", 1 }, { "To", 1 }, { "Cc", 1 }, { "Date", 0 },
		{ "Subject", 0 },
	};
	GMimeHeaderList *hl = g_mime_object_get_header_list(msg);

	if (all) {
		int n = hl ? g_mime_header_list_get_count(hl) : 0;

		for (int i = 0; i < n; i++) {
			GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
			const char *raw = g_mime_header_get_raw_value(h);
			char *name = clean_header(g_mime_header_get_name(h));
			char *v = pl_mime_decode_header(raw ? raw : "");

			add_line(b, *name ? name : "?", v, lines);
			free(name);
			free(v);
		}
		return;
	}
	for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++) {
		char *v;

		if (strcmp(shown[i].name, "Reply-To") == 0 && same_addresses(msg, "From", "Reply-To"))
			continue;
		v = shown[i].addr ? header_addresses(msg, shown[i].name)
		    : header_text(msg, shown[i].name);
		add_line(b, shown[i].name, v, lines);
		free(v);
	}
}

/* The walk's children: a multipart's parts, a message part's body. */
static int
nkids(GMimeObject *o)
{
	if (GMIME_IS_MULTIPART(o))
		return g_mime_multipart_get_count((GMimeMultipart *)o);
	if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *m = g_mime_message_part_get_message((GMimeMessagePart *)o);

		return m && g_mime_message_get_mime_part(m) ? 1 : 0;
	}
	return 0;
}

static GMimeObject *
kid(GMimeObject *o, int i)
{
	if (GMIME_IS_MULTIPART(o))
		return g_mime_multipart_get_part((GMimeMultipart *)o, i);
	return g_mime_message_get_mime_part(g_mime_message_part_get_message((GMimeMessagePart *)o));
}

static int
is_type(GMimeObject *o, const char *type, const char *sub)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);

	return ct && g_mime_content_type_is_type(ct, type, sub);
}

static int
is_text(GMimeObject *o)
{
	return GMIME_IS_PART(o) && (is_type(o, "text", "*") ||
	    is_type(o, "message", "delivery-status") ||
	    is_type(o, "message", "global-delivery-status") ||
	    is_type(o, "message", "disposition-notification"));
}

static int
is_attachment(GMimeObject *o)
{
	GMimeContentDisposition *cd = g_mime_object_get_content_disposition(o);

	if (cd)
		return g_mime_content_disposition_is_attachment(cd);
	return GMIME_IS_PART(o) && g_mime_part_get_filename((GMimePart *)o) != NULL;
}

/* The decoded content of a part. */
static void
part_bytes(GMimePart *p, struct buf *out)
{
	GMimeDataWrapper *w = g_mime_part_get_content(p);
	GMimeStream *mem;
	GByteArray *a;

	buf_adds(out, "");
	if (w == NULL)
		return;
	mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(w, mem);
	a = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)mem);
	if (a && a->len)
		buf_add(out, a->data, a->len);
	g_object_unref(mem);
}

static size_t
part_size(GMimeObject *o)
{
	GMimeStream *null = g_mime_stream_null_new();
	size_t n;

	if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *m = g_mime_message_part_get_message((GMimeMessagePart *)o);

		if (m)
			g_mime_object_write_to_stream((GMimeObject *)m, NULL, null);
	} else if (GMIME_IS_PART(o) && g_mime_part_get_content((GMimePart *)o)) {
		g_mime_data_wrapper_write_to_stream(g_mime_part_get_content((GMimePart *)o), null);
	}
	n = ((GMimeStreamNull *)null)->written;
	g_object_unref(null);
	return n;
}

/* A file name fit to show and to save under: no controls, no directories. */
static char *
safe_filename(const char *name)
{
	char *s;

	if (name == NULL)
		return NULL;
	s = clean_header(name);
	for (char *p = s; *p; p++)
		if (*p == '/' || *p == '\\')
			*p = '_';
	if (*s == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* GMime decodes an RFC 2047 file name with the loss rfc2047.h tells of:
 * the value of param in the raw field, decoded here, or NULL. */
static char *
raw_param(GMimeObject *o, const char *field, const char *param)
{
	GMimeHeader *h = find_header(o, field);
	const char *raw = h ? g_mime_header_get_raw_value(h) : NULL, *p;
	size_t plen = strlen(param);

	if (raw == NULL || strstr(raw, "=?") == NULL)
		return NULL;
	for (p = raw; (p = strchr(p, ';')) != NULL; ) {
		struct buf v = { 0 };
		char *d;

		p++;
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (ascii_ncasecmp(p, param, plen) != 0)
			continue;
		p += plen;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
			continue;
		p++;
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		buf_adds(&v, "");
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (*p != '\r' && *p != '\n')
					buf_addc(&v, *p);
			}
		} else {
			for (; *p && *p != ';' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n'; p++)
				buf_addc(&v, *p);
		}
		d = pl_rfc2047_decode(v.p);
		buf_free(&v);
		return d;
	}
	return NULL;
}

static void
fmt_size(struct buf *b, size_t n)
{
	if (n < 1024)
		buf_printf(b, "%zu B", n);
	else if (n < 1024 * 1024)
		buf_printf(b, "%.1f KB", (double)n / 1024);
	else
		buf_printf(b, "%.1f MB", (double)n / (1024 * 1024));
}

/* Lists part o (number id) as an attachment; in the body, a marker line. */
static void
add_attachment(struct render *r, GMimeObject *o, int id, int marker)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	struct pl_attachment *a;
	char *type = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	const char *fn;
	char *fixed;

	r->att = xrealloc(r->att, (r->natt + 1) * sizeof *r->att);
	a = &r->att[r->natt++];
	a->id = id;
	a->type = clean_header(type ? type : "application/octet-stream");
	ascii_lower(a->type);
	g_free(type);
	fn = GMIME_IS_PART(o) ? g_mime_part_get_filename((GMimePart *)o)
	    : g_mime_object_get_content_disposition_parameter(o, "filename");
	if ((fixed = raw_param(o, "Content-Disposition", "filename")) == NULL)
		fixed = raw_param(o, "Content-Type", "name");
	a->filename = safe_filename(fixed ? fixed : fn);
	free(fixed);
	a->size = part_size(o);
	if (!marker)
		return;
	if (r->body.len > 0 && r->body.p[r->body.len - 1] != '\n')
		buf_addc(&r->body, '\n');
	buf_printf(&r->body, "[attachment %d: ", id);
	if (a->filename) {
		buf_adds(&r->body, a->filename);	/* already through the gate */
		buf_adds(&r->body, ", ");
	}
	buf_adds(&r->body, a->type);
	buf_adds(&r->body, ", ");
	fmt_size(&r->body, a->size);
	buf_adds(&r->body, "]\n");
}

/* A blank line between what was shown and what comes. */
static void
separate(struct render *r)
{
	if (r->body.len == 0)
		return;
	if (r->body.p[r->body.len - 1] != '\n')
		buf_addc(&r->body, '\n');
	if (r->body.len < 2 || r->body.p[r->body.len - 2] != '\n')
		buf_addc(&r->body, '\n');
}

static void
show_text(struct render *r, GMimePart *p)
{
	GMimeObject *o = (GMimeObject *)p;
	struct buf raw = { 0 }, u = { 0 }, t = { 0 };
	const char *cs = g_mime_object_get_content_type_parameter(o, "charset");
	const char *fmt = g_mime_object_get_content_type_parameter(o, "format");
	const char *delsp = g_mime_object_get_content_type_parameter(o, "delsp");

	part_bytes(p, &raw);
	buf_adds(&u, "");
	pl_text_to_utf8(&u, raw.p, raw.len, cs);
	buf_free(&raw);
	buf_adds(&t, "");
	if (is_type(o, "text", "html"))
		pl_text_html(&t, u.p, u.len, r->o ? r->o->html_command : NULL, r->width);
	else if (fmt && ascii_casecmp(fmt, "flowed") == 0)
		pl_text_flowed(&t, u.p, u.len, delsp && ascii_casecmp(delsp, "yes") == 0, r->width);
	else
		buf_add(&t, u.p, u.len);
	buf_free(&u);
	separate(r);
	pl_text_put(&r->body, t.p, t.len, 0);
	if (r->body.len > 0 && r->body.p[r->body.len - 1] != '\n')
		buf_addc(&r->body, '\n');
	buf_free(&t);
}

/* How much an alternative is wanted: plain text 3, HTML 2, anything else 1;
 * a container counts as its first part (multipart/alternative: its best). */
static int
alt_score(GMimeObject *o, int depth)
{
	int best = 1;

	if (depth > MIME_MAX_DEPTH)
		return 1;
	if (GMIME_IS_MULTIPART(o)) {
		int n = g_mime_multipart_get_count((GMimeMultipart *)o);

		if (n == 0)
			return 0;
		if (!is_type(o, "multipart", "alternative"))
			return alt_score(g_mime_multipart_get_part((GMimeMultipart *)o, 0), depth + 1);
		for (int i = 0; i < n; i++) {
			int s = alt_score(g_mime_multipart_get_part((GMimeMultipart *)o, i), depth + 1);

			if (s > best)
				best = s;
		}
		return best;
	}
	if (!GMIME_IS_PART(o) || is_attachment(o))
		return 1;
	if (is_type(o, "text", "plain"))
		return 3;
	if (is_type(o, "text", "html"))
		return 2;
	return 1;
}

static void walk(struct render *r, GMimeObject *o, int depth, enum walk_mode how);

/* A multipart in which GMime found no part (its boundary missing or wrong):
 * what it kept as prologue and epilogue is the whole text. */
static void
show_partless(struct render *r, GMimeMultipart *mp)
{
	const char *text[2] = { g_mime_multipart_get_prologue(mp),
		g_mime_multipart_get_epilogue(mp) };
	int noted = 0;

	for (int i = 0; i < 2; i++) {
		struct buf u = { 0 };

		if (text[i] == NULL || *text[i] == '\0')
			continue;
		if (!noted) {
			separate(r);
			buf_adds(&r->body, "(multipart without parts: boundary missing or wrong; "
			    "its raw text follows)\n\n");
			noted = 1;
		}
		buf_adds(&u, "");
		pl_text_to_utf8(&u, text[i], strlen(text[i]), NULL);
		pl_text_put(&r->body, u.p, u.len, 0);
		buf_free(&u);
		if (r->body.len > 0 && r->body.p[r->body.len - 1] != '\n')
			buf_addc(&r->body, '\n');
	}
}

static void
walk_kids(struct render *r, GMimeObject *o, int depth, enum walk_mode how)
{
	int n = nkids(o), chosen = -1, best = 0;

	if (n == 0 && how == W_SHOW && GMIME_IS_MULTIPART(o)) {
		show_partless(r, (GMimeMultipart *)o);
		return;
	}
	if (depth >= MIME_MAX_DEPTH) {
		if (how == W_SHOW && !r->deep_noted && n > 0) {
			separate(r);
			buf_adds(&r->body, "(parts nested too deep are not shown)\n");
			r->deep_noted = 1;
		}
		return;
	}
	if (how == W_SHOW && GMIME_IS_MULTIPART(o) && is_type(o, "multipart", "alternative")) {
		for (int i = 0; i < n; i++) {
			int s = alt_score(kid(o, i), depth + 1);

			/* RFC 2046: the last of equals is the best, except among
			 * parts we cannot show, where the first is as good as any. */
			if (s > best || (s == best && s > 1)) {
				best = s;
				chosen = i;
			}
		}
	}
	for (int i = 0; i < n; i++) {
		GMimeObject *k = kid(o, i);
		enum walk_mode m = how;

		if (chosen >= 0 && i != chosen)
			m = W_HIDDEN;
		if (k)
			walk(r, k, depth + 1, m);
		else
			r->id++;	/* keep the numbers pl_mime_save sees */
	}
}

static void
walk(struct render *r, GMimeObject *o, int depth, enum walk_mode how)
{
	int id = ++r->id;

	if (GMIME_IS_MULTIPART(o)) {
		walk_kids(r, o, depth, how);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *m = g_mime_message_part_get_message((GMimeMessagePart *)o);

		if (how == W_COUNT) {
			walk_kids(r, o, depth, W_COUNT);
			return;
		}
		add_attachment(r, o, id, 0);
		if (how == W_HIDDEN || m == NULL) {
			walk_kids(r, o, depth, W_COUNT);
			return;
		}
		separate(r);
		buf_printf(&r->body, "---------- attached message (%d) ----------\n", id);
		header_block(&r->body, (GMimeObject *)m, 0, NULL);
		buf_addc(&r->body, '\n');
		walk_kids(r, o, depth, W_SHOW);
		return;
	}
	if (!GMIME_IS_PART(o) || how == W_COUNT)
		return;
	if (how == W_SHOW && is_text(o) && (depth == 0 || !is_attachment(o)))
		show_text(r, (GMimePart *)o);
	else if (how == W_SHOW || !is_text(o))
		add_attachment(r, o, id, how == W_SHOW);
}

/* The same numbering as walk(): part want, or NULL. */
static GMimeObject *
find_part(GMimeObject *o, int depth, int *id, int want)
{
	int n;

	if (++*id == want)
		return o;
	if (depth >= MIME_MAX_DEPTH || (!GMIME_IS_MULTIPART(o) && !GMIME_IS_MESSAGE_PART(o)))
		return NULL;
	n = nkids(o);
	for (int i = 0; i < n; i++) {
		GMimeObject *k = kid(o, i), *f;

		if (k == NULL) {
			if (++*id == want)
				return NULL;
			continue;
		}
		if ((f = find_part(k, depth + 1, id, want)) != NULL)
			return f;
	}
	return NULL;
}

/* The auth summary from the fields as they come, topmost first; the
 * message's bytes (data, len; cut when too large to read whole) are
 * verified when the provider said nothing and o asks for it. */
static char *
auth_summary(GMimeObject *msg, const struct pl_render_opts *o, const guint8 *data, size_t len,
    int cut)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(msg);
	int n = hl ? g_mime_header_list_get_count(hl) : 0, nv = -1;
	const char **ar = xcalloc((size_t)n + 1, sizeof *ar), *sig = NULL;
	struct pl_dkim_verdict v[PL_DKIMV_MAX];
	struct pl_err e;
	size_t nar = 0;
	char *s;

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *name = g_mime_header_get_name(h), *raw = g_mime_header_get_raw_value(h);

		if (name == NULL || raw == NULL)
			continue;
		if (ascii_casecmp(name, "Authentication-Results") == 0)
			ar[nar++] = raw;
		else if (sig == NULL && ascii_casecmp(name, "DKIM-Signature") == 0)
			sig = raw;
	}
	if (sig && o && o->dkim && !cut && !pl_authres_provided(ar, nar)) {
		/* as parse_file: an mbox "From " line is not part of the message */
		const guint8 *nl = len > 5 && memcmp(data, "From ", 5) == 0 ?
		    memchr(data, '\n', len) : NULL;
		size_t skip = nl ? (size_t)(nl - data) + 1 : 0;

		nv = pl_dkimv_verify(o->dkim, (const char *)data + skip, len - skip, v, &e);
	}
	s = pl_authres_summary(ar, nar, sig, nv > 0 ? v : NULL, nv);
	free(ar);
	return s;
}

/* Reading and parsing. */

/* The file's bytes, at most MIME_MAX_FILE of them (*cut set when there was
 * more), in a GLib array for GMime's memory stream. */
static GByteArray *
read_file(const char *path, int *cut, struct pl_err *e)
{
	GByteArray *a;
	struct stat st;
	int fd;

	*cut = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		pl_errf(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR, "cannot open %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		pl_errf(e, EX_NOINPUT, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	a = g_byte_array_sized_new(st.st_size < MIME_MAX_FILE ? (guint)st.st_size + 1 : MIME_MAX_FILE);
	for (;;) {
		guint8 chunk[65536];
		ssize_t n = read(fd, chunk, sizeof chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pl_errf(e, EX_IOERR, "cannot read %s: %s", path, strerror(errno));
			g_byte_array_unref(a);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		if (a->len + (size_t)n > MIME_MAX_FILE) {
			g_byte_array_append(a, chunk, MIME_MAX_FILE - a->len);
			*cut = 1;
			break;
		}
		g_byte_array_append(a, chunk, (guint)n);
	}
	close(fd);
	return a;
}

/* Parses the file; NULL with e when it cannot be read.  *stream and *raw
 * (the bytes) stay valid until the stream is unreffed. */
static GMimeMessage *
parse_file(const char *path, GMimeStream **stream, GByteArray **raw, int *cut, struct pl_err *e)
{
	GMimeParser *parser;
	GMimeMessage *m;
	GByteArray *a;
	gint64 start = 0;

	mime_init();
	if ((a = read_file(path, cut, e)) == NULL)
		return NULL;
	*raw = a;
	*stream = g_mime_stream_mem_new_with_byte_array(a);	/* owns a */
	/* An mbox "From " line before the header is not a header field. */
	if (a->len > 5 && memcmp(a->data, "From ", 5) == 0) {
		guint8 *nl = memchr(a->data, '\n', a->len);

		start = nl ? nl - a->data + 1 : a->len;
		g_mime_stream_seek(*stream, start, GMIME_STREAM_SEEK_SET);
	}
	parser = g_mime_parser_new_with_stream(*stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	m = g_mime_parser_construct_message(parser, popts);
	g_object_unref(parser);
	return m;
}

static char *
dup_or_null(char *s)
{
	if (s && *s == '\0') {
		free(s);
		return NULL;
	}
	return s;
}

int
pl_mime_render(const char *path, const struct pl_render_opts *o, struct pl_rendered *out,
    struct pl_err *e)
{
	struct render r = { 0 };
	struct buf text = { 0 };
	GMimeStream *stream = NULL;
	GByteArray *raw = NULL;
	GMimeMessage *m;
	GMimeObject *mo, *top;
	int cut;

	memset(out, 0, sizeof *out);
	m = parse_file(path, &stream, &raw, &cut, e);
	if (stream == NULL)
		return -1;
	r.o = o;
	r.width = o && o->width > 0 ? o->width : 80;
	buf_adds(&text, "");
	buf_adds(&r.body, "");
	if (m == NULL) {
		/* GMime found no message at all: the bytes as text. */
		if (raw->len > 0)
			buf_adds(&r.body, "(not a message GMime could parse; its raw text follows)\n\n");
		pl_text_put(&r.body, (const char *)raw->data, raw->len, 0);
	} else {
		mo = (GMimeObject *)m;
		header_block(&text, mo, o && o->all_headers, &out->header_lines);
		if ((top = g_mime_message_get_mime_part(m)) != NULL)
			walk(&r, top, 0, W_SHOW);
		out->auth = auth_summary(mo, o, raw->data, raw->len, cut);
		out->from = header_addresses(mo, "From");
		out->reply_to = header_addresses(mo, "Reply-To");
		out->to = header_addresses(mo, "To");
		out->cc = header_addresses(mo, "Cc");
		out->subject = header_text(mo, "Subject");
		out->date = dup_or_null(header_text(mo, "Date"));
		out->message_id = dup_or_null(header_text(mo, "Message-ID"));
		out->in_reply_to = dup_or_null(header_text(mo, "In-Reply-To"));
		out->references = dup_or_null(header_text(mo, "References"));
	}
	if (r.body.len > 0 && r.body.p[r.body.len - 1] != '\n')
		buf_addc(&r.body, '\n');
	if (cut)
		buf_printf(&r.body, "\n(message cut at %d MB)\n", MIME_MAX_FILE / (1024 * 1024));
	buf_addc(&text, '\n');
	buf_add(&text, r.body.p, r.body.len);
	buf_free(&r.body);
	out->len = text.len;
	out->text = buf_steal(&text);
	out->att = r.att;
	out->natt = r.natt;
	if (m)
		g_object_unref(m);
	g_object_unref(stream);
	return 0;
}

char *
pl_mime_report_about(const struct pl_rendered *r)
{
	const char *s = r->text, *end = r->text + r->len;
	size_t ln = 0;

	if (r->text == NULL || r->message_id == NULL)
		return NULL;
	for (; s < end; ln++) {
		const char *e = memchr(s, '\n', (size_t)(end - s));
		size_t len = e ? (size_t)(e - s) : (size_t)(end - s);

		if (ln >= r->header_lines && len > 12 && !ascii_ncasecmp(s, "Message-ID:", 11)) {
			char *id = xstrndup(s + 11, len - 11);
			char *t = trim(id), *about = NULL;

			if (*t == '<' && t[strlen(t) - 1] == '>' && strcmp(t, r->message_id))
				about = xstrdup(t);
			free(id);
			return about;
		}
		if (e == NULL)
			break;
		s = e + 1;
	}
	return NULL;
}

void
pl_rendered_free(struct pl_rendered *r)
{
	for (size_t i = 0; i < r->natt; i++) {
		free(r->att[i].type);
		free(r->att[i].filename);
	}
	free(r->att);
	free(r->text);
	free(r->auth);
	free(r->from);
	free(r->reply_to);
	free(r->to);
	free(r->cc);
	free(r->subject);
	free(r->date);
	free(r->message_id);
	free(r->in_reply_to);
	free(r->references);
	memset(r, 0, sizeof *r);
}

/* Writes all of p to fd. */
static int
write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int
pl_mime_save(const char *path, int id, const char *dest, struct pl_err *e)
{
	GMimeStream *stream = NULL, *mem;
	GByteArray *raw = NULL, *a;
	GMimeMessage *m;
	GMimeObject *o = NULL, *top;
	int cut, fd, n = 0, rc = -1;

	m = parse_file(path, &stream, &raw, &cut, e);
	if (stream == NULL)
		return -1;
	if (m && (top = g_mime_message_get_mime_part(m)) != NULL)
		o = find_part(top, 0, &n, id);
	if (o == NULL || (!GMIME_IS_PART(o) && !GMIME_IS_MESSAGE_PART(o))) {
		pl_errf(e, EX_DATAERR, "%s has no attachment %d", path, id);
		goto out;
	}
	/* Decoded in memory first: a part that fails to decode leaves no file. */
	mem = g_mime_stream_mem_new();
	if (GMIME_IS_PART(o)) {
		if (g_mime_part_get_content((GMimePart *)o))
			g_mime_data_wrapper_write_to_stream(g_mime_part_get_content((GMimePart *)o), mem);
	} else if (g_mime_message_part_get_message((GMimeMessagePart *)o)) {
		g_mime_object_write_to_stream(
		    (GMimeObject *)g_mime_message_part_get_message((GMimeMessagePart *)o), NULL, mem);
	}
	a = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)mem);
	fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		pl_errf(e, EX_CANTCREAT, "cannot create %s: %s", dest, strerror(errno));
	} else if (write_all(fd, a->data, a->len) < 0 || fsync(fd) < 0) {
		pl_errf(e, EX_IOERR, "cannot write %s: %s", dest, strerror(errno));
		close(fd);
		unlink(dest);
	} else if (close(fd) < 0) {
		pl_errf(e, EX_IOERR, "cannot write %s: %s", dest, strerror(errno));
		unlink(dest);
	} else {
		rc = 0;
	}
	g_object_unref(mem);
out:
	if (m)
		g_object_unref(m);
	g_object_unref(stream);
	return rc;
}
