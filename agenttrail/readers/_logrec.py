"""The common tail of readers whose records are log messages of many programs (journald, the macOS
unified log): classified records → ``login`` and ``source_span`` rows, with exact accounting.

A reader frames its file into a *record table* in DuckDB, one row per record, with the columns of
:data:`INPUT`, and calls :func:`finish`. From there everything is SQL:

* the host is the record's own (lower case, ``localhost`` counting as none), else ``ctx.host``
  (DESIGN §3);
* records the reader already decided (``status`` set: ``meta``, ``malformed`` or a skipped kind)
  keep that status; a record without a usable time is ``malformed``; records of other programs are
  ``skipped_by_type['other_program']`` but still extend their source's coverage span; sshd records
  go through the message catalogue (:mod:`agenttrail.readers._sshd_messages`) and are ``sshd_pam``,
  ``sshd_partial``, ``sshd_unmatched`` or ``normalised`` exactly as syslog lines are;
* after ``ctx.max_consecutive_malformed`` malformed records in a row the rest is ``unread``;
* ``login`` and ``source_span`` rows are built by the catalogue's :func:`login_sql` and
  :func:`span_sql`, so every sshd-text source gives the same rows for the same message.
"""

from __future__ import annotations

import uuid

from agenttrail.model import FileAccount, Issue, ReadResult
from agenttrail.readers._io import ReadContext, excerpt
from agenttrail.readers._sshd_messages import login_sql, messages_sql, span_sql
from agenttrail.readers._syslog import lit

#: Columns of a record table (name → DuckDB type).
INPUT: dict[str, str] = {
    "src_line": "BIGINT",  # line, or record ordinal, of the record
    "t_us": "BIGINT",  # UTC epoch µs; NULL when the record has no usable time
    "host": "VARCHAR",  # the record's own host, or NULL
    "program": "VARCHAR",
    "pid": "BIGINT",
    "msg": "VARCHAR",  # the message text (sshd records are classified from it)
    "seq": "BIGINT",  # the source's sequence number, when it has one
    "is_sshd": "BOOLEAN",  # an sshd, sshd-session or sshd-auth record
    "status": "VARCHAR",  # NULL (classify), 'meta', 'malformed' or a skipped kind
    "problem": "VARCHAR",  # for malformed records: what is wrong
    "excerpt": "VARCHAR",  # the record as text, for issues
    "time_inferred": "BOOLEAN",
}

_STATUSES = {"pam": "sshd_pam", "partial": "sshd_partial", "unmatched": "sshd_unmatched"}
_MAX_HOSTS_LISTED = 100


def finish(
    ctx: ReadContext,
    result: ReadResult,
    records: str,
    *,
    source: str,
    fmt: str,
    ctx_host_inferred: bool | None,
    host_hint: str = "",
    no_time: str = "record without a usable time",
    hints: dict[str, str] | None = None,
) -> None:
    """Classify the records of table ``records``, fill ``result`` and its account.

    ``ctx_host_inferred`` is the ``host_inferred`` value of rows whose host comes from ``ctx``;
    ``host_hint`` is the hint of the warning about records left without a host; ``no_time`` the
    issue message of records without a usable time (unless the reader gave a ``problem``);
    ``hints`` the hint of malformed issues by their message.
    """
    account = result.account
    con = ctx.con
    suffix = uuid.uuid4().hex[:12]
    msg, rec = f"_logrec_msg_{suffix}", f"_logrec_all_{suffix}"
    try:
        con.execute(
            f"CREATE TEMP TABLE {msg} AS " + messages_sql(
                f"(SELECT src_line, program, COALESCE(msg, '') AS msg FROM {records} "
                "WHERE status IS NULL AND t_us IS NOT NULL AND is_sshd)")
        )
        con.execute(f"CREATE TEMP TABLE {rec} AS "
                    + _status_sql(ctx, records, msg, ctx_host_inferred, no_time))
        _account(ctx, account, rec, host_hint, hints or {})
        login = login_sql(rec, msg, source=source, fmt=fmt, rel=ctx.rel)
        result.add("login", con.sql(login).to_arrow_table())
        result.add("source_span", con.sql(span_sql(rec, source=source, fmt=fmt)).to_arrow_table())
    finally:
        con.execute(f"DROP TABLE IF EXISTS {msg}")
        con.execute(f"DROP TABLE IF EXISTS {rec}")


