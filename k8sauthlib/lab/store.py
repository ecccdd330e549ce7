"""The lab's storage: what etcd is to kube-apiserver, kept as YAML files a person can read.

Every object written through the API lives in one file,
``<lab>/objects/<group or core>/<resource>/[<namespace>/]<name>.yaml``, written atomically (a
temporary file renamed over the old one), so a restart finds exactly what was there and a
reader can ``cat`` a RoleBinding. The files are read once at start; a file that cannot be read
as an object is skipped with one log line, the others still load. Change objects through the
API (kubectl); hand-written RBAC belongs in ``lab/rbac/`` instead, which is re-read on change.

``resourceVersion`` is one counter for the whole store, as etcd's revision is, kept in
``objects/resource-version``. ``managedFields`` follow the Update operation of
``staging/src/k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager`` (structured-merge-diff):
the fields an update adds or changes move to its manager, removed fields leave every manager,
and ``apiVersion``, ``kind`` and the system-owned metadata are never tracked (``stripmeta.go``).
"""

import hashlib
import os
import re
import tempfile
import threading
from pathlib import Path

import yaml

from .kinds import ordered

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+=-]*$")

#: metadata fields the field manager never records (fieldmanager/internal/stripmeta.go).
_UNTRACKED_META = (
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "selfLink",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generateName",
)


class ObjectStore:
    """Objects by ``(resource key, namespace, name)``; a lock for read-modify-write sequences."""

    def __init__(self, directory, kinds, on_error=None):
        self.directory = Path(directory)
        self.kinds = kinds
        self.on_error = on_error or (lambda message: None)
        self.lock = threading.RLock()
        self.generation = 0  # bumped on every change; the RBAC authorizer rebuilds on it
        self._objects = {}
        self._rv = 0
        self._load()

    # -------------------------------------------------------------- persistence
    def _path(self, kind, namespace, name):
        """``<group>/<resource>/[<ns>/]<name>.yaml``; a name that is no safe file name (Kubernetes allows
        any text without ``/`` and ``%`` for RBAC objects) is stored as ``_<sha256>.yaml``, its real name
        inside the file."""
        base = self.directory / (kind.group or "core") / kind.resource
        if not _SAFE_NAME.match(name) or len(name.encode()) > 200:
            name = "_" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        path = (base / namespace / f"{name}.yaml") if kind.namespaced else (base / f"{name}.yaml")
        if self.directory.resolve() not in path.resolve().parents:
            raise ValueError(f"object name {name!r} leaves the store")
        return path

    def _load(self):
        counter = self.directory / "resource-version"
        try:
            self._rv = int(counter.read_text().strip())
        except (OSError, ValueError):
            self._rv = 0
        for kind in self.kinds:
            base = self.directory / (kind.group or "core") / kind.resource
            if not base.is_dir():
                continue
            for path in sorted(base.rglob("*.yaml")):
                try:
                    obj = yaml.safe_load(path.read_text(encoding="utf-8"))
                    meta = obj["metadata"]
                    key = (kind.resource, meta.get("namespace", "") if kind.namespaced else "", meta["name"])
                    if obj.get("kind") != kind.kind:
                        raise ValueError(f"kind {obj.get('kind')!r} is not {kind.kind}")
                except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError, TypeError, KeyError) as exc:
                    self.on_error(f"stored object {path} skipped: {type(exc).__name__}: {exc}")
                    continue
                self._objects[key] = obj
                try:
                    self._rv = max(self._rv, int(meta.get("resourceVersion", "0")))
                except ValueError:
                    pass

    def _write(self, kind, obj):
        meta = obj["metadata"]
        path = self._path(kind, meta.get("namespace", ""), meta["name"])
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(obj, sort_keys=False, allow_unicode=True, default_flow_style=False)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        counter = self.directory / "resource-version"
        counter.write_text(f"{self._rv}\n")

    # ------------------------------------------------------------------ access
    def next_resource_version(self):
        with self.lock:
            self._rv += 1
            return str(self._rv)

    @property
    def resource_version(self):
        return str(self._rv)

    def get(self, kind, namespace, name):
        return self._objects.get((kind.resource, namespace if kind.namespaced else "", name))

    def list(self, kind, namespace=""):
        # No lock: list(dict.items()) is one step under the GIL, and the RBAC authorizer calls this
        # while a writer may hold self.lock and wait for the authorizer (a lock here could deadlock).
        items = [
            o
            for (resource, ns, _name), o in list(self._objects.items())
            if resource == kind.resource and (not namespace or ns == namespace)
        ]
        return sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def put(self, kind, obj):
        """Store ``obj`` (its resourceVersion already set by the caller) on disk and in memory."""
        with self.lock:
            obj = ordered(kind.full_schema(), obj)
            self._write(kind, obj)
            meta = obj["metadata"]
            self._objects[(kind.resource, meta.get("namespace", "") if kind.namespaced else "", meta["name"])] = obj
            self.generation += 1
            return obj

    def delete(self, kind, namespace, name):
        with self.lock:
            obj = self._objects.pop((kind.resource, namespace if kind.namespaced else "", name), None)
            if obj is not None:
                self._path(kind, namespace, name).unlink(missing_ok=True)
                self._rv += 1
                (self.directory / "resource-version").write_text(f"{self._rv}\n")
                self.generation += 1
            return obj


