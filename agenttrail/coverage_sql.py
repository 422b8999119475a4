"""The measurements behind coverage: DuckDB SQL over the normalised and enriched tables.

:class:`Measurements` runs every query once and keeps the results per host, so the step
builders (:mod:`agenttrail.coverage_steps`) only read dictionaries. Times are epoch µs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.addr import network_range, parse_network
from agenttrail.normalise import internal_networks
from agenttrail.readers._eslogger_sql import PROCESS_EVENTS, SESSION_EVENTS, SOCKET_EVENTS

if TYPE_CHECKING:
    import duckdb

    from agenttrail.config import Settings
    from agenttrail.detect import Detected
    from agenttrail.model import FileAccount

#: A share of events carrying a field at or above this counts as complete.
COMPLETE = 0.99
#: Silences in a host's process events at least this long are listed as gaps (µs).
GAP_MIN_US = 15 * 60 * 1_000_000
#: How many of the largest gaps are listed per host.
GAPS_LISTED = 5
#: A telemetry span may pass the flow sensor's span by this much before it counts as uncovered.
SPAN_SLACK_US = 5 * 60 * 1_000_000
#: Not-evaluable flows listed per destination in coverage.json (all are counted).
MAX_LISTED = 1000

#: An exec carried an environment: the count the reader reports, else any kept variable.
WITH_ENV = (
    "coalesce(env_count > 0, auth_sock_raw IS NOT NULL OR env_user IS NOT NULL "
    "OR env_logname IS NOT NULL OR env_home IS NOT NULL OR env_tmpdir IS NOT NULL "
    "OR sudo_user IS NOT NULL OR sudo_uid IS NOT NULL OR ssh_connection IS NOT NULL "
    "OR ssh_client IS NOT NULL)"
)

#: Endpoint event names (eslogger's) whose drops weaken each step.
DROP_EVENTS: dict[str, tuple[str, ...]] = {
    "socket_access": SOCKET_EVENTS,
    "exec_env": PROCESS_EVENTS,
    "process_flow_link": PROCESS_EVENTS,
    "session_context": SESSION_EVENTS,
}

#: The cheap counts ``hunt`` keeps in report.json.
ENDPOINT_COUNTS = f"""
SELECT host, 'execs' AS k, count(*) AS n FROM process WHERE action = 'exec' GROUP BY host
UNION ALL SELECT host, 'execs_with_env', count(*) FROM process
  WHERE action = 'exec' AND {WITH_ENV} GROUP BY host
UNION ALL SELECT host, 'connects', count(*) FROM socket WHERE action = 'connect' GROUP BY host
UNION ALL SELECT host, 'connects_with_st_uid', count(*) FROM socket
  WHERE action = 'connect' AND st_uid IS NOT NULL GROUP BY host
UNION ALL SELECT host, 'agent_connects', count(*) FROM socket
  WHERE action = 'connect' AND socket_kind = 'agent' GROUP BY host
UNION ALL SELECT host, 'sessions', count(*) FROM session GROUP BY host
"""

_PROC = f"""
SELECT host,
  count(*) FILTER (WHERE action = 'exec') AS execs,
  count(*) FILTER (WHERE action = 'exec' AND {WITH_ENV}) AS execs_with_env,
  count(*) FILTER (WHERE action = 'exec' AND agent_client) AS client_execs,
  count(*) FILTER (WHERE action = 'exec' AND agent_client AND {WITH_ENV})
    AS client_execs_with_env,
  count(*) FILTER (WHERE action = 'exec' AND agent_client AND ssh_dest_host IS NOT NULL)
    AS client_execs_with_destination,
  count(*) FILTER (WHERE action = 'exec' AND agent_path IS NOT NULL) AS execs_naming_agent,
  count(*) AS process_events,
  count(*) FILTER (WHERE auid_set) AS with_audit_user,
  min(t_us) AS first_us, max(t_us) AS last_us,
  min(t_us) FILTER (WHERE action = 'exec') AS first_exec_us,
  max(t_us) FILTER (WHERE action = 'exec') AS last_exec_us
