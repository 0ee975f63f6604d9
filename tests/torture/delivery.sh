#!/bin/sh
# Crash torture of the delivery daemon (issue #8, point 1; promises 2 and 3
# of doc/DESIGN.md): messages to many domains whose receivers answer at
# random (250, 4xx, 5xx, a dropped connection, a stall), the daemon killed
# with SIGKILL at random moments and started again, until the queue is
# empty.  Then every (message, recipient) is delivered byte for byte or
# bounced with a report: lost = 0; a duplicate only from a run killed
# between the remote's 250 and the state write.  The driver is crash.py.
#
# The short version runs in `make check`; `make torture` sets
#	TORTURE_MESSAGES=2000 TORTURE_DOMAINS=20 TORTURE_KILLS=200
# (and TORTURE_CAP, TORTURE_MAX_RUN, TORTURE_PARALLEL, TORTURE_SEED; the
# seed is printed, but timing makes each run differ anyway).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../delivery/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
N=${TORTURE_MESSAGES:-150} D=${TORTURE_DOMAINS:-5} K=${TORTURE_KILLS:-15}
CAP=${TORTURE_CAP:-100} MAXRUN=${TORTURE_MAX_RUN:-0.8}
PAR=${TORTURE_PARALLEL:-4}
SEED=${TORTURE_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
echo "# $N messages, $D domains, $K kills, seed $SEED (TORTURE_SEED=$SEED repeats the random draws)"
SMTP_PORT=$(free_port)

dns=""
i=1
while [ "$i" -le "$D" ]; do
	dns="$dns --mx-host=d$i.test,mx.d$i.test,10 --host-record=mx.d$i.test,127.0.1.$i"
	i=$((i + 1))
done
# shellcheck disable=SC2086 # the words are the arguments
start_dns $dns || exit 1
# Short retries and timeouts, so that deferrals and stalls resolve within
# the run; a lifetime long enough that nothing expires; no delay warnings.
# Few connections, so that the queue outlasts the kills.
write_config "$(delivery_config)
autostart = no
parallel = $PAR
per_domain = 1
retry_schedule = 1s 2s
max_lifetime = 1d
delay_warning = 20d
timeout_connect = 2s
timeout_greeting = 3s
timeout_command = 3s
timeout_mail = 3s
timeout_rcpt = 3s
timeout_data_init = 3s
timeout_data_block = 3s
timeout_data_end = 3s"
export T PALOMA QUEUE TESTS_DIR SMTP_PORT
$PY "$TESTS_DIR/torture/crash.py" --messages "$N" --domains "$D" --kills "$K" \
	--seed "$SEED" --cap "$CAP" --max-run "$MAXRUN" >"$T/result" 2>"$T/crash.err"
rc=$?
grep '^#' "$T/result" | grep -v '^# duplicate .*killed before it recorded' | head -n 50
grep -c '^# duplicate .*killed before it recorded' "$T/result" | sed 's/^/# explained duplicates: /'
expect_eq "the driver ran to the end" "$rc $(cat "$T/crash.err")" "0 "
r() { sed -n "s/^$1 //p" "$T/result"; }
echo "lost=$(r lost) duplicates=$(r duplicates) delivered=$(r delivered) bounced=$(r bounced) kills=$(r kills)"
echo "# runs $(r runs), $(r seconds) s; copies taken by a run killed before it recorded them: $(r unrecorded_copies); delivered then bounced: $(r delivered_then_bounced); reports written twice: $(r extra_reports)"
expect_eq "$N messages queued" "$(r messages)" "$N"
expect_eq "the daemon was killed $K times" "$(r kills)" "$K"
expect_eq "no run of the daemon ended by itself (crash)" "$(r unexpected_exits)" 0
# A child of the killed daemon caught between fork and exec holds a copy of
# its lock for a moment; a new daemon waits for that rather than refuse.
expect_eq "no restart refused because the killed daemon's lock was still held" "$(r refused_restarts)" 0
expect_eq "the queue is empty at the end" "$(r left)" 0
expect_eq "lost = 0" "$(r lost)" 0
expect_eq "every recipient delivered or bounced" "$(($(r delivered) + $(r bounced)))" "$(r recipients)"
expect_eq "every duplicate comes from the window between the 250 and the state write" \
	"$(r unexplained_duplicates)" 0
expect_eq "no report written twice (a kill between writing it and saving so)" \
	"$(r extra_reports)" 0
expect_eq "every copy received is byte-identical to the queued message" "$(r corrupt)" 0
expect_eq "no message the queue did not hold" "$(r unknown)" 0
expect_eq "every copy at its own domain's receiver" "$(r wrong_server)" 0
san=$(grep -c 'AddressSanitizer\|runtime error:\|LeakSanitizer' "$T/daemon-run.out")
expect_eq "no sanitizer report from any run" "$san" 0
check "some recipients bounced (the receivers refuse some)" test "$(r bounced)" -gt 0
