"""Tests for the macOS unified log reader (FORMATS §2.4, §4.7).

The corpus has real syslog-style and default-style lines only; ndjson and json inputs are
constructed here (labelled so) from the key table of FORMATS §2.4. Corpus counts were taken
independently of the reader: ``wc -l``; ``grep -c '^#'`` (comment lines); ``grep -cE
'^[a-z-]+\\[[0-9]+\\]: '`` (bare lines without a timestamp); ``grep -cE '^[0-9-]+ [0-9:.]+[-+][0-9]{4}
+localhost '`` (syslog style) and ``… +0x`` (default style); the result of each 2020 line was
written by hand from its text (the ``LINES_2020`` table).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail import readers
from agenttrail.model import ReadResult
from agenttrail.readers import sshd_syslog, unified_log
from agenttrail.readers._io import ReadContext, read_head

ACCEPT = ("Accepted publickey for vagrant from 10.211.55.2 port 54807 ssh2: ED25519 "
          "SHA256:MA2Wm9kQUD/G5bnJfpI4mXnkT6g9M7Z04XRtcSk2P/o")
SESSION = "/usr/libexec/sshd-session"


def _us(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp()) * 1_000_000 + datetime.fromisoformat(
        iso).microsecond


def ev(msg: str = ACCEPT, *, ts: str | None = "2026-09-13 12:31:09.292032-0700",
       proc: str = SESSION, sender: str | None = SESSION, pid: int = 16472,
       event_type: str = "logEvent", **extra: Any) -> dict[str, Any]:
    """A constructed ``log show --style ndjson`` record (keys of FORMATS §2.4)."""
    r: dict[str, Any] = {
        "traceID": 1234, "eventMessage": msg, "eventType": event_type,
        "source": None, "formatString": "%s", "activityIdentifier": 0, "subsystem": "",
        "category": "", "threadID": 99, "senderImageUUID": "AB", "backtrace": {"frames": []},
        "bootUUID": "B0", "processImagePath": proc, "senderImagePath": sender,
        "timestamp": ts, "machTimestamp": 5_000_000, "messageType": "Default",
        "processImageUUID": "CD", "processID": pid, "senderProgramCounter": 1,
        "parentActivityIdentifier": 0, "timezoneName": "", "userID": 0,
    }
    r.update(extra)
    return {k: v for k, v in r.items() if not (k in ("timestamp", "senderImagePath") and v is None)}


def _read(tmp_path: Path, text: str, name: str = "unified.log", **kw: Any) -> ReadResult:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    kw.setdefault("host", "mac1")
    kw.setdefault("host_origin", "path")
    result = unified_log.read(ReadContext(path=path, rel=name, con=duckdb.connect(), **kw))
    assert result.account.balanced(), result.account.to_dict()
    assert result.account.format == "unified_log"
    return result


def _rows(result: ReadResult, table: str = "login") -> list[dict[str, Any]]:
    t = result.tables.get(table)
    return [] if t is None else t.to_pylist()


def _ndjson(records: list[dict[str, Any]], count: bool = True) -> str:
    tail = [json.dumps({"count": len(records), "finished": 1})] if count else []
    return "".join(line + "\n" for line in [json.dumps(r) for r in records] + tail)


def _iso(row: dict[str, Any]) -> str:
    return row["time"].astimezone(UTC).isoformat()


# --- ndjson ------------------------------------------------------------------------------------

def test_ndjson_accepted_record(tmp_path: Path) -> None:
    """Constructed: one sshd-session record and the trailing count record (meta)."""
    result = _read(tmp_path, _ndjson([ev()]))
    (row,) = _rows(result)
    got = {k: row[k] for k in ("host", "host_inferred", "user", "src_ip", "src_port", "result",
                               "method", "key_type", "key_fp", "program", "pid", "source",
                               "src_format", "src_line", "time_inferred", "year_inferred")}
    assert got == {
        "host": "mac1", "host_inferred": False, "user": "vagrant", "src_ip": "10.211.55.2",
        "src_port": 54807, "result": "accepted", "method": "publickey", "key_type": "ED25519",
        "key_fp": "SHA256:MA2Wm9kQUD/G5bnJfpI4mXnkT6g9M7Z04XRtcSk2P/o",
        "program": "sshd-session", "pid": 16472, "source": "unified_log",
        "src_format": "unified_log", "src_line": 1, "time_inferred": False,
        "year_inferred": False}
    assert _iso(row) == "2026-09-13T19:31:09.292032+00:00"
    a = result.account
    assert (a.read, a.normalised, a.meta, a.details["style"]) == (2, 1, 1, "ndjson")


TIMESTAMPS = [
    ("minus_0700", "2026-09-13 12:31:09.292032-0700", "2026-09-13T19:31:09.292032+00:00"),
    ("plus_1200", "2026-07-26 18:11:22.348728+1200", "2026-07-26T06:11:22.348728+00:00"),
    ("utc", "2026-01-01 00:00:00.000001+0000", "2026-01-01T00:00:00.000001+00:00"),
    ("minus_0300_crossing_midnight", "2022-12-26 23:48:27.868010-0300",
     "2022-12-27T02:48:27.868010+00:00"),
    ("offset_with_colon", "2026-01-01 00:00:00.5+05:30", "2025-12-31T18:30:00.500000+00:00"),
]


@pytest.mark.parametrize(("ts", "utc"), [t[1:] for t in TIMESTAMPS], ids=[t[0] for t in TIMESTAMPS])
def test_timestamp_offsets(tmp_path: Path, ts: str, utc: str) -> None:
    """Constructed: local time with its own numeric offset, never inferred."""
    (row,) = _rows(_read(tmp_path, _ndjson([ev(ts=ts)])))
    assert (_iso(row), row["t_us"], row["time_inferred"]) == (utc, _us(utc), False)


PROCESSES = [
    # id, process path, sender path, status
    ("sshd_session_itself", SESSION, SESSION, "normalised"),
    ("sshd_macos14", "/usr/sbin/sshd", "/usr/sbin/sshd", "normalised"),
    ("sshd_auth", "/usr/libexec/sshd-auth", "/usr/libexec/sshd-auth", "normalised"),
    ("no_sender_key", SESSION, None, "normalised"),
    ("libpam_inside_sshd", SESSION, "/usr/lib/libpam.2.dylib", "sshd_other_sender"),
    ("heimdal_inside_sshd", "/usr/sbin/sshd",
     "/System/Library/PrivateFrameworks/Heimdal.framework/Versions/A/Heimdal",
     "sshd_other_sender"),
    ("other_process", "/usr/bin/sudo", "/usr/bin/sudo", "other_program"),
    ("sshd_named_sender_in_other_process", "/usr/bin/login", SESSION, "other_program"),
]


@pytest.mark.parametrize(("proc", "sender", "status"), [p[1:] for p in PROCESSES],
                         ids=[p[0] for p in PROCESSES])
def test_process_and_sender(tmp_path: Path, proc: str, sender: str | None, status: str) -> None:
    """Constructed: a record is sshd's when its process and its sender are sshd-family."""
    result = _read(tmp_path, _ndjson([ev(proc=proc, sender=sender)]))
    a = result.account
    if status == "normalised":
        assert (a.normalised, a.skipped_by_type) == (1, {})
        assert _rows(result)[0]["program"] == proc.rsplit("/", 1)[1]
    else:
        assert (a.normalised, a.skipped_by_type, _rows(result)) == (0, {status: 1}, [])
    (span,) = _rows(result, "source_span")
    assert (span["program"], span["records"], span["sshd_records"]) == (
        proc.rsplit("/", 1)[1], 1, int(status == "normalised"))


