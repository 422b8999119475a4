"""A hijack seed on a Mac linked to an SSH connection from that Mac to an internal server.

Example: bob's root ``ssh`` connects to alice's agent socket 0.3 s after a Zeek flow
10.10.0.7:50211 → 10.20.0.5:22 started; the ssh's argv names ``alice@db1``, db1 is 10.20.0.5, so
the flow links by lineage, and db1's ``Accepted publickey for alice ... port 50211`` is the login.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from agenttrail.detect._meta import Detection, Param

if TYPE_CHECKING:
    from ibis.expr.types import BooleanValue, Table

    from agenttrail.detect._meta import Tables

META = Detection(
    id="agent_hijack_lateral_ssh",
    title="SSH agent hijack used for lateral movement",
    severity="critical",
    summary="A seed (agent_socket_cross_user, agent_env_foreign_socket) on host H linked to an "
    "SSH connection from H to an internal destination: by lineage (the seed's process or its "
    "ssh child names the destination in argv and the flow starts within its lifetime, from "
    "exec - endpoint_skew) or by host and time (the flow starts within [seed - "
    "pre_auth_window, seed + time_window] and had not ended before seed - endpoint_skew). "
    "Lineage beats time, then the nearest; a flow explained by lineage to another process "
    "acting for the socket's owner is never linked by time. An agent_socket_owner_unknown "
    "connect links by the same rules but keeps its own severity.",
    requires=("socket or process seeds", "flow: SSH flows with source address",
              "asset: the Mac's address at the time"),
    params=(
        Param("time_window", 60, "seed → flow start (s)", "[windows] time_window"),
        Param("pre_auth_window", 30, "a flow may start this long before the seed (s)",
              "[windows] pre_auth_window"),
        Param("endpoint_skew", 5, "endpoint vs flow sensor clock difference (s)",
              "[windows] endpoint_skew"),
    ),
    false_positives=("the owner's own sudo ssh: not a seed (auid is the owner)",),
    sigma="temporal_ordered correlation: agent socket access, then a network connection to "
    "port 22 from the same host within time_window",
    sigma_loss="Sigma needs the same group-by on every step: the process → flow join by argv "
    "destination and lifetime (lineage) and the per-hop keys are lost; only host and time remain",
)


def _dest_matches(q: Table, f: Table) -> BooleanValue:
    by_ip = (q.ssh_dest_ip_hi == f.dst_ip_hi) & (q.ssh_dest_ip_lo == f.dst_ip_lo)
    by_name = q.ssh_dest_host == f.dst_host
    port = q.ssh_dest_port.isnull() | (q.ssh_dest_port == f.dst_port)
    return (by_ip.fill_null(False) | by_name.fill_null(False)) & port


def lineage(t: Tables) -> Table:
    """Every (ssh-family image, flow) pair explained by argv destination and lifetime.

    The destination resolves to the flow's address literally, through the assets (the flow's
    attributed destination host), or through a DNS answer for the argv name that was valid while
    the process ran (an answer seen up to its TTL before the exec, or during the process).
    """
    w = t.settings.windows
    skew = w.endpoint_skew * 1_000_000
    q = t.proc.filter(t.proc.agent_client.fill_null(False))
    ssh = t.flow.filter(t.flow.is_ssh & t.flow.start_us.notnull())
    # one row per (flow, host its source may be): an ambiguous source still links by lineage
    f = ssh.join(t.flow_src, ssh.row_id == t.flow_src.row_id).select(
        ssh.row_id, ssh.start_us, ssh.dst_ip_hi, ssh.dst_ip_lo, ssh.dst_port, ssh.dst_host,
        t.flow_src.cand_host,
    )
    tw = w.time_window * 1_000_000

    def in_life(q: Table, f: Table) -> list[BooleanValue]:
        return [f.cand_host == q.host, f.start_us >= q.exec_us - skew,
                f.start_us <= q.exit_us.coalesce(q.exec_us + tw)]

    def pairs(j: Table, q: Table, f: Table) -> Table:
        return j.select(
            l_host=q.host, l_pid=q.pid, l_pv=q.pidversion, l_ppid=q.ppid,
            l_ppv=q.parent_pidversion, l_principal=q.principal_uid, l_asid=q.asid,
            l_gap=(f.start_us - q.exec_us).abs(), flow_row=f.row_id,
        )

    direct = pairs(q.join(f, [*in_life(q, f), _dest_matches(q, f)]), q, f)
    named = q.filter(q.ssh_dest_ip_hi.isnull() & q.ssh_dest_host.notnull())
    d = t.dns.filter(t.dns.answer_ip_hi.notnull())
    d = d.select(
        d_name=d.query_host, d_label=d.query_label, d_t=d.t_us,
        d_until=d.t_us + d.ttl.coalesce(0) * 1_000_000, d_hi=d.answer_ip_hi, d_lo=d.answer_ip_lo,
    )
    resolved = named.join(
        d,
        [(d.d_name == named.ssh_dest_host) | (d.d_label == named.ssh_dest_host),
         d.d_until >= named.exec_us - skew, d.d_t <= named.exit_us.coalesce(named.exec_us + tw)],
    )
    port = resolved.ssh_dest_port.isnull() | (resolved.ssh_dest_port == f.dst_port)
    by_dns = pairs(
        resolved.join(f, [*in_life(resolved, f), f.dst_ip_hi == resolved.d_hi,
                          f.dst_ip_lo == resolved.d_lo, port]),
        resolved, f,
    )
    return direct.union(by_dns, distinct=True)


def unresolved_owners(t: Tables) -> Table:
    """(process, flow) pairs where the flow may be the process's but cannot be proved so.

    An ssh-family process whose argv names a host that neither the assets nor any DNS answer
    resolve (``git@github.com`` without DNS logs) may own any SSH flow from its host to an
    unattributed address that starts within its lifetime. Such a flow is not linked to another
    seed by time alone: the candidates are ambiguous and are not guessed (DESIGN §5).
    """
    w = t.settings.windows
    skew = w.endpoint_skew * 1_000_000
    tw = w.time_window * 1_000_000
    q = t.proc.filter(t.proc.agent_client.fill_null(False) & t.proc.ssh_dest_host.notnull()
                      & t.proc.ssh_dest_ip_hi.isnull())
    a = t.asset.select(a_host=t.asset.host).distinct()
    d = t.dns.select(d_name=t.dns.query_host, d_label=t.dns.query_label)
    q = q.anti_join(a, q.ssh_dest_host == a.a_host)
    q = q.anti_join(d, (q.ssh_dest_host == d.d_name) | (q.ssh_dest_host == d.d_label))
    f = t.flow.filter(t.flow.is_ssh & t.flow.start_us.notnull() & t.flow.dst_host.isnull())
    j = q.join(f, [f.src_host == q.host, f.start_us >= q.exec_us - skew,
                   f.start_us <= q.exit_us.coalesce(q.exec_us + tw),
                   q.ssh_dest_port.isnull() | (q.ssh_dest_port == f.dst_port)])
    return j.select(
        l_host=q.host, l_pid=q.pid, l_pv=q.pidversion, l_ppid=q.ppid, l_ppv=q.parent_pidversion,
        l_principal=q.principal_uid, l_asid=q.asid, l_gap=ibis.null("int64"), flow_row=f.row_id,
    )


def links(t: Tables, seeds: Table) -> Table:
    """Link candidates: seed key, flow row, link kind (lineage/time) and Δt in µs.

    A flow that another process (not the seed, not its child) explains by lineage is not linked
    to the seed by time, whoever that process acts for: the owner's own ssh, or the actor's ssh
    with their own agent, owns that flow (DESIGN §5 names the owner's case; any explaining process
    is as good a reason). A flow that another process explains by lineage with its exec nearer
    the flow start is not linked to the seed by lineage (two ssh processes to the same server
    from the same Mac: each flow is its own process's). A flow another process may own
    (:func:`unresolved_owners`) is not linked by time either.
    """
    w = t.settings.windows
    lin = lineage(t)
    s = seeds.select(
        "rule_id", "host", "pid", "pidversion", "t_us", "socket_path", "owner_uid",
        "severity_id",
    )
    by_lineage = s.join(
        lin,
        [s.host == lin.l_host,
         ((lin.l_pid == s.pid) & (lin.l_pv == s.pidversion))
         | ((lin.l_ppid == s.pid) & (lin.l_ppv == s.pidversion))],
    ).select(s, flow_row=lin.flow_row, link=ibis.literal("lineage"), gap=lin.l_gap)
    f = t.flow.filter(t.flow.is_ssh & t.flow.start_us.notnull())
    by_time = s.join(
        f,
        [f.src_host == s.host,
         f.start_us >= s.t_us - w.pre_auth_window * 1_000_000,
         f.start_us <= s.t_us + w.time_window * 1_000_000,
         f.end_us.isnull() | (f.end_us >= s.t_us - w.endpoint_skew * 1_000_000)],
    ).select(s, flow_row=f.row_id, link=ibis.literal("time"),
             gap=ibis.null("int64"))
    both = by_lineage.union(by_time)
    owners = lin.union(unresolved_owners(t))
    other = owners.select(
        o_host=owners.l_host, o_pid=owners.l_pid, o_pv=owners.l_pv, o_ppid=owners.l_ppid,
        o_ppv=owners.l_ppv, principal_uid=owners.l_principal, asid=owners.l_asid,
        o_gap=owners.l_gap, o_flow=owners.flow_row,
    )
    bt = both.join(other, [both.host == other.o_host, both.flow_row == other.o_flow])
    not_seed = ~(((bt.o_pid == bt.pid) & (bt.o_pv == bt.pidversion))
                 | ((bt.o_ppid == bt.pid) & (bt.o_ppv == bt.pidversion)))
    # a flow another process (not the seed or its child) explains by lineage is that process's:
    # never the seed's by time alone, whoever that process acts for
    by_other_process = bt.link == "time"
    by_nearer_process = (bt.link == "lineage") & (bt.o_gap < bt.gap).fill_null(False)
    explained = bt.filter(not_seed & (by_other_process | by_nearer_process)).select(
        x_host=bt.host, x_pid=bt.pid, x_pv=bt.pidversion, x_t=bt.t_us, x_rule=bt.rule_id,
        x_flow=bt.flow_row, x_link=bt.link,
    ).distinct()
    both = both.anti_join(
        explained,
        [both.host == explained.x_host, both.pid == explained.x_pid,
         both.pidversion == explained.x_pv, both.t_us == explained.x_t,
         both.rule_id == explained.x_rule, both.flow_row == explained.x_flow,
         both.link == explained.x_link],
    )
    fl = t.flow.select(
        fr=t.flow.row_id, start_us=t.flow.start_us, dst_internal=t.flow.dst_internal,
        src_ambiguous=t.flow.src_ambiguous,
    )
    return both.join(fl, both.flow_row == fl.fr).select(
        "rule_id", "host", "pid", "pidversion", "t_us", "socket_path", "owner_uid",
        "severity_id", "flow_row", "link",
        dt_us=fl.start_us - both.t_us, dst_internal=fl.dst_internal.fill_null(False),
        src_ambiguous=fl.src_ambiguous,
    )
