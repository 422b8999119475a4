"""eslogger JSON pieces, built as strings (fast) in the shape Apple's encoder writes.

Apple's Foundation encoder writes object keys in no stable order and escapes ``/`` as ``\\/``. We
render each object with one of a few fixed key permutations (picked by a seeded generator) and
escape the whole line at the end. Process objects are cached on the ``Proc`` until a field changes.
"""

from __future__ import annotations

import json
import random
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agenttrail.simulate.binaries import Binary
    from agenttrail.simulate.world import Proc

#: es_event_type_t numbers of the events we write.
EVENT_TYPES = {
    "exec": 9, "fork": 11, "exit": 15, "uipc_bind": 76, "uipc_connect": 78,
    "lw_session_login": 114, "lw_session_logout": 115, "lw_session_lock": 116,
    "lw_session_unlock": 117, "login_login": 122, "login_logout": 123, "su": 128, "sudo": 131,
}
ENVELOPE_KEYS = ("schema_version", "version", "time", "mach_time", "event_type", "action_type",
                 "action", "seq_num", "global_seq_num", "thread", "process", "event")
_TOKEN_KEYS = ("auid", "euid", "egid", "ruid", "rgid", "pid", "asid", "pidversion")
_PROC_KEYS = ("audit_token", "parent_audit_token", "responsible_audit_token", "ppid",
              "original_ppid", "group_id", "session_id", "tty", "start_time", "executable",
              "signing_id", "team_id", "cdhash", "codesigning_flags", "is_platform_binary",
              "is_es_client")
_STAT_KEYS = ("st_dev", "st_ino", "st_mode", "st_nlink", "st_uid", "st_gid", "st_rdev", "st_size",
              "st_blocks", "st_blksize", "st_flags", "st_gen", "st_atimespec", "st_mtimespec",
              "st_ctimespec", "st_birthtimespec")
_EXEC_KEYS = ("target", "args", "env", "cwd", "script", "dyld_exec_path", "last_fd", "fds",
              "image_cputype", "image_cpusubtype")


def _orders(keys: tuple[str, ...], n: int, name: str) -> list[tuple[str, ...]]:
    rng = random.Random(f"eslogger-key-order/{name}")  # fixed: not part of the seed's choices
    out = []
    for _ in range(n):
        ks = list(keys)
        rng.shuffle(ks)
        out.append(tuple(ks))
    return out


ENVELOPE_ORDERS = _orders(ENVELOPE_KEYS, 12, "envelope")
_TOKEN_ORDERS = _orders(_TOKEN_KEYS, 7, "token")
_PROC_ORDERS = _orders(_PROC_KEYS, 9, "process")
_STAT_ORDERS = _orders(_STAT_KEYS, 5, "stat")
_EXEC_ORDERS = _orders(_EXEC_KEYS, 6, "exec")
_FILE_ORDERS = (("path", "path_truncated", "stat"), ("stat", "path_truncated", "path"),
                ("path_truncated", "stat", "path"), ("path_truncated", "path", "stat"))
ACTIONS = ('{"result":{"result_type":0,"result":{"auth":0}}}',
           '{"result":{"result":{"auth":0},"result_type":0}}')
OS_BUILD = 1751956034 * 1_000_000_000  # mtime of the sealed system volume's files (2025-07-08)

_sec_cache: dict[int, str] = {}


def iso_ns(t_ns: int) -> str:
    """``2026-03-02T09:00:01.123456789Z``."""
    sec, frac = divmod(t_ns, 1_000_000_000)
    head = _sec_cache.get(sec)
    if head is None:
        if len(_sec_cache) > 100_000:
            _sec_cache.clear()
        head = _sec_cache[sec] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    return f"{head}.{frac:09d}Z"


def iso_us(t_ns: int) -> str:
    """``2026-03-02T09:00:01.123456Z`` (process start times)."""
    return iso_ns(t_ns)[:26] + "Z"


def _obj(pairs: dict[str, str], order: tuple[str, ...]) -> str:
    return "{" + ",".join([f'"{k}":{pairs[k]}' for k in order]) + "}"


_token_cache: dict[tuple[tuple[int, ...], int], str] = {}


def token_json(tok: tuple[int, ...], pick: int) -> str:
    """An audit token in object form (the array order is auid, euid, egid, ruid, rgid, pid, asid,
    pidversion)."""
    key = (tok, pick % len(_TOKEN_ORDERS))
    out = _token_cache.get(key)
    if out is None:
        if len(_token_cache) > 50_000:
            _token_cache.clear()
        vals = dict(zip(_TOKEN_KEYS, tok, strict=True))
        out = "{" + ",".join([f'"{k}":{vals[k]}' for k in _TOKEN_ORDERS[key[1]]]) + "}"
        _token_cache[key] = out
    return out


