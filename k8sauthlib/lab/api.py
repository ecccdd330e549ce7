"""The API surface of the lab: what kube-apiserver answers where the book and kubectl look.

One request goes through the same stages as in kube-apiserver's handler chain
(``staging/src/k8s.io/apiserver/pkg/server/config.go`` ``DefaultBuildHandlerChain``):
request info, authentication (401), authorization (403), and only then routing (404, 405).
So an anonymous ``GET /nonexistent`` is a 403, not a 404, exactly as on a real cluster.

What is served (read-only, no watch):

* ``/version``, ``/healthz``, ``/livez``, ``/readyz``, ``/`` (the path list);
* legacy discovery: ``/api``, ``/api/v1``, ``/apis``, ``/apis/<group>``, ``/apis/<group>/<version>``,
  always as plain ``application/json`` whatever the Accept header asks for (kubectl then
  falls back from aggregated discovery cleanly; KUBECTL-WIRE.md section 2);
* pods (list, get; ``Table`` when asked for ``as=Table``), namespaces, services;
* ``POST`` of SelfSubjectReview, SelfSubjectAccessReview and SelfSubjectRulesReview, with
  protobuf (kubectl) or JSON (curl) bodies, answered in JSON with 201.

Error bodies are Kubernetes ``Status`` objects, compact JSON with a trailing newline, as
apimachinery's JSON serializer writes them (``json.NewEncoder(w).Encode``; hence the
``Content-Length: 129`` of the well-known 401 body).

Unknown paths outside the registered API groups get Go's plain-text ``404 page not found``:
kube-apiserver 1.32 ends its handler chain in ``http.NotFound``; a JSON Status for them only
arrived with kubernetes/kubernetes#138219 (2026). Unknown resources inside ``/api/v1`` or a
served group version get the JSON ``NotFound`` Status from go-restful.
"""

import hashlib
import json
import logging
import platform
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

from . import protobuf
from .auth import RequestAttributes, forbidden_message, request_info
from ..errors import InputError

JSON = "application/json"
TABLE_CONTENT_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"

#: ``/version`` of the lab. The minor must be "32": kubectl on PATH is a dispatcher that runs
#: the kubectl matching the server's minor (KUBECTL-WIRE.md 1.1). The build metadata
#: ``+k8sauthlib-lab`` keeps ``kubectl version`` honest about what answers.
VERSION_INFO = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.3+k8sauthlib-lab",
    "gitCommit": "",
    "gitTreeState": "",
    "buildDate": "",
    "goVersion": "",
    "compiler": "",
    "platform": f"{platform.system().lower()}/{'amd64' if platform.machine() in ('x86_64', 'AMD64') else platform.machine()}",
}

#: Annotation that every mirror pod of the lab carries, so that ``-o yaml`` says what it is.
LAB_NOTE_ANNOTATION = "lab.k8sauth-book/note"
LAB_NOTE = ("k8sauthlib lab: mirror pod of a static Pod manifest; no container runs. "
            "The lab process itself serves the API, with the flags of manifests/kube-apiserver.yaml.")
#: Reason shown in the STATUS column of ``kubectl get pods``, instead of a "Running" that would lie.
LAB_POD_REASON = "LabNoContainer"

NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")

logger = logging.getLogger("k8sauthlib.lab")


def go_json(obj, *, indent=None):
    """Encode as kube-apiserver does, HTML-escaped like Go's ``encoding/json``.

    Compact with a trailing newline for API objects (apimachinery's serializer calls
    ``json.NewEncoder(w).Encode``); ``indent`` gives ``json.MarshalIndent`` without a newline,
    which ``responsewriters.WriteRawJSON`` uses for ``/version`` and ``/``.
    """
    if indent:
        text = json.dumps(obj, ensure_ascii=False, indent=indent)
    else:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text.encode("utf-8")


def status_object(code, reason, message, details=None):
    """A ``metav1.Status`` failure, fields in Go's struct order."""
    obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason}
    if details is not None:
        obj["details"] = details
    obj["code"] = code
    return obj


UNAUTHORIZED = status_object(401, "Unauthorized", "Unauthorized")
NOT_FOUND_TEXT = "the server could not find the requested resource"
METHOD_NOT_ALLOWED_TEXT = "the server does not allow this method on the requested resource"


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict            # lower-case name -> value
    body: bytes = b""
    peer_chain: list = field(default_factory=list)   # cryptography certificates, leaf first
    client: str = ""

    @property
    def target(self):
        return self.path + ("?" + self.query if self.query else "")


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = JSON
    headers: list = field(default_factory=list)


