#!/bin/sh
# A UIDVALIDITY change resyncs the folder without duplicating mail: once
# with the same UIDs (doveadm mailbox update --uid-validity), once with the
# messages renumbered from 1 (Dovecot's uidlist and index thrown away) while
# some were expunged and others added.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
need_sync
start_dovecot || { nok "dovecot starts"; exit 1; }
fill INBOX 60
write_sync_config "$(account uv imaps)"

psync
expect_eq "first sync: exit 0" "$rc" 0
check_same "before" uv INBOX
before=$(nm count '*')

old=$(imap uidvalidity INBOX)
set_uidvalidity INBOX $((old + 77))
expect_eq "(the server's UIDVALIDITY changed)" "$(imap uidvalidity INBOX)" $((old + 77))
dlog_mark
psync
expect_eq "new UIDVALIDITY, same UIDs: exit 0" "$rc" 0
echo "# bodies fetched again: $(bodies_fetched) of 60"
check_same "after a UIDVALIDITY change" uv INBOX
expect_eq "notmuch: as many messages as before" "$(nm count '*')" "$before"
expect_eq "notmuch: no stale files" "$(nm count --output=files '*')" 60

# Renumbered: expunge 10, drop Dovecot's UID list, add 5.
imap expunge INBOX 1:10
rm -f "$MAILHOME"/dovecot-uidlist "$MAILHOME"/dovecot.index*
dadm force-resync -u test INBOX
fill INBOX 5 61
expect_eq "(renumbered from 1)" "$(imap uids INBOX | sed -n 1p)" 1
expect_eq "(55 messages now)" "$(imap count INBOX)" 55
psync
expect_eq "renumbered, 10 gone, 5 new: exit 0" "$rc" 0
check_same "after renumbering" uv INBOX
expect_eq "... byte for byte" "$(same_content uv INBOX)" ""
expect_eq "notmuch: no stale files" "$(nm count --output=files '*')" 55
expect_eq "notmuch: the expunged are gone" "$(nm count id:mk-tricky-1-2@example.test)" 0

psync
expect_match "and then a sync with nothing new" "$out" '^uv: 0 new '
