"""Tests for the OCSF input reader (OCSF 1.x events; class and object attributes checked against
the 1.5.0 schema export).

There is no OCSF input in the shared corpus (FORMATS §7): every event here is constructed by the
test itself from the schema's attributes, and labelled constructed. Expected values were written
by hand from each event.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail.model import FileAccount, ReadResult
from agenttrail.readers import _ocsf_sql as q
from agenttrail.readers import elastic, eslogger, ocsf_input, sshd_syslog, zeek
from agenttrail.readers._io import ReadContext, read_head, read_ndjson

T0 = 1_772_442_000_000  # 2026-03-02T09:00:00Z in epoch ms
SECRETS = ("hunter2", "AWS_SECRET", "wJalrXUtnFEMIK7MDENG", "s3cr3t", "tok3n", "PATH=")


def ms(second: float) -> int:
    return T0 + round(second * 1000)


def us(second: float) -> int:
    return ms(second) * 1000


def key(uid: str) -> int:
    return int(hashlib.md5(uid.encode()).hexdigest()[:15], 16)


MAC = {"hostname": "mac-shared", "ip": "10.10.1.35", "os": {"type_id": 300, "name": "macOS"}}
LINUX = {"name": "DB1", "ip": "10.20.0.11", "os": {"type": "Linux", "type_id": 200}}


def event(second: float, class_uid: int, activity: int | None, *,
          device: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"class_uid": class_uid, "category_uid": class_uid // 1000,
                           "time": ms(second), "severity_id": 1,
                           "metadata": {"version": "1.5.0", "product": {"name": "EDR"}},
                           "device": MAC if device is None else device}
    if activity is not None:
        out["activity_id"] = activity
        out["type_uid"] = class_uid * 100 + activity
    out.update(fields)
    return out


APPLE = {"algorithm_id": 99, "certificate": {"subject": "Software Signing"}}
ENV = [{"name": "SSH_AUTH_SOCK", "value": "/tmp/com.apple.launchd.Q/Listeners"},
       {"name": "USER", "value": "root"}, {"name": "SUDO_UID", "value": "502"},
       {"name": "PATH", "value": "/usr/bin"},
       {"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMIK7MDENG"}]
SSH = {"pid": 7365, "uid": "p7365-2", "file": {"path": "/usr/bin/ssh"}, "euid": 0, "auid": 502,
       "user": {"uid": "0", "name": "root"}}

LINES: list[dict[str, Any]] = [
    # 1: macOS Launch of ssh (1.5: env, working_directory), quoted command line, signed by Apple
    event(1, 1007, 1, metadata={"version": "1.5.0", "sequence": 41},
          process={**SSH, "name": "ssh", "file": {"path": "/usr/bin/ssh", "signature": APPLE},
                   "cmd_line": "ssh -o 'IdentityAgent ~/.ssh/agent/s.a.agent.b' -p 2222 "
                               '"alice@db1"',
                   "working_directory": "/Users/bob", "environment_variables": ENV,
                   "created_time": ms(0.9),
                   "parent_process": {"pid": 7358, "uid": "p7358-1"}},
          actor={"process": {"pid": 7358, "uid": "p7358-1"}}),
    # 2: Terminate with its exit code
    event(2, 1007, 2, process={**SSH}, exit_code=255),
    # 3: OCSF 1.1 Launch on Linux: no environment, no path, auid unset; parent only as actor;
    #    curl keeps argv[0] only; a developer_uid is a team id
    event(3, 1007, 1, device=LINUX, metadata={"version": "1.1.0"},
          process={"pid": 500, "uid": "l500", "file": {"path": "/usr/bin/curl",
                                                       "signature": {"developer_uid": "T3AM"}},
                   "cmd_line": "curl -u user:s3cr3t https://x.example/", "auid": 4294967295,
                   "user": {"uid": "1000"}},
          actor={"process": {"pid": 499, "uid": "l499"}}),
    # 4: activity left out: taken from type_uid (100701 -> Launch)
    {**event(4, 1007, None, process={"pid": 11, "file": {"path": "/bin/ls"},
                                     "cmd_line": "ls -l"}), "type_uid": 100701},
    # 5: Process Activity Open (3): not used
    event(5, 1007, 3, process={"pid": 12}),
    # 6-7: a socket connect (Open of a Local Socket) and bind (Create, type named not numbered)
    event(6, 1001, 14, file={"path": "/tmp/com.apple.launchd.Q/Listeners", "type_id": 5,
                             "owner": {"uid": "501"}},
          actor={"process": {**SSH, "file": {"path": "/usr/bin/ssh-add"}}}),
    event(7, 1001, 1, device=LINUX, file={"path": "/tmp//ssh-XYZ/agent.9",
                                          "type": "Local Socket"},
          actor={"process": {"pid": 600, "uid": "l600", "file": {"path": "/usr/bin/ssh-agent"},
                             "user": {"uid": "1000"}}}),
    # 8-9: a regular file opened, and a socket deleted: skipped by activity
    event(8, 1001, 14, file={"path": "/etc/hosts", "type_id": 1}, actor={"process": SSH}),
    event(9, 1001, 4, file={"path": "/tmp/x.sock", "type_id": 5}, actor={"process": SSH}),
    # 10-11: the Mac's ssh connection opened and closed (merged)
    event(10, 4001, 1, src_endpoint={"ip": "10.10.1.35", "port": 63240},
          dst_endpoint={"ip": "10.20.0.11", "port": 22},
          connection_info={"protocol_name": "TCP", "direction_id": 2}, actor={"process": SSH}),
    event(70, 4001, 2, start_time=ms(10), end_time=ms(70),
          src_endpoint={"ip": "10.10.1.35", "port": 63240},
          dst_endpoint={"ip": "10.20.0.11", "port": 22},
          connection_info={"protocol_name": "tcp", "direction_id": 2},
          traffic={"bytes_out": 11738, "bytes_in": 98319, "packets_out": 40, "packets_in": 60},
          actor={"process": SSH}),
    # 12: a Traffic summary seen by a network sensor (no actor), protocol only as a number
    event(12, 4001, 6, device={"hostname": "zeek1"}, start_time=ms(11), end_time=ms(12),
          src_endpoint={"ip": "10.10.1.21", "port": 50000},
          dst_endpoint={"ip": "10.20.0.12", "port": 22},
          connection_info={"protocol_num": 6}, traffic={"bytes_out": 1, "bytes_in": 2}),
    # 13: an inbound connection on the server (device is the destination), IPv4-mapped source
    event(13, 4001, 1, device=LINUX, src_endpoint={"ip": "::ffff:10.10.1.21", "port": 50001},
          dst_endpoint={"ip": "10.20.0.11", "port": 22},
          connection_info={"protocol_name": "tcp"}, actor={"process": {"pid": 812}}),
    # 14: Listen: skipped
    event(14, 4001, 7, src_endpoint={"ip": "0.0.0.0", "port": 22}),
    # 15-18: sshd logons on db1: accepted, failed, logoff, preauth
    event(15, 3002, 1, device=LINUX, status_id=1, is_remote=True, auth_protocol="publickey",
          auth_protocol_id=99, user={"name": "alice"},
          src_endpoint={"ip": "10.10.1.35", "port": 63240},
          dst_endpoint={"ip": "10.20.0.11", "port": 22}, service={"name": "sshd"},
          logon_process={"pid": 4242, "name": "sshd"},
          message="Accepted publickey for alice from 10.10.1.35 port 63240 ssh2"),
    event(16, 3002, 1, device=LINUX, status_id=2, logon_type_id=3, auth_protocol="password",
          user={"name": "admin"}, src_endpoint={"ip": "10.30.0.20", "port": 40000},
          logon_process={"pid": 4243, "file": {"path": "/usr/sbin/sshd-session"}}),
    event(17, 3002, 2, device=LINUX, status_id=1, is_remote=True, user={"name": "alice"},
          src_endpoint={"ip": "10.10.1.35", "port": 63240}, logon_process={"pid": 4242,
                                                                           "name": "sshd"}),
    event(18, 3002, 6, device=LINUX, status_id=2, is_remote=True,
          src_endpoint={"ip": "10.30.0.20", "port": 40001}, service={"name": "ssh"},
          actor={"process": {"pid": 4244, "name": "sshd-auth"}}),
    # 19-20: local logons on the Mac: interactive, unlock
    event(19, 3002, 1, status_id=1, is_remote=False, logon_type_id=2,
          user={"uid": "501", "name": "alice"}, logon_process={"pid": 100}),
    event(20, 3002, 1, status_id=1, logon_type_id=7, user={"uid": "501", "name": "alice"}),
    # 21: a Kerberos ticket request: skipped; 22: a Detection Finding; 23: another class
    event(21, 3002, 4, device=LINUX, is_remote=True),
    event(22, 2004, 1, finding_info={"uid": "abc"}),
    event(23, 6003, 1),
    # 24: time only as time_dt (datetime profile)
    {**{k: v for k, v in event(0, 1007, 2, process={"pid": 13}).items() if k != "time"},
     "time_dt": "2026-03-02T09:00:24.250Z"},
]


def dump(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def read_text(path: Path, text: str, **kw: Any) -> ReadResult:
    path.write_text(text, encoding="utf-8")
    ctx = ReadContext(path=path, rel=path.name, con=duckdb.connect(), tmpdir=path.parent, **kw)
    result = ocsf_input.read(ctx)
    assert result.account.balanced(), result.account.to_dict()
    assert result.account.format == "ocsf"
    return result


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> ReadResult:
    """The constructed events above, one per line."""
    path = tmp_path_factory.mktemp("ocsf") / "hand.jsonl"
    return read_text(path, "".join(dump(e) + "\n" for e in LINES))


def rows(result: ReadResult, table: str) -> dict[int, dict[str, Any]]:
    return {r["src_line"]: r for r in result.tables[table].to_pylist()}


def test_hand_accounting(hand: ReadResult) -> None:
    a = hand.account
    assert (a.read, a.normalised, a.meta, a.malformed, a.unread) == (24, 17, 0, 0, 0)
    assert a.skipped_by_type == {"1007/3": 1, "1001/14": 1, "1001/4": 1, "4001/7": 1,
                                 "3002/4": 1, "2004": 1, "6003": 1}
    assert a.issues == []
    assert a.unknown_keys == {}
    assert {t: hand.tables[t].num_rows for t in hand.tables} == {
        "process": 5, "flow": 3, "socket": 2, "login": 4, "session": 2, "source_span": 3,
        "asset": 2}


SOURCE = {"src_file": "hand.jsonl", "src_format": "ocsf", "host_inferred": False}

PROCESS: dict[int, dict[str, Any]] = {
    1: {"host": "mac-shared", "platform": "macos", "action": "exec", "t_us": us(1),
        "src_seq": 41, "pid": 7365, "pidversion": key("p7365-2"), "prev_pidversion": None,
        "ppid": 7358, "parent_pidversion": key("p7358-1"), "ruid": 0, "euid": 0, "auid": 502,
        "auid_set": True, "asid": None, "exe": "/usr/bin/ssh", "signing_id": None,
        "team_id": None, "platform_binary": True, "code_signature": "platform",
        "args": ["ssh", "-o", "IdentityAgent ~/.ssh/agent/s.a.agent.b", "-p", "2222",
                 "alice@db1"],
        "argc": 6, "cwd": "/Users/bob",
        "auth_sock": "/private/tmp/com.apple.launchd.Q/Listeners",
        "auth_sock_raw": "/tmp/com.apple.launchd.Q/Listeners", "env_user": "root",
        "sudo_uid": 502, "env_home": None, "ssh_dest_host": "db1", "ssh_dest_user": "alice",
        "ssh_dest_port": 2222, "exe_class": "ssh_family",
        "exe_location": "system", "start_t_us": us(0.9), "exit_status": None},
    2: {"action": "exit", "pid": 7365, "pidversion": key("p7365-2"), "exit_status": 255,
        "args": None, "argc": None, "auid": 502, "t_us": us(2)},
    3: {"host": "db1", "platform": "linux", "action": "exec", "pid": 500, "ppid": 499,
        "parent_pidversion": key("l499"), "auid": None, "auid_set": False, "ruid": 1000,
        "euid": 1000, "args": ["curl"], "argc": 4, "cwd": None, "auth_sock": None,
        "team_id": "T3AM", "code_signature": "team", "exe_location": "system"},
    4: {"action": "exec", "pid": 11, "pidversion": None, "args": ["ls"], "argc": 2,
        "code_signature": "unknown", "platform_binary": None},
}


@pytest.mark.parametrize("line", sorted(PROCESS))
def test_process_rows(hand: ReadResult, line: int) -> None:
    row = rows(hand, "process")[line]
    assert {k: row[k] for k in PROCESS[line]} == PROCESS[line]
    assert {k: row[k] for k in SOURCE} == SOURCE


def test_ssh_identity_agent_from_the_command_line(hand: ReadResult) -> None:
    """The IdentityAgent spelling with a space inside quotes reaches the argv parser whole; with
    no HOME in the kept environment, ``~`` stays as written (the parser's rule)."""
    row = rows(hand, "process")[1]
    assert (row["identity_agent"], row["identity_agent_inferred"]) == (
        "~/.ssh/agent/s.a.agent.b", False)


SOCKET = {
    6: {"action": "connect", "host": "mac-shared", "pid": 7365, "pidversion": key("p7365-2"),
        "euid": 0, "ruid": 0, "auid": 502, "exe": "/usr/bin/ssh-add",
        "socket_path": "/private/tmp/com.apple.launchd.Q/Listeners",
        "socket_path_raw": "/tmp/com.apple.launchd.Q/Listeners", "st_uid": 501,
        "platform": "macos", "exe_class": "ssh_family", "socket_kind": None, "t_us": us(6)},
    7: {"action": "bind", "host": "db1", "pid": 600, "exe": "/usr/bin/ssh-agent",
        "socket_path": "/tmp/ssh-XYZ/agent.9", "socket_path_raw": "/tmp//ssh-XYZ/agent.9",
        "st_uid": None, "platform": "linux", "ruid": 1000, "auid": None, "auid_set": None},
}


@pytest.mark.parametrize("line", sorted(SOCKET))
def test_socket_rows(hand: ReadResult, line: int) -> None:
    row = rows(hand, "socket")[line]
    assert {k: row[k] for k in SOCKET[line]} == SOCKET[line]
    assert {k: row[k] for k in SOURCE} == SOURCE


FLOW: dict[int, dict[str, Any]] = {
    10: {"start_us": us(10), "end_us": us(70), "src_ip": "10.10.1.35", "src_port": 63240,
         "dst_ip": "10.20.0.11", "dst_port": 22, "proto": "tcp", "saw_syn": True,
         "bytes_out": 11738, "bytes_in": 98319, "pkts_out": 40, "pkts_in": 60,
         "sensor": "mac-shared", "src_host": "mac-shared", "dst_host": None, "pid": 7365},
    12: {"start_us": us(11), "end_us": us(12), "proto": "tcp", "saw_syn": None,
         "sensor": "zeek1", "src_host": None, "dst_host": None, "pid": None, "bytes_in": 2},
    13: {"start_us": us(13), "src_ip": "10.10.1.21", "sensor": "db1", "src_host": None,
         "dst_host": "db1", "pid": 812},
}


@pytest.mark.parametrize("line", sorted(FLOW))
def test_flow_rows(hand: ReadResult, line: int) -> None:
    row = rows(hand, "flow")[line]
    assert {k: row[k] for k in FLOW[line]} == FLOW[line]
    assert (row["src_file"], row["src_format"]) == ("hand.jsonl", "ocsf")


def test_login_rows(hand: ReadResult) -> None:
    cols = ("host", "t_us", "user", "src_ip", "src_port", "server_ip", "server_port", "program",
            "method", "result", "pid", "source")
    got = {ln: tuple(r[c] for c in cols) for ln, r in rows(hand, "login").items()}
    assert got == {
        15: ("db1", us(15), "alice", "10.10.1.35", 63240, "10.20.0.11", 22, "sshd", "publickey",
             "accepted", 4242, "ocsf"),
        16: ("db1", us(16), "admin", "10.30.0.20", 40000, None, None, "sshd-session",
             "password", "failed", 4243, "ocsf"),
        17: ("db1", us(17), "alice", "10.10.1.35", 63240, None, None, "sshd", None,
             "disconnected", 4242, "ocsf"),
        18: ("db1", us(18), None, "10.30.0.20", 40001, None, None, "sshd-auth", None,
             "preauth", 4244, "ocsf"),
    }
    assert rows(hand, "login")[15]["message"].startswith("Accepted publickey for alice")


def test_session_rows(hand: ReadResult) -> None:
    cols = ("host", "kind", "action", "uid", "user", "success", "source_ip", "pid")
    got = {ln: tuple(r[c] for c in cols) for ln, r in rows(hand, "session").items()}
    assert got == {
        19: ("mac-shared", "login", "login", 501, "alice", True, None, 100),
        20: ("mac-shared", "screen_lock", "login", 501, "alice", True, None, None),
    }


def test_source_span(hand: ReadResult) -> None:
    assert hand.tables["source_span"].to_pylist() == [
        {"host": "db1", "source": "ocsf", "format": "ocsf", "program": "sshd",
         "first_t_us": us(15), "last_t_us": us(17), "records": 2, "sshd_records": 2},
        {"host": "db1", "source": "ocsf", "format": "ocsf", "program": "sshd-auth",
         "first_t_us": us(18), "last_t_us": us(18), "records": 1, "sshd_records": 1},
        {"host": "db1", "source": "ocsf", "format": "ocsf", "program": "sshd-session",
         "first_t_us": us(16), "last_t_us": us(16), "records": 1, "sshd_records": 1},
    ]


def test_assets_from_device_ip(hand: ReadResult) -> None:
    got = [(r["host"], r["ip"], r["valid_from_us"], r["origin"])
           for r in hand.tables["asset"].to_pylist()]
    assert got == [("db1", "10.20.0.11", us(3), "ocsf"), ("mac-shared", "10.10.1.35", us(1),
                                                          "ocsf")]


def test_time_dt_stands_in_for_time(hand: ReadResult) -> None:
    assert rows(hand, "process")[24]["t_us"] == us(24.25)


def test_no_secret_reaches_any_column(hand: ReadResult) -> None:
    for name, table in hand.tables.items():
        text = json.dumps(table.to_pylist(), default=str)
        for secret in SECRETS:
            assert secret not in text, (name, secret)


def test_environment_never_leaves_duckdb(tmp_path: Path) -> None:
    path = tmp_path / "env.jsonl"
    path.write_text(dump(LINES[0]) + "\n" + dump(LINES[2]) + "\n")
    ctx = ReadContext(path=path, rel=path.name, con=duckdb.connect())
    table = read_ndjson(ctx, q.COLUMNS, FileAccount(path.name), select=q.select_list(None),
                        prepare=q.PREPARE)
    text = json.dumps(table.to_pylist(), default=str)
    for secret in SECRETS:
        assert secret not in text
    assert "cmd_line" not in text and "https://x.example" not in text


def test_malformed_lines(tmp_path: Path) -> None:
    """Constructed: no class_uid, a handled class without a time, a bad time_dt, a non-object,
    broken JSON, a blank line; a skipped class needs no time."""
    no_time = {k: v for k, v in LINES[1].items() if k != "time"}
    text = "\n".join([
        dump(LINES[0]),  # 1
        dump({k: v for k, v in LINES[0].items() if k != "class_uid"}),  # 2
        dump(no_time),  # 3
        dump({**no_time, "time_dt": "soon"}),  # 4
        "",  # 5
        '"just a string"',  # 6
        '{"class_uid": 1007, "time": ',  # 7
        dump({k: v for k, v in LINES[21].items() if k != "time"}),  # 8: 2004 without time
    ]) + "\n"
    result = read_text(tmp_path / "bad.jsonl", text)
    a = result.account
    assert (a.read, a.normalised, a.meta, a.malformed) == (8, 1, 1, 5)
    assert a.skipped_by_type == {"2004": 1}
    issues = {i.line: i.message for i in a.issues}
    assert sorted(issues) == [2, 3, 4, 6, 7]
    assert "class_uid" in issues[2]
    assert "without `time`" in issues[3]
    assert "'soon'" in issues[4]
    assert "not an object" in issues[6]
    assert all(i.location() == f"bad.jsonl:{i.line}" for i in a.issues)


def test_json_array_file(tmp_path: Path) -> None:
    """Constructed: a pretty-printed array; each element is a record at the line it starts."""
    elements = [LINES[0], LINES[21], LINES[14]]
    text = "[\n" + ",\n".join(json.dumps(e, indent=2) for e in elements) + "\n]\n"
    starts = [1 + 1 + sum(json.dumps(e, indent=2).count("\n") + 1 for e in elements[:i])
              for i in range(len(elements))]
    result = read_text(tmp_path / "events.json", text)
    a = result.account
    assert (a.read, a.normalised, a.malformed, a.meta) == (3, 2, 0, 0)
    assert a.skipped_by_type == {"2004": 1}
    assert a.details["json_array"] is True
    assert [r["src_line"] for r in result.tables["process"].to_pylist()] == [starts[0]]
    assert [r["src_line"] for r in result.tables["login"].to_pylist()] == [starts[2]]
    assert result.tables["process"].to_pylist()[0]["args"][0] == "ssh"


def test_json_array_damage(tmp_path: Path) -> None:
    text = ('[{"class_uid":2004,"time":1,"metadata":{}},\n 42,\n'
            ' {"class_uid":1007,"activity_id":1,"time":1,\n "process":{"pid":1}},\n'
            ' {"class_uid":4001, "time": }\n, {"class_uid":2004}]')
    result = read_text(tmp_path / "damaged.json", text)
    a = result.account
    assert (a.read, a.normalised, a.malformed) == (4, 1, 2)
    assert a.skipped_by_type == {"2004": 1}
    issues = {i.line: i.message for i in a.issues if i.kind == "malformed"}
    assert sorted(issues) == [2, 5]
    assert [i.kind for i in a.issues if i.line is None] == ["warning"]  # no host named
    assert "not a JSON object" in issues[2]
    assert "rest of the file was not read" in issues[5]
    assert rows(result, "process")[3]["pid"] == 1


@pytest.mark.parametrize(("text", "read"), [("[]", 0), ("[\n]\n", 0), ("", 0)])
def test_empty(tmp_path: Path, text: str, read: int) -> None:
    result = read_text(tmp_path / "e.json", text)
    assert (result.account.read, result.account.normalised) == (read, 0)
    assert result.tables == {}


def test_array_too_large_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocsf_input, "ARRAY_MAX_BYTES", 10)
    result = read_text(tmp_path / "big.json", "[" + dump(LINES[0]) + "]")
    assert result.account.read == 0
    assert [i.kind for i in result.account.issues] == ["file"]
    assert "jq -c" in result.account.issues[0].hint


