"""`agenttrail explain --socket | --flow | --login INPUT...`: "why no incident?" on the detection
cases of ``tests/cases`` (rendered to real-format files by ``casekit``), one table row per question:
the case, the question, and text the answer must contain (the step that matched, the one that
failed, with the window numbers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agenttrail.cli import app
from tests import casekit

CASES = Path(__file__).parent / "cases"
SOCK = "/tmp/com.apple.launchd.AbCdEfGhIj/Listeners"

TABLE = [
    pytest.param("hijack_lateral_lineage", ["--socket", SOCK], [
        "socket /private/tmp/com.apple.launchd.AbCdEfGhIj/Listeners on mac-shared",
        "kind agent, scope tmp: matched",
        "owner uid 501, decided by stat",
        "does not act for the owner uid 501: fired agent_socket_cross_user (high)",
        "lineage link, flow starts -0.300 s relative to it: chosen: agent_hijack_lateral_ssh",
        "fired agent_env_foreign_socket (high, audit)",
    ], id="socket-hijack-linked"),
    pytest.param("connect_31s_after_flow_no_lineage", ["--socket", SOCK], [
        "fired agent_socket_cross_user (high)",
        "no SSH flow from mac-shared started in [-30.000 s, +60.000 s] around it",
        "10.10.0.7:50212 -> 10.20.0.5:22 (db1) starts -31.000 s relative to it",
    ], id="socket-outside-window"),
    pytest.param("connect_31s_after_flow_no_lineage", ["--flow", "CEarly1"], [
        "source host mac-shared",
        "login on the destination (window [-120.000 s, +240.000 s] around the flow start): "
        "present",
        "servers/db1/auth.log:2: Accepted publickey for alice",
        "no seed linked: a time link needs the flow to start within [-30.000 s, +60.000 s]",
        "agent_socket_cross_user pid 910 /usr/bin/python3 at 2026-03-02T09:02:11.200Z: flow "
        "starts -31.000 s relative to it",
    ], id="flow-outside-window"),
    pytest.param("owner_unknown", ["--socket", "/private/tmp/ssh-AbCdEfGhIj/agent.812"], [
        "owner unknown: no stat, bind directory, environment or path evidence",
        "(euid 0, no audit user: system)",
        "fired agent_socket_owner_unknown (low)",
    ], id="socket-owner-unknown"),
    pytest.param("own_sudo_ssh", ["--socket", SOCK], [
        "connects: 1",
        "1 by processes acting for the owner (not cross-user)",
    ], id="socket-acts-for-owner"),
    pytest.param("own_sudo_ssh", ["--login", "servers/app1/auth.log:2"], [
        "login servers/app1/auth.log:2 on app1 at 2026-03-02T09:01:40.000Z",
        "accepted for admin from 10.10.0.7:50600",
        "answers the flow below (the login rule matched it):",
        "flow CSudo1: 10.10.0.7:50600 -> 10.20.0.6:22",
        "no hijack seed (cross-user connect, foreign SSH_AUTH_SOCK, unknown-owner root connect) "
        "on mac-shared in the data: nothing to link",
    ], id="login-own-sudo"),
    pytest.param("flow_without_login", ["--flow", "CUnk1"], [
        "destination host unknown",
        "not_evaluable (destination_unknown)",
    ], id="flow-destination-unknown"),
    pytest.param("flow_without_login", ["--flow", "CNoAuth1"], [
        "not authenticated (no auth_success and not over 46 / 4000 packets and bytes)",
    ], id="flow-not-authenticated"),
    pytest.param("flow_without_login", ["--flow", "CMiss1"], [
        "): missing",
        "fired ssh_flow_without_login (medium)",
    ], id="flow-missing-login"),
]


@pytest.mark.parametrize(("case", "question", "expected"), TABLE)
def test_why(case: str, question: list[str], expected: list[str], tmp_path: Path) -> None:
    opts = casekit.render(casekit.load(CASES / f"{case}.toml"), tmp_path / "in")
    result = CliRunner().invoke(app, ["explain", *question, str(tmp_path / "in"), *opts])
    assert result.exit_code == 0, result.output
    for text in expected:
        assert text in result.output, f"{text!r} not in:\n{result.output}"


def test_unknown_targets_are_usage_errors(tmp_path: Path) -> None:
    opts = casekit.render(casekit.load(CASES / "own_sudo_ssh.toml"), tmp_path / "in")
    for question, msg in ((["--flow", "Cnope"], "not in the flow data"),
                          (["--socket", "/tmp/nope"], "is not in the data"),
                          (["--login", "servers/app1/auth.log:99"], "no login record"),
                          (["--login", "no-line-number"], "FILE:LINE")):
        result = CliRunner().invoke(app, ["explain", *question, str(tmp_path / "in"), *opts])
        assert result.exit_code == 2, result.output
        assert msg in result.output
    result = CliRunner().invoke(app, ["explain", "--flow", "x", "--socket", "y", "in"])
    assert result.exit_code == 2
