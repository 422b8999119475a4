r"""Zeek conn/ssh logs into ``flow`` rows, dns.log into ``dns``, dhcp.log into ``asset`` rows.

The logs come as TSV (ASCII writer) or JSON lines.

Example inputs (FORMATS §3.1-3.5)::

    #separator \x09
    #fields	ts	uid	id.orig_h	id.orig_p	id.resp_h	id.resp_p	proto	service	...
    1409516196.337184	ClEkJM2Vm5giqnMf4h	10.0.0.18	40184	128.2.6.88	41644	tcp	ssh	...

    {"_path":"ssh","ts":"2018-03-24T17:16:39.739898Z","uid":"C2MugGdsn3ZVI1wn6",
     "id.orig_h":"10.0.0.227","id.orig_p":59849,"id.resp_h":"10.47.8.50","id.resp_p":22,...}

Each record becomes one ``flow`` row: ``flow_part`` ``conn`` for a conn.log record, ``ssh`` for an
ssh.log record (merged into its connection by ``flow_uid`` during normalisation). dns.log and
dhcp.log records are read as :mod:`agenttrail.readers._zeek_names` describes. Records of other
Zeek logs (``software``, ``known_services``, ``http``, ...) are counted in
``skipped_by_type[<path>]``. Times are converted exactly from their decimal text (no float); a
JSON ``ts`` may be epoch seconds, epoch milliseconds or ISO 8601, detected per value. Masked btest
times (every digit of ``ts`` replaced by the letter X) give ``start`` NULL and are counted
in ``details['masked_ts']``.
A conn/ssh record without ``uid`` or with an unreadable ``id.*`` field is malformed.

References: zeek/zeek ``scripts/base/protocols/conn/main.zeek``,
``scripts/base/protocols/ssh/main.zeek``, ``scripts/base/protocols/dns/main.zeek``,
``scripts/base/protocols/dhcp/main.zeek``, ``src/threading/formatters/Ascii.cc``;
corelight/json-streaming-logs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.model import FileAccount, Issue, ReadResult
from agenttrail.readers import _zeek_names, _zeek_tsv
from agenttrail.readers._flowrec import is_address
from agenttrail.readers._io import ReadContext, excerpt, head_lines, read_head, read_ndjson

NAME = "zeek"
NEEDS_HOST = False
EXAMPLE = (
    "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\t"
    "id.resp_p\tproto\tservice\n1772446519.087\tCk3Fz21\t10.10.1.35\t58583\t10.20.0.11\t22\t"
    "tcp\tssh"
)

#: Logs whose records become flow rows; every other ``_path`` is counted as skipped.
FLOW_PATHS = ("conn", "ssh")

#: Normalised name -> the Zeek field names that carry it (``.`` or ``_`` scope separator).
FIELDS: dict[str, tuple[str, ...]] = {
    "system_name": ("_system_name",),  # json-streaming-logs: the sensor
    "ts": ("ts",),
    "uid": ("uid",),
    "orig_h": ("id.orig_h", "id_orig_h"),
    "orig_p": ("id.orig_p", "id_orig_p"),
    "resp_h": ("id.resp_h", "id_resp_h"),
    "resp_p": ("id.resp_p", "id_resp_p"),
    "proto": ("proto",),
    "service": ("service",),
    "duration": ("duration",),
    "orig_bytes": ("orig_bytes",),
    "resp_bytes": ("resp_bytes",),
    "conn_state": ("conn_state",),
    "history": ("history",),
    "orig_pkts": ("orig_pkts",),
    "resp_pkts": ("resp_pkts",),
    "missed_bytes": ("missed_bytes",),
    "auth_success": ("auth_success",),  # T / F / unset (JSON true / false / absent)
    "status": ("status",),  # Bro < 2.4 ssh.log: success / failure / undetermined
    "auth_attempts": ("auth_attempts",),
    "client": ("client",),
    "server": ("server",),
    **_zeek_names.FIELDS,
}

#: String columns whose TSV ``\xHH`` escapes are decoded.
ESCAPED = ("uid", "proto", "service", "conn_state", "history", "client", "server", "status",
           *_zeek_names.ESCAPED)
#: Every log the reader turns into rows.
READ_PATHS = (*FLOW_PATHS, *_zeek_names.NAME_PATHS)

#: Keys that say which log a JSON record without ``_path`` comes from.
CONN_KEYS = ("conn_state", "history", "orig_pkts", "missed_bytes")
SSH_KEYS = ("auth_attempts", "auth_success", "client", "server", "status")

#: Epoch numbers at or above this are milliseconds (1e11 s is the year 5138).
MILLIS_FROM = 100_000_000_000

MASKED_TS = r"X+\.X+"  # btest baselines
_NUMBER = r"[+-]?[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?"
_ZONE = r"(Z|z|[+-][0-9]{2}:?[0-9]{2})$"
_SSH_SERVICE = r"(^|[^a-z0-9_-])ssh($|[^a-z0-9_])"  # "ssh", "ssl,ssh"; not the DPD-removed "-ssh"
_MAX_WARNINGS = 100


def sniff(head: bytes) -> bool:
    """TSV whose first line is ``#separator`` (after a btest ``###`` line), or Zeek JSON objects."""
    lines = head_lines(head, 5)
    if lines and lines[0].startswith("###"):
        lines = lines[1:]
    if not lines:
        return False
    if lines[0].startswith(("#separator ", "#separator\t")):
        return True
    if not lines[0].lstrip().startswith("{"):
        return False
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and _zeek_keys(obj):
            return True
    return False


