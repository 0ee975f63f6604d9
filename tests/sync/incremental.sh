#!/bin/sh
# Incremental IMAP sync: later syncs fetch only the new messages (counted
# on the server's side from Dovecot's body_count), leave the files already
# there alone, and a sync with nothing new fetches nothing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
need_sync
start_dovecot || { nok "dovecot starts"; exit 1; }
fill INBOX 100
imap create Lists
fill Lists 20 500
write_sync_config "$(account inc imaps 'folders = INBOX, Lists')"

psync
expect_eq "first sync: exit 0" "$rc" 0
expect_match "... 120 new" "$out" '^inc: 120 new '
ls -i "$MAILDIR"/inc/INBOX/cur | sort >"$T/before"

fill INBOX 25 101
fill Lists 3 521
dlog_mark
psync
expect_eq "second sync: exit 0" "$rc" 0
expect_match "... says 28 new" "$out" '^inc: 28 new '
expect_eq "... the server sent 28 message bodies, no more" "$(bodies_fetched)" 28
check_same "INBOX after the second sync" inc INBOX
check_same "Lists after the second sync" inc Lists
ls -i "$MAILDIR"/inc/INBOX/cur | sort >"$T/after"
expect_eq "the 100 files of the first sync are untouched (same names, same inodes)" \
	"$(comm -23 "$T/before" "$T/after" | wc -l | tr -d ' ')" 0
expect_eq "the new ones are indexed, inbox unread" "$(nm count 'tag:inbox and tag:unread and path:inc/INBOX/**')" \
	"$(nm count 'path:inc/INBOX/**')"
expect_eq "... all 125 + 23 files" "$(nm count --output=files '*')" 148

dlog_mark
start=$(date +%s%N)
psync
end=$(date +%s%N)
expect_eq "nothing new: exit 0" "$rc" 0
expect_match "... 0 new, nothing changed" "$out" '^inc: 0 new \(0 B\), flags 0 in / 0 out, removed 0 here / 0 there, 0 uploaded'
expect_eq "... no message body fetched" "$(bodies_fetched)" 0
ms=$(((end - start) / 1000000))
echo "# a sync with nothing new took $ms ms (figures: bench/sync)"

# New mail in one folder only; the other is not read again.
fill Lists 1 530
dlog_mark
psync -q
expect_eq "one new message in Lists: exit 0" "$rc" 0
expect_eq "... one body fetched" "$(bodies_fetched)" 1
expect_eq "... Lists has 24" "$(local_count inc Lists)" 24
