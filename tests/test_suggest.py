"""``genesys_tls._suggest``: "did you mean" for misspelt names."""

from __future__ import annotations

import doctest

import genesys_tls._suggest as suggest_module
from genesys_tls._suggest import did_you_mean, suggest

APPS = ["TServer_SIP", "MyTLibClient", "StatServer", "ConfigServer"]


def test_close_names_best_first() -> None:
    assert suggest("TSever_SIP", APPS)[0] == "TServer_SIP"
    assert suggest("statserver", APPS)[0] == "StatServer"  # case ignored, spelling kept
    assert suggest("Nothing-like-it", APPS) == ()
    assert suggest("", APPS) == () and suggest("x", []) == ()


def test_phrase() -> None:
    assert did_you_mean("secur", ["default", "secure"]) == "did you mean 'secure'?"
    assert did_you_mean("Server", ["StatServer", "ConfigServer"], limit=2) == (
        "did you mean 'StatServer' or 'ConfigServer'?"
    )
    assert did_you_mean("zzz", ["default"]) == ""


def test_long_input_is_bounded() -> None:
    assert suggest("a" * 100_000, ["a" * 10]) == ()


def test_doctests() -> None:
    assert doctest.testmod(suggest_module).failed == 0