def _zeek_keys(obj: dict[str, object]) -> bool:
    if "_path" in obj and "_write_ts" in obj:
        return True
    if "ts" in obj and "uids" in obj and any(k in obj for k in _zeek_names.DHCP_KEYS):
        return True  # dhcp.log (Zeek 3+) has no uid and no id.* fields
    return "ts" in obj and "uid" in obj and ("id.orig_h" in obj or "id_orig_h" in obj)


def read(ctx: ReadContext) -> ReadResult:
    """Read one Zeek log (TSV or JSON lines) into ``flow`` rows with exact accounting."""
    account = FileAccount(path=ctx.rel, format=NAME)
    result = ReadResult(account)
    first = next(iter(head_lines(read_head(ctx.path), 1)), "")
    fallback = _path_from_name(ctx.rel)
    if first.lstrip().startswith("{"):
        raw = _json_records(ctx, account, fallback)
    else:
        raw, schema = _zeek_tsv.records(ctx, account, FIELDS, ESCAPED, fallback)
        fields = {p: f for p, f in schema.items() if p in READ_PATHS}
        if fields:
            account.details["fields"] = fields
    _normalise(ctx, result, raw)
    return result


def _json_records(ctx: ReadContext, account: FileAccount, fallback: str | None) -> pa.Table:
    """JSON lines -> the rows the TSV framing gives (``text`` and ``problem`` NULL)."""
    keys = sorted({"_path", *(k for aliases in FIELDS.values() for k in aliases),
                   *_zeek_names.DNS_KEYS, *_zeek_names.DHCP_KEYS})
    table = read_ndjson(ctx, dict.fromkeys(keys, "VARCHAR"), account)
    present = " OR ".join
    cols = ", ".join(
        f"coalesce({', '.join(_q(a) for a in aliases)}) AS {name}"
        for name, aliases in FIELDS.items()
    )
    sql = (
        "SELECT src_line, NULL::VARCHAR AS text, NULL::VARCHAR AS problem, "
        f"coalesce(_path, CASE WHEN {present(f'{_q(k)} IS NOT NULL' for k in CONN_KEYS)} "
        f"THEN 'conn' WHEN {present(f'{_q(k)} IS NOT NULL' for k in SSH_KEYS)} THEN 'ssh' "
        f"WHEN {present(f'{_q(k)} IS NOT NULL' for k in _zeek_names.DNS_KEYS)} THEN 'dns' "
        f"WHEN {present(f'{_q(k)} IS NOT NULL' for k in _zeek_names.DHCP_KEYS)} THEN 'dhcp' END, "
        f"{_zeek_tsv.lit(fallback) if fallback else 'NULL'}, 'unknown') AS path, {cols} "
        "FROM _zeek_json ORDER BY src_line"
    )
    ctx.con.register("_zeek_json", table)
    try:
        return ctx.con.sql(sql).to_arrow_table()
    finally:
        ctx.con.unregister("_zeek_json")


def _path_from_name(rel: str) -> str | None:
    """The log a file name starts with (``conn.2024-...log``, ``ssh.json``, ``dns.log``)."""
    token = re.split(r"[._-]", Path(rel).name, maxsplit=1)[0].lower()
    return token if token in READ_PATHS else None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- normalisation ---------------------------------------------------------------------------


