"""Can this telemetry see the attack? Coverage per host and analytic step (DESIGN §5, §6).

Two measurements share the queries of :mod:`agenttrail.coverage_sql`:

* :func:`coverage_counts`: the cheap per-host counts ``hunt`` computes on every run and keeps in
  ``report.json``; a step with no events at all is a warning.
* :func:`measure`: the full measurement of ``agenttrail coverage``. For every **endpoint** (a
  host with endpoint telemetry, or the attributed source of SSH flows) and every
  **destination** (a host reached by internal SSH session starts, an unmapped address reached
  by them, or a host whose login records were read), each step of DESIGN §6 with a status,
  the evidence measured, and the concrete next step for a gap.

Statuses: ``missing`` when the step has no usable events (for the endpoint telemetry steps the
same condition under which ``hunt`` warns), ``partial`` when it has events but a measured gap
(field completeness under :data:`COMPLETE`, dropped events, flows the destination's logs do not
cover, time the sensors do not cover), ``ok`` otherwise. A detection is ``not_evaluable`` on a
host when one of its required steps is missing, ``degraded`` when a required step is partial
or a helpful one is not ok, else ``actionable`` (:data:`NEEDS`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from agenttrail import __version__, sensors
from agenttrail import coverage_sql as q
from agenttrail.coverage_steps import destination_steps, endpoint_steps
from agenttrail.detect import CATALOGUE
from agenttrail.report import inputs_section

if TYPE_CHECKING:
    from collections.abc import Callable

    import duckdb
    import pyarrow as pa

    from agenttrail.config import Settings
    from agenttrail.detect import Detected
    from agenttrail.model import FileAccount

COVERAGE_VERSION = 1

#: The analytic's steps (DESIGN §6), in order, with what each needs.
STEPS: dict[str, str] = {
    "socket_access": "socket access events with the socket's owner (eslogger uipc_connect)",
    "exec_env": "exec events with their environment (SSH_AUTH_SOCK) and arguments",
    "session_context": "login sessions: who is logged in, in which audit session",
    "ip_mapping": "the host's addresses over its telemetry span",
    "ssh_flows": "SSH flows between the endpoint and internal destinations",
    "dest_logins": "sshd records on the destinations covering each flow (login coverage)",
    "process_flow_link": "an ssh process on the endpoint for each SSH flow it opens",
}
DESTINATION_STEPS = ("ip_mapping", "ssh_flows", "dest_logins")

#: Per detection: groups of steps of which at least one must not be missing (else the detection
#: is not evaluable), and steps that only improve it (degraded when not ok). The lateral and
#: external chains need a seed from either socket access or exec environment.
NEEDS: dict[str, tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]] = {
    "agent_socket_cross_user": ((("socket_access",),), ("session_context",)),
    "agent_env_foreign_socket": ((("exec_env",),), ("session_context",)),
    "agent_hijack_lateral_ssh": (
        (("socket_access", "exec_env"), ("ssh_flows",), ("ip_mapping",), ("process_flow_link",)),
        ("session_context", "dest_logins"),
    ),
    "agent_hijack_external_ssh": (
        (("socket_access", "exec_env"), ("ssh_flows",), ("ip_mapping",), ("process_flow_link",)),
        ("session_context",),
    ),
    "ssh_flow_without_login": ((("ssh_flows",), ("ip_mapping",), ("dest_logins",)), ()),
    "agent_socket_owner_unknown": ((("socket_access",),), ()),
}
#: Detections judged on a destination (the flows that reach it).
DESTINATION_NEEDS = {"ssh_flow_without_login": NEEDS["ssh_flow_without_login"]}


def coverage_counts(
    tables: dict[str, pa.Table], flow_eval: pa.Table, flows: pa.Table,
    con: duckdb.DuckDBPyConnection,
) -> dict[str, Any]:
    """Cheap per-host counts for the analytic's steps; warnings for missing steps (DESIGN §6).

    This is the ``coverage`` section of ``report.json``; ``agenttrail coverage`` measures more.
    """
    endpoints: dict[str, dict[str, Any]] = defaultdict(dict)
    with q.registered(con, process=tables["process"], socket=tables["socket"],
                      session=tables["session"], flows=flows, flow_eval=flow_eval):
        for host, k, n in con.sql(q.ENDPOINT_COUNTS).fetchall():
            if host is not None:
                endpoints[host][k] = n
        for host, n in con.sql(
            "SELECT src_host, count(*) FROM flows WHERE is_ssh AND src_host IS NOT NULL "
            "AND coalesce(ssh_evidence, '') <> 'login' "
            "GROUP BY src_host"
        ).fetchall():
            if host in endpoints:
                endpoints[host]["ssh_flows"] = n
        evals = con.sql(
            "SELECT coalesce(f.dst_host, '(unknown destination)'), e.status, e.reason, "
            "count(*), max(e.skew_us) FROM flow_eval e JOIN flows f ON f.row_id = e.flow_row "
            "GROUP BY ALL"
        ).fetchall()
    asset_hosts = set(tables["asset"].column("host").to_pylist())
    warnings: list[dict[str, str]] = []
    out_endpoints = []
    for host in sorted(endpoints):
        e = endpoints[host]
        steps = {
            "socket_access": "ok" if e.get("connects") else "missing",
            "exec_env": "ok" if e.get("execs_with_env") else "missing",
            "session_context": "ok" if e.get("sessions") else "missing",
            "ip_mapping": "ok" if host in asset_hosts else "missing",
            "ssh_flows": "ok" if e.get("ssh_flows") else "missing",
        }
        for step, status in steps.items():
            if status == "missing":
                warnings.append({"host": host, "step": step})
        out_endpoints.append({"host": host, "counts": dict(sorted(e.items())), "steps": steps})
    dests: dict[str, Counter[str]] = defaultdict(Counter)
    skews: dict[str, int | None] = {}
    for host, status, reason, n, skew in evals:
        key = status if status != "not_evaluable" else f"not_evaluable:{reason}"
        dests[host][key] += n
        if skew is not None:
            skews[host] = skew
    spans: dict[str, dict[str, Any]] = {}
    for r in tables["source_span"].to_pylist():
        sp = spans.setdefault(r["host"], {"records": 0, "sshd_records": 0, "sources": set()})
        sp["records"] += r["records"] or 0
        sp["sshd_records"] += r["sshd_records"] or 0
        sp["sources"].add(r["source"])
    out_dests = []
    for host in sorted(set(dests) | {h for h in spans if h}):
        sp = spans.get(host, {"records": 0, "sshd_records": 0, "sources": set()})
        out_dests.append({
            "host": host,
            "flows": dict(sorted(dests.get(host, Counter()).items())),
            "login_records": sp["records"],
            "sshd_records": sp["sshd_records"],
            "login_sources": sorted(sp["sources"]),
            "skew_us": skews.get(host),
            "dest_logins": "ok" if sp["sshd_records"] else "missing",
        })
        if not sp["sshd_records"] and host != "(unknown destination)":
            warnings.append({"host": host, "step": "dest_logins"})
    return {"endpoints": out_endpoints, "destinations": out_dests,
            "warnings": sorted(warnings, key=lambda w: (w["host"], w["step"]))}


def measure(
    tables: dict[str, pa.Table],
    found: Detected,
    accounts: list[FileAccount],
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    scope: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The coverage document: per host, each step with status, evidence and fix."""
    m = q.Measurements.take(tables, found, accounts, settings, con)
    hosts: dict[str, dict[str, Any]] = {}

    def entry(host: str, known: bool = True) -> dict[str, Any]:
        return hosts.setdefault(host, {
            "host": host, "known": known, "roles": [], "platform": m.platform.get(host),
            "formats": m.formats.get(host, []), "steps": [], "detections": [],
        })

    for host in m.endpoint_hosts():
        e = entry(host)
        e["roles"].append("endpoint")
        steps = endpoint_steps(host, m, settings)
        e["steps"] += steps
        e["detections"] += _detections("endpoint", steps, NEEDS)
    for key, known in m.destination_keys():
        e = entry(key, known)
        e["roles"].append("destination")
        steps = destination_steps(key, known, m, settings)
        e["steps"] += steps
        e["detections"] += _detections("destination", steps, DESTINATION_NEEDS)
        listed = m.not_evaluable.get(key, [])
        e["not_evaluable_flows"] = listed
        e["not_evaluable_total"] = m.not_evaluable_total.get(key, 0)
    return {
        "coverage_version": COVERAGE_VERSION,
        "tool": {"name": "agenttrail", "version": __version__},
        "config_hash": settings.config_hash(),
        "scope": scope or {},
        "parameters": {
            "complete_share": q.COMPLETE,
            "gap_min_us": q.GAP_MIN_US,
            "span_slack_us": q.SPAN_SLACK_US,
            "max_listed_flows": q.MAX_LISTED,
            "collected_at_us": settings.collected_at_us,
            "data_end_us": m.data_end_us,
        },
        "steps": [{"step": k, "needs": v} for k, v in STEPS.items()],
        "hosts": [hosts[h] for h in sorted(hosts)],
        "sensors": {name: sensors.key_line(name, settings) for name in sensors.NAMES
                    if any(name in st["sensors"] for h in hosts.values() for st in h["steps"])},
        "inputs": inputs_section(accounts),
    }


