"""``genesys_tls.loadgen`` and ``genesys-tls load``: bounded load runs against simulated servers on 127.0.0.1
built from the same environment (real handshakes, certificates made at test time): the counts, the holding,
the failure categories (a chain refused by the client, a certificate refused by a TLS 1.3 server after the
handshake, nobody listening), the arguments refused and the JSON shape.

Every run is bounded (a number of connections or a duration, and a handshake timeout).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import genesys_tls as gt
from genesys_tls.cli import main
from genesys_tls.errors import ConfigurationError
from genesys_tls.harness import SimulatedServer
from genesys_tls.loadgen import ensure_descriptors, percentile, run_load
from genesys_tls.pki import PKIFiles, build_pki

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "schemas" / "load.schema.json").read_text())
CLIENT = "Client_client-host"
BARE = "Client_bare"
TIMEOUT = 5.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    files = build_pki(tmp_path_factory.mktemp("load-pki"))
    data = yaml.safe_load(files.environment.read_text())
    # A client host without a certificate of its own, and a copy of the T-Server with a certificate from
    # another CA.
    data["hosts"]["bare-host"] = {"ip": "127.0.0.1", "os": "unix",
                                  "annex": {"security": {"trusted-ca": "certs/ca.pem"}}}
    data["hosts"]["rogue-host"] = {"ip": "127.0.0.1", "os": "unix", "annex": {"security": {
        "certificate": "certs/wrong-issuer.pem", "certificate-key": "certs/wrong-issuer.key",
        "trusted-ca": "certs/ca.pem"}}}
    data["applications"]["Rogue"] = {"type": "T-Server", "host": "rogue-host",
                                     "ports": {"secure": {"port": 7101, "transport": "tls=1"}}}
    data["applications"][BARE] = {"type": "Third Party Application", "host": "bare-host", "connections": [
        {"server": "TServer", "port-id": "mutual"}]}
    data["applications"][CLIENT]["connections"].append({"server": "Rogue", "port-id": "secure"})
    files.environment.write_text(yaml.safe_dump(data))
    return files


@pytest.fixture(scope="module")
def env(pki: PKIFiles) -> gt.Environment:
    return gt.load(pki.environment)


@pytest.fixture
def server(env: gt.Environment) -> Iterator[Any]:
    started: list[SimulatedServer] = []

    def factory(app: str, port_id: str) -> SimulatedServer:
        s = SimulatedServer(env, app, port_id, port=0, timeout=TIMEOUT)
        s.start()
        started.append(s)
        return s

    yield factory
    for s in started:
        s.stop()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("port_id", ["secure", "mutual"])
def test_opens_the_connections_and_holds_them(env: gt.Environment, server: Any, port_id: str) -> None:
    srv = server("TServer", port_id)
    result = run_load(gt.resolve_client(env, CLIENT, "TServer", port_id), connections=6, address=srv.address,
                      timeout=TIMEOUT)
    assert (result.handshakes, result.attempts, result.failures) == (6, 6, {})
    assert result.held == 6 and result.peak_held == 6
    assert result.mode == ("mutual" if port_id == "mutual" else "simple")
    assert result.latency_ms is not None
    assert 0 < result.latency_ms["p50"] <= result.latency_ms["p95"] <= result.latency_ms["p99"]
    assert result.ok
    # The server saw every one of them, accepted (mutual: with the client's certificate).
    records = srv.wait_for(6, timeout=TIMEOUT)
    assert len(records) == 6 and all(r.ok for r in records)
    if port_id == "mutual":
        assert all(r.authenticated for r in records)


def test_with_a_duration_it_keeps_at_most_n_open_and_closes_the_oldest(env: gt.Environment, server: Any) -> None:
    srv = server("TServer", "secure")
    started = time.monotonic()
    result = run_load(gt.resolve_client(env, CLIENT, "TServer", "secure"), connections=3, rate=40.0,
                      duration=1.0, address=srv.address, timeout=TIMEOUT)
    assert time.monotonic() - started < 1.0 + 2 * TIMEOUT
    # 40/s for a second: at most 41 openings by the schedule, every one a handshake.
    assert 3 < result.attempts <= 41
    assert result.handshakes == result.attempts and not result.failures
    assert result.peak_held == 3 and result.held == 3
    assert srv.wait_for(result.attempts, timeout=TIMEOUT)


def test_a_chain_the_client_refuses_is_an_untrusted_failure(env: gt.Environment, server: Any) -> None:
    srv = server("Rogue", "secure")
    result = run_load(gt.resolve_client(env, CLIENT, "Rogue", "secure"), connections=4, address=srv.address,
                      timeout=TIMEOUT)
    assert result.handshakes == 0 and result.failures == {"untrusted": 4}
    assert result.held == 0 and result.latency_ms is None and not result.ok
    assert "certificate" in result.failure_details["untrusted"]


def test_a_missing_client_certificate_refused_after_the_handshake_is_a_failure(
    env: gt.Environment, server: Any
) -> None:
    srv = server("TServer", "mutual")
    result = run_load(gt.resolve_client(env, BARE, "TServer", "mutual"), connections=3, address=srv.address,
                      timeout=TIMEOUT)
    assert result.handshakes == 0
    assert result.failures == {"client-certificate-required": 3}
    assert result.held == 0


def test_nobody_listening_is_a_connection_failure(env: gt.Environment) -> None:
    result = run_load(gt.resolve_client(env, CLIENT, "TServer", "secure"), connections=3,
                      address=("127.0.0.1", _closed_port()), timeout=TIMEOUT)
    assert result.handshakes == 0 and result.failures == {"connection": 3}


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [({"connections": 0}, "connections"), ({"connections": 1, "rate": 0.0}, "rate"),
     ({"connections": 1, "duration": float("nan")}, "duration"), ({"connections": 1, "concurrency": 0},
                                                                   "concurrency")],
)
def test_bad_arguments_are_refused(env: gt.Environment, kwargs: dict[str, Any], option: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        run_load(gt.resolve_client(env, CLIENT, "TServer", "secure"), address=("127.0.0.1", 1), **kwargs)
    assert caught.value.option == option


def test_more_connections_than_the_hard_file_limit_are_refused() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ensure_descriptors(10**9)
    assert caught.value.option == "connections"


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)) == (50.0, 95.0, 99.0)
    assert percentile([7.0], 0.99) == 7.0


def test_cli_json_matches_the_schema_and_exit_codes(
    pki: PKIFiles, server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    srv = server("TServer", "secure")
    address = f"127.0.0.1:{srv.address[1]}"
    code = main(["load", str(pki.environment), "--app", CLIENT, "--connection", "TServer/secure", "--address",
                 address, "--connections", "4", "--json", "--timeout", str(TIMEOUT)])
    out, err = capsys.readouterr()
    document = json.loads(out)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert code == 0 and document["handshakes"] == 4 and document["held"] == 4 and document["failures"] == {}
    assert "\r" not in err  # no progress display when stderr is not a terminal

    rogue = server("Rogue", "secure")
    code = main(["load", str(pki.environment), "--app", CLIENT, "--connection", "Rogue/secure", "--address",
                 f"127.0.0.1:{rogue.address[1]}", "--connections", "2", "--json"])
    document = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert code == 1 and document["failures"] == {"untrusted": 2}

    code = main(["load", str(pki.environment), "--app", CLIENT, "--connection", "TServer/secure", "--address",
                 address, "--connections", "3"])
    out = capsys.readouterr().out
    assert code == 0 and "3 handshakes of 3 attempts" in out and "p95" in out


def test_cli_refuses_bad_numbers(pki: PKIFiles, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["load", str(pki.environment), "--app", CLIENT, "--connection", "TServer/secure", "--address",
            "127.0.0.1:1"]
    for extra in (["--connections", "0"], ["--connections", "2", "--rate", "-1"],
                  ["--connections", "2", "--duration", "inf"]):
        assert main([*base, *extra]) == 2
        assert "Traceback" not in capsys.readouterr().err
