"""``background``: the ordinary day around the scenarios, always included.

GUI logins (each binding its user's launchd agent socket), Terminal windows, ordinary commands,
launchd daemons, browser helpers, each user's own agent use (ssh, git over ssh, ssh-add), web and
DNS flows, an Ansible controller, a vulnerability scanner, and cron on every server. ``scale``
multiplies the rate of the random activity (daemons, commands, web flows).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from agenttrail.simulate.actions import (
    At,
    Exec,
    Exit,
    Go,
    LaunchdSpawn,
    ScreenLock,
    Script,
    Su,
)
from agenttrail.simulate.binaries import CHROME, CHROME_HELPER, CLT_GIT, CLT_PYTHON, MDWORKER
from agenttrail.simulate.net import PROBES, NetFlow, Probe, SshConnect
from agenttrail.simulate.phrases import (
    close_shell,
    git_ssh,
    gui_login,
    run,
    ssh,
    start,
    terminal_shell,
)
from agenttrail.simulate.sockets import AgentConnect, UnixConnect
from agenttrail.simulate.world import MS, NS, Mac, Session, World

SLACK = "/Applications/Slack.app/Contents/MacOS/Slack"
#: weight, path, argv choices, duration range (s), image the shim execs (or None)
LOCAL: list[tuple[int, str, list[list[str]], tuple[float, float], str | None]] = [
    (20, "/bin/ls", [["ls"], ["ls", "-la"], ["ls", "-lt", "Downloads"]], (0.002, 0.02), None),
    (12, "/usr/bin/git", [["git", "status"], ["git", "log", "--oneline", "-10"],
                          ["git", "diff", "--stat"]], (0.04, 0.4), CLT_GIT),
    (8, "/bin/cat", [["cat", "README.md"], ["cat", ".zshrc"]], (0.002, 0.01), None),
    (8, "/usr/bin/grep", [["grep", "-rn", "TODO", "src"], ["grep", "-i", "error", "app.log"]],
     (0.01, 0.3), None),
    (5, "/usr/bin/vim", [["vim", "notes.md"], ["vim", "src/main.py"]], (20, 300), None),
    (5, "/bin/ps", [["ps", "aux"]], (0.02, 0.08), None),
    (4, "/usr/bin/python3", [["python3", "-m", "pytest", "-q"], ["python3", "manage.py", "check"]],
     (1, 30), CLT_PYTHON),
]
#: path, argv, xpc service label, user-session job?, duration range (s)
DAEMONS: list[tuple[str, list[str], str, bool, tuple[float, float]]] = [
    (MDWORKER, [MDWORKER, "-s", "mdworker", "-c", "MDSImporterWorker", "-m",
                "com.apple.mdworker.shared"], "com.apple.mdworker.shared", True, (1, 60)),
    (MDWORKER, [MDWORKER, "-s", "mdworker", "-c", "MDSImporterWorker", "-m",
                "com.apple.mdworker.shared"], "com.apple.mdworker.shared", False, (1, 60)),
    ("/usr/libexec/nsurlsessiond", ["/usr/libexec/nsurlsessiond"], "com.apple.nsurlsessiond",
     True, (5, 120)),
    ("/usr/libexec/trustd", ["/usr/libexec/trustd", "--agent"], "com.apple.trustd.agent", True,
     (2, 90)),
    ("/usr/sbin/cfprefsd", ["/usr/sbin/cfprefsd", "agent"], "com.apple.cfprefsd.xpc.agent", True,
     (10, 300)),
    ("/usr/libexec/mdmclient", ["/usr/libexec/mdmclient", "daemon"], "com.apple.mdmclient.daemon",
     False, (1, 20)),
    ("/usr/sbin/ipconfig", ["ipconfig", "getsummary", "en0"], "com.apple.ipconfig", False,
     (0.01, 0.1)),
]
#: (mac, user) -> (GUI login minute, servers the user works on, apps)
PEOPLE: dict[tuple[str, str], tuple[float, tuple[str, ...], tuple[str, ...]]] = {
    ("mac-alice", "alice"): (3, ("db1", "app1"), (CHROME, SLACK)),
    ("mac-shared", "alice"): (4, ("db1",), (CHROME,)),
    ("mac-shared", "bob"): (16, ("app1",), (SLACK,)),
    ("mac-carol", "carol"): (7, ("app1",), (CHROME, SLACK)),
}


def background(w: World) -> list[Script]:
    """Every background script of ``w`` (each with its own generator seeded by name)."""
    def r(name: str) -> random.Random:
        return random.Random(f"{w.seed}/background/{name}")

    scripts: list[Script] = []
    for mac in w.macs.values():
        scripts += [daemons(w, mac, r(f"daemons/{mac.name}")), web(w, mac, r(f"web/{mac.name}"))]
    for (mname, uname), (minute, servers, apps) in PEOPLE.items():
        scripts.append(user_day(w, w.macs[mname], uname, minute, servers, apps,
                                r(f"day/{mname}/{uname}")))
    for srv in w.servers:
        scripts.append(cron(w, srv, r(f"cron/{srv}")))
    scripts += [ansible(w, r("ansible")), scanner(w, r("scanner"))]
    plan: list[tuple[str, str, float, Callable[..., Script]]] = [
        ("mac-alice", "alice", 20, lambda s, g: own_session(w, g, s, "db1", 1500, 330,
                                                            "/usr/bin/journalctl -u postgresql")),
        ("mac-shared", "alice", 71, lambda s, g: own_session(w, g, s, "db1", 1080, None,
                                                             "/usr/bin/systemctl status nginx")),
        ("mac-shared", "bob", 30, lambda s, g: own_session(w, g, s, "app1", 300)),
        ("mac-carol", "carol", 50, lambda s, g: su_admin(w, g, s)),
        ("mac-carol", "carol", 130, lambda s, g: own_session(w, g, s, "app1", 200)),
        ("mac-alice", "alice", 170, lambda s, g: lunch(w, g, s)),
    ]
    for i, (mname, uname, minute, fn) in enumerate(plan):
        scripts.append(_planned(w, w.macs[mname], uname, minute, fn, r(f"plan/{i}")))
    return scripts


def _planned(w: World, mac: Mac, uname: str, minute: float,
             fn: Callable[[Session, random.Random], Script], rng: random.Random) -> Script:
    yield At(w.t0 + int((minute * 60 + rng.uniform(-60, 60)) * NS))
    sess = mac.users[uname].session
    assert sess is not None, f"{uname} on {mac.name} has no session yet"
    yield from fn(sess, rng)


def own_session(w: World, rng: random.Random, sess: Session, dst: str, secs: float,
                idle: float | None = None, sudo: str | None = None) -> Script:
    """A new Terminal window and an interactive ``ssh`` through the user's own agent."""
    sh = yield from terminal_shell(w, sess)
    yield rng.uniform(2, 8)
    yield from ssh(w, sh, dst, sess.user.name, duration=secs * rng.uniform(0.9, 1.1),
                   idle_split=idle, sudo=sudo)
    yield rng.uniform(2, 10)
    yield from close_shell(w, sh)


