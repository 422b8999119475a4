"""Geometry of the pictures in the HTML report: the evidence chain and the score bar.

Only numbers and visible text come out of here (``Plain`` strings, made visible by
``html.plain``); the template draws them as SVG with autoescape on. Coordinates are integers, so
the same Report always gives the same picture.

The chain reads left to right: agent socket → the processes that used it → one SSH connection per
hop → the login on that hop's destination, or a dashed node saying the login is missing.
"""

from __future__ import annotations

from typing import Any

from agenttrail.outputs.html_text import Plain, duration, login_absent_text, plain

NODE_W, NODE_H, COL_GAP, ROW_GAP, PAD = 240, 74, 56, 18, 8
MAX_CHARS = 33  # characters of 11 px monospace that fit in a node
HOP_RULES = ("agent_hijack_lateral_ssh", "agent_hijack_external_ssh", "ssh_flow_without_login")


def clip(value: Any, n: int = MAX_CHARS, middle: bool = False) -> Plain:
    """The visible text, cut to ``n`` characters with an ellipsis (in the middle for paths)."""
    s = plain(value)
    if len(s) <= n:
        return s
    if middle:
        head = (n - 1) // 2
        return plain(s[:head] + "…" + s[len(s) - (n - 1 - head):])
    return plain(s[: n - 1] + "…")


def wrap(text: str, n: int = MAX_CHARS, lines: int = 2) -> list[Plain]:
    """Word-wrap ``text`` into at most ``lines`` lines of ``n`` characters."""
    out: list[str] = []
    cur = ""
    for word in str(text).split():
        if cur and len(cur) + 1 + len(word) > n:
            out.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    if cur:
        out.append(cur)
    if len(out) > lines:
        out = [*out[: lines - 1], " ".join(out[lines - 1:])]
    return [clip(x, n) for x in out]


def _node(kind: str, label: str, lines: list[Any], title: list[Any]) -> dict[str, Any]:
    return {
        "kind": kind,
        "label": clip(label),
        "lines": [clip(x) for x in lines if x is not None][:3],
        "title": plain("\n".join(str(t) for t in title if t is not None)),
    }


def _who(name: Any, uid: Any) -> str:
    if name is not None and uid is not None:
        return f"{name} ({uid})"
    return str(name if name is not None else uid if uid is not None else "?")


def _src(ref: dict[str, Any] | None) -> str | None:
    if not ref or not ref.get("file"):
        return None
    return f"source {ref['file']}:{ref.get('line')}"


def _hop_process(inc: dict[str, Any], hop: dict[str, Any]) -> tuple[Any, Any] | None:
    """The (pid, pidversion) whose SSH connection a hop is, from the incident's signals."""
    fl = hop.get("flow") or {}
    for s in inc.get("signals") or []:
        f = s.get("fields") or {}
        if (s.get("rule_id") in HOP_RULES and f.get("pid") is not None
                and f.get("src_port") == fl.get("src_port")
                and f.get("flow_start_us") == fl.get("start_us")):
            return f.get("pid"), f.get("pidversion")
    return None


