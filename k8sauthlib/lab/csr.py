"""The CertificateSigningRequest API (``certificates.k8s.io/v1``) as kube-apiserver 1.32 serves it.

Pure functions over the JSON objects (plain dicts) a client sends and the lab stores. Sources in
kubernetes/kubernetes (release-1.32; the CSR parts are unchanged since 1.28, whose tree the lab was
compared with):

* ``pkg/registry/certificates/certificates/strategy.go``: what create sets (``PrepareForCreate``:
  ``spec.username/uid/groups/extra`` from the authenticated user, whatever the client sent;
  ``status`` emptied) and what an update of the object, of ``/status`` and of ``/approval`` may
  change (``PrepareForUpdate`` of the three strategies, ``populateConditionTimestamps``);
* ``pkg/apis/certificates/validation/validation.go``: ``validateCertificateSigningRequest``,
  ``ValidateSignerName``, ``validateConditions``, ``validateCertificateSigningRequestUpdate``
  and ``getValidationOptions``, giving the 422 ``causes``;

The order of a write is kube-apiserver's (``genericregistry.Store``): strategy (prepare), then
validation (422), then the validating admission plugins (403); the admission plugins and the
writes that run the three in order are :mod:`.csradmission`.

The signer (kube-controller-manager's ``csrsigning`` controller) is :mod:`k8sauthlib.lab.csrsigner`.
"""

import base64
import binascii
import copy
import re
from datetime import datetime, timezone

from ..go.text import go_quote
from .apierrors import (
    RawValue,
    duplicate,
    forbidden,
    invalid,
    is_dns1123_label,
    is_dns1123_subdomain,
    new_bad_request,
    new_invalid,
    not_supported,
    required,
    too_long,
)

GROUP = "certificates.k8s.io"
VERSION = "v1"
KIND = "CertificateSigningRequest"
RESOURCE = "certificatesigningrequests"

KUBE_APISERVER_CLIENT = "kubernetes.io/kube-apiserver-client"
KUBE_APISERVER_CLIENT_KUBELET = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING = "kubernetes.io/kubelet-serving"
LEGACY_UNKNOWN = "kubernetes.io/legacy-unknown"

#: The key usages a CSR may name (the signer's ``keyUsageDict``), in x509.KeyUsage bit order.
KEY_USAGES = (
    "signing",
    "digital signature",
    "content commitment",
    "key encipherment",
    "key agreement",
    "data encipherment",
    "cert sign",
    "crl sign",
    "encipher only",
    "decipher only",
)
#: The extended key usages (the signer's ``extKeyUsageDict``), in Go's x509.ExtKeyUsage constant
#: order, which is also their order in a certificate the signer issues.
EXT_KEY_USAGES = (
    "any",
    "server auth",
    "client auth",
    "code signing",
    "email protection",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "timestamping",
    "ocsp signing",
    "microsoft sgc",
    "netscape sgc",
)
#: Usage names that mean another extended key usage.
EKU_ALIASES = {"s/mime": "email protection"}
#: ``allValidUsages`` of validation.go, sorted as ``sets.String.List()`` returns them.
VALID_USAGES = tuple(sorted((*KEY_USAGES, *EXT_KEY_USAGES, *EKU_ALIASES)))

APPROVED, DENIED, FAILED = "Approved", "Denied", "Failed"
_TRUE_ONLY_TYPES = (APPROVED, DENIED, FAILED)
_STATUS_VALUES = ("False", "True", "Unknown")
_ADMISSION_PLUGINS = ("CertificateApproval", "CertificateSigning", "CertificateSubjectRestriction")


# ------------------------------------------------------------------------------- decoding
def _go_base64(text):
    """``base64.StdEncoding.Decode`` as encoding/json uses it for ``[]byte`` fields.

    Raises ValueError with Go's ``illegal base64 data at input byte N``.
    """
    alphabet = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
    raw = text.encode()
    quantum_start, count = 0, 0
    for i, byte in enumerate(raw):
        if byte in b"\r\n":
            continue
        if byte not in alphabet:
            raise ValueError(f"illegal base64 data at input byte {i}")
        if count % 4 == 0:
            quantum_start = i
        count += 1
    try:
        return base64.b64decode(raw.replace(b"\r", b"").replace(b"\n", b""), validate=True)
    except binascii.Error:
        raise ValueError(f"illegal base64 data at input byte {quantum_start}") from None


