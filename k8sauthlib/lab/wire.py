"""Wire encoding of the lab: Status objects, JSON as Go writes it, requests and responses.

Everything here is about bytes on the wire, nothing about what a request means, so every other
lab module may import it and it imports none of them.
"""

import json
from dataclasses import dataclass, field
from datetime import timezone

from ..go.text import go_json_marshal

JSON = "application/json"

#: User-Agent prefixes for which kube-apiserver indents JSON (``isPrettyPrint`` in
#: ``staging/src/k8s.io/apiserver/pkg/endpoints/handlers/negotiation/negotiate.go``).
PRETTY_AGENTS = ("curl", "Wget", "Mozilla/5.0")


def go_json(obj, *, indent=None):
    """The bytes apimachinery's JSON serializer writes for ``obj`` (a dict in Go's field order).

    Compact with a trailing newline for API objects (``json.NewEncoder(w).Encode`` in
    ``staging/src/k8s.io/apimachinery/pkg/runtime/serializer/json/json.go``); ``indent`` gives
    ``json.MarshalIndent`` without a newline, which ``responsewriters.WriteRawJSON`` uses for
    ``/version`` and ``/``. The encoding rule itself is :func:`k8sauthlib.go.text.go_json_marshal`
    (HTML-escaped, ``\\b``/``\\f`` by name as Go 1.22+ writes them).
    """
    return go_json_marshal(obj, sort_keys=False, indent=indent, newline=not indent, named_bf=True).encode("utf-8")


def status_object(code, reason, message, details=None):
    """A ``metav1.Status`` failure, fields in Go's struct order."""
    obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
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
    headers: dict  # transport's HeaderDict: lower-case name -> first value, get_all() for every value
    body: bytes = b""
    peer_chain: list = field(default_factory=list)  # cryptography certificates, leaf first
    client: str = ""
    warnings: list = field(default_factory=list)  # texts for Warning headers, added by handlers

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


def wants_pretty(req):
    """``isPrettyPrint`` (``staging/src/k8s.io/apiserver/pkg/endpoints/handlers/negotiation/negotiate.go``).

    A non-empty ``pretty`` query parameter decides alone (Go's ``strconv.ParseBool``: anything
    but 1/t/T/TRUE/true/True is false); otherwise a User-Agent starting with ``curl``, ``Wget``
    or ``Mozilla/5.0`` gets indented JSON.
    """
    from urllib.parse import parse_qs

    if "pretty" in (req.query or ""):
        values = parse_qs(req.query, keep_blank_values=True).get("pretty")
        if values and values[0]:
            return values[0] in ("1", "t", "T", "TRUE", "true", "True")
    return req.headers.get("user-agent", "").startswith(PRETTY_AGENTS)


def prettify(req, response):
    """The response as the negotiated *pretty* serializer writes it, when the request asks for that.

    kube-apiserver's JSON serializer with ``Pretty`` writes ``json.MarshalIndent(obj, "", "  ")``
    and no trailing newline (``staging/src/k8s.io/apimachinery/pkg/runtime/serializer/json/json.go``,
    ``Serializer.doEncode``); every object answer and every Status error goes through it
    (``responsewriters.WriteObjectNegotiated``), so ``curl`` sees indented 401s and 403s too.
    """
    if not wants_pretty(req) or not response.content_type.startswith(JSON) or not response.body.startswith(b"{"):
        return response
    try:
        obj = json.loads(response.body)
    except ValueError:
        return response
    response.body = go_json(obj, indent=2)
    return response


def encode_object(req, status, obj, *, content_type=JSON):
    """An API object answer, compact (:func:`prettify` indents it for people at the end)."""
    return Response(status, go_json(obj), content_type)


def warning_header(text):
    """A ``Warning`` header value as kube-apiserver writes it: ``299 - "<text>"``, quotes escaped
    (``staging/src/k8s.io/apiserver/pkg/warning``, RFC 7234 section 5.5)."""
    return '299 - "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def list_response(req, kind, items, resource_version):
    """A ``<Kind>List``; its items carry no ``apiVersion``/``kind``, as kube-apiserver's typed lists."""
    bare = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in items]
    return encode_object(
        req,
        200,
        {
            "kind": kind.kind + "List",
            "apiVersion": kind.group_version,
            "metadata": {"resourceVersion": resource_version},
            "items": bare,
        },
    )
