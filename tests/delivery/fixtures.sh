#!/bin/sh
# The delivery tests' fixtures prove themselves: dnsmasq on loopback and
# tests/servers/smtpd.py, each behaviour driven by swaks or by a raw client.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
need_cmd swaks
# Nothing here involves paloma: a port of our own keeps this test clear of
# delivery tests running at the same time on 2525.
SMTP_PORT=$(free_port)

FROM=me@example.org

# sw ADDR SWAKS-ARG... - swaks against ADDR:$SMTP_PORT, all output on stdout
sw() {
	_a=$1
	shift
	swaks --server "$_a" --port "$SMTP_PORT" --ehlo client.example.org \
		--from "$FROM" --timeout 5 "$@" 2>&1
}

# talk ADDR ITEM... - a raw SMTP client.  Reads the greeting, then for each
# ITEM sends it and prints the reply lines.  An ITEM with newlines is sent in
# one write (pipelining) and that many replies are read; "@FILE" sends the
# file's bytes as they are and reads one reply; "TLS" sends STARTTLS and does
# the handshake.  Prints EOF, TIMEOUT, "LONG n" (a line over 64 KiB),
# ENDLESS (over 1000 lines in one reply), "TLS version" or "TLSERROR ...".
talk() {
	"$PY" - "$SMTP_PORT" "${TALK_TIMEOUT:-3}" "$@" <<'PY'
import socket, ssl, sys
port, timeout, addr, items = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4:]
s = socket.create_connection((addr, port), timeout=timeout)
f = s.makefile("rb")
def reply():
    n = 0
    while True:
        line = f.readline(65536 + 2)
        if not line:
            print("EOF"); sys.exit(0)
        if len(line) > 65536:
            print("LONG", len(line) + len(f.readline())); return
        n += 1
        if n > 1000:
            print("ENDLESS"); sys.exit(0)
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if n <= 50:
            print(text)
        if len(text) < 4 or text[3] != "-":
            return
try:
    reply()
    for it in items:
        if it == "TLS":
            s.sendall(b"STARTTLS\r\n"); reply()
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            try:
                s = ctx.wrap_socket(s)
            except (ssl.SSLError, OSError) as e:
                print("TLSERROR", e); sys.exit(0)
            f = s.makefile("rb"); print("TLS", s.version()); continue
        if it.startswith("@"):
            s.sendall(open(it[1:], "rb").read()); reply(); continue
        cmds = it.split("\n")
        s.sendall(b"".join(c.encode() + b"\r\n" for c in cmds))
        for _ in cmds:
            reply()
except socket.timeout:
    print("TIMEOUT")
except OSError as e:
    print("EOF", e)
PY
}

# ------------------------------------------------------------------ DNS
start_dns --mx-host=example.test,mx1.example.test,10 \
	--mx-host=example.test,mx2.example.test,20 \
	--host-record=mx1.example.test,127.0.0.2 \
	--host-record=mx2.example.test,127.0.0.3 \
	--host-record=v6.example.test,::1 \
	--mx-host=nullmx.test,.,0 --txt-record=example.test,"v=spf1 -all"
check "dnsmasq runs on a high port" [ "$DNS_PORT" -gt 1024 ]
out=$(dns_query example.test MX | sort)
expect_eq "MX records" "$out" "MX 10 mx1.example.test
MX 20 mx2.example.test
status NOERROR"
expect_eq "host record" "$(dns_query mx2.example.test A)" "status NOERROR
A 127.0.0.3"
expect_eq "AAAA record" "$(dns_query v6.example.test AAAA)" "status NOERROR
AAAA ::1"
expect_eq "null MX" "$(dns_query nullmx.test MX)" "status NOERROR
MX 0 ."
expect_match "TXT record" "$(dns_query example.test TXT)" '^TXT v=spf1 -all$'
expect_eq "unknown name in .test is NXDOMAIN" "$(dns_query nosuch.test MX)" \
	"status NXDOMAIN"
expect_eq "name outside the local zone is refused" \
	"$(dns_query example.com A)" "status REFUSED"
old=$DNS_PORT
start_dns --host-record=mx1.example.test,127.0.0.9
expect_eq "start_dns again restarts on the same port with new records" \
	"$DNS_PORT $(dns_query mx1.example.test A)" "$old status NOERROR
