#!/bin/sh
# Copies of sent mail: `paloma send` keeps one in the account's sent folder
# (the server's \Sent folder once a sync has seen it), and the next sync
# APPENDs it there, marked seen, and renames the file to carry its UID;
# sent_folder names another server folder.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
need_sync
start_dovecot || { nok "dovecot starts"; exit 1; }
fill INBOX 5
imap create "Sent Items"
write_sync_config "$(account snd imaps)" "$(account other imaps 'sent_folder = Sent Items
address = other@example.test')"

psync
expect_eq "first sync: exit 0" "$rc" 0
expect_eq "(the server's Sent is empty)" "$(imap count Sent)" 0

send() {	# FROM N
	printf 'From: %s\nTo: x@example.org\nSubject: sent %s\nMessage-ID: <sent-%s@example.test>\n\nhello %s\n' \
		"$1" "$2" "$2" "$2" | "$PALOMA" -c "$CONFIG" send -f "$1" x@example.org 2>&1
}
o=$(send test@example.test 1); r=$?
expect_eq "paloma send: exit 0" "$r" 0
sent=$(find "$MAILDIR/snd" -path '*/cur/*' -newer "$CONFIG" -type f | grep -v ',U=' | head -n 1)
check "... a copy in the account's sent folder here" [ -n "$sent" ]
echo "# copy: ${sent#$MAILDIR/}"

psync snd
expect_eq "the sync after sending: exit 0" "$rc" 0
expect_match "... 1 uploaded" "$out" '^snd: .*, 1 uploaded;'
expect_eq "... the server's Sent folder has it" "$(imap msgids Sent)" "<sent-1@example.test>"
expect_eq "... marked seen" "$(imap flags Sent "$(imap uid_of Sent '<sent-1@example.test>')")" '\Seen'
check "... the local file now carries its UID" [ ! -e "$sent" ]
expect_eq "... one file for it" "$(nm count --output=files id:sent-1@example.test)" 1
expect_match "... named with U=" "$(nm search --output=files id:sent-1@example.test)" ',U=[0-9]+:2,S$'
check_same "Sent" snd Sent
psync snd
expect_match "the next sync uploads nothing" "$out" ', 0 uploaded;'
expect_eq "... Sent still has 1" "$(imap count Sent)" 1

# sent_folder = Sent Items.
o=$(send other@example.test 2); r=$?
expect_eq "paloma send from the other account: exit 0" "$r" 0
psync other
expect_eq "its sync: exit 0" "$rc" 0
expect_eq "... uploaded to Sent Items (sent_folder)" "$(imap msgids 'Sent Items')" "<sent-2@example.test>"
expect_eq "... not to Sent" "$(imap uid_of Sent '<sent-2@example.test>')" ""
