#!/bin/sh
# Delivery reports paloma writes into an account's INBOX (local mail, no
# U= in the name) stay local with bounces_to_server = no, the default, and
# are APPENDed to the server's INBOX with yes, keeping their tags.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
need_sync
start_dovecot || { nok "dovecot starts"; exit 1; }
fill INBOX 5
write_sync_config "$(account b imaps)"
psync
expect_eq "first sync: exit 0" "$rc" 0

# A report as src/report.c writes it (new/, no flags), indexed the way the
# daemon's paloma-index does (inbox unread bounce).
rep="$MAILDIR/b/INBOX/new/$(date +%s).M1P1Q1.report"
printf '%s\n' 'From: Mail Delivery System <MAILER-DAEMON@example.test>' \
	'To: test@example.test' 'Subject: Undelivered Mail Returned to Sender' \
	'Message-ID: <report-1@example.test>' 'Date: Mon, 23 Nov 2026 12:00:00 +0000' \
	'MIME-Version: 1.0' 'Content-Type: multipart/report; report-type=delivery-status; boundary="b"' \
	'' '--b' 'Content-Type: text/plain' '' 'It did not arrive.' '--b' \
	'Content-Type: message/delivery-status' '' 'Reporting-MTA: dns; example.test' '' \
	'Final-Recipient: rfc822; x@example.org' 'Action: failed' 'Status: 5.1.1' '--b--' >"$rep"
chmod 600 "$rep"	# as maildir.c writes it
nm new >/dev/null 2>&1
nm tag +bounce -- id:report-1@example.test

psync
expect_eq "bounces_to_server = no: exit 0" "$rc" 0
expect_match "... 0 uploaded" "$out" ', 0 uploaded;'
expect_eq "... not on the server" "$(imap uid_of INBOX '<report-1@example.test>')" ""
check "... the report stays here" [ -e "$rep" ]
expect_eq "... and in notmuch" "$(nm count id:report-1@example.test)" 1

write_sync_config "$(account b imaps 'bounces_to_server = yes')"
psync
expect_eq "bounces_to_server = yes: exit 0" "$rc" 0
expect_match "... 1 uploaded" "$out" ', 1 uploaded;'
u=$(imap uid_of INBOX '<report-1@example.test>')
check "... in the server's INBOX" [ -n "$u" ]
expect_eq "... unread there too" "$(imap flags INBOX "$u")" ""
expect_eq "... one file here, named with its UID" \
	"$(nm search --output=files id:report-1@example.test | grep -c ",U=$u:2,")" 1
expect_eq "... tags kept" "$(nm_tags '<report-1@example.test>')" "bounce inbox unread"
check_same "INBOX with the report" b INBOX
psync
expect_match "next sync: nothing new, nothing uploaded" "$out" '^b: 0 new .*, 0 uploaded;'
