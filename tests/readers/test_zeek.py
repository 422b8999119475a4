"""Tests for the Zeek conn/ssh reader (TSV and JSON lines).

Corpus counts were computed independently of the reader with ``grep``/``awk``/``jq`` (e.g.
``grep -c '^#' F`` for meta, ``awk -F'\\t' '!/^#/ && $8 ~ /(^|,)ssh(,|$)/' F`` for is_ssh).
Constructed inputs are written by the tests themselves.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from agenttrail.model import ReadResult
from agenttrail.readers import zeek
from agenttrail.readers._io import ReadContext, read_head


def _read(path: Path, rel: str | None = None, **kw: Any) -> ReadResult:
    ctx = ReadContext(path=path, rel=rel or path.name, con=duckdb.connect(), **kw)
    result = zeek.read(ctx)
    assert result.account.balanced(), result.account.to_dict()
    assert result.account.format == "zeek"
    return result


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def _flows(result: ReadResult) -> list[dict[str, Any]]:
    table = result.tables.get("flow")
    return [] if table is None else table.to_pylist()


def _counts(result: ReadResult) -> tuple[int, int, dict[str, int], int, int, int]:
    a = result.account
    return a.read, a.normalised, a.skipped_by_type, a.meta, a.malformed, a.unread


# --- whole corpus files ------------------------------------------------------------------------

# file, read, normalised, skipped_by_type, meta, malformed, masked_ts
CORPUS = [
    ("zeek-btest/ssh.basic.conn.log", 35, 25, {}, 10, 0, 25),
    ("zeek-btest/ssh.basic.conn.2018-realts.log", 34, 25, {}, 9, 0, 0),
    ("zeek-btest/ssh.basic.ssh.log", 32, 22, {}, 10, 0, 22),
    ("zeek-btest/ssh.basic.ssh.2018-realts.log", 31, 22, {}, 9, 0, 0),
    ("zeek-btest/ssh.half-duplex-client.conn.log", 35, 25, {}, 10, 0, 25),
    ("zeek-btest/ssh.half-duplex-client.ssh.log", 30, 20, {}, 10, 0, 20),
    ("zeek-btest/ssh.mlkem_kex.ssh.log", 11, 1, {}, 10, 0, 1),
    ("zeek-btest/ssh.pre-banner.conn.log", 11, 1, {}, 10, 0, 1),
    ("zeek-btest/ssh.pre-banner.ssh.log", 11, 1, {}, 10, 0, 1),
    ("zeek-docs-examples/conn_json_examples_2020.jsonl", 2, 2, {}, 0, 0, 0),
    ("zeek-docs-examples/ssh_json_examples_hassh_2020.jsonl", 5, 5, {}, 0, 0, 0),
    ("zed-sample-data-wrccdc2018/ssh.log", 31, 22, {}, 9, 0, 0),
    ("zed-sample-data-wrccdc2018/ssh.json", 22, 22, {}, 0, 0, 0),
    ("zed-sample-data-wrccdc2018/software.ssh-only.log", 24, 0, {"software": 15}, 9, 0, 0),
    ("zed-sample-data-wrccdc2018/known_services.ssh-only.log", 15, 0, {"known_services": 6}, 9,
     0, 0),
]


@pytest.mark.parametrize(
    ("rel", "read", "normalised", "skipped", "meta", "malformed", "masked"),
    CORPUS,
    ids=[c[0].rsplit("/", 1)[1] for c in CORPUS],
)
def test_corpus_counts(
    corpus: Path,
    rel: str,
    read: int,
    normalised: int,
    skipped: dict[str, int],
    meta: int,
    malformed: int,
    masked: int,
) -> None:
    path = corpus / rel
    assert zeek.sniff(read_head(path))
    result = _read(path)
    assert _counts(result) == (read, normalised, skipped, meta, malformed, 0)
    assert result.account.issues == []
    assert result.account.details.get("masked_ts", 0) == masked
    flows = _flows(result)
    assert len(flows) == normalised
    assert all(f["src_format"] == "zeek" and f["src_file"] == path.name for f in flows)
    assert all(f["src_seq"] is None and f["flow_uid"] for f in flows)
    assert all((f["start_us"] is None) == (masked > 0) for f in flows)


# file, rows, is_ssh true, saw_syn true, saw_syn false (awk over service / history / conn_state)
CONN_STATS = [
    ("zeek-btest/ssh.basic.conn.log", 25, 22, 22, 3),
    ("zeek-btest/ssh.basic.conn.2018-realts.log", 25, 22, 22, 3),
    ("zeek-btest/ssh.half-duplex-client.conn.log", 25, 0, 20, 5),
    ("zeek-btest/ssh.pre-banner.conn.log", 1, 1, 1, 0),
    ("zeek-docs-examples/conn_json_examples_2020.jsonl", 2, 0, 1, 1),
]


@pytest.mark.parametrize(("rel", "rows", "ssh", "syn", "no_syn"), CONN_STATS)
def test_corpus_conn_columns(
    corpus: Path, rel: str, rows: int, ssh: int, syn: int, no_syn: int
) -> None:
    flows = _flows(_read(corpus / rel))
    assert len(flows) == rows
    assert {f["flow_part"] for f in flows} == {"conn"}
    assert sum(f["is_ssh"] is True for f in flows) == ssh
    assert all(f["is_ssh"] in (True, None) for f in flows)  # unknown, never false
    assert sum(f["ssh_evidence"] == "service" for f in flows) == ssh
    assert sum(f["saw_syn"] is True for f in flows) == syn
    assert sum(f["saw_syn"] is False for f in flows) == no_syn
    assert all(f["client_banner"] is None and f["ssh_auth_hint"] is None for f in flows)


# file, rows, auth T, auth F, auth unset, banner evidence (awk over auth_success/client/server;
# jq for JSON)
SSH_STATS = [
    ("zeek-btest/ssh.basic.ssh.log", 22, 10, 2, 10, 22),
    ("zeek-btest/ssh.basic.ssh.2018-realts.log", 22, 10, 2, 10, 22),
    ("zeek-btest/ssh.half-duplex-client.ssh.log", 20, 0, 0, 20, 20),
    ("zeek-btest/ssh.mlkem_kex.ssh.log", 1, 1, 0, 0, 1),
    ("zeek-btest/ssh.pre-banner.ssh.log", 1, 0, 0, 1, 1),
    ("zed-sample-data-wrccdc2018/ssh.log", 22, 5, 2, 15, 22),
    ("zed-sample-data-wrccdc2018/ssh.json", 22, 5, 2, 15, 22),
    ("zeek-docs-examples/ssh_json_examples_hassh_2020.jsonl", 5, 3, 0, 2, 5),
]


@pytest.mark.parametrize(("rel", "rows", "yes", "no", "unset", "banner"), SSH_STATS)
def test_corpus_ssh_columns(
    corpus: Path, rel: str, rows: int, yes: int, no: int, unset: int, banner: int
) -> None:
    flows = _flows(_read(corpus / rel))
    assert len(flows) == rows
    assert {f["flow_part"] for f in flows} == {"ssh"}
    assert all(f["is_ssh"] is True for f in flows)
    hints = [f["ssh_auth_hint"] for f in flows]
    assert (hints.count(True), hints.count(False), hints.count(None)) == (yes, no, unset)
    assert sum(f["ssh_evidence"] == "banner" for f in flows) == banner
    assert all(f["proto"] is None and f["state"] is None and f["bytes_out"] is None for f in flows)


def test_corpus_selected_values(corpus: Path) -> None:
    conn = _flows(_read(corpus / "zeek-btest/ssh.basic.conn.2018-realts.log"))
    # line 10: 1409516196.337184 ClEkJM2Vm5giqnMf4h 10.0.0.18 40184 128.2.6.88 41644 tcp ssh
    #          2.079071 3813 3633 SF - - 0 ShADadFf 22 4965 26 5017 -
    assert {k: conn[1][k] for k in (
        "src_line", "start_us", "end_us", "src_ip", "src_port", "dst_ip", "dst_port", "proto",
        "state", "history", "saw_syn", "bytes_out", "bytes_in", "pkts_out", "pkts_in", "is_ssh",
        "ssh_evidence", "flow_uid", "flow_part", "sensor",
    )} == {
        "src_line": 10, "start_us": 1409516196337184, "end_us": 1409516198416255,
        "src_ip": "10.0.0.18", "src_port": 40184, "dst_ip": "128.2.6.88", "dst_port": 41644,
        "proto": "tcp", "state": "SF", "history": "ShADadFf", "saw_syn": True,
        "bytes_out": 3813, "bytes_in": 3633, "pkts_out": 22, "pkts_in": 26, "is_ssh": True,
        "ssh_evidence": "service", "flow_uid": "ClEkJM2Vm5giqnMf4h", "flow_part": "conn",
        "sensor": None,
    }
    # last row, line 33: a UDP broadcast, no service, duration/bytes unset ("-")
    last = conn[-1]
    assert (last["src_line"], last["flow_uid"]) == (33, "CGLPPc35OzDQij1XX8")
    udp = next(f for f in conn if f["flow_uid"] == "CykQaM33ztNt0csB9a")
    assert (udp["proto"], udp["is_ssh"], udp["end_us"], udp["bytes_out"], udp["saw_syn"]) == (
        "udp", None, None, None, False
    )
    ssh = _flows(_read(corpus / "zed-sample-data-wrccdc2018/ssh.log"))
    # line 9: 1521911799.739898 C2MugGdsn3ZVI1wn6 10.0.0.227 59849 10.47.8.50 22 2 T ...
    first = ssh[0]
    assert (first["src_line"], first["start_us"], first["flow_uid"], first["ssh_auth_hint"]) == (
        9, 1521911799739898, "C2MugGdsn3ZVI1wn6", True
    )
    assert (first["client_banner"], first["server_banner"]) == (
        "SSH-2.0-OpenSSH_7.6", "SSH-2.0-OpenSSH_7.4p1 Raspbian-10+deb9u3"
    )
    # line 14: no client banner, server only; auth unset
    scan = ssh[5]
    assert (scan["src_line"], scan["client_banner"], scan["ssh_auth_hint"]) == (14, None, None)
    assert scan["server_banner"] == "SSH-2.0-OpenSSH_4.3p2 Debian-9etch3"
    hassh = _flows(_read(corpus / "zeek-docs-examples/ssh_json_examples_hassh_2020.jsonl"))
    # line 5: auth_success and client left out
    assert (hassh[4]["start_us"], hassh[4]["ssh_auth_hint"], hassh[4]["client_banner"]) == (
        1600262948560780, None, None
    )
    conn_json = _flows(_read(corpus / "zeek-docs-examples/conn_json_examples_2020.jsonl"))
    # ts 1591367999.305988, duration 0.06685185432434082 -> 66852 µs (rounded at the 7th digit)
    assert (conn_json[0]["start_us"], conn_json[0]["end_us"]) == (
        1591367999305988, 1591367999372840
    )


def test_corpus_realts_conn_and_ssh_uids_match(corpus: Path) -> None:
    conn = _flows(_read(corpus / "zeek-btest/ssh.basic.conn.2018-realts.log"))
    ssh = _flows(_read(corpus / "zeek-btest/ssh.basic.ssh.2018-realts.log"))
    by_uid = {f["flow_uid"]: f for f in conn}
    assert len(by_uid) == 25 and len({f["flow_uid"] for f in ssh}) == 22
    for s in ssh:
        c = by_uid[s["flow_uid"]]
        assert (s["src_ip"], s["src_port"], s["dst_ip"], s["dst_port"]) == (
            c["src_ip"], c["src_port"], c["dst_ip"], c["dst_port"]
        )
        assert c["is_ssh"] is True
        assert c["start_us"] <= s["start_us"] <= c["end_us"]
    # the three conn rows without an ssh.log row are the ones Zeek did not call ssh
    assert sorted(set(by_uid) - {s["flow_uid"] for s in ssh}) == [
        "CqlVyW1YwZ15RhTBc4", "CtxTCR2Yer0FR1tIBg", "CykQaM33ztNt0csB9a"
    ]


def test_corpus_tsv_and_json_streaming_agree(corpus: Path) -> None:
    keys = ("flow_uid", "start_us", "src_ip", "src_port", "dst_ip", "dst_port", "ssh_auth_hint",
            "client_banner", "server_banner", "ssh_evidence")
    tsv = _flows(_read(corpus / "zed-sample-data-wrccdc2018/ssh.log"))
    js = _flows(_read(corpus / "zed-sample-data-wrccdc2018/ssh.json"))
    assert [tuple(f[k] for k in keys) for f in tsv] == [tuple(f[k] for k in keys) for f in js]


def test_corpus_gzip_decompressed_reads_identically(corpus: Path, tmp_path: Path) -> None:
    plain = tmp_path / "ssh.log"
    plain.write_bytes(gzip.decompress((corpus / "zed-sample-data-wrccdc2018/ssh.log.gz")
                                      .read_bytes()))
    a = _read(corpus / "zed-sample-data-wrccdc2018/ssh.log", rel="ssh.log")
    b = _read(plain, rel="ssh.log")
    assert a.tables["flow"].equals(b.tables["flow"])
    assert a.account.to_dict() == b.account.to_dict()


# --- sniff -------------------------------------------------------------------------------------

SNIFF = [
    ("tsv", b"#separator \\x09\n#set_separator\t,\n", True),
    ("btest", b"### BTest baseline data generated by btest-diff.\n#separator \\x09\n", True),
    ("json conn", b'{"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1}\n', True),
    ("json scope _", b'{"ts":1.5,"uid":"C1","id_orig_h":"10.0.0.1"}\n', True),
    ("json streaming software",
     b'{"_path":"software","_write_ts":"2018-03-24T17:16:40Z","ts":"2018-03-24T17:16:39Z"}\n',
     True),
    ("eslogger", b'{"event":{"exec":{}},"process":{},"global_seq_num":1,"time":"x"}\n', False),
    ("suricata", b'{"timestamp":"2020-01-01T00:00:00.000000+0000","event_type":"flow",'
     b'"src_ip":"10.0.0.1"}\n', False),
    ("syslog", b"Mar 24 17:16:39 host sshd[1]: Accepted publickey for a from 10.0.0.1 port 1\n",
     False),
    ("other comment", b"# failJSON: {}\n", False),
    ("empty", b"", False),
    ("binary", b"\x00\x01\x02\xff", False),
]


@pytest.mark.parametrize(("head", "want"), [c[1:] for c in SNIFF], ids=[c[0] for c in SNIFF])
def test_sniff(head: bytes, want: bool) -> None:
    assert zeek.sniff(head) is want


# --- TSV value encoding, one conn line per case ------------------------------------------------

CONN_HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    "#open\t2024-04-12-19-29-44\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t"
    "orig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\t"
    "orig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\t"
    "string\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\tcount\n"
)
CONN_BASE = {
    "ts": "1521911799.739898", "uid": "C2MugGdsn3ZVI1wn6", "id.orig_h": "10.0.0.227",
    "id.orig_p": "59849", "id.resp_h": "10.47.8.50", "id.resp_p": "22", "proto": "tcp",
    "service": "ssh", "duration": "6.159326", "orig_bytes": "2669", "resp_bytes": "2501",
    "conn_state": "SF", "local_orig": "-", "local_resp": "-", "missed_bytes": "0",
    "history": "ShAdDaFf", "orig_pkts": "25", "orig_ip_bytes": "3981", "resp_pkts": "20",
    "resp_ip_bytes": "3549", "tunnel_parents": "-", "ip_proto": "6",
}
CONN_LINE = 9  # the data line follows 8 header lines

CONN_CASES = [
    ("plain", {}, {
        "start_us": 1521911799739898, "end_us": 1521911805899224, "src_ip": "10.0.0.227",
        "src_port": 59849, "dst_ip": "10.47.8.50", "dst_port": 22, "proto": "tcp",
        "state": "SF", "history": "ShAdDaFf", "saw_syn": True, "bytes_out": 2669,
        "bytes_in": 2501, "pkts_out": 25, "pkts_in": 20, "is_ssh": True,
        "ssh_evidence": "service", "flow_uid": "C2MugGdsn3ZVI1wn6", "flow_part": "conn",
    }),
    ("duration unset: no end", {"duration": "-"}, {"end_us": None, "start_us": 1521911799739898}),
    ("bytes unset are NULL, not 0", {"orig_bytes": "-", "resp_pkts": "-"},
     {"bytes_out": None, "pkts_in": None, "bytes_in": 2501}),
    ("service list with ssh", {"service": "ssl,ssh"}, {"is_ssh": True, "ssh_evidence": "service"}),
    ("service removed by DPD", {"service": "-ssh"}, {"is_ssh": None, "ssh_evidence": None}),
    ("service unset", {"service": "-"}, {"is_ssh": None, "ssh_evidence": None}),
    ("service empty", {"service": "(empty)"}, {"is_ssh": None}),
    ("set value", {"tunnel_parents": "CaAaAa1,CbBbBb2"}, {"flow_uid": "C2MugGdsn3ZVI1wn6"}),
    ("history unset: syn unknown", {"history": "-"}, {"history": None, "saw_syn": None}),
    ("history empty", {"history": "(empty)"}, {"history": "", "saw_syn": False}),
    ("no SYN seen", {"history": "DdAa", "conn_state": "S1"}, {"saw_syn": False}),
    ("midstream OTH", {"history": "SAD", "conn_state": "OTH"}, {"saw_syn": False, "state": "OTH"}),
    ("conn_state unset", {"conn_state": "-"}, {"state": None, "saw_syn": True}),
    ("escaped uid", {"uid": "C\\x41bc"}, {"flow_uid": "CAbc"}),
    ("escaped unset marker is a value", {"history": "\\x2d"}, {"history": "-", "saw_syn": False}),
    ("masked btest ts", {"ts": "XXXXXXXXXX.XXXXXX"}, {"start_us": None, "end_us": None}),
    ("ipv6 canonical", {"id.orig_h": "2001:DB8:0:0::1", "id.resp_h": "::ffff:10.0.0.1"},
     {"src_ip": "2001:db8::1", "dst_ip": "10.0.0.1"}),
    ("icmp", {"proto": "icmp", "id.orig_p": "8", "id.resp_p": "0", "service": "-"},
     {"proto": "icmp", "src_port": 8, "dst_port": 0, "is_ssh": None}),
    ("ts rounds at the 7th decimal", {"ts": "1521911799.7398985", "duration": "0.0000005"},
     {"start_us": 1521911799739899, "end_us": 1521911799739900}),
]


def _conn_line(overrides: dict[str, str]) -> str:
    return "\t".join({**CONN_BASE, **overrides}.values()) + "\n"


@pytest.mark.parametrize(("overrides", "want"), [c[1:] for c in CONN_CASES],
                         ids=[c[0] for c in CONN_CASES])
def test_tsv_conn_line(tmp_path: Path, overrides: dict[str, str], want: dict[str, Any]) -> None:
    result = _read(_write(tmp_path, "conn.log", CONN_HEADER + _conn_line(overrides)))
    assert _counts(result) == (9, 1, {}, 8, 0, 0)
    (flow,) = _flows(result)
    assert flow["src_line"] == CONN_LINE
    assert {k: flow[k] for k in want} == want


MALFORMED_CASES = [
    ("short row", CONN_HEADER + "\t".join(list(CONN_BASE.values())[:-1]) + "\n",
     "21 fields where #fields declares 22"),
    ("long row", CONN_HEADER + _conn_line({"ip_proto": "6\t6"}),
     "23 fields where #fields declares 22"),
    ("uid unset", CONN_HEADER + _conn_line({"uid": "-"}), "conn record without uid"),
    ("orig_h unset", CONN_HEADER + _conn_line({"id.orig_h": "-"}),
     "conn record without id.orig_h"),
    ("resp_h not an address", CONN_HEADER + _conn_line({"id.resp_h": "10.0.0.300"}),
     "conn record: id.resp_h 10.0.0.300 is not an address"),
    ("orig_p not a number", CONN_HEADER + _conn_line({"id.orig_p": "http"}),
     "conn record: id.orig_p http is not a port"),
    ("resp_p out of range", CONN_HEADER + _conn_line({"id.resp_p": "70000"}),
     "conn record: id.resp_p 70000 is not a port"),
    ("resp_p unset", CONN_HEADER + _conn_line({"id.resp_p": "-"}),
     "conn record: id.resp_p unset is not a port"),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in MALFORMED_CASES],
                         ids=[c[0] for c in MALFORMED_CASES])
def test_tsv_malformed_line(tmp_path: Path, text: str, message: str) -> None:
    result = _read(_write(tmp_path, "conn.log", text))
    assert _counts(result) == (9, 0, {}, 8, 1, 0)
    assert "flow" not in result.tables
    (issue,) = result.account.issues
    assert (issue.kind, issue.line, issue.message) == ("malformed", CONN_LINE, message)
    assert issue.location() == f"conn.log:{CONN_LINE}"
    assert issue.excerpt.startswith("1521911799.739898\t")


# --- TSV ssh lines -----------------------------------------------------------------------------

SSH_HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tssh\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tauth_success\t"
    "auth_attempts\tdirection\tclient\tserver\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tcount\tbool\tcount\tenum\tstring\tstring\n"
)
SSH_CASES = [
    ("success", "T\t1\t-\tSSH-2.0-OpenSSH_7.6\tSSH-2.0-OpenSSH_7.4",
     {"ssh_auth_hint": True, "ssh_evidence": "banner", "client_banner": "SSH-2.0-OpenSSH_7.6",
      "server_banner": "SSH-2.0-OpenSSH_7.4", "is_ssh": True}),
    ("failure", "F\t3\tINBOUND\tSSH-2.0-x\tSSH-2.0-y", {"ssh_auth_hint": False}),
    ("undetermined", "-\t0\t-\tSSH-2.0-x\t-",
     {"ssh_auth_hint": None, "server_banner": None, "ssh_evidence": "banner"}),
    ("no banners", "-\t0\t-\t-\t-",
     {"ssh_evidence": "service", "client_banner": None, "server_banner": None}),
    ("empty banner", "-\t0\t-\t(empty)\t-", {"ssh_evidence": "service", "client_banner": ""}),
    ("escaped tab in banner", "-\t0\t-\tSSH-2.0-a\\x09b\t-", {"client_banner": "SSH-2.0-a\tb"}),
    ("utf-8 escape decoded", "-\t0\t-\tSSH-2.0-caf\\xc3\\xa9\t-", {"client_banner": "SSH-2.0-café"}),
    ("invalid utf-8 stays escaped", "-\t0\t-\tSSH-2.0-\\xff\t-",
     {"client_banner": "SSH-2.0-\\xff"}),
]


@pytest.mark.parametrize(("tail", "want"), [c[1:] for c in SSH_CASES],
                         ids=[c[0] for c in SSH_CASES])
def test_tsv_ssh_line(tmp_path: Path, tail: str, want: dict[str, Any]) -> None:
    line = "1521911799.739898\tC1\t10.0.0.1\t50000\t10.0.0.2\t2222\t2\t" + tail + "\n"
    result = _read(_write(tmp_path, "ssh.log", SSH_HEADER + line))
    assert _counts(result) == (8, 1, {}, 7, 0, 0)
    (flow,) = _flows(result)
    assert (flow["src_line"], flow["flow_part"], flow["dst_port"], flow["proto"]) == (
        8, "ssh", 2222, None
    )
    assert {k: flow[k] for k in want} == want


def test_tsv_old_status_form(tmp_path: Path) -> None:
    text = (
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
        "#path\tssh\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tstatus\t"
        "direction\tclient\tserver\tresp_size\n"
        "#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tenum\tstring\tstring\tcount\n"
        "1300000000.000001\tC1\t10.0.0.1\t1\t10.0.0.2\t22\tsuccess\tINBOUND\tSSH-2.0-a\tSSH-2.0-b\t9\n"
        "1300000000.000002\tC2\t10.0.0.1\t2\t10.0.0.2\t22\tfailure\tINBOUND\tSSH-2.0-a\tSSH-2.0-b\t9\n"
        "1300000000.000003\tC3\t10.0.0.1\t3\t10.0.0.2\t22\tundetermined\t-\t-\t-\t-\n"
    )
    result = _read(_write(tmp_path, "ssh.log", text))
    assert _counts(result) == (10, 3, {}, 7, 0, 0)
    assert [(f["src_line"], f["start_us"], f["ssh_auth_hint"]) for f in _flows(result)] == [
        (8, 1300000000000001, True), (9, 1300000000000002, False), (10, 1300000000000003, None)
    ]


def test_tsv_custom_separator_and_escapes(tmp_path: Path) -> None:
    text = (
        "#separator \\x7c\\x7c\n#set_separator||;\n#empty_field||EMPTY\n#unset_field||NONE\n"
        "#path||ssh\n#open||2024-04-12-19-29-44\n"
        "#fields||ts||uid||id.orig_h||id.orig_p||id.resp_h||id.resp_p||auth_success||client"
        "||server\n#types||time||string||addr||port||addr||port||bool||string||string\n"
        "1521911799.739898||C1||10.0.0.1||50000||10.0.0.2||22||T||SSH-2.0-fa\\x7c\\x7cure||NONE\n"
        "1521911799.739899||C2||10.0.0.1||50001||10.0.0.2||22||NONE||EMPTY||-\n"
        "1521911799.739900||C3||10.0.0.1||50002||10.0.0.2||22||F||a|b\n"
        "#close||2024-04-12-19-34-07\n"
    )
    result = _read(_write(tmp_path, "x.log", text))
    assert _counts(result) == (12, 2, {}, 9, 1, 0)
    assert result.account.details["closed"] is True
    assert [(f["src_line"], f["ssh_auth_hint"], f["client_banner"], f["server_banner"])
            for f in _flows(result)] == [
        (9, True, "SSH-2.0-fa||ure", None), (10, None, "", "-"),
    ]
    (issue,) = result.account.issues
    assert (issue.line, issue.message) == (11, "8 fields where #fields declares 9")


def test_tsv_scope_separator_underscore(tmp_path: Path) -> None:
    text = (
        "#separator \\x09\n#path\tconn\n"
        "#fields\tts\tuid\tid_orig_h\tid_orig_p\tid_resp_h\tid_resp_p\tproto\tservice\tconn_state"
        "\thistory\n"
        "1521911799.739898\tC1\t10.0.0.1\t50000\t10.0.0.2\t22\ttcp\tssh\tSF\tShAD\n"
    )
    (flow,) = _flows(_read(_write(tmp_path, "conn.log", text)))
    assert (flow["src_ip"], flow["src_port"], flow["dst_ip"], flow["dst_port"]) == (
        "10.0.0.1", 50000, "10.0.0.2", 22
    )
    assert (flow["is_ssh"], flow["saw_syn"], flow["end_us"], flow["bytes_out"]) == (
        True, True, None, None
    )


def test_tsv_several_header_blocks(tmp_path: Path) -> None:
    """Concatenated logs: each block re-defines separator, path and columns."""
    text = (
        "### BTest baseline data generated by btest-diff. Do not edit.\n"  # 1
        + CONN_HEADER  # 2-9
        + _conn_line({"uid": "Cconn1"})  # 10
        + "#close XXXX-XX-XX-XX-XX-XX\n"  # 11
        + "#separator \\x7c\n#set_separator|,\n#empty_field|(empty)\n#unset_field|-\n"  # 12-15
        "#path|ssh\n#fields|uid|ts|id.resp_h|id.resp_p|id.orig_h|id.orig_p|client|auth_success\n"
        "#types|string|time|addr|port|addr|port|string|bool\n"  # 16-18
        "Cssh1|1521911800.000001|10.0.0.2|22|10.0.0.1|40000|SSH-2.0-x|T\n"  # 19
        "Cssh2|1521911800.000002|10.0.0.2|22|10.0.0.1\n"  # 20: short
        "#separator \\x09\n#path\tsoftware\n#fields\tts\thost\thost_p\tsoftware_type\tname\n"
        "1521911800.000003\t10.0.0.1\t-\tSSH::CLIENT\tOpenSSH\n"  # 24
        "1521911800.000004\t10.0.0.1\n"  # 25: short, still malformed though skipped by type
        "#close\t2024-04-12-19-34-07\n"  # 26
    )
    result = _read(_write(tmp_path, "mixed.log", text))
    assert _counts(result) == (26, 2, {"software": 1}, 21, 2, 0)
    assert [(i.line, i.message) for i in result.account.issues] == [
        (20, "5 fields where #fields declares 8"), (25, "2 fields where #fields declares 5"),
    ]
    conn, ssh = _flows(result)
    assert (conn["src_line"], conn["flow_uid"], conn["flow_part"], conn["src_port"]) == (
        10, "Cconn1", "conn", 59849
    )
    assert (ssh["src_line"], ssh["flow_uid"], ssh["flow_part"], ssh["start_us"]) == (
        19, "Cssh1", "ssh", 1521911800000001
    )
    assert (ssh["src_ip"], ssh["src_port"], ssh["dst_ip"], ssh["dst_port"]) == (
        "10.0.0.1", 40000, "10.0.0.2", 22
    )
    assert (ssh["client_banner"], ssh["ssh_auth_hint"]) == ("SSH-2.0-x", True)
    details = result.account.details
    assert details["paths"] == {"conn": 1, "ssh": 2, "software": 2}
    assert details["fields"]["ssh"] == [
        "uid", "ts", "id.resp_h", "id.resp_p", "id.orig_h", "id.orig_p", "client", "auth_success"
    ]
    assert details["closed"] is True


def test_tsv_data_before_fields_and_blank_lines(tmp_path: Path) -> None:
    text = (
        "#separator \\x09\n"  # 1
        + _conn_line({})  # 2: no #fields yet
        + "\n"  # 3: blank
        + CONN_HEADER.split("\n", 1)[1]  # 4-10
        + _conn_line({})  # 11
        + "\r\n"  # 12: blank (CRLF)
    )
    result = _read(_write(tmp_path, "conn.log", text))
    assert _counts(result) == (12, 1, {}, 10, 1, 0)
    (issue,) = result.account.issues
    assert (issue.line, issue.message) == (2, "data line before any #fields header")
    assert [f["src_line"] for f in _flows(result)] == [11]
    assert result.account.details["closed"] is False


def test_tsv_abandons_after_consecutive_malformed(tmp_path: Path) -> None:
    bad = _conn_line({"uid": "-"})
    text = CONN_HEADER + _conn_line({}) + bad * 4 + _conn_line({}) + "#close\tx\n"
    result = _read(_write(tmp_path, "conn.log", text), max_consecutive_malformed=3)
    # lines 9 ok, 10-12 malformed (3 in a row: abandon), 13-14 unread; headers stay meta
    assert _counts(result) == (15, 1, {}, 9, 3, 2)
    assert [i.line for i in result.account.issues if i.kind == "malformed"] == [10, 11, 12]
    (unread,) = [i for i in result.account.issues if i.kind == "unread"]
    assert unread.message == "abandoned after 3 malformed lines in a row; 2 lines not read"


def test_tsv_without_path_header(tmp_path: Path) -> None:
    header = CONN_HEADER.replace("#path\tconn\n", "")
    result = _read(_write(tmp_path, "capture.log", header + _conn_line({})))
    assert [f["flow_part"] for f in _flows(result)] == ["conn"]


# --- JSON lines --------------------------------------------------------------------------------

JSON_BASE = {"uid": "C1", "id.orig_h": "10.0.0.1", "id.orig_p": 50000, "id.resp_h": "10.0.0.2",
             "id.resp_p": 22}
TS_CASES = [
    ("epoch float", 1521911799.739898, 1521911799739898),
    ("iso Z", "2018-03-24T17:16:39.739898Z", 1521911799739898),
    ("epoch millis", 1521911799739, 1521911799739000),
    ("iso offset", "2018-03-24T18:16:39.739898+01:00", 1521911799739898),
    ("epoch seconds as text", "1521911799.739898", 1521911799739898),
    ("epoch whole seconds", 1521911799, 1521911799000000),
    ("not a time", "yesterday", None),
]


def test_json_ts_styles_detected_per_value(tmp_path: Path) -> None:
    lines = [json.dumps({"_path": "ssh", "ts": ts, **JSON_BASE}) for _, ts, _ in TS_CASES]
    result = _read(_write(tmp_path, "mixed.json", "\n".join(lines) + "\n"))
    n = len(TS_CASES)
    assert _counts(result) == (n, n, {}, 0, 0, 0)
    got = {f["src_line"]: f["start_us"] for f in _flows(result)}
    assert got == {i + 1: want for i, (_, _, want) in enumerate(TS_CASES)}
    (warning,) = result.account.issues
    assert (warning.kind, warning.line) == ("warning", n)
    assert result.account.details["bad_ts"] == 1


def test_json_streaming_multiplexed(tmp_path: Path) -> None:
    """json-streaming-logs: many _path values in one file; the name says conn but _path wins."""
    records = [
        {"_path": "conn", "_write_ts": "x", "_system_name": "sensor-1", "ts": 1521911799.5,
         "duration": 2.25, "proto": "tcp", "service": "ssh", "conn_state": "SF",
         "history": "ShADadFf", "orig_bytes": 10, "resp_bytes": 20, "orig_pkts": 3,
         "resp_pkts": 4, "tunnel_parents": [], **JSON_BASE},
        {"_path": "ssh", "_write_ts": "x", "_system_name": "sensor-1",
         "ts": "2018-03-24T17:16:40Z", "auth_success": False, "client": "SSH-2.0-a",
         **JSON_BASE},
        {"_path": "dns", "_write_ts": "x", "ts": 1521911800.0, "query": "a.example", **JSON_BASE},
        {"_path": "software", "_write_ts": "x", "ts": 1521911800.0, "host": "10.0.0.1"},
        {"_path": "ssh", "_write_ts": "x", "ts": 1521911801.0, "id.orig_h": "10.0.0.1"},
    ]
    text = "\n".join(json.dumps(r) for r in records) + "\n\nnot json\n"
    result = _read(_write(tmp_path, "conn.json", text))
    # the dns record has no answers: read, but it names no address
    assert _counts(result) == (7, 2, {"dns_no_address": 1, "software": 1}, 1, 2, 0)
    assert result.account.details["paths"] == {"conn": 1, "ssh": 2, "dns": 1, "software": 1}
    issues = sorted(result.account.issues, key=lambda i: i.line or 0)
    assert [(i.line, i.kind) for i in issues] == [(5, "malformed"), (7, "malformed")]
    assert issues[0].message == "ssh record without uid"
    assert issues[1].message.startswith("not JSON")
    conn, ssh = _flows(result)
    assert {k: conn[k] for k in ("src_line", "flow_part", "start_us", "end_us", "sensor",
                                  "is_ssh", "bytes_out", "pkts_in", "saw_syn")} == {
        "src_line": 1, "flow_part": "conn", "start_us": 1521911799500000,
        "end_us": 1521911801750000, "sensor": "sensor-1", "is_ssh": True, "bytes_out": 10,
        "pkts_in": 4, "saw_syn": True,
    }
    assert {k: ssh[k] for k in ("src_line", "flow_part", "start_us", "ssh_auth_hint",
                                 "ssh_evidence", "client_banner", "server_banner")} == {
        "src_line": 2, "flow_part": "ssh", "start_us": 1521911800000000, "ssh_auth_hint": False,
        "ssh_evidence": "banner", "client_banner": "SSH-2.0-a", "server_banner": None,
    }


JSON_PATH_CASES = [
    ("conn keys", "capture.json", {"conn_state": "S0", "history": "S"}, "conn"),
    ("ssh keys", "capture.json", {"auth_attempts": 0}, "ssh"),
    ("file name", "ssh_2020.jsonl", {}, "ssh"),
    ("unknown", "capture.json", {}, None),
]


@pytest.mark.parametrize(("name", "extra", "part"), [c[1:] for c in JSON_PATH_CASES],
                         ids=[c[0] for c in JSON_PATH_CASES])
def test_json_path_without_path_key(
    tmp_path: Path, name: str, extra: dict[str, Any], part: str | None
) -> None:
    record = {"ts": 1521911799.5, **JSON_BASE, **extra}
    result = _read(_write(tmp_path, name, json.dumps(record) + "\n"))
    if part is None:
        assert _counts(result) == (1, 0, {"unknown": 1}, 0, 0, 0)
    else:
        assert [f["flow_part"] for f in _flows(result)] == [part]


def test_json_scope_separator_underscore(tmp_path: Path) -> None:
    record = {"_path": "conn", "ts": "2020-09-16T13:39:18.425492Z", "uid": "C9",
              "id_orig_h": "192.168.4.142", "id_orig_p": 54161, "id_resp_h": "192.168.4.1",
              "id_resp_p": 22, "service": "ssh", "history": "-"}
    (flow,) = _flows(_read(_write(tmp_path, "x.json", json.dumps(record) + "\n")))
    assert (flow["src_ip"], flow["src_port"], flow["dst_ip"], flow["dst_port"]) == (
        "192.168.4.142", 54161, "192.168.4.1", 22
    )
    assert (flow["start_us"], flow["is_ssh"]) == (1600263558425492, True)


def test_output_conforms_to_flow_schema(corpus: Path) -> None:
    from agenttrail.model import SCHEMAS

    table = _read(corpus / "zeek-btest/ssh.basic.ssh.2018-realts.log").tables["flow"]
    assert table.schema == SCHEMAS["flow"]
    assert table.column("start").type == pa.timestamp("us", tz="UTC")


def test_tsv_set_separator_applies_to_set_columns(tmp_path: Path) -> None:
    """Set/vector elements come out joined by ``,`` whatever ``#set_separator`` says."""
    from agenttrail.model import FileAccount
    from agenttrail.readers import _zeek_tsv

    text = (
        "#separator \\x09\n#set_separator\t;\n#empty_field\t(empty)\n#unset_field\t-\n"
        "#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tservice"
        "\thistory\n#types\ttime\tstring\taddr\tport\taddr\tport\tset[string]\tstring\n"
        "1.0\tC1\t10.0.0.1\t1\t10.0.0.2\t22\tssl;ssh\tS;x\n"
        "2.0\tC2\t10.0.0.1\t2\t10.0.0.2\t22\t(empty)\t-\n"
        "3.0\tC3\t10.0.0.1\t3\t10.0.0.2\t22\t-\t(empty)\n"
    )
    path = _write(tmp_path, "conn.log", text)
    ctx = ReadContext(path=path, rel=path.name, con=duckdb.connect())
    raw, schema = _zeek_tsv.records(ctx, FileAccount(path.name), zeek.FIELDS, zeek.ESCAPED, None)
    assert raw.column("service").to_pylist() == ["ssl,ssh", "", None]
    assert raw.column("history").to_pylist() == ["S;x", None, ""]  # a string, not a set
    assert raw.column("path").to_pylist() == ["conn"] * 3
    assert schema == {"conn": ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p",
                               "service", "history"]}
    flows = _flows(_read(path))
    assert [(f["is_ssh"], f["ssh_evidence"]) for f in flows] == [
        (True, "service"), (None, None), (None, None)
    ]
    assert [f["start_us"] for f in flows] == [1_000_000, 2_000_000, 3_000_000]


