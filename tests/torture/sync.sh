#!/bin/sh
# Crash torture of `paloma sync` (issue #8, point 1): a first sync of many
# messages from Dovecot, SIGKILLed (the whole session) at random moments and
# started again, until one run completes.  Then every server message is in
# the Maildir exactly once and byte for byte, and notmuch knows each file:
# lost 0, duplicates 0.
#
# The short version runs in `make check`; `make torture` sets
#	SYNC_TORTURE_MESSAGES=5000 SYNC_TORTURE_KILLS=50
# (and SYNC_TORTURE_MAX_RUN, the longest run before a kill, in seconds).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../sync/lib.sh"
need_sync
N=${SYNC_TORTURE_MESSAGES:-1500} K=${SYNC_TORTURE_KILLS:-12}
MAXRUN=${SYNC_TORTURE_MAX_RUN:-0.5}
start_dovecot || { nok "dovecot starts"; exit 1; }
mkmail --maildir "$MAILHOME" --owner 8:8 --count "$N" >/dev/null
dadm force-resync -u test INBOX
expect_eq "the server holds $N" "$(imap count INBOX)" "$N"
write_sync_config "$(account k imaps)"
export PALOMA CONFIG

# run_killed MAX_SECONDS AT: one sync, SIGKILLed (its whole session) after a
# random time up to MAX_SECONDS, or as soon as the folder holds AT files,
# unless it ends first; prints "killed SECONDS" or "finished RC"
run_killed() {
	"$PY" - "$1" "$2" "$MAILDIR/k/INBOX/cur" <<'PY'
import os, random, signal, subprocess, sys, time
p = subprocess.Popen([os.environ["PALOMA"], "-c", os.environ["CONFIG"], "sync", "-q"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
t0 = time.time()
end, at, cur = t0 + random.uniform(0.05, float(sys.argv[1])), int(sys.argv[2]), sys.argv[3]
while time.time() < end and p.poll() is None:
    try:
        if len(os.listdir(cur)) >= at:
            break
    except OSError:
        pass
    time.sleep(0.003)
if p.poll() is not None:
    print("finished", p.returncode)
else:
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    print("killed %.2f" % (time.time() - t0))
PY
}

kills=0 dupruns=0 runs=0
while [ "$runs" -lt $((K * 3)) ]; do
	runs=$((runs + 1))
	if [ "$kills" -lt "$K" ]; then
		# every other run is killed at a random number of files ahead,
		# spreading those kills over the download; the others at a
		# random time (the download, the indexing, or the end of a run)
		n=$(local_count k)
		at=$((N * 10))
		[ $((kills % 2)) -eq 0 ] &&
			at=$((n + 1 + $(od -An -N2 -tu2 /dev/urandom) % (2 * (N - n) / (K - kills) + 1)))
		r=$(run_killed "$MAXRUN" "$at")
	else
		psync -q
		r="finished $rc"
	fi
	case $r in killed*) kills=$((kills + 1)) ;; esac
	d=$(uid_dups k)
	[ -z "$d" ] || { dupruns=$((dupruns + 1)); echo "# run $runs: UIDs twice: $d"; }
	echo "# run $runs: $r, $(local_count k) files"
	case $r in finished*) break ;; esac
done
expect_eq "the last run completes (exit 0)" "$r" "finished 0"
echo "lost=$((N - $(local_count k))) duplicates=$(uid_dups k | wc -w | tr -d ' ') kills=$kills"
check "killed at least once before it completed" test "$kills" -ge 1
expect_eq "no run left a UID twice" "$dupruns" 0
check_same "after $kills kills" k INBOX
expect_eq "every message byte for byte" "$(same_content k INBOX)" ""
distinct=$(imap msgids INBOX | awk '$0 == "-" { n++; next } !s[$0]++ { n++ } END { print n }')
expect_eq "notmuch: every message once" "$(nm count '*')" "$distinct"
psync
expect_match "then a sync finds nothing new" "$out" '^k: 0 new '
