"""kube-controller-manager's ``csrsigning`` controller for ``kubernetes.io/kube-apiserver-client``.

A cluster has no CSR signer inside kube-apiserver: kube-controller-manager watches CSRs and
signs the approved ones with ``--cluster-signing-cert-file``/``--cluster-signing-key-file``
(kubeadm: ``pki/ca.crt`` and ``pki/ca.key``). The lab plays that controller with :func:`sign`.
Sources in kubernetes/kubernetes (release-1.32, unchanged since 1.28):

* ``pkg/controller/certificates/certificate_controller.go`` ``syncFunc``: a CSR that already
  has ``status.certificate`` is left alone;
* ``pkg/controller/certificates/signer/signer.go`` ``signer.handle``: only approved (and not
  denied, not failed) requests of its own signer; ``isKubeAPIServerClient`` /
  ``validAPIServerClientUsages`` (usages other than ``digital signature``, ``key
  encipherment`` and ``client auth``, or no ``client auth``, give a ``Failed`` condition with
  reason ``SignerValidationFailure``); ``signer.duration`` (``--cluster-signing-duration``,
  default 8760h, or ``spec.expirationSeconds`` when shorter, never under 10 minutes);
* ``pkg/controller/certificates/authority/policies.go`` ``PermissiveSigningPolicy.apply``:
  ``notBefore`` = now - 5 min; ``notAfter`` = now + TTL when TTL < 8 h, else now + TTL - 5 min;
  never past the CA's ``notAfter``; usages through ``keyUsagesFromStrings`` (EKUs sorted by
  Go's ``x509.ExtKeyUsage`` order); extensions the CSR asked for are dropped;
* ``pkg/controller/certificates/authority/authority.go`` ``CertificateAuthority.Sign``: subject
  and SANs (DNS, email, IP, URI) from the CSR, random serial, ``x509.CreateCertificate``.

The subject is rebuilt as Go's ``pkix.Name`` round trip does: only C, ST, L, street, postal
code, O, OU, CN and serialNumber survive, in that order, each kind in one RDN (two groups are
one ``O = a + O = b`` RDN), values PrintableString when they fit, else UTF8String.

Differences the lab keeps: the certificate carries a Subject Key Identifier (Go adds none to a
leaf) and a 159-bit serial (Go: below 2^128), both from :meth:`k8sauthlib.CA.issue`; a value
repeated in the subject (``O=dev`` twice) is written once; with an empty subject Go marks the SAN
extension critical, the lab does not.
"""

import base64
import copy
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.x509.oid import NameOID

from ..errors import InputError
from ..go.text import go_quote
from ..pki.certs import BACKDATE
from . import csr as csrapi

#: ``--cluster-signing-duration`` default (8760h).
DEFAULT_DURATION = timedelta(hours=8760)
#: ``PermissiveSigningPolicy.Short``: below it, the backdate is added to the lifetime.
SHORT = timedelta(hours=8)
#: ``signer.duration``: the shortest certificate the signer issues.
MIN_DURATION = timedelta(minutes=10)
#: The usages ``validAPIServerClientUsages`` accepts.
CLIENT_USAGES = ("digital signature", "key encipherment", "client auth")

# pkix.Name.ToRDNSequence order; CN and serialNumber hold one value (the last one parsed wins).
_MULTI = (
    NameOID.COUNTRY_NAME,
    NameOID.STATE_OR_PROVINCE_NAME,
    NameOID.LOCALITY_NAME,
    NameOID.STREET_ADDRESS,
    NameOID.POSTAL_CODE,
    NameOID.ORGANIZATION_NAME,
    NameOID.ORGANIZATIONAL_UNIT_NAME,
)
_SINGLE = (NameOID.COMMON_NAME, NameOID.SERIAL_NUMBER)
_PRINTABLE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")


def is_approved(obj):
    """``IsCertificateRequestApproved``: an Approved condition and no Denied one."""
    types = [c.get("type") for c in csrapi.conditions_of(obj)]
    return csrapi.APPROVED in types and csrapi.DENIED not in types


def has_true_condition(obj, ctype):
    """``HasTrueCondition``: a condition of that type whose status is True or empty."""
    return any(c.get("type") == ctype and c.get("status", "") in ("", "True") for c in csrapi.conditions_of(obj))


def client_usages_error(usages):
    """``validAPIServerClientUsages``: the Failed condition's message, or None when the usages fit."""
    for usage in usages:
        if usage not in CLIENT_USAGES:
            return f"invalid usage for client certificate: {usage}"
    if "client auth" not in usages:
        return "missing required usage for client certificate: client auth"
    return None


def certificate_duration(expiration_seconds, cluster_signing_duration=DEFAULT_DURATION):
    """``signer.duration``: the TTL for a request (``expirationSeconds`` may be None)."""
    if expiration_seconds is None:
        return cluster_signing_duration
    requested = timedelta(seconds=expiration_seconds)
    return min(max(requested, MIN_DURATION), cluster_signing_duration)


def go_usages(usages):
    """The usages in the order Go writes them: key usages (one bit string), then EKUs sorted.

    ``keyUsagesFromStrings`` maps both ``signing`` and ``digital signature`` to digitalSignature
    and ``s/mime`` to emailProtection, and sorts the EKUs by Go's constants.

    Raises:
        InputError: ``unrecognized usage values: [...]`` (Go's text) for a name it does not know.
    """
    unknown = [u for u in usages if u not in csrapi.VALID_USAGES]
    if unknown:
        raise InputError("unrecognized usage values: [" + " ".join(go_quote(u) for u in unknown) + "]")
    keys = [u for u in usages if u in csrapi.KEY_USAGES]
    ekus = {csrapi.EKU_ALIASES.get(u, u) for u in usages if u not in csrapi.KEY_USAGES}
    return keys + [e for e in csrapi.EXT_KEY_USAGES if e in ekus]


