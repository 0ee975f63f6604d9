/* config.h — the user's settings: one INI-style file, see paloma.conf(5). */
#ifndef PALOMA_CONFIG_H
#define PALOMA_CONFIG_H

#include <stddef.h>

#include "util.h"

/* Where an account's mail is read from (imap = / pop3 = URL). */
enum pl_fetch_proto { PL_FETCH_NONE, PL_FETCH_IMAP, PL_FETCH_POP3 };
/* imaps://, pop3s://: TLS from the first byte; imap://, pop3://: STARTTLS
 * (STLS) required; PL_FETCH_CLEAR only with `tls = none` and imap://, pop3://. */
enum pl_fetch_tls { PL_FETCH_TLS, PL_FETCH_STARTTLS, PL_FETCH_CLEAR };

/* How an account's mail leaves: straight to each domain's MX, or through
 * a submission server (relay = smtps://host[:465] or smtp://host[:587]). */
enum pl_transport { PL_TRANSPORT_DIRECT, PL_TRANSPORT_RELAY };

struct pl_relay {
	char *host;		/* NULL: none */
	int port;		/* 465 for smtps://, 587 for smtp:// unless given */
	int implicit_tls;	/* smtps://: TLS from the first byte; else STARTTLS, required */
};

struct pl_account {
	char *name;		/* from [account NAME] */
	char *address;		/* addr-spec: me@example.org */
	char *display_name;	/* "name" key, may be NULL */
	int is_default;
	int line;		/* line of the section header, for messages */

	/* Reading mail in; proto is PL_FETCH_NONE when the account has no server,
	 * and then every field below is unset. */
	enum pl_fetch_proto proto;
	enum pl_fetch_tls tls;
	char *host;		/* name or IP address (IPv6 without brackets) */
	int port;		/* 993, 143, 995, 110 unless the URL gives one */
	char *user;		/* required with a server */
	char *password_command;	/* at most one of these two; see secret.h */
	char *oauth2_token_command;
	char **folders;		/* IMAP folders to read; default { "INBOX" }; { "*" }: all */
	size_t nfolders;
	char *ca_file;		/* absolute path of extra trusted CAs, or NULL */
	long timeout;		/* seconds the server may take: to connect, for the
				 * TLS handshake, for each answer (netstream.h) */
	int pop3_delete;	/* POP3: delete messages from the server once stored */
	int bounces_to_server;	/* APPEND paloma's reports in INBOX to the server */
	int save_sent;		/* IMAP: `paloma send` keeps a copy for sent_folder */
	char *sent_folder;	/* IMAP folder for copies of sent mail; NULL: the
				 * server's \Sent special-use folder, else "Sent" */
	char **new_tags;	/* tags for new mail besides inbox and unread */
	size_t nnew_tags;

	/* Sending. */
	char *dkim_key;		/* absolute path of the PEM private key, or NULL */
	char *dkim_selector;	/* required with dkim_key */
	char *dkim_domain;	/* d=; default: the address's domain */
	enum pl_transport transport;
	struct pl_relay relay;		/* transport = relay */
	struct pl_relay fallback_relay;	/* direct, but this when direct cannot work */
	char *relay_user;	/* AUTH name; default: user */
};

enum pl_tls_policy { PL_TLS_OPPORTUNISTIC, PL_TLS_REQUIRED };


/* [ui]: the terminal client.  The names below are the words of the config
 * file (bind.VIEW.KEY = ACTION, color.OBJECT = FG BG [ATTR…]); the client
 * builds its tables from the same lists, so `paloma config check` knows
 * every name the client does. */
#define PL_UI_VIEWS(X) X(global) X(index) X(pager) X(searches) X(help) X(compose) \
	X(outbox)
#define PL_UI_ACTIONS(X) \
	X(quit) X(back) X(up) X(down) X(page_up) X(page_down) X(half_up) X(half_down) \
	X(top) X(bottom) X(open) X(search) X(searches) X(refresh) X(sync) X(help) \
	X(tag_add) X(tag_remove) X(archive) X(delete) X(flag) X(toggle_unread) X(undo) \
	X(next_message) X(prev_message) X(next_unread) X(headers) X(save_attachment) \
	X(open_attachment) X(compose) X(reply) X(reply_all) X(forward) X(outbox) \
	X(send) X(edit) X(attach) X(detach) X(postpone) X(abort) X(edit_from) X(edit_to) \
	X(edit_cc) X(edit_subject) X(retry) X(cancel) X(redraw) X(original)
