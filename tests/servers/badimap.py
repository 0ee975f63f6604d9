#!/usr/bin/python3
"""badimap.py - an IMAP and a POP3 server that break on demand (issue #8,
point 2), for tests/sync/hostile.sh.

    badimap.py --imap-port P --pop3-port Q --mode-file FILE --pidfile FILE

Clear text on 127.0.0.1 (the account says tls = none), any user and
password.  The mailbox holds one message, UID 1 (UIDVALIDITY 7), POP3 UIDL
"uid1"; while a fault is set it holds a second one too (UID 2, "uid2"), so
that there is a body to fetch.  The mode is read from --mode-file at each
connection (empty or "none": behave), so a test switches it between runs.
A mode is STAGE:FAULT.

IMAP stages: greeting, login, list, select, fetch (a UID FETCH without a
body), body (a UID FETCH of BODY[]); POP3 stages: greeting, auth (USER and
PASS), uidl, list, retr.  FAULT:
  garbage    a line that is not the protocol ("\\x01garbage )( {")
  bad        IMAP: a tagged reply with no valid status ("TAG MAYBE");
             POP3: "+OK" followed by list lines that make no sense
  close      the connection closes instead of the reply
  literal    IMAP: the reply announces a literal of 2 GiB
             ("{2147483648}"), sends 64 kB of it and closes;
             POP3: "+OK 2147483648 octets" then 64 kB and a close
  flood      the reply never ends: untagged lines (IMAP) or "+OK" and list
             lines (POP3), 64 MiB at most, then a close
  longline   one line of 64 MiB without an end, then a close
  trickle    the reply ("* OK still here", "+OK" and list lines) one byte
             every 0.5 s, so that no wait is long, for 100 s, then a close
The mode "tls:trickle" offers STARTTLS (IMAP; STLS for POP3), accepts it,
then sends the start of a TLS record announcing 16 kB one byte every 0.5 s
for 100 s: a handshake that never ends, each wait short.
The mode "big:N" is no fault: the second message is one of N MiB, with
its true size announced (RFC822.SIZE, LIST), to show that a large honest
message is not taken for a flood.  Nor is "slow:N": the second message is
one of N KiB sent in pieces of 8 KiB every 0.25 s (32 KiB/s), to show
that a slow honest link is not taken for a trickle.
--log FILE gets one line per connection and command.
"""
import argparse
import os
import signal
import socket
import socketserver
import sys
import threading
import time

MSG = (b"From: a@example.test\r\nTo: test@example.test\r\nSubject: the one message\r\n"
       b"Message-ID: <one@example.test>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n"
       b"Hello.\r\n")
MSG2 = MSG.replace(b"one@", b"two@").replace(b"the one", b"the other")