def test_unknown_keys(tmp_path: Path) -> None:
    e = json.loads(dump(LINES[0]))
    e["vendor_thing"] = 1
    e["process"]["new_attr"] = True
    e["device"]["os"]["whatever"] = 1  # device.os is documented whole
    f = json.loads(dump(LINES[14]))
    f["src_endpoint"]["svc"] = "x"
    text = "".join(dump(x) + "\n" for x in (e, f, LINES[21]))
    a = read_text(tmp_path / "k.jsonl", text).account
    assert a.unknown_keys == {"1007": {"vendor_thing": 1, "process.new_attr": 1},
                              "3002": {"src_endpoint.svc": 1}}
    assert a.details["unknown_keys_records"] == 2


def test_host_from_context(tmp_path: Path) -> None:
    e = {k: v for k, v in LINES[3].items() if k != "device"}
    e["device"] = {"hostname": "LOCALHOST"}
    result = read_text(tmp_path / "h.jsonl", dump(e) + "\n", host="mac7", host_origin="path")
    row = result.tables["process"].to_pylist()[0]
    assert (row["host"], row["host_inferred"], row["platform"]) == ("mac7", False, None)


def test_agenttrail_findings_are_skipped(tmp_path: Path) -> None:
    """agenttrail's own findings.json (an array of class 2004 objects) reads as skipped."""
    findings = [{"class_uid": 2004, "category_uid": 2, "activity_id": 1, "type_uid": 200401,
                 "time": ms(1), "severity_id": 5, "metadata": {"version": "1.5.0"},
                 "finding_info": {"uid": "u1", "title": "t"}}] * 2
    result = read_text(tmp_path / "findings.json", json.dumps(findings, indent=2) + "\n")
    a = result.account
    assert (a.read, a.normalised, a.malformed, a.skipped_by_type) == (2, 0, 0, {"2004": 2})


