"""The auditd login converter: a simulated dataset's sshd auth.log files as audit.log files, read
back with the auditd reader. Expected values come from ``MANIFEST.json`` (``expected``) and from
the auth.log lines themselves, parsed here independently of the converter."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from agenttrail.cli import app
from agenttrail.readers import auditd
from agenttrail.readers._io import ReadContext
from agenttrail.simulate import Manifest, simulate
from agenttrail.simulate.formats.auditd_login import convert

SERVERS = ("app1", "db1", "git1")


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Manifest, list[str]]:
    root = tmp_path_factory.mktemp("auditd_login")
    src, dst = root / "src", root / "dst"
    manifest = simulate(src, seed=3, scenarios=["hijack_lateral"])
    return src, dst, manifest, convert(src, dst)


def _read(path: Path, rel: str) -> Any:
    result = auditd.read(ReadContext(path=path, rel=rel, con=duckdb.connect()))
    assert result.account.balanced() and result.account.malformed == 0, result.account.to_dict()
    return result


def _auth_line(src: Path, where: dict[str, Any]) -> tuple[int, int, str]:
    """(epoch seconds, pid, message) of an auth.log line (RFC 3164, year 2026, UTC)."""
    line = (src / where["file"]).read_text().splitlines()[where["line"] - 1]
    m = re.match(r"^(\w{3} +\d+ \d\d:\d\d:\d\d) \S+ [^\[]+\[(\d+)\]: (.*)$", line)
    assert m, line
    t = datetime.strptime(f"2026 {m[1]}", "%Y %b %d %H:%M:%S").replace(tzinfo=UTC)
    return int(t.timestamp()), int(m[2]), m[3]


def test_one_audit_log_per_server_and_deterministic(converted: tuple[Path, Path, Manifest,
                                                                     list[str]],
                                                    tmp_path: Path) -> None:
    src, dst, _, written = converted
    assert written == [f"servers/{s}/audit.log" for s in SERVERS]
    again = convert(src, tmp_path / "again")
    assert again == written
    for rel in written:
        assert (dst / rel).read_bytes() == (tmp_path / "again" / rel).read_bytes()
        first = (dst / rel).read_text().splitlines()[0]
        assert first.startswith(f"node={rel.split('/')[1]} type=")


def test_hijack_login_keeps_its_values(converted: tuple[Path, Path, Manifest, list[str]]) -> None:
    src, dst, manifest, _ = converted
    exp = manifest.expected["hijack_lateral"]
    dest, flow = exp["destination"], exp["flow"]
    sec, pid, msg = _auth_line(src, exp["records"]["accepted"])
    assert msg.startswith(f"Accepted publickey for {exp['remote_user']} from {flow['src_ip']} "
                          f"port {flow['src_port']} ")
    result = _read(dst / "servers" / dest["host"] / "audit.log", "audit.log")
    logins = result.tables["login"].to_pylist()
    (row,) = [r for r in logins if r["result"] == "accepted" and r["src_port"] == flow["src_port"]]
    assert {k: row[k] for k in ("host", "user", "src_ip", "src_port", "server_ip", "server_port",
                                "pid", "program", "method", "source")} == {
        "host": dest["host"], "user": exp["remote_user"], "src_ip": flow["src_ip"],
        "src_port": flow["src_port"], "server_ip": dest["ip"], "server_port": dest["port"],
        "pid": pid, "program": "sshd", "method": "publickey", "source": "auditd"}
    assert row["t_us"] // 1_000_000 == sec  # the auth.log keeps seconds
    assert row["host_inferred"] is False  # node= names the host
    # the PAM session of that login: uid from "session opened for user alice(uid=N)"
    auth = (src / exp["records"]["accepted"]["file"]).read_text()
    uid = int(re.search(rf"sshd\[{pid}\]: pam_unix\(sshd:session\): session opened for user "
                        rf"{exp['remote_user']}\(uid=(\d+)\)", auth)[1])
    (start,) = [s for s in result.tables["session"].to_pylist()
                if s["pid"] == pid and s["action"] == "login"]
    assert (start["uid"], start["user"], start["source_ip"], start["kind"]) == (
        uid, exp["remote_user"], flow["src_ip"], "ssh_inbound")
    assert start["asid"] is not None


@pytest.mark.parametrize("server", SERVERS)
def test_every_login_is_one_accepted_row(converted: tuple[Path, Path, Manifest, list[str]],
                                         server: str) -> None:
    """Counted from the auth.log with grep-style regexes: ``Accepted`` lines give one accepted
    row each; ``Invalid user`` lines one ``invalid`` row each."""
    src, dst, _, _ = converted
    auth = (src / "servers" / server / "auth.log").read_text()
    accepted = re.findall(r"\]: Accepted \S+ for \S+ from (\S+) port (\d+)", auth)
    invalid = re.findall(r"\]: Invalid user .* from \S+ port \d+$", auth, re.M)
    rows = _read(dst / "servers" / server / "audit.log", "audit.log").tables["login"].to_pylist()
    got = sorted((r["src_ip"], r["src_port"]) for r in rows if r["result"] == "accepted")
    assert got == sorted((ip, int(port)) for ip, port in accepted)
    assert sum(r["result"] == "invalid" for r in rows) == len(invalid)


def test_hunt_over_converted_logins_finds_the_hijack(
        converted: tuple[Path, Path, Manifest, list[str]], tmp_path: Path) -> None:
    """The Macs and Zeek as simulated, the servers' logins only as audit.log."""
    src, dst, manifest, written = converted
    inputs = tmp_path / "in"
    for part in ("macs", "zeek"):
        shutil.copytree(src / part, inputs / part)
    for rel in written:
        (inputs / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(dst / rel, inputs / rel)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "hunt", str(inputs), "--host-from-path", "{host}/*", "--assets",
        str(src / "assets.csv"), "--collected-at", "2026-03-02T14:00:00Z", "-o", str(out)])
    assert result.exit_code == 1, result.output
    report = json.loads((out / "report.json").read_text())
    exp = manifest.expected["hijack_lateral"]
    (inc,) = report["incidents"]
    assert (inc["rule_id"], inc["host"], inc["analytic"]) == (
        "agent_hijack_lateral_ssh", exp["endpoint"], "AN0711")
    (hop,) = inc["hops"]
    assert hop["login_status"] == "present"
    assert hop["login"]["source"]["file"] == f"servers/{exp['destination']['host']}/audit.log"
    assert hop["login"]["src_port"] == exp["flow"]["src_port"]
