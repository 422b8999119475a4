"""agenttrail.simulate: determinism, internal consistency, and the facts each scenario promises.

The expected values come from the scenario definitions in ``agenttrail/simulate/scenarios.py`` and
the fixed topology in ``world.py`` (mac-shared is 10.10.1.35 with alice uid 501 and bob uid 502;
db1 is 10.20.0.11, app1 10.20.0.12, git1 10.20.0.13). Seed-driven values (ports, socket ids, key
fingerprints, line numbers) are read from MANIFEST.json and then verified in the data files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agenttrail.simulate import SCENARIOS, Manifest, check, simulate
from agenttrail.simulate.world import World

MAC_SHARED_IP = "10.10.1.35"
ES_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
SYSLOG = re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d (db1|app1|git1) "
                    r"(sshd|sshd-session|CRON|systemd-logind|\(systemd\)|sudo)(\[\d+\])?: +\S")
FILES = ["MANIFEST.json", "assets.csv", "macs/mac-alice/eslogger.jsonl",
         "macs/mac-carol/eslogger.jsonl", "macs/mac-shared/eslogger.jsonl",
         "servers/app1/auth.log", "servers/db1/auth.log", "servers/git1/auth.log",
         "zeek/conn.log", "zeek/ssh.log"]


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    out = tmp_path_factory.mktemp("sim") / "all"
    return out, simulate(out, seed=7)


def _contents(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _line(out: Path, where: dict[str, Any]) -> str:
    return (out / where["file"]).read_text(encoding="utf-8").splitlines()[where["line"] - 1]


def _es(out: Path, where: dict[str, Any]) -> dict[str, Any]:
    return json.loads(_line(out, where))


def _events(out: Path, mac: str) -> list[dict[str, Any]]:
    text = (out / f"macs/{mac}/eslogger.jsonl").read_text(encoding="utf-8")
    return [json.loads(ln) for ln in text.splitlines()]


def _zeek(out: Path, where: dict[str, Any]) -> dict[str, str]:
    lines = (out / where["file"]).read_text(encoding="utf-8").splitlines()
    fields = next(ln for ln in lines if ln.startswith("#fields")).split("\t")[1:]
    return dict(zip(fields, lines[where["line"] - 1].split("\t"), strict=True))


def _ns(iso: str) -> int:
    head, frac = iso.rstrip("Z").split(".")
    sec = int(datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp())
    return sec * 1_000_000_000 + int(frac.ljust(9, "0"))


def _user(m: Manifest, mac: str, name: str) -> dict[str, Any]:
    host = next(h for h in m.data["hosts"]["macs"] if h["name"] == mac)
    return next(u for u in host["users"] if u["name"] == name)


# ---------------------------------------------------------------------------------------------
# Determinism and consistency


def test_same_seed_gives_identical_bytes(full: tuple[Path, Manifest], tmp_path: Path) -> None:
    out, _ = full
    simulate(tmp_path / "again", seed=7, scenarios=list(reversed(SCENARIOS)))
    assert _contents(tmp_path / "again") == _contents(out)


def test_bytes_do_not_depend_on_hash_randomisation(full: tuple[Path, Manifest],
                                                   tmp_path: Path) -> None:
    code = ("import sys; from pathlib import Path; from agenttrail.simulate import simulate; "
            "simulate(Path(sys.argv[1]), seed=7)")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "h")], check=True, env=env)
    assert _contents(tmp_path / "h") == _contents(full[0])


def test_pids_wrap_and_skip_live_ones() -> None:
    mac = World(1).macs["mac-alice"]
    mac.next_pid = 99997
    mac.alive.update({100: mac.launchd, 101: mac.launchd})
    assert [mac.alloc_pid() for _ in range(3)] == [99997, 99998, 102]


def test_another_seed_gives_other_data(full: tuple[Path, Manifest], tmp_path: Path) -> None:
    out, _ = full
    other = _contents(simulate(tmp_path / "s8", seed=8).out_dir)
    same = _contents(out)
    assert [k for k in FILES if other[k] == same[k]] == ["assets.csv"]  # the topology is fixed
    assert check(tmp_path / "s8") == []


def test_layout(full: tuple[Path, Manifest]) -> None:
    out, m = full
    assert sorted(_contents(out)) == FILES
    assert m.files == [f for f in FILES if f not in ("MANIFEST.json", "assets.csv")] + ["assets.csv"]
    assert json.loads((out / "MANIFEST.json").read_text()) == m.data
    assert m.scenarios == list(SCENARIOS)
    assert sorted(m.expected) == sorted([*SCENARIOS, "background"])


def test_all_together_is_consistent(full: tuple[Path, Manifest]) -> None:
    assert check(full[0]) == []


@pytest.mark.parametrize("names", [[n] for n in SCENARIOS] + [[]],
                         ids=[*SCENARIOS, "background_only"])
def test_each_scenario_alone_is_consistent(tmp_path: Path, names: list[str]) -> None:
    m = simulate(tmp_path, seed=3, scenarios=names)
    assert check(tmp_path) == []
    assert m.scenarios == names
    assert sorted(m.expected) == sorted([*names, "background"])


def test_unknown_scenario_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="hijack_everything"):
        simulate(tmp_path, scenarios=["hijack_everything"])


def test_scale_multiplies_background(tmp_path: Path) -> None:
    small = simulate(tmp_path / "x1", seed=5, scenarios=[])
    big = simulate(tmp_path / "x2", seed=5, scenarios=[], scale=2)
    count = {m.scale: sum(len(_events(m.out_dir, mac)) for mac in ("mac-alice", "mac-carol"))
             for m in (small, big)}
    assert 1.6 * count[1] < count[2] < 2.3 * count[1]
    assert check(tmp_path / "x2") == []


# ---------------------------------------------------------------------------------------------
# The formats


def test_eslogger_records_look_like_apples(full: tuple[Path, Manifest]) -> None:
    out, _ = full
    raw = (out / "macs/mac-shared/eslogger.jsonl").read_text(encoding="utf-8").splitlines()
    assert all("\\/" in ln and "/" not in ln.replace("\\/", "") for ln in raw)
    orders = {tuple(json.loads(ln)) for ln in raw[:200]}
    assert len(orders) > 3  # key order varies from record to record
    for rec in (json.loads(ln) for ln in raw):
        assert (rec["schema_version"], rec["version"], rec["action_type"]) == (1, 9, 1)
        assert ES_TIME.match(rec["time"])
        assert set(rec["process"]["audit_token"]) == {"auid", "euid", "egid", "ruid", "rgid",
                                                      "pid", "asid", "pidversion"}
    first = json.loads(raw[0])
    assert first["seq_num"] == 0 and first["global_seq_num"] == 0
    assert "2026-03-02T09:00:00" <= first["time"] < "2026-03-02T09:05:00"


def test_event_types_per_mac(full: tuple[Path, Manifest]) -> None:
    out, _ = full
    names = {mac: [next(iter(r["event"])) for r in _events(out, mac)]
             for mac in ("mac-alice", "mac-shared", "mac-carol")}
    common = {"exec", "fork", "exit", "uipc_bind", "uipc_connect", "lw_session_login",
              "login_login", "login_logout"}
    assert set(names["mac-alice"]) == common | {"lw_session_lock", "lw_session_unlock"}
    assert set(names["mac-shared"]) == common | {"sudo"}
    assert set(names["mac-carol"]) == common | {"su"}
    assert [names[m].count("lw_session_login") for m in names] == [1, 2, 1]  # one per GUI user
    # a Listeners bind per GUI login, plus tmux's server socket on mac-alice
    assert [names[m].count("uipc_bind") for m in names] == [2, 2, 1]
    assert names["mac-shared"].count("sudo") == 3  # two hijacks and own_sudo_ssh


def test_listeners_bound_early_by_launchd_into_user_dirs(full: tuple[Path, Manifest]) -> None:
    out, m = full
    for host in m.data["hosts"]["macs"]:
        for u in host["users"]:
            if u["socket"] is None:  # localadmin never logs in to the GUI
                assert (host["name"], u["name"]) == ("mac-carol", "localadmin")
                continue
            rec = _es(out, u["socket_bind"])
            bind = rec["event"]["uipc_bind"]
            tok = rec["process"]["audit_token"]
            assert (tok["pid"], tok["euid"], tok["auid"]) == (1, 0, 4294967295)
            assert f"{bind['dir']['path']}/{bind['filename']}" == u["socket"]
            assert re.fullmatch(r"/private/tmp/com\.apple\.launchd\.[A-Za-z0-9]{10}/Listeners",
                                u["socket"])
            assert bind["dir"]["stat"]["st_uid"] == u["uid"]
            assert rec["time"] < "2026-03-02T09:25:00"


def test_zeek_headers_are_zeek6(full: tuple[Path, Manifest]) -> None:
    out, _ = full
    conn = (out / "zeek/conn.log").read_text().splitlines()
    assert conn[:5] == ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
                        "#unset_field\t-", "#path\tconn"]
    assert re.fullmatch(r"#open\t2026-03-02-09-0\d-\d\d", conn[5])
    assert conn[6].split("\t")[1:] == [
        "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
        "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp",
        "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
        "tunnel_parents"]
    assert conn[-1].startswith("#close\t2026-03-02-13-")
    ssh = (out / "zeek/ssh.log").read_text().splitlines()
    assert ssh[6].split("\t")[1:] == [
        "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version",
        "auth_success", "auth_attempts", "direction", "client", "server", "cipher_alg", "mac_alg",
        "compression_alg", "kex_alg", "host_key_alg", "host_key"]


def test_zeek_splits_alices_idle_session(full: tuple[Path, Manifest]) -> None:
    rows = [ln.split("\t") for ln in (full[0] / "zeek/conn.log").read_text().splitlines()
            if not ln.startswith("#")]
    parts = [r for r in rows if r[2] == "10.10.1.21" and r[4] == "10.20.0.11"
             and r[11] in ("S1", "OTH")]
    assert [(r[11], r[15], r[7]) for r in parts] == [("S1", "ShAdDa", "ssh"), ("OTH", "DadFf", "-")]
    assert parts[0][3] == parts[1][3]  # the same source port: a continuation, not a new session


def test_auth_logs_are_rfc3164_and_dated_by_mtime(full: tuple[Path, Manifest]) -> None:
    out, _ = full
    for name in ("db1", "app1", "git1"):
        path = out / f"servers/{name}/auth.log"
        lines = path.read_text().splitlines()
        assert all(SYSLOG.match(ln) for ln in lines), name
        assert lines[0].startswith("Mar  2 08:")  # logs reach back before the capture
        last = datetime.strptime("2026 " + lines[-1][:15] + " +0000", "%Y %b %d %H:%M:%S %z")
        assert int(path.stat().st_mtime) == int(last.timestamp())
    git1 = (out / "servers/git1/auth.log").read_text()
    assert "sshd-session[" in git1 and " sshd[" not in git1  # OpenSSH 9.9 names its sessions


def test_assets_are_fixed_and_keep_an_old_lease(full: tuple[Path, Manifest]) -> None:
    assert (full[0] / "assets.csv").read_text() == (
        "host,ip,valid_from,valid_to\n"
        "mac-carol,10.10.1.35,2026-02-23T08:02:11Z,2026-03-01T18:40:00Z\n"
        "mac-alice,10.10.1.21,2026-02-26T08:15:00Z,\n"
        "mac-shared,10.10.1.35,2026-03-01T18:40:00Z,\n"
        "mac-carol,10.10.1.47,2026-02-26T08:15:00Z,\n"
        "db1,10.20.0.11,,\napp1,10.20.0.12,,\ngit1,10.20.0.13,,\n"
        "ops1,10.30.0.10,,\nscan1,10.30.0.20,,\ndns1,10.10.0.2,,\n")


# ---------------------------------------------------------------------------------------------
# What each scenario promises


def _ssh_exec(out: Path, e: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
    """The exec record of the scenario's ssh: (event body, target process, env)."""
    body = _es(out, e["records"]["exec"])["event"]["exec"]
    return body, body["target"], set(body["env"])


