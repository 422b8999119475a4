"""The incident table of a Report as CSV (``hunt --format csv``).

One row per incident, in the Report's order (first event time, then uid). The columns are stable;
new ones are only ever appended. Lists inside a cell (destinations, login statuses) are joined
with ``;`` in hop order; times are ISO 8601 UTC with microseconds; empty means unknown.

| column | meaning |
|---|---|
| ``uid`` | incident uid (SHA-256 of the seed signal) |
| ``first_seen``, ``last_seen`` | first and last signal time |
| ``severity``, ``severity_id`` | low/medium/high/critical and the OCSF id (2-5) |
| ``score`` | 0-100 |
| ``status`` | New, Incomplete (batch) |
| ``rule_id``, ``title`` | the incident's main rule and its title |
| ``host`` | the endpoint (or, for a network-only incident, the attributed source) host |
| ``actor_user``, ``actor_auid``, ``actor_euid`` | the acting login user, its audit uid, the euid |
| ``victim_user``, ``victim_uid`` | the owner of the agent socket |
| ``socket_path``, ``socket_scope`` | the agent socket and its scope |
| ``destinations`` | ``host ip:port`` of each linked SSH connection |
| ``login_statuses`` | present / missing / attempt / incomplete / not_evaluable, per connection |
| ``blast_radius_logins``, ``blast_radius_destinations`` | logins that carried the victim's key in the 24 h after the first signal, and their hosts (``;``) |
"""

from __future__ import annotations

import csv
import io
from typing import Any

COLUMNS = (
    "uid", "first_seen", "last_seen", "severity", "severity_id", "score", "status", "rule_id",
    "host", "actor_user", "actor_auid", "actor_euid", "victim_user", "victim_uid",
    "socket_path", "socket_scope", "destinations", "login_statuses", "blast_radius_logins",
    "blast_radius_destinations", "title",
)


def _iso(us: int | None) -> str:
    from agenttrail.explain import iso

    return "" if us is None else iso(us)


def row(inc: dict[str, Any]) -> dict[str, Any]:
    """One incident as a CSV row (a dict keyed by :data:`COLUMNS`)."""
    actor = inc.get("actor") or {}
    victim = inc.get("victim") or {}
    sock = inc.get("socket") or {}
    hops = [h for h in inc.get("hops", []) if h.get("flow")]
    blast = inc.get("blast_radius") or {}
    return {
        "uid": inc["uid"],
        "first_seen": _iso(inc.get("first_us")),
        "last_seen": _iso(inc.get("last_us")),
        "severity": inc.get("severity"),
        "severity_id": inc.get("severity_id"),
        "score": inc.get("score"),
        "status": inc.get("status"),
        "rule_id": inc.get("rule_id"),
        "host": inc.get("host"),
        "actor_user": actor.get("auid_name") or actor.get("name"),
        "actor_auid": actor.get("auid"),
        "actor_euid": actor.get("euid"),
        "victim_user": victim.get("name"),
        "victim_uid": victim.get("uid"),
        "socket_path": sock.get("path"),
        "socket_scope": sock.get("scope"),
        "destinations": ";".join(
            f"{h['flow'].get('dst_host') or '?'} {h['flow']['dst_ip']}:{h['flow']['dst_port']}"
            for h in hops),
        "login_statuses": ";".join(h.get("login_status") or "" for h in hops),
        "blast_radius_logins": len(blast.get("logins", [])) if blast else None,
        "blast_radius_destinations": ";".join(blast.get("destinations", [])) if blast else None,
        "title": inc.get("title"),
    }


def render(report: dict[str, Any]) -> str:
    """The incident table: a header line, then one line per incident."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for inc in report.get("incidents", []):
        r = row(inc)
        w.writerow(["" if r[c] is None else r[c] for c in COLUMNS])
    return buf.getvalue()
