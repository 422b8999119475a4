"""The flow-format converters of ``agenttrail.simulate.formats``: a simulated dataset converted to
Suricata EVE, nfdump CSV and VPC flow logs reads back with the flow readers, and the planted
hijack's connection comes out with the values ``MANIFEST.json`` promises, to the precision each
format keeps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail.config import load
from agenttrail.model import TABLES, ReadResult, empty
from agenttrail.normalise import normalise
from agenttrail.readers import READERS, nfdump, suricata, vpcflow, zeek
from agenttrail.readers._io import ReadContext, read_head
from agenttrail.simulate import simulate
from agenttrail.simulate.formats import nfdump as nfdump_out
from agenttrail.simulate.formats import suricata as suricata_out
from agenttrail.simulate.formats import vpcflow as vpcflow_out

CONVERTERS = {"suricata": suricata_out, "nfdump": nfdump_out, "vpcflow": vpcflow_out}
READER = {"suricata": suricata, "nfdump": nfdump, "vpcflow": vpcflow}
OUT = {"suricata": "net/eve.json", "nfdump": "net/nfdump.csv", "vpcflow": "net/vpcflow.log"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    base = tmp_path_factory.mktemp("simflows")
    src = base / "sim"
    simulate(src, seed=3, scenarios=["hijack_lateral"])
    dst = base / "converted"
    for name, module in CONVERTERS.items():
        assert module.convert(src, dst) == [OUT[name]]
    manifest = json.loads((src / "MANIFEST.json").read_text())
    return src, dst, manifest


def _read(path: Path, fmt: str) -> ReadResult:
    ctx = ReadContext(path=path, rel=path.name, con=duckdb.connect(), tz="UTC")
    result = READER[fmt].read(ctx)
    assert result.account.balanced(), result.account.to_dict()
    assert result.account.malformed == 0 and result.account.unread == 0
    assert not [i for i in result.account.issues if i.kind != "warning"]
    return result


def _normalised(result: ReadResult) -> list[dict[str, Any]]:
    tables = {t: empty(t) for t in TABLES}
    tables.update(result.tables)
    return normalise(tables, load(None), duckdb.connect())["flow"].to_pylist()


def _micros(iso: str) -> int:
    """µs of ``2026-03-02T10:17:47.187377637Z`` (digits beyond the µs dropped)."""
    import datetime as dt

    head, frac = iso.rstrip("Z").split(".")
    t = dt.datetime.fromisoformat(head).replace(tzinfo=dt.UTC)
    return int(t.timestamp()) * 1_000_000 + int((frac + "000000")[:6])


@pytest.mark.parametrize("fmt", list(CONVERTERS))
def test_deterministic(dataset: tuple[Path, Path, dict[str, Any]], tmp_path: Path,
                       fmt: str) -> None:
    src, dst, _ = dataset
    CONVERTERS[fmt].convert(src, tmp_path)
    assert (tmp_path / OUT[fmt]).read_bytes() == (dst / OUT[fmt]).read_bytes()


@pytest.mark.parametrize("fmt", list(CONVERTERS))
def test_sniffed_by_its_reader_only(dataset: tuple[Path, Path, dict[str, Any]], fmt: str) -> None:
    head = read_head(dataset[1] / OUT[fmt])
    assert [r.NAME for r in READERS if r.sniff(head)] == [fmt]


@pytest.mark.parametrize("fmt", list(CONVERTERS))
def test_hijack_flow_comes_out(dataset: tuple[Path, Path, dict[str, Any]], fmt: str) -> None:
    _, dst, manifest = dataset
    exp = manifest["expected"]["hijack_lateral"]
    flow, dest = exp["flow"], exp["destination"]
    start_us = _micros(flow["start"])
    rows = _normalised(_read(dst / OUT[fmt], fmt))
    hits = [r for r in rows if (r["src_ip"], r["src_port"]) == (flow["src_ip"], flow["src_port"])]
    if fmt == "vpcflow":  # one row per 60 s window: only the first is a session start
        assert len(hits) > 1
        assert [h["saw_syn"] for h in hits] == [True] + [False] * (len(hits) - 1)
        hits = hits[:1]
    assert len(hits) == 1, hits
    (row,) = hits
    assert (row["dst_ip"], row["dst_port"], row["proto"]) == (dest["ip"], dest["port"], "tcp")
    assert row["is_ssh"] is True and row["saw_syn"] is True
    assert row["src_internal"] is True and row["dst_internal"] is True
    if fmt == "suricata":
        assert row["start_us"] == start_us  # µs precision
        assert row["ssh_evidence"] == "banner"
        assert row["client_banner"].startswith("SSH-2.0-OpenSSH")
        assert row["flow_uid"] == str(suricata_out.flow_id(flow["uid"]))
    else:
        assert row["start_us"] == start_us // 1_000_000 * 1_000_000  # whole seconds
        assert row["ssh_evidence"] == "port"
    assert row["pkts_out"] > 0 and row["pkts_in"] > 0


def test_same_connections_as_zeek(dataset: tuple[Path, Path, dict[str, Any]]) -> None:
    """Suricata and nfdump give one row per Zeek connection, with Zeek's packet counts."""
    src, dst, _ = dataset
    ctx = ReadContext(path=src / "zeek/conn.log", rel="conn.log", con=duckdb.connect())
    conn = zeek.read(ctx).tables["flow"].to_pylist()

    def key(r: dict[str, Any]) -> tuple[str, int, str, int]:
        return r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"]

    want = sorted((key(r), r["pkts_out"], r["pkts_in"]) for r in conn)
    eve = _read(dst / OUT["suricata"], "suricata").tables["flow"].to_pylist()
    got = sorted((key(r), r["pkts_out"], r["pkts_in"]) for r in eve if r["flow_part"] == "conn")
    assert got == want
    nf = _read(dst / OUT["nfdump"], "nfdump").tables["flow"].to_pylist()
    assert sorted((key(r), r["pkts_out"], r["pkts_in"] or 0) for r in nf) == want


