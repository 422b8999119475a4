"""DuckDB schema and SQL for the osquery results-log reader (FORMATS.md §2.2).

Two stages, like the eslogger reader:

1. ``PREPARE`` and ``SELECT_LIST`` run inside ``read_ndjson`` (one row per line). They gather the
   line's result rows whatever the framing (event format ``columns``, ``snapshot`` arrays, batch
   ``diffResults``), decide the osquery table from the columns present in its first row (and the
   query name as a hint), pick the host and the line's time, and reduce ``es_process_events``
   rows: ``env`` and ``cmdline`` are split and reduced to the kept environment entries and the
   DESIGN §3 argv before anything becomes Arrow; the other columns pass through.
2. Per-table queries over the reduced lines (``{rows}``) unnest the rows, give each a status
   (``ok``, ``dup``: still present in the previous snapshot of its query, ``skip`` with a key,
   ``bad`` with a message) and map the ``ok`` rows to the normalised columns.

A result row is read as one struct of every column the reader knows (``ROW_COLUMNS``, all
``VARCHAR``): a column is present when its field is not NULL (osquery writes ``""`` for an empty
value, never ``null``). This is several times faster than a ``MAP`` and JSON numbers (``numerics``
on) arrive as their text. Columns outside ``ROW_COLUMNS`` are not read here; the reader inventories
them from a sample of lines. Duplicate JSON keys: the first one wins (DuckDB's reading). Numbers are
parsed with ``TRY_CAST`` after ``''`` becomes NULL.
"""

from __future__ import annotations

from dataclasses import dataclass

from agenttrail.readers._eslogger_sql import (
    ENV_COLUMNS,
    ENV_KEEP,
    ENV_RE,
    EXE_CLASSES,
    SSH_CLIENTS,
    norm_path,
    reduce_args,
)


@dataclass(frozen=True)
class Signature:
    """How the columns of a result row identify an osquery table.

    A row set is the table when it has every ``all_of`` column, at least one ``any_of`` column and
    no ``none_of`` column; or when the query name matches ``hint`` and it has every ``minimal``
    column (a query that selects only a few columns).
    """

    table: str
    all_of: tuple[str, ...]
    any_of: tuple[str, ...]
    none_of: tuple[str, ...]
    hint: str
    minimal: tuple[str, ...]
    documented: tuple[str, ...]


#: Tables the reader uses, tried in this order (full signatures first, then name hints).
SIGNATURES: tuple[Signature, ...] = (
    Signature(
        "es_process_events",
        all_of=("pid", "event_type"),
        any_of=("cmdline", "env", "pidversion", "original_parent", "child_pid", "exit_code",
                "global_seq_num", "seq_num", "signing_id", "cdhash", "codesigning_flags",
                "responsible_pid"),
        none_of=("filename", "dest_filename"),  # es_process_file_events
        hint=r"process_events|proc_events|es_process",
        minimal=("pid", "event_type"),
        documented=("version", "seq_num", "global_seq_num", "pid", "pidversion", "path", "parent",
                    "original_parent", "session_id", "responsible_pid", "responsible_pidversion",
                    "parent_pidversion", "cmdline", "cmdline_count", "env", "env_count", "cwd",
                    "uid", "euid", "gid", "egid", "username", "signing_id", "team_id", "cdhash",
                    "platform_binary", "exit_code", "child_pid", "time", "event_type", "eid",
                    "codesigning_flags"),
    ),
    Signature(
        "process_open_sockets",
        all_of=("pid", "family"),
        any_of=("fd", "socket", "path", "local_address", "remote_address", "local_port",
                "remote_port", "state", "protocol"),
        none_of=("action", "auid", "uptime", "success", "eid", "event_type"),  # socket_events
        hint=r"open_sockets|sockets",
        minimal=("pid", "path"),
        documented=("pid", "fd", "socket", "family", "protocol", "local_address",
                    "remote_address", "local_port", "remote_port", "path", "state",
                    "net_namespace"),
    ),
    Signature(
        "logged_in_users",
        all_of=("user", "tty"),
        any_of=("type", "time", "host", "pid"),
        none_of=("username",),
        hint=r"logged_in_users|logged_in",
        minimal=("user",),
        documented=("type", "user", "tty", "host", "time", "pid", "sid", "registry"),
    ),
    Signature(
        "last",
        all_of=("username", "tty"),
        any_of=("type", "type_name", "time", "host", "pid"),
        none_of=("user", "uid", "shell", "directory"),  # users, logged_in_users
        hint=r"(^|_)last($|_)|logins",
        minimal=("username", "time"),
        documented=("username", "tty", "pid", "type", "type_name", "time", "host"),
    ),
    Signature(
        "interface_addresses",
        all_of=("interface", "address"),
        any_of=("mask", "broadcast", "point_to_point", "type", "friendly_name"),
        none_of=(),
        hint=r"interface_addresses|interfaces|addresses",
        minimal=("address",),
        documented=("interface", "address", "mask", "broadcast", "point_to_point", "type",
                    "friendly_name"),
    ),
)
TABLES = tuple(s.table for s in SIGNATURES)

