"""Login records in glibc utmp/wtmp/btmp binary files (``/var/log/wtmp``, ``/var/run/utmp``).

Example input (FORMATS §4.8): fixed 384-byte little-endian records, Linux x86-64/aarch64 layout
(32-bit times)::

    offset  0  ut_type  int16 (+2 padding)   7 USER_PROCESS, 8 DEAD_PROCESS, 2 BOOT_TIME …
            4  ut_pid   int32
            8  ut_line  char[32]             pts/1
           40  ut_id    char[4]              ts/1
           44  ut_user  char[32]             kerolasa
           76  ut_host  char[256]            10.0.0.5, a DNS name, or :0.0
          332  ut_exit  int16 x 2
          336  ut_session int32
          340  ut_tv    int32 seconds + int32 microseconds
          348  ut_addr_v6 4 x 32-bit, network order (IPv4 in the first word)
          364  reserved 20 bytes

Strings are NUL-padded and not always NUL-terminated: a value ends at its first NUL or at the
field's end. Bytes that are not UTF-8 are read as Latin-1. ``ut_tv`` seconds are read unsigned
(1970–2106). The parse is vectorised: the file becomes one Arrow fixed-width array whose fields are
sliced and reinterpreted in place; the address and the rows are made in DuckDB.

Output and accounting (one unit per 384-byte record, its 1-based ordinal as the line) are those of
:mod:`agenttrail.readers._utmp`. A trailing partial record is malformed, located by its ordinal
and byte offset. ``NEEDS_HOST``: the records name no host of their own.

Not read: wtmpdb (the SQLite ``/var/lib/wtmpdb/wtmp.db`` of Debian 13 and openSUSE), big-endian
and 64-bit-time layouts, macOS utmpx.

References: glibc ``bits/utmp.h``; util-linux ``tests/ts/utmp``.
"""

from __future__ import annotations

import uuid

import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.model import FileAccount, ReadResult
from agenttrail.readers import _utmp
from agenttrail.readers._io import HEAD_BYTES, ReadContext

NAME = "wtmp"
NEEDS_HOST = True

RECORD = 384
#: Field offsets and sizes in a record.
FIELDS: dict[str, tuple[int, int]] = {
    "ut_type": (0, 2), "pad": (2, 2), "pid": (4, 4), "tty": (8, 32), "ut_id": (40, 4),
    "user": (44, 32), "ut_host": (76, 256), "sec": (340, 4), "usec": (344, 4),
    "addr": (348, 16),
}
_SNIFF_RECORDS = 8


def sniff(head: bytes) -> bool:
    """Whole 384-byte records whose ``ut_type`` is 0–9 with zero padding, microseconds below a
    million and printable line and user fields; a head that is the whole file must be a multiple
    of 384 bytes."""
    try:
        n = len(head) // RECORD
        if n == 0 or (len(head) < HEAD_BYTES and len(head) % RECORD):
            return False
        for i in range(min(n, _SNIFF_RECORDS)):
            r = head[i * RECORD:(i + 1) * RECORD]
            typ = int.from_bytes(r[0:2], "little")
            usec = int.from_bytes(r[344:348], "little")
            if typ > 9 or r[2:4] != b"\0\0" or usec >= 1_000_000:
                return False
            for off, size in (FIELDS["tty"], FIELDS["user"]):
                text = r[off:off + size].split(b"\0", 1)[0]
                if any(b < 0x20 or b == 0x7F for b in text):
                    return False
        return True
    except Exception:  # "not mine" is never an error (STYLE §3)
        return False


def read(ctx: ReadContext) -> ReadResult:
    """Read one binary utmp/wtmp file into ``session``, ``login`` and ``source_span`` rows."""
    account = FileAccount(path=ctx.rel, format=NAME, host=ctx.host)
    result = ReadResult(account)
    data = ctx.path.read_bytes()
    n, tail = divmod(len(data), RECORD)
    account.read = n + (tail > 0)
    entries = _entries(data[: n * RECORD], n)
    if tail:
        entries = pa.concat_tables([entries, _partial(n + 1, n * RECORD, tail, entries.schema)])
    name = f"_wtmp_entries_{uuid.uuid4().hex[:12]}"
    ctx.con.register(name, entries)
    try:
        ctx.con.execute(f"CREATE TEMP TABLE {name}_t AS {_entries_sql(name)}")
        _utmp.finish(ctx, result, f"{name}_t", fmt=NAME)
    finally:
        ctx.con.unregister(name)
        ctx.con.execute(f"DROP TABLE IF EXISTS {name}_t")
    if tail:
        account.details["trailing_bytes"] = tail
    return result


