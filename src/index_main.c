/* index_main.c — paloma-index: adds one delivered file to the notmuch
 * database with tags.  The daemon runs it after writing a report, so that
 * the daemon neither links notmuch (Xapian, GMime, GLib: memory and start-up
 * time) nor stalls its event loop while another program holds the database.
 *
 *   paloma-index MAILDIR_ROOT FILE [TAG…]
 *
 * Exit 0 when indexed; otherwise the sysexits code of the failure, logged in
 * daemon.log (the file stays in the Maildir: `notmuch new` finds it later). */
#include <stdio.h>
#include <stdlib.h>

#include "index.h"
#include "log.h"
#include "paths.h"

int
main(int argc, char **argv)
{
	char logpath[4200];
	struct pl_err e;

	if (argc < 3) {
		fputs("usage: paloma-index MAILDIR_ROOT FILE [TAG...]\n", stderr);
		return EX_USAGE;
	}
	snprintf(logpath, sizeof logpath, "%s/daemon.log", pl_state_dir());
	if (pl_log_open(logpath, 0, &e) < 0)
		pl_log_open(NULL, 0, &e);
	if (pl_index_add(argv[1], argv[2], (const char *const *)argv + 3, &e) < 0) {
		pl_log("%s not indexed (notmuch new will find it): %s", argv[2], e.msg);
		return e.code ? e.code : 1;
	}
	return 0;
}
