"""Apple ``eslogger`` JSON lines (Endpoint Security events as JSON), macOS 13 and later.

Example input (one line, trimmed; FORMATS.md §2.1)::

    {"schema_version":1,"version":9,"event_type":78,"time":"2025-08-07T15:13:09.811587464Z",
     "seq_num":0,"global_seq_num":7,"process":{"audit_token":{"pid":4242,"pidversion":1,...},
     "executable":{"path":"\\/usr\\/bin\\/ssh-add",...},...},
     "event":{"uipc_connect":{"file":{"path":"\\/private\\/tmp\\/com.apple.launchd.X\\/Listeners",
     "stat":{"st_uid":501,"st_mode":49536,...}},"domain":1,"type":1,"protocol":0}}}

Records carry no host, so the caller supplies one (``NEEDS_HOST``). The event's name is the single
key of ``event``, which is what the reader dispatches on (never ``event_type``):

* ``exec``, ``fork``, ``exit`` → ``process`` (an exec row is keyed by the new image,
  ``event.exec.target``, with the caller's ``pidversion`` as ``prev_pidversion``);
* ``uipc_connect``, ``uipc_bind`` → ``socket`` (kind, scope and owner are left to normalisation);
* ``lw_session_*``, ``login_*``, ``openssh_*``, ``su``, ``sudo`` → ``session``; ``openssh_login``
  also → ``login`` (the Mac as an SSH destination) and ``openssh_*`` → ``source_span``;
* any other event name is counted in ``skipped_by_type``.

A line is malformed when it is not a JSON object, its ``event`` does not hold exactly one key, or
its ``time`` is not an RFC 3339 time with a zone. Audit tokens are read in both shapes (object, and
the 8-integer array ``[auid, euid, egid, ruid, rgid, pid, asid, pidversion]``); an ``auid`` or
``asid`` of 4294967295 (or -1) is NULL, with ``auid_set = false``. The exec environment and
arguments are reduced inside DuckDB before anything becomes Arrow (``_eslogger_sql``). Sequence
numbers give ``details["seq_gaps"]`` (per event name: missing ``seq_num`` values),
``details["global_seq_gaps"]`` and ``details["restarts"]`` (the global counter going backwards).
Duplicate JSON keys: DuckDB's reading applies (the first one wins).

References: ``man eslogger``; Apple EndpointSecurity headers (``ESMessage.h``, ``ESTypes.h``);
the key map ``corpus/macos/eslogger_keys_macos27_from_macmonitor.json``.
"""

from __future__ import annotations

import json
import re

import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.model import FileAccount, Issue, ReadResult
from agenttrail.readers import _eslogger_keys as keys
from agenttrail.readers import _eslogger_sql as q
from agenttrail.readers._io import ReadContext, head_lines, line_excerpts, read_ndjson
from agenttrail.sshargv import parse_ssh_argv

NAME = "eslogger"
NEEDS_HOST = True
EXAMPLE = (
    '{"schema_version":1,"version":9,"time":"2026-03-02T10:15:01.532Z","event_type":78,'
    '"global_seq_num":4711,"process":{"audit_token":{"pid":6817,"pidversion":9812,"auid":502,'
    '"euid":0},"executable":{"path":"/usr/bin/ssh-add"}},"event":{"uipc_connect":{"file":'
    '{"path":"/private/tmp/com.apple.launchd.gafrfwA94h/Listeners"},"domain":1,"type":1}}}'
)

#: The tables the reader fills, and the query (over the reduced rows) that fills each.
TABLES: tuple[tuple[str, str], ...] = (
    ("process", q.PROCESS_SQL),
    ("socket", q.SOCKET_SQL),
    ("session", q.SESSION_SQL),
    ("login", q.LOGIN_SQL),
)
HANDLED = frozenset(q.HANDLED)

# Markers for a first line too long for the 64 KiB head (a big exec record).
_HEAD_MARKERS = (
    re.compile(rb'"schema_version"\s*:\s*\d'),
    re.compile(rb'"event_type"\s*:\s*\d'),
    re.compile(rb'"event"\s*:\s*\{\s*"[a-z_]+"\s*:'),
)
_DEST_PROGRAMS = ", ".join(f"'{p}'" for p in sorted(q.SSH_DEST_PROGRAMS))
_SSH_RESULT_TYPE = pa.struct([
    ("ssh_dest_host", pa.string()), ("ssh_dest_user", pa.string()),
    ("ssh_dest_port", pa.int64()), ("jump", pa.string()), ("identity_agent", pa.string()),
    ("identity_agent_inferred", pa.bool_()),
])