def _entries(data: bytes, n: int) -> pa.Table:
    """The raw fields of ``n`` whole records as Arrow columns (no per-record Python)."""
    records = pa.FixedSizeBinaryArray.from_buffers(pa.binary(RECORD), n, [None, pa.py_buffer(data)])
    cols: dict[str, pa.Array] = {"src_line": pa.array(range(1, n + 1), pa.int64())}
    for name, (off, size) in FIELDS.items():
        raw = pc.binary_slice(records, off, off + size)
        if name in ("ut_type", "pad"):
            cols[name] = raw.view(pa.int16()).cast(pa.int64())
        elif name in ("pid", "usec"):
            cols[name] = raw.view(pa.int32()).cast(pa.int64())
        elif name == "sec":
            cols[name] = raw.view(pa.uint32()).cast(pa.int64())
        elif name == "addr":
            cols[name] = raw.cast(pa.binary())
        else:
            cols[name] = _c_string(raw)
    cols["partial"] = pa.nulls(n, pa.string())
    return pa.table(cols)


def _c_string(raw: pa.Array) -> pa.Array:
    """Fixed-width NUL-padded fields as text: up to the first NUL, UTF-8 or else Latin-1."""
    cut = pc.list_element(pc.split_pattern(raw.cast(pa.binary()), b"\0", max_splits=1), 0)
    try:
        return cut.cast(pa.string())
    except pa.ArrowInvalid:  # some value is not UTF-8: decode the distinct values one by one
        distinct = pc.unique(cut)
        text = [None if v is None else _decode(v) for v in distinct.to_pylist()]
        return pc.take(pa.array(text, pa.string()), pc.index_in(cut, value_set=distinct))


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _partial(ordinal: int, offset: int, size: int, schema: pa.Schema) -> pa.Table:
    """The one-row entry of a trailing partial record (only its location and the problem)."""
    row: dict[str, list[object]] = {name: [None] for name in schema.names}
    row["src_line"] = [ordinal]
    row["partial"] = [
        f"trailing partial record of {size} bytes at offset {offset} (records are {RECORD} bytes)"
    ]
    return pa.table(row, schema=schema)


def _entries_sql(raw: str) -> str:
    """The :data:`agenttrail.readers._utmp.ENTRY` table from the raw fields."""
    h = "hex(addr)"

    def byte(i: int) -> str:
        return f"CAST(('0x' || substr({h}, {2 * i + 1}, 2)) AS INTEGER)"

    v4 = " || '.' || ".join(f"CAST({byte(i)} AS VARCHAR)" for i in range(4))
    v6 = " || ':' || ".join(f"lower(substr({h}, {4 * i + 1}, 4))" for i in range(8))
    return f"""
    SELECT src_line, ut_type, pid, tty, ut_id, user, ut_host,
        CASE WHEN addr IS NULL OR {h} = repeat('0', 32) THEN NULL
             WHEN substr({h}, 9) = repeat('0', 24) THEN {v4}
             ELSE {v6} END AS addr,
        sec * 1000000 + usec AS t_us,
        CASE WHEN partial IS NOT NULL THEN partial
             WHEN ut_type NOT BETWEEN 0 AND 9 OR pad <> 0
                THEN 'ut_type ' || ut_type || ' is not a utmp record type (0-9): not a utmp '
                     || 'record, or the file is shifted'
             WHEN usec NOT BETWEEN 0 AND 999999
                THEN 'ut_tv microseconds ' || usec || ' out of range: not a utmp record'
             END AS error,
        CASE WHEN partial IS NOT NULL THEN NULL
             ELSE '[' || ut_type || '] [' || pid || '] [' || COALESCE(ut_id, '') || '] ['
                  || COALESCE(user, '') || '] [' || COALESCE(tty, '') || '] ['
                  || COALESCE(ut_host, '') || ']' END AS excerpt
    FROM {raw}
    """