def _decode_error(text):
    return new_bad_request(f'{KIND} in version "{VERSION}" cannot be handled as a {KIND}: {text}')


def check_decodable(obj):
    """The decoding errors kube-apiserver gives before any rule runs (400 ``BadRequest``).

    ``spec.request`` and ``status.certificate`` are ``[]byte``: base64 in JSON. Field types are
    checked as ``encoding/json`` checks them.

    Raises:
        StatusError: 400, ``CertificateSigningRequest in version "v1" cannot be handled as a
            CertificateSigningRequest: illegal base64 data at input byte 4``, or a ``json: cannot
            unmarshal ...`` text.
    """
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    checks = (
        ("CertificateSigningRequestSpec.spec.request", spec.get("request"), str, "[]uint8"),
        ("CertificateSigningRequestSpec.spec.signerName", spec.get("signerName"), str, "string"),
        ("CertificateSigningRequestSpec.spec.expirationSeconds", spec.get("expirationSeconds"), int, "int32"),
        ("CertificateSigningRequestSpec.spec.usages", spec.get("usages"), list, "[]v1.KeyUsage"),
        ("CertificateSigningRequestStatus.status.certificate", status.get("certificate"), str, "[]uint8"),
        (
            "CertificateSigningRequestStatus.status.conditions",
            status.get("conditions"),
            list,
            "[]v1.CertificateSigningRequestCondition",
        ),
    )
    for where, value, kind, go_type in checks:
        if value is None:
            continue
        if not isinstance(value, kind) or isinstance(value, bool):
            got = {str: "string", bool: "bool", list: "array", dict: "object"}.get(type(value), "number")
            raise _decode_error(f"json: cannot unmarshal {got} into Go struct field {where} of type {go_type}")
        if go_type == "int32" and not -(2**31) <= value < 2**31:
            raise _decode_error(f"json: cannot unmarshal number {value} into Go struct field {where} of type int32")
    for value in (spec.get("request"), status.get("certificate")):
        if isinstance(value, str):
            try:
                _go_base64(value)
            except ValueError as exc:
                raise _decode_error(str(exc)) from None


def decode_bytes(value):
    """A ``[]byte`` field's bytes from its JSON base64 (``None`` when absent, as Go's nil slice)."""
    return None if value is None else _go_base64(value)


def parse_request(pem):
    """``certificates.ParseCSR`` plus ``CheckSignature``: a ``cryptography`` CSR, or the Go error text.

    Returns ``(csr, None)`` or ``(None, message)``. Go's messages: ``PEM block type must be
    CERTIFICATE REQUEST``; ``crypto/rsa: verification error`` and ``x509: ECDSA verification
    failure`` for a signature that does not verify. A DER body that does not parse gets the text
    of Go's ``encoding/asn1`` only approximately (the lab parses with OpenSSL), so its message
    says so.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    match = re.search(rb"-----BEGIN ([^\r\n-]*)-----\r?\n(.*?)-----END \1-----", pem or b"", re.S)
    der = None
    if match and match.group(1) == b"CERTIFICATE REQUEST":
        body = b"".join(line for line in match.group(2).splitlines() if b":" not in line)
        try:
            der = base64.b64decode(body, validate=False)
        except binascii.Error:
            der = None
    if der is None:
        return None, "PEM block type must be CERTIFICATE REQUEST"
    try:
        csr = x509.load_der_x509_csr(der)
        csr.subject  # noqa: B018 - parse the subject now, as Go does
    except ValueError as exc:
        return None, f"asn1: structure error: the certificate request does not parse (lab, OpenSSL: {exc})"
    if not csr.is_signature_valid:
        key = csr.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            return None, "crypto/rsa: verification error"
        if isinstance(key, ec.EllipticCurvePublicKey):
            return None, "x509: ECDSA verification failure"
        if isinstance(key, ed25519.Ed25519PublicKey):
            return None, "x509: Ed25519 verification failure"
        return None, "x509: signature verification failure"
    return csr, None


# ----------------------------------------------------------------------------- validation
def validate_signer_name(path, signer_name):
    """``ValidateSignerName``: ``<domain>/<path>``, each part made of valid DNS labels, <= 571 bytes."""
    if not signer_name:
        return [required(path)]
    segments = signer_name.split("/")
    if len(segments) != 2:
        return [
            invalid(
                path, signer_name, "must be a fully qualified domain and path of the form 'example.com/signer-name'"
            )
        ]
    errs = []
    domain, name = segments
    if len(domain.encode()) > 253:
        errs.append(too_long(path, 253))
    labels = domain.split(".")
    for label in labels:
        problems = is_dns1123_label(label)
        if problems:
            errs.extend(invalid(path, domain, f"validating label {go_quote(label)}: {p}") for p in problems)
            break
    if len(labels) < 2:
        errs.append(invalid(path, domain, "should be a domain with at least two segments separated by dots"))
    for label in name.split("."):
        problems = is_dns1123_subdomain(label)
        if problems:
            errs.extend(invalid(path, name, f"validating label {go_quote(label)}: {p}") for p in problems)
            break
    if len(signer_name.encode()) > 253 + 253 + 63 + 1 + 1:
        errs.append(too_long(path, 571))
    return errs


def conditions_of(obj):
    """``status.conditions`` of a CSR object (a new list; empty when absent)."""
    return list((obj.get("status") or {}).get("conditions") or [])


def certificate_of(obj):
    """``status.certificate`` decoded (bytes; empty when absent)."""
    return decode_bytes((obj.get("status") or {}).get("certificate"))


def validate_certificate(pem):
    """``validateCertificate``: ``status.certificate`` must be CERTIFICATE PEM blocks only; None if fine."""
    from cryptography import x509

    if not pem:
        return None
    blocks = re.findall(rb"-----BEGIN ([^\r\n-]*)-----\r?\n(.*?)-----END \1-----", pem, re.S)
    for block_type, body in blocks:
        if block_type != b"CERTIFICATE":
            return f"only CERTIFICATE PEM blocks are allowed, found {go_quote(block_type.decode(errors='replace'))}"
        if b":" in body:
            return "no PEM block headers are permitted"
        try:
            x509.load_der_x509_certificate(base64.b64decode(body))
        except (ValueError, binascii.Error) as exc:
            return f"x509: malformed certificate (lab, OpenSSL: {exc})"
    if not blocks:
        return "must contain at least one CERTIFICATE PEM block"
    return None


def _options(new, old):
    """``getValidationOptions``: what an update tolerates because the stored object already had it."""
    old_conditions = conditions_of(old) if old is not None else []
    old_types = [c.get("type", "") for c in old_conditions]
    old_usages = list(((old or {}).get("spec") or {}).get("usages") or [])
    return {
        "both_approved_denied": APPROVED in old_types and DENIED in old_types,
        "legacy_signer": old is not None and (old.get("spec") or {}).get("signerName") == LEGACY_UNKNOWN,
        "duplicate_conditions": len(set(old_types)) != len(old_types),
        "empty_condition_type": "" in old_types,
        "arbitrary_certificate": old is not None
        and (certificate_of(new) == certificate_of(old) or validate_certificate(certificate_of(old)) is not None),
        "duplicate_usages": len(set(old_usages)) != len(old_usages),
        "unknown_usages": any(u not in VALID_USAGES for u in old_usages),
    }


def _validate(obj, opts):
    spec = obj.get("spec") or {}
    errs = []
    request = decode_bytes(spec.get("request"))
    _, problem = parse_request(request)
    if problem:
        errs.append(invalid("spec.request", request if request is not None else RawValue("[]byte(nil)"), problem))
    usages = list(spec.get("usages") or [])
    if not usages:
        errs.append(required("spec.usages"))
    if not opts["unknown_usages"]:
        errs.extend(
            not_supported(f"spec.usages[{i}]", u, VALID_USAGES) for i, u in enumerate(usages) if u not in VALID_USAGES
        )
    if not opts["duplicate_usages"]:
        errs.extend(duplicate(f"spec.usages[{i}]", u) for i, u in enumerate(usages) if u in usages[:i])
    signer = spec.get("signerName") or ""
    if not opts["legacy_signer"] and signer == LEGACY_UNKNOWN:
        errs.append(invalid("spec.signerName", signer, "the legacy signerName is not allowed via this API version"))
    else:
        errs.extend(validate_signer_name("spec.signerName", signer))
    seconds = spec.get("expirationSeconds")
    if seconds is not None and seconds < 600:
        errs.append(
            invalid("spec.expirationSeconds", seconds, "may not specify a duration less than 600 seconds (10 minutes)")
        )
    errs.extend(_validateconditions_of(conditions_of(obj), opts))
    if not opts["arbitrary_certificate"]:
        problem = validate_certificate(certificate_of(obj))
        if problem:
            errs.append(invalid("status.certificate", "<certificate data>", problem))
    return errs


def _validateconditions_of(conditions, opts):
    errs, seen = [], set()
    has_approved = has_denied = False
    for i, c in enumerate(conditions):
        path = f"status.conditions[{i}]"
        ctype, status = c.get("type", ""), c.get("status", "")
        if not opts["empty_condition_type"] and not ctype:
            errs.append(required(f"{path}.type"))
        allowed = ("True",) if ctype in _TRUE_ONLY_TYPES else _STATUS_VALUES
        if not status:
            errs.append(required(f"{path}.status"))
        elif status not in allowed:
            errs.append(not_supported(f"{path}.status", status, allowed))
        if not opts["both_approved_denied"]:
            if ctype == APPROVED:
                has_approved = True
                if has_denied:
                    errs.append(invalid(f"{path}.type", ctype, "Approved and Denied conditions are mutually exclusive"))
            elif ctype == DENIED:
                has_denied = True
                if has_approved:
                    errs.append(invalid(f"{path}.type", ctype, "Approved and Denied conditions are mutually exclusive"))
        if not opts["duplicate_conditions"]:
            if ctype in seen:
                errs.append(duplicate(f"{path}.type", ctype))
            seen.add(ctype)
    return errs


def validate_create(obj):
    """``ValidateCertificateSigningRequestCreate`` without the ObjectMeta part: a list of FieldErrors.

    The handler puts its ``metadata`` errors first (Go validates ObjectMeta first); CSR names
    have no rule of their own (``ValidateCertificateRequestName`` accepts any name).
    """
    return _validate(obj, _options(obj, None))


def validate_update(new, old, subresource=""):
    """``ValidateCertificateSigningRequest{,Status,Approval}Update`` without the ObjectMeta part.

    ``subresource`` is ``""``, ``"status"`` (may set ``status.certificate``) or ``"approval"``
    (may add Approved/Denied conditions). Nobody may remove an Approved, Denied or Failed
    condition, nor replace a certificate once set.
    """
    opts = _options(new, old)
    errs = _validate(new, opts)
    for ctype in (APPROVED, DENIED, FAILED):
        if len(_of_type(new, ctype)) < len(_of_type(old, ctype)):
            errs.append(forbidden("status.conditions", f"updates may not remove a condition of type {go_quote(ctype)}"))
    if subresource != "approval":
        for ctype in (APPROVED, DENIED):
            before, after = _of_type(old, ctype), _of_type(new, ctype)
            if len(after) > len(before):
                errs.append(
                    forbidden("status.conditions", f"updates may not add a condition of type {go_quote(ctype)}")
                )
            elif len(after) == len(before) and after != before:
                # Unreachable through the strategies (they restore these conditions); Go appends a
                # go-cmp diff to this text, which the lab does not reproduce.
                errs.append(
                    forbidden("status.conditions", f"updates may not modify a condition of type {go_quote(ctype)}")
                )
    if certificate_of(new) != certificate_of(old):
        if subresource != "status":
            errs.append(forbidden("status.certificate", "updates may not set certificate content"))
        elif certificate_of(old):
            errs.append(forbidden("status.certificate", "updates may not modify existing certificate content"))
    return errs


def _of_type(obj, ctype):
    return [c for c in conditions_of(obj) if c.get("type") == ctype]


def invalid_error(name, errors):
    """The 422 for these errors: ``CertificateSigningRequest.certificates.k8s.io "<name>" is invalid: ...``."""
    return new_invalid(GROUP, KIND, name, errors)


# ------------------------------------------------------------------------------- strategy
def _spec(spec):
    # v1 CertificateSigningRequestSpec field order; unknown fields are dropped, as Go's decoder does
    keys = ("request", "signerName", "expirationSeconds", "usages", "username", "uid", "groups", "extra")
    return {k: spec[k] for k in keys if spec.get(k) not in (None, "", [], {})}


def condition_time(now=None):
    """A condition timestamp (``metav1.Time``: RFC 3339, whole seconds, UTC); ``now`` defaults to the clock."""
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def prepare_for_create(obj, identity):
    """``csrStrategy.PrepareForCreate``: a copy with the requesting user in ``spec`` and no ``status``.

    ``spec.username``, ``uid``, ``groups`` and ``extra`` are the authenticated (or impersonated)
    user's, whatever the client sent; ``status`` becomes ``{}``.
    """
    out = copy.deepcopy(obj)
    spec = dict(out.get("spec") or {})
    for key in ("username", "uid", "groups", "extra"):
        spec.pop(key, None)
    spec["username"] = identity.user
    spec["uid"] = getattr(identity, "uid", "") or ""
    spec["groups"] = list(identity.groups)
    spec["extra"] = {k: list(v) for k, v in (identity.extra or {}).items()}
    out["spec"] = _spec(spec)
    out["status"] = {}
    return out


def prepare_for_update(new, old, subresource="", now=None):
    """``PrepareForUpdate`` of the CSR strategy (``""``), ``/status`` or ``/approval``; returns a copy.

    * the object itself: ``spec`` and ``status`` stay as stored (only metadata changes);
    * ``/status``: ``spec`` stays; the Approved/Denied conditions stay as stored when their
      number did not change; anything else in ``status`` is taken;
    * ``/approval``: only ``status.conditions`` is taken.

    Conditions without ``lastUpdateTime`` get ``now``; without ``lastTransitionTime`` they get the
    stored one of a condition with the same type and status, else ``now``.
    """
    out = copy.deepcopy(new)
    out["spec"] = copy.deepcopy(old.get("spec") or {})
    if subresource == "":
        out["status"] = copy.deepcopy(old.get("status") or {})
        return out
    status = copy.deepcopy(out.get("status") or {})
    conditions = list(status.get("conditions") or [])
    if subresource == "status":
        for ctype in (APPROVED, DENIED):
            old_items = _of_type(old, ctype)
            new_indices = [i for i, c in enumerate(conditions) if c.get("type") == ctype]
            if len(old_items) == len(new_indices):
                for index, item in zip(new_indices, old_items, strict=True):
                    conditions[index] = copy.deepcopy(item)
    stamp = condition_time(now)
    for c in conditions:
        if not c.get("lastUpdateTime"):
            c["lastUpdateTime"] = stamp
        if not c.get("lastTransitionTime"):
            c["lastTransitionTime"] = next(
                (
                    o["lastTransitionTime"]
                    for o in conditions_of(old)
                    if o.get("type") == c.get("type")
                    and o.get("status") == c.get("status")
                    and o.get("lastTransitionTime")
                ),
                stamp,
            )
    if subresource == "approval":
        status = copy.deepcopy(old.get("status") or {})
    status["conditions"] = [_condition(c) for c in conditions]
    out["status"] = {k: status[k] for k in ("conditions", "certificate") if status.get(k)}
    return out


def _condition(c):
    keys = ("type", "status", "reason", "message", "lastUpdateTime", "lastTransitionTime")
    return {k: c[k] for k in keys if c.get(k)}


def selectable_fields(obj):
    """``SelectableFields``: the field-selector labels of a CSR (``metadata.name``, ``spec.signerName``)."""
    return {
        "metadata.name": (obj.get("metadata") or {}).get("name", ""),
        "spec.signerName": (obj.get("spec") or {}).get("signerName", ""),
    }
