"""``cfssl gencert``: issuing from a CSR request and a signing configuration, as cfssl does.

``-initca`` follows cfssl's CA policy (``initca.New`` in cloudflare/cfssl v1.6, ``initca/initca.go``:
``cert sign`` + ``crl sign``, 43800h unless ``ca.expiry``; DNS, email and URI SANs dropped, IP SANs
kept); signing follows ``signer/local`` (validity from now rounded to the minute minus
``backdate``, for exactly the profile's ``expiry``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..go.duration import format_duration
from ..pki.certs import CA, build_certificate
from ..pki.keys import key_matches
from ..pki.names import CA_USAGES, parse_hosts
from .config import DEFAULT_BACKDATE, SigningConfig
from .csr import CAConfig, CsrRequest

#: cfssl ``initca``'s CA policy (``initca.CAPolicy``): five years, certificate and CRL signing.
CA_EXPIRY = timedelta(hours=43800)


def cfssl_validity(
    expiry: timedelta, backdate: timedelta = DEFAULT_BACKDATE, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """cfssl's validity window: ``notBefore = round(now, minute) - backdate``, ``notAfter = notBefore + expiry``.

    Go's ``Time.Round`` rounds half up, so 10:00:30 becomes 10:01.
    """
    now = now or datetime.now(timezone.utc)
    rounded = (now + timedelta(seconds=30)).replace(second=0, microsecond=0)
    try:
        not_before = rounded - backdate
        not_after = not_before + expiry
    except OverflowError:
        not_before = not_after = None
    # X.509 times: UTCTime from 1950, GeneralizedTime up to 9999 (RFC 5280 4.1.2.5); the
    # cryptography package refuses a notBefore before 1950
    if not_before is None or not_before.year < 1950 or not_after.year > 9999:
        raise InputError(
            f"the validity window (expiry {format_duration(expiry)}, backdate "
            f"{format_duration(backdate)}) falls outside 1950..9999, which a certificate "
            f"cannot express; shorten the expiry or the backdate"
        )
    return not_before, not_after


def _go_signature_hash(key):
    """The hash cfssl signs a CSR with (``helpers.SignerAlgo``): bigger keys get bigger hashes."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

    if isinstance(key, rsa.RSAPrivateKey):
        size = key.key_size
        return hashes.SHA512() if size >= 4096 else hashes.SHA384() if size >= 3072 else hashes.SHA256()
    size = key.curve.key_size
    return hashes.SHA512() if size >= 521 else hashes.SHA384() if size >= 384 else hashes.SHA256()


def _make_csr(req: CsrRequest, key, subject, general_names, *, ca: bool):
    """The CSR cfssl prints beside the certificate: the request's subject, SANs and, for ``ca``, basicConstraints."""
    from cryptography import x509

    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if general_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(general_names), critical=False)
    if ca and req.ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=req.ca.path_length), critical=True)
    return builder.sign(key, _go_signature_hash(key))


def _general_names(req: CsrRequest) -> list:
    """The request's SANs as ``x509.GeneralName`` objects, in Go's order (:func:`parse_hosts`)."""
    return parse_hosts([f"{h}" for h in req.hosts]) if req.hosts else []


def load_ca(cert_path, key_path):
    """Load the signing CA of ``-ca`` / ``-ca-key``: PEM certificate plus PKCS#1, PKCS#8 or EC key.

    The same checks as :meth:`k8sauthlib.CA.load` (the key must match the certificate, which must
    be a CA), but faster for RSA: OpenSSL's RSA key validation runs primality tests on the
    secret primes, which costs as much as a third of generating a key, on every command. We
    skip it and instead check every signature the key makes against the CA certificate
    (:func:`gencert` does), which catches a damaged key as surely. Any problem falls back to
    :meth:`k8sauthlib.CA.load`, for its precise error message.

    Raises:
        InputError: a file is missing, unreadable, or not a certificate / private key, or the
            certificate is not a CA.
        KeyMismatchError: the key does not belong to the certificate.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    try:
        key_data = Path(key_path).read_bytes()
        key = serialization.load_pem_private_key(key_data, None, unsafe_skip_rsa_key_validation=True)
        certs = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())
        ok = isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)) and key_matches(certs[0], key)
        try:
            ok = ok and certs[0].extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            pass
    except Exception:  # noqa: BLE001 - any failure: let CA.load say precisely what is wrong
        ok = False
    if not ok:
        return CA.load(cert_path, key_path)
    return CA(certs[0], key, chain=certs[1:])


def check_signed_by(cert, ca) -> None:
    """The new certificate's signature verifies with the CA certificate's public key.

    Only RSA keys need it (see :func:`load_ca`); loading an EC key checks it fully, and an
    ECDSA verification would cost more than the signing it checks.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not isinstance(ca.key, rsa.RSAPrivateKey):
        return
    try:
        cert.verify_directly_issued_by(ca.cert)
    except (InvalidSignature, ValueError, TypeError):
        raise InputError(
            "the CA key made a signature that the CA certificate does not verify; the key file is damaged"
        ) from None


