"""Tests for the osquery results-log reader: constructed lines per table and framing, the real
corpus file, damaged files, sniffing, and the simulate converter read back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.compute as pc
import pytest

from agenttrail.model import FileAccount, ReadResult
from agenttrail.readers import _osquery_sql as q
from agenttrail.readers import eslogger, osquery, sshd_syslog, zeek
from agenttrail.readers._io import ReadContext, read_head, read_ndjson

CORPUS_FILE = "macos/osquery_results_event_format_sample.jsonl"
T = 1_772_446_670  # 2026-03-02T10:17:50Z, epoch seconds (unixTime of the constructed lines)
US = 1_000_000
SECRETS = ("hunter2", "AWS_SECRET", "wJalrXUtnFEMIK7MDENG", "s3cr3t", ":pw@", "Bearer", "tok3n",
           "GITHUB_TOKEN", "ghp_", "mysqlpw")


# --------------------------------------------------------------------------- line builders
def envelope(name: str, host: str | None = "mac1", t: int = T, **extra: Any) -> dict[str, Any]:
    """The header keys osquery writes around a result (constructed)."""
    rec: dict[str, Any] = {"name": name, "unixTime": str(t), "epoch": "0", "counter": "3",
                           "calendarTime": "ignored when unixTime is set", "numerics": False,
                           "decorations": {"host_uuid": "4AB2906D-5516-5794-AF54-86D1D7F533F3",
                                           "username": "alice"}}
    if host is not None:
        rec["hostIdentifier"] = host
    rec.update(extra)
    return rec


def event(name: str, columns: dict[str, Any], action: str = "added", **kw: Any) -> str:
    """Event format: one row per line (osquery writes keys sorted)."""
    return json.dumps(envelope(name, **kw) | {"action": action, "columns": columns},
                      sort_keys=True, separators=(",", ":"))


def snapshot(name: str, rows: list[dict[str, Any]], **kw: Any) -> str:
    return json.dumps(envelope(name, **kw) | {"action": "snapshot", "snapshot": rows},
                      sort_keys=True, separators=(",", ":"))


def batch(name: str, added: list[dict[str, Any]], removed: list[dict[str, Any]], **kw: Any) -> str:
    return json.dumps(envelope(name, **kw) | {"diffResults": {"added": added, "removed": removed}},
                      sort_keys=True, separators=(",", ":"))


def es(event_type: str, pid: int, pv: int, path: str, *, args: list[str] | None = None,
       env: list[str] | None = None, uid: int = 501, egid: int = 20, euid: int | None = None,
       flags: str = "NOT_RUNTIME", signing_id: str | None = None, team_id: str = "",
       platform: bool = True, second: int = 0, **cols: str) -> dict[str, str]:
    """An es_process_events row as osquery 5.15+ writes it (constructed): strings everywhere,
    ``euid`` holding the effective gid unless given, list columns in osquery's encoding."""
    row = {
        "version": "7", "seq_num": "4", "global_seq_num": str(100 + second), "pid": str(pid),
        "pidversion": str(pv), "path": path, "parent": "800", "original_parent": "800",
        "session_id": "880", "responsible_pid": "700", "responsible_pidversion": "70",
        "parent_pidversion": "55", "cmdline": encode(args or []), "cmdline_count": str(len(args or [])),
        "env": encode(env or []), "env_count": str(len(env or [])), "cwd": "/Users/alice",
        "uid": str(uid), "euid": str(egid if euid is None else euid), "gid": str(egid),
        "egid": str(egid), "username": "alice", "cdhash": "ab" * 20,
        "signing_id": "com.apple." + path.rsplit("/", 1)[-1] if signing_id is None else signing_id,
        "team_id": team_id, "platform_binary": "1" if platform else "0", "exit_code": "",
        "child_pid": "", "time": str(T - 3 + second), "event_type": event_type,
        "codesigning_flags": flags,
    }
    row.update(cols)
    return row


def encode(items: list[str]) -> str:
    """osquery's cmdline/env encoding (4.9+): each element then a space; an element with a space
    or a double quote is double-quoted with backslash escapes."""
    out = ""
    for s in items:
        if " " in s or '"' in s:
            s = '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
        out += s + " "
    return out


def sock(pid: int, path: str, family: str = "1", **cols: str) -> dict[str, str]:
    row = {"pid": str(pid), "fd": "", "socket": "5", "family": family, "protocol": "0",
           "local_address": "", "remote_address": "", "local_port": "0", "remote_port": "0",
           "path": path, "state": ""}
    row.update(cols)
    return row


def user(name: str, tty: str, pid: int, login: int, host: str = "",
         kind: str = "user") -> dict[str, str]:
    return {"type": kind, "user": name, "tty": tty, "host": host, "time": str(login),
            "pid": str(pid)}


def last(name: str, tty: str, pid: int, kind: int, type_name: str, when: int,
         host: str = "") -> dict[str, str]:
    return {"username": name, "tty": tty, "pid": str(pid), "type": str(kind),
            "type_name": type_name, "time": str(when), "host": host}


def iface(name: str, address: str) -> dict[str, str]:
    return {"interface": name, "address": address, "mask": "255.255.255.0", "broadcast": "",
            "point_to_point": "", "type": "unknown"}


ES = "pack_agenttrail_es_process_events"
SOCK = "pack_agenttrail_process_open_sockets"
USERS = "pack_agenttrail_logged_in_users"
LAST = "pack_agenttrail_last"
IFACE = "pack_agenttrail_interface_addresses"
ENV = ["AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENG", "GITHUB_TOKEN=ghp_abc", "PATH=/usr/bin:/bin",
       "SSH_AUTH_SOCK=/tmp/ssh-AbCdEf1234/agent.777", "USER=alice", "LOGNAME=alice",
       "HOME=/Users/alice", "TMPDIR=/var/folders/zz/abc_123/T/",
       "SSH_CONNECTION=10.0.0.9 50000 10.0.0.5 22", "SSH_CLIENT=10.0.0.9 50000 22",
       "SUDO_USER=bob", "SUDO_UID=502", "SSH_AUTH_SOCK=/tmp/second-one-ignored"]
