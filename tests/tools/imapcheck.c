/* imapcheck — logs in to an IMAP or POP3 server through paloma's streams
 * (src/netstream.c: OpenSSL, verified) and counts the messages in INBOX.
 *
 *   imapcheck imaps|imap-starttls|pop3s|pop3-stls HOST PORT USER PASS [CAFILE]
 *
 * HOST is both where it connects and the name the certificate must carry;
 * PL_CONNECT_ADDR=127.0.0.1 connects there instead, checking HOST still
 * (to test a certificate for the wrong name); PL_STREAM_TIMEOUT_S=n sets the
 * stream's read/write timeout to n seconds.  Prints "ok TLS <version
 * cipher>", "ok LOGIN", "ok COUNT n", "ok LOGOUT"; on error one line
 * "error: …" on stderr and exit 1. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

#include "netstream.h"

static const char *
last_reply(const char *r)
{
	return r && *r ? r : "(no reply text)";
}

static int
fail(const char *what, const char *detail)
{
	fprintf(stderr, "error: %s: %s\n", what, detail);
	return 1;
}

static int
stream_fail(const char *what, mailstream *s, int r)
{
	char buf[800];
	const char *why = pl_stream_error(s);

	snprintf(buf, sizeof buf, "libetpan error %d%s%s", r, *why ? ": " : "", why);
	return fail(what, buf);
}

static void
set_timeout(mailstream *s)
{
	const char *t = getenv("PL_STREAM_TIMEOUT_S");

	if (s && t && atoi(t) > 0)
		mailstream_low_set_timeout(mailstream_get_low(s), atoi(t));
}

static int
do_imap(int fd, int starttls, const char *host, const char *user, const char *pass,
    const char *ca)
{
	mailimap *im = mailimap_new(0, NULL);
	struct pl_err e = { 0 };
	mailstream *s;
	char desc[128];
	int r, rc = 1;

	s = starttls ? pl_stream_plain(fd, 0) : pl_stream_tls(fd, host, ca, 0, &e);
	if (s == NULL) {
		mailimap_free(im);
		return fail("connect", e.msg[0] ? e.msg : "out of memory");
	}
	set_timeout(s);
	r = mailimap_connect(im, s);
	if (r != MAILIMAP_NO_ERROR && r != MAILIMAP_NO_ERROR_AUTHENTICATED &&
	    r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
		rc = stream_fail("greeting", s, r);
		goto out;
	}
	if (starttls) {
		r = mailimap_starttls(im);
		if (r != MAILIMAP_NO_ERROR) {
			rc = fail("STARTTLS", last_reply(im->imap_response));
			goto out;
		}
		if (pl_stream_starttls(s, fd, host, ca, &e) < 0) {
			rc = fail("STARTTLS", e.msg);
			goto out;
		}
		/* capabilities from before TLS must not be trusted */
		if (im->imap_connection_info && im->imap_connection_info->imap_capability) {
			mailimap_capability_data_free(im->imap_connection_info->imap_capability);
			im->imap_connection_info->imap_capability = NULL;
		}
	}
	pl_stream_describe(s, desc, sizeof desc);
	printf("ok TLS %s\n", desc);
	r = mailimap_login(im, user, pass);
	if (r != MAILIMAP_NO_ERROR) {
		rc = r == MAILIMAP_ERROR_STREAM ? stream_fail("LOGIN", s, r)
		    : fail("LOGIN", last_reply(im->imap_response));
		goto out;
	}
	printf("ok LOGIN\n");
	r = mailimap_select(im, "INBOX");
	if (r != MAILIMAP_NO_ERROR || im->imap_selection_info == NULL) {
		rc = fail("SELECT INBOX", last_reply(im->imap_response));
		goto out;
	}
	printf("ok COUNT %u\n", (unsigned)im->imap_selection_info->sel_exists);
	r = mailimap_logout(im);
	if (r != MAILIMAP_NO_ERROR && r != MAILIMAP_ERROR_STREAM) {
		rc = fail("LOGOUT", last_reply(im->imap_response));
		goto out;
	}
	printf("ok LOGOUT\n");
	rc = 0;
