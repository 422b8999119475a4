"""Detections: one module per detection, registered by listing them here.

Each module has ``META`` (a :class:`Detection`) and, for rules that produce rows themselves, a
``signals(tables)`` function returning an Ibis expression in the signal shape of ``_meta``.
The chain rules (``agent_hijack_lateral_ssh``, ``agent_hijack_external_ssh``) produce link
candidates; choosing links and grouping happen in :mod:`agenttrail.incidents`.

:func:`run` materialises the enrichment stages and evaluates everything on one Ibis backend
(DuckDB by default), one compiled statement per stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import ibis

from agenttrail import enrich
from agenttrail.detect import (
    agent_env_foreign_socket,
    agent_hijack_external_ssh,
    agent_hijack_lateral_ssh,
    agent_socket_cross_user,
    agent_socket_owner_unknown,
    ssh_flow_without_login,
)
from agenttrail.detect._meta import Detection, Tables

if TYPE_CHECKING:
    import pyarrow as pa
    from ibis.backends import BaseBackend
    from ibis.expr.types import Table

    from agenttrail.config import Settings

#: Every detection, in catalogue order.
DETECTIONS: tuple[ModuleType, ...] = (
    agent_socket_cross_user,
    agent_env_foreign_socket,
    agent_hijack_lateral_ssh,
    agent_hijack_external_ssh,
    ssh_flow_without_login,
    agent_socket_owner_unknown,
)

CATALOGUE: dict[str, Detection] = {m.META.id: m.META for m in DETECTIONS}

#: Detections whose signals can seed a chain.
SEEDS = (agent_socket_cross_user, agent_env_foreign_socket, agent_socket_owner_unknown)


@dataclass
class Detected:
    """What the detections found, as Arrow tables."""

    signals: pa.Table
    links: pa.Table
    flow_eval: pa.Table
    owner: pa.Table
    proc: pa.Table
    flow: pa.Table
    sock_ev: pa.Table  # socket connects with owner and acting principal (coverage, inventory)


def _materialise(backend: BaseBackend, name: str, expr: Table) -> Table:
    return backend.create_table(name, expr, overwrite=True)


def run(backend: BaseBackend, tables: dict[str, pa.Table], settings: Settings) -> Detected:
    """Load the normalised tables, enrich, and evaluate every detection."""
    t = {
        name: backend.create_table(f"n_{name}", tables[name], overwrite=True)
        for name in ("process", "socket", "session", "flow", "login", "source_span", "asset",
                     "user", "sockpath", "dns")
    }
    proc = _materialise(backend, "e_proc", enrich.proc(t["process"]))
    owner = _materialise(
        backend, "e_owner", enrich.owner(t["sockpath"], t["socket"], t["process"], t["user"])
    )
    ua = _materialise(backend, "e_user_asid", enrich.user_asid(t["session"], t["process"]))
    flow = _materialise(backend, "e_flow", enrich.flow_attr(t["flow"], t["asset"]))
    flow_src = _materialise(
        backend, "e_flow_src", enrich.flow_src_candidates(t["flow"], t["asset"])
    )
    sock = _materialise(backend, "e_sock_ev", enrich.sock_ev(t["socket"], owner, ua, proc))
    tabs = Tables(
        proc=proc, owner=owner, sock_ev=sock, flow=flow, login=t["login"],
        span=t["source_span"], user_asid=ua, asset=t["asset"], process=t["process"],
        dns=t["dns"], flow_src=flow_src, settings=settings,
    )
    seed_exprs = [m.signals(tabs) for m in SEEDS]
    seeds = _materialise(backend, "d_seeds", ibis.union(*seed_exprs))
    links = agent_hijack_lateral_ssh.links(tabs, seeds)
    ev = _materialise(backend, "d_flow_eval", ssh_flow_without_login.evaluate(tabs))
    absence = ssh_flow_without_login.signals(tabs, ev)
    signals = ibis.union(seeds, absence)
    return Detected(
        signals=signals.to_pyarrow(),
        links=links.to_pyarrow(),
        flow_eval=ev.to_pyarrow(),
        owner=owner.to_pyarrow(),
        proc=proc.to_pyarrow(),
        flow=flow.to_pyarrow(),
        sock_ev=sock.to_pyarrow(),
    )
