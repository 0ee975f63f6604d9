/* log.h — the daemon's log and the delivery log.
 *
 * daemon.log: what the daemon did and why, one timestamped line each.
 * delivery.log: one line per recipient per attempt (doc/QUEUE.md), read by
 * `paloma log` and the client's outbox:
 *   2026-11-23T08:28:13Z id=… rcpt=<a@b> result=delivered status=2.0.0
 *     mx=mx1.example.test ip=127.0.0.2 tls="TLSv1.3 TLS_AES_256_GCM_SHA384"
 *     reply="250 2.0.0 Ok: queued as 4XyZ" remote_id=4XyZ
 * and, through a relay, via=relay or via=fallback (mx= is then the relay);
 * last tls_policy=dane|mta-sts|verified|opportunistic|none when a server
 * was reached
 * (one line; values with spaces are quoted, quotes and controls escaped). */
#ifndef PALOMA_LOG_H
#define PALOMA_LOG_H

#include <stdint.h>

#include "util.h"

/* Opens (appends to) the daemon log; with also_stderr each line goes to
 * stderr too (--foreground, --once). */
int pl_log_open(const char *path, int also_stderr, struct pl_err *e);
void pl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct pl_delivery_rec {
	int64_t when;
	const char *id, *rcpt, *result, *status, *mx, *ip, *tls, *reply, *remote_id;
	const char *via;	/* "relay" (transport = relay), "fallback" (the
				 * account's fallback_relay), NULL: direct */
	const char *tls_policy;	/* what protected it: "dane", "mta-sts",
				 * "verified" (a relay), "encrypt", "opportunistic",
				 * "none" (queue.h) */
};

/* Appends one line to the delivery log (opened once, O_APPEND, 0600). */
void pl_delivery_log(const char *path, const struct pl_delivery_rec *r);
/* Formats a record as one line (without newline) into out. */
void pl_delivery_format(const struct pl_delivery_rec *r, struct buf *out);

/* "2026-11-23T08:28:13Z" */
void pl_iso_time(int64_t t, char *out, size_t len);

#endif
