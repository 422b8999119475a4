"""Hidden characters made visible, for every renderer that shows strings from the input.

Process names, paths, user and host names come from files an attacker can write. Controls (ESC
sequences that recolour or move a terminal's cursor), format characters (bidirectional overrides
such as U+202E, zero-width characters, BOM), surrogates and line/paragraph separators are written
as visible escapes (``\\x1b``, ``\\u202e``) wherever such strings are shown. Newlines and tabs are
escaped too: one record never spans several output lines.
"""

from __future__ import annotations

import unicodedata

#: Unicode categories of characters that change how text reads without being seen.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def hidden(ch: str) -> bool:
    """Whether ``ch`` is a character that must not be printed as is."""
    return unicodedata.category(ch) in HIDDEN_CATEGORIES


def escape_char(ch: str) -> str:
    """The visible escape of one character."""
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(value: object) -> str:
    """``value`` as text with every hidden character written as a visible escape."""
    s = value if isinstance(value, str) else str(value)
    if s.isprintable():
        return s
    return "".join(escape_char(c) if hidden(c) else c for c in s)
