"""Tests for the auditd reader (FORMATS §4.6; DESIGN §3 host, time and argv rules, §8 accounting).

Corpus counts were taken independently of the reader: events are the distinct ``[node=]`` +
``msg=audit(<time>:<serial>)`` ids, counted with
``awk '{ if (match($0, /msg=audit\\([0-9]+\\.[0-9]+:[0-9]+\\)/)) k[substr($0,RSTART,RLENGTH)]=1;
else bad++ }'``; malformed lines are the lines without such an id (``bad``); the status of each
event was read by hand from its records (its SYSCALL's ``syscall``/``success``/``exe``, else its
first record's type). Every other input below is constructed (``tests/auditkit.py``), labelled
as such, and its expected values are written by hand from the record text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail.model import ReadResult
from agenttrail.readers import BY_NAME, READERS, auditd
from agenttrail.readers._io import ReadContext, read_head
from tests import auditkit as ak

CORPUS_DIR = "go-libaudit-auditd"
SOCK = "/tmp/ssh-Xy12AbCd9Q/agent.4200"


def _read(tmp_path: Path, lines: list[str], name: str = "audit.log", raw: bytes | None = None,
          **kw: Any) -> ReadResult:
    path = tmp_path / name
    if raw is None:
        path.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")
    else:
        path.write_bytes(raw)
    kw.setdefault("host", "ws1")
    kw.setdefault("host_origin", "path")
    result = auditd.read(ReadContext(path=path, rel=name, con=duckdb.connect(), **kw))
    assert result.account.balanced(), result.account.to_dict()
    assert result.account.format == "auditd"
    return result


def _rows(result: ReadResult, table: str) -> list[dict[str, Any]]:
    t = result.tables.get(table)
    return [] if t is None else t.to_pylist()


def _pick(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: row[k] for k in keys}


# --- the real corpus -----------------------------------------------------------------------

# file → (read, normalised, skipped_by_type, meta, malformed); read = events + malformed lines
CORPUS: dict[str, tuple[int, int, dict[str, int], int, int]] = {
    # ANOM_ABEND; a chronyd clock_adjtime SYSCALL event (with TIME_* and PROCTITLE records)
    "aucoalesce_random-internet_rawlines.log": (2, 0, {"ANOM_ABEND": 1, "SYSCALL": 1}, 0, 0),
    # 3 non-connect/exec SYSCALL events, 2 CONFIG_CHANGE, kernel LOGIN; sshd USER_LOGIN failed,
    # USER_LOGOUT, CRYPTO_KEY_USER, CRYPTO_SESSION → 4 login rows
    "aucoalesce_rhel-7-linux-3.10.0_rawlines.log": (
        10, 4, {"CONFIG_CHANGE": 2, "LOGIN": 1, "SYSCALL": 3}, 0, 0),
    # read(0) by metricbeat with an AVC, unlink by apt-get with two AVCs
    "aucoalesce_ubuntu-16.04-linux-4.13.0_rawlines.log": (2, 0, {"SYSCALL": 2}, 0, 0),
    # uname execve (1 process row); python3.5 connect success=no; sshd USER_START and two sshd
    # USER_LOGIN (3 login rows); cron USER_END; ioctl, setsockopt, bind, accept4, clock_adjtime
    "aucoalesce_ubuntu-16.10-linux-4.8.0_rawlines.log": (
        14, 4, {"CONFIG_CHANGE": 2, "SERVICE_START": 1, "SYSCALL": 5, "USER_END:not_sshd": 1,
                "connect_failed": 1}, 0, 0),
    # docker execve (1 process row); sshd USER_ERR and USER_LOGIN failed (2 login rows); cron/su
    # PAM records; USER_CMD, USER_CHAUTHTOK; unlink, rename, bind, accept SYSCALLs
    "aucoalesce_ubuntu-17.04-linux-4.10.0_rawlines.log": (
        15, 3, {"CRED_ACQ:not_sshd": 1, "CRED_DISP:not_sshd": 1, "SYSCALL": 4,
                "USER_ACCT:not_sshd": 1, "USER_AUTH:not_sshd": 1, "USER_CHAUTHTOK": 1,
                "USER_CMD": 1, "USER_END:not_sshd": 1, "USER_START:not_sshd": 1}, 0, 0),
    # one execve of dash (SYSCALL, EXECVE, two PATH, PROCTITLE)
    "aucoalesce_ubuntu-20.04.6-linux-5.15.0-1034-gcp_rawlines.log": (1, 1, {}, 0, 0),
    # three clock_adjtime events, ENRICHED fields glued to key=(null) (the GS byte was lost)
    "aucoalesce_ubuntu-21.10-linux-5.13_rawlines.log": (3, 0, {"SYSCALL": 3}, 0, 0),
    # symlinkat (aarch64 37)
    "aucoalesce_ubuntu-24.04-linux-6.8.0_rawlines.log": (1, 0, {"SYSCALL": 1}, 0, 0),
    # sendto (44); RHEL 6 "user pid=" USER_CMD
    "auparse_audit-rhel6.log": (2, 0, {"SYSCALL": 1, "USER_CMD": 1}, 0, 0),
    # 46 events grouped by record type + "type=UNKNOWN[1329] msg=?" (no event id); the sshd
    # pubkey login: CRED_ACQ, CRED_DISP, CRYPTO_KEY_USER, CRYPTO_SESSION, USER_ACCT, USER_AUTH,
    # USER_END, USER_ERR, USER_LOGIN, USER_LOGOUT, USER_START → 11 login rows
    "auparse_audit-rhel7.log": (
        47, 11, {"ADD_GROUP": 1, "ADD_USER": 1, "BPRM_FCAPS": 1, "CONFIG_CHANGE": 2,
                 "CRED_REFR:not_sshd": 1, "CWD": 2, "DAEMON_CONFIG": 1, "DAEMON_END": 1,
                 "DAEMON_START": 1, "EXECVE": 3, "GRP_MGMT": 1, "LOGIN": 1, "SERVICE_START": 1,
                 "SERVICE_STOP": 1, "SOCKADDR": 5, "SYSCALL": 2, "SYSTEM_BOOT": 1,
                 "SYSTEM_RUNLEVEL": 1, "TTY": 1, "USER_CMD": 1, "USER_MGMT": 1,
                 "USER_ROLE_CHANGE": 1, "USER_TTY": 2, "USYS_CONFIG": 1, "connect_failed": 1},
        0, 1),
    # a lone PATH record with a hex name, no final newline
    "auparse_audit-ubuntu14.log": (1, 0, {"PATH": 1}, 0, 0),
    # sshd USER_LOGIN failed (hex "(invalid user)") and success (id=1001); an AVC
    "auparse_audit-ubuntu16.log": (3, 2, {"AVC": 1}, 0, 0),
    # grep execve without EXECVE record, key hex with a stray quote
    "auparse_audit-ubuntu17.log": (1, 1, {}, 0, 0),
}


def _corpus(corpus: Path, name: str) -> ReadResult:
    path = corpus / CORPUS_DIR / name
    result = auditd.read(ReadContext(path=path, rel=name, con=duckdb.connect(), host="lab",
                                     host_origin="option"))
    assert result.account.balanced(), result.account.to_dict()
    return result


def test_corpus_is_every_file(corpus: Path) -> None:
    assert sorted(p.name for p in (corpus / CORPUS_DIR).iterdir()) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_counts(corpus: Path, name: str) -> None:
    a = _corpus(corpus, name).account
    read, normalised, skipped, meta, malformed = CORPUS[name]
    assert (a.read, a.normalised, a.skipped_by_type, a.meta, a.malformed, a.unread) == (
        read, normalised, skipped, meta, malformed, 0)
    assert auditd.sniff(read_head(corpus / CORPUS_DIR / name))


def test_corpus_rhel7_sshd_pubkey_login(corpus: Path) -> None:
    """The RHEL 7 login of FORMATS §4.6, records grouped by type: USER_ACCT (serial 410) is
    the accepted row; the port and server address come from CRYPTO_SESSION (406) and
    USER_AUTH (408) of the same sshd pid 1298; USER_LOGIN (421, id=1000) takes the user."""
    result = _corpus(corpus, "auparse_audit-rhel7.log")
    logins = {r["src_seq"]: r for r in _rows(result, "login")}
    keys = ("result", "user", "src_ip", "src_port", "server_ip", "server_port", "method",
            "pid", "program", "src_line", "host", "source")
    assert _pick(logins[410], keys) == {
        "result": "accepted", "user": "andrew_kroh", "src_ip": "96.241.146.97",
        "src_port": 63927, "server_ip": "10.142.0.2", "server_port": 22, "method": "publickey",
        "pid": 1298, "program": "sshd", "src_line": 32, "host": "lab", "source": "auditd"}
    assert logins[410]["t_us"] == 1_481_077_043_052_000
    assert [r["result"] for r in logins.values()].count("accepted") == 1
    assert {s: r["result"] for s, r in logins.items()} == {
        404: "connection", 406: "connection", 408: "connection", 410: "accepted",
        413: "session", 416: "session", 421: "session", 423: "session", 424: "disconnected",
        427: "session", 518: "preauth"}
    assert logins[421]["user"] == "andrew_kroh"
    assert logins[406]["src_port"] == 63927 and logins[406]["server_ip"] == "10.142.0.2"
    assert logins[518]["src_ip"] == "190.48.233.76" and logins[518]["user"] is None
    assert logins[404]["key_fp"] is None  # the server host key of CRYPTO_KEY_USER is not a key_fp
    sessions = [_pick(r, ("action", "uid", "user", "asid", "source_ip", "pid", "kind", "success"))
                for r in sorted(_rows(result, "session"), key=lambda r: r["t_us"])]
    assert sessions == [
        {"action": "login", "uid": 1000, "user": "andrew_kroh", "asid": 1,
         "source_ip": "96.241.146.97", "pid": 1298, "kind": "ssh_inbound", "success": True},
        {"action": "logout", "uid": 1000, "user": "andrew_kroh", "asid": 1,
         "source_ip": "96.241.146.97", "pid": 1298, "kind": "ssh_inbound", "success": True},
    ]
    assert result.account.issues[0].line == 31
    assert "no audit record header" in result.account.issues[0].message
    assert result.account.issues[0].excerpt == "type=UNKNOWN[1329] msg=?"


def test_corpus_ubuntu16_logins(corpus: Path) -> None:
    """No sshd USER_ACCT in the file: the successful USER_LOGIN is the accepted login."""
    rows = _rows(_corpus(corpus, "auparse_audit-ubuntu16.log"), "login")
    keys = ("result", "user", "src_ip", "src_port", "pid", "t_us")
    assert [_pick(r, keys) for r in rows] == [
        {"result": "invalid", "user": None, "src_ip": "179.38.151.221", "src_port": None,
         "pid": 12635, "t_us": 1_492_896_301_818_000},
        {"result": "accepted", "user": None, "src_ip": "72.83.230.100", "src_port": None,
         "pid": 11396, "t_us": 1_492_810_797_778_000},
    ]


EXEC_KEYS = ("pid", "ppid", "ruid", "euid", "auid", "auid_set", "asid", "tty", "exe", "args",
             "argc", "cwd", "platform", "exe_class", "exe_location", "code_signature",
             "pidversion", "src_line", "src_seq")


@pytest.mark.parametrize(("name", "expected"), [
    ("aucoalesce_ubuntu-16.10-linux-4.8.0_rawlines.log",
     (10043, 10027, 1001, 1001, 1001, True, 11, "pts/0", "/bin/uname", ["uname"], 2,
      "/home/andrew_kroh", "linux", "other", "system", "unknown", 8972, 5, 8972)),
    # a2="721df12151a7"' (a stray quote after the value) still parses
    ("aucoalesce_ubuntu-17.04-linux-4.10.0_rawlines.log",
     (5821, 5820, 0, 0, 1002, True, 194, "pts/1", "/usr/bin/docker", ["docker"], 3,
      "/home/andrew_kroh", "linux", "other", "system", "unknown", 124507, 25, 124507)),
    ("aucoalesce_ubuntu-20.04.6-linux-5.15.0-1034-gcp_rawlines.log",
     (2380168, 2380071, 1005, 0, 1005, True, 1456, "pts/0", "/usr/bin/dash", ["dash"], 2, None,
      "linux", "other", "system", "unknown", 28860764, 1, 28860764)),
    # no EXECVE record: no args; auid and ses 4294967295 are unset
    ("auparse_audit-ubuntu17.log",
     (27854, 27851, 0, 0, None, False, None, None, "/bin/grep", None, None, None, "linux",
      "other", "system", "unknown", 106081, 1, 106081)),
])
def test_corpus_exec_rows(corpus: Path, name: str, expected: tuple[Any, ...]) -> None:
    rows = _rows(_corpus(corpus, name), "process")
    assert len(rows) == 1
    assert rows[0]["action"] == "exec" and rows[0]["host_inferred"] is True
    assert _pick(rows[0], EXEC_KEYS) == dict(zip(EXEC_KEYS, expected, strict=True))


def test_corpus_enriched_without_separator(corpus: Path) -> None:
    a = _corpus(corpus, "aucoalesce_ubuntu-21.10-linux-5.13_rawlines.log").account
    assert a.details["enriched_events"] == 3


def test_corpus_source_spans(corpus: Path) -> None:
    spans = _rows(_corpus(corpus, "auparse_audit-rhel7.log"), "source_span")
    sshd = [s for s in spans if s["program"] == "sshd"]
    assert len(sshd) == 1 and sshd[0]["sshd_records"] == 11 and sshd[0]["records"] == 11
    assert sum(s["records"] for s in spans) == 46
    assert {s["source"] for s in spans} == {"auditd"} and {s["host"] for s in spans} == {"lab"}


# --- constructed: UNIX socket connects -------------------------------------------------------

SOCK_KEYS = ("action", "pid", "pidversion", "ruid", "euid", "auid", "auid_set", "asid", "exe",
             "socket_path", "st_uid", "socket_mode", "platform", "exe_class", "exe_location",
             "code_signature", "src_line", "src_seq", "host", "host_inferred")


def test_connect_to_another_users_agent_socket(tmp_path: Path) -> None:
    """Constructed: root (auid 1002, ses 7) runs ssh, which connects to alice's socket."""
    lines = ak.exec_event(10.0, 400, ["ssh", "alice@10.20.0.11"], pid=5100, ppid=5001, uid=0,
                          euid=0, auid=1002, ses=7, exe="/usr/bin/ssh")
    lines += ak.connect_event(10.5, 401, SOCK, pid=5100, ppid=5001, uid=0, euid=0, auid=1002,
                              ses=7, exe="/usr/bin/ssh", owner=1001)
    result = _read(tmp_path, lines)
    (sock,) = _rows(result, "socket")
    assert _pick(sock, SOCK_KEYS) == {
        "action": "connect", "pid": 5100, "pidversion": 400, "ruid": 0, "euid": 0,
        "auid": 1002, "auid_set": True, "asid": 7, "exe": "/usr/bin/ssh", "socket_path": SOCK,
        "st_uid": 1001, "socket_mode": 0o140600, "platform": "linux", "exe_class": "ssh_family",
        "exe_location": "system", "code_signature": "unknown", "src_line": 7, "src_seq": 401,
        "host": "ws1", "host_inferred": False}
    assert sock["t_us"] == ak.t_us(10.5)
    (proc,) = _rows(result, "process")
    assert _pick(proc, ("pid", "pidversion", "args", "argc", "ssh_dest_host", "ssh_dest_user",
                        "ssh_dest_port", "exe_class", "auth_sock")) == {
        "pid": 5100, "pidversion": 400, "args": ["ssh", "alice@10.20.0.11"], "argc": 2,
        "ssh_dest_host": "10.20.0.11", "ssh_dest_user": "alice", "ssh_dest_port": None,
        "exe_class": "ssh_family", "auth_sock": None}
    a = result.account
    assert (a.read, a.normalised, a.skipped_by_type) == (2, 2, {})


