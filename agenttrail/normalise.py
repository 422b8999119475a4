"""Normalisation after reading: the string interpretation that needs more than one record.

Host names are canonicalised, Zeek conn and ssh records are merged into flows, flows are marked
SSH by port where the sensor did no protocol detection and internal by the configured networks,
socket paths are classified (DESIGN §4), literal ssh destinations become addresses, and the
``asset`` and ``user`` tables are built from ``--assets``, the config and the data. Everything here
runs on DuckDB or on distinct values in Python; the detections then only compare columns.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.addr import canonical_ip, network_range, parse_ip, parse_network
from agenttrail.config import DEFAULT_INTERNAL, ConfigError, Settings
from agenttrail.model import conform, empty
from agenttrail.sockets import AGENT_SERVERS, classify, normalise_path

if TYPE_CHECKING:
    import duckdb

HOST_TABLES = ("process", "socket", "session", "login", "source_span")

#: Flow formats that detect SSH by protocol: the port rule never applies to them (DESIGN §5).
PROTOCOL_AWARE = frozenset({"zeek", "suricata"})



def normalise(
    tables: dict[str, pa.Table], settings: Settings, con: duckdb.DuckDBPyConnection
) -> dict[str, pa.Table]:
    """Return the normalised tables (the input dict is not changed)."""
    out = dict(tables)
    for name in HOST_TABLES:
        out[name] = _canonical_hosts(out[name], settings)
    out["asset"] = _assets(build_assets(settings), tables["asset"], settings, con)
    out["flow"] = _flows(
        _login_flows(out["flow"], out["login"], out["asset"], settings, con), settings, con,
        out["asset"],
    )
    out["process"] = _process(out["process"], settings)
    out["dns"] = _dns(out["dns"], settings)
    out["socket"] = _sockets(out["socket"], out["process"], settings)
    out["sockpath"] = _sockpaths(out["socket"], out["process"], settings)
    out["user"] = _users(out, con)
    out = _scope(out, settings)
    for name in ("process", "socket", "session", "login", "flow", "dns"):
        out[name] = _with_row_ids(out[name], "start_us" if name == "flow" else "t_us")
    return out


def _with_row_ids(table: pa.Table, tcol: str) -> pa.Table:
    """Sort by the total order of DESIGN §3 and number the rows (a stable evidence key)."""
    if table.num_rows == 0:
        return table
    order = [(tcol, "ascending"), ("src_seq", "ascending"), ("src_file", "ascending"),
             ("src_line", "ascending")]
    table = table.sort_by(order) if "src_seq" in table.column_names else table.sort_by(
        [o for o in order if o[0] != "src_seq"]
    )
    i = table.column_names.index("row_id")
    return table.set_column(i, "row_id", pa.array(range(table.num_rows), pa.int64()))


def _map_distinct(
    column: pa.ChunkedArray, fn: object, out_type: pa.DataType | None = None
) -> pa.Array:
    """Apply ``fn`` to each distinct value only, and spread the results back over the rows."""
    values = pc.unique(column).to_pylist()
    mapped = [fn(v) for v in values]  # type: ignore[operator]
    idx = pc.index_in(column, value_set=pa.array(values, column.type), skip_nulls=False)
    return pc.take(pa.array(mapped, out_type or column.type), idx)


def _canonical_hosts(table: pa.Table, settings: Settings) -> pa.Table:
    if table.num_rows == 0:
        return table
    i = table.column_names.index("host")
    return table.set_column(i, "host", _map_distinct(table.column("host"), settings.canonical_host))


def internal_networks(settings: Settings) -> list[str]:
    """The configured internal networks, or the defaults (DESIGN §3)."""
    return list(settings.internal) if settings.internal else list(DEFAULT_INTERNAL)


def _net_table(cidrs: list[str]) -> pa.Table:
    rows = [network_range(parse_network(c)) for c in cidrs]
    return pa.table(
        {
            "s_hi": pa.array([r[0] for r in rows], pa.int64()),
            "s_lo": pa.array([r[1] for r in rows], pa.int64()),
            "e_hi": pa.array([r[2] for r in rows], pa.int64()),
            "e_lo": pa.array([r[3] for r in rows], pa.int64()),
        }
    )


_IN_RANGE = """(({p}_hi > n.s_hi OR ({p}_hi = n.s_hi AND {p}_lo >= n.s_lo))
            AND ({p}_hi < n.e_hi OR ({p}_hi = n.e_hi AND {p}_lo <= n.e_lo)))"""


def _flows(
    flow: pa.Table, settings: Settings, con: duckdb.DuckDBPyConnection, asset: pa.Table
) -> pa.Table:
    """Merge Zeek conn/ssh parts on uid, then SSH-by-port and internal flags."""
    if flow.num_rows == 0:
        return flow
    nets = internal_networks(settings)
    net_rows = _net_table(nets)
    if settings.internal_defaulted and asset.num_rows:
        asset_nets = pa.table(
            {
                "s_hi": asset.column("start_hi"),
                "s_lo": asset.column("start_lo"),
                "e_hi": asset.column("end_hi"),
                "e_lo": asset.column("end_lo"),
            }
        )
        net_rows = pa.concat_tables([net_rows, asset_nets])
    con.register("flow_in", flow)
    con.register("nets", net_rows)
    ports = ",".join(str(int(p)) for p in settings.ssh_ports) or "22"
    aware = ",".join(f"'{f}'" for f in sorted(PROTOCOL_AWARE))
    cols = list(flow.column_names)
    ssh_cols = {"is_ssh", "ssh_evidence", "ssh_auth_hint", "client_banner", "server_banner"}
    merged_select = []
    for c in cols:
        if c in ssh_cols:
            merged_select.append(f'coalesce(s."{c}", c."{c}") AS "{c}"')
        elif c == "flow_part":
            merged_select.append("NULL::VARCHAR AS flow_part")
        else:
            merged_select.append(f'c."{c}"')
    ssh_only = ", ".join(f's."{c}"' if c != "flow_part" else "NULL::VARCHAR" for c in cols)
    plain = ", ".join(f'"{c}"' for c in cols)
    sql = f"""
    WITH conn AS (SELECT * FROM flow_in WHERE flow_part = 'conn'),
         ssh AS (SELECT * FROM flow_in WHERE flow_part = 'ssh'
                 QUALIFY row_number() OVER (PARTITION BY flow_uid ORDER BY src_file, src_line) = 1),
         merged AS (
            SELECT {", ".join(merged_select)} FROM conn c LEFT JOIN ssh s ON c.flow_uid = s.flow_uid
            UNION ALL
            SELECT {ssh_only} FROM ssh s WHERE NOT EXISTS
                (SELECT 1 FROM conn c WHERE c.flow_uid = s.flow_uid)
            UNION ALL
            SELECT {plain} FROM flow_in WHERE flow_part IS NULL
         ),
         marked AS (
            SELECT * REPLACE (
              CASE WHEN is_ssh IS NOT NULL THEN is_ssh
                   WHEN src_format IN ({aware}) THEN false
                   WHEN dst_port IN ({ports}) AND coalesce(proto, 'tcp') = 'tcp' THEN true
                   ELSE false END AS is_ssh,
              CASE WHEN is_ssh IS NULL AND src_format NOT IN ({aware})
                        AND dst_port IN ({ports}) THEN 'port'
                   ELSE ssh_evidence END AS ssh_evidence,
              EXISTS (SELECT 1 FROM nets n WHERE {_IN_RANGE.format(p="src_ip")}) AS src_internal,
              EXISTS (SELECT 1 FROM nets n WHERE {_IN_RANGE.format(p="dst_ip")}) AS dst_internal
            ) FROM merged
         )
    SELECT * FROM marked ORDER BY start_us NULLS LAST, src_file, src_line
    """
    try:
        result = con.sql(sql).to_arrow_table()
    finally:
        con.unregister("flow_in")
        con.unregister("nets")
    return conform("flow", result)


_LOGIN_FLOWS = """
WITH dest AS (  -- the one address of each host at a time (single-address assets)
  SELECT host, ip, valid_from_us, valid_to_us FROM assets_in WHERE NOT contains(ip, '/')
), l AS (
  SELECT lg.*, coalesce(lg.server_ip, (
           SELECT min(d.ip) FROM dest d WHERE d.host = lg.host
             AND (d.valid_from_us IS NULL OR d.valid_from_us <= lg.t_us)
             AND (d.valid_to_us IS NULL OR d.valid_to_us >= lg.t_us)
           HAVING count(DISTINCT d.ip) = 1)) AS d_ip
  FROM login_in lg
  WHERE lg.result IN ('accepted', 'failed') AND lg.src_ip IS NOT NULL
    AND lg.src_port IS NOT NULL AND lg.host IS NOT NULL AND lg.t_us IS NOT NULL
)
SELECT t_us AS start_us, src_ip, src_port, d_ip AS dst_ip, coalesce(server_port, 22) AS dst_port,
       'tcp' AS proto, true AS is_ssh, 'login' AS ssh_evidence, 'login record' AS sensor,
       src_file, src_line, 'login_record' AS src_format
