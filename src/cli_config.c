/* cli_config.c — `paloma config check`: validate the settings and print them. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int
cli_fail(const struct pl_err *e)
{
	fprintf(stderr, "paloma: %s\n", e->msg);
	return e->code ? e->code : 1;
}

int
cli_load_config(const struct pl_opts *o, struct pl_config *c)
{
	struct pl_err e;

	if (pl_config_load(c, o->config_path, o->config_path != NULL, &e) < 0)
		return cli_fail(&e);
	return 0;
}

int
cli_config(const struct pl_opts *o, int argc, char **argv)
{
	struct pl_config c;
	struct buf out = { 0 };
	int rc;

	if (argc > 1 || (argc == 1 && strcmp(argv[0], "check") != 0)) {
		fputs("usage: paloma config check\n", stderr);
		return EX_USAGE;
	}
	if ((rc = cli_load_config(o, &c)) != 0)
		return rc;
	pl_config_print(&c, &out);
	fwrite(out.p, 1, out.len, stdout);
	fprintf(stderr, "paloma: %s: %s\n", c.path,
	    c.found ? "settings are valid" : "no such file, using defaults");
	buf_free(&out);
	pl_config_free(&c);
	return 0;
}