def _connect(tmp_path: Path, lines: list[str]) -> ReadResult:
    return _read(tmp_path, lines)


@pytest.mark.parametrize(("case", "lines", "expected"), [
    ("aarch64_203", ak.connect_event(1.0, 10, SOCK, pid=9, ppid=1, uid=0, euid=0, auid=5, ses=2,
                                     exe="/usr/bin/socat", owner=1001, nr=203, arch="c00000b7"),
     {"socket_path": SOCK, "st_uid": 1001, "exe_class": "relay"}),
    ("i386_362", ak.connect_event(1.0, 10, SOCK, pid=9, ppid=1, uid=0, euid=0, auid=5, ses=2,
                                  exe="/usr/bin/ssh", owner=1001, nr=362, arch="40000003"),
     {"socket_path": SOCK, "st_uid": 1001, "exe_class": "ssh_family"}),
    ("arm_283", ak.connect_event(1.0, 10, SOCK, pid=9, ppid=1, uid=0, euid=0, auid=5, ses=2,
                                 exe="/usr/bin/ssh", owner=1001, nr=283, arch="40000028"),
     {"socket_path": SOCK, "st_uid": 1001, "exe_class": "ssh_family"}),
    ("interpreted_name", ak.connect_event(1.0, 10, SOCK, pid=9, ppid=1, uid=0, euid=0, auid=5,
                                          ses=2, exe="/usr/bin/ssh", owner=1001, nr="connect"),
     {"socket_path": SOCK, "st_uid": 1001, "exe_class": "ssh_family"}),
    ("abstract", [ak.syscall(1.0, 10, 42, pid=9, exe="/usr/bin/python3.12", comm="python3"),
                  ak.sockaddr_unix(1.0, 10, "@/tmp/.X11-unix/X0", pad=4)],
     {"socket_path": "@/tmp/.X11-unix/X0", "st_uid": None, "exe_class": "interpreter"}),
    ("relative", [ak.syscall(1.0, 10, 42, pid=9, exe="/usr/bin/ssh", items=1),
                  ak.sockaddr_unix(1.0, 10, "agent.4200"),
                  ak.cwd(1.0, 10, "/tmp/ssh-Xy12AbCd9Q"),
                  ak.path(1.0, 10, "agent.4200", ouid=1001)],
     {"socket_path": SOCK, "st_uid": 1001, "exe_class": "ssh_family"}),
    ("sun_path_padded_with_garbage",  # addrlen 110: bytes after the NUL are not the path
     [ak.syscall(1.0, 10, 42, pid=9, exe="/usr/bin/ssh"),
      ak.header("SOCKADDR", 1.0, 10) + " saddr=01002F7661722F72756E2F6E7363642F736F636B6574"
      "0000603B7B47FC7F0000303C7B47FC7F"],
     {"socket_path": "/var/run/nscd/socket", "st_uid": None, "exe_class": "ssh_family"}),
    ("path_with_space", [ak.syscall(1.0, 10, 42, pid=9, exe="/usr/bin/ssh", items=1),
                         ak.sockaddr_unix(1.0, 10, "/tmp/my agent/s"),
                         ak.path(1.0, 10, "/tmp/my agent/s", ouid=1003, mode="0140755")],
     {"socket_path": "/tmp/my agent/s", "st_uid": 1003, "exe_class": "ssh_family"}),
])
def test_connect_variants(tmp_path: Path, case: str, lines: list[str],
                          expected: dict[str, Any]) -> None:
    """Constructed: architectures, syscall spellings and socket address forms."""
    result = _read(tmp_path, lines)
    rows = _rows(result, "socket")
    assert len(rows) == 1, case
    assert _pick(rows[0], tuple(expected)) == expected, case


