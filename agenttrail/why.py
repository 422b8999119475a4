""""Why no incident?" for one socket, flow or login: which step matched, which failed, and why.

The inputs are read and the pipeline run as ``hunt`` does (:func:`agenttrail.hunt.analyse`);
the answer is read off the tables the detections already computed, never decided again:

* the socket owner table and the enriched connects (``e_sock_ev``: owner, acting principal,
  "acts for the owner", agent infrastructure), the exec images (``e_proc``: ``SSH_AUTH_SOCK`` or
  ``IdentityAgent`` path, agent client);
* the seed signals before and after folding, the link candidates and the chosen links;
* the flow evaluation of ``ssh_flow_without_login`` (status, reason, tolerance, authenticated,
  internal), and the incidents with their blast radius.

Where a window decided, the numbers are given: the window from the settings and where the
nearest candidate fell.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agenttrail.explain import iso
from agenttrail.incidents import CHAIN_SEEDS
from agenttrail.sockets import normalise_path

if TYPE_CHECKING:
    from agenttrail.config import Settings
    from agenttrail.hunt import Analysis
    from agenttrail.redact import Redactor

MAX_LIST = 20
SEED_RULES = (*CHAIN_SEEDS, "agent_socket_owner_unknown")


class WhyError(Exception):
    """The socket, flow or login named is not in the data, or is named ambiguously."""


@dataclass(frozen=True)
class Target:
    """What to explain: exactly one of a socket path, a flow uid, a login FILE:LINE."""

    kind: str
    value: str
    line: int | None = None

    @classmethod
    def parse(cls, socket: str | None, flow: str | None, login: str | None) -> Target:
        """From the command-line options."""
        if socket is not None:
            return cls("socket", socket)
        if flow is not None:
            return cls("flow", flow)
        assert login is not None
        file, sep, line = login.rpartition(":")
        if not sep or not file or not line.isdigit():
            raise WhyError(f"--login {login!r}: give FILE:LINE, e.g. servers/db1/auth.log:109")
        return cls("login", file, int(line))


def _s(us: int | None) -> str:
    return "?" if us is None else f"{us / 1e6:+.3f} s"


def _t(us: int | None) -> str:
    return "-" if us is None else iso(us)[:23] + "Z"


def explain(
    paths: list[str], settings: Settings, target: Target, redactor: Redactor | None = None
) -> list[str]:
    """Run the pipeline on ``paths`` and explain ``target``; lines of text.

    With ``redactor``, the names of the data are collected first and every line is redacted.
    """
    from agenttrail.hunt import analyse, report_of

    a = analyse(paths, settings)
    try:
        report = report_of(a, settings).report
        ctx = _Context(a, report, settings)
        if target.kind == "socket":
            lines = ctx.socket(target.value)
        elif target.kind == "flow":
            lines = ctx.flow_uid(target.value)
        else:
            lines = ctx.login(target.value, target.line or 0)
        if redactor is not None:
            redactor.collect(report)
            redactor.collect_tables(a.tables)
            lines = [redactor.text(x) for x in lines]
        return lines
    finally:
        a.close()


class _Context:
    """The detection tables of one run, indexed for the questions below."""

    def __init__(self, a: Analysis, report: dict[str, Any], settings: Settings) -> None:
        self.a = a
        self.report = report
        self.settings = settings
        self.w = settings.windows
        self._lin: list[dict[str, Any]] | None = None
        self._sessions: set[tuple[Any, Any, Any]] = set()
        self.flows = {r["row_id"]: r for r in a.found.flow.to_pylist()}
        self.evals = {r["flow_row"]: r for r in a.found.flow_eval.to_pylist()}
        self.links = a.found.links.to_pylist()
        self.raw_seeds = a.found.signals.to_pylist()
        self.kept = a.signals
        self.inc_of: dict[int, str] = {}
        for inc in a.incidents:
            for s in inc.signals:
                self.inc_of[id(s)] = inc.uid
        self.chosen: dict[int, tuple[str, Any]] = {}  # flow row -> (incident uid, chain signal)
        for inc in a.incidents:
            for s in inc.signals:
                if s.rule_id in ("agent_hijack_lateral_ssh", "agent_hijack_external_ssh"):
                    self.chosen[s.flow_row] = (inc.uid, s)  # type: ignore[index]

    # -- shared pieces -----------------------------------------------------------------------

    def _signal_of(self, **match: Any) -> Any | None:
        for s in self.kept:
            f = {**s.fields, "rule_id": s.rule_id}
            if all(f.get(k) == v for k, v in match.items()):
                return s
        return None

    def _incident_text(self, s: Any) -> str:
        uid = self.inc_of.get(id(s))
        return f"incident {uid[:16]}" if uid else "no incident"

    def _seed_links(self, seed: dict[str, Any]) -> list[str]:
        """What became of one seed signal's link to an SSH connection."""
        key = (seed["rule_id"], seed["host"], seed["pid"], seed["pidversion"], seed["t_us"])
        cands = [c for c in self.links
                 if (c["rule_id"], c["host"], c["pid"], c["pidversion"], c["t_us"]) == key]
        out = []
        for c in sorted(cands, key=lambda c: (c["flow_row"], c["link"])):
            fl = self.flows.get(c["flow_row"], {})
            what = (f"{fl.get('src_ip')}:{fl.get('src_port')} -> {fl.get('dst_ip')}:"
                    f"{fl.get('dst_port')} ({fl.get('dst_host') or 'unknown host'}), flow "
                    f"{fl.get('flow_uid') or '-'}, {c['link']} link, flow starts "
                    f"{_s(c['dt_us'])} relative to it")
            won = self.chosen.get(c["flow_row"])
            if won is None:
                verdict = "not chosen"
            elif (won[1].fields.get("pid"), won[1].fields.get("pidversion")) == (
                    c["pid"], c["pidversion"]) and won[1].link == c["link"]:
                verdict = f"chosen: {won[1].rule_id} in incident {won[0][:16]}"
            else:
                verdict = (f"went to a better candidate (pid {won[1].fields.get('pid')}, "
                           f"{won[1].link} link: lineage beats time, then the nearest)")
            out.append(f"    linked: {what}: {verdict}")
        if not cands:
            out.extend(self._no_flow(seed))
        return out

    def _lineage(self) -> list[dict[str, Any]]:
        if self._lin is None:
            from agenttrail.blast import enriched_tables
            from agenttrail.detect.agent_hijack_lateral_ssh import lineage

            t = enriched_tables(self.a.backend, self.settings)
            self._lin = lineage(t).to_pyarrow().to_pylist()
            self._sessions = {(r["host"], r["uid"], r["asid"])
                              for r in t.user_asid.to_pyarrow().to_pylist()}
        return self._lin

    def _no_flow(self, seed: dict[str, Any]) -> list[str]:
        host, t = seed["host"], seed["t_us"]
        pre, tw = self.w.pre_auth_window * 1_000_000, self.w.time_window * 1_000_000
        skew = self.w.endpoint_skew * 1_000_000
        ssh = [f for f in self.flows.values() if f.get("is_ssh") and f.get("src_host") == host
               and f.get("start_us") is not None]
        if not ssh:
            return [f"    no SSH flow in the data comes from {host}: is its address in "
                    "--assets, and does the flow sensor see its traffic?"]
        inside = [f for f in ssh if t - pre <= f["start_us"] <= t + tw
                  and (f.get("end_us") is None or f["end_us"] >= t - skew)]
        out: list[str] = []
        for f in sorted(inside, key=lambda f: (f["start_us"], f["row_id"])):
            owner = seed.get("owner_uid")
            by_owner = [r for r in self._lineage() if r["flow_row"] == f["row_id"]
                        and r["l_host"] == host and owner is not None
                        and (r["l_principal"] == owner
                             or (host, owner, r["l_asid"]) in self._sessions)]
            what = (f"{f['src_ip']}:{f['src_port']} -> {f['dst_ip']}:{f['dst_port']} "
                    f"({f.get('dst_host') or 'unknown host'}) starts "
                    f"{_s(f['start_us'] - t)} relative to it, inside [{_s(-pre)}, {_s(tw)}]")
            if by_owner:
                r = by_owner[0]
                out.append(f"    {what}, but the owner's own process pid {r['l_pid']} explains "
                           "it by lineage (its argv names that destination and it was running):"
                           " such a flow is never linked by time")
            else:
                out.append(f"    {what}, but another seed took it or lineage placed it "
                           "elsewhere")
        if inside:
            return out
        near = sorted(ssh, key=lambda f: (abs(f["start_us"] - t), f["row_id"]))[:3]
        out = [f"    no SSH flow from {host} started in [{_s(-pre)}, {_s(tw)}] around it "
               "(pre_auth_window, time_window) or was explained by its process's argv "
               "destination; nearest:"]
        for f in near:
            ended = f.get("end_us")
            note = ""
            if ended is not None and ended < t - skew:
                note = f", ended {_s(ended - t)} relative to it (before -endpoint_skew)"
            out.append(f"      {f['src_ip']}:{f['src_port']} -> {f['dst_ip']}:{f['dst_port']} "
                       f"({f.get('dst_host') or 'unknown host'}) starts "
                       f"{_s(f['start_us'] - t)} relative to it{note}")
        return out

    # -- socket --------------------------------------------------------------------------------

    def socket(self, path: str) -> list[str]:
        """Explain one socket path on every host that saw it."""
        forms = {path, normalise_path(path) or path, normalise_path(path, "linux") or path}
        owners = [o for o in self.a.found.owner.to_pylist() if o["socket_path"] in forms]
        if not owners:
            raise WhyError(f"socket {path!r} is not in the data (no connect, bind, SSH_AUTH_SOCK "
                           "or IdentityAgent names it)")
        out: list[str] = []
        conns = self.a.backend.table("e_sock_ev").to_pyarrow().to_pylist()
        procs = self.a.found.proc.to_pylist()
        for o in sorted(owners, key=lambda o: (o["host"] or "", o["socket_path"])):
            host, sp = o["host"], o["socket_path"]
            out.append(f"socket {sp} on {host}")
            if o["socket_kind"] != "agent":
                out.append(f"  kind {o['socket_kind']} (scope {o['socket_scope']}): not an agent "
                           "socket, so no agent rule applies to it")
            else:
                out.append(f"  kind agent, scope {o['socket_scope']}: matched")
            if o["owner_uid"] is None:
                out.append("  owner unknown: no stat, bind directory, environment or path "
                           "evidence; only a root connect can then fire agent_socket_owner_unknown")
            else:
                out.append(f"  owner uid {o['owner_uid']}, decided by {o['owner_origin']}"
                           + (" (stat said root; directory/environment evidence decided)"
                              if o["owner_conflict"] else ""))
            mine = sorted((c for c in conns if c["host"] == host and c["socket_path"] == sp),
                          key=lambda c: (c["t_us"], c["row_id"]))
            own = [c for c in mine if c.get("acts_for_owner") and not c.get("agent_infra")]
            rest = [c for c in mine if c not in own]
            out.append(f"  connects: {len(mine)}")
            if own:
                out.append(f"    {len(own)} by processes acting for the owner (not cross-user), "
                           f"{_t(own[0]['t_us'])} to {_t(own[-1]['t_us'])}")
            for c in rest[:MAX_LIST]:
                out.extend(self._connect(c, o))
            if len(rest) > MAX_LIST:
                out.append(f"    ({len(rest) - MAX_LIST} more connects not shown)")
            named = sorted((p for p in procs if p["host"] == host and p["agent_path"] == sp),
                           key=lambda p: (p["exec_us"], p["row_id"]))
            own_p = [p for p in named if o["owner_uid"] is not None
                     and p.get("principal_uid") == o["owner_uid"]]
            rest_p = [p for p in named if p not in own_p]
            out.append(f"  execs naming it in SSH_AUTH_SOCK or IdentityAgent: {len(named)}")
            if own_p:
                out.append(f"    {len(own_p)} by the owner's own processes (principal = owner), "
                           f"{_t(own_p[0]['exec_us'])} to {_t(own_p[-1]['exec_us'])}")
            for p in rest_p[:MAX_LIST]:
                out.extend(self._exec(p, o))
            if len(rest_p) > MAX_LIST:
                out.append(f"    ({len(rest_p) - MAX_LIST} more execs not shown)")
        return out

    def _who(self, r: dict[str, Any]) -> str:
        kind = r.get("principal_kind")
        if kind == "system":
            return f"euid {r.get('euid')}, no audit user: system"
        return f"principal uid {r.get('principal_uid')} ({kind}), euid {r.get('euid')}, " \
               f"audit session {r.get('asid')}"

    def _connect(self, c: dict[str, Any], o: dict[str, Any]) -> list[str]:
        head = (f"    {_t(c['t_us'])} pid {c['pid']} {c.get('exe')} ({self._who(c)}) "
                f"{c.get('src_file')}:{c.get('src_line')}")
        if c.get("agent_infra"):
            return [head, "      agent infrastructure (ssh-agent serving its socket, launchd): "
                          "not a client"]
        if o["socket_kind"] != "agent":
            return [head, "      not an agent socket: not evaluated"]
        if c.get("owner_uid") is None:
            sig = self._signal_of(rule_id="agent_socket_owner_unknown", sock_row=c["row_id"])
            if sig is None:
                return [head, "      owner unknown and the actor is not root (euid "
                              f"{c.get('euid')}): agent_socket_owner_unknown needs euid 0"]
            return [head, f"      fired agent_socket_owner_unknown (low), "
                          f"{self._incident_text(sig)}", *self._seed_links(_raw(sig))]
        if c.get("acts_for_owner"):
            why = ("its principal is the owner" if c.get("principal_uid") == c.get("owner_uid")
                   else f"audit session {c.get('asid')} belongs to the owner's login")
            return [head, f"      acts for the owner ({why}): not cross-user"]
        sig = self._signal_of(rule_id="agent_socket_cross_user", sock_row=c["row_id"])
        if sig is None:
            return [head, "      does not act for the owner, but no signal (check allowlists)"]
        return [head, f"      does not act for the owner uid {c.get('owner_uid')}: fired "
                      f"agent_socket_cross_user ({_sev(sig.severity_id)}), "
                      f"{self._incident_text(sig)}", *self._seed_links(_raw(sig))]

    def _exec(self, p: dict[str, Any], o: dict[str, Any]) -> list[str]:
        head = (f"    {_t(p['exec_us'])} pid {p['pid']} {p.get('exe')} ({self._who(p)})")
        sig = self._signal_of(rule_id="agent_env_foreign_socket", proc_row=p["row_id"])
        if sig is not None:
            return [head, f"      fired agent_env_foreign_socket ({_sev(sig.severity_id)}, "
                          f"{sig.fields.get('reason')}), {self._incident_text(sig)}",
                    *self._seed_links(_raw(sig))]
        raw = [r for r in self.raw_seeds if r["rule_id"] == "agent_env_foreign_socket"
               and r["proc_row"] == p["row_id"]]
        if raw:
            return [head, "      a repeat of the same actor and socket within incident_gap: "
                          "folded into the first signal"]
        if o["socket_kind"] != "agent":
            return [head, "      not an agent socket: not evaluated"]
        if o["owner_uid"] is None:
            return [head, "      owner unknown: the environment rule needs an owner"]
        if p.get("principal_uid") == o["owner_uid"]:
            return [head, "      acts for the owner (its principal is the owner)"]
        if not p.get("agent_client"):
            return [head, "      not an agent-using program and it never connected to the "
                          "socket: not a seed"]
        return [head, "      acts for the owner (an audit session of the owner's login)"]

    # -- flow ------------------------------------------------------------------------------------

    def flow_uid(self, uid: str) -> list[str]:
        """Explain every flow row with this flow uid."""
        rows = sorted((f for f in self.flows.values() if f.get("flow_uid") == uid),
                      key=lambda f: f["row_id"])
        if not rows:
            raise WhyError(f"flow {uid!r} is not in the flow data")
        out: list[str] = []
        for f in rows:
            out.extend(self.flow(f))
        return out

    def flow(self, f: dict[str, Any]) -> list[str]:
        """Explain one flow row."""
        out = [f"flow {f.get('flow_uid') or '-'}: {f['src_ip']}:{f['src_port']} -> "
               f"{f['dst_ip']}:{f['dst_port']} at {_t(f.get('start_us'))} "
               f"({f.get('src_file')}:{f.get('src_line')})"]
        if not f.get("is_ssh"):
            out.append("  not SSH (no ssh service, ssh.log row or SSH port): no rule applies")
            return out
        out.append(f"  SSH ({f.get('ssh_evidence')}): matched")
        src = f.get("src_host")
        if src is None:
            out.append(f"  source {f['src_ip']} maps to no host at that time: no endpoint seed "
                       "can link to it (add the address to --assets)")
        elif f.get("src_ambiguous"):
            out.append(f"  source {f['src_ip']} maps to several hosts at that time (ambiguous): "
                       f"chains need lineage; first is {src}")
        else:
            out.append(f"  source host {src}")
        out.append(f"  destination host {f.get('dst_host') or 'unknown'}; internal: source "
                   f"{_yn(f.get('src_internal'))}, destination {_yn(f.get('dst_internal'))}")
        out.extend(self._login_eval(f))
        cands = sorted((c for c in self.links if c["flow_row"] == f["row_id"]),
                       key=lambda c: (c["link"] != "lineage", abs(c["dt_us"]), c["t_us"]))
        won = self.chosen.get(f["row_id"])
        if won is not None:
            s = won[1]
            seed = json.loads(s.fields.get("seed") or "[]") or ["?"] * 5
            out.append(f"  linked to seed {seed[0]} pid {seed[2]} at {_t(seed[4])} by {s.link} "
                       f"(flow starts {_s(s.dt_us)} relative to it): {s.rule_id} in incident "
                       f"{won[0][:16]}")
        for c in cands:
            if won is not None and (c["pid"], c["pidversion"], c["link"]) == (
                    won[1].fields.get("pid"), won[1].fields.get("pidversion"), won[1].link):
                continue
            out.append(f"  candidate seed {c['rule_id']} pid {c['pid']} at {_t(c['t_us'])} "
                       f"({c['link']} link, {_s(c['dt_us'])}): "
                       + ("lost to the chosen seed" if won else "not chosen"))
        if won is None and not cands:
            out.extend(self._no_seed(f))
        return out

    def _login_eval(self, f: dict[str, Any]) -> list[str]:
        ev = self.evals.get(f["row_id"])
        if ev is None:
            return ["  not a session start the login rule evaluates (no SYN seen, or a "
                    "continuation of an earlier flow)"]
        tol = ev["tol_us"]
        grace = self.w.login_grace * 1_000_000
        out = [f"  login on the destination (window [{_s(-tol)}, {_s(grace + tol)}] around "
               f"the flow start): {ev['status']}"
               + (f" ({ev['reason']})" if ev.get("reason") else "")]
        login = self.a.tables["login"]
        if ev.get("login_row") is not None:
            lg = next((r for r in login.to_pylist() if r["row_id"] == ev["login_row"]), None)
            if lg:
                out.append(f"    {lg['src_file']}:{lg['src_line']}: {lg.get('message')} "
                           f"({_s(lg['t_us'] - f['start_us'])} after the flow start)")
        if not ev["authenticated"]:
            out.append(f"  not authenticated (no auth_success and not over {self.a_pk()} "
                       "packets and bytes): ssh_flow_without_login does not apply alone")
        elif not ev["internal"]:
            out.append("  not internal to internal: ssh_flow_without_login does not apply alone")
        sig = self._signal_of(rule_id="ssh_flow_without_login", src_ip=f["src_ip"],
                              src_port=f["src_port"], flow_start_us=f.get("start_us"))
        if sig is not None:
            out.append(f"  fired ssh_flow_without_login ({_sev(sig.severity_id)}), "
                       f"{self._incident_text(sig)}")
        return out

    def a_pk(self) -> str:
        """The packet and byte thresholds, as text."""
        p = self.report.get("parameters", {})
        return f"{p.get('auth_min_pkts')} / {p.get('auth_min_bytes')}"

    def _no_seed(self, f: dict[str, Any]) -> list[str]:
        host, start = f.get("src_host"), f.get("start_us")
        if host is None or start is None:
            return ["  no seed can link: the source host is unknown"]
        seeds = [r for r in self.raw_seeds if r["rule_id"] in SEED_RULES and r["host"] == host]
        if not seeds:
            return [f"  no hijack seed (cross-user connect, foreign SSH_AUTH_SOCK, unknown-owner "
                    f"root connect) on {host} in the data: nothing to link"]
        pre, tw = self.w.pre_auth_window * 1_000_000, self.w.time_window * 1_000_000
        near = sorted(seeds, key=lambda r: (abs(start - r["t_us"]), r["t_us"]))[:3]
        out = [f"  no seed linked: a time link needs the flow to start within [{_s(-pre)}, "
               f"{_s(tw)}] of the seed; nearest seeds on {host}:"]
        for r in near:
            out.append(f"    {r['rule_id']} pid {r['pid']} {r.get('exe')} at {_t(r['t_us'])}: "
                       f"flow starts {_s(start - r['t_us'])} relative to it")
        return out

    # -- login -----------------------------------------------------------------------------------

    def login(self, file: str, line: int) -> list[str]:
        """Explain one login record, named by file and line."""
        rows = [r for r in self.a.tables["login"].to_pylist()
                if r["src_line"] == line and _same_file(r["src_file"], file)]
        if not rows:
            raise WhyError(f"no login record at {file}:{line} (give the file as the report names "
                           "it, relative to the inputs' common folder)")
        files = sorted({r["src_file"] for r in rows})
        if len(files) > 1:
            raise WhyError(f"{file}:{line} is ambiguous: {', '.join(files)}")
        out: list[str] = []
        for lg in sorted(rows, key=lambda r: r["row_id"]):
            out.append(f"login {lg['src_file']}:{lg['src_line']} on {lg['host']} at "
                       f"{_t(lg['t_us'])}: {lg.get('message')}")
            out.append(f"  {lg['result']} for {lg['user']} from {lg['src_ip']}:{lg['src_port']}"
                       + (f", key {lg['key_fp']}" if lg.get("key_fp") else ""))
            flows = [self.flows[e["flow_row"]] for e in self.evals.values()
                     if e.get("login_row") == lg["row_id"] and e["flow_row"] in self.flows]
            if flows:
                for f in sorted(flows, key=lambda f: f["row_id"]):
                    out.append("  answers the flow below (the login rule matched it):")
                    out.extend("  " + x for x in self.flow(f))
            else:
                out.extend(self._no_flow_for_login(lg))
            blast = [i["uid"][:16] for i in self.report["incidents"]
                     if any(b["login_row"] == lg["row_id"]
                            for b in (i.get("blast_radius") or {}).get("logins", []))]
            if blast:
                out.append(f"  in the blast radius of incident(s) {', '.join(blast)}")
        return out

    def _no_flow_for_login(self, lg: dict[str, Any]) -> list[str]:
        if lg.get("src_port") is None:
            return ["  the record has no source port: only matched to flows by time (portless)"]
        same = [f for f in self.flows.values()
                if f["src_ip"] == lg["src_ip"] and f["src_port"] == lg["src_port"]]
        if not same:
            return [f"  no flow from {lg['src_ip']}:{lg['src_port']} in the flow data: nothing "
                    "to join it to (is the sensor on that path?)"]
        out = []
        grace = self.w.login_grace * 1_000_000
        for f in sorted(same, key=lambda f: f["row_id"]):
            ev = self.evals.get(f["row_id"])
            tol = ev["tol_us"] if ev else self.w.clock_tolerance * 1_000_000
            d = lg["t_us"] - (f.get("start_us") or 0)
            reason = []
            if f.get("dst_host") != lg["host"]:
                reason.append(f"the flow's destination {f['dst_ip']} maps to "
                              f"{f.get('dst_host') or 'no host'}, not {lg['host']}")
            if not -tol <= d <= grace + tol:
                reason.append(f"the record is {_s(d)} from the flow start, outside "
                              f"[{_s(-tol)}, {_s(grace + tol)}]")
            if ev is None:
                reason.append("the flow is not a session start the login rule evaluates")
            out.append(f"  flow {f.get('flow_uid') or '-'} from the same address and port: "
                       + ("; ".join(reason) or "matched another record of the same flow"))
        return out


def _raw(sig: Any) -> dict[str, Any]:
    return {"rule_id": sig.rule_id, "host": sig.host, "pid": sig.fields.get("pid"),
            "pidversion": sig.fields.get("pidversion"), "t_us": sig.t_us,
            "owner_uid": sig.fields.get("owner_uid")}


def _sev(sid: int) -> str:
    from agenttrail.detect._meta import SEVERITY_NAME

    return SEVERITY_NAME.get(sid, str(sid))


def _yn(v: bool | None) -> str:
    return "unknown" if v is None else ("yes" if v else "no")


def _same_file(have: str | None, given: str) -> bool:
    if have is None:
        return False
    given = given.replace("\\", "/")
    return have == given or given.endswith("/" + have) or have.endswith("/" + given)

