"""Text helpers of the HTML report: hidden characters made visible, times, durations.

Every string of a Report may come from an attacker (process names, paths, user and host names).
``finalize`` is the Jinja2 environment's hook for every printed value: it turns control, format
(bidirectional overrides such as U+202E, zero-width characters, BOM), surrogate and separator
characters into visible escapes (``\\u202e``) and leaves the escaping of ``<``, ``&`` and quotes to
autoescape. ``plain`` does the same without markup, for attributes, SVG text and the title.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from markupsafe import Markup, escape

from agenttrail.outputs.visible import escape_char, hidden


class Plain(str):
    """A string already made visible (no hidden characters) that must print as plain text."""

    __slots__ = ()


_hidden = hidden
_escape_char = escape_char


def token(value: Any) -> Plain:
    """The value reduced to ``[A-Za-z0-9_-]``, for class names built from report values."""
    return Plain("".join(c for c in str(value) if c.isascii() and (c.isalnum() or c in "_-")))


def plain(value: Any) -> Plain:
    """The value as text with every hidden character written as a visible escape."""
    if value is None:
        return Plain("–")
    s = value if isinstance(value, str) else str(value)
    return Plain("".join(_escape_char(c) if _hidden(c) else c for c in s))


def highlighted(s: str) -> Markup:
    """Escaped text with each hidden character shown as a marked escape sequence."""
    out: list[str] = []
    run: list[str] = []
    for c in s:
        if _hidden(c):
            if run:
                out.append(escape("".join(run)))
                run = []
            # no quotes in this markup: even inside an attribute it cannot end the value
            out.append(Markup("<span class=ctl>{}</span>").format(_escape_char(c)))
        else:
            run.append(c)
    if run:
        out.append(escape("".join(run)))
    return Markup("").join(out)


def finalize(value: Any) -> Any:
    """Every printed value passes here: strings are made visible, ``None`` is a dash."""
    if isinstance(value, Markup):
        return value
    if isinstance(value, Plain):
        return str(value)
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return highlighted(value)
    return str(value)


def ts(us: int | None) -> str:
    """ISO time in UTC to the millisecond (integer arithmetic, so the same on every machine)."""
    if us is None:
        return "–"
    sec, rest = divmod(int(us), 1_000_000)
    t = dt.datetime.fromtimestamp(sec, tz=dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rest // 1000:03d}Z"


def duration(us: int | None, signed: bool = True) -> str:
    """A duration for people: ``+53 ms``, ``+17.547 s``, ``+2 min 05 s``, ``+1 h 25 min``."""
    if us is None:
        return "–"
    sign = ("+" if us >= 0 else "−") if signed else ""
    a = abs(int(us))
    if a < 1_000_000:
        return f"{sign}{a // 1000} ms" if a >= 1000 else f"{sign}{a} µs"
    if a < 60_000_000:
        return f"{sign}{a // 1_000_000}.{(a % 1_000_000) // 1000:03d} s"
    s = a // 1_000_000
    if s < 3600:
        return f"{sign}{s // 60} min {s % 60:02d} s"
    if s < 86400:
        return f"{sign}{s // 3600} h {(s % 3600) // 60:02d} min"
    return f"{sign}{s // 86400} d {(s % 86400) // 3600:02d} h"


def src(ref: dict[str, Any] | None) -> str | None:
    """``file:line`` of a source reference."""
    if not ref or not ref.get("file"):
        return None
    return f"{ref['file']}:{ref['line']}" if ref.get("line") is not None else str(ref["file"])


def who(name: Any, uid: Any) -> str:
    """``name (uid)``, or whichever is known."""
    if name is not None and uid is not None:
        return f"{name} ({uid})"
    if name is not None:
        return str(name)
    return str(uid) if uid is not None else "–"


def number(n: Any) -> str:
    """Integers with thin thousands separators; anything else as text."""
    if isinstance(n, int) and not isinstance(n, bool):
        return f"{n:,}".replace(",", "\u202f") if abs(n) >= 10_000 else str(n)
    return "–" if n is None else str(n)


LOGIN_ABSENT = {
    "missing": "no login recorded on the destination",
    "incomplete": "no login yet (login records end before the grace period)",
    "attempt": "authentication attempt only, no accepted login",
    "not_evaluable": "login not evaluable (no login coverage)",
}


def login_absent_text(status: str | None) -> str:
    """What a missing login step means, in words."""
    if status is None:
        return "no login evidence"
    return LOGIN_ABSENT.get(status, str(status).replace("_", " "))


def field(key: Any, value: Any) -> Any:
    """A scalar of a generic table for display: ``*_us`` as a time or a duration, numbers grouped.

    Epoch microseconds (at or after 1973) print as times, smaller ``*_us`` values as durations.
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if str(key).endswith("_us"):
            return ts(value) if value >= 10**14 else duration(value, signed=False)
        return number(value)
    return value
