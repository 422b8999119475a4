"""Shared pieces of the flow readers: protocol names, address checks, local wall times, and the
pairing of one-direction records into connections (FORMATS §3.6-3.8, §6 "Addresses and ports").

**Pairing.** nfdump (without ``-b``) and AWS VPC Flow Logs write one record per direction: an SSH
session is a client→server record and a server→client record. :func:`connections_sql` turns the
records of one file into one ``flow`` row per connection:

* two one-direction records of the same group (VPC: the interface; nfdump: the file) pair when
  their endpoints are swapped, the protocol is the same and their time spans overlap (within
  ``tol_us``), and each is the other's nearest candidate (start, then end, then line): mutual
  best matches, so a record pairs at most once and the result does not depend on record order;
* the pair's **client** is decided by, in order: a pure SYN (VPC ``tcp-flags`` 2 without ACK) on
  one side only; a SYN-ACK (18) on one side only (that side is the server); the ports (a port
  under 1024 facing a port of 1024 or more is the service; else an ephemeral port, 32768 or more,
  facing a lower one is the client); the earlier start; the earlier line;
* a record left single (and a bidirectional record, nfdump ``-b``) keeps its direction unless the
  same evidence says it runs server→client, in which case it is turned around: its counters then
  belong to the ``*_in`` columns (``-b`` guarantees nothing about which side is ``sa``);
* the row keeps the client-side record's line as its source; ``saw_syn`` is true when any of its
  records has the SYN bit (DESIGN §5: NetFlow flags or VPC ``tcp-flags`` contain SYN), NULL when
  no record says.

Counters of a direction no record describes are NULL (unknown), never 0.
"""

from __future__ import annotations

import mmap
import struct
from array import array
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.addr import parse_ip
from agenttrail.model import FileAccount
from agenttrail.readers import _syslog as sl
from agenttrail.readers._io import ReadContext, probe_lines, read_text_lines

if TYPE_CHECKING:
    import duckdb

#: IANA protocol numbers and the lower-case names every flow reader writes (Zeek's spelling).
PROTO_NAMES: dict[int, str] = {
    1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 41: "ipv6", 47: "gre", 50: "esp", 51: "ah",
    58: "ipv6-icmp", 89: "ospf", 132: "sctp",
}
#: Other spellings of the same protocols.
PROTO_ALIASES: dict[str, str] = {"icmp6": "ipv6-icmp", "icmpv6": "ipv6-icmp"}

#: Protocols whose ports say which side is the service.
PORTED = ("tcp", "udp", "sctp")
WELL_KNOWN_BELOW = 1024
EPHEMERAL_FROM = 32768

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_RE = rf"^({_OCTET}\.){{3}}{_OCTET}$"  # as strict as ipaddress: no leading zeros


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def proto_sql(expr: str) -> str:
    """SQL: the lower-case protocol name of a name (``TCP``, ``IPv6-ICMP``) or a number, possibly
    zero-padded (``"006"``); an unknown number stays its decimal text."""
    num = f"try_cast(trim({expr}) AS INTEGER)"
    names = " ".join(f"WHEN {n} THEN {lit(v)}" for n, v in PROTO_NAMES.items())
    aliases = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in PROTO_ALIASES.items())
    low = f"lower(trim({expr}))"
    return (
        f"CASE WHEN {num} IS NOT NULL THEN CASE {num} {names} ELSE CAST({num} AS VARCHAR) END "
        f"ELSE CASE {low} {aliases} ELSE NULLIF({low}, '') END END"
    )


def port_ok_sql(expr: str) -> str:
    """SQL: whether a text is a port number."""
    return f"coalesce(try_cast({expr} AS BIGINT) BETWEEN 0 AND 65535, false)"


def time_us_sql(expr: str) -> str:
    """SQL: epoch µs of an ISO 8601 time with a zone (``+0000``, ``+00:00`` or ``Z``), else
    NULL. Digits beyond the microsecond are truncated."""
    pattern = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z|z)$"
    return (f"CASE WHEN regexp_full_match({expr}, {lit(pattern)}) "
            f"THEN epoch_us(try_cast({expr} AS TIMESTAMPTZ)) END")


