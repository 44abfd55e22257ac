"""Fixtures of the interop tests: the ``openssl`` binary (skipped, saying why, when it is absent) and one
PKI per session made with the openssl command line."""

from __future__ import annotations

import pytest
from openssl_tools import InteropPKI, build_interop_pki, openssl_binary


@pytest.fixture(scope="session")
def openssl() -> str:
    binary = openssl_binary()
    if binary is None:
        pytest.skip("the openssl command line is not installed (the interop tests run it)")
    return binary


@pytest.fixture(scope="session")
def pki(openssl: str, tmp_path_factory: pytest.TempPathFactory) -> InteropPKI:
    return build_interop_pki(tmp_path_factory.mktemp("interop-pki"), openssl)
