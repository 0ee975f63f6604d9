/* report — builds a delivery report and delivers it like the daemon does
 * (pl_dsn_deliver: Maildir, then notmuch), for tests/delivery/report.sh.
 *
 *   report [-w LOCK_WAIT_MS] ROOT ACCOUNT SENDER ORIGFILE HELO \
 *          RCPT ACTION STATUS REMOTE DIAG [RCPT ACTION STATUS REMOTE DIAG…]
 *
 * REMOTE and DIAG may be "" (none).  The envelope's queue id is
 * 0123456789abcdef, created a day before now.  Prints the delivered file's
 * path.  Exit 0: delivered and indexed; 3: delivered, not indexed (the
 * error on stderr); 1: not delivered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "index.h"
#include "report.h"

int
main(int argc, char **argv)
{
	struct pl_envelope env = { 0 };
	struct pl_dsn_rcpt rc[16];
	struct pl_dsn_params p = { 0 };
	struct pl_err e = { 0 };
	char *orig = NULL, *path = NULL;
	size_t olen = 0, n = 0;
	int c, rv;

	while ((c = getopt(argc, argv, "w:")) != -1) {
		if (c != 'w')
			return 2;
		pl_index_set_lock_wait(atol(optarg));
	}
	argc -= optind;
	argv += optind;
	if (argc < 10 || (argc - 5) % 5 != 0 || (argc - 5) / 5 > 16) {
		fprintf(stderr, "usage: report [-w MS] ROOT ACCOUNT SENDER ORIGFILE HELO "
		    "(RCPT ACTION STATUS REMOTE DIAG)...\n");
		return 2;
	}
	if (pl_read_file(argv[3], 1 << 24, &orig, &olen) < 0) {
		perror(argv[3]);
		return 2;
	}
	for (int i = 5; i + 4 < argc; i += 5, n++)
		rc[n] = (struct pl_dsn_rcpt){
			.addr = argv[i], .action = argv[i + 1], .status = argv[i + 2],
			.remote = *argv[i + 3] ? argv[i + 3] : NULL,
			.diagnostic = *argv[i + 4] ? argv[i + 4] : NULL,
			.last_attempt = pl_now() - 60,
			.retry_until = pl_now() + 4 * 86400,
		};
	snprintf(env.id, sizeof env.id, "0123456789abcdef");
	env.sender = argv[2];
	env.created = pl_now() - 86400;
	p = (struct pl_dsn_params){ .env = &env, .rcpt = rc, .nrcpt = n,
		.reporting_mta = argv[4], .orig = orig, .orig_len = olen, .date = pl_now() };
	rv = pl_dsn_deliver(&p, argv[0], argv[1], &path, &e);
	if (path)
		printf("%s\n", path);
	if (rv != 0)
		fprintf(stderr, "report: %s\n", e.msg);
	free(path);
	free(orig);
	return rv == 0 ? 0 : rv == 1 ? 3 : 1;
}