A 127.0.0.9"

# ------------------------------------------------------------------ accept
start_smtpd acc 127.0.0.2 || exit 1
out=$(sw 127.0.0.2 --to a@example.test,b@example.test --pipeline)
expect_match "swaks delivers" "$out" '250 2.0.0 OK queued as 000001'
expect_eq "one spool file" "$(received_count acc)" 1
f=$(received acc)
expect_eq "spool: mail_from" "$(msg_meta "$f" mail_from)" "$FROM"
expect_eq "spool: rcpt_tos" "$(msg_meta "$f" rcpt_tos)" "a@example.test
b@example.test"
expect_eq "spool: EHLO name, no TLS" \
	"$(msg_meta "$f" ehlo) $(msg_meta "$f" esmtp) $(msg_meta "$f" tls)" \
	"client.example.org true false"
log=$(cat "$(smtpd_log acc)")
expect_match "log: EHLO" "$log" '^c1 > EHLO client.example.org$'
expect_match "log: RCPT pipelined" "$log" '^c1 > RCPT TO:<b@example.test> \[pipelined\]$'
expect_match "log: DATA pipelined" "$log" '^c1 > DATA \[pipelined\]$'
expect_match "log: end of data, reply, QUIT" "$log" \
	'c1 > \.$' && expect_match "log: QUIT at the end" \
	"$(tail -n 3 "$(smtpd_log acc)")" '^c1 > QUIT'
expect_match "EHLO offers PIPELINING, 8BITMIME, SMTPUTF8, SIZE" \
	"$(echo "$log" | grep '^c1 < 250' | tr '\n' ' ')" \
	'SIZE 33554432 .*8BITMIME .*SMTPUTF8 .*PIPELINING'

# exact bytes, dot-unstuffing, null sender, parameters, two messages on
# one connection with RSET between them
printf 'Subject: exact\r\n\r\n.leading dot\r\n..two dots\r\n\tcaf\303\251\r\n.\r\n' \
	>"$T/data1"
printf 'Subject: exact\r\n\r\nleading dot\r\n.two dots\r\n\tcaf\303\251\r\n' \
	>"$T/want1"
out=$(talk 127.0.0.2 "EHLO raw.example.org" \
	"MAIL FROM:<> BODY=8BITMIME SMTPUTF8 SIZE=60" "RCPT TO:<c@example.test>" \
	DATA "@$T/data1" RSET "MAIL FROM:<x@example.org>" \
	"RCPT TO:<d@example.test>" DATA "@$T/data1" QUIT)
expect_match "raw client: two messages" "$out" 'queued as 000003'
f=$T/spool/acc/000002.msg
if msg_body "$f" | cmp -s - "$T/want1"; then ok "spool: exact bytes, dot-unstuffed"
else nok "spool: exact bytes" "$(msg_body "$f" | od -c | head)"; fi
expect_eq "spool: null sender, BODY, SMTPUTF8, SIZE, 8-bit body" \
	"[$(msg_meta "$f" mail_from)] $(msg_meta "$f" body) $(msg_meta "$f" smtputf8) $(msg_meta "$f" size) $(msg_meta "$f" body_8bit)" \
	"[] 8BITMIME true 60 true"
expect_eq "spool: one connection, messages 1 and 2" \
	"$(msg_meta "$f" connection) $(msg_meta "$f" message_in_connection) $(msg_meta "$T/spool/acc/000003.msg" connection) $(msg_meta "$T/spool/acc/000003.msg" message_in_connection)" \
	"2 1 2 2"
expect_match "log: RSET between the transactions" \
	"$(grep '^c2 > \(RSET\|MAIL\)' "$(smtpd_log acc)" | tr '\n' '|')" \
	'MAIL FROM:<> .*\|c2 > RSET\|c2 > MAIL FROM:<x@example.org>'
expect_eq "no pipelining flagged when the client waits" \
	"$(grep -c '^c2 .*pipelined' "$(smtpd_log acc)")" 0

# ------------------------------------------------------------------ replies
start_smtpd rej 127.0.0.3 \
	--reject-rcpt 'nobody@example.test=550 5.1.1 No such user' \
	--tempfail-rcpt 'later@example.test' --max-rcpts 3 || exit 1
