"""Simulated Zeek conn.log → nfdump ``-o csv`` of nfdump 1.7.x (``net/nfdump.csv``).

As ``nfpcapd`` + ``nfdump -O tstart -o csv`` (Debian 12's 1.7.1, ``TZ=UTC``) would write it for the
same packets: one-directional records (client → server with the originator's packets and IP
bytes; server → client when the responder sent anything, starting 1 ms later), the legacy
48-column header, times in whole seconds, ``td`` with milliseconds, ``flg`` from the TCP flags
each side sent (Zeek history), output counters 0, and the ``Summary`` block at the end. ICMP type
and code go into ``dp`` as ``type*256+code``.
"""

from __future__ import annotations

from pathlib import Path

from agenttrail.simulate.formats._zeekin import Conn, conns, direction_flags, utc

OUT = "net/nfdump.csv"
HEADER = (
    "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,"
    "nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,"
    "mpls10,cl,sl,al,ra,eng,exid,tr"
)
_MAC = "00:00:00:00:00:00"
_MIDDLE = ",".join(["0"] * 8 + ["0.0.0.0", "0.0.0.0", "0", "0"] + [_MAC] * 4 + ["0-0-0"] * 10)
_LATENCY = "    0.000,    0.000,    0.000"
RESPONSE_DELAY_US = 1_000
_FLAG_LETTERS = "CEUAPRSF"


def flags_text(bits: int) -> str:
    """nfdump's 8-character flags: ``...AP.SF``."""
    return "".join(ch if bits & (0x80 >> i) else "." for i, ch in enumerate(_FLAG_LETTERS))


def _stamp(us: int) -> str:
    return utc(us).strftime("%Y-%m-%d %H:%M:%S")


def _record(c: Conn, originator: bool) -> tuple[int, str, int, int]:
    if originator:
        start, sa, da, sp, dp = c.ts_us, c.orig_h, c.resp_h, c.orig_p, c.resp_p
        pkts, octets = c.orig_pkts, c.orig_ip_bytes
    else:
        start, sa, da, sp, dp = (c.ts_us + RESPONSE_DELAY_US, c.resp_h, c.orig_h, c.resp_p,
                                 c.orig_p)
        pkts, octets = c.resp_pkts, c.resp_ip_bytes
    end = max(start, c.end_us)
    if c.proto == "icmp":
        sp, dp = 0, c.orig_p * 256 + c.resp_p
    bits = direction_flags(c.history, originator) if c.proto == "tcp" else 0
    td = (end - start) / 1_000_000
    line = (
        f"{_stamp(start)},{_stamp(end)},{td:.3f},{sa},{da},{sp},{dp},{c.proto.upper()},"
        f"{flags_text(bits)},0,0,{pkts},{octets},0,0,{_MIDDLE},{_LATENCY},0.0.0.0,0/0,0,"
        f"{_stamp(end)}.{(end // 1000) % 1000:03d}"
    )
    return start, line, pkts, octets


def convert(src: Path, dst: Path) -> list[str]:
    """Write ``net/nfdump.csv`` under ``dst`` from the conn.log of the dataset at ``src``."""
    src, dst = Path(src), Path(dst)
    records = []
    for c in conns(src):
        records.append((*_record(c, True), c.uid, 0))
        if c.resp_pkts > 0:
            records.append((*_record(c, False), c.uid, 1))
    records.sort(key=lambda r: (r[0], r[4], r[5]))
    lines = [HEADER, *(r[1] for r in records)]
    flows = len(records)
    octets = sum(r[3] for r in records)
    packets = sum(r[2] for r in records)
    span = (max((r[0] for r in records), default=0) - min((r[0] for r in records), default=0))
    seconds = max(span / 1_000_000, 1.0)
    lines += ["Summary", "flows,bytes,packets,avg_bps,avg_pps,avg_bpp",
              f"{flows},{octets},{packets},{int(octets * 8 / seconds)},{int(packets / seconds)},"
              f"{octets // packets if packets else 0}"]
    out = dst / OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [OUT]
