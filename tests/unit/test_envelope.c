/* test_envelope.c — the queue envelope file (queue.c): its exact text, the
 * round trip of every field including escaped values, and damaged
 * envelopes refused with the line that is wrong. */
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "tap.h"

#define ID "0pxq3k7m2zs4b9ta"

static struct pl_envelope env;
static struct pl_err err;

static int
parse(const char *text)
{
	memset(&err, 0, sizeof err);
	pl_envelope_free(&env);
	return pl_envelope_parse(text, &env, &err);
}

static void
refused(const char *text, const char *want, const char *what)
{
	int rc = parse(text);

	OK(rc == -1 && err.code == EX_DATAERR, "%s: refused with EX_DATAERR", what);
	STREQ(err.msg, want, "%s: message", what);
	OK(env.rcpt == NULL && env.nrcpt == 0 && env.sender == NULL,
	    "%s: nothing left allocated", what);
}

/* A minimal valid envelope with extra lines appended. */
static const char *
with(const char *extra)
{
	static char t[4096];

	snprintf(t, sizeof t, "Version: 1\nId: " ID "\nSender: <s@x.test>\n"
	    "Recipient: <r@y.test>\n%s", extra);
	return t;
}

static void
add_history(struct pl_rcpt *r, const char *h)
{
	r->history = xrealloc(r->history, (r->nhistory + 1) * sizeof *r->history);
	r->history[r->nhistory++] = xstrdup(h);
}

