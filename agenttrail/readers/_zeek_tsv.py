"""Zeek ASCII (TSV) framing for the ``zeek`` reader: header directives and column extraction.

Header lines (``#...``) are few, so they are interpreted in Python, in order, as a small state
machine; every header line yields the state that holds after it. Data lines take the state of the
nearest header line above them (a DuckDB ``ASOF`` join) and are split in SQL with that state's
separator. Only ``#fields`` defines the columns (FORMATS §3.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.readers._io import read_text_lines

if TYPE_CHECKING:
    import duckdb

    from agenttrail.model import FileAccount
    from agenttrail.readers._io import ReadContext

#: Zeek's defaults, used until a header says otherwise.
DEFAULT_SEPARATOR = "\t"
DEFAULT_SET_SEPARATOR = ","
DEFAULT_EMPTY = "(empty)"
DEFAULT_UNSET = "-"

#: Directives whose value is one text (the rest are lists, split by the separator).
_SCALAR = {"separator", "set_separator", "empty_field", "unset_field", "path", "open", "close"}

_HEX_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")


@dataclass(frozen=True)
class TsvState:
    """What the header lines above a data line declared."""

    separator: str = DEFAULT_SEPARATOR
    set_separator: str = DEFAULT_SET_SEPARATOR
    empty: str = DEFAULT_EMPTY
    unset: str = DEFAULT_UNSET
    path: str | None = None
    fields: tuple[str, ...] | None = None
    types: tuple[str, ...] | None = None
    closed: bool = False


def unescape(text: str) -> str:
    r"""Decode Zeek's ``\xHH`` escapes; bytes that are not UTF-8 stay written as ``\xHH``."""
    if "\\x" not in text:
        return text
    raw = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), text.encode("utf-8"))
    return raw.decode("utf-8", errors="backslashreplace")