# --- dns.log and dhcp.log (constructed: the corpus has no such logs) ---------------------------

DNS_HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\t"
    "qclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\t"
    "rejected\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\t"
    "count\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\t"
    "vector[interval]\tbool\n"
)


def _dns_line(query: str, answers: str, ttls: str, ts: str = "1772442068.242462") -> str:
    return (f"{ts}\tCd1\t10.10.1.35\t59219\t10.10.0.2\t53\tudp\t1234\t0.005000\t{query}\t1\t"
            f"C_INTERNET\t1\tA\t0\tNOERROR\tT\tF\tT\tT\t0\t{answers}\t{ttls}\tF\n")


DNS_CASES = [
    ("cname chain then addresses (constructed)",
     _dns_line("db1.corp.example", "db1-a.corp.example,10.20.0.11,10.20.0.12",
               "300.000000,60.000000,30.400000"),
     [("db1.corp.example", "10.20.0.11", 60), ("db1.corp.example", "10.20.0.12", 30)]),
    ("ipv6 answer canonical", _dns_line("v6.example", "2001:DB8:0:0::11", "5.000000"),
     [("v6.example", "2001:db8::11", 5)]),
    ("ttls unset", _dns_line("a.example", "10.0.0.1", "-"), [("a.example", "10.0.0.1", None)]),
    ("escaped query name", _dns_line("a\\x2cb.example", "10.0.0.1", "1.0"),
     [("a,b.example", "10.0.0.1", 1)]),
]


