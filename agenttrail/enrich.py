"""Enrichment that needs every file, written once in the portable Ibis subset (DESIGN §2).

Stages (each materialised as a table by :func:`run`):

* ``proc``: exec images with their lifetime (exit time), acting principal and parent image;
* ``owner``: the owner of every socket path per host, with the evidence that decided it (§4);
* ``user_asid``: audit sessions that belong to a user on a host (logins and own processes);
* ``flow_attr``: flows with the source and destination host their addresses map to at the flow's
  start (assets with validity; ``ambiguous`` when more than one host matches);
* ``sock_ev``: socket connects with owner, principal and whether the actor acts for the owner.

Time windows are integer microseconds on the ``*_us`` columns: exact, and the same on DuckDB and
Spark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
from ibis import _

if TYPE_CHECKING:
    from ibis.expr.types import BooleanValue, IntegerValue, Table

SYSTEM = "system"


def principal(t: Table) -> tuple[IntegerValue, ibis.Value]:
    """Acting principal (DESIGN §4): auid when set; else euid unless 0 (then system = NULL)."""
    uid = ibis.cases((t.auid_set, t.auid), (t.euid != 0, t.euid), else_=ibis.null("int64"))
    kind = ibis.cases(
        (t.auid_set, "audit"), (t.euid != 0, "euid"), else_=ibis.literal(SYSTEM)
    )
    return uid, kind


def proc(process: Table) -> Table:
    """Exec images with exit time and principal; one row per (host, pid, pidversion)."""
    execs = process.filter(process.action == "exec")
    exits = (
        process.filter(process.action == "exit")
        .group_by(["host", "pid", "pidversion"])
        .aggregate(exit_us=_.t_us.min())
    )
    j = execs.left_join(
        exits,
        [execs.host == exits.host, execs.pid == exits.pid, execs.pidversion == exits.pidversion],
    )
    uid, kind = principal(execs)
    return j.select(
        host=execs.host,
        pid=execs.pid,
        pidversion=execs.pidversion,
        ppid=execs.ppid,
        parent_pidversion=execs.parent_pidversion,
        exec_us=execs.t_us,
        exit_us=exits.exit_us,
        row_id=execs.row_id,
        exe=execs.exe,
        euid=execs.euid,
        ruid=execs.ruid,
        auid=execs.auid,
        asid=execs.asid,
        sudo_uid=execs.sudo_uid,
        principal_uid=uid,
        principal_kind=kind,
        agent_client=execs.agent_client,
        agent_path=execs.agent_path,
        ssh_dest_host=execs.ssh_dest_host,
        ssh_dest_ip_hi=execs.ssh_dest_ip_hi,
        ssh_dest_ip_lo=execs.ssh_dest_ip_lo,
        ssh_dest_port=execs.ssh_dest_port,
        exe_class=execs.exe_class,
        exe_location=execs.exe_location,
        code_signature=execs.code_signature,
        platform_binary=execs.platform_binary,
        team_id=execs.team_id,
        signing_id=execs.signing_id,
    )


def owner(sockpath: Table, socket: Table, process: Table, user: Table) -> Table:
    """The owner of each (host, socket path), in the order of trust of DESIGN §4.

    ``stat.st_uid`` in a connect event; the directory owner in a bind event; the user whose own
    non-elevated processes carry the path in ``SSH_AUTH_SOCK``; the user named by the path. A
    root (0) owner from stat or directory loses to non-root directory or environment evidence
    (launchd ``Listeners``); ``owner_conflict`` says so.
    """
    conn = socket.filter(socket.action == "connect")
    st = conn.group_by(["host", "socket_path"]).aggregate(
        st_nonroot=ibis.cases((conn.st_uid != 0, conn.st_uid)).max(),
        st_nonroot_min=ibis.cases((conn.st_uid != 0, conn.st_uid)).min(),
        st_root=(conn.st_uid == 0).any(),
    )
    binds = socket.filter(socket.action == "bind")
    dr = binds.group_by(["host", "socket_path"]).aggregate(
        dir_nonroot=ibis.cases((binds.dir_uid != 0, binds.dir_uid)).max(),
        dir_root=(binds.dir_uid == 0).any(),
        binder_asid=binds.asid.max(),
    )
    own = process.filter(
        (process.action == "exec")
        & process.agent_path.notnull()
        & (process.euid != 0)
        & (process.ruid == process.euid)
        & (process.auid.isnull() | (process.auid == process.euid))
    )
    env = own.group_by(["host", own.agent_path.name("socket_path")]).aggregate(
        env_min=own.euid.min(), env_max=own.euid.max()
    )
    s = sockpath
    j = (
        s.left_join(st, [s.host == st.host, s.socket_path == st.socket_path])
        .select(s, st.st_nonroot, st.st_nonroot_min, st.st_root)
    )
    j = j.left_join(dr, [j.host == dr.host, j.socket_path == dr.socket_path]).select(
        j, dr.dir_nonroot, dr.dir_root, dr.binder_asid
    )
    j = j.left_join(env, [j.host == env.host, j.socket_path == env.socket_path]).select(
        j, env.env_min, env.env_max
    )
    j = j.left_join(user, [j.host == user.host, j.path_user == user.name]).select(
        j, user.uid.name("named_uid")
    )
    env_uid = ibis.cases((j.env_min == j.env_max, j.env_min), else_=ibis.null("int64"))
    path_uid = j.path_uid.coalesce(j.named_uid)
    st_uid = ibis.cases(
        (j.st_nonroot == j.st_nonroot_min, j.st_nonroot), else_=ibis.null("int64")
    )
    owner_uid = ibis.cases(
        (st_uid.notnull(), st_uid),
        (j.dir_nonroot.notnull(), j.dir_nonroot),
        (env_uid.notnull(), env_uid),
        (path_uid.notnull(), path_uid),
        (j.st_root.fill_null(False) | j.dir_root.fill_null(False), ibis.literal(0, "int64")),
        else_=ibis.null("int64"),
    )
    origin = ibis.cases(
        (st_uid.notnull(), "stat"),
        (j.dir_nonroot.notnull(), "bind_dir"),
        (env_uid.notnull(), "env"),
        (path_uid.notnull(), "path"),
        (j.st_root.fill_null(False), "stat"),
        (j.dir_root.fill_null(False), "bind_dir"),
        else_=ibis.null("string"),
    )
    conflict = (j.st_root.fill_null(False) & st_uid.isnull() & owner_uid.notnull()
                & (owner_uid != 0))
    return j.select(
        "host",
        "socket_path",
        "socket_kind",
        "socket_scope",
        "platform",
        "binder_asid",
        owner_uid=owner_uid,
        owner_origin=origin,
        owner_conflict=conflict,
    )


def user_asid(session: Table, process: Table) -> Table:
    """Audit sessions that belong to a user on a host."""
    logins = session.filter(
        session.uid.notnull() & session.asid.notnull() & session.success.fill_null(True)
        & (session.kind != "sudo") & (session.kind != "su")
    ).select("host", "uid", "asid")
    own = process.filter(process.auid_set & process.asid.notnull()).select(
        "host", uid=process.auid, asid=process.asid
    )
    return logins.union(own, distinct=True)


def acts_for(
    t: Table, ua: Table, uid_col: str, asid_col: str, owner_col: str
) -> tuple[Table, BooleanValue]:
    """Join ``t`` with the owner's audit sessions; return it and the "acts for owner" test."""
    ua2 = ua.select(ua_host=ua.host, ua_uid=ua.uid, ua_asid=ua.asid, ua_hit=ibis.literal(True))
    j = t.left_join(
        ua2,
        [t.host == ua2.ua_host, t[owner_col] == ua2.ua_uid, t[asid_col] == ua2.ua_asid],
    ).drop("ua_host", "ua_uid", "ua_asid")
    test = (j[uid_col] == j[owner_col]).fill_null(False) | j.ua_hit.fill_null(False)
    return j, test


