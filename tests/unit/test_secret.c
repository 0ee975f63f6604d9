/* test_secret.c — password_command and oauth2_token_command (secret.c): word
 * splitting without a shell, the output captured with one newline stripped,
 * and every failure named by program and reason, never by the secret. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "secret.h"
#include "tap.h"

static struct pl_err err;

/* cmd splits into exactly the words of want (NULL-terminated). */
static void
splits(const char *cmd, const char *const *want, const char *what)
{
	char **argv = NULL;
	size_t i;
	int rc, same = 1;

	memset(&err, 0, sizeof err);
	rc = pl_split_words(cmd, &argv, &err);
	OK(rc == 0, "%s: splits (%s)", what, err.msg);
	for (i = 0; rc == 0 && want[i]; i++)
		if (argv[i] == NULL || strcmp(argv[i], want[i])) {
			printf("#   word %zu: got '%s', want '%s'\n", i, argv[i] ? argv[i] : "(end)",
			    want[i]);
			same = 0;
			break;
		}
	if (rc == 0 && same && argv[i] != NULL) {
		printf("#   extra word '%s'\n", argv[i]);
		same = 0;
	}
	OK(rc == 0 && same, "%s: the words", what);
	pl_free_words(argv);
}

static void
split_refused(const char *cmd, const char *want, const char *what)
{
	char **argv = (char **)1;
	int rc;

	memset(&err, 0, sizeof err);
	rc = pl_split_words(cmd, &argv, &err);
	OK(rc == -1 && err.code == EX_CONFIG && argv == NULL, "%s: refused, EX_CONFIG", what);
	STREQ(err.msg, want, "%s: message", what);
}

/* Runs cmd; on success *out is the output. */
static int
run(const char *cmd, int timeout_ms, char **out)
{
	memset(&err, 0, sizeof err);
	*out = NULL;
	return pl_run_secret_command_timeout(cmd, timeout_ms, out, &err);
}

