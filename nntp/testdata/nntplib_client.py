#!/usr/bin/env python3
"""Exercise an NNTP server with Python's nntplib (3.11; removed in 3.13).

An independent client for altcrypt's tests. Usage:

    nntplib_client.py HOST PORT GROUP [--user U --password P]
        [--post-file FILE | --no-post] [--limit N] [--since-hours H]

It reads capabilities, lists groups, selects GROUP, fetches the overview and
up to --limit articles (ARTICLE by number, BODY/HEAD/STAT by message-id),
XHDR Subject, DATE, NEWGROUPS, posts one article (a plain test article, or
the file given, which must be a whole article with headers; a
"Newsgroups:" header is added if missing) and runs NEWNEWS, then prints
everything as one JSON object on stdout. A failure prints {"error": ...}
and exits 1.
"""
import argparse
import datetime
import hashlib
import json
import sys
import time
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
import nntplib  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("group")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--post-file")
    ap.add_argument("--no-post", action="store_true")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--since-hours", type=float, default=24)
    a = ap.parse_args()

    out = {}
    s = nntplib.NNTP(a.host, a.port, readermode=True, timeout=30)
    try:
        out["welcome"] = s.getwelcome()
        if a.user:
            s.login(a.user, a.password, usenetrc=False)
            out["login"] = True
        out["capabilities"] = sorted(s.getcapabilities().keys())
        resp, groups = s.list()
        out["list"] = [
            {"group": g.group, "last": int(g.last), "first": int(g.first), "flag": g.flag}
            for g in groups
        ]
        resp, groups = s.list(a.group)
        out["list_wildmat"] = [g.group for g in groups]
        out["description"] = s.description(a.group)
        resp, count, first, last, name = s.group(a.group)
        out["group"] = {"count": count, "first": first, "last": last, "name": name}

        overview = []
        if count > 0:
            resp, ov = s.over((first, last))
            for num, fields in ov:
                overview.append({
                    "number": num,
                    "subject": fields.get("subject"),
                    "from": fields.get("from"),
                    "message_id": fields.get("message-id"),
                    "references": fields.get("references"),
                    "bytes": int(fields.get(":bytes") or 0),
                    "lines": int(fields.get(":lines") or 0),
                    "xref": fields.get("xref"),
                })
        out["over"] = overview

        arts = []
        for o in overview[: a.limit]:
            resp, info = s.article(o["number"])
            raw = b"\r\n".join(info.lines) + b"\r\n"
            resp, binfo = s.body(o["message_id"])
            resp, hinfo = s.head(o["message_id"])
            resp, snum, sid = s.stat(o["message_id"])
            arts.append({
                "number": info.number,
                "message_id": info.message_id,
                "size": len(raw),
                "sha256": hashlib.sha256(raw).hexdigest(),
                "body_lines": len(binfo.lines),
                "head_lines": len(hinfo.lines),
                "stat": [snum, sid],
            })
        out["articles"] = arts
        if count > 0:
            resp, hdrs = s.xhdr("subject", "%d-%d" % (first, last))
            out["xhdr_subject"] = [[int(n), v] for n, v in hdrs]

        resp, date = s.date()
        out["date"] = date.strftime("%Y%m%d%H%M%S")
        since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=a.since_hours)
        resp, newgroups = s.newgroups(since)
        out["newgroups"] = sorted(g.group for g in newgroups)

        if not a.no_post:
            if a.post_file:
                with open(a.post_file, "rb") as f:
                    article = f.read().replace(b"\r\n", b"\n")
                if not any(l.lower().startswith(b"newsgroups:") for l in article.split(b"\n\n", 1)[0].split(b"\n")):
                    article = b"Newsgroups: " + a.group.encode() + b"\n" + article
            else:
                mid = "<nntplib.%d.%d@test.invalid>" % (time.time_ns(), id(out))
                article = (
                    "From: nntplib@test.invalid\nNewsgroups: %s\nSubject: nntplib post\n"
                    "Message-ID: %s\n\n.this line starts with a dot\nposted by nntplib\n" % (a.group, mid)
                ).encode()
                out["posted_message_id"] = mid
            if article.endswith(b"\n"):
                article = article[:-1]  # nntplib ends the last line itself
            out["post"] = s.post(article.split(b"\n"))

        resp, ids = s.newnews(a.group, since)
        out["newnews"] = ids
    finally:
        try:
            s.quit()
        except Exception:
            pass
    json.dump(out, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report, do not hide
        json.dump({"error": "%s: %s" % (type(e).__name__, e)}, sys.stdout)
        sys.stdout.write("\n")
        sys.exit(1)
