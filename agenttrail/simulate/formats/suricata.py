"""Simulated Zeek conn.log + ssh.log → Suricata EVE JSON (``net/eve.json``).

Every connection becomes a ``flow`` event, logged 10 s after its last packet as Suricata does at
flow timeout, with ``flow.start``/``flow.end``, packet and IP-byte counters per direction, the
flow state and the TCP flags each side sent (from Zeek's history letters); SSH connections carry
``app_proto`` ``ssh``. Every ssh.log row becomes an ``ssh`` event with both banners (split into
``proto_version`` and ``software_version``), logged 50 ms after the connection started; it shares
the flow's ``flow_id``, a stable number derived from the Zeek uid (:func:`flow_id`). Events are
written in logging order, as one compact JSON object per line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agenttrail.simulate.formats._zeekin import Conn, Ssh, conns, digest, direction_flags, sshs, utc

OUT = "net/eve.json"
FLOW_LOG_DELAY_US = 10_000_000
SSH_LOG_DELAY_US = 50_000
IFACE = "eth0"
APP_PROTO = {"ssh": "ssh", "ssl": "tls", "dns": "dns", "http": "http"}
_CLOSED = {"SF", "RSTO", "RSTR", "S2", "S3", "RSTOS0", "RSTRH"}


def flow_id(uid: str) -> int:
    """The Suricata ``flow_id`` of a Zeek connection (52 bits, stable)."""
    return int(digest(uid, 13), 16)


def eve_time(us: int) -> str:
    """``2026-03-02T10:17:47.187377+0000``: Suricata's timestamp form."""
    return utc(us).strftime("%Y-%m-%dT%H:%M:%S.%f") + "+0000"


def convert(src: Path, dst: Path) -> list[str]:
    """Write ``net/eve.json`` under ``dst`` from the Zeek logs of the dataset at ``src``."""
    src, dst = Path(src), Path(dst)
    events: list[tuple[int, int, str, dict[str, Any]]] = []
    for c in conns(src):
        events.append((c.end_us + FLOW_LOG_DELAY_US, 1, c.uid, _flow(c)))
    by_uid = {c.uid: c for c in conns(src)}
    for s in sshs(src):
        c = by_uid.get(s.uid)
        if c is not None:
            events.append((s.ts_us + SSH_LOG_DELAY_US, 0, s.uid, _ssh(s, c)))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    out = dst / OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as f:
        for t, _, _, body in events:
            record = {"timestamp": eve_time(t), **body}
            f.write(json.dumps(record, separators=(",", ":")) + "\n")
    return [OUT]


def _common(c: Conn, event_type: str) -> dict[str, Any]:
    return {
        "flow_id": flow_id(c.uid), "in_iface": IFACE, "event_type": event_type,
        "src_ip": c.orig_h, "src_port": c.orig_p, "dest_ip": c.resp_h, "dest_port": c.resp_p,
        "proto": c.proto.upper(),
    }


def _flow(c: Conn) -> dict[str, Any]:
    record = _common(c, "flow")
    service = (c.service or "").split(",")[0]
    if service in APP_PROTO:
        record["app_proto"] = APP_PROTO[service]
    state = ("closed" if c.conn_state in _CLOSED else
             "established" if c.conn_state == "S1" else "new")
    record["flow"] = {
        "pkts_toserver": c.orig_pkts, "pkts_toclient": c.resp_pkts,
        "bytes_toserver": c.orig_ip_bytes, "bytes_toclient": c.resp_ip_bytes,
        "start": eve_time(c.ts_us), "end": eve_time(c.end_us),
        "age": (c.end_us - c.ts_us) // 1_000_000, "state": state, "reason": "timeout",
        "alerted": False,
    }
    if c.proto == "tcp":
        ts = direction_flags(c.history, originator=True)
        tc = direction_flags(c.history, originator=False)
        both = ts | tc
        tcp: dict[str, Any] = {"tcp_flags": f"{both:02x}", "tcp_flags_ts": f"{ts:02x}",
                               "tcp_flags_tc": f"{tc:02x}"}
        for name, bit in (("syn", 0x02), ("fin", 0x01), ("rst", 0x04), ("psh", 0x08),
                          ("ack", 0x10)):
            if both & bit:
                tcp[name] = True
        tcp["state"] = state
        record["tcp"] = tcp
    return record


def _software(banner: str | None) -> dict[str, str] | None:
    if not banner:
        return None
    if banner.startswith("SSH-") and banner.count("-") >= 2:
        _, version, software = banner.split("-", 2)
        return {"proto_version": version, "software_version": software}
    return {"software_version": banner}


def _ssh(s: Ssh, c: Conn) -> dict[str, Any]:
    record = _common(c, "ssh")
    body = {}
    for side, banner in (("client", s.client), ("server", s.server)):
        software = _software(banner)
        if software is not None:
            body[side] = software
    record["ssh"] = body
    return record
