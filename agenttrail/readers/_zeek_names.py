"""Zeek ``dns.log`` and ``dhcp.log`` for the ``zeek`` reader: names and addresses over time.

* ``dns.log`` → one ``dns`` row per answer that is an address (A/AAAA answers; CNAME names, PTR
  names and TXT texts are not): ``query`` → ``answer_ip`` with the answer's TTL (``TTLs`` holds
  one interval per answer, in the same order), ``client_ip`` = ``id.orig_h``, ``sensor`` =
  ``_system_name``. A record without such an answer is counted as ``dns_no_address``.
* ``dhcp.log`` → one ``asset`` row per lease: the client's ``host_name`` (else ``client_fqdn``),
  lower case, ↔ ``assigned_addr`` (Bro 2.x: ``assigned_ip``), valid from the record's ``ts`` for
  ``lease_time`` (open-ended when unset), origin ``zeek_dhcp``. A record without an assigned
  address is ``dhcp_no_lease``; one without a host name ``dhcp_no_name``.

Both logs come as TSV (vectors joined by the set separator, re-joined with ``,`` by the framing)
or JSON (arrays). References: zeek/zeek ``scripts/base/protocols/dns/main.zeek``,
``scripts/base/protocols/dhcp/main.zeek``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.addr import halves, parse_ip
from agenttrail.model import conform
from agenttrail.readers._flowrec import is_address

if TYPE_CHECKING:
    from agenttrail.readers._io import ReadContext

NAME_PATHS = ("dns", "dhcp")

#: Normalised name -> Zeek field names, added to the reader's FIELDS.
FIELDS: dict[str, tuple[str, ...]] = {
    "query": ("query",),
    "answers": ("answers",),
    "ttls": ("TTLs",),
    "assigned": ("assigned_addr", "assigned_ip"),
    "host_name": ("host_name",),
    "client_fqdn": ("client_fqdn",),
    "lease_time": ("lease_time",),
}
#: String columns whose TSV escapes are decoded (not ``answers``: it is split first).
ESCAPED = ("query", "host_name", "client_fqdn")
#: JSON keys that say which log a record without ``_path`` comes from.
DNS_KEYS = ("query", "answers", "TTLs")
DHCP_KEYS = ("assigned_addr", "assigned_ip", "lease_time", "host_name", "client_fqdn")

ORIGIN = "zeek_dhcp"


def issue_sql() -> str:
    """SQL CASE branches (``WHEN ... THEN ...``) for malformed dns/dhcp records."""
    return (
        "WHEN path = 'dhcp' AND assigned IS NOT NULL AND NOT assigned_ok "
        "THEN 'dhcp record: assigned address ' || assigned || ' is not an address' "
        "WHEN path = 'dhcp' AND assigned IS NOT NULL AND ts_us IS NULL "
        "THEN 'dhcp record: ts ' || coalesce(ts, 'unset') || ' is not a time' "
        "WHEN path = 'dhcp' AND lease_time IS NOT NULL AND lease_us IS NULL "
        "THEN 'dhcp record: lease_time ' || lease_time || ' is not an interval' "
    )


def _list_sql(col: str) -> str:
    """A vector column as a list: JSON arrays parsed, TSV text split at ``,``."""
    return (f"CASE WHEN {col} IS NULL OR {col} = '' THEN []::VARCHAR[] "
            f"WHEN text IS NULL AND starts_with({col}, '[') AND json_valid({col}) "
            f"THEN from_json({col}, '[\"VARCHAR\"]') ELSE string_split({col}, ',') END")


def dns_answers(ctx: ReadContext, rec: str) -> pa.Table:
    """Every address answer of the dns records in ``rec`` (``src_line`` plus dns columns)."""
    sql = f"""
    WITH d AS (
        SELECT src_line, ts_us, system_name, orig_h, query,
            {_list_sql('answers')} AS a, {_list_sql('ttls')} AS t
        FROM {rec} WHERE issue IS NULL AND path = 'dns'),
    u AS (SELECT src_line, ts_us, system_name, orig_h, query, t,
                 unnest(a) AS answer, generate_subscripts(a, 1) AS i FROM d)
    SELECT src_line, ts_us AS t_us, system_name AS sensor, orig_h AS client_ip, query,
        trim(answer) AS answer_ip,
        try_cast(round(try_cast(t[i] AS DOUBLE)) AS BIGINT) AS ttl
    FROM u ORDER BY src_line, i
    """
    out = ctx.con.sql(sql).to_arrow_table()
    return out.filter(is_address(out.column("answer_ip"))) if out.num_rows else out


def dhcp_leases(ctx: ReadContext, rec: str) -> pa.Table:
    """``src_line, host, ip, valid_from_us, valid_to_us`` of every dhcp lease in ``rec``."""
    return ctx.con.sql(f"""
        SELECT src_line, lower(trim(coalesce(NULLIF(host_name, ''), NULLIF(client_fqdn, ''))))
                AS host,
            assigned AS ip, ts_us AS valid_from_us, ts_us + lease_us AS valid_to_us
        FROM {rec} WHERE issue IS NULL AND path = 'dhcp' AND assigned IS NOT NULL
            AND coalesce(NULLIF(host_name, ''), NULLIF(client_fqdn, '')) IS NOT NULL
        ORDER BY src_line
    """).to_arrow_table()


def asset_rows(leases: pa.Table) -> pa.Table:
    """Leases as ``asset`` rows: canonical address and its halves (once per distinct value)."""
    ips = leases.column("ip")
    distinct = pc.unique(ips).to_pylist()
    canon, his, los = [], [], []
    for v in distinct:
        ip = parse_ip(v)
        assert ip is not None  # only valid addresses reach here
        hi, lo = halves(ip)
        canon.append(str(ip))
        his.append(hi)
        los.append(lo)
    idx = pc.index_in(ips, value_set=pa.array(distinct, pa.string()))

    def spread(values: list[object], kind: pa.DataType) -> pa.Array:
        return pc.take(pa.array(values, kind), idx)

    hi_col, lo_col = spread(his, pa.int64()), spread(los, pa.int64())
    return conform("asset", pa.table({
        "host": leases.column("host"),
        "ip": spread(canon, pa.string()),
        "start_hi": hi_col, "start_lo": lo_col, "end_hi": hi_col, "end_lo": lo_col,
        "valid_from_us": leases.column("valid_from_us"),
        "valid_to_us": leases.column("valid_to_us"),
        "origin": pa.array([ORIGIN] * leases.num_rows, pa.string()),
    }))
