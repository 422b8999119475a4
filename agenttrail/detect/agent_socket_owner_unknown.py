"""Root or another user connects to an agent-scope socket whose owner cannot be resolved.

Example: a root ``python3`` connects to ``/private/tmp/ssh-AbCdEfGhIj/agent.812`` and no stat,
bind, environment or path evidence names the socket's owner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from agenttrail.detect._meta import SEVERITY, Detection, as_signals

if TYPE_CHECKING:
    from ibis.expr.types import Table

    from agenttrail.detect._meta import Tables

META = Detection(
    id="agent_socket_owner_unknown",
    title="Connect to an agent socket of unknown owner",
    severity="low",
    summary="A root (euid 0) connect to an agent-scope socket whose owner cannot be resolved. "
    "An unknown owner is never silent: it also counts against coverage.",
    requires=("socket: uipc_connect with path",),
    false_positives=("sensors that do not report st_uid: fix the sensor (agenttrail sensors)",),
    sigma="single-event rule on uipc_connect by euid 0 to the agent scope",
    sigma_loss="the export cannot know whether other evidence resolved the owner",
)


def signals(t: Tables) -> Table:
    """One low signal per such connect."""
    s = t.sock_ev
    hit = s.filter(
        (s.socket_kind == "agent")
        & s.owner_uid.isnull()
        & (s.euid == 0).fill_null(False)
        & ~s.agent_infra.fill_null(False)
    )
    return as_signals(
        hit,
        META.id,
        severity_id=ibis.literal(SEVERITY["low"]),
        status=ibis.literal("final"),
        reason=hit.principal_kind,
        host=hit.host,
        t_us=hit.t_us,
        pid=hit.pid,
        pidversion=hit.pidversion,
        exe=hit.exe,
        euid=hit.euid,
        auid=hit.auid,
        asid=hit.asid,
        principal_uid=hit.principal_uid,
        principal_kind=hit.principal_kind,
        socket_path=hit.socket_path,
        socket_scope=hit.socket_scope,
        code_signature=hit.code_signature,
        sock_row=hit.row_id,
    )
