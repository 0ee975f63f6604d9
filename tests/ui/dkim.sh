#!/bin/sh
# The pager's Auth line for mail that came without Authentication-Results:
# paloma verifies the DKIM signature itself, asking a real DNS server (a
# dnsmasq of the test's own) for the key: a message signed by python3-dkim
# passes, the same with its body changed fails, one whose key is not
# published is a permerror; a message with the provider's results shows
# those, said to be theirs, and asks DNS nothing; re-opening a message asks
# nothing again.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/delivery/lib.sh"
"$PY" -c 'import dkim' 2>/dev/null || _ui_skip "python3-dkim is missing (apt-get install python3-dkim)"
command -v openssl >/dev/null 2>&1 || _ui_skip "openssl is missing"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/dkim.pem" 2>/dev/null
PUB=$(openssl pkey -in "$T/dkim.pem" -pubout -outform DER 2>/dev/null | base64 -w 0)
start_dns --log-queries --log-facility="$T/dns.log" \
	"--txt-record=sel._domainkey.signed.test,v=DKIM1; k=rsa; p=$PUB" ||
	{ nok "dnsmasq starts"; exit 1; }
UI_CONFIG_EXTRA="dns_servers = 127.0.0.1:$DNS_PORT"
ui_sandbox light

# Four messages, signed with CRLF as DKIM wants, stored with LF as a
# Maildir file usually is.
mkdir -p "$T/dkim"
"$PY" - "$T/dkim.pem" "$T/dkim" <<'PY'
import dkim, email.utils, sys, time
key = open(sys.argv[1], "rb").read()
out = sys.argv[2]
def msg(subject, body, extra=b""):
    return extra + (b"From: Sig Ned <sig@signed.test>\r\nTo: demo@example.test\r\n"
        b"Subject: " + subject + b"\r\nDate: " + email.utils.formatdate().encode() +
        b"\r\nMessage-ID: <" + subject.replace(b" ", b".") + b"@signed.test>\r\n\r\n" + body)
def signed(m, selector=b"sel"):
    return dkim.sign(m, selector, b"signed.test", key,
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"]) + m
def store(name, data):
    open(out + "/" + name + ".eml", "wb").write(data.replace(b"\r\n", b"\n"))
body = b"Hello from a signed domain.\r\n\r\nSig\r\n"
store("1-good", signed(msg(b"DKIM signed hello", body)))
store("2-tampered", signed(msg(b"DKIM tampered hello", body)).replace(
    b"Hello from", b"Goodbye from"))
store("3-nokey", signed(msg(b"DKIM unpublished hello", body), b"nokey"))
ar = b"Authentication-Results: mx.provider.test; dkim=pass header.d=signed.test; spf=pass\r\n"
store("4-provider", ar + signed(msg(b"DKIM provider hello", body), b"prov"))
PY
_sb_to_maildir "$T/dkim" "$MAILDIR/demo/INBOX" && nm new >/dev/null 2>&1 ||
	{ nok "the signed messages are indexed"; exit 1; }

ui_start
ui_expect "the index is drawn" 'Quarterly report Q3' || { nok "the rest needs the index"; exit 1; }

open_query() {
	ui_keys /
	ui_type "$1"
	ui_keys Enter
	ui_wait_gone 'Quarterly report Q3' 5
	ui_keys Enter
}
back() { ui_keys q q; ui_wait_for 'Quarterly report Q3' 5; }
key_queries() { grep -c "query\[TXT\] $1\._domainkey\.signed\.test" "$T/dns.log"; }

open_query 'subject:"DKIM signed hello"'
ui_expect "signed, key in DNS: pass, verified by paloma" \
	'^Auth: DKIM pass \(signed\.test\), verified by paloma$'
back
open_query 'subject:"DKIM tampered hello"'
ui_expect "body changed after signing: fail, checked by paloma" \
	'^Auth: DKIM fail \(signed\.test: body hash did not verify\), checked by paloma$'
back
open_query 'subject:"DKIM unpublished hello"'
ui_expect "no key published: permerror" \
	'^Auth: DKIM permerror \(signed\.test: no key published\), checked by paloma$'
back
open_query 'subject:"DKIM provider hello"'
ui_expect "the provider's Authentication-Results: those, according to its server" \
	'^Auth: DKIM pass \(signed\.test\), SPF pass, according to mx\.provider\.test$'
back
open_query 'subject:"DKIM signed hello"'
ui_expect "re-opened: the same line" '^Auth: DKIM pass \(signed\.test\), verified by paloma$'
ui_quit

expect_eq "the key was asked for once (remembered for the session)" "$(key_queries sel)" 1
expect_eq "the unpublished key once" "$(key_queries nokey)" 1
expect_eq "nothing asked for the message with the provider's results" "$(key_queries prov)" 0
