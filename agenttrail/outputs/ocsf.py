"""An incident of the Report as an OCSF 1.5.0 Detection Finding (class 2004).

The schema it must validate against is committed under ``tests/ocsf/``. OCSF forbids ``null``
values, so empty attributes are left out.
"""

from __future__ import annotations

from typing import Any

from agenttrail import __version__

OCSF_VERSION = "1.5.0"
CLASS_UID = 2004
CATEGORY_UID = 2
ACTIVITY_CREATE = 1
STATUS_ID = {"New": 1, "Suppressed": 3, "Resolved": 4, "Incomplete": 99, "Pending": 99}
SEVERITY_LABEL = {2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
ANALYTIC_NAME = {
    "AN0711": "SSH agent hijacking on macOS (DET0256)",
    "AN0710": "SSH agent hijacking on Linux (DET0256)",
}


def _clean(value: Any) -> Any:
    """Drop None values and empty containers, recursively."""
    if isinstance(value, dict):
        out = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_clean(v) for v in value if v is not None]
    return value


def _ms(us: int | None) -> int | None:
    return None if us is None else us // 1000


def _user(name: str | None, uid: int | None) -> dict[str, Any] | None:
    if name is None and uid is None:
        return None
    return {"name": name, "uid": None if uid is None else str(uid)}


def finding(inc: dict[str, Any]) -> dict[str, Any]:
    """One Detection Finding for one incident document of the Report."""
    analytic = inc.get("analytic", "AN0711")
    evidences: list[dict[str, Any]] = []
    actor = inc.get("actor") or {}
    victim = inc.get("victim") or {}
    procs = inc.get("processes") or []
    sock = inc.get("socket") or {}
    for proc in procs:
        evidences.append({
            "name": "process",
            "process": {
                "pid": proc["pid"],
                "name": (proc.get("exe") or "").rsplit("/", 1)[-1] or None,
                "path": proc.get("exe"),
                "cmd_line": " ".join(proc["args"]) if proc.get("args") else None,
                "auid": actor.get("auid"),
                "euid": actor.get("euid"),
                "user": _user(actor.get("name"), actor.get("uid")),
            },
        })
    if sock.get("path"):
        evidences.append({
            "name": "agent socket",
            "file": {"name": sock["path"].rsplit("/", 1)[-1], "path": sock["path"],
                     "type_id": 99, "type": "Socket",
                     "owner": _user(victim.get("name"), victim.get("uid"))},
        })
    if actor:
        evidences.append({"name": "actor", "user": _user(actor.get("auid_name") or actor.get("name"),
                                                          actor.get("auid") if actor.get("auid") is not None else actor.get("uid"))})
    if victim:
        evidences.append({"name": "victim", "user": _user(victim.get("name"), victim.get("uid"))})
    for hop in inc.get("hops", []):
        fl = hop.get("flow") or {}
        if fl:
            evidences.append({
                "name": "ssh connection",
                "src_endpoint": {"ip": fl["src_ip"], "port": fl["src_port"]},
                "dst_endpoint": {"ip": fl["dst_ip"], "port": fl["dst_port"],
                                 "hostname": fl.get("dst_host")},
            })
        lg = hop.get("login") or {}
        if lg:
            evidences.append({
                "name": f"login {lg['result']}",
                "user": _user(lg.get("user"), None),
                "src_endpoint": {"ip": lg.get("src_ip"), "port": lg.get("src_port")},
                "dst_endpoint": {"hostname": lg.get("host")},
                "data": {"message": lg.get("message"), "key_fp": lg.get("key_fp"),
                         "source": lg.get("source")},
            })
    obj = {
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE,
        "type_name": "Detection Finding: Create",
        "time": _ms(inc["first_us"]),
        "start_time": _ms(inc["first_us"]),
        "end_time": _ms(inc["last_us"]),
        "severity_id": inc["severity_id"],
        "severity": SEVERITY_LABEL.get(inc["severity_id"]),
        "status_id": STATUS_ID.get(inc["status"], 99),
        "status": inc["status"],
        "risk_score": inc["score"],
        "message": inc["title"],
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "agenttrail", "vendor_name": "agenttrail", "version": __version__},
            "uid": inc["uid"],
        },
        "finding_info": {
            "uid": inc["uid"],
            "title": inc["title"],
            "analytic": {"uid": analytic, "name": ANALYTIC_NAME.get(analytic), "type_id": 1,
                         "type": "Rule"},
            "types": sorted({s["rule_id"] for s in inc["signals"]}),
            "first_seen_time": _ms(inc["first_us"]),
            "last_seen_time": _ms(inc["last_us"]),
            # the incident's signals, each named by rule and event time (µs), in signal order
            "related_events": [
                {"uid": f"{sig['rule_id']}@{sig['t_us']}", "type": sig["rule_id"],
                 "severity_id": sig["severity_id"], "first_seen_time": _ms(sig["t_us"])}
                for sig in inc["signals"]
            ],
        },
        "attacks": [{
            "technique": {"uid": "T1563.001", "name": "SSH Hijacking"},
            "tactic": {"uid": "TA0008", "name": "Lateral Movement"},
            "version": "18",
        }],
        "device": {"hostname": inc["host"], "type_id": 0} if inc.get("host") else None,
        "evidences": evidences,
        "unmapped": {
            "rule_id": inc["rule_id"],
            "chain": inc["hops"],
            "contributions": inc["contributions"],
            "actor": actor,
            "victim": victim,
            "socket": sock,
            "processes": procs,
            "ambiguous": inc.get("ambiguous"),
        },
    }
    out = _clean(obj)
    # an evidence whose only attribute is its name says nothing: drop it
    out["evidences"] = [e for e in out.get("evidences", []) if set(e) - {"name"}]
    if not out["evidences"]:
        del out["evidences"]
    return out
