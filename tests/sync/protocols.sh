#!/bin/sh
# First syncs over IMAP with STARTTLS, POP3S and POP3 with STLS (and IMAP in
# the clear when the config says tls = none): the same mail, each message
# once, byte for byte; POP3 files are named by their UIDL (,P=…).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
need_sync
start_dovecot || { nok "dovecot starts"; exit 1; }
fill INBOX 80

write_sync_config "$(account st imap)" "$(account pops pop3s)" "$(account stls pop3)" \
	"$(account clear imap 'tls = none
ca_file =')"

psync st
expect_eq "IMAP STARTTLS: exit 0" "$rc" 0
expect_match "... summary" "$out" '^st: 80 new '
check_same "IMAP STARTTLS" st INBOX
expect_eq "IMAP STARTTLS: byte for byte" "$(same_content st INBOX)" ""

psync pops
expect_eq "POP3S: exit 0" "$rc" 0
expect_eq "... nothing on stderr" "$err" ""
expect_match "... summary" "$out" '^pops: 80 new '
check_same "POP3S" pops INBOX
n=$(local_files pops | grep -c ',P=[0-9a-f]\{16\}:2,')
expect_eq "POP3S: every file named ,P=<16 hex>:2," "$n" 80
# byte for byte: POP3 has no UIDs; compare the sorted checksums.
rm -rf "$T/dump"; imap dump INBOX "$T/dump"
srv=$(for f in "$T"/dump/*; do md5sum <"$f"; done | sort | md5sum)
loc=$(local_files pops | while read -r f; do md5sum <"$f"; done | sort | md5sum)
expect_eq "POP3S: the same 80 messages byte for byte" "$loc" "$srv"
expect_eq "POP3S: messages stay on the server (pop3_delete = no)" "$(imap count INBOX)" 80
expect_eq "POP3S: notmuch knows its 80 files" "$(nm_files pops | wc -l | tr -d ' ')" 80

psync stls
expect_eq "POP3 STLS: exit 0" "$rc" 0
check_same "POP3 STLS" stls INBOX

psync clear
expect_eq "IMAP with tls = none: exit 0" "$rc" 0
check_same "IMAP in the clear" clear INBOX

# Everything again: nothing new anywhere.
psync
expect_eq "all four again: exit 0" "$rc" 0
expect_eq "... four summaries, 0 new each" "$(echo "$out" | grep -c ': 0 new ')" 4
