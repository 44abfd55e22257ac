"""The resolver's memos: each distinct raw value is validated once, connections with the same inputs share
their work, and nothing leaks from one environment to another (values, objects, errors)."""

from __future__ import annotations

import gc
from collections import Counter
from typing import Any

import pytest

from genesys_tls import loads
from genesys_tls.catalogue import Option
from genesys_tls.errors import ConfigurationError
from genesys_tls.resolve import resolve_client, resolve_server


def _env(apps: int, protocol: str = "TLSv12", mutual: str = "1") -> str:
    lines = ["hosts: {h: {ip: 127.0.0.1, annex: {security: {trusted-ca: ca.pem, certificate: c.pem, "
             "certificate-key: c.key}}}}", "applications:"]
    lines.append(f"  S: {{host: h, ports: {{secure: {{port: 7001, transport: 'tls=1;tls-mutual={mutual}'}}}}}}")
    for i in range(apps):
        lines.append(f"  C{i}: {{host: h, options: {{security: {{sec-protocol: {protocol}}}}}, connections: "
                     "[{server: S, port-id: secure, transport: 'tls-target-name-check=host'}]}")
    return "\n".join(lines)


def test_each_distinct_raw_value_is_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    env = loads(_env(40))
    calls: Counter[tuple[str, str]] = Counter()
    original = Option.check

    def counting(self: Option, value: str, **kwargs: Any) -> str:
        calls[(self.name, value)] += 1
        return original(self, value, **kwargs)

    monkeypatch.setattr(Option, "check", counting)
    # Values no earlier test validated with these flags: legacy_protocols=True is part of the memo key.
    for i in range(40):
        res = resolve_client(env, f"C{i}", "S", "secure", legacy_protocols=True)
        assert res["sec-protocol"].value == "TLSv12" and res["sec-protocol"].object == f"C{i}"
        assert res["tls-mutual"].normalized == "1" and res.mode.value == "mutual"
    assert calls, "nothing was validated"
    assert max(calls.values()) == 1, calls


def test_same_names_other_values_are_resolved_anew() -> None:
    first = resolve_client(loads(_env(2, mutual="1")), "C1", "S", "secure")
    gc.collect()
    second = resolve_client(loads(_env(2, mutual="0")), "C1", "S", "secure")
    assert (first.mode.value, second.mode.value) == ("mutual", "simple")
    assert resolve_server(loads(_env(1, mutual="0")), "S", "secure")["tls-mutual"].normalized == "0"


def test_an_invalid_value_fails_every_time_with_its_own_location() -> None:
    env = loads(_env(3, protocol="SSLv3"))
    for i in range(3):
        with pytest.raises(ConfigurationError) as caught:
            resolve_client(env, f"C{i}", "S", "secure")
        assert caught.value.object == f"C{i}" and caught.value.option == "sec-protocol"
