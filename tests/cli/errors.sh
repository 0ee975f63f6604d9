# tests/cli/errors.sh — the catalogue of bad input a user can give (issue #8
# point 4): malformed messages, arguments and config values.  Each case must
# exit with its sysexits code, say what is wrong on the first line of stderr
# (a "usage:" line counts for usage errors), print nothing else but usage
# text, and leave the queue as it was: nothing half-written, nothing lost.
. "$(dirname "$0")/../lib.sh"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"

# A config whose DNS goes nowhere: no case may reach the network.
base_config() {
	cat >"$CONFIG" <<CFG
[general]
maildir = $T/Mail

[account me]
address = me@example.org

[delivery]
${HELO_LINE-helo_name = mail.example.org}
${DNS_LINE-dns_servers = 127.0.0.1:9}
max_message_size = 4K
autostart = no
${1:-}
CFG
}
base_config

# One message queued before the cases, so that "unchanged" is not just "empty".
printf 'Subject: kept\n\nkept\n' | "$PALOMA" send you@example.com
before=$(queue_count)
expect_eq "one message queued before the catalogue" "$before" 1

# bad CODE ERE INPUT ARG… — INPUT is a printf format for stdin, or "-" for
# none (/dev/null).  ERE is matched against the first line of stderr after
# the "paloma…: " prefix.
bad() {
	_code=$1 _want=$2 _in=$3
	shift 3
	if [ "$_in" = - ]; then
		"$PALOMA" "$@" </dev/null >"$T/out" 2>"$T/err"
	else
		# shellcheck disable=SC2059
		printf "$_in" | "$PALOMA" "$@" >"$T/out" 2>"$T/err"
	fi
	_rc=$?
	_name="${LABEL:-paloma $*} → exit $_code"
	_first=$(head -n 1 "$T/err")
	_others=$(tail -n +2 "$T/err" | grep -c '^paloma')
	if [ "$_rc" -ne "$_code" ]; then
		nok "$_name" "exit status: $_rc" "stderr: $(cat "$T/err")"
	elif ! printf '%s\n' "$_first" | grep -Eq -- "^(paloma[a-z ]*: |usage: paloma)"; then
		nok "$_name" "first line is not an error: $_first"
	elif ! printf '%s\n' "$_first" | sed 's/^paloma[a-z ]*: //' | grep -Eq -- "$_want"; then
		nok "$_name" "first line: $_first" "want: /$_want/"
	elif [ "$_others" -ne 0 ]; then
		nok "$_name" "more than one error line:" "$(cat "$T/err")"
	elif [ "$(queue_count)" != "$before" ] || [ "$(tmp_count)" != 0 ]; then
		nok "$_name" "queue changed: $(queue_count) entries, $(tmp_count) in tmp"
	else
		ok "$_name: $_first"
	fi
}

msg='From: me@example.org\nSubject: test\n\nbody\n'

# --- Messages and recipients (paloma send, sendmail) ---
bad 66 'no message on standard input' - send you@example.com
bad 66 'no message on standard input' '' send you@example.com
bad 64 'no recipients' "$msg" send
bad 64 'no recipients' 'Subject: x\n\nbody\n' send -t
bad 65 "malformed address 'bad address@'" "$msg" send 'bad address@'
bad 65 "malformed address 'a@b\.\.c': empty label" "$msg" send 'a@b..c'
bad 65 "malformed address 'nobody': no @domain" "$msg" send nobody
bad 65 "To header: malformed address 'x@@y'" 'To: x@@y\n\nbody\n' send -t
bad 65 "malformed address 'not an address'" "$msg" send -f 'not an address' you@example.com
bad 65 'NUL byte at offset 7' 'From: a\0b\n\nx\n' send you@example.com
bad 65 'larger than max_message_size' "Subject: big\n\n$(head -c 5000 /dev/zero | tr '\0' x)\n" \
    send you@example.com
bad 64 "unknown option '-Z'" "$msg" send -Z you@example.com