#: Every row column the reader reads: the documented columns of its tables and the columns that
#: tell other tables apart.
ROW_COLUMNS: tuple[str, ...] = tuple(sorted(
    {c for s in SIGNATURES for c in (*s.documented, *s.all_of, *s.any_of, *s.none_of)}))
_SENSITIVE = ("env", "cmdline")
_ROW = "STRUCT(" + ", ".join(f'"{c}" VARCHAR' for c in ROW_COLUMNS) + ")"
#: The explicit read_ndjson schema. Unknown top-level keys are ignored.
COLUMNS = {
    "name": "VARCHAR",
    "hostIdentifier": "VARCHAR",
    "hostname": "VARCHAR",  # the key in osquery's documentation example; real lines use hostIdentifier
    "decorations": "STRUCT(hostname VARCHAR)",
    "calendarTime": "VARCHAR",
    "unixTime": "VARCHAR",
    "epoch": "VARCHAR",
    "counter": "VARCHAR",
    "numerics": "VARCHAR",
    "action": "VARCHAR",
    "columns": _ROW,
    "snapshot": f"{_ROW}[]",
    "diffResults": f"STRUCT(added {_ROW}[], removed {_ROW}[])",
}

# One element of osquery's cmdline/env encoding: elements are written followed by a space; since
# osquery 4.9 an element holding a space or '"' is wrapped in double quotes with '"' and '\'
# backslash-escaped (std::quoted). Older versions joined the elements without any quoting.
_TOKEN_RE = r'"(?:[^"\\]|\\.)*"(?: |$)|[^ ]+'
_QUOTED_RE = r'^"((?:[^"\\]|\\.)*)" ?$'
_KEPT_TOKEN_RE = '^"?(' + "|".join(ENV_KEEP) + ")="
_UUID_RE = "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _unquote(t: str) -> str:
    return (f"CASE WHEN starts_with({t}, '\"') AND regexp_matches({t}, '{_QUOTED_RE}') "
            f"THEN regexp_replace(regexp_extract({t}, '{_QUOTED_RE}', 1), '\\\\(.)', '\\1', 'g') "
            f"ELSE {t} END")


def _present(var: str, cols: tuple[str, ...], op: str) -> str:
    return "(" + f" {op} ".join(f"{var}['{c}'] IS NOT NULL" for c in cols) + ")"


def _classify() -> str:
    full = []
    hinted = []
    for s in SIGNATURES:
        test = f"{_present('r1', s.all_of, 'AND')} AND {_present('r1', s.any_of, 'OR')}"
        if s.none_of:
            test += f" AND NOT {_present('r1', s.none_of, 'OR')}"
        full.append(f"WHEN {test} THEN '{s.table}'")
        hinted.append(f"WHEN regexp_matches(lname, '{s.hint}') AND "
                      f"{_present('r1', s.minimal, 'AND')} THEN '{s.table}'")
    return "CASE " + " ".join(full + hinted) + " END"


