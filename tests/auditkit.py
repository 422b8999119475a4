"""Builders for constructed auditd records (tests only): each returns the text of one record line
as the kernel or a PAM/sshd user-space writer prints it (FORMATS §4.6), without the newline.

Times are seconds after ``BASE`` (2026-03-02T09:00:00Z, the base of ``tests/casekit.py``) with
millisecond precision, as auditd keeps them.
"""

from __future__ import annotations

from typing import Any

from tests.casekit import BASE_US

UNSET = 4294967295
GS = "\x1d"


def stamp(t: float) -> str:
    """``<epoch>.<ms>`` of BASE + t seconds."""
    ms = (BASE_US // 1000) + round(t * 1000)
    return f"{ms // 1000}.{ms % 1000:03d}"


def t_us(t: float) -> int:
    """Epoch µs of BASE + t seconds at auditd's millisecond precision."""
    return BASE_US + round(t * 1000) * 1000


def hexs(text: str) -> str:
    """auditd's hex encoding of a value (upper case)."""
    return text.encode().hex().upper()


def header(kind: str, t: float, serial: int, node: str | None = None) -> str:
    prefix = f"node={node} " if node else ""
    return f"{prefix}type={kind} msg=audit({stamp(t)}:{serial}):"


def syscall(t: float, serial: int, nr: int | str, *, pid: int, ppid: int = 1, uid: int = 0,
            euid: int | None = None, auid: int = UNSET, ses: int = UNSET, comm: str = "x",
            exe: str = "/usr/bin/x", success: str = "yes", arch: str = "c000003e",
            items: int = 0, tty: str = "(none)", a0: str = "3", node: str | None = None,
            key: str = "(null)", enriched: str | None = None) -> str:
    e = uid if euid is None else euid
    exit_ = "0" if success == "yes" else "-13"
    line = (f"{header('SYSCALL', t, serial, node)} arch={arch} syscall={nr} success={success} "
            f"exit={exit_} a0={a0} a1=7ffd2b1e7c20 a2=6e a3=0 items={items} ppid={ppid} "
            f"pid={pid} auid={auid} uid={uid} gid={uid} euid={e} suid={e} fsuid={e} egid={uid} "
            f"sgid={uid} fsgid={uid} tty={tty} ses={ses} comm=\"{comm}\" exe=\"{exe}\" "
            f"subj=unconfined key={key}")
    return line + (GS + enriched if enriched is not None else "")


def execve(t: float, serial: int, args: list[str], node: str | None = None) -> str:
    parts = []
    for i, a in enumerate(args):
        needs_hex = any(c in a for c in ' "') or any(ord(c) < 0x21 or ord(c) > 0x7E for c in a)
        parts.append(f"a{i}={hexs(a)}" if needs_hex else f'a{i}="{a}"')
    return f"{header('EXECVE', t, serial, node)} argc={len(args)} " + " ".join(parts)


def sockaddr_unix(t: float, serial: int, path: str, node: str | None = None,
                  pad: int = 0) -> str:
    """AF_UNIX (family 1, little-endian ``0100``); ``@name`` writes an abstract socket."""
    raw = b"\x00" + path[1:].encode() if path.startswith("@") else path.encode() + b"\x00"
    raw += b"\x00" * pad
    return f"{header('SOCKADDR', t, serial, node)} saddr=0100{raw.hex().upper()}"


def sockaddr_inet(t: float, serial: int, ip: str, port: int, node: str | None = None) -> str:
    a = bytes(int(x) for x in ip.split("."))
    return (f"{header('SOCKADDR', t, serial, node)} saddr=0200{port:04X}{a.hex().upper()}"
            "0000000000000000")


def path(t: float, serial: int, name: str, *, ouid: int, mode: str = "0140600", item: int = 0,
         node: str | None = None) -> str:
    value = hexs(name) if " " in name else f'"{name}"'
    return (f"{header('PATH', t, serial, node)} item={item} name={value} inode=4211 dev=00:1f "
            f"mode={mode} ouid={ouid} ogid={ouid} rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 "
            "cap_fe=0 cap_fver=0")


def cwd(t: float, serial: int, directory: str, node: str | None = None) -> str:
    value = hexs(directory) if " " in directory else f'"{directory}"'
    return f"{header('CWD', t, serial, node)} cwd={value}"


def proctitle(t: float, serial: int, args: list[str], node: str | None = None) -> str:
    return f"{header('PROCTITLE', t, serial, node)} proctitle={hexs(chr(0).join(args))}"


def eoe(t: float, serial: int, node: str | None = None) -> str:
    return f"{header('EOE', t, serial, node)}"


def user(kind: str, t: float, serial: int, *, pid: int, msg: dict[str, Any], uid: int = 0,
         auid: int = UNSET, ses: int = UNSET, node: str | None = None, old_prefix: bool = False,
         enriched: str | None = None) -> str:
    """A user-space record: ``pid= uid= auid= ses= msg='k=v ...'``; string values are quoted
    unless given already encoded (``hexs``) through a ``bytes`` value."""
    body = []
    for k, v in msg.items():
        if isinstance(v, bytes):
            body.append(f"{k}={v.decode()}")
        elif k in ("acct", "exe"):
            body.append(f'{k}="{v}"')
        else:
            body.append(f"{k}={v}")
    prefix = "user pid" if old_prefix else "pid"
    line = (f"{header(kind, t, serial, node)} {prefix}={pid} uid={uid} auid={auid} ses={ses} "
            f"subj=system_u:system_r:sshd_t:s0-s0:c0.c1023 msg='{' '.join(body)}'")
    return line + (GS + enriched if enriched is not None else "")


def sshd_msg(op: str, *, acct: str | None = None, uid: int | None = None, addr: str = "?",
             hostname: str = "?", terminal: str = "ssh", res: str = "success",
             exe: str = "/usr/sbin/sshd", **extra: Any) -> dict[str, Any]:
    """The ``msg='...'`` fields sshd and its PAM stack write."""
    m: dict[str, Any] = {"op": op, **extra}
    if acct is not None:
        m["acct"] = acct.encode().hex().upper().encode() if " " in acct or "(" in acct else acct
    if uid is not None:
        m["id"] = uid
    m.update(exe=exe, hostname=hostname, addr=addr, terminal=terminal, res=res)
    return m


def connect_event(t: float, serial: int, sock: str, *, pid: int, ppid: int, uid: int, euid: int,
                  auid: int, ses: int, exe: str, owner: int | None, mode: str = "0140600",
                  node: str | None = None, success: str = "yes", nr: int | str = 42,
                  arch: str = "c000003e", directory: str = "/") -> list[str]:
    """SYSCALL connect + SOCKADDR (AF_UNIX) + CWD + PATH (socket inode owner) + PROCTITLE."""
    comm = exe.rsplit("/", 1)[-1]
    out = [syscall(t, serial, nr, pid=pid, ppid=ppid, uid=uid, euid=euid, auid=auid, ses=ses,
                   comm=comm, exe=exe, items=0 if owner is None else 1, node=node,
                   success=success, arch=arch, key='"agent"'),
           sockaddr_unix(t, serial, sock, node=node),
           cwd(t, serial, directory, node=node)]
    if owner is not None:
        out.append(path(t, serial, sock, ouid=owner, mode=mode, node=node))
    out.append(proctitle(t, serial, [comm], node=node))
    return out


def exec_event(t: float, serial: int, args: list[str], *, pid: int, ppid: int, uid: int,
               euid: int, auid: int, ses: int, exe: str, directory: str = "/",
               node: str | None = None, tty: str = "pts1") -> list[str]:
    """SYSCALL execve + EXECVE + CWD + PATH (the image) + PROCTITLE + EOE."""
    comm = exe.rsplit("/", 1)[-1][:15]
    return [syscall(t, serial, 59, pid=pid, ppid=ppid, uid=uid, euid=euid, auid=auid, ses=ses,
                    comm=comm, exe=exe, items=2, node=node, tty=tty, key='"exec"'),
            execve(t, serial, args, node=node),
            cwd(t, serial, directory, node=node),
            path(t, serial, exe, ouid=0, mode="0100755", node=node),
            proctitle(t, serial, args, node=node),
            eoe(t, serial, node=node)]


def sshd_login(t: float, serial: int, *, pid: int, user_name: str, uid: int, ses: int,
               src_ip: str, src_port: int | None, server_ip: str | None = None,
               node: str | None = None, pty: str | None = "/dev/pts/0",
               method: str | None = "pubkey_auth") -> list[str]:
    """What an accepted sshd login writes, in time order (serial, serial+1, ...): CRYPTO_SESSION
    (with ``rport``, Red Hat) and USER_AUTH (Red Hat ``op=pubkey_auth`` with ``rport``) when
    ``src_port`` is given, USER_ACCT, CRED_ACQ, kernel LOGIN, USER_START, and USER_LOGIN (pty)."""
    out: list[str] = []
    s = serial
    if src_port is not None:
        out.append(user("CRYPTO_SESSION", t, s, pid=pid, node=node, msg={
            "op": "start", "direction": "from-server", "cipher": "chacha20-poly1305@openssh.com",
            "ksize": 512, "mac": "", "pfs": "curve25519-sha256", "spid": pid + 1, "suid": 74,
            "rport": src_port, "laddr": server_ip or "?", "lport": 22, "exe": "/usr/sbin/sshd",
            "hostname": "?", "addr": src_ip, "terminal": "?", "res": "success"}))
        s += 1
        if method:
            out.append(user("USER_AUTH", t + 0.001, s, pid=pid, node=node,
                            msg=sshd_msg(method, acct=user_name, addr=src_ip, terminal="ssh",
                                         rport=src_port)))
            s += 1
    out.append(user("USER_ACCT", t + 0.002, s, pid=pid, node=node,
                    msg=sshd_msg("PAM:accounting", acct=user_name, addr=src_ip,
                                 hostname=src_ip)))
    out.append(user("CRED_ACQ", t + 0.003, s + 1, pid=pid, node=node,
                    msg=sshd_msg("PAM:setcred", acct=user_name, addr=src_ip, hostname=src_ip)))
    out.append(f"{header('LOGIN', t + 0.004, s + 2, node)} pid={pid} uid=0 "
               f"subj=system_u:system_r:sshd_t:s0-s0:c0.c1023 old-auid={UNSET} auid={uid} "
               f"tty=(none) old-ses={UNSET} ses={ses} res=1")
    out.append(user("USER_START", t + 0.005, s + 3, pid=pid, auid=uid, ses=ses, node=node,
                    msg=sshd_msg("PAM:session_open", acct=user_name, addr=src_ip,
                                 hostname=src_ip)))
    if pty:
        out.append(user("USER_LOGIN", t + 0.006, s + 4, pid=pid, auid=uid, ses=ses, node=node,
                        msg=sshd_msg("login", uid=uid, addr=src_ip, hostname=src_ip,
                                     terminal=pty)))
    return out
