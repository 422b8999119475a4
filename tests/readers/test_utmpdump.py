"""Tests for the utmpdump text reader (FORMATS §4.8).

The corpus ``utmp_txt-*`` files are ``utmpdump`` of the ``utmp_wtmp-*.LE`` files: both readers
must give the same rows record by record (the binary reader's values are checked against ``last``
in ``test_wtmp.py``). Counts: ``wc -l`` (19, 10, 2 lines, no blank lines: ``grep -c '^$'``).
Damaged and variant lines are constructed (labelled so).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail import readers
from agenttrail.model import ReadResult
from agenttrail.readers import utmpdump, wtmp
from agenttrail.readers._io import ReadContext, read_head

LOGIN = ("[7] [04242] [ts/0] [alice   ] [pts/0       ] [10.0.0.5            ] [10.0.0.5       ] "
         "[2026-01-05T10:00:00,123456+00:00]")
LOGOUT = ("[8] [04240] [ts/0] [        ] [pts/0       ] [                    ] [0.0.0.0        ] "
          "[2026-01-05T10:01:00,000000+00:00]")
T0 = 1_767_607_200_000_000


def _read(tmp_path: Path, lines: list[str], name: str = "wtmp.txt", **kw: Any) -> ReadResult:
    path = tmp_path / name
    path.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")
    kw.setdefault("host", "db1")
    kw.setdefault("host_origin", "path")
    result = utmpdump.read(ReadContext(path=path, rel=name, con=duckdb.connect(), **kw))
    assert result.account.balanced(), result.account.to_dict()
    assert result.account.format == "utmpdump"
    return result


def _rows(result: ReadResult, table: str) -> list[dict[str, Any]]:
    t = result.tables.get(table)
    return [] if t is None else t.to_pylist()


def test_login_and_logout(tmp_path: Path) -> None:
    """Constructed: the padded fields are trimmed, the comma-separated µs kept, the pair joined."""
    result = _read(tmp_path, [LOGIN, LOGOUT])
    s = [(r["action"], r["user"], r["t_us"], r["end_time_us"], r["source_ip"], r["pid"])
         for r in _rows(result, "session")]
    assert s == [("login", "alice", T0 + 123456, T0 + 60_000_000, "10.0.0.5", 4242),
                 ("logout", None, T0 + 60_000_000, None, None, 4240)]
    (login,) = _rows(result, "login")
    assert (login["src_ip"], login["src_port"], login["result"], login["source"],
            login["src_format"], login["host"]) == ("10.0.0.5", None, "accepted", "wtmp",
                                                    "utmpdump", "db1")


TIMES = [
    ("utc_comma", "2013-01-16T23:44:09,000000+00:00", 1_358_379_849_000_000),
    ("offset", "2013-01-17T00:44:09,500000+01:00", 1_358_379_849_500_000),
    ("offset_without_colon", "2013-01-16T18:44:09,000001-0500", 1_358_379_849_000_001),
    ("dot_instead_of_comma", "2013-01-16T23:44:09.25+00:00", 1_358_379_849_250_000),
]


@pytest.mark.parametrize(("stamp", "t_us"), [t[1:] for t in TIMES], ids=[t[0] for t in TIMES])
def test_time(tmp_path: Path, stamp: str, t_us: int) -> None:
    """Constructed: ISO 8601 with a comma before the microseconds and a numeric offset."""
    line = f"[2] [00000] [~~  ] [reboot  ] [~           ] [5.10.0] [0.0.0.0        ] [{stamp}]"
    (row,) = _rows(_read(tmp_path, [line]), "session")
    assert (row["action"], row["t_us"]) == ("boot", t_us)


def test_damaged_lines(tmp_path: Path) -> None:
    """Constructed: a blank line, a line of seven fields, an old ctime-style time, a bad type."""
    lines = [LOGIN, "", "[7] [1] [ts/0] [bob] [pts/1] [10.0.0.6] [10.0.0.6]",
             "[7] [1] [ts/0] [bob] [pts/1] [h] [0.0.0.0] [Thu Jan 17 00:44:09 2013 CET]",
             "[12] [1] [ts/0] [bob] [pts/1] [h] [0.0.0.0] [2013-01-16T23:44:09,000000+00:00]",
             LOGOUT]
    a = _read(tmp_path, lines).account
    assert (a.read, a.normalised, a.meta, a.malformed) == (6, 2, 1, 3)
    assert [(i.location(), i.message) for i in a.issues] == [
        ("wtmp.txt:3", "not a utmpdump record (eight bracketed fields)"),
        ("wtmp.txt:4", "unreadable time Thu Jan 17 00:44:09 2013 CET"),
        ("wtmp.txt:5", "ut_type 12 is not a utmp record type (0-9)")]


SNIFF = [
    ("records", f"{LOGIN}\n{LOGOUT}\n", True),
    ("corpus_style", "[7] [17058] [ts/1] [kerolasa] [pts/1       ] [:0.0                ] "
     "[0.0.0.0        ] [2013-01-16T23:44:09,000000+00:00]\n", True),
    ("last_output", "rick     long         never-gonna-log* Thu Jan  1 00:00 - 03:14\n", False),
    ("syslog", "Jun 10 12:00:00 srv sshd[42]: x\n", False),
    ("bracketed_syslog_tag", "Mar  3 00:17:22 [sshd]: Invalid user u from 10.0.0.1\n", False),
    ("empty", "", False),
]


@pytest.mark.parametrize(("text", "claimed"), [s[1:] for s in SNIFF], ids=[s[0] for s in SNIFF])
def test_sniff(text: str, claimed: bool) -> None:
    assert utmpdump.sniff(text.encode()) is claimed


CORPUS = [
    ("util-linux-wtmp/utmp_txt-a", "util-linux-wtmp/utmp_wtmp-a.LE", 19, 12, 7),
    ("util-linux-wtmp/utmp_txt-b", "util-linux-wtmp/utmp_wtmp-b.LE", 10, 10, 0),
    ("util-linux-wtmp/utmp_txt-ipv6", "util-linux-wtmp/utmp_wtmp-ipv6.LE", 2, 2, 0),
]


@pytest.mark.parametrize(("rel", "binary", "read", "norm", "skipped"), CORPUS,
                         ids=[c[0] for c in CORPUS])
def test_corpus_agrees_with_the_binary_file(corpus: Path, rel: str, binary: str, read: int,
                                            norm: int, skipped: int) -> None:
    assert readers.sniff(read_head(corpus / rel)) is utmpdump
    con = duckdb.connect()
    text = utmpdump.read(ReadContext(path=corpus / rel, rel=rel, con=con, host="corpus",
                                     host_origin="option"))
    binr = wtmp.read(ReadContext(path=corpus / binary, rel=binary, con=con, host="corpus",
                                 host_origin="option"))
    a = text.account
    assert a.balanced()
    assert (a.read, a.normalised, sum(a.skipped_by_type.values()), a.meta, a.malformed) == (
        read, norm, skipped, 0, 0)
    assert a.skipped_by_type == binr.account.skipped_by_type
    for table in ("session", "login"):
        drop = {"src_file", "src_format", "row_id"}
        got = [{k: v for k, v in r.items() if k not in drop} for r in _rows(text, table)]
        want = [{k: v for k, v in r.items() if k not in drop} for r in _rows(binr, table)]
        assert got == want, table
