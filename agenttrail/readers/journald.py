"""sshd records in the systemd journal: ``journalctl -o json`` and ``journalctl -o export``.

Example input (FORMATS §4.5; journald's JSON and export formats)::

    {"__CURSOR":"s=7f…;i=2f1;b=…","__REALTIME_TIMESTAMP":"1700000000123456","__SEQNUM":"753",
     "_HOSTNAME":"db1","SYSLOG_IDENTIFIER":"sshd","_COMM":"sshd","_PID":"1921",
     "MESSAGE":"Accepted publickey for alice from 10.0.0.5 port 51234 ssh2: ED25519 SHA256:…"}

    __CURSOR=s=7f…;i=2f1;b=…
    __REALTIME_TIMESTAMP=1700000000123456
    _HOSTNAME=db1
    MESSAGE=Accepted publickey for alice from 10.0.0.5 port 51234 ssh2: ED25519 SHA256:…
    <empty line ends the record>

Output: one ``login`` row per sshd record whose ``MESSAGE`` matches a template of the sshd message
catalogue (:mod:`agenttrail.readers._sshd_messages`, the same SQL as syslog lines), and one
``source_span`` row per (host, program) over every usable record of any program (DESIGN §5 login
coverage), source ``journald``.

Values (``-o json``): strings; an array of strings for a field repeated in one record (the
first value is used, as the first of duplicate JSON keys is); an array of byte numbers for a
binary or non-UTF-8 value (decoded as UTF-8, or byte by byte as Latin-1 when it is not UTF-8);
``null`` for a field too large to print. Export: ``KEY=value`` lines; a binary field is ``KEY``,
a newline, a 64-bit little-endian length, the bytes and a newline.

Which records are sshd's: ``_COMM`` (set by the kernel) when the record has it, else
``SYSLOG_IDENTIFIER``, else ``_SYSTEMD_UNIT`` (``ssh.service``, ``sshd.service``,
``sshd@….service``) — ``sshd``, ``sshd-session`` or ``sshd-auth``. A record whose
``SYSLOG_IDENTIFIER`` names sshd but whose ``_COMM`` does not (``logger -t sshd …``) is
``skipped_by_type['sshd_identifier_mismatch']`` with one warning. Other programs' records are
``skipped_by_type['other_program']`` and extend the coverage span, as in syslog files.

Time: ``_SOURCE_REALTIME_TIMESTAMP`` (when the message was made) when present, else
``__REALTIME_TIMESTAMP`` (when journald received it), both µs since the epoch, UTC: never
inferred. Host: ``_HOSTNAME`` (lower case, ``localhost`` counting as none), else ``ctx.host``
(``host_inferred``). ``src_seq``: ``__SEQNUM``, else the ``i=`` field (hex) of ``__CURSOR``.

Accounting: ``-o json`` counts lines (blank lines are meta, lines that are not a JSON object are
malformed: :func:`agenttrail.readers._io.read_ndjson`); ``-o export`` counts records (the empty
lines between them are separators), located at their first line. A record without a usable time,
an export record with a line that is not ``FIELD=value`` or a binary field whose length runs past
the record, and a field longer than ``max_line_bytes`` are malformed.

Not read: ``-o json-pretty`` and ``-o json-seq`` (export with ``-o json`` instead).

References: systemd.journal-fields(7); https://systemd.io/JOURNAL_EXPORT_FORMATS/.
"""

from __future__ import annotations

import json
import re
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.model import FileAccount, Issue, ReadResult
from agenttrail.readers import _logrec
from agenttrail.readers._io import ReadContext, read_ndjson
from agenttrail.readers._syslog import lit

NAME = "journald"
EXAMPLE = (
    '{"__CURSOR":"s=6c1f;i=1a2b;b=9e0d;m=3f2a;t=64c8;x=77aa","__REALTIME_TIMESTAMP":'
    '"1772446519087301","__MONOTONIC_TIMESTAMP":"912345678","_BOOT_ID":"9e0d","__SEQNUM":"6699",'
    '"_HOSTNAME":"db1","SYSLOG_IDENTIFIER":"sshd-session","_COMM":"sshd-session","_PID":"4242",'
    '"_SYSTEMD_UNIT":"ssh.service","PRIORITY":"6","MESSAGE":"Accepted publickey for alice from '
    '10.10.1.35 port 58583 ssh2: ED25519 SHA256:sQvstVY7/B5vk0J+y8j+KVXlzY5G3I7Ut8J2TSpaTXY"}'
)
NEEDS_HOST = False
SOURCE = "journald"

