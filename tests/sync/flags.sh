#!/bin/sh
# Flags both ways: the server's flags become the file names' letters and the
# notmuch tags; tags changed with notmuch (renaming the files itself, as
# synchronize_flags does, or not) go back to the server; a message changed
# on both sides gets both changes.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
need_sync
start_dovecot || { nok "dovecot starts"; exit 1; }
fill INBOX 20
write_sync_config "$(account fl imaps)"
id() { echo "mk-tricky-1-$1@example.test"; }	# corpus message N = UID N

psync
expect_eq "first sync: exit 0" "$rc" 0

# Server → here.
imap store INBOX 2 '+\Seen'
imap store INBOX 3 '+\Flagged'
imap store INBOX 4 '+\Answered'
imap store INBOX 5 '+\Seen \Flagged'
imap store INBOX 6 '+$Forwarded'
psync
expect_eq "server flags: exit 0" "$rc" 0
expect_match "... summary: 5 flag changes in" "$out" '^fl: 0 new .*, flags 5 in / 0 out,'
expect_eq "\\Seen → file :2,S" "$(local_flags_of fl INBOX 2)" S
expect_eq "\\Flagged → :2,F" "$(local_flags_of fl INBOX 3)" F
expect_eq "\\Answered → :2,R" "$(local_flags_of fl INBOX 4)" R
expect_eq "\\Seen \\Flagged → :2,FS" "$(local_flags_of fl INBOX 5)" FS
expect_eq "\$Forwarded → :2,P" "$(local_flags_of fl INBOX 6)" P
expect_eq "\\Seen → tags without unread" "$(nm_tags "$(id 2)")" "inbox"
expect_eq "\\Flagged → tag flagged" "$(nm_tags "$(id 3)")" "flagged inbox unread"
expect_eq "\\Answered → tag replied" "$(nm_tags "$(id 4)")" "inbox replied unread"
expect_eq "\\Seen \\Flagged → flagged, not unread" "$(nm_tags "$(id 5)")" "flagged inbox"
expect_eq "\$Forwarded → tag passed" "$(nm_tags "$(id 6)")" "inbox passed unread"
check_same "after flag changes from the server" fl INBOX

imap store INBOX 2 '-\Seen'
imap store INBOX 5 '-\Flagged'
psync
expect_eq "flags cleared on the server: exit 0" "$rc" 0
expect_eq "\\Seen cleared → no S, unread again" "$(local_flags_of fl INBOX 2) $(nm_tags "$(id 2)")" " inbox unread"
expect_eq "\\Flagged cleared → S only, not flagged" "$(local_flags_of fl INBOX 5) $(nm_tags "$(id 5)")" "S inbox"

# Here → server, notmuch renaming the files (synchronize_flags = true).
nm tag -unread +flagged -- id:"$(id 7)"
nm tag +replied -- id:"$(id 8)"
psync
expect_eq "tags changed with notmuch: exit 0" "$rc" 0
expect_match "... summary: 2 flag changes out" "$out" '^fl: 0 new .*, flags 0 in / 2 out,'
expect_eq "-unread +flagged → \\Flagged \\Seen on the server" "$(imap flags INBOX 7)" '\Flagged \Seen'
expect_eq "+replied → \\Answered" "$(imap flags INBOX 8)" '\Answered'
nm tag +unread -- id:"$(id 7)"
psync
expect_eq "+unread again → \\Seen gone on the server" "$(imap flags INBOX 7)" '\Flagged'

# Here → server, tags only (paloma reads the tags and renames the files).
NM_SYNC_FLAGS=false
nm tag -unread -- id:"$(id 9)"
nm tag +flagged -- id:"$(id 10)"
expect_eq "(notmuch left the file names alone)" "$(local_flags_of fl INBOX 9)$(local_flags_of fl INBOX 10)" ""
psync
expect_eq "tags only: exit 0" "$rc" 0
expect_eq "-unread → \\Seen" "$(imap flags INBOX 9)" '\Seen'
expect_eq "+flagged → \\Flagged" "$(imap flags INBOX 10)" '\Flagged'
expect_eq "... and the files renamed: S, F" "$(local_flags_of fl INBOX 9) $(local_flags_of fl INBOX 10)" "S F"
NM_SYNC_FLAGS=true

# Both sides change one message: both changes stay.
imap store INBOX 11 '+\Flagged'
nm tag -unread -- id:"$(id 11)"
imap store INBOX 12 '+\Seen'
nm tag +unread +replied -- id:"$(id 12)"	# unread: no change here (it was)
psync
expect_eq "changed on both sides: exit 0" "$rc" 0
expect_eq "server +\\Flagged, here -unread → both on the server" "$(imap flags INBOX 11)" '\Flagged \Seen'
expect_eq "... and here" "$(local_flags_of fl INBOX 11) $(nm_tags "$(id 11)")" "FS attachment flagged inbox"
expect_eq "server +\\Seen, here +replied → both" "$(imap flags INBOX 12)" '\Answered \Seen'
expect_eq "... and here" "$(local_flags_of fl INBOX 12) $(nm_tags "$(id 12)")" "RS inbox replied"

check_same "after all the flag syncs" fl INBOX
dlog_mark
psync
expect_match "a sync after that changes nothing" "$out" '^fl: 0 new \(0 B\), flags 0 in / 0 out,'
expect_eq "... and fetches no body" "$(bodies_fetched)" 0
