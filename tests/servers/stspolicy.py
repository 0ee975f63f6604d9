#!/usr/bin/python3
"""stspolicy.py - an HTTPS server for MTA-STS policies (RFC 8461 3.3), for
paloma's tests.  Loopback only: it refuses any address outside 127.0.0.0/8
and ::1.

    stspolicy.py --listen 127.0.0.5:0 --cert C --key K --policy FILE \\
                 --pidfile P --portfile F [--log L] [misbehaviour]

It answers GET /.well-known/mta-sts.txt with the contents of FILE, read at
each request (so a test may change it between fetches), as text/plain, and
404 for any other path.  Port 0 picks a free port; the port is written to
--portfile, then the pid to --pidfile (each atomically, the pid file last,
once the socket listens), so a test waits for the pid file.  The pid file is
removed when the server stops (SIGTERM, SIGINT, or after --lifetime
seconds, 600 by default).

LOG (--log FILE): one line per request, "METHOD PATH STATUS host=HOST", the
Host header as sent; `grep -c '^GET '` counts fetches.

MISBEHAVIOUR (for the fetcher's error paths):
  --redirect URL        302 to URL instead of the policy
  --status N            answer with status N (e.g. 404, 500), the policy as body
  --content-type TYPE   send the policy with this Content-Type
  --huge N              append "pad: xxx..." lines to the policy until it is
                        N bytes (a valid policy but for its size)
  --no-length           no Content-Length: the body ends when the connection
                        closes (HTTP/1.0)
  --slow SECONDS        send the header, then wait SECONDS before the body
"""

import argparse
import ipaddress
import os
import signal
import socket
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WELL_KNOWN = "/.well-known/mta-sts.txt"


def loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen_arg(text):
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    else:
        host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: use IP:PORT or [::1]:PORT")
    if not loopback(host):
        raise argparse.ArgumentTypeError(f"{host}: loopback addresses only")
    return host, int(port)


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def body_for(cfg):
    with open(cfg.policy, "rb") as f:
        data = f.read()
    if cfg.huge:
        if data and not data.endswith(b"\n"):
            data += b"\n"
        line = b"pad: " + b"x" * 70 + b"\n"
        while len(data) < cfg.huge:
            data += line
    return data


class Handler(BaseHTTPRequestHandler):
    server_version = "stspolicy"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def note(self, status):
        if self.server.cfg.log:
            with open(self.server.cfg.log, "a") as f:
                f.write("%s %s %d host=%s\n" % (self.command, self.path, status,
                                                self.headers.get("Host", "")))

    def do_GET(self):
        cfg = self.server.cfg
        if cfg.redirect:
            self.note(302)
            self.send_response(302)
            self.send_header("Location", cfg.redirect)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path != WELL_KNOWN:
            self.note(404)
            self.send_error(404)
            return
        data = body_for(cfg)
        status = cfg.status or 200
        self.note(status)
        self.send_response(status)
        self.send_header("Content-Type", cfg.content_type)
        if not cfg.no_length:
            self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        if cfg.slow:
            time.sleep(cfg.slow)
        try:
            self.wfile.write(data)
        except OSError:
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that gives up (bad certificate, timeout) is expected


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", type=listen_arg, required=True, metavar="IP:PORT")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--policy", required=True, metavar="FILE")
    ap.add_argument("--pidfile", required=True)
    ap.add_argument("--portfile", required=True)
    ap.add_argument("--log")
    ap.add_argument("--lifetime", type=float, default=600)
    ap.add_argument("--redirect", metavar="URL")
    ap.add_argument("--status", type=int)
    ap.add_argument("--content-type", default="text/plain")
    ap.add_argument("--huge", type=int, metavar="N")
    ap.add_argument("--no-length", action="store_true")
    ap.add_argument("--slow", type=float, metavar="SECONDS")
    cfg = ap.parse_args(argv)

    host, port = cfg.listen
    Server.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
    httpd = Server((host, port), Handler)
    httpd.cfg = cfg
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cfg.cert, cfg.key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)

    def stop(*_):
        try:
            os.unlink(cfg.pidfile)
        except OSError:
            pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGALRM, stop)
    signal.alarm(max(1, int(cfg.lifetime)))
    write_atomic(cfg.portfile, "%d\n" % httpd.server_address[1])
    write_atomic(cfg.pidfile, "%d\n" % os.getpid())
    httpd.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
