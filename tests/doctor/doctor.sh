# paloma doctor on loopback: dnsmasq serves the SPF, DKIM, DMARC, PTR, A/MX
# and blocklist records, smtpd.py is the MX; each check is seen passing and
# failing, in text and in --json, and the exit status tells the worst.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../delivery/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
SMTP_PORT=$(free_port)
PY=/usr/bin/python3

# Two DKIM keys: the published one and another.
for k in good other; do
	openssl genrsa -out "$T/$k.pem" 1024 2>/dev/null
done
pub=$(openssl rsa -in "$T/good.pem" -pubout -outform DER 2>/dev/null | base64 -w0)

start_dns --local=/in-addr.arpa/ --local=/co.uk/ \
	--mx-host=example.test,mx.example.test,10 --host-record=mx.example.test,127.0.0.2 \
	--mx-host=dead.test,mx.dead.test,10 --host-record=mx.dead.test,127.0.0.9 \
	--host-record=mail.good.test,127.0.0.25 \
	--ptr-record=27.0.0.127.in-addr.arpa,mail.liar.test --host-record=mail.liar.test,127.0.0.99 \
	--txt-record=good.test,"v=spf1 ip4:127.0.0.0/24 -all" \
	--txt-record=sel._domainkey.good.test,"v=DKIM1; k=rsa; p=$pub" \
	--txt-record=_dmarc.good.test,"v=DMARC1; p=reject; adkim=r" \
	--txt-record=bigmail.test,"v=spf1 ip4:192.0.2.0/24 -all" \
	--txt-record=_dmarc.bigmail.test,"v=DMARC1; p=reject" \
	--txt-record=plain.test,"v=spf1 a:mail.liar.test ~all" \
	--txt-record=_dmarc.bank.co.uk,"v=DMARC1; p=reject" \
	--txt-record=_dmarc.co.uk,"v=DMARC1; p=none" \
	--host-record=27.0.0.127.bl.test,127.0.0.2 \
	--txt-record=27.0.0.127.bl.test,"listed for sending spam to traps" ||
	{ nok "dnsmasq starts"; exit 0; }
start_smtpd mx 127.0.0.2 || { nok "smtpd starts"; exit 0; }

# conf PUBLIC_IP DKIM_KEY: good.test, bigmail.test and plain.test accounts
conf() {
	cat >"$CONFIG" <<CFG
[general]
maildir = $T/Mail

[account good]
address = me@good.test
dkim_key = $2
dkim_selector = sel

[account big]
address = someone@bigmail.test

[account plain]
address = me@plain.test

[account uk]
address = me@mail.bank.co.uk

[account relayed]
address = other@bigmail.test
transport = relay
relay = smtps://smtp.bigmail.test:465

[delivery]
helo_name = mail.good.test
dns_servers = 127.0.0.1:$DNS_PORT
smtp_port = $SMTP_PORT
timeout_connect = 3
autostart = no
dnsbl = bl.test
${1:+public_ip = $1}
CFG
}

# result JSON ACCOUNT CHECK -> "RESULT why / fix" lines of that check
result() {
	"$PY" -c '
import json, sys
items = json.load(open(sys.argv[1]))
acct = None if sys.argv[2] == "-" else sys.argv[2]
for i in items:
    assert set(i) == {"account", "check", "result", "why", "fix"}, i
    if i["account"] == acct and i["check"] == sys.argv[3]:
        print(i["result"], i["why"], "/", i["fix"])
' "$@"
}

# A queued message tells doctor which MX to try for port 25 (the config
# first: autostart = no, so that no daemon delivers it meanwhile).
conf 127.0.0.25 "$T/good.pem"
printf 'From: me@good.test\nTo: x@example.test\nSubject: s\n\nbody\n' |
	"$PALOMA" send -t -f me@good.test

out=$(timeout 60 "$PALOMA" doctor good); rc=$?
expect_eq "everything right: exit 0" "$rc" 0
expect_match "text: PASS line for spf" "$out" '^PASS  spf  good.test authorises 127.0.0.25 \(ip4:127.0.0.0/24\)$'
expect_match "text: port 25 reached the queue's MX" "$out" "^PASS  port25  connected to mx.example.test \\[127.0.0.2\\] port $SMTP_PORT"
check "text: no WARN or FAIL" sh -c "! printf '%s' \"\$1\" | grep -Eq '^(WARN|FAIL)'" sh "$out"

