"""Loading environments: YAML, JSON, component .cfg files, the JSON Schema, bad input, scale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import genesys_tls as gt
from genesys_tls import loaders
from genesys_tls.cli import main
from genesys_tls.errors import ConfigurationError
from genesys_tls.loaders import dump, dump_data, environment_from_data, load, load_component_config, loads
from genesys_tls.model import HostOS
from genesys_tls.pki import PKIFiles

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "environment.yaml"
SCHEMA_FILE = ROOT / "docs" / "environment.schema.json"
TRICKY = ["no", "yes", "1", "0", "", "a: b", "#x", "~", "null", "0x1F", "1e3", "- x", "'q'", '"d"', " lead",
          "trail ", "2001-01-01", "<<", "=", "*a", "&a", "!x", "é☃", "line\nbreak", "tab\there", "@at", "`bq"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def minimal(**app: Any) -> dict[str, Any]:
    return {"hosts": {"h": {}}, "applications": {"A": {"host": "h", **app}}}


# ------------------------------------------------------------------------------------------ the schema


def test_example_loads() -> None:
    env = load(EXAMPLE)
    assert env.source == EXAMPLE
    assert env.base_dir == EXAMPLE.parent.resolve()
    assert set(env.hosts) == {"tsrv-host", "client-host"}
    tsrv = env.host("tsrv-host")
    assert (tsrv.ip, tsrv.os) == ("127.0.0.1", HostOS.UNIX)
    assert tsrv.security["certificate"] == "certs/tsrv.pem"
    server = env.application("TServer_SIP")
    assert (server.type, server.host) == ("T-Server", "tsrv-host")
    assert server.security_options == {} and tsrv.security["sec-protocol"] == "TLSv12"
    assert server.ports["secure"].number == 7001
    assert dict(server.ports["secure"].transport) == {"tls": "1", "tls-mutual": "1"}
    assert server.ports["default"].number == 7000
    assert dict(server.ports["default"].transport) == {}
    client = env.application("MyTLibClient")
    (conn,) = client.connections
    assert (conn.server, conn.port_id) == ("TServer_SIP", "secure")
    assert dict(conn.transport) == {"tls-target-name-check": "host"}
    res = gt.resolve_client(env, "MyTLibClient", "TServer_SIP", port_id="secure")
    assert res.mode is gt.Mode.MUTUAL


def test_example_as_json_is_the_same(tmp_path: Path) -> None:
    env = load(EXAMPLE)
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    path = write(tmp_path / "env.json", json.dumps(data))
    env2 = load(path)
    assert env2.hosts == env.hosts
    assert env2.applications == env.applications
    assert env2.source == path


def test_unquoted_yaml_scalars_are_text() -> None:
    env = loads(
        """
hosts:
  h:
    annex:
      security: {tls-mutual: 1, fips140-enabled: true, tls-target-name-check: no, cipher-list: 0x1F,
                 a: 1.50, b: 2001-01-01, c: off, d: Yes, e: ~, f: , g: 010, h: .inf}
applications: {}
"""
    )
    sec = env.host("h").security
    assert sec["tls-mutual"] == "1"
    assert sec["fips140-enabled"] == "true"
    assert sec["tls-target-name-check"] == "no"
    assert sec["cipher-list"] == "0x1F"
    assert (sec["a"], sec["b"], sec["c"], sec["d"], sec["g"], sec["h"]) == (
        "1.50", "2001-01-01", "off", "Yes", "010", ".inf"
    )
    assert sec["e"] == "" and sec["f"] == ""  # null: present but empty


def test_json_numbers_and_booleans_are_text() -> None:
    env = loads(
        json.dumps({"hosts": {"h": {"annex": {"security": {"tls": 1, "x": True, "y": False, "z": None}}}}}),
        format="json",
    )
    assert dict(env.host("h").security) == {"tls": "1", "x": "true", "y": "false", "z": ""}


def test_port_numbers_and_text_fields() -> None:
    env = loads("hosts: {h: {ip: 10.0.0.5}}\napplications: {A: {host: h, type: 7, ports: {p: {port: '7001'}}}}")
    assert env.host("h").ip == "10.0.0.5"
    assert env.application("A").type == "7"
    assert env.application("A").ports["p"].number == 7001


def test_relative_paths_resolve_against_the_file_folder(tmp_path: Path) -> None:
    path = write(
        tmp_path / "deploy" / "env.yaml",
        """
