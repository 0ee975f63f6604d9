# Secrets never leave the secret command, and everything paloma keeps is
# private to the user (issue #8 point 5).  A canary password and a canary
# OAuth2 token go through every path a relay login takes — accepted,
# refused (535), the refusal shown by `queue show`, `paloma log`, a bounce
# report — and must then appear in none of paloma's files or outputs.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"
SMTP_PORT=$(free_port)
P1=$(free_port)
PW=canary-Pw-7f3a91c2
TOK=canary-Tok-5b08e6d4
start_dns --host-record=relay.test,127.0.0.20 --host-record=oauth.test,127.0.0.21
make_ca_cert relay relay.test
make_ca_cert oauth oauth.test
C="$T/certs"
start_smtpd relay 127.0.0.20:$P1 --tls-cert "$C/relay.crt" --tls-key "$C/relay.key" --smtps \
	--auth-user me@example.org --auth-password "$PW" --require-auth
start_smtpd oauth 127.0.0.21:$P1 --tls-cert "$C/oauth.crt" --tls-key "$C/oauth.key" --smtps \
	--auth-user me@example.org --auth-password "$TOK" --require-auth \
	--auth-mechs 'PLAIN XOAUTH2'
mkdir -p "$T/secret"
printf '%s\n' "$PW" >"$T/secret/pw"
printf '%s\n' "$TOK" >"$T/secret/token"

# The secrets live in files the commands read: a command line holding the
# secret itself would be in the config, which is the user's own file.
cat >"$CONFIG" <<CFG
[general]
maildir = $T/Mail

[account me]
address = me@example.org
user = me@example.org
transport = relay
relay = smtps://relay.test:$P1
ca_file = $C/ca.crt
password_command = cat $T/secret/pw

[account tok]
address = tok@example.org
user = me@example.org
transport = relay
relay = smtps://oauth.test:$P1
ca_file = $C/ca.crt
oauth2_token_command = cat $T/secret/token

[delivery]
helo_name = mail.example.org
autostart = no
max_lifetime = 1h
$(delivery_config)
CFG
send() {		# FROM RCPT
	printf 'From: %s\nTo: %s\nSubject: canary\n\nbody\n' "$1" "$2" |
		"$PALOMA" send -f "$1" "$2" >>"$T/outputs" 2>&1
}
run() { PALOMA_TEST_TIME_OFFSET=${1:-0} timeout 40 "$PALOMA" daemon --once >>"$T/outputs" 2>&1; }

# Accepted logins, both mechanisms.
send me@example.org a@example.test
send tok@example.org b@example.test
run
expect_eq "password login accepted, delivered" "$(received_count relay)" 1
expect_eq "XOAUTH2 login accepted, delivered" "$(received_count oauth)" 1
# Refused logins: the server's 535 is kept and shown, the secret is not.
printf 'wrong-%s\n' "$PW" >"$T/secret/pw"
printf 'expired-%s\n' "$TOK" >"$T/secret/token"
send me@example.org c@example.test
send tok@example.org d@example.test
run
expect_eq "refused logins: nothing more delivered" "$(received_count relay)$(received_count oauth)" 11
"$PALOMA" queue list >>"$T/outputs" 2>&1
for id in $(ls "$QUEUE/entries"); do
	"$PALOMA" queue show "$id" >>"$T/outputs" 2>&1
done
expect_match "refused logins: queue show gives the reason" "$(cat "$T/outputs")" \
	'refused the login for me@example.org: 535'
# Past max_lifetime the refusals become bounce reports in the inbox.
run 7200
"$PALOMA" log >>"$T/outputs" 2>&1
reports=$(grep -rl 'refused the login' "$T/Mail" 2>/dev/null | wc -l | tr -d ' ')
check "refused logins end as bounce reports ($reports)" test "$reports" -ge 2

# Nowhere: the state (queue, delivery log, daemon log), runtime files, the
# Maildir with its reports, and everything paloma printed.
for s in "$PW" "$TOK"; do
	leaks=$(grep -rl -- "$s" "$XDG_STATE_HOME" "$XDG_RUNTIME_DIR" "$T/Mail" "$T/outputs" 2>/dev/null)
	expect_eq "the canary ${s%%-[0-9a-f]*} is in none of paloma's files or outputs" "$leaks" ""
done
check "the search for canaries can find one" grep -q -- "$PW" "$T/secret/pw"

# Private: no file or directory paloma made is open to group or others.
open=$(find "$XDG_STATE_HOME/paloma" "$XDG_RUNTIME_DIR/paloma" "$T/Mail" -perm /077 2>/dev/null)
expect_eq "every file and directory paloma made is private" "$open" ""
check "the permission sweep looked at files" test -n "$(find "$XDG_STATE_HOME/paloma" -type f)"
check "the permission sweep looked at reports" test -n "$(find "$T/Mail" -type f)"