FROM l
WHERE d_ip IS NOT NULL AND NOT EXISTS (
  SELECT 1 FROM flow_in f WHERE f.src_ip = l.src_ip AND f.src_port = l.src_port
    AND f.dst_ip = l.d_ip AND f.start_us BETWEEN l.t_us - {before} AND l.t_us + {after})
ORDER BY start_us, src_file, src_line
"""


def _login_flows(
    flow: pa.Table, login: pa.Table, asset: pa.Table, settings: Settings,
    con: duckdb.DuckDBPyConnection,
) -> pa.Table:
    """Flows evidenced only by the destination's login record (DESIGN §5).

    Zeek writes ``conn.log`` when a connection ends, and some teams have no flow sensor at all;
    an sshd record from a source address and port is then the evidence of the connection. For
    each accepted or failed login with a source port and no flow record of that connection
    (same source address and port to the server's address, starting from ``login_grace +
    clock_tolerance`` before the record to ``clock_tolerance`` after it), a flow row is added:
    it starts at the login's time, comes from the login record's file and line, and has
    ``ssh_evidence = 'login'`` and no packet counts.
    """
    if login.num_rows == 0:
        return flow
    w = settings.windows
    con.register("login_in", login)
    con.register("flow_in", flow)
    con.register("assets_in", asset)
    try:
        rows = con.sql(_LOGIN_FLOWS.format(
            before=(w.login_grace + w.clock_tolerance) * 1_000_000,
            after=w.clock_tolerance * 1_000_000,
        )).to_arrow_table()
    finally:
        for name in ("login_in", "flow_in", "assets_in"):
            con.unregister(name)
    if rows.num_rows == 0:
        return flow
    return pa.concat_tables([flow, conform("flow", rows)])


#: Executables that use an agent when they run (DESIGN §5 agent_env_foreign_socket).
AGENT_CLIENTS = frozenset({"ssh", "scp", "sftp", "ssh-add", "git", "rsync"})


def _process(process: pa.Table, settings: Settings) -> pa.Table:
    """Literal ssh destinations become addresses, names canonical host names; the agent socket
    an exec would use."""
    if process.num_rows == 0:
        return process

    def literal(v: str | None) -> str | None:
        ip = parse_ip(v)
        return str(ip) if ip is not None else None

    def name(v: str | None) -> str | None:
        return v if v is None or parse_ip(v) is not None else settings.canonical_host(v)

    dest = _map_distinct(process.column("ssh_dest_host"), literal)
    process = process.set_column(
        process.column_names.index("ssh_dest_host"), "ssh_dest_host",
        _map_distinct(process.column("ssh_dest_host"), name),
    )
    client = _map_distinct(
        process.column("exe"),
        lambda e: (e or "").rsplit("/", 1)[-1] in AGENT_CLIENTS,
        pa.bool_(),
    )
    ident = _paths(process, "identity_agent")
    sock = _paths(process, "auth_sock")
    ident_word = pc.utf8_lower(process.column("identity_agent"))
    is_none = pc.fill_null(pc.equal(ident_word, "none"), False)  # IdentityAgent none: no agent
    use_ident = pc.and_(
        pc.is_valid(ident),
        pc.invert(pc.fill_null(pc.equal(process.column("identity_agent"), "SSH_AUTH_SOCK"), False)),
    )
    agent_path = pc.if_else(
        is_none, pa.scalar(None, pa.string()), pc.if_else(use_ident, ident, sock)
    )
    process = process.drop_columns([c for c in process.column_names if c.startswith("ssh_dest_ip")])
    process = process.append_column("ssh_dest_ip", dest)
    for name, values in (("agent_client", client), ("agent_path", agent_path)):
        process = process.set_column(process.column_names.index(name), name, values)
    return conform("process", process)


def _dns(dns: pa.Table, settings: Settings) -> pa.Table:
    """Canonical host name of each query (as ssh argv names are made canonical) and its first
    label, so ``ssh db1`` resolved through a search domain as ``db1.corp.example`` matches."""
    if dns.num_rows == 0:
        return dns
    host = _map_distinct(dns.column("query"), settings.canonical_host)
    label = _map_distinct(host, lambda h: h.split(".", 1)[0] if h else None)
    dns = dns.set_column(dns.column_names.index("query_host"), "query_host", host)
    return dns.set_column(dns.column_names.index("query_label"), "query_label", label)


def _paths(table: pa.Table, column: str) -> pa.ChunkedArray:
    """``column`` with macOS path normalisation on macOS rows (distinct values only)."""
    mac = _map_distinct(table.column(column), lambda v: normalise_path(v, "macos"))
    is_linux = pc.fill_null(pc.equal(table.column("platform"), "linux"), False)
    return pc.if_else(is_linux, table.column(column), mac)


#: Who bound a socket, by the binder's executable name; the first of BINDER_ORDER wins.
BINDERS = {"sshd": "sshd", "sshd-session": "sshd", "ssh-agent": "agent", "ssh": "mux",
           "launchd": "launchd"}
BINDER_ORDER = ("sshd", "agent", "mux", "launchd", "other")


def _binders(socket: pa.Table) -> dict[tuple[str, str], str]:
    """(host, socket path) → who bound it (``bound_by``)."""
    found: dict[tuple[str, str], str] = {}
    if socket.num_rows == 0:
        return found
    bind = socket.filter(pc.equal(socket.column("action"), "bind"))
    for h, p, exe in zip(bind.column("host").to_pylist(), bind.column("socket_path").to_pylist(),
                         bind.column("exe").to_pylist(), strict=True):
        if not (h and p):
            continue
        kind = BINDERS.get((exe or "").rsplit("/", 1)[-1], "other")
        old = found.get((h, p))
        if old is None or BINDER_ORDER.index(kind) < BINDER_ORDER.index(old):
            found[(h, p)] = kind
    return found


def _sockpaths(socket: pa.Table, process: pa.Table, settings: Settings) -> pa.Table:
    """Every (host, socket path) seen, classified, with the user or uid its path names."""
    seen: dict[tuple[str, str], str] = {}
    kinds: dict[tuple[str, str], str] = {}
    binders = _binders(socket)
    if socket.num_rows:
        g = socket.group_by(["host", "socket_path"]).aggregate(
            [("platform", "max"), ("socket_kind", "max")]
        )
        for h, p, pl, k in zip(g.column("host").to_pylist(), g.column("socket_path").to_pylist(),
                               g.column("platform_max").to_pylist(),
                               g.column("socket_kind_max").to_pylist(), strict=True):
            if h and p:
                seen[(h, p)] = pl or "macos"
                if k:
                    kinds[(h, p)] = k
    named: set[tuple[str, str]] = set()
    if process.num_rows:
        g = process.group_by(["host", "agent_path"]).aggregate([("platform", "max")])
        for h, p, pl in zip(g.column("host").to_pylist(), g.column("agent_path").to_pylist(),
                            g.column("platform_max").to_pylist(), strict=True):
            if h and p:
                named.add((h, p))
                seen.setdefault((h, p), pl or "macos")
    rows = []
    for (h, p), pl in sorted(seen.items()):
        c = classify(p, (h, p) in named, False, False, settings.extra_scope)
        kind = kinds.get((h, p), c.kind)
        if (h, p) in named and kind == "other":
            kind = "agent"
        rows.append({"host": h, "socket_path": p, "socket_kind": kind, "socket_scope": c.scope,
                     "path_user": c.path_user, "path_uid": c.path_uid, "platform": pl,
                     "bound_by": binders.get((h, p))})
    if not rows:
        return empty("sockpath")
    return conform("sockpath", pa.Table.from_pylist(rows))


def _sockets(socket: pa.Table, process: pa.Table, settings: Settings) -> pa.Table:
    """Classify socket paths; paths named in env or argv and sockets bound by agents count."""
    if socket.num_rows == 0:
        return socket
    named: set[str] = set()
    for col in ("auth_sock", "identity_agent"):
        if process.num_rows:
            named.update(v for v in pc.unique(process.column(col)).to_pylist() if v)
    bind = socket.filter(pc.equal(socket.column("action"), "bind"))
    bound_agent: set[str] = set()
    bound_mux: set[str] = set()
    for path, exe in zip(
        bind.column("socket_path").to_pylist(), bind.column("exe").to_pylist(), strict=True
    ):
        name = (exe or "").rsplit("/", 1)[-1]
        if name in ("ssh-agent", "sshd", "sshd-session"):
            bound_agent.add(path)
        elif name == "ssh":
            bound_mux.add(path)
    norm_paths = _paths(socket, "socket_path")
    classes = {
        p: classify(p, p in named, p in bound_agent, p in bound_mux, settings.extra_scope)
        for p in pc.unique(norm_paths).to_pylist()
        if p is not None
    }
    kinds = _map_distinct(norm_paths, lambda p: classes[p].kind if p else None)
    scopes = _map_distinct(norm_paths, lambda p: classes[p].scope if p else None)
    infra = _map_distinct(
        socket.column("exe"), lambda e: (e or "").rsplit("/", 1)[-1] in AGENT_SERVERS, pa.bool_()
    )
    for name, values in (
        ("socket_path", norm_paths), ("socket_kind", kinds), ("socket_scope", scopes),
        ("agent_infra", infra),
    ):
        socket = socket.set_column(socket.column_names.index(name), name, values)
    return socket


def _users(tables: dict[str, pa.Table], con: duckdb.DuckDBPyConnection) -> pa.Table:
    """uid ↔ name per host, learned from login sessions and the environment of own processes."""
    con.register("session_in", tables["session"])
    con.register("process_in", tables["process"])
    try:
        rows = con.sql(
            """
            SELECT host, uid, min(name) AS name, min(origin) AS origin FROM (
              SELECT host, uid, "user" AS name, 'session' AS origin FROM session_in
                WHERE uid IS NOT NULL AND "user" IS NOT NULL AND host IS NOT NULL
              UNION ALL
              SELECT host, euid AS uid, env_user AS name, 'env' AS origin FROM process_in
                WHERE env_user IS NOT NULL AND euid IS NOT NULL AND euid <> 0
                  AND ruid = euid AND (auid IS NULL OR auid = euid) AND host IS NOT NULL
              UNION ALL
              SELECT host, sudo_uid AS uid, sudo_user AS name, 'env' AS origin FROM process_in
                WHERE sudo_user IS NOT NULL AND sudo_uid IS NOT NULL AND host IS NOT NULL
            ) GROUP BY host, uid ORDER BY host, uid
            """
        ).to_arrow_table()
    finally:
        con.unregister("session_in")
        con.unregister("process_in")
    return conform("user", rows)


def _parse_time(text: str, where: str) -> int:
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(
            f"{where}: {text!r} is not an ISO 8601 time (e.g. 2026-03-02T09:00:00Z)") from exc
    if value.tzinfo is None:
        raise ConfigError(f"{where}: time {text!r} has no zone; add Z or an offset")
    return int(value.timestamp() * 1_000_000)


def build_assets(settings: Settings) -> pa.Table:
    """Host ↔ address validity intervals from ``--assets`` and ``[hosts.*] addresses``."""
    rows: list[dict[str, object]] = []

    def add(host: str, ip: str, vf: int | None, vt: int | None, origin: str, where: str) -> None:
        try:
            net = parse_network(ip)
        except ValueError as exc:
            raise ConfigError(f"{where}: {ip!r} is not an address or network") from exc
        s_hi, s_lo, e_hi, e_lo = network_range(net)
        name = settings.canonical_host(host)
        if name is None:
            raise ConfigError(f"{where}: empty host name")
        rows.append(
            {
                "host": name,
                "ip": str(net) if net.num_addresses > 1 else canonical_ip(ip.split("/")[0]),
                "start_hi": s_hi,
                "start_lo": s_lo,
                "end_hi": e_hi,
                "end_lo": e_lo,
                "valid_from_us": vf,
                "valid_to_us": vt,
                "origin": origin,
            }
        )

    for name, hc in sorted(settings.hosts.items()):
        for ip in hc.addresses:
            add(name, ip, None, None, "config", f'config [hosts."{name}"] addresses')
    if settings.assets:
        path = Path(settings.assets)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the assets file: {exc.strerror}") from exc
        reader = csv.DictReader(text.splitlines())
        fields = {f.strip().lower() for f in reader.fieldnames or []}
        if not ({"host", "hostname"} & fields) or "ip" not in fields:
            raise ConfigError(
                f"{path}:1: the assets CSV needs a header with 'host' (or 'hostname') and 'ip'"
            )
        for lineno, rec in enumerate(reader, 2):
            rec = {k.strip().lower(): (v or "").strip() for k, v in rec.items() if k}
            host = rec.get("host") or rec.get("hostname") or ""
            where = f"{path}:{lineno}"
            vf = _parse_time(rec["valid_from"], where) if rec.get("valid_from") else None
            vt = _parse_time(rec["valid_to"], where) if rec.get("valid_to") else None
            if vf is not None and vt is not None and vf > vt:
                raise ConfigError(f"{where}: valid_from is later than valid_to")
            add(host, rec.get("ip", ""), vf, vt, "assets", where)
    if not rows:
        return empty("asset")
    return conform("asset", pa.Table.from_pylist(rows))


def _usable_learned(ip: str | None) -> bool:
    addr = parse_ip(ip)
    return addr is not None and not (
        addr.is_loopback or addr.is_link_local or addr.is_unspecified or addr.is_multicast
    )


def _assets(
    explicit: pa.Table, learned: pa.Table, settings: Settings, con: duckdb.DuckDBPyConnection
) -> pa.Table:
    """Explicit assets plus those learned from the data (DHCP leases, interface snapshots, ECS
    ``host.ip``), as validity intervals.

    Learned rows never override an explicit mapping of the same address. Per address, successive
    rows naming the same host collapse into one interval, which ends where the address is next
    seen on another host (or at its lease end); loopback, link-local and multicast addresses
    are not host identities and are dropped.
    """
    if learned.num_rows == 0:
        return explicit
    host = _map_distinct(learned.column("host"), settings.canonical_host)
    ip = _map_distinct(learned.column("ip"), canonical_ip)
    usable = _map_distinct(ip, _usable_learned, pa.bool_())
    keep = pc.and_(pc.fill_null(usable, False), pc.is_valid(host))
    if explicit.num_rows:
        keep = pc.and_(keep, pc.invert(pc.is_in(ip, value_set=explicit.column("ip"))))
    rows = pa.table({
        "host": host, "ip": ip, "vf": learned.column("valid_from_us"),
        "vt": learned.column("valid_to_us"),
        "origin": pc.fill_null(learned.column("origin"), "learned"),
    }).filter(keep)
    if rows.num_rows == 0:
        return explicit
    con.register("learned_in", rows)
    try:
        merged = con.sql(
            """
            WITH o AS (
              SELECT *, lag(host) OVER w AS prev_host FROM learned_in
              WINDOW w AS (PARTITION BY ip ORDER BY vf NULLS FIRST, host, origin, vt NULLS LAST)
            ), g AS (
              SELECT *, sum(CASE WHEN prev_host IS DISTINCT FROM host THEN 1 ELSE 0 END) OVER (
                PARTITION BY ip ORDER BY vf NULLS FIRST, host, origin, vt NULLS LAST
                ROWS UNBOUNDED PRECEDING) AS grp FROM o
            ), isl AS (
              SELECT ip, host, grp, min(vf) AS vf, max(vt) AS vt, bool_or(vt IS NULL) AS open_end,
                     min(origin) AS origin FROM g GROUP BY ip, host, grp
            ), fin AS (
              SELECT *, lead(vf) OVER (PARTITION BY ip ORDER BY grp) AS next_vf FROM isl
            )
            SELECT host, ip, vf AS valid_from_us,
                   CASE WHEN open_end THEN next_vf - 1
                        ELSE least(vt, coalesce(next_vf - 1, vt)) END AS valid_to_us,
                   origin
            FROM fin ORDER BY ip, vf NULLS FIRST, host
            """
        ).to_arrow_table()
    finally:
        con.unregister("learned_in")
    ranges = {ip: network_range(parse_network(ip)) for ip in set(merged.column("ip").to_pylist())}
    ips = merged.column("ip").to_pylist()
    cols = {name: pa.array([ranges[i][k] for i in ips], pa.int64())
            for k, name in enumerate(("start_hi", "start_lo", "end_hi", "end_lo"))}
    learned_rows = conform("asset", merged.append_column("start_hi", cols["start_hi"])
                           .append_column("start_lo", cols["start_lo"])
                           .append_column("end_hi", cols["end_hi"])
                           .append_column("end_lo", cols["end_lo"]))
    return pa.concat_tables([explicit, learned_rows.select(explicit.column_names)])


def _scope(tables: dict[str, pa.Table], settings: Settings) -> dict[str, pa.Table]:
    """Apply ``--since``, ``--until`` and ``--only-host`` to what is read, keeping the evidence
    the scoped findings need.

    ``--only-host`` narrows the endpoint tables (process, socket, session) only: the flows from
    those hosts and the logins and log coverage of every destination stay. The time scope keeps
    a margin (the incident gap plus the linking and login windows) on every table, so a chain
    or an absence near the edge is judged on complete evidence; the findings themselves are cut
    to the scope afterwards (:func:`agenttrail.incidents.in_scope`).
    """
    if settings.since_us is None and settings.until_us is None and not settings.only_host:
        return tables
    import fnmatch

    w = settings.windows
    margin = (w.incident_gap + w.time_window + w.pre_auth_window + w.login_grace
              + w.clock_tolerance) * 1_000_000
    out = dict(tables)
    for name, tcol in (("process", "t_us"), ("socket", "t_us"), ("session", "t_us"),
                       ("login", "t_us"), ("flow", "start_us"), ("dns", "t_us")):
        t = out[name]
        if t.num_rows == 0:
            continue
        mask = pa.array([True] * t.num_rows)
        col = t.column(tcol)
        if settings.since_us is not None:
            mask = pc.and_(mask, pc.fill_null(
                pc.greater_equal(col, settings.since_us - margin), False))
        if settings.until_us is not None:
            mask = pc.and_(mask, pc.fill_null(
                pc.less_equal(col, settings.until_us + margin), False))
        if settings.only_host and name in ("process", "socket", "session"):
            keep = _map_distinct(
                t.column("host"),
                lambda h: h is not None and fnmatch.fnmatchcase(h, settings.only_host or ""),
                pa.bool_())
            mask = pc.and_(mask, pc.fill_null(keep, False))
        out[name] = t.filter(mask)
    return out


#: Flow formats in order of preference when two sensors saw the same connection.
_FLOW_PREFERENCE = ("zeek", "suricata")

_FLOW_DUPLICATES = """
WITH o AS (
  SELECT *, {t} - lag({t}) OVER (PARTITION BY {key} ORDER BY {t}, src_file, src_line) AS gap
  FROM dup_in WHERE {t} IS NOT NULL
), c AS (
  SELECT *, sum(CASE WHEN gap IS NULL OR gap > 1000000 THEN 1 ELSE 0 END) OVER (
    PARTITION BY {key} ORDER BY {t}, src_file, src_line ROWS UNBOUNDED PRECEDING) AS grp
  FROM o
), r AS (
  SELECT __i, src_file, first_value(src_file) OVER w AS keep_file,
         first_value(__i) OVER w AS keep_i,
         count(DISTINCT src_file) OVER (PARTITION BY {key}, grp) AS files,
         bool_or(saw_syn) OVER (PARTITION BY {key}, grp) AS any_syn,
         bool_or(ssh_auth_hint) OVER (PARTITION BY {key}, grp) AS any_auth
  FROM c WINDOW w AS (PARTITION BY {key}, grp ORDER BY {rank}
                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
SELECT __i, src_file, keep_i, any_syn, any_auth FROM r
WHERE __i <> keep_i AND files > 1 AND src_file <> keep_file
"""

_LOGIN_DUPLICATES = """
SELECT __i, src_file FROM (
  SELECT __i, src_file,
         t_us - lag(t_us) OVER (PARTITION BY host, program, pid, message
                                ORDER BY t_us, src_file, src_line) AS gap
  FROM dup_in WHERE t_us IS NOT NULL AND pid IS NOT NULL AND message IS NOT NULL
) WHERE gap <= 1000000
"""


def dedupe(
    tables: dict[str, pa.Table], con: duckdb.DuckDBPyConnection
) -> tuple[dict[str, pa.Table], dict[str, int]]:
    """Merge records seen twice, keeping one; return the tables and the count dropped per file.

    * Flows seen by two sensors: the same 5-tuple from different files with starts within 1 s
      (a chain of such starts is one connection). The protocol-aware record is kept (Zeek, then
      Suricata, then flow exports), then the one with an authentication hint, then the first by
      file and line; the kept record takes the SYN and authentication evidence of the others.
    * Log lines forwarded twice: login records with the same host, program, pid and message
      within 1 s of each other, in any files; the first by time, file and line is kept.

    Dropped records stay counted as normalised in their file's accounting and are counted
    again as ``duplicates`` (DESIGN §8).
    """
    out = dict(tables)
    dropped: dict[str, int] = {}
    pref = " ".join(f"WHEN '{f}' THEN {i}" for i, f in enumerate(_FLOW_PREFERENCE))
    sql = {
        "flow": _FLOW_DUPLICATES.format(
            t="start_us", key="src_ip, src_port, dst_ip, dst_port, coalesce(proto, 'tcp')",
            rank=f"CASE src_format {pref} ELSE 9 END, ssh_auth_hint IS NULL, src_file, src_line",
        ),
        "login": _LOGIN_DUPLICATES,
    }
    for name, query in sql.items():
        t = out[name]
        if t.num_rows < 2:
            continue
        index = pa.array(range(t.num_rows), pa.int64())
        con.register("dup_in", t.append_column("__i", index))
        try:
            dup = con.sql(query).to_arrow_table()
        finally:
            con.unregister("dup_in")
        if dup.num_rows == 0:
            continue
        for f in dup.column("src_file").to_pylist():
            dropped[f] = dropped.get(f, 0) + 1
        if name == "flow":
            t = _merge_flow_evidence(t, dup)
        out[name] = t.filter(pc.invert(pc.is_in(index, value_set=dup.column("__i"))))
    return out, dict(sorted(dropped.items()))


def _merge_flow_evidence(flow: pa.Table, dup: pa.Table) -> pa.Table:
    """The kept flow of a cluster takes the SYN and authentication evidence of its duplicates."""
    syn = flow.column("saw_syn").to_pylist()
    auth = flow.column("ssh_auth_hint").to_pylist()
    for k, s, a in zip(dup.column("keep_i").to_pylist(), dup.column("any_syn").to_pylist(),
                       dup.column("any_auth").to_pylist(), strict=True):
        if s and not syn[k]:
            syn[k] = True
        if a is not None and auth[k] is None:
            auth[k] = a
    flow = flow.set_column(flow.column_names.index("saw_syn"), "saw_syn",
                           pa.array(syn, pa.bool_()))
    return flow.set_column(flow.column_names.index("ssh_auth_hint"), "ssh_auth_hint",
                           pa.array(auth, pa.bool_()))
