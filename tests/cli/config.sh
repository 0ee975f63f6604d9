# The config file: errors name file, line and key and exit 78; config check.
. "$(dirname "$0")/../lib.sh"

# bad_config NAME PATTERN — the current $CONFIG must be refused with 78.
bad_config() {
	out=$("$PALOMA" config check 2>&1); rc=$?
	expect_eq "$1: exit 78" "$rc" 78
	expect_match "$1: names file, line and key" "$out" "^paloma: $CONFIG:$2"
	out=$(printf 'x\n' | "$PALOMA" send a@example.test 2>&1); rc=$?
	expect_eq "$1: send refuses too, queueing nothing" "$rc$(queue_count)" "780"
}

printf '[general]\nmaildir = ~/M\n[delivery]\nsmtp_port = 99999\n' >"$CONFIG"
bad_config "port out of range" "4: smtp_port: '99999' is not a whole number from 1 to 65535"
printf '[delivery]\nretry_schedule = 1m 5x\n' >"$CONFIG"
bad_config "bad duration" "2: retry_schedule: '5x' is not a duration"
printf '[delivery]\nmax_lifetime = forever\n' >"$CONFIG"
bad_config "bad lifetime" "2: max_lifetime: 'forever' is not a duration"
printf '[delivery]\nmax_message_size = huge\n' >"$CONFIG"
bad_config "bad size" "2: max_message_size: 'huge' is not a size"
printf '[delivery]\ntls = maybe\n' >"$CONFIG"
bad_config "bad tls" "2: tls: 'maybe' is not opportunistic or required"
printf '[delivery]\ntimeout_rcpt = soon\n' >"$CONFIG"
bad_config "bad timeout" "2: timeout_rcpt: 'soon' is not a duration"
printf '[delivery]\nparallel = 0\n' >"$CONFIG"
bad_config "parallel zero" "2: parallel: '0' is not a whole number"
printf '[delivery]\ndns_servers = resolver.example\n' >"$CONFIG"
bad_config "bad dns_servers" "2: dns_servers: 'resolver.example' is not an IP address"
printf '# comment\n\n[account me]\naddress = not an address\n' >"$CONFIG"
bad_config "bad account address" "4: address: malformed address"
printf '[account me]\nname = Me\n' >"$CONFIG"
bad_config "account without address" "1: address: account 'me' has no address"
printf '[account a]\naddress = a@x.test\ndefault = yes\n[account b]\naddress = b@x.test\ndefault = yes\n' >"$CONFIG"
bad_config "two default accounts" "4: default: account 'b' is a second default account"
printf '[account a]\naddress = a@x.test\n[account a]\naddress = b@x.test\n' >"$CONFIG"
bad_config "account defined twice" "3: section: account 'a' is defined twice"
printf '[account a:b]\naddress = a@x.test\n' >"$CONFIG"
bad_config "account name with a colon" "1: section: 'a:b' is not an account name"
printf '[general]\nmaildir = ~/M\nmaildir = ~/N\n' >"$CONFIG"
bad_config "key set twice" "3: maildir: set twice"
printf '[general]\ncolour = blue\n' >"$CONFIG"
bad_config "unknown key" "2: colour: unknown key in \\[general\\]"
printf '[mystery]\n' >"$CONFIG"
bad_config "unknown section" "1: section: unknown section \\[mystery\\]"
printf 'maildir = ~/M\n' >"$CONFIG"
bad_config "key before any section" "1: maildir: key outside any section"
printf '[general]\njust words\n' >"$CONFIG"
bad_config "line without =" "2: line: 'just words' is not 'key = value'"
printf '[general]\nmaildir = relative/path\n' >"$CONFIG"
bad_config "relative maildir" "2: maildir: 'relative/path' is not an absolute path"

# -c and PALOMA_CONFIG name a file that must exist
out=$("$PALOMA" -c "$T/nonexistent" config check 2>&1); rc=$?
expect_eq "-c with a missing file: 78" "$rc" 78
expect_match "-c with a missing file: says so" "$out" "cannot read config $T/nonexistent: No such file"
out=$(PALOMA_CONFIG="$T/nonexistent" "$PALOMA" config check 2>&1); rc=$?
expect_eq "PALOMA_CONFIG with a missing file: 78" "$rc" 78

# no file at the default place: defaults, and config check says so
rm -f "$CONFIG"
out=$("$PALOMA" config check 2>"$T/err"); rc=$?
expect_eq "no config file: check exits 0" "$rc" 0
expect_match "no config file: says defaults are used" "$(cat "$T/err")" 'no such file, using defaults'
expect_match "defaults: retry schedule" "$out" '^retry_schedule = 1m 5m 15m 30m 1h 2h 4h$'
expect_match "defaults: max_lifetime 5d" "$out" '^max_lifetime = 5d$'
expect_match "defaults: parallel 16" "$out" '^parallel = 16$'
expect_match "defaults: max_message_size 35 MB" "$out" '^max_message_size = 36700160$'
expect_match "defaults: maildir ~/Mail" "$out" "^maildir = $HOME/Mail$"

# a good file: effective settings printed back, and they parse again
cat >"$CONFIG" <<CFG
# my settings
[general]
maildir = ~/Mail
editor = "nvim -u NONE"

[account home]
address = Ann Example <ann@example.org>
name = Ann Example

[account work]
address = ann@work.test
default = yes

[delivery]
helo_name = mail.example.org
dns_servers = 127.0.0.1:5353, [::1]:5353
smtp_port = 2525
retry_schedule = 30s, 2m, 1h
max_lifetime = 2d12h
delay_warning = 1h
parallel = 4
per_domain = 2
max_message_size = 10M
tls = required
autostart = no
timeout_connect = 5s
timeout_data_end = 20m
CFG
out=$("$PALOMA" config check 2>"$T/err"); rc=$?
expect_eq "good config: exit 0" "$rc" 0
expect_match "good config: says valid" "$(cat "$T/err")" 'settings are valid'
expect_match "quotes stripped" "$out" '^editor = nvim -u NONE$'
expect_match "address normalised" "$out" '^address = ann@example.org$'
expect_match "explicit default account" "$(printf '%s\n' "$out" | grep -A3 'account work')" 'default = yes'
expect_match "retry schedule with commas" "$out" '^retry_schedule = 30s 2m 1h$'
expect_match "compound duration" "$out" '^max_lifetime = 2d12h$'
expect_match "size" "$out" '^max_message_size = 10485760$'
expect_match "tls required" "$out" '^tls = required$'
expect_match "a timeout set" "$out" '^timeout_connect = 5s$'
expect_match "another timeout set" "$out" '^timeout_data_end = 20m$'
expect_match "a timeout left at its RFC 5321 default" "$out" '^timeout_data_init = 2m$'
printf '%s\n' "$out" >"$T/printed"
out2=$("$PALOMA" -c "$T/printed" config check 2>/dev/null); rc=$?
expect_eq "printed settings are a valid config themselves" "$rc" 0
expect_eq "and print the same (but the first line)" "$(printf '%s\n' "$out2" | sed 1d)" "$(printf '%s\n' "$out" | sed 1d)"

# the shipped sample config is valid
if [ -f "$TESTS_DIR/../share/paloma.conf.sample" ]; then
	"$PALOMA" -c "$TESTS_DIR/../share/paloma.conf.sample" config check >/dev/null 2>&1
	expect_eq "share/paloma.conf.sample passes config check" "$?" 0
else
	nok "share/paloma.conf.sample exists"
fi
