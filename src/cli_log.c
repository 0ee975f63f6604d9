/* cli_log.c — `paloma log [--since DURATION] [WORD…]`: the delivery log, one
 * line per recipient per attempt, optionally only recent lines and lines
 * containing every WORD (a queue id, an address, "failed"…). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "log.h"
#include "paths.h"

static int
usage(void)
{
	fputs("usage: paloma log [--since DURATION] [WORD…]\n", stderr);
	return EX_USAGE;
}

int
cli_log(const struct pl_opts *o, int argc, char **argv)
{
	char path[4200], cutoff[32] = "", *line = NULL;
	size_t cap = 0;
	int nwords = 0;
	char **words = NULL;
	FILE *f;

	(void)o;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--since")) {
			long secs;
			if (i + 1 >= argc || parse_duration(argv[i + 1], &secs) < 0) {
				fprintf(stderr, "paloma: log: --since takes a duration like 30m, 2h, 3d\n");
				return usage();
			}
			pl_iso_time(pl_now() - secs, cutoff, sizeof cutoff);
			i++;
		} else if (argv[i][0] == '-') {
			return usage();
		} else {
			words = argv + i;
			nwords = argc - i;
			break;
		}
	}
	snprintf(path, sizeof path, "%s/delivery.log", pl_state_dir());
	f = fopen(path, "r");
	if (f == NULL) {
		if (errno == ENOENT) {
			puts("No deliveries logged yet.");
			return 0;
		}
		fprintf(stderr, "paloma: cannot read %s: %s\n", path, strerror(errno));
		return EX_IOERR;
	}
	while (getline(&line, &cap, f) > 0) {
		int show = 1;
		/* ISO 8601 UTC timestamps compare as strings */
		if (cutoff[0] && strncmp(line, cutoff, strlen(cutoff)) < 0)
			continue;
		for (int w = 0; w < nwords && show; w++)
			show = strstr(line, words[w]) != NULL;
		if (show)
			fputs(line, stdout);
	}
	free(line);
	fclose(f);
	return 0;
}
