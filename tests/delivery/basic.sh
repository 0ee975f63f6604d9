# Direct delivery: one message to several recipients of one domain in one
# transaction, a recipient refused at RCPT bounced with a report in the inbox,
# a second domain in parallel, the delivery log and the retired entry.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
SMTP_PORT=$(free_port)
start_dns --mx-host=example.test,mx1.example.test,10 --host-record=mx1.example.test,127.0.0.2 \
	--mx-host=other.test,mx.other.test,10 --host-record=mx.other.test,127.0.0.3
start_smtpd mx1 127.0.0.2 --reject-rcpt 'nobody@example.test=550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown'
start_smtpd other 127.0.0.3
write_config "$(delivery_config)
autostart = no"

printf 'From: Me <me@example.org>\nTo: a@example.test, b@example.test, nobody@example.test\nCc: c@other.test\nSubject: hello\n\nbody line\n' |
	"$PALOMA" send -t
id=$(ls "$QUEUE/entries")
out=$(timeout 30 "$PALOMA" daemon --once 2>&1); rc=$?
expect_eq "daemon --once exits 0 when the queue is done" "$rc" 0

expect_eq "example.test got one message" "$(received_count mx1)" 1
m=$(received mx1)
expect_eq "both accepted recipients in one transaction" "$(msg_meta "$m" rcpt_tos | tr '\n' ' ')" "a@example.test b@example.test "
expect_eq "envelope sender" "$(msg_meta "$m" mail_from)" "me@example.org"
expect_eq "EHLO with helo_name" "$(msg_meta "$m" ehlo)" "mail.example.org"
expect_match "the message arrived as queued" "$(msg_body "$m" | tr -d '\r')" '^Subject: hello$'
msg_body "$m" >"$T/got"
check "received bytes equal the queued message" cmp -s "$T/got" "$QUEUE/done/$id/message"
expect_eq "other.test got its own message" "$(received_count other)" 1
expect_eq "other.test: its recipient only" "$(msg_meta "$(received other)" rcpt_tos)" "c@other.test"
expect_match "PIPELINING used" "$(cat "$(smtpd_log mx1)")" 'RCPT TO:<b@example.test> \[pipelined\]'
expect_match "QUIT at the end" "$(cat "$(smtpd_log mx1)")" '> QUIT'

log=$(cat "$XDG_STATE_HOME/paloma/delivery.log")
expect_match "delivery log: delivered, with host, address, reply and the remote id" "$log" "id=$id rcpt=<a@example.test> result=delivered status=2.0.0 mx=mx1.example.test ip=127.0.0.2 tls=none reply=\"250 2.0.0 OK queued as 000001\" remote_id=000001 tls_policy=none$"
expect_match "delivery log: the refused recipient" "$log" 'rcpt=<nobody@example.test> result=failed status=5.1.1 .*reply="550 5.1.1 <nobody@example.test>: Recipient address rejected'
expect_match "paloma log shows it" "$("$PALOMA" log nobody)" 'result=failed'
expect_eq "paloma log filters by word" "$("$PALOMA" log other.test | wc -l | tr -d ' ')" 1

expect_eq "the queue is empty" "$("$PALOMA" queue list)" "The queue is empty."
show=$("$PALOMA" queue show "$id")
expect_match "queue show finds the retired entry" "$show" "^Queue-Id: +$id \\(done"
expect_match "queue show: who accepted it" "$show" '^  remote: +mx1.example.test \[127.0.0.2\]$'
expect_match "queue show: delivered state" "$show" '^  state: +delivered$'
expect_match "queue show: bounced state" "$show" '^  state: +bounced$'

# the report in the sender account's inbox, indexed
inbox="$T/Mail/me/INBOX/new"
expect_eq "one report in the inbox" "$(ls "$inbox" 2>/dev/null | wc -l | tr -d ' ')" 1
r="$inbox/$(ls "$inbox" | head -n 1)"
/usr/bin/python3 - "$r" >"$T/report.txt" <<'PY'
import email, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read())
print("type", m.get_content_type(), m.get_param("report-type"))
print("to", m["To"])
parts = list(m.walk())
for p in parts:
    if p.get_content_type() == "message/delivery-status":
        blocks = p.get_payload()
        print("reporting", blocks[0]["Reporting-MTA"])
        unfold = lambda v: str(v).replace("\r", "").replace("\n", "")
        for b in blocks[1:]:
            print("rcpt", *(unfold(b[k]) for k in ("Final-Recipient", "Action", "Status", "Remote-MTA")), unfold(b["Diagnostic-Code"]), sep=" | ")
    if p.get_content_type() == "text/rfc822-headers":
        print("headers", "Subject: hello" in p.get_payload())
