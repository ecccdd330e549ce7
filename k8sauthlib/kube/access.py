"""Ask the API server why it allows a request: a SelfSubjectAccessReview sent as a client certificate.

kube-apiserver answers ``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`` by asking its
authorizer chain about the requester itself (``pkg/registry/authorization/selfsubjectaccessreview/rest.go``,
Kubernetes 1.32). The RBAC authorizer names the binding that allowed the request in ``status.reason``
(``RBAC: allowed by ClusterRoleBinding "..." of ClusterRole "..." to Group "..."``,
``plugin/pkg/auth/authorizer/rbac/rbac.go``, ``authorizingVisitor.visit``). A request allowed because the
user is in ``system:masters`` gets no reason at all: that group is let through before RBAC is asked
(``pkg/kubeapiserver/authorizer/config.go`` puts ``authorizerfactory.NewPrivilegedGroups`` first), so
there is no binding to remove.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import InputError, K8sAuthError

#: The path of the SelfSubjectAccessReview API.
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


class AccessReview(NamedTuple):
    """The API server's answer: ``allowed`` and ``reason`` (``""`` when the authorizer gave none).
    Compares equal to the plain tuple ``(allowed, reason)``."""

    allowed: bool
    reason: str


def access_review_body(verb, resource, *, namespace=None, group="", name=None):
    """The SelfSubjectAccessReview object for one request (``spec.resourceAttributes``)."""
    if not verb or not resource:
        raise InputError(f"access review needs a verb and a resource, got verb={verb!r} resource={resource!r}")
    attributes = {"verb": verb, "resource": resource}
    if group:
        attributes["group"] = group
    if namespace:
        attributes["namespace"] = namespace
    if name:
        attributes["name"] = name
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }


def why_allowed(server, *, ca, cert, key, verb, resource, namespace=None, group="", name=None):
    """Send a SelfSubjectAccessReview as the holder of ``cert``/``key`` and return the answer.

    Args:
        server: the API server's URL (``https://host:port``).
        ca: the cluster CA file (or PEM) that signed the server's certificate.
        cert, key: the client certificate and its private key (files or PEM).
        verb, resource, namespace, group, name: the request to ask about, e.g.
            ``verb="list", resource="pods", namespace="kube-system"``.

    Returns:
        An :class:`AccessReview` ``(allowed, reason)``.

    Raises:
        K8sAuthError: the server did not answer with a SelfSubjectAccessReview (the message has the
            HTTP status and the server's own message, e.g. a 401 for a certificate it does not trust).
    """
    from ..tls.client import MTLSClient  # requests is imported only when a review is sent

    body = access_review_body(verb, resource, namespace=namespace, group=group, name=name)
    with MTLSClient(server, ca=ca, cert=cert, key=key) as api:
        response = api.post(SSAR_PATH, json=body)
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code != 201 or answer.get("kind") != "SelfSubjectAccessReview":
        message = answer.get("message") or response.text.strip()[:200]
        raise K8sAuthError(
            f"the API server refused the SelfSubjectAccessReview: HTTP {response.status_code}: {message}"
        )
    status = answer.get("status", {})
    return AccessReview(bool(status.get("allowed", False)), status.get("reason", ""))


__all__ = ["SSAR_PATH", "AccessReview", "access_review_body", "why_allowed"]
