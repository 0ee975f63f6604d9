# tests/delivery/lib.sh - loopback servers for the delivery tests.
#
# Source it after tests/lib.sh:
#	. "$(dirname "$0")/../lib.sh"
#	. "$(dirname "$0")/lib.sh"
# If dnsmasq or Debian's aiosmtpd (/usr/bin/python3) is missing, sourcing it
# reports the whole test file as skipped and exits 0.
#
# Only loopback addresses, ever: MX hosts are 127.0.0.2, 127.0.0.3, ... (any
# address in 127.0.0.0/8 can be bound without configuring it) or ::1, all on
# port $SMTP_PORT (2525 unless set before sourcing); dnsmasq answers on
# 127.0.0.1:$DNS_PORT, a free high port.  Every server is started and stopped
# by its own pid; at_exit stops whatever is still running.
#
# start_dns ARG...            dnsmasq for the zone .test (--local=/test/) plus
#                             ARGs (--mx-host=..., --host-record=..., ...);
#                             exports DNS_PORT; calling it again restarts it
#                             on the same port with the new ARGs
# stop_dns
# dns_query NAME [TYPE]       asks it (TYPE A, AAAA, MX, TXT, PTR, ...);
#                             prints "status NOERROR" then "TYPE data" lines
# start_smtpd NAME ADDR ARG...  tests/servers/smtpd.py on ADDR:$SMTP_PORT
#                             (ADDR: 127.0.0.x, ::1, or IP:PORT / [::1]:PORT)
#                             with spool $T/spool/NAME, dialogue log
#                             $T/smtpd-NAME.log, EHLO name NAME.test, and the
#                             ARGs (see smtpd.py --help); returns once it
#                             listens (1 with its error on stderr if not)
# stop_smtpd NAME             stops it (and waits); start it again at will
# smtpd_log NAME              prints the path of its dialogue log
# received NAME               the spool files it accepted, oldest first
# received_count NAME         how many
# msg_meta FILE KEY           a key of a spool file's JSON line (lists one
#                             item a line, true/false, null as nothing)
# msg_body FILE               the message bytes of a spool file
# make_cert NAME CN [SAN...]  self-signed $T/certs/NAME.crt + NAME.key, SAN
#                             DNS:CN (IP:CN for an address) plus the SANs
#                             given as DNS:x / IP:y
# make_ca_cert NAME CN [SAN...]  the same signed by a test CA, $T/certs/ca.crt
# wait_for CMD SECONDS        polls the shell command CMD (eval'd) every
#                             0.1 s until it succeeds; 1 on timeout
# delivery_config             prints the [delivery] lines pointing paloma at
#                             these servers: write_config "$(delivery_config)"
# need_cmd CMD...             skips the whole test file unless each CMD exists
# free_port                   prints a port free for TCP and UDP on 127.0.0.1
#
# SMTP_PORT may be set after sourcing too (start_smtpd and delivery_config
# read it when called): a test that must not collide with another run on the
# same machine can say SMTP_PORT=$(free_port) and configure paloma with
# delivery_config.

# tests/run runs every */*.sh; this file is a library, not a test.
case $0 in
*delivery/lib.sh) echo "1..0 # SKIP tests/delivery/lib.sh is a library"; exit 0 ;;
esac

PY=/usr/bin/python3
SMTPD="$TESTS_DIR/servers/smtpd.py"
DNSMASQ=$(command -v dnsmasq 2>/dev/null || echo /usr/sbin/dnsmasq)
SMTP_PORT=${SMTP_PORT:-2525}
export SMTP_PORT
unset DNS_PORT

_skip_file() {
	skip "$(basename "$0")" "$1"
	exit 0
}

need_cmd() {
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 || _skip_file "$_c is not installed"
	done
}

[ -x "$DNSMASQ" ] || _skip_file "dnsmasq is not installed (apt-get install dnsmasq)"
"$PY" -c 'import aiosmtpd.smtp' 2>/dev/null ||
	_skip_file "aiosmtpd is missing (apt-get install python3-aiosmtpd)"
command -v openssl >/dev/null 2>&1 || _skip_file "openssl is not installed"

# _alive PID - running and not a zombie
_alive() {
	[ -r "/proc/$1/stat" ] || return 1
	! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null
}

