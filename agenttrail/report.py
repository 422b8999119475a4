"""The Report: one JSON-ready document every output renders from (DESIGN §7).

It holds no wall-clock time, duration, machine fact or absolute temp path; every list is sorted
by a documented key and dict keys are in a fixed order, so identical inputs give byte-identical
JSON whatever the file order or thread count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from agenttrail import __version__
from agenttrail.config import Settings
from agenttrail.detect import CATALOGUE
from agenttrail.detect._meta import SEVERITY_NAME
from agenttrail.incidents import Incident, Signal
from agenttrail.model import FileAccount
from agenttrail.outputs.ocsf import OCSF_VERSION, finding

REPORT_VERSION = 1


@dataclass
class Evidence:
    """Row lookups by ``row_id`` for the tables evidence is drawn from."""

    process: dict[int, dict[str, Any]]
    socket: dict[int, dict[str, Any]]
    flow: dict[int, dict[str, Any]]
    login: dict[int, dict[str, Any]]
    users: dict[tuple[str | None, int], str]
    platforms: dict[str, str] = field(default_factory=dict)  # host -> its one endpoint platform

    @classmethod
    def from_tables(
        cls, tables: dict[str, pa.Table], flows: pa.Table, needed: dict[str, set[int]]
    ) -> Evidence:
        """Index the rows the incidents cite (flows: the enriched ones, with hosts)."""

        def index(t: pa.Table, rows: set[int]) -> dict[int, dict[str, Any]]:
            if not rows:
                return {}
            t = t.filter(pc.is_in(t.column("row_id"), value_set=pa.array(sorted(rows), pa.int64())))
            drop = [c for c in t.column_names if c in ("time", "start", "end", "end_time")]
            return {r["row_id"]: r for r in t.drop_columns(drop).to_pylist()}

        users = {(r["host"], r["uid"]): r["name"] for r in tables["user"].to_pylist()}
        seen: dict[str, set[str]] = defaultdict(set)
        for name in ("process", "socket"):
            t = tables[name]
            if t.num_rows:
                g = t.group_by(["host", "platform"]).aggregate([])
                for h, pl in zip(g.column("host").to_pylist(), g.column("platform").to_pylist(),
                                 strict=True):
                    if h is not None and pl is not None:
                        seen[h].add(pl)
        return cls(
            process=index(tables["process"], needed.get("process", set())),
            socket=index(tables["socket"], needed.get("socket", set())),
            flow=index(flows, needed.get("flow", set())),
            login=index(tables["login"], needed.get("login", set())),
            users=users,
            platforms={h: next(iter(p)) for h, p in seen.items() if len(p) == 1},
        )

    def user_name(self, host: str | None, uid: int | None) -> str | None:
        """Name of a uid on a host (root is always root)."""
        if uid is None:
            return None
        if uid == 0:
            return "root"
        return self.users.get((host, uid))


def _src(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"file": row.get("src_file"), "line": row.get("src_line")}


def _actor(sig: Signal, ev: Evidence) -> dict[str, Any]:
    f = sig.fields
    host = sig.host
    auid = f.get("auid")
    proc = ev.process.get(f.get("proc_row")) if f.get("proc_row") is not None else None
    name = ev.user_name(host, auid)
    if name is None and proc is not None:
        name = proc.get("sudo_user") if proc.get("sudo_uid") == auid else None
    return {
        "kind": f.get("principal_kind"),
        "uid": f.get("principal_uid"),
        "name": ev.user_name(host, f.get("principal_uid")) if f.get("principal_uid") is not None
        else name,
        "auid": auid,
        "auid_name": name,
        "euid": f.get("euid"),
        "asid": f.get("asid"),
        # what the environment claims (SUDO_USER/SUDO_UID): shown, never trusted (DESIGN §4)
        "sudo_user": proc.get("sudo_user") if proc else None,
        "sudo_uid": proc.get("sudo_uid") if proc else None,
    }


def _hop(sig: Signal, ev: Evidence) -> dict[str, Any]:
    """One lateral hop of a chain: flow, link kind and Δt, and the login on the destination."""
    fl = ev.flow.get(sig.flow_row) if sig.flow_row is not None else None
    login = ev.login.get(sig.login_row) if sig.login_row is not None else None
    return {
        "rule_id": sig.rule_id,
        "link": sig.link,
        "join_key": "argv destination and process lifetime" if sig.link == "lineage"
        else "host address and time window",
        "dt_us": sig.dt_us,
        "flow": None if fl is None else {
            "start_us": fl["start_us"],
            "src_ip": fl["src_ip"], "src_port": fl["src_port"],
            "dst_ip": fl["dst_ip"], "dst_port": fl["dst_port"],
            "dst_host": fl.get("dst_host"),
            "flow_uid": fl.get("flow_uid"),
            # service/banner/port: what made it SSH; login: known only from the login record
            "evidence": fl.get("ssh_evidence"),
            "source": _src(fl),
        },
        "login_status": sig.login_status,
        "login": None if login is None else {
            "t_us": login["t_us"],
            "host": login["host"],
            "user": login["user"],
            "result": login["result"],
            "method": login["method"],
            "key_fp": login["key_fp"],
            "src_ip": login["src_ip"], "src_port": login["src_port"],
            "message": login["message"],
            "join_key": "source ip and source port" if login["src_port"] is not None
            else "source ip and time (no port in the record)",
            "dt_us": None if fl is None else login["t_us"] - fl["start_us"],
            "source": _src(login),
        },
    }


#: The analytic of an incident follows its endpoint host's platform (DESIGN §5, §7).
ANALYTIC_BY_PLATFORM = {"macos": "AN0711", "linux": "AN0710"}


def _analytic(inc: Incident, ev: Evidence, sock: dict[str, Any] | None) -> str:
    """AN0710 for a Linux endpoint, else AN0711: the platform of the incident's socket or
    process evidence, else the one platform its host's endpoint rows carry (AN0711 unknown)."""
    platform = sock.get("platform") if sock else None
    if platform is None:
        for s in inc.signals:
            row = ev.process.get(s.fields.get("proc_row")) if s.fields.get("proc_row") is not None \
                else None
            if row is not None and row.get("platform"):
                platform = row["platform"]
                break
    if platform is None:
        platform = ev.platforms.get(inc.key[0])
    return ANALYTIC_BY_PLATFORM.get(platform or "", "AN0711")


