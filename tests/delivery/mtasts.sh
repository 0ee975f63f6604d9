# MTA-STS (RFC 8461) enforced by the daemon: the policies are served over
# HTTPS on loopback (tests/servers/stspolicy.py, test CA trusted through
# SSL_CERT_FILE; the test-only mta_sts_port points the fetch at it).
# enforce + an MX whose certificate verifies → delivered, logged
# tls_policy=mta-sts; enforce + an untrusted certificate or one for another
# name → deferred, nothing sent (not in clear either), still queued;
# enforce + an MX the policy does not list → deferred without connecting;
# testing + a bad certificate → delivered, and the log says what enforce
# would have refused.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
SMTP_PORT=$(free_port)
DLOG="$XDG_STATE_HOME/paloma/delivery.log"
PLOG="$XDG_STATE_HOME/paloma/daemon.log"
STSD="$TESTS_DIR/servers/stspolicy.py"
export SSL_CERT_FILE="$T/certs/ca.crt"

# start_sts NAME ADDR POLICYFILE - a policy server; the first one picks a
# free port (STS_PORT), the others listen on the same port at their address.
start_sts() {
	rm -f "$T/sts-$1.pid" "$T/sts-$1.port"
	"$PY" "$STSD" --listen "$2:${STS_PORT:-0}" --cert "$T/certs/sts.crt" \
		--key "$T/certs/sts.key" --policy "$3" --pidfile "$T/sts-$1.pid" \
		--portfile "$T/sts-$1.port" --log "$T/sts-$1.log" </dev/null >>"$T/sts.err" 2>&1 &
	eval "_sts_$1=$!"
	if ! wait_for "[ -s '$T/sts-$1.pid' ]" 10; then
		echo "stspolicy.py failed:" >&2
		cat "$T/sts.err" >&2
		return 1
	fi
	STS_PORT=$(cat "$T/sts-$1.port")
}
stop_sts() { for _p in ${_sts_enforce:-} ${_sts_testing:-}; do _stop_pid "$_p"; done; }
at_exit stop_sts

make_ca_cert sts mta-sts.good.test DNS:mta-sts.bad.test DNS:mta-sts.wrong.test \
	DNS:mta-sts.other.test DNS:mta-sts.testing.test || exit 1
make_ca_cert good mx.good.test || exit 1
make_ca_cert wrong mx.elsewhere.test || exit 1
make_cert bad mx.bad.test || exit 1
printf 'version: STSv1\r\nmode: enforce\r\nmx: mx.good.test\r\nmx: mx.bad.test\r\nmx: mx.wrong.test\r\nmax_age: 86400\r\n' >"$T/enforce"
printf 'version: STSv1\r\nmode: testing\r\nmx: mx.testing.test\r\nmax_age: 86400\r\n' >"$T/testing"
start_sts enforce 127.0.0.10 "$T/enforce" || exit 1
start_sts testing 127.0.0.11 "$T/testing" || exit 1

