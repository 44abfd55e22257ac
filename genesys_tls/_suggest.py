"""Suggestions ("did you mean ...?") for misspelt names: applications, hosts, ports, options, sections, codes.

Pure text (:mod:`difflib`), no I/O: any error that reports a name it does not know can add the closest
names it does know.

    >>> suggest("TSever_SIP", ["TServer_SIP", "MyTLibClient"])
    ('TServer_SIP',)
    >>> did_you_mean("secure2", ["default", "secure"])
    "did you mean 'secure'?"
    >>> did_you_mean("zzz", ["default", "secure"])
    ''
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean", "suggest"]

#: How close a candidate must be (difflib ratio, 0-1) to be suggested.
CUTOFF = 0.6
#: Longest name compared: longer input is cut, so a hostile name cannot make the comparison slow.
_MAX_NAME = 200


def suggest(name: str, candidates: Iterable[str], *, limit: int = 3, cutoff: float = CUTOFF) -> tuple[str, ...]:
    """The known names closest to ``name``, best first (at most ``limit``).

    Case is ignored for the comparison (``tserver_sip`` finds ``TServer_SIP``) and a candidate equal to
    ``name`` ignoring case comes first; the candidates are returned as spelt.
    """
    wanted = name[:_MAX_NAME].casefold()
    by_folded: dict[str, str] = {}
    for candidate in candidates:
        by_folded.setdefault(candidate[:_MAX_NAME].casefold(), candidate)
    if not wanted or not by_folded:
        return ()
    out: list[str] = []
    if wanted in by_folded:
        out.append(by_folded[wanted])
    for folded in difflib.get_close_matches(wanted, list(by_folded), n=limit + 1, cutoff=cutoff):
        original = by_folded[folded]
        if original not in out:
            out.append(original)
    return tuple(out[:limit])


def did_you_mean(name: str, candidates: Iterable[str], *, limit: int = 3) -> str:
    """``"did you mean 'X'?"`` / ``"did you mean 'X' or 'Y'?"``, or ``""`` when nothing is close."""
    found = suggest(name, candidates, limit=limit)
    if not found:
        return ""
    quoted = [repr(f) for f in found]
    text = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"did you mean {text}?"