out=$(sw 127.0.0.3 --to ok@example.test,NoBody@example.test,later@example.test)
expect_match "reject-rcpt (case-insensitive)" "$out" \
	'RCPT TO:<NoBody@example.test>
<\*\* +550 5.1.1 No such user'
expect_match "tempfail-rcpt" "$out" '450 4.2.1 Mailbox temporarily unavailable'
f=$(received rej)
expect_eq "only the accepted recipient is spooled" "$(msg_meta "$f" rcpt_tos)" \
	"ok@example.test"
out=$(talk 127.0.0.3 "HELO x" "MAIL FROM:<a@b.test>" "RCPT TO:<1@t.test>" \
	"RCPT TO:<2@t.test>" "RCPT TO:<3@t.test>" "RCPT TO:<4@t.test>")
expect_match "max-rcpts" "$out" '452 4.5.3 Too many recipients$'
expect_match "aiosmtpd's own replies get enhanced codes" \
	"$(talk 127.0.0.3 "HELO x" "MAIL FROM:<a@b.test>" DATA)" \
	'^503 5.5.1 Error: need RCPT command$'

start_smtpd rejm 127.0.0.4 --reject-mail '553 5.7.1 Sender refused\nSee you' \
	|| exit 1
expect_match "reject-mail with a multi-line reply" \
	"$(talk 127.0.0.4 "HELO x" "MAIL FROM:<a@b.test>")" \
	'^553-5.7.1 Sender refused
553 5.7.1 See you$'

start_smtpd rejd 127.0.0.5 --reject-data '554 5.6.0 Content refused' || exit 1
out=$(sw 127.0.0.5 --to a@example.test)
expect_match "reject-data after the final dot" "$out" '554 5.6.0 Content refused'
expect_eq "... and nothing spooled" "$(received_count rejd)" 0
stop_smtpd rejd
start_smtpd tmpd 127.0.0.5 --tempfail-data --faulty-connections 1 || exit 1
expect_match "tempfail-data" "$(sw 127.0.0.5 --to a@example.test)" \
	'451 4.3.0 Temporary failure'
expect_match "faulty-connections 1: the next connection is served" \
	"$(sw 127.0.0.5 --to a@example.test)" 'queued as 000001'

# ------------------------------------------------------------------ greylist
start_smtpd grey 127.0.0.6 --greylist --greylist-state "$T/grey.json" || exit 1
expect_match "greylist: first attempt 451" "$(sw 127.0.0.6 --to g@example.test)" \
	'451 4.7.1 Greylisted, try again later'
expect_match "greylist: second attempt passes" \
	"$(sw 127.0.0.6 --to g@example.test)" 'queued as 000001'
start_smtpd grey 127.0.0.6 --greylist --greylist-state "$T/grey.json" || exit 1
expect_match "greylist state survives a restart" \
	"$(sw 127.0.0.6 --to g@example.test)" 'queued as 000002'
expect_match "greylist: a new triplet is greylisted" \
	"$(sw 127.0.0.6 --to other@example.test)" '451 4.7.1'

# ------------------------------------------------------------------ greeting
start_smtpd gone 127.0.0.7 --greeting '554 5.7.1 No SMTP service here' || exit 1
expect_eq "554 greeting, then 503 to all but QUIT" \
	"$(talk 127.0.0.7 "EHLO x" "MAIL FROM:<a@b.test>" QUIT)" \
	"554 5.7.1 No SMTP service here
503 5.5.1 No service here (see the greeting)
503 5.5.1 No service here (see the greeting)
221 2.0.0 Bye"
start_smtpd busy 127.0.0.8 --greeting '421 4.3.2 Busy, come back later' || exit 1
expect_match "421 greeting closes" "$(talk 127.0.0.8 "EHLO x")" \
	'^421 4.3.2 Busy, come back later
EOF'

start_smtpd helo 127.0.0.9 --no-ehlo || exit 1
out=$(sw 127.0.0.9 --to a@example.test)
expect_match "no-ehlo: swaks falls back to HELO" "$out" '500 5.5.1 .*
 -> HELO client.example.org'
f=$(received helo)
expect_eq "spool: HELO recorded" "$(msg_meta "$f" ehlo) $(msg_meta "$f" esmtp)" \
	"client.example.org false"

