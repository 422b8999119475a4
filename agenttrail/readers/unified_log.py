"""sshd records in the macOS unified log: ``log show`` / ``log stream`` output.

Example input (FORMATS §2.4, §4.7)::

    {"timestamp":"2026-09-13 12:31:09.292032-0700","eventMessage":"Accepted publickey for vagrant
     from 10.211.55.2 port 54807 ssh2: ED25519 SHA256:…","processImagePath":
     "/usr/libexec/sshd-session","senderImagePath":"/usr/libexec/sshd-session","processID":16472,…}
    {"count":2,"finished":1}

    2026-09-13 12:31:09.292032-0700 localhost sshd-session[16472]: Accepted publickey for vagrant …
    2022-12-26 17:48:27.868010-0300 0x2230     Default     0x0    1732   0    sshd: error: PAM: …

Styles, told apart by the first line that is not a header: ``--style ndjson`` (one JSON object
per line; the trailing ``{"count":N,"finished":1}`` record and the ``Filtering the log data …``
first line of ``log stream`` are meta), ``--style json`` (one JSON array; records are its
elements, located by their ordinal, as ``details['record_unit']`` says), and the text styles
``--style syslog`` (``timestamp host process[pid]: (sender) [subsystem:category] message``) and
``default`` (``timestamp thread type activity pid ttl process: (sender) …``), which may be mixed.

Output: one ``login`` row per sshd record whose message matches a template of the sshd message
catalogue (:mod:`agenttrail.readers._sshd_messages`), and one ``source_span`` row per (host,
program) over every usable record (source ``unified_log``). A record is sshd's when its process is
``sshd``, ``sshd-session`` or ``sshd-auth`` *and* so is its sender (the text styles print no
``(sender)`` when the process logged itself): libraries logging inside sshd (libpam, Heimdal,
libsystem_info, Network, CFOpenDirectory …) are ``skipped_by_type['sshd_other_sender']``, other
processes ``other_program``; ndjson records whose ``eventType`` is not ``logEvent`` are
``skipped_by_type['event_<type>']``. All of them extend the coverage span.

Time: ``timestamp`` is local time with its own offset (``2026-09-13 12:31:09.292032-0700``), so
never inferred. Host: the unified log names none (``localhost``), so it comes from ``ctx``
(``NEEDS_HOST``; ``host_inferred`` when given by ``--host``). A syslog-style host other than
``localhost`` is used as the record's own.

Accounting (lines, or array elements): blank lines, ``#`` comment lines (annotations in the
corpus), the ``Filtering the log data`` / ``Timestamp …`` headers and the ``----`` / ``Log -
Default:`` / ``Activity - Create:`` statistics that ``log show`` prints last are meta; a text line
without a timestamp (``sshd-session[76113]: Accepted …``, as quoted in issue threads) or of no known
style, a JSON line that is not an object and a record without a usable ``timestamp`` are malformed.

Not read: ``--style compact``.

References: ``log(1)``; wazuh/wazuh ``ruleset/testing/tests/macos-sshd.ini``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.model import FileAccount, Issue, ReadResult
from agenttrail.readers import _logrec
from agenttrail.readers import _syslog as sl
from agenttrail.readers._io import ReadContext, excerpt, head_lines, read_ndjson, read_text_lines

NAME = "unified_log"
EXAMPLE = (
    "2026-03-02 10:15:19.087301+0000  mac-shared sshd-session[4242]: Accepted publickey for "
    "alice from 10.10.1.35 port 58583 ssh2: ED25519 "
    "SHA256:sQvstVY7/B5vk0J+y8j+KVXlzY5G3I7Ut8J2TSpaTXY"
)
NEEDS_HOST = True
SOURCE = "unified_log"

#: ndjson/json keys read (DuckDB types); other keys are ignored.
COLUMNS: dict[str, str] = {
    "timestamp": "VARCHAR",
    "eventMessage": "VARCHAR",
    "eventType": "VARCHAR",
    "processImagePath": "VARCHAR",
    "senderImagePath": "VARCHAR",
    "processID": "BIGINT",
    "finished": "BIGINT",
}

_TS = r"""
    (?P<date>\d{4}-\d{2}-\d{2})\ (?P<hms>\d{2}:\d{2}:\d{2})(?P<frac>\.\d+)?
    (?P<tz>[+-]\d{2}:?\d{2})                  # -0700
