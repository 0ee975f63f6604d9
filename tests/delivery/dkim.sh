# DKIM end to end: `paloma dkim keygen` writes a private key and the record to
# publish; `paloma send` signs for an account with dkim_key, after making
# the message 7-bit-safe, so that the signature python3-dkim checks holds at
# a server with 8BITMIME and at one without it (sign what is sent); a key
# open to others, or libopendkim missing, queues nothing; `paloma dkim
# check` passes against the published record and fails, saying what to
# publish, when it is missing or holds another key.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
SMTP_PORT=$(free_port)
DLOG="$XDG_STATE_HOME/paloma/delivery.log"
"$PY" -c 'import dkim' 2>/dev/null || _skip_file "python3-dkim is missing (apt-get install python3-dkim)"

# --- keygen ----------------------------------------------------------------------
"$PALOMA" dkim keygen example.test --selector sel1 >"$T/keygen.out" 2>&1
expect_eq "keygen: exits 0" "$?" 0
KEY="$XDG_CONFIG_HOME/paloma/dkim/example.test.sel1.pem"
expect_eq "keygen: the key is 0600" "$(stat -c %a "$KEY" 2>&1)" 600
expect_eq "keygen: its directory is 0700" "$(stat -c %a "$(dirname "$KEY")" 2>&1)" 700
expect_match "keygen: a 2048-bit RSA key" "$(openssl pkey -in "$KEY" -noout -text 2>&1 | head -n 1)" \
	'Private-Key: \(2048 bit'
REC=$(grep '^sel1\._domainkey\.example\.test\. IN TXT "' "$T/keygen.out")
expect_match "keygen: prints the TXT record, in strings of at most 255 octets" "$REC" \
	'^sel1\._domainkey\.example\.test\. IN TXT "v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]{200,255}" "[A-Za-z0-9+/=]+"$'
TXT=$(printf '%s' "$REC" | sed 's/^[^"]*"//; s/"$//; s/" "//g')
expect_eq "keygen: p= is the key's public half" "${TXT#v=DKIM1; k=rsa; p=}" \
	"$(openssl pkey -in "$KEY" -pubout -outform DER 2>/dev/null | base64 -w 0)"
expect_match "keygen: prints the lines for the config" "$(cat "$T/keygen.out")" \
	"dkim_key = $KEY"
sum=$(md5sum <"$KEY")
"$PALOMA" dkim keygen example.test --selector sel1 >"$T/keygen2.out" 2>&1
expect_eq "keygen: never overwrites a key (exit 73)" "$?" 73
expect_match "keygen: ... and says so" "$(cat "$T/keygen2.out")" 'exists already: it is never overwritten'
expect_eq "keygen: ... the key unchanged" "$(md5sum <"$KEY")" "$sum"
"$PALOMA" dkim keygen example.test --selector other --out "$T/other.pem" >"$T/keygen3.out" 2>&1
OTHER_TXT=$(grep '_domainkey' "$T/keygen3.out" | sed 's/^[^"]*"//; s/"$//; s/" "//g')

# --- the servers -----------------------------------------------------------------
start_dns --mx-host=eight.test,mx.eight.test,10 --host-record=mx.eight.test,127.0.0.2 \
	--mx-host=seven.test,mx.seven.test,10 --host-record=mx.seven.test,127.0.0.3 \
	"--txt-record=sel1._domainkey.example.test,$TXT"
start_smtpd eight 127.0.0.2
start_smtpd seven 127.0.0.3 --no-8bitmime
cat >"$CONFIG" <<CFG
[general]
maildir = $T/Mail

[account me]
address = me@example.test
name = Paloma Tester
dkim_key = $KEY
dkim_selector = sel1

[delivery]
helo_name = mail.example.test
$(delivery_config)
autostart = no
CFG

# verify FILE [TXT]: python3-dkim's verdict on a message, the DNS answered
# from TXT (the published record by default)
verify() {
	"$PY" - "$1" "${2:-$TXT}" <<'PY'
import dkim, sys
m = open(sys.argv[1], "rb").read()
rec = sys.argv[2].encode()
def dns(name, timeout=5):
    return rec if name == b"sel1._domainkey.example.test." else None
print(dkim.verify(m, dnsfunc=dns))
PY
}

# --- a key open to others, libopendkim missing: nothing queued ---------------------
msg='From: Paloma Tester <me@example.test>\nTo: x@eight.test\nSubject: refused\n\nhi\n'
chmod 640 "$KEY"
printf "$msg" | "$PALOMA" send -t >"$T/send.out" 2>&1
expect_eq "group-readable key: exit 78" "$?" 78
expect_match "group-readable key: says why and how to fix it" "$(cat "$T/send.out")" \
	"DKIM key $KEY is open to others \\(mode 0640\\).*chmod 600"
expect_eq "group-readable key: nothing queued" "$(queue_count)" 0
chmod 600 "$KEY"
printf "$msg" | PALOMA_DKIM_LIBRARY=libopendkim-not-here.so.11 "$PALOMA" send -t >"$T/send.out" 2>&1
expect_eq "no libopendkim: exit 69" "$?" 69
expect_match "no libopendkim: says what to install" "$(cat "$T/send.out")" 'install libopendkim11'
expect_eq "no libopendkim: nothing queued" "$(queue_count)" 0

