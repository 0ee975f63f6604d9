#!/bin/sh
# Accounts that fail: a wrong password (EX_NOPERM), a certificate from an
# unknown CA (refused, naming the host and the fingerprint) or for another
# name, a closed port; each says so on one line naming the account and the
# host, stores nothing, and does not stop the other accounts.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
need_sync
start_dovecot || { nok "dovecot starts"; exit 1; }
fill INBOX 10
dead=$(free_port)
start_proxy 127.0.0.2 "$IMAPS_PORT"	# a name the certificate does not have
write_sync_config \
	"$(account badpw imaps 'password_command = printf hunter2-wrong')" \
	"$(account badpop pop3s 'password_command = printf hunter2-wrong')" \
	"$(account untrusted imaps 'ca_file =')" \
	"$(account untrusted3 pop3 'ca_file =')" \
	"$(account wrongname "imaps://127.0.0.2:$PROXY_PORT")" \
	"$(account closed "imaps://localhost:$dead")" \
	"$(account good imaps)"

expect_ne() { if [ "$2" != "$3" ]; then ok "$1"; else nok "$1" "got: $2"; fi; }
nothing_stored() {	# NAME ACCOUNT
	expect_eq "$1: nothing stored" "$(local_count "$2")" 0
	expect_eq "$1: nothing in notmuch" "$(nm count --output=files "path:$2/**" 2>/dev/null || echo 0)" 0
}

psync badpw
expect_eq "IMAP, wrong password: exit 77 (EX_NOPERM)" "$rc" 77
expect_match "... one line naming the account, host and reason" "$err" \
	'^paloma sync: badpw: .*localhost.*(Authentication failed|AUTHENTICATIONFAILED|password|login)'
expect_eq "... one line only" "$(echo "$err" | wc -l | tr -d ' ')" 1
case $out$err in *hunter2*) nok "... never shows the password" "$out$err" ;;
*) ok "... never shows the password" ;; esac
nothing_stored "wrong password" badpw

psync badpop
expect_eq "POP3, wrong password: exit 77" "$rc" 77
expect_match "... says so" "$err" '^paloma sync: badpop: .*localhost.*(Authentication failed|AUTH|password|login)'
nothing_stored "POP3 wrong password" badpop

psync untrusted
expect_ne "IMAPS, certificate from an unknown CA: refused (non-zero)" "$rc" 0
expect_eq "... exit 75, as netstream reports it" "$rc" 75
expect_match "... names the account and the host" "$err" '^paloma sync: untrusted: .*localhost: certificate not trusted'
expect_match "... says why" "$err" 'self-signed|unable to get local issuer certificate'
expect_match "... gives the SHA-256 fingerprint" "$err" "SHA-256 $FP"
nothing_stored "untrusted certificate" untrusted

psync untrusted3
expect_ne "POP3 STLS, unknown CA: refused" "$rc" 0
expect_match "... with the fingerprint" "$err" "^paloma sync: untrusted3: .*certificate not trusted.*SHA-256 $FP"
nothing_stored "POP3 STLS untrusted" untrusted3

psync wrongname
expect_ne "certificate for another name: refused" "$rc" 0
expect_match "... says so" "$err" '^paloma sync: wrongname: .*127\.0\.0\.2.*(mismatch|not trusted)'
nothing_stored "wrong name" wrongname

psync closed
expect_eq "closed port: exit 75" "$rc" 75
expect_match "... says so" "$err" "^paloma sync: closed: .*localhost.*$dead.*(refused|connect)"

# All of them at once: the good one is synced, the exit says failure.
psync
expect_ne "all accounts: non-zero exit" "$rc" 0
expect_match "... the first failure's code (77)" "$rc" '^77$'
expect_eq "... one error line per failed account" "$(echo "$err" | grep -c '^paloma sync: ')" 6
expect_match "... the good account's summary" "$out" '^good: 10 new '
expect_eq "... no other account claims new mail" "$(echo "$out" | grep -v '^good: ' | grep -vc ': 0 new ')" 0
check_same "the good account" good INBOX
for a in badpw badpop untrusted untrusted3 wrongname closed; do
	expect_eq "$a: still nothing stored" "$(local_count $a)" 0
done

# Naming accounts: only those; an unknown name is an error.
psync good
expect_eq "the good one alone: exit 0" "$rc" 0
psync nosuch
expect_ne "an unknown account: non-zero" "$rc" 0
expect_match "... says so" "$err" 'nosuch'
