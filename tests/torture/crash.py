#!/usr/bin/python3
"""crash.py - the delivery crash torture (issue #8, point 1), run by
tests/torture/delivery.sh, which starts the DNS server and writes the config.

    crash.py --messages N --domains D --kills K --seed S --cap SECS --max-run SECS

1. Starts tests/servers/chaos.py: the mail exchangers of d1.test ... dD.test,
   answering 250, 4xx, 5xx, closing or stalling at random at every step.
2. Queues N messages with `paloma send` (distinct bodies; one in 4 has 8-bit
   text, one in 3 a second recipient at another domain, one in 7 two
   recipients at the same domain; one in 10 is 100 kB).
3. Runs `paloma daemon --foreground` and SIGKILLs it after a random time
   (up to --max-run seconds, less when the queue empties faster than the
   kills are spent), K times, restarting it each time; then lets one
   last daemon run until the queue is empty (--cap bounds the whole thing).
   After each run it waits until the receivers hold no connection (so that
   every copy received is counted in the run that sent it) and takes a
   snapshot of the queue: which recipients the daemon had recorded as
   delivered (or whose entry it had retired).
4. Accounts for every (message, recipient): delivered (a copy at the
   receiver, byte-identical to the queued message: paloma adds no trace
   field) or bounced (a report in the inbox naming it); else lost.  A
   recipient received more than once is a duplicate; it is explained only
   when every copy but the last arrived in a run that was killed before it
   recorded the delivery (the window between the remote's 250 and the state
   write), each in a different run.

Prints "# ..." details and one "key value" line per figure; delivery.sh
turns them into TAP.  Exit status 0 unless the driver itself failed.
"""
import argparse
import collections
import email
import email.policy
import json
import os
import random
import signal
import subprocess
import sys
import time

PY = "/usr/bin/python3"
EX_TEMPFAIL = 75


def log(*a):
    print("#", *a, flush=True)


