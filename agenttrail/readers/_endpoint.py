"""SQL and helpers shared by the endpoint readers whose records name their own host and key
processes by an opaque string (Elastic Defend ECS documents, OCSF events).

* :func:`entity_key`: a stable BIGINT from a process's unique string key (``process.entity_id``,
  OCSF ``process.uid``) that stands in for ``pidversion``: it tells pid reuse apart and joins an
  exec to its exit and a child to its parent image. It is the first 60 bits of the key's MD5, so
  it is the same in every run and on every engine; it is not a kernel ``pidversion``.
* :func:`time_us`: epoch µs of an ISO 8601 time; a time without a zone is read in the file's zone
  (``--tz`` or the host's configured zone, else UTC).
* :func:`env_select` and :func:`args_select`: the exec environment and argument reduction of
  DESIGN §3, with the same kept names, agent-argument rule and secret markers as the eslogger
  reader (:mod:`agenttrail.readers._eslogger_sql`), evaluated inside ``read_ndjson``.
* :func:`classes_select`: ``exe_class``, ``exe_location`` (macOS and Linux path layouts) and
  ``code_signature``.
* :data:`FLOW_SQL`: endpoint connection records to ``flow`` rows; an end record (a disconnect,
  an OCSF Close) is merged into the latest earlier start record of the same connection on the same
  host, and stands alone when there is none.
* :func:`asset_rows`: host ↔ address rows learned from the addresses a record reports for its
  own host, valid from the first record that reports them.
* :func:`inventory`: undocumented keys per record type, over a sample (the first
  :data:`SAMPLE_PER_TYPE` records of each type in the first :data:`INVENTORY_BYTES` of the file),
  put in ``FileAccount.unknown_keys`` with the number of records inspected in
  ``details["unknown_keys_records"]``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from agenttrail.addr import network_range, parse_ip, parse_network
from agenttrail.model import FileAccount, Issue, ReadResult, conform, empty
from agenttrail.readers import _eslogger_sql as es
from agenttrail.readers._io import iter_lines

if TYPE_CHECKING:
    from agenttrail.readers._io import ReadContext

_ENV_RE = "^(" + "|".join(es.ENV_KEEP) + ")="
_ZONED = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}(:?\d{2})?)$"
_LOCAL = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$"

#: Linux path layout for ``exe_location`` (macOS uses the eslogger reader's lists).
LINUX_TEMP = ("/tmp/", "/var/tmp/", "/dev/shm/")
LINUX_SYSTEM = ("/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/", "/usr/libexec/", "/usr/lib/",
                "/lib/", "/lib64/", "/usr/lib64/")
LINUX_PACKAGE = ("/usr/local/", "/opt/", "/snap/", "/nix/store/", "/var/lib/flatpak/",
                 "/home/linuxbrew/")
LINUX_USER = ("/home/", "/root/")
#: The subject of the certificate Apple signs its platform binaries with.
APPLE_PLATFORM_SUBJECT = "Software Signing"


def lit(text: str | None) -> str:
    """A SQL string literal."""
    if text is None:
        return "NULL"
    return "'" + text.replace("'", "''") + "'"


def sql_list(values: tuple[str, ...] | frozenset[str]) -> str:
    """``'a', 'b'`` for an ``IN (...)`` list."""
    return ", ".join(lit(v) for v in sorted(values))


def entity_key(expr: str) -> str:
    """BIGINT stand-in for ``pidversion`` from a process's unique string key (NULL for none)."""
    return (f"CASE WHEN nullif({expr}, '') IS NOT NULL "
            f"THEN ('0x' || left(md5({expr}), 15))::BIGINT END")


def time_us(expr: str, tz: str | None) -> str:
    """Epoch µs of an ISO 8601 time (µs kept, finer digits dropped); zone-less times in ``tz``."""
    zone = lit(tz or "UTC")
    return (f"CASE WHEN regexp_full_match({expr}, '{_ZONED}') "
            f"THEN epoch_us(TRY_CAST({expr} AS TIMESTAMPTZ)) "
            f"WHEN regexp_full_match({expr}, '{_LOCAL}') "
            f"THEN epoch_us(timezone({zone}, TRY_CAST({expr} AS TIMESTAMP))) END")


def base_name(expr: str) -> str:
    """The lower-case last component of a path."""
    return f"lower(regexp_extract({expr}, '[^/]*$'))"


