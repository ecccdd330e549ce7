"""kube-apiserver's bootstrap RBAC policy, as the API objects it creates at start.

Transcribed from ``plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`` (kubernetes/kubernetes
v1.28.0, the tree the lab was measured against; the roles below are the same in 1.32):
``ClusterRoles()`` and ``ClusterRoleBindings()``. Every rule goes through
``PolicyRuleBuilder.Rule()``, which sorts verbs, groups, resources and URLs; every object gets
the label ``kubernetes.io/bootstrapping: rbac-defaults`` and the annotation
``rbac.authorization.kubernetes.io/autoupdate: "true"`` (``addDefaultMetadata``).
``admin``, ``edit`` and ``view`` carry only an ``aggregationRule``: their rules are filled by
kube-controller-manager's ClusterRole aggregation controller, which the lab runs after every
ClusterRole write (:func:`aggregate`). kubeadm (1.29+) adds ``kubeadm:cluster-admins``.

Served: ``cluster-admin``, ``admin``, ``edit``, ``view``, their ``system:aggregate-to-*`` parts,
``system:discovery``, ``system:monitoring``, ``system:basic-user``, ``system:public-info-viewer``,
``system:heapster``, ``system:node-problem-detector``, ``system:kubelet-api-admin``,
``system:node-bootstrapper``, ``system:auth-delegator``, ``system:kube-aggregator``,
``system:kube-dns``, ``system:persistent-volume-provisioner``, ``system:volume-scheduler``, the
``system:certificates.k8s.io:*`` approver roles and ``system:service-account-issuer-discovery``.
Not served (the lab runs no kubelet, scheduler, proxy or controllers): ``system:node``,
``system:node-proxier``, ``system:kube-scheduler``, ``system:kube-controller-manager`` and the
``system:controller:*`` roles of ``controller_policy.go``.
"""

import copy

from .escalation import uncovered
from .kinds import RBAC_GROUP
from .rbac import PolicyRule, RBACPolicy, parse_object

READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete", "deletecollection")
READ_WRITE = READ + WRITE
READ_UPDATE = ("get", "list", "watch", "update", "patch")
LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
ANNOTATIONS = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"


def rule(verbs, groups=(), resources=(), names=(), urls=()):
    """``NewRule(...).Groups(...).Resources(...).Names(...).URLs(...).RuleOrDie()`` (sorted)."""
    out = {"verbs": sorted(verbs)}
    if groups:
        out["apiGroups"] = sorted(groups)
    if resources:
        out["resources"] = sorted(resources)
    if names:
        out["resourceNames"] = sorted(names)
    if urls:
        out["nonResourceURLs"] = sorted(urls)
    return out


def _events():
    return rule(("create", "update", "patch"), ("", "events.k8s.io"), ("events",))


def _role(name, rules=None, labels=None, aggregate_from=None):
    meta = {"name": name, "labels": dict(LABELS, **(labels or {})), "annotations": dict(ANNOTATIONS)}
    obj = {"kind": "ClusterRole", "apiVersion": f"{RBAC_GROUP}/v1", "metadata": meta}
    if aggregate_from:
        obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {AGGREGATE + aggregate_from: "true"}}]}
    else:
        obj["rules"] = rules or []
    return obj


def _aggregate_view():
    return [
        rule(
            READ,
            [""],
            [
                "pods",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "serviceaccounts",
                "services",
                "services/status",
                "endpoints",
                "persistentvolumeclaims",
                "persistentvolumeclaims/status",
                "configmaps",
            ],
        ),
        rule(
            READ,
            [""],
            [
                "limitranges",
                "resourcequotas",
                "bindings",
                "events",
                "pods/status",
                "resourcequotas/status",
                "namespaces/status",
                "replicationcontrollers/status",
                "pods/log",
            ],
        ),
        rule(READ, [""], ["namespaces"]),
        rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
        rule(
            READ,
            ["apps"],
            [
                "controllerrevisions",
                "statefulsets",
                "statefulsets/status",
                "statefulsets/scale",
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/status",
                "deployments/scale",
                "replicasets",
                "replicasets/status",
                "replicasets/scale",
            ],
        ),
        rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
        rule(READ, ["batch"], ["jobs", "cronjobs", "cronjobs/status", "jobs/status"]),
        rule(
            READ,
            ["extensions"],
            [
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "ingresses",
                "ingresses/status",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "replicationcontrollers/scale",
                "networkpolicies",
            ],
        ),
        rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
        rule(READ, ["networking.k8s.io"], ["networkpolicies", "ingresses", "ingresses/status"]),
    ]


