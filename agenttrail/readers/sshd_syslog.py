"""sshd records in syslog text files (auth.log, secure, messages; RFC 3164, RFC 3339, RFC 5424).

Example input (FORMATS §4.1, §4.3)::

    Dec 10 09:32:20 LabSZ sshd[24680]: Accepted password for fztu from 119.137.62.142 port 49116 ssh2
    2023-11-14T00:20:42.738197+01:00 myserver sshd-session[1112652]: Connection closed by ...
    <38>1 2022-01-19T14:23:55+00:00 OPNsense.localdomain sshd 44255 - [meta sequenceId="1"] ...

Output: one ``login`` row per sshd line that matches a message template of
:mod:`agenttrail.readers._sshd_messages`, and one ``source_span`` row per (host, program) covering
every usable line of the file, whatever its program (DESIGN §5 login coverage).

A last line without a final newline that does not read as a whole record is malformed
("truncated last line"); a line that is not UTF-8 is read as Latin-1 and gets a warning with its
line.

Accounting: ``#`` lines (fail2ban annotations) and blank lines are ``meta``; lines of other
programs are ``skipped_by_type['other_program']``; sshd lines are ``sshd_pam`` (PAM and logind
chatter), ``sshd_partial`` (``Postponed``/``Partial``), ``sshd_unmatched`` or normalised. A line
with no recognisable envelope, no timestamp (the journal short form ``srv sshd[1]: msg``: it cannot
be placed in time, so it is malformed with a hint rather than a row with a NULL time) or an
impossible date is malformed. ``message repeated N times`` makes one row and adds N-1 to
``duplicates``.

Time (DESIGN §3): RFC 3164 lines have no year and no zone. The zone is ``ctx.tz`` (UTC when none:
``time_inferred``); ambiguous or skipped wall times at a DST change take ``fold=0`` and are marked
``time_inferred`` too. The year is walked backwards from the anchor (``ctx.anchor_us``, else the
file's mtime): the last line takes the anchor's year, or the year before when its month is later
than the anchor's; going backwards, each time an earlier line's month is greater than the next
line's, the year steps back. ``ctx.year`` instead fixes the first line's year and rolls forward.
Out-of-order tolerance: a month change where the clock goes back by less than a day (a line relayed
late across a month or year boundary) is not a year boundary. All RFC 3164 lines are
``year_inferred``.

Host (DESIGN §3): the envelope host, lower case, ``localhost`` counting as none; else ``ctx.host``
(``host_inferred``); rows still without a host keep NULL and the file gets one warning.

References: RFC 3164, RFC 5424, openssh-portable ``auth.c``/``packet.c``/``session.c``;
rsyslog ``RSYSLOG_FileFormat``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from agenttrail.model import FileAccount, Issue, ReadResult
from agenttrail.readers import _syslog as sl
from agenttrail.readers._io import (
    ReadContext,
    excerpt,
    head_lines,
    not_utf8_lines,
    read_text_lines,
)
from agenttrail.readers._sshd_messages import login_sql, messages_sql, span_sql

if TYPE_CHECKING:
    import duckdb

NAME = "sshd_syslog"
NEEDS_HOST = False
EXAMPLE = (
    "Mar  2 10:15:19 db1 sshd[4242]: Accepted publickey for alice from 10.10.1.35 port 58583 "
    "ssh2: ED25519 SHA256:sQvstVY7/B5vk0J+y8j+KVXlzY5G3I7Ut8J2TSpaTXY"
)
SOURCE = "syslog"

#: Accounting kind of each skipped line status.
SKIPPED = ("other_program", "sshd_pam", "sshd_partial", "sshd_unmatched")
_SNIFF_LINES = 5
_DAY_S = 86_400
_CUM_DAYS = "[0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]"  # days before each month
_NOTIME_HINT = "export with `journalctl -o short-iso` (or `-o json`) so every line keeps its time"
_HOST_HINT = (
    "name the host with --host-from-path TEMPLATE (e.g. '{host}/auth.log'); --host applies only to "
    "formats whose records never carry a host"
)
_MAX_HOSTS_LISTED = 100


def sniff(head: bytes) -> bool:
    """Whether most of the first non-comment lines have a syslog envelope (any program)."""
    try:
        lines = [ln for ln in head_lines(head, 200) if not ln.lstrip().startswith("#")]
        lines = lines[:_SNIFF_LINES]
        hits = sum(sl.envelope_of(ln) is not None for ln in lines)
        return bool(lines) and hits * 5 >= len(lines) * 3
    except Exception:  # "not mine" is never an error (STYLE §3)
        return False


def read(ctx: ReadContext) -> ReadResult:
    """Read one syslog file into ``login`` and ``source_span`` rows with exact accounting."""
    account = FileAccount(path=ctx.rel, format=NAME)
    result = ReadResult(account)
    lines = read_text_lines(ctx, account)
    names = {k: f"_sshd_{k}_{uuid.uuid4().hex[:12]}" for k in ("lines", "env", "msg", "rec", "all")}
    con = ctx.con
    con.register(names["lines"], lines)
    offsets: list[str] = []
    try:
        con.execute(f"CREATE TEMP TABLE {names['env']} AS {sl.envelope_sql(names['lines'])}")
        tz, tz_default = _zone(ctx, account, _host_zone(ctx, names["env"]))
        con.execute(
            f"CREATE TEMP TABLE {names['msg']} AS "
            + messages_sql(f"(SELECT * FROM {names['env']} WHERE is_sshd)")
        )
        con.execute(f"CREATE TEMP TABLE {names['rec']} AS {_time_sql(ctx, names['env'], tz)}")
        offsets = _zone_offsets(con, names["rec"], tz)
        status = _status_sql(ctx, names, tz_default, offsets)
        con.execute(f"CREATE TEMP TABLE {names['all']} AS {status}")
        con.execute(f"DROP TABLE {names['env']}")
        cut = _cut_last_line(ctx, names, account.read)
        _account(ctx, account, names, cut)
        _encoding_issues(ctx, account)
        login = login_sql(names["all"], names["msg"], source=SOURCE, fmt=NAME, rel=ctx.rel)
        result.add("login", con.sql(login).to_arrow_table())
        span = span_sql(names["all"], source=SOURCE, fmt=NAME)
        result.add("source_span", con.sql(span).to_arrow_table())
    finally:
        con.unregister(names["lines"])
        for view in offsets:
            con.unregister(view)
        for key in ("env", "msg", "rec", "all"):
            con.execute(f"DROP TABLE IF EXISTS {names[key]}")
    return result


def _host_zone(ctx: ReadContext, env: str) -> str | None:
    """The configured zone of the one host a file's lines name (``[hosts."x"] tz``)."""
    if ctx.host is not None or not ctx.host_zones:
        return None  # a host from the path already chose ctx.tz
    hosts = ctx.con.sql(
        f"SELECT DISTINCT lower(host) FROM {env} WHERE host IS NOT NULL LIMIT 2"
    ).fetchall()
    if len(hosts) != 1:
        return None
    return ctx.host_zones.get(hosts[0][0])


