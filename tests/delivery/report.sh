# A delivery report reaches the user: built (dsn.c), delivered into the
# sender account's INBOX (maildir.c) and indexed by notmuch with the tags
# inbox, unread and bounce (index.c), through pl_dsn_deliver as the daemon
# calls it (tests/tools/report).  Checked with the real notmuch CLI and with
# Python's email package; then with another writer holding the database.
. "$(dirname "$0")/../lib.sh"

REPORT="$PALOMA_BUILD/tests/tools/report"
NMLOCK="$PALOMA_BUILD/tests/tools/nmlock"
PY=/usr/bin/python3
if ! command -v notmuch >/dev/null 2>&1; then
	skip "delivery reports" "notmuch is not installed (apt-get install notmuch)"
	exit 0
fi
if [ ! -x "$PY" ]; then
	skip "delivery reports" "/usr/bin/python3 is missing"
	exit 0
fi
for t in "$REPORT" "$NMLOCK"; do
	if [ ! -x "$t" ]; then
		nok "test tool $(basename "$t") is built" "missing $t: run make units"
		exit 1
	fi
done

MAIL="$T/Mail"
INBOX="$MAIL/me/INBOX"
export NOTMUCH_CONFIG="$T/notmuch-config"
printf '[database]\npath=%s\n' "$MAIL" >"$NOTMUCH_CONFIG"

printf 'From: Paloma Tester <me@example.org>\r\nTo: bob@example.test\r\nSubject: Gr\303\274\303\237e aus Berlin\r\nDate: Mon, 21 Sep 2026 10:00:00 +0000\r\nMessage-ID: <orig.1@example.org>\r\nX-Note: caf\303\251\r\n\r\nHello Bob.\r\n' >"$T/orig.eml"
DIAG=$(printf '550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 Please check the address.')

# report [-w MS] SENDER RCPT ACTION STATUS REMOTE DIAG → path on stdout
report() {
	w=""
	if [ "$1" = -w ]; then w="-w $2"; shift 2; fi
	# shellcheck disable=SC2086
	"$REPORT" $w "$MAIL" me "$1" "$T/orig.eml" mail.example.org "$2" "$3" "$4" "$5" "$6"
}

# --- a failed recipient ----------------------------------------------------
path=$(report me@example.org bob@example.test failed 5.1.1 "mx1.example.test [127.0.0.2]" \
	"$DIAG" 2>"$T/err")
rc=$?
expect_eq "report delivered and indexed (exit 0)" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$T/err"
expect_match "report lands in the account's INBOX/new" "$path" "^$INBOX/new/[^/]+$"
check "the file exists" test -f "$path"
expect_eq "report file mode 0600" "$(stat -c %a "$path" 2>/dev/null)" 600
expect_eq "INBOX mode 0700" "$(stat -c %a "$INBOX" 2>/dev/null)" 700
expect_eq "nothing left in tmp/" "$(ls -A "$INBOX/tmp" | wc -l | tr -d ' ')" 0
check "the notmuch database was created in the maildir root" test -d "$MAIL/.notmuch/xapian"

expect_eq "notmuch search tag:bounce finds it" \
	"$(notmuch search --output=files tag:bounce 2>&1)" "$path"
expect_eq "tags are bounce inbox unread" \
	"$(notmuch search --output=tags tag:bounce 2>&1 | sort | tr '\n' ' ')" "bounce inbox unread "
expect_eq "one message indexed" "$(notmuch count '*' 2>&1)" 1
expect_match "notmuch decodes the subject" \
	"$(notmuch search --format=text tag:bounce 2>&1)" \
	"Mail Delivery System; Undelivered Mail Returned to Sender: Grüße aus Berlin"
expect_match "notmuch links it to the original by In-Reply-To" \
	"$(notmuch show --format=raw tag:bounce 2>&1 | grep -i '^in-reply-to:')" \
	"<orig\.1@example\.org>"