hosts: {h: {}}
applications:
  S:
    host: h
    options:
      security:
        certificate: certs/leaf.pem, certs/int.pem
        certificate-key: /abs/key.pem
        trusted-ca: ../ca/ca.pem
        tls-crl: crl.pem
    ports: {secure: {port: 7001, transport: "tls=1"}}
""",
    )
    res = gt.resolve_server(load(path), "S", "secure")
    base = (tmp_path / "deploy").resolve()
    assert res.base_dir == base
    assert res.paths("certificate") == (base / "certs/leaf.pem", base / "certs/int.pem")
    assert res.path("certificate-key") == Path("/abs/key.pem")
    assert res.path("trusted-ca") == base / "../ca/ca.pem"
    assert res.path("tls-crl") == base / "crl.pem"
    assert res.paths("cipher-list") == ()
    # text without a file: paths stay relative
    res2 = gt.resolve_server(loads(path.read_text(encoding="utf-8")), "S", "secure")
    assert res2.path("tls-crl") == Path("crl.pem")


def tricky_env() -> gt.Environment:
    sections = {"security": {f"opt{i}": v for i, v in enumerate(TRICKY)}, "no": {"1": "#x"}, "empty": {}}
    data = {
        "hosts": {
            "no": {"ip": "1", "os": "windows", "annex": sections},
            "a: b": {},
            "#x": {"os": "unix"},
            "": {},
        },
        "applications": {
            "1": {"type": "no", "host": "no", "options": sections, "annex": {"security": {"": ""}},
                  "ports": {"default": {"port": 7000}, "#x": {"transport": "a: b;tls=1;x=#x"}, "": {}}},
            "a: b": {"host": "", "connections": [
                {"server": "1"}, {"server": "1", "port-id": "#x", "transport": " tls=1;;no"},
                {"server": "1", "port-id": ""}, {"server": "1", "port-id": "default"}]},
            "": {"type": "", "options": {"security": {}}},
        },
    }
    return environment_from_data(data)


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_dump_load_round_trip(fmt: str) -> None:
    for env in (load(EXAMPLE), tricky_env()):
        text = dump(env, fmt)
        again = loads(text, format=fmt)
        assert again.hosts == env.hosts
        assert again.applications == env.applications
        assert dump_data(again) == dump_data(env)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.one_of(st.sampled_from(TRICKY), st.text(st.characters(blacklist_categories=["Cs"]), max_size=8)),
        st.one_of(st.sampled_from(TRICKY), st.text(st.characters(blacklist_categories=["Cs"]), max_size=8)),
        max_size=6,
    ),
    st.sampled_from(["yaml", "json"]),
)
def test_dump_load_round_trip_random_text(values: dict[str, str], fmt: str) -> None:
    data = {"hosts": {k or "h": {"annex": {"security": values}} for k in values},
            "applications": {"A": {"options": {"security": values}}}}
    env = environment_from_data(data)
    again = loads(dump(env, fmt), format=fmt)
    assert again.hosts == env.hosts
    assert again.applications == env.applications


def test_dump_rejects_unknown_format() -> None:
    with pytest.raises(gt.ConfigurationError):
        dump(tricky_env(), "toml")
    with pytest.raises(gt.ConfigurationError) as info:
        loads("{}", format="toml")
    assert info.value.valid == ("yaml", "json")


# ------------------------------------------------------------------------------------------ JSON Schema


def test_schema_file_is_current() -> None:
    expected = json.dumps(loaders.ENVIRONMENT_SCHEMA, indent=2) + "\n"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == expected, (
        "docs/environment.schema.json is out of date: write json.dumps(loaders.ENVIRONMENT_SCHEMA, indent=2)"
    )


def test_examples_validate_against_the_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    examples = sorted((ROOT / "examples").glob("*.y*ml")) + sorted((ROOT / "examples").glob("*.json"))
    assert EXAMPLE in examples
    for path in examples:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        validator.validate(data)
        load(path)  # and the loader agrees
    # what the library writes validates too
    for env in (load(EXAMPLE), tricky_env()):
        validator.validate(dump_data(env))
        validator.validate(json.loads(dump(env, "json")))


def test_schema_refuses_what_the_loader_refuses() -> None:
    validator = jsonschema.Draft202012Validator(loaders.ENVIRONMENT_SCHEMA)
    for bad in ({"hostz": {}}, {"hosts": {"h": {"os": "linux"}}}, {"hosts": {"h": {"colour": 1}}},
                {"applications": {"A": {"connections": [{"port-id": "x"}]}}}):
        assert not validator.is_valid(bad)
        with pytest.raises(gt.ConfigurationError):
            environment_from_data(bad)


# ------------------------------------------------------------------------------------- component config


def test_component_config_is_one_application(tmp_path: Path) -> None:
    path = write(
        tmp_path / "lca.cfg",
        """# LCA configuration