@pytest.mark.parametrize(("line", "want"), [c[1:] for c in DNS_CASES],
                         ids=[c[0] for c in DNS_CASES])
def test_tsv_dns_answers(tmp_path: Path, line: str, want: list[tuple[str, str, int | None]]) -> None:
    result = _read(_write(tmp_path, "dns.log", DNS_HEADER + line))
    assert _counts(result) == (8, 1, {}, 7, 0, 0)
    rows = result.tables["dns"].to_pylist()
    assert [(r["query"], r["answer_ip"], r["ttl"]) for r in rows] == want
    assert all(r["src_line"] == 8 and r["t_us"] == 1772442068242462 and r["client_ip"] ==
               "10.10.1.35" and r["src_format"] == "zeek" for r in rows)
    assert "flow" not in result.tables


def test_tsv_dns_without_addresses_and_masked_ts(tmp_path: Path) -> None:
    text = (DNS_HEADER
            + _dns_line("nx.example", "-", "-")  # 8: NXDOMAIN-like, no answers
            + _dns_line("mx.example", "10 mail.example", "60.0")  # 9: an MX answer
            + _dns_line("b.example", "10.0.0.2", "60.0", ts="XXXXXXXXXX.XXXXXX"))  # 10
    result = _read(_write(tmp_path, "dns.log", text))
    assert _counts(result) == (10, 1, {"dns_no_address": 2}, 7, 0, 0)
    (row,) = result.tables["dns"].to_pylist()
    assert (row["src_line"], row["t_us"], row["answer_ip"]) == (10, None, "10.0.0.2")
    assert result.account.details["masked_ts"] == 1


def test_json_dns_arrays(tmp_path: Path) -> None:
    rec = {"ts": 1772442068.242462, "uid": "Cd1", "id.orig_h": "10.10.1.35", "id.orig_p": 59219,
           "id.resp_h": "10.10.0.2", "id.resp_p": 53, "proto": "udp", "query": "db1.corp.example",
           "qtype_name": "A", "answers": ["db1-a.corp.example", "10.20.0.11"],
           "TTLs": [300.0, 60.0], "_system_name": "zeek-1"}
    result = _read(_write(tmp_path, "capture.json", json.dumps(rec) + "\n"))  # no _path: by keys
    assert _counts(result) == (1, 1, {}, 0, 0, 0)
    (row,) = result.tables["dns"].to_pylist()
    assert (row["query"], row["answer_ip"], row["ttl"], row["sensor"]) == (
        "db1.corp.example", "10.20.0.11", 60, "zeek-1"
    )


DHCP_HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdhcp\n"
    "#fields\tts\tuids\tclient_addr\tserver_addr\tmac\thost_name\tclient_fqdn\tdomain\t"
    "requested_addr\tassigned_addr\tlease_time\tmsg_types\tduration\n"
    "#types\ttime\tset[string]\taddr\taddr\tstring\tstring\tstring\tstring\taddr\taddr\tinterval\t"
    "vector[string]\tinterval\n"
)


def _dhcp_line(host: str, fqdn: str, assigned: str, lease: str) -> str:
    return (f"1772442000.000000\tCa,Cb\t-\t10.10.0.1\taa:bb:cc:dd:ee:ff\t{host}\t{fqdn}\t"
            f"corp.example\t10.10.1.35\t{assigned}\t{lease}\tREQUEST,ACK\t0.010000\n")


def test_tsv_dhcp_leases(tmp_path: Path) -> None:
    text = (DHCP_HEADER
            + _dhcp_line("Mac-Shared", "-", "10.10.1.35", "86400.000000")  # 8
            + _dhcp_line("-", "mac-carol.corp.example", "10.10.1.47", "-")  # 9: fqdn, no lease
            + _dhcp_line("mac-x", "-", "-", "-")  # 10: DISCOVER only
            + _dhcp_line("-", "-", "10.10.1.50", "600.0")  # 11: no name
            + _dhcp_line("mac-y", "-", "10.10.1.300", "600.0"))  # 12: damaged
    result = _read(_write(tmp_path, "dhcp.log", text))
    assert _counts(result) == (12, 2, {"dhcp_no_lease": 1, "dhcp_no_name": 1}, 7, 1, 0)
    (issue,) = result.account.issues
    assert (issue.line, issue.message) == (
        12, "dhcp record: assigned address 10.10.1.300 is not an address"
    )
    assets = result.tables["asset"].to_pylist()
    assert [(a["host"], a["ip"], a["valid_from_us"], a["valid_to_us"], a["origin"])
            for a in assets] == [
        ("mac-shared", "10.10.1.35", 1772442000000000, 1772528400000000, "zeek_dhcp"),
        ("mac-carol.corp.example", "10.10.1.47", 1772442000000000, None, "zeek_dhcp"),
    ]
    from agenttrail.addr import halves, parse_ip

    ip = parse_ip("10.10.1.35")
    assert ip is not None
    assert (assets[0]["start_hi"], assets[0]["start_lo"]) == halves(ip)
    assert (assets[0]["end_hi"], assets[0]["end_lo"]) == halves(ip)


def test_old_bro_dhcp_and_json_dhcp(tmp_path: Path) -> None:
    old = (
        "#separator \\x09\n#path\tdhcp\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\t"
        "id.resp_p\tmac\tassigned_ip\tlease_time\ttrans_id\n"
        "1400000000.000000\tC1\t10.0.0.5\t68\t10.0.0.1\t67\taa:bb\t10.0.0.5\t3600.0\t42\n"
    )
    result = _read(_write(tmp_path, "dhcp.log", old))
    assert _counts(result) == (4, 0, {"dhcp_no_name": 1}, 3, 0, 0)  # Bro 2.x logs no host name
    rec = {"ts": "2026-03-02T09:00:00Z", "uids": ["Ca"], "host_name": "mac-alice",
           "assigned_addr": "10.10.1.21", "lease_time": 3600.0, "msg_types": ["REQUEST", "ACK"]}
    line = json.dumps(rec).encode() + b"\n"
    assert zeek.sniff(line)
    (asset,) = _read(_write(tmp_path, "leases.json", line.decode())).tables["asset"].to_pylist()
    assert (asset["host"], asset["ip"], asset["valid_from_us"], asset["valid_to_us"]) == (
        "mac-alice", "10.10.1.21", 1772442000000000, 1772445600000000
    )


def test_dns_and_dhcp_paths_from_fields_and_names(tmp_path: Path) -> None:
    header = DNS_HEADER.replace("#path\tdns\n", "")
    result = _read(_write(tmp_path, "capture.log", header + _dns_line("a.example", "10.0.0.1",
                                                                       "1.0")))
    assert result.account.details["paths"] == {"dns": 1}
    assert zeek._path_from_name("dhcp.2024-04-12.log") == "dhcp"
    assert zeek._path_from_name("dns.json") == "dns"