# _stop_pid PID - TERM, up to 5 s, then KILL; reaps our own children.
_stop_pid() {
	kill "$1" 2>/dev/null || return 0
	_sp_n=50
	while [ "$_sp_n" -gt 0 ] && _alive "$1"; do
		sleep 0.1
		_sp_n=$((_sp_n - 1))
	done
	_alive "$1" && kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# ---------------------------------------------------------------- DNS

# free_port - a port free for both TCP and UDP on 127.0.0.1 (20000-59999)
free_port() {
	"$PY" -c '
import socket, random
for _ in range(100):
    p = random.randint(20000, 59999)
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            s.bind(("127.0.0.1", p))
            s.close()
    except OSError:
        continue
    print(p)
    break
'
}

start_dns() {
	stop_dns
	_sd_try=0
	while :; do
		_sd_port=${DNS_PORT:-$(free_port)}
		rm -f "$T/dnsmasq.pid"
		if "$DNSMASQ" --no-resolv --no-hosts --bind-interfaces \
			--listen-address=127.0.0.1 --port="$_sd_port" \
			--local=/test/ --pid-file="$T/dnsmasq.pid" \
			"$@" 2>"$T/dnsmasq.err"; then
			break
		fi
		_sd_try=$((_sd_try + 1))
		if [ -n "${DNS_PORT:-}" ] || [ "$_sd_try" -ge 5 ] ||
			! grep -q 'in use' "$T/dnsmasq.err"; then
			echo "start_dns: dnsmasq failed: $(cat "$T/dnsmasq.err")" >&2
			return 1
		fi
	done
	DNS_PORT=$_sd_port
	export DNS_PORT
	_dns_pid=$(cat "$T/dnsmasq.pid")
	at_exit "stop_dns"
	if ! wait_for 'dns_query ready.test A >/dev/null 2>&1' 5; then
		echo "start_dns: dnsmasq does not answer on port $DNS_PORT" >&2
		return 1
	fi
}

stop_dns() {
	[ -n "${_dns_pid:-}" ] || return 0
	kill "$_dns_pid" 2>/dev/null
	# dnsmasq is not our child (it daemonises): wait for it to go
	_sd_n=50
	while [ "$_sd_n" -gt 0 ] && kill -0 "$_dns_pid" 2>/dev/null; do
		sleep 0.1
		_sd_n=$((_sd_n - 1))
	done
	_dns_pid=
}

# dns_query NAME [TYPE] - one UDP query to 127.0.0.1:$DNS_PORT (1 s timeout)
dns_query() {
	"$PY" - "$1" "${2:-A}" "${DNS_PORT:?start_dns first}" <<'PY'
import random, socket, struct, sys
name, qtype, port = sys.argv[1], sys.argv[2].upper(), int(sys.argv[3])
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15,
         "TXT": 16, "AAAA": 28, "SRV": 33, "ANY": 255}
RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]
qid = random.randint(0, 65535)
q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
for label in name.rstrip(".").split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack(">HH", TYPES[qtype], 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.sendto(q, ("127.0.0.1", port))
try:
    r, _ = s.recvfrom(65535)
except socket.timeout:
    print("timeout")
    sys.exit(1)

def dname(off):
    out, jumped, end = [], False, None
    while True:
        n = r[off]
        if n >= 0xC0:
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | r[off + 1]
            continue
        off += 1
        if n == 0:
            break
        out.append(r[off:off + n].decode("ascii", "replace"))
        off += n
    return ".".join(out), (end if end is not None else off)

rid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", r[:12])
rc = flags & 15
print("status", RCODES[rc] if rc < len(RCODES) else rc)
off = 12
for _ in range(qd):
    off = dname(off)[1] + 4
names = {v: k for k, v in TYPES.items()}
for _ in range(an):
    _, off = dname(off)
    t, _, _, ln = struct.unpack(">HHIH", r[off:off + 10])
    off += 10
    d = r[off:off + ln]
    if t == 1:
        v = socket.inet_ntop(socket.AF_INET, d)
    elif t == 28:
        v = socket.inet_ntop(socket.AF_INET6, d)
    elif t == 15:
        v = "%d %s" % (struct.unpack(">H", d[:2])[0], dname(off + 2)[0] or ".")
    elif t in (2, 5, 12):
        v = dname(off)[0]
    elif t == 16:
        parts, i = [], 0
        while i < len(d):
            parts.append(d[i + 1:i + 1 + d[i]].decode("utf-8", "replace"))
            i += 1 + d[i]
        v = "".join(parts)
    else:
        v = d.hex()
    print(names.get(t, t), v)
    off += ln
PY
}

# ---------------------------------------------------------------- SMTP

_smtpd_check_name() {
	case $1 in
	'' | *[!A-Za-z0-9_-]*) echo "smtpd: bad server name '$1'" >&2; return 1 ;;
	esac
}