def _check_connect(out: Path, e: dict[str, Any], target: dict[str, Any], owner: int) -> None:
    rec = _es(out, e["records"]["connect"])
    conn = rec["event"]["uipc_connect"]
    assert rec["process"]["audit_token"] == target["audit_token"]
    assert conn["file"]["path"] == e["socket"]
    assert conn["file"]["stat"]["st_uid"] == owner
    assert conn["file"]["stat"]["st_mode"] & 0o170000 == 0o140000
    assert (conn["domain"], conn["type"]) == (1, 1)
    delay = _ns(rec["time"]) - _ns(e["flow"]["start"])
    assert 250_000_000 <= delay <= 400_000_000  # ssh asks the agent ~0.3 s after the TCP start


def _check_flow(out: Path, e: dict[str, Any], src_ip: str, dst_ip: str) -> None:
    conn = _zeek(out, e["records"]["conn"])
    ssh = _zeek(out, e["records"]["ssh"])
    assert (conn["uid"], conn["id.orig_h"], conn["id.orig_p"], conn["id.resp_h"],
            conn["id.resp_p"]) == (e["flow"]["uid"], src_ip, str(e["flow"]["src_port"]), dst_ip,
                                   "22")
    assert (conn["proto"], conn["service"], conn["conn_state"], conn["history"]) == (
        "tcp", "ssh", "SF", "ShAdDaFf")
    assert (conn["local_orig"], conn["local_resp"]) == ("T", "T")
    assert (ssh["uid"], ssh["id.orig_p"], ssh["auth_success"], ssh["direction"]) == (
        conn["uid"], conn["id.orig_p"], "T", "-")


