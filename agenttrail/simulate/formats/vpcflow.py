"""Simulated Zeek conn.log → AWS VPC Flow Logs, version 5 custom format (``net/vpcflow.log``).

The S3 form: a header line naming the fields, then one record per interface, direction and
60-second aggregation window (Nitro instances). Each connection is logged by one interface: the
responder's when it is a private address, else the originator's (``flow-direction`` is relative to
that interface). Packets and IP bytes are spread evenly over a connection's windows (the first
window takes the remainder); ``tcp-flags`` carry SYN (client, 2) or SYN-ACK (server, 18) in the
first window and FIN (1) or RST (4) in the last, ORed as AWS does. Windows start at the
connection's start, in whole seconds.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from agenttrail.simulate.formats._zeekin import PROTO_NUMBERS, Conn, conns, digest

OUT = "net/vpcflow.log"
FIELDS = (
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
    "protocol", "packets", "bytes", "start", "end", "action", "log-status", "vpc-id", "subnet-id",
    "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr", "region", "az-id",
    "sublocation-type", "sublocation-id", "pkt-src-aws-service", "pkt-dst-aws-service",
    "flow-direction", "traffic-path",
)
ACCOUNT = "123456789012"
VPC = "vpc-0a1b2c3d4e5f60718"
REGION, AZ = "eu-central-1", "euc1-az2"
WINDOW_S = 60


def interface_id(ip: str) -> str:
    """The (stable, made-up) network interface of an address."""
    return "eni-" + digest("eni/" + ip, 17)


def _private(ip: str) -> bool:
    return ipaddress.ip_address(ip).is_private


def _windows(c: Conn) -> list[tuple[int, int]]:
    start = c.ts_us // 1_000_000
    last = c.end_us // 1_000_000
    out = []
    w = start
    while True:
        out.append((w, max(w + 1, min(w + WINDOW_S, last + 1))))
        w += WINDOW_S
        if w > last:
            return out


def _spread(total: int, n: int, i: int) -> int:
    base, rest = divmod(total, n)
    return base + (rest if i == 0 else 0)


def _flags(c: Conn, client: bool, first: bool, last: bool) -> int:
    if c.proto != "tcp":
        return 0
    letters = [ch for ch in c.history if ch.isupper() == client]
    bits = 0
    if first and any(ch in "Ss" for ch in letters):
        bits |= 0x02
    if first and any(ch in "Hh" for ch in letters):
        bits |= 0x12
    if last and any(ch in "Ff" for ch in letters):
        bits |= 0x01
    if last and any(ch in "Rr" for ch in letters):
        bits |= 0x04
    return bits


def _lines(c: Conn) -> list[tuple[int, str, int, str]]:
    eni_ip = c.resp_h if _private(c.resp_h) else c.orig_h
    eni = interface_id(eni_ip)
    instance = "i-" + digest("i/" + eni_ip, 17)
    subnet = "subnet-" + digest("subnet/" + eni_ip.rsplit(".", 1)[0], 17)
    kind = "IPv6" if ":" in c.orig_h else "IPv4"
    proto = PROTO_NUMBERS.get(c.proto, 0)
    windows = _windows(c)
    out = []
    for i, (w_start, w_end) in enumerate(windows):
        first, last = i == 0, i == len(windows) - 1
        for client in (True, False):
            pkts = _spread(c.orig_pkts if client else c.resp_pkts, len(windows), i)
            octets = _spread(c.orig_ip_bytes if client else c.resp_ip_bytes, len(windows), i)
            if pkts == 0:
                continue
            sa, da = (c.orig_h, c.resp_h) if client else (c.resp_h, c.orig_h)
            sp, dp = (c.orig_p, c.resp_p) if client else (c.resp_p, c.orig_p)
            inbound = da == eni_ip
            path = "-" if inbound else ("1" if _private(da) else "8")
            values = (
                "5", ACCOUNT, eni, sa, da, str(sp), str(dp), str(proto), str(pkts), str(octets),
                str(w_start), str(w_end), "ACCEPT", "OK", VPC, subnet, instance,
                str(_flags(c, client, first, last)), kind, sa, da, REGION, AZ, "-", "-", "-", "-",
                "ingress" if inbound else "egress", path,
            )
            out.append((w_start, eni, 0 if client else 1, " ".join(values)))
    return out


def convert(src: Path, dst: Path) -> list[str]:
    """Write ``net/vpcflow.log`` under ``dst`` from the conn.log of the dataset at ``src``."""
    src, dst = Path(src), Path(dst)
    records = []
    for c in conns(src):
        records += [(w, eni, side, c.uid, line) for w, eni, side, line in _lines(c)]
    records.sort(key=lambda r: (r[0], r[1], r[3], r[2]))
    out = dst / OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join([" ".join(FIELDS), *(r[4] for r in records)]) + "\n",
                   encoding="utf-8")
    return [OUT]
