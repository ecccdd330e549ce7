"""Just enough of the Kubernetes protobuf wire format to read kubectl's review requests.

``kubectl auth whoami``, ``kubectl auth can-i`` and ``kubectl auth can-i --list`` POST their
request bodies as ``application/vnd.kubernetes.protobuf`` and never retry in JSON (a 415 is
fatal for them; observed with kubectl v1.32.4, and checked by ``tests/test_lab_server.py``).
The body is the 4-byte magic ``k8s\\x00`` (``protoEncodingPrefix``) followed by a
``runtime.Unknown`` message, as ``Serializer.Decode`` in
``staging/src/k8s.io/apimachinery/pkg/runtime/serializer/protobuf/protobuf.go`` (v1.32) reads it:

* field 1: ``TypeMeta`` ``{1: apiVersion, 2: kind}``
* field 2: the raw object (``{1: metadata, 2: spec, 3: status}``)
* field 3: contentEncoding, field 4: contentType

The field numbers below come from ``k8s.io/api/authorization/v1/generated.proto`` and
``k8s.io/apimachinery/pkg/runtime/generated.proto`` and were checked against what kubectl
v1.32.4 actually sends.

Only decoding is implemented: the lab always answers in JSON, which kubectl accepts.
"""

import json

from ..errors import InputError

MAGIC = b"k8s\x00"

# SubjectAccessReviewSpec field numbers (authorization/v1 generated.proto)
_RESOURCE_ATTRIBUTES = {
    1: "namespace",
    2: "verb",
    3: "group",
    4: "version",
    5: "resource",
    6: "subresource",
    7: "name",
}
_NON_RESOURCE_ATTRIBUTES = {1: "path", 2: "verb"}


def _varint(buf, i):
    value = shift = 0
    while True:
        if i >= len(buf):
            raise InputError("truncated protobuf varint")
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        shift += 7
        i += 1
        if byte < 0x80:
            return value, i
        if shift > 63:
            raise InputError("protobuf varint longer than 64 bits")


def fields(buf):
    """Split one protobuf message into ``{field number: [values]}``.

    Length-delimited values stay ``bytes`` (the caller knows whether they are strings or
    nested messages); varints are ints; fixed 32/64-bit values are raw ``bytes``.

    Raises:
        InputError: the bytes are not a well-formed protobuf message.
    """
    out = {}
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, i = _varint(buf, i)
        elif wire_type == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire_type == 2:
            length, i = _varint(buf, i)
            if i + length > len(buf):
                raise InputError("truncated protobuf length-delimited field")
            value, i = buf[i : i + length], i + length
        elif wire_type == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise InputError(f"unsupported protobuf wire type {wire_type}")
        out.setdefault(number, []).append(value)
    return out


def _last(message, number, default=b""):
    values = message.get(number)
    return values[-1] if values else default


def _strings(message, names):
    """Decode the string fields ``names`` (number -> JSON key); omit empty ones like Go's omitempty."""
    out = {}
    for number, key in names.items():
        value = _last(message, number).decode("utf-8")
        if value:
            out[key] = value
    return out


def unwrap(body):
    """Return ``(apiVersion, kind, raw object bytes)`` of a ``k8s\\x00`` protobuf envelope."""
    if not body.startswith(MAGIC):
        raise InputError("protobuf body does not start with the Kubernetes magic k8s\\x00")
    unknown = fields(body[len(MAGIC) :])
    type_meta = fields(_last(unknown, 1))
    api_version = _last(type_meta, 1).decode("utf-8")
    kind = _last(type_meta, 2).decode("utf-8")
    return api_version, kind, _last(unknown, 2)


