# The queue under pressure: a full disk leaves no partial entry; 200
# concurrent senders all land, each exactly once.
. "$(dirname "$0")/../lib.sh"
write_config

# --- 200 concurrent paloma send processes
i=0
while [ $i -lt 200 ]; do
	printf 'From: me@example.org\nSubject: concurrent %d\n\nbody %d\n' $i $i |
		{ "$PALOMA" send "r$i@example.test" >"$T/out.$i" 2>&1; echo $? >"$T/rc.$i"; } &
	i=$((i + 1))
done
wait
fails=$(cat "$T"/rc.* | grep -vc '^0$')
expect_eq "200 concurrent sends: all exit 0" "$fails" 0
expect_eq "200 concurrent sends: 200 entries" "$(queue_count)" 200
dups=$(cat "$QUEUE"/entries/*/message | grep '^Subject: concurrent' | sort | uniq -d | wc -l | tr -d ' ')
uniq=$(cat "$QUEUE"/entries/*/message | grep '^Subject: concurrent' | sort -u | wc -l | tr -d ' ')
expect_eq "200 concurrent sends: each message exactly once" "$uniq/$dups" "200/0"
ok_env=0
for e in "$QUEUE"/entries/*; do
	n=$(grep '^Subject: concurrent' "$e/message" | tr -d '\r' | sed 's/.* //')
	grep -q "^Recipient: <r$n@example.test>$" "$e/envelope" && ok_env=$((ok_env + 1))
done
expect_eq "200 concurrent sends: each envelope matches its message" "$ok_env" 200
expect_eq "200 concurrent sends: tmp is empty" "$(tmp_count)" 0
rm -rf "$QUEUE"

# --- a full disk: a tiny tmpfs as the state directory
if [ "$(id -u)" -ne 0 ]; then
	skip "full disk leaves no partial entry" "needs root to mount a tmpfs"
	exit 0
fi
mnt="$T/small"
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=64k,mode=700 tmpfs "$mnt" 2>"$T/mount.err"; then
	skip "full disk leaves no partial entry" "cannot mount tmpfs: $(cat "$T/mount.err")"
	exit 0
fi
at_exit "umount '$mnt'"
export XDG_STATE_HOME="$mnt"
QUEUE="$mnt/paloma/queue"

# too big for the whole filesystem
head -c 100000 /dev/zero | tr '\0' 'z' | fold -w 70 >"$T/big"
out=$( (printf 'From: me@example.org\nSubject: big\n\n'; cat "$T/big") | "$PALOMA" send a@example.test 2>&1); rc=$?
expect_eq "disk full: exit 75 (try again later)" "$rc" 75
expect_match "disk full: says so plainly" "$out" 'not queued: .*No space left on device'
expect_eq "disk full: no entry, no leftovers" "$(queue_count)/$(tmp_count)" "0/0"

# sizes around the limit, so that the disk fills at every step of the write
# (message file, envelope file, directory): each send either lands whole or
# leaves nothing.
head -c 30000 /dev/zero >"$mnt/filler"
partial=0 landed=0 refused=0
for kb in 8 12 16 20 24 26 28 30 32 34 36 40; do
	before=$(queue_count)
	head -c $((kb * 1024)) /dev/zero | tr '\0' 'q' | fold -w 70 >"$T/m"
	(printf 'From: me@example.org\nSubject: %dK\n\n' "$kb"; cat "$T/m") |
		"$PALOMA" send a@example.test >/dev/null 2>&1; rc=$?
	after=$(queue_count)
	if [ $rc -eq 0 ]; then
		e="$QUEUE/entries/$(ls -t "$QUEUE/entries" | head -n 1)"
		if [ "$after" -eq $((before + 1)) ] && grep -q "^Subject: ${kb}K" "$e/message" &&
		    grep -q '^Recipient: <a@example.test>$' "$e/envelope"; then
			landed=$((landed + 1))
		else
			partial=$((partial + 1))
		fi
	else
		[ "$after" -eq "$before" ] && [ "$(tmp_count)" -eq 0 ] && refused=$((refused + 1)) ||
			partial=$((partial + 1))
	fi
done
expect_eq "disk filling up: no partial entry at any size" "$partial" 0
check "disk filling up: some sends landed ($landed) and some were refused ($refused)" \
	test "$landed" -gt 0 -a "$refused" -gt 0
for e in "$QUEUE"/entries/*; do
	[ -s "$e/envelope" ] && [ -s "$e/message" ] || partial=$((partial + 1))
done
expect_eq "disk filling up: every entry left has both files" "$partial" 0

# after space is freed, sending works again
rm -f "$mnt/filler"; rm -rf "$QUEUE/entries"/*
printf 'From: me@example.org\n\nsmall\n' | "$PALOMA" send a@example.test
expect_eq "space freed: send works again" "$?/$(queue_count)" "0/1"