def test_connect_enriched_syscall_name(tmp_path: Path) -> None:
    """Constructed ENRICHED record: an architecture the reader has no table for, but
    ``SYSCALL=connect`` after the GS byte names the call."""
    lines = [ak.syscall(1.0, 10, 328, pid=9, exe="/usr/bin/ssh", arch="c0000015",
                        enriched='ARCH=ppc64le SYSCALL=connect AUID="bob" UID="root"'),
             ak.sockaddr_unix(1.0, 10, SOCK) + ak.GS + "SADDR={ saddr_fam=local path=" + SOCK
             + " }"]
    result = _read(tmp_path, lines)
    (row,) = _rows(result, "socket")
    assert row["socket_path"] == SOCK
    assert result.account.details["enriched_events"] == 1


@pytest.mark.parametrize(("case", "lines", "skipped"), [
    ("inet", [ak.syscall(1.0, 10, 42, pid=9, exe="/usr/bin/curl"),
              ak.sockaddr_inet(1.0, 10, "10.1.2.3", 443)], {"connect_not_unix": 1}),
    ("no_sockaddr", [ak.syscall(1.0, 10, 42, pid=9, exe="/usr/bin/curl")],
     {"connect_not_unix": 1}),
    ("failed", ak.connect_event(1.0, 10, SOCK, pid=9, ppid=1, uid=1003, euid=1003, auid=1003,
                                ses=4, exe="/usr/bin/ssh", owner=1001, success="no"),
     {"connect_failed": 1}),
    ("socketcall_neither", [ak.syscall(1.0, 10, 102, pid=9, exe="/usr/bin/ssh",
                                       arch="40000003", a0="9"),
                            ak.sockaddr_unix(1.0, 10, SOCK)], {"SYSCALL": 1}),
    ("sendto", [ak.syscall(1.0, 10, 44, pid=9, exe="/usr/bin/ssh"),
                ak.sockaddr_unix(1.0, 10, SOCK)], {"SYSCALL": 1}),
    ("bind_inet", [ak.syscall(1.0, 10, 49, pid=9, exe="/usr/sbin/sshd"),
                   ak.sockaddr_inet(1.0, 10, "0.0.0.0", 22)], {"bind_not_unix": 1}),
])
def test_connects_that_are_not_rows(tmp_path: Path, case: str, lines: list[str],
                                    skipped: dict[str, int]) -> None:
    """Constructed: counted by kind, no socket row."""
    result = _read(tmp_path, lines)
    assert _rows(result, "socket") == [], case
    assert result.account.skipped_by_type == skipped, case
    assert result.account.read == 1