def gencert_initca(req: CsrRequest | Any, *, now: datetime | None = None, private_key=None):
    """``cfssl gencert -initca``: a new key and a self-signed root CA from a CSR request.

    Follows cfssl's CA policy: key usages ``cert sign`` and ``crl sign``, no extended key usage,
    ``basicConstraints`` CA:TRUE (with ``ca.pathlen``), 43800h (5 years) unless ``ca.expiry``;
    DNS, email and URI SANs are dropped (IP SANs kept), while the CSR keeps them all.

    Args:
        req: a :class:`CsrRequest`, or anything :meth:`CsrRequest.from_json` accepts.
        now: the issuing time (default: now), for reproducible tests.
        private_key: a key of the request's kind made beforehand (see :meth:`KeyRequest.generate`);
            None makes a new one.

    Returns:
        A :class:`k8sauthlib.CA` with ``key`` and ``csr`` set.
    """

    if not isinstance(req, CsrRequest):
        req = CsrRequest.from_json(req)
    ca_cfg = req.ca or CAConfig()
    expiry = ca_cfg.expiry or CA_EXPIRY
    backdate = ca_cfg.backdate if ca_cfg.backdate else DEFAULT_BACKDATE
    not_before, not_after = cfssl_validity(expiry, backdate, now)
    subject = req.subject()
    general_names = _general_names(req)
    ip_sans = [value for kind, value in req.classified_hosts() if kind == "ip"]
    key = req.key.generate() if private_key is None else private_key
    req.key.check(key)
    # What CA.create does, with our key: self-signed, CA:TRUE, no AKI.
    cert = build_certificate(
        subject=subject,
        issuer=subject,
        public_key=key.public_key(),
        signing_key=key,
        issuer_ski=None,
        hosts=ip_sans,
        usages=CA_USAGES,
        validity=expiry,
        not_before=not_before,
        not_after=not_after,
        is_ca=True,
        path_length=ca_cfg.path_length,
    )
    return CA(cert, key, csr=_make_csr(req, key, subject, general_names, ca=True))


def gencert(
    ca,
    req: CsrRequest | Any,
    config: SigningConfig | Any | None = None,
    profile: str | None = None,
    *,
    now: datetime | None = None,
    private_key=None,
):
    """``cfssl gencert -ca -ca-key -config -profile``: a new key and a certificate signed by ``ca``.

    Args:
        ca: the signing :class:`k8sauthlib.CA`.
        req: a :class:`CsrRequest`, or anything :meth:`CsrRequest.from_json` accepts.
        config: a :class:`SigningConfig` (or its JSON); None means cfssl's built-in default
            (usages signing, key encipherment, server auth, client auth; 8760h).
        profile: the ``-profile`` name; None or "" selects ``signing.default``.
        now: the issuing time (default: now), for reproducible tests.
        private_key: a key of the request's kind made beforehand (see :meth:`KeyRequest.generate`);
            None makes a new one.

    Returns:
        A :class:`k8sauthlib.Cert` with ``key`` and ``csr`` set.

    Raises:
        UnknownProfileError: ``profile`` is not in the configuration.
        InputError: the request has a ``ca`` section (only ``-initca`` uses it), or see
            :meth:`CsrRequest.from_json` and :meth:`SigningConfig.from_json`.
    """

    if not isinstance(req, CsrRequest):
        req = CsrRequest.from_json(req)
    if config is None:
        config = SigningConfig.builtin()
    elif not isinstance(config, SigningConfig):
        config = SigningConfig.from_json(config)
    chosen = config.profile(profile)
    if req.ca is not None:
        raise InputError(
            f'{req.source}: the "ca" section is only allowed with -initca '
            f'(cfssl: "ca section only permitted in initca")'
        )
    not_before, not_after = cfssl_validity(chosen.expiry, chosen.backdate, now)
    subject = req.subject()
    general_names = _general_names(req)
    sans = req.sans()
    key = req.key.generate() if private_key is None else private_key
    req.key.check(key)
    csr = _make_csr(req, key, subject, general_names, ca=False)
    issued = ca.issue(
        subject=subject,
        hosts=sans,
        usages=chosen.usages,
        not_before=not_before,
        not_after=not_after,
        is_ca=chosen.is_ca,
        path_length=chosen.path_length,
        public_key=key.public_key(),
        csr=csr,
    )
    check_signed_by(issued.cert, ca)
    if chosen.is_ca:
        return CA(issued.cert, key, csr=csr, chain=issued.chain)
    issued.key = key  # our own fresh key for the public key just signed: no need to re-check the pair
    return issued


def to_cfssl_json(cert) -> dict[str, str]:
    """The JSON object cfssl prints for a certificate: ``cert``, ``csr`` and ``key`` PEM strings.

    Fields without a value (no key, no CSR) are left out, as cfssl leaves them out.
    """
    out = {"cert": cert.cert_pem.decode()}
    if getattr(cert, "csr", None) is not None:
        out["csr"] = cert.csr_pem.decode()
    if getattr(cert, "key", None) is not None:
        out["key"] = cert.key_pem.decode()
    return out


__all__ = ["CA_EXPIRY", "cfssl_validity", "check_signed_by", "gencert", "gencert_initca", "load_ca", "to_cfssl_json"]
