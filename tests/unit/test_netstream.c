/* test_netstream.c — the budget of a server's answer (netstream.h): bytes,
 * line length, IMAP lines counted with libetpan's overhead, and IMAP literal
 * announcements refused before libetpan sees the end of their line, even
 * when the announcement comes in pieces.  A child process plays the server
 * on a socketpair, writing its pieces a little apart so that they arrive in
 * separate reads. */
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libetpan/libetpan.h>

#include "netstream.h"
#include "tap.h"

struct peer {
	mailstream *s;
	pid_t pid;
};

/* A stream whose server is a child running fn(its socket, arg).  The
 * stream's timeout is 1 s: mailimap_free sends LOGOUT and waits for an
 * answer that never comes. */
static struct peer
serve_fn(void (*fn)(int, const void *), const void *arg)
{
	struct peer p = { NULL, -1 };
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return p;
	p.pid = fork();
	if (p.pid == 0) {
		close(sv[0]);
		fn(sv[1], arg);
		_exit(0);
	}
	close(sv[1]);
	p.s = pl_stream_plain(sv[0], 1);
	return p;
}

/* Sends the NULL-terminated pieces a little apart, then waits for the
 * stream to close. */
static void
pieces_fn(int fd, const void *arg)
{
	const char *const *pieces = arg;
	char c[256];

	for (; *pieces; pieces++) {
		if (write(fd, *pieces, strlen(*pieces)) < 0)
			_exit(1);
		usleep(20000);
	}
	while (read(fd, c, sizeof c) > 0)
		;
}

static struct peer
serve(const char *const *pieces)
{
	return serve_fn(pieces_fn, pieces);
}

static void
done(struct peer *p)
{
	mailstream_close(p->s);
	waitpid(p->pid, NULL, 0);
}

/* Sends a command line: what follows is its answer. */
static void
command(mailstream *s)
{
	mailstream_write(s, "a\r\n", 3);
	mailstream_flush(s);
}

/* Reads up to max lines, stopping at a failure: how many were read. */
static int
lines(mailstream *s, MMAPString *line, int max)
{
	int n = 0;

	while (n < max && mailstream_read_line(s, line) != NULL && line->len > 0)
		n++;
	return n;
}

static void
test_bytes(MMAPString *line)
{
	static const char *const two[] = { "0123456789012345678\r\n", "0123456789012345678\r\n",
		NULL };
	struct peer p = serve(two);

	pl_stream_budget(p.s, 30, 0);
	command(p.s);
	OK(mailstream_read_line(p.s, line) != NULL, "the first 21 bytes of 30 come through");
	OK(mailstream_read_line(p.s, line) == NULL, "the next 21 fail the stream");
	OK(pl_stream_exceeded(p.s), "... as over the limit");
	STREQ(pl_stream_error(p.s), "the server sent more than 30 bytes in answer to one command",
	    "... with a clear reason");
	done(&p);

	p = serve(two);
	pl_stream_budget(p.s, 30, 0);
	command(p.s);
	command(p.s);	/* writing again before reading changes nothing */
	OK(mailstream_read_line(p.s, line) != NULL, "one budget per answer: still 30");
	done(&p);
}

static void
test_next_answer(MMAPString *line)
{
	static const char *const one[] = { "0123456789012345678\r\n", "x\r\n", NULL };
	struct peer p = serve(one);

	pl_stream_budget(p.s, 21, 0);
	command(p.s);
	OK(mailstream_read_line(p.s, line) != NULL, "an answer within its budget");
	command(p.s);
	OK(mailstream_read_line(p.s, line) != NULL && !pl_stream_exceeded(p.s),
	    "the next answer has the default budget again");
	done(&p);
}

static void
test_line_max(MMAPString *line)
{
	static const char *const greeting[] = { "+OK ", "0123456789", "0123456789", NULL };
	static const char *const retr[] = { "+OK\r\n", "0123456789012345678901234\r\n", ".\r\n",
		NULL };
	struct peer p = serve(greeting);

	pl_stream_limits(p.s, 16, 0);
	OK(mailstream_read_line(p.s, line) == NULL && pl_stream_exceeded(p.s),
	    "a greeting line without end fails at the stream's line limit");
	STREQ(pl_stream_error(p.s), "the server sent a line longer than 16 bytes",
	    "... with a clear reason");
	done(&p);

	p = serve(retr);
	pl_stream_limits(p.s, 16, 0);
	pl_stream_budget(p.s, 0, SIZE_MAX);
	command(p.s);
	OK(lines(p.s, line, 3) == 3, "an answer allowed lines of any length reads them");
	done(&p);
}