def _detections(
    role: str, steps: list[dict[str, Any]],
    needs: dict[str, tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]],
) -> list[dict[str, Any]]:
    """Each detection's readiness from the statuses of the steps it needs."""
    status = {s["step"]: s["status"] for s in steps}
    out = []
    for rule_id in CATALOGUE:
        if rule_id not in needs:
            continue
        required, helpful = needs[rule_id]
        blocking: list[str] = []
        weak: list[str] = []
        for group in required:
            got = [status.get(s, "missing") for s in group]
            if all(g == "missing" for g in got):
                blocking += list(group)
            else:
                weak += [s for s, g in zip(group, got, strict=True) if g != "ok"]
        weak += [s for s in helpful if status.get(s, "missing") != "ok"]
        verdict = "not_evaluable" if blocking else "degraded" if weak else "actionable"
        out.append({"rule_id": rule_id, "role": role, "status": verdict,
                    "because": blocking or weak})
    return out


def failing(doc: dict[str, Any], required: list[str]) -> list[dict[str, Any]]:
    """The required steps that are not ok anywhere they are measured (or measured nowhere)."""
    bad = []
    for step in required:
        seen = [(h["host"], s) for h in doc["hosts"] for s in h["steps"] if s["step"] == step]
        if not seen:
            bad.append({"host": None, "step": step, "role": None, "status": "not_measured"})
        bad += [{"host": host, "step": step, "role": s["role"], "status": s["status"]}
                for host, s in seen if s["status"] != "ok"]
    return bad


def run(
    paths: list[str], settings: Settings, progress: Callable[[str], None] | None = None
) -> tuple[dict[str, Any], list[FileAccount]]:
    """Read the inputs and measure coverage; return the document and the file accounting."""
    from agenttrail.hunt import analyse, scope_of

    a = analyse(paths, settings, progress)
    try:
        doc = measure(a.tables, a.found, a.ingested.accounts, settings, a.con,
                      scope_of(settings))
    finally:
        a.con.close()
    return doc, a.ingested.accounts
