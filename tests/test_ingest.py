"""Input handling end to end: damaged beginnings, truncated and oversized gzip, links, special
files and unreadable folders, host names from paths, files named twice, option and config
checking, empty inputs, earlier outputs among the inputs, and the terminal's grouping.

Every input here is constructed by the test (the lineage hijack case of ``tests/cases`` and lines
written below); expected counts are worked out from what the test wrote, not from the reader.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import zlib
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail import ingest as ingest_mod
from agenttrail import inputs
from agenttrail.ingest import host_from_path
from agenttrail.readers import _io, sshd_syslog
from agenttrail.readers._io import ReadContext, gunzip
from tests import casekit
from tests.test_hunt import CASES, run

ACCEPTED = ("Mar  2 09:01:41 db1 sshd[5001]: Accepted publickey for alice from 10.10.0.7 port "
            "50211 ssh2: ED25519 SHA256:k1kjhwoH/H3w31MbGOIGd7qxrkSQJnoAN0eYJVHDmmI")
CLOSED = "Mar  2 09:02:00 db1 sshd[5001]: Connection closed by 10.10.0.7 port 50211"


def _case(tmp: Path, name: str = "hijack_lateral_lineage") -> tuple[Path, list[str]]:
    inputs_dir = tmp / "in"
    return inputs_dir, casekit.render(casekit.load(CASES / f"{name}.toml"), inputs_dir)


def _hunt(*args: str, out: Path) -> tuple[int, str, dict[str, Any]]:
    code, output = run("hunt", *args, "-o", str(out))
    report = json.loads((out / "report.json").read_text())
    return code, " ".join(output.split()), report


def _files(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in report["inputs"]["files"]}


def _counts(f: dict[str, Any]) -> tuple[int, int, int, int, int, int]:
    """(read, normalised, skipped by type, meta, malformed, unread), checking the identity."""
    skipped = sum(f["skipped_by_type"].values())
    assert f["read"] == f["normalised"] + skipped + f["meta"] + f["malformed"] + f["unread"], f
    return f["read"], f["normalised"], skipped, f["meta"], f["malformed"], f["unread"]


def _issues(f: dict[str, Any]) -> list[tuple[int | None, str, str]]:
    return [(i["line"], i["kind"], i["message"]) for i in f["issues"]]


def _flat(text: str) -> str:
    return " ".join(text.split())


# --- 1. a damaged beginning does not make a whole file unread --------------------------------

def test_a_2mb_first_line_before_eslogger_records_is_one_malformed_line(tmp_path: Path) -> None:
    inputs_dir, opts = _case(tmp_path)
    es = inputs_dir / "macs" / "mac-shared" / "eslogger.jsonl"
    records = es.read_bytes()
    es.write_bytes(b"x" * 2_000_000 + b"\n" + records)
    code, _, report = _hunt(str(inputs_dir), *opts, out=tmp_path / "out")
    assert code == 1  # the hijack is still found
    acc = _files(report)["macs/mac-shared/eslogger.jsonl"]
    assert acc["format"] == "eslogger" and acc["details"]["recognised_from_line"] == 2
    n = records.count(b"\n")  # 7 records, all read
    assert _counts(acc) == (n + 1, n, 0, 0, 1, 0)
    assert _issues(acc) == [(1, "malformed", "line of 2000001 bytes is longer than the limit of "
                             "1048576 bytes; skipped")]
    assert [i["rule_id"] for i in report["incidents"]] == ["agent_hijack_lateral_ssh"]


def test_six_junk_lines_before_an_auth_log_are_malformed_with_their_lines(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    junk = "".join(f"-- export page {i} --\n" for i in range(1, 7))
    log.write_text(junk + ACCEPTED + "\n" + CLOSED + "\n" + CLOSED.replace("09:02", "09:03") + "\n")
    code, _, report = _hunt(str(log), "--collected-at", "2026-03-02T18:00:00Z",
                            out=tmp_path / "out")
    assert code == 0
    acc = _files(report)["auth.log"]
    # recognised from the head starting at line 5: three of its five lines are syslog lines
    assert acc["format"] == "sshd_syslog" and acc["details"]["recognised_from_line"] == 5
    assert _counts(acc) == (9, 3, 0, 0, 6, 0)
    assert _issues(acc) == [(i, "malformed", "no syslog envelope (timestamp, host, program[pid]:)")
                            for i in range(1, 7)]


def test_sniff_windows_skip_long_lines_and_need_three_lines(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"y" * 5000 + b"\nA\nB\n\nC\nD\n")
    heads = list(_io.sniff_windows(path, max_line_bytes=1000))
    # line 1 (5000 bytes) is skipped; a head needs three non-blank lines, so none starts at 4
    assert heads == [(2, b"A\nB\n\nC\nD\n"), (3, b"B\n\nC\nD\n")]


# --- 2 and 11. gzip: truncated, damaged, limits, streaming -------------------------------------

def _auth_lines(n: int) -> bytes:
    return b"".join(
        f"Mar  2 09:{i // 60 % 60:02d}:{i % 60:02d} db1 sshd[{5000 + i}]: Connection closed by "
        f"10.10.0.7 port {20000 + i}\n".encode() for i in range(n))


def _conn_log(n: int) -> bytes:
    flows = [{"t": 10.0 + i, "uid": f"C{i:08d}", "src": f"10.10.0.7:{20000 + i}",
              "dst": "10.20.0.5:22"} for i in range(n)]
    return casekit.zeek_logs(flows)[0].encode()


@pytest.mark.parametrize(("name", "plain", "meta"), [
    ("auth.log.gz", _auth_lines(3000), 0),
    ("conn.log.gz", _conn_log(3000), 8),  # the eight '#' header lines of a Zeek TSV log
])
def test_a_truncated_gz_keeps_what_decompressed_and_reports_the_cut_line_once(
        tmp_path: Path, name: str, plain: bytes, meta: int) -> None:
    whole = gzip.compress(plain, mtime=0)
    cut = whole[:20000]  # as `gzip -c conn.log | head -c 20000`
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / name).write_bytes(cut)
    prefix = zlib.decompressobj(wbits=31).decompress(cut)  # what decompresses, independently
    complete = prefix.count(b"\n")
    assert not prefix.endswith(b"\n") and complete > 100
    code, _, report = _hunt(str(tmp_path / "in"), "--collected-at", "2026-03-02T18:00:00Z",
                            out=tmp_path / "out")
    assert code == 0
    acc = _files(report)[name]
    assert _counts(acc) == (complete + 1, complete - meta, 0, meta, 1, 0)
    [issue] = acc["issues"]
    assert (issue["line"], issue["kind"]) == (complete + 1, "malformed")
    partial = len(prefix) - prefix.rfind(b"\n") - 1
    assert issue["message"] == (
        f"gzip stream truncated: the compressed data ends after {len(prefix)} decompressed bytes;"
        f" the rest of the file is lost; the last line ({partial} bytes) is incomplete")
    assert issue["excerpt"] == prefix[prefix.rfind(b"\n") + 1:].decode()


def test_data_after_a_complete_gzip_stream_is_a_warning_and_every_line_is_read(
        tmp_path: Path) -> None:
    plain = _auth_lines(5).rstrip(b"\n")  # no final newline: the last line is still whole
    (tmp_path / "a.log.gz").write_bytes(gzip.compress(plain, mtime=0) + b"junk")
    code, _, report = _hunt(str(tmp_path / "a.log.gz"), "--collected-at",
                            "2026-03-02T18:00:00Z", out=tmp_path / "out")
    acc = _files(report)["a.log.gz"]
    assert (code, _counts(acc)) == (0, (5, 5, 0, 0, 0, 0))
    assert _issues(acc) == [
        (None, "warning", "4 bytes after the end of the gzip data are not gzip; ignored")]


def test_decompressed_size_limit_names_the_option(tmp_path: Path) -> None:
    plain = _auth_lines(40_000)  # about 3 MB, compresses far below 1000x
    (tmp_path / "big.log.gz").write_bytes(gzip.compress(plain, mtime=0))
    code, _, report = _hunt(str(tmp_path / "big.log.gz"), "--max-decompressed-bytes", "1MiB",
                            "--collected-at", "2026-03-02T18:00:00Z", out=tmp_path / "out")
    assert code == 0
    acc = _files(report)["big.log.gz"]
    complete = plain[: 1 << 20].count(b"\n")
    assert _counts(acc) == (complete + 1, complete, 0, 0, 0, 1)
    [issue] = acc["issues"]
    assert (issue["line"], issue["kind"]) == (complete + 1, "unread")
    assert issue["message"].startswith(
        "decompressed size reached the limit of 1 MiB (--max-decompressed-bytes); the rest of the "
        "file is not read; the last line (")
    assert issue["hint"] == ("raise --max-decompressed-bytes, or decompress it and give the plain "
                             "file")


@pytest.mark.parametrize(("name", "data", "stop", "size"), [
    ("two members", gzip.compress(b"a\n", mtime=0) + gzip.compress(b"b\n", mtime=0), None, 4),
    ("NUL padding", gzip.compress(b"a\n", mtime=0) + b"\0" * 700, None, 2),
    ("garbage after", gzip.compress(b"a\n", mtime=0) + b"junk", "trailing", 2),
    ("magic only", b"\x1f\x8b", "truncated", 0),
    ("not deflate", b"\x1f\x8b\x08\x00" + b"\xff" * 40, "damaged", 0),
], ids=lambda v: v if isinstance(v, str) else "")
def test_gunzip_stops(tmp_path: Path, name: str, data: bytes, stop: str | None,
                      size: int) -> None:
    src = tmp_path / "x.gz"
    src.write_bytes(data)
    result = gunzip(src, tmp_path)
    assert (result.stop, result.size, result.path.stat().st_size) == (stop, size, size), name


def test_gunzip_ratio_cap_and_bounded_chunks(tmp_path: Path) -> None:
    src = tmp_path / "bomb.gz"
    src.write_bytes(gzip.compress(b"\0" * (64 << 20), mtime=0))
    chunks: list[int] = []
    with src.open("rb") as f:
        written, stop, _ = _io._inflate(f.read, lambda b: chunks.append(len(b)), 1 << 62)
    assert (written, stop) == (64 << 20, None)
    assert max(chunks) <= _io._GZ_OUT  # streamed: never more than one chunk in memory
    result = gunzip(src, tmp_path)
    limit = src.stat().st_size * 1000
    assert (result.stop, result.size) == ("ratio", limit)
    assert result.message == (
        f"decompressed size passed 1000x the compressed size ({limit / (1 << 20):.1f} MiB "
        f"({limit} bytes); a gzip bomb?); the rest of the file is not read")


def test_damaged_gz_keeps_the_data_before_the_damage(tmp_path: Path) -> None:
    plain = _auth_lines(2000)
    data = bytearray(gzip.compress(plain, mtime=0))
    data[40:60] = b"\xff" * 20  # early damage
    src = tmp_path / "d.gz"
    src.write_bytes(bytes(data))
    result = gunzip(src, tmp_path)
    assert result.stop == "damaged"
    assert result.message and result.message.startswith("gzip stream damaged after ")
    assert plain.startswith(result.path.read_bytes())


# --- 3. links, loops, special files; temporary folders ----------------------------------------

def _tree_with_oddities(root: Path) -> None:
    (root / "sub").mkdir(parents=True)
    (root / "auth.log").write_text(ACCEPTED + "\n")
    (root / "sub" / "up").symlink_to("..")  # a loop through a folder link
    (root / "a").symlink_to("b")
    (root / "b").symlink_to("a")  # a file link loop
    (root / "dangling").symlink_to("nowhere.log")
    os.mkfifo(root / "fifo")
    (root / "fifo-link").symlink_to("fifo")
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(root / "sock"))
    s.close()


def test_links_loops_and_special_files_in_a_folder(tmp_path: Path) -> None:
    root = tmp_path / "in"
    _tree_with_oddities(root)
    out = tmp_path / "out"
    # a separate process with a timeout: reading a FIFO would hang
    proc = subprocess.run(
        [sys.executable, "-m", "agenttrail.cli", "hunt", str(root), "-o", str(out),
         "--collected-at", "2026-03-02T18:00:00Z"],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    files = _files(json.loads((out / "report.json").read_text()))
    fifo_hint = ("only regular files (and links to them) are read from folders; copy the data "
                 "into a file, or give a pipe on the command line")
    loop_hint = "the link leads back to itself through other links; fix or remove it"
    want = {
        "a": ("file", "symbolic link loop (-> b); skipped", loop_hint),
        "b": ("file", "symbolic link loop (-> a); skipped", loop_hint),
        "dangling": ("file", "dangling symbolic link: its target nowhere.log does not exist; "
                     "skipped", "fix the link or remove it"),
        "fifo": ("file", "a named pipe (FIFO), not a regular file; skipped", fifo_hint),
        "fifo-link": ("file", "a named pipe (FIFO), not a regular file; skipped", fifo_hint),
        "sock": ("file", "a socket, not a regular file; skipped", fifo_hint),
        "sub/up": ("warning", "link to a folder that contains it (a loop); not followed",
                   "remove the link, or give the folder it points to"),
    }
    for path, (kind, message, hint) in want.items():
        [issue] = files[path]["issues"]
        assert (issue["kind"], issue["message"], issue["hint"]) == (kind, message, hint), path
        assert files[path]["read"] == 0
    assert _counts(files["auth.log"]) == (1, 1, 0, 0, 0, 0)
    assert sorted(files) == ["a", "auth.log", "b", "dangling", "fifo", "fifo-link", "sock",
                             "sub/up"]


def test_a_named_pipe_given_on_the_command_line_is_read(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)

    def feed() -> None:
        with pipe.open("w") as w:
            w.write(ACCEPTED + "\n")

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    proc = subprocess.run(
        [sys.executable, "-m", "agenttrail.cli", "hunt", str(pipe), "-o", str(tmp_path / "out"),
         "--collected-at", "2026-03-02T18:00:00Z"],
        capture_output=True, text=True, timeout=300, check=False)
    writer.join(5)
    assert proc.returncode == 0, proc.stderr
    acc = _files(json.loads((tmp_path / "out" / "report.json").read_text()))["pipe"]
    assert (acc["format"], *_counts(acc)) == ("sshd_syslog", 1, 1, 0, 0, 0, 0)


def test_a_reader_failure_is_an_issue_and_temp_folders_are_removed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(ctx: ReadContext) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(sshd_syslog, "read", boom)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    inputs_dir, opts = _case(tmp_path)
    (inputs_dir / "zeek" / "conn.log.gz").write_bytes(
        gzip.compress((inputs_dir / "zeek" / "conn.log").read_bytes()))
    (inputs_dir / "zeek" / "conn.log").unlink()
    code, _, report = _hunt(str(inputs_dir), *opts, out=tmp_path / "out")
    assert code == 1  # the hijack is still found from the endpoint and the flow
    acc = _files(report)["servers/db1/auth.log"]
    assert _counts(acc) == (3, 0, 0, 0, 0, 3)
    assert _issues(acc) == [(None, "file", "the sshd_syslog reader failed (RuntimeError: boom); "
                                           "file not read")]
    assert list(temp.iterdir()) == []


# --- 4. folders that cannot be listed ------------------------------------------------------------

def test_an_unreadable_folder_is_an_issue_with_its_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "in"
    (root / "locked").mkdir(parents=True)
    (root / "auth.log").write_text(ACCEPTED + "\n")
    real = os.scandir

    def scandir(path: Any) -> Any:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(inputs.os, "scandir", scandir)
    code, _, report = _hunt(str(root), "--collected-at", "2026-03-02T18:00:00Z",
                            out=tmp_path / "out")
    assert code == 0
    [issue] = _files(report)["locked"]["issues"]
    assert (issue["kind"], issue["message"], issue["hint"]) == (
        "file", "folder cannot be listed (Permission denied); its files are not read",
        "check permissions (run as a user who may read it)")


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv to drop privileges")
def test_an_unreadable_folder_without_privileges(tmp_path: Path) -> None:
    root = tmp_path / "in"
    (root / "locked").mkdir(parents=True)
    (root / "locked" / "auth.log").write_text(ACCEPTED + "\n")
    (root / "auth.log").write_text(ACCEPTED + "\n")
    (root / "locked").chmod(0)
    try:
        cmd = [sys.executable, "-m", "agenttrail.cli", "hunt", str(root), "-o",
               str(tmp_path / "out"), "--collected-at", "2026-03-02T18:00:00Z"]
        if os.geteuid() == 0:  # root reads anything: drop the capabilities that allow it
            cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    finally:
        (root / "locked").chmod(0o755)
    if "setpriv" in proc.stderr:
        pytest.skip(f"capabilities cannot be dropped here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    files = _files(json.loads((tmp_path / "out" / "report.json").read_text()))
    assert _issues(files["locked"]) == [
        (None, "file", "folder cannot be listed (Permission denied); its files are not read")]
    assert "locked/auth.log" not in files


# --- 5. host from the path ---------------------------------------------------------------------

@pytest.mark.parametrize(("template", "path", "host"), [
    ("macs/{host}/*", "/data/macs/mac-1/eslogger.jsonl", "mac-1"),
    ("macs/{host}/*", "/data/exports/mac-1/eslogger.jsonl", None),
    ("{host}/eslogger.jsonl", "/x/mac-2/eslogger.jsonl", "mac-2"),
    ("{host}-es.jsonl", "/x/mac-3-es.jsonl", "mac-3"),
    ("a/b/c/d/{host}/*", "/d/h/f", None),
])
def test_host_from_path_matches_trailing_components(template: str, path: str,
                                                    host: str | None) -> None:
    assert host_from_path(template, path) == host


def test_host_template_matches_the_path_as_given_not_the_relative_one(tmp_path: Path) -> None:
    inputs_dir, _ = _case(tmp_path)
    macs = inputs_dir / "macs"
    es = macs / "mac-shared" / "eslogger.jsonl"
    for i, given in enumerate((macs, es)):
        code, _, report = _hunt(str(given), "--host-from-path", "macs/{host}/*",
                                out=tmp_path / f"out{i}")
        [acc] = report["inputs"]["files"]
        assert (acc["host"], acc["normalised"], acc["unread"]) == ("mac-shared", 7, 0), given
    code, output, report = _hunt(str(es), "--host-from-path", "hosts/{host}/*",
                                 out=tmp_path / "out2")
    assert code == 3
    message = ("eslogger records carry no host name and --host-from-path 'hosts/{host}/*' does not "
               "match this file's path (…/in/macs/mac-shared/eslogger.jsonl); file not read")
    assert _issues(report["inputs"]["files"][0]) == [(None, "file", message)]
    assert f"error: no input could be read: eslogger.jsonl: {message}" in output
    code, output, report = _hunt(str(es), out=tmp_path / "out3")
    assert _issues(report["inputs"]["files"][0]) == [
        (None, "file", "eslogger records carry no host name and none was given; file not read")]


# --- 6. one file under several names -------------------------------------------------------------

def test_a_file_given_twice_or_through_links_is_read_once(tmp_path: Path) -> None:
    inputs_dir, opts = _case(tmp_path)
    conn = inputs_dir / "zeek" / "conn.log"
    code, _, once = _hunt(str(inputs_dir), *opts, out=tmp_path / "once")
    code2, _, twice = _hunt(str(inputs_dir), str(conn), *opts, out=tmp_path / "twice")
    assert code == code2 == 1
    assert once["inputs"] == twice["inputs"]
    (inputs_dir / "links").mkdir()
    (inputs_dir / "links" / "l1.log").symlink_to(conn)
    (inputs_dir / "links" / "l2.log").symlink_to(conn)
    code, _, report = _hunt(str(inputs_dir), *opts, out=tmp_path / "links")
    files = _files(report)
    assert "links/l1.log" not in files and "links/l2.log" not in files
    assert files["zeek/conn.log"]["details"]["also_named"] == ["links/l1.log", "links/l2.log"]
    assert files["zeek/conn.log"]["read"] == _files(once)["zeek/conn.log"]["read"]
    assert report["inputs"]["totals"]["duplicates"] == 0


def test_copies_are_both_read_and_name_each_other(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "auth.log").write_text(ACCEPTED + "\n")
    shutil.copy(tmp_path / "a" / "auth.log", tmp_path / "a" / "fwd.log")
    code, _, report = _hunt(str(tmp_path / "a"), "--collected-at", "2026-03-02T18:00:00Z",
                            out=tmp_path / "out")
    assert code == 0
    files = _files(report)
    assert files["auth.log"]["details"]["same_content_as"] == ["fwd.log"]
    assert files["fwd.log"]["details"]["same_content_as"] == ["auth.log"]
    assert (files["auth.log"]["read"], files["fwd.log"]["read"]) == (1, 1)
    assert report["inputs"]["totals"]["duplicates"] == 1  # the copy's record is merged


def test_links_keep_their_names_for_the_report_root_and_host(tmp_path: Path) -> None:
    inputs_dir, _ = _case(tmp_path)
    store = tmp_path / "store"
    store.mkdir()
    shutil.move(str(inputs_dir / "macs" / "mac-shared" / "eslogger.jsonl"), store / "blob1")
    view = tmp_path / "view" / "macs" / "mac-shared"
    view.mkdir(parents=True)
    (view / "eslogger.jsonl").symlink_to(store / "blob1")
    code, _, report = _hunt(str(tmp_path / "view"), "--host-from-path", "macs/{host}/*",
                            out=tmp_path / "out")
    [acc] = report["inputs"]["files"]
    assert (acc["path"], acc["host"], acc["normalised"]) == ("eslogger.jsonl", "mac-shared", 7)
    assert code == 1  # the endpoint alone shows the socket taken


# --- 7. options and config --------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["--memory-limit", "lots"], "--memory-limit 'lots' is not a size (e.g. 4GB, 512MiB)"),
    (["--max-line-bytes", "-1"], "--max-line-bytes -1 must be between 1 and 1073741824 (1 GiB)"),
    (["--max-line-bytes", "0"], "--max-line-bytes 0 must be between 1 and 1073741824 (1 GiB)"),
    (["--threads", "0"], "--threads 0 must be at least 1"),
    (["--since", "2026-03-03T00:00:00Z", "--until", "2026-03-02T00:00:00Z"],
     "--since is later than --until"),
    (["--year", "1969"], "--year 1969 is outside 1970-9999"),
    (["--year", "10000"], "--year 10000 is outside 1970-9999"),
    (["--host-from-path", "macs/*"], "--host-from-path 'macs/*' has no {host} (e.g. 'macs/{host}/*')"),
    (["--max-decompressed-bytes", "lots"],
     "--max-decompressed-bytes 'lots' is not a positive size (e.g. 4GiB or 4294967296)"),
    (["--max-decompressed-bytes", "0"],
     "--max-decompressed-bytes '0' is not a positive size (e.g. 4GiB or 4294967296)"),
])
def test_bad_options_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    log = tmp_path / "auth.log"
    log.write_text(ACCEPTED + "\n")
    code, output = run("hunt", str(log), *args)
    assert code == 2
    assert _flat(output) == f"error: {message}"


def test_output_must_be_a_writable_folder(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text(ACCEPTED + "\n")
    code, output = run("hunt", str(log), "-o", str(log))
    assert (code, _flat(output)) == (2, f"error: -o {log} is a file; give a folder for the outputs")
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    code, output = run("hunt", str(log), "-o", str(blocked / "out"))
    assert code == 2
    assert _flat(output) == f"error: -o {blocked / 'out'}: cannot write there (Not a directory)"


@pytest.mark.parametrize(("rows", "message"), [
    ("db1,10.0.0.1,yesterday,\n",
     "{csv}:2: 'yesterday' is not an ISO 8601 time (e.g. 2026-03-02T09:00:00Z)"),
    ("db1,10.0.0.1,2026-03-02T00:00:00Z,2026-03-01T00:00:00Z\n",
     "{csv}:2: valid_from is later than valid_to"),
])
def test_bad_assets_exit_2_with_file_and_line(tmp_path: Path, rows: str, message: str) -> None:
    log = tmp_path / "auth.log"
    log.write_text(ACCEPTED + "\n")
    csv = tmp_path / "assets.csv"
    csv.write_text("host,ip,valid_from,valid_to\n" + rows)
    code, output = run("hunt", str(log), "--assets", str(csv), "-o", str(tmp_path / "out"))
    assert (code, _flat(output)) == (2, "error: " + message.format(csv=csv))
    assert not (tmp_path / "out").exists()  # checked before the output folder is made


def test_config_reports_every_error_with_its_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[network]\n'                              # 1
        'ssh_ports = [22, "2222", 70000]\n'         # 2
        'auth_min_pkts = -5\n'                      # 3
        'auth_min_bytes = true\n'                   # 4
        '\n'                                        # 5
        '[hosts."db1"]\n'                           # 6
        'tz = "Mars/Olympus"\n'                     # 7
        'addresses = ["10.0.0.300"]\n'              # 8
        '\n'                                        # 9
        '[windows]\n'                               # 10
        'time_windw = 60\n'                         # 11
        'login_grace = -1\n')                       # 12
    code, output = run("config", "validate", str(cfg))
    assert code == 2
    assert _flat(output) == _flat(" ".join([
        f"error: {cfg}:2: [network] ssh_ports[1] must be an integer, not a string ('2222')",
        f"error: {cfg}:2: [network] ssh_ports[2] 70000 is not a port (1-65535)",
        f"error: {cfg}:3: [network] auth_min_pkts must not be negative (is -5)",
        f"error: {cfg}:4: [network] auth_min_bytes must be an integer, not a boolean (true)",
        f"error: {cfg}:7: [hosts.\"db1\"] tz 'Mars/Olympus' is not an IANA zone (e.g. "
        "Europe/Berlin)",
        f"error: {cfg}:8: [hosts.\"db1\"] addresses[0] '10.0.0.300' is not an address or network "
        "(e.g. 10.0.0.0/8)",
        f"error: {cfg}:11: unknown key 'time_windw' in [windows]",
        f"error: {cfg}:12: [windows] login_grace must not be negative (is -1)",
    ]))
    log = tmp_path / "auth.log"
    log.write_text(ACCEPTED + "\n")
    code, hunt_output = run("hunt", str(log), "--config", str(cfg))
    assert code == 2 and _flat(hunt_output) == _flat(output)


# --- 8 and 9. sshd_syslog: a cut last line, bytes that are not UTF-8 --------------------------

def _syslog(tmp_path: Path, data: bytes) -> Any:
    path = tmp_path / "auth.log"
    path.write_bytes(data)
    ctx = ReadContext(path=path, rel="auth.log", con=duckdb.connect(),
                      anchor_us=casekit.BASE_US + 3600 * 1_000_000)
    result = sshd_syslog.read(ctx)
    assert result.account.balanced()
    return result.account


CUT = "truncated last line: no final newline and the record is incomplete"


@pytest.mark.parametrize(("last", "malformed", "normalised"), [
    (ACCEPTED[:60], 1, 1),                                  # cut inside the message
    (ACCEPTED[:-10], 1, 1),                                 # cut inside the fingerprint
    (ACCEPTED.split(" ssh2")[0], 1, 1),                     # cut before "ssh2"
    (ACCEPTED[:12], 1, 1),                                  # cut inside the timestamp
    (ACCEPTED, 0, 2),                                       # whole, only the newline missing
    (CLOSED, 0, 2),                                         # whole
    ("Mar  2 09:03:00 db1 CRON[1]: (root) CMD (run-p", 0, 1),  # another program: not judged
], ids=["message", "fingerprint", "ssh2", "timestamp", "accepted-whole", "closed-whole", "cron"])
def test_a_cut_last_line_is_malformed(tmp_path: Path, last: str, malformed: int,
                                      normalised: int) -> None:
    account = _syslog(tmp_path, (CLOSED + "\n" + last).encode())
    assert (account.read, account.normalised, account.malformed) == (2, normalised, malformed)
    cut = [(i.line, i.kind, i.message) for i in account.issues if i.message == CUT]
    assert cut == ([(2, "malformed", CUT)] if malformed else [])
    if malformed:
        assert account.issues[-1].excerpt == _io.excerpt(last)


def test_lines_that_are_not_utf8_get_an_issue_with_their_line(tmp_path: Path) -> None:
    bad = b"Mar  2 09:01:41 db1 sshd[5001]: Invalid user b\xe9b from 10.10.0.7 port 50211"
    account = _syslog(tmp_path, CLOSED.encode() + b"\n" + bad + b"\n" + CLOSED.encode() + b"\n")
    assert (account.read, account.normalised, account.malformed) == (3, 3, 0)
    assert [(i.line, i.kind, i.message, i.excerpt) for i in account.issues] == [
        (2, "warning", "line is not valid UTF-8; read as Latin-1", bad.decode("latin-1"))]
    many = b"".join(bad + b"\n" for _ in range(25))
    account = _syslog(tmp_path, many)
    assert account.details["not_utf8_lines"] == 25
    assert [i.line for i in account.issues] == list(range(1, 22))
    assert account.issues[-1].message == ("5 more lines are not valid UTF-8 (from this one on); "
                                          "read as Latin-1")


# --- 10. nothing to read --------------------------------------------------------------------------

def test_an_empty_input_exits_3_naming_the_file(tmp_path: Path) -> None:
    empty = tmp_path / "e.log"
    empty.write_text("")
    code, output, report = _hunt(str(empty), out=tmp_path / "out")
    assert code == 3
    assert "error: no input could be read: e.log: empty file: nothing to read" in output
    assert _issues(report["inputs"]["files"][0]) == [(None, "warning",
                                                      "empty file: nothing to read")]
    (tmp_path / "e.gz").write_bytes(gzip.compress(b""))
    code, output = run("hunt", str(tmp_path / "e.gz"))
    assert code == 3 and ("e.gz: the gzip data decompresses to nothing: nothing to read"
                          in _flat(output))
    folder = tmp_path / "nothing"
    folder.mkdir()
    code, output = run("hunt", str(folder))
    assert code == 3 and "error: no input could be read: no files found in the paths given" in (
        _flat(output))


def test_strict_names_the_files_with_issues(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text("junk\n" + ACCEPTED + "\n")
    code, output = run("hunt", str(log), "--strict", "--input-format", "sshd_syslog")
    assert code == 3
    assert "error: --strict: 1 input file(s) had issues: auth.log; see report.json" in _flat(output)


# --- 12. outputs among the inputs ---------------------------------------------------------------

def test_outputs_inside_the_inputs_are_skipped_not_read(tmp_path: Path) -> None:
    inputs_dir, opts = _case(tmp_path)
    out = inputs_dir / "out"
    code, _, first = _hunt(str(inputs_dir), *opts, out=out)
    assert code == 1
    (inputs_dir / "MANIFEST.json").write_text('{\n  "generator": "agenttrail.simulate"\n}\n')
    code, output, again = _hunt(str(inputs_dir), *opts, out=out)
    assert code == 1
    files = _files(again)
    outputs = ["out/findings.json", "out/findings.jsonl", "out/report.html", "out/report.json",
               "out/run.json"]
    for path in outputs:
        assert files[path]["details"] == {"skipped": "in this run's output folder (-o); not read"}
        assert (files[path]["read"], files[path]["issues"]) == (0, [])
    assert files["MANIFEST.json"]["details"] == {
        "skipped": "an agenttrail output (MANIFEST.json); not read"}
    assert again["inputs"]["totals"]["read"] == first["inputs"]["totals"]["read"]
    assert again["incidents"] == first["incidents"]
    assert ("6 files skipped as agenttrail output: MANIFEST.json, out/findings.json, "
            "out/findings.jsonl (+3 more); see report.json") in output
    code, _, other = _hunt(str(inputs_dir), *opts, out=tmp_path / "elsewhere")
    assert _files(other)["out/report.json"]["details"] == {
        "skipped": "an agenttrail output (report.json); not read"}


# --- 13. files in no known format ----------------------------------------------------------------

def test_files_in_no_known_format_are_one_terminal_line(tmp_path: Path) -> None:
    inputs_dir, opts = _case(tmp_path)
    for name in ("a.txt", "b.txt", "c.txt", "d.txt", "e.txt"):
        (inputs_dir / name).write_text("meeting notes, not telemetry\n")
    code, output, report = _hunt(str(inputs_dir), *opts, out=tmp_path / "out")
    assert code == 1
    assert "5 files in no known format: a.txt, b.txt, c.txt (+2 more); see report.json" in output
    assert "damaged input a.txt" not in output and "agenttrail formats" not in output
    assert _issues(_files(report)["a.txt"]) == [(1, "file", ingest_mod.NO_FORMAT)]
