"""Readers: one module per input format, registered by listing them here.

Each reader module has:

* ``NAME``: the format's name (used in ``--format`` hints, accounting and source spans);
* ``NEEDS_HOST``: whether its records carry no host of their own, so ``--host-from-path`` or
  ``--host`` must supply one (DESIGN §3 host identity);
* ``sniff(head: bytes) -> bool``: a cheap "is this mine?" from the first 64 KiB (decompressed);
  never raises;
* ``read(ctx: ReadContext) -> ReadResult``: the normalised rows and the file's accounting.

Sniffing tries the readers in the order listed; put more specific formats first.
"""

from __future__ import annotations

from types import ModuleType

from agenttrail.readers import (
    auditd,
    elastic,
    eslogger,
    journald,
    nfdump,
    ocsf_input,
    osquery,
    sshd_syslog,
    suricata,
    unified_log,
    utmpdump,
    vpcflow,
    wtmp,
    zeek,
)

#: Every reader, in sniffing order: binary and strongly marked formats first, syslog-like text
#: (which many text files resemble) last.
READERS: tuple[ModuleType, ...] = (
    eslogger, osquery, zeek, suricata, journald, elastic, ocsf_input, unified_log, wtmp,
    utmpdump, nfdump, vpcflow, sshd_syslog, auditd,
)

BY_NAME: dict[str, ModuleType] = {r.NAME: r for r in READERS}


def sniff(head: bytes) -> ModuleType | None:
    """The first reader that claims a file with this head, or None."""
    for reader in READERS:
        try:
            if reader.sniff(head):
                return reader
        except Exception:  # "not mine" is never an error (STYLE §3)
            continue
    return None
