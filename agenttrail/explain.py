"""`agenttrail explain INCIDENT --from DIR`: one incident for a responder, from ``report.json`` only.

The evidence chain is rebuilt from the incident's signals and the Report's ``evidence`` records
(file, line, time and raw excerpt of each cited row): each process's exec and socket connect,
then each SSH connection it was linked to and the login (or its absence) on the destination, with
the key that joined each step to the next and the time between them. The analytic's playbook
checks (socket ownership, related processes, network destinations, login evidence) are answered
from the same document, followed by the blast radius stored by ``hunt``.

:func:`timeline` gives the incident's events as Timesketch rows (``datetime``, ``timestamp_desc``,
``message`` plus source file, line and excerpt), written as CSV or JSON lines.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.text import Text

MIN_PREFIX = 8

#: Timeline columns, in order (Timesketch needs the first three).
TIMELINE_COLUMNS = ("datetime", "timestamp_desc", "message", "timestamp", "incident_uid", "host",
                    "event", "source_file", "source_line", "excerpt")
_DESC = {
    "exec": "Process Exec",
    "connect": "Agent Socket Connect",
    "flow": "SSH Connection Start",
    "login": "SSH Login Record",
    "no_login": "SSH Login Missing",
    "blast_login": "Login With Victim Key",
}


class ExplainError(Exception):
    """An incident id that names no incident, or more than one."""


def iso(us: int | None) -> str:
    """ISO 8601 in UTC with microseconds."""
    if us is None:
        return "-"
    t = dt.datetime.fromtimestamp(us / 1_000_000, tz=dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def _ms(us: int | None) -> str:
    return "-" if us is None else iso(us)[:23] + "Z"


def _dt(us: int | None) -> str:
    if us is None:
        return "?"
    return f"{us / 1e6:+.3f} s"


def find_incident(report: dict[str, Any], ident: str) -> dict[str, Any]:
    """The incident whose uid starts with ``ident`` (at least 8 hex characters)."""
    ident = ident.strip().lower()
    if len(ident) < MIN_PREFIX:
        raise ExplainError(f"incident id {ident!r} is too short: give at least {MIN_PREFIX} "
                           "characters of the uid")
    hits = [i for i in report.get("incidents", []) if i["uid"].startswith(ident)]
    if not hits:
        known = ", ".join(i["uid"][:16] for i in report.get("incidents", [])) or "none"
        raise ExplainError(f"no incident {ident!r} in the report (incidents: {known})")
    if len(hits) > 1:
        raise ExplainError(f"incident id {ident!r} is ambiguous: "
                           + ", ".join(i["uid"][:16] for i in hits))
    return hits[0]


@dataclass
class Step:
    """One event of the evidence chain."""

    kind: str  # exec, connect, flow, login, no_login
    t_us: int | None
    text: str
    file: str | None = None
    line: int | None = None
    excerpt: str | None = None
    join: str | None = None  # the key that joins this step to the next one


def _records(report: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(r["table"], r["row_id"]): r for r in report.get("evidence", [])}


def _user(name: str | None, uid: int | None) -> str:
    if name and uid is not None:
        return f"{name} (uid {uid})"
    return name or (f"uid {uid}" if uid is not None else "unknown")


def _flow_key(f: dict[str, Any]) -> tuple[Any, ...]:
    return (f.get("src_ip"), f.get("src_port"), f.get("dst_ip"), f.get("dst_port"))


def chain(report: dict[str, Any], inc: dict[str, Any]) -> list[Step]:
    """The incident's evidence chain in chain order: per process, then its connections."""
    recs = _records(report)
    procs = {(p["pid"], p["pidversion"]): p for p in inc.get("processes", [])}
    victim = inc.get("victim") or {}
    owner = _user(victim.get("name"), victim.get("uid"))
    per_proc: dict[tuple[Any, Any], list[Step]] = {}
    seen: set[tuple[str, int]] = set()
    order: list[tuple[Any, Any]] = []
    hop_of_proc: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    hops = {_flow_key(h["flow"]): h for h in inc.get("hops", []) if h.get("flow")}
    used_hops: set[tuple[Any, ...]] = set()
    for s in inc.get("signals", []):
        f = s["fields"]
        key = (f.get("pid"), f.get("pidversion"))
        if f.get("pid") is None:
            continue
        if key not in per_proc:
            per_proc[key] = []
            order.append(key)
        p = procs.get(key, {})
        exe = f.get("exe") or p.get("exe") or "?"
        if s["rule_id"] in ("agent_hijack_lateral_ssh", "agent_hijack_external_ssh"):
            hk = (f.get("src_ip"), f.get("src_port"), f.get("dst_ip"), f.get("dst_port"))
            if hk in hops and hk not in used_hops:
                used_hops.add(hk)
                hop_of_proc.setdefault(key, []).append(hops[hk])
            continue
        for table, rid in (("process", f.get("proc_row")), ("socket", f.get("sock_row"))):
            if rid is None or (table, rid) in seen:
                continue
            seen.add((table, rid))
            r = recs.get((table, rid), {})
            if table == "process":
                args = " ".join(p.get("args") or []) or exe
                sock = p.get("auth_sock")
                text = f"exec pid {f['pid']} {exe}: {args}"
                if sock:
                    text += f"; SSH_AUTH_SOCK={sock}"
                kind, t = "exec", r.get("t_us", s["t_us"])
            else:
                text = (f"connect pid {f['pid']} {exe} to {f.get('socket_path')} "
                        f"(owner {owner})")
                kind, t = "connect", r.get("t_us", s["t_us"])
            per_proc[key].append(Step(kind, t, text, r.get("file"), r.get("line"),
                                      r.get("excerpt")))
    steps: list[Step] = []
    actor = inc.get("actor") or {}
    for n, key in enumerate(order):
        mine = sorted(per_proc[key], key=lambda x: (x.t_us or 0, x.kind))
        for a in mine[:-1]:
            a.join = f"same process (pid {key[0]}, pidversion {key[1]})"
        steps.extend(mine)
        for hop in hop_of_proc.get(key, []):
            if steps:
                steps[-1].join = (f"{hop.get('join_key')} ({hop.get('link')} link)"
                                  if hop.get("link") else hop.get("join_key"))
            steps.extend(_hop_steps(hop, recs, report))
        if n + 1 < len(order) and steps:
            steps[-1].join = (
                f"same actor and socket (host {inc.get('host')}, acting principal "
                f"{_user(actor.get('auid_name') or actor.get('name'), actor.get('uid'))}, "
                f"victim {owner})"
            )
    for hk, hop in sorted(hops.items(), key=lambda kv: kv[1]["flow"]["start_us"]):
        if hk not in used_hops:  # standalone network hops
            steps.extend(_hop_steps(hop, recs, report))
    return steps


