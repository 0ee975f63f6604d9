# tests/lib.sh — sourced by every shell test.  Gives each test a private
# temporary home ($T) with its own XDG directories, the paloma binary
# ($PALOMA) from $PALOMA_BUILD, and TAP helpers.
set -u
: "${PALOMA_BUILD:?run the tests through tests/run or make check}"
PALOMA="$PALOMA_BUILD/bin/paloma"
TESTS_DIR=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/paloma-test.XXXXXX")
chmod 755 "$T"
export HOME="$T/home" XDG_CONFIG_HOME="$T/config" XDG_STATE_HOME="$T/state"
export XDG_RUNTIME_DIR="$T/run"
unset PALOMA_CONFIG
# No helper programs unless a test asks for them, so that paloma send never
# starts a daemon behind a test's back; delivery tests set
# PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma".
export PALOMA_LIBEXEC="$T/no-libexec"
mkdir -p "$HOME" "$XDG_CONFIG_HOME/paloma" "$XDG_RUNTIME_DIR"
CONFIG="$XDG_CONFIG_HOME/paloma/config"
QUEUE="$XDG_STATE_HOME/paloma/queue"
_n=0
_cleanups=""

at_exit() { _cleanups="$1; $_cleanups"; }
_finish() {
	eval "$_cleanups" 2>/dev/null
	rm -rf "$T"
	echo "1..$_n"
}
trap _finish EXIT
trap 'exit 1' INT TERM

ok()   { _n=$((_n + 1)); echo "ok $_n - $1"; }
nok()  { _n=$((_n + 1)); echo "not ok $_n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
skip() { _n=$((_n + 1)); echo "ok $_n - $1 # SKIP $2"; }

# check NAME COMMAND… — passes when the command succeeds.
check() { _name=$1; shift; if "$@"; then ok "$_name"; else nok "$_name" "command: $*"; fi; }

# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else nok "$1" "got:  $2" "want: $3"; fi
}

# expect_match NAME TEXT PATTERN (grep -E)
expect_match() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"; else nok "$1" "text: $2" "want: /$3/"; fi
}

# A default config with one account.
write_config() {
	cat >"$CONFIG" <<CFG
[general]
maildir = $T/Mail

[account me]
address = me@example.org
name = Paloma Tester

[delivery]
helo_name = mail.example.org
${1:-}
CFG
}

# queue_count — number of entries in the queue.
# wait_for CMD SECONDS — polls CMD (eval'd) every 0.1 s until it succeeds;
# its status at the end (a test's way to wait without fixed sleeps).
wait_for() {
	_wf_n=$(($2 * 10))
	while [ "$_wf_n" -gt 0 ]; do
		eval "$1" && return 0
		sleep 0.1
		_wf_n=$((_wf_n - 1))
	done
	eval "$1"
}

# measure FILE CMD...: runs CMD; "SECONDS MAXRSS_KB EXIT" into FILE (its
# wall time, the peak memory of its process tree, its exit status)
measure() {
	/usr/bin/python3 -c '
import resource, subprocess, sys, time
t = time.time()
rc = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    f.write("%.2f %d %d\n" % (time.time() - t,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc))
' "$@"
}

queue_count() { ls "$QUEUE/entries" 2>/dev/null | wc -l | tr -d ' '; }
# tmp_count — leftovers under queue/tmp.
tmp_count() { ls -A "$QUEUE/tmp" 2>/dev/null | wc -l | tr -d ' '; }
# the only (or first) queue entry's directory
first_entry() { echo "$QUEUE/entries/$(ls "$QUEUE/entries" | head -n 1)"; }
