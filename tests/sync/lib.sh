# tests/sync/lib.sh — a private Dovecot and helpers for the `paloma sync` tests.
#
# Source it after tests/lib.sh:
#	. "$(dirname "$0")/../lib.sh"
#	. "$(dirname "$0")/lib.sh"
# Without dovecot, doveadm, openssl, notmuch, /usr/bin/python3 or root, sourcing
# it reports the whole test file as skipped and exits 0.  need_sync skips it
# unless paloma sync is built.
#
# Loopback only: Dovecot listens on 127.0.0.1 and four free high ports; it
# runs from its own config under $T/dovecot and is stopped by the test's exit
# trap (doveadm stop, then its master pid).
#
# start_dovecot [CONF_LINES]  makes the test CA ($CA, fingerprint $FP of the
#                          server cert, $CERTS) and starts Dovecot with one
#                          user test / secret; exports IMAP_PORT, IMAPS_PORT,
#                          POP3_PORT, POP3S_PORT, DOVECONF, MAILHOME (the
#                          user's Maildir); CONF_LINES are appended to
#                          dovecot.conf.  Returns once IMAPS answers.
# stop_dovecot
# dadm ARGS...             doveadm on that instance (-c $DOVECONF)
# imap CMD ARGS...         the IMAP helper (plain IMAP on loopback as test):
#    count FOLDER            number of messages
#    uids FOLDER             UIDs, one a line
#    msgids FOLDER           Message-ID of each message in UID order ("-" if none)
#    flags FOLDER UID        its flags ("\Seen \Flagged", sorted)
#    uid_of FOLDER MSGID     the UID of the message with that Message-ID
#    store FOLDER UIDS +|-FLAGS   UIDS like 1,3:5; FLAGS like '\Seen \Flagged'
#    expunge FOLDER UIDS     \Deleted + UID EXPUNGE of those
#    create FOLDER / delete FOLDER
#    uidvalidity FOLDER / uidnext FOLDER
#    fetch FOLDER UID        the message (CRLF) on stdout
#    dump FOLDER DIR         every message as DIR/<uid> with CRLF → LF
#    status                  "FOLDER COUNT" for every folder
# set_uidvalidity FOLDER N  doveadm mailbox update --uid-validity (the cached
#                          index is rewritten; mail keeps its files)
# mkmail ARGS...           tests/sync/mkmail.py
# fill FOLDER COUNT [START] [SEED]  appends tricky messages START.. (default 1)
# write_sync_config BLOCK...  the config: [general] maildir = $MAILDIR, the
#                          account blocks, [delivery] autostart = no
# account NAME SCHEME [LINES]  an account block for Dovecot: SCHEME imaps,
#                          imap (STARTTLS), pop3s or pop3 (STLS); user test,
#                          password_command printf secret, ca_file $CA; LINES
#                          (newline separated) added or overriding
#                          (password_command=, ca_file= empty drops the key)
# psync ARGS...            paloma -c $CONFIG sync ARGS; $rc, $out, $err set
#                          (timeout ${PSYNC_TIMEOUT:-300} s)
# nm ARGS...               notmuch on the test's database ($MAILDIR/.notmuch),
#                          synchronize_flags per $NM_SYNC_FLAGS (true)
# local_count ACCOUNT [FOLDER]   files in cur/ and new/ (INBOX by default)
# local_msgids ACCOUNT [FOLDER]  the Message-ID of each local file, sorted
# local_files ACCOUNT [FOLDER]   the paths
# dup_ids                  prints the repeated lines of stdin ("" when none)
# wait_for CMD SECONDS     polls CMD (eval'd) every 0.1 s; 1 on timeout

case $0 in
*sync/lib.sh) echo "1..0 # SKIP tests/sync/lib.sh is a library"; exit 0 ;;
esac

PY=/usr/bin/python3
SYNC_DIR="$TESTS_DIR/sync"
MKMAIL="$SYNC_DIR/mkmail.py"
MAILDIR="$T/Mail"
export PALOMA_LIBEXEC="$PALOMA_BUILD/libexec/paloma"

_skip_file() {
	skip "$(basename "$0")" "$1"
	exit 0
}

