"""Tests for the journald reader (FORMATS §4.5; systemd.journal-fields(7), journald's JSON and
export formats) and the simulate converter to ``journalctl -o json``.

No real ``journalctl -o json`` or ``-o export`` file is in the corpus: every journal input here is
constructed by the test (labelled so), from FORMATS' field list and the export format's framing.
The fail2ban ``sshd-journal`` corpus file is journal *short* output without timestamps; it stays
with the syslog reader (asserted below), and its 129 message texts are replayed as constructed
JSON records and compared line by line with the syslog reader's reading of the same texts.
"""

from __future__ import annotations

import json
import re
import struct
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail import readers
from agenttrail.model import ReadResult
from agenttrail.readers import journald, sshd_syslog
from agenttrail.readers._io import ReadContext, read_head
from tests.readers.test_sshd_syslog import FIELDS, MESSAGES

T0 = 1_767_607_200_000_000  # 2026-01-05T10:00:00Z in epoch µs
ACCEPT = "Accepted publickey for alice from 10.0.0.5 port 51234 ssh2: ED25519 SHA256:abc"


def rec(msg: Any = ACCEPT, **fields: Any) -> dict[str, Any]:
    """A constructed ``journalctl -o json`` record of sshd on db1 (override or drop with None)."""
    base: dict[str, Any] = {
        "__CURSOR": "s=0123;i=2f1;b=ab;m=1;t=2;x=3", "__REALTIME_TIMESTAMP": str(T0),
        "__MONOTONIC_TIMESTAMP": "12345", "_BOOT_ID": "ab", "_HOSTNAME": "db1",
        "_TRANSPORT": "syslog", "PRIORITY": "6", "SYSLOG_FACILITY": "4",
        "SYSLOG_IDENTIFIER": "sshd", "SYSLOG_PID": "1921", "_PID": "1921", "_UID": "0",
        "_COMM": "sshd", "_EXE": "/usr/sbin/sshd", "_CMDLINE": "sshd: alice [priv]",
        "_SYSTEMD_UNIT": "ssh.service", "MESSAGE": msg,
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def _read(tmp_path: Path, content: str | bytes, name: str = "journal.json",
          **kw: Any) -> ReadResult:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    result = journald.read(ReadContext(path=path, rel=name, con=duckdb.connect(), **kw))
    assert result.account.balanced(), result.account.to_dict()
    assert result.account.format == "journald"
    return result


def _json(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _export(records: list[dict[str, Any]], binary: tuple[str, ...] = ()) -> bytes:
    """The export format: ``KEY=value`` lines, ``binary`` fields as KEY, le64 length, bytes."""
    out = bytearray()
    for r in records:
        for k, v in r.items():
            raw = v if isinstance(v, bytes) else str(v).encode()
            if k in binary or isinstance(v, bytes):
                out += k.encode() + b"\n" + struct.pack("<Q", len(raw)) + raw + b"\n"
            else:
                out += k.encode() + b"=" + raw + b"\n"
        out += b"\n"
    return bytes(out)


def _rows(result: ReadResult, table: str = "login") -> list[dict[str, Any]]:
    t = result.tables.get(table)
    return [] if t is None else t.to_pylist()


# --- the message catalogue is the syslog reader's ------------------------------------------------

@pytest.mark.parametrize(("message", "expected"), [m[1:] for m in MESSAGES],
                         ids=[m[0] for m in MESSAGES])
def test_message(tmp_path: Path, message: str, expected: dict[str, Any]) -> None:
    """Constructed: each message of the syslog reader's table, as MESSAGE of one record."""
    result = _read(tmp_path, _json([rec(message)]))
    (row,) = _rows(result)
    assert {k: row[k] for k in FIELDS} == expected
    got = (row["host"], row["host_inferred"], row["program"], row["pid"], row["src_line"],
           row["source"], row["src_format"], row["src_file"], row["t_us"], row["time_inferred"],
           row["year_inferred"], row["src_seq"])
    assert got == ("db1", False, "sshd", 1921, 1, "journald", "journald", "journal.json", T0,
                   False, False, 0x2F1)


# --- value encodings (-o json) -----------------------------------------------------------------

FAILED = "Failed password for root from 10.1.1.1 port 2222 ssh2"
ENCODINGS = [
    ("string", FAILED, FAILED, "failed"),
    ("repeated_field_first_value", [FAILED, "Invalid user x from 1.2.3.4"], FAILED, "failed"),
    ("byte_array_utf8", list(FAILED.encode()), FAILED, "failed"),
    ("byte_array_not_utf8_latin1", list(b"Invalid user b\xe9b from 10.0.0.1 port 7"),
     "Invalid user b\xe9b from 10.0.0.1 port 7", "invalid"),
    ("repeated_binary_first", [list(FAILED.encode()), [65]], FAILED, "failed"),
    ("null_too_large", None, "", "sshd_unmatched"),
    ("number_not_string", 12, "12", "sshd_unmatched"),
]


@pytest.mark.parametrize(("value", "text", "outcome"), [e[1:] for e in ENCODINGS],
                         ids=[e[0] for e in ENCODINGS])
def test_value_encoding(tmp_path: Path, value: Any, text: str, outcome: str) -> None:
    """Constructed: MESSAGE as string, repeated values, byte arrays, null, a bare number."""
    r = rec()
    r["MESSAGE"] = value
    result = _read(tmp_path, json.dumps(r) + "\n")
    rows = _rows(result)
    if outcome.startswith("sshd_"):
        assert (rows, result.account.skipped_by_type) == ([], {outcome: 1})
    else:
        (row,) = rows
        assert (row["message"], row["result"]) == (text, outcome)


def test_repeated_and_numeric_metadata_fields(tmp_path: Path) -> None:
    """Constructed: _PID repeated, __REALTIME_TIMESTAMP as a JSON number."""
    r = rec(_PID=["77", "78"], __REALTIME_TIMESTAMP=T0 + 5)
    (row,) = _rows(_read(tmp_path, json.dumps(r) + "\n"))
    assert (row["pid"], row["t_us"]) == (77, T0 + 5)


# --- which records are sshd's --------------------------------------------------------------------

SSHD_IDENTITY = [
    # id, overrides, status, program
    ("comm_sshd", {}, "normalised", "sshd"),
    ("comm_sshd_session", {"_COMM": "sshd-session", "SYSLOG_IDENTIFIER": "sshd-session"},
     "normalised", "sshd-session"),
    ("comm_sshd_auth", {"_COMM": "sshd-auth", "SYSLOG_IDENTIFIER": "sshd-auth"}, "normalised",
     "sshd-auth"),
    ("identifier_only", {"_COMM": None}, "normalised", "sshd"),
    ("unit_only_debian", {"_COMM": None, "SYSLOG_IDENTIFIER": None}, "normalised", None),
    ("unit_only_rhel", {"_COMM": None, "SYSLOG_IDENTIFIER": None, "_SYSTEMD_UNIT": "sshd.service"},
     "normalised", None),
    ("unit_only_per_connection", {"_COMM": None, "SYSLOG_IDENTIFIER": None,
                                  "_SYSTEMD_UNIT": "sshd@3-10.0.0.1:22-10.0.0.5:51234.service"},
     "normalised", None),
    ("forged_with_logger", {"_COMM": "logger"}, "sshd_identifier_mismatch", "logger"),
    ("other_program", {"_COMM": "systemd-logind", "SYSLOG_IDENTIFIER": "systemd-logind",
                       "_SYSTEMD_UNIT": "systemd-logind.service"}, "other_program",
     "systemd-logind"),
    ("comm_wins_over_identifier", {"SYSLOG_IDENTIFIER": "myapp"}, "normalised", "myapp"),
    ("unit_is_not_enough_with_a_comm", {"_COMM": "bash", "SYSLOG_IDENTIFIER": "bash"},
     "other_program", "bash"),
    ("nothing_names_a_program", {"_COMM": None, "SYSLOG_IDENTIFIER": None, "_SYSTEMD_UNIT": None},
     "other_program", None),
]


@pytest.mark.parametrize(("fields", "status", "program"), [s[1:] for s in SSHD_IDENTITY],
                         ids=[s[0] for s in SSHD_IDENTITY])
def test_sshd_identity(tmp_path: Path, fields: dict[str, Any], status: str,
                       program: str | None) -> None:
    """Constructed: _COMM decides when present, else SYSLOG_IDENTIFIER, else _SYSTEMD_UNIT."""
    result = _read(tmp_path, _json([rec(**fields)]))
    a = result.account
    if status == "normalised":
        assert (a.normalised, a.skipped_by_type) == (1, {})
        assert _rows(result)[0]["program"] == program
    else:
        assert (a.normalised, a.skipped_by_type, _rows(result)) == (0, {status: 1}, [])
    (span,) = _rows(result, "source_span")
    assert (span["program"], span["records"], span["sshd_records"]) == (
        program, 1, int(status == "normalised"))
    warnings = [i for i in a.issues if i.kind == "warning"]
    if status == "sshd_identifier_mismatch":
        (w,) = warnings
        assert (w.location(), "logger -t sshd" in w.hint) == ("journal.json:1", True)
    else:
        assert warnings == []


# --- time, host, sequence ------------------------------------------------------------------------

TIMES = [
    ("realtime_only", {}, T0),
    ("source_realtime_preferred", {"_SOURCE_REALTIME_TIMESTAMP": str(T0 - 1500)}, T0 - 1500),
    ("unparsable_source_falls_back", {"_SOURCE_REALTIME_TIMESTAMP": "soon"}, T0),
]


@pytest.mark.parametrize(("fields", "t_us"), [t[1:] for t in TIMES], ids=[t[0] for t in TIMES])
def test_time(tmp_path: Path, fields: dict[str, Any], t_us: int) -> None:
    """Constructed: _SOURCE_REALTIME_TIMESTAMP when present, else __REALTIME_TIMESTAMP (µs)."""
    (row,) = _rows(_read(tmp_path, _json([rec(**fields)])))
    assert (row["t_us"], row["time_inferred"], row["year_inferred"]) == (t_us, False, False)
    assert row["time"].timestamp() * 1_000_000 == pytest.approx(t_us)


HOSTS = [
    # id, _HOSTNAME, ctx host, host, host_inferred, warnings
    ("own_host_lower_case", "DB1.example", None, "db1.example", False, 0),
    ("own_host_beats_ctx", "db1", "other", "db1", False, 0),
    ("localhost_takes_ctx", "localhost", "db2", "db2", True, 0),
    ("missing_takes_ctx", None, "db2", "db2", True, 0),
    ("none_at_all", None, None, None, None, 1),
]


@pytest.mark.parametrize(("hostname", "ctx_host", "host", "inferred", "warnings"),
                         [h[1:] for h in HOSTS], ids=[h[0] for h in HOSTS])
def test_host(tmp_path: Path, hostname: str | None, ctx_host: str | None, host: str | None,
              inferred: bool | None, warnings: int) -> None:
    """Constructed: _HOSTNAME, localhost counting as none, then the context's host."""
    result = _read(tmp_path, _json([rec(_HOSTNAME=hostname)]), host=ctx_host)
    (row,) = _rows(result)
    assert (row["host"], row["host_inferred"]) == (host, inferred)
    assert len([i for i in result.account.issues if i.kind == "warning"]) == warnings
    assert result.account.host == host


SEQS = [
    ("seqnum", {"__SEQNUM": "753"}, 753),
    ("cursor_hex", {}, 0x2F1),
    ("no_sequence", {"__CURSOR": None}, None),
    ("cursor_without_i", {"__CURSOR": "s=1;b=2"}, None),
]


@pytest.mark.parametrize(("fields", "seq"), [s[1:] for s in SEQS], ids=[s[0] for s in SEQS])
def test_sequence(tmp_path: Path, fields: dict[str, Any], seq: int | None) -> None:
    """Constructed: __SEQNUM, else the cursor's i= (hex)."""
    (row,) = _rows(_read(tmp_path, _json([rec(**fields)])))
    assert row["src_seq"] == seq


def test_source_span_counts_every_program(tmp_path: Path) -> None:
    """Constructed: other programs extend coverage; sshd_records counts only sshd's records."""
    records = [
        rec("(root) CMD (true)", _COMM="cron", SYSLOG_IDENTIFIER="CRON", __REALTIME_TIMESTAMP=T0),
        rec(__REALTIME_TIMESTAMP=T0 + 5_000_000),
        rec("pam_unix(sshd:session): session opened for user alice(uid=1001) by (uid=0)",
            __REALTIME_TIMESTAMP=T0 + 6_000_000),
        rec("New session 4 of user alice.", _COMM="systemd-logind",
            SYSLOG_IDENTIFIER="systemd-logind", __REALTIME_TIMESTAMP=T0 + 7_000_000),
        rec("(root) CMD (true)", _COMM="cron", SYSLOG_IDENTIFIER="CRON", _HOSTNAME="web",
            __REALTIME_TIMESTAMP=T0 + 9_000_000),
        rec("(root) CMD (true)", _COMM="cron", SYSLOG_IDENTIFIER="CRON",
            __REALTIME_TIMESTAMP=T0 + 20_000_000),
    ]
    result = _read(tmp_path, _json(records))
    a = result.account
    assert (a.read, a.normalised, a.skipped_by_type) == (
        6, 1, {"other_program": 4, "sshd_pam": 1})
    got = [(s["host"], s["program"], s["first_t_us"] - T0, s["last_t_us"] - T0, s["records"],
            s["sshd_records"], s["source"], s["format"]) for s in _rows(result, "source_span")]
    assert got == [
        ("db1", "CRON", 0, 20_000_000, 2, 0, "journald", "journald"),
        ("db1", "sshd", 5_000_000, 6_000_000, 2, 2, "journald", "journald"),
        ("db1", "systemd-logind", 7_000_000, 7_000_000, 1, 0, "journald", "journald"),
        ("web", "CRON", 9_000_000, 9_000_000, 1, 0, "journald", "journald"),
    ]
    assert a.details["hosts"] == ["db1", "web"]


def test_server_address_propagates_like_syslog(tmp_path: Path) -> None:
    """Constructed: a VERBOSE Connection-from record gives its server address to the login."""
    records = [rec("Connection from 10.0.0.5 port 51234 on 10.0.0.1 port 22"),
               rec(__REALTIME_TIMESTAMP=T0 + 1)]
    rows = _rows(_read(tmp_path, _json(records)))
    assert [(r["result"], r["server_ip"], r["server_port"]) for r in rows] == [
        ("connection", "10.0.0.1", 22), ("accepted", "10.0.0.1", 22)]


# --- damaged -o json ---------------------------------------------------------------------------

def test_damaged_json_lines_have_locations(tmp_path: Path) -> None:
    """Constructed: a non-JSON line, a JSON array, a blank line, a record without a time."""
    lines = [json.dumps(rec()), "not json", "", "[1, 2]",
             json.dumps(rec(__REALTIME_TIMESTAMP=None)),
             '{"__REALTIME_TIMESTAMP": "1767607200000000", "MESSAGE": "cut']
    result = _read(tmp_path, "\n".join(lines))
    a = result.account
    assert (a.read, a.normalised, a.meta, a.malformed) == (6, 1, 1, 4)
    issues = sorted((i.line, i.location(), i.message) for i in a.issues
                     if i.kind == "malformed")
    issues = [(loc, msg) for _, loc, msg in issues]
    assert [loc for loc, _ in issues] == [
        "journal.json:2", "journal.json:4", "journal.json:5", "journal.json:6"]
    assert issues[2][1] == "journal record without __REALTIME_TIMESTAMP"
    assert "not an object" in issues[1][1]
    assert "truncated" in issues[3][1]


def test_abandons_after_consecutive_records_without_time(tmp_path: Path) -> None:
    """Constructed: the fourth and later records after three malformed in a row are unread."""
    bad = rec(__REALTIME_TIMESTAMP=None)
    result = _read(tmp_path, _json([rec(), bad, bad, bad, bad, rec()]),
                   max_consecutive_malformed=3)
    a = result.account
    assert (a.read, a.normalised, a.malformed, a.unread) == (6, 1, 3, 2)
    (unread,) = [i for i in a.issues if i.kind == "unread"]
    assert unread.line == 4


# --- -o export ---------------------------------------------------------------------------------

def test_export_reads_like_json(tmp_path: Path) -> None:
    """Constructed: the same three records in both formats give the same rows; export records
    are located at their first line."""
    records = [rec(), rec(FAILED, __REALTIME_TIMESTAMP=str(T0 + 1), __SEQNUM="9"),
               rec("hello", _COMM="cron", SYSLOG_IDENTIFIER="CRON")]
    j = _read(tmp_path, _json(records))
    e = _read(tmp_path, _export(records), name="journal.export")
    keys = [k for k in _rows(j)[0] if k not in ("src_line", "src_file", "row_id")]
    assert [{k: r[k] for k in keys} for r in _rows(e)] == [{k: r[k] for k in keys}
                                                          for r in _rows(j)]
    n = len(records[0]) + 1  # lines per record, with the empty line after it
    assert [r["src_line"] for r in _rows(e)] == [1, n + 1]
    a = e.account
    assert (a.read, a.normalised, a.skipped_by_type, a.meta, a.details["style"]) == (
        3, 2, {"other_program": 1}, 0, "export")
    assert _rows(e, "source_span") == _rows(j, "source_span")


def test_export_binary_fields(tmp_path: Path) -> None:
    """Constructed: MESSAGE as a binary field (UTF-8 and not), and a text field after it."""
    bad_utf8 = b"Invalid user b\xe9b from 10.0.0.1 port 7"
    records = [rec(FAILED.encode(), _PID="5"), rec(bad_utf8, __REALTIME_TIMESTAMP=str(T0 + 1))]
    result = _read(tmp_path, _export(records), name="j.export")
    rows = _rows(result)
    assert [(r["result"], r["message"], r["pid"], r["src_line"]) for r in rows] == [
        ("failed", FAILED, 5, 1),
        ("invalid", "Invalid user b\xe9b from 10.0.0.1 port 7", 1921, len(records[0]) + 3)]
    assert result.account.details["export_binary_fields"] is True


def test_export_binary_message_with_newline_keeps_line_numbers(tmp_path: Path) -> None:
    """Constructed: a binary field holding a newline; the next record's first line counts it."""
    records = [rec(b"first\nsecond"), rec(FAILED, __REALTIME_TIMESTAMP=str(T0 + 1))]
    data = _export(records)
    result = _read(tmp_path, data, name="j.export")
    second_start = data.index(b"__CURSOR", 1)
    want_line = data.count(b"\n", 0, second_start) + 1
    assert [(r["result"], r["src_line"]) for r in _rows(result)] == [("failed", want_line)]
    assert result.account.skipped_by_type == {"sshd_unmatched": 1}


def test_export_damage(tmp_path: Path) -> None:
    """Constructed: a binary length running past the file, a line that is not FIELD=value, a
    record without a time, extra empty lines and no final empty line."""
    good = _export([rec()])
    no_eq = b"__REALTIME_TIMESTAMP=1767607200000000\nlower=case\nMESSAGE=x\n\n"
    no_time = b"MESSAGE=" + FAILED.encode() + b"\n_COMM=sshd\n\n\n\n"
    broken = (b"__REALTIME_TIMESTAMP=1767607200000000\nMESSAGE\n" + struct.pack("<Q", 10**6)
              + b"ab")
    data = good + no_eq + no_time + good + broken
    result = _read(tmp_path, data, name="j.export")
    a = result.account
    assert (a.read, a.normalised, a.malformed, a.meta) == (5, 2, 3, 0)
    n = good.count(b"\n")
    issues = [(i.line, i.message) for i in a.issues if i.kind == "malformed"]
    assert issues == [
        (n + 1, f"line {n + 2} is not FIELD=value"),
        (n + 5, "journal record without __REALTIME_TIMESTAMP"),
        (2 * n + 10, "binary field 'MESSAGE' has a length that runs past its record; the rest of "
                    "the record is skipped"),
    ]


def test_export_field_over_the_limit(tmp_path: Path) -> None:
    """Constructed: a MESSAGE longer than max_line_bytes makes its record malformed."""
    result = _read(tmp_path, _export([rec("x" * 300), rec()]), name="j.export",
                   max_line_bytes=200)
    a = result.account
    assert (a.read, a.normalised, a.malformed, a.skipped_by_type) == (2, 1, 1, {})
    (issue,) = [i for i in a.issues if i.kind == "malformed"]
    assert (issue.line, issue.message) == (
        1, "field MESSAGE of 300 characters is longer than the limit of 200")


def test_empty_file(tmp_path: Path) -> None:
    result = _read(tmp_path, "")
    assert (result.account.read, _rows(result)) == (0, [])


# --- sniff -------------------------------------------------------------------------------------

SNIFF = [
    ("json", _json([rec()]).encode(), True),
    ("json_cursor_only", b'{"__CURSOR":"s=1","MESSAGE":"x"}\n', True),
    ("export", _export([rec()]), True),
    ("export_binary_first", _export([{"MESSAGE": b"x\x00y", "__REALTIME_TIMESTAMP": "1"}]), False),
    ("export_cursor_later", b"A=1\nB=2\n__CURSOR=s=1\n\n", True),
    ("key_value_text", b"name=value\nother=thing\n\n", False),
    ("ini_file", b"[section]\nkey=value\n", False),
    ("eslogger", b'{"schema_version":1,"event_type":9,"event":{"exec":{}}}\n', False),
    ("zeek_json", b'{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1"}\n', False),
    ("syslog", b"Jun 10 12:00:00 srv sshd[42]: Invalid user u from 10.0.0.1 port 1\n", False),
    ("journal_short", b"srv sshd[13709]: Invalid user u from 10.0.0.1 port 1\n", False),
    ("empty", b"", False),
]


@pytest.mark.parametrize(("head", "claimed"), [s[1:] for s in SNIFF], ids=[s[0] for s in SNIFF])
def test_sniff(head: bytes, claimed: bool) -> None:
    assert journald.sniff(head) is claimed


def test_json_and_export_go_to_this_reader() -> None:
    assert readers.sniff(_json([rec()]).encode()) is journald
    assert readers.sniff(_export([rec()])) is journald


# --- the fail2ban sshd-journal corpus file ---------------------------------------------------------

JOURNAL = "fail2ban-sshd/sshd-journal"
_SHORT = re.compile(r"^(\S+) (sshd(?:-session)?)\[(\d+)\]: (.*)$")


def test_sshd_journal_corpus_file_belongs_to_the_syslog_reader(corpus: Path) -> None:
    """Journal short output without timestamps (``srv sshd[pid]: msg``): not JSON or export, so
    the syslog reader keeps it and explains why its lines cannot be used."""
    head = read_head(corpus / JOURNAL)
    assert not journald.sniff(head)
    assert readers.sniff(head) is sshd_syslog


def test_sshd_journal_messages_as_json_records(corpus: Path, tmp_path: Path) -> None:
    """Constructed from the corpus: each of the 129 ``srv sshd[pid]: msg`` lines of
    sshd-journal (``grep -vcE '^#|^$'``; all match ``^srv sshd\\[[0-9]+\\]: ``) becomes one JSON
    record; the same texts as RFC 3339 syslog lines go to the syslog reader. Both readers must
    give the same login rows, and the same counts, record by record."""
    src = (corpus / JOURNAL).read_text(encoding="utf-8").splitlines()
    records, lines = [], []
    for i, line in enumerate(src, 1):
        m = _SHORT.match(line)
        if not m:
            continue
        records.append(rec(m[4], _HOSTNAME=m[1], SYSLOG_IDENTIFIER=m[2], _COMM=m[2], _PID=m[3],
                           SYSLOG_PID=m[3], __REALTIME_TIMESTAMP=str(T0 + i), __CURSOR=None))
        lines.append(f"2026-01-05T10:00:00.{i:06d}Z {m[1]} {m[2]}[{m[3]}]: {m[4]}")
    assert len(records) == 129
    j = _read(tmp_path, _json(records))
    (tmp_path / "auth.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    s = sshd_syslog.read(ReadContext(path=tmp_path / "auth.log", rel="auth.log",
                                     con=duckdb.connect()))
    keys = ("t_us", "host", "user", "src_ip", "src_port", "server_ip", "server_port", "program",
            "method", "key_type", "key_fp", "result", "pid", "message")
    assert [[r[k] for k in keys] for r in _rows(j)] == [[r[k] for k in keys] for r in _rows(s)]
    a = j.account
    assert (a.read, a.normalised, a.skipped_by_type, a.malformed, a.duplicates) == (
        129, 80, {"sshd_pam": 20, "sshd_partial": 1, "sshd_unmatched": 28}, 0, 0)
    assert (s.account.normalised, s.account.skipped_by_type) == (a.normalised, a.skipped_by_type)
    assert dict(Counter(r["result"] for r in _rows(j))) == {
        "failed": 25, "preauth": 29, "invalid": 9, "closed": 8, "connection": 5, "accepted": 4}


# --- the simulate converter --------------------------------------------------------------------

@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    from agenttrail.simulate import simulate
    from agenttrail.simulate.formats import journald as conv

    src = tmp_path_factory.mktemp("sim")
    simulate(src, seed=3, scenarios=["hijack_lateral"])
    dst = tmp_path_factory.mktemp("journal")
    return src, dst, conv.convert(src, dst)


def test_converter_writes_one_journal_per_server_deterministically(
        simulated: tuple[Path, Path, list[str]], tmp_path: Path) -> None:
    from agenttrail.simulate.formats import journald as conv

    src, dst, written = simulated
    manifest = json.loads((src / "MANIFEST.json").read_text())
    servers = sorted(s["name"] for s in manifest["hosts"]["servers"])
    assert written == [f"servers/{s}/journal.json" for s in servers]
    again = conv.convert(src, tmp_path)
    assert again == written
    for rel in written:
        assert (tmp_path / rel).read_bytes() == (dst / rel).read_bytes()
        assert readers.sniff(read_head(dst / rel)) is journald


def test_converter_keeps_every_line_and_the_hijack_login(
        simulated: tuple[Path, Path, list[str]]) -> None:
    """The converted journals read like the auth.log files they came from, and the scenario's
    Accepted record keeps its host, pid, user, address, port, key and second."""
    src, dst, written = simulated
    facts = json.loads((src / "MANIFEST.json").read_text())["expected"]["hijack_lateral"]
    con = duckdb.connect()
    for rel in written:
        j = journald.read(ReadContext(path=dst / rel, rel=rel, con=con))
        log = Path(rel).with_name("auth.log").as_posix()
        s = sshd_syslog.read(ReadContext(path=src / log, rel=log, con=con, year=2026))
        assert j.account.balanced()
        assert (j.account.read, j.account.normalised, j.account.skipped_by_type) == (
            s.account.read, s.account.normalised, s.account.skipped_by_type)
        keys = ("t_us", "host", "user", "src_ip", "src_port", "result", "pid", "key_fp")
        assert [[r[k] for k in keys] for r in _rows(j)] == [[r[k] for k in keys] for r in _rows(s)]
        assert [r["src_seq"] for r in _rows(j)] == sorted(r["src_seq"] for r in _rows(j))
    accepted = facts["records"]["accepted"]
    rel = Path(accepted["file"]).with_name("journal.json").as_posix()
    j = journald.read(ReadContext(path=dst / rel, rel=rel, con=con))
    (row,) = [r for r in _rows(j) if r["src_line"] == accepted["line"]]
    text = (src / accepted["file"]).read_text().splitlines()[accepted["line"] - 1]
    pid = int(re.search(r"sshd(?:-session)?\[(\d+)\]", text)[1])  # type: ignore[index]
    start = facts["flow"]["start"]
    assert (row["host"], row["user"], row["src_ip"], row["src_port"], row["result"],
            row["key_fp"], row["pid"], row["program"], row["source"]) == (
        facts["destination"]["host"], facts["remote_user"], facts["flow"]["src_ip"],
        facts["flow"]["src_port"], "accepted", facts["key_fp"], pid, "sshd", "journald")
    assert row["time"].strftime("%Y-%m-%dT%H:%M:%S") == start[:19]
