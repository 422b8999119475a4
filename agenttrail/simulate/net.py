"""Network actions: SSH connections (Zeek flow, the client's agent connect, the server's sshd lines),
other flows, scanner probes, and server log lines.

Server lines follow a Debian/Ubuntu OpenSSH at ``LogLevel INFO`` with rsyslog's traditional file
format (FORMATS §4.3–4.4): ``Accepted publickey``, the pam_unix session lines, systemd-logind's
``New session``/``Removed session``, then ``Received disconnect`` and ``Disconnected from user`` from
the session's child process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agenttrail.simulate.sockets import agent_connect
from agenttrail.simulate.world import (
    ACCOUNTS,
    MS,
    NS,
    AgentSocket,
    Flow,
    Proc,
    Server,
    SshKey,
    World,
)

MAC_CLIENT = "SSH-2.0-OpenSSH_9.9"
LINUX_CLIENT = "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10"
SCANNER_CLIENT = "SSH-2.0-Go"
EXTERNAL_SERVERS = {"github.com": ("SSH-2.0-babeld-5a4e1c6b", "curve25519-sha256",
                                   "16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48")}


def _kex(client: str, server: str) -> str:
    if "OpenSSH_9.9" in client and "OpenSSH_9.9" in server:
        return "mlkem768x25519-sha256"
    return "sntrup761x25519-sha512@openssh.com"


def sshd_session(w: World, srv: Server, t_acc: int, t_end: int, user: str, ip: str, port: int,
                 key: SshKey, *, sudo: str | None = None, interactive: bool = True,
                 tag: str | None = None) -> None:
    """The INFO-level lines of one accepted publickey session on ``srv`` (``sudo``: a command the
    user runs with sudo there; ``interactive``: with a terminal)."""
    prog, rng = srv.program, srv.rng
    uid = ACCOUNTS[user]
    mon = srv.alloc_pid()
    child = mon + rng.randint(1, 3)
    srv.next_pid = child
    n = srv.next_session
    srv.next_session += 1
    srv.log(t_acc, prog, mon, f"Accepted publickey for {user} from {ip} port {port} ssh2: "
            f"{key.type} {key.fp}", tag)
    srv.log(t_acc + 9 * MS, prog, mon,
            f"pam_unix(sshd:session): session opened for user {user}(uid={uid}) by (uid=0)")
    srv.log(t_acc + 21 * MS, "systemd-logind", srv.logind_pid, f"New session {n} of user {user}.")
    if user not in srv.managers:
        srv.managers[user] = srv.alloc_pid(3)
        srv.log(t_acc + 60 * MS, "(systemd)", srv.managers[user],
                f"pam_unix(systemd-user:session): session opened for user {user}(uid={uid}) "
                f"by {user}(uid=0)")
    if sudo is not None:
        ts = t_acc + min(t_end - t_acc - 2 * NS, rng.randint(15, 40) * NS)
        home = f"/home/{user}"
        tty = f"TTY=pts/{rng.randint(0, 3)} ; " if interactive else ""
        srv.log(ts, "sudo", None, f"{user:>8} : {tty}PWD={home} ; USER=root ; COMMAND={sudo}")
        srv.log(ts + 4 * MS, "sudo", None, "pam_unix(sudo:session): session opened for user "
                f"root(uid=0) by {user}(uid={uid})")
        srv.log(ts + rng.randint(200, 900) * MS, "sudo", None,
                "pam_unix(sudo:session): session closed for user root")
    srv.log(t_end, prog, child, f"Received disconnect from {ip} port {port}:11: disconnected by user")
    srv.log(t_end + 1 * MS, prog, child, f"Disconnected from user {user} {ip} port {port}")
    srv.log(t_end + 6 * MS, prog, mon, f"pam_unix(sshd:session): session closed for user {user}")
    srv.log(t_end + 15 * MS, "systemd-logind", srv.logind_pid,
            f"Session {n} logged out. Waiting for processes to exit.")
    srv.log(t_end + 30 * MS, "systemd-logind", srv.logind_pid, f"Removed session {n}.")


@dataclass(slots=True)
class SshConnect:
    """An authenticated SSH connection starting now, from ``proc``'s Mac (or host ``src``).

    Makes the Zeek conn+ssh rows; when ``agent`` is given, ``proc``'s ``uipc_connect`` to it
    about 0.3 s after the TCP start; and, on a server we collect, its sshd lines (``login``
    "removed": the scenario deliberately leaves them out; the manifest lists them).
    """

    proc: Proc | None
    dst: str
    user: str
    key: SshKey | None = None
    agent: AgentSocket | None = None
    duration: float = 60.0
    login: str = "logged"
    src: str | None = None
    connect_after: float | None = None
    idle_split: float | None = None
    sudo: str | None = None
    tag: str | None = None

    def apply(self, w: World) -> Flow:
        t, rng = w.now, w.rng
        if self.proc is not None:
            src_ip, client, low, high = self.proc.mac.ip, MAC_CLIENT, 49152, 65535
        else:
            src_ip, client, low, high = w.ip_of(self.src or "ops1"), LINUX_CLIENT, 32768, 60999
        end = t + int(self.duration * NS)
        port = w.alloc_port(src_ip, t, end, low, high)
        dst_ip = w.ip_of(self.dst)
        internal = w.is_internal(dst_ip)
        srv = w.servers.get(self.dst)
        if srv is not None:
            banner, kex, host_key = srv.banner, _kex(client, srv.banner), srv.host_key_md5
        else:
            banner, kex, host_key = EXTERNAL_SERVERS.get(
                self.dst, ("SSH-2.0-OpenSSH_9.6", "curve25519-sha256", "-"))
        secs = self.duration
        ssh: dict[str, Any] = {
            "ts": t + rng.randint(3, 12) * MS, "auth_success": True, "auth_attempts": 1,
            "direction": None if internal else "OUTBOUND", "client": client, "server": banner,
            "kex": kex, "host_key": host_key}
        flow = Flow(w.zeek_uid(), t, end, src_ip, port, dst_ip, 22, service="ssh",
                    orig_bytes=3100 + int(secs * rng.uniform(15, 60)),
                    resp_bytes=4000 + int(secs * rng.uniform(40, 400)),
                    orig_pkts=24 + int(secs * rng.uniform(0.3, 1.5)),
                    resp_pkts=19 + int(secs * rng.uniform(0.3, 1.5)),
                    local_orig=w.is_internal(src_ip), local_resp=internal, ssh=ssh, tag=self.tag)
        if self.idle_split is not None:  # Zeek expires the idle session; the rest is midstream
            idle_from = t + int(secs * 0.3 * NS)
            resume = idle_from + int(self.idle_split * NS)
            w.flows.append(Flow(w.zeek_uid(), resume, end, src_ip, port, dst_ip, 22, state="OTH",
                                history="DadFf", orig_bytes=900, resp_bytes=2400, orig_pkts=30,
                                resp_pkts=28, local_orig=flow.local_orig, local_resp=internal))
            flow.end, flow.state, flow.history = idle_from, "S1", "ShAdDa"
        w.flows.append(flow)
        key = self.key
        t_acc = t + rng.randint(380, 470) * MS
        if self.agent is not None and self.proc is not None:
            after = self.connect_after if self.connect_after is not None else rng.uniform(.26, .36)
            t_conn = t + int(after * NS)
            agent_connect(w, self.proc, self.agent, t_conn, f"{self.tag}:connect" if self.tag
                          else None)
            key = key or self.agent.user.key
            t_acc = max(t_acc, t_conn + rng.randint(40, 110) * MS)
        if srv is not None and key is not None:
            if self.login == "removed":
                w.removed_logins.append({"host": srv.name, "src_ip": src_ip, "src_port": port,
                                         "user": self.user, "flow_uid": flow.uid,
                                         "scenario": (self.tag or "").split(":")[0]})
            else:
                sshd_session(w, srv, t_acc, end, self.user, src_ip, port, key, sudo=self.sudo,
                             interactive=self.proc is not None,
                             tag=f"{self.tag}:accepted" if self.tag else None)
        return flow


@dataclass(slots=True)
class NetFlow:
    """Some other connection (DNS, HTTPS) as Zeek's conn.log records it."""

    src_ip: str
    dst_ip: str
    dst_port: int
    proto: str = "tcp"
    service: str | None = None
    duration: float = 0.5
    orig_bytes: int = 0
    resp_bytes: int = 0
    orig_pkts: int = 1
    resp_pkts: int = 1

    def apply(self, w: World) -> Flow:
        t = w.now
        end = t + int(self.duration * NS)
        low, high = (49152, 65535) if self.src_ip.startswith("10.10.1.") else (32768, 60999)
        port = w.alloc_port(self.src_ip, t, end, low, high)
        history = "Dd" if self.proto == "udp" else "ShADadFf"
        flow = Flow(w.zeek_uid(), t, end, self.src_ip, port, self.dst_ip, self.dst_port,
                    self.proto, self.service, "SF", history, self.orig_bytes, self.resp_bytes,
                    self.orig_pkts, self.resp_pkts, w.is_internal(self.src_ip),
                    w.is_internal(self.dst_ip))
        w.flows.append(flow)
        return flow