FROM cov_process WHERE host IS NOT NULL GROUP BY host
"""

_SOCK = """
SELECT s.host,
  count(*) FILTER (WHERE s.action = 'connect') AS connects,
  count(*) FILTER (WHERE s.action = 'connect' AND s.st_uid IS NOT NULL) AS connects_with_st_uid,
  count(*) FILTER (WHERE s.action = 'connect' AND coalesce(o.socket_kind, s.socket_kind) = 'agent')
    AS agent_connects,
  count(*) FILTER (WHERE s.action = 'connect' AND coalesce(o.socket_kind, s.socket_kind) = 'agent'
                   AND o.owner_uid IS NOT NULL) AS agent_connects_with_owner,
  count(*) FILTER (WHERE s.action = 'bind') AS binds,
  min(s.t_us) AS first_us, max(s.t_us) AS last_us
FROM cov_socket s LEFT JOIN cov_owner o ON s.host = o.host AND s.socket_path = o.socket_path
WHERE s.host IS NOT NULL GROUP BY s.host
"""

_SESS = """
SELECT host, kind, count(*) AS n, min(t_us) AS first_us, max(t_us) AS last_us
FROM cov_session WHERE host IS NOT NULL GROUP BY host, kind
"""

_SESS_USERS = """
SELECT host, count(DISTINCT uid) FROM cov_session
WHERE host IS NOT NULL AND uid IS NOT NULL AND coalesce(success, true) GROUP BY host
"""

_HOST_FACTS = """
WITH ev AS (
  SELECT host, t_us, platform, src_format FROM cov_process
  UNION ALL SELECT host, t_us, platform, src_format FROM cov_socket
  UNION ALL SELECT host, t_us, NULL, src_format FROM cov_session
)
SELECT host, min(t_us) AS first_us, max(t_us) AS last_us, count(*) AS events,
       max(platform) AS platform, list(DISTINCT src_format ORDER BY src_format) AS formats
FROM ev WHERE host IS NOT NULL GROUP BY host
"""

_GAPS = """
WITH g AS (
  SELECT host, t_us, t_us - lag(t_us) OVER (PARTITION BY host ORDER BY t_us) AS gap
  FROM cov_process WHERE host IS NOT NULL AND t_us IS NOT NULL
), big AS (SELECT * FROM g WHERE gap >= {gap_min})
SELECT host, t_us - gap AS from_us, t_us AS to_us, count(*) OVER (PARTITION BY host) AS n
FROM big
QUALIFY row_number() OVER (PARTITION BY host ORDER BY gap DESC, t_us) <= {listed}
ORDER BY host, from_us
"""

_FLOWS_FROM = """
SELECT src_host AS host,
  count(*) AS ssh_flows,
  count(*) FILTER (WHERE coalesce(saw_syn, true)) AS session_starts,
  count(*) FILTER (WHERE dst_internal) AS to_internal,
  count(DISTINCT coalesce(dst_host, dst_ip)) FILTER (WHERE dst_internal) AS internal_destinations,
  count(*) FILTER (WHERE src_port IS NULL) AS without_source_port,
  count(*) FILTER (WHERE src_ambiguous) AS ambiguous_source,
  min(start_us) AS first_us, max(start_us) AS last_us
FROM cov_flows WHERE is_ssh AND coalesce(ssh_evidence, '') <> 'login' AND src_host IS NOT NULL
GROUP BY src_host
"""

_FLOWS_TO = """
SELECT coalesce(f.dst_host, f.dst_ip) AS dest, f.dst_host IS NOT NULL AS known,
  count(*) AS session_starts,
  count(DISTINCT f.src_ip) AS sources,
  count(*) FILTER (WHERE f.dst_ambiguous) AS ambiguous_destination,
  min(f.start_us) AS first_us, max(f.start_us) AS last_us
FROM cov_eval e JOIN cov_flows f ON f.row_id = e.flow_row
WHERE e.internal AND coalesce(f.dst_host, f.dst_ip) IS NOT NULL
GROUP BY ALL
"""

_SENSOR_SPAN = """
SELECT min(start_us), max(greatest(start_us, coalesce(end_us, start_us))) FROM cov_flows
"""

_EVAL = """
SELECT f.src_host, coalesce(f.dst_host, f.dst_ip) AS dest, f.dst_host IS NOT NULL AS known,
       e.status, e.reason, count(*) AS n, max(e.skew_us) AS skew_us, max(e.tol_us) AS tol_us