def _zone(
    ctx: ReadContext, account: FileAccount, host_zone: str | None = None
) -> tuple[ZoneInfo, bool]:
    """The zone for RFC 3164 lines and whether it is a default."""
    name = host_zone or ctx.tz
    if not name:
        return sl.zone(None), True
    try:
        return ZoneInfo(name), False
    except (ZoneInfoNotFoundError, ValueError):
        account.issues.append(
            Issue(ctx.rel, None, "warning", f"unknown time zone {name!r}; RFC 3164 times read "
                  "as UTC and marked inferred", hint="use an IANA zone name such as Europe/Berlin")
        )
        return sl.zone(None), True


def _anchor(ctx: ReadContext) -> int:
    if ctx.anchor_us is not None:
        return ctx.anchor_us
    return ctx.path.stat().st_mtime_ns // 1000


def _time_sql(ctx: ReadContext, env: str, tz: ZoneInfo) -> str:
    """Envelope rows with ``wall_us`` (local wall clock as if UTC), ``off_us`` for explicit
    offsets and ``year`` for RFC 3164 lines (the year walk, vectorised with window functions)."""
    if ctx.year is not None:
        year = (f"{int(ctx.year)} + SUM(step) OVER (ORDER BY src_line ROWS UNBOUNDED PRECEDING)"
                " - step")
    else:
        a_year, a_month = sl.local_year_month(_anchor(ctx), tz)
        year = (
            f"{a_year} - CASE WHEN first_value(mon_n) OVER (ORDER BY src_line DESC) > {a_month} "
            "THEN 1 ELSE 0 END - SUM(step) OVER (ORDER BY src_line DESC ROWS UNBOUNDED PRECEDING)"
        )
    months = "[" + ", ".join(f"'{m}'" for m in sl.MONTHS) + "]"
    return f"""
    WITH b AS (
        SELECT src_line, list_position({months}, mon) AS mon_n, day,
            ({_CUM_DAYS}[list_position({months}, mon)] + day) * {_DAY_S}
                + CAST(substr(hms, 1, 2) AS BIGINT) * 3600 + CAST(substr(hms, 4, 2) AS BIGINT) * 60
                + CAST(substr(hms, 7, 2) AS BIGINT) AS pos
        FROM {env} WHERE env = 'rfc3164'),
    s AS (SELECT *, lead(mon_n) OVER w AS next_mon, lead(pos) OVER w AS next_pos
          FROM b WINDOW w AS (ORDER BY src_line)),
    st AS (
        SELECT src_line, mon_n, CASE
            WHEN next_mon < mon_n AND pos - next_pos > {_DAY_S} THEN 1
            WHEN next_mon > mon_n AND next_pos - pos > 364 * {_DAY_S} THEN -1
            ELSE 0 END AS step
        FROM s),
    y AS (SELECT src_line, mon_n, {year} AS year FROM st),
    t AS (
        SELECT e.* EXCLUDE (msg), y.year, y.mon_n,
            CASE WHEN e.env = 'rfc3164' THEN try_strptime(
                    printf('%04d-%02d-%02d %s', y.year, y.mon_n, e.day, e.hms), '%Y-%m-%d %H:%M:%S')
                 ELSE try_strptime(e.date || ' ' || e.hms, '%Y-%m-%d %H:%M:%S') END AS wall,
            CASE WHEN e.frac IS NULL THEN 0
                 ELSE CAST(rpad(substr(e.frac, 2, 6), 6, '0') AS BIGINT) END AS frac_us,
            CASE WHEN e.tz IS NULL THEN NULL WHEN upper(e.tz) = 'Z' THEN 0
                 ELSE (CASE WHEN starts_with(e.tz, '-') THEN -1 ELSE 1 END)
                      * (CAST(substr(e.tz, 2, 2) AS BIGINT) * 3600
                         + CAST(right(e.tz, 2) AS BIGINT) * 60) * 1000000 END AS off_us
        FROM {env} e LEFT JOIN y USING (src_line))
    SELECT * EXCLUDE (wall, frac_us), epoch_us(wall) + frac_us AS wall_us,
        CAST(floor((epoch_us(wall) + frac_us) / 86400e6) AS BIGINT) AS wall_day,
        CAST(floor((epoch_us(wall) + frac_us) / 60e6) AS BIGINT) AS wall_min
    FROM t
    """


