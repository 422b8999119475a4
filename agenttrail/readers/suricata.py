"""Suricata EVE JSON lines: ``flow`` and ``ssh`` events into ``flow`` rows, ``dns`` into ``dns``.

Example inputs (FORMATS §3.6)::

    {"timestamp":"2020-03-05T02:49:17.000632+0000","flow_id":837750155345603,"in_iface":"eth0",
     "event_type":"flow","src_ip":"45.141.86.128","src_port":59315,"dest_ip":"172.31.8.201",
     "dest_port":22,"proto":"TCP","app_proto":"ssh","flow":{"pkts_toserver":18,
     "pkts_toclient":16,"bytes_toserver":2982,"bytes_toclient":3477,
     "start":"2020-03-05T02:48:11.360131+0000","end":"2020-03-05T02:48:16.753392+0000",
     "state":"closed",...},"tcp":{"tcp_flags":"db","tcp_flags_ts":"db","syn":true,...}}
    {"timestamp":"...","flow_id":283589856884159,"event_type":"ssh",...,"ssh":{"client":
     {"proto_version":"2.0","software_version":"paramiko_1.8.1"},"server":{...}}}

* ``flow`` → a ``flow`` row (``flow_part`` ``conn``): the flow's own ``src``/``dest`` (inside
  ``flow`` in newer versions, else the top level; the originator is the client), ``flow.start``
  and ``flow.end`` with their offsets (the record's ``timestamp`` is when it was logged), counters
  to server (out) and to client (in), ``flow.state``, ``saw_syn`` from the client's flags
  (``tcp_flags_ts``, else ``tcp_flags``, else ``tcp.syn``; NULL without a ``tcp`` object),
  ``app_proto`` ``ssh`` → ``is_ssh`` with evidence ``service``, ``flow_id`` as ``flow_uid``,
  ``host`` (the sensor name) or ``in_iface`` as ``sensor``. ``proto`` (``"TCP"`` or
  ``"006"``) becomes the lower-case name.
* ``ssh`` → a ``flow`` row (``flow_part`` ``ssh``) carrying the banners, rebuilt as
  ``SSH-<proto_version>-<software_version>``; normalisation merges it into the flow with the same
  ``flow_id``, as it merges Zeek's ssh.log into conn.log; without a flow record it stays a flow of
  its own (start = its ``timestamp``). Suricata logs no authentication outcome.
* ``dns`` → one ``dns`` row per A/AAAA answer: the v2 ``answers`` list (or ``grouped`` when it is
  the only layout; no TTL there), Suricata 8's ``queries``/``answers``, or a v1 per-record
  ``answer`` event. ``query`` is the question's name (v1: the record's ``rrname``); ``client_ip``
  is the side that is not port 53. A query, or an answer without an address, is counted in
  ``skipped_by_type`` as ``dns_query`` / ``dns_no_address``.
* any other ``event_type`` (``alert``, ``stats``, ``http``, ``tls``, ``fileinfo``, ``anomaly``,
  ...) is counted in ``skipped_by_type`` under its name.

A line is malformed when it is not a JSON object, has no ``event_type``, or (for the events read)
an address that is not one, a TCP/UDP port that is not one, or no readable time. Events without a
``flow_id`` keep ``flow_part`` NULL (they cannot be merged). Duplicate JSON keys: DuckDB's reading
applies (the first one wins).

References: Suricata documentation "EVE JSON Format" (``output/eve/eve-json-format``) and
``etc/schema.json``; OISF/suricata ``src/output-json-flow.c``, ``src/output-json-dns.c``.
"""

from __future__ import annotations

import json
import re

import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.model import FileAccount, Issue, ReadResult
from agenttrail.readers import _flowrec as fr
from agenttrail.readers._io import ReadContext, excerpt, head_lines, read_ndjson