#: Scanner probe kinds -> (auth_success, lines); ``{u}``: user, ``{ip}``, ``{p}``: source port.
PROBES: dict[str, tuple[bool | None, list[str]]] = {
    "banner": (None, ["Connection closed by {ip} port {p} [preauth]"]),
    "invalid": (False, ["Invalid user {u} from {ip} port {p}",
                        "Connection closed by invalid user {u} {ip} port {p} [preauth]"]),
    "root": (False, ["Connection closed by authenticating user root {ip} port {p} [preauth]"]),
    "bye": (False, ["Received disconnect from {ip} port {p}:11: Bye Bye [preauth]",
                    "Disconnected from authenticating user root {ip} port {p} [preauth]"]),
}
PROBE_USERS = ("oracle", "test", "ubuntu", "postgres", "admin1", "git2", "support")


@dataclass(slots=True)
class Probe:
    """A scanner's unauthenticated SSH attempt on ``server``: a short flow and preauth lines."""

    src: str
    server: str
    kind: str

    def apply(self, w: World) -> Flow:
        srv = w.servers[self.server]
        auth, lines = PROBES[self.kind]
        flow = NetFlow(w.ip_of(self.src), srv.ip, 22, service="ssh",
                       duration=w.rng.uniform(0.05, 2.5), orig_bytes=1200, resp_bytes=1500,
                       orig_pkts=9, resp_pkts=8).apply(w)
        flow.ssh = {"ts": flow.start + 4 * MS, "auth_success": auth,
                    "auth_attempts": 0 if auth is None else 1, "client": SCANNER_CLIENT,
                    "server": srv.banner, "kex": "curve25519-sha256", "host_key": srv.host_key_md5}
        pid = srv.alloc_pid()
        user = w.rng.choice(PROBE_USERS)
        step = (flow.end - flow.start) // len(lines)
        for i, text in enumerate(lines):
            srv.log(flow.start + (i + 1) * step, srv.program, pid,
                    text.format(u=user, ip=flow.src_ip, p=flow.src_port))
        return flow


@dataclass(slots=True)
class ServerLog:
    """One line in ``server``'s auth.log now (``pid`` "new": a fresh pid; None: no pid)."""

    server: str
    program: str
    message: str
    pid: int | str | None = "new"
    tag: str | None = None

    def apply(self, w: World) -> int | None:
        srv = w.servers[self.server]
        pid = srv.alloc_pid() if self.pid == "new" else self.pid
        srv.log(w.now, self.program, pid if isinstance(pid, int) or pid is None else None,
                self.message, self.tag)
        return pid if isinstance(pid, int) else None