def _hop_steps(hop: dict[str, Any], recs: dict[tuple[str, int], dict[str, Any]],
               report: dict[str, Any]) -> list[Step]:
    fl = hop["flow"]
    src = fl.get("source") or {}
    rec = next((r for r in recs.values() if r["table"] == "flow" and r["file"] == src.get("file")
                and r["line"] == src.get("line")), {})
    out = [Step(
        "flow", fl["start_us"],
        f"SSH {fl['src_ip']}:{fl['src_port']} -> {fl['dst_ip']}:{fl['dst_port']} "
        f"({fl.get('dst_host') or 'unknown host'}), flow {fl.get('flow_uid') or '-'}",
        src.get("file"), src.get("line"), rec.get("excerpt"),
    )]
    lg = hop.get("login")
    if lg:
        lsrc = lg.get("source") or {}
        lrec = next((r for r in recs.values() if r["table"] == "login"
                     and r["file"] == lsrc.get("file") and r["line"] == lsrc.get("line")), {})
        out[-1].join = lg.get("join_key")
        out.append(Step(
            "login", lg["t_us"],
            f"{lg['result']} {lg.get('method') or ''} for {lg['user']} on {lg['host']}"
            + (f", key {lg['key_fp']}" if lg.get("key_fp") else ""),
            lsrc.get("file"), lsrc.get("line"), lrec.get("excerpt"),
        ))
    else:
        status = hop.get("login_status") or "unknown"
        out[-1].join = "source ip and source port (no record found)"
        out.append(Step("no_login", None, _login_status_text(status, fl, report)))
    return out


