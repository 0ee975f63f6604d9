# What the server's EHLO keywords change in the message: BODY=8BITMIME and
# the bytes as they are (RFC 6152); without 8BITMIME the 8-bit parts
# converted to quoted-printable and nothing else touched; SMTPUTF8 (RFC 6531)
# for a non-ASCII local part, else 5.6.7 and a report; SIZE (RFC 1870): a
# message over the limit bounced 5.3.4 before MAIL FROM; dot-stuffing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
SMTP_PORT=$(free_port)
DLOG="$XDG_STATE_HOME/paloma/delivery.log"
PLOG="$XDG_STATE_HOME/paloma/daemon.log"
INBOX="$T/Mail/me/INBOX/new"

start_dns --mx-host=eight.test,mx.eight.test,10 --host-record=mx.eight.test,127.0.0.2 \
	--mx-host=seven.test,mx.seven.test,10 --host-record=mx.seven.test,127.0.0.3 \
	--mx-host=small.test,mx.small.test,10 --host-record=mx.small.test,127.0.0.4
start_smtpd eight 127.0.0.2
start_smtpd seven 127.0.0.3 --no-8bitmime --no-smtputf8
start_smtpd small 127.0.0.4 --size-limit 10000
write_config "$(delivery_config)
autostart = no"

# queue [SEND-ARGS...] < message: queues it and prints its id
queue() {
	ls "$QUEUE/entries" 2>/dev/null | sort >"$T/before"
	"$PALOMA" send "$@" || return 1
	ls "$QUEUE/entries" | sort | comm -13 "$T/before" -
}
# got SERVER RCPT: the spool file holding RCPT (the first one)
got() {
	for _f in $(received "$1"); do
		if meta "$_f" rcpt_tos | grep -qxF "$2"; then echo "$_f"; return; fi
	done
}
# meta FILE KEY: msg_meta, quiet when nothing was received
meta() { [ -n "$1" ] && msg_meta "$1" "$2"; }

# --- the messages --------------------------------------------------------------
# 1. UTF-8 text, 8bit: a long line (soft breaks), trailing blanks, "=", a
#    lone ".", a line starting with "." and one with "From ".
printf 'Gr\303\274\303\237e aus K\303\266ln, caf\303\251 cr\303\250me br\303\273l\303\251e\n' >"$T/text1"
printf 'lang: %s\n' "$(for i in 1 2 3 4 5 6 7 8 9 10 11 12; do printf '\303\244\303\266\303\274 word%d ' "$i"; done)" >>"$T/text1"
printf 'trailing blanks   \ntrailing tab\t\na=b ==c =3D\n.\n.leading dot\nFrom here\n\342\202\254 100 \360\237\230\200\n' >>"$T/text1"
{
	printf 'From: Me <me@example.org>\nTo: a@eight.test, b@seven.test\nSubject: eight bit\n'
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
	cat "$T/text1"
} >"$T/m1"
id1=$(queue -t -i <"$T/m1")

# 2. multipart: an 8-bit text part and a base64 attachment
head -c 3000 /dev/urandom >"$T/blob"
printf 'Anh\303\244nge: \303\274berall \303\244\303\266\303\274\n' >"$T/text2"
{
	printf 'From: Me <me@example.org>\nTo: c@seven.test\nSubject: attachment\nMIME-Version: 1.0\n'
	printf 'Content-Type: multipart/mixed; boundary="b0und"\n\nThis is a MIME message.\n\n--b0und\n'
	printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
	cat "$T/text2"
	printf '\n--b0und\nContent-Type: application/octet-stream; name="blob.bin"\n'
	printf 'Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="blob.bin"\n\n'
	base64 -w 76 "$T/blob"
	printf '\n--b0und--\n'
} >"$T/m2"
id2=$(queue -t -i <"$T/m2")

# 3. a non-ASCII local part (the header itself is ASCII), and an ASCII
#    recipient of the same message at the server without SMTPUTF8
U=$(printf 'j\303\274rgen')
id3=$(printf 'From: Me <me@example.org>\nTo: undisclosed-recipients:;\nSubject: utf8 address\n\nhello\n' |
	queue -i "$U@seven.test" "$U@eight.test" k@seven.test)

