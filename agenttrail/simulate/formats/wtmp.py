"""A simulated dataset's sshd logins as binary wtmp files (glibc ``struct utmp`` records).

``convert(src, dst)`` reads ``servers/<host>/auth.log`` of a dataset written by
:func:`agenttrail.simulate.simulate` (RFC 3164, year 2026, UTC) and writes
``servers/<host>/wtmp``: 384-byte little-endian records in the Linux x86-64 layout that
:mod:`agenttrail.readers.wtmp` reads (``FIELDS`` there), in time order, as sshd writes them:

* a USER_PROCESS (7) record at each ``Accepted … for USER from ADDR port N`` line: ``ut_pid`` the
  line's sshd pid, ``ut_line`` ``pts/N`` (the lowest number no open session holds, as the kernel
  hands out ptys), ``ut_id`` the line's last four characters (``ts/3``), ``ut_user`` the user,
  ``ut_host`` the source address and ``ut_addr_v6`` its bytes (IPv4 in the first word);
* a DEAD_PROCESS (8) record at the first later ``session closed`` or ``Disconnected`` line of the
  same pid, with only the type, pid, line, id and time set (OpenSSH's ``construct_utmp`` leaves
  the other fields blank on logout). A login without such a line stays open.

auth.log keeps seconds, so ``ut_tv`` microseconds are 0. The simulated servers give every login a
pty (real sshd writes wtmp only for those: ``scp``, ``sftp`` and commands leave nothing).
"""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from agenttrail.readers.wtmp import FIELDS, RECORD

YEAR = 2026
USER_PROCESS = 7
DEAD_PROCESS = 8
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LINE = re.compile(
    r"^(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<hms>\d\d:\d\d:\d\d) (?P<host>\S+) "
    r"(?P<prog>[^\s\[]+?)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)$"
)
_ACCEPTED = re.compile(r"^Accepted \S+ for (?P<user>\S+) from (?P<addr>\S+) port \d+ ")
_CLOSED = re.compile(r"^(?:pam_unix\(sshd:session\): session closed for user |Disconnected from )")


def convert(src: Path, dst: Path) -> list[str]:
    """Write ``servers/<host>/wtmp`` under ``dst`` for every ``servers/<host>/auth.log`` under
    ``src``; return the relative paths written (sorted)."""
    written = []
    for log in sorted((Path(src) / "servers").glob("*/auth.log")):
        host = log.parent.name
        rel = f"servers/{host}/wtmp"
        out = Path(dst) / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        records, last_s = _records(host, log.read_text(encoding="utf-8").splitlines())
        out.write_bytes(b"".join(records))
        if last_s is not None:
            os.utime(out, (last_s, last_s))
        written.append(rel)
    return written


def _records(host: str, lines: list[str]) -> tuple[list[bytes], int | None]:
    """The wtmp records of one auth.log, and the last record's epoch second."""
    records: list[bytes] = []
    open_by_pid: dict[int, int] = {}  # sshd pid -> pts number of its open session
    last_s = None
    for ln in lines:
        m = _LINE.match(ln)
        if m is None:
            raise ValueError(f"{host}/auth.log: not an RFC 3164 line: {ln!r}")
        if not m["prog"].startswith("sshd") or m["pid"] is None:
            continue
        pid, sec = int(m["pid"]), _epoch(m)
        if (acc := _ACCEPTED.match(m["msg"])) is not None:
            pts = min(set(range(len(open_by_pid) + 1)) - set(open_by_pid.values()))
            open_by_pid[pid] = pts
            records.append(_record(USER_PROCESS, pid, f"pts/{pts}", sec, acc["user"], acc["addr"]))
        elif pid in open_by_pid and _CLOSED.match(m["msg"]):
            records.append(_record(DEAD_PROCESS, pid, f"pts/{open_by_pid.pop(pid)}", sec))
        else:
            continue
        last_s = sec
    return records, last_s


def _record(ut_type: int, pid: int, line: str, sec: int, user: str = "",
            addr: str = "") -> bytes:
    """One 384-byte record; strings NUL-padded, integers little-endian, the address in network
    order."""
    r = bytearray(RECORD)
    values: dict[str, int | bytes] = {
        "ut_type": ut_type, "pid": pid, "tty": line.encode(), "ut_id": line[-4:].encode(),
        "user": user.encode(), "ut_host": addr.encode(), "sec": sec, "usec": 0,
    }
    if addr:
        values["addr"] = ipaddress.ip_address(addr).packed
    for name, value in values.items():
        off, size = FIELDS[name]
        data = value.to_bytes(size, "little") if isinstance(value, int) else value[:size]
        r[off:off + len(data)] = data
    return bytes(r)


def _epoch(m: re.Match[str]) -> int:
    hh, mm, ss = (int(x) for x in m["hms"].split(":"))
    when = datetime(YEAR, _MONTHS.index(m["mon"]) + 1, int(m["day"]), hh, mm, ss, tzinfo=UTC)
    return int(when.timestamp())
