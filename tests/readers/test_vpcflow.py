"""Tests for the AWS VPC Flow Logs reader.

Corpus counts were computed independently of the reader with ``awk`` (``awk 'NR>1{print $NF}' F |
sort | uniq -c`` for ``log-status``, ``awk '{print NF}'`` for field counts, and the swapped
``srcaddr srcport dstaddr dstport`` pairs per window for the pairing). The files are AWS
documentation examples; other inputs are constructed by the tests and labelled so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail.model import SCHEMAS, ReadResult
from agenttrail.readers import vpcflow
from agenttrail.readers._io import ReadContext, read_head

DIR = "aws-vpc-flow-docs"
V2 = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
      "start end action log-status")
V5 = ("version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id "
      "vpc-id subnet-id instance-id interface-id region az-id sublocation-type sublocation-id "
      "action tcp-flags pkt-srcaddr pkt-dstaddr pkt-src-aws-service pkt-dst-aws-service "
      "traffic-path flow-direction log-status")


def _read(path: Path, **kw: Any) -> ReadResult:
    ctx = ReadContext(path=path, rel=path.name, con=duckdb.connect(), **kw)
    result = vpcflow.read(ctx)
    assert result.account.balanced(), result.account.to_dict()
    assert result.account.format == "vpcflow"
    return result


def _flows(result: ReadResult) -> list[dict[str, Any]]:
    t = result.tables.get("flow")
    return [] if t is None else t.to_pylist()


def _counts(result: ReadResult) -> tuple[int, int, dict[str, int], int, int, int]:
    a = result.account
    return a.read, a.normalised, a.skipped_by_type, a.meta, a.malformed, a.unread


def _write(tmp_path: Path, lines: list[str], name: str = "vpc.log") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _key(f: dict[str, Any]) -> tuple[str, int, str, int]:
    return f["src_ip"], f["src_port"], f["dst_ip"], f["dst_port"]


# --- whole corpus files ------------------------------------------------------------------------

# file, read, normalised, skipped, meta, rows, paired
CORPUS = [
    ("vpc_flow_v2_default_examples.log", 8, 5, {"NODATA": 1, "SKIPDATA": 1}, 1, 4, 1),
    ("vpc_flow_v3_custom_tcpflags_examples.log", 9, 8, {}, 1, 4, 4),
    ("vpc_flow_v5_custom_examples.log", 3, 2, {}, 1, 1, 1),
]


@pytest.mark.parametrize(("name", "read", "norm", "skipped", "meta", "rows", "paired"), CORPUS,
                         ids=[c[0] for c in CORPUS])
def test_corpus_counts(corpus: Path, name: str, read: int, norm: int, skipped: dict[str, int],
                       meta: int, rows: int, paired: int) -> None:
    path = corpus / DIR / name
    assert vpcflow.sniff(read_head(path))
    result = _read(path)
    assert _counts(result) == (read, norm, skipped, meta, 0, 0)
    assert result.account.issues == []
    assert result.account.details["paired"] == paired
    flows = _flows(result)
    assert len(flows) == rows
    assert all(f["src_format"] == "vpcflow" and f["sensor"] == "eni-1235b8ca123456789"
               and f["is_ssh"] is None for f in flows)
    assert result.tables["flow"].schema == SCHEMAS["flow"]


def test_corpus_v2_values(corpus: Path) -> None:
    flows = _flows(_read(corpus / DIR / CORPUS[0][0]))
    ssh, rdp, icmp, ssh6 = flows
    assert {k: ssh[k] for k in ("src_line", "start_us", "end_us", "src_ip", "src_port", "dst_ip",
                                "dst_port", "proto", "state", "pkts_out", "bytes_out", "pkts_in",
                                "saw_syn")} == {
        "src_line": 2, "start_us": 1418530010000000, "end_us": 1418530070000000,
        "src_ip": "172.31.16.139", "src_port": 20641, "dst_ip": "172.31.16.21", "dst_port": 22,
        "proto": "tcp", "state": "ACCEPT", "pkts_out": 20, "bytes_out": 4249, "pkts_in": None,
        "saw_syn": None,  # version 2 has no tcp-flags
    }
    assert (rdp["dst_port"], rdp["state"]) == (3389, "REJECT")
    # lines 6-7: the ICMP request accepted and its reply rejected, one connection
    assert (icmp["src_line"], icmp["proto"], icmp["src_ip"], icmp["dst_ip"], icmp["state"],
            icmp["pkts_out"], icmp["pkts_in"], icmp["start_us"], icmp["end_us"]) == (
        6, "icmp", "203.0.113.12", "172.31.16.139", "ACCEPT", 4, 4, 1432917027000000,
        1432917142000000,
    )
    assert (ssh6["src_ip"], ssh6["dst_ip"], ssh6["dst_port"]) == (
        "2001:db8:1234:a100:8d6e:3477:df66:f105", "2001:db8:1234:a102:3304:8879:34cf:4071", 22
    )


def test_corpus_v3_flags_pair_and_orient(corpus: Path) -> None:
    flows = _flows(_read(corpus / DIR / CORPUS[1][0]))
    # lines 2+3 (flags 2 and 18), 4+5 (2, 18), 6+7 (1, 1: the next window), 8+9 (3 and 19)
    assert [(f["src_line"], _key(f), f["saw_syn"], f["pkts_out"], f["pkts_in"]) for f in flows] == [
        (2, ("52.213.180.42", 43416, "10.0.0.62", 5001), True, 8, 7),
        (4, ("52.213.180.42", 43418, "10.0.0.62", 5001), True, 70, 12),
        (7, ("52.213.180.42", 43418, "10.0.0.62", 5001), False, 15774, 1219),
        (8, ("52.213.180.42", 43638, "10.0.0.62", 5001), True, 17, 14),
    ]
    # line 9 keeps the source's double space and still has 21 fields
    assert flows[3]["bytes_in"] == 967


def test_corpus_v5_server_record_first(corpus: Path) -> None:
    """Line 2 is the server's record (tcp-flags 19 = SYN-ACK|FIN): line 3 is the client's."""
    (flow,) = _flows(_read(corpus / DIR / CORPUS[2][0]))
    assert (flow["src_line"], _key(flow), flow["pkts_out"], flow["pkts_in"], flow["saw_syn"]) == (
        3, ("10.0.0.71", 34210, "52.95.128.179", 80), 7, 14, True
    )


# --- sniff -------------------------------------------------------------------------------------

SNIFF = [
    ("v2 header", (V2 + "\n").encode(), True),
    ("v5 header", (V5 + "\n").encode(), True),
    ("headerless v2", b"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 "
     b"6 20 4249 1418530010 1418530070 ACCEPT OK\n", True),
    ("custom without version", b"interface-id srcaddr dstaddr srcport dstport protocol start end "
     b"log-status\n", True),
    ("nfdump long", b"Date first seen  Duration Proto  Src IP Addr:Port  Dst IP Addr:Port\n", False),
    ("prose", b"version two of the srcaddr dstaddr story\n", False),
    ("syslog", b"Mar 24 17:16:39 host sshd[1]: Accepted publickey for a from 10.0.0.1 port 1\n",
     False),
    ("empty", b"", False),
]


@pytest.mark.parametrize(("head", "want"), [c[1:] for c in SNIFF], ids=[c[0] for c in SNIFF])
def test_sniff(head: bytes, want: bool) -> None:
    assert vpcflow.sniff(head) is want


# --- constructed -------------------------------------------------------------------------------


def _v5(src: str, dst: str, sp: int, dp: int, start: int, flags: int, pkt_src: str = "-",
        pkt_dst: str = "-", eni: str = "eni-0a", status: str = "OK", proto: int = 6,
        direction: str = "ingress") -> str:
    return (f"5 {src} {dst} {sp} {dp} {proto} {start} {start + 60} IPv4 10 1000 111122223333 "
            f"vpc-01 subnet-01 i-01 {eni} eu-west-1 euw1-az1 - - ACCEPT {flags} {pkt_src} "
            f"{pkt_dst} - - - {direction} {status}")


def test_headerless_default_format(tmp_path: Path) -> None:
    """Constructed CloudWatch Logs delivery: no header, version 2 order."""
    lines = [
        "2 123456789010 eni-0a 10.0.1.5 10.0.2.9 50111 22 6 12 2000 1700000000 1700000060 ACCEPT OK",
        "2 123456789010 eni-0a 10.0.2.9 10.0.1.5 22 50111 6 10 3000 1700000000 1700000060 ACCEPT OK",
        "2 123456789010 eni-0a - - - - - - - 1700000060 1700000120 - NODATA",
    ]
    result = _read(_write(tmp_path, lines))
    assert _counts(result) == (3, 2, {"NODATA": 1}, 0, 0, 0)
    (flow,) = _flows(result)
    assert (_key(flow), flow["pkts_out"], flow["pkts_in"], flow["bytes_in"]) == (
        ("10.0.1.5", 50111, "10.0.2.9", 22), 12, 10, 3000
    )


def test_pkt_addresses_are_the_endpoints(tmp_path: Path) -> None:
    """Constructed: behind a NAT gateway srcaddr is the gateway's interface address."""
    lines = [V5, _v5("10.0.0.99", "10.0.2.9", 40000, 22, 1700000000, 2, "10.0.1.5", "10.0.2.9")]
    (flow,) = _flows(_read(_write(tmp_path, lines)))
    assert (flow["src_ip"], flow["dst_ip"], flow["saw_syn"]) == ("10.0.1.5", "10.0.2.9", True)


def test_windows_and_interfaces(tmp_path: Path) -> None:
    """Constructed: a session over two windows seen on both interfaces (client eni-0a egress,
    server eni-0b ingress): one row per interface and window; only the first window has SYN."""
    c, s = "10.0.1.5", "10.0.2.9"
    lines = [
        V5,
        _v5(c, s, 50111, 22, 1700000000, 2, eni="eni-0a", direction="egress"),
        _v5(s, c, 22, 50111, 1700000000, 18, eni="eni-0a"),
        _v5(c, s, 50111, 22, 1700000000, 2, eni="eni-0b"),
        _v5(s, c, 22, 50111, 1700000000, 18, eni="eni-0b", direction="egress"),
        _v5(c, s, 50111, 22, 1700000060, 1, eni="eni-0a", direction="egress"),
        _v5(s, c, 22, 50111, 1700000060, 1, eni="eni-0a"),
    ]
    result = _read(_write(tmp_path, lines))
    assert result.account.details["paired"] == 3
    rows = [(f["src_line"], f["sensor"], _key(f), f["start_us"], f["saw_syn"])
            for f in _flows(result)]
    key = (c, 50111, s, 22)
    assert rows == [
        (2, "eni-0a", key, 1700000000000000, True),
        (4, "eni-0b", key, 1700000000000000, True),
        (6, "eni-0a", key, 1700000060000000, False),
    ]


def test_several_headers(tmp_path: Path) -> None:
    """Constructed: two objects concatenated (``zcat *.log.gz``) with different field orders."""
    lines = [
        V2,
        "2 123456789010 eni-0a 10.0.1.5 10.0.2.9 50111 22 6 12 2000 1700000000 1700000060 ACCEPT OK",
        V5,
        _v5("10.0.1.6", "10.0.2.9", 50112, 22, 1700000100, 2),
    ]
    result = _read(_write(tmp_path, lines))
    assert _counts(result) == (4, 2, {}, 2, 0, 0)
    assert [f["src_port"] for f in _flows(result)] == [50111, 50112]


RECORD_CASES = [
    ("udp has no tcp flags (constructed)", {"proto": 17, "flags": 0},
     {"proto": "udp", "saw_syn": None}),
    ("icmp", {"proto": 1, "sp": 0, "dp": 0}, {"proto": "icmp", "src_port": 0}),
    ("fin only: a continuation", {"flags": 1}, {"saw_syn": False}),
    ("syn-ack only: turned around", {"src": "10.0.2.9", "dst": "10.0.1.5", "sp": 22, "dp": 40000,
                                     "flags": 18},
     {"src_ip": "10.0.1.5", "src_port": 40000, "dst_port": 22, "pkts_out": None, "pkts_in": 10,
      "saw_syn": True}),
    ("ipv6", {"src": "2001:DB8::5", "dst": "::ffff:10.0.2.9"},
     {"src_ip": "2001:db8::5", "dst_ip": "10.0.2.9"}),
]


