"""osquery results logs (``osqueryd.results.log``, ``osqueryd.snapshots.log``) from macOS endpoints.

Example input (one line, event format, values trimmed; FORMATS.md §2.2)::

    {"action":"added","calendarTime":"Mon Mar  2 10:17:50 2026 UTC","columns":{
     "cmdline":"ssh alice@db1 ","egid":"0","env":"SSH_AUTH_SOCK=/private/tmp/com.apple.launchd.X/Listeners
     USER=root ","euid":"0","event_type":"exec","path":"/usr/bin/ssh","pid":"7365",
     "pidversion":"55779","time":"1772446667","uid":"0",...},"counter":"12","decorations":{...},
     "epoch":"0","hostIdentifier":"mac-shared","name":"pack_agenttrail_es_process_events",
     "numerics":false,"unixTime":"1772446670"}

One line is one record (DESIGN §8). A line carries the rows of one scheduled query in one of three
framings: event format (``action`` added/removed and one ``columns`` row), snapshot
(``"snapshot": [rows]``) or batch (``"diffResults": {"added": [rows], "removed": [rows]}``). Packs
name queries freely, so the osquery table is decided by the first row's column set, with the
query name as a hint for queries that select only a few columns (``_osquery_sql.SIGNATURES``):

* ``es_process_events`` → ``process`` (exec, fork, exit). An exec row is the new image; a fork
  row becomes the child (``child_pid``; osquery does not log the child's pidversion) with the
  forking process as parent; ``exit_code`` is the raw wait status, decoded as eslogger's. ``env``
  and ``cmdline`` (elements followed by a space, quoted with backslash escapes when they hold a
  space or ``"``; unquoted before osquery 4.9) are split and reduced inside DuckDB exactly as
  eslogger's (DESIGN §3), then the ssh argv parser fills ``ssh_dest_*``. osquery has no audit
  user or audit session, so ``auid``/``asid`` stay NULL. Since osquery 4.9 the ``euid`` column
  holds the effective *gid* (``audit_token_to_egid``): a row whose ``euid`` equals its ``egid``
  takes the real uid (``uid``) as euid, counted in ``details["euid_from_uid"]``.
* ``process_open_sockets`` → ``socket`` rows with ``action = 'open'`` for AF_UNIX descriptors with
  a path (family ``1``, or ``0`` as osquery's macOS table writes it), at the line's time: evidence
  that the process had that socket open at the poll (no ``st_uid``, no pidversion). Other
  families are counted (``process_open_sockets:af_inet``, ``:af_inet6``, ``:family_N``) and never
  become flows: a poll has no start, no byte counts and misses short connections; flows come from
  flow sensors. AF_UNIX rows without a path (client descriptors: osquery reports the bound path)
  are ``process_open_sockets:af_unix_no_path``.
* ``logged_in_users`` (utmpx) → ``session`` rows (kind ``utmp``): ``added``/snapshot rows are a
  login at the row's ``time``, ``removed`` rows a logout at the poll that no longer saw it.
* ``last`` → ``session`` rows (type 7 login, 8 logout); a login with a remote host also becomes a
  port-less ``login`` row (``source`` ``osquery_last``, result ``accepted``). No ``source_span``:
  wtmp misses non-pty SSH sessions, so it cannot evidence the absence of a login.
* ``interface_addresses`` → ``asset`` rows (host ↔ address from the line's time, open end, origin
  ``osquery``); loopback, link-local, unspecified and multicast addresses are counted, not
  emitted.
* any other query: ``skipped_by_type[<query name>]``.

Within a file, a snapshot row that was already in the previous snapshot of the same query and
host is a continuation: it yields no new row and, when a line holds only such rows, the line is
counted in ``duplicates`` (and ``normalised``). A line is normalised when at least one of its rows
becomes a table row, else skipped by the commonest key of its rows, else malformed (every row
bad). Line-level problems (not an object, no ``name``, no rows container, an event-format
``action`` other than added/removed, no ``unixTime``/``calendarTime``) make the line malformed.
Row columns a table does not document are counted per table in ``unknown_keys``, from the first
20 lines of each query (``details["unknown_keys_records"]`` lines looked at). Duplicate JSON keys:
the first one wins (DuckDB's reading).

The host is the record's ``hostIdentifier`` (``decorations.hostname`` or a top-level ``hostname``
when the identifier is a UUID or missing; ``localhost`` counts as none), else the file's host from
``--host-from-path``/``--host``. ``NEEDS_HOST`` is True because the module flag cannot say "only
when a record has none": give ``--host`` (records with a host keep theirs). Lines without any host
are ``unread`` with one file issue.

References: osquery/osquery ``osquery/events/darwin/endpointsecurity.cpp``, ``es_utils.cpp``,
``osquery/tables/events/darwin/es_process_events.cpp``,
``osquery/tables/system/darwin/process_open_descriptors.cpp``; osquery docs "Logging" (results
formats); ``corpus/macos/osquery_results_event_format_sample.jsonl``.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.addr import halves, parse_ip
from agenttrail.model import SCHEMAS, FileAccount, Issue, ReadResult
from agenttrail.readers import _osquery_sql as q
from agenttrail.readers._io import (
    ReadContext,
    head_lines,
    iter_lines,
    line_excerpts,
    read_ndjson,
)
from agenttrail.readers.eslogger import _with_ssh_targets

NAME = "osquery"
#: Records name their host (``hostIdentifier``, ``decorations.hostname``): the file is read without
#: --host, and only the records without one are reported.
RECORDS_MAY_NAME_HOST = True
EXAMPLE = (
    '{"name":"pack_agenttrail_es_process_events","hostIdentifier":"mac-shared",'
    '"calendarTime":"Mon Mar  2 10:15:19 2026 UTC","unixTime":1772446519,"epoch":0,"counter":12,'
    '"numerics":false,"columns":{"event_type":"exec","pid":"6821","pidversion":"60356",'
    '"parent":"6816","path":"/usr/bin/ssh","cmdline":"ssh alice@db1 ","cwd":"/var/root",'
    '"uid":"0","euid":"0","username":"root","signing_id":"com.apple.openssh",'
    '"platform_binary":"1","env":"SSH_AUTH_SOCK=/private/tmp/com.apple.launchd.gafrfwA94h/Listeners '
    'SUDO_USER=bob ","env_count":"2","time":"1772446519","global_seq_num":"4711",'
    '"seq_num":"811"},"action":"added"}'
)
NEEDS_HOST = True

#: Where each osquery table's rows go.
TARGETS: dict[str, tuple[str, ...]] = {
    "es_process_events": ("process",),
    "process_open_sockets": ("socket",),
    "logged_in_users": ("session",),
    "last": ("session", "login"),
    "interface_addresses": ("asset",),
}
_MAX_WARNINGS = 100
_SAMPLE_PER_QUERY = 20  # lines per query name whose columns are inventoried
_HEAD_MARKERS = (
    re.compile(rb'"(unixTime|calendarTime)"\s*:'),
    re.compile(rb'"(columns|snapshot|diffResults)"\s*:\s*[\[{]'),
)
_ESLOGGER_MARKER = re.compile(rb'"schema_version"\s*:')


def sniff(head: bytes) -> bool:
    """Whether the first record is an osquery result line (``name``, a rows container, a time)."""
    for line in head_lines(head, 5):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        return _is_record(obj)
    first = head.lstrip()[:1]
    return (first == b"{" and not _ESLOGGER_MARKER.search(head)
            and all(m.search(head) for m in _HEAD_MARKERS))


def _is_record(obj: object) -> bool:
    if not isinstance(obj, dict) or "schema_version" in obj or "event" in obj:
        return False
    return (
        isinstance(obj.get("name"), str)
        and any(k in obj for k in ("columns", "snapshot", "diffResults"))
        and any(k in obj for k in ("unixTime", "calendarTime", "hostIdentifier"))
    )


def read(ctx: ReadContext) -> ReadResult:
    """Read one osquery results log into ``process``, ``socket``, ``session``, ``login`` and
    ``asset`` rows, accounting every line."""
    account = FileAccount(path=ctx.rel, format=NAME, host=ctx.host)
    result = ReadResult(account)
    lines = read_ndjson(ctx, q.COLUMNS, account, select=q.SELECT_LIST, prepare=q.PREPARE)
    name = f"_osquery_lines_{id(lines):x}"
    ctx.con.register(name, lines)
    params: dict[str, Any] = {
        "ctx_host": ctx.host,
        "ctx_inferred": ctx.host_origin == "option" if ctx.host is not None else None,
    }
    statuses: list[pa.Table] = []
    try:
        for sig in q.SIGNATURES:
            rows = _table_rows(ctx, name, sig.table, params)
            if rows.num_rows == 0:
                continue
            statuses.append(rows.select(["src_line", "k", "n_rows", "status", "key", "msg"]))
            ok = rows.filter(pc.equal(rows.column("status"), "ok"))
            if sig.table == "es_process_events":
                account.details["euid_from_uid"] = int(
                    pc.sum(pc.fill_null(ok.column("euid_replaced"), False).cast(pa.int64()))
                    .as_py() or 0)
            _emit(ctx, result, sig.table, ok)
        _account(ctx, name, account, statuses, params)
        _unknown_keys(ctx, name, account)
    finally:
        ctx.con.unregister(name)
    replaced = account.details.get("euid_from_uid", 0)
    if replaced:
        account.issues.append(Issue(
            ctx.rel, None, "warning",
            f"es_process_events: `euid` equals `egid` on {replaced} rows whose `uid` differs "
            "(osquery 4.9+ writes the effective gid into `euid`); the real uid was used as euid",
            hint="audit user and effective uid are best taken from eslogger where available"))
    return result


def _table_rows(ctx: ReadContext, name: str, table: str, params: dict[str, Any]) -> pa.Table:
    """The unnested rows of one osquery table with their status and normalised columns."""
    ((snapshots,),) = ctx.con.sql(
        f"SELECT count(*) FROM {name} WHERE tbl = '{table}' AND shape = 'snapshot'").fetchall()
    unnest = q.UNNEST_SQL if snapshots else q.UNNEST_PLAIN_SQL
    base = unnest.replace("{rows}", name).replace("{table}", table)
    pre = q.PRE_STATUS.get(table)
    src = f"(SELECT *, {pre} FROM ({base}))" if pre else f"({base})"
    join = ""
    addr_name = None
    if table == "interface_addresses":
        addr_name = f"_osquery_addr_{id(params):x}"
        ctx.con.register(addr_name, _addresses(ctx, name))
        join = f"LEFT JOIN {addr_name} a ON a.raw = x.c.address"
    sql = f"""
        SELECT src_line, x.k AS k, row_key, host, host_inferred,
               {q.STATUS[table]}, {q.OUTPUT[table]}, n_rows
        FROM {src} {join}
        ORDER BY src_line, k
    """
    try:
        return ctx.con.sql(sql, params=params).to_arrow_table()
    finally:
        if addr_name:
            ctx.con.unregister(addr_name)


def _addresses(ctx: ReadContext, name: str) -> pa.Table:
    """The distinct interface addresses of the file, canonical, with their kind."""
    raw = [r for (r,) in ctx.con.sql(f"""
        SELECT DISTINCT x.c.address FROM (
            SELECT unnest(rws_out) AS x FROM {name} WHERE tbl = 'interface_addresses')
        WHERE x.c.address IS NOT NULL ORDER BY 1
    """).fetchall()]
    out: dict[str, list[Any]] = {"raw": [], "ip": [], "hi": [], "lo": [], "kind": []}
    for value in raw:
        ip = parse_ip(value)
        kind = "invalid" if ip is None else _address_kind(ip)
        hi, lo = halves(ip) if ip is not None else (None, None)
        for key, v in (("raw", value), ("ip", str(ip) if ip else None), ("hi", hi), ("lo", lo),
                       ("kind", kind)):
            out[key].append(v)
    return pa.table({
        "raw": pa.array(out["raw"], pa.string()), "ip": pa.array(out["ip"], pa.string()),
        "hi": pa.array(out["hi"], pa.int64()), "lo": pa.array(out["lo"], pa.int64()),
        "kind": pa.array(out["kind"], pa.string()),
    })


def _address_kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link_local"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    return "ok"


def _emit(ctx: ReadContext, result: ReadResult, table: str, ok: pa.Table) -> None:
    """Add the ``ok`` rows of one osquery table to their normalised tables."""
    if ok.num_rows == 0:
        return
    if table == "es_process_events":
        ok = _with_ssh_targets(ctx, ok, key="row_key")
    source = {"src_file": ctx.rel, "src_format": NAME}
    for target in TARGETS[table]:
        rows = ok
        if target == "login":
            remote = pc.and_(pc.equal(rows.column("action"), "login"),
                             pc.is_valid(rows.column("source_ip")))
            rows = rows.filter(pc.fill_null(remote, False))
            if rows.num_rows == 0:
                continue
            rows = rows.rename_columns(
                ["src_ip" if c == "source_ip" else c for c in rows.column_names])
            rows = _with(rows, result="accepted", source="osquery_last")
        if target != "asset":  # assets carry no source reference
            rows = _with(rows, **source)
        names = SCHEMAS[target].names
        result.add(target, rows.select([c for c in rows.column_names if c in names]))


def _with(table: pa.Table, **values: str) -> pa.Table:
    for col, value in values.items():
        table = table.append_column(col, pa.repeat(pa.scalar(value, pa.string()), table.num_rows))
    return table


_ACCOUNT_SQL = """
WITH per_line AS (
    SELECT src_line, max(n_rows) AS n_rows,
           count(*) FILTER (WHERE status = 'ok') AS n_ok,
           count(*) FILTER (WHERE status = 'dup') AS n_dup,
           count(*) FILTER (WHERE status = 'skip') AS n_skip
    FROM {st} GROUP BY src_line
), keys AS (
    SELECT src_line, key FROM (
        SELECT src_line, key, row_number() OVER (
            PARTITION BY src_line ORDER BY count(*) DESC, key) AS rn
        FROM {st} WHERE status = 'skip' GROUP BY src_line, key)
    WHERE rn = 1
)
SELECT CASE WHEN n_ok > 0 THEN 'normalised' WHEN n_dup > 0 THEN 'duplicate'
            WHEN n_skip > 0 THEN 'skip' ELSE 'malformed' END AS outcome,
       CASE WHEN n_ok = 0 AND n_dup = 0 THEN k.key END AS key, count(*) AS n
