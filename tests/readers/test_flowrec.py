"""Tests for the shared flow-reader helpers: bulk line framing, protocol names, local times and
the pairing of one-direction records into connections. All inputs are constructed."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pytest

from agenttrail.model import FileAccount
from agenttrail.readers import _flowrec as fr
from agenttrail.readers._io import ReadContext, read_text_lines

FRAMING = [
    ("plain", b"a\nb\n"),
    ("no final newline", b"a\nb"),
    ("blank and whitespace lines", b"a\n\n \t\nb\n\x0b\n"),
    ("nul byte", b"a\x00b\nc\n"),
    ("not utf-8", b"caf\xe9\nz\n"),
    ("crlf", b"a\r\nb\r\n"),
    ("bom", b"\xef\xbb\xbfa\nb\n"),
    ("long line", b"short\n" + b"x" * 300 + b"\nend\n"),
    ("only a newline", b"\n"),
    ("empty", b""),
]


@pytest.mark.parametrize("chunk", [8, 1 << 20])
@pytest.mark.parametrize(("data",), [c[1:] for c in FRAMING], ids=[c[0] for c in FRAMING])
def test_text_lines_frames_like_read_text_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                data: bytes, chunk: int) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(data)
    monkeypatch.setattr(fr, "CHUNK_BYTES", chunk)
    a, b = FileAccount("x"), FileAccount("x")
    want = read_text_lines(ReadContext(path=path, rel="x", con=duckdb.connect(),
                                       max_line_bytes=100), a)
    got = fr.text_lines(ReadContext(path=path, rel="x", con=duckdb.connect(),
                                    max_line_bytes=7 if chunk == 8 else 100), b)
    if chunk == 8 and any(len(ln) > 7 for ln in data.split(b"\n")):
        return  # a different long-line limit: not comparable
    assert got.to_pylist() == want.to_pylist()
    assert (b.read, b.meta, b.malformed) == (a.read, a.meta, a.malformed)


PROTOS = [("TCP", "tcp"), ("006", "tcp"), ("6", "tcp"), ("017", "udp"), ("UDP", "udp"),
          ("1", "icmp"), ("IPv6-ICMP", "ipv6-icmp"), ("ICMP6", "ipv6-icmp"), ("58", "ipv6-icmp"),
          ("253", "253"), ("", None), (None, None)]


def test_proto_names() -> None:
    con = duckdb.connect()
    con.register("p", pa.table({"v": pa.array([p for p, _ in PROTOS], pa.string())}))
    assert [r[0] for r in con.sql(f"SELECT {fr.proto_sql('v')} FROM p").fetchall()] == [
        n for _, n in PROTOS
    ]
    mapped = fr.proto_map_sql(con, "p", "v")
    assert [r[0] for r in con.sql(f"SELECT {mapped} FROM p").fetchall()] == [n for _, n in PROTOS]


def test_wall_to_utc_per_day_and_at_dst_changes() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    walls = pa.array([
        1_772_445_600_000_000,  # 2026-03-02 10:00 wall, CET: 09:00 UTC
        1_761_445_800_000_000,  # 2025-10-26 02:30 wall: twice; fold=0 (CEST) -> 00:30 UTC
        1_761_453_000_000_000,  # 2025-10-26 04:30 wall, CET -> 03:30 UTC
        None,
    ], pa.int64())
    utc, ambiguous = fr.wall_to_utc(walls, berlin)
    assert utc.to_pylist() == [1_772_442_000_000_000, 1_761_438_600_000_000,
                               1_761_449_400_000_000, None]
    assert ambiguous.to_pylist() == [False, True, False, False]
    same, _ = fr.wall_to_utc(walls, ZoneInfo("UTC"))
    assert same.to_pylist() == walls.to_pylist()


def _rec(line: int, src: str, sp: int, dst: str, dp: int, start: int, **kw: Any) -> dict[str, Any]:
    row = {"src_line": line, "grp": "g", "proto": "tcp", "src_ip": src, "src_port": sp,
           "dst_ip": dst, "dst_port": dp, "start_us": start, "end_us": start + 10,
           "pkts": line, "bytes": line * 100, "rpkts": None, "rbytes": None, "bidir": False,
           "syn": None, "pure_syn": None, "synack": None, "state": None, "sensor": "s"}
    row.update(kw)
    return row


C, S = "10.0.0.1", "10.0.0.2"
PAIRING = [
    ("client record first", [_rec(1, C, 50000, S, 22, 0), _rec(2, S, 22, C, 50000, 1)],
     [(1, C, 50000, S, 22, 1, 2)]),
    ("server record first: ports decide", [_rec(1, S, 22, C, 50000, 0),
                                           _rec(2, C, 50000, S, 22, 0)],
     [(2, C, 50000, S, 22, 2, 1)]),
    ("two high ports: the ephemeral one is the client",
     [_rec(1, S, 5001, C, 43418, 0), _rec(2, C, 43418, S, 5001, 0)],
     [(2, C, 43418, S, 5001, 2, 1)]),
    ("flags beat ports", [_rec(1, C, 50000, S, 22, 0, synack=True, pure_syn=False),
                          _rec(2, S, 22, C, 50000, 0, pure_syn=True, synack=False)],
     [(2, S, 22, C, 50000, 2, 1)]),
    ("same ports, no evidence: the earlier start", [_rec(1, C, 40000, S, 40001, 5),
                                                    _rec(2, S, 40001, C, 40000, 3)],
     [(2, S, 40001, C, 40000, 2, 1)]),
    ("too far apart: two singles", [_rec(1, C, 50000, S, 22, 0),
                                    _rec(2, S, 22, C, 50000, 5_000_000)],
     [(1, C, 50000, S, 22, 1, None), (2, C, 50000, S, 22, None, 2)]),
    ("port reuse: each pairs with its nearest", [_rec(1, C, 50000, S, 22, 0),
                                                 _rec(2, S, 22, C, 50000, 1),
                                                 _rec(3, C, 50000, S, 22, 100),
                                                 _rec(4, S, 22, C, 50000, 101)],
     [(1, C, 50000, S, 22, 1, 2), (3, C, 50000, S, 22, 3, 4)]),
    ("other group: no pair", [_rec(1, C, 50000, S, 22, 0),
                              _rec(2, S, 22, C, 50000, 1, grp="h")],
     [(1, C, 50000, S, 22, 1, None), (2, C, 50000, S, 22, None, 2)]),
    ("bidirectional record turned around", [_rec(1, S, 22, C, 50000, 0, bidir=True, rpkts=7)],
     [(1, C, 50000, S, 22, 7, 1)]),
]


@pytest.mark.parametrize(("records", "want"), [c[1:] for c in PAIRING],
                         ids=[c[0] for c in PAIRING])
def test_connections(records: list[dict[str, Any]],
                     want: list[tuple[Any, ...]]) -> None:
    """Each row: (line, client ip, client port, server ip, server port, pkts out, pkts in);
    a record's packet count is its line number, so the output shows which record went where."""
    table = pa.Table.from_pylist(records, schema=pa.schema([
        ("src_line", pa.int64()), ("grp", pa.string()), ("proto", pa.string()),
        ("src_ip", pa.string()), ("src_port", pa.int64()), ("dst_ip", pa.string()),
        ("dst_port", pa.int64()), ("start_us", pa.int64()), ("end_us", pa.int64()),
        ("pkts", pa.int64()), ("bytes", pa.int64()), ("rpkts", pa.int64()),
        ("rbytes", pa.int64()), ("bidir", pa.bool_()), ("syn", pa.bool_()),
        ("pure_syn", pa.bool_()), ("synack", pa.bool_()), ("state", pa.string()),
        ("sensor", pa.string()),
    ]))
    rows = fr.connections(duckdb.connect(), table, 1_000_000).to_pylist()
    assert [(r["src_line"], r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"],
             r["pkts_out"], r["pkts_in"]) for r in rows] == want