_KNOWN = "coalesce(" + ", ".join(f'r."{c}"' for c in ROW_COLUMNS) + ") IS NOT NULL"
_KEEP = "{" + ", ".join(f"'{c}': r.\"{c}\"" for c in ROW_COLUMNS if c not in _SENSITIVE) + "}"


def _no_localhost(expr: str) -> str:
    return (f"CASE WHEN lower(trim({expr})) IN ('', 'localhost', 'localhost.localdomain') "
            f"THEN NULL ELSE trim({expr}) END")


#: Stage 1a (a subquery over read_ndjson): the line's shape, its rows, the table, and the argv
#: of es_process_events rows split once.
PREPARE = f"""
    CASE WHEN columns IS NOT NULL THEN 'event' WHEN snapshot IS NOT NULL THEN 'snapshot'
         WHEN diffResults.added IS NOT NULL OR diffResults.removed IS NOT NULL THEN 'batch'
         END AS shape,
    CASE shape WHEN 'event' THEN [columns] WHEN 'snapshot' THEN snapshot
         WHEN 'batch' THEN list_concat(diffResults.added, diffResults.removed) END AS rws,
    coalesce(len(diffResults.added), 0) AS n_added,
    CASE WHEN shape = 'event' THEN columns ELSE list_filter(rws, lambda r: {_KNOWN})[1] END AS r1,
    lower(coalesce(name, '')) AS lname,
    {_classify()} AS tbl,
    CASE WHEN tbl = 'es_process_events' THEN list_transform(rws, lambda r: {{
        'argv': list_transform(regexp_extract_all(r.cmdline, '{_TOKEN_RE}'),
                               lambda t: {_unquote("t")}),
        'ssh': lower(regexp_extract(r.path, '[^/]*$')) IN ({_sql_list(SSH_CLIENTS)})}})
    END AS px
"""

_ROW_ACTION = ("CASE shape WHEN 'event' THEN action WHEN 'snapshot' THEN 'snapshot' "
               "ELSE CASE WHEN j <= n_added THEN 'added' ELSE 'removed' END END")
_LINE_TIME = (
    "coalesce(CASE WHEN TRY_CAST(unixTime AS BIGINT) > 0 THEN TRY_CAST(unixTime AS BIGINT) "
    "* 1000000 END, epoch_us(try_strptime(regexp_replace(trim(calendarTime), ' +', ' ', 'g'), "
    "'%a %b %d %H:%M:%S %Y UTC')))"
)

#: Stage 1b, evaluated inside read_ndjson: what leaves DuckDB. Every row keeps its columns but
#: ``env`` and ``cmdline`` (as ``c``); es_process_events rows add the kept environment entries and
#: the reduced argv.
SELECT_LIST = f"""
    name, shape, tbl, len(rws) AS n_rows, action,
    {_no_localhost("hostIdentifier")} AS h_id,
    CASE WHEN h_id IS NOT NULL AND NOT regexp_matches(h_id, '{_UUID_RE}') THEN h_id
         ELSE coalesce({_no_localhost("decorations.hostname")}, {_no_localhost("hostname")},
                       h_id) END AS rec_host,
    {_LINE_TIME} AS line_t_us,
    CASE WHEN name IS NULL AND shape IS NULL AND line_t_us IS NULL
         THEN 'not an osquery results record (no name, columns, snapshot, diffResults or time)'
         WHEN name IS NULL THEN 'no `name`'
         WHEN shape IS NULL
         THEN 'no `columns` object, `snapshot` array or `diffResults` object of row arrays'
         WHEN shape = 'event' AND action IS DISTINCT FROM 'added'
              AND action IS DISTINCT FROM 'removed'
         THEN '`action` is ' || coalesce('''' || left(action, 40) || '''', 'missing')
              || ', not added or removed'
         WHEN line_t_us IS NULL
         THEN 'no usable time: `unixTime` ' || coalesce('''' || left(unixTime, 40) || '''',
              'missing') || ', `calendarTime` ' || coalesce('''' || left(calendarTime, 40)
              || '''', 'missing')
         END AS problem,
    CASE WHEN tbl IS NOT NULL THEN list_transform(rws, lambda r, j: {{
        'k': j, 'act': {_ROW_ACTION}, 'known': {_KNOWN},
        'h': CASE WHEN shape = 'snapshot' THEN hash(r) END,
        'c': {_KEEP},
        'argc': CASE WHEN tbl = 'es_process_events' THEN len(px[j].argv) END,
        'args': CASE WHEN tbl = 'es_process_events'
                     THEN {reduce_args("px[j].argv", "px[j].ssh")} END,
        'env_kept': CASE WHEN tbl = 'es_process_events' THEN list_filter(list_transform(
            list_filter(regexp_extract_all(r.env, '{_TOKEN_RE}'),
                        lambda t: regexp_matches(t, '{_KEPT_TOKEN_RE}')),
            lambda t: {_unquote("t")}), lambda e: regexp_matches(e, '{ENV_RE}')) END
    }}) END AS rws_out
"""


