# Delivery routes end to end: a refusing primary MX falls back to the backup
# in the same run, an implicit MX, null MX and NXDOMAIN bounced at once with
# a report, SERVFAIL deferred and delivered once the DNS answers, every MX of
# a domain refusing (deferred, the other domain of the message delivered), and
# a message to three domains delivered in one run.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
SMTP_PORT=$(free_port)
DLOG="$XDG_STATE_HOME/paloma/delivery.log"
INBOX="$T/Mail/me/INBOX/new"

# A "DNS server" that answers every query with SERVFAIL, for broken.test.
cat >"$T/servfail.py" <<'PY'
import os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    q, peer = s.recvfrom(65535)
    if len(q) < 12:
        continue
    qid, flags = struct.unpack(">HH", q[:4])
    flags = 0x8000 | (flags & 0x7900) | 0x0080 | 2
    s.sendto(struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 0) + q[12:], peer)
PY
"$PY" "$T/servfail.py" "$T/servfail.port" </dev/null >/dev/null 2>&1 &
at_exit "kill $!"
wait_for "[ -s '$T/servfail.port' ]" 5
SERVFAIL_PORT=$(cat "$T/servfail.port")

# The zone; broken.test is answered by the SERVFAIL server until it "recovers".
ZONE="--mx-host=backup.test,mx1.backup.test,10 --host-record=mx1.backup.test,127.0.0.2
--mx-host=backup.test,mx2.backup.test,20 --host-record=mx2.backup.test,127.0.0.3
--host-record=implicit.test,127.0.0.4
--mx-host=nullmx.test,.,0
--mx-host=dead.test,a.dead.test,10 --host-record=a.dead.test,127.0.0.5
--mx-host=dead.test,b.dead.test,20 --host-record=b.dead.test,127.0.0.6
--mx-host=alive.test,mx.alive.test,10 --host-record=mx.alive.test,127.0.0.7
--mx-host=one.test,mx.one.test,10 --host-record=mx.one.test,127.0.0.8
--mx-host=two.test,mx.two.test,10 --host-record=mx.two.test,127.0.0.9
--host-record=three.test,127.0.0.10
--mx-host=busy.test,a.busy.test,10 --host-record=a.busy.test,127.0.0.12
--mx-host=busy.test,b.busy.test,20 --host-record=b.busy.test,127.0.0.13
--mx-host=onebusy.test,a.busy.test,10"
# shellcheck disable=SC2086
start_dns $ZONE --server=/broken.test/127.0.0.1#"$SERVFAIL_PORT"
expect_eq "the fixture: broken.test answers SERVFAIL" "$(dns_query broken.test MX | head -n 1)" "status SERVFAIL"
# nothing listens on 127.0.0.2 (primary of backup.test), .5 and .6 (dead.test)
start_smtpd backup 127.0.0.3
start_smtpd implicit 127.0.0.4
start_smtpd alive 127.0.0.7
start_smtpd broken 127.0.0.11
start_smtpd one 127.0.0.8
start_smtpd two 127.0.0.9
start_smtpd three 127.0.0.10
start_smtpd busy 127.0.0.12 --greeting '421 4.3.2 Too busy, come back later'
write_config "$(delivery_config)
autostart = no"

