"""Transport parameters: the PSDK reading (spec section 2), the diagnostics and formatting.

The PSDK's ``ConfigurationUtil.findTransportParameter`` splits on ``;``, trims nothing, and for a key returns
what follows the first piece that starts with ``key=``. :func:`psdk_find` below is a literal, independent
rendering of that rule; the property tests check :func:`parse_transport` against it on random text.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from genesys_tls.transport import (
    DiagnosticCode,
    TransportParameters,
    format_transport,
    parse_transport,
)


def psdk_find(text: str | None, key: str) -> str | None:
    """The PSDK's findTransportParameter, as the spec describes it (no trimming, first match wins)."""
    if text is None or text.strip() == "":
        return None
    for piece in text.split(";"):
        if piece.startswith(key + "="):
            return piece[len(key) + 1 :]
    return None


def keys_in(text: str) -> set[str]:
    """Every key a piece of ``text`` names (the part before the first ``=``, when not empty)."""
    if text.strip() == "":
        return set()
    return {piece.split("=", 1)[0] for piece in text.split(";") if "=" in piece and not piece.startswith("=")}


def codes(text: str) -> list[tuple[DiagnosticCode, int, str | None]]:
    return [(d.code, d.position, d.key) for d in parse_transport(text).diagnostics]


# --------------------------------------------------------------------------------------------- semantics


def test_split_on_semicolons() -> None:
    p = parse_transport("tls=1;tls-mutual=1;certificate=/c/s.pem")
    assert dict(p) == {"tls": "1", "tls-mutual": "1", "certificate": "/c/s.pem"}
    assert list(p) == ["tls", "tls-mutual", "certificate"]  # order of the string
    assert len(p) == 3
    assert p.text == "tls=1;tls-mutual=1;certificate=/c/s.pem"
    assert p.diagnostics == ()


def test_no_trimming() -> None:
    p = parse_transport("tls=1; tls-mutual=1 ;certificate = /c.pem")
    assert "tls-mutual" not in p
    assert p[" tls-mutual"] == "1 "
    assert "certificate" not in p
    assert p["certificate "] == " /c.pem"
    assert p.get("tls-mutual") is None


def test_keys_are_case_sensitive() -> None:
    p = parse_transport("TLS=1;Tls-Mutual=1")
    assert "tls" not in p
    assert "tls-mutual" not in p
    assert dict(p) == {"TLS": "1", "Tls-Mutual": "1"}


def test_prefix_is_the_whole_name() -> None:
    p = parse_transport("tls-mutual=1")
    assert "tls" not in p  # "tls=" is not a prefix of "tls-mutual=1"
    assert psdk_find("tls-mutual=1", "tls") is None


def test_first_duplicate_wins() -> None:
    p = parse_transport("tls=1;tls=0;tls=")
    assert p["tls"] == "1"
    assert dict(p) == {"tls": "1"}


def test_value_may_contain_equals() -> None:
    p = parse_transport("tls-target-name=a=b==;x===")
    assert p["tls-target-name"] == "a=b=="
    assert p["x"] == "=="


def test_present_but_empty_is_not_absent() -> None:
    p = parse_transport("certificate=;tls=1")
    assert "certificate" in p
    assert p["certificate"] == ""
    assert p.get("trusted-ca") is None
    with pytest.raises(KeyError):
        p["trusted-ca"]


def test_pieces_without_equals_are_ignored() -> None:
    p = parse_transport("tls;tls-mutual=1;junk;")
    assert dict(p) == {"tls-mutual": "1"}


@pytest.mark.parametrize("text", [None, "", " ", "   \t ", "\n", "\u00a0 \u2003"])
def test_blank_is_nothing(text: str | None) -> None:
    p = parse_transport(text)
    assert dict(p) == {}
    assert p.diagnostics == ()
    assert p.text == (text or "")


def test_is_a_read_only_mapping() -> None:
    p = parse_transport("tls=1")
    assert isinstance(p, TransportParameters)
    assert not hasattr(p, "__setitem__")
    assert hash(p) == hash(parse_transport("tls=1"))
    assert p == parse_transport("tls=1")
    assert p != parse_transport("tls=0")
    assert dict(p.items()) == {"tls": "1"}


# ------------------------------------------------------------------------------------------- diagnostics


def test_diagnostic_space_in_name() -> None:
    # worked case 13: the space piece starts at offset 6
    assert codes("tls=1; tls-mutual=1") == [(DiagnosticCode.SPACE, 6, " tls-mutual")]
    assert codes("tls =1") == [(DiagnosticCode.SPACE, 0, "tls ")]


def test_diagnostic_space_in_value() -> None:
    (d,) = parse_transport("tls-mutual=1;tls= 1").diagnostics
    assert (d.code, d.position, d.key, d.piece) == (DiagnosticCode.SPACE, 13, "tls", "tls= 1")
    assert "' 1'" in d.message


def test_diagnostic_case() -> None:
    assert codes("TLS=1") == [(DiagnosticCode.CASE, 0, "TLS")]
    assert codes("tls=1;Tls-Mutual=1") == [(DiagnosticCode.CASE, 6, "Tls-Mutual")]
    assert "'tls'" in parse_transport("TLS=1").diagnostics[0].message


