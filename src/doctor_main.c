/* doctor_main.c — paloma-doctor, run by `paloma doctor`:
 *
 *   paloma-doctor [-c FILE] [--json] [ACCOUNT]
 *
 * Exit status: 0 every check passed, 1 the worst is a WARN, 2 a FAIL;
 * EX_USAGE (64) for bad arguments or an unknown account, EX_CONFIG (78)
 * for a bad configuration. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "doctor.h"

static void
usage(FILE *f)
{
	fputs("usage: paloma [-c FILE] doctor [--json] [ACCOUNT]\n", f);
}

int
main(int argc, char **argv)
{
	const char *config_path = NULL, *name = NULL;
	const struct pl_account *only = NULL;
	struct pl_config cfg;
	struct pl_doc_report rep;
	struct pl_err e;
	int json = 0, status;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			config_path = argv[++i];
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' || name) {
			fprintf(stderr, "paloma doctor: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return EX_USAGE;
		} else {
			name = argv[i];
		}
	}
	memset(&cfg, 0, sizeof cfg);
	if (pl_config_load(&cfg, config_path, config_path != NULL, &e) < 0) {
		fprintf(stderr, "paloma: %s\n", e.msg);
		return e.code ? e.code : EX_CONFIG;
	}
	if (name && (only = pl_config_find_account(&cfg, name)) == NULL) {
		fprintf(stderr, "paloma doctor: no account '%s' in %s\n", name, cfg.path);
		pl_config_free(&cfg);
		return EX_USAGE;
	}
	if (cfg.naccounts == 0) {
		fprintf(stderr, "paloma doctor: no [account] in %s (see paloma.conf(5))\n",
		    cfg.path);
		pl_config_free(&cfg);
		return EX_CONFIG;
	}
	if (pl_doctor_run(&cfg, only, &rep, &e) < 0) {
		fprintf(stderr, "paloma doctor: %s\n", e.msg);
		pl_config_free(&cfg);
		return e.code ? e.code : EX_SOFTWARE;
	}
	pl_doctor_print(&rep, json, stdout);
	status = pl_doctor_status(&rep);
	pl_doctor_free(&rep);
	pl_config_free(&cfg);
	return status;
}
