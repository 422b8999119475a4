"""``read_text_lines`` (vectorised, in blocks) against a plain Python reference built on
``iter_lines``, on constructed damaged inputs: CR line ends, a BOM, blank and whitespace lines,
lines over the limit, bytes that are not UTF-8, NUL bytes, no final newline, and blocks so small
that lines cross block boundaries."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agenttrail.model import FileAccount
from agenttrail.readers import _io
from agenttrail.readers._io import ReadContext, iter_lines, long_line_issue, read_text_lines


def _reference(ctx: ReadContext, account: FileAccount) -> list[tuple[int, str]]:
    out = []
    for line, raw, length in iter_lines(ctx.path, ctx.max_line_bytes):
        account.read += 1
        if raw is None:
            account.malformed += 1
            account.issues.append(long_line_issue(ctx.rel, line, length, ctx.max_line_bytes))
            continue
        if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            account.meta += 1
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        out.append((line, text.replace("\x00", "\\x00")))
    return out


PIECES = [b"abc", b"Jun 10 12:00:00 h sshd[1]: x", b"", b" ", b"\t \r", b"\r", b"\xe9t\xe9",
          b"\xef\xbb\xbfbom", b"nul\x00byte", b"x" * 40, b"\xff\xfe", "é€".encode(), b"a\rb"]


def _check(tmp_path: Path, data: bytes, limit: int) -> None:
    path = tmp_path / "t.log"
    path.write_bytes(data)
    ctx = ReadContext(path=path, rel="t.log", con=duckdb.connect(), max_line_bytes=limit)
    got_acc, want_acc = FileAccount("t.log"), FileAccount("t.log")
    table = read_text_lines(ctx, got_acc)
    got = list(zip(table.column("src_line").to_pylist(), table.column("text").to_pylist(),
                   strict=True))
    assert got == _reference(ctx, want_acc)
    assert (got_acc.read, got_acc.meta, got_acc.malformed) == (
        want_acc.read, want_acc.meta, want_acc.malformed)
    assert sorted(i.to_dict().items() for i in got_acc.issues) == sorted(
        i.to_dict().items() for i in want_acc.issues)


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.sampled_from(PIECES), max_size=30), final_newline=st.booleans(),
       block=st.sampled_from([7, 16, 64, 1 << 20]), limit=st.sampled_from([10, 30, 1000]))
def test_blocks_agree_with_the_line_by_line_reference(
        tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], final_newline: bool,
        block: int, limit: int) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    saved = _io.TEXT_BLOCK
    _io.TEXT_BLOCK = block
    try:
        _check(tmp_path_factory.mktemp("lines"), data, limit)
    finally:
        _io.TEXT_BLOCK = saved


def test_a_line_longer_than_several_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_io, "TEXT_BLOCK", 8)
    _check(tmp_path, b"ok\n" + b"y" * 100 + b"\nafter\n" + b"z" * 50, 20)