OLD_ES = {  # osquery 4.4-4.8 (2020): no pidversion columns, no quoting, euid right; numerics on
    "version": 4, "seq_num": 9, "global_seq_num": 120, "pid": 950, "path": "/usr/bin/ssh",
    "parent": 940, "original_parent": 940, "cmdline": "ssh -A ops@10.30.0.10 ", "cmdline_count": 3,
    "env": "SSH_AUTH_SOCK=/tmp/ssh-Old1234567/agent.940 USER=root SUDO_USER=bob ", "env_count": 3,
    "cwd": "/", "uid": 502, "euid": 0, "gid": 502, "egid": 20, "username": "bob", "signing_id": "",
    "team_id": "", "cdhash": "", "platform_binary": 0, "exit_code": "", "child_pid": "",
    "time": T - 1, "event_type": "exec",
}

#: The constructed file, one entry per line (line numbers are list positions + 1).
LINES: list[str] = [
    # 1: exec of ssh: quoted env with a space, secrets, euid column = egid (osquery 4.9+)
    event(ES, es("exec", 900, 11, "/usr/bin/ssh",
                 args=["ssh", "-p", "2222", "-o", "IdentityAgent=~/.ssh/agent/s.a.agent.b",
                       "bob@DB1.corp"],
                 env=[*ENV[:4], "TMPDIR=/var/folders/zz/a b/T/", *ENV[4:]])),
    # 2: exec of curl: only argv[0] survives
    event(ES, es("exec", 901, 3, "/usr/bin/curl", second=1,
                 args=["curl", "-u", "user:s3cr3t", "https://u:pw@x.example/", "-H",
                       "Authorization: Bearer tok3n"], env=ENV)),
    # 3: an ad-hoc signed interpreter in /tmp whose argv names an agent socket: kept, redacted
    event(ES, es("exec", 902, 4, "/private/tmp/x/python3.12", second=2, platform=False,
                 signing_id="python3-0123456789abcdef", flags="ADHOC, NOT_RUNTIME",
                 args=["python3", "steal.py", "/private/tmp/com.apple.launchd.Q/Listeners",
                       "--password=hunter2", "-pmysqlpw", "https://user:pass@h.example/x",
                       'say "hi" \\o/'], env=["FOO=bar"])),
    # 4: fork: the row describes the forking parent; the child is child_pid
    event(ES, es("fork", 900, 10, "/bin/zsh", second=3, child_pid="903")),
    # 5, 6: exit: wait status 256 (exit 1); killed by signal 9; a team-signed app
    event(ES, es("exit", 903, 1, "/bin/zsh", second=4, exit_code="256")),
    event(ES, es("exit", 904, 2, "/Applications/X.app/Contents/MacOS/X", second=5,
                 exit_code="9", uid=0, egid=0, team_id="ABCDE12345", platform=False,
                 signing_id="com.x.app", flags="")),
    # 7: osquery 4.4-4.8 exec, numerics on (JSON numbers, unixTime too), plain space-joined lists
    event(ES, OLD_ES, numerics=True, unixTime=T, counter=7),
    # 8: an event row logged as removed (osquery does not do this; counted, not used)
    event(ES, es("exec", 905, 1, "/bin/ls", args=["ls"]), action="removed"),
    # 9: AF_UNIX descriptor with its bound path
    event(SOCK, sock(906, "/tmp/ssh-AbCdEf1234/agent.777")),
    # 10-12: no path (a client descriptor), IPv6 (macOS family 30), IPv4
    event(SOCK, sock(907, "", family="0")),
    event(SOCK, sock(907, "", family="30", local_address="::1", local_port="5000")),
    event(SOCK, sock(907, "", family="2", remote_address="10.20.0.11", remote_port="22")),
    # 13-15: snapshots of one query: new, the same again, one kept plus one new
    snapshot(SOCK, [sock(910, "/tmp/a.sock"), sock(911, "/var/run/b.sock", family="0"),
                    sock(912, "", family="2")], t=T + 10),
    snapshot(SOCK, [sock(910, "/tmp/a.sock"), sock(911, "/var/run/b.sock", family="0"),
                    sock(912, "", family="2")], t=T + 20),
    snapshot(SOCK, [sock(910, "/tmp/a.sock"), sock(913, "/tmp/c.sock")], t=T + 30),
    # 16: batch format: two sessions added, one removed
    batch(USERS, [user("alice", "console", 141, T - 3600), user("bob", "ttys001", 150, T - 60,
                                                                  host="10.0.0.9")],
          [user("carol", "ttys002", 160, T - 7200)]),
    # 17: a dead utmpx entry
    event(USERS, user("", "ttys009", 170, T - 100, kind="dead")),
    # 18-20: last: a remote login, a logout, a boot record
    event(LAST, last("alice", "ttys003", 77, 7, "user", T - 500, host="10.0.0.9")),
    event(LAST, last("", "ttys003", 77, 8, "dead", T - 400)),
    event(LAST, last("reboot", "~", 0, 2, "boot_time", T - 90000)),
    # 21: interface addresses: loopback and link-local are not assets
    snapshot(IFACE, [iface("lo0", "127.0.0.1"), iface("lo0", "::1"), iface("en0", "10.10.1.35"),
                     iface("en0", "fe80::1%en0"), iface("en0", "2001:DB8::5")]),
    # 22: only loopback
    event(IFACE, iface("lo0", "127.0.0.1")),
    # 23: a query the reader does not use
    event("pack_osquery-monitoring_osquery_info", {"version": "5.15.0", "pid": "99"}),
    # 24: a pack query selecting only pid and path from process_open_sockets (name hint)
    event("pack_x_agent_sockets", {"pid": "920", "path": "/Users/alice/.ssh/agent/s.a.agent.b"}),
    # 25: hostIdentifier is a UUID (--host_identifier=uuid): decorations.hostname names the host
    event(USERS, user("dave", "console", 142, T - 10),
          host="4AB2906D-5516-5794-AF54-86D1D7F533F3",
          decorations={"hostname": "Mac2.corp.example", "username": "dave"}),
    # 26: hostIdentifier localhost counts as none: the file's host applies
    event(USERS, user("erin", "console", 143, T - 20), host="localhost"),
    # 27: no unixTime: calendarTime (space-padded day) gives the time
    json.dumps({k: v for k, v in json.loads(event(SOCK, sock(921, "/tmp/d.sock"))).items()
                if k != "unixTime"} | {"calendarTime": "Mon Mar  2 10:17:55 2026 UTC"},
               sort_keys=True, separators=(",", ":")),
    # 28: a column the documentation does not list
    event(ES, es("exit", 922, 1, "/bin/sleep", second=6, exit_code="0", new_col="x")),
]


