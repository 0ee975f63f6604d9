#!/bin/sh
# paloma-mtasts against dnsmasq and an HTTPS policy server on loopback
# (tests/servers/stspolicy.py with a certificate from the test CA): a policy
# is fetched and cached 0600, the same id is not fetched again, a new id is,
# no record means no policy (a cached one stays), and every way a policy
# server can misbehave ends in status 75 with one clear line and the old
# policy kept.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"

MTASTS="$PALOMA_BUILD/libexec/paloma/paloma-mtasts"
STSD="$TESTS_DIR/servers/stspolicy.py"
CACHE="$XDG_STATE_HOME/paloma/mta-sts"
STS_LOG="$T/sts.log"
export SSL_CERT_FILE="$T/certs/ca.crt"

# start_sts CERTNAME [stspolicy.py options] - the policy server for
# mta-sts.example.test on 127.0.0.5, serving $T/policy; the first start
# picks a free port, STS_PORT, and later ones reuse it.
start_sts() {
	stop_sts
	_cert=$1
	shift
	rm -f "$T/sts.pid" "$T/sts.port"
	"$PY" "$STSD" --listen "127.0.0.5:${STS_PORT:-0}" --cert "$T/certs/$_cert.crt" \
		--key "$T/certs/$_cert.key" --policy "$T/policy" --pidfile "$T/sts.pid" \
		--portfile "$T/sts.port" --log "$STS_LOG" "$@" </dev/null >>"$T/sts.err" 2>&1 &
	_sts_pid=$!
	if ! wait_for "[ -s '$T/sts.pid' ] || ! _alive $_sts_pid" 10 || ! [ -s "$T/sts.pid" ]; then
		echo "stspolicy.py failed:" >&2
		cat "$T/sts.err" >&2
		return 1
	fi
	STS_PORT=$(cat "$T/sts.port")
}
stop_sts() { [ -n "${_sts_pid:-}" ] && _stop_pid "$_sts_pid"; _sts_pid=; }
at_exit stop_sts

# dns ID - dnsmasq with _mta-sts.example.test's record carrying ID ("" for
# no record), nots.test with no record, noaddr.test whose policy host has no
# address, and two.test with two STS records.
dns() {
	_txt=
	[ -n "$1" ] && _txt="--txt-record=_mta-sts.example.test,v=STSv1; id=$1;"
	start_dns ${_txt:+"$_txt"} \
		--txt-record=_mta-sts.example.test,"google-site-verification=abc" \
		--host-record=mta-sts.example.test,127.0.0.5 \
		--txt-record=_mta-sts.noaddr.test,"v=STSv1; id=1" \
		--txt-record=_mta-sts.two.test,"v=STSv1; id=1" \
		--txt-record=_mta-sts.two.test,"v=STSv1; id=2" \
		--host-record=mta-sts.two.test,127.0.0.5
}

# sts DOMAIN - runs paloma-mtasts; its status in $rc, its stderr in $out.
sts() {
	out=$("$MTASTS" "$@" 2>&1)
	rc=$?
}

fetches() { grep -c '^GET ' "$STS_LOG" 2>/dev/null || echo 0; }
field() { sed -n "s/^$1: //p" "$CACHE/example.test"; }

make_ca_cert sts mta-sts.example.test || exit 1
make_ca_cert wrongname mta-sts.other.test || exit 1
make_cert selfsigned mta-sts.example.test || exit 1
printf 'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmx: *.mx.example.test\r\nmax_age: 86400\r\n' >"$T/policy"
dns 20261123 || exit 1
start_sts sts || exit 1
write_config "$(delivery_config)
mta_sts_port = $STS_PORT"

# ---- fetched and cached ---------------------------------------------------
sts example.test
expect_eq "policy fetched: status 0" "$rc" 0
expect_eq "one line says what was cached" "$out" \
	"example.test: MTA-STS policy enforce, max_age 86400, 2 mx patterns (id 20261123)"
