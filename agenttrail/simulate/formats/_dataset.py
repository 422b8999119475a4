"""Reading a simulated dataset back for the format converters (plain Python: these write test
data, they are not readers).

What the converters need from ``agenttrail.simulate.simulate(src)``: the manifest's hosts, the
eslogger process events of each Mac as :class:`Image` records (one per exec image, fork child or
exit), the Zeek ``conn.log`` rows, the SSH connections each Mac opened with the ssh process
that opened them (:func:`ssh_connections`), and the sshd lines of each server's ``auth.log``.
"""

from __future__ import annotations

import calendar
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Programs whose outbound SSH connections are attributed to a process.
SSH_CLIENTS = frozenset({"ssh", "scp", "sftp", "slogin"})
UNSET = 4294967295
YEAR = 2026  # the simulator's auth.log year (RFC 3164 lines carry none)
_MONTHS = {m: i for i, m in enumerate(calendar.month_abbr) if m}


@dataclass
class Image:
    """One process event of a Mac: an exec (the new image), a fork (the child) or an exit."""

    t_ns: int
    seq: int
    action: str  # exec / fork / exit
    pid: int
    pidversion: int
    ppid: int | None
    parent_pidversion: int | None
    ruid: int
    euid: int
    rgid: int
    egid: int
    auid: int
    asid: int
    exe: str
    signing_id: str | None
    team_id: str | None
    platform_binary: bool | None
    start_ns: int | None
    args: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    cwd: str | None = None
    exit_code: int | None = None
    exit_ns: int | None = None  # filled for execs from the image's exit


@dataclass
class Connection:
    """One Zeek conn.log row."""

    start_ns: int
    end_ns: int
    uid: str
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    proto: str
    service: str | None
    orig_bytes: int | None
    resp_bytes: int | None
    orig_pkts: int | None
    resp_pkts: int | None
    proc: Image | None = None


def manifest(src: Path) -> dict[str, Any]:
    """``MANIFEST.json``."""
    data: dict[str, Any] = json.loads((src / "MANIFEST.json").read_text(encoding="utf-8"))
    return data


def user_names(mac: dict[str, Any]) -> dict[int, str]:
    """uid → name on a Mac (its users from the manifest, and root)."""
    names = {0: "root"}
    names.update({u["uid"]: u["name"] for u in mac["users"]})
    return names


def iso_ns(text: str) -> int:
    """Epoch ns of ``2026-03-02T09:00:01.123456789Z``."""
    head, _, frac = text.rstrip("Z").partition(".")
    sec = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))
    return sec * 1_000_000_000 + int((frac + "000000000")[:9])


