#!/usr/bin/python3
"""smtpd.py - a configurable SMTP receiver for paloma's delivery tests.

Run it with /usr/bin/python3 (Debian's python3-aiosmtpd 1.4.x); the python3
on PATH may be another build without Debian's modules.  Loopback only: it
refuses to listen on anything outside 127.0.0.0/8 and ::1.

    smtpd.py --listen 127.0.0.2:2525 --spool DIR --pidfile FILE [options]

The pid file is written (atomically) only once the socket listens, so a test
can wait for it; it is removed when the server stops (SIGTERM, SIGINT, or
--lifetime seconds, 600 by default, so a forgotten server does not live on).

SPOOL FILES.  Each accepted message becomes DIR/NNNNNN.msg (000001, 000002,
... in order of arrival; written to a dot-file and renamed, so a listing
never shows a partial file).  Line 1 is one JSON object, then a newline, then
the exact message bytes received (envelope.original_content: CRLF line ends
kept, dot-stuffing removed).  `tail -n +2 FILE` gives the message.  Keys:
  id, connection (1-based, per server), message_in_connection (1-based DATA
  transaction in that connection), peer, peer_port, ehlo (the client's
  EHLO/HELO name), esmtp (EHLO rather than HELO), tls, tls_version,
  tls_cipher (null without TLS), mail_from ("" for the null sender <>),
  mail_options (as sent, but upper-cased by aiosmtpd), body ("8BITMIME",
  "7BIT" or null when no BODY= was given), smtputf8, size (the SIZE=
  parameter as a number, or null), rcpt_tos, rcpt_options, length (bytes of
  the message), body_8bit (any byte >= 0x80 in it), received (UTC time).

DIALOGUE LOG (--log FILE).  One line per event, "cN KIND TEXT", where N is
the connection number and KIND is
  >   a command line from the client; " [pipelined]" is appended when it was
      already waiting in our input buffer when we sent the reply to the
      previous command (RFC 2920 pipelining seen on the wire);
      the end of DATA is logged as "> ." after a "* data N bytes" line
  <   a reply line we sent (cut at 200 characters)
  *   an event: connect, tls, message ID, fault, closed; "c0 * started"
      when the server starts (the log is appended to and connection
      numbers start again at 1 with each start)
e.g. `grep -c '> RSET'`, `grep '> RCPT.*\\[pipelined\\]'`, `grep -c '\\* connect'`.

STAGES (for the fault options below):
  greeting   before the 220 greeting
  ehlo       on receiving EHLO or HELO
  starttls   on receiving STARTTLS
  mail       on receiving MAIL FROM
  rcpt       on receiving RCPT TO (every one)
  data       drop/stall: just after the 354 reply; reply faults: instead of 354
  mid-data[:N]  drop/stall only: once at least N bytes (default 1) of message
             data have arrived, checked at line ends.  To make the client's
             write fail (not only its read of the reply) send more than the
             socket buffers hold, say 2 MB, and use N = 65536.
  dot        on receiving the final "." (before the reply; reply faults
             replace the reply to the message)
  rset, quit on receiving RSET / QUIT

FAULTS (apply to the first --faulty-connections N connections, all by default;
the same goes for --greeting, --broken-tls, --reject-mail, --tempfail-rcpt,
--reject-data, --tempfail-data; not for --reject-rcpt, --greylist or the
capability options):
  --drop-at STAGE          close the connection abruptly (no reply)
  --stall-at STAGE         stop answering, keep the socket open; the client
                           must time out (the server itself gives up after
                           --timeout seconds)
  --garbage [STAGE]        reply with a line that is not SMTP (default stage:
                           greeting); the dialogue then goes on normally
  --huge-reply [STAGE]     reply with one 1 MiB line ("250 xxxx...")
  --endless-multiline [STAGE]  reply "250-..." lines forever, never a last line
  --broken-tls [garbage|close|stall]  advertise STARTTLS (even without a
                           certificate), answer "220 2.0.0 Ready to start TLS",
                           then send non-TLS bytes and close (garbage, the
                           default), or close at once, or say nothing (stall)

REPLIES.  A REPLY is "CODE text", e.g. "550 5.1.1 No such user".  A literal
backslash-n ("\\n") in it makes a multi-line reply; continuation lines without
their own code get the first line's code (and enhanced code).  Replies of our
own carry enhanced status codes; aiosmtpd's built-in ones ("503 Error: need
RCPT command", "552 Error: Too much mail data", ...) get one inserted unless
--no-enhancedstatuscodes.

EXAMPLES
  smtpd.py --listen 127.0.0.2:2525 --spool s --pidfile p \\
      --reject-rcpt 'nobody@example.test=550 5.1.1 No such user'
  smtpd.py ... --greylist --greylist-state $T/grey.json
  smtpd.py ... --drop-at dot --faulty-connections 1     (the retry succeeds)
  smtpd.py ... --tls-cert c.pem --tls-key k.pem --log dialogue.log
  smtpd.py ... --tls-cert c.pem --tls-key k.pem --smtps \\
      --auth-user me --auth-password secret --require-auth   (a relay)

AUTH (a relay, RFC 4954).  --auth-user/--auth-password turn AUTH on with
one valid login; it is offered only under TLS (after STARTTLS, or at once
with --smtps).  Mechanisms: --auth-mechs, default "PLAIN LOGIN"; XOAUTH2 is
there when named (the password is then the bearer token; a wrong one gets
the 334 error challenge, then 535).  Each attempt is logged as
"cN * auth MECH USER accepted|refused"; accepted messages carry the login
in the spool key auth_user (null without AUTH).
"""

