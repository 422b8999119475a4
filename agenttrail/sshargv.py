"""Where an ssh, scp, sftp, git or rsync command line connects, and which agent it would use.

The parser follows OpenSSH's own argument handling (``ssh.c``, ``scp.c``, ``sftp.c``): BSD
``getopt`` with clustered flags, options before the destination and again directly after it (ssh
only), ``--`` ending the options, the first value of a setting winning (``-l``/``-p``/``-o`` before
``user@``/``ssh://`` parts), ``-o`` taking one argument spelled ``Key=Value`` or ``Key Value`` with
keys in any case. ``IdentityAgent`` values are expanded like ssh does (``~``, ``%d``, ``%u``,
``%%``, ``${HOME}``/``${USER}``) from the exec's ``HOME`` and user; an expanded value is marked
inferred; the literals ``none`` and ``SSH_AUTH_SOCK`` are kept as those words.

Examples::

    >>> parse_ssh_argv(["ssh", "-p", "2222", "alice@db1"], None, None).port
    2222
    >>> parse_ssh_argv(["git", "clone", "git@github.com:o/r.git"], None, None).host
    'github.com'
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

#: Options that take an argument, per program (OpenSSH 9/10 getopt strings).
_SSH_ARG_OPTS = frozenset("BbcDEeFIiJLlmOoPpQRSWw")
_SCP_ARG_OPTS = frozenset("cDFiJloPSX")  # scp: -l is a bandwidth limit, -P the port
_SFTP_ARG_OPTS = frozenset("BbcDFiJloPRSsX")
_RSYNC_SHORT_ARG_OPTS = frozenset("eBfTM")
_RSYNC_LONG_ARG_OPTS = frozenset({
    "rsh", "rsync-path", "exclude", "include", "filter", "files-from", "exclude-from",
    "include-from", "password-file", "port", "log-file", "log-file-format", "out-format",
    "chmod", "timeout", "temp-dir", "compare-dest", "link-dest", "copy-dest", "backup-dir",
    "suffix", "bwlimit", "max-size", "min-size", "partial-dir", "block-size", "remote-option",
    "sockopts", "info", "debug", "iconv", "usermap", "groupmap", "chown", "checksum-choice",
    "compress-choice", "compress-level", "skip-compress", "address", "contimeout", "protocol",
    "modify-window", "max-delete", "stop-after", "stop-at", "write-batch", "read-batch",
    "only-write-batch", "outbuf", "max-alloc",
})
#: git subcommands that name a remote URL, and their options that take a separate argument.
_GIT_NET_COMMANDS = frozenset(
    {"clone", "fetch", "pull", "push", "ls-remote", "remote", "archive", "submodule"}
)
_GIT_GLOBAL_ARG_OPTS = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace",
                                  "--config-env"})
_GIT_ARG_OPTS = frozenset({"-o", "-b", "-u", "-c", "-j", "--depth", "--reference", "--template",
                           "--separate-git-dir", "--origin", "--branch", "--upload-pack",
                           "--receive-pack", "--exec", "--config", "--filter", "--jobs",
                           "--shallow-since", "--shallow-exclude", "--server-option",
                           "--push-option", "--reference-if-able", "--bundle-uri", "--remote",
                           "--ref-format"})

_OPTION_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+)(.*?)\s*$", re.S)
_URI = re.compile(
    r"^(?:ssh|git\+ssh|ssh\+git)://(?:(?P<user>[^@/]*)@)?(?P<host>\[[^\]]*\]|[^:/]*)"
    r"(?::(?P<port>[^/]*))?(?:/.*)?$",
    re.I,
)
_OTHER_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_LITERALS = frozenset({"none", "SSH_AUTH_SOCK"})  # compared exactly, as ssh does


@dataclass(frozen=True)
class SshTarget:
    """What an ssh-family command line says about its connection (None: not said)."""

    host: str | None = None
    user: str | None = None
    port: int | None = None
    jump: str | None = None
    identity_agent: str | None = None
    identity_agent_inferred: bool = False
    program: str | None = None


@dataclass
class _Opts:
    """Settings collected while reading options; the first value of each wins (as in ssh)."""

    user: str | None = None
    port: int | None = None
    jump: str | None = None
    hostname: str | None = None
    agent: str | None = None

    def set(self, name: str, value: object) -> None:
        if value is not None and getattr(self, name) is None:
            setattr(self, name, value)


def parse_ssh_argv(args: list[str], home: str | None, user: str | None) -> SshTarget:
    """Parse the argv of ssh, scp, sftp, git or rsync (argv[0] included).

    Args:
        args: the full argument vector.
        home: the exec's ``HOME`` (for ``~``, ``%d`` and ``${HOME}`` in ``IdentityAgent``).
        user: the local user name (for ``%u`` and ``${USER}``).

    Returns:
        The destination, user, port, jump host and identity agent the command line names; other
        programs give only ``program``.
    """
    if not args:
        return SshTarget()
    program = args[0].rsplit("/", 1)[-1]
    name = program.lower()
    if name in ("ssh", "slogin"):
        host, opts = _parse_ssh(args[1:])
    elif name in ("scp", "sftp"):
        host, opts = _parse_copy(args[1:], name)
    elif name == "rsync":
        host, opts = _parse_rsync(args[1:])
    elif name == "git":
        host, opts = _parse_git(args[1:])
    else:
        return SshTarget(program=program)
    given = _clean_host(host)
    if opts.hostname and host is not None:
        host = opts.hostname
    host = _clean_host(host)
    tokens = {"d": home, "u": user, "h": host, "n": given, "r": opts.user or user,
              "p": str(opts.port or 22)}
    agent, inferred = _expand_agent(opts.agent, home, user, tokens)
    return SshTarget(
        host=host,
        user=opts.user,
        port=opts.port,
        jump=opts.jump,
        identity_agent=agent,
        identity_agent_inferred=inferred,
        program=program,
    )


def _parse_ssh(argv: list[str]) -> tuple[str | None, _Opts]:
    opts = _Opts()
    i = _getopt(argv, 0, _SSH_ARG_OPTS, opts, port_flag="p", user_flag="l")
    if i >= len(argv):
        return None, opts
    host = _destination(argv[i], opts)
    if i > 0 and argv[i - 1] == "--":
        return host, opts
    _getopt(argv, i + 1, _SSH_ARG_OPTS, opts, port_flag="p", user_flag="l")
    return host, opts


def _parse_copy(argv: list[str], name: str) -> tuple[str | None, _Opts]:
    opts = _Opts()
    arg_opts = _SCP_ARG_OPTS if name == "scp" else _SFTP_ARG_OPTS
    i = _getopt(argv, 0, arg_opts, opts, port_flag="P", user_flag=None)
    for operand in argv[i:]:
        if name == "sftp":  # sftp's one operand is the destination, a path after ':' optional
            return _remote_operand(operand, opts, require_colon=False), opts
        host = _remote_operand(operand, opts, require_colon=True)
        if host is not None:
            return host, opts
    return None, opts


def _parse_rsync(argv: list[str]) -> tuple[str | None, _Opts]:
    opts = _Opts()
    rsh: str | None = None
    operands: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            operands += argv[i + 1 :]
            break
        if a.startswith("--"):
            key, eq, value = a[2:].partition("=")
            if key in _RSYNC_LONG_ARG_OPTS and not eq:
                value = argv[i + 1] if i + 1 < len(argv) else ""
                i += 1
            if key == "rsh":
                rsh = value
        elif a.startswith("-") and len(a) > 1:
            for j, flag in enumerate(a[1:], start=1):
                if flag not in _RSYNC_SHORT_ARG_OPTS:
                    continue
                if j + 1 < len(a):
                    value = a[j + 1 :]
                else:
                    value = argv[i + 1] if i + 1 < len(argv) else ""
                    i += 1
                if flag == "e":
                    rsh = value
                break
        else:
            operands.append(a)
        i += 1
    if rsh:
        _, rsh_opts = _parse_inner_ssh(rsh)
        opts = rsh_opts
    for operand in operands:
        if operand.lower().startswith("rsync://"):
            continue  # the rsync daemon protocol, not ssh
        cut = _colon(operand)
        if cut is None:
            continue
        if operand[cut + 1 : cut + 2] == ":" and not rsh:
            continue  # host::module: the daemon protocol unless a remote shell is given
        return _remote_operand(operand, opts, require_colon=True), opts
    return None, opts


def _parse_git(argv: list[str]) -> tuple[str | None, _Opts]:
    opts = _Opts()
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        a = argv[i]
        if a in _GIT_GLOBAL_ARG_OPTS and i + 1 < len(argv):
            if a == "-c":
                _git_config(argv[i + 1], opts)
            i += 1
        i += 1
    if i >= len(argv) or argv[i] not in _GIT_NET_COMMANDS:
        return None, opts
    command = argv[i]
    i += 1
    while i < len(argv):
        a = argv[i]
        if a.startswith("--remote="):
            a = a.split("=", 1)[1]
        elif a in _GIT_ARG_OPTS:
            i += 2
            continue
        elif a.startswith("-"):
            i += 1
            continue
        host = _git_url(a, opts)
        if host is not None:
            return host, opts
        if command in ("fetch", "pull", "push", "ls-remote") and not _looks_like_url(a):
            return None, opts  # a remote name such as "origin": no host in the argv
        i += 1
    return None, opts


def _getopt(
    argv: list[str],
    start: int,
    arg_opts: frozenset[str],
    opts: _Opts,
    port_flag: str,
    user_flag: str | None,
) -> int:
    """Read clustered options from ``start``; return the index of the first operand."""
    i = start
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return i + 1
        if not a.startswith("-") or a == "-":
            return i
        j = 1
        while j < len(a):
            flag = a[j]
            if flag in arg_opts:
                if j + 1 < len(a):
                    value = a[j + 1 :]
                elif i + 1 < len(argv):
                    i += 1
                    value = argv[i]
                else:
                    return len(argv)
                _option(flag, value, opts, port_flag, user_flag)
                break
            j += 1
        i += 1
    return i


def _option(flag: str, value: str, opts: _Opts, port_flag: str, user_flag: str | None) -> None:
    if flag == port_flag:
        opts.set("port", _port(value))
    elif flag == user_flag:
        opts.set("user", value)
    elif flag == "J":
        opts.set("jump", value)
    elif flag == "o":
        _config_line(value, opts)


def _config_line(line: str, opts: _Opts) -> None:
    """One ``-o`` argument: ``Key=Value``, ``Key Value`` or ``Key = "Value"``."""
    m = _OPTION_LINE.match(line)
    if not m:
        return
    key, value = m.group(1).lower(), _unquote(m.group(2))
    if key == "identityagent":
        opts.set("agent", value)
    elif key == "proxyjump":
        opts.set("jump", value)
    elif key == "proxycommand" and value.lower() != "none":
        inner_host, _ = _parse_inner_ssh(value)
        opts.set("jump", inner_host)
    elif key == "port":
        opts.set("port", _port(value))
    elif key == "user":
        opts.set("user", value)
    elif key == "hostname":
        opts.set("hostname", value)


def _parse_inner_ssh(command: str) -> tuple[str | None, _Opts]:
    """An ssh command line inside another one (rsync ``-e``, ``ProxyCommand``, core.sshCommand)."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    if not words:
        return None, _Opts()
    if words[0].rsplit("/", 1)[-1].lower() not in ("ssh", "slogin"):
        return None, _Opts()
    host, opts = _parse_ssh(words[1:])
    return _clean_host(host), opts


