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

import os
import sys
import time

from .errors import K8sAuthError

PROG = "k8sauthlib"

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

  version                                       print the version
Each command takes -h for its flags. Output JSON goes to stdout, logs to stderr.
"""


class UsageError(K8sAuthError):
    """Bad command-line usage: exit status 2."""


# ------------------------------------------------------------------------------ flag parsing
class Flags:
    """A tiny parser for Go's ``flag`` package syntax, which cfssl uses.

    Accepts ``-name``, ``--name``, ``-name=value`` and ``-name value``; boolean flags take no
    separate value (``-bare``, ``-initca=true``). ``--`` ends the flags; ``-`` alone is an
    argument (standard input). Unlike Go, flags may also follow the positional arguments.
    """

    def __init__(self, command: str, usage: str, flags: dict[str, tuple[str, str]]):
        # flags: name -> (kind "bool"|"str", help)
        self.command = command
        self.usage = usage
        self.flags = flags

    def help_text(self) -> str:
        lines = [f"usage: {PROG} {self.command} {self.usage}", "", "flags:"]
        for name, (kind, text) in self.flags.items():
            lines.append(f"  -{name}{'' if kind == 'bool' else ' VALUE'}".ljust(24) + text)
        return "\n".join(lines) + "\n"

    def parse(self, argv: list[str]) -> tuple[dict, list[str]] | None:
        """Return (values, positional), or None when help was asked for (help is printed)."""
        values: dict = {name: (False if kind == "bool" else None) for name, (kind, _) in self.flags.items()}
        positional: list[str] = []
        i = 0
        while i < len(argv):
            arg = argv[i]
            i += 1
            if arg == "--":
                positional.extend(argv[i:])
                break
            if not arg.startswith("-") or arg == "-":
                positional.append(arg)
                continue
            name, eq, value = arg.lstrip("-").partition("=")
            if name in ("h", "help"):
                sys.stdout.write(self.help_text())
                return None
            if name not in self.flags:
                known = ", ".join("-" + n for n in self.flags)
                raise UsageError(f"{self.command}: flag provided but not defined: -{name} (known flags: {known})")
            kind = self.flags[name][0]
            if kind == "bool":
                if eq and value.lower() not in ("true", "false", "1", "0", "t", "f"):
                    raise UsageError(f"{self.command}: invalid boolean value {value!r} for -{name}")
                values[name] = (value.lower() in ("true", "1", "t")) if eq else True
                continue
            if not eq:
                if i >= len(argv):
                    raise UsageError(f"{self.command}: flag needs an argument: -{name}")
                value = argv[i]
                i += 1
            values[name] = value
        return values, positional


# ------------------------------------------------------------------------------------ output
_LOG_LEVELS = {"DEBUG": 0, "INFO": 1, "WARNING": 2, "ERROR": 3, "CRITICAL": 4}


class Log:
    """cfssl-style log lines on stderr: ``2026/11/29 10:00:00 [INFO] ...``."""

    def __init__(self, level: int = 1):
        self.level = level

    def __call__(self, level: str, message: str) -> None:
        if _LOG_LEVELS[level] >= self.level:
            sys.stderr.write(f"{time.strftime('%Y/%m/%d %H:%M:%S')} [{level}] {message}\n")


def _loglevel(value) -> int:
    if value is None:
        return 1
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"-loglevel must be a number from 0 (debug) to 5 (fatal), not {value!r}") from None


def _print_json_line(obj: dict) -> None:
    from .cfssl import dumps_cfssl_json

    sys.stdout.write(dumps_cfssl_json(obj) + "\n")
    sys.stdout.flush()


def _read_input(path: str, what: str) -> bytes:
    """Read a file, or standard input for ``-``."""
    if path == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise K8sAuthError(f"no {what} on standard input; pipe it in or give a file name")
        return sys.stdin.buffer.read()
    from .files import read_file
    return read_file(path, what)


# ----------------------------------------------------------------------------------- gencert
_SIGN_FLAGS = {
    "ca": ("str", "CA certificate (PEM) to sign with"),
    "ca-key": ("str", "the CA's private key (PEM: PKCS#1, PKCS#8 or EC)"),
    "config": ("str", "signing configuration JSON (cfssl's signing.default / signing.profiles)"),
    "profile": ("str", "signing profile name from -config (default: signing.default)"),
    "hostname": ("str", "comma-separated hosts that replace the request's hosts/SANs"),
    "loglevel": ("str", "log level: 0 debug, 1 info (default), 2 warning, 3 error"),
}
GENCERT = Flags("gencert", "[-initca | -ca=CA.pem -ca-key=CA-key.pem [-config=CONFIG.json] [-profile=NAME]] "
                "[-hostname=a,b] [-write=NAME] CSR.json",
                {"initca": ("bool", "make a new self-signed root CA (cfssl's CA policy)"), **_SIGN_FLAGS,
                 "write": ("str", "write NAME.pem, NAME-key.pem (0600), NAME.csr instead of printing JSON "
                                  "(the same as '| k8sauthlib json -bare NAME'; not in cfssl)"),
                 "overwrite": ("bool", "with -write: replace existing files, even a private key")})
SIGN = Flags("sign", "-ca=CA.pem -ca-key=CA-key.pem [-config=CONFIG.json] [-profile=NAME] [-hostname=a,b] CSR.pem",
             dict(_SIGN_FLAGS))


def _start_keygen(key_request):
    """Start generating the private key in a thread; returns a function that waits for it.

    RSA key generation takes tens of milliseconds and OpenSSL does it without holding the GIL,
    so on a machine with two cores it runs while this process imports ``cryptography.x509``,
    reads the CA and builds the certificate's parts: most of a command's start-up is hidden.
    """
    import threading

    if key_request.algo == "rsa":  # import here, not in the thread: imports take the GIL anyway
        from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: F401
    else:
        from cryptography.hazmat.primitives.asymmetric import ec  # noqa: F401
    box: dict = {}

    def run():
        try:
            box["key"] = key_request.generate()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="keygen", daemon=True)
    thread.start()

    def wait():
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["key"]

    return wait


def _one_positional(positional: list[str], command: str, what: str) -> str:
    if not positional:
        raise UsageError(f"{command}: give the {what} file (or - for standard input)")
    if len(positional) > 1:
        raise UsageError(f"{command}: expected one {what} file, got {len(positional)}: {' '.join(positional)}")
    return positional[0]


def _load_signer(values, command: str):
    """Read -config and -profile (no cryptography yet), then the CA."""
    from . import cfssl

    if not values["ca"]:
        raise UsageError(f"{command}: need a CA certificate (provide one with -ca), or use -initca"
                         if command == "gencert" else f"{command}: need a CA certificate (provide one with -ca)")
    if not values["ca-key"]:
        raise UsageError(f"{command}: need a CA key (provide one with -ca-key)")
    config = cfssl.SigningConfig.from_json(values["config"]) if values["config"] else cfssl.SigningConfig.builtin()
    profile = config.profile(values["profile"])
    ca = cfssl.load_ca(values["ca"], values["ca-key"])
    return ca, config, profile


def cmd_gencert(argv: list[str]) -> int:
    parsed = GENCERT.parse(argv)
    if parsed is None:
        return 0
    values, positional = parsed
    log = Log(_loglevel(values["loglevel"]))
    from . import cfssl

    path = _one_positional(positional, "gencert", "CSR request JSON")
    req = cfssl.CsrRequest.from_json(_read_input(path, "CSR request") if path == "-" else path)
    if values["hostname"] is not None:
        req = req.with_hosts(cfssl.split_hosts(values["hostname"]))
    if values["overwrite"] and not values["write"]:
        raise UsageError("gencert: -overwrite only applies with -write (gencert itself writes no files)")
    if values["write"]:
        _refuse_existing_key(values["write"], values["overwrite"])  # before the work, not after
    # Usage errors first: the key generation below starts only for a command that can succeed.
    if values["initca"]:
        if values["ca"] or values["ca-key"]:
            raise UsageError("gencert: -initca makes a self-signed CA; it takes no -ca or -ca-key")
        if values["config"] or values["profile"]:
            raise UsageError("gencert: -initca uses cfssl's CA policy; -config and -profile do not apply "
                             "(set the lifetime with \"ca\": {\"expiry\": \"...\"} in the request)")
    elif not values["ca"]:
        raise UsageError("gencert: need a CA certificate (provide one with -ca), or use -initca")
    elif not values["ca-key"]:
        raise UsageError("gencert: need a CA key (provide one with -ca-key)")
    log("INFO", f"generating key: {req.key}")
    pending_key = _start_keygen(req.key)
    if values["initca"]:
        log("INFO", "generating a new CA key and certificate from CSR")
        result = cfssl.gencert_initca(req, private_key=pending_key())
    else:
        ca, config, _ = _load_signer(values, "gencert")
        result = cfssl.gencert(ca, req, config, values["profile"], private_key=pending_key())
        if not req.hosts:
            log("WARNING", 'This certificate lacks a "hosts" field: fine for a client certificate, '
                           'unsuitable for a TLS server.')
    log("INFO", f"signed certificate with serial number {result.cert.serial_number}")
    if values["write"]:
        pems = {k: v.encode() for k, v in cfssl.to_cfssl_json(result).items()}
        _write_bare(values["write"], pems, overwrite=values["overwrite"])
        return 0
    _print_json_line(cfssl.to_cfssl_json(result))
    return 0


def cmd_sign(argv: list[str]) -> int:
    parsed = SIGN.parse(argv)
    if parsed is None:
        return 0
    values, positional = parsed
    log = Log(_loglevel(values["loglevel"]))
    from . import cfssl

    path = _one_positional(positional, "sign", "CSR (PEM)")
    data = _read_input(path, "CSR")
    ca, _, profile = _load_signer(values, "sign")
    hosts = None
    if values["hostname"] is not None:
        hosts = cfssl.go_san_order(cfssl.split_hosts(values["hostname"]))
    not_before, not_after = cfssl.cfssl_validity(profile.expiry, profile.backdate)
    if b"CERTIFICATE REQUEST-----" not in data:
        raise K8sAuthError(f"{path} holds no PEM CSR (expected '-----BEGIN CERTIFICATE REQUEST-----')")
    result = ca.sign_csr(data, usages=profile.usages, hosts=hosts, not_before=not_before, not_after=not_after)
    cfssl._check_signed_by(result.cert, ca)
    log("INFO", f"signed certificate with serial number {result.cert.serial_number}")
    _print_json_line({"cert": result.cert_pem.decode()})
    return 0


# -------------------------------------------------------------------------------------- json
JSON = Flags("json", "-bare [NAME] [-f FILE|-] [-overwrite]   (reads cfssl's JSON from standard input)",
             {"bare": ("bool", "the input is cfssl's bare {\"cert\",\"key\",\"csr\"} object (always accepted)"),
              "f": ("str", "JSON input file (default: - for standard input)"),
              "stdout": ("bool", "print the PEM blocks to standard output instead of writing files"),
              "overwrite": ("bool", "replace existing files, even a private key (cfssljson always does)")})

_PEM_KINDS = {
    "cert": ("certificate", ("CERTIFICATE",)),
    "key": ("private key", ("RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY")),
    "csr": ("certificate request", ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")),
}


def _check_pem(field: str, value) -> bytes:
    """Check that a cfssl JSON field holds a well-formed PEM block of the right kind, without cryptography."""
    import binascii
    import re

    what, labels = _PEM_KINDS[field]
    if not isinstance(value, str):
        raise K8sAuthError(f"the input's \"{field}\" must be a PEM string, not {type(value).__name__}")
    m = re.search(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", value, re.S)
    if not m or m.group(1) not in labels:
        found = f" (found a '{m.group(1)}' block)" if m else ""
        raise K8sAuthError(f"the input's \"{field}\" is not a PEM {what}{found}")
    body = "".join(line.strip() for line in m.group(2).splitlines() if ":" not in line)
    try:
        binascii.a2b_base64(body, strict_mode=True)
    except (binascii.Error, ValueError):
        raise K8sAuthError(f"the input's \"{field}\" is a damaged PEM {what}: its base64 body does not "
                           f"decode") from None
    text = value if value.endswith("\n") else value + "\n"
    return text.encode()


def _parse_cfssl_output(data: bytes, label: str) -> dict:
    import json

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise K8sAuthError(f"{label} is not UTF-8 text, so it is not cfssl's JSON output") from None
    if not text.strip():
        raise K8sAuthError(f"{label} is empty (did the command before the pipe fail?); expected cfssl's JSON "
                           f"output with \"cert\", \"key\" and \"csr\"")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        cut_short = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        kind = "incomplete JSON" if cut_short else "not JSON"
        raise K8sAuthError(f"{label} is {kind} (line {exc.lineno}, column {exc.colno}: {exc.msg}); expected "
                           f"the output of 'k8sauthlib gencert' or 'cfssl gencert'") from None
    except RecursionError:
        raise K8sAuthError(f"{label} is JSON nested too deeply to be cfssl's output") from None
    except ValueError:  # a number past Python's 4300-digit conversion limit
        raise K8sAuthError(f"{label} holds a number too long to be cfssl's output") from None
    if not isinstance(obj, dict):
        raise K8sAuthError(f"{label} is JSON but not an object; expected cfssl's {{\"cert\", \"key\", \"csr\"}}")
    # The cfssl API's wrapped form: {"success": true, "result": {...}, "errors": [...]}
    if "result" in obj and "success" in obj:
        if not obj.get("success"):
            errors = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e)
                               for e in obj.get("errors") or []) or "no reason given"
            raise K8sAuthError(f"{label} is a failed cfssl API response: {errors}")
        obj = obj["result"] if isinstance(obj["result"], dict) else {}
    if "code" in obj and "message" in obj and not any(k in obj for k in _PEM_KINDS):
        raise K8sAuthError(f"{label} is an error from cfssl (code {obj['code']}): {obj['message']}")
    if not any(obj.get(k) for k in _PEM_KINDS):
        raise K8sAuthError(f"{label} has none of \"cert\", \"key\", \"csr\"; expected the output of "
                           f"'k8sauthlib gencert' or 'cfssl gencert'")
    return {k: _check_pem(k, obj[k]) for k in _PEM_KINDS if obj.get(k)}


def cmd_json(argv: list[str]) -> int:
    parsed = JSON.parse(argv)
    if parsed is None:
        return 0
    values, positional = parsed
    if len(positional) > 2:
        raise UsageError(f"json: expected a base name and at most one input file, got {' '.join(positional)}")
    name = positional[0] if positional else "cert"  # cfssljson's default base name
    source = values["f"] or (positional[1] if len(positional) > 1 else "-")
    label = "standard input" if source == "-" else source
    pems = _parse_cfssl_output(_read_input(source, "cfssl JSON"), label)
    if values["stdout"]:
        for k in ("cert", "key", "csr"):
            if k in pems:
                sys.stdout.write(pems[k].decode())
        return 0
    if "key" in pems:
        _refuse_existing_key(name, values["overwrite"])
    _write_bare(name, pems, overwrite=values["overwrite"])
    return 0


def _refuse_existing_key(name: str, overwrite: bool) -> None:
    from .errors import FileExistsRefusedError
    from .files import bare_paths

    key_path = bare_paths(name)[1]
    if key_path.exists() and not overwrite:
        raise FileExistsRefusedError(f"{key_path} already exists; refusing to replace a private key (cfssljson "
                                     f"would overwrite it silently), remove it or pass -overwrite")


def _write_bare(name: str, pems: dict, *, overwrite: bool) -> None:
    """Write cfssljson's bare files for the PEM blocks in ``pems`` (``cert``, ``key``, ``csr``)."""
    from .errors import FileExistsRefusedError
    from .files import write_bare

    if "key" in pems:
        _refuse_existing_key(name, overwrite)
    # Existing certificates and CSRs are replaced like cfssljson does; only a key is protected.
    # write_bare checks for the key and writes under one directory lock: two runs at once never
    # both succeed without -overwrite, and never mix their files. (cfssl genkey's output has a key
    # and a CSR, no certificate.)
    try:
        write_bare(name, cert_pem=pems.get("cert"), key_pem=pems.get("key"), csr_pem=pems.get("csr"),
                   overwrite=overwrite, replace_public=True)
    except FileExistsRefusedError:
        _refuse_existing_key(name, overwrite)  # the key appeared meanwhile: say it the CLI's way
        raise