def su_admin(w: World, rng: random.Random, sess: Session) -> Script:
    """``su - localadmin`` to check for updates (no agent: ``su -`` drops SSH_AUTH_SOCK)."""
    sh = yield from terminal_shell(w, sess)
    su = yield from start(w, sh, "/usr/bin/su", ["su", "-", "localadmin"])
    yield rng.uniform(2, 5)
    admin = sess.mac.users["localadmin"]
    yield Su(su, admin)
    yield 0.003
    env = ("TERM=xterm-256color", "SHELL=/bin/zsh", f"HOME={admin.home}", "USER=localadmin",
           "LOGNAME=localadmin", "PATH=/usr/bin:/bin:/usr/sbin:/sbin")
    lsh = yield from start(w, su, "/bin/zsh", ["-zsh"], env=env, underscore=False,
                           new_pgrp=False, uid=admin.uid, gid=20, cwd=admin.home)
    yield from run(w, lsh, "/usr/bin/softwareupdate", ["softwareupdate", "-l"], rng.uniform(5, 20))
    yield rng.uniform(3, 8)
    yield Exit(lsh)
    yield 0.002
    yield Exit(su)
    yield from close_shell(w, sh)


def lunch(w: World, rng: random.Random, sess: Session) -> Script:
    yield ScreenLock(sess, True)
    yield rng.uniform(40, 50) * 60
    yield ScreenLock(sess, False)


