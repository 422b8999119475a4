"""Tests for the Elastic Defend (ECS NDJSON) reader (FORMATS §2.3; DESIGN §3).

There is no Elastic Defend capture in the shared corpus (FORMATS §7): every input here is
constructed by the test itself from the documented fields, and labelled constructed. The
documents follow the endpoint package's macOS and Linux field lists and the shapes of the
Endpoint 7.10 samples FORMATS cites (Elasticsearch hits, ``user.id`` as a number, no
``host.os.type``). Expected values were written by hand from each document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail.model import FileAccount, ReadResult
from agenttrail.readers import _elastic_sql as q
from agenttrail.readers import elastic, eslogger, ocsf_input, sshd_syslog, zeek
from agenttrail.readers._endpoint import entity_key
from agenttrail.readers._io import ReadContext, read_head, read_ndjson

T0 = 1_772_442_000_000_000  # 2026-03-02T09:00:00Z in epoch µs
SECRETS = ("hunter2", "AWS_SECRET", "wJalrXUtnFEMIK7MDENG", "s3cr3t", ":pw@", "tok3n",
           "GITHUB_TOKEN", "ghp_")
SOCK = "/tmp/com.apple.launchd.AbCd1234/Listeners"


def ts(second: float) -> str:
    """``2026-03-02T09:00:SS.ffffffZ``."""
    whole = int(second)
    return f"2026-03-02T09:{whole // 60:02d}:{whole % 60:02d}.{round((second - whole) * 1e6):06d}Z"


def us(second: float) -> int:
    return T0 + round(second * 1_000_000)


def key(entity: str) -> int:
    """The reader's pidversion stand-in, computed here in Python: the first 60 bits of MD5."""
    import hashlib

    return int(hashlib.md5(entity.encode()).hexdigest()[:15], 16)


MAC_HOST = {"name": "Mac-Shared.local", "hostname": "mac-shared",
            "ip": ["10.10.1.35", "127.0.0.1", "::1", "fe80::1c2b:3d4e:5f60:7182",
                   "2001:DB8::35"],
            "os": {"type": "macos", "platform": "macos", "family": "macos", "name": "macOS"}}
LINUX_HOST = {"name": "build1", "ip": "10.20.0.50",
              "os": {"type": "linux", "platform": "ubuntu", "family": "debian"}}


def doc(second: float, category: str | list[str], action: str | None, *,
        host: dict[str, Any] | None = None, module: str | None = "endpoint",
        **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"category": category, "kind": "event", "sequence": int(second)}
    if action is not None:
        event["action"] = action
    if module is not None:
        event["module"] = module
    out: dict[str, Any] = {"@timestamp": ts(second), "agent": {"type": "endpoint"},
                           "ecs": {"version": "8.11.0"}, "event": event,
                           "host": MAC_HOST if host is None else host}
    for name, value in fields.items():
        if name == "event":
            event.update(value)
        else:
            out[name] = value
    return out


APPLE = {"exists": True, "signing_id": "com.apple.openssh", "subject_name": "Software Signing",
         "trusted": True, "status": "trusted"}
ENV = [f"SSH_AUTH_SOCK={SOCK}", "USER=root", "HOME=/var/root", "SUDO_USER=bob", "SUDO_UID=502",
       "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENG", "GITHUB_TOKEN=ghp_abc"]

