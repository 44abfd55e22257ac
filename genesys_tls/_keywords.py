"""Keyword options given as one :class:`typing.TypedDict` (``**options: Unpack[...]``) are checked at run
time as Python checks named keywords: an unknown one is a :class:`TypeError`, never silently ignored (a
misspelt ``crl_check`` must not leave the default in place)."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["check_keywords"]


def check_keywords(function: str, given: Mapping[str, object], known: type) -> None:
    """Raise :class:`TypeError` for the first key of ``given`` that the TypedDict ``known`` does not name.

    >>> from typing import TypedDict
    >>> class Options(TypedDict, total=False):
    ...     timeout: float
    >>> check_keywords("f", {"timeout": 1.0}, Options)
    >>> check_keywords("f", {"timout": 1.0}, Options)
    Traceback (most recent call last):
    TypeError: f() got an unexpected keyword argument 'timout'
    """
    if not given:
        return
    allowed: frozenset[str] = getattr(known, "__optional_keys__", frozenset()) | getattr(
        known, "__required_keys__", frozenset()
    )
    for name in given:
        if name not in allowed:
            raise TypeError(f"{function}() got an unexpected keyword argument {name!r}")
