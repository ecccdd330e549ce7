"""The three patch formats kube-apiserver accepts from kubectl, applied to a stored object.

* ``application/merge-patch+json``: RFC 7386 (``kubectl patch --type=merge``).
* ``application/json-patch+json``: RFC 6902 (``kubectl patch --type=json``).
* ``application/strategic-merge-patch+json``: what ``kubectl apply``, ``edit``, ``label`` and
  ``annotate`` send for built-in types
  (``staging/src/k8s.io/apimachinery/pkg/util/strategicpatch/patch.go``). For the types the lab
  stores every list is atomic (no ``patchStrategy:"merge"`` in rbac/v1, and namespace
  ``spec.finalizers`` has none either), so a strategic merge patch is a JSON merge patch plus
  its directives: ``$patch: replace|delete`` on a map, ``$retainKeys``, and the
  ``$setElementOrder/<list>`` / ``$deleteFromPrimitiveList/<list>`` keys, which only matter for
  merging lists and are dropped here. ``metadata.finalizers`` (patchStrategy merge) is merged as
  a set, as upstream does.

``application/apply-patch+yaml`` (server-side apply) is refused by the caller with 415.
"""

import copy
import json

from ..errors import InputError

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


class PatchError(InputError):
    """A patch that cannot be applied; ``status`` is kube-apiserver's code for it (400, 422, 500)."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def merge_patch(target, patch):
    """RFC 7386 ``MergePatch``."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def strategic_merge_patch(target, patch, path=()):
    """``StrategicMergePatch`` for types whose lists are atomic (see the module docstring)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive is not None:
        raise PatchError(f"Unknown patch type: {directive} in map: {json.dumps(patch)}")
    out = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    if retain is not None:
        out = {k: v for k, v in out.items() if k in retain}
    for key, value in patch.items():
        if key in ("$retainKeys",) or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            if isinstance(out.get(name), list):
                out[name] = [v for v in out[name] if v not in value]
            continue
        if value is None:
            out.pop(key, None)
        elif path + (key,) == ("metadata", "finalizers") and isinstance(value, list):
            merged = list(out.get(key) or [])
            merged += [v for v in value if v not in merged]
            out[key] = merged
        else:
            result = strategic_merge_patch(out.get(key), value, path + (key,))
            if result is None:
                out.pop(key, None)
            else:
                out[key] = result
    return out


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f'JSON Pointer must start with "/": {path!r}')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts, path):
    node = doc
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PatchError(f"doc is missing path: {path!r}", 422)
    return node


def json_patch(doc, operations):
    """RFC 6902, with the texts of ``evanphx/json-patch`` that kube-apiserver returns."""
    if not isinstance(operations, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, dict):
            raise PatchError("json: cannot unmarshal into Go value of type jsonpatch.Operation")
        kind, path = op.get("op"), op.get("path", "")
        parts = _pointer(path)
        if kind == "test":
            if _walk(doc, parts, path) != op.get("value"):
                raise PatchError(f"testing value {path} failed: test failed", 422)
            continue
        if kind in ("move", "copy"):
            source = _pointer(op.get("from", ""))
            value = copy.deepcopy(_walk(doc, source, op.get("from", "")))
            if kind == "move":
                parent = _walk(doc, source[:-1], op.get("from", ""))
                parent.pop(int(source[-1]) if isinstance(parent, list) else source[-1])
            kind, op = "add", {"value": value}
        if not parts:
            if kind in ("add", "replace"):
                doc = copy.deepcopy(op.get("value"))
                continue
            raise PatchError(f"unable to {kind} the whole document", 422)
        parent = _walk(doc, parts[:-1], path)
        last = parts[-1]
        if kind == "add":
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last) if last.isdigit() else -1
                if not 0 <= index <= len(parent):
                    raise PatchError(f"add operation does not apply: doc is missing path: {path!r}", 422)
                parent.insert(index, copy.deepcopy(op.get("value")))
            elif isinstance(parent, dict):
                parent[last] = copy.deepcopy(op.get("value"))
            else:
                raise PatchError(f"add operation does not apply: doc is missing path: {path!r}", 422)
        elif kind in ("remove", "replace"):
            _walk(doc, parts, path)  # must exist
            if kind == "remove":
                parent.pop(int(last) if isinstance(parent, list) else last)
            elif isinstance(parent, list):
                parent[int(last)] = copy.deepcopy(op.get("value"))
            else:
                parent[last] = copy.deepcopy(op.get("value"))
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return doc


def apply_patch(content_type, current, body):
    """The patched object; ``PatchError`` (400/422) when the patch or its JSON is bad."""
    media = content_type.split(";")[0].strip().lower()
    try:
        patch = json.loads(body.decode("utf-8") or "null")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise PatchError(f"error decoding patch: {exc}") from None
    try:
        if media == JSON_PATCH:
            return json_patch(current, patch)
        if not isinstance(patch, dict):
            raise PatchError(
                "error decoding patch: json: cannot unmarshal non-object into Go value of type map[string]interface {}"
            )
        if media == MERGE:
            return merge_patch(current, patch)
        return strategic_merge_patch(current, patch)
    except (RecursionError, ValueError, TypeError, IndexError) as exc:
        raise PatchError(f"the patch cannot be applied: {exc}") from None
