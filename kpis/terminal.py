"""Untrusted text made safe to print: a city name or a cell value must not drive the terminal.

A name read from a submission can hold escape sequences (colours, cursor moves, OSC window titles and links, a
cleared screen), carriage returns that overwrite a line, or bidi overrides that show text in another order. Each
such character is printed as a visible escape instead (ESC as `\\x1b`, U+202E as `\\u202e`), so the line stays
readable, the sequence does nothing, and the user can find the character in the file. A lone surrogate (a file
name byte that is not UTF-8) is shown as the byte (`\\xff`) rather than failing to print.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls (CSI is U+009B), the Arabic letter mark, LRM/RLM, line and paragraph separators,
# bidi embeddings and overrides (U+202A-U+202E), bidi isolates (U+2066-U+2069), lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_IN_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by the surrogateescape error handler
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def clean(text: object, *, lines: bool = False) -> str:
    """`text` with every control, escape and bidi character shown as a visible escape.

    `lines=True` keeps newlines and tabs (a message of several lines); otherwise they are escaped too, so one
    field stays on one line of a table.
    """
    return (_UNSAFE_IN_LINES if lines else _UNSAFE).sub(_visible, str(text))