command -v dovecot >/dev/null 2>&1 || _skip_file "dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)"
command -v doveadm >/dev/null 2>&1 || _skip_file "doveadm is not installed"
command -v openssl >/dev/null 2>&1 || _skip_file "openssl is not installed"
command -v notmuch >/dev/null 2>&1 || _skip_file "notmuch is not installed"
[ -x "$PY" ] || _skip_file "$PY is missing"
[ "$(id -u)" = 0 ] || _skip_file "needs root (private Dovecot with mail user uid 8)"

# need_sync — skips the file unless paloma sync is built.
need_sync() {
	[ -x "$PALOMA_LIBEXEC/paloma-sync" ] || _skip_file "paloma-sync is not built"
	"$PALOMA" sync --help >/dev/null 2>&1 || _skip_file "paloma sync is not built"
}

_free_ports() {		# N
	"$PY" - "$1" <<'PY'
import socket, random, sys
ports = []
while len(ports) < int(sys.argv[1]):
    p = random.randint(20000, 59999)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    if p not in ports:
        ports.append(p)
print(*ports)
PY
}

# free_port — one free TCP port on 127.0.0.1
free_port() { _free_ports 1; }

_make_certs() {
	CERTS="$T/certs"
	mkdir -p "$CERTS"
	_c=$CERTS
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=paloma sync test CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$_c/ca.key" -out "$_c/ca.crt" 2>"$_c/err" || { cat "$_c/err" >&2; return 1; }
	openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
		-keyout "$_c/key.pem" -out "$_c/req.pem" 2>"$_c/err" || { cat "$_c/err" >&2; return 1; }
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$_c/ext"
	openssl x509 -req -in "$_c/req.pem" -CA "$_c/ca.crt" -CAkey "$_c/ca.key" -CAcreateserial \
		-days 2 -extfile "$_c/ext" -out "$_c/cert.pem" 2>"$_c/err" || { cat "$_c/err" >&2; return 1; }
	CA="$_c/ca.crt"
	FP=$(openssl x509 -in "$_c/cert.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')
}

start_dovecot() {
	[ -n "${CA:-}" ] || _make_certs || return 1
	set -- "${1:-}" $(_free_ports 4)
	IMAP_PORT=$2 IMAPS_PORT=$3 POP3_PORT=$4 POP3S_PORT=$5
	export IMAP_PORT IMAPS_PORT POP3_PORT POP3S_PORT
	_D="$T/dovecot"
	DOVECONF="$_D/dovecot.conf"
	MAILHOME="$_D/mail/test/Maildir"
	mkdir -p "$_D/run" "$_D/state" "$_D/mail/test"
	chown -R 8:8 "$_D/mail"
	echo "test:{PLAIN}secret:8:8::$_D/mail/test" >"$_D/passwd"
	cat >"$DOVECONF" <<CONF
base_dir = $_D/run
state_dir = $_D/state
log_path = $_D/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <$CERTS/cert.pem
ssl_key = <$CERTS/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $_D/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $_D/passwd
}
mail_location = maildir:~/Maildir
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 0
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \Sent
    auto = create
  }
  mailbox Trash {
    special_use = \Trash
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $POP3_PORT
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $POP3S_PORT
    ssl = yes
  }
}
$1
CONF
	dovecot -c "$DOVECONF" || { cat "$_D/dovecot.log" >&2 2>/dev/null; return 1; }
	_dovecot_pid=$(cat "$_D/run/master.pid" 2>/dev/null)
	at_exit stop_dovecot
	wait_for "$PY -c \"import socket; socket.create_connection(('127.0.0.1', $IMAPS_PORT), 1).close()\" 2>/dev/null" 10 ||
		{ echo "start_dovecot: Dovecot does not answer: $(cat "$_D/dovecot.log")" >&2; return 1; }
	[ -n "$_dovecot_pid" ] || _dovecot_pid=$(cat "$_D/run/master.pid" 2>/dev/null)
}

stop_dovecot() {
	[ -n "${_dovecot_pid:-}" ] || return 0
	doveadm -c "$DOVECONF" stop >/dev/null 2>&1
	_sd_n=50
	while [ "$_sd_n" -gt 0 ] && kill -0 "$_dovecot_pid" 2>/dev/null; do
		sleep 0.1
		_sd_n=$((_sd_n - 1))
	done
	kill -0 "$_dovecot_pid" 2>/dev/null && kill -9 "$_dovecot_pid" 2>/dev/null
	_dovecot_pid=
}

