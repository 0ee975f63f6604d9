#!/bin/sh
# IMAP and POP3 over paloma's own TLS (src/netstream.c on src/tls.c):
# implicit TLS and STARTTLS/STLS against a private Dovecot, certificate
# verification (test CA via ca_file; refused without it, with the host and
# the fingerprint; refused for the wrong host name), wrong password.
. "$(dirname "$0")/../lib.sh"

CHECK="$PALOMA_BUILD/tests/tools/imapcheck"
PY=/usr/bin/python3

skip_file() { skip "$(basename "$0")" "$1"; exit 0; }
command -v dovecot >/dev/null 2>&1 || skip_file "dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)"
command -v doveadm >/dev/null 2>&1 || skip_file "doveadm is not installed"
command -v openssl >/dev/null 2>&1 || skip_file "openssl is not installed"
[ -x "$PY" ] || skip_file "$PY is missing"
[ "$(id -u)" = 0 ] || skip_file "needs root (private Dovecot with mail user uid 8)"
[ -x "$CHECK" ] || skip_file "imapcheck is not built (make units)"

# Four free TCP ports on 127.0.0.1.
set -- $("$PY" -c '
import socket, random
ports = []
while len(ports) < 4:
    p = random.randint(20000, 59999)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    if p not in ports:
        ports.append(p)
print(*ports)
')
IMAP=$1 IMAPS=$2 POP3=$3 POP3S=$4

# A test CA and a server certificate signed by it (localhost, 127.0.0.1).
C="$T/certs"
mkdir -p "$C"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=paloma sync test CA" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-keyout "$C/ca.key" -out "$C/ca.crt" 2>"$C/err" || { cat "$C/err"; exit 1; }
openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
	-keyout "$C/key.pem" -out "$C/req.pem" 2>"$C/err" || { cat "$C/err"; exit 1; }
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$C/ext"
openssl x509 -req -in "$C/req.pem" -CA "$C/ca.crt" -CAkey "$C/ca.key" -CAcreateserial \
	-days 2 -extfile "$C/ext" -out "$C/cert.pem" 2>"$C/err" || { cat "$C/err"; exit 1; }
FP=$(openssl x509 -in "$C/cert.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')

mkdir -p "$T/run" "$T/state" "$T/mail/test"
chown -R 8:8 "$T/mail"
echo "test:{PLAIN}secret:8:8::$T/mail/test" >"$T/passwd"
cat >"$T/dovecot.conf" <<CONF
base_dir = $T/run
state_dir = $T/state
log_path = $T/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <$C/cert.pem
ssl_key = <$C/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $T/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $T/passwd
}
mail_location = maildir:~/Maildir
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 0
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $POP3
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $POP3S
    ssl = yes
  }
}
CONF
dovecot -c "$T/dovecot.conf" || { cat "$T/dovecot.log" 2>/dev/null; exit 1; }
at_exit "doveadm -c '$T/dovecot.conf' stop"

# Ready when the IMAPS port accepts connections (at most 10 s).
i=0
until "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1', $IMAPS), 1).close()" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { nok "dovecot starts" "$(cat "$T/dovecot.log" 2>/dev/null)"; exit 1; }
	sleep 0.1
done

for n in 1 2 3; do
	printf 'From: a@example.test\r\nTo: test@example.test\r\nSubject: message %s\r\n\r\nbody %s\r\n' \
		"$n" "$n" | doveadm -c "$T/dovecot.conf" save -u test
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
