"""The attributes an authorizer decides on, read from a request as kube-apiserver reads them.

After ``staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go``
(``RequestInfoFactory.NewRequestInfo``) and ``staging/src/k8s.io/apiserver/pkg/authorization/authorizer/interfaces.go``
(``Attributes``), kubernetes v1.32. The privileged group is ``user.SystemPrivilegedGroup``
(``staging/src/k8s.io/apiserver/pkg/authentication/user/user.go``); the anonymous user and the
unauthenticated group live with the rest of the x509 identity rules in :mod:`k8sauthlib.pki.identity`.

The lowest module of the lab's authentication and authorization: it imports no other lab module.
"""

from dataclasses import dataclass
from urllib.parse import parse_qs

from ..pki.identity import ANONYMOUS_USER, UNAUTHENTICATED_GROUP

PRIVILEGED_GROUP = "system:masters"

# requestinfo.go
_API_PREFIXES = ("api", "apis")
_GROUPLESS_PREFIXES = ("api",)
_SPECIAL_VERBS = ("proxy", "watch")
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class RequestAttributes:
    """What an authorizer decides on (``authorizer.Attributes``)."""

    verb: str
    path: str = ""
    is_resource_request: bool = False
    api_prefix: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: tuple = ()


def _true(values):
    return bool(values) and values[-1].lower() in ("true", "1", "t")


def request_info(method, path, query=""):
    """Classify a request like ``RequestInfoFactory.NewRequestInfo``.

    Examples: ``GET /api`` is a non-resource request with verb ``get``; ``GET
    /api/v1/namespaces/kube-system/pods`` is ``list`` of ``pods`` in ``kube-system``;
    ``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`` is ``create`` of
    ``selfsubjectaccessreviews`` in group ``authorization.k8s.io`` at the cluster scope.
    """
    params = parse_qs(query or "", keep_blank_values=True)
    nonresource = RequestAttributes(verb=method.lower(), path=path)
    parts = [p for p in path.strip("/").split("/")] if path.strip("/") else []
    if len(parts) < 3 or parts[0] not in _API_PREFIXES:
        return nonresource
    prefix, parts = parts[0], parts[1:]
    group = ""
    if prefix not in _GROUPLESS_PREFIXES:
        if len(parts) < 3:
            return nonresource
        group, parts = parts[0], parts[1:]
    version, parts = parts[0], parts[1:]
    via_special = False
    if parts[0] in _SPECIAL_VERBS:
        if len(parts) < 2:
            return nonresource  # kube-apiserver: "unable to determine kind and namespace from url"
        verb, parts, via_special = parts[0], parts[1:], True
    else:
        verb = {
            "POST": "create",
            "GET": "get",
            "HEAD": "get",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete",
        }.get(method, "")
    namespace = ""
    if parts[0] == "namespaces":
        if len(parts) > 1:
            namespace = parts[1]
            if len(parts) > 2 and parts[2] not in _NAMESPACE_SUBRESOURCES:
                parts = parts[2:]
    resource = parts[0] if parts else ""
    name = parts[1] if len(parts) >= 2 else ""
    subresource = parts[2] if len(parts) >= 3 and not via_special else ""
    if not name and verb == "get":
        verb = "watch" if _true(params.get("watch")) else "list"
        for selector in params.get("fieldSelector", []):
            for term in selector.split(","):
                key, _, value = term.partition("=")
                if key in ("metadata.name", "metadata.name=") and value.lstrip("="):
                    name = value.lstrip("=")
    if not name and verb == "delete":
        verb = "deletecollection"
    return RequestAttributes(
        verb=verb,
        path=path,
        is_resource_request=True,
        api_prefix=prefix,
        api_group=group,
        api_version=version,
        namespace=namespace,
        resource=resource,
        subresource=subresource,
        name=name,
        parts=tuple(parts),
    )


__all__ = ["ANONYMOUS_USER", "PRIVILEGED_GROUP", "UNAUTHENTICATED_GROUP", "RequestAttributes", "request_info"]


# metrics.go: the subresources whose requests the metrics and the request log call CONNECT
_CONNECT_SUBRESOURCES = ("log", "exec", "portforward", "attach", "proxy")


def normalized_verb(method, attrs, query="", apply=False):
    """The verb of kube-apiserver's request log line: ``metrics.NormalizedVerb``.

    After ``NormalizedVerb``, ``CanonicalVerb``, ``CleanScope`` and ``CleanVerb`` in
    ``staging/src/k8s.io/apiserver/pkg/endpoints/metrics/metrics.go`` (kubernetes v1.32), which
    ``respLogger.Log`` (``pkg/server/httplog/httplog.go``) writes as ``verb=``: the HTTP method in
    capitals, a GET or HEAD of a collection is ``LIST``, ``?watch`` (any first value but ``0``
    and ``false``) on a GET is ``WATCH``, a server-side apply PATCH is ``APPLY``, a request for a
    ``log``, ``exec``, ``attach``, ``portforward`` or ``proxy`` subresource is ``CONNECT``.
    ``apply``: the request's Content-Type is server-side apply's (:data:`.patch.APPLY`).
    """
    verb = method.upper()
    if attrs.name or attrs.verb == "create":
        scope = "resource"
    elif attrs.namespace:
        scope = "namespace"
    else:
        scope = "cluster" if attrs.is_resource_request else ""
    if verb in ("GET", "HEAD"):
        verb = "LIST" if scope not in ("resource", "") else "GET"
    if method.upper() in ("GET", "LIST") and "watch" in (query or ""):
        values = parse_qs(query, keep_blank_values=True).get("watch")
        if values and values[0].lower() not in ("0", "false"):
            verb = "WATCH"
    if verb == "PATCH" and apply:
        verb = "APPLY"
    if attrs.is_resource_request and attrs.subresource in _CONNECT_SUBRESOURCES:
        verb = "CONNECT"
    return verb
