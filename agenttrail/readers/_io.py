"""Shared framing for readers: gzip, heads for sniffing, the newline probe, and line readers.

Two ways to read JSON lines (DESIGN §2):

* the **fast path**: DuckDB ``read_ndjson`` with the reader's explicit schema and ``WITH
  ORDINALITY``, used when the newline probe finds no line over ``max_line_bytes``, no blank line
  and no CR, so ordinality equals the line number;
* the **slow path**: Python frames the file line by line (exact line numbers), reports long,
  undecodable and non-JSON lines as issues, and hands the good lines to the same ``read_ndjson``
  schema through a temporary file. It is used for files the probe flags, and for files whose fast
  read produced all-NULL rows (DuckDB's sign of a malformed line).
"""

from __future__ import annotations

import codecs
import json
import mmap
import os
import re
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from agenttrail.model import FileAccount, Issue

if TYPE_CHECKING:
    import duckdb

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 * 1024
PROBE_WINDOW = 512 * 1024
EXCERPT = 120

#: Decompression stops at this many times the compressed size (a gzip bomb) ...
GZIP_MAX_RATIO = 1000
#: ... or at this many decompressed bytes, whichever comes first (``--max-decompressed-bytes``).
GZIP_MAX_BYTES = 4 << 30
_GZ_IN = 256 * 1024  # compressed bytes read at a time
_GZ_OUT = 1 << 20  # decompressed bytes produced at a time: memory stays bounded

#: Recognising a file whose beginning is damaged: heads that start at later lines are taken from
#: the first SNIFF_SCAN_BYTES of short lines (at most SNIFF_MAX_STARTS of them; lines over
#: ``max_line_bytes`` are skipped without being held, at most SNIFF_SKIP_BYTES of them).
#: A head holds up to SNIFF_WINDOW_LINES lines and needs SNIFF_MIN_LINES non-blank ones, so one
#: stray record-like line at the end of a text file does not make it a log.
SNIFF_SCAN_BYTES = 4 << 20
SNIFF_SKIP_BYTES = 64 << 20
SNIFF_MAX_STARTS = 4096
SNIFF_WINDOW_LINES = 8
SNIFF_MIN_LINES = 3


@dataclass
class ReadContext:
    """Everything a reader may know about the file it reads and the run.

    Attributes:
        path: the plain (decompressed) file to read.
        rel: the file's name in reports: relative to the common input root.
        con: the DuckDB connection readers run their SQL on.
        host: the host given by ``--host-from-path`` or ``--host`` (None if neither applies).
        host_origin: ``path`` or ``option`` (or None).
        tz: zone name for zone-less times (``--tz`` or the host's configured zone), or None (UTC).
        host_zones: configured zone per host name and alias, for files whose records name
            their host.
        year: ``--year`` for RFC 3164 lines, or None.
        anchor_us: the year anchor for RFC 3164 lines (``--collected-at`` or the file's mtime).
        anchor_given: whether ``anchor_us`` came from ``--collected-at``.
        max_line_bytes: longer lines are reported and skipped without being read whole.
        max_consecutive_malformed: a file is abandoned after this many malformed lines in a row.
    """

    path: Path
    rel: str
    con: duckdb.DuckDBPyConnection
    host: str | None = None
    host_origin: str | None = None
    tz: str | None = None
    year: int | None = None
    anchor_us: int | None = None
    anchor_given: bool = False
    host_zones: dict[str, str] = field(default_factory=dict)
    max_line_bytes: int = 1 << 20
    max_consecutive_malformed: int = 1000
    tmpdir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))