def env_kept(list_expr: str) -> str:
    """The ``KEY=VALUE`` entries of an environment list that DESIGN §3 keeps; the rest never leave
    DuckDB."""
    return f"list_filter({list_expr}, lambda e: regexp_matches(e, '{_ENV_RE}'))"


def env_select(platform: str = "platform") -> str:
    """Process columns from the kept environment (a column named ``env_kept``)."""
    env = es.env_value
    return f"""
    {env("SSH_AUTH_SOCK")} AS auth_sock_raw,
    CASE WHEN {platform} = 'linux' THEN regexp_replace(auth_sock_raw, '/{{2,}}', '/', 'g')
         ELSE {es.norm_path("auth_sock_raw")} END AS auth_sock,
    TRY_CAST({env("SUDO_UID")} AS BIGINT) AS sudo_uid, {env("SUDO_USER")} AS sudo_user,
    {env("USER")} AS env_user, {env("LOGNAME")} AS env_logname, {env("HOME")} AS env_home,
    {env("TMPDIR")} AS env_tmpdir, {env("SSH_CONNECTION")} AS ssh_connection,
    {env("SSH_CLIENT")} AS ssh_client"""


def args_select(args: str, exe: str) -> str:
    """``is_ssh_client``, ``argc`` and ``args`` reduced as DESIGN §3 says (full and redacted for
    ssh-family programs and argv naming an agent socket; ``args[0]`` otherwise)."""
    redact = es._redact("a", f"{args}[i - 1]")
    return f"""
    {base_name(exe)} IN ({sql_list(es.SSH_CLIENTS)}) AS is_ssh_client,
    CASE WHEN {args} IS NULL THEN NULL
         WHEN coalesce(is_ssh_client, false) OR coalesce(list_bool_or(list_transform({args},
              lambda a: regexp_matches(a, '{es._AGENT_ARG_RE}'))), false)
         THEN list_transform({args}, lambda a, i: {redact})
         ELSE {args}[1:1] END AS args"""


def _prefixes(expr: str, prefixes: tuple[str, ...]) -> str:
    return "(" + " OR ".join(f"starts_with({expr}, {lit(p)})" for p in prefixes) + ")"


def classes_select(exe: str, platform: str, platform_binary: str, team_id: str,
                   signed: str, adhoc: str) -> str:
    """``exe_class``, ``exe_location`` and ``code_signature`` (DESIGN §3) of an executable.

    ``signed`` is true/false when the record says whether the image is signed (NULL: unknown);
    ``adhoc`` is true when a signed image has no certificate.
    """
    mac = es.norm_path(exe)
    base = base_name(exe)
    return f"""
    CASE WHEN {exe} IS NULL THEN NULL
         WHEN {base} IN ({sql_list(es.SSH_FAMILY)}) THEN 'ssh_family'
         WHEN regexp_full_match({base}, '{es._INTERPRETER_RE}') THEN 'interpreter'
         WHEN {base} IN ({sql_list(es.RELAYS)}) THEN 'relay'
         ELSE 'other' END AS exe_class,
    CASE WHEN {exe} IS NULL THEN NULL
         WHEN {platform} = 'linux' THEN CASE
              WHEN {_prefixes(exe, LINUX_TEMP)} THEN 'temp'
              WHEN contains({exe}, '/Downloads/') THEN 'download'
              WHEN {_prefixes(exe, LINUX_SYSTEM)} THEN 'system'
              WHEN {_prefixes(exe, LINUX_PACKAGE)} THEN 'package_manager'
              WHEN {_prefixes(exe, LINUX_USER)} THEN 'user_writable'
              ELSE 'other' END
         WHEN {_prefixes(mac, es.TEMP_DIRS)}
              OR regexp_matches({mac}, '^/private/var/folders/[^/]+/[^/]+/T/') THEN 'temp'
         WHEN contains({exe}, '/Downloads/') THEN 'download'
         WHEN {_prefixes(mac, es.SYSTEM_DIRS)} THEN 'system'
         WHEN starts_with({mac}, '/Applications/') THEN 'app'
         WHEN {_prefixes(mac, es.PACKAGE_DIRS)} THEN 'package_manager'
         WHEN starts_with({mac}, '/Users/') THEN 'user_writable'
         ELSE 'other' END AS exe_location,
    CASE WHEN {platform_binary} THEN 'platform'
         WHEN nullif({team_id}, '') IS NOT NULL THEN 'team'
         WHEN {signed} = false THEN 'unsigned'
         WHEN {signed} AND {adhoc} THEN 'adhoc'
         ELSE 'unknown' END AS code_signature"""


