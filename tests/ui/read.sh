#!/bin/sh
# Reading: the pager decodes what the samples throw at it: UTF-8 base64
# (Russian), ISO-2022-JP (Japanese), ISO-8859-1 quoted-printable (French),
# KOI8-R, RFC 2047 headers and RFC 2231 attachment names, and renders an
# HTML-only newsletter as text.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
ui_sandbox light
ui_start
ui_expect "the index is drawn" 'Quarterly report Q3' || { nok "the rest needs the index"; exit 1; }

# open_query QUERY — searches and opens the first thread found
open_query() {
	ui_keys /
	ui_type "$1"
	ui_keys Enter
	ui_wait_gone 'Quarterly report Q3' 5
	ui_keys Enter
}
back() { ui_keys q q; ui_wait_for 'Quarterly report Q3' 5; }

open_query 'from:dmitri@example.test and subject:Встреча'
ui_expect "Russian (UTF-8, base64): the Subject" '^ *Subject: Встреча в четверг'
ui_expect "... the From name" 'Дмитрий Иванов'
ui_expect "... the text" 'Давай встретимся в четверг в 15:00'
back

open_query 'from:eiko@example.test and not subject:日本語'
ui_expect "Japanese (ISO-2022-JP): the Subject" '^ *Subject: 来週の打ち合わせについて'
ui_expect "... the text" '来週の打ち合わせですが'
back

open_query 'from:news@lists.example.test'
ui_expect "HTML only: rendered as text (the heading)" 'five tips for a calm inbox'
ui_expect "... the list items" "Archive.*don't delete"
ui_expect_gone "... no HTML tags shown" '<(li|p|b|h1|ol|html|body)>' 2
back

open_query 'subject:"Recette du café crème"'
ui_expect "ISO-8859-1 quoted-printable" 'chauffé à 65 °C'
back

open_query 'subject:Привет'
ui_expect "KOI8-R (mkmail): the Subject decoded" 'Привет, мир!'
ui_expect "... the text" 'Съешь же ещё этих мягких французских булок'
back

open_query 'subject:"Attachments 11"'
ui_expect "an RFC 2231 attachment name (Übersicht 2024 €.bin)" 'Übersicht 2024 €\.bin'
back

open_query 'subject:"Quarterly report Q3"'
ui_expect "the attachment list: Q3-report.pdf" 'Q3-report\.pdf'
ui_expect "... and numbers.csv" 'numbers\.csv'
back
ui_quit