def _login_asids(out: Path, mac: str, user: str) -> set[int]:
    return {r["process"]["audit_token"]["asid"] for r in _events(out, mac)
            if r["event"].get("login_login", {}).get("username") == user}


@pytest.mark.parametrize(("name", "dst_ip", "dst_host"),
                         [("hijack_lateral", "10.20.0.11", "db1"),
                          ("hijack_no_login", "10.20.0.12", "app1")])
def test_hijack_endpoint_and_flow(full: tuple[Path, Manifest], name: str, dst_ip: str,
                                  dst_host: str) -> None:
    out, m = full
    e = m.expected[name]
    alice = _user(m, "mac-shared", "alice")
    assert (e["incident"], e["endpoint"], e["actor"], e["victim"]) == (
        True, "mac-shared", {"name": "bob", "auid": 502, "euid": 0},
        {"name": "alice", "uid": 501})
    assert e["socket"] == alice["socket"] and e["key_fp"] == alice["key_fp"]
    assert e["destination"] == {"host": dst_host, "ip": dst_ip, "port": 22}
    body, target, env = _ssh_exec(out, e)
    tok = target["audit_token"]
    assert target["executable"]["path"] == "/usr/bin/ssh"
    assert body["args"] == ["ssh", f"alice@{dst_host}"]
    assert (tok["euid"], tok["ruid"], tok["auid"]) == (0, 0, 502)
    assert tok["asid"] in _login_asids(out, "mac-shared", "bob")  # bob's own audit session
    assert (tok["pid"], tok["pidversion"]) == (e["process"]["pid"], e["process"]["pidversion"])
    assert {f"SSH_AUTH_SOCK={alice['socket']}", "USER=root", "SUDO_USER=bob",
            "SUDO_UID=502"} <= env
    _check_connect(out, e, target, 501)
    _check_flow(out, e, MAC_SHARED_IP, dst_ip)
    # bob became root with `sudo -s` first, and ssh-add listed alice's keys through her socket
    events = _events(out, "mac-shared")
    sudo = [r["event"]["sudo"] for r in events if "sudo" in r["event"]]
    assert {"from_uid": 502, "from_username": "bob", "to_uid": 0, "to_username": "root",
            "command": "/bin/zsh", "success": True, "reject_info": None} in sudo
    add = _es(out, e["records"]["ssh_add_connect"])
    assert add["process"]["executable"]["path"] == "/usr/bin/ssh-add"
    assert add["event"]["uipc_connect"]["file"]["path"] == alice["socket"]
    assert add["process"]["audit_token"]["auid"] == 502
    assert e["records"]["ssh_add_connect"]["line"] < e["records"]["exec"]["line"]


