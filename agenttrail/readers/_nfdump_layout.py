"""The layouts of nfdump's text exports: which column carries what, and how to cut a line.

nfdump prints a header line and then one line per record (FORMATS §3.7):

* CSV, comma separated, one header name per column: the legacy ``-o csv`` of nfdump ≤ 1.7.4
  (``ts,te,td,sa,da,sp,dp,pr,flg,...``, 48 columns), and the header-named CSV of nfdump ≥ 1.7.5
  (``-o csv``: ``firstSeen,duration,proto,srcAddr,...``; ``-o csv-fast``; ``-o csv:<%tokens>``);
* fixed-width text (``-o long``, ``line``, ``extended``, ``fmt:...``): the header is the column
  labels padded with spaces (``Date first seen``, ``Src IP Addr:Port``, ...), so it is cut by
  matching known labels from the left; a label the reader does not know is taken to be one word,
  and so is its value. A line is cut with one regular expression built from the header.

Only ``#`` or header-looking lines decide the layout; the records are parsed in SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: CSV header name (both generations) -> record field. Names not listed are ignored.
CSV_FIELDS: dict[str, str] = {
    # nfdump <= 1.7.4 -o csv, and -o fmt-style csv tokens of those versions
    "ts": "first", "te": "last", "td": "duration", "sa": "src", "da": "dst", "sp": "sport",
    "dp": "dport", "pr": "proto", "flg": "flags", "ipkt": "pkts", "ibyt": "bytes",
    "opkt": "rpkts", "obyt": "rbytes", "pkt": "pkts", "byt": "bytes", "fl": "flows", "ra": "router",
    # nfdump >= 1.7.5 csv, csv-fast, csv:<tokens>
    "firstSeen": "first", "lastSeen": "last", "duration": "duration", "proto": "proto",
    "srcAddr": "src", "dstAddr": "dst", "srcPort": "sport", "dstPort": "dport",
    "packets": "pkts", "inPackets": "pkts", "bytes": "bytes", "inBytes": "bytes",
    "outPackets": "rpkts", "outBytes": "rbytes", "flows": "flows", "flags": "flags",
    "routerIP": "router",
}

#: Value patterns (RE2) of the text columns.
_DATETIME = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?"
_DURATION = r"(?:\d+d )?\d+:\d{2}:\d{2}(?:\.\d+)?|\d+(?:\.\d+)?"
_COUNT = r"\d+(?:\.\d+)?(?: [KMGT])?"  # scaled counts: "  1.3 M" (1000-based)
_WORD = r"\S+"

#: Text column label -> (record field or None, value pattern). Longest labels are tried first.
TEXT_LABELS: dict[str, tuple[str | None, str]] = {
    "Date first seen": ("first", _DATETIME),
    "Date flow start": ("first", _DATETIME),
    "Date last seen": ("last", _DATETIME),
    "Date flow end": ("last", _DATETIME),
    "Date flow received": (None, _DATETIME),
    "First seen raw": ("first", _WORD),
    "Last seen raw": ("last", _WORD),
    "Received raw": (None, _WORD),
    "Duration": ("duration", _DURATION),
    "Proto": ("proto", _WORD),
    "Src IP Addr:Port": ("src_ap", _WORD),
    "Dst IP Addr:Port": ("dst_ap", _WORD),
    "Src IP Addr": ("src", _WORD),
    "Dst IP Addr": ("dst", _WORD),
    "Src Pt": ("sport", _WORD),
    "Dst Pt": ("dport", _WORD),
    "Flags": ("flags", _WORD),
    "Packets": ("pkts", _COUNT),
    "Bytes": ("bytes", _COUNT),
    "In Pkt": ("pkts", _COUNT),
    "In Byte": ("bytes", _COUNT),
    "Out Pkt": ("rpkts", _COUNT),
    "Out Byte": ("rbytes", _COUNT),
    "Flows": ("flows", _COUNT),
    "pps": (None, _COUNT),
    "bps": (None, _COUNT),
    "Bpp": (None, _COUNT),
    "Router IP": ("router", _WORD),
}
_BY_LENGTH = sorted(TEXT_LABELS, key=len, reverse=True)

#: Lines after the records of a text export (the summary block).
TEXT_TRAILERS = ("Summary:", "Time window:", "Total flows processed:", "Sys:",
                 "No matched flows", "Aggregated flows")
CSV_SUMMARY = "Summary"
CSV_SUMMARY_HEADER = "flows,bytes,packets,avg_bps,avg_pps,avg_bpp"


@dataclass(frozen=True)
class Layout:
    """How the records of one export are cut."""

    kind: str  # "csv" or "text"
    header: str
    #: csv: one field (or None) per column; text: (field or None) per regex group
    fields: tuple[str | None, ...]
    pattern: str = ""  # text: the RE2 pattern with groups c0, c1, ...
    generation: str = ""  # csv: "legacy" (<= 1.7.4) or "named" (>= 1.7.5); text: "text"


def csv_layout(header: str) -> Layout | None:
    """The layout of a CSV header, or None when it names neither addresses nor a start time."""
    names = [n.strip() for n in header.split(",")]
    fields = tuple(CSV_FIELDS.get(n) for n in names)
    if not {"src", "dst", "first"} <= set(fields):
        return None
    generation = "legacy" if names[:3] == ["ts", "te", "td"] else "named"
    return Layout("csv", header, fields, generation=generation)


def text_layout(header: str) -> Layout | None:
    """The layout of a fixed-width header, or None when it has no address columns."""
    labels = _cut_header(header)
    fields = tuple(TEXT_LABELS.get(label, (None, _WORD))[0] for label in labels)
    have = set(fields)
    if not (({"src_ap", "dst_ap"} <= have or {"src", "dst"} <= have) and "first" in have):
        return None
    parts = []
    for i, label in enumerate(labels):
        field, value = TEXT_LABELS.get(label, (None, _WORD))
        group = f"(?P<c{i}>{value})"
        if field in ("dst_ap", "dst") and i > 0:
            group = r"(?:<?->\s+)?" + group  # the arrow of long/line/extended
        parts.append(group)
    pattern = r"^\s*" + r"\s+".join(parts) + r"\s*$"
    return Layout("text", header, fields, pattern=pattern, generation="text")


def _cut_header(header: str) -> list[str]:
    """Column labels of a fixed-width header, matched from the left (unknown: one word)."""
    labels = []
    pos, n = 0, len(header)
    while pos < n:
        if header[pos].isspace():
            pos += 1
            continue
        for label in _BY_LENGTH:
            end = pos + len(label)
            if header.startswith(label, pos) and (end == n or header[end].isspace()):
                labels.append(label)
                pos = end
                break
        else:
            m = re.compile(r"\S+").match(header, pos)
            assert m is not None
            labels.append(m.group())
            pos = m.end()
    return labels


def layout(header: str) -> Layout | None:
    """The layout a header line announces, or None when it is not an nfdump header."""
    text = header.strip()
    if "," in text and " " not in text:
        return csv_layout(text)
    return text_layout(header.rstrip())
