"""UNIX-socket actions: agent connects (the heart of the matter), other connects and binds, and
resolving an ``SSH_AUTH_SOCK`` value to the agent socket it reaches."""

from __future__ import annotations

from dataclasses import dataclass

from agenttrail.simulate import _esjson as ej
from agenttrail.simulate.actions import launchd_spawn
from agenttrail.simulate.world import MS, SOCK_MODE, AgentSocket, Mac, Proc, World


def agent_connect(w: World, proc: Proc, sock: AgentSocket, t: int, tag: str | None = None) -> None:
    """``proc`` connects to ``sock`` at ``t``; launchd starts the user's ssh-agent on first use."""
    st = ej.stat_json(sock.ino, SOCK_MODE, sock.user.uid, 0,
                      times=(t, sock.bound_ns, sock.bound_ns, sock.bound_ns), pick=sock.ino)
    proc.mac.sink.add(t, "uipc_connect", proc, ej.connect_body(sock.path, st, 1, proc.pid), tag)
    if sock.agent is None and sock.user.session is not None:
        sock.agent = launchd_spawn(w, proc.mac, "/usr/bin/ssh-agent", ["/usr/bin/ssh-agent", "-l"],
                                   t + 2 * MS, session=sock.user.session)


@dataclass(slots=True)
class AgentConnect:
    """``proc`` connects to an agent socket (the path eslogger reports is the resolved one)."""

    proc: Proc
    socket: AgentSocket
    tag: str | None = None

    def apply(self, w: World) -> None:
        agent_connect(w, self.proc, self.socket, w.now, self.tag)


@dataclass(slots=True)
class UnixConnect:
    """``proc`` connects to some other UNIX socket (mDNSResponder, syslog, tmux)."""

    proc: Proc
    path: str
    uid: int = 0
    gid: int = 0
    sock_type: int = 1

    def apply(self, w: World) -> None:
        ino = 20_000_000 + ej.hash_str(self.path) % 1_000_000
        st = ej.stat_json(ino, 0o140666, self.uid, self.gid, pick=ino)
        body = ej.connect_body(self.path, st, self.sock_type, self.proc.pid)
        self.proc.mac.sink.add(w.now, "uipc_connect", self.proc, body)


@dataclass(slots=True)
class UnixBind:
    """``proc`` binds ``filename`` in directory ``dir`` (owned by ``dir_uid``)."""

    proc: Proc
    dir: str
    filename: str
    dir_uid: int
    dir_mode: int = 0o40700
    mode: int = 0o140700

    def apply(self, w: World) -> None:
        body = ej.bind_body(ej.dir_json(self.dir, self.dir_uid, self.dir_mode), self.filename,
                            self.mode)
        self.proc.mac.sink.add(w.now, "uipc_bind", self.proc, body)


def resolve_socket(mac: Mac, path: str | None) -> AgentSocket | None:
    """The agent socket an ``SSH_AUTH_SOCK`` value reaches on ``mac`` (following symlinks)."""
    for _ in range(8):
        if path is None:
            return None
        if path.startswith(("/tmp/", "/var/")):
            path = "/private" + path
        if path in mac.symlinks:
            path = mac.symlinks[path]
            continue
        return next((s for s in mac.sockets if s.path == path), None)
    return None