NAME = "suricata"
EXAMPLE = (
    '{"timestamp":"2026-03-02T10:15:49.088+0000","flow_id":1910046664381883,"event_type":"flow",'
    '"src_ip":"10.10.1.35","src_port":58583,"dest_ip":"10.20.0.11","dest_port":22,"proto":"TCP",'
    '"app_proto":"ssh","flow":{"pkts_toserver":31,"pkts_toclient":29,"bytes_toserver":5230,'
    '"bytes_toclient":6841,"start":"2026-03-02T10:15:19.087+0000","end":'
    '"2026-03-02T10:15:49.088+0000","age":30,"state":"closed","reason":"timeout"},'
    '"tcp":{"tcp_flags":"1b","syn":true,"fin":true,"psh":true,"ack":true,"state":"closed"}}'
)
NEEDS_HOST = False

_SOFTWARE = ("STRUCT(proto_version VARCHAR, software_version VARCHAR, "
             "hassh STRUCT(hash VARCHAR, string VARCHAR))")
#: The explicit read_ndjson schema. Leaves are VARCHAR so a value of an unexpected JSON type
#: becomes NULL (or its text) instead of failing the line; ``dns`` stays JSON (three layouts).
COLUMNS = {
    "timestamp": "VARCHAR",
    "flow_id": "VARCHAR",
    "event_type": "VARCHAR",
    "src_ip": "VARCHAR",
    "src_port": "VARCHAR",
    "dest_ip": "VARCHAR",
    "dest_port": "VARCHAR",
    "proto": "VARCHAR",
    "app_proto": "VARCHAR",
    "in_iface": "VARCHAR",
    "host": "VARCHAR",
    "flow": ("STRUCT(pkts_toserver VARCHAR, pkts_toclient VARCHAR, bytes_toserver VARCHAR, "
             "bytes_toclient VARCHAR, start VARCHAR, \"end\" VARCHAR, state VARCHAR, "
             "src_ip VARCHAR, dest_ip VARCHAR, src_port VARCHAR, dest_port VARCHAR)"),
    "tcp": "STRUCT(tcp_flags VARCHAR, tcp_flags_ts VARCHAR, syn VARCHAR)",
    "ssh": f"STRUCT(client {_SOFTWARE}, server {_SOFTWARE})",
    "dns": "JSON",
}

#: Event types that become rows; every other one is skipped by type.
READ_EVENTS = ("flow", "ssh", "dns")
ADDRESS_TYPES = ("A", "AAAA")

_HEAD_RE = re.compile(rb'^\s*\{.*"(timestamp|event_type)"\s*:\s*"', re.S)


def sniff(head: bytes) -> bool:
    """JSON objects with a string ``event_type`` and a ``timestamp`` (plus ``flow_id`` or
    ``src_ip``, or a ``stats`` record)."""
    for line in head_lines(head, 5):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        return _is_eve(obj)
    # a first record longer than the head (a big stats record)
    return bool(_HEAD_RE.match(head[:4096])) and b'"event_type"' in head and b'"timestamp"' in head


def _is_eve(obj: object) -> bool:
    if not isinstance(obj, dict) or not isinstance(obj.get("event_type"), str):
        return False
    if not isinstance(obj.get("timestamp"), str):
        return False
    return "flow_id" in obj or "src_ip" in obj or obj["event_type"] == "stats"


def read(ctx: ReadContext) -> ReadResult:
    """Read one EVE file into ``flow`` and ``dns`` rows, accounting every line."""
    account = FileAccount(path=ctx.rel, format=NAME)
    result = ReadResult(account)
    rec = read_ndjson(ctx, COLUMNS, account, select=_select_list())
    con = ctx.con
    view = f"_eve_{id(rec):x}"
    rec = rec.append_column("s_ok", fr.is_address(rec.column("s_ip")))
    rec = rec.append_column("d_ok", fr.is_address(rec.column("d_ip")))
    con.register(view, rec)
    try:
        dns = _dns_rows(ctx, view)
        con.register(f"{view}_dns", dns.select(["src_line", "line_ok"]))
        status = con.sql(_status_sql(view)).to_arrow_table()
    finally:
        con.unregister(view)
        con.unregister(f"{view}_dns")
    _account(ctx, account, status)
    con.register(view, status)
    try:
        flows = con.sql(_flow_sql(ctx, view)).to_arrow_table()
    finally:
        con.unregister(view)
    if flows.num_rows:
        result.add("flow", flows)
    dns = dns.filter(dns.column("line_ok")).drop_columns(["line_ok"])
    if dns.num_rows:
        n = dns.num_rows
        dns = dns.append_column("src_file", pa.array([ctx.rel] * n, pa.string()))
        dns = dns.append_column("src_format", pa.array([NAME] * n, pa.string()))
        result.add("dns", dns)
    return result