def read_file(path: Path, host: str | None = "ctxhost", origin: str | None = "option"
              ) -> ReadResult:
    ctx = ReadContext(path=path, rel=path.name, con=duckdb.connect(), host=host,
                      host_origin=origin if host else None)
    return osquery.read(ctx)


def rows(result: ReadResult, table: str) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for r in result.tables[table].to_pylist():
        out.setdefault(r["src_line"], []).append(r)
    return out


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> ReadResult:
    path = tmp_path_factory.mktemp("osq") / "hand.log"
    path.write_text("".join(line + "\n" for line in LINES))
    return read_file(path)


# --------------------------------------------------------------------------- constructed lines
def test_hand_accounting(hand: ReadResult) -> None:
    a = hand.account
    assert (a.read, a.normalised, a.meta, a.malformed, a.unread, a.duplicates) == (
        28, 20, 0, 0, 0, 1)
    assert a.skipped_by_type == {
        "es_process_events:removed": 1, "process_open_sockets:af_unix_no_path": 1,
        "process_open_sockets:af_inet6": 1, "process_open_sockets:af_inet": 1,
        "logged_in_users:dead": 1, "last:boot_time": 1, "interface_addresses:loopback": 1,
        "pack_osquery-monitoring_osquery_info": 1}
    assert a.balanced()
    assert (a.format, a.host) == ("osquery", "ctxhost")
    assert {t: hand.tables[t].num_rows for t in hand.tables} == {
        "process": 8, "socket": 6, "session": 7, "login": 1, "asset": 2}
    assert a.details["queries"] == {
        ES: "es_process_events", SOCK: "process_open_sockets", USERS: "logged_in_users",
        LAST: "last", IFACE: "interface_addresses", "pack_osquery-monitoring_osquery_info": None,
        "pack_x_agent_sockets": "process_open_sockets"}
    # rows whose euid column equals egid while uid differs: lines 1-5 and 28
    assert a.details["euid_from_uid"] == 6
    assert [(i.kind, i.line) for i in a.issues] == [("warning", None)]
    assert "`euid` equals `egid` on 6 rows" in a.issues[0].message


def test_unknown_keys(hand: ReadResult) -> None:
    assert hand.account.unknown_keys == {"es_process_events": {"new_col": 1}}
    assert hand.account.details["unknown_keys_records"] == 27  # every line but line 23


def test_unknown_keys_in_snapshot_and_batch_rows(tmp_path: Path) -> None:
    path = tmp_path / "k.log"
    path.write_text("\n".join([
        snapshot(SOCK, [sock(1, "/tmp/a.sock"), sock(2, "/tmp/b.sock", inode="7")]),
        batch(USERS, [], [user("a", "console", 1, T) | {"sid": "", "new_one": "x"}]),
    ]) + "\n")
    assert read_file(path).account.unknown_keys == {"logged_in_users": {"new_one": 1},
                                                     "process_open_sockets": {"inode": 1}}


SOURCE = {"host": "mac1", "host_inferred": False, "src_file": "hand.log", "src_format": "osquery"}

PROCESS = {
    1: {"action": "exec", "t_us": (T - 3) * US, "src_seq": 100, "pid": 900, "pidversion": 11,
        "prev_pidversion": None, "ppid": 800, "parent_pidversion": 55, "ruid": 501, "euid": 501,
        "auid": None, "auid_set": None, "asid": None, "session_id": 880, "tty": None,
        "exe": "/usr/bin/ssh", "signing_id": "com.apple.ssh", "team_id": None,
        "platform_binary": True,
        "args": ["ssh", "-p", "2222", "-o", "IdentityAgent=~/.ssh/agent/s.a.agent.b",
                 "bob@DB1.corp"],
        "argc": 6, "cwd": "/Users/alice",
        "auth_sock": "/private/tmp/ssh-AbCdEf1234/agent.777",
        "auth_sock_raw": "/tmp/ssh-AbCdEf1234/agent.777", "sudo_uid": 502, "sudo_user": "bob",
        "env_user": "alice", "env_logname": "alice", "env_home": "/Users/alice",
        "env_tmpdir": "/var/folders/zz/a b/T/",
        "ssh_connection": "10.0.0.9 50000 10.0.0.5 22", "ssh_client": "10.0.0.9 50000 22",
        "identity_agent": "/Users/alice/.ssh/agent/s.a.agent.b", "identity_agent_inferred": True,
        "ssh_dest_host": "db1.corp", "ssh_dest_user": "bob", "ssh_dest_port": 2222,
        "jump": None, "platform": "macos", "exe_class": "ssh_family", "exe_location": "system",
        "code_signature": "platform", "start_t_us": None, "exit_status": None},
    2: {"action": "exec", "pid": 901, "pidversion": 3, "args": ["curl"], "argc": 6,
        "exe_class": "other", "ssh_dest_host": None, "identity_agent": None,
        "auth_sock": "/private/tmp/ssh-AbCdEf1234/agent.777", "t_us": (T - 2) * US},
    3: {"action": "exec", "pid": 902, "exe": "/private/tmp/x/python3.12",
        "exe_class": "interpreter", "exe_location": "temp", "code_signature": "adhoc",
        "platform_binary": False, "argc": 7,
        "args": ["python3", "steal.py", "/private/tmp/com.apple.launchd.Q/Listeners",
                 "--password=<redacted>", "-p<redacted>", "https://user:<redacted>@h.example/x",
                 'say "hi" \\o/'],
        "auth_sock": None, "env_user": None, "sudo_uid": None},
    4: {"action": "fork", "pid": 903, "pidversion": None, "ppid": 900, "parent_pidversion": 10,
        "exe": "/bin/zsh", "args": None, "argc": None, "cwd": None, "auth_sock": None,
        "ruid": 501, "euid": 501, "src_seq": 103, "exit_status": None},
    5: {"action": "exit", "pid": 903, "pidversion": 1, "ppid": 800, "parent_pidversion": 55,
        "exit_status": 1, "args": None, "argc": None},
    6: {"action": "exit", "pid": 904, "exit_status": None, "ruid": 0, "euid": 0,
        "team_id": "ABCDE12345", "code_signature": "team", "exe_location": "app"},
    7: {"action": "exec", "pid": 950, "pidversion": None, "parent_pidversion": None,
        "session_id": None, "ppid": 940, "ruid": 502, "euid": 0, "t_us": (T - 1) * US,
        "src_seq": 120, "args": ["ssh", "-A", "ops@10.30.0.10"], "argc": 3,
        "auth_sock": "/private/tmp/ssh-Old1234567/agent.940", "env_user": "root",
        "sudo_user": "bob", "ssh_dest_host": "10.30.0.10", "ssh_dest_user": "ops",
        "signing_id": None, "platform_binary": False, "code_signature": "unsigned", "cwd": "/"},
    28: {"action": "exit", "pid": 922, "exit_status": 0, "ruid": 501, "euid": 501},
}


