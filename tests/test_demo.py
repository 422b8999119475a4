"""The bundled demo: the hunt that `make demo` runs finds exactly the planted hijacks of
demo/MANIFEST.json, with actor, victim, socket, destinations and the matched login line, and no
incident at medium or above for the known-good scenarios (own sudo ssh, tmux reattach)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agenttrail.cli import app

DEMO = Path(__file__).resolve().parents[1] / "demo"
ARGS = ["--host-from-path", "macs/{host}/*", "--assets", str(DEMO / "data" / "assets.csv"),
        "--collected-at", "2026-03-02T18:00:00Z", "--fail-on", "none"]


def test_demo_finds_the_planted_hijacks(tmp_path: Path) -> None:
    manifest = json.loads((DEMO / "MANIFEST.json").read_text())
    result = CliRunner().invoke(app, ["hunt", str(DEMO / "data"), *ARGS, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    attacks = [v for v in manifest["expected"].values() if v.get("incident")]
    assert len(attacks) == 2
    medium_plus = [i for i in report["incidents"] if i["severity_id"] >= 3]
    assert len(medium_plus) == len(attacks)
    for exp, inc in zip(attacks, medium_plus, strict=True):
        assert inc["rule_id"] == "agent_hijack_lateral_ssh"
        assert inc["severity"] == "critical"
        assert inc["actor"]["auid"] == exp["actor"]["auid"] == 502
        assert inc["actor"]["auid_name"] == exp["actor"]["name"] == "bob"
        assert inc["victim"] == {"uid": 501, "name": "alice", "owner_origin": "stat"}
        assert inc["socket"]["path"] == exp["socket"]
        ssh = [p for p in inc["processes"] if p["pid"] == exp["process"]["pid"]]
        assert ssh[0]["args"] == exp["process"]["args"]
        assert ssh[0]["exec_source"]["line"] == exp["records"]["exec"]["line"]
        [hop] = inc["hops"]
        flow = hop["flow"]
        assert (flow["src_ip"], flow["src_port"]) == (exp["flow"]["src_ip"], exp["flow"]["src_port"])
        assert (flow["dst_ip"], flow["dst_port"]) == (exp["destination"]["ip"],
                                                      exp["destination"]["port"])
        assert flow["flow_uid"] == exp["flow"]["uid"]
        if exp["login"] == "accepted":
            assert hop["login_status"] == "present"
            src = hop["login"]["source"]
            assert src == {"file": exp["records"]["accepted"]["file"] + ".gz",
                           "line": exp["records"]["accepted"]["line"]}
            assert hop["login"]["key_fp"] == exp["key_fp"]
        else:
            assert hop["login_status"] == "missing"
            assert hop["login"] is None
    out = result.output
    assert "bob (auid 502)" in out and "alice (uid 501)" in out
    assert "10.20.0.11:22" in out and ":58583" in out and "auth.log.gz:109" in out
    for f in report["inputs"]["files"]:
        assert f["malformed"] == 0 and f["unread"] == 0, f["path"]
    findings = json.loads((tmp_path / "findings.json").read_text())
    for finding, inc in zip(findings, report["incidents"], strict=True):
        related = finding["finding_info"]["related_events"]
        assert [r["type"] for r in related] == [s["rule_id"] for s in inc["signals"]]
        assert [r["uid"] for r in related] == [f"{s['rule_id']}@{s['t_us']}"
                                               for s in inc["signals"]]
