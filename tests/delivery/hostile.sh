#!/bin/sh
# Hostile SMTP peers (issue #8, point 2): receivers that send a 1 MiB reply
# line, an endless multi-line reply, a greeting that never ends, replies
# without CRLF or with invalid codes, TLS garbage after STARTTLS, or close
# at each step of the dialogue (tests/servers/hostile.py).  For each: the
# daemon does not crash, gives up within its timeouts, its memory stays
# bounded, the delivery log says what happened, and the mail stays queued
# (deferred) for a later try.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
SMTP_PORT=$(free_port)
DLOG="$XDG_STATE_HOME/paloma/delivery.log"
MODES=${HOSTILE_MODES:-"huge-line huge-noeol endless trickle trickle-lines no-crlf bare-cr bad-code
code-999 short-code mixed-codes nul tls-garbage close-greeting close-ehlo close-mail
close-rcpt close-data close-dot close-mid-reply"}

dns="--mx-host=plain.test,mx.plain.test,10 --host-record=mx.plain.test,127.0.2.1"
serve="127.0.2.1=plain"
n=2
for m in $MODES; do
	dns="$dns --mx-host=$m.test,mx.$m.test,10 --host-record=mx.$m.test,127.0.2.$n"
	serve="$serve 127.0.2.$n=$m"
	n=$((n + 1))
done
# shellcheck disable=SC2086 # the words are the arguments
start_dns $dns || exit 1
# shellcheck disable=SC2086
$PY "$TESTS_DIR/servers/hostile.py" --port "$SMTP_PORT" --pidfile "$T/hostile.pid" \
	--log "$T/hostile.log" $serve 2>"$T/hostile.err" &
hpid=$!
at_exit "_stop_pid $hpid"
wait_for "[ -s '$T/hostile.pid' ]" 10 || { nok "hostile.py starts" "$(cat "$T/hostile.err")"; exit 1; }
# Two seconds for every step: the longest a step can take.
write_config "$(delivery_config)
autostart = no
parallel = 32
retry_schedule = 1h
timeout_connect = 2s
timeout_greeting = 2s
timeout_command = 2s
timeout_mail = 2s
timeout_rcpt = 2s
timeout_data_init = 2s
timeout_data_block = 2s
timeout_data_end = 2s"

# once NAME: one `daemon --once` run, measured into $T/NAME.time
once() { measure "$T/$1.time" timeout 60 "$PALOMA" daemon --once >"$T/$1.out" 2>&1; }
send_to() { printf 'From: me@example.org\nTo: %s\nSubject: hostile\n\nbody\n' "$1" | "$PALOMA" send -t; }

# The baseline: one message to a server that misbehaves nowhere.
send_to u@plain.test
once base
read -r bsec bkb brc <"$T/base.time"
expect_eq "baseline: daemon --once exits 0" "$brc" 0
expect_match "baseline: deferred by the final 451" "$(cat "$DLOG")" \
	'rcpt=<u@plain.test> result=deferred status=4.3.0 .*never accepts'

for m in $MODES; do send_to "u@$m.test"; done
once hostile
[ -n "${HOSTILE_DEBUG:-}" ] && cat "$T/hostile.out" "$XDG_STATE_HOME/paloma/daemon.log" >&2
read -r sec kb rc <"$T/hostile.time"
echo "# $(echo $MODES | wc -w) hostile servers at once: ${sec} s, ${kb} kB peak (baseline ${bsec} s, ${bkb} kB)"
expect_eq "daemon --once against every hostile server exits 0 (no crash)" "$rc" 0
check "... within its timeouts (under 20 s, the steps allow 2 s each)" \
	awk -v s="$sec" 'BEGIN { exit !(s < 20) }'
check "... with bounded memory (peak under the baseline + 24 MB)" \
	test "$kb" -lt $((bkb + 24576))
san=$(grep -c 'AddressSanitizer\|runtime error:' "$T/hostile.out")
expect_eq "... no sanitizer report" "$san" 0

for m in $MODES; do
	line=$(grep "rcpt=<u@$m.test>" "$DLOG")
	echo "# $m: $(echo "$line" | sed 's/.* result=//' | cut -c 1-200)"
	expect_match "$m: the delivery log says deferred, with a reason" "$line" \
		'result=deferred status=4\.[0-9.]+ .*reply=.'
done
# Every message still queued, each recipient deferred for a later try.
expect_eq "every message is still queued" "$(queue_count)" "$(($(echo $MODES | wc -w) + 1))"
expect_eq "... every recipient deferred" \
	"$(cat "$QUEUE"/entries/*/envelope | grep -c '^State: deferred$')" "$(queue_count)"
closed() { [ "$(grep -c ' connect$' "$T/hostile.log")" = "$(grep -c ' closed$' "$T/hostile.log")" ]; }
check "the servers see every connection closed" wait_for closed 10

# --- DNS: answers truncated, malformed, huge, lost, or an MX pointing at
# this machine (tests/servers/baddns.py).  Each is a temporary failure
# (promise 4): deferred with a reason, never bounced for a broken answer
# (c-ares's EBADNAME for an unreadable name in the answer once made it
# 5.1.2); an MX at 127.0.0.1 or at our own name finds nobody listening
# (paloma is no server) and is deferred.  No crash, no hang, bounded memory.
DNSCASES="tc short garbage badcount badrdlen ptrloop huge servfail wrongid silent
loopback self"
BADDNS_PORT=$(free_port)
$PY "$TESTS_DIR/servers/baddns.py" --port "$BADDNS_PORT" --pidfile "$T/baddns.pid" \
	--self-name mail.example.org 2>"$T/baddns.err" &
bpid=$!
at_exit "_stop_pid $bpid"
wait_for "[ -s '$T/baddns.pid' ]" 10 || { nok "baddns.py starts" "$(cat "$T/baddns.err")"; exit 1; }
write_config "dns_servers = 127.0.0.1:$BADDNS_PORT
smtp_port = $SMTP_PORT
autostart = no
retry_schedule = 1h
timeout_connect = 2s"
for c in $DNSCASES; do send_to "u@$c.test"; done
send_to u@good.test
once dns
read -r sec kb rc <"$T/dns.time"
echo "# $(echo $DNSCASES | wc -w) bad DNS answers at once: ${sec} s, ${kb} kB peak"
expect_eq "daemon --once against bad DNS answers exits 0 (no crash)" "$rc" 0
check "... within the DNS timeouts (under 40 s)" awk -v s="$sec" 'BEGIN { exit !(s < 40) }'
check "... with bounded memory (peak under the baseline + 24 MB)" test "$kb" -lt $((bkb + 24576))
expect_eq "... no sanitizer report" "$(grep -c 'AddressSanitizer\|runtime error:' "$T/dns.out")" 0
for c in $DNSCASES; do
	line=$(grep "rcpt=<u@$c.test>" "$DLOG")
	echo "# $c: $(echo "$line" | sed 's/.* result=//' | cut -c 1-220)"
	expect_match "DNS $c: deferred (a broken answer is temporary), the log says why" "$line" \
		'result=deferred status=4\.4\.[0-9] .*reply=.'
done
# A sound answer among the broken ones, asked of the same server at the same
# time: its lookup succeeds, and its MX (the plain server) answers.
line=$(grep "rcpt=<u@good.test>" "$DLOG")
echo "# good: $(echo "$line" | sed 's/.* result=//' | cut -c 1-220)"
expect_match "DNS good, among the broken answers: looked up, its MX reached" "$line" \
	'result=deferred status=4\.3\.0 .*never accepts'
expect_eq "every recipient still queued, deferred" \
	"$(cat "$QUEUE"/entries/*/envelope | grep -c '^State: deferred$')" "$(queue_count)"
