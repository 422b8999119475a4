"""A simulated dataset as OCSF 1.5.0 events (one per line): ``macs/<host>/ocsf.jsonl`` and
``servers/<host>/ocsf.jsonl``.

Each Mac's eslogger execs become Process Activity (1007) Launch events and its exits Terminate
events (OCSF has no fork: forks are left out), with ``process.uid`` built from (host, pid,
pidversion), the parent as ``actor.process``, the command line shell-quoted from the argv, the
whole exec environment as ``environment_variables`` (the reader keeps what DESIGN §3 allows), the
audit user as ``auid`` and the code signature as ``file.signature``. The Mac's SSH connections in
``zeek/conn.log`` become Network Activity (4001) Open (at the start) and Close (at the end, with
traffic counts) events of the ssh client alive then (no actor when none is). Each server's sshd
logins in ``auth.log`` become Authentication (3002) events: Accepted → Logon success,
``Failed``/``Invalid user`` → Logon failure, ``Disconnected from user`` → Logoff, and the
``[preauth]`` closes → Preauth, with source and destination endpoints. Times are epoch
milliseconds (OCSF's precision).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from agenttrail.simulate.formats import _dataset as ds

VERSION = "1.5.0"
PRODUCT = {"name": "agenttrail simulate", "vendor_name": "agenttrail"}
MACOS = {"name": "macOS", "type": "macOS", "type_id": 300}
LINUX = {"name": "Linux", "type": "Linux", "type_id": 200}

_ACCEPTED = re.compile(r"^Accepted (\S+) for (\S+) from (\S+) port (\d+)")
_FAILED = re.compile(r"^Failed (\S+) for (?:invalid user )?(\S+) from (\S+) port (\d+)")
_INVALID = re.compile(r"^Invalid user (\S*) from (\S+) port (\d+)")
_LOGOFF = re.compile(r"^Disconnected from user (\S+) (\S+) port (\d+)")
_PREAUTH = re.compile(
    r"^(?:Connection closed|Disconnected) by (?:(?:authenticating|invalid) user (\S+) )?"
    r"(\S+) port (\d+) \[preauth\]")


def process_uid(host: str, pid: int | None, pidversion: int | None) -> str | None:
    """The producer's unique process id."""
    return None if pid is None or pidversion is None else f"{host}:{pid}:{pidversion}"


def convert(src: Path, dst: Path) -> list[str]:
    """Write the OCSF files for every Mac and server of ``src``; return the paths written."""
    data = ds.manifest(src)
    conns = ds.connections(src)
    names = ds.host_names(data)
    written = []
    for mac in data["hosts"]["macs"]:
        host, ip = mac["name"], mac["ip"]
        users = ds.user_names(mac)
        images = ds.process_events(src / mac["eslogger"])
        device = {"hostname": host, "name": host, "ip": ip, "type_id": 3, "os": MACOS}
        docs: list[tuple[int, int, dict[str, Any]]] = []
        for img in images:
            if img.action != "fork":
                docs.append((img.t_ns, img.seq, _process_event(device, host, img, users)))
        order = 1 << 62
        for c in ds.ssh_connections(conns, ip, images, names):
            docs.append((c.start_ns, order, _network_event(device, host, c, users, True)))
            docs.append((c.end_ns, order + 1, _network_event(device, host, c, users, False)))
            order += 2
        rel = f"macs/{host}/ocsf.jsonl"
        ds.write_lines(dst / rel, docs)
        written.append(rel)
    for srv in data["hosts"]["servers"]:
        device = {"hostname": srv["name"], "name": srv["name"], "ip": srv["ip"], "type_id": 1,
                  "os": LINUX}
        docs = []
        for line in ds.sshd_lines(src / srv["auth_log"]):
            event = _auth_event(device, srv["ip"], line)
            if event is not None:
                docs.append((line.t_ns, line.line, event))
        rel = f"servers/{srv['name']}/ocsf.jsonl"
        ds.write_lines(dst / rel, docs)
        written.append(rel)
    return written


