# Invoked as sendmail (and mailq): the flags cron, mail(1), mutt and git
# send-email use.
. "$(dirname "$0")/../lib.sh"
write_config
ln -s "$PALOMA" "$T/sendmail"
ln -s "$PALOMA" "$T/mailq"
SM="$T/sendmail"
msg() { printf 'From: Me <me@example.org>\nTo: a@example.test\nSubject: s\n\nbody\n'; }

# mutt: $sendmail -oem -oi -- recipients
msg | "$SM" -oem -oi -- a@example.test b@example.test; rc=$?
expect_eq "mutt's flags (-oem -oi --): exit 0" "$rc" 0
expect_eq "mutt's flags: both recipients" "$(grep -c '^Recipient:' "$(first_entry)/envelope")" 2
rm -rf "$QUEUE/entries"/*

# git send-email: sendmail -i -f sender recipients (sendmail.sendmailcmd)
msg | "$SM" -i -f me@example.org a@example.test c@example.test; rc=$?
expect_eq "git send-email's flags (-i -f): exit 0" "$rc" 0
expect_match "git send-email: sender from -f" "$(cat "$(first_entry)/envelope")" '^Sender: <me@example.org>$'
rm -rf "$QUEUE/entries"/*

# cron: sendmail -FCronDaemon -i -B8BITMIME -oem user
printf 'To: me@example.org\nSubject: Cron <me@host> true\n\noutput\n' |
	"$SM" -FCronDaemon -i -B8BITMIME -oem me@example.org; rc=$?
expect_eq "cron's flags (-F -i -B8BITMIME -oem): exit 0" "$rc" 0
expect_match "cron: From added with -F name" "$(cat "$(first_entry)/message")" '^From: CronDaemon <me@example.org>'
rm -rf "$QUEUE/entries"/*

# mail(1) / mailx: sendmail -i -- recipients; and -t -i
msg | "$SM" -i -- a@example.test; expect_eq "mailx's flags (-i --): exit 0" "$?" 0
rm -rf "$QUEUE/entries"/*
msg | "$SM" -t -i; expect_eq "-t -i: exit 0" "$?" 0
msg | "$SM" -ti; expect_eq "clustered -ti: exit 0" "$?" 0
expect_eq "-t -i and -ti both queued" "$(queue_count)" 2
rm -rf "$QUEUE/entries"/*

# ignored compatibility flags
msg | "$SM" -odb -odi -oem -bm -oi a@example.test; expect_eq "-odb -odi -oem -bm accepted" "$?" 0
msg | "$SM" -N never -R hdrs -V envid a@example.test; expect_eq "-N -R -V accepted" "$?" 0
expect_eq "both queued" "$(queue_count)" 2
msg | "$SM" -h 5 a@example.test; expect_eq "-h N (hop count) accepted, not taken for help" "$?/$(queue_count)" "0/3"
rm -rf "$QUEUE/entries/$(ls -t "$QUEUE/entries" | head -n 1)"

# -bp and mailq list the queue
out=$("$SM" -bp)
expect_match "-bp lists the queue" "$out" '^-- 2 messages, 2 recipients$'
out=$("$T/mailq")
expect_match "mailq lists the queue" "$out" '<me@example.org> -> a@example.test \(queued\)'

# -q flushes (no daemon runs)
out=$("$SM" -q 2>&1); expect_eq "-q flushes: exit 0" "$?" 0
expect_match "-q says how many were made due" "$out" 'recipients? made due now'

# unsupported modes and unknown flags: clear usage errors, exit 64
out=$(msg | "$SM" -bs 2>&1); rc=$?
expect_eq "-bs refused with 64" "$rc" 64
expect_match "-bs: says it is unsupported" "$out" "unsupported mode '-bs'"
out=$(msg | "$SM" -q1h 2>&1); rc=$?
expect_eq "-q1h refused with 64" "$rc" 64
out=$(msg | "$SM" -oQ/tmp a@example.test 2>&1); rc=$?
expect_eq "unknown -o option refused with 64" "$rc" 64
out=$(msg | "$SM" -f 2>&1); rc=$?
expect_eq "-f without a value: 64" "$rc" 64
expect_match "-f without a value: says so" "$out" 'option needs a value'
out=$(msg | "$SM" -B BINARYMIME a@example.test 2>&1); rc=$?
expect_eq "-B with an unknown body type: 64" "$rc" 64
expect_eq "nothing more was queued" "$(queue_count)" 2