# ------------------------------------------------------------------ capabilities
start_smtpd caps 127.0.0.10 --no-8bitmime --no-pipelining --no-smtputf8 \
	--size-limit 1000 || exit 1
out=$(talk 127.0.0.10 "EHLO x" | tail -n +2)
expect_eq "EHLO without 8BITMIME, PIPELINING, SMTPUTF8; SIZE 1000" "$out" \
	"250-caps.test
250-SIZE 1000
250 ENHANCEDSTATUSCODES"
out=$(talk 127.0.0.10 "EHLO x" "MAIL FROM:<a@b.test> BODY=8BITMIME" \
	"MAIL FROM:<a@b.test> SMTPUTF8" "MAIL FROM:<a@b.test> SIZE=1001")
expect_match "no-8bitmime refuses BODY=8BITMIME" "$out" '^555 5.5.4 BODY=8BITMIME'
expect_match "no-smtputf8 refuses SMTPUTF8" "$out" '^501 5.5.4 Error: SMTPUTF8 disabled'
expect_match "size-limit refuses a larger SIZE=" "$out" '^552 5.3.4 '
"$PY" -c 'print("Subject: big\r\n\r\n" + "x" * 70 + ("\r\n" + "x" * 70) * 20, end="\r\n.\r\n")' >"$T/big"
out=$(talk 127.0.0.10 "EHLO x" "MAIL FROM:<a@b.test>" "RCPT TO:<c@d.test>" DATA "@$T/big")
expect_match "size-limit refuses a larger message after the dot" "$out" \
	'^552 5.3.4 Error: Too much mail data$'
sw 127.0.0.10 --to a@example.test --pipeline >/dev/null
expect_eq "no-pipelining: swaks does not pipeline" \
	"$(grep -c 'pipelined' "$(smtpd_log caps)")" 0

# ------------------------------------------------------------------ drops
start_smtpd drop 127.0.0.11 --drop-at rcpt || exit 1
out=$(sw 127.0.0.11 --to a@example.test)
expect_match "drop-at rcpt: connection lost" "$out" ' -> RCPT TO:<a@example.test>
\*\*\* Remote host closed connection unexpectedly'
expect_match "drop-at is logged" "$(cat "$(smtpd_log drop)")" \
	'^c1 \* fault: drop at rcpt$'
start_smtpd drop 127.0.0.11 --drop-at greeting || exit 1
expect_eq "drop-at greeting" "$(talk 127.0.0.11)" "EOF"
start_smtpd drop 127.0.0.11 --drop-at data || exit 1
expect_match "drop-at data: after the 354" \
	"$(talk 127.0.0.11 "HELO x" "MAIL FROM:<a@b.test>" "RCPT TO:<c@d.test>" DATA "@$T/data1")" \
	'^354 .*
EOF'
start_smtpd drop 127.0.0.11 --drop-at dot --faulty-connections 1 || exit 1
out=$(sw 127.0.0.11 --to a@example.test)
expect_match "drop-at dot: no reply to the message" "$out" \
	' -> \.
\*\*\* Remote host closed connection unexpectedly'
expect_eq "... nothing spooled" "$(received_count drop)" 0
expect_match "... and the next connection delivers" \
	"$(sw 127.0.0.11 --to a@example.test)" 'queued as 000001'
start_smtpd drop 127.0.0.11 --drop-at mid-data:65536 || exit 1
"$PY" -c 'import sys; sys.stdout.write("Subject: huge\r\n\r\n" + ("y" * 998 + "\r\n") * 4000 + ".\r\n")' >"$T/huge"
out=$(talk 127.0.0.11 "HELO x" "MAIL FROM:<a@b.test>" "RCPT TO:<c@d.test>" DATA "@$T/huge")
expect_match "drop-at mid-data: the client's write fails" "$out" '^EOF'
expect_match "... after 64 KiB of data" "$(cat "$(smtpd_log drop)")" \
	'fault: drop at mid-data \([0-9]+ bytes\)'

# ------------------------------------------------------------------ stalls
start_smtpd stall 127.0.0.12 --stall-at rcpt || exit 1
t0=$(date +%s)
out=$(sw 127.0.0.12 --to a@example.test --timeout 2)
t1=$(date +%s)
expect_match "stall-at rcpt: swaks times out" "$out" \
	' -> RCPT TO:<a@example.test>
