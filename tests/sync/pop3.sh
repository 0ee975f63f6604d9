#!/bin/sh
# POP3: later syncs retrieve only messages with a new UIDL; messages stay on
# the server unless pop3_delete = yes, and then they go once stored here.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
need_sync
start_dovecot || { nok "dovecot starts"; exit 1; }
fill INBOX 30
write_sync_config "$(account keep pop3s)" "$(account del pop3s 'pop3_delete = yes')"

dlog_mark
psync keep
expect_eq "first POP3 sync: exit 0" "$rc" 0
expect_match "... 30 new" "$out" '^keep: 30 new '
expect_eq "... 30 RETR" "$(bodies_fetched)" 30
check_same "first POP3 sync" keep INBOX

fill INBOX 10 31
dlog_mark
psync keep
expect_eq "10 more: exit 0" "$rc" 0
expect_match "... 10 new" "$out" '^keep: 10 new '
expect_eq "... only those retrieved (by UIDL)" "$(bodies_fetched)" 10
check_same "after 10 more" keep INBOX
expect_eq "... all still on the server" "$(imap count INBOX)" 40

dlog_mark
psync keep
expect_match "nothing new: 0 new" "$out" '^keep: 0 new '
expect_eq "... nothing retrieved" "$(bodies_fetched)" 0

# Flags of POP3 mail are local only: a tag change (notmuch renames the
# file) is kept by the next sync, not undone.
nm tag -unread -- id:mk-tricky-1-3@example.test
psync keep
expect_eq "a local tag change on POP3 mail: exit 0" "$rc" 0
expect_eq "... the file keeps its S" "$(nm search --output=files id:mk-tricky-1-3@example.test | grep -c ':2,S$')" 1
expect_eq "... and the tag" "$(nm_tags '<mk-tricky-1-3@example.test>')" "inbox"

# pop3_delete = yes.
dlog_mark
psync del
expect_eq "pop3_delete = yes: exit 0" "$rc" 0
expect_match "... 40 new, removed 40 there" "$out" '^del: 40 new .*removed 0 here / 40 there'
expect_eq "... the server's INBOX is empty" "$(imap count INBOX)" 0
expect_match "... Dovecot deleted 40" "$(dlog_since)" 'del=40/40'
check "... after storing them all" [ "$(local_count del)" = 40 ]
expect_eq "... the same mail as the other account" \
	"$(local_msgids del | md5sum)" "$(local_msgids keep | md5sum)"
fill INBOX 5 41
psync del
expect_match "5 more: stored and deleted" "$out" '^del: 5 new .*removed 0 here / 5 there'
expect_eq "... 45 here" "$(local_count del)" 45
expect_eq "... 0 there" "$(imap count INBOX)" 0
psync keep
expect_match "the other account: nothing new (the 5 went before it looked)" "$out" '^keep: 0 new '