# --- Commands and arguments ---
bad 64 "unknown command 'bogus'" - bogus
bad 64 "unknown option '--bogus'" - --bogus
bad 64 '-c needs a config FILE' - -c
bad 78 'cannot read config /nonexistent' "$msg" -c /nonexistent send you@example.com
bad 64 'usage: paloma queue' - queue show
bad 64 'usage: paloma queue' - queue cancel 0pxq3k7m2zs4b9ta
bad 64 "'abc' is not a queue id" - queue cancel abc you@example.com
bad 66 'no queue entry 0pxq3k7m2zs4b9ta' - queue remove 0pxq3k7m2zs4b9ta
bad 66 'no queue entry \.\./etc' - queue show ../etc
bad 64 'usage: paloma queue' - queue flush extra
bad 64 '--since takes a duration' - log --since soon
bad 64 'usage: paloma config check' - config check extra
bad 64 'usage: paloma .*daemon' - daemon --bogus
bad 64 "unknown option '--bogus'" - sync --bogus
bad 64 "no account 'nosuch'" - sync nosuch
bad 64 "account 'me' has no imap = or pop3 = server" - sync me
bad 64 'usage: paloma dkim' - dkim
bad 64 "'bad domain' is not a domain name" - dkim keygen 'bad domain'
bad 64 "'a b' is not a selector" - dkim keygen example.org --selector 'a b'
bad 64 "no account 'nosuch'" - dkim check nosuch
bad 64 "unexpected argument '--bogus'" - doctor --bogus
bad 64 "no account 'nosuch'" - doctor nosuch

# --- Config values (each refused with its file and line) ---
# conf CODE ERE SNIPPET — SNIPPET goes at the end of the [delivery]
# section, or starts its own section.
conf() {
	base_config "$3"
	LABEL="config: $(printf '%s' "$3" | tr '\n\033' '|?')" bad "$1" "$2" "$msg" send you@example.com
}
conf 78 'config:[0-9]+: bogus: unknown key in \[delivery\]' 'bogus = 1'
conf 78 "smtp_port: '70000' is not a whole number from 1 to 65535" 'smtp_port = 70000'
conf 78 "parallel: 'lots' is not a whole number" 'parallel = lots'
conf 78 "retry_schedule: '5x' is not a duration" 'retry_schedule = 1m 5x'
conf 78 "max_lifetime: '-1d' is not a duration" 'max_lifetime = -1d'
conf 78 "tls: 'never' is not opportunistic or required" 'tls = never'
conf 78 "mta_sts: 'maybe' is not yes or no" 'mta_sts = maybe'
DNS_LINE= conf 78 "dns_servers: '1\.2\.3' is not an IP address" 'dns_servers = 1.2.3'
HELO_LINE= conf 78 "helo_name: 'mail example' is not a host name" 'helo_name = mail example'
HELO_LINE= conf 78 "helo_name: 'a\?\[31mb' is not a host name" "helo_name = a$(printf '\033')[31mb"
unset DNS_LINE HELO_LINE
conf 78 'unknown section \[nosuch\]' '[nosuch]'
conf 78 "line: 'garbage' is not 'key = value'" 'garbage'
conf 78 "account 'me' is defined twice" '[account me]
address = other@example.org'
conf 78 "account 'two' has no address" '[account two]
name = Two'
conf 78 'transport: relay needs relay =' '[account r]
address = r@example.org
transport = relay'
conf 78 "timeout: '2h' is more than an hour" '[account t]
address = t@example.org
imap = imaps://imap.example.org
user = t
timeout = 2h'
conf 78 "relay: 'http://x' is not smtps://host" '[account r]
address = r@example.org
transport = relay
relay = http://x'
conf 78 "dkim_key: 'key.pem' is not an absolute path" '[account d]
address = d@example.org
dkim_key = key.pem
dkim_selector = s'
conf 78 'password_command: needs imap =, pop3 =, relay =' '[account p]
address = p@example.org
password_command = echo x'
conf 78 "account 'i' reads mail from a server but has no user" '[account i]
address = i@example.org
imap = imaps://imap.example.org'
conf 78 "bind.index.q: 'nosuchaction' is not an action" '[ui]
bind.index.q = nosuchaction'
base_config
printf '\377\376[general]\n' >"$T/binary.conf"
bad 78 "line: '\?\?\[general\]' is not 'key = value'" "$msg" -c "$T/binary.conf" send you@example.com

expect_eq "the message queued first is still there" "$(queue_count)" 1