def user_day(w: World, mac: Mac, uname: str, minute: float, servers: tuple[str, ...],
             apps: tuple[str, ...], rng: random.Random) -> Script:
    """Log in, open a Terminal, and work in it until the end of the capture."""
    yield At(w.t0 + int((minute * 60 + rng.uniform(-40, 40)) * NS))
    sess = yield from gui_login(w, mac, mac.users[uname], apps)
    if CHROME in apps:
        yield Go(chrome(w, sess, rng))
    yield rng.uniform(5, 40)
    sh = yield from terminal_shell(w, sess)
    mean = 75.0 / w.scale
    while w.now < w.end - 180 * NS:
        yield rng.expovariate(1 / mean)
        yield from activity(w, rng, sh, servers)


def activity(w: World, rng: random.Random, sh: object, servers: tuple[str, ...]) -> Script:
    """One thing a developer does in a shell."""
    x = rng.random()
    if x < 0.72:
        _, path, argvs, (lo, hi), real = rng.choices(LOCAL, weights=[e[0] for e in LOCAL])[0]
        argv = rng.choice(argvs)
        p = yield from start(w, sh, path, argv)
        if real is not None:
            yield 0.002
            p = yield Exec(p, real, argv)
        yield rng.uniform(lo, hi)
        yield Exit(p)
    elif x < 0.80:
        yield from git_ssh(w, sh, "git1", rng.choice(["team/app.git", "team/infra.git"]))
    elif x < 0.84:
        yield from git_ssh(w, sh, "github.com", "acme/tooling.git")
    elif x < 0.90:
        p = yield from start(w, sh, "/usr/bin/curl", ["curl", "-sS", "https://pypi.org/simple/"])
        yield UnixConnect(p, "/private/var/run/mDNSResponder")
        yield NetFlow(p.mac.ip, w.ip_of("dns1"), 53, "udp", "dns", 0.004, 34, 50)
        yield 0.01
        yield NetFlow(p.mac.ip, w.ip_of("pypi.org"), 443, "tcp", "ssl", 0.4, 900, 24000, 9, 21)
        yield 0.41
        yield Exit(p)
    elif x < 0.94:
        p = yield from start(w, sh, "/usr/bin/ssh-add", ["ssh-add", "-l"])
        yield 0.006
        yield AgentConnect(p, p.mac.users[p.user.name].session.socket)
        yield 0.01
        yield Exit(p)
    else:
        dst = rng.choice(servers)
        cmd = rng.choice(["uptime", "df -h", "tail -n 50 /var/log/syslog"])
        yield from ssh(w, sh, dst, sh.user.name, argv=["ssh", dst, *cmd.split()],
                       duration=rng.uniform(0.8, 3.0))


def daemons(w: World, mac: Mac, rng: random.Random) -> Script:
    """launchd starting XPC services and agents, system-wide and in users' sessions."""
    mean = 20.0 / w.scale
    while w.now < w.end:
        yield rng.expovariate(1 / mean)
        path, argv, label, in_session, (lo, hi) = rng.choice(DAEMONS)
        sessions = [u.session for u in mac.users.values() if u.session is not None]
        sess = rng.choice(sessions) if in_session and sessions else None
        uid = 89 if path == MDWORKER and sess is None else 0
        env = ["PATH=/usr/bin:/bin:/usr/sbin:/sbin", f"XPC_SERVICE_NAME={label}", "XPC_FLAGS=0x1"]
        if sess is not None:
            u = sess.user
            env += [f"HOME={u.home}", f"USER={u.name}", f"LOGNAME={u.name}", f"TMPDIR={u.tmpdir}",
                    f"SSH_AUTH_SOCK={sess.socket.path}"]
        p = yield LaunchdSpawn(mac, path, argv, env, sess, uid, label)
        yield Go(_daemon_life(p, rng, (lo, hi)))


