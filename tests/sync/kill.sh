#!/bin/sh
# kill -9 during a first sync of 2,000 messages, three times at different
# points, then a sync to the end: no message lost, none twice (files,
# Message-IDs, notmuch); a second sync of the account while one runs is
# refused with EX_TEMPFAIL and leaves the first alone.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
need_sync
start_dovecot || { nok "dovecot starts"; exit 1; }
# 2,000 messages straight into Dovecot's Maildir (quicker than APPEND).
mkmail --maildir "$MAILHOME" --owner 8:8 --count 2000 >/dev/null
dadm force-resync -u test INBOX
expect_eq "the server holds 2000" "$(imap count INBOX)" 2000
write_sync_config "$(account k imaps)"
export PALOMA CONFIG
D="$MAILDIR/k/INBOX"

r=$(psync_kill 1 "$D")
echo "# first run: $r"
expect_match "killed as soon as the first files appeared" "$r" '^killed'
expect_eq "... no UID twice" "$(uid_dups k)" ""
n1=$(local_count k)

r=$(psync_kill $((n1 + 400)) "$D")
echo "# second run: $r"
expect_match "killed again further on" "$r" '^killed'
expect_eq "... no UID twice" "$(uid_dups k)" ""
n2=$(local_count k)

r=$(psync_kill $((n2 + 1)) "$D")
echo "# third run: $r"
expect_match "killed a third time right after it stored one" "$r" '^killed'
expect_eq "... no UID twice" "$(uid_dups k)" ""

# A second sync while one runs: refused, the first goes on.
n3=$(local_count k)
(setsid "$PALOMA" -c "$CONFIG" sync -q >"$T/bg.out" 2>"$T/bg.err"; echo $? >"$T/bg.rc") &
wait_for '[ "$(local_count k)" -gt '"$n3"' ] || [ -s "$T/bg.rc" ]' 60
psync
if [ -s "$T/bg.rc" ]; then
	skip "a second sync at the same time is refused" "the first ended before the second started"
else
	expect_eq "a second sync at the same time: exit 75" "$rc" 75
	expect_match "... says another sync runs" "$err" '^paloma sync: k: .*(sync|lock|running|busy)'
fi
wait_for '[ -s "$T/bg.rc" ]' 300
expect_eq "the first sync finishes: exit 0" "$(cat "$T/bg.rc")" 0
expect_eq "... quietly" "$(cat "$T/bg.out" "$T/bg.err")" ""

check_same "after three kills and a full sync" k INBOX
expect_eq "no UID twice" "$(uid_dups k)" ""
distinct=$(imap msgids INBOX | awk '$0 == "-" { n++; next } !s[$0]++ { n++ } END { print n }')
expect_eq "notmuch: every message once" "$(nm count '*')" "$distinct"
expect_eq "notmuch: 2000 files" "$(nm count --output=files '*')" 2000
expect_eq "all tagged inbox unread" "$(nm count tag:inbox and tag:unread)" "$distinct"
psync
expect_match "then nothing new" "$out" '^k: 0 new '
expect_eq "byte for byte" "$(same_content k INBOX)" ""