def _envelope(class_uid: int, category: int, activity: int, t_ns: int,
              device: dict[str, Any], seq: int | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"version": VERSION, "product": PRODUCT}
    if seq is not None:
        meta["sequence"] = seq
    return {"class_uid": class_uid, "category_uid": category, "activity_id": activity,
            "type_uid": class_uid * 100 + activity, "severity_id": 1,
            "time": t_ns // 1_000_000, "metadata": meta, "device": device}


def _user(uid: int, users: dict[int, str]) -> dict[str, Any]:
    user: dict[str, Any] = {"uid": str(uid)}
    if uid in users:
        user["name"] = users[uid]
    return user


def _file(img: ds.Image) -> dict[str, Any]:
    f: dict[str, Any] = {"path": img.exe, "name": img.exe.rsplit("/", 1)[-1], "type_id": 1}
    if img.signing_id is not None:
        sig: dict[str, Any] = {"algorithm_id": 99, "algorithm": "Apple code signature"}
        if img.team_id:
            sig["developer_uid"] = img.team_id
        if img.platform_binary:
            sig["certificate"] = {"subject": "Software Signing", "issuer": "Apple Code Signing"}
        f["signature"] = sig
    return f


def _process_event(device: dict[str, Any], host: str, img: ds.Image,
                   users: dict[int, str]) -> dict[str, Any]:
    launch = img.action == "exec"
    proc: dict[str, Any] = {
        "pid": img.pid, "uid": process_uid(host, img.pid, img.pidversion),
        "name": img.exe.rsplit("/", 1)[-1], "file": _file(img), "user": _user(img.ruid, users),
        "euid": img.euid, "auid": img.auid,
    }
    if img.start_ns is not None:
        proc["created_time"] = img.start_ns // 1_000_000
    if launch:
        proc["cmd_line"] = shlex.join(img.args)
        if img.cwd:
            proc["working_directory"] = img.cwd
        proc["environment_variables"] = [
            {"name": k, "value": v} for k, _, v in (e.partition("=") for e in img.env)]
    if img.ppid is not None:
        proc["parent_process"] = {"pid": img.ppid,
                                  "uid": process_uid(host, img.ppid, img.parent_pidversion)}
    event = _envelope(1007, 1, 1 if launch else 2, img.t_ns, device, img.seq)
    event["process"] = proc
    event["actor"] = {"process": dict(proc.get("parent_process") or {"pid": img.pid}),
                      "user": _user(img.euid, users)}
    if not launch and img.exit_code is not None:
        event["exit_code"] = img.exit_code
    return event


def _network_event(device: dict[str, Any], host: str, c: ds.Connection, users: dict[int, str],
                   start: bool) -> dict[str, Any]:
    t = c.start_ns if start else c.end_ns
    event = _envelope(4001, 4, 1 if start else 2, t, device)
    event["start_time"] = c.start_ns // 1_000_000
    if not start:
        event["end_time"] = c.end_ns // 1_000_000
    event["src_endpoint"] = {"ip": c.src_ip, "port": c.src_port}
    event["dst_endpoint"] = {"ip": c.dst_ip, "port": c.dst_port}
    event["connection_info"] = {"protocol_name": c.proto, "protocol_num": 6 if c.proto == "tcp"
                                else 17, "direction_id": 2, "direction": "Outbound"}
    if not start:
        traffic = {k: v for k, v in (("bytes_out", c.orig_bytes), ("bytes_in", c.resp_bytes),
                                     ("packets_out", c.orig_pkts), ("packets_in", c.resp_pkts))
                   if v is not None}
        event["traffic"] = traffic
    p = c.proc
    if p is not None:
        event["actor"] = {"process": {"pid": p.pid, "uid": process_uid(host, p.pid, p.pidversion),
                                      "name": p.exe.rsplit("/", 1)[-1],
                                      "file": {"path": p.exe, "name": p.exe.rsplit("/", 1)[-1]},
                                      "user": _user(p.ruid, users), "euid": p.euid},
                          "user": _user(p.euid, users)}
    return event


def _auth_event(device: dict[str, Any], server_ip: str,
                line: ds.SshdLine) -> dict[str, Any] | None:
    msg = line.message
    method = user = None
    if m := _ACCEPTED.match(msg):
        activity, status, (method, user, ip, port) = 1, 1, m.groups()
    elif m := _FAILED.match(msg):
        activity, status, (method, user, ip, port) = 1, 2, m.groups()
    elif m := _INVALID.match(msg):
        activity, status, (user, ip, port) = 1, 2, m.groups()
    elif m := _LOGOFF.match(msg):
        activity, status, (user, ip, port) = 2, 1, m.groups()
    elif m := _PREAUTH.match(msg):
        activity, status, (user, ip, port) = 6, 2, m.groups()
    else:
        return None
    event = _envelope(3002, 3, activity, line.t_ns, device)
    event.update({
        "status_id": status, "is_remote": True, "logon_type_id": 10,
        "src_endpoint": {"ip": ip, "port": int(port)},
        "dst_endpoint": {"ip": server_ip, "port": 22, "hostname": device["hostname"]},
        "user": {"name": user or ""},
        "service": {"name": "sshd"},
        "logon_process": {"pid": line.pid, "name": line.program},
        "message": msg,
    })
    if not user:
        del event["user"]["name"]
    if method:
        event["auth_protocol"] = method
        event["auth_protocol_id"] = 99
    return event