@pytest.mark.parametrize(("case", "nr", "arch", "a0"), [
    ("x86_64_49", 49, "c000003e", "3"), ("aarch64_200", 200, "c00000b7", "3"),
    ("i386_socketcall_2", 102, "40000003", "2"), ("i386_361", 361, "40000003", "3"),
])
def test_bind_of_an_agent_socket(tmp_path: Path, case: str, nr: int, arch: str,
                                 a0: str) -> None:
    """Constructed: ssh-agent (alice) binds its socket; PATH item 0 is the directory
    (PARENT, owner 1001), item 1 the socket created (CREATE, mode 0140600)."""
    lines = [ak.syscall(1.0, 10, nr, pid=4199, uid=1001, auid=1001, ses=3, arch=arch, a0=a0,
                        exe="/usr/bin/ssh-agent", comm="ssh-agent", items=2),
             ak.sockaddr_unix(1.0, 10, SOCK),
             ak.cwd(1.0, 10, "/home/alice"),
             ak.path(1.0, 10, "/tmp/ssh-Xy12AbCd9Q/", ouid=1001, mode="040700", item=0)
             .replace("nametype=NORMAL", "nametype=PARENT"),
             ak.path(1.0, 10, SOCK, ouid=1001, mode="0140600", item=1)
             .replace("nametype=NORMAL", "nametype=CREATE")]
    (row,) = _rows(_read(tmp_path, lines), "socket")
    assert _pick(row, ("action", "socket_path", "dir_uid", "st_uid", "socket_mode", "pid",
                       "euid", "auid", "asid", "exe")) == {
        "action": "bind", "socket_path": SOCK, "dir_uid": 1001, "st_uid": None,
        "socket_mode": 0o140600, "pid": 4199, "euid": 1001, "auid": 1001, "asid": 3,
        "exe": "/usr/bin/ssh-agent"}, case