expect_eq "cache file is 0600" "$(stat -c %a "$CACHE/example.test" 2>&1)" 600
expect_eq "cache directory is 0700" "$(stat -c %a "$CACHE" 2>&1)" 700
expect_eq "cached: mode, id and mx" "$(field mode) $(field id) $(field mx | tr '\n' ' ')" \
	"enforce 20261123 mx1.example.test *.mx.example.test "
expect_match "the request went to mta-sts.example.test over our resolver" \
	"$(cat "$STS_LOG")" "^GET /.well-known/mta-sts.txt 200 host=mta-sts.example.test:$STS_PORT\$"
fetched=$(field fetched)

# ---- same id: not fetched again, only `checked` moves ----------------------
PALOMA_TEST_TIME_OFFSET=120 sts example.test
expect_eq "same id: status 0" "$rc" 0
expect_match "same id: says unchanged" "$out" "unchanged \\(id 20261123\\)"
expect_eq "same id: not fetched again" "$(fetches)" 1
expect_eq "same id: fetched time kept" "$(field fetched)" "$fetched"
checked=$(field checked)
check "same id: checked time moved" [ "$checked" -ge $((fetched + 120)) -a "$checked" -le $((fetched + 130)) ]

# ---- expired: fetched again even with the same id --------------------------
PALOMA_TEST_TIME_OFFSET=86400 sts example.test
expect_eq "expired policy: fetched again" "$rc $(fetches)" "0 2"

# ---- new id: fetched --------------------------------------------------------
printf 'version: STSv1\nmode: testing\nmx: mx1.example.test\nmax_age: 604800\n' >"$T/policy"
dns 2 || exit 1
sts example.test
expect_eq "new id: fetched" "$rc $(fetches)" "0 3"
expect_eq "new id: the new policy is cached" "$(field mode) $(field id) $(field max_age)" \
	"testing 2 604800"
cp "$CACHE/example.test" "$T/saved"

# ---- no record ---------------------------------------------------------------
sts nots.test
expect_eq "no TXT record: status 0" "$rc" 0
expect_eq "no TXT record: no policy" "$out" "nots.test: no MTA-STS record; no policy"
check "no TXT record: nothing cached" test ! -e "$CACHE/nots.test"
sts two.test
expect_eq "two STS records: no policy, nothing fetched" "$rc $(fetches) $out" \
	"0 3 two.test: no MTA-STS record; no policy"
dns "" || exit 1
sts example.test
expect_eq "record gone: status 0" "$rc" 0
expect_match "record gone: the cached policy stays in force" "$out" \
	"no MTA-STS record; the cached policy \\(testing, id 2\\) stays in force for (7d|6d23h)"
check "record gone: cache unchanged" cmp -s "$CACHE/example.test" "$T/saved"

# ---- misbehaving policy servers: 75, one line, old policy kept ---------------
dns 3 || exit 1
# misbehave NAME PATTERN [stspolicy.py options]
misbehave() {
	_name=$1 _pat=$2
	shift 2
	start_sts sts "$@" || { nok "$_name: server started"; return; }
	sts -c "$CONFIG" example.test
	expect_eq "$_name: status 75" "$rc" 75
	expect_match "$_name: says why" "$out" "^example.test: MTA-STS policy \\(id 3\\) not fetched: .*$_pat"
	expect_match "$_name: the cached policy stays in force" "$out" \
		"the cached policy \\(testing, id 2\\) stays in force"
	expect_eq "$_name: one line" "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 1
	check "$_name: cache unchanged" cmp -s "$CACHE/example.test" "$T/saved"
}
misbehave "redirect" "HTTP status 302 \\(redirects are not followed\\)" \
	--redirect "https://mta-sts.example.test:$STS_PORT/other.txt"
expect_eq "redirect: not followed" "$(tail -n 1 "$STS_LOG" | cut -d' ' -f1-3)" \
	"GET /.well-known/mta-sts.txt 302"