def _destination(text: str, opts: _Opts) -> str:
    """An ssh destination: ``ssh://[user@]host[:port]`` or ``[user@]host``."""
    m = _URI.match(text)
    if m:
        opts.set("user", (m.group("user") or "").split(":", 1)[0] or None)
        opts.set("port", _port(m.group("port")))
        return m.group("host")
    user, at, host = text.rpartition("@")
    if at and user:
        opts.set("user", user)
    return host if at else text


def _remote_operand(text: str, opts: _Opts, require_colon: bool) -> str | None:
    """A scp/sftp/rsync operand: ``[user@]host:path``, ``[user@][v6]:path`` or a ``scp://`` URI."""
    if re.match(r"^(?:scp|sftp)://", text, re.I):
        return _destination("ssh://" + text.split("://", 1)[1], opts)
    cut = _colon(text)
    if cut is None:
        if require_colon:
            return None
        cut = len(text)
    return _destination(text[:cut], opts)


def _colon(text: str) -> int | None:
    """Where a remote operand's host part ends (scp.c ``colon()``), or None for a local path."""
    if text.startswith(":"):
        return None
    bracket = text.startswith("[")
    for k, ch in enumerate(text):
        if ch == "@" and text[k + 1 : k + 2] == "[":
            bracket = True
        elif ch == "]" and text[k + 1 : k + 2] == ":" and bracket:
            return k + 1
        elif ch == ":" and not bracket:
            return k
        elif ch == "/":
            return None
    return None


