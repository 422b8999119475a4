"""Simulated dataset → osquery results logs, one per Mac (``macs/<host>/osqueryd.results.log``).

What a Mac running osqueryd (5.15 or later, event format, ``hostIdentifier`` = host name) with
this pack would have written over the capture::

    pack_agenttrail_es_process_events     SELECT * FROM es_process_events       every 10 s
    pack_agenttrail_process_open_sockets  SELECT * FROM process_open_sockets
                                          WHERE family IN (0, 1)                 every 10 s
    pack_agenttrail_logged_in_users       SELECT * FROM logged_in_users         every 10 s
    pack_agenttrail_interface_addresses   SELECT * FROM interface_addresses     every hour

* ``es_process_events``: one ``added`` row per eslogger ``exec``/``fork``/``exit``, logged at the
  next 10 s tick, with osquery's encodings: every value a string, ``time`` in whole seconds,
  ``cmdline``/``env`` elements each followed by a space and double-quoted (``\\`` and ``"``
  escaped) when they hold a space or ``"``, ``codesigning_flags`` as ``NOT_VALID, ADHOC, ...``,
  ``exit_code`` the raw wait status, a fork row describing the parent with ``child_pid``, and
  ``euid`` holding the effective *gid* (what osquery's ``getProcessProperties`` writes since
  4.9). ``cwd`` of fork and exit rows (a live lookup by osquery) is empty.
* ``process_open_sockets``: polled every 10 s. A socket is open from a ``uipc_bind`` or
  ``uipc_connect`` until its process's ``exit`` (or the end of the capture); it gets an ``added``
  row at the first tick inside that interval and a ``removed`` row at the first tick after it.
  **A connection that opens and closes between two ticks is missed**: a short ``ssh-add -l`` or
  a quick ``ssh`` usually leaves no row at all (the documented difference from eslogger's
  ``uipc_connect``). Rows are written with the path the connection used, as osquery would show a
  listener's path; note that osquery's macOS table reports a descriptor's *bound* path
  (``unsi_addr``), so a real client descriptor would show an empty path: these rows are the
  sensor's best case. AF_UNIX is written as family ``0``, as osquery's macOS table does.
* ``logged_in_users``: polled every 10 s; a GUI session (``lw_session_login``/``logout``, tty
  ``console``) or a Terminal login (``login_login``/``login_logout``, tty from the process) is
  ``added`` at the first tick inside it and ``removed`` at the first tick after its end.
* ``interface_addresses``: at the first tick, ``lo0`` (127.0.0.1, ::1) and ``en0`` (the Mac's
  address from ``MANIFEST.json`` and a link-local IPv6 address).

Lines are in tick order (then query, removed before added, then event order); keys are sorted as
osquery writes them. The output is a function of the input files only: same input, same bytes.
"""

from __future__ import annotations

import bisect
import calendar
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NS = 1_000_000_000
EVENT_INTERVAL_S = 10
SOCKET_INTERVAL_S = 10
USERS_INTERVAL_S = 10
PACK = "pack_agenttrail_"
RESULTS_LOG = "osqueryd.results.log"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TOKEN = ("auid", "euid", "egid", "ruid", "rgid", "pid", "asid", "pidversion")
# kern/cs_blobs.h flags osquery turns into text
_CS_VALID, _CS_ADHOC, _CS_INSTALLER, _CS_RUNTIME = 0x1, 0x2, 0x8, 0x10000
_QUERY_ORDER = ("es_process_events", "process_open_sockets", "logged_in_users",
                "interface_addresses")


def convert(src: Path, dst: Path) -> list[str]:
    """Write ``macs/<host>/osqueryd.results.log`` for every Mac of the dataset at ``src``."""
    src, dst = Path(src), Path(dst)
    manifest = json.loads((src / "MANIFEST.json").read_text(encoding="utf-8"))
    end_ns = _iso_ns(manifest["capture"]["end"])
    written = []
    for mac in manifest["hosts"]["macs"]:
        names = {0: "root"} | {u["uid"]: u["name"] for u in mac["users"]}
        events = _read_eslogger(src / mac["eslogger"])
        lines = _results(mac, events, names, end_ns)
        rel = f"macs/{mac['name']}/{RESULTS_LOG}"
        out = dst / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        written.append(rel)
    return sorted(written)