def _aggregate_edit():
    return [
        rule(READ, [""], ["pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"]),
        rule(["impersonate"], [""], ["serviceaccounts"]),
        rule(WRITE, [""], ["pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"]),
        rule(["create"], [""], ["pods/eviction"]),
        rule(
            WRITE,
            [""],
            [
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "serviceaccounts",
                "services",
                "services/proxy",
                "persistentvolumeclaims",
                "configmaps",
                "secrets",
                "events",
            ],
        ),
        rule(["create"], [""], ["serviceaccounts/token"]),
        rule(
            WRITE,
            ["apps"],
            [
                "statefulsets",
                "statefulsets/scale",
                "daemonsets",
                "deployments",
                "deployments/scale",
                "deployments/rollback",
                "replicasets",
                "replicasets/scale",
            ],
        ),
        rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
        rule(WRITE, ["batch"], ["jobs", "cronjobs"]),
        rule(
            WRITE,
            ["extensions"],
            [
                "daemonsets",
                "deployments",
                "deployments/scale",
                "deployments/rollback",
                "ingresses",
                "replicasets",
                "replicasets/scale",
                "replicationcontrollers/scale",
                "networkpolicies",
            ],
        ),
        rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
        rule(WRITE, ["networking.k8s.io"], ["networkpolicies", "ingresses"]),
        rule(READ_WRITE, ["coordination.k8s.io"], ["leases"]),
    ]


def cluster_roles():
    """``ClusterRoles()`` of policy.go, the part the lab serves (see the module docstring)."""
    cert = "certificates.k8s.io"
    return [
        _role("cluster-admin", [rule(["*"], ["*"], ["*"]), rule(["*"], urls=["*"])]),
        _role(
            "system:discovery",
            [
                rule(
                    ["get"],
                    urls=[
                        "/livez",
                        "/readyz",
                        "/healthz",
                        "/version",
                        "/version/",
                        "/openapi",
                        "/openapi/*",
                        "/api",
                        "/api/*",
                        "/apis",
                        "/apis/*",
                    ],
                )
            ],
        ),
        _role(
            "system:monitoring",
            [
                rule(
                    ["get"],
                    urls=[
                        "/metrics",
                        "/metrics/slis",
                        "/livez",
                        "/readyz",
                        "/healthz",
                        "/livez/*",
                        "/readyz/*",
                        "/healthz/*",
                    ],
                )
            ],
        ),
        _role(
            "system:basic-user",
            [
                rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
                rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
            ],
        ),
        _role(
            "system:public-info-viewer",
            [rule(["get"], urls=["/livez", "/readyz", "/healthz", "/version", "/version/"])],
        ),
        _role("admin", aggregate_from="admin"),
        _role("edit", labels={AGGREGATE + "admin": "true"}, aggregate_from="edit"),
        _role("view", labels={AGGREGATE + "edit": "true"}, aggregate_from="view"),
        _role(
            "system:aggregate-to-admin",
            [
                rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
                rule(READ_WRITE, [RBAC_GROUP], ["roles", "rolebindings"]),
            ],
            labels={AGGREGATE + "admin": "true"},
        ),
        _role("system:aggregate-to-edit", _aggregate_edit(), labels={AGGREGATE + "edit": "true"}),
        _role("system:aggregate-to-view", _aggregate_view(), labels={AGGREGATE + "view": "true"}),
        _role(
            "system:heapster",
            [rule(READ, [""], ["events", "pods", "nodes", "namespaces"]), rule(READ, ["extensions"], ["deployments"])],
        ),
        _role(
            "system:node-problem-detector",
            [rule(["get"], [""], ["nodes"]), rule(["patch"], [""], ["nodes/status"]), _events()],
        ),
        _role(
            "system:kubelet-api-admin",
            [
                rule(["get", "list", "watch"], [""], ["nodes"]),
                rule(["proxy"], [""], ["nodes"]),
                rule(["*"], [""], ["nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log"]),
            ],
        ),
        _role(
            "system:node-bootstrapper",
            [rule(["create", "get", "list", "watch"], [cert], ["certificatesigningrequests"])],
        ),
        _role(
            "system:auth-delegator",
            [
                rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
                rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
            ],
        ),
        _role("system:kube-aggregator", [rule(READ, [""], ["services", "endpoints"])]),
        _role("system:kube-dns", [rule(["list", "watch"], [""], ["endpoints", "services"])]),
        _role(
            "system:persistent-volume-provisioner",
            [
                rule(["get", "list", "watch", "create", "delete"], [""], ["persistentvolumes"]),
                rule(["get", "list", "watch", "update"], [""], ["persistentvolumeclaims"]),
                rule(READ, ["storage.k8s.io"], ["storageclasses"]),
                rule(["watch"], [""], ["events"]),
                _events(),
            ],
        ),
        _role(
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            [rule(["create"], [cert], ["certificatesigningrequests/nodeclient"])],
        ),
        _role(
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            [rule(["create"], [cert], ["certificatesigningrequests/selfnodeclient"])],
        ),
        _role(
            "system:volume-scheduler",
            [
                rule(READ_UPDATE, [""], ["persistentvolumes"]),
                rule(READ, ["storage.k8s.io"], ["storageclasses"]),
                rule(READ_UPDATE, [""], ["persistentvolumeclaims"]),
            ],
        ),
        *[
            _role(
                f"system:certificates.k8s.io:{name}-approver",
                [rule(["approve"], [cert], ["signers"], [f"kubernetes.io/{name}"])],
            )
            for name in ("legacy-unknown", "kubelet-serving", "kube-apiserver-client", "kube-apiserver-client-kubelet")
        ],
        _role(
            "system:service-account-issuer-discovery",
            [
                rule(
                    ["get"],
                    urls=[
                        "/.well-known/openid-configuration",
                        "/.well-known/openid-configuration/",
                        "/openid/v1/jwks",
                        "/openid/v1/jwks/",
                    ],
                )
            ],
        ),
    ]


