#!/bin/sh
# Search: / takes a notmuch query and narrows the list to it; a query
# notmuch cannot parse is an error on the status line, the client goes on;
# q goes back to the inbox.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
ui_sandbox light
ui_start
ui_expect "the index is drawn" 'Quarterly report Q3' || { nok "the rest needs the index"; exit 1; }

ui_keys /
ui_type 'from:lucia'
ui_keys Enter
ui_expect "/from:lucia: the matching thread is listed" 'Dinner on Friday'
ui_expect_gone "... and the others are not" 'Quarterly report Q3|Grüße aus München|Встреча'
ui_expect "... the query is shown (title or status line)" 'from:lucia'
expect_match "... the authors column shows names, not notmuch's matched|unmatched separator" \
	"$(grep 'Dinner on Friday' "$T/ui.last")" '^[^|]*$'

ui_keys /
ui_type 'subject:Встреча'
ui_keys Enter
ui_expect "a non-ASCII query (subject:Встреча) finds the Russian thread" 'Встреча в четверг'
ui_expect_gone "... alone" 'Dinner on Friday'

ui_keys /
ui_type 'date:foo..bar'
ui_keys Enter
if ui_wait_for '[Ee]rror|[Ii]nvalid|understand|[Ss]yntax|[Bb]ad query|[Xx]apian' 5; then
	ok "a bad query (date:foo..bar) gives an error"
	r=$(row_of '[Ee]rror|[Ii]nvalid|understand|[Ss]yntax|[Bb]ad query|[Xx]apian')
	check "... on the status line at the bottom (row $r of 40)" test "$r" -ge 37
else
	ui_nok "a bad query (date:foo..bar) gives an error" "nothing like error/invalid/syntax on the screen:"
fi
check "... and the client goes on" ui_running
ui_expect "... showing the list it showed before" 'Встреча в четверг'

ui_keys q
ui_expect "q goes back to the list before (from:lucia)" 'Dinner on Friday'
ui_expect_gone "... (not the Russian search)" 'Встреча в четверг' 3
ui_keys q
ui_expect "q again: the inbox" 'Quarterly report Q3'
ui_quit
