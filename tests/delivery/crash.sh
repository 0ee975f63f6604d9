# Promises 2, 3 and 6 under kill -9: about 40 messages to four domains
# (one greylisting, one over TLS, one without PIPELINING, a refused address,
# ten 1.5 MB messages), a daemon killed at random moments and started again
# ten times (its clock an hour later each time, so that deferred recipients
# are tried again), then run to the end.  Every recipient must end delivered
# (its receiver has the queued bytes) or bounced (a report in the inbox);
# none lost.  Duplicates are allowed only where at-least-once allows them: an
# earlier copy taken by a daemon that was then killed.  The lock dies with
# the process; a second daemon beside a running one exits 75 naming its pid.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
SMTP_PORT=$(free_port)
PLOG="$XDG_STATE_HOME/paloma/daemon.log"
LOCK="$XDG_STATE_HOME/paloma/daemon.lock"

start_dns --mx-host=d1.test,mx.d1.test,10 --host-record=mx.d1.test,127.0.0.2 \
	--mx-host=d2.test,mx.d2.test,10 --host-record=mx.d2.test,127.0.0.3 \
	--mx-host=d3.test,mx.d3.test,10 --host-record=mx.d3.test,127.0.0.4 \
	--mx-host=d4.test,mx.d4.test,10 --host-record=mx.d4.test,127.0.0.5
make_cert d3 mx.d3.test
start_smtpd d1 127.0.0.2 --reject-rcpt 'bad@d1.test=550 5.1.1 <bad@d1.test>: no such user'
start_smtpd d2 127.0.0.3 --no-pipelining
start_smtpd d3 127.0.0.4 --tls-cert "$T/certs/d3.crt" --tls-key "$T/certs/d3.key"
start_smtpd d4 127.0.0.5 --greylist
# A long lifetime and a late delay warning: the clock is pushed forward by
# hours at the end, and only failure reports should reach the inbox.
# One connection per domain, two in all: the work lasts longer than a
# daemon lives, so the kills land in the middle of it.
write_config "$(delivery_config)
autostart = no
parallel = 2
per_domain = 1
max_lifetime = 30d
delay_warning = 20d"

# --- 40 messages -------------------------------------------------------------
i=1
while [ $i -le 40 ]; do
	a=$(((i - 1) % 4 + 1)) b=$((i % 4 + 1)) c=$(((i + 1) % 4 + 1))
	to="r$i@d$a.test"
	[ $((i % 3)) -eq 0 ] && to="$to, s$i@d$b.test"
	[ $((i % 5)) -eq 0 ] && to="$to, t$i@d$c.test, x$i@d$a.test, y$i@d$a.test"
	[ $((i % 7)) -eq 0 ] && to="$to, bad@d1.test"
	{
		printf 'From: Me <me@example.org>\nTo: %s\nSubject: crash test %d\n\n' "$to" "$i"
		printf 'message %d\n.\n..leading dots\n' "$i"
		if [ $((i % 4)) -eq 0 ]; then
			head -c 1100000 /dev/urandom | base64 -w 76
		fi
	} | "$PALOMA" send -t -i || nok "queued message $i"
	i=$((i + 1))
