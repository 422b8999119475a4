"""From signals and link candidates to incidents: choose links, group, seed, uid, score (DESIGN §5).

Everything here is plain Python over the (small) signal tables, so allowlist changes and
re-rendering never need the data read again.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from agenttrail.detect._meta import SEVERITY, SEVERITY_NAME

CHAIN_SEEDS = ("agent_socket_cross_user", "agent_env_foreign_socket", "agent_socket_cross_session")
LATERAL = "agent_hijack_lateral_ssh"
EXTERNAL = "agent_hijack_external_ssh"
ABSENCE = "ssh_flow_without_login"
UNKNOWN = "unknown"

#: Base score by severity; contributions add to it (DESIGN §5 "score").
BASE_SCORE = {2: 15, 3: 35, 4: 55, 5: 70}


@dataclass
class Signal:
    """One rule hit, with its evidence keys (a row of the signal table, plus chain fields)."""

    rule_id: str
    severity_id: int
    status: str
    host: str | None
    t_us: int
    fields: dict[str, Any]
    key: tuple[str, str, str] = ("", "", "")
    flow_row: int | None = None
    login_row: int | None = None
    login_status: str | None = None
    link: str | None = None
    dt_us: int | None = None
    repeats: int = 0

    def seed_tuple(self) -> list[Any]:
        """The fields that identify this signal as a seed (DESIGN §5 incident uid)."""
        f = self.fields
        if f.get("pid") is not None or f.get("socket_path") is not None:
            return [self.rule_id, self.host, f.get("pid"), f.get("pidversion"), self.t_us,
                    f.get("socket_path")]
        return [self.rule_id, f.get("src_ip"), f.get("src_port"), f.get("dst_ip"),
                f.get("dst_port"), f.get("flow_start_us")]

    def order(self) -> tuple[Any, ...]:
        """Total order: time, rule, then the seed tuple."""
        return (self.t_us, self.rule_id, json.dumps(self.seed_tuple(), default=str))


@dataclass
class Incident:
    """A group of signals with one seed."""

    uid: str
    key: tuple[str, str, str]
    signals: list[Signal]
    seed: Signal
    severity_id: int
    status: str  # New / Incomplete
    score: int
    contributions: list[dict[str, Any]]
    ambiguous: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first_us(self) -> int:
        """Time of the first signal."""
        return min(s.t_us for s in self.signals)


def _principal_key(f: dict[str, Any]) -> str:
    if f.get("principal_kind") == "system":
        return "system"
    uid = f.get("principal_uid")
    return UNKNOWN if uid is None else f"uid:{uid}"


def _owner_key(f: dict[str, Any]) -> str:
    uid = f.get("owner_uid")
    return UNKNOWN if uid is None else f"uid:{uid}"


def incident_uid(seed: Signal) -> str:
    """SHA-256 over canonical JSON of the seed tuple."""
    blob = json.dumps(seed.seed_tuple(), separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def build(
    signals: pa.Table,
    links: pa.Table,
    flow_eval: pa.Table,
    flows: pa.Table,
    incident_gap_us: int,
    env_fold_gap_us: int | None = None,
) -> tuple[list[Incident], list[Signal]]:
    """Choose links, make chain signals, group into incidents. Returns incidents and signals."""
    evals = {r["flow_row"]: r for r in flow_eval.to_pylist()}
    flow_by_row = {r["row_id"]: r for r in flows.to_pylist()}
    sigs = [_signal(r) for r in signals.to_pylist()]
    sigs = _fold_env_repeats(sigs, env_fold_gap_us or incident_gap_us)
    by_seed = {_seed_id(s): s for s in sigs if s.rule_id != ABSENCE}
    chosen, ambiguous = _choose_links(links.to_pylist(), by_seed)
    chain_flows: dict[int, Signal] = {}
    chain: list[Signal] = []
    for flow_row, (seed, cand) in sorted(chosen.items()):
        fl = flow_by_row.get(flow_row, {})
        ev = evals.get(flow_row, {})
        internal = bool(cand["dst_internal"])
        rule = LATERAL if internal else EXTERNAL
        sev = SEVERITY["critical"] if internal else SEVERITY["high"]
        if seed.rule_id not in CHAIN_SEEDS:  # owner-unknown and unusual clients keep theirs
            sev = seed.severity_id
        fields = dict(seed.fields)
        fields.update(
            src_ip=fl.get("src_ip"), src_port=fl.get("src_port"), dst_ip=fl.get("dst_ip"),
            dst_port=fl.get("dst_port"), dst_host=fl.get("dst_host"),
            flow_start_us=fl.get("start_us"), flow_row=flow_row,
        )
        c = Signal(
            rule_id=rule, severity_id=sev, status="final", host=seed.host,
            t_us=fl.get("start_us") or seed.t_us, fields=fields, key=seed.key,
            flow_row=flow_row, login_row=ev.get("login_row"), login_status=ev.get("status"),
            link=cand["link"], dt_us=cand["dt_us"],
        )
        c.fields["seed"] = _seed_id(seed)
        chain.append(c)
        chain_flows[flow_row] = c
        if ev.get("status") in ("missing", "incomplete"):
            a = Signal(
                rule_id=ABSENCE, severity_id=SEVERITY["high"],
                status="final" if ev["status"] == "missing" else "incomplete",
                host=seed.host, t_us=fl.get("start_us") or seed.t_us, fields=dict(fields),
                key=seed.key, flow_row=flow_row, login_status=ev["status"],
            )
            a.fields["reason"] = ev["status"]
            chain.append(a)
    out: list[Signal] = []
    for s in sigs:
        if s.rule_id == ABSENCE and s.flow_row in chain_flows:
            continue  # counted inside its chain, at high
        out.append(s)
    out.extend(chain)
    for s in out:
        if s.rule_id == ABSENCE and s.flow_row not in chain_flows:
            s.key = (s.host or UNKNOWN, UNKNOWN, UNKNOWN)
    incidents = _group(out, incident_gap_us)
    for inc in incidents:
        inc.ambiguous = [a for a in ambiguous if a["seed"] in {_seed_id(s) for s in inc.signals}]
    out.sort(key=Signal.order)
    return incidents, out


def in_scope(
    incidents: list[Incident], signals: list[Signal], since_us: int | None,
    until_us: int | None, only_host: str | None,
) -> tuple[list[Incident], list[Signal]]:
    """The incidents (and their signals) inside ``--since``/``--until``/``--only-host``.

    The tables were cut with a margin so that chains and absences near the edges are judged on
    complete evidence; here the findings are cut exactly: an incident is in scope when its first
    signal is in the time scope and its host matches the host glob.
    """
    import fnmatch

    def keep(host: str | None, t_us: int) -> bool:
        if since_us is not None and t_us < since_us:
            return False
        if until_us is not None and t_us > until_us:
            return False
        return not only_host or (host is not None and fnmatch.fnmatchcase(host, only_host))

    kept = [i for i in incidents if keep(i.key[0], i.first_us)]
    ids = {id(s) for i in kept for s in i.signals}
    return kept, [s for s in signals if id(s) in ids]


def _signal(r: dict[str, Any]) -> Signal:
    s = Signal(
        rule_id=r["rule_id"], severity_id=int(r["severity_id"]), status=r["status"],
        host=r["host"], t_us=int(r["t_us"]), fields=r, flow_row=r.get("flow_row"),
    )
    if s.rule_id == ABSENCE:
        s.login_status = r.get("reason")
    s.key = (s.host or UNKNOWN, _principal_key(r), _owner_key(r))
    return s


def _seed_id(s: Signal) -> str:
    return json.dumps(s.seed_tuple(), separators=(",", ":"), default=str)


def _fold_env_repeats(sigs: list[Signal], gap: int) -> list[Signal]:
    """``agent_env_foreign_socket`` once per (actor session, socket) per gap; repeats counted."""
    out: list[Signal] = []
    last: dict[tuple[Any, ...], Signal] = {}
    for s in sorted(sigs, key=Signal.order):
        if s.rule_id != "agent_env_foreign_socket":
            out.append(s)
            continue
        k = (s.host, s.fields.get("principal_uid"), s.fields.get("asid"),
             s.fields.get("socket_path"))
        prev = last.get(k)
        if prev is not None and s.t_us - prev.t_us <= gap and not _linked_process(s):
            prev.repeats += 1
            continue
        last[k] = s
        out.append(s)
    return out


def _linked_process(s: Signal) -> bool:
    # an ssh-family exec is kept even when repeated: each can carry its own lateral chain
    exe = s.fields.get("exe") or ""
    return exe.rsplit("/", 1)[-1] in ("ssh", "scp", "sftp", "git", "rsync")


def _choose_links(
    cands: list[dict[str, Any]], seeds: dict[str, Signal]
) -> tuple[dict[int, tuple[Signal, dict[str, Any]]], list[dict[str, Any]]]:
    """Each flow to at most one seed: lineage beats time, then the nearest; ties are listed."""
    by_flow: dict[int, list[tuple[Signal, dict[str, Any]]]] = defaultdict(list)
    for c in cands:
        sid = json.dumps(
            [c["rule_id"], c["host"], c["pid"], c["pidversion"], c["t_us"], c["socket_path"]],
            separators=(",", ":"), default=str,
        )
        seed = seeds.get(sid)
        if seed is not None:
            by_flow[c["flow_row"]].append((seed, c))
    chosen: dict[int, tuple[Signal, dict[str, Any]]] = {}
    ambiguous: list[dict[str, Any]] = []
    for flow_row, lst in by_flow.items():
        lst.sort(key=lambda sc: (sc[1]["link"] != "lineage", abs(sc[1]["dt_us"]),
                                 -_seed_rank(sc[0]), sc[0].order()))
        best_seed, best = lst[0]
        rivals = [
            sc for sc in lst[1:]
            if sc[1]["link"] == best["link"] and abs(sc[1]["dt_us"]) == abs(best["dt_us"])
            and sc[0].key != best_seed.key
        ]
        if rivals:
            ambiguous.append({"flow_row": flow_row, "seed": _seed_id(best_seed),
                              "candidates": sorted(_seed_id(s) for s, _ in rivals)})
        chosen[flow_row] = (best_seed, best)
    return chosen, ambiguous


def _seed_rank(s: Signal) -> int:
    """Prefer the seed rules that make chains (cross-user) over owner-unknown ones."""
    return 1 if s.rule_id in CHAIN_SEEDS else 0


def _group(sigs: list[Signal], gap: int) -> list[Incident]:
    open_by_key: dict[tuple[str, str, str], list[Signal]] = {}
    groups: list[list[Signal]] = []
    last_t: dict[int, int] = {}
    # network-only signals first join an incident whose chain holds their flow
    chain_flow_group: dict[int, int] = {}
    for s in sorted(sigs, key=Signal.order):
        if s.key[1] == UNKNOWN and s.key[2] == UNKNOWN and s.flow_row in chain_flow_group:
            gi = chain_flow_group[s.flow_row]
            groups[gi].append(s)
            continue
        cur = open_by_key.get(s.key)
        if cur is not None:
            gi = next(i for i, g in enumerate(groups) if g is cur)
            if s.t_us <= last_t[gi] + gap:
                cur.append(s)
                last_t[gi] = max(last_t[gi], s.t_us)
                if s.flow_row is not None:
                    chain_flow_group.setdefault(s.flow_row, gi)
                continue
        g = [s]
        groups.append(g)
        gi = len(groups) - 1
        last_t[gi] = s.t_us
        open_by_key[s.key] = g
        if s.flow_row is not None:
            chain_flow_group.setdefault(s.flow_row, gi)
    incidents = [_incident(g) for g in groups]
    incidents.sort(key=lambda i: (i.first_us, i.uid))
    return incidents


def _incident(g: list[Signal]) -> Incident:
    g.sort(key=Signal.order)
    seed = g[0]
    sev = max(s.severity_id for s in g)
    final = any(s.status == "final" for s in g)
    score, contrib = score_of(g, sev)
    return Incident(
        uid=incident_uid(seed), key=seed.key, signals=g, seed=seed, severity_id=sev,
        status="New" if final else "Incomplete", score=score, contributions=contrib,
    )


def score_of(g: list[Signal], sev: int) -> tuple[int, list[dict[str, Any]]]:
    """Integer score 0-100 with the contributions that explain it (no baseline needed)."""
    rules = {s.rule_id for s in g}
    contrib: list[dict[str, Any]] = [
        {"factor": f"severity {SEVERITY_NAME[sev]}", "points": BASE_SCORE[sev]}
    ]

    def add(cond: bool, factor: str, points: int) -> None:
        if cond:
            contrib.append({"factor": factor, "points": points})

    add("agent_socket_cross_user" in rules and "agent_env_foreign_socket" in rules,
        "socket connect and environment agree", 5)
    add(LATERAL in rules, "linked to an SSH connection to an internal host", 10)
    add(any(s.link == "lineage" for s in g), "linked by process lineage (argv destination)", 5)
    add(any(s.rule_id == ABSENCE and s.status == "final" for s in g),
        "no login record on the destination", 5)
    add(any(s.login_status == "present" for s in g), "login recorded on the destination", 3)
    add(any(s.fields.get("code_signature") in ("unsigned", "adhoc") for s in g),
        "unsigned or ad-hoc signed client", 5)
    add(any(s.fields.get("owner_conflict") for s in g),
        "socket owner decided by directory/environment over stat", -2)
    dests = {(s.fields.get("dst_ip"), s.fields.get("dst_port")) for s in g if s.flow_row is not None}
    add(len(dests) > 1, f"{len(dests)} destinations", min(2 * len(dests), 10))
    total = max(0, min(100, sum(c["points"] for c in contrib)))
    return total, contrib
