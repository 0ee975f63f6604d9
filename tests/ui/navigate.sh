#!/bin/sh
# Moving around: j/k move the selection, Enter opens the selected thread in
# the pager (headers, text, attachment list), q backs out to the index with
# the selection kept, ? lists the bindings.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
ui_sandbox light
ui_start
ui_expect "the index is drawn" 'Dinner on Friday' || { nok "the rest needs the index"; exit 1; }

ui_keys Enter
ui_expect "Enter opens the first thread at its first unread message (Tom's, 3 of 4)" '^ *From: Tom Berger'
ui_expect "... its Subject header, decoded" '^ *Subject: Re: Dinner on Friday\? 🍝'
ui_expect "... its text" 'Booked for 8 pm'
ui_expect_gone "... instead of the index" 'Quarterly report Q3' 2
ui_keys p
ui_expect "p: the previous message (2 of 4, Demo User's)" 'Yes, count me in! Shall I book'
ui_keys p
ui_expect "p: the first message, From decoded (Lucía Fernández)" '^ *From: .*Lucía Fernández'
ui_expect "... its text" 'trying the new Italian place'
ui_keys n n n
ui_expect "n n n: the last message (4 of 4)" 'bring the birthday cake'

ui_keys q
ui_expect "q goes back to the index" 'Quarterly report Q3'
ui_expect_gone "... and the pager's text is gone" 'birthday cake' 2

ui_keys j Enter
ui_expect "j moves down: Enter now opens the second thread" '^ *Subject: .*Grüße aus München'
ui_expect "... its quoted-printable text decoded" 'Das Wetter war großartig'
ui_expect "... and its attachments listed" 'fahrräder\.png'
ui_keys q
ui_expect "q: back to the index" 'Quarterly report Q3'
ui_keys j j k Enter
ui_expect "the selection stayed; j j k selects the third thread" '^ *Subject: .*Встреча в четверг'
ui_keys q
ui_keys k k k k k Enter
ui_expect "k stops at the first thread" '^ *Subject: (Re: )?Dinner on Friday'
ui_keys q
ui_wait_for 'Quarterly report Q3' 5

ui_keys '?'
ui_expect "? shows the bindings (archive, reply, outbox are named)" 'archive'
ui_expect "... reply" 'reply'
ui_expect "... outbox" 'outbox'
ui_keys q
ui_expect "q leaves the help" 'Quarterly report Q3'

ui_quit
expect_eq "Q quits with status 0" "$(ui_rc)" 0
