"""utmp/wtmp entries → ``session`` and ``login`` rows (FORMATS §4.8), shared by the binary reader
(:mod:`agenttrail.readers.wtmp`) and the ``utmpdump`` text reader
(:mod:`agenttrail.readers.utmpdump`).

A reader turns its file into an *entry table* with the columns of :data:`ENTRY` (one row per
record, ``src_line`` its ordinal or line) and calls :func:`finish`. Then, in SQL:

* by ``ut_type``: USER_PROCESS (7) → a ``session`` row, action ``login``; DEAD_PROCESS (8) →
  action ``logout``; BOOT_TIME (2) → action ``boot``; RUN_LVL (1) written by a shutdown (user
  ``shutdown``) → action ``shutdown``. Those are ``normalised``; every other type is
  ``skipped_by_type`` under its name (``run_lvl``, ``empty``, ``new_time``, ``old_time``,
  ``init_process``, ``login_process``, ``accounting``). A type outside 0–9 or a microsecond value
  outside 0–999999 means the record is not a utmp record (a shifted or damaged file): malformed.
* **Pairing.** A login ends at the first later record (in file order, as ``last`` reads it) that
  is a USER_PROCESS or DEAD_PROCESS on the **same** ``ut_line`` (match on the line, not the pid),
  or a boot or shutdown record (the system went down, or crashed); its ``end_time`` is that
  record's time, NULL when nothing ends it. A boot ends at the next boot or shutdown. Unlike
  ``last``, records are taken by their ``ut_type``: ``last`` also treats any record with a user
  and a line as a login, which only matters for crafted files.
* A login with a remote host (a non-zero ``ut_addr_v6``, or a ``ut_host`` that is an address or a
  DNS name, not an X display ``:0``) also gives a port-less ``login`` row: result ``accepted``,
  source ``wtmp``, ``src_ip`` the address, else the host name (``UseDNS yes``).
* A ``source_span`` row per host with ``sshd_records = 0``: wtmp proves logins but never their
  absence (sshd writes it only for sessions with a pty; ``scp``, ``sftp``, commands and ``ssh -N``
  leave nothing), so it never makes a flow evaluable for a missing login.

Host: ``ctx.host`` (utmp records carry none: ``NEEDS_HOST``); ``host_inferred`` when it came
from ``--host``. Times are UTC (``ut_tv``), never inferred.
"""

from __future__ import annotations

import uuid

from agenttrail.model import FileAccount, Issue, ReadResult
from agenttrail.readers._io import ReadContext, excerpt
from agenttrail.readers._syslog import lit

SOURCE = "wtmp"

#: ``ut_type`` values (glibc ``<utmp.h>``) and the accounting name of the skipped ones.
TYPES = {
    0: "empty", 1: "run_lvl", 2: "boot_time", 3: "new_time", 4: "old_time",
    5: "init_process", 6: "login_process", 7: "user_process", 8: "dead_process", 9: "accounting",
}

#: Columns of an entry table (name → DuckDB type).
ENTRY: dict[str, str] = {
    "src_line": "BIGINT",  # record ordinal (binary) or line (text)
    "ut_type": "BIGINT",
    "pid": "BIGINT",
    "tty": "VARCHAR",  # ut_line
    "ut_id": "VARCHAR",
    "user": "VARCHAR",
    "ut_host": "VARCHAR",
    "addr": "VARCHAR",  # ut_addr_v6 as address text; NULL when all zero
    "t_us": "BIGINT",
    "error": "VARCHAR",  # why the record is malformed (NULL: it is not)
    "excerpt": "VARCHAR",
}

_DNS_NAME = r"'^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$'"
# a dotted quad, or an IPv6 address (two colons at least, so an X display ":0.0" is not one)
_IP_LIKE = r"'^([0-9]{1,3}\.){3}[0-9]{1,3}$|^[0-9A-Fa-f]*:[0-9A-Fa-f]*:[0-9A-Fa-f:.]*(%\S+)?$'"