# --- classification ----------------------------------------------------------------------------


def _select_list() -> str:
    """The values the tables need, evaluated inside ``read_ndjson`` (before Arrow)."""
    is_flow = "event_type = 'flow'"

    def pick(key: str) -> str:
        return f"CASE WHEN {is_flow} THEN coalesce(flow.{key}, {key}) ELSE {key} END"

    return f"""
        event_type, flow_id, {pick('src_ip')} AS s_ip, {pick('dest_ip')} AS d_ip,
        {pick('src_port')} AS s_port, {pick('dest_port')} AS d_port,
        {fr.proto_sql('proto')} AS proto_name, lower(app_proto) AS app_proto,
        coalesce(host, in_iface) AS sensor, timestamp, {fr.time_us_sql('timestamp')} AS ts_us,
        flow.start AS f_start, {fr.time_us_sql('flow.start')} AS start_us,
        {fr.time_us_sql('flow."end"')} AS end_us, flow.state AS f_state,
        try_cast(flow.pkts_toserver AS BIGINT) AS pkts_out,
        try_cast(flow.pkts_toclient AS BIGINT) AS pkts_in,
        try_cast(flow.bytes_toserver AS BIGINT) AS bytes_out,
        try_cast(flow.bytes_toclient AS BIGINT) AS bytes_in,
        {_syn_sql()} AS saw_syn,
        ssh.client.proto_version AS c_ver, ssh.client.software_version AS c_sw,
        ssh.server.proto_version AS s_ver, ssh.server.software_version AS s_sw,
        CAST(dns AS VARCHAR) AS dns
    """


def _syn_sql() -> str:
    """The SYN bit of the client's flags (hex), else of both directions', else ``tcp.syn``."""
    def bit(col: str) -> str:
        return (f"CASE WHEN regexp_full_match({col}, '[0-9a-fA-F]{{1,2}}') THEN "
                f"(CAST(('0x' || {col}) AS INTEGER) & 2) <> 0 END")
    return (f"CASE WHEN tcp IS NULL THEN NULL ELSE coalesce({bit('tcp.tcp_flags_ts')}, "
            f"{bit('tcp.tcp_flags')}, try_cast(tcp.syn AS BOOLEAN)) END")


