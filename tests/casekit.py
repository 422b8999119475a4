"""Render compact detection cases (TOML) into input files in the real formats.

A case file under ``tests/cases/`` lists events as TOML tables; this module writes them as
eslogger JSON lines (per Mac), a Zeek ``conn.log`` and ``ssh.log`` (TSV with full headers) and
RFC 3164 ``auth.log`` files (per server), plus ``assets.csv``, so the cases run through the real
readers and the whole pipeline. Times are seconds after ``BASE`` (2026-03-02T09:00:00Z).

Keys of an ``[[eslogger]]`` event: ``host``, ``t``, ``event`` (exec, fork, exit, uipc_connect,
uipc_bind, lw_session_login, login_login, openssh_login, sudo), ``pid``, ``pv`` (pidversion),
``ppid``, ``ppv``, ``ruid``, ``euid``, ``auid`` (omit for unset), ``asid``, ``exe``, ``args``,
``env``, ``path`` (socket), ``st_uid`` (omit for none), ``dir_uid``, ``user``, ``uid``,
``source`` (openssh_login client address), ``success``, ``platform`` (default true),
``team_id``, ``signing_id``.
``[[zeek]]``: ``t``, ``uid``, ``src`` ("ip:port"), ``dst``, ``duration``, ``history``,
``state``, ``service``, ``auth_success``, ``pkts``, ``bytes``.
``[[sshd]]``: ``host``, ``t``, ``pid``, ``msg`` (or ``program`` + ``msg`` for other programs).
``[[dns]]``: ``t``, ``client`` (ip), ``query``, ``answers`` (addresses), ``ttl`` (s) — a Zeek
``dns.log`` A/AAAA answer.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any

BASE = dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=dt.UTC)
BASE_US = int(BASE.timestamp() * 1_000_000)
UNSET = 4294967295
EVENT_TYPES = {
    "exec": 9, "fork": 11, "exit": 15, "uipc_bind": 76, "uipc_connect": 78,
    "lw_session_login": 114, "login_login": 122, "openssh_login": 120, "sudo": 131,
}


def at(t: float) -> dt.datetime:
    """BASE + t seconds."""
    return BASE + dt.timedelta(seconds=t)


def _iso_ns(t: float) -> str:
    d = at(t)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond:06d}000Z"


def _token(e: dict[str, Any], pid: int, pv: int) -> dict[str, int]:
    return {
        "auid": e.get("auid", UNSET), "euid": e.get("euid", 0), "egid": 20,
        "ruid": e.get("ruid", e.get("euid", 0)), "rgid": 20, "pid": pid,
        "asid": e.get("asid", 100000), "pidversion": pv,
    }


def _process(e: dict[str, Any], pid: int, pv: int, exe: str) -> dict[str, Any]:
    platform = e.get("platform", True)
    return {
        "audit_token": _token(e, pid, pv),
        "parent_audit_token": _token({**e, "auid": e.get("auid", UNSET)}, e.get("ppid", 1),
                                     e.get("ppv", 1)),
        "responsible_audit_token": _token(e, pid, pv),
        "ppid": e.get("ppid", 1), "original_ppid": e.get("ppid", 1), "group_id": pid,
        "session_id": e.get("session_id", pid), "tty": None,
        "start_time": at(e["t"]).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "executable": {"path": exe, "path_truncated": False, "stat": {}},
        "signing_id": e.get("signing_id", "com.apple." + exe.rsplit("/", 1)[-1]),
        "team_id": e.get("team_id"),
        "cdhash": "0" * 40,
        "codesigning_flags": 0x1 | (0x4000000 if platform else 0),
        "is_platform_binary": platform,
        "is_es_client": False,
    }


def eslogger_line(e: dict[str, Any], seq: int, gseq: int) -> str:
    """One eslogger JSON line (slashes escaped as Apple's encoder writes them)."""
    kind = e["event"]
    pid, pv = e.get("pid", 100), e.get("pv", 1)
    exe = e.get("exe", "/bin/zsh")
    proc = _process(e, pid, pv - 1 if kind == "exec" else pv, exe)
    if kind == "exec":
        body: dict[str, Any] = {
            "target": _process(e, pid, pv, exe),
            "args": e.get("args", [exe.rsplit("/", 1)[-1]]),
            "env": e.get("env", []),
            "cwd": {"path": "/", "path_truncated": False, "stat": {}},
            "script": None, "last_fd": 3, "fds": [],
        }
    elif kind == "fork":
        child = dict(e)
        body = {"child": _process(child, e["child_pid"], e.get("child_pv", 1), exe)}
    elif kind == "exit":
        body = {"stat": 0}
    elif kind == "uipc_connect":
        st = {"st_mode": 49536}
        if "st_uid" in e:
            st["st_uid"] = e["st_uid"]
        body = {"file": {"path": e["path"], "path_truncated": False, "stat": st},
                "domain": 1, "type": 1, "protocol": 0}
    elif kind == "uipc_bind":
        d, name = e["path"].rsplit("/", 1)
        body = {"dir": {"path": d, "path_truncated": False,
                        "stat": {"st_uid": e.get("dir_uid", 0), "st_mode": 16832}},
                "filename": name, "mode": 384}
    elif kind in ("lw_session_login",):
        body = {"username": e["user"], "graphical_session_id": 257}
    elif kind == "login_login":
        body = {"success": True, "failure_message": None, "username": e["user"],
                "uid": e["uid"]}
    elif kind == "openssh_login":
        ok = e.get("success", True)
        body = {"success": ok, "result_type": 2 if ok else 6, "source_address_type": 1,
                "source_address": e["source"], "username": e["user"], "uid": e.get("uid")}
    elif kind == "sudo":
        body = {"success": True, "reject_info": None, "from_uid": e.get("from_uid"),
                "from_username": e.get("from_user"), "to_uid": 0, "to_username": "root",
                "command": e.get("command")}
    else:
        raise ValueError(f"unknown eslogger event {kind}")
    rec = {
        "schema_version": 1, "version": 9, "time": _iso_ns(e["t"]), "mach_time": 1000 + gseq,
        "event_type": EVENT_TYPES[kind], "action_type": 1,
        "action": {"result": {"result_type": 0, "result": {"auth": 0}}},
        "seq_num": seq, "global_seq_num": gseq, "thread": {"thread_id": 1},
        "process": proc, "event": {kind: body},
    }
    return json.dumps(rec, separators=(",", ":")).replace("/", "\\/")


CONN_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
               "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig",
               "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes",
               "resp_pkts", "resp_ip_bytes", "tunnel_parents"]