def test_hijack_lateral_login_is_logged(full: tuple[Path, Manifest]) -> None:
    out, m = full
    e = m.expected["hijack_lateral"]
    port = e["flow"]["src_port"]
    line = _line(out, e["records"]["accepted"])
    assert e["records"]["accepted"]["file"] == "servers/db1/auth.log"
    assert re.fullmatch(
        rf"Mar  2 \d\d:\d\d:\d\d db1 sshd\[\d+\]: Accepted publickey for alice from "
        rf"{re.escape(MAC_SHARED_IP)} port {port} ssh2: ED25519 {re.escape(e['key_fp'])}", line)
    logged = datetime.strptime("2026 " + line[:15], "%Y %b %d %H:%M:%S").replace(tzinfo=UTC)
    assert 0 <= int(logged.timestamp()) - _ns(e["flow"]["start"]) // 10**9 <= 1  # db1: no skew
    assert e["login"] == "accepted"


def test_hijack_lateral_sits_next_to_alices_own_login(full: tuple[Path, Manifest]) -> None:
    out, m = full
    e = m.expected["hijack_lateral"]
    lines = (out / "servers/db1/auth.log").read_text().splitlines()
    alice_from_shared = [ln for ln in lines if f"Accepted publickey for alice from {MAC_SHARED_IP}"
                         in ln and e["key_fp"] in ln]
    ports = {re.search(r"port (\d+)", ln)[1] for ln in alice_from_shared}
    assert str(e["flow"]["src_port"]) in ports and len(ports) >= 2


