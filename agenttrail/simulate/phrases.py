"""Phrases: scripts that compose actions into what people and macOS habitually do.

Each phrase is a generator used with ``yield from`` inside a scenario and returns what it made
(a shell, a session, the ssh process and its flow).
"""

from __future__ import annotations

from collections.abc import Sequence

from agenttrail.simulate.actions import (
    Exec,
    Exit,
    Fork,
    LaunchdSpawn,
    Login,
    Logout,
    Script,
    Sudo,
)
from agenttrail.simulate.binaries import CLT_GIT
from agenttrail.simulate.net import NetFlow, SshConnect
from agenttrail.simulate.sockets import UnixConnect, resolve_socket
from agenttrail.simulate.world import Flow, Mac, MacUser, Proc, Session, World

TERMINAL = "/System/Applications/Utilities/Terminal.app/Contents/MacOS/Terminal"
FINDER = "/System/Library/CoreServices/Finder.app/Contents/MacOS/Finder"
DOCK = "/System/Library/CoreServices/Dock.app/Contents/MacOS/Dock"
PATH = ("/opt/homebrew/bin:/opt/homebrew/sbin:/usr/local/bin:/System/Cryptexes/App/usr/bin:"
        "/usr/bin:/bin:/usr/sbin:/sbin")
MDNS = "/private/var/run/mDNSResponder"


def env_set(env: Sequence[str], **values: str | None) -> tuple[str, ...]:
    """``env`` with keys replaced (in place), added (at the end) or removed (None)."""
    out, seen = [], set()
    for item in env:
        key = item.split("=", 1)[0]
        if key in values:
            seen.add(key)
            if values[key] is not None:
                out.append(f"{key}={values[key]}")
        else:
            out.append(item)
    out.extend(f"{k}={v}" for k, v in values.items() if k not in seen and v is not None)
    return tuple(out)


def gui_env(u: MacUser, sock: str) -> tuple[str, ...]:
    return (f"TMPDIR={u.tmpdir}", "XPC_FLAGS=0x0", f"HOME={u.home}", "SHELL=/bin/zsh",
            f"SSH_AUTH_SOCK={sock}", f"LOGNAME={u.name}", "PATH=/usr/bin:/bin:/usr/sbin:/sbin",
            f"USER={u.name}", "XPC_SERVICE_NAME=0", f"__CF_USER_TEXT_ENCODING=0x{u.uid:X}:0x0:0x0")


def terminal_env(w: World, u: MacUser, sock: str) -> tuple[str, ...]:
    return ("TERM_PROGRAM=Apple_Terminal", "SHELL=/bin/zsh", "TERM=xterm-256color",
            f"TMPDIR={u.tmpdir}", "TERM_PROGRAM_VERSION=455.1", f"TERM_SESSION_ID={w.uuid()}",
            f"USER={u.name}", f"SSH_AUTH_SOCK={sock}", f"PATH={PATH}",
            "__CFBundleIdentifier=com.apple.Terminal", f"PWD={u.home}", "XPC_FLAGS=0x0",
            "XPC_SERVICE_NAME=0", "SHLVL=1", f"HOME={u.home}", f"LOGNAME={u.name}",
            "LANG=en_US.UTF-8", f"__CF_USER_TEXT_ENCODING=0x{u.uid:X}:0x0:0x0")


def sudo_env(env: Sequence[str], u: MacUser, command: str) -> tuple[str, ...]:
    """What macOS's stock sudoers keeps (env_reset; env_keep has HOME, MAIL, SSH_AUTH_SOCK...)."""
    keep = ("TERM", "PATH", "SHELL", "HOME", "SSH_AUTH_SOCK", "LANG", "TERM_PROGRAM",
            "__CF_USER_TEXT_ENCODING", "TMUX")
    kept = [e for e in env if e.split("=", 1)[0] in keep]
    return (*kept, f"MAIL=/var/mail/{u.name}", "LOGNAME=root", "USER=root", "USERNAME=root",
            f"SUDO_COMMAND={command}", f"SUDO_USER={u.name}", f"SUDO_UID={u.uid}", "SUDO_GID=20")


def start(w: World, parent: Proc, path: str, argv: Sequence[str], *,
          env: Sequence[str] | None = None, underscore: bool = True, new_pgrp: bool = True,
          tag: str | None = None, **kw: object) -> Script:
    """Fork ``parent`` and exec ``path`` in the child (a shell adds ``_=<path>`` to the env)."""
    child = yield Fork(parent)
    yield parent.mac.rng.uniform(0.0003, 0.0018)
    base = parent.env if env is None else env
    if underscore:
        base = env_set(base, _=path)
    return (yield Exec(child, path, argv, env=base, new_pgrp=new_pgrp, tag=tag, **kw))


def run(w: World, parent: Proc, path: str, argv: Sequence[str], dur: float, *, code: int = 0,
        **kw: object) -> Script:
    """``start`` a command, let it run ``dur`` seconds, and let it exit."""
    p = yield from start(w, parent, path, argv, **kw)
    yield dur
    yield Exit(p, code)
    return p


