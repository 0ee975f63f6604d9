# Delivery routes from the DNS (src/dns.c through tests/tools/dnsq): MX
# order and shuffle, implicit MX, IPv6, null MX, NXDOMAIN, SERVFAIL,
# REFUSED, timeouts, MX hosts without addresses, literals, limits, many
# lookups at once.  Its own dnsmasq and fixture servers, loopback only.
. "$(dirname "$0")/../lib.sh"

DNSQ="$PALOMA_BUILD/tests/tools/dnsq"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
DNSMASQ=$(command -v dnsmasq 2>/dev/null || echo /usr/sbin/dnsmasq)
if [ ! -x "$DNSMASQ" ]; then
	skip "dns routes" "dnsmasq is not installed (apt-get install dnsmasq)"
	exit 0
fi
if [ ! -x "$DNSQ" ]; then
	nok "dnsq is built" "missing $DNSQ: run make units"
	exit 1
fi

# A UDP "DNS server" on a free loopback port that never answers (swallow),
# or answers everything with SERVFAIL or REFUSED.  fixdns MODE sets $port.
cat >"$T/fixdns.py" <<'PY'
import os, socket, struct, sys
mode, portfile = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
rcode = {"servfail": 2, "refused": 5}.get(mode)
while True:
    q, peer = s.recvfrom(65535)
    if rcode is None or len(q) < 12:
        continue
    qid, flags = struct.unpack(">HH", q[:4])
    flags = 0x8000 | (flags & 0x7900) | 0x0080 | rcode
    s.sendto(struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 0) + q[12:], peer)
PY
fixdns() {
	"$PY" "$T/fixdns.py" "$1" "$T/$1.port" </dev/null >/dev/null 2>&1 &
	at_exit "kill $!"
	for _i in $(seq 50); do [ -s "$T/$1.port" ] && break; sleep 0.1; done
	port=$(cat "$T/$1.port")
}
fixdns swallow; SWALLOW=$port
fixdns servfail; SERVFAIL=$port
fixdns refused; REFUSED=$port

many_mx="" many_names=""
for i in $(seq 25); do
	many_mx="$many_mx --mx-host=many.test,m$i.many.test,$i"
	many_names="$many_names,m$i.many.test"
done
many_addrs=""
for i in $(seq 2 13); do many_addrs="$many_addrs --host-record=a.manyaddr.test,127.0.0.$i"; done

# dnsmasq on a free high port; MX records given out of order on purpose.
tries=0
while :; do
	DNS_PORT=$((15353 + $(od -An -N2 -tu2 /dev/urandom) % 10000))
	# shellcheck disable=SC2086
	if "$DNSMASQ" --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.1 \
		--port="$DNS_PORT" --pid-file="$T/dnsmasq.pid" --local=/test/ \
		--mx-host=example.test,mx3.example.test,30 \
		--mx-host=example.test,mx1.example.test,10 \
		--mx-host=example.test,mx2.example.test,20 \
		--host-record=mx1.example.test,127.0.0.2 \
		--host-record=mx2.example.test,127.0.0.3,::1 \
		--host-record=mx3.example.test,127.0.0.5 \
		--mx-host=shuffle.test,b.shuffle.test,10 --mx-host=shuffle.test,a.shuffle.test,10 \
		--mx-host=shuffle.test,first.shuffle.test,5 \
		--host-record=a.shuffle.test,127.0.0.6 --host-record=b.shuffle.test,127.0.0.7 \
		--host-record=first.shuffle.test,127.0.0.8 \
		--host-record=implicit.test,127.0.0.4 \
		--host-record=implicit6.test,::1 \
		--txt-record=empty.test,"v=spf1 -all" \
		--mx-host=nullmx.test,.,0 \
		--mx-host=partial.test,missing.partial.test,10 \
		--mx-host=partial.test,mx1.example.test,20 \
		--mx-host=noaddr.test,missing.noaddr.test,10 \
		--mx-host=noaddr.test,empty.test,20 \
		--mx-host=tempmx.test,missing.tempmx.test,10 \
		--mx-host=tempmx.test,host.timeout.test,20 \
		--mx-host=manyaddr.test,a.manyaddr.test,10 $many_addrs \
		$many_mx --host-record="${many_names#,},127.0.0.9" \
		--server=/servfail.test/127.0.0.1#"$SERVFAIL" \
		--server=/refused.test/127.0.0.1#"$REFUSED" \
		--server=/timeout.test/127.0.0.1#"$SWALLOW" \
		2>"$T/dnsmasq.err"; then
		break
	fi
	tries=$((tries + 1))
	if [ "$tries" -ge 10 ] || ! grep -q 'in use' "$T/dnsmasq.err"; then
		nok "dnsmasq starts" "$(cat "$T/dnsmasq.err")"
		exit 1
	fi