def _in_range(hi: IntegerValue, lo: IntegerValue, a: Table) -> BooleanValue:
    after_start = (hi > a.start_hi) | ((hi == a.start_hi) & (lo >= a.start_lo))
    before_end = (hi < a.end_hi) | ((hi == a.end_hi) & (lo <= a.end_lo))
    return after_start & before_end


def _valid(a: Table, t_us: IntegerValue) -> BooleanValue:
    return (a.valid_from_us.isnull() | (a.valid_from_us <= t_us)) & (
        a.valid_to_us.isnull() | (a.valid_to_us >= t_us)
    )


def attribute(flow: Table, asset: Table, side: str) -> Table:
    """Host of the flow's ``side`` (src or dst) address at the flow's start, per flow row.

    Returns ``row_id``, ``host`` (NULL when unknown) and ``n_hosts`` (>1: ambiguous).
    """
    a = asset
    hi, lo = flow[f"{side}_ip_hi"], flow[f"{side}_ip_lo"]
    j = flow.join(a, [_in_range(hi, lo, a), _valid(a, flow.start_us)]).select(
        flow.row_id, a.host
    )
    return j.group_by("row_id").aggregate(
        host=j.host.min(), n_hosts=j.host.nunique()
    )


def flow_attr(flow: Table, asset: Table) -> Table:
    """Flows with ``src_host``/``dst_host`` attributed through assets.

    An address that maps to several hosts at the flow's start is ambiguous: the host is left
    NULL (``*_ambiguous`` says why), so nothing is attributed by guess; chains through such a flow
    need lineage, which uses :func:`flow_src_candidates` (DESIGN §3).
    """
    src = attribute(flow, asset, "src")
    dst = attribute(flow, asset, "dst")
    f = flow.drop("src_host", "dst_host")
    j = f.left_join(src, f.row_id == src.row_id).select(
        f, src_host=ibis.cases((src.n_hosts == 1, src.host), else_=ibis.null("string")),
        src_ambiguous=(src.n_hosts > 1).fill_null(False),
    )
    return j.left_join(dst, j.row_id == dst.row_id).select(
        j, dst_host=ibis.cases((dst.n_hosts == 1, dst.host), else_=ibis.null("string")),
        dst_ambiguous=(dst.n_hosts > 1).fill_null(False),
    )