misbehave "wrong content type" "content type text/html, not text/plain" \
	--content-type text/html
misbehave "404" "HTTP status 404" --status 404
misbehave "server error" "HTTP status 500" --status 500
misbehave "huge body" "larger than 65536 bytes" --huge 100000
misbehave "huge body without length" "larger than 65536 bytes" --huge 100000 --no-length
PALOMA_TEST_MTASTS_TIMEOUT=2
export PALOMA_TEST_MTASTS_TIMEOUT
misbehave "slow server" "[Tt]imeout|timed out" --slow 6
unset PALOMA_TEST_MTASTS_TIMEOUT

# An invalid policy is not cached either.
printf 'version: STSv1\nmode: enforce\nmax_age: 86400\n' >"$T/policy"
start_sts sts || exit 1
sts example.test
expect_eq "invalid policy: status 75" "$rc" 75
expect_match "invalid policy: says why" "$out" "not valid: mode enforce without any mx field"
check "invalid policy: cache unchanged" cmp -s "$CACHE/example.test" "$T/saved"

# ---- certificates --------------------------------------------------------------
printf 'version: STSv1\nmode: enforce\nmx: mx1.example.test\nmax_age: 86400\n' >"$T/policy"
start_sts sts || exit 1
out=$(env -u SSL_CERT_FILE "$MTASTS" example.test 2>&1)
expect_eq "test CA not trusted: refused" "$?" 75
expect_match "test CA not trusted: says why" "$out" "[Cc]ertificate|verif"
check "test CA not trusted: cache unchanged" cmp -s "$CACHE/example.test" "$T/saved"
start_sts selfsigned || exit 1
sts example.test
expect_eq "self-signed certificate: refused" "$rc" 75
expect_match "self-signed certificate: says why" "$out" "[Cc]ertificate|verif"
check "self-signed certificate: cache unchanged" cmp -s "$CACHE/example.test" "$T/saved"
start_sts wrongname || exit 1
sts example.test
expect_eq "certificate for another name: refused" "$rc" 75
expect_match "certificate for another name: says why" "$out" "mta-sts.example.test|name|certificate"
check "certificate for another name: cache unchanged" cmp -s "$CACHE/example.test" "$T/saved"

# text/plain with parameters is text/plain.
printf 'version: STSv1\nmode: enforce\nmx: mx1.example.test\nmax_age: 604800\n' >"$T/policy"
start_sts sts --content-type "text/plain; charset=utf-8" || exit 1
sts example.test
expect_eq "text/plain; charset=utf-8: fetched" "$rc $(field id) $(field mode)" "0 3 enforce"

# ---- the same id is fetched again once the policy is a day old ---------------
n=$(fetches)
fetched=$(field fetched)
PALOMA_TEST_TIME_OFFSET=86000 sts example.test
expect_eq "same id, less than a day old: not fetched" "$rc $(fetches)" "0 $n"
PALOMA_TEST_TIME_OFFSET=86400 sts example.test
expect_eq "same id, a day old: fetched again" "$rc $(fetches)" "0 $((n + 1))"
check "same id, a day old: the fetch time moved" [ "$(field fetched)" -ge $((fetched + 86400)) ]

# ---- DNS ---------------------------------------------------------------------
dns 4 || exit 1
sts noaddr.test
expect_eq "policy host without an address: 75" "$rc" 75
expect_match "policy host without an address: says so" "$out" \
	"mta-sts.noaddr.test has no address; no policy is cached"
sts example.invalid
expect_eq "refused DNS answer: 75" "$rc" 75
expect_match "refused DNS answer: says the lookup failed" "$out" \
	"^example.invalid: MTA-STS record lookup failed: "
sts 'exa mple.test'
expect_eq "not a domain name: 64" "$rc" 64
printf '[delivery]\ndns_servers = not-an-address\n' >"$T/bad.conf"
sts -c "$T/bad.conf" example.test
expect_eq "bad dns_servers: 78" "$rc" 78