# ------------------------------------------------------------------ managedFields
def _leaves(schema, value, path=()):
    """``{path: value}`` of the fields set in ``value``; maps also own their ``"."`` marker."""
    out = {}
    if isinstance(schema, tuple) and schema[0] == "struct" and isinstance(value, dict):
        known = dict(schema[1])
        for name, sub in value.items():
            if not path and name in ("apiVersion", "kind"):
                continue
            if path == ("metadata",) and name in _UNTRACKED_META:
                continue
            if (
                name in known
                and isinstance(known[name], tuple)
                and known[name][0] in ("struct", "map")
                and name not in ("roleRef",)
            ):
                child = _leaves(known[name], sub, path + (name,))
                if known[name][0] == "map":
                    child[path + (name, ".")] = None
                out.update(child)
            else:
                out[path + (name,)] = sub
    elif isinstance(schema, tuple) and schema[0] == "map" and isinstance(value, dict):
        for key, sub in value.items():
            out[path + (key,)] = sub
    return out


def _to_fields_v1(paths):
    tree = {}
    for path in sorted(paths):
        node = tree
        for part in path:
            node = node.setdefault("." if part == "." else f"f:{part}", {})
    return tree


def _from_fields_v1(tree, path=()):
    out = set()
    for key, sub in (tree or {}).items():
        part = "." if key == "." else key[2:] if key.startswith("f:") else key
        if sub:
            out |= _from_fields_v1(sub, path + (part,))
        else:
            out.add(path + (part,))
    return out


def update_managed_fields(kind, old, new, manager, operation, when, skip=()):
    """``new["metadata"]["managedFields"]`` after ``manager``'s ``operation`` turned ``old`` into ``new``.

    ``skip`` lists top-level fields a strategy resets (a Namespace's ``status``).
    """
    schema = kind.full_schema()
    before = {p: v for p, v in _leaves(schema, old or {}).items() if p[0] not in skip}
    after = {p: v for p, v in _leaves(schema, new).items() if p[0] not in skip}
    changed = {p for p, v in after.items() if p not in before or before[p] != v}
    removed = set(before) - set(after)
    entries = []
    mine = None
    for entry in ((old or {}).get("metadata") or {}).get("managedFields") or []:
        owned = _from_fields_v1(entry.get("fieldsV1")) - changed - removed
        if (entry.get("manager"), entry.get("operation"), entry.get("subresource", "")) == (manager, operation, ""):
            mine = owned
            continue
        if owned:
            entries.append(dict(entry, fieldsV1=_to_fields_v1(owned)))
    owned = (mine or set()) | changed
    if owned:
        entries.append(
            {
                "manager": manager,
                "operation": operation,
                "apiVersion": kind.group_version,
                "time": when,
                "fieldsType": "FieldsV1",
                "fieldsV1": _to_fields_v1(owned),
            }
        )
    if entries:
        new["metadata"]["managedFields"] = entries
    else:
        new["metadata"].pop("managedFields", None)
    return new
