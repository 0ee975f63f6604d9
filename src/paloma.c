/* paloma.c — the `paloma` command: global options, then one face.
 *
 *   paloma [-c FILE] send …       queue a message (also: invoked as sendmail)
 *   paloma [-c FILE] queue …      look at and manage the queue (also: mailq)
 *   paloma [-c FILE] config check validate and print the settings
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef PALOMA_VERSION
#define PALOMA_VERSION "0.1"
#endif

static void
usage(FILE *f)
{
	fputs("usage: paloma [-c FILE] COMMAND [ARG…]\n"
	    "\n"
	    "commands:\n"
	    "  send [-t] [-f ADDR] [-F NAME] [-i] [-v] [RCPT…]   queue a message from stdin\n"
	    "  queue [list | show ID | remove ID | flush]        the outgoing queue\n"
	    "  config check                                      validate and print settings\n"
	    "  version                                           print the version\n"
	    "\n"
	    "Invoked as `sendmail`, paloma takes sendmail's flags; as `mailq`, it lists\n"
	    "the queue.  See paloma(1) and paloma.conf(5).\n", f);
}

int
main(int argc, char **argv)
{
	struct pl_opts o = { NULL, "paloma" };
	const char *base = strrchr(argv[0], '/');
	int i = 1;

	base = base ? base + 1 : argv[0];
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
		} else {
			fprintf(stderr, "paloma: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	if (!strcmp(argv[i], "send"))
		return cli_send(&o, argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "queue"))
		return cli_queue(&o, argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "config"))
		return cli_config(&o, argc - i - 1, argv + i + 1);
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
