"""Login records in glibc utmp/wtmp binary files (``/var/log/wtmp``, ``/var/run/utmp``).

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
(1970–2106). The parse is vectorised: NumPy views the file as an array of records (no per-record
Python), Arrow takes the columns, and DuckDB formats addresses and builds the rows.

Output and accounting (one unit per 384-byte record, its 1-based ordinal as the line) are those of
:mod:`agenttrail.readers._utmp`. A trailing partial record is malformed, located by its ordinal
and byte offset. ``NEEDS_HOST``: the records name no host of their own.

A btmp file (failed logins) reads too, but sshd writes those as LOGIN_PROCESS records, which
are ``skipped_by_type['login_process']``: failed logins come from the sshd log sources.

Not read: wtmpdb (the SQLite ``/var/lib/wtmpdb/wtmp.db`` of Debian 13 and openSUSE), big-endian
and 64-bit-time layouts, macOS utmpx.

References: glibc ``bits/utmp.h``; util-linux ``tests/ts/utmp``.
"""

from __future__ import annotations

import uuid

import numpy as np
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


def _example_record() -> bytes:
    """One USER_PROCESS record: alice on pts/3 from 10.10.1.35 at 2026-03-02T10:15:19Z."""
    r = bytearray(RECORD)
    values = {"ut_type": 7, "pid": 4242, "tty": b"pts/3", "ut_id": b"ts/3", "user": b"alice",
              "ut_host": b"10.10.1.35", "sec": 1772446519, "usec": 0,
              "addr": bytes([10, 10, 1, 35])}
    for name, value in values.items():
        off, size = FIELDS[name]
        data = value.to_bytes(size, "little") if isinstance(value, int) else value
        r[off:off + len(data)] = data
    return bytes(r)


#: A binary format: EXAMPLE shows the record as ``utmpdump`` prints it; EXAMPLE_BYTES is it.
EXAMPLE_BYTES = _example_record()
EXAMPLE = ("(384-byte binary records) [7] [04242] [ts/3] [alice   ] [pts/3       ] "
           "[10.10.1.35          ] [10.10.1.35     ] [2026-03-02T10:15:19,000000+00:00]")


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


#: The record as a NumPy structured type (glibc ``struct utmp``, x86-64 and aarch64).
DTYPE = np.dtype([
    ("ut_type", "<i2"), ("pad", "<i2"), ("pid", "<i4"), ("tty", "V32"), ("ut_id", "V4"),
    ("user", "V32"), ("ut_host", "V256"), ("exit", "<i2", (2,)), ("session", "<i4"),
    ("sec", "<u4"), ("usec", "<i4"), ("addr", "u1", (16,)), ("reserved", "V20"),
])
assert DTYPE.itemsize == RECORD
assert all(DTYPE.fields[k][1] == off for k, (off, _) in FIELDS.items())


def _entries(data: bytes, n: int) -> pa.Table:
    """The raw fields of ``n`` whole records as Arrow columns (no per-record Python)."""
    rec = np.frombuffer(data, dtype=DTYPE, count=n)
    addr = rec["addr"]
    nonzero = addr.any(axis=1)
    v4 = nonzero & ~addr[:, 4:].any(axis=1)
    word = np.ascontiguousarray(addr[:, :4]).view(">u4").reshape(n).astype(np.int64)
    cols: dict[str, pa.Array] = {
        "src_line": pa.array(np.arange(1, n + 1, dtype=np.int64)),
        "ut_type": pa.array(rec["ut_type"].astype(np.int64)),
        "pad": pa.array(rec["pad"].astype(np.int64)),
        "pid": pa.array(rec["pid"].astype(np.int64)),
        "tty": _c_string(rec["tty"], 32),
        "ut_id": _c_string(rec["ut_id"], 4),
        "user": _c_string(rec["user"], 32),
        "ut_host": _c_string(rec["ut_host"], 256),
        "sec": pa.array(rec["sec"].astype(np.int64)),
        "usec": pa.array(rec["usec"].astype(np.int64)),
        # IPv4 as its 32-bit value; IPv6 (rarer) as the 16 bytes, formatted in SQL
        "addr4": pa.array(word, mask=~v4),
        "addr6": pc.if_else(
            pa.array(nonzero & ~v4),
            pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(16), n, [None, pa.py_buffer(np.ascontiguousarray(addr))]),
            pa.scalar(None, pa.binary(16)),
        ).cast(pa.binary()),
        "partial": pa.nulls(n, pa.string()),
    }
    return pa.table(cols)


def _c_string(field: np.ndarray, width: int) -> pa.Array:
    """Fixed-width NUL-padded fields as text: up to the first NUL (or the field's end), UTF-8 or
    else Latin-1. Vectorised: the kept bytes of every row, in row order, are the string data."""
    raw = np.ascontiguousarray(field).view(np.uint8).reshape(len(field), width)
    nul = raw == 0
    length = np.where(nul.any(axis=1), nul.argmax(axis=1), width)
    keep = np.arange(width) < length[:, None]
    offsets = np.zeros(len(field) + 1, dtype=np.int64)
    np.cumsum(length, out=offsets[1:])
    binary = pa.Array.from_buffers(
        pa.large_binary(), len(field), [None, pa.py_buffer(offsets), pa.py_buffer(raw[keep])])
    try:
        return binary.cast(pa.large_string()).cast(pa.string())
    except pa.ArrowInvalid:  # some value is not UTF-8: decode the distinct values one by one
        distinct = pc.unique(binary)
        text = [None if v is None else _decode(v) for v in distinct.to_pylist()]
        return pc.take(pa.array(text, pa.string()), pc.index_in(binary, value_set=distinct))


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
    h = "hex(addr6)"
    v4 = " || '.' || ".join(f"CAST((addr4 >> {sh}) & 255 AS VARCHAR)" for sh in (24, 16, 8, 0))
    v6 = " || ':' || ".join(f"lower(substr({h}, {4 * i + 1}, 4))" for i in range(8))
    return f"""
    WITH e AS (
        SELECT src_line, ut_type, pid, tty, ut_id, user, ut_host,
            CASE WHEN addr4 IS NOT NULL THEN {v4} WHEN addr6 IS NOT NULL THEN {v6} END AS addr,
            sec * 1000000 + usec AS t_us,
            CASE WHEN partial IS NOT NULL THEN partial
                 WHEN ut_type NOT BETWEEN 0 AND 9 OR pad <> 0
                    THEN 'ut_type ' || ut_type || ' is not a utmp record type (0-9): not a utmp '
                         || 'record, or the file is shifted'
                 WHEN usec NOT BETWEEN 0 AND 999999
                    THEN 'ut_tv microseconds ' || usec || ' out of range: not a utmp record'
                 END AS error
        FROM {raw})
    SELECT *, CASE WHEN error IS NOT NULL AND ut_type IS NOT NULL
            THEN '[' || ut_type || '] [' || pid || '] [' || COALESCE(ut_id, '') || '] ['
                 || COALESCE(user, '') || '] [' || COALESCE(tty, '') || '] ['
                 || COALESCE(ut_host, '') || ']' END AS excerpt
    FROM e
    """