# 4. 20 KB for a server taking 10000 octets
{
	printf 'From: Me <me@example.org>\nTo: e@small.test\nSubject: too big\n\n'
	i=0
	while [ $i -lt 300 ]; do printf 'line %03d of a long message .......................................\n' $i; i=$((i + 1)); done
} >"$T/m4"
id4=$(queue -t -i <"$T/m4")

# 5. dot-stuffing: "." lines, ".." and ". " at line starts, the last line "."
printf 'From: Me <me@example.org>\nTo: f@eight.test\nSubject: dots\n\n.\n..\n...three\n. space\nmid . dot\n.\r\n.\n' >"$T/m5"
id5=$(queue -t -i <"$T/m5")

expect_eq "five entries queued" "$(queue_count)" 5
timeout 40 "$PALOMA" daemon --once >"$T/once.out" 2>&1
expect_eq "daemon --once exits 0" "$?" 0
expect_eq "every entry done" "$("$PALOMA" queue list)" "The queue is empty."

# --- 1 to a server with 8BITMIME: the bytes as they are ------------------------
m=$(got eight a@eight.test)
expect_eq "8BITMIME: MAIL FROM with SIZE and BODY=8BITMIME" "$(meta "$m" mail_options | tr '\n' ' ')" \
	"SIZE=$(wc -c <"$QUEUE/done/$id1/message" | tr -d ' ') BODY=8BITMIME "
expect_eq "8BITMIME: the receiver saw 8-bit octets" "$(meta "$m" body_8bit)" true
msg_body "$m" >"$T/got1"
check "8BITMIME: received bytes equal the queued message" cmp -s "$T/got1" "$QUEUE/done/$id1/message"
expect_match "8BITMIME: delivered" "$(last_log a@eight.test)" "id=$id1 rcpt=<a@eight.test> result=delivered status=2.0.0 "

# --- 1 to a server without 8BITMIME: quoted-printable -----------------------------
m=$(got seven b@seven.test)
expect_match "no 8BITMIME: delivered" "$(last_log b@seven.test)" "id=$id1 rcpt=<b@seven.test> result=delivered status=2.0.0 "
expect_eq "no 8BITMIME: MAIL FROM without BODY=8BITMIME" "$(meta "$m" mail_options | grep -c BODY)" 0
expect_eq "no 8BITMIME: no BODY parameter seen" "$(meta "$m" body)" ""
expect_eq "no 8BITMIME: the received message is 7-bit" "$(meta "$m" body_8bit)" false
msg_body "$m" >"$T/got1b"
$PY - "$T/got1b" "$T/text1" "$QUEUE/done/$id1/message" >"$T/check1" <<'PY'
import email, sys
raw = open(sys.argv[1], "rb").read()
want = open(sys.argv[2], "rb").read().replace(b"\n", b"\r\n")
queued = email.message_from_bytes(open(sys.argv[3], "rb").read())
m = email.message_from_bytes(raw)
print("7bit", all(b < 128 for b in raw))
print("maxline", max(len(l) for l in raw.split(b"\r\n")))
print("cte", m.get_all("Content-Transfer-Encoding"))
print("decodes", m.get_payload(decode=True) == want)
print("type", m.get_content_type(), m.get_content_charset())
same = all(m[k] == queued[k] for k in ("From", "To", "Subject", "Date", "Message-ID", "Content-Type", "MIME-Version"))
print("headers", same)
PY
c=$(cat "$T/check1")
expect_match "no 8BITMIME: every octet 7-bit" "$c" '^7bit True$'
expect_match "no 8BITMIME: no line over 76 octets (soft breaks)" "$c" '^maxline ([0-9]|[1-6][0-9]|7[0-6])$'
expect_match "no 8BITMIME: one Content-Transfer-Encoding, quoted-printable" "$c" "^cte \\['quoted-printable'\\]$"
expect_match "no 8BITMIME: decodes to exactly the original text" "$c" '^decodes True$'
expect_match "no 8BITMIME: still text/plain; charset=utf-8" "$c" '^type text/plain utf-8$'
expect_match "no 8BITMIME: the other header fields unchanged" "$c" '^headers True$'
expect_match "no 8BITMIME: daemon.log says one part converted" "$(cat "$PLOG")" \
	"$id1: mx.seven.test \\[127.0.0.3\\] has no 8BITMIME: 1 part converted to quoted-printable"

