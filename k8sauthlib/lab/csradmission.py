"""The CertificateSigningRequest admission plugins and whole writes, as kube-apiserver 1.32 runs them.

Sources in kubernetes/kubernetes (release-1.32): ``plugin/pkg/admission/certificates/``:
``subjectrestriction`` (``CertificateSubjectRestriction``), ``approval`` (``CertificateApproval``),
``signing`` (``CertificateSigning``) and ``util.go`` (``IsAuthorizedForSignerName``: the verb on
``signers`` named ``<signerName>``, then ``<domain>/*``). The order of a write is
``genericregistry.Store``'s: strategy (prepare), then validation (422), then the validating
admission plugins (403); :func:`create` and :func:`update` run it over the steps of :mod:`.csr`.
"""

from cryptography.x509.oid import NameOID

from ..go.text import go_quote
from .apierrors import new_forbidden
from .attributes import RequestAttributes
from .csr import (
    GROUP,
    KUBE_APISERVER_CLIENT,
    RESOURCE,
    certificate_of,
    check_decodable,
    conditions_of,
    decode_bytes,
    invalid_error,
    parse_request,
    prepare_for_create,
    prepare_for_update,
    validate_create,
    validate_update,
)


# ------------------------------------------------------------------------------ admission
def signer_attributes(verb, name):
    """The attributes ``IsAuthorizedForSignerName`` asks about: ``verb`` on ``signers`` named ``name``."""
    return RequestAttributes(
        verb=verb, is_resource_request=True, api_group=GROUP, api_version="*", resource="signers", name=name
    )


def _allowed(result):
    return result if isinstance(result, bool) else bool(result.allowed)


def authorized_for_signer(authorize, verb, signer_name):
    """``IsAuthorizedForSignerName``: allowed on ``<signerName>``, else on ``<domain>/*``."""
    if _allowed(authorize(signer_attributes(verb, signer_name))):
        return True
    return _allowed(authorize(signer_attributes(verb, signer_name.split("/")[0] + "/*")))


def admit_create(obj):
    """``CertificateSubjectRestriction``: no ``O=system:masters`` through kube-apiserver-client.

    Raises:
        StatusError: 403 ``certificatesigningrequests.certificates.k8s.io "<name>" is forbidden:
            use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed``.
    """
    spec = obj.get("spec") or {}
    if spec.get("signerName") != KUBE_APISERVER_CLIENT:
        return
    name = _admission_name(obj)
    csr, problem = parse_request(decode_bytes(spec.get("request")))
    if csr is None and problem.startswith("PEM"):
        raise new_forbidden(GROUP, RESOURCE, name, f"failed to parse CSR: {problem}")
    if csr is None:
        return  # parses but does not verify: Go's ParseCSR does not check the signature here
    if any(a.value == "system:masters" for a in csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)):
        raise new_forbidden(
            GROUP, RESOURCE, name, f"use of {KUBE_APISERVER_CLIENT} signer with system:masters group is not allowed"
        )


def _admission_name(obj):
    meta = obj.get("metadata") or {}
    return meta.get("name") or meta.get("generateName") or "Unknown"


def admit_update(new, old, subresource, authorize):
    """``CertificateApproval`` (``/approval``) and ``CertificateSigning`` (``/status``).

    ``authorize(attrs)`` answers for the requesting user (bool or ``Decision``).

    Raises:
        StatusError: 403 ``... "<name>" is forbidden: user not permitted to approve requests with
            signerName "<signer>"`` (approving or denying), or ``... to sign requests ...`` when a
            ``/status`` update changes the certificate or the conditions.
    """
    signer = (old.get("spec") or {}).get("signerName", "")
    name = _admission_name(old)
    if subresource == "approval":
        verb = "approve"
    elif subresource == "status":
        if certificate_of(new) == certificate_of(old) and conditions_of(new) == conditions_of(old):
            return
        verb = "sign"
    else:
        return
    if not authorized_for_signer(authorize, verb, signer):
        raise new_forbidden(
            GROUP, RESOURCE, name, f"user not permitted to {verb} requests with signerName {go_quote(signer)}"
        )


# ---------------------------------------------------------------------------- whole writes
def create(obj, identity, authorize=None, meta_errors=()):
    """A create as kube-apiserver runs it: prepare, validate (422), admit (403). Returns the object to store.

    ``meta_errors`` are the handler's ObjectMeta FieldErrors (they come first, as in Go).
    ``authorize`` is unused (no create-time plugin asks the authorizer); it is accepted so the
    handler calls :func:`create` and :func:`update` alike.

    Raises:
        StatusError: 400 (undecodable), 422 (invalid), 403 (``CertificateSubjectRestriction``).
    """
    check_decodable(obj)
    prepared = prepare_for_create(obj, identity)
    errors = list(meta_errors) + validate_create(prepared)
    if errors:
        raise invalid_error((prepared.get("metadata") or {}).get("name", ""), errors)
    admit_create(prepared)
    return prepared


def update(new, old, subresource, authorize, *, now=None, meta_errors=()):
    """An update of the object, ``/status`` or ``/approval``: prepare, validate (422), admit (403).

    Returns the object to store. ``authorize(attrs)`` answers for the requesting user.

    Raises:
        StatusError: 400, 422, or 403 from ``CertificateApproval`` / ``CertificateSigning``.
    """
    if subresource not in ("", "status", "approval"):
        raise ValueError(f"CertificateSigningRequests have no subresource {subresource!r}")
    check_decodable(new)
    prepared = prepare_for_update(new, old, subresource, now)
    errors = validate_update(prepared, old, subresource) + list(meta_errors)
    if errors:
        raise invalid_error((old.get("metadata") or {}).get("name", ""), errors)
    admit_update(prepared, old, subresource, authorize)
    return prepared