#: ``NAME=value`` inside a quoted string: an environment entry of an exec record.
_ENV_ENTRY = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)=((?:[^"\\]|\\.)*)"')
#: Secret-looking values (DESIGN §3): options, URL credentials, authorisation headers.
_SECRETS = (
    (re.compile(r"(?i)(--?[a-z0-9_.-]*(?:password|passwd|passphrase|secret|token|api[-_]?key)"
                r"[a-z0-9_.-]*[= ])[^\s\",]+"), r"\1<redacted>"),
    (re.compile(r"(://[^/:@\s\"]*:)[^@\s\"]*@"), r"\1<redacted>@"),
    (re.compile(r"(?i)((?:proxy-)?authorization\s*:\s*)[^\"]*"), r"\1<redacted>"),
    (re.compile(r"((?:^|[\s\"])-p)(?=[^\s\",]*[^\d\s\",])[^\s\",]+"), r"\1<redacted>"),
)
_KEPT_ENV = frozenset({"SSH_AUTH_SOCK", "SSH_CONNECTION", "SSH_CLIENT", "SUDO_USER", "SUDO_UID",
                       "USER", "LOGNAME", "HOME", "TMPDIR"})


def scrub(text: str) -> str:
    """``text`` with what DESIGN §3 never stores taken out: environment entries other than the
    kept ones, and secret-looking values. Applied to every excerpt of a raw record, since a
    damaged exec line is quoted before any reader could reduce it."""
    text = _ENV_ENTRY.sub(
        lambda m: m.group(0) if m.group(1) in _KEPT_ENV else f'"{m.group(1)}=<dropped>"', text)
    for pattern, repl in _SECRETS:
        text = pattern.sub(repl, text)
    return text


def excerpt(data: bytes | str) -> str:
    """A short printable excerpt of a record for an issue message (secrets taken out)."""
    if isinstance(data, bytes):
        data = data[: EXCERPT * 4].decode("utf-8", errors="replace")
    data = scrub(data).replace("\r", "\\r").replace("\n", "\\n")
    return data if len(data) <= EXCERPT else data[: EXCERPT - 1] + "…"


def is_gzip(path: Path) -> bool:
    """Whether the file starts with the gzip magic (extensions are not trusted)."""
    with path.open("rb") as f:
        return f.read(2) == GZIP_MAGIC


@dataclass
class Gunzipped:
    """What :func:`gunzip` wrote and why it stopped early, if it did.

    ``stop`` is None (the whole stream was read), ``truncated`` (the compressed data ends inside
    the stream), ``damaged`` (corrupt compressed data), ``ratio`` or ``limit`` (the decompressed
    size reached a limit), or ``trailing`` (bytes after the gzip data that are not gzip; the data
    itself is complete). Whatever decompressed before a stop is in ``path``.
    """

    path: Path
    size: int = 0
    stop: str | None = None
    message: str | None = None


def gunzip(
    path: Path, dest_dir: Path, max_ratio: int = GZIP_MAX_RATIO, max_bytes: int = GZIP_MAX_BYTES
) -> Gunzipped:
    """Decompress ``path`` (one or more gzip members) into a new file in ``dest_dir``.

    Streams, so memory stays bounded whatever the ratio. Stops at ``max_ratio`` x the compressed
    size or at ``max_bytes``, whichever is smaller, and keeps what decompressed before any stop.
    """
    by_ratio = max(path.stat().st_size, 1) * max_ratio
    limit = min(by_ratio, max_bytes)
    fd, name = tempfile.mkstemp(prefix=path.name[:60] + ".", suffix=".plain", dir=dest_dir)
    result = Gunzipped(Path(name))
    with path.open("rb") as src, os.fdopen(fd, "wb") as dst:
        result.size, result.stop, result.message = _inflate(src.read, dst.write, limit)
    if result.stop == "limit" and by_ratio < max_bytes:
        result.stop = "ratio"
        result.message = (
            f"decompressed size passed {max_ratio}x the compressed size ({_size_text(limit)}; "
            "a gzip bomb?); the rest of the file is not read"
        )
    elif result.stop == "limit":
        result.message = (
            f"decompressed size reached the limit of {_size_text(max_bytes)} "
            "(--max-decompressed-bytes); the rest of the file is not read"
        )
    return result


def gunzip_to(
    path: Path, dest_dir: Path, max_ratio: int = GZIP_MAX_RATIO, max_bytes: int = GZIP_MAX_BYTES
) -> tuple[Path, str | None]:
    """Decompress ``path`` into ``dest_dir``; stop at ``max_ratio`` x the compressed size.

    Returns the plain file and an error text when the stream is damaged or a limit was hit
    (what was decompressed before that is kept). :func:`gunzip` says more.
    """
    result = gunzip(path, dest_dir, max_ratio, max_bytes)
    return result.path, result.message


def _inflate(
    read: Callable[[int], bytes], write: Callable[[bytes], object], limit: int
) -> tuple[int, str | None, str | None]:
    """Decompress gzip members from ``read`` into ``write``, at most ``limit`` bytes.

    Returns ``(bytes written, stop, message)`` as in :class:`Gunzipped` (``limit`` for either
    limit, without a message). NUL padding after the last member is ignored.
    """
    written = 0
    d = zlib.decompressobj(wbits=31)
    started = False  # whether the current member has consumed input
    pending = b""
    src_eof = False
    while True:
        if not pending and not src_eof:
            pending = read(_GZ_IN)
            src_eof = not pending
        if not started and pending:
            if len(pending) < 2 and not src_eof:  # two bytes are needed to see the magic
                more = read(_GZ_IN)
                src_eof = not more
                pending += more
                continue
            if not pending.startswith(GZIP_MAGIC):
                return written, *_after_members(read, pending, written)
        if src_eof and not pending:
            out = d.decompress(b"", _GZ_OUT) if started else b""  # output zlib still holds
            if not out:
                if started and not d.eof:
                    return written, "truncated", (
                        f"gzip stream truncated: the compressed data ends after {written} "
                        "decompressed bytes; the rest of the file is lost"
                    )
                return written, None, None
        else:
            before = d.copy()
            try:
                out = d.decompress(pending, _GZ_OUT)
            except zlib.error as exc:
                # salvage what decompresses before the damage, feeding the chunk in small pieces
                out = _salvage(before, pending, limit - written)
                write(out)
                return written + len(out), "damaged", (
                    f"gzip stream damaged after {written + len(out)} decompressed bytes ({exc}); "
                    "the rest of the file is lost"
                )
            started = True
            pending = d.unconsumed_tail
        if written + len(out) > limit:
            write(out[: limit - written])
            return limit, "limit", None
        write(out)
        written += len(out)
        if d.eof:
            pending = d.unused_data
            d = zlib.decompressobj(wbits=31)
            started = False


def _salvage(d: zlib._Decompress, data: bytes, room: int) -> bytes:
    """The output of ``data`` up to the first corrupt byte, at most ``room`` bytes."""
    parts: list[bytes] = []
    size = 0
    for i in range(0, len(data), 256):
        try:
            out = d.decompress(data[i : i + 256], max(room - size, 1))
        except zlib.error:
            break
        parts.append(out)
        size += len(out)
        if size >= room or d.unconsumed_tail or d.eof:
            break
    return b"".join(parts)[:room]


def _after_members(
    read: Callable[[int], bytes], pending: bytes, written: int
) -> tuple[str | None, str | None]:
    """``(stop, message)`` for bytes after the last gzip member (NUL padding is fine)."""
    if written == 0:
        return "damaged", "not a gzip stream after the gzip magic; nothing decompressed"
    extra = 0
    while pending:
        if pending.strip(b"\x00"):
            extra += len(pending)
            while more := read(_GZ_IN):
                extra += len(more)
            return "trailing", f"{extra} bytes after the end of the gzip data are not gzip; ignored"
        pending = read(_GZ_IN)
    return None, None


def _size_text(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            if n % (1 << shift) == 0:
                return f"{n >> shift} {unit}"
            return f"{n / (1 << shift):.1f} {unit} ({n} bytes)"
    return f"{n} bytes"


def read_head(path: Path, n: int = HEAD_BYTES) -> bytes:
    """The first ``n`` bytes of a file, decompressed when it is gzip (as much as decompresses
    when the stream is truncated or damaged)."""
    try:
        if is_gzip(path):
            parts: list[bytes] = []
            with path.open("rb") as f:
                _inflate(f.read, parts.append, n)
            return b"".join(parts)[:n]
        with path.open("rb") as f:
            return f.read(n)
    except OSError:
        return b""


def sniff_windows(path: Path, max_line_bytes: int) -> Iterator[tuple[int, bytes]]:
    """Heads that start at the second, third, ... line, for recognising a file whose first lines
    are damaged (over-long, binary, or a banner no reader knows).

    Yields ``(line number, head)``: each head is up to :data:`SNIFF_WINDOW_LINES` lines from that
    line on (at most :data:`HEAD_BYTES`); lines over ``max_line_bytes`` are skipped without being
    held. Only heads with :data:`SNIFF_MIN_LINES` non-blank lines are yielded. At most
    :data:`SNIFF_SCAN_BYTES` of lines (:data:`SNIFF_MAX_STARTS` of them) are looked at.
    """
    kept: list[tuple[int, bytes]] = []
    with path.open("rb") as f:
        line = kept_bytes = skipped = 0
        while kept_bytes < SNIFF_SCAN_BYTES and len(kept) < SNIFF_MAX_STARTS + SNIFF_WINDOW_LINES:
            chunk = f.readline(HEAD_BYTES)
            if not chunk:
                break
            line += 1
            length = len(chunk)
            tail = chunk
            while not tail.endswith(b"\n"):  # the rest of a line longer than a head: not held
                tail = f.readline(PROBE_WINDOW)
                if not tail:
                    break
                length += len(tail)
            if length > max_line_bytes:
                skipped += length
                if skipped > SNIFF_SKIP_BYTES:
                    break
                continue
            kept.append((line, chunk))
            kept_bytes += len(chunk)
    for i, (number, _) in enumerate(kept):
        if number == 1:
            continue  # the ordinary head starts here
        window = kept[i : i + SNIFF_WINDOW_LINES]
        if sum(1 for _, raw in window if raw.strip()) < SNIFF_MIN_LINES:
            continue
        yield number, b"".join(raw for _, raw in window)[:HEAD_BYTES]


def not_utf8_lines(path: Path, max_line_bytes: int) -> Iterator[tuple[int, bytes]]:
    """``(line number, raw line)`` of each line that is not valid UTF-8; lines over
    ``max_line_bytes`` are left out (they are reported as long lines).

    One fast pass checks the whole file; only a file with such bytes is framed line by line.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as f:
            while block := f.read(4 << 20):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        pass
    else:
        return
    for line, raw, _ in iter_lines(path, max_line_bytes):
        if raw is None:
            continue
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            yield line, raw


def head_lines(head: bytes, n: int = 20) -> list[str]:
    """The first ``n`` complete non-empty lines of a head, as text (BOM stripped)."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    parts = head.split(b"\n")
    if len(head) >= HEAD_BYTES and len(parts) > 1:
        parts = parts[:-1]  # the last one may be cut
    lines = [p.rstrip(b"\r").decode("utf-8", errors="replace") for p in parts]
    return [ln for ln in lines if ln.strip()][:n]


@dataclass
class LineProbe:
    """What the newline probe found in a file."""

    lines: int = 0
    long_lines: list[tuple[int, int, int]] = field(default_factory=list)  # (line, offset, length)
    blank_lines: int = 0
    has_cr: bool = False
    has_bom: bool = False
    final_newline: bool = True

    @property
    def clean(self) -> bool:
        """Whether the fast path's ordinality equals line numbers."""
        return not (self.long_lines or self.blank_lines or self.has_cr or self.has_bom)


def probe_lines(path: Path, max_line_bytes: int) -> LineProbe:
    """Count lines and find long or blank ones with ``mmap`` in 512 KiB windows."""
    probe = LineProbe()
    size = path.stat().st_size
    if size == 0:
        probe.final_newline = True
        return probe
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        probe.has_bom = mm[:3] == b"\xef\xbb\xbf"
        start = 0
        line = 0
        while start < size:
            nl = mm.find(b"\n", start)
            end = size if nl < 0 else nl
            line += 1
            length = end - start
            if length > max_line_bytes:
                probe.long_lines.append((line, start, length))
            elif length == 0 or (length <= 2 and mm[start:end].strip() == b""):
                probe.blank_lines += 1
            elif mm[end - 1 : end] == b"\r":
                probe.has_cr = True
            if nl < 0:
                probe.final_newline = False
                break
            start = nl + 1
        probe.lines = line
    return probe


def iter_lines(path: Path, max_line_bytes: int) -> Iterator[tuple[int, bytes | None, int]]:
    """Yield ``(line_number, raw_line_without_eol, length)``; ``None`` for a line over the limit.

    A long line is skipped without being held in memory whole.
    """
    with path.open("rb") as f:
        line = 0
        while True:
            chunk = f.readline(max_line_bytes + 1)
            if not chunk:
                return
            line += 1
            if len(chunk) > max_line_bytes and not chunk.endswith(b"\n"):
                length = len(chunk)
                while True:  # drain the rest of the long line
                    more = f.readline(PROBE_WINDOW)
                    length += len(more)
                    if not more or more.endswith(b"\n"):
                        break
                yield line, None, length
                continue
            yield line, chunk.rstrip(b"\n").rstrip(b"\r"), len(chunk)


def line_excerpts(ctx: ReadContext, lines: set[int]) -> dict[int, str]:
    """Excerpts of the given lines (the file is read again only when there are such lines)."""
    found: dict[int, str] = {}
    if not lines:
        return found
    last = max(lines)
    for line, raw, _ in iter_lines(ctx.path, ctx.max_line_bytes):
        if line in lines and raw is not None:
            found[line] = excerpt(raw)
        if line >= last:
            break
    return found


def long_line_issue(rel: str, line: int, length: int, limit: int) -> Issue:
    """The issue for a line over ``max_line_bytes``."""
    return Issue(
        rel,
        line,
        "malformed",
        f"line of {length} bytes is longer than the limit of {limit} bytes; skipped",
        hint="raise --max-line-bytes if such lines are expected",
    )


def read_ndjson(
    ctx: ReadContext,
    columns: dict[str, str],
    account: FileAccount,
    probe: LineProbe | None = None,
    select: str | None = None,
    prepare: str | None = None,
) -> pa.Table:
    """Read JSON lines with an explicit DuckDB schema; add ``src_line``.

    Accounts ``read``, ``meta`` (blank lines) and ``malformed``; the caller accounts the rest.
    A JSON value that is not an object counts as malformed.

    ``select``, when given, is a SQL select list over the schema's columns that DuckDB evaluates
    before anything becomes Arrow (so values that must not leave the parser, such as an exec
    environment, are reduced at parse time); the result then has the select list's columns and
    ``src_line`` instead of the schema's columns. ``prepare``, an optional select list evaluated
    before ``select`` (in a subquery), names values that ``select`` uses several times.
    """
    if probe is None:
        probe = probe_lines(ctx.path, ctx.max_line_bytes)
    if probe.lines == 0:
        return _empty(columns, select, prepare)
    if probe.clean:
        table = _duck_ndjson(ctx, ctx.path, columns, select, prepare)
        if table.num_rows == probe.lines and not _has_null_rows(table, columns):
            account.read += probe.lines
            return _drop_all_null(table)
    return _drop_all_null(_slow_ndjson(ctx, columns, account, select, prepare))


_ALL_NULL = "__all_null"  # with a select list: whether every schema column was NULL


def _duck_ndjson(
    ctx: ReadContext,
    path: Path,
    columns: dict[str, str],
    select: str | None = None,
    prepare: str | None = None,
) -> pa.Table:
    cols = ", ".join(f"{_ident(k)}: '{v}'" for k, v in columns.items())
    names = ", ".join(_ident(k) for k in columns)
    src = (
        f"read_ndjson(?, columns={{{cols}}}, format='newline_delimited', "
        "ignore_errors=true, maximum_object_size=?) WITH ORDINALITY AS j("
        f"{names}, src_line)"
    )
    if select is None:
        sql = f"SELECT * FROM {src}"
    else:
        all_null = " AND ".join(f"{_ident(k)} IS NULL" for k in columns)
        if prepare is not None:
            src = f"(SELECT *, {prepare} FROM {src})"
        sql = f"SELECT {select}, src_line, ({all_null}) AS {_ALL_NULL} FROM {src}"
    size = max(ctx.max_line_bytes + 16, 1 << 20)
    return ctx.con.sql(sql, params=[str(path), size]).to_arrow_table()


def _drop_all_null(table: pa.Table) -> pa.Table:
    if _ALL_NULL in table.column_names:
        return table.drop_columns([_ALL_NULL])
    return table


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _has_null_rows(table: pa.Table, columns: dict[str, str]) -> bool:
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return False
    if _ALL_NULL in table.column_names:
        return bool(pc.any(table.column(_ALL_NULL)).as_py())
    mask = None
    for name in columns:
        valid = pc.is_valid(table.column(name))
        mask = valid if mask is None else pc.or_(mask, valid)
    return mask is not None and not pc.all(mask).as_py()


def _empty(
    columns: dict[str, str], select: str | None = None, prepare: str | None = None
) -> pa.Table:
    import duckdb

    cols = ", ".join(f'NULL::{v} AS "{k}"' for k, v in columns.items())
    sql = f"SELECT {cols}, NULL::BIGINT AS src_line LIMIT 0"
    if prepare is not None:
        sql = f"SELECT *, {prepare} FROM ({sql})"
    if select is not None:
        sql = f"SELECT {select}, src_line FROM ({sql})"
    return duckdb.sql(sql).to_arrow_table()


def _slow_ndjson(
    ctx: ReadContext,
    columns: dict[str, str],
    account: FileAccount,
    select: str | None = None,
    prepare: str | None = None,
) -> pa.Table:
    good = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below
        "wb", suffix=".jsonl", dir=ctx.tmpdir, delete=False
    )
    line_numbers: list[int] = []
    consecutive = 0
    try:
        for line, raw, length in iter_lines(ctx.path, ctx.max_line_bytes):
            account.read += 1
            if consecutive >= ctx.max_consecutive_malformed:
                account.unread += 1
                continue
            if raw is None:
                account.malformed += 1
                account.issues.append(long_line_issue(ctx.rel, line, length, ctx.max_line_bytes))
                consecutive += 1
                continue
            if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                account.meta += 1
                continue
            try:
                obj = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                msg = str(exc) if isinstance(exc, UnicodeDecodeError) else f"not JSON: {exc}"
                if raw.count(b"{") > raw.count(b"}") and length == len(raw):
                    msg = "truncated JSON record (no closing brace, no newline)"
                elif raw.count(b"{") > raw.count(b"}"):
                    msg = f"truncated or corrupt JSON record: {exc}"
                account.malformed += 1
                account.issues.append(Issue(ctx.rel, line, "malformed", msg, excerpt(raw)))
                consecutive += 1
                continue
            if not isinstance(obj, dict):
                account.malformed += 1
                account.issues.append(
                    Issue(ctx.rel, line, "malformed", "JSON value is not an object", excerpt(raw))
                )
                consecutive += 1
                continue
            consecutive = 0
            good.write(raw.strip() + b"\n")
            line_numbers.append(line)
        if consecutive >= ctx.max_consecutive_malformed and account.unread:
            account.abandoned(None, ctx.max_consecutive_malformed, account.unread)
        good.close()
        if not line_numbers:
            return _empty(columns, select, prepare)
        table = _duck_ndjson(ctx, Path(good.name), columns, select, prepare)
    finally:
        good.close()
        Path(good.name).unlink(missing_ok=True)
    if table.num_rows != len(line_numbers):  # pragma: no cover - a DuckDB framing disagreement
        raise RuntimeError(
            f"{ctx.rel}: DuckDB read {table.num_rows} records where {len(line_numbers)} were framed"
        )
    idx = table.column_names.index("src_line")
    return table.set_column(idx, "src_line", pa.array(line_numbers, pa.int64()))


def read_text_lines(ctx: ReadContext, account: FileAccount) -> pa.Table:
    """Frame a text file into ``(src_line, text)``; long lines become issues, blanks are meta.

    Bytes that are not UTF-8 are decoded as Latin-1 for that line (log files mix encodings) and the
    line is kept. ``read`` and ``meta`` are accounted here.

    Vectorised: the file is read in blocks of :data:`TEXT_BLOCK` bytes cut at a newline, and Arrow
    splits, decodes and filters each block; only a block with bytes that are not UTF-8 decodes
    its lines one by one. A line over ``max_line_bytes`` is never held whole beyond one block.
    """
    parts: list[pa.Table] = []
    line = 1
    with ctx.path.open("rb") as f:
        carry = b""
        while True:
            block = f.read(TEXT_BLOCK)
            if not block:
                if carry:
                    parts.append(_text_block(ctx, account, carry, line, terminated=False))
                break
            data = carry + block
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                if len(carry) > ctx.max_line_bytes:  # a long line: skip it without keeping it
                    length = len(carry)
                    while True:
                        more = f.readline(PROBE_WINDOW)
                        length += len(more)
                        if not more or more.endswith(b"\n"):
                            break
                    account.read += 1
                    account.malformed += 1
                    account.issues.append(
                        long_line_issue(ctx.rel, line, length, ctx.max_line_bytes))
                    line += 1
                    carry = b""
                continue
            parts.append(_text_block(ctx, account, data[:cut], line, terminated=True))
            line += data.count(b"\n", 0, cut) + 1
            carry = data[cut + 1:]
    if not parts:
        return pa.table({"src_line": pa.array([], pa.int64()), "text": pa.array([], pa.string())})
    return pa.concat_tables(parts)


TEXT_BLOCK = 16 << 20
_BLANK = " \t\n\r\x0b\x0c"  # what bytes.strip() removes


def _text_block(ctx: ReadContext, account: FileAccount, data: bytes, first: int,
                terminated: bool) -> pa.Table:
    """``(src_line, text)`` of the lines of ``data`` (no final newline), numbered from ``first``;
    the last line had a newline after it when ``terminated``."""
    import numpy as np
    import pyarrow.compute as pc

    raw = pc.split_pattern(pa.array([data], pa.large_binary()), b"\n").flatten()
    n = len(raw)
    numbers = np.arange(first, first + n, dtype=np.int64)
    content = pc.binary_length(raw).to_numpy(zero_copy_only=False)
    long_mask = content > ctx.max_line_bytes
    for i in np.flatnonzero(long_mask):
        length = int(content[i]) + (1 if terminated or i < n - 1 else 0)
        account.issues.append(
            long_line_issue(ctx.rel, int(numbers[i]), length, ctx.max_line_bytes))
    if first == 1 and n and raw[0].as_py().startswith(b"\xef\xbb\xbf"):
        raw = pa.concat_arrays([pa.array([raw[0].as_py()[3:]], pa.large_binary()), raw[1:]])
    try:
        text = raw.cast(pa.large_string())
    except pa.ArrowInvalid:  # some line is not UTF-8: that line is read as Latin-1
        text = pa.array([_decode_line(b) for b in raw.to_pylist()], pa.large_string())
    text = pc.utf8_rtrim(text, characters="\r")
    blank = pc.equal(pc.ascii_trim(text, characters=_BLANK), "").to_numpy(zero_copy_only=False)
    keep = ~long_mask & ~blank
    account.read += n
    account.malformed += int(long_mask.sum())
    account.meta += int((blank & ~long_mask).sum())
    kept = pc.replace_substring(text.filter(pa.array(keep)), "\x00", "\\x00")
    return pa.table({"src_line": pa.array(numbers[keep]), "text": kept.cast(pa.string())})


def _decode_line(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
