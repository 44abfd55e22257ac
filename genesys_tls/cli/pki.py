"""``genesys-tls pki init DIR``: a test PKI and a ready environment file (see :mod:`genesys_tls.pki`)."""

from __future__ import annotations

import argparse

from ._common import EXIT_OK, CLIError, emit_json, safe, write_text


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("pki", help="test PKI tools (pki init DIR)", description="Test PKI tools.")
    actions = p.add_subparsers(dest="pki_command", metavar="ACTION", parser_class=type(p))
    init = actions.add_parser(
        "init",
        help="write a test PKI and a ready environment.yaml in DIR",
        description="Writes a test CA, one certificate per host name (SAN DNS name and 127.0.0.1), broken "
        "variants (expired, not yet valid, wrong name, wrong issuer, revoked, CN-only), CRLs, and an "
        "environment.yaml using them in DIR (created when missing; refused when it already holds an "
        "environment.yaml). For tests only.",
    )
    init.add_argument("dir", metavar="DIR", help="the folder to write")
    init.add_argument(
        "--names",
        metavar="N1,N2,...",
        help="host names, comma-separated; the first hosts the T-Server (default tsrv-host,client-host)",
    )
    init.add_argument(
        "--key-type",
        metavar="{ec,rsa}",
        default="ec",
        help="key algorithm: ec (P-256, default) or rsa (2048 bits)",
    )
    init.add_argument(
        "--windows",
        action="store_true",
        help="also write each host's certificate and key as store/NAME/NAME.pfx and environment-windows.yaml: "
        "the same estate on Windows hosts naming certificates by thumbprint (docs/stores.md)",
    )
    init.add_argument(
        "--pfx-password-env",
        metavar="NAME",
        help="with --windows: the environment variable whose value encrypts the PFX files (the password is "
        "never given on the command line); default: unencrypted PFX files",
    )
    init.add_argument("--json", action="store_true", help="print the paths written as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "pki_command", None) != "init":
        raise CLIError("genesys-tls pki: give an action: pki init DIR [--names N1,N2,...] [--key-type ec|rsa]")
    from ..pki import pki_init

    names = args.names
    if names is not None:
        names = names.strip()
        if not names:
            raise CLIError("genesys-tls pki init: --names is empty; expected N1,N2,...")
    if args.pfx_password_env is not None and not args.windows:
        raise CLIError("genesys-tls pki init: --pfx-password-env needs --windows")
    files = pki_init(args.dir, names, args.key_type, windows=args.windows, pfx_password_env=args.pfx_password_env)
    root = files.directory
    pairs = [
        *((f"host {name}", f) for name, f in files.hosts.items()),
        ("expired", files.expired),
        ("not-yet-valid", files.not_yet_valid),
        ("wrong-name", files.wrong_name),
        ("wrong-issuer", files.wrong_issuer),
        ("revoked", files.revoked),
        ("cn-only", files.cn_only),
    ]
    written = [
        ("environment", files.environment),
        ("ca", files.ca),
        ("other-ca", files.other_ca),
        *((what, f.cert) for what, f in pairs),
        *((f"{what} key", f.key) for what, f in pairs),
        ("crl current", files.crl_current),
        ("crl expired", files.crl_expired),
        ("crl wrong-ca", files.crl_wrong_ca),
        *((f"pfx {name}", path) for name, path in files.pfx.items()),
    ]
    if files.windows_environment is not None:
        written.insert(1, ("windows-environment", files.windows_environment))
    if args.json:
        emit_json({
            "directory": str(root),
            "environment": str(files.environment),
            "names": list(files.names),
            "key-type": files.key_type.value,
            "files": {what: str(path) for what, path in written},
        })
        return EXIT_OK
    lines = [f"wrote a test PKI ({files.key_type.value} keys) for {', '.join(map(safe, files.names))} in {safe(root)}:"]
    width = max(len(what) for what, _ in written)
    lines.extend(f"  {what.ljust(width)}  {safe(path)}" for what, path in written)
    lines.append(f"next: genesys-tls resolve {safe(files.environment)} --app TServer --port secure")
    write_text("\n".join(lines))
    return EXIT_OK
