"""Elastic Defend (Elastic Endpoint) ECS documents as NDJSON, bare or as Elasticsearch hits.

One JSON document per line: an export of ``_source`` or of whole Elasticsearch hits
(``{"_index":…,"_source":{…}}``), from macOS and Linux hosts.

Example input (one line, trimmed; FORMATS.md §2.3)::

    {"@timestamp":"2026-03-02T10:17:47.135947Z","event":{"module":"endpoint","action":"exec",
     "category":["process"],"type":["start"],"dataset":"endpoint.events.process"},
     "host":{"name":"mac-shared","ip":["10.10.1.35"],"os":{"type":"macos"}},
     "process":{"pid":7365,"entity_id":"Zm9v…","executable":"/usr/bin/ssh",
     "args":["ssh","alice@db1"],"env_vars":["SSH_AUTH_SOCK=/tmp/com.apple.launchd.X/Listeners"],
     "parent":{"pid":7358,"entity_id":"YmFy…"}},"user":{"id":"0","name":"root"}}

Documents of ``event.module: endpoint`` (or an ``endpoint.*`` dataset) become rows by
``event.category`` and ``event.action``:

* ``process`` ``exec``/``fork``/``end`` (``event.type`` start/end when the action is missing) →
  ``process`` (``exit`` for ``end``). ``pidversion`` is derived from ``process.entity_id`` and
  ``parent_pidversion`` from ``process.parent.entity_id`` (:func:`~agenttrail.readers._endpoint.
  entity_key`), so an exec joins its exit and its parent's image. Users: ``process.user.id`` or
  ``user.id`` (euid), ``process.real_user.id`` or ``user.Ext.real.id`` (ruid); Elastic has no
  audit user or audit session, so ``auid``/``asid`` stay NULL. ``process.env_vars`` (filled only
  for the variables the policy captures) and ``process.args`` are reduced as DESIGN §3 says
  inside DuckDB. Code signature: ``process.code_signature``; the subject "Software Signing" is
  Apple's platform certificate.
* ``network`` ``connection_attempted``/``connection_accepted``/``disconnect_received`` →
  ``flow`` rows seen by the endpoint (``sensor`` = the host, ``pid`` = ``process.pid``): a
  disconnect is merged into the latest earlier attempt or accept of the same connection on the
  host (end time, ``source.bytes``/``destination.bytes``), else stands alone with its start
  unknown. ECS ``source`` is the side that opened the connection: an attempt (egress) keeps the
  host as ``src_host``, an accept (ingress) as ``dst_host``. The endpoint's connect is a session
  start (``saw_syn``).
* ``authentication`` ``ssh_log_on``/``log_on`` → ``session`` (``ssh_inbound``/``login``, success
  from ``event.outcome``); ``ssh_log_on`` also → ``login`` and ``source_span`` (the host as an SSH
  destination; Elastic gives no client address or port).
* ``host.ip`` → ``asset`` rows (host ↔ each address, valid from the first record that reports
  it; loopback, link-local, unspecified and multicast addresses are left out), origin ``ecs``.

Elastic reports no UNIX-domain socket connects (FORMATS §2.3): the reader makes no ``socket``
rows; agent-socket evidence comes from ``SSH_AUTH_SOCK`` in ``process.env_vars``. Other
categories and actions are counted in ``skipped_by_type`` as ``<category>/<action>``; documents of
other modules (Beats, integrations) as ``module:<name>``, and Elastic's own alerts (an
``event.kind`` other than ``event``) as ``kind:<kind>``. A line is malformed when it is not a JSON
object (trailing commas, as in some public samples, included) or has no ISO 8601
``@timestamp``; a time without a zone is read in ``--tz``. Host (DESIGN §3): ``host.name``, else
``host.hostname`` (lower case, ``localhost`` is none), else the host given for the file.
Platform: ``host.os.type``, else ``host.os.platform``, else ``host.os.family``; NULL when none
names macOS or Linux (paths are then read as macOS paths, as normalisation does).
``event.sequence`` is the source sequence. Pretty-printed (multi-line) documents are not read:
export one document per line (``jq -c``). Duplicate JSON keys: the first one wins. Keys that
FORMATS §2.3 (and, for Linux, the endpoint package's field lists) does not document are counted
per ``<kind>/<action>`` in ``unknown_keys`` over a sample (:func:`~agenttrail.readers._endpoint.
inventory`).

References: elastic/endpoint-package ``custom_documentation/src/endpoint/data_stream/
{process,network,security}/{macos,linux}/*.yaml``; ECS field reference;
sbousseaden/macOS-ATTACK-DATASET (Endpoint 7.10 hits).
"""

