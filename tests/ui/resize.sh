#!/bin/sh
# Resizing: the screen is redrawn at each size, nothing wider than the
# window, and back at the first size it is the same screen as before (no
# garbage left); tiny windows do not crash it; the pager too.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
ui_sandbox light
ui_start
ui_expect "the index is drawn" 'Quarterly report Q3' || { nok "the rest needs the index"; exit 1; }
ui_wait_stable
cp "$T/ui.last" "$T/screen.120x40"

fits() {	# W H — the last screen fits W x H
	_w=$(display_widths | sort -n | tail -n 1)
	_h=$(wc -l <"$T/ui.last" | tr -d ' ')
	[ "$_w" -le "$1" ] && [ "$_h" -le "$2" ]
}

ui_resize 80 24
ui_wait_stable
check "at 80x24 the client still runs" ui_running
check "... the screen fits 80 columns and 24 rows" fits 80 24
ui_expect "... the newest thread is still listed" 'Dinner on Friday'
expect_match "... the status line is in the last two rows" "$(sed -n 23,24p "$T/ui.last")" '[^ ]'

ui_resize 160 50
ui_wait_stable
ui_expect "at 160x50 the list is redrawn" 'Dinner on Friday'
check "... it fits 160x50" fits 160 50
expect_match "... the status line moved to the last rows (49-50)" "$(sed -n 49,50p "$T/ui.last")" '[^ ]'

ui_resize 20 5
ui_wait_stable
ui_resize 3 2
ui_wait_stable
check "tiny windows (20x5, 3x2) do not end it" ui_running

ui_resize 120 40
ui_wait_stable
if cmp -s "$T/ui.last" "$T/screen.120x40"; then
	ok "back at 120x40: the same screen as before, no garbage"
else
	nok "back at 120x40: the same screen as before, no garbage" \
		"$(diff "$T/screen.120x40" "$T/ui.last" | head -n 12)"
fi

ui_keys Enter
ui_expect "the pager opens" '^ *Subject: .*Dinner on Friday'
ui_wait_stable
cp "$T/ui.last" "$T/pager.120x40"
ui_resize 40 20
ui_wait_stable
check "the pager at 40x20 fits" fits 40 20
ui_expect "... its text is still shown" 'Booked for 8 pm'
ui_expect "... a line longer than 40 columns wrapped, not cut ('four?' shown)" 'four\?'
ui_resize 120 40
ui_wait_stable
if cmp -s "$T/ui.last" "$T/pager.120x40"; then
	ok "the pager back at 120x40: the same screen as before"
else
	nok "the pager back at 120x40: the same screen as before" \
		"$(diff "$T/pager.120x40" "$T/ui.last" | head -n 12)"
fi
ui_keys C-l
ui_wait_stable
check "^L redraws the same screen" cmp -s "$T/ui.last" "$T/pager.120x40"
ui_quit
expect_eq "Q quits with status 0" "$(ui_rc)" 0
