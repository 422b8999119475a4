"""The terminal rendering of a coverage document: the step matrix, each gap with its fix, the
detections per host, the flows that could not be evaluated per destination, and the sensor
settings the fixes point to. Every string from the input is printed as plain text."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agenttrail.outputs.terminal import render_inputs, ts

STATUS_STYLE = {"ok": "green", "partial": "yellow", "missing": "red"}
DETECTION_STYLE = {"actionable": "green", "degraded": "yellow", "not_evaluable": "red"}
#: Not-evaluable flows shown per destination (coverage.json lists more).
FLOWS_SHOWN = 5


def render_coverage(doc: dict[str, Any], console: Console) -> None:
    """Print the coverage document."""
    steps = [s["step"] for s in doc["steps"]]
    table = Table(title=f"coverage of {len(doc['hosts'])} host(s)")
    table.add_column("host", no_wrap=True)
    table.add_column("role", no_wrap=True)
    for step in steps:
        table.add_column(step.replace("_", " "), overflow="fold")
    for h in doc["hosts"]:
        for role in h["roles"]:
            by_step = {s["step"]: s["status"] for s in h["steps"] if s["role"] == role}
            cells = [Text(by_step[s], style=STATUS_STYLE[by_step[s]]) if s in by_step
                     else Text("-", style="dim") for s in steps]
            table.add_row(Text(h["host"]), Text(role), *cells)
    console.print(table)
    _gaps(doc, console)
    _detections(doc, console)
    _not_evaluable(doc, console)
    if doc["sensors"]:
        console.print()
        console.print(Text("sensor settings the fixes point to", style="bold"))
        for name, line in doc["sensors"].items():
            console.print(Text(f"  agenttrail sensors {name}", style="bold"))
            console.print(Text(f"    {line}"), soft_wrap=True)
    render_inputs(doc["inputs"], console)


def _gaps(doc: dict[str, Any], console: Console) -> None:
    gaps = [(h["host"], s) for h in doc["hosts"] for s in h["steps"] if s["status"] != "ok"]
    if not gaps:
        console.print("Every step is ok on every host.")
        return
    console.print()
    console.print(Text("gaps and what to do", style="bold"))
    for host, s in gaps:
        console.print(Text("  ") + Text(f"{host} {s['step']} ({s['role']}) ")
                      + Text(s["status"], style=STATUS_STYLE[s["status"]]))
        if s["fix"]:
            console.print(Text(f"    {s['fix']}"))


def _detections(doc: dict[str, Any], console: Console) -> None:
    console.print()
    console.print(Text("detections per host", style="bold"))
    for h in doc["hosts"]:
        for role in h["roles"]:
            line = Text(f"  {h['host']} ({role}): ")
            parts = []
            for verdict in ("not_evaluable", "degraded", "actionable"):
                rules = [d for d in h["detections"]
                         if d["role"] == role and d["status"] == verdict]
                if rules:
                    part = Text(verdict.replace("_", " "), style=DETECTION_STYLE[verdict])
                    part.append(" " + ", ".join(
                        d["rule_id"] + (f" [{', '.join(d['because'])}]"
                                        if d["because"] else "")
                        for d in rules))
                    parts.append(part)
            console.print(line + Text("; ").join(parts))


def _not_evaluable(doc: dict[str, Any], console: Console) -> None:
    dests = [h for h in doc["hosts"] if h.get("not_evaluable_total")]
    if not dests:
        return
    console.print()
    console.print(Text("SSH flows ssh_flow_without_login could not evaluate", style="bold"))
    for h in dests:
        console.print(Text(f"  {h['host']}: {h['not_evaluable_total']} flow(s)"))
        for f in h["not_evaluable_flows"][:FLOWS_SHOWN]:
            src = f["source"]
            console.print(Text(
                f"    {ts(f['start_us'])} {f['src_ip']}:{f['src_port']} -> "
                f"{f['dst_ip']}:{f['dst_port']} from {f['src_host'] or 'unknown host'}: "
                f"{f['reason']}  {src['file']}:{src['line']}"))
        more = h["not_evaluable_total"] - min(FLOWS_SHOWN, len(h["not_evaluable_flows"]))
        if more > 0:
            console.print(Text(f"    ... {more} more in coverage.json", style="dim"))
