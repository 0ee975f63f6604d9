#!/usr/bin/python3
"""imapdrop.py — a TCP proxy on loopback that misbehaves on purpose.

    imapdrop.py --listen ADDR:PORT --to ADDR:PORT [--cut BYTES] [--times N]
                [--mode close|reset|stall] [--log FILE] [--port-file FILE]

Forwards every connection to --to byte for byte (TLS passes through
untouched: the client still talks TLS to the real server).  The first N
connections (--times, default 1) are cut once the server has sent --cut
bytes to the client: `close` shuts both sides cleanly (FIN), `reset` sends
an RST (SO_LINGER 0), `stall` stops forwarding and keeps the sockets open
and silent.  Later connections pass untouched.  Without --cut nothing is
cut.  PORT 0 picks a free port, written to --port-file.  Each connection
logs one line to --log: "conn K cut after B bytes" or "conn K done S>C B".
Stop it with SIGTERM.
"""

import argparse
import select
import socket
import struct
import sys
import threading


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--to", required=True)
    ap.add_argument("--cut", type=int, default=0)
    ap.add_argument("--times", type=int, default=1)
    ap.add_argument("--mode", choices=["close", "reset", "stall"], default="close")
    ap.add_argument("--log")
    ap.add_argument("--port-file")
    a = ap.parse_args()

    lh, lp = a.listen.rsplit(":", 1)
    th, tp = a.to.rsplit(":", 1)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((lh, int(lp)))
    srv.listen(16)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % srv.getsockname()[1])
        import os
        os.rename(a.port_file + ".tmp", a.port_file)
    lock = threading.Lock()
    count = [0]
    stalled = []

    def log(line):
        if a.log:
            with lock, open(a.log, "a") as f:
                f.write(line + "\n")

    def serve(c, k):
        cut = a.cut if (a.cut and k <= a.times) else 0
        try:
            s = socket.create_connection((th, int(tp)))
        except OSError as e:
            log("conn %d connect failed: %s" % (k, e))
            c.close()
            return
        sent = 0
        try:
            while True:
                r, _, _ = select.select([c, s], [], [])
                if s in r:
                    data = s.recv(65536)
                    if not data:
                        break
                    if cut and sent + len(data) >= cut:
                        c.sendall(data[:cut - sent])
                        sent = cut
                        log("conn %d cut after %d bytes (%s)" % (k, sent, a.mode))
                        if a.mode == "stall":
                            stalled.append((c, s))
                            return
                        if a.mode == "reset":
                            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                         struct.pack("ii", 1, 0))
                        c.close()
                        s.close()
                        return
                    c.sendall(data)
                    sent += len(data)
                if c in r:
                    data = c.recv(65536)
                    if not data:
                        break
                    s.sendall(data)
        except OSError:
            pass
        log("conn %d done S>C %d" % (k, sent))
        c.close()
        s.close()

    while True:
        c, _ = srv.accept()
        with lock:
            count[0] += 1
            k = count[0]
        threading.Thread(target=serve, args=(c, k), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
