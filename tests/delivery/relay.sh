# transport = relay: every recipient through the account's submission server
# over verified TLS (smtps and STARTTLS, a test CA trusted via ca_file) with
# AUTH PLAIN, LOGIN or XOAUTH2; a wrong password deferred with a clear reason,
# then delivered once fixed; an untrusted certificate or a relay without
# STARTTLS deferred before any password is sent.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
SMTP_PORT=$(free_port)
P1=$(free_port)
# relay.test also has an MX record, for mail to relay.test, at a host where
# nothing listens: a relay is reached at its own address, never its MX.
start_dns --host-record=relay.test,127.0.0.20 --host-record=sub.test,127.0.0.21 \
	--host-record=bad.test,127.0.0.22 --host-record=clear.test,127.0.0.23 \
	--mx-host=relay.test,mx.elsewhere.test,10 --host-record=mx.elsewhere.test,127.0.0.29 \
	--mx-host=direct.test,mx.direct.test,10 --host-record=mx.direct.test,127.0.0.24
make_ca_cert relay relay.test
make_ca_cert sub sub.test
make_cert bad bad.test
C="$T/certs"
AUTH="--auth-user me@example.org --auth-password s3cret --require-auth"
start_smtpd relay 127.0.0.20:$P1 --tls-cert "$C/relay.crt" --tls-key "$C/relay.key" --smtps $AUTH
start_smtpd sub 127.0.0.21:$P1 --tls-cert "$C/sub.crt" --tls-key "$C/sub.key" $AUTH --auth-mechs LOGIN
start_smtpd bad 127.0.0.22:$P1 --tls-cert "$C/bad.crt" --tls-key "$C/bad.key" --smtps $AUTH
start_smtpd clear 127.0.0.23:$P1
start_smtpd direct 127.0.0.24
printf 's3cret\n' >"$T/pw"

# relay_config URL [ACCOUNT LINES] - the account sends through URL.
relay_config() {
	cat >"$CONFIG" <<CFG
[general]
maildir = $T/Mail

[account me]
address = me@example.org
user = me@example.org
transport = relay
relay = $1
ca_file = $C/ca.crt
${2:-password_command = cat $T/pw}

[delivery]
helo_name = mail.example.org
autostart = no
$(delivery_config)
CFG
}
send() {
	printf 'From: Me <me@example.org>\nTo: %s\nSubject: relay\n\nbody\n' "$*" |
		"$PALOMA" send "$@" >/dev/null 2>"$T/send.err" || echo "send failed: $(cat "$T/send.err")" >&2
	id=$(ls -t "$QUEUE/entries" | head -n 1)
}
run() { out=$(PALOMA_TEST_TIME_OFFSET=${1:-0} timeout 40 "$PALOMA" daemon --once 2>&1); rc=$?; }
field() {
	f="$QUEUE/entries/$id/envelope"; [ -f "$f" ] || f="$QUEUE/done/$id/envelope"
	awk -v a="Recipient: <$1>" -v k="$2: " '$0 == a { f = 1; next } /^Recipient:/ { f = 0 }
		f && index($0, k) == 1 { print substr($0, length(k) + 1) }' "$f"
}
DELIV="$XDG_STATE_HOME/paloma/delivery.log"

# --- smtps, AUTH PLAIN: two domains, one transaction, no MX lookup (not even
# of relay.test, which has one)
relay_config "smtps://relay.test:$P1"
out=$("$PALOMA" config check 2>&1)
expect_eq "config check accepts the relay account" "$?" 0
send a@example.test b@other.test
run
expect_eq "smtps: daemon exits 0" "$rc" 0
expect_eq "smtps: the relay got one message" "$(received_count relay)" 1
m=$(received relay)
expect_eq "smtps: both domains in one transaction" "$(msg_meta "$m" rcpt_tos | tr '\n' ' ')" "a@example.test b@other.test "
expect_eq "smtps: logged in as the user" "$(msg_meta "$m" auth_user)" "me@example.org"
expect_eq "smtps: over TLS" "$(msg_meta "$m" tls)" true
expect_match "smtps: AUTH PLAIN used" "$(cat "$(smtpd_log relay)")" 'auth PLAIN me@example.org accepted'
check "smtps: the password is not in the daemon log" sh -c "! grep -q s3cret '$XDG_STATE_HOME/paloma/daemon.log'"
expect_match "smtps: delivery log names the relay, via=relay" "$(cat "$DELIV")" \
	"rcpt=<a@example.test> result=delivered status=2.0.0 mx=relay.test ip=127.0.0.20 tls=\"TLS.* via=relay tls_policy=verified$"
expect_match "smtps: the certificate was verified" "$out" 'relay.test \[127.0.0.20\]: TLS .*certificate verified'

