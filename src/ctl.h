/* ctl.h — talking to the running daemon over its UNIX socket.
 *
 * The socket is $XDG_RUNTIME_DIR/paloma/daemon.sock (or the state directory
 * when there is no runtime directory), mode 0600.  The protocol is one line
 * per request, one line per answer:
 *   wake   → "ok"         the queue changed: look at it now
 *   flush  → "ok N"       make every waiting recipient due now
 *   status → "ok pid=… busy=…"   (busy: DNS lookups, connections and
 *             transactions in flight)
 *   cancel ID ADDRESS → "ok", or "error WHY"   give up on one recipient
 * Anything else is answered "error unknown request".  The socket is the
 * user's alone, but its lines are parsed like untrusted input all the same
 * (fuzzed by tests/fuzz/fuzz_queuefiles.c). */
#ifndef PALOMA_CTL_H
#define PALOMA_CTL_H

#include <stddef.h>

#include <sys/types.h>

#include "util.h"

/* A request line as the daemon reads it (pl_ctl_parse). */
enum pl_ctl_kind { PL_CTL_WAKE, PL_CTL_FLUSH, PL_CTL_CANCEL, PL_CTL_STATUS, PL_CTL_BAD };

struct pl_ctl_req {
	enum pl_ctl_kind kind;
	char *id, *addr;	/* cancel: pointers into the line */
	const char *why;	/* bad: "unknown request", "usage: cancel ID ADDRESS" */
};

/* Parses the request in line (what one read gave, NUL-terminated; cut at
 * its first CR or LF, in place).  Returns r->kind. */
enum pl_ctl_kind pl_ctl_parse(char *line, struct pl_ctl_req *r);

/* Path of the daemon's socket (static storage). */
const char *pl_ctl_path(void);

/* Sends one request and reads the answer into reply (may be NULL for no
 * wait).  Returns 0, or -1 when no daemon listens (errno ENOENT or
 * ECONNREFUSED) or the exchange failed. */
int pl_ctl_request(const char *req, char *reply, size_t len, int timeout_ms);

/* After a message was queued: wakes the daemon, or starts it (detached) when
 * none runs and autostart is on.  Never fails the caller: the message is
 * already safe; problems are reported on stderr when verbose. */
void pl_ctl_wake_or_start(const char *config_path, int autostart, int verbose);

/* The daemon helper's path: $PALOMA_LIBEXEC/paloma-daemon, else
 * <dir of this program>/../libexec/paloma/paloma-daemon, else LIBEXECDIR. */
void pl_helper_path(const char *name, char *out, size_t len);

/* Starts the helper program name (pl_helper_path) from the daemon:
 * "name [-c config] args…", stdin and stdout /dev/null, stderr appended to
 * log_path, a clean signal mask and default dispositions.  Returns its pid
 * (the caller reaps it), or 0 with *err the posix_spawn error. */
pid_t pl_spawn_helper(const char *name, const char *config, const char *const *args,
    const char *log_path, int *err);

#endif