# --------------------------------------------------------------------------- sniffing
@pytest.mark.parametrize(("head", "expected"), [
    pytest.param(dump(LINES[0]).encode() + b"\n", True, id="event"),
    pytest.param(b'[\n  {\n    "class_uid": 2004,\n    "activity_id": 1', True, id="array"),
    pytest.param(b'[{"class_uid":1007,"metadata":{}}]', True, id="array-one-line"),
    pytest.param(b'{"class_uid":"1007","metadata":{}}\n', False, id="class-uid-string"),
    pytest.param(b'{"class_uid":1007}\n', False, id="class-uid-only"),
    pytest.param(b'[1, 2, 3]\n', False, id="other-array"),
    pytest.param(b'{"schema_version":1,"event_type":9,"time":"2026-01-05T10:00:00Z",'
                 b'"event":{"exec":{}}}\n', False, id="eslogger"),
    pytest.param(b'{"@timestamp":"2026-03-02T09:00:00Z","event":{"module":"endpoint"}}\n',
                 False, id="ecs"),
    pytest.param(b'{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1"}\n', False, id="zeek-json"),
    pytest.param(b'{"timestamp":"2024-01-01T00:00:00+0000","event_type":"flow","src_ip":"a",'
                 b'"flow_id":1}\n', False, id="suricata"),
    pytest.param(b'{"__REALTIME_TIMESTAMP":"1","MESSAGE":"x"}\n', False, id="journald"),
    pytest.param(b'{"name":"p","hostIdentifier":"h","unixTime":1,"columns":{}}\n', False,
                 id="osquery"),
    pytest.param(b"", False, id="empty"),
])
def test_sniff(head: bytes, expected: bool) -> None:
    assert ocsf_input.sniff(head) is expected


