"""AWS VPC Flow Logs (default version 2 and custom formats, versions 3-5 and later) into flows.

Example input (FORMATS §3.8; S3 delivery, header line first)::

    version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
    2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK

Fields are separated by runs of whitespace and found by the header line's names (custom formats
choose their own order); a file without a header (CloudWatch Logs delivery) is read in the
default version 2 order. A later header line (concatenated objects) applies to the lines after
it. ``-`` is NULL.

* ``log-status`` ``NODATA``/``SKIPDATA`` records carry no traffic: counted in
  ``skipped_by_type`` under the status;
* the endpoints are ``pkt-srcaddr``/``pkt-dstaddr`` when present (behind NAT, a transit gateway or
  a load balancer ``srcaddr``/``dstaddr`` are interface addresses), else ``srcaddr``/``dstaddr``;
* ``start``/``end`` are epoch seconds of the aggregation window (not of the connection);
* ``protocol`` becomes the lower-case name; ``action`` (ACCEPT/REJECT) is the row's ``state``;
* ``tcp-flags`` (version 3+): ``saw_syn`` when the SYN bit (2) is set; 2 without ACK marks the
  client's record, SYN-ACK (18) the server's, which decides the direction of a pair;
* ``sensor``: ``interface-id``, else ``account-id``, else the file name.

One record per interface, direction and window: the two directions on one interface in
overlapping windows are paired into one connection row, oriented client → server, as
:mod:`agenttrail.readers._flowrec` describes. VPC logs do no protocol detection: ``is_ssh`` is
left to the port rule of normalisation. A record is malformed when its field count differs from
the header's, or (for ``OK`` records) an address, port or window time is unreadable.

References: AWS VPC User Guide, "Flow log records" and "Flow log record examples"
(awsdocs/amazon-vpc-user-guide ``doc_source/flow-logs.md``, ``flow-logs-records-examples.md``).
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.model import FileAccount, Issue, ReadResult
from agenttrail.readers import _flowrec as fr
from agenttrail.readers._io import ReadContext, excerpt, head_lines

NAME = "vpcflow"
EXAMPLE = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start "
    "end action log-status\n"
    "2 123456789012 eni-1235b8ca123456789 10.10.1.35 10.20.0.11 58583 22 6 31 5230 1772446519 "
    "1772446549 ACCEPT OK"
)
NEEDS_HOST = False

#: The default format (version 2), also the order of a file without a header.
DEFAULT_FIELDS = ("version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport",
                  "dstport", "protocol", "packets", "bytes", "start", "end", "action",
                  "log-status")
#: Fields of versions 3-5 (and later ones this reader does not use but accepts).
KNOWN_FIELDS = frozenset({
    *DEFAULT_FIELDS, "vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr",
    "pkt-dstaddr", "region", "az-id", "sublocation-type", "sublocation-id",
    "pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path",
    "ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn",
    "ecs-container-instance-id", "ecs-container-id", "ecs-second-container-id",
    "ecs-service-name", "ecs-task-definition-arn", "ecs-task-arn", "ecs-task-id",
    "reject-reason",
})
STATUSES = ("OK", "NODATA", "SKIPDATA")
#: The record values the reader uses, by field name.
USED = {
    "account-id": "account", "interface-id": "iface", "srcaddr": "srcaddr",
    "dstaddr": "dstaddr", "srcport": "srcport", "dstport": "dstport", "protocol": "protocol",
    "packets": "packets", "bytes": "bytes", "start": "w_start", "end": "w_end",
    "action": "action", "log-status": "status", "tcp-flags": "tcp_flags",
    "pkt-srcaddr": "pkt_src", "pkt-dstaddr": "pkt_dst",
}
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")


def _is_header(tokens: list[str]) -> bool:
    """Field names only, mostly known ones (later versions add fields), with the addresses and a
    time or status field."""
    names = set(tokens)
    return (
        bool(tokens) and all(_NAME_RE.match(t) for t in tokens)
        and 4 * len(names & KNOWN_FIELDS) >= 3 * len(names)
        and ({"srcaddr", "dstaddr"} <= names or {"pkt-srcaddr", "pkt-dstaddr"} <= names)
        and bool(names & {"start", "end", "log-status", "action", "version"})
    )


def sniff(head: bytes) -> bool:
    """A VPC header line, or a headerless default-format record (``2 <account> eni-... OK``)."""
    lines = head_lines(head, 2)
    if not lines:
        return False
    tokens = lines[0].split()
    if _is_header(tokens):
        return True
    return (len(tokens) == len(DEFAULT_FIELDS) and tokens[0] == "2"
            and (tokens[2].startswith("eni-") or tokens[2] == "-") and tokens[-1] in STATUSES)


def read(ctx: ReadContext) -> ReadResult:
    """Read one VPC flow log into ``flow`` rows with exact accounting."""
    account = FileAccount(path=ctx.rel, format=NAME)
    result = ReadResult(account)
    lines = fr.text_lines(ctx, account)
    rec = _records(ctx, account, lines)
    rec = fr.abandon(ctx, account, rec, "status_kind")
    _account(ctx, account, rec, lines)
    good = rec.filter(pc.equal(rec.column("status_kind"), "record"))
    if good.num_rows == 0:
        return result
    flows = fr.connections(ctx.con, good, 0)
    account.details["paired"] = int(pc.sum(flows.column("paired")).as_py() or 0)
    account.details["turned"] = int(pc.sum(flows.column("turned")).as_py() or 0)
    n = flows.num_rows
    flows = flows.drop_columns(["paired", "turned"])
    flows = flows.append_column("src_file", pa.array([ctx.rel] * n, pa.string()))
    flows = flows.append_column("src_format", pa.array([NAME] * n, pa.string()))
    result.add("flow", flows)
    return result


def _records(ctx: ReadContext, account: FileAccount, lines: pa.Table) -> pa.Table:
    """Every line with its status, problem and the record values (not the line itself).

    Header lines are few: they are found with a cheap filter and read in Python; each data line
    takes the fields of the nearest header above it (the default order before any header).
    """
    con = ctx.con
    view = f"_vpc_{id(lines):x}"
    con.register(view, lines)
    cut = f"_vpc_cut_{id(lines):x}"
    try:
        candidates = con.sql(
            f"SELECT src_line, text FROM {view} WHERE regexp_matches(text, '^\\s*[a-z]') "
            "ORDER BY src_line").fetchall()
        layouts: list[tuple[str, ...]] = [DEFAULT_FIELDS]
        starts: list[int] = []
        for line, text in candidates:
            tokens = text.split()
            if _is_header(tokens):
                layouts.append(tuple(tokens))
                starts.append(line)
        if starts:
            account.details["fields"] = list(layouts[-1])
        layout_of = "CASE " + " ".join(
            f"WHEN src_line >= {line} THEN {i}" for i, line in reversed(list(enumerate(starts, 1)))
        ) + " ELSE 0 END" if starts else "0"
        headers = ", ".join(str(line) for line in starts) or "NULL"
        tokens = ("CASE WHEN contains(text, '  ') OR contains(text, chr(9)) "
                  "THEN regexp_split_to_array(trim(text), '\\s+') "
                  "ELSE string_split(trim(text), ' ') END")
        parts = []
        for i, fields in enumerate(layouts):
            pos = {f: k + 1 for k, f in reversed(list(enumerate(fields)))}
            cols = ", ".join(
                f"NULLIF(t[{pos[f]}], '-') AS {col}" if f in pos else f"NULL::VARCHAR AS {col}"
                for f, col in USED.items()
            )
            parts.append(
                f"SELECT src_line, is_header, len(t) AS n, {len(fields)} AS want, "
                f"{'true' if i == 0 else 'false'} AS headerless, {cols} FROM l WHERE layout = {i}"
            )
        con.execute(
            f"CREATE TEMP TABLE {cut} AS WITH l AS (SELECT src_line, {layout_of} AS layout, "
            f"src_line IN ({headers}) AS is_header, {tokens} AS t FROM {view}) "
            + " UNION ALL ".join(parts)
        )
    finally:
        con.unregister(view)
    try:
        proto = fr.proto_map_sql(con, cut, "protocol")
        addr = con.sql(
            f"SELECT coalesce(pkt_src, srcaddr) AS s_ip, coalesce(pkt_dst, dstaddr) AS d_ip "
            f"FROM {cut}"
        ).to_arrow_table()
        ok = pa.table({"s_ok": fr.is_address(addr.column("s_ip")),
                       "d_ok": fr.is_address(addr.column("d_ip"))})
        okv = f"_vpc_ok_{id(lines):x}"
        con.register(okv, ok)
        try:
            return _typed(ctx, cut, okv, proto)
        finally:
            con.unregister(okv)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {cut}")


def _typed(ctx: ReadContext, cut: str, ok: str, proto: str) -> pa.Table:
    """The record values typed, with ``status_kind`` and ``problem`` (``ok``: the address
    checks, row for row with ``cut``)."""
    con = ctx.con
    flags = "try_cast(tcp_flags AS BIGINT)"
    return con.sql(f"""
        WITH a AS (
            SELECT *, {proto} AS proto_name,
                coalesce(pkt_src, srcaddr) AS s_ip, coalesce(pkt_dst, dstaddr) AS d_ip,
                try_cast(w_start AS BIGINT) * 1000000 AS start_us,
                try_cast(w_end AS BIGINT) * 1000000 AS end_us,
                upper(coalesce(status, 'OK')) AS st
            FROM {cut} POSITIONAL JOIN {ok}),
        p AS (
            SELECT *, CASE
                WHEN is_header THEN NULL
                WHEN n <> want AND headerless
                    THEN n || ' fields where the default format has ' || want || ' (no header)'
                WHEN n <> want THEN n || ' fields where the header declares ' || want
                WHEN st <> 'OK' THEN NULL
                WHEN NOT s_ok THEN 'source ' || coalesce(s_ip, 'unset') || ' is not an address'
                WHEN NOT d_ok
                    THEN 'destination ' || coalesce(d_ip, 'unset') || ' is not an address'
                WHEN proto_name IN {fr.PORTED!r} AND NOT ({fr.port_ok_sql('srcport')}
                     AND {fr.port_ok_sql('dstport')})
                    THEN 'port ' || coalesce(srcport, 'unset') || ' or '
                         || coalesce(dstport, 'unset') || ' is not a port'
                WHEN start_us IS NULL THEN 'start ' || coalesce(w_start, 'unset')
                    || ' is not epoch seconds'
                END AS problem
            FROM a)
        SELECT src_line, problem,
            CASE WHEN is_header THEN 'meta' WHEN problem IS NOT NULL THEN 'malformed'
                 WHEN st <> 'OK' THEN 'skip' ELSE 'record' END AS status_kind,
            st AS log_status,
            coalesce(iface, account, {fr.lit(ctx.rel)}) AS grp,
            coalesce(iface, account, {fr.lit(ctx.rel)}) AS sensor,
            proto_name AS proto, s_ip AS src_ip, try_cast(srcport AS BIGINT) AS src_port,
            d_ip AS dst_ip, try_cast(dstport AS BIGINT) AS dst_port, start_us, end_us,
            try_cast(packets AS BIGINT) AS pkts, try_cast(bytes AS BIGINT) AS bytes,
            NULL::BIGINT AS rpkts, NULL::BIGINT AS rbytes, false AS bidir,
            CASE WHEN proto_name <> 'tcp' THEN NULL ELSE ({flags} & 2) <> 0 END AS syn,
            CASE WHEN proto_name <> 'tcp' THEN NULL
                 ELSE ({flags} & 2) <> 0 AND ({flags} & 16) = 0 END AS pure_syn,
            CASE WHEN proto_name <> 'tcp' THEN NULL ELSE ({flags} & 18) = 18 END AS synack,
            action AS state
        FROM p ORDER BY src_line
        """).to_arrow_table()


def _account(ctx: ReadContext, account: FileAccount, rec: pa.Table, lines: pa.Table) -> None:
    kinds = rec.column("status_kind").to_pylist()
    account.meta += kinds.count("meta")
    account.normalised += kinds.count("record")
    account.malformed += kinds.count("malformed")
    skipped = rec.filter(pc.equal(rec.column("status_kind"), "skip")).column("log_status")
    for status in skipped.to_pylist():
        account.skip(status)
    bad = rec.filter(pc.equal(rec.column("status_kind"), "malformed"))
    texts = fr.line_texts(lines, bad.column("src_line"))
    for line, problem in zip(bad.column("src_line").to_pylist(),
                             bad.column("problem").to_pylist(), strict=True):
        account.issues.append(Issue(ctx.rel, line, "malformed", problem,
                                    excerpt(texts.get(line, ""))))