LINES: list[Any] = [
    # 1: macOS exec of ssh by root (ECS 8: arrays, user.id string), env captured
    doc(1, ["process"], "exec", event={"type": ["start"]},
        process={"pid": 7365, "entity_id": "E-7365-b", "executable": "/usr/bin/ssh",
                 "name": "ssh", "args": ["ssh", "-p", "2222", "alice@db1"], "args_count": 4,
                 "command_line": "ssh -p 2222 alice@db1", "working_directory": "/Users/bob",
                 "env_vars": ENV, "parent": {"pid": 7358, "entity_id": "E-7358"},
                 "code_signature": APPLE},
        user={"id": "0", "name": "root", "Ext": {"real": {"id": "502", "name": "bob"}}}),
    # 2: exec of curl: argv[0] only, whatever the rest holds
    doc(2, ["process"], "exec", event={"type": ["start"]},
        process={"pid": 7366, "entity_id": "E-7366", "executable": "/usr/bin/curl",
                 "args": ["curl", "-u", "user:s3cr3t", "https://u:pw@x.example/", "-H",
                          "Authorization: Bearer tok3n"],
                 "parent": {"pid": 7365, "entity_id": "E-7365-b"},
                 "code_signature": {"exists": True, "subject_name": "Software Signing",
                                    "trusted": True}},
        user={"id": "501"}),
    # 3: an interpreter whose argv names the agent socket: kept, secrets redacted; ad hoc signed
    doc(3, ["process"], "exec", event={"type": ["start"]},
        process={"pid": 7367, "entity_id": "E-7367", "executable": "/Users/bob/Downloads/python3",
                 "args": ["python3", "steal.py", SOCK, "--password=hunter2"],
                 "code_signature": {"exists": True, "signing_id": "py3-0123456789abcdef",
                                    "trusted": False}},
        user={"id": "502"}),
    # 4: fork; 5: end with an exit code; 6: a team-signed exec
    doc(4, ["process"], "fork", event={"type": ["start"]},
        process={"pid": 7368, "entity_id": "E-7368", "executable": "/bin/zsh",
                 "parent": {"pid": 7358, "entity_id": "E-7358"}},
        user={"id": "502"}),
    doc(5, ["process"], "end", event={"type": ["end"]},
        process={"pid": 7365, "entity_id": "E-7365-b", "executable": "/usr/bin/ssh",
                 "exit_code": 255},
        user={"id": "0"}),
    doc(6, ["process"], "exec", event={"type": ["start"]},
        process={"pid": 7369, "entity_id": "E-7369",
                 "executable": "/Applications/Slack.app/Contents/MacOS/Slack", "args": ["Slack"],
                 "code_signature": {"exists": False}},
        user={"id": "501"}),
    # 7: Endpoint 7.10 Elasticsearch hit: user.id a number, no host.os.type, ECS 1.5
    {"_index": ".ds-logs-endpoint.events.process-default-000003", "_id": "G2oo",
     "_source": {"@timestamp": ts(7), "ecs": {"version": "1.5.0"},
                 "event": {"module": "endpoint", "action": "exec", "category": ["process"],
                           "type": ["start"], "sequence": 197510,
                           "dataset": "endpoint.events.process"},
                 "host": {"hostname": "Sisis-MacBook-Pro.local",
                          "name": "Sisis-MacBook-Pro.local",
                          "os": {"platform": "macos", "family": "macos"},
                          "ip": ["127.0.0.1", "192.168.178.59"]},
                 "process": {"pid": 24674, "entity_id": "YzJk", "executable": "/usr/bin/ssh",
                             "args": ["ssh", "-o StrictHostKeyChecking=no", "10.0.2.15"],
                             "args_count": 3, "parent": {"pid": 24673, "entity_id": "YzJj"}},
                 "user": {"id": 501, "name": "sisi", "Ext": {"real": {"id": 501}}}}},
    # 8: event.category and event.type as strings, action missing: type start -> exec
    doc(8, "process", None, event={"type": "start", "dataset": "endpoint.events.process"},
        process={"pid": 10, "entity_id": "E-10", "executable": "/bin/ls", "args": ["ls", "-l"]},
        user={"id": "501"}),
    # 9: Linux exec (ECS 8 process.user/real_user, session leader, start) of ssh with a Linux
    #    IdentityAgent path (not rewritten under /private), run from /tmp
    doc(9, ["process"], "exec", host=LINUX_HOST, event={"type": ["start"]},
        process={"pid": 4000, "entity_id": "L-4000", "executable": "/tmp/tools/ssh",
                 "args": ["ssh", "-o", "IdentityAgent=/tmp/ssh-XYZ/agent.9", "deploy@10.20.0.11"],
                 "user": {"id": "1000", "name": "deploy"},
                 "real_user": {"id": "1001", "name": "ops"}, "session_leader": {"pid": 3990},
                 "start": "2026-03-02T09:00:08.5Z", "env_vars": ["SSH_AUTH_SOCK=//tmp//x"],
                 "parent": {"pid": 3999, "entity_id": "L-3999"}},
        user={"id": "1000"}),
    # 10-11: the Mac's ssh connection and its disconnect (merged into one flow)
    doc(10, ["network"], "connection_attempted", event={"type": ["start", "connection"]},
        process={"pid": 7365, "entity_id": "E-7365-b", "executable": "/usr/bin/ssh"},
        source={"ip": "10.10.1.35", "port": 63240}, destination={"ip": "10.20.0.11", "port": 22},
        network={"direction": "egress", "transport": "tcp"}),
    doc(70, ["network"], "disconnect_received", event={"type": ["end", "connection"]},
        process={"pid": 7365, "entity_id": "E-7365-b", "executable": "/usr/bin/ssh"},
        source={"ip": "10.10.1.35", "port": 63240, "bytes": 11738, "packets": 40},
        destination={"ip": "10.20.0.11", "port": 22, "bytes": 98319, "packets": 60},
        network={"direction": "egress", "transport": "tcp"}),
    # 12: an accepted (ingress) IPv6 connection on the Linux host: the host is the destination
    doc(12, ["network"], "connection_accepted", host=LINUX_HOST,
        process={"pid": 812, "entity_id": "L-812", "executable": "/usr/sbin/sshd"},
        source={"ip": "::FFFF:10.10.1.21", "port": 50500},
        destination={"ip": "10.20.0.50", "port": 22},
        network={"direction": "ingress", "transport": "TCP"}),
    # 13: a disconnect whose attempt is not in the file: a flow of its own, start unknown
    doc(13, ["network"], "disconnect_received",
        process={"pid": 99, "entity_id": "E-99", "executable": "/usr/bin/ssh"},
        source={"ip": "2001:DB8::35", "port": 40000, "bytes": 5},
        destination={"ip": "2001:db8::11", "port": 22, "bytes": 6},
        network={"direction": "egress", "transport": "tcp"}),
    # 14-16: logons on the Mac (an SSH destination here)
    doc(14, ["authentication", "session"], "ssh_log_on", event={"outcome": "success"},
        process={"pid": 900, "entity_id": "E-900", "executable": "/usr/sbin/sshd",
                 "name": "sshd"},
        user={"id": "501", "name": "alice"}),
    doc(15, ["authentication", "session"], "ssh_log_on", event={"outcome": "failure"},
        process={"pid": 901, "entity_id": "E-901", "executable": "/usr/libexec/sshd-session"},
        user={"name": "admin"}),
    doc(16, ["authentication"], "log_on", event={"outcome": "success"},
        process={"pid": 100, "entity_id": "E-100", "name": "loginwindow"},
        user={"id": "502", "name": "bob"}),
    # 17-20: event types the reader does not use
    doc(17, ["network"], "lookup_result"),
    doc(18, ["file"], "open", file={"path": "/etc/hosts"}),
    doc(19, ["authentication"], None, module="system", event={"dataset": "system.auth"}),
    doc(20, ["process"], "exec", module=None, agent={"type": "filebeat"}),  # no module known
    # 21: an Elastic Defend alert about an exec is not an exec event
    doc(21, ["process"], "exec", event={"kind": "alert", "dataset": "endpoint.alerts"},
        process={"pid": 7365, "entity_id": "E-7365-b", "executable": "/usr/bin/ssh"}),
]


