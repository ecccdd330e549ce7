"""The ``k8sauthlib`` command: cfssl's and cfssljson's commands from the article, in Python.

::

    k8sauthlib gencert -initca rootCA-csr.json | k8sauthlib json -bare rootCA
    k8sauthlib gencert -ca=rootCA.pem -ca-key=rootCA-key.pem -config=rootCA-config.json \\
        -profile=root-ca server-csr.json | k8sauthlib json -bare server
    k8sauthlib certinfo -cert server.pem

Flags are Go style, like cfssl's: one dash or two, ``-flag=value`` or ``-flag value``. The JSON
on stdout is cfssl's, so either half of a pipe can be the real cfssl/cfssljson.

Start-up time matters for a command a tutorial runs six times in a row: this module imports
only the standard library at the top, ``json -bare`` and ``--help`` never import
``cryptography``, and ``gencert`` imports it only after its JSON inputs have been read.

Where we differ from cfssl and cfssljson, on purpose:

- A mistake cfssl lets through silently is an error here, in one sentence: an unknown
  ``-profile`` (cfssl signs with ``signing.default``), an unknown usage name (cfssl drops it),
  an unknown or repeated JSON field (cfssl ignores it or keeps the last), a zero or negative
  expiry, an RSA key below 2048 bits, a host that can never match (``localhost:8443``).
- ``json -bare`` refuses to replace an existing ``NAME-key.pem`` unless ``-overwrite`` is given
  (cfssljson overwrites it, and keeps the old file's permissions); files appear all at once or
  not at all, and the input's PEM blocks are checked before anything is written.
- ``gencert -write NAME`` writes the bare files itself, saving the second process of the pipe.
- ``certinfo`` adds ``"kubernetes": {"user", "groups"}``; ``-unpadded`` prints key IDs the way
  Debian's 2016 cfssl does.
- Keys: RSA 2048/3072/4096 and ECDSA P-256/P-384 (cfssl also takes other RSA sizes, P-521 and
  Ed25519). Certificates are signed with SHA-256 (SHA-384 under a P-384 CA key); cfssl picks
  SHA-384/512 for larger RSA CA keys.
- We follow current cfssl where Debian's 2016 build lags: ``hosts`` entries such as
  ``spiffe://...`` become URI SANs, and ``names[].E`` becomes an ``emailAddress`` attribute.
- ``sign`` keeps the CSR's subject as encoded; cfssl re-encodes it the Go way (PrintableString
  where possible).
"""

from __future__ import annotations

import importlib
import os
import sys

from ..errors import PROG, K8sAuthError, UsageError, error_line

USAGE = f"""\
usage: {PROG} COMMAND [flags] [args]

cfssl-compatible commands (flags as in cfssl: -flag=value or -flag value):
  gencert -initca CSR.json                      new key + self-signed root CA (cfssl's CA policy)
  gencert -ca=CA.pem -ca-key=CA-key.pem [-config=CONFIG.json] [-profile=NAME] [-hostname=a,b] CSR.json
                                                new key + certificate signed by the CA
  sign -ca=CA.pem -ca-key=CA-key.pem [-config=CONFIG.json] [-profile=NAME] [-hostname=a,b] CSR.pem
                                                sign a CSR whose key stays with its owner
  json -bare NAME [-f FILE|-] [-overwrite]      cfssljson: write NAME.pem, NAME-key.pem (0600), NAME.csr
  certinfo -cert FILE                           cfssl certinfo's JSON + the Kubernetes identity

Kubernetes commands:
  kubeconfig ...                                write and inspect kubeconfig files
  lab ...                                       run the local lab API server
  check-expiration [--dir DIR]                  kubeadm certs check-expiration for a kubeadm tree

  version                                       print the version
Each command takes -h for its flags. Output JSON goes to stdout, logs to stderr.
"""


# -------------------------------------------------------------------------------------- main
def _delegate(module: str, argv: list[str]) -> int:
    import importlib

    try:
        mod = importlib.import_module(f"{__package__.rpartition('.')[0]}.{module}")
    except ImportError as exc:
        raise K8sAuthError(
            f"the {module.split('.')[0]} command is not available in this installation ({exc})"
        ) from None
    if not hasattr(mod, "main"):
        raise K8sAuthError(
            f"the {module.split('.')[0]} command is not available in this installation "
            f"(k8sauthlib.{module} has no main())"
        )
    result = mod.main(argv)
    return int(result or 0)


def _command(module: str, name: str):
    def run(argv: list[str]) -> int:
        return getattr(importlib.import_module(f"{__name__}.{module}"), name)(argv)

    return run


# one module per command, imported only when that command runs (cfssl's cli/<command>/ layout)
COMMANDS = {
    "gencert": _command("gencert", "cmd_gencert"),
    "sign": _command("gencert", "cmd_sign"),
    "json": _command("cfssljson", "cmd_json"),
    "cfssljson": _command("cfssljson", "cmd_json"),
    "certinfo": _command("certinfo", "cmd_certinfo"),
    "lab": lambda argv: _delegate("lab.cli", argv),
    "kubeconfig": lambda argv: _delegate("kube.user", argv),
    "check-expiration": lambda argv: _delegate("kube.expiration", argv),
}


def _error(message: str) -> None:
    sys.stderr.write(error_line(message) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error, 2 usage error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        sys.stderr.write(USAGE)
        return 2
    command, rest = argv[0], argv[1:]
    if command in ("-h", "--help", "-help", "help"):
        sys.stdout.write(USAGE)
        return 0
    if command in ("version", "-version", "--version"):
        from .. import __version__

        if rest and rest[0] in ("-h", "--help", "-help"):
            sys.stdout.write(f"usage: {PROG} version\n")
            return 0
        if rest:  # cfssl refuses an unknown flag here (and ignores other words): we refuse both
            _error(f"version: unexpected argument {rest[0]!r}; usage: {PROG} version")
            return 2
        sys.stdout.write(f"{PROG} {__version__}\n")
        return 0
    handler = COMMANDS.get(command)
    if handler is None:
        import difflib

        close = difflib.get_close_matches(command, list(COMMANDS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        _error(f"unknown command {command!r}{hint}; run '{PROG} --help' for the list")
        return 2
    try:
        return handler(rest)
    except UsageError as exc:
        _error(str(exc))
        return 2
    except K8sAuthError as exc:
        _error(str(exc))
        return 1
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        # The reader of our stdout went away (e.g. `| head`); nothing useful left to say.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 1
    except OSError as exc:
        _error(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