def _status_sql(ctx: ReadContext, records: str, msg: str, ctx_host_inferred: bool | None,
                no_time: str) -> str:
    ctx_host = lit(ctx.host.lower()) if ctx.host else "NULL"
    inferred = "NULL" if ctx_host_inferred is None else str(ctx_host_inferred).lower()
    kinds = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _STATUSES.items())
    limit = int(ctx.max_consecutive_malformed)
    return f"""
    WITH r AS (
        SELECT r.* EXCLUDE (host, status, problem),
            CASE WHEN lower(r.host) IN ('localhost', '') THEN NULL ELSE lower(r.host) END AS own,
            CASE WHEN r.status IS NOT NULL THEN r.status
                 WHEN r.t_us IS NULL THEN 'malformed'
                 WHEN NOT COALESCE(r.is_sshd, false) THEN 'other_program'
                 ELSE CASE m.kind {kinds} ELSE 'normalised' END END AS status,
            CASE WHEN r.status IS NULL AND r.t_us IS NULL THEN COALESCE(r.problem, {lit(no_time)})
                 ELSE r.problem END AS problem,
            m.kind, m.repeats
        FROM {records} r LEFT JOIN {msg} m USING (src_line)),
    s AS (
        SELECT r.* EXCLUDE (own), COALESCE(own, {ctx_host}) AS host,
            CASE WHEN own IS NOT NULL THEN false WHEN {ctx_host} IS NOT NULL THEN {inferred}
                 END AS host_inferred,
            false AS year_inferred
        FROM r),
    g AS (
        SELECT src_line, status, SUM(CASE WHEN status = 'malformed' THEN 0 ELSE 1 END)
            OVER (ORDER BY src_line ROWS UNBOUNDED PRECEDING) AS run_id
        FROM s WHERE status <> 'meta'),
    ab AS (
        SELECT min(src_line) AS last_read FROM (
            SELECT src_line, row_number() OVER (PARTITION BY run_id ORDER BY src_line) AS n
            FROM g WHERE status = 'malformed') WHERE n >= {limit})
    SELECT s.* EXCLUDE (status),
        CASE WHEN s.src_line > ab.last_read THEN 'unread' ELSE s.status END AS status
    FROM s, ab
    """


def _account(ctx: ReadContext, account: FileAccount, rec: str, host_hint: str,
             hints: dict[str, str]) -> None:
    con = ctx.con
    for status, n in con.execute(f"SELECT status, count(*) FROM {rec} GROUP BY status").fetchall():
        account.count(status, n)
    used = "status NOT IN ('malformed', 'unread', 'meta')"
    dup, hostless, first_hostless = con.execute(f"""
        SELECT COALESCE(SUM(repeats - 1) FILTER (status = 'normalised'), 0),
               count(*) FILTER (host IS NULL AND {used}),
               min(src_line) FILTER (host IS NULL AND {used})
        FROM {rec}""").fetchall()[0]
    account.duplicates += int(dup)
    for line, problem, text in con.execute(
            f"SELECT src_line, problem, excerpt FROM {rec} WHERE status = 'malformed' "
            "ORDER BY src_line").fetchall():
        problem = problem or "malformed record"
        account.issues.append(Issue(ctx.rel, line, "malformed", problem, excerpt(text or ""),
                                    hints.get(problem, "")))
    if account.unread:
        (last,) = con.execute(
            f"SELECT max(src_line) FROM {rec} WHERE status = 'malformed'").fetchall()[0]
        account.abandoned(last, ctx.max_consecutive_malformed, account.unread, "records")
    if hostless:
        account.issues.append(Issue(
            ctx.rel, first_hostless, "warning",
            f"{hostless} records have no host (none in the record, or 'localhost'); their "
            "logins cannot be matched to a destination", hint=host_hint))
    hosts = [h for (h,) in con.execute(
        f"SELECT DISTINCT host FROM {rec} WHERE host IS NOT NULL AND {used} "
        "ORDER BY host").fetchall()]
    account.set_hosts(hosts, _MAX_HOSTS_LISTED)
