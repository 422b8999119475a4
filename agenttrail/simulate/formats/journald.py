"""A simulated dataset's sshd auth.log files as systemd journal exports (``journalctl -o json``).

``convert(src, dst)`` reads ``servers/<host>/auth.log`` of a dataset written by
:func:`agenttrail.simulate.simulate` (RFC 3164, year 2026, UTC) and writes
``servers/<host>/journal.json``: one JSON object per line, every value a string, fields in the
order ``journalctl -o json`` prints them, for every line of the file (sshd and sshd-session
records and the other programs': CRON, systemd-logind, sudo, the systemd user manager).

The records carry what journald adds (FORMATS §4.5): ``__CURSOR`` (with the sequence number in
hex as ``i=``), ``__REALTIME_TIMESTAMP`` and ``_SOURCE_REALTIME_TIMESTAMP`` (the line's second, in
µs), ``__MONOTONIC_TIMESTAMP``, ``__SEQNUM``/``__SEQNUM_ID``, ``_BOOT_ID``, ``_MACHINE_ID``,
``_HOSTNAME``, ``_TRANSPORT`` ``syslog``, ``PRIORITY``, ``SYSLOG_FACILITY``, ``SYSLOG_IDENTIFIER``,
``SYSLOG_PID``, ``SYSLOG_TIMESTAMP``, ``_PID``, ``_UID``, ``_GID``, ``_COMM``, ``_EXE``,
``_CMDLINE``, ``_SYSTEMD_UNIT``/``_SYSTEMD_CGROUP``/``_SYSTEMD_SLICE`` where the program's unit
is known, and ``MESSAGE``. A line without a pid (sudo) gets no ``_PID``. Identifiers are derived
from the host name, so the same input gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

YEAR = 2026
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LINE = re.compile(
    r"^(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<hms>\d\d:\d\d:\d\d) (?P<host>\S+) "
    r"(?P<prog>[^\s\[]+?)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)$"
)
_BOOT_BEFORE_US = 3 * 86_400 * 1_000_000  # the servers booted three days before their first line

#: Per program as auth.log names it: _COMM, _EXE, _CMDLINE, _SYSTEMD_UNIT, SYSLOG_FACILITY.
PROGRAMS: dict[str, tuple[str, str, str, str | None, str]] = {
    "sshd": ("sshd", "/usr/sbin/sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
             "ssh.service", "4"),
    "sshd-session": ("sshd-session", "/usr/lib/openssh/sshd-session",
                     "sshd-session: unknown [priv]", "ssh.service", "4"),
    "CRON": ("cron", "/usr/sbin/cron", "/usr/sbin/CRON -f -P", "cron.service", "10"),
    "systemd-logind": ("systemd-logind", "/usr/lib/systemd/systemd-logind",
                       "/usr/lib/systemd/systemd-logind", "systemd-logind.service", "4"),
    "sudo": ("sudo", "/usr/bin/sudo", "sudo", None, "10"),
    "(systemd)": ("(systemd)", "/usr/lib/systemd/systemd", "(sd-pam)", None, "10"),
}


def convert(src: Path, dst: Path) -> list[str]:
    """Write ``servers/<host>/journal.json`` under ``dst`` for every ``servers/<host>/auth.log``
    under ``src``; return the relative paths written (sorted)."""
    written = []
    for log in sorted((Path(src) / "servers").glob("*/auth.log")):
        host = log.parent.name
        rel = f"servers/{host}/journal.json"
        out = Path(dst) / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        records = _records(host, log.read_text(encoding="utf-8").splitlines())
        out.write_text("".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n"
                               for r in records), encoding="utf-8")
        if records:
            last_s = int(records[-1]["__REALTIME_TIMESTAMP"]) // 1_000_000
            os.utime(out, (last_s, last_s))
        written.append(rel)
    return written


def _ids(host: str) -> tuple[str, str, str, int]:
    """Machine id, boot id, sequence-number id and the first sequence number of a host."""
    h = hashlib.sha256(f"agenttrail-sim-journal/{host}".encode()).hexdigest()
    return h[:32], h[32:64], hashlib.sha256(h.encode()).hexdigest()[:32], 1000 + int(h[:4], 16)


def _records(host: str, lines: list[str]) -> list[dict[str, str]]:
    machine, boot, seq_id, seq0 = _ids(host)
    parsed = [m for m in (_LINE.match(ln) for ln in lines) if m is not None]
    if len(parsed) != len(lines):
        bad = next(ln for ln in lines if not _LINE.match(ln))
        raise ValueError(f"{host}/auth.log: not an RFC 3164 line: {bad!r}")
    boot_us = (_time_us(parsed[0]) - _BOOT_BEFORE_US) if parsed else 0
    out = []
    for i, m in enumerate(parsed):
        t_us = _time_us(m)
        seq = seq0 + i
        mono = t_us - boot_us
        comm, exe, cmdline, unit, facility = PROGRAMS.get(
            m["prog"], (m["prog"][:15], f"/usr/bin/{m['prog']}", m["prog"], None, "4"))
        rec: dict[str, str] = {
            "__CURSOR": f"s={seq_id};i={seq:x};b={boot};m={mono:x};t={t_us:x};"
                        f"x={hashlib.sha256(f'{host}/{seq}'.encode()).hexdigest()[:16]}",
            "__REALTIME_TIMESTAMP": str(t_us),
            "__MONOTONIC_TIMESTAMP": str(mono),
            "__SEQNUM": str(seq),
            "__SEQNUM_ID": seq_id,
            "_BOOT_ID": boot,
            "_MACHINE_ID": machine,
            "_HOSTNAME": m["host"],
            "_TRANSPORT": "syslog",
            "PRIORITY": _priority(m["msg"]),
            "SYSLOG_FACILITY": facility,
            "SYSLOG_IDENTIFIER": m["prog"],
        }
        if m["pid"] is not None:
            rec["SYSLOG_PID"] = m["pid"]
        rec["SYSLOG_TIMESTAMP"] = f"{m['mon']} {int(m['day']):>2} {m['hms']} "
        if m["pid"] is not None:
            rec["_PID"] = m["pid"]
        rec |= {"_UID": "0", "_GID": "0", "_COMM": comm, "_EXE": exe, "_CMDLINE": cmdline,
                "_CAP_EFFECTIVE": "1ffffffffff"}
        if unit is not None:
            rec |= {"_SYSTEMD_CGROUP": f"/system.slice/{unit}", "_SYSTEMD_UNIT": unit,
                    "_SYSTEMD_SLICE": "system.slice"}
        rec["_SOURCE_REALTIME_TIMESTAMP"] = str(t_us)
        rec["MESSAGE"] = m["msg"]
        out.append(rec)
    return out


def _time_us(m: re.Match[str]) -> int:
    hh, mm, ss = (int(x) for x in m["hms"].split(":"))
    when = datetime(YEAR, _MONTHS.index(m["mon"]) + 1, int(m["day"]), hh, mm, ss, tzinfo=UTC)
    return int(when.timestamp()) * 1_000_000


def _priority(msg: str) -> str:
    if msg.startswith("fatal:"):
        return "2"
    if msg.startswith("error:"):
        return "3"
    return "6"