def test_other_event_types_are_skipped_by_type(tmp_path: Path) -> None:
    """Constructed: activity and signpost events of sshd are counted by their eventType."""
    records = [ev(event_type="activityCreateEvent"), ev(event_type="signpostEvent"), ev()]
    a = _read(tmp_path, _ndjson(records)).account
    assert (a.normalised, a.skipped_by_type) == (
        1, {"event_activityCreateEvent": 1, "event_signpostEvent": 1})


def test_log_stream_header_is_meta_and_lines_keep_their_numbers(tmp_path: Path) -> None:
    """Constructed: ``log stream --style ndjson`` prints a non-JSON first line."""
    text = ("Filtering the log data using \"process == \\\"sshd-session\\\"\"\n"
            + json.dumps(ev()) + "\nnot json\n" + json.dumps(ev(ts=None)) + "\n"
            + json.dumps(ev(pid=7)) + "\n")
    result = _read(tmp_path, text)
    a = result.account
    assert (a.read, a.normalised, a.meta, a.malformed) == (5, 2, 1, 2)
    assert [r["src_line"] for r in _rows(result)] == [2, 5]
    issues = sorted((i.line, i.message) for i in a.issues if i.kind == "malformed")
    assert [line for line, _ in issues] == [3, 4]
    assert issues[1][1] == "record without a timestamp"


