/* config.h — the user's settings: one INI-style file, see paloma.conf(5). */
#ifndef PALOMA_CONFIG_H
#define PALOMA_CONFIG_H

#include <stddef.h>

#include "util.h"

struct pl_account {
	char *name;		/* from [account NAME] */
	char *address;		/* addr-spec: me@example.org */
	char *display_name;	/* "name" key, may be NULL */
	int is_default;
	int line;		/* line of the section header, for messages */
};

enum pl_tls_policy { PL_TLS_OPPORTUNISTIC, PL_TLS_REQUIRED };

struct pl_config {
	char *path;		/* the file read, or that would have been read */
	int found;		/* 0: no file, defaults only */

	/* [general] */
	char *maildir;		/* expanded, absolute */
	char *editor;

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
	/* RFC 5321 4.5.3.2 timeouts, seconds */
	long timeout_connect, timeout_greeting, timeout_command, timeout_mail, timeout_rcpt,
	    timeout_data_init, timeout_data_block, timeout_data_end;
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
