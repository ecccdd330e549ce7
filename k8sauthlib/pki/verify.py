"""Will a chain be accepted? :func:`verify_chain` follows Go's ``crypto/x509`` ``Certificate.Verify``.

That is what kube-apiserver (client certificates), kubectl and every Go client run, so the
failure carries Go's own error text (``x509: certificate signed by unknown authority``) and the
reason a cause key of :mod:`k8sauthlib.tls.diagnose`. Source: Go 1.22, ``src/crypto/x509/verify.go``
(``Verify``, ``buildChains``, ``isValid``, ``checkChainForKeyUsage``) and ``src/crypto/x509/x509.go``
(``CheckSignatureFrom``); the host-name check (``VerifyHostname``) is :mod:`k8sauthlib.pki.hostname`.
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID

from ..causes import go_key
from ..errors import InputError, VerificationError
from ..go.text import format_rfc3339, go_quote
from .describe import EKU_NAMES, cert_label
from .fields import GO_HANDLED_EXTENSIONS, SIGALG_GO_NAMES, extension, load_cert, load_cert_bundle, utc_time
from .hostname import hostname_mismatch

# Go's SignatureAlgorithm.String() for the algorithms it refuses as insecure.
_GO_INSECURE_SIGALGS = {
    SignatureAlgorithmOID.RSA_WITH_MD5: "MD5-RSA",
    SignatureAlgorithmOID.RSA_WITH_SHA1: "SHA1-RSA",
    SignatureAlgorithmOID.ECDSA_WITH_SHA1: "ECDSA-SHA1",
    SignatureAlgorithmOID.DSA_WITH_SHA1: "DSA-SHA1",
}


_PURPOSES = {
    "client": ExtendedKeyUsageOID.CLIENT_AUTH,
    "server": ExtendedKeyUsageOID.SERVER_AUTH,
    "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
}


def _has_eku(cert) -> bool:
    return extension(cert, x509.ExtendedKeyUsage) is not None


def _eku_oids(cert) -> list:
    ext = extension(cert, x509.ExtendedKeyUsage)
    return list(ext.value) if ext is not None else []


def _ski_bytes(cert) -> bytes | None:
    ext = extension(cert, x509.SubjectKeyIdentifier)
    return ext.value.digest if ext is not None else None


def _aki_bytes(cert) -> bytes | None:
    ext = extension(cert, x509.AuthorityKeyIdentifier)
    return ext.value.key_identifier if ext is not None else None


class _Fail(Exception):
    """A Go error inside the chain builder, kept until Verify decides what to report."""

    def __init__(self, reason: str, go_message: str, message: str, cert: x509.Certificate):
        super().__init__(go_message)
        self.reason, self.go_message, self.message, self.cert = reason, go_message, message, cert

    def raise_(self):
        # The reason is the cause key of Go's text (one vocabulary with the troubleshooting table).
        err = VerificationError(self.message, reason=go_key(self.go_message) or self.reason, go_message=self.go_message)
        err.certificate = self.cert
        raise err


def _unhandled_critical(cert) -> list[str]:
    return [e.oid.dotted_string for e in cert.extensions if e.critical and e.oid not in GO_HANDLED_EXTENSIONS]


def _check_validity(cert, now: datetime, role: str) -> None:
    """Go's ``isValid`` time check; the bounds themselves are valid instants."""
    nb, na = cert.not_valid_before_utc, cert.not_valid_after_utc
    if now < nb:
        raise _Fail(
            "cert-expired",
            f"x509: certificate has expired or is not yet valid: current time {format_rfc3339(now)} "
            f"is before {format_rfc3339(nb)}",
            f"The {role} certificate {cert_label(cert)} is not valid yet: it starts at {format_rfc3339(nb)}, "
            f"and it is {format_rfc3339(now)} now. Check this machine's and the server's clocks, or wait.",
            cert,
        )
    if now > na:
        raise _Fail(
            "cert-expired",
            f"x509: certificate has expired or is not yet valid: current time {format_rfc3339(now)} "
            f"is after {format_rfc3339(na)}",
            f"The {role} certificate {cert_label(cert)} expired at {format_rfc3339(na)} (it is {format_rfc3339(now)} "
            f"now). Issue a new certificate; Kubernetes cannot extend an existing one.",
            cert,
        )