# ---------------------------------------------------------------------------------- certinfo
CERTINFO = Flags("certinfo", "-cert FILE", {"cert": ("str", "certificate file (PEM), or - for standard input"),
                                            "unpadded": ("bool", "print key IDs without zero padding, like "
                                                                 "Debian's 2016 cfssl")})


def cmd_certinfo(argv: list[str]) -> int:
    parsed = CERTINFO.parse(argv)
    if parsed is None:
        return 0
    values, positional = parsed
    import json

    if not values["cert"]:
        if positional:
            raise UsageError(f"certinfo: give the certificate with -cert (as in cfssl): "
                             f"{PROG} certinfo -cert {positional[0]}")
        raise UsageError("certinfo: give a certificate with -cert FILE")
    data = _read_input(values["cert"], "certificate")
    if b"-----BEGIN CERTIFICATE-----" not in data:
        label = "standard input" if values["cert"] == "-" else values["cert"]
        raise K8sAuthError(f"{label} holds no PEM certificate (expected '-----BEGIN CERTIFICATE-----')")
    from .inspect import describe

    info = describe(data).to_cfssl_certinfo(unpadded_key_ids=values["unpadded"])
    sys.stdout.write(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    return 0


# -------------------------------------------------------------------------------------- main
def _delegate(module: str, argv: list[str]) -> int:
    import importlib

    try:
        mod = importlib.import_module(f"{__package__}.{module}")
    except ImportError as exc:
        raise K8sAuthError(f"the {module.split('.')[0]} command is not available in this installation "
                           f"({exc})") from None
    if not hasattr(mod, "main"):
        raise K8sAuthError(f"the {module.split('.')[0]} command is not available in this installation "
                           f"(k8sauthlib.{module} has no main())")
    result = mod.main(argv)
    return int(result or 0)


COMMANDS = {
    "gencert": cmd_gencert,
    "sign": cmd_sign,
    "json": cmd_json,
    "cfssljson": cmd_json,
    "certinfo": cmd_certinfo,
    "lab": lambda argv: _delegate("lab.cli", argv),
    "kubeconfig": lambda argv: _delegate("kubeconfig", argv),
}


def _error(message: str) -> None:
    message = " ".join(str(message).split())  # one line, whatever the exception text held
    sys.stderr.write(f"{PROG}: error: {message}\n")


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
        from . import __version__

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
