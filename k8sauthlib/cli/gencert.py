"""``k8sauthlib gencert`` and ``k8sauthlib sign``: cfssl's commands of the same names.

``cryptography`` is imported inside the commands, after an RSA key generation has started in a
thread (:func:`start_keygen`): OpenSSL releases the GIL while it searches for primes, so the
import and the key generation overlap (``bench/bench_issue.py`` measures it).
"""

from __future__ import annotations

from ..errors import K8sAuthError, UsageError
from .cfssljson import refuse_existing_key, write_bare
from .flags import Flags, Log, loglevel, print_json_line, read_input

SIGN_FLAGS = {
    "ca": ("str", "CA certificate (PEM) to sign with"),
    "ca-key": ("str", "the CA's private key (PEM: PKCS#1, PKCS#8 or EC)"),
    "config": ("str", "signing configuration JSON (cfssl's signing.default / signing.profiles)"),
    "profile": ("str", "signing profile name from -config (default: signing.default)"),
    "hostname": ("str", "comma-separated hosts that replace the request's hosts/SANs"),
    "loglevel": ("str", "log level: 0 debug, 1 info (default), 2 warning, 3 error"),
}
GENCERT = Flags(
    "gencert",
    "[-initca | -ca=CA.pem -ca-key=CA-key.pem [-config=CONFIG.json] [-profile=NAME]] "
    "[-hostname=a,b] [-write=NAME] CSR.json",
    {
        "initca": ("bool", "make a new self-signed root CA (cfssl's CA policy)"),
        **SIGN_FLAGS,
        "write": (
            "str",
            "write NAME.pem, NAME-key.pem (0600), NAME.csr instead of printing JSON "
            "(the same as '| k8sauthlib json -bare NAME'; not in cfssl)",
        ),
        "overwrite": ("bool", "with -write: replace existing files, even a private key"),
    },
)
SIGN = Flags(
    "sign",
    "-ca=CA.pem -ca-key=CA-key.pem [-config=CONFIG.json] [-profile=NAME] [-hostname=a,b] CSR.pem",
    dict(SIGN_FLAGS),
)


def start_keygen(key_request):
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


def one_positional(positional: list[str], command: str, what: str) -> str:
    if not positional:
        raise UsageError(f"{command}: give the {what} file (or - for standard input)")
    if len(positional) > 1:
        raise UsageError(f"{command}: expected one {what} file, got {len(positional)}: {' '.join(positional)}")
    return positional[0]


def load_signer(values, command: str):
    """Read -config and -profile (no cryptography yet), then the CA."""
    from .. import cfssl

    if not values["ca"]:
        raise UsageError(
            f"{command}: need a CA certificate (provide one with -ca), or use -initca"
            if command == "gencert"
            else f"{command}: need a CA certificate (provide one with -ca)"
        )
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
    log = Log(loglevel(values["loglevel"]))
    from .. import cfssl

    path = one_positional(positional, "gencert", "CSR request JSON")
    req = cfssl.CsrRequest.from_json(read_input(path, "CSR request") if path == "-" else path)
    if values["hostname"] is not None:
        req = req.with_hosts(cfssl.split_hosts(values["hostname"]))
    if values["overwrite"] and not values["write"]:
        raise UsageError("gencert: -overwrite only applies with -write (gencert itself writes no files)")
    if values["write"]:
        refuse_existing_key(values["write"], values["overwrite"])  # before the work, not after
    # Usage errors first: the key generation below starts only for a command that can succeed.
    if values["initca"]:
        if values["ca"] or values["ca-key"]:
            raise UsageError("gencert: -initca makes a self-signed CA; it takes no -ca or -ca-key")
        if values["config"] or values["profile"]:
            raise UsageError(
                "gencert: -initca uses cfssl's CA policy; -config and -profile do not apply "
                '(set the lifetime with "ca": {"expiry": "..."} in the request)'
            )
    elif not values["ca"]:
        raise UsageError("gencert: need a CA certificate (provide one with -ca), or use -initca")
    elif not values["ca-key"]:
        raise UsageError("gencert: need a CA key (provide one with -ca-key)")
    log("INFO", f"generating key: {req.key}")
    pending_key = start_keygen(req.key)
    if values["initca"]:
        log("INFO", "generating a new CA key and certificate from CSR")
        result = cfssl.gencert_initca(req, private_key=pending_key())
    else:
        ca, config, _ = load_signer(values, "gencert")
        result = cfssl.gencert(ca, req, config, values["profile"], private_key=pending_key())
        if not req.hosts:
            log(
                "WARNING",
                'This certificate lacks a "hosts" field: fine for a client certificate, unsuitable for a TLS server.',
            )
    log("INFO", f"signed certificate with serial number {result.cert.serial_number}")
    if values["write"]:
        pems = {k: v.encode() for k, v in cfssl.to_cfssl_json(result).items()}
        write_bare(values["write"], pems, overwrite=values["overwrite"])
        return 0
    print_json_line(cfssl.to_cfssl_json(result))
    return 0


def cmd_sign(argv: list[str]) -> int:
    parsed = SIGN.parse(argv)
    if parsed is None:
        return 0
    values, positional = parsed
    log = Log(loglevel(values["loglevel"]))
    from .. import cfssl

    path = one_positional(positional, "sign", "CSR (PEM)")
    data = read_input(path, "CSR")
    ca, _, profile = load_signer(values, "sign")
    hosts = None
    if values["hostname"] is not None:
        from ..pki.names import go_san_order

        hosts = go_san_order(cfssl.split_hosts(values["hostname"]))
    not_before, not_after = cfssl.cfssl_validity(profile.expiry, profile.backdate)
    if b"CERTIFICATE REQUEST-----" not in data:
        raise K8sAuthError(f"{path} holds no PEM CSR (expected '-----BEGIN CERTIFICATE REQUEST-----')")
    result = ca.sign_csr(data, usages=profile.usages, hosts=hosts, not_before=not_before, not_after=not_after)
    cfssl.check_signed_by(result.cert, ca)
    log("INFO", f"signed certificate with serial number {result.cert.serial_number}")
    print_json_line({"cert": result.cert_pem.decode()})
    return 0


__all__ = ["GENCERT", "SIGN", "cmd_gencert", "cmd_sign"]