def test_socket_pidversion_is_the_latest_exec_serial(tmp_path: Path) -> None:
    """Constructed: pid 77 execs twice (serials 20, 30); its connect after the second exec
    carries 30; a connect by a pid never seen exec'ing carries NULL."""
    lines = ak.exec_event(1.0, 20, ["bash"], pid=77, ppid=1, uid=0, euid=0, auid=5, ses=2,
                          exe="/usr/bin/bash")
    lines += ak.exec_event(2.0, 30, ["ssh", "-l", "bob", "db1", "-p", "2222"], pid=77, ppid=1,
                           uid=0, euid=0, auid=5, ses=2, exe="/usr/bin/ssh")
    lines += ak.connect_event(3.0, 31, SOCK, pid=77, ppid=1, uid=0, euid=0, auid=5, ses=2,
                              exe="/usr/bin/ssh", owner=1001)
    lines += ak.connect_event(3.0, 32, SOCK, pid=78, ppid=1, uid=0, euid=0, auid=5, ses=2,
                              exe="/usr/bin/ssh", owner=1001)
    result = _read(tmp_path, lines)
    assert [(r["pid"], r["pidversion"]) for r in _rows(result, "socket")] == [(77, 30),
                                                                               (78, None)]
    procs = _rows(result, "process")
    assert [(r["pidversion"], r["prev_pidversion"]) for r in procs] == [(20, None), (30, 20)]
    assert _pick(procs[1], ("ssh_dest_host", "ssh_dest_user", "ssh_dest_port")) == {
        "ssh_dest_host": "db1", "ssh_dest_user": "bob", "ssh_dest_port": 2222}


# --- constructed: execs ------------------------------------------------------------------------

def test_exec_arguments_hex_and_split_across_records(tmp_path: Path) -> None:
    """Constructed: a2 has a space (hex); a1 is long and split into a1_len / a1[0] / a1[1]
    pieces across two EXECVE records (hex chunks cut in the middle of a UTF-8 character)."""
    long_arg = "user@db1:/srv/" + "é" * 40
    hexed = ak.hexs(long_arg)
    cut = 31  # an odd number of hex digits would split a byte; cut inside a multi-byte char
    cut -= cut % 2
    lines = [ak.syscall(1.0, 10, 59, pid=9, exe="/usr/bin/scp", comm="scp"),
             ak.header("EXECVE", 1.0, 10) + f' argc=3 a0="scp" a1_len={len(long_arg.encode())}'
             f" a1[0]={hexed[:cut]}",
             ak.header("EXECVE", 1.0, 10) + f" a1[1]={hexed[cut:]} a2={ak.hexs('my file')}",
             ak.cwd(1.0, 10, "/home/alice")]
    (proc,) = _rows(_read(tmp_path, lines), "process")
    assert proc["args"] == ["scp", long_arg, "my file"]
    assert proc["argc"] == 3 and proc["cwd"] == "/home/alice"


@pytest.mark.parametrize(("case", "exe", "args", "expected"), [
    ("other_program_keeps_argv0", "/usr/bin/curl", ["curl", "-u", "me:pw", "https://x"],
     ["curl"]),
    ("ssh_keeps_all", "/usr/bin/ssh", ["ssh", "-J", "bastion", "bob@db1"],
     ["ssh", "-J", "bastion", "bob@db1"]),
    ("git_keeps_all", "/usr/bin/git", ["git", "clone", "git@github.com:o/r.git"],
     ["git", "clone", "git@github.com:o/r.git"]),
    ("agent_socket_in_argv_keeps_all_redacted", "/usr/bin/socat",
     ["socat", f"UNIX-CONNECT:{SOCK}", "--password=hunter2", "https://u:pw@host/"],
     ["socat", f"UNIX-CONNECT:{SOCK}", "--password=<redacted>", "https://u:<redacted>@host/"]),
    ("run_user_agent_socket", "/usr/bin/python3", ["python3", "x.py",
                                                   "/run/user/1001/ssh-agent.socket"],
     ["python3", "x.py", "/run/user/1001/ssh-agent.socket"]),
])
def test_exec_argument_reduction(tmp_path: Path, case: str, exe: str, args: list[str],
                                 expected: list[str]) -> None:
    """Constructed (DESIGN §3): full argv only for SSH-family programs and argv naming an agent
    socket, secret-looking values redacted; others keep argv[0] and the count."""
    lines = ak.exec_event(1.0, 10, args, pid=9, ppid=1, uid=1001, euid=1001, auid=1001, ses=3,
                          exe=exe)
    (proc,) = _rows(_read(tmp_path, lines), "process")
    assert proc["args"] == expected, case
    assert proc["argc"] == len(args)
    assert "hunter2" not in str(proc) and "me:pw" not in str(proc)