def f(col: str) -> str:
    """A text column of the row (``''`` is NULL)."""
    return f"nullif(x.c.\"{col}\", '')"


def i(col: str) -> str:
    """An integer column of the row (``''`` and non-numbers are NULL)."""
    return f"TRY_CAST(nullif(trim(x.c.\"{col}\"), '') AS BIGINT)"


def _seconds(col: str) -> str:
    """Epoch µs of an epoch-seconds column of the row, else the line's time."""
    return f"coalesce(CASE WHEN {i(col)} > 0 THEN {i(col)} * 1000000 END, line_t_us)"


#: The rows of one table with their snapshot continuation flag (``{table}``, ``{rows}``; the host
#: and its origin come in as the parameters ``$ctx_host`` and ``$ctx_inferred``).
UNNEST_SQL = """
WITH u AS (
    SELECT src_line, name, shape, line_t_us, n_rows,
           coalesce(rec_host, $ctx_host) AS host,
           CASE WHEN rec_host IS NOT NULL THEN false WHEN $ctx_host IS NOT NULL
                THEN $ctx_inferred END AS host_inferred,
           unnest(rws_out) AS x
    FROM {rows}
    WHERE problem IS NULL AND tbl = '{table}' AND coalesce(rec_host, $ctx_host) IS NOT NULL
), snaps AS (
    SELECT src_line, dense_rank() OVER (
               PARTITION BY name, coalesce(rec_host, $ctx_host) ORDER BY src_line) AS snap_no
    FROM {rows} WHERE problem IS NULL AND shape = 'snapshot'
), s AS (
    SELECT src_line, x.k AS k, name, host, x.h AS h, snap_no
    FROM u JOIN snaps USING (src_line) WHERE shape = 'snapshot'
), dup AS (
    SELECT DISTINCT s.src_line, s.k FROM s JOIN s p
        ON p.name = s.name AND p.host IS NOT DISTINCT FROM s.host AND p.h = s.h
       AND p.snap_no = s.snap_no - 1
)
SELECT u.*, u.src_line * 100000 + u.x.k AS row_key, d.k IS NOT NULL AS dup
FROM u LEFT JOIN dup d ON d.src_line = u.src_line AND d.k = u.x.k
"""

#: ``UNNEST_SQL`` for a table without snapshot lines (nothing can continue).
UNNEST_PLAIN_SQL = UNNEST_SQL[: UNNEST_SQL.index("), snaps AS")] + """)
SELECT u.*, u.src_line * 100000 + u.x.k AS row_key, false AS dup FROM u
"""

