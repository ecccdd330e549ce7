"""RBAC as kube-apiserver evaluates it, for the lab.

The evaluation follows ``plugin/pkg/auth/authorizer/rbac/rbac.go`` and
``pkg/registry/rbac/validation/rule.go`` (kubernetes/kubernetes):

* ``VisitRulesFor`` walks every ClusterRoleBinding, then (for a namespaced request) every
  RoleBinding of that namespace; a binding applies when one of its subjects is the user, one
  of the user's groups, or (ServiceAccount) ``system:serviceaccount:<ns>:<name>``.
* The first rule that allows the request wins, with the reason
  ``RBAC: allowed by ClusterRoleBinding "<name>" of ClusterRole "<role>" to Group "<group>"``
  (``RoleBinding "<name>/<namespace>" of Role ...`` for RoleBindings).
* No match is *no opinion* with an empty reason. RBAC never says "deny". Only errors met on
  the way, such as a binding whose role does not exist, end up in the reason:
  ``RBAC: clusterrole.rbac.authorization.k8s.io "view" not found``.

The policy is kube-apiserver's bootstrap policy (:mod:`.bootstrap`, with ``admin``, ``edit``
and ``view`` aggregated), plus the Role, ClusterRole, RoleBinding and ClusterRoleBinding
objects in the lab's YAML files (``lab/rbac/``), plus those written through the API
(:mod:`.store`). A ClusterRole's ``aggregationRule`` is not evaluated here: its ``rules`` are
what the aggregation controller wrote (:func:`.bootstrap.aggregate`). Listers in
kube-apiserver return bindings in no defined order. The lab sorts them by name so that its
answers are repeatable. A binding to a role that does not exist is reported as "not found".
"""

import os
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import yaml

from ..errors import InputError
from ..go.yaml import yaml_error_text
from .apierrors import go_aggregate
from .kinds import RBAC_GROUP, RBAC_KINDS

#: How old a directory's modification time must be for a listing of it to be kept. Times come
#: from a coarse clock (a jiffy on Linux, 1-2 s on some file systems): a file added in the same
#: tick as the last change leaves the time as it was ("racy" timestamps, in git's words).
RACY_NS = 3_000_000_000


