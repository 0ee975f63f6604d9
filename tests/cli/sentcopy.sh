# paloma send keeps a copy of what an IMAP account sends in its sent folder
# (LF line ends, marked seen), for the next sync to upload; save_sent = no,
# or an account without IMAP, keeps none; a copy that cannot be written is
# a warning, the message stays queued.
. "$(dirname "$0")/../lib.sh"

imap_config() {
	cat >"$CONFIG" <<CFG
[general]
maildir = $T/Mail

[account me]
address = me@example.org
imap = imaps://127.0.0.1:1
user = me
password_command = printf secret
$1

[account plain]
address = plain@example.org

[delivery]
autostart = no
CFG
}

imap_config ""
printf 'From: me@example.org\nTo: a@example.test\nSubject: kept\n\nline one\nline two\n' |
	"$PALOMA" send -t
expect_eq "send from an IMAP account succeeds" "$?" 0
set -- "$T"/Mail/me/Sent/cur/*
expect_eq "one copy in Mail/me/Sent/cur" "$#" 1
expect_match "the copy is marked seen" "$1" ':2,S$'
check "the copy has LF line ends" sh -c "! grep -q \"\$(printf '\\r')\" '$1'"
check "the copy is the queued message" grep -qx 'line two' "$1"
check "the copy has the Message-ID paloma added" grep -q '^Message-ID: <' "$1"

mkdir -p "$XDG_STATE_HOME/paloma/sync/me"
printf 'Sent Messages\n' >"$XDG_STATE_HOME/paloma/sync/me/sent-folder"
printf 'Subject: second\n\nx\n' | "$PALOMA" send -f me@example.org a@example.test
set -- "$T/Mail/me/Sent Messages/cur"/*
expect_eq "the folder the last sync found is used" "$#" 1
printf '../../escape\n' >"$XDG_STATE_HOME/paloma/sync/me/sent-folder"
printf 'Subject: third\n\nx\n' | "$PALOMA" send -f me@example.org a@example.test
set -- "$T"/Mail/me/Sent/cur/*
expect_eq "a recorded folder that leaves the account is not used" "$#" 2

imap_config "save_sent = no"
printf 'Subject: none\n\nx\n' | "$PALOMA" send -f me@example.org a@example.test
set -- "$T"/Mail/me/Sent/cur/*
expect_eq "save_sent = no: no copy" "$#" 2
printf 'Subject: none\n\nx\n' | "$PALOMA" send -f plain@example.org a@example.test
check "an account without IMAP keeps no copy" test ! -e "$T/Mail/plain"

imap_config ""
rm -rf "$T/Mail/me/Sent"
mkdir -p "$T/Mail/me"
: >"$T/Mail/me/Sent"
out=$(printf 'Subject: warn\n\nx\n' | "$PALOMA" send -f me@example.org a@example.test 2>&1)
expect_eq "a copy that cannot be written does not fail the send" "$?" 0
expect_match "and says so" "$out" '^paloma: queued, but no copy was kept for the sent folder: '
expect_eq "every message is queued" "$(queue_count)" 6