@dataclass
class _Interval:
    """Something a polled table shows from ``start`` until ``end`` (ns; None: still there)."""

    start: int
    end: int | None
    row: dict[str, str]
    order: int


@dataclass
class _Out:
    """Result rows per (tick, query): ``(action, order, row)``."""

    rows: dict[tuple[int, str], list[tuple[str, int, dict[str, str]]]] = field(default_factory=dict)

    def add(self, tick: int, query: str, action: str, order: int, row: dict[str, str]) -> None:
        self.rows.setdefault((tick, query), []).append((action, order, row))


def _results(mac: dict[str, Any], events: list[dict[str, Any]], names: dict[int, str],
             end_ns: int) -> list[str]:
    out = _Out()
    for order, ev in enumerate(events):
        row = _process_row(ev, names)
        if row is not None:
            out.add(_next_tick(_ns(ev["time"]), EVENT_INTERVAL_S), "es_process_events", "added",
                    order, row)
    t_first = _ns(events[0]["time"]) if events else end_ns
    first_tick = _next_tick(t_first, SOCKET_INTERVAL_S)
    ticks_to = end_ns + SOCKET_INTERVAL_S * NS
    _poll(out, "process_open_sockets", _sockets(events), SOCKET_INTERVAL_S, ticks_to)
    _poll(out, "logged_in_users", _sessions(events), USERS_INTERVAL_S, ticks_to)
    for order, row in enumerate(_interfaces(mac)):
        out.add(first_tick, "interface_addresses", "added", order, row)
    head = _header(mac)
    counters: dict[str, int] = {}
    lines = []
    for tick, query in sorted(out.rows, key=lambda k: (k[0], _QUERY_ORDER.index(k[1]))):
        start = 1 if query == "es_process_events" else 0
        counter = counters[query] = counters.get(query, start - 1) + 1
        ordered = sorted(out.rows[(tick, query)], key=lambda r: (r[0] != "removed", r[1]))
        for action, _, row in ordered:
            line = dict(head, action=action, columns=row, counter=str(counter),
                        name=PACK + query, unixTime=str(tick // NS),
                        calendarTime=_calendar(tick // NS))
            lines.append(json.dumps(line, sort_keys=True, separators=(",", ":")))
    return lines


def _header(mac: dict[str, Any]) -> dict[str, Any]:
    users = mac["users"]
    host_uuid = str(uuid.uuid5(uuid.NAMESPACE_DNS, mac["name"] + ".agenttrail.test")).upper()
    return {
        "decorations": {"host_uuid": host_uuid, "username": users[0]["name"] if users else ""},
        "epoch": "0",
        "hostIdentifier": mac["name"],
        "numerics": False,
    }


def _poll(out: _Out, query: str, intervals: list[_Interval], every_s: int, until_ns: int) -> None:
    """Differential rows of a polled table: added at the first tick inside an interval, removed
    at the first tick after it; intervals with no tick inside are never seen."""
    for iv in intervals:
        t_add = _next_tick(iv.start, every_s, inclusive=True)
        end = until_ns if iv.end is None else iv.end
        if t_add >= end or t_add > until_ns:
            continue  # opened and closed between two polls: missed
        out.add(t_add, query, "added", iv.order, iv.row)
        if iv.end is not None:
            t_rm = _next_tick(iv.end, every_s, inclusive=True)
            if t_rm <= until_ns:
                out.add(t_rm, query, "removed", iv.order, iv.row)


def _next_tick(t_ns: int, every_s: int, inclusive: bool = False) -> int:
    """The first poll tick (a multiple of ``every_s`` seconds) after ``t_ns`` (or at it)."""
    step = every_s * NS
    q, r = divmod(t_ns, step)
    if inclusive and r == 0:
        return t_ns
    return (q + 1) * step


# ---------------------------------------------------------------------------------------------
# es_process_events


def _process_row(ev: dict[str, Any], names: dict[int, str]) -> dict[str, str] | None:
    kind = next(iter(ev["event"]))
    if kind not in ("exec", "fork", "exit"):
        return None
    body = ev["event"][kind]
    proc = body["target"] if kind == "exec" else ev["process"]
    tok = _token(proc["audit_token"])
    return {
        "version": str(ev.get("version", "")),
        "seq_num": str(ev.get("seq_num", "")),
        "global_seq_num": str(ev.get("global_seq_num", "")),
        "event_type": kind,
        "pid": str(tok["pid"]),
        "pidversion": str(tok["pidversion"]),
        "parent": str(proc.get("ppid", "")),
        "original_parent": str(proc.get("original_ppid", "")),
        "parent_pidversion": str(_token(proc["parent_audit_token"])["pidversion"]),
        "session_id": str(proc.get("session_id", "")),
        "responsible_pid": str(_token(proc["responsible_audit_token"])["pid"]),
        "responsible_pidversion": str(_token(proc["responsible_audit_token"])["pidversion"]),
        "path": proc["executable"]["path"],
        "cwd": body["cwd"]["path"] if kind == "exec" else "",
        "uid": str(tok["ruid"]),
        "euid": str(tok["egid"]),  # as osquery writes it (audit_token_to_egid)
        "gid": str(tok["rgid"]),
        "egid": str(tok["egid"]),
        "username": names.get(tok["ruid"], ""),
        "signing_id": proc.get("signing_id") or "",
        "team_id": proc.get("team_id") or "",
        "cdhash": (proc.get("cdhash") or "").lower(),
        "platform_binary": "1" if proc.get("is_platform_binary") else "0",
        "codesigning_flags": _cs_flags(int(proc.get("codesigning_flags") or 0)),
        "cmdline": _joined(body["args"]) if kind == "exec" else "",
        "cmdline_count": str(len(body["args"])) if kind == "exec" else "0",
        "env": _joined(body["env"]) if kind == "exec" else "",
        "env_count": str(len(body["env"])) if kind == "exec" else "0",
        "time": str(_ns(ev["time"]) // NS),
        "child_pid": str(_token(body["child"]["audit_token"])["pid"]) if kind == "fork" else "",
        "exit_code": str(body["stat"]) if kind == "exit" else "",
    }


def _joined(items: list[str]) -> str:
    """osquery's list encoding: each element followed by a space; quoted (``std::quoted``) when
    it holds a space or a double quote."""
    parts = []
    for s in items:
        if " " in s or '"' in s:
            s = '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(s + " ")
    return "".join(parts)


def _cs_flags(flags: int) -> str:
    out = []
    if not flags & _CS_VALID:
        out.append("NOT_VALID")
    if flags & _CS_ADHOC:
        out.append("ADHOC")
    if not flags & _CS_RUNTIME:
        out.append("NOT_RUNTIME")
    if flags & _CS_INSTALLER:
        out.append("INSTALLER")
    return ", ".join(out)


# ---------------------------------------------------------------------------------------------
# polled tables


def _exits(events: list[dict[str, Any]]) -> dict[int, list[int]]:
    """Exit times (ns, sorted) per pid."""
    out: dict[int, list[int]] = {}
    for ev in events:
        if "exit" in ev["event"]:
            out.setdefault(_token(ev["process"]["audit_token"])["pid"], []).append(_ns(ev["time"]))
    return out


def _sockets(events: list[dict[str, Any]]) -> list[_Interval]:
    """AF_UNIX sockets held by processes: from bind or connect until the process exits."""
    exits = _exits(events)
    fds: dict[int, int] = {}
    out = []
    for order, ev in enumerate(events):
        kind = next(iter(ev["event"]))
        if kind not in ("uipc_connect", "uipc_bind"):
            continue
        body = ev["event"][kind]
        if kind == "uipc_connect":
            path = body["file"]["path"]
        else:
            path = body["dir"]["path"].rstrip("/") + "/" + body["filename"]
        pid = _token(ev["process"]["audit_token"])["pid"]
        start = _ns(ev["time"])
        later = exits.get(pid, [])
        i = bisect.bisect_left(later, start)
        fd = fds[pid] = fds.get(pid, 2) + 1
        row = {"fd": "", "family": "0", "local_address": "", "local_port": "0", "path": path,
               "pid": str(pid), "protocol": "0", "remote_address": "", "remote_port": "0",
               "socket": str(fd), "state": ""}
        out.append(_Interval(start, later[i] if i < len(later) else None, row, order))
    return out


def _sessions(events: list[dict[str, Any]]) -> list[_Interval]:
    """utmpx sessions: GUI logins on the console and Terminal logins on a tty."""
    open_gui: dict[tuple[str, int], _Interval] = {}
    open_tty: dict[int, _Interval] = {}
    out = []
    for order, ev in enumerate(events):
        kind = next(iter(ev["event"]))
        body = ev["event"][kind]
        t = _ns(ev["time"])
        pid = _token(ev["process"]["audit_token"])["pid"]
        if kind == "lw_session_login":
            row = {"host": "", "pid": str(pid), "time": str(t // NS), "tty": "console",
                   "type": "user", "user": body.get("username") or ""}
            iv = open_gui[(row["user"], body.get("graphical_session_id", 0))] = _Interval(
                t, None, row, order)
            out.append(iv)
        elif kind == "lw_session_logout":
            key = (body.get("username") or "", body.get("graphical_session_id", 0))
            if key in open_gui:
                open_gui.pop(key).end = t
        elif kind == "login_login" and body.get("success"):
            tty = (ev["process"].get("tty") or {}).get("path") or ""
            row = {"host": "", "pid": str(pid), "time": str(t // NS),
                   "tty": tty.removeprefix("/dev/"), "type": "user",
                   "user": body.get("username") or ""}
            iv = open_tty[pid] = _Interval(t, None, row, order)
            out.append(iv)
        elif kind == "login_logout" and pid in open_tty:
            open_tty.pop(pid).end = t
    return out


def _interfaces(mac: dict[str, Any]) -> list[dict[str, str]]:
    h = uuid.uuid5(uuid.NAMESPACE_DNS, mac["name"]).int
    groups = ":".join(f"{(h >> shift) & 0xFFFF:x}" for shift in (48, 32, 16, 0))
    link_local = f"fe80::{groups}%en0"
    rows = [
        ("lo0", "127.0.0.1", "255.0.0.0", "", "127.0.0.1"),
        ("lo0", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "", ""),
        ("lo0", "fe80::1%lo0", "ffff:ffff:ffff:ffff::", "", ""),
        ("en0", mac["ip"], "255.255.255.0", mac["ip"].rsplit(".", 1)[0] + ".255", ""),
        ("en0", link_local, "ffff:ffff:ffff:ffff::", "", ""),
    ]
    return [{"address": a, "broadcast": b, "interface": i, "mask": m, "point_to_point": p,
             "type": "unknown"} for i, a, m, b, p in rows]


# ---------------------------------------------------------------------------------------------
# helpers


def _read_eslogger(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _token(tok: dict[str, int] | list[int]) -> dict[str, int]:
    """An audit token as a dict, from either of eslogger's shapes."""
    if isinstance(tok, list):
        return dict(zip(_TOKEN, tok, strict=True))
    return tok


def _ns(text: str) -> int:
    """Epoch ns of eslogger's ``2026-03-02T09:00:01.123456789Z``."""
    head, _, frac = text.rstrip("Z").partition(".")
    sec = _iso_seconds(head)
    return sec * NS + int((frac + "000000000")[:9])


def _iso_ns(text: str) -> int:
    return _ns(text) if "." in text else _iso_seconds(text.rstrip("Z")) * NS


def _iso_seconds(head: str) -> int:
    return calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))


def _calendar(sec: int) -> str:
    """osquery's ``calendarTime``: ``Mon Mar  2 10:17:50 2026 UTC`` (space-padded day)."""
    tm = time.gmtime(sec)
    return (f"{_DAYS[tm.tm_wday]} {_MONTHS[tm.tm_mon - 1]} {tm.tm_mday:>2} "
            f"{tm.tm_hour:02}:{tm.tm_min:02}:{tm.tm_sec:02} {tm.tm_year} UTC")
