"""The blast radius of an incident: every login that carried the victim's keys afterwards.

The victim's key fingerprints are the ones seen in the incident's own logins, plus any the victim
used in other accepted logins in the data. "The victim used" means the login belongs to an SSH
flow that one of the victim's own processes explains by lineage (``agent_hijack_lateral_ssh``'s
``lineage``: the process's argv names the flow's destination and the flow starts within the
process's lifetime), on the incident's host, by a process acting for the victim (principal = the
victim's uid, or an audit session of the victim's login there). Remote account names are never
compared with Mac user names (DESIGN §5).

The blast radius is then every login record, on any destination and from any source, that
carries one of those fingerprints from the incident's first signal to ``BLAST_WINDOW_US`` later,
sorted by (time, destination host, row id).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.detect._meta import Tables
from agenttrail.detect.agent_hijack_lateral_ssh import lineage

if TYPE_CHECKING:
    from agenttrail.config import Settings
    from agenttrail.detect import Detected
    from agenttrail.incidents import Incident

BLAST_WINDOW_US = 24 * 3600 * 1_000_000
ORIGIN_INCIDENT = "incident_login"
ORIGIN_VICTIM = "victim_login"


def enriched_tables(backend: Any, settings: Settings) -> Tables:
    """The enriched tables ``detect.run`` left on the backend, as the detections see them."""
    b = backend.table
    return Tables(
        proc=b("e_proc"), owner=b("e_owner"), sock_ev=b("e_sock_ev"), flow=b("e_flow"),
        login=b("n_login"), span=b("n_source_span"), user_asid=b("e_user_asid"),
        asset=b("n_asset"), process=b("n_process"), dns=b("n_dns"),
        flow_src=b("e_flow_src"), settings=settings,
    )


def _victim(inc: Incident) -> int | None:
    return next((s.fields.get("owner_uid") for s in inc.signals
                 if s.fields.get("owner_uid") is not None), None)


def _host_of(ip_hi: int | None, ip_lo: int | None, t_us: int, assets: list[dict[str, Any]]
             ) -> str | None:
    """The asset host of an address at a time (several: joined with ``|``)."""
    if ip_hi is None or ip_lo is None:
        return None
    hosts = sorted({
        a["host"] for a in assets
        if (a["start_hi"], a["start_lo"]) <= (ip_hi, ip_lo) <= (a["end_hi"], a["end_lo"])
        and (a["valid_from_us"] is None or a["valid_from_us"] <= t_us)
        and (a["valid_to_us"] is None or a["valid_to_us"] >= t_us)
    })
    return "|".join(hosts) or None


def blast_radius(
    incidents: list[Incident], tables: dict[str, pa.Table], found: Detected, backend: Any,
    settings: Settings,
) -> dict[str, dict[str, Any]]:
    """Per incident uid: ``doc`` (the Report entry) and ``login_rows`` (the rows it cites)."""
    if not incidents:
        return {}
    login = tables["login"]
    by_row = {r["row_id"]: r for r in login.filter(pc.is_valid(login.column("key_fp")))
              .drop_columns(["time"]).to_pylist()}
    evals = {r["flow_row"]: r for r in found.flow_eval.to_pylist()}
    victims = {(inc.key[0], v) for inc in incidents if (v := _victim(inc)) is not None}
    own_fps: dict[tuple[str, int], set[str]] = defaultdict(set)
    if victims:
        lin = lineage(enriched_tables(backend, settings)).to_pyarrow().to_pylist()
        sessions = {(r["host"], r["uid"], r["asid"])
                    for r in backend.table("e_user_asid").to_pyarrow().to_pylist()}
        for r in lin:
            for host, uid in victims:
                if r["l_host"] != host:
                    continue
                if r["l_principal"] != uid and (host, uid, r["l_asid"]) not in sessions:
                    continue
                ev = evals.get(r["flow_row"]) or {}
                lg = by_row.get(ev.get("login_row"))
                if lg is not None and lg["result"] == "accepted":
                    own_fps[(host, uid)].add(lg["key_fp"])
    assets = tables["asset"].to_pylist()
    out: dict[str, dict[str, Any]] = {}
    for inc in incidents:
        chain_rows = {s.login_row for s in inc.signals if s.login_row is not None}
        origins: dict[str, set[str]] = defaultdict(set)
        for r in chain_rows:
            if r in by_row:
                origins[by_row[r]["key_fp"]].add(ORIGIN_INCIDENT)
        v = _victim(inc)
        for fp in own_fps.get((inc.key[0], v), set()) if v is not None else ():
            origins[fp].add(ORIGIN_VICTIM)
        lo, hi = inc.first_us, inc.first_us + BLAST_WINDOW_US
        hits = sorted(
            (r for r in by_row.values() if r["key_fp"] in origins and lo <= r["t_us"] <= hi),
            key=lambda r: (r["t_us"], r["host"] or "", r["row_id"]),
        )
        logins = [{
            "t_us": r["t_us"],
            "host": r["host"],
            "user": r["user"],
            "result": r["result"],
            "method": r["method"],
            "key_fp": r["key_fp"],
            "src_ip": r["src_ip"],
            "src_port": r["src_port"],
            "src_host": _host_of(r.get("src_ip_hi"), r.get("src_ip_lo"), r["t_us"], assets),
            "in_chain": r["row_id"] in chain_rows,
            "login_row": r["row_id"],
            "source": {"file": r["src_file"], "line": r["src_line"]},
        } for r in hits]
        out[inc.uid] = {
            "login_rows": [r["row_id"] for r in hits],
            "doc": {
                "from_us": lo,
                "to_us": hi,
                "key_fps": [{"key_fp": fp, "origin": sorted(o)}
                            for fp, o in sorted(origins.items())],
                "destinations": sorted({r["host"] for r in hits if r["host"]}),
                "logins": logins,
            },
        }
    return out
