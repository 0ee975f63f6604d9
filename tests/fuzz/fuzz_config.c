/* fuzz_config.c — libFuzzer target for the settings file parser (config.c).
 *
 * The input, as file text, either parses or fails with EX_CONFIG and a
 * message that starts "FILE:LINE: KEY: ".  A parsed config keeps its
 * promises: every account has an address and a name, exactly one is the
 * default, numbers are in range.  What pl_config_print writes must parse
 * again to the same accounts and numbers.
 *
 * Build: make fuzz (build-fuzz/fuzz_config).  Seeds: tests/fuzz/corpus/fuzz_config/ */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void
cfg_check(const struct pl_config *c)
{
	int ndef = 0;

	for (size_t i = 0; i < c->naccounts; i++) {
		CHECK(c->accounts[i].name && *c->accounts[i].name);
		CHECK(c->accounts[i].address && strchr(c->accounts[i].address, '@'));
		CHECK(pl_config_find_account(c, c->accounts[i].name) == &c->accounts[i]);
		ndef += c->accounts[i].is_default != 0;
	}
	CHECK(c->naccounts == 0 ? ndef == 0 : ndef == 1);
	CHECK(c->maildir && c->maildir[0] == '/');
	CHECK(c->helo_name != NULL);
	CHECK(c->smtp_port >= 1 && c->smtp_port <= 65535);
	CHECK(c->nretry >= 1);
	for (size_t i = 0; i < c->nretry; i++)
		CHECK(c->retry[i] > 0);
	CHECK(c->max_lifetime > 0 && c->delay_warning > 0);
	CHECK(c->parallel >= 1 && c->parallel <= 1000);
	CHECK(c->per_domain >= 1 && c->per_domain <= 100);
	CHECK(c->max_message_size >= 1024);
	CHECK(c->timeout_connect > 0 && c->timeout_greeting > 0 && c->timeout_command > 0 &&
	    c->timeout_mail > 0 && c->timeout_rcpt > 0 && c->timeout_data_init > 0 &&
	    c->timeout_data_block > 0 && c->timeout_data_end > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct pl_config c, c2;
	struct pl_err e;
	struct buf out = { 0 };
	char *text;

	if (n > 65536)
		return 0;
	text = xstrndup((const char *)d, n);
	memset(&e, 0, sizeof e);
	if (pl_config_parse(&c, "fuzz.conf", text, &e) < 0) {
		const char *q = e.msg + 10;
		CHECK(e.code == EX_CONFIG);
		CHECK(strncmp(e.msg, "fuzz.conf:", 10) == 0);
		CHECK(*q >= '1' && *q <= '9');
		while (*q >= '0' && *q <= '9')
			q++;
		CHECK(q[0] == ':' && q[1] == ' ');
		/* "KEY: why", unless a long key filled the message */
		CHECK(strstr(q + 2, ": ") != NULL || strlen(e.msg) == sizeof e.msg - 1);
		CHECK(c.accounts == NULL && c.path == NULL);
		free(text);
		return 0;
	}
	cfg_check(&c);
	pl_config_print(&c, &out);
	if (pl_config_parse(&c2, "printed", out.p, &e) < 0)
		abort();
	cfg_check(&c2);
	CHECK(c2.naccounts == c.naccounts);
	for (size_t i = 0; i < c.naccounts; i++) {
		CHECK(strcmp(c.accounts[i].name, c2.accounts[i].name) == 0);
		CHECK(strcmp(c.accounts[i].address, c2.accounts[i].address) == 0);
		CHECK(c.accounts[i].is_default == c2.accounts[i].is_default);
	}
	CHECK(strcmp(c.maildir, c2.maildir) == 0);
	CHECK(c.smtp_port == c2.smtp_port && c.parallel == c2.parallel &&
	    c.per_domain == c2.per_domain && c.tls == c2.tls && c.autostart == c2.autostart);
	CHECK(c.max_message_size == c2.max_message_size && c.nretry == c2.nretry);
	CHECK((c.dns_servers == NULL) == (c2.dns_servers == NULL));
	pl_config_free(&c);
	pl_config_free(&c2);
	buf_free(&out);
	free(text);
	return 0;
}
