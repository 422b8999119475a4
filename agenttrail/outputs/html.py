"""The HTML rendering of a Report: one self-contained, printable page (DESIGN §7).

The page reads only the Report. It loads nothing: the stylesheet is inline and allowed by its
hash in a ``<meta>`` Content-Security-Policy whose default is ``'none'``, pictures are inline
SVG, and there is no script at all, so the policy forbids every script, image, font, frame and
connection. Every string of the Report is attacker-influenced (process names, paths, user and host
names come from the inputs), so:

* every template is rendered with autoescape on, and no input string is ever marked safe;
* the environment's ``finalize`` hook sees every value a template prints: strings have their
  control, format (bidirectional overrides, zero-width) and surrogate characters replaced by a
  visible ``\\u202e``-style escape, highlighted in text and plain in attributes, SVG and the
  page title (``|plain``);
* the only markup not produced by a template is the static stylesheet shipped beside it.

The same Report gives byte-identical HTML: no clock, no random ids, integer SVG coordinates,
and every list in the Report's own order.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from agenttrail.outputs.html_chain import chain_diagram, score_bar
from agenttrail.outputs.html_text import (
    duration,
    field,
    finalize,
    login_absent_text,
    number,
    plain,
    src,
    token,
    ts,
    who,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
STEP_STATES = ("ok", "partial", "missing")
SEVERITIES = ("critical", "high", "medium", "low", "informational")
_KNOWN_INCIDENT_KEYS = frozenset({
    "uid", "title", "rule_id", "severity_id", "severity", "status", "score", "contributions",
    "host", "first_us", "last_us", "actor", "victim", "socket", "processes", "hops",
    "ambiguous", "signals",
})
# Incident keys that say why an incident is (not) counted; rendered beside its status.
_STATE_KEYS = ("suppression", "suppressed_by", "allowlist", "allowlist_entry", "disposition")
MAX_ROWS = 500


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        finalize=finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(plain=plain, token=token, ts=ts, dur=duration, src=src, num=number)
    env.globals.update(who=who, field=field, columns_of=columns_of, STEP_STATES=STEP_STATES,
                       MAX_ROWS=MAX_ROWS)
    env.tests.update(scalar=lambda v: v is None or isinstance(v, str | int | float | bool))
    return env


def stylesheet() -> str:
    """The inline stylesheet (static, shipped with the templates)."""
    return (TEMPLATES / "report.css").read_text(encoding="utf-8")


def csp(css: str) -> str:
    """The page's Content-Security-Policy: nothing but the one inline stylesheet."""
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; "
            "form-action 'none'")


def render(report: dict[str, Any]) -> str:
    """The report as one HTML document."""
    css = stylesheet()
    env = _environment()
    page = env.get_template("report.html.j2").render(
        css=Markup(css), csp=csp(css), r=report, view=view(report)
    )
    # a lone surrogate cannot be encoded; everything visible already went through finalize
    return page.encode("utf-8", "backslashreplace").decode("utf-8")


def write(report: dict[str, Any], path: Path) -> None:
    """Write the report's HTML to ``path``."""
    path.write_text(render(report), encoding="utf-8", newline="\n")


# ---------------------------------------------------------------------------------------------
# view model: everything the templates show that needs more than a lookup


def view(report: dict[str, Any]) -> dict[str, Any]:
    """What the template needs beyond the Report itself."""
    incidents = report.get("incidents") or []
    by_sev: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for inc in incidents:
        by_sev[inc.get("severity") or "?"] = by_sev.get(inc.get("severity") or "?", 0) + 1
        by_status[inc.get("status") or "?"] = by_status.get(inc.get("status") or "?", 0) + 1
    sev_order = [s for s in SEVERITIES if s in by_sev] + sorted(set(by_sev) - set(SEVERITIES))
    return {
        "severity_counts": [(s, by_sev[s]) for s in sev_order],
        "status_counts": sorted(by_status.items()),
        "incidents": [incident_view(i, n) for n, i in enumerate(incidents, 1)],
        "coverage": coverage_view(report.get("coverage") or {}),
        "accounting": accounting_bar((report.get("inputs") or {}).get("totals") or {}),
    }