def test_exec_variants(tmp_path: Path) -> None:
    """Constructed: aarch64 execve (221) and execveat (281), a failed execve, auid -1."""
    lines = [ak.syscall(1.0, 10, 221, pid=9, exe="/tmp/x/payload", arch="c00000b7",
                        auid=-1, ses=-1),
             ak.syscall(2.0, 11, 281, pid=10, exe="/home/bob/Downloads/tool", arch="c00000b7"),
             ak.syscall(3.0, 12, 59, pid=11, exe="/usr/bin/ls", success="no")]
    result = _read(tmp_path, lines)
    rows = _rows(result, "process")
    assert [_pick(r, ("pid", "auid", "auid_set", "asid", "exe_location")) for r in rows] == [
        {"pid": 9, "auid": None, "auid_set": False, "asid": None, "exe_location": "temp"},
        {"pid": 10, "auid": None, "auid_set": False, "asid": None, "exe_location": "download"},
    ]
    assert result.account.skipped_by_type == {"execve_failed": 1}


# --- constructed: hosts ------------------------------------------------------------------------

def test_node_prefix_names_the_host(tmp_path: Path) -> None:
    """Constructed: node= wins over the given host (lower case, not inferred); node=localhost
    counts as none; two nodes in one file are listed."""
    lines = ak.exec_event(1.0, 10, ["id"], pid=9, ppid=1, uid=0, euid=0, auid=5, ses=2,
                          exe="/usr/bin/id", node="WS2.corp")
    lines += ak.exec_event(1.0, 10, ["id"], pid=9, ppid=1, uid=0, euid=0, auid=5, ses=2,
                           exe="/usr/bin/id", node="localhost")
    result = _read(tmp_path, lines, host="given", host_origin="option")
    rows = _rows(result, "process")
    assert [(r["host"], r["host_inferred"]) for r in rows] == [("ws2.corp", False),
                                                               ("given", True)]
    assert result.account.read == 2  # same time and serial, different node: two events
    assert result.account.details["hosts"] == ["given", "ws2.corp"]


def test_no_host_at_all_warns(tmp_path: Path) -> None:
    lines = ak.exec_event(1.0, 10, ["id"], pid=9, ppid=1, uid=0, euid=0, auid=5, ses=2,
                          exe="/usr/bin/id")
    result = _read(tmp_path, lines, host=None, host_origin=None)
    (proc,) = _rows(result, "process")
    assert proc["host"] is None and proc["host_inferred"] is None
    (warning,) = [i for i in result.account.issues if i.kind == "warning"]
    assert warning.line == 1 and "--host" in warning.hint


# --- constructed: sshd logins ---------------------------------------------------------------

LOGIN_KEYS = ("result", "user", "src_ip", "src_port", "server_ip", "server_port", "method",
              "pid", "program")


def test_red_hat_login_with_ports(tmp_path: Path) -> None:
    """Constructed (Red Hat patch): CRYPTO_SESSION and USER_AUTH carry rport; USER_ACCT is the
    one accepted row and takes the port, the server address and the method."""
    lines = ak.sshd_login(5.0, 100, pid=700, user_name="alice", uid=1001, ses=3,
                          src_ip="10.10.2.5", src_port=50522, server_ip="10.20.0.11", node="db1")
    result = _read(tmp_path, lines)
    rows = _rows(result, "login")
    assert [r["result"] for r in rows] == ["connection", "connection", "accepted", "session",
                                           "session", "session"]
    accepted = rows[2]
    assert _pick(accepted, LOGIN_KEYS) == {
        "result": "accepted", "user": "alice", "src_ip": "10.10.2.5", "src_port": 50522,
        "server_ip": "10.20.0.11", "server_port": 22, "method": "publickey", "pid": 700,
        "program": "sshd"}
    assert accepted["t_us"] == ak.t_us(5.002) and accepted["host"] == "db1"
    assert rows[5]["user"] == "alice" and rows[5]["src_port"] == 50522  # USER_LOGIN id=1001
    (session,) = _rows(result, "session")
    assert _pick(session, ("uid", "user", "asid", "source_ip", "action", "kind")) == {
        "uid": 1001, "user": "alice", "asid": 3, "source_ip": "10.10.2.5", "action": "login",
        "kind": "ssh_inbound"}
    assert result.account.skipped_by_type == {"LOGIN": 1}
    (span,) = [s for s in _rows(result, "source_span") if s["program"] == "sshd"]
    assert (span["records"], span["sshd_records"], span["host"]) == (6, 6, "db1")


def test_debian_login_without_ports_and_non_pty(tmp_path: Path) -> None:
    """Constructed (upstream OpenSSH, PAM): no record has the port; a non-pty session (scp)
    writes no USER_LOGIN; each connection still has exactly one accepted row."""
    lines = ak.sshd_login(5.0, 100, pid=700, user_name="alice", uid=1001, ses=3,
                          src_ip="10.10.2.5", src_port=None, method=None)
    lines += ak.sshd_login(9.0, 200, pid=800, user_name="bob", uid=1002, ses=4,
                           src_ip="10.10.2.6", src_port=None, method=None, pty=None)
    rows = _rows(_read(tmp_path, lines), "login")
    accepted = [_pick(r, ("user", "src_ip", "src_port", "pid")) for r in rows
                if r["result"] == "accepted"]
    assert accepted == [{"user": "alice", "src_ip": "10.10.2.5", "src_port": None, "pid": 700},
                        {"user": "bob", "src_ip": "10.10.2.6", "src_port": None, "pid": 800}]


def test_host_without_pam_accepts_on_user_login(tmp_path: Path) -> None:
    """Constructed: no USER_ACCT anywhere (UsePAM no): USER_LOGIN res=success is the login."""
    lines = [ak.user("USER_LOGIN", 5.0, 100, pid=700, auid=1001, ses=3,
                     msg=ak.sshd_msg("login", uid=1001, addr="10.10.2.5", hostname="10.10.2.5",
                                     terminal="/dev/pts/1"),
                     enriched='UID="root" AUID="alice" ID="alice"')]
    (row,) = _rows(_read(tmp_path, lines), "login")
    assert _pick(row, ("result", "user", "src_ip")) == {"result": "accepted", "user": "alice",
                                                        "src_ip": "10.10.2.5"}


