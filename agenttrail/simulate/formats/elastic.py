"""A simulated dataset as Elastic Defend documents: ``macs/<host>/elastic.ndjson``.

Each Mac's eslogger exec, fork and exit events become ECS process documents (``exec``, ``fork``,
``end``) with ``process.entity_id`` built from (host, pid, pidversion), the parent's from its
audit token, ``user``/``group`` from the token, the code signature, and ``process.env_vars``
holding the variables a capture policy would list (``SSH_AUTH_SOCK``, ``SUDO_USER``,
``SUDO_UID``, ``USER``, ``HOME``: at most five) when the exec has them. The Mac's SSH
connections in ``zeek/conn.log`` become ``connection_attempted`` (at the start) and
``disconnect_received`` (at the end, with byte counts) network documents of the ssh client alive
then (without a process when none is). Every document carries ``host.name``, ``host.ip`` and
``host.os``. Times keep microseconds (Elastic's precision).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from agenttrail.simulate.formats import _dataset as ds

#: Variables the simulated capture policy lists (Elastic captures at most five).
CAPTURED_ENV = ("SSH_AUTH_SOCK", "SUDO_USER", "SUDO_UID", "USER", "HOME")
AGENT_VERSION = "8.17.0"
ECS_VERSION = "8.11.0"
ACTIONS = {"exec": "exec", "fork": "fork", "exit": "end"}


def entity_id(host: str, pid: int | None, pidversion: int | None) -> str | None:
    """Elastic-style opaque process key."""
    if pid is None or pidversion is None:
        return None
    return base64.b64encode(f"{host}-{pid}-{pidversion}".encode()).decode()


def convert(src: Path, dst: Path) -> list[str]:
    """Write ``macs/<host>/elastic.ndjson`` for every Mac of ``src``; return the paths written."""
    data = ds.manifest(src)
    conns = ds.connections(src)
    names = ds.host_names(data)
    written = []
    for mac in data["hosts"]["macs"]:
        host, ip = mac["name"], mac["ip"]
        users = ds.user_names(mac)
        images = ds.process_events(src / mac["eslogger"])
        base = _base(host, ip)
        docs: list[tuple[int, int, dict[str, Any]]] = []
        for img in images:
            docs.append((img.t_ns, img.seq, _process_doc(base, host, img, users)))
        order = 1 << 62
        for c in ds.ssh_connections(conns, ip, images, names):
            docs.append((c.start_ns, order, _network_doc(base, host, c, users, start=True)))
            docs.append((c.end_ns, order + 1, _network_doc(base, host, c, users, start=False)))
            order += 2
        rel = f"macs/{host}/elastic.ndjson"
        ds.write_lines(dst / rel, docs)
        written.append(rel)
    return written


def _base(host: str, ip: str) -> dict[str, Any]:
    return {
        "agent": {"id": f"sim-{host}", "type": "endpoint", "version": AGENT_VERSION},
        "ecs": {"version": ECS_VERSION},
        "host": {"name": host, "hostname": host, "ip": [ip, "127.0.0.1", "::1", "fe80::1"],
                 "os": {"type": "macos", "platform": "macos", "family": "macos",
                        "name": "macOS", "full": "macOS 15.5"}},
    }


def _user(uid: int, real: int, users: dict[int, str]) -> dict[str, Any]:
    user: dict[str, Any] = {"id": str(uid)}
    if uid in users:
        user["name"] = users[uid]
    user["Ext"] = {"real": {"id": str(real), **({"name": users[real]} if real in users else {})}}
    return user


def _signature(img: ds.Image) -> dict[str, Any]:
    sig: dict[str, Any] = {"exists": img.signing_id is not None}
    if img.signing_id:
        sig["signing_id"] = img.signing_id
    if img.team_id:
        sig["team_id"] = img.team_id
    if img.platform_binary:
        sig["subject_name"] = "Software Signing"
    sig["trusted"] = bool(img.platform_binary or img.team_id)
    sig["status"] = "trusted" if sig["trusted"] else "errorUntrusted"
    return sig


def _process_doc(base: dict[str, Any], host: str, img: ds.Image,
                 users: dict[int, str]) -> dict[str, Any]:
    action = ACTIONS[img.action]
    proc: dict[str, Any] = {
        "pid": img.pid, "entity_id": entity_id(host, img.pid, img.pidversion),
        "executable": img.exe, "name": img.exe.rsplit("/", 1)[-1],
    }
    if img.ppid is not None:
        proc["parent"] = {"pid": img.ppid,
                          "entity_id": entity_id(host, img.ppid, img.parent_pidversion)}
    if img.start_ns is not None:
        proc["start"] = ds.iso_us(img.start_ns)
    if action == "exec":
        proc["args"] = img.args
        proc["args_count"] = len(img.args)
        proc["command_line"] = " ".join(img.args)
        if img.cwd:
            proc["working_directory"] = img.cwd
        env = [e for e in img.env if e.split("=", 1)[0] in CAPTURED_ENV]
        if env:
            proc["env_vars"] = env
    if action == "end" and img.exit_code is not None:
        proc["exit_code"] = img.exit_code
    proc["code_signature"] = _signature(img)
    return {
        "@timestamp": ds.iso_us(img.t_ns),
        **base,
        "event": {"kind": "event", "module": "endpoint", "dataset": "endpoint.events.process",
                  "category": ["process"], "type": ["end" if action == "end" else "start"],
                  "action": action, "sequence": img.seq},
        "data_stream": {"dataset": "endpoint.events.process", "type": "logs",
                        "namespace": "default"},
        "message": "Endpoint process event",
        "process": proc,
        "user": _user(img.euid, img.ruid, users),
        "group": {"id": str(img.egid), "Ext": {"real": {"id": str(img.rgid)}}},
    }


def _network_doc(base: dict[str, Any], host: str, c: ds.Connection, users: dict[int, str],
                 *, start: bool) -> dict[str, Any]:
    source: dict[str, Any] = {"ip": c.src_ip, "port": c.src_port, "address": c.src_ip}
    dest: dict[str, Any] = {"ip": c.dst_ip, "port": c.dst_port, "address": c.dst_ip}
    if not start:
        if c.orig_bytes is not None:
            source["bytes"] = c.orig_bytes
        if c.resp_bytes is not None:
            dest["bytes"] = c.resp_bytes
    doc: dict[str, Any] = {
        "@timestamp": ds.iso_us(c.start_ns if start else c.end_ns),
        **base,
        "event": {"kind": "event", "module": "endpoint", "dataset": "endpoint.events.network",
                  "category": ["network"],
                  "type": ["start", "connection"] if start else ["end", "connection"],
                  "action": "connection_attempted" if start else "disconnect_received"},
        "data_stream": {"dataset": "endpoint.events.network", "type": "logs",
                        "namespace": "default"},
        "message": "Endpoint network event",
        "source": source,
        "destination": dest,
        "network": {"direction": "egress", "transport": c.proto, "type": "ipv4"},
    }
    p = c.proc
    if p is not None:
        doc["process"] = {"pid": p.pid, "entity_id": entity_id(host, p.pid, p.pidversion),
                          "executable": p.exe, "name": p.exe.rsplit("/", 1)[-1]}
        doc["user"] = _user(p.euid, p.ruid, users)
    return doc