def dump(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def read_text(path: Path, text: str, **kw: Any) -> ReadResult:
    path.write_text(text, encoding="utf-8")
    ctx = ReadContext(path=path, rel=path.name, con=duckdb.connect(), tmpdir=path.parent, **kw)
    result = elastic.read(ctx)
    assert result.account.balanced(), result.account.to_dict()
    assert result.account.format == "elastic"
    return result


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> ReadResult:
    """The constructed documents above, one per line."""
    path = tmp_path_factory.mktemp("ecs") / "hand.ndjson"
    return read_text(path, "".join(dump(d) + "\n" for d in LINES))


def rows(result: ReadResult, table: str) -> dict[int, dict[str, Any]]:
    return {r["src_line"]: r for r in result.tables[table].to_pylist()}


def test_hand_accounting(hand: ReadResult) -> None:
    a = hand.account
    assert (a.read, a.normalised, a.meta, a.malformed, a.unread) == (21, 16, 0, 0, 0)
    assert a.skipped_by_type == {"network/lookup_result": 1, "file/open": 1,
                                 "module:system": 1, "no_module": 1, "kind:alert": 1}
    assert a.issues == []
    assert a.host is None  # several hosts
    assert {t: hand.tables[t].num_rows for t in hand.tables} == {
        "process": 9, "flow": 3, "session": 3, "login": 2, "source_span": 2, "asset": 4}
    assert "socket" not in hand.tables  # Elastic reports no UNIX-socket connects


SOURCE = {"src_file": "hand.ndjson", "src_format": "elastic", "host_inferred": False}
MAC = {"host": "mac-shared.local", "platform": "macos"}

PROCESS: dict[int, dict[str, Any]] = {
    1: {**MAC, "action": "exec", "t_us": us(1), "src_seq": 1, "pid": 7365,
        "pidversion": key("E-7365-b"), "prev_pidversion": None, "ppid": 7358,
        "parent_pidversion": key("E-7358"), "ruid": 502, "euid": 0, "auid": None,
        "auid_set": None, "asid": None, "session_id": None, "exe": "/usr/bin/ssh",
        "signing_id": "com.apple.openssh", "team_id": None, "platform_binary": True,
        "args": ["ssh", "-p", "2222", "alice@db1"], "argc": 4, "cwd": "/Users/bob",
        "auth_sock": "/private" + SOCK, "auth_sock_raw": SOCK, "sudo_uid": 502,
        "sudo_user": "bob", "env_user": "root", "env_logname": None, "env_home": "/var/root",
        "env_tmpdir": None, "ssh_connection": None, "ssh_client": None,
        "ssh_dest_host": "db1", "ssh_dest_user": "alice", "ssh_dest_port": 2222,
        "identity_agent": None, "exe_class": "ssh_family", "exe_location": "system",
        "code_signature": "platform", "start_t_us": None, "exit_status": None},
    2: {**MAC, "action": "exec", "pid": 7366, "args": ["curl"], "argc": 6, "euid": 501,
        "ruid": None, "ppid": 7365, "parent_pidversion": key("E-7365-b"), "auth_sock": None,
        "exe_class": "other", "code_signature": "platform", "ssh_dest_host": None},
    3: {**MAC, "pid": 7367, "exe_class": "interpreter", "exe_location": "download",
        "code_signature": "adhoc", "platform_binary": False, "argc": 4,
        "args": ["python3", "steal.py", SOCK, "--password=<redacted>"]},
    4: {**MAC, "action": "fork", "pid": 7368, "pidversion": key("E-7368"), "ppid": 7358,
        "parent_pidversion": key("E-7358"), "args": None, "argc": None, "exe": "/bin/zsh",
        "code_signature": "unknown", "platform_binary": None},
    5: {**MAC, "action": "exit", "pid": 7365, "pidversion": key("E-7365-b"),
        "exit_status": 255, "args": None, "ppid": None},
    6: {**MAC, "pid": 7369, "exe_location": "app", "code_signature": "unsigned",
        "platform_binary": False, "args": ["Slack"], "argc": 1},
    7: {"host": "sisis-macbook-pro.local", "platform": "macos", "action": "exec",
        "t_us": us(7), "src_seq": 197510, "pid": 24674, "pidversion": key("YzJk"),
        "ppid": 24673, "euid": 501, "ruid": 501, "exe": "/usr/bin/ssh",
        "args": ["ssh", "-o StrictHostKeyChecking=no", "10.0.2.15"], "argc": 3,
        "ssh_dest_host": "10.0.2.15", "code_signature": "unknown"},
    8: {**MAC, "action": "exec", "pid": 10, "args": ["ls"], "argc": 2, "exe_class": "other"},
    9: {"host": "build1", "platform": "linux", "action": "exec", "pid": 4000,
        "pidversion": key("L-4000"), "ppid": 3999, "euid": 1000, "ruid": 1001,
        "session_id": 3990, "start_t_us": us(8.5), "exe_location": "temp",
        "exe_class": "ssh_family", "code_signature": "unknown",
        "args": ["ssh", "-o", "IdentityAgent=/tmp/ssh-XYZ/agent.9", "deploy@10.20.0.11"],
        "identity_agent": "/tmp/ssh-XYZ/agent.9", "identity_agent_inferred": False,
        "ssh_dest_host": "10.20.0.11", "ssh_dest_user": "deploy", "auth_sock": "/tmp/x",
        "auth_sock_raw": "//tmp//x"},
}


@pytest.mark.parametrize("line", sorted(PROCESS))
def test_process_rows(hand: ReadResult, line: int) -> None:
    row = rows(hand, "process")[line]
    assert {k: row[k] for k in PROCESS[line]} == PROCESS[line]
    assert {k: row[k] for k in SOURCE} == SOURCE


FLOW: dict[int, dict[str, Any]] = {
    10: {"start_us": us(10), "end_us": us(70), "src_ip": "10.10.1.35", "src_port": 63240,
         "dst_ip": "10.20.0.11", "dst_port": 22, "proto": "tcp", "saw_syn": True,
         "bytes_out": 11738, "bytes_in": 98319, "pkts_out": 40, "pkts_in": 60,
         "sensor": "mac-shared.local", "src_host": "mac-shared.local", "dst_host": None,
         "pid": 7365, "flow_uid": None, "flow_part": None, "is_ssh": None, "src_seq": 10},
    12: {"start_us": us(12), "end_us": None, "src_ip": "10.10.1.21", "src_port": 50500,
         "dst_ip": "10.20.0.50", "proto": "tcp", "sensor": "build1", "src_host": None,
         "dst_host": "build1", "pid": 812, "bytes_out": None},
    13: {"start_us": None, "end_us": us(13), "src_ip": "2001:db8::35", "dst_ip": "2001:db8::11",
         "saw_syn": None, "bytes_out": 5, "bytes_in": 6, "src_host": "mac-shared.local",
         "pid": 99},
}


@pytest.mark.parametrize("line", sorted(FLOW))
def test_flow_rows(hand: ReadResult, line: int) -> None:
    row = rows(hand, "flow")[line]
    assert {k: row[k] for k in FLOW[line]} == FLOW[line]
    assert (row["src_file"], row["src_format"]) == ("hand.ndjson", "elastic")


def test_session_login_and_span_rows(hand: ReadResult) -> None:
    s = rows(hand, "session")
    cols = ("kind", "action", "uid", "user", "success", "source_ip", "pid", "pidversion")
    assert {ln: tuple(r[c] for c in cols) for ln, r in s.items()} == {
        14: ("ssh_inbound", "login", 501, "alice", True, None, 900, key("E-900")),
        15: ("ssh_inbound", "login", None, "admin", False, None, 901, key("E-901")),
        16: ("login", "login", 502, "bob", True, None, 100, key("E-100")),
    }
    lg = rows(hand, "login")
    cols = ("host", "user", "src_ip", "src_port", "program", "result", "source", "pid", "t_us")
    assert {ln: tuple(r[c] for c in cols) for ln, r in lg.items()} == {
        14: ("mac-shared.local", "alice", None, None, "sshd", "accepted", "elastic", 900, us(14)),
        15: ("mac-shared.local", "admin", None, None, "sshd-session", "failed", "elastic", 901,
             us(15)),
    }
    assert hand.tables["source_span"].to_pylist() == [
        {"host": "mac-shared.local", "source": "elastic", "format": "elastic", "program": "sshd",
         "first_t_us": us(14), "last_t_us": us(14), "records": 1, "sshd_records": 1},
        {"host": "mac-shared.local", "source": "elastic", "format": "elastic",
         "program": "sshd-session", "first_t_us": us(15), "last_t_us": us(15), "records": 1,
         "sshd_records": 1},
    ]


def test_assets_from_host_ip(hand: ReadResult) -> None:
    """Loopback and link-local addresses are left out; each (host, address) once, valid from
    its first report."""
    got = [(r["host"], r["ip"], r["valid_from_us"], r["valid_to_us"], r["origin"])
           for r in hand.tables["asset"].to_pylist()]
    assert got == [
        ("build1", "10.20.0.50", us(9), None, "ecs"),
        ("mac-shared.local", "10.10.1.35", us(1), None, "ecs"),
        ("mac-shared.local", "2001:db8::35", us(1), None, "ecs"),
        ("sisis-macbook-pro.local", "192.168.178.59", us(7), None, "ecs"),
    ]
    first = hand.tables["asset"].to_pylist()[1]
    assert first["start_hi"] == first["end_hi"] and first["start_lo"] == first["end_lo"]


def test_no_secret_reaches_any_column(hand: ReadResult) -> None:
    for name, table in hand.tables.items():
        text = json.dumps(table.to_pylist(), default=str)
        for secret in SECRETS:
            assert secret not in text, (name, secret)


def test_environment_never_leaves_duckdb(tmp_path: Path) -> None:
    """The Arrow table read_ndjson returns holds no full environment or argv."""
    path = tmp_path / "env.ndjson"
    path.write_text(dump(LINES[0]) + "\n" + dump(LINES[1]) + "\n")
    ctx = ReadContext(path=path, rel=path.name, con=duckdb.connect())
    table = read_ndjson(ctx, q.COLUMNS, FileAccount(path.name), select=q.select_list(None),
                        prepare=q.PREPARE)
    text = json.dumps(table.to_pylist(), default=str)
    for secret in SECRETS:
        assert secret not in text
    assert "user:" not in text and "Bearer" not in text


def test_host_from_context_and_localhost(tmp_path: Path) -> None:
    """A document without host.name/hostname, or naming ``localhost``, takes the given host."""
    bare = doc(1, ["process"], "exec", host={},
               process={"pid": 1, "executable": "/bin/ls", "args": ["ls"]})
    local = doc(2, ["process"], "exec", host={"name": "localhost", "os": {"type": "macos"}},
                process={"pid": 2, "executable": "/bin/ls", "args": ["ls"]})
    text = dump(bare) + "\n" + dump(local) + "\n"
    given = read_text(tmp_path / "a.ndjson", text, host="mac9", host_origin="option")
    hosts = [(r["host"], r["host_inferred"], r["platform"])
             for r in given.tables["process"].to_pylist()]
    assert hosts == [("mac9", True, None), ("mac9", True, "macos")]  # no host.os: unknown
    assert given.account.host == "mac9" and given.account.issues == []
    none = read_text(tmp_path / "b.ndjson", text)
    assert [r["host"] for r in none.tables["process"].to_pylist()] == [None, None]
    assert [i.kind for i in none.account.issues] == ["warning"]
    assert "no host" in none.account.issues[0].message


@pytest.mark.parametrize(("stamp", "tz", "expected"), [
    ("2026-03-02T09:00:01.5Z", None, us(1.5)),
    ("2026-03-02T10:00:01.500000+01:00", None, us(1.5)),
    ("2026-03-02T09:00:01.123456789Z", None, us(1.123456)),  # ns dropped
    ("2026-03-02T09:00:01.5", None, us(1.5)),  # no zone: UTC without --tz
    ("2026-03-02T10:00:01.5", "Europe/Berlin", us(1.5)),  # no zone: --tz
])
def test_timestamp_forms(tmp_path: Path, stamp: str, tz: str | None, expected: int) -> None:
    d = doc(0, ["process"], "exec", process={"pid": 1, "executable": "/bin/ls"})
    d["@timestamp"] = stamp
    result = read_text(tmp_path / "t.ndjson", dump(d) + "\n", tz=tz)
    assert result.tables["process"].column("t_us").to_pylist() == [expected]


def test_duplicate_keys_first_wins(tmp_path: Path) -> None:
    text = dump(LINES[4]).replace('"@timestamp":', f'"@timestamp":"{ts(9)}","@timestamp":', 1)
    result = read_text(tmp_path / "dup.ndjson", text + "\n")
    assert result.tables["process"].column("t_us").to_pylist() == [us(9)]


def test_damaged_file(tmp_path: Path) -> None:
    """Constructed: good lines around a trailing comma (as in a public 7.10 sample), a bad and a
    missing @timestamp, a blank line, a JSON array, and a truncated last line."""
    trailing = dump(LINES[6]).replace('"10.0.2.15"]', '"10.0.2.15",]')
    no_ts = dump({k: v for k, v in LINES[1].items() if k != "@timestamp"})
    bad_ts = dump({**LINES[1], "@timestamp": "yesterday"})
    text = "\n".join([
        dump(LINES[0]),  # 1
        trailing,  # 2
        "",  # 3
        bad_ts,  # 4
        no_ts,  # 5
        "[1, 2]",  # 6
        dump(LINES[1]),  # 7
        dump(LINES[2])[:200],  # 8: truncated, no newline
    ])
    result = read_text(tmp_path / "damaged.ndjson", text)
    a = result.account
    assert (a.read, a.normalised, a.meta, a.malformed, a.unread) == (8, 2, 1, 5, 0)
    issues = {i.line: i for i in a.issues}
    assert sorted(issues) == [2, 4, 5, 6, 8]
    assert all(i.kind == "malformed" and i.path == "damaged.ndjson" for i in a.issues)
    assert "not JSON" in issues[2].message
    assert "'yesterday'" in issues[4].message
    assert "no `@timestamp`" in issues[5].message
    assert "not an object" in issues[6].message
    assert "truncated" in issues[8].message
    assert issues[8].location() == "damaged.ndjson:8"
    assert sorted(rows(result, "process")) == [1, 7]


@pytest.mark.parametrize(("text", "read", "meta"), [("", 0, 0), ("\n\n", 2, 2)])
def test_empty_files(tmp_path: Path, text: str, read: int, meta: int) -> None:
    result = read_text(tmp_path / "e.ndjson", text)
    a = result.account
    assert (a.read, a.meta, a.normalised, a.malformed) == (read, meta, 0, 0)
    assert result.tables == {}


def test_unknown_keys(tmp_path: Path) -> None:
    extra = json.loads(dump(LINES[0]))
    extra["process"]["new_field"] = 1
    extra["vendor"] = {"x": 1}
    hit = json.loads(dump(LINES[6]))
    hit["_explanation"] = {}
    hit["_source"]["host"]["os"]["brand_new"] = True  # host.os is checked key by key
    hit["_source"]["process"]["Ext"] = {"ancestry": ["a"], "anything": True}  # documented whole
    text = "\n".join(dump(d) for d in (extra, hit, LINES[9], LINES[16])) + "\n"
    a = read_text(tmp_path / "k.ndjson", text).account
    assert a.unknown_keys == {
        "process/exec": {"process.new_field": 1, "vendor": 1, "_explanation": 1,
                         "host.os.brand_new": 1},
    }
    assert a.details["unknown_keys_records"] == 3  # the skipped type is not sampled
    assert read_text(tmp_path / "h.ndjson", "".join(dump(d) + "\n" for d in LINES)
                     ).account.unknown_keys == {}


# --------------------------------------------------------------------------- sniffing
@pytest.mark.parametrize(("head", "expected"), [
    pytest.param(dump(LINES[0]).encode() + b"\n", True, id="document"),
    pytest.param(dump(LINES[6]).encode() + b"\n", True, id="es-hit"),
    pytest.param(b"\n" + dump(LINES[16]).encode(), True, id="blank-first"),
    pytest.param(b'{"@timestamp":"2026-03-02T09:00:00Z","message":"x"}\n', False, id="no-event"),
    pytest.param(b'{"@timestamp":"2026-03-02T09:00:00Z","event":"x"}\n', False,
                 id="event-not-object"),
    pytest.param(b'{"schema_version":1,"event_type":9,"time":"2026-01-05T10:00:00Z",'
                 b'"event":{"exec":{}}}\n', False, id="eslogger"),
    pytest.param(b'{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1}\n', False,
                 id="zeek-json"),
    pytest.param(b'{"timestamp":"2024-01-01T00:00:00.000000+0000","flow_id":1,'
                 b'"event_type":"flow","src_ip":"10.0.0.1"}\n', False, id="suricata-eve"),
    pytest.param(b'{"__REALTIME_TIMESTAMP":"1700000000000000","MESSAGE":"x","_HOSTNAME":"h"}\n',
                 False, id="journald"),
    pytest.param(b'{"name":"pack_x","hostIdentifier":"h","unixTime":1,"action":"added",'
                 b'"columns":{}}\n', False, id="osquery"),
    pytest.param(b'{"timestamp":"2026-01-01 00:00:00.000000+0000","eventMessage":"x",'
                 b'"machTimestamp":1}\n', False, id="unified-log"),
    pytest.param(b'{"class_uid":1007,"activity_id":1,"time":1,"metadata":{}}\n', False,
                 id="ocsf"),
    pytest.param(b"Mar  2 09:00:00 h sshd[1]: Accepted\n", False, id="syslog"),
    pytest.param(b"", False, id="empty"),
])
def test_sniff(head: bytes, expected: bool) -> None:
    assert elastic.sniff(head) is expected


def test_sniff_first_line_longer_than_head() -> None:
    big = doc(1, ["process"], "exec", process={"pid": 1, "args": ["x" * 70000]})
    head = dump(big).encode()[: 64 * 1024]
    assert elastic.sniff(head)


def test_other_readers_do_not_claim_ecs() -> None:
    for d in (LINES[0], LINES[6], LINES[9]):
        head = dump(d).encode() + b"\n"
        assert not any(r.sniff(head) for r in (eslogger, zeek, ocsf_input, sshd_syslog))


def test_no_corpus_file_is_claimed(corpus: Path) -> None:
    """Elastic documents are not in the corpus (FORMATS §7): the reader claims none of it."""
    files = [p for p in sorted(corpus.rglob("*")) if p.is_file()]
    assert len(files) > 40
    claimed = [p.relative_to(corpus).as_posix() for p in files
               if elastic.sniff(read_head(p))]
    assert claimed == []


def test_entity_key_matches_python() -> None:
    con = duckdb.connect()
    got = con.sql(f"SELECT {entity_key(repr('E-7365-b'))}, {entity_key(repr(''))}").fetchall()[0]
    assert got == (key("E-7365-b"), None)


def test_hunt_accounts_every_line(tmp_path: Path) -> None:
    """End to end: ``agenttrail hunt`` over the constructed file and a damaged one does not crash
    and accounts for every line as the reader does."""
    from typer.testing import CliRunner

    from agenttrail.cli import app

    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "hand.ndjson").write_text("".join(dump(d) + "\n" for d in LINES))
    (inputs / "damaged.ndjson").write_text(dump(LINES[0]) + "\n{\"@timestamp\":\n\n")
    result = CliRunner().invoke(app, ["hunt", str(inputs), "-o", str(tmp_path / "out"),
                                      "--fail-on", "none"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    got = {f["path"]: (f["format"], f["read"], f["normalised"],
                       sum(f["skipped_by_type"].values()), f["meta"], f["malformed"])
           for f in report["inputs"]["files"]}
    assert got == {"hand.ndjson": ("elastic", 21, 16, 5, 0, 0),
                   "damaged.ndjson": ("elastic", 3, 1, 0, 1, 1)}