@pytest.mark.parametrize(("case", "record", "expected"), [
    ("failed_password_pam", ak.user("USER_AUTH", 1.0, 10, pid=5, msg=ak.sshd_msg(
        "PAM:authentication", acct="root", addr="10.9.9.9", hostname="10.9.9.9",
        res="failed")), ("failed", "root", "10.9.9.9")),
    ("failed_login_record", ak.user("USER_LOGIN", 1.0, 10, pid=5, msg=ak.sshd_msg(
        "login", acct="root", addr="46.160.144.250", terminal="ssh", res="failed")),
     ("failed", "root", "46.160.144.250")),
    ("invalid_user_hex", ak.user("USER_LOGIN", 1.0, 10, pid=5, msg=ak.sshd_msg(
        "login", acct="(invalid user)", addr="179.38.151.221", terminal="sshd", res="failed")),
     ("invalid", None, "179.38.151.221")),
    ("account_refused", ak.user("USER_ACCT", 1.0, 10, pid=5, msg=ak.sshd_msg(
        "PAM:accounting", acct="carol", addr="10.9.9.8", res="failed")),
     ("failed", "carol", "10.9.9.8")),
    ("bad_ident", ak.user("USER_ERR", 1.0, 10, pid=5, msg=ak.sshd_msg(
        "PAM:bad_ident", acct="?", addr="185.56.82.22", hostname="185.56.82.22", res="failed")),
     ("preauth", None, "185.56.82.22")),
    ("hostname_only", ak.user("USER_LOGIN", 1.0, 10, pid=5, msg=ak.sshd_msg(
        "login", acct="dave", hostname="client.example.com", res="failed")),
     ("failed", "dave", "client.example.com")),
    ("sshd_session_98", ak.user("USER_ACCT", 1.0, 10, pid=5, msg=ak.sshd_msg(
        "PAM:accounting", acct="erin", addr="10.9.9.7",
        exe="/usr/lib/openssh/sshd-session")), ("accepted", "erin", "10.9.9.7")),
    ("rhel6_user_pid_prefix", ak.user("USER_ACCT", 1.0, 10, pid=5, old_prefix=True,
                                      msg=ak.sshd_msg("PAM:accounting", acct="frank",
                                                      addr="10.9.9.6")),
     ("accepted", "frank", "10.9.9.6")),
])
def test_login_records(tmp_path: Path, case: str, record: str,
                       expected: tuple[str, str | None, str]) -> None:
    """Constructed: one sshd user-space record each."""
    (row,) = _rows(_read(tmp_path, [record]), "login")
    assert (row["result"], row["user"], row["src_ip"]) == expected, case
    if case == "sshd_session_98":
        assert row["program"] == "sshd-session"


def test_login_records_of_other_programs_are_skipped(tmp_path: Path) -> None:
    """Constructed: the same record types from cron and su are counted, not login rows."""
    lines = [ak.user("USER_ACCT", 1.0, 10, pid=5, msg=ak.sshd_msg(
                 "PAM:accounting", acct="root", exe="/usr/sbin/cron", terminal="cron")),
             ak.user("USER_START", 1.0, 11, pid=6, msg=ak.sshd_msg(
                 "PAM:session_open", acct="root", exe="/bin/su", terminal="pts/0"))]
    result = _read(tmp_path, lines)
    assert _rows(result, "login") == [] and _rows(result, "session") == []
    assert result.account.skipped_by_type == {"USER_ACCT:not_sshd": 1, "USER_START:not_sshd": 1}


# --- constructed: framing, damage and accounting --------------------------------------------

def test_ausearch_framing_is_meta_and_interpreted_output_is_malformed(tmp_path: Path) -> None:
    """Constructed: ``ausearch`` prints ``----`` and ``time->`` lines (meta); ``ausearch -i``
    rewrites the time and values (malformed, with a hint)."""
    lines = ["----", "time->Mon Mar  2 09:00:01 2026",
             *ak.exec_event(1.0, 10, ["id"], pid=9, ppid=1, uid=0, euid=0, auid=5, ses=2,
                            exe="/usr/bin/id"),
             "", "----",
             "type=SYSCALL msg=audit(03/02/2026 09:00:02.000:11) : arch=x86_64 syscall=connect "
             "success=yes exit=0 pid=9 auid=bob uid=root"]
    a = _read(tmp_path, lines).account
    assert (a.read, a.normalised, a.meta, a.malformed) == (6, 1, 4, 1)
    (issue,) = a.issues
    assert issue.line == 11 and "ausearch --raw" in issue.hint


def _cut(line: str, at: str) -> str:
    return line[: line.index(at)]


def test_damaged_records(tmp_path: Path) -> None:
    """Constructed: every damaged record is an issue at its line; the rest is read."""
    good = ak.connect_event(1.0, 10, SOCK, pid=9, ppid=1, uid=0, euid=0, auid=5, ses=2,
                            exe="/usr/bin/ssh", owner=1001)
    lines = [
        *good,                                                              # 1-5
        "garbage that is not audit",                                        # 6
        ak.header("SYSCALL", 2.0, 20) + " arch=c000003e success=yes pid=4",  # 7: no syscall
        ak.syscall(3.0, 30, 42, pid=9, exe="/usr/bin/ssh"),                 # 8
        ak.header("SOCKADDR", 3.0, 30) + " saddr=01002F746D70Z",            # 9: not hex
        ak.header("USER_ACCT", 4.0, 40) + " pid=1 uid=0 auid=4294967295 ses=4294967295 "
        "msg='op=PAM:accounting acct=\"a\" exe=\"/usr/sbin/sshd\" addr=1.2.3.4",  # 10: cut
        _cut(ak.syscall(5.0, 50, 59, pid=11, exe="/usr/bin/id"), " ppid="),  # 11: no pid
    ]
    result = _read(tmp_path, lines)
    a = result.account
    assert (a.read, a.normalised, a.malformed) == (6, 1, 5)
    assert [(i.line, i.message) for i in a.issues] == [
        (6, "no audit record header (type=<TYPE> msg=audit(<time>:<serial>))"),
        (7, "SYSCALL record without a syscall"),
        (8, "SOCKADDR saddr is not hex"),
        (10, "sshd login record without res="),
        (11, "SYSCALL record of a connect, bind or execve without a pid"),
    ]
    assert a.issues[0].excerpt == "garbage that is not audit"
    assert len(_rows(result, "socket")) == 1


