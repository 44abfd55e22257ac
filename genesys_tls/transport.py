"""Transport parameters: ``name=value;name=value`` exactly as the Platform SDK reads them.

The PSDK (``ConfigurationUtil.findTransportParameter``) splits on ``;``, trims nothing, matches keys by a
case-sensitive ``name=`` prefix, lets the first occurrence win, keeps everything after the first ``=`` as the
value (so a value may hold ``=``), treats ``name=`` as present-but-empty, ignores pieces without ``=``, and
reads a blank string as no parameters at all. :func:`parse_transport` does exactly that and, besides, reports
as :class:`TransportDiagnostic` everything the runtime would silently ignore, with its position, without
"fixing" anything.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterator, Mapping

import attrs

from ._text import secret_name
from .catalogue import CATALOGUE, OTHER_TRANSPORT_PARAMETERS

__all__ = [
    "DiagnosticCode",
    "TransportDiagnostic",
    "TransportParameters",
    "format_transport",
    "parse_transport",
]


class DiagnosticCode(enum.StrEnum):
    """What a transport-parameter diagnostic reports."""

    SPACE = "space"  #: white space around ``;`` or ``=``: the key is not found as written
    CASE = "case"  #: a known key in the wrong case (``TLS=1``): keys are case-sensitive
    DUPLICATE = "duplicate"  #: a key given again: the first one wins, this one is ignored
    UNKNOWN = "unknown-key"  #: a key no Genesys component reads
    NO_EQUALS = "no-equals"  #: a piece without ``=``: ignored
    EMPTY_PIECE = "empty-piece"  #: ``;;`` or a leading ``;``: ignored
    EMPTY_KEY = "empty-key"  #: ``=value``: ignored


@attrs.frozen
class TransportDiagnostic:
    """Something in a transport-parameter string that the runtime would silently ignore or misread.

    Attributes:
        code: the kind of problem.
        position: 0-based character offset of the piece in the string.
        piece: the piece as written (``name=value`` or the bad fragment).
        key: the key the piece names, as written (``None`` for pieces without ``=``).
        message: one readable sentence, naming what the runtime does with it.
    """

    code: DiagnosticCode
    position: int
    piece: str
    key: str | None
    message: str


def _known(key: str) -> bool:
    return key in CATALOGUE or key in OTHER_TRANSPORT_PARAMETERS


@attrs.frozen(eq=False)
class TransportParameters(Mapping[str, str]):
    """Parsed transport parameters: a read-only mapping ``key -> value`` with PSDK semantics.

    Keys are exactly as written (case-sensitive, untrimmed); the first occurrence of a key wins; ``""`` is a
    present value. ``text`` keeps the original string and ``diagnostics`` what the runtime would ignore.
    """

    text: str
    _values: Mapping[str, str] = attrs.field(alias="values", repr=False)
    diagnostics: tuple[TransportDiagnostic, ...] = ()

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __eq__(self, other: object) -> bool:
        # A mapping compares as a mapping (``parse_transport("a=1") == {"a": "1"}``); two parsed strings
        # are equal when they read the same, whatever their spelling.
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset(self._values.items()))

    @property
    def shown(self) -> str:
        """:attr:`text` as messages show it: the value of each piece whose name says it is a secret
        (``password=...``, ``pass=...``) replaced by ``<redacted>``."""
        return ";".join(shown_piece(piece) for piece in self.text.split(";"))

    def excerpt(self, position: int) -> str:
        """:attr:`shown` when the text is short; else the text from the piece at ``position`` (a character
        offset of :attr:`text`) on, at most :data:`EXCERPT` characters, with ``...`` where text is left out
        (every diagnostic of a long string quoting all of it would make the output grow with the square of
        its length)."""
        if len(self.text) <= EXCERPT:
            return self.shown
        first = self.text.rfind(";", 0, position) + 1
        parts: list[str] = []
        end = first  # the offset after the last piece taken
        while end <= len(self.text) and sum(map(len, parts)) + len(parts) <= EXCERPT:
            stop = self.text.find(";", end)
            stop = len(self.text) if stop < 0 else stop
            parts.append(shown_piece(self.text[end:stop]))
            end = stop + 1
        text = ";".join(parts)
        cut = len(text) > EXCERPT or end < len(self.text)
        return ("..." if first else "") + text[:EXCERPT] + ("..." if cut else "")

    def locate(self, diagnostic: TransportDiagnostic) -> str:
        """The diagnostic's message with where it is: ``MESSAGE (character N of 'TEXT')``, secrets redacted,
        a long string shortened around the piece (:meth:`excerpt`)."""
        return f"{diagnostic.message} (character {diagnostic.position} of {self.excerpt(diagnostic.position)!r})"


#: How much of a long transport string a diagnostic quotes (characters).
EXCERPT = 120


def shown_piece(piece: str) -> str:
    """A ``name=value`` piece as messages show it: ``name=<redacted>`` when the name says the value is a
    secret."""
    key, equals, _ = piece.partition("=")
    return f"{key}=<redacted>" if equals and secret_name(key) else piece


def _shown_value(key: str, value: str) -> str:
    return "<redacted>" if secret_name(key) else value


def parse_transport(text: str | None) -> TransportParameters:
    """Parse a transport-parameter string the way the Platform SDK reads it.

    Args:
        text: the string as typed in Genesys Administrator (``None`` and blank mean no parameters).

    Returns:
        A :class:`TransportParameters` mapping with the diagnostics.

    Example:
        >>> p = parse_transport("tls=1; tls-mutual=1;tls=0")
        >>> dict(p)
        {'tls': '1', ' tls-mutual': '1'}
        >>> [d.code.value for d in p.diagnostics]
        ['space', 'duplicate']
    """
    if not text:
        return _NO_PARAMETERS
    return _parse_memo(text) if len(text) <= _MEMO_MAX_LENGTH else _parse(text)


def _parse(text: str) -> TransportParameters:
    if not text.strip():
        return TransportParameters(text, {}, ())
    return _parse_pieces(text)


#: Transport strings repeat across thousands of ports and connections: the frozen result of the parse is
#: shared (at most this many distinct strings are kept, each at most ``_MEMO_MAX_LENGTH`` characters).
_MEMO_SIZE = 4096
_MEMO_MAX_LENGTH = 512


def _parse_pieces(text: str) -> TransportParameters:
    values: dict[str, str] = {}
    diags: list[TransportDiagnostic] = []
    position = 0
    pieces = text.split(";")
    for index, piece in enumerate(pieces):
        start = position
        position += len(piece) + 1
        if piece == "":
            if index != len(pieces) - 1:
                diags.append(
                    TransportDiagnostic(
                        DiagnosticCode.EMPTY_PIECE,
                        start,
                        piece,
                        None,
                        "empty piece between ';' separators: ignored",
                    )
                )
            continue
        if "=" not in piece:
            diags.append(
                TransportDiagnostic(
                    DiagnosticCode.NO_EQUALS,
                    start,
                    piece,
                    None,
                    f"piece {piece!r} has no '=': the runtime ignores it",
                )
            )
            continue
        key, value = piece.split("=", 1)
        if key == "":
            diags.append(
                TransportDiagnostic(
                    DiagnosticCode.EMPTY_KEY,
                    start,
                    piece,
                    key,
                    f"piece {piece!r} has no name before '=': the runtime ignores it",
                )
            )
            continue
        if key in values:
            diags.append(
                TransportDiagnostic(
                    DiagnosticCode.DUPLICATE,
                    start,
                    piece,
                    key,
                    f"{key!r} is given again: the first value {_shown_value(key, values[key])!r} wins, "
                    f"{_shown_value(key, value)!r} is ignored",
                )
            )
            continue
        values[key] = value
        stripped = key.strip()
        if stripped != key or value != value.strip():
            where = "name" if stripped != key else "value"
            read_as = (
                f"the runtime looks for {stripped!r} and does not find {key!r}"
                if stripped != key
                else f"the value is read with its spaces as {_shown_value(key, value)!r}"
            )
            diags.append(
                TransportDiagnostic(
                    DiagnosticCode.SPACE,
                    start,
                    piece,
                    key,
                    f"white space around the {where} in {shown_piece(piece)!r}: {read_as} "
                    "(Genesys allows no spaces around ';' and '=')",
                )
            )
        elif not _known(key):
            if _known(key.lower()):
                diags.append(
                    TransportDiagnostic(
                        DiagnosticCode.CASE,
                        start,
                        piece,
                        key,
                        f"{key!r} is not {key.lower()!r}: names are case-sensitive and the runtime "
                        "ignores it",
                    )
                )
            else:
                diags.append(
                    TransportDiagnostic(
                        DiagnosticCode.UNKNOWN,
                        start,
                        piece,
                        key,
                        f"{key!r} is not a transport parameter any Genesys component reads",
                    )
                )
    return TransportParameters(text, values, tuple(diags))


_parse_memo = functools.lru_cache(maxsize=_MEMO_SIZE)(_parse)
_NO_PARAMETERS = TransportParameters("", {}, ())


def format_transport(params: Mapping[str, str]) -> str:
    """Format parameters as a transport string (``name=value`` joined by ``;``), the inverse of parsing.

    Raises:
        ValueError: a key is empty or holds ``;``, ``=`` or surrounding spaces, or a value holds ``;``
            (the format has no quoting, so such a string could not be read back the same).
    """
    if isinstance(params, TransportParameters):
        return params.text
    parts = []
    for key, value in params.items():
        if not key or ";" in key or "=" in key or key != key.strip():
            raise ValueError(f"transport parameter name {key!r} cannot be written")
        if ";" in value:
            raise ValueError(f"transport parameter {key!r}: value {value!r} cannot hold ';'")
        parts.append(f"{key}={value}")
    return ";".join(parts)