def _is_valid(cert, cert_type: str, current_chain: list, now: datetime) -> None:
    """Go's ``Certificate.isValid`` (Go 1.23): critical extensions, time, CA flag, path length."""
    role = {"leaf": "leaf", "intermediate": "intermediate CA", "root": "root CA"}[cert_type]
    unhandled = _unhandled_critical(cert)
    if unhandled:
        raise _Fail(
            "unhandled-critical-extension",
            "x509: unhandled critical extension",
            f"The {role} certificate {cert_label(cert)} has a critical extension Go does not understand "
            f"({', '.join(unhandled)}), so Go clients and kube-apiserver refuse it. Re-issue it "
            f"without that extension or mark it non-critical.",
            cert,
        )
    _check_validity(cert, now, role)
    bc = extension(cert, x509.BasicConstraints)
    if cert_type == "intermediate" and (bc is None or not bc.value.ca):
        raise _Fail(
            "not-a-ca",
            "x509: certificate is not authorized to sign other certificates",
            f"{cert_label(cert)} is used as an intermediate CA but is not a CA (no basicConstraints "
            f"CA:TRUE). Chain through a real CA certificate.",
            cert,
        )
    if bc is not None and bc.value.path_length is not None:
        intermediates = len(current_chain) - 1
        if intermediates > bc.value.path_length:
            raise _Fail(
                "path-length",
                "x509: too many intermediates for path length constraint",
                f"The CA {cert_label(cert)} allows at most {bc.value.path_length} intermediate CA(s) below "
                f"it (pathlen), but this chain has {intermediates}. Issue from a CA higher up, or "
                f"create the CA with a larger path_length.",
                cert,
            )


_GO_KEY_TYPES = (
    (rsa.RSAPublicKey, "*rsa.PublicKey", "RSA"),
    (ec.EllipticCurvePublicKey, "*ecdsa.PublicKey", "ECDSA"),
    (ed25519.Ed25519PublicKey, "ed25519.PublicKey", "Ed25519"),
    (dsa.DSAPublicKey, "*dsa.PublicKey", "DSA"),
)


def _go_key_type(key) -> tuple[str, str | None]:
    """Go's ``%T`` of a public key and its ``PublicKeyAlgorithm`` name."""
    for cls, go_type, algo in _GO_KEY_TYPES:
        if isinstance(key, cls):
            return go_type, algo
    return type(key).__name__, None


def _sig_key_algo(cert) -> str | None:
    name = SIGALG_GO_NAMES.get(cert.signature_algorithm_oid, "")
    if "RSA" in name:
        return "RSA"
    if name.startswith("ECDSA"):
        return "ECDSA"
    if name.startswith("DSA"):
        return "DSA"
    if name == "PureEd25519":
        return "Ed25519"
    return None


def _check_signature_from(child, parent) -> str | None:
    """Go's ``CheckSignatureFrom``; returns Go's error text, or None when ``parent`` signed ``child``."""
    bc = extension(parent, x509.BasicConstraints)
    if (parent.version == x509.Version.v3 and bc is None) or (bc is not None and not bc.value.ca):
        return "x509: invalid signature: parent certificate cannot sign this kind of certificate"
    ku = extension(parent, x509.KeyUsage)
    if ku is not None and not ku.value.key_cert_sign:
        return "x509: invalid signature: parent certificate cannot sign this kind of certificate"
    insecure = _GO_INSECURE_SIGALGS.get(child.signature_algorithm_oid)
    if insecure:
        # Go 1.18-1.23 (kube-apiserver 1.32) still offered an escape hatch for SHA-1 RSA/ECDSA.
        override = " (temporarily override with GODEBUG=x509sha1=1)" if insecure in ("SHA1-RSA", "ECDSA-SHA1") else ""
        return f"x509: cannot verify signature: insecure algorithm {insecure}{override}"
    go_type, have = _go_key_type(parent.public_key())
    want = _sig_key_algo(child)
    if want is None or have is None:
        return "x509: cannot verify signature: algorithm unimplemented"
    if want != have:
        return f"x509: signature algorithm specifies an {want} public key, but have public key of type {go_type}"

    try:
        child.verify_directly_issued_by(parent)
    except InvalidSignature:
        return {
            "RSA": "crypto/rsa: verification error",
            "ECDSA": "x509: ECDSA verification failure",
            "Ed25519": "x509: Ed25519 verification failure",
        }.get(have, "x509: verification failure")
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return f"x509: {exc}"
    return None


