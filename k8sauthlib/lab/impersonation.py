"""User impersonation (``Impersonate-*`` headers), as kube-apiserver 1.32 does it.

After ``WithImpersonation`` and ``buildImpersonationRequests`` in
``staging/src/k8s.io/apiserver/pkg/endpoints/filters/impersonation.go`` (kubernetes/apiserver
v0.32, the filter of kube-apiserver 1.32; unchanged in 1.28 to 1.34 but for the log line). The filter runs
after authentication and before authorization (``DefaultBuildHandlerChain`` in
``pkg/server/config.go``), so a handler calls :func:`impersonate` with the authenticated identity
and authorizes the request for the identity it returns.

The headers, in the order the filter reads them:

* ``Impersonate-User``: a user name; a name of the form ``system:serviceaccount:<ns>:<name>``
  with a valid namespace and name is a service account (``serviceaccount.SplitUsername``);
* ``Impersonate-Group``, repeated, one group per header line (a comma is part of the name);
* ``Impersonate-Extra-<key>``: one extra value per header line; ``<key>`` is lower-cased and
  percent-decoded (``url.PathUnescape``);
* ``Impersonate-Uid``.

Each requested item is one authorization check of verb ``impersonate`` for the *authenticated*
user, in that order; the first refusal ends the request with 403:

===================  ==========================  ===========================  ==================
header               API group                   resource                     name / namespace
===================  ==========================  ===========================  ==================
User                 ``""``                      ``users``                    the user
User (SA form)       ``""``                      ``serviceaccounts``          name, in namespace
Group                ``""``                      ``groups``                   the group
Extra-<key>          ``authentication.k8s.io``   ``userextras/<key>``         the value
Uid                  ``authentication.k8s.io``   ``uids``                     the UID
===================  ==========================  ===========================  ==================

Groups, extra or UID without ``Impersonate-User`` is not a 400 but Go's ``http.Error`` 500,
plain text: ``Internal Server Error: "<request URI>": requested [...] without impersonating a
user``. kube-apiserver 1.32 has no 400 in this filter.

The impersonated user is exactly what the headers say: the authenticated user's groups, extra
(``credential-id``) and UID are all dropped. ``system:authenticated`` is added unless the
groups already hold it or ``system:unauthenticated``; impersonating ``system:anonymous`` adds
``system:unauthenticated`` instead. A service account without ``Impersonate-Group`` gets
``system:serviceaccounts`` and ``system:serviceaccounts:<ns>``.

Not modelled: Go walks ``Impersonate-Extra-*`` headers in map order (random); the lab checks
them in the order they arrived, so with several refused extras it names the first one sent.
"""

from urllib.parse import unquote

from ..go.text import go_quote
from ..pki.identity import AUTHENTICATED_GROUP
from .apierrors import StatusError, forbidden_message, is_dns1123_label, is_dns1123_subdomain, sanitize_html
from .attributes import ANONYMOUS_USER, UNAUTHENTICATED_GROUP, RequestAttributes

USER_HEADER = "Impersonate-User"
GROUP_HEADER = "Impersonate-Group"
UID_HEADER = "Impersonate-Uid"
EXTRA_PREFIX = "Impersonate-Extra-"
AUTHENTICATION_GROUP = "authentication.k8s.io"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


