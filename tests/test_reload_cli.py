"""``genesys-tls serve --watch``: a rotation while serving, one event line between the handshake lines (text and
JSON, the JSON validated against docs/schemas/serve.schema.json), a refused reload keeps serving."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import jsonschema
import pytest
import referencing
from _reload_pki import PKI

from genesys_tls.handshake import connect
from genesys_tls.loaders import load
from genesys_tls.resolve import resolve_client

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = {p.name: json.loads(p.read_text()) for p in (ROOT / "docs" / "schemas").glob("*.schema.json")}
REGISTRY: referencing.Registry = referencing.Registry().with_resources(  # type: ignore[type-arg]
    (s["$id"], referencing.Resource.from_contents(s)) for s in SCHEMAS.values()
)
TIMEOUT = 20.0


def _line(stream: IO[str], pattern: str, deadline: float) -> str:
    """The next line of ``stream`` matching ``pattern`` (lines are read in a bounded loop)."""
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        if re.search(pattern, line):
            return line
    raise AssertionError(f"no line matching {pattern!r}")


@pytest.mark.parametrize("json_output", [True, False])
def test_serve_watch_applies_a_rotation_and_refuses_a_broken_file(tmp_path: Path, json_output: bool) -> None:
    pki = PKI(tmp_path)
    argv = [sys.executable, "-m", "genesys_tls", "serve", str(pki.env_file), "--app", "TServer", "--port",
            "secure", "--address", "127.0.0.1:0", "--watch", "--timeout", "10"]
    proc = subprocess.Popen([*argv, *(["--json"] if json_output else [])], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    try:
        assert proc.stderr is not None and proc.stdout is not None
        where = re.search(r"listening on (\S+)", _line(proc.stderr, "listening on", deadline)).group(1)  # type: ignore[union-attr]
        resolved = resolve_client(load(pki.env_file), "Client", "TServer", "secure")
        assert connect(resolved, address=where, timeout=TIMEOUT).ok
        first = _line(proc.stdout, "accepted|ok", deadline)
        pki.rotate()
        event_line = _line(proc.stdout, "reload", deadline)
        assert connect(resolved, address=where, timeout=TIMEOUT).ok
        second = _line(proc.stdout, "accepted|ok", deadline)
        (pki.folder / "server.pem").write_text("-----BEGIN CERTIFICATE-----\nhalf")
        refused_line = _line(proc.stdout, "reload", deadline)
        assert connect(resolved, address=where, timeout=TIMEOUT).ok  # still served, old generation
        third = _line(proc.stdout, "accepted|ok", deadline)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    if not json_output:
        assert first.startswith("accepted") and second.startswith("accepted") and third.startswith("accepted")
        assert event_line.startswith("reload applied: generation 1") and "certificate" in event_line
        assert refused_line.startswith("reload refused: generation 1 kept: configuration")
        return
    docs = [json.loads(x) for x in (first, event_line, second, refused_line, third)]
    for doc in docs:
        jsonschema.Draft202012Validator(SCHEMAS["serve.schema.json"], registry=REGISTRY).validate(doc)
    handshake, event, after, refused, kept = docs
    assert handshake["ok"] and handshake["generation"] == 0
    assert event["event"] == "reload" and event["applied"] is True and event["generation"] == 1
    assert event["error"] is None and {c["role"] for c in event["changes"]} == {"certificate", "key"}
    assert after["ok"] and after["generation"] == 1
    assert refused["applied"] is False and refused["generation"] == 1
    assert refused["error"]["kind"] == "configuration" and "server.pem" in refused["error"]["message"]
    assert kept["ok"] and kept["generation"] == 1
