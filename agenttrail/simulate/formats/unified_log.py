"""A simulated dataset's sshd auth.log files as macOS unified log text (``log show --style syslog``).

``convert(src, dst)`` reads ``servers/<host>/auth.log`` of a dataset written by
:func:`agenttrail.simulate.simulate` (RFC 3164, year 2026, UTC) and writes
``servers/<host>/unified.log``: the ``Timestamp                       (process)[PID]`` header that
``log show --style syslog`` prints first, then one line per auth.log line that names its pid::

    2026-03-02 09:14:11.204519+0000  db1 sshd[24227]: Accepted publickey for deploy from …

Times are UTC (``+0000``) with the microseconds ``log`` always prints: auth.log keeps seconds, so
each line gets a fraction derived from the host name and the line number, increasing within the
second, so the same input gives the same bytes and every line keeps its auth.log second. The
host column names the server (not ``localhost``), so the reader takes it as the record's own.
sshd's own records and the other programs' (CRON, systemd-logind, the systemd user manager) keep
their process name; ``sudo`` lines carry no pid, a shape the syslog style does not have, and are
left out.
"""

from __future__ import annotations

import hashlib
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
#: The header line of ``log show --style syslog``.
HEADER = "Timestamp                       (process)[PID]"


def convert(src: Path, dst: Path) -> list[str]:
    """Write ``servers/<host>/unified.log`` under ``dst`` for every ``servers/<host>/auth.log``
    under ``src``; return the relative paths written (sorted)."""
    written = []
    for log in sorted((Path(src) / "servers").glob("*/auth.log")):
        host = log.parent.name
        rel = f"servers/{host}/unified.log"
        out = Path(dst) / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        lines, last_s = _lines(host, log.read_text(encoding="utf-8").splitlines())
        out.write_text("".join(ln + "\n" for ln in [HEADER, *lines]), encoding="utf-8")
        if last_s is not None:
            os.utime(out, (last_s, last_s))
        written.append(rel)
    return written


def _lines(host: str, lines: list[str]) -> tuple[list[str], int | None]:
    """The unified log lines of one auth.log, and the last line's epoch second."""
    parsed: list[tuple[int, int, re.Match[str]]] = []  # (epoch s, auth.log line, match)
    for n, ln in enumerate(lines, 1):
        m = _LINE.match(ln)
        if m is None:
            raise ValueError(f"{host}/auth.log: not an RFC 3164 line: {ln!r}")
        if m["pid"] is not None:
            parsed.append((_epoch(m), n, m))
    out = []
    i = 0
    while i < len(parsed):  # the lines of one second get increasing fractions
        j = i
        while j < len(parsed) and parsed[j][0] == parsed[i][0]:
            j += 1
        fracs = sorted(_fraction(host, n) for _, n, _ in parsed[i:j])
        for (sec, _, m), us in zip(parsed[i:j], fracs, strict=True):
            when = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%d %H:%M:%S")
            out.append(f"{when}.{us:06d}+0000  {m['host']} {m['prog']}[{m['pid']}]: {m['msg']}")
        i = j
    return out, (parsed[-1][0] if parsed else None)


def _fraction(host: str, line: int) -> int:
    """A deterministic microsecond fraction for auth.log line ``line`` of ``host``."""
    return int(hashlib.sha256(f"agenttrail-sim-ulog/{host}/{line}".encode()).hexdigest()[:8],
               16) % 1_000_000


def _epoch(m: re.Match[str]) -> int:
    hh, mm, ss = (int(x) for x in m["hms"].split(":"))
    when = datetime(YEAR, _MONTHS.index(m["mon"]) + 1, int(m["day"]), hh, mm, ss, tzinfo=UTC)
    return int(when.timestamp())