int
main(void)
{
	struct pl_envelope e0;
	struct buf out = { 0 };
	int rc;

	/* The exact text of an envelope. */
	memset(&e0, 0, sizeof e0);
	memcpy(e0.id, ID, sizeof e0.id);
	e0.created = 1795421779;
	e0.sender = xstrdup("me@x.test");
	e0.account = xstrdup("work");
	e0.message_id = xstrdup("<m1@x.test>");
	e0.size = 1234;
	e0.body_8bit = 1;
	e0.smtputf8 = 0;
	e0.delay_warned = 1;
	pl_envelope_add_rcpt(&e0, "a@y.test", 1795421779);
	pl_envelope_add_rcpt(&e0, "b@z.test", 1795421779);
	e0.rcpt[0].state = PL_RCPT_DEFERRED;
	e0.rcpt[0].attempts = 2;
	e0.rcpt[0].next_attempt = 1795422379;
	e0.rcpt[0].last_attempt = 1795421779;
	e0.rcpt[0].status = xstrdup("4.7.1");
	e0.rcpt[0].reply = xstrdup("451-4.7.1 greylisted\r\n451 4.7.1 try \\later\x01");
	e0.rcpt[0].remote = xstrdup("mx.y.test [192.0.2.1]");
	add_history(&e0.rcpt[0], "1795421779 451 greylisted");
	add_history(&e0.rcpt[0], "1795421979 451 still\ngreylisted");
	e0.rcpt[1].state = PL_RCPT_DELIVERED;
	pl_envelope_format(&e0, &out);
	STREQ(out.p,
	    "# paloma queue envelope (doc/QUEUE.md)\n"
	    "Version: 1\n"
	    "Id: " ID "\n"
	    "Created: 1795421779\n"
	    "Sender: <me@x.test>\n"
	    "Account: work\n"
	    "Message-Id: <m1@x.test>\n"
	    "Size: 1234\n"
	    "Body: 8bit\n"
	    "Smtputf8: no\n"
	    "Delay-Warned: yes\n"
	    "\n"
	    "Recipient: <a@y.test>\n"
	    "State: deferred\n"
	    "Attempts: 2\n"
	    "Next-Attempt: 1795422379\n"
	    "Last-Attempt: 1795421779\n"
	    "Status: 4.7.1\n"
	    "Reply: 451-4.7.1 greylisted\\r\\n451 4.7.1 try \\\\later\\x01\n"
	    "Remote: mx.y.test [192.0.2.1]\n"
	    "History: 1795421779 451 greylisted\n"
	    "History: 1795421979 451 still\\ngreylisted\n"
	    "\n"
	    "Recipient: <b@z.test>\n"
	    "State: delivered\n"
	    "Attempts: 0\n"
	    "Next-Attempt: 1795421779\n"
	    "Last-Attempt: 0\n",
	    "envelope text, field by field");

	/* Round trip. */
	rc = parse(out.p);
	OK(rc == 0, "formatted envelope parses: %s", err.msg);
	STREQ(env.id, ID, "id");
	OK(env.created == 1795421779 && env.size == 1234, "created and size");
	STREQ(env.sender, "me@x.test", "sender");
	STREQ(env.account, "work", "account");
	STREQ(env.message_id, "<m1@x.test>", "message id");
	OK(env.body_8bit == 1 && env.smtputf8 == 0 && env.delay_warned == 1, "flags");
	OK(env.nrcpt == 2, "two recipients");
	STREQ(env.rcpt[0].addr, "a@y.test", "recipient 1");
	OK(env.rcpt[0].state == PL_RCPT_DEFERRED && env.rcpt[0].attempts == 2 &&
	    env.rcpt[0].next_attempt == 1795422379 && env.rcpt[0].last_attempt == 1795421779,
	    "recipient 1 state and times");
	STREQ(env.rcpt[0].status, "4.7.1", "status");
	STREQ(env.rcpt[0].reply, "451-4.7.1 greylisted\r\n451 4.7.1 try \\later\x01",
	    "reply with CR LF, backslash and a control character");
	STREQ(env.rcpt[0].remote, "mx.y.test [192.0.2.1]", "remote");
	OK(env.rcpt[0].nhistory == 2, "two history lines");
	STREQ(env.rcpt[0].history[1], "1795421979 451 still\ngreylisted", "history with LF");
	OK(env.rcpt[1].state == PL_RCPT_DELIVERED && env.rcpt[1].status == NULL &&
	    env.rcpt[1].reply == NULL && env.rcpt[1].remote == NULL && env.rcpt[1].nhistory == 0,
	    "recipient 2: absent fields stay NULL");
	{
		struct buf again = { 0 };
		pl_envelope_format(&env, &again);
		STREQ(again.p, out.p, "format(parse(text)) == text");
		buf_free(&again);
	}
	buf_free(&out);

	/* Values that need escaping, in every escaped field. */
	{
		static const char *const nasty[] = {
			"", "\\", "a\\nb", "\r", "\n\nRecipient: <evil@x.test>", "\\x41",
			"tab\there", "\x7f\x1b[31m", "caf\xc3\xa9", "<angle>", "a: b", "trailing\\",
		};
		for (size_t i = 0; i < sizeof nasty / sizeof nasty[0]; i++) {
			free(e0.sender);
			free(e0.account);
			free(e0.rcpt[1].reply);
			e0.sender = xstrdup(nasty[i]);
			e0.account = xstrdup(nasty[i]);
			e0.rcpt[1].reply = xstrdup(nasty[i]);
			pl_envelope_format(&e0, &out);
			rc = parse(out.p);
			OK(rc == 0 && env.nrcpt == 2 && strcmp(env.sender, nasty[i]) == 0 &&
			    strcmp(env.account, nasty[i]) == 0 &&
			    strcmp(env.rcpt[1].reply, nasty[i]) == 0,
			    "value %zu round-trips in Sender, Account and Reply", i);
			buf_free(&out);
		}
	}
	free(e0.sender);
	e0.sender = xstrdup("");
	pl_envelope_format(&e0, &out);
	OK(strstr(out.p, "\nSender: <>\n") != NULL, "null sender written as <>");
	rc = parse(out.p);
	OK(rc == 0 && env.sender && env.sender[0] == '\0', "null sender read back as \"\"");
	buf_free(&out);
	free(e0.account);
	e0.account = NULL;
	free(e0.message_id);
	e0.message_id = NULL;
	pl_envelope_format(&e0, &out);
	OK(strstr(out.p, "Account") == NULL && strstr(out.p, "Message-Id") == NULL,
	    "absent account and message id not written");
	rc = parse(out.p);
	OK(rc == 0 && env.account == NULL && env.message_id == NULL, "... read back as NULL");
	buf_free(&out);
	pl_envelope_free(&e0);

	/* Every state by name. */
	{
		static const char *const names[] = { "queued", "deferred", "delivered", "failed",
			"bounced" };
		for (int s = PL_RCPT_QUEUED; s <= PL_RCPT_BOUNCED; s++) {
			char extra[64];
			STREQ(pl_rcpt_state_name((enum pl_rcpt_state)s), names[s], "state name %d", s);
			snprintf(extra, sizeof extra, "State: %s\n", names[s]);
			rc = parse(with(extra));
			OK(rc == 0 && (int)env.rcpt[0].state == s, "State: %s parses", names[s]);
		}
		OK(PL_RCPT_FINAL(PL_RCPT_DELIVERED) && PL_RCPT_FINAL(PL_RCPT_BOUNCED) &&
		    !PL_RCPT_FINAL(PL_RCPT_FAILED) && !PL_RCPT_FINAL(PL_RCPT_DEFERRED) &&
		    !PL_RCPT_FINAL(PL_RCPT_QUEUED), "final states");
	}

	/* Lenient on purpose: comments, blank lines, fields of a newer paloma. */
	rc = parse(with("# comment\n\nX-Future: something\n"));
	OK(rc == 0 && env.nrcpt == 1, "comments, blank lines and unknown fields ignored");
	rc = parse("Version: 1\nX-Future: top-level\nId: " ID "\nSender: <>\nRecipient: <r@y.test>\n");
	OK(rc == 0, "an unknown field before the first Recipient is ignored too: %s", err.msg);
	rc = parse(with("State: queued"));
	OK(rc == 0, "last line without a newline");
	rc = parse(with("Status: \n"));
	OK(rc == 0 && env.rcpt[0].status && env.rcpt[0].status[0] == '\0', "empty value");

	/* Damaged envelopes. */
	refused("", "envelope incomplete (needs Version, Id, Sender, Recipient)", "empty file");
	refused("Id: " ID "\nSender: <>\nRecipient: <r@y.test>\n",
	    "envelope incomplete (needs Version, Id, Sender, Recipient)", "no Version");
	refused("Version: 1\nSender: <>\nRecipient: <r@y.test>\n",
	    "envelope incomplete (needs Version, Id, Sender, Recipient)", "no Id");
	refused("Version: 1\nId: " ID "\nRecipient: <r@y.test>\n",
	    "envelope incomplete (needs Version, Id, Sender, Recipient)", "no Sender");
	refused("Version: 1\nId: " ID "\nSender: <>\n",
	    "envelope incomplete (needs Version, Id, Sender, Recipient)", "no Recipient");
	refused("Version: 2\n", "envelope line 1: bad Version", "Version 2");
	refused("Version: 1\nId: 0PXQ3K7M2ZS4B9TA\n", "envelope line 2: bad Id", "Id in upper case");
	refused("Version: 1\nId: 0pxq3k7m2zs4b9t\n", "envelope line 2: bad Id", "Id too short");
	refused("Version: 1\nId: ../../etc/passw\n", "envelope line 2: bad Id", "Id with a path");
	refused("Version: 1\nId: 0pxq3k7m2zs4b9tu\n", "envelope line 2: bad Id",
	    "Id with a letter outside the alphabet");
	refused("Version: 1\nCreated: -5\n", "envelope line 2: bad Created", "negative time");
	refused("Version: 1\nCreated: 12x\n", "envelope line 2: bad Created", "time with junk");
	refused("Version: 1\nCreated: 99999999999999999999\n", "envelope line 2: bad Created",
	    "time overflows");
	refused("Version: 1\nSender: me@x.test\n", "envelope line 2: bad Sender",
	    "sender without angle brackets");
	refused("Version: 1\nSender: <\n", "envelope line 2: bad Sender", "sender of one '<'");
	refused("Version: 1\nSize: big\n", "envelope line 2: bad Size", "bad size");
	refused("Version: 1\nBody: binary\n", "envelope line 2: bad Body", "bad body type");
	refused("Version: 1\nSmtputf8: maybe\n", "envelope line 2: bad Smtputf8", "bad Smtputf8");
	refused("Version: 1\nDelay-Warned: YES\n", "envelope line 2: bad Delay-Warned",
	    "bad Delay-Warned");
	refused("Version: 1\nRecipient: <>\n", "envelope line 2: bad Recipient", "empty recipient");
	refused("Version: 1\nRecipient: r@y.test\n", "envelope line 2: bad Recipient",
	    "recipient without angle brackets");
	refused("Version: 1\nState: queued\n", "envelope line 2: bad State",
	    "State before any Recipient");
	refused("Version: 1\nHistory: x\n", "envelope line 2: bad History",
	    "History before any Recipient");
	refused(with("State: lost\n"), "envelope line 5: bad State", "unknown state");
	refused(with("Attempts: 1000001\n"), "envelope line 5: bad Attempts", "too many attempts");
	refused(with("Attempts: -1\n"), "envelope line 5: bad Attempts", "negative attempts");
	refused(with("Next-Attempt: soon\n"), "envelope line 5: bad Next-Attempt", "bad next time");
	refused(with("Last-Attempt: \n"), "envelope line 5: bad Last-Attempt", "empty last time");
	refused(with("garbage\n"), "envelope line 5: not 'Field: value'", "line without ': '");
	refused(with("State:queued\n"), "envelope line 5: not 'Field: value'",
	    "colon without a space");
	refused(with("State: queued\r\n"), "envelope line 5: bad State", "CR at the line end");

	/* Ids. */
	OK(pl_queue_id_valid(ID), "id valid");
	OK(!pl_queue_id_valid(""), "empty id");
	OK(!pl_queue_id_valid(ID "0"), "17 characters");
	OK(!pl_queue_id_valid("0pxq3k7m2zs4b9t/"), "slash");
	OK(!pl_queue_id_valid("0pxq3k7m2zs4b9ti"), "i is not in the alphabet");

	pl_envelope_free(&env);
	return tap_done();
}
