"""Text typed by people (or written by a model) on its way to the terminal, and back in.

Names, turns and notes are stored as given. Printed raw, an escape sequence in a
patient's name could recolour, hide or rewrite what a clinician sees, and a `[`
in a turn would be read as rich markup (or crash the print). Every command
prints such text through `shown`, and checks text that is about to be stored
with `problem_in`.
"""

from __future__ import annotations

import re

from rich.markup import escape

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 controls (tab and newline excepted) and the bidirectional overrides that
can make a terminal show text in an order other than the stored one."""

_SURROGATE = re.compile("[\ud800-\udfff]")
"""What Python makes of bytes that are not UTF-8 (surrogateescape): they cannot be stored."""


def shown(text: object) -> str:
    """`text` made safe to embed in a rich markup string: controls made visible, markup escaped."""
    plain = _SURROGATE.sub("\ufffd", str(text))
    plain = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), plain)
    return escape(plain)


def has_bad_bytes(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def problem_in(text: str, max_chars: int, *, one_line: bool = True) -> str | None:
    """Why `text` should not be stored (None when it is fine); said so the user can fix it."""
    if has_bad_bytes(text):
        return "it is not valid UTF-8 text; type it again (or set a UTF-8 locale, e.g. LANG=C.UTF-8)"
    bad = _CONTROL.search(text) or (re.search("[\n\t]", text) if one_line else None)
    if bad:
        code = bad.group().encode("unicode_escape").decode("ascii")
        return f"it contains a control character ({code}); remove it (terminal escape codes are not text)"
    if len(text) > max_chars:
        return f"it is {len(text)} characters long; keep it to {max_chars}"
    return None
