"""Create, get, list, update, patch and delete of stored objects, as kube-apiserver's handlers do them.

The steps follow ``staging/src/k8s.io/apiserver/pkg/endpoints/handlers`` (``create.go``,
``get.go``, ``update.go``, ``patch.go``, ``delete.go``) and the generic registry store
(``staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go``): decode (strict field
validation when asked), admission (``NamespaceLifecycle``; RBAC's escalation check in the RBAC
storage), defaulting, validation (422), then storage with ``uid``, ``resourceVersion``,
``creationTimestamp`` and ``managedFields`` (manager: the ``fieldManager`` parameter, else the
User-Agent's program name, ``prefixFromUserAgent`` in ``handlers/rest.go``).

Not served here, with kube-apiserver's status code and the lab's reason: ``watch`` (405 would
mislead; the lab answers 405 MethodNotAllowed naming itself), server-side apply (415),
``dryRun`` (400), subresources (404).
"""

import copy
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qs

from . import escalation, protobuf
from . import patch as patching
from .apierrors import StatusError
from .kinds import NAMESPACE as NAMESPACE_KIND
from .kinds import RBAC_KINDS, by_kind, prune_unknown, type_errors, unknown_fields
from .rbac import PolicyRule
from .selectors import fields_match, labels_match, parse_field_selector, parse_label_selector
from .store import update_managed_fields
from .validation import apply_defaults, invalid_status, validate
from .wire import encode_object, json_response, list_response, rfc3339, status_object

#: Namespaces the NamespaceLifecycle admission plugin never lets go
#: (``plugin/pkg/admission/namespace/lifecycle/admission.go``, ``immortalNamespaces``).
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")

WATCH_REFUSED = (
    "the k8sauthlib lab does not serve watch requests; run the command without --watch/-w and repeat it to see changes"
)


def now():
    return datetime.now(timezone.utc)


def field_manager(req):
    """``fieldManager`` parameter, else ``prefixFromUserAgent``: the User-Agent up to its first ``/``."""
    params = parse_qs(req.query or "")
    if params.get("fieldManager"):
        return params["fieldManager"][0]
    return req.headers.get("user-agent", "").split("/", 1)[0][:128]


def _error(code, reason, message, details=None):
    return json_response(code, status_object(code, reason, message, {} if details is None else details))


def not_found(kind, name):
    return _error(
        404,
        "NotFound",
        f'{kind.qualified} "{name}" not found',
        {"name": name, "group": kind.group, "kind": kind.resource}
        if kind.group
        else {"name": name, "kind": kind.resource},
    )


def _details(kind, name, **extra):
    out = {"name": name}
    if kind.group:
        out["group"] = kind.group
    out["kind"] = kind.resource
    out.update(extra)
    return out


