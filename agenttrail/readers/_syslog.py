"""Syslog envelopes, verbose-regex plumbing and local-time helpers for the text readers.

Everything before the message of a syslog line is its *envelope* (FORMATS §4.1):

* RFC 3164 / traditional file format: ``Dec 10 09:32:20 LabSZ sshd[24680]: msg`` (day space- or
  zero-padded, or not padded at all: ``Nov 2``); journald ``short-precise`` adds ``.123456``;
* RFC 3339 high precision (``RSYSLOG_FileFormat``, journald ``short-iso``):
  ``2023-11-14T00:20:42.738197+01:00 myserver sshd[1112652]: msg`` (``Z``, no fraction, and an
  offset without colon are accepted);
* RFC 5424: ``<38>1 TS HOST APP PROCID MSGID SD MSG`` where SD is ``-`` or ``[...]`` blocks whose
  quoted values may hold ``]``.

The host may be missing (``Feb 17 17:40:17 sshd[19725]: msg``), the tag may be ``[sshd]:`` or
``[sshd]``, and a program may have no pid (``kernel: msg``) or odd tokens (``syslogd 1.4.1:``).
Lines of the journal short form *without* a timestamp (``srv sshd[13709]: msg``) are recognised
only to say precisely why they cannot be used (:data:`NOTIME`).

Patterns are written verbose and commented (STYLE convention 7) and handed to DuckDB's RE2 through
:func:`compact`; every capturing group is named, and :func:`group_names` gives their positional
order for ``regexp_extract(text, pattern, [names])``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# host, tag and message after the timestamp of RFC 3164 and RFC 3339 lines
_TAG = r"""
    (?:(?P<host>[^\s\[\]]*[^\s\[\]:])\s+)?    # host: no brackets, not ending in ':'; may be missing
    (?:
        \[(?P<bprog>[^\]\s]+)\]               # "[sshd]" (a sender that bracketed its tag)
      | (?P<prog>[^\s\[\]:]+)                 # program: sshd, sshd-session, sshd(pam_unix), CRON
        (?:\[(?P<pid>\d+)\])?                 # [pid], missing for kernel, logrotate ...
    )
    :?\s*                                     # the colon after the tag, usually there
    (?P<msg>.*)$