_EVENT_STEP = {
    "agent_env_foreign_socket": ("process", "exec with another user's agent socket in its "
                                 "environment"),
    "agent_socket_cross_user": ("socket", "connect to another user's agent socket"),
    "agent_socket_owner_unknown": ("socket", "connect to an agent socket of unknown owner"),
}
_HOP_RULES = ("agent_hijack_lateral_ssh", "agent_hijack_external_ssh", "ssh_flow_without_login")
def incident_view(inc: dict[str, Any], n: int) -> dict[str, Any]:
    """The per-incident pieces: anchor, diagram, timeline, score bar, state and extra fields."""
    return {
        "anchor": f"incident-{n}",
        "n": n,
        "diagram": chain_diagram(inc, n),
        "timeline": timeline(inc),
        "score": score_bar(inc.get("contributions") or [], inc.get("score")),
        "state": [(k, inc[k]) for k in _STATE_KEYS if inc.get(k) not in (None, {}, [])],
        "extra": [(k, v) for k, v in inc.items()
                  if k not in _KNOWN_INCIDENT_KEYS and k not in _STATE_KEYS
                  and v not in (None, {}, [])],
    }


def _args(p: dict[str, Any] | None) -> str:
    if not p:
        return ""
    args = p.get("args")
    return " ".join(str(a) for a in args) if args else str(p.get("exe") or "")


def timeline(inc: dict[str, Any]) -> list[dict[str, Any]]:
    """The incident's events in time order, each with its source and the time since the last."""
    procs = {(p.get("pid"), p.get("pidversion")): p for p in inc.get("processes") or []}
    events: list[tuple[int, int, dict[str, Any]]] = []
    used_exec: set[Any] = set()
    used_connect: set[Any] = set()
    seq = 0
    for s in inc.get("signals") or []:
        if s.get("rule_id") in _HOP_RULES:
            continue
        f = s.get("fields") or {}
        key = (f.get("pid"), f.get("pidversion"))
        p = procs.get(key)
        step, what = _EVENT_STEP.get(s.get("rule_id"), (s.get("rule_id") or "?", ""))
        source = None
        if step == "process" and p and key not in used_exec:
            source = p.get("exec_source")
            used_exec.add(key)
        elif step == "socket" and p and key not in used_connect:
            source = p.get("connect_source")
            used_connect.add(key)
        detail = f"pid {f.get('pid')} {f.get('exe') or '?'}"
        if step == "process":
            detail += f": {_args(p) or f.get('exe') or ''}"
        else:
            detail += f" → {f.get('socket_path') or '?'}"
        events.append((s.get("t_us") or 0, seq, {
            "t_us": s.get("t_us"), "step": step, "what": what, "detail": detail,
            "source": src(source), "rule_id": s.get("rule_id"), "status": s.get("status"),
            "repeats": s.get("repeats") or 0, "absent": False,
        }))
        seq += 1
    for hop in inc.get("hops") or []:
        fl = hop.get("flow") or {}
        t_flow = fl.get("start_us")
        if fl:
            dst = fl.get("dst_host") or "unknown host"
            events.append((t_flow or 0, seq, {
                "t_us": t_flow, "step": "ssh",
                "what": f"SSH connection, linked by {hop.get('link') or 'flow'}"
                        + (f" ({hop['join_key']})" if hop.get("join_key") else ""),
                "detail": f"{fl.get('src_ip')}:{fl.get('src_port')} → {fl.get('dst_ip')}:"
                          f"{fl.get('dst_port')} ({dst})",
                "source": src(fl.get("source")), "rule_id": hop.get("rule_id"), "status": None,
                "repeats": 0, "absent": False,
            }))
            seq += 1
        lg = hop.get("login")
        if lg:
            events.append((lg.get("t_us") or 0, seq, {
                "t_us": lg.get("t_us"), "step": "login",
                "what": f"login {lg.get('result')} for {lg.get('user')} on {lg.get('host')}"
                        + (f", joined by {lg['join_key']}" if lg.get("join_key") else ""),
                "detail": lg.get("message") or "",
                "source": src(lg.get("source")), "rule_id": None, "status": None,
                "repeats": 0, "absent": False,
            }))
        else:
            events.append(((t_flow or 0), seq, {
                "t_us": None, "step": "login", "what": login_absent_text(hop.get("login_status")),
                "detail": f"on {fl.get('dst_host') or fl.get('dst_ip') or 'the destination'}",
                "source": None, "rule_id": None, "status": hop.get("login_status"),
                "repeats": 0, "absent": True,
            }))
        seq += 1
    events.sort(key=lambda e: (e[0], e[1]))
    out = []
    last: int | None = None
    for _, _, e in events:
        e["dt_us"] = None if e["t_us"] is None or last is None else e["t_us"] - last
        if e["t_us"] is not None:
            last = e["t_us"]
        out.append(e)
    return out