def _zone_offsets(con: duckdb.DuckDBPyConnection, rec: str, tz: ZoneInfo) -> list[str]:
    """Register the zone's UTC offsets for the RFC 3164 wall days and minutes of ``rec``.

    Per distinct local day; per distinct minute only on days with a DST transition. Returns the
    names of the registered views (none for UTC).
    """
    if tz.key == "UTC":
        return []
    days = con.execute(
        f"SELECT DISTINCT wall_day FROM {rec} WHERE env = 'rfc3164' AND wall_day IS NOT NULL"
    ).fetchall()
    day_off = sl.day_offsets((d for (d,) in days), tz)
    changing = [d for d, off in day_off.items() if off is None]
    minutes: list[int] = []
    if changing:
        day_list = ", ".join(str(d) for d in changing)
        minutes = [m for (m,) in con.execute(
            f"SELECT DISTINCT wall_min FROM {rec} WHERE env = 'rfc3164' "
            f"AND wall_day IN ({day_list})").fetchall()]
    min_off = sl.minute_offsets(minutes, tz)
    suffix = uuid.uuid4().hex[:12]
    views = [f"_sshd_dayoff_{suffix}", f"_sshd_minoff_{suffix}"]
    con.register(views[0], pa.table({
        "wall_day": pa.array(list(day_off), pa.int64()),
        "day_off": pa.array(list(day_off.values()), pa.int64()),
    }))
    con.register(views[1], pa.table({
        "wall_min": pa.array(list(min_off), pa.int64()),
        "min_off": pa.array([o for o, _ in min_off.values()], pa.int64()),
        "dst_flag": pa.array([f for _, f in min_off.values()], pa.bool_()),
    }))
    return views