def incident_doc(inc: Incident, ev: Evidence) -> dict[str, Any]:
    """The incident as a report entry, with its evidence chain."""
    seed = inc.seed
    f = seed.fields
    owner_uid = next((s.fields.get("owner_uid") for s in inc.signals
                      if s.fields.get("owner_uid") is not None), None)
    endpoint = next((s for s in inc.signals if s.fields.get("pid") is not None), None)
    hops = [_hop(s, ev) for s in inc.signals
            if s.rule_id in ("agent_hijack_lateral_ssh", "agent_hijack_external_ssh")]
    standalone = [s for s in inc.signals if s.rule_id == "ssh_flow_without_login"
                  and s.fields.get("seed") is None]
    hops += [_hop(s, ev) for s in standalone]
    sock_row = next((s.fields.get("sock_row") for s in inc.signals
                     if s.fields.get("sock_row") is not None), None)
    sock = ev.socket.get(sock_row) if sock_row is not None else None
    processes = _processes(inc, ev)
    return {
        "uid": inc.uid,
        "title": CATALOGUE[_top_rule(inc)].title,
        "rule_id": _top_rule(inc),
        "analytic": _analytic(inc, ev, sock),
        "severity_id": inc.severity_id,
        "severity": SEVERITY_NAME[inc.severity_id],
        "status": inc.status,
        "score": inc.score,
        "contributions": inc.contributions,
        "host": inc.key[0],
        "first_us": inc.first_us,
        "last_us": max(s.t_us for s in inc.signals),
        "actor": _actor(endpoint, ev) if endpoint else None,
        "victim": None if owner_uid is None else {
            "uid": owner_uid,
            "name": ev.user_name(inc.key[0], owner_uid),
            "owner_origin": next((s.fields.get("owner_origin") for s in inc.signals
                                  if s.fields.get("owner_origin")), None),
        },
        "socket": None if not f.get("socket_path") and endpoint is None else {
            "path": (endpoint or seed).fields.get("socket_path"),
            "scope": (endpoint or seed).fields.get("socket_scope"),
            "connect": None if sock is None else {"t_us": sock["t_us"], "source": _src(sock)},
        },
        "processes": processes,
        "hops": hops,
        "ambiguous": inc.ambiguous,
        "signals": [signal_doc(s) for s in inc.signals],
    }


def _processes(inc: Incident, ev: Evidence) -> list[dict[str, Any]]:
    """Each endpoint process of the incident, in order, with its exec record and socket connect."""
    seen: dict[tuple[Any, Any], dict[str, Any]] = {}
    for s in inc.signals:
        f = s.fields
        if f.get("pid") is None or s.rule_id not in (
            "agent_socket_cross_user", "agent_env_foreign_socket", "agent_socket_owner_unknown"
        ):
            continue
        key = (f.get("pid"), f.get("pidversion"))
        p = seen.setdefault(key, {
            "pid": f.get("pid"), "pidversion": f.get("pidversion"), "exe": f.get("exe"),
            "args": None, "auth_sock": None, "exec_source": None, "connect_source": None,
            "first_us": s.t_us,
        })
        if f.get("proc_row") is not None and p["exec_source"] is None:
            row = ev.process.get(f["proc_row"])
            if row is not None:
                p.update(args=row.get("args"), auth_sock=row.get("auth_sock_raw"),
                         exec_source=_src(row))
        if f.get("sock_row") is not None and p["connect_source"] is None:
            p["connect_source"] = _src(ev.socket.get(f["sock_row"]))
    return sorted(seen.values(), key=lambda p: (p["first_us"], p["pid"], p["pidversion"] or 0))