# send SUBJECT RCPT... - queues one message, prints its queue id
send() {
	_subj=$1; shift
	printf 'From: Me <me@example.org>\nTo: %s\nSubject: %s\n\nbody of %s\n' "$*" "$_subj" "$_subj" |
		"$PALOMA" send "$@" >/dev/null || echo "send $_subj failed" >&2
	ls "$QUEUE/entries" | tail -n 1
}
# rcpt_state ID ADDR - the recipient's State in the entry's envelope (live or done)
rcpt_state() {
	_e="$QUEUE/entries/$1/envelope"
	[ -f "$_e" ] || _e="$QUEUE/done/$1/envelope"
	awk -v a="Recipient: <$2>" '$0 == a { f = 1; next } /^Recipient:/ { f = 0 } f && /^State:/ { print $2 }' "$_e"
}
rcpt_field() {
	_e="$QUEUE/entries/$1/envelope"
	[ -f "$_e" ] || _e="$QUEUE/done/$1/envelope"
	awk -v a="Recipient: <$2>" -v k="$3: " '$0 == a { f = 1; next } /^Recipient:/ { f = 0 } f && index($0, k) == 1 { print substr($0, length(k) + 1) }' "$_e"
}
# reports - one line per delivery-status recipient block of every report in
# the inbox: "file | final-recipient | action | status | diagnostic"
reports() {
	"$PY" "$TESTS_DIR/servers/dsnfields.py" @file Final-Recipient Action Status \
		Diagnostic-Code -- "$INBOX"/*
}

id_backup=$(send backup u@backup.test)
id_implicit=$(send implicit u@implicit.test)
id_null=$(send nullmx u@nullmx.test)
id_nx=$(send nxdomain u@nosuch.test)
id_broken=$(send servfail u@broken.test)
id_dead=$(send dead u@dead.test v@alive.test)
id_three=$(send three a@one.test b@two.test c@three.test)
id_busy=$(send busy u@busy.test)
id_onebusy=$(send onebusy u@onebusy.test)
expect_eq "nine entries queued" "$(queue_count)" 9

start=$(date +%s)
out=$(timeout 40 "$PALOMA" daemon --once 2>&1); rc=$?
took=$(($(date +%s) - start))
expect_eq "daemon --once exits 0" "$rc" 0
check "one run takes under 15 s (took ${took}s)" test "$took" -lt 15

# --- primary refusing, backup delivers in the same run
expect_eq "backup MX: delivered in the first run" "$(rcpt_state "$id_backup" u@backup.test)" delivered
expect_eq "backup MX: it has the message" "$(received_count backup)" 1
expect_match "delivery log names the backup MX" "$(grep "id=$id_backup" "$DLOG")" \
	"rcpt=<u@backup.test> result=delivered status=2.0.0 mx=mx2.backup.test ip=127.0.0.3 "
expect_eq "backup MX: one log line, no deferral" "$(grep -c "id=$id_backup" "$DLOG")" 1
expect_match "the daemon log: the refused primary was tried, then given up on" "$out" \
	"backup.test: address given up on: paloma: cannot connect: mx1.backup.test \\[127.0.0.2\\]: Connection refused$"

# --- implicit MX
expect_eq "implicit MX: delivered" "$(rcpt_state "$id_implicit" u@implicit.test)" delivered
expect_eq "implicit MX: the domain's own address got it" "$(msg_meta "$(received implicit)" rcpt_tos)" "u@implicit.test"
expect_match "implicit MX: logged with the domain as host" "$(grep "id=$id_implicit" "$DLOG")" \
	"result=delivered status=2.0.0 mx=implicit.test ip=127.0.0.4 "

# --- null MX and NXDOMAIN: permanent at once, one report each
expect_eq "null MX: bounced" "$(rcpt_state "$id_null" u@nullmx.test)" bounced
expect_eq "null MX: status 5.1.10" "$(rcpt_field "$id_null" u@nullmx.test Status)" 5.1.10
expect_eq "null MX: one attempt" "$(rcpt_field "$id_null" u@nullmx.test Attempts)" 1
expect_eq "NXDOMAIN: bounced" "$(rcpt_state "$id_nx" u@nosuch.test)" bounced
expect_eq "NXDOMAIN: status 5.1.2" "$(rcpt_field "$id_nx" u@nosuch.test Status)" 5.1.2
expect_match "delivery log: null MX failed" "$(grep "id=$id_null" "$DLOG")" "result=failed status=5.1.10 "
expect_match "delivery log: NXDOMAIN failed" "$(grep "id=$id_nx" "$DLOG")" "result=failed status=5.1.2 "
reports >"$T/reports"
expect_eq "two reports in the inbox (null MX, NXDOMAIN)" "$(ls "$INBOX" 2>/dev/null | wc -l | tr -d ' ')" 2
expect_match "null MX report: failed, 5.1.10" "$(cat "$T/reports")" \
	"\\| rfc822; ?u@nullmx.test \\| failed \\| 5.1.10 \\| .*null MX"
expect_match "NXDOMAIN report: failed, 5.1.2" "$(cat "$T/reports")" \
	"\\| rfc822; ?u@nosuch.test \\| failed \\| 5.1.2 \\| .*NXDOMAIN"
expect_eq "reports name no other recipient" "$(wc -l <"$T/reports" | tr -d ' ')" 2

# --- SERVFAIL: deferred, no report
expect_eq "SERVFAIL: deferred" "$(rcpt_state "$id_broken" u@broken.test)" deferred
expect_eq "SERVFAIL: status 4.4.3" "$(rcpt_field "$id_broken" u@broken.test Status)" 4.4.3
expect_match "queue list shows it deferred" "$("$PALOMA" queue list)" \
	"^$id_broken .* -> u@broken.test \\(deferred, next in (1m|[0-9]+s)\\)$"
next=$(rcpt_field "$id_broken" u@broken.test Next-Attempt)
check "SERVFAIL: next attempt about a minute away" test $((next - start)) -ge 55 -a $((next - start)) -le 75

# --- every MX of dead.test refusing; alive.test of the same message delivered
expect_eq "all MX refusing: deferred" "$(rcpt_state "$id_dead" u@dead.test)" deferred
reply=$(rcpt_field "$id_dead" u@dead.test Reply)
expect_match "the reply names the first MX tried" "$reply" "a\\.dead\\.test \\[127\\.0\\.0\\.5\\]"
expect_match "the reply names the second MX tried" "$reply" "b\\.dead\\.test \\[127\\.0\\.0\\.6\\]"
expect_eq "all MX refusing: status 4.4.1" "$(rcpt_field "$id_dead" u@dead.test Status)" 4.4.1
expect_eq "the other domain of that message: delivered" "$(rcpt_state "$id_dead" v@alive.test)" delivered
expect_eq "alive.test got exactly its recipient" "$(msg_meta "$(received alive)" rcpt_tos)" "v@alive.test"

# the same with a 421 greeting: the reply names the host it came from; with
# only one MX the recipient gets that server's reply and name as they are
expect_eq "421 greeting, then refused: deferred 4.4.1" "$(rcpt_state "$id_busy" u@busy.test)/$(rcpt_field "$id_busy" u@busy.test Status)" deferred/4.4.1
expect_eq "421 greeting, then refused: the reply names both" "$(rcpt_field "$id_busy" u@busy.test Reply)" \
	"no mail exchanger of busy.test could be reached (2 addresses tried): a.busy.test [127.0.0.12]: 421 4.3.2 Too busy, come back later; paloma: cannot connect: b.busy.test [127.0.0.13]: Connection refused"
expect_eq "the only MX says 421: deferred with its status" "$(rcpt_state "$id_onebusy" u@onebusy.test)/$(rcpt_field "$id_onebusy" u@onebusy.test Status)" deferred/4.3.2
expect_eq "the only MX says 421: its reply as it came" "$(rcpt_field "$id_onebusy" u@onebusy.test Reply)" "421 4.3.2 Too busy, come back later"
expect_eq "the only MX says 421: the host named as Remote" "$(rcpt_field "$id_onebusy" u@onebusy.test Remote)" "a.busy.test [127.0.0.12]"
expect_match "delivery log: the host of the 421" "$(grep "id=$id_onebusy" "$DLOG")" \
	"result=deferred status=4.3.2 mx=a.busy.test ip=127.0.0.12 tls=none reply=\"421 4.3.2 Too busy"

# --- three domains, one run
for d in one two three; do
	expect_eq "three domains: $d.test delivered" "$(received_count $d)" 1
done
expect_eq "three domains: the entry is retired" "$(test -d "$QUEUE/done/$id_three" && echo done)" done

expect_eq "after run 1: servfail, dead and the two busy remain" "$(queue_count)" 4

# --- the DNS recovers: broken.test gets an MX; past the retry it is delivered
# shellcheck disable=SC2086
start_dns $ZONE --mx-host=broken.test,mx.broken.test,10 --host-record=mx.broken.test,127.0.0.11
expect_eq "the fixture: broken.test answers now" "$(dns_query broken.test MX)" "status NOERROR
MX 10 mx.broken.test"
PALOMA_TEST_TIME_OFFSET=30 timeout 30 "$PALOMA" daemon --once >/dev/null 2>&1
expect_eq "before the retry is due nothing is tried" "$(rcpt_field "$id_broken" u@broken.test Attempts)" 1
PALOMA_TEST_TIME_OFFSET=120 timeout 30 "$PALOMA" daemon --once >"$T/run2" 2>&1; rc=$?
expect_eq "second run exits 0" "$rc" 0
expect_eq "SERVFAIL recovered: delivered" "$(rcpt_state "$id_broken" u@broken.test)" delivered
expect_eq "SERVFAIL recovered: the MX has it" "$(received_count broken)" 1
expect_eq "SERVFAIL recovered: two attempts" "$(rcpt_field "$id_broken" u@broken.test Attempts)" 2
expect_eq "dead.test still deferred, second attempt" "$(rcpt_state "$id_dead" u@dead.test)/$(rcpt_field "$id_dead" u@dead.test Attempts)" deferred/2
expect_eq "still no report for temporary failures" "$(ls "$INBOX" | wc -l | tr -d ' ')" 2
expect_eq "nothing delivered twice" "$(received_count backup)$(received_count alive)$(received_count one)" 111

# --- with one connection in all, three domains and two messages still go in
# one run: a domain waiting for a free slot is started when one closes, and
# the open connection carries both messages of its domain
write_config "$(delivery_config)
autostart = no
parallel = 1"
id_a=$(send again1 a2@one.test b2@two.test c2@three.test)
id_b=$(send again2 d2@one.test)
timeout 30 "$PALOMA" daemon --once >"$T/run3" 2>&1; rc=$?
expect_eq "parallel = 1: the run exits 0" "$rc" 0
expect_eq "parallel = 1: both entries retired" "$(test -d "$QUEUE/done/$id_a" && test -d "$QUEUE/done/$id_b" && echo done)" done
expect_eq "parallel = 1: each domain got its messages" "$(received_count one) $(received_count two) $(received_count three)" "3 2 2"
expect_eq "parallel = 1: one.test's two messages in one connection" \
	"$(msg_meta "$(received one | tail -n 1)" connection)/$(msg_meta "$(received one | tail -n 1)" message_in_connection)" 2/2