@pytest.mark.parametrize("line", sorted(PROCESS))
def test_process_rows(hand: ReadResult, line: int) -> None:
    (row,) = rows(hand, "process")[line]
    assert {k: row[k] for k in PROCESS[line]} == PROCESS[line]
    assert {k: row[k] for k in SOURCE} == SOURCE


SOCKET = {  # line -> [(pid, socket_path, socket_path_raw, t_us)]
    9: [(906, "/private/tmp/ssh-AbCdEf1234/agent.777", "/tmp/ssh-AbCdEf1234/agent.777", T * US)],
    13: [(910, "/private/tmp/a.sock", "/tmp/a.sock", (T + 10) * US),
         (911, "/private/var/run/b.sock", "/var/run/b.sock", (T + 10) * US)],
    15: [(913, "/private/tmp/c.sock", "/tmp/c.sock", (T + 30) * US)],
    24: [(920, "/Users/alice/.ssh/agent/s.a.agent.b", "/Users/alice/.ssh/agent/s.a.agent.b",
          T * US)],
    27: [(921, "/private/tmp/d.sock", "/tmp/d.sock", (T + 5) * US)],
}


def test_socket_rows(hand: ReadResult) -> None:
    got = rows(hand, "socket")
    assert {line: [(r["pid"], r["socket_path"], r["socket_path_raw"], r["t_us"]) for r in rs]
            for line, rs in got.items()} == SOCKET
    for rs in got.values():
        for r in rs:
            assert (r["action"], r["platform"], r["pidversion"], r["st_uid"], r["euid"]) == (
                "open", "macos", None, None, None)
            assert {k: r[k] for k in SOURCE} == SOURCE


SESSION = {  # line -> [(host, host_inferred, action, user, pid, t_us, source_ip, success)]
    16: [("mac1", False, "login", "alice", 141, (T - 3600) * US, None, True),
         ("mac1", False, "login", "bob", 150, (T - 60) * US, "10.0.0.9", True),
         ("mac1", False, "logout", "carol", 160, T * US, None, None)],
    18: [("mac1", False, "login", "alice", 77, (T - 500) * US, "10.0.0.9", True)],
    19: [("mac1", False, "logout", None, 77, (T - 400) * US, None, None)],
    25: [("Mac2.corp.example", False, "login", "dave", 142, (T - 10) * US, None, True)],
    26: [("ctxhost", True, "login", "erin", 143, (T - 20) * US, None, True)],
}


def test_session_rows(hand: ReadResult) -> None:
    cols = ("host", "host_inferred", "action", "user", "pid", "t_us", "source_ip", "success")
    got = rows(hand, "session")
    assert {line: [tuple(r[c] for c in cols) for r in rs] for line, rs in got.items()} == SESSION
    assert {r["kind"] for rs in got.values() for r in rs} == {"utmp"}
    assert {(r["uid"], r["asid"], r["end_time_us"]) for rs in got.values() for r in rs} == {
        (None, None, None)}


def test_login_rows(hand: ReadResult) -> None:
    (row,) = hand.tables["login"].to_pylist()
    assert {k: row[k] for k in ("src_line", "host", "user", "src_ip", "src_port", "result",
                                "source", "pid", "t_us", "program", "method")} == {
        "src_line": 18, "host": "mac1", "user": "alice", "src_ip": "10.0.0.9", "src_port": None,
        "result": "accepted", "source": "osquery_last", "pid": 77, "t_us": (T - 500) * US,
        "program": None, "method": None}


def test_asset_rows(hand: ReadResult) -> None:
    got = hand.tables["asset"].to_pylist()
    assert [(r["host"], r["ip"], r["valid_from_us"], r["valid_to_us"], r["origin"])
            for r in got] == [("mac1", "10.10.1.35", T * US, None, "osquery"),
                              ("mac1", "2001:db8::5", T * US, None, "osquery")]
    v4 = got[0]
    assert (v4["start_hi"], v4["start_lo"]) == (v4["end_hi"], v4["end_lo"])
    assert v4["start_lo"] == (0xFFFF0A0A0123 - (1 << 63))  # ::ffff:10.10.1.35, biased


def test_no_secret_reaches_any_column(hand: ReadResult) -> None:
    for name, table in hand.tables.items():
        text = json.dumps(table.to_pylist(), default=str)
        for secret in SECRETS:
            assert secret not in text, (name, secret)


def test_environment_never_leaves_duckdb(tmp_path: Path) -> None:
    """The Arrow table read_ndjson returns holds no full environment or argv."""
    path = tmp_path / "env.log"
    path.write_text(LINES[1] + "\n" + LINES[0] + "\n")
    ctx = ReadContext(path=path, rel=path.name, con=duckdb.connect(), host="m")
    table = read_ndjson(ctx, q.COLUMNS, FileAccount(path.name), select=q.SELECT_LIST,
                        prepare=q.PREPARE)
    text = json.dumps(table.to_pylist(), default=str)
    for secret in SECRETS:
        assert secret not in text
    assert "PATH=" not in text and "https://u:" not in text