FROM cov_eval e JOIN cov_flows f ON f.row_id = e.flow_row
WHERE e.internal AND coalesce(f.ssh_evidence, '') <> 'login'  -- flows made from login records
GROUP BY ALL
"""

_NOT_EVALUABLE = """
SELECT coalesce(f.dst_host, f.dst_ip) AS dest, f.start_us, f.src_ip, f.src_port, f.src_host,
       f.dst_ip, f.dst_port, e.reason, e.authenticated, f.flow_uid, f.src_file, f.src_line,
       count(*) OVER (PARTITION BY coalesce(f.dst_host, f.dst_ip)) AS total
FROM cov_eval e JOIN cov_flows f ON f.row_id = e.flow_row
WHERE e.internal AND e.status = 'not_evaluable' AND coalesce(f.ssh_evidence, '') <> 'login'
QUALIFY row_number() OVER (PARTITION BY coalesce(f.dst_host, f.dst_ip)
                           ORDER BY f.start_us, f.src_ip, f.src_port, f.row_id) <= {listed}
ORDER BY dest, f.start_us, f.src_ip, f.src_port, f.row_id
"""

_LOGINS = """
SELECT host, count(*) AS records,
  count(*) FILTER (WHERE src_port IS NOT NULL) AS with_source_port,
  count(*) FILTER (WHERE src_port IS NOT NULL AND server_ip IS NOT NULL)
    AS with_server_address,
  count(*) FILTER (WHERE result = 'accepted') AS accepted,
  count(*) FILTER (WHERE coalesce(year_inferred, false)) AS year_inferred
FROM cov_login WHERE host IS NOT NULL GROUP BY host
"""

_SOURCES = """
SELECT host, source, format, list(DISTINCT program ORDER BY program) AS programs,
       min(first_t_us) AS first_us, max(last_t_us) AS last_us, sum(records) AS records,
       sum(sshd_records) AS sshd_records
FROM cov_span WHERE host IS NOT NULL GROUP BY host, source, format
ORDER BY host, source, format
"""

_IN_NETS = """EXISTS (SELECT 1 FROM cov_nets n WHERE
      (l.src_ip_hi > n.s_hi OR (l.src_ip_hi = n.s_hi AND l.src_ip_lo >= n.s_lo))
  AND (l.src_ip_hi < n.e_hi OR (l.src_ip_hi = n.e_hi AND l.src_ip_lo <= n.e_lo)))"""

#: Accepted logins from internal addresses, inside the flow sensor's span, with no flow from
#: that (source address, source port) starting in [t - login_grace - tol, t + tol].
_LOGINS_WITHOUT_FLOW = f"""
SELECT l.host, count(*) AS checked,
  count(*) FILTER (WHERE NOT EXISTS (
    SELECT 1 FROM cov_flows f WHERE f.src_ip_hi = l.src_ip_hi AND f.src_ip_lo = l.src_ip_lo
      AND f.src_port = l.src_port
      AND f.start_us BETWEEN l.t_us - {{before}} AND l.t_us + {{after}})) AS without_flow
FROM cov_login l
WHERE l.host IS NOT NULL AND l.result = 'accepted' AND l.src_port IS NOT NULL
  AND l.t_us BETWEEN {{first}} AND {{last}} AND {_IN_NETS}
GROUP BY l.host
"""

#: SSH session starts from a host inside the span of its endpoint telemetry, and how many of
#: them have an ssh-family (or agent-client) exec on that host in [start - time_window,
#: start + endpoint_skew].
_PROCESS_FLOW_LINK = """
WITH sp AS (
  SELECT host, min(t_us) AS first_us, max(t_us) AS last_us FROM (
    SELECT host, t_us FROM cov_process UNION ALL SELECT host, t_us FROM cov_socket
    UNION ALL SELECT host, t_us FROM cov_session)
  WHERE host IS NOT NULL GROUP BY host)
