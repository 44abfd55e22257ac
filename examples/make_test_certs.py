"""Write the TEST MATERIAL in ``examples/certs/`` with the project's own PKI (``genesys_tls.pki``).

The files there are made by this script and shipped so that ``examples/environment.yaml`` works as shipped
(``genesys-tls lint``, ``connect``/``serve``, the README's Python snippet). They are test material only:
the private keys are public, in this repository. Never trust ``examples/certs/ca.pem`` anywhere else.

    python examples/make_test_certs.py [FOLDER]      (default: examples/certs next to this script)

The certificates are valid from 2026-01-01 to 2046-01-01 (the CA to 2047-01-01); run this again to renew.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from genesys_tls.pki import CertificateAuthority

#: the validity of the shipped material (long-lived on purpose: examples must run for years as shipped)
NOT_BEFORE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
NOT_AFTER = dt.datetime(2046, 1, 1, tzinfo=dt.UTC)
CA_NOT_AFTER = dt.datetime(2047, 1, 1, tzinfo=dt.UTC)


def write(folder: Path) -> None:
    """Write ``ca.pem``, ``tsrv.pem``/``.key`` (tsrv-host, 127.0.0.1) and ``client.pem``/``.key`` (client-host)."""
    ca = CertificateAuthority.create(
        "genesys_tls examples TEST CA (not for production)", not_before=NOT_BEFORE, not_after=CA_NOT_AFTER
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.pem").write_bytes(ca.cert_pem())
    ca.issue(["tsrv-host", "127.0.0.1"], not_before=NOT_BEFORE, not_after=NOT_AFTER).write(folder, "tsrv")
    ca.issue(["client-host", "127.0.0.1"], not_before=NOT_BEFORE, not_after=NOT_AFTER).write(folder, "client")


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "certs")
