"""Every registered reader keeps the reader contract (readers/__init__.py).

Collects every offender and fails once, so a new format shows all it is missing.
"""

from __future__ import annotations

import inspect

from agenttrail import readers
from agenttrail.readers import BY_NAME, READERS


def test_every_reader_has_the_module_shape() -> None:
    problems = []
    for r in READERS:
        for attr, kind in (("NAME", str), ("NEEDS_HOST", bool), ("EXAMPLE", str)):
            if not isinstance(getattr(r, attr, None), kind):
                problems.append(f"{r.__name__}: {attr} missing or not {kind.__name__}")
        for fn in ("sniff", "read"):
            if not inspect.isfunction(getattr(r, fn, None)):
                problems.append(f"{r.__name__}: no function {fn}")
        if not (r.__doc__ or "").strip():
            problems.append(f"{r.__name__}: no docstring (`agenttrail formats` shows its first line)")
    assert not problems, "\n".join(problems)
    assert len(BY_NAME) == len(READERS), "two readers share a NAME"


def test_each_example_is_claimed_by_its_own_reader_only() -> None:
    wrong = []
    for r in READERS:
        head = getattr(r, "EXAMPLE_BYTES", None) or r.EXAMPLE.encode()
        claimed = readers.sniff(head)
        if claimed is not r:
            wrong.append(f"{r.NAME}: its example is claimed by "
                         f"{claimed.NAME if claimed else 'no reader'}")
    assert not wrong, "\n".join(wrong)


def test_sniff_never_raises_on_junk() -> None:
    junk = [b"", b"\x00" * 100, b"\xff\xfe{", b"{", b"[1,2", b"#", "é".encode("latin-1") * 50]
    for r in READERS:
        for head in junk:
            assert r.sniff(head) in (True, False), r.NAME