def _binding(name, *subjects, role=None):
    subs = [
        {"kind": kind, "apiGroup": RBAC_GROUP, "name": subject}
        if kind != "ServiceAccount"
        else {"kind": kind, "name": subject[1], "namespace": subject[0]}
        for kind, subject in subjects
    ]
    obj = {
        "kind": "ClusterRoleBinding",
        "apiVersion": f"{RBAC_GROUP}/v1",
        "metadata": {"name": name, "labels": dict(LABELS), "annotations": dict(ANNOTATIONS)},
    }
    if subs:
        obj["subjects"] = subs
    obj["roleRef"] = {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role or name}
    return obj


def cluster_role_bindings():
    """``ClusterRoleBindings()`` of policy.go for the served roles, and kubeadm's ``kubeadm:cluster-admins``.

    kubeadm's binding (``ClusterAdminsGroupAndClusterRoleBinding`` in
    ``cmd/kubeadm/app/phases/kubeconfig``) carries no bootstrap label or annotation.
    """
    kubeadm = {
        "kind": "ClusterRoleBinding",
        "apiVersion": f"{RBAC_GROUP}/v1",
        "metadata": {"name": "kubeadm:cluster-admins"},
        "subjects": [{"kind": "Group", "apiGroup": RBAC_GROUP, "name": "kubeadm:cluster-admins"}],
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "cluster-admin"},
    }
    return [
        _binding("cluster-admin", ("Group", "system:masters")),
        _binding("system:monitoring", ("Group", "system:monitoring")),
        _binding("system:discovery", ("Group", "system:authenticated")),
        _binding("system:basic-user", ("Group", "system:authenticated")),
        _binding("system:public-info-viewer", ("Group", "system:authenticated"), ("Group", "system:unauthenticated")),
        _binding("system:kube-dns", ("ServiceAccount", ("kube-system", "kube-dns"))),
        _binding("system:service-account-issuer-discovery", ("Group", "system:serviceaccounts")),
        kubeadm,
    ]


