"""A hijack whose every attacker-controlled string is a payload, for the HTML report's tests.

Host names (the Mac's folder, the server's syslog host), user names (eslogger logins, the sshd
"Accepted ... for <user>" line), process paths and arguments, the agent socket's path, an eslogger
event type (which lands in the accounting's ``skipped_by_type`` keys) and a damaged line (which
lands in the issue excerpts) carry HTML and script payloads, quotes, control characters and the
right-to-left override U+202E. Each script payload would set ``window.__pwned`` or
``document.title`` if it ever ran. The files are written with ``tests/casekit.py``, so the case
goes through the real readers and the whole pipeline.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests import casekit

RLO = "\u202e"
ESC = "\x1b"
BEL = "\x07"
TITLE_PAYLOAD = "<script>document.title='pwned'</script>"

MAC = f"mac-'<svg onload=window.__pwned=1>{RLO}fdp.exe"
DB = 'db1"<b>x'
ACTOR = 'bob"><svg/onload=window.__pwned=2>'
VICTIM = f"alice<script>window.__pwned=9</script>{RLO}"
SOCKET = f"/Users/al<img src=x onerror=window.__pwned=3>{ESC}[31m{RLO}/.ssh/agent/s.abc.agent.def"
EXE = f"/tmp/<script>window.__pwned=4</script>{BEL}{RLO}gpj.sh"
ARG = "--x=\"'><img src=x onerror=window.__pwned=5>"
REMOTE_CMD = f"echo '<script>window.__pwned=6</script>'{RLO}"
LOGIN_USER = f"<img src=x onerror=window.__pwned=7>{RLO}"
EVENT_TYPE = "<img src=x onerror=window.__pwned=8>"
BROKEN_LINE = '{"time":"' + TITLE_PAYLOAD + RLO + '", broken'

# Strings the page must show as text (hidden characters appear as their escapes). ARG is not
# among them: the reader keeps the arguments of ssh clients only (DESIGN §3).
SHOWN = [
    "mac-'<svg onload=window.__pwned=1>", "fdp.exe", DB, ACTOR,
    "<script>window.__pwned=4</script>", "<img src=x onerror=window.__pwned=3>",
    "<script>window.__pwned=6</script>",
    "<img src=x onerror=window.__pwned=7>", EVENT_TYPE, TITLE_PAYLOAD,
    "\\u202e", "\\x1b", "\\x07",
]
HIDDEN = [RLO, ESC, BEL]

CASE = {
    "assets": [[MAC, "10.10.0.7"], [DB, "10.20.0.5"]],
    "eslogger": [
        {"host": MAC, "t": 0.0, "event": "login_login", "pid": 300, "pv": 2, "euid": 0,
         "auid": 501, "asid": 100001, "exe": "/usr/bin/login", "user": VICTIM, "uid": 501},
        {"host": MAC, "t": 1.0, "event": "login_login", "pid": 301, "pv": 2, "euid": 0,
         "auid": 502, "asid": 100002, "exe": "/usr/bin/login", "user": ACTOR, "uid": 502},
        {"host": MAC, "t": 3.0, "event": "exec", "pid": 400, "pv": 3, "ruid": 501, "euid": 501,
         "auid": 501, "asid": 100001, "exe": "/bin/zsh",
         "env": [f"SSH_AUTH_SOCK={SOCKET}", f"USER={VICTIM}"]},
        {"host": MAC, "t": 50.0, "event": "exec", "pid": 880, "pv": 5, "ppid": 850, "ruid": 0,
         "euid": 0, "auid": 502, "asid": 100002, "exe": EXE, "args": [EXE, ARG],
         "env": [f"SSH_AUTH_SOCK={SOCKET}", "USER=root"]},
        {"host": MAC, "t": 50.5, "event": "uipc_connect", "pid": 880, "pv": 5, "ruid": 0,
         "euid": 0, "auid": 502, "asid": 100002, "exe": EXE, "path": SOCKET, "st_uid": 501},
        {"host": MAC, "t": 100.0, "event": "exec", "pid": 900, "pv": 11, "ppid": 850, "ruid": 0,
         "euid": 0, "auid": 502, "asid": 100002, "exe": "/usr/bin/ssh",
         "args": ["ssh", f"alice@{DB}", REMOTE_CMD],
         "env": [f"SSH_AUTH_SOCK={SOCKET}", "USER=root"]},
        {"host": MAC, "t": 100.5, "event": "uipc_connect", "pid": 900, "pv": 11, "ruid": 0,
         "euid": 0, "auid": 502, "asid": 100002, "exe": "/usr/bin/ssh", "path": SOCKET,
         "st_uid": 501},
        {"host": MAC, "t": 130.0, "event": "exit", "pid": 900, "pv": 11, "euid": 0, "auid": 502,
         "asid": 100002, "exe": "/usr/bin/ssh"},
    ],
    "zeek": [{"t": 100.2, "uid": "CHostile1", "src": "10.10.0.7:50211", "dst": "10.20.0.5:22",
              "auth_success": True}],
    "sshd": [
        {"host": DB, "t": -600.0, "pid": 700, "msg": "Server listening on 0.0.0.0 port 22."},
        {"host": DB, "t": 101.0, "pid": 5001,
         "msg": f"Accepted publickey for {LOGIN_USER} from 10.10.0.7 port 50211 ssh2: ED25519 "
                "SHA256:k1kjhwoH/H3w31MbGOIGd7qxrkSQJnoAN0eYJVHDmmI"},
        {"host": DB, "t": 10790.0, "program": "CRON", "pid": 9100,
         "msg": "pam_unix(cron:session): session closed for user root"},
    ],
}


def write(out: Path) -> list[str]:
    """Write the hostile inputs under ``out``; return the ``hunt`` options they need."""
    opts = casekit.render(CASE, out)
    log = out / "macs" / MAC / "eslogger.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    unknown = json.loads(lines[0])
    unknown["event_type"] = 999
    unknown["event"] = {EVENT_TYPE: {}}
    lines.append(json.dumps(unknown) + "\n")
    lines.append(BROKEN_LINE + "\n")
    log.write_text("".join(lines), encoding="utf-8")
    return opts
