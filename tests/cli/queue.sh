# paloma queue: list, show, remove, flush.
. "$(dirname "$0")/../lib.sh"
write_config

out=$("$PALOMA" queue list); rc=$?
expect_eq "empty queue: exit 0" "$rc" 0
expect_eq "empty queue: says so" "$out" "The queue is empty."

printf 'From: me@example.org\nTo: a@example.test\nSubject: first\n\nbody\n' | "$PALOMA" send -t
sleep 0.01
printf 'From: me@example.org\nSubject: second\n\nbody\n' | "$PALOMA" send b@one.test c@two.test
ids=$(ls "$QUEUE/entries")
id1=$(echo "$ids" | head -n 1) id2=$(echo "$ids" | tail -n 1)

out=$("$PALOMA" queue list)
expect_eq "list: header, one line per message, summary" "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 4
expect_match "list: first message with id, age, size, sender, recipient and state" "$out" "^$id1 +[0-9]+s +[0-9.]+K? +<me@example.org> -> a@example.test \\(queued\\)$"
expect_match "list: second message with both recipients" "$out" "^$id2 .* -> b@one.test \\(queued\\) c@two.test \\(queued\\)$"
expect_match "list: oldest first" "$(printf '%s\n' "$out" | sed -n 2p)" "^$id1 "
expect_match "list: summary" "$out" '^-- 2 messages, 3 recipients$'
# The AGE column may have moved on by a second between the two runs.
noage() { sed -E 's/^([0-9a-z]{16}) +[0-9]+[smhdw]+ /\1 AGE /'; }
expect_eq "queue with no argument lists" "$("$PALOMA" queue | noage)" "$(printf '%s\n' "$out" | noage)"

# a recipient that was deferred shows its next attempt
env="$QUEUE/entries/$id2/envelope"
now=$(date +%s)
sed -i "0,/^State: queued/s//State: deferred/; 0,/^Next-Attempt: .*/s//Next-Attempt: $((now + 600))/; 0,/^Last-Attempt: 0/s//Last-Attempt: $now\nStatus: 4.7.1\nReply: 451 4.7.1 Greylisted, try again later\nRemote: mx1.one.test [127.0.0.2]\nHistory: $now deferred mx1.one.test [127.0.0.2] 451 4.7.1 Greylisted/" "$env"
out=$("$PALOMA" queue list)
expect_match "list: deferred with the next attempt" "$out" 'b@one.test \(deferred, next in (9|10)m[0-9]*s?\)'

out=$("$PALOMA" queue show "$id2"); rc=$?
expect_eq "show: exit 0" "$rc" 0
expect_match "show: queue id" "$out" "^Queue-Id: +$id2$"
expect_match "show: sender" "$out" '^Sender: +<me@example.org>$'
expect_match "show: recipient state" "$out" '^  state: +deferred$'
expect_match "show: last reply" "$out" '^  reply: +4.7.1 451 4.7.1 Greylisted, try again later$'
expect_match "show: remote" "$out" '^  remote: +mx1.one.test \[127.0.0.2\]$'
expect_match "show: history" "$out" "^  history: +$now deferred mx1.one.test"
expect_match "show: headers" "$out" '^Subject: second$'
expect_eq "show: headers without CR" "$(printf '%s' "$out" | tr -cd '\r' | wc -c | tr -d ' ')" 0

out=$("$PALOMA" queue show 0000000000000000 2>&1); rc=$?
expect_eq "show of an unknown id: exit 66" "$rc" 66
expect_match "show of an unknown id: says so" "$out" '^paloma: no queue entry 0000000000000000$'
out=$("$PALOMA" queue show ../../etc 2>&1); rc=$?
expect_eq "show of a path-like id: refused (66)" "$rc" 66

# flush makes waiting recipients due now
out=$("$PALOMA" queue flush); rc=$?
expect_eq "flush: exit 0" "$rc" 0
expect_eq "flush: one recipient made due" "$out" "1 recipient made due now"
na=$(grep '^Next-Attempt:' "$env" | head -n 1 | cut -d' ' -f2)
check "flush: next attempt is now" test "$na" -le "$(date +%s)"
expect_match "flush keeps the history" "$(cat "$env")" '^History: '

# flush while something holds the daemon's lock but does not answer: refused,
# envelopes untouched
flock "$XDG_STATE_HOME/paloma/daemon.lock" sleep 3 & lockpid=$!
sleep 0.3
cp "$env" "$T/env.before"
out=$("$PALOMA" queue flush 2>&1); rc=$?
expect_eq "flush while the lock is held: exit 75" "$rc" 75
expect_match "flush while the lock is held: says so" "$out" 'the daemon holds the queue but does not answer'
check "flush while the lock is held: envelope untouched" cmp -s "$env" "$T/env.before"
kill $lockpid 2>/dev/null; wait $lockpid 2>/dev/null

# a damaged envelope is reported, the rest still listed
mkdir "$QUEUE/entries/zzzzzzzzzzzzzzzz"
printf 'Version: 1\nId: zzzzzzzzzzzzzzzz\nSender: nonsense\n' >"$QUEUE/entries/zzzzzzzzzzzzzzzz/envelope"
out=$("$PALOMA" queue list)
expect_match "damaged entry named in the list" "$out" '^zzzzzzzzzzzzzzzz +\(.*damaged: envelope line 3: bad Sender\)$'
expect_match "others still listed" "$out" '^-- 2 messages, 3 recipients$'
rm -rf "$QUEUE/entries/zzzzzzzzzzzzzzzz"

# remove
out=$("$PALOMA" queue remove "$id1"); rc=$?
expect_eq "remove: exit 0" "$rc" 0
expect_eq "remove: says so" "$out" "removed $id1"
check "remove: entry gone" test ! -e "$QUEUE/entries/$id1"
expect_eq "remove: nothing left in tmp" "$(tmp_count)" 0
out=$("$PALOMA" queue remove "$id1" 2>&1); rc=$?
expect_eq "remove twice: exit 66" "$rc" 66
out=$("$PALOMA" queue bogus 2>&1); rc=$?
expect_eq "unknown queue command: exit 64" "$rc" 64
expect_match "unknown queue command: usage" "$out" '^usage: paloma queue'