def chain_diagram(inc: dict[str, Any], n: int) -> dict[str, Any]:
    """Nodes, edges and size of one incident's chain diagram."""
    actor = inc.get("actor") or {}
    victim = inc.get("victim") or {}
    sock = inc.get("socket") or {}
    procs = inc.get("processes") or []
    hops = inc.get("hops") or []

    columns: list[list[dict[str, Any]]] = []
    sock_node = None
    if sock.get("path"):
        sock_node = _node("socket", "agent socket", [
            clip(sock["path"], middle=True),
            f"owner {_who(victim.get('name'), victim.get('uid'))}",
            f"scope {sock.get('scope') or '?'}",
        ], [sock["path"], f"owner {_who(victim.get('name'), victim.get('uid'))}",
            _src((sock.get("connect") or {}).get("source"))])
        columns.append([sock_node])
    proc_nodes: dict[tuple[Any, Any], dict[str, Any]] = {}
    if procs:
        col = []
        for p in procs:
            args = " ".join(str(a) for a in p.get("args") or []) or p.get("exe") or "?"
            node = _node("process", f"process pid {p.get('pid')}", [
                clip(p.get("exe") or "?", middle=True),
                args,
                f"by {_who(actor.get('auid_name') or actor.get('name'), actor.get('auid'))}, "
                f"euid {actor.get('euid')}",
            ], [p.get("exe"), args, _src(p.get("exec_source") or p.get("connect_source"))])
            proc_nodes[(p.get("pid"), p.get("pidversion"))] = node
            col.append(node)
        columns.append(col)
    ssh_nodes, login_nodes = [], []
    for hop in hops:
        fl = hop.get("flow") or {}
        pair = f"{fl.get('src_ip')}:{fl.get('src_port')} → {fl.get('dst_ip')}:{fl.get('dst_port')}"
        link = hop.get("link") or "flow"
        ssh_nodes.append(_node("ssh", "ssh connection", [
            pair, f"to {fl.get('dst_host') or 'unknown host'}",
            f"linked by {link}" + (f", {duration(hop['dt_us'])}" if hop.get("dt_us") is not None
                                   else ""),
        ], [pair, f"to {fl.get('dst_host') or 'unknown host'}", hop.get("join_key"),
            _src(fl.get("source"))]))
        lg = hop.get("login")
        if lg:
            login_nodes.append(_node("login", "login", [
                f"{lg.get('result')} {lg.get('user')} on {lg.get('host')}",
                f"{lg.get('method') or ''} {lg.get('key_fp') or ''}".strip() or None,
                f"{duration(lg.get('dt_us'))} from connection"
                if lg.get("dt_us") is not None else None,
            ], [lg.get("message"), lg.get("join_key"), _src(lg.get("source"))]))
        else:
            text = login_absent_text(hop.get("login_status"))
            login_nodes.append(_node("absent", "login missing", wrap("✗ " + text, lines=3),
                                     [text, f"destination {fl.get('dst_host') or fl.get('dst_ip')}"]))
    if ssh_nodes:
        columns += [ssh_nodes, login_nodes]

    rows = max([len(c) for c in columns] or [1])
    height = PAD * 2 + rows * NODE_H + (rows - 1) * ROW_GAP
    width = PAD * 2 + len(columns) * NODE_W + max(0, len(columns) - 1) * COL_GAP
    for ci, col in enumerate(columns):
        offset = (rows - len(col)) * (NODE_H + ROW_GAP) // 2
        for ri, node in enumerate(col):
            node["x"] = PAD + ci * (NODE_W + COL_GAP)
            node["y"] = PAD + offset + ri * (NODE_H + ROW_GAP)
            node["w"], node["h"] = NODE_W, NODE_H
    edges = []
    if sock_node:
        for node in proc_nodes.values():
            edges.append(_edge(sock_node, node, "edge"))
    last_proc = list(proc_nodes.values())[-1] if proc_nodes else None
    for hop, ssh, login in zip(hops, ssh_nodes, login_nodes, strict=True):
        key = _hop_process(inc, hop)
        start = proc_nodes.get(key) if key else None
        start = start or last_proc or sock_node
        if start is not None:
            edges.append(_edge(start, ssh, "edge"))
        edges.append(_edge(ssh, login, "edge absent" if login["kind"] == "absent" else "edge"))
    nodes = [node for col in columns for node in col]
    return {"id": f"chain-{n}", "width": width, "height": height, "nodes": nodes, "edges": edges}


def _edge(a: dict[str, Any], b: dict[str, Any], cls: str) -> dict[str, Any]:
    x1, y1 = a["x"] + a["w"], a["y"] + a["h"] // 2
    x2, y2 = b["x"] - 6, b["y"] + b["h"] // 2
    mx = (x1 + x2) // 2
    return {"d": f"M{x1} {y1} C{mx} {y1} {mx} {y2} {x2} {y2}", "cls": cls}


BAR_W = 600


def score_bar(contributions: list[dict[str, Any]], score: Any) -> dict[str, Any]:
    """Stacked segments of the positive score contributions on a 0-100 scale."""
    pos = [c for c in contributions if isinstance(c.get("points"), int) and c["points"] > 0]
    total = max(100, sum(c["points"] for c in pos))
    segs, x = [], 0
    for i, c in enumerate(pos):
        w = c["points"] * BAR_W // total
        segs.append({"x": x, "w": w, "n": i % 6, "title": plain(
            f"{c.get('factor')}: +{c['points']}")})
        x += w
    marker = None
    if isinstance(score, int) and not isinstance(score, bool):
        marker = max(0, min(BAR_W, score * BAR_W // total))
    return {"width": BAR_W, "segments": segs, "marker": marker, "n_segments": len(segs)}
