# Temporary failures and what time does to them: greylisting deferred then
# delivered, the retry schedule (1m 5m 15m 30m) and queue flush, a connection
# dropped in DATA or at the final dot retried, a stalled server timed out,
# expiry after max_lifetime (4.4.7, one report), one "delayed" report only,
# no report for the null sender, 5xx at MAIL and 4xx after the dot applied to
# every recipient of the transaction.
#
# Each case has its own state directory (queue, logs) and maildir, so that
# the time offsets of one do not move another's clock.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
SMTP_PORT=$(free_port)

start_dns --mx-host=grey.test,mx.grey.test,10 --host-record=mx.grey.test,127.0.0.2 \
	--mx-host=temp.test,mx.temp.test,10 --host-record=mx.temp.test,127.0.0.3 \
	--mx-host=drop.test,mx.drop.test,10 --host-record=mx.drop.test,127.0.0.4 \
	--mx-host=dropdot.test,mx.dropdot.test,10 --host-record=mx.dropdot.test,127.0.0.5 \
	--mx-host=stall.test,mx.stall.test,10 --host-record=mx.stall.test,127.0.0.6 \
	--mx-host=stalldot.test,mx.stalldot.test,10 --host-record=mx.stalldot.test,127.0.0.7 \
	--mx-host=reject.test,mx.reject.test,10 --host-record=mx.reject.test,127.0.0.8 \
	--mx-host=rejmail.test,mx.rejmail.test,10 --host-record=mx.rejmail.test,127.0.0.9 \
	--mx-host=tempdata.test,mx.tempdata.test,10 --host-record=mx.tempdata.test,127.0.0.10 \
	--mx-host=dropbig.test,mx.dropbig.test,10 --host-record=mx.dropbig.test,127.0.0.11
start_smtpd grey 127.0.0.2 --greylist
start_smtpd temp 127.0.0.3 --tempfail-rcpt
start_smtpd drop 127.0.0.4 --drop-at mid-data:1000 --faulty-connections 1
start_smtpd dropbig 127.0.0.11 --drop-at mid-data:65536 --faulty-connections 1
start_smtpd dropdot 127.0.0.5 --drop-at dot --faulty-connections 1
start_smtpd stall 127.0.0.6 --stall-at mail --timeout 30
start_smtpd stalldot 127.0.0.7 --stall-at dot --timeout 30
start_smtpd reject 127.0.0.8 --reject-rcpt '*=550 5.1.1 No such user here'
start_smtpd rejmail 127.0.0.9 --reject-mail '550 5.7.1 sender rejected'
start_smtpd tempdata 127.0.0.10 --tempfail-data