start_smtpd() {
	_smtpd_check_name "$1" || return 1
	_ss_name=$1 _ss_addr=$2
	shift 2
	case $_ss_addr in
	\[*\]:* | *.*:*) _ss_listen=$_ss_addr ;;
	*:*) _ss_listen="[$_ss_addr]:$SMTP_PORT" ;;
	*) _ss_listen="$_ss_addr:$SMTP_PORT" ;;
	esac
	_ss_pidf="$T/smtpd-$_ss_name.pid"
	stop_smtpd "$_ss_name"
	rm -f "$_ss_pidf"
	mkdir -p "$T/spool/$_ss_name"
	"$PY" "$SMTPD" --listen "$_ss_listen" --spool "$T/spool/$_ss_name" \
		--pidfile "$_ss_pidf" --log "$T/smtpd-$_ss_name.log" \
		--hostname "$_ss_name.test" "$@" \
		</dev/null >>"$T/smtpd-$_ss_name.err" 2>&1 &
	_ss_pid=$!
	eval "_smtpd_pid_$(echo "$_ss_name" | tr - _)=$_ss_pid"
	at_exit "stop_smtpd $_ss_name"
	if ! wait_for "[ -s '$_ss_pidf' ] || ! _alive $_ss_pid" 10 ||
		! [ -s "$_ss_pidf" ]; then
		echo "start_smtpd $_ss_name ($_ss_listen) failed:" >&2
		cat "$T/smtpd-$_ss_name.err" >&2
		return 1
	fi
}

stop_smtpd() {
	_smtpd_check_name "$1" || return 1
	eval "_st_pid=\${_smtpd_pid_$(echo "$1" | tr - _):-}"
	[ -n "$_st_pid" ] || return 0
	_stop_pid "$_st_pid"
	eval "_smtpd_pid_$(echo "$1" | tr - _)="
}

smtpd_log() { echo "$T/smtpd-$1.log"; }

received() {
	for _r in "$T/spool/$1"/*.msg; do
		[ -f "$_r" ] && echo "$_r"
	done
	return 0
}

received_count() { received "$1" | wc -l | tr -d ' '; }

msg_meta() {
	"$PY" -c '
import json, sys
with open(sys.argv[1], "rb") as f:
    v = json.loads(f.readline().decode("utf-8", "surrogateescape")).get(sys.argv[2])
for x in (v if isinstance(v, list) else [v]):
    if x is not None:
        print(json.dumps(x) if isinstance(x, bool) else x)
' "$1" "$2"
}

msg_body() { tail -n +2 "$1"; }

# ---------------------------------------------------------------- TLS

_san_list() {		# CN SAN... -> subjectAltName value
	case $1 in
	*[!0-9.]* ) case $1 in *:*) _sl="IP:$1" ;; *) _sl="DNS:$1" ;; esac ;;
	*) _sl="IP:$1" ;;
	esac
	shift
	for _s in "$@"; do _sl="$_sl,$_s"; done
	echo "$_sl"
}

make_cert() {
	_mc_name=$1 _mc_cn=$2
	shift 2
	mkdir -p "$T/certs"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$_mc_cn" \
		-addext "subjectAltName=$(_san_list "$_mc_cn" "$@")" \
		-keyout "$T/certs/$_mc_name.key" -out "$T/certs/$_mc_name.crt" \
		2>"$T/certs/$_mc_name.err" ||
		{ cat "$T/certs/$_mc_name.err" >&2; return 1; }
}

make_ca_cert() {
	_mc_name=$1 _mc_cn=$2
	shift 2
	mkdir -p "$T/certs"
	if [ ! -f "$T/certs/ca.crt" ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
			-subj "/CN=paloma test CA" \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign \
			-keyout "$T/certs/ca.key" -out "$T/certs/ca.crt" \
			2>"$T/certs/ca.err" || { cat "$T/certs/ca.err" >&2; return 1; }
	fi
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' \
		"$(_san_list "$_mc_cn" "$@")" >"$T/certs/$_mc_name.ext"
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$_mc_cn" \
		-keyout "$T/certs/$_mc_name.key" -out "$T/certs/$_mc_name.csr" \
		2>"$T/certs/$_mc_name.err" &&
	openssl x509 -req -days 2 -in "$T/certs/$_mc_name.csr" \
		-CA "$T/certs/ca.crt" -CAkey "$T/certs/ca.key" -CAcreateserial \
		-extfile "$T/certs/$_mc_name.ext" -out "$T/certs/$_mc_name.crt" \
		2>>"$T/certs/$_mc_name.err" ||
		{ cat "$T/certs/$_mc_name.err" >&2; return 1; }
}

# ---------------------------------------------------------------- paloma

# last_log RCPT — the delivery log's last line about RCPT.
last_log() { grep -F "rcpt=<$1>" "$XDG_STATE_HOME/paloma/delivery.log" | tail -n 1; }
# rcpt_policy ID RCPT — the Tls-Policy of a recipient in a queued entry.
rcpt_policy() {
	awk -v r="Recipient: <$2>" '$0 == r { on = 1; next } /^Recipient: / { on = 0 }
		on && /^Tls-Policy: / { print $2 }' "$QUEUE/entries/$1/envelope"
}

delivery_config() {
	echo "dns_servers = 127.0.0.1:${DNS_PORT:?start_dns first}"
	echo "smtp_port = $SMTP_PORT"
}
