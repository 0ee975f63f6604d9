#!/usr/bin/python3
"""baddns.py - a DNS server that answers badly on purpose (issue #8, point 2).

    baddns.py --port PORT --pidfile FILE [--self-name NAME]

UDP only, on 127.0.0.1 (nothing listens on TCP: a client that retries over
TCP after a truncated answer meets a refused connection).  The answer
depends on the first label of the name asked, so that one server plays
every case (any question type):

  tc.*         header with TC (truncated) set and no records
  short.*      the first 7 bytes of a header, nothing more
  garbage.*    200 random bytes
  badcount.*   claims 5 answers, holds none
  badrdlen.*   an MX record whose length runs past the end of the packet
  ptrloop.*    an MX record whose exchange name is a compression pointer to
               itself
  huge.*       2,000 MX records (about 50 kB) in one UDP answer
  servfail.*   SERVFAIL
  wrongid.*    an answer with another query id (never the real one)
  silent.*     no answer at all
  loopback.*   MX 10 lo.<name>; A of lo.* is 127.0.0.1 (an MX pointing
               at this machine's loopback)
  self.*       MX 10 NAME (--self-name: the sender's own host name); A of
               NAME is 127.0.0.1
  mx*.*        (the hosts of huge.*) NXDOMAIN
  good.*       a sound answer among the bad ones: MX 10 goodmx.<name>, whose
               A is --good-ip (default 127.0.2.1)
Anything else: NXDOMAIN.  The pid file is written once the socket is bound
and removed at exit (SIGTERM, or --lifetime seconds).
"""
import argparse
import os
import random
import signal
import socket
import struct
import sys
import time


def qname(pkt):
    """(labels, offset after the question) of a query."""
    off, labels = 12, []
    while pkt[off]:
        n = pkt[off]
        labels.append(pkt[off + 1:off + 1 + n].decode("ascii", "replace").lower())
        off += 1 + n
    return labels, off + 5


def name(s):
    out = b""
    for label in s.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(qid, flags, an=0, qd=1):
    return struct.pack(">HHHHHH", qid, flags, qd, an, 0, 0)


def rr(typ, data, ttl=60):
    # the owner is the question's name (a pointer to offset 12)
    return b"\xc0\x0c" + struct.pack(">HHIH", typ, 1, ttl, len(data)) + data


def answer(pkt, self_name, good_ip):
    qid = struct.unpack(">H", pkt[:2])[0]
    labels, qend = qname(pkt)
    q = pkt[12:qend]
    qtype = struct.unpack(">H", pkt[qend - 4:qend - 2])[0]
    first = labels[0] if labels else ""
    full = ".".join(labels)
    ok = 0x8180		# response, RD, RA, NOERROR
    nx = 0x8183
    if first == "tc":
        return header(qid, ok | 0x0200) + q
    if first == "short":
        return header(qid, ok)[:7]
    if first == "garbage":
        return bytes(random.getrandbits(8) for _ in range(200))
    if first == "badcount":
        return header(qid, ok, an=5) + q
    if first == "badrdlen":
        return header(qid, ok, an=1) + q + b"\xc0\x0c" + struct.pack(">HHIH", 15, 1, 60, 900) + b"\0\x0a"
    if first == "ptrloop" and qtype == 15:
        at = 12 + len(q) + 12 + 2	# where the exchange name starts
        return header(qid, ok, an=1) + q + rr(15, b"\0\x0a" + struct.pack(">H", 0xc000 | at))
    if first == "huge" and qtype == 15:
        recs = b"".join(rr(15, struct.pack(">H", 10) + name("mx%d.huge.test" % i))
                        for i in range(2000))
        return header(qid, ok, an=2000) + q + recs
    if first == "servfail":
        return header(qid, 0x8182) + q
    if first == "wrongid":
        return header(qid ^ 0x5a5a, ok) + q
    if first == "silent":
        return None
    if first == "loopback" and qtype == 15:
        return header(qid, ok, an=1) + q + rr(15, b"\0\x0a" + name("lo." + full))
    if first == "lo" and qtype == 1:
        return header(qid, ok, an=1) + q + rr(1, socket.inet_aton("127.0.0.1"))
    if first == "good" and qtype == 15:
        return header(qid, ok, an=1) + q + rr(15, b"\0\x0a" + name("goodmx." + full))
    if first == "goodmx" and qtype == 1:
        return header(qid, ok, an=1) + q + rr(1, socket.inet_aton(good_ip))
    if first in ("good", "goodmx"):
        return header(qid, ok) + q	# NODATA for the other types
    if first == "self" and qtype == 15:
        return header(qid, ok, an=1) + q + rr(15, b"\0\x0a" + name(self_name))
    if full == self_name.lower().rstrip(".") and qtype == 1:
        return header(qid, ok, an=1) + q + rr(1, socket.inet_aton("127.0.0.1"))
    if first in ("loopback", "lo", "self") or full == self_name.lower().rstrip("."):
        return header(qid, ok) + q	# NODATA for the other types
    return header(qid, nx) + q


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pidfile", required=True)
    p.add_argument("--self-name", default="mail.example.org")
    p.add_argument("--good-ip", default="127.0.2.1")
    p.add_argument("--lifetime", type=float, default=600)
    a = p.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    s.bind(("127.0.0.1", a.port))
    s.settimeout(1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(a.pidfile + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(a.pidfile + ".tmp", a.pidfile)
    end = time.time() + a.lifetime
    try:
        while time.time() < end:
            try:
                pkt, peer = s.recvfrom(65535)
            except socket.timeout:
                continue
            try:
                r = answer(pkt, a.self_name, a.good_ip)
            except (IndexError, struct.error):
                continue	# not a query we can read: no answer
            if r is not None:
                s.sendto(r, peer)
    finally:
        os.unlink(a.pidfile)


if __name__ == "__main__":
    main()