dadm() { doveadm -c "$DOVECONF" "$@"; }

set_uidvalidity() {	# FOLDER N
	dadm mailbox update --uid-validity "$2" -u test "$1"
}

mkmail() { "$PY" "$MKMAIL" "$@"; }

# fill FOLDER COUNT [START] [SEED]
fill() {
	mkmail --imap "imap://test:secret@127.0.0.1:$IMAP_PORT/$1" --count "$2" \
		--start "${3:-1}" --seed "${4:-1}" >/dev/null
}

# The IMAP helper, written once per test.
_IMAPTOOL="$T/imaptool.py"
cat >"$_IMAPTOOL" <<'PY'
import imaplib, os, re, sys
port = int(os.environ["IMAP_PORT"])
cmd, args = sys.argv[1], sys.argv[2:]

def q(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'

c = imaplib.IMAP4("127.0.0.1", port)
c.login("test", "secret")

def sel(folder, ro=True):
    typ, data = c.select(q(folder), readonly=ro)
    if typ != "OK":
        sys.exit("imap: SELECT %s: %s" % (folder, data))
    return int(data[0])

def ok(r):
    typ, data = r
    if typ != "OK":
        sys.exit("imap %s: %s" % (cmd, data))
    return data

def uids(folder):
    sel(folder)
    data = ok(c.uid("SEARCH", None, "ALL"))
    return [int(x) for x in data[0].split()]

def fetch_items(folder, item):
    """(uid, value) for each message; value is bytes for literals."""
    sel(folder)
    data = ok(c.uid("FETCH", "1:*", "(UID %s)" % item))
    out = []
    for d in data:
        if d is None or d == b")":
            continue
        if isinstance(d, tuple):
            m = re.search(rb"UID (\d+)", d[0])
            out.append((int(m.group(1)), d[1]))
        else:
            m = re.search(rb"UID (\d+)", d)
            if m:
                out.append((int(m.group(1)), d))
    return sorted(out)

def msgid_of(hdr):
    m = re.search(rb"^message-id:\s*(.*?)\s*$", hdr.replace(b"\r\n\t", b" ").replace(b"\r\n ", b" "),
                  re.I | re.M)
    return m.group(1).decode("utf-8", "replace") if m else "-"

if cmd == "count":
    print(sel(args[0]))
elif cmd == "uids":
    for u in uids(args[0]):
        print(u)
elif cmd == "msgids":
    for u, h in fetch_items(args[0], "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"):
        print(msgid_of(h))
elif cmd == "uid_of":
    for u, h in fetch_items(args[0], "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"):
        if msgid_of(h) == args[1]:
            print(u)
elif cmd == "flags":
    sel(args[0])
    data = ok(c.uid("FETCH", args[1], "(FLAGS)"))
    fl = []
    for d in data:
        if d:
            m = re.search(rb"FLAGS \(([^)]*)\)", d if isinstance(d, bytes) else d[0])
            if m:
                fl = sorted(f.decode() for f in m.group(1).split() if f != b"\\Recent")
    print(" ".join(fl))
elif cmd == "store":
    sel(args[0], ro=False)
    op = args[2][0]
    flags = args[2][1:]
    ok(c.uid("STORE", args[1], op + "FLAGS.SILENT", "(%s)" % flags))
elif cmd == "expunge":
    sel(args[0], ro=False)
    ok(c.uid("STORE", args[1], "+FLAGS.SILENT", "(\\Deleted)"))
    ok(c.uid("EXPUNGE", args[1]))
elif cmd == "create":
    ok(c.create(q(args[0])))
elif cmd == "delete":
    ok(c.delete(q(args[0])))
elif cmd in ("uidvalidity", "uidnext"):
    data = ok(c.status(q(args[0]), "(%s)" % cmd.upper()))
    print(int(re.search(rb"%s (\d+)" % cmd.upper().encode(), data[0]).group(1)))
elif cmd == "fetch":
    sel(args[0])
    data = ok(c.uid("FETCH", args[1], "(BODY.PEEK[])"))
    sys.stdout.buffer.write(data[0][1])
elif cmd == "dump":
    os.makedirs(args[1], exist_ok=True)
    for u, body in fetch_items(args[0], "BODY.PEEK[]"):
        with open(os.path.join(args[1], str(u)), "wb") as f:
            f.write(body.replace(b"\r\n", b"\n"))
elif cmd == "status":
    for line in ok(c.list()):
        m = re.match(rb'\(.*?\) (?:"."|NIL) (.*)$', line)
        name = m.group(1).decode()
        if name.startswith('"'):
            name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if b"\\Noselect" in line:
            continue
        data = ok(c.status(q(name), "(MESSAGES)"))
        print(name, int(re.search(rb"MESSAGES (\d+)", data[0]).group(1)))
else:
    sys.exit("imap: unknown command " + cmd)
c.logout()
PY

imap() { "$PY" "$_IMAPTOOL" "$@"; }

# account NAME SCHEME [LINES]
account() {
	case $2 in
	imaps) _url="imaps://localhost:$IMAPS_PORT" _k=imap ;;
	imap) _url="imap://localhost:$IMAP_PORT" _k=imap ;;
	pop3s) _url="pop3s://localhost:$POP3S_PORT" _k=pop3 ;;
	pop3) _url="pop3://localhost:$POP3_PORT" _k=pop3 ;;
	pop3*) _url=$2 _k=pop3 ;;
	*) _url=$2 _k=imap ;;
	esac
	"$PY" - "$1" "$_k" "$_url" "${CA:-}" "${3:-}" <<'PY'
