"""Certificate authorities and the certificates Kubernetes cares about: :class:`CA` issues them.

Shaped after trustme: ``CA.create()`` -> ``ca.issue_client_cert()`` -> ``cert.write()``. The
defaults follow what kubeadm and cfssl produce, because the book puts our output next to theirs:

- SHA-256 signatures (SHA-384 under a P-384 key), random 20-byte serials;
- a Subject Key Identifier on every certificate, and an Authority Key Identifier taken from the
  issuer's SKI;
- ``notBefore`` five minutes in the past (kubeadm's ``CertificateBackdate``, cfssl's backdate), so
  a certificate is usable at once on a machine whose clock is a little behind;
- CAs: ``basicConstraints`` CA:TRUE and a key usage, no extended key usage;
- servers: ``serverAuth`` only; clients: ``clientAuth`` only, ``CN`` = user and one ``O`` per group
  and nothing else in the subject, since Kubernetes reads every ``O`` as a group.

Private keys are serialized like kubeadm and cfssl write them: PKCS#1 (``RSA PRIVATE KEY``) for
RSA and SEC 1 (``EC PRIVATE KEY``) for ECDSA. What issuing returns, :class:`~k8sauthlib.pki.results.Cert`
and :class:`~k8sauthlib.pki.results.CSR` (with :func:`~k8sauthlib.pki.results.make_csr`), lives in
:mod:`k8sauthlib.pki.results`; :func:`build_certificate` is the one X.509 builder every issuer calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from cryptography import x509

from ..errors import InputError
from .fields import read_pem
from .keys import DEFAULT_KEY, KeySpec, hash_for
from .names import CA_USAGES, CLIENT_USAGES, SERVER_USAGES, parse_hosts, resolve_usages, subject_name
from .results import Cert, short_subject

#: kubeadm and cfssl start validity this far in the past (kubeadm ``constants.CertificateBackdate``).
BACKDATE = timedelta(minutes=5)
#: kubeadm's lifetimes (``cmd/kubeadm/app/constants/constants.go``: ``CACertificateValidityPeriod``,
#: ``CertificateValidityPeriod``), our defaults too.
CA_VALIDITY = timedelta(days=3650)
CERT_VALIDITY = timedelta(days=365)


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise InputError(f"datetime {dt!r} has no time zone; use an aware datetime such as datetime.now(timezone.utc)")
    return dt.astimezone(timezone.utc).replace(microsecond=0)


def _validity(validity, not_before, not_after) -> tuple[datetime, datetime]:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    if not isinstance(validity, timedelta):
        raise InputError(f"validity must be a timedelta, not {type(validity).__name__}")
    start = _utc(not_before) if not_before is not None else now - BACKDATE
    end = _utc(not_after) if not_after is not None else (_utc(not_before) if not_before is not None else now) + validity
    if end <= start:
        raise InputError(
            f"the certificate would end ({end:%Y-%m-%d %H:%M:%S}Z) before it starts ({start:%Y-%m-%d %H:%M:%S}Z)"
        )
    return start, end


# ------------------------------------------------------------------------------------------ CA
class CA(Cert):
    """A certificate authority that can issue certificates: a self-signed root or an intermediate."""

    @classmethod
    def create(
        cls,
        common_name: str = "kubernetes",
        *,
        orgs: Iterable[str] = (),
        org: str | None = None,
        subject: x509.Name | None = None,
        key=DEFAULT_KEY,
        validity: timedelta = CA_VALIDITY,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        usages: Iterable[str] = CA_USAGES,
        hosts: Iterable[str] = (),
        path_length: int | None = None,
    ) -> CA:
        """Create a self-signed root CA.

        Args:
            common_name: the CA's CN (kubeadm's cluster CA is ``kubernetes``).
            orgs: ``O`` values of the CA subject; ``org`` is a shorthand for a single one.
            subject: a complete subject instead of ``common_name``/``orgs``.
            key: key spec, e.g. ``"rsa-2048"`` or ``"ecdsa-p256"``.
            validity: lifetime (kubeadm: 10 years; cfssl ``-initca``: 5 years).
            not_before, not_after: explicit validity bounds (aware datetimes).
            usages: cfssl usage names for the key usage extension.
            hosts: SANs (kubeadm puts ``DNS:kubernetes`` on its CA).
            path_length: ``basicConstraints`` pathlen, or None for no limit.
        """
        orgs = ([org] if org else []) + (list(orgs) if not isinstance(orgs, str) else [orgs])
        private_key = KeySpec.parse(key).generate()
        name = subject if subject is not None else subject_name(common_name, orgs)
        cert = build_certificate(
            subject=name,
            issuer=name,
            public_key=private_key.public_key(),
            signing_key=private_key,
            issuer_ski=None,
            hosts=hosts,
            usages=usages,
            validity=validity,
            not_before=not_before,
            not_after=not_after,
            is_ca=True,
            path_length=path_length,
        )
        return cls(cert, private_key)

    @classmethod
    def load(cls, cert_path, key_path):
        """Load a CA from PEM files, e.g. kubeadm's ``/etc/kubernetes/pki/ca.crt`` and ``ca.key``.

        Accepts PKCS#1, PKCS#8 and EC private keys.

        Raises:
            KeyMismatchError: the key does not belong to the certificate.
            InputError: a file is missing or unreadable, or the certificate is not a CA.
        """
        ca = super().load(cert_path, key_path)
        if ca.key is None:
            raise InputError("a CA needs its private key to sign; give the key file as well")
        try:
            bc = ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            bc = None
        if bc is not None and not bc.ca:
            raise InputError(
                f"{short_subject(ca.cert)} is not a CA certificate (basicConstraints CA:FALSE); "
                f"it cannot sign other certificates"
            )
        return ca

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes):
        return cls.load(cert_pem, key_pem)

    @property
    def is_root(self) -> bool:
        return self.cert.issuer == self.cert.subject and not self.chain

    def _chain_for_children(self) -> list[x509.Certificate]:
        return ([] if self.is_root else [self.cert]) + self.chain

    def _basic_constraints(self):
        try:
            return self.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            return None

    def _ski(self):
        try:
            return self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        except x509.ExtensionNotFound:
            return None

    def issue(
        self,
        *,
        subject: x509.Name,
        hosts: Iterable[str] = (),
        usages: Iterable[str] = CLIENT_USAGES,
        key=DEFAULT_KEY,
        validity: timedelta = CERT_VALIDITY,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        is_ca: bool = False,
        path_length: int | None = None,
        public_key=None,
        csr: x509.CertificateSigningRequest | None = None,
    ) -> Cert:
        """Issue a certificate with any subject, SANs and usages: the general form of the helpers below.

        Args:
            subject: the subject name.
            hosts: SANs, cfssl-style.
            usages: cfssl usage names.
            key: key spec for a new key pair (ignored when ``public_key`` is given).
            validity, not_before, not_after: lifetime.
            is_ca: issue a CA certificate (``basicConstraints`` CA:TRUE).
            path_length: pathlen for a CA.
            public_key: sign this public key (from a CSR) instead of making a new key pair.
            csr: the CSR to keep with the result.
        """
        private_key = None
        if public_key is None:
            private_key = KeySpec.parse(key).generate()
            public_key = private_key.public_key()
        cert = build_certificate(
            subject=subject,
            issuer=self.cert.subject,
            public_key=public_key,
            signing_key=self.key,
            issuer_ski=self._ski(),
            issuer_public_key=self.cert.public_key(),
            hosts=hosts,
            usages=usages,
            validity=validity,
            not_before=not_before,
            not_after=not_after,
            is_ca=is_ca,
            path_length=path_length,
        )
        result_cls = CA if is_ca and private_key is not None else Cert
        return result_cls(cert, private_key, csr=csr, chain=self._chain_for_children())

    def issue_server_cert(
        self,
        *hosts: str,
        common_name: str | None = None,
        orgs: Iterable[str] = (),
        key=DEFAULT_KEY,
        validity: timedelta = CERT_VALIDITY,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        usages: Iterable[str] = SERVER_USAGES,
    ) -> Cert:
        """Issue a TLS server certificate for ``hosts`` (DNS names and IP addresses), ``serverAuth`` only.

        The CN defaults to the first host; clients check the SANs, never the CN.
        """
        if not hosts:
            raise InputError("a server certificate needs at least one host name or IP address")
        if isinstance(orgs, str):
            orgs = [orgs]
        return self.issue(
            subject=subject_name(common_name if common_name is not None else hosts[0], orgs),
            hosts=hosts,
            usages=usages,
            key=key,
            validity=validity,
            not_before=not_before,
            not_after=not_after,
        )

    def issue_client_cert(
        self,
        user: str,
        groups: Iterable[str] = (),
        *,
        key=DEFAULT_KEY,
        validity: timedelta = CERT_VALIDITY,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        usages: Iterable[str] = CLIENT_USAGES,
        hosts: Iterable[str] = (),
    ) -> Cert:
        """Issue a client certificate for a Kubernetes user: ``CN=user``, one ``O`` per group, ``clientAuth``.

        An empty ``user`` makes a certificate without CN, which Kubernetes treats as anonymous.
        """
        if user is None:
            raise InputError('give the user name (the CN); pass "" explicitly for a certificate without CN')
        if isinstance(groups, str):
            groups = [groups]
        return self.issue(
            subject=subject_name(user, groups),
            hosts=hosts,
            usages=usages,
            key=key,
            validity=validity,
            not_before=not_before,
            not_after=not_after,
        )

    def issue_intermediate(
        self,
        common_name: str,
        *,
        orgs: Iterable[str] = (),
        key=DEFAULT_KEY,
        validity: timedelta = timedelta(days=1825),
        path_length: int | None = None,
        usages: Iterable[str] = CA_USAGES,
    ) -> CA:
        """Issue an intermediate CA signed by this one; its ``chain`` leads back to (not including) the root.

        Raises:
            InputError: this CA has ``pathlen`` 0, so clients would reject any intermediate under it
                (``x509: too many intermediates for path length constraint``). The general
                :meth:`issue` still builds such a chain for a reader who wants to see it fail.
        """
        bc = self._basic_constraints()
        if bc is not None and bc.path_length == 0:
            raise InputError(
                f"{short_subject(self.cert)} has pathlen 0: it may sign only end-entity "
                f"certificates, and clients would reject an intermediate under it "
                f"('x509: too many intermediates for path length constraint')"
            )
        return self.issue(
            subject=subject_name(common_name, orgs),
            usages=usages,
            key=key,
            validity=validity,
            is_ca=True,
            path_length=path_length,
        )

    def sign_csr(
        self,
        csr,
        *,
        usages: Iterable[str] = CLIENT_USAGES,
        hosts: Iterable[str] | None = None,
        subject: x509.Name | None = None,
        validity: timedelta = CERT_VALIDITY,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> Cert:
        """Sign a CSR made elsewhere, so the requester's private key never leaves their machine.

        Args:
            csr: a ``cryptography`` CSR, PEM bytes, or a path to a PEM file.
            usages: cfssl usage names (default: a client certificate).
            hosts: SANs to put in; None keeps the CSR's own SANs.
            subject: a subject to use instead of the CSR's.
            validity, not_before, not_after: lifetime.

        Raises:
            InputError: the CSR cannot be parsed or its signature is invalid.
        """
        if not isinstance(csr, x509.CertificateSigningRequest):
            data = read_pem(csr, "CSR")
            try:
                csr = x509.load_pem_x509_csr(data)
            except ValueError as exc:
                raise InputError(
                    f"cannot parse the CSR (expected '-----BEGIN CERTIFICATE REQUEST-----'): {exc}"
                ) from None
        if not csr.is_signature_valid:
            raise InputError("the CSR's signature does not verify; it was altered or not signed by its key")
        if hosts is None:
            try:
                san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                hosts = [str(n.value) for n in san]
            except x509.ExtensionNotFound:
                hosts = []
        return self.issue(
            subject=subject if subject is not None else csr.subject,
            hosts=hosts,
            usages=usages,
            validity=validity,
            not_before=not_before,
            not_after=not_after,
            public_key=csr.public_key(),
            csr=csr,
        )


def build_certificate(
    *,
    subject,
    issuer,
    public_key,
    signing_key,
    issuer_ski,
    hosts,
    usages,
    validity,
    not_before,
    not_after,
    is_ca,
    path_length,
    issuer_public_key=None,
) -> x509.Certificate:
    start, end = _validity(validity, not_before, not_after)
    key_usage, ekus = resolve_usages(list(usages))
    if not is_ca and path_length is not None:
        raise InputError("path_length applies to CA certificates only")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    builder = builder.add_extension(
        x509.BasicConstraints(ca=is_ca, path_length=path_length if is_ca else None), critical=True
    )
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    if issuer != subject or issuer_public_key is not None:
        if issuer_ski is not None:
            aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski)
        else:
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key or signing_key.public_key())
        builder = builder.add_extension(aki, critical=False)
    sans = parse_hosts(hosts)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(signing_key, hash_for(signing_key))


__all__ = ["BACKDATE", "CA", "CA_VALIDITY", "CERT_VALIDITY", "build_certificate"]
