#!/usr/bin/env python3
"""Writes one .eml file the way a mail client would, for mail2news tests.

The mail is built with Python's email package, so its MIME structure and
transfer encodings are an independent implementation's, not ours.

  makemail.py --out FILE --kind KIND [--armor FILE]... [--before TEXT]
              [--sig TEXT] [--header 'Name: value']... [--no-default-headers]

KIND:
  inline       text/plain, 7bit: the armor(s) as typed into the message
  qp           text/plain, quoted-printable
  base64       text/plain, base64
  pgpmime      RFC 3156 multipart/encrypted (Version: 1 part + octet-stream)
  pgpmime-b64  the same with the octet-stream part base64-encoded
  alternative  multipart/alternative: text/plain and text/html, both with the armor
  attachment   multipart/mixed: a short text and the armor as an .asc attachment

--armor may be given several times (two blocks in one mail); --sig adds a
mail signature ("-- " and the text) under the armor.

  makemail.py --batch SPEC.json

writes many mails in one run (the interpreter starts once): SPEC.json is a
list of objects with the keys out, kind, armor (list of files), before, sig,
header (list), no_default_headers.
"""
import json
import argparse
import sys
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

DEFAULT_HEADERS = [
    ("Received", "from sender.example (sender.example [192.0.2.7]) by mx.example with ESMTPS id 4QxYz; Wed, 25 Nov 2026 10:00:00 +0000"),
    ("From", "Alice Sender <alice@sender.example>"),
    ("To", "mail2news-alt.crypt.messages@gateway.example"),
    ("Date", formatdate(1700000000, localtime=False)),
    ("Message-ID", make_msgid(domain="sender.example")),
    ("User-Agent", "Mozilla/5.0 Thunderbird/115.0"),
    ("X-Mailer", "Sender Mail 1.0"),
    ("Organization", "Sender Org"),
]


def text_body(args, armors):
    parts = []
    if args.before:
        parts.append(args.before + "\n\n")
    parts.append("\n".join(armors))
    if args.sig:
        parts.append("\n-- \n" + args.sig + "\n")
    return "".join(parts)


KINDS = ["inline", "qp", "base64", "pgpmime", "pgpmime-b64", "alternative", "attachment"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch")
    ap.add_argument("--out")
    ap.add_argument("--kind", choices=KINDS)
    ap.add_argument("--armor", action="append", default=[])
    ap.add_argument("--before", default="")
    ap.add_argument("--sig", default="")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--no-default-headers", action="store_true")
    args = ap.parse_args()
    if args.batch:
        with open(args.batch) as f:
            specs = json.load(f)
        for spec in specs:
            one = argparse.Namespace(out=spec["out"], kind=spec["kind"], armor=spec.get("armor") or [],
                                     before=spec.get("before", ""), sig=spec.get("sig", ""),
                                     header=spec.get("header") or [],
                                     no_default_headers=spec.get("no_default_headers", False))
            if one.kind not in KINDS:
                raise SystemExit("unknown kind " + one.kind)
            write_mail(one)
        return 0
    if not args.out or not args.kind:
        ap.error("--out and --kind are required without --batch")
    write_mail(args)
    return 0


def write_mail(args):
    armors = []
    for path in args.armor:
        with open(path, encoding="ascii") as f:
            armors.append(f.read())

    msg = EmailMessage()
    if not args.no_default_headers:
        for k, v in DEFAULT_HEADERS:
            msg[k] = v
    for h in args.header:
        k, _, v = h.partition(":")
        if k in msg:
            del msg[k]
        msg[k.strip()] = v.strip()

    body = text_body(args, armors)
    if args.kind == "inline":
        msg.set_content(body, cte="7bit")
    elif args.kind == "qp":
        msg.set_content(body, cte="quoted-printable")
    elif args.kind == "base64":
        msg.set_content(body, cte="base64")
    elif args.kind in ("pgpmime", "pgpmime-b64"):
        # RFC 3156 section 4.
        msg.set_type("multipart/encrypted")
        msg.set_param("protocol", "application/pgp-encrypted")
        control = EmailMessage()
        control.set_content(b"Version: 1\n", maintype="application", subtype="pgp-encrypted", cte="7bit")
        data = EmailMessage()
        data.set_content("\n".join(armors).encode("ascii"), maintype="application", subtype="octet-stream",
                         cte="base64" if args.kind == "pgpmime-b64" else "7bit",
                         disposition="inline", filename="encrypted.asc")
        msg.attach(control)
        msg.attach(data)
        msg.preamble = "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)"
    elif args.kind == "alternative":
        msg.set_content(body)
        msg.add_alternative("<html><body><pre>" + body + "</pre></body></html>", subtype="html")
    elif args.kind == "attachment":
        msg.set_content("The message is attached.\n")
        msg.add_attachment(body.encode("ascii"), maintype="application", subtype="pgp-encrypted",
                           filename="message.asc")

    with open(args.out, "wb") as f:
        f.write(msg.as_bytes(policy=SMTP))


if __name__ == "__main__":
    sys.exit(main())