\*\*\* Timeout \(2 secs\) waiting for server response'
# (swaks waits 2 s for the RCPT reply, then as long again for its QUIT)
check "... after 2 s or so" [ $((t1 - t0)) -ge 2 -a $((t1 - t0)) -le 7 ]
start_smtpd stall 127.0.0.12 --stall-at greeting || exit 1
expect_eq "stall-at greeting" "$(TALK_TIMEOUT=1 talk 127.0.0.12)" "TIMEOUT"

# ------------------------------------------------------------------ bad replies
start_smtpd bad 127.0.0.13 --garbage || exit 1
expect_match "garbage greeting" "$(talk 127.0.0.13 "EHLO x")" \
	'^\*\*\* garbage: this line is not an SMTP reply \*\*\*
250-bad.test$'
start_smtpd bad 127.0.0.13 --huge-reply ehlo --endless-multiline mail || exit 1
out=$(talk 127.0.0.13 "EHLO x" "MAIL FROM:<a@b.test>")
expect_match "huge reply to EHLO (1 MiB line)" "$out" '^LONG 1048582$'
expect_match "endless multi-line reply to MAIL" "$out" \
	'^250-endless multi-line reply, line 0$'
expect_match "... never ends" "$out" '^ENDLESS$'

# ------------------------------------------------------------------ TLS
make_cert tls mx.tls.test || exit 1
start_smtpd tls 127.0.0.14 --tls-cert "$T/certs/tls.crt" \
	--tls-key "$T/certs/tls.key" || exit 1
out=$(sw 127.0.0.14 --to a@example.test --tls)
expect_match "STARTTLS with the self-signed certificate" "$out" \
	'TLS started with cipher TLSv1.[23]'
f=$(received tls)
expect_match "spool: TLS recorded" \
	"$(msg_meta "$f" tls) $(msg_meta "$f" tls_version) $(msg_meta "$f" tls_cipher)" \
	'^true TLSv1\.[23] [A-Z0-9_-]+$'
expect_match "log: tls event" "$(cat "$(smtpd_log tls)")" '^c1 \* tls TLSv1\.[23] '
make_ca_cert signed 127.0.0.15 DNS:mx.signed.test || exit 1
expect_match "make_ca_cert: verifies against the test CA" \
	"$(openssl verify -CAfile "$T/certs/ca.crt" "$T/certs/signed.crt" 2>&1)" ': OK$'

expect_match "make_ca_cert: SANs" \
	"$(openssl x509 -in "$T/certs/signed.crt" -noout -ext subjectAltName)" \
	'IP Address:127.0.0.15, DNS:mx.signed.test'
start_smtpd btls 127.0.0.16 --broken-tls || exit 1
out=$(sw 127.0.0.16 --to a@example.test --tls)
expect_match "broken-tls: STARTTLS offered, 220, then the handshake fails" "$out" \
	'STARTTLS
<- +220 2.0.0 Ready to start TLS
\*\*\* TLS startup failed'
expect_match "broken-tls (raw client)" "$(talk 127.0.0.16 "EHLO x" TLS)" \
	'^TLSERROR '
start_smtpd btls 127.0.0.16 --broken-tls stall --tls-cert "$T/certs/tls.crt" \
	--tls-key "$T/certs/tls.key" || exit 1
expect_match "broken-tls stall" "$(TALK_TIMEOUT=1 talk 127.0.0.16 "EHLO x" TLS)" \
	'^TLSERROR .*timed out'

# ------------------------------------------------------------------ IPv6
if start_smtpd six ::1 2>/dev/null; then
	expect_match "::1 listener" "$(talk ::1 "EHLO x")" '^250 ENHANCEDSTATUSCODES$'
else
	skip "::1 listener" "no IPv6 loopback here"
fi

# ------------------------------------------------------------------ cleanup
pid=$(cat "$T/smtpd-acc.pid")
stop_smtpd acc
check "stop_smtpd stops the server" sh -c "! kill -0 $pid 2>/dev/null"
check "... and its pid file is gone" [ ! -e "$T/smtpd-acc.pid" ]
out=$("$PY" "$SMTPD" --listen 10.0.0.1:2525 --spool "$T/x" --pidfile "$T/x.pid" 2>&1)
expect_match "smtpd.py refuses a non-loopback address" "$out" 'loopback addresses only'