"""

#: Envelope variants, tried in this order. Group names are shared where the meaning is.
ENVELOPES: dict[str, str] = {
    "rfc5424": r"""
        ^<(?P<pri>\d{1,3})>1\s                # PRI and VERSION
        (?P<ts>\S+)\s                         # RFC 3339 timestamp or "-"
        (?P<host>\S+)\s                       # HOSTNAME or "-"
        (?P<prog>\S+)\s                       # APP-NAME or "-"
        (?P<pid>\S+)\s                        # PROCID or "-"
        (?P<msgid>\S+)\s                      # MSGID or "-"
        (?P<sd>-|(?:\[(?:[^"\]]|"(?:[^"\\]|\\.)*")*\])+)   # SD: "-" or [id k="v"] blocks
        (?:\s(?P<msg>.*))?$
    """,
    "rfc3339": r"""
        ^(?P<date>\d{4}-\d{2}-\d{2})[Tt]      # 2023-11-14T
        (?P<hms>\d{2}:\d{2}:\d{2})            # 00:20:42
        (?P<frac>\.\d+)?                      # .738197
        (?P<tz>[Zz]|[+-]\d{2}:?\d{2})         # +01:00, Z, +0100 (journald short-iso)
        \s+
    """ + _TAG,
    "rfc3164": r"""
        ^(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)
        \s+(?P<day>\d{1,2})                   # "Jun  8", "Jul 05", "Nov 2"
        \s+(?P<hms>\d{2}:\d{2}:\d{2})
        (?P<frac>\.\d+)?                      # journald short-precise
        \s+
    """ + _TAG,
}

#: A journal short-form line without a timestamp: ``srv sshd[13709]: msg`` (not usable: no time).
NOTIME = r"""
    ^(?:(?P<host>[^\s\[\]]*[^\s\[\]:])\s+)?
    (?P<prog>[^\s\[\]:]+)\[(?P<pid>\d+)\]:\s
"""

#: The RFC 3339 timestamp inside an RFC 5424 header.
RFC3339_TS = r"""
    ^(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<hms>\d{2}:\d{2}:\d{2})(?P<frac>\.\d+)?
    (?P<tz>[Zz]|[+-]\d{2}:?\d{2})$
"""

#: Programs whose lines are sshd records: sshd, sshd-session (9.8+), sshd-auth (10.0+), the
#: 2005-era ``sshd(pam_unix)``, with or without a path.
SSHD_PROGRAM = r"^(?:\S*/)?sshd(?:-session|-auth)?(?:\(pam_unix\))?$"


def compact(pattern: str) -> str:
    """A verbose regex with comments and unescaped whitespace removed, for RE2.

    Follows Python's ``re.VERBOSE`` rules: whitespace and ``#`` are literal inside a character
    class and when escaped; ``\\ `` and ``\\#`` become plain characters.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class, class_len = False, 0
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            out.append(nxt if nxt in " #" else c + nxt)
            class_len += in_class
            i += 2
            continue
        if in_class:
            if c == "]" and class_len > 0:
                in_class = False
            elif not (c == "^" and class_len == 0 and out[-1] == "["):
                class_len += 1
            out.append(c)
        elif c == "[":
            in_class, class_len = True, 0
            out.append(c)
        elif c == "#":
            nl = pattern.find("\n", i)
            i = n if nl < 0 else nl
            continue
        elif not c.isspace():
            out.append(c)
        i += 1
    return "".join(out)


@cache
def compiled(pattern: str) -> re.Pattern[str]:
    """The Python compilation of a verbose pattern (for sniffing and tests)."""
    return re.compile(compact(pattern))


def group_names(pattern: str) -> list[str]:
    """Named groups of a verbose pattern in positional order; every group must be named."""
    rx = compiled(pattern)
    if rx.groups != len(rx.groupindex):
        raise ValueError(f"pattern has unnamed capturing groups: {compact(pattern)}")
    return sorted(rx.groupindex, key=rx.groupindex.__getitem__)


def lit(text: str) -> str:
    """A SQL string literal (DuckDB does not treat backslashes in ``'...'`` as escapes)."""
    return "'" + text.replace("'", "''") + "'"


def regex(pattern: str) -> str:
    """A verbose pattern as a SQL literal for ``regexp_matches``/``regexp_extract``."""
    return lit(compact(pattern))


def union_extract(
    src: str, kind_col: str, text_col: str, patterns: dict[str, str], fields: Sequence[str]
) -> str:
    """SQL: every row of ``src`` plus ``fields`` taken from the pattern of its ``kind_col``.

    A row whose kind has no pattern gets NULL fields; an empty group (RE2 cannot tell an empty
    match from a missing optional group) is NULL too.
    """
    parts = []
    for kind, pattern in patterns.items():
        names = group_names(pattern)
        name_list = "[" + ", ".join(lit(nm) for nm in names) + "]"
        cols = ", ".join(
            f"NULLIF(s.{f}, '') AS {f}" if f in names else f"NULL::VARCHAR AS {f}" for f in fields
        )
        parts.append(
            f"SELECT * EXCLUDE (s), {cols} FROM (SELECT *, regexp_extract({text_col}, "
            f"{regex(pattern)}, {name_list}) AS s FROM {src} WHERE {kind_col} = {lit(kind)})"
        )
    others = ", ".join(lit(k) for k in patterns)
    nulls = ", ".join(f"NULL::VARCHAR AS {f}" for f in fields)
    parts.append(
        f"SELECT *, {nulls} FROM {src} WHERE {kind_col} IS NULL OR {kind_col} NOT IN ({others})"
    )
    return "\nUNION ALL\n".join(parts)


def envelope_of(line: str) -> str | None:
    """The envelope a line matches (``notime`` for the timeless journal form), or None."""
    for name, pattern in ENVELOPES.items():
        if compiled(pattern).match(line):
            return name
    m = compiled(NOTIME).match(line)
    if m and compiled(SSHD_PROGRAM).match(m["prog"]):
        return "notime"
    return None


# --- local time -------------------------------------------------------------------------------

_DAY_US = 86_400_000_000
_MIN_US = 60_000_000


def zone(name: str | None) -> ZoneInfo:
    """The zone for zone-less times (UTC when none is configured)."""
    return ZoneInfo(name or "UTC")


def local_year_month(t_us: int, tz: ZoneInfo) -> tuple[int, int]:
    """Year and month of an instant in a zone."""
    dt = datetime.fromtimestamp(t_us / 1e6, tz=tz)
    return dt.year, dt.month


def _wall(tz: ZoneInfo, wall_us: int, fold: int) -> datetime:
    return (datetime(1970, 1, 1, tzinfo=tz) + timedelta(microseconds=wall_us)).replace(fold=fold)


def _offset_us(dt: datetime) -> int:
    off = dt.utcoffset()
    return 0 if off is None else (off.days * 86_400 + off.seconds) * 1_000_000


def day_offsets(days: Iterable[int], tz: ZoneInfo) -> dict[int, int | None]:
    """UTC offset (µs) of each local day (days since 1970-01-01, wall clock) without a transition.

    A day whose offset changes (a DST transition) maps to None; use :func:`minute_offsets`.
    """
    result: dict[int, int | None] = {}
    for d in days:
        offs = {
            _offset_us(_wall(tz, d * _DAY_US + h * 3_600_000_000, fold))
            for h in range(25)
            for fold in (0, 1)
        }
        result[d] = offs.pop() if len(offs) == 1 else None
    return result


def minute_offsets(minutes: Iterable[int], tz: ZoneInfo) -> dict[int, tuple[int, bool]]:
    """``(offset_us with fold=0, ambiguous_or_missing)`` of each local minute since 1970."""
    result = {}
    for m in minutes:
        off0 = _offset_us(_wall(tz, m * _MIN_US, 0))
        off1 = _offset_us(_wall(tz, m * _MIN_US, 1))
        result[m] = (off0, off0 != off1)
    return result


#: Columns of :func:`envelope_sql` besides ``src_line`` and ``text``.
ENVELOPE_OUTPUT = (
    "env", "host", "program", "pid", "msg", "seq", "mon", "day", "date", "hms", "frac", "tz",
    "is_sshd",
)
_ENV_FIELDS = (
    "pri", "ts", "host", "prog", "bprog", "pid", "msgid", "sd", "msg", "date", "hms", "frac",
    "tz", "mon", "day",
)


def envelope_sql(src: str) -> str:
    """SQL splitting the lines of ``src`` (``src_line``, ``text``) into envelope fields.

    ``env`` is ``comment`` (a ``#`` line), a key of :data:`ENVELOPES`, ``notime`` or ``none``.
    The first character picks the one envelope a line can be (``<``, a digit, a letter), so each
    line meets one full pattern. Host ``-`` (RFC 5424 NILVALUE) is NULL; ``seq`` is RFC 5424
    ``sequenceId``.
    """
    ts = ", ".join(f"'{f}'" for f in group_names(RFC3339_TS))
    return f"""
    WITH k AS MATERIALIZED (
        SELECT src_line, text, CASE
            WHEN starts_with(ltrim(text), '#') THEN 'comment'
            WHEN starts_with(text, '<') THEN 'rfc5424'
            WHEN regexp_matches(text, '^[0-9]{{4}}-') THEN 'rfc3339'
            WHEN regexp_matches(text, '^[A-Z][a-z][a-z]\\s') THEN 'rfc3164'
            END AS cand
        FROM {src}),
    u AS ({union_extract("k", "cand", "text", ENVELOPES, _ENV_FIELDS)}),
    v AS (
        SELECT * EXCLUDE (text), CASE
                WHEN cand = 'comment' THEN 'comment'
                WHEN cand IS NOT NULL AND COALESCE(hms, ts) IS NOT NULL THEN cand
                WHEN regexp_matches(text, {regex(NOTIME)}) THEN 'notime'
                ELSE 'none' END AS env,
            CASE WHEN cand = 'rfc5424' THEN regexp_extract(ts, {regex(RFC3339_TS)}, [{ts}])
                 END AS t5
        FROM u),
    w AS (
        SELECT src_line, env,
            NULLIF(host, '-') AS host,
            NULLIF(COALESCE(prog, bprog), '-') AS program,
            TRY_CAST(pid AS BIGINT) AS pid,
            CASE WHEN env = 'rfc5424' THEN ltrim(COALESCE(msg, ''), chr(65279))
                 ELSE COALESCE(msg, '') END AS msg,
            TRY_CAST(NULLIF(regexp_extract(sd, 'sequenceId="(\\d+)"', 1), '') AS BIGINT) AS seq,
            mon, TRY_CAST(day AS INTEGER) AS day,
            CASE WHEN env = 'rfc5424' THEN NULLIF(t5.date, '') ELSE date END AS date,
            CASE WHEN env = 'rfc5424' THEN NULLIF(t5.hms, '') ELSE hms END AS hms,
            CASE WHEN env = 'rfc5424' THEN NULLIF(t5.frac, '') ELSE frac END AS frac,
            CASE WHEN env = 'rfc5424' THEN NULLIF(t5.tz, '') ELSE tz END AS tz
        FROM v)
    SELECT *, COALESCE(regexp_matches(program, {regex(SSHD_PROGRAM)}), false) AS is_sshd FROM w
    """
