"""One writer per format: eslogger JSON lines, Zeek TSV conn.log + ssh.log, sshd syslog, assets.csv.

Every writer sorts its records by time (ties by creation order), writes them, and returns where the
tagged records landed (``tag -> (relative file, 1-based line)``) so the manifest can point at them.
The eslogger writer streams: the engine flushes everything older than its clock, because no action
ever emits an event in the past.
"""

from __future__ import annotations

import bisect
import random
import time
from typing import TYPE_CHECKING

from agenttrail.simulate import _esjson as ej

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from agenttrail.simulate.world import Flow, Mac, Proc, Server

Located = dict[str, tuple[str, int]]
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class EsloggerWriter:
    """eslogger output of one Mac: ``seq_num`` per event type and ``global_seq_num`` from 0."""

    def __init__(self, path: Path, rel: str, mac: Mac, seed: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = path.open("w", encoding="utf-8", newline="\n", buffering=1 << 20)
        self.rel = rel
        self.mac = mac
        self.rng = random.Random(f"{seed}/eslogger/{mac.name}")
        self.buf: list[tuple[int, int, str, str, str, int, str | None]] = []
        self.n = 0
        self.watermark = 0
        self.gseq = 0
        self.seq: dict[str, int] = {}
        self.lines = 0
        self.last_t = 0
        self.located: Located = {}

    def add(self, t: int, name: str, proc: Proc, body: str, tag: str | None = None) -> None:
        """Queue one event by ``proc`` at ``t`` (rendered now: the process may change later)."""
        if t < self.watermark:
            raise ValueError(f"event {name} at {t} is older than the flushed watermark")
        self.n += 1
        self.buf.append((t, self.n, name, ej.proc_json(proc), body, proc.thread_id, tag))

    def flush(self, before: int | None = None) -> None:
        """Write every queued event older than ``before`` (all of them when None)."""
        if not self.buf:
            return
        self.buf.sort()
        if before is None:
            out, self.buf = self.buf, []
        else:
            self.watermark = max(self.watermark, before)
            cut = bisect.bisect_left(self.buf, before, key=lambda e: e[0])
            out, self.buf = self.buf[:cut], self.buf[cut:]
        boot = self.mac.boot_ns
        rnd = self.rng.random
        orders = ej.ENVELOPE_ORDERS
        chunk = []
        for t, _, name, pj, body, thread, tag in out:
            seq = self.seq.get(name, 0)
            self.seq[name] = seq + 1
            vals = {
                "schema_version": "1", "version": "9", "time": f'"{ej.iso_ns(t)}"',
                "mach_time": str((t - boot) * 3 // 125), "event_type": str(ej.EVENT_TYPES[name]),
                "action_type": "1", "action": ej.ACTIONS[rnd() < 0.5], "seq_num": str(seq),
                "global_seq_num": str(self.gseq), "thread": f'{{"thread_id":{thread}}}',
                "process": pj, "event": body,
            }
            self.gseq += 1
            order = orders[int(rnd() * len(orders))]
            line = "{" + ",".join([f'"{k}":{vals[k]}' for k in order]) + "}"
            chunk.append(line.replace("/", "\\/"))
            self.lines += 1
            self.last_t = t
            if tag is not None:
                self.located[tag] = (self.rel, self.lines)
        self.fh.write("\n".join(chunk) + "\n")

    def close(self) -> Located:
        self.flush(None)
        self.fh.close()
        return self.located


# ---------------------------------------------------------------------------------------------
# Zeek

CONN_FIELDS = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
    "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp",
    "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
    "tunnel_parents",
)
CONN_TYPES = (
    "time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count",
    "count", "string", "bool", "bool", "count", "string", "count", "count", "count", "count",
    "set[string]",
)
SSH_FIELDS = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version", "auth_success",
    "auth_attempts", "direction", "client", "server", "cipher_alg", "mac_alg", "compression_alg",
    "kex_alg", "host_key_alg", "host_key",
)
SSH_TYPES = (
    "time", "string", "addr", "port", "addr", "port", "count", "bool", "count", "enum", "string",
    "string", "string", "string", "string", "string", "string", "string",
)


def zeek_time(t_ns: int) -> str:
    sec, frac = divmod(t_ns, 1_000_000_000)
    return f"{sec}.{frac // 1000:06d}"


def _zeek_stamp(t_ns: int) -> str:
    return time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(t_ns // 1_000_000_000))


def _zeek_file(path: Path, name: str, fields: Sequence[str], types: Sequence[str], rows: list[str],
               t_open: int, t_close: int) -> None:
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-",
            f"#path\t{name}", f"#open\t{_zeek_stamp(t_open)}", "#fields\t" + "\t".join(fields),
            "#types\t" + "\t".join(types)]
    path.write_text("\n".join([*head, *rows, f"#close\t{_zeek_stamp(t_close)}"]) + "\n",
                    encoding="utf-8")


