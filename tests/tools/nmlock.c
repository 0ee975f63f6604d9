/* nmlock — holds a notmuch database open for writing (the Xapian write
 * lock) for a while, as `notmuch new` or a tagging MUA would.
 *
 *   nmlock DB_PATH SECONDS
 *
 * Creates the database when missing, prints "locked" (flushed) once it holds
 * the lock, sleeps, closes.  Exit 1 when the database cannot be opened. */
#include <notmuch.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	notmuch_database_t *db;
	notmuch_status_t st;
	char *msg = NULL;

	if (argc != 3) {
		fprintf(stderr, "usage: nmlock DB_PATH SECONDS\n");
		return 2;
	}
	st = notmuch_database_open_with_config(argv[1], NOTMUCH_DATABASE_MODE_READ_WRITE, "",
	    NULL, &db, &msg);
	if (st == NOTMUCH_STATUS_NO_DATABASE) {
		free(msg);
		msg = NULL;
		st = notmuch_database_create_with_config(argv[1], "", NULL, &db, &msg);
	}
	if (st != NOTMUCH_STATUS_SUCCESS) {
		fprintf(stderr, "nmlock: %s: %s\n", argv[1], msg ? msg : notmuch_status_to_string(st));
		free(msg);
		return 1;
	}
	free(msg);
	printf("locked\n");
	fflush(stdout);
	sleep((unsigned)atoi(argv[2]));
	notmuch_database_close(db);
	notmuch_database_destroy(db);
	return 0;
}