def _already_in_chain(candidate, chain) -> bool:
    """Go's ``alreadyInChain``: same subject, same public key and same SAN extension."""

    def san(c):
        ext = extension(c, x509.SubjectAlternativeName)
        return ext.value.public_bytes() if ext is not None else None

    spki = candidate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for cert in chain:
        if cert.subject.public_bytes() != candidate.subject.public_bytes():
            continue
        if (
            cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            != spki
        ):
            continue
        if san(cert) == san(candidate):
            return True
    return False


def _potential_parents(cert, pool: list) -> list:
    """Go's ``CertPool.findPotentialParents``: same raw name, key-id matches first."""
    issuer = cert.issuer.public_bytes()
    aki = _aki_bytes(cert)
    matching, one, mismatch = [], [], []
    for cand in pool:
        if cand.subject.public_bytes() != issuer:
            continue
        ski = _ski_bytes(cand)
        if (ski or b"") == (aki or b""):
            matching.append(cand)
        elif (not ski and aki) or (ski and not aki):
            one.append(cand)
        else:
            mismatch.append(cand)
    return matching + one + mismatch


def _unknown_authority(cert, roots, hint_err, hint_cert) -> _Fail:
    go = "x509: certificate signed by unknown authority"
    issuer = cert.issuer.rfc4514_string() or "(empty name)"
    trusted = ", ".join(repr(r.subject.rfc4514_string()) for r in roots) or "none"
    if hint_err is None:
        return _Fail(
            "unknown-authority",
            go,
            f"{cert_label(cert)} was issued by {issuer!r}, which is not among the trusted CAs "
            f"({trusted}) nor the intermediates given. Trust the CA that issued it "
            f"(kubeconfig certificate-authority-data, --client-ca-file, curl --cacert), or "
            f"re-issue the certificate from a CA that is trusted.",
            cert,
        )
    name = hint_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cand_name = str(name[0].value) if name else ""
    if not cand_name:
        orgs = hint_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        cand_name = str(orgs[0].value) if orgs else f"serial:{hint_cert.serial_number}"
    go += f" (possibly because of {go_quote(hint_err)} while trying to verify candidate authority certificate {go_quote(cand_name)})"
    if "cannot sign this kind of certificate" in hint_err:
        return _Fail(
            "not-a-ca",
            go,
            f"{cert_label(cert)} names {issuer!r} as its issuer, and a certificate with that name is "
            f"trusted, but it is not allowed to sign certificates (no CA:TRUE basic constraint or "
            f"no keyCertSign key usage). Use a real CA certificate as the trust anchor.",
            cert,
        )
    if "insecure algorithm" in hint_err:
        return _Fail(
            "unknown-authority",
            go,
            f"{cert_label(cert)} is signed with {cert.signature_hash_algorithm.name.upper()}, which Go no "
            f"longer accepts in certificate signatures. Re-issue it with a SHA-256 signature (every "
            f"k8sauthlib, cfssl and kubeadm default).",
            cert,
        )
    return _Fail(
        "unknown-authority",
        go,
        f"{cert_label(cert)} names {issuer!r} as its issuer, and a CA with that name is trusted, but "
        f"its key did not verify the signature ({hint_err}). The CA was most likely regenerated "
        f"with a new key: re-issue the certificate with the current CA key (for kubeadm: "
        f"/etc/kubernetes/pki/ca.key), or trust the CA that really signed it.",
        cert,
    )


