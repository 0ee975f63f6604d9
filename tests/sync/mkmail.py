#!/usr/bin/python3
"""mkmail.py — deterministic test mail for the sync tests and bench/sync.

    mkmail.py [--seed S] [--count N] [--start I] [--kind tricky|plain]
              [--size BYTES] (--dir DIR | --maildir DIR [--owner UID:GID]
              | --imap URL [--ca FILE] [--flags FLAGS] | --list)

Message I (I = start .. start+count-1) depends only on (seed, kind, I, size):
the same arguments always give the same bytes.

--kind tricky (the default) cycles through real-world oddities, one per
message number (I mod 20; `--list` prints which):
  RFC 2047 encoded headers (UTF-8 B and Q, ISO-8859-1, KOI8-R, Shift_JIS),
  bodies in windows-1252, ISO-2022-JP, GB18030, KOI8-R; lines longer than 998
  through quoted-printable and raw lines near (and one over) the limit; raw
  8-bit bodies; nested multipart (mixed > alternative > related with inline
  images); base64 attachments with RFC 2231 names; format=flowed; a message
  without Message-ID; a duplicate Message-ID (a second copy of an earlier
  message, as a list would deliver it); threads (In-Reply-To, References);
  HTML only; an empty body; huge folded headers (hundreds of recipients, a
  long References chain); a forwarded message/rfc822.
--kind plain: ordinary text mail of about --size bytes (default 4096),
  threaded in groups, some with encoded subjects: the benchmark's mailbox.

Outputs (messages are made with LF line ends; IMAP gets CRLF):
  --dir DIR       DIR/00001.eml, … (the number is I)
  --maildir DIR   Dovecot-style Maildir files in DIR/cur ("…,S=size:2,"),
                  DIR/new and DIR/tmp made; --owner chowns what it makes
  --imap URL      APPEND to imap[s]://USER:PASS@HOST:PORT/FOLDER (the folder
                  is created when missing); --ca for imaps; --flags e.g.
                  '\\Seen \\Flagged' for every message
  --list          prints "I kind Message-ID" lines, nothing else
Prints the number of messages written (except with --list).
"""

import argparse
import base64
import datetime
import imaplib
import os
import quopri
import random
import socket
import ssl
import sys
import time
import urllib.parse

DOMAIN = "example.test"
KINDS = [
    "plain-thread-start", "utf8-b-headers", "latin1-q-headers", "koi8r",
    "sjis-iso2022jp", "windows-1252", "gb18030", "long-qp", "long-raw",
    "raw-8bit", "nested-multipart", "attachments", "format-flowed",
    "no-message-id", "duplicate-id", "html-only", "empty-body",
    "huge-headers", "thread-reply", "forwarded-rfc822",
]

WORDS = ("the quick brown fox jumps over lazy dog pigeon carries letters across "
         "valleys and hills while servers keep their folders in order mailbox "
         "index thread reply forward archive draft flag seen answered deleted "
         "meeting agenda budget report quarterly minutes review schedule").split()
NAMES = ["Ann Example", "Bob Builder", "Chloé Dupont", "Dmitri Ivanov",
         "Eiko Tanaka", "Frank O'Neil", "Grete Müller", "Hu Wei"]


