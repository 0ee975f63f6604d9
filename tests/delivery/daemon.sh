# The daemon as a process: one per state directory, a private control socket
# and no network port, woken by paloma send or started by it, SIGHUP reloads,
# SIGTERM stops without losing a recipient.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
SMTP_PORT=$(free_port)
start_dns --mx-host=example.test,mx1.example.test,10 --host-record=mx1.example.test,127.0.0.2
start_smtpd mx1 127.0.0.2
write_config "$(delivery_config)
autostart = no"
SOCK="$XDG_RUNTIME_DIR/paloma/daemon.sock"
DLOG="$XDG_STATE_HOME/paloma/daemon.log"
send_one() { printf 'From: me@example.org\nSubject: %s\n\nbody\n' "$1" | "$PALOMA" send "$2"; }
daemon_pid() { sed -n 1p "$XDG_STATE_HOME/paloma/daemon.lock" 2>/dev/null; }
stop_daemon() {
	p=$(daemon_pid)
	[ -n "$p" ] && kill "$p" 2>/dev/null
	wait_for "! kill -0 $p 2>/dev/null" 15
}
at_exit stop_daemon

# --- a detached daemon: lock, socket, no port
"$PALOMA" daemon; rc=$?
expect_eq "paloma daemon detaches and exits 0" "$rc" 0
check "the daemon's socket appears" wait_for "[ -S '$SOCK' ]" 5
pid=$(daemon_pid)
check "the daemon runs (pid in the lock file)" kill -0 "$pid"
expect_eq "control socket is private (0600)" "$(stat -c %a "$SOCK")" 600
expect_eq "runtime directory is private (0700)" "$(stat -c %a "$XDG_RUNTIME_DIR/paloma")" 700
# its sockets, by inode, against the kernel's TCP and UDP tables
inodes=$(ls -l /proc/$pid/fd 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p')
nsock=$(echo "$inodes" | grep -c . || true)
check "the daemon has sockets to look at ($nsock)" test "$nsock" -ge 1
inet=0
for i in $inodes; do
	awk -v i="$i" '$10 == i' /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 | grep -q . && inet=$((inet + 1))
done
expect_eq "none of them is a network socket (no port listens)" "$inet" 0
out=$("$PALOMA" daemon --foreground 2>&1); rc=$?
expect_eq "a second daemon exits 75" "$rc" 75
expect_match "a second daemon names the running one" "$out" "a daemon already runs for $XDG_STATE_HOME/paloma \\(pid $pid\\)"

# --- paloma send wakes it: delivered without waiting for a rescan
send_one woken a@example.test
check "a queued message is delivered after the wake-up" wait_for '[ "$(received_count mx1)" = 1 ]' 10
check "the entry is retired" wait_for '[ "$(queue_count)" = 0 ]' 5

# --- SIGHUP reloads the settings; a broken file is refused, old ones kept
printf '[delivery]\nsmtp_port = banana\n' >>"$CONFIG"
kill -HUP "$pid"
check "a bad config on SIGHUP is refused and logged" wait_for "grep -q 'reload refused, keeping the old settings' '$DLOG'" 5
write_config "$(delivery_config)
autostart = no
retry_schedule = 7m"
kill -HUP "$pid"
check "SIGHUP reloads the settings" wait_for "grep -q 'settings reloaded' '$DLOG'" 5
check "the daemon survives both" kill -0 "$pid"

# --- queue flush goes through the daemon
stop_smtpd mx1
send_one deferred b@example.test
check "with the MX down the recipient is deferred" wait_for "grep -q 'State: deferred' '$(first_entry)/envelope' 2>/dev/null" 10
na=$(grep '^Next-Attempt:' "$(first_entry)/envelope" | cut -d' ' -f2)
now=$(date +%s)
check "the reloaded retry schedule (7m) is used" test $((na - now)) -gt 360 -a $((na - now)) -le 420
start_smtpd mx1 127.0.0.2
out=$("$PALOMA" queue flush); rc=$?
expect_eq "flush through the running daemon: exit 0" "$rc" 0
expect_eq "flush through the running daemon: count" "$out" "1 recipient made due now"
check "after the flush the recipient is delivered" wait_for '[ "$(received_count mx1)" = 2 ]' 10

# --- SIGTERM: stops, socket removed, nothing lost
kill -TERM "$pid"
check "SIGTERM stops the daemon" wait_for "! kill -0 $pid 2>/dev/null" 15
check "the socket is removed" test ! -e "$SOCK"
expect_match "the log says it stopped" "$(tail -n 1 "$DLOG")" 'stopped$'

# --- autostart: paloma send starts a daemon when none runs
write_config "$(delivery_config)
autostart = yes"
send_one auto c@example.test
check "paloma send started a daemon" wait_for "[ -S '$SOCK' ]" 5
check "and it delivered the message" wait_for '[ "$(received_count mx1)" = 3 ]' 10
expect_eq "the queue is empty" "$(queue_count)" 0

# --- SIGTERM during a slow transaction: the recipient stays queued
stop_daemon
stop_smtpd mx1
start_smtpd mx1 127.0.0.2 --stall-at dot
write_config "$(delivery_config)
autostart = no"
"$PALOMA" daemon
send_one slow d@example.test
check "the daemon is in the middle of DATA" wait_for "grep -q 'fault: stall' '$(smtpd_log mx1)'" 10
pid=$(daemon_pid)
kill -TERM "$pid"
check "SIGTERM with a stalled transaction: stops within the grace period" wait_for "! kill -0 $pid 2>/dev/null" 15
expect_match "the log says it abandoned the transaction" "$(cat "$DLOG")" 'abandoning [0-9]+ transactions? in flight'
expect_eq "the recipient is still queued" "$(grep -c '^Recipient: <d@example.test>' "$(first_entry)/envelope")" 1
expect_match "and not marked delivered or bounced" "$(grep '^State:' "$(first_entry)/envelope")" '^State: (queued|deferred)$'