out:
	mailimap_free(im);	/* closes the stream, if still open */
	return rc;
}

static int
do_pop3(int fd, int stls, const char *host, const char *user, const char *pass,
    const char *ca)
{
	mailpop3 *p = mailpop3_new(0, NULL);
	struct mailpop3_stat_response *st = NULL;
	struct pl_err e = { 0 };
	mailstream *s;
	char desc[128];
	int r, rc = 1;

	s = stls ? pl_stream_plain(fd, 0) : pl_stream_tls(fd, host, ca, 0, &e);
	if (s == NULL) {
		mailpop3_free(p);
		return fail("connect", e.msg[0] ? e.msg : "out of memory");
	}
	set_timeout(s);
	r = mailpop3_connect(p, s);
	if (r != MAILPOP3_NO_ERROR) {
		rc = stream_fail("greeting", s, r);
		goto out;
	}
	if (stls) {
		r = mailpop3_stls(p);
		if (r != MAILPOP3_NO_ERROR) {
			rc = fail("STLS", last_reply(p->pop3_response));
			goto out;
		}
		if (pl_stream_starttls(s, fd, host, ca, &e) < 0) {
			rc = fail("STLS", e.msg);
			goto out;
		}
	}
	pl_stream_describe(s, desc, sizeof desc);
	printf("ok TLS %s\n", desc);
	r = mailpop3_user(p, user);
	if (r == MAILPOP3_NO_ERROR)
		r = mailpop3_pass(p, pass);
	if (r != MAILPOP3_NO_ERROR) {
		rc = r == MAILPOP3_ERROR_STREAM ? stream_fail("LOGIN", s, r)
		    : fail("LOGIN", last_reply(p->pop3_response));
		goto out;
	}
	printf("ok LOGIN\n");
	r = mailpop3_stat(p, &st);
	if (r != MAILPOP3_NO_ERROR || st == NULL) {
		rc = fail("STAT", last_reply(p->pop3_response));
		goto out;
	}
	printf("ok COUNT %u\n", st->msgs_count);
	mailpop3_stat_resp_free(st);
	r = mailpop3_quit(p);
	if (r != MAILPOP3_NO_ERROR) {
		rc = fail("QUIT", last_reply(p->pop3_response));
		goto out;
	}
	printf("ok LOGOUT\n");
	rc = 0;
out:
	mailpop3_free(p);
	return rc;
}

int
main(int argc, char **argv)
{
	struct pl_err e = { 0 };
	const char *mode, *host, *addr, *ca;
	int port, fd;

	if (argc < 6 || argc > 7) {
		fprintf(stderr, "usage: imapcheck imaps|imap-starttls|pop3s|pop3-stls "
		    "HOST PORT USER PASS [CAFILE]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	mode = argv[1];
	host = argv[2];
	port = atoi(argv[3]);
	ca = argc > 6 ? argv[6] : NULL;
	addr = getenv("PL_CONNECT_ADDR");
	fd = pl_net_connect(addr && *addr ? addr : host, port, 10, &e);
	if (fd < 0)
		return fail("connect", e.msg);
	if (!strcmp(mode, "imaps"))
		return do_imap(fd, 0, host, argv[4], argv[5], ca);
	if (!strcmp(mode, "imap-starttls"))
		return do_imap(fd, 1, host, argv[4], argv[5], ca);
	if (!strcmp(mode, "pop3s"))
		return do_pop3(fd, 0, host, argv[4], argv[5], ca);
	if (!strcmp(mode, "pop3-stls"))
		return do_pop3(fd, 1, host, argv[4], argv[5], ca);
	fprintf(stderr, "imapcheck: unknown mode %s\n", mode);
	return 2;
}