def _daemon_life(p: object, rng: random.Random, dur: tuple[float, float]) -> Script:
    if rng.random() < 0.3:
        yield rng.uniform(0.001, 0.05)
        yield UnixConnect(p, "/private/var/run/syslog", 0, 0, 2)
    yield rng.uniform(*dur)
    yield Exit(p)


def chrome(w: World, sess: Session, rng: random.Random) -> Script:
    """Chrome forking renderer helpers that live a while."""
    browser = next(a for a in sess.apps if a.binary.path == CHROME)
    mean = 120.0 / w.scale
    while w.now < w.end - 60 * NS:
        yield rng.expovariate(1 / mean)
        argv = [CHROME_HELPER, "--type=renderer", f"--renderer-client-id={rng.randint(5, 900)}"]
        p = yield from start(w, browser, CHROME_HELPER, argv, underscore=False, new_pgrp=False)
        yield Go(_daemon_life(p, rng, (20, 900)))


def web(w: World, mac: Mac, rng: random.Random) -> Script:
    """Browser and app traffic: a DNS lookup, then HTTPS to an external site."""
    mean = 45.0 / w.scale
    while w.now < w.end:
        yield rng.expovariate(1 / mean)
        dst = rng.choice(["www.apple.com", "www.google.com", "pypi.org"])
        yield NetFlow(mac.ip, w.ip_of("dns1"), 53, "udp", "dns", 0.005, 32, 64)
        yield 0.012
        yield NetFlow(mac.ip, w.ip_of(dst), 443, "tcp", "ssl", rng.uniform(0.2, 30),
                      rng.randint(700, 4000), rng.randint(3000, 90000), rng.randint(8, 30),
                      rng.randint(8, 90))


CRON_OPEN = "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"
CRON_CLOSE = "pam_unix(cron:session): session closed for user root"


def cron(w: World, name: str, rng: random.Random) -> Script:
    """Cron every ten minutes, from 40 minutes before the capture to 10 minutes after it."""
    srv = w.servers[name]
    t = w.t0 - 40 * 60 * NS + rng.randint(0, 600) * NS
    while t < w.end + 600 * NS:
        if t >= w.now:
            yield At(t)
        pid = srv.alloc_pid()
        srv.log(t, "CRON", pid, CRON_OPEN)
        srv.log(t + rng.randint(150, 1400) * MS, "CRON", pid, CRON_CLOSE)
        t += 600 * NS + rng.randint(-200, 200) * MS


def ansible(w: World, rng: random.Random) -> Script:
    """ops1 runs a playbook against db1 and app1 every 20 to 35 minutes (ControlPersist 60 s)."""
    t = w.t0 + int(rng.uniform(5, 15) * 60 * NS)
    while t < w.end - 5 * 60 * NS:
        yield At(t)
        for dst in ("db1", "app1"):
            yield rng.uniform(0.05, 1.5)
            stamp = f"{w.now // NS}.{rng.randint(100000, 999999)}-{rng.randint(10**14, 10**15)}"
            token = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(32))
            become = (f"/bin/sh -c echo BECOME-SUCCESS-{token} ; /usr/bin/python3 "
                      f"/home/deploy/.ansible/tmp/ansible-tmp-{stamp}/AnsiballZ_setup.py")
            yield SshConnect(None, dst, "deploy", key=w.deploy_key, src="ops1",
                             duration=rng.uniform(62, 80), sudo=become)
        t += int(rng.uniform(20, 35) * 60 * NS)


def scanner(w: World, rng: random.Random) -> Script:
    """scan1 probes every server's SSH port now and then (preauth noise, no sessions)."""
    t = w.t0 + int(rng.uniform(20, 40) * 60 * NS)
    while t < w.end - 5 * 60 * NS:
        yield At(t)
        for name in w.servers:
            for _ in range(rng.randint(1, 3)):
                yield Probe("scan1", name, rng.choice(sorted(PROBES)))
                yield rng.uniform(0.3, 3)
        t += int(rng.uniform(40, 70) * 60 * NS)