SELECT f.src_host AS host, count(*) AS flows_in_span,
  count(*) FILTER (WHERE EXISTS (
    SELECT 1 FROM cov_proc p WHERE p.host = f.src_host
      AND (p.exe_class = 'ssh_family' OR coalesce(p.agent_client, false))
      AND p.exec_us BETWEEN f.start_us - {before} AND f.start_us + {after})) AS with_process
FROM cov_flows f JOIN sp ON sp.host = f.src_host
WHERE f.is_ssh AND coalesce(f.ssh_evidence, '') <> 'login' AND coalesce(f.saw_syn, true)
  AND f.start_us BETWEEN sp.first_us AND sp.last_us
GROUP BY f.src_host
"""

#: Hosts whose address ranges overlap over a stretch of time (a hand-over at one instant, the
#: end of one interval being the start of the next, is not sharing).
_SHARED = """
SELECT DISTINCT a.host, b.host AS other FROM cov_asset a JOIN cov_asset b
  ON a.host <> b.host
 AND (a.start_hi < b.end_hi OR (a.start_hi = b.end_hi AND a.start_lo <= b.end_lo))
 AND (b.start_hi < a.end_hi OR (b.start_hi = a.end_hi AND b.start_lo <= a.end_lo))
 AND (a.valid_from_us IS NULL OR b.valid_to_us IS NULL OR a.valid_from_us < b.valid_to_us)
 AND (b.valid_from_us IS NULL OR a.valid_to_us IS NULL OR b.valid_from_us < a.valid_to_us)