def test_vpc_windows_add_up(dataset: tuple[Path, Path, dict[str, Any]]) -> None:
    """VPC rows are per window; per connection their packets add up to Zeek's."""
    src, dst, _ = dataset
    ctx = ReadContext(path=src / "zeek/conn.log", rel="conn.log", con=duckdb.connect())
    conn = zeek.read(ctx).tables["flow"].to_pylist()
    totals: dict[tuple[str, int, str, int], list[int]] = {}
    for r in _read(dst / OUT["vpcflow"], "vpcflow").tables["flow"].to_pylist():
        t = totals.setdefault((r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"]), [0, 0])
        t[0] += r["pkts_out"] or 0
        t[1] += r["pkts_in"] or 0
    want: dict[tuple[str, int, str, int], list[int]] = {}
    for r in conn:  # the simulation reuses some source ports: add up per 4-tuple
        t = want.setdefault((r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"]), [0, 0])
        t[0] += r["pkts_out"]
        t[1] += r["pkts_in"]
    assert totals == want


def test_hunt_with_suricata_instead_of_zeek(dataset: tuple[Path, Path, dict[str, Any]],
                                            tmp_path: Path) -> None:
    """The planted hijack is found with Suricata EVE as the only network telemetry, with the
    same incident uid as with Zeek (the seed does not depend on the flow format)."""
    import shutil

    from typer.testing import CliRunner

    from agenttrail.cli import app

    src, dst, manifest = dataset
    data = tmp_path / "data"
    for part in ("macs", "servers"):
        shutil.copytree(src / part, data / part)
    shutil.copy(src / "assets.csv", data / "assets.csv")
    (data / "net").mkdir()
    shutil.copy(dst / OUT["suricata"], data / "net/eve.json")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "hunt", str(data), "--host-from-path", "macs/{host}/*", "--assets",
        str(data / "assets.csv"), "--collected-at", "2026-03-02T18:00:00Z", "-o", str(out),
        "--fail-on", "none",
    ])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    exp = manifest["expected"]["hijack_lateral"]
    (incident,) = [i for i in report["incidents"] if i["severity_id"] >= 3]
    assert (incident["rule_id"], incident["host"]) == ("agent_hijack_lateral_ssh", exp["endpoint"])
    (hop,) = incident["hops"]
    assert (hop["flow"]["src_port"], hop["flow"]["source"]["file"]) == (
        exp["flow"]["src_port"], "net/eve.json"
    )
    assert hop["login_status"] == "present"
    eve = next(f for f in report["inputs"]["files"] if f["path"] == "net/eve.json")
    assert (eve["format"], eve["malformed"], eve["unread"]) == ("suricata", 0, 0)
