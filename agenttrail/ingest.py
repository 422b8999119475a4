"""Find the input files, give each to its reader, and collect the rows and the accounting.

Paths may be files, folders (walked, sorted) or ``-`` (stdin, spooled to a temporary file).
Every file gets a :class:`FileAccount`, including the ones no reader claims.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from agenttrail import readers
from agenttrail.config import Settings
from agenttrail.model import TABLES, FileAccount, Issue, ReadResult, empty
from agenttrail.readers._io import ReadContext, gunzip_to, is_gzip, probe_lines, read_head

log = logging.getLogger(__name__)

STDIN_NAME = "-"


class InputError(Exception):
    """No input could be found at a path given on the command line."""


@dataclass
class Ingested:
    """All rows read, per table, and one account per input file (sorted by path)."""

    tables: dict[str, pa.Table]
    accounts: list[FileAccount]
    root: str
    files_total: int = 0
    issues: list[Issue] = field(default_factory=list)


def expand(paths: Iterable[str]) -> list[Path]:
    """Files named or found under folders, sorted; ``-`` stays ``-``."""
    out: list[Path] = []
    for p in paths:
        if p == STDIN_NAME:
            out.append(Path(STDIN_NAME))
            continue
        path = Path(p)
        if path.is_dir():
            seen: set[tuple[int, int]] = set()
            for dirpath, dirnames, filenames in os.walk(path, followlinks=True):
                st = Path(dirpath).stat()
                if (st.st_dev, st.st_ino) in seen:  # a symlink loop
                    dirnames[:] = []
                    continue
                seen.add((st.st_dev, st.st_ino))
                dirnames.sort()
                for name in sorted(filenames):
                    if not name.startswith("."):
                        out.append(Path(dirpath) / name)
        elif path.exists():
            out.append(path)
        else:
            raise InputError(f"{p}: no such file or folder")
    return sorted(set(out), key=lambda q: str(q))


def common_root(files: list[Path]) -> Path:
    """The deepest folder containing every input file."""
    real = [f.resolve().parent for f in files if str(f) != STDIN_NAME]
    if not real:
        return Path.cwd()
    return Path(os.path.commonpath([str(p) for p in real]))


def relative(path: Path, root: Path) -> str:
    """The file's name in reports."""
    if str(path) == STDIN_NAME:
        return STDIN_NAME
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def host_from_path(template: str, rel: str) -> str | None:
    """Match ``template`` (``{host}`` and ``*``) against the trailing components of ``rel``."""
    parts = [p for p in template.strip("/").split("/") if p]
    comps = rel.split("/")
    if len(parts) > len(comps):
        return None
    regexes = []
    for part in parts:
        rx = ""
        for piece in re.split(r"(\{host\}|\*)", part):
            if piece == "{host}":
                rx += r"(?P<host>[^/]+?)"
            elif piece == "*":
                rx += r"[^/]*"
            else:
                rx += re.escape(piece)
        regexes.append(re.compile(rx))
    host = None
    for rx, comp in zip(regexes, comps[-len(parts) :], strict=True):
        m = rx.fullmatch(comp)
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
    own = {Path(p).resolve() for p in (settings.assets, settings.config_path) if p}
    files = [f for f in expand(paths) if str(f) == STDIN_NAME or f.resolve() not in own]
    root = common_root(files)
    tmp = Path(tempfile.mkdtemp(prefix="agenttrail-"))
    parts: dict[str, list[pa.Table]] = {t: [] for t in TABLES}
    accounts: list[FileAccount] = []
    try:
        for i, f in enumerate(files, 1):
            rel = relative(f, root)
            if progress:
                progress(f"[{i}/{len(files)}] {rel}")
            result = _read_one(f, rel, settings, con, tmp)
            accounts.append(result.account)
            for name, rows in result.tables.items():
                if rows.num_rows:
                    parts[name].append(rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tables = {
        name: pa.concat_tables(ts) if ts else empty(name) for name, ts in parts.items()
    }
    accounts.sort(key=lambda a: a.path)
    return Ingested(tables=tables, accounts=accounts, root=str(root), files_total=len(files))


def _read_one(
    f: Path, rel: str, settings: Settings, con: duckdb.DuckDBPyConnection, tmp: Path
) -> ReadResult:
    account = FileAccount(path=rel)
    if str(f) == STDIN_NAME:
        plain = tmp / "stdin"
        with plain.open("wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out)
        source = plain
    else:
        source = f
    try:
        account.size = source.stat().st_size
        account.sha256 = _sha256(source)
        plain = source
        if is_gzip(source):
            plain, error = gunzip_to(source, tmp)
            account.details["compression"] = "gzip"
            if error:
                account.issues.append(Issue(rel, None, "malformed", error))
    except OSError as exc:
        account.issues.append(
            Issue(rel, None, "file", f"cannot read: {exc.strerror}", hint="check permissions")
        )
        return ReadResult(account)
    forced = settings.input_format
    reader = readers.BY_NAME[forced] if forced else readers.sniff(read_head(plain))
    if reader is None:
        n = _count_lines(plain, settings.max_line_bytes)
        account.read = n
        account.unread = n
        if n:
            account.issues.append(
                Issue(
                    rel,
                    1,
                    "file",
                    "not in any format agenttrail reads; skipped",
                    excerpt=_first_line(plain),
                    hint="run `agenttrail formats` for what is read; a file of a known format "
                    "with a damaged beginning is reported here too",
                )
            )
        return ReadResult(account)
    account.format = reader.NAME
    host, origin = _host_for(rel, settings)
    if origin == "option" and not reader.NEEDS_HOST:
        host, origin = None, None  # --host names only formats that carry no host (DESIGN §3)
    if reader.NEEDS_HOST and host is None and not getattr(reader, "RECORDS_MAY_NAME_HOST", False):
        n = _count_lines(plain, settings.max_line_bytes)
        account.read = n
        account.unread = n
        account.issues.append(
            Issue(
                rel,
                None,
                "file",
                f"{reader.NAME} records carry no host name and none was given; file not read",
                hint="name the host with --host NAME (one host) or --host-from-path "
                "'{host}/*' (a folder per host)",
            )
        )
        return ReadResult(account)
    mtime_us = int(source.stat().st_mtime * 1_000_000) if str(f) != STDIN_NAME else None
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
    result: ReadResult = reader.read(ctx)
    result.account.path = rel
    result.account.size = account.size
    result.account.sha256 = account.sha256
    result.account.format = reader.NAME
    result.account.issues[:0] = account.issues
    result.account.details.update(account.details)
    if result.account.host is None:
        result.account.host = host
    return result


def _host_for(rel: str, settings: Settings) -> tuple[str | None, str | None]:
    if settings.host_from_path:
        h = host_from_path(settings.host_from_path, rel)
        if h:
            return settings.canonical_host(h), "path"
    if settings.host:
        return settings.canonical_host(settings.host), "option"
    return None, None


def _tz_for(host: str | None, settings: Settings) -> str | None:
    if host and host in settings.hosts and settings.hosts[host].tz:
        return settings.hosts[host].tz
    return settings.tz


def _first_line(path: Path) -> str:
    from agenttrail.readers._io import excerpt

    with path.open("rb") as fh:
        return excerpt(fh.readline(400))