def sniff(head: bytes) -> bool:
    """Whether the first record is an eslogger event (``schema_version``, ``event_type``, one-key
    ``event``)."""
    for line in head_lines(head, 5):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        return _is_record(obj)
    first = head.lstrip()[:1]
    return first == b"{" and all(m.search(head) for m in _HEAD_MARKERS)


def read(ctx: ReadContext) -> ReadResult:
    """Read one eslogger file into ``process``, ``socket``, ``session``, ``login`` and
    ``source_span`` rows, accounting every line."""
    account = FileAccount(path=ctx.rel, format=NAME, host=ctx.host)
    result = ReadResult(account)
    rows = read_ndjson(ctx, q.COLUMNS, account, select=q.SELECT_LIST, prepare=q.PREPARE)
    name = f"_eslogger_rows_{id(rows):x}"
    ctx.con.register(name, rows)
    try:
        _account(ctx, name, account)
        _sequence_details(ctx, name, account)
        for table, sql in TABLES:
            out = ctx.con.sql(sql.replace("{rows}", name)).to_arrow_table()
            if table == "process":
                out = _with_ssh_targets(ctx, out)
            if out.num_rows:
                result.add(table, _with_source(ctx, out))
        spans = ctx.con.sql(q.SPAN_SQL.replace("{rows}", name)).to_arrow_table()
        sample = ctx.con.sql(
            q.SAMPLE_SQL.replace("{rows}", name).replace("{per_event}", str(keys.SAMPLE_PER_EVENT))
        ).fetchall()
    finally:
        ctx.con.unregister(name)
    if spans.num_rows:
        result.add("source_span", _with_constants(spans, host=ctx.host, source=NAME, format=NAME))
    account.unknown_keys, account.details["unknown_keys_records"] = keys.inventory(
        ctx.path, {line for (line,) in sample}, ctx.max_line_bytes
    )
    return result


def _is_record(obj: object) -> bool:
    if not isinstance(obj, dict) or "schema_version" not in obj:
        return False
    event_type, event = obj.get("event_type"), obj.get("event")
    return (
        isinstance(event_type, int)
        and not isinstance(event_type, bool)
        and isinstance(event, dict)
        and len(event) == 1
    )


def _account(ctx: ReadContext, name: str, account: FileAccount) -> None:
    """Normalised, skipped by type and malformed (records read_ndjson passed as JSON objects)."""
    bad = ctx.con.sql(f"""
        SELECT src_line, n_keys, bad_keys, bad_time FROM {name}
        WHERE n_keys IS DISTINCT FROM 1 OR t_us IS NULL ORDER BY src_line
    """).fetchall()
    texts = line_excerpts(ctx, {line for line, *_ in bad})
    for line, n_keys, bad_keys, bad_time in bad:
        if n_keys is None:
            msg = "`event` is missing, not an object, or repeats a key"
        elif n_keys != 1:
            names = ", ".join(sorted(bad_keys or []))
            msg = f"`event` holds {n_keys} keys ({names}), not exactly one"
        elif bad_time is None:
            msg = "no `time`"
        else:
            msg = f"`time` is not an RFC 3339 time with a zone: {bad_time!r}"
        account.issues.append(Issue(ctx.rel, line, "malformed", msg, texts.get(line, "")))
    account.malformed += len(bad)
    counts = ctx.con.sql(f"""
        SELECT ev, count(*) FROM {name} WHERE n_keys = 1 AND t_us IS NOT NULL
        GROUP BY ev ORDER BY ev
    """).fetchall()
    for ev, n in counts:
        if ev in HANDLED:
            account.normalised += n
        else:
            account.skip(ev, n)


def _sequence_details(ctx: ReadContext, name: str, account: FileAccount) -> None:
    rows = ctx.con.sql(q.SEQ_SQL.replace("{rows}", name)).fetchall()
    account.details["seq_gaps"] = {ev: int(gaps or 0) for ev, gaps, _, _ in rows if ev}
    account.details["global_seq_gaps"] = sum(int(g or 0) for _, _, g, _ in rows)
    account.details["restarts"] = sum(int(r or 0) for _, _, _, r in rows)


