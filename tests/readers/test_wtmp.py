"""Tests for the binary utmp/wtmp reader (FORMATS §4.8) and the rows shared with utmpdump.

Corpus counts were taken independently of the reader: records = file size / 384 (``ls -l``:
7296, 3840 and 768 bytes); types per file from the utmpdump text of the same files
(``awk -F'[][]' '{print $2}' utmp_txt-a | sort | uniq -c``: 0:1 1:3 2:3 3:1 4:1 5:1 6:1 7:4 8:3
9:1; ``grep -c '^\\[1\\] .*\\[shutdown\\]'``: 2 of the three RUN_LVL records are shutdowns);
session start and end values from the ``expected_last-*`` ``last`` output (full-time sections)
and ``utmp_txt-*``. Binary inputs that are not corpus files are constructed with ``struct``
(labelled so).
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail import readers
from agenttrail.model import ReadResult
from agenttrail.readers import wtmp
from agenttrail.readers._io import ReadContext, read_head

T0 = 1_767_607_200  # 2026-01-05T10:00:00Z in epoch seconds
_FMT = "<hhi32s4s32s256shhiIi16s20s"
assert struct.calcsize(_FMT) == 384


def ut(typ: int, *, pid: int = 0, line: str | bytes = "", uid: str = "", user: str | bytes = "",
       host: str = "", t: int = T0, usec: int = 0, addr: str | None = None,
       pad: int = 0) -> bytes:
    """A constructed glibc ``struct utmp`` record (x86-64 layout, little-endian)."""
    raw = b"\0" * 16
    if addr is not None:
        ip = ip_address(addr)
        raw = ip.packed if ip.version == 6 else ip.packed + b"\0" * 12
    enc = [v if isinstance(v, bytes) else v.encode() for v in (line, uid, user, host)]
    return struct.pack(_FMT, typ, pad, pid, enc[0], enc[1], enc[2], enc[3], 0, 0, 0, t, usec,
                       raw, b"")


def _read(tmp_path: Path, data: bytes, name: str = "wtmp", **kw: Any) -> ReadResult:
    path = tmp_path / name
    path.write_bytes(data)
    kw.setdefault("host", "db1")
    kw.setdefault("host_origin", "path")
    result = wtmp.read(ReadContext(path=path, rel=name, con=duckdb.connect(), **kw))
    assert result.account.balanced(), result.account.to_dict()
    assert result.account.format == "wtmp"
    return result


def _rows(result: ReadResult, table: str) -> list[dict[str, Any]]:
    t = result.tables.get(table)
    return [] if t is None else t.to_pylist()


def _us(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp()) * 1_000_000


def _sessions(result: ReadResult) -> list[tuple[Any, ...]]:
    return [(r["action"], r["user"], r["t_us"], r["end_time_us"], r["source_ip"], r["pid"],
             r["src_line"]) for r in _rows(result, "session")]


# --- one ssh login ------------------------------------------------------------------------------

def test_ssh_login_and_logout(tmp_path: Path) -> None:
    """Constructed: sshd's USER_PROCESS on pts/0 from 10.0.0.5, then its DEAD_PROCESS (empty user,
    another pid: pairing is by line)."""
    data = ut(7, pid=4242, line="pts/0", uid="ts/0", user="alice", host="10.0.0.5", t=T0,
              usec=123456, addr="10.0.0.5") + ut(8, pid=4240, line="pts/0", uid="ts/0", t=T0 + 60)
    result = _read(tmp_path, data)
    assert _sessions(result) == [
        ("login", "alice", T0 * 10**6 + 123456, (T0 + 60) * 10**6, "10.0.0.5", 4242, 1),
        ("logout", None, (T0 + 60) * 10**6, None, None, 4240, 2)]
    s = _rows(result, "session")[0]
    assert (s["kind"], s["success"], s["host"], s["host_inferred"], s["src_format"],
            s["src_file"], s["uid"], s["asid"]) == ("utmp", True, "db1", False, "wtmp", "wtmp",
                                                    None, None)
    assert s["time"] == datetime.fromtimestamp(T0 + 0.123456, UTC)
    (login,) = _rows(result, "login")
    got = {k: login[k] for k in ("t_us", "host", "host_inferred", "user", "src_ip", "src_port",
                                 "server_ip", "program", "method", "result", "pid", "source",
                                 "time_inferred", "year_inferred", "src_line", "src_format")}
    assert got == {"t_us": T0 * 10**6 + 123456, "host": "db1", "host_inferred": False,
                   "user": "alice", "src_ip": "10.0.0.5", "src_port": None, "server_ip": None,
                   "program": None, "method": None, "result": "accepted", "pid": 4242,
                   "source": "wtmp", "time_inferred": False, "year_inferred": False,
                   "src_line": 1, "src_format": "wtmp"}
    (span,) = _rows(result, "source_span")
    assert (span["host"], span["source"], span["format"], span["records"], span["sshd_records"],
            span["first_t_us"], span["last_t_us"]) == (
        "db1", "wtmp", "wtmp", 2, 0, T0 * 10**6 + 123456, (T0 + 60) * 10**6)


def test_host_from_option_is_inferred(tmp_path: Path) -> None:
    result = _read(tmp_path, ut(7, line="pts/0", user="a", host="10.0.0.5"), host_origin="option")
    assert _rows(result, "login")[0]["host_inferred"] is True
    assert result.account.host == "db1"


# --- pairing -------------------------------------------------------------------------------------

def test_logins_end_at_the_next_record_of_their_line_or_at_boot_and_shutdown(
        tmp_path: Path) -> None:
    """Constructed: a logout on another line does not end a login; a new login on the same line
    does; a shutdown ends every open login (``down``), a boot without a shutdown too
    (``crash``); a boot ends at the next shutdown or boot."""
    recs = [
        ut(2, line="~", uid="~~", user="reboot", t=T0),  # 1 boot
        ut(7, pid=10, line="pts/0", user="a", t=T0 + 10),  # 2 ends at 4 (same line)
        ut(8, pid=11, line="pts/1", t=T0 + 20),  # 3 another line
        ut(7, pid=12, line="pts/0", user="b", t=T0 + 30),  # 4 ends at 6 (shutdown)
        ut(7, pid=13, line="pts/2", user="c", t=T0 + 40),  # 5 ends at 6 (shutdown)
        ut(1, pid=0, line="~", uid="~~", user="shutdown", t=T0 + 50),  # 6
        ut(2, line="~", uid="~~", user="reboot", t=T0 + 60),  # 7 boot, ended by crash at 9
        ut(7, pid=14, line="pts/0", user="d", t=T0 + 70),  # 8 ends at 9 (boot: crash)
        ut(2, line="~", uid="~~", user="reboot", t=T0 + 80),  # 9 boot, still running
        ut(7, pid=15, line="tty1", user="e", t=T0 + 90),  # 10 still logged in
        ut(1, pid=0, line="~", uid="~~", user="runlevel", t=T0 + 91),  # 11 skipped
    ]
    result = _read(tmp_path, b"".join(recs))
    s = T0 * 10**6
    assert [(a, u, t - s, None if e is None else e - s, line)
            for a, u, t, e, _, _, line in _sessions(result)] == [
        ("boot", "reboot", 0, 50_000_000, 1),
        ("login", "a", 10_000_000, 30_000_000, 2),
        ("logout", None, 20_000_000, None, 3),
        ("login", "b", 30_000_000, 50_000_000, 4),
        ("login", "c", 40_000_000, 50_000_000, 5),
        ("shutdown", "shutdown", 50_000_000, None, 6),
        ("boot", "reboot", 60_000_000, 80_000_000, 7),
        ("login", "d", 70_000_000, 80_000_000, 8),
        ("boot", "reboot", 80_000_000, None, 9),
        ("login", "e", 90_000_000, None, 10),
    ]
    assert result.account.skipped_by_type == {"run_lvl": 1}
    assert _rows(result, "login") == []  # no remote host on any of them


# --- remote hosts and addresses --------------------------------------------------------------------

REMOTE = [
    # id, ut_host, ut_addr_v6, login src_ip (None: no login row)
    ("ipv4_host_and_addr", "10.0.0.5", "10.0.0.5", "10.0.0.5"),
    ("ipv4_host_only", "10.0.0.5", None, "10.0.0.5"),
    ("dns_name_with_addr", "laptop.example.com", "10.0.0.6", "10.0.0.6"),
    ("dns_name_usedns", "laptop.example.com", None, "laptop.example.com"),
    ("ipv6_addr", "2001:db8::7", "2001:db8::7", "2001:db8::7"),
    ("ipv6_host_only_uncompressed", "2001:0db8:0000:0000:0000:0000:0000:0007", None,
     "2001:db8::7"),
    ("v4_mapped_host", "::ffff:10.0.0.7", None, "10.0.0.7"),
    ("x_display", ":0", None, None),
    ("x_display_screen", ":0.0", None, None),
    ("tmux", "tmux(1234).%0", None, None),
    ("empty", "", None, None),
    ("addr_without_host", "", "192.0.2.9", "192.0.2.9"),
]


@pytest.mark.parametrize(("host", "addr", "src_ip"), [r[1:] for r in REMOTE],
                         ids=[r[0] for r in REMOTE])
def test_remote_host(tmp_path: Path, host: str, addr: str | None, src_ip: str | None) -> None:
    """Constructed: which USER_PROCESS records are remote logins, and their address."""
    result = _read(tmp_path, ut(7, pid=5, line="pts/3", user="alice", host=host, addr=addr))
    logins = _rows(result, "login")
    assert [r["src_ip"] for r in logins] == ([] if src_ip is None else [src_ip])
    assert _rows(result, "session")[0]["source_ip"] == src_ip
    if src_ip is not None:
        is_address = not src_ip.endswith(".com")
        assert (logins[0]["src_ip_hi"] is not None) is is_address


# --- field encodings -------------------------------------------------------------------------------

def test_strings_end_at_the_first_nul_or_the_field_end(tmp_path: Path) -> None:
    """Constructed: a 32-byte user without NUL, bytes after a NUL, a Latin-1 user."""
    recs = [ut(7, line="pts/0", user="u" * 32, host="10.0.0.1"),
            ut(7, line=b"pts/1\0garbage", user=b"bob\0junk", host="10.0.0.1"),
            ut(7, line="pts/2", user=b"j\xf6rg", host="10.0.0.1"),
            ut(8, line="pts/1", t=T0 + 5)]  # ends the login whose line is "pts/1\0garbage"
    result = _read(tmp_path, b"".join(recs))
    assert [r["user"] for r in _rows(result, "login")] == ["u" * 32, "bob", "j\xf6rg"]
    assert [r["end_time_us"] for r in _rows(result, "session")] == [
        None, (T0 + 5) * 10**6, None, None]


def test_seconds_are_unsigned(tmp_path: Path) -> None:
    """Constructed: 2^31 + 1 seconds is 2038-01-19T03:14:09Z, not 1901."""
    (row,) = _rows(_read(tmp_path, ut(2, user="reboot", t=2**31 + 1, usec=999_999)), "session")
    assert row["t_us"] == (2**31 + 1) * 10**6 + 999_999
    assert row["time"].year == 2038


# --- damage --------------------------------------------------------------------------------------

def test_trailing_partial_record(tmp_path: Path) -> None:
    """Constructed: two records and 100 more bytes."""
    data = ut(7, line="pts/0", user="a", host="10.0.0.5") + ut(8, line="pts/0") + b"\x07" * 100
    result = _read(tmp_path, data)
    a = result.account
    assert (a.read, a.normalised, a.malformed, a.details["trailing_bytes"]) == (3, 2, 1, 100)
    (issue,) = a.issues
    assert (issue.location(), issue.kind, issue.message) == (
        "wtmp:3", "malformed",
        "trailing partial record of 100 bytes at offset 768 (records are 384 bytes)")


def test_records_that_are_not_utmp_records(tmp_path: Path) -> None:
    """Constructed: a type outside 0-9, padding that is not zero, microseconds out of range."""
    data = (ut(7, line="pts/0", user="a", host="10.0.0.5") + ut(12, user="x")
            + ut(7, user="y", pad=5) + ut(7, user="z", usec=1_000_000) + ut(8, line="pts/0"))
    a = _read(tmp_path, data).account
    assert (a.read, a.normalised, a.malformed) == (5, 2, 3)
    assert [(i.line, i.message.split(":")[0]) for i in a.issues] == [
        (2, "ut_type 12 is not a utmp record type (0-9)"),
        (3, "ut_type 7 is not a utmp record type (0-9)"),
        (4, "ut_tv microseconds 1000000 out of range")]
    assert a.issues[0].excerpt.startswith("[12] [0] [] [x]")


def test_abandons_after_consecutive_malformed_records(tmp_path: Path) -> None:
    """Constructed: three bad records in a row with a limit of 3; the rest is unread."""
    data = ut(2, user="reboot") + ut(99) * 4 + ut(2, user="reboot")
    a = _read(tmp_path, data, max_consecutive_malformed=3).account
    assert (a.read, a.normalised, a.malformed, a.unread) == (6, 1, 3, 2)
    (unread,) = [i for i in a.issues if i.kind == "unread"]
    assert unread.line == 4


def test_empty_file(tmp_path: Path) -> None:
    result = _read(tmp_path, b"")
    assert (result.account.read, _rows(result, "session"), _rows(result, "source_span")) == (
        0, [], [])


# --- sniff -------------------------------------------------------------------------------------

GOOD = ut(7, pid=1, line="pts/0", user="alice", host="10.0.0.5")
SNIFF = [
    ("one_record", GOOD, True),
    ("boot_and_login", ut(2, line="~", user="reboot") + GOOD, True),
    ("whole_file_not_a_multiple", GOOD + b"\0" * 10, False),
    ("head_of_a_large_file", (GOOD * 200)[:65536], True),
    ("bad_type", ut(42) + GOOD, False),
    ("padding_set", ut(7, pad=1), False),
    ("usec_out_of_range", ut(7, usec=2_000_000), False),
    ("control_chars_in_user", ut(7, user=b"a\x01b"), False),
    ("text", b"Jun 10 12:00:00 srv sshd[42]: x\n" * 20, False),
    ("json", b'{"a": 1}\n' * 50, False),
    ("utmpdump_text", b"[7] [17058] [ts/1] [kerolasa] [pts/1] [:0.0] [0.0.0.0] [x]\n", False),
    ("empty", b"", False),
    ("zeros_384", b"\0" * 384, True),
]


@pytest.mark.parametrize(("head", "claimed"), [s[1:] for s in SNIFF], ids=[s[0] for s in SNIFF])
def test_sniff(head: bytes, claimed: bool) -> None:
    assert wtmp.sniff(head) is claimed


def test_no_other_reader_claims_a_wtmp_file() -> None:
    for reader in readers.READERS:
        if reader is not wtmp:
            assert not reader.sniff(GOOD + ut(8, line="pts/0")), reader.NAME
    assert readers.sniff(GOOD) is wtmp


# --- corpus ------------------------------------------------------------------------------------

# file, read, normalised, skipped_by_type, logins with a remote host
CORPUS = [
    ("util-linux-wtmp/utmp_wtmp-a.LE", 19, 12,
     {"empty": 1, "run_lvl": 1, "new_time": 1, "old_time": 1, "init_process": 1,
      "login_process": 1, "accounting": 1}, 4),
    ("util-linux-wtmp/utmp_wtmp-b.LE", 10, 10, {}, 0),
    ("util-linux-wtmp/utmp_wtmp-ipv6.LE", 2, 2, {}, 1),
]


@pytest.mark.parametrize(("rel", "read", "norm", "skipped", "logins"), CORPUS,
                         ids=[c[0] for c in CORPUS])
def test_corpus_counts(corpus: Path, rel: str, read: int, norm: int, skipped: dict[str, int],
                       logins: int) -> None:
    path = corpus / rel
    assert readers.sniff(read_head(path)) is wtmp
    result = wtmp.read(ReadContext(path=path, rel=rel, con=duckdb.connect(), host="corpus",
                                   host_origin="option"))
    a = result.account
    assert a.balanced()
    assert (a.read, a.normalised, a.skipped_by_type, a.meta, a.malformed, a.unread) == (
        read, norm, skipped, 0, 0, 0)
    assert a.issues == []
    assert len(_rows(result, "session")) == norm
    assert len(_rows(result, "login")) == logins
    (span,) = _rows(result, "source_span")
    assert (span["records"], span["sshd_records"]) == (read, 0)


def _corpus(corpus: Path, rel: str) -> ReadResult:
    return wtmp.read(ReadContext(path=corpus / rel, rel=rel, con=duckdb.connect(), host="corpus",
                                 host_origin="option"))


def test_corpus_a_against_last(corpus: Path) -> None:
    """The records ``last`` shows for utmp_wtmp-a whose ut_type is what ``last`` takes them for
    (``expected_last-nodns``, full-time section; addresses from ``-i`` and utmp_txt-a)."""
    rows = _sessions(_corpus(corpus, "util-linux-wtmp/utmp_wtmp-a.LE"))
    # rick     long  never-gonna-log* Thu Jan  1 00:00:00 1970 - Tue Jan 19 03:14:07 2038
    assert ("login", "rick", 0, _us("2038-01-19T03:14:07+00:00"), "never-gonna-logout", 14,
            18) in rows
    # torvalds linux hobby Mon Aug 26 00:57:08 1991   gone - no logout (-i: 128.214.205.14)
    assert ("login", "torvalds", _us("1991-08-26T00:57:08+00:00"), None, "128.214.205.14", 13,
            17) in rows
    # IPv4 root dns-server Wed Aug 28 13:00:00 2013 - Wed Aug 28 14:00:00 2013 (198.41.0.4)
    assert ("login", "IPv4", _us("2013-08-28T13:00:00+00:00"), _us("2013-08-28T14:00:00+00:00"),
            "198.41.0.4", 10, 11) in rows
    # reboot system boot Wed Aug 28 16:00:00 2013 - Wed Aug 28 17:00:00 2013; 18:00 still running
    assert ("boot", "reboot", _us("2013-08-28T16:00:00+00:00"), _us("2013-08-28T17:00:00+00:00"),
            None, 12, 14) in rows
    assert ("boot", "reboot", _us("2013-08-28T18:00:00+00:00"), None, None, 12, 16) in rows
    # shutdown system down 15:00 and 17:00 (last -x)
    assert [(r[2], r[6]) for r in rows if r[0] == "shutdown"] == [
        (_us("2013-08-28T15:00:00+00:00"), 13), (_us("2013-08-28T17:00:00+00:00"), 15)]


def test_corpus_a_crafted_records_follow_ut_type_not_last(corpus: Path) -> None:
    """``last`` shows ``user_pr* foo seven 05:00 - 06:00``: it takes any record with a user and a
    line for a login, so the LOGIN_PROCESS at 06:00 ends it. By ut_type, the 06:00 record is not a
    login and the BOOT_TIME record at 10:00 ("sysboot") is a boot, which ends it."""
    rows = _sessions(_corpus(corpus, "util-linux-wtmp/utmp_wtmp-a.LE"))
    assert ("login", "user_process", _us("2013-08-28T05:00:00+00:00"),
            _us("2013-08-28T10:00:00+00:00"), "seven", 7, 3) in rows
    assert ("boot", "sysboot", _us("2013-08-28T10:00:00+00:00"),
            _us("2013-08-28T15:00:00+00:00"), None, 2, 8) in rows


def test_corpus_b_sessions(corpus: Path) -> None:
    """A developer's X terminals (host ``:0.0``: no remote login), paired by line as in
    utmp_txt-b: each DEAD_PROCESS closes the login on its pts."""
    result = _corpus(corpus, "util-linux-wtmp/utmp_wtmp-b.LE")
    logins = [(r[1], r[2], r[3], r[4], r[5]) for r in _sessions(result) if r[0] == "login"]
    t = _us
    assert logins == [
        ("kerolasa", t("2013-01-16T23:44:09+00:00"), t("2013-01-17T13:42:48+00:00"), None, 17058),
        ("kerolasa", t("2013-01-16T23:49:17+00:00"), t("2013-01-17T13:42:48+00:00"), None, 22098),
        ("kerolasa", t("2013-01-17T12:23:33+00:00"), t("2013-01-17T12:24:49+00:00"), None, 24915),
        ("kerolasa", t("2013-01-17T13:12:39+00:00"), t("2013-01-17T13:42:19+00:00"), None, 30629),
        ("kerolasa", t("2013-01-17T20:17:21+00:00"), None, None, 31545),
        ("kerolasa", t("2013-01-17T21:09:39+00:00"), None, None, 28496),
    ]
    assert _rows(result, "login") == []


def test_corpus_ipv6(corpus: Path) -> None:
    """``IPv6 root … Wed Aug 28 20:30 - 20:40 (00:10) 2001:503:ba3e::2:30`` (last -a -i)."""
    result = _corpus(corpus, "util-linux-wtmp/utmp_wtmp-ipv6.LE")
    assert _sessions(result) == [
        ("login", "IPv6", _us("2013-08-28T20:30:40+00:00"), _us("2013-08-28T20:40:50+00:00"),
         "2001:503:ba3e::2:30", 10, 1),
        ("logout", "IPv6", _us("2013-08-28T20:40:50+00:00"), None, None, 11, 2)]
    (login,) = _rows(result, "login")
    assert (login["src_ip"], login["user"], login["result"], login["source"]) == (
        "2001:503:ba3e::2:30", "IPv6", "accepted", "wtmp")