done
# dnsmasq daemonises: it is stopped by the pid it wrote
at_exit "kill \$(cat $T/dnsmasq.pid)"
S="--servers 127.0.0.1:$DNS_PORT"

# within NAME MS LOW HIGH
within() {
	if [ -n "$2" ] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then ok "$1"
	else nok "$1" "took ${2:-?} ms, want $3..$4"; fi
}

# q DOMAIN… — dnsq's output (timeout 3 s), status in $rc
q() { out=$("$DNSQ" $S --timeout 3000 "$@" 2>"$T/dnsq.err"); rc=$?; }
for _i in $(seq 50); do q example.test; [ -n "$out" ] && ! echo "$out" | grep -q temp && break; sleep 0.1; done

q example.test
expect_eq "MX: by preference, each host's IPv6 then IPv4 addresses" "$out" "example.test ok mx1.example.test 10 127.0.0.2
example.test ok mx2.example.test 20 ::1
example.test ok mx2.example.test 20 127.0.0.3
example.test ok mx3.example.test 30 127.0.0.5"
expect_eq "MX: dnsq exits 0" "$rc" 0
q example.test. EXAMPLE.TEST
expect_match "a final dot changes nothing" "$out" "^example.test. ok mx1.example.test 10 127.0.0.2$"
expect_match "case changes nothing" "$out" "^EXAMPLE.TEST ok mx1.example.test 10 127.0.0.2$"

# Equal preferences: 40 lookups at once, each shuffles by itself.
set -- ; for i in $(seq 40); do set -- "$@" shuffle.test; done
q "$@"
firsts=$(echo "$out" | awk 'NR % 3 == 1 { print $3 }' | sort -u | tr '\n' ' ')
seconds=$(echo "$out" | awk 'NR % 3 == 2 { print $3 }' | sort | uniq -c | awk '{ print $2 }' | tr '\n' ' ')
expect_eq "equal preferences: the lower preference always first" "$firsts" "first.shuffle.test "
expect_eq "equal preferences: both orders seen in 40 lookups" "$seconds" "a.shuffle.test b.shuffle.test "
expect_eq "equal preferences: 3 lines per lookup" "$(echo "$out" | wc -l | tr -d ' ')" 120

q implicit.test
expect_eq "no MX: the domain's own address (implicit MX)" "$out" "implicit.test ok implicit.test 0 127.0.0.4
implicit.test implicit"
q implicit6.test
expect_eq "no MX, AAAA only: IPv6 implicit MX" "$out" "implicit6.test ok implicit6.test 0 ::1
implicit6.test implicit"

q nullmx.test
expect_eq "null MX: permanent 5.1.10" "$out" "nullmx.test perm 5.1.10 nullmx.test has a null MX record (RFC 7505): it accepts no mail"
q nosuch.test
expect_eq "NXDOMAIN: permanent 5.1.2" "$out" "nosuch.test perm 5.1.2 nosuch.test does not exist: no such domain (NXDOMAIN)"
q empty.test
expect_eq "neither MX nor address: permanent 5.1.2" "$out" "empty.test perm 5.1.2 empty.test has no MX record and no address: it accepts no mail"

q servfail.test
expect_match "SERVFAIL: temporary 4.4.3" "$out" "^servfail.test temp 4.4.3 .*SERVFAIL"
q refused.test
expect_match "REFUSED: temporary 4.4.3" "$out" "^refused.test temp 4.4.3 .*REFUSED"
out=$("$DNSQ" --servers "127.0.0.1:$SERVFAIL" x.test 2>/dev/null)
expect_match "SERVFAIL straight from the server: temporary 4.4.3" "$out" "^x.test temp 4.4.3 "

# a server that swallows queries: temporary, and within the timeout
out=$("$DNSQ" --servers "127.0.0.1:$SWALLOW" --timeout 1500 x.test 2>"$T/dnsq.err")
ms=$(sed -n 's/^elapsed //p' "$T/dnsq.err")
expect_match "timeout: temporary 4.4.3" "$out" "^x.test temp 4.4.3 .*(time|answer in time)"
within "timeout: returns within the timeout (1500 ms)" "$ms" 400 2000
out=$("$DNSQ" $S --timeout 1500 timeout.test example.test 2>"$T/dnsq.err")
ms=$(sed -n 's/^elapsed //p' "$T/dnsq.err")
expect_match "timeout through dnsmasq: temporary 4.4.3" "$out" "^timeout.test temp 4.4.3 "
expect_match "a timeout does not hold up other lookups" "$out" "^example.test ok mx1.example.test 10 "
within "timeout through dnsmasq: within the timeout (1500 ms)" "$ms" 0 2000

