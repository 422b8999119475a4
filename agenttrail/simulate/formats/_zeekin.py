"""Reading the simulated Zeek TSV logs (``zeek/conn.log``, ``zeek/ssh.log``) for the converters.

Plain Python: the converters write test data, they are not readers. Times stay exact integers
(epoch microseconds from the decimal text).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Conn:
    """One conn.log row."""

    ts_us: int
    uid: str
    orig_h: str
    orig_p: int
    resp_h: str
    resp_p: int
    proto: str
    service: str | None
    duration_us: int | None
    conn_state: str | None
    history: str
    orig_pkts: int
    orig_ip_bytes: int
    resp_pkts: int
    resp_ip_bytes: int

    @property
    def end_us(self) -> int:
        """The time of the last packet (the start when Zeek logged no duration)."""
        return self.ts_us + (self.duration_us or 0)


@dataclass(frozen=True)
class Ssh:
    """One ssh.log row (only what the converters use)."""

    ts_us: int
    uid: str
    client: str | None
    server: str | None


def _rows(path: Path) -> list[dict[str, str | None]]:
    fields: list[str] = []
    unset, empty = "-", "(empty)"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].partition("\t")
            if key == "fields":
                fields = value.split("\t")
            elif key == "unset_field":
                unset = value
            elif key == "empty_field":
                empty = value
            continue
        if not line:
            continue
        values = line.split("\t")
        out.append({f: (None if v == unset else "" if v == empty else v)
                    for f, v in zip(fields, values, strict=True)})
    return out


def micros(seconds: str) -> int:
    """Exact µs of a decimal seconds text (``1772442068.242462``)."""
    whole, _, frac = seconds.partition(".")
    return int(whole) * 1_000_000 + int((frac + "000000")[:6])


def _int(v: str | None) -> int:
    return int(v) if v else 0


def conns(src: Path) -> list[Conn]:
    """The conn.log rows of a simulated dataset, in file order."""
    return [
        Conn(
            ts_us=micros(r["ts"] or "0"), uid=r["uid"] or "", orig_h=r["id.orig_h"] or "",
            orig_p=_int(r["id.orig_p"]), resp_h=r["id.resp_h"] or "", resp_p=_int(r["id.resp_p"]),
            proto=r["proto"] or "tcp", service=r["service"],
            duration_us=micros(r["duration"]) if r["duration"] else None,
            conn_state=r["conn_state"], history=r["history"] or "",
            orig_pkts=_int(r["orig_pkts"]), orig_ip_bytes=_int(r["orig_ip_bytes"]),
            resp_pkts=_int(r["resp_pkts"]), resp_ip_bytes=_int(r["resp_ip_bytes"]),
        )
        for r in _rows(src / "zeek" / "conn.log")
    ]


def sshs(src: Path) -> list[Ssh]:
    """The ssh.log rows of a simulated dataset, in file order."""
    return [Ssh(ts_us=micros(r["ts"] or "0"), uid=r["uid"] or "", client=r["client"],
                server=r["server"])
            for r in _rows(src / "zeek" / "ssh.log")]


def utc(us: int) -> datetime:
    """An epoch-µs instant as an aware datetime (exact)."""
    return EPOCH + timedelta(microseconds=us)


def digest(text: str, n: int) -> str:
    """``n`` hex digits derived from ``text`` (stable identifiers)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


#: Zeek history letters (upper case: originator) -> TCP flag bits they imply.
HISTORY_FLAGS = {"s": 0x02, "h": 0x12, "a": 0x10, "d": 0x18, "f": 0x11, "r": 0x04}


def direction_flags(history: str, originator: bool) -> int:
    """OR of the TCP flags one side sent, from the Zeek history letters of that side."""
    bits = 0
    for ch in history:
        if ch.isupper() == originator and ch.lower() in HISTORY_FLAGS:
            bits |= HISTORY_FLAGS[ch.lower()]
    return bits


PROTO_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1}
