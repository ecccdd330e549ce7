"""The API surface of the lab: what kube-apiserver answers where the book and kubectl look.

One request goes through the same stages as in kube-apiserver's handler chain
(``staging/src/k8s.io/apiserver/pkg/server/config.go`` ``DefaultBuildHandlerChain``):
request info, authentication (401), authorization (403), and only then routing (404, 405).
So an anonymous ``GET /nonexistent`` is a 403, not a 404, exactly as on a real cluster.

What is served (no watch):

* ``/version`` (per ``kubernetes_version``, :mod:`.discovery`), ``/healthz``, ``/livez``,
  ``/readyz``, ``/`` (the path list), ``/openapi/v3`` (:mod:`.openapi`);
* legacy discovery: ``/api``, ``/api/v1``, ``/apis``, ``/apis/<group>``, ``/apis/<group>/<version>``,
  always as plain ``application/json`` whatever the Accept header asks for: client-go's
  discovery client, asked for ``application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList``
  first, falls back to the legacy lists when the answer's Content-Type is not the aggregated
  one (``staging/src/k8s.io/client-go/discovery/discovery_client.go``, ``downloadAPIs``, and
  ``discovery/aggregated_discovery.go``, v0.32);
* pods (list, get; ``Table`` when asked for ``as=Table``), services (read-only);
* Namespaces, Roles, ClusterRoles, RoleBindings, ClusterRoleBindings: create, get, list, update,
  patch, delete, stored as YAML in the lab tree (:mod:`.rest`, :mod:`.store`);
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

import logging
import tempfile
import time
import uuid
from pathlib import Path

from ..errors import InputError
from . import bootstrap, impersonation, nodes, openapi, reviews
from . import patch as patching
from .apierrors import StatusError, forbidden_message
from .attributes import normalized_verb, request_info
from .certificates import CSRStrategy
from .discovery import (
    API_GROUPS,
    CREDENTIAL_ID_KEY,
    CREDENTIAL_ID_SINCE,
    DEFAULT_VERSION,
    GROUP_RESOURCES,
    REAL_CORE_RESOURCES,
    REAL_GROUPS,
    UID_SINCE,
    not_served_message,
    parse_version,
    version_info,
)
from .kinds import (
    CERTIFICATE_SIGNING_REQUEST,
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    NAMESPACE,
    STORED_KINDS,
    by_resource,
)
from .readonly import ReadOnlyResources, object_not_found, wants_table
from .rest import RestHandler
from .selectors import SelectorError
from .store import ObjectStore, update_managed_fields
from .wire import (
    METHOD_NOT_ALLOWED_TEXT,
    NOT_FOUND_TEXT,
    UNAUTHORIZED,
    Response,
    json_response,
    prettify,
    rfc3339,
    status_object,
    warning_header,
)

logger = logging.getLogger("k8sauthlib.lab")
#: ``openapi.go`` in kube-openapi's handler: the protobuf media type of ``/openapi/v2``.
OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


class LabAPI:
    """Request pipeline and handlers. Built by :class:`~k8sauthlib.lab.server.LabServer`.

    Args:
        authenticator: an :class:`~k8sauthlib.lab.auth.X509Authenticator`.
        authorizer: an :class:`~k8sauthlib.lab.auth.Authorizer`.
        pods: the mirror pods (:func:`load_mirror_pods`).
        server_address: ``host:port`` for ``serverAddressByClientCIDRs``.
        started: when the lab started (creation time of its objects).
        log: callable ``log(record: dict)`` receiving one record per request.
        kubernetes_version: the version the lab presents, ``"1.28"`` to ``"1.35"`` (:mod:`.discovery`).
        state_dir: the lab's own directory (``<tree>/lab``); objects written through the API are
            kept in its ``objects/`` folder. ``None``: a temporary folder, gone with the process.
        pki_dir: where the CSR signer finds ``ca.crt`` and ``ca.key`` (default: ``pki/`` beside
            ``state_dir``, kubeadm's ``--cluster-signing-cert-file``/``--cluster-signing-key-file``).
        log_lines: callable returning the lab's log lines, served as kube-apiserver's pod log.
        node_name: the Node's name (default: the mirror pods' node).
    """

    def __init__(
        self,
        authenticator,
        authorizer,
        pods,
        server_address,
        started,
        log=None,
        *,
        kubernetes_version=DEFAULT_VERSION,
        state_dir=None,
        pki_dir=None,
        log_lines=None,
        node_name=None,
    ):
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.pods = {p.name: p for p in pods}
        self.node_name = node_name or (pods[0].node_name if pods else "lab")
        self.server_address = server_address
        self.started = started
        self.log = log or (lambda record: None)
        self.log_lines = log_lines or (lambda: [])
        self.minor = parse_version(kubernetes_version)
        self.version_info = version_info(self.minor)
        if pki_dir is None and state_dir is not None:
            pki_dir = Path(state_dir).parent / "pki"
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="k8sauthlib-lab-")
            state_dir = self._tmp.name
        self.store = ObjectStore(
            Path(state_dir) / "objects", STORED_KINDS, on_error=lambda message: logger.error("%s", message)
        )
        attach = getattr(authorizer, "attach_store", None)
        if attach:
            attach(self.store)
        self.rest = RestHandler(
            self.store, authorizer, strategies={CERTIFICATE_SIGNING_REQUEST: CSRStrategy(authorizer, pki_dir)}
        )
        self.resources = ReadOnlyResources(self.store, self.rest, self.pods, self.node_name, server_address, started)
        self._seed()

    def _as_of_version(self, identity):
        """The authenticated user as the presented version's x509 authenticator makes it.

        ``credential-id`` in extra from 1.32, the UID from subject attribute 1.3.6.1.4.1.57683.2
        from 1.33 (``staging/src/k8s.io/apiserver/pkg/authentication/request/x509/x509.go``).
        """
        import dataclasses

        if self.minor < CREDENTIAL_ID_SINCE and CREDENTIAL_ID_KEY in (identity.extra or {}):
            identity = dataclasses.replace(
                identity, extra={k: v for k, v in identity.extra.items() if k != CREDENTIAL_ID_KEY}
            )
        if self.minor < UID_SINCE and getattr(identity, "uid", ""):
            identity = dataclasses.replace(identity, uid="")
        return identity

    @property
    def resource_version(self):
        return self.store.resource_version

    def _seed(self):
        """What kube-apiserver creates at start when it is missing: the four namespaces
        (``pkg/controlplane/controller/systemnamespaces``) and the bootstrap RBAC policy (the
        ``rbac/bootstrap-roles`` post-start hook, :mod:`.bootstrap`). An existing bootstrap object
        marked ``autoupdate`` gets back missing permissions and subjects (:func:`.bootstrap.reconcile`)."""
        stamp = rfc3339(self.started)
        objects = [
            (
                NAMESPACE,
                {
                    "kind": "Namespace",
                    "apiVersion": "v1",
                    "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                },
            )
            for name in ("default", "kube-node-lease", "kube-public", "kube-system")
        ]
        objects += [(CLUSTER_ROLE, o) for o in bootstrap.cluster_roles()]
        objects += [(CLUSTER_ROLE_BINDING, o) for o in bootstrap.cluster_role_bindings()]
        for kind, obj in objects:
            meta = obj["metadata"]
            existing = self.store.get(kind, "", meta["name"])
            if existing is not None:
                reconciled = bootstrap.reconcile(existing, obj) if kind is not NAMESPACE else None
                if reconciled is not None:
                    update_managed_fields(kind, existing, reconciled, "kube-apiserver", "Update", stamp)
                    reconciled["metadata"]["resourceVersion"] = self.store.next_resource_version()
                    self.store.put(kind, reconciled)
                continue
            meta["uid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"k8sauthlib-lab/{kind.resource}/{meta['name']}"))
            meta["resourceVersion"] = self.store.next_resource_version()
            meta["creationTimestamp"] = stamp
            update_managed_fields(
                kind, None, obj, "kube-apiserver", "Update", stamp, skip=("spec", "status") if kind is NAMESPACE else ()
            )
            self.store.put(kind, obj)
        self.rest.aggregate_cluster_roles()

    # ----------------------------------------------------------------- pipeline
    def handle(self, req):
        started = time.perf_counter()
        audit_id = str(uuid.uuid4())
        record = {
            "audit_id": audit_id,
            "method": req.method,
            "uri": req.target,
            "client": req.client,
            "user_agent": req.headers.get("user-agent", ""),
        }
        attrs = request_info(req.method, req.path, req.query)
        record["verb"] = attrs.verb
        record["log_verb"] = normalized_verb(
            req.method, attrs, req.query, apply=req.headers.get("content-type") == patching.APPLY
        )
        try:
            response = self._serve(req, attrs, record)
        except Exception as exc:  # a lab bug: answer like kube-apiserver's panic handler, keep serving
            logger.exception("lab: error handling %s %s", req.method, req.target)
            record.setdefault("decision", "error")
            response = json_response(
                500,
                status_object(
                    500, "InternalError", f"Internal error occurred: {exc}", {"causes": [{"message": str(exc)}]}
                ),
            )
        response = prettify(req, response)
        warnings = [("Warning", warning_header(w)) for w in req.warnings]
        response.headers = (
            [("Audit-Id", audit_id), ("Cache-Control", "no-cache, private")] + warnings + response.headers
        )
        record["status"] = response.status
        record["latency"] = time.perf_counter() - started  # seconds; httplog's latency= (WithLogging)
        self.log(record)
        return response

    def _serve(self, req, attrs, record):
        """Authentication (401), impersonation, authorization (403), then the handler."""
        result = self.authenticator.authenticate(req.peer_chain, req.headers)
        if result.identity is None:
            record.update(user=None, groups=[], decision="unauthenticated", reason="", auth_error=result.error)
            return json_response(401, UNAUTHORIZED)
        identity = self._as_of_version(result.identity)
        record.update(user=identity.user, groups=list(identity.groups), via=result.via)
        authenticated = identity
        impersonated = impersonation.impersonate(
            req.headers, identity, lambda a: self.authorizer.authorize(authenticated, a), request_uri=req.target
        )
        if isinstance(impersonated, StatusError):
            record.update(decision="forbid", reason="impersonation refused", authorizer="impersonation")
            return _status_error_response(impersonated)
        if impersonated is not identity:
            record.update(
                impersonated=impersonation.log_text(identity, impersonated),
                user=impersonated.user,
                groups=list(impersonated.groups),
            )
        identity = impersonated
        decision = self.authorizer.authorize(identity, attrs)
        record.update(
            decision="allow" if decision.allowed else "forbid", reason=decision.reason, authorizer=decision.authorizer
        )
        if not decision.allowed:
            message, details = forbidden_message(attrs, identity.user, decision.reason)
            return json_response(403, status_object(403, "Forbidden", message, details))
        try:
            return self.route(req, attrs, identity)
        except SelectorError as exc:
            return json_response(400, status_object(400, "BadRequest", str(exc), {}))
        except InputError as exc:
            return json_response(400, status_object(400, "BadRequest", str(exc)))

    # ------------------------------------------------------------------ routing
    def route(self, req, attrs, identity):
        method, path = req.method, req.path.rstrip("/") or "/"
        if not attrs.is_resource_request:
            handler = self._nonresource(path, req)
            if handler is None:
                if path in ("/apis", "/api") or path.startswith(("/api/", "/apis/")) and self._group_path(path):
                    return self._not_found_status()
                return Response(
                    404, b"404 page not found\n", "text/plain; charset=utf-8", [("X-Content-Type-Options", "nosniff")]
                )
            if method not in ("GET", "HEAD"):
                return self._method_not_allowed()
            return handler()
        group_version = attrs.api_version if attrs.api_prefix == "api" else f"{attrs.api_group}/{attrs.api_version}"
        if attrs.api_group in REAL_GROUPS:
            return json_response(
                404, status_object(404, "NotFound", not_served_message(f"the API group {attrs.api_group}"), {})
            )
        if group_version == "v1" and attrs.resource in REAL_CORE_RESOURCES:
            return json_response(
                404, status_object(404, "NotFound", not_served_message(attrs.resource), {"kind": attrs.resource})
            )
        if group_version not in GROUP_RESOURCES:
            return Response(
                404, b"404 page not found\n", "text/plain; charset=utf-8", [("X-Content-Type-Options", "nosniff")]
            )
        kind = by_resource(group_version, attrs.resource)
        if kind is not None:
            if wants_table(req) and attrs.verb in ("get", "list") and not attrs.subresource:
                return self.resources.stored_table(req, attrs, kind)
            return self.rest.handle(req, attrs, identity, kind)
        if (group_version, attrs.resource, attrs.subresource) == ("v1", "pods", "log") and attrs.verb == "get":
            if attrs.name not in self.pods or attrs.namespace != "kube-system":
                return object_not_found("pods", attrs.name)
            return nodes.pod_log(attrs.name, self.pods[attrs.name].node_name, req.query, self.log_lines())
        handler = {
            ("v1", "nodes"): self.resources.nodes,
            ("v1", "pods"): self.resources.pods,
            ("v1", "services"): self.resources.services,
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

    # ------------------------------------------------------- non-resource paths
    def _nonresource(self, path, req):
        def text():
            return Response(200, b"ok", "text/plain; charset=utf-8", [("X-Content-Type-Options", "nosniff")])

        docs = {
            "/": lambda: json_response(200, {"paths": self._root_paths()}, indent=2),
            "/version": lambda: json_response(200, self.version_info, indent=2),
            "/openapi/v3": lambda: json_response(200, openapi.index_document()),
            "/healthz": text,
            "/livez": text,
            "/readyz": text,
            "/api": lambda: json_response(
                200,
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": self.server_address}],
                },
            ),
            "/api/v1": lambda: json_response(
                200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": GROUP_RESOURCES["v1"]}
            ),
            "/apis": lambda: json_response(
                200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [self._api_group(g) for g in API_GROUPS]}
            ),
        }
        for group in API_GROUPS:
            gv = f"{group}/v1"
            docs[f"/apis/{group}"] = lambda g=group: json_response(
                200, {"kind": "APIGroup", "apiVersion": "v1", **self._api_group(g)}
            )
            docs[f"/apis/{gv}"] = lambda gv=gv: json_response(
                200,
                {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": GROUP_RESOURCES[gv]},
            )
        if path == "/openapi/v2":
            return lambda: Response(200, openapi.v2_document(), OPENAPI_V2_PROTOBUF)
        if path.startswith("/openapi/v3/"):
            document = openapi.group_version_document(path[len("/openapi/v3/") :])
            if document is not None:
                return lambda: json_response(200, document)
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

    # ------------------------------------------------------------------ reviews
    def _self_subject_review(self, req, attrs, identity):
        return reviews.self_subject_review(req, attrs, identity)

    def _self_subject_access_review(self, req, attrs, identity):
        return reviews.self_subject_access_review(req, attrs, identity, self.authorizer)

    def _self_subject_rules_review(self, req, attrs, identity):
        return reviews.self_subject_rules_review(req, attrs, identity, self.authorizer)


def _status_error_response(error):
    """A :class:`~k8sauthlib.lab.apierrors.StatusError` as the response kube-apiserver sends."""
    if error.plain:
        return Response(
            error.code,
            (error.message + "\n").encode("utf-8"),
            "text/plain; charset=utf-8",
            [("X-Content-Type-Options", "nosniff")],
        )
    return json_response(error.code, error.status)
