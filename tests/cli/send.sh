# paloma send: what it accepts, what it adds, what it refuses.
. "$(dirname "$0")/../lib.sh"
write_config

msg() { printf 'From: Me <me@example.org>\nTo: You <you@example.test>\nSubject: hi\n\nhello\n'; }

# --- a plain message is queued with everything it needs
out=$(msg | "$PALOMA" send you@example.test 2>&1); rc=$?
expect_eq "plain send exits 0" "$rc" 0
expect_eq "plain send is silent" "$out" ""
expect_eq "one entry queued" "$(queue_count)" 1
e=$(first_entry)
expect_match "envelope sender from the account" "$(cat "$e/envelope")" '^Sender: <me@example.org>$'
expect_match "envelope recipient" "$(cat "$e/envelope")" '^Recipient: <you@example.test>$'
expect_match "Date added" "$(cat "$e/message")" '^Date: [A-Z][a-z]{2}, [0-9]{1,2} [A-Z][a-z]{2} 20[0-9]{2} [0-9:]{8} [+-][0-9]{4}'
expect_match "Message-ID added in the sender's domain" "$(cat "$e/message")" '^Message-ID: <[0-9]+\.[0-9a-f]+@example\.org>'
# every line ends in CRLF, including the body
lf=$(grep -c "$(printf '\r')\$" "$e/message"); all=$(wc -l <"$e/message" | tr -d ' ')
expect_eq "every line ends in CRLF" "$lf" "$all"
expect_eq "entry files are private" "$(stat -c %a "$e/message") $(stat -c %a "$e/envelope") $(stat -c %a "$e")" "600 600 700"
expect_eq "queue directories are private" "$(stat -c %a "$QUEUE") $(stat -c %a "$QUEUE/entries") $(stat -c %a "$XDG_STATE_HOME/paloma")" "700 700 700"
expect_eq "nothing left in tmp" "$(tmp_count)" 0
rm -rf "$QUEUE/entries"/*

# --- existing Date and Message-ID are kept
printf 'From: me@example.org\nDate: Tue, 1 Jan 2030 00:00:00 +0000\nMessage-ID: <keep@here>\n\nx\n' |
	"$PALOMA" send a@example.test
m=$(cat "$(first_entry)/message")
expect_match "Date kept" "$m" '^Date: Tue, 1 Jan 2030 00:00:00 \+0000'
expect_eq "one Date only" "$(printf '%s\n' "$m" | grep -c '^Date:')" 1
expect_eq "Message-ID kept, once" "$(printf '%s\n' "$m" | grep -c '^Message-ID: <keep@here>')" 1
rm -rf "$QUEUE/entries"/*

# --- From added from the account when missing, with -F name
printf 'Subject: no from\n\nbody\n' | "$PALOMA" send -F 'Zoë Q. Public' a@example.test
m=$(cat "$(first_entry)/message")
expect_match "From added with an RFC 2047 name" "$m" '^From: =\?UTF-8\?B\?Wm/Dqw==\?= <me@example.org>|^From: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?= <me@example.org>'
rm -rf "$QUEUE/entries"/*
printf 'Subject: no from\n\nbody\n' | "$PALOMA" send a@example.test
expect_match "From added with the account's name" "$(cat "$(first_entry)/message")" '^From: Paloma Tester <me@example.org>'
rm -rf "$QUEUE/entries"/*

# --- -t takes To, Cc and Bcc, removes Bcc, keeps command-line recipients
printf 'From: me@example.org\nTo: A <a@one.test>, b@two.test\nCc: "C, Esq." <c@three.test>\nBcc: hidden@four.test,\n  hidden2@four.test\nSubject: t\n\nbody\n' |
	"$PALOMA" send -t extra@five.test
e=$(first_entry)
r=$(grep '^Recipient:' "$e/envelope" | sed 's/Recipient: //' | tr '\n' ' ')
expect_eq "-t recipients, command line first, folded Bcc included" "$r" "<extra@five.test> <a@one.test> <b@two.test> <c@three.test> <hidden@four.test> <hidden2@four.test> "
expect_eq "Bcc removed from the message" "$(grep -ci '^bcc:' "$e/message")" 0
expect_match "folded Bcc continuation removed too" "$(grep -c 'hidden2' "$e/message")" '^0$'
expect_match "To kept" "$(cat "$e/message")" '^To: A <a@one.test>, b@two.test'
rm -rf "$QUEUE/entries"/*

# --- -t with Resent- headers uses them
printf 'From: me@example.org\nTo: orig@one.test\nResent-To: new@two.test\nResent-Bcc: rb@three.test\n\nx\n' | "$PALOMA" send -t
e=$(first_entry)
expect_eq "-t with Resent-To uses the Resent- recipients" "$(grep '^Recipient:' "$e/envelope" | tr '\n' ' ')" "Recipient: <new@two.test> Recipient: <rb@three.test> "
rm -rf "$QUEUE/entries"/*

# --- duplicates collapse (domain case does not matter)
printf 'From: me@example.org\nTo: x@Example.TEST\n\nx\n' | "$PALOMA" send -t x@example.test X@example.test
expect_eq "duplicate recipients collapse, local part case kept" "$(grep -c '^Recipient:' "$(first_entry)/envelope")" 2
rm -rf "$QUEUE/entries"/*

# --- envelope sender: -f, else the account matching From, else the default
cat >>"$CONFIG" <<CFG

[account work]
address = me@work.test
CFG
printf 'From: Me <me@work.test>\n\nx\n' | "$PALOMA" send a@example.test
expect_match "sender from the account matching From" "$(cat "$(first_entry)/envelope")" '^Account: work$'
expect_match "  with that account's address" "$(cat "$(first_entry)/envelope")" '^Sender: <me@work.test>$'
rm -rf "$QUEUE/entries"/*
printf 'From: other@else.test\n\nx\n' | "$PALOMA" send a@example.test
expect_match "sender from the default account otherwise" "$(cat "$(first_entry)/envelope")" '^Sender: <me@example.org>$'
rm -rf "$QUEUE/entries"/*
printf 'From: me@example.org\n\nx\n' | "$PALOMA" send -f bounces@lists.test a@example.test
expect_match "-f sets the envelope sender" "$(cat "$(first_entry)/envelope")" '^Sender: <bounces@lists.test>$'
rm -rf "$QUEUE/entries"/*
printf 'From: me@example.org\n\nx\n' | "$PALOMA" send -f '<>' a@example.test
expect_match "-f <> gives the null sender" "$(cat "$(first_entry)/envelope")" '^Sender: <>$'
rm -rf "$QUEUE/entries"/*
write_config

# --- 8-bit bodies pass byte for byte (CRLF apart)
printf 'From: me@example.org\nSubject: 8bit\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\ncaf\351 \303\244\303\266 \377\376\n' | "$PALOMA" send a@example.test
e=$(first_entry)
want=$(printf 'caf\351 \303\244\303\266 \377\376\r' | od -An -tx1 | tr -d ' \n')
got=$(tail -n 1 "$e/message" | od -An -tx1 | tr -d ' \n')
expect_eq "8-bit body kept intact" "$got" "${want}0a"
expect_match "envelope marks the body 8-bit" "$(cat "$e/envelope")" '^Body: 8bit$'
rm -rf "$QUEUE/entries"/*

# --- dot handling: without -i a lone dot ends the message; with -i it is data
printf 'From: me@example.org\n\nline1\n.\nline2\n' | "$PALOMA" send a@example.test
expect_eq "a lone dot ends the message without -i" "$(grep -c line2 "$(first_entry)/message")" 0
rm -rf "$QUEUE/entries"/*
printf 'From: me@example.org\n\nline1\n.\nline2\n' | "$PALOMA" send -i a@example.test
expect_eq "with -i the dot and what follows are data" "$(grep -c -e line2 -e '^\.' "$(first_entry)/message")" 2
rm -rf "$QUEUE/entries"/*

# --- rejections: one line, a sysexits code, nothing queued
reject() {	# name want-rc want-pattern input args…
	name=$1 want=$2 pat=$3 input=$4; shift 4
	out=$(printf "$input" | "$PALOMA" send "$@" 2>&1); rc=$?
	expect_eq "$name: exit $want" "$rc" "$want"
	expect_match "$name: says why" "$out" "$pat"
	expect_eq "$name: one line" "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 1
	expect_eq "$name: nothing queued" "$(queue_count)$(tmp_count)" "00"
}
reject "no recipients" 64 'no recipients' 'From: me@example.org\n\nx\n'
reject "-t without recipient headers" 64 'no recipients' 'From: me@example.org\n\nx\n' -t
reject "malformed recipient" 65 "malformed address 'bad@@example.test'" 'From: me@example.org\n\nx\n' bad@@example.test
reject "recipient without a domain" 65 "malformed address 'root': no @domain" 'x\n' root
reject "malformed To with -t" 65 "To header: malformed address 'a@b..test'" 'To: a@b..test\n\nx\n' -t
reject "malformed -f" 65 "malformed address 'x@'" 'x\n' -f x@ a@example.test
reject "NUL byte" 65 'NUL byte' 'From: me@example.org\n\nab\000cd\n' a@example.test
long=$(head -c 1000 /dev/zero | tr '\0' 'x')
reject "header line over 998 octets" 65 'header line 2 \(Subject\) is 1009 octets' "From: me@example.org\nSubject: $long\n\nx\n" a@example.test
reject "empty input" 66 'no message on standard input' '' a@example.test
reject "only a dot" 66 'no message' '.\n' a@example.test
out=$(printf 'x\n' | "$PALOMA" send -Z a@example.test 2>&1); rc=$?
expect_eq "unknown flag: exit 64" "$rc" 64
expect_match "unknown flag: named, then the usage" "$out" "^paloma: unknown option '-Z'"
expect_eq "unknown flag: nothing queued" "$(queue_count)" 0

write_config 'max_message_size = 2K'
big=$(head -c 3000 /dev/zero | tr '\0' 'y')
reject "message over max_message_size" 65 'larger than max_message_size' "From: me@example.org\n\n$big\n" a@example.test
write_config

# a body line over 998 octets is accepted (only headers are limited)
printf 'From: me@example.org\n\n%s\n' "$long" | "$PALOMA" send a@example.test
expect_eq "long body line accepted" "$(queue_count)" 1
rm -rf "$QUEUE/entries"/*

# no account and no -f: a clear config error
rm -f "$CONFIG"
out=$(printf 'x\n' | "$PALOMA" send a@example.test 2>&1); rc=$?
expect_eq "no account: exit 78" "$rc" 78
expect_match "no account: says what to do" "$out" 'no sender address: add an \[account\]'
printf 'From: x@y.test\n\nx\n' | "$PALOMA" send -f x@y.test a@example.test
expect_eq "no account but -f: queued" "$(queue_count)" 1

# -v tells the queue id
rm -rf "$QUEUE/entries"/*
write_config
out=$(msg | "$PALOMA" send -v a@example.test 2>&1)
expect_match "-v prints the queue id" "$out" "^paloma: queued $(ls "$QUEUE/entries") from <me@example.org> for <a@example.test>$"
