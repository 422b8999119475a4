"""sshd's auditd records for a simulated dataset: ``servers/<host>/auth.log`` → ``audit.log``.

For every server in ``MANIFEST.json`` the RFC 3164 ``auth.log`` (year 2026, UTC) is read with
plain Python and the records the kernel audit subsystem would hold for it are written to
``servers/<host>/audit.log``, every line with ``node=<host>`` (FORMATS §4.6):

* ``Accepted <method> for U from IP port P``: CRYPTO_SESSION (Red Hat's patch: ``rport=P``,
  ``laddr`` = the server's address, ``lport=22``), USER_AUTH (``op=pubkey_auth`` with ``rport``,
  or ``op=PAM:authentication`` for passwords), USER_ACCT, CRED_ACQ, kernel LOGIN (``auid`` =
  the uid of the ``session opened for user U(uid=N)`` line, ``ses`` = systemd-logind's ``New
  session N``), USER_START and USER_LOGIN (a pty is assumed), all by the sshd monitor's pid, in
  the second of the line (milliseconds 0-6);
* ``Disconnected from user U IP port P``: USER_END, USER_LOGOUT and CRED_DISP of that login;
* ``Failed <method> for [invalid user ]U ...``: USER_AUTH (PAM, passwords) and USER_LOGIN
  ``res=failed``; ``Invalid user U ...``: USER_LOGIN ``acct=(invalid user)`` hex-encoded, as
  sshd's ``audit_username()`` writes it; ``... authenticating user U ... [preauth]``: USER_LOGIN
  ``res=failed`` for ``U``; each such connection got as far as authentication, so it also has a
  CRYPTO_SESSION (once per client address and port);
* PAM sessions of other programs (CRON, sudo, systemd --user): USER_START / USER_END with their
  executable, so the log covers the same span as the auth.log.

The executable is ``/usr/sbin/sshd``, or ``/usr/lib/openssh/sshd-session`` where the auth.log
names ``sshd-session`` (OpenSSH ≥ 9.8). Serials count from 1 per host in line order. Output is a
function of the input bytes only.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

YEAR = 2026
UNSET = 4294967295
_LINE = re.compile(
    r"^(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d+) (?P<hms>\d\d:\d\d:\d\d) (?P<host>\S+) "
    r"(?P<prog>[^\[\s:]+)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)$")
_ACCEPTED = re.compile(r"^Accepted (?P<method>\S+) for (?P<user>.+) from (?P<ip>\S+) "
                       r"port (?P<port>\d+)")
_FAILED = re.compile(r"^Failed (?P<method>\S+) for (?:invalid user )?(?P<user>.+) from "
                     r"(?P<ip>\S+) port (?P<port>\d+)")
_INVALID = re.compile(r"^Invalid user (?P<user>.*) from (?P<ip>\S+) port (?P<port>\d+)$")
_AUTHENTICATING = re.compile(r"^(?:Connection closed by|Disconnected from) authenticating user "
                             r"(?P<user>.+) (?P<ip>\S+) port (?P<port>\d+) \[preauth\]$")
_DISCONNECTED = re.compile(r"^Disconnected from user (?P<user>.+) (?P<ip>\S+) "
                           r"port (?P<port>\d+)$")
_PAM = re.compile(r"^pam_unix\((?P<svc>[^:]+):session\): session (?P<what>opened|closed) "
                  r"for user (?P<user>[^(\s]+)(?:\(uid=(?P<uid>\d+)\))?")
_LOGIND = re.compile(r"^New session (?P<ses>\d+) of user (?P<user>\S+)\.$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SSHD_EXE = {"sshd": "/usr/sbin/sshd", "sshd-session": "/usr/lib/openssh/sshd-session"}
_OTHER_EXE = {"cron": "/usr/sbin/cron", "sudo": "/usr/bin/sudo",
              "systemd-user": "/usr/lib/systemd/systemd", "su": "/usr/bin/su"}
_TERMINAL = {"cron": "cron", "sudo": "/dev/pts/0", "systemd-user": "?", "su": "/dev/pts/0"}


@dataclass
class _Login:
    """One accepted sshd login of the auth.log, and what later lines add to it."""

    t_ms: int
    pid: int
    exe: str
    user: str
    ip: str
    port: int
    method: str
    uid: int | None = None
    ses: int | None = None
    pts: int = 0


@dataclass
class _Host:
    name: str
    ip: str
    serial: int = 0
    out: list[str] = field(default_factory=list)

    def record(self, kind: str, t_ms: int, body: str) -> None:
        self.serial += 1
        self.out.append(f"node={self.name} type={kind} "
                        f"msg=audit({t_ms // 1000}.{t_ms % 1000:03d}:{self.serial}): {body}")


def convert(src: Path, dst: Path) -> list[str]:
    """Write ``servers/<host>/audit.log`` under ``dst`` for every server of the dataset at
    ``src``; return the relative paths written, sorted."""
    manifest = json.loads((src / "MANIFEST.json").read_text(encoding="utf-8"))
    written = []
    for server in sorted(manifest["hosts"]["servers"], key=lambda s: s["name"]):
        auth = src / "servers" / server["name"] / "auth.log"
        if not auth.is_file():
            continue
        host = _Host(server["name"], server["ip"])
        _convert_log(auth.read_text(encoding="utf-8").splitlines(), host)
        rel = f"servers/{host.name}/audit.log"
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        (dst / rel).write_text("".join(line + "\n" for line in host.out), encoding="utf-8")
        written.append(rel)
    return written


def _t_ms(m: re.Match[str]) -> int:
    h, mi, s = (int(x) for x in m["hms"].split(":"))
    d = dt.datetime(YEAR, _MONTHS.index(m["mon"]) + 1, int(m["day"]), h, mi, s, tzinfo=dt.UTC)
    return int(d.timestamp()) * 1000


def _convert_log(lines: list[str], host: _Host) -> None:
    parsed = [(m, _t_ms(m)) for m in (_LINE.match(x) for x in lines) if m]
    logins = _logins(parsed)
    open_by_conn: dict[tuple[str, int], _Login] = {}
    kex_done: set[tuple[str, int]] = set()
    for i, (m, t) in enumerate(parsed):
        prog, msg = m["prog"], m["msg"]
        pid = int(m["pid"]) if m["pid"] else 0
        if prog in _SSHD_EXE:
            exe = _SSHD_EXE[prog]
            if i in logins:
                login = logins[i]
                open_by_conn[(login.ip, login.port)] = login
                kex_done.add((login.ip, login.port))
                _accepted(host, login)
            elif d := _DISCONNECTED.match(msg):
                login = open_by_conn.pop((d["ip"], int(d["port"])), None)
                if login is not None:
                    _ended(host, login, t)
            elif f := _FAILED.match(msg):
                _kex(host, kex_done, t, pid, exe, f["ip"], int(f["port"]))
                if f["method"] in ("password", "keyboard-interactive/pam"):
                    host.record("USER_AUTH", t + 1, _user_msg(
                        pid, "PAM:authentication", f["user"], exe, f["ip"], "ssh", "failed"))
                host.record("USER_LOGIN", t + 2, _user_msg(pid, "login", f["user"], exe,
                                                           f["ip"], "sshd", "failed"))
            elif v := _INVALID.match(msg):
                _kex(host, kex_done, t, pid, exe, v["ip"], int(v["port"]))
                host.record("USER_LOGIN", t + 1, _user_msg(pid, "login", "(invalid user)", exe,
                                                           v["ip"], "sshd", "failed"))
            elif a := _AUTHENTICATING.match(msg):
                _kex(host, kex_done, t, pid, exe, a["ip"], int(a["port"]))
                host.record("USER_LOGIN", t + 1, _user_msg(pid, "login", a["user"], exe,
                                                           a["ip"], "sshd", "failed"))
        elif (p := _PAM.match(msg)) and p["svc"] in _OTHER_EXE:
            kind = "USER_START" if p["what"] == "opened" else "USER_END"
            op = "PAM:session_open" if kind == "USER_START" else "PAM:session_close"
            host.record(kind, t, _user_msg(pid, op, p["user"], _OTHER_EXE[p["svc"]], "?",
                                           _TERMINAL[p["svc"]], "success"))


def _logins(parsed: list[tuple[re.Match[str], int]]) -> dict[int, _Login]:
    """Accepted logins by line index, with the uid of their PAM session line (same pid) and
    the session number of the next logind ``New session`` line for their user."""
    found: dict[int, _Login] = {}
    by_pid: dict[int, _Login] = {}
    waiting: dict[str, list[_Login]] = {}
    for i, (m, t) in enumerate(parsed):
        msg = m["msg"]
        pid = int(m["pid"]) if m["pid"] else 0
        if m["prog"] in _SSHD_EXE and (a := _ACCEPTED.match(msg)):
            login = _Login(t, pid, _SSHD_EXE[m["prog"]], a["user"], a["ip"], int(a["port"]),
                           a["method"], pts=len(found) % 16)
            found[i] = by_pid[pid] = login
            waiting.setdefault(login.user, []).append(login)
        elif m["prog"] in _SSHD_EXE and (p := _PAM.match(msg)) and p["what"] == "opened":
            if pid in by_pid and p["uid"] is not None:
                by_pid[pid].uid = int(p["uid"])
        elif n := _LOGIND.match(msg):
            queue = waiting.get(n["user"])
            if queue:
                queue.pop(0).ses = int(n["ses"])
    return found


def _user_msg(pid: int, op: str, acct: str | None, exe: str, ip: str, terminal: str, res: str,
              *, auid: int = UNSET, ses: int = UNSET, uid_field: int | None = None,
              extra: str = "") -> str:
    """A user-space record body: ``pid= uid= auid= ses= subj= msg='...'``."""
    parts = [f"op={op}"]
    if extra:
        parts.append(extra)
    if uid_field is not None:
        parts.append(f"id={uid_field}")
    elif acct is not None:
        parts.append(f"acct={_encode(acct)}")
    host = ip if ip != "?" else "?"
    parts += [f'exe="{exe}"', f"hostname={host}", f"addr={ip}", f"terminal={terminal}",
              f"res={res}"]
    return (f"pid={pid} uid=0 auid={auid} ses={ses} subj=unconfined "
            f"msg='{' '.join(parts)}'")


def _encode(value: str) -> str:
    """auditd's spelling of an encoded field: quoted, or hex when it has a space, a quote or a
    byte outside printable ASCII."""
    if any(c in value for c in ' "') or any(not 0x21 <= ord(c) <= 0x7E for c in value):
        return value.encode().hex().upper()
    return f'"{value}"'


def _crypto_session(host: _Host, t: int, pid: int, exe: str, ip: str, port: int) -> None:
    """Red Hat's key-exchange record: the only one with the client port and server address."""
    host.record("CRYPTO_SESSION", t, (
        f"pid={pid} uid=0 auid={UNSET} ses={UNSET} subj=unconfined msg='op=start "
        f"direction=from-server cipher=chacha20-poly1305@openssh.com ksize=512 mac=<implicit> "
        f"pfs=sntrup761x25519-sha512@openssh.com spid={pid + 1} suid=109 rport={port} "
        f"laddr={host.ip} lport=22  exe=\"{exe}\" hostname=? addr={ip} terminal=? "
        "res=success'"))