# --------------------------------------------------------------------------- variants, one by one
@pytest.mark.parametrize(
    ("encoded", "args"),
    [
        pytest.param("ssh db1 ", ["ssh", "db1"], id="plain-trailing-space"),
        pytest.param('ssh "-oProxyCommand=nc %h %p" db1 ', ["ssh", "-oProxyCommand=nc %h %p", "db1"],
                     id="quoted-space"),
        pytest.param('ssh "a\\"b" "c\\\\d e" db1 ', ["ssh", 'a"b', "c\\d e", "db1"],
                     id="escaped-quote-and-backslash"),
        pytest.param("ssh a\\b db1", ["ssh", "a\\b", "db1"], id="raw-backslash-no-final-space"),
        pytest.param("", [], id="empty"),
    ],
)
def test_cmdline_encoding(tmp_path: Path, encoded: str, args: list[str]) -> None:
    """Constructed: osquery's list encoding, split inside DuckDB (argc from the split when
    ``cmdline_count`` is empty)."""
    row = es("exec", 1, 1, "/usr/bin/ssh") | {"cmdline": encoded, "cmdline_count": ""}
    path = tmp_path / "c.log"
    path.write_text(event(ES, row) + "\n")
    (got,) = read_file(path).tables["process"].to_pylist()
    assert (got["args"], got["argc"]) == (args, len(args))


@pytest.mark.parametrize(
    ("env", "auth_sock_raw", "tmpdir"),
    [
        pytest.param('"SSH_AUTH_SOCK=/tmp/a b/agent.1" TMPDIR=/t/ ', "/tmp/a b/agent.1", "/t/",
                     id="quoted-value"),
        pytest.param('X="1 2" SSH_AUTH_SOCK=/tmp/s/agent.2 ', "/tmp/s/agent.2", None,
                     id="quotes-inside-unquoted-element"),
        pytest.param("SSH_AUTH_SOCK= TMPDIR=/t/ ", None, "/t/", id="empty-value"),
        pytest.param("NOT_SSH_AUTH_SOCK=/x SSH_AUTH_SOCKET=/y ", None, None, id="lookalike-keys"),
        pytest.param("SSH_AUTH_SOCK=/a SSH_AUTH_SOCK=/b ", "/a", None, id="first-wins"),
    ],
)
def test_env_encoding(tmp_path: Path, env: str, auth_sock_raw: str | None,
                      tmpdir: str | None) -> None:
    """Constructed: the kept environment entries after osquery's encoding."""
    row = es("exec", 1, 1, "/usr/bin/ssh", args=["ssh", "h"]) | {"env": env}
    path = tmp_path / "e.log"
    path.write_text(event(ES, row) + "\n")
    (got,) = read_file(path).tables["process"].to_pylist()
    assert (got["auth_sock_raw"], got["env_tmpdir"]) == (auth_sock_raw, tmpdir)


@pytest.mark.parametrize(
    ("cols", "euid", "replaced"),
    [
        pytest.param({"uid": "501", "euid": "20", "egid": "20"}, 501, 1, id="osquery-4.9-egid"),
        pytest.param({"uid": "0", "euid": "0", "egid": "0"}, 0, 0, id="root"),
        pytest.param({"uid": "502", "euid": "0", "egid": "20"}, 0, 0, id="setuid-true-euid"),
        pytest.param({"uid": "", "euid": "20", "egid": "20"}, 20, 0, id="no-uid"),
    ],
)
def test_euid_column(tmp_path: Path, cols: dict[str, str], euid: int, replaced: int) -> None:
    path = tmp_path / "u.log"
    path.write_text(event(ES, es("exit", 1, 1, "/bin/ls") | cols) + "\n")
    result = read_file(path)
    (got,) = result.tables["process"].to_pylist()
    assert got["euid"] == euid
    assert result.account.details["euid_from_uid"] == replaced


@pytest.mark.parametrize(
    ("flags", "signing_id", "team", "platform", "expected"),
    [
        pytest.param("", "com.apple.ls", "", "1", "platform", id="platform"),
        pytest.param("NOT_RUNTIME", "com.x", "ABCDE12345", "0", "team", id="team"),
        pytest.param("ADHOC, NOT_RUNTIME", "a.out", "", "0", "adhoc", id="adhoc-flag"),
        pytest.param("NOT_RUNTIME", "tool-0123456789abcdef", "", "0", "adhoc", id="adhoc-id"),
        pytest.param("NOT_VALID, ADHOC, NOT_RUNTIME", "a.out", "", "0", "unsigned",
                     id="not-valid"),
        pytest.param("", "", "", "0", "unsigned", id="no-signing-id"),
        pytest.param(None, None, "", "0", "unknown", id="no-columns"),
        pytest.param("NOT_RUNTIME", "com.x", "", "0", "unknown", id="valid-no-team"),
    ],
)
def test_code_signature(tmp_path: Path, flags: str | None, signing_id: str | None, team: str,
                        platform: str, expected: str) -> None:
    row = es("exit", 1, 1, "/usr/local/bin/x") | {"team_id": team, "platform_binary": platform}
    for col, value in (("codesigning_flags", flags), ("signing_id", signing_id)):
        if value is None:
            del row[col]
        else:
            row[col] = value
    path = tmp_path / "s.log"
    path.write_text(event(ES, row) + "\n")
    (got,) = read_file(path).tables["process"].to_pylist()
    assert got["code_signature"] == expected


def test_batch_and_snapshot_framings_carry_the_same_rows(tmp_path: Path) -> None:
    """Constructed: one row in each framing gives the same normalised row."""
    row = sock(906, "/tmp/ssh-AbCdEf1234/agent.777")
    path = tmp_path / "f.log"
    path.write_text("\n".join([event(SOCK, row), snapshot(SOCK, [row]),
                               batch(SOCK, [row], [])]) + "\n")
    result = read_file(path)
    got = result.tables["socket"].to_pylist()
    assert [(r["src_line"], r["pid"], r["socket_path"]) for r in got] == [
        (i, 906, "/private/tmp/ssh-AbCdEf1234/agent.777") for i in (1, 2, 3)]
    assert (result.account.normalised, result.account.duplicates) == (3, 0)