def words(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def para(rng, lines, width=72):
    out = []
    for _ in range(lines):
        s = ""
        while len(s) < width - 12:
            s += rng.choice(WORDS) + " "
        out.append(s.rstrip())
    return "\n".join(out) + "\n"


def msgid(seed, i, kind="tricky"):
    return "<mk-%s-%s-%d@%s>" % (kind, seed, i, DOMAIN)


def date_of(i):
    d = datetime.datetime(2024, 3, 1, 8, 0, 0) + datetime.timedelta(minutes=37 * i)
    return d.strftime("%a, %d %b %Y %H:%M:%S +0000")


def ew_b(text, charset):
    return "=?%s?B?%s?=" % (charset, base64.b64encode(text.encode(charset)).decode())


def ew_q(text, charset):
    raw = text.encode(charset)
    out = ""
    for b in raw:
        c = chr(b)
        if c == " ":
            out += "_"
        elif c.isalnum() and b < 128:
            out += c
        else:
            out += "=%02X" % b
    return "=?%s?Q?%s?=" % (charset, out)


def qp(data):
    return quopri.encodestring(data).decode("ascii")


def b64(data, width=76):
    s = base64.b64encode(data).decode()
    return "\n".join(s[k:k + width] for k in range(0, len(s), width)) + "\n"


def head(rng, seed, i, subject, extra=(), mid=True, frm=None, kind="tricky"):
    frm = frm or "%s <%s@%s>" % (rng.choice(NAMES).replace("é", "e").replace("ü", "u"),
                                 rng.choice(["ann", "bob", "chloe", "dmitri"]), DOMAIN)
    h = [
        "Return-Path: <bounce-%d@lists.%s>" % (i, DOMAIN),
        "Received: from mx.%s (mx.%s [192.0.2.%d])\n\tby imap.%s with ESMTPS id %08x\n"
        "\tfor <test@%s>; %s" % (DOMAIN, DOMAIN, i % 250 + 1, DOMAIN, rng.getrandbits(32),
                                 DOMAIN, date_of(i)),
        "From: " + frm,
        "To: Test User <test@%s>" % DOMAIN,
        "Subject: " + subject,
        "Date: " + date_of(i),
    ]
    if mid:
        h.append("Message-ID: " + msgid(seed, i, kind))
    h.append("MIME-Version: 1.0")
    h.extend(extra)
    return "\n".join(h) + "\n"


def thread_root(i):
    """Messages of kind 0 start a thread; kind 18 replies to the one before."""
    return i - (i % len(KINDS))


def tricky(seed, i):
    rng = random.Random("%s:%d" % (seed, i))
    k = KINDS[i % len(KINDS)]
    text = "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n"
    if k == "plain-thread-start":
        return (head(rng, seed, i, "Thread %d: %s" % (i, words(rng, 5)), [text.rstrip()])
                + "\n" + para(rng, 12)).encode()
    if k == "utf8-b-headers":
        subj = ew_b("Grüße aus Köln — ✓ 日本語のテスト %d" % i, "utf-8")
        frm = "%s <gruss@%s>" % (ew_b("Jürgen Weiß", "utf-8"), DOMAIN)
        body = "Grüße! Ça va? Ελληνικά, русский, 中文, emoji 🐦.\n" * 8
        return (head(rng, seed, i, subj, [
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64"], frm=frm)
            + "\n" + b64(body.encode())).encode()
    if k == "latin1-q-headers":
        subj = ew_q("Café crème à la carte n° %d" % i, "iso-8859-1")
        frm = "%s <chloe@%s>" % (ew_q("Chloé Dupont", "iso-8859-1"), DOMAIN)
        body = ("Voilà le menu: crème brûlée, pâté, façade — %d\n" % i).replace("—", "-")
        return (head(rng, seed, i, subj, [
            "Content-Type: text/plain; charset=iso-8859-1",
            "Content-Transfer-Encoding: quoted-printable"], frm=frm)
            + "\n" + qp((body * 10).encode("iso-8859-1"))).encode()
    if k == "koi8r":
        subj = ew_b("Привет, мир! Сообщение %d" % i, "koi8-r")
        body = ("Съешь же ещё этих мягких французских булок, да выпей чаю.\n" * 10)
        h = head(rng, seed, i, subj, [
            "Content-Type: text/plain; charset=koi8-r",
            "Content-Transfer-Encoding: 8bit"])
        return h.encode() + b"\n" + body.encode("koi8-r")
    if k == "sjis-iso2022jp":
        subj = ew_b("日本語の件名です %d" % i, "shift_jis")
        body = "いろはにほへと ちりぬるを わかよたれそ つねならむ\n" * 10
        return (head(rng, seed, i, subj, [
            "Content-Type: text/plain; charset=ISO-2022-JP",
            "Content-Transfer-Encoding: 7bit"]).encode()
            + b"\n" + body.encode("iso2022_jp"))
    if k == "windows-1252":
        body = ("\u201cSmart quotes\u201d \u2014 and \u20ac euros, \u2018ticks\u2019 "
                "\u2026 %d\n" % i) * 12
        if i % 2:
            return (head(rng, seed, i, "windows-1252 8bit %d" % i, [
                "Content-Type: text/plain; charset=windows-1252",
                "Content-Transfer-Encoding: 8bit"]).encode()
                + b"\n" + body.encode("cp1252"))
        return (head(rng, seed, i, "windows-1252 qp %d" % i, [
            "Content-Type: text/plain; charset=windows-1252",
            "Content-Transfer-Encoding: quoted-printable"])
            + "\n" + qp(body.encode("cp1252"))).encode()
    if k == "gb18030":
        body = "中华人民共和国 汉字编码 测试邮件 第%d封\n" % i * 12
        return (head(rng, seed, i, ew_b("中文邮件 %d" % i, "gb18030"), [
            "Content-Type: text/plain; charset=GB18030",
            "Content-Transfer-Encoding: base64"])
            + "\n" + b64(body.encode("gb18030"))).encode()
    if k == "long-qp":
        long = " ".join(words(rng, 600).split())  # one paragraph, ~4 KB
        return (head(rng, seed, i, "A very long line, quoted-printable %d" % i, [
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable"])
            + "\n" + qp((long + " é\n").encode())).encode()
    if k == "long-raw":
        lines = []
        for n in range(6):
            target = 990 + n  # 990..995 characters
            s = ""
            while len(s) < target:
                s += rng.choice(WORDS) + " "
            lines.append(s[:target])
        over = ("x" * 1200) if i % 40 == 8 else ("y" * 998)
        return (head(rng, seed, i, "Lines near the limit %d" % i, [text.rstrip()])
                + "\n" + "\n".join(lines) + "\n" + over + "\nend\n").encode()
    if k == "raw-8bit":
        body = ("Unencoded UTF-8 without a declared encoding: naïve café, "
                "Ærøskøbing, Zürich, Łódź — %d\n" % i) * 10
        extra = ["Content-Type: text/plain; charset=utf-8"]
        if i % 2:
            extra.append("Content-Transfer-Encoding: 8bit")
        # a raw 8-bit header too (real mailers do this)
        extra.append("X-Raw-Header: Ünïcödé in a header, raw")
        return (head(rng, seed, i, "8-bit body %d" % i, extra)
                + "\n" + body).encode()
    if k == "nested-multipart":
        b1, b2, b3 = ("=_mixed_%d" % i, "=_alt_%d" % i, "=_rel_%d" % i)
        png = bytes(rng.getrandbits(8) for _ in range(1500))
        pdf = b"%PDF-1.4\n" + bytes(rng.getrandbits(8) for _ in range(3000))
        s = head(rng, seed, i, "Nested multipart %d" % i, [
            'Content-Type: multipart/mixed; boundary="%s"' % b1])
        s += "\nThis is a multi-part message in MIME format.\n"
        s += "\n--%s\nContent-Type: multipart/alternative; boundary=\"%s\"\n" % (b1, b2)
        s += "\n--%s\nContent-Type: text/plain; charset=utf-8\n" % b2
        s += "Content-Transfer-Encoding: quoted-printable\n\n"
        s += qp(("Plain part — see the picture.\n" + para(rng, 4)).encode())
        s += "\n--%s\nContent-Type: multipart/related; boundary=\"%s\"; type=\"text/html\"\n" % (b2, b3)
        s += "\n--%s\nContent-Type: text/html; charset=utf-8\n\n" % b3
        s += ("<html><body><p>HTML part with <b>inline</b> image:</p>"
              "<img src=\"cid:img%d@%s\"></body></html>\n" % (i, DOMAIN))
        s += "\n--%s\nContent-Type: image/png; name=\"pic.png\"\n" % b3
        s += "Content-Transfer-Encoding: base64\nContent-ID: <img%d@%s>\n" % (i, DOMAIN)
        s += "Content-Disposition: inline; filename=\"pic.png\"\n\n" + b64(png)
        s += "\n--%s--\n" % b3
        s += "\n--%s--\n" % b2
        s += "\n--%s\nContent-Type: application/pdf; name=\"report.pdf\"\n" % b1
        s += "Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"report.pdf\"\n\n"
        s += b64(pdf) + "\n--%s--\n" % b1
        return s.encode()
    if k == "attachments":
        b1 = "----=_Part_%d_%d" % (i, rng.getrandbits(20))
        blob = bytes(rng.getrandbits(8) for _ in range(8000 + 500 * (i % 7)))
        s = head(rng, seed, i, "Attachments %d" % i, [
            'Content-Type: multipart/mixed; boundary="%s"' % b1])
        s += "\n--%s\n%s\n%s" % (b1, text, para(rng, 3))
        s += "\n--%s\nContent-Type: application/octet-stream\n" % b1
        s += "Content-Transfer-Encoding: base64\n"
        s += "Content-Disposition: attachment;\n filename*=UTF-8''%s\n\n" % urllib.parse.quote("Übersicht 2024 €.bin")
        s += b64(blob)
        s += "\n--%s\nContent-Type: text/csv; charset=utf-8; name=\"data.csv\"\n" % b1
        s += "Content-Transfer-Encoding: base64\n\n" + b64(("a,b,c\n1,2,3\n" * 50).encode())
        s += "--%s--\n" % b1
        return s.encode()
    if k == "format-flowed":
        body = ""
        for n in range(8):
            body += "This paragraph is flowed and wraps softly at the end of %d \n" % n
            body += "the line, with a trailing space that must survive. \n"
            body += "> quoted flowed text from the previous message \n>> and deeper\n\n"
        body += "-- \nsignature\n"
        return (head(rng, seed, i, "format=flowed %d" % i, [
            "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes",
            "Content-Transfer-Encoding: 7bit"]) + "\n" + body).encode()
    if k == "no-message-id":
        return (head(rng, seed, i, "No Message-ID here %d" % i, [text.rstrip()], mid=False)
                + "\n" + para(rng, 6)).encode()
    if k == "duplicate-id":
        # A second copy of message i-13 (a utf8-b-headers one), as a mailing
        # list delivers it: another Received line, another List-Id.
        orig = tricky(seed, i - 13) if i >= 13 else tricky(seed, 1)
        return ("Received: from list.%s by mx.%s; %s\nList-Id: <dup.%s>\n"
                % (DOMAIN, DOMAIN, date_of(i), DOMAIN)).encode() + orig
    if k == "html-only":
        html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>t</title></head>"
        html += "<body>" + "".join("<p style=\"color:#%06x\">%s</p>" % (rng.getrandbits(24), words(rng, 15))
                                   for _ in range(20)) + "</body></html>\n"
        return (head(rng, seed, i, "HTML only %d" % i, [
            "Content-Type: text/html; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable"]) + "\n" + qp(html.encode())).encode()
    if k == "empty-body":
        return (head(rng, seed, i, "", [text.rstrip()]) + "\n").encode()
    if k == "huge-headers":
        to = ",\n ".join("%s%d <r%d@%s>" % (ew_q("Empfänger", "utf-8"), n, n, DOMAIN)
                         for n in range(250))
        refs = "\n ".join(msgid(seed, j) for j in range(max(0, i - 200), i) if j % len(KINDS) != 13)
        subj = " ".join(ew_b("Ein sehr langer Betreff Teil %d mit Umlauten äöü" % n, "utf-8")
                        for n in range(12))
        h = head(rng, seed, i, subj, [
            "Cc: " + to,
            "References: " + (refs or msgid(seed, 0)),
            "X-Long: " + "\n\t".join(words(rng, 12) for _ in range(80)),
            text.rstrip()])
        return (h + "\n" + para(rng, 4)).encode()
    if k == "thread-reply":
        root = thread_root(i)
        refs = [msgid(seed, root)] + [msgid(seed, j) for j in range(root + 1, i, 5)
                                      if j % len(KINDS) not in (13, 14)]
        return (head(rng, seed, i, "Re: Thread %d" % root, [
            "In-Reply-To: " + refs[-1],
            "References: " + "\n ".join(refs), text.rstrip()])
            + "\n> " + para(rng, 3).replace("\n", "\n> ").rstrip("> ") + "\n" + para(rng, 5)).encode()
    if k == "forwarded-rfc822":
        b1 = "fwd%d" % i
        inner = tricky(seed, i - 17) if i >= 17 else tricky(seed, 2)
        s = head(rng, seed, i, "Fwd: forwarded %d" % i, [
            'Content-Type: multipart/mixed; boundary="%s"' % b1])
        s += "\n--%s\n%s\nSee below.\n\n--%s\n" % (b1, text, b1)
        s += "Content-Type: message/rfc822\nContent-Disposition: inline\n\n"
        return s.encode() + inner + ("\n--%s--\n" % b1).encode()
    raise AssertionError(k)


def plain(seed, i, size):
    """About size bytes of ordinary mail, threaded in groups of 8."""
    rng = random.Random("plain:%s:%d" % (seed, i))
    root = i - i % 8
    extra = ["Content-Type: text/plain; charset=utf-8",
             "Content-Transfer-Encoding: 8bit" if i % 5 == 0 else "Content-Transfer-Encoding: 7bit"]
    if i != root:
        extra.append("In-Reply-To: " + msgid(seed, i - 1, "plain"))
        extra.append("References: " + msgid(seed, root, "plain"))
    subj = ("Re: " if i != root else "") + (ew_b("Bericht Nr. %d — Übersicht" % root, "utf-8")
                                             if root % 3 == 0 else "Report %d: %s" % (root, words(rng, 4)))
    s = head(rng, seed, i, subj, extra, kind="plain")
    s += "\n"
    body = ""
    while len(s.encode()) + len(body.encode()) < size - 80:
        body += para(rng, 1)
    if i % 5 == 0:
        body += "Grüße, Jürgen\n"
    msg = (s + body).encode()
    if len(msg) < size:
        msg += b"-" * (size - len(msg) - 1) + b"\n"
    return msg


def message(args, i):
    return tricky(args.seed, i) if args.kind == "tricky" else plain(args.seed, i, args.size)


def imap_connect(url, ca):
    u = urllib.parse.urlsplit(url)
    if u.scheme == "imaps":
        ctx = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
        c = imaplib.IMAP4_SSL(u.hostname, u.port or 993, ssl_context=ctx)
    else:
        c = imaplib.IMAP4(u.hostname, u.port or 143)
    c.login(urllib.parse.unquote(u.username), urllib.parse.unquote(u.password))
    folder = urllib.parse.unquote(u.path.lstrip("/")) or "INBOX"
    return c, folder


def quote_mailbox(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", default="1")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--start", type=int, default=1)
    ap.add_argument("--kind", choices=["tricky", "plain"], default="tricky")
    ap.add_argument("--size", type=int, default=4096)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--dir")
    g.add_argument("--maildir")
    g.add_argument("--imap")
    g.add_argument("--list", action="store_true")
    ap.add_argument("--owner")
    ap.add_argument("--ca")
    ap.add_argument("--flags", default="")
    args = ap.parse_args()
    rng_i = range(args.start, args.start + args.count)

    if args.list:
        for i in rng_i:
            m = message(args, i)
            hdr = m.split(b"\n\n", 1)[0].decode("utf-8", "replace")
            mid = "-"
            for line in hdr.split("\n"):
                if line.lower().startswith("message-id:"):
                    mid = line.split(":", 1)[1].strip()
            kind = KINDS[i % len(KINDS)] if args.kind == "tricky" else "plain"
            print(i, kind, mid)
        return 0

    if args.dir:
        os.makedirs(args.dir, exist_ok=True)
        for i in rng_i:
            with open(os.path.join(args.dir, "%05d.eml" % i), "wb") as f:
                f.write(message(args, i))
    elif args.maildir:
        own = tuple(int(x) for x in args.owner.split(":")) if args.owner else None
        for sub in ("", "cur", "new", "tmp"):
            p = os.path.join(args.maildir, sub)
            os.makedirs(p, exist_ok=True)
            if own:
                os.chown(p, *own)
        host = socket.gethostname()
        now = int(time.time())
        for i in rng_i:
            m = message(args, i)
            name = "%d.M%dP%d.%s,S=%d:2," % (now, i, os.getpid(), host, len(m))
            p = os.path.join(args.maildir, "cur", name)
            with open(p, "wb") as f:
                f.write(m)
            if own:
                os.chown(p, *own)
    else:
        c, folder = imap_connect(args.imap, args.ca)
        typ, _ = c.select(quote_mailbox(folder))
        if typ != "OK":
            c.create(quote_mailbox(folder))
        flags = "(%s)" % args.flags if args.flags else None
        for i in rng_i:
            m = message(args, i).replace(b"\n", b"\r\n")
            typ, data = c.append(quote_mailbox(folder), flags, None, m)
            if typ != "OK":
                print("mkmail: APPEND %d: %s" % (i, data), file=sys.stderr)
                return 1
        c.logout()
    print(args.count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