def test_ndjson_damage(tmp_path: Path) -> None:
    """Constructed: an impossible timestamp, a JSON value that is not an object, a blank line."""
    text = (json.dumps(ev(ts="2026-02-30 10:00:00.000000+0000")) + "\n\n[1]\n"
            + json.dumps(ev()) + "\n")
    result = _read(tmp_path, text)
    a = result.account
    assert (a.read, a.normalised, a.meta, a.malformed) == (4, 1, 1, 2)
    issues = sorted((i.location(), i.message) for i in a.issues if i.kind == "malformed")
    assert issues == [
        ("unified.log:1", "impossible timestamp 2026-02-30 10:00:00.000000+0000"),
        ("unified.log:3", "JSON value is not an object")]


# --- json (one array) --------------------------------------------------------------------------

def _array(records: list[Any]) -> str:
    """``log show --style json``-like output: an array, one element per line group."""
    return "[" + ",".join(json.dumps(r, indent=2) for r in records) + "]\n"


def test_json_array_reads_like_ndjson(tmp_path: Path) -> None:
    """Constructed: the same records as a JSON array; records located by element ordinal."""
    records = [ev(), ev("Invalid user x from 10.0.0.9 port 4", pid=9),
               ev("hello", proc="/usr/bin/sudo", sender="/usr/bin/sudo")]
    arr = _read(tmp_path, _array(records), name="a.json")
    nd = _read(tmp_path, _ndjson(records, count=False), name="a.ndjson")
    keys = [k for k in _rows(nd)[0] if k not in ("src_file", "row_id")]
    assert [{k: r[k] for k in keys} for r in _rows(arr)] == [{k: r[k] for k in keys}
                                                            for r in _rows(nd)]
    a = arr.account
    assert (a.read, a.normalised, a.skipped_by_type, a.details) == (
        3, 2, {"other_program": 1}, {"style": "json", "record_unit": "array element"})


def test_json_array_with_a_non_object_element(tmp_path: Path) -> None:
    """Constructed: element 2 is a number; elements 1 and 3 are read."""
    result = _read(tmp_path, _array([ev(), 7, ev(pid=8)]), name="a.json")
    a = result.account
    assert (a.read, a.normalised, a.malformed) == (3, 2, 1)
    (issue,) = [i for i in a.issues if i.kind == "malformed"]
    assert (issue.line, issue.message) == (2, "JSON value is not an object")
    assert [r["src_line"] for r in _rows(result)] == [1, 3]


def test_damaged_json_array_keeps_the_elements_before_the_damage(tmp_path: Path) -> None:
    """Constructed: an array cut inside its third element."""
    text = _array([ev(), ev(pid=8), ev(pid=9)])
    cut = text[: text.rindex('"processID"')]
    result = _read(tmp_path, cut, name="a.json")
    a = result.account
    assert (a.read, a.normalised, a.malformed) == (3, 2, 1)
    (issue,) = [i for i in a.issues if i.kind == "malformed"]
    line = cut[: cut.rindex("},{") + 2].count("\n") + 1
    assert issue.line == 3
    assert issue.message.startswith(f"array element 3 (file line {line}): damaged JSON array")