def iso_us(t_ns: int) -> str:
    """``2026-03-02T09:00:01.123456Z``."""
    sec, frac = divmod(t_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{frac // 1000:06d}Z"


def _token(t: Any) -> dict[str, int]:
    if isinstance(t, list):
        keys = ("auid", "euid", "egid", "ruid", "rgid", "pid", "asid", "pidversion")
        return dict(zip(keys, t, strict=True))
    return dict(t)


def _image(t_ns: int, seq: int, action: str, p: dict[str, Any]) -> Image:
    tok = _token(p["audit_token"])
    parent = _token(p["parent_audit_token"]) if p.get("parent_audit_token") else {}
    start = p.get("start_time")
    return Image(
        t_ns=t_ns, seq=seq, action=action, pid=tok["pid"], pidversion=tok["pidversion"],
        ppid=parent.get("pid", p.get("ppid")), parent_pidversion=parent.get("pidversion"),
        ruid=tok["ruid"], euid=tok["euid"], rgid=tok["rgid"], egid=tok["egid"],
        auid=tok["auid"], asid=tok["asid"], exe=p["executable"]["path"],
        signing_id=p.get("signing_id"), team_id=p.get("team_id"),
        platform_binary=p.get("is_platform_binary"),
        start_ns=iso_ns(start) if start else None,
    )


def process_events(path: Path) -> list[Image]:
    """The exec, fork and exit events of one eslogger file, in file order; each exec image
    carries its exit time."""
    out: list[Image] = []
    execs: dict[tuple[int, int], Image] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            ((name, body),) = rec["event"].items()
            if name not in ("exec", "fork", "exit"):
                continue
            t_ns = iso_ns(rec["time"])
            seq = rec["global_seq_num"]
            if name == "exec":
                img = _image(t_ns, seq, "exec", body["target"])
                img.args = list(body.get("args") or [])
                img.env = list(body.get("env") or [])
                img.cwd = (body.get("cwd") or {}).get("path")
                execs[(img.pid, img.pidversion)] = img
            elif name == "fork":
                img = _image(t_ns, seq, "fork", body["child"])
            else:
                img = _image(t_ns, seq, "exit", rec["process"])
                stat = body.get("stat")
                img.exit_code = stat >> 8 if stat is not None and stat & 127 == 0 else None
                image = execs.get((img.pid, img.pidversion))
                if image is not None:
                    image.exit_ns = t_ns
            out.append(img)
    return out


def connections(src: Path) -> list[Connection]:
    """The rows of ``zeek/conn.log`` (TSV with a ``#fields`` header)."""
    fields: list[str] = []
    out = []
    for line in (src / "zeek" / "conn.log").read_text(encoding="utf-8").splitlines():
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        if line.startswith("#") or not line:
            continue
        r = dict(zip(fields, line.split("\t"), strict=True))

        def num(key: str, row: dict[str, str] = r) -> int | None:
            v = row.get(key, "-")
            return None if v in ("-", "") else int(v)

        start = _zeek_ns(r["ts"])
        dur = r.get("duration", "-")
        out.append(Connection(
            start_ns=start, end_ns=start + (_zeek_ns(dur) if dur != "-" else 0), uid=r["uid"],
            src_ip=r["id.orig_h"], src_port=int(r["id.orig_p"]), dst_ip=r["id.resp_h"],
            dst_port=int(r["id.resp_p"]), proto=r["proto"],
            service=None if r.get("service") in (None, "-") else r["service"],
            orig_bytes=num("orig_bytes"), resp_bytes=num("resp_bytes"),
            orig_pkts=num("orig_pkts"), resp_pkts=num("resp_pkts"),
        ))
    return out


def _zeek_ns(text: str) -> int:
    sec, _, frac = text.partition(".")
    return int(sec) * 1_000_000_000 + int((frac + "000000000")[:9])


def is_ssh(c: Connection) -> bool:
    """SSH by Zeek's service detection, or by port 22."""
    return "ssh" in (c.service or "").split(",") or (c.proto == "tcp" and c.dst_port == 22)


def ssh_connections(conns: list[Connection], mac_ip: str, images: list[Image],
                    names: dict[str, str]) -> list[Connection]:
    """The SSH connections a Mac opened, each with the ssh client alive when it started: among
    the execs of ssh clients running at the connection's start, the one whose arguments name the
    destination (its address or host name, ``names``: address → host), else the latest started.
    A connection no client explains keeps ``proc`` None."""
    clients = [i for i in images if i.action == "exec" and i.exe.rsplit("/", 1)[-1] in SSH_CLIENTS]
    out = []
    for c in conns:
        if c.src_ip != mac_ip or not is_ssh(c):
            continue
        alive = [i for i in clients
                 if i.t_ns <= c.start_ns and (i.exit_ns is None or c.start_ns <= i.exit_ns)]
        dest = {c.dst_ip, names.get(c.dst_ip, c.dst_ip)}

        def names_dest(i: Image, dest: set[str] = dest) -> bool:
            return any(d in a for a in i.args[1:] for d in dest)

        named = [i for i in alive if names_dest(i)]
        pick = max(named or alive, key=lambda i: (i.t_ns, i.seq), default=None)
        out.append(Connection(**{**c.__dict__, "proc": pick}))
    return out


@dataclass
class SshdLine:
    """One sshd line of a server's auth.log."""

    t_ns: int
    line: int
    program: str
    pid: int
    message: str


_SYSLOG = re.compile(r"^(\w{3}) +(\d+) (\d\d):(\d\d):(\d\d) (\S+) (sshd(?:-session)?)\[(\d+)\]: (.*)$")


def sshd_lines(path: Path) -> list[SshdLine]:
    """The sshd/sshd-session lines of an RFC 3164 auth.log (year 2026, UTC)."""
    out = []
    for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = _SYSLOG.match(text)
        if not m:
            continue
        mon, day, hh, mm, ss, _host, program, pid, message = m.groups()
        sec = calendar.timegm((YEAR, _MONTHS[mon], int(day), int(hh), int(mm), int(ss), 0, 0, 0))
        out.append(SshdLine(sec * 1_000_000_000, n, program, int(pid), message))
    return out


def host_names(data: dict[str, Any]) -> dict[str, str]:
    """Address → host name for every host in the manifest."""
    hosts = data["hosts"]
    names = {m["ip"]: m["name"] for m in hosts["macs"]}
    names.update({s["ip"]: s["name"] for s in hosts["servers"]})
    names.update({o["ip"]: o["name"] for o in hosts["others"]})
    return names


def write_lines(path: Path, docs: list[tuple[int, int, dict[str, Any]]]) -> None:
    """Write JSON documents sorted by (time, order), one per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    docs.sort(key=lambda d: (d[0], d[1]))
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for _, _, doc in docs:
            fh.write(json.dumps(doc, separators=(",", ":")) + "\n")