q partial.test
expect_eq "an MX host without an address is skipped" "$out" "partial.test ok mx1.example.test 20 127.0.0.2
partial.test note MX hosts of partial.test skipped: missing.partial.test, no such host (NXDOMAIN)"
q noaddr.test
expect_eq "no MX host has an address: permanent 5.4.4" "$out" "noaddr.test perm 5.4.4 none of the MX hosts of noaddr.test has an address: missing.noaddr.test, no such host (NXDOMAIN); empty.test, no A or AAAA record"
q tempmx.test
expect_match "no MX host resolves, one for a temporary reason: temporary 4.4.3" "$out" "^tempmx.test temp 4.4.3 none of the MX hosts of tempmx.test could be resolved: missing.tempmx.test, no such host \\(NXDOMAIN\\); host.timeout.test, "

q '[127.0.0.2]' '[IPv6:::1]' '[ipv6:::1]' '[127.0.0.300]' '[1.2.3.4' '[tag:x]'
expect_eq "domain literals resolve without DNS; bad ones are permanent 5.1.3" "$out" "[127.0.0.2] ok [127.0.0.2] 0 127.0.0.2
[127.0.0.2] literal
[IPv6:::1] ok [IPv6:::1] 0 ::1
[IPv6:::1] literal
[ipv6:::1] ok [ipv6:::1] 0 ::1
[ipv6:::1] literal
[127.0.0.300] perm 5.1.3 [127.0.0.300] is not a valid domain literal: write [192.0.2.1] or [IPv6:2001:db8::1]
[1.2.3.4 perm 5.1.3 [1.2.3.4 is not a valid domain literal: write [192.0.2.1] or [IPv6:2001:db8::1]
[tag:x] perm 5.1.3 [tag:x] is not a valid domain literal: write [192.0.2.1] or [IPv6:2001:db8::1]"
q 'bad domain.test' 'a..test'
expect_match "a malformed domain: permanent 5.1.3" "$out" '^bad domain.test perm 5.1.3 "bad domain.test" is not a valid domain name$'
expect_match "an empty label: permanent 5.1.3" "$out" '^a..test perm 5.1.3 '

# 25 MX records: too many for UDP (truncated), c-ares asks again over TCP
q many.test
expect_eq "a hostile answer: 20 MX hosts kept" "$(echo "$out" | wc -l | tr -d ' ')" 20
expect_eq "a hostile answer: the 20 most preferred" "$(echo "$out" | awk '{ print $4 }' | tr '\n' ' ')" "$(seq 20 | tr '\n' ' ')"
q manyaddr.test
expect_eq "a hostile answer: 10 addresses per host" "$(echo "$out" | grep -c ' ok a.manyaddr.test ')" 10

# 50 lookups at once, of every kind: each callback exactly once
set -- ; for i in $(seq 10); do set -- "$@" example.test implicit.test nosuch.test nullmx.test servfail.test; done
q "$@"
expect_eq "50 lookups at once: every callback called exactly once" "$rc" 0
expect_eq "50 lookups at once: every answer right" \
	"$(echo "$out" | awk '$2 == "ok" && $4 <= 10 || $2 != "ok" && $2 != "implicit" { print $1, $2, $3 }' | sort | uniq -c | tr -s ' ')" \
" 10 example.test ok mx1.example.test
 10 implicit.test ok implicit.test
 10 nosuch.test perm 5.1.2
 10 nullmx.test perm 5.1.10
 10 servfail.test temp 4.4.3"

# freeing the resolver cancels what is pending: its callback still comes
out=$("$DNSQ" $S --timeout 3000 --cancel-after 300 timeout.test '[127.0.0.2]' 2>/dev/null); rc=$?
expect_eq "cancelled: every callback called exactly once" "$rc" 0
expect_eq "cancelled: a temporary failure" "$(echo "$out" | grep '^timeout.test')" "timeout.test temp 4.4.3 the DNS lookup of timeout.test was cancelled"

out=$("$DNSQ" --servers "not an address" x.test 2>&1); rc=$?
expect_eq "bad dns_servers: set-up error" "$rc" 2
expect_match "bad dns_servers: says which setting" "$out" "dns_servers = not an address"