static void
test_imap_lines(MMAPString *line)
{
	static const char *const flood[] = { "* OK\r\n* OK\r\n* OK\r\n* OK\r\n", NULL };
	struct peer p = serve(flood);

	pl_stream_limits(p.s, 0, 1);
	pl_stream_budget(p.s, 3 * 262, 0);
	command(p.s);
	OK(lines(p.s, line, 4) == 0 && pl_stream_exceeded(p.s),
	    "IMAP: 4 short lines cost 4 x (6 + 256) bytes, over 3 x 262");
	done(&p);
	p = serve(flood);
	pl_stream_limits(p.s, 0, 1);
	pl_stream_budget(p.s, 4 * 262, 0);
	command(p.s);
	OK(lines(p.s, line, 4) == 4, "... and fit in 4 x 262");
	done(&p);
}

static void
test_literals(MMAPString *line)
{
	static const char *const split[] = { "* 1 FETCH (BODY[] {20", "00}\r", "\n", "xx", NULL };
	static const char *const inside[] = { "* 1 FETCH (BODY[] {10}\r\n{999999}\r\n)\r\n",
		"a OK done\r\n", NULL };
	static const char *const text[] = { "* OK {999999} is no literal\r\n", NULL };
	struct peer p = serve(split);

	pl_stream_limits(p.s, 0, 1);
	pl_stream_budget(p.s, 1000, 0);
	command(p.s);
	OK(mailstream_read_line(p.s, line) == NULL && pl_stream_exceeded(p.s),
	    "a literal of 2000 bytes announced in three pieces: refused");
	STREQ(pl_stream_error(p.s), "the server announced a literal of 2 KiB, more than "
	    "the 1000 bytes allowed in answer to one command", "... with a clear reason");
	done(&p);

	p = serve(inside);
	pl_stream_limits(p.s, 0, 1);
	pl_stream_budget(p.s, 4000, 0);
	command(p.s);
	OK(lines(p.s, line, 4) == 4 && !pl_stream_exceeded(p.s),
	    "\"{999999}\" inside a literal's bytes is not an announcement");
	done(&p);

	p = serve(text);
	pl_stream_limits(p.s, 0, 1);
	pl_stream_budget(p.s, 1000, 0);
	command(p.s);
	OK(mailstream_read_line(p.s, line) != NULL && !pl_stream_exceeded(p.s),
	    "nor is \"{999999}\" in the middle of a line");
	done(&p);

	p = serve(split);
	pl_stream_budget(p.s, 1000, 0);
	command(p.s);
	OK(mailstream_read_line(p.s, line) != NULL, "a stream that is not IMAP does not look");
	done(&p);
}

/* pl_imap_greeting_clean on one line. */
static void
clean(const char *in, const char *want)
{
	char buf[256];
	size_t n = strlen(in), m;

	memcpy(buf, in, n);
	m = pl_imap_greeting_clean(buf, n);
	buf[m] = '\0';
	OK(m <= n && strcmp(buf, want) == 0, "greeting cleaned: %.*s (got %.*s)",
	    (int)strcspn(in, "\r\n"), in, (int)strcspn(buf, "\r\n"), buf);
}

static void
test_greeting_clean(void)
{
	clean("* OK [BADCHARSET (x \"y\")] hi there\r\n", "* OK hi there\r\n");
	clean("* OK [ALERT]\r\n", "* OK ok\r\n");
	clean("* ok [REFERRAL imap://x/] moved\n", "* ok moved\n");
	clean("* PREAUTH [UNKNOWN-CODE {3}\r\n", "* PREAUTH ok\r\n");
	clean("* BYE [UNAVAILABLE] go away\r\n", "* BYE go away\r\n");
	clean("* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n",
	    "* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n");
	clean("* OK ready\r\n", "* OK ready\r\n");
	clean("* CAPABILITY IMAP4rev1\r\n", "* CAPABILITY IMAP4rev1\r\n");
	clean("* OK [a]\r\n", "* OK ok\r\n");
}

/* The greeting through a real libetpan session: a code that crashes
 * libetpan's greeting parser is taken out on the way (the process would
 * die here otherwise), CAPABILITY is kept, and a stream made after
 * STARTTLS (a command first) is left alone. */