_EV = f"lower({f('event_type')})"
#: Status, skip key and problem of each row, per table: ``(status, key, msg)`` select items over
#: the unnested rows.
STATUS: dict[str, str] = {
    "es_process_events": f"""
        CASE WHEN NOT x.known OR {i('pid')} IS NULL
                  OR ({_EV} = 'fork' AND {i('child_pid')} IS NULL) THEN 'bad'
             WHEN x.act = 'removed' OR {_EV} IS NULL OR {_EV} NOT IN ('exec', 'fork', 'exit')
             THEN 'skip' WHEN dup THEN 'dup' ELSE 'ok' END AS status,
        CASE WHEN x.act = 'removed' THEN 'es_process_events:removed'
             ELSE 'es_process_events:' || coalesce({_EV}, 'no_event_type') END AS key,
        CASE WHEN NOT x.known THEN 'the row has none of the columns of its table (not an object?)'
             WHEN {i('pid')} IS NULL THEN '`pid` is missing or not a number: '
                  || coalesce('''' || left(x.c.pid, 40) || '''', 'absent')
             ELSE 'a fork row without a `child_pid`' END AS msg""",
    "process_open_sockets": f"""
        CASE WHEN NOT x.known OR {i('pid')} IS NULL THEN 'bad'
             WHEN x.act = 'removed' OR fam <> 'af_unix' OR {f('path')} IS NULL THEN 'skip'
             WHEN dup THEN 'dup' ELSE 'ok' END AS status,
        CASE WHEN x.act = 'removed' THEN 'process_open_sockets:removed'
             WHEN fam = 'af_unix' THEN 'process_open_sockets:af_unix_no_path'
             ELSE 'process_open_sockets:' || fam END AS key,
        CASE WHEN NOT x.known THEN 'the row has none of the columns of its table (not an object?)'
             ELSE '`pid` is missing or not a number: '
                  || coalesce('''' || left(x.c.pid, 40) || '''', 'absent') END AS msg""",
    "logged_in_users": f"""
        CASE WHEN NOT x.known THEN 'bad'
             WHEN coalesce(lower({f('type')}), 'user') <> 'user' THEN 'skip'
             WHEN dup THEN 'dup' ELSE 'ok' END AS status,
        'logged_in_users:' || lower({f('type')}) AS key,
        'the row has none of the columns of its table (not an object?)' AS msg""",
    "last": f"""
        CASE WHEN NOT x.known THEN 'bad'
             WHEN x.act = 'removed' OR last_kind IS NULL THEN 'skip'
             WHEN dup THEN 'dup' ELSE 'ok' END AS status,
        CASE WHEN x.act = 'removed' THEN 'last:removed'
             ELSE 'last:' || coalesce(lower({f('type_name')}), 'type_' || {f('type')}, 'no_type')
             END AS key,
        'the row has none of the columns of its table (not an object?)' AS msg""",
    "interface_addresses": """
        CASE WHEN NOT x.known OR a.kind = 'invalid' THEN 'bad'
             WHEN x.act = 'removed' OR a.kind <> 'ok' THEN 'skip'
             WHEN dup THEN 'dup' ELSE 'ok' END AS status,
        CASE WHEN x.act = 'removed' THEN 'interface_addresses:removed'
             ELSE 'interface_addresses:' || a.kind END AS key,
        CASE WHEN NOT x.known THEN 'the row has none of the columns of its table (not an object?)'
             ELSE '`address` is not an IP address: '
                  || coalesce('''' || left(x.c.address, 60) || '''', 'absent') END AS msg""",
}

#: Extra select items each table's status needs, evaluated first.
PRE_STATUS: dict[str, str] = {
    "process_open_sockets": f"""
        CASE WHEN {f('family')} IS NULL OR {f('family')} IN ('0', '1') THEN 'af_unix'
             WHEN {f('family')} = '2' THEN 'af_inet'
             WHEN {f('family')} IN ('10', '30') THEN 'af_inet6'
             ELSE 'family_' || {f('family')} END AS fam""",
    "last": f"""
        CASE WHEN {f('type')} = '7' OR lower({f('type_name')}) = 'user' THEN 'login'
             WHEN {f('type')} = '8' OR lower({f('type_name')}) = 'dead' THEN 'logout'
             END AS last_kind""",
}

