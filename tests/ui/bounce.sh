#!/bin/sh
# The fate of sent mail: a recipient strict.test rejects (550 5.1.1) shows
# as bounced in the outbox with the server's reason, and the bounce report
# appears in the index without restarting; a greylisted recipient
# (busy.test, 451 4.7.1) shows as deferred with its next attempt.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
ui_editor
ui_sandbox internet
ui_start
ui_expect "the index is drawn" 'Quarterly report Q3' || { nok "the rest needs the index"; exit 1; }

ui_compose_with 'nobody@strict.test, anyone@busy.test' 'Is anybody there?' 'Knock knock.'
ui_keys m
ui_expect "the review screen shows both recipients" 'nobody@strict\.test.*anyone@busy\.test|anyone@busy\.test'
ui_keys "$UI_SEND_KEY"
check "strict.test's MX refuses nobody@ (its log has the 550)" \
	wait_for "grep -q '550 5.1.1' '$(smtpd_log strict)'" 20
check "busy.test's MX greylists anyone@ (451 4.7.1)" \
	wait_for "grep -q '451 4.7.1' '$(smtpd_log busy)'" 20

ui_keys o
ui_expect "o: the outbox lists nobody@strict.test" 'nobody@strict\.test'
ui_expect "... bounced" '[Bb]ounced|[Ff]ailed|[Rr]ejected' 15
ui_expect "... with the server's reason (5.1.1, User unknown)" '5\.1\.1|User unknown'
ui_expect "... and anyone@busy.test" 'anyone@busy\.test'
ui_expect "... deferred" '[Dd]eferred'
ui_expect "... with the last reply (451 4.7.1)" '451|4\.7\.1'
ui_keys q

check "the daemon wrote a bounce report (notmuch tag:bounce)" \
	wait_for '[ "$(nm count tag:bounce 2>/dev/null)" -ge 1 ]' 20
ui_expect "the bounce report appears in the index without a restart" \
	'Undelivered Mail Returned to Sender' 20
r=$(row_of 'Undelivered Mail Returned to Sender')
expect_eq "... as the newest thread (first row of the list)" "$(row_of 'Undelivered|Dinner on Friday')" "$r"
ui_keys /
ui_type 'tag:bounce'
ui_keys Enter
ui_wait_gone 'Quarterly report Q3' 5
ui_keys Enter
ui_expect "opening it names the refused recipient" 'nobody@strict\.test'
ui_expect "... and the reason" '5\.1\.1|User unknown'
ui_quit