def test_empty_json_array(tmp_path: Path) -> None:
    result = _read(tmp_path, "[]\n", name="a.json")
    assert (result.account.read, _rows(result)) == (0, [])


# --- text styles -------------------------------------------------------------------------------

TEXT = [
    # id, line, status, program, pid, time (UTC)
    ("syslog_two_spaces", "2020-03-24 08:38:44.727732-0700  localhost sshd[2519]: Accepted password"
     " for user from 172.18.1.100 port 43042 ssh2", "normalised", "sshd", 2519,
     "2020-03-24T15:38:44.727732+00:00"),
    ("syslog_one_space", f"2026-09-13 12:31:09.292032-0700 localhost sshd-session[16472]: {ACCEPT}",
     "normalised", "sshd-session", 16472, "2026-09-13T19:31:09.292032+00:00"),
    ("syslog_sender_library", "2026-09-13 07:26:25.652406-0700 localhost sshd-session[1442]: "
     "(libsystem_info.dylib) [com.apple.network.libinfo:si_destination_compare] send failed",
     "sshd_other_sender", "sshd-session", 1442, "2026-09-13T14:26:25.652406+00:00"),
    ("syslog_sender_itself", "2026-09-13 12:31:09.292032-0700 localhost sshd-session[16472]: "
     f"(sshd-session) {ACCEPT}", "normalised", "sshd-session", 16472,
     "2026-09-13T19:31:09.292032+00:00"),
    ("syslog_subsystem_only", "2023-01-23 03:22:26.410246-0800  localhost tccd[1030]: "
     "[com.apple.TCC:access] Update Access Record", "other_program", "tccd", 1030,
     "2023-01-23T11:22:26.410246+00:00"),
    ("default_style", "2022-12-26 17:48:27.868010-0300 0x2230     Default     0x0    1732   0    "
     "sshd: Failed password for root from 192.168.0.225 port 50000 ssh2", "normalised", "sshd",
     1732, "2022-12-26T20:48:27.868010+00:00"),
    ("default_style_kernel", "2022-12-14 17:48:14.837819-0300 0x1f36     Error       0x0         "
     "         0      0    kernel: (Sandbox) Sandbox: sshd(1733) deny(1) mach-lookup x",
     "other_program", "kernel", 0, "2022-12-14T20:48:14.837819+00:00"),
    ("process_name_with_spaces", "2024-01-01 00:00:00.000000+0000 localhost Google Chrome Helper"
     "[12]: hello", "other_program", "Google Chrome Helper", 12, "2024-01-01T00:00:00+00:00"),
]


@pytest.mark.parametrize(("line", "status", "program", "pid", "utc"), [t[1:] for t in TEXT],
                         ids=[t[0] for t in TEXT])
def test_text_line(tmp_path: Path, line: str, status: str, program: str, pid: int,
                   utc: str) -> None:
    """Constructed (shapes of the corpus lines): syslog and default styles."""
    result = _read(tmp_path, line + "\n")
    a = result.account
    (span,) = _rows(result, "source_span")
    assert (span["program"], span["first_t_us"]) == (program, _us(utc))
    if status == "normalised":
        (row,) = _rows(result)
        assert (row["program"], row["pid"], _iso(row), row["host"]) == (program, pid, utc, "mac1")
    else:
        assert (a.skipped_by_type, _rows(result)) == ({status: 1}, [])


def test_header_trailer_comment_and_damaged_text_lines(tmp_path: Path) -> None:
    """Constructed: ``log show`` header and statistics, a ``#`` comment, a bare line without a
    time, a line of no known style."""
    lines = [
        "Timestamp                       (process)[PID]",
        "# an annotation",
        f"2026-09-13 12:31:09.292032-0700 localhost sshd-session[16472]: {ACCEPT}",
        "sshd-session[76113]: Invalid user x from 127.0.0.1 port 54145",
        "",
        "something else entirely",
        "2026-13-13 12:31:09.292032-0700 localhost sshd-session[16472]: x",
        "-" * 60,
        "Log      - Default:          2, Info:                0, Debug:             0",
        "Activity - Create:           0, Transition:          0, Actions:           0",
    ]
    result = _read(tmp_path, "\n".join(lines) + "\n")
    a = result.account
    assert (a.read, a.normalised, a.meta, a.malformed) == (10, 1, 6, 3)
    issues = [(i.line, i.message, i.hint) for i in a.issues if i.kind == "malformed"]
    assert issues == [
        (4, "unified log line without a timestamp",
         "export with `log show --style ndjson` (or `--style syslog`) so records keep their time"),
        (6, "not a unified log line (syslog or default style)", ""),
        (7, "impossible timestamp", ""),
    ]