done
expect_eq "40 messages queued" "$(queue_count)" 40
# the recipients as queued: "id address" lines
for e in "$QUEUE"/entries/*; do
	sed -n "s/^Recipient: <\\(.*\\)>\$/$(basename "$e") \\1/p" "$e/envelope"
done | sort >"$T/queued"
nq=$(wc -l <"$T/queued" | tr -d ' ')
echo "# $nq recipients queued"

# quiet: every connection each receiver accepted is closed
quiet() {
	for _q in d1 d2 d3 d4; do
		[ "$(grep -c '\* connect' "$(smtpd_log $_q)")" = "$(grep -c '\* closed' "$(smtpd_log $_q)")" ] ||
			return 1
	done
}
now() { $PY -c 'import time; print("%.6f" % time.time())'; }
# rnd LO HI: a random number of milliseconds
rnd() { $PY -c "import random; print(random.randint($1, $2))"; }
: >"$T/runs"		# "start-time killed|clean" per daemon run

# --- kill -9 at random moments ---------------------------------------------------
k=1
bad_start=0
while [ $k -le 10 ]; do
	ms=$(rnd 30 300)
	t0=$(now)
	PALOMA_TEST_TIME_OFFSET=$((k * 3600)) "$PALOMA" daemon --foreground >"$T/run$k.out" 2>&1 &
	pid=$!
	echo "$t0 killed $pid" >>"$T/runs"
	# It must start although the last one died holding the lock: the
	# flock went with it.  Then it gets a random time to work.
	wait_for "grep -q 'started (pid $pid,' '$PLOG'" 10 || bad_start=$((bad_start + 1))
	if [ $k -eq 3 ]; then
		# promise 6: a second daemon while this one runs
		timeout 10 "$PALOMA" daemon --once >"$T/second.out" 2>&1
		expect_eq "a second daemon exits 75" "$?" 75
		expect_match "... saying a daemon runs, with its pid" "$(cat "$T/second.out")" \
			"^paloma: a daemon already runs for $XDG_STATE_HOME/paloma \\(pid $pid\\)\$"
		expect_eq "... and the first one still runs" "$(kill -0 $pid 2>/dev/null && echo yes)" yes
	fi
	sleep "$(echo "$ms" | awk '{ printf "%.3f", $1 / 1000 }')"
	kill -9 $pid 2>/dev/null
	wait $pid
	rc=$?
	echo "# run $k: pid $pid killed ${ms} ms after it started (exit $rc), $(queue_count) entries left"
	# 137: killed by us.  Anything else: it stopped by itself (a stale
	# lock would make it exit 75 at once).
	[ $rc -eq 137 ] || { bad_start=$((bad_start + 1)); sed 's/^/#   /' "$T/run$k.out"; }
	# Let the receivers finish what the dead daemon sent (a message whose
	# final dot was in the socket buffers is still taken), so that each
	# copy received is counted in the run that sent it.
	wait_for quiet 10 || echo "# run $k: a receiver still has a connection open"
	k=$((k + 1))
done
expect_eq "every restart started and ran until killed (no stale lock)" "$bad_start" 0
expect_eq "the lock file still names the last, dead daemon" "$(cat "$LOCK")" "$pid"

# --- then run to the end -------------------------------------------------------------
k=1
while [ $k -le 10 ] && [ "$(queue_count)" -gt 0 ]; do
	t0=$(now)
	echo "$t0 clean once$k" >>"$T/runs"
	PALOMA_TEST_TIME_OFFSET=$(((10 + k) * 3600)) timeout 60 "$PALOMA" daemon --once >"$T/once$k.out" 2>&1
	rc=$?
	[ $rc -eq 0 ] || { nok "daemon --once run $k exits 0 (got $rc)"; sed 's/^/#   /' "$T/once$k.out"; }
	wait_for quiet 10
	k=$((k + 1))
done
expect_eq "the queue is empty at the end" "$("$PALOMA" queue list)" "The queue is empty."

# --- account for every recipient ------------------------------------------------------
$PY - "$T/queued" "$QUEUE" "$T/spool" "$T/Mail/me/INBOX/new" "$T/runs" >"$T/acct" <<'PY'
import email, email.utils, os, sys, datetime, collections
queued_f, queue, spool, inbox, runs_f = sys.argv[1:6]
queued = [tuple(l.split(" ", 1)) for l in open(queued_f).read().splitlines()]
runs = []
for l in open(runs_f):
    t, kind, name = l.split()
    runs.append((float(t), kind, name))
runs.sort()

def run_of(t):
    r = None
    for x in runs:
        if x[0] <= t:
            r = x
    return r

msgs, mid2id, states = {}, {}, {}
for qid in sorted(set(q for q, _ in queued)):
    d = os.path.join(queue, "done", qid)
    if not os.path.isdir(d):
        print("notdone", qid)
        d = os.path.join(queue, "entries", qid)	# still queued: look there
    if not os.path.isdir(d):
        continue
    raw = open(os.path.join(d, "message"), "rb").read()
    msgs[qid] = raw
    mid2id[email.message_from_bytes(raw)["Message-ID"].strip()] = qid
    rcpt = None
    for line in open(os.path.join(d, "envelope"), encoding="utf-8"):
        k, _, v = line.rstrip("\n").partition(": ")
        if k == "Recipient":
            rcpt = v.strip("<>")
        elif k == "State" and rcpt:
            states[(qid, rcpt)] = v

copies = collections.defaultdict(list)	# (id, rcpt) -> [(time, run)]
corrupt = wrongserver = unknown = 0
for srv in sorted(os.listdir(spool)):
    for f in sorted(os.listdir(os.path.join(spool, srv))):
        if not f.endswith(".msg"):
            continue
        import json
        with open(os.path.join(spool, srv, f), "rb") as fh:
            meta = json.loads(fh.readline())
            body = fh.read()
        mid = (email.message_from_bytes(body)["Message-ID"] or "").strip()
        qid = mid2id.get(mid)
        if qid is None:
            unknown += 1
            continue
        if body != msgs[qid]:
            corrupt += 1
            print("corrupt", srv, f, qid)
        t = datetime.datetime.strptime(meta["received"], "%Y-%m-%dT%H:%M:%S.%fZ") \
            .replace(tzinfo=datetime.timezone.utc).timestamp()
        for r in meta["rcpt_tos"]:
            if r.split("@")[1] != srv + ".test":
                wrongserver += 1
            copies[(qid, r)].append((t, run_of(t)))

reports = collections.Counter()
for f in sorted(os.listdir(inbox)) if os.path.isdir(inbox) else []:
    m = email.message_from_bytes(open(os.path.join(inbox, f), "rb").read())
    orig, failed = None, []
    for p in m.walk():
        if p.get_content_type() == "text/rfc822-headers":
            h = email.message_from_string(p.get_payload())
            orig = mid2id.get((h["Message-ID"] or "").strip())
        if p.get_content_type() == "message/delivery-status":
            for b in p.get_payload()[1:]:
                failed.append((str(b["Final-Recipient"]).split(";", 1)[1].strip(), str(b["Action"])))
    for r, action in failed:
        reports[(orig, r, action)] += 1

delivered = bounced = lost = both = dups = baddups = badstate = 0
for q, r in queued:
    n = len(copies.get((q, r), []))
    rep = reports.get((q, r, "failed"), 0)
    st = states.get((q, r))
    if n and rep:
        both += 1
        print("both", q, r)
    if n:
        delivered += 1
        if st != "delivered":
            badstate += 1
            print("state", q, r, st, "but received")
    elif rep:
        bounced += 1
        if st != "bounced":
            badstate += 1
            print("state", q, r, st, "but reported")
    else:
        lost += 1
        print("lost", q, r, st)
    if n > 1:
        dups += 1
        cs = sorted(copies[(q, r)])
        runs_seen = [c[1] for c in cs]
        ok = len(set(runs_seen)) == len(runs_seen) and \
            all(x is not None and x[1] == "killed" for x in runs_seen[:-1])
        print("dup", q, r, n, "copies, runs", " ".join(x[2] if x else "?" for x in runs_seen),
              "allowed" if ok else "NOT ALLOWED")
        if not ok:
            baddups += 1
print("queued", len(queued))
print("delivered", delivered)
print("bounced", bounced)
print("lost", lost)
print("both", both)
print("duplicates", dups)
print("baddups", baddups)
print("corrupt", corrupt)
print("unknown", unknown)
print("wrongserver", wrongserver)
print("badstate", badstate)
print("extra_reports", sum(reports.values()) - bounced)
print("other_reports", sum(n for (q, r, a), n in reports.items() if a != "failed"))
PY
sed -n 's/^\(dup\|lost\|both\|state\|corrupt\|notdone\) /# &/p' "$T/acct"
a() { sed -n "s/^$1 //p" "$T/acct"; }
echo "# delivered $(a delivered), bounced $(a bounced), duplicates $(a duplicates) (recipients received more than once)"
expect_eq "every queued recipient accounted for" "$(a queued)" "$nq"
expect_eq "lost = 0" "$(a lost)" 0
expect_eq "each one delivered or bounced: delivered + bounced = queued" "$(($(a delivered) + $(a bounced)))" "$nq"
expect_eq "the refused address bounced, once per message that had it (5)" "$(a bounced)" 5
expect_eq "no recipient both delivered and bounced" "$(a both)" 0
expect_eq "duplicates only from a daemon killed after the remote 250" "$(a baddups)" 0
expect_eq "every copy received equals the queued bytes" "$(a corrupt)" 0
expect_eq "no message the queue did not hold" "$(a unknown)" 0
expect_eq "every copy at its own domain's server" "$(a wrongserver)" 0
expect_eq "final states match what the servers and the inbox hold" "$(a badstate)" 0
expect_eq "no report other than failures" "$(a other_reports)" 0
echo "# extra reports (a report written twice across a kill): $(a extra_reports)"
expect_eq "every entry retired to done/" "$(grep -c '^notdone' "$T/acct")" 0

# --- the two crash windows after the last outcome, made by hand -----------------
# A: killed after saving "delivered" for the last recipient, before the
# entry moved to done/.  B: killed after saving "failed", before the report.
# The next daemon must retire A without sending it again, and report and
# retire B.
conns() { cat "$(smtpd_log d1)" "$(smtpd_log d2)" | grep -c '\* connect'; }
# queue < message: queues it, prints its id
queue() {
	ls "$QUEUE/entries" | sort >"$T/before"
	"$PALOMA" send -t && ls "$QUEUE/entries" | sort | comm -13 "$T/before" -
}
ida=$(printf 'From: me@example.org\nTo: wa@d1.test\nSubject: A\n\nA\n' | queue)
idb=$(printf 'From: me@example.org\nTo: wb@d2.test\nSubject: B\n\nB\n' | queue)
sed -i 's/^State: queued$/State: delivered/' "$QUEUE/entries/$ida/envelope"
sed -i 's/^State: queued$/State: failed\nStatus: 5.1.1\nReply: 550 5.1.1 no such user (before the crash)/' \
	"$QUEUE/entries/$idb/envelope"
nconn=$(conns)
nrep=$(ls "$T/Mail/me/INBOX/new" | wc -l | tr -d ' ')
PALOMA_TEST_TIME_OFFSET=$((30 * 3600)) timeout 30 "$PALOMA" daemon --once >"$T/last.out" 2>&1
expect_eq "after a crash: daemon --once exits 0" "$?" 0
expect_eq "after a crash: nothing sent again" "$(conns)" "$nconn"
check "after a crash: the delivered entry is retired to done/" test -d "$QUEUE/done/$ida"
check "after a crash: the failed entry is retired to done/" test -d "$QUEUE/done/$idb"
expect_eq "after a crash: neither is left in the queue" \
	"$(ls "$QUEUE/entries" | grep -c -x -e "$ida" -e "$idb")" 0
expect_eq "after a crash: one more report, for the failed recipient" \
	"$(ls "$T/Mail/me/INBOX/new" | wc -l | tr -d ' ') $(grep -l 'wb@d2.test' "$T/Mail/me/INBOX/new"/* | wc -l | tr -d ' ')" \
	"$((nrep + 1)) 1"
expect_match "after a crash: the failed recipient is bounced" "$("$PALOMA" queue show "$idb")" '^  state: +bounced$'