def _kex(host: _Host, done: set[tuple[str, int]], t: int, pid: int, exe: str, ip: str,
         port: int) -> None:
    """A failed connection got as far as authentication, so its key exchange was recorded."""
    if (ip, port) not in done:
        done.add((ip, port))
        _crypto_session(host, t, pid, exe, ip, port)


def _accepted(host: _Host, g: _Login) -> None:
    t = g.t_ms
    auid = g.uid if g.uid is not None else UNSET
    ses = g.ses if g.ses is not None else UNSET
    _crypto_session(host, t, g.pid, g.exe, g.ip, g.port)
    if g.method == "publickey":
        host.record("USER_AUTH", t + 1, _user_msg(g.pid, "pubkey_auth", g.user, g.exe, g.ip,
                                                  "ssh", "success", extra=f"rport={g.port}"))
    else:
        host.record("USER_AUTH", t + 1, _user_msg(g.pid, "PAM:authentication", g.user, g.exe,
                                                  g.ip, "ssh", "success"))
    host.record("USER_ACCT", t + 2, _user_msg(g.pid, "PAM:accounting", g.user, g.exe, g.ip,
                                              "ssh", "success"))
    host.record("CRED_ACQ", t + 3, _user_msg(g.pid, "PAM:setcred", g.user, g.exe, g.ip, "ssh",
                                             "success"))
    host.record("LOGIN", t + 4, f"pid={g.pid} uid=0 subj=unconfined old-auid={UNSET} "
                f"auid={auid} tty=(none) old-ses={UNSET} ses={ses} res=1")
    host.record("USER_START", t + 5, _user_msg(g.pid, "PAM:session_open", g.user, g.exe, g.ip,
                                               "ssh", "success", auid=auid, ses=ses))
    host.record("USER_LOGIN", t + 6, _user_msg(g.pid, "login", None, g.exe, g.ip,
                                               f"/dev/pts/{g.pts}", "success", auid=auid,
                                               ses=ses, uid_field=auid))


def _ended(host: _Host, g: _Login, t: int) -> None:
    auid = g.uid if g.uid is not None else UNSET
    ses = g.ses if g.ses is not None else UNSET
    host.record("USER_END", t, _user_msg(g.pid, "PAM:session_close", g.user, g.exe, g.ip, "ssh",
                                         "success", auid=auid, ses=ses))
    host.record("USER_LOGOUT", t + 1, _user_msg(g.pid, "login", None, g.exe, "?",
                                                f"/dev/pts/{g.pts}", "success", auid=auid,
                                                ses=ses, uid_field=auid))
    host.record("CRED_DISP", t + 2, _user_msg(g.pid, "PAM:setcred", g.user, g.exe, g.ip, "ssh",
                                              "success", auid=auid, ses=ses))