import sys
name, k, url, ca, extra = sys.argv[1:]
keys = {"address": "test@example.test", k: url, "user": "test",
        "password_command": "printf secret"}
if ca:
    keys["ca_file"] = ca
for line in extra.splitlines():
    if "=" in line:
        a, b = line.split("=", 1)
        a, b = a.strip(), b.strip()
        if b:
            keys[a] = b
        else:
            keys.pop(a, None)
print("[account %s]" % name)
for a, b in keys.items():
    print("%s = %s" % (a, b))
print()
PY
}

# write_sync_config BLOCK...
write_sync_config() {
	{
		printf '[general]\nmaildir = %s\n\n' "$MAILDIR"
		for _b in "$@"; do printf '%s\n\n' "$_b"; done
		printf '[delivery]\nautostart = no\n'
	} >"$CONFIG"
}

# psync ARGS... — runs paloma sync; sets rc, out, err.
psync() {
	timeout "${PSYNC_TIMEOUT:-300}" "$PALOMA" -c "$CONFIG" sync "$@" >"$T/psync.out" 2>"$T/psync.err"
	rc=$?
	out=$(cat "$T/psync.out")
	err=$(cat "$T/psync.err")
	return $rc
}

# nm ARGS... — the notmuch CLI on the test's database.
nm() {
	printf '[database]\npath=%s\n[new]\ntags=inbox;unread;\n[maildir]\nsynchronize_flags=%s\n' \
		"$MAILDIR" "${NM_SYNC_FLAGS:-true}" >"$T/notmuch-config"
	NOTMUCH_CONFIG="$T/notmuch-config" notmuch "$@"
}

local_files() {		# ACCOUNT [FOLDER]
	for _d in cur new; do
		[ -d "$MAILDIR/$1/${2:-INBOX}/$_d" ] || continue
		find "$MAILDIR/$1/${2:-INBOX}/$_d" -maxdepth 1 -type f ! -name '.*'
	done
}

local_count() { local_files "$@" | wc -l | tr -d ' '; }

local_msgids() {
	local_files "$@" | "$PY" -c '
import re, sys
for p in sys.stdin.read().split("\n"):
    if not p:
        continue
    with open(p, "rb") as f:
        h = f.read().split(b"\n\n", 1)[0].replace(b"\n\t", b" ").replace(b"\n ", b" ")
    m = re.search(rb"^message-id:\s*(.*?)\s*$", h, re.I | re.M)
    print(m.group(1).decode("utf-8", "replace") if m else "-")
' | sort
}

dup_ids() { sort | uniq -d | tr '\n' ' ' | sed 's/ $//'; }

