#!/bin/sh
# Writing: m opens a template in $EDITOR (a script here), the review screen
# shows what will be sent, the send key queues it and the daemon delivers it
# to friends.test's receiver; o shows the delivery (host, TLS).  r replies
# with the right template (Re:, In-Reply-To, quoted text, To the sender).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
ui_editor
ui_sandbox internet
ui_start
ui_expect "the index is drawn" 'Quarterly report Q3' || { nok "the rest needs the index"; exit 1; }

# --- a new message
ui_compose_with 'Someone <someone@friends.test>' 'Hello from the paloma test' \
	'This is the body of the test message, with ünïcödé.'
ui_keys m
check "m runs the editor on a template" wait_for '[ -e "$T/draft.1" ]' 10
if [ -e "$T/draft.1" ]; then
	expect_match "... the template's From is the account (Demo User <demo@example.test>)" \
		"$(grep -i '^From:' "$T/draft.1")" 'demo@example\.test'
	expect_match "... it has an empty To: for the user to fill" "$(cat "$T/draft.1")" '^To:'
fi
ui_expect "the review screen shows the To" 'someone@friends\.test'
ui_expect "... and the Subject" 'Hello from the paloma test'
ui_keys "$UI_SEND_KEY"
check "the send key ($UI_SEND_KEY) sends: friends.test's MX receives it" \
	wait_for '[ "$(received_count friends)" -ge 1 ]' 20
f=$(received friends | head -n 1)
if [ -n "$f" ]; then
	expect_eq "... for someone@friends.test" "$(msg_meta "$f" rcpt_tos)" someone@friends.test
	expect_eq "... from demo@example.test" "$(msg_meta "$f" mail_from)" demo@example.test
	body=$(msg_body "$f" | tr -d '\r')
	expect_match "... with the Subject" "$body" '^Subject: Hello from the paloma test$'
	expect_match "... and the text (UTF-8, declared)" "$body" 'charset="?utf-8|ünïcödé|=C3=BC'
	expect_match "... From the account" "$body" '^From: .*demo@example\.test'
fi
ui_expect "back in the index after sending" 'Quarterly report Q3'

ui_keys o
ui_expect "o: the outbox lists the recipient" 'someone@friends\.test'
ui_expect "... delivered" '[Dd]elivered' 15
ui_expect "... with the accepting host" 'mx\.friends\.test|127\.0\.0\.2'
ui_expect "... and TLS" 'TLS'
ui_keys q
ui_expect "q leaves the outbox" 'Quarterly report Q3'

# --- a reply to the newest thread (its last message is from Lucía)
ui_keys k k k k k k k k k k k k k k	# to the first thread (Home is not sent as xterm's khome by tmux)
ui_compose_with '' '' 'Sounds great, see you on Friday!'
ui_keys r
check "r runs the editor on a reply template" wait_for '[ -e "$T/draft.2" ]' 10
if [ -e "$T/draft.2" ]; then
	d=$(cat "$T/draft.2")
	expect_match "... Subject: Re: Dinner on Friday? 🍝" "$d" '^Subject: Re: Dinner on Friday\? 🍝'
	expect_match "... To the sender (lucia@friends.test)" "$d" '^To: .*lucia@friends\.test'
	expect_match "... In-Reply-To the message" "$d" '^In-Reply-To: <dinner-4@demo\.example\.test>'
	expect_match "... References the thread" "$d" '^References: .*<dinner-1@demo\.example\.test>'
	expect_match "... the text quoted" "$d" "^> Perfect 🎉"
	expect_match "... From the account" "$d" '^From: .*demo@example\.test'
fi
ui_expect "the review screen shows the reply's To" 'lucia@friends\.test'
ui_keys "$UI_SEND_KEY"
check "the reply is delivered" wait_for '[ "$(received_count friends)" -ge 2 ]' 20
f=$(received friends | sed -n 2p)
if [ -n "$f" ]; then
	expect_match "... to lucia@friends.test" "$(msg_meta "$f" rcpt_tos)" 'lucia@friends\.test'
	body=$(msg_body "$f" | tr -d '\r')
	expect_match "... with In-Reply-To" "$body" '^In-Reply-To: <dinner-4@demo\.example\.test>'
	expect_match "... and the new text" "$body" 'see you on Friday'
fi
ui_quit
