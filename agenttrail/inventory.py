"""Where SSH agent use is expected: the inventory of DESIGN §6.

The analytic's mitigation inventory, measured from the data: the agent sockets seen, their
clients by user, the destinations each owner's agent was used for, root and system processes
that touched users' sockets, Macs with more than one user, agents forwarded into Macs (sockets
bound by sshd) and ControlMaster sockets. Each section is a list of rows sorted by the key in
:data:`SECTIONS`; ``report.json`` holds the same document.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agenttrail import __version__
from agenttrail.coverage_sql import registered
from agenttrail.report import inputs_section

if TYPE_CHECKING:
    from collections.abc import Callable

    import duckdb
    import pyarrow as pa

    from agenttrail.config import Settings
    from agenttrail.detect import Detected
    from agenttrail.model import FileAccount

INVENTORY_VERSION = 1

#: Section → (what it lists, the sort key of its rows).
SECTIONS: dict[str, tuple[str, str]] = {
    "agent_sockets": ("agent sockets seen, with owner, scope and first/last seen",
                      "host, path"),
    "socket_clients": ("who used each agent socket: by connect, or by exec with the socket in "
                       "SSH_AUTH_SOCK or IdentityAgent",
                       "host, path, via, principal uid (system first), exe, signing id"),
    "destinations_by_owner": ("SSH destinations (as named in argv) reached with each owner's "
                              "agent", "host, owner uid, destination, port"),
    "root_clients": ("root and system processes that connected to another user's agent or "
                     "control socket", "host, path, exe, signing id, auid"),
    "multi_user_hosts": ("hosts where more than one user logged in (more exposure)", "host"),
    "forwarded_agents": ("agent sockets bound by sshd (agent forwarding into the host)",
                         "host, path"),
    "control_sockets": ("ControlMaster sockets (session reuse without a new login)",
                        "host, path"),
}

_SOCKET_COLUMNS = ("host", "path", "scope", "owner_uid", "owner_name", "owner_origin",
                   "owner_conflict", "bound_by", "connects", "clients", "execs_naming", "binds",
                   "binder_asid", "first_us", "last_us")
#: The keys of each section's rows, in order (also the CSV header).
COLUMNS: dict[str, tuple[str, ...]] = {
    "agent_sockets": _SOCKET_COLUMNS,
    "socket_clients": ("host", "path", "via", "owner_uid", "owner_name", "principal_kind",
                       "principal_uid", "principal_name", "same_user", "acts_for_owner", "exe",
                       "signing_id", "team_id", "code_signature", "events", "first_us",
                       "last_us"),
    "destinations_by_owner": ("host", "owner_uid", "owner_name", "destination", "port",
                              "execs", "by_owner", "by_others", "first_us", "last_us"),
    "root_clients": ("host", "path", "kind", "owner_uid", "owner_name", "principal_kind",
                     "auid", "auid_name", "exe", "signing_id", "team_id", "code_signature",
                     "connects", "first_us", "last_us"),
    "multi_user_hosts": ("host", "platform", "user_count", "users"),
    "forwarded_agents": (*_SOCKET_COLUMNS, "login_source_ip"),
    "control_sockets": _SOCKET_COLUMNS,
}

_NAME = "CASE WHEN {uid} = 0 THEN 'root' ELSE {u}.name END"

# Socket paths: first/last seen over connects, binds and execs that name them.
_SEEN = """
seen AS (
  SELECT host, socket_path, min(t_us) AS first_us, max(t_us) AS last_us,
         count(*) FILTER (WHERE action = 'connect') AS connects,
         count(*) FILTER (WHERE action = 'bind') AS binds,
         count(*) FILTER (WHERE action = 'env') AS execs_naming
  FROM (SELECT host, socket_path, t_us, action FROM inv_socket
        UNION ALL SELECT host, agent_path, exec_us, 'env' FROM inv_proc
        WHERE agent_path IS NOT NULL)
  WHERE host IS NOT NULL AND socket_path IS NOT NULL GROUP BY host, socket_path
), clients AS (
  SELECT host, socket_path,
         count(DISTINCT (principal_kind, principal_uid, exe)) AS clients
  FROM inv_sock_ev WHERE NOT coalesce(agent_infra, false) GROUP BY host, socket_path
)"""

_SOCKETS = f"""
WITH {_SEEN}
SELECT o.host, o.socket_path AS path, o.socket_scope AS scope, o.owner_uid,
       {_NAME.format(uid="o.owner_uid", u="u")} AS owner_name, o.owner_origin,
       coalesce(o.owner_conflict, false) AS owner_conflict, sp.bound_by,
       coalesce(s.connects, 0) AS connects, coalesce(c.clients, 0) AS clients,
       coalesce(s.execs_naming, 0) AS execs_naming, coalesce(s.binds, 0) AS binds,
       o.binder_asid, s.first_us, s.last_us