def platform_of(*exprs: str) -> str:
    """``macos``/``linux`` from the first of ``exprs`` that names one, else NULL."""
    cases = " ".join(
        f"WHEN lower({e}) IN ('macos', 'darwin', 'mac os x', 'os x', 'mac') THEN 'macos' "
        f"WHEN lower({e}) = 'linux' THEN 'linux'" for e in exprs
    )
    return f"CASE {cases} END"


def host_of(*exprs: str) -> str:
    """The first non-empty host name among ``exprs``, lower case; ``localhost`` counts as none."""
    parts = ", ".join(f"nullif(nullif(lower(trim({e})), ''), 'localhost')" for e in exprs)
    return f"coalesce({parts})"


#: Connection records (``{rows}``: ``kind`` 'start' or 'end', ``t_us`` the record's time, and the
#: flow columns) to flow rows. An end is merged into the latest start at or before it with the
#: same host, protocol and addresses; each start takes its first end; other ends stand alone.
FLOW_SQL = """
WITH k AS (
    SELECT *, concat_ws('|', coalesce(sensor, ''), coalesce(proto, ''), coalesce(src_ip, ''),
                        coalesce(src_port::VARCHAR, ''), coalesce(dst_ip, ''),
                        coalesce(dst_port::VARCHAR, '')) AS ckey,
           coalesce(start_us, t_us) AS k_t
    FROM {rows}
),
s AS (SELECT * FROM k WHERE kind = 'start'),
e AS (SELECT * FROM k WHERE kind = 'end'),
m AS (
    SELECT e.src_line AS e_line, s.src_line AS s_line, e.t_us AS e_t,
           row_number() OVER (PARTITION BY s.src_line ORDER BY e.t_us, e.src_line) AS n
    FROM e ASOF JOIN s ON e.ckey = s.ckey AND e.t_us >= s.k_t
),
first_end AS (
    SELECT m.s_line, e.* FROM m JOIN e ON e.src_line = m.e_line WHERE m.n = 1
)
SELECT s.src_line, s.src_seq, s.start_us, coalesce(s.end_us, f.end_us, f.t_us) AS end_us,
    s.src_ip, s.src_port, s.dst_ip, s.dst_port, s.proto, s.saw_syn,
    coalesce(f.bytes_out, s.bytes_out) AS bytes_out, coalesce(f.bytes_in, s.bytes_in) AS bytes_in,
    coalesce(f.pkts_out, s.pkts_out) AS pkts_out, coalesce(f.pkts_in, s.pkts_in) AS pkts_in,
    s.sensor, coalesce(s.src_host, f.src_host) AS src_host,
    coalesce(s.dst_host, f.dst_host) AS dst_host, coalesce(s.pid, f.pid) AS pid
FROM s LEFT JOIN first_end f ON f.s_line = s.src_line
UNION ALL
SELECT e.src_line, e.src_seq, e.start_us, coalesce(e.end_us, e.t_us) AS end_us,
    e.src_ip, e.src_port, e.dst_ip, e.dst_port, e.proto, e.saw_syn, e.bytes_out, e.bytes_in,
    e.pkts_out, e.pkts_in, e.sensor, e.src_host, e.dst_host, e.pid
FROM e WHERE e.src_line NOT IN (SELECT e_line FROM m WHERE n = 1)
ORDER BY src_line
"""


def flow_rows(ctx: ReadContext, rows: pa.Table) -> pa.Table:
    """:data:`FLOW_SQL` over connection records."""
    name = f"_endpoint_conn_{id(rows):x}"
    ctx.con.register(name, rows)
    try:
        return ctx.con.sql(FLOW_SQL.replace("{rows}", name)).to_arrow_table()
    finally:
        ctx.con.unregister(name)


def _usable(text: str) -> str | None:
    """Canonical text of an address worth mapping to a host (not loopback, link-local,
    unspecified or multicast: those are shared by every host)."""
    ip = parse_ip(text)
    if ip is None or ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast:
        return None
    return str(ip)