[lca]
port = 4999

[security]
certificate = certs/lca.pem
certificate-key = certs/lca.key
trusted-ca = C:\\certs\\ca.pem
tls-target-name-check = host
Sec-Protocol = TLSv12
transport = tls=1;tls-mutual=1
""",
    )
    env = load(path)
    assert list(env.applications) == ["lca"]
    app = env.application("lca")
    assert app.type == "Local Control Agent"
    assert app.host is None
    assert app.options["lca"] == {"port": "4999"}
    sec = app.security_options
    assert sec["certificate"] == "certs/lca.pem"
    assert sec["trusted-ca"] == "C:\\certs\\ca.pem"
    assert sec["Sec-Protocol"] == "TLSv12"  # names keep their case
    assert sec["transport"] == "tls=1;tls-mutual=1"
    assert env.base_dir == tmp_path.resolve()
    assert load_component_config(path, name="LCA_host1").application("LCA_host1").security_options == sec


@pytest.mark.parametrize(
    "text",
    [
        "[security]\ncertificate = a.pem\ncertificate = b.pem\n",
        "[security]\ncertificate = a.pem\n[security]\ntrusted-ca = c.pem\n",
        "certificate = a.pem\n",
        "[security]\njust-a-name\n",
    ],
)
def test_component_config_errors(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "lca.cfg", text)
    with pytest.raises(gt.ConfigurationError) as info:
        load(path)
    assert info.value.file == str(path)
    assert str(path) in str(info.value)


def test_component_config_duplicate_option_names_it(tmp_path: Path) -> None:
    path = write(tmp_path / "lca.cfg", "[security]\ncertificate = a.pem\ncertificate = b.pem\n")
    with pytest.raises(gt.ConfigurationError, match="certificate"):
        load(path)


# -------------------------------------------------------------------------------------------- bad input


def assert_names(err: gt.ConfigurationError, path: Path, *objects: str) -> None:
    text = str(err)
    assert "\n" not in text
    assert err.file == str(path)
    assert str(path) in text
    for obj in objects:
        assert obj in text, (obj, text)


def load_error(path: Path) -> gt.ConfigurationError:
    with pytest.raises(gt.ConfigurationError) as info:
        load(path)
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert_names(load_error(path), path, "not found")
    assert_names(load_error(tmp_path / "nope.cfg"), tmp_path / "nope.cfg", "not found")


def test_directory(tmp_path: Path) -> None:
    path = tmp_path / "dir.yaml"
    path.mkdir()
    assert_names(load_error(path), path, "directory")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "env.yaml", "hosts: {}\n")

    def refuse(name: str, *args: Any, **kwargs: Any) -> int:
        raise PermissionError(13, "Permission denied", name)

    monkeypatch.setattr("genesys_tls._files.os.open", refuse)
    assert_names(load_error(path), path, "Permission denied")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "env.yaml"
    path.write_bytes(b"hosts: {h: {ip: \xff\xfe}}\n")
    assert_names(load_error(path), path, "UTF-8")


def test_unknown_suffix(tmp_path: Path) -> None:
    path = write(tmp_path / "env.toml", "")
    err = load_error(path)
    assert_names(err, path, ".toml")
    assert ".yaml" in str(err)


def test_invalid_yaml(tmp_path: Path) -> None:
    path = write(tmp_path / "env.yaml", "hosts:\n  h: {ip: [1, 2}\n")
    assert_names(load_error(path), path, "invalid YAML", "line 2")


def test_invalid_json(tmp_path: Path) -> None:
    path = write(tmp_path / "env.json", '{"hosts": {"h": }}')
    assert_names(load_error(path), path, "invalid JSON", "line 1")


def test_duplicate_key_yaml(tmp_path: Path) -> None:
    path = write(tmp_path / "env.yaml", "hosts: {}\napplications:\n  A: {}\n  B: {}\n  A: {type: x}\n")
    assert_names(load_error(path), path, "duplicate key 'A'", "line 5")
    path = write(tmp_path / "env2.yaml", "hosts:\n  h:\n    annex: {security: {tls: 1, tls: 0}}\n")
    assert_names(load_error(path), path, "duplicate key 'tls'")


def test_duplicate_key_json(tmp_path: Path) -> None:
    path = write(tmp_path / "env.json", '{"hosts": {"h": {}, "h": {"os": "unix"}}}')
    assert_names(load_error(path), path, "duplicate key 'h'")


def test_list_where_a_section_is_expected(tmp_path: Path) -> None:
    path = write(tmp_path / "env.yaml", "hosts: {h: {}}\napplications:\n  A: {host: h, options: [security]}\n")
    err = load_error(path)
    assert_names(err, path, "object A", "a list", "application-options")
    assert err.object == "A"
    path = write(tmp_path / "env2.yaml", "hosts: {h: {annex: {security: [tls, 1]}}}\n")
    err = load_error(path)
    assert_names(err, path, "object h", "[security]")
    assert err.object == "h"


def test_a_list_as_an_option_value(tmp_path: Path) -> None:
    path = write(tmp_path / "env.yaml", "hosts: {h: {annex: {security: {certificate: [a, b]}}}}\n")
    err = load_error(path)
    assert_names(err, path, "object h", "option certificate")


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path / "env.yaml", "hosts: {}\napplication: {}\n")
    err = load_error(path)
    assert_names(err, path, "'application'")
    assert err.valid == ("hosts", "applications")


@pytest.mark.parametrize(
    ("data", "obj"),
    [
        ({"hosts": {"h": {"annex": {}, "oss": "unix"}}}, "h"),
        (minimal(porrts={}), "A"),
        (minimal(ports={"p": {"number": 1}}), "A/p"),
        (minimal(connections=[{"server": "A", "port": "x"}]), "A connection #1"),
    ],
)
def test_unknown_keys_name_the_object(tmp_path: Path, data: dict[str, Any], obj: str) -> None:
    path = write(tmp_path / "env.json", json.dumps(data))
    err = load_error(path)
    assert_names(err, path, f"object {obj}", "unknown key")
    assert err.object == obj


def test_unknown_host_of_an_application(tmp_path: Path) -> None:
    path = write(tmp_path / "env.yaml", "hosts: {h: {}}\napplications: {A: {host: tsrv-host}}\n")
    err = load_error(path)
    assert_names(err, path, "object A", "tsrv-host")
    assert err.object == "A" and err.value == "tsrv-host"


def test_connection_to_an_unknown_server(tmp_path: Path) -> None:
    path = write(tmp_path / "env.yaml", "applications: {A: {connections: [{server: TServer_SIP}]}}\n")
    err = load_error(path)
    assert_names(err, path, "A connection #1", "TServer_SIP")
    assert err.object == "A" and err.value == "TServer_SIP"


def test_connection_to_an_unknown_port(tmp_path: Path) -> None:
    path = write(
        tmp_path / "env.yaml",
        "applications:\n  S: {ports: {secure: {port: 7001}}}\n"
        "  A: {connections: [{server: S, port-id: secure}, {server: S, port-id: sceure}]}\n",
    )
    err = load_error(path)
    assert_names(err, path, "A connection #2", "'sceure'", "S", "A -> S")
    assert err.valid == ("secure",)
    # no port id means "default", which S does not have
    path = write(
        tmp_path / "env2.yaml", "applications:\n  S: {ports: {secure: {}}}\n  A: {connections: [{server: S}]}\n"
    )
    assert_names(load_error(path), path, "'default'", "A -> S")


@pytest.mark.parametrize("port", ["abc", 0, 65536, -1, True, 70.5, "7000.0", "²", "٣", "0x1F", "1" * 5000, [1]])
def test_bad_port_number(tmp_path: Path, port: Any) -> None:
    path = write(tmp_path / "env.json", json.dumps(minimal(ports={"secure": {"port": port}})))
    err = load_error(path)
    assert_names(err, path, "object A/secure", "option port", "1 to 65535")
    assert err.object == "A/secure"


def test_bad_port_number_yaml(tmp_path: Path) -> None:
    path = write(tmp_path / "env.yaml", "hosts: {h: {}}\napplications: {A: {ports: {p: {port: 0x1F}}}}\n")
    assert_names(load_error(path), path, "object A/p", "'0x1F'")


def test_bad_os(tmp_path: Path) -> None:
    path = write(tmp_path / "env.yaml", "hosts: {h: {os: linux}}\n")
    err = load_error(path)
    assert_names(err, path, "object h", "option os", "'linux'", "'windows'")


@pytest.mark.parametrize(
    ("data", "obj"),
    [
        ({"hosts": [1]}, None),
        ({"hosts": {"h": "text"}}, "h"),
        ({"hosts": {"h": {"ip": ["1"]}}}, "h"),
        (minimal(type={"a": 1}), "A"),
        (minimal(connections={"server": "A"}), "A"),
        (minimal(connections=["A"]), "A connection #1"),
        (minimal(connections=[{"port-id": "x"}]), "A connection #1"),
        (minimal(connections=[{"server": "A", "transport": {"tls": 1}}]), "A connection #1"),
        (minimal(ports={"p": {"transport": 1}}), "A/p"),
        (minimal(ports=["p"]), "A"),
    ],
)
def test_wrong_shapes(data: dict[str, Any], obj: str | None) -> None:
    with pytest.raises(gt.ConfigurationError) as info:
        environment_from_data(data, source=Path("env.json"))
    err = info.value
    assert err.file == "env.json"
    assert err.object == obj
    assert "\n" not in str(err)


def test_deep_and_circular_input_is_a_configuration_error() -> None:
    for text, fmt in [
        ("[" * 800 + "]" * 800, "yaml"),
        ("[" * 100_000 + "]" * 100_000, "json"),
        ("hosts: &a [*a]\n", "yaml"),
        ("hosts: {h: {annex: {security: {x: &b [*b]}}}}", "yaml"),
        ("!!map [[a, b]]", "yaml"),
        ("!!map ab", "yaml"),
        ("hosts: {h: {ip: !!int [a]}}", "yaml"),
        ("hosts: {h: {ip: !!bool {a: 1}}}", "yaml"),
    ]:
        with pytest.raises(gt.ConfigurationError):
            loads(text, format=fmt, source=Path("env." + fmt))
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(gt.ConfigurationError, match="option x"):
        environment_from_data({"hosts": {"h": {"annex": {"security": {"x": loop}}}}})
    with pytest.raises(gt.ConfigurationError):
        environment_from_data({"hosts": {"h": {"ip": {(1, 2): 3}}}})


# -------------------------------------------------------------------------------------- random input

_KEYS = st.sampled_from(
    ["hosts", "applications", "ip", "os", "annex", "security", "type", "host", "options", "ports",
     "connections", "server", "port-id", "transport", "port", "h", "A", "S", "default", "secure", "unix",
     "windows", "tls"]
)
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6), _KEYS,
    st.sampled_from(["²", "٣", "7001", "0", "tls=1;x", "h", "A", "S"]),
)
_DATA = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(_KEYS, st.text(max_size=4), st.integers(), st.none()), children, max_size=5),
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DATA)
@example({"applications": {"A": {"ports": {"p": {"port": "²"}}}}})
@example({"hosts": {"h": {"ip": {(1, 2): 3}}}})
def test_random_data_only_raises_configuration_error(data: Any) -> None:
    try:
        env = environment_from_data(data, source=Path("env.yaml"))
    except gt.ConfigurationError as err:
        assert err.file == "env.yaml"
        assert "\n" not in str(err)
    else:
        assert isinstance(env, gt.Environment)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.text(st.sampled_from("{}[]:,-&*!|>'\"#?%@ \n\tab1")),
        _DATA.map(lambda d: yaml.safe_dump(d, default_flow_style=None)),
        _DATA.map(lambda d: json.dumps(d, default=str)),
    ),
    st.sampled_from(["yaml", "json"]),
)
@example("!!map [[a, b]]", "yaml")
@example("hosts: &a [*a]", "yaml")
@example("!!python/object:os.system {}", "yaml")
def test_random_text_only_raises_configuration_error(text: str, fmt: str) -> None:
    try:
        loads(text, format=fmt, source=Path(f"env.{fmt}"))
    except gt.ConfigurationError as err:
        assert err.file == f"env.{fmt}"
        assert "\n" not in str(err)


# ------------------------------------------------------------------------------------------------ scale


def generated(n: int) -> dict[str, Any]:
    hosts = {f"host{i}": {"os": "unix", "annex": {"security": {"trusted-ca": "ca.pem"}}} for i in range(100)}
    apps: dict[str, Any] = {}
    for i in range(n):
        apps[f"app{i}"] = {
            "type": "T-Server",
            "host": f"host{i % 100}",
            "options": {"security": {"sec-protocol": "TLSv12", "certificate": f"certs/app{i}.pem"}},
            "ports": {"default": {"port": 7000}, "secure": {"port": 7001, "transport": "tls=1;tls-mutual=1"}},
            "connections": [{"server": f"app{(i * 7 + 1) % n}", "port-id": "secure"}, {"server": f"app{i}"}],
        }
    return {"hosts": hosts, "applications": apps}


def test_scale(tmp_path: Path) -> None:
    """20,000 applications with 40,000 connections load and keep their cross-references. How the load time
    grows with the size (linear, not quadratic) is measured in benchmarks/bench_load.py, not here."""
    big = write(tmp_path / "big.json", json.dumps(generated(20_000)))
    env = load(big)
    assert len(env.applications) == 20_000
    assert env.application("app19999").connections[0].server == f"app{(19999 * 7 + 1) % 20_000}"
    assert sum(len(a.connections) for a in env.applications.values()) == 40_000


CLIENT = "Client_client-host"


# --- a private key pasted as an option value was echoed by resolve --json, lint and error messages ---------


def _key_text(pki: PKIFiles) -> str:
    return pki.hosts["tsrv-host"].key.read_text()


def _secret_lines(pki: PKIFiles) -> list[str]:
    return [line for line in _key_text(pki).splitlines() if line and not line.startswith("-----")]


def _variant(pki: PKIFiles, name: str, edit: Any) -> Path:
    data = yaml.safe_load(pki.environment.read_text())
    edit(data)
    path = pki.directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("where", ["host-annex", "transport"])
@pytest.mark.parametrize(
    "argv",
    [
        ["resolve", "--app", "TServer", "--port", "secure", "--json"],
        ["lint", "--json"],
        ["lint"],
        ["serve", "--app", "TServer", "--port", "secure", "--address", "127.0.0.1:0", "--count", "1"],
    ],
)
def test_inline_private_key_is_refused_and_never_shown(
    pki: PKIFiles, capsys: pytest.CaptureFixture[str], where: str, argv: list[str]
) -> None:
    key = _key_text(pki)

    def edit(data: dict[str, Any]) -> None:
        if where == "host-annex":
            data["hosts"]["tsrv-host"]["annex"]["security"]["certificate-key"] = key
        else:
            port = data["applications"]["TServer"]["ports"]["secure"]
            port["transport"] = "tls=1;certificate-key=" + key.replace("\n", " ")

    path = _variant(pki, f"inline-key-{where}", edit)
    code = main([argv[0], str(path), *argv[1:]])
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err
    assert "private key" in captured.err
    for line in _secret_lines(pki):
        assert line[:16] not in captured.out + captured.err


def test_inline_private_key_in_component_config_is_refused(pki: PKIFiles, tmp_path: Path) -> None:
    key = _key_text(pki).replace("\n", " ")
    cfg = tmp_path / "lca.cfg"
    cfg.write_text(f"[security]\ncertificate-key = {key}\n")
    with pytest.raises(ConfigurationError) as info:
        load_component_config(cfg)
    text = str(info.value) + repr(info.value)
    for line in _secret_lines(pki):
        assert line[:16] not in text


def test_inline_private_key_error_holds_no_key_via_api(pki: PKIFiles) -> None:
    key = _key_text(pki)
    path = _variant(
        pki, "inline-key-api",
        lambda d: d["hosts"]["client-host"]["annex"]["security"].__setitem__("certificate-key", key),
    )
    with pytest.raises(ConfigurationError) as info:
        load(path)
    assert info.value.value is None
    assert info.value.option == "certificate-key"
    text = str(info.value) + repr(info.value) + repr(info.value.args)
    for line in _secret_lines(pki):
        assert line[:16] not in text