from __future__ import annotations

import json
import re
from typing import Any

from agenttrail.model import FileAccount, Issue, ReadResult
from agenttrail.readers import _elastic_sql as q
from agenttrail.readers import _endpoint as ep
from agenttrail.readers._io import ReadContext, head_lines, line_excerpts, read_ndjson

NAME = "elastic"
EXAMPLE = (
    '{"@timestamp":"2026-03-02T10:15:01.540Z","event":{"kind":"event","category":["process"],'
    '"type":["start"],"action":"exec","module":"endpoint","dataset":"endpoint.events.process"},'
    '"host":{"name":"mac-shared","os":{"type":"macos"}},"process":{"pid":6821,"entity_id":'
    '"Zm9vYmFy","executable":"/usr/bin/ssh","args":["ssh","alice@db1"],"env_vars":'
    '["SSH_AUTH_SOCK=/private/tmp/com.apple.launchd.gafrfwA94h/Listeners"]},'
    '"user":{"id":"0","name":"root"}}'
)
NEEDS_HOST = False
ORIGIN = "ecs"

_EVENT_KEYS = ("module", "dataset", "category", "action", "kind")
# Markers for a first line too long for the 64 KiB head.
_HEAD_MARKERS = (re.compile(rb'"@timestamp"\s*:\s*"'), re.compile(rb'"event"\s*:\s*\{'))


def sniff(head: bytes) -> bool:
    """Whether the first record is an ECS document (``@timestamp`` and an ``event`` object with
    ECS keys), bare or as an Elasticsearch hit."""
    for line in head_lines(head, 5):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        return _is_document(obj)
    return head.lstrip()[:1] == b"{" and all(m.search(head) for m in _HEAD_MARKERS)


def _is_document(obj: object) -> bool:
    if isinstance(obj, dict) and isinstance(obj.get("_source"), dict):
        obj = obj["_source"]
    if not isinstance(obj, dict) or "@timestamp" not in obj:
        return False
    event = obj.get("event")
    return isinstance(event, dict) and any(k in event for k in _EVENT_KEYS)


def read(ctx: ReadContext) -> ReadResult:
    """Read one NDJSON file of ECS documents into ``process``, ``flow``, ``session``, ``login``,
    ``source_span`` and ``asset`` rows, accounting every line."""
    account = FileAccount(path=ctx.rel, format=NAME)
    result = ReadResult(account)
    rows = read_ndjson(ctx, q.COLUMNS, account, select=q.select_list(ctx.tz), prepare=q.PREPARE)
    hosts, sample = ep.add_tables(
        ctx, result, rows, q, NAME, ORIGIN, ("session", "login"),
        lambda name: _account(ctx, name, account),
        lambda name: ep.sample_lines(ctx, name, "rtype"))
    account.unknown_keys, account.details["unknown_keys_records"] = ep.inventory(
        ctx, sample, lambda rtype: q.KEYS.get(rtype.split("/", 1)[0]), _unwrap)
    ep.file_host(ctx, account, hosts, "host.name, host.hostname")
    return result


def _account(ctx: ReadContext, name: str, account: FileAccount) -> None:
    """Normalised, skipped by type and malformed (records read_ndjson passed as JSON objects)."""
    bad = ctx.con.sql(
        f"SELECT src_line, no_time, bad_time FROM {name} WHERE t_us IS NULL ORDER BY src_line"
    ).fetchall()
    texts = line_excerpts(ctx, {line for line, *_ in bad})
    for line, no_time, bad_time in bad:
        msg = ("no `@timestamp`" if no_time
               else f"`@timestamp` is not an ISO 8601 time: {bad_time!r}")
        account.issues.append(Issue(ctx.rel, line, "malformed", msg, texts.get(line, "")))
    account.malformed += len(bad)
    for kind, skip, n in ctx.con.sql(f"""
        SELECT kind, skip, count(*) FROM {name} WHERE t_us IS NOT NULL
        GROUP BY ALL ORDER BY ALL
    """).fetchall():
        if kind is not None:
            account.normalised += n
        else:
            account.skip(skip, n)


def _unwrap(obj: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The document of an Elasticsearch hit, and the hit's own undocumented keys."""
    source = obj.get("_source")
    if isinstance(source, dict):
        return source, [k for k in obj if k not in q.HIT_KEYS]
    return obj, []