#: Journal fields read (column name → field name); every other field is ignored.
FIELDS: dict[str, str] = {
    "message": "MESSAGE",
    "hostname": "_HOSTNAME",
    "ident": "SYSLOG_IDENTIFIER",
    "comm": "_COMM",
    "unit": "_SYSTEMD_UNIT",
    "pid": "_PID",
    "syslog_pid": "SYSLOG_PID",
    "rt": "__REALTIME_TIMESTAMP",
    "srt": "_SOURCE_REALTIME_TIMESTAMP",
    "seqnum": "__SEQNUM",
    "cursor": "__CURSOR",
}

_SSHD = "'^sshd(-session|-auth)?$'"
_SSH_UNIT = "'^(sshd?\\.service|sshd?@.*\\.service)$'"
_FIELD_NAME = re.compile(rb"^[A-Z_][A-Z0-9_]*$")
_HOST_HINT = (
    "the records carry no _HOSTNAME: name the host with --host-from-path TEMPLATE "
    "(e.g. '{host}/journal.json')"
)
_SNIFF_KEYS = ("__REALTIME_TIMESTAMP", "__CURSOR")


def sniff(head: bytes) -> bool:
    """A JSON object with ``__REALTIME_TIMESTAMP`` or ``__CURSOR`` on the first line, or an export
    record whose first lines are ``FIELD=value`` and include one of those two fields."""
    try:
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        first = head.split(b"\n", 1)[0].strip()
        if first.startswith(b"{"):
            obj = json.loads(first)
            return isinstance(obj, dict) and any(k in obj for k in _SNIFF_KEYS)
        lines = head.split(b"\n", 64)[:64]
        for line in lines:
            if not line:
                return False  # end of the first record without a journal meta field
            key, eq, _ = line.partition(b"=")
            if not eq or not _FIELD_NAME.match(key):
                return False
            if key.decode() in _SNIFF_KEYS:
                return True
        return False
    except Exception:  # "not mine" is never an error (STYLE §3)
        return False


def read(ctx: ReadContext) -> ReadResult:
    """Read one journal export (JSON lines or the export format) into ``login`` and
    ``source_span`` rows with exact accounting."""
    account = FileAccount(path=ctx.rel, format=NAME)
    result = ReadResult(account)
    with ctx.path.open("rb") as f:
        first = f.read(4096).lstrip(b"\xef\xbb\xbf").lstrip()
    if not first:
        return result
    if first.startswith(b"{"):
        fields = _read_json(ctx, account)
        account.details["style"] = "json"
    else:
        fields = _read_export(ctx, account)
        account.details["style"] = "export"
    name = f"_journald_fields_{uuid.uuid4().hex[:12]}"
    records = f"_journald_records_{uuid.uuid4().hex[:12]}"
    ctx.con.register(name, fields)
    try:
        ctx.con.execute(f"CREATE TEMP TABLE {records} AS {_records_sql(name)}")
        _mismatch_warning(ctx, account, records)
        _logrec.finish(ctx, result, records, source=SOURCE, fmt=NAME, ctx_host_inferred=True,
                       host_hint=_HOST_HINT,
                       no_time="journal record without __REALTIME_TIMESTAMP")
    finally:
        ctx.con.unregister(name)
        ctx.con.execute(f"DROP TABLE IF EXISTS {records}")
    return result


# --- -o json -----------------------------------------------------------------------------------

def _bytes_text(v: str) -> str:
    """SQL: a JSON array of byte numbers as text (UTF-8, else each byte as Latin-1)."""
    b = f"TRY_CAST({v} AS UTINYINT[])"
    return (f"COALESCE(TRY(decode(unhex(array_to_string(list_transform({b}, "
            f"lambda x: lpad(hex(x), 2, '0')), '')))), "
            f"array_to_string(list_transform({b}, lambda x: chr(x)), ''))")


