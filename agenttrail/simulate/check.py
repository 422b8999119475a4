"""Internal consistency of a dataset in the ``simulate`` layout: ``check(out_dir) -> problems``.

Read back from the files alone (plus ``MANIFEST.json`` for server addresses, clock skews and the
logins a scenario removed on purpose), the checks are:

* eslogger: envelope shape, ``/`` escaped, ``event_type`` agrees with the event name, ``seq_num``
  contiguous per event type and ``global_seq_num`` contiguous, ``time``/``mach_time`` monotonic;
  process lineage: a fork child has a fresh pid and the parent's token as parent, an exec target
  keeps the pid with pidversion + 1, ``ppid`` equals the parent token's pid, audit user and session
  are inherited (launchd, pid 1, starts jobs in other sessions), no event by an image that exited
  or exec'd, and no process that started during the capture without its fork;
* Zeek: headers, field counts, unique uids, ssh.log rows agree with conn.log, SSH session starts
  have an ssh.log row, and a source (address, port) is never used by two overlapping flows;
* sshd: RFC 3164 framing with the server's own host name, monotonic time, every ``Accepted ...
  port P`` matches a Zeek flow from that address and port to that server, and every authenticated
  SSH session start to a logging server has its ``Accepted`` line unless the manifest says the
  scenario removed it (and then the server logs before and after it).
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agenttrail.simulate._esjson import EVENT_TYPES

NS = 1_000_000_000
_TOKEN_ARRAY = ("auid", "euid", "egid", "ruid", "rgid", "pid", "asid", "pidversion")
_ENVELOPE = {"schema_version", "version", "time", "mach_time", "event_type", "action_type",
             "action", "seq_num", "global_seq_num", "thread", "process", "event"}
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
_START = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
_SYSLOG = re.compile(r"^(?P<mon>[A-Z][a-z]{2}) (?P<day>[ \d]\d) (?P<hms>\d\d:\d\d:\d\d) "
                     r"(?P<host>\S+) (?P<prog>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)$")
_ACCEPTED = re.compile(r"^Accepted \S+ for \S+ from (?P<ip>\S+) port (?P<port>\d+) ssh2")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"), 1)}


def check(out_dir: Path) -> list[str]:
    """Every consistency problem found in the dataset at ``out_dir`` (empty: consistent)."""
    out_dir = Path(out_dir)
    problems: list[str] = []
    manifest: dict[str, Any] = {}
    mpath = out_dir / "MANIFEST.json"
    if mpath.is_file():
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    else:
        problems.append("MANIFEST.json: missing")
    for path in sorted(out_dir.glob("macs/*/eslogger.jsonl")):
        _check_eslogger(path, path.relative_to(out_dir).as_posix(), problems)
    flows = _check_zeek(out_dir, problems)
    _check_logins(out_dir, manifest, flows, problems)
    assets = out_dir / "assets.csv"
    if not assets.is_file():
        problems.append("assets.csv: missing")
    else:
        with assets.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), [])
        if header[:2] != ["host", "ip"]:
            problems.append(f"assets.csv:1: header {header} does not start with host,ip")
    return problems


def _tok(t: Any) -> dict[str, int]:
    return dict(zip(_TOKEN_ARRAY, t, strict=True)) if isinstance(t, list) else t


def _check_proc(p: dict[str, Any], where: str, problems: list[str]) -> dict[str, int]:
    tok = _tok(p["audit_token"])
    if p["ppid"] != _tok(p["parent_audit_token"])["pid"]:
        problems.append(f"{where}: ppid {p['ppid']} != parent_audit_token.pid")
    if not _START.match(p["start_time"]):
        problems.append(f"{where}: start_time {p['start_time']!r} is not RFC 3339 with µs")
    return tok


def _check_eslogger(path: Path, rel: str, problems: list[str]) -> None:
    seq: dict[str, int] = {}
    gseq = last_mach = -1
    last_time = first_time = ""
    live: dict[int, int] = {}
    dead: set[tuple[int, int]] = set()
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            where = f"{rel}:{n}"
            if "/" in line.replace("\\/", ""):
                problems.append(f"{where}: '/' not escaped as '\\/'")
            try:
                rec = json.loads(line)
                name = _envelope(rec, where, problems)
            except (ValueError, KeyError, TypeError, StopIteration) as exc:
                problems.append(f"{where}: unreadable record ({exc})")
                continue
            if seq.get(name, rec["seq_num"] - 1) != rec["seq_num"] - 1:
                problems.append(f"{where}: {name} seq_num {rec['seq_num']} after {seq[name]}")
            seq[name] = rec["seq_num"]
            if gseq >= 0 and rec["global_seq_num"] != gseq + 1:
                problems.append(f"{where}: global_seq_num {rec['global_seq_num']} after {gseq}")
            gseq = rec["global_seq_num"]
            t = rec["time"]
            if t < last_time or rec["mach_time"] < last_mach:
                problems.append(f"{where}: time goes backwards ({t} after {last_time})")
            last_time, last_mach, first_time = t, rec["mach_time"], first_time or t
            proc = rec["process"]
            tok = _check_proc(proc, where, problems)
            key = (tok["pid"], tok["pidversion"])
            if key in dead:
                problems.append(f"{where}: event by pid {key[0]} pidversion {key[1]}, which "
                                "already exited or exec'd")
            elif tok["pid"] not in live:
                if proc["start_time"][:26] >= first_time[:26]:
                    problems.append(f"{where}: pid {key[0]} started during the capture but its "
                                    "fork was not seen")
                live[tok["pid"]] = tok["pidversion"]
            elif live[tok["pid"]] != tok["pidversion"]:
                problems.append(f"{where}: pid {key[0]} is image {live[tok['pid']]}, not {key[1]}")
            _lineage(name, rec["event"][name], proc, tok, t, where, live, dead, problems)


def _envelope(rec: dict[str, Any], where: str, problems: list[str]) -> str:
    missing = _ENVELOPE - rec.keys()
    if missing:
        problems.append(f"{where}: envelope lacks {sorted(missing)}")
    if (rec["schema_version"], rec["version"], rec["action_type"]) != (1, 9, 1):
        problems.append(f"{where}: schema_version/version/action_type not 1/9/1")
    if len(rec["event"]) != 1:
        problems.append(f"{where}: event has {len(rec['event'])} keys")
    name = next(iter(rec["event"]))
    if EVENT_TYPES.get(name) != rec["event_type"]:
        problems.append(f"{where}: event_type {rec['event_type']} does not match {name!r}")
    if not _TIME.match(rec["time"]):
        problems.append(f"{where}: time {rec['time']!r} is not RFC 3339 with ns")
    return name


def _lineage(name: str, body: dict[str, Any], proc: dict[str, Any], tok: dict[str, int],
             t: str, where: str, live: dict[int, int], dead: set[tuple[int, int]],
             problems: list[str]) -> None:
    key = (tok["pid"], tok["pidversion"])
    if name == "fork":
        child = body["child"]
        ct = _check_proc(child, where, problems)
        if ct["pid"] in live:
            problems.append(f"{where}: fork child pid {ct['pid']} is still alive")
        if child["ppid"] != tok["pid"] or _tok(child["parent_audit_token"]) != tok:
            problems.append(f"{where}: fork child's parent is not the forking process")
        if child["start_time"][:26] != t[:26]:
            problems.append(f"{where}: fork child start_time {child['start_time']} != event time")
        if tok["pid"] != 1 and (ct["asid"], ct["auid"]) != (tok["asid"], tok["auid"]):
            problems.append(f"{where}: fork child changed asid/auid without a login")
        live[ct["pid"]] = ct["pidversion"]
    elif name == "exec":
        target = body["target"]
        tt = _check_proc(target, where, problems)
        if tt["pid"] != tok["pid"] or tt["pidversion"] != tok["pidversion"] + 1:
            problems.append(f"{where}: exec target {tt['pid']}/{tt['pidversion']} is not "
                            f"{tok['pid']}/{tok['pidversion'] + 1}")
        if (tt["asid"], tt["auid"]) != (tok["asid"], tok["auid"]):
            problems.append(f"{where}: exec changed asid/auid")
        if target["ppid"] != proc["ppid"] or target["start_time"] != proc["start_time"]:
            problems.append(f"{where}: exec changed ppid or start_time")
        if body["args"] == [] or not isinstance(body["env"], list):
            problems.append(f"{where}: exec without args or env")
        dead.add(key)
        live[tok["pid"]] = tt["pidversion"]
    elif name == "exit":
        dead.add(key)
        live.pop(tok["pid"], None)
    elif name == "uipc_connect" and body["file"]["stat"]["st_mode"] & 0o170000 != 0o140000:
        problems.append(f"{where}: uipc_connect to a file that is not a socket")


# ---------------------------------------------------------------------------------------------
# Zeek


def _read_zeek(path: Path, rel: str, problems: list[str]) -> list[dict[str, str]]:
    if not path.is_file():
        problems.append(f"{rel}: missing")
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    fields: list[str] = []
    rows = []
    if not lines or lines[0] != "#separator \\x09":
        problems.append(f"{rel}:1: not a Zeek TSV log")
    heads = {ln.split("\t", 1)[0] for ln in lines if ln.startswith("#")}
    for want in ("#set_separator", "#empty_field", "#unset_field", "#path", "#open", "#fields",
                 "#types"):
        if want not in heads:
            problems.append(f"{rel}: header {want} missing")
    if not lines or not lines[-1].startswith("#close\t"):
        problems.append(f"{rel}: no #close line")
    for n, ln in enumerate(lines, 1):
        if ln.startswith("#fields\t"):
            fields = ln.split("\t")[1:]
        elif ln.startswith("#types\t") and len(ln.split("\t")) - 1 != len(fields):
            problems.append(f"{rel}:{n}: #types and #fields differ in length")
        elif not ln.startswith("#"):
            parts = ln.split("\t")
            if len(parts) != len(fields):
                problems.append(f"{rel}:{n}: {len(parts)} values for {len(fields)} fields")
                continue
            row = dict(zip(fields, parts, strict=True))
            row["_line"] = str(n)
            rows.append(row)
    return rows


def _ns(ts: str) -> int:
    sec, _, frac = ts.partition(".")
    return int(sec) * NS + int(frac.ljust(9, "0"))


def _check_zeek(out_dir: Path, problems: list[str]) -> list[dict[str, Any]]:
    conn = _read_zeek(out_dir / "zeek/conn.log", "zeek/conn.log", problems)
    ssh = _read_zeek(out_dir / "zeek/ssh.log", "zeek/ssh.log", problems)
    by_uid: dict[str, dict[str, Any]] = {}
    tuple_keys = ("id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p")
    for r in conn:
        if r["uid"] in by_uid:
            problems.append(f"zeek/conn.log:{r['_line']}: uid {r['uid']} repeated")
        dur = 0 if r["duration"] == "-" else _ns(r["duration"])
        by_uid[r["uid"]] = {**r, "start": _ns(r["ts"]), "end": _ns(r["ts"]) + dur, "ssh": None}
    for r in ssh:
        c = by_uid.get(r["uid"])
        if c is None:
            problems.append(f"zeek/ssh.log:{r['_line']}: uid {r['uid']} not in conn.log")
        elif any(c[k] != r[k] for k in tuple_keys) or "ssh" not in c["service"].split(","):
            problems.append(f"zeek/ssh.log:{r['_line']}: disagrees with conn.log on {r['uid']}")
        elif c["ssh"] is not None:
            problems.append(f"zeek/ssh.log:{r['_line']}: second ssh row for {r['uid']}")
        else:
            c["ssh"] = r
    flows = list(by_uid.values())
    for f in flows:
        if "ssh" in f["service"].split(",") and f["history"].startswith("S") and f["ssh"] is None:
            problems.append(f"zeek/conn.log:{f['_line']}: SSH session {f['uid']} has no ssh.log row")
    by_src: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in flows:
        by_src.setdefault((f["id.orig_h"], f["id.orig_p"]), []).append(f)
    for (ip, port), group in sorted(by_src.items()):
        group.sort(key=lambda f: f["start"])
        for a, b in itertools.pairwise(group):
            if b["start"] < a["end"]:
                problems.append(f"zeek/conn.log:{b['_line']}: source {ip} port {port} already in "
                                f"use by {a['uid']}")
    return flows


# ---------------------------------------------------------------------------------------------
# sshd logins


def _check_logins(out_dir: Path, manifest: dict[str, Any], flows: list[dict[str, Any]],
                  problems: list[str]) -> None:
    servers = {s["name"]: s for s in manifest.get("hosts", {}).get("servers", [])}
    year = manifest.get("capture", {}).get("year", 2026)
    removed = {(r["host"], r["src_ip"], str(r["src_port"])) for r in
               manifest.get("removed_logins", [])}
    for path in sorted(out_dir.glob("servers/*/auth.log")):
        host = path.parent.name
        rel = path.relative_to(out_dir).as_posix()
        srv = servers.get(host)
        if srv is None:
            problems.append(f"{rel}: server {host} is not in the manifest")
            continue
        skew = srv.get("clock_skew_s", 0) * NS
        accepted: dict[tuple[str, str], int] = {}
        mentioned: set[tuple[str, str]] = set()
        times: list[int] = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = _SYSLOG.match(line)
            if m is None or m["host"] != host:
                problems.append(f"{rel}:{n}: not an RFC 3164 line from {host}")
                continue
            hh, mm, ss = (int(x) for x in m["hms"].split(":"))
            t = int(datetime(year, _MONTHS[m["mon"]], int(m["day"]), hh, mm, ss,
                             tzinfo=UTC).timestamp()) * NS
            if times and t < times[-1]:
                problems.append(f"{rel}:{n}: time goes backwards")
            times.append(t)
            pm = re.search(r"(\d+\.\d+\.\d+\.\d+) port (\d+)", m["msg"])
            if pm:
                mentioned.add((pm[1], pm[2]))
            a = _ACCEPTED.match(m["msg"])
            if a:
                accepted[(a["ip"], a["port"])] = t
                flow = next((f for f in flows if f["id.orig_h"] == a["ip"]
                             and f["id.orig_p"] == a["port"] and f["id.resp_h"] == srv["ip"]
                             and -NS <= t - (f["start"] // NS * NS + skew) <= 3 * NS), None)
                if flow is None:
                    problems.append(f"{rel}:{n}: Accepted from {a['ip']} port {a['port']} has no "
                                    "Zeek flow")
        if not times:
            problems.append(f"{rel}: empty")
            continue
        for f in flows:
            if (f["id.resp_h"] != srv["ip"] or f["ssh"] is None or f["ssh"]["auth_success"] != "T"
                    or not f["history"].startswith("S")
                    or not times[0] <= f["start"] + skew <= times[-1]):
                continue
            key = (f["id.orig_h"], f["id.orig_p"])
            if (host, *key) in removed:
                if key in mentioned:
                    problems.append(f"{rel}: removed login {key} is still logged")
                if not times[0] < f["start"] + skew - 300 * NS < f["start"] + 300 * NS < times[-1]:
                    problems.append(f"{rel}: log does not span removed login {key}")
            elif key not in accepted:
                problems.append(f"{rel}: no Accepted line for flow {f['uid']} from {key[0]} port "
                                f"{key[1]}")
