"""The terminal rendering of a Report: incident table, accounting line, warnings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agenttrail.outputs.visible import visible


def text(value: object, style: str = "") -> Text:
    """Rich text of a value that may come from the input: never markup, hidden characters made
    visible (an escape sequence in a process name must not recolour the analyst's terminal)."""
    return Text(visible(value), style=style)


SEV_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def ts(us: int | None) -> str:
    """ISO time in UTC, to the millisecond."""
    if us is None:
        return "-"
    t = dt.datetime.fromtimestamp(us / 1_000_000, tz=dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def endpoint(ip: str | None, port: int | None) -> str:
    """``ip:port``, with an IPv6 address in brackets (``[fd00::5]:22``)."""
    host = f"[{ip}]" if ip and ":" in ip else (ip or "?")
    return f"{host}:{port}" if port is not None else host


def _user(u: dict[str, Any] | None, uid_key: str = "uid", name_key: str = "name") -> str:
    if not u:
        return "-"
    name = u.get(name_key)
    uid = u.get(uid_key)
    if name and uid is not None:
        return f"{name} ({uid})"
    return name or (str(uid) if uid is not None else "-")


def _cell(u: dict[str, Any] | None) -> Text:
    return text(_user(u))


def render(report: dict[str, Any], console: Console, min_severity: int = 0) -> None:
    """Print incidents, details of each chain, the accounting line and warnings."""
    incidents = [i for i in report["incidents"] if i["severity_id"] >= min_severity]
    if incidents:
        table = Table(title=f"{len(incidents)} incident(s)", show_lines=False)
        for col in ("severity", "score", "status", "rule", "host", "actor", "victim", "first seen"):
            table.add_column(col)
        for inc in incidents:
            actor = inc.get("actor") or {}
            table.add_row(
                text(inc["severity"], style=SEV_STYLE.get(inc["severity"], "")),
                text(str(inc["score"])),
                text(inc["status"]),
                text(inc["rule_id"]),
                text(inc["host"] or "-"),
                _cell({"name": actor.get("auid_name") or actor.get("name")
                       or (f"{actor['sudo_user']}? (sudo)" if actor.get("sudo_user") else None),
                       "uid": actor.get("auid") if actor.get("auid") is not None
                       else actor.get("uid")}),
                _cell(inc.get("victim")),
                text(ts(inc["first_us"])[:19] + "Z"),
            )
        console.print(table)
        for inc in incidents:
            if inc["severity_id"] >= 3:
                render_chain(inc, console)
    else:
        console.print("No incidents.")
    render_inputs(report["inputs"], console)
    by_host: dict[str, list[str]] = {}
    for w in report["coverage"]["warnings"]:
        by_host.setdefault(w["host"], []).append(w["step"])
    for host, steps in sorted(by_host.items()):
        console.print(text("warning ", style="yellow") + text(
            f"{host}: no telemetry for {', '.join(steps)}"))


def render_inputs(inputs: dict[str, Any], console: Console) -> None:
    """The accounting line and the damaged files of a document's ``inputs`` section."""
    t = inputs["totals"]
    console.print(text(
        f"{t['read']} records read, {t['normalised']} normalised, {t['skipped_by_type']} "
        f"skipped by type, {t['malformed']} malformed (see report)"
        + (f", {t['unread']} unread" if t["unread"] else "")
    ))
    unknown, skipped = [], []
    for f in inputs["files"]:
        bad = [i for i in f["issues"] if i["kind"] in ("malformed", "file", "unread")]
        if f["details"].get("skipped"):
            skipped.append(f["path"])
        elif bad and f["format"] is None and bad[0]["message"].startswith("not in any format"):
            unknown.append(f["path"])  # one line for all of them, below
        elif bad:
            first = bad[0]
            loc = f["path"] + (f":{first['line']}" if first["line"] else "")
            hint = f" ({first['hint']})" if first.get("hint") else ""
            more = f" (+{f['issues_total'] - 1} more)" if f["issues_total"] > 1 else ""
            console.print(text("damaged input ", style="yellow") + text(
                f"{loc}: {first['message']}{hint}{more}"))
    for paths, what in ((unknown, "in no known format"), (skipped, "skipped as agenttrail output")):
        if paths:
            listed = ", ".join(paths[:3]) + (f" (+{len(paths) - 3} more)" if len(paths) > 3 else "")
            console.print(text(f"{len(paths)} file{'s' if len(paths) > 1 else ''} {what}: ",
                               style="yellow") + text(f"{listed}; see report.json"))


def _step(console: Console, label: str, what: str, src: dict[str, Any] | None = None) -> None:
    """One step of a chain, with the file and line it came from on the next line."""
    console.print(text(f"  {label:<9}") + text(what), highlight=False)
    if src:
        console.print(text(f"{'':11}{src['file']}:{src['line']}", style="dim"), highlight=False)


def render_chain(inc: dict[str, Any], console: Console) -> None:
    """The evidence chain of one incident."""
    actor = inc.get("actor") or {}
    victim = inc.get("victim") or {}
    sock = inc.get("socket") or {}
    console.print()
    console.print(text(f"{inc['title']} ({inc['severity']}) incident {inc['uid'][:16]}",
                       style="bold"))
    if actor and actor.get("auid") is not None:
        _step(console, "actor:", f"login user {actor.get('auid_name') or '?'} (auid "
              f"{actor.get('auid')}), euid {actor.get('euid')}, audit session {actor.get('asid')}")
    elif actor:
        claim = (f"; SUDO_USER says {actor['sudo_user']} (uid {actor.get('sudo_uid')}), unverified"
                 if actor.get("sudo_user") else "")
        _step(console, "actor:", f"{actor.get('kind') or 'unknown'} (euid {actor.get('euid')}), "
              f"no audit user in the telemetry{claim}")
    if victim:
        _step(console, "victim:", f"{victim.get('name') or '?'} (uid {victim.get('uid')}), "
              f"owner from {victim.get('owner_origin')}")
    if sock.get("path"):
        _step(console, "socket:", f"{sock['path']} (scope {sock.get('scope')})",
              (sock.get("connect") or {}).get("source"))
    for proc in inc.get("processes", []):
        args = " ".join(proc.get("args") or []) or proc.get("exe")
        _step(console, "process:", f"pid {proc['pid']} ({proc.get('exe')}): {args}",
              proc.get("exec_source") or proc.get("connect_source"))
    for hop in inc["hops"]:
        fl = hop.get("flow") or {}
        if fl:
            dt_s = "" if hop.get("dt_us") is None else f", {hop['dt_us'] / 1e6:+.3f}s from seed"
            _step(console, "ssh:",
                  f"{endpoint(fl['src_ip'], fl['src_port'])} -> "
                  f"{endpoint(fl['dst_ip'], fl['dst_port'])}"
                  f" ({fl.get('dst_host') or 'unknown host'}) at {ts(fl['start_us'])}"
                  f"{' (no flow record: from the login record)' if fl.get('evidence') == 'login' else ''}"
                  f", linked by {hop.get('link') or 'flow'}{dt_s}", fl.get("source"))
        lg = hop.get("login") or {}
        if lg:
            _step(console, "login:", f"{lg['result']} for {lg['user']} on {lg['host']}: "
                  f"{lg['message']}", lg.get("source"))
        elif hop.get("login_status"):
            _step(console, "login:", f"{hop['login_status'].replace('_', ' ')} on the destination")
