"""The Elastic Defend and OCSF input converters of ``agenttrail.simulate.formats``, read back by
their readers and hunted end to end.

A small dataset (``simulate(seed=3, scenarios=["hijack_lateral"])``) is converted; the key
records of the scenario (``MANIFEST.json`` ``expected.hijack_lateral`` and the eslogger, Zeek and
auth.log lines it points at) must come out of the readers with the same host, pids, users, socket
path, addresses, ports and times, to the precision each format keeps (Elastic µs, OCSF ms,
syslog seconds). Line counts are those of the written files (``wc -l``), and every line of a
converted file is a record the reader uses.
"""

from __future__ import annotations

import calendar
import json
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from agenttrail.cli import app
from agenttrail.model import ReadResult
from agenttrail.readers import elastic, ocsf_input
from agenttrail.readers import sniff as sniff_any
from agenttrail.readers._io import ReadContext, read_head
from agenttrail.simulate import simulate
from agenttrail.simulate.formats import elastic as elastic_fmt
from agenttrail.simulate.formats import ocsf_input as ocsf_fmt

MACS = ("mac-alice", "mac-shared", "mac-carol")
SERVERS = ("db1", "app1", "git1")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    src = tmp_path_factory.mktemp("sim") / "src"
    m = simulate(src, seed=3, scenarios=["hijack_lateral"])
    return src, m.data


@pytest.fixture(scope="module")
def converted(dataset: tuple[Path, dict[str, Any]],
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[str]]]:
    src, _ = dataset
    out = {}
    for name, fmt in (("elastic", elastic_fmt), ("ocsf", ocsf_fmt)):
        dst = tmp_path_factory.mktemp(name)
        out[name] = (dst, fmt.convert(src, dst))
    return out


