"""Give each input file to its reader, and collect the rows and the accounting.

Inputs come from :mod:`agenttrail.inputs` (files, walked folders, ``-`` for stdin; a named pipe
given on the command line is read like stdin). Every file gets a :class:`FileAccount`, including
the ones no reader claims, and so does everything set aside (special files and broken links in
folders, folders that cannot be listed, earlier agenttrail outputs).

A ``.gz`` file is decompressed as a stream into the run's temporary folder, within a ratio and an
absolute size limit; what decompressed before a truncation, damage or limit is read, and the cut
last line is accounted once. A file is recognised from its first 64 KiB, else from heads that
start at later lines (a damaged beginning does not hide the rest). ``--host-from-path`` is
matched against the file's absolute path as the user has it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import duckdb
import pyarrow as pa

from agenttrail import readers
from agenttrail.config import Settings
from agenttrail.inputs import (
    STDIN_NAME,
    InputError,
    Skipped,
    Source,
    access_hint,
    common_root,
    expand,
    relative,
    select,
)
from agenttrail.model import TABLES, FileAccount, Issue, ReadResult, empty
from agenttrail.readers._io import (
    EXCERPT,
    Gunzipped,
    ReadContext,
    excerpt,
    gunzip,
    is_gzip,
    probe_lines,
    read_head,
    sniff_windows,
)

__all__ = ["NO_FORMAT", "STDIN_NAME", "Ingested", "InputError", "host_from_path", "ingest"]

log = logging.getLogger(__name__)

#: The message of a file no reader claims (the terminal groups these files on one line).
NO_FORMAT = "not in any format agenttrail reads; skipped"


@dataclass
class Ingested:
    """All rows read, per table, and one account per input file (sorted by path)."""

    tables: dict[str, pa.Table]
    accounts: list[FileAccount]
    root: str
    files_total: int = 0
    issues: list[Issue] = field(default_factory=list)


def host_from_path(template: str, path: str) -> str | None:
    """Match ``template`` (``{host}`` and ``*``) against the trailing components of ``path``."""
    parts = [p for p in template.strip("/").split("/") if p]
    comps = [c for c in path.split("/") if c]
    if not parts or len(parts) > len(comps):
        return None
    host = None
    for part, comp in zip(parts, comps[-len(parts) :], strict=True):
        rx = ""
        for piece in re.split(r"(\{host\}|\*)", part):
            if piece == "{host}":
                rx += r"(?P<host>[^/]+?)"
            elif piece == "*":
                rx += r"[^/]*"
            else:
                rx += re.escape(piece)
        m = re.fullmatch(rx, comp)
        if not m:
            return None
        if m.groupdict().get("host"):
            host = m.group("host")
    return host


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _count_lines(path: Path, max_line_bytes: int) -> int:
    return probe_lines(path, max_line_bytes).lines


def ingest(
    paths: list[str],
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    progress: Callable[[str], None] | None = None,
) -> Ingested:
    """Read every input; never stop at a bad file."""
    found, skipped = expand(paths)
    sources, skipped = select(found, skipped, settings)
    names = [n for s in sources for n in (s.name, *s.also)] + [k.name for k in skipped]
    root = common_root(names)
    parts: dict[str, list[pa.Table]] = {t: [] for t in TABLES}
    accounts = [_skipped_account(k, root) for k in skipped]
    tmp = Path(tempfile.mkdtemp(prefix="agenttrail-"))
    try:
        for i, src in enumerate(sorted(sources, key=lambda s: s.name), 1):
            rel = relative(src.name, root)
            if progress:
                progress(f"[{i}/{len(sources)}] {rel}")
            result = _read_one(src, rel, settings, con, tmp)
            if src.also:
                result.account.details["also_named"] = [relative(n, root) for n in src.also]
            accounts.append(result.account)
            for name, rows in result.tables.items():
                if rows.num_rows:
                    parts[name].append(rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _note_same_content(accounts)
    tables = {
        name: pa.concat_tables(ts) if ts else empty(name) for name, ts in parts.items()
    }
    accounts.sort(key=lambda a: a.path)
    return Ingested(tables=tables, accounts=accounts, root=str(root), files_total=len(sources))


def _skipped_account(k: Skipped, root: Path) -> FileAccount:
    rel = relative(k.name, root)
    account = FileAccount(path=rel)
    message = k.message.replace("{other}", relative(k.other, root)) if k.other else k.message
    if k.kind is None:
        account.details["skipped"] = message
    else:
        account.issues.append(Issue(rel, None, k.kind, message, hint=k.hint))
    return account


def _note_same_content(accounts: list[FileAccount]) -> None:
    """Different files with the same bytes are both read (their records are merged as
    duplicates later); each says which others hold the same content."""
    by_hash: dict[str, list[FileAccount]] = {}
    for a in accounts:
        if a.sha256 and a.size:
            by_hash.setdefault(a.sha256, []).append(a)
    for same in by_hash.values():
        if len(same) > 1:
            for a in same:
                a.details["same_content_as"] = sorted(b.path for b in same if b is not a)


def _read_one(
    src: Source, rel: str, settings: Settings, con: duckdb.DuckDBPyConnection, tmp: Path
) -> ReadResult:
    """Spool, hash, decompress and read one input; its temporary copies are removed after it
    (so many large ``.gz`` inputs never fill the temporary disk together)."""
    account = FileAccount(path=rel)
    made: list[Path] = []
    try:
        return _read_source(src, rel, settings, con, tmp, account, made)
    finally:
        for path in made:
            path.unlink(missing_ok=True)


def _read_source(
    src: Source,
    rel: str,
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    tmp: Path,
    account: FileAccount,
    made: list[Path],
) -> ReadResult:
    gz: Gunzipped | None = None
    try:
        source = Path(src.name)
        if src.spool:
            fd, name = tempfile.mkstemp(prefix="spool.", dir=tmp)
            source = Path(name)
            made.append(source)
            with os.fdopen(fd, "wb") as out:
                if src.name == STDIN_NAME:
                    shutil.copyfileobj(sys.stdin.buffer, out)
                else:
                    with Path(src.name).open("rb") as pipe:
                        shutil.copyfileobj(pipe, out)
        account.size = source.stat().st_size
        account.sha256 = _sha256(source)
        plain = source
        if is_gzip(source):
            gz = gunzip(source, tmp, max_bytes=settings.max_decompressed_bytes)
            made.append(gz.path)
            plain = gz.path
            account.details["compression"] = "gzip"
    except OSError as exc:
        account.issues.append(
            Issue(rel, None, "file", f"cannot read: {exc.strerror}", hint=access_hint(exc))
        )
        return ReadResult(account)
    stopped = gz is not None and gz.stop in _CUT_STOPS
    lines_kept, cut = _trim_partial_line(plain) if stopped else (0, None)
    if plain.stat().st_size == 0:
        if gz and gz.stop:
            _gzip_issue(account, gz, lines_kept, cut)
        else:
            account.issues.append(Issue(
                rel, None, "warning",
                "empty input on stdin" if src.name == STDIN_NAME else
                "empty file: nothing to read" if gz is None else
                "the gzip data decompresses to nothing: nothing to read"))
        return ReadResult(account)
    result = _read_plain(src, rel, plain, source, account, settings, con, tmp)
    if gz and gz.stop:
        _gzip_issue(result.account, gz, lines_kept, cut)
    return result


def _read_plain(
    src: Source,
    rel: str,
    plain: Path,
    source: Path,
    account: FileAccount,
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    tmp: Path,
) -> ReadResult:
    """Recognise a non-empty plain file, check its host, and give it to its reader."""
    reader, from_line = _recognise(plain, settings)
    if reader is None:
        n = _count_lines(plain, settings.max_line_bytes)
        account.read = account.unread = n
        account.issues.append(
            Issue(
                rel,
                1,
                "file",
                NO_FORMAT,
                excerpt=_first_line(plain),
                hint="run `agenttrail formats` for what is read, or force a format with "
                "--input-format NAME",
            )
        )
        return ReadResult(account)
    account.format = reader.NAME
    if from_line is not None:
        account.details["recognised_from_line"] = from_line
    host, origin = _host_for(src.name, settings)
    if origin == "option" and not reader.NEEDS_HOST:
        host, origin = None, None  # --host names only formats that carry no host (DESIGN §3)
    if reader.NEEDS_HOST and host is None and not getattr(reader, "RECORDS_MAY_NAME_HOST", False):
        n = _count_lines(plain, settings.max_line_bytes)
        account.read = account.unread = n
        account.issues.append(_no_host_issue(reader, src.name, rel, settings))
        return ReadResult(account)
    mtime_us = None if src.spool else int(source.stat().st_mtime * 1_000_000)
    ctx = ReadContext(
        path=plain,
        rel=rel,
        con=con,
        host=host,
        host_origin=origin,
        tz=_tz_for(host, settings),
        host_zones=settings.host_zones(),
        year=settings.year,
        anchor_us=settings.collected_at_us or mtime_us,
        anchor_given=settings.collected_at_us is not None,
        max_line_bytes=settings.max_line_bytes,
        tmpdir=tmp,
    )
    try:
        result: ReadResult = reader.read(ctx)
    except Exception as exc:  # one file's failure never ends the run (STYLE anti-pattern 4)
        log.warning("%s: the %s reader failed: %s", rel, reader.NAME, exc)
        log.debug("traceback", exc_info=True)
        n = _count_lines(plain, settings.max_line_bytes)
        account.read = account.unread = n
        account.issues.append(Issue(
            rel, None, "file", f"the {reader.NAME} reader failed ({type(exc).__name__}: {exc}); "
            "file not read", hint="run again with --debug for the details, and report it"))
        return ReadResult(account)
    result.account.path = rel
    result.account.size = account.size
    result.account.sha256 = account.sha256
    result.account.format = reader.NAME
    result.account.issues[:0] = account.issues
    result.account.details.update(account.details)
    if result.account.host is None:
        result.account.host = host
    return result


def _recognise(plain: Path, settings: Settings) -> tuple[ModuleType | None, int | None]:
    """The file's reader, and the line it was recognised from when not the first.

    The first 64 KiB are tried first; when no reader claims them, heads starting at later lines
    (skipping over-long ones) are tried, so a damaged beginning does not hide the rest.
    """
    if settings.input_format:
        return readers.BY_NAME[settings.input_format], None
    reader = readers.sniff(read_head(plain))
    if reader is not None:
        return reader, None
    for line, head in sniff_windows(plain, settings.max_line_bytes):
        reader = readers.sniff(head)
        if reader is not None:
            return reader, line
    return None, None


#: Reasons a decompression stopped inside the data (its last line may be cut).
_CUT_STOPS = ("truncated", "damaged", "ratio", "limit")


def _trim_partial_line(path: Path) -> tuple[int, tuple[int, int, str] | None]:
    """Cut an incomplete last line off a file whose decompression stopped early.

    Returns the number of complete lines kept and, when a partial line was cut, its ``(line
    number, length, excerpt)``: readers see only complete lines, and the cut line is accounted
    once by the caller.
    """
    size = path.stat().st_size
    if size == 0:
        return 0, None
    with path.open("r+b") as f:
        end = size
        keep = 0
        while end > 0:
            start = max(0, end - (1 << 16))
            f.seek(start)
            nl = f.read(end - start).rfind(b"\n")
            if nl >= 0:
                keep = start + nl + 1
                break
            end = start
        partial = None
        if keep < size:
            f.seek(keep)
            partial = (size - keep, excerpt(f.read(EXCERPT * 4)))
            f.truncate(keep)
        f.seek(0)
        lines = 0
        remaining = keep
        while remaining > 0:
            block = f.read(min(remaining, 1 << 20))
            if not block:
                break
            lines += block.count(b"\n")
            remaining -= len(block)
    if partial is None:
        return lines, None
    return lines, (lines + 1, *partial)


def _gzip_issue(
    account: FileAccount, gz: Gunzipped, lines_kept: int, cut: tuple[int, int, str] | None
) -> None:
    """The one issue for a gzip stream that stopped early, at the last line; a cut last line is
    counted once (malformed when the data is lost, unread when a limit stopped reading)."""
    rel = account.path
    message = gz.message or "gzip stream stopped early"
    if gz.stop == "trailing":
        account.issues.append(Issue(rel, None, "warning", message))
        return
    limit = gz.stop in ("ratio", "limit")
    hint = {
        "ratio": "if the file is genuine, decompress it and give the plain file",
        "limit": "raise --max-decompressed-bytes, or decompress it and give the plain file",
    }.get(gz.stop or "", "the .gz file is incomplete or corrupt (an interrupted copy?); "
          "fetch it again")
    if cut is None:
        account.issues.append(Issue(rel, lines_kept or None, "unread", message, hint=hint))
        return
    line, length, text = cut
    account.read += 1
    if limit:
        account.unread += 1
    else:
        account.malformed += 1
    account.issues.append(Issue(
        rel, line, "unread" if limit else "malformed",
        f"{message}; the last line ({length} bytes) is incomplete", text, hint))


def _host_for(name: str, settings: Settings) -> tuple[str | None, str | None]:
    if settings.host_from_path and name != STDIN_NAME:
        h = settings.canonical_host(host_from_path(settings.host_from_path, name))
        if h:
            return h, "path"
    if settings.host:
        return settings.canonical_host(settings.host), "option"
    return None, None


def _no_host_issue(reader: ModuleType, name: str, rel: str, settings: Settings) -> Issue:
    template = settings.host_from_path
    if template and name != STDIN_NAME:
        what = (f"--host-from-path {template!r} does not match this file's path "
                f"({_path_tail(name, template)})")
        found = host_from_path(template, name)
        if found:
            what = f"--host-from-path {template!r} gives {found!r}, which names no host"
        hint = ("the template is matched against the last components of the file's path: "
                "'macs/{host}/*' matches …/macs/mac-1/eslogger.jsonl; or give --host NAME")
    else:
        what = "none was given"
        hint = ("name the host with --host NAME (one host) or --host-from-path "
                "'{host}/*' (a folder per host)")
    return Issue(
        rel, None, "file", f"{reader.NAME} records carry no host name and {what}; file not read",
        hint=hint)


def _path_tail(name: str, template: str) -> str:
    """The last components of a path the template is compared with (one more than it has)."""
    comps = [c for c in name.split("/") if c]
    n = len([p for p in template.strip("/").split("/") if p]) + 1
    return "/".join(comps) if len(comps) <= n else "…/" + "/".join(comps[-n:])


def _tz_for(host: str | None, settings: Settings) -> str | None:
    if host and host in settings.hosts and settings.hosts[host].tz:
        return settings.hosts[host].tz
    return settings.tz


def _first_line(path: Path) -> str:
    with path.open("rb") as fh:
        return excerpt(fh.readline(400))