def _dns_rows(ctx: ReadContext, view: str) -> pa.Table:
    """The A/AAAA answers of the ``dns`` records, with ``src_line`` and ``line_ok`` (the record
    has a readable time)."""
    rr = '[{"rrname": "VARCHAR", "rrtype": "VARCHAR", "ttl": "VARCHAR", "rdata": "VARCHAR"}]'
    sql = f"""
    WITH d AS (
        SELECT src_line, ts_us, sensor, s_ip, d_ip, s_port, d_port, CAST(dns AS JSON) AS j
        FROM {view} WHERE event_type = 'dns' AND json_valid(dns)),
    e AS (
        SELECT *, j->>'type' AS dtype,
            coalesce(j->'queries'->0->>'rrname', j->>'rrname') AS qname,
            coalesce(json_type(j->'answers') = 'ARRAY', false) AS has_answers,
            coalesce(json_type(j->'grouped') = 'OBJECT', false) AS has_grouped
        FROM d),
    a AS (
        SELECT src_line, qname, unnest(from_json(j->'answers', '{rr}')) AS x
        FROM e WHERE has_answers),
    g AS (
        SELECT src_line, qname, v.t AS rrtype,
            unnest(from_json(j->'grouped'->v.t, '["VARCHAR"]')) AS rdata
        FROM e, (VALUES ('A'), ('AAAA')) v(t)
        WHERE has_grouped AND NOT has_answers
          AND coalesce(json_type(j->'grouped'->v.t) = 'ARRAY', false)),
    one AS (
        SELECT src_line, j->>'rrname' AS qname, j->>'rrtype' AS rrtype,
            j->>'rdata' AS rdata, j->>'ttl' AS ttl
        FROM e WHERE NOT has_answers AND NOT has_grouped AND lower(dtype) = 'answer'),
    ans AS (
        SELECT src_line, coalesce(qname, x.rrname) AS query, x.rrtype AS rrtype,
            x.rdata AS rdata, x.ttl AS ttl FROM a
        UNION ALL SELECT src_line, qname, rrtype, rdata, NULL FROM g
        UNION ALL SELECT src_line, qname, rrtype, rdata, ttl FROM one)
    SELECT ans.src_line, e.ts_us AS t_us, e.sensor,
        CASE WHEN try_cast(e.s_port AS INTEGER) = 53
                  AND coalesce(try_cast(e.d_port AS INTEGER), 0) <> 53
             THEN e.d_ip ELSE e.s_ip END AS client_ip,
        ans.query, trim(ans.rdata) AS answer_ip, try_cast(ans.ttl AS BIGINT) AS ttl,
        e.ts_us IS NOT NULL AS line_ok
    FROM ans JOIN e USING (src_line)
    WHERE upper(ans.rrtype) IN {ADDRESS_TYPES!r} AND ans.rdata IS NOT NULL
    ORDER BY ans.src_line, ans.rdata
    """
    out = ctx.con.sql(sql).to_arrow_table()
    return out.filter(fr.is_address(out.column("answer_ip"))) if out.num_rows else out


def _status_sql(view: str) -> str:
    """Every record with its ``issue`` (malformed) or ``skip`` key; both NULL when normalised."""
    ported = f"proto_name IN {fr.PORTED!r}"
    ports = " ".join(
        f"WHEN ({col} IS NOT NULL OR {ported}) AND NOT {fr.port_ok_sql(col)} THEN "
        f"event_type || ' record: {name} ' || coalesce({col}, 'unset') || ' is not a port'"
        for col, name in (("s_port", "src_port"), ("d_port", "dest_port"))
    )
    return f"""
    WITH dl AS (SELECT src_line, bool_or(line_ok) AS ok FROM {view}_dns GROUP BY src_line)
    SELECT r.*, CASE
            WHEN event_type IS NULL THEN 'record without event_type'
            WHEN event_type = 'dns' AND dl.ok = false
                THEN 'dns record: timestamp ' || coalesce(timestamp, 'unset') || ' is not a time'
            WHEN event_type NOT IN ('flow', 'ssh') THEN NULL
            WHEN s_ip IS NULL THEN event_type || ' record without src_ip'
            WHEN NOT s_ok THEN event_type || ' record: src_ip ' || s_ip || ' is not an address'
            WHEN d_ip IS NULL THEN event_type || ' record without dest_ip'
            WHEN NOT d_ok THEN event_type || ' record: dest_ip ' || d_ip || ' is not an address'
            {ports}
            WHEN event_type = 'flow' AND start_us IS NULL
                THEN 'flow record: flow.start ' || coalesce(f_start, 'unset') || ' is not a time'
            WHEN event_type = 'ssh' AND ts_us IS NULL
                THEN 'ssh record: timestamp ' || coalesce(timestamp, 'unset') || ' is not a time'
        END AS issue,
        CASE WHEN event_type IN {READ_EVENTS!r} AND event_type <> 'dns' THEN NULL
             WHEN event_type = 'dns' AND dl.ok THEN NULL
             WHEN event_type = 'dns' AND lower(CAST(dns AS JSON)->>'type') IN ('query', 'request')
                THEN 'dns_query'
             WHEN event_type = 'dns' THEN 'dns_no_address'
             ELSE event_type END AS skip
    FROM {view} r LEFT JOIN dl USING (src_line)
    ORDER BY src_line
    """