# each domain: its STS record, its policy host, its MX host
dns_args=""
for d in good:2:10 bad:3:10 wrong:4:10 other:5:10 testing:6:11; do
	n=${d%%:*} rest=${d#*:}
	dns_args="$dns_args --mx-host=$n.test,mx.$n.test,10 --host-record=mx.$n.test,127.0.0.${rest%%:*}
--host-record=mta-sts.$n.test,127.0.0.${rest#*:}"
done
# shellcheck disable=SC2086
start_dns $dns_args \
	--txt-record=_mta-sts.good.test,"v=STSv1; id=1" --txt-record=_mta-sts.bad.test,"v=STSv1; id=1" \
	--txt-record=_mta-sts.wrong.test,"v=STSv1; id=1" --txt-record=_mta-sts.other.test,"v=STSv1; id=1" \
	--txt-record=_mta-sts.testing.test,"v=STSv1; id=1"

start_smtpd good 127.0.0.2 --tls-cert "$T/certs/good.crt" --tls-key "$T/certs/good.key"
start_smtpd bad 127.0.0.3 --tls-cert "$T/certs/bad.crt" --tls-key "$T/certs/bad.key"
start_smtpd wrong 127.0.0.4 --tls-cert "$T/certs/wrong.crt" --tls-key "$T/certs/wrong.key"
start_smtpd other 127.0.0.5 --tls-cert "$T/certs/good.crt" --tls-key "$T/certs/good.key"
start_smtpd testing 127.0.0.6 --tls-cert "$T/certs/bad.crt" --tls-key "$T/certs/bad.key"


write_config "$(delivery_config)
autostart = no
mta_sts = yes
mta_sts_port = $STS_PORT
dane = no
timeout_command = 5"
printf 'From: me@example.org\nTo: a@good.test, b@bad.test, c@wrong.test, d@other.test, e@testing.test\nSubject: sts\n\nsecret body\n' |
	"$PALOMA" send -t
id=$(ls "$QUEUE/entries")
timeout 90 "$PALOMA" daemon --once >"$T/once1.out" 2>&1
expect_eq "daemon --once exits 0" "$?" 0
expect_eq "each policy was fetched once" \
	"$(grep -c '^GET /.well-known/mta-sts.txt 200' "$T/sts-enforce.log") $(grep -c '^GET ' "$T/sts-testing.log")" \
	"4 1"

expect_eq "enforce, valid certificate: received" "$(received_count good)" 1
expect_eq "enforce, valid certificate: over TLS" "$(msg_meta "$(received good)" tls)" true
expect_match "enforce, valid certificate: logged tls_policy=mta-sts" "$(last_log a@good.test)" \
	"id=$id rcpt=<a@good.test> result=delivered status=2\\.0\\.0 mx=mx\\.good\\.test ip=127\\.0\\.0\\.2 tls=\"TLSv1\\.[23] .* tls_policy=mta-sts\$"
expect_eq "enforce, valid certificate: the recipient's state in the queue keeps the policy" \
	"$(rcpt_policy "$id" a@good.test)" mta-sts
expect_eq "testing: the recipient's state says opportunistic" \
	"$(rcpt_policy "$id" e@testing.test)" opportunistic

for srv in bad wrong; do
	case $srv in bad) r=b why='self[- ]signed' ;; wrong) r=c why='[Hh]ostname mismatch' ;; esac
	expect_eq "enforce, $srv certificate: nothing received" "$(received_count $srv)" 0
	expect_eq "enforce, $srv certificate: no MAIL FROM (not in clear either)" \
		"$(grep -c 'MAIL FROM' "$(smtpd_log $srv)")" 0
	expect_eq "enforce, $srv certificate: one connection (no retry in clear)" \
		"$(grep -c '\* connect' "$(smtpd_log $srv)")" 1
	expect_match "enforce, $srv certificate: deferred, the policy and the reason named" \
		"$(last_log $r@$srv.test)" \
		"result=deferred status=4\\.7\\.5 mx=mx\\.$srv\\.test .*reply=\"paloma: the MTA-STS policy of $srv\\.test \\(enforce\\) requires TLS with a certificate valid for mx\\.$srv\\.test: the TLS handshake failed: TLS certificate not trusted: [^\"]*$why[^\"]*\" tls_policy=mta-sts\$"
done

expect_eq "enforce, MX not in the policy: never connected" "$(grep -c '\* connect' "$(smtpd_log other)")" 0
expect_match "enforce, MX not in the policy: deferred, the MX named" "$(last_log d@other.test)" \
	'result=deferred status=4\.7\.5 reply="paloma: the MTA-STS policy of other\.test lists none of its MX hosts: mx\.other\.test"'

expect_eq "testing, bad certificate: delivered anyway" "$(received_count testing)" 1
expect_match "testing, bad certificate: logged opportunistic" "$(last_log e@testing.test)" \
	'result=delivered .* tls_policy=opportunistic$'
expect_match "testing, bad certificate: daemon.log says enforce would have refused it" \
	"$(cat "$PLOG")" \
	"<e@testing\\.test>: the MTA-STS policy of testing\\.test \\(testing\\) would have refused mx\\.testing\\.test \\[127\\.0\\.0\\.6\\]: self[- ]signed"

expect_match "the deferred recipients stay queued" "$("$PALOMA" queue list)" \
	"b@bad.test \\(deferred.*c@wrong.test \\(deferred.*d@other.test \\(deferred"

# the next attempt: the cached policy still rules, still nothing in clear
stop_sts
PALOMA_TEST_TIME_OFFSET=3600 timeout 90 "$PALOMA" daemon --once >"$T/once2.out" 2>&1
expect_eq "retry with the policy servers gone: daemon --once exits 0" "$?" 0
expect_eq "retry: the cached policy still defers the bad certificate, no MAIL FROM" \
	"$(received_count bad) $(grep -c 'MAIL FROM' "$(smtpd_log bad)")" "0 0"
expect_eq "retry: deferred twice in the log" \
	"$(grep 'rcpt=<b@bad.test>' "$DLOG" | grep -c 'result=deferred status=4\.7\.5 .*MTA-STS')" 2