def big(mib):
    head = (b"From: a@example.test\r\nTo: test@example.test\r\nSubject: big\r\n"
            b"Message-ID: <big@example.test>\r\n\r\n")
    line = b"x" * 76 + b"\r\n"
    return head + line * ((mib << 20) // len(line))


def slow(kib):
    head = (b"From: a@example.test\r\nTo: test@example.test\r\nSubject: slow\r\n"
            b"Message-ID: <slow@example.test>\r\n\r\n")
    line = b"y" * 76 + b"\r\n"
    return head + line * ((kib << 10) // len(line))


CAP = 64 << 20
ARGS = None


def mode():
    try:
        m = open(ARGS.mode_file).read().strip()
    except OSError:
        m = ""
    return ("", "") if m in ("", "none") else tuple(m.split(":", 1))


def log(text):
    if ARGS.log:
        with open(ARGS.log, "a") as f:
            f.write(text + "\n")


class Base(socketserver.StreamRequestHandler):
    def send(self, b):
        if self.stage == "slow" and len(b) > 8192:
            for i in range(0, len(b), 8192):
                self.wfile.write(b[i:i + 8192])
                self.wfile.flush()
                time.sleep(0.25)
            return
        self.wfile.write(b)
        self.wfile.flush()

    def fault(self, fault, tag=b"*"):
        """Plays the fault; False when the connection must end."""
        if fault == "close":
            return False
        if fault == "garbage":
            self.send(b"\x01garbage )( {\r\n")
            return True
        if fault == "longline":
            chunk = b"x" * 65536
            for _ in range(CAP // len(chunk)):
                self.send(chunk)
            return False
        if fault == "flood":
            line = self.flood_line()
            self.send(self.flood_head())
            n = 0
            while n < CAP:
                self.send(line * 256)
                n += len(line) * 256
            return False
        if fault == "trickle":
            reply = self.flood_head() + self.flood_line() * 100
            for i in range(200):
                self.send(reply[i:i + 1])
                time.sleep(0.5)
            return False
        if fault == "literal":
            self.send(self.literal_head(tag))
            self.send(b"y" * 65536)
            return False
        return self.bad(tag)

    def tls_trickle(self):
        """A TLS handshake record header (16 kB to come), then its bytes
        one every 0.5 s."""
        self.send(b"\x16\x03\x03\x40\x00")
        for _ in range(200):
            time.sleep(0.5)
            self.send(b"\x02")

    def handle(self):
        self.stage, self.how = mode()
        self.n = 2 if self.stage else 1
        self.msgs = (MSG, big(int(self.how)) if self.stage == "big" else
                     slow(int(self.how)) if self.stage == "slow" else MSG2)
        log("%s connect %s:%s" % (self.proto, self.stage, self.how))
        try:
            self.session()
        except (ConnectionError, BrokenPipeError, OSError):
            pass
        log("%s closed" % self.proto)


class Imap(Base):
    proto = "imap"

    def flood_line(self):
        return b"* OK still here\r\n"

    def flood_head(self):
        return b""

    def literal_head(self, tag):
        return b"* 1 FETCH (UID 1 BODY[] {2147483648}\r\n"

    def bad(self, tag):
        self.send(tag + b" MAYBE\r\n")
        return True

    def at(self, stage, tag):
        """Faults at STAGE: None to go on normally, else whether to go on."""
        if self.stage != stage:
            return None
        return self.fault(self.how, tag)

    def session(self):
        r = self.at("greeting", b"*")
        if r is False:
            return
        if r is None:
            self.send(b"* OK [CAPABILITY IMAP4rev1 UIDPLUS%s] fake ready\r\n" %
                      (b" STARTTLS" if self.stage == "tls" else b""))
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            parts = line.rstrip(b"\r\n").split(b" ")
            tag, verb = parts[0], (parts[1] if len(parts) > 1 else b"").upper()
            args = b" ".join(parts[2:]).upper()
            log("imap > %s" % line.rstrip(b"\r\n").decode("ascii", "replace")[:80])
            stage = {b"LOGIN": "login", b"AUTHENTICATE": "login", b"LIST": "list",
                     b"SELECT": "select", b"EXAMINE": "select"}.get(verb)
            if verb == b"UID" and args.startswith(b"FETCH"):
                stage = "body" if b"BODY" in args or b"RFC822 " in args + b" " else "fetch"
            r = self.at(stage, tag) if stage else None
            if r is False:
                return
            if r is True:
                continue
            if verb == b"CAPABILITY":
                self.send(b"* CAPABILITY IMAP4rev1 UIDPLUS%s\r\n" %
                          (b" STARTTLS" if self.stage == "tls" else b""))
            elif verb == b"STARTTLS" and self.stage == "tls":
                self.send(tag + b" OK begin TLS\r\n")
                self.tls_trickle()
                return
            elif verb == b"LIST":
                self.send(b'* LIST (\\HasNoChildren) "/" INBOX\r\n')
            elif verb in (b"SELECT", b"EXAMINE"):
                self.send(b"* %d EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen)\r\n"
                          b"* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT %d] ok\r\n"
                          % (self.n, self.n + 1))
            elif verb == b"STATUS":
                self.send(b"* STATUS INBOX (MESSAGES %d UIDNEXT %d UIDVALIDITY 7 UNSEEN 0)\r\n"
                          % (self.n, self.n + 1))
            elif verb == b"UID" and args.startswith(b"SEARCH"):
                self.send(b"* SEARCH 1 2\r\n" if self.n == 2 else b"* SEARCH 1\r\n")
            elif verb == b"UID" and args.startswith(b"FETCH"):
                for k, m in list(enumerate(self.msgs, 1))[:self.n]:
                    if stage == "body":
                        self.send(b"* %d FETCH (UID %d FLAGS () BODY[] {%d}\r\n"
                                  % (k, k, len(m)) + m + b")\r\n")
                    else:
                        self.send(b"* %d FETCH (UID %d FLAGS () RFC822.SIZE %d)\r\n"
                                  % (k, k, len(m)))
            elif verb == b"LOGOUT":
                self.send(b"* BYE bye\r\n" + tag + b" OK bye\r\n")
                return
            self.send(tag + b" OK done\r\n")


class Pop3(Base):
    proto = "pop3"

    def flood_line(self):
        return b"1 uid1\r\n"

    def flood_head(self):
        return b"+OK\r\n"

    def literal_head(self, tag):
        return b"+OK 2147483648 octets\r\n"

    def bad(self, tag):
        self.send(b"+OK\r\nnot a number\r\n-1 -1\r\n.\r\n")
        return True

    def session(self):
        if self.stage == "greeting":
            if not self.fault(self.how):
                return
        else:
            self.send(b"+OK fake POP3 ready\r\n")
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            verb = line.split(b" ")[0].strip().upper()
            log("pop3 > %s" % verb.decode("ascii", "replace"))
            stage = {b"USER": "auth", b"PASS": "auth", b"UIDL": "uidl", b"LIST": "list",
                     b"RETR": "retr"}.get(verb)
            if stage and stage == self.stage:
                if not self.fault(self.how):
                    return
                continue
            if verb == b"CAPA":
                self.send(b"+OK\r\nUSER\r\nUIDL\r\n%s.\r\n" %
                          (b"STLS\r\n" if self.stage == "tls" else b""))
            elif verb == b"STLS" and self.stage == "tls":
                self.send(b"+OK begin TLS\r\n")
                self.tls_trickle()
                return
            elif verb == b"STAT":
                self.send(b"+OK %d %d\r\n" % (self.n, sum(map(len, self.msgs[:self.n]))))
            elif verb == b"UIDL":
                self.send(b"+OK\r\n" + b"".join(b"%d uid%d\r\n" % (k, k)
                                                 for k in range(1, self.n + 1)) + b".\r\n")
            elif verb == b"LIST":
                self.send(b"+OK\r\n" + b"".join(b"%d %d\r\n" % (k, len(self.msgs[k - 1]))
                                                 for k in range(1, self.n + 1)) + b".\r\n")
            elif verb == b"RETR":
                m = self.msgs[1] if line.split()[1:2] == [b"2"] else MSG
                self.send(b"+OK %d octets\r\n" % len(m) +
                          m.replace(b"\r\n.", b"\r\n..") + b".\r\n")
            elif verb == b"QUIT":
                self.send(b"+OK bye\r\n")
                return
            else:
                self.send(b"+OK\r\n")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--imap-port", type=int, required=True)
    p.add_argument("--pop3-port", type=int, required=True)
    p.add_argument("--mode-file", required=True)
    p.add_argument("--pidfile", required=True)
    p.add_argument("--log")
    p.add_argument("--lifetime", type=float, default=600)
    ARGS = p.parse_args()
    servers = [Server(("127.0.0.1", ARGS.imap_port), Imap),
               Server(("127.0.0.1", ARGS.pop3_port), Pop3)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(ARGS.pidfile + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(ARGS.pidfile + ".tmp", ARGS.pidfile)
    try:
        threading.Event().wait(ARGS.lifetime)
    finally:
        os.unlink(ARGS.pidfile)


if __name__ == "__main__":
    main()