class RestHandler:
    """Handlers for the kinds in ``store.kinds``; ``authorizer`` is asked for escalation checks."""

    def __init__(self, store, authorizer, strategies=None):
        self.store = store
        self.authorizer = authorizer
        self.strategies = dict(strategies or {})  # Kind -> e.g. certificates.CSRStrategy

    def handle(self, req, attrs, identity, kind):
        response = self._handle(req, attrs, identity, kind)
        if kind.kind == "ClusterRole" and attrs.verb not in ("get", "list", "watch") and response.status < 300:
            self.aggregate_cluster_roles()
        return response

    def _handle(self, req, attrs, identity, kind):
        params = parse_qs(req.query or "")
        strategy = self.strategies.get(kind)
        if attrs.subresource and not (
            strategy and attrs.subresource in ("status", "approval") and attrs.verb in ("get", "update", "patch")
        ):
            return _error(404, "NotFound", "the server could not find the requested resource")
        if params.get("dryRun"):
            return _error(
                400,
                "BadRequest",
                "the k8sauthlib lab does not support dryRun; run the command without --dry-run=server",
            )
        verb = attrs.verb
        if verb == "watch" or params.get("watch", [""])[0] in ("true", "1"):
            return _error(405, "MethodNotAllowed", WATCH_REFUSED)
        if verb == "get":
            obj = self.store.get(kind, attrs.namespace, attrs.name)
            return encode_object(req, 200, obj) if obj else not_found(kind, attrs.name)
        if verb == "list":
            return self.list(req, attrs, kind)
        if verb == "create" and not attrs.name:
            if kind.namespaced and not attrs.namespace:
                return _error(
                    405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
                )
            return self.create(req, attrs, identity, kind)
        if verb == "update":
            return self.update(req, attrs, identity, kind)
        if verb == "patch":
            return self.patch(req, attrs, identity, kind)
        if verb == "delete":
            return self.delete(req, attrs, identity, kind)
        if verb == "deletecollection" and "deletecollection" in kind.verbs:
            return self.delete_collection(req, attrs, identity, kind)
        return _error(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    # ------------------------------------------------------------------- reads
    def select(self, req, attrs, kind, items):
        """Items that pass the label and field selectors (``SelectorError`` for bad fields)."""
        labels = parse_label_selector(req.query)
        field_terms = parse_field_selector(req.query, kind.kind)
        out = []
        for obj in items:
            meta = obj["metadata"]
            fields = {"metadata.name": meta["name"], "metadata.namespace": meta.get("namespace", "")}
            fields.update({label: fn(obj) for label, fn in kind.field_labels.items()})
            if labels_match(meta.get("labels") or {}, labels) and fields_match(fields, field_terms):
                out.append(obj)
        return out

    def list(self, req, attrs, kind):
        items = self.select(req, attrs, kind, self.store.list(kind, attrs.namespace))
        return list_response(req, kind, items, self.store.resource_version)

    # ------------------------------------------------------------------ writes
    def _decode(self, req, kind, attrs):
        """The request body as an object of ``kind``, or an error Response."""
        try:
            obj = protobuf.decode_object(req.body, req.headers.get("content-type", ""))
        except protobuf.InputError as exc:
            return None, _error(400, "BadRequest", str(exc))
        # Like the REST decoder's default GVK (the endpoint's): a body may leave both out.
        if not obj.get("kind") and not obj.get("apiVersion"):
            obj = {"kind": kind.kind, "apiVersion": kind.group_version, **obj}
        if by_kind(obj.get("apiVersion", ""), obj.get("kind", "")) is not kind:
            return None, _error(
                400,
                "BadRequest",
                f"the API version in the data ({obj.get('apiVersion', '')}) does not match the "
                f"expected API version ({kind.group_version})"
                if obj.get("kind") == kind.kind
                else f"the body of the request was in an unknown format or is not a {kind.kind} "
                f"(got kind {obj.get('kind')!r})",
            )
        return obj, self._check_fields(req, kind, obj)

    @staticmethod
    def _check_fields(req, kind, obj):
        wrong = type_errors(kind.full_schema(), obj)
        if wrong:
            path, expected = wrong[0]
            return _error(
                400,
                "BadRequest",
                f'{kind.kind} in version "{kind.version}" cannot be handled as a '
                f"{kind.kind}: json: cannot unmarshal into Go struct field {path} "
                f"of type {expected}",
            )
        # fieldValidation (handlers/rest.go): Strict refuses unknown fields, Warn and Ignore drop them
        # (Warn with a Warning header per field); a request without the parameter is Warn since 1.27.
        directive = parse_qs(req.query or "").get("fieldValidation", ["Warn"])[0]
        unknown = unknown_fields(kind.full_schema(), obj)
        if unknown and directive == "Strict":
            text = ", ".join(f'unknown field "{u}"' for u in unknown)
            return _error(400, "BadRequest", f"strict decoding error: {text}")
        if unknown:
            pruned = prune_unknown(kind.full_schema(), obj)
            obj.clear()
            obj.update(pruned)
            if directive == "Warn":
                req.warnings += [f'unknown field "{u}"' for u in unknown]
        return None

    def _admit(self, attrs, identity, kind, obj, old=None):
        """Admission and the RBAC storage's escalation check; an error Response or None."""
        meta = obj["metadata"]
        if kind.namespaced and not self.store.get(NAMESPACE_KIND, "", meta["namespace"]):
            return _error(
                404,
                "NotFound",
                f'namespaces "{meta["namespace"]}" not found',
                {"name": meta["namespace"], "kind": "namespaces"},
            )
        if kind not in RBAC_KINDS:
            return None
        namespace = meta.get("namespace", "")
        if old is not None and escalation.only_gc_fields(old, obj):
            return None  # rbacregistry.IsOnlyMutatingGCFields: finalizers/ownerReferences only
        if kind.kind in ("Role", "ClusterRole"):
            if escalation.may_escalate(self.authorizer, identity, kind.resource, attrs.namespace, meta["name"]):
                return None
            rules = [PolicyRule.from_dict(r) for r in obj.get("rules") or []]
        else:
            ref = obj.get("roleRef") or {}
            if escalation.may_bind(self.authorizer, identity, ref, namespace):
                return None
            policy = self.authorizer.policy
            rules, missing = policy.role_rules(ref.get("kind", ""), ref.get("name", ""), namespace)
            if missing:
                return _error(
                    404,
                    "NotFound",
                    missing,
                    {"name": ref.get("name", ""), "group": kind.group, "kind": ref.get("kind", "").lower()},
                )
        text = escalation.escalation_error(self.authorizer, identity, namespace, rules)
        if text:
            return _error(
                403,
                "Forbidden",
                f'{kind.qualified} "{meta["name"]}" is forbidden: {text}',
                _details(kind, meta["name"]),
            )
        return None

    def _prepare(self, attrs, kind, obj):
        meta = obj.setdefault("metadata", {}) if isinstance(obj.get("metadata"), (dict, type(None))) else None
        if meta is None:
            return _error(400, "BadRequest", "metadata must be an object")
        if obj["metadata"] is None:
            obj["metadata"] = meta = {}
        if kind.namespaced:
            if meta.get("namespace") and meta["namespace"] != attrs.namespace:
                return _error(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            meta["namespace"] = attrs.namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        apply_defaults(kind, obj)
        return None

    def create(self, req, attrs, identity, kind):
        obj, error = self._decode(req, kind, attrs)
        if error:
            return error
        error = self._prepare(attrs, kind, obj)
        if error:
            return error
        errors = validate(kind, obj)
        strategy = self.strategies.get(kind)
        if strategy is not None:
            try:
                obj = strategy.create(obj, identity, errors)
            except StatusError as exc:
                return json_response(exc.code, exc.status)
        elif errors:
            return json_response(422, invalid_status(kind, obj["metadata"].get("name", ""), errors))
        with self.store.lock:
            meta = obj["metadata"]
            error = self._admit(attrs, identity, kind, obj)
            if error:
                return error
            if self.store.get(kind, meta.get("namespace", ""), meta["name"]):
                return _error(
                    409,
                    "AlreadyExists",
                    f'{kind.qualified} "{meta["name"]}" already exists',
                    _details(kind, meta["name"]),
                )
            created = now()
            for key in (
                "uid",
                "resourceVersion",
                "generation",
                "creationTimestamp",
                "deletionTimestamp",
                "managedFields",
                "selfLink",
            ):
                meta.pop(key, None)
            meta["uid"] = str(uuid.uuid4())
            meta["resourceVersion"] = self.store.next_resource_version()
            meta["creationTimestamp"] = rfc3339(created)
            update_managed_fields(
                kind, None, obj, field_manager(req), "Update", rfc3339(created), skip=self._reset_fields(kind)
            )
            stored = self.store.put(kind, obj)
        return encode_object(req, 201, stored)

    def aggregate_cluster_roles(self):
        """kube-controller-manager's ClusterRole aggregation controller, run after each ClusterRole write."""
        from .bootstrap import aggregate
        from .kinds import CLUSTER_ROLE

        with self.store.lock:
            for name, rules in aggregate(self.store.list(CLUSTER_ROLE)).items():
                old = self.store.get(CLUSTER_ROLE, "", name)
                new = copy.deepcopy(old)
                new["rules"] = rules
                update_managed_fields(
                    CLUSTER_ROLE, old, new, "clusterrole-aggregation-controller", "Apply", rfc3339(now())
                )
                new["metadata"]["resourceVersion"] = self.store.next_resource_version()
                self.store.put(CLUSTER_ROLE, new)

    def _controllers(self, kind, stored):
        """What a controller does at once after a write (the CSR signer); returns the object to show."""
        strategy = self.strategies.get(kind)
        signed = strategy.sign(stored) if strategy is not None else None
        if signed is None:
            return stored
        update_managed_fields(kind, stored, signed, "kube-controller-manager", "Update", rfc3339(now()))
        signed["metadata"]["resourceVersion"] = self.store.next_resource_version()
        return self.store.put(kind, signed)

    @staticmethod
    def _reset_fields(kind):
        return ("status", "spec") if kind.kind == "Namespace" else ()

    def _replace(self, req, attrs, identity, kind, old, new):
        """The common tail of update and patch: system fields kept, validation, conflict, store."""
        meta, old_meta = new.setdefault("metadata", {}), old["metadata"]
        rv = meta.get("resourceVersion")
        if rv and rv != old_meta["resourceVersion"]:
            return _error(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {kind.qualified} "{old_meta["name"]}": '
                "the object has been modified; please apply your changes to the latest "
                "version and try again",
                _details(kind, old_meta["name"]),
            )
        if meta.get("name") != old_meta["name"]:
            return _error(
                400,
                "BadRequest",
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({old_meta['name']})",
            )
        error = self._prepare(attrs, kind, new)
        if error:
            return error
        for key in ("uid", "creationTimestamp"):
            meta[key] = old_meta[key]
        if kind.kind == "Namespace":
            new["status"] = copy.deepcopy(old.get("status"))
            new["spec"] = copy.deepcopy(old.get("spec"))
        errors = validate(kind, new, old)
        strategy = self.strategies.get(kind)
        if strategy is not None:
            try:
                new = strategy.update(new, old, attrs.subresource, identity, errors)
            except StatusError as exc:
                return json_response(exc.code, exc.status)
            meta = new["metadata"]
        elif errors:
            return json_response(422, invalid_status(kind, old_meta["name"], errors))
        error = self._admit(attrs, identity, kind, new, old)
        if error:
            return error

        def comparable(o):
            return {k: v for k, v in o.items() if k != "metadata"} | {
                "metadata": {k: v for k, v in o["metadata"].items() if k not in ("resourceVersion", "managedFields")}
            }

        meta["managedFields"] = copy.deepcopy(old_meta.get("managedFields"))
        if comparable(new) == comparable(old):
            return encode_object(req, 200, old)  # a no-op write keeps the resourceVersion
        update_managed_fields(
            kind, old, new, field_manager(req), "Update", rfc3339(now()), skip=self._reset_fields(kind)
        )
        meta["resourceVersion"] = self.store.next_resource_version()
        stored = self.store.put(kind, new)
        return encode_object(req, 200, self._controllers(kind, stored) if attrs.subresource else stored)

    def update(self, req, attrs, identity, kind):
        obj, error = self._decode(req, kind, attrs)
        if error:
            return error
        with self.store.lock:
            old = self.store.get(kind, attrs.namespace, attrs.name)
            if old is None:
                return not_found(kind, attrs.name)
            return self._replace(req, attrs, identity, kind, old, obj)

    def patch(self, req, attrs, identity, kind):
        media = req.headers.get("content-type", "").split(";")[0].strip().lower()
        if media == patching.APPLY:
            return _error(
                415,
                "UnsupportedMediaType",
                "the k8sauthlib lab does not implement server-side apply; use kubectl apply without --server-side",
            )
        if media not in (patching.MERGE, patching.JSON_PATCH, patching.STRATEGIC):
            return _error(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted "
                f"media types include: {patching.JSON_PATCH}, {patching.MERGE}, "
                f"{patching.APPLY}, {patching.STRATEGIC}",
            )
        with self.store.lock:
            old = self.store.get(kind, attrs.namespace, attrs.name)
            if old is None:
                return not_found(kind, attrs.name)
            try:
                new = patching.apply_patch(media, copy.deepcopy(old), req.body)
            except patching.PatchError as exc:
                reason = "Invalid" if exc.status == 422 else "BadRequest"
                return _error(exc.status, reason, str(exc))
            if not isinstance(new, dict) or not isinstance(new.get("metadata"), dict):
                return _error(422, "Invalid", "the patch removes the object's metadata")
            error = self._check_fields(req, kind, new)
            if error:
                return error
            return self._replace(req, attrs, identity, kind, old, new)

    def delete(self, req, attrs, identity, kind):
        with self.store.lock:
            old = self.store.get(kind, attrs.namespace, attrs.name)
            if old is None:
                return not_found(kind, attrs.name)
            if kind.kind == "Namespace":
                return self._delete_namespace(req, old)
            self.store.delete(kind, attrs.namespace, attrs.name)
        return encode_object(
            req,
            200,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": _details(kind, attrs.name, uid=old["metadata"]["uid"]),
            },
        )

    def delete_collection(self, req, attrs, identity, kind):
        with self.store.lock:
            items = self.select(req, attrs, kind, self.store.list(kind, attrs.namespace))
            for obj in items:
                self.store.delete(kind, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        return list_response(req, kind, items, self.store.resource_version)

    def _delete_namespace(self, req, old):
        """Namespace deletion: the namespace controller's work done at once.

        kube-apiserver marks the namespace ``Terminating`` and answers with it; kube-controller-manager
        then deletes everything in it and the namespace itself. The lab answers the same object
        and has finished both steps before the answer leaves.
        """
        name = old["metadata"]["name"]
        if name in IMMORTAL_NAMESPACES:
            return _error(
                403,
                "Forbidden",
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                {"name": name, "kind": "namespaces"},
            )
        for kind in self.store.kinds:
            if kind.namespaced:
                for obj in self.store.list(kind, name):
                    self.store.delete(kind, name, obj["metadata"]["name"])
        self.store.delete(NAMESPACE_KIND, "", name)
        answer = copy.deepcopy(old)
        answer["metadata"]["deletionTimestamp"] = rfc3339(now())
        answer["metadata"]["resourceVersion"] = self.store.resource_version
        answer["status"] = {"phase": "Terminating"}
        return encode_object(req, 200, answer)