#define PL_UI_COLORS(X) \
	X(normal) X(title) X(status) X(error) X(selected) X(unread) X(date) X(authors) \
	X(subject) X(count) X(tags) X(header) X(quote) X(attachment) X(auth) X(note) \
	X(queued) X(deferred) X(delivered) X(bounced)

/* Attributes of a colour, in bits. */
enum { PL_ATTR_BOLD = 1, PL_ATTR_UNDERLINE = 2, PL_ATTR_REVERSE = 4, PL_ATTR_DIM = 8,
	PL_ATTR_STANDOUT = 16, PL_ATTR_BLINK = 32, PL_ATTR_ITALIC = 64 };

struct pl_ui_search {		/* search.NAME = QUERY, in the file's order */
	char *name, *query;
};
struct pl_ui_bind {		/* bind.VIEW.KEY = ACTION */
	char *view, *key, *action;
	int line;
};
struct pl_ui_color {		/* color.OBJECT = FG BG [ATTR…]; -1: the terminal's */
	char *object;
	int fg, bg;		/* 0-7 the named colours, 8-255 colorN, -1 default */
	unsigned attr;
};
struct pl_ui {
	char *default_query;	/* "tag:inbox" */
	char *html_command;	/* NULL: mime.h's default (w3m) */
	struct pl_ui_search *searches;
	size_t nsearches;
	struct pl_ui_bind *binds;
	size_t nbinds;
	struct pl_ui_color *colors;
	size_t ncolors;
};

/* A key's name in bind.VIEW.KEY: a printable ASCII character other than
 * '=' and space, ^X for a control key, or one of Enter Space Tab Esc
 * Backspace Up Down Left Right PgUp PgDn Home End Delete Insert equal F1…F12.
 * 1 when valid. */
int pl_ui_key_valid(const char *name);

struct pl_config {
	char *path;		/* the file read, or that would have been read */
	int found;		/* 0: no file, defaults only */

	/* [general] */
	char *maildir;		/* expanded, absolute */
	char *editor;
	long sync_interval;	/* seconds between two syncs by the daemon */

	/* [account NAME] */
	struct pl_account *accounts;
	size_t naccounts;

	/* [delivery] */
	char *helo_name;
	char *dns_servers;	/* "ip[:port],…" or NULL for the system resolver */
	int smtp_port;
	long *retry;		/* seconds after each failed attempt; the last repeats */
	size_t nretry;
	long max_lifetime;
	long delay_warning;
	int parallel;
	int per_domain;
	long long max_message_size;
	enum pl_tls_policy tls;
	int autostart;
	/* Checks and policies (paloma doctor, MTA-STS, DANE). */
	char *public_ip;	/* the address mail leaves from, when NAT hides it */
	char **dnsbl;		/* DNS blocklist zones paloma doctor asks */
	size_t ndnsbl;
	int mta_sts;		/* honour MTA-STS policies (RFC 8461) */
	int dane;		/* honour TLSA records (RFC 7672) on authenticated answers */
	/* Test-only: the port MTA-STS policies are fetched from (443), and
	 * whether the resolver's answers count as DNSSEC-authenticated
	 * without its AD bit (never in real use). */
	int mta_sts_port;
	int dns_assume_ad;
	/* RFC 5321 4.5.3.2 timeouts, seconds */
	long timeout_connect, timeout_greeting, timeout_command, timeout_mail, timeout_rcpt,
	    timeout_data_init, timeout_data_block, timeout_data_end;

	/* [ui] */
	struct pl_ui ui;
};

/* Reads path (NULL: pl_config_path()).  A missing file is fine only when the
 * path was not chosen explicitly (explicit = 0).  Errors are EX_CONFIG and
 * name the file, line and key. */
int pl_config_load(struct pl_config *c, const char *path, int explicit, struct pl_err *e);
/* Parses a config held in memory; name is used in messages. */
int pl_config_parse(struct pl_config *c, const char *name, const char *text, struct pl_err *e);
void pl_config_free(struct pl_config *c);

/* The default account, or NULL when none is configured. */
const struct pl_account *pl_config_default_account(const struct pl_config *c);
/* The account whose address equals addr (case-insensitive domain), or NULL. */
const struct pl_account *pl_config_find_address(const struct pl_config *c, const char *addr);
const struct pl_account *pl_config_find_account(const struct pl_config *c, const char *name);

/* Prints the effective settings in the file's own syntax. */
void pl_config_print(const struct pl_config *c, struct buf *out);

#endif
