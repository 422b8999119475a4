"""OCSF 1.x events as input (process, socket file, network, authentication), JSON lines or array.

One JSON event per line, or a JSON array of events; classes and attributes as the OCSF 1.5.0
schema defines them.

Example input (one line, trimmed)::

    {"class_uid":1007,"activity_id":1,"category_uid":1,"type_uid":100701,"time":1772446667135,
     "metadata":{"version":"1.5.0","product":{"name":"EDR"}},
     "device":{"hostname":"mac-shared","ip":"10.10.1.35","os":{"type_id":300,"name":"macOS"}},
     "process":{"pid":7365,"uid":"7365-55779","file":{"path":"/usr/bin/ssh"},
     "cmd_line":"ssh alice@db1","user":{"uid":"0"},"euid":0,"auid":502,
     "environment_variables":[{"name":"SSH_AUTH_SOCK","value":"/tmp/com.apple.launchd.X/Listeners"}]},
     "actor":{"process":{"pid":7358,"uid":"7358-55602"}}}

``class_uid`` decides (then ``activity_id``, or ``type_uid`` minus ``class_uid * 100`` when a
producer leaves the activity out):

* 1007 Process Activity: Launch → ``process`` ``exec`` (``process`` is the new image, ``actor.
  process`` or ``process.parent_process`` its parent), Terminate → ``exit``. ``pidversion`` is
  derived from ``process.uid`` (:func:`~agenttrail.readers._endpoint.entity_key`); ``args`` come
  from ``cmd_line`` split like a POSIX shell without backslash escapes (OCSF 1.5 has no argument
  array), reduced with the environment (``environment_variables``, 1.4+) as DESIGN §3 says inside
  DuckDB. Users: ``process.user.uid`` (ruid), ``process.euid``, ``process.auid`` (4294967295 or
  -1: unset). Code signature: ``process.file.signature`` (``developer_uid`` is the team id, the
  subject "Software Signing" Apple's platform certificate).
* 1001 File System Activity on a Local Socket (``file.type_id`` 5): Create → ``socket`` ``bind``,
  Open → ``connect`` by ``actor.process``, with ``file.owner.uid`` as ``st_uid``. Other
  activities, and files that are not sockets, are skipped by activity.
* 4001 Network Activity → ``flow`` (``src_endpoint``/``dst_endpoint``, ``connection_info``,
  ``traffic``, ``start_time``/``end_time``); ``sensor`` is the device; a record with an actor
  process is the device's own connection (``src_host``, or ``dst_host`` when inbound) with
  ``pid``; Close is merged into the latest earlier record of the same connection; Open is a
  session start (``saw_syn``). Listen (7) is skipped.
* 3002 Authentication: remote logons (``is_remote``, a remote ``logon_type_id``, or a source
  address) → ``login`` (Logon: accepted/failed by ``status_id``; Logoff: disconnected; Preauth:
  preauth) and ``source_span`` per (host, program); local Logon/Logoff → ``session``.
* ``device.ip`` → ``asset`` rows (host ↔ address, valid from its first report), origin ``ocsf``.

Every other class, including the Detection Findings (2004) agenttrail writes, is counted in
``skipped_by_type`` by ``class_uid``; unused activities of the classes above as
``<class_uid>/<activity_id>``. Times are epoch milliseconds (``time``; ``time_dt`` when ``time`` is
missing, zone-less read in ``--tz``). Host (DESIGN §3): ``device.hostname``, else ``device.name``
(for Authentication also ``dst_endpoint.hostname``), lower case, ``localhost`` as none, else the
host given for the file; platform from ``device.os`` (``type_id`` 300 macOS, 200 Linux, else its
``type``/``name``), NULL when unknown. ``metadata.sequence`` is the source sequence. A line is malformed when it
is not a JSON object, has no ``class_uid``, or is an event of a class above without a time.

A JSON array file (``[{…}, {…}]``, pretty-printed or not, up to ``ARRAY_MAX_BYTES``) is framed
in Python: each element is a record located at the line where it starts; damage stops the framing
at the damaged element (malformed, the rest is not read). Duplicate JSON keys: the first one wins.
Attributes the OCSF 1.5.0 schema does not define for the four classes above (top level, and in
``process``, ``actor``, ``device``, ``file``, ``src_endpoint``, ``dst_endpoint``) are counted per
``class_uid`` in ``unknown_keys`` over a sample of a JSON-lines file (:func:`~agenttrail.readers.
_endpoint.inventory`); array files are not sampled.

References: OCSF schema 1.5.0 (classes ``process_activity``, ``file_activity``,
``network_activity``, ``authentication``; objects ``process``, ``file``, ``network_endpoint``,
``device``), https://schema.ocsf.io/1.5.0/.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import replace
from pathlib import Path

import pyarrow as pa

from agenttrail.model import FileAccount, Issue, ReadResult
from agenttrail.readers import _endpoint as ep
from agenttrail.readers import _ocsf_sql as q
from agenttrail.readers._io import ReadContext, excerpt, head_lines, line_excerpts, read_ndjson

NAME = "ocsf"
EXAMPLE = (
    '{"class_uid":3002,"category_uid":3,"activity_id":1,"type_uid":300201,"time":1772446519000,'
    '"metadata":{"version":"1.5.0","product":{"name":"sshd"}},"status_id":1,'
    '"user":{"name":"alice"},"src_endpoint":{"ip":"10.10.1.35","port":58583},'
    '"dst_endpoint":{"ip":"10.20.0.11","port":22,"hostname":"db1"},"device":{"hostname":"db1"}}'
)
NEEDS_HOST = False
ORIGIN = "ocsf"
#: JSON array files are decoded whole; larger ones are refused with a hint.
ARRAY_MAX_BYTES = 256 << 20

_ENVELOPE = ("metadata", "type_uid", "category_uid", "activity_id")
_HEAD_MARKERS = (re.compile(rb'"class_uid"\s*:\s*\d'),
                 re.compile(rb'"(type_uid|category_uid|activity_id|metadata)"\s*:'))


def sniff(head: bytes) -> bool:
    """Whether the first record is an OCSF event (an integer ``class_uid`` beside ``metadata``,
    ``type_uid``, ``category_uid`` or ``activity_id``), on a line or in a JSON array."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text[:1] == b"[":
        return all(m.search(head) for m in _HEAD_MARKERS)
    for line in head_lines(head, 5):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        return _is_event(obj)
    return text[:1] == b"{" and all(m.search(head) for m in _HEAD_MARKERS)


def _is_event(obj: object) -> bool:
    if not isinstance(obj, dict):
        return False
    cls = obj.get("class_uid")
    return (isinstance(cls, int) and not isinstance(cls, bool)
            and any(k in obj for k in _ENVELOPE))


def read(ctx: ReadContext) -> ReadResult:
    """Read one OCSF file (JSON lines or a JSON array) into ``process``, ``socket``, ``flow``,
    ``login``, ``session``, ``source_span`` and ``asset`` rows, accounting every record."""
    account = FileAccount(path=ctx.rel, format=NAME)
    result = ReadResult(account)
    texts: dict[int, str] | None = None
    if _is_array(ctx.path):
        framed = _read_array(ctx, account)
        if framed is None:
            return result
        rows, texts = framed
    else:
        rows = read_ndjson(ctx, q.COLUMNS, account, select=q.select_list(ctx.tz),
                           prepare=q.PREPARE)
    hosts, sample = ep.add_tables(
        ctx, result, rows, q, NAME, ORIGIN, ("socket", "login", "session"),
        lambda name: _account(ctx, name, account, texts),
        lambda name: {} if texts is not None else ep.sample_lines(ctx, name, "rtype"))
    account.unknown_keys, account.details["unknown_keys_records"] = ep.inventory(
        ctx, sample, lambda rtype: q.KEYS.get(int(rtype)))
    ep.file_host(ctx, account, hosts, "device.hostname, device.name")
    return result


def _account(
    ctx: ReadContext, name: str, account: FileAccount, texts: dict[int, str] | None
) -> None:
    """Normalised, skipped by type and malformed (records that are JSON objects)."""
    bad = ctx.con.sql(f"""
        SELECT src_line, cls, no_time, bad_time FROM {name}
        WHERE cls IS NULL OR (t_us IS NULL AND kind IS NOT NULL) ORDER BY src_line
    """).fetchall()
    if texts is None:
        texts = line_excerpts(ctx, {ln for ln, *_ in bad})
    for line, cls, no_time, bad_time in bad:
        if cls is None:
            msg = "no integer `class_uid`"
        elif no_time:
            msg = f"class {cls} event without `time`"
        else:
            msg = f"`time_dt` is not an ISO 8601 time: {bad_time!r}"
        account.issues.append(Issue(ctx.rel, line, "malformed", msg, texts.get(line, "")))
    account.malformed += len(bad)
    for kind, skip, n in ctx.con.sql(f"""
        SELECT kind, skip, count(*) FROM {name}
        WHERE cls IS NOT NULL AND (t_us IS NOT NULL OR kind IS NULL)
        GROUP BY ALL ORDER BY ALL
    """).fetchall():
        if kind is not None:
            account.normalised += n
        else:
            account.skip(skip, n)


def _is_array(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(4096)
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"["


def _read_array(
    ctx: ReadContext, account: FileAccount
) -> tuple[pa.Table, dict[int, str]] | None:
    """Frame a JSON array into one line per element, read those with the same schema, and put
    each element's starting line in ``src_line``; also the elements' excerpts by line."""
    size = ctx.path.stat().st_size
    if size > ARRAY_MAX_BYTES:
        account.issues.append(Issue(
            ctx.rel, None, "file",
            f"JSON array of {size} bytes is larger than {ARRAY_MAX_BYTES} bytes; not read",
            hint="convert it to one event per line: jq -c '.[]' FILE > FILE.jsonl",
        ))
        return None
    try:
        text = ctx.path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        account.read += 1
        account.malformed += 1
        account.issues.append(Issue(ctx.rel, None, "malformed", f"not UTF-8: {exc}"))
        return None
    lines: list[int] = []
    texts: dict[int, str] = {}
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", dir=ctx.tmpdir, delete=False,
                                     encoding="utf-8") as out:
        tmp = Path(out.name)
        for line, element in _elements(ctx, text, account):
            lines.append(line)
            texts[line] = excerpt(element)
            out.write(element.replace("\r", " ").replace("\n", " ") + "\n")
    try:
        sub = replace(ctx, path=tmp)
        inner = FileAccount(path=ctx.rel)
        rows = read_ndjson(sub, q.COLUMNS, inner, select=q.select_list(ctx.tz),
                           prepare=q.PREPARE)
    finally:
        tmp.unlink(missing_ok=True)
    if inner.read != len(lines) or inner.malformed:  # pragma: no cover - framing disagreement
        raise RuntimeError(f"{ctx.rel}: DuckDB read {inner.read} array elements of {len(lines)}")
    account.details["json_array"] = True
    idx = rows.column_names.index("src_line")
    mapped = pa.array([lines[i - 1] for i in rows.column("src_line").to_pylist()], pa.int64())
    return rows.set_column(idx, "src_line", mapped), texts


def _elements(ctx: ReadContext, text: str, account: FileAccount) -> list[tuple[int, str]]:
    """``(line, element text)`` of each object element; other elements and damage are issues."""
    decoder = json.JSONDecoder()
    out: list[tuple[int, str]] = []
    n = len(text)
    i = text.index("[") + 1
    line, counted = 1, 0

    def skip_ws(j: int) -> int:
        while j < n and text[j] in " \t\r\n":
            j += 1
        return j

    first = True
    while True:
        i = skip_ws(i)
        if first and i < n and text[i] == "]":
            break  # an empty array
        first = False
        line += text.count("\n", counted, i)
        counted = i
        account.read += 1
        try:
            value, end = decoder.raw_decode(text, i)
        except ValueError as exc:
            account.malformed += 1
            account.issues.append(Issue(
                ctx.rel, line, "malformed",
                f"JSON array damaged ({exc.msg}); the rest of the file was not read",
                excerpt(text[i:i + 200]),
            ))
            break
        if isinstance(value, dict):
            out.append((line, text[i:end]))
        else:
            account.malformed += 1
            account.issues.append(Issue(ctx.rel, line, "malformed",
                                        "array element is not a JSON object",
                                        excerpt(text[i:end])))
        i = skip_ws(end)
        if i < n and text[i] == ",":
            i += 1
            continue
        if i < n and text[i] == "]":
            break
        account.issues.append(Issue(
            ctx.rel, line, "malformed" if i < n else "warning",
            "JSON array not closed: expected `,` or `]` after the element"
            + ("" if i >= n else "; the rest of the file was not read"),
            excerpt(text[i:i + 200]) if i < n else "",
        ))
        break
    return out
