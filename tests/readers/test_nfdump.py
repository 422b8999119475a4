"""Tests for the nfdump reader (legacy CSV, header-named CSV, fixed-width text).

Corpus counts were computed independently of the reader: ``wc -l`` for lines, ``grep -c`` of the
header and of ``Summary``/``Time window``/``Total flows``/``Sys:``/``flows,bytes`` (and the totals
line after it) for meta, and ``awk -F,`` over ``sa,sp,da,dp`` for the records whose reverse
record exists (46 of 48; the two UDP 57621 broadcasts have none). The derived files were made from
the pcap behind ``zeek-btest/ssh.basic.*``, so every export must give Zeek's 25 connections.
Inputs of nfdump ≥ 1.7.5 have no corpus file: they are constructed, and labelled so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail.model import SCHEMAS, ReadResult
from agenttrail.readers import nfdump, zeek
from agenttrail.readers._io import ReadContext, read_head

DIR = "derived-nfdump-from-zeek-ssh-pcap"
LEGACY_HEADER = (
    "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,"
    "nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,"
    "mpls9,mpls10,cl,sl,al,ra,eng,exid,tr"
)
_FILL = ("0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,"
         "00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,"
         "0-0-0,0-0-0,    0.000,    0.000,    0.000,0.0.0.0,17/1,0,2026-12-03 18:21:04.945")


def _legacy(ts: str, te: str, td: str, sa: str, da: str, sp: int, dp: int, pr: str, flg: str,
            ipkt: int, ibyt: int, opkt: int = 0, obyt: int = 0) -> str:
    return (f"{ts},{te},{td},{sa},{da},{sp},{dp},{pr},{flg},0,0,{ipkt},{ibyt},{opkt},{obyt},"
            + _FILL)


def _read(path: Path, **kw: Any) -> ReadResult:
    ctx = ReadContext(path=path, rel=path.name, con=duckdb.connect(), **kw)
    result = nfdump.read(ctx)
    assert result.account.balanced(), result.account.to_dict()
    assert result.account.format == "nfdump"
    return result


def _flows(result: ReadResult) -> list[dict[str, Any]]:
    t = result.tables.get("flow")
    return [] if t is None else t.to_pylist()


def _counts(result: ReadResult) -> tuple[int, int, dict[str, int], int, int, int]:
    a = result.account
    return a.read, a.normalised, a.skipped_by_type, a.meta, a.malformed, a.unread


def _write(tmp_path: Path, lines: list[str], name: str = "flows.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _key(f: dict[str, Any]) -> tuple[str, int, str, int]:
    return f["src_ip"], f["src_port"], f["dst_ip"], f["dst_port"]


# --- whole corpus files ------------------------------------------------------------------------

# file, read, normalised, meta, layout, rows, paired connections, turned, bidirectional
CORPUS = [
    ("nfdump-1.7.1_o-csv_unidirectional_TZ-UTC.csv", 52, 48, 4, "legacy", 25, 23, 0, False),
    ("nfdump-1.7.1_o-csv_bidirectional-b_TZ-UTC.csv", 29, 25, 4, "legacy", 25, 0, 1, True),
    ("nfdump-1.7.1_o-long_TZ-UTC.txt", 53, 48, 5, "text", 25, 23, 0, False),
    ("nfdump-1.7.1_o-fmt_TZ-UTC.txt", 53, 48, 5, "text", 25, 23, 0, False),
]


@pytest.mark.parametrize(("name", "read", "norm", "meta", "layout", "rows", "paired", "turned",
                          "bidir"), CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus_counts(corpus: Path, name: str, read: int, norm: int, meta: int, layout: str,
                       rows: int, paired: int, turned: int, bidir: bool) -> None:
    path = corpus / DIR / name
    assert nfdump.sniff(read_head(path))
    result = _read(path, tz="UTC")
    assert _counts(result) == (read, norm, {}, meta, 0, 0)
    assert result.account.issues == []
    d = result.account.details
    assert (d["layout"], d["paired"], d["turned"], d["bidirectional"]) == (
        layout, paired, turned, bidir
    )
    flows = _flows(result)
    assert len(flows) == rows
    assert all(f["src_format"] == "nfdump" and f["src_file"] == name for f in flows)
    assert all(f["is_ssh"] is None and f["flow_uid"] is None for f in flows)  # port rule later
    assert result.tables["flow"].schema == SCHEMAS["flow"]


def test_corpus_without_tz_warns_once(corpus: Path) -> None:
    result = _read(corpus / DIR / CORPUS[0][0])
    (warning,) = result.account.issues
    assert warning.kind == "warning" and warning.line is None
    assert "read as UTC" in warning.message and "--tz" in warning.hint


@pytest.mark.parametrize("name", [c[0] for c in CORPUS])
def test_corpus_same_connections_as_zeek(corpus: Path, name: str) -> None:
    """Every export gives Zeek's 25 connections, client → server, with Zeek's packet counts."""
    ctx = ReadContext(path=corpus / "zeek-btest/ssh.basic.conn.2018-realts.log", rel="conn.log",
                      con=duckdb.connect())
    z = {_key(f): f for f in zeek.read(ctx).tables["flow"].to_pylist()}
    result = _read(corpus / DIR / name, tz="UTC")
    n = {_key(f): f for f in _flows(result)}
    assert set(n) == set(z)
    bidir = result.account.details["bidirectional"]
    for k, f in n.items():
        # a one-direction record without its reverse says nothing about the other direction
        want_in = z[k]["pkts_in"] if bidir else (z[k]["pkts_in"] or None)
        assert (f["pkts_out"], f["pkts_in"]) == (z[k]["pkts_out"], want_in), k
        assert abs(f["start_us"] - z[k]["start_us"]) < 1_000_000, k  # whole seconds in CSV
        assert f["proto"] == z[k]["proto"]


def test_corpus_selected_values(corpus: Path) -> None:
    # lines 2-3 of the unidirectional CSV: 192.168.1.79:51880 -> 131.159.21.1:22 and back
    uni = _flows(_read(corpus / DIR / CORPUS[0][0], tz="UTC"))[0]
    assert {k: uni[k] for k in ("src_line", "start_us", "end_us", "src_ip", "src_port", "dst_ip",
                                "dst_port", "proto", "saw_syn", "state", "pkts_out", "bytes_out",
                                "pkts_in", "bytes_in", "sensor")} == {
        "src_line": 2, "start_us": 1324071333000000, "end_us": 1324071339000000,
        "src_ip": "192.168.1.79", "src_port": 51880, "dst_ip": "131.159.21.1", "dst_port": 22,
        "proto": "tcp", "saw_syn": True, "state": "...AP.SF", "pkts_out": 25, "bytes_out": 3981,
        "pkts_in": 20, "bytes_in": 3549, "sensor": None,
    }
    # -b line 2 has the server in sa (sp 22): turned around, its counters swapped
    bi = _flows(_read(corpus / DIR / CORPUS[1][0], tz="UTC"))[0]
    assert (bi["src_line"], _key(bi), bi["pkts_out"], bi["bytes_out"], bi["pkts_in"],
            bi["bytes_in"]) == (2, ("192.168.1.79", 51880, "131.159.21.1", 22), 25, 3981, 20, 3549)
    # -o long has milliseconds: 2011-12-16 21:35:33.493 .. 21:35:39.652
    long = _flows(_read(corpus / DIR / CORPUS[2][0], tz="UTC"))[0]
    assert (long["start_us"], long["end_us"]) == (1324071333493000, 1324071339652000)
    # line 10/11 of the CSV: a connection to port 2200 whose server record has RST
    rst = next(f for f in _flows(_read(corpus / DIR / CORPUS[0][0], tz="UTC"))
               if f["dst_port"] == 2200)
    assert (rst["src_ip"], rst["src_port"], rst["state"]) == ("192.168.2.1", 55179, "...AP.SF")
    # the UDP broadcasts have no reverse record: in-counters unknown, not 0
    udp = [f for f in _flows(_read(corpus / DIR / CORPUS[0][0], tz="UTC")) if f["proto"] == "udp"]
    assert [(f["pkts_out"], f["pkts_in"], f["saw_syn"]) for f in udp] == [(1, None, None)] * 2


def test_corpus_tz_shifts_local_times(corpus: Path) -> None:
    """The same export read as Berlin time (UTC+1 in December) starts an hour earlier."""
    utc = _flows(_read(corpus / DIR / CORPUS[2][0], tz="UTC"))[0]
    berlin = _read(corpus / DIR / CORPUS[2][0], tz="Europe/Berlin")
    assert _flows(berlin)[0]["start_us"] == utc["start_us"] - 3_600_000_000
    assert berlin.account.details["zone"] == "Europe/Berlin"
    assert berlin.account.issues == []


# --- sniff -------------------------------------------------------------------------------------

SNIFF = [
    ("legacy csv", (LEGACY_HEADER + "\n").encode(), True),
    ("new csv", b"firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows\n",
     True),
    ("csv-fast", b"cnt,af,firstSeen,lastSeen,proto,srcAddr,srcPort,dstAddr,dstPort,srcAS,dstAS,"
     b"input,output,flags,srcTos,packets,bytes\n", True),
    ("long", b"Date first seen             Duration     Proto      Src IP Addr:Port          "
     b"Dst IP Addr:Port     Flags Tos  Packets    Bytes Flows\n", True),
    ("other csv", b"LineId,Date,Day,Time,Component,Pid,Content,EventId,EventTemplate\n", False),
    ("vpc header", b"version account-id interface-id srcaddr dstaddr srcport dstport protocol "
     b"packets bytes start end action log-status\n", False),
    ("zeek", b"#separator \\x09\n", False),
    ("empty", b"", False),
]


@pytest.mark.parametrize(("head", "want"), [c[1:] for c in SNIFF], ids=[c[0] for c in SNIFF])
def test_sniff(head: bytes, want: bool) -> None:
    assert nfdump.sniff(head) is want


# --- legacy CSV, constructed -------------------------------------------------------------------

LEGACY_CASES = [
    ("icmp type and code packed in dp (constructed)",
     _legacy("2026-03-02 10:00:00", "2026-03-02 10:00:01", "1.000", "10.0.0.1", "10.0.0.2", 0,
             2048, "ICMP", "........", 1, 84),
     {"proto": "icmp", "src_port": 8, "dst_port": 0, "saw_syn": None}),
    ("numeric protocol", _legacy("2026-03-02 10:00:00", "2026-03-02 10:00:01", "1.000",
                                 "10.0.0.1", "10.0.0.2", 40000, 22, "6", "....S.", 1, 60),
     {"proto": "tcp", "saw_syn": True, "pkts_in": None}),
    ("no SYN: a continuation", _legacy("2026-03-02 10:00:00", "2026-03-02 10:00:01", "1.000",
                                       "10.0.0.1", "10.0.0.2", 40000, 22, "TCP", "...AP...",
                                       9, 900),
     {"saw_syn": False}),
    ("ipv6 and ipv4-mapped", _legacy("2026-03-02 10:00:00", "2026-03-02 10:00:01", "1.000",
                                     "2001:DB8:0:0::1", "::ffff:10.0.0.2", 40000, 22, "TCP",
                                     "....S.", 1, 60),
     {"src_ip": "2001:db8::1", "dst_ip": "10.0.0.2"}),
    ("no te: end from duration", _legacy("2026-03-02 10:00:00", "", "2.500", "10.0.0.1",
                                         "10.0.0.2", 40000, 22, "TCP", "....S.", 1, 60),
     {"start_us": 1772445600000000, "end_us": 1772445602500000}),
]


@pytest.mark.parametrize(("line", "want"), [c[1:] for c in LEGACY_CASES],
                         ids=[c[0] for c in LEGACY_CASES])
def test_legacy_record(tmp_path: Path, line: str, want: dict[str, Any]) -> None:
    result = _read(_write(tmp_path, [LEGACY_HEADER, line]), tz="UTC")
    assert _counts(result) == (2, 1, {}, 1, 0, 0)
    (flow,) = _flows(result)
    assert {k: flow[k] for k in want} == want


# --- nfdump >= 1.7.5 CSV, constructed ----------------------------------------------------------


def test_new_csv_default_columns(tmp_path: Path) -> None:
    """Constructed ``-o csv`` of nfdump 1.7.5: milliseconds, numeric protocol, no summary."""
    lines = [
        "firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows",
        "2026-03-02 10:17:47.187,74.313,6,10.10.1.35,63240,10.20.0.11,22,30,5200,1",
        "2026-03-02 10:17:47.188,74.312,6,10.20.0.11,22,10.10.1.35,63240,28,6100,1",
        "2026-03-02 10:18:00.000,0.010,17,10.10.1.35,53000,10.10.0.2,53,1,60,1",
    ]
    result = _read(_write(tmp_path, lines), tz="Europe/Berlin")
    assert _counts(result) == (4, 3, {}, 1, 0, 0)
    assert result.account.details["layout"] == "named"
    ssh, dns = _flows(result)
    assert {k: ssh[k] for k in ("src_line", "start_us", "end_us", "src_ip", "src_port",
                                "dst_ip", "dst_port", "proto", "pkts_out", "bytes_out",
                                "pkts_in", "bytes_in", "saw_syn")} == {
        "src_line": 2, "start_us": 1772443067187000, "end_us": 1772443141500000,
        "src_ip": "10.10.1.35", "src_port": 63240, "dst_ip": "10.20.0.11", "dst_port": 22,
        "proto": "tcp", "pkts_out": 30, "bytes_out": 5200, "pkts_in": 28, "bytes_in": 6100,
        "saw_syn": None,  # this layout has no flags
    }
    assert (dns["proto"], dns["pkts_in"]) == ("udp", None)


def test_csv_fast_epoch_milliseconds(tmp_path: Path) -> None:
    """Constructed ``-o csv-fast``: epoch milliseconds are UTC whatever --tz says; numeric flags."""
    lines = [
        "cnt,af,firstSeen,lastSeen,proto,srcAddr,srcPort,dstAddr,dstPort,srcAS,dstAS,input,"
        "output,flags,srcTos,packets,bytes",
        "1,2,1772446667187,1772446741500,6,10.10.1.35,63240,10.20.0.11,22,0,0,0,0,27,0,30,5200",
        "1,10,1772446667188,1772446741500,6,2001:db8::11,22,2001:db8::35,63240,0,0,0,0,26,0,28,"
        "6100",
    ]
    result = _read(_write(tmp_path, lines), tz="Europe/Berlin")
    assert _counts(result) == (3, 2, {}, 1, 0, 0)
    assert "zone" not in result.account.details and result.account.issues == []
    a, b = _flows(result)  # different address families: no pair
    assert (a["start_us"], a["end_us"], a["saw_syn"]) == (1772446667187000, 1772446741500000, True)
    # flags 26 = ACK|PSH|SYN; the record runs server:22 -> client: turned around
    assert (_key(b), b["pkts_out"], b["pkts_in"], b["saw_syn"]) == (
        ("2001:db8::35", 63240, "2001:db8::11", 22), None, 28, True
    )


def test_custom_csv_with_in_and_out_counters(tmp_path: Path) -> None:
    """Constructed ``-o csv:%ts,%te,%pr,%sa,%sp,%da,%dp,%ipkt,%ibyt,%opkt,%obyt,%flg`` with -b."""
    lines = [
        "firstSeen,lastSeen,proto,srcAddr,srcPort,dstAddr,dstPort,inPackets,inBytes,outPackets,"
        "outBytes,flags",
        "2026-03-02 10:17:47.187,2026-03-02 10:19:01.500,TCP,10.10.1.35,63240,10.20.0.11,22,30,"
        "5200,28,6100,...AP.SF",
    ]
    (flow,) = _flows(_read(_write(tmp_path, lines), tz="UTC"))
    assert (flow["pkts_out"], flow["pkts_in"], flow["bytes_in"], flow["saw_syn"]) == (
        30, 28, 6100, True
    )


# --- fixed-width text, constructed -------------------------------------------------------------

LONG_HEADER = ("Date first seen             Duration     Proto      Src IP Addr:Port          "
               "Dst IP Addr:Port     Flags Tos  Packets    Bytes Flows")

TEXT_CASES = [
    ("scaled counts (constructed)",
     "2026-03-02 10:17:47.187     00:01:14.313 TCP        10.10.1.35:63240 ->       "
     "10.20.0.11:22    ...AP.SF   0      1.2 M    1.3 G     1",
     {"pkts_out": 1_200_000, "bytes_out": 1_300_000_000}),
    ("ipv6 address.port", "2026-03-02 10:17:47.187     00:00:01.000 TCP   2001:db8::35.63240 -> "
     "2001:db8::11.22    ....S.   0        1       60     1",
     {"src_ip": "2001:db8::35", "src_port": 63240, "dst_ip": "2001:db8::11", "dst_port": 22}),
    ("icmp type.code", "2026-03-02 10:17:47.187     00:00:00.000 ICMP        10.10.1.35:0     ->"
     "       10.20.0.11:8.0   ........   0        1       84     1",
     {"proto": "icmp", "src_port": 8, "dst_port": 0}),
    ("duration over a day", "2026-03-02 10:17:47.187  1d 02:00:00.000 TCP        "
     "10.10.1.35:63240 ->       10.20.0.11:22    ...AP.SF   0       30     5200     1",
     {"end_us": 1772446667187000 + 93_600_000_000}),
    ("bidirectional arrow", "2026-03-02 10:17:47.187     00:00:01.000 TCP        "
     "10.10.1.35:63240 <->      10.20.0.11:22    ...AP.SF   0       30     5200     1",
     {"dst_ip": "10.20.0.11"}),
]


@pytest.mark.parametrize(("line", "want"), [c[1:] for c in TEXT_CASES],
                         ids=[c[0] for c in TEXT_CASES])
def test_long_record(tmp_path: Path, line: str, want: dict[str, Any]) -> None:
    result = _read(_write(tmp_path, [LONG_HEADER, line], "flows.txt"), tz="UTC")
    assert _counts(result) == (2, 1, {}, 1, 0, 0)
    (flow,) = _flows(result)
    assert {k: flow[k] for k in want} == want
    if "scaled" in line or " M " in line:
        assert result.account.details["scaled_counts"] == 1


def test_line_format_and_trailer(tmp_path: Path) -> None:
    """Constructed ``-o line`` with its summary lines (and one that is not nfdump's)."""
    lines = [
        "Date first seen          Duration Proto      Src IP Addr:Port          Dst IP Addr:Port"
        "   Packets    Bytes Flows",
        "2026-03-02 10:17:47.187 00:01:14.313 TCP        10.10.1.35:63240 ->       10.20.0.11:22"
        "          30     5200     1",
        "Summary: total flows: 1, total bytes: 5200, total packets: 30, avg bps: 0, avg pps: 0, "
        "avg bpp: 173",
        "Time window: 2026-03-02 10:17:47 - 2026-03-02 10:19:01",
        "Total flows processed: 1, passed: 1, Blocks skipped: 0, Bytes read: 3648",
        "Sys: 0.0000s User: 0.0036s Wall: 0.0017s flows/second: 27807.5 Runtime: 0.0019s",
        "something else entirely",
    ]
    result = _read(_write(tmp_path, lines, "flows.txt"), tz="UTC")
    assert _counts(result) == (7, 1, {}, 5, 1, 0)
    (issue,) = result.account.issues
    assert (issue.line, issue.message) == (
        7, "line does not match the columns of the header on line 1"
    )
    (flow,) = _flows(result)
    assert (flow["saw_syn"], flow["state"], flow["pkts_out"]) == (None, None, 30)


# --- damage and accounting ---------------------------------------------------------------------

GOOD = _legacy("2026-03-02 10:00:00", "2026-03-02 10:00:01", "1.000", "10.0.0.1", "10.0.0.2",
               40000, 22, "TCP", "....S.", 1, 60)
MALFORMED = [
    ("short row", GOOD.rsplit(",", 3)[0], "45 fields where the header declares 48"),
    ("bad address", GOOD.replace("10.0.0.2", "10.0.0.300"),
     "destination 10.0.0.300 is not an address"),
    ("bad time", GOOD.replace("2026-03-02 10:00:00", "yesterday", 1),
     "first seen yesterday is not a time"),
    ("bad port", GOOD.replace(",40000,", ",http,"), "port http or 22 is not a port"),
]


@pytest.mark.parametrize(("bad", "message"), [c[1:] for c in MALFORMED],
                         ids=[c[0] for c in MALFORMED])
def test_malformed_line(tmp_path: Path, bad: str, message: str) -> None:
    result = _read(_write(tmp_path, [LEGACY_HEADER, GOOD, bad, GOOD.replace("40000", "40001"),
                                     "Summary", "flows,bytes,packets,avg_bps,avg_pps,avg_bpp",
                                     "2,120,2,0,0,60"]), tz="UTC")
    assert _counts(result) == (7, 2, {}, 4, 1, 0)
    (issue,) = result.account.issues
    assert (issue.kind, issue.line, issue.message) == ("malformed", 3, message)
    assert issue.location() == "flows.csv:3"


def test_shortened_ipv6_is_malformed(tmp_path: Path) -> None:
    line = ("2026-03-02 10:17:47.187     00:00:01.000 TCP    2001:db..0:35.63240 -> "
            "  2001:db..0:11.22    ....S.   0        1       60     1")
    result = _read(_write(tmp_path, [LONG_HEADER, line], "flows.txt"), tz="UTC")
    assert _counts(result) == (2, 0, {}, 1, 1, 0)
    assert result.account.issues[0].message.startswith("IPv6 address shortened by nfdump")


def test_abandons_after_consecutive_malformed(tmp_path: Path) -> None:
    bad = "x,y"
    result = _read(_write(tmp_path, [LEGACY_HEADER, GOOD, bad, bad, bad, GOOD, GOOD]),
                   tz="UTC", max_consecutive_malformed=3)
    assert _counts(result) == (7, 1, {}, 1, 3, 2)
    (unread,) = [i for i in result.account.issues if i.kind == "unread"]
    assert unread.message == "abandoned after 3 malformed lines in a row; 2 lines not read"


def test_dst_fold_is_counted(tmp_path: Path) -> None:
    """Constructed: 02:30 on the night Berlin leaves summer time happens twice (fold=0 used)."""
    line = _legacy("2025-10-26 02:30:00", "2025-10-26 02:30:01", "1.000", "10.0.0.1", "10.0.0.2",
                   40000, 22, "TCP", "....S.", 1, 60)
    result = _read(_write(tmp_path, [LEGACY_HEADER, line]), tz="Europe/Berlin")
    (flow,) = _flows(result)
    assert flow["start_us"] == 1761438600000000  # 00:30 UTC: the first (summer-time) 02:30
    assert result.account.details["dst_ambiguous"] == 1


def test_unknown_zone_warns(tmp_path: Path) -> None:
    result = _read(_write(tmp_path, [LEGACY_HEADER, GOOD]), tz="Mars/Olympus")
    assert [i.message for i in result.account.issues] == [
        "unknown time zone 'Mars/Olympus'; times read as UTC"
    ]
    assert _flows(result)[0]["start_us"] == 1772445600000000


def test_blank_lines_are_meta(tmp_path: Path) -> None:
    result = _read(_write(tmp_path, [LEGACY_HEADER, "", GOOD, "  "]), tz="UTC")
    assert _counts(result) == (4, 1, {}, 3, 0, 0)
