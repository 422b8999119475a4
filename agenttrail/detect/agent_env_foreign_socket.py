"""An agent-using program starts with SSH_AUTH_SOCK or IdentityAgent naming another user's socket.

Example: root with auid 502 execs ``/usr/bin/ssh alice@db1`` with
``SSH_AUTH_SOCK=/tmp/com.apple.launchd.AbCdEfGhIj/Listeners`` (owned by uid 501).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from agenttrail.detect._meta import SEVERITY, Detection, as_signals, severity_by_code
from agenttrail.enrich import acts_for

if TYPE_CHECKING:
    from ibis.expr.types import Table

    from agenttrail.detect._meta import Tables

META = Detection(
    id="agent_env_foreign_socket",
    title="Program started with another user's SSH agent socket",
    severity="high",
    summary="An agent-using executable (ssh, scp, sftp, ssh-add, git, rsync, or a process that "
    "then connects to the named socket) starts with SSH_AUTH_SOCK or IdentityAgent naming an "
    "agent socket whose owner it does not act for. Low when a non-root actor (would be refused "
    "by ssh-agent); by code for a system actor. Repeats for the same actor and socket within "
    "incident_gap are folded into the first.",
    requires=("process: exec with environment (SSH_AUTH_SOCK) and argv",),
    false_positives=(
        "sudo keeping SSH_AUTH_SOCK for the owner's own sudo: excluded when auid is the owner",
        "tmux/screen panes with a stale socket of the same user: excluded (same owner)",
    ),
    sigma="single-event rule on process creation: Image in the agent clients and "
    "SSH_AUTH_SOCK in the environment",
    sigma_loss="Sigma has no owner of the named socket; SIEM process events rarely carry the "
    "environment",
)


def signals(t: Tables) -> Table:
    """One signal per offending exec."""
    p = t.proc
    own = t.owner
    conn = t.sock_ev.select(
        c_host="host", c_pid="pid", c_pv="pidversion", c_path="socket_path",
        c_hit=ibis.literal(True),
    ).distinct()
    j = p.filter(p.agent_path.notnull()).join(
        own, [p.host == own.host, p.agent_path == own.socket_path]
    ).select(p, owner_uid=own.owner_uid, owner_origin=own.owner_origin,
             owner_conflict=own.owner_conflict, socket_scope=own.socket_scope,
             socket_kind=own.socket_kind)
    j = j.left_join(
        conn,
        [j.host == conn.c_host, j.pid == conn.c_pid, j.pidversion == conn.c_pv,
         j.agent_path == conn.c_path],
    ).drop("c_host", "c_pid", "c_pv", "c_path")
    j, test = acts_for(j, t.user_asid, "principal_uid", "asid", "owner_uid")
    hit = j.filter(
        (j.socket_kind == "agent")
        & j.owner_uid.notnull()
        & ~test
        & (j.agent_client.fill_null(False) | j.c_hit.fill_null(False))
    )
    refused = (hit.principal_kind != "system") & (hit.euid != 0).fill_null(False)
    sev = ibis.cases((refused, SEVERITY["low"]), else_=severity_by_code(hit, hit.principal_kind))
    return as_signals(
        hit,
        META.id,
        severity_id=sev,
        status=ibis.literal("final"),
        reason=ibis.cases((refused, "would_be_refused"), else_=hit.principal_kind),
        host=hit.host,
        t_us=hit.exec_us,
        pid=hit.pid,
        pidversion=hit.pidversion,
        exe=hit.exe,
        euid=hit.euid,
        auid=hit.auid,
        asid=hit.asid,
        principal_uid=hit.principal_uid,
        principal_kind=hit.principal_kind,
        socket_path=hit.agent_path,
        socket_scope=hit.socket_scope,
        owner_uid=hit.owner_uid,
        owner_origin=hit.owner_origin,
        owner_conflict=hit.owner_conflict,
        code_signature=hit.code_signature,
        proc_row=hit.row_id,
    )
