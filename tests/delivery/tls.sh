# STARTTLS toward MX hosts: opportunistic TLS takes a self-signed
# certificate (logged as unverified); a broken handshake (garbage, an
# immediate close, silence) under tls = opportunistic is retried in clear and
# delivers exactly once; under tls = required the same servers, and a server
# without STARTTLS, get nothing in clear and the recipients are deferred
# with a 4.7.x status, again on the next attempt.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
SMTP_PORT=$(free_port)
DLOG="$XDG_STATE_HOME/paloma/delivery.log"
PLOG="$XDG_STATE_HOME/paloma/daemon.log"

# domain NAME ADDR: NAME.test has the MX mx.NAME.test at ADDR
dns_args=""
for d in good:2 garbage:3 close:4 stall:5 rgood:6 rgarbage:7 rclose:8 rnotls:9; do
	n=${d%%:*} a=127.0.0.${d#*:}
	dns_args="$dns_args --mx-host=$n.test,mx.$n.test,10 --host-record=mx.$n.test,$a"
done
# shellcheck disable=SC2086
start_dns $dns_args
make_cert good mx.good.test
make_cert rgood mx.rgood.test
start_smtpd good 127.0.0.2 --tls-cert "$T/certs/good.crt" --tls-key "$T/certs/good.key"
start_smtpd garbage 127.0.0.3 --broken-tls garbage
start_smtpd close 127.0.0.4 --broken-tls close
start_smtpd stall 127.0.0.5 --broken-tls stall
start_smtpd rgood 127.0.0.6 --tls-cert "$T/certs/rgood.crt" --tls-key "$T/certs/rgood.key"
start_smtpd rgarbage 127.0.0.7 --broken-tls garbage
start_smtpd rclose 127.0.0.8 --broken-tls close
start_smtpd rnotls 127.0.0.9

# last_log RCPT: the delivery log's last line for that recipient
last_log() { grep -F "rcpt=<$1>" "$DLOG" | tail -n 1; }
# dialogue SERVER CONN: the lines of one connection in a server's log
dialogue() { grep "^c$2 " "$(smtpd_log "$1")"; }

# --- tls = opportunistic ----------------------------------------------------
# timeout_command bounds the STARTTLS handshake: the stalled one gives up
# after 2 s instead of 5 minutes.
write_config "$(delivery_config)
autostart = no
tls = opportunistic
timeout_command = 2"
printf 'From: me@example.org\nTo: a@good.test, b@garbage.test, c@close.test, d@stall.test\nSubject: tls\n\nsecret body\n' |
	"$PALOMA" send -t
id=$(ls "$QUEUE/entries")
timeout 40 "$PALOMA" daemon --once >"$T/once1.out" 2>&1
expect_eq "opportunistic: daemon --once exits 0" "$?" 0
expect_eq "opportunistic: every recipient delivered, the queue is empty" \
	"$("$PALOMA" queue list)" "The queue is empty."

# a self-signed certificate is good enough for opportunistic TLS
expect_eq "self-signed: one message received" "$(received_count good)" 1
m=$(received good)
expect_eq "self-signed: received over TLS" "$(msg_meta "$m" tls)" true
expect_match "self-signed: with a TLS version" "$(msg_meta "$m" tls_version)" '^TLSv1\.[23]$'
expect_match "self-signed: delivery log names the TLS version and cipher" "$(last_log a@good.test)" \
	"id=$id rcpt=<a@good.test> result=delivered status=2.0.0 mx=mx.good.test ip=127.0.0.2 tls=\"TLSv1\\.[23] [A-Z0-9_-]+\" reply=\"250 "
expect_match "self-signed: daemon.log says the certificate did not verify" "$(cat "$PLOG")" \
	'mx\.good\.test \[127\.0\.0\.2\]: TLS TLSv1\.[23] [A-Z0-9_-]+, certificate not verified \(self-signed certificate\)$'
expect_match "self-signed: daemon --once logs it on stderr too" "$(cat "$T/once1.out")" \
	'certificate not verified \(self-signed certificate\)'
expect_eq "self-signed: one connection" "$(grep -c '\* connect' "$(smtpd_log good)")" 1
expect_eq "self-signed: STARTTLS, then EHLO again, then the transaction" \
	"$(grep -o '> \(EHLO\|STARTTLS\|MAIL FROM\)' "$(smtpd_log good)" | tr '\n' ' ')" \
	"> EHLO > STARTTLS > EHLO > MAIL FROM "
msg_body "$m" >"$T/got"
check "self-signed: received bytes equal the queued message" cmp -s "$T/got" "$QUEUE/done/$id/message"

# broken handshakes: retried in clear at once, exactly one copy
for srv in garbage close stall; do
	case $srv in garbage) r=b ip=3 ;; close) r=c ip=4 ;; stall) r=d ip=5 ;; esac
	expect_eq "broken TLS ($srv): exactly one copy received" "$(received_count $srv)" 1
	m=$(received $srv)
	expect_eq "broken TLS ($srv): received in clear" "$(msg_meta "$m" tls)" false
	expect_eq "broken TLS ($srv): by the second connection" "$(msg_meta "$m" connection)" 2
	expect_eq "broken TLS ($srv): two connections in all" "$(grep -c '\* connect' "$(smtpd_log $srv)")" 2
	expect_match "broken TLS ($srv): the first one tried STARTTLS" "$(dialogue $srv 1)" '> STARTTLS$'
	expect_eq "broken TLS ($srv): the first one sent no MAIL FROM" "$(dialogue $srv 1 | grep -c 'MAIL FROM')" 0
	expect_eq "broken TLS ($srv): the retry did not try STARTTLS" "$(dialogue $srv 2 | grep -c '> STARTTLS')" 0
	expect_match "broken TLS ($srv): delivery log: delivered with tls=none" "$(last_log $r@$srv.test)" \
		"rcpt=<$r@$srv.test> result=delivered status=2.0.0 mx=mx.$srv.test ip=127.0.0.$ip tls=none reply=\"250 "
	expect_match "broken TLS ($srv): daemon.log says the handshake failed" "$(cat "$PLOG")" \
		"mx\\.$srv\\.test \\[127\\.0\\.0\\.$ip\\]: TLS handshake failed: "
	expect_match "broken TLS ($srv): daemon.log says it was retried in clear" "$(cat "$PLOG")" \
		"$srv\\.test: TLS handshake with mx\\.$srv\\.test \\[127\\.0\\.0\\.$ip\\] failed; trying it again in clear"
	expect_eq "broken TLS ($srv): one delivery log line (no deferral)" "$(grep -c "rcpt=<$r@$srv.test>" "$DLOG")" 1
done
expect_match "stalled handshake: the reason is the silence" "$(cat "$PLOG")" \
	'mx\.stall\.test \[127\.0\.0\.5\]: TLS handshake failed: no answer within 2 seconds'

# --- tls = required -----------------------------------------------------------
write_config "$(delivery_config)
autostart = no
tls = required
timeout_command = 2"
printf 'From: me@example.org\nTo: e@rgood.test, f@rgarbage.test, g@rclose.test, h@rnotls.test\nSubject: tls required\n\nsecret body\n' |
	"$PALOMA" send -t
id2=$(ls "$QUEUE/entries" | grep -vx "$id")
timeout 40 "$PALOMA" daemon --once >"$T/once2.out" 2>&1
expect_eq "required: daemon --once exits 0" "$?" 0

expect_eq "required: a self-signed certificate is enough" "$(received_count rgood)" 1
expect_eq "required: ... and it went over TLS" "$(msg_meta "$(received rgood)" tls)" true
expect_match "required: delivery log for it" "$(last_log e@rgood.test)" \
	"id=$id2 rcpt=<e@rgood.test> result=delivered status=2.0.0 mx=mx.rgood.test ip=127.0.0.6 tls=\"TLSv1"

for srv in rgarbage rclose rnotls; do
	case $srv in rgarbage) r=f st='4\.7\.[0-9]+' ;; rclose) r=g st='4\.7\.[0-9]+' ;; rnotls) r=h st='4\.7\.4' ;; esac
	expect_eq "required ($srv): nothing received" "$(received_count $srv)" 0
	expect_eq "required ($srv): no MAIL FROM in its dialogue" "$(grep -c 'MAIL FROM' "$(smtpd_log $srv)")" 0
	expect_eq "required ($srv): one connection only (no retry in clear)" \
		"$(grep -c '\* connect' "$(smtpd_log $srv)")" 1
	expect_match "required ($srv): deferred with $st" "$(last_log $r@$srv.test)" \
		"id=$id2 rcpt=<$r@$srv.test> result=deferred status=$st "
done
expect_match "required (rnotls): the reason says STARTTLS is missing" "$(last_log h@rnotls.test)" \
	'reply="paloma: TLS is required for this host, but it does not offer STARTTLS"'
expect_match "required (rgarbage): the reason is the handshake" "$(last_log f@rgarbage.test)" \
	'reply="paloma: the TLS handshake failed"'
expect_eq "required: no TLS retry in clear logged" "$(grep -c 'rgarbage.test: TLS handshake .* trying it again in clear' "$PLOG")" 0
show=$("$PALOMA" queue list)
expect_match "required: the entry stays queued, three recipients deferred" "$show" \
	"f@rgarbage.test \\(deferred.*g@rclose.test \\(deferred.*h@rnotls.test \\(deferred"

# the next attempt: still never in clear
PALOMA_TEST_TIME_OFFSET=3600 timeout 40 "$PALOMA" daemon --once >"$T/once3.out" 2>&1
expect_eq "required, retry: daemon --once exits 0" "$?" 0
for srv in rgarbage rclose rnotls; do
	case $srv in rgarbage) r=f ;; rclose) r=g ;; rnotls) r=h ;; esac
	expect_eq "required, retry ($srv): still nothing received, no MAIL FROM" \
		"$(received_count $srv) $(grep -c 'MAIL FROM' "$(smtpd_log $srv)")" "0 0"
	expect_eq "required, retry ($srv): tried once more (two connections in all)" \
		"$(grep -c '\* connect' "$(smtpd_log $srv)")" 2
	expect_eq "required, retry ($srv): deferred twice in the log" \
		"$(grep "rcpt=<$r@$srv.test>" "$DLOG" | grep -c 'result=deferred status=4\.7\.')" 2
done
expect_eq "required: the accepted recipient is not sent again" "$(received_count rgood)" 1
