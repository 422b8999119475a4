"""nfdump text exports of NetFlow/IPFIX records (CSV and fixed-width text) into ``flow`` rows.

The CSV of ``-o csv`` (all versions), ``csv-fast`` and ``csv:<tokens>``, and the fixed-width
``-o long``/``line``/``extended``/``fmt:...`` text.

Example inputs (FORMATS §3.7)::

    ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,...,eng,exid,tr
    2011-12-16 21:35:33,2011-12-16 21:35:39,6.159,192.168.1.79,131.159.21.1,51880,22,TCP,...AP.SF,...

    Date first seen             Duration     Proto      Src IP Addr:Port          Dst IP Addr:Port  ...
    2011-12-16 21:35:33.493     00:00:06.159 TCP       192.168.1.79:51880 ->     131.159.21.1:22  ...

The header line decides the layout (:mod:`agenttrail.readers._nfdump_layout`): the legacy 48-column
``-o csv`` (nfdump ≤ 1.7.4), the header-named CSV of nfdump ≥ 1.7.5 (``-o csv``, ``csv-fast``,
``csv:<tokens>``), or fixed-width text cut by its column labels. Columns are found by name, never
by position. The summary block after the records (CSV ``Summary`` + its header + one line of
totals; text ``Summary:``, ``Time window:``, ``Total flows processed:``, ``Sys:``) and repeated
header lines are ``meta``.

Values:

* times are the local time of the machine that ran nfdump, without a zone: read in ``ctx.tz``
  (UTC when none is given; a warning says so once per file). Epoch values (``csv-fast``
  milliseconds, raw seconds) and times with a zone are UTC. Legacy CSV has whole seconds; the
  end is ``te``, else start + duration;
* ``pr`` as a name (``TCP``) or number becomes the lower-case name; ICMP type and code, packed in
  the destination port (``type*256+code``, or ``type.code`` in text), become ``src_port`` = type
  and ``dst_port`` = code as Zeek writes them;
* ``flg`` (``...AP.SF``, or a number) → ``saw_syn`` when the SYN bit is set (TCP only);
  ``state`` keeps the flags text;
* text counts scaled by nfdump (``1.3 M``, 1000-based) are read approximately and counted in
  ``details['scaled_counts']``; an IPv6 address shortened with ``..`` is malformed (export with
  ``-6``).

nfdump does no protocol detection: ``is_ssh`` is left to the port rule of normalisation.
Records are one-directional unless the export is bidirectional (``-b``/``-B``: some record has
output counters): the two directions of a connection are paired into one row and rows are
oriented client → server as :mod:`agenttrail.readers._flowrec` describes.

References: phaag/nfdump ``man/nfdump.1``, ``src/output/output_csv.c``, ``output_fmt.c``.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.model import FileAccount, Issue, ReadResult
from agenttrail.readers import _flowrec as fr
from agenttrail.readers import _nfdump_layout as lay
from agenttrail.readers._io import ReadContext, excerpt, head_lines

NAME = "nfdump"
EXAMPLE = (
    "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,"
    "nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,"
    "mpls10,cl,sl,al,ra,eng,exid,tr\n"
    "2026-03-02 10:15:19,2026-03-02 10:15:49,30.001,10.10.1.35,10.20.0.11,58583,22,TCP,...AP.SF,"
    "0,0,31,5230,0,0,0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,"
    "00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,"
    "0-0-0,    0.000,    0.000,    0.000,0.0.0.0,17/1,0,2026-03-02 10:16:04.945"
)
NEEDS_HOST = False

#: Two directions of one connection may start up to this far apart (whole-second CSV times).
PAIR_TOLERANCE_US = 1_000_000
_FIELDS = ("first", "last", "duration", "src", "dst", "sport", "dport", "proto", "flags",
           "pkts", "bytes", "rpkts", "rbytes", "flows", "router")
_SCALE = {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def sniff(head: bytes) -> bool:
    """The first line is an nfdump CSV or fixed-width header."""
    lines = head_lines(head, 2)
    if not lines:
        return False
    first = lines[0]
    if first.startswith("ts,te,td,sa,da,sp,dp,pr"):
        return True
    if "," in first and " " not in first.strip():
        layout = lay.csv_layout(first.strip())
        return layout is not None and layout.generation == "named"
    if "Src IP Addr" not in first or "Dst IP Addr" not in first:
        return False
    return lay.text_layout(first) is not None


def read(ctx: ReadContext) -> ReadResult:
    """Read one nfdump export into ``flow`` rows with exact accounting."""
    account = FileAccount(path=ctx.rel, format=NAME)
    result = ReadResult(account)
    lines = fr.text_lines(ctx, account)
    if lines.num_rows == 0:
        return result
    header = lines.column("text")[0].as_py()
    layout = lay.layout(header)
    if layout is None:  # pragma: no cover - sniff would not have claimed the file
        account.unread += lines.num_rows
        account.issues.append(Issue(ctx.rel, 1, "file", "no nfdump header on the first line"))
        return result
    account.details["layout"] = layout.generation
    con = ctx.con
    view = f"_nfd_{id(lines):x}"
    con.register(view, lines)
    try:
        after = [] if layout.kind != "csv" else [n + 1 for (n,) in con.sql(
            f"SELECT src_line FROM {view} WHERE starts_with(text, "
            f"{fr.lit(lay.CSV_SUMMARY_HEADER)})").fetchall()]
        cut = f"_nfd_cut_{id(lines):x}"
        con.execute(f"CREATE TEMP TABLE {cut} AS {_cut_sql(view, layout, after)}")
        try:
            proto = fr.proto_map_sql(con, cut, "proto")
            rec = con.sql(_typed_sql(cut, proto)).to_arrow_table()
        finally:
            con.execute(f"DROP TABLE IF EXISTS {cut}")
    finally:
        con.unregister(view)
    rec = _checked(ctx, _times(ctx, account, rec))
    rec = fr.abandon(ctx, account, rec, "status")
    _account(ctx, account, rec, lines)
    good = rec.filter(pc.equal(rec.column("status"), "record"))
    if good.num_rows == 0:
        return result
    bidir = bool(pc.any(pc.fill_null(pc.or_(pc.greater(good.column("rpkts"), 0),
                                             pc.greater(good.column("rbytes"), 0)),
                                     False)).as_py())
    account.details["bidirectional"] = bidir
    good = good.append_column("bidir", pa.array([bidir] * good.num_rows, pa.bool_()))
    flows = fr.connections(con, good, PAIR_TOLERANCE_US)
    account.details["paired"] = int(pc.sum(flows.column("paired")).as_py() or 0)
    account.details["turned"] = int(pc.sum(flows.column("turned")).as_py() or 0)
    n = flows.num_rows
    flows = flows.drop_columns(["paired", "turned"])
    flows = flows.append_column("src_file", pa.array([ctx.rel] * n, pa.string()))
    flows = flows.append_column("src_format", pa.array([NAME] * n, pa.string()))
    result.add("flow", flows)
    return result


# --- cutting -----------------------------------------------------------------------------------


def _cut_sql(view: str, layout: lay.Layout, after_summary: list[int]) -> str:
    """Every line with its ``kind`` (header, summary, record, cut_error) and the text fields
    (not the line itself). ``after_summary``: the lines after a CSV summary header."""
    if layout.kind == "csv":
        picks = {f: i + 1 for i, f in reversed(list(enumerate(layout.fields))) if f}
        cols = ", ".join(
            f"parts[{picks[f]}] AS {f}" if f in picks else f"NULL::VARCHAR AS {f}"
            for f in _FIELDS
        )
        n = len(layout.fields)
        return f"""
        WITH l AS (SELECT src_line, text, string_split(text, ',') AS parts FROM {view})
        SELECT src_line, CASE
                WHEN trim(text) = {fr.lit(layout.header.strip())} THEN 'header'
                WHEN trim(text) = {fr.lit(lay.CSV_SUMMARY)} THEN 'summary'
                WHEN starts_with(text, {fr.lit(lay.CSV_SUMMARY_HEADER)}) THEN 'summary'
                WHEN src_line IN ({", ".join(str(int(a)) for a in after_summary) or "NULL"})
                    THEN 'summary'
                WHEN len(parts) <> {n} THEN 'cut_error' ELSE 'record' END AS kind,
            CASE WHEN len(parts) <> {n} THEN len(parts) || ' fields where the header declares '
                 || {n} END AS cut_problem,
            NULL::VARCHAR AS src_ap, NULL::VARCHAR AS dst_ap, {cols}
        FROM l
        """
    groups = ", ".join(fr.lit(f"c{i}") for i in range(len(layout.fields)))
    picks = {f: i for i, f in reversed(list(enumerate(layout.fields))) if f}
    cols = ", ".join(
        f"NULLIF(m.c{picks[f]}, '') AS {f}" if f in picks else f"NULL::VARCHAR AS {f}"
        for f in (*_FIELDS, "src_ap", "dst_ap")
    )
    trailer = " OR ".join(f"starts_with(ltrim(text), {fr.lit(t)})" for t in lay.TEXT_TRAILERS)
    return f"""
    WITH l AS (
        SELECT src_line, text, regexp_extract(text, {fr.lit(layout.pattern)}, [{groups}]) AS m
        FROM {view})
    SELECT src_line, CASE
            WHEN rtrim(text) = {fr.lit(layout.header.rstrip())} THEN 'header'
            WHEN {trailer} THEN 'summary'
            WHEN m.c0 = '' THEN 'cut_error' ELSE 'record' END AS kind,
        CASE WHEN m.c0 = '' THEN 'line does not match the columns of the header on line 1' END
            AS cut_problem, {cols}
    FROM l
    """


# --- typing ------------------------------------------------------------------------------------


def _addr_port_sql(col: str) -> tuple[str, str]:
    """SQL (address, port) of an ``addr:port`` (IPv4) or ``addr.port`` (IPv6) text."""
    v4 = r"^(\d+\.\d+\.\d+\.\d+):(\S*)$"
    v6 = r"^(.+?)\.(\d+(?:\.\d+)?)$"
    addr = (f"CASE WHEN regexp_matches({col}, {fr.lit(v4)}) "
            f"THEN regexp_extract({col}, {fr.lit(v4)}, 1) "
            f"WHEN contains({col}, ':') THEN regexp_extract({col}, {fr.lit(v6)}, 1) END")
    port = (f"CASE WHEN regexp_matches({col}, {fr.lit(v4)}) "
            f"THEN regexp_extract({col}, {fr.lit(v4)}, 2) "
            f"WHEN contains({col}, ':') THEN regexp_extract({col}, {fr.lit(v6)}, 2) END")
    return addr, port


def _time_sql(col: str) -> tuple[str, str]:
    """SQL (UTC µs for epoch or zoned values, local wall µs for zone-less ones); the UTC forms
    are only tried on values that are not wall-clock times."""
    num = f"try_cast({col} AS DECIMAL(24, 6))"
    wall = fr.wall_us_sql(col)
    utc = (f"CASE WHEN {col} IS NULL OR {wall} IS NOT NULL THEN NULL "
           f"WHEN {num} IS NOT NULL THEN CASE "
           f"WHEN {num} >= 100000000000 THEN CAST(round({num} * 1000) AS BIGINT) "
           f"ELSE CAST(round({num} * 1000000) AS BIGINT) END "
           f"ELSE {fr.time_us_sql(col)} END")
    return utc, wall


def _duration_sql(col: str) -> str:
    """SQL µs of ``HH:MM:SS.mmm``, ``Nd HH:MM:SS.mmm`` or seconds."""
    hms = r"^(?:(\d+)d )?(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$"
    part = f"regexp_extract({col}, {fr.lit(hms)}, ['d', 'h', 'm', 's'])"
    return (
        f"CASE WHEN try_cast({col} AS DECIMAL(24, 6)) IS NOT NULL "
        f"THEN CAST(round(CAST({col} AS DECIMAL(24, 6)) * 1000000) AS BIGINT) "
        f"WHEN regexp_matches({col}, {fr.lit(hms)}) THEN CAST(round(("
        f"coalesce(try_cast({part}.d AS BIGINT), 0) * 86400 + CAST({part}.h AS BIGINT) * 3600 "
        f"+ CAST({part}.m AS BIGINT) * 60 + CAST({part}.s AS DECIMAL(24, 6))) * 1000000) AS BIGINT)"
        " END"
    )


def _count_sql(col: str) -> str:
    """SQL count of a number, possibly scaled (``1.3 M``)."""
    scale = " ".join(f"WHEN '{k}' THEN {v}" for k, v in _SCALE.items())
    unit = f"regexp_extract({col}, '([KMGT])$', 1)"
    value = f"try_cast(regexp_extract({col}, '^(\\d+(?:\\.\\d+)?)', 1) AS DOUBLE)"
    return (f"CASE WHEN {col} IS NULL THEN NULL WHEN try_cast({col} AS BIGINT) IS NOT NULL "
            f"THEN try_cast({col} AS BIGINT) WHEN {unit} = '' THEN NULL "
            f"ELSE CAST(round({value} * CASE {unit} {scale} END) AS BIGINT) END")


def _typed_sql(cut: str, proto: str) -> str:
    """SQL: the cut fields of every line (table ``cut``) as typed values (times still UTC or
    local wall); ``proto`` is the SQL of the protocol name."""
    src_ap, sport_ap = _addr_port_sql("src_ap")
    dst_ap, dport_ap = _addr_port_sql("dst_ap")
    first_utc, first_wall = _time_sql("first")
    last_utc, last_wall = _time_sql("last")
    plain = " AND ".join(f"({c} IS NULL OR try_cast({c} AS BIGINT) IS NOT NULL)"
                         for c in ("pkts", "bytes", "rpkts", "rbytes"))
    return f"""
    SELECT src_line, kind, cut_problem, first, flags, router,
        coalesce(src, {src_ap}) AS s_ip, coalesce(sport, {sport_ap}) AS s_pt,
        coalesce(dst, {dst_ap}) AS d_ip, coalesce(dport, {dport_ap}) AS d_pt,
        {proto} AS proto_name,
        {first_utc} AS first_utc, {first_wall} AS first_wall,
        {last_utc} AS last_utc, {last_wall} AS last_wall, {_duration_sql('duration')} AS dur_us,
        {_count_sql('pkts')} AS n_pkts, {_count_sql('bytes')} AS n_bytes,
        {_count_sql('rpkts')} AS n_rpkts, {_count_sql('rbytes')} AS n_rbytes,
        NOT ({plain}) AS scaled
    FROM {cut}
    """


def _times(ctx: ReadContext, account: FileAccount, typed: pa.Table) -> pa.Table:
    """Add ``start_us``/``end_us`` (local wall times converted in ``ctx.tz``) and the address
    checks ``s_ok``/``d_ok``."""
    tz, tz_problem = fr.zone(ctx.tz)
    local = pc.and_(pc.is_null(typed.column("first_utc")), pc.is_valid(typed.column("first_wall")))
    if pc.any(pc.fill_null(local, False)).as_py():
        account.details["zone"] = tz.key
        if tz_problem:
            account.issues.append(Issue(ctx.rel, None, "warning", tz_problem,
                                        hint="use an IANA zone name such as Europe/Berlin"))
        elif not ctx.tz:
            account.issues.append(Issue(
                ctx.rel, None, "warning",
                "nfdump times are the local time of the machine that ran nfdump; read as UTC",
                hint="pass --tz with that machine's zone"))
    first_conv, amb1 = fr.wall_to_utc(typed.column("first_wall"), tz)
    last_conv, _ = fr.wall_to_utc(typed.column("last_wall"), tz)
    start = pc.coalesce(typed.column("first_utc"), first_conv)
    end = pc.coalesce(typed.column("last_utc"), last_conv,
                      pc.add(start, typed.column("dur_us")))
    ambiguous = int(pc.sum(pc.cast(pc.and_(local, amb1), pa.int64())).as_py() or 0)
    if ambiguous:
        account.details["dst_ambiguous"] = ambiguous
    typed = typed.append_column("start_us", start).append_column("end_us", end)
    typed = typed.append_column("s_ok", fr.is_address(typed.column("s_ip")))
    return typed.append_column("d_ok", fr.is_address(typed.column("d_ip")))


def _checked(ctx: ReadContext, typed: pa.Table) -> pa.Table:
    """Records with ``status`` (record/malformed/header/summary), ``problem`` and table values."""
    con = ctx.con
    view = f"_nfd_typed_{id(typed):x}"
    con.register(view, typed)
    icmp = "proto_name IN ('icmp', 'ipv6-icmp')"
    port = "try_cast({} AS BIGINT)"
    code = r"^(\d+)\.(\d+)$"
    try:
        return con.sql(f"""
        WITH p AS (
            SELECT *, CASE
                WHEN kind IN ('header', 'summary') THEN NULL
                WHEN kind = 'cut_error' THEN cut_problem
                WHEN contains(coalesce(s_ip, '') || coalesce(d_ip, ''), '..')
                    THEN 'IPv6 address shortened by nfdump (export with -6): '
                         || coalesce(s_ip, '') || ' -> ' || coalesce(d_ip, '')
                WHEN NOT s_ok THEN 'source ' || coalesce(s_ip, 'unset') || ' is not an address'
                WHEN NOT d_ok
                    THEN 'destination ' || coalesce(d_ip, 'unset') || ' is not an address'
                WHEN start_us IS NULL THEN 'first seen ' || coalesce(first, 'unset')
                    || ' is not a time'
                WHEN proto_name IN {fr.PORTED!r} AND NOT ({fr.port_ok_sql('s_pt')}
                     AND {fr.port_ok_sql('d_pt')})
                    THEN 'port ' || coalesce(s_pt, 'unset') || ' or ' || coalesce(d_pt, 'unset')
                         || ' is not a port'
                END AS problem
            FROM {view})
        SELECT src_line,
            CASE WHEN kind IN ('header', 'summary') THEN 'meta'
                 WHEN problem IS NOT NULL THEN 'malformed' ELSE 'record' END AS status,
            problem, scaled,
            NULLIF(router, '0.0.0.0') AS grp, NULLIF(router, '0.0.0.0') AS sensor,
            proto_name AS proto, s_ip AS src_ip, d_ip AS dst_ip,
            CASE WHEN {icmp} AND regexp_matches(d_pt, '{code}')
                    THEN CAST(regexp_extract(d_pt, '{code}', 1) AS BIGINT)
                 WHEN {icmp} AND coalesce({port.format('s_pt')}, 0) = 0
                    THEN {port.format('d_pt')} // 256
                 ELSE {port.format('s_pt')} END AS src_port,
            CASE WHEN {icmp} AND regexp_matches(d_pt, '{code}')
                    THEN CAST(regexp_extract(d_pt, '{code}', 2) AS BIGINT)
                 WHEN {icmp} AND coalesce({port.format('s_pt')}, 0) = 0
                    THEN {port.format('d_pt')} % 256
                 ELSE {port.format('d_pt')} END AS dst_port,
            start_us, end_us, n_pkts AS pkts, n_bytes AS bytes, n_rpkts AS rpkts,
            n_rbytes AS rbytes,
            CASE WHEN proto_name <> 'tcp' OR flags IS NULL THEN NULL
                 WHEN regexp_full_match(flags, '\\d+') THEN (CAST(flags AS BIGINT) & 2) <> 0
                 WHEN regexp_full_match(flags, '0[xX][0-9a-fA-F]+')
                    THEN (CAST(flags AS BIGINT) & 2) <> 0
                 ELSE contains(flags, 'S') END AS syn,
            NULL::BOOLEAN AS pure_syn, NULL::BOOLEAN AS synack, flags AS state
        FROM p ORDER BY src_line
        """).to_arrow_table()
    finally:
        con.unregister(view)


def _account(ctx: ReadContext, account: FileAccount, rec: pa.Table, lines: pa.Table) -> None:
    status = rec.column("status").to_pylist()
    account.meta += status.count("meta")
    account.normalised += status.count("record")
    account.malformed += status.count("malformed")
    scaled = int(pc.sum(pc.cast(pc.fill_null(pc.and_(
        rec.column("scaled"), pc.equal(rec.column("status"), "record")), False), pa.int64()))
        .as_py() or 0)
    if scaled:
        account.details["scaled_counts"] = scaled
    bad = rec.filter(pc.equal(rec.column("status"), "malformed"))
    texts = fr.line_texts(lines, bad.column("src_line"))
    for line, problem in zip(bad.column("src_line").to_pylist(),
                             bad.column("problem").to_pylist(), strict=True):
        account.issues.append(Issue(ctx.rel, line, "malformed", problem,
                                    excerpt(texts.get(line, ""))))
