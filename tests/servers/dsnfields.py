#!/usr/bin/python3
"""dsnfields.py FIELD... -- FILE... : one line per recipient block of the
message/delivery-status part of each report FILE, the FIELDs' values
(unfolded) joined by " | ".  Special FIELDs: "@file" is the file's name
(first 12 characters); "LABEL=Name?" is LABEL=yes or LABEL=no, whether the
block has the field Name."""
import email
import os
import sys

args = sys.argv[1:]
sep = args.index("--")
fields, files = args[:sep], args[sep + 1:]


def unfold(v):
    return "" if v is None else str(v).replace("\r", "").replace("\n", "")


for path in files:
    if not os.path.isfile(path):
        continue
    with open(path, "rb") as f:
        m = email.message_from_bytes(f.read())
    for part in m.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in part.get_payload()[1:]:
            out = []
            for k in fields:
                if k == "@file":
                    out.append(os.path.basename(path)[:12])
                elif k.endswith("?") and "=" in k:
                    label, name = k[:-1].split("=", 1)
                    out.append("%s=%s" % (label, "yes" if block[name] else "no"))
                else:
                    out.append(unfold(block[k]))
            print(*out, sep=" | ")
