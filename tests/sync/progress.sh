#!/bin/sh
# What paloma sync says while it works: --progress writes machine-readable
# lines on stderr (what the client shows in its status line), terminal or
# not; -q keeps stdout empty; without -q a summary line per account.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
need_sync
start_dovecot || { nok "dovecot starts"; exit 1; }
fill INBOX 40
write_sync_config "$(account prog imaps)"

psync -q --progress
expect_eq "sync -q --progress: exit 0" "$rc" 0
expect_eq "... nothing on stdout" "$out" ""
expect_match "... a first progress line for INBOX" "$err" '^progress prog INBOX 0/40 0/[0-9]+$'
expect_match "... and a last one with every message" "$err" '^progress prog INBOX 40/40 [0-9]+/[0-9]+$'
check "... every stderr line is a progress line" sh -c "! printf '%s\n' \"\$1\" | grep -v '^progress '" _ "$err"

fill INBOX 2 41
psync
expect_eq "sync without -q: exit 0" "$rc" 0
expect_match "... one summary line" "$out" '^prog: 2 new \([0-9.]+ [KM]?B\), flags 0 in / 0 out, removed 0 here / 0 there, 0 uploaded; 1 folder in [0-9.]+ s$'
expect_eq "... no progress lines when stderr is not a terminal" "$err" ""
