"""The TOML config file and command-line options → one frozen ``Settings`` (DESIGN §6).

Unknown keys are errors with the file and line, so a typo never silently disables a setting.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from agenttrail.addr import parse_network

DEFAULT_INTERNAL = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")

DEFAULT_CONFIG = """\
# agenttrail configuration. Every key is optional; command-line options override it.

[network]
# Internal networks. Without this key: RFC 1918, 100.64.0.0/10, fc00::/7 and every asset address,
# and the report says "internal networks: defaulted".
# internal = ["10.0.0.0/8"]
# Ports where sshd listens, for flow formats without protocol detection.
ssh_ports = [22]
# Name suffixes stripped from host names (lower-cased first): "corp.example.com" makes
# "db1.corp.example.com" the host "db1".
domain_suffixes = []
# Authenticated-session heuristic for flows without an authentication hint: a session start with
# more packets AND more bytes than this is taken as authenticated. Calibrated on the real Zeek
# ssh.basic trace: sessions Zeek saw authenticate had >= 48 packets and >= 4478 bytes, failed
# ones <= 44 packets, SSH-1 scanners about 1-2 KB.
auth_min_pkts = 46
auth_min_bytes = 4000

# [hosts."db1"]
# tz = "Europe/Berlin"          # zone of zone-less timestamps in this host's logs
# aliases = ["db1.prod", "10.20.0.5"]
# ssh_ports = [22, 2222]
# addresses = ["10.20.0.5"]      # the host's addresses (like an assets.csv row)

[sockets]
# Extra agent-socket path globs (third-party agents), e.g. 1Password or Secretive.
extra_scope = []

[windows]
# All windows in seconds; inclusive at both ends.
time_window = 60        # seed → flow start, after the seed
pre_auth_window = 30    # a flow may start this long before the seed
endpoint_skew = 5       # clock difference tolerated between endpoint and flow sensor
clock_tolerance = 120   # initial tolerance between flow start and destination login record
login_grace = 120       # how long after the flow start a login record may appear
incident_gap = 1800     # signals of one key join an incident within this gap
"""

_WINDOW_KEYS = (
    "time_window",
    "pre_auth_window",
    "endpoint_skew",
    "clock_tolerance",
    "login_grace",
    "incident_gap",
)


class ConfigError(Exception):
    """A config file or option is wrong; the message says where and how to fix it (one line per
    problem: a config file reports all of its problems at once, each with its file:line)."""


@dataclass(frozen=True)
class HostConfig:
    """Per-host settings from ``[hosts."name"]``."""

    tz: str | None = None
    aliases: tuple[str, ...] = ()
    ssh_ports: tuple[int, ...] = ()
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Windows:
    """Time windows, in seconds."""

    time_window: int = 60
    pre_auth_window: int = 30
    endpoint_skew: int = 5
    clock_tolerance: int = 120
    login_grace: int = 120
    incident_gap: int = 1800


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know, from the config file and the command line."""

    internal: tuple[str, ...] = ()
    internal_defaulted: bool = True
    ssh_ports: tuple[int, ...] = (22,)
    domain_suffixes: tuple[str, ...] = ()
    auth_min_pkts: int = 46
    auth_min_bytes: int = 4000
    hosts: dict[str, HostConfig] = field(default_factory=dict)
    extra_scope: tuple[str, ...] = ()
    windows: Windows = field(default_factory=Windows)
    host: str | None = None
    host_from_path: str | None = None
    assets: str | None = None
    config_path: str | None = None
    tz: str | None = None
    year: int | None = None
    collected_at_us: int | None = None
    since_us: int | None = None
    until_us: int | None = None
    only_host: str | None = None
    threads: int | None = None
    memory_limit: str | None = None
    temp_dir: str | None = None
    input_format: str | None = None
    max_line_bytes: int = 1 << 20
    max_decompressed_bytes: int = 4 << 30  # per .gz input; the ratio cap is in readers._io
    output_dir: str | None = None  # this run's -o folder: never read as input

    def with_options(self, **opts: Any) -> Settings:
        """A copy with the given (non-None) command-line options applied."""
        return replace(self, **{k: v for k, v in opts.items() if v is not None})

    def canonical_host(self, name: str | None) -> str | None:
        """Lower-case, strip configured domain suffixes, apply aliases."""
        if name is None:
            return None
        h = name.strip().lower().rstrip(".")
        if not h or h == "localhost":
            return None
        for suffix in self.domain_suffixes:
            s = "." + suffix.lower().lstrip(".")
            if h.endswith(s):
                h = h[: -len(s)]
                break
        return self.alias_map().get(h, h)

    def host_zones(self) -> dict[str, str]:
        """Configured zone per host name and alias (lower case)."""
        zones = {}
        for name, hc in self.hosts.items():
            if hc.tz:
                zones[name] = hc.tz
                zones.update(dict.fromkeys(hc.aliases, hc.tz))
        return zones

    def alias_map(self) -> dict[str, str]:
        """alias → host name, from ``[hosts."name"] aliases``."""
        return {a.lower(): name for name, hc in self.hosts.items() for a in hc.aliases}

    def detection_params(self) -> dict[str, Any]:
        """The parameters that change results, for the report and the config hash."""
        return {
            "internal": list(self.internal),
            "internal_defaulted": self.internal_defaulted,
            "ssh_ports": list(self.ssh_ports),
            "auth_min_pkts": self.auth_min_pkts,
            "auth_min_bytes": self.auth_min_bytes,
            "windows": asdict(self.windows),
            "extra_scope": list(self.extra_scope),
            "hosts": {
                k: asdict(v) for k, v in sorted(self.hosts.items())
            },
            "domain_suffixes": list(self.domain_suffixes),
        }

    def config_hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`detection_params`."""
        blob = json.dumps(self.detection_params(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "network": {
        "internal": list,
        "ssh_ports": list,
        "nat": list,
        "jump_hosts": list,
        "app_ssh": list,
        "domain_suffixes": list,
        "auth_min_pkts": int,
        "auth_min_bytes": int,
    },
    "sockets": {"extra_scope": list},
    "windows": {
        **dict.fromkeys(_WINDOW_KEYS, int),
        "allowed_lateness": int,
        "max_flow_lateness": int,
        "stall_after": int,
    },
}
_HOST_KEYS: dict[str, type] = {"tz": str, "aliases": list, "ssh_ports": list, "addresses": list}


def _line_of(text: str, section: str, key: str | None) -> int | None:
    """Best-effort line number of ``key`` in ``section`` of a TOML text."""
    lines = text.splitlines()
    in_section = False
    header = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+\s*$")
    for i, line in enumerate(lines, 1):
        m = header.match(line)
        if m:
            in_section = m.group(1).replace('"', "").replace(" ", "") == section.replace('"', "")
            if in_section and key is None:
                return i
            continue
        if in_section and key and re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
            return i
    return None


def load(path: Path | None) -> Settings:
    """Read and validate a config file (or the defaults when ``path`` is None)."""
    text = DEFAULT_CONFIG if path is None else _read(path)
    where = "default config" if path is None else str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from exc
    settings = _settings(data, text, where)
    return settings if path is None else replace(settings, config_path=str(path))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: the config file is not UTF-8") from exc


class _Errors:
    """Every problem of one config file, each with its file:line."""

    def __init__(self, where: str, text: str) -> None:
        self.where, self.text = where, text
        self.found: list[tuple[int, str]] = []

    def add(self, section: str, key: str | None, msg: str) -> None:
        line = _line_of(self.text, section, key)
        loc = f"{self.where}:{line}" if line else self.where
        self.found.append((line or 0, f"{loc}: {msg}"))

    def raise_any(self) -> None:
        if self.found:
            lines = [m for _, m in sorted(self.found, key=lambda f: f[0])]
            raise ConfigError("\n".join(lines))


def _settings(data: dict[str, Any], text: str, where: str) -> Settings:
    errors = _Errors(where, text)
    allowed_top = {*_SCHEMA, "hosts", "identities", "allowlist"}
    for top in data:
        if top not in allowed_top:
            errors.add(top, None, f"unknown section [{top}]")
    sections: dict[str, dict[str, Any]] = {}
    for section, keys in _SCHEMA.items():
        body = data.get(section, {})
        if not isinstance(body, dict):
            errors.add(section, None, f"[{section}] must be a table")
            body = {}
        sections[section] = {}
        for key, value in body.items():
            if key not in keys:
                errors.add(section, key, f"unknown key {key!r} in [{section}]")
            elif not isinstance(value, keys[key]) or isinstance(value, bool):
                errors.add(section, key, f"[{section}] {key} must be {_kind(keys[key])}, "
                           f"not {_shown(value)}")
            elif isinstance(value, int) and value < 0:
                errors.add(section, key, f"[{section}] {key} must not be negative (is {value})")
            else:
                sections[section][key] = value
    net, sockets = sections["network"], sections["sockets"]
    _check_items(errors, "network", "internal", net, str, _network_problem)
    _check_items(errors, "network", "ssh_ports", net, int, _port_problem)
    _check_items(errors, "network", "domain_suffixes", net, str)
    _check_items(errors, "sockets", "extra_scope", sockets, str)
    hosts = _hosts(errors, data.get("hosts", {}))
    errors.raise_any()
    win = sections["windows"]
    internal = tuple(net.get("internal", ()))
    return Settings(
        internal=internal,
        internal_defaulted=not internal,
        ssh_ports=tuple(net.get("ssh_ports", (22,))),
        domain_suffixes=tuple(net.get("domain_suffixes", ())),
        auth_min_pkts=net.get("auth_min_pkts", 46),
        auth_min_bytes=net.get("auth_min_bytes", 4000),
        hosts=hosts,
        extra_scope=tuple(sockets.get("extra_scope", ())),
        windows=Windows(**{k: win[k] for k in _WINDOW_KEYS if k in win}),
    )


def _hosts(errors: _Errors, table: object) -> dict[str, HostConfig]:
    """``[hosts."name"]`` tables, checked key by key."""
    hosts: dict[str, HostConfig] = {}
    if not isinstance(table, dict):
        errors.add("hosts", None, "[hosts] must hold tables such as [hosts.\"db1\"]")
        return hosts
    for name, body in table.items():
        sect = f'hosts."{name}"'
        if not isinstance(body, dict):
            errors.add("hosts", None, f"[hosts.{name}] must be a table")
            continue
        ok: dict[str, Any] = {}
        for key, value in body.items():
            if key not in _HOST_KEYS:
                errors.add(sect, key, f"unknown key {key!r} in [{sect}]")
            elif not isinstance(value, _HOST_KEYS[key]):
                errors.add(sect, key, f"[{sect}] {key} must be {_kind(_HOST_KEYS[key])}, "
                           f"not {_shown(value)}")
            else:
                ok[key] = value
        if "tz" in ok and _zone_problem(ok["tz"]):
            errors.add(sect, "tz", f"[{sect}] tz {ok['tz']!r} is not an IANA zone "
                       "(e.g. Europe/Berlin)")
            del ok["tz"]
        _check_items(errors, sect, "aliases", ok, str)
        _check_items(errors, sect, "ssh_ports", ok, int, _port_problem)
        _check_items(errors, sect, "addresses", ok, str, _network_problem)
        hosts[name.lower()] = HostConfig(
            tz=ok.get("tz"),
            aliases=tuple(a.lower() for a in ok.get("aliases", ())),
            ssh_ports=tuple(ok.get("ssh_ports", ())),
            addresses=tuple(ok.get("addresses", ())),
        )
    return hosts


def _check_items(
    errors: _Errors,
    section: str,
    key: str,
    values: dict[str, Any],
    kind: type,
    problem: Callable[[Any], str | None] | None = None,
) -> None:
    """Check each item of the list ``values[key]``; drop the key when any item is wrong."""
    items = values.get(key)
    if items is None:
        return
    bad = False
    for i, item in enumerate(items):
        if not isinstance(item, kind) or isinstance(item, bool):
            why: str | None = f"must be {_kind(kind)}, not {_shown(item)}"
        else:
            why = problem(item) if problem else None
        if why:
            errors.add(section, key, f"[{section}] {key}[{i}] {why}")
            bad = True
    if bad:
        del values[key]


def _port_problem(port: int) -> str | None:
    return None if 1 <= port <= 65535 else f"{port} is not a port (1-65535)"


def _network_problem(text: str) -> str | None:
    try:
        parse_network(text)
    except ValueError:
        return f"{text!r} is not an address or network (e.g. 10.0.0.0/8)"
    return None


def _zone_problem(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return True
    return False


_KINDS = {bool: "a boolean", str: "a string", int: "an integer", float: "a number",
          list: "a list", dict: "a table"}


def _kind(kind: type | tuple[type, ...]) -> str:
    return _KINDS.get(kind, "a value") if isinstance(kind, type) else "a value"


def _shown(value: object) -> str:
    kind = _KINDS.get(type(value), type(value).__name__)
    if isinstance(value, (list, dict)):
        return kind
    return f"{kind} ({str(value).lower() if isinstance(value, bool) else repr(value)})"
