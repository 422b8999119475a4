"""A process connects to an agent socket whose owner it does not act for.

Example: bob (auid 502) becomes root and runs ``ssh`` with ``SSH_AUTH_SOCK`` set to alice's
``/private/tmp/com.apple.launchd.AbCdEfGhIj/Listeners``; eslogger's ``uipc_connect`` by that ssh
(euid 0, auid 502) to a socket whose ``st_uid`` is 501 fires this rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from agenttrail.detect._meta import Detection, as_signals, severity_by_code

if TYPE_CHECKING:
    from ibis.expr.types import Table

    from agenttrail.detect._meta import Tables

META = Detection(
    id="agent_socket_cross_user",
    title="Connect to another user's SSH agent socket",
    severity="high",
    summary="A connect to an agent socket by a process that does not act for its owner "
    "(principal = auid when set, else euid unless 0; or the owner's audit session). A system "
    "actor (euid 0, no auid) is medium for an Apple platform binary, high for unsigned, ad-hoc "
    "or user-writable code, low when SUDO_UID names the owner (delegated, unverified).",
    requires=("socket: uipc_connect with path and st_uid", "process: exec with audit token"),
    false_positives=(
        "root management agents (Jamf, MDM) touching user sockets: allowlist by team id",
        "sudo -E by the owner with auid unset: low (delegated, unverified)",
    ),
    sigma="single-event rule on uipc_connect: path matches the agent scope and euid != st_uid",
    sigma_loss="Sigma cannot resolve the owner from bind or environment evidence, nor compare "
    "the audit user with the owner; the export uses st_uid only",
)


def signals(t: Tables) -> Table:
    """One signal per offending connect."""
    s = t.sock_ev
    hit = s.filter(
        (s.socket_kind == "agent")
        & s.owner_uid.notnull()
        & ~s.acts_for_owner
        & ~s.agent_infra.fill_null(False)
    )
    return as_signals(
        hit,
        META.id,
        severity_id=severity_by_code(hit, hit.principal_kind),
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
        owner_uid=hit.owner_uid,
        owner_origin=hit.owner_origin,
        owner_conflict=hit.owner_conflict,
        code_signature=hit.code_signature,
        sock_row=hit.row_id,
    )
