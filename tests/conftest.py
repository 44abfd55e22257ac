"""Shared fixtures of the test suite.

The session's test PKI is the project's own ``genesys_pki`` fixture (the pytest plugin of
:mod:`genesys_tls.pytest_plugin`): one PKI and ``environment.yaml`` per session, used as ``pki`` by the test
modules. Tests treat it as read-only: a test that needs a variant writes it next to it under a new name.
"""

from __future__ import annotations

import pytest

from genesys_tls.pki import PKIFiles


@pytest.fixture(scope="session")
def pki(genesys_pki: PKIFiles) -> PKIFiles:
    """The session's test PKI (``genesys_pki``)."""
    return genesys_pki
