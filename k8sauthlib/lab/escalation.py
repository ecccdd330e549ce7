"""RBAC's privilege-escalation check on writes of Roles, ClusterRoles and their bindings.

kube-apiserver lets a user write a role only with rules the user already holds, and bind a
role only when the user holds all of its rules, unless the user may ``escalate`` (roles) or
``bind`` (bindings) it, or is in ``system:masters``:

* ``pkg/registry/rbac/escalation_check.go``: ``EscalationAllowed``, ``RoleEscalationAuthorized``,
  ``BindingAuthorized``;
* ``pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased/storage.go``;
* ``pkg/registry/rbac/validation/rule.go`` ``ConfirmNoEscalation`` (the 403 text),
  ``staging/src/k8s.io/component-helpers/auth/rbac/validation/policy_comparator.go`` ``Covers``,
  ``BreakdownRule``, ``ruleCovers``; ``pkg/registry/rbac/validation/internal_version_adapter``
  ``CompactRules``; ``pkg/apis/rbac/v1/evaluation_helpers.go`` ``CompactString``.
"""

from .attributes import PRIVILEGED_GROUP, RequestAttributes
from .rbac import PolicyRule


def go_strings(values):
    """Go's ``%q`` of a ``[]string``: ``["a" "b"]``."""
    return "[" + " ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "]"


def breakdown(rule):
    """``BreakdownRule``: one verb, group, resource (and name) per rule."""
    out = []
    for group in rule.api_groups:
        for resource in rule.resources:
            for verb in rule.verbs:
                for name in rule.resource_names or ("",):
                    out.append(PolicyRule((verb,), (group,), (resource,), (name,) if name else ()))
    for url in rule.non_resource_urls:
        for verb in rule.verbs:
            out.append(PolicyRule((verb,), non_resource_urls=(url,)))
    return out


def _has_all(owner, wanted):
    return all(w in owner for w in wanted)


def _resources_cover(owner, wanted):
    if "*" in owner or _has_all(owner, wanted):
        return True
    for resource in wanted:
        if resource in owner:
            continue
        if "/" in resource and "*/" + resource.split("/", 1)[1] in owner:
            continue
        return False
    return True


def _urls_cover(owner, wanted):
    return all(any(o == w or (o.endswith("*") and w.startswith(o[:-1])) for o in owner) for w in wanted)


def rule_covers(owner, sub):
    """``ruleCovers``."""
    if sub.resource_names:
        names = not owner.resource_names or _has_all(owner.resource_names, sub.resource_names)
    else:
        names = not owner.resource_names
    return (
        ("*" in owner.verbs or _has_all(owner.verbs, sub.verbs))
        and ("*" in owner.api_groups or _has_all(owner.api_groups, sub.api_groups))
        and _resources_cover(owner.resources, sub.resources)
        and _urls_cover(owner.non_resource_urls, sub.non_resource_urls)
        and names
    )


def uncovered(owner_rules, rules):
    return [
        sub for rule in rules for sub in breakdown(rule) if not any(rule_covers(owner, sub) for owner in owner_rules)
    ]


def compact_rules(rules):
    """``CompactRules``: simple one-group one-resource rules merged by (group, resource)."""
    out, simple = [], {}
    for rule in rules:
        if (
            len(rule.api_groups) == 1
            and len(rule.resources) == 1
            and not rule.resource_names
            and not rule.non_resource_urls
        ):
            key = (rule.api_groups[0], rule.resources[0])
            if key in simple:
                index = simple[key]
                out[index] = PolicyRule(out[index].verbs + rule.verbs, out[index].api_groups, out[index].resources)
                continue
            simple[key] = len(out)
        out.append(rule)
    return out


def compact_string(rule):
    parts = []
    if rule.api_groups:
        parts.append("APIGroups:" + go_strings(rule.api_groups))
    if rule.resources:
        parts.append("Resources:" + go_strings(rule.resources))
    if rule.non_resource_urls:
        parts.append("NonResourceURLs:" + go_strings(rule.non_resource_urls))
    if rule.resource_names:
        parts.append("ResourceNames:" + go_strings(rule.resource_names))
    if rule.verbs:
        parts.append("Verbs:" + go_strings(rule.verbs))
    return "{" + ", ".join(parts) + "}"


def escalation_error(authorizer, identity, namespace, rules):
    """``ConfirmNoEscalation``: ``None``, or the text after ``<resource> "<name>" is forbidden: ``."""
    owner, errors = authorizer.policy.rules_for(identity.user, tuple(identity.groups), namespace)
    missing = uncovered(owner, rules)
    if not missing:
        return None
    lines = sorted({compact_string(r) for r in compact_rules(missing)})
    text = (
        f'user "{identity.user}" (groups={go_strings(identity.groups)}) is attempting to grant RBAC '
        "permissions not currently held:\n" + "\n".join(lines)
    )
    if errors:
        text += "; resolution errors: [" + ", ".join(errors) + "]"
    return text


def may_escalate(authorizer, identity, resource, namespace, name):
    """``EscalationAllowed`` or ``RoleEscalationAuthorized`` (verb ``escalate`` on the role)."""
    if PRIVILEGED_GROUP in identity.groups:
        return True
    attrs = RequestAttributes(
        verb="escalate",
        is_resource_request=True,
        api_group="rbac.authorization.k8s.io",
        api_version="*",
        resource=resource,
        namespace=namespace,
        name=name,
    )
    return authorizer.authorize(identity, attrs).allowed


def may_bind(authorizer, identity, role_ref, namespace):
    """``EscalationAllowed`` or ``BindingAuthorized`` (verb ``bind`` on the referenced role)."""
    if PRIVILEGED_GROUP in identity.groups:
        return True
    resource = {"ClusterRole": "clusterroles", "Role": "roles"}.get(role_ref.get("kind"))
    if resource is None:
        return False
    attrs = RequestAttributes(
        verb="bind",
        is_resource_request=True,
        api_group=role_ref.get("apiGroup", ""),
        api_version="*",
        resource=resource,
        namespace=namespace,
        name=role_ref.get("name", ""),
    )
    return authorizer.authorize(identity, attrs).allowed


def only_gc_fields(old, new):
    """``IsOnlyMutatingGCFields`` (``pkg/registry/rbac/helpers.go``): nothing but ownerReferences and
    finalizers differ (system fields aside)."""

    def strip(obj):
        meta = {
            k: v
            for k, v in (obj.get("metadata") or {}).items()
            if k not in ("ownerReferences", "finalizers", "managedFields", "resourceVersion")
        }
        return {**{k: v for k, v in obj.items() if k != "metadata"}, "metadata": meta}

    return strip(old) == strip(new)