# --- STARTTLS, AUTH LOGIN
relay_config "smtp://sub.test:$P1"
send c@example.test
run
expect_eq "starttls: the relay got it" "$(received_count sub)" 1
expect_eq "starttls: logged in with LOGIN" "$(msg_meta "$(received sub)" auth_user)" "me@example.org"
expect_match "starttls: AUTH LOGIN used after STARTTLS" "$(cat "$(smtpd_log sub)")" 'auth LOGIN me@example.org accepted'
expect_eq "starttls: over TLS" "$(msg_meta "$(received sub)" tls)" true

# --- a wrong password: deferred, clear reason, retried once fixed
relay_config "smtps://relay.test:$P1"
printf 'wrong\n' >"$T/pw"
send d@example.test
run
expect_eq "wrong password: deferred" "$(field d@example.test State)" deferred
expect_eq "wrong password: nothing sent" "$(received_count relay)" 1
expect_match "wrong password: the reason names relay, user and reply" "$(field d@example.test Reply)" \
	'^paloma: relay relay.test refused the login for me@example.org: 535 5.7.8'
expect_eq "wrong password: a temporary status" "$(field d@example.test Status)" 4.7.8
expect_match "wrong password: queue show says it" "$("$PALOMA" queue show "$id")" 'refused the login for me@example.org'
expect_match "wrong password: delivery log" "$(cat "$DELIV")" 'rcpt=<d@example.test> result=deferred status=4.7.8 mx=relay.test .*refused the login'
printf 's3cret\n' >"$T/pw"
"$PALOMA" queue flush >/dev/null 2>&1
run 120
expect_eq "fixed password: delivered on the retry" "$(field d@example.test State)" delivered
expect_eq "fixed password: the relay has it" "$(received_count relay)" 2

# --- XOAUTH2 with oauth2_token_command
start_smtpd relay 127.0.0.20:$P1 --tls-cert "$C/relay.crt" --tls-key "$C/relay.key" --smtps \
	--auth-user me@example.org --auth-password tok3n --auth-mechs 'PLAIN XOAUTH2'
printf 'tok3n\n' >"$T/token"
relay_config "smtps://relay.test:$P1" "oauth2_token_command = cat $T/token"
send x@example.test
run
expect_eq "xoauth2: delivered" "$(field x@example.test State)" delivered
expect_match "xoauth2: used" "$(cat "$(smtpd_log relay)")" 'auth XOAUTH2 me@example.org accepted'
printf 'expired\n' >"$T/token"
send y@example.test
run
expect_eq "xoauth2: a bad token deferred" "$(field y@example.test State)" deferred
expect_match "xoauth2: the reason" "$(field y@example.test Reply)" 'refused the login for me@example.org: 535'

# --- an untrusted certificate: deferred, no login
relay_config "smtps://bad.test:$P1"
send e@example.test
run
expect_eq "untrusted: deferred" "$(field e@example.test State)" deferred
expect_match "untrusted: the reason" "$(field e@example.test Reply)" 'TLS handshake failed: TLS certificate not trusted'
expect_eq "untrusted: nothing received" "$(received_count bad)" 0
check "untrusted: no AUTH seen" sh -c "! grep -q 'AUTH' '$(smtpd_log bad)'"

# --- a certificate for another name: deferred
relay_config "smtps://127.0.0.20:$P1"
send h@example.test
run
expect_eq "wrong name: deferred" "$(field h@example.test State)" deferred
expect_match "wrong name: the reason" "$(field h@example.test Reply)" 'TLS certificate not trusted'

# --- no STARTTLS: deferred, no password sent, nothing in clear
relay_config "smtp://clear.test:$P1"
send f@example.test
run
expect_eq "no starttls: deferred" "$(field f@example.test State)" deferred
expect_match "no starttls: the reason" "$(field f@example.test Reply)" 'does not offer STARTTLS'
expect_eq "no starttls: nothing received" "$(received_count clear)" 0
check "no starttls: no AUTH, no MAIL" sh -c "! grep -Eq '> (AUTH|MAIL)' '$(smtpd_log clear)'"

# --- a slow password command holds its own connection, not the daemon: while
# it runs (8 s, as a passphrase prompt would), a message queued meanwhile by
# another account goes out directly; the daemon did not wait for the command.
printf 'tok3n\n' >"$T/pw2"	# the relay's password since the XOAUTH2 part
relay_config "smtps://relay.test:$P1" "password_command = sh -c 'touch $T/started; sleep 8; touch $T/finished; cat $T/pw2'

[account d]
address = d@example.org"
send s@example.test
timeout 40 "$PALOMA" daemon --once >"$T/slow.out" 2>&1 &
dpid=$!
wait_for "[ -e '$T/started' ]" 10
printf 'From: d@example.org\nTo: z@direct.test\nSubject: direct\n\nbody\n' | "$PALOMA" send -t
wait_for '[ "$(received_count direct)" = 1 ]' 6
got=$(received_count direct)
expect_eq "slow password: a message queued meanwhile went out before the command ended" \
	"$got $([ -e "$T/finished" ] && echo finished || echo running)" "1 running"
wait $dpid
expect_eq "slow password: the daemon exits 0" "$?" 0
expect_eq "slow password: then the relayed message delivered" "$(field s@example.test State)" delivered
