"""What the lab says about itself: ``/version`` and the discovery documents, per Kubernetes version.

The lab presents itself as kube-apiserver 1.28 to 1.35 (``LabServer(kubernetes_version=...)``,
``k8sauthlib lab up --kubernetes-version``). What a client can see of the version:

* ``/version``: ``major``/``minor``/``gitVersion``. The ``kubectl`` on these machines is a
  dispatcher that runs the kubectl matching the server's minor (kubectl 1.27 to 1.33; others
  get its built-in 1.32), so the minor decides which kubectl a reader's commands run.
* ``authentication.kubernetes.io/credential-id`` in the user's extras (``auth whoami``):
  added for X.509 client certificates in 1.32 (``staging/src/k8s.io/apiserver/pkg/authentication/
  request/x509/x509.go``, ``CommonNameUserConversion``, KEP-4193); the lab drops it below 1.32.
* Discovery: of the groups the lab serves, ``authentication.k8s.io/v1``
  ``selfsubjectreviews`` is GA from 1.28 (``kubectl auth whoami``), present in every supported
  version, and rbac, core and authorization are unchanged across 1.28 to 1.35, so the resource
  lists are the same for all of them.
"""

import platform

from .kinds import STORED_KINDS

SUPPORTED_MINORS = tuple(range(28, 36))
DEFAULT_VERSION = "1.32"
#: The patch release reported for each minor (``gitVersion``); ``+k8sauthlib-lab`` keeps
#: ``kubectl version`` honest about what answers.
PATCH_RELEASE = {32: 3}
CREDENTIAL_ID_KEY = "authentication.kubernetes.io/credential-id"
CREDENTIAL_ID_SINCE = 32
#: The x509 authenticator reads a user UID from the subject from 1.33 on (KEP-4193).
UID_SINCE = 33


def parse_version(text):
    """``"1.28"`` or ``"v1.28"`` (or ``"1.28.3"``) -> 28; ``ValueError`` naming the range otherwise."""
    value = str(text).strip().lstrip("v")
    parts = value.split(".")
    try:
        major, minor = int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        raise ValueError(f"kubernetes version {text!r}: expected MAJOR.MINOR such as 1.32") from None
    if major != 1 or minor not in SUPPORTED_MINORS:
        raise ValueError(
            f"kubernetes version {text!r}: the lab can present itself as 1.{SUPPORTED_MINORS[0]} "
            f"to 1.{SUPPORTED_MINORS[-1]}"
        )
    return minor


def version_info(minor):
    """The ``/version`` body (``version.Info``, fields in Go's order)."""
    machine = platform.machine()
    arch = "amd64" if machine in ("x86_64", "AMD64") else "arm64" if machine in ("aarch64", "arm64") else machine
    return {
        "major": "1",
        "minor": str(minor),
        "gitVersion": f"v1.{minor}.{PATCH_RELEASE.get(minor, 0)}+k8sauthlib-lab",
        "gitCommit": "",
        "gitTreeState": "",
        "buildDate": "",
        "goVersion": "",
        "compiler": "",
        "platform": f"{platform.system().lower()}/{arch}",
    }


def _resource(name, kind, namespaced, verbs, short=(), categories=()):
    """An ``APIResource``; ``categories`` as kube-apiserver gives them (pods and services are in ``all``)."""
    entry = {
        "name": name,
        "singularName": kind.lower() if "/" not in name else "",
        "namespaced": namespaced,
        "kind": kind,
        "verbs": list(verbs),
    }
    if short:
        entry["shortNames"] = list(short)
    if categories:
        entry["categories"] = list(categories)
    return entry


def group_resources():
    """Served group versions -> their ``APIResourceList`` entries (legacy discovery)."""
    out = {
        "v1": [
            _resource("nodes", "Node", False, ["get", "list"], ["no"]),
            _resource("pods", "Pod", True, ["get", "list"], ["po"], ["all"]),
            _resource("pods/log", "Pod", True, ["get"]),
            _resource("services", "Service", True, ["get", "list"], ["svc"], ["all"]),
        ],
        "authentication.k8s.io/v1": [_resource("selfsubjectreviews", "SelfSubjectReview", False, ["create"])],
        "authorization.k8s.io/v1": [
            _resource("selfsubjectaccessreviews", "SelfSubjectAccessReview", False, ["create"]),
            _resource("selfsubjectrulesreviews", "SelfSubjectRulesReview", False, ["create"]),
        ],
    }
    for kind in STORED_KINDS:
        out.setdefault(kind.group_version, []).append(
            _resource(kind.resource, kind.kind, kind.namespaced, kind.verbs, kind.short_names)
        )
        if kind.kind == "CertificateSigningRequest":  # the two subresources certificates/v1 serves
            for sub in ("approval", "status"):
                out[kind.group_version].append(
                    _resource(f"{kind.resource}/{sub}", kind.kind, False, ["get", "patch", "update"])
                )
    for resources in out.values():
        resources.sort(key=lambda r: r["name"])
    return out


GROUP_RESOURCES = group_resources()
API_GROUPS = tuple(sorted({gv.split("/")[0] for gv in GROUP_RESOURCES if "/" in gv}))

#: Resources and groups a kube-apiserver 1.32 serves that the lab does not (``kubectl api-resources``
#: on a kubeadm cluster). A request for one gets a 404 that says so instead of go-restful's generic
#: "the server could not find the requested resource", which would send a learner looking for a typo.
REAL_CORE_RESOURCES = (
    "bindings",
    "componentstatuses",
    "configmaps",
    "endpoints",
    "events",
    "limitranges",
    "persistentvolumeclaims",
    "persistentvolumes",
    "podtemplates",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "serviceaccounts",
)
REAL_GROUPS = (
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "apps",
    "autoscaling",
    "batch",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "scheduling.k8s.io",
    "storage.k8s.io",
)


def not_served_message(what):
    return (
        f"the k8sauthlib lab does not serve {what}; it serves namespaces, nodes, pods, services, RBAC objects, "
        "certificatesigningrequests and the self-subject reviews (kubectl api-resources lists them). "
        "Use a kubeadm cluster for the rest"
    )
