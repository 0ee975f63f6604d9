/* probe-libs.c — built by `make`: links one call of each core library, so a
 * missing library is named at build time.  Prints their versions. */
#include <ares.h>
#include <curses.h>
#include <opendkim/dkim.h>	/* not src/dkim.h, which -Isrc finds first */
#include <libetpan/libetpan.h>
#include <notmuch.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>
#include <stdio.h>

int
main(void)
{
	printf("libraries: OpenSSL %s, c-ares %s, libopendkim %lx, ncurses %s, "
	    "libetpan %d.%d, notmuch %d.%d\n",
	    OpenSSL_version(OPENSSL_VERSION_STRING), ares_version(NULL),
	    (unsigned long)dkim_libversion(), curses_version(),
	    libetpan_get_version_major(), libetpan_get_version_minor(),
	    LIBNOTMUCH_MAJOR_VERSION, LIBNOTMUCH_MINOR_VERSION);
	return 0;
}
