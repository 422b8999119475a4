"""The simulated estate: hosts, users, binaries, processes, and the allocators that keep them consistent.

Everything random comes from one ``random.Random`` (the world's) or from per-script generators
seeded from it by name, so a seed fixes every byte. Times are integer nanoseconds since the epoch
(UTC) throughout; writers format them.
"""

from __future__ import annotations

import base64
import random
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agenttrail.simulate.binaries import BINARIES, Binary

NS = 1_000_000_000
MS = 1_000_000
#: The fixed base of every timeline; the capture starts up to 90 s after it (seed jitter).
BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BASE_NS = int(BASE.timestamp()) * NS
CAPTURE_HOURS = 4
AUID_UNSET = 4294967295
SOCK_MODE = 0o140755  # launchd's sockets: srwxr-xr-x inside a 0700 directory
ALNUM = string.ascii_letters + string.digits

# ---------------------------------------------------------------------------------------------
# Topology (fixed: tests and the manifest refer to these names and numbers)

#: Mac name -> (IP, [(user, uid)]). uid 501 is alice on two Macs and carol on the third.
MACS: dict[str, tuple[str, list[tuple[str, int]]]] = {
    "mac-alice": ("10.10.1.21", [("alice", 501)]),
    "mac-shared": ("10.10.1.35", [("alice", 501), ("bob", 502)]),
    "mac-carol": ("10.10.1.47", [("carol", 501), ("localadmin", 502)]),
}
#: Internal SSH servers that ship auth.log: name -> (IP, banner, sshd program, clock skew s).
SERVERS: dict[str, tuple[str, str, str, int]] = {
    "db1": ("10.20.0.11", "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5", "sshd", 0),
    "app1": ("10.20.0.12", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", "sshd", 2),
    "git1": ("10.20.0.13", "SSH-2.0-OpenSSH_9.9p1 Ubuntu-3ubuntu3.1", "sshd-session", -1),
}
#: Remote accounts on every server (Linux uids).
ACCOUNTS = {"admin": 1000, "alice": 1001, "bob": 1002, "carol": 1003, "deploy": 1010, "git": 998}
#: Other addresses: internal hosts without logs, and external destinations.
OTHERS: dict[str, tuple[str, bool]] = {  # name -> (IP, internal)
    "ops1": ("10.30.0.10", True),  # Ansible controller
    "scan1": ("10.30.0.20", True),  # vulnerability scanner
    "dns1": ("10.10.0.2", True),
    "github.com": ("140.82.121.4", False),
    "www.apple.com": ("17.253.144.10", False),
    "www.google.com": ("142.250.185.78", False),
    "pypi.org": ("151.101.0.223", False),
}
#: An earlier DHCP lease: mac-shared's address belonged to mac-carol until the evening before.
OLD_LEASE = ("mac-carol", "10.10.1.35", "2026-02-23T08:02:11Z", "2026-03-01T18:40:00Z")
MAC_LEASE_FROM = "2026-03-01T18:40:00Z"


# ---------------------------------------------------------------------------------------------
# Actors


@dataclass(frozen=True, slots=True)
class SshKey:
    """A user's key as sshd logs it."""

    type: str
    fp: str
    comment: str


@dataclass(eq=False, slots=True)
class AgentSocket:
    """A launchd ``Listeners`` agent socket (owner = the user whose GUI session it serves)."""

    mac: Mac
    user: MacUser
    dir: str
    ino: int
    bound_ns: int
    agent: Proc | None = None  # the ssh-agent launchd starts on first connect

    @property
    def path(self) -> str:
        return f"{self.dir}/Listeners"


@dataclass(eq=False, slots=True)
class MacUser:
    """A local account on one Mac."""

    name: str
    uid: int
    home: str
    tmpdir: str
    key: SshKey
    session: Session | None = None


@dataclass(eq=False, slots=True)
class Session:
    """A GUI login session: its audit session id, its agent socket and its apps."""

    mac: Mac
    user: MacUser
    asid: int
    gui_id: int
    socket: AgentSocket
    terminal: Proc | None = None
    apps: list[Proc] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Proc:
    """One process image (pid, pidversion) on a Mac. ``exec`` makes a new image."""

    mac: Mac
    pid: int
    pv: int
    ruid: int
    euid: int
    rgid: int
    egid: int
    auid: int
    asid: int
    ppid: int
    original_ppid: int
    group_id: int
    session_id: int
    tty: str | None
    start_ns: int
    binary: Binary
    parent_token: tuple[int, ...]
    resp_token: tuple[int, ...]
    thread_id: int
    argv: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    cwd: str = "/"
    user: MacUser | None = None  # the person whose session this belongs to
    alive: bool = True
    json: str | None = None  # cached eslogger process object (cleared when a field changes)

    @property
    def token(self) -> tuple[int, ...]:
        """The audit token in ``audit_token_t.val`` order."""
        return (self.auid, self.euid, self.egid, self.ruid, self.rgid, self.pid, self.asid,
                self.pv)

    def getenv(self, key: str) -> str | None:
        prefix = key + "="
        for item in self.env:
            if item.startswith(prefix):
                return item[len(prefix):]
        return None


@dataclass(eq=False, slots=True)
class Mac:
    """A Mac running eslogger: its live processes and its allocators."""

    name: str
    ip: str
    boot_ns: int
    rng: random.Random
    users: dict[str, MacUser] = field(default_factory=dict)
    alive: dict[int, Proc] = field(default_factory=dict)
    children: dict[int, list[int]] = field(default_factory=dict)
    next_pid: int = 400
    next_pv: int = 2000
    next_asid: int = 100020
    next_thread: int = 900_000
    next_tty: int = 1
    next_gui: int = 257
    launchd: Proc | None = None
    loginwindow: Proc | None = None
    sink: Any = None  # the eslogger writer (writers.EsloggerWriter)
    sockets: list[AgentSocket] = field(default_factory=list)
    symlinks: dict[str, str] = field(default_factory=dict)  # link -> target, as `ln -s` made them
    system_asids: tuple[int, ...] = (100004, 100006, 100009, 100011, 100014, 100017)

    def alloc_pid(self) -> int:
        """The next free pid (macOS hands them out in order and wraps at 99999)."""
        while True:
            pid = self.next_pid
            self.next_pid = pid + 1 if pid < 99998 else 100
            if pid not in self.alive:
                return pid

    def alloc_pv(self) -> int:
        pv = self.next_pv
        self.next_pv += self.rng.randint(8, 40)
        return pv

    def alloc_thread(self) -> int:
        self.next_thread += self.rng.randint(3, 400)
        return self.next_thread

    def alloc_asid(self) -> int:
        self.next_asid += self.rng.randint(1, 3)
        return self.next_asid


@dataclass(eq=False, slots=True)
class Server:
    """An internal SSH server whose auth.log we collect."""

    name: str
    ip: str
    banner: str
    program: str  # sshd, or sshd-session from OpenSSH 9.8 on
    skew_ns: int
    host_key_md5: str
    rng: random.Random
    lines: list[tuple[int, int, str, int | None, str, str | None]] = field(default_factory=list)
    next_pid: int = 2000
    logind_pid: int = 811
    next_session: int = 1
    managers: dict[str, int] = field(default_factory=dict)

    def alloc_pid(self, spread: int = 40) -> int:
        self.next_pid += self.rng.randint(1, spread)
        return self.next_pid

    def log(self, t_ns: int, program: str, pid: int | None, message: str, tag: str | None = None) -> None:
        """Add one syslog line at true time ``t_ns`` (the server's clock skew is applied)."""
        self.lines.append((t_ns + self.skew_ns, len(self.lines), program, pid, message, tag))


@dataclass(eq=False, slots=True)
class Flow:
    """One connection as Zeek logs it (``ssh`` holds the ssh.log row when the service is SSH)."""

    uid: str
    start: int
    end: int
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    proto: str = "tcp"
    service: str | None = None
    state: str = "SF"
    history: str = "ShAdDaFf"
    orig_bytes: int = 0
    resp_bytes: int = 0
    orig_pkts: int = 0
    resp_pkts: int = 0
    local_orig: bool = True
    local_resp: bool = True
    ssh: dict[str, Any] | None = None
    tag: str | None = None


# ---------------------------------------------------------------------------------------------
# The world


class World:
    """All hosts, the clock, the flows, and the scenario expectations of one simulation run."""

    def __init__(self, seed: int, scale: int = 1) -> None:
        self.seed = seed
        self.scale = max(1, int(scale))
        self.rng = random.Random(seed)
        rng = self.rng
        self.t0 = BASE_NS + rng.randint(0, 89) * NS + rng.randint(0, NS - 1)
        self.end = self.t0 + CAPTURE_HOURS * 3600 * NS
        self.now = self.t0
        self.flows: list[Flow] = []
        self.expect: dict[str, dict[str, Any]] = {}
        self.removed_logins: list[dict[str, Any]] = []
        self._ports: dict[str, dict[int, int]] = {}
        self._uids: set[str] = set()
        self.macs: dict[str, Mac] = {}
        for name, (ip, users) in MACS.items():
            mac = Mac(name, ip, self.t0 - rng.randint(2, 6) * 86400 * NS - rng.randint(0, 86399) * NS,
                      random.Random(f"{seed}/{name}"))
            mac.next_pid = rng.randint(3000, 9000)
            mac.next_pv = rng.randint(40_000, 90_000)
            for uname, uid in users:
                tmp = f"/var/folders/{self.rand_id(2, 'lower')}/{self.rand_id(22, 'lower')}0000gn/T/"
                key = SshKey("ED25519", self.fingerprint(), f"{uname}@{name}")
                mac.users[uname] = MacUser(uname, uid, f"/Users/{uname}", tmp, key)
            self._boot(mac)
            self.macs[name] = mac
        self.servers: dict[str, Server] = {}
        for name, (ip, banner, program, skew) in SERVERS.items():
            md5 = ":".join(f"{rng.randrange(256):02x}" for _ in range(16))
            srv = Server(name, ip, banner, program, skew * NS, md5, random.Random(f"{seed}/{name}"))
            srv.next_pid = rng.randint(1500, 30000)
            srv.next_session = rng.randint(3, 60)
            srv.logind_pid = rng.randint(600, 1200)
            self.servers[name] = srv
        self.others = dict(OTHERS)
        self.deploy_key = SshKey("ED25519", self.fingerprint(), "deploy@ops1")

    def _boot(self, mac: Mac) -> None:
        """The processes already running when the capture starts: launchd and loginwindow."""
        rng = mac.rng
        ld_bin = BINARIES["/sbin/launchd"]
        ld_tok = (AUID_UNSET, 0, 0, 0, 0, 0, 100000, 0)
        mac.launchd = Proc(mac, 1, rng.randint(1000, 1100), 0, 0, 0, 0, AUID_UNSET, 100000, 0, 0, 1,
                           1, None, mac.boot_ns, ld_bin, ld_tok, ld_tok, mac.alloc_thread(),
                           ("/sbin/launchd",))
        mac.launchd.resp_token = mac.launchd.token
        lw_pid = rng.randint(140, 190)
        mac.loginwindow = Proc(mac, lw_pid, rng.randint(1200, 1600), 0, 0, 0, 0, AUID_UNSET,
                               100002, 1, 1, lw_pid, lw_pid, None, mac.boot_ns + 9 * NS,
                               BINARIES["/System/Library/CoreServices/loginwindow.app/Contents/MacOS/"
                                        "loginwindow"],
                               mac.launchd.token, mac.launchd.token, mac.alloc_thread(),
                               ("/System/Library/CoreServices/loginwindow.app/Contents/MacOS/"
                                "loginwindow", "console"))
        mac.loginwindow.resp_token = mac.loginwindow.token
        mac.alive[1] = mac.launchd
        mac.alive[lw_pid] = mac.loginwindow

    # -- ids --------------------------------------------------------------------------------

    def rand_id(self, n: int, alphabet: str = "alnum") -> str:
        chars = {"alnum": ALNUM, "lower": string.ascii_lowercase + string.digits + "_"}[alphabet]
        return "".join(self.rng.choice(chars) for _ in range(n))

    def fingerprint(self) -> str:
        raw = bytes(self.rng.randrange(256) for _ in range(32))
        return "SHA256:" + base64.b64encode(raw).decode().rstrip("=")

    def zeek_uid(self) -> str:
        while True:
            uid = "C" + self.rand_id(self.rng.choice((17, 17, 16)))
            if uid not in self._uids:
                self._uids.add(uid)
                return uid

    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032X}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def alloc_port(self, ip: str, start: int, end: int, low: int = 49152, high: int = 65535) -> int:
        """A source port free on ``ip`` from ``start`` to ``end`` (plus TIME_WAIT)."""
        busy = self._ports.setdefault(ip, {})
        while True:
            port = self.rng.randint(low, high)
            if busy.get(port, -1) < start:
                busy[port] = end + 60 * NS
                return port

    def ip_of(self, name: str) -> str:
        if name in self.servers:
            return self.servers[name].ip
        if name in self.macs:
            return self.macs[name].ip
        return self.others[name][0]

    def is_internal(self, ip: str) -> bool:
        return ip.startswith("10.")
