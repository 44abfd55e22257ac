"""Not-found errors name the thing once and suggest the closest valid names (difflib), in Python and on the
command line (one line on stderr, exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from genesys_tls.catalogue import option
from genesys_tls.cli import main
from genesys_tls.errors import ConfigurationError, closest
from genesys_tls.loaders import load, loads
from genesys_tls.resolve import resolve_client, resolve_server

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "environment.yaml"


def test_closest_ignores_case_and_may_find_nothing() -> None:
    assert closest("tserver_sip", ["TServer_SIP", "MyTLibClient"]) == ("TServer_SIP",)
    assert closest("zzz", ["TServer_SIP", "MyTLibClient"]) == ()
    assert closest("secur", ["default", "secure", "mutual"]) == ("secure",)


@pytest.mark.parametrize(
    ("call", "name", "suggestion"),
    [
        (lambda env: env.application("MyTLibClien"), "MyTLibClien", "MyTLibClient"),
        (lambda env: env.host("tsrv-hots"), "tsrv-hots", "tsrv-host"),
        (lambda env: resolve_server(env, "TServer_SIP", "secur"), "secur", "secure"),
        (lambda env: resolve_client(env, "MyTLibClient", "TServer_SI", "secure"), "TServer_SI", "TServer_SIP"),
        (lambda env: resolve_client(env, "MyTLibClient", "TServer_SIP", "secur"), "secur", "TServer_SIP/secure"),
        (lambda env: option("tls-mutal"), "tls-mutal", "tls-mutual"),
    ],
)
def test_named_once_with_the_closest_names(call: object, name: str, suggestion: str) -> None:
    env = load(EXAMPLE)
    with pytest.raises(ConfigurationError) as info:
        call(env)  # type: ignore[operator]
    text = str(info.value)
    assert suggestion in info.value.suggestions
    assert f"did you mean {suggestion!r}" in text
    if name != "secur":  # the connection error names server and port apart, then the pair it was given
        assert text.count(repr(name)) + text.count(f"option {name}") == 1, text


def test_unknown_keys_and_dangling_references_suggest_too() -> None:
    with pytest.raises(ConfigurationError) as info:
        loads("hosts:\n  h: {anex: {}}\n")
    assert info.value.suggestions == ("annex",)
    with pytest.raises(ConfigurationError) as info:
        loads("hosts: {h: {}}\napplications:\n  A: {host: hh}\n")
    assert info.value.suggestions == ("h",)


def test_cli_one_line_with_the_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["resolve", str(EXAMPLE), "--app", "mytlibclient", "--connection", "TServer_SIP/secure"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.count("'mytlibclient'") == 1 and err.endswith("did you mean 'MyTLibClient'?")
