"""Simulated datasets in the real formats: benign days and SSH agent hijacks.

``simulate(out_dir)`` writes, for a fixed base date (2026-03-02T09:00Z) plus seed-driven jitter::

    macs/<mac>/eslogger.jsonl   eslogger JSON lines (no host inside: hunt with
                                --host-from-path 'macs/{host}/*')
    zeek/conn.log, ssh.log      Zeek 6 TSV with full headers
    servers/<host>/auth.log     RFC 3164 syslog (sshd, pam_unix, systemd-logind, CRON, sudo)
    assets.csv                  host,ip,valid_from,valid_to
    MANIFEST.json               seed, hosts, and per scenario what a correct hunt concludes,
                                with the file:line of the key records

The generator is a small scenario language (``actions``, ``phrases``) played by a discrete-event
engine over a ``World``; ``check(out_dir)`` verifies a dataset's internal consistency. Everything
random comes from ``random.Random`` seeded by ``seed``: same seed, same bytes.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agenttrail.simulate._esjson import iso_ns
from agenttrail.simulate.actions import play
from agenttrail.simulate.background import background
from agenttrail.simulate.check import check
from agenttrail.simulate.formats import BASE_FILES, FORMATS, choose
from agenttrail.simulate.scenarios import BENIGN, BUILDERS, SCENARIOS
from agenttrail.simulate.world import (
    MAC_LEASE_FROM,
    OLD_LEASE,
    OTHERS,
    World,
)
from agenttrail.simulate.writers import EsloggerWriter, write_assets, write_auth_log, write_zeek

__all__ = ["SCENARIOS", "Manifest", "check", "simulate"]

NS = 1_000_000_000


@dataclass
class Manifest:
    """What was written, and what a correct hunt over it concludes (``MANIFEST.json``)."""

    out_dir: Path
    seed: int
    scale: int
    scenarios: list[str]
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def expected(self) -> dict[str, dict[str, Any]]:
        return self.data["expected"]

    @property
    def files(self) -> list[str]:
        return self.data["files"]

    def to_json(self) -> str:
        return json.dumps(self.data, indent=2) + "\n"


def simulate(out_dir: Path, seed: int = 7, scenarios: list[str] | None = None,
             scale: int = 1, formats: list[str] | tuple[str, ...] = ()) -> Manifest:
    """Write a dataset with ``background`` plus ``scenarios`` (default: all) to ``out_dir``.

    ``scale`` multiplies the background's random activity (about 13,000 eslogger events per unit
    over the four-hour capture). ``formats`` picks other formats per family (see
    :mod:`agenttrail.simulate.formats`); the base files of a replaced family are not kept.
    """
    chosen = choose(formats)
    names = list(SCENARIOS) if scenarios is None else list(scenarios)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario(s) {unknown}; known: {sorted(SCENARIOS)}")
    names = [n for n in SCENARIOS if n in names]  # canonical order, no duplicates
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    w = World(seed, scale)
    for mac in w.macs.values():
        rel = f"macs/{mac.name}/eslogger.jsonl"
        mac.sink = EsloggerWriter(out_dir / rel, rel, mac, seed)
    scripts = background(w)
    scripts += [BUILDERS[n](w, random.Random(f"{seed}/scenario/{n}")) for n in names]
    play(w, scripts)

    located: dict[str, tuple[str, int]] = {}
    mtimes: dict[str, int] = {}
    for mac in w.macs.values():
        located |= mac.sink.close()
        mtimes[mac.sink.rel] = mac.sink.last_t
    located |= write_zeek(out_dir, w.flows, w.t0)
    t_close = max(f.end for f in w.flows) + 5 * NS
    mtimes["zeek/conn.log"] = mtimes["zeek/ssh.log"] = t_close
    for srv in w.servers.values():
        loc, last = write_auth_log(out_dir, srv)
        located |= loc
        mtimes[f"servers/{srv.name}/auth.log"] = last
    write_assets(out_dir, _asset_rows(w))
    files = [*sorted(mtimes), "assets.csv"]
    data = _manifest(w, names, located, files)
    manifest = Manifest(out_dir, seed, w.scale, names, data)
    (out_dir / "MANIFEST.json").write_text(manifest.to_json(), encoding="utf-8")
    for rel, t in mtimes.items():  # a log file's mtime is its last write: year inference anchors
        os.utime(out_dir / rel, ns=(t, t))
    if chosen != choose(()):
        _convert(out_dir, chosen, manifest)
    return manifest


def _convert(out_dir: Path, chosen: dict[str, str], manifest: Manifest) -> None:
    """Replace the base files of each family whose chosen format is another one."""
    with tempfile.TemporaryDirectory(prefix="agenttrail-sim-") as tmp:
        base = Path(tmp) / "base"
        shutil.copytree(out_dir, base)
        replaced: set[str] = set()
        written: list[str] = []
        for family, name in chosen.items():
            if FORMATS[name][1] is None:
                continue
            for pattern in BASE_FILES[family]:
                for f in out_dir.glob(pattern):
                    replaced.add(f.relative_to(out_dir).as_posix())
                    f.unlink()
        for name in dict.fromkeys(chosen.values()):  # each converter once, in family order
            convert = FORMATS[name][1]
            if convert is not None:
                written += convert(base, out_dir)
    for d in sorted(out_dir.rglob("*"), reverse=True):  # folders emptied by the replacement
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    data = manifest.data
    data["formats"] = chosen
    data["files"] = sorted({*(f for f in data["files"] if f not in replaced), *written})
    for facts in data["expected"].values():  # file:line refs into replaced files are void
        for key, where in list(facts.get("records", {}).items()):
            if where and where["file"] in replaced:
                facts["records"][key] = None
    (out_dir / "MANIFEST.json").write_text(manifest.to_json(), encoding="utf-8")


def _asset_rows(w: World) -> list[tuple[str, str, str, str]]:
    rows = [OLD_LEASE]
    rows += [(m.name, m.ip, MAC_LEASE_FROM if m.ip == OLD_LEASE[1] else "2026-02-26T08:15:00Z", "")
             for m in w.macs.values()]
    rows += [(s.name, s.ip, "", "") for s in w.servers.values()]
    rows += [(name, ip, "", "") for name, (ip, internal) in OTHERS.items() if internal]
    return rows


def _where(located: dict[str, tuple[str, int]], tag: str) -> dict[str, Any] | None:
    if tag not in located:
        return None
    rel, line = located[tag]
    return {"file": rel, "line": line}


def _manifest(w: World, names: list[str], located: dict[str, tuple[str, int]],
              files: list[str]) -> dict[str, Any]:
    hosts = {
        "macs": [{"name": m.name, "ip": m.ip, "eslogger": f"macs/{m.name}/eslogger.jsonl",
                  "users": [{"name": u.name, "uid": u.uid, "home": u.home,
                             "key_fp": u.key.fp,
                             "socket": u.session.socket.path if u.session else None,
                             "socket_bind": _where(located, f"bind:{m.name}:{u.name}")}
                            for u in m.users.values()]}
                 for m in w.macs.values()],
        "servers": [{"name": s.name, "ip": s.ip, "auth_log": f"servers/{s.name}/auth.log",
                     "sshd_program": s.program, "banner": s.banner,
                     "clock_skew_s": s.skew_ns // NS, "tz": "UTC"} for s in w.servers.values()],
        "others": [{"name": n, "ip": ip, "internal": internal}
                   for n, (ip, internal) in OTHERS.items()],
    }
    expected: dict[str, Any] = {}
    for name in names:
        facts = dict(w.expect.get(name, {}))
        facts["description"] = SCENARIOS[name]
        facts["records"] = {
            key: _where(located, f"{name}:{key}")
            for key in ("exec", "connect", "accepted", "ssh_add", "ssh_add_connect", "root_shell",
                        "ln", "conn", "ssh")
            if f"{name}:{key}" in located}
        expected[name] = facts
    expected["background"] = {"description": "ordinary activity, always included",
                              "incident": False, "expect": BENIGN}
    return {
        "generator": "agenttrail.simulate",
        "format_version": 1,
        "seed": w.seed,
        "scale": w.scale,
        "scenarios": names,
        "always": ["background"],
        "capture": {"start": iso_ns(w.t0), "end": iso_ns(w.end), "year": 2026, "tz": "UTC"},
        "hunt": {"host_from_path": "macs/{host}/*", "assets": "assets.csv"},
        "files": files,
        "hosts": hosts,
        "removed_logins": w.removed_logins,
        "expected": expected,
    }
