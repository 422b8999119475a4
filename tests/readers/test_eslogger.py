"""Tests for the eslogger reader: hand-written records per line, the real corpus, damaged files."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail.model import ReadResult
from agenttrail.readers import eslogger
from agenttrail.readers._io import ReadContext, read_head

T0 = 1_767_607_200_000_000  # 2026-01-05T10:00:00Z in epoch µs
CORPUS_FILE = "macos/eslogger_mullvad_exec_fork_exit_v9_v10_v11.jsonl"
SECRETS = ("hunter2", "AWS_SECRET", "wJalrXUtnFEMIK7MDENG", "s3cr3t", "pass@", ":pw@", "Bearer",
           "tok3n", "GITHUB_TOKEN", "ghp_", "mysqlpw")


# --------------------------------------------------------------------------- record builders
def tok(pid: int, pv: int, *, auid: int = 501, euid: int = 501, ruid: int = 501,
        asid: int = 100001, shape: str = "object") -> Any:
    if shape == "array":
        return [auid, euid, 20, ruid, 20, pid, asid, pv]
    return {"auid": auid, "euid": euid, "egid": 20, "ruid": ruid, "rgid": 20, "pid": pid,
            "asid": asid, "pidversion": pv}


def file(path: str, uid: int = 0, mode: int = 33261) -> dict[str, Any]:
    return {"path": path, "path_truncated": False,
            "stat": {"st_uid": uid, "st_gid": 0, "st_mode": mode, "st_size": 1,
                     "st_mtimespec": "2026-01-01T00:00:00.000000000Z"}}


def proc(pid: int, pv: int, exe: str, *, ppid: int = 1, ppv: int = 700, shape: str = "object",
         signing_id: str | None = None, team_id: str | None = None, platform: bool = True,
         flags: int = 0x26000001, tty: str | None = None, session_id: int = 1,
         start: str = "2026-01-05T09:59:59.000001Z", **ids: int) -> dict[str, Any]:
    return {
        "audit_token": tok(pid, pv, shape=shape, **ids),
        "parent_audit_token": tok(ppid, ppv, auid=4294967295, euid=0, ruid=0, asid=100000,
                                  shape=shape),
        "responsible_audit_token": tok(pid, pv, shape=shape, **ids),
        "ppid": ppid, "original_ppid": ppid, "group_id": pid, "session_id": session_id,
        "tty": None if tty is None else file(tty, 501, 8592),
        "start_time": start, "executable": file(exe),
        "signing_id": signing_id or "com.apple." + exe.rsplit("/", 1)[-1],
        "team_id": team_id, "cdhash": "AB" * 20, "codesigning_flags": flags,
        "is_platform_binary": platform, "is_es_client": False,
    }


def rec(second: int, name: str, body: dict[str, Any], process: dict[str, Any], *,
        seq: int = 0, gseq: int | None = None, event_type: int = 9) -> dict[str, Any]:
    return {"schema_version": 1, "version": 9, "time": f"2026-01-05T10:00:{second:02d}.123456789Z",
            "mach_time": 1000 + second, "event_type": event_type, "action_type": 1,
            "action": {"result": {"result_type": 0, "result": {"auth": 0}}},
            "seq_num": seq, "global_seq_num": second if gseq is None else gseq,
            "thread": {"thread_id": 7}, "process": process, "event": {name: body}}


def shuffled(obj: Any, rng: random.Random) -> Any:
    if isinstance(obj, dict):
        items = [(k, shuffled(v, rng)) for k, v in obj.items()]
        rng.shuffle(items)
        return dict(items)
    if isinstance(obj, list):
        return [shuffled(v, rng) for v in obj]
    return obj


def dump(record: dict[str, Any], seed: int = 0) -> str:
    """As eslogger writes it: keys in arbitrary order, ``/`` escaped as ``\\/``."""
    return json.dumps(shuffled(record, random.Random(seed)), separators=(",", ":")).replace(
        "/", "\\/"
    )


def t_us(second: int) -> int:
    return T0 + second * 1_000_000 + 123_456


SHELL = proc(900, 10, "/bin/zsh", auid=501, asid=100123, tty="/dev/ttys001", session_id=880)
ENV_SECRET = ["AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENG", "GITHUB_TOKEN=ghp_abc",
              "PATH=/usr/bin:/bin", "SSH_AUTH_SOCK=/tmp/ssh-AbCdEf1234/agent.777",
              "USER=alice", "LOGNAME=alice", "HOME=/Users/alice",
              "TMPDIR=/var/folders/zz/abc_123/T/", "SSH_CONNECTION=10.0.0.9 50000 10.0.0.5 22",
              "SSH_CLIENT=10.0.0.9 50000 22", "SUDO_USER=bob", "SUDO_UID=502",
              "SSH_AUTH_SOCK=/tmp/second-one-ignored"]


def exec_body(target: dict[str, Any], args: list[str], env: list[str],
              cwd: str = "/Users/alice") -> dict[str, Any]:
    return {"target": target, "args": args, "env": env, "cwd": file(cwd, 501, 16877),
            "script": None, "dyld_exec_path": target["executable"]["path"], "last_fd": 2,
            "fds": [{"fd": 0, "fdtype": 1}], "image_cputype": 16777228, "image_cpusubtype": 2}


LINES: list[dict[str, Any]] = [
    # 1: exec of ssh, array tokens; the caller (zsh, pv 10) becomes ssh (pv 11)
    rec(1, "exec", exec_body(
        proc(900, 11, "/usr/bin/ssh", shape="array", auid=501, asid=100123, ppid=800, ppv=55,
             tty="/dev/ttys001", session_id=880),
        ["ssh", "-p", "2222", "-o", "IdentityAgent=~/.ssh/agent/s.a.agent.b", "bob@DB1.corp"],
        ENV_SECRET), proc(900, 10, "/bin/zsh", shape="array", ppid=800, ppv=55), seq=0),
    # 2: exec of curl: only argv[0] survives, whatever secrets the rest holds
    rec(2, "exec", exec_body(
        proc(901, 3, "/usr/bin/curl"),
        ["curl", "-u", "user:s3cr3t", "https://u:pw@x.example/", "-H", "Authorization: Bearer tok3n"],
        ENV_SECRET), SHELL, seq=1),
    # 3: an interpreter whose argv names an agent socket: kept, with secrets redacted
    rec(3, "exec", exec_body(
        proc(902, 4, "/private/tmp/x/python3.12", signing_id="python3-0123456789abcdef",
             platform=False, flags=0x3, auid=4294967295, asid=4294967295),
        ["python3", "steal.py", "/private/tmp/com.apple.launchd.Q/Listeners", "--password=hunter2",
         "-pmysqlpw", "https://user:pass@h.example/x", "--header=Authorization: Bearer tok3n"],
        ["FOO=bar"]), SHELL, seq=2),
    # 4: fork (object tokens): the child gets a new pid, the parent is the forking process
    rec(4, "fork", {"child": proc(903, 1, "/bin/zsh", ppid=900, ppv=10, auid=501, asid=100123)},
        SHELL, seq=0, event_type=11),
    # 5, 6: exit: a normal exit with code 1, and a kill by signal 9
    rec(5, "exit", {"stat": 256}, proc(903, 1, "/bin/zsh", ppid=900, ppv=10), seq=0,
        event_type=15),
    rec(6, "exit", {"stat": 9}, proc(904, 2, "/tmp/evil", platform=False, signing_id="",
                                      flags=0, ppid=900, ppv=10), seq=1, event_type=15),
    # 7: root ssh-add connecting to alice's agent socket (path as /tmp, normalised)
    rec(7, "uipc_connect", {"file": file("/tmp/ssh-AbCdEf1234/agent.777", 501, 49536),
                            "domain": 1, "type": 1, "protocol": 0},
        proc(905, 1, "/usr/bin/ssh-add", auid=502, euid=0, ruid=0, asid=100321), seq=0,
        event_type=78),
    # 8: ssh-agent binding its socket, array tokens with auid -1
    rec(8, "uipc_bind", {"dir": file("/private/tmp/ssh-AbCdEf1234/", 501, 16832),
                         "filename": "agent.777", "mode": 384},
        proc(906, 1, "/usr/bin/ssh-agent", shape="array", auid=-1, asid=100123), seq=0,
        event_type=76),
    # 9-10: GUI session
    rec(9, "lw_session_login", {"username": "alice", "graphical_session_id": 257},
        proc(100, 1, "/System/Library/CoreServices/loginwindow.app/Contents/MacOS/loginwindow",
             auid=501, asid=100100), seq=0, event_type=114),
    rec(10, "lw_session_logout", {"username": "alice", "graphical_session_id": 257},
        proc(100, 1, "/System/Library/CoreServices/loginwindow.app/Contents/MacOS/loginwindow",
             auid=501, asid=100100), seq=0, event_type=115),
    # 11-12: Terminal login
    rec(11, "login_login", {"success": False, "failure_message": "bad", "username": "carol",
                            "uid": None}, proc(200, 1, "/usr/bin/login", auid=501, asid=100200),
        seq=0, event_type=122),
    rec(12, "login_logout", {"username": "alice", "uid": 501},
        proc(200, 1, "/usr/bin/login", auid=501, asid=100200), seq=0, event_type=123),
    # 13-16: inbound SSH
    rec(13, "openssh_login", {"success": True, "result_type": 2, "source_address_type": 1,
                              "source_address": "10.0.0.9", "username": "alice", "uid": 501},
        proc(300, 1, "/usr/libexec/sshd-session", auid=501, asid=100300), seq=0,
        event_type=120),
    rec(14, "openssh_login", {"success": False, "result_type": 9, "source_address_type": 2,
                              "source_address": "::FFFF:10.0.0.8", "username": "admin",
                              "uid": None},
        proc(301, 1, "/usr/libexec/sshd-session", auid=4294967295, asid=100301), seq=1,
        event_type=120),
    rec(15, "openssh_login", {"success": False, "result_type": 4, "source_address_type": 2,
                              "source_address": "2001:DB8::1", "username": "alice", "uid": 501},
        proc(302, 1, "/usr/libexec/sshd-session", auid=4294967295, asid=100302), seq=2,
        event_type=120),
    rec(16, "openssh_logout", {"source_address_type": 1, "source_address": "10.0.0.9",
                               "username": "alice", "uid": 501},
        proc(300, 1, "/usr/libexec/sshd-session", auid=501, asid=100300), seq=0,
        event_type=121),
    # 17-18: su and sudo
    rec(17, "su", {"success": True, "failure_message": None, "from_uid": 501,
                   "from_username": "alice", "to_uid": 0, "to_username": "root",
                   "shell": "/bin/sh", "argc": 2, "argv": ["su", "-"], "env_count": 1,
                   "env": ["AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENG"]},
        proc(400, 1, "/usr/bin/su", euid=0, asid=100123), seq=0, event_type=128),
    rec(18, "sudo", {"success": False, "reject_info": {"plugin_name": "sudoers",
                                                       "plugin_type": 2,
                                                       "failure_message": "no"},
                     "from_uid": 501, "from_username": "alice", "to_uid": 0,
                     "to_username": "root", "command": "/bin/cat /etc/master.passwd s3cr3t"},
        proc(401, 1, "/usr/bin/sudo", euid=0, asid=100123), seq=0, event_type=131),
    # 19-21: event types the reader does not use
    rec(19, "open", {"fflag": 1, "file": file("/etc/hosts")}, SHELL, seq=0, event_type=10),
    rec(20, "close", {"modified": False, "target": file("/etc/hosts"),
                      "was_mapped_writable": False}, SHELL, seq=0, event_type=12),
    rec(21, "xyz_future_event", {"whatever": [1, 2]}, SHELL, seq=0, event_type=999),
]
# unknown keys: one in the envelope, one in process, one in a body, one in exec.target
LINES[3]["new_envelope_key"] = 1
LINES[3]["process"] = {**SHELL, "new_process_key": True}
LINES[6]["event"]["uipc_connect"]["new_body_key"] = "x"
LINES[0]["event"]["exec"]["target"]["new_target_key"] = 0


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> ReadResult:
    path = tmp_path_factory.mktemp("esl") / "hand.jsonl"
    path.write_text("".join(dump(r, i) + "\n" for i, r in enumerate(LINES)))
    return read_file(path, host="mac1", origin="path")


def read_file(path: Path, host: str = "mac1", origin: str = "option") -> ReadResult:
    ctx = ReadContext(path=path, rel=path.name, con=duckdb.connect(), host=host,
                      host_origin=origin)
    return eslogger.read(ctx)


def rows(result: ReadResult, table: str) -> dict[int, dict[str, Any]]:
    return {r["src_line"]: r for r in result.tables[table].to_pylist()}


def test_escaped_slashes_and_shuffled_keys_are_in_the_fixture() -> None:
    assert '\\/usr\\/bin\\/ssh' in dump(LINES[0], 0)
    orders = {tuple(json.loads(dump(r, i))) for i, r in enumerate(LINES)}
    assert len(orders) > 10  # top-level key order differs from line to line


@pytest.mark.parametrize(("text", "read", "meta"), [("", 0, 0), ("\n\n", 2, 2)])
def test_empty_files(tmp_path: Path, text: str, read: int, meta: int) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(text)
    result = read_file(path)
    a = result.account
    assert (a.read, a.meta, a.normalised, a.malformed, a.balanced()) == (read, meta, 0, 0, True)
    assert result.tables == {}


def test_duplicate_keys_first_wins(tmp_path: Path) -> None:
    record = rec(1, "exit", {"stat": 0}, SHELL)
    text = dump(record).replace('"time":', '"time":"2026-01-05T10:00:09Z","time":', 1)
    path = tmp_path / "dup.jsonl"
    path.write_text(text + "\n")
    assert rows(read_file(path), "process")[1]["t_us"] == T0 + 9_000_000


def test_hand_accounting(hand: ReadResult) -> None:
    a = hand.account
    assert (a.read, a.normalised, a.meta, a.malformed, a.unread) == (21, 18, 0, 0, 0)
    assert a.skipped_by_type == {"close": 1, "open": 1, "xyz_future_event": 1}
    assert a.balanced()
    assert a.issues == []
    assert (a.format, a.host) == ("eslogger", "mac1")
    assert {t: hand.tables[t].num_rows for t in hand.tables} == {
        "process": 6, "socket": 2, "session": 10, "login": 3, "source_span": 1}


def test_unknown_keys(hand: ReadResult) -> None:
    assert hand.account.unknown_keys == {
        "exec": {"event.exec.target.new_target_key": 1},
        "fork": {"new_envelope_key": 1, "process.new_process_key": 1},
        "uipc_connect": {"event.uipc_connect.new_body_key": 1},
    }
    assert hand.account.details["unknown_keys_records"] == 21


SOURCE = {"host": "mac1", "host_inferred": False, "src_file": "hand.jsonl", "src_format": "eslogger"}

PROCESS = {
    1: {"action": "exec", "t_us": t_us(1), "src_seq": 1, "pid": 900, "pidversion": 11,
        "prev_pidversion": 10, "ppid": 800, "parent_pidversion": 55, "ruid": 501, "euid": 501,
        "auid": 501, "auid_set": True, "asid": 100123, "session_id": 880, "tty": "/dev/ttys001",
        "exe": "/usr/bin/ssh", "signing_id": "com.apple.ssh", "team_id": None,
        "platform_binary": True,
        "args": ["ssh", "-p", "2222", "-o", "IdentityAgent=~/.ssh/agent/s.a.agent.b",
                 "bob@DB1.corp"],
        "argc": 6, "cwd": "/Users/alice",
        "auth_sock": "/private/tmp/ssh-AbCdEf1234/agent.777",
        "auth_sock_raw": "/tmp/ssh-AbCdEf1234/agent.777", "sudo_uid": 502, "sudo_user": "bob",
        "env_user": "alice", "env_logname": "alice", "env_home": "/Users/alice",
        "env_tmpdir": "/var/folders/zz/abc_123/T/",
        "ssh_connection": "10.0.0.9 50000 10.0.0.5 22", "ssh_client": "10.0.0.9 50000 22",
        "identity_agent": "/Users/alice/.ssh/agent/s.a.agent.b", "identity_agent_inferred": True,
        "ssh_dest_host": "db1.corp", "ssh_dest_user": "bob", "ssh_dest_port": 2222,
        "jump": None, "platform": "macos", "exe_class": "ssh_family", "exe_location": "system",
        "code_signature": "platform", "start_t_us": T0 - 1_000_000 + 1, "exit_status": None},
    2: {"action": "exec", "pid": 901, "pidversion": 3, "prev_pidversion": 10, "args": ["curl"],
        "argc": 6, "exe_class": "other", "ssh_dest_host": None, "identity_agent": None,
        "identity_agent_inferred": None, "auth_sock": "/private/tmp/ssh-AbCdEf1234/agent.777"},
    3: {"action": "exec", "pid": 902, "pidversion": 4, "auid": None, "auid_set": False,
        "asid": None, "exe": "/private/tmp/x/python3.12", "exe_class": "interpreter",
        "exe_location": "temp", "code_signature": "adhoc", "argc": 7,
        "args": ["python3", "steal.py", "/private/tmp/com.apple.launchd.Q/Listeners",
                 "--password=<redacted>", "-p<redacted>", "https://user:<redacted>@h.example/x",
                 "--header=Authorization: <redacted>"],
        "auth_sock": None, "auth_sock_raw": None, "env_user": None, "sudo_uid": None},
    4: {"action": "fork", "pid": 903, "pidversion": 1, "prev_pidversion": None, "ppid": 900,
        "parent_pidversion": 10, "exe": "/bin/zsh", "args": None, "argc": None, "cwd": None,
        "auid": 501, "asid": 100123, "src_seq": 4},
    5: {"action": "exit", "pid": 903, "pidversion": 1, "ppid": 900, "parent_pidversion": 10,
        "exit_status": 1},
    6: {"action": "exit", "pid": 904, "exit_status": None, "exe_location": "temp",
        "code_signature": "unsigned", "platform_binary": False},
}


@pytest.mark.parametrize("line", sorted(PROCESS))
def test_process_rows(hand: ReadResult, line: int) -> None:
    row = rows(hand, "process")[line]
    assert {k: row[k] for k in PROCESS[line]} == PROCESS[line]
    assert {k: row[k] for k in SOURCE} == SOURCE


SOCKET = {
    7: {"action": "connect", "t_us": t_us(7), "pid": 905, "pidversion": 1, "ruid": 0, "euid": 0,
        "auid": 502, "auid_set": True, "asid": 100321, "exe": "/usr/bin/ssh-add",
        "signing_id": "com.apple.ssh-add", "platform_binary": True,
        "socket_path": "/private/tmp/ssh-AbCdEf1234/agent.777",
        "socket_path_raw": "/tmp/ssh-AbCdEf1234/agent.777", "st_uid": 501, "dir_uid": None,
        "socket_mode": 49536, "platform": "macos", "exe_class": "ssh_family",
        "exe_location": "system", "code_signature": "platform", "socket_kind": None,
        "socket_scope": None, "socket_owner_uid": None},
    8: {"action": "bind", "pid": 906, "auid": None, "auid_set": False, "asid": 100123,
        "exe": "/usr/bin/ssh-agent", "socket_path": "/private/tmp/ssh-AbCdEf1234/agent.777",
        "socket_path_raw": "/private/tmp/ssh-AbCdEf1234/agent.777", "st_uid": None,
        "dir_uid": 501, "socket_mode": 384},
}


@pytest.mark.parametrize("line", sorted(SOCKET))
def test_socket_rows(hand: ReadResult, line: int) -> None:
    row = rows(hand, "socket")[line]
    assert {k: row[k] for k in SOCKET[line]} == SOCKET[line]
    assert {k: row[k] for k in SOURCE} == SOURCE


SESSION = {  # kind, action, uid, user, success, source_ip, asid, pid
    9: ("gui", "login", None, "alice", True, None, 100100, 100),
    10: ("gui", "logout", None, "alice", None, None, 100100, 100),
    11: ("login", "login", None, "carol", False, None, 100200, 200),
    12: ("login", "logout", 501, "alice", None, None, 100200, 200),
    13: ("ssh_inbound", "login", 501, "alice", True, "10.0.0.9", 100300, 300),
    14: ("ssh_inbound", "login", None, "admin", False, "10.0.0.8", 100301, 301),
    15: ("ssh_inbound", "login", 501, "alice", False, "2001:db8::1", 100302, 302),
    16: ("ssh_inbound", "logout", 501, "alice", None, "10.0.0.9", 100300, 300),
    17: ("su", "login", 0, "root", True, None, 100123, 400),
    18: ("sudo", "login", 0, "root", False, None, 100123, 401),
}


@pytest.mark.parametrize("line", sorted(SESSION))
def test_session_rows(hand: ReadResult, line: int) -> None:
    row = rows(hand, "session")[line]
    cols = ("kind", "action", "uid", "user", "success", "source_ip", "asid", "pid")
    assert tuple(row[c] for c in cols) == SESSION[line]
    assert (row["t_us"], row["src_seq"], row["pidversion"]) == (t_us(line), line, 1)
    assert {k: row[k] for k in SOURCE} == SOURCE


LOGIN = {  # user, src_ip, result, method, program, pid
    13: ("alice", "10.0.0.9", "accepted", None, "sshd-session", 300),
    14: ("admin", "10.0.0.8", "invalid", None, "sshd-session", 301),
    15: ("alice", "2001:db8::1", "failed", "password", "sshd-session", 302),
}


@pytest.mark.parametrize("line", sorted(LOGIN))
def test_login_rows(hand: ReadResult, line: int) -> None:
    row = rows(hand, "login")[line]
    cols = ("user", "src_ip", "result", "method", "program", "pid")
    assert tuple(row[c] for c in cols) == LOGIN[line]
    assert (row["src_port"], row["source"], row["t_us"]) == (None, "eslogger", t_us(line))


def test_source_span(hand: ReadResult) -> None:
    assert hand.tables["source_span"].to_pylist() == [{
        "host": "mac1", "source": "eslogger", "format": "eslogger", "program": "sshd-session",
        "first_t_us": t_us(13), "last_t_us": t_us(16), "records": 4, "sshd_records": 4}]


def test_no_secret_reaches_any_column(hand: ReadResult) -> None:
    for name, table in hand.tables.items():
        for row in table.to_pylist():
            text = json.dumps(row, default=str)
            for secret in SECRETS:
                assert secret not in text, (name, row.get("src_line", row))


def test_environment_never_leaves_duckdb(tmp_path: Path) -> None:
    """The Arrow table read_ndjson returns holds no full environment or argv."""
    from agenttrail.model import FileAccount
    from agenttrail.readers import _eslogger_sql as q
    from agenttrail.readers._io import read_ndjson

    path = tmp_path / "env.jsonl"
    path.write_text(dump(LINES[1]) + "\n" + dump(LINES[16]) + "\n")
    ctx = ReadContext(path=path, rel=path.name, con=duckdb.connect(), host="m")
    table = read_ndjson(ctx, q.COLUMNS, FileAccount(path.name), select=q.SELECT_LIST,
                        prepare=q.PREPARE)
    text = json.dumps(table.to_pylist(), default=str)
    for secret in SECRETS:
        assert secret not in text
    assert "PATH=" not in text


def test_sequence_holes(tmp_path: Path) -> None:
    # exec 0,1 then 4 (2 missing); fork 0,1; global 0,1,2 then 5 (2 missing); then a restart
    plan = [("exec", 0, 0), ("exec", 1, 1), ("fork", 0, 2), ("exec", 4, 5), ("fork", 1, 6),
            ("exec", 0, 0), ("fork", 3, 1)]
    lines = []
    for i, (name, seq, gseq) in enumerate(plan):
        body = (exec_body(proc(10, i + 1, "/bin/ls"), ["ls"], []) if name == "exec"
                else {"child": proc(11, 1, "/bin/ls")})
        lines.append(dump(rec(i, name, body, SHELL, seq=seq, gseq=gseq)))
    path = tmp_path / "seq.jsonl"
    path.write_text("\n".join(lines) + "\n")
    d = read_file(path).account.details
    assert d["seq_gaps"] == {"exec": 2, "fork": 0}
    assert (d["global_seq_gaps"], d["restarts"]) == (2, 1)


def test_host_from_option_is_marked_inferred(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text(dump(LINES[6]) + "\n")
    table = read_file(path, host="mac9", origin="option").tables["socket"]
    assert table.column("host").to_pylist() == ["mac9"]
    assert table.column("host_inferred").to_pylist() == [True]


# --------------------------------------------------------------------------- the real corpus
def test_corpus_file(corpus: Path) -> None:
    result = read_file(corpus / CORPUS_FILE, host="mullvad-mac", origin="option")
    a = result.account
    assert (a.read, a.normalised, a.meta, a.malformed, a.unread) == (4, 4, 0, 0, 0)
    assert a.skipped_by_type == {}
    assert a.balanced()
    assert a.unknown_keys == {}
    assert a.details == {"seq_gaps": {"exec": 0, "exit": 0, "fork": 0}, "global_seq_gaps": 14,
                         "restarts": 2, "unknown_keys_records": 4}
    assert set(result.tables) == {"process"}
    got = rows(result, "process")
    cols = ("action", "t_us", "src_seq", "pid", "pidversion", "prev_pidversion", "ppid",
            "parent_pidversion", "ruid", "euid", "auid", "auid_set", "asid", "session_id", "tty",
            "exe", "signing_id", "team_id", "platform_binary", "exe_class", "exe_location",
            "code_signature", "start_t_us", "exit_status")
    assert {line: tuple(r[c] for c in cols) for line, r in got.items()} == {
        1: ("exit", 1754579589811587, 1103, 11221, 170692, None, 532, 1294, 0, 0, None, False,
            100017, 532, None, "/usr/sbin/ipconfig", "com.apple.ipconfig", None, True, "other",
            "system", "platform", 1754579589798115, 0),
        2: ("exec", 1754572895880814, 75, 97391, 149092, 149091, 58916, 87724, 501, 501, 501,
            True, 100019, 58916, "/dev/ttys003", "/bin/connection-checker",
            "connection_checker-04fde7bdb8bceee3", None, False, "other", "system", "adhoc",
            1754572895877422, None),
        3: ("fork", 1753196941084030, 1, 21497, 38282, None, 19745, 35165, 501, 501, 501, True,
            100013, 1, None, "/Applications/Mullvad VPN.app/Contents/MacOS/Mullvad VPN",
            "net.mullvad.vpn", "CKG9MXH72F", False, "other", "app", "team", 1753196941083979,
            None),
        4: ("exec", 1785843505825904, 16, 11085, 25189, 25188, 1, 742, 501, 501, 501, True,
            100015, 1, None,
            "/System/Library/PrivateFrameworks/IntlPreferences.framework/Support/"
            "localizationswitcherd",
            "com.apple.localizationswitcherd", None, True, "other", "system", "platform",
            1785843505815739, None),
    }
    env_cols = ("args", "argc", "cwd", "auth_sock", "auth_sock_raw", "env_user", "env_logname",
                "env_home", "env_tmpdir", "sudo_uid", "ssh_connection")
    assert tuple(got[2][c] for c in env_cols) == (
        ["/bin/connection-checker"], 1, "/bin/mullvadvpn-app", None, None, None, None, None,
        None, None, None)
    exe4 = "/System/Library/PrivateFrameworks/IntlPreferences.framework/Support/localizationswitcherd"
    assert tuple(got[4][c] for c in env_cols) == (
        [exe4], 1, "/", "/private/var/run/com.apple.launchd.BclgYGxEjP/Listeners",
        "/var/run/com.apple.launchd.BclgYGxEjP/Listeners", "mullvad", "mullvad", "/Users/mullvad",
        "/var/folders/04/rh7vng8164sd599dwgzzq_kh0000gn/T/", None, None)
    text = json.dumps(result.tables["process"].to_pylist(), default=str)
    for dropped in ("XPC_SERVICE_NAME", "MallocSpaceEfficient", "OSLogRateLimit", "FOO=bar",
                    "/bin/zsh"):
        assert dropped not in text


# --------------------------------------------------------------------------- damaged files
def test_damaged_file(corpus: Path, tmp_path: Path) -> None:
    good = (corpus / CORPUS_FILE).read_bytes().splitlines()
    two_keys = dump(rec(1, "exec", {}, SHELL) | {"event": {"exec": {}, "fork": {}}})
    bad_time = dump(rec(1, "exit", {"stat": 0}, SHELL) | {"time": "2026-01-05 10:00:00"})
    no_event = json.dumps({"schema_version": 1, "time": "2026-01-05T10:00:00Z"})
    data = b"\n".join([
        good[0],
        good[1],
        b'{"schema_version":1,"event_type":9,"time":"2026-01-05T10:00:00Z","event":{"ex',  # 3
        b"",  # 4: blank
        two_keys.encode(),  # 5
        bad_time.encode(),  # 6
        no_event.encode(),  # 7
        b"[1, 2, 3]",  # 8
        good[2],
        good[3][:300],  # 10: truncated, no newline
    ])
    path = tmp_path / "damaged.jsonl"
    path.write_bytes(data)
    result = read_file(path)
    a = result.account
    assert (a.read, a.normalised, a.meta, a.malformed, a.unread) == (10, 3, 1, 6, 0)
    assert a.balanced()
    issues = {i.line: i for i in a.issues}
    assert sorted(issues) == [3, 5, 6, 7, 8, 10]
    assert all(i.kind == "malformed" and i.path == "damaged.jsonl" for i in a.issues)
    assert "2 keys (exec, fork)" in issues[5].message
    assert "'2026-01-05 10:00:00'" in issues[6].message
    assert issues[6].excerpt.startswith("{") and issues[6].excerpt.endswith("…")
    assert "`event` is missing" in issues[7].message
    assert "truncated" in issues[10].message
    assert issues[10].location() == "damaged.jsonl:10"
    assert sorted(rows(result, "process")) == [1, 2, 9]


# --------------------------------------------------------------------------- sniffing
def test_sniff_corpus(corpus: Path) -> None:
    assert eslogger.sniff(read_head(corpus / CORPUS_FILE))


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param(b'{"schema_version":1,"event_type":9,"event":{"exec":{}}}\n', True, id="min"),
        pytest.param(b"\n\n" + b'{"event":{"x":{}},"event_type":1,"schema_version":1}', True,
                     id="blank-first"),
        pytest.param(b'{"schema_version":1,"event_type":"9","event":{"exec":{}}}\n', False,
                     id="event-type-string"),
        pytest.param(b'{"schema_version":1,"event_type":9,"event":{"a":{},"b":{}}}\n', False,
                     id="two-keys"),
        pytest.param(b'{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1"}\n', False, id="zeek-json"),
        pytest.param(b"#separator \\x09\n#fields\tts\n", False, id="zeek-tsv"),
        pytest.param(b"Jan  1 00:00:00 h sshd[1]: Accepted\n", False, id="syslog"),
        pytest.param(b"", False, id="empty"),
        pytest.param(b"\xff\xfe\x00garbage", False, id="binary"),
    ],
)
def test_sniff(head: bytes, expected: bool) -> None:
    assert eslogger.sniff(head) is expected


def test_sniff_first_line_longer_than_head() -> None:
    record = rec(1, "exec", exec_body(proc(1, 1, "/bin/ls"), ["ls"], ["X=" + "a" * 70000]), SHELL)
    head = json.dumps(record).replace("/", "\\/").encode()[: 64 * 1024]  # envelope keys first
    assert eslogger.sniff(head)