def decode_review(body, content_type=""):
    """Decode a review request (JSON or protobuf) into the JSON-shaped dict the API uses.

    Handles ``SelfSubjectReview`` (no spec), ``SelfSubjectAccessReview``
    (``spec.resourceAttributes`` / ``spec.nonResourceAttributes``) and
    ``SelfSubjectRulesReview`` (``spec.namespace``).

    Args:
        body: the request body.
        content_type: the request's Content-Type header; protobuf is also recognised by its
            magic prefix.

    Returns:
        ``{"apiVersion": ..., "kind": ..., "spec": {...}}``; empty fields are omitted.

    Raises:
        InputError: the body is neither valid JSON nor a protobuf object this module knows.
    """
    if body.startswith(MAGIC) or "protobuf" in (content_type or ""):
        api_version, kind, raw = unwrap(body)
        obj = fields(raw)
        spec_msg = fields(_last(obj, 2))
        spec = {}
        if kind == "SelfSubjectAccessReview":
            if 1 in spec_msg:
                spec["resourceAttributes"] = _strings(fields(_last(spec_msg, 1)), _RESOURCE_ATTRIBUTES)
            if 2 in spec_msg:
                spec["nonResourceAttributes"] = _strings(fields(_last(spec_msg, 2)), _NON_RESOURCE_ATTRIBUTES)
        elif kind == "SelfSubjectRulesReview":
            spec = _strings(spec_msg, {1: "namespace"})
        return {"apiVersion": api_version, "kind": kind, "spec": spec}
    if not body.strip():
        return {"spec": {}}
    try:
        obj = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"request body is neither protobuf nor JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise InputError("request body must be a JSON object")
    obj.setdefault("spec", {})
    if not isinstance(obj["spec"], dict):
        raise InputError("spec must be a JSON object")
    return obj


def encode_review(api_version, kind, spec):
    """Encode a review the way kubectl does (used by tests and for teaching; inverse of decode_review)."""

    def field(number, payload):
        return _key(number, 2) + _len(payload) + payload

    def strings(values, names):
        return b"".join(field(n, values.get(k, "").encode()) for n, k in names.items())

    if kind == "SelfSubjectAccessReview":
        spec_bytes = b""
        if "resourceAttributes" in spec:
            spec_bytes += field(1, strings(spec["resourceAttributes"], _RESOURCE_ATTRIBUTES))
        if "nonResourceAttributes" in spec:
            spec_bytes += field(2, strings(spec["nonResourceAttributes"], _NON_RESOURCE_ATTRIBUTES))
    elif kind == "SelfSubjectRulesReview":
        spec_bytes = strings(spec, {1: "namespace"})
    else:
        spec_bytes = b""
    obj = field(1, b"") + field(2, spec_bytes) + field(3, b"")
    type_meta = field(1, api_version.encode()) + field(2, kind.encode())
    return MAGIC + field(1, type_meta) + field(2, obj) + field(3, b"") + field(4, b"")


