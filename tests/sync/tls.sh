#!/bin/sh
# IMAP and POP3 over paloma's own TLS (src/netstream.c on src/tls.c):
# implicit TLS and STARTTLS/STLS against a private Dovecot, certificate
# verification (test CA via ca_file; refused without it, with the host and
# the fingerprint; refused for the wrong host name), wrong password.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"

CHECK="$PALOMA_BUILD/tests/tools/imapcheck"
[ -x "$CHECK" ] || _skip_file "imapcheck is not built (make units)"

start_dovecot || { nok "dovecot starts"; exit 1; }
IMAP=$IMAP_PORT IMAPS=$IMAPS_PORT POP3=$POP3_PORT POP3S=$POP3S_PORT
C=$CERTS

for n in 1 2 3; do
	printf 'From: a@example.test\r\nTo: test@example.test\r\nSubject: message %s\r\n\r\nbody %s\r\n' \
		"$n" "$n" | dadm save -u test
done

# run MODE HOST PORT USER PASS [CAFILE] — output and status of imapcheck,
# connecting to 127.0.0.1 whatever HOST says.
run() {
	out=$(PL_CONNECT_ADDR=127.0.0.1 timeout 60 "$CHECK" "$@" 2>&1)
	rc=$?
}

run imaps localhost "$IMAPS" test secret "$C/ca.crt"
expect_eq "IMAPS with ca_file: exit 0" "$rc" 0
expect_match "IMAPS: TLS" "$out" '^ok TLS TLSv1\.[23] '
expect_match "IMAPS: login" "$out" '^ok LOGIN$'
expect_match "IMAPS: INBOX holds 3 messages" "$out" '^ok COUNT 3$'
expect_match "IMAPS: logout" "$out" '^ok LOGOUT$'

run imap-starttls localhost "$IMAP" test secret "$C/ca.crt"
expect_eq "IMAP STARTTLS: exit 0" "$rc" 0
expect_match "IMAP STARTTLS: TLS, login, count" "$out" '^ok TLS TLSv1\.[23] '
expect_match "IMAP STARTTLS: count 3" "$out" '^ok COUNT 3$'

run pop3s localhost "$POP3S" test secret "$C/ca.crt"
expect_eq "POP3S: exit 0" "$rc" 0
expect_match "POP3S: login" "$out" '^ok LOGIN$'
expect_match "POP3S: STAT 3" "$out" '^ok COUNT 3$'

run pop3-stls localhost "$POP3" test secret "$C/ca.crt"
expect_eq "POP3 STLS: exit 0" "$rc" 0
expect_match "POP3 STLS: TLS" "$out" '^ok TLS TLSv1\.[23] '
expect_match "POP3 STLS: STAT 3" "$out" '^ok COUNT 3$'

# No ca_file: the system's CAs do not know the test CA.
run imaps localhost "$IMAPS" test secret
expect_eq "IMAPS without ca_file: refused" "$rc" 1
expect_match "... names the host" "$out" 'localhost: certificate not trusted'
expect_match "... says why" "$out" 'self-signed|unable to get local issuer certificate'
expect_match "... shows the SHA-256 fingerprint" "$out" "SHA-256 $FP"
case $out in *"ok LOGIN"*) nok "... no login after a refused certificate" "$out" ;;
*) ok "... no login after a refused certificate" ;; esac

run imap-starttls localhost "$IMAP" test secret
expect_eq "IMAP STARTTLS without ca_file: refused" "$rc" 1
expect_match "... with the fingerprint" "$out" "localhost: certificate not trusted: .*SHA-256 $FP"

run pop3-stls localhost "$POP3" test secret
expect_eq "POP3 STLS without ca_file: refused" "$rc" 1

# The right CA but the wrong name.
run imaps wrong.test "$IMAPS" test secret "$C/ca.crt"
expect_eq "certificate for another host name: refused" "$rc" 1
expect_match "... names wrong.test and the mismatch" "$out" 'wrong\.test: certificate not trusted: .*hostname mismatch'
run pop3s wrong.test "$POP3S" test secret "$C/ca.crt"
expect_eq "POP3S, another host name: refused" "$rc" 1

# Wrong password.
run imaps localhost "$IMAPS" test wrong "$C/ca.crt"
expect_eq "IMAP wrong password: exit 1" "$rc" 1
expect_match "... a clear error" "$out" '^error: LOGIN: .*(Authentication failed|AUTHENTICATIONFAILED)'
run pop3s localhost "$POP3S" test wrong "$C/ca.crt"
expect_eq "POP3 wrong password: exit 1" "$rc" 1
expect_match "... a clear error" "$out" '^error: LOGIN: .*(Authentication failed|AUTH)'

# Nothing listening: a clear connect error, no hang.
"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' >"$T/deadport"
run imaps localhost "$(cat "$T/deadport")" test secret "$C/ca.crt"
expect_eq "closed port: exit 1" "$rc" 1
expect_match "... says so" "$out" 'cannot connect: Connection refused'

# A server that accepts and never says a word: the read times out.
"$PY" -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(5)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' >"$T/silentport" &
SILENT_PID=$!
at_exit "kill $SILENT_PID"
i=0
until [ -s "$T/silentport" ] || [ $i -ge 50 ]; do i=$((i + 1)); sleep 0.1; done
start=$(date +%s)
out=$(PL_STREAM_TIMEOUT_S=2 PL_CONNECT_ADDR=127.0.0.1 timeout 30 "$CHECK" imap-starttls \
	localhost "$(cat "$T/silentport")" test secret "$C/ca.crt" 2>&1)
rc=$?
end=$(date +%s)
expect_eq "silent server: exit 1" "$rc" 1
expect_match "... timed out, said so" "$out" 'greeting: .*timed out after 2 s'
check "... within a few seconds" [ $((end - start)) -lt 10 ]