def is_policy_file(name: str) -> bool:
    """Whether a file of ``lab/rbac/`` holds policy: the one test for loading and for watching."""
    return PurePath(name).suffix in (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class PolicyRule:
    """One ``rules[]`` entry of a Role or ClusterRole."""

    verbs: tuple = ()
    api_groups: tuple = ()
    resources: tuple = ()
    resource_names: tuple = ()
    non_resource_urls: tuple = ()

    @classmethod
    def from_dict(cls, d):
        def strings(key):
            value = d.get(key) or ()
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise InputError(f"RBAC rule field {key!r} must be a list of strings, got {value!r}")
            return tuple(value)

        return cls(
            strings("verbs"),
            strings("apiGroups"),
            strings("resources"),
            strings("resourceNames"),
            strings("nonResourceURLs"),
        )

    def to_dict(self):
        out = {"verbs": list(self.verbs)}
        if self.api_groups:
            out["apiGroups"] = list(self.api_groups)
        if self.resources:
            out["resources"] = list(self.resources)
        if self.resource_names:
            out["resourceNames"] = list(self.resource_names)
        if self.non_resource_urls:
            out["nonResourceURLs"] = list(self.non_resource_urls)
        return out

    def allows(self, attrs):
        """``RuleAllows`` from rbac.go: verb, group, resource (+subresource), name or URL."""
        if not _has(self.verbs, attrs.verb):
            return False
        if attrs.is_resource_request:
            combined = attrs.resource + ("/" + attrs.subresource if attrs.subresource else "")
            return (
                _has(self.api_groups, attrs.api_group)
                and self._resource_matches(combined, attrs.subresource)
                and (not self.resource_names or attrs.name in self.resource_names)
            )
        return any(
            url == "*" or url == attrs.path or (url.endswith("*") and attrs.path.startswith(url[:-1]))
            for url in self.non_resource_urls
        )

    def _resource_matches(self, combined, subresource):
        for resource in self.resources:
            if resource == "*" or resource == combined:
                return True
            # "*/scale" matches any resource's scale subresource
            if subresource and resource == "*/" + subresource:
                return True
        return False


def _has(values, wanted):
    return "*" in values or wanted in values


@dataclass(frozen=True)
class Subject:
    kind: str
    name: str
    namespace: str = ""

    def describe(self, binding_namespace=""):
        """``describeSubject`` from rule.go."""
        if self.kind == "ServiceAccount":
            return f'{self.kind} "{self.name}/{self.namespace or binding_namespace}"'
        return f'{self.kind} "{self.name}"'

    def applies_to(self, user, groups, binding_namespace=""):
        """``appliesToUser`` from rule.go."""
        if self.kind == "User":
            return user == self.name
        if self.kind == "Group":
            return self.name in groups
        if self.kind == "ServiceAccount":
            namespace = self.namespace or binding_namespace
            return bool(namespace) and user == f"system:serviceaccount:{namespace}:{self.name}"
        return False


@dataclass(frozen=True)
class Role:
    """A Role (namespaced) or ClusterRole (``namespace == ""``)."""

    kind: str
    name: str
    namespace: str
    rules: tuple


@dataclass(frozen=True)
class Binding:
    """A RoleBinding (namespaced) or ClusterRoleBinding (``namespace == ""``)."""

    kind: str
    name: str
    namespace: str
    role_kind: str
    role_name: str
    subjects: tuple

    def describe(self, subject):
        """The source text of an allow reason (``clusterRoleBindingDescriber``/``roleBindingDescriber``)."""
        if self.kind == "ClusterRoleBinding":
            return f'ClusterRoleBinding "{self.name}" of {self.role_kind} "{self.role_name}" to {subject.describe()}'
        return (
            f'RoleBinding "{self.name}/{self.namespace}" of {self.role_kind} "{self.role_name}" '
            f"to {subject.describe(self.namespace)}"
        )


@dataclass
class Decision:
    """What the authorizers say: ``allowed``, ``reason``, an ``evaluation_error``, and for the
    lab's log, which ``authorizer`` decided (``"privileged-groups"``, ``"RBAC"``, a mode name,
    or ``""`` when none allowed the request)."""

    allowed: bool
    reason: str = ""
    evaluation_error: str = ""
    denied: bool = False
    authorizer: str = ""


def parse_object(doc, source="<yaml>"):
    """One RBAC object (a mapping) as a :class:`Role` or :class:`Binding`; ``None`` for other kinds.

    Raises:
        InputError: a malformed Role, ClusterRole, RoleBinding or ClusterRoleBinding, naming
            the source and the object.
    """
    if not isinstance(doc, dict):
        raise InputError(f"{source}: every YAML document must be a mapping")
    kind = doc.get("kind")
    if kind not in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"):
        return None
    api_version = doc.get("apiVersion", "")
    if not str(api_version).startswith(RBAC_GROUP + "/"):
        raise InputError(f"{source}: {kind} must have apiVersion {RBAC_GROUP}/v1, got {api_version!r}")
    meta = doc.get("metadata") or {}
    if not isinstance(meta, dict):
        raise InputError(f"{source}: {kind} metadata must be a mapping")
    name = meta.get("name")
    if not name or not isinstance(name, str):
        raise InputError(f"{source}: {kind} without metadata.name")
    namespaced = kind in ("Role", "RoleBinding")
    namespace = meta.get("namespace") or ("default" if namespaced else "")
    where = f"{source}: {kind} {name!r}"
    if not isinstance(namespace, str):
        raise InputError(f"{where}: metadata.namespace must be a string")
    if kind in ("Role", "ClusterRole"):
        rules = doc.get("rules") or []
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            raise InputError(f"{where}: rules must be a list of mappings")
        try:
            parsed = tuple(PolicyRule.from_dict(r) for r in rules)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        return Role(kind, name, namespace if namespaced else "", parsed)
    ref = doc.get("roleRef") or {}
    if (
        not isinstance(ref, dict)
        or ref.get("kind") not in ("Role", "ClusterRole")
        or not ref.get("name")
        or not isinstance(ref.get("name"), str)
    ):
        raise InputError(f"{where}: roleRef needs kind Role or ClusterRole and a name")
    if kind == "ClusterRoleBinding" and ref["kind"] == "Role":
        raise InputError(f"{where}: a ClusterRoleBinding can only reference a ClusterRole")
    subjects = []
    raw_subjects = doc.get("subjects") or []
    if not isinstance(raw_subjects, list):
        raise InputError(f"{where}: subjects must be a list")
    for s in raw_subjects:
        if (
            not isinstance(s, dict)
            or s.get("kind") not in ("User", "Group", "ServiceAccount")
            or not s.get("name")
            or not isinstance(s.get("name"), str)
            or not isinstance(s.get("namespace", ""), str)
        ):
            raise InputError(f"{where}: subject {s!r} needs kind User, Group or ServiceAccount and a name")
        subjects.append(Subject(s["kind"], s["name"], s.get("namespace", "")))
    return Binding(kind, name, namespace if namespaced else "", ref["kind"], ref["name"], tuple(subjects))


def parse_objects(text, source="<yaml>", *, errors=None):
    """Parse RBAC objects from (multi-document) YAML text. Returns ``(roles, bindings)``.

    Documents of other kinds, and ``kind: List`` wrappers' non-RBAC items, are ignored, so a
    file can sit next to other manifests. A malformed RBAC object raises ``InputError`` naming
    the file and the object; with an ``errors`` list it is skipped instead and its message
    appended there, and every valid object beside it is still returned.
    """
    roles, bindings = [], []
    try:
        documents = list(yaml.safe_load_all(text))
    except (yaml.YAMLError, RecursionError) as exc:  # skipped alone, not the whole directory's reload
        raise InputError(f"{source}: not valid YAML{yaml_error_text(exc)}") from None
    queue = [d for d in documents if d]
    while queue:
        doc = queue.pop(0)
        if isinstance(doc, dict) and doc.get("kind") == "List":
            items = doc.get("items") or []
            queue.extend(items if isinstance(items, list) else [items])
            continue
        try:
            obj = parse_object(doc, source)
        except InputError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
            continue
        if isinstance(obj, Role):
            roles.append(obj)
        elif isinstance(obj, Binding):
            bindings.append(obj)
    return roles, bindings


@dataclass
class RBACPolicy:
    """The lab's RBAC objects and the RBAC authorizer that reads them.

    Build it with :meth:`load` (bootstrap policy plus ``*.yaml``/``*.yml``/``*.json`` files of a
    directory). Later objects with the same kind, namespace and name replace earlier ones, the
    way ``kubectl apply`` of a second file would.
    """

    roles: dict = field(default_factory=dict)  # (kind, namespace, name) -> Role
    bindings: dict = field(default_factory=dict)  # (kind, namespace, name) -> Binding
    sources: list = field(default_factory=list)

    @classmethod
    def load(cls, directory=None, *, base=((), ()), errors=None, extra=()):
        """``base`` roles and bindings (:func:`.bootstrap.policy_objects` for kube-apiserver's bootstrap
        policy), then the files of ``directory``, then ``extra`` objects (dicts).

        With an ``errors`` list, a file that is not YAML and each malformed object are skipped
        with a message appended there; everything valid still loads. Without it the first
        problem raises ``InputError``.
        """
        policy = cls()
        policy.add(*base)
        if directory is not None:
            directory = Path(directory)
            if directory.is_dir():
                for path in sorted(p for p in directory.iterdir() if is_policy_file(p.name)):
                    try:
                        text = path.read_text(encoding="utf-8")
                        policy.add(*parse_objects(text, source=str(path), errors=errors))
                    except (InputError, OSError, UnicodeDecodeError) as exc:
                        if errors is None:
                            raise
                        errors.append(f"{path}: skipped: {exc}" if not isinstance(exc, InputError) else str(exc))
                        continue
                    policy.sources.append(path)
        for doc in extra:
            try:
                obj = parse_object(doc, source="stored object")
            except InputError as exc:
                if errors is None:
                    raise
                errors.append(str(exc))
                continue
            policy.add(*(([obj], []) if isinstance(obj, Role) else ([], [obj])))
        return policy

    def add(self, roles=(), bindings=()):
        for role in roles:
            self.roles[(role.kind, role.namespace, role.name)] = role
        for binding in bindings:
            self.bindings[(binding.kind, binding.namespace, binding.name)] = binding

    def role_rules(self, role_kind, role_name, namespace):
        """``GetRoleReferenceRules``: the rules of a role reference, or the lister's NotFound text."""
        if role_kind == "ClusterRole":
            role = self.roles.get(("ClusterRole", "", role_name))
            missing = f'clusterrole.rbac.authorization.k8s.io "{role_name}" not found'
        else:
            role = self.roles.get(("Role", namespace, role_name))
            missing = f'role.rbac.authorization.k8s.io "{role_name}" not found'
        if role is None:
            return None, missing
        return role.rules, None

    def _role_rules(self, binding):
        return self.role_rules(binding.role_kind, binding.role_name, binding.namespace)

    def visit_rules_for(self, user, groups, namespace):
        """Yield ``(binding, subject, rule, error)`` in ``VisitRulesFor`` order."""
        ordered = sorted(self.bindings.values(), key=lambda b: (b.kind != "ClusterRoleBinding", b.namespace, b.name))
        for binding in ordered:
            if binding.kind == "RoleBinding" and (not namespace or binding.namespace != namespace):
                continue
            subject = next((s for s in binding.subjects if s.applies_to(user, groups, binding.namespace)), None)
            if subject is None:
                continue
            rules, error = self._role_rules(binding)
            if error:
                yield binding, subject, None, error
                continue
            for rule in rules:
                yield binding, subject, rule, None

    def authorize(self, user, groups, attrs):
        """``RBACAuthorizer.Authorize``: allow with the binding as reason, else no opinion."""
        errors = []
        for binding, subject, rule, error in self.visit_rules_for(user, groups, attrs.namespace):
            if rule is not None and rule.allows(attrs):
                return Decision(True, "RBAC: allowed by " + binding.describe(subject), authorizer="RBAC")
            if error:
                errors.append(error)
        return Decision(False, "RBAC: " + go_aggregate(errors) if errors else "")

    def rules_for(self, user, groups, namespace):
        """``RulesFor``: every rule that applies in ``namespace``; returns ``(rules, errors)``."""
        rules, errors = [], []
        for _binding, _subject, rule, error in self.visit_rules_for(user, groups, namespace):
            if rule is not None:
                rules.append(rule)
            if error:
                errors.append(error)
        return rules, errors


class PolicyFiles:
    """The lab's RBAC: bootstrap policy + ``lab/rbac/`` files + objects stored through the API.

    kube-apiserver applies a new RoleBinding as soon as ``kubectl apply`` stores it. The lab
    does the same for objects written through its API (``store``), and re-reads the files of
    its RBAC directory whenever one changes, so the next request sees either.

    A file that is not YAML, and each malformed object, is skipped on its own with one log line
    through ``on_error`` (repeated only when the files change again); every valid object beside
    it takes effect, so a revocation written next to a typo still revokes. Nothing here may
    leave a request unanswered: an unexpected error keeps the previous policy and is logged.
    """

    def __init__(self, directory, on_error=None, store=None, base=lambda: ((), ())):
        self.directory = Path(directory) if directory is not None else None
        self.on_error = on_error or (lambda message: None)
        self.base = base
        self._store = store
        self._stamp = None
        self._policy = None
        self._seen = (None, None)
        self._listing = None  # (the directory's (dev, inode, mtime), its policy file names)
        self.errors = []
        self._lock = threading.Lock()
        self.current()

    @property
    def store(self):
        """The API's :class:`~.store.ObjectStore` (bootstrap objects included), or ``None``: then the
        policy starts from ``base()`` (the bootstrap roles and bindings, :func:`.bootstrap.policy_objects`)."""
        return self._store

    @store.setter
    def store(self, store):
        # A new store is a new source, whatever its generation counter says: a store freshly loaded
        # from disk starts at generation 0, the value the policy built before it was attached saw.
        with self._lock:
            self._store = store
            self._stamp = None
            self._seen = (None, None)

    @property
    def error(self):
        """The skip messages of the last reload joined by newlines, or ``None``."""
        return "\n".join(self.errors) or None

    def _names(self):
        """The policy files' names in ``directory``, sorted, or ``None`` when it is not a directory.
        It is listed again only when its inode or modification time changed (a file added, removed
        or renamed), or when the last listing came within :data:`RACY_NS` of its last change."""
        now = time.time_ns()  # before the stat: a change after it must then fall in a later tick
        try:
            st = os.stat(self.directory)
        except OSError:
            return None
        if not stat.S_ISDIR(st.st_mode):
            return None
        key = (st.st_dev, st.st_ino, st.st_mtime_ns)
        listing = self._listing
        if listing is not None and listing[0] == key:
            return listing[1]
        try:
            names = tuple(sorted(n for n in os.listdir(self.directory) if is_policy_file(n)))
        except OSError:
            return None
        self._listing = (key, names) if now - st.st_mtime_ns > RACY_NS else None
        return names

    def _snapshot(self):
        stamp = [("store", self.store.generation if self.store is not None else 0)]
        for name in (self._names() if self.directory is not None else None) or ():
            try:
                st = os.stat(os.path.join(self.directory, name))
            except OSError:
                continue
            stamp.append((name, st.st_mtime_ns, st.st_size))
        return tuple(stamp)

    def current(self):
        """The policy as of now (rebuilt if the directory or the store changed since the last call).

        The directory is looked at on every call (a file written a moment ago takes effect on the
        next request), but outside the lock: requests in parallel stat the files side by side and
        take the lock only to rebuild."""
        seen_stamp, policy = self._seen  # one tuple: a stamp always with its own policy
        if policy is not None and self._snapshot() == seen_stamp:
            return policy
        with self._lock:
            stamp = self._snapshot()
            if stamp != self._stamp:
                errors = []
                extra = []
                if self.store is not None:
                    extra = [o for kind in RBAC_KINDS for o in self.store.list(kind)]
                try:
                    base = self.base() if self.store is None else ((), ())
                    policy = RBACPolicy.load(self.directory, base=base, errors=errors, extra=extra)
                except Exception as exc:  # never drop the request that triggered the reload
                    self.on_error(f"RBAC files not reloaded, previous policy still in force: {exc}")
                    if self._policy is None:
                        self._policy = RBACPolicy.load(None, base=self.base())
                    return self._policy
                file_changed = [s for s in stamp if s[0] != "store"] != [
                    s for s in (self._stamp or ()) if s[0] != "store"
                ]
                if file_changed or errors != self.errors:
                    for message in errors:
                        self.on_error(f"RBAC object skipped: {message}")
                self.errors = errors
                self._stamp = stamp
                self._policy = policy
                self._seen = (stamp, policy)
            return self._policy
