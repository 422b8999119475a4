"""The scenario language: actions on a timeline, and the engine that plays scripts.

A *script* is a generator. It yields

* a number: wait that many seconds;
* ``At(t_ns)``: wait until an absolute time;
* an action (a dataclass with ``apply(world)``): applied at the current time, and the script
  receives its result (``child = yield Fork(shell)``);
* ``Go(script)``: start another script now, concurrently.

This module holds the engine and the process and session actions (``Fork``, ``Exec``, ``Exit``,
``LaunchdSpawn``, ``Login``, ``Logout``, ``ScreenLock``, ``Sudo``, ``Su``); ``sockets`` holds the
UNIX-socket ones (``AgentConnect``, ``UnixConnect``, ``UnixBind``) and ``net`` the network and
server ones (``SshConnect``, ``NetFlow``, ``Probe``, ``ServerLog``). Phrases
(``agenttrail.simulate.phrases``) compose actions into habits (``yield from terminal_shell(w,
session)``), and scenarios compose phrases. Actions never emit a record earlier than the engine's
clock, so the eslogger writer can stream everything older than it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from agenttrail.simulate import _esjson as ej
from agenttrail.simulate.world import (
    AUID_UNSET,
    BINARIES,
    MS,
    NS,
    SOCK_MODE,
    AgentSocket,
    Mac,
    MacUser,
    Proc,
    Session,
    World,
)

Script = Generator[Any, Any, Any]


@dataclass(frozen=True, slots=True)
class At:
    """Wait until ``t`` (epoch ns)."""

    t: int


@dataclass(frozen=True, slots=True)
class Go:
    """Start ``script`` now, next to the current one."""

    script: Script


def play(w: World, scripts: Iterable[Script], flush_every: int = 2048) -> None:
    """Run scripts in time order until all have finished; stream eslogger output as it ages."""
    heap: list[tuple[int, int, Script]] = []
    order = itertools.count()
    for s in scripts:
        heapq.heappush(heap, (w.now, next(order), s))
    steps = 0
    while heap:
        t, _, gen = heapq.heappop(heap)
        w.now = t
        value: Any = None
        while True:
            try:
                item = gen.send(value)
            except StopIteration:
                break
            if isinstance(item, int | float):
                heapq.heappush(heap, (t + max(0, int(item * NS)), next(order), gen))
                break
            if isinstance(item, At):
                heapq.heappush(heap, (max(t, item.t), next(order), gen))
                break
            if isinstance(item, Go):
                heapq.heappush(heap, (t, next(order), item.script))
                value = None
                continue
            value = item.apply(w)
        steps += 1
        if steps % flush_every == 0:
            for mac in w.macs.values():
                mac.sink.flush(t)


# ---------------------------------------------------------------------------------------------
# Processes


def _cwd_uid(mac: Mac, cwd: str) -> int:
    parts = cwd.split("/")
    if len(parts) > 2 and parts[1] == "Users" and parts[2] in mac.users:
        return mac.users[parts[2]].uid
    return 0


@dataclass(slots=True)
class Fork:
    """``parent`` forks: a fresh pid and pidversion, the parent's credentials and sessions."""

    parent: Proc
    tag: str | None = None

    def apply(self, w: World) -> Proc:
        p = self.parent
        mac = p.mac
        pid = mac.alloc_pid()
        child = Proc(mac, pid, mac.alloc_pv(), p.ruid, p.euid, p.rgid, p.egid, p.auid, p.asid,
                     p.pid, p.pid, p.group_id, p.session_id, p.tty, w.now, p.binary, p.token,
                     p.resp_token, mac.alloc_thread(), p.argv, p.env, p.cwd, p.user)
        mac.alive[pid] = child
        mac.children.setdefault(p.pid, []).append(pid)
        mac.sink.add(w.now, "fork", p, ej.fork_body(child), self.tag)
        return child