def _attribute(oid, value):
    from cryptography.x509.name import _ASN1Type  # PrintableString as Go's encoding/asn1 chooses it

    if oid == NameOID.COUNTRY_NAME or not all(ch in _PRINTABLE for ch in value):
        return x509.NameAttribute(oid, value)
    return x509.NameAttribute(oid, value, _type=_ASN1Type.PrintableString)


def go_subject(name):
    """The subject Go's ``x509.CreateCertificate`` writes for a CSR's ``Subject`` (``pkix.Name``)."""
    values = {oid: [] for oid in _MULTI + _SINGLE}
    for attribute in name:
        if attribute.oid in values and isinstance(attribute.value, str):
            values[attribute.oid].append(attribute.value)
    # A repeated value (O=dev twice) is kept once: cryptography refuses duplicates in one RDN,
    # where Go would write both; the groups Kubernetes reads are the same set.
    rdns = [
        x509.RelativeDistinguishedName([_attribute(oid, v) for v in dict.fromkeys(values[oid])])
        for oid in _MULTI
        if values[oid]
    ]
    for oid in _SINGLE:
        if values[oid] and values[oid][-1]:
            rdns.append(x509.RelativeDistinguishedName([_attribute(oid, values[oid][-1])]))
    return x509.Name(rdns)


def _sans(request):
    try:
        san = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    kinds = (x509.DNSName, x509.RFC822Name, x509.IPAddress, x509.UniformResourceIdentifier)
    return [n for n in san if isinstance(n, kinds)]


def _go_time(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000 UTC")


def issue(request, ca, usages, expiration_seconds=None, *, duration=DEFAULT_DURATION, now=None):
    """``CertificateAuthority.Sign`` with the signer's ``PermissiveSigningPolicy``: a :class:`~k8sauthlib.Cert`.

    Args:
        request: the ``cryptography`` CSR (already parsed and verified).
        ca: the cluster :class:`~k8sauthlib.CA`.
        usages: ``spec.usages``.
        expiration_seconds: ``spec.expirationSeconds`` or None.
        duration: ``--cluster-signing-duration``.
        now: the signing time (aware datetime), default the current time.

    Raises:
        InputError: the CA has expired (Go's ``the signer has expired: NotAfter=...`` or
            ``refusing to sign a certificate that expired in the past: NotAfter=...``).
    """
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    ttl = certificate_duration(expiration_seconds, duration)
    not_before = now - BACKDATE
    not_after = now + ttl if ttl < SHORT else now + ttl - BACKDATE
    ca_end = ca.cert.not_valid_after_utc
    not_after = min(not_after, ca_end)
    if not not_before < ca_end:
        raise InputError(f"the signer has expired: NotAfter={_go_time(ca_end)}")
    if not now < ca_end:
        raise InputError(f"refusing to sign a certificate that expired in the past: NotAfter={_go_time(ca_end)}")
    return ca.issue(
        subject=go_subject(request.subject),
        hosts=_sans(request),
        usages=go_usages(usages),
        not_before=not_before,
        not_after=not_after,
        public_key=request.public_key(),
        csr=request,
    )


def sign(obj, ca, *, duration=DEFAULT_DURATION, now=None):
    """One pass of the controller over a stored CSR: the object to store, or None when nothing changes.

    Approved, not denied, not failed, of signer ``kubernetes.io/kube-apiserver-client`` and without
    a certificate yet: usages outside :data:`CLIENT_USAGES` (or no ``client auth``) add a
    ``Failed`` condition (``SignerValidationFailure``); otherwise the certificate (PEM, base64 in
    JSON) goes into ``status.certificate``. The result has been through the ``/status`` strategy
    (condition timestamps filled), as the controller's ``UpdateStatus`` would be.

    Raises:
        InputError: the CSR does not parse (Go: ``unable to parse csr "<name>": ...``) or the CA
            has expired; kube-controller-manager logs such errors and retries, storing nothing.
    """
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    if status.get("certificate"):
        return None
    if not is_approved(obj) or has_true_condition(obj, csrapi.FAILED):
        return None
    if spec.get("signerName") != csrapi.KUBE_APISERVER_CLIENT:
        return None
    name = (obj.get("metadata") or {}).get("name", "")
    request, problem = csrapi.parse_request(csrapi.decode_bytes(spec.get("request")))
    if request is None:
        raise InputError(f"unable to parse csr {go_quote(name)}: {problem}")
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    body = copy.deepcopy(obj)
    body.setdefault("status", {})
    usages = list(spec.get("usages") or [])
    problem = client_usages_error(usages)
    if problem:
        conditions = body["status"].setdefault("conditions", [])
        conditions.append(
            {
                "type": csrapi.FAILED,
                "status": "True",
                "reason": "SignerValidationFailure",
                "message": problem,
                "lastUpdateTime": csrapi.condition_time(now),
            }
        )
    else:
        try:
            cert = issue(request, ca, usages, spec.get("expirationSeconds"), duration=duration, now=now)
        except InputError as exc:
            raise InputError(f"error auto signing csr: {exc}") from None
        body["status"]["certificate"] = base64.b64encode(cert.cert_pem).decode()
    return csrapi.prepare_for_update(body, obj, "status", now)