HOSTS = [
    ("path", "mac1", "path", "mac1", False),
    ("option", "mac1", "option", "mac1", True),
]


@pytest.mark.parametrize(("host", "origin", "want", "inferred"), [h[1:] for h in HOSTS],
                         ids=[h[0] for h in HOSTS])
def test_host_from_context(tmp_path: Path, host: str, origin: str, want: str,
                           inferred: bool) -> None:
    """Constructed: ``localhost`` is no host; --host marks the row inferred, a path does not."""
    line = f"2026-09-13 12:31:09.292032-0700 localhost sshd-session[16472]: {ACCEPT}\n"
    (row,) = _rows(_read(tmp_path, line, host=host, host_origin=origin))
    assert (row["host"], row["host_inferred"]) == (want, inferred)


def test_a_real_host_in_a_syslog_style_line_is_the_records_own(tmp_path: Path) -> None:
    line = f"2026-09-13 12:31:09.292032-0700 MacBook-Pro sshd-session[16472]: {ACCEPT}\n"
    (row,) = _rows(_read(tmp_path, line))
    assert (row["host"], row["host_inferred"]) == ("macbook-pro", False)


# --- sniff -------------------------------------------------------------------------------------

SYSLOG_STYLE = f"2026-09-13 12:31:09.292032-0700 localhost sshd-session[16472]: {ACCEPT}\n"
SNIFF = [
    ("ndjson", _ndjson([ev()]), True),
    ("json_array", _array([ev()]), True),
    ("log_stream_header", "Filtering the log data using \"process == 1\"\n" + _ndjson([ev()]), True),
    ("syslog_style", SYSLOG_STYLE * 3, True),
    ("default_style", "Timestamp                       Thread     Type        Activity     PID\n"
     "2022-12-26 17:48:27.868010-0300 0x2230     Default     0x0    1732   0    sshd: x\n", True),
    ("comments_then_lines", "# note\n" + SYSLOG_STYLE, True),
    ("only_bare_lines", "sshd-session[1]: x\nsudo[2]: y\n", False),
    ("rfc3339_syslog", "2023-11-14T00:20:42.738197+01:00 myserver sshd[1112652]: x\n", False),
    ("rfc3164_syslog", "Dec 10 09:32:20 LabSZ sshd[24680]: x\n", False),
    ("eslogger", '{"schema_version":1,"event_type":9,"event":{"exec":{}}}\n', False),
    ("journald_json", '{"__REALTIME_TIMESTAMP":"1","MESSAGE":"eventMessage"}\n', False),
    ("empty", "", False),
]


@pytest.mark.parametrize(("text", "claimed"), [s[1:] for s in SNIFF], ids=[s[0] for s in SNIFF])
def test_sniff(text: str, claimed: bool) -> None:
    assert unified_log.sniff(text.encode()) is claimed


# --- corpus ------------------------------------------------------------------------------------

# src_line -> result, by hand from each line's text (sshd_pam / sshd_unmatched: no row)
LINES_2020 = {
    1: "sshd_pam", 2: "sshd_pam", 3: "sshd_pam", 4: "failed", 5: "failed", 6: "preauth",
    7: "preauth", 8: "preauth", 9: "disconnected", 10: "accepted", 11: "accepted",
    12: "accepted", 13: "closed", 14: "preauth", 15: "sshd_unmatched", 16: "preauth",
    17: "invalid", 18: "invalid", 19: "sshd_unmatched", 20: "sshd_unmatched", 21: "closed",
}