def test_snapshot_continuation_is_per_query_and_host(tmp_path: Path) -> None:
    """A row repeats only against the previous snapshot of the same query and host."""
    a = sock(1, "/tmp/a.sock")
    path = tmp_path / "s.log"
    path.write_text("\n".join([
        snapshot(SOCK, [a], t=T), snapshot(SOCK, [a], host="mac2", t=T),  # other host: new
        snapshot("other_sockets_query", [a], t=T),  # other query: new
        snapshot(SOCK, [], t=T + 10),  # gone
        snapshot(SOCK, [a], t=T + 20),  # back: new again
        snapshot(SOCK, [a], t=T + 30),  # still there: continuing
    ]) + "\n")
    result = read_file(path)
    assert [r["src_line"] for r in result.tables["socket"].to_pylist()] == [1, 2, 3, 5]
    a_ = result.account
    assert (a_.read, a_.normalised, a_.duplicates, a_.skipped_by_type) == (
        6, 5, 1, {SOCK: 1})  # the empty snapshot has no rows to classify
    assert a_.balanced()


@pytest.mark.parametrize(
    ("family", "path", "key"),
    [
        pytest.param("1", "/tmp/a.sock", None, id="af_unix-documented"),
        pytest.param("0", "/tmp/a.sock", None, id="af_unix-as-osquery-macos-writes-it"),
        pytest.param(1, "/tmp/a.sock", None, id="numerics"),
        pytest.param("1", "", "process_open_sockets:af_unix_no_path", id="no-path"),
        pytest.param("2", "", "process_open_sockets:af_inet", id="af_inet"),
        pytest.param("10", "", "process_open_sockets:af_inet6", id="af_inet6-linux-number"),
        pytest.param("30", "", "process_open_sockets:af_inet6", id="af_inet6-darwin-number"),
        pytest.param("17", "", "process_open_sockets:family_17", id="other"),
    ],
)
def test_socket_families(tmp_path: Path, family: str | int, path: str, key: str | None) -> None:
    path_ = tmp_path / "f.log"
    path_.write_text(event(SOCK, sock(1, path) | {"family": family}) + "\n")
    result = read_file(path_)
    if key is None:
        assert result.tables["socket"].column("socket_path").to_pylist() == [
            "/private/tmp/a.sock"]
    else:
        assert result.account.skipped_by_type == {key: 1}


def test_removed_socket_rows_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "r.log"
    path.write_text(batch(SOCK, [], [sock(1, "/tmp/a.sock"), sock(2, "/tmp/b.sock")]) + "\n")
    result = read_file(path)
    assert result.account.skipped_by_type == {"process_open_sockets:removed": 1}
    assert "socket" not in result.tables


@pytest.mark.parametrize(
    ("host_id", "decorations", "top", "ctx_host", "expected"),
    [
        pytest.param("mac9", {"hostname": "other"}, None, "ctx", ("mac9", False), id="id-wins"),
        pytest.param("0E7A6D7B-0000-4000-8000-000000000001", {"hostname": "mac9"}, None, "ctx",
                     ("mac9", False), id="uuid-then-decoration"),
        pytest.param("0E7A6D7B-0000-4000-8000-000000000001", {}, None, "ctx",
                     ("0E7A6D7B-0000-4000-8000-000000000001", False), id="uuid-alone"),
        pytest.param(None, {}, "docs-host", "ctx", ("docs-host", False), id="top-level-hostname"),
        pytest.param("LOCALHOST", {}, None, "ctx", ("ctx", True), id="localhost"),
        pytest.param(None, {}, None, "ctx", ("ctx", True), id="none"),
    ],
)
def test_host_identity(tmp_path: Path, host_id: str | None, decorations: dict[str, str],
                       top: str | None, ctx_host: str, expected: tuple[str, bool]) -> None:
    extra: dict[str, Any] = {"decorations": decorations}
    if top is not None:
        extra["hostname"] = top
    path = tmp_path / "h.log"
    path.write_text(event(SOCK, sock(1, "/tmp/a.sock"), host=host_id, **extra) + "\n")
    (row,) = read_file(path, host=ctx_host).tables["socket"].to_pylist()
    assert (row["host"], row["host_inferred"]) == expected


def test_records_without_host_and_no_file_host_are_unread(tmp_path: Path) -> None:
    path = tmp_path / "n.log"
    path.write_text("\n".join([event(SOCK, sock(1, "/tmp/a.sock"), host=None),
                               event(SOCK, sock(2, "/tmp/b.sock"))]) + "\n")
    result = read_file(path, host=None)
    a = result.account
    assert (a.read, a.normalised, a.unread, a.balanced()) == (2, 1, 1, True)
    (issue,) = a.issues
    assert issue.kind == "file" and "--host" in issue.hint
    assert [r["host"] for r in result.tables["socket"].to_pylist()] == ["mac1"]


# --------------------------------------------------------------------------- the real corpus
def test_corpus_file(corpus: Path) -> None:
    """Three real lines, none of a table the reader uses. Counts by query name, computed with
    ``jq -r .name osquery_results_event_format_sample.jsonl | sort | uniq -c``:
    1 pack_it-compliance_mounts, 2 pack_osquery-monitoring_schedule."""
    result = read_file(corpus / CORPUS_FILE, host=None)
    a = result.account
    assert (a.read, a.normalised, a.meta, a.malformed, a.unread, a.duplicates) == (3, 0, 0, 0, 0, 0)
    assert a.skipped_by_type == {"pack_it-compliance_mounts": 1,
                                 "pack_osquery-monitoring_schedule": 2}
    assert a.details["queries"] == {"pack_it-compliance_mounts": None,
                                    "pack_osquery-monitoring_schedule": None}
    assert a.balanced() and a.issues == [] and a.unknown_keys == {}
    assert result.tables == {}