def test_hijack_no_login_has_no_sshd_record(full: tuple[Path, Manifest]) -> None:
    out, m = full
    e = m.expected["hijack_no_login"]
    port = e["flow"]["src_port"]
    assert e["login"] == "missing" and "accepted" not in e["records"]
    assert m.data["removed_logins"] == [{"host": "app1", "src_ip": MAC_SHARED_IP,
                                         "src_port": port, "user": "alice",
                                         "flow_uid": e["flow"]["uid"],
                                         "scenario": "hijack_no_login"}]
    lines = (out / "servers/app1/auth.log").read_text().splitlines()
    assert not [ln for ln in lines if f"port {port}" in ln]
    start = _ns(e["flow"]["start"]) // 10**9 + 2  # app1's clock runs 2 s ahead
    stamps = [int(datetime.strptime("2026 " + ln[:15], "%Y %b %d %H:%M:%S")
                  .replace(tzinfo=UTC).timestamp()) for ln in lines]
    assert any(start - 600 < s < start for s in stamps)  # coverage spans the flow
    assert any(start + 300 < s < start + 900 for s in stamps)
    assert any("sshd[" in ln for ln in lines)


def test_own_sudo_ssh(full: tuple[Path, Manifest]) -> None:
    out, m = full
    e = m.expected["own_sudo_ssh"]
    alice = _user(m, "mac-shared", "alice")
    assert (e["incident"], e["expect"]) == (False, "no incident at medium or above")
    assert (e["actor"], e["victim"]) == ({"name": "alice", "auid": 501, "euid": 0},
                                         {"name": "alice", "uid": 501})
    body, target, env = _ssh_exec(out, e)
    tok = target["audit_token"]
    assert body["args"] == ["ssh", "admin@app1"]
    assert (tok["euid"], tok["auid"]) == (0, 501)
    assert tok["asid"] in _login_asids(out, "mac-shared", "alice")
    assert {f"SSH_AUTH_SOCK={alice['socket']}", "SUDO_USER=alice", "SUDO_UID=501"} <= env
    _check_connect(out, e, target, 501)
    _check_flow(out, e, MAC_SHARED_IP, "10.20.0.12")
    line = _line(out, e["records"]["accepted"])
    assert line.endswith(f"app1 sshd[{line.split('sshd[')[1].split(']')[0]}]: Accepted publickey "
                         f"for admin from {MAC_SHARED_IP} port {e['flow']['src_port']} ssh2: "
                         f"ED25519 {alice['key_fp']}")
    sudo = [r["event"]["sudo"] for r in _events(out, "mac-shared") if "sudo" in r["event"]]
    assert {"from_uid": 501, "from_username": "alice", "to_uid": 0, "to_username": "root",
            "command": "/usr/bin/ssh admin@app1", "success": True, "reject_info": None} in sudo


