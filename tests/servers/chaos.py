#!/usr/bin/python3
"""chaos.py - SMTP receivers that answer at random, for the crash torture.

    chaos.py --port PORT --domains N --spool DIR --pidfile FILE [--seed S]
             [--fault-rate F] [--stall SECS] [--lifetime SECS]

One process listens on 127.0.1.1 ... 127.0.1.N, port PORT: the mail
exchanger of d1.test ... dN.test.  Loopback only, by construction.  Each
connection draws its fate step by step: the greeting, the reply to MAIL, to
each RCPT, to DATA and to the final dot may each be a 4xx, a 5xx, an abrupt
close or a stall (no reply; the connection is kept until the client goes).
--fault-rate scales every probability (1 is the default mix, 0 accepts
everything).  Whatever the client does, nothing is kept unless "250" is
the reply to the final dot.

SPOOL.  A message accepted by the server for dK.test is written to
DIR/dK/NNNNNN.msg (a dot-file renamed into place, before the 250 is sent, as
a real server commits before it answers).  Line 1 is a JSON object:
mail_from, rcpt_tos (the recipients this transaction accepted), received
(Unix time, a float), connection (per-process number); then the message
bytes exactly as received, dot-stuffing removed.

DIR/open holds the number of connections open now (rewritten atomically at
each change), so that a driver can wait until the receivers are idle.
DIR/counts.json, at exit, the number of each fate drawn.
"""
import argparse
import asyncio
import collections
import json
import os
import random
import signal
import sys
import time

# Probabilities at --fault-rate 1, per step; "ok" takes the rest.
FATES = {
    "greeting": {"421": 0.03, "554": 0.005, "drop": 0.02, "stall": 0.01},
    "mail": {"451": 0.03, "550": 0.005, "drop": 0.02, "stall": 0.01},
    "rcpt": {"451": 0.08, "550": 0.02, "drop": 0.02, "stall": 0.01},
    "data": {"451": 0.03, "554": 0.005, "drop": 0.02, "stall": 0.01},
    "dot": {"451": 0.05, "554": 0.01, "drop": 0.03, "stall": 0.02},
}
REPLY = {
    "greeting": {"421": b"421 4.3.2 busy, come back later\r\n",
                 "554": b"554 5.3.0 no service here\r\n"},
    "mail": {"451": b"451 4.3.0 try again later\r\n",
             "550": b"550 5.7.1 sender refused\r\n"},
    "rcpt": {"451": b"451 4.2.1 mailbox busy\r\n",
             "550": b"550 5.1.1 no such user\r\n"},
    "data": {"451": b"451 4.3.0 not now\r\n",
             "554": b"554 5.3.0 no data today\r\n"},
    "dot": {"451": b"451 4.3.0 lost it, send again\r\n",
            "554": b"554 5.6.0 content refused\r\n"},
}