def canonical_header(name):
    """``textproto.CanonicalMIMEHeaderKey``: ``impersonate-extra-foo`` -> ``Impersonate-Extra-Foo``.

    A name with a byte that is not a token character stays as it is, as in Go.
    """
    token = set("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    if not name or any(ch not in token for ch in name):
        return name
    out, upper = [], True
    for ch in name:
        out.append(ch.upper() if upper else ch.lower())
        upper = ch == "-"
    return "".join(out)


def _header_pairs(headers):
    """``(canonical name, value)`` pairs from pairs, from a mapping of names to a value or a list, or
    from a mapping of first values with ``get_all(name)`` for every value (the lab server's
    ``HeaderDict``, like Go's ``Header.Values``)."""
    if hasattr(headers, "get_all"):
        items = [(name, headers.get_all(name)) for name in headers]
    else:
        items = headers.items() if hasattr(headers, "items") else headers
    pairs = []
    for name, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((canonical_header(name), str(v)) for v in values)
    return pairs


def split_service_account(username):
    """``serviceaccount.SplitUsername``: ``(namespace, name)``, or None when not a valid SA user name."""
    if not username.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    parts = username[len(SERVICE_ACCOUNT_PREFIX) :].split(":")
    if len(parts) != 2:
        return None
    namespace, name = parts
    if is_dns1123_label(namespace) or is_dns1123_subdomain(name):
        return None
    return namespace, name


class _Ref:
    """One entry of ``buildImpersonationRequests``: a ``v1.ObjectReference`` the filter checks."""

    def __init__(self, kind, name, namespace="", api_version="", field_path=""):
        self.kind, self.name, self.namespace = kind, name, namespace
        self.api_version, self.field_path = api_version, field_path

    def go_string(self):
        # %v of v1.ObjectReference: Kind Namespace Name UID APIVersion ResourceVersion FieldPath
        return "{" + " ".join((self.kind, self.namespace, self.name, "", self.api_version, "", self.field_path)) + "}"

    def attributes(self):
        group = AUTHENTICATION_GROUP if self.kind in ("UserExtra", "UID") else ""
        resource, subresource = {
            "ServiceAccount": ("serviceaccounts", ""),
            "User": ("users", ""),
            "Group": ("groups", ""),
            "UserExtra": ("userextras", self.field_path),
            "UID": ("uids", ""),
        }[self.kind]
        return RequestAttributes(
            verb="impersonate",
            is_resource_request=True,
            api_group=group,
            api_version="v1" if group else "",
            namespace=self.namespace,
            resource=resource,
            subresource=subresource,
            name=self.name,
        )


def requested(headers):
    """``buildImpersonationRequests``: what the headers ask to impersonate, in check order.

    Returns a list of ``(kind, RequestAttributes)``; empty when there is no impersonation header.

    Raises:
        StatusError: groups, extra or UID without a user (500, plain text; the caller fills
            in the request URI, see :func:`impersonate`).
    """
    refs = _requests(_header_pairs(headers), "")
    return [(ref.kind, ref.attributes()) for ref in refs]


def _requests(pairs, request_uri):
    def first(name):
        return next((v for n, v in pairs if n == name), "")

    refs = []
    user = first(USER_HEADER)
    if user:
        account = split_service_account(user)
        refs.append(_Ref("ServiceAccount", account[1], account[0]) if account else _Ref("User", user))
    groups = [v for n, v in pairs if n == GROUP_HEADER]
    refs.extend(_Ref("Group", g) for g in groups)
    extras = [(n, v) for n, v in pairs if n.startswith(EXTRA_PREFIX)]
    for name, value in extras:
        key = name[len(EXTRA_PREFIX) :].lower()
        try:
            key = unquote(key, errors="strict")
        except UnicodeDecodeError:
            pass  # Go keeps a key it cannot unescape as it is
        refs.append(_Ref("UserExtra", value, api_version=f"{AUTHENTICATION_GROUP}/v1", field_path=key))
    uid = first(UID_HEADER)
    if uid:
        refs.append(_Ref("UID", uid, api_version=f"{AUTHENTICATION_GROUP}/v1"))
    if (groups or extras or uid) and not user:
        listed = "[" + " ".join(r.go_string() for r in refs) + "]"
        raise internal_error(request_uri, f"requested {listed} without impersonating a user")
    return refs


def internal_error(request_uri, text):
    """``responsewriters.InternalError``: ``http.Error`` 500 with ``Internal Server Error: "<uri>": <err>``.

    The whole text goes through the writer's sanitizer (``&``, ``<``, ``>`` as HTML entities).
    """
    message = sanitize_html(f"Internal Server Error: {go_quote(request_uri)}: {text}")
    return StatusError(500, "InternalError", message, plain=True)


def _decision(result):
    """An authorizer answer as ``(allowed, reason)``: a bool or a ``Decision`` with ``allowed``/``reason``."""
    if isinstance(result, bool):
        return result, ""
    return bool(result.allowed), getattr(result, "reason", "") or ""


def impersonate(headers, identity, authorize, *, request_uri=""):
    """Apply the ``Impersonate-*`` headers to an authenticated request.

    Args:
        headers: the request headers, keeping repeated ones (``Impersonate-Group`` comes once per
            group): a list of ``(name, value)`` pairs, a mapping of a name to a value or to a list
            of values, or a mapping with ``get_all(name)``. Names match case-insensitively.
        identity: the authenticated :class:`~k8sauthlib.inspect.Identity`.
        authorize: ``authorize(attrs)`` for the *authenticated* user, returning a bool or a
            :class:`~k8sauthlib.lab.rbac.Decision` (whose ``reason`` is appended to the 403
            text, as ``responsewriters.Forbidden`` does).
        request_uri: the request target (path and query) for the 500 text.

    Returns:
        ``identity`` itself when no impersonation header is present; otherwise the impersonated
        :class:`~k8sauthlib.inspect.Identity`; or a :class:`~k8sauthlib.lab.apierrors.StatusError`
        (403 Forbidden Status, or 500 plain text) to send back instead of serving the request.
    """
    names = headers.keys() if hasattr(headers, "keys") else (pair[0] for pair in headers)
    if not any(str(name)[:12].lower() == "impersonate-" for name in names):
        return identity  # the common case, without canonicalising every header name
    from ..pki.identity import Identity

    try:
        refs = _requests(_header_pairs(headers), request_uri)
    except StatusError as exc:
        return exc
    if not refs:
        return identity
    groups_given = any(r.kind == "Group" for r in refs)
    username, groups, extra, uid = "", [], {}, ""
    for ref in refs:
        if ref.kind == "ServiceAccount":
            username = f"{SERVICE_ACCOUNT_PREFIX}{ref.namespace}:{ref.name}"
            if not groups_given:
                groups = ["system:serviceaccounts", f"system:serviceaccounts:{ref.namespace}"]
        elif ref.kind == "User":
            username = ref.name
        elif ref.kind == "Group":
            groups.append(ref.name)
        elif ref.kind == "UserExtra":
            extra.setdefault(ref.field_path, []).append(ref.name)
        else:
            uid = ref.name
        attrs = ref.attributes()
        allowed, reason = _decision(authorize(attrs))
        if not allowed:
            message, details = forbidden_message(attrs, identity.user, reason)
            return StatusError(403, "Forbidden", message, details)
    if username != ANONYMOUS_USER:
        if AUTHENTICATED_GROUP not in groups and UNAUTHENTICATED_GROUP not in groups:
            groups.append(AUTHENTICATED_GROUP)
    elif UNAUTHENTICATED_GROUP not in groups:
        groups.append(UNAUTHENTICATED_GROUP)
    return Identity(user=username, groups=tuple(groups), anonymous=username == ANONYMOUS_USER, extra=extra, uid=uid)


def user_string(identity):
    """``userString`` of the filter: ``name[group,group]`` (``<empty>`` for an empty name)."""
    text = identity.user or "<empty>"
    if identity.groups:
        text += "[" + ",".join(identity.groups) + "]"
    return text


def log_text(old, new):
    """What kube-apiserver 1.32 adds to the request's log line: ``<old> is impersonating <new>``."""
    return f"{user_string(old)} is impersonating {user_string(new)}"