# Python's email package: multipart/report with the RFC 3464 fields.
out=$("$PY" - "$path" <<'PY' 2>&1
import sys, email
from email import policy
from email.utils import parsedate_to_datetime as date
raw = open(sys.argv[1], 'rb').read()
m = email.message_from_bytes(raw, policy=policy.default)
def out(k, v): print(f"{k}={v}")
out("crlf", raw.count(b"\n") == raw.count(b"\r\n"))
out("type", m.get_content_type())
out("report-type", m.get_param("report-type"))
out("subject", m["Subject"])
out("from", m["From"])
out("to", m["To"])
out("auto-submitted", m["Auto-Submitted"])
out("defects", len(m.defects) + sum(len(p.defects) for p in m.walk()))
parts = m.get_payload()
out("parts", ",".join(p.get_content_type() for p in parts))
text = parts[0].get_content()
out("text-names-rcpt", "bob@example.test" in text)
out("text-quotes-reply", "> 550 5.1.1 Please check the address." in text)
blocks = parts[1].get_payload()
out("blocks", len(blocks))
for k in ("Reporting-MTA", "X-Paloma-Queue-ID"):
    out(k, blocks[0][k])
out("Arrival-Date-parses", date(str(blocks[0]["Arrival-Date"])).year > 2000)
for k in ("Final-Recipient", "Action", "Status", "Remote-MTA", "Diagnostic-Code"):
    out(k, blocks[1][k])
out("Last-Attempt-Date-parses", date(str(blocks[1]["Last-Attempt-Date"])).year > 2000)
hdrs = parts[2].get_payload(decode=True).decode("utf-8")
out("headers-part-subject", "Subject: Grüße aus Berlin" in hdrs)
out("headers-part-no-body", "Hello Bob" not in hdrs)
PY
)
field() { printf '%s\n' "$out" | sed -n "s/^$1=//p"; }
[ -n "$(field type)" ] || nok "python parses the report" "$out"
expect_eq "CRLF line endings" "$(field crlf)" True
expect_eq "multipart/report" "$(field type)" multipart/report
expect_eq "report-type=delivery-status" "$(field report-type)" delivery-status
expect_eq "no MIME defects" "$(field defects)" 0
expect_eq "Subject (decoded)" "$(field subject)" "Undelivered Mail Returned to Sender: Grüße aus Berlin"
expect_eq "From: Mail Delivery System" "$(field from)" "Mail Delivery System <MAILER-DAEMON@mail.example.org>"
expect_eq "To: the sender" "$(field to)" "me@example.org"
expect_eq "Auto-Submitted: auto-replied" "$(field auto-submitted)" auto-replied
expect_eq "parts: text, delivery-status, headers" "$(field parts)" \
	"text/plain,message/delivery-status,text/rfc822-headers"
expect_eq "text names the recipient" "$(field text-names-rcpt)" True
expect_eq "text quotes the server's reply" "$(field text-quotes-reply)" True
expect_eq "per-message + one recipient block" "$(field blocks)" 2
expect_eq "Reporting-MTA" "$(field Reporting-MTA)" "dns; mail.example.org"
expect_eq "X-Paloma-Queue-ID" "$(field X-Paloma-Queue-ID)" 0123456789abcdef
expect_eq "Arrival-Date is a date" "$(field Arrival-Date-parses)" True
expect_eq "Final-Recipient" "$(field Final-Recipient)" "rfc822; bob@example.test"
expect_eq "Action" "$(field Action)" failed
expect_eq "Status" "$(field Status)" 5.1.1
expect_eq "Remote-MTA" "$(field Remote-MTA)" "dns; mx1.example.test"
expect_eq "Diagnostic-Code: the whole reply, unfolded" "$(field Diagnostic-Code)" \
	"smtp; 550-5.1.1 The email account that you tried to reach does not exist. 550 5.1.1 Please check the address."
expect_eq "Last-Attempt-Date is a date" "$(field Last-Attempt-Date-parses)" True
expect_eq "headers part holds the UTF-8 original header" "$(field headers-part-subject)" True
expect_eq "headers part holds no body" "$(field headers-part-no-body)" True

# --- no report about a report ------------------------------------------------
before=$(ls "$INBOX/new" | wc -l | tr -d ' ')
report "" bob@example.test failed 5.1.1 "" "" >/dev/null 2>"$T/err"
expect_eq "null sender: refused (exit 1)" "$?" 1
expect_match "null sender: says why" "$(cat "$T/err")" "null sender"
expect_eq "null sender: nothing delivered" "$(ls "$INBOX/new" | wc -l | tr -d ' ')" "$before"

# --- another writer holds the database -----------------------------------------
"$NMLOCK" "$MAIL" 3 >"$T/lock.out" 2>&1 &
lockpid=$!
at_exit "kill $lockpid 2>/dev/null"
i=0
while [ "$(cat "$T/lock.out" 2>/dev/null)" != locked ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
expect_eq "a second writer holds the database" "$(cat "$T/lock.out")" locked

start=$(date +%s%N)
p2=$(report -w 300 me@example.org carol@example.test failed 5.7.1 "" "" 2>"$T/err")
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "locked past the wait: delivered, not indexed (exit 3)" "$rc" 3
expect_match "it says the database stayed locked" "$(cat "$T/err")" "stayed locked"
check "the unindexed report is still delivered" test -f "$p2"
if [ "$ms" -lt 1500 ]; then ok "gave up after its short wait (${ms} ms)"
else nok "gave up after its short wait" "took ${ms} ms"; fi

start=$(date +%s%N)
p3=$(report me@example.org dave@example.test delayed 4.4.1 "" "connection timed out" 2>"$T/err")
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "waits for the writer, then indexes (exit 0)" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$T/err"
if [ "$ms" -ge 800 ] && [ "$ms" -lt 5000 ]; then ok "it waited for the lock (${ms} ms)"
else nok "it waited for the lock" "took ${ms} ms"; fi
wait "$lockpid"
expect_eq "both indexed reports carry tag:bounce" "$(notmuch count tag:bounce 2>&1)" 2
expect_eq "the delayed one is found too" \
	"$(notmuch search --output=files 'tag:bounce and subject:Delayed' 2>&1)" "$p3"