def _normalise(ctx: ReadContext, result: ReadResult, raw: pa.Table) -> None:
    """Classify every data record, account it, and add the flow, dns and asset rows."""
    account = result.account
    con = ctx.con
    for col, ok in (("orig_h", "orig_ok"), ("resp_h", "resp_ok"), ("assigned", "assigned_ok")):
        raw = raw.append_column(ok, is_address(raw.column(col)))
    con.register("_zeek_raw", raw)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _zeek_rec AS {_classify_sql()}")
    finally:
        con.unregister("_zeek_raw")
    try:
        cut = _abandon_line(ctx)
        if cut is not None:
            account.unread += _scalar(ctx, f"SELECT count(*) FROM _zeek_rec WHERE src_line > {cut}")
            con.execute(f"DELETE FROM _zeek_rec WHERE src_line > {cut}")
            account.abandoned(None, ctx.max_consecutive_malformed, account.unread)
        dns = _zeek_names.dns_answers(ctx, "_zeek_rec")
        leases = _zeek_names.dhcp_leases(ctx, "_zeek_rec")
        _account(ctx, account, dns, leases)
        flows = con.sql(_flow_sql(ctx)).to_arrow_table()
    finally:
        con.execute("DROP TABLE IF EXISTS _zeek_rec")
    if flows.num_rows:
        result.add("flow", flows)
    if dns.num_rows:
        n = dns.num_rows
        dns = dns.append_column("src_file", pa.array([ctx.rel] * n, pa.string()))
        dns = dns.append_column("src_format", pa.array([NAME] * n, pa.string()))
        result.add("dns", dns)
    if leases.num_rows:
        result.add("asset", _zeek_names.asset_rows(leases))


def _classify_sql() -> str:
    """Every record with its ``problem`` (NULL when fine) and exact ``ts_us``/``dur_us``."""
    checks = []
    for side in ("orig", "resp"):
        h, p = f"{side}_h", f"{side}_p"
        checks += [
            f"WHEN {h} IS NULL THEN path || ' record without id.{h}'",
            f"WHEN NOT {side}_ok THEN path || ' record: id.{h} ' || {h} || ' is not an address'",
            f"WHEN coalesce(try_cast({p} AS BIGINT) NOT BETWEEN 0 AND 65535, true) "
            f"THEN path || ' record: id.{p} ' || coalesce({p}, 'unset') || ' is not a port'",
        ]
    return (
        "SELECT *, CASE WHEN problem IS NOT NULL THEN problem "
        f"{_zeek_names.issue_sql()}"
        f"WHEN path IS NULL OR path NOT IN {FLOW_PATHS!r} THEN NULL "
        "WHEN uid IS NULL OR uid = '' THEN path || ' record without uid' "
        f"{' '.join(checks)} END AS issue FROM ("
        f"SELECT *, {_time_sql('ts')} AS ts_us, {_seconds_sql('duration')} AS dur_us, "
        f"{_seconds_sql('lease_time')} AS lease_us FROM _zeek_raw)"
    )


def _seconds_sql(col: str) -> str:
    """Exact integer µs of a decimal seconds text (rounded half up at the 7th decimal)."""
    return f"try_cast(round(try_cast({col} AS DECIMAL(24, 6)) * 1000000) AS BIGINT)"


def _time_sql(col: str) -> str:
    """Epoch µs of a Zeek time: epoch seconds or milliseconds (by magnitude), or ISO 8601."""
    dec = f"try_cast({col} AS DECIMAL(24, 6))"
    return (
        f"CASE WHEN {col} IS NULL OR regexp_full_match({col}, '{MASKED_TS}') THEN NULL "
        f"WHEN regexp_full_match(trim({col}), '{_NUMBER}') THEN CASE "
        f"WHEN abs({dec}) >= {MILLIS_FROM} THEN try_cast(round({dec} * 1000) AS BIGINT) "
        f"ELSE try_cast(round({dec} * 1000000) AS BIGINT) END "
        f"WHEN regexp_matches({col}, '{_ZONE}') THEN epoch_us(try_cast({col} AS TIMESTAMPTZ)) "
        f"ELSE epoch_us(try_cast({col} AS TIMESTAMP)) END"
    )


def _abandon_line(ctx: ReadContext) -> int | None:
    """The line of the Nth malformed record in a row, after which the file is not read."""
    return _scalar(
        ctx,
        "WITH c AS (SELECT src_line, issue IS NOT NULL AS bad, "
        "row_number() OVER (ORDER BY src_line) "
        "- row_number() OVER (PARTITION BY issue IS NOT NULL ORDER BY src_line) AS island "
        "FROM _zeek_rec), "
        "r AS (SELECT src_line, row_number() OVER (PARTITION BY island ORDER BY src_line) AS pos "
        "FROM c WHERE bad) "
        f"SELECT min(src_line) FROM r WHERE pos = {int(ctx.max_consecutive_malformed)}",
    )


