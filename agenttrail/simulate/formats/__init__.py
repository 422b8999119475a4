"""Writers of the simulated dataset in other formats than eslogger, Zeek and sshd syslog.

Each module converts what ``simulate`` wrote in the base formats into one other format:
``convert(src, dst) -> list[str]`` reads the dataset under ``src`` and writes the same events
under ``dst`` (endpoint files under ``macs/<host>/``, login files under ``servers/<host>/``,
flow files under ``net/``), returning the relative paths written. The converters are test-data
writers: deterministic, and free to read the base files with plain Python.

``FORMATS`` lists the format names ``simulate --formats`` accepts, with the families (endpoint,
flow, login) each carries; the base format of each family (``None`` converter) is what the engine
writes itself. Register a converter by adding its line there.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from pathlib import Path

Converter = Callable[[Path, Path], list[str]]


def _lazy(module: str) -> Converter:
    """The ``convert`` of a sibling module, imported when first used."""

    def convert(src: Path, dst: Path) -> list[str]:
        mod = import_module(f"agenttrail.simulate.formats.{module}")
        return mod.convert(src, dst)  # type: ignore[no-any-return]

    return convert


#: format name -> (the families it carries, its converter; None: a base format the engine writes).
FORMATS: dict[str, tuple[tuple[str, ...], Converter | None]] = {
    "eslogger": (("endpoint",), None),
    "zeek": (("flow",), None),
    "syslog": (("login",), None),
    "osquery": (("endpoint",), _lazy("osquery")),
    "elastic": (("endpoint",), _lazy("elastic")),
    "suricata": (("flow",), _lazy("suricata")),
    "nfdump": (("flow",), _lazy("nfdump")),
    "vpcflow": (("flow",), _lazy("vpcflow")),
    "auditd": (("login",), _lazy("auditd_login")),
    "journald": (("login",), _lazy("journald")),
    "unified_log": (("login",), _lazy("unified_log")),
    "wtmp": (("login",), _lazy("wtmp")),
    # OCSF carries every family: Process Activity, Network Activity and Authentication events
    "ocsf": (("endpoint", "flow", "login"), _lazy("ocsf_input")),
}

#: Where each family's base files live in a simulated dataset.
BASE_FILES: dict[str, tuple[str, ...]] = {
    "endpoint": ("macs/*/eslogger.jsonl",),
    "flow": ("zeek/conn.log", "zeek/ssh.log"),
    "login": ("servers/*/auth.log",),
}

DEFAULT = ("eslogger", "zeek", "syslog")


def families(name: str) -> tuple[str, ...]:
    """The families a format carries (ValueError when it is not a simulated format)."""
    if name not in FORMATS:
        raise ValueError(f"no simulated format {name!r}; known: {', '.join(FORMATS)}")
    return FORMATS[name][0]


def choose(names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Family -> format: the names given, the base format for the other families."""
    chosen = {fam: n for n in DEFAULT for fam in families(n)}
    seen: dict[str, str] = {}
    for n in names:
        for fam in families(n):
            if fam in seen and seen[fam] != n:
                raise ValueError(f"--formats names two {fam} formats: {seen[fam]} and {n}")
            seen[fam] = chosen[fam] = n
    return chosen