def _step_state(value: Any) -> tuple[str, dict[str, Any]] | None:
    """A coverage step's status and its other facts, if ``value`` is one."""
    if isinstance(value, str) and value in STEP_STATES:
        return value, {}
    if isinstance(value, dict) and isinstance(value.get("status"), str):
        return value["status"], {k: v for k, v in value.items() if k not in ("status", "step")}
    return None


def _steps_of(item: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (step, status, facts) an item of the coverage section holds, in its order."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    steps = item.get("steps")
    if isinstance(steps, dict):
        for name, value in steps.items():
            st = _step_state(value)
            if st:
                out.append((str(name), *st))
    elif isinstance(steps, list):
        for value in steps:
            if isinstance(value, dict) and "step" in value:
                st = _step_state(value)
                if st:
                    out.append((str(value["step"]), *st))
    for key, value in item.items():
        if key != "steps" and isinstance(value, str) and value in STEP_STATES:
            out.append((key, value, {}))
    return out


def coverage_view(cov: dict[str, Any]) -> dict[str, Any]:
    """The coverage section as matrices (one per host group: hosts × steps), fixes, the rest."""
    groups = []
    rest: dict[str, Any] = {}
    for name, items in cov.items():
        if not (isinstance(items, list) and items and all(
                isinstance(i, dict) and "host" in i for i in items)):
            rest[name] = items
            continue
        rows = [(i, _steps_of(i)) for i in items]
        if not any(steps for _, steps in rows):
            rest[name] = items
            continue
        columns: list[str] = []
        for _, steps in rows:
            for step, _, _ in steps:
                if step not in columns:
                    columns.append(step)
        table = []
        fixes = []
        for item, steps in rows:
            by_step = {s: (status, facts) for s, status, facts in steps}
            cells = []
            for c in columns:
                if c not in by_step:
                    cells.append(None)
                    continue
                status, facts = by_step[c]
                cells.append({"status": status, "facts": facts})
                if facts.get("fix") and status != "ok":
                    fixes.append({"host": item.get("host"), "step": c, "status": status,
                                  "fix": facts["fix"]})
            other = {k: v for k, v in item.items()
                     if k not in ("host", "steps") and not (isinstance(v, str) and v in STEP_STATES)}
            table.append({"host": item.get("host"), "cells": cells, "other": other})
        groups.append({"name": name, "columns": columns, "rows": table, "fixes": fixes})
    return {"groups": groups, "rest": rest}


def accounting_bar(totals: dict[str, Any]) -> list[dict[str, Any]]:
    """Segments of one bar showing where the records read went (integer widths, total 1000)."""
    parts = [(k, totals.get(k) or 0) for k in
             ("normalised", "skipped_by_type", "meta", "malformed", "unread")]
    total = sum(v for _, v in parts if isinstance(v, int))
    if total <= 0:
        return []
    out, x = [], 0
    for k, v in parts:
        if not isinstance(v, int) or v <= 0:
            continue
        w = max(2, v * 1000 // total)
        out.append({"key": k, "n": v, "x": x, "w": w})
        x += w
    return out


def columns_of(rows: Iterable[dict[str, Any]]) -> list[str]:
    """The keys of a list of dicts, in order of first appearance."""
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols

