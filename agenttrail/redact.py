"""Pseudonymise user names, host names and paths in a Report, for sharing outside the team.

A name becomes a short keyed token, ``user-3f9a1c``, ``host-08be51``, ``path-c2d4e6``: the first
hex digits of HMAC-SHA256(key, kind + NUL + name). The same key gives the same tokens, so two
redacted reports of the same data are byte-identical and can be compared; whoever holds the key
can check a guess ("is host-08be51 db1?") but nobody can reverse a token without it.

Applied once to the Report document before anything renders it, so every output (terminal,
``report.json``, ``findings.json``, CSV, HTML, ``explain``) shows the same tokens.

* ``users``: every user name the report or the data names (actor, victim, login accounts, sudo
  users, the user table), replaced wherever it appears as a whole word, in messages, arguments
  and excerpts too. ``root`` is kept: it names no person and its role matters.
* ``hosts``: every host name (endpoints, destinations, assets, syslog hosts, argv destinations),
  matched without regard to case, also inside input file paths (``servers/db1/auth.log``).
* ``paths``: every absolute path; its directory becomes one token and its last component is
  kept (``/private/tmp/com.apple.launchd.X/Listeners`` → ``path-1a2b3c/Listeners``), so the
  socket or program stays recognisable. System program folders (``/usr/bin``, ``/bin``,
  ``/sbin``, ``/usr/sbin``, ``/usr/libexec``, ``/System/...``) name nobody and are kept.
  Input file names (``inputs.files[].path``, ``source.file``) are relative and kept, apart from
  the names inside them.

Addresses, uids and incident uids are not changed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

KINDS = ("users", "hosts", "paths")
PREFIX = {"users": "user", "hosts": "host", "paths": "path"}
TOKEN_HEX = 6
KEEP_USERS = frozenset({"root", ""})
SYSTEM_DIRS = ("/usr/bin", "/bin", "/sbin", "/usr/sbin", "/usr/libexec", "/System",
               "/usr/local/bin")

# An absolute path in free text: starts at a boundary that is not part of a word, a URL or
# base64 (so "SHA256:ab/cd" and "ssh://u@h" are left alone).
_PATH_RE = re.compile(r"(?<![\w.:/+\\-])/[^\s\"'<>|;,(){}\[\]=`]+")

_USER_KEYS = frozenset({"user", "auid_name", "sudo_user", "env_user", "env_logname",
                        "ssh_dest_user", "username", "from_username"})
_HOST_KEYS = frozenset({"host", "dst_host", "src_host", "hostname", "ssh_dest_host"})
_PATH_KEYS = frozenset({"socket_path", "exe", "auth_sock", "cwd", "socket_path_raw",
                        "auth_sock_raw", "identity_agent", "env_home", "env_tmpdir"})
_NAMED_USERS = frozenset({"actor", "victim", "owner", "user"})


class RedactError(Exception):
    """A bad ``--redact`` value or an unusable key file."""


def load_or_create_key(path: Path) -> tuple[bytes, bool]:
    """The key in ``path`` (hex text), or a new random one written there (mode 0600)."""
    if path.exists():
        try:
            text = path.read_text(encoding="ascii").strip()
            key = bytes.fromhex(text)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise RedactError(f"{path}: not a redaction key (hex text expected): {exc}") from exc
        if len(key) < 16:
            raise RedactError(f"{path}: key too short (at least 16 bytes, as 32 hex digits)")
        return key, False
    key = secrets.token_bytes(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key.hex() + "\n")
    except OSError as exc:
        raise RedactError(f"{path}: cannot write the redaction key: {exc.strerror}") from exc
    return key, True


def _mac_path(d: str) -> str:
    return re.sub(r"^/(tmp|var|etc)(/|$)", r"/private/\1\2", re.sub(r"/{2,}", "/", d))


class Redactor:
    """Keyed pseudonyms for one report; collect names first, then rewrite every string."""

    def __init__(self, key: bytes, kinds: Iterable[str]) -> None:
        """Use ``key`` for the tokens of ``kinds`` (a subset of :data:`KINDS`)."""
        self.key = key
        self.kinds = frozenset(kinds)
        self.names: dict[str, set[str]] = {"users": set(), "hosts": set()}
        self._rx: re.Pattern[str] | None = None
        self._map: dict[str, str] = {}

    @staticmethod
    def parse_kinds(spec: str) -> frozenset[str]:
        """``users,hosts,paths`` (any subset, any order)."""
        kinds = {k.strip() for k in spec.split(",") if k.strip()}
        bad = kinds - set(KINDS)
        if bad or not kinds:
            raise RedactError(f"--redact takes a comma-separated subset of {', '.join(KINDS)}"
                              + (f"; not {', '.join(sorted(bad))}" if bad else ""))
        return frozenset(kinds)

    def token(self, kind: str, value: str, n: int = TOKEN_HEX) -> str:
        """The pseudonym of one name."""
        if kind == "hosts":
            value = value.lower()
        digest = hmac.new(self.key, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()
        return f"{PREFIX[kind]}-{digest[:n]}"

    # -- collecting names ------------------------------------------------------------------

    def add(self, kind: str, values: Iterable[Any]) -> None:
        """Names of ``kind`` to pseudonymise (others are ignored)."""
        if kind not in self.names:
            return
        for v in values:
            if not isinstance(v, str) or not v.strip() or v.startswith(("(", "-")):
                continue
            if kind != "users" or v not in KEEP_USERS:
                self.names[kind].add(v.lower() if kind == "hosts" else v)
        self._rx = None

    def collect(self, doc: Any, parent: str | None = None) -> None:
        """Find user and host names in a Report by the keys that hold them."""
        if isinstance(doc, dict):
            for k, v in doc.items():
                if isinstance(v, str):
                    if k in _USER_KEYS or (k == "name" and parent in _NAMED_USERS):
                        self.add("users", [v])
                    elif k in _HOST_KEYS:
                        self.add("hosts", [v])
                elif k == "destinations" and isinstance(v, list):
                    self.add("hosts", [x for x in v if isinstance(x, str)])
                elif k == "hosts" and isinstance(v, dict):
                    self.add("hosts", list(v))
                    self.collect(v, k)
                else:
                    self.collect(v, k)
        elif isinstance(doc, list):
            for v in doc:
                self.collect(v, parent)

    def collect_tables(self, tables: dict[str, Any]) -> None:
        """Names in the normalised (or read) tables: every user and host the data names."""
        for table in tables.values():
            cols = getattr(table, "column_names", [])
            for c in cols:
                if c in _USER_KEYS or (c == "name" and "uid" in cols):
                    self.add("users", table.column(c).unique().to_pylist())
                elif c in _HOST_KEYS or c == "query_host":
                    self.add("hosts", table.column(c).unique().to_pylist())

    # -- rewriting -------------------------------------------------------------------------

    def _compile(self) -> None:
        self._map = {}
        alts: list[str] = []
        for kind in ("users", "hosts"):
            if kind not in self.kinds:
                continue
            names = sorted(self.names[kind])
            tokens = {n: self.token(kind, n) for n in names}
            clash = {t for t in tokens.values() if list(tokens.values()).count(t) > 1}
            for n in names:
                t = tokens[n] if tokens[n] not in clash else self.token(kind, n, 12)
                self._map[n.lower() if kind == "hosts" else n] = t
                alts.append(n)
        alts.sort(key=lambda n: (-len(n), n))
        self._hosts_ci = {n.lower() for n in self.names["hosts"]} if "hosts" in self.kinds \
            else set()
        flags = re.IGNORECASE if self._hosts_ci else 0
        self._rx = re.compile(
            r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, alts)) + r")(?![A-Za-z0-9_])", flags
        ) if alts else re.compile(r"(?!x)x")

    def _name(self, m: re.Match[str]) -> str:
        s = m.group(1)
        if s in self._map:
            return self._map[s]
        return self._map.get(s.lower(), s) if s.lower() in self._hosts_ci else s

    def _path(self, m: re.Match[str]) -> str:
        p = m.group(0)
        d, _, leaf = p.rstrip("/").rpartition("/")
        if not d or d in SYSTEM_DIRS or d.startswith("/System/"):
            return p
        return f"{self.token('paths', _mac_path(d))}/{leaf}"

    def text(self, s: str) -> str:
        """One string with every known name and (for ``paths``) every absolute path replaced."""
        if self._rx is None:
            self._compile()
        assert self._rx is not None
        if "paths" in self.kinds:
            s = _PATH_RE.sub(self._path, s.replace("\\/", "/"))
        return self._rx.sub(self._name, s)

    def apply(self, doc: Any) -> Any:
        """A copy of ``doc`` with every string (dict keys too) rewritten by :meth:`text`."""
        if isinstance(doc, dict):
            return {self.text(k) if isinstance(k, str) else k: self.apply(v)
                    for k, v in doc.items()}
        if isinstance(doc, list):
            return [self.apply(v) for v in doc]
        if isinstance(doc, str):
            return self.text(doc)
        return doc

    def report(self, report: dict[str, Any]) -> dict[str, Any]:
        """The redacted Report (names collected from it first, added to any already known)."""
        self.collect(report)
        out = self.apply(report)
        out["redaction"] = {"kinds": sorted(self.kinds), "token": "HMAC-SHA256, "
                            f"{TOKEN_HEX} hex digits"}
        return out