def _facts(dataset: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    return dataset[1]["expected"]["hijack_lateral"]


def _line(root: Path, where: dict[str, Any]) -> str:
    return (root / where["file"]).read_text(encoding="utf-8").splitlines()[where["line"] - 1]


def _ns(iso: str) -> int:
    head, _, frac = iso.rstrip("Z").partition(".")
    return (calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S")) * 1_000_000_000
            + int((frac + "0" * 9)[:9]))


def _read(reader: Any, path: Path, rel: str) -> ReadResult:
    ctx = ReadContext(path=path, rel=rel, con=duckdb.connect(), tmpdir=path.parent)
    result: ReadResult = reader.read(ctx)
    assert result.account.balanced(), result.account.to_dict()
    return result


def test_paths_and_determinism(dataset: tuple[Path, dict[str, Any]],
                               converted: dict[str, tuple[Path, list[str]]],
                               tmp_path: Path) -> None:
    src, _ = dataset
    assert converted["elastic"][1] == [f"macs/{m}/elastic.ndjson" for m in MACS]
    assert converted["ocsf"][1] == ([f"macs/{m}/ocsf.jsonl" for m in MACS]
                                    + [f"servers/{s}/ocsf.jsonl" for s in SERVERS])
    for name, fmt in (("elastic", elastic_fmt), ("ocsf", ocsf_fmt)):
        dst, paths = converted[name]
        again = tmp_path / name
        assert fmt.convert(src, again) == paths
        for rel in paths:
            assert (again / rel).read_bytes() == (dst / rel).read_bytes(), rel


@pytest.mark.parametrize("fmt", ["elastic", "ocsf"])
def test_every_line_is_claimed_and_used(converted: dict[str, tuple[Path, list[str]]],
                                        fmt: str) -> None:
    dst, paths = converted[fmt]
    reader = elastic if fmt == "elastic" else ocsf_input
    for rel in paths:
        path = dst / rel
        assert sniff_any(read_head(path)) is reader, rel
        lines = len(path.read_text(encoding="utf-8").splitlines())
        a = _read(reader, path, rel).account
        assert (a.read, a.normalised, a.malformed, a.skipped_by_type) == (lines, lines, 0, {})
        assert a.unknown_keys == {}, rel


def test_elastic_key_records(dataset: tuple[Path, dict[str, Any]],
                             converted: dict[str, tuple[Path, list[str]]]) -> None:
    src, _ = dataset
    facts = _facts(dataset)
    dst, _ = converted["elastic"]
    result = _read(elastic, dst / "macs/mac-shared/elastic.ndjson", "elastic.ndjson")
    exec_rec = json.loads(_line(src, facts["records"]["exec"]))
    proc = facts["process"]
    execs = [r for r in result.tables["process"].to_pylist()
             if r["action"] == "exec" and r["pid"] == proc["pid"]]
    assert len(execs) == 1
    row = execs[0]
    assert (row["host"], row["exe"], row["args"], row["euid"], row["ruid"]) == (
        "mac-shared", proc["exe"], proc["args"], proc["euid"],
        exec_rec["event"]["exec"]["target"]["audit_token"]["ruid"])
    assert row["auth_sock"] == facts["ssh_auth_sock"]
    assert (row["ssh_dest_host"], row["ssh_dest_user"]) == ("db1", facts["remote_user"])
    assert row["t_us"] == _ns(exec_rec["time"]) // 1000
    assert (row["auid"], row["asid"]) == (None, None)  # Elastic has no audit user or session
    flow = facts["flow"]
    flows = [r for r in result.tables["flow"].to_pylist() if r["src_port"] == flow["src_port"]]
    assert len(flows) == 1
    f = flows[0]
    assert (f["src_ip"], f["dst_ip"], f["dst_port"], f["proto"]) == (
        flow["src_ip"], facts["destination"]["ip"], facts["destination"]["port"], "tcp")
    assert (f["pid"], f["src_host"], f["sensor"], f["saw_syn"]) == (
        proc["pid"], "mac-shared", "mac-shared", True)
    assert f["start_us"] == _ns(flow["start"]) // 1000
    assert f["bytes_out"] is not None and f["end_us"] > f["start_us"]
    assets = result.tables["asset"].to_pylist()
    assert [(a["host"], a["ip"], a["origin"]) for a in assets] == [
        ("mac-shared", "10.10.1.35", "ecs")]


def test_ocsf_key_records(dataset: tuple[Path, dict[str, Any]],
                          converted: dict[str, tuple[Path, list[str]]]) -> None:
    src, _ = dataset
    facts = _facts(dataset)
    dst, _ = converted["ocsf"]
    mac = _read(ocsf_input, dst / "macs/mac-shared/ocsf.jsonl", "ocsf.jsonl")
    exec_rec = json.loads(_line(src, facts["records"]["exec"]))
    proc = facts["process"]
    row = next(r for r in mac.tables["process"].to_pylist()
               if r["action"] == "exec" and r["pid"] == proc["pid"])
    assert (row["host"], row["exe"], row["args"], row["euid"], row["auid"], row["auid_set"]) == (
        "mac-shared", proc["exe"], proc["args"], proc["euid"], proc["auid"], True)
    assert row["auth_sock"] == facts["ssh_auth_sock"]
    assert row["t_us"] == _ns(exec_rec["time"]) // 1_000_000 * 1000
    assert (row["env_user"], row["sudo_user"]) == ("root", facts["actor"]["name"])
    flow = facts["flow"]
    f = next(r for r in mac.tables["flow"].to_pylist() if r["src_port"] == flow["src_port"])
    assert (f["src_ip"], f["dst_ip"], f["dst_port"], f["pid"], f["src_host"]) == (
        flow["src_ip"], facts["destination"]["ip"], 22, proc["pid"], "mac-shared")
    assert f["start_us"] == _ns(flow["start"]) // 1_000_000 * 1000
    db1 = _read(ocsf_input, dst / "servers/db1/ocsf.jsonl", "ocsf.jsonl")
    accepted = _line(src, facts["records"]["accepted"])  # "Mar  2 10:17:47 db1 sshd[..]: ..."
    stamp = calendar.timegm(time.strptime("2026 " + accepted[:15], "%Y %b %d %H:%M:%S"))
    logins = [r for r in db1.tables["login"].to_pylist()
              if r["src_port"] == flow["src_port"] and r["result"] == "accepted"]
    assert len(logins) == 1
    lg = logins[0]
    assert (lg["host"], lg["user"], lg["src_ip"], lg["server_ip"], lg["server_port"]) == (
        "db1", facts["remote_user"], flow["src_ip"], facts["destination"]["ip"], 22)
    assert (lg["method"], lg["program"], lg["t_us"]) == ("publickey", "sshd", stamp * 1_000_000)
    assert lg["message"] == accepted.split(": ", 1)[1]
    spans = db1.tables["source_span"].to_pylist()
    assert [(s["host"], s["program"]) for s in spans] == [("db1", "sshd")]


def _hunt(inputs: Path, out: Path, assets: Path) -> tuple[dict[str, Any], str]:
    result = CliRunner().invoke(app, [
        "hunt", str(inputs), "--assets", str(assets), "--collected-at",
        "2026-03-02T18:00:00Z", "-o", str(out), "--fail-on", "none"])
    assert result.exit_code == 0, result.output
    return json.loads((out / "report.json").read_text()), result.output


@pytest.mark.parametrize("fmt", ["elastic", "ocsf"])
def test_hunt_finds_the_hijack(dataset: tuple[Path, dict[str, Any]],
                               converted: dict[str, tuple[Path, list[str]]],
                               tmp_path: Path, fmt: str) -> None:
    """The converted endpoint (and, for OCSF, login) files with the Zeek logs (and, for Elastic,
    the auth logs) give the scenario's critical incident, and every line is accounted."""
    import shutil

    src, _ = dataset
    dst, paths = converted[fmt]
    inputs = tmp_path / "in"
    shutil.copytree(dst, inputs)
    shutil.copytree(src / "zeek", inputs / "zeek")
    if fmt == "elastic":
        for s in SERVERS:
            (inputs / "servers" / s).mkdir(parents=True)
            shutil.copy(src / "servers" / s / "auth.log", inputs / "servers" / s / "auth.log")
    report, output = _hunt(inputs, tmp_path / "out", src / "assets.csv")
    incidents = [(i["rule_id"], i["severity"], i["host"], i["victim"]["name"])
                 for i in report["incidents"]]
    assert incidents == [("agent_hijack_lateral_ssh", "critical", "mac-shared", "alice")]
    files = {f["path"]: f for f in report["inputs"]["files"]}
    for rel in paths:
        lines = len((dst / rel).read_text(encoding="utf-8").splitlines())
        f = files[rel]
        assert (f["format"], f["read"], f["normalised"], f["malformed"], f["unread"]) == (
            fmt, lines, lines, 0, 0), rel
    assert "0 malformed" in output
    # agenttrail's own findings, hunted again, are OCSF input of a class it does not use
    findings = tmp_path / "out" / "findings.json"
    again = _read(ocsf_input, findings, "findings.json").account
    assert (again.read, again.skipped_by_type) == (1, {"2004": 1})
