#!/bin/sh
# The sync tests' own fixtures, without paloma: the private Dovecot starts,
# mkmail.py is deterministic and its corpus survives an IMAP round trip byte
# for byte, and the IMAP helpers (flags, expunge, UIDVALIDITY) do what the
# other tests rely on.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"

start_dovecot || { nok "dovecot starts"; exit 1; }
ok "dovecot starts on 127.0.0.1:$IMAPS_PORT"

# mkmail: the same arguments, the same bytes.
mkmail --dir "$T/a" --count 40 >/dev/null
mkmail --dir "$T/b" --count 40 >/dev/null
check "mkmail is deterministic" diff -r "$T/a" "$T/b"
mkmail --dir "$T/c" --count 40 --seed 2 >/dev/null
if diff -rq "$T/a" "$T/c" >/dev/null; then nok "another seed, other mail"; else ok "another seed, other mail"; fi
list=$(mkmail --list --count 40)
expect_match "the corpus has a message without Message-ID" "$list" '^13 no-message-id -$'
expect_eq "... and one duplicate Message-ID in 20" \
	"$(echo "$list" | awk '$3 != "-" { print $3 }' | dup_ids)" \
	"<mk-tricky-1-1@example.test> <mk-tricky-1-21@example.test>"
long=$(awk 'length($0) > 998 { n++ } END { print n + 0 }' "$T"/a/*.eml)
check "a raw line over 998 characters" [ "$long" -ge 1 ]
check "8-bit bytes in raw bodies" grep -lq "$(printf '\303\251')" "$T/a/00009.eml"
mkmail --dir "$T/p" --kind plain --count 3 --size 4096 >/dev/null
expect_eq "plain messages of --size bytes" "$(wc -c <"$T/p/00002.eml" | tr -d ' ')" 4096

# APPEND the corpus; what the server hands back is what mkmail wrote.
fill INBOX 40
expect_eq "40 appended" "$(imap count INBOX)" 40
imap dump INBOX "$T/dump"
same=0
for u in $(imap uids INBOX); do
	cmp -s "$T/dump/$u" "$T/a/$(printf %05d "$u").eml" && same=$((same + 1))
done
expect_eq "every message comes back byte for byte (CRLF → LF)" "$same" 40
expect_eq "msgids lists 40 lines" "$(imap msgids INBOX | wc -l | tr -d ' ')" 40
expect_eq "uid_of finds a Message-ID" "$(imap uid_of INBOX '<mk-tricky-1-7@example.test>')" 7

# Flags.
imap store INBOX 3,5 '+\Seen \Flagged'
expect_eq "flags set" "$(imap flags INBOX 3)" '\Flagged \Seen'
imap store INBOX 3 '-\Flagged'
expect_eq "a flag cleared" "$(imap flags INBOX 3)" '\Seen'
expect_eq "others untouched" "$(imap flags INBOX 4)" ''

# Expunge.
imap expunge INBOX 1:2,10
expect_eq "3 expunged" "$(imap count INBOX)" 37
expect_eq "... the right ones" "$(imap uids INBOX | head -n 2 | tr '\n' ' ')" "3 4 "

# Folders.
imap create Archive
mkmail --imap "imap://test:secret@127.0.0.1:$IMAP_PORT/Archive" --count 5 --start 100 >/dev/null
expect_eq "a second folder" "$(imap count Archive)" 5
expect_match "status lists the folders" "$(imap status)" '^Archive 5$'

# IMAPS with the test CA (mkmail's own client).
mkmail --imap "imaps://test:secret@localhost:$IMAPS_PORT/Archive" --ca "$CA" --count 1 --start 200 >/dev/null
expect_eq "IMAPS APPEND with the test CA" "$(imap count Archive)" 6

# UIDVALIDITY: changed by doveadm, same messages, UIDs from 1 again?
old=$(imap uidvalidity INBOX)
set_uidvalidity INBOX $((old + 1000)) 2>"$T/err"
expect_eq "doveadm changes UIDVALIDITY" "$(imap uidvalidity INBOX)" $((old + 1000))
expect_eq "... the messages stay" "$(imap count INBOX)" 37

# Direct Maildir writes + force-resync (the bench's fast fill).
mkmail --maildir "$MAILHOME/.Bulk" --owner 8:8 --kind plain --count 50 >/dev/null
dadm force-resync -u test Bulk 2>"$T/err"
expect_eq "Maildir fill + force-resync: 50 messages" "$(imap count Bulk)" 50

# nm: notmuch on $MAILDIR without any user config.
mkdir -p "$MAILDIR/x/cur" "$MAILDIR/x/new" "$MAILDIR/x/tmp"
cp "$T/a/00001.eml" "$MAILDIR/x/cur/1:2,S"
nm new >/dev/null 2>&1
expect_eq "nm indexes \$MAILDIR" "$(nm count '*')" 1
check "... into \$MAILDIR/.notmuch" test -d "$MAILDIR/.notmuch/xapian"
expect_eq "... synchronize_flags on" "$(nm count tag:unread)" 0

stop_dovecot
check "stop_dovecot stops it" [ -z "$(ls "$T/dovecot/run/master.pid" 2>/dev/null)" ]
