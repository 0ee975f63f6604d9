# tests/ui/lib.sh — drives the real terminal client in tmux, on the sandbox
# of scripts/sandbox (the same world `make demo` opens).
#
# Source it after tests/lib.sh:
#	. "$(dirname "$0")/../lib.sh"
#	. "$(dirname "$0")/lib.sh"
# Without tmux, notmuch or /usr/bin/python3, sourcing it reports the whole
# test file as skipped and exits 0.
#
# ui_sandbox light|internet|full   the world the test needs:
#     light     sample mail written into $MAILDIR/demo/INBOX and indexed
#               with notmuch (no server; sandbox_mail)
#     internet  light + dnsmasq and the SMTP receivers friends, strict,
#               example, busy (sandbox_internet; tests/delivery/lib.sh
#               helpers such as received_count, msg_body)
#     full      Dovecot holding the samples (root only), the internet, and
#               a first paloma sync
#   then writes $CONFIG (sandbox_config) with "$UI_CONFIG_EXTRA" appended.
# ui_start [ARGS…]    runs `paloma ARGS` in a detached tmux session 120x40 of
#                     a private server (tmux -L paloma-test-$$ -f /dev/null),
#                     with the test's HOME and XDG directories,
#                     PALOMA_LIBEXEC=$PALOMA_BUILD/libexec/paloma,
#                     TERM=xterm-256color, LANG=C.UTF-8, and EDITOR/VISUAL as
#                     the test set them; waits for the first screen to be
#                     drawn (anything on it), 1 if none in 10 s
# ui_keys KEY…        tmux send-keys (key names: Enter, Escape, C-l, …)
# ui_type TEXT        sends TEXT literally (send-keys -l)
# ui_screen           the screen as text (capture-pane -p)
# ui_screen_attr      the screen with its attributes (capture-pane -e -p)
# ui_wait_for REGEX [SECONDS]   polls the screen every 50 ms until a line
#                     matches REGEX (grep -E), 10 s by default; 1 on timeout
#                     (the last screen is kept for ui_dump)
# ui_wait_gone REGEX [SECONDS]  … until no line matches
# ui_wait_stable      until the screen stays the same for 300 ms (5 s at most)
# ui_expect NAME REGEX [SECONDS]     ok when ui_wait_for succeeds; otherwise
#                     not ok with the screen in the message
# ui_expect_gone NAME REGEX [SECONDS]
# ui_dump             the last screen polled (non-empty lines, "| " before
#                     each), and whether the client ended
# ui_nok NAME MSG…    not ok, then the last screen as TAP comments
# ui_resize W H       resizes the window (tmux resize-window)
# ui_running          the client still runs
# ui_rc               its exit status once it ended ("" while it runs)
# ui_quit             sends Q and waits (5 s) for the client to end
# ui_editor           writes $T/editor.sh, a scripted $EDITOR, and exports
#                     EDITOR and VISUAL to it; it copies the draft it is
#                     given to $T/draft.N (N = 1, 2, … each call; the
#                     template as the client wrote it), then sets the
#                     headers named in $T/editor.headers ("Name: value"
#                     lines; a value replaces the header's, or adds it) and
#                     puts the text of $T/editor.body above the draft's body
# ui_compose_with TO SUBJECT BODY    fills those two files
# row_of REGEX        the 0-based screen row of the first line matching
# col_of ROW TEXT     the display column (wide characters count 2, combining
#                     ones 0) where TEXT starts on that row, -1 when absent
#
# Keys the tests use are the issue's mutt-like defaults; the review screen's
# send key is UI_SEND_KEY (y, as in mutt).

case $0 in
*ui/lib.sh) echo "1..0 # SKIP tests/ui/lib.sh is a library"; exit 0 ;;
esac

UI_SEND_KEY=${UI_SEND_KEY:-y}
UI_SOCK="paloma-test-$$"

_ui_skip() {
	skip "$(basename "$0")" "$1"
	exit 0
}
command -v tmux >/dev/null 2>&1 || _ui_skip "tmux is not installed (apt-get install tmux)"
command -v notmuch >/dev/null 2>&1 || _ui_skip "notmuch is not installed (apt-get install notmuch)"
[ -x /usr/bin/python3 ] || _ui_skip "/usr/bin/python3 is missing"

. "$TESTS_DIR/../scripts/sandbox"

ui_sandbox() {
	case $1 in
	light) sandbox_mail ;;
	internet) sandbox_mail && sandbox_internet ;;
	full) sandbox_dovecot && sandbox_internet ;;
	*) echo "ui_sandbox: light, internet or full" >&2; return 1 ;;
	esac || { nok "the sandbox ($1) starts"; exit 1; }
	sandbox_config "${UI_CONFIG_EXTRA:-}"
	if [ "$1" = full ]; then
		sandbox_sync || { nok "the first paloma sync"; exit 1; }
	fi
}

ui_tmux() { tmux -L "$UI_SOCK" -f /dev/null "$@"; }
_ui_kill() { ui_tmux kill-server >/dev/null 2>&1; }
at_exit _ui_kill