# start_proxy ADDR TO_PORT [ARGS...] — tests/servers/imapdrop.py on ADDR and
# a free port in front of 127.0.0.1:TO_PORT; sets PROXY_PORT, PROXY_PID,
# PROXY_LOG.  ARGS: --cut BYTES --times N --mode close|reset|stall.
# PROXY_REUSE=PORT start_proxy … listens on that port instead (to replace a
# proxy an account's config already names).
start_proxy() {
	_sp_addr=$1 _sp_to=$2
	shift 2
	stop_proxy
	rm -f "$T/proxy.port"
	PROXY_LOG="$T/proxy.log"
	"$PY" "$TESTS_DIR/servers/imapdrop.py" --listen "$_sp_addr:${PROXY_REUSE:-0}" --to "127.0.0.1:$_sp_to" \
		--log "$PROXY_LOG" --port-file "$T/proxy.port" "$@" 2>>"$T/proxy.err" &
	PROXY_PID=$!
	at_exit stop_proxy
	wait_for '[ -s "$T/proxy.port" ]' 10 || { echo "start_proxy: no port" >&2; return 1; }
	PROXY_PORT=$(cat "$T/proxy.port")
}

stop_proxy() {
	[ -n "${PROXY_PID:-}" ] || return 0
	kill "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID" 2>/dev/null
	PROXY_PID=
}

# check_names ACCOUNT [FOLDER] — prints one line per file whose name breaks
# the sync naming (",S=<size>,U=<uid>:2," or ",P=<16 hex>:2,", size right,
# in cur/, mode 0600); nothing when all are fine.
check_names() {
	local_files "$@" | "$PY" -c '
import os, re, stat, sys
for p in sys.stdin.read().split("\n"):
    if not p:
        continue
    d, n = os.path.split(p)
    m = re.match(r"^[^,:/]+,S=(\d+),(U=\d+|P=[0-9a-f]{16}):2,[A-Za-z]*$", n)
    st = os.stat(p)
    if os.path.basename(d) != "cur":
        print("not in cur/:", p)
    elif not m:
        print("bad name:", n)
    elif int(m.group(1)) != st.st_size:
        print("S=%s but %d bytes: %s" % (m.group(1), st.st_size, n))
    elif stat.S_IMODE(st.st_mode) & 0o077:
        print("mode %o: %s" % (stat.S_IMODE(st.st_mode), n))
'
}

# local_uids ACCOUNT [FOLDER] — the U= of the local files, sorted numerically
local_uids() {
	local_files "$@" | sed -n 's/.*,U=\([0-9]*\):2,.*/\1/p' | sort -n
}

# local_flags_of ACCOUNT FOLDER UID — the flag letters of that UID's file
local_flags_of() {
	local_files "$1" "$2" | sed -n "s/.*,U=$3:2,\([A-Za-z]*\)\$/\1/p"
}

# local_file_of ACCOUNT FOLDER UID
local_file_of() {
	local_files "$1" "$2" | grep ",U=$3:2," | head -n 1
}