def test_diagnostic_duplicate() -> None:
    (d,) = parse_transport("tls=1;tls-mutual=1;tls=0").diagnostics
    assert (d.code, d.position, d.key, d.piece) == (DiagnosticCode.DUPLICATE, 19, "tls", "tls=0")
    assert "'1'" in d.message and "'0'" in d.message


def test_diagnostic_unknown_key() -> None:
    assert codes("tls=1;colour=blue") == [(DiagnosticCode.UNKNOWN, 6, "colour")]
    # known non-TLS transport parameters are not reported
    assert codes("port=7000;address=h;backup-port=1;ip-version=4,6;listening-nicname=eth0") == []


def test_diagnostic_no_equals() -> None:
    (d,) = parse_transport("tls=1;secure").diagnostics
    assert (d.code, d.position, d.key, d.piece) == (DiagnosticCode.NO_EQUALS, 6, None, "secure")


def test_diagnostic_empty_piece() -> None:
    assert codes(";tls=1") == [(DiagnosticCode.EMPTY_PIECE, 0, None)]
    assert codes("tls=1;;tls-mutual=1") == [(DiagnosticCode.EMPTY_PIECE, 6, None)]
    assert codes("tls=1;") == []  # a trailing ';' is fine


def test_diagnostic_empty_key() -> None:
    assert codes("=1") == [(DiagnosticCode.EMPTY_KEY, 0, "")]
    assert codes("tls=1;=x") == [(DiagnosticCode.EMPTY_KEY, 6, "")]
    assert dict(parse_transport("tls=1;=x")) == {"tls": "1"}


def test_diagnostics_in_order_with_positions() -> None:
    text = ";TLS=1;tls=1;tls=0; tls-mutual=1;junk;=v;foo=bar"
    got = codes(text)
    assert got == [
        (DiagnosticCode.EMPTY_PIECE, 0, None),
        (DiagnosticCode.CASE, 1, "TLS"),
        (DiagnosticCode.DUPLICATE, 13, "tls"),
        (DiagnosticCode.SPACE, 19, " tls-mutual"),
        (DiagnosticCode.NO_EQUALS, 33, None),
        (DiagnosticCode.EMPTY_KEY, 38, ""),
        (DiagnosticCode.UNKNOWN, 41, "foo"),
    ]
    for d in parse_transport(text).diagnostics:
        assert text[d.position : d.position + len(d.piece)] == d.piece
        assert d.message


def test_no_diagnostic_for_clean_known_keys() -> None:
    assert codes("tls=1;tls-mutual=0;certificate=;sec-protocol=TLSv12;upgrade=1") == []


# -------------------------------------------------------------------------------------------- formatting


def test_format_round_trip() -> None:
    params = {"tls": "1", "certificate": "/c/a.pem,/c/b.pem", "tls-target-name": "", "x": "a=b"}
    text = format_transport(params)
    assert text == "tls=1;certificate=/c/a.pem,/c/b.pem;tls-target-name=;x=a=b"
    assert dict(parse_transport(text)) == params


def test_format_parsed_keeps_the_text() -> None:
    text = "tls=1; tls-mutual=1;tls=0"
    assert format_transport(parse_transport(text)) == text
    assert format_transport({}) == ""


@pytest.mark.parametrize(
    "params",
    [
        {"": "1"},
        {"a;b": "1"},
        {"a=b": "1"},
        {" tls": "1"},
        {"tls ": "1"},
        {"tls": "1;tls-mutual=1"},
    ],
)
def test_format_refuses_what_cannot_be_read_back(params: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="cannot"):
        format_transport(params)


# ---------------------------------------------------------------------------------------------- property

_TOKENS = st.sampled_from(
    [";", "=", " ", "  ", "\t", "tls", "tls-mutual", "TLS", "certificate", "1", "0", "", "é", "☃", "\u00a0",
     "\u2003", "a=b", ";;", "=="]
)
_RANDOM_TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from(";= ab\té☃\u00a0")),
    st.lists(st.one_of(_TOKENS, st.text(max_size=3)), max_size=12).map("".join),
)


@settings(max_examples=400, deadline=None)
@given(_RANDOM_TEXT)
@example("tls=1; tls-mutual=1;tls=0;=x;;junk;")
@example(" ")
@example("=")
@example("a=;a=b")
def test_parse_agrees_with_psdk_reference(text: str) -> None:
    p = parse_transport(text)  # never raises
    assert set(p) == keys_in(text)
    for key in keys_in(text):
        assert p[key] == psdk_find(text, key), key
    for d in p.diagnostics:
        assert isinstance(d.code, DiagnosticCode)
        assert text[d.position : d.position + len(d.piece)] == d.piece
        assert d.position == 0 or text[d.position - 1] == ";"
    writable = all(k and k == k.strip() for k in p)
    params = dict(p)
    if writable:
        assert dict(parse_transport(format_transport(params))) == params
    else:
        with pytest.raises(ValueError):
            format_transport(params)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1).filter(lambda k: ";" not in k and "=" not in k and k == k.strip()),
        st.text().filter(lambda v: ";" not in v),
        max_size=6,
    )
)
def test_format_then_parse_is_identity(params: dict[str, str]) -> None:
    text = format_transport(params)
    parsed = parse_transport(text)
    assert dict(parsed) == params
    assert list(parsed) == list(params)