def asset_rows(seen: list[tuple[str, str, int]], origin: str) -> pa.Table:
    """Asset rows from ``(host, addresses, first_t_us)``; ``addresses`` is a JSON string or array
    of strings. One row per (host, address), valid from its first report, open-ended."""
    first: dict[tuple[str, str], int] = {}
    for host, raw, t_us in seen:
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        values = value if isinstance(value, list) else [value]
        for v in values:
            ip = _usable(v) if isinstance(v, str) else None
            if ip is None:
                continue
            key = (host, ip)
            first[key] = min(t_us, first.get(key, t_us))
    if not first:
        return empty("asset")
    rows = []
    for (host, ip), t_us in sorted(first.items()):
        s_hi, s_lo, e_hi, e_lo = network_range(parse_network(ip))
        rows.append({"host": host, "ip": ip, "start_hi": s_hi, "start_lo": s_lo, "end_hi": e_hi,
                     "end_lo": e_lo, "valid_from_us": t_us, "valid_to_us": None,
                     "origin": origin})
    return conform("asset", pa.Table.from_pylist(rows))


# --- unknown keys ---------------------------------------------------------------------------

#: Records inspected per record type, and how far into a file (as in the eslogger reader).
SAMPLE_PER_TYPE = 100
INVENTORY_BYTES = 64 << 20


@dataclass(frozen=True)
class KnownKeys:
    """The documented key paths of one record type: a path in ``known`` is documented (with
    everything under it unless longer documented paths start with it)."""

    known: frozenset[str]

    @cached_property
    def checked(self) -> frozenset[str]:
        """Objects whose keys are compared with the documented ones."""
        out = {""}
        for path in self.known:
            parts = path.split(".")
            out.update(".".join(parts[:i]) for i in range(1, len(parts)))
        return frozenset(out)

    def unknown(self, obj: dict[str, Any], prefix: str = "") -> list[str]:
        """The undocumented key paths in ``obj``, each cut at its first undocumented key."""
        out = []
        for key, value in obj.items():
            path = f"{prefix}{key}"
            if path not in self.known and path not in self.checked:
                out.append(path)
            elif path in self.checked and isinstance(value, dict):
                out.extend(self.unknown(value, path + "."))
        return out


def known_keys(*groups: str) -> KnownKeys:
    """:class:`KnownKeys` from whitespace-separated dotted paths; ``a.{b,c}`` spells ``a.b a.c``."""
    paths = set()
    for group in groups:
        for word in group.split():
            head, brace, rest = word.partition("{")
            if brace:
                paths.update(head + part for part in rest.rstrip("}").split(","))
            else:
                paths.add(word)
    return KnownKeys(frozenset(paths))


def inventory(
    ctx: ReadContext, sample: dict[int, str], keys_for: Callable[[str], KnownKeys | None],
    unwrap: Callable[[dict[str, Any]], tuple[dict[str, Any], list[str]]] | None = None,
) -> tuple[dict[str, dict[str, int]], int]:
    """Count undocumented keys per record type over the sampled lines (``line -> type``).

    ``unwrap`` may take a record apart (an Elasticsearch hit: the document, and the wrapper's own
    undocumented keys). Returns ``{type: {key path: n}}`` and the number of records inspected.
    """
    counts: dict[str, dict[str, int]] = {}
    seen = 0
    size = 0
    last = max(sample, default=0)
    for line, raw, length in iter_lines(ctx.path, ctx.max_line_bytes):
        size += length
        if line > last or size > INVENTORY_BYTES:
            break
        kind = sample.get(line)
        keys = keys_for(kind) if kind is not None else None
        if keys is None or not raw:
            continue
        try:
            obj = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            continue
        if not isinstance(obj, dict):
            continue
        extra: list[str] = []
        if unwrap is not None:
            obj, extra = unwrap(obj)
        seen += 1
        found = counts.setdefault(kind, {})
        for path in [*extra, *keys.unknown(obj)]:
            found[path] = found.get(path, 0) + 1
        if not found:
            del counts[kind]
    return counts, seen


#: The lines inventoried: the first records of each type among the rows (``{rows}``, ``{key}``).
SAMPLE_SQL = """
SELECT src_line, k FROM (
    SELECT src_line, {key} AS k, row_number() OVER (PARTITION BY {key} ORDER BY src_line) AS n
    FROM {rows} WHERE {key} IS NOT NULL
) WHERE n <= {per_type} ORDER BY src_line
"""