class Torture:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.T = os.environ["T"]
        self.paloma = os.environ["PALOMA"]
        self.queue = os.environ["QUEUE"]
        self.spool = os.path.join(self.T, "chaos")
        self.inbox = os.path.join(self.T, "Mail", "me", "INBOX")
        self.runs = []		# [start time, "killed" | "clean" | "exit RC", pid]
        self.recorded = []	# per run: {(id, rcpt)} final in the queue after it
        self.msgs = {}		# id -> queued bytes
        self.mid2id = {}
        self.queued = []	# (id, rcpt)

    # ------------------------------------------------------------ receivers
    def start_chaos(self):
        os.makedirs(self.spool, exist_ok=True)
        pidf = os.path.join(self.T, "chaos.pid")
        self.chaos = subprocess.Popen(
            [PY, os.path.join(os.environ["TESTS_DIR"], "servers", "chaos.py"),
             "--port", os.environ["SMTP_PORT"], "--domains", str(self.a.domains),
             "--spool", self.spool, "--pidfile", pidf, "--seed", str(self.a.seed),
             "--stall", "20", "--lifetime", str(self.a.cap + 600)],
            stdout=open(os.path.join(self.T, "chaos.err"), "ab"), stderr=subprocess.STDOUT)
        for _ in range(100):
            if os.path.exists(pidf):
                return
            if self.chaos.poll() is not None:
                break
            time.sleep(0.1)
        sys.exit("crash.py: chaos.py did not start: " +
                 open(os.path.join(self.T, "chaos.err")).read())

    def stop_chaos(self):
        self.chaos.send_signal(signal.SIGTERM)
        self.chaos.wait(10)

    def quiet(self, secs):
        """Waits until no receiver connection is open."""
        end = time.time() + secs
        while time.time() < end:
            try:
                if open(os.path.join(self.spool, "open")).read().strip() == "0":
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    # ------------------------------------------------------------ messages
    def make(self, i):
        d = self.a.domains
        a = i % d + 1
        to = ["r%d@d%d.test" % (i, a)]
        if i % 3 == 0 and d > 1:
            to.append("s%d@d%d.test" % (i, (i + 1) % d + 1))
        if i % 7 == 0:
            to.append("t%d@d%d.test" % (i, a))
        subj = "torture %d" % i
        body = "message %d of the crash torture\n.\n..a line with dots\n" % i
        if i % 4 == 0:
            subj += " caf\u00e9"
            body += "8-bit: caf\u00e9, \u00fcber, \u2603, %d\n" % i
        if i % 10 == 0:
            line = "%d " % i + "x" * 70 + "\n"
            body += line * (100000 // len(line))
        hdr = ("From: Me <me@example.org>\nTo: %s\nSubject: %s\n"
               "Message-ID: <torture.%d.%d@example.org>\n\n" % (", ".join(to), subj, self.a.seed, i))
        return (hdr + body).encode("utf-8")

    def submit(self):
        for i in range(1, self.a.messages + 1):
            p = subprocess.run([self.paloma, "send", "-t", "-i"], input=self.make(i),
                               capture_output=True)
            if p.returncode != 0:
                sys.exit("crash.py: paloma send of message %d failed: %s" % (i, p.stderr.decode()))
        ents = os.path.join(self.queue, "entries")
        for qid in sorted(os.listdir(ents)):
            raw = open(os.path.join(ents, qid, "message"), "rb").read()
            self.msgs[qid] = raw
            msg = email.message_from_bytes(raw)
            self.mid2id[msg["Message-ID"].strip()] = qid
            for line in open(os.path.join(ents, qid, "envelope"), encoding="utf-8"):
                if line.startswith("Recipient: <"):
                    self.queued.append((qid, line.rstrip("\n")[12:-1]))
        print("messages", len(self.msgs))
        print("recipients", len(self.queued))

    # ------------------------------------------------------------ queue state
    def left(self):
        try:
            return len(os.listdir(os.path.join(self.queue, "entries")))
        except OSError:
            return 0

    def snapshot(self):
        """(id, rcpt) the queue records as final: delivered or bounced in
        an envelope under entries/, or any recipient of a retired entry."""
        rec = set()
        for sub in ("entries", "done"):
            top = os.path.join(self.queue, sub)
            for qid in os.listdir(top) if os.path.isdir(top) else []:
                try:
                    text = open(os.path.join(top, qid, "envelope"), encoding="utf-8",
                                errors="replace").read()
                except OSError:
                    continue
                rcpt = None
                for line in text.split("\n"):
                    if line.startswith("Recipient: <"):
                        rcpt = line[12:-1]
                        if sub == "done":
                            rec.add((qid, rcpt))
                    elif line.startswith("State: ") and rcpt and \
                            line[7:] in ("delivered", "bounced"):
                        rec.add((qid, rcpt))
        return rec

    # ------------------------------------------------------------ daemon runs
    def run_daemon(self, kill_after):
        n = len(self.runs) + 1
        out = open(os.path.join(self.T, "daemon-run.out"), "ab")
        out.write(b"=== run %d\n" % n)
        out.flush()
        at = out.tell()
        t0 = time.time()
        p = subprocess.Popen([self.paloma, "daemon", "--foreground"], stdout=out, stderr=out)
        if kill_after is not None:
            try:
                rc = p.wait(kill_after)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
        else:
            end = time.time() + max(self.a.cap - (time.time() - self.t_begin), 10)
            while self.left() > 0 and time.time() < end and p.poll() is None:
                time.sleep(0.1)
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
            rc = p.wait()
        kind = "killed" if rc == -signal.SIGKILL else \
            "clean" if kill_after is None and rc == 0 else "exit%d" % rc
        self.runs.append((t0, kind, p.pid))
        if kind not in ("killed", "clean"):
            log("holders of daemon.lock:", self.lock_holders())
            with open(out.name, "rb") as f:
                f.seek(at)
                log("run %d ended by itself (%s): %s" % (n, kind, f.read()[-600:].decode(
                    "utf-8", "replace").replace("\n", " | ")))
        if not self.quiet(30):
            log("run %d: a receiver connection is still open after 30 s" % n)
        self.recorded.append(self.snapshot())
        return kind

    def lock_holders(self):
        """The processes with daemon.lock open, as "pid cmdline"."""
        lock = os.path.join(os.path.dirname(self.queue), "daemon.lock")
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                fds = os.listdir("/proc/%s/fd" % pid)
                if any(os.readlink("/proc/%s/fd/%s" % (pid, fd)) == lock for fd in fds):
                    found.append(pid + " " + open("/proc/%s/cmdline" % pid).read()
                                 .replace("\0", " ").strip())
            except OSError:
                continue
        return "; ".join(found) or "none"

    def torture(self):
        self.t_begin = time.time()
        kills = refused = in_row = most = 0
        while self.left() > 0 and time.time() - self.t_begin < self.a.cap:
            if kills < self.a.kills:
                # Shorter runs when the queue empties faster than the kills
                # are spent, so that all of them land on work.
                pace = (self.left() / len(self.msgs)) / ((self.a.kills - kills) / self.a.kills)
                longest = self.a.max_run * max(min(pace, 1), 0.1)
                kind = self.run_daemon(self.rng.uniform(0.02, longest))
                kills += kind == "killed"
            else:
                kind = self.run_daemon(None)
            if kind == "exit%d" % EX_TEMPFAIL:
                # Refused: the lock seemed held by the daemon just killed
                # for longer than a start waits (a child it forked that
                # has not exec'd shares it).  Counted; must not happen.
                refused += 1
                in_row += 1
                most = max(most, in_row)
                time.sleep(0.2)
            else:
                in_row = 0
        print("kills", kills)
        print("runs", len(self.runs))
        print("refused_restarts", refused)
        print("refused_in_a_row", most)
        print("unexpected_exits", sum(1 for r in self.runs if r[1] not in
                                      ("killed", "clean", "exit%d" % EX_TEMPFAIL)))
        print("seconds", int(time.time() - self.t_begin))
        print("left", self.left())

    # ------------------------------------------------------------ accounting
    def run_of(self, t):
        k = None
        for i, r in enumerate(self.runs):
            if r[0] <= t:
                k = i
        return k

    def copies(self):
        got = collections.defaultdict(list)	# (id, rcpt) -> [run index]
        corrupt = unknown = wrong = 0
        for dom in sorted(os.listdir(self.spool)):
            d = os.path.join(self.spool, dom)
            if not os.path.isdir(d):
                continue
            for f in sorted(os.listdir(d)):
                if not f.endswith(".msg"):
                    continue
                with open(os.path.join(d, f), "rb") as fh:
                    meta = json.loads(fh.readline())
                    body = fh.read()
                mid = (email.message_from_bytes(body)["Message-ID"] or "").strip()
                qid = self.mid2id.get(mid)
                if qid is None:
                    unknown += 1
                    log("unknown message at %s/%s" % (dom, f))
                    continue
                if body != self.msgs[qid]:
                    corrupt += 1
                    log("corrupt copy %s/%s of %s" % (dom, f, qid))
                for r in meta["rcpt_tos"]:
                    if r.split("@")[-1] != dom + ".test":
                        wrong += 1
                    got[(qid, r)].append(self.run_of(meta["received"]))
        return got, corrupt, unknown, wrong

    def reports(self):
        """(id, rcpt) -> number of "failed" reports naming it."""
        rep = collections.Counter()
        for sub in ("new", "cur"):
            d = os.path.join(self.inbox, sub)
            for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                m = email.message_from_bytes(open(os.path.join(d, f), "rb").read())
                orig, failed = None, []
                for p in m.walk():
                    if p.get_content_type() == "text/rfc822-headers":
                        h = email.message_from_string(p.get_payload())
                        orig = self.mid2id.get((h["Message-ID"] or "").strip())
                    if p.get_content_type() == "message/delivery-status":
                        for b in p.get_payload()[1:]:
                            if str(b["Action"]).strip() == "failed":
                                failed.append(str(b["Final-Recipient"]).split(";", 1)[1].strip())
                for r in failed:
                    rep[(orig, r)] += 1
        return rep

    def account(self):
        got, corrupt, unknown, wrong = self.copies()
        rep = self.reports()
        delivered = bounced = lost = dups = baddups = unrecorded = late_bounce = 0
        for q, r in self.queued:
            runs = sorted(got.get((q, r), []), key=lambda x: -1 if x is None else x)
            if runs:
                delivered += 1
                early = runs[:-1] if not rep.get((q, r)) else runs
                for k in early:
                    if k is not None and self.runs[k][1] == "killed" and \
                            (q, r) not in self.recorded[k]:
                        unrecorded += 1
                if rep.get((q, r)):
                    # accepted by a run killed before it recorded it, then
                    # refused or expired in a later run: at-least-once
                    late_bounce += 1
                    if not all(k is not None and self.runs[k][1] == "killed" and
                               (q, r) not in self.recorded[k] for k in runs):
                        baddups += 1
                        log("delivered (recorded) and bounced:", q, r, runs)
            elif rep.get((q, r)):
                bounced += 1
            else:
                lost += 1
                log("lost", q, r)
            if len(runs) > 1:
                dups += 1
                ok = len(set(runs)) == len(runs) and all(
                    k is not None and self.runs[k][1] == "killed" and
                    (q, r) not in self.recorded[k] for k in runs[:-1])
                log("duplicate %s %s: copies in runs %s, %s" % (
                    q, r, " ".join(str(k + 1) if k is not None else "?" for k in runs),
                    "each earlier copy in a run killed before it recorded the delivery"
                    if ok else "NOT EXPLAINED"))
                baddups += not ok
        print("delivered", delivered)
        print("bounced", bounced)
        print("lost", lost)
        print("duplicates", dups)
        print("unexplained_duplicates", baddups)
        print("unrecorded_copies", unrecorded)
        print("delivered_then_bounced", late_bounce)
        print("corrupt", corrupt)
        print("unknown", unknown)
        print("wrong_server", wrong)
        print("extra_reports", sum(rep.values()) - len(rep))
        counts = collections.Counter(k for r in self.runs for k in [r[1]])
        log("runs:", dict(counts))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--messages", type=int, default=150)
    p.add_argument("--domains", type=int, default=5)
    p.add_argument("--kills", type=int, default=15)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cap", type=float, default=100, help="wall-clock cap of the runs (s)")
    p.add_argument("--max-run", type=float, default=1.0, help="longest run before a kill (s)")
    a = p.parse_args()
    t = Torture(a)
    t.start_chaos()
    try:
        t.submit()
        t.torture()
        t.account()
    finally:
        t.stop_chaos()
    log("receiver fates:", open(os.path.join(t.spool, "counts.json")).read())


if __name__ == "__main__":
    main()