def exec_image(w: World, old: Proc, path: str, argv: Sequence[str], t: int, *,
               env: Sequence[str] | None = None, cwd: str | None = None, uid: int | None = None,
               gid: int | None = None, new_session: bool = False, new_pgrp: bool = False,
               tty: str | None = None, dyld: str | None = None, tag: str | None = None) -> Proc:
    """Replace ``old`` by a new image of ``path`` (same pid, pidversion + 1) at time ``t``."""
    mac = old.mac
    if not old.alive:
        raise ValueError(f"exec by a dead image {old.pid}/{old.pv} on {mac.name}")
    b = BINARIES[path]
    ruid, euid, rgid, egid = old.ruid, old.euid, old.rgid, old.egid
    if uid is not None:
        ruid = euid = uid
        rgid = egid = gid if gid is not None else (20 if uid else 0)
    if b.mode & 0o4000:  # set-uid root
        euid = 0
    pid = old.pid
    new = Proc(mac, pid, old.pv + 1, ruid, euid, rgid, egid, old.auid, old.asid, old.ppid,
               old.original_ppid, pid if (new_session or new_pgrp) else old.group_id,
               pid if new_session else old.session_id, tty if new_session else old.tty,
               old.start_ns, b, old.parent_token, old.resp_token, old.thread_id, tuple(argv),
               old.env if env is None else tuple(env), cwd or old.cwd, old.user)
    mac.next_pv = max(mac.next_pv, new.pv + 1)
    old.alive = False
    mac.alive[pid] = new
    body = ej.exec_body(new, dyld or path, _cwd_uid(mac, new.cwd))
    mac.sink.add(t, "exec", old, body, tag)
    return new


@dataclass(slots=True)
class Exec:
    """``proc`` executes ``path``; set-uid binaries run with euid 0, ``uid`` sets both uids."""

    proc: Proc
    path: str
    argv: Sequence[str]
    env: Sequence[str] | None = None
    cwd: str | None = None
    uid: int | None = None
    gid: int | None = None
    new_session: bool = False
    new_pgrp: bool = False
    tty: str | None = None
    dyld: str | None = None
    tag: str | None = None

    def apply(self, w: World) -> Proc:
        return exec_image(w, self.proc, self.path, self.argv, w.now, env=self.env, cwd=self.cwd,
                          uid=self.uid, gid=self.gid, new_session=self.new_session,
                          new_pgrp=self.new_pgrp, tty=self.tty, dyld=self.dyld, tag=self.tag)


@dataclass(slots=True)
class Exit:
    """``proc`` exits with ``code``; its live children are reparented to launchd."""

    proc: Proc
    code: int = 0
    tag: str | None = None

    def apply(self, w: World) -> None:
        p = self.proc
        mac = p.mac
        if not p.alive:
            raise ValueError(f"exit of a dead image {p.pid}/{p.pv} on {mac.name}")
        mac.sink.add(w.now, "exit", p, ej.exit_body(self.code << 8), self.tag)
        p.alive = False
        del mac.alive[p.pid]
        assert mac.launchd is not None
        for cpid in mac.children.pop(p.pid, []):
            child = mac.alive.get(cpid)
            if child is not None and child.ppid == p.pid:
                child.ppid = 1
                child.parent_token = mac.launchd.token
                child.json = None


