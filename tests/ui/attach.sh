#!/bin/sh
# Attachments in the pager: s saves one (the exact bytes, never over an
# existing file), v opens one through run-mailcap; a hostile file name or
# type from the message never reaches the shell that mailcap commands run in.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
command -v run-mailcap >/dev/null 2>&1 || { skip "attach.sh" "run-mailcap is not installed (apt-get install mailcap)"; exit 0; }
ui_sandbox light
pwn="$T/pwned"
cat >"$MAILDIR/demo/INBOX/cur/att1:2,S" <<MSG
From: Eve <eve@example.net>
To: demo@example.test
Subject: Attachment with a nasty name
Message-ID: <att-1@example.net>
Date: Mon, 23 Nov 2026 12:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

see attached
--b
Content-Type: text/plain; name="\$(touch $pwn).txt"
Content-Disposition: attachment; filename="\$(touch $pwn);\`touch $pwn\`.txt"

secret payload
--b--
MSG
nm new >/dev/null 2>&1
nm tag +inbox -- id:att-1@example.net
# A mailcap of the test's own: the viewer copies the file it is given.
printf 'text/plain; cat %%s > %s/viewed; copiousoutput\n' "$T" >"$HOME/.mailcap"

ui_start
ui_expect "the index is drawn" 'Attachment with a nasty name' || { nok "the rest needs the index"; exit 1; }
ui_keys /
ui_type 'id:att-1@example.net'
ui_keys Enter
ui_wait_for '1 of 1|thread 1 of 1' 5
ui_keys Enter
ui_expect "the pager lists the attachment" '^\[1\] .*touch'
# One attachment: v and s need no number.
ui_keys v
check "v: run-mailcap's viewer got the attachment's bytes" wait_for "grep -qx 'secret payload' '$T/viewed'" 10
check "... and the name's \$(…) and \`…\` never ran" test ! -e "$pwn"

ui_keys s
ui_wait_for 'save to' 5
ui_keys C-u
ui_type "$T/saved.txt"
ui_keys Enter
check "s: the attachment is saved, byte for byte" wait_for "[ \"\$(cat '$T/saved.txt' 2>/dev/null)\" = 'secret payload' ]" 5
ui_keys s
ui_wait_for 'save to' 5
ui_keys C-u
ui_type "$T/saved.txt"
ui_keys Enter
ui_expect "... a second save over it is refused" '[Ee]xist|cannot|refus'
expect_eq "... and the file is unchanged" "$(cat "$T/saved.txt")" "secret payload"
ui_quit
