"""What every detection declares, the signal row shape, and shared severity rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis

if TYPE_CHECKING:
    from ibis.expr.types import IntegerValue, Table, Value

    from agenttrail.config import Settings

#: OCSF severity_id by name.
SEVERITY = {"low": 2, "medium": 3, "high": 4, "critical": 5}
SEVERITY_NAME = {v: k for k, v in SEVERITY.items()}

TECHNIQUE = "T1563.001"
TACTIC = "TA0008"  # Lateral Movement


@dataclass(frozen=True)
class Param:
    """A named, documented parameter with its default."""

    name: str
    default: Any
    doc: str
    setting: str  # where it is set: "[windows] time_window" or "--baseline"


@dataclass(frozen=True)
class Detection:
    """Metadata of one detection (the catalogue of ``agenttrail rules``)."""

    id: str
    title: str
    severity: str
    summary: str
    requires: tuple[str, ...]
    params: tuple[Param, ...] = ()
    false_positives: tuple[str, ...] = ()
    sigma: str = ""
    sigma_loss: str = ""
    analytics: tuple[str, ...] = ("AN0711", "AN0710")
    technique: str = TECHNIQUE
    tactic: str = TACTIC
    version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Tables:
    """The enriched tables a detection reads (Ibis expressions on one backend)."""

    proc: Table
    owner: Table
    sock_ev: Table
    flow: Table
    login: Table
    span: Table
    user_asid: Table
    asset: Table
    process: Table
    dns: Table
    flow_src: Table
    settings: Settings


SIGNAL_COLUMNS: dict[str, str] = {
    "rule_id": "string",
    "severity_id": "int64",
    "status": "string",  # final / incomplete
    "reason": "string",
    "host": "string",
    "t_us": "int64",
    "pid": "int64",
    "pidversion": "int64",
    "exe": "string",
    "euid": "int64",
    "auid": "int64",
    "asid": "int64",
    "principal_uid": "int64",
    "principal_kind": "string",
    "socket_path": "string",
    "socket_scope": "string",
    "owner_uid": "int64",
    "owner_origin": "string",
    "owner_conflict": "boolean",
    "code_signature": "string",
    "proc_row": "int64",
    "sock_row": "int64",
    "flow_row": "int64",
    "login_row": "int64",
    "src_ip": "string",
    "src_port": "int64",
    "dst_ip": "string",
    "dst_port": "int64",
    "dst_host": "string",
    "flow_start_us": "int64",
}


def as_signals(t: Table, rule_id: str, **cols: Value) -> Table:
    """Project ``t`` onto the signal shape; columns not given are NULL."""
    out: dict[str, Value] = {}
    for name, typ in SIGNAL_COLUMNS.items():
        if name == "rule_id":
            out[name] = ibis.literal(rule_id, "string")
        elif name in cols:
            out[name] = cols[name].cast(typ)
        else:
            out[name] = ibis.null(typ)
    return t.select(**out)


def severity_by_code(
    t: Table, principal_kind: Value, base: str = "high"
) -> IntegerValue:
    """DESIGN §4: a system actor's severity depends on its code; another user's is ``base``.

    Apple platform binary → medium; unsigned, ad-hoc or run from a user-writable, temp or
    download folder → high; otherwise high. euid 0 with auid unset and ``SUDO_UID`` = owner is
    "delegated, unverified" → low.
    """
    risky = t.code_signature.isin(["unsigned", "adhoc"]) | t.exe_location.isin(
        ["user_writable", "temp", "download"]
    )
    return ibis.cases(
        ((principal_kind == "system") & (t.sudo_uid == t.owner_uid).fill_null(False),
         SEVERITY["low"]),
        ((principal_kind == "system") & risky.fill_null(False), SEVERITY["high"]),
        ((principal_kind == "system") & (t.code_signature == "platform").fill_null(False),
         SEVERITY["medium"]),
        else_=SEVERITY[base],
    )