timeout 60 "$PALOMA" doctor --json >"$T/all.json"; rc=$?
expect_eq "all accounts: worst is a FAIL, exit 2" "$rc" 2
check "--json is a JSON array" "$PY" -c 'import json,sys; assert isinstance(json.load(open(sys.argv[1])), list)' "$T/all.json"
j() { result "$T/all.json" "$@"; }
expect_match "port25 PASS" "$(j - port25)" '^PASS connected to mx.example.test'
expect_match "address PASS (public_ip)" "$(j - address)" '^PASS mail leaves from 127.0.0.25 \(public_ip\)'
expect_match "rdns PASS" "$(j - rdns)" '^PASS 127.0.0.25 has the reverse DNS name mail.good.test'
expect_match "fcrdns PASS" "$(j - fcrdns)" '^PASS mail.good.test points back to 127.0.0.25'
expect_match "helo PASS" "$(j - helo)" '^PASS helo_name mail.good.test resolves to 127.0.0.25'
expect_match "dnsbl PASS" "$(j - dnsbl)" '^PASS 127.0.0.25 is not listed on bl.test'
expect_match "spf PASS" "$(j good spf)" '^PASS good.test authorises 127.0.0.25'
expect_match "dkim PASS" "$(j good dkim)" '^PASS the DKIM record at sel._domainkey.good.test matches'
expect_match "dmarc PASS with alignment" "$(j good dmarc)" '^PASS _dmarc.good.test has DMARC p=reject; aligned: SPF yes, DKIM yes'
expect_match "direct PASS" "$(j good direct)" '^PASS good.test.s DMARC policy p=reject is met'
expect_match "spf FAIL with the record to publish" "$(j big spf)" '^FAIL bigmail.test does not authorise 127.0.0.25 .*/ change the TXT record of bigmail.test to "v=spf1 ip4:127.0.0.25 ip4:192.0.2.0/24 -all"$'
expect_match "dkim WARN without a key" "$(j big dkim)" '^WARN mail from someone@bigmail.test is not signed .*paloma dkim keygen bigmail.test'
expect_match "direct FAIL: use transport = relay" "$(j big direct)" '^FAIL bigmail.test publishes DMARC p=reject .*/ use transport = relay'
# The organizational domain comes from the public suffix list: for
# mail.bank.co.uk it is bank.co.uk (p=reject), never co.uk (p=none).
expect_match "dmarc: the policy of the organizational domain bank.co.uk" "$(j uk dmarc)" '_dmarc.bank.co.uk has DMARC p=reject'
expect_match "direct FAIL under the organizational domain's reject" "$(j uk direct)" '^FAIL .*p=reject'
expect_match "dmarc WARN without a record" "$(j plain dmarc)" '^WARN plain.test has no DMARC record.*_dmarc.plain.test: "v=DMARC1; p=none; rua=mailto:me@plain.test"'
expect_match "spf softfail is a FAIL with the fix" "$(j plain spf)" '^FAIL plain.test does not authorise 127.0.0.25 \(softfail'
expect_match "relay account: direct checks do not apply" "$(j relayed transport)" '^PASS mail from other@bigmail.test leaves through the relay smtp.bigmail.test port 465'
expect_eq "relay account: no direct check" "$(j relayed direct)" ""

# A listed address whose PTR does not point back, a wrong DKIM key.
conf 127.0.0.27 "$T/other.pem"
timeout 60 "$PALOMA" doctor --json good >"$T/bad.json"; rc=$?
expect_eq "failures: exit 2" "$rc" 2
j() { result "$T/bad.json" "$@"; }
expect_match "rdns PASS from --ptr-record" "$(j - rdns)" '^PASS 127.0.0.27 has the reverse DNS name mail.liar.test'
expect_match "fcrdns FAIL" "$(j - fcrdns)" '^FAIL mail.liar.test does not point back to 127.0.0.27: .*publish mail.liar.test A 127.0.0.27'
expect_match "helo FAIL" "$(j - helo)" '^FAIL helo_name mail.good.test does not resolve to 127.0.0.27: .*/ publish mail.good.test A 127.0.0.27'
expect_match "dnsbl FAIL names the zone and its reason" "$(j - dnsbl)" '^FAIL 127.0.0.27 is listed on bl.test \(127.0.0.2: listed for sending spam to traps\)'
expect_match "dkim FAIL: another key" "$(j good dkim)" "^FAIL the DKIM record at sel._domainkey.good.test holds another key.*p=$(openssl rsa -in "$T/other.pem" -pubout -outform DER 2>/dev/null | base64 -w0 | cut -c1-40)"

# No PTR at all; a private public_ip.
conf 10.1.2.3 "$T/good.pem"
timeout 60 "$PALOMA" doctor --json good >"$T/nat.json"
j() { result "$T/nat.json" "$@"; }
expect_match "address WARN for a private public_ip" "$(j - address)" '^WARN public_ip = 10.1.2.3 is a private \(RFC 1918\) address'
expect_match "rdns FAIL without PTR" "$(j - rdns)" '^FAIL 10.1.2.3 has no reverse DNS \(PTR\) name'
expect_match "spf FAIL: not in the record" "$(j good spf)" '^FAIL good.test does not authorise 10.1.2.3 \(fail'

# Port 25 blocked: the queue's only domain has an MX where nothing listens.
rm -rf "$QUEUE"
printf 'From: me@good.test\nTo: x@dead.test\nSubject: s\n\nbody\n' |
	"$PALOMA" send -t -f me@good.test
conf "" "$T/good.pem"
out=$(timeout 60 "$PALOMA" doctor good); rc=$?
expect_eq "blocked: exit 2" "$rc" 2
expect_match "port25 FAIL: use transport = relay" "$out" '^FAIL  port25  could not connect to port [0-9]+ of any mail server tried \(mx.dead.test \[127.0.0.9\]: Connection refused\)'
expect_match "the fix follows, indented" "$out" '^      fix: use transport = relay'
expect_match "address WARN: unknown without a connection" "$out" '^WARN  address  the sending address is unknown'

# Port 25 open but no public_ip: the local address is a loopback one.
rm -rf "$QUEUE"
printf 'From: me@good.test\nTo: x@example.test\nSubject: s\n\nbody\n' |
	"$PALOMA" send -t -f me@good.test
out=$(timeout 60 "$PALOMA" doctor good)
expect_match "address WARN: the connection's local address" "$out" '^WARN  address  this host connects from 127.0.0.1, a loopback address'

# Usage and config errors.
"$PALOMA" doctor nosuch >/dev/null 2>&1
expect_eq "unknown account: 64" "$?" 64
"$PALOMA" doctor --bogus >/dev/null 2>&1
expect_eq "unknown option: 64" "$?" 64
echo "[delivery]
smtp_port = x" >"$CONFIG"
"$PALOMA" doctor >/dev/null 2>&1
expect_eq "bad config: 78" "$?" 78
