"""Which UNIX sockets are agent sockets, control sockets or other, and where they live (DESIGN §4).

All path interpretation happens here, on distinct paths; detections compare the typed columns.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

_MAC_PREFIXES = (("/tmp/", "/private/tmp/"), ("/var/", "/private/var/"), ("/etc/", "/private/etc/"))


def normalise_path(path: str | None, platform: str | None = "macos") -> str | None:
    """``/tmp``→``/private/tmp`` (and ``/var``, ``/etc``) on macOS; collapse ``//``."""
    if path is None:
        return None
    p = re.sub(r"/{2,}", "/", path.strip())
    if platform == "macos":
        for short, full in _MAC_PREFIXES:
            if p.startswith(short) or p == short.rstrip("/"):
                p = full + p[len(short) :]
                break
    return p


# Built-in agent socket patterns (resolved paths), each with its scope.
AGENT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (scope, re.compile(rx))
    for scope, rx in (
        # launchd's per-session agent socket (macOS 10.10-26.3 in /private/tmp, 26.4+ /var/run)
        ("tmp", r"^/private/tmp/com\.apple\.launchd\.[A-Za-z0-9]+/Listeners$"),
        ("var_run", r"^/private/var/run/com\.apple\.launchd\.[A-Za-z0-9]+/Listeners$"),
        ("tmp", r"^/private/tmp/launch-[A-Za-z0-9]+/Listeners$"),  # OS X <= 10.9
        # ssh-agent fallback and sshd agent forwarding (OpenSSH <= 10.0); Linux /tmp too
        ("tmp", r"^(/private)?/tmp/ssh-[A-Za-z0-9]{8,12}/agent\.\d+$"),
        # ssh-agent under $TMPDIR
        ("tmpdir", r"^/private/var/folders/[^/]+/[^/]+/T/ssh-[A-Za-z0-9]+/agent\.\d+$"),
        # OpenSSH 10.1+: ~/.ssh/agent/s.<hash>.agent.<rand> and s.<hash>.sshd.<rand>
        ("home", r"^/(Users|home)/[^/]+/\.ssh/agent/s\.[A-Za-z0-9]+\.(agent|sshd)\.[A-Za-z0-9]+$"),
        # Linux per-user runtime dirs
        ("var_run", r"^/run/user/\d+/(ssh-agent\.socket|openssh_agent|keyring/ssh|gnupg/S\.gpg-agent\.ssh)$"),
        # third-party agents
        ("home", r"^/Users/[^/]+/Library/Group Containers/2BUA8C4S2C\.com\.1password/t/agent\.sock$"),
        ("home", r"^/home/[^/]+/\.1password/agent\.sock$"),
        ("home", r"^/Users/[^/]+/Library/Containers/com\.maxgoedjen\.Secretive\.SecretAgent/Data/socket\.ssh$"),
        ("home", r"^/(Users|home)/[^/]+/\.gnupg/S\.gpg-agent\.ssh$"),
    )
)

# ControlMaster sockets: ssh-%r@%h:%p style names, ~/.ssh mux sockets, Ansible's cp dir.
CONTROL_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(rx)
    for rx in (
        r"/[^/]*@[^/]*[:\-]\d+$",  # user@host:port, user@host-port
        r"/\.ansible/cp/[^/]+$",
        r"/\.ssh/(sockets|cm|control|mux|controlmasters?)/[^/]+$",
        r"/\.ssh/cm-[^/]+$",
        r"/\.ssh/master-[^/]+$",
    )
)

_USER_IN_PATH = re.compile(r"^/(?:Users|home)/([^/]+)/")
_UID_IN_PATH = re.compile(r"^/run/user/(\d+)/")


@dataclass(frozen=True)
class SocketClass:
    """What a socket path is."""

    kind: str  # agent / control / other
    scope: str  # tmp / tmpdir / var_run / home / other
    path_user: str | None  # the user named by the path (/Users/<name>/)
    path_uid: int | None  # the uid named by the path (/run/user/<uid>/)


def scope_of(path: str) -> str:
    """The scope a path lies in, whatever its kind."""
    if path.startswith(("/private/tmp/", "/tmp/")):
        return "tmp"
    if re.match(r"^/private/var/folders/[^/]+/[^/]+/T/", path):
        return "tmpdir"
    if path.startswith(("/private/var/run/", "/run/user/", "/var/run/")):
        return "var_run"
    if path.startswith(("/Users/", "/home/", "/root/")):
        return "home"
    return "other"


def classify(
    path: str,
    named_agent: bool = False,
    bound_by_agent: bool = False,
    bound_by_mux: bool = False,
    extra_scope: tuple[str, ...] = (),
) -> SocketClass:
    """Classify a normalised socket path.

    Args:
        path: the normalised path.
        named_agent: the data names this path in ``SSH_AUTH_SOCK`` or ``IdentityAgent``.
        bound_by_agent: ``ssh-agent``, ``sshd`` or ``sshd-session`` bound it.
        bound_by_mux: an ``ssh`` master bound it (ControlMaster).
        extra_scope: configured extra agent-socket globs.
    """
    m = _USER_IN_PATH.match(path)
    path_user = m.group(1) if m else None
    u = _UID_IN_PATH.match(path)
    path_uid = int(u.group(1)) if u else None
    leaf = path.rsplit("/", 1)[-1]
    for scope, rx in AGENT_PATTERNS:
        if rx.match(path):
            return SocketClass("agent", scope, path_user, path_uid)
    if leaf in ("Render",) or "xquartz" in leaf.lower():
        return SocketClass("other", scope_of(path), path_user, path_uid)
    if any(fnmatch.fnmatchcase(path, g) for g in extra_scope) or bound_by_agent:
        return SocketClass("agent", scope_of(path), path_user, path_uid)
    if bound_by_mux or any(rx.search(path) for rx in CONTROL_PATTERNS):
        return SocketClass("control", scope_of(path), path_user, path_uid)
    if named_agent:
        return SocketClass("agent", scope_of(path), path_user, path_uid)
    return SocketClass("other", scope_of(path), path_user, path_uid)


AGENT_SERVERS = frozenset({"ssh-agent", "launchd", "sshd", "sshd-session"})