def launchd_spawn(w: World, mac: Mac, path: str, argv: Sequence[str], t: int, *,
                  env: Sequence[str] = (), session: Session | None = None, uid: int = 0,
                  xpc: str | None = None) -> Proc:
    """launchd starts a job: into a user's GUI session, or as a system daemon (auid unset)."""
    ld = mac.launchd
    assert ld is not None
    pid = mac.alloc_pid()
    if session is not None:
        u = session.user.uid
        creds = (u, u, 20, 20, u, session.asid)
    else:
        gid = 0 if uid == 0 else uid
        creds = (uid, uid, gid, gid, AUID_UNSET, mac.rng.choice(mac.system_asids))
    ruid, euid, rgid, egid, auid, asid = creds
    child = Proc(mac, pid, mac.alloc_pv(), ruid, euid, rgid, egid, auid, asid, 1, 1, pid, pid,
                 None, t, ld.binary, ld.token, ld.token, mac.alloc_thread(), ld.argv, (), "/",
                 session.user if session else None)
    child.resp_token = child.token
    mac.alive[pid] = child
    mac.sink.add(t, "fork", ld, ej.fork_body(child))
    img = child
    if xpc is not None:
        img = exec_image(w, img, "/usr/libexec/xpcproxy", ["xpcproxy", xpc], t + MS // 3, env=env)
    return exec_image(w, img, path, argv, t + MS, env=env)


@dataclass(slots=True)
class LaunchdSpawn:
    """launchd starts ``path`` (see ``launchd_spawn``)."""

    mac: Mac
    path: str
    argv: Sequence[str]
    env: Sequence[str] = ()
    session: Session | None = None
    uid: int = 0
    xpc: str | None = None

    def apply(self, w: World) -> Proc:
        return launchd_spawn(w, self.mac, self.path, self.argv, w.now, env=self.env,
                             session=self.session, uid=self.uid, xpc=self.xpc)


# ---------------------------------------------------------------------------------------------
# Sessions and identity changes


@dataclass(slots=True)
class Login:
    """``kind`` "gui": loginwindow logs ``user`` in (new audit session; launchd binds the user's
    ``Listeners`` agent socket). ``kind`` "login": ``/usr/bin/login`` (``proc``) logs a
    Terminal tab in."""

    user: MacUser
    mac: Mac
    kind: str = "gui"
    proc: Proc | None = None
    tag: str | None = None

    def apply(self, w: World) -> Session | None:
        u, mac, t = self.user, self.mac, w.now
        if self.kind == "login":
            assert self.proc is not None
            body = ej.plain_body("login_login", {"success": True, "failure_message": None,
                                                 "username": u.name, "uid": u.uid})
            mac.sink.add(t, "login_login", self.proc, body, self.tag)
            return None
        lw, ld = mac.loginwindow, mac.launchd
        assert lw is not None and ld is not None
        gui = mac.next_gui
        mac.next_gui += 1
        body = ej.plain_body("lw_session_login", {"username": u.name, "graphical_session_id": gui})
        mac.sink.add(t, "lw_session_login", lw, body, self.tag)
        t_bind = t + 120 * MS + mac.rng.randint(0, 80 * MS)
        sock = AgentSocket(mac, u, f"/private/tmp/com.apple.launchd.{w.rand_id(10)}",
                           mac.rng.randint(10_000_000, 30_000_000), t_bind)
        mac.sockets.append(sock)
        mac.sink.add(t_bind, "uipc_bind", ld,
                     ej.bind_body(ej.dir_json(sock.dir, u.uid, 0o40700), "Listeners", SOCK_MODE),
                     f"bind:{mac.name}:{u.name}")
        u.session = Session(mac, u, mac.alloc_asid(), gui, sock)
        return u.session


@dataclass(slots=True)
class Logout:
    """The end of a Terminal ``login`` (by ``proc``) or of a GUI session."""

    user: MacUser
    mac: Mac
    kind: str = "login"
    proc: Proc | None = None

    def apply(self, w: World) -> None:
        u = self.user
        if self.kind == "login":
            assert self.proc is not None
            body = ej.plain_body("login_logout", {"username": u.name, "uid": u.uid})
            self.mac.sink.add(w.now, "login_logout", self.proc, body)
            return
        assert u.session is not None and self.mac.loginwindow is not None
        body = ej.plain_body("lw_session_logout",
                             {"username": u.name, "graphical_session_id": u.session.gui_id})
        self.mac.sink.add(w.now, "lw_session_logout", self.mac.loginwindow, body)


@dataclass(slots=True)
class ScreenLock:
    """loginwindow locks or unlocks a GUI session."""

    session: Session
    locked: bool = True

    def apply(self, w: World) -> None:
        s = self.session
        name = "lw_session_lock" if self.locked else "lw_session_unlock"
        assert s.mac.loginwindow is not None
        body = ej.plain_body(name, {"username": s.user.name, "graphical_session_id": s.gui_id})
        s.mac.sink.add(w.now, name, s.mac.loginwindow, body)


def _user_name(mac: Mac, uid: int) -> str:
    if uid == 0:
        return "root"
    return next((u.name for u in mac.users.values() if u.uid == uid), str(uid))


@dataclass(slots=True)
class Sudo:
    """The eslogger ``sudo`` event of a sudo process (``proc``) that runs ``command``."""

    proc: Proc
    command: str
    to_uid: int = 0
    success: bool = True

    def apply(self, w: World) -> None:
        p = self.proc
        body = ej.plain_body("sudo", {
            "success": self.success, "reject_info": None, "from_uid": p.ruid,
            "from_username": _user_name(p.mac, p.ruid), "to_uid": self.to_uid,
            "to_username": _user_name(p.mac, self.to_uid), "command": self.command})
        p.mac.sink.add(w.now, "sudo", p, body)


@dataclass(slots=True)
class Su:
    """The eslogger ``su`` event of a su process (``proc``) switching to ``to``."""

    proc: Proc
    to: MacUser
    shell: str = "/bin/zsh"

    def apply(self, w: World) -> None:
        p = self.proc
        body = ej.plain_body("su", {
            "success": True, "failure_message": None, "from_uid": p.ruid,
            "from_username": _user_name(p.mac, p.ruid), "to_uid": self.to.uid,
            "to_username": self.to.name, "shell": self.shell, "argc": len(p.argv),
            "argv": list(p.argv), "env_count": len(p.env), "env": list(p.env)})
        p.mac.sink.add(w.now, "su", p, body)