# file, read, normalised, skipped_by_type, meta, malformed
CORPUS = [
    ("macos/macos_unified_log_sshd_syslog_style_2020.log", 21, 15,
     {"sshd_pam": 3, "sshd_unmatched": 3}, 0, 0),
    ("macos/macos_unified_log_sshd_session_2026_excerpts.log", 17, 1,
     {"sshd_other_sender": 3, "sshd_pam": 1, "other_program": 1}, 4, 7),
    ("macos/macos_unified_log_loginwindow_tcc_syslog_style_2023.log", 10, 0,
     {"other_program": 10}, 0, 0),
]


@pytest.mark.parametrize(("rel", "read", "norm", "skipped", "meta", "malformed"), CORPUS,
                         ids=[c[0] for c in CORPUS])
def test_corpus_counts(corpus: Path, rel: str, read: int, norm: int, skipped: dict[str, int],
                       meta: int, malformed: int) -> None:
    path = corpus / rel
    head = read_head(path)
    assert unified_log.sniff(head) and not sshd_syslog.sniff(head)
    assert readers.sniff(head) is unified_log
    result = unified_log.read(ReadContext(path=path, rel=rel, con=duckdb.connect(),
                                          host="corpus-mac", host_origin="option"))
    a = result.account
    assert a.balanced()
    assert (a.read, a.normalised, a.skipped_by_type, a.meta, a.malformed, a.unread) == (
        read, norm, skipped, meta, malformed, 0)
    assert len([i for i in a.issues if i.kind == "malformed"]) == malformed
    spans = _rows(result, "source_span")
    assert sum(s["records"] for s in spans) == norm + sum(skipped.values())


def test_corpus_2020_line_by_line(corpus: Path) -> None:
    rel = "macos/macos_unified_log_sshd_syslog_style_2020.log"
    result = unified_log.read(ReadContext(path=corpus / rel, rel=rel, con=duckdb.connect(),
                                          host="corpus-mac", host_origin="option"))
    rows = {r["src_line"]: r for r in _rows(result)}
    assert {n: r["result"] for n, r in rows.items()} == {
        n: v for n, v in LINES_2020.items() if not v.startswith("sshd_")}
    # line 10: Accepted publickey … RSA SHA256:loremipsum (the anonymised fingerprint)
    r = rows[10]
    assert (r["user"], r["src_ip"], r["src_port"], r["pid"], r["key_type"], r["key_fp"],
            _iso(r)) == ("user", "10.0.2.2", 55468, 201, "RSA", "SHA256:loremipsum",
                         "2020-03-24T13:07:50.998187+00:00")
    (span,) = _rows(result, "source_span")
    assert (span["first_t_us"], span["last_t_us"]) == (
        _us("2020-03-23T13:08:41.939744+00:00"), _us("2020-03-31T20:15:57.368975+00:00"))


def test_corpus_2026_excerpts(corpus: Path) -> None:
    """The one timestamped sshd-session Accepted line is read; the seven lines quoted without a
    timestamp (lines 8-14) are malformed with a hint; the two default-style lines are read."""
    rel = "macos/macos_unified_log_sshd_session_2026_excerpts.log"
    result = unified_log.read(ReadContext(path=corpus / rel, rel=rel, con=duckdb.connect(),
                                          host="corpus-mac", host_origin="option"))
    (row,) = _rows(result)
    assert (row["src_line"], row["user"], row["src_ip"], row["src_port"], row["pid"],
            row["program"], row["key_fp"], _iso(row)) == (
        3, "vagrant", "10.211.55.2", 54807, 16472, "sshd-session",
        "SHA256:MA2Wm9kQUD/G5bnJfpI4mXnkT6g9M7Z04XRtcSk2P/o", "2026-09-13T19:31:09.292032+00:00")
    bad = [i for i in result.account.issues if i.kind == "malformed"]
    assert [i.line for i in bad] == list(range(8, 15))
    assert {i.message for i in bad} == {"unified log line without a timestamp"}
    spans = {s["program"]: (s["records"], s["sshd_records"]) for s in _rows(result, "source_span")}
    assert spans == {"sshd-session": (4, 1), "sshd": (1, 1), "kernel": (1, 0)}
