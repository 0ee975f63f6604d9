#!/bin/sh
# The daemon reads mail in: a sync when it starts, new mail in an IMAP
# INBOX within seconds through the IDLE watcher (sync_interval is an hour,
# so only IDLE can bring it), a POP3 account on the sync_interval timer,
# and no paloma-sync left behind when the daemon stops.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
need_sync
start_dovecot || { nok "dovecot starts"; exit 1; }
fill INBOX 5
{
	printf '[general]\nmaildir = %s\nsync_interval = 1h\n\n' "$MAILDIR"
	account watch imaps
	printf '[delivery]\nautostart = no\n'
} >"$CONFIG"

"$PALOMA" -c "$CONFIG" daemon --foreground >"$T/daemon.out" 2>&1 &
dpid=$!
at_exit "kill $dpid 2>/dev/null; wait $dpid 2>/dev/null"
check "the daemon syncs when it starts" wait_for '[ "$(local_count watch)" = 5 ]' 30
# The watcher needs a moment to log in and start IDLE.
wait_for 'pgrep -f -- "--idle watch" >/dev/null' 10
sleep 1
fill INBOX 2 6
check "new mail in INBOX arrives through IDLE, well before sync_interval" \
	wait_for '[ "$(local_count watch)" = 7 ]' 30
check "... and indexed (the index commits just after the files)" \
	wait_for '[ "$(nm count "path:watch/INBOX/**")" = 7 ]' 10
check "a watcher waits again for the next message" \
	wait_for 'pgrep -f -- "--idle watch" >/dev/null' 10
fill INBOX 1 8
check "... and the next message arrives too" wait_for '[ "$(local_count watch)" = 8 ]' 30

kill -TERM $dpid
wait $dpid
expect_eq "the daemon stops on SIGTERM" "$?" 0
check "no paloma-sync is left running" sh -c "! pgrep -f -- '$CONFIG sync\\|paloma-sync -c $CONFIG' >/dev/null"
check "daemon.log has no sync error" sh -c "! grep -E 'sync: .*(failed|ended with)' '$XDG_STATE_HOME/paloma/daemon.log'"

# POP3 has no IDLE: the timer brings its mail.
fill INBOX 2 9
{
	printf '[general]\nmaildir = %s\nsync_interval = 2s\n\n' "$MAILDIR"
	account pop pop3s
	printf '[delivery]\nautostart = no\n'
} >"$CONFIG"
"$PALOMA" -c "$CONFIG" daemon --foreground >"$T/daemon2.out" 2>&1 &
dpid=$!
at_exit "kill $dpid 2>/dev/null; wait $dpid 2>/dev/null"
check "POP3: the first sync brings every message" wait_for '[ "$(local_count pop)" = 10 ]' 30
fill INBOX 1 11
check "POP3: the sync_interval timer brings the next one" \
	wait_for '[ "$(local_count pop)" = 11 ]' 30
kill -TERM $dpid
wait $dpid
expect_eq "the daemon stops" "$?" 0