# case NAME [CONFIG LINES] - a fresh state directory and maildir for one case
case_start() {
	XDG_STATE_HOME="$T/state-$1"
	QUEUE="$XDG_STATE_HOME/paloma/queue"
	DLOG="$XDG_STATE_HOME/paloma/daemon.log"
	INBOX="$T/Mail-$1/me/INBOX/new"
	write_config "$(delivery_config)
autostart = no
${2:-}"
	sed -i "s|^maildir = .*|maildir = $T/Mail-$1|" "$CONFIG"
}
# [BODY_LINES=N] send [-f SENDER] RCPT... - queues one message (a body of N
# lines of 60 bytes, 1 by default); $id is its queue id
send() {
	_f=""
	if [ "$1" = -f ]; then _f=$2; shift 2; fi
	{
		printf 'From: Me <me@example.org>\nTo: %s\nSubject: test\n\n' "$*"
		/usr/bin/python3 -c 'import sys; [print("line %05d of a longer body, to be dropped in the middle" % i) for i in range(int(sys.argv[1]))]' "${BODY_LINES:-1}"
	} | if [ -n "$_f" ]; then "$PALOMA" send -f "$_f" "$@"; else "$PALOMA" send "$@"; fi >/dev/null 2>"$T/send.err" ||
		echo "send failed: $(cat "$T/send.err")" >&2
	id=$(ls "$QUEUE/entries" | tail -n 1)
}
# run [OFFSET] - one daemon --once run, OFFSET seconds in the future; $out, $rc, $took
run() {
	_s=$(date +%s)
	out=$(PALOMA_TEST_TIME_OFFSET=${1:-0} timeout 40 "$PALOMA" daemon --once 2>&1); rc=$?
	took=$(($(date +%s) - _s))
}
env_file() {
	if [ -f "$QUEUE/entries/$id/envelope" ]; then echo "$QUEUE/entries/$id/envelope"
	else echo "$QUEUE/done/$id/envelope"; fi
}
# field ADDR FIELD - a recipient's field in the entry's envelope
field() {
	awk -v a="Recipient: <$1>" -v k="$2: " '$0 == a { f = 1; next } /^Recipient:/ { f = 0 }
		f && index($0, k) == 1 { print substr($0, length(k) + 1) }' "$(env_file)"
}
# msg_field FIELD - a message field of the envelope
msg_field() { sed -n "s/^$1: //p" "$(env_file)" | head -n 1; }
inbox_count() { ls "$INBOX" 2>/dev/null | wc -l | tr -d ' '; }
# reports - "action | status | final-recipient | will-retry-until? | diagnostic"
# for every recipient block of every report in the inbox
reports() {
	"$PY" "$TESTS_DIR/servers/dsnfields.py" Action Status Final-Recipient \
		'until=Will-Retry-Until?' Diagnostic-Code -- "$INBOX"/*
}

# --- greylisting: deferred 4.7.1, retried after a minute, delivered
case_start grey
send g@grey.test
run
expect_eq "greylist: first run exits 0" "$rc" 0
expect_eq "greylist: deferred on first contact" "$(field g@grey.test State)" deferred
expect_eq "greylist: the server's status 4.7.1" "$(field g@grey.test Status)" 4.7.1
expect_match "greylist: the server's reply kept" "$(field g@grey.test Reply)" "^451 4\\.7\\.1 "
expect_eq "greylist: next attempt one minute after the first" \
	"$(($(field g@grey.test Next-Attempt) - $(field g@grey.test Last-Attempt)))" 60
expect_eq "greylist: nothing received yet" "$(received_count grey)" 0
run 120
expect_eq "greylist: delivered on the retry" "$(field g@grey.test State)" delivered
expect_eq "greylist: the server has one copy" "$(received_count grey)" 1
expect_eq "greylist: two attempts" "$(field g@grey.test Attempts)" 2
show=$("$PALOMA" queue show "$id")
expect_eq "queue show: two history lines" "$(echo "$show" | grep -c '^  history:')" 2
expect_match "queue show: the deferral in the history" "$show" \
	"^  history: +[0-9T:-]+Z deferred mx\\.grey\\.test \\[127\\.0\\.0\\.2\\] 4\\.7\\.1 451 4\\.7\\.1 "
expect_match "queue show: the delivery in the history" "$show" \
	"^  history: +[0-9T:-]+Z delivered mx\\.grey\\.test \\[127\\.0\\.0\\.2\\] 2\\.0\\.0 250 "
expect_eq "greylist: no report" "$(inbox_count)" 0

# --- the retry schedule 1m 5m 15m 30m, and queue flush
case_start schedule
send t@temp.test
run
expect_eq "schedule: deferred with the server's 450" "$(field t@temp.test State)/$(field t@temp.test Status)" deferred/4.2.1
off=0
for want in 60 300 900 1800; do
	n=$(field t@temp.test Attempts)
	la=$(field t@temp.test Last-Attempt)
	na=$(field t@temp.test Next-Attempt)
	expect_eq "schedule: after attempt $n the next is $want s later" "$((na - la))" "$want"
	[ "$n" = 4 ] && break
	# a run just before it is due does nothing, one just after tries again
	# (offsets from the clock now, not from the start: a slow machine or
	# valgrind may take seconds per run)
	off=$((na - $(date +%s) - 20))
	run "$off"
	expect_eq "schedule: not tried before it is due (attempt $n)" "$(field t@temp.test Attempts)" "$n"
	off=$((na - $(date +%s) + 5))
	run "$off"
	expect_eq "schedule: tried again once due (attempt $((n + 1)))" "$(field t@temp.test Attempts)" $((n + 1))
done
expect_eq "schedule: four attempts in all, each refused by the server" "$(grep -c '> RCPT TO:<t@temp.test>' "$(smtpd_log temp)")" 4
out=$("$PALOMA" queue flush 2>&1); rc=$?
expect_eq "queue flush without a daemon exits 0" "$rc" 0
expect_eq "queue flush: one recipient made due" "$out" "1 recipient made due now"
now=$(date +%s)
na=$(field t@temp.test Next-Attempt)
check "queue flush: Next-Attempt is now ($na, now $now)" test "$na" -le "$now" -a "$na" -ge $((now - 5))
run
expect_eq "after the flush a run without any offset tries it" "$(field t@temp.test Attempts)" 5
expect_eq "schedule: still deferred, no report" "$(field t@temp.test State)/$(inbox_count)" deferred/0

# --- connection dropped in the middle of DATA: deferred, then delivered once
case_start drop
BODY_LINES=200 send d@drop.test
run
expect_eq "mid-data drop: deferred" "$(field d@drop.test State)" deferred
expect_eq "mid-data drop: 4.4.2" "$(field d@drop.test Status)" 4.4.2
expect_match "mid-data drop: the reply says the server closed" "$(field d@drop.test Reply)" "closed the connection"
expect_match "mid-data drop: the server saw the fault" "$(cat "$(smtpd_log drop)")" "fault.*mid-data"
expect_eq "mid-data drop: nothing stored" "$(received_count drop)" 0
run 120
expect_eq "mid-data drop: delivered on the retry" "$(field d@drop.test State)" delivered
expect_eq "mid-data drop: exactly one copy at the receiver" "$(received_count drop)" 1
msg_body "$(received drop)" >"$T/got"
check "mid-data drop: the copy is whole" cmp -s "$T/got" "$QUEUE/done/$id/message"

# A message bigger than the socket buffers: the write itself fails.
case_start dropbig
BODY_LINES=40000 send d@dropbig.test
run
expect_eq "2 MB message dropped while sending: deferred" "$(field d@dropbig.test State)/$(field d@dropbig.test Status)" deferred/4.4.2
expect_match "2 MB message dropped while sending: the reply says so" "$(field d@dropbig.test Reply)" "closed the connection"
run 120
expect_eq "2 MB message dropped while sending: delivered on the retry" "$(field d@dropbig.test State)" delivered
expect_eq "2 MB message: exactly one copy at the receiver" "$(received_count dropbig)" 1
msg_body "$(received dropbig)" >"$T/got"
check "2 MB message: the copy is whole" cmp -s "$T/got" "$QUEUE/done/$id/message"

# At the final dot the fixture drops before it stores the message (a real
# server might have stored it: at-least-once allows a second copy then); so
# the receiver has exactly one copy, from the retry.
case_start dropdot
BODY_LINES=3 send d@dropdot.test
run
expect_eq "drop at the dot: deferred" "$(field d@dropdot.test State)" deferred
expect_match "drop at the dot: while waiting for the reply to the dot" "$(field d@dropdot.test Reply)" \
	"closed the connection while we waited for the reply to the final dot"
run 120
expect_eq "drop at the dot: delivered on the retry" "$(field d@dropdot.test State)" delivered
expect_eq "drop at the dot: one copy (the dropped one was not stored)" "$(received_count dropdot)" 1
expect_eq "drop at the dot: the dot was sent twice" "$(grep -c '> \.$' "$(smtpd_log dropdot)")" 2

# --- a stalled server: given up on after the configured timeout
case_start stall "timeout_mail = 2s
timeout_data_end = 3s"
send s@stall.test
run
expect_eq "stall at MAIL: the run exits 0" "$rc" 0
check "stall at MAIL: the run ends within the timeout (took ${took}s)" test "$took" -le 8
expect_eq "stall at MAIL: deferred" "$(field s@stall.test State)" deferred
expect_match "stall at MAIL: the reply names the timeout" "$(field s@stall.test Reply)" \
	"timed out after 2 s waiting for the reply to MAIL"
send s@stalldot.test
run 120
check "stall at the dot: the run ends within the timeout (took ${took}s)" test "$took" -le 9
expect_eq "stall at the dot: deferred" "$(field s@stalldot.test State)" deferred
expect_match "stall at the dot: the reply names the timeout" "$(field s@stalldot.test Reply)" \
	"timed out after 3 s waiting for the reply to the final dot"
expect_eq "stalled servers: no report" "$(inbox_count)" 0

# --- expiry: still failing after max_lifetime → failed 4.4.7, one report
case_start expire "max_lifetime = 1h"
send x@temp.test
run
expect_eq "expiry: deferred at first" "$(field x@temp.test State)" deferred
run 1800
expect_eq "expiry: still deferred within the lifetime" "$(field x@temp.test State)/$(inbox_count)" deferred/0
run 2200
run 3200
expect_eq "expiry: four attempts, still deferred" "$(field x@temp.test Attempts)/$(field x@temp.test State)" 4/deferred
expect_eq "expiry: the last retry is when the lifetime ends, not 30m later" \
	"$(field x@temp.test Next-Attempt)" $(($(msg_field Created) + 3600))
run 3700
expect_eq "expiry: bounced once past max_lifetime" "$(field x@temp.test State)" bounced
expect_eq "expiry: status 4.4.7" "$(field x@temp.test Status)" 4.4.7
expect_match "expiry: the reply says why, with the last failure" "$(field x@temp.test Reply)" \
	"gave up after 1h of temporary failures; the last one: 450 4\\.2\\.1"
expect_eq "expiry: the entry is retired" "$(queue_count)" 0
expect_eq "expiry: one report" "$(inbox_count)" 1
expect_match "expiry: the report says failed 4.4.7" "$(reports)" \
	"^failed \\| 4\\.4\\.7 \\| rfc822; ?x@temp\\.test \\| until=no \\| "
run 7200
expect_eq "expiry: nothing more afterwards" "$(inbox_count)" 1

# --- delay warning: one "delayed" report, never a second
case_start delay "delay_warning = 30m"
send w@temp.test
run
expect_eq "delay: no warning before 30 minutes" "$(field w@temp.test State)/$(inbox_count)" deferred/0
run 1900
expect_eq "delay: still deferred past 30 minutes" "$(field w@temp.test State)" deferred
expect_eq "delay: one report" "$(inbox_count)" 1
expect_match "delay: Action delayed, Will-Retry-Until" "$(reports)" \
	"^delayed \\| 4\\.2\\.1 \\| rfc822; ?w@temp\\.test \\| until=yes \\| "
expect_eq "delay: the envelope remembers it" "$(msg_field Delay-Warned)" yes
run 2300
expect_eq "delay: a later failed attempt (attempt 3)" "$(field w@temp.test Attempts)/$(field w@temp.test State)" 3/deferred
expect_eq "delay: no second delayed report" "$(inbox_count)" 1

# --- the null sender: refused 550, bounced, no report
case_start nullsender
send -f '<>' n@reject.test
run
expect_eq "null sender: sent with MAIL FROM:<>" "$(grep -c '> MAIL FROM:<>' "$(smtpd_log reject)")" 1
expect_eq "null sender: bounced" "$(field n@reject.test State)" bounced
expect_eq "null sender: 5.1.1" "$(field n@reject.test Status)" 5.1.1
expect_eq "null sender: no report in the inbox" "$(inbox_count)" 0
expect_match "null sender: daemon.log says no report is made" "$(cat "$DLOG")" \
	"$id: 1 recipient failed; the sender is <>, so no report is made"
expect_eq "null sender: the entry is retired" "$(queue_count)" 0

# --- 5xx to MAIL: every recipient of the transaction bounced with it
case_start rejmail
send a@rejmail.test b@rejmail.test
run
expect_eq "MAIL 550: one transaction tried" "$(grep -c '> MAIL FROM' "$(smtpd_log rejmail)")" 1
for r in a b; do
	expect_eq "MAIL 550: $r bounced" "$(field $r@rejmail.test State)" bounced
	expect_eq "MAIL 550: $r has the reply" "$(field $r@rejmail.test Status) $(field $r@rejmail.test Reply)" \
		"5.7.1 550 5.7.1 sender rejected"
done
expect_eq "MAIL 550: one report" "$(inbox_count)" 1
expect_eq "MAIL 550: it names both recipients, failed 5.7.1" "$(reports | cut -d'|' -f1-3 | sort)" \
	"failed | 5.7.1 | rfc822; a@rejmail.test 
failed | 5.7.1 | rfc822; b@rejmail.test "
expect_eq "MAIL 550: nothing received" "$(received_count rejmail)" 0

# --- 4xx after the final dot: every recipient deferred
case_start tempdata
send a@tempdata.test b@tempdata.test
run
for r in a b; do
	expect_eq "451 after the dot: $r deferred" "$(field $r@tempdata.test State)" deferred
	expect_eq "451 after the dot: $r has the reply" "$(field $r@tempdata.test Status) $(field $r@tempdata.test Reply)" \
		"4.3.0 451 4.3.0 $(sed -n 's/.*< 451 4\.3\.0 //p' "$(smtpd_log tempdata)" | head -n 1 | tr -d '\r')"
done
expect_eq "451 after the dot: no report" "$(inbox_count)" 0

# --- the delay warning comes when it is due, not at the next attempt after it
case_start delayontime "delay_warning = 30m
retry_schedule = 2h"
send w@temp.test
run
expect_eq "delay on time: deferred for 2 hours" "$(field w@temp.test State)/$(inbox_count)" deferred/0
run 1900
expect_eq "delay on time: no attempt at 32 minutes" "$(field w@temp.test Attempts)" 1
expect_eq "delay on time: but the warning is written" "$(inbox_count)" 1
expect_match "delay on time: Action delayed" "$(reports)" "^delayed \\| 4\\.2\\.1 \\| rfc822; ?w@temp\\.test \\| until=yes"