PY
rep=$(cat "$T/report.txt")
expect_match "report is multipart/report; delivery-status" "$rep" '^type multipart/report delivery-status$'
expect_match "report goes to the sender" "$rep" '^to .*me@example.org'
expect_match "Reporting-MTA" "$rep" '^reporting dns; ?mail.example.org$'
expect_match "per-recipient fields" "$rep" '^rcpt \| rfc822; ?nobody@example.test \| failed \| 5.1.1 \| dns; ?mx1.example.test .*\| smtp; ?550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown$'
expect_eq "only the failed recipient is reported" "$(grep -c '^rcpt' "$T/report.txt")" 1
expect_match "original headers included" "$rep" '^headers True$'
printf '[database]\npath=%s\n' "$T/Mail" >"$T/notmuch-config"
# paloma-index runs detached from the daemon: give it a moment
tags() { NOTMUCH_CONFIG="$T/notmuch-config" notmuch search --output=tags 'tag:bounce' 2>/dev/null | sort | tr '\n' ' '; }
wait_for '[ "$(tags)" = "bounce inbox unread " ]' 10
expect_eq "report indexed (by paloma-index) with tags bounce inbox unread" "$(tags)" "bounce inbox unread "
check "the daemon itself does not link notmuch" sh -c "! ldd '$PALOMA_BUILD/libexec/paloma/paloma-daemon' | grep -q notmuch"

# A daemon killed after writing the report, before saving that it did: on
# disk, the report in the inbox and the entry with its recipient still
# "failed".  The next daemon finds the report (even read and archived since,
# in cur/), writes no second one, and leaves its tags alone.
NOTMUCH_CONFIG="$T/notmuch-config" notmuch tag -unread -inbox -- tag:bounce	# read, archived
expect_eq "(read, the report moved to cur/)" "$(ls "$inbox" | wc -l | tr -d ' ') $(ls "$T/Mail/me/INBOX/cur" | grep -c ':2,S$')" "0 1"
mv "$QUEUE/done/$id" "$QUEUE/entries/$id"
sed -i 's/^State: bounced$/State: failed/' "$QUEUE/entries/$id/envelope"
expect_eq "(the entry as a kill would leave it)" "$(grep -c '^State: failed$' "$QUEUE/entries/$id/envelope")" 1
out=$(timeout 30 "$PALOMA" daemon --once 2>&1); rc=$?
expect_eq "the next daemon: exit 0" "$rc" "0"
expect_eq "... no second report" "$( (ls "$inbox"; ls "$T/Mail/me/INBOX/cur") | wc -l | tr -d ' ')" 1
expect_match "... and it says why" "$out" \
	"$id: the failed report was written before the daemon stopped: .*/INBOX/cur/"
expect_eq "... the entry retired again" "$(ls "$QUEUE/entries" | wc -l | tr -d ' ') $(ls "$QUEUE/done")" "0 $id"
wait_for '[ "$(tags)" != "bounce " ]' 3	# paloma-index would run detached
expect_eq "... and the report, read and archived, is not put back in the inbox" "$(tags)" "bounce "

# files and directories private to the user
expect_eq "state and queue directories 0700" "$(stat -c %a "$XDG_STATE_HOME/paloma" "$QUEUE/done" | sort -u)" 700
expect_eq "delivery log 0600" "$(stat -c %a "$XDG_STATE_HOME/paloma/delivery.log")" 600

# paloma log --since
expect_eq "log --since 1h: every line of this run" "$("$PALOMA" log --since 1h | wc -l | tr -d ' ')" 4
expect_eq "log --since in the future of the lines: none" "$(PALOMA_TEST_TIME_OFFSET=7200 "$PALOMA" log --since 1h | wc -l | tr -d ' ')" 0
out=$("$PALOMA" log --since soon 2>&1); rc=$?
expect_eq "log --since with a bad duration: 64" "$rc" 64
expect_match "log --since with a bad duration: says so" "$out" 'takes a duration'