def _top_rule(inc: Incident) -> str:
    order = ["agent_hijack_lateral_ssh", "agent_hijack_external_ssh", "agent_socket_cross_user",
             "agent_env_foreign_socket", "ssh_flow_without_login", "agent_socket_owner_unknown"]
    rules = {s.rule_id for s in inc.signals}
    return next((r for r in order if r in rules), inc.seed.rule_id)


_SIGNAL_FIELDS = (
    "host", "pid", "pidversion", "exe", "euid", "auid", "asid", "principal_uid",
    "principal_kind", "socket_path", "socket_scope", "owner_uid", "owner_origin",
    "owner_conflict", "code_signature", "proc_row", "sock_row", "src_ip", "src_port", "dst_ip",
    "dst_port", "dst_host", "flow_start_us", "reason", "seed",
)


def signal_doc(s: Signal) -> dict[str, Any]:
    """A signal as saved in the report (enough to re-apply allowlists without the data)."""
    return {
        "rule_id": s.rule_id,
        "severity_id": s.severity_id,
        "status": s.status,
        "t_us": s.t_us,
        "key": list(s.key),
        "flow_row": s.flow_row,
        "login_row": s.login_row,
        "login_status": s.login_status,
        "link": s.link,
        "dt_us": s.dt_us,
        "repeats": s.repeats,
        "fields": {k: s.fields.get(k) for k in _SIGNAL_FIELDS},
    }


def needed_rows(signals: list[Signal]) -> dict[str, set[int]]:
    """The rows of each table that the signals cite as evidence."""
    need: dict[str, set[int]] = {"process": set(), "socket": set(), "flow": set(), "login": set()}
    for s in signals:
        for table, value in (("process", s.fields.get("proc_row")),
                             ("socket", s.fields.get("sock_row")),
                             ("flow", s.flow_row), ("login", s.login_row)):
            if value is not None:
                need[table].add(int(value))
    return need


def inputs_section(accounts: list[FileAccount]) -> dict[str, Any]:
    """Per-file accounting and its totals (the ``inputs`` of every document)."""
    totals = {
        "files": len(accounts),
        "read": sum(a.read for a in accounts),
        "normalised": sum(a.normalised for a in accounts),
        "skipped_by_type": sum(sum(a.skipped_by_type.values()) for a in accounts),
        "meta": sum(a.meta for a in accounts),
        "malformed": sum(a.malformed for a in accounts),
        "unread": sum(a.unread for a in accounts),
        "duplicates": sum(a.duplicates for a in accounts),
    }
    return {"totals": totals, "files": [a.to_dict() for a in accounts]}


def build_report(
    *,
    accounts: list[FileAccount],
    incidents: list[Incident],
    signals: list[Signal],
    links: pa.Table,
    coverage: dict[str, Any],
    inventory: dict[str, Any],
    evidence: Evidence,
    settings: Settings,
    scope: dict[str, Any],
    blast: dict[str, dict[str, Any]] | None = None,
    records: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Assemble the Report document.

    ``blast`` is each incident's blast radius by uid (:mod:`agenttrail.blast`); ``records`` the
    cited rows with their raw excerpts (:mod:`agenttrail.excerpts`), the Report's ``evidence``.
    """
    inc_docs = [incident_doc(i, evidence) for i in incidents]
    for d in inc_docs:
        d["blast_radius"] = (blast or {}).get(d["uid"])
    link_rows = sorted(
        links.to_pylist(),
        key=lambda r: (r["flow_row"], r["t_us"], r["rule_id"], r["link"], r["host"] or ""),
    )
    return {
        "report_version": REPORT_VERSION,
        "tool": {"name": "agenttrail", "version": __version__},
        "ocsf_version": OCSF_VERSION,
        "rules": {rid: {"version": m.version, "severity": m.severity}
                  for rid, m in sorted(CATALOGUE.items())},
        "config_hash": settings.config_hash(),
        "parameters": settings.detection_params(),
        "scope": scope,
        "findings": [finding(d) for d in inc_docs],
        "incidents": inc_docs,
        "signals": [signal_doc(s) for s in signals],
        "link_candidates": link_rows,
        "evidence": records or [],
        "coverage": coverage,
        "inventory": inventory,
        "inputs": inputs_section(accounts),
    }
