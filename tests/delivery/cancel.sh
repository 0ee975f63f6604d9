# Cancelling a recipient (paloma queue cancel, the client's outbox): with no
# daemon, under the daemon's lock; with a daemon running, through its
# control socket.  A cancelled recipient is final and gets no report; the
# entry is retired when nothing else is left; a delivered recipient, an
# unknown one and a bad id are refused with a clear message.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
SMTP_PORT=$(free_port)
start_dns --mx-host=grey.test,mx.grey.test,10 --host-record=mx.grey.test,127.0.0.2 \
	--mx-host=ok.test,mx.ok.test,10 --host-record=mx.ok.test,127.0.0.3
start_smtpd grey 127.0.0.2 --tempfail-rcpt
start_smtpd ok 127.0.0.3
write_config "$(delivery_config)
autostart = no"
DLOG="$XDG_STATE_HOME/paloma/daemon.log"
state_of() {	# ID ADDR
	_e="$QUEUE/entries/$1/envelope"
	[ -f "$_e" ] || _e="$QUEUE/done/$1/envelope"
	awk -v a="Recipient: <$2>" '$0 == a { f = 1; next } /^Recipient:/ { f = 0 }
		f && /^State: / { print $2 }' "$_e"
}

printf 'Subject: two\n\nx\n' | "$PALOMA" send a@grey.test b@ok.test
id=$(ls "$QUEUE/entries")
timeout 40 "$PALOMA" daemon --once >/dev/null 2>&1
expect_eq "a@grey.test is deferred" "$(state_of "$id" a@grey.test)" deferred
expect_eq "b@ok.test is delivered" "$(state_of "$id" b@ok.test)" delivered

out=$("$PALOMA" queue cancel "$id" b@ok.test 2>&1); rc=$?
expect_eq "a delivered recipient cannot be cancelled (65)" "$rc" 65
expect_match "... and says why" "$out" 'b@ok.test> is delivered already'
out=$("$PALOMA" queue cancel "$id" nobody@ok.test 2>&1); rc=$?
expect_eq "an unknown recipient: 66" "$rc" 66
out=$("$PALOMA" queue cancel not-an-id a@grey.test 2>&1); rc=$?
expect_eq "a bad id: 64" "$rc" 64

out=$("$PALOMA" queue cancel "$id" a@grey.test 2>&1); rc=$?
expect_eq "no daemon: cancel succeeds" "$rc/$out" "0/cancelled <a@grey.test> of $id"
expect_eq "... the recipient is cancelled" "$(state_of "$id" a@grey.test)" cancelled
check "... the entry is retired (nothing left to do)" test -d "$QUEUE/done/$id" -a ! -e "$QUEUE/entries/$id"
check "... and no report was written" test -z "$(ls "$T/Mail/me/INBOX/new" 2>/dev/null)"
expect_match "queue show says so" "$("$PALOMA" queue show "$id")" 'cancelled'

# With a daemon running: the request goes to it.
printf 'Subject: one\n\nx\n' | "$PALOMA" send c@grey.test d@grey.test
id=$(ls "$QUEUE/entries")
"$PALOMA" daemon --foreground >/dev/null 2>&1 &
dpid=$!
at_exit "kill $dpid 2>/dev/null"
check "the daemon defers both" wait_for '[ "$(state_of "$id" d@grey.test)" = deferred ]' 30
out=$("$PALOMA" queue cancel "$id" c@grey.test 2>&1); rc=$?
expect_eq "daemon running: cancel succeeds" "$rc" 0
expect_eq "... c is cancelled" "$(state_of "$id" c@grey.test)" cancelled
expect_eq "... d still deferred" "$(state_of "$id" d@grey.test)" deferred
check "... the daemon logged it" grep -q "$id: <c@grey.test> cancelled by the user" "$DLOG"
"$PALOMA" queue cancel "$id" d@grey.test >/dev/null 2>&1
check "cancelling the last one retires the entry" wait_for "test -d '$QUEUE/done/$id'" 10
kill $dpid
wait $dpid 2>/dev/null
check "no report for cancelled recipients" test -z "$(ls "$T/Mail/me/INBOX/new" 2>/dev/null)"
