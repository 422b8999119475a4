"""Writers of the simulated dataset in other formats than eslogger, Zeek and sshd syslog.

Each module converts what ``simulate`` wrote in the base formats into one other format:
``convert(src, dst) -> list[str]`` reads the dataset under ``src`` and writes the same events
under ``dst`` (endpoint files under ``macs/<host>/``, login files under ``servers/<host>/``,
flow files under ``net/``), returning the relative paths written. The converters are test-data
writers: deterministic, and free to read the base files with plain Python.

``FAMILIES`` lists, per kind of telemetry, the format names ``simulate --formats`` accepts; the
base format of each family (``None`` converter) is what the engine writes itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

Converter = Callable[[Path, Path], list[str]]

#: family -> format name -> converter (None: the base format, written by the engine).
FAMILIES: dict[str, dict[str, Converter | None]] = {
    "endpoint": {"eslogger": None},
    "flow": {"zeek": None},
    "login": {"syslog": None},
}

#: Where each family's base files live in a simulated dataset.
BASE_FILES: dict[str, tuple[str, ...]] = {
    "endpoint": ("macs/*/eslogger.jsonl",),
    "flow": ("zeek/conn.log", "zeek/ssh.log"),
    "login": ("servers/*/auth.log",),
}

DEFAULT = ("eslogger", "zeek", "syslog")


def family_of(name: str) -> str:
    """The family a format name belongs to (ValueError when it is not a known format)."""
    for family, names in FAMILIES.items():
        if name in names:
            return family
    known = ", ".join(n for names in FAMILIES.values() for n in names)
    raise ValueError(f"no simulated format {name!r}; known: {known}")


def choose(names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """One format per family: the names given, the base format for the others."""
    chosen = {family_of(n): n for n in DEFAULT}
    seen: dict[str, str] = {}
    for n in names:
        fam = family_of(n)
        if fam in seen and seen[fam] != n:
            raise ValueError(f"--formats names two {fam} formats: {seen[fam]} and {n}")
        seen[fam] = chosen[fam] = n
    return chosen