CONN_TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval",
              "count", "count", "string", "bool", "bool", "count", "string", "count", "count",
              "count", "count", "set[string]"]
SSH_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version",
              "auth_success", "auth_attempts", "direction", "client", "server"]
SSH_TYPES = ["time", "string", "addr", "port", "addr", "port", "count", "bool", "count",
             "enum", "string", "string"]


def _zeek_header(path: str, fields: list[str], types: list[str]) -> str:
    return (
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
        f"#path\t{path}\n#open\t2026-03-02-09-00-00\n#fields\t" + "\t".join(fields) + "\n"
        "#types\t" + "\t".join(types) + "\n"
    )


def _ts(t: float) -> str:
    us = BASE_US + round(t * 1_000_000)
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def zeek_logs(flows: list[dict[str, Any]]) -> tuple[str, str]:
    """conn.log and ssh.log texts."""
    conn = [_zeek_header("conn", CONN_FIELDS, CONN_TYPES)]
    ssh = [_zeek_header("ssh", SSH_FIELDS, SSH_TYPES)]
    for f in flows:
        sh, sp = f["src"].rsplit(":", 1)
        dh, dp = f["dst"].rsplit(":", 1)
        pkts = f.get("pkts", 40)
        byts = f.get("bytes", 6000)
        service = f.get("service", "ssh")
        dur = f.get("duration", 30.0)
        conn.append("\t".join(str(x) for x in [
            _ts(f["t"]), f["uid"], sh, sp, dh, dp, "tcp", service,
            "-" if dur is None else f"{dur:.6f}", byts // 2, byts // 2,
            f.get("state", "SF"), "-", "-", 0, f.get("history", "ShADadFf"), pkts // 2,
            byts // 2 + 1000, pkts // 2, byts // 2 + 1000, "(empty)"]) + "\n")
        if service == "ssh":
            auth = f.get("auth_success")
            ssh.append("\t".join(str(x) for x in [
                _ts(f["t"]), f["uid"], sh, sp, dh, dp, 2,
                "-" if auth is None else ("T" if auth else "F"), 1, "-",
                "SSH-2.0-OpenSSH_9.9", "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13"]) + "\n")
    conn.append("#close\t2026-03-02-12-00-00\n")
    ssh.append("#close\t2026-03-02-12-00-00\n")
    return "".join(conn), "".join(ssh)


DNS_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
              "trans_id", "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode",
              "rcode_name", "AA", "TC", "RD", "RA", "Z", "answers", "TTLs", "rejected"]
DNS_TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "count", "interval",
             "string", "count", "string", "count", "string", "count", "string", "bool", "bool",
             "bool", "bool", "count", "vector[string]", "vector[interval]", "bool"]


def dns_log(answers: list[dict[str, Any]]) -> str:
    """dns.log text: one NOERROR answer per entry."""
    out = [_zeek_header("dns", DNS_FIELDS, DNS_TYPES)]
    for i, d in enumerate(answers):
        ips = d["answers"]
        qtype = (28, "AAAA") if ":" in ips[0] else (1, "A")
        out.append("\t".join(str(x) for x in [
            _ts(d["t"]), f"CDns{i}", d["client"], 53000 + i, d.get("server", "10.0.0.53"), 53,
            "udp", 4000 + i, "0.001000", d["query"], 1, "C_INTERNET", qtype[0], qtype[1], 0,
            "NOERROR", "F", "F", "T", "T", 0, ",".join(ips),
            ",".join(f"{d.get('ttl', 300):.6f}" for _ in ips), "F"]) + "\n")
    out.append("#close\t2026-03-02-12-00-00\n")
    return "".join(out)


def syslog_line(host: str, e: dict[str, Any]) -> str:
    """One RFC 3164 line."""
    d = at(e["t"])
    stamp = d.strftime("%b ") + f"{d.day:>2}" + d.strftime(" %H:%M:%S")
    program = e.get("program", "sshd")
    return f"{stamp} {host} {program}[{e.get('pid', 4000)}]: {e['msg']}\n"


def render(case: dict[str, Any], out: Path) -> list[str]:
    """Write a case's inputs under ``out``; return the hunt options it needs."""
    out.mkdir(parents=True, exist_ok=True)
    per_host: dict[str, list[dict[str, Any]]] = {}
    for e in case.get("eslogger", []):
        per_host.setdefault(e["host"], []).append(e)
    for host, events in per_host.items():
        d = out / "macs" / host
        d.mkdir(parents=True, exist_ok=True)
        seqs: dict[str, int] = {}
        lines = []
        for g, e in enumerate(sorted(events, key=lambda x: x["t"])):
            seq = seqs.get(e["event"], 0)
            seqs[e["event"]] = seq + 1
            lines.append(eslogger_line(e, seq, g) + "\n")
        (d / "eslogger.jsonl").write_text("".join(lines), encoding="utf-8")
    if "zeek" in case:
        (out / "zeek").mkdir(exist_ok=True)
        conn, ssh = zeek_logs(case["zeek"])
        (out / "zeek" / "conn.log").write_text(conn, encoding="utf-8")
        (out / "zeek" / "ssh.log").write_text(ssh, encoding="utf-8")
    if "dns" in case:
        (out / "zeek").mkdir(exist_ok=True)
        (out / "zeek" / "dns.log").write_text(dns_log(case["dns"]), encoding="utf-8")
    servers: dict[str, list[dict[str, Any]]] = {}
    for e in case.get("sshd", []):
        servers.setdefault(e["host"], []).append(e)
    for host, events in servers.items():
        d = out / "servers" / host
        d.mkdir(parents=True, exist_ok=True)
        text = "".join(syslog_line(host, e) for e in sorted(events, key=lambda x: x["t"]))
        (d / "auth.log").write_text(text, encoding="utf-8")
    assets = case.get("assets", [])
    (out / "assets.csv").write_text(
        "host,ip\n" + "".join(f"{h},{ip}\n" for h, ip in assets), encoding="utf-8"
    )
    opts = ["--host-from-path", "macs/{host}/*", "--assets", str(out / "assets.csv")]
    if case.get("collected_at", 3 * 3600) is not False:
        opts += ["--collected-at", at(case.get("collected_at", 3 * 3600)).isoformat()]
    opts += case.get("options", [])
    return opts


def load(path: Path) -> dict[str, Any]:
    """Read a case file; ``include = "other.toml"`` prepends that file's events and assets."""
    with path.open("rb") as f:
        case = tomllib.load(f)
    inc = case.pop("include", None)
    if inc:
        base = load(path.parent / inc)
        for key in ("eslogger", "zeek", "sshd", "dns", "assets"):
            if key in base:
                case[key] = base[key] + case.get(key, [])
    return case