def test_long_line_crlf_nul_and_latin1(tmp_path: Path) -> None:
    """Constructed: a line over max_line_bytes is malformed (not read whole); CRLF endings, a
    NUL byte and a non-UTF-8 byte do not stop the other records."""
    rec = ak.exec_event(1.0, 10, ["id"], pid=9, ppid=1, uid=0, euid=0, auid=5, ses=2,
                        exe="/usr/bin/id")
    raw = ("\r\n".join(rec) + "\r\n").encode()
    raw += b"type=PROCTITLE msg=audit(1.000:99): proctitle=" + b"41" * 3000 + b"\r\n"
    raw += b"type=USER_CMD msg=audit(2.000:100): pid=1 msg='cmd=\xe9\x00x res=success'\r\n"
    result = _read(tmp_path, [], raw=raw, max_line_bytes=2000)
    a = result.account
    assert (a.read, a.normalised, a.malformed, a.skipped_by_type) == (3, 1, 1,
                                                                       {"USER_CMD": 1})
    assert a.issues[0].line == 7 and "longer than the limit" in a.issues[0].message
    (proc,) = _rows(result, "process")
    assert proc["exe"] == "/usr/bin/id" and proc["cwd"] == "/"


def test_crlf_blank_lines_and_missing_final_newline(tmp_path: Path) -> None:
    rec = ak.exec_event(1.0, 10, ["id"], pid=9, ppid=1, uid=0, euid=0, auid=5, ses=2,
                        exe="/usr/bin/id")
    raw = ("\r\n".join(rec[:3]) + "\r\n\r\n   \n" + "\n".join(rec[3:])).encode()
    result = _read(tmp_path, [], raw=raw)
    a = result.account
    assert (a.read, a.normalised, a.meta) == (3, 1, 2)
    (proc,) = _rows(result, "process")
    assert proc["cwd"] == "/" and proc["src_line"] == 1


def test_abandon_after_consecutive_malformed_lines(tmp_path: Path) -> None:
    lines = [*ak.exec_event(1.0, 10, ["id"], pid=9, ppid=1, uid=0, euid=0, auid=5, ses=2,
                            exe="/usr/bin/id"),
             "x", "y", "z", "w", ak.syscall(2.0, 20, 2, pid=9, exe="/usr/bin/cat")]
    a = _read(tmp_path, lines, max_consecutive_malformed=3).account
    assert (a.read, a.normalised, a.malformed, a.unread) == (6, 1, 3, 2)
    assert a.issues[-1].kind == "unread"


def test_duplicate_event_records_are_counted(tmp_path: Path) -> None:
    rec = ak.connect_event(1.0, 10, SOCK, pid=9, ppid=1, uid=0, euid=0, auid=5, ses=2,
                           exe="/usr/bin/ssh", owner=1001)
    a = _read(tmp_path, rec + rec[:1]).account
    assert (a.read, a.normalised, a.duplicates) == (1, 1, 1)


def test_empty_file(tmp_path: Path) -> None:
    result = _read(tmp_path, [], raw=b"")
    assert result.account.read == 0 and result.tables.get("process") is None


# --- sniffing and registration ----------------------------------------------------------------

def test_registered_and_sniffs_only_audit_logs(corpus: Path) -> None:
    assert BY_NAME["auditd"] is auditd and auditd in READERS
    assert auditd.NEEDS_HOST is True and auditd.__doc__ and "Example input" in auditd.__doc__
    assert auditd.sniff(b"----\ntime->Mon Mar  2 09:00:01 2026\n" + ak.eoe(1.0, 1).encode())
    assert auditd.sniff(ak.exec_event(1.0, 1, ["id"], pid=1, ppid=1, uid=0, euid=0, auid=1,
                                      ses=1, exe="/usr/bin/id", node="h")[0].encode())
    for other in ("loghub-openssh/OpenSSH_2k.log", "zeek-btest/ssh.basic.conn.log",
                  "macos/eslogger_mullvad_exec_fork_exit_v9_v10_v11.jsonl",
                  "fail2ban-sshd/sshd-journal"):
        assert not auditd.sniff(read_head(corpus / other)), other
    for name in CORPUS:
        head = read_head(corpus / CORPUS_DIR / name)
        assert [r.NAME for r in READERS if r.sniff(head)] == ["auditd"], name


def test_not_utf8_falls_back_to_line_framing(tmp_path: Path) -> None:
    """Constructed: a Latin-1 byte in one record; every line is still read, in order."""
    rec = ak.exec_event(1.0, 10, ["id"], pid=9, ppid=1, uid=0, euid=0, auid=5, ses=2,
                        exe="/usr/bin/id")
    raw = ("\n".join(rec) + "\n").encode() + b"type=USER_CMD msg=audit(2.000:100): pid=1 " \
        b"msg='cmd=caf\xe9 res=success'\n" + rec[0].replace(":10)", ":11)").encode() + b"\n"
    a = _read(tmp_path, [], raw=raw).account
    assert (a.read, a.normalised, a.skipped_by_type, a.malformed) == (3, 2, {"USER_CMD": 1}, 0)