ORDER BY a.host, other
"""


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **tables: pa.Table) -> Iterator[None]:
    """Register Arrow tables under the given names for the duration of a block."""
    for name, table in tables.items():
        con.register(name, table)
    try:
        yield
    finally:
        for name in tables:
            con.unregister(name)


def _dicts(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    rel = con.sql(sql)
    cols = rel.columns
    return [dict(zip(cols, row, strict=True)) for row in rel.fetchall()]


def _nets(settings: Settings, asset: pa.Table) -> pa.Table:
    """Internal networks as address ranges (the assets too when the networks are defaulted)."""
    rows = [network_range(parse_network(c)) for c in internal_networks(settings)]
    if settings.internal_defaulted and asset.num_rows:
        rows += list(zip(*(asset.column(c).to_pylist()
                           for c in ("start_hi", "start_lo", "end_hi", "end_lo")), strict=True))
    cols = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    return pa.table({name: pa.array(list(col), pa.int64())
                     for name, col in zip(("s_hi", "s_lo", "e_hi", "e_lo"), cols, strict=True)})


def sensor_flows(flow: pa.Table) -> pa.Table:
    """The flows a flow sensor recorded: not those made from login records (``ssh_evidence``
    'login'), which would measure the login logs against themselves."""
    if flow.num_rows == 0:
        return flow
    made = pc.fill_null(pc.equal(flow.column("ssh_evidence"), "login"), False)
    return flow.filter(pc.invert(made))


@dataclass
class Measurements:
    """Everything coverage measures, keyed by host (or, for unmapped destinations, address)."""

    data_end_us: int | None = None
    sensor_span: tuple[int, int] | None = None
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    platform: dict[str, str | None] = field(default_factory=dict)
    formats: dict[str, list[str]] = field(default_factory=dict)
    proc: dict[str, dict[str, Any]] = field(default_factory=dict)
    sock: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    gaps: dict[str, dict[str, Any]] = field(default_factory=dict)
    flows_from: dict[str, dict[str, Any]] = field(default_factory=dict)
    flows_to: dict[str, dict[str, Any]] = field(default_factory=dict)
    eval_from: dict[str, Counter[str]] = field(default_factory=dict)
    dests_not_evaluable_from: dict[str, set[str]] = field(default_factory=dict)
    eval_to: dict[str, Counter[str]] = field(default_factory=dict)
    known: dict[str, bool] = field(default_factory=dict)
    skew: dict[str, dict[str, Any]] = field(default_factory=dict)
    not_evaluable: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    not_evaluable_total: dict[str, int] = field(default_factory=dict)
    logins: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    without_flow: dict[str, dict[str, int]] = field(default_factory=dict)
    link: dict[str, dict[str, int]] = field(default_factory=dict)
    assets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    shared: dict[str, list[str]] = field(default_factory=dict)
    seq: dict[str, dict[str, Any]] = field(default_factory=dict)

    def endpoint_hosts(self) -> list[str]:
        """Hosts with endpoint telemetry, and attributed sources of SSH flows."""
        return sorted(set(self.facts) | set(self.flows_from))

    def destination_keys(self) -> list[tuple[str, bool]]:
        """Destinations: reached by internal SSH session starts, or with login records."""
        keys = dict(self.known)
        for host in set(self.sources) | set(self.logins):
            keys.setdefault(host, True)
        return sorted(keys.items())

    @classmethod
    def take(
        cls,
        tables: dict[str, pa.Table],
        found: Detected,
        accounts: list[FileAccount],
        settings: Settings,
        con: duckdb.DuckDBPyConnection,
    ) -> Measurements:
        """Run every query."""
        m = cls()
        w = settings.windows
        with registered(
            con, cov_process=tables["process"], cov_socket=tables["socket"],
            cov_session=tables["session"], cov_login=tables["login"],
            cov_span=tables["source_span"], cov_asset=tables["asset"],
            cov_flows=sensor_flows(found.flow),
            cov_eval=found.flow_eval, cov_owner=found.owner, cov_proc=found.proc,
            cov_nets=_nets(settings, tables["asset"]),
        ):
            m._endpoints(con)
            m._flows(con, settings)
            m._destinations(con, settings)
            m.link = {r.pop("host"): r for r in _dicts(con, _PROCESS_FLOW_LINK.format(
                before=w.time_window * 1_000_000, after=w.endpoint_skew * 1_000_000))}
            for r in tables["asset"].to_pylist():
                m.assets.setdefault(r["host"], []).append({
                    "ip": r["ip"], "valid_from_us": r["valid_from_us"],
                    "valid_to_us": r["valid_to_us"], "origin": r["origin"]})
            for host, other in con.sql(_SHARED).fetchall():
                m.shared.setdefault(host, []).append(other)
        for rows in m.assets.values():
            rows.sort(key=lambda r: (r["ip"], r["valid_from_us"] or -1, r["origin"] or ""))
        m._sequences(accounts)
        m.data_end_us = _data_end(tables, found, settings)
        return m

    def _endpoints(self, con: duckdb.DuckDBPyConnection) -> None:
        for r in _dicts(con, _HOST_FACTS):
            host = r.pop("host")
            self.platform[host] = r.pop("platform")
            self.formats[host] = [f for f in r.pop("formats") if f]
            self.facts[host] = r
        self.proc = {r.pop("host"): r for r in _dicts(con, _PROC)}
        self.sock = {r.pop("host"): r for r in _dicts(con, _SOCK)}
        for r in _dicts(con, _SESS):
            s = self.sessions.setdefault(r["host"], {
                "sessions": 0, "by_kind": {}, "users": 0, "first_us": None, "last_us": None})
            s["sessions"] += r["n"]
            s["by_kind"][r["kind"] or "unknown"] = r["n"]
            s["first_us"] = min(x for x in (s["first_us"], r["first_us"]) if x is not None)
            s["last_us"] = max(x for x in (s["last_us"], r["last_us"]) if x is not None)
        for host, users in con.sql(_SESS_USERS).fetchall():
            self.sessions.setdefault(host, {"sessions": 0, "by_kind": {}, "users": 0,
                                            "first_us": None, "last_us": None})["users"] = users
        for s in self.sessions.values():
            s["by_kind"] = dict(sorted(s["by_kind"].items()))
        for host, from_us, to_us, n in con.sql(
            _GAPS.format(gap_min=GAP_MIN_US, listed=GAPS_LISTED)
        ).fetchall():
            g = self.gaps.setdefault(host, {"count": n, "largest": []})
            g["largest"].append([from_us, to_us])

    def _flows(self, con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
        self.flows_from = {r.pop("host"): r for r in _dicts(con, _FLOWS_FROM)}
        first, last = con.sql(_SENSOR_SPAN).fetchall()[0]
        self.sensor_span = (first, last) if first is not None else None
        for r in _dicts(con, _FLOWS_TO):
            self.known[r["dest"]] = r.pop("known")
            self.flows_to[r.pop("dest")] = r
        for r in _dicts(con, _EVAL):
            key = r["status"] if r["status"] != "not_evaluable" else \
                f"not_evaluable:{r['reason']}"
            if r["src_host"] is not None:
                self.eval_from.setdefault(r["src_host"], Counter())[key] += r["n"]
                if r["status"] == "not_evaluable":
                    self.dests_not_evaluable_from.setdefault(r["src_host"], set()).add(r["dest"])
            if r["dest"] is None:
                continue
            self.eval_to.setdefault(r["dest"], Counter())[key] += r["n"]
            sk = self.skew.setdefault(r["dest"], {"skew_us": None, "tol_us": None,
                                                 "exact_matches": 0})
            if r["skew_us"] is not None:
                sk["skew_us"] = r["skew_us"]
            if r["tol_us"] is not None:
                sk["tol_us"] = max(sk["tol_us"] or 0, r["tol_us"])
            if r["status"] in ("present", "attempt"):
                sk["exact_matches"] += r["n"]
        for r in _dicts(con, _NOT_EVALUABLE.format(listed=MAX_LISTED)):
            dest = r.pop("dest")
            self.not_evaluable_total[dest] = r.pop("total")
            file, line = r.pop("src_file"), r.pop("src_line")
            r["source"] = {"file": file, "line": line}
            self.not_evaluable.setdefault(dest, []).append(r)

    def _destinations(self, con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
        self.logins = {r.pop("host"): r for r in _dicts(con, _LOGINS)}
        for r in _dicts(con, _SOURCES):
            host = r.pop("host")
            end = r["last_us"]
            if settings.collected_at_us is not None and end is not None:
                end = max(end, settings.collected_at_us)
            r["covered_until_us"] = end
            self.sources.setdefault(host, []).append(r)
        if self.sensor_span is not None:
            w = settings.windows
            sql = _LOGINS_WITHOUT_FLOW.format(
                before=(w.login_grace + w.clock_tolerance) * 1_000_000,
                after=w.clock_tolerance * 1_000_000,
                first=self.sensor_span[0], last=self.sensor_span[1])
            self.without_flow = {r.pop("host"): r for r in _dicts(con, sql)}

    def _sequences(self, accounts: list[FileAccount]) -> None:
        """eslogger drops per event name, filtered-downstream holes and restarts, per host."""
        per: dict[str, dict[str, Any]] = defaultdict(
            lambda: {"drops": Counter(), "global_gaps": 0, "restarts": 0, "files": 0})
        for a in accounts:
            d = a.details
            if a.host is None or "seq_gaps" not in d:
                continue
            s = per[a.host]
            s["files"] += 1
            s["drops"].update({k: v for k, v in (d.get("seq_gaps") or {}).items() if v})
            s["global_gaps"] += int(d.get("global_seq_gaps") or 0)
            s["restarts"] += int(d.get("restarts") or 0)
        for host, s in per.items():
            dropped = sum(s["drops"].values())
            self.seq[host] = {
                "drops": dict(sorted(s["drops"].items())),
                "dropped": dropped,
                # global holes that no per-type hole explains: removed after the sensor
                "filtered_downstream": max(0, s["global_gaps"] - dropped),
                "restarts": s["restarts"],
            }


def _data_end(tables: dict[str, pa.Table], found: Detected, settings: Settings) -> int | None:
    """The end of the run's data, as the absence detection sees it (see its ``data_end``)."""
    import pyarrow.compute as pc

    ends = [settings.collected_at_us]
    for table, col in ((found.flow, "start_us"), (found.flow, "end_us"),
                       (tables["source_span"], "last_t_us"), (tables["process"], "t_us"),
                       (found.sock_ev, "t_us")):
        if table.num_rows:
            ends.append(pc.max(table.column(col)).as_py())
    known = [e for e in ends if e is not None]
    return max(known) if known else None
