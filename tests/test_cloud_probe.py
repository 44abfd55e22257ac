"""The cloud TLS profile probe against real loopback components: an HTTPS cloud application with a certificate
from a test third-party CA, its CRL server, the Portal's redirector, a TLS 1.1-only server and tinyproxy."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from genesys_tls.cli import main
from genesys_tls.cloud.components import (
    CloudApp,
    CloudPKI,
    CRLAnswer,
    CRLServer,
    Redirector,
    Tinyproxy,
    tinyproxy_path,
    tls11_supported,
)
from genesys_tls.cloud.crlfetch import CRLFetchCache, FetchLimits, fetch_crl
from genesys_tls.cloud.probe import ProbeResult, parse_resolve, probe
from genesys_tls.errors import Category, ConfigurationError, TLSError

DOMAIN = "cloud.test"
HOST = f"app.{DOMAIN}"
RESOLVE = {HOST: "127.0.0.1", f"crl.ca.{DOMAIN}": "127.0.0.1"}
needs_tinyproxy = pytest.mark.skipif(tinyproxy_path() is None, reason="tinyproxy is not installed (CI installs it)")


class Lab:
    def __init__(self, root: Path) -> None:
        self.crl = CRLServer()
        self.pki = CloudPKI(root, self.crl.url("ca.crl"))
        self.good = self.pki.leaf(HOST, "good")
        self.revoked = self.pki.leaf(HOST, "revoked")
        self.pki.revoke_last()
        self.wrong_name = self.pki.leaf(f"other.{DOMAIN}", "wrong-name")
        self.no_cdp = self.pki.leaf(HOST, "no-cdp", crl_urls=())
        self.named_cdp = self.pki.leaf(HOST, "named-cdp", crl_urls=(
            f"ldap://crl.ca.{DOMAIN}/cn=ca", f"http://crl.ca.{DOMAIN}:{self.crl.port}/named.crl",
        ))
        self.current = self.pki.crl()
        self.app = CloudApp(*self.good)
        self.url = f"https://{HOST}:{self.app.port}/"

    def serve(self, answer: CRLAnswer, path: str = "ca.crl") -> None:
        self.crl.set(path, answer)

    def probe(self, url: str | None = None, **kwargs: object) -> ProbeResult:
        options: dict[str, object] = {"ca_file": str(self.pki.ca_file), "resolve": RESOLVE, "domain": DOMAIN,
                                      "timeout": 3.0, "cache": CRLFetchCache()}
        options.update(kwargs)
        return probe(url or self.url, **options)  # type: ignore[arg-type]

    def close(self) -> None:
        self.app.close()
        self.crl.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    built = Lab(tmp_path_factory.mktemp("cloud"))
    yield built
    built.close()


@pytest.fixture
def current(lab: Lab) -> Lab:
    lab.serve(CRLAnswer(lab.current))
    return lab


def test_pass_with_every_check(current: Lab) -> None:
    result = current.probe()
    assert result.ok, result.error
    assert result.checks == ("chain", "target-name", "tls1.2", "crl")
    assert result.peer is not None and result.peer.issuer == "CN=Test Public CA"
    assert result.crls == ((current.crl.url("ca.crl"), "ok"),)
    data = result.to_dict()
    assert data["ok"] is True and data["checks"] == ["chain", "target-name", "tls1.2", "crl"] and "error" not in data


def test_a_crl_is_fetched_once_across_two_probes(current: Lab) -> None:
    cache = CRLFetchCache()
    before = current.crl.count("ca.crl")
    assert current.probe(cache=cache).ok
    assert current.probe(cache=cache).ok
    assert current.crl.count("ca.crl") - before == 1
    assert cache.fetches == {current.crl.url("ca.crl"): 1}


def test_an_expired_cache_entry_is_fetched_again(current: Lab) -> None:
    import datetime as dt

    cache = CRLFetchCache()
    url = current.crl.url("ca.crl")
    trusted = [current.pki.ca.cert]
    fetch_crl(url, trusted, cache=cache)
    fetch_crl(url, trusted, cache=cache)
    assert cache.fetches[url] == 1
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=8)  # the CRL's nextUpdate is in 7 days
    with pytest.raises(TLSError) as info:  # fetched again, and the server's CRL is out of date by then too
        fetch_crl(url, trusted, cache=cache, now=later)
    assert info.value.category is Category.CRL_EXPIRED
    assert cache.fetches[url] == 2


def test_revoked_leaf(current: Lab) -> None:
    with CloudApp(*current.revoked) as app:
        result = current.probe(f"https://{HOST}:{app.port}/")
    assert result.category is Category.REVOKED
    assert result.checks == ("chain", "target-name", "tls1.2")
    # soft tolerates an unknown status, never a revoked one
    with CloudApp(*current.revoked) as app:
        assert current.probe(f"https://{HOST}:{app.port}/", revocation="soft").category is Category.REVOKED


def test_crl_server_down_require_and_soft(lab: Lab) -> None:
    lab.serve(CRLAnswer(hang_up=True))
    required = lab.probe()
    assert required.category is Category.CRL_UNAVAILABLE and not required.ok
    soft = lab.probe(revocation="soft")
    assert soft.ok and soft.checks == ("chain", "target-name", "tls1.2")
    assert len(soft.warnings) == 1 and "crl-unavailable" in soft.warnings[0]
    off = lab.probe(revocation="off")
    assert off.ok and "crl" not in off.checks and "not checked" in off.warnings[0]


def test_crl_server_not_listening(lab: Lab, tmp_path: Path) -> None:
    port = lab.crl.port
    with CRLServer() as other:
        dead_port = other.port
    pki = CloudPKI(tmp_path, f"http://127.0.0.1:{dead_port}/ca.crl")
    with CloudApp(*pki.leaf(HOST, "dead")) as app:
        result = probe(f"https://{HOST}:{app.port}/", ca_file=str(pki.ca_file), resolve=RESOLVE, domain=DOMAIN,
                       timeout=3.0, cache=CRLFetchCache())
    assert result.category is Category.CRL_UNAVAILABLE and "cannot fetch" in result.error[1]  # type: ignore[index]
    assert lab.crl.port == port


@pytest.mark.parametrize(
    ("answer", "category", "words"),
    [
        (CRLAnswer(b"this is not a CRL"), Category.CRL_UNAVAILABLE, "neither a PEM nor a DER"),
        (CRLAnswer(b""), Category.CRL_UNAVAILABLE, "empty"),
        (CRLAnswer(b"gone", 404), Category.CRL_UNAVAILABLE, "HTTP 404"),
        (CRLAnswer(b"x" * 300_000), Category.CRL_UNAVAILABLE, "announced"),
        (CRLAnswer(b"x" * 300_000, announce_length=False), Category.CRL_UNAVAILABLE, "more than the limit"),
        (CRLAnswer(b"late", delay=5), Category.CRL_UNAVAILABLE, "timed out"),
    ],
    ids=["garbage", "empty", "404", "oversize", "oversize-unannounced", "slow"],
)
def test_bad_crl_answers_are_categories(lab: Lab, answer: CRLAnswer, category: Category, words: str) -> None:
    lab.serve(answer)
    started = time.monotonic()
    result = lab.probe(crl_limits=FetchLimits(max_bytes=100_000, seconds=1.0))
    assert time.monotonic() - started < 4
    assert result.category is category, result.error
    assert words in result.error[1]  # type: ignore[index]


def test_expired_crl(lab: Lab) -> None:
    lab.serve(CRLAnswer(lab.pki.crl(expired=True)))
    result = lab.probe()
    assert result.category is Category.CRL_EXPIRED and "expired" in result.error[1]  # type: ignore[index]
    assert lab.probe(revocation="soft").ok


def test_crl_signed_by_another_ca(lab: Lab) -> None:
    lab.serve(CRLAnswer(lab.pki.other.crl(der=True)))
    result = lab.probe()
    assert not result.ok and result.category is Category.CRL_UNAVAILABLE
    assert "not signed by the issuer of the server certificate" in result.error[1]  # type: ignore[index]


def test_crl_from_an_untrusted_ca(lab: Lab, tmp_path: Path) -> None:
    only_ca = tmp_path / "only.pem"
    only_ca.write_bytes(lab.pki.ca.cert_pem())
    lab.serve(CRLAnswer(lab.pki.other.crl(der=True)))
    result = lab.probe(ca_file=str(only_ca))
    assert result.category is Category.CRL_UNAVAILABLE and "not issued by a trusted CA" in result.error[1]  # type: ignore[index]


def test_redirects_are_followed_and_bounded(lab: Lab) -> None:
    lab.serve(CRLAnswer(lab.current), "real.crl")
    lab.serve(CRLAnswer(status=302, location=lab.crl.url("real.crl")))
    assert lab.probe().ok
    lab.serve(CRLAnswer(status=302, location=lab.crl.url("ca.crl")))
    loop = lab.probe()
    assert loop.category is Category.CRL_UNAVAILABLE and "redirects" in loop.error[1]  # type: ignore[index]


def test_named_distribution_point_goes_through_the_map_and_skips_ldap(lab: Lab) -> None:
    lab.serve(CRLAnswer(lab.current), "named.crl")
    with CloudApp(*lab.named_cdp) as app:
        result = lab.probe(f"https://{HOST}:{app.port}/")
        assert result.ok, result.error
        assert [outcome for _, outcome in result.crls] == ["crl-unavailable", "ok"]
        # without the CRL host in the map there is no DNS lookup: the CRL cannot be had
        unmapped = lab.probe(f"https://{HOST}:{app.port}/", resolve={HOST: "127.0.0.1"})
    assert unmapped.category is Category.CRL_UNAVAILABLE and "no DNS" in unmapped.error[1]  # type: ignore[index]


def test_leaf_without_distribution_point(current: Lab) -> None:
    with CloudApp(*current.no_cdp) as app:
        url = f"https://{HOST}:{app.port}/"
        assert current.probe(url).category is Category.CRL_UNAVAILABLE
        assert current.probe(url, revocation="soft").ok


def test_name_mismatch(current: Lab) -> None:
    with CloudApp(*current.wrong_name) as app:
        result = current.probe(f"https://{HOST}:{app.port}/")
    assert result.category is Category.NAME_MISMATCH and result.checks == ()


def test_untrusted_with_public_cas(current: Lab) -> None:
    result = probe(current.url, resolve=RESOLVE, domain=DOMAIN, timeout=3.0)  # certifi: the test CA is unknown
    assert result.category is Category.UNTRUSTED


@pytest.mark.skipif(not tls11_supported(), reason="the local OpenSSL refuses TLS 1.1 even at security level 0")
def test_tls11_only_server_is_protocol(current: Lab) -> None:
    with CloudApp(*current.good, tls11_only=True) as app:
        result = current.probe(f"https://{HOST}:{app.port}/")
    assert result.category is Category.PROTOCOL and result.checks == ()


def test_portal_redirect(current: Lab) -> None:
    with Redirector(HOST, current.app.port) as portal:
        result = current.probe(portal=True, http_port=portal.port)
    assert result.ok and result.checks[-1] == "https-redirect"
    with Redirector(HOST, current.app.port, redirect=False) as portal:
        missing = current.probe(portal=True, http_port=portal.port)
    assert not missing.ok and missing.category is Category.PROTOCOL
    assert "instead of a redirect" in missing.error[1]  # type: ignore[index]
    with Redirector("elsewhere.example", 443) as portal:
        wrong = current.probe(portal=True, http_port=portal.port)
    assert "not to https://app.cloud.test" in wrong.error[1]  # type: ignore[index]


@needs_tinyproxy
def test_through_tinyproxy(current: Lab) -> None:
    with Tinyproxy() as proxy:
        result = current.probe(proxy=proxy.address)
    assert result.ok, result.error
    assert result.checks == ("chain", "target-name", "tls1.2", "crl") and result.proxy == proxy.address


@needs_tinyproxy
def test_tinyproxy_wanting_credentials_is_its_own_category(current: Lab) -> None:
    with Tinyproxy(basic_auth=("agent", "test-secret")) as proxy:
        result = current.probe(proxy=proxy.address)
    assert result.category is Category.PROXY_AUTHENTICATION_REQUIRED
    assert "407" in result.error[1] and "test-secret" not in json.dumps(result.to_dict())  # type: ignore[index]


@pytest.mark.parametrize(
    ("url", "kwargs", "words"),
    [
        (f"http://{HOST}/", {}, "must be https"),
        ("https://app.example.com/", {}, "outside the cloud domain"),
        (f"https://{HOST}.evil.example/", {}, "outside the cloud domain"),
        (f"https://other.{DOMAIN}/", {}, "not in the --resolve map"),
        (f"https://{HOST}/", {"revocation": "maybe"}, "unknown revocation policy"),
        (f"https://{HOST}/", {"proxy": "user:pw@127.0.0.1:3128"}, "credentials"),
        (f"https://{HOST}/", {"proxy": "127.0.0.1:0"}, "1 to 65535"),
    ],
)
def test_bad_probe_input_is_a_configuration_error(url: str, kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        probe(url, resolve=RESOLVE, domain=DOMAIN, **kwargs)  # type: ignore[arg-type]


def test_parse_resolve() -> None:
    assert parse_resolve(["App.Cloud.Test:127.0.0.1"]) == {HOST: "127.0.0.1"}
    for bad in ("app.cloud.test", "app.cloud.test:", "app.cloud.test:localhost", ":127.0.0.1"):
        with pytest.raises(ConfigurationError):
            parse_resolve([bad])


def test_fetch_refuses_non_http_urls(lab: Lab) -> None:
    with pytest.raises(TLSError) as info:
        fetch_crl("https://127.0.0.1/ca.crl", [lab.pki.ca.cert], cache=CRLFetchCache())
    assert info.value.category is Category.CRL_UNAVAILABLE


def test_cli_probe(current: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    from genesys_tls.cloud import crlfetch

    crlfetch.default_fetch_cache.clear()
    base = ["cloud", "probe", "--ca", str(current.pki.ca_file), "--resolve", f"{HOST}:127.0.0.1", "--domain", DOMAIN,
            "--timeout", "3"]
    assert main([*base, current.url, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["checks"] == ["chain", "target-name", "tls1.2", "crl"]
    with CloudApp(*current.revoked) as app:
        assert main([*base, f"https://{HOST}:{app.port}/"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL") and "revoked" in out
    crlfetch.default_fetch_cache.clear()
    current.serve(CRLAnswer(hang_up=True))
    assert main([*base, current.url, "--revocation", "soft"]) == 0
    assert "warning: revocation unknown" in capsys.readouterr().out
    crlfetch.default_fetch_cache.clear()


@pytest.mark.parametrize(
    "extra",
    [
        ["http://app.cloud.test/"],
        ["https://app.example.com/"],
        ["https://app.cloud.test/", "--resolve", "app.cloud.test"],
        ["https://app.cloud.test/", "--proxy", "u:secret@127.0.0.1:3128"],
        ["https://app.cloud.test/", "--proxy", "127.0.0.1:0"],
        ["https://app.cloud.test/", "--timeout", "nan"],
        ["https://app.cloud.test/", "--ca", "/nonexistent/ca.pem", "--resolve", "app.cloud.test:127.0.0.1"],
    ],
)
def test_cli_probe_bad_input_exits_2_with_one_line(extra: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cloud", "probe", "--domain", DOMAIN, *extra]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "secret" not in err


def test_a_server_that_never_answers_is_a_bounded_connection_failure(lab: Lab) -> None:
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        started = time.monotonic()
        result = lab.probe(f"https://{HOST}:{silent.getsockname()[1]}/", timeout=0.5)
    assert time.monotonic() - started < 3
    assert result.category is Category.CONNECTION and "timed out" in result.error[1]  # type: ignore[index]


def test_leaf_of_an_intermediate_the_ca_file_does_not_hold(lab: Lab, tmp_path: Path) -> None:
    """A public CA's leaf comes from an intermediate the server sends: its CRL is checked against the verified
    chain; ``chain_crls`` also asks for the intermediate's own CRL (this one names no distribution point)."""
    intermediate = lab.pki.ca.intermediate("Test Public Issuing CA")
    leaf = intermediate.issue(HOST, server_auth=True, client_auth=False, crl_urls=(lab.crl.url("issuing.crl"),))
    cert, key = leaf.write(tmp_path, "issued")
    lab.serve(CRLAnswer(intermediate.crl(der=True)), "issuing.crl")
    root_only = tmp_path / "root.pem"
    root_only.write_bytes(lab.pki.ca.cert_pem())
    with CloudApp(cert, key) as app:
        url = f"https://{HOST}:{app.port}/"
        result = lab.probe(url, ca_file=str(root_only))
        assert result.ok, result.error
        assert result.checks == ("chain", "target-name", "tls1.2", "crl")
        whole = lab.probe(url, ca_file=str(root_only), chain_crls=True)
        assert whole.category is Category.CRL_UNAVAILABLE
        assert "intermediate CA 'CN=Test Public Issuing CA' names no CRL Distribution Point" in whole.error[1]  # type: ignore[index]
        intermediate.revoke(leaf)
        lab.serve(CRLAnswer(intermediate.crl(der=True)), "issuing.crl")
        assert lab.probe(url, ca_file=str(root_only)).category is Category.REVOKED