def _b(v: bool | None) -> str:
    return "-" if v is None else ("T" if v else "F")


def write_zeek(out_dir: Path, flows: list[Flow], t_open: int) -> Located:
    """``zeek/conn.log`` (rows in the order Zeek writes them: by connection end) and ``ssh.log``."""
    zdir = out_dir / "zeek"
    zdir.mkdir(parents=True, exist_ok=True)
    located: Located = {}
    conn_rows = []
    hdr = 8
    t_close = max((f.end for f in flows), default=t_open) + 5_000_000_000
    for i, f in enumerate(sorted(flows, key=lambda f: (f.end, f.start, f.uid))):
        hdr_ip = 28 if f.proto == "udp" else 52
        dur = f.end - f.start
        conn_rows.append("\t".join([
            zeek_time(f.start), f.uid, f.src_ip, str(f.src_port), f.dst_ip, str(f.dst_port),
            f.proto, f.service or "-", f"{dur // 1_000_000_000}.{dur % 1_000_000_000 // 1000:06d}",
            str(f.orig_bytes), str(f.resp_bytes), f.state, _b(f.local_orig), _b(f.local_resp), "0",
            f.history, str(f.orig_pkts), str(f.orig_bytes + hdr_ip * f.orig_pkts),
            str(f.resp_pkts), str(f.resp_bytes + hdr_ip * f.resp_pkts), "-"]))
        if f.tag:
            located[f.tag + ":conn"] = ("zeek/conn.log", hdr + i + 1)
    ssh_rows = []
    ssh_flows = sorted((f for f in flows if f.ssh is not None), key=lambda f: (f.ssh["ts"], f.uid))
    for i, f in enumerate(ssh_flows):
        s = f.ssh
        ssh_rows.append("\t".join([
            zeek_time(s["ts"]), f.uid, f.src_ip, str(f.src_port), f.dst_ip, str(f.dst_port),
            str(s.get("version", 2)), _b(s.get("auth_success")), str(s.get("auth_attempts", 0)),
            s.get("direction") or "-", s.get("client") or "-", s.get("server") or "-",
            s.get("cipher", "chacha20-poly1305@openssh.com"), s.get("mac", "umac-64-etm@openssh.com"),
            "none", s.get("kex", "sntrup761x25519-sha512@openssh.com"), "ssh-ed25519",
            s.get("host_key", "-")]))
        if f.tag:
            located[f.tag + ":ssh"] = ("zeek/ssh.log", hdr + i + 1)
    _zeek_file(zdir / "conn.log", "conn", CONN_FIELDS, CONN_TYPES, conn_rows, t_open, t_close)
    _zeek_file(zdir / "ssh.log", "ssh", SSH_FIELDS, SSH_TYPES, ssh_rows, t_open, t_close)
    return located


# ---------------------------------------------------------------------------------------------
# sshd syslog (RFC 3164, one file per server)


def syslog_stamp(t_ns: int) -> str:
    """``Mar  2 09:17:01`` (RFC 3164: no year, no zone, space-padded day)."""
    tm = time.gmtime(t_ns // 1_000_000_000)
    return f"{_MONTHS[tm.tm_mon - 1]} {tm.tm_mday:>2} {tm.tm_hour:02}:{tm.tm_min:02}:{tm.tm_sec:02}"


def write_auth_log(out_dir: Path, srv: Server) -> tuple[Located, int]:
    """``servers/<name>/auth.log``; returns the tagged lines and the last line's time."""
    rel = f"servers/{srv.name}/auth.log"
    path = out_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    located: Located = {}
    out = []
    lines = sorted(srv.lines)
    for i, (t, _, program, pid, message, tag) in enumerate(lines):
        proc = program if pid is None else f"{program}[{pid}]"
        out.append(f"{syslog_stamp(t)} {srv.name} {proc}: {message}")
        if tag:
            located[tag] = (rel, i + 1)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return located, (lines[-1][0] if lines else 0)


def write_assets(out_dir: Path, rows: list[tuple[str, str, str, str]]) -> None:
    """``assets.csv``: ``host,ip,valid_from,valid_to`` (empty validity: always)."""
    text = "host,ip,valid_from,valid_to\n" + "".join(f"{h},{ip},{a},{b}\n" for h, ip, a, b in rows)
    (out_dir / "assets.csv").write_text(text, encoding="utf-8")