def sample_lines(ctx: ReadContext, rows: str, key: str) -> dict[int, str]:
    """``line -> type`` of the first :data:`SAMPLE_PER_TYPE` records of each type."""
    sql = (SAMPLE_SQL.replace("{rows}", rows).replace("{key}", key)
           .replace("{per_type}", str(SAMPLE_PER_TYPE)))
    return dict(ctx.con.sql(sql).fetchall())


def sourced(ctx: ReadContext, table: pa.Table, fmt: str) -> pa.Table:
    """``table`` with the file and format of its source."""
    return constants(table, src_file=ctx.rel, src_format=fmt)


def constants(table: pa.Table, **values: str) -> pa.Table:
    """``table`` with a constant string column per keyword."""
    for col, value in values.items():
        table = table.append_column(col, pa.repeat(pa.scalar(value, pa.string()), table.num_rows))
    return table


def add_tables(
    ctx: ReadContext, result: ReadResult, rows: pa.Table, q: Any, fmt: str, origin: str,
    tables: tuple[str, ...], count: Callable[[str], None], sample: Callable[[str], dict[int, str]],
) -> tuple[list[str | None], dict[int, str]]:
    """The normalised tables of an endpoint reader's parsed ``rows`` (module ``q`` holds its
    ``PROCESS_SQL``, ``CONN_SQL``, ``SPAN_SQL``, ``ASSET_SQL`` and ``<TABLE>_SQL`` for each of
    ``tables``), added to ``result``. ``count`` does the file's accounting and ``sample`` picks
    the lines for the unknown-key inventory, both on the rows' view. Returns up to two of the
    records' hosts (NULL first: some records name none) and the sample."""
    from agenttrail.readers.eslogger import _with_ssh_targets

    con = ctx.con
    raw, name = f"_{fmt}_raw_{id(rows):x}", f"_{fmt}_rows_{id(rows):x}"
    con.register(raw, rows)
    try:
        inferred = "NULL" if ctx.host is None else str(ctx.host_origin == "option").lower()
        con.execute(f"""CREATE TEMP VIEW {name} AS SELECT *,
            coalesce(rec_host, {lit(ctx.host)}) AS host,
            CASE WHEN rec_host IS NOT NULL THEN false ELSE {inferred}::BOOLEAN END AS host_inferred
            FROM {raw}""")
        count(name)
        process = con.sql(q.PROCESS_SQL.replace("{rows}", name)).to_arrow_table()
        if process.num_rows:
            result.add("process", sourced(ctx, _with_ssh_targets(ctx, process), fmt))
        conns = con.sql(q.CONN_SQL.replace("{rows}", name)).to_arrow_table()
        if conns.num_rows:
            result.add("flow", sourced(ctx, flow_rows(ctx, conns), fmt))
        for table in tables:
            out = con.sql(getattr(q, f"{table.upper()}_SQL").replace("{rows}", name)
                          ).to_arrow_table()
            if out.num_rows:
                result.add(table, sourced(ctx, out, fmt))
        spans = con.sql(q.SPAN_SQL.replace("{rows}", name)).to_arrow_table()
        if spans.num_rows:
            result.add("source_span", constants(spans, source=fmt, format=fmt))
        assets = asset_rows(con.sql(q.ASSET_SQL.replace("{rows}", name)).fetchall(), origin)
        if assets.num_rows:
            result.add("asset", assets)
        picked = sample(name)
        hosts = [h for (h,) in con.sql(
            f"SELECT DISTINCT host FROM {name} WHERE kind IS NOT NULL AND t_us IS NOT NULL "
            "ORDER BY host NULLS FIRST LIMIT 2").fetchall()]
    finally:
        con.execute(f"DROP VIEW IF EXISTS {name}")
        con.unregister(raw)
    return hosts, picked


def file_host(ctx: ReadContext, account: FileAccount, hosts: list[str | None],
              fields: str) -> None:
    """The file's host from its records' hosts (``add_tables``), with a warning when some
    records name none (``fields``: where the format keeps it)."""
    account.host = hosts[0] if len(hosts) == 1 and hosts[0] is not None else ctx.host
    if None in hosts:
        account.issues.append(Issue(
            ctx.rel, None, "warning",
            f"some records name no host ({fields}) and none was given; their rows have no host",
            hint="name the host with --host-from-path TEMPLATE or --host NAME",
        ))