def test_sniff_first_line_longer_than_head() -> None:
    e = event(1, 1007, 1, process={"pid": 1, "cmd_line": "x" * 70000})
    assert ocsf_input.sniff(dump(e).encode()[: 64 * 1024])


def test_other_readers_do_not_claim_ocsf() -> None:
    for e in (LINES[0], LINES[14], LINES[21]):
        head = dump(e).encode() + b"\n"
        assert not any(r.sniff(head) for r in (eslogger, zeek, elastic, sshd_syslog))


def test_no_corpus_file_is_claimed(corpus: Path) -> None:
    """OCSF input is not in the corpus (FORMATS §7): the reader claims none of it."""
    files = [p for p in sorted(corpus.rglob("*")) if p.is_file()]
    claimed = [p.relative_to(corpus).as_posix() for p in files
               if ocsf_input.sniff(read_head(p))]
    assert claimed == []


def test_hunt_accounts_every_line(tmp_path: Path) -> None:
    """End to end: ``agenttrail hunt`` over the constructed lines, an array file and a damaged
    file does not crash and accounts for every record as the reader does."""
    from typer.testing import CliRunner

    from agenttrail.cli import app

    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "hand.jsonl").write_text("".join(dump(e) + "\n" for e in LINES))
    (inputs / "array.json").write_text(json.dumps(LINES[:3], indent=2) + "\n")
    (inputs / "damaged.jsonl").write_text(dump(LINES[0]) + '\n{"class_uid": 1007\n')
    result = CliRunner().invoke(app, ["hunt", str(inputs), "-o", str(tmp_path / "out"),
                                      "--fail-on", "none"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    got = {f["path"]: (f["format"], f["read"], f["normalised"],
                       sum(f["skipped_by_type"].values()), f["meta"], f["malformed"])
           for f in report["inputs"]["files"]}
    assert got == {"hand.jsonl": ("ocsf", 24, 17, 7, 0, 0),
                   "array.json": ("ocsf", 3, 3, 0, 0, 0),
                   "damaged.jsonl": ("ocsf", 2, 1, 0, 0, 1)}
