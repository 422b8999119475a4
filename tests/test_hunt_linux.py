"""The Linux hijack end to end (analytic AN0710), through `agenttrail hunt`.

Constructed inputs (written by the test): an auditd log of the Linux workstation ws1
(10.10.2.5), a Zeek conn.log/ssh.log, and db1's (10.20.0.11) sshd auth.log. On ws1, alice
(uid 1001, audit session 3) and bob (uid 1002, session 7) log in over SSH; alice starts
ssh-agent, whose socket is /tmp/ssh-Xy12AbCd9Q/agent.4200, and lists her keys (her own connect:
no finding). bob runs ``sudo -s``; his root shell (auid 1002) runs ``ssh alice@10.20.0.11``,
which connects to alice's socket 0.6 s after the TCP flow ws1:50522 → db1:22 started; db1 logs
``Accepted publickey for alice from 10.10.2.5 port 50522``.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agenttrail.cli import app
from tests import auditkit as ak
from tests.casekit import syslog_line, zeek_logs
from tests.ocsf_validate import validate_finding

SOCK = "/tmp/ssh-Xy12AbCd9Q/agent.4200"


def _inputs(root: Path, actor: tuple[int, int] = (1002, 7)) -> list[str]:
    """The inputs; ``actor`` is the (auid, ses) of the root shell that runs ssh."""
    auid, ses = actor
    lines: list[str] = []
    lines += ak.sshd_login(1.0, 100, pid=700, user_name="alice", uid=1001, ses=3,
                           src_ip="10.10.9.9", src_port=None)
    lines += ak.sshd_login(2.0, 110, pid=701, user_name="bob", uid=1002, ses=7,
                           src_ip="10.10.9.8", src_port=None)
    lines += ak.exec_event(5.0, 200, ["ssh-agent", "-s"], pid=4199, ppid=4100, uid=1001,
                           euid=1001, auid=1001, ses=3, exe="/usr/bin/ssh-agent")
    lines += ak.exec_event(6.0, 210, ["ssh-add", "-l"], pid=4300, ppid=4100, uid=1001,
                           euid=1001, auid=1001, ses=3, exe="/usr/bin/ssh-add")
    lines += ak.connect_event(6.1, 211, SOCK, pid=4300, ppid=4100, uid=1001, euid=1001,
                              auid=1001, ses=3, exe="/usr/bin/ssh-add", owner=1001)
    lines += ak.exec_event(100.0, 300, ["sudo", "-s"], pid=5000, ppid=4900, uid=auid, euid=0,
                           auid=auid, ses=ses, exe="/usr/bin/sudo")
    lines += ak.exec_event(100.2, 301, ["bash"], pid=5001, ppid=5000, uid=0, euid=0,
                           auid=auid, ses=ses, exe="/usr/bin/bash")
    lines += ak.exec_event(199.5, 400, ["ssh", "alice@10.20.0.11"], pid=5100, ppid=5001,
                           uid=0, euid=0, auid=auid, ses=ses, exe="/usr/bin/ssh")
    lines += ak.connect_event(200.4, 401, SOCK, pid=5100, ppid=5001, uid=0, euid=0, auid=auid,
                              ses=ses, exe="/usr/bin/ssh", owner=1001)
    lines += [ak.syscall(3600.0, 900, 2, pid=1, comm="systemd", exe="/usr/lib/systemd/systemd")]
    ws = root / "linux" / "ws1"
    ws.mkdir(parents=True)
    (ws / "audit.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    conn, ssh = zeek_logs([{"t": 199.8, "uid": "CLinux1", "src": "10.10.2.5:50522",
                            "dst": "10.20.0.11:22", "auth_success": True}])
    (root / "zeek").mkdir()
    (root / "zeek" / "conn.log").write_text(conn, encoding="utf-8")
    (root / "zeek" / "ssh.log").write_text(ssh, encoding="utf-8")
    db1 = root / "servers" / "db1"
    db1.mkdir(parents=True)
    (db1 / "auth.log").write_text("".join(syslog_line("db1", e) for e in [
        {"t": -600.0, "pid": 700, "msg": "Server listening on 0.0.0.0 port 22."},
        {"t": 200.3, "pid": 5301, "msg": "Accepted publickey for alice from 10.10.2.5 port "
         "50522 ssh2: ED25519 SHA256:k1kjhwoH/H3w31MbGOIGd7qxrkSQJnoAN0eYJVHDmmI"},
        {"t": 10790.0, "pid": 9100, "program": "CRON",
         "msg": "pam_unix(cron:session): session closed for user root"},
    ]), encoding="utf-8")
    (root / "assets.csv").write_text("host,ip\nws1,10.10.2.5\ndb1,10.20.0.11\n",
                                     encoding="utf-8")
    assert "syscall=42" in lines[45] and "pid=5100" in lines[45]
    return [str(root), "--host-from-path", "linux/{host}/*", "--assets",
            str(root / "assets.csv"), "--collected-at", "2026-03-02T12:00:00Z"]


def test_linux_agent_hijack_is_an0710(tmp_path: Path) -> None:
    args = _inputs(tmp_path / "in")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["hunt", *args, "-o", str(out)])
    assert result.exit_code == 1, result.output  # a critical incident
    report = json.loads((out / "report.json").read_text())
    (inc,) = report["incidents"]
    assert inc["rule_id"] == "agent_hijack_lateral_ssh" and inc["severity"] == "critical"
    assert inc["analytic"] == "AN0710"
    assert inc["host"] == "ws1"
    assert (inc["actor"]["auid"], inc["actor"]["name"], inc["actor"]["euid"],
            inc["actor"]["asid"]) == (1002, "bob", 0, 7)
    assert inc["victim"] == {"uid": 1001, "name": "alice", "owner_origin": "stat"}
    assert inc["socket"]["path"] == SOCK and inc["socket"]["scope"] == "tmp"
    # 2 logins x 5 records, 5 execs x 6 records, ssh-add's connect x 5: ssh's connect is line 46
    assert inc["socket"]["connect"]["source"] == {"file": "linux/ws1/audit.log", "line": 46}
    (hop,) = inc["hops"]
    assert hop["link"] == "lineage"  # the ssh exec's argv names 10.20.0.11; same image serial
    flow = hop["flow"]
    assert (flow["src_ip"], flow["src_port"], flow["dst_ip"], flow["dst_port"],
            flow["dst_host"]) == ("10.10.2.5", 50522, "10.20.0.11", 22, "db1")
    assert hop["login_status"] == "present"
    assert hop["login"]["source"] == {"file": "servers/db1/auth.log", "line": 2}
    assert hop["login"]["user"] == "alice" and hop["login"]["src_port"] == 50522
    (finding,) = json.loads((out / "findings.json").read_text())
    assert finding["finding_info"]["analytic"]["uid"] == "AN0710"
    assert finding["finding_info"]["analytic"]["name"] == "SSH agent hijacking on Linux (DET0256)"
    assert validate_finding(finding) == []
    files = {f["path"]: f for f in report["inputs"]["files"]}
    audit = files["linux/ws1/audit.log"]
    # events: 2 logins x 5 (USER_ACCT, CRED_ACQ, LOGIN, USER_START, USER_LOGIN), 5 execs,
    # 2 connects, 1 open: 18; rows from all but the kernel LOGINs and the open
    assert (audit["format"], audit["host"], audit["read"], audit["normalised"],
            audit["skipped_by_type"], audit["malformed"]) == (
        "auditd", "ws1", 18, 15, {"LOGIN": 2, "SYSCALL": 1}, 0)


def test_owner_own_sudo_ssh_is_not_an_incident(tmp_path: Path) -> None:
    """The same inputs, but the root shell is alice's own (auid 1001, her session 3)."""
    args = _inputs(tmp_path / "in", actor=(1001, 3))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["hunt", *args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["incidents"] == [] and report["findings"] == []
