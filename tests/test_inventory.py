"""`agenttrail inventory` and the inventory in report.json, on a hand-checked case
(``tests/coverage_cases/inventory.toml``; times are seconds after 2026-03-02T09:00:00Z)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from agenttrail.cli import app
from agenttrail.inventory import COLUMNS, SECTIONS
from tests import casekit

CASE = Path(__file__).parent / "coverage_cases" / "inventory.toml"
LISTENERS = "/private/tmp/com.apple.launchd.AbCdEfGhIj/Listeners"
FORWARDED = "/private/tmp/ssh-AbCdEf1234/agent.950"
CONTROL = "/Users/alice/.ssh/sockets/alice@db1-22"


def at_us(t: float) -> int:
    return casekit.BASE_US + round(t * 1_000_000)


def _inventory(tmp: Path) -> tuple[int, dict, str, Path]:
    inputs = tmp / "in"
    opts = casekit.render(casekit.load(CASE), inputs)
    out = tmp / "out"
    result = CliRunner().invoke(app, ["inventory", str(inputs), *opts, "-o", str(out)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, json.loads((out / "inventory.json").read_text()), result.output, out


def test_inventory_rows(tmp_path: Path) -> None:
    code, doc, output, _ = _inventory(tmp_path)
    assert code == 0
    socket = {"host": "mac-shared", "scope": "tmp", "owner_conflict": False, "clients": 0,
              "execs_naming": 0, "binds": 1}
    assert doc["agent_sockets"] == [
        {**socket, "path": LISTENERS, "owner_uid": 501, "owner_name": "alice",
         "owner_origin": "stat", "bound_by": "launchd", "connects": 3, "clients": 3,
         "execs_naming": 4, "binder_asid": 100000, "first_us": at_us(0),
         "last_us": at_us(210.3)},
        {**socket, "path": FORWARDED, "owner_uid": 503, "owner_name": "carol",
         "owner_origin": "bind_dir", "bound_by": "sshd", "connects": 0,
         "binder_asid": 100050, "first_us": at_us(300.5), "last_us": at_us(300.5)},
    ]
    client = {"host": "mac-shared", "path": LISTENERS, "owner_uid": 501, "owner_name": "alice",
              "principal_kind": "audit", "team_id": None, "code_signature": "platform",
              "events": 1}
    alice = {"principal_uid": 501, "principal_name": "alice", "same_user": True}
    bob = {"principal_uid": 502, "principal_name": "bob", "same_user": False}
    ssh = {"exe": "/usr/bin/ssh", "signing_id": "com.apple.ssh"}
    add = {"exe": "/usr/bin/ssh-add", "signing_id": "com.apple.ssh-add"}
    rows = [
        ("connect", alice, ssh, True, 100.3), ("connect", bob, ssh, False, 210.3),
        ("connect", bob, add, False, 200.1), ("env", alice, ssh, None, 100.0),
        ("env", bob, ssh, None, 210.0), ("env", bob, add, None, 200.0),
    ]
    assert doc["socket_clients"] == [
        {**client, "via": via, **who, **exe, "acts_for_owner": acts, "first_us": at_us(t),
         "last_us": at_us(t)}
        for via, who, exe, acts, t in rows
    ]
    assert doc["destinations_by_owner"] == [
        {"host": "mac-shared", "owner_uid": 501, "owner_name": "alice", "destination": "db1",
         "port": None, "execs": 2, "by_owner": 1, "by_others": 1, "first_us": at_us(100),
         "last_us": at_us(210)},
    ]
    root = {"host": "mac-shared", "path": LISTENERS, "kind": "agent", "owner_uid": 501,
            "owner_name": "alice", "principal_kind": "audit", "auid": 502, "auid_name": "bob",
            "team_id": None, "code_signature": "platform", "connects": 1}
    assert doc["root_clients"] == [
        {**root, **ssh, "first_us": at_us(210.3), "last_us": at_us(210.3)},
        {**root, **add, "first_us": at_us(200.1), "last_us": at_us(200.1)},
    ]
    assert doc["multi_user_hosts"] == [
        {"host": "mac-shared", "platform": "macos", "user_count": 3, "users": [
            {"uid": 501, "name": "alice"}, {"uid": 502, "name": "bob"},
            {"uid": 503, "name": "carol"}]},
    ]
    assert doc["forwarded_agents"] == [{**doc["agent_sockets"][1],
                                        "login_source_ip": "10.10.0.50"}]
    assert doc["control_sockets"] == [
        {"host": "mac-shared", "path": CONTROL, "scope": "home", "owner_uid": 501,
         "owner_name": "alice", "owner_origin": "stat", "owner_conflict": False,
         "bound_by": "mux", "connects": 1, "clients": 1, "execs_naming": 0, "binds": 1,
         "binder_asid": 100001, "first_us": at_us(400), "last_us": at_us(410)},
    ]
    for name in SECTIONS:
        assert all(list(r) == list(COLUMNS[name]) for r in doc[name]), name
    flat = output.replace("\n", " ")
    assert "alice (501), bob (502), carol (503)" in flat
    assert "10.10.0.50" in flat


def test_inventory_csv_files(tmp_path: Path) -> None:
    _, doc, _, out = _inventory(tmp_path)
    for name in SECTIONS:
        with (out / f"inventory_{name}.csv").open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        header = [c.removesuffix("_us") + ("_utc" if c.endswith("_us") else "")
                  for c in COLUMNS[name]]
        assert rows[0] == header, name
        assert len(rows) - 1 == len(doc[name]), name
    with (out / "inventory_forwarded_agents.csv").open(encoding="utf-8", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert (row["path"], row["owner_name"], row["login_source_ip"], row["first_utc"]) == (
        FORWARDED, "carol", "10.10.0.50", "2026-03-02T09:05:00.500Z")
    with (out / "inventory_multi_user_hosts.csv").open(encoding="utf-8", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert row["users"] == "alice (501);bob (502);carol (503)"


def test_report_holds_the_inventory(tmp_path: Path) -> None:
    _, doc, _, _ = _inventory(tmp_path)
    inputs = tmp_path / "in"
    opts = casekit.render(casekit.load(CASE), inputs)
    result = CliRunner().invoke(app, ["hunt", str(inputs), *opts, "-o", str(tmp_path / "h")])
    assert result.exit_code in (0, 1)
    report = json.loads((tmp_path / "h" / "report.json").read_text())
    assert list(report["inventory"]) == list(SECTIONS)
    for name in SECTIONS:
        assert report["inventory"][name] == doc[name], name
    assert list(report)[-3:] == ["coverage", "inventory", "inputs"]