def wall_us_sql(expr: str) -> str:
    """SQL: a zone-less ``YYYY-MM-DD HH:MM:SS[.fff]`` as µs of the wall clock read as UTC.

    The usual spellings (whole seconds, milliseconds, microseconds) take a direct ``strptime``;
    the rest goes through a regular expression."""
    pattern = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$"
    frac = f"regexp_extract({expr}, '\\.(\\d+)$', 1)"
    fast = " ".join(
        f"WHEN length({expr}) = {n} THEN epoch_us(try_strptime({expr}, '{fmt}'))"
        for n, fmt in ((19, "%Y-%m-%d %H:%M:%S"), (23, "%Y-%m-%d %H:%M:%S.%g"),
                       (26, "%Y-%m-%d %H:%M:%S.%f"))
    )
    general = (
        f"CASE WHEN regexp_full_match({expr}, {lit(pattern)}) THEN "
        f"epoch_us(try_strptime(replace(substr({expr}, 1, 19), 'T', ' '), '%Y-%m-%d %H:%M:%S')) "
        f"+ CASE WHEN {frac} = '' THEN 0 ELSE CAST(rpad({frac}, 6, '0') AS BIGINT) END END"
    )
    return f"coalesce(CASE {fast} END, {general})"


def proto_map_sql(con: duckdb.DuckDBPyConnection, view: str, expr: str) -> str:
    """SQL: :func:`proto_sql` of ``expr``, evaluated once per distinct value of ``view`` (a
    protocol column has a handful of values) and applied as a literal CASE."""
    values = [v for (v,) in con.sql(f"SELECT DISTINCT {expr} FROM {view}").fetchall()
              if v is not None]
    if not values:
        return "NULL::VARCHAR"
    cases = ", ".join(f"({lit(v)})" for v in values)
    mapped = con.sql(f"SELECT v, {proto_sql('v')} FROM (VALUES {cases}) t(v)").fetchall()
    whens = " ".join(f"WHEN {lit(v)} THEN {lit(m) if m is not None else 'NULL'}"
                     for v, m in mapped)
    return f"CASE {expr} {whens} END"


