/* cli.h — the command-line faces of the `paloma` front end.  Each returns an
 * exit status (sysexits) and prints its own one-line errors. */
#ifndef PALOMA_CLI_H
#define PALOMA_CLI_H

#include "config.h"

/* Global options given before the command. */
struct pl_opts {
	const char *config_path;	/* -c FILE, or NULL */
	const char *prog;		/* "paloma" or "sendmail", for messages */
};

int cli_send(const struct pl_opts *o, int argc, char **argv);
int cli_queue(const struct pl_opts *o, int argc, char **argv);
int cli_config(const struct pl_opts *o, int argc, char **argv);
int cli_log(const struct pl_opts *o, int argc, char **argv);
/* Runs a helper program from libexec (paloma-daemon, …); returns only on error. */
int cli_exec_helper(const struct pl_opts *o, const char *name, int argc, char **argv);

/* Loads the config named by the options; prints the error and returns its
 * exit code, or 0. */
int cli_load_config(const struct pl_opts *o, struct pl_config *c);
/* Prints "paloma: msg" for an error and returns its code. */
int cli_fail(const struct pl_err *e);

#endif
