"""Resolution against a naive reference resolver written from the spec's rules, on random environments.

The reference (:func:`reference_client`, :func:`reference_server`) works on the raw generated data, reads
transport strings with a literal ``findTransportParameter`` and walks the layers by hand (spec section 3.2):

* server: port > application options > application annex > host annex; client: connection > application
  options > application annex > the client's own host annex; the first present value wins (``""`` too);
* the certificate group comes whole from the first layer that sets any member; missing members are unset;
* client ``tls`` = isTrue(own lookup) OR isTrue(target port ``tls``); the PSDK reading consults the target
  port only when the connection names a port id, and reads ``tls`` at every level; the doc reading reads
  ``tls`` only at the port/connection and takes ``default`` for a connection without a port id;
* client ``tls-mutual``/``upgrade`` = the target port's server-side effective value (``target-port``);
* mode: plain, encryption-only (client-auth=0), mutual, simple, in that order.

Values are drawn from the catalogue's valid spellings (and, in the second test, from known-invalid ones) so
that the reference knows, without asking the library, which values are valid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import genesys_tls as gt
from genesys_tls.catalogue import CATALOGUE, CERTIFICATE_GROUP, Kind, Side
from genesys_tls.loaders import environment_from_data

# ------------------------------------------------------------------------------------------- the values

SAMPLES: dict[Kind, tuple[str, ...]] = {
    Kind.CERTIFICATE: ("certs/a.pem", "/etc/pki/b.pem", "leaf.pem,int.pem"),
    Kind.KEY: ("certs/a.key", "/etc/pki/b.key"),
    Kind.TRUST: ("ca.pem", "/etc/pki/ca-bundle.pem"),
    Kind.CRL: ("crl.pem", "/var/crl/all.crl"),
    Kind.NAME: ("cs.example.com", "10.0.0.5", ""),
    Kind.CIPHERS: ("ECDHE+AESGCM:!aNULL", "HIGH"),
}
BAD_BY_KIND: dict[Kind, tuple[str, ...]] = {
    Kind.BOOLEAN: ("2", "enabled", "", " 1"),
    Kind.CERTIFICATE: ("", "a.pem,,b.pem"),
    Kind.KEY: ("", "  "),
    Kind.TRUST: ("", " "),
    Kind.CRL: ("",),
    Kind.NAME: ("bad name!",),
    Kind.CIPHERS: ("", " "),
}
BAD_CHOICE: dict[str, tuple[str, ...]] = {
    "provider": ("PKCS12", ""),
    "tls-target-name-check": ("Host", "hostname", ""),
    "sec-protocol": ("SSLv3", "SSLv2", "TLSv14"),
}
LEGACY: dict[str, tuple[str, ...]] = {"sec-protocol": ("TLSv1", "TLSv1.0", "TLSv10")}


def good_values(name: str) -> tuple[str, ...]:
    opt = CATALOGUE[name]
    if opt.kind is Kind.BOOLEAN:
        values = opt.valid_values()
        return values + tuple(v.upper() for v in values if v.isalpha()) + ("Yes", "True")
    if opt.kind is Kind.CHOICE:
        values = opt.valid_values()
        return values + (("pem", "Jks") if name == "provider" else ())
    return SAMPLES[opt.kind]


def bad_values(name: str) -> tuple[str, ...]:
    opt = CATALOGUE[name]
    return BAD_CHOICE[name] if opt.kind is Kind.CHOICE else BAD_BY_KIND[opt.kind]


GOOD = {name: good_values(name) for name in CATALOGUE}
BAD = {name: bad_values(name) for name in CATALOGUE}
for _name, _values in GOOD.items():  # the sets the reference judges by must not overlap
    assert not set(_values) & set(BAD[_name]) and not set(_values) & set(LEGACY.get(_name, ()))


def is_valid(name: str, value: str, legacy: bool) -> bool:
    if value in LEGACY.get(name, ()):
        return legacy
    if value in GOOD[name]:
        return True
    assert value in BAD[name], (name, value)
    return False


def is_true(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "on", "yes", "true")


def is_false(value: str | None) -> bool:
    return value is not None and value.lower() in ("0", "off", "no", "false")


# ------------------------------------------------------------------------------------------ the world


@dataclass
class App:
    host: str | None
    ao: dict[str, str]
    aa: dict[str, str]
    ports: dict[str, list[tuple[str, str]]]  # port id -> transport pieces (key, value), in order
    conns: list[tuple[str | None, list[tuple[str, str]]]] = field(default_factory=list)


@dataclass
class World:
    hosts: dict[str, dict[str, str]]  # host -> Host Annex [security]
    apps: dict[str, App]
    legacy: bool


def transport_text(pieces: list[tuple[str, str]]) -> str:
    return ";".join(f"{k}={v}" for k, v in pieces)


def to_data(world: World) -> dict[str, Any]:
    hosts = {name: {"annex": {"security": sec, "other": {"tls": "1"}}} for name, sec in world.hosts.items()}
    apps: dict[str, Any] = {}
    for name, app in world.apps.items():
        a: dict[str, Any] = {
            "options": {"security": app.ao, "Security": {"tls": "1"}},
            "annex": {"security": app.aa},
            "ports": {pid: {"port": 7000 + i, "transport": transport_text(pieces)}
                      for i, (pid, pieces) in enumerate(app.ports.items())},
            "connections": [
                {"server": "S", "transport": transport_text(pieces), **({} if pid is None else {"port-id": pid})}
                for pid, pieces in app.conns
            ],
        }
        if app.host is not None:
            a["host"] = app.host
        apps[name] = a
    return {"hosts": hosts, "applications": apps}


OPTION_NAMES = st.sampled_from(sorted(CATALOGUE))


@st.composite
def option_value(draw: st.DrawFn, name: str, legacy: bool, bad: bool) -> str:
    pool = GOOD[name] + (LEGACY.get(name, ()) if legacy else ())
    if bad and draw(st.integers(0, 5)) == 0:
        pool = BAD[name]
    return draw(st.sampled_from(pool))


@st.composite
def section(draw: st.DrawFn, legacy: bool, bad: bool) -> dict[str, str]:
    names = draw(st.lists(OPTION_NAMES, unique=True, max_size=6))
    return {n: draw(option_value(n, legacy, bad)) for n in names}


@st.composite
def pieces(draw: st.DrawFn, legacy: bool, bad: bool) -> list[tuple[str, str]]:
    """Transport pieces: catalogue options, plus noise the PSDK does not read as those options."""
    out: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(0, 5))):
        name = draw(OPTION_NAMES)
        kind = draw(st.sampled_from(["plain", "plain", "plain", "dup-bad", "upper", "space", "unknown"]))
        if kind == "plain":
            out.append((name, draw(option_value(name, legacy, bad))))
        elif kind == "dup-bad":  # a later duplicate is never read, even when it is invalid
            out.append((name, draw(option_value(name, legacy, bad))))
            out.append((name, draw(st.sampled_from(BAD[name]))))
        elif kind == "upper":
            out.append((name.upper(), draw(st.sampled_from(BAD[name] + GOOD[name]))))
        elif kind == "space":
            out.append((" " + name, draw(st.sampled_from(BAD[name] + GOOD[name]))))
        else:
            out.append(("x-" + name, "whatever"))
    return out


@st.composite
def worlds(draw: st.DrawFn, bad: bool = False) -> World:
    legacy = draw(st.booleans())
    host_names = draw(st.lists(st.sampled_from(["H1", "H2", "H3"]), unique=True, max_size=3))
    hosts = {h: draw(section(legacy, bad)) for h in host_names}
    host_choice = st.sampled_from([None, *host_names])
    port_ids = draw(st.lists(st.sampled_from(["default", "secure", "p2"]), unique=True, min_size=1, max_size=3))
    server = App(
        draw(host_choice),
        draw(section(legacy, bad)),
        draw(section(legacy, bad)),
        {pid: draw(pieces(legacy, bad)) for pid in port_ids},
    )
    conn_ids: list[str | None] = list(port_ids)
    if "default" in port_ids:
        conn_ids += [None, ""]
    client_ports = draw(st.lists(st.sampled_from(["default", "c1"]), unique=True, max_size=2))
    client = App(
        draw(host_choice),
        draw(section(legacy, bad)),
        draw(section(legacy, bad)),
        {pid: draw(pieces(legacy, bad)) for pid in client_ports},
        [(draw(st.sampled_from(conn_ids)), draw(pieces(legacy, bad))) for _ in range(draw(st.integers(1, 3)))],
    )
    return World(hosts, {"S": server, "A": client}, legacy)


# -------------------------------------------------------------------------------------- the reference

Layer = tuple[str, str | None, Callable[[str], str | None]]  # (source, object, get)
Used = tuple[str, str]  # (option, value) read by the resolution
Result = dict[str, tuple[str | None, str, str | None]]  # option -> (value, source, object)


def find_transport_parameter(text: str, key: str) -> str | None:
    if text.strip() == "":
        return None
    for piece in text.split(";"):
        if piece.startswith(key + "="):
            return piece[len(key) + 1 :]
    return None


def layers(world: World, app_name: str, first: Layer) -> list[Layer]:
    app = world.apps[app_name]
    out = [first, ("application-options", app_name, app.ao.get), ("application-annex", app_name, app.aa.get)]
    if app.host is not None:
        out.append(("host-annex", app.host, world.hosts[app.host].get))
    return out


def transport_layer(source: str, obj: str, pieces: list[tuple[str, str]]) -> Layer:
    text = transport_text(pieces)
    return (source, obj, lambda key: find_transport_parameter(text, key))


def lookup(ls: list[Layer], name: str) -> tuple[str, str, str | None] | None:
    for source, obj, get in ls:
        value = get(name)
        if value is not None:
            return value, source, obj
    return None


def default(name: str) -> tuple[str | None, str, str | None]:
    return CATALOGUE[name].default, "default", None


def resolve_group(ls: list[Layer], result: Result, used: list[Used]) -> None:
    for source, obj, get in ls:
        if any(get(m) is not None for m in CERTIFICATE_GROUP):
            for m in CERTIFICATE_GROUP:
                value = get(m)
                if value is None:
                    result[m] = default(m)
                else:
                    result[m] = (value, source, obj)
                    used.append((m, value))
            return
    for m in CERTIFICATE_GROUP:
        result[m] = default(m)


def resolve_plain(ls: list[Layer], name: str, result: Result, used: list[Used]) -> None:
    hit = lookup(ls, name)
    if hit is None:
        result[name] = default(name)
    else:
        result[name] = hit
        used.append((name, hit[0]))


def reference_server(world: World, app: str, port_id: str, reading: str) -> tuple[Result, str, list[Used]]:
    ls = layers(world, app, transport_layer("port", app, world.apps[app].ports[port_id]))
    result: Result = {}
    used: list[Used] = []
    resolve_group(ls, result, used)
    for name in CATALOGUE:
        if name in CERTIFICATE_GROUP:
            continue
        resolve_plain(ls[:1] if name == "tls" and reading == "doc" else ls, name, result, used)
    if not is_true(result["tls"][0]):
        mode = "plain"
    elif is_true(result["tls-mutual"][0]):
        mode = "mutual"
    else:
        mode = "simple"
    return result, mode, used


def reference_client(
    world: World, conn_index: int, reading: str
) -> tuple[Result, str, list[Used]]:
    port_id, conn_pieces = world.apps["A"].conns[conn_index]
    server = world.apps["S"]
    ls = layers(world, "A", transport_layer("connection", "A", conn_pieces))
    result: Result = {}
    used: list[Used] = []
    resolve_group(ls, result, used)
    target = port_id or "default"
    for name, opt in CATALOGUE.items():
        if name in CERTIFICATE_GROUP:
            continue
        if name == "tls":
            own = lookup(ls[:1] if reading == "doc" else ls, "tls")
            if own is not None:
                used.append(("tls", own[0]))
            checked = target if reading == "doc" else (port_id or None)
            port_tls = None
            if checked is not None and checked in server.ports:
                port_tls = find_transport_parameter(transport_text(server.ports[checked]), "tls")
                if port_tls is not None:
                    used.append(("tls", port_tls))
            if own is not None and is_true(own[0]):
                result[name] = own
            elif is_true(port_tls):
                result[name] = (port_tls, "target-port", "S")
            else:
                result[name] = own if own is not None else default(name)
        elif opt.side is Side.SERVER:
            if target in server.ports:
                theirs, _, _ = reference_server(world, "S", target, reading)
                value, source, _ = theirs[name]
                result[name] = (value, "target-port", "S")
                if source != "default":
                    assert value is not None
                    used.append((name, value))
            else:
                result[name] = default(name)
        else:
            resolve_plain(ls, name, result, used)
    if not is_true(result["tls"][0]):
        mode = "plain"
    elif is_false(result["client-auth"][0]):
        mode = "encryption-only"
    elif is_true(result["tls-mutual"][0]):
        mode = "mutual"
    else:
        mode = "simple"
    return result, mode, used


# ---------------------------------------------------------------------------------------------- checks


def got(res: gt.ResolvedSecurity) -> Result:
    return {o.name: (o.value, o.source.value, o.object) for o in res}


def assert_same(res: gt.ResolvedSecurity, expected: Result, mode: str, what: str) -> None:
    actual = got(res)
    assert list(actual) == list(CATALOGUE)
    for name in CATALOGUE:
        assert actual[name] == expected[name], (what, name, actual[name], expected[name])
        opt = CATALOGUE[name]
        if opt.kind is Kind.BOOLEAN and expected[name][0] is not None:
            assert res[name].normalized == ("1" if is_true(expected[name][0]) else "0"), (what, name)
    assert res.mode.value == mode, (what, res.mode.value, mode)


def cases(world: World) -> list[tuple[str, Any]]:
    """Every resolution of the world: each server port, each client port, each client connection."""
    out: list[tuple[str, Any]] = []
    for app in ("S", "A"):
        out += [("server", (app, pid)) for pid in world.apps[app].ports]
    seen: set[str] = set()
    for index, (pid, _) in enumerate(world.apps["A"].conns):
        effective = pid or "default"
        if effective not in seen:
            seen.add(effective)
            out.append(("client", (index, effective)))
    out.append(("client", (0, None)))  # no port id asked: the first connection
    return out


def run(
    env: gt.Environment, world: World, kind: str, args: Any, reading: str
) -> tuple[Callable[[], gt.ResolvedSecurity], tuple[Result, str, list[Used]]]:
    if kind == "server":
        app, pid = args
        return (
            lambda: gt.resolve_server(env, app, pid, reading=reading, legacy_protocols=world.legacy),
            reference_server(world, app, pid, reading),
        )
    index, pid = args
    return (
        lambda: gt.resolve_client(env, "A", "S", pid, reading=reading, legacy_protocols=world.legacy),
        reference_client(world, index, reading),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_resolution_agrees_with_the_reference(world: World) -> None:
    env = environment_from_data(to_data(world))
    for reading in ("psdk", "doc"):
        for kind, args in cases(world):
            resolve, (expected, mode, _) = run(env, world, kind, args, reading)
            assert_same(resolve(), expected, mode, f"{reading} {kind} {args}")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(bad=True))
def test_raises_only_when_a_value_read_is_invalid(world: World) -> None:
    env = environment_from_data(to_data(world))  # loading never judges option values
    for reading in ("psdk", "doc"):
        for kind, args in cases(world):
            resolve, (expected, mode, used) = run(env, world, kind, args, reading)
            invalid = [(n, v) for n, v in used if not is_valid(n, v, world.legacy)]
            what = f"{reading} {kind} {args}"
            try:
                res = resolve()
            except gt.ConfigurationError as err:
                assert invalid, (what, str(err))
                assert (err.option, err.value) in invalid, (what, str(err), invalid)
                assert err.level in ("port", "connection", "application-options", "application-annex",
                                     "host-annex"), str(err)
                assert err.object in ("S", "A", "H1", "H2", "H3"), str(err)
            else:
                assert not invalid, (what, invalid)
                assert_same(res, expected, mode, what)


def test_reference_sanity() -> None:
    """The reference itself, on the spec's cases 8-11 (so that a shared mistake would show)."""
    server = App(None, {}, {}, {"default": [("tls", "1")], "secure": [("tls", "1")]})
    client = App(None, {}, {}, {}, [(None, []), ("secure", [("tls", "0")])])
    world = World({}, {"S": server, "A": client}, False)
    assert reference_client(world, 0, "psdk")[0]["tls"] == ("0", "default", None)  # case 10, psdk
    assert reference_client(world, 0, "doc")[0]["tls"] == ("1", "target-port", "S")  # case 10, doc
    assert reference_client(world, 1, "psdk")[0]["tls"] == ("1", "target-port", "S")  # case 9
    world.apps["S"].ao["tls"] = "1"
    world.apps["S"].ports["secure"] = []
    assert reference_server(world, "S", "secure", "psdk")[0]["tls"] == ("1", "application-options", "S")
    assert reference_server(world, "S", "secure", "doc")[0]["tls"] == ("0", "default", None)  # case 11

