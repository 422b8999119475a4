"""Sigma rules for the parts of the detections a SIEM can run (``agenttrail export sigma``).

Single-event rules where Sigma can express the event, and Sigma v2 ``temporal_ordered``
correlation rules for the chain, grouped by host. Every rule carries its detection's
``sigma_loss`` text (``_meta.Detection``) twice: as the custom attribute ``sigma_loss`` and at the
end of ``description``, because the translation always loses something: Sigma needs the same
group-by field on every step, so the per-hop keys (argv destination and process lifetime, source
port) become "same host within the window", and nothing can say "the owner of this socket".

Detections with no Sigma form (``ssh_flow_without_login``: absence with per-destination
coverage) are listed in ``README.md`` beside the rules with their loss, never exported as rules.

The rules are data: one dict per rule, dumped as YAML with keys in a fixed order; ids are UUIDv5
of the rule name, so the same version writes the same bytes.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml

from agenttrail import __version__
from agenttrail.detect import CATALOGUE

RULE_DATE = "2026-03-02"
NAMESPACE = uuid.UUID("6f1c1f0e-5b0a-4c55-9a3e-2d8f7a0c5e11")
TAGS = ["attack.lateral-movement", "attack.t1563.001"]
REFERENCES = ["https://attack.mitre.org/techniques/T1563/001/",
              "https://attack.mitre.org/detectionstrategies/DET0256/"]
#: Internal networks of the default config (RFC 1918, CGNAT, ULA).
INTERNAL = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"]
HOST_FIELD = "Computer"

# Agent socket paths as command-line fragments (DESIGN §4), per platform.
_SOCKETS = {
    "macos": {
        "selection_sock_launchd": ["/com.apple.launchd.", "/Listeners"],
        "selection_sock_tmp": ["/tmp/ssh-", "/agent."],
        "selection_sock_tmpdir": ["/T/ssh-", "/agent."],
        "selection_sock_home": ["/.ssh/agent/s."],
    },
    "linux": {
        "selection_sock_tmp": ["/tmp/ssh-", "/agent."],
        "selection_sock_home": ["/.ssh/agent/s."],
        "selection_sock_run": ["/run/user/", "agent"],
    },
}


def _uid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


def _meta_text(rule_id: str) -> tuple[str, str, list[str]]:
    m = CATALOGUE[rule_id]
    return m.sigma_loss, m.summary, list(m.false_positives)


def _rule(name: str, rule_id: str, title: str, what: str, logsource: dict[str, str],
          detection: dict[str, Any], level: str, fields: list[str]) -> dict[str, Any]:
    loss, _, fps = _meta_text(rule_id)
    return {
        "title": title,
        "id": _uid(name),
        "name": name,
        "status": "experimental",
        "description": f"{what} Part of agenttrail detection {rule_id}. What the Sigma form "
        f"loses: {loss}.",
        "references": REFERENCES,
        "author": "agenttrail",
        "date": RULE_DATE,
        "tags": TAGS,
        "logsource": logsource,
        "detection": detection,
        "fields": fields,
        "falsepositives": fps or ["unknown"],
        "level": level,
        "sigma_loss": loss,
        "agenttrail_rule": rule_id,
        "agenttrail_version": __version__,
    }


def _proc_rule(platform: str) -> dict[str, Any]:
    det: dict[str, Any] = {
        "selection_env": {"CommandLine|contains": ["SSH_AUTH_SOCK=", "IdentityAgent"]},
    }
    for sel, parts in _SOCKETS[platform].items():
        det[sel] = {"CommandLine|contains|all": parts}
    det["selection_root"] = {"User": "root"}
    det["condition"] = "selection_env and 1 of selection_sock_* and selection_root"
    return _rule(
        f"agenttrail_proc_root_foreign_agent_socket_{platform}", "agent_env_foreign_socket",
        f"Root Process Names An SSH Agent Socket ({'macOS' if platform == 'macos' else 'Linux'})",
        "A process started by root whose command line sets SSH_AUTH_SOCK or IdentityAgent to a "
        "per-user SSH agent socket (launchd Listeners, /tmp/ssh-*/agent.*, ~/.ssh/agent/s.*): "
        "root reusing another user's agent. The environment itself is not a Sigma field; map it "
        "to CommandLine where the SIEM records it.",
        {"category": "process_creation", "product": platform}, det, "high",
        ["Computer", "User", "Image", "CommandLine", "ParentImage"],
    )


def _net_rule(platform: str, internal: bool) -> dict[str, Any]:
    where = "internal" if internal else "external"
    det: dict[str, Any] = {
        "selection": {"Initiated": "true", "DestinationPort": 22},
        "filter_internal" if not internal else "selection_internal":
            {"DestinationIp|cidr": INTERNAL},
    }
    det["condition"] = "selection and selection_internal" if internal \
        else "selection and not filter_internal"
    rule = "agent_hijack_lateral_ssh" if internal else "agent_hijack_external_ssh"
    return _rule(
        f"agenttrail_net_ssh_{where}_{platform}", rule,
        f"Outbound SSH Connection To An {where.title()} Host "
        f"({'macOS' if platform == 'macos' else 'Linux'})",
        f"An outbound TCP connection to port 22 of an {where} address: the second step of the "
        "hijack chain, noisy alone (a building block for the correlation rules).",
        {"category": "network_connection", "product": platform}, det, "informational",
        ["Computer", "User", "Image", "DestinationIp", "DestinationPort"],
    )


def _es_connect_rule(rule_id: str) -> dict[str, Any]:
    det: dict[str, Any] = {"selection_connect": {"event_type": 78}}
    for sel, parts in _SOCKETS["macos"].items():
        det[sel] = {"event.uipc_connect.file.path|contains|all": parts}
    det["selection_root"] = {"process.audit_token.euid": 0}
    if rule_id == "agent_socket_cross_user":
        det["filter_owner_root"] = {"event.uipc_connect.file.stat.st_uid": 0}
        det["filter_owner_unknown"] = {"event.uipc_connect.file.stat.st_uid": None}
        det["condition"] = ("selection_connect and 1 of selection_sock_* and selection_root "
                            "and not 1 of filter_*")
        name, title, level = ("agenttrail_es_root_connect_user_agent_socket",
                              "Root Connects To Another User's SSH Agent Socket (eslogger)", "high")
        what = ("An Endpoint Security uipc_connect by a root process (euid 0) to an agent "
                "socket whose st_uid is another user's.")
    else:
        det["selection_no_owner"] = {"event.uipc_connect.file.stat.st_uid": None}
        det["condition"] = ("selection_connect and 1 of selection_sock_* and selection_root "
                            "and selection_no_owner")
        name, title, level = ("agenttrail_es_root_connect_agent_socket_no_owner",
                              "Root Connects To An SSH Agent Socket Of Unknown Owner (eslogger)",
                              "low")
        what = "An Endpoint Security uipc_connect by root to an agent socket without st_uid."
    return _rule(
        name, rule_id, title, what + " Field names are eslogger's JSON paths.",
        {"product": "macos", "service": "eslogger"}, det, level,
        ["process.audit_token.auid", "process.audit_token.euid", "process.executable.path",
         "event.uipc_connect.file.path", "event.uipc_connect.file.stat.st_uid"],
    )


def _correlation(name: str, rule_id: str, title: str, steps: list[str], what: str,
                 level: str) -> dict[str, Any]:
    loss, _, fps = _meta_text(rule_id)
    window = CATALOGUE["agent_hijack_lateral_ssh"].params[0].default  # time_window, seconds
    return {
        "title": title,
        "id": _uid(name),
        "name": name,
        "status": "experimental",
        "description": f"{what} Correlates agenttrail detection {rule_id}: the steps in order on "
        f"the same host within time_window ({window} s). What the Sigma form loses: {loss}.",
        "references": REFERENCES,
        "author": "agenttrail",
        "date": RULE_DATE,
        "tags": TAGS,
        "correlation": {
            "type": "temporal_ordered",
            "rules": steps,
            "group-by": [HOST_FIELD],
            "timespan": f"{window}s",
        },
        "falsepositives": fps or ["unknown"],
        "level": level,
        "sigma_loss": loss,
        "agenttrail_rule": rule_id,
        "agenttrail_version": __version__,
    }


def rules() -> list[dict[str, Any]]:
    """Every exported rule, base rules first, then the correlations that use them."""
    out: list[dict[str, Any]] = []
    for platform in ("macos", "linux"):
        out += [_proc_rule(platform), _net_rule(platform, True), _net_rule(platform, False)]
    out += [_es_connect_rule("agent_socket_cross_user"),
            _es_connect_rule("agent_socket_owner_unknown")]
    for platform in ("macos", "linux"):
        label = "macOS" if platform == "macos" else "Linux"
        proc = f"agenttrail_proc_root_foreign_agent_socket_{platform}"
        out.append(_correlation(
            f"agenttrail_corr_hijack_lateral_{platform}", "agent_hijack_lateral_ssh",
            f"SSH Agent Hijack Then Lateral SSH ({label})",
            [proc, f"agenttrail_net_ssh_internal_{platform}"],
            "Root starts a program with another user's agent socket, then the same host opens "
            "SSH to an internal host.", "critical"))
        out.append(_correlation(
            f"agenttrail_corr_hijack_external_{platform}", "agent_hijack_external_ssh",
            f"SSH Agent Hijack Then External SSH ({label})",
            [proc, f"agenttrail_net_ssh_external_{platform}"],
            "Root starts a program with another user's agent socket, then the same host opens "
            "SSH to an external host.", "high"))
    out.append(_correlation(
        "agenttrail_corr_connect_lateral_macos", "agent_hijack_lateral_ssh",
        "Root Agent Socket Connect Then Lateral SSH (macOS)",
        ["agenttrail_es_root_connect_user_agent_socket", "agenttrail_net_ssh_internal_macos"],
        "Root connects to another user's agent socket, then the same host opens SSH to an "
        "internal host.", "critical"))
    return out


def not_exported() -> list[tuple[str, str, str]]:
    """Detections with no Sigma rule: (id, what the catalogue says, the loss)."""
    covered = {r["agenttrail_rule"] for r in rules()}
    return [(m.id, m.sigma, m.sigma_loss) for m in CATALOGUE.values() if m.id not in covered]


def dump(rule: dict[str, Any]) -> str:
    """One rule as YAML, keys in the order built."""
    return yaml.safe_dump(rule, sort_keys=False, allow_unicode=True, width=100)


def write(outdir: Path) -> list[Path]:
    """Write one ``<name>.yml`` per rule and a README.md; return the paths written."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for r in rules():
        path = outdir / f"{r['name']}.yml"
        path.write_text(dump(r), encoding="utf-8")
        written.append(path)
    lines = [
        "# agenttrail Sigma rules",
        "",
        f"Exported by agenttrail {__version__}. Load the whole folder: the correlation rules "
        "(`agenttrail_corr_*`) refer to the base rules by name. Each rule's `sigma_loss` says "
        "what the Sigma form loses against agenttrail's own detection.",
        "",
        "| rule | kind | agenttrail detection | level |",
        "|---|---|---|---|",
    ]
    for r in rules():
        kind = "correlation (temporal_ordered)" if "correlation" in r else "single event"
        lines.append(f"| `{r['name']}` | {kind} | `{r['agenttrail_rule']}` | {r['level']} |")
    lines += ["", "## Not exported", ""]
    for rid, sigma, loss in not_exported():
        lines.append(f"* `{rid}`: {sigma}. Not expressible: {loss}.")
    path = outdir / "README.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    written.append(path)
    return written


def check(outdir: Path) -> list[str]:
    """Load the folder with pySigma; the problems found (empty when every rule loads)."""
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError

    try:
        col = SigmaCollection.load_ruleset([outdir], collect_errors=True)
    except SigmaError as exc:
        return [str(exc)]
    problems = [str(e) for e in col.errors]
    for r in col.rules:
        problems += [f"{r.name}: {e}" for e in r.errors]
    names = {r["name"] for r in rules()}
    if {r.name for r in col.rules} != names:
        problems.append(f"expected rules {sorted(names)}, loaded {sorted(r.name for r in col)}")
    return problems
