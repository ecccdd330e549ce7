"""Defaulting and validation of stored objects, with kube-apiserver's 422 texts.

Rules from ``pkg/apis/rbac/validation/validation.go`` (``ValidateRole``, ``ValidatePolicyRule``,
``ValidateRoleBinding``, ``ValidateRoleBindingSubject``, the ``...Update`` variants),
``pkg/apis/core/validation/validation.go`` (``ValidateNamespace``, ``ValidateObjectMeta``) and
defaults from ``pkg/apis/rbac/v1/defaults.go``. Error texts follow
``staging/src/k8s.io/apimachinery/pkg/util/validation/field/errors.go`` (``Error.Error``,
``ErrorBody``, :mod:`.apierrors`) and ``errors.NewInvalid`` (``<Kind>.<group> "<name>" is invalid: ...``, several
errors as ``[a, b]``, each one a ``details.causes`` entry).
"""

from ..go.text import go_quote
from .apierrors import (
    RawValue,
    invalid,
    is_dns1123_label,
    is_qualified_name,
    is_valid_label_value,
    new_invalid,
    not_supported,
    required,
)
from .kinds import RBAC_GROUP, RBAC_KINDS


def _go_strings(values):
    """``%#v`` of a ``[]string``, as ``field.Invalid`` shows a list value."""
    return RawValue("[]string{" + ", ".join(go_quote(v) for v in values) + "}")


def _go_struct(value):
    """``%#v`` of a RoleRef-like struct, shortened to ``{k:v}``."""
    return RawValue("{" + ", ".join(f"{k}:{v}" for k, v in value.items()) + "}")


def invalid_status(kind, name, errors):
    """``errors.NewInvalid(kind, name, errs)`` as the 422 Status object."""
    return new_invalid(kind.group, kind.kind, name, errors).status


def apply_defaults(kind, obj):
    """``SetDefaults_*`` of rbac/v1: the API group of ``roleRef`` and of User/Group subjects."""
    if kind.kind in ("RoleBinding", "ClusterRoleBinding"):
        ref = obj.get("roleRef")
        if isinstance(ref, dict) and not ref.get("apiGroup"):
            ref["apiGroup"] = RBAC_GROUP
        for subject in obj.get("subjects") or []:
            if isinstance(subject, dict) and not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
                subject["apiGroup"] = RBAC_GROUP
    if kind.kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": (obj.get("status") or {}).get("phase") or "Active"}
        labels = obj["metadata"].setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]  # NamespaceDefaultLabelName (1.22+)
    return obj


def _name_errors(kind, name, path="metadata.name"):
    if not name:
        return [required(path, "name or generateName is required")]
    if kind.kind == "Namespace":
        # ValidateNamespaceName = NameIsDNSLabel: one field.Invalid per IsDNS1123Label problem
        return [invalid(path, name, problem) for problem in is_dns1123_label(name)]
    # path.IsValidPathSegmentName
    errors = []
    if name in (".", ".."):
        errors.append(invalid(path, name, f"may not be '{name}'"))
    for bad in ("/", "%"):
        if bad in name:
            errors.append(invalid(path, name, f"may not contain '{bad}'"))
    return errors


def _rule_errors(rule, namespaced, path):
    errors = []
    if not rule.get("verbs"):
        errors.append(required(f"{path}.verbs", "verbs must contain at least one value"))
    urls = rule.get("nonResourceURLs") or []
    if urls:
        if namespaced:
            errors.append(
                invalid(
                    f"{path}.nonResourceURLs", _go_strings(urls), "namespaced rules cannot apply to non-resource URLs"
                )
            )
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            errors.append(
                invalid(
                    f"{path}.nonResourceURLs",
                    _go_strings(urls),
                    "rules cannot apply to both regular resources and non-resource URLs",
                )
            )
        return errors
    if not rule.get("apiGroups"):
        errors.append(required(f"{path}.apiGroups", "resource rules must supply at least one api group"))
    if not rule.get("resources"):
        errors.append(required(f"{path}.resources", "resource rules must supply at least one resource"))
    return errors


def _binding_errors(kind, obj):
    errors = []
    ref = obj.get("roleRef") or {}
    if ref.get("apiGroup", "") != RBAC_GROUP:
        errors.append(not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), (RBAC_GROUP,)))
    allowed = ("Role", "ClusterRole") if kind.namespaced else ("ClusterRole",)
    if ref.get("kind", "") not in allowed:
        errors.append(not_supported("roleRef.kind", ref.get("kind", ""), allowed))
    if not ref.get("name"):
        errors.append(required("roleRef.name"))
    else:
        errors += _name_errors(kind, ref["name"], "roleRef.name")
    for i, subject in enumerate(obj.get("subjects") or []):
        path = f"subjects[{i}]"
        if not subject.get("name"):
            errors.append(required(f"{path}.name"))
        s_kind, group = subject.get("kind", ""), subject.get("apiGroup", "")
        if s_kind == "ServiceAccount":
            if group:
                errors.append(not_supported(f"{path}.apiGroup", group, ("",)))
            if not kind.namespaced and not subject.get("namespace"):
                errors.append(required(f"{path}.namespace"))
        elif s_kind in ("User", "Group"):
            if group != RBAC_GROUP:
                errors.append(not_supported(f"{path}.apiGroup", group, (RBAC_GROUP,)))
        else:
            errors.append(not_supported(f"{path}.kind", s_kind, ("ServiceAccount", "User", "Group")))
    return errors


def validate(kind, obj, old=None):
    """The ``field.ErrorList`` of ``Validate<Kind>`` (and ``Validate<Kind>Update`` when ``old``)."""
    meta = obj.get("metadata") or {}
    errors = _name_errors(kind, meta.get("name", ""))
    if kind.kind in ("Role", "ClusterRole"):
        for i, rule in enumerate(obj.get("rules") or []):
            errors += _rule_errors(rule, kind.namespaced, f"rules[{i}]")
        aggregation = obj.get("aggregationRule")
        if aggregation is not None and not aggregation.get("clusterRoleSelectors"):
            errors.append(
                required(
                    "aggregationRule.clusterRoleSelectors",
                    "at least one clusterRoleSelector required if aggregationRule is non-nil",
                )
            )
    elif kind in RBAC_KINDS:
        errors += _binding_errors(kind, obj)
        if old is not None and (old.get("roleRef") or {}) != (obj.get("roleRef") or {}):
            errors.append(invalid("roleRef", _go_struct(obj.get("roleRef") or {}), "cannot change roleRef"))
    # ValidateLabels (k8s.io/apimachinery pkg/apis/meta/v1/validation, v0.32): each key's
    # IsQualifiedName problems, then its value's IsValidLabelValue problems, one error each
    for key, value in (meta.get("labels") or {}).items():
        errors += [invalid("metadata.labels", key, msg) for msg in is_qualified_name(str(key))]
        errors += [invalid("metadata.labels", value, msg) for msg in is_valid_label_value(str(value))]
    if old is not None and kind.kind == "Namespace" and old["metadata"]["name"] != meta.get("name"):
        errors.append(invalid("metadata.name", meta.get("name"), "field is immutable"))
    return errors