def finish(ctx: ReadContext, result: ReadResult, entries: str, *, fmt: str) -> None:
    """Rows and accounting for the entry table ``entries``; ``fmt`` is the reader's name."""
    account = result.account
    con = ctx.con
    rec = f"_utmp_rec_{uuid.uuid4().hex[:12]}"
    try:
        con.execute(f"CREATE TEMP TABLE {rec} AS {_status_sql(ctx, entries)}")
        _account(ctx, account, rec)
        inferred = "NULL" if ctx.host is None else str(ctx.host_origin == "option").lower()
        common = (f"{lit(ctx.host) if ctx.host else 'NULL::VARCHAR'} AS host, "
                  f"{inferred}::BOOLEAN AS host_inferred, {lit(ctx.rel)} AS src_file, src_line, "
                  f"{lit(fmt)} AS src_format")
        session = con.sql(f"""
            SELECT t_us, end_us AS end_time_us, {common}, 'utmp' AS kind, action,
                NULLIF(user, '') AS "user", CASE WHEN action = 'login' THEN true END AS success,
                remote AS source_ip, NULLIF(pid, 0) AS pid
            FROM {rec} WHERE status = 'normalised' ORDER BY src_line""").to_arrow_table()
        result.add("session", session)
        login = con.sql(f"""
            SELECT t_us, {common}, NULLIF(user, '') AS "user", remote AS src_ip,
                'accepted' AS result, NULLIF(pid, 0) AS pid, {lit(SOURCE)} AS source,
                false AS time_inferred, false AS year_inferred
            FROM {rec} WHERE status = 'normalised' AND action = 'login' AND remote IS NOT NULL
            ORDER BY src_line""").to_arrow_table()
        result.add("login", login)
        span = con.sql(f"""
            SELECT {lit(ctx.host) if ctx.host else 'NULL::VARCHAR'} AS host,
                {lit(SOURCE)} AS source, {lit(fmt)} AS format, NULL::VARCHAR AS program,
                min(t_us) AS first_t_us, max(t_us) AS last_t_us, count(*) AS records,
                0 AS sshd_records
            FROM {rec} WHERE status NOT IN ('malformed', 'unread', 'meta')
            HAVING count(*) > 0""").to_arrow_table()
        result.add("source_span", span)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {rec}")


def _status_sql(ctx: ReadContext, entries: str) -> str:
    names = " ".join(f"WHEN {k} THEN '{v}'" for k, v in TYPES.items())
    limit = int(ctx.max_consecutive_malformed)
    return f"""
    WITH e AS (
        SELECT *, CASE
                WHEN error IS NOT NULL THEN 'malformed'
                WHEN ut_type = 7 THEN 'login' WHEN ut_type = 8 THEN 'logout'
                WHEN ut_type = 2 THEN 'boot'
                WHEN ut_type = 1 AND user = 'shutdown' THEN 'shutdown' END AS action,
            CASE WHEN error IS NOT NULL THEN 'malformed'
                 WHEN ut_type IN (2, 7, 8) OR (ut_type = 1 AND user = 'shutdown')
                    THEN 'normalised'
                 ELSE CASE ut_type {names} END END AS status0
        FROM {entries}),
    -- the next login/logout on the same line, and the next boot or shutdown, in file order
    l AS (
        SELECT src_line, lead(t_us) OVER (PARTITION BY tty ORDER BY src_line) AS line_end_us,
            lead(src_line) OVER (PARTITION BY tty ORDER BY src_line) AS line_end_at
        FROM e WHERE action IN ('login', 'logout')),
    y AS (SELECT src_line AS sys_end_at, t_us AS sys_end_us FROM e
          WHERE action IN ('boot', 'shutdown')),
    s AS (
        SELECT e.*, l.line_end_us, l.line_end_at, y.sys_end_at, y.sys_end_us
        FROM e LEFT JOIN l USING (src_line)
        ASOF LEFT JOIN y ON e.src_line < y.sys_end_at),
    p AS (
        SELECT *,
            CASE WHEN action = 'login' THEN CASE
                     WHEN line_end_at IS NOT NULL
                          AND (sys_end_at IS NULL OR line_end_at < sys_end_at) THEN line_end_us
                     ELSE sys_end_us END
                 WHEN action = 'boot' THEN sys_end_us END AS end_us,
            CASE WHEN action = 'login' AND (
                    (addr IS NOT NULL AND addr NOT IN ('0.0.0.0', '::'))
                    OR regexp_matches(ut_host, {_IP_LIKE})
                    OR regexp_matches(ut_host, {_DNS_NAME}))
                 THEN COALESCE(CASE WHEN addr NOT IN ('0.0.0.0', '::') THEN addr END, ut_host)
                 END AS remote
        FROM s),
    g AS (
        SELECT src_line, status0, SUM(CASE WHEN status0 = 'malformed' THEN 0 ELSE 1 END)
            OVER (ORDER BY src_line ROWS UNBOUNDED PRECEDING) AS run_id
        FROM p),
    ab AS (
        SELECT min(src_line) AS last_read FROM (
            SELECT src_line, row_number() OVER (PARTITION BY run_id ORDER BY src_line) AS n
            FROM g WHERE status0 = 'malformed') WHERE n >= {limit})
    SELECT p.*, CASE WHEN p.src_line > ab.last_read THEN 'unread' ELSE p.status0 END AS status
    FROM p, ab
    """


def _account(ctx: ReadContext, account: FileAccount, rec: str) -> None:
    con = ctx.con
    for status, n in con.execute(f"SELECT status, count(*) FROM {rec} GROUP BY status").fetchall():
        account.count(status, n)
    for line, error, text in con.execute(
            f"SELECT src_line, error, excerpt FROM {rec} WHERE status = 'malformed' "
            "ORDER BY src_line").fetchall():
        account.issues.append(Issue(ctx.rel, line, "malformed", error, excerpt(text or "")))
    if account.unread:
        (last,) = con.execute(
            f"SELECT max(src_line) FROM {rec} WHERE status = 'malformed'").fetchall()[0]
        account.abandoned(last, ctx.max_consecutive_malformed, account.unread, "records",
                          "check that the file is a utmp/wtmp file of this machine's layout")
