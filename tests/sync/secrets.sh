#!/bin/sh
# The IMAP and POP3 passwords never reach paloma's files or outputs, and
# what sync stores is private (issue #8 point 5).  A canary password logs in
# to both protocols, a wrong one (holding the canary too) is refused; then
# the state, the Maildir with its notmuch database and everything printed
# are searched for it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
need_sync
PW=canary-Imap-3e9d27b1
# A second user, canary, with the canary password and test's mailbox.
echo "canary:{PLAIN}$PW:8:8::$T/dovecot/mail/test" >"$T/passwd2"
start_dovecot "passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $T/passwd2
}
userdb {
  driver = passwd-file
  args = username_format=%u $T/passwd2
}" || { nok "dovecot starts"; exit 1; }
fill INBOX 5
mkdir -p "$T/secret"
printf '%s\n' "$PW" >"$T/secret/pw"
printf 'wrong-%s\n' "$PW" >"$T/secret/bad"
write_sync_config \
	"$(account im imaps "password_command = cat $T/secret/pw
user = canary")" \
	"$(account po pop3s "password_command = cat $T/secret/pw
user = canary")" \
	"$(account badim imaps "password_command = cat $T/secret/bad
user = canary")" \
	"$(account badpo pop3 "password_command = cat $T/secret/bad
user = canary")"

all=""
for a in im po badim badpo; do
	psync "$a"
	all="$all$out$err"
	case $a in
	bad*) expect_eq "$a: the wrong password is refused (77)" "$rc" 77 ;;
	*) expect_eq "$a: the canary password logs in" "$rc" 0 ;;
	esac
done
expect_eq "the good accounts fetched the mail" "$(local_count im) $(local_count po)" "5 5"
printf '%s' "$all" >"$T/outputs"
leaks=$(grep -rl -- "$PW" "$XDG_STATE_HOME" "$MAILDIR" "$T/outputs" 2>/dev/null)
expect_eq "the password is in none of paloma's files or outputs" "$leaks" ""
check "the search can find it" grep -q -- "$PW" "$T/secret/bad"
open=$(find "$XDG_STATE_HOME/paloma" "$MAILDIR" -perm /077 2>/dev/null)
expect_eq "every file and directory sync made is private" "$open" ""
check "the sweep saw the notmuch database" test -d "$MAILDIR/.notmuch"
