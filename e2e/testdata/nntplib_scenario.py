"""A newsreader session with Python's nntplib, an independent NNTP client.

usage: nntplib_scenario.py HOST PORT GROUP CIPHERTEXT_ARTICLE PLAINTEXT_ARTICLE

Lists the groups, selects GROUP, posts CIPHERTEXT_ARTICLE (which must be
accepted), reads the group's overview and its last article, asks NEWNEWS,
and posts PLAINTEXT_ARTICLE (which must be refused). Prints one JSON
object with what it saw; the Go test judges it. Exits non-zero on any
unexpected protocol error.
"""

import datetime
import json
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import nntplib  # noqa: E402  (deprecated in 3.11, removed in 3.13)


def main():
    host, port, group, good_path, bad_path = sys.argv[1:6]
    out = {}
    s = nntplib.NNTP(host, int(port), readermode=True, timeout=30)
    out["welcome"] = s.getwelcome()
    out["caps"] = sorted(s.getcapabilities().keys())

    _, groups = s.list()
    out["groups"] = [g.group for g in groups]

    _, count, first, last, name = s.group(group)
    out["before"] = {"count": count, "first": first, "last": last, "name": name}

    with open(good_path, "rb") as f:
        out["post"] = s.post(f)

    _, count, first, last, _ = s.group(group)
    out["after"] = {"count": count, "first": first, "last": last}

    _, overviews = s.over((first, last))
    out["over"] = [
        {
            "number": n,
            "subject": ov["subject"],
            "from": ov["from"],
            "date": ov["date"],
            "message-id": ov["message-id"],
            "references": ov["references"],
            "bytes": int(ov[":bytes"]),
            "lines": int(ov[":lines"]),
            "xref": ov.get("xref", ""),
        }
        for n, ov in overviews
    ]

    _, info = s.article(last)
    out["article"] = {
        "number": info.number,
        "message_id": info.message_id,
        "lines": [line.decode("ascii") for line in info.lines],
    }
    _, info = s.head(info.message_id)
    out["head_by_id"] = {"number": info.number, "lines": len(info.lines)}

    since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    _, ids = s.newnews(group, since)
    out["newnews"] = ids

    _, date = s.date()
    out["date"] = date.isoformat()

    try:
        with open(bad_path, "rb") as f:
            s.post(f)
        out["refused"] = None
    except nntplib.NNTPTemporaryError as e:
        out["refused"] = str(e)

    # The session is still usable after a refusal.
    _, count, _, _, _ = s.group(group)
    out["final_count"] = count
    s.quit()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