# check_same LABEL ACCOUNT [FOLDER [SERVER_FOLDER]] — the local folder holds
# what the server's holds: as many files, the same Message-IDs as a
# multiset (duplicates only where the server has them), as many notmuch
# files under the folder; for IMAP the same UIDs, names well formed.
check_same() {
	_cs_l=$1 _cs_a=$2 _cs_f=${3:-INBOX} _cs_sf=${4:-${3:-INBOX}}
	_cs_n=$(imap count "$_cs_sf")
	expect_eq "$_cs_l: $_cs_n files, as on the server" "$(local_count "$_cs_a" "$_cs_f")" "$_cs_n"
	imap msgids "$_cs_sf" | sort >"$T/cs.srv"
	local_msgids "$_cs_a" "$_cs_f" >"$T/cs.loc"
	if cmp -s "$T/cs.srv" "$T/cs.loc"; then
		ok "$_cs_l: the same Message-IDs (no duplicates the server does not have)"
	else
		nok "$_cs_l: the same Message-IDs (no duplicates the server does not have)" \
			"$(diff "$T/cs.srv" "$T/cs.loc" | grep '^[<>]' | head -n 10 | tr '\n' ' ')"
	fi
	expect_eq "$_cs_l: notmuch knows $_cs_n files" "$(nm_files "$_cs_a" "$_cs_f" | wc -l | tr -d ' ')" "$_cs_n"
	expect_eq "$_cs_l: every file notmuch lists exists" "$(nm search --output=files "path:$_cs_a/$_cs_f/**" |
		while read -r _cs_p; do [ -e "$_cs_p" ] || echo "$_cs_p"; done | head -n 3)" ""
	_cs_bad=$(check_names "$_cs_a" "$_cs_f" | head -n 5)
	expect_eq "$_cs_l: file names ,S=<size>,U=|P=…:2, in cur/, mode 0600" "$_cs_bad" ""
	if local_files "$_cs_a" "$_cs_f" | grep -q ',U='; then
		expect_eq "$_cs_l: the same UIDs" "$(local_uids "$_cs_a" "$_cs_f" | tr '\n' ' ')" \
			"$(imap uids "$_cs_sf" | tr '\n' ' ')"
	fi
}

# same_content ACCOUNT FOLDER [SERVER_FOLDER] — prints the UIDs whose local
# file differs from the server's message (CRLF → LF); nothing when all equal.
same_content() {
	rm -rf "$T/dump"
	imap dump "${3:-$2}" "$T/dump"
	for _sc_u in $(imap uids "${3:-$2}"); do
		_sc_f=$(local_file_of "$1" "$2" "$_sc_u")
		if [ -z "$_sc_f" ]; then echo "$_sc_u(missing)"
		elif ! cmp -s "$_sc_f" "$T/dump/$_sc_u"; then echo "$_sc_u"
		fi
	done | tr '\n' ' ' | sed 's/ $//'
}

# nm_files ACCOUNT [FOLDER] — the files notmuch has in that folder (a
# message's files elsewhere not counted: path: selects messages, and
# --output=files gives all their files)
nm_files() {
	nm search --output=files "path:$1/${2:-INBOX}/**" 2>/dev/null |
		grep -E "^$MAILDIR/$1/${2:-INBOX}/(cur|new)/[^/]*\$"
}

# nm_tags MSGID — the tags of a message, space separated
nm_tags() { nm search --output=tags "id:$(echo "$1" | tr -d '<>')" | tr '\n' ' ' | sed 's/ $//'; }

# dlog_mark — remembers where Dovecot's log ends; dlog_since prints what it
# logged since, once every login since has logged out (up to 5 s).
dlog_mark() { _dlog_at=$(wc -c <"$T/dovecot/dovecot.log" | tr -d ' '); }
dlog_since() {
	_dl() { tail -c +"$((_dlog_at + 1))" "$T/dovecot/dovecot.log"; }
	wait_for '[ "$(_dl | grep -c "(test).*Disconnected")" -ge "$(_dl | grep -c "Login: user=<test>")" ]' 5
	_dl
}
# bodies_fetched — messages whose body the server sent since dlog_mark
# (IMAP body_count plus POP3 retr, summed over the sessions)
bodies_fetched() {
	dlog_since | sed -n 's/.*body_count=\([0-9]*\).*/\1/p; s/.*retr=\([0-9]*\)\/.*/\1/p' |
		awk '{ n += $1 } END { print n + 0 }'
}

# psync_kill AT_FILES FOLDER_DIR ARGS... — runs paloma sync ARGS in a
# session of its own and SIGKILLs the whole session as soon as FOLDER_DIR/cur
# holds AT_FILES files or more; prints "killed N" (N files then) or
# "finished RC" when it ended first.
psync_kill() {
	"$PY" - "$@" <<'PY'
import os, signal, subprocess, sys, time
at, folder, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
p = subprocess.Popen([os.environ["PALOMA"], "-c", os.environ["CONFIG"], "sync"] + args,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
cur = os.path.join(folder, "cur")
deadline = time.time() + 300
while time.time() < deadline:
    if p.poll() is not None:
        print("finished", p.returncode)
        sys.exit(0)
    try:
        n = len(os.listdir(cur))
    except OSError:
        n = 0
    if n >= at:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        print("killed", n)
        sys.exit(0)
    time.sleep(0.003)
os.killpg(p.pid, signal.SIGKILL)
print("timeout")
PY
}

# uid_dups ACCOUNT [FOLDER] — UIDs with more than one local file
uid_dups() { local_files "$@" | sed -n 's/.*,U=\([0-9]*\):2,.*/\1/p' | dup_ids; }
