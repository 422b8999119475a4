"""Detection cases as data files: each ``tests/cases/*.toml`` is rendered into real-format input
files, hunted through the command line, and its expected signals and incidents are compared.

Add a case: write ``tests/cases/<name>.toml`` (see ``tests/casekit.py`` for the keys) with an
``[expect]`` table; it is picked up automatically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agenttrail.cli import app
from tests import casekit
from tests.ocsf_validate import validate_finding

CASES = sorted(p for p in (Path(__file__).parent / "cases").glob("*.toml") if p.name != "world.toml")


def hunt_case(case: dict[str, Any], tmp: Path) -> tuple[int, dict[str, Any], str]:
    """Render and hunt a case; return exit code, report and terminal output."""
    inputs = tmp / "in"
    opts = casekit.render(case, inputs)
    out = tmp / "out"
    result = CliRunner().invoke(app, ["hunt", str(inputs), *opts, "-o", str(out)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    report = json.loads((out / "report.json").read_text())
    return result.exit_code, report, result.output


def _hop(h: dict[str, Any]) -> str:
    fl = h["flow"]
    lg = h.get("login")
    src = f"{lg['source']['file']}:{lg['source']['line']}" if lg else "-"
    return (f"{fl['src_ip']}:{fl['src_port']} -> {fl['dst_ip']}:{fl['dst_port']} "
            f"{h.get('link') or '-'} {h.get('login_status') or '-'} {src}")


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path, tmp_path: Path) -> None:
    case = casekit.load(path)
    code, report, output = hunt_case(case, tmp_path)
    expect = case["expect"]
    counts: dict[str, int] = {}
    for s in report["signals"]:
        counts[s["rule_id"]] = counts.get(s["rule_id"], 0) + 1
    assert counts == expect.get("signals", {}), output
    want = expect.get("incident", [])
    got = report["incidents"]
    assert [i["rule_id"] for i in got] == [w["rule_id"] for w in want], output
    for w, g in zip(want, got, strict=True):
        if "severity" in w:
            assert g["severity"] == w["severity"]
        if "status" in w:
            assert g["status"] == w["status"]
        if "host" in w:
            assert g["host"] == w["host"]
        if "actor_auid" in w:
            assert g["actor"]["auid"] == w["actor_auid"]
        if "actor_name" in w:
            assert g["actor"]["auid_name"] == w["actor_name"]
        if "victim_uid" in w:
            assert g["victim"]["uid"] == w["victim_uid"]
        if "victim_name" in w:
            assert g["victim"]["name"] == w["victim_name"]
        if "socket" in w:
            assert g["socket"]["path"] == w["socket"]
        if "hops" in w:
            assert [_hop(h) for h in g["hops"]] == w["hops"]
    for f in report["findings"]:
        assert validate_finding(f) == []
    for f in report["inputs"]["files"]:
        total = f["normalised"] + sum(f["skipped_by_type"].values()) + f["meta"]
        assert f["read"] == total + f["malformed"] + f["unread"], f["path"]
    # exit code: 1 only for a New incident at or above high
    page = any(i["status"] == "New" and i["severity_id"] >= 4 for i in got)
    assert code == (1 if page else 0), output
    # nothing sensitive from the environment reaches any output
    assert "planted-secret" not in (tmp_path / "out" / "report.json").read_text()
    assert "do-not-store" not in (tmp_path / "out" / "report.json").read_text()
