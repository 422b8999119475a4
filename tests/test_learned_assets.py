"""Assets learned from the data (DHCP leases, interface snapshots, ECS host.ip) become validity
intervals beside the explicit ones (DESIGN §3). Constructed rows, values worked out by hand."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from agenttrail.config import Settings
from agenttrail.model import conform, empty
from agenttrail.normalise import _assets

S = 1_000_000


def _learned(rows: list[tuple[str, str, int | None, int | None, str]]) -> pa.Table:
    return conform("asset", pa.Table.from_pylist([
        {"host": h, "ip": ip, "valid_from_us": vf, "valid_to_us": vt, "origin": o}
        for h, ip, vf, vt, o in rows]))


def test_snapshots_collapse_and_end_where_the_address_moves() -> None:
    learned = _learned([
        ("Mac-A.corp.example", "10.10.1.35", 100 * S, None, "osquery"),
        ("mac-a", "10.10.1.35", 200 * S, None, "osquery"),  # the same host again: one interval
        ("mac-b", "10.10.1.35", 500 * S, 800 * S, "zeek_dhcp"),  # the lease moves to mac-b
        ("mac-a", "127.0.0.1", 100 * S, None, "osquery"),  # loopback: no identity
        ("mac-a", "fe80::1", 100 * S, None, "osquery"),  # link-local: no identity
        ("mac-a", "::ffff:10.10.9.9", 100 * S, None, "ecs"),
    ])
    settings = Settings(domain_suffixes=("corp.example",))
    rows = _assets(empty("asset"), learned, settings, duckdb.connect()).to_pylist()
    got = [(r["host"], r["ip"], r["valid_from_us"], r["valid_to_us"], r["origin"]) for r in rows]
    assert got == [
        ("mac-a", "10.10.1.35", 100 * S, 500 * S - 1, "osquery"),
        ("mac-b", "10.10.1.35", 500 * S, 800 * S, "zeek_dhcp"),
        ("mac-a", "10.10.9.9", 100 * S, None, "ecs"),
    ]
    assert rows[0]["start_hi"] == rows[0]["end_hi"] and rows[0]["start_lo"] == rows[0]["end_lo"]


def test_explicit_assets_win_over_learned_ones() -> None:
    explicit = _learned([("db1", "10.20.0.11", None, None, "assets")])
    learned = _learned([("laptop-x", "10.20.0.11", 5 * S, None, "zeek_dhcp"),
                        ("app1", "10.20.0.12", 5 * S, None, "zeek_dhcp")])
    rows = _assets(explicit, learned, Settings(), duckdb.connect()).to_pylist()
    assert [(r["host"], r["ip"], r["origin"]) for r in rows] == [
        ("db1", "10.20.0.11", "assets"), ("app1", "10.20.0.12", "zeek_dhcp")]