def _build_chains(cert, current: list, roots: list, intermediates: list, now: datetime, checks: list):
    """Go's ``buildChains``: depth-first over roots, then intermediates; returns (chains, fail)."""
    chains: list = []
    err: _Fail | None = None
    hint_err = hint_cert = None

    def consider(cert_type, candidate):
        nonlocal err, hint_err, hint_cert, chains
        if _already_in_chain(candidate, current):
            return
        checks[0] += 1
        if checks[0] > 100:
            err = _Fail(
                "unknown-authority",
                "x509: signature check attempts limit reached while verifying certificate chain",
                "Too many candidate issuers to try; remove unrelated certificates from the bundles.",
                cert,
            )
            return
        sig_err = _check_signature_from(cert, candidate)
        if sig_err is not None:
            if hint_err is None:
                hint_err, hint_cert = sig_err, candidate
            return
        try:
            _is_valid(candidate, cert_type, current, now)
            err = None
        except _Fail as fail:
            err = fail
            return
        if cert_type == "root":
            chains.append(current + [candidate])
        else:
            child_chains, err = _build_chains(candidate, current + [candidate], roots, intermediates, now, checks)
            chains.extend(child_chains)

    for root in _potential_parents(cert, roots):
        consider("root", root)
    for inter in _potential_parents(cert, intermediates):
        consider("intermediate", inter)
    if chains:
        return chains, None
    if err is None:
        err = _unknown_authority(cert, roots, hint_err, hint_cert)
    return [], err


def _check_chain_for_key_usage(chain: list, usage) -> bool:
    """Go's ``checkChainForKeyUsage`` for one requested usage.

    A certificate without an EKU extension is skipped, one listing ``anyExtendedKeyUsage``
    passes, every other certificate in the chain must list the usage.
    """
    for cert in reversed(chain):
        if not _has_eku(cert):
            continue
        ekus = _eku_oids(cert)
        if ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in ekus:
            continue
        if usage not in ekus:
            return False
    return True


def _wrong_usage(leaf, purpose: str, chains: list) -> _Fail:
    need = "clientAuth" if purpose == "client" else "serverAuth"
    culprit = leaf
    for chain in chains:
        for cert in chain:
            ekus = _eku_oids(cert)
            if (
                _has_eku(cert)
                and _PURPOSES[purpose] not in ekus
                and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in ekus
            ):
                culprit = cert
                break
        break
    listed = ", ".join(EKU_NAMES.get(o, o.dotted_string) for o in _eku_oids(culprit))
    cfssl = "client auth" if purpose == "client" else "server auth"
    who = "client certificate" if purpose == "client" else "server certificate"
    where = "" if culprit is leaf else f" (in the chain of {cert_label(leaf)})"
    return _Fail(
        "wrong-key-usage",
        "x509: certificate specifies an incompatible key usage",
        f"{cert_label(culprit)}{where} lists extended key usages [{listed}] without {need}, so Go refuses "
        f'it as a {who}. Re-issue it with the {cfssl!r} usage (cfssl profile "usages"), or '
        f"without any extended key usage at all.",
        culprit,
    )


