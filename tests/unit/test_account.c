/* test_account.c — the keys of [account NAME] that read mail in (config.c):
 * imap/pop3 URLs, TLS, user and secret commands, folders, ca_file, the POP3
 * and bounce switches, [general] sync_interval; their defaults, every error
 * ("FILE:LINE: KEY: why", EX_CONFIG) and the printed config read back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static struct pl_config c;
static struct pl_err err;
static char ca[] = "/tmp/paloma-test-ca-XXXXXX";

static int
parse(const char *text)
{
	memset(&err, 0, sizeof err);
	pl_config_free(&c);
	return pl_config_parse(&c, "t.conf", text, &err);
}

/* "[account a]\naddress = a@x.test\n" then body: must be refused with want. */
static void
refused(const char *body, const char *want)
{
	char text[1024];
	int rc;

	snprintf(text, sizeof text, "[account a]\naddress = a@x.test\n%s", body);
	rc = parse(text);
	OK(rc == -1 && err.code == EX_CONFIG, "refused with EX_CONFIG: %s", want);
	STREQ(err.msg, want, "message");
	OK(c.accounts == NULL && c.path == NULL, "nothing left allocated");
}

/* Parses the account body; 0 when it parses. */
static int
account(const char *body)
{
	char text[1024];

	snprintf(text, sizeof text, "[account a]\naddress = a@x.test\n%s", body);
	return parse(text);
}

/* Prints c, parses the print again and prints that: the two must match
 * (but for the comments of unset keys). */
static void
round_trip(const char *what)
{
	struct buf one = { 0 }, two = { 0 };
	struct pl_config c2;
	struct pl_err e2;
	int rc;

	pl_config_print(&c, &one);
	rc = pl_config_parse(&c2, "t.conf", one.p, &e2);
	OK(rc == 0, "%s: printed config parses again (%s)", what, rc ? e2.msg : "");
	if (rc == 0) {
		pl_config_print(&c2, &two);
		/* from the accounts on: the editor comment is gone once it is set */
		STREQ(strstr(two.p, "\n[account"), strstr(one.p, "\n[account"),
		    "%s: and prints the same", what);
		pl_config_free(&c2);
	}
	buf_free(&one);
	buf_free(&two);
}

static void
printed(const char *want, const char *what)
{
	struct buf out = { 0 };

	pl_config_print(&c, &out);
	OK(strstr(out.p, want) != NULL, "print: %s", what);
	if (strstr(out.p, want) == NULL)
		printf("#   want '%s' in:\n%s", want, out.p);
	buf_free(&out);
}