def _dest(report: dict[str, Any], host: str | None) -> dict[str, Any]:
    return next((d for d in report.get("coverage", {}).get("destinations", [])
                 if d["host"] == host), {})


def _login_status_text(status: str, fl: dict[str, Any], report: dict[str, Any]) -> str:
    host = fl.get("dst_host")
    d = _dest(report, host)
    cov = (f"{host} shipped {d.get('sshd_records', 0)} sshd records "
           f"({', '.join(d.get('login_sources') or []) or 'no login source'})") if d else \
        f"no login source for {host or 'the destination'}"
    text = {
        "missing": f"no sshd record on {host} for {fl['src_ip']}:{fl['src_port']} although its "
        f"logs cover the window: {cov}",
        "incomplete": f"no sshd record yet: {host}'s logs end before the window closes ({cov})",
        "attempt": "only an attempt (failed, preauth or closed), no session",
        "not_evaluable": f"absence not evaluable ({cov})",
        "present_portless": "a login without a port in the record, assigned by time",
    }
    return text.get(status, f"login status {status}")


def render(report: dict[str, Any], inc: dict[str, Any], console: Console) -> None:
    """Print the incident for a responder."""
    p = console.print
    p(Text(f"{inc['title']}", style="bold"))
    p(Text(f"incident {inc['uid']}"))
    p(Text(f"{inc['severity']}, score {inc['score']}, status {inc['status']}, rule "
           f"{inc['rule_id']}, host {inc.get('host') or '-'}"), soft_wrap=True)
    p(Text(f"from {_ms(inc['first_us'])} to {_ms(inc['last_us'])}"))
    p()
    p(Text("Evidence chain", style="bold underline"))
    steps = chain(report, inc)
    for n, (a, b) in enumerate(zip(steps, [*steps[1:], None], strict=True), 1):
        p(Text(f"{n:>2}. {_ms(a.t_us):<24} {a.kind:<8} ") + Text(a.text), soft_wrap=True)
        if a.file:
            p(Text(f"{'':13}{a.file}:{a.line}", style="dim"), soft_wrap=True)
        if a.excerpt and not a.excerpt.startswith("{"):  # JSON records: see --timeline
            p(Text(f"{'':13}| {a.excerpt}", style="dim"), soft_wrap=True)
        if b is not None:
            gap = None if a.t_us is None or b.t_us is None else b.t_us - a.t_us
            p(Text(f"{'':6}-> joined by {a.join or 'the incident key'}; next step "
                   f"{_dt(gap)}", style="cyan"), soft_wrap=True)
    p()
    p(Text("Playbook checks", style="bold underline"))
    for title, lines in playbook(report, inc):
        p(Text(f"{title}:", style="bold"))
        for line in lines:
            p(Text(f"  - {line}"), soft_wrap=True)
    p()
    _render_blast(inc, console)