# --- 2: only the 8-bit part converted, the attachment untouched --------------------
m=$(got seven c@seven.test)
expect_match "multipart: delivered" "$(last_log c@seven.test)" "id=$id2 rcpt=<c@seven.test> result=delivered status=2.0.0 "
msg_body "$m" >"$T/got2"
$PY - "$T/got2" "$T/text2" "$T/blob" "$QUEUE/done/$id2/message" >"$T/check2" <<'PY'
import email, sys
raw = open(sys.argv[1], "rb").read()
text = open(sys.argv[2], "rb").read().replace(b"\n", b"\r\n")
blob = open(sys.argv[3], "rb").read()
q = email.message_from_bytes(open(sys.argv[4], "rb").read())
m = email.message_from_bytes(raw)
print("7bit", all(b < 128 for b in raw))
parts = [p for p in m.walk() if not p.is_multipart()]
qparts = [p for p in q.walk() if not p.is_multipart()]
print("parts", len(parts))
print("text cte", parts[0].get_all("Content-Transfer-Encoding"))
print("text decodes", parts[0].get_payload(decode=True) == text)
print("att cte", parts[1].get_all("Content-Transfer-Encoding"))
print("att encoded same", parts[1].get_payload() == qparts[1].get_payload())
print("att headers same", parts[1].items() == qparts[1].items())
print("att decodes", parts[1].get_payload(decode=True) == blob)
print("preamble", m.preamble == q.preamble)
PY
c=$(cat "$T/check2")
expect_match "multipart: every octet 7-bit" "$c" '^7bit True$'
expect_match "multipart: two leaf parts" "$c" '^parts 2$'
expect_match "multipart: the text part is quoted-printable" "$c" "^text cte \\['quoted-printable'\\]$"
expect_match "multipart: the text part decodes to the original" "$c" '^text decodes True$'
expect_match "multipart: the attachment is still base64" "$c" "^att cte \\['base64'\\]$"
expect_match "multipart: the attachment's encoded lines are unchanged" "$c" '^att encoded same True$'
expect_match "multipart: the attachment's header is unchanged" "$c" '^att headers same True$'
expect_match "multipart: the attachment decodes to the original bytes" "$c" '^att decodes True$'
expect_match "multipart: the preamble is kept" "$c" '^preamble True$'
expect_match "multipart: daemon.log says one part converted" "$(cat "$PLOG")" \
	"$id2: mx.seven.test \\[127.0.0.3\\] has no 8BITMIME: 1 part converted"

# --- 3: SMTPUTF8 ----------------------------------------------------------------
m=$(got eight "$U@eight.test")
expect_eq "SMTPUTF8: delivered to the server that has it" "$(meta "$m" rcpt_tos)" "$U@eight.test"
expect_match "SMTPUTF8: with the SMTPUTF8 parameter" "$(meta "$m" mail_options | tr '\n' ' ')" '(^| )SMTPUTF8 $'
expect_eq "SMTPUTF8: the receiver took it as SMTPUTF8" "$(meta "$m" smtputf8)" true
expect_match "SMTPUTF8: delivered in the log" "$(last_log "$U@eight.test")" \
	"id=$id3 rcpt=<j.*rgen@eight.test> result=delivered status=2.0.0 "
expect_match "no SMTPUTF8: failed 5.6.7" "$(last_log "$U@seven.test")" \
	"id=$id3 rcpt=<j.*rgen@seven.test> result=failed status=5.6.7 .*reply=\"paloma: the (address|message) needs SMTPUTF8"
