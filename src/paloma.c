/* paloma.c — the `paloma` command: global options, then one face.
 *
 *   paloma [-c FILE] send …       queue a message (also: invoked as sendmail)
 *   paloma [-c FILE] queue …      look at and manage the queue (also: mailq)
 *   paloma [-c FILE] config check validate and print the settings
 *   paloma [-c FILE] log …        the delivery log
 *   paloma [-c FILE] daemon …     runs libexec/paloma/paloma-daemon
 *   paloma [-c FILE] sync …       runs libexec/paloma/paloma-sync
 *   paloma [-c FILE] dkim …       runs libexec/paloma/paloma-dkim
 *   paloma [-c FILE] doctor …     runs libexec/paloma/paloma-doctor
 *   paloma [-c FILE]              the terminal client, libexec/paloma/paloma-ui
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ctl.h"

#ifndef PALOMA_VERSION
#define PALOMA_VERSION "0.1"
#endif

static void
usage(FILE *f)
{
	fputs("usage: paloma [-c FILE] [COMMAND [ARG…]]\n"
	    "\n"
	    "Without a command, paloma opens the terminal client.\n"
	    "\n"
	    "commands:\n"
	    "  send [-t] [-f ADDR] [-F NAME] [-i] [-v] [RCPT…]   queue a message from stdin\n"
	    "  queue [list | show ID | remove ID | cancel ID ADDR | flush]\n"
	    "                                                    the outgoing queue\n"
	    "  daemon [--foreground] [--once]                    deliver the queue\n"
	    "  sync [-q] [ACCOUNT…]                              read mail in (IMAP, POP3)\n"
	    "  dkim keygen DOMAIN [--selector S] | check [ACCOUNT]  DKIM keys and records\n"
	    "  doctor [--json] [ACCOUNT]                         will my mail arrive?\n"
	    "  log [--since DURATION] [WORD…]                    the delivery log\n"
	    "  config check                                      validate and print settings\n"
	    "  version                                           print the version\n"
	    "\n"
	    "Invoked as `sendmail`, paloma takes sendmail's flags; as `mailq`, it lists\n"
	    "the queue.  See paloma(1) and paloma.conf(5).\n", f);
}

int
cli_exec_helper(const struct pl_opts *o, const char *name, int argc, char **argv)
{
	char path[4300];
	char **args = xcalloc((size_t)argc + 4, sizeof *args);
	int n = 0;

	pl_helper_path(name, path, sizeof path);
	args[n++] = (char *)name;
	if (o->config_path) {
		args[n++] = "-c";
		args[n++] = (char *)o->config_path;
	}
	for (int i = 0; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	execv(path, args);
	fprintf(stderr, "paloma: cannot run %s: %s (is paloma installed completely?)\n", path,
	    strerror(errno));
	free(args);
	return EX_UNAVAILABLE;
}

int
main(int argc, char **argv)
{
	struct pl_opts o = { NULL, "paloma" };
	const char *base = strrchr(argv[0], '/');
	int i = 1;

	base = base ? base + 1 : argv[0];
	/* Everything paloma and its helpers create — queue, state, Maildir,
	 * the notmuch database Xapian writes, drafts — is the user's alone,
	 * whatever umask the shell or cron had. */
	umask(077);
	if (strcmp(base, "sendmail") == 0) {
		o.prog = "sendmail";
		return cli_send(&o, argc - 1, argv + 1);
	}
	if (strcmp(base, "mailq") == 0) {
		char *list[] = { "list", NULL };
		o.prog = "mailq";
		return cli_queue(&o, 1, list);
	}
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			o.config_path = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2]) {
			o.config_path = argv[i] + 2;
			i++;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			puts("paloma " PALOMA_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "-c")) {
			fprintf(stderr, "paloma: -c needs a config FILE\n");
			return EX_USAGE;
		} else {
			fprintf(stderr, "paloma: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (i >= argc)		/* no command: the terminal client */
		return cli_exec_helper(&o, "paloma-ui", 0, argv + i);
	if (!strcmp(argv[i], "send"))
		return cli_send(&o, argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "queue"))
		return cli_queue(&o, argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "config"))
		return cli_config(&o, argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "log"))
		return cli_log(&o, argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "daemon"))
		return cli_exec_helper(&o, "paloma-daemon", argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "sync"))
		return cli_exec_helper(&o, "paloma-sync", argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "dkim"))
		return cli_exec_helper(&o, "paloma-dkim", argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "doctor"))
		return cli_exec_helper(&o, "paloma-doctor", argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "version")) {
		puts("paloma " PALOMA_VERSION);
		return 0;
	}
	if (!strcmp(argv[i], "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "paloma: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return EX_USAGE;
}
