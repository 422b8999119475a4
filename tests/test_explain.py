"""`agenttrail explain INCIDENT --from DIR`: the demo attack's explanation against a golden file,
incident id prefixes, the Timesketch timeline, and the blast radius stored by `hunt`.

The golden file ``tests/golden/explain_demo_attack.txt`` is the explanation of the demo's first
attack incident (the `make demo` dataset). Refresh it after an intended change with::

    AGENTTRAIL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_explain.py -k golden

and review the diff before committing.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agenttrail.cli import app
from agenttrail.explain import TIMELINE_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
GOLDEN = Path(__file__).parent / "golden" / "explain_demo_attack.txt"
DEMO_ARGS = ["--host-from-path", "macs/{host}/*", "--assets", str(DEMO / "data" / "assets.csv"),
             "--collected-at", "2026-03-02T18:00:00Z", "--fail-on", "none"]
ATTACK_UID = "6ba1244ea463b658"  # demo/MANIFEST.json hijack_lateral: bob rides alice's agent to db1


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    code, output = run("hunt", str(DEMO / "data"), *DEMO_ARGS, "-o", str(out))
    assert code == 0, output
    return out


def test_golden_explain_of_the_demo_attack(demo_out: Path, tmp_path: Path) -> None:
    """The explanation matches the golden file, and reads nothing but report.json."""
    alone = tmp_path / "only-report"
    alone.mkdir()
    shutil.copy(demo_out / "report.json", alone / "report.json")
    code, text = run("explain", ATTACK_UID, "--from", str(alone))
    assert code == 0, text
    code2, again = run("explain", ATTACK_UID, "--from", str(alone))
    assert (code2, again) == (0, text)  # idempotent
    if os.environ.get("AGENTTRAIL_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    expected = GOLDEN.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                            "golden", "now"))
        pytest.fail("explain output differs from the golden file (refresh: "
                    f"AGENTTRAIL_UPDATE_GOLDEN=1):\n{diff}")


def test_explain_names_each_step_its_source_join_key_and_gap(demo_out: Path) -> None:
    code, text = run("explain", ATTACK_UID, "--from", str(demo_out))
    assert code == 0
    # the chain, in order, with the lines the manifest names (exec 1547, conn.log 654, db1 109)
    order = [text.index(s) for s in (
        "exec pid 6817 /usr/bin/ssh-add", "connect pid 6817", "exec pid 6821 /usr/bin/ssh",
        "SSH 10.10.1.35:58583 -> 10.20.0.11:22 (db1)", "accepted publickey for alice on db1")]
    assert order == sorted(order)
    for src in ("macs/mac-shared/eslogger.jsonl.gz:1547", "zeek/conn.log.gz:654",
                "servers/db1/auth.log.gz:109"):
        assert src in text
    assert "joined by argv destination and process lifetime (lineage link)" in text
    assert "joined by source ip and source port; next step -0.087 s" in text
    for check in ("Socket ownership:", "Related processes:", "Network destinations:",
                  "Login evidence:"):
        assert check in text
    assert "does not act for the owner" in text
    # blast radius: app1's "admin" login with alice's key is there, 36 min after the hijack
    assert "app1         admin" in text


def test_incident_id_prefixes(demo_out: Path, tmp_path: Path) -> None:
    assert run("explain", ATTACK_UID[:8], "--from", str(demo_out))[0] == 0
    code, out = run("explain", ATTACK_UID[:7], "--from", str(demo_out))
    assert code == 2 and "at least 8" in out
    code, out = run("explain", "00000000", "--from", str(demo_out))
    assert code == 2 and "no incident '00000000'" in out
    report = json.loads((demo_out / "report.json").read_text())
    twin = dict(report["incidents"][0], uid=ATTACK_UID + "f" * 48)
    report["incidents"].append(twin)
    (tmp_path / "report.json").write_text(json.dumps(report))
    code, out = run("explain", ATTACK_UID, "--from", str(tmp_path))
    assert code == 2 and "ambiguous" in out
    assert run("explain", ATTACK_UID, "--from", str(tmp_path / "nowhere"))[0] == 2


def test_timeline_csv_and_jsonl(demo_out: Path) -> None:
    code, text = run("explain", ATTACK_UID, "--from", str(demo_out), "--timeline", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == TIMELINE_COLUMNS
    stamps = [int(r["timestamp"]) for r in rows]
    assert stamps == sorted(stamps)
    for r in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", r["datetime"])
        assert r["timestamp_desc"] and r["message"] and r["source_file"] and r["source_line"]
    login = next(r for r in rows if r["event"] == "login")
    raw = _line(DEMO / "data" / "servers" / "db1" / "auth.log.gz", 109)
    assert login["excerpt"] == raw  # the raw line itself
    execs = [r for r in rows if r["event"] == "exec"]
    assert [json.loads(r["excerpt"])["event"]["exec"]["args"] for r in execs] == [
        ["ssh-add", "-l"], ["ssh", "alice@db1"]]
    blast = [r for r in rows if r["event"] == "blast_login"]
    assert len(blast) == 15  # 16 blast radius logins, one of them the chain's own
    code, jl = run("explain", ATTACK_UID, "--from", str(demo_out), "--timeline", "jsonl")
    lines = [json.loads(x) for x in jl.splitlines()]
    assert [list(x) for x in lines] == [list(TIMELINE_COLUMNS)] * len(rows)
    assert [x["message"] for x in lines] == [r["message"] for r in rows]


def _line(path: Path, n: int) -> str:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if i == n:
                return line.rstrip("\n")
    raise AssertionError(n)


def test_blast_radius_counted_from_the_raw_logs(demo_out: Path) -> None:
    """Every auth.log line with alice's mac-shared key from the hijack to 24 h later, counted
    with a plain regex over the raw files (not the reader)."""
    report = json.loads((demo_out / "report.json").read_text())
    inc = next(i for i in report["incidents"] if i["uid"].startswith(ATTACK_UID))
    fp = "SHA256:sQvstVY7/B5vk0J+y8j+KVXlzY5G3I7Ut8J2TSpaTXY"  # MANIFEST hosts.macs alice
    expected = []
    for log in sorted((DEMO / "data" / "servers").glob("*/auth.log*")):
        with gzip.open(log, "rt", encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                m = re.match(r"Mar  2 (\d\d):(\d\d):(\d\d) (\S+) ", line)
                if m and fp in line and (m[1], m[2], m[3]) >= ("10", "15", "01"):
                    expected.append((m[4], i))
    b = inc["blast_radius"]
    assert sorted((x["host"], x["source"]["line"]) for x in b["logins"]) == sorted(expected)
    assert len(expected) == 16
    assert b["key_fps"] == [{"key_fp": fp, "origin": ["incident_login", "victim_login"]}]
    assert b["destinations"] == ["app1", "db1", "git1"]
    assert b["to_us"] - b["from_us"] == 24 * 3600 * 1_000_000
    assert [x["in_chain"] for x in b["logins"]].count(True) == 1
    # the second attack found no login, so its key comes from alice's own logins only
    other = next(i for i in report["incidents"] if not i["uid"].startswith(ATTACK_UID)
                 and i["severity"] == "critical")
    assert other["blast_radius"]["key_fps"] == [{"key_fp": fp, "origin": ["victim_login"]}]


def test_evidence_excerpts_keep_the_env_reduction(tmp_path: Path) -> None:
    """A planted secret in the exec environment never reaches report.json or the timeline."""
    from tests import casekit

    case = casekit.load(Path(__file__).parent / "cases" / "hijack_lateral_lineage.toml")
    opts = casekit.render(case, tmp_path / "in")
    assert "planted-secret" in (tmp_path / "in" / "macs" / "mac-shared" / "eslogger.jsonl"
                                ).read_text()
    code, _ = run("hunt", str(tmp_path / "in"), *opts, "-o", str(tmp_path / "out"))
    assert code == 1
    report_text = (tmp_path / "out" / "report.json").read_text()
    assert "planted-secret" not in report_text and "AWS_SECRET" not in report_text
    report = json.loads(report_text)
    execs = [e for e in report["evidence"] if e["table"] == "process"]
    assert execs and all(e["excerpt"] for e in execs)
    env = json.loads(execs[0]["excerpt"])["event"]["exec"]["env"]
    assert env == ["SSH_AUTH_SOCK=/tmp/com.apple.launchd.AbCdEfGhIj/Listeners", "SUDO_USER=bob",
                   "SUDO_UID=502", "USER=root"]
    uid = report["incidents"][0]["uid"]
    code, tl = run("explain", uid[:12], "--from", str(tmp_path / "out"), "--timeline", "jsonl")
    assert code == 0 and "planted-secret" not in tl