def test_tmux_reattach(full: tuple[Path, Manifest]) -> None:
    out, m = full
    e = m.expected["tmux_reattach"]
    alice = _user(m, "mac-alice", "alice")
    link = "/Users/alice/.ssh/ssh_auth_sock"
    assert (e["incident"], e["endpoint"], e["socket"], e["ssh_auth_sock"]) == (
        False, "mac-alice", alice["socket"], link)
    assert e["symlink"] == {"link": link, "target": alice["socket"]}
    ln = _es(out, e["records"]["ln"])["event"]["exec"]
    assert ln["args"] == ["ln", "-sf", alice["socket"], link]
    body, target, env = _ssh_exec(out, e)
    tok = target["audit_token"]
    assert body["args"] == ["ssh", "alice@git1"]
    assert (tok["euid"], tok["ruid"], tok["auid"]) == (501, 501, 501)
    assert f"SSH_AUTH_SOCK={link}" in env and any(v.startswith("TMUX=") for v in env)
    _check_connect(out, e, target, 501)  # eslogger reports the resolved socket path
    _check_flow(out, e, "10.10.1.21", "10.20.0.13")
    # the ssh's shell is a pane of the tmux server, which outlived its first client
    events = _events(out, "mac-alice")
    pane = next(r for r in events if "fork" in r["event"]
                and r["event"]["fork"]["child"]["audit_token"]["pid"] == target["ppid"])
    assert pane["process"]["executable"]["path"] == "/opt/homebrew/Cellar/tmux/3.5a/bin/tmux"
    assert pane["process"]["ppid"] == 1  # reparented to launchd by daemon(3)
    accepted = _line(out, e["records"]["accepted"])
    assert "git1 sshd-session[" in accepted
    assert f"Accepted publickey for alice from 10.10.1.21 port {e['flow']['src_port']}" in accepted


# ---------------------------------------------------------------------------------------------
# The checker finds what it promises to find


def _drop_line(path: Path, n: int) -> None:
    lines = path.read_text().splitlines(keepends=True)
    del lines[n - 1]
    path.write_text("".join(lines))


def _edit_json_line(path: Path, n: int, fn: Any) -> None:
    lines = path.read_text().splitlines()
    rec = json.loads(lines[n - 1])
    fn(rec)
    lines[n - 1] = json.dumps(rec, separators=(",", ":")).replace("/", "\\/")
    path.write_text("\n".join(lines) + "\n")


def _bump_target(rec: dict[str, Any]) -> None:
    rec["event"]["exec"]["target"]["audit_token"]["pidversion"] += 5


MUTATIONS = [
    ("drop_event", lambda out, e: _drop_line(out / e["records"]["connect"]["file"],
                                             e["records"]["connect"]["line"]),
     ["uipc_connect seq_num", "global_seq_num"]),
    ("drop_accepted", lambda out, e: _drop_line(out / e["records"]["accepted"]["file"],
                                                e["records"]["accepted"]["line"]),
     ["no Accepted line for flow"]),
    ("drop_conn_row", lambda out, e: _drop_line(out / e["records"]["conn"]["file"],
                                                e["records"]["conn"]["line"]),
     ["not in conn.log", "has no Zeek flow"]),
    ("exec_pidversion", lambda out, e: _edit_json_line(
        out / e["records"]["exec"]["file"], e["records"]["exec"]["line"], _bump_target),
     ["exec target", "is image"]),
    ("unescaped", lambda out, e: (out / e["records"]["exec"]["file"]).write_text(
        (out / e["records"]["exec"]["file"]).read_text().replace("\\/", "/", 1)),
     ["not escaped"]),
]


@pytest.mark.parametrize(("mutate", "expect"), [(m[1], m[2]) for m in MUTATIONS],
                         ids=[m[0] for m in MUTATIONS])
def test_check_finds_damage(full: tuple[Path, Manifest], tmp_path: Path, mutate: Any,
                            expect: list[str]) -> None:
    out = tmp_path / "copy"
    shutil.copytree(full[0], out)
    mutate(out, full[1].expected["hijack_lateral"])
    problems = check(out)
    for text in expect:
        assert any(text in p for p in problems), (text, problems[:5])