def _account(ctx: ReadContext, account: FileAccount, dns: pa.Table, leases: pa.Table) -> None:
    con = ctx.con
    paths: dict[str, int] = {}
    used = pa.table({"src_line": pc.unique(pa.chunked_array(
        [dns.column("src_line").combine_chunks(), leases.column("src_line").combine_chunks()],
        pa.int64()))})
    con.register("_zeek_used", used)
    try:
        rows = con.sql(
            "SELECT path, issue IS NOT NULL, CASE "
            f"WHEN path IN {FLOW_PATHS!r} OR u.src_line IS NOT NULL THEN NULL "
            "WHEN path = 'dns' THEN 'dns_no_address' "
            "WHEN path = 'dhcp' AND assigned IS NULL THEN 'dhcp_no_lease' "
            "WHEN path = 'dhcp' THEN 'dhcp_no_name' ELSE path END, count(*) "
            "FROM _zeek_rec r LEFT JOIN _zeek_used u USING (src_line) GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    finally:
        con.unregister("_zeek_used")
    for path, bad, skip, n in rows:
        if path is not None:
            paths[path] = paths.get(path, 0) + n
        if bad:
            account.malformed += n
        elif skip is None:
            account.normalised += n
        else:
            account.skip(skip, n)
    account.details["paths"] = paths
    for line, text, issue in con.sql(
        "SELECT src_line, text, issue FROM _zeek_rec WHERE issue IS NOT NULL ORDER BY src_line"
    ).fetchall():
        account.issues.append(Issue(ctx.rel, line, "malformed", issue, excerpt(text or "")))
    flow = f"issue IS NULL AND path IN {(*FLOW_PATHS, 'dns')!r}"
    masked = _scalar(
        ctx, f"SELECT count(*) FROM _zeek_rec WHERE {flow} AND regexp_full_match(ts, '{MASKED_TS}')"
    )
    if masked:
        account.details["masked_ts"] = masked
    bad_ts = con.sql(
        f"SELECT src_line, ts, path FROM _zeek_rec WHERE {flow} AND ts_us IS NULL AND ts IS NOT NULL "
        f"AND NOT regexp_full_match(ts, '{MASKED_TS}') ORDER BY src_line"
    ).fetchall()
    if bad_ts:
        account.details["bad_ts"] = len(bad_ts)
    for line, ts, path in bad_ts[:_MAX_WARNINGS]:
        what = "start" if path in FLOW_PATHS else "time"
        account.issues.append(
            Issue(ctx.rel, line, "warning", f"ts {ts!r} is not a time; {what} left NULL")
        )


def _scalar(ctx: ReadContext, sql: str) -> Any:
    return ctx.con.sql(sql).fetchall()[0][0]


def _flow_sql(ctx: ReadContext) -> str:
    conn, ssh = "path = 'conn'", "path = 'ssh'"
    ssh_service = f"regexp_matches(lower(service), '{_SSH_SERVICE}')"
    auth = (
        "CASE lower(auth_success) WHEN 't' THEN true WHEN 'true' THEN true "
        "WHEN 'f' THEN false WHEN 'false' THEN false ELSE "
        "CASE lower(status) WHEN 'success' THEN true WHEN 'failure' THEN false END END"
    )
    return f"""
        SELECT src_line, path AS flow_part, ts_us AS start_us,
            CASE WHEN {conn} THEN ts_us + dur_us END AS end_us,
            orig_h AS src_ip, try_cast(orig_p AS BIGINT) AS src_port,
            resp_h AS dst_ip, try_cast(resp_p AS BIGINT) AS dst_port,
            CASE WHEN {conn} THEN proto END AS proto,
            CASE WHEN {conn} THEN conn_state END AS state,
            CASE WHEN {conn} THEN history END AS history,
            CASE WHEN {conn} AND history IS NOT NULL
                THEN contains(history, 'S') AND coalesce(conn_state, '') <> 'OTH' END AS saw_syn,
            CASE WHEN {conn} THEN try_cast(orig_bytes AS BIGINT) END AS bytes_out,
            CASE WHEN {conn} THEN try_cast(resp_bytes AS BIGINT) END AS bytes_in,
            CASE WHEN {conn} THEN try_cast(orig_pkts AS BIGINT) END AS pkts_out,
            CASE WHEN {conn} THEN try_cast(resp_pkts AS BIGINT) END AS pkts_in,
            CASE WHEN {ssh} OR {ssh_service} THEN true END AS is_ssh,
            CASE WHEN {ssh} AND (coalesce(client, '') <> '' OR coalesce(server, '') <> '')
                THEN 'banner' WHEN {ssh} OR {ssh_service} THEN 'service' END AS ssh_evidence,
            CASE WHEN {ssh} THEN {auth} END AS ssh_auth_hint,
            CASE WHEN {ssh} THEN client END AS client_banner,
            CASE WHEN {ssh} THEN server END AS server_banner,
            system_name AS sensor, uid AS flow_uid,
            {_zeek_tsv.lit(ctx.rel)} AS src_file, {_zeek_tsv.lit(NAME)} AS src_format
        FROM _zeek_rec WHERE issue IS NULL AND path IN {FLOW_PATHS!r} ORDER BY src_line
    """