def gui_login(w: World, mac: Mac, user: MacUser, apps: Sequence[str] = ()) -> Script:
    """loginwindow logs ``user`` in; launchd binds the agent socket and starts the apps."""
    sess: Session = yield Login(user, mac, "gui")
    yield mac.rng.uniform(1.0, 2.5)
    env = gui_env(user, sess.socket.path)
    for path in (FINDER, DOCK, *apps):
        sess.apps.append((yield LaunchdSpawn(mac, path, [path], env, sess)))
        yield mac.rng.uniform(0.2, 1.5)
    sess.terminal = yield LaunchdSpawn(mac, TERMINAL, [TERMINAL], env, sess)
    return sess


def terminal_shell(w: World, sess: Session, *, rc: Script | None = None) -> Script:
    """A new Terminal window: ``login -pf <user>`` (login_login) and a login shell."""
    mac, u = sess.mac, sess.user
    assert sess.terminal is not None
    tty = f"/dev/ttys{mac.next_tty:03d}"
    mac.next_tty += 1
    env = terminal_env(w, u, sess.socket.path)
    login = yield from start(w, sess.terminal, "/usr/bin/login", ["login", "-pf", u.name],
                             env=env, underscore=False, new_session=True, tty=tty)
    yield 0.006
    yield Login(u, mac, "login", login)
    sh = yield from start(w, login, "/bin/zsh", ["-zsh"], env=env, underscore=False,
                          uid=u.uid, gid=20, cwd=u.home)
    yield 0.01
    yield from run(w, sh, "/usr/libexec/path_helper", ["/usr/libexec/path_helper", "-s"], 0.003)
    return sh


def close_shell(w: World, sh: Proc) -> Script:
    """The user closes the window: the shell exits, then login (login_logout)."""
    mac = sh.mac
    login = mac.alive.get(sh.ppid)
    yield Exit(sh)
    if login is not None and login.binary.path == "/usr/bin/login" and sh.user is not None:
        yield 0.004
        yield Logout(sh.user, mac, "login", login)
        yield Exit(login)


def dns(w: World, proc: Proc) -> Script:
    """A name lookup: the client asks mDNSResponder, which asks the site resolver."""
    yield UnixConnect(proc, MDNS)
    yield 0.001
    yield NetFlow(proc.mac.ip, w.ip_of("dns1"), 53, "udp", "dns", 0.004, 34, 50)


def ssh(w: World, parent: Proc, dst: str, user: str, *, argv: Sequence[str] | None = None,
        env: Sequence[str] | None = None, duration: float = 60.0, login: str = "logged",
        tag: str | None = None, new_pgrp: bool = True, idle_split: float | None = None,
        sudo: str | None = None, **kw: object) -> Script:
    """``ssh user@dst`` from ``parent``: exec, name lookup, TCP, agent auth, session, exit.

    The agent used is whatever the process's ``SSH_AUTH_SOCK`` reaches (through symlinks)."""
    argv = argv or ["ssh", f"{user}@{dst}"]
    p = yield from start(w, parent, "/usr/bin/ssh", argv, env=env, new_pgrp=new_pgrp,
                         tag=f"{tag}:exec" if tag else None, **kw)
    yield 0.003
    yield from dns(w, p)
    yield p.mac.rng.uniform(0.01, 0.05)
    sock = resolve_socket(p.mac, p.getenv("SSH_AUTH_SOCK"))
    flow: Flow = yield SshConnect(p, dst, user, agent=sock, duration=duration, login=login,
                                  idle_split=idle_split, sudo=sudo, tag=tag)
    yield duration + 0.004
    yield Exit(p)
    return p, flow


def git_ssh(w: World, sh: Proc, dst: str, repo: str, *, op: str = "fetch",
            tag: str | None = None) -> Script:
    """``git fetch`` over SSH: the xcode-select shim execs the real git, which runs ssh."""
    git = yield from start(w, sh, "/usr/bin/git", ["git", op])
    yield 0.002
    git = yield Exec(git, CLT_GIT, ["git", op])
    yield sh.mac.rng.uniform(0.01, 0.04)
    user = "git"
    argv = ["ssh", "-o", "SendEnv=GIT_PROTOCOL", f"{user}@{dst}", f"git-upload-pack '{repo}'"]
    p, flow = yield from ssh(w, git, dst, user, argv=argv, new_pgrp=False,
                             duration=sh.mac.rng.uniform(0.6, 2.5), tag=tag)
    yield 0.02
    yield Exit(git)
    return p, flow


def sudo_begin(w: World, sh: Proc, args: Sequence[str], command: str, *,
               cached: bool = True) -> Script:
    """``sudo <args>`` from ``sh`` up to the ``sudo`` event (after a password prompt unless
    ``cached``). Returns the sudo process and the environment its root child gets."""
    u = sh.user
    assert u is not None
    s = yield from start(w, sh, "/usr/bin/sudo", ["sudo", *args])
    yield 0.04 if cached else sh.mac.rng.uniform(2.5, 6.0)
    yield Sudo(s, command)
    yield 0.002
    return s, sudo_env(sh.env, u, command)


def setsid(p: Proc) -> None:
    """``p`` calls setsid(): it leads a new session and process group, without a terminal."""
    p.session_id = p.group_id = p.pid
    p.tty = None
    p.json = None
