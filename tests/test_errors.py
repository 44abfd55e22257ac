"""Errors: ConfigurationError names where and what; TLSError carries a contract category."""

from __future__ import annotations

import pytest

from genesys_tls.errors import (
    Category,
    ConfigurationError,
    GenesysTLSError,
    TLSError,
)


def full() -> ConfigurationError:
    return ConfigurationError(
        "tls is not a boolean",
        file="env.yaml",
        object="TServer_SIP",
        level="port",
        option="tls",
        value="2",
        valid=("1", "0"),
    )


def test_configuration_error_is_one_line_naming_everything() -> None:
    text = str(full())
    assert "\n" not in text
    assert text == (
        "tls is not a boolean (file env.yaml, object TServer_SIP, level port, option tls); got '2'; "
        "valid: '1', '0'"
    )


def test_configuration_error_attributes() -> None:
    err = full()
    assert (err.reason, err.file, err.object, err.level, err.option, err.value) == (
        "tls is not a boolean", "env.yaml", "TServer_SIP", "port", "tls", "2",
    )
    assert err.valid == ("1", "0")
    assert ConfigurationError("x", valid=["a", "b"]).valid == ("a", "b")
    assert ConfigurationError("x", valid="a PEM path").valid == "a PEM path"


def test_configuration_error_families() -> None:
    err = full()
    assert isinstance(err, ValueError)
    assert isinstance(err, GenesysTLSError)
    with pytest.raises(ValueError, match="not a boolean"):
        raise err


def test_configuration_error_minimal() -> None:
    assert str(ConfigurationError("file not found")) == "file not found"
    assert str(ConfigurationError("bad", file="f.yaml")) == "bad (file f.yaml)"
    assert str(ConfigurationError("bad", value="")) == "bad; got ''"
    assert str(ConfigurationError("bad", valid="a PEM path")) == "bad; valid: a PEM path"


def test_value_is_quoted_so_the_line_stays_one_line() -> None:
    text = str(ConfigurationError("bad", value="a\nb", valid=("x\ny",)))
    assert "\n" not in text
    assert "'a\\nb'" in text


def test_located_fills_only_missing_parts() -> None:
    err = ConfigurationError("bad", option="tls", value="2", valid=("1", "0"))
    located = err.located(file="env.yaml", object="S", level="port", option="other")
    assert located is not err
    assert type(located) is ConfigurationError
    assert (located.file, located.object, located.level, located.option) == ("env.yaml", "S", "port", "tls")
    assert (located.reason, located.value, located.valid) == ("bad", "2", ("1", "0"))
    assert err.file is None  # the original is unchanged
    again = full().located(file="other.yaml", object="X", level="host-annex", option="y")
    assert (again.file, again.object, again.level, again.option) == ("env.yaml", "TServer_SIP", "port", "tls")
    assert str(again) == str(full())


def test_located_keeps_the_subclass() -> None:
    class Special(ConfigurationError):
        pass

    assert type(Special("x").located(file="f")) is Special


@pytest.mark.parametrize("category", list(Category))
def test_tls_error_carries_a_category(category: Category) -> None:
    err = TLSError(category.value, "details here")
    assert err.category is category
    assert err.detail == "details here"
    assert str(err) == f"{category.value}: details here"
    assert isinstance(err, OSError)
    assert isinstance(err, GenesysTLSError)
    assert not isinstance(err, ValueError)
    result = object()
    assert TLSError(category, "d", result=result).result is result


def test_categories_are_the_contracts() -> None:
    second_round = {"address-refused", "subject-mismatch", "proxy-authentication-required"}
    assert {c.value for c in Category} == {
        "untrusted", "name-mismatch", "revoked", "expired", "not-yet-valid", "crl-unavailable", "crl-expired",
        "protocol", "client-certificate-required", "connection",
    } | second_round  # second round: SIP Endpoint address ranges and subject check, the cloud probe's proxy
    with pytest.raises(ValueError):
        TLSError("not-a-category", "x")
