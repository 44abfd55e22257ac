"""The option catalogue: completeness, value checks, and the generated option reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from genesys_tls import catalogue
from genesys_tls.catalogue import (
    CATALOGUE,
    CERTIFICATE_GROUP,
    Kind,
    Level,
    Side,
    is_thumbprint,
    iter_options,
    option,
    parse_boolean,
    render_reference,
)
from genesys_tls.contexts import protocol_bounds
from genesys_tls.errors import ConfigurationError

DOCS = Path(__file__).resolve().parent.parent / "docs"
THUMBPRINT = "3A 7F 12 0B 9C 44 E1 0D 5B 6A 77 80 21 FE DC BA 98 76 54 32"


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_option_is_described(name: str) -> None:
    opt = CATALOGUE[name]
    assert opt.name == name
    assert opt.levels and opt.levels <= set(Level)
    assert isinstance(opt.side, Side)
    assert isinstance(opt.kind, Kind)
    assert opt.description.strip()
    assert opt.source.strip()
    assert opt.valid_text()
    # the default is either unset or itself a valid value, already canonical
    if opt.default is not None:
        assert opt.check(opt.default) == opt.default
    for value in opt.valid_values():
        opt.check(value)


def test_the_known_options() -> None:
    assert set(CATALOGUE) >= {
        "tls", "tls-mutual", "client-auth", "certificate", "certificate-key", "trusted-ca", "provider",
        "fips140-enabled", "tls-crl", "tls-target-name-check", "tls-target-name", "cipher-list",
        "sec-protocol", "upgrade",
    }
    assert CERTIFICATE_GROUP == ("certificate", "certificate-key", "trusted-ca", "provider", "fips140-enabled")
    assert CATALOGUE["tls"].levels == {Level.PORT, Level.CONNECTION}
    assert CATALOGUE["tls-mutual"].side is Side.SERVER
    assert CATALOGUE["upgrade"].side is Side.SERVER
    assert CATALOGUE["tls-target-name-check"].side is Side.CLIENT
    assert CATALOGUE["client-auth"].default == "1"
    assert CATALOGUE["certificate"].default is None
    assert CATALOGUE["sec-protocol"].default == ""


def test_option_lookup_and_iteration() -> None:
    assert option("tls") is CATALOGUE["tls"]
    with pytest.raises(ConfigurationError) as info:
        option("tls_mutual")
    assert info.value.option == "tls_mutual"
    assert "tls-mutual" in str(info.value)
    server = {o.name for o in iter_options(Side.SERVER)}
    assert "tls-mutual" in server and "certificate" in server and "client-auth" not in server
    assert [o.name for o in iter_options()] == list(CATALOGUE)


@pytest.mark.parametrize(
    ("value", "canonical"),
    [("1", "1"), ("0", "0"), ("yes", "1"), ("YES", "1"), ("On", "1"), ("TRUE", "1"), ("no", "0"),
     ("Off", "0"), ("false", "0")],
)
def test_booleans_are_canonicalised(value: str, canonical: str) -> None:
    for name in ("tls", "tls-mutual", "client-auth", "upgrade", "fips140-enabled"):
        assert CATALOGUE[name].check(value) == canonical


@pytest.mark.parametrize("value", ["2", "enabled", " 1", "1 ", "", "y", "t"])
def test_non_booleans_are_refused(value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        CATALOGUE["tls"].check(value)
    err = info.value
    assert (err.option, err.value) == ("tls", value)
    assert "1 or 0" in str(err)


def test_parse_boolean_is_the_psdk_reading() -> None:
    assert [parse_boolean(v) for v in ("1", "on", "YES", "True")] == [True] * 4
    assert [parse_boolean(v) for v in ("0", "OFF", "no", "FALSE")] == [False] * 4
    assert [parse_boolean(v) for v in ("2", "", " 1", "enabled")] == [None] * 4


@pytest.mark.parametrize(
    ("value", "canonical"),
    [("", ""), ("SSLv23", "SSLv23"), ("TLSv11", "TLSv11"), ("TLSv1.1", "TLSv11"), ("TLSv12", "TLSv12"),
     ("TLSv1.2", "TLSv12"), ("TLSv13", "TLSv13"), ("TLSv1.3", "TLSv13")],
)
def test_sec_protocol_spellings(value: str, canonical: str) -> None:
    assert CATALOGUE["sec-protocol"].check(value) == canonical


@pytest.mark.parametrize("value", ["SSLv2", "SSLv3"])
def test_ssl_is_always_refused(value: str) -> None:
    opt = CATALOGUE["sec-protocol"]
    for legacy in (False, True):
        with pytest.raises(ConfigurationError, match="refused") as info:
            opt.check(value, legacy_protocols=legacy)
        assert info.value.value == value


@pytest.mark.parametrize("value", ["TLSv1", "TLSv1.0", "TLSv10"])
def test_tls10_only_with_legacy(value: str) -> None:
    opt = CATALOGUE["sec-protocol"]
    with pytest.raises(ConfigurationError, match="legacy"):
        opt.check(value)
    assert opt.check(value, legacy_protocols=True) == "TLSv1"


@pytest.mark.parametrize("value", ["TLSv14", "tlsv12", "TLS1.2", "SSLv23 "])
def test_unknown_sec_protocol(value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        CATALOGUE["sec-protocol"].check(value)
    assert "TLSv12" in str(info.value)


def test_choices() -> None:
    assert CATALOGUE["provider"].check("pem") == "PEM"
    assert CATALOGUE["provider"].check("MsCapi") == "MSCAPI"
    with pytest.raises(ConfigurationError):
        CATALOGUE["provider"].check("PKCS12")
    assert CATALOGUE["tls-target-name-check"].check("host") == "host"
    assert CATALOGUE["tls-target-name-check"].check("no") == "no"
    for bad in ("Host", "hostname", "yes"):
        with pytest.raises(ConfigurationError):
            CATALOGUE["tls-target-name-check"].check(bad)


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_empty_refused_unless_empty_ok(name: str) -> None:
    opt = CATALOGUE[name]
    if opt.empty_ok:
        assert opt.check("") == ""
    else:
        with pytest.raises(ConfigurationError) as info:
            opt.check("")
        assert info.value.option == name
        assert info.value.value == ""


def test_empty_ok_options() -> None:
    assert {o.name for o in CATALOGUE.values() if o.empty_ok} == {"sec-protocol", "tls-target-name"}


@pytest.mark.parametrize("name", ["certificate", "trusted-ca"])
def test_thumbprints_only_on_windows(name: str) -> None:
    opt = CATALOGUE[name]
    for tp in (THUMBPRINT, THUMBPRINT.replace(" ", ""), THUMBPRINT.replace(" ", ":").lower()):
        assert is_thumbprint(tp)
        assert opt.check(tp, windows=True) == tp
        with pytest.raises(ConfigurationError, match="thumbprint") as info:
            opt.check(tp)
        assert info.value.option == name


def test_is_thumbprint() -> None:
    assert not is_thumbprint("certs/server.pem")
    assert not is_thumbprint("AB" * 19)  # 38 digits
    assert not is_thumbprint("AB" * 21)
    assert is_thumbprint("  " + "ab" * 20 + " ")


def test_paths_and_names() -> None:
    cert = CATALOGUE["certificate"]
    assert cert.check("certs/leaf.pem,certs/int.pem") == "certs/leaf.pem,certs/int.pem"
    for bad in ("a.pem,,b.pem", "a.pem, ", " "):
        with pytest.raises(ConfigurationError, match="empty file name"):
            cert.check(bad)
    for name in ("certificate-key", "tls-crl", "cipher-list"):
        with pytest.raises(ConfigurationError, match="blank"):
            CATALOGUE[name].check("   ")
    name_opt = CATALOGUE["tls-target-name"]
    for good in ("cs.example.com", "10.0.0.5", "::1", "*.example.com", ""):
        assert name_opt.check(good) == good
    for bad in ("cs example.com", "a/b", "é.example"):
        with pytest.raises(ConfigurationError):
            name_opt.check(bad)
    assert CATALOGUE["certificate"].is_path and CATALOGUE["tls-crl"].is_path
    assert not CATALOGUE["tls-target-name"].is_path


def test_every_refusal_names_option_value_and_valid() -> None:
    for name, bad in [("tls", "2"), ("sec-protocol", "SSLv3"), ("provider", "x"), ("certificate", "")]:
        with pytest.raises(ConfigurationError) as info:
            CATALOGUE[name].check(bad)
        err = info.value
        assert err.option == name and err.value == bad and err.valid


def test_options_reference_is_current() -> None:
    text = render_reference()
    for name in CATALOGUE:
        assert f"| `{name}` |" in text
    written = (DOCS / "options.md").read_text(encoding="utf-8")
    assert written == text, (
        "docs/options.md is out of date: run `python -m genesys_tls.catalogue > docs/options.md`"
    )


def test_other_transport_parameters_are_not_options() -> None:
    assert not set(catalogue.OTHER_TRANSPORT_PARAMETERS) & set(CATALOGUE)


# --- sec-protocol valid values are the catalogue's, not a second list in contexts.py ------------------------


def test_protocol_bounds_valid_values_come_from_the_catalogue() -> None:
    with pytest.raises(ConfigurationError) as info:
        protocol_bounds("TLSv1", legacy=False)
    assert info.value.valid == CATALOGUE["sec-protocol"].valid_text()