def _git_url(text: str, opts: _Opts) -> str | None:
    if _URI.match(text):
        return _destination(text, opts)
    if _OTHER_URL.match(text):
        return None  # https://, git://, file://: not ssh
    if text.startswith("[") and "]:" in text:  # [user@host:port]:path
        inner = text[1 : text.index("]:")]
        user_host, _, port = inner.rpartition(":") if inner.count(":") == 1 else (inner, "", "")
        opts.set("port", _port(port))
        return _destination(user_host, opts)
    cut = _colon(text)
    return None if cut is None else _destination(text[:cut], opts)


def _looks_like_url(text: str) -> bool:
    return bool(_OTHER_URL.match(text)) or _colon(text) is not None


def _git_config(item: str, opts: _Opts) -> None:
    key, _, value = item.partition("=")
    if key.lower() == "core.sshcommand" and value:
        _, inner = _parse_inner_ssh(value)
        for name in ("user", "port", "jump", "agent"):
            opts.set(name, getattr(inner, name))


def _expand_agent(
    value: str | None, home: str | None, user: str | None, tokens: dict[str, str | None]
) -> tuple[str | None, bool]:
    """Expand an ``IdentityAgent`` value as ssh does; report whether anything was substituted.

    ``~`` and ``%d`` take ``home``, ``%u`` the local user, ``%h``/``%n``/``%r``/``%p`` the parsed
    destination; ``${HOME}`` and ``${USER}`` the same values. Anything unknown is left as written.
    """
    if value is None or value in _LITERALS:
        return value, False
    inferred = False
    out = value
    if home is not None and (out == "~" or out.startswith("~/")):
        out, inferred = home.rstrip("/") + out[1:], True

    def token(m: re.Match[str]) -> str:
        nonlocal inferred
        if m.group(1) == "%":
            return "%"
        sub = tokens.get(m.group(1))
        if sub is None:
            return m.group(0)
        inferred = True
        return sub

    def env(m: re.Match[str]) -> str:
        nonlocal inferred
        sub = {"HOME": home, "USER": user}.get(m.group(1))
        if sub is None:
            return m.group(0)
        inferred = True
        return sub

    out = _ENV_VAR.sub(env, re.sub(r"%(.)", token, out))
    return out, inferred


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _port(text: str | None) -> int | None:
    if text is None or not text.strip().isdigit():
        return None
    port = int(text)
    return port if 0 < port < 65536 else None


def _clean_host(host: str | None) -> str | None:
    if not host:
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.lower()
