"""The inventory document on the terminal (one table per section) and as CSV files (one per
section, ``inventory_<section>.csv``). Times are ISO 8601 UTC; input strings stay plain text."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agenttrail.inventory import COLUMNS, SECTIONS
from agenttrail.outputs.terminal import render_inputs, ts

#: Columns shown on the terminal per section (the JSON and CSV files have every column).
SHOWN: dict[str, tuple[str, ...]] = {
    "agent_sockets": ("host", "path", "scope", "owner", "bound_by", "connects", "clients",
                      "first_us", "last_us"),
    "socket_clients": ("host", "path", "via", "owner", "principal", "exe", "code_signature",
                       "events", "last_us"),
    "destinations_by_owner": ("host", "owner", "destination", "port", "execs", "by_owner",
                              "by_others", "last_us"),
    "root_clients": ("host", "path", "owner", "auid_name", "exe", "code_signature", "connects",
                     "last_us"),
    "multi_user_hosts": ("host", "platform", "user_count", "users"),
    "forwarded_agents": ("host", "path", "owner", "login_source_ip", "connects", "last_us"),
    "control_sockets": ("host", "path", "owner", "bound_by", "connects", "clients", "last_us"),
}


def _person(name: Any, uid: Any) -> str:
    if uid is None:
        return name or "-"
    return f"{name} ({uid})" if name else str(uid)


def _cell(row: dict[str, Any], col: str) -> str:
    if col == "owner":
        return _person(row.get("owner_name"), row.get("owner_uid"))
    if col == "principal":
        if row.get("principal_kind") == "system":
            return "system"
        return _person(row.get("principal_name"), row.get("principal_uid"))
    if col == "users":
        return ", ".join(_person(u["name"], u["uid"]) for u in row["users"])
    value = row.get(col)
    if col.endswith("_us"):
        return ts(value)[:19] + "Z" if value is not None else "-"
    return "-" if value is None else str(value)


def render_inventory(doc: dict[str, Any], console: Console) -> None:
    """One table per section; empty sections say so."""
    for name, (what, _) in SECTIONS.items():
        rows = doc[name]
        if not rows:
            console.print(Text(f"{name}: none seen", style="dim"))
            continue
        cols = SHOWN[name]
        table = Table(title=f"{name}: {what}", title_justify="left")
        for col in cols:
            table.add_column(col.removesuffix("_us"), overflow="fold")
        for row in rows:
            table.add_row(*(Text(_cell(row, c)) for c in cols))
        console.print(table)
    render_inputs(doc["inputs"], console)


def _csv_value(col: str, value: Any) -> str:
    if value is None:
        return ""
    if col.endswith("_us"):
        return ts(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(_person(v.get("name"), v.get("uid")) if isinstance(v, dict)
                        else str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def write_csv(doc: dict[str, Any], outdir: Path) -> list[Path]:
    """Write ``inventory_<section>.csv`` for every section (a header even when empty)."""
    written = []
    for name in SECTIONS:
        rows = doc[name]
        cols = COLUMNS[name]
        path = outdir / f"inventory_{name}.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow([c.removesuffix("_us") + ("_utc" if c.endswith("_us") else "")
                        for c in cols])
            for row in rows:
                w.writerow([_csv_value(c, row.get(c)) for c in cols])
        written.append(path)
    return written