def playbook(report: dict[str, Any], inc: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The analytic's checks, answered from the report."""
    actor = inc.get("actor") or {}
    victim = inc.get("victim") or {}
    sock = inc.get("socket") or {}
    sigs = inc.get("signals", [])
    own: list[str] = []
    if sock.get("path") and victim.get("uid") is None:
        own.append(f"socket {sock['path']} (scope {sock.get('scope')}): owner unknown (no "
                   "stat, bind directory, environment or path evidence)")
    elif sock.get("path"):
        origin = victim.get("owner_origin")
        own.append(f"socket {sock['path']} (scope {sock.get('scope')}) is owned by "
                   f"{_user(victim.get('name'), victim.get('uid'))}, decided by "
                   f"{_ORIGIN.get(origin, origin or 'nothing')}")
        if any(s["fields"].get("owner_conflict") for s in sigs):
            own.append("stat reported root as the owner; directory or environment evidence "
                       "decided instead")
        if actor and victim.get("uid") is not None:
            principal = _user(actor.get("name"), actor.get("uid")) if actor.get("uid") \
                is not None else "system (euid 0, no audit user)"
            own.append(
                f"the actor's acting principal is {principal} (auid {actor.get('auid')}, euid "
                f"{actor.get('euid')}, audit session {actor.get('asid')}): not the owner and "
                "not in an audit session of the owner, so it does not act for the owner")
        reasons = sorted({s["fields"].get("reason") for s in sigs
                          if s["rule_id"] == "agent_env_foreign_socket"} - {None})
        if "would_be_refused" in reasons:
            own.append("a non-root actor: ssh-agent would refuse it (low)")
    else:
        own.append("no agent socket in this incident (a network-only finding)")
    rel: list[str] = []
    for p in inc.get("processes", []):
        rules = sorted({s["rule_id"] for s in sigs if s["fields"].get("pid") == p["pid"]
                        and s["fields"].get("pidversion") == p["pidversion"]})
        code = next((s["fields"].get("code_signature") for s in sigs
                     if s["fields"].get("pid") == p["pid"]), None)
        args = " ".join(p.get("args") or []) or "(arguments not recorded)"
        rel.append(f"pid {p['pid']} (pidversion {p['pidversion']}) {p.get('exe')}, code "
                   f"{code or 'unknown'}: {args}; fired {', '.join(rules)}")
    if not rel:
        rel.append("no endpoint process in this incident")
    net: list[str] = []
    for h in inc.get("hops", []):
        fl = h.get("flow") or {}
        if not fl:
            continue
        how = (f"linked by {h['link']} ({h['join_key']}), {_dt(h.get('dt_us'))} from the seed"
               if h.get("link") else "a network finding without an endpoint link")
        net.append(f"{fl.get('dst_host') or 'unknown host'} {fl['dst_ip']}:{fl['dst_port']} "
                   f"from {fl['src_ip']}:{fl['src_port']} at {_ms(fl['start_us'])}: {how}")
    for a in inc.get("ambiguous", []):
        net.append(f"flow row {a['flow_row']} had equally good seeds: {len(a['candidates'])} "
                   "other candidate(s), listed in link_candidates")
    if not net:
        net.append("no SSH connection linked to this incident")
    logins: list[str] = []
    for h in inc.get("hops", []):
        fl = h.get("flow") or {}
        lg = h.get("login")
        if lg:
            logins.append(
                f"{lg['host']}: {lg['result']} {lg.get('method') or ''} for {lg['user']} from "
                f"{lg['src_ip']}:{lg.get('src_port')}, key {lg.get('key_fp') or 'not logged'}, "
                f"{_dt(lg.get('dt_us'))} from the flow start; joined by {lg['join_key']}")
            d = _dest(report, lg["host"])
            if d.get("skew_us") is not None:
                logins[-1] += f" (estimated clock skew of {lg['host']}: {_dt(d['skew_us'])})"
        elif fl:
            logins.append(f"{fl.get('dst_host') or 'unknown host'}: "
                          + _login_status_text(h.get("login_status") or "", fl, report))
    if not logins:
        logins.append("no SSH connection, so no login to look for")
    return [("Socket ownership", own), ("Related processes", rel),
            ("Network destinations", net), ("Login evidence", logins)]


_ORIGIN = {
    "stat": "stat (st_uid of the socket in the connect event)",
    "bind_dir": "the directory owner in the bind event",
    "env": "the user whose own processes carry it in SSH_AUTH_SOCK",
    "path": "the user named by the path",
}


def _render_blast(inc: dict[str, Any], console: Console) -> None:
    p = console.print
    b = inc.get("blast_radius")
    p(Text("Blast radius", style="bold underline"))
    if not b:
        p(Text("  not in this report (written by an older hunt)"))
        return
    fps = b.get("key_fps") or []
    if not fps:
        p(Text("  no key fingerprint of the victim is known (no login with a logged key)"))
        return
    for k in fps:
        origin = ", ".join(o.replace("_", " ") for o in k["origin"])
        p(Text(f"  key {k['key_fp']} (from: {origin})"), soft_wrap=True)
    p(Text(f"  logins carrying it from {_ms(b['from_us'])} to {_ms(b['to_us'])}: "
           f"{len(b['logins'])} on {len(b['destinations'])} destination(s)"
           + (f" ({', '.join(b['destinations'])})" if b["destinations"] else "")), soft_wrap=True)
    if not b["logins"]:
        return
    head = ("time", "destination", "account", "from", "result", "chain", "source")
    rows = [head]
    for lg in b["logins"]:
        src = lg.get("source") or {}
        rows.append((
            iso(lg["t_us"])[:19] + "Z", lg.get("host") or "-", lg.get("user") or "-",
            f"{lg.get('src_ip')}:{lg.get('src_port')}"
            + (f" ({lg['src_host']})" if lg.get("src_host") else ""),
            lg.get("result") or "-", "yes" if lg.get("in_chain") else "",
            f"{src.get('file')}:{src.get('line')}",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for n, r in enumerate(rows):
        line = "  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        p(Text(line, style="bold" if n == 0 else ""), soft_wrap=True)


def timeline(report: dict[str, Any], inc: dict[str, Any]) -> list[dict[str, Any]]:
    """The incident's events (chain, then blast radius logins) as Timesketch rows, by time."""
    rows: list[dict[str, Any]] = []
    recs = _records(report)
    for s in chain(report, inc):
        if s.t_us is None:
            continue
        rows.append(_row(inc, s.kind, s.t_us, s.text, s.file, s.line, s.excerpt))
    b = inc.get("blast_radius") or {}
    for lg in b.get("logins", []):
        if lg.get("in_chain"):
            continue
        src = lg.get("source") or {}
        rec = recs.get(("login", lg.get("login_row")), {})
        rows.append(_row(
            inc, "blast_login", lg["t_us"],
            f"{lg['result']} {lg.get('method') or ''} for {lg['user']} on {lg['host']} from "
            f"{lg['src_ip']}:{lg.get('src_port')} with key {lg['key_fp']}",
            src.get("file"), src.get("line"), rec.get("excerpt"),
        ))
    order = list(_DESC)
    rows.sort(key=lambda r: (r["timestamp"], order.index(r["event"]), r["source_file"] or "",
                             r["source_line"] or 0))
    return rows


def _row(inc: dict[str, Any], kind: str, t_us: int, message: str, file: str | None,
         line: int | None, excerpt: str | None) -> dict[str, Any]:
    return {
        "datetime": iso(t_us).replace("Z", "+00:00"),
        "timestamp_desc": _DESC[kind],
        "message": message,
        "timestamp": t_us,
        "incident_uid": inc["uid"],
        "host": inc.get("host"),
        "event": kind,
        "source_file": file,
        "source_line": line,
        "excerpt": excerpt,
    }


def timeline_text(rows: list[dict[str, Any]], fmt: str) -> str:
    """Rows as CSV (header first) or JSON lines."""
    if fmt == "jsonl":
        return "".join(json.dumps({k: r[k] for k in TIMELINE_COLUMNS}, ensure_ascii=False) + "\n"
                       for r in rows)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(TIMELINE_COLUMNS)
    for r in rows:
        w.writerow(["" if r[k] is None else r[k] for k in TIMELINE_COLUMNS])
    return buf.getvalue()