def _with_ssh_targets(ctx: ReadContext, process: pa.Table, key: str = "src_line") -> pa.Table:
    """Add the argv parser's destination and agent columns, parsing each distinct argv once.

    Also used by the other readers of exec rows (columns ``action``, ``exe``, ``args``,
    ``env_home``, ``env_user``, ``env_logname``, ``platform`` and ``key``, a column unique per row
    by which each parsed result is placed).
    """
    name = f"_eslogger_proc_{id(process):x}"
    base = "lower(regexp_extract(exe, '[^/]*$'))"
    platform = "coalesce(platform, 'macos')"
    wanted = f"action = 'exec' AND len(args) > 0 AND {base} IN ({_DEST_PROGRAMS})"
    ctx.con.register(name, process)
    try:
        distinct = ctx.con.sql(f"""
            SELECT DISTINCT args, env_home, coalesce(env_user, env_logname), {base}, {platform}
            FROM {name} WHERE {wanted}
        """).fetchall()
        if not distinct:
            return process  # the columns are added as NULL when the rows are conformed
        parsed = pa.table({
            "k_args": pa.array([d[0] for d in distinct], pa.list_(pa.string())),
            "k_home": pa.array([d[1] for d in distinct], pa.string()),
            "k_user": pa.array([d[2] for d in distinct], pa.string()),
            "k_base": pa.array([d[3] for d in distinct], pa.string()),
            "k_platform": pa.array([d[4] for d in distinct], pa.string()),
            "t": pa.array([_ssh_target(*d) for d in distinct], _SSH_RESULT_TYPE),
        })
        kname = f"_eslogger_ssh_{id(parsed):x}"
        ctx.con.register(kname, parsed)
        try:
            matched = ctx.con.sql(f"""
                SELECT p."{key}" AS k_key, k.t FROM {name} p JOIN {kname} k
                  ON p.args = k.k_args AND p.env_home IS NOT DISTINCT FROM k.k_home
                 AND coalesce(p.env_user, p.env_logname) IS NOT DISTINCT FROM k.k_user
                 AND {base} = k.k_base AND {platform} = k.k_platform
                WHERE {wanted}
            """).to_arrow_table()
        finally:
            ctx.con.unregister(kname)
    finally:
        ctx.con.unregister(name)
    # place each parsed result on its row by the row's key
    where = pc.index_in(process.column(key), value_set=matched.column("k_key"))
    found = pc.take(matched.column("t"), where)
    for field in _SSH_RESULT_TYPE:
        process = process.append_column(field.name, pc.struct_field(found, field.name))
    return process


def _ssh_target(
    args: list[str], home: str | None, user: str | None, base: str, platform: str = "macos"
) -> dict[str, object]:
    """The parser's answer for one distinct (argv, HOME, user, program, platform); macOS paths
    are normalised (``/tmp`` under ``/private``), Linux paths kept."""
    target = parse_ssh_argv([base, *args[1:]], home, user)
    agent = target.identity_agent
    if agent is not None and agent.startswith("/") and platform != "linux":
        agent = _mac_path(agent)
    return {
        "ssh_dest_host": target.host,
        "ssh_dest_user": target.user,
        "ssh_dest_port": target.port,
        "jump": target.jump,
        "identity_agent": agent,
        "identity_agent_inferred": target.identity_agent_inferred if agent is not None else None,
    }


def _mac_path(path: str) -> str:
    """The Python twin of ``_eslogger_sql.norm_path``."""
    path = re.sub(r"/{2,}", "/", path)
    return re.sub(r"^/(tmp|var|etc)(/|$)", r"/private/\1\2", path)


def _with_source(ctx: ReadContext, table: pa.Table) -> pa.Table:
    """Add the host and the source reference to every row."""
    inferred = (ctx.host_origin == "option") if ctx.host is not None else None
    return _with_constants(
        table, host=ctx.host, host_inferred=inferred, src_file=ctx.rel, src_format=NAME
    )


def _with_constants(table: pa.Table, **values: str | bool | None) -> pa.Table:
    for col, value in values.items():
        typ = pa.bool_() if col == "host_inferred" else pa.string()
        table = table.append_column(col, pa.repeat(pa.scalar(value, typ), table.num_rows))
    return table