def _text(col: str) -> str:
    """SQL: a journal JSON value as text (string, first of repeated values, bytes, or NULL)."""
    c = f'"{col}"'
    return f"""CASE json_type({c})
        WHEN 'NULL' THEN NULL
        WHEN 'VARCHAR' THEN {c} ->> '$'
        WHEN 'ARRAY' THEN CASE json_type({c} -> 0)
            WHEN 'VARCHAR' THEN {c} ->> 0
            WHEN 'ARRAY' THEN {_bytes_text(f"({c} -> 0)")}
            WHEN 'NULL' THEN NULL
            ELSE {_bytes_text(c)} END
        ELSE {c} ->> '$' END"""


def _read_json(ctx: ReadContext, account: FileAccount) -> pa.Table:
    columns = dict.fromkeys(FIELDS.values(), "JSON")
    select = ", ".join(f"{_text(field)} AS {col}" for col, field in FIELDS.items())
    table = read_ndjson(ctx, columns, account, select=select)
    return table.append_column("error", pa.nulls(table.num_rows, pa.string())).append_column(
        "excerpt", pa.nulls(table.num_rows, pa.string()))


# --- -o export ---------------------------------------------------------------------------------

def _read_export(ctx: ReadContext, account: FileAccount) -> pa.Table:
    """Export records as one row each: the :data:`FIELDS` columns, ``src_line`` (the record's
    first line), ``error`` (why the record is malformed) and ``excerpt``.

    Fast path (no binary field, all UTF-8): Arrow splits the file into lines and numbers the
    records by a running count of empty lines; DuckDB picks the fields. Otherwise Python frames
    the records (binary fields hold any bytes, newlines included) into the same lines.
    """
    data = ctx.path.read_bytes()
    lines = pc.split_pattern(pa.array([data], pa.large_binary()), b"\n").flatten()
    blank = pc.equal(pc.binary_length(lines), 0)
    fast = True
    try:
        text = lines.cast(pa.large_string())
    except pa.ArrowInvalid:  # not UTF-8: only binary fields may hold such bytes
        fast = False
    if fast:
        no_eq = pc.and_(pc.invert(pc.match_substring(text, "=")), pc.invert(blank))
        fast = not pc.any(no_eq).as_py()
    if fast:
        kv = pa.table({
            "rid": pc.cumulative_sum(blank.cast(pa.int64())),
            "ln": pa.array(np.arange(1, len(text) + 1, dtype=np.int64)),
            "line": text,
            "error": pa.nulls(len(text), pa.string()),
        })
    else:
        account.details["export_binary_fields"] = True
        kv = _export_lines_slow(data)
    del data, lines, blank
    name = f"_journald_kv_{uuid.uuid4().hex[:12]}"
    ctx.con.register(name, kv)
    try:
        table = ctx.con.sql(_export_records_sql(name, ctx.max_line_bytes)).to_arrow_table()
    finally:
        ctx.con.unregister(name)
    account.read += table.num_rows
    return table