@pytest.mark.parametrize(("over", "want"), [c[1:] for c in RECORD_CASES],
                         ids=[c[0] for c in RECORD_CASES])
def test_record(tmp_path: Path, over: dict[str, Any], want: dict[str, Any]) -> None:
    args = {"src": "10.0.1.5", "dst": "10.0.2.9", "sp": 40000, "dp": 22, "flags": 2, "proto": 6,
            **over}
    line = _v5(args["src"], args["dst"], args["sp"], args["dp"], 1700000000, args["flags"],
               proto=args["proto"])
    result = _read(_write(tmp_path, [V5, line]))
    assert _counts(result) == (2, 1, {}, 1, 0, 0)
    (flow,) = _flows(result)
    assert {k: flow[k] for k in want} == want


GOOD = _v5("10.0.1.5", "10.0.2.9", 40000, 22, 1700000000, 2)
MALFORMED = [
    ("missing field", GOOD.rsplit(" ", 1)[0], "28 fields where the header declares 29"),
    ("bad address", GOOD.replace("10.0.2.9", "10.0.2.999"),
     "destination 10.0.2.999 is not an address"),
    ("bad port", GOOD.replace(" 40000 ", " x "), "port x or 22 is not a port"),
    ("bad start", GOOD.replace(" 1700000000 ", " soon "), "start soon is not epoch seconds"),
]


@pytest.mark.parametrize(("bad", "message"), [c[1:] for c in MALFORMED],
                         ids=[c[0] for c in MALFORMED])
def test_malformed_line(tmp_path: Path, bad: str, message: str) -> None:
    result = _read(_write(tmp_path, [V5, GOOD, bad, GOOD.replace("40000", "40001")]))
    assert _counts(result) == (4, 2, {}, 1, 1, 0)
    (issue,) = result.account.issues
    assert (issue.kind, issue.line, issue.message) == ("malformed", 3, message)
    assert issue.location() == "vpc.log:3"


def test_skipdata_with_dashes_is_not_malformed(tmp_path: Path) -> None:
    lines = [V2, "2 123456789010 eni-0a - - - - - - - 1700000000 1700000060 - SKIPDATA",
             "2 123456789010 eni-0a - - - - - - - 1700000000 1700000060 - NODATA"]
    assert _counts(_read(_write(tmp_path, lines))) == (3, 0, {"SKIPDATA": 1, "NODATA": 1}, 1, 0, 0)


def test_headerless_wrong_width_is_malformed(tmp_path: Path) -> None:
    result = _read(_write(tmp_path, ["2 123456789010 eni-0a 10.0.1.5 10.0.2.9 50111 22 6 12 "
                                     "2000 1700000000 1700000060 ACCEPT OK", "2 1 2 3"]))
    assert _counts(result) == (2, 1, {}, 0, 1, 0)
    assert result.account.issues[0].message == (
        "4 fields where the default format has 14 (no header)"
    )


def test_abandons_after_consecutive_malformed(tmp_path: Path) -> None:
    result = _read(_write(tmp_path, [V5, GOOD, "a b", "a b", "a b", GOOD, GOOD]),
                   max_consecutive_malformed=3)
    assert _counts(result) == (7, 1, {}, 1, 3, 2)
    assert [i.kind for i in result.account.issues].count("unread") == 1