def flow_src_candidates(flow: Table, asset: Table) -> Table:
    """Every host the flow's source address maps to at its start: ``row_id``, ``cand_host``."""
    a = asset
    j = flow.join(a, [_in_range(flow.src_ip_hi, flow.src_ip_lo, a), _valid(a, flow.start_us)])
    return j.select(row_id=flow.row_id, cand_host=a.host).distinct()


def sock_ev(socket: Table, own: Table, ua: Table, procs: Table) -> Table:
    """Socket connects with owner, principal, the exec image's env and "acts for owner"."""
    c = socket.filter(socket.action == "connect")
    replaced = ("socket_kind", "socket_scope", "socket_owner_uid", "owner_origin")
    j = c.left_join(own, [c.host == own.host, c.socket_path == own.socket_path]).select(
        *[c[x] for x in c.columns if x not in replaced],
        socket_kind=own.socket_kind.coalesce(c.socket_kind),
        socket_scope=own.socket_scope.coalesce(c.socket_scope),
        owner_uid=own.owner_uid,
        owner_origin=own.owner_origin,
        owner_conflict=own.owner_conflict,
    )
    uid, kind = principal(j)
    j = j.mutate(principal_uid=uid, principal_kind=kind)
    p = procs.select(
        p_host=procs.host,
        p_pid=procs.pid,
        p_pidversion=procs.pidversion,
        sudo_uid=procs.sudo_uid,
        exec_us=procs.exec_us,
        exit_us=procs.exit_us,
        exe_location_p=procs.exe_location,
    )
    j = j.left_join(
        p, [j.host == p.p_host, j.pid == p.p_pid, j.pidversion == p.p_pidversion]
    ).drop("p_host", "p_pid", "p_pidversion")
    j, test = acts_for(j, ua, "principal_uid", "asid", "owner_uid")
    return j.mutate(acts_for_owner=test).drop("ua_hit")
