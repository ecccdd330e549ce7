"""The OpenAPI v3 documents kubectl reads before it writes, for the types the lab stores.

``kubectl apply``/``create``/``edit`` validate with ``--validate=strict`` by default. kubectl
then asks the server whether it validates fields itself: it reads ``/openapi/v3`` (the index of
group versions) and ``/openapi/v3/<api|apis/group>/<version>``, and looks for a PATCH operation
carrying ``x-kubernetes-group-version-kind`` of the object's kind with a ``fieldValidation``
parameter (``staging/src/k8s.io/cli-runtime/pkg/resource/query_param_verifier_v3.go``,
``supportsQueryParamV3``). When it is there, kubectl sends ``fieldValidation=Strict`` and leaves
validation to the server (``kubectl/pkg/validation/schema.go``, ``paramVerifyingSchema``), which
the lab does (:mod:`.rest`). So these documents describe exactly the served paths and types,
generated from :mod:`.kinds`, and nothing else.

The PATCH operations list no request media types, so kubectl computes its apply patches from
its compiled-in types (``buildStrategicMergeFromBuiltins`` in ``kubectl/pkg/cmd/apply/patcher.go``)
instead of from the document.

kubectl 1.27 to 1.31 (which the dispatcher runs for a lab presenting those versions) ask the
same question of ``/openapi/v2`` instead, in protobuf (``discovery.OpenAPISchema``, gnostic's
``openapi_v2.Document``; ``QueryParamVerifier.supportsQueryParam`` in ``query_param_verifier.go``
reads ``paths[].patch``'s ``x-kubernetes-group-version-kind`` extension and its query
parameters). :func:`v2_document` answers that with the same paths, and no definitions, so
``kubectl explain`` finds no schema.
"""

import hashlib

from .kinds import STORED_KINDS
from .protobuf import length_delimited as _field
from .wire import go_json

_PRIMITIVE = {
    "string": {"type": "string"},
    "integer": {"type": "integer", "format": "int64"},
    "boolean": {"type": "boolean"},
    "object": {"type": "object"},
}


def _schema(shape):
    if isinstance(shape, str):
        return dict(_PRIMITIVE[shape])
    if shape[0] == "list":
        return {"type": "array", "items": _schema(shape[1]), "x-kubernetes-list-type": "atomic"}
    if shape[0] == "map":
        return {"type": "object", "additionalProperties": _schema(shape[1])}
    return {"type": "object", "properties": {name: _schema(sub) for name, sub in shape[1]}}


def _path_prefix(kind):
    return f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"


def _doc_key(kind):
    return _path_prefix(kind).lstrip("/")


def _operation(kind, action, op_id, params=()):
    gvk = {"group": kind.group, "version": kind.version, "kind": kind.kind}
    op = {
        "tags": [kind.group_version],
        "operationId": op_id,
        "parameters": [{"name": p, "in": "query", "schema": {"type": "string", "uniqueItems": True}} for p in params],
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    }
    return op


def group_version_document(key):
    """The ``/openapi/v3/<key>`` document, or ``None`` for a group version the lab does not store."""
    kinds = [k for k in STORED_KINDS if _doc_key(k) == key]
    if not kinds:
        return None
    paths, schemas = {}, {}
    write = ("dryRun", "fieldManager", "fieldValidation")
    for kind in kinds:
        base = _path_prefix(kind) + ("/namespaces/{namespace}" if kind.namespaced else "") + "/" + kind.resource
        name = f"{kind.kind}"
        paths[base] = {
            "get": _operation(kind, "list", f"list{name}", ("labelSelector", "fieldSelector")),
            "post": _operation(kind, "post", f"create{name}", write),
        }
        paths[base + "/{name}"] = {
            "get": _operation(kind, "get", f"read{name}"),
            "put": _operation(kind, "put", f"replace{name}", write),
            "patch": _operation(kind, "patch", f"patch{name}", write + ("force",)),
            "delete": _operation(kind, "delete", f"delete{name}"),
        }
        schema = _schema(kind.full_schema())
        schema["x-kubernetes-group-version-kind"] = [{"group": kind.group, "version": kind.version, "kind": kind.kind}]
        schemas[f"io.k8s.lab.{kind.group_version.replace('/', '.')}.{kind.kind}"] = schema
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (k8sauthlib lab)", "version": "unversioned"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def index_document():
    """``/openapi/v3``: each stored group version with its ``serverRelativeURL`` (``?hash=`` of its document)."""
    paths = {}
    for key in sorted({_doc_key(k) for k in STORED_KINDS}):
        digest = hashlib.sha512(go_json(group_version_document(key))).hexdigest().upper()
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def v2_document():
    """``/openapi/v2`` as protobuf: a gnostic ``openapi_v2.Document`` (field numbers of
    ``github.com/google/gnostic-models/openapiv2/OpenAPIv2.proto``) with one PATCH operation per
    stored kind, carrying the GVK extension and the ``fieldValidation`` query parameter."""

    def query_parameter(name):
        sub = _field(2, "query") + _field(4, name) + _field(6, "string")  # in, name, type
        return _field(8, _field(1, _field(2, _field(3, sub))))  # Operation.parameters: ParametersItem.parameter

    paths = b""
    for kind in STORED_KINDS:
        base = _path_prefix(kind) + ("/namespaces/{namespace}" if kind.namespaced else "") + "/" + kind.resource
        gvk = f"group: {kind.group!r}\nkind: {kind.kind}\nversion: {kind.version}\n"
        extension = _field(13, _field(1, "x-kubernetes-group-version-kind") + _field(2, _field(2, gvk)))
        responses = _field(9, _field(1, _field(1, "200") + _field(2, _field(1, _field(1, "OK")))))
        operation = (
            _field(5, f"patch{kind.kind}")
            + b"".join(query_parameter(p) for p in ("dryRun", "fieldManager", "fieldValidation", "force"))
            + responses
            + extension
        )
        paths += _field(2, _field(1, base + "/{name}") + _field(2, _field(8, operation)))
    info = _field(1, "Kubernetes (k8sauthlib lab)") + _field(2, "unversioned")
    return _field(1, "2.0") + _field(2, info) + _field(8, paths)