def test_corpus_lines_as_a_process_open_sockets_query(corpus: Path, tmp_path: Path) -> None:
    """The real envelope of corpus line 2 (host, string unixTime, decorations, action added)
    around a constructed process_open_sockets row."""
    real = json.loads((corpus / CORPUS_FILE).read_text().splitlines()[1])
    real["columns"] = sock(4242, "/private/tmp/com.apple.launchd.AbC/Listeners")
    real["name"] = "pack_it-compliance_agent_sockets"
    path = tmp_path / "mixed.log"
    path.write_text(json.dumps(real) + "\n")
    (row,) = read_file(path, host=None).tables["socket"].to_pylist()
    assert (row["host"], row["t_us"], row["pid"]) == ("ubuntu-xenial", 1515423115 * US, 4242)


# --------------------------------------------------------------------------- damaged files
def test_damaged_file(corpus: Path, tmp_path: Path) -> None:
    good = (corpus / CORPUS_FILE).read_bytes().splitlines()
    mixed = snapshot(SOCK, [sock(1, "/tmp/a.sock"), sock("x", "/tmp/b.sock")])  # type: ignore[arg-type]
    dup_key = event(SOCK, sock(1, "/tmp/a.sock")).replace('"fd":""', '"fd":"","pid":"2"', 1)
    data = b"\n".join([
        good[0],  # 1
        b'{"name":"q","columns":{"pid"',  # 2: truncated
        b"",  # 3: blank
        b"[1, 2]",  # 4
        b"{}",  # 5
        json.dumps({"hostIdentifier": "m", "unixTime": "1", "action": "added",
                    "columns": {"a": "b"}}).encode(),  # 6: no name
        event(SOCK, sock(1, "/tmp/a.sock"), action="bogus").encode(),  # 7
        event(SOCK, sock(1, "/tmp/a.sock"), t="abc").encode(),  # type: ignore[arg-type]  # 8
        json.dumps(envelope(SOCK) | {"action": "snapshot",
                                     "snapshot": {"pid": "1"}}).encode(),  # 9: not an array
        event(ES, es("exec", 1, 1, "/bin/ls") | {"pid": "abc"}).encode(),  # 10
        mixed.encode(),  # 11: one good row, one bad: a warning
        dup_key.encode(),  # 12: a repeated key: the first one wins
        event(ES, es("fork", 1, 1, "/bin/zsh")).encode(),  # 13: fork without child_pid
        good[1][:200],  # 14: truncated, no newline
    ])
    path = tmp_path / "damaged.log"
    path.write_bytes(data)
    result = read_file(path)
    a = result.account
    assert (a.read, a.normalised, a.meta, a.malformed, a.unread) == (14, 2, 1, 10, 0)
    assert a.skipped_by_type == {"pack_it-compliance_mounts": 1}
    assert a.balanced()
    issues = {i.line: i for i in a.issues}
    assert sorted(issues) == [2, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14]
    assert all(i.path == "damaged.log" for i in a.issues)
    assert [i.kind for i in a.issues if i.line == 11] == ["warning"]
    assert all(i.kind == "malformed" for n, i in issues.items() if n != 11)
    assert "not an osquery results record" in issues[5].message
    assert issues[6].message == "no `name`"
    assert issues[7].message == "`action` is 'bogus', not added or removed"
    assert "no usable time: `unixTime` 'abc'" in issues[8].message
    assert "no `columns` object" in issues[9].message
    assert issues[10].message == "`pid` is missing or not a number: 'abc'"
    assert issues[11].message == "row 2 of 2: `pid` is missing or not a number: 'x'"
    assert issues[13].message == "a fork row without a `child_pid`"
    assert "truncated" in issues[14].message
    assert issues[10].excerpt.startswith('{"action":"added"') and issues[10].excerpt.endswith("…")
    assert issues[14].location() == "damaged.log:14"
    assert [(r["src_line"], r["pid"]) for r in result.tables["socket"].to_pylist()] == [
        (11, 1), (12, 2)]


@pytest.mark.parametrize(("text", "read", "meta"), [("", 0, 0), ("\n\n", 2, 2)])
def test_empty_files(tmp_path: Path, text: str, read: int, meta: int) -> None:
    path = tmp_path / "e.log"
    path.write_text(text)
    result = read_file(path)
    a = result.account
    assert (a.read, a.meta, a.normalised, a.malformed, a.balanced()) == (read, meta, 0, 0, True)
    assert result.tables == {}


# --------------------------------------------------------------------------- sniffing
def test_sniff_corpus(corpus: Path) -> None:
    head = read_head(corpus / CORPUS_FILE)
    assert osquery.sniff(head)
    assert not eslogger.sniff(head) and not zeek.sniff(head) and not sshd_syslog.sniff(head)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param(LINES[0].encode() + b"\n", True, id="event"),
        pytest.param(LINES[12].encode() + b"\n", True, id="snapshot"),
        pytest.param(LINES[15].encode() + b"\n", True, id="batch"),
        pytest.param(b"\n" + LINES[8].encode(), True, id="blank-first"),
        pytest.param(b'{"name":"q","hostIdentifier":"h","unixTime":1}\n', False, id="no-rows"),
        pytest.param(b'{"schema_version":1,"event_type":9,"event":{"exec":{}}}\n', False,
                     id="eslogger"),
        pytest.param(b'{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1"}\n', False, id="zeek-json"),
        pytest.param(b"#separator \\x09\n#fields\tts\n", False, id="zeek-tsv"),
        pytest.param(b"Jan  1 00:00:00 h sshd[1]: Accepted\n", False, id="syslog"),
        pytest.param(b"", False, id="empty"),
        pytest.param(b"\xff\xfe\x00garbage", False, id="binary"),
    ],
)
def test_sniff(head: bytes, expected: bool) -> None:
    assert osquery.sniff(head) is expected


def test_sniff_first_line_longer_than_head() -> None:
    rows_ = [sock(i, f"/tmp/s{i}.sock") for i in range(2000)]
    head = snapshot(SOCK, rows_).encode()[: 64 * 1024]
    assert len(snapshot(SOCK, rows_)) > 64 * 1024
    assert osquery.sniff(head)


def test_other_readers_do_not_claim_osquery_lines() -> None:
    for line in (LINES[0], LINES[12], LINES[15]):
        head = line.encode() + b"\n"
        assert not eslogger.sniff(head) and not zeek.sniff(head) and not sshd_syslog.sniff(head)


