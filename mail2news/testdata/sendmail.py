#!/usr/bin/env python3
"""Sends .eml files over SMTP with Python's smtplib and reports each reply.

  sendmail.py --host H --port P --from ADDR --to ADDR [--to ADDR]...
              [--starttls --cafile PEM] [--require-starttls] FILE...

For each FILE one line of JSON on stdout: the stage that ended the
transaction (mail, rcpt, data or done) with its code and message, and
whether STARTTLS was used. One connection carries all files, with RSET
between them, as an MTA would.
"""
import argparse
import json
import smtplib
import ssl
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--from", dest="sender", default="alice@sender.example")
    ap.add_argument("--to", action="append", required=True)
    ap.add_argument("--starttls", action="store_true")
    ap.add_argument("--cafile")
    ap.add_argument("--new-connection-each", action="store_true")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()

    def connect():
        s = smtplib.SMTP(args.host, args.port, timeout=120)
        s.ehlo("client.example")
        tls = False
        if args.starttls:
            if not s.has_extn("starttls"):
                raise SystemExit("server does not offer STARTTLS")
            ctx = ssl.create_default_context(cafile=args.cafile)
            code, msg = s.starttls(context=ctx)
            if code != 220:
                raise SystemExit("STARTTLS failed: %d %s" % (code, msg))
            s.ehlo("client.example")
            tls = True
        return s, tls

    s, tls = connect()
    for path in args.files:
        if s is None:
            s, tls = connect()
        with open(path, "rb") as f:
            data = f.read()
        result = {"file": path, "tls": tls}
        try:
            code, msg = s.mail(args.sender)
            if code != 250:
                result.update(stage="mail", code=code, msg=msg.decode())
            else:
                for rcpt in args.to:
                    code, msg = s.rcpt(rcpt)
                    if code not in (250, 251):
                        result.update(stage="rcpt", code=code, msg=msg.decode())
                        break
                else:
                    code, msg = s.data(data)
                    result.update(stage="data" if code != 250 else "done", code=code, msg=msg.decode())
            if result["stage"] != "done":
                s.rset()
        except smtplib.SMTPServerDisconnected as e:
            result.update(stage="disconnected", code=0, msg=str(e))
            s = None
        except smtplib.SMTPResponseException as e:
            result.update(stage="error", code=e.smtp_code, msg=e.smtp_error.decode(errors="replace"))
        print(json.dumps(result), flush=True)
        if args.new_connection_each and s is not None:
            s.quit()
            s = None
    if s is not None:
        s.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