FROM per_line p LEFT JOIN keys k USING (src_line)
GROUP BY ALL ORDER BY ALL
"""


def _account(ctx: ReadContext, name: str, account: FileAccount, statuses: list[pa.Table],
             params: dict[str, Any]) -> None:
    """Normalised, skipped, duplicate, malformed and unread lines, and the issues."""
    bad_lines = ctx.con.sql(f"""
        SELECT src_line, problem FROM {name} WHERE problem IS NOT NULL ORDER BY src_line
    """).fetchall()
    skipped = ctx.con.sql(f"""
        SELECT coalesce(name, ''), count(*) FROM {name}
        WHERE problem IS NULL AND tbl IS NULL AND coalesce(rec_host, $ctx_host) IS NOT NULL
        GROUP BY ALL ORDER BY ALL
    """, params={"ctx_host": params["ctx_host"]}).fetchall()
    queries = ctx.con.sql(f"""
        SELECT name, min(tbl) FROM {name} WHERE problem IS NULL AND name IS NOT NULL
        GROUP BY name ORDER BY name
    """).fetchall()
    ((hostless,),) = ctx.con.sql(f"""
        SELECT count(*) FROM {name}
        WHERE problem IS NULL AND coalesce(rec_host, $ctx_host) IS NULL
    """, params={"ctx_host": params["ctx_host"]}).fetchall()
    account.details["queries"] = dict(queries)
    for query, n in skipped:
        account.skip(query or "(no name)", n)
    if hostless:
        account.unread += hostless
        account.issues.append(Issue(
            ctx.rel, None, "file",
            f"{hostless} osquery records carry no host (no hostIdentifier) and none was given; "
            "not read",
            hint="name the host with --host NAME or --host-from-path '{host}/*'"))
    malformed_lines: dict[int, str] = dict(bad_lines)
    if statuses:
        st = pa.concat_tables(statuses)
        st_name = f"_osquery_status_{id(st):x}"
        ctx.con.register(st_name, st)
        try:
            outcomes = ctx.con.sql(_ACCOUNT_SQL.replace("{st}", st_name)).fetchall()
            bad_rows = ctx.con.sql(f"""
                SELECT src_line, k, n_rows, msg,
                       bool_or(status IN ('ok', 'dup', 'skip')) OVER (PARTITION BY src_line)
                FROM {st_name} QUALIFY status = 'bad' ORDER BY src_line, k
            """).fetchall()
        finally:
            ctx.con.unregister(st_name)
        for outcome, key, n in outcomes:
            if outcome == "normalised":
                account.normalised += n
            elif outcome == "duplicate":
                account.normalised += n
                account.duplicates += n
            elif outcome == "skip":
                account.skip(key, n)
        warnings = 0
        for line, k, n_rows, msg, line_used in bad_rows:
            text = msg if n_rows == 1 else f"row {k} of {n_rows}: {msg}"
            if not line_used:
                malformed_lines.setdefault(line, text)
            elif warnings < _MAX_WARNINGS:
                warnings += 1
                account.issues.append(Issue(ctx.rel, line, "warning", text))
    texts = line_excerpts(ctx, set(malformed_lines))
    for line, problem in sorted(malformed_lines.items()):
        account.issues.append(Issue(ctx.rel, line, "malformed", problem, texts.get(line, "")))
    account.malformed += len(malformed_lines)


def _unknown_keys(ctx: ReadContext, name: str, account: FileAccount) -> None:
    """Row columns not documented for the table, from the first lines of each query (counted in
    lines; ``details["unknown_keys_records"]`` says how many lines were looked at)."""
    sample = dict(ctx.con.sql(f"""
        SELECT src_line, tbl FROM (
            SELECT src_line, tbl, row_number() OVER (PARTITION BY name ORDER BY src_line) AS n
            FROM {name} WHERE problem IS NULL AND tbl IS NOT NULL)
        WHERE n <= {_SAMPLE_PER_QUERY} ORDER BY src_line
    """).fetchall())
    documented = {s.table: set(s.documented) for s in q.SIGNATURES}
    counts: dict[str, dict[str, int]] = {}
    for line, raw in _raw_lines(ctx, set(sample)).items():
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        diff = obj.get("diffResults") if isinstance(obj.get("diffResults"), dict) else {}
        found: set[str] = set()
        for part in ([obj.get("columns")], obj.get("snapshot"), diff.get("added"),
                     diff.get("removed")):
            if isinstance(part, list):
                found.update(k for r in part if isinstance(r, dict) for k in r)
        table = sample[line]
        for key in sorted(found - documented[table]):
            counts.setdefault(table, {})[key] = counts.get(table, {}).get(key, 0) + 1
    account.unknown_keys = counts
    account.details["unknown_keys_records"] = len(sample)


def _raw_lines(ctx: ReadContext, lines: set[int]) -> dict[int, bytes]:
    """The given lines as bytes (the file is read again only when there are such lines)."""
    found: dict[int, bytes] = {}
    if not lines:
        return found
    last = max(lines)
    for line, raw, _ in iter_lines(ctx.path, ctx.max_line_bytes):
        if line in lines and raw is not None:
            found[line] = raw
        if line >= last:
            break
    return found
