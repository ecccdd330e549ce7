"""Who kube-apiserver thinks a client certificate is: its x509 authenticator's rules.

Source: Kubernetes v1.32, ``staging/src/k8s.io/apiserver/pkg/authentication/request/x509/x509.go``
(``CommonNameUserConversion``: CN is the user, each O a group; ``certificateIdentifier`` for log
lines; the credential ID from the certificate's SHA-256) and
``staging/src/k8s.io/apiserver/pkg/authentication/group/authenticated_group_adder.go`` (every
authenticated user also gets ``system:authenticated``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from ..errors import InputError
from .fields import colon_hex, extension, load_cert

#: Extra key kube-apiserver (1.32+) fills with the leaf certificate's SHA-256 (``user.CredentialIDKey``).
CREDENTIAL_ID_KEY = "authentication.kubernetes.io/credential-id"
#: Subject attribute kube-apiserver (1.33+, gate ``AllowParsingUserUIDFromCertAuth``) reads as the user UID.
UID_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57683.2")

ANONYMOUS_USER = "system:anonymous"
UNAUTHENTICATED_GROUP = "system:unauthenticated"
AUTHENTICATED_GROUP = "system:authenticated"

# What a certificate without CN means, in the languages of Identity.text().
_ANONYMOUS_NOTE = (
    "(no CN: the certificate names no user; anonymous where no other authenticator objects, 401 on kubeadm clusters)"
)
_ANONYMOUS_NOTE_KO = (
    "(CN 없음: 인증서가 사용자를 정하지 않습니다. 다른 인증기가 오류를 내지 않으면 익명 요청, "
    "kubeadm 클러스터에서는 401)"
)


@dataclass(frozen=True)
class Identity:
    """The user kube-apiserver's x509 authenticator makes of a client certificate.

    Attributes:
        user: the user name: the subject's ``CN``, or ``system:anonymous``.
        groups: every ``O`` of the subject in order, then ``system:authenticated`` (added by
            kube-apiserver's authenticated-group adder); ``("system:unauthenticated",)`` when
            anonymous.
        anonymous: True when the certificate has no CN. The x509 authenticator then has "no
            opinion" (no user, no error), so the request falls through to the anonymous
            authenticator and is served as ``system:anonymous`` (usually 403 Forbidden),
            not rejected with 401.
        extra: ``{"authentication.kubernetes.io/credential-id": ["X509SHA256=<hex>"]}`` as
            kube-apiserver 1.32+ sets it (the SHA-256 of the leaf certificate's DER).
        uid: the user UID from subject attribute ``1.3.6.1.4.1.57683.2`` (kube-apiserver
            1.33+), or ``""``.
    """

    user: str
    groups: tuple[str, ...] = ()
    anonymous: bool = False
    extra: dict = field(default_factory=dict, hash=False)
    uid: str = ""

    def as_user_info(self) -> dict:
        """The ``UserInfo`` object, as in a SelfSubjectReview's ``status.userInfo``."""
        info: dict = {"username": self.user}
        if self.uid:
            info["uid"] = self.uid
        info["groups"] = list(self.groups)
        if self.extra:
            info["extra"] = {k: list(v) for k, v in self.extra.items()}
        return info

    def text(self, lang="en"):
        """The one-line identity, with the note for a certificate without CN, in ``lang``.

        Args:
            lang: ``"en"`` or ``"ko"`` (the book's pages), as :meth:`k8sauthlib.causes.Cause.text`.

        Returns:
            ``user=<user> groups=[<g1>, ...]``, ``uid=`` when set, then the anonymous note.
        """
        groups = ", ".join(self.groups) or "(none)"
        text = f"user={self.user} groups=[{groups}]"
        if self.uid:
            text += f" uid={self.uid}"
        if self.anonymous:
            text += " " + (_ANONYMOUS_NOTE_KO if lang == "ko" else _ANONYMOUS_NOTE)
        return text

    def __str__(self):
        return self.text()

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


def kubernetes_identity(cert) -> Identity:
    """The identity kube-apiserver gives a request authenticated with this client certificate.

    Follows ``CommonNameUserConversion`` (``k8s.io/apiserver/pkg/authentication/request/x509``)
    and ``AuthenticatedGroupAdder``: the user is the subject's CN (Go's ``Subject.CommonName``,
    i.e. the last CN when there are several), the groups are every ``O`` in order, OU/C/L/ST are
    ignored, and ``system:authenticated`` is appended unless the user is ``system:anonymous`` or
    the groups already hold ``system:authenticated`` or ``system:unauthenticated``.

    A certificate without a CN yields the anonymous identity: the x509 authenticator returns
    "no opinion", and on a server whose other authenticators all stay silent, with anonymous
    authentication enabled (the default), the request is served as ``system:anonymous`` in group
    ``system:unauthenticated``. A kubeadm cluster is not such a server: its front-proxy
    (request-header) authenticator runs first and fails on every client certificate that
    ``front-proxy-ca`` did not sign, and with no authenticator succeeding that error makes the
    request a 401 (``union`` + ``NewFailOnError`` in ``pkg/kubeapiserver/authenticator/config.go``).
    The ``anonymous`` flag therefore means "this certificate names nobody", not "the request
    will be served".

    This assumes the chain verified; use :func:`verify_chain` with ``purpose="client"`` for that.

    Args:
        cert: a certificate, an object with ``.cert`` (a :class:`~k8sauthlib.Cert`), PEM bytes or
            a path.

    Returns:
        The :class:`Identity`.

    Raises:
        InputError: the certificate carries a user UID attribute kube-apiserver would reject
            (more than one, not a string, or empty): kube-apiserver answers 401 then.
    """
    cert = load_cert(cert)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = str(cns[-1].value) if cns else ""
    if not common_name:
        return Identity(user=ANONYMOUS_USER, groups=(UNAUTHENTICATED_GROUP,), anonymous=True, extra={})
    groups = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if common_name != ANONYMOUS_USER and not ({AUTHENTICATED_GROUP, UNAUTHENTICATED_GROUP} & set(groups)):
        groups.append(AUTHENTICATED_GROUP)
    credential_id = "X509SHA256=" + hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    uids = [a.value for a in cert.subject.get_attributes_for_oid(UID_OID)]
    if any(not isinstance(u, str) for u in uids):
        raise InputError(
            "the certificate's UID attribute (1.3.6.1.4.1.57683.2) is not a string; "
            "kube-apiserver rejects it ('unable to parse UID into a string')"
        )
    if len(uids) > 1:
        raise InputError(
            f"the certificate holds {len(uids)} UID attributes (1.3.6.1.4.1.57683.2); "
            f"kube-apiserver rejects it ('expected 1 UID, but found multiple')"
        )
    if uids and uids[0] == "":
        raise InputError(
            "the certificate's UID attribute is empty; kube-apiserver rejects it ('UID cannot be an empty string')"
        )
    return Identity(
        user=common_name,
        groups=tuple(groups),
        anonymous=False,
        extra={CREDENTIAL_ID_KEY: [credential_id]},
        uid=uids[0] if uids else "",
    )


def certificate_identifier(cert) -> str:
    """Go's ``certificateIdentifier``: ``SN=<decimal>, SKID=<AB:CD:..>, AKID=<AB:CD:..>``.

    kube-apiserver logs a failed client certificate as
    ``verifying certificate SN=..., SKID=..., AKID=... failed: <Go error>``; this string lets a
    reader find their certificate in that log line. An absent key identifier prints as empty.
    """
    cert = load_cert(cert)
    ski = extension(cert, x509.SubjectKeyIdentifier)
    aki = extension(cert, x509.AuthorityKeyIdentifier)
    return (
        f"SN={cert.serial_number}, SKID={colon_hex(ski.value.digest if ski else None)}, "
        f"AKID={colon_hex(aki.value.key_identifier if aki else None)}"
    )


__all__ = [
    "ANONYMOUS_USER",
    "AUTHENTICATED_GROUP",
    "CREDENTIAL_ID_KEY",
    "UID_OID",
    "UNAUTHENTICATED_GROUP",
    "Identity",
    "certificate_identifier",
    "kubernetes_identity",
]