# --- an 8-bit message with a long line and an attachment --------------------------
head -c 3000 /dev/urandom >"$T/blob"
{
	printf 'From: Paloma Tester <me@example.test>\nTo: a@eight.test, b@seven.test\n'
	printf 'Subject: sign what is sent\nMIME-Version: 1.0\n'
	printf 'Content-Type: multipart/mixed; boundary="b0und"\n\n--b0und\n'
	printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
	printf 'Gr\303\274\303\237e aus K\303\266ln\ntrailing blanks   \n'
	head -c 1500 /dev/zero | tr '\0' 'w'
	printf '\n.\n--b0und\nContent-Type: application/octet-stream; name="blob.bin"\n'
	printf 'Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="blob.bin"\n\n'
	base64 -w 76 "$T/blob"
	printf '\n--b0und--\n'
} >"$T/m1"
"$PALOMA" send -t -i <"$T/m1"
expect_eq "send: queued" "$?" 0
id=$(ls "$QUEUE/entries")
Q="$QUEUE/entries/$id/message"
expect_match "send: the signature is the first field" "$(head -n 1 "$Q")" \
	'^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test;'
expect_eq "send: the queued message is 7-bit" "$(LC_ALL=C grep -c '[^[:print:][:space:]]' "$Q")" 0
expect_eq "send: no line over 998 octets" "$(tr -d '\r' <"$Q" | awk 'length > 998' | wc -l | tr -d ' ')" 0
expect_eq "send: python3-dkim verifies the queued message" "$(verify "$Q")" True
expect_eq "send: ... and not against another key" "$(verify "$Q" "$OTHER_TXT")" False
cp "$Q" "$T/queued"

timeout 40 "$PALOMA" daemon --once >"$T/once.out" 2>&1
expect_eq "daemon --once exits 0" "$?" 0
expect_match "delivered to the 8BITMIME server" "$(grep -F 'rcpt=<a@eight.test>' "$DLOG")" 'result=delivered'
expect_match "delivered to the server without 8BITMIME" "$(grep -F 'rcpt=<b@seven.test>' "$DLOG")" 'result=delivered'
for s in eight seven; do
	f=$(received $s | head -n 1)
	msg_body "$f" >"$T/got-$s"
	check "$s: received bytes equal the signed message" cmp -s "$T/got-$s" "$T/queued"
	expect_eq "$s: python3-dkim verifies the received message" "$(verify "$T/got-$s")" True
done
expect_eq "no part converted by the daemon" "$(grep -c 'converted to quoted-printable' \
	"$XDG_STATE_HOME/paloma/daemon.log" "$T/once.out" 2>/dev/null | awk -F: '{s += $NF} END {print s + 0}')" 0
"$PY" - "$T/got-seven" "$T/blob" >"$T/parts" <<'PY'
import email, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read())
p = [x for x in m.walk() if not x.is_multipart()]
print("text", p[0].get_payload(decode=True).decode("utf-8").startswith("Grüße aus Köln\r\ntrailing blanks   \r\nwww"))
print("blob", p[1].get_payload(decode=True) == open(sys.argv[2], "rb").read())
PY
expect_match "the text decodes to the original" "$(cat "$T/parts")" '^text True$'
expect_match "the attachment decodes to the original" "$(cat "$T/parts")" '^blob True$'

# --- paloma dkim check -----------------------------------------------------------
"$PALOMA" dkim check >"$T/check.out" 2>&1
expect_eq "check: passes (exit 0)" "$?" 0
expect_match "check: the record matches" "$(cat "$T/check.out")" \
	'^PASS record: sel1\._domainkey\.example\.test publishes this key'
expect_match "check: the key is private" "$(cat "$T/check.out")" '^PASS key: .* RSA 2048 bits'
expect_eq "check: no FAIL" "$(grep -c '^FAIL' "$T/check.out")" 0
[ "$(grep -c "^FAIL" "$T/check.out")" = 0 ] || sed "s/^/# /" "$T/check.out"

start_dns --mx-host=eight.test,mx.eight.test,10
"$PALOMA" dkim check me >"$T/check.out" 2>&1
expect_eq "check, no record: exit 1" "$?" 1
expect_match "check, no record: FAIL, with the record to publish" "$(cat "$T/check.out")" \
	'^FAIL record: sel1\._domainkey\.example\.test has no TXT record'
expect_match "check, no record: ... the record itself" "$(cat "$T/check.out")" \
	"sel1\\._domainkey\\.example\\.test\\. IN TXT \"v=DKIM1; k=rsa; p="

start_dns "--txt-record=sel1._domainkey.example.test,$OTHER_TXT"
"$PALOMA" dkim check me >"$T/check.out" 2>&1
expect_eq "check, another key published: exit 1" "$?" 1
expect_match "check, another key published: FAIL, says it is another key" "$(cat "$T/check.out")" \
	'^FAIL record: the TXT record of sel1\._domainkey\.example\.test does not match the key: its p= is another key'

chmod 644 "$KEY"
"$PALOMA" dkim check me >"$T/check.out" 2>&1
expect_eq "check, key open to others: exit 1" "$?" 1
expect_match "check, key open to others: FAIL with the chmod" "$(cat "$T/check.out")" '^FAIL key: .*chmod 600'
chmod 600 "$KEY"
