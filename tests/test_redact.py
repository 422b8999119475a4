"""`--redact users,hosts,paths` with `--redact-key`, and `hunt --format csv`.

The demo dataset is hunted with every redaction kind and every output (report.json,
findings.json(l), run.json, incidents.csv, the terminal, explain, the timeline) is searched for
the names the dataset's MANIFEST and assets.csv list: none may survive. The same key must give
byte-identical files; a new key, other tokens.
"""

from __future__ import annotations

import csv
import io
import json
import re
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agenttrail.cli import app
from agenttrail.outputs.csv import COLUMNS
from agenttrail.redact import Redactor
from tests import casekit

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
DEMO_ARGS = ["--host-from-path", "macs/{host}/*", "--assets", str(DEMO / "data" / "assets.csv"),
             "--collected-at", "2026-03-02T18:00:00Z", "--fail-on", "none"]
CASES = Path(__file__).parent / "cases"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _demo_names() -> set[str]:
    """User, host and socket-directory names the demo dataset is built from."""
    m = json.loads((DEMO / "MANIFEST.json").read_text())
    names: set[str] = set()
    for mac in m["hosts"]["macs"]:
        names.add(mac["name"])
        for u in mac["users"]:
            names.add(u["name"])
            if u.get("socket"):
                names.add(u["socket"].split("/")[-2])  # com.apple.launchd.<random>
            names.add(u["home"])
    for server in m["hosts"]["servers"]:
        names.add(server["name"])
    names |= {o["name"] for o in m["hosts"]["others"] if o["internal"]}
    rows = csv.DictReader((DEMO / "data" / "assets.csv").open())
    names |= {r.get("host") or r.get("hostname") for r in rows}
    return {n for n in names if n}


def _survivors(text: str, names: set[str]) -> set[str]:
    return {n for n in names
            if re.search(rf"(?<![A-Za-z0-9]){re.escape(n)}(?![A-Za-z0-9])", text, re.I)}


@pytest.fixture(scope="module")
def redacted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("red") / "out"
    code, terminal = run("hunt", str(DEMO / "data"), *DEMO_ARGS, "-o", str(out),
                         "--redact", "users,hosts,paths", "--format", "csv")
    assert code == 0, terminal
    return out, terminal


def test_no_name_survives_in_any_output(redacted: tuple[Path, str]) -> None:
    out, terminal = redacted
    names = _demo_names()
    assert {"alice", "bob", "mac-shared", "db1", "app1", "git1"} <= names
    texts = {p.name: p.read_text() for p in out.iterdir() if p.name != "redact.key"}
    assert set(texts) == {"report.json", "report.html", "findings.json", "findings.jsonl", "run.json",
                          "incidents.csv"}
    report = json.loads(texts["report.json"])
    uid = report["incidents"][0]["uid"]
    texts["terminal"] = terminal
    texts["explain"] = run("explain", uid[:8], "--from", str(out))[1]
    texts["timeline"] = run("explain", uid[:8], "--from", str(out), "--timeline", "jsonl")[1]
    for where, text in texts.items():
        assert not _survivors(text, names), where
        assert not re.search(r"(?<![\w.:/+\\-])/(Users|private/tmp)/", text), where
    # the chain is still readable: roles, socket leaf, programs and tokens
    inc = report["incidents"][0]
    assert inc["victim"]["name"].startswith("user-") and inc["actor"]["euid"] == 0
    assert re.fullmatch(r"path-[0-9a-f]{6}/Listeners", inc["socket"]["path"])
    assert inc["processes"][1]["exe"] == "/usr/bin/ssh"
    assert inc["hops"][0]["login"]["host"].startswith("host-")
    assert report["redaction"]["kinds"] == ["hosts", "paths", "users"]
    assert "root" in texts["explain"] or "euid 0" in texts["explain"]


def test_same_key_same_bytes_new_key_new_tokens(redacted: tuple[Path, str],
                                                tmp_path: Path) -> None:
    out, _ = redacted
    key = out / "redact.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    again = tmp_path / "again"
    code, _ = run("hunt", str(DEMO / "data"), *DEMO_ARGS, "-o", str(again),
                  "--redact", "users,hosts,paths", "--redact-key", str(key), "--format", "csv")
    assert code == 0
    for name in ("report.json", "findings.json", "findings.jsonl", "incidents.csv"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    assert not (again / "redact.key").exists()
    other = Redactor(b"\x01" * 32, ["users"])
    mine = Redactor(bytes.fromhex(key.read_text()), ["users"])
    assert other.token("users", "alice") != mine.token("users", "alice")
    assert mine.token("users", "alice") in (out / "report.json").read_text()


def test_redaction_unit() -> None:
    r = Redactor(b"k" * 32, ["users", "hosts", "paths"])
    r.add("users", ["alice", "root", "git"])
    r.add("hosts", ["db1", "mac-shared"])
    text = ("ssh alice@DB1 as root from mac-shared: SSH_AUTH_SOCK=/tmp/ssh-AbCd/agent.1 "
            "/private/tmp/ssh-AbCd/agent.1 key SHA256:ab/cd+ef /usr/bin/ssh ssh://u:p@h "
            "macs/mac-shared/eslogger.jsonl db10 /Users/alice/.ssh/id")
    out = r.text(text)
    u, h = r.token("users", "alice"), r.token("hosts", "db1")
    assert out.startswith(f"ssh {u}@{h} as root from {r.token('hosts', 'mac-shared')}:")
    sock = r.token("paths", "/private/tmp/ssh-AbCd")
    assert out.count(f"{sock}/agent.1") == 2  # /tmp and /private/tmp spellings agree
    for kept in ("SHA256:ab/cd+ef", "/usr/bin/ssh", "ssh://u:p@h", "db10"):
        assert kept in out
    assert "alice" not in out and "AbCd" not in out
    assert re.fullmatch(r"user-[0-9a-f]{6}", u)


def test_redact_usage_errors(tmp_path: Path) -> None:
    opts = casekit.render(casekit.load(CASES / "own_sudo_ssh.toml"), tmp_path / "in")
    base = ["hunt", str(tmp_path / "in"), *opts, "--fail-on", "none"]
    assert run(*base, "--redact", "users,secrets", "-o", str(tmp_path / "o1"))[0] == 2
    code, out = run(*base, "--redact", "users")
    assert code == 2 and "--redact-key" in out
    bad = tmp_path / "bad.key"
    bad.write_text("not hex\n")
    assert run(*base, "--redact", "users", "--redact-key", str(bad))[0] == 2


def test_format_csv_on_stdout(tmp_path: Path) -> None:
    opts = casekit.render(casekit.load(CASES / "hijack_lateral_lineage.toml"), tmp_path / "in")
    code, out = run("hunt", str(tmp_path / "in"), *opts, "--format", "csv")
    assert code == 1
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == COLUMNS
    [r] = rows
    assert (r["severity"], r["score"], r["host"], r["actor_user"], r["victim_user"]) == (
        "critical", "93", "mac-shared", "bob", "alice")
    assert r["destinations"] == "db1 10.20.0.5:22" and r["login_statuses"] == "present"
    assert r["socket_path"] == "/private/tmp/com.apple.launchd.AbCdEfGhIj/Listeners"
    assert r["blast_radius_logins"] == "1" and r["first_seen"] == "2026-03-02T09:01:40.000000Z"
    assert run("hunt", str(tmp_path / "in"), *opts, "--format", "xml")[0] == 2
