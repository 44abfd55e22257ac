"""Text that is safe to print: escaping, shortening, bounded display of values, and the one redaction rule.

Every one-line message genesys_tls builds from user input goes through these helpers (``ConfigurationError``
formats each of its parts with them), so that:

* no raw control character (ANSI escape, BEL, NUL, line breaks, bidi controls) reaches a terminal:
  :func:`escape_text` writes them as ``\\x1b``, ``\\u202e``...;
* no message is longer than it needs to be: long values are shortened with ``...`` (:data:`SHOWN_MAX`);
* showing a value never walks or serialises more of it than it shows: :func:`show` visits a list or a mapping
  only until the text is long enough, so a YAML "billion laughs" or a cyclic structure costs nothing;
* no private key or password is ever shown, whatever shape it arrives in (:func:`looks_secret`,
  :data:`REDACTED`): a string, a string inside a list or a mapping, a key name, a PEM block, a bare base64 key
  body, a value under an option whose name says it is a password.

Pure functions, no I/O.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MESSAGE_MAX",
    "REDACTED",
    "SHOWN_MAX",
    "escape_lines",
    "escape_text",
    "looks_secret",
    "may_look_secret",
    "one_line",
    "redact",
    "secret_name",
    "show",
]

#: The longest value a one-line message shows before it is shortened with ``...``.
SHOWN_MAX = 80

#: What a message shows instead of a value that looks like key material or a password.
REDACTED = "<redacted: looks like private key material or a password>"

#: PEM private-key blocks of every kind (``PRIVATE KEY``, ``RSA PRIVATE KEY``, ``ENCRYPTED PRIVATE KEY``,
#: ``OPENSSH PRIVATE KEY``...), with or without the dashes, any case.
_PEM_KEY = re.compile(r"PRIVATE KEY-----|BEGIN [A-Z0-9 ]*PRIVATE KEY", re.IGNORECASE)
#: A run of base64 characters.
_B64_TOKEN = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_LOWER_RUN = re.compile(r"[a-z]{16,}")
#: Option or key names whose values are secrets.
_SECRET_NAME = re.compile(r"password|passwd|passphrase|secret|\bpass\b|\bpwd\b", re.IGNORECASE)


def _char_class(c: str) -> int:
    return 0 if c.isupper() else 1 if c.islower() else 2 if c.isdigit() else 3


def _base64_key_body(token: str) -> bool:
    """A bare base64 body of DER key material (one line of it or the whole of it)."""
    if _HEX.fullmatch(token.rstrip("=")):  # a Windows certificate thumbprint, a digest: not a key
        return False
    if token[:2] in ("MI", "MH", "MG", "MC"):  # DER SEQUENCE: every PKCS#1/#8/SEC1 key body starts so
        return True
    text = token.rstrip("=")
    upper = sum(c.isupper() for c in text)
    lower = sum(c.islower() for c in text)
    # Random base64 (a later line of a key) changes character class (upper, lower, digit, +/) at about 64% of
    # its positions and has no long lower-case word; names and paths of that length change class at word
    # boundaries only (CamelCase: about 20-30%) and hold long words. Measured on 300,000 random 64-character
    # lines: about 1.5 in 10,000 pass as "not a key" (a digit-count rule used before missed 3 in 1,000).
    changes = sum(_char_class(a) != _char_class(b) for a, b in itertools.pairwise(text))
    return upper >= 5 and lower >= 5 and changes * 5 >= len(text) * 2 and not _LOWER_RUN.search(text)


def looks_secret(text: str) -> bool:
    """Whether ``text`` holds what looks like private key material: PEM key text or a bare base64 key body.

    One rule for every message and finding: the loaders refuse such a value where a path belongs, and every
    message shows :data:`REDACTED` instead of it.
    """
    if _PEM_KEY.search(text):
        return True
    return any(_base64_key_body(m.group()) for m in _B64_TOKEN.finditer(text))


_B64_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_RUN_TABLE = bytes(ord("a") if i in _B64_BYTES else ord(" ") for i in range(256))
_LONG_RUN = b"a" * 40


def may_look_secret(text: str) -> bool:
    """A fast, conservative pre-check of a whole document: ``False`` means no part of ``text`` can pass
    :func:`looks_secret` (no "private key" and no run of 40 base64 characters); ``True`` means look closer.
    It runs at memory speed (a few milliseconds for a 7 MB file)."""
    data = text.encode("utf-8", "surrogatepass")
    return b"private key" in data.lower() or _LONG_RUN in data.translate(_RUN_TABLE)


def secret_name(name: str | None) -> bool:
    """Whether an option or key name says its value is a secret (``password``, ``key-passphrase``...)."""
    return bool(name) and bool(_SECRET_NAME.search(name or ""))


def redact(text: str, *, name: str | None = None) -> str:
    """``text``, or :data:`REDACTED` when it looks like key material or sits under a secret name."""
    return REDACTED if secret_name(name) or looks_secret(text) else text


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(c: str) -> str:
    if c in _ESCAPES:
        return _ESCAPES[c]
    if c.isprintable() and c != "\x7f":
        return c
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape_text(text: str, *, limit: int | None = SHOWN_MAX * 3) -> str:
    """``text`` safe to print on one line: non-printable characters escaped, shortened past ``limit``.

    Control characters (C0, DEL, C1: ANSI escapes, BEL, NUL, CR, LF), bidi and other format characters and
    unassigned or separator code points are written as Python escapes (``\\x1b``, ``\\u202e``). Printable
    text, accents and CJK included, is kept as it is (a backslash too, so that a message quoting a Python
    ``repr`` is not escaped twice). ``limit=None`` keeps the whole text.
    """
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 3, 0)]
        cut = True
    else:
        cut = False
    out = text if text.isprintable() else "".join(_escape_char(c) for c in text)
    return out + "..." if cut else out


def escape_lines(text: str) -> str:
    """Text output of several lines made safe to print: every line escaped with :func:`escape_text` (never
    shortened), the line breaks between them kept. Escaping twice changes nothing, so a line whose values were
    already escaped (a value holding a line break must be, or it would start a line of its own) is safe.

    Example:
        >>> print(escape_lines("peer: CN=\\x1b[31mevil\\x07\\nchecks: chain"))
        peer: CN=\\x1b[31mevil\\x07
        checks: chain
    """
    if text.isprintable():
        return text
    return "\n".join(escape_text(line, limit=None) for line in text.split("\n"))


#: The longest one-line error message printed (then ``...``): the parts of a ``ConfigurationError`` are
#: shortened already; this bounds every other message (an OpenSSL text, an argument echoed back).
MESSAGE_MAX = 2000


def one_line(text: str, *, limit: int = MESSAGE_MAX) -> str:
    """A message as one printable line: white space runs (line breaks included) made one space, control
    characters escaped, shortened past ``limit`` characters."""
    return escape_text(" ".join(text.split()), limit=limit)


class _Budget(Exception):
    """The shown text is long enough: stop walking."""


def show(value: Any, *, limit: int = SHOWN_MAX, name: str | None = None) -> str:
    """A short, safe display of a value for a one-line message.

    Strings are shown as written; lists, tuples and mappings JSON-like, but only the part that fits in
    ``limit`` characters is ever visited (the walk stops there: shared or cyclic structures and huge
    expansions cost nothing). Every string the display touches is checked with :func:`looks_secret` in
    full, so a key can neither be shown nor be cut in a way that shows part of it; a secret gives
    :data:`REDACTED`. Control characters are escaped (:func:`escape_text`).
    """
    parts: list[str] = []
    size = 0
    secret = False

    def put(text: str) -> None:
        nonlocal size
        parts.append(text)
        size += len(text)
        if size > limit:
            raise _Budget

    def leaf(text: str) -> None:
        nonlocal secret
        if looks_secret(text):
            secret = True
            raise _Budget
        put(text)

    def walk(item: Any, depth: int) -> None:
        if depth > limit:  # deeper than the text could ever show
            put("...")
        elif isinstance(item, str):
            leaf(_quote(item) if depth else item)
        elif isinstance(item, Mapping):
            put("{")
            for index, (key, sub) in enumerate(item.items()):
                if index:
                    put(", ")
                if isinstance(key, str) and secret_name(key) and not isinstance(sub, Mapping | list | tuple):
                    walk(key, depth + 1)
                    put(": ")
                    put(_quote("<redacted>"))
                    continue
                walk(key, depth + 1)
                put(": ")
                walk(sub, depth + 1)
            put("}")
        elif isinstance(item, list | tuple):
            put("[")
            for index, sub in enumerate(item):
                if index:
                    put(", ")
                walk(sub, depth + 1)
            put("]")
        elif item is None:
            put("null")
        elif isinstance(item, bool):
            put("true" if item else "false")
        elif isinstance(item, float):
            put(repr(item))
        elif isinstance(item, int):
            put(str(item) if item.bit_length() < 1000 else "<a very long integer>")
        elif isinstance(item, bytes):
            put(f"<{len(item)} bytes>")
        else:
            put(f"<{type(item).__name__}>")

    if secret_name(name):
        return REDACTED
    with contextlib.suppress(_Budget):
        walk(value, 0)
    if secret:
        return REDACTED
    text = "".join(parts)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return escape_text(text, limit=None)


def _quote(text: str) -> str:
    return '"' + text + '"'
