"""Tests for the Suricata EVE reader.

Corpus counts were computed independently of the reader with ``jq`` (e.g.
``jq -r .event_type F | sort | uniq -c`` for the event types, ``jq -c 'select(.event_type=="flow")
| [.proto, .app_proto, .tcp.tcp_flags_ts]' F`` for protocols and SYN bits, and
``jq '.dns.answers // [] | map(select(.rrtype=="A" or .rrtype=="AAAA")) | length' F`` for the
address answers). Constructed inputs are written by the tests themselves and labelled so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from agenttrail.model import SCHEMAS, ReadResult
from agenttrail.readers import suricata
from agenttrail.readers._io import ReadContext, read_head

DIR = "panther-suricata-eve"


def _read(path: Path, **kw: Any) -> ReadResult:
    ctx = ReadContext(path=path, rel=path.name, con=duckdb.connect(), **kw)
    result = suricata.read(ctx)
    assert result.account.balanced(), result.account.to_dict()
    assert result.account.format == "suricata"
    return result


def _rows(result: ReadResult, table: str = "flow") -> list[dict[str, Any]]:
    t = result.tables.get(table)
    return [] if t is None else t.to_pylist()


def _counts(result: ReadResult) -> tuple[int, int, dict[str, int], int, int, int]:
    a = result.account
    return a.read, a.normalised, a.skipped_by_type, a.meta, a.malformed, a.unread


def _write(tmp_path: Path, records: list[Any], name: str = "eve.json") -> Path:
    path = tmp_path / name
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- whole corpus files ------------------------------------------------------------------------

# file, read, normalised, skipped_by_type, flow rows, dns rows
CORPUS = [
    ("eve_4sics_flow.jsonl", 10, 10, {}, 10, 0),
    ("eve_4sics_ssh.jsonl", 10, 10, {}, 10, 0),
    ("eve_aws_sensor_2020-03-05.jsonl", 8, 4,
     {"dns_query": 2, "dns_no_address": 1, "stats": 1}, 3, 1),
]


@pytest.mark.parametrize(("name", "read", "norm", "skipped", "flows", "dns"), CORPUS,
                         ids=[c[0] for c in CORPUS])
def test_corpus_counts(corpus: Path, name: str, read: int, norm: int, skipped: dict[str, int],
                       flows: int, dns: int) -> None:
    path = corpus / DIR / name
    assert suricata.sniff(read_head(path))
    result = _read(path)
    assert _counts(result) == (read, norm, skipped, 0, 0, 0)
    assert result.account.issues == []
    assert len(_rows(result)) == flows
    assert len(_rows(result, "dns")) == dns
    assert all(r["src_format"] == "suricata" and r["src_file"] == name for r in _rows(result))


def test_corpus_4sics_flow_columns(corpus: Path) -> None:
    flows = _rows(_read(corpus / DIR / "eve_4sics_flow.jsonl"))
    # jq: proto "006" x8, "017" x2; tcp_flags_ts "02" x4, "00" x4, no tcp object x2
    assert [f["proto"] for f in flows].count("tcp") == 8
    assert [f["proto"] for f in flows].count("udp") == 2
    syn = [f["saw_syn"] for f in flows]
    assert (syn.count(True), syn.count(False), syn.count(None)) == (4, 4, 2)
    assert all(f["flow_part"] == "conn" and f["is_ssh"] is None for f in flows)
    assert {f["state"] for f in flows} == {"new", "closed"}
    # line 1: flow.start 2015-10-22T09:11:33.826871+0000 (the record's timestamp is 13:16:57)
    first = flows[0]
    assert {k: first[k] for k in ("src_line", "start_us", "end_us", "src_ip", "src_port",
                                  "dst_ip", "dst_port", "pkts_out", "pkts_in", "bytes_out",
                                  "bytes_in", "flow_uid", "sensor")} == {
        "src_line": 1, "start_us": 1445505093826871, "end_us": 1445505093851401,
        "src_ip": "192.168.2.137", "src_port": 34156, "dst_ip": "192.168.88.50",
        "dst_port": 11956, "pkts_out": 1, "pkts_in": 1, "bytes_out": 74, "bytes_in": 60,
        "flow_uid": "1905477948906999", "sensor": None,
    }


def test_corpus_4sics_ssh_banners(corpus: Path) -> None:
    flows = _rows(_read(corpus / DIR / "eve_4sics_ssh.jsonl"))
    assert all(f["flow_part"] == "ssh" and f["is_ssh"] is True and f["ssh_evidence"] == "banner"
               for f in flows)
    assert all(f["state"] is None and f["pkts_out"] is None and f["end_us"] is None
               for f in flows)
    # line 5: client proto_version 1.5 (jq '.ssh.client.proto_version')
    fifth = flows[4]
    assert (fifth["src_line"], fifth["client_banner"], fifth["server_banner"]) == (
        5, "SSH-1.5-NmapNSE_1.0", "SSH-2.0-OpenSSH_4.0"
    )
    # line 7: a trailing space in the server software version is kept
    assert flows[6]["server_banner"] == "SSH-2.0-Mocana SSH "
    assert flows[0]["start_us"] == 1445503359713239


def test_corpus_aws_sensor(corpus: Path) -> None:
    result = _read(corpus / DIR / "eve_aws_sensor_2020-03-05.jsonl")
    flows = _rows(result)
    assert [(f["src_line"], f["flow_part"], f["is_ssh"], f["ssh_evidence"]) for f in flows] == [
        (5, "conn", True, "service"), (6, "ssh", True, "banner"), (8, "conn", True, "service"),
    ]
    conn = flows[0]
    assert (conn["proto"], conn["saw_syn"], conn["sensor"], conn["start_us"], conn["end_us"]) == (
        "tcp", True, "eth0", 1583376491360131, 1583376496753392
    )
    assert flows[1]["client_banner"] == "SSH-2.0-paramiko_1.8.1"
    assert flows[1]["server_banner"] == "SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.3"
    (dns,) = _rows(result, "dns")
    assert {k: dns[k] for k in ("src_line", "t_us", "sensor", "client_ip", "query", "answer_ip",
                                "ttl")} == {
        "src_line": 3, "t_us": 1583376555653247, "sensor": "eth0", "client_ip": "172.31.8.201",
        "query": "ip-172-31-8-201.ap-southeast-2.compute.internal", "answer_ip": "172.31.8.201",
        "ttl": 60,
    }
    assert result.tables["flow"].schema == SCHEMAS["flow"]
    assert result.tables["dns"].schema == SCHEMAS["dns"]


# --- sniff -------------------------------------------------------------------------------------

SNIFF = [
    ("flow", b'{"timestamp":"2020-01-01T00:00:00.000000+0000","flow_id":1,"event_type":"flow",'
     b'"src_ip":"10.0.0.1"}\n', True),
    ("stats only", b'{"timestamp":"2020-01-01T00:00:00.000000+0000","event_type":"stats",'
     b'"stats":{}}\n', True),
    ("zeek json", b'{"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1}\n', False),
    ("eslogger", b'{"schema_version":1,"event_type":9,"time":"x","event":{"exec":{}}}\n', False),
    ("ecs", b'{"@timestamp":"2020-01-01T00:00:00Z","event":{"kind":"event"}}\n', False),
    ("event_type not a string", b'{"timestamp":"x","event_type":3,"src_ip":"10.0.0.1"}\n', False),
    ("syslog", b"Mar 24 17:16:39 host sshd[1]: Accepted publickey for a from 10.0.0.1 port 1\n",
     False),
    ("big first record", b'{"timestamp":"2020-01-01T00:00:00.000000+0000","event_type":"stats",'
     b'"stats":{"x":"' + b"a" * 70000, True),
    ("empty", b"", False),
]


@pytest.mark.parametrize(("head", "want"), [c[1:] for c in SNIFF], ids=[c[0] for c in SNIFF])
def test_sniff(head: bytes, want: bool) -> None:
    assert suricata.sniff(head) is want


# --- constructed flow records ------------------------------------------------------------------

FLOW = {
    "timestamp": "2026-03-02T10:20:00.000100+0000", "flow_id": 1234567890123456,
    "in_iface": "eth1", "event_type": "flow", "src_ip": "10.10.1.35", "src_port": 63240,
    "dest_ip": "10.20.0.11", "dest_port": 22, "proto": "TCP", "app_proto": "ssh",
    "flow": {"pkts_toserver": 30, "pkts_toclient": 28, "bytes_toserver": 5200,
             "bytes_toclient": 6100, "start": "2026-03-02T10:17:47.187377+0000",
             "end": "2026-03-02T10:19:01.500000+0000", "age": 74, "state": "closed",
             "reason": "timeout", "alerted": False},
    "tcp": {"tcp_flags": "1b", "tcp_flags_ts": "1b", "tcp_flags_tc": "1b", "syn": True},
}

FLOW_CASES = [
    ("plain (constructed)", {}, {
        "src_line": 1, "flow_part": "conn", "start_us": 1772446667187377,
        "end_us": 1772446741500000, "src_ip": "10.10.1.35", "src_port": 63240,
        "dst_ip": "10.20.0.11", "dst_port": 22, "proto": "tcp", "state": "closed",
        "saw_syn": True, "pkts_out": 30, "pkts_in": 28, "bytes_out": 5200, "bytes_in": 6100,
        "is_ssh": True, "ssh_evidence": "service", "flow_uid": "1234567890123456",
        "sensor": "eth1", "client_banner": None, "ssh_auth_hint": None,
    }),
    ("proto zero-padded number", {"proto": "006"}, {"proto": "tcp"}),
    ("proto udp number", {"proto": "017", "app_proto": "dns", "tcp": None},
     {"proto": "udp", "is_ssh": None, "saw_syn": None}),
    ("proto ipv6-icmp", {"proto": "IPv6-ICMP", "src_port": None, "dest_port": None,
                         "src_ip": "2001:DB8::1", "dest_ip": "2001:db8:0:0::2", "tcp": None},
     {"proto": "ipv6-icmp", "src_port": None, "dst_port": None, "src_ip": "2001:db8::1",
      "dst_ip": "2001:db8::2"}),
    ("ipv4-mapped addresses", {"src_ip": "::ffff:10.10.1.35"}, {"src_ip": "10.10.1.35"}),
    ("host is the sensor name", {"host": "sensor-7"}, {"sensor": "sensor-7"}),
    ("app_proto failed: not ssh", {"app_proto": "failed"},
     {"is_ssh": None, "ssh_evidence": None}),
    ("no app_proto", {"app_proto": None}, {"is_ssh": None}),
    ("offset with colon and minus", {"flow": {**FLOW["flow"],
                                              "start": "2026-03-02T05:17:47.187377-05:00"}},
     {"start_us": 1772446667187377}),
    ("nanosecond digits truncated", {"flow": {**FLOW["flow"],
                                              "start": "2026-03-02T10:17:47.187377999+0000"}},
     {"start_us": 1772446667187377}),
    ("client flags without SYN: a continuation", {"tcp": {"tcp_flags": "1b",
                                                          "tcp_flags_ts": "18"}},
     {"saw_syn": False}),
    ("only both-direction flags", {"tcp": {"tcp_flags": "12"}}, {"saw_syn": True}),
    ("only the syn boolean", {"tcp": {"syn": True}}, {"saw_syn": True}),
    ("tcp object without flags", {"tcp": {"state": "closed"}}, {"saw_syn": None}),
    ("newer versions repeat the flow's own endpoints",
     {"src_ip": "10.20.0.11", "src_port": 22, "dest_ip": "10.10.1.35", "dest_port": 63240,
      "flow": {**FLOW["flow"], "src_ip": "10.10.1.35", "src_port": 63240,
               "dest_ip": "10.20.0.11", "dest_port": 22}},
     {"src_ip": "10.10.1.35", "src_port": 63240, "dst_ip": "10.20.0.11", "dst_port": 22}),
    ("no flow_id: not mergeable", {"flow_id": None}, {"flow_part": None, "flow_uid": None}),
    ("counters missing are NULL, not 0", {"flow": {"start": FLOW["flow"]["start"]}},
     {"pkts_out": None, "bytes_in": None, "end_us": None, "state": None}),
]


def _drop_none(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is not None}


@pytest.mark.parametrize(("overrides", "want"), [c[1:] for c in FLOW_CASES],
                         ids=[c[0] for c in FLOW_CASES])
def test_flow_record(tmp_path: Path, overrides: dict[str, Any], want: dict[str, Any]) -> None:
    result = _read(_write(tmp_path, [_drop_none({**FLOW, **overrides})]))
    assert _counts(result) == (1, 1, {}, 0, 0, 0)
    (flow,) = _rows(result)
    assert {k: flow[k] for k in want} == want


SSH = {
    "timestamp": "2026-03-02T10:17:47.250000+0000", "flow_id": 1234567890123456,
    "event_type": "ssh", "src_ip": "10.10.1.35", "src_port": 63240, "dest_ip": "10.20.0.11",
    "dest_port": 22, "proto": "TCP",
    "ssh": {"client": {"proto_version": "2.0", "software_version": "OpenSSH_9.9",
                       "hassh": {"hash": "ec7378c1a92f5a8dde7e8b7a1ddf33d1", "string": "x"}},
            "server": {"proto_version": "2.0",
                       "software_version": "OpenSSH_9.6p1 Ubuntu-3ubuntu13.5"}},
}

SSH_CASES = [
    ("both banners (constructed)", {}, {
        "flow_part": "ssh", "start_us": 1772446667250000, "is_ssh": True,
        "ssh_evidence": "banner", "client_banner": "SSH-2.0-OpenSSH_9.9",
        "server_banner": "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5", "proto": "tcp",
        "pkts_out": None, "saw_syn": None, "flow_uid": "1234567890123456",
    }),
    ("server only", {"ssh": {"server": SSH["ssh"]["server"]}},
     {"client_banner": None, "ssh_evidence": "banner"}),
    ("no banners", {"ssh": {}}, {"ssh_evidence": "service", "client_banner": None}),
    ("software without proto_version", {"ssh": {"client": {"software_version": "Go"}}},
     {"client_banner": "Go"}),
]


@pytest.mark.parametrize(("overrides", "want"), [c[1:] for c in SSH_CASES],
                         ids=[c[0] for c in SSH_CASES])
def test_ssh_record(tmp_path: Path, overrides: dict[str, Any], want: dict[str, Any]) -> None:
    result = _read(_write(tmp_path, [{**SSH, **overrides}]))
    assert _counts(result) == (1, 1, {}, 0, 0, 0)
    (flow,) = _rows(result)
    assert {k: flow[k] for k in want} == want


def test_ssh_merges_into_its_flow_in_normalisation(tmp_path: Path) -> None:
    """Constructed: the ssh event comes first (after the banners), the flow at its end; a second
    ssh event has no flow record and stays a flow of its own."""
    from agenttrail.config import load
    from agenttrail.model import TABLES, empty
    from agenttrail.normalise import normalise

    other = {**SSH, "flow_id": 99, "src_port": 50000}
    result = _read(_write(tmp_path, [SSH, FLOW, other]))
    tables = {t: empty(t) for t in TABLES}
    tables.update(result.tables)
    con = duckdb.connect()
    flows = normalise(tables, load(None), con)["flow"].to_pylist()
    # the merged row is the flow record's (line 2)
    assert [(f["src_line"], f["src_port"], f["flow_part"]) for f in flows] == [
        (2, 63240, None), (3, 50000, None)
    ]
    merged = flows[0]
    assert (merged["start_us"], merged["end_us"], merged["pkts_out"], merged["saw_syn"]) == (
        1772446667187377, 1772446741500000, 30, True
    )  # from the flow record
    assert (merged["ssh_evidence"], merged["client_banner"], merged["is_ssh"]) == (
        "banner", "SSH-2.0-OpenSSH_9.9", True
    )  # from the ssh event
    assert flows[1]["end_us"] is None and flows[1]["is_ssh"] is True


def test_protocol_aware_no_port_rule(tmp_path: Path) -> None:
    """Constructed: a Suricata flow to port 22 that Suricata did not call ssh is not SSH."""
    from agenttrail.config import load
    from agenttrail.model import TABLES, empty
    from agenttrail.normalise import normalise

    result = _read(_write(tmp_path, [_drop_none({**FLOW, "app_proto": None})]))
    tables = {t: empty(t) for t in TABLES}
    tables.update(result.tables)
    (flow,) = normalise(tables, load(None), duckdb.connect())["flow"].to_pylist()
    assert (flow["dst_port"], flow["is_ssh"], flow["ssh_evidence"]) == (22, False, None)


# --- constructed dns records -------------------------------------------------------------------

DNS_BASE = {"timestamp": "2026-03-02T10:17:40.000000+0000", "flow_id": 5, "in_iface": "eth0",
            "event_type": "dns", "src_ip": "10.10.1.35", "src_port": 53000,
            "dest_ip": "10.10.0.2", "dest_port": 53, "proto": "UDP"}
V2_ANSWER = {"version": 2, "type": "answer", "id": 7, "rrname": "db1.corp.example",
             "rrtype": "A", "rcode": "NOERROR",
             "answers": [{"rrname": "db1.corp.example", "rrtype": "CNAME", "ttl": 300,
                          "rdata": "db1-a.corp.example"},
                         {"rrname": "db1-a.corp.example", "rrtype": "A", "ttl": 60,
                          "rdata": "10.20.0.11"},
                         {"rrname": "db1-a.corp.example", "rrtype": "AAAA", "ttl": 60,
                          "rdata": "2001:0db8:0000:0000:0000:0000:0000:0011"}],
             "grouped": {"A": ["10.20.0.11"], "AAAA": ["2001:db8::11"],
                         "CNAME": ["db1-a.corp.example"]}}

DNS_CASES = [
    ("v2 answers list: the question's name, each address with its ttl (constructed)",
     {"dns": V2_ANSWER}, "dns", [("db1.corp.example", "10.20.0.11", 60),
                                 ("db1.corp.example", "2001:db8::11", 60)]),
    ("v2 grouped only: no ttl", {"dns": {k: v for k, v in V2_ANSWER.items() if k != "answers"}},
     "dns", [("db1.corp.example", "10.20.0.11", None), ("db1.corp.example", "2001:db8::11",
                                                         None)]),
    ("v1 per-record answer", {"dns": {"type": "answer", "id": 7, "rrname": "db1.corp.example",
                                      "rrtype": "A", "ttl": 30, "rdata": "10.20.0.11"}},
     "dns", [("db1.corp.example", "10.20.0.11", 30)]),
    ("v1 per-record CNAME answer: no address", {"dns": {"type": "answer", "rrname": "x",
                                                        "rrtype": "CNAME", "rdata": "y"}},
     "dns_no_address", []),
    ("v1 query", {"dns": {"type": "query", "id": 7, "rrname": "db1.corp.example",
                          "rrtype": "A", "tx_id": 0}}, "dns_query", []),
    ("Suricata 8 request", {"dns": {"version": 3, "type": "request", "id": 7,
                                    "queries": [{"rrname": "db1.corp.example",
                                                 "rrtype": "A"}]}}, "dns_query", []),
    ("Suricata 8 response", {"dns": {"version": 3, "type": "response", "id": 7,
                                     "queries": [{"rrname": "db1.corp.example", "rrtype": "A"}],
                                     "answers": [{"rrname": "db1.corp.example", "rrtype": "A",
                                                  "ttl": 5, "rdata": "10.20.0.11"}]}},
     "dns", [("db1.corp.example", "10.20.0.11", 5)]),
    ("NXDOMAIN", {"dns": {"version": 2, "type": "answer", "rrname": "nx.example",
                          "rrtype": "A", "rcode": "NXDOMAIN"}}, "dns_no_address", []),
    ("rdata that is not an address is dropped", {"dns": {**V2_ANSWER, "answers": [
        {"rrname": "a", "rrtype": "A", "ttl": 1, "rdata": "not-an-ip"}]}}, "dns_no_address", []),
]


@pytest.mark.parametrize(("overrides", "kind", "want"), [c[1:] for c in DNS_CASES],
                         ids=[c[0] for c in DNS_CASES])
def test_dns_record(tmp_path: Path, overrides: dict[str, Any], kind: str,
                    want: list[tuple[str, str, int | None]]) -> None:
    result = _read(_write(tmp_path, [{**DNS_BASE, **overrides}]))
    if kind == "dns":
        assert _counts(result) == (1, 1, {}, 0, 0, 0)
    else:
        assert _counts(result) == (1, 0, {kind: 1}, 0, 0, 0)
    rows = _rows(result, "dns")
    assert [(r["query"], r["answer_ip"], r["ttl"]) for r in rows] == want
    assert all(r["client_ip"] == "10.10.1.35" and r["sensor"] == "eth0" and r["src_line"] == 1
               and r["t_us"] == 1772446660000000 for r in rows)


def test_dns_answer_logged_server_to_client(tmp_path: Path) -> None:
    """Constructed: a response logged in packet direction (from port 53): the client is dest."""
    rec = {**DNS_BASE, "src_ip": "10.10.0.2", "src_port": 53, "dest_ip": "10.10.1.35",
           "dest_port": 53000, "dns": V2_ANSWER}
    rows = _rows(_read(_write(tmp_path, [rec])), "dns")
    assert {r["client_ip"] for r in rows} == {"10.10.1.35"}


# --- other event types, damage and accounting --------------------------------------------------


def test_other_event_types_are_skipped_by_type(tmp_path: Path) -> None:
    base = {"timestamp": "2026-03-02T10:17:40.000000+0000", "src_ip": "10.0.0.1",
            "dest_ip": "10.0.0.2", "flow_id": 1}
    kinds = ["alert", "http", "tls", "fileinfo", "anomaly", "alert", "netflow"]
    result = _read(_write(tmp_path, [{**base, "event_type": k} for k in kinds]))
    assert _counts(result) == (7, 0, {"alert": 2, "http": 1, "tls": 1, "fileinfo": 1,
                                      "anomaly": 1, "netflow": 1}, 0, 0, 0)
    assert "flow" not in result.tables


MALFORMED = [
    ("not json", "this is not json", "not JSON"),
    ("not an object", "[1, 2]", "JSON value is not an object"),
    ("no event_type", {"timestamp": "2026-03-02T10:17:40.000000+0000"},
     "record without event_type"),
    ("bad source address", {**FLOW, "src_ip": "10.10.1.300"},
     "flow record: src_ip 10.10.1.300 is not an address"),
    ("no destination", {k: v for k, v in FLOW.items() if k != "dest_ip"},
     "flow record without dest_ip"),
    ("port out of range", {**FLOW, "dest_port": 70000},
     "flow record: dest_port 70000 is not a port"),
    ("tcp without a port", {k: v for k, v in FLOW.items() if k != "src_port"},
     "flow record: src_port unset is not a port"),
    ("flow.start not a time", {**FLOW, "flow": {**FLOW["flow"], "start": "yesterday"}},
     "flow record: flow.start yesterday is not a time"),
    ("ssh timestamp without zone", {**SSH, "timestamp": "2026-03-02T10:17:47.25"},
     "ssh record: timestamp 2026-03-02T10:17:47.25 is not a time"),
    ("dns answer without a time", {**DNS_BASE, "timestamp": "x", "dns": V2_ANSWER},
     "dns record: timestamp x is not a time"),
]


@pytest.mark.parametrize(("bad", "message"), [c[1:] for c in MALFORMED],
                         ids=[c[0] for c in MALFORMED])
def test_malformed_line(tmp_path: Path, bad: Any, message: str) -> None:
    """Constructed: a good flow, the damaged line (line 2), a good ssh event."""
    result = _read(_write(tmp_path, [FLOW, bad, SSH]))
    assert _counts(result) == (3, 2, {}, 0, 1, 0)
    (issue,) = result.account.issues
    assert (issue.kind, issue.line) == ("malformed", 2)
    assert issue.message.startswith(message)
    assert issue.location() == "eve.json:2"
    assert [f["src_line"] for f in _rows(result)] == [1, 3]
    assert _rows(result, "dns") == []


def test_truncated_last_line_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.write_text(json.dumps(FLOW) + "\n\n" + json.dumps(SSH) + "\n" + json.dumps(FLOW)[:80],
                    encoding="utf-8")
    result = _read(path)
    assert _counts(result) == (4, 2, {}, 1, 1, 0)
    (issue,) = result.account.issues
    assert issue.line == 4 and "truncated" in issue.message
    assert [f["src_line"] for f in _rows(result)] == [1, 3]


def test_long_line_is_reported_not_read(tmp_path: Path) -> None:
    big = {**FLOW, "event_type": "stats", "stats": {"pad": "x" * 5000}}
    result = _read(_write(tmp_path, [FLOW, big, SSH]), max_line_bytes=2000)
    assert _counts(result) == (3, 2, {}, 0, 1, 0)
    assert result.account.issues[0].line == 2


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.write_bytes(b"")
    result = _read(path)
    assert _counts(result) == (0, 0, {}, 0, 0, 0)
    assert result.tables == {}


def test_flow_columns_conform(tmp_path: Path) -> None:
    table = _read(_write(tmp_path, [FLOW, SSH])).tables["flow"]
    assert table.schema == SCHEMAS["flow"]
    assert table.column("start").type == pa.timestamp("us", tz="UTC")
