#!/bin/sh
# Deletion both ways: a message expunged on the server goes from the Maildir
# and from notmuch; a file removed here, or a message tagged deleted, goes
# from the server; a file moved to another folder here moves there.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
need_sync
start_dovecot || { nok "dovecot starts"; exit 1; }
fill INBOX 30
imap create Archive
write_sync_config "$(account del imaps 'folders = INBOX, Archive')"
id() { echo "mk-tricky-1-$1@example.test"; }	# corpus message N = UID N

psync
expect_eq "first sync: exit 0" "$rc" 0
expect_eq "... 30 files" "$(local_count del INBOX)" 30

# Expunged on the server.
imap expunge INBOX 2:4
imap expunge INBOX 14	# the second copy of message 1 (same Message-ID)
psync
expect_eq "expunged on the server: exit 0" "$rc" 0
expect_match "... summary: removed 4 here" "$out" 'removed 4 here / 0 there'
expect_eq "... their files are gone" "$(local_file_of del INBOX 2)$(local_file_of del INBOX 3)$(local_file_of del INBOX 14)" ""
expect_eq "... and notmuch forgot them" "$(nm count id:"$(id 2)" or id:"$(id 3)" or id:"$(id 4)")" 0
expect_eq "... the other copy of a duplicate stays, one file" "$(nm count --output=files id:"$(id 1)")" 1
check_same "after expunges on the server" del INBOX

# Removed here.
f=$(local_file_of del INBOX 5)
rm -f "$f"
psync
expect_eq "file removed here: exit 0" "$rc" 0
expect_match "... summary: removed 1 there" "$out" 'removed 0 here / 1 there'
expect_eq "... gone from the server" "$(imap uid_of INBOX "<$(id 5)>")" ""
expect_eq "... and from notmuch" "$(nm count id:"$(id 5)")" 0
check_same "after a removal here" del INBOX

# Tagged deleted here.
nm tag +deleted -- id:"$(id 6)"
psync
expect_eq "tagged deleted: exit 0" "$rc" 0
u=$(imap uid_of INBOX "<$(id 6)>")
if [ -z "$u" ]; then
	ok "... expunged on the server"
	expect_eq "... and the file gone here" "$(local_file_of del INBOX 6)" ""
else
	expect_match "... \\Deleted on the server" "$(imap flags INBOX "$u")" 'Deleted'
	expect_match "... the file says T (trashed)" "$(local_flags_of del INBOX 6)" 'T'
fi

# Deleted on the server and changed here at the same time: it goes.
imap expunge INBOX 8
nm tag -unread +flagged -- id:"$(id 8)"
psync
expect_eq "expunged there, flagged here: exit 0" "$rc" 0
expect_eq "... gone here too" "$(local_file_of del INBOX 8)" ""
expect_eq "... not uploaded again" "$(imap uid_of INBOX "<$(id 8)>")" ""

# Moved here from INBOX to Archive: moved on the server.
f=$(local_file_of del INBOX 7)
mv "$f" "$MAILDIR/del/Archive/cur/"
psync
expect_eq "moved to Archive here: exit 0" "$rc" 0
expect_eq "... in Archive on the server" "$(imap msgids Archive)" "<$(id 7)>"
expect_eq "... not in INBOX any more" "$(imap uid_of INBOX "<$(id 7)>")" ""
expect_match "... summary: 1 uploaded" "$out" ', 1 uploaded;'
check_same "INBOX in the end" del INBOX
check_same "Archive in the end" del Archive
expect_eq "notmuch: the moved message once, in Archive" \
	"$(nm search --output=files id:"$(id 7)" | sed "s|^$MAILDIR/||; s|/cur/.*||")" "del/Archive"
