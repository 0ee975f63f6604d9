#!/usr/bin/python3
"""hostile.py - SMTP receivers that misbehave on purpose (issue #8, point 2).

    hostile.py --port PORT --pidfile FILE [--log FILE] ADDR=MODE...

Listens on each loopback ADDR (127.0.0.0/8 only), port PORT, and plays MODE
there.  Wherever a mode does not misbehave it answers like a plain server
(EHLO with PIPELINING, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES; 250 to MAIL
and RCPT; 354 to DATA), except that it never takes a message: the reply to
the final dot is "451 4.3.0 hostile server never accepts".  So whatever the
client does, its mail must stay queued.

MODES
  plain            misbehaves nowhere (but never accepts, as above)
  huge-line        the greeting is one line of 1 MiB ("220 xxx...")
  huge-noeol       the greeting is 1 MiB of "220 xxx..." with no line end,
                   then nothing
  endless          the reply to EHLO is "250-..." lines, as fast as the
                   client reads them, never a last line
  trickle          the greeting "220-" then one byte every 0.2 s, forever:
                   a line that never ends
  trickle-lines    the greeting "220-line N" lines, one every 0.3 s, forever
  no-crlf          the greeting "220 hello" with no line end, then silence
  bare-cr          replies end in CR alone
  bad-code         the greeting is "2x0 this is not a code"
  code-999         the greeting is "999 out of range"
  short-code       the greeting is "22 short"
  mixed-codes      the reply to EHLO is "250-a" then "550 b" (the code
                   changes inside a multi-line reply)
  nul              the greeting holds a NUL byte
  tls-garbage      offers STARTTLS, answers 220, then sends random bytes and
                   closes (the clear-text retry then meets the plain server)
  close-greeting   closes instead of the greeting
  close-ehlo, close-mail, close-rcpt, close-data, close-dot
                   closes on receiving that command (close-dot: on the
                   final dot, without a reply)
  close-mid-reply  the reply to MAIL is "250-" and the connection closes

The pid file is written once every address listens and removed at exit
(SIGTERM, or --lifetime seconds).  --log FILE gets one line per connection
and mode, and "<mode> closed" when the client went.
"""
import argparse
import asyncio
import ipaddress
import os
import random
import signal
import sys

LINE_1M = b"220 " + b"x" * (1 << 20) + b"\r\n"


class Hostile:
    def __init__(self, logf):
        self.logf = logf

    def log(self, text):
        if self.logf:
            self.logf.write(text + "\n")
            self.logf.flush()

    async def session(self, mode, r, w):
        self.log("%s connect" % mode)
        try:
            await self.play(mode, r, w)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError):
            pass
        finally:
            w.close()
            self.log("%s closed" % mode)

    async def silence(self, r):
        """Says nothing more; reads until the client goes (or 120 s)."""
        try:
            while await asyncio.wait_for(r.read(65536), 120):
                pass
        except asyncio.TimeoutError:
            pass

    async def play(self, mode, r, w):
        eol = b"\r" if mode == "bare-cr" else b"\r\n"
        if mode == "close-greeting":
            return
        if mode == "huge-line":
            w.write(LINE_1M)
        elif mode == "huge-noeol":
            w.write(LINE_1M[:-2])
            await w.drain()
            return await self.silence(r)
        elif mode == "trickle":
            w.write(b"220-")
            while True:
                await w.drain()
                await asyncio.sleep(0.2)
                w.write(b"x")
        elif mode == "trickle-lines":
            n = 0
            while True:
                w.write(b"220-line %d\r\n" % n)
                await w.drain()
                n += 1
                await asyncio.sleep(0.3)
        elif mode == "no-crlf":
            w.write(b"220 hello")
            await w.drain()
            return await self.silence(r)
        elif mode == "bad-code":
            w.write(b"2x0 this is not a code\r\n")
        elif mode == "code-999":
            w.write(b"999 out of range\r\n")
        elif mode == "short-code":
            w.write(b"22 short\r\n")
        elif mode == "nul":
            w.write(b"220 hello\0world\r\n")
        else:
            w.write(b"220 hostile.test ESMTP" + eol)
        await w.drain()
        data = False
        while True:
            line = await r.readline()
            if not line:
                return
            if data:
                if line != b".\r\n":
                    continue
                data = False
                if mode == "close-dot":
                    return
                w.write(b"451 4.3.0 hostile server never accepts" + eol)
                await w.drain()
                continue
            verb = line[:4].upper()
            if verb == b"STAR" and mode == "tls-garbage":
                w.write(b"220 2.0.0 go ahead\r\n")
                await w.drain()
                w.write(bytes(random.getrandbits(8) for _ in range(4096)))
                await w.drain()
                return
            if mode == "close-" + verb.decode("ascii", "replace").lower():
                return
            if verb in (b"EHLO", b"HELO"):
                if mode == "endless":
                    n = 0
                    while True:
                        w.write(b"250-endless line %d\r\n" % n)
                        n += 1
                        if n % 100 == 0:
                            await w.drain()
                if mode == "mixed-codes":
                    w.write(b"250-a\r\n550 b\r\n")
                else:
                    caps = [b"hostile.test", b"PIPELINING", b"8BITMIME", b"SMTPUTF8",
                            b"ENHANCEDSTATUSCODES"]
                    if mode == "tls-garbage":
                        caps.append(b"STARTTLS")
                    for c in caps[:-1]:
                        w.write(b"250-" + c + eol)
                    w.write(b"250 " + caps[-1] + eol)
            elif verb == b"MAIL":
                if mode == "close-mid-reply":
                    w.write(b"250-")
                    await w.drain()
                    return
                w.write(b"250 2.1.0 ok" + eol)
            elif verb == b"RCPT":
                w.write(b"250 2.1.5 ok" + eol)
            elif verb == b"DATA":
                w.write(b"354 go on" + eol)
                data = True
            elif verb == b"QUIT":
                w.write(b"221 2.0.0 bye" + eol)
                await w.drain()
                return
            else:
                w.write(b"250 2.0.0 ok" + eol)
            await w.drain()


async def main(a):
    logf = open(a.log, "a") if a.log else None
    h = Hostile(logf)
    servers = []
    for spec in a.serve:
        addr, mode = spec.split("=", 1)
        if not ipaddress.ip_address(addr).is_loopback:
            sys.exit("hostile.py: %s is not a loopback address" % addr)
        servers.append(await asyncio.start_server(
            lambda r, w, m=mode: h.session(m, r, w), addr, a.port, reuse_address=True))
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(1))
    with open(a.pidfile + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(a.pidfile + ".tmp", a.pidfile)
    try:
        await asyncio.wait_for(stop, a.lifetime)
    except asyncio.TimeoutError:
        pass
    for s in servers:
        s.close()
    os.unlink(a.pidfile)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pidfile", required=True)
    p.add_argument("--log")
    p.add_argument("--lifetime", type=float, default=600)
    p.add_argument("serve", nargs="+", metavar="ADDR=MODE")
    asyncio.run(main(p.parse_args()))