def verify_chain(
    leaf,
    roots,
    *,
    intermediates=(),
    purpose: str | None = None,
    hostname: str | None = None,
    at: datetime | None = None,
) -> list[x509.Certificate]:
    """Verify a certificate the way Go's ``crypto/x509`` does, as kube-apiserver and kubectl do.

    The steps and their order follow ``Certificate.Verify`` of Go 1.23, the Go that
    kube-apiserver and kubectl 1.32 are built with (the tests compare the texts with kubectl
    1.32's), so the first error reported is the one Go reports. (Go's development branch has
    since moved the EKU check into chain building, which can change which error comes first
    when several things are wrong.) The checks, in order:

    1. the leaf: no critical extension Go does not understand, and ``at`` within its validity;
    2. ``hostname``, when given, against the SANs only (the CN is ignored since Go 1.15):
       DNS names case-insensitively with a wildcard for one whole left-most label, IP addresses
       against IP SANs;
    3. a path from the leaf through ``intermediates`` to one of ``roots``: candidates are
       certificates whose subject equals the child's issuer (those whose SKI matches the
       child's AKI first); each must be a CA (``basicConstraints`` CA:TRUE and, if it has a key
       usage, ``keyCertSign``) whose key verifies the child's signature; each must be valid at
       ``at`` and respect ``pathlen``. A leaf that is itself in ``roots`` is trusted as is;
    4. the extended key usage over the whole chain, with Go's rule: a certificate without an
       EKU extension is skipped, ``anyExtendedKeyUsage`` passes, every other certificate must
       list the usage asked for (``purpose="any"`` skips this step).

    Not modelled: name constraints, certificate policies, revocation (Kubernetes has none).

    Compared with ``openssl verify -purpose sslclient|sslserver`` (OpenSSL 3.0): the verdicts on
    extended key usage agree (a leaf without any EKU passes; a leaf, intermediate or root whose
    EKU list lacks the usage fails), but OpenSSL also checks a leaf's key usage bits (a client
    certificate without ``digitalSignature`` fails ``sslclient``), which Go ignores.

    Args:
        leaf: the certificate to verify: a ``cryptography`` certificate, PEM bytes, a path, or a
            :class:`~k8sauthlib.Cert` (its ``chain`` is then used as intermediates, like the
            certificates a TLS peer sends after its own).
        roots: the trusted CAs: one or more certificates, CA objects, PEM bundles or paths (a
            ``--client-ca-file``, a kubeconfig's ``certificate-authority``).
        intermediates: untrusted CA certificates that may complete the path.
        purpose: ``"client"`` (clientAuth, what kube-apiserver requires of client certificates),
            ``"server"`` (serverAuth, what kubectl requires of the API server) or ``"any"``.
            Default: ``"server"`` when ``hostname`` is given, else ``"client"``.
        hostname: the name or IP address the client connected to (server certificates).
        at: the time to verify at (default: now); a naive datetime is read as UTC.

    Returns:
        The verified chain, leaf first and the trusted root last.

    Raises:
        VerificationError: with ``reason`` one of ``unknown-issuer``, ``bad-signature`` (a
            trusted CA has the issuer's name but not its key: a regenerated CA), ``not-a-ca``,
            ``expired``, ``not-yet-valid``, ``wrong-usage``, ``hostname-mismatch``,
            ``path-length`` or ``unhandled-critical-extension``; ``go_message`` holds Go's exact
            error text, ``certificate`` the certificate the error is about.
        InputError: an argument cannot be read, or ``purpose`` is unknown.
    """
    if purpose is None:
        purpose = "server" if hostname else "client"
    if purpose not in _PURPOSES:
        raise InputError(f"unknown purpose {purpose!r}; use 'client', 'server' or 'any'")
    leaf_cert = load_cert(leaf)
    extra_intermediates = list(getattr(leaf, "chain", None) or []) if not isinstance(leaf, x509.Certificate) else []
    root_certs = load_cert_bundle(roots)
    inter_certs = load_cert_bundle(intermediates) + [c for c in extra_intermediates if isinstance(c, x509.Certificate)]
    now = utc_time(at)
    try:
        _is_valid(leaf_cert, "leaf", [], now)
        mismatch = hostname_mismatch(leaf_cert, hostname) if hostname else None
        if mismatch is not None:
            raise _Fail("hostname-mismatch", *mismatch, leaf_cert)
        leaf_der = leaf_cert.public_bytes(serialization.Encoding.DER)
        if any(r.public_bytes(serialization.Encoding.DER) == leaf_der for r in root_certs):
            chains = [[leaf_cert]]
        else:
            chains, fail = _build_chains(leaf_cert, [leaf_cert], root_certs, inter_certs, now, [0])
            if fail is not None:
                raise fail
        if purpose == "any":
            return chains[0]
        good = [c for c in chains if _check_chain_for_key_usage(c, _PURPOSES[purpose])]
        if not good:
            raise _wrong_usage(leaf_cert, purpose, chains)
        return good[0]
    except _Fail as fail:
        fail.raise_()


__all__ = ["verify_chain"]