static void
test_greeting_session(MMAPString *line)
{
	static const char *const bad[] = { "* OK [BADCHARSET (a)] ready\r\n", NULL };
	static const char *const caps[] = { "* OK [CAPABILITY IMAP4rev1 IDLE] hi\r\n", NULL };
	static const char *const after[] = { "* OK [BADCHARSET (a)] not a greeting\r\n", NULL };
	struct peer p = serve(bad);
	mailimap *im = mailimap_new(0, NULL);
	int r;

	pl_stream_limits(p.s, 0, 1);
	r = mailimap_connect(im, p.s);
	OK(r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED, "a greeting with BADCHARSET connects (%d)", r);
	mailimap_free(im);		/* closes p.s */
	waitpid(p.pid, NULL, 0);

	p = serve(caps);
	im = mailimap_new(0, NULL);
	pl_stream_limits(p.s, 0, 1);
	r = mailimap_connect(im, p.s);
	OK(r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED && mailimap_has_extension(im, "IDLE"),
	    "the greeting's CAPABILITY code is kept");
	mailimap_free(im);
	waitpid(p.pid, NULL, 0);

	p = serve(after);
	pl_stream_limits(p.s, 0, 1);
	command(p.s);
	OK(mailstream_read_line(p.s, line) != NULL && strstr(line->str, "BADCHARSET") != NULL,
	    "after a command, the first line is an answer, as it came");
	done(&p);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "* OK " a byte every 0.2 s, for 10 s, then the end of the line. */
static void
trickle(int fd, const void *arg)
{
	static const char head[] = "* OK ";

	(void)arg;
	for (int i = 0; i < 50; i++) {
		if (write(fd, i < 5 ? head + i : "x", 1) < 0)
			_exit(0);
		usleep(200000);
	}
	if (write(fd, "\r\n", 2) < 0)
		_exit(0);
	sleep(5);
}

/* 128 KiB in lines of 64 bytes, 8 KiB every 0.1 s: 80 KiB/s, 1.6 s. */
static void
steady(int fd, const void *arg)
{
	char line[64];

	(void)arg;
	memset(line, 'y', sizeof line - 2);
	memcpy(line + sizeof line - 2, "\r\n", 2);
	for (int i = 0; i < 16; i++) {
		for (int j = 0; j < 8192 / 64; j++)
			if (write(fd, line, sizeof line) < 0)
				_exit(0);
		usleep(100000);
	}
	sleep(5);
}

/* IDLE: "+ idling", then silence for 1.5 s, then news; after the next
 * command (DONE), its reply. */
static void
idle(int fd, const void *arg)
{
	char c[64];

	(void)arg;
	if (write(fd, "+ idling\r\n", 10) < 0)
		_exit(0);
	usleep(1500000);
	if (write(fd, "* 1 EXISTS\r\n", 12) < 0 || read(fd, c, sizeof c) <= 0 ||
	    write(fd, "a OK done\r\n", 11) < 0)
		_exit(0);
	sleep(5);
}

/* The pace of an answer: a server trickling bytes, each wait far shorter
 * than the timeout, is cut off at the answer's deadline; a long answer that
 * keeps the pace is not; a wait between commands (IDLE) is no answer. */
static void
test_pace(MMAPString *line)
{
	struct peer p = serve_fn(trickle, NULL);
	struct pollfd pfd;
	double t = now();
	int n;

	command(p.s);
	OK(mailstream_read_line(p.s, line) == NULL, "a trickled answer fails the stream");
	t = now() - t;
	OK(t >= 0.9 && t < 3, "... at its deadline: the timeout of 1 s (%.2f s)", t);
	OK(!strncmp(pl_stream_error(p.s), "the server is too slow: ", 24) &&
	    strstr(pl_stream_error(p.s), "of its answer in 1 s (an answer gets 1 s, and 1 s "
	    "more per 4 KiB)") != NULL, "... and says so: %s", pl_stream_error(p.s));
	kill(p.pid, SIGTERM);
	done(&p);

	p = serve_fn(steady, NULL);
	t = now();
	command(p.s);
	n = lines(p.s, line, 2048);
	OK(n == 2048, "128 KiB at 80 KiB/s, longer than the timeout, comes whole (%d lines, "
	    "%.2f s, %s)", n, now() - t, pl_stream_error(p.s));
	kill(p.pid, SIGTERM);
	done(&p);

	p = serve_fn(idle, NULL);
	command(p.s);
	OK(mailstream_read_line(p.s, line) != NULL && !strncmp(line->str, "+ idling", 8),
	    "IDLE: the continuation");
	pfd.fd = mailstream_low_get_fd(mailstream_get_low(p.s));
	pfd.events = POLLIN;
	OK(poll(&pfd, 1, 3000) == 1, "IDLE: news after 1.5 s of silence");
	command(p.s);
	OK(mailstream_read_line(p.s, line) != NULL && !strncmp(line->str, "* 1 EXISTS", 10) &&
	    mailstream_read_line(p.s, line) != NULL && !strncmp(line->str, "a OK", 4),
	    "IDLE: the wait between commands counts against no answer (%s)",
	    pl_stream_error(p.s));
	kill(p.pid, SIGTERM);
	done(&p);
}

int
main(void)
{
	MMAPString *line = mmap_string_new("");

	signal(SIGPIPE, SIG_IGN);
	test_bytes(line);
	test_next_answer(line);
	test_line_max(line);
	test_imap_lines(line);
	test_literals(line);
	test_greeting_clean();
	test_greeting_session(line);
	test_pace(line);
	mmap_string_free(line);
	return tap_done();
}