ui_start() {
	rm -f "$T/ui.rc" "$T/ui.pid"
	{
		echo '#!/bin/sh'
		echo 'echo $$ >"$UI_T/ui.pid"'
		echo '"$UI_PALOMA" "$@"'
		echo 'rc=$?'
		echo 'echo "$rc" >"$UI_T/ui.rc"'
		echo 'printf "\n[paloma exited with status %s]\n" "$rc"'
		echo 'exec sleep 3600'
	} >"$T/ui-run.sh"
	chmod +x "$T/ui-run.sh"
	# The environment is spelled out: a tmux server keeps the one it was
	# started with, and the pane's TERM is tmux's own otherwise.
	_ui_cmd="env -u TMUX -u LC_ALL -u NOTMUCH_CONFIG UI_T='$T' UI_PALOMA='$PALOMA' HOME='$HOME'"
	_ui_cmd="$_ui_cmd XDG_CONFIG_HOME='$XDG_CONFIG_HOME' XDG_STATE_HOME='$XDG_STATE_HOME'"
	_ui_cmd="$_ui_cmd XDG_RUNTIME_DIR='$XDG_RUNTIME_DIR' PALOMA_LIBEXEC='$PALOMA_BUILD/libexec/paloma'"
	_ui_cmd="$_ui_cmd TERM=xterm-256color LANG=C.UTF-8 PATH='$PATH'"
	_ui_cmd="$_ui_cmd EDITOR='${EDITOR:-vi}' VISUAL='${VISUAL:-${EDITOR:-vi}}' $T/ui-run.sh"
	for _ui_a in "$@"; do _ui_cmd="$_ui_cmd '$_ui_a'"; done
	ui_tmux new-session -d -s ui -x "${UI_W:-120}" -y "${UI_H:-40}" "$_ui_cmd" || return 1
	ui_wait_for '[^ ]' 10
}

ui_keys() { ui_tmux send-keys -t ui "$@"; }
ui_type() { ui_tmux send-keys -t ui -l "$1"; }
ui_screen() { ui_tmux capture-pane -p -t ui 2>/dev/null; }
ui_screen_attr() { ui_tmux capture-pane -e -p -t ui 2>/dev/null; }
ui_resize() { ui_tmux resize-window -t ui -x "$1" -y "$2"; }
ui_rc() { cat "$T/ui.rc" 2>/dev/null; }
ui_running() { [ ! -e "$T/ui.rc" ]; }

# ui_wait_for REGEX [SECONDS]
ui_wait_for() {
	_uw_n=$((${2:-10} * 20))
	while :; do
		ui_screen >"$T/ui.last"
		grep -Eq -- "$1" "$T/ui.last" && return 0
		# a client that ended draws nothing more
		[ -e "$T/ui.rc" ] && [ "$_uw_n" -lt $((${2:-10} * 20 - 4)) ] && return 1
		_uw_n=$((_uw_n - 1))
		[ "$_uw_n" -gt 0 ] || return 1
		sleep 0.05
	done
}

ui_wait_gone() {
	_uw_n=$((${2:-10} * 20))
	while :; do
		ui_screen >"$T/ui.last"
		grep -Eq -- "$1" "$T/ui.last" || return 0
		_uw_n=$((_uw_n - 1))
		[ "$_uw_n" -gt 0 ] || return 1
		sleep 0.05
	done
}

ui_wait_stable() {
	_us_n=100 _us_same=0 _us_prev=""
	while [ "$_us_n" -gt 0 ]; do
		_us_cur=$(ui_screen)
		if [ "$_us_cur" = "$_us_prev" ]; then
			_us_same=$((_us_same + 1))
			[ "$_us_same" -ge 6 ] && break
		else
			_us_same=0
		fi
		_us_prev=$_us_cur
		sleep 0.05
		_us_n=$((_us_n - 1))
	done
	printf '%s\n' "$_us_cur" >"$T/ui.last"
}

ui_dump() {
	if ! ui_running; then
		echo "the client exited with status $(ui_rc)"
	fi
	# the top of the screen and its last lines (status and message line)
	grep -v '^ *$' "$T/ui.last" 2>/dev/null | cut -c1-110 | awk -v n="${1:-16}" '
		{ l[NR] = $0 }
		END {
			for (i = 1; i <= NR; i++)
				if (NR <= n || i <= n - 5 || i > NR - 4) print "| " l[i]
				else if (i == n - 4) print "| …"
		}'
}

# ui_nok NAME MESSAGE… — not ok, with the last screen polled after it
ui_nok() {
	nok "$@"
	ui_dump | sed 's/^/#   /'
}

# ui_expect NAME REGEX [SECONDS]
# After a first failure the waits of ui_expect are cut to 2 s, so that a
# client lacking a feature fails its test quickly rather than slowly.
_ui_secs() { if [ -n "${UI_FAILED:-}" ] && [ "${1:-10}" -gt 2 ]; then echo 2; else echo "${1:-10}"; fi; }