def _status_sql(ctx: ReadContext, names: dict[str, str], tz_default: bool,
                offsets: list[str]) -> str:
    """Every line with its UTC time, host, message fields and accounting ``status``."""
    rec = names["rec"]
    if offsets:
        joins = (f"LEFT JOIN {offsets[0]} d USING (wall_day) "
                 f"LEFT JOIN {offsets[1]} m USING (wall_min)")
        local_off, dst = "COALESCE(m.min_off, d.day_off, 0)", "COALESCE(m.dst_flag, false)"
    else:
        joins, local_off, dst = "", "0", "false"
    ctx_host = sl.lit(ctx.host.lower()) if ctx.host else "NULL"
    statuses = {"pam": "sshd_pam", "partial": "sshd_partial", "unmatched": "sshd_unmatched"}
    kind_status = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in statuses.items())
    limit = int(ctx.max_consecutive_malformed)
    return f"""
    WITH r AS (
        SELECT r.*, CASE WHEN env = 'rfc3164' THEN wall_us - {local_off}
                         ELSE wall_us - off_us END AS t_us,
            env = 'rfc3164' AS year_inferred,
            CASE WHEN env = 'rfc3164' THEN {str(tz_default).lower()} OR {dst}
                 ELSE false END AS time_inferred,
            CASE WHEN env = 'rfc3164' THEN {dst} ELSE false END AS dst_flag,
            CASE WHEN lower(host) = 'localhost' THEN NULL ELSE lower(host) END AS host_env
        FROM {rec} r {joins}),
    s AS (
        SELECT r.* EXCLUDE (host), COALESCE(host_env, {ctx_host}) AS host,
            CASE WHEN host_env IS NOT NULL THEN false
                 WHEN {ctx_host} IS NOT NULL THEN true END AS host_inferred,
            m.kind, m.repeats,
            CASE WHEN env = 'comment' THEN 'meta'
                 WHEN env IN ('none', 'notime') OR t_us IS NULL THEN 'malformed'
                 WHEN NOT is_sshd THEN 'other_program'
                 ELSE CASE m.kind {kind_status} ELSE 'normalised' END END AS status
        FROM r LEFT JOIN {names['msg']} m USING (src_line)),
    g AS (
        SELECT src_line, SUM(CASE WHEN status = 'malformed' THEN 0 ELSE 1 END)
            OVER (ORDER BY src_line ROWS UNBOUNDED PRECEDING) AS run_id, status
        FROM s WHERE status <> 'meta'),
    ab AS (
        SELECT min(src_line) AS last_read FROM (
            SELECT src_line, row_number() OVER (PARTITION BY run_id ORDER BY src_line) AS n
            FROM g WHERE status = 'malformed') WHERE n >= {limit})
    SELECT s.* EXCLUDE (status),
        CASE WHEN s.src_line > ab.last_read THEN 'unread' ELSE s.status END AS status
    FROM s, ab
    """


def _cut_last_line(ctx: ReadContext, names: dict[str, str], last: int) -> int | None:
    """The last line when it was cut mid-message (marked malformed in the table), else None.

    A syslog daemon ends every line with a newline, so a last line without one may have been cut
    while being written or copied; it counts as cut when it does not read as a whole record
    (no envelope, an sshd message no template knows, or an ``Accepted``/``Failed`` line whose
    ``ssh2`` or key fingerprint is incomplete). Other programs' lines cannot be judged and stay
    as they are, as does a last line that reads whole (files trimmed by hand often lack the final
    newline).
    """
    size = ctx.path.stat().st_size
    if size == 0:
        return None
    with ctx.path.open("rb") as f:
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return None
    con, rec, msg = ctx.con, names["all"], names["msg"]
    row = con.execute(f"""
        SELECT a.src_line, a.status, m.kind, m.message, m.key_fp FROM {rec} a
        LEFT JOIN {msg} m USING (src_line) ORDER BY a.src_line DESC LIMIT 1""").fetchone()
    if row is None or row[0] != last:
        return None  # the last line is blank or over-long: already accounted
    line, status, kind, message, key_fp = row
    cut = status == "malformed" or status == "sshd_unmatched" or (
        status == "normalised" and kind == "auth" and not _auth_whole(message or "", key_fp))
    if not cut:
        return None
    con.execute(f"UPDATE {rec} SET status = 'malformed' WHERE src_line = ?", [line])
    return int(line)