def stat_json(ino: int, mode: int, uid: int, gid: int, *, size: int = 0, nlink: int = 1,
              rdev: int = 0, flags: int = 0, dev: int = 16777234, blksize: int = 4096,
              times: tuple[int, int, int, int] | None = None, pick: int = 0) -> str:
    a, m, c, b = times or (OS_BUILD, OS_BUILD, OS_BUILD, OS_BUILD)
    vals = {
        "st_dev": str(dev), "st_ino": str(ino), "st_mode": str(mode), "st_nlink": str(nlink),
        "st_uid": str(uid), "st_gid": str(gid), "st_rdev": str(rdev), "st_size": str(size),
        "st_blocks": str((size + 511) // 512), "st_blksize": str(blksize), "st_flags": str(flags),
        "st_gen": "0", "st_atimespec": f'"{iso_ns(a)}"', "st_mtimespec": f'"{iso_ns(m)}"',
        "st_ctimespec": f'"{iso_ns(c)}"', "st_birthtimespec": f'"{iso_ns(b)}"',
    }
    return _obj(vals, _STAT_ORDERS[pick % len(_STAT_ORDERS)])


def file_json(path: str, stat: str, pick: int = 0) -> str:
    vals = {"path": json.dumps(path), "path_truncated": "false", "stat": stat}
    return _obj(vals, _FILE_ORDERS[pick % len(_FILE_ORDERS)])


_exe_cache: dict[str, str] = {}
_file_cache: dict[tuple[str, int], str] = {}


def executable_json(b: Binary) -> str:
    out = _exe_cache.get(b.path)
    if out is None:
        platform = b.kind == "platform"
        st = stat_json(b.ino, b.mode, 0 if platform else 501, 0 if platform else 80, size=b.size,
                       flags=524320 if platform else 0, pick=b.ino)
        out = _exe_cache[b.path] = file_json(b.path, st, b.ino)
    return out


def dir_json(path: str, uid: int, mode: int = 0o40755) -> str:
    """A directory file object (cwd, a socket's directory), cached by (path, uid)."""
    out = _file_cache.get((path, uid))
    if out is None:
        ino = 400_000 + (hash_str(path) % 9_000_000)
        st = stat_json(ino, mode, uid, 20 if uid >= 500 else 0, size=64 * (1 + ino % 40),
                       nlink=2 + ino % 30, times=(OS_BUILD + ino, OS_BUILD + ino, OS_BUILD + ino,
                                                  OS_BUILD - ino * 1000), pick=ino)
        out = _file_cache[(path, uid)] = file_json(path, st, ino)
    return out


def tty_json(path: str, uid: int) -> str:
    out = _file_cache.get((path, -uid - 1))
    if out is None:
        n = int(path.removeprefix("/dev/ttys") or 0)
        st = stat_json(1000 + n, 0o20620, uid, 4, rdev=268435456 + n, dev=1333267060,
                       blksize=65536, pick=n)
        out = _file_cache[(path, -uid - 1)] = file_json(path, st, n)
    return out


def hash_str(s: str) -> int:
    """A stable (not per-process randomised) small hash."""
    h = 2166136261
    for ch in s.encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return h


def proc_json(p: Proc) -> str:
    """The eslogger process object of ``p`` (cached until ``p.json`` is cleared)."""
    if p.json is not None:
        return p.json
    b = p.binary
    pick = p.pid + p.pv
    vals = {
        "audit_token": token_json(p.token, pick),
        "parent_audit_token": token_json(p.parent_token, pick + 1),
        "responsible_audit_token": token_json(p.resp_token, pick + 2),
        "ppid": str(p.ppid), "original_ppid": str(p.original_ppid),
        "group_id": str(p.group_id), "session_id": str(p.session_id),
        "tty": tty_json(p.tty, p.ruid if p.ruid else (p.user.uid if p.user else 0))
        if p.tty else "null",
        "start_time": f'"{iso_us(p.start_ns)}"',
        "executable": executable_json(b),
        "signing_id": json.dumps(b.signing_id),
        "team_id": json.dumps(b.team_id),
        "cdhash": f'"{b.cdhash}"',
        "codesigning_flags": str(b.flags),
        "is_platform_binary": "true" if b.kind == "platform" else "false",
        "is_es_client": "false",
    }
    p.json = _obj(vals, _PROC_ORDERS[pick % len(_PROC_ORDERS)])
    return p.json


_STD_FDS = '[{"fdtype":1,"fd":0},{"fdtype":1,"fd":1},{"fdtype":1,"fd":2}]'


def exec_body(target: Proc, dyld: str, cwd_uid: int) -> str:
    b = target.binary
    vals = {
        "target": proc_json(target),
        "args": json.dumps(list(target.argv), separators=(",", ":")),
        "env": json.dumps(list(target.env), separators=(",", ":")),
        "cwd": dir_json(target.cwd, cwd_uid),
        "script": "null",
        "dyld_exec_path": json.dumps(dyld),
        "last_fd": "2",
        "fds": _STD_FDS,
        "image_cputype": "16777228",
        "image_cpusubtype": "2" if b.kind == "platform" else "0",
    }
    return '{"exec":' + _obj(vals, _EXEC_ORDERS[(target.pid + target.pv) % len(_EXEC_ORDERS)]) + "}"


def fork_body(child: Proc) -> str:
    return '{"fork":{"child":' + proc_json(child) + "}}"


def exit_body(stat: int) -> str:
    return '{"exit":{"stat":' + str(stat) + "}}"


def connect_body(path: str, stat: str, sock_type: int, pick: int) -> str:
    f = file_json(path, stat, pick)
    if pick % 2:
        return ('{"uipc_connect":{"domain":1,"file":' + f + ',"protocol":0,"type":'
                + str(sock_type) + "}}")
    return '{"uipc_connect":{"file":' + f + ',"domain":1,"type":' + str(sock_type) + ',"protocol":0}}'


def bind_body(dir_file: str, filename: str, mode: int) -> str:
    return ('{"uipc_bind":{"dir":' + dir_file + ',"filename":' + json.dumps(filename)
            + ',"mode":' + str(mode) + "}}")


def plain_body(name: str, fields: dict[str, object]) -> str:
    return '{"' + name + '":' + json.dumps(fields, separators=(",", ":")) + "}"