int
main(void)
{
	const struct pl_account *a;
	char text[1024];
	int fd, rc;

	setenv("HOME", "/home/tester", 1);
	fd = mkstemp(ca);
	if (fd < 0 || write(fd, "x\n", 2) != 2 || close(fd) != 0) {
		printf("Bail out! cannot make %s\n", ca);
		return 1;
	}

	/* Defaults. */
	rc = parse("");
	OK(rc == 0 && c.sync_interval == 300, "sync_interval defaults to 5m");
	printed("sync_interval = 5m\n", "sync_interval default");
	rc = account("");
	a = &c.accounts[0];
	OK(rc == 0 && a->proto == PL_FETCH_NONE && a->host == NULL && a->user == NULL &&
	    a->nfolders == 0 && a->folders == NULL && a->ca_file == NULL,
	    "an account without a server reads nothing in");
	rc = parse("[general]\nsync_interval = 90s\n");
	OK(rc == 0 && c.sync_interval == 90, "sync_interval = 90s");

	/* imaps:// */
	rc = account("imap = imaps://imap.x.test\nuser = ann\n");
	a = &c.accounts[0];
	OK(rc == 0, "imaps:// parses (%s)", err.msg);
	OK(a->proto == PL_FETCH_IMAP && a->tls == PL_FETCH_TLS, "imaps: IMAP, implicit TLS");
	STREQ(a->host, "imap.x.test", "imaps: host");
	OK(a->port == 993, "imaps: port 993");
	STREQ(a->user, "ann", "user");
	OK(a->nfolders == 1 && !strcmp(a->folders[0], "INBOX"), "folders default to INBOX");
	OK(a->password_command == NULL && a->oauth2_token_command == NULL,
	    "no secret command by default");
	OK(!a->pop3_delete && !a->bounces_to_server, "pop3_delete, bounces_to_server: no");
	OK(a->timeout == 60, "timeout defaults to 60 s");
	printed("imap = imaps://imap.x.test:993\nuser = ann\nfolders = INBOX\ntimeout = 1m\n"
	    "bounces_to_server = no\n", "imap account");
	round_trip("imaps");

	/* imap:// STARTTLS, port, every key */
	snprintf(text, sizeof text,
	    "imap = imap://mail.x.test:1143/\n"
	    "user = \"ann@x.test\"\n"
	    "password_command = pass show \"mail/x test\"\n"
	    "folders = INBOX, Sent Items ,Archive/2024\n"
	    "ca_file = %s\n"
	    "bounces_to_server = yes\n"
	    "sent_folder = Sent Messages\n"
	    "timeout = 20s\n"
	    "new_tags = work, lists  x\n", ca);
	rc = account(text);
	a = &c.accounts[0];
	OK(rc == 0, "imap:// with every key (%s)", err.msg);
	OK(a->proto == PL_FETCH_IMAP && a->tls == PL_FETCH_STARTTLS && a->port == 1143,
	    "imap://: STARTTLS, port from the URL");
	STREQ(a->host, "mail.x.test", "imap://: host, final / ignored");
	STREQ(a->user, "ann@x.test", "user: quotes removed");
	STREQ(a->password_command, "pass show \"mail/x test\"", "password_command kept as written");
	OK(a->nfolders == 3 && !strcmp(a->folders[0], "INBOX") &&
	    !strcmp(a->folders[1], "Sent Items") && !strcmp(a->folders[2], "Archive/2024"),
	    "folders: comma separated, blanks trimmed, inner blanks kept");
	STREQ(a->ca_file, ca, "ca_file");
	OK(a->bounces_to_server == 1, "bounces_to_server = yes");
	STREQ(a->sent_folder, "Sent Messages", "sent_folder");
	OK(a->timeout == 20, "timeout = 20s");
	printed("timeout = 20s\n", "timeout printed");
	OK(a->nnew_tags == 3 && !strcmp(a->new_tags[0], "work") && !strcmp(a->new_tags[1], "lists")
	    && !strcmp(a->new_tags[2], "x"), "new_tags: blanks and commas separate");
	printed("folders = INBOX, Sent Items, Archive/2024\n", "folders");
	printed("new_tags = work lists x\n", "new_tags printed");
	round_trip("imap:// with every key");

	rc = account("imap = imaps://[::1]:9993\nuser = u\nfolders = *\n"
	    "oauth2_token_command = \"oauth2 --token x\"\n");
	a = &c.accounts[0];
	OK(rc == 0 && a->port == 9993, "IPv6 in brackets with a port (%s)", err.msg);
	STREQ(a->host, "::1", "IPv6 host without brackets");
	OK(a->nfolders == 1 && !strcmp(a->folders[0], "*"), "folders = * (every folder)");
	STREQ(a->oauth2_token_command, "oauth2 --token x", "oauth2_token_command");
	printed("imap = imaps://[::1]:9993\n", "IPv6 printed in brackets");
	round_trip("IPv6");

	/* a command in quotes keeps them through the round trip */
	rc = account("imap = imaps://h\nuser = u\npassword_command = \"\"/bin/get\" \"x\"\"\n");
	STREQ(rc == 0 ? c.accounts[0].password_command : NULL, "\"/bin/get\" \"x\"",
	    "outer quotes removed, inner ones kept");
	round_trip("a command starting and ending with a quote");

	/* pop3 */
	rc = account("pop3 = pop3s://pop.x.test\nuser = u\npassword_command = getpw\n");
	a = &c.accounts[0];
	OK(rc == 0 && a->proto == PL_FETCH_POP3 && a->tls == PL_FETCH_TLS && a->port == 995,
	    "pop3s://: POP3, TLS, port 995");
	OK(a->nfolders == 0, "pop3: no folders");
	printed("pop3 = pop3s://pop.x.test:995\n", "pop3s printed");
	printed("pop3_delete = no\n", "pop3_delete printed for pop3");
	round_trip("pop3s");
	rc = account("pop3 = pop3://pop.x.test\nuser = u\npop3_delete = yes\n");
	a = &c.accounts[0];
	OK(rc == 0 && a->tls == PL_FETCH_STARTTLS && a->port == 110 && a->pop3_delete,
	    "pop3://: STLS, port 110, pop3_delete = yes");

	/* tls = none: clear text, only when asked and only for imap://, pop3:// */
	rc = account("imap = imap://localhost:1430\ntls = none\nuser = u\n");
	OK(rc == 0 && c.accounts[0].tls == PL_FETCH_CLEAR, "imap:// + tls = none: clear text");
	printed("tls = none\n", "tls = none printed");
	round_trip("tls = none");
	rc = account("tls = none\npop3 = pop3://localhost\nuser = u\n");
	OK(rc == 0 && c.accounts[0].tls == PL_FETCH_CLEAR, "tls = none before pop3://");
	rc = account("imap = imap://h\ntls = required\nuser = u\n");
	OK(rc == 0 && c.accounts[0].tls == PL_FETCH_STARTTLS, "tls = required: the default");

	/* a second account keeps its own state */
	rc = parse("[account a]\naddress = a@x.test\nimap = imap://h\ntls = none\nuser = u\n"
	    "[account b]\naddress = b@x.test\nimap = imaps://h\nuser = v\n");
	OK(rc == 0 && c.accounts[0].tls == PL_FETCH_CLEAR && c.accounts[1].tls == PL_FETCH_TLS,
	    "tls = none belongs to its account only");

	/* Errors. */
	refused("imap = imaps://h\n", "t.conf:1: user: account 'a' reads mail from a server but has no user");
	refused("imap = imaps://h\nuser = u\npop3 = pop3s://h\n",
	    "t.conf:5: pop3: an account reads mail from imap or from pop3, not both");
	refused("imap = https://h\n",
	    "t.conf:3: imap: 'https://h' is not imaps://host[:port] or imap://host[:port]");
	refused("pop3 = imaps://h\n",
	    "t.conf:3: pop3: 'imaps://h' is not pop3s://host[:port] or pop3://host[:port]");
	refused("imap = imaps://\n",
	    "t.conf:3: imap: 'imaps://' is not imaps://host[:port] or imap://host[:port]");
	refused("imap = imaps://h:0\n",
	    "t.conf:3: imap: 'imaps://h:0' is not imaps://host[:port] or imap://host[:port]");
	refused("imap = imaps://h:65536\n",
	    "t.conf:3: imap: 'imaps://h:65536' is not imaps://host[:port] or imap://host[:port]");
	refused("imap = imaps://h:+5\n",
	    "t.conf:3: imap: 'imaps://h:+5' is not imaps://host[:port] or imap://host[:port]");
	refused("imap = imaps://h/INBOX\n",
	    "t.conf:3: imap: 'imaps://h/INBOX' is not imaps://host[:port] or imap://host[:port]");
	refused("imap = imaps://[::1\n",
	    "t.conf:3: imap: 'imaps://[::1' is not imaps://host[:port] or imap://host[:port]");
	refused("imap = imaps://ann@h\n",
	    "t.conf:3: imap: 'imaps://ann@h': give the user name with user =, not in the URL");
	refused("imap = imaps://h\nuser =\n", "t.conf:4: user: empty user name");
	refused("imap = imaps://h\nuser = u\ntls = none\n",
	    "t.conf:5: tls: none is only for imap:// or pop3:// (imaps:// and pop3s:// are TLS)");
	refused("pop3 = pop3s://h\nuser = u\ntls = none\n",
	    "t.conf:5: tls: none is only for imap:// or pop3:// (imaps:// and pop3s:// are TLS)");
	refused("imap = imap://h\nuser = u\ntls = off\n", "t.conf:5: tls: 'off' is not required or none");
	refused("imap = imaps://h\nuser = u\npassword_command = a\noauth2_token_command = b\n",
	    "t.conf:6: oauth2_token_command: give password_command or oauth2_token_command, not both");
	refused("imap = imaps://h\nuser = u\noauth2_token_command = b\npassword_command = a\n",
	    "t.conf:6: password_command: give password_command or oauth2_token_command, not both");
	refused("imap = imaps://h\nuser = u\npassword_command = \"\"\n",
	    "t.conf:5: password_command: empty command");
	refused("imap = imaps://h\nuser = u\nfolders = INBOX,,Sent\n",
	    "t.conf:5: folders: 'INBOX,,Sent' has an empty folder name");
	refused("imap = imaps://h\nuser = u\nfolders = INBOX, *\n",
	    "t.conf:5: folders: 'INBOX, *': * means every folder and stands alone");
	refused("pop3 = pop3s://h\nuser = u\nfolders = INBOX\n",
	    "t.conf:5: folders: POP3 reads only the inbox; folders is for imap");
	refused("imap = imaps://h\nuser = u\npop3_delete = no\n",
	    "t.conf:5: pop3_delete: is for pop3 accounts; imap keeps messages on the server");
	refused("pop3 = pop3s://h\nuser = u\npop3_delete = sometimes\n",
	    "t.conf:5: pop3_delete: 'sometimes' is not yes or no");
	refused("imap = imaps://h\nuser = u\ntimeout = 2h\n",
	    "t.conf:5: timeout: '2h' is more than an hour");
	refused("imap = imaps://h\nuser = u\ntimeout = 0\n",
	    "t.conf:5: timeout: '0' is not a duration (like 90s, 15m, 4h, 5d)");
	refused("relay = smtps://r\ntimeout = 30s\n",
	    "t.conf:4: timeout: needs imap = or pop3 = in the same account");
	refused("imap = imaps://h\nuser = u\nbounces_to_server = maybe\n",
	    "t.conf:5: bounces_to_server: 'maybe' is not yes or no");
	refused("imap = imaps://h\nuser = u\nca_file = /nonexistent/ca.pem\n",
	    "t.conf:5: ca_file: cannot read '/nonexistent/ca.pem': No such file or directory");
	refused("imap = imaps://h\nuser = u\nca_file = /tmp\n",
	    "t.conf:5: ca_file: cannot read '/tmp': not a regular file");
	refused("imap = imaps://h\nuser = u\nca_file = ca.pem\n",
	    "t.conf:5: ca_file: 'ca.pem' is not an absolute path (or ~/…)");
	refused("name = A\nuser = u\nfolders = INBOX\n",
	    "t.conf:5: folders: needs imap = or pop3 = in the same account");
	refused("name = A\nuser = u\n",
	    "t.conf:4: user: needs imap =, pop3 =, relay = or fallback_relay = in the same account");
	refused("bounces_to_server = yes\n",
	    "t.conf:3: bounces_to_server: needs imap = or pop3 = in the same account");
	refused("pop3 = pop3s://h\nuser = u\nsent_folder = Sent\n",
	    "t.conf:5: sent_folder: is for imap accounts: POP3 has no sent folder");
	refused("pop3 = pop3s://h\nuser = u\nsave_sent = yes\n",
	    "t.conf:5: save_sent: is for imap accounts: POP3 has no sent folder");
	refused("imap = imaps://h\nuser = u\nnew_tags = ok -bad\n",
	    "t.conf:5: new_tags: tag '-bad' starts with + or -");
	refused("imap = imaps://h\nuser = u\nnew_tags = a\x01b\n",
	    "t.conf:5: new_tags: a tag has a control character");
	refused("imap = imaps://h\nuser = u\nimap = imaps://g\n", "t.conf:5: imap: set twice in the same section");
	rc = parse("[account a]\naddress = a@x.test\nuser = u\n[account b]\naddress = b@x.test\n");
	OK(rc == -1 && !strcmp(err.msg, "t.conf:3: user: needs imap =, pop3 =, relay = or "
	    "fallback_relay = in the same account"),
	    "checked when the next section starts (%s)", err.msg);
	rc = parse("[general]\nsync_interval = often\n");
	OK(rc == -1 && err.code == EX_CONFIG, "bad sync_interval refused");
	STREQ(err.msg, "t.conf:2: sync_interval: 'often' is not a duration (like 90s, 15m, 4h, 5d)",
	    "bad sync_interval: message");
	rc = parse("[general]\nsync_interval = 0\n");
	OK(rc == -1, "sync_interval = 0 refused");

	/* Sending: DKIM, the transport, a relay with its own login. */
	rc = account("dkim_key = /etc/paloma/x.pem\ndkim_selector = s2026\ndkim_domain = X.test\n"
	    "transport = relay\nrelay = smtps://smtp.x.test\nrelay_user = ann\n"
	    "password_command = pass x\n");
	a = &c.accounts[0];
	OK(rc == 0, "relay account with DKIM parses (%s)", err.msg);
	STREQ(a->dkim_key, "/etc/paloma/x.pem", "dkim_key");
	STREQ(a->dkim_selector, "s2026", "dkim_selector");
	STREQ(a->dkim_domain, "x.test", "dkim_domain in lower case");
	OK(a->transport == PL_TRANSPORT_RELAY && a->relay.port == 465 && a->relay.implicit_tls,
	    "smtps:// relay on 465");
	STREQ(a->relay.host, "smtp.x.test", "relay host");
	printed("relay = smtps://smtp.x.test:465\n", "relay printed with its port");
	round_trip("relay account");
	rc = account("fallback_relay = smtp://[::1]:2587\nuser = u\noauth2_token_command = t\n");
	a = &c.accounts[0];
	OK(rc == 0 && a->transport == PL_TRANSPORT_DIRECT && a->fallback_relay.port == 2587 &&
	    !a->fallback_relay.implicit_tls, "fallback_relay smtp:// with a port (%s)", err.msg);
	STREQ(a->fallback_relay.host, "::1", "fallback relay IPv6 host");
	round_trip("fallback relay");
	rc = account("relay = smtp://smtp.x.test\n");
	OK(rc == 0 && c.accounts[0].relay.port == 587, "smtp:// relay on 587");
	refused("transport = relay\n",
	    "t.conf:3: transport: relay needs relay = smtps://host or smtp://host in the same account");
	refused("transport = carrier-pigeon\n", "t.conf:3: transport: 'carrier-pigeon' is not direct or relay");
	refused("relay = https://x\n", "t.conf:3: relay: 'https://x' is not smtps://host[:port] or smtp://host[:port]");
	refused("relay = smtp://ann@x\n", "t.conf:3: relay: 'smtp://ann@x': give the user name with relay_user =, not in the URL");
	refused("dkim_key = /k.pem\n", "t.conf:3: dkim_key: needs dkim_selector = in the same account");
	refused("dkim_selector = s1\n", "t.conf:1: dkim_selector: account 'a' has a dkim_selector but no dkim_key");
	refused("dkim_key = k.pem\ndkim_selector = s\n", "t.conf:3: dkim_key: 'k.pem' is not an absolute path (or ~/…)");
	refused("relay = smtp://x\npassword_command = p\n",
	    "t.conf:1: relay_user: account 'a' logs in to its relay but has no relay_user or user");

	rc = parse("[delivery]\npublic_ip = 192.0.2.7\ndnsbl = a.example, b.example\nmta_sts = no\n"
	    "dane = no\nmta_sts_port = 8443\ndns_assume_ad = yes\n");
	OK(rc == 0 && !strcmp(c.public_ip, "192.0.2.7") && c.ndnsbl == 2 && !c.mta_sts && !c.dane &&
	    c.mta_sts_port == 8443 && c.dns_assume_ad, "[delivery] doctor and policy keys (%s)", err.msg);
	printed("dnsbl = a.example b.example\n", "dnsbl printed");
	rc = parse("[delivery]\ndnsbl = none\n");
	OK(rc == 0 && c.ndnsbl == 0, "dnsbl = none");
	rc = parse("[delivery]\n");
	OK(rc == 0 && c.ndnsbl == 3 && c.mta_sts && c.dane && c.mta_sts_port == 443 &&
	    !c.dns_assume_ad, "defaults: three blocklists, MTA-STS and DANE on");
	rc = parse("[delivery]\npublic_ip = 300.1.1.1\n");
	STREQ(rc < 0 ? err.msg : "", "t.conf:2: public_ip: '300.1.1.1' is not an IPv4 or IPv6 address",
	    "bad public_ip");
	rc = parse("[delivery]\ndnsbl = ok.example bad_zone\n");
	STREQ(rc < 0 ? err.msg : "", "t.conf:2: dnsbl: 'bad_zone' is not a DNS zone", "bad dnsbl zone");

	pl_config_free(&c);
	unlink(ca);
	return tap_done();
}