FROM inv_owner o
JOIN inv_sockpath sp ON sp.host = o.host AND sp.socket_path = o.socket_path
LEFT JOIN seen s ON s.host = o.host AND s.socket_path = o.socket_path
LEFT JOIN clients c ON c.host = o.host AND c.socket_path = o.socket_path
LEFT JOIN inv_user u ON u.host = o.host AND u.uid = o.owner_uid
WHERE o.socket_kind = '{{kind}}' {{extra}}
ORDER BY o.host, o.socket_path
"""

_CLIENTS = f"""
WITH ev AS (
  SELECT host, socket_path, 'connect' AS via, owner_uid, principal_kind, principal_uid, exe,
         signing_id, team_id, code_signature, acts_for_owner, t_us
  FROM inv_sock_ev WHERE socket_kind = 'agent' AND NOT coalesce(agent_infra, false)
  UNION ALL
  SELECT p.host, p.agent_path, 'env', o.owner_uid, p.principal_kind, p.principal_uid, p.exe,
         p.signing_id, p.team_id, p.code_signature, NULL, p.exec_us
  FROM inv_proc p JOIN inv_owner o ON o.host = p.host AND o.socket_path = p.agent_path
  WHERE coalesce(p.agent_client, false) AND o.socket_kind = 'agent'
)
SELECT ev.host, ev.socket_path AS path, ev.via, ev.owner_uid,
       {_NAME.format(uid="ev.owner_uid", u="uo")} AS owner_name,
       ev.principal_kind, ev.principal_uid,
       {_NAME.format(uid="ev.principal_uid", u="up")} AS principal_name,
       coalesce(ev.principal_uid = ev.owner_uid, false) AS same_user,
       bool_and(ev.acts_for_owner) AS acts_for_owner,
       ev.exe, ev.signing_id, ev.team_id, ev.code_signature,
       count(*) AS events, min(ev.t_us) AS first_us, max(ev.t_us) AS last_us
FROM ev
LEFT JOIN inv_user uo ON uo.host = ev.host AND uo.uid = ev.owner_uid
LEFT JOIN inv_user up ON up.host = ev.host AND up.uid = ev.principal_uid
GROUP BY ALL
ORDER BY ev.host, path, ev.via, ev.principal_uid NULLS FIRST, ev.principal_kind,
         ev.exe NULLS FIRST, ev.signing_id NULLS FIRST, ev.team_id NULLS FIRST,
         ev.code_signature NULLS FIRST
"""

_DESTINATIONS = f"""
SELECT p.host, o.owner_uid, {_NAME.format(uid="o.owner_uid", u="u")} AS owner_name,
       p.ssh_dest_host AS destination, p.ssh_dest_port AS port, count(*) AS execs,
       count(*) FILTER (WHERE p.principal_uid = o.owner_uid) AS by_owner,
       count(*) FILTER (WHERE p.principal_uid IS DISTINCT FROM o.owner_uid) AS by_others,
       min(p.exec_us) AS first_us, max(p.exec_us) AS last_us
FROM inv_proc p
JOIN inv_owner o ON o.host = p.host AND o.socket_path = p.agent_path
LEFT JOIN inv_user u ON u.host = p.host AND u.uid = o.owner_uid
WHERE coalesce(p.agent_client, false) AND p.ssh_dest_host IS NOT NULL
  AND o.socket_kind = 'agent'
GROUP BY ALL
ORDER BY p.host, o.owner_uid NULLS FIRST, destination, port NULLS FIRST
"""

_ROOT = f"""
SELECT e.host, e.socket_path AS path, e.socket_kind AS kind, e.owner_uid,
       {_NAME.format(uid="e.owner_uid", u="uo")} AS owner_name, e.principal_kind, e.auid,
       {_NAME.format(uid="e.auid", u="ua")} AS auid_name, e.exe, e.signing_id, e.team_id,
       e.code_signature, count(*) AS connects, min(e.t_us) AS first_us, max(e.t_us) AS last_us
FROM inv_sock_ev e
LEFT JOIN inv_user uo ON uo.host = e.host AND uo.uid = e.owner_uid
LEFT JOIN inv_user ua ON ua.host = e.host AND ua.uid = e.auid
WHERE e.euid = 0 AND e.owner_uid IS NOT NULL AND e.owner_uid <> 0
  AND e.socket_kind IN ('agent', 'control') AND NOT coalesce(e.agent_infra, false)
