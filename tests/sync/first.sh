#!/bin/sh
# First sync over IMAPS of a few hundred tricky messages in two folders:
# every message arrives once, byte for byte (CRLF → LF), named with its UID
# and size, indexed by notmuch with inbox, unread and the new_tags.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
need_sync
start_dovecot || { nok "dovecot starts"; exit 1; }

fill INBOX 300
imap create Archive
fill Archive 60 1001 7
imap create Empty
expect_eq "the server holds 300 + 60" "$(imap count INBOX) $(imap count Archive)" "300 60"

write_sync_config "$(account work imaps 'folders = INBOX, Archive, Empty
new_tags = synced corpus')"
psync
expect_eq "paloma sync: exit 0" "$rc" 0
expect_eq "... nothing on stderr" "$err" ""
expect_match "... a summary line for the account" "$out" '^work: 360 new \([0-9.]+ [KM]?B\), .*3 folders in [0-9.]+ s$'
case $out in *"$(printf '\r')"*) nok "... no progress line when not on a terminal" "$out" ;;
*) ok "... no progress line when not on a terminal" ;; esac

check_same "INBOX" work INBOX
check_same "Archive" work Archive
check "Empty: a folder with no mail" [ -d "$MAILDIR/work/Empty/cur" ]
expect_eq "Empty: no files" "$(local_count work Empty)" 0
expect_eq "INBOX: every message byte for byte" "$(same_content work INBOX)" ""
expect_eq "Archive: every message byte for byte" "$(same_content work Archive)" ""
expect_eq "nothing left in tmp/" "$(ls -A "$MAILDIR/work/INBOX/tmp" "$MAILDIR/work/Archive/tmp" 2>/dev/null | grep -v '^$' | grep -v ':$')" ""

# notmuch: one message per distinct Message-ID (messages without one are
# each their own), every one inbox unread + the new tags.
distinct=$( { imap msgids INBOX; imap msgids Archive; } | awk '$0 == "-" { n++; next } !s[$0]++ { n++ } END { print n }')
expect_eq "notmuch count == distinct messages on the server ($distinct)" "$(nm count '*')" "$distinct"
expect_eq "notmuch count --output=files == 360" "$(nm count --output=files '*')" 360
expect_eq "all tagged inbox" "$(nm count tag:inbox)" "$distinct"
expect_eq "all tagged unread" "$(nm count tag:unread)" "$distinct"
expect_eq "all tagged with new_tags (synced, corpus)" "$(nm count tag:synced and tag:corpus)" "$distinct"
expect_eq "the duplicate Message-ID is one message with two files" \
	"$(nm count --output=files id:mk-tricky-1-1@example.test)" 2
expect_eq "UTF-8 encoded subjects are searchable" \
	"$(nm count 'path:work/INBOX/** and subject:"Grüße aus Köln"')" 15
expect_eq "KOI8-R subjects decoded" "$(nm count 'path:work/INBOX/** and subject:Привет')" 15
expect_eq "Shift_JIS subjects decoded" "$(nm count 'path:work/INBOX/** and subject:日本語の件名です')" 15
expect_eq "threads: a reply is in its root's thread" \
	"$(nm search --output=threads id:mk-tricky-1-38@example.test)" \
	"$(nm search --output=threads id:mk-tricky-1-20@example.test)"
check "notmuch database at \$MAILDIR/.notmuch" test -d "$MAILDIR/.notmuch"
check "sync state under \$XDG_STATE_HOME/paloma/sync/work" test -d "$XDG_STATE_HOME/paloma/sync/work"
expect_eq "state dir is 0700" "$(stat -c %a "$XDG_STATE_HOME/paloma/sync/work")" 700

# Again, quietly: nothing new, nothing printed.
psync -q
expect_eq "second sync -q: exit 0" "$rc" 0
expect_eq "... prints nothing" "$out$err" ""
expect_eq "... still 300 files" "$(local_count work INBOX)" 300

# folders = *: every folder of the server, Sent included.
write_sync_config "$(account all imaps 'folders = *')"
psync all
expect_eq "folders = *: exit 0" "$rc" 0
expect_match "... 360 new in 4 folders (INBOX, Archive, Empty, Sent)" "$out" '^all: 360 new .* 4 folders'
check_same "folders = *, Archive" all Archive

# On a terminal: a progress line (account, folder, done/total) on stderr,
# cleared before the summary.
write_sync_config "$(account tty imaps)"
script -qec "'$PALOMA' -c '$CONFIG' sync tty" "$T/typescript" >/dev/null 2>&1
rc=$?
expect_eq "on a terminal: exit 0" "$rc" 0
tty_out=$(tr '\r' '\n' <"$T/typescript")
expect_match "... a progress line: account, folder, done/total" "$tty_out" 'tty INBOX +[0-9]+/300 '
expect_match "... reaching 300/300" "$tty_out" 'tty INBOX +300/300 '
expect_match "... then the summary" "$tty_out" '^(.\[K)?tty: 300 new '