ui_expect() {
	_ue_s=$(_ui_secs "${3:-10}")
	if ui_wait_for "$2" "$_ue_s"; then
		ok "$1"
	else
		ui_nok "$1" "no line matches /$2/ within $_ue_s s; the screen:"
		UI_FAILED=1
		return 1
	fi
}

ui_expect_gone() {
	_ue_s=$(_ui_secs "${3:-10}")
	if ui_wait_gone "$2" "$_ue_s"; then
		ok "$1"
	else
		ui_nok "$1" "a line still matches /$2/ after $_ue_s s; the screen:"
		UI_FAILED=1
		return 1
	fi
}

ui_quit() {
	ui_keys Q
	wait_for '[ -e "$T/ui.rc" ]' 5
}

row_of() { grep -nE -- "$1" "$T/ui.last" | head -n 1 | cut -d: -f1 | awk '{ print $1 - 1 }'; }

# col_of ROW TEXT — on the last screen polled
col_of() {
	/usr/bin/python3 - "$T/ui.last" "$1" "$2" <<'PY'
import sys, unicodedata
path, row, text = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
line = lines[row] if 0 <= row < len(lines) else ""
i = line.find(text)
def width(s):
    w = 0
    for c in s:
        if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf"):
            continue
        w += 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
    return w
print(-1 if i < 0 else width(line[:i]))
PY
}

# display_widths — the display width of each line of the last screen
display_widths() {
	/usr/bin/python3 - "$T/ui.last" <<'PY'
import sys, unicodedata
for line in open(sys.argv[1], encoding="utf-8", errors="replace").read().split("\n"):
    w = 0
    for c in line:
        if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf"):
            continue
        w += 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
    print(w)
PY
}

ui_editor() {
	: >"$T/editor.headers"
	: >"$T/editor.body"
	echo 0 >"$T/editor.count"
	cat >"$T/editor.sh" <<EOF
#!/bin/sh
# a scripted editor for the tests: see tests/ui/lib.sh
n=\$((\$(cat '$T/editor.count') + 1))
echo "\$n" >'$T/editor.count'
f=\$1
for a in "\$@"; do f=\$a; done	# the last argument is the file
cp "\$f" '$T/draft.'"\$n"
exec /usr/bin/python3 - "\$f" '$T/editor.headers' '$T/editor.body' <<'PY'
import sys
path, hfile, bfile = sys.argv[1:]
data = open(path, encoding="utf-8", errors="surrogateescape").read()
head, sep, body = data.partition("\n\n")
if not sep:
    head, body = data.rstrip("\n"), ""
lines = head.split("\n") if head else []
for want in open(hfile, encoding="utf-8").read().splitlines():
    if ":" not in want:
        continue
    name = want.split(":", 1)[0].strip().lower()
    for i, l in enumerate(lines):
        if l.split(":", 1)[0].strip().lower() == name:
            lines[i] = want
            break
    else:
        lines.append(want)
text = open(bfile, encoding="utf-8").read()
with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
    f.write("\n".join(lines) + "\n\n" + text + body)
PY
EOF
	chmod +x "$T/editor.sh"
	EDITOR="$T/editor.sh" VISUAL="$T/editor.sh"
	export EDITOR VISUAL
}

ui_compose_with() {	# TO SUBJECT BODY (an empty TO or SUBJECT: left as it is)
	: >"$T/editor.headers"
	[ -z "$1" ] || printf 'To: %s\n' "$1" >>"$T/editor.headers"
	[ -z "$2" ] || printf 'Subject: %s\n' "$2" >>"$T/editor.headers"
	printf '%s\n' "$3" >"$T/editor.body"
}

# bold_at TEXT — "bold" when TEXT's first character is drawn bold on the
# current screen (the first line holding TEXT), "plain" when not, "absent".
# capture-pane -e writes attribute changes only, so the state runs on from
# line to line.
bold_at() {
	ui_screen_attr >"$T/ui.attr"
	/usr/bin/python3 - "$T/ui.attr" "$1" <<'PY'
import re, sys
path, text = sys.argv[1], sys.argv[2]
bold = False
def apply(params):
    global bold
    codes = params.replace(":", ";").split(";") if params else ["0"]
    k = 0
    while k < len(codes):
        c = codes[k]
        if c in ("", "0"):
            bold = False
        elif c == "1":
            bold = True
        elif c == "22":
            bold = False
        elif c in ("38", "48", "58"):
            k += 2 if k + 1 < len(codes) and codes[k + 1] == "5" else 4
        k += 1
for line in open(path, encoding="utf-8", errors="replace").read().split("\n"):
    plain = re.sub(r"\x1b\[[0-9;:]*m|\x1b\([0B]", "", line)
    target = plain.find(text)
    out = 0
    for m in re.finditer(r"\x1b\[([0-9;:]*)m|\x1b\([0B]|(.)", line, re.S):
        if m.group(2) is not None:
            if out == target:
                print("bold" if bold else "plain")
                sys.exit(0)
            out += 1
        elif m.group(1) is not None:
            apply(m.group(1))
print("absent")
PY
}