GROUP BY ALL
ORDER BY e.host, path, e.exe NULLS FIRST, e.signing_id NULLS FIRST, e.auid NULLS FIRST,
         kind, e.principal_kind, e.team_id NULLS FIRST, e.code_signature NULLS FIRST
"""

_USERS = """
WITH u AS (
  SELECT host, uid FROM inv_session
  WHERE uid IS NOT NULL AND uid <> 0 AND coalesce(success, true)
    AND kind IN ('gui', 'login', 'ssh_inbound', 'utmp')
  UNION SELECT host, auid FROM inv_process WHERE auid_set AND auid IS NOT NULL AND auid <> 0
)
SELECT u.host, u.uid, n.name FROM u LEFT JOIN inv_user n ON n.host = u.host AND n.uid = u.uid
WHERE u.host IS NOT NULL ORDER BY u.host, u.uid
"""

_PLATFORM = """
SELECT host, max(platform) FROM (SELECT host, platform FROM inv_process
                                 UNION ALL SELECT host, platform FROM inv_socket)
WHERE host IS NOT NULL GROUP BY host
"""

_FORWARD_LOGIN = """
SELECT s.host, s.asid, min(s.source_ip) FROM inv_session s
WHERE s.kind = 'ssh_inbound' AND s.asid IS NOT NULL AND s.source_ip IS NOT NULL
GROUP BY s.host, s.asid
"""


def _dicts(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    rel = con.sql(sql)
    return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]


def inventory(
    tables: dict[str, pa.Table], found: Detected, con: duckdb.DuckDBPyConnection
) -> dict[str, list[dict[str, Any]]]:
    """The inventory sections, each a sorted list of rows."""
    with registered(
        con, inv_socket=tables["socket"], inv_process=tables["process"],
        inv_session=tables["session"], inv_user=tables["user"], inv_sockpath=tables["sockpath"],
        inv_owner=found.owner, inv_sock_ev=found.sock_ev, inv_proc=found.proc,
    ):
        agent = _dicts(con, _SOCKETS.format(kind="agent", extra=""))
        clients = _dicts(con, _CLIENTS)
        dests = _dicts(con, _DESTINATIONS)
        root = _dicts(con, _ROOT)
        users = con.sql(_USERS).fetchall()
        platform = dict(con.sql(_PLATFORM).fetchall())
        forwarded = _dicts(con, _SOCKETS.format(kind="agent", extra="AND sp.bound_by = 'sshd'"))
        logins = {(h, a): ip for h, a, ip in con.sql(_FORWARD_LOGIN).fetchall()}
        control = _dicts(con, _SOCKETS.format(kind="control", extra=""))
    by_host: dict[str, list[dict[str, Any]]] = {}
    for host, uid, name in users:
        by_host.setdefault(host, []).append({"uid": uid, "name": name})
    multi = [{"host": h, "platform": platform.get(h), "user_count": len(us), "users": us}
             for h, us in sorted(by_host.items()) if len(us) > 1]
    for row in forwarded:
        row["login_source_ip"] = logins.get((row["host"], row["binder_asid"]))
    return {
        "agent_sockets": agent,
        "socket_clients": clients,
        "destinations_by_owner": dests,
        "root_clients": root,
        "multi_user_hosts": multi,
        "forwarded_agents": forwarded,
        "control_sockets": control,
    }


def document(
    sections: dict[str, list[dict[str, Any]]], scope: dict[str, Any],
    accounts: list[FileAccount],
) -> dict[str, Any]:
    """The inventory.json document: sections with what each lists and its sort key."""
    return {
        "inventory_version": INVENTORY_VERSION,
        "tool": {"name": "agenttrail", "version": __version__},
        "scope": scope,
        "sections": {name: {"lists": what, "sorted_by": key}
                     for name, (what, key) in SECTIONS.items()},
        **sections,
        "inputs": inputs_section(accounts),
    }


def run(
    paths: list[str], settings: Settings, progress: Callable[[str], None] | None = None
) -> tuple[dict[str, Any], list[FileAccount]]:
    """Read the inputs and build the inventory document; also return the file accounting."""
    from agenttrail.hunt import analyse, scope_of

    a = analyse(paths, settings, progress)
    try:
        doc = document(inventory(a.tables, a.found, a.con), scope_of(settings),
                       a.ingested.accounts)
    finally:
        a.con.close()
    return doc, a.ingested.accounts