def json_response(status, obj, *, content_type=JSON, indent=None):
    return Response(status, go_json(obj, indent=indent), content_type)


def human_duration(seconds):
    """``duration.HumanDuration`` of k8s.io/apimachinery, which kube-apiserver uses for AGE cells."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def rfc3339(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _resource(name, kind, namespaced, verbs, short=None):
    entry = {"name": name, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind, "verbs": verbs}
    if short:
        entry["shortNames"] = short
    return entry


#: Served group versions -> their resources (legacy discovery documents).
GROUP_RESOURCES = {
    "v1": [
        _resource("namespaces", "Namespace", False, ["get", "list"], ["ns"]),
        _resource("pods", "Pod", True, ["get", "list"], ["po"]),
        _resource("services", "Service", True, ["get", "list"], ["svc"]),
    ],
    "authentication.k8s.io/v1": [
        _resource("selfsubjectreviews", "SelfSubjectReview", False, ["create"]),
    ],
    "authorization.k8s.io/v1": [
        _resource("selfsubjectaccessreviews", "SelfSubjectAccessReview", False, ["create"]),
        _resource("selfsubjectrulesreviews", "SelfSubjectRulesReview", False, ["create"]),
    ],
}
API_GROUPS = ("authentication.k8s.io", "authorization.k8s.io")


@dataclass
class MirrorPod:
    """A static Pod manifest as the API shows it: kubelet's mirror pod ``<name>-<node>``.

    On a kubeadm node, kubelet starts the containers of ``/etc/kubernetes/manifests/*.yaml``
    and publishes a read-only *mirror pod* for each, named ``<pod name>-<node name>``, with the
    annotations ``kubernetes.io/config.source: file``, ``kubernetes.io/config.hash`` and
    ``kubernetes.io/config.mirror`` and the Node as owner. The lab publishes the same objects
    from the same files, so ``kubectl get pod -n kube-system`` lists the same names.

    The lab starts no containers, and it does not pretend to: the pod's ``status`` has phase
    ``Unknown`` (no kubelet reports on it) and reason ``LabNoContainer``, which ``kubectl get``
    prints in the STATUS column where a node would show ``Running``; READY is ``0/1``; and the
    annotation ``lab.k8sauth-book/note`` says in words what is going on. The one "container"
    whose job is done anyway is kube-apiserver: the lab process serves the API with that
    manifest's flags.
    """

    manifest: dict
    source: Path
    node_name: str
    created: datetime
    uid: str

    @property
    def name(self):
        return f"{self.manifest['metadata']['name']}-{self.node_name}"

    @property
    def containers(self):
        return (self.manifest.get("spec") or {}).get("containers") or []

    def metadata(self, resource_version):
        meta = self.manifest.get("metadata") or {}
        digest = hashlib.md5(self.source.read_bytes() if self.source.exists() else b"").hexdigest()
        annotations = dict(meta.get("annotations") or {})
        annotations.update({
            "kubernetes.io/config.hash": digest,
            "kubernetes.io/config.mirror": digest,
            "kubernetes.io/config.seen": self.created.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "kubernetes.io/config.source": "file",
            LAB_NOTE_ANNOTATION: LAB_NOTE,
        })
        out = {"name": self.name, "namespace": "kube-system", "uid": self.uid,
               "resourceVersion": resource_version, "creationTimestamp": rfc3339(self.created)}
        if meta.get("labels"):
            out["labels"] = dict(meta["labels"])
        out["annotations"] = annotations
        out["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": self.node_name,
                                   "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, "k8sauthlib-lab-node/" + self.node_name)),
                                   "controller": True}]
        return out

    def to_pod(self, resource_version):
        spec = dict(self.manifest.get("spec") or {})
        spec["nodeName"] = self.node_name
        return {"apiVersion": "v1", "kind": "Pod", "metadata": self.metadata(resource_version), "spec": spec,
                "status": {"phase": "Unknown", "reason": LAB_POD_REASON, "message": LAB_NOTE}}


def load_mirror_pods(manifest_dir, node_name, created):
    """Read every ``*.yaml`` static Pod manifest of ``manifest_dir`` (kubelet's ``--pod-manifest-path``)."""
    pods = []
    directory = Path(manifest_dir)
    if not directory.is_dir():
        return pods
    for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")) + sorted(directory.glob("*.json")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(doc, dict) or doc.get("kind") != "Pod" or not (doc.get("metadata") or {}).get("name"):
            continue  # kubelet skips files that are not Pods
        uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"k8sauthlib-lab/{path.resolve()}/{created.isoformat()}"))
        pods.append(MirrorPod(doc, path, node_name, created, uid))
    return pods


class LabAPI:
    """Request pipeline and handlers. Built by :class:`~k8sauthlib.lab.server.LabServer`.

    Args:
        authenticator: an :class:`~k8sauthlib.lab.auth.X509Authenticator`.
        authorizer: an :class:`~k8sauthlib.lab.auth.Authorizer`.
        pods: the mirror pods (:func:`load_mirror_pods`).
        server_address: ``host:port`` for ``serverAddressByClientCIDRs``.
        started: when the lab started (creation time of its objects).
        log: callable ``log(record: dict)`` receiving one record per request.
    """

    def __init__(self, authenticator, authorizer, pods, server_address, started, log=None):
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.pods = {p.name: p for p in pods}
        self.server_address = server_address
        self.started = started
        self.log = log or (lambda record: None)
        self.resource_version = "1"

    # ----------------------------------------------------------------- pipeline
    def handle(self, req):
        audit_id = str(uuid.uuid4())
        record = {"audit_id": audit_id, "method": req.method, "uri": req.target, "client": req.client,
                  "user_agent": req.headers.get("user-agent", "")}
        attrs = request_info(req.method, req.path, req.query)
        record["verb"] = attrs.verb
        result = self.authenticator.authenticate(req.peer_chain, req.headers)
        if result.identity is None:
            record.update(user=None, groups=[], decision="unauthenticated", reason="", auth_error=result.error)
            response = json_response(401, UNAUTHORIZED)
        else:
            identity = result.identity
            record.update(user=identity.user, groups=list(identity.groups), via=result.via)
            decision = self.authorizer.authorize(identity, attrs)
            record.update(decision="allow" if decision.allowed else "forbid", reason=decision.reason,
                          authorizer=decision.authorizer)
            if not decision.allowed:
                message, details = forbidden_message(attrs, identity.user, decision.reason)
                response = json_response(403, status_object(403, "Forbidden", message, details))
            else:
                try:
                    response = self.route(req, attrs, identity)
                except InputError as exc:
                    response = json_response(400, status_object(400, "BadRequest", str(exc)))
                except Exception as exc:  # a lab bug: answer like kube-apiserver's panic handler, keep serving
                    logger.exception("lab: error handling %s %s", req.method, req.target)
                    response = json_response(500, status_object(
                        500, "InternalError", f"Internal error occurred: {exc}",
                        {"causes": [{"message": str(exc)}]}))
        response.headers = [("Audit-Id", audit_id), ("Cache-Control", "no-cache, private")] + response.headers
        record["status"] = response.status
        self.log(record)
        return response

    # ------------------------------------------------------------------ routing
    def route(self, req, attrs, identity):
        method, path = req.method, req.path.rstrip("/") or "/"
        if not attrs.is_resource_request:
            handler = self._nonresource(path, req)
            if handler is None:
                if path in ("/apis", "/api") or path.startswith(("/api/", "/apis/")) and self._group_path(path):
                    return self._not_found_status()
                return Response(404, b"404 page not found\n", "text/plain; charset=utf-8",
                                [("X-Content-Type-Options", "nosniff")])
            if method not in ("GET", "HEAD"):
                return self._method_not_allowed()
            return handler()
        group_version = attrs.api_version if attrs.api_prefix == "api" else f"{attrs.api_group}/{attrs.api_version}"
        if group_version not in GROUP_RESOURCES:
            return Response(404, b"404 page not found\n", "text/plain; charset=utf-8",
                            [("X-Content-Type-Options", "nosniff")])
        handler = {
            ("v1", "pods"): self._pods,
            ("v1", "namespaces"): self._namespaces,
            ("v1", "services"): self._services,
            ("authentication.k8s.io/v1", "selfsubjectreviews"): self._self_subject_review,
            ("authorization.k8s.io/v1", "selfsubjectaccessreviews"): self._self_subject_access_review,
            ("authorization.k8s.io/v1", "selfsubjectrulesreviews"): self._self_subject_rules_review,
        }.get((group_version, attrs.resource))
        if handler is None or attrs.subresource:
            return self._not_found_status()
        return handler(req, attrs, identity)

    def _group_path(self, path):
        parts = path.strip("/").split("/")
        if parts[0] == "api":
            return len(parts) <= 2 and (len(parts) == 1 or parts[1] in GROUP_RESOURCES)
        return len(parts) <= 3 and (len(parts) < 2 or parts[1] in API_GROUPS)

    @staticmethod
    def _not_found_status():
        return json_response(404, status_object(404, "NotFound", NOT_FOUND_TEXT, {}))

    @staticmethod
    def _method_not_allowed():
        return json_response(405, status_object(405, "MethodNotAllowed", METHOD_NOT_ALLOWED_TEXT, {}))

    @staticmethod
    def _object_not_found(resource, name):
        return json_response(404, status_object(404, "NotFound", f'{resource} "{name}" not found',
                                                {"name": name, "kind": resource}))

    # ------------------------------------------------------- non-resource paths
    def _nonresource(self, path, req):
        text = lambda: Response(200, b"ok", "text/plain; charset=utf-8", [("X-Content-Type-Options", "nosniff")])
        docs = {
            "/": lambda: json_response(200, {"paths": self._root_paths()}, indent=2),
            "/version": lambda: json_response(200, VERSION_INFO, indent=2),
            "/healthz": text, "/livez": text, "/readyz": text,
            "/api": lambda: json_response(200, {
                "kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": self.server_address}]}),
            "/api/v1": lambda: json_response(200, {"kind": "APIResourceList", "groupVersion": "v1",
                                                   "resources": GROUP_RESOURCES["v1"]}),
            "/apis": lambda: json_response(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                                 "groups": [self._api_group(g) for g in API_GROUPS]}),
        }
        for group in API_GROUPS:
            gv = f"{group}/v1"
            docs[f"/apis/{group}"] = (lambda g=group: json_response(200, {"kind": "APIGroup", "apiVersion": "v1",
                                                                          **self._api_group(g)}))
            docs[f"/apis/{gv}"] = (lambda gv=gv: json_response(200, {"kind": "APIResourceList", "apiVersion": "v1",
                                                                      "groupVersion": gv,
                                                                      "resources": GROUP_RESOURCES[gv]}))
        return docs.get(path)

    @staticmethod
    def _api_group(group):
        version = {"groupVersion": f"{group}/v1", "version": "v1"}
        return {"name": group, "versions": [version], "preferredVersion": version}

    @staticmethod
    def _root_paths():
        paths = ["/api", "/api/v1", "/apis", "/apis/"]
        for group in API_GROUPS:
            paths += [f"/apis/{group}", f"/apis/{group}/v1"]
        return paths + ["/healthz", "/livez", "/readyz", "/version"]

    # ---------------------------------------------------------------- resources
    @staticmethod
    def _wants_table(req):
        accept = req.headers.get("accept", "")
        return "as=Table" in accept and "g=meta.k8s.io" in accept

    def _list_or_get(self, req, attrs, *, resource, objects, kind, to_object, columns, cells):
        """Shared list/get for read-only resources; ``objects`` is a list of (namespace, name, obj)."""
        if req.method not in ("GET", "HEAD") or attrs.verb not in ("get", "list"):
            return self._method_not_allowed()
        if attrs.verb == "get":
            found = [o for ns, name, o in objects if name == attrs.name and (ns == attrs.namespace or not ns)]
            if not found:
                return self._object_not_found(resource, attrs.name)
            selected = found
        else:
            selector = _parse_label_selector(req.query)
            selected = [o for ns, _name, o in objects
                        if (not attrs.namespace or ns == attrs.namespace)
                        and _labels_match(to_object(o)["metadata"].get("labels") or {}, selector)]
        if self._wants_table(req):
            include = "Object" if "includeObject=Object" in req.query else "PartialObjectMetadata"
            rows = []
            for o in selected:
                full = to_object(o)
                row_object = full if include == "Object" else {
                    "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": full["metadata"]}
                rows.append({"cells": cells(o), "object": row_object})
            table = {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                     "metadata": {"resourceVersion": self.resource_version},
                     "columnDefinitions": [{"name": n, "type": t, "format": f, "description": "", "priority": p}
                                           for n, t, f, p in columns],
                     "rows": rows}
            return json_response(200, table, content_type=TABLE_CONTENT_TYPE)
        if attrs.verb == "get":
            return json_response(200, to_object(selected[0]))
        return json_response(200, {"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": self.resource_version},
                                   "items": [to_object(o) for o in selected]})

    def _age(self, created):
        return human_duration((datetime.now(timezone.utc) - created).total_seconds())

    def _pods(self, req, attrs, identity):
        objects = [("kube-system", p.name, p) for p in self.pods.values()]
        columns = [("Name", "string", "name", 0), ("Ready", "string", "", 0), ("Status", "string", "", 0),
                   ("Restarts", "string", "", 0), ("Age", "string", "", 0), ("IP", "string", "", 1),
                   ("Node", "string", "", 1), ("Nominated Node", "string", "", 1), ("Readiness Gates", "string", "", 1)]

        def cells(p):
            return [p.name, f"0/{len(p.containers)}", LAB_POD_REASON, "0", self._age(p.created),
                    "<none>", p.node_name, "<none>", "<none>"]

        return self._list_or_get(req, attrs, resource="pods", objects=objects, kind="PodList",
                                 to_object=lambda p: p.to_pod(self.resource_version), columns=columns, cells=cells)

    def _namespace_object(self, name):
        return {"kind": "Namespace", "apiVersion": "v1",
                "metadata": {"name": name, "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, "k8sauthlib-lab-ns/" + name)),
                             "resourceVersion": self.resource_version, "creationTimestamp": rfc3339(self.started),
                             "labels": {"kubernetes.io/metadata.name": name}},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}

    def _namespaces(self, req, attrs, identity):
        # /api/v1/namespaces/<ns> carries the name in both fields; Namespace objects have no namespace.
        objects = [("", n, n) for n in NAMESPACES]
        return self._list_or_get(req, attrs, resource="namespaces", objects=objects, kind="NamespaceList",
                                 to_object=self._namespace_object,
                                 columns=[("Name", "string", "name", 0), ("Status", "string", "", 0), ("Age", "string", "", 0)],
                                 cells=lambda n: [n, "Active", self._age(self.started)])

    def _service_object(self, name):
        port = int(self.server_address.rsplit(":", 1)[1])
        return {"kind": "Service", "apiVersion": "v1",
                "metadata": {"name": name, "namespace": "default",
                             "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, "k8sauthlib-lab-svc/" + name)),
                             "resourceVersion": self.resource_version, "creationTimestamp": rfc3339(self.started),
                             "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": port}],
                         "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "type": "ClusterIP",
                         "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                         "internalTrafficPolicy": "Cluster"},
                "status": {"loadBalancer": {}}}

    def _services(self, req, attrs, identity):
        # The "kubernetes" Service in "default" is kept by kube-apiserver itself; the lab has no
        # CoreDNS, so kube-system has no kube-dns Service and cluster-info prints only the
        # control plane line.
        objects = [("default", "kubernetes", "kubernetes")]
        return self._list_or_get(req, attrs, resource="services", objects=objects, kind="ServiceList",
                                 to_object=self._service_object,
                                 columns=[("Name", "string", "name", 0), ("Type", "string", "", 0),
                                          ("Cluster-IP", "string", "", 0), ("External-IP", "string", "", 0),
                                          ("Port(s)", "string", "", 0), ("Age", "string", "", 0),
                                          ("Selector", "string", "", 1)],
                                 cells=lambda n: [n, "ClusterIP", "10.96.0.1", "<none>", "443/TCP",
                                                  self._age(self.started), "<none>"])

    # ------------------------------------------------------------------ reviews
    def _review(self, req, attrs):
        if req.method != "POST" or attrs.name:
            return None, self._method_not_allowed()
        return protobuf.decode_review(req.body, req.headers.get("content-type", "")), None

    def _self_subject_review(self, req, attrs, identity):
        """``pkg/registry/authentication/selfsubjectreview/rest.go``: echo the caller's user info."""
        _obj, error = self._review(req, attrs)
        if error:
            return error
        user_info = {"username": identity.user}
        if identity.groups:
            user_info["groups"] = list(identity.groups)
        if identity.extra:
            user_info["extra"] = {k: list(v) for k, v in sorted(identity.extra.items())}
        return json_response(201, {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                                   "metadata": {"creationTimestamp": rfc3339(datetime.now(timezone.utc))},
                                   "status": {"userInfo": user_info}})

    def _self_subject_access_review(self, req, attrs, identity):
        """``pkg/registry/authorization/selfsubjectaccessreview/rest.go``: ask the same authorizer.

        ``status.reason`` is the authorizer's reason: RBAC's allow text, or ``""`` when nothing
        matched (RBAC has "no opinion" then, and kubectl prints a bare ``no``).
        """
        obj, error = self._review(req, attrs)
        if error:
            return error
        spec = obj.get("spec") or {}
        ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if (ra is None) == (nra is None):
            message = ('SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: '
                       'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified')
            return json_response(422, status_object(422, "Invalid", message,
                                                    {"group": "authorization.k8s.io", "kind": "SelfSubjectAccessReview"}))
        if ra is not None:
            review_attrs = RequestAttributes(verb=ra.get("verb", ""), is_resource_request=True,
                                             api_group=ra.get("group", ""), api_version=ra.get("version", ""),
                                             namespace=ra.get("namespace", ""), resource=ra.get("resource", ""),
                                             subresource=ra.get("subresource", ""), name=ra.get("name", ""))
            spec_out = {"resourceAttributes": {k: v for k, v in ra.items() if v}}
        else:
            review_attrs = RequestAttributes(verb=nra.get("verb", ""), path=nra.get("path", ""))
            spec_out = {"nonResourceAttributes": {k: v for k, v in nra.items() if v}}
        decision = self.authorizer.authorize(identity, review_attrs)
        status = {"allowed": decision.allowed}
        if decision.denied:
            status["denied"] = True
        if decision.reason:
            status["reason"] = decision.reason
        if decision.evaluation_error:
            status["evaluationError"] = decision.evaluation_error
        return json_response(201, {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                                   "metadata": {"creationTimestamp": None}, "spec": spec_out, "status": status})

    def _self_subject_rules_review(self, req, attrs, identity):
        """``pkg/registry/authorization/selfsubjectrulesreview/rest.go``: the RBAC rules that apply."""
        obj, error = self._review(req, attrs)
        if error:
            return error
        namespace = (obj.get("spec") or {}).get("namespace", "")
        resource, nonresource, incomplete, evaluation_error = self.authorizer.rules_for(identity, namespace)
        status = {
            "resourceRules": [{k: v for k, v in {"verbs": list(r.verbs), "apiGroups": list(r.api_groups),
                                                  "resources": list(r.resources),
                                                  "resourceNames": list(r.resource_names)}.items()
                               if v or k == "verbs"} for r in resource],
            "nonResourceRules": [{"verbs": list(r.verbs), "nonResourceURLs": list(r.non_resource_urls)} for r in nonresource],
            "incomplete": incomplete,
        }
        if evaluation_error:
            status["evaluationError"] = evaluation_error
        return json_response(201, {"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
                                   "metadata": {"creationTimestamp": None},
                                   "spec": {"namespace": namespace} if namespace else {}, "status": status})


def _parse_label_selector(query):
    """Equality-based ``labelSelector`` terms (``a=b``, ``a==b``, ``a!=b``, ``a``, ``!a``)."""
    from urllib.parse import parse_qs
    terms = []
    for selector in parse_qs(query or "").get("labelSelector", []):
        for term in filter(None, (t.strip() for t in selector.split(","))):
            if "!=" in term:
                key, value = term.split("!=", 1)
                terms.append((key.strip(), "!=", value.strip()))
            elif "=" in term:
                key, value = term.split("=", 1)
                terms.append((key.strip(), "=", value.lstrip("=").strip()))
            elif term.startswith("!"):
                terms.append((term[1:].strip(), "!exists", ""))
            else:
                terms.append((term, "exists", ""))
    return terms


def _labels_match(labels, terms):
    for key, op, value in terms:
        if op == "=" and labels.get(key) != value:
            return False
        if op == "!=" and labels.get(key) == value:
            return False
        if op == "exists" and key not in labels:
            return False
        if op == "!exists" and key in labels:
            return False
    return True
