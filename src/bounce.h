/* bounce.h — the daemon's reports to the sender: builds an RFC 3464 report
 * (dsn.c) for the recipients of an entry that failed (state failed) or are
 * delayed (state deferred), delivers it into the sender account's INBOX
 * (maildir.c) and indexes it with tags inbox, unread, bounce (index.c). */
#ifndef PALOMA_BOUNCE_H
#define PALOMA_BOUNCE_H

#include "config.h"
#include "queue.h"
#include "util.h"

enum pl_bounce_kind { PL_BOUNCE_FAILED, PL_BOUNCE_DELAYED };

int pl_bounce_write(const struct pl_config *c, const struct pl_envelope *env,
    enum pl_bounce_kind kind, struct pl_err *e);

#endif
