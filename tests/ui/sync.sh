#!/bin/sh
# Sync from the client, on the full sandbox (Dovecot over IMAPS, a first
# paloma sync already done): a message that arrives at the server shows up
# in the index after $, with the sync's progress or outcome on the status
# line, and the client stays usable meanwhile.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
ui_sandbox full
ui_start
ui_expect "the index is drawn from the synced mail" 'Quarterly report Q3' ||
	{ nok "the rest needs the index"; exit 1; }

mkdir -p "$T/fresh"
printf '%s\n' 'From: Lucía Fernández <lucia@friends.test>' 'To: demo@example.test' \
	'Subject: Fresh from the server ☕' "Date: $(date -R)" \
	'Message-ID: <fresh-1@demo.example.test>' 'MIME-Version: 1.0' \
	'Content-Type: text/plain; charset=utf-8' '' 'Coffee at 4?' >"$T/fresh/fresh.eml"
_sb_to_imap "$T/fresh" "$IMAP_PORT" demo demo-password
check "the server has it (plain IMAP on loopback)" [ "$?" = 0 ]

ui_keys '$'
ui_expect "\$ starts a sync: the status line says so" '[Ss]ync' 5
ui_keys j k
check "the client stays usable during the sync" ui_running
ui_expect "the new message appears in the index" 'Fresh from the server ☕' 30
expect_eq "... and in notmuch" "$(nm count id:fresh-1@demo.example.test)" 1
ui_quit
expect_eq "Q quits with status 0" "$(ui_rc)" 0