def _export_lines_slow(data: bytes) -> pa.Table:
    """Python framing of an export with binary fields (or bytes that are not UTF-8): the same
    ``(rid, ln, line, error)`` as the fast path, a binary field given as ``KEY=value``."""
    rids: list[int] = []
    lns: list[int] = []
    lines: list[str] = []
    errors: list[str | None] = []
    size, pos, ln, rid, in_record = len(data), 0, 1, 0, False

    def add(line: str, error: str | None = None) -> None:
        rids.append(rid)
        lns.append(ln)
        lines.append(line)
        errors.append(error)

    while pos < size:
        nl = data.find(b"\n", pos)
        end = size if nl < 0 else nl
        if end == pos:  # an empty line ends the record
            rid += in_record
            in_record = False
            pos, ln = end + 1, ln + 1
            continue
        in_record = True
        line = data[pos:end]
        if b"=" in line:
            add(_decode(line))
            pos, ln = end + 1, ln + 1
            continue
        start = end + 1  # binary field: KEY \n le64 length, the bytes, \n
        length = int.from_bytes(data[start:start + 8], "little") if start + 8 <= size else -1
        stop = start + 8 + length
        if length < 0 or stop >= size or data[stop] != 0x0A:
            add(_decode(line), f"binary field {_decode(line[:40])!r} has a length that runs past "
                "its record; the rest of the record is skipped")
            nxt = data.find(b"\n\n", end)
            new_pos = size if nxt < 0 else nxt + 1
            ln += data.count(b"\n", pos, new_pos)
            pos = new_pos
            continue
        add(_decode(line) + "=" + _decode(data[start + 8:stop]))
        ln += data.count(b"\n", pos, stop + 1)
        pos = stop + 1
    return pa.table({
        "rid": pa.array(rids, pa.int64()), "ln": pa.array(lns, pa.int64()),
        "line": pa.array(lines, pa.large_string()), "error": pa.array(errors, pa.string()),
    })


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _export_records_sql(kv: str, max_field: int) -> str:
    """One row per export record from its ``(rid, ln, line, error)`` lines (empty lines, which
    separate records, included)."""
    cols = ",\n".join(
        f"arg_min(substr(line, {len(field) + 2}), ln) FILTER (starts_with(line, {lit(field + '=')}))"
        f" AS {col}" for col, field in FIELDS.items()
    )
    return f"""
    WITH k AS (
        SELECT rid, ln, line, CASE
            WHEN error IS NOT NULL THEN error
            WHEN NOT regexp_matches(line, '^[A-Z_][A-Z0-9_]*=')
                THEN 'line ' || ln || ' is not FIELD=value'
            WHEN length(line) - strpos(line, '=') > {int(max_field)}
                THEN 'field ' || split_part(line, '=', 1) || ' of '
                     || (length(line) - strpos(line, '=')) || ' characters is longer than '
                     || 'the limit of {int(max_field)}'
            END AS problem
        FROM {kv} WHERE line <> '')
    SELECT min(ln) AS src_line, {cols},
        arg_min(problem, ln) FILTER (problem IS NOT NULL) AS error,
        arg_min(line, ln) AS excerpt
    FROM k GROUP BY rid ORDER BY src_line
    """


# --- records -----------------------------------------------------------------------------------

def _records_sql(fields: str) -> str:
    """The :data:`agenttrail.readers._logrec.INPUT` table of the journal records."""
    seq = ("COALESCE(TRY_CAST(seqnum AS BIGINT), TRY_CAST('0x' || regexp_extract(cursor, "
           "'(?:^|;)i=([0-9a-fA-F]+)', 1) AS BIGINT))")
    return f"""
    WITH f AS (
        SELECT *,
            COALESCE(regexp_matches(comm, {_SSHD}), false) AS comm_sshd,
            COALESCE(regexp_matches(ident, {_SSHD}), false) AS ident_sshd,
            COALESCE(regexp_matches(unit, {_SSH_UNIT}), false) AS unit_sshd
        FROM {fields})
    SELECT src_line,
        COALESCE(TRY_CAST(srt AS BIGINT), TRY_CAST(rt AS BIGINT)) AS t_us,
        hostname AS host,
        CASE WHEN comm IS NOT NULL AND NOT comm_sshd AND ident_sshd THEN comm
             ELSE COALESCE(ident, comm) END AS program,
        TRY_CAST(COALESCE(pid, syslog_pid) AS BIGINT) AS pid,
        message AS msg,
        {seq} AS seq,
        CASE WHEN comm IS NOT NULL THEN comm_sshd
             WHEN ident IS NOT NULL THEN ident_sshd
             ELSE unit_sshd END AS is_sshd,
        CASE WHEN error IS NOT NULL THEN 'malformed'
             WHEN comm IS NOT NULL AND NOT comm_sshd AND ident_sshd
                  AND COALESCE(TRY_CAST(srt AS BIGINT), TRY_CAST(rt AS BIGINT)) IS NOT NULL
                THEN 'sshd_identifier_mismatch' END AS status,
        error AS problem,
        CASE WHEN error IS NOT NULL
                  OR COALESCE(TRY_CAST(srt AS BIGINT), TRY_CAST(rt AS BIGINT)) IS NULL
             THEN COALESCE(excerpt, message) END AS excerpt,
        false AS time_inferred
    FROM f
    """


def _mismatch_warning(ctx: ReadContext, account: FileAccount, records: str) -> None:
    n, first = ctx.con.execute(
        f"SELECT count(*), min(src_line) FROM {records} "
        "WHERE status = 'sshd_identifier_mismatch'").fetchall()[0]
    if n:
        account.issues.append(Issue(
            ctx.rel, first, "warning",
            f"{n} records name sshd in SYSLOG_IDENTIFIER but were sent by another program "
            "(_COMM); not read as sshd records",
            hint="a local user can write such records with `logger -t sshd`"))
