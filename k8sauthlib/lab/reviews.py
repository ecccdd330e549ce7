"""SelfSubjectReview, SelfSubjectAccessReview and SelfSubjectRulesReview, as kube-apiserver answers them.

Sources: ``pkg/registry/authentication/selfsubjectreview/rest.go``,
``pkg/registry/authorization/selfsubjectaccessreview/rest.go``,
``pkg/registry/authorization/selfsubjectrulesreview/rest.go`` and
``pkg/apis/authorization/validation/validation.go`` (kubernetes/kubernetes). Requests come as
protobuf from kubectl or JSON from curl (:mod:`.protobuf`); answers are JSON with 201.
"""

from datetime import datetime, timezone

from ..go.text import go_quote
from . import protobuf
from .apierrors import RawValue, invalid, new_invalid
from .attributes import RequestAttributes
from .wire import METHOD_NOT_ALLOWED_TEXT, json_response, rfc3339, status_object


def _decode(req, attrs):
    if req.method != "POST" or attrs.name:
        return None, json_response(405, status_object(405, "MethodNotAllowed", METHOD_NOT_ALLOWED_TEXT, {}))
    return protobuf.decode_review(req.body, req.headers.get("content-type", "")), None


def self_subject_review(req, attrs, identity):
    """``pkg/registry/authentication/selfsubjectreview/rest.go``: echo the caller's user info."""
    _obj, error = _decode(req, attrs)
    if error:
        return error
    user_info = {"username": identity.user}
    if getattr(identity, "uid", ""):
        user_info["uid"] = identity.uid
    if identity.groups:
        user_info["groups"] = list(identity.groups)
    if identity.extra:
        user_info["extra"] = {k: list(v) for k, v in sorted(identity.extra.items())}
    return json_response(
        201,
        {
            "kind": "SelfSubjectReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": rfc3339(datetime.now(timezone.utc))},
            "status": {"userInfo": user_info},
        },
    )


def self_subject_access_review(req, attrs, identity, authorizer):
    """``pkg/registry/authorization/selfsubjectaccessreview/rest.go``: ask the same authorizer.

    ``status.reason`` is the authorizer's reason: RBAC's allow text, or ``""`` when nothing
    matched (RBAC has "no opinion" then, and kubectl prints a bare ``no``).
    """
    obj, error = _decode(req, attrs)
    if error:
        return error
    spec = obj.get("spec") or {}
    ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if (ra is None) == (nra is None) or (ra is not None and nra is not None):
        # ValidateSelfSubjectAccessReviewSpec (pkg/apis/authorization/validation/validation.go);
        # rest.go passes the decoded object's empty Kind to NewInvalid, hence '.authorization.k8s.io ""'.
        if ra is not None:
            error = invalid(
                "spec.nonResourceAttributes",
                RawValue(_go_nonresource(nra)),
                "cannot be specified in combination with resourceAttributes",
            )
        else:
            error = invalid(
                "spec.resourceAttributes",
                "null",  # ErrorBody prints a nil pointer as "null"
                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
            )
        return json_response(422, new_invalid("authorization.k8s.io", "", "", [error]).status)
    if ra is not None:
        review_attrs = RequestAttributes(
            verb=ra.get("verb", ""),
            is_resource_request=True,
            api_group=ra.get("group", ""),
            api_version=ra.get("version", ""),
            namespace=ra.get("namespace", ""),
            resource=ra.get("resource", ""),
            subresource=ra.get("subresource", ""),
            name=ra.get("name", ""),
        )
        spec_out = {"resourceAttributes": {k: v for k, v in ra.items() if v}}
    else:
        review_attrs = RequestAttributes(verb=nra.get("verb", ""), path=nra.get("path", ""))
        spec_out = {"nonResourceAttributes": {k: v for k, v in nra.items() if v}}
    decision = authorizer.authorize(identity, review_attrs)
    status = {"allowed": decision.allowed}
    if decision.denied:
        status["denied"] = True
    if decision.reason:
        status["reason"] = decision.reason
    if decision.evaluation_error:
        status["evaluationError"] = decision.evaluation_error
    return json_response(
        201,
        {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec_out,
            "status": status,
        },
    )


def self_subject_rules_review(req, attrs, identity, authorizer):
    """``pkg/registry/authorization/selfsubjectrulesreview/rest.go``: the RBAC rules that apply."""
    obj, error = _decode(req, attrs)
    if error:
        return error
    namespace = (obj.get("spec") or {}).get("namespace", "")
    if not namespace:  # selfsubjectrulesreview/rest.go
        return json_response(400, status_object(400, "BadRequest", "no namespace on request"))
    resource, nonresource, incomplete, evaluation_error = authorizer.rules_for(identity, namespace)
    status = {
        "resourceRules": [
            {
                k: v
                for k, v in {
                    "verbs": list(r.verbs),
                    "apiGroups": list(r.api_groups),
                    "resources": list(r.resources),
                    "resourceNames": list(r.resource_names),
                }.items()
                if v or k == "verbs"
            }
            for r in resource
        ],
        "nonResourceRules": [
            {"verbs": list(r.verbs), "nonResourceURLs": list(r.non_resource_urls)} for r in nonresource
        ],
        "incomplete": incomplete,
    }
    if evaluation_error:
        status["evaluationError"] = evaluation_error
    return json_response(
        201,
        {
            "kind": "SelfSubjectRulesReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": {},
            "status": status,
        },
    )


def _go_nonresource(value):
    """``ErrorBody``'s ``%#v`` of the NonResourceAttributes a pointer points at."""
    return (
        f"authorization.NonResourceAttributes{{Path:{go_quote(value.get('path', ''))}, "
        f"Verb:{go_quote(value.get('verb', ''))}}}"
    )
