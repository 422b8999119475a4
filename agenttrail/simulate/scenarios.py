"""The named scenarios: two agent hijacks and two look-alikes that must not page anyone.

Each scenario is a script (a generator over the world) that composes phrases and records what a
correct hunt should conclude in ``w.expect[name]``; record locations are given as tags that
``simulate`` resolves to ``file:line`` after writing.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from agenttrail.simulate._esjson import iso_ns
from agenttrail.simulate.actions import At, Exit, Fork, Script
from agenttrail.simulate.binaries import TMUX
from agenttrail.simulate.phrases import (
    close_shell,
    env_set,
    git_ssh,
    run,
    setsid,
    ssh,
    start,
    sudo_begin,
    terminal_shell,
)
from agenttrail.simulate.sockets import AgentConnect, UnixBind, UnixConnect
from agenttrail.simulate.world import NS, Flow, Proc, World

SCENARIOS: dict[str, str] = {
    "hijack_lateral": (
        "bob (uid 502) on mac-shared becomes root with `sudo -s`, points SSH_AUTH_SOCK at alice's "
        "launchd agent socket, lists her keys with ssh-add and logs in to db1 as alice; db1 logs "
        "the Accepted line. Expect a critical agent_hijack_lateral_ssh incident."),
    "hijack_no_login": (
        "The same ride from mac-shared to app1, but app1's auth.log has no line of that "
        "connection (removed) while it logs before and after. Expect a hijack incident whose "
        "login is missing (ssh_flow_without_login inside the chain)."),
    "own_sudo_ssh": (
        "alice runs `sudo ssh admin@app1` on mac-shared through her own agent socket (euid 0, "
        "auid 501 = the owner). Benign: no incident at medium or above."),
    "tmux_reattach": (
        "alice on mac-alice links ~/.ssh/ssh_auth_sock to her agent socket, starts tmux, "
        "detaches, and hours later reattaches and runs ssh and git from the old pane through "
        "the symlink. Benign: no incident at medium or above."),
}
BENIGN = "no incident at medium or above"


def _expect_ssh(w: World, name: str, p: Proc, flow: Flow, sock_path: str, env_sock: str,
                **facts: object) -> None:
    w.expect[name] = {
        **facts,
        "endpoint": p.mac.name,
        "socket": sock_path,
        "ssh_auth_sock": env_sock,
        "process": {"pid": p.pid, "pidversion": p.pv, "exe": p.binary.path, "args": list(p.argv),
                    "euid": p.euid, "auid": p.auid, "asid": p.asid},
        "destination": {"host": _host_of(w, flow.dst_ip), "ip": flow.dst_ip,
                        "port": flow.dst_port},
        "flow": {"uid": flow.uid, "src_ip": flow.src_ip, "src_port": flow.src_port,
                 "start": iso_ns(flow.start)},
    }


def _host_of(w: World, ip: str) -> str:
    return next((s.name for s in w.servers.values() if s.ip == ip), ip)


def _at(w: World, rng: random.Random, minutes: float, jitter_s: float = 90) -> At:
    return At(w.t0 + int((minutes * 60 + rng.uniform(-jitter_s, jitter_s)) * NS))


def _hijack(w: World, rng: random.Random, name: str, minutes: float, dst: str,
            login: str) -> Script:
    mac = w.macs["mac-shared"]
    bob, alice = mac.users["bob"], mac.users["alice"]
    yield _at(w, rng, minutes)
    assert bob.session is not None and alice.session is not None
    victim = alice.session.socket
    sh = yield from terminal_shell(w, bob.session)
    yield rng.uniform(5, 20)
    s, env = yield from sudo_begin(w, sh, ["-s"], "/bin/zsh", cached=False)
    root = yield from start(w, s, "/bin/zsh", ["/bin/zsh"], env=env, underscore=False,
                            new_pgrp=False, uid=0, gid=0, tag=f"{name}:root_shell")
    yield rng.uniform(4, 9)
    yield from run(w, root, "/bin/ls", ["ls", "-la", "/private/tmp"], 0.006)
    yield rng.uniform(5, 12)
    yield from run(w, root, "/bin/ls", ["ls", "-la", victim.dir], 0.004)
    yield rng.uniform(6, 15)
    env2 = env_set(root.env, SSH_AUTH_SOCK=victim.path)  # export SSH_AUTH_SOCK=...
    add = yield from start(w, root, "/usr/bin/ssh-add", ["ssh-add", "-l"], env=env2,
                           tag=f"{name}:ssh_add")
    yield 0.008
    yield AgentConnect(add, victim, f"{name}:ssh_add_connect")
    yield 0.02
    yield Exit(add)
    yield rng.uniform(8, 20)
    p, flow = yield from ssh(w, root, dst, "alice", env=env2, duration=rng.uniform(150, 260),
                             login=login, tag=name)
    _expect_ssh(w, name, p, flow, victim.path, victim.path, incident=True,
                expect="agent_hijack_lateral_ssh (critical)",
                actor={"name": "bob", "auid": bob.uid, "euid": 0},
                victim={"name": "alice", "uid": alice.uid},
                remote_user="alice", key_fp=alice.key.fp,
                login="accepted" if login == "logged" else "missing")
    yield rng.uniform(3, 10)
    yield Exit(root)
    yield 0.002
    yield Exit(s)
    yield rng.uniform(2, 6)
    yield from close_shell(w, sh)


def hijack_lateral(w: World, rng: random.Random) -> Script:
    """See ``SCENARIOS``."""
    return _hijack(w, rng, "hijack_lateral", 75, "db1", "logged")


def hijack_no_login(w: World, rng: random.Random) -> Script:
    """See ``SCENARIOS``."""
    return _hijack(w, rng, "hijack_no_login", 160, "app1", "removed")


def own_sudo_ssh(w: World, rng: random.Random) -> Script:
    """See ``SCENARIOS``."""
    name = "own_sudo_ssh"
    mac = w.macs["mac-shared"]
    alice = mac.users["alice"]
    yield _at(w, rng, 110)
    assert alice.session is not None
    sock = alice.session.socket
    sh = yield from terminal_shell(w, alice.session)
    yield rng.uniform(4, 15)
    s, env = yield from sudo_begin(w, sh, ["ssh", "admin@app1"], "/usr/bin/ssh admin@app1",
                                   cached=False)
    p, flow = yield from ssh(w, s, "app1", "admin", env=env, duration=rng.uniform(90, 200),
                             new_pgrp=False, underscore=False, uid=0, gid=0, tag=name,
                             sudo="/usr/bin/systemctl restart nginx")
    _expect_ssh(w, name, p, flow, sock.path, sock.path, incident=False, expect=BENIGN,
                actor={"name": "alice", "auid": alice.uid, "euid": 0},
                victim={"name": "alice", "uid": alice.uid}, remote_user="admin",
                key_fp=alice.key.fp, login="accepted")
    yield 0.003
    yield Exit(s)
    yield rng.uniform(20, 60)
    yield from close_shell(w, sh)


def tmux_reattach(w: World, rng: random.Random) -> Script:
    """See ``SCENARIOS``."""
    name = "tmux_reattach"
    mac = w.macs["mac-alice"]
    alice = mac.users["alice"]
    link = f"{alice.home}/.ssh/ssh_auth_sock"
    tmux_dir = f"/private/tmp/tmux-{alice.uid}"
    yield _at(w, rng, 40)
    assert alice.session is not None
    sock = alice.session.socket
    sh = yield from terminal_shell(w, alice.session)
    yield from run(w, sh, "/bin/ln", ["ln", "-sf", sock.path, link], 0.002, tag=f"{name}:ln")
    mac.symlinks[link] = sock.path
    yield rng.uniform(3, 8)
    client = yield from start(w, sh, TMUX, ["tmux", "new-session", "-A", "-s", "main"],
                              dyld="/opt/homebrew/bin/tmux")
    yield 0.003
    mid = yield Fork(client)  # daemon(3): the child forks the server and exits
    yield 0.0004
    server = yield Fork(mid)
    setsid(server)
    yield 0.0003
    yield Exit(mid)
    yield 0.001
    yield UnixBind(server, tmux_dir, "default", alice.uid)
    yield 0.002
    yield UnixConnect(client, f"{tmux_dir}/default", alice.uid)
    tty = f"/dev/ttys{mac.next_tty:03d}"
    mac.next_tty += 1
    pane_env = env_set(client.env, SSH_AUTH_SOCK=link, TERM="tmux-256color", TERM_PROGRAM="tmux",
                       TERM_PROGRAM_VERSION="3.5a", TERM_SESSION_ID=None, SHLVL="2", _=None,
                       TMUX=f"{tmux_dir}/default,{server.pid},0", TMUX_PANE="%0")
    pane = yield from start(w, server, "/bin/zsh", ["-zsh"], env=pane_env, underscore=False,
                            new_session=True, tty=tty)
    yield 0.01
    yield from run(w, pane, "/usr/libexec/path_helper", ["/usr/libexec/path_helper", "-s"], 0.003)
    yield rng.uniform(20, 60)
    yield from run(w, pane, "/usr/bin/vim", ["vim", "notes.md"], rng.uniform(60, 240))
    yield rng.uniform(30, 120)
    yield Exit(client)  # detach
    yield 0.5
    yield from close_shell(w, sh)
    # hours later, a new window, the same rc file, and a reattach
    yield _at(w, rng, 190)
    sh2 = yield from terminal_shell(w, alice.session)
    yield from run(w, sh2, "/bin/ln", ["ln", "-sf", sock.path, link], 0.002)
    yield rng.uniform(2, 6)
    client2 = yield from start(w, sh2, TMUX, ["tmux", "attach", "-t", "main"],
                               dyld="/opt/homebrew/bin/tmux")
    yield 0.002
    yield UnixConnect(client2, f"{tmux_dir}/default", alice.uid)
    yield rng.uniform(10, 40)
    p, flow = yield from ssh(w, pane, "git1", "alice", duration=rng.uniform(60, 120), tag=name)
    _expect_ssh(w, name, p, flow, sock.path, link, incident=False, expect=BENIGN,
                actor={"name": "alice", "auid": alice.uid, "euid": alice.uid},
                victim={"name": "alice", "uid": alice.uid}, remote_user="alice",
                key_fp=alice.key.fp, login="accepted", symlink={"link": link, "target": sock.path})
    yield rng.uniform(5, 20)
    yield from git_ssh(w, pane, "git1", "team/app.git", tag=f"{name}_git")
    yield rng.uniform(30, 90)
    yield Exit(client2)
    yield 0.5
    yield from close_shell(w, sh2)


BUILDERS: dict[str, Callable[[World, random.Random], Script]] = {
    "hijack_lateral": hijack_lateral,
    "hijack_no_login": hijack_no_login,
    "own_sudo_ssh": own_sudo_ssh,
    "tmux_reattach": tmux_reattach,
}
