#!/bin/sh
# A server that drops the connection in the middle of a fetch (a proxy on
# loopback in front of Dovecot's IMAPS or POP3S port cuts it after some
# bytes, with a FIN or an RST): the sync fails with EX_TEMPFAIL naming the
# host, keeps what it stored, and the next sync completes without
# duplicates.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
need_sync
start_dovecot || { nok "dovecot starts"; exit 1; }
fill INBOX 500
bytes=$(imap dump INBOX "$T/all" && cat "$T"/all/* | wc -c | tr -d ' ')
echo "# 500 messages, $bytes bytes"

# IMAPS, cut cleanly after 60% of the mail (past the first batches).
start_proxy 127.0.0.1 "$IMAPS_PORT" --cut $((bytes * 6 / 10)) --times 1 --mode close
write_sync_config "$(account dr "imaps://localhost:$PROXY_PORT")"
psync dr
expect_eq "connection closed mid-fetch: exit 75 (EX_TEMPFAIL)" "$rc" 75
expect_match "... one line naming the account and the host" "$err" '^paloma sync: dr: .*localhost'
expect_match "... (the proxy did cut it)" "$(cat "$PROXY_LOG")" 'conn 1 cut after'
n=$(local_count dr)
echo "# stored before the cut: $n"
check "... not all stored" [ "$n" -lt 500 ]
check "... the batches stored before the cut are kept" [ "$n" -gt 0 ]
expect_eq "... no UID twice" "$(uid_dups dr)" ""
psync dr
expect_eq "the next sync: exit 0" "$rc" 0
check_same "after a cut and a sync" dr INBOX
expect_eq "... byte for byte" "$(same_content dr INBOX)" ""
distinct=$(imap msgids INBOX | awk '$0 == "-" { n++; next } !s[$0]++ { n++ } END { print n }')
expect_eq "... notmuch: every message once" "$(nm count 'path:dr/**')" "$distinct"

# Cut with a reset, twice in a row, during a flag change and new mail.
fill INBOX 100 501
imap store INBOX 1:50 '+\Seen'
PROXY_REUSE=$PROXY_PORT start_proxy 127.0.0.1 "$IMAPS_PORT" --cut 40000 --times 2 --mode reset
psync dr
expect_eq "connection reset: exit 75" "$rc" 75
psync dr
expect_eq "reset again: exit 75" "$rc" 75
expect_eq "... no UID twice" "$(uid_dups dr)" ""
psync dr
expect_eq "then a sync: exit 0" "$rc" 0
check_same "after two resets" dr INBOX
expect_eq "... the flags arrived" "$(local_files dr | grep -c ',U=[0-9]*:2,S$')" 50

# POP3S, cut in the middle of a RETR.
start_proxy 127.0.0.1 "$POP3S_PORT" --cut $((bytes / 2)) --times 1 --mode close
write_sync_config "$(account dp "pop3s://localhost:$PROXY_PORT")"
psync dp
expect_eq "POP3 cut mid-RETR: exit 75" "$rc" 75
expect_match "... says so" "$err" '^paloma sync: dp: .*localhost'
psync dp
expect_eq "the next POP3 sync: exit 0" "$rc" 0
check_same "POP3 after a cut" dp INBOX
