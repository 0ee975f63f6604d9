# transport = direct with a fallback_relay: when every MX of a domain refuses
# the connection, or one rejects the sending host's reputation (554 / 5.7.x
# naming a blocklist), the recipient goes through the fallback relay and the
# log says why; an ordinary 550 user unknown still bounces, with no fallback.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
SMTP_PORT=$(free_port)
P1=$(free_port)
# closed.test's MX listens nowhere; listed.test's refuses us by reputation
start_dns --mx-host=closed.test,mx.closed.test,10 --host-record=mx.closed.test,127.0.0.30 \
	--mx-host=listed.test,mx.listed.test,10 --host-record=mx.listed.test,127.0.0.31 \
	--mx-host=unknown.test,mx.unknown.test,10 --host-record=mx.unknown.test,127.0.0.32 \
	--host-record=relay.test,127.0.0.33
make_ca_cert relay relay.test
C="$T/certs"
start_smtpd listed 127.0.0.31 --reject-rcpt '*=554 5.7.1 Service unavailable; Client host [127.0.0.1] listed at zen.spamhaus.org'
start_smtpd unknown 127.0.0.32 --reject-rcpt '*=550 5.1.1 User unknown'
start_smtpd relay 127.0.0.33:$P1 --tls-cert "$C/relay.crt" --tls-key "$C/relay.key" --smtps \
	--auth-user me@example.org --auth-password s3cret --require-auth
printf 's3cret\n' >"$T/pw"
cat >"$CONFIG" <<CFG
[general]
maildir = $T/Mail

[account me]
address = me@example.org
user = me@example.org
password_command = cat $T/pw
ca_file = $C/ca.crt
fallback_relay = smtps://relay.test:$P1

[delivery]
helo_name = mail.example.org
autostart = no
$(delivery_config)
CFG
DLOG="$XDG_STATE_HOME/paloma/daemon.log"
DELIV="$XDG_STATE_HOME/paloma/delivery.log"

printf 'From: Me <me@example.org>\nTo: a@closed.test, b@listed.test, c@unknown.test\nSubject: fb\n\nbody\n' |
	"$PALOMA" send -t
out=$(timeout 40 "$PALOMA" daemon --once 2>&1); rc=$?
expect_eq "daemon exits 0" "$rc" 0
expect_eq "the fallback relay got both" "$(received relay | while read -r m; do msg_meta "$m" rcpt_tos; done | sort | tr '\n' ' ')" "a@closed.test b@listed.test "
expect_eq "the listed MX accepted nothing" "$(received_count listed)" 0
expect_match "log: why closed.test went through the relay" "$(cat "$DLOG")" \
	'<a@closed.test> via fallback relay relay.test: every MX of closed.test refused the connection'
expect_match "log: why listed.test went through the relay" "$(cat "$DLOG")" \
	'<b@listed.test> via fallback relay relay.test: mx.listed.test \[127.0.0.31\] refused the sending host.s reputation: 554 5.7.1 .*spamhaus'
expect_match "delivery log: via=fallback" "$(cat "$DELIV")" 'rcpt=<a@closed.test> result=delivered status=2.0.0 mx=relay.test .*via=fallback tls_policy=verified$'
expect_match "delivery log: listed, via=fallback" "$(cat "$DELIV")" 'rcpt=<b@listed.test> result=delivered .*via=fallback tls_policy=verified$'
expect_match "user unknown: bounced as usual" "$(cat "$DELIV")" 'rcpt=<c@unknown.test> result=failed status=5.1.1 mx=mx.unknown.test '
check "user unknown: no fallback" sh -c "! grep -q 'c@unknown.test.*fallback' '$DELIV' '$DLOG'"