import argparse
import asyncio
import datetime
import ipaddress
import json
import logging
import os
import re
import signal
import ssl
import sys
import time

try:
    from aiosmtpd.smtp import SMTP
    import aiosmtpd
except ImportError:                                   # pragma: no cover
    sys.stderr.write("smtpd.py: aiosmtpd is missing (apt-get install "
                     "python3-aiosmtpd; run with /usr/bin/python3)\n")
    sys.exit(3)

STAGES = ("greeting", "ehlo", "starttls", "mail", "rcpt", "data", "mid-data",
          "dot", "rset", "quit")
CONN_FAULTS = ("drop", "stall")               # the connection misbehaves
REPLY_FAULTS = ("garbage", "huge", "endless")  # a reply is replaced
VERB_STAGE = {b"EHLO": "ehlo", b"HELO": "ehlo", b"STARTTLS": "starttls",
              b"MAIL": "mail", b"RCPT": "rcpt", b"DATA": "data",
              b"RSET": "rset", b"QUIT": "quit"}
REPLY_RE = re.compile(r"^[2-5]\d\d([ -].*)?$", re.S)
ENHANCED_RE = re.compile(r"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}( |$)")
# Enhanced codes for aiosmtpd's built-in replies (RFC 3463).
BUILTIN_ENHANCED = {"250": "2.0.0", "221": "2.0.0", "220": "2.0.0",
                    "252": "2.0.0", "421": "4.7.0", "454": "4.7.0",
                    "500": "5.5.2", "501": "5.5.4", "502": "5.5.1",
                    "503": "5.5.1", "530": "5.7.0", "552": "5.3.4",
                    "554": "5.7.0", "555": "5.5.4"}
TEMPFAIL_RCPT = "450 4.2.1 Mailbox temporarily unavailable"
GARBAGE = "*** garbage: this line is not an SMTP reply ***"
HUGE = 1 << 20

log = logging.getLogger("smtpd")


# --------------------------------------------------------------- options

def reply_lines(text):
    """'550 5.1.1 a\\nb' -> ['550-5.1.1 a', '550 5.1.1 b'] (see REPLIES)."""
    parts = text.split("\\n")
    code = parts[0][:3]
    m = re.match(r"^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3}) ", parts[0] + " ")
    enh = (m.group(1) + " ") if m else ""
    lines = [parts[0][4:]]
    for p in parts[1:]:
        lines.append(p[4:] if re.match(r"^\d{3}([ -]|$)", p) else enh + p)
    return [code + ("-" if i < len(lines) - 1 else " ") + t
            for i, t in enumerate(lines)]


def reply_arg(text):
    if not REPLY_RE.match(text.split("\\n")[0]):
        raise argparse.ArgumentTypeError(
            f"{text!r}: a reply is 'CODE text' with CODE 200-599")
    return "\r\n".join(reply_lines(text))


def rcpt_arg(default):
    def parse(text):
        m = re.match(r"^(.+?)=(\d{3}(?:[ -].*)?)$", text, re.S)
        addr, reply = (m.group(1), m.group(2)) if m else (text, default)
        return addr.strip("<>").lower(), reply_arg(reply)
    return parse