expect_eq "no SMTPUTF8: the server saw no RCPT for it" "$(grep -c 'rgen@seven' "$(smtpd_log seven)")" 0
expect_eq "no SMTPUTF8: nothing received for it" "$(got seven "$U@seven.test")" ""
# only the address needs SMTPUTF8, not the message: its ASCII recipients go
# to any server
m=$(got seven k@seven.test)
expect_match "no SMTPUTF8: the ASCII recipient of the same message delivered" \
	"$(last_log k@seven.test)" "id=$id3 rcpt=<k@seven.test> result=delivered status=2.0.0 "
expect_eq "no SMTPUTF8: ... without the SMTPUTF8 parameter, one RCPT" \
	"$(meta "$m" smtputf8) $(meta "$m" rcpt_tos)" "false k@seven.test"

# --- 4: SIZE ----------------------------------------------------------------------
expect_match "SIZE: failed 5.3.4" "$(last_log e@small.test)" \
	"id=$id4 rcpt=<e@small.test> result=failed status=5.3.4 .*larger than the server accepts \\(10000\\)"
expect_eq "SIZE: no MAIL FROM was sent" "$(grep -c 'MAIL FROM' "$(smtpd_log small)")" 0
expect_eq "SIZE: nothing received" "$(received_count small)" 0

# --- reports for 3 and 4 in the inbox ---------------------------------------------
expect_eq "two failure reports in the inbox" "$(ls "$INBOX" 2>/dev/null | wc -l | tr -d ' ')" 2
for r in "$INBOX"/*; do
	$PY - "$r" <<'PY'
import email, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read())
for p in m.walk():
    if p.get_content_type() == "message/delivery-status":
        for b in p.get_payload()[1:]:
            print("rcpt", str(b["Final-Recipient"]).split(";")[-1].strip(), b["Action"], b["Status"])
PY
done | sort >"$T/reports"
# the address as RFC 6533 writes it in a utf-8 address type: \x{FC} for ü
expect_eq "reports: the UTF-8 address 5.6.7 and the big message 5.3.4" "$(cat "$T/reports")" \
	"$(printf 'rcpt e@small.test failed 5.3.4\nrcpt j\\x{FC}rgen@seven.test failed 5.6.7')"

# --- 5: dot-stuffing --------------------------------------------------------------
m=$(got eight f@eight.test)
msg_body "$m" >"$T/got5"
check "dots: received bytes equal the queued message" cmp -s "$T/got5" "$QUEUE/done/$id5/message"
expect_eq "dots: the body arrived intact" "$(tail -n 7 "$T/got5" | tr -d '\r' | tr '\n' '|')" \
	".|..|...three|. space|mid . dot|.|.|"

# --- 6: a line longer than SMTP carries (998 octets) in a 7-bit message -----------
long=$(head -c 1500 /dev/zero | tr '\0' 'w')
printf 'From: Me <me@example.org>\nTo: g@eight.test\nSubject: long line\n\nshort\n%s\nend\n' "$long" >"$T/m6"
id6=$(queue -t -i <"$T/m6")
timeout 40 "$PALOMA" daemon --once >"$T/once6.out" 2>&1
expect_eq "long line: delivered" "$(last_log g@eight.test | sed 's/.* result=\([a-z]*\).*/\1/')" delivered
m=$(got eight g@eight.test)
msg_body "$m" >"$T/got6"
expect_eq "long line: no line over 998 octets reached the server" \
	"$(tr -d '\r' <"$T/got6" | awk 'length > 998' | wc -l | tr -d ' ')" 0
expect_match "long line: sent as quoted-printable" "$(cat "$T/got6")" '^Content-Transfer-Encoding: quoted-printable'
got6=$($PY -c '
import email, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read())
sys.stdout.write(m.get_payload(decode=True).decode().replace("\r", ""))' "$T/got6")
expect_eq "long line: it decodes to the original text" "$got6" "$(printf 'short\n%s\nend' "$long")"
expect_match "long line: daemon.log says why" "$(cat "$T/once6.out")" \
	"$id6: mx.eight.test \\[127.0.0.2\\] gets lines longer than SMTP allows \\(998 octets\\): 1 part converted"