def selector_matches(selector, labels):
    """``metav1.LabelSelectorAsSelector(...).Matches``: matchLabels and matchExpressions."""
    if not isinstance(selector, dict):
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values or op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels or op == "DoesNotExist" and key in labels:
            return False
    return True


def aggregate(cluster_roles):
    """The ClusterRole aggregation controller (``pkg/controller/clusterroleaggregation``).

    ``cluster_roles`` are ClusterRole dicts; returns ``{name: rules}`` for every role with an
    ``aggregationRule`` whose rules should change: the rules of every other ClusterRole matching
    one of its selectors, roles in name order, each rule once. Repeated until nothing changes,
    since ``edit`` is itself part of ``admin``.
    """
    roles = {r["metadata"]["name"]: r for r in cluster_roles}
    rules_now = {name: list(r.get("rules") or []) for name, r in roles.items()}
    changes = {}
    for _ in range(len(roles) + 1):
        changed = False
        for name in sorted(roles):
            selectors = ((roles[name].get("aggregationRule") or {}).get("clusterRoleSelectors")) or []
            if not selectors:
                continue
            wanted = []
            for other in sorted(roles):
                labels = roles[other]["metadata"].get("labels") or {}
                if other != name and any(selector_matches(s, labels) for s in selectors):
                    wanted += [r for r in rules_now[other] if r not in wanted]
            if wanted != rules_now[name]:
                rules_now[name] = changes[name] = wanted
                changed = True
        if not changed:
            break
    return changes


def reconcile(existing, expected):
    """The bootstrap hook's reconciliation (``pkg/registry/rbac/reconciliation``), or ``None``.

    Only objects annotated ``rbac.authorization.kubernetes.io/autoupdate: "true"`` are touched,
    and only additively: rules of ``expected`` the existing role does not cover are appended
    (broken down, as ``validation.Covers`` reports them), missing aggregation selectors and
    labels/annotations are added, a binding gets its missing subjects back.
    """
    meta = existing.get("metadata") or {}
    if (meta.get("annotations") or {}).get("rbac.authorization.kubernetes.io/autoupdate") != "true":
        return None
    out = copy.deepcopy(existing)
    out_meta = out["metadata"]
    for key in ("labels", "annotations"):
        want = expected["metadata"].get(key) or {}
        if any(k not in (out_meta.get(key) or {}) for k in want):
            out_meta[key] = {**want, **(out_meta.get(key) or {})}
    if existing.get("kind") == "ClusterRole":
        if expected.get("aggregationRule"):
            have = (out.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
            missing = [s for s in expected["aggregationRule"]["clusterRoleSelectors"] if s not in have]
            if missing:
                out["aggregationRule"] = {"clusterRoleSelectors": have + missing}
        else:
            owner = [PolicyRule.from_dict(r) for r in out.get("rules") or []]
            missing = uncovered(owner, [PolicyRule.from_dict(r) for r in expected.get("rules") or []])
            if missing:
                out["rules"] = list(out.get("rules") or []) + [r.to_dict() for r in missing]
    else:
        subjects = list(out.get("subjects") or [])
        missing = [s for s in expected.get("subjects") or [] if s not in subjects]
        if missing:
            out["subjects"] = subjects + missing
    return out if out != existing else None


def policy_objects():
    """The bootstrap roles and bindings as :class:`~.rbac.Role` and :class:`~.rbac.Binding`, with the
    aggregated roles (``admin``, ``edit``, ``view``) already filled: ``(roles, bindings)``."""
    docs = cluster_roles()
    filled = aggregate(docs)
    for doc in docs:
        doc["rules"] = filled.get(doc["metadata"]["name"], doc.get("rules") or [])
    roles = [parse_object(d, "bootstrap policy") for d in docs]
    bindings = [parse_object(d, "bootstrap policy") for d in cluster_role_bindings()]
    return roles, bindings


def policy(directory=None, **kwargs):
    """An :class:`~.rbac.RBACPolicy` of the bootstrap policy plus the files of ``directory``
    (keyword arguments as :meth:`.rbac.RBACPolicy.load`)."""
    return RBACPolicy.load(directory, base=policy_objects(), **kwargs)