class Chaos:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.open = 0
        self.conn = 0
        self.seq = collections.Counter()
        self.counts = collections.Counter()
        for k in range(1, a.domains + 1):
            os.makedirs(os.path.join(a.spool, "d%d" % k), exist_ok=True)
        self.publish_open()

    def publish_open(self):
        tmp = os.path.join(self.a.spool, ".open.tmp")
        with open(tmp, "w") as f:
            f.write("%d\n" % self.open)
        os.rename(tmp, os.path.join(self.a.spool, "open"))

    def fate(self, step):
        x = self.rng.random() / max(self.a.fault_rate, 1e-9)
        for name, p in FATES[step].items():
            if x < p:
                self.counts[step + ":" + name] += 1
                return name
            x -= p
        self.counts[step + ":ok"] += 1
        return "ok"

    def save(self, dom, mail_from, rcpts, data, conn):
        self.seq[dom] += 1
        d = os.path.join(self.a.spool, "d%d" % dom)
        name = "%06d.msg" % self.seq[dom]
        meta = {"mail_from": mail_from, "rcpt_tos": rcpts, "received": time.time(),
                "connection": conn}
        tmp = os.path.join(d, "." + name)
        with open(tmp, "wb") as f:
            f.write(json.dumps(meta).encode() + b"\n" + data)
        os.rename(tmp, os.path.join(d, name))

    async def session(self, dom, r, w):
        self.conn += 1
        conn = self.conn
        self.open += 1
        self.publish_open()
        try:
            await self.dialogue(dom, conn, r, w)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError):
            pass
        finally:
            w.close()
            self.open -= 1
            self.publish_open()

    async def stall(self, r):
        """No more replies: read and ignore until the client goes."""
        deadline = time.time() + self.a.stall
        while time.time() < deadline:
            try:
                b = await asyncio.wait_for(r.read(65536), deadline - time.time())
            except asyncio.TimeoutError:
                return
            if not b:
                return

    async def faulted(self, step, fate, r, w):
        """Acts out a bad fate; True when the connection is finished."""
        if fate == "drop":
            return True
        if fate == "stall":
            await self.stall(r)
            return True
        w.write(REPLY[step][fate])
        await w.drain()
        return step == "greeting"

    async def dialogue(self, dom, conn, r, w):
        f = self.fate("greeting")
        if f != "ok":
            await self.faulted("greeting", f, r, w)
            return
        w.write(b"220 mx.d%d.test chaos ESMTP\r\n" % dom)
        mail_from, rcpts = None, []
        while True:
            line = await r.readline()
            if not line:
                return
            cmd = line.rstrip(b"\r\n")
            verb = cmd[:4].upper()
            if verb == b"EHLO":
                w.write(b"250-mx.d%d.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                        b"250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n" % dom)
            elif verb == b"HELO":
                w.write(b"250 mx.d%d.test\r\n" % dom)
            elif verb == b"MAIL":
                f = self.fate("mail")
                if f != "ok":
                    if await self.faulted("mail", f, r, w):
                        return
                    continue
                mail_from = cmd[10:].split(b">")[0].lstrip(b" <").decode("utf-8", "replace")
                rcpts = []
                w.write(b"250 2.1.0 ok\r\n")
            elif verb == b"RCPT":
                if mail_from is None:
                    w.write(b"503 5.5.1 MAIL first\r\n")
                    continue
                f = self.fate("rcpt")
                if f != "ok":
                    if await self.faulted("rcpt", f, r, w):
                        return
                    continue
                rcpts.append(cmd[8:].split(b">")[0].lstrip(b" <").decode("utf-8", "replace"))
                w.write(b"250 2.1.5 ok\r\n")
            elif verb == b"DATA":
                if not rcpts:
                    w.write(b"554 5.5.1 no valid recipients\r\n")
                    mail_from = None
                    continue
                f = self.fate("data")
                if f != "ok":
                    if await self.faulted("data", f, r, w):
                        return
                    mail_from, rcpts = None, []
                    continue
                w.write(b"354 go ahead\r\n")
                await w.drain()
                data = bytearray()
                while True:
                    l = await r.readline()
                    if not l:
                        return
                    if l == b".\r\n":
                        break
                    data += l[1:] if l.startswith(b".") else l
                f = self.fate("dot")
                if f != "ok":
                    if await self.faulted("dot", f, r, w):
                        return
                else:
                    self.save(dom, mail_from, rcpts, bytes(data), conn)
                    w.write(b"250 2.0.0 ok: queued as c%dm%d\r\n" % (conn, self.seq[dom]))
                mail_from, rcpts = None, []
            elif verb == b"RSET":
                mail_from, rcpts = None, []
                w.write(b"250 2.0.0 ok\r\n")
            elif verb == b"NOOP":
                w.write(b"250 2.0.0 ok\r\n")
            elif verb == b"QUIT":
                w.write(b"221 2.0.0 bye\r\n")
                await w.drain()
                return
            else:
                w.write(b"500 5.5.2 what?\r\n")
            await w.drain()


async def main(a):
    ch = Chaos(a)
    servers = []
    for k in range(1, a.domains + 1):
        s = await asyncio.start_server(lambda r, w, k=k: ch.session(k, r, w),
                                       "127.0.1.%d" % k, a.port, reuse_address=True,
                                       limit=1 << 20)
        servers.append(s)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(1))
    tmp = a.pidfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(tmp, a.pidfile)
    try:
        await asyncio.wait_for(stop, a.lifetime)
    except asyncio.TimeoutError:
        pass
    for s in servers:
        s.close()
    with open(os.path.join(a.spool, "counts.json"), "w") as f:
        json.dump(ch.counts, f, sort_keys=True)
    os.unlink(a.pidfile)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--domains", type=int, required=True)
    p.add_argument("--spool", required=True)
    p.add_argument("--pidfile", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--fault-rate", type=float, default=1.0)
    p.add_argument("--stall", type=float, default=30, help="longest stall (s)")
    p.add_argument("--lifetime", type=float, default=3600)
    a = p.parse_args()
    if not 1 <= a.domains <= 250:
        sys.exit("chaos.py: --domains must be 1 to 250")
    asyncio.run(main(a))