"""

#: Line styles of the text output, tried in this order (the first character decides between a
#: timestamped and a bare line; the thread column tells ``default`` from ``syslog``).
STYLES: dict[str, str] = {
    "default": r"^" + _TS + r"""
        \s+(?P<thread>0x[0-9a-fA-F]+)          # thread id
        \s+(?P<type>[A-Za-z]+)                 # Default, Info, Debug, Error, Fault
        \s+(?P<activity>0x[0-9a-fA-F]+)        # activity id
        \s+(?P<pid>\d+)
        \s+(?P<ttl>\d+)
        \s+(?P<proc>[^:]+?):                   # process name (may hold spaces)
        \ ?(?P<rest>.*)$
    """,
    "syslog": r"^" + _TS + r"""
        \s+(?P<host>\S+)                       # "localhost", one or two spaces before it
        \s+(?P<proc>[^\[\]]+?)\[(?P<pid>\d+)\]:
        \ ?(?P<rest>.*)$
    """,
    "bare": r"""
        ^(?P<proc>[^\s\[\]:\#][^\[\]:]*?)\[(?P<pid>\d+)\]:   # process[pid]: without a time
        \ ?(?P<rest>.*)$
    """,
}

#: What follows ``process[pid]:``: an optional ``(sender)`` and ``[subsystem:category]``.
REST = r"""
    ^(?:\((?P<sender>[^()]*)\)\ )?
    (?:\[(?P<subsystem>[^\[\]:]*):(?P<category>[^\[\]]*)\]\ )?
    (?P<msg>.*)$
"""

#: Lines ``log`` prints around the records (headers and the closing statistics).
META = r"""
    ^(?:\#                                     # corpus annotations
      | Filtering\ the\ log\ data\b
      | Skipping\ info\ and\ debug\ messages\b
      | Timestamp\s+(?:Thread|\(process\)|Ty)
      | -{20,}\s*$
      | Log\s+-\s+Default:
      | Activity\s+-\s+Create:
    )
"""

_FIELDS = ("date", "hms", "frac", "tz", "host", "proc", "pid", "rest")
_SSHD = "'^sshd(-session|-auth)?$'"
_NOTIME = "unified log line without a timestamp"
_NOTIME_HINT = "export with `log show --style ndjson` (or `--style syslog`) so records keep their time"


def sniff(head: bytes) -> bool:
    """ndjson/json objects with ``eventMessage`` and ``machTimestamp``, or text lines of the syslog
    or default style (a timestamp with a space before the time and a numeric offset)."""
    try:
        lines = [ln for ln in head_lines(head, 40) if not sl.compiled(META).match(ln)][:5]
        if not lines:
            return False
        first = lines[0].lstrip()
        if first.startswith(("{", "[")):
            text = head.decode("utf-8", errors="replace")
            return '"eventMessage"' in text and '"machTimestamp"' in text
        timed = [ln for ln in lines if not sl.compiled(STYLES["bare"]).match(ln)]
        hits = sum(bool(sl.compiled(STYLES["default"]).match(ln)
                        or sl.compiled(STYLES["syslog"]).match(ln)) for ln in timed)
        return bool(timed) and hits * 5 >= len(timed) * 3
    except Exception:  # "not mine" is never an error (STYLE §3)
        return False


def read(ctx: ReadContext) -> ReadResult:
    """Read one ``log show``/``log stream`` export into ``login`` and ``source_span`` rows."""
    account = FileAccount(path=ctx.rel, format=NAME, host=ctx.host)
    result = ReadResult(account)
    style = _style(ctx)
    account.details["style"] = style
    if style == "empty":
        return result
    if style == "text":
        records = _text_records(ctx, account)
    elif style == "ndjson":
        records = _ndjson_records(ctx, account)
    else:
        account.details["record_unit"] = "array element"
        records = _array_records(ctx, account)
    name = f"_ulog_records_{uuid.uuid4().hex[:12]}"
    ctx.con.register(name, records)
    try:
        _logrec.finish(ctx, result, name, source=SOURCE, fmt=NAME,
                       ctx_host_inferred=ctx.host_origin == "option",
                       no_time="record without a usable timestamp",
                       hints={_NOTIME: _NOTIME_HINT})
    finally:
        ctx.con.unregister(name)
    return result


def _style(ctx: ReadContext) -> str:
    """``ndjson``, ``json``, ``text`` or ``empty``, from the first line that is not a header."""
    meta = sl.compiled(META)
    with ctx.path.open("rb") as f:
        for raw in f:
            line = raw.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
            if not line or meta.match(line):
                continue
            if line.startswith("{"):
                return "ndjson"
            return "json" if line.startswith("[") else "text"
    return "text" if ctx.path.stat().st_size else "empty"


# --- text styles -------------------------------------------------------------------------------

def _text_records(ctx: ReadContext, account: FileAccount) -> pa.Table:
    lines = read_text_lines(ctx, account)
    name = f"_ulog_lines_{uuid.uuid4().hex[:12]}"
    ctx.con.register(name, lines)
    try:
        return ctx.con.sql(_text_sql(name)).to_arrow_table()
    finally:
        ctx.con.unregister(name)


def _text_sql(lines: str) -> str:
    rest = ", ".join(f"'{g}'" for g in sl.group_names(REST))
    return f"""
    WITH k AS MATERIALIZED (
        SELECT src_line, text, CASE
            WHEN NOT regexp_matches(text, '^[0-9]{{4}}-')
                THEN CASE WHEN regexp_matches(text, {sl.regex(META)}) THEN 'meta' ELSE 'bare' END
            WHEN regexp_matches(text, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}} [^ ]+\\s+0x[0-9a-fA-F]+\\s')
                THEN 'default'
            ELSE 'syslog' END AS cand
        FROM {lines}),
    u AS ({sl.union_extract("k", "cand", "text", STYLES, _FIELDS)}),
    r AS (SELECT *, regexp_extract(COALESCE(rest, ''), {sl.regex(REST)}, [{rest}]) AS x FROM u),
    t AS (
        SELECT *, epoch_us(try_strptime(date || ' ' || hms, '%Y-%m-%d %H:%M:%S'))
            + CASE WHEN frac IS NULL THEN 0
                   ELSE CAST(rpad(substr(frac, 2, 6), 6, '0') AS BIGINT) END
            - (CASE WHEN starts_with(tz, '-') THEN -1 ELSE 1 END)
              * (CAST(substr(tz, 2, 2) AS BIGINT) * 3600
                 + CAST(right(tz, 2) AS BIGINT) * 60) * 1000000 AS t_us
        FROM r)
    SELECT src_line,
        CASE WHEN cand IN ('default', 'syslog') THEN t_us END AS t_us,
        host, trim(proc) AS program, TRY_CAST(pid AS BIGINT) AS pid, x.msg AS msg,
        NULL::BIGINT AS seq,
        COALESCE(regexp_matches(trim(proc), {_SSHD}), false)
            AND COALESCE(regexp_matches(NULLIF(x.sender, ''), {_SSHD}), true) AS is_sshd,
        CASE WHEN cand = 'meta' THEN 'meta'
             WHEN pid IS NULL OR cand = 'bare' THEN 'malformed'
             WHEN t_us IS NULL THEN 'malformed'
             WHEN regexp_matches(trim(proc), {_SSHD})
                  AND NOT regexp_matches(COALESCE(NULLIF(x.sender, ''), trim(proc)), {_SSHD})
                THEN 'sshd_other_sender' END AS status,
        CASE WHEN cand = 'meta' THEN NULL
             WHEN cand = 'bare' AND pid IS NOT NULL THEN {sl.lit(_NOTIME)}
             WHEN pid IS NULL THEN 'not a unified log line (syslog or default style)'
             WHEN t_us IS NULL THEN 'impossible timestamp' END AS problem,
        CASE WHEN cand NOT IN ('default', 'syslog') OR pid IS NULL OR t_us IS NULL THEN text
             END AS excerpt,
        false AS time_inferred
    FROM t
    """


# --- ndjson and json ---------------------------------------------------------------------------

_JSON_SELECT = """
    timestamp, eventMessage, eventType, processImagePath, senderImagePath, processID, finished
"""


def _json_sql(rows: str) -> str:
    """The record table of ndjson/json rows (the :data:`COLUMNS` and ``src_line``)."""
    ts = ", ".join(f"'{g}'" for g in ("date", "hms", "frac", "tz"))
    return f"""
    WITH a AS (
        SELECT *, regexp_extract(timestamp, {sl.regex('^' + _TS + '$')}, [{ts}]) AS p,
            regexp_extract(processImagePath, '[^/]*$') AS proc,
            NULLIF(regexp_extract(senderImagePath, '[^/]*$'), '') AS sender
        FROM {rows}),
    t AS (
        SELECT *, epoch_us(try_strptime(p.date || ' ' || p.hms, '%Y-%m-%d %H:%M:%S'))
            + CASE WHEN p.frac = '' THEN 0
                   ELSE CAST(rpad(substr(p.frac, 2, 6), 6, '0') AS BIGINT) END
            - (CASE WHEN starts_with(p.tz, '-') THEN -1 ELSE 1 END)
              * (TRY_CAST(substr(p.tz, 2, 2) AS BIGINT) * 3600
                 + TRY_CAST(right(p.tz, 2) AS BIGINT) * 60) * 1000000 AS t_us
        FROM a)
    SELECT src_line, t_us, NULL::VARCHAR AS host, NULLIF(proc, '') AS program,
        processID AS pid, eventMessage AS msg, NULL::BIGINT AS seq,
        COALESCE(regexp_matches(proc, {_SSHD}), false)
            AND COALESCE(regexp_matches(sender, {_SSHD}), true) AS is_sshd,
        CASE WHEN finished IS NOT NULL THEN 'meta'
             WHEN t_us IS NULL THEN NULL
             WHEN eventType IS NOT NULL AND eventType <> 'logEvent'
                THEN 'event_' || eventType
             WHEN regexp_matches(proc, {_SSHD}) AND NOT regexp_matches(COALESCE(sender, proc),
                  {_SSHD}) THEN 'sshd_other_sender' END AS status,
        CASE WHEN timestamp IS NULL THEN 'record without a timestamp'
             WHEN t_us IS NULL THEN 'impossible timestamp ' || timestamp END AS problem,
        CASE WHEN t_us IS NULL THEN eventMessage END AS excerpt, false AS time_inferred
    FROM t
    """


def _to_records(ctx: ReadContext, rows: pa.Table) -> pa.Table:
    name = f"_ulog_rows_{uuid.uuid4().hex[:12]}"
    ctx.con.register(name, rows)
    try:
        return ctx.con.sql(_json_sql(name)).to_arrow_table()
    finally:
        ctx.con.unregister(name)


def _ndjson_records(ctx: ReadContext, account: FileAccount) -> pa.Table:
    """ndjson lines; a ``log stream`` header line is meta and read around (the fast path needs
    every line to be JSON)."""
    with ctx.path.open("rb") as f:
        first = f.readline()
        header = sl.compiled(META).match(first.decode("utf-8", errors="replace").lstrip("\ufeff"))
        if not header:
            return _to_records(ctx, read_ndjson(ctx, COLUMNS, account, select=_JSON_SELECT))
        with tempfile.NamedTemporaryFile("wb", suffix=".ndjson", dir=ctx.tmpdir,
                                         delete=False) as rest:
            shutil.copyfileobj(f, rest)
    try:
        sub = FileAccount(path=ctx.rel, format=NAME)
        rows = read_ndjson(dataclasses.replace(ctx, path=Path(rest.name)), COLUMNS, sub,
                           select=_JSON_SELECT)
    finally:
        Path(rest.name).unlink(missing_ok=True)
    account.read += sub.read + 1
    account.meta += sub.meta + 1
    account.malformed += sub.malformed
    account.unread += sub.unread
    account.issues += [dataclasses.replace(i, line=None if i.line is None else i.line + 1)
                       for i in sub.issues]
    idx = rows.column_names.index("src_line")
    shifted = pc.add(rows.column("src_line"), 1)
    return _to_records(ctx, rows.set_column(idx, "src_line", shifted))


def _array_records(ctx: ReadContext, account: FileAccount) -> pa.Table:
    """``--style json``: DuckDB reads the array; a damaged array is framed by Python."""
    cols = ", ".join(f"{k}: '{v}'" for k, v in COLUMNS.items())
    names = ", ".join(COLUMNS)
    all_null = " AND ".join(f"{k} IS NULL" for k in COLUMNS)
    try:
        rows = ctx.con.sql(
            f"SELECT *, ({all_null}) AS all_null FROM read_json(?, format='array', "
            f"columns={{{cols}}}, ignore_errors=true, maximum_object_size=?) "
            f"WITH ORDINALITY AS j({names}, src_line)",
            params=[str(ctx.path), max(ctx.max_line_bytes + 16, 1 << 20)],
        ).to_arrow_table()
    except duckdb.Error:
        rows = None
    if rows is not None and not pc.any(rows.column("all_null")).as_py():
        account.read += rows.num_rows
        return _to_records(ctx, rows.drop_columns(["all_null"]))
    return _to_records(ctx, _array_slow(ctx, account))


def _array_slow(ctx: ReadContext, account: FileAccount) -> pa.Table:
    """Frame the array's elements with Python: each element becomes one line of a temporary
    ndjson file (line = ordinal), read with the same schema; damage ends the framing."""
    text = ctx.path.read_bytes().decode("utf-8", errors="replace").lstrip("\ufeff")
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    damage: tuple[int, str] | None = None
    if not text.startswith("[", pos):
        damage = (pos, "not a JSON array")
    pos += 1
    n = 0
    with tempfile.NamedTemporaryFile("w", suffix=".ndjson", dir=ctx.tmpdir, delete=False,
                                     encoding="utf-8") as out:
        while damage is None:
            pos = _skip_ws(text, pos)
            if text.startswith("]", pos):
                break
            try:
                value, end = decoder.raw_decode(text, pos)
            except ValueError as exc:
                damage = (pos, f"damaged JSON array: {exc}")
                break
            n += 1
            out.write(json.dumps(value if isinstance(value, dict) else [value]) + "\n")
            pos = _skip_ws(text, end)
            if text.startswith(",", pos):
                pos += 1
            elif not text.startswith("]", pos):
                damage = (pos, "damaged JSON array: expected ',' or ']' after an element")
    try:
        rows = read_ndjson(dataclasses.replace(ctx, path=Path(out.name)), COLUMNS, account,
                           select=_JSON_SELECT)
    finally:
        Path(out.name).unlink(missing_ok=True)
    if damage is not None:
        where, msg = damage
        line = text.count("\n", 0, where) + 1
        account.read += 1
        account.malformed += 1
        account.issues.append(Issue(
            ctx.rel, n + 1, "malformed",
            f"array element {n + 1} (file line {line}): {msg}; the rest of the file could not "
            "be framed and counts as this one record", excerpt(text[where:where + 200])))
    return rows


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos
