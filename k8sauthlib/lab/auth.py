"""Authentication and authorization of one request, the way kube-apiserver does them.

Three steps, each after its kube-apiserver counterpart (kubernetes v1.32):

1. :func:`.attributes.request_info` turns method + path + query into the attributes authorizers
   see (``staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go``).
2. :class:`X509Authenticator` verifies the client certificate against ``--client-ca-file`` with
   the intermediates the client sent, and maps CN/O to a user
   (``Authenticator.AuthenticateRequest`` and ``CommonNameUserConversion`` in
   ``staging/src/k8s.io/apiserver/pkg/authentication/request/x509/x509.go``: ``opts.Verify`` with
   the peer's other certificates as intermediates, the error ``verifying certificate <SN, issuer>
   failed: <Go's x509 error>``). A bad certificate is an error
   (HTTP 401), never anonymous (``union.NewFailOnError`` in
   ``pkg/kubeapiserver/authenticator/config.go``). No certificate at all, or one with an empty
   CN, is anonymous when ``--anonymous-auth`` is on.
3. :class:`Authorizer` is the union of the privileged-groups authorizer (``system:masters``,
   before anything else, ``pkg/kubeapiserver/authorizer/reload.go``) and the modes of
   ``--authorization-mode`` (``RBAC``, ``Node``, ``AlwaysAllow``, ``AlwaysDeny``).

The chain verification itself is :func:`k8sauthlib.verify_chain` (Go ``crypto/x509``
semantics and error texts) and the CN/O mapping is :func:`k8sauthlib.kubernetes_identity`.
"""

from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import unquote

from cryptography.x509.oid import NameOID

from ..pki.identity import AUTHENTICATED_GROUP
from .apierrors import go_aggregate
from .attributes import ANONYMOUS_USER, PRIVILEGED_GROUP, UNAUTHENTICATED_GROUP
from .rbac import Decision


def anonymous_identity():
    from ..pki.identity import Identity

    return Identity(user=ANONYMOUS_USER, groups=(UNAUTHENTICATED_GROUP,), anonymous=True, extra={})


@dataclass
class AuthResult:
    """Outcome of authentication: an identity, or ``None`` for HTTP 401.

    ``error`` is the text kube-apiserver logs as ``"Unable to authenticate the request" err="..."``
    (``None`` when there was simply no credential and anonymous access is off).
    """

    identity: object = None
    error: str = None
    via: str = ""  # "x509", "anonymous" or ""


@dataclass
class RequestHeaderConfig:
    """The front-proxy (request header) authenticator's flags.

    ``--requestheader-client-ca-file``, ``--requestheader-allowed-names``,
    ``--requestheader-username-headers``, ``--requestheader-group-headers`` and
    ``--requestheader-extra-headers-prefix``, as kubeadm sets them.
    """

    ca: list
    allowed_names: tuple = ("front-proxy-client",)
    username_headers: tuple = ("X-Remote-User",)
    group_headers: tuple = ("X-Remote-Group",)
    extra_prefixes: tuple = ("X-Remote-Extra-",)


@dataclass
class X509Authenticator:
    """kube-apiserver's authenticator chain as far as the lab needs it.

    ``pkg/kubeapiserver/authenticator/config.go`` builds, in this order: the front-proxy
    (request header) authenticator when ``--requestheader-client-ca-file`` is set, the
    client-certificate authenticator for ``--client-ca-file``, then the bearer-token
    authenticators; all in a ``union`` (the first success wins, otherwise the errors are
    aggregated), wrapped in the authenticated-group adder, and, with ``--anonymous-auth``,
    in a fail-on-error union with the anonymous authenticator.

    Consequences the lab reproduces:

    * a certificate the cluster CA does not verify (unknown CA, expired, no ``clientAuth``)
      is an error, so HTTP 401, never anonymous;
    * with a front-proxy CA configured (kubeadm always configures one), *every* client
      certificate that is not a front-proxy certificate makes the request header
      authenticator fail with a plain Go error. It is ignored when the client-certificate
      authenticator succeeds, and otherwise logged first, hence kube-apiserver's
      ``[x509: certificate signed by unknown authority, verifying certificate SN=...
      failed: ...]``. It also means that a certificate with an empty CN, on which the
      client-certificate authenticator has no opinion, is a 401 on such a server (the
      front-proxy error remains), and anonymous only on a server without a front-proxy CA;
    * a bearer token (``Authorization: Bearer ...``) that no token authenticator knows is
      ``invalid bearer token`` (the lab knows no tokens), so a 401 unless a certificate
      authenticated the request first.

    Verified chains are remembered (at most :data:`_CACHE_SIZE`), so that the requests of a
    keep-alive connection, and the many connections of one kubectl command, do not verify the
    same certificates again. An outcome is remembered only when every certificate involved
    (the client's and the CAs) is within its validity period, and only for as long as all of
    them stay within it; so the cache never changes an answer, and expiry still takes effect
    to the second.

    A certificate the lab cannot read (a malformed extension, a subject kube-apiserver
    refuses, such as two UID attributes) is a 401 with the reason in the server log, never
    a dropped connection.

    Args:
        client_ca: the certificates of ``--client-ca-file`` (roots).
        anonymous: ``--anonymous-auth`` (default true).
        requestheader: a :class:`RequestHeaderConfig`, or None when the flag is not set.
    """

    client_ca: list
    anonymous: bool = True
    requestheader: RequestHeaderConfig = None

    def __post_init__(self):
        self._cache = {}

    def authenticate(self, peer_chain, headers=None):
        """Authenticate a request: ``peer_chain`` is what the TLS peer sent (leaf first, may be
        empty), ``headers`` the request headers with lower-case names (a
        :class:`~k8sauthlib.lab.http1.HeaderDict` keeps repeated headers)."""
        headers = headers or {}
        errors = []
        if peer_chain:
            if isinstance(peer_chain[0], UnreadableCertificate):
                errors.append(peer_chain[0].go_message)
            else:
                chain = tuple(peer_chain)
                if self.requestheader is not None:
                    identity, error = self._request_header(chain, headers)
                    if identity is not None:
                        return AuthResult(identity, None, "requestheader")
                    if error:
                        errors.append(error)
                identity, error = self._verified(chain, "x509")
                if error:
                    errors.append(error)
                elif not identity.anonymous:
                    return AuthResult(identity, None, "x509")
                # Empty CN: CommonNameUserConversion has no opinion (no user, no error).
        authorization = headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            # bearertoken.Authenticator: no token authenticator accepted it -> "invalid bearer token"
            errors.append("invalid bearer token")
        if errors:
            return AuthResult(None, go_aggregate(errors))
        if self.anonymous:
            return AuthResult(anonymous_identity(), None, "anonymous")
        return AuthResult(None, None)

    def _verified(self, chain, which):
        """``(identity or common name, None)`` or ``(None, Go's error text)`` for ``chain``.

        ``which`` is ``"x509"`` (``--client-ca-file``, the identity from CN/O/UID) or
        ``"requestheader"`` (the front-proxy CA, the subject's CN).
        """
        now = datetime.now(timezone.utc)
        key = (which, chain)
        hit = self._cache.get(key)
        if hit is not None and hit[1] <= now < hit[2]:
            return hit[0]
        roots = self.client_ca if which == "x509" else self.requestheader.ca
        outcome = self._verify(chain, roots, which)
        window = _validity_window(list(chain) + list(roots), now)
        if window is not None:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = (outcome, window[0], window[1])
        return outcome

    @staticmethod
    def _verify(chain, roots, which):
        from .. import pki as insp
        from ..errors import InputError, VerificationError

        leaf, intermediates = chain[0], list(chain[1:])
        try:
            insp.verify_chain(leaf, roots, intermediates=intermediates, purpose="client")
        except VerificationError as exc:
            if which == "requestheader":
                return None, exc.go_message  # x509.Verifier returns Go's error as is
            return None, f"verifying certificate {insp.certificate_identifier(leaf)} failed: {exc.go_message}"
        except (ValueError, InputError) as exc:
            return None, _unreadable(exc)
        if which == "requestheader":
            try:
                cns = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            except ValueError as exc:
                return None, _unreadable(exc)
            return (str(cns[-1].value) if cns else ""), None  # Go's Subject.CommonName: the last CN
        try:
            return insp.kubernetes_identity(leaf), None
        except InputError:
            return None, _uid_error(leaf)
        except ValueError as exc:
            return None, _unreadable(exc)

    def _request_header(self, chain, headers):
        """``x509.Verifier`` + ``headerrequest``: a front-proxy certificate may name the user in headers.

        As ``k8s.io/apiserver/pkg/authentication/request/headerrequest/requestheader.go``
        (``headerValue``, ``allHeaderValues``, ``newExtra``) reads Go's ``http.Header``: the
        user is the first non-empty value of the first username header that has one; every
        non-empty value of every group header is one group (values are not split at commas);
        every value of an extra header is one value of that extra key.
        """
        config = self.requestheader
        common_name, error = self._verified(chain, "requestheader")
        if error:
            return None, error
        if config.allowed_names and common_name not in config.allowed_names:
            return None, f"x509: subject with cn={common_name} is not in the allowed list"
        values = getattr(headers, "get_all", None) or (lambda name: [headers[name]] if name in headers else [])
        user = next((headers.get(h.lower()) for h in config.username_headers if headers.get(h.lower())), "")
        if not user:
            return None, None
        groups = [v for h in config.group_headers for v in values(h.lower()) if v]
        extra = {}
        for prefix in config.extra_prefixes:
            for name in headers:
                if name.startswith(prefix.lower()):
                    extra.setdefault(unquote(name[len(prefix) :]), []).extend(values(name))
        if AUTHENTICATED_GROUP not in groups and UNAUTHENTICATED_GROUP not in groups:
            groups.append(AUTHENTICATED_GROUP)
        from ..pki.identity import Identity

        return Identity(user=user, groups=tuple(groups), anonymous=False, extra=extra), None


_CACHE_SIZE = 4096


class UnreadableCertificate:
    """Stands in the peer chain for a client certificate the lab could not load at all."""

    def __init__(self, reason):
        self.go_message = (
            f"x509: the lab cannot parse the client certificate ({reason}); re-issue it with cfssl or openssl"
        )


def _unreadable(exc):
    """The 401 reason for a certificate ``cryptography`` cannot read (kube-apiserver's Go may differ)."""
    return f"x509: the lab cannot parse the client certificate ({exc}); re-issue it with cfssl or openssl"


def _uid_error(leaf):
    """``parseUIDFromCert`` (``k8s.io/apiserver/pkg/authentication/request/x509/x509.go``,
    kube-apiserver 1.33+): Go's error text for a subject :func:`k8sauthlib.kubernetes_identity`
    refuses."""
    from ..pki.identity import UID_OID

    uids = [a.value for a in leaf.subject.get_attributes_for_oid(UID_OID)]
    if any(not isinstance(u, str) for u in uids):
        return "unable to parse UID into a string"
    if len(uids) > 1:
        return f"expected 1 UID, but found multiple: [{' '.join(uids)}]"
    return "UID cannot be an empty string"


def _validity_window(certs, now):
    """``(latest notBefore, earliest notAfter)`` when every cert is valid at ``now``, else None."""
    try:
        start = max(c.not_valid_before_utc for c in certs)
        end = min(c.not_valid_after_utc for c in certs)
    except (AttributeError, ValueError):
        return None
    return (start, end) if start <= now < end else None


class Authorizer:
    """Union authorizer: privileged groups first, then each ``--authorization-mode`` in order.

    Follows ``union.go``: the first Allow or Deny wins; reasons of "no opinion" answers are
    joined with newlines. RBAC's "no opinion" has an empty reason unless a binding pointed at
    a missing role.

    Args:
        policy: an :class:`~k8sauthlib.lab.rbac.RBACPolicy`, or a
            :class:`~k8sauthlib.lab.rbac.PolicyFiles` that reloads when its files change.
        modes: the modes from ``--authorization-mode`` (kubeadm: ``Node,RBAC``). ``Node`` is
            accepted but not modelled (it has no opinion on requests of non-node users,
            which are the only users of the lab).
    """

    def __init__(self, policy, modes=("Node", "RBAC")):
        self._policy = policy
        self.modes = tuple(modes)

    def attach_store(self, store):
        """Let the RBAC policy include the objects stored through the API (a :class:`.rbac.PolicyFiles` only)."""
        if hasattr(self._policy, "store"):
            self._policy.store = store

    @property
    def policy(self):
        """The RBAC policy in force (a :class:`~k8sauthlib.lab.rbac.PolicyFiles` is asked each time)."""
        current = getattr(self._policy, "current", None)
        return current() if current else self._policy

    def authorize(self, identity, attrs):
        groups = tuple(identity.groups)
        if PRIVILEGED_GROUP in groups:
            # privilegedGroupAuthorizer: allow, with an empty reason.
            return Decision(True, "", authorizer="privileged-groups")
        reasons = []
        for mode in self.modes:
            if mode == "AlwaysAllow":
                return Decision(True, "", authorizer=mode)
            if mode == "AlwaysDeny":
                return Decision(False, "Everything is forbidden.", denied=True, authorizer=mode)
            if mode == "RBAC":
                decision = self.policy.authorize(identity.user, groups, attrs)
                if decision.allowed:
                    return decision
                if decision.reason:
                    reasons.append(decision.reason)
        return Decision(False, "\n".join(reasons))

    def rules_for(self, identity, namespace):
        """Rules for SelfSubjectRulesReview: ``(resource rules, non-resource rules, incomplete, error)``."""
        if "RBAC" not in self.modes:
            return [], [], True, ""
        rules, errors = self.policy.rules_for(identity.user, tuple(identity.groups), namespace)
        resource = [r for r in rules if r.resources]
        nonresource = [r for r in rules if r.non_resource_urls]
        return resource, nonresource, bool(errors), go_aggregate(errors) if errors else ""