_FORK = f"{_EV} = 'fork'"
_CODE_SIGNATURE = f"""
    CASE WHEN platform_binary THEN 'platform'
         WHEN team_id IS NOT NULL THEN 'team'
         WHEN x.c.signing_id IS NULL AND {f('codesigning_flags')} IS NULL THEN 'unknown'
         WHEN signing_id IS NULL OR contains({f('codesigning_flags')}, 'NOT_VALID')
         THEN 'unsigned'
         WHEN contains({f('codesigning_flags')}, 'ADHOC')
              OR regexp_full_match(signing_id, '.+-[0-9a-f]{{16}}') THEN 'adhoc'
         ELSE 'unknown' END AS code_signature"""

#: The normalised columns of each table's ``ok`` rows (select items over the unnested rows).
OUTPUT: dict[str, str] = {
    "es_process_events": f"""
        {_seconds('time')} AS t_us, {i('global_seq_num')} AS src_seq, {_EV} AS action,
        CASE WHEN {_FORK} THEN {i('child_pid')} ELSE {i('pid')} END AS pid,
        CASE WHEN {_FORK} THEN NULL ELSE {i('pidversion')} END AS pidversion,
        CASE WHEN {_FORK} THEN {i('pid')} ELSE {i('parent')} END AS ppid,
        CASE WHEN {_FORK} THEN {i('pidversion')} ELSE {i('parent_pidversion')} END
            AS parent_pidversion,
        {i('uid')} AS ruid,
        CASE WHEN {i('euid')} = {i('egid')} AND {i('uid')} IS NOT NULL THEN {i('uid')}
             ELSE {i('euid')} END AS euid,
        ({i('euid')} = {i('egid')} AND {i('uid')} <> {i('euid')}) AS euid_replaced,
        {i('session_id')} AS session_id,
        {f('path')} AS exe, {f('path')} AS w_exe, lower(regexp_extract(w_exe, '[^/]*$')) AS w_base,
        {norm_path("w_exe")} AS w_norm,
        {f('signing_id')} AS signing_id, {f('team_id')} AS team_id,
        CASE lower(x.c.platform_binary) WHEN '1' THEN true WHEN 'true' THEN true
             WHEN '0' THEN false WHEN 'false' THEN false END AS platform_binary,
        CASE WHEN {_EV} = 'exec' THEN x.args END AS args,
        CASE WHEN {_EV} = 'exec' THEN coalesce({i('cmdline_count')}, x.argc) END AS argc,
        CASE WHEN {_EV} = 'exec' THEN {f('cwd')} END AS cwd,
        CASE WHEN {_EV} = 'exec' THEN x.env_kept END AS env_kept,
        {ENV_COLUMNS},
        'macos' AS platform, {EXE_CLASSES}, {_CODE_SIGNATURE},
        CASE WHEN {_EV} = 'exit' AND ({i('exit_code')} & 127) = 0 THEN {i('exit_code')} >> 8
             END AS exit_status""",
    "process_open_sockets": f"""
        line_t_us AS t_us, 'open' AS action, {i('pid')} AS pid,
        {f('path')} AS socket_path_raw, {norm_path(f('path'))} AS socket_path,
        'macos' AS platform""",
    "logged_in_users": f"""
        CASE WHEN x.act = 'removed' THEN line_t_us ELSE {_seconds('time')} END AS t_us,
        'utmp' AS kind, CASE WHEN x.act = 'removed' THEN 'logout' ELSE 'login' END AS action,
        {f('user')} AS "user", {i('pid')} AS pid,
        CASE WHEN NOT starts_with({f('host')}, ':') THEN {f('host')} END AS source_ip,
        CASE WHEN x.act <> 'removed' THEN true END AS success""",
    "last": f"""
        {_seconds('time')} AS t_us, 'utmp' AS kind, last_kind AS action,
        {f('username')} AS "user", {i('pid')} AS pid,
        CASE WHEN NOT starts_with({f('host')}, ':') THEN {f('host')} END AS source_ip,
        CASE WHEN last_kind = 'login' THEN true END AS success""",
    "interface_addresses": """
        a.ip AS ip, a.hi AS start_hi, a.lo AS start_lo, a.hi AS end_hi, a.lo AS end_lo,
        line_t_us AS valid_from_us, NULL::BIGINT AS valid_to_us, 'osquery' AS origin""",
}