def _auth_whole(message: str, key_fp: str | None) -> bool:
    """Whether an ``Accepted``/``Failed`` message reads whole: sshd ends it with ``ssh2`` (or
    ``ssh2: <key type> <fingerprint>``), and a SHA256 fingerprint has 43 characters, an MD5 one
    16 hex pairs."""
    if key_fp is None:
        return message.rstrip().endswith(("ssh2", "ssh1"))
    if key_fp.startswith("SHA256:"):
        return len(key_fp) == len("SHA256:") + 43
    if key_fp.startswith("MD5:"):
        return len(key_fp) == len("MD5:") + 47
    return True


#: At most this many lines that are not UTF-8 get an issue each; the rest are counted.
_ENCODING_ISSUES = 20


def _encoding_issues(ctx: ReadContext, account: FileAccount) -> None:
    """An issue for each line that is not UTF-8 (read as Latin-1, and kept)."""
    n = 0
    first_unlisted = None
    for line, raw in not_utf8_lines(ctx.path, ctx.max_line_bytes):
        n += 1
        if n <= _ENCODING_ISSUES:
            account.issues.append(Issue(
                ctx.rel, line, "warning", "line is not valid UTF-8; read as Latin-1",
                excerpt(raw.decode("latin-1")), "check the encoding the log was written in"))
        elif first_unlisted is None:
            first_unlisted = line
    if n:
        account.details["not_utf8_lines"] = n
    if first_unlisted is not None:
        account.issues.append(Issue(
            ctx.rel, first_unlisted, "warning",
            f"{n - _ENCODING_ISSUES} more lines are not valid UTF-8 (from this one on); "
            "read as Latin-1"))


def _account(
    ctx: ReadContext, account: FileAccount, names: dict[str, str], cut: int | None = None
) -> None:
    """Counts, duplicates, malformed and host issues, and the file's host."""
    con, rec, lines = ctx.con, names["all"], names["lines"]
    for status, n in con.execute(f"SELECT status, count(*) FROM {rec} GROUP BY status").fetchall():
        account.count(status, n)
    dup, dst, hostless, first_hostless = con.execute(f"""
        SELECT COALESCE(SUM(repeats - 1) FILTER (status = 'normalised'), 0),
               count(*) FILTER (dst_flag AND status NOT IN ('malformed', 'unread', 'meta')),
               count(*) FILTER (host IS NULL AND status NOT IN ('malformed', 'unread', 'meta')),
               min(src_line) FILTER (host IS NULL AND status NOT IN ('malformed', 'unread', 'meta'))
        FROM {rec}""").fetchone() or (0, 0, 0, None)
    account.duplicates += int(dup)
    if dst:
        account.details["dst_ambiguous_or_missing_times"] = int(dst)
    for line, text, env, wall_us, year in con.execute(f"""
            SELECT src_line, text, env, wall_us, year FROM {rec} JOIN {lines} USING (src_line)
            WHERE status = 'malformed' ORDER BY src_line""").fetchall():
        issue = _malformed(ctx.rel, line, text, env, wall_us, year)
        if line == cut:
            issue = Issue(ctx.rel, line, "malformed", "truncated last line: no final newline and "
                          "the record is incomplete", excerpt(text),
                          "the file was cut while being written or copied")
        account.issues.append(issue)
    if account.unread:
        last = con.execute(f"SELECT max(src_line) FROM {rec} WHERE status = 'malformed'").fetchone()
        account.abandoned(last[0] if last else None, ctx.max_consecutive_malformed,
                          account.unread, hint="check that the file is a syslog file")
    if hostless:
        account.issues.append(Issue(
            ctx.rel, first_hostless, "warning",
            f"{hostless} records have no host (no host in the line, or 'localhost'); their "
            "logins cannot be matched to a destination", hint=_HOST_HINT))
    hosts = [h for (h,) in con.execute(
        f"SELECT DISTINCT host FROM {rec} WHERE host IS NOT NULL "
        "AND status NOT IN ('malformed', 'unread', 'meta') ORDER BY host").fetchall()]
    account.set_hosts(hosts, _MAX_HOSTS_LISTED)


def _malformed(rel: str, line: int, text: str, env: str, wall_us: int | None,
               year: int | None) -> Issue:
    if env == "notime":
        msg, hint = "syslog line without a timestamp (journal short form?)", _NOTIME_HINT
    elif env == "none":
        msg, hint = "no syslog envelope (timestamp, host, program[pid]:)", ""
    elif env == "rfc3164" and year is not None and wall_us is None:
        msg, hint = f"impossible date in inferred year {year}", "give --year or --collected-at"
    else:
        msg, hint = "impossible or missing timestamp", ""
    return Issue(rel, line, "malformed", msg, excerpt(text), hint)