def is_address(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Whether each value is an IP address: dotted quads by regex, the rest by ``parse_ip`` once
    per distinct value. NULL is not an address."""
    quad = pc.fill_null(pc.match_substring_regex(col, IPV4_RE), False)
    rest = pc.filter(col, pc.invert(quad))
    if isinstance(rest, pa.ChunkedArray):
        rest = rest.combine_chunks()
    others = pc.unique(rest.drop_null())
    valid = pa.array([v for v in others.to_pylist() if parse_ip(v) is not None], pa.string())
    return pc.or_(quad, pc.fill_null(pc.is_in(col, value_set=valid), False))


# --- local wall times --------------------------------------------------------------------------

_DAY_US = 86_400_000_000
_MIN_US = 60_000_000


def wall_to_utc(wall_us: pa.ChunkedArray | pa.Array, tz: ZoneInfo) -> tuple[pa.Array, pa.Array]:
    """UTC µs of local wall-clock µs in ``tz``, and whether each fell in a DST fold or gap.

    Offsets are computed per distinct local day, and per distinct minute only on days with a
    transition (``fold=0`` for ambiguous times, as DESIGN §3 says).
    """
    wall = wall_us.combine_chunks() if isinstance(wall_us, pa.ChunkedArray) else wall_us
    wall = wall.cast(pa.int64())
    if tz.key == "UTC" or len(wall) == 0:
        return wall, pa.array([False] * len(wall), pa.bool_())
    days = pc.cast(pc.floor(pc.divide(pc.cast(wall, pa.float64()), _DAY_US)), pa.int64())
    day_list = pc.unique(days.drop_null()).to_pylist()
    day_off = sl.day_offsets(day_list, tz)
    changing = {d for d, off in day_off.items() if off is None}
    offsets = pc.take(
        pa.array([day_off[d] for d in day_list], pa.int64()),
        pc.index_in(days, value_set=pa.array(day_list, pa.int64())),
    )
    ambiguous = pa.array([False] * len(wall), pa.bool_())
    if changing:
        in_changing = pc.fill_null(pc.is_in(days, value_set=pa.array(sorted(changing))), False)
        minutes = pc.cast(pc.floor(pc.divide(pc.cast(wall, pa.float64()), _MIN_US)), pa.int64())
        mins = pc.unique(pc.filter(minutes, in_changing).drop_null()).to_pylist()
        min_off = sl.minute_offsets(mins, tz)
        idx = pc.index_in(minutes, value_set=pa.array(mins, pa.int64()))
        m_off = pc.take(pa.array([min_off[m][0] for m in mins], pa.int64()), idx)
        m_amb = pc.take(pa.array([min_off[m][1] for m in mins], pa.bool_()), idx)
        offsets = pc.if_else(in_changing, m_off, offsets)
        ambiguous = pc.fill_null(pc.and_(in_changing, m_amb), False)
    return pc.subtract(wall, offsets), ambiguous


def zone(name: str | None) -> tuple[ZoneInfo, str | None]:
    """The zone for zone-less times and a problem text when ``name`` is not a zone (UTC then)."""
    if not name:
        return ZoneInfo("UTC"), None
    try:
        return ZoneInfo(name), None
    except (ValueError, KeyError, OSError):
        return ZoneInfo("UTC"), f"unknown time zone {name!r}; times read as UTC"


# --- pairing -----------------------------------------------------------------------------------

#: Columns :func:`connections_sql` expects in its source (one row per accepted record).
RECORD_COLUMNS = (
    "src_line", "grp", "proto", "src_ip", "src_port", "dst_ip", "dst_port", "start_us", "end_us",
    "pkts", "bytes", "rpkts", "rbytes", "bidir", "syn", "pure_syn", "synack", "state", "sensor",
)


def _ports_say(p: str) -> str:
    """SQL: ``c2s``/``s2c`` when the ports of record ``p`` say which side is the service."""
    sp, dp = f"{p}.src_port", f"{p}.dst_port"
    return (
        f"CASE WHEN {p}.proto NOT IN {PORTED!r} OR {sp} IS NULL OR {dp} IS NULL THEN NULL "
        f"WHEN {dp} < {WELL_KNOWN_BELOW} AND {sp} >= {WELL_KNOWN_BELOW} THEN 'c2s' "
        f"WHEN {sp} < {WELL_KNOWN_BELOW} AND {dp} >= {WELL_KNOWN_BELOW} THEN 's2c' "
        f"WHEN {sp} >= {EPHEMERAL_FROM} AND {dp} < {EPHEMERAL_FROM} THEN 'c2s' "
        f"WHEN {dp} >= {EPHEMERAL_FROM} AND {sp} < {EPHEMERAL_FROM} THEN 's2c' END"
    )


def _flags_say(p: str) -> str:
    """SQL: ``c2s``/``s2c`` from the SYN evidence of record ``p`` (VPC ``tcp-flags``)."""
    return (f"CASE WHEN {p}.pure_syn THEN 'c2s' "
            f"WHEN {p}.synack THEN 's2c' END")


def connections_sql(src: str, tol_us: int) -> str:
    """SQL: one row per connection from the records in ``src`` (see the module docstring).

    Output columns: ``src_line, start_us, end_us, src_ip, src_port, dst_ip, dst_port, proto,
    saw_syn, state, pkts_out, bytes_out, pkts_in, bytes_in, sensor, paired, turned``.
    """
    g, p = "coalesce(grp, '')", "coalesce(proto, '')"
    sp, dp = "coalesce(src_port, -1)", "coalesce(dst_port, -1)"
    fwd = f"hash({g}, {p}, src_ip, {sp}, dst_ip, {dp})"
    rev = f"hash({g}, {p}, dst_ip, {dp}, src_ip, {sp})"
    key = ("a.fwd = b.rev AND a.grp IS NOT DISTINCT FROM b.grp AND a.proto IS NOT DISTINCT FROM "
           "b.proto AND a.src_ip = b.dst_ip AND a.dst_ip = b.src_ip AND "
           "a.src_port IS NOT DISTINCT FROM b.dst_port AND a.dst_port IS NOT DISTINCT FROM b.src_port")
    a_end, b_end = "coalesce(a.end_us, a.start_us)", "coalesce(b.end_us, b.start_us)"
    return f"""
    WITH r AS (SELECT * FROM {src}),
    uni AS (
        SELECT src_line, grp, proto, src_ip, src_port, dst_ip, dst_port, start_us, end_us,
            {fwd} AS fwd, {rev} AS rev
        FROM r WHERE NOT bidir AND start_us IS NOT NULL),
    cand AS (
        SELECT a.src_line AS a_line, b.src_line AS b_line,
            abs(a.start_us - b.start_us) AS d1, abs({a_end} - {b_end}) AS d2
        FROM uni a JOIN uni b ON {key}
        WHERE a.src_line <> b.src_line
          AND a.start_us <= {b_end} + {int(tol_us)} AND b.start_us <= {a_end} + {int(tol_us)}),
    best AS (
        SELECT a_line, b_line FROM cand
        QUALIFY row_number() OVER (PARTITION BY a_line ORDER BY d1, d2, b_line) = 1),
    pairs AS (
        SELECT x.a_line AS l1, x.b_line AS l2 FROM best x
        JOIN best y ON x.a_line = y.b_line AND x.b_line = y.a_line
        WHERE x.a_line < x.b_line),
    decided AS (
        SELECT p.l1, p.l2, CASE
            WHEN {_flags_say('r1')} = 'c2s' AND coalesce({_flags_say('r2')}, '') <> 'c2s' THEN 1
            WHEN {_flags_say('r2')} = 'c2s' AND coalesce({_flags_say('r1')}, '') <> 'c2s' THEN 2
            WHEN {_flags_say('r1')} = 's2c' AND coalesce({_flags_say('r2')}, '') <> 's2c' THEN 2
            WHEN {_flags_say('r2')} = 's2c' AND coalesce({_flags_say('r1')}, '') <> 's2c' THEN 1
            WHEN {_ports_say('r1')} = 'c2s' THEN 1
            WHEN {_ports_say('r1')} = 's2c' THEN 2
            WHEN r1.start_us < r2.start_us THEN 1
            WHEN r2.start_us < r1.start_us THEN 2
            ELSE 1 END AS client
        FROM pairs p JOIN r r1 ON r1.src_line = p.l1 JOIN r r2 ON r2.src_line = p.l2),
    paired AS (
        SELECT c.src_line, least(c.start_us, s.start_us) AS start_us,
            greatest(coalesce(c.end_us, c.start_us), coalesce(s.end_us, s.start_us)) AS end_us,
            c.src_ip, c.src_port, c.dst_ip, c.dst_port, c.proto,
            c.syn OR s.syn AS saw_syn, coalesce(c.state, s.state) AS state,
            c.pkts AS pkts_out, c.bytes AS bytes_out, s.pkts AS pkts_in, s.bytes AS bytes_in,
            coalesce(c.sensor, s.sensor) AS sensor, true AS paired, false AS turned
        FROM decided d
        JOIN r c ON c.src_line = CASE WHEN d.client = 1 THEN d.l1 ELSE d.l2 END
        JOIN r s ON s.src_line = CASE WHEN d.client = 1 THEN d.l2 ELSE d.l1 END),
    single AS (
        SELECT x.*, coalesce({_flags_say('x')}, {_ports_say('x')}) = 's2c' AS turn
        FROM r x ANTI JOIN (SELECT l1 AS l FROM pairs UNION ALL SELECT l2 FROM pairs) q
            ON x.src_line = q.l),
    alone AS (
        SELECT src_line, start_us, end_us,
            CASE WHEN turn THEN dst_ip ELSE src_ip END AS src_ip,
            CASE WHEN turn THEN dst_port ELSE src_port END AS src_port,
            CASE WHEN turn THEN src_ip ELSE dst_ip END AS dst_ip,
            CASE WHEN turn THEN src_port ELSE dst_port END AS dst_port,
            proto, syn AS saw_syn, state,
            CASE WHEN turn THEN CASE WHEN bidir THEN rpkts END ELSE pkts END AS pkts_out,
            CASE WHEN turn THEN CASE WHEN bidir THEN rbytes END ELSE bytes END AS bytes_out,
            CASE WHEN turn THEN pkts ELSE CASE WHEN bidir THEN rpkts END END AS pkts_in,
            CASE WHEN turn THEN bytes ELSE CASE WHEN bidir THEN rbytes END END AS bytes_in,
            sensor, false AS paired, coalesce(turn, false) AS turned
        FROM single)
    SELECT * FROM paired UNION ALL SELECT * FROM alone ORDER BY src_line
    """



def connections(con: duckdb.DuckDBPyConnection, records: pa.Table, tol_us: int) -> pa.Table:
    """Run :func:`connections_sql` over ``records`` (an Arrow table with
    :data:`RECORD_COLUMNS`)."""
    name = f"_flowrec_{id(records):x}"
    con.register(name, records.select(list(RECORD_COLUMNS)))
    try:
        return con.sql(connections_sql(name, tol_us)).to_arrow_table()
    finally:
        con.unregister(name)


def abandon_line(con: duckdb.DuckDBPyConnection, view: str, limit: int) -> int | None:
    """The line of the ``limit``-th malformed record in a row (``view`` has ``src_line`` and a
    boolean ``bad``; meta lines are not in it), after which a file is not read."""
    row = con.sql(
        f"WITH c AS (SELECT src_line, bad, row_number() OVER (ORDER BY src_line) "
        f"- row_number() OVER (PARTITION BY bad ORDER BY src_line) AS island FROM {view}), "
        "r AS (SELECT src_line, row_number() OVER (PARTITION BY island ORDER BY src_line) AS pos "
        f"FROM c WHERE bad) SELECT min(src_line) FROM r WHERE pos = {int(limit)}"
    ).fetchall()
    return row[0][0] if row else None


def abandon(ctx: ReadContext, account: FileAccount, rec: pa.Table, status: str) -> pa.Table:
    """``rec`` up to the ``max_consecutive_malformed``-th malformed record in a row; the rest is
    counted unread with one issue. ``status`` names the column whose values ``meta`` and
    ``malformed`` mark those records."""
    data = rec.filter(pc.not_equal(rec.column(status), "meta"))
    view = f"_flow_abandon_{id(rec):x}"
    ctx.con.register(view, pa.table({
        "src_line": data.column("src_line"),
        "bad": pc.equal(data.column(status), "malformed"),
    }))
    try:
        cut = abandon_line(ctx.con, view, ctx.max_consecutive_malformed)
    finally:
        ctx.con.unregister(view)
    if cut is None:
        return rec
    after = pc.greater(rec.column("src_line"), cut)
    n = int(pc.sum(pc.cast(after, pa.int64())).as_py() or 0)
    account.unread += n
    account.abandoned(None, ctx.max_consecutive_malformed, n)
    return rec.filter(pc.invert(after))


# --- framing -----------------------------------------------------------------------------------

CHUNK_BYTES = 64 << 20


def text_lines(ctx: ReadContext, account: FileAccount) -> pa.Table:
    """``(src_line, text)`` of a text file, as :func:`agenttrail.readers._io.read_text_lines`
    frames it (blank lines are meta, NUL bytes written ``\\x00``) but split in bulk by Arrow.

    Files with a line over ``max_line_bytes``, a CR, a BOM or bytes that are not UTF-8 go to
    ``read_text_lines``, which reports and decodes those line by line.
    """
    probe = probe_lines(ctx.path, ctx.max_line_bytes)
    if (probe.long_lines or probe.has_cr or probe.has_bom or probe.lines == 0
            or ctx.max_line_bytes >= CHUNK_BYTES):
        return read_text_lines(ctx, account)
    pieces: list[pa.Table] = []
    blank = 0
    line = 1
    with (ctx.path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm,
          pa.memory_map(str(ctx.path)) as source):
        size, pos = len(mm), 0
        while pos < size:
            end = size if pos + CHUNK_BYTES >= size else mm.rfind(b"\n", pos, pos + CHUNK_BYTES) + 1
            source.seek(pos)
            text = _split(source.read_buffer(end - pos), mm[end - 1:end] == b"\n")
            if text is None:
                return read_text_lines(ctx, account)
            n = len(text)
            if mm.find(b"\x00", pos, end) >= 0:
                text = pc.replace_substring(text, "\x00", "\\x00")
            keep = pc.invert(pc.match_substring_regex(text, _BLANK))
            kept = int(pc.sum(pc.cast(keep, pa.int64())).as_py() or 0)
            blank += n - kept
            numbers = array("q", range(line, line + n))
            table = pa.table({
                "src_line": pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(numbers)]),
                "text": text,
            })
            pieces.append(table if kept == n else table.filter(keep))
            line += n
            pos = end
    account.read += line - 1
    account.meta += blank
    return pa.concat_tables(pieces).combine_chunks()


_BLANK = r"^[ \t\n\r\x0b\x0c]*$"  # what bytes.strip() removes


def _split(chunk: pa.Buffer, final_newline: bool) -> pa.Array | None:
    """The lines of ``chunk`` (which ends with a newline, or is the file's end) as strings;
    None when the bytes are not UTF-8."""
    offsets = pa.py_buffer(struct.pack("<qq", 0, chunk.size))
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, chunk])
    parts = pc.split_pattern(whole, "\n").values
    if final_newline:
        parts = parts.slice(0, len(parts) - 1)
    try:
        return parts.cast(pa.large_string()).cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def line_texts(lines: pa.Table, wanted: pa.ChunkedArray | pa.Array) -> dict[int, str]:
    """The text of the ``wanted`` lines (for issue excerpts)."""
    if len(wanted) == 0:
        return {}
    hit = lines.filter(pc.is_in(lines.column("src_line"), value_set=pa.array(
        pc.unique(wanted).to_pylist(), pa.int64())))
    return dict(zip(hit.column("src_line").to_pylist(), hit.column("text").to_pylist(),
                    strict=True))
