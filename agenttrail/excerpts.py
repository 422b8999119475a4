"""Short raw excerpts of the records an incident cites, read again from the input files.

The Report's ``evidence`` list holds, for every cited row (exec, socket connect, flow, login, and
the blast radius logins), its file, line and a short excerpt of the original record, so a
responder (or Timesketch) sees the line itself without opening the file.

The env/args reduction of DESIGN §3 holds here too: nothing a reader dropped at parse time may
reappear in an excerpt. So an excerpt is made only for formats with a rule below:

* ``sshd_syslog`` and ``zeek``: the raw line (these records carry no environment or arguments);
* ``eslogger``: the JSON record pruned to what identifies the event (times, sequence numbers,
  audit tokens, executable paths, socket file, code signing ids), with the exec environment
  filtered to the entries the reader keeps (``ENV_KEEP``) and the arguments replaced by the
  reader's own reduced ``args`` of that row;
* any other format: no excerpt (``None``), until a rule for it is added to ``EXCERPTERS``.

Records read from stdin cannot be read again and get no excerpt.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agenttrail.readers._eslogger_sql import ENV_KEEP
from agenttrail.readers._io import GZIP_MAGIC

if TYPE_CHECKING:
    from agenttrail.report import Evidence

TEXT_MAX = 300  # characters of a text line
JSON_MAX = 1200 # characters of a pruned JSON record
READ_CHUNK = 1 << 16

_ENV_KEEP_RE = re.compile("^(" + "|".join(ENV_KEEP) + ")=")
# eslogger keys that say nothing about who did what to which socket
_ES_DROP = frozenset({
    "schema_version", "version", "mach_time", "action", "action_type", "thread",
    "parent_audit_token", "responsible_audit_token", "original_ppid", "group_id",
    "session_id", "start_time", "tty", "cdhash", "codesigning_flags", "is_es_client",
    "path_truncated", "fds", "last_fd", "script", "image_cputype", "image_cpusubtype",
    "dyld_exec_path",
})
_STAT_KEEP = ("st_uid", "st_mode")


def _clip(text: str, limit: int) -> str:
    text = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(raw: str, row: dict[str, Any]) -> str | None:
    return _clip(raw.rstrip("\r\n"), TEXT_MAX)


def _prune(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        if key == "stat":
            return {k: value[k] for k in _STAT_KEEP if value.get(k) is not None}
        out = {}
        for k, v in value.items():
            if k in _ES_DROP or v is None:
                continue
            pv = _prune(v, k)
            if pv not in ({}, []):
                out[k] = pv
        return out
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _eslogger(raw: str, row: dict[str, Any]) -> str | None:
    try:
        rec = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(rec, dict):
        return None
    event = rec.get("event")
    body = event.get("exec") if isinstance(event, dict) else None
    if isinstance(body, dict):
        env = body.get("env")
        body["env"] = [e for e in env if isinstance(e, str) and _ENV_KEEP_RE.match(e)] \
            if isinstance(env, list) else None
        body["args"] = list(row.get("args") or []) or None
    return _clip(json.dumps(_prune(rec), ensure_ascii=False, separators=(",", ":")), JSON_MAX)


def _zeek(raw: str, row: dict[str, Any]) -> str | None:
    text = raw.rstrip("\r\n")
    if text.lstrip().startswith("{"):
        try:
            return _clip(json.dumps(json.loads(text), ensure_ascii=False,
                                    separators=(",", ":")), JSON_MAX)
        except ValueError:
            return None
    return _clip(text, TEXT_MAX)


#: Excerpt rules by reader name. A format is listed only when its rule keeps to DESIGN §3.
EXCERPTERS: dict[str, Callable[[str, dict[str, Any]], str | None]] = {
    "eslogger": _eslogger,
    "sshd_syslog": _text,
    "zeek": _zeek,
}


def _lines(path: Path, wanted: set[int]) -> Iterator[tuple[int, str]]:
    """The wanted lines of a (possibly gzip) file, without holding long unwanted lines."""
    with path.open("rb") as probe:
        gz = probe.read(2) == GZIP_MAGIC
    last = max(wanted)
    opener = gzip.open if gz else Path.open
    with opener(path, "rb") as fh:  # type: ignore[operator]
        n = 0
        while n < last:
            n += 1
            chunk = fh.readline(READ_CHUNK)
            if not chunk:
                return
            keep = n in wanted
            parts = [chunk] if keep else []
            while not chunk.endswith(b"\n"):
                chunk = fh.readline(READ_CHUNK)
                if not chunk:
                    break
                if keep and sum(map(len, parts)) < TEXT_MAX * 64:
                    parts.append(chunk)
            if keep:
                yield n, b"".join(parts).decode("utf-8", errors="replace")


def _row_time(table: str, row: dict[str, Any]) -> int | None:
    return row.get("start_us") if table == "flow" else row.get("t_us")


def cited_records(evidence: Evidence, root: str | Path) -> list[dict[str, Any]]:
    """One entry per cited row: table, row id, time, file, line, format and excerpt.

    Sorted by (table, row_id); row ids follow each table's total order, so this is stable.
    """
    root = Path(root)
    rows: list[tuple[str, dict[str, Any]]] = []
    for table in ("process", "socket", "flow", "login"):
        for rid in sorted(getattr(evidence, table)):
            rows.append((table, getattr(evidence, table)[rid]))
    wanted: dict[str, set[int]] = defaultdict(set)
    for _, row in rows:
        f, line = row.get("src_file"), row.get("src_line")
        if f and f != "-" and line and row.get("src_format") in EXCERPTERS:
            wanted[f].add(int(line))
    raw: dict[tuple[str, int], str] = {}
    for f, lines in sorted(wanted.items()):
        path = root / f
        try:
            for n, text in _lines(path, lines):
                raw[(f, n)] = text
        except (OSError, EOFError, gzip.BadGzipFile):
            continue
    out = []
    for table, row in rows:
        f, line = row.get("src_file"), row.get("src_line")
        text = raw.get((f, line)) if f and line else None
        rule = EXCERPTERS.get(row.get("src_format") or "")
        out.append({
            "table": table,
            "row_id": row["row_id"],
            "t_us": _row_time(table, row),
            "file": f,
            "line": line,
            "format": row.get("src_format"),
            "excerpt": None if text is None or rule is None else rule(text, row),
        })
    return out
