"""The unified log and wtmp login converters: a simulated dataset written with
``formats=[name]``, every written file read back with its reader. Expected values come from
``MANIFEST.json`` (``expected.hijack_lateral``), not from the converters."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail.model import ReadResult
from agenttrail.readers import unified_log, wtmp
from agenttrail.readers._io import ReadContext
from agenttrail.simulate import simulate

SERVERS = ("app1", "db1", "git1")
#: format name -> (the reader, the file each server gets)
CASES = {"unified_log": (unified_log, "unified.log"), "wtmp": (wtmp, "wtmp")}


@pytest.fixture(scope="module", params=sorted(CASES))
def dataset(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    name = request.param
    out = tmp_path_factory.mktemp(name)
    simulate(out, seed=3, scenarios=["hijack_lateral"], formats=[name])
    return name, out


def _read(reader: Any, root: Path, rel: str) -> ReadResult:
    host = rel.split("/")[1]
    result: ReadResult = reader.read(ReadContext(path=root / rel, rel=rel, con=duckdb.connect(),
                                                 host=host, host_origin="path"))
    a = result.account
    assert a.balanced(), a.to_dict()
    assert a.malformed == 0 and a.unread == 0, a.to_dict()
    return result


def _logins(result: ReadResult) -> list[dict[str, Any]]:
    t = result.tables.get("login")
    return [] if t is None else t.to_pylist()


def test_every_file_reads_balanced_without_malformed(dataset: tuple[str, Path]) -> None:
    name, root = dataset
    reader, fname = CASES[name]
    manifest = json.loads((root / "MANIFEST.json").read_text())
    written = [f for f in manifest["files"] if f.startswith("servers/")]
    assert written == [f"servers/{s}/{fname}" for s in SERVERS]
    assert not list(root.glob("servers/*/auth.log"))  # the base files were replaced
    assert manifest["formats"]["login"] == name
    for rel in written:
        result = _read(reader, root, rel)
        assert result.account.normalised > 0
        logins = _logins(result)
        assert logins and all(r["host"] == rel.split("/")[1] for r in logins)


def test_the_hijack_login_is_a_login_row(dataset: tuple[str, Path]) -> None:
    name, root = dataset
    reader, fname = CASES[name]
    exp = json.loads((root / "MANIFEST.json").read_text())["expected"]["hijack_lateral"]
    host, flow = exp["destination"]["host"], exp["flow"]
    assert host == "db1"
    rows = [r for r in _logins(_read(reader, root, f"servers/{host}/{fname}"))
            if r["result"] == "accepted"]
    got = {(r["user"], r["src_ip"]) for r in rows}
    assert (exp["remote_user"], flow["src_ip"]) in got
    if name == "unified_log":  # the text keeps the port; wtmp has none
        assert (exp["remote_user"], flow["src_ip"], flow["src_port"]) in {
            (r["user"], r["src_ip"], r["src_port"]) for r in rows}


def test_wtmp_sessions_close_at_their_sshd_pid(tmp_path: Path) -> None:
    """Every wtmp login has a logout on the same pts (the simulated sessions all end), and the
    pids of the logins are those of the auth.log's Accepted lines."""
    base = tmp_path / "base"
    simulate(base, seed=3, scenarios=["hijack_lateral"])
    out = tmp_path / "wtmp"
    simulate(out, seed=3, scenarios=["hijack_lateral"], formats=["wtmp"])
    auth = (base / "servers" / "db1" / "auth.log").read_text()
    accepted = [int(p) for p in re.findall(r"sshd\[(\d+)\]: Accepted ", auth)]
    result = _read(wtmp, out, "servers/db1/wtmp")
    sessions = result.tables["session"].to_pylist()
    starts = [s for s in sessions if s["action"] == "login"]
    assert sorted(s["pid"] for s in starts) == sorted(accepted)
    assert all(s["end_time_us"] is not None and s["end_time_us"] >= s["t_us"] for s in starts)
