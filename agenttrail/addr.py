"""Canonical IP addresses and their portable integer form (DESIGN §3).

An address is stored as canonical text (IPv6 compressed lower case, ``::ffff:a.b.c.d`` as IPv4,
zone ids dropped) plus two BIGINT halves ``_hi``/``_lo``: the 64-bit halves of the address in its
IPv6 form (IPv4 as IPv4-mapped), each with the top bit flipped so that signed comparison orders
addresses on every engine. A CIDR test is then a range predicate on the two halves.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

_BIAS = 1 << 63
_MASK64 = (1 << 64) - 1

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def ip_columns(names: Iterable[str]) -> list[str]:
    """The address columns among ``names`` (those named ``*_ip``)."""
    return sorted(n for n in names if n.endswith("_ip"))


def parse_ip(text: str | None) -> Address | None:
    """Parse an address in any common spelling; ``None`` when it is not an address."""
    if text is None:
        return None
    s = text.strip()
    if s.startswith("[") and s.endswith("]"):
        s = s[1:-1]
    if "%" in s:
        s = s.split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(s)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def canonical_ip(text: str | None) -> str | None:
    """Canonical text of an address; other text (a host name from ``UseDNS``) is kept as is."""
    ip = parse_ip(text)
    if ip is None:
        return text.strip() if text is not None else None
    return str(ip)


def _as_int128(ip: Address) -> int:
    if isinstance(ip, ipaddress.IPv4Address):
        return (0xFFFF << 32) | int(ip)
    return int(ip)


def halves(ip: Address) -> tuple[int, int]:
    """The biased signed 64-bit halves of an address."""
    v = _as_int128(ip)
    return ((v >> 64) & _MASK64) - _BIAS, (v & _MASK64) - _BIAS


def parse_network(text: str) -> Network:
    """Parse an address or CIDR (``10.0.0.0/8``, ``2001:db8::/32``, ``10.1.2.3``)."""
    net = ipaddress.ip_network(text.strip(), strict=False)
    if isinstance(net, ipaddress.IPv6Network) and net.network_address.ipv4_mapped is not None:
        prefix = max(net.prefixlen - 96, 0)
        return ipaddress.IPv4Network((net.network_address.ipv4_mapped, prefix), strict=False)
    return net


def network_range(net: Network) -> tuple[int, int, int, int]:
    """``(start_hi, start_lo, end_hi, end_lo)`` of a network, inclusive."""
    s_hi, s_lo = halves(net.network_address)
    e_hi, e_lo = halves(net.broadcast_address)
    return s_hi, s_lo, e_hi, e_lo


def canonical_ip_columns(rows: pa.Table, columns: list[str]) -> pa.Table:
    """Canonicalise the address ``columns`` of ``rows`` and add their ``_hi``/``_lo`` columns.

    Works on the distinct values only, so a million rows from a few hundred hosts cost a few
    hundred parses.
    """
    for col in columns:
        if col not in rows.column_names:
            continue
        values = rows.column(col).cast(pa.string())
        distinct = pc.unique(values).to_pylist()
        canon: list[str | None] = []
        his: list[int | None] = []
        los: list[int | None] = []
        for v in distinct:
            ip = parse_ip(v)
            if ip is None:
                canon.append(v.strip() if v is not None and v.strip() not in ("", "-") else None)
                his.append(None)
                los.append(None)
            else:
                canon.append(str(ip))
                hi, lo = halves(ip)
                his.append(hi)
                los.append(lo)
        idx = pc.index_in(values, value_set=pa.array(distinct, pa.string()), skip_nulls=False)
        rows = rows.set_column(
            rows.column_names.index(col), col, pc.take(pa.array(canon, pa.string()), idx)
        )
        for suffix, vals in (("_hi", his), ("_lo", los)):
            arr = pc.take(pa.array(vals, pa.int64()), idx)
            name = col + suffix
            if name in rows.column_names:
                rows = rows.set_column(rows.column_names.index(name), name, arr)
            else:
                rows = rows.append_column(name, arr)
    return rows
