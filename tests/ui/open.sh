#!/bin/sh
# The index on start: the threads of tag:inbox, newest first, with the
# samples' subjects; wide (CJK, emoji) and combining characters keep the
# columns aligned; unread threads in bold; Q quits cleanly.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
ui_sandbox light
ui_start
ui_expect "the index shows the newest thread (Dinner on Friday)" 'Dinner on Friday' ||
	{ nok "the rest needs the index"; exit 1; }
ui_wait_stable

# Newest first: the hand-written samples in date order.
order=""
prev=-1 sorted=yes
for s in 'Dinner on Friday' 'Grüße aus München' 'Встреча в четверг' '来週の打ち合わせ' \
	'five tips for a calm inbox' 'Quarterly report Q3' 'Release 1.0 checklist' \
	'Your invoice #2024-117' 'Party at my place' 'Booking confirmed'; do
	r=$(row_of "$s")
	order="$order $s=${r:-none}"
	if [ -z "$r" ] || [ "$r" -le "$prev" ]; then sorted=no; fi
	prev=${r:-999}
done
expect_eq "the samples' subjects are shown newest first (rows:$order)" "$sorted" yes
first=$(row_of 'Dinner on Friday')
above=$(head -n "$first" "$T/ui.last" | grep -cE 'Report|Bericht|Thread|Re:|Fwd:|[0-9]{4}-[0-9]{2}' || true)
expect_eq "no thread above the newest one" "$above" 0

# Alignment: the subject column starts at the same display column whatever
# the authors' scripts (Japanese, Cyrillic, combining accents) and emoji.
cols=""
for s in 'Dinner on Friday' 'Grüße aus München' 'Встреча в четверг' '来週の打ち合わせ' \
	'Quarterly report Q3' '🎉 Party at my place' 'Booking confirmed' 'Marché de Noël'; do
	r=$(row_of "$s")
	[ -n "$r" ] || { cols="$cols $s=missing"; continue; }
	c=$(col_of "$r" "Re: $s")
	[ "$c" -ge 0 ] || c=$(col_of "$r" "$s")
	cols="$cols $c"
done
uniq_cols=$(echo $cols | tr ' ' '\n' | sort -u | wc -l | tr -d ' ')
expect_eq "subjects start in one column (display columns:$cols)" "$uniq_cols" 1
wide=$(display_widths | awk '$1 > 120' | wc -l | tr -d ' ')
expect_eq "no line is wider than the 120-column window" "$wide" 0

expect_eq "an unread thread is bold (Встреча в четверг)" "$(bold_at 'Встреча в четверг')" bold
expect_eq "a read thread is not bold (Quarterly report Q3)" "$(bold_at 'Quarterly report Q3')" plain
expect_match "thread counts are shown (the Dinner thread has 4 messages)" \
	"$(grep 'Dinner on Friday' "$T/ui.last")" '[[( ]4[]) /]'

ui_quit
expect_eq "Q quits with status 0" "$(ui_rc)" 0