int
main(void)
{
	char *out;
	int rc;

	/* Splitting. */
	splits("pass show mail/work", (const char *[]){ "pass", "show", "mail/work", NULL },
	    "plain words");
	splits("  a \t b\n c  ", (const char *[]){ "a", "b", "c", NULL }, "blanks around words");
	splits("echo 'a b' \"c d\"", (const char *[]){ "echo", "a b", "c d", NULL },
	    "single and double quotes keep blanks");
	splits("a'b c'd", (const char *[]){ "ab cd", NULL }, "quotes join the word around them");
	splits("a '' \"\"", (const char *[]){ "a", "", "", NULL }, "empty quotes are empty words");
	splits("'$HOME \\n \"x\"'", (const char *[]){ "$HOME \\n \"x\"", NULL },
	    "nothing is special inside single quotes");
	splits("\"a \\\"b\\\" \\\\ \\n $x\"", (const char *[]){ "a \"b\" \\ \\n $x", NULL },
	    "in double quotes only \\\" and \\\\ are escapes");
	splits("a\\ b \\'c \\\\", (const char *[]){ "a b", "'c", "\\", NULL },
	    "outside quotes a backslash makes the next character plain");
	splits("a;b | c > d", (const char *[]){ "a;b", "|", "c", ">", "d", NULL },
	    "; | > are plain characters");
	split_refused("echo 'open", "command has a quote that is not closed", "open single quote");
	split_refused("echo \"open \\\"", "command has a quote that is not closed",
	    "open double quote");
	split_refused("echo \\", "command ends with a lone backslash", "lone final backslash");
	split_refused("", "empty command", "empty string");
	split_refused("  \t ", "empty command", "only blanks");

	/* A password, one newline stripped. */
	rc = run("printf '%s\\n' 's3cr3t'", 5000, &out);
	OK(rc == 0, "printf a password: runs (%s)", err.msg);
	STREQ(out, "s3cr3t", "the password without its newline");
	free(out);
	rc = run("printf 'a\\n\\n'", 5000, &out);
	STREQ(rc == 0 ? out : NULL, "a\n", "only one trailing newline is stripped");
	free(out);
	rc = run("printf 'tok\\r\\n'", 5000, &out);
	STREQ(rc == 0 ? out : NULL, "tok", "a CRLF line end is stripped too");
	free(out);
	rc = run("printf 'no newline'", 5000, &out);
	STREQ(rc == 0 ? out : NULL, "no newline", "output without a newline kept whole");
	free(out);
	rc = run("cat", 5000, &out);
	OK(rc == -1 && strstr(err.msg, "cat: printed nothing"),
	    "stdin is /dev/null: cat ends at once, printing nothing is an error (%s)", err.msg);

	/* No shell. */
	rc = run("echo $HOME", 5000, &out);
	STREQ(rc == 0 ? out : NULL, "$HOME", "$HOME is not expanded");
	free(out);
	rc = run("echo a; echo b | tr a-z A-Z", 5000, &out);
	STREQ(rc == 0 ? out : NULL, "a; echo b | tr a-z A-Z", "; and | are arguments to echo");
	free(out);
	rc = run("echo *", 5000, &out);
	STREQ(rc == 0 ? out : NULL, "*", "no globbing");
	free(out);

	/* Failures: the program and the reason, never the output. */
	rc = run("sh -c 'echo hunter2; exit 3'", 5000, &out);
	OK(rc == -1 && err.code == EX_UNAVAILABLE && out == NULL, "exit 3: an error, no output");
	STREQ(err.msg, "sh: exit status 3", "exit 3: program and status");
	OK(strstr(err.msg, "hunter2") == NULL, "exit 3: the output is not in the message");
	rc = run("sh -c 'kill -TERM $$'", 5000, &out);
	STREQ(rc == -1 ? err.msg : NULL, "sh: killed by signal 15", "killed by a signal");
	rc = run("/nonexistent/getpass --account x", 5000, &out);
	OK(rc == -1 && err.code == EX_CONFIG, "a missing program: EX_CONFIG");
	STREQ(err.msg, "cannot run /nonexistent/getpass: No such file or directory",
	    "a missing program: named");
	rc = run("paloma-test-no-such-program", 5000, &out);
	OK(rc == -1 && strstr(err.msg, "cannot run paloma-test-no-such-program"),
	    "a program not in PATH: named (%s)", err.msg);
	rc = run("printf 'a\\000b'", 5000, &out);
	STREQ(rc == -1 ? err.msg : NULL, "printf: printed a NUL byte", "a NUL byte is refused");

	/* A command that hangs is killed at the timeout. */
	{
		struct timespec t0, t1;
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = run("sh -c 'printf partial; exec sleep 30'", 300, &out);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		OK(rc == -1 && out == NULL && err.code == EX_UNAVAILABLE, "hang: an error");
		STREQ(err.msg, "sh: no answer within 300 ms, killed", "hang: says timeout");
		OK(ms >= 250 && ms < 5000, "hang: killed after about 300 ms (%ld ms)", ms);
	}

	/* Output over 64 KB is cut: an error, not a truncated secret. */
	rc = run("head -c 65536 /dev/zero", 5000, &out);
	OK(rc == -1, "64 KB of NUL bytes refused (%s)", err.msg);
	rc = run("sh -c 'yes | head -c 65536'", 5000, &out);
	OK(rc == 0 && out && strlen(out) == 65535, "exactly 64 KB accepted, newline stripped");
	free(out);
	rc = run("sh -c 'yes | head -c 65537'", 5000, &out);
	OK(rc == -1 && out == NULL, "64 KB + 1 refused");
	STREQ(err.msg, "sh: printed more than 65536 bytes, killed", "64 KB + 1: the message");
	rc = run("yes", 5000, &out);
	STREQ(rc == -1 ? err.msg : NULL, "yes: printed more than 65536 bytes, killed",
	    "endless output: killed at the limit");

	rc = pl_run_secret_command("printf '%s\\n' pw", &out, &err);
	STREQ(rc == 0 ? out : NULL, "pw", "the 30 s default entry point");
	free(out);
	return tap_done();
}