def length_delimited(number, payload):
    """One length-delimited field (a string, bytes or a nested message) of ``number``."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return _key(number, 2) + _len(payload) + payload


def _key(number, wire_type):
    return _uvarint(number << 3 | wire_type)


def _len(payload):
    return _uvarint(len(payload))


def _uvarint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


# ----------------------------------------------------------------- stored objects
# Message layouts of the objects the lab stores, from the generated.proto files of
# k8s.io/api (rbac/v1, core/v1, certificates/v1) and k8s.io/apimachinery (meta/v1):
# {field number: (JSON name, type)}; a type is "s" (string), "b" (bytes, base64 in JSON),
# "i" (varint), "?" (bool), "t" (metav1.Time), "x" (ExtraValue: a string array), a nested layout dict, ("r", type) for
# repeated, ("m", type) for map<string, type>.
_TIME = "t"
_LABEL_SELECTOR = {
    1: ("matchLabels", ("m", "s")),
    2: ("matchExpressions", ("r", {1: ("key", "s"), 2: ("operator", "s"), 3: ("values", ("r", "s"))})),
}
_OBJECT_META = {
    1: ("name", "s"),
    2: ("generateName", "s"),
    3: ("namespace", "s"),
    4: ("selfLink", "s"),
    5: ("uid", "s"),
    6: ("resourceVersion", "s"),
    7: ("generation", "i"),
    8: ("creationTimestamp", _TIME),
    11: ("labels", ("m", "s")),
    12: ("annotations", ("m", "s")),
    13: (
        "ownerReferences",
        (
            "r",
            {
                5: ("apiVersion", "s"),
                1: ("kind", "s"),
                3: ("name", "s"),
                4: ("uid", "s"),
                6: ("controller", "?"),
                7: ("blockOwnerDeletion", "?"),
            },
        ),
    ),
    14: ("finalizers", ("r", "s")),
}
_POLICY_RULE = {
    1: ("verbs", ("r", "s")),
    2: ("apiGroups", ("r", "s")),
    3: ("resources", ("r", "s")),
    4: ("resourceNames", ("r", "s")),
    5: ("nonResourceURLs", ("r", "s")),
}
_BINDING = {
    1: ("metadata", _OBJECT_META),
    2: ("subjects", ("r", {1: ("kind", "s"), 2: ("apiGroup", "s"), 3: ("name", "s"), 4: ("namespace", "s")})),
    3: ("roleRef", {1: ("apiGroup", "s"), 2: ("kind", "s"), 3: ("name", "s")}),
}
_CSR_CONDITION = {
    1: ("type", "s"),
    6: ("status", "s"),
    2: ("reason", "s"),
    3: ("message", "s"),
    4: ("lastUpdateTime", _TIME),
    5: ("lastTransitionTime", _TIME),
}
LAYOUTS = {
    "Role": {1: ("metadata", _OBJECT_META), 2: ("rules", ("r", _POLICY_RULE))},
    "ClusterRole": {
        1: ("metadata", _OBJECT_META),
        2: ("rules", ("r", _POLICY_RULE)),
        3: ("aggregationRule", {1: ("clusterRoleSelectors", ("r", _LABEL_SELECTOR))}),
    },
    "RoleBinding": _BINDING,
    "ClusterRoleBinding": _BINDING,
    "Namespace": {
        1: ("metadata", _OBJECT_META),
        2: ("spec", {1: ("finalizers", ("r", "s"))}),
        3: ("status", {1: ("phase", "s")}),
    },
    "CertificateSigningRequest": {
        1: ("metadata", _OBJECT_META),
        2: (
            "spec",
            {
                1: ("request", "b"),
                7: ("signerName", "s"),
                8: ("expirationSeconds", "i"),
                5: ("usages", ("r", "s")),
                2: ("username", "s"),
                3: ("uid", "s"),
                4: ("groups", ("r", "s")),
                6: ("extra", ("m", "x")),
            },
        ),
        3: ("status", {1: ("conditions", ("r", _CSR_CONDITION)), 2: ("certificate", "b")}),
    },
    "DeleteOptions": {
        1: ("gracePeriodSeconds", "i"),
        2: ("preconditions", {1: ("uid", "s"), 2: ("resourceVersion", "s")}),
        3: ("orphanDependents", "?"),
        4: ("propagationPolicy", "s"),
        5: ("dryRun", ("r", "s")),
    },
}
#: Fields Go writes even when empty (no ``omitempty`` in the JSON tag).
_ALWAYS = {"verbs", "roleRef", "apiGroup", "kind", "name"}


def _scalar(kind, raw):
    import base64
    from datetime import datetime, timezone

    if kind == "s":
        return raw.decode("utf-8")
    if kind == "b":
        return base64.b64encode(raw).decode("ascii")
    if kind == "i":
        return raw - (1 << 64) if raw >= 1 << 63 else raw
    if kind == "?":
        return bool(raw)
    if kind == "x":  # ExtraValue {repeated string items = 1}, a plain array in JSON
        return [v.decode("utf-8") for v in fields(raw).get(1, [])]
    if kind == _TIME:
        if not raw:
            return ""  # an empty metav1.Time is Go's zero time, written as null: omitted
        seconds = _last(fields(raw), 1, 0)
        return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _message(kind, raw)


def _message(layout, buf):
    msg = fields(buf)
    out = {}
    for number, (name, kind) in layout.items():
        values = msg.get(number)
        if not values:
            continue
        if isinstance(kind, tuple) and kind[0] == "r":
            value = [_scalar(kind[1], v) for v in values]
        elif isinstance(kind, tuple) and kind[0] == "m":
            value = {}
            for entry in values:
                pair = fields(entry)
                value[_last(pair, 1).decode("utf-8")] = _scalar(kind[1], _last(pair, 2))
        else:
            value = _scalar(kind, values[-1])
        if value in ("", [], {}) and name not in _ALWAYS:
            continue
        out[name] = value
    return out


def decode_object(body, content_type=""):
    """Decode a write's body (protobuf as kubectl's typed clients send it, or JSON) into a dict.

    Raises:
        InputError: neither JSON nor a protobuf object of a kind in :data:`LAYOUTS`.
    """
    if body.startswith(MAGIC) or "protobuf" in (content_type or ""):
        api_version, kind, raw = unwrap(body)
        layout = LAYOUTS.get(kind)
        if layout is None:
            raise InputError(f"the lab cannot decode protobuf objects of kind {kind!r}; send JSON instead")
        obj = {"kind": kind, "apiVersion": api_version}
        obj.update(_message(layout, raw))
        return obj
    try:
        obj = json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"couldn't get version/kind; json parse error: {exc}") from None
    if not isinstance(obj, dict):
        raise InputError("Object 'Kind' is missing in the request body: a JSON object is expected")
    return obj
