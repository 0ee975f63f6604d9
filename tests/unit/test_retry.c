/* test_retry.c — the retry policy (scheduler.c pl_retry_next): the
 * schedule, its last interval repeating, and the lifetime limit. */
#include <string.h>

#include "config.h"
#include "scheduler.h"
#include "tap.h"

int
main(void)
{
	struct pl_config c;
	struct pl_err e;
	const int64_t t0 = 1800000000;

	OK(pl_config_parse(&c, "t", "[delivery]\nretry_schedule = 1m 5m 15m\nmax_lifetime = 1d\n",
	    &e) == 0, "a config with a short schedule");
	OK(pl_retry_next(&c, t0, 1, t0 + 10) == t0 + 10 + 60, "first failure: 1m later");
	OK(pl_retry_next(&c, t0, 2, t0 + 100) == t0 + 100 + 300, "second failure: 5m later");
	OK(pl_retry_next(&c, t0, 3, t0 + 500) == t0 + 500 + 900, "third failure: 15m later");
	OK(pl_retry_next(&c, t0, 9, t0 + 5000) == t0 + 5000 + 900, "later failures: the last interval repeats");
	OK(pl_retry_next(&c, t0, 0, t0) == t0 + 60, "attempts 0 counts as the first");
	OK(pl_retry_next(&c, t0, 9, t0 + 86400 - 100) == t0 + 86400,
	    "never past the lifetime: the last attempt is when it ends");
	OK(pl_retry_next(&c, t0, 9, t0 + 86400) == 0, "at the end of the lifetime: expired");
	OK(pl_retry_next(&c, t0, 9, t0 + 90000) == 0, "past it: expired");
	pl_config_free(&c);

	OK(pl_config_parse(&c, "t", "", &e) == 0, "defaults");
	OK(pl_retry_next(&c, t0, 7, t0 + 1000) == t0 + 1000 + 4 * 3600, "default: 4h after the 7th");
	OK(pl_retry_next(&c, t0, 20, t0 + 86400) == t0 + 86400 + 4 * 3600, "default: then every 4h");
	OK(pl_retry_next(&c, t0, 30, t0 + 5 * 86400) == 0, "default lifetime: 5 days");
	pl_config_free(&c);
	return tap_done();
}
