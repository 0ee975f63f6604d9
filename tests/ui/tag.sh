#!/bin/sh
# Tags: + and - add and remove a tag (shown in the list, written to
# notmuch); a archives (the thread leaves tag:inbox); u undoes the last
# change; d deletes (leaves the inbox too) and u brings it back.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
ui_sandbox light
ui_start
ui_expect "the index is drawn" 'Quarterly report Q3' || { nok "the rest needs the index"; exit 1; }
Q3=id:q3-report@demo.example.test
n0=$(nm count tag:inbox)
tags() { nm search --output=tags "$Q3" | tr '\n' ' '; }

# The sixth thread: Dinner, München, Встреча, 来週, Weekly, Quarterly.
ui_keys j j j j j
ui_keys +
ui_type 'important'
ui_keys Enter
ui_expect "+important: the tag is shown on the thread's row" 'Quarterly report Q3.*important|important.*Quarterly report Q3'
check "... and written to notmuch" wait_for "tags | grep -qw important" 5
ui_keys -
ui_type 'important'
ui_keys Enter
ui_expect_gone "-important: the tag is gone from the row" 'Quarterly report Q3.*important|important.*Quarterly report Q3'
check "... and from notmuch" wait_for "! tags | grep -qw important" 5

ui_keys a
ui_expect_gone "a archives: the thread leaves the inbox list" 'Quarterly report Q3'
check "... notmuch: no longer tag:inbox" wait_for "[ \"\$(nm count '$Q3 and tag:inbox')\" = 0 ]" 5
expect_eq "... the other threads stay" "$(nm count tag:inbox)" $((n0 - 1))
ui_keys u
ui_expect "u undoes the archive: the thread is back" 'Quarterly report Q3'
check "... notmuch: tag:inbox again" wait_for "[ \"\$(nm count '$Q3 and tag:inbox')\" = 1 ]" 5

# select it again (the selection after an undo is the client's choice)
ui_keys k k k k k k k k k k k k k k j j j j j
ui_keys Enter
ui_expect "the sixth thread is Quarterly report Q3 again" '^ *Subject: Quarterly report Q3'
ui_keys q
ui_wait_for 'Quarterly report Q3' 5
ui_keys d
ui_expect_gone "d deletes: the thread leaves the list" 'Quarterly report Q3'
check "... notmuch: out of the inbox, tagged deleted" \
	wait_for "[ \"\$(nm count '$Q3 and tag:inbox')\" = 0 ] && tags | grep -qw deleted" 5
ui_keys u
ui_expect "u brings it back" 'Quarterly report Q3'
check "... notmuch: in the inbox, not deleted" \
	wait_for "[ \"\$(nm count '$Q3 and tag:inbox')\" = 1 ] && ! tags | grep -qw deleted" 5
ui_quit
