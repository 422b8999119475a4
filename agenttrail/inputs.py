"""Find the inputs: walk folders, name each file as the user has it, and set aside what is not
to be read (DESIGN §3 names, §8 accounting).

Only regular files (and links to them) are read from folders; hidden files are left out; special
files, broken links, link loops and folders that cannot be listed are kept as :class:`Skipped`
entries with the reason, so the report lists them. A file keeps the path the user has for it (a
symbolic link stays the link, not its target); a file reached under several names is one
:class:`Source` with its other names. The run's own ``--assets`` and ``--config`` files are left
out; this run's output folder and earlier agenttrail outputs are skipped, not read back.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from agenttrail.config import Settings
from agenttrail.readers._io import read_head

STDIN_NAME = "-"

#: Files agenttrail writes, and bytes the first 64 KiB of each holds (any one of a tuple's
#: alternatives); such files found among the inputs are skipped, not read back.
OWN_OUTPUTS: dict[str, tuple[bytes, ...]] = {
    "report.json": (b'"report_version"',),
    "run.json": (b'"tool_version"',),
    "findings.json": (b'"class_uid": 2004',),
    "findings.jsonl": (b'"class_uid": 2004',),
    "report.html": (b"agenttrail",),
    "MANIFEST.json": (b'"generator": "agenttrail.simulate"',),
}

_SPECIAL = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


class InputError(Exception):
    """No input could be found at a path given on the command line."""


@dataclass(frozen=True)
class Source:
    """One input to read.

    Attributes:
        name: the absolute path as the user has it (links not resolved), or ``-``.
        spool: read through a pipe (stdin, a named pipe given on the command line): copied to a
            temporary file first.
        also: other names of the same file (given twice, or through links), not read again.
    """

    name: str
    spool: bool = False
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skipped:
    """Something found among the inputs and not read.

    ``kind`` is the issue kind, or None for a note without an issue (earlier agenttrail outputs:
    skipped, not damaged). ``{other}`` in ``message`` is replaced by ``other``'s report name.
    """

    name: str
    kind: str | None
    message: str
    hint: str = ""
    other: str | None = None


def expand(paths: Iterable[str]) -> tuple[list[Source], list[Skipped]]:
    """Files named or found under folders (walked in name order), and what was skipped.

    Only regular files (and links to them) are read from folders; hidden files are left out.
    A named pipe given on the command line is read like stdin. Raises :class:`InputError` when a
    path given on the command line cannot be opened.
    """
    found: list[Source] = []
    skipped: list[Skipped] = []
    for p in paths:
        if p == STDIN_NAME:
            found.append(Source(STDIN_NAME, spool=True))
            continue
        name = os.path.normpath(Path(p).absolute())  # absolute, links kept
        try:
            st = Path(name).stat()
        except OSError as exc:
            raise InputError(f"{p}: {_unopenable(name, exc)[0]}") from exc
        if stat.S_ISDIR(st.st_mode):
            _walk(name, st, found, skipped)
        elif stat.S_ISREG(st.st_mode):
            found.append(Source(name))
        elif stat.S_ISFIFO(st.st_mode):
            found.append(Source(name, spool=True))
        else:
            skipped.append(_special(name, st))
    return found, skipped


def _walk(top: str, top_st: os.stat_result, found: list[Source], skipped: list[Skipped]) -> None:
    """Walk a folder depth first in name order, following links to folders once, never round a
    loop."""
    first = (top_st.st_dev, top_st.st_ino)
    visited = {first: top}
    stack: list[tuple[str, frozenset[tuple[int, int]]]] = [(top, frozenset({first}))]
    while stack:
        folder, ancestors = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            skipped.append(Skipped(
                folder, "file", f"folder cannot be listed ({exc.strerror}); its files are not read",
                hint=access_hint(exc)))
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            name = str(Path(folder) / entry.name)
            try:
                st = Path(name).stat()  # follows links
            except OSError as exc:
                message, hint = _unopenable(name, exc)
                skipped.append(Skipped(name, "file", f"{message}; skipped", hint))
                continue
            key = (st.st_dev, st.st_ino)
            if stat.S_ISDIR(st.st_mode):
                if key in ancestors:
                    skipped.append(Skipped(
                        name, "warning", "link to a folder that contains it (a loop); not followed",
                        hint="remove the link, or give the folder it points to"))
                elif key in visited:
                    skipped.append(Skipped(
                        name, "warning", "the same folder as {other}; not read twice",
                        other=visited[key]))
                else:
                    visited[key] = name
                    subfolders.append((name, ancestors | {key}))
            elif stat.S_ISREG(st.st_mode):
                found.append(Source(name))
            else:
                skipped.append(_special(name, st))
        stack.extend(reversed(subfolders))


def _unopenable(name: str, exc: OSError) -> tuple[str, str]:
    """Message and hint for a path that cannot be opened (a broken link is not a permission
    problem)."""
    if Path(name).is_symlink():
        try:
            target = str(Path(name).readlink())
        except OSError:
            target = "?"
        if exc.errno == errno.ELOOP:
            return (f"symbolic link loop (-> {target})",
                    "the link leads back to itself through other links; fix or remove it")
        if exc.errno == errno.ENOENT:
            return (f"dangling symbolic link: its target {target} does not exist",
                    "fix the link or remove it")
    if exc.errno == errno.ENOENT:
        return "no such file or folder", ""
    return f"cannot be opened ({exc.strerror})", access_hint(exc)


def access_hint(exc: OSError) -> str:
    """The hint for an error opening a path: permissions only when they are the cause."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "check permissions (run as a user who may read it)"
    return ""