def _account(ctx: ReadContext, account: FileAccount, status: pa.Table) -> None:
    """Count every record and report the malformed ones with an excerpt of their line."""
    for (skip, bad), n in _group_counts(status).items():
        if bad:
            account.malformed += n
        elif skip is None:
            account.normalised += n
        else:
            account.skip(skip, n)
    bad = status.filter(pc.is_valid(status.column("issue")))
    lines = bad.column("src_line").to_pylist()
    texts = _lines(ctx, set(lines))
    for line, issue in zip(lines, bad.column("issue").to_pylist(), strict=True):
        account.issues.append(Issue(ctx.rel, line, "malformed", issue, excerpt(texts.get(line, ""))))


def _group_counts(status: pa.Table) -> dict[tuple[str | None, bool], int]:
    keyed = pa.table({
        "skip": status.column("skip"), "bad": pc.is_valid(status.column("issue")),
    }).group_by(["skip", "bad"], use_threads=False).aggregate([([], "count_all")])
    return {
        (s, b): n for s, b, n in zip(keyed.column("skip").to_pylist(),
                                     keyed.column("bad").to_pylist(),
                                     keyed.column("count_all").to_pylist(), strict=True)
    }


def _lines(ctx: ReadContext, wanted: set[int]) -> dict[int, str]:
    """The text of the ``wanted`` lines (only malformed ones), in one pass over the file."""
    out: dict[int, str] = {}
    if not wanted:
        return out
    last = max(wanted)
    with ctx.path.open("rb") as f:
        for i, raw in enumerate(f, 1):
            if i in wanted:
                out[i] = raw[:1000].decode("utf-8", errors="replace").rstrip("\r\n")
            if i >= last:
                break
    return out


def _flow_sql(ctx: ReadContext, view: str) -> str:
    def banner(ver: str, sw: str) -> str:
        return (f"CASE WHEN {sw} IS NULL THEN NULL WHEN {ver} IS NULL THEN {sw} "
                f"ELSE 'SSH-' || {ver} || '-' || {sw} END")

    flow, ssh = "event_type = 'flow'", "event_type = 'ssh'"
    ssh_service = "app_proto = 'ssh'"
    has_banner = "(c_sw IS NOT NULL OR s_sw IS NOT NULL)"
    return f"""
        SELECT src_line,
            CASE WHEN flow_id IS NULL THEN NULL WHEN {flow} THEN 'conn' ELSE 'ssh' END
                AS flow_part,
            CASE WHEN {flow} THEN start_us ELSE ts_us END AS start_us,
            CASE WHEN {flow} THEN end_us END AS end_us,
            s_ip AS src_ip, try_cast(s_port AS BIGINT) AS src_port,
            d_ip AS dst_ip, try_cast(d_port AS BIGINT) AS dst_port, proto_name AS proto,
            CASE WHEN {flow} THEN f_state END AS state,
            CASE WHEN {flow} THEN saw_syn END AS saw_syn,
            CASE WHEN {flow} THEN bytes_out END AS bytes_out,
            CASE WHEN {flow} THEN bytes_in END AS bytes_in,
            CASE WHEN {flow} THEN pkts_out END AS pkts_out,
            CASE WHEN {flow} THEN pkts_in END AS pkts_in,
            CASE WHEN {ssh} OR {ssh_service} THEN true END AS is_ssh,
            CASE WHEN {ssh} AND {has_banner} THEN 'banner'
                 WHEN {ssh} OR {ssh_service} THEN 'service' END AS ssh_evidence,
            CASE WHEN {ssh} THEN {banner('c_ver', 'c_sw')} END AS client_banner,
            CASE WHEN {ssh} THEN {banner('s_ver', 's_sw')} END AS server_banner,
            sensor, flow_id AS flow_uid,
            {fr.lit(ctx.rel)} AS src_file, {fr.lit(NAME)} AS src_format
        FROM {view} WHERE issue IS NULL AND event_type IN ('flow', 'ssh') ORDER BY src_line
    """