# --------------------------------------------------------------------------- the converter
@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    from agenttrail.simulate import simulate
    from agenttrail.simulate.formats import osquery as conv

    src = tmp_path_factory.mktemp("sim")
    dst = tmp_path_factory.mktemp("osq")
    manifest = simulate(src, seed=3, scenarios=["hijack_lateral"])
    written = conv.convert(src, dst)
    assert written == [f"macs/{m}/osqueryd.results.log"
                       for m in ("mac-alice", "mac-carol", "mac-shared")]
    return src, dst, manifest.data


def _eslogger_record(src: Path, where: dict[str, Any]) -> dict[str, Any]:
    lines = (src / where["file"]).read_text().splitlines()
    return json.loads(lines[where["line"] - 1])


def test_converter_is_deterministic(converted: tuple[Path, Path, dict[str, Any]],
                                    tmp_path: Path) -> None:
    from agenttrail.simulate.formats import osquery as conv

    src, dst, _ = converted
    conv.convert(src, tmp_path)
    for rel in ("macs/mac-shared/osqueryd.results.log", "macs/mac-alice/osqueryd.results.log"):
        assert (tmp_path / rel).read_bytes() == (dst / rel).read_bytes()


def test_converted_hijack_reads_back(converted: tuple[Path, Path, dict[str, Any]]) -> None:
    src, dst, manifest = converted
    facts = manifest["expected"]["hijack_lateral"]
    mac = facts["endpoint"]
    result = read_file(dst / f"macs/{mac}/osqueryd.results.log", host=None)
    a = result.account
    assert a.balanced() and (a.malformed, a.unread) == (0, 0)
    assert a.format == "osquery"
    p = facts["process"]
    proc = result.tables["process"]
    (ex,) = proc.filter(pc.and_(pc.equal(proc.column("pid"), p["pid"]),
                                pc.equal(proc.column("action"), "exec"))).to_pylist()
    t_exec = _epoch_s(_eslogger_record(src, facts["records"]["exec"])["time"])
    assert {k: ex[k] for k in ("host", "pid", "pidversion", "exe", "args", "euid", "ruid",
                               "auth_sock", "sudo_user", "sudo_uid", "ssh_dest_host",
                               "ssh_dest_user", "t_us", "auid")} == {
        "host": mac, "pid": p["pid"], "pidversion": p["pidversion"], "exe": p["exe"],
        "args": p["args"], "euid": p["euid"], "ruid": 0, "auth_sock": facts["ssh_auth_sock"],
        "sudo_user": facts["actor"]["name"], "sudo_uid": facts["actor"]["auid"],
        "ssh_dest_host": facts["destination"]["host"], "ssh_dest_user": facts["remote_user"],
        "t_us": t_exec * US, "auid": None}
    # the hijacking connect: the ssh process holds the victim's socket at the next 10 s tick
    connect = _eslogger_record(src, facts["records"]["connect"])
    t_connect = _epoch_s(connect["time"], exact=True)
    socket = result.tables["socket"]
    held = socket.filter(pc.equal(socket.column("pid"), p["pid"])).to_pylist()
    victim = [r for r in held if r["socket_path"] == facts["socket"]]
    assert len(victim) == 1
    assert victim[0]["t_us"] == (int(t_connect // 10) + 1) * 10 * US
    assert (victim[0]["host"], victim[0]["action"]) == (mac, "open")
    # ssh-add -l connects and exits between two polls: osquery never sees it
    add = _eslogger_record(src, facts["records"]["ssh_add_connect"])
    add_pid = add["process"]["audit_token"]["pid"]
    add_exit = [_epoch_s(r["time"], exact=True) for r in _eslogger_events(src, mac)
                if "exit" in r["event"] and r["process"]["audit_token"]["pid"] == add_pid]
    t_add = _epoch_s(add["time"], exact=True)
    assert int(t_add // 10) == int(add_exit[0] // 10)  # no tick between connect and exit
    assert socket.filter(pc.equal(socket.column("pid"), add_pid)).num_rows == 0
    # the users' sessions and the Mac's address
    sessions = result.tables["session"].to_pylist()
    assert {r["user"] for r in sessions} == {u["name"] for m in manifest["hosts"]["macs"]
                                             if m["name"] == mac for u in m["users"]}
    ip = next(m["ip"] for m in manifest["hosts"]["macs"] if m["name"] == mac)
    assert [(r["host"], r["ip"]) for r in result.tables["asset"].to_pylist()] == [(mac, ip)]


def _eslogger_events(src: Path, mac: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in
            (src / f"macs/{mac}/eslogger.jsonl").read_text().splitlines()]


def _epoch_s(text: str, exact: bool = False) -> float:
    """Epoch seconds of eslogger's ``…T10:17:47.135947632Z`` (whole seconds unless ``exact``)."""
    import calendar
    import time

    head, _, frac = text.rstrip("Z").partition(".")
    sec = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))
    return sec + float("0." + frac) if exact else sec


def test_converted_files_account_every_line(converted: tuple[Path, Path, dict[str, Any]]
                                            ) -> None:
    """Every converted line is read and accounted; the expected counts come from the file itself
    (plain JSON parsing and ``ipaddress``, independent of the reader)."""
    import ipaddress

    _, dst, manifest = converted
    for m in manifest["hosts"]["macs"]:
        path = dst / f"macs/{m['name']}/osqueryd.results.log"
        lines = [json.loads(x) for x in path.read_text().splitlines()]
        removed = sum(1 for x in lines if x["action"] == "removed"
                      and x["name"].endswith("process_open_sockets"))
        kinds = [ipaddress.ip_address(x["columns"]["address"].split("%")[0])
                 for x in lines if x["name"].endswith("interface_addresses")]
        loopback = sum(1 for ip in kinds if ip.is_loopback)
        link_local = sum(1 for ip in kinds if ip.is_link_local)
        a = read_file(path, host=None).account
        assert a.read == len(lines)
        assert a.skipped_by_type == {"process_open_sockets:removed": removed,
                                     "interface_addresses:link_local": link_local,
                                     "interface_addresses:loopback": loopback}
        assert a.normalised == len(lines) - removed - loopback - link_local
        assert (a.malformed, a.unread, a.meta, a.duplicates) == (0, 0, 0, 0)