def stage_arg(allowed):
    def parse(text):
        name, _, n = text.partition(":")
        if name not in allowed or (n and (name != "mid-data" or not n.isdigit())):
            raise argparse.ArgumentTypeError(
                f"{text!r}: stage is one of {', '.join(allowed)}"
                + (" (mid-data[:N])" if "mid-data" in allowed else ""))
        return name, int(n or 1)
    return parse


def listen_arg(text):
    m = re.match(r"^\[([0-9a-fA-F:]+)\]:(\d+)$", text) or \
        re.match(r"^([0-9.]+):(\d+)$", text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r}: use IP:PORT or [::1]:PORT")
    host, port = m.group(1), int(m.group(2))
    if not ipaddress.ip_address(host).is_loopback:
        raise argparse.ArgumentTypeError(f"{host}: loopback addresses only")
    return host, port


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="smtpd.py", description=__doc__.split("\n")[0],
        epilog=__doc__.split("\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("server")
    g.add_argument("--listen", type=listen_arg, action="append", required=True,
                   metavar="IP:PORT", help="loopback address to listen on "
                   "(repeatable; [::1]:PORT for IPv6)")
    g.add_argument("--spool", required=True, metavar="DIR",
                   help="directory for accepted messages (created)")
    g.add_argument("--pidfile", required=True, metavar="FILE",
                   help="written once listening, removed on exit")
    g.add_argument("--log", metavar="FILE", help="dialogue log (appended)")
    g.add_argument("--hostname", default="smtpd.test",
                   help="name in the greeting and EHLO reply (smtpd.test)")
    g.add_argument("--timeout", type=float, default=300, metavar="SECS",
                   help="idle time before the server drops a client (300)")
    g.add_argument("--lifetime", type=float, default=600, metavar="SECS",
                   help="exit after this long, 0 = never (600)")
    g = p.add_argument_group("TLS")
    g.add_argument("--tls-cert", metavar="PEM", help="offer STARTTLS with "
                   "this certificate (chain) ...")
    g.add_argument("--tls-key", metavar="PEM", help="... and this key")
    g.add_argument("--require-tls", action="store_true",
                   help="530 to MAIL etc. before STARTTLS")
    g.add_argument("--smtps", action="store_true",
                   help="TLS from the first byte (implicit TLS, port 465 "
                   "style) with --tls-cert/--tls-key; no STARTTLS")
    g.add_argument("--broken-tls", nargs="?", const="garbage",
                   choices=("garbage", "close", "stall"),
                   help="fail the TLS handshake after 220 (see above)")
    g = p.add_argument_group("AUTH (see above)")
    g.add_argument("--auth-user", metavar="USER", help="the one valid login")
    g.add_argument("--auth-password", metavar="PASS", help="its password")
    g.add_argument("--auth-mechs", default="PLAIN LOGIN", metavar="LIST",
                   help="mechanisms offered (PLAIN LOGIN XOAUTH2)")
    g.add_argument("--require-auth", action="store_true",
                   help="530 to MAIL before a successful AUTH")
    g = p.add_argument_group("capabilities (EHLO)")
    g.add_argument("--no-ehlo", action="store_true",
                   help="500 to EHLO, so that the client falls back to HELO")
    g.add_argument("--no-8bitmime", action="store_true",
                   help="do not offer 8BITMIME; 555 to BODY=8BITMIME")
    g.add_argument("--no-pipelining", action="store_true",
                   help="do not offer PIPELINING (offered by default)")
    g.add_argument("--no-smtputf8", action="store_true",
                   help="do not offer SMTPUTF8; aiosmtpd then refuses the "
                   "SMTPUTF8 parameter (501) and non-ASCII commands (500)")
    g.add_argument("--no-enhancedstatuscodes", action="store_true",
                   help="do not offer ENHANCEDSTATUSCODES, leave aiosmtpd's "
                   "built-in replies as they are")
    g.add_argument("--size-limit", type=int, default=None, metavar="N",
                   help="offer SIZE N; 552 to a larger SIZE= or message "
                   "(default: aiosmtpd's 33554432; 0 = no SIZE, no limit)")
    g = p.add_argument_group("replies")
    g.add_argument("--greeting", type=reply_arg, metavar="REPLY",
                   help="greeting instead of 220; after a non-2xx greeting "
                   "every command but QUIT gets 503, after 421 we close")
    g.add_argument("--reject-mail", type=reply_arg, metavar="REPLY",
                   help="reply to MAIL FROM")
    g.add_argument("--reject-rcpt", action="append", default=[],
                   type=rcpt_arg("550 5.1.1 No such user here"),
                   metavar="ADDR[=REPLY]", help="reply to RCPT TO:<ADDR> "
                   "(case-insensitive; * = every address; repeatable; "
                   "default reply 550 5.1.1)")
    g.add_argument("--tempfail-rcpt", action="append", default=[], nargs="?",
                   const=("*", TEMPFAIL_RCPT), type=rcpt_arg(TEMPFAIL_RCPT),
                   metavar="ADDR[=REPLY]", help="like --reject-rcpt with a "
                   "450 4.2.1 reply; no ADDR = every address")
    g.add_argument("--max-rcpts", type=int, metavar="N", help="452 4.5.3 to "
                   "recipients after the N-th of a transaction")
    g.add_argument("--reject-data", type=reply_arg, metavar="REPLY",
                   help="reply to the message (after the final dot)")
    g.add_argument("--tempfail-data", nargs="?", type=reply_arg,
                   const=reply_arg("451 4.3.0 Temporary failure, try again "
                                   "later"), metavar="REPLY",
                   help="same, 451 4.3.0 by default")
    g.add_argument("--greylist", action="store_true",
                   help="451 4.7.1 to the first RCPT of each (client IP, "
                   "sender, recipient)")
    g.add_argument("--greylist-delay", type=float, default=0, metavar="SECS",
                   help="... and to retries within SECS of the first (0)")
    g.add_argument("--greylist-state", metavar="FILE",
                   help="keep greylist state in FILE (JSON) across restarts")
    g = p.add_argument_group("faults (see STAGES)")
    g.add_argument("--drop-at", action="append", default=[],
                   type=stage_arg(STAGES), metavar="STAGE")
    g.add_argument("--stall-at", action="append", default=[],
                   type=stage_arg(STAGES), metavar="STAGE")
    reply_stages = tuple(s for s in STAGES if s != "mid-data")
    for opt in ("garbage", "huge-reply", "endless-multiline"):
        g.add_argument("--" + opt, action="append", default=[], nargs="?",
                       const=("greeting", 1), type=stage_arg(reply_stages),
                       metavar="STAGE")
    g.add_argument("--faulty-connections", type=int, metavar="N",
                   help="faults apply to the first N connections only")
    a = p.parse_args(argv)
    if bool(a.tls_cert) != bool(a.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if a.require_tls and not a.tls_cert:
        p.error("--require-tls needs --tls-cert/--tls-key")
    if a.smtps and not a.tls_cert:
        p.error("--smtps needs --tls-cert/--tls-key")
    if bool(a.auth_user) != bool(a.auth_password):
        p.error("--auth-user and --auth-password go together")
    if a.require_auth and not a.auth_user:
        p.error("--require-auth needs --auth-user/--auth-password")
    a.auth_mechs = a.auth_mechs.upper().split()
    a.faults = {}
    for opt, action in (("drop_at", "drop"), ("stall_at", "stall"),
                        ("garbage", "garbage"), ("huge_reply", "huge"),
                        ("endless_multiline", "endless")):
        for stage, n in getattr(a, opt):
            if stage in a.faults:
                p.error(f"two faults at stage {stage}")
            a.faults[stage] = (action, n)
    return a


# --------------------------------------------------------------- state

class DialogueLog:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1, encoding="utf-8",
                      errors="backslashreplace") if path else None

    def __call__(self, conn, kind, text):
        if self.f:
            if len(text) > 200:
                text = text[:200] + f"... ({len(text)} characters)"
            self.f.write(f"c{conn} {kind} {text}\n")


class Spool:
    def __init__(self, path):
        self.dir = path
        os.makedirs(path, exist_ok=True)
        nums = [int(n[:6]) for n in os.listdir(path)
                if re.match(r"^\d{6}\.msg$", n)]
        self.next = max(nums, default=0) + 1

    def write(self, meta, content):
        tmp = os.path.join(self.dir, f".tmp.{os.getpid()}")
        while True:
            ident = f"{self.next:06d}"
            self.next += 1
            meta["id"] = ident
            head = json.dumps(meta, sort_keys=True, ensure_ascii=False)
            with open(tmp, "wb") as f:
                f.write(head.encode("utf-8", "surrogateescape") + b"\n")
                f.write(content)
            try:
                os.link(tmp, os.path.join(self.dir, ident + ".msg"))
            except FileExistsError:
                continue
            finally:
                os.unlink(tmp)
            return ident


class Greylist:
    def __init__(self, path, delay):
        self.path, self.delay, self.seen = path, delay, {}
        if path and os.path.exists(path):
            with open(path) as f:
                self.seen = json.load(f)

    def check(self, ip, sender, rcpt):
        """None to pass, or the 451 reply."""
        key = " ".join((ip, sender.lower(), rcpt.lower()))
        now = time.time()
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = now
            if self.path:
                with open(self.path + ".tmp", "w") as f:
                    json.dump(self.seen, f, indent=1)
                os.replace(self.path + ".tmp", self.path)
        if first is None or now - first < self.delay:
            return "451 4.7.1 Greylisted, try again later"
        return None


# --------------------------------------------------------------- hooks

class Handler:
    """aiosmtpd hooks: policy (replies) and spooling."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.spool = Spool(cfg.spool)
        self.greylist = Greylist(cfg.greylist_state, cfg.greylist_delay) \
            if cfg.greylist else None
        self.rcpt_replies = dict(cfg.reject_rcpt)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        cfg = self.cfg
        if cfg.no_ehlo:
            session.extended_smtp = False
            return ["500 5.5.1 Command not recognized: EHLO"]
        session.host_name = hostname      # a 5-argument hook must do this
        caps = [r[4:] for r in responses[1:]]
        drop = {"HELP"}
        if cfg.no_8bitmime:
            drop.add("8BITMIME")
        caps = [c for c in caps if c.split()[0] not in drop
                and (cfg.auth_user or not c.startswith("AUTH"))]
        if not cfg.no_pipelining:
            caps.append("PIPELINING")
        if not cfg.no_enhancedstatuscodes:
            caps.append("ENHANCEDSTATUSCODES")
        if cfg.broken_tls and server.faulty and "STARTTLS" not in caps:
            caps.append("STARTTLS")
        lines = [responses[0][4:]] + caps
        return [("250-" if i < len(lines) - 1 else "250 ") + t
                for i, t in enumerate(lines)]

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult
        user = auth_data.login.decode("utf-8", "replace")
        ok = (auth_data.login == self.cfg.auth_user.encode() and
              auth_data.password == self.cfg.auth_password.encode())
        server.event(f"auth {mechanism} {user} "
                     f"{'accepted' if ok else 'refused'}")
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    async def auth_XOAUTH2(self, server, args):
        import base64
        from aiosmtpd.smtp import AuthResult, LoginPassword
        try:
            raw = base64.b64decode(args[1], validate=True).decode()
            fields = dict(f.split("=", 1) for f in raw.split("\x01") if f)
            user, token = fields["user"], fields["auth"][len("Bearer "):]
        except Exception:
            await server.push("501 5.5.2 Bad XOAUTH2 initial response")
            return AuthResult(success=False, handled=True)
        res = self.authenticate(server, server.session, server.envelope,
                                "XOAUTH2", LoginPassword(user.encode(),
                                                         token.encode()))
        if not res.success:
            await server.challenge_auth(
                '{"status":"401","schemes":"bearer","scope":"mail"}')
            return AuthResult(success=False, handled=False,
                              message="535 5.7.8 Username and Password not "
                              "accepted (XOAUTH2)")
        return res

    async def handle_MAIL(self, server, session, envelope, address, options):
        if self.cfg.no_8bitmime and "BODY=8BITMIME" in options:
            return server.own("555 5.5.4 BODY=8BITMIME not supported here")
        if server.faulty and self.cfg.reject_mail:
            return server.own(self.cfg.reject_mail)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return server.own("250 2.1.0 Sender OK")

    async def handle_RCPT(self, server, session, envelope, address, options):
        key = address.lower()
        reply = self.rcpt_replies.get(key) or self.rcpt_replies.get("*")
        if not reply and server.faulty:
            temp = dict(self.cfg.tempfail_rcpt)
            reply = temp.get(key) or temp.get("*")
        if not reply and self.cfg.max_rcpts is not None \
                and len(envelope.rcpt_tos) >= self.cfg.max_rcpts:
            reply = "452 4.5.3 Too many recipients"
        if not reply and self.greylist:
            sender = "" if envelope.mail_from == "<>" else envelope.mail_from
            reply = self.greylist.check(session.peer[0], sender, address)
        if reply:
            return server.own(reply)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return server.own("250 2.1.5 Recipient OK")

    async def handle_DATA(self, server, session, envelope):
        server.transactions += 1
        if server.faulty and self.cfg.reject_data:
            return server.own(self.cfg.reject_data)
        if server.faulty and self.cfg.tempfail_data:
            return server.own(self.cfg.tempfail_data)
        opts = envelope.mail_options
        body = next((o[5:] for o in opts if o.startswith("BODY=")), None)
        size = next((o[5:] for o in opts if o.startswith("SIZE=")), None)
        sslobj = (session.ssl or {}).get("ssl_object")
        content = envelope.original_content
        meta = {
            "connection": server.conn_no,
            "message_in_connection": server.transactions,
            "peer": session.peer[0], "peer_port": session.peer[1],
            "ehlo": session.host_name, "esmtp": bool(session.extended_smtp),
            "tls": sslobj is not None,
            "tls_version": sslobj.version() if sslobj else None,
            "tls_cipher": sslobj.cipher()[0] if sslobj else None,
            "mail_from": "" if envelope.mail_from == "<>" else envelope.mail_from,
            "mail_options": opts, "body": body,
            "smtputf8": bool(envelope.smtp_utf8),
            "size": int(size) if size and size.isdigit() else None,
            "rcpt_tos": envelope.rcpt_tos,
            "auth_user": session.auth_data.login.decode("utf-8", "replace")
            if session.authenticated and session.auth_data else None,
            "rcpt_options": envelope.rcpt_options,
            "length": len(content),
            "body_8bit": any(b >= 0x80 for b in content),
            "received": datetime.datetime.now(datetime.timezone.utc)
            .strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        ident = self.spool.write(meta, content)
        server.event(f"message {ident} ({len(content)} bytes, "
                     f"{len(envelope.rcpt_tos)} recipients)")
        return server.own(f"250 2.0.0 OK queued as {ident}")


# --------------------------------------------------------------- protocol

class ReaderProxy:
    """Stands in for the protocol's StreamReader: sees every line aiosmtpd
    reads, to log it, to know the stage, and to inject drops and stalls."""

    def __init__(self, reader, smtp):
        object.__setattr__(self, "_r", reader)
        object.__setattr__(self, "_smtp", smtp)

    def __getattr__(self, name):
        return getattr(self._r, name)

    def __setattr__(self, name, value):      # aiosmtpd sets _transport
        setattr(self._r, name, value)

    async def read(self, n=-1):
        data = await self._r.read(n)
        await self._smtp.seen(data, partial=True)
        return data

    async def readline(self):
        data = await self._r.readline()
        await self._smtp.seen(data)
        return data

    async def readuntil(self, separator=b"\n"):
        data = await self._r.readuntil(separator)
        return await self._smtp.seen(data)


class TestSMTP(SMTP):
    connections = 0

    def __init__(self, handler, cfg, dlog, **kw):
        super().__init__(handler, **kw)
        self.cfg, self.dlog = cfg, dlog
        self.conn_no = None
        self.faulty = True
        self.transactions = 0
        self.stage = "greeting"
        self.in_data = False
        self.data_bytes = 0
        self.at_bol = True
        self.pipelined_next = False
        self.refusing = False        # after a non-2xx greeting
        self.muted = False           # rest of a reply replaced by a fault
        self.verbatim = False        # the reply being pushed is our own

    # -- bookkeeping
    def event(self, text):
        self.dlog(self.conn_no, "*", text)

    def own(self, reply):
        """Mark a hook's reply as ours (no enhanced code inserted)."""
        self.verbatim = True
        return reply

    def fault(self, stage, kinds):
        f = self.cfg.faults.get(stage)
        if f and f[0] in kinds and self.faulty:
            return f
        return None

    def connection_made(self, transport):
        first = self.conn_no is None
        super().connection_made(transport)
        if first:
            TestSMTP.connections += 1
            self.conn_no = TestSMTP.connections
            fc = self.cfg.faulty_connections
            self.faulty = fc is None or self.conn_no <= fc
            peer = transport.get_extra_info("peername") or ("?", 0)
            self.event(f"connect from {peer[0]} port {peer[1]}")
            if self.cfg.smtps:
                obj = transport.get_extra_info("ssl_object")
                self.session.ssl = {"ssl_object": obj}
                if obj:
                    self.event(f"tls {obj.version()} {obj.cipher()[0]} "
                               "(implicit)")
        elif self.session.ssl:
            obj = self.session.ssl.get("ssl_object")
            self.event(f"tls {obj.version()} {obj.cipher()[0]}" if obj
                       else "tls")

    def connection_lost(self, error):
        self.event("closed")
        super().connection_lost(error)

    def _client_connected_cb(self, reader, writer):
        super()._client_connected_cb(ReaderProxy(reader, self), writer)

    # -- faults
    def _raw_transport(self):
        return self._original_transport or self.transport

    async def forever(self):
        """Wait until aiosmtpd cancels us (connection lost or timed out)."""
        await self.loop.create_future()

    async def conn_fault(self, f, stage=None):
        action, _ = f
        self.event(f"fault: {action} at {stage or self.stage}")
        if action == "drop":
            t = self._raw_transport()
            if t is not None:
                t.abort()
        await self.forever()

    async def write_raw(self, data):
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (ConnectionError, RuntimeError):
            await self.forever()

    async def reply_fault(self, f, first_line):
        action, _ = f
        code = first_line[:3] if first_line[:3].isdigit() else "250"
        self.event(f"fault: {action} reply at {self.stage}")
        if action == "garbage":
            self.dlog(self.conn_no, "<", GARBAGE)
            await self.write_raw(GARBAGE.encode() + b"\r\n")
        elif action == "huge":
            self.dlog(self.conn_no, "<", f"{code} x... ({HUGE} x)")
            await self.write_raw(code.encode() + b" " + b"x" * HUGE + b"\r\n")
        else:
            self.dlog(self.conn_no, "<", f"{code}-endless multi-line ...")
            n = 0
            while self.transport is not None and \
                    not self._raw_transport().is_closing():
                chunk = "".join(f"{code}-endless multi-line reply, line {i}\r\n"
                                for i in range(n, n + 256))
                n += 256
                await self.write_raw(chunk.encode())
            await self.forever()

    # -- every line read from the client passes here
    async def seen(self, data, partial=False):
        if self.in_data:
            if self.at_bol and data == b".\r\n":
                self.in_data = False
                self.stage, self.muted, self.verbatim = "dot", False, False
                self.event(f"data {self.data_bytes} bytes")
                self.dlog(self.conn_no, ">", ".")
                f = self.fault("dot", CONN_FAULTS)
                if f:
                    await self.conn_fault(f)
                return data
            self.data_bytes += len(data)
            self.at_bol = data.endswith(b"\r\n")
            f = self.fault("mid-data", CONN_FAULTS)
            if f and self.data_bytes >= f[1]:
                await self.conn_fault(f, f"mid-data ({self.data_bytes} bytes)")
            return data
        if partial or not data.endswith(b"\n"):
            return data
        line = data.rstrip(b"\r\n")
        verb = line.split(b" ", 1)[0].upper()
        self.stage = VERB_STAGE.get(verb, verb.decode("ascii", "replace")
                                    .lower())
        self.muted, self.verbatim = False, False
        text = line.decode("utf-8", "backslashreplace")
        if self.pipelined_next:
            text += " [pipelined]"
            self.pipelined_next = False
        self.dlog(self.conn_no, ">", text)
        if self.refusing and verb != b"QUIT":
            return b"XREFUSED\r\n"
        f = self.fault(self.stage, CONN_FAULTS) if self.stage != "data" \
            else None
        if f:
            await self.conn_fault(f)
        return data

    async def smtp_XREFUSED(self, arg):
        await self.push("503 5.5.1 No service here (see the greeting)")

    # -- every reply passes here
    async def push(self, status):
        text = status if isinstance(status, str) else \
            status.decode("utf-8", "surrogateescape")
        verbatim, self.verbatim = self.verbatim, False
        is354 = self.stage == "data" and text.startswith("354")
        if not self.in_data and len(self._reader._buffer):
            self.pipelined_next = True
        if self.muted:
            return
        if self.stage == "greeting":
            f = self.fault("greeting", CONN_FAULTS)
            if f:
                await self.conn_fault(f)
            if self.faulty and self.cfg.greeting:
                text, verbatim = self.cfg.greeting, True
                self.refusing = not text.startswith("2")
        f = self.fault(self.stage, REPLY_FAULTS)
        if f:
            self.muted = True
            if is354:
                self.in_data, self.data_bytes, self.at_bol = True, 0, True
            await self.reply_fault(f, text)
            return
        lines = text.split("\r\n")
        if not verbatim and not self.cfg.no_enhancedstatuscodes and \
                self.stage not in ("greeting", "ehlo") and len(lines) == 1 \
                and not ENHANCED_RE.match(text) and text[:3] != "354":
            enh = BUILTIN_ENHANCED.get(text[:3], text[0] + ".0.0")
            text = f"{text[:3]} {enh} {text[4:]}".rstrip()
            lines = [text]
        for ln in lines:
            self.dlog(self.conn_no, "<", ln)
        await self.write_raw("".join(ln + "\r\n" for ln in lines)
                             .encode("utf-8", "surrogateescape"))
        if self.stage == "greeting" and text.startswith("421"):
            self.transport.close()
            await self.forever()
        if is354:
            if len(self._reader._buffer):
                self.event("message data arrived before the 354 reply")
            self.in_data, self.data_bytes, self.at_bol = True, 0, True
            f = self.fault("data", CONN_FAULTS)
            if f:
                await self.conn_fault(f)

    async def smtp_STARTTLS(self, arg):
        mode = self.cfg.broken_tls if self.faulty else None
        if not mode or arg:
            return await super().smtp_STARTTLS(arg)
        await self.push("220 2.0.0 Ready to start TLS")
        self.event(f"fault: broken TLS ({mode})")
        if mode == "garbage":
            await self.write_raw(b"this is not a TLS handshake\r\n" * 8)
            self.transport.close()
        elif mode == "close":
            self._raw_transport().abort()
        await self.forever()


# --------------------------------------------------------------- main

def main(argv):
    cfg = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="smtpd.py: %(name)s: %(message)s")
    os.makedirs(cfg.spool, exist_ok=True)
    tls = None
    if cfg.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cfg.tls_cert, cfg.tls_key)
    handler = Handler(cfg)
    dlog = DialogueLog(cfg.log)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    kw = dict(hostname=cfg.hostname, ident="ESMTP paloma test smtpd.py "
              f"(aiosmtpd {aiosmtpd.__version__})",
              tls_context=None if cfg.smtps else tls,
              require_starttls=cfg.require_tls,
              enable_SMTPUTF8=not cfg.no_smtputf8, decode_data=False,
              timeout=cfg.timeout, loop=loop)
    if cfg.size_limit is not None:
        kw["data_size_limit"] = cfg.size_limit or None
    if cfg.auth_user:
        kw["authenticator"] = handler.authenticate
        kw["auth_required"] = cfg.require_auth
        # under --smtps aiosmtpd does not know the connection is TLS
        kw["auth_require_tls"] = not cfg.smtps
        kw["auth_exclude_mechanism"] = [m for m in ("PLAIN", "LOGIN", "XOAUTH2")
                                        if m not in cfg.auth_mechs]
    else:
        kw["auth_exclude_mechanism"] = ["XOAUTH2"]

    def factory():
        return TestSMTP(handler, cfg, dlog, **kw)

    servers = []
    try:
        for host, port in cfg.listen:
            servers.append(loop.run_until_complete(
                loop.create_server(factory, host, port, reuse_address=True,
                                   ssl=tls if cfg.smtps else None)))
    except OSError as e:
        sys.stderr.write(f"smtpd.py: cannot listen on {host}:{port}: {e}\n")
        return 2
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    if cfg.lifetime:
        loop.call_later(cfg.lifetime, loop.stop)
    dlog(0, "*", f"started, pid {os.getpid()}, listening on " + " ".join(
        f"{h}:{p}" for h, p in cfg.listen))
    tmp = cfg.pidfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(tmp, cfg.pidfile)
    try:
        loop.run_forever()
    finally:
        try:
            os.unlink(cfg.pidfile)
        except OSError:
            pass
        for s in servers:
            s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
