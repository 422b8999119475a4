"""Login records in ``utmpdump`` text (util-linux), the text form of a utmp/wtmp file.

Example input (FORMATS §4.8)::

    [7] [17058] [ts/1] [kerolasa] [pts/1       ] [:0.0                ] [0.0.0.0        ] [2013-01-16T23:44:09,000000+00:00]

Fields: type, pid, id, user, line, host, address, time; bracketed and space-padded (padding is
trimmed), the time ISO 8601 with a **comma** before the microseconds and a numeric offset.

A sibling of :mod:`agenttrail.readers.wtmp` rather than part of it: the framing differs (text
lines against fixed binary records, so sniffing and malformed records differ) and the report's
``format`` then says which form a file was, while everything after the framing (types, pairing,
rows, the ``wtmp`` login source) is the same code, :mod:`agenttrail.readers._utmp`.

Accounting: one record per line; blank lines are meta; a line that is not eight bracketed fields,
or whose time cannot be read, is malformed. ``NEEDS_HOST``: the records name no host.

Not read: the ``ctime``-style times of utmpdump before util-linux 2.28
(``[Thu Jan 17 00:44:09 2013 CET]``); ``last`` output (no year, local time, cut host names).

References: util-linux ``login-utils/utmpdump.1``; ``tests/expected/utmp``.
"""

from __future__ import annotations

import uuid

from agenttrail.model import FileAccount, ReadResult
from agenttrail.readers import _syslog as sl
from agenttrail.readers import _utmp
from agenttrail.readers._io import ReadContext, head_lines, read_text_lines

NAME = "utmpdump"
EXAMPLE = (
    "[7] [04242] [ts/3] [alice   ] [pts/3       ] [10.10.1.35          ] [10.10.1.35     ] "
    "[2026-03-02T10:15:19,000000+00:00]"
)
NEEDS_HOST = True

#: One utmpdump line.
LINE = r"""
    ^\[(?P<type>-?\d+)\]\ \[(?P<pid>-?\d+)\]
    \ \[(?P<id>[^\]]*)\]                      # ut_id, 4 characters
    \ \[(?P<user>[^\]]*)\]
    \ \[(?P<tty>[^\]]*)\]                     # ut_line
    \ \[(?P<host>[^\]]*)\]
    \ \[(?P<addr>[^\]]*)\]
    \ \[(?P<ts>[^\]]*)\]\s*$
"""

#: Its time: ``2013-01-16T23:44:09,000000+00:00``.
TIME = r"""
    ^(?P<date>\d{4}-\d{2}-\d{2})T(?P<hms>\d{2}:\d{2}:\d{2})
    (?:[,.](?P<frac>\d{1,6}))?
    (?P<tz>Z|[+-]\d{2}:?\d{2})$
"""

_SNIFF = r"^\[\d\]\ \[-?\d+\]\ \["


def sniff(head: bytes) -> bool:
    """Most of the first lines are utmpdump records."""
    try:
        lines = head_lines(head, 5)
        hits = sum(bool(sl.compiled(LINE).match(ln)) for ln in lines)
        return bool(lines) and sl.compiled(_SNIFF).match(lines[0]) is not None and (
            hits * 5 >= len(lines) * 3)
    except Exception:  # "not mine" is never an error (STYLE §3)
        return False


def read(ctx: ReadContext) -> ReadResult:
    """Read one utmpdump text file into ``session``, ``login`` and ``source_span`` rows."""
    account = FileAccount(path=ctx.rel, format=NAME, host=ctx.host)
    result = ReadResult(account)
    lines = read_text_lines(ctx, account)
    name = f"_utmpdump_lines_{uuid.uuid4().hex[:12]}"
    ctx.con.register(name, lines)
    try:
        ctx.con.execute(f"CREATE TEMP TABLE {name}_e AS {_entries_sql(name)}")
        _utmp.finish(ctx, result, f"{name}_e", fmt=NAME)
    finally:
        ctx.con.unregister(name)
        ctx.con.execute(f"DROP TABLE IF EXISTS {name}_e")
    return result


def _entries_sql(lines: str) -> str:
    """The :data:`agenttrail.readers._utmp.ENTRY` table of the lines."""
    fields = ", ".join(f"'{g}'" for g in sl.group_names(LINE))
    parts = ", ".join(f"'{g}'" for g in sl.group_names(TIME))
    return f"""
    WITH a AS (SELECT src_line, text, regexp_extract(text, {sl.regex(LINE)}, [{fields}]) AS f
               FROM {lines}),
    b AS (SELECT *, regexp_extract(f.ts, {sl.regex(TIME)}, [{parts}]) AS t FROM a),
    c AS (
        SELECT *, epoch_us(try_strptime(t.date || ' ' || t.hms, '%Y-%m-%d %H:%M:%S'))
            + CAST(rpad(COALESCE(NULLIF(t.frac, ''), '0'), 6, '0') AS BIGINT)
            - CASE WHEN t.tz IN ('', 'Z') THEN 0
                   ELSE (CASE WHEN starts_with(t.tz, '-') THEN -1 ELSE 1 END)
                        * (CAST(substr(t.tz, 2, 2) AS BIGINT) * 3600
                           + CAST(right(t.tz, 2) AS BIGINT) * 60) * 1000000 END AS t_us
        FROM b)
    SELECT src_line, TRY_CAST(NULLIF(f.type, '') AS BIGINT) AS ut_type,
        TRY_CAST(NULLIF(f.pid, '') AS BIGINT) AS pid, rtrim(f.tty) AS tty,
        rtrim(f.id) AS ut_id, rtrim(f.user) AS user, rtrim(f.host) AS ut_host,
        NULLIF(NULLIF(rtrim(f.addr), '0.0.0.0'), '') AS addr, t_us,
        CASE WHEN f.type = '' THEN 'not a utmpdump record (eight bracketed fields)'
             WHEN t_us IS NULL THEN 'unreadable time ' || f.ts
             WHEN TRY_CAST(f.type AS BIGINT) NOT BETWEEN 0 AND 9
                THEN 'ut_type ' || f.type || ' is not a utmp record type (0-9)'
             END AS error,
        text AS excerpt
    FROM c
    """