def unescape_column(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    r"""``unescape`` over a string column, calling Python once per distinct escaped value."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    mask = pc.fill_null(pc.match_substring(arr, "\\x"), False)
    if not pc.any(mask).as_py():
        return arr
    distinct = pc.unique(pc.filter(arr, mask))
    decoded = pa.array([unescape(v) for v in distinct.to_pylist()], pa.string())
    mapped = pc.take(decoded, pc.index_in(arr, value_set=distinct))
    return pc.if_else(mask, mapped, arr)


def header_states(headers: list[tuple[int, str]]) -> tuple[list[tuple[int, int]], list[TsvState]]:
    """Interpret header lines in order.

    Returns ``(line, state_id)`` for every header line (the state that holds after it) and the
    distinct states. ``#separator`` starts a new header block: the columns and path of the previous
    block no longer apply.
    """
    state = TsvState()
    states: dict[TsvState, int] = {}
    marks: list[tuple[int, int]] = []
    for line, text in headers:
        state = _apply(state, text)
        marks.append((line, states.setdefault(state, len(states))))
    return marks, list(states)


def _apply(state: TsvState, text: str) -> TsvState:
    key, values = _directive(text, state.separator)
    if key == "separator":
        sep = unescape(values[0]) if values else ""
        return TsvState(separator=sep or DEFAULT_SEPARATOR)
    value = unescape(values[0]) if values else ""
    if key == "set_separator":
        return replace(state, set_separator=value)
    if key == "empty_field":
        return replace(state, empty=value)
    if key == "unset_field":
        return replace(state, unset=value)
    if key == "path":
        return replace(state, path=value or None, closed=False)
    if key == "fields":
        return replace(state, fields=tuple(unescape(v) for v in values), closed=False)
    if key == "types":
        return replace(state, types=tuple(values))
    if key == "close":
        return replace(state, closed=True)
    return state  # "#open", btest "###" lines, unknown comments


def _directive(text: str, separator: str) -> tuple[str, list[str]]:
    """``("fields", [...])`` from ``#fields<sep>a<sep>b``; ``#separator`` and masked btest
    ``#open``/``#close`` lines use a space instead of the separator."""
    body = text[1:]
    if body.startswith(("separator ", "separator\t")):
        return "separator", [body[len("separator") + 1 :].strip()]
    if separator in body:
        key, *values = body.split(separator)
        if " " not in key:
            return key, values
    key, _, rest = body.partition(" ")
    if key in _SCALAR:
        return key, [rest]
    return key, []


def path_from_fields(fields: tuple[str, ...]) -> str | None:
    """``conn``, ``ssh``, ``dns`` or ``dhcp`` from a header without ``#path`` (None when the
    fields do not say)."""
    names = set(fields)
    if names & {"conn_state", "orig_pkts", "missed_bytes"}:
        return "conn"
    if names & {"auth_attempts", "auth_success", "client", "server", "kex_alg"} and "uid" in names:
        return "ssh"
    if names & {"qtype", "qtype_name", "rcode", "answers"} and "query" in names:
        return "dns"
    if names & {"assigned_addr", "assigned_ip", "lease_time", "msg_types"}:
        return "dhcp"
    return None


def records(
    ctx: ReadContext,
    account: FileAccount,
    wanted: dict[str, tuple[str, ...]],
    escaped: tuple[str, ...],
    fallback_path: str | None,
) -> tuple[pa.Table, dict[str, list[str]]]:
    """Frame a TSV log into one row per data line; also the ``#fields`` seen per path.

    Accounts ``read``, blank and long lines (via ``read_text_lines``) and header lines (``meta``).
    Returns ``src_line, text, problem, path`` and one VARCHAR column per ``wanted`` name, ordered by
    line. ``problem`` says why a line cannot be a record (wrong field count, no ``#fields`` above
    it); ``path`` is ``#path``, else guessed from the fields, else ``fallback_path``, else
    ``unknown``. Values are NULL for the unset marker or an undeclared column and ``''`` for the
    empty marker; the ``escaped`` columns have their ``\\xHH`` escapes decoded.
    """
    con = ctx.con
    lines = read_text_lines(ctx, account)
    con.register("_zeek_lines", lines)
    try:
        headers = con.sql(
            "SELECT src_line, text FROM _zeek_lines WHERE starts_with(text, '#') ORDER BY src_line"
        ).fetchall()
        marks, states = header_states(headers)
        con.register(
            "_zeek_marks",
            pa.table({
                "line": pa.array([m[0] for m in marks], pa.int64()),
                "state_id": pa.array([m[1] for m in marks], pa.int64()),
            }),
        )
        data = con.sql(
            "SELECT l.src_line, l.text, m.state_id FROM _zeek_lines l "
            "ASOF LEFT JOIN _zeek_marks m ON l.src_line >= m.line "
            "WHERE NOT starts_with(l.text, '#')"
        ).to_arrow_table()
    finally:
        con.unregister("_zeek_lines")
        con.unregister("_zeek_marks")
    account.meta += len(headers)
    if marks:
        account.details["closed"] = states[marks[-1][1]].closed
    names = ["src_line", "text", "problem", "path", *wanted]
    pieces = []
    schema: dict[str, list[str]] = {}
    con.register("_zeek_data", data)
    try:
        for sid, state in enumerate(states):
            if state.fields is not None:
                part = _extract(con, sid, state, wanted)
                path = state.path or path_from_fields(state.fields) or fallback_path or "unknown"
                pieces.append(_finish_part(part, state, path, escaped).select(names))
                seen = schema.setdefault(path, [])
                seen.extend(f for f in state.fields if f not in seen)
    finally:
        con.unregister("_zeek_data")
    framed = [i for i, s in enumerate(states) if s.fields is not None]
    in_block = pc.fill_null(pc.is_in(data.column("state_id"), pa.array(framed, pa.int64())), False)
    orphans = data.filter(pc.invert(in_block))
    if orphans.num_rows:
        n = orphans.num_rows
        pieces.append(
            pa.table({
                "src_line": orphans.column("src_line"),
                "text": orphans.column("text"),
                "problem": pa.array(["data line before any #fields header"] * n, pa.string()),
                "path": pa.nulls(n, pa.string()),
                **{c: pa.nulls(n, pa.string()) for c in wanted},
            })
        )
    if not pieces:
        empty = {n: pa.array([], pa.int64() if n == "src_line" else pa.string()) for n in names}
        return pa.table(empty), schema
    return pa.concat_tables(pieces).sort_by("src_line"), schema


def _extract(
    con: duckdb.DuckDBPyConnection,
    state_id: int,
    state: TsvState,
    wanted: dict[str, tuple[str, ...]],
) -> pa.Table:
    """Split the data lines of one state and pick the ``wanted`` columns by their aliases.

    Elements of ``set[...]``/``vector[...]`` columns are re-joined with ``,`` whatever the
    file's ``#set_separator``.
    """
    assert state.fields is not None
    index = {name: i + 1 for i, name in reversed(list(enumerate(state.fields)))}
    cols = []
    for out, aliases in wanted.items():
        pos = next((index[a] for a in aliases if a in index), None)
        if pos is None:
            cols.append(f"NULL::VARCHAR AS {out}")
            continue
        v = value = f"f[{pos}]"
        kind = state.types[pos - 1] if state.types and len(state.types) >= pos else ""
        if kind.startswith(("set[", "vector[")) and state.set_separator not in ("", ","):
            value = f"replace({v}, {lit(state.set_separator)}, ',')"  # elements joined by ","
        cols.append(
            f"CASE WHEN {v} = {lit(state.unset)} THEN NULL "
            f"WHEN {v} = {lit(state.empty)} THEN '' ELSE {value} END AS {out}"
        )
    sql = (
        f"SELECT src_line, text, len(f) AS n_fields, {', '.join(cols)} FROM ("
        f"SELECT src_line, text, string_split(text, {lit(state.separator)}) AS f "
        f"FROM _zeek_data WHERE state_id = {int(state_id)})"
    )
    return con.sql(sql).to_arrow_table()


def _finish_part(part: pa.Table, state: TsvState, path: str, escaped: tuple[str, ...]) -> pa.Table:
    """Add ``problem`` (field count) and ``path``; decode escapes."""
    assert state.fields is not None
    want = len(state.fields)
    n_fields = part.column("n_fields")
    message = pc.binary_join_element_wise(
        pc.cast(n_fields, pa.string()), f" fields where #fields declares {want}", ""
    )
    problem = pc.if_else(pc.equal(n_fields, want), pa.scalar(None, pa.string()), message)
    part = part.append_column("problem", problem)
    part = part.append_column("path", pa.array([path] * part.num_rows, pa.string()))
    for col in escaped:
        part = part.set_column(
            part.column_names.index(col), col, unescape_column(part.column(col))
        )
    return part


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