def _special(name: str, st: os.stat_result) -> Skipped:
    what = _SPECIAL.get(stat.S_IFMT(st.st_mode), "not a regular file")
    return Skipped(name, "file", f"{what}, not a regular file; skipped",
                   hint="only regular files (and links to them) are read from folders; copy the "
                   "data into a file, or give a pipe on the command line")


def _own_output(name: str, output_dir: str | None) -> str | None:
    """Why a file is one of agenttrail's own outputs, or None."""
    if output_dir is not None:
        out = os.path.realpath(output_dir)
        if os.path.realpath(name).startswith(out.rstrip(os.sep) + os.sep):
            return "in this run's output folder (-o); not read"
    base = Path(name).name
    markers = OWN_OUTPUTS.get(base)
    if markers is None:
        return None
    head = read_head(Path(name))
    no_findings = base.startswith("findings.") and head.strip() in (b"", b"[]")
    if no_findings or any(m in head for m in markers):
        return f"an agenttrail output ({base}); not read"
    return None


def select(
    sources: list[Source], skipped: list[Skipped], settings: Settings
) -> tuple[list[Source], list[Skipped]]:
    """Drop the run's own files, skip agenttrail outputs, and merge names of the same file."""
    own = set()
    for p in (settings.assets, settings.config_path):
        try:
            st = Path(p).stat() if p else None
        except OSError:
            st = None
        if st is not None:
            own.add((st.st_dev, st.st_ino))
    by_file: dict[tuple[int, int], list[Source]] = {}
    out: list[Source] = []
    for src in sources:
        if src.name == STDIN_NAME:
            out.append(src)
            continue
        try:
            st = Path(src.name).stat()
        except OSError as exc:  # removed since the walk
            skipped.append(Skipped(src.name, "file", f"{_unopenable(src.name, exc)[0]}; skipped",
                                   access_hint(exc)))
            continue
        key = (st.st_dev, st.st_ino)
        if key in own:
            continue  # --assets and --config are not telemetry
        why = None if src.spool else _own_output(src.name, settings.output_dir)
        if why is not None:
            skipped.append(Skipped(src.name, None, why))
            continue
        by_file.setdefault(key, []).append(src)
    for same in by_file.values():  # the file's own name first, then links to it, by name
        names = sorted({s.name for s in same}, key=lambda n: (Path(n).is_symlink(), n))
        out.append(Source(names[0], spool=same[0].spool, also=tuple(sorted(names[1:]))))
    return out, skipped


def common_root(names: list[str]) -> Path:
    """The deepest folder containing every input (by the names the user has, links kept)."""
    parents = [str(Path(n).parent) for n in names if n != STDIN_NAME]
    if not parents:
        return Path.cwd()
    return Path(os.path.commonpath(parents))


def relative(name: str, root: Path) -> str:
    """The file's name in reports: relative to the common input root."""
    if name == STDIN_NAME:
        return STDIN_NAME
    return Path(os.path.relpath(name, root)).as_posix()
