"""The object types the lab stores: their schemas, defaults, tables and field selectors.

One :class:`Kind` per served resource. A schema here is the shape of the Go type in
``staging/src/k8s.io/api`` (``rbac/v1/types.go``, ``core/v1/types.go``), field by field in Go's
declaration order, so that objects come out in the order kube-apiserver's JSON encoder writes
them, unknown fields can be refused as ``fieldValidation=Strict`` refuses them, and the OpenAPI
documents kubectl reads (:mod:`.openapi`) can be generated from the same source.

Schema notation: ``"string"``, ``"integer"``, ``"boolean"``, ``"object"`` (free-form),
``("struct", ((field, schema), ...))``, ``("list", item)``, ``("map", value)``. Lists and
``roleRef`` are atomic for server-side bookkeeping (``+listType=atomic``, ``+structType=atomic``
in rbac/v1), as in ``managedFields``.
"""

from dataclasses import dataclass, field

STR, INT, BOOL, ANY = "string", "integer", "boolean", "object"


def struct(*fields):
    return ("struct", tuple(fields))


def listof(item):
    return ("list", item)


def mapof(value):
    return ("map", value)


OWNER_REFERENCE = struct(
    ("apiVersion", STR), ("kind", STR), ("name", STR), ("uid", STR), ("controller", BOOL), ("blockOwnerDeletion", BOOL)
)
MANAGED_FIELDS_ENTRY = struct(
    ("manager", STR),
    ("operation", STR),
    ("apiVersion", STR),
    ("time", STR),
    ("fieldsType", STR),
    ("fieldsV1", ANY),
    ("subresource", STR),
)
#: ``metav1.ObjectMeta`` (``staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/types.go``).
OBJECT_META = struct(
    ("name", STR),
    ("generateName", STR),
    ("namespace", STR),
    ("selfLink", STR),
    ("uid", STR),
    ("resourceVersion", STR),
    ("generation", INT),
    ("creationTimestamp", STR),
    ("deletionTimestamp", STR),
    ("deletionGracePeriodSeconds", INT),
    ("labels", mapof(STR)),
    ("annotations", mapof(STR)),
    ("ownerReferences", listof(OWNER_REFERENCE)),
    ("finalizers", listof(STR)),
    ("managedFields", listof(MANAGED_FIELDS_ENTRY)),
)
POLICY_RULE = struct(
    ("verbs", listof(STR)),
    ("apiGroups", listof(STR)),
    ("resources", listof(STR)),
    ("resourceNames", listof(STR)),
    ("nonResourceURLs", listof(STR)),
)
SUBJECT = struct(("kind", STR), ("apiGroup", STR), ("name", STR), ("namespace", STR))
ROLE_REF = struct(("apiGroup", STR), ("kind", STR), ("name", STR))
LABEL_SELECTOR = struct(
    ("matchLabels", mapof(STR)),
    ("matchExpressions", listof(struct(("key", STR), ("operator", STR), ("values", listof(STR))))),
)

RBAC_GROUP = "rbac.authorization.k8s.io"

#: ``metav1.ObjectMeta{}.SwaggerDoc()`` texts, the descriptions of kube-apiserver's Name/Age columns.
NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although some resources "
    "may allow a client to request the generation of an appropriate name automatically. Name is primarily "
    "intended for creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
CREATED_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
    "guaranteed to be set in happens-before order across separate operations. Clients may not set this value. "
    "It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. "
    "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)

NAME_COLUMN = {"name": "Name", "type": "string", "format": "name", "description": NAME_DESCRIPTION, "priority": 0}
AGE_COLUMN = {"name": "Age", "type": "string", "format": "", "description": CREATED_DESCRIPTION, "priority": 0}
#: ``rest.NewDefaultTableConvertor`` (``staging/src/k8s.io/apiserver/pkg/registry/rest/table.go``):
#: types without a printer (Roles, ClusterRoles) get Name and "Created At".
CREATED_AT_COLUMN = {
    "name": "Created At",
    "type": "date",
    "format": "",
    "description": CREATED_DESCRIPTION,
    "priority": 0,
}


def column(name, description, priority=0):
    return {"name": name, "type": "string", "format": "", "description": description, "priority": priority}


@dataclass(frozen=True, eq=False)
class Kind:
    """One served resource type.

    ``schema`` covers the fields after ``kind``/``apiVersion``/``metadata``; ``field_labels``
    are the fields a ``fieldSelector`` may name besides ``metadata.name`` and
    ``metadata.namespace`` (namespaced types) (each registry's ``GetAttrs``/
    ``AddFieldLabelConversionFunc``); ``cells(obj, age)`` gives a Table row after ``columns``.
    """

    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    schema: tuple
    verbs: tuple = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
    short_names: tuple = ()
    columns: tuple = (NAME_COLUMN, CREATED_AT_COLUMN)
    cells: object = None
    field_labels: dict = field(default_factory=dict)  # label -> function(obj) -> str
    has_generation: bool = False

    @property
    def group_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self):
        return self.kind.lower()

    @property
    def qualified(self):
        """``roles.rbac.authorization.k8s.io``: the group resource of error messages."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @property
    def qualified_kind(self):
        """``Role.rbac.authorization.k8s.io``: the group kind of 422 messages."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def full_schema(self):
        return struct(("kind", STR), ("apiVersion", STR), ("metadata", OBJECT_META), *self.schema[1])

    def row(self, obj, age):
        if self.cells is None:
            return [obj["metadata"]["name"], obj["metadata"].get("creationTimestamp")]
        return self.cells(obj, age)


def _subjects_strings(obj):
    """``rbac.SubjectsStrings``: users, groups and ``namespace/name`` service accounts."""
    users, groups, sas = [], [], []
    for s in obj.get("subjects") or []:
        if s.get("kind") == "User":
            users.append(s.get("name", ""))
        elif s.get("kind") == "Group":
            groups.append(s.get("name", ""))
        elif s.get("kind") == "ServiceAccount":
            sas.append(f"{s.get('namespace', '')}/{s.get('name', '')}")
    return [", ".join(users), ", ".join(groups), ", ".join(sas)]


def _binding_cells(obj, age):
    """``printRoleBinding``/``printClusterRoleBinding`` (``pkg/printers/internalversion/printers.go``), wide."""
    ref = obj.get("roleRef") or {}
    return [obj["metadata"]["name"], f"{ref.get('kind', '')}/{ref.get('name', '')}", age, *_subjects_strings(obj)]


def _binding_columns(what):
    role = (
        (
            "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. "
            "If the RoleRef cannot be resolved, the Authorizer must return an error."
        )
        if what == "roleBinding"
        else (
            "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, "
            "the Authorizer must return an error."
        )
    )
    return (
        NAME_COLUMN,
        column("Role", role),
        AGE_COLUMN,
        column("Users", f"Users in the {what}", 1),
        column("Groups", f"Groups in the {what}", 1),
        column("ServiceAccounts", f"ServiceAccounts in the {what}", 1),
    )


ROLE = Kind(RBAC_GROUP, "v1", "roles", "Role", True, struct(("rules", listof(POLICY_RULE))))
CLUSTER_ROLE = Kind(
    RBAC_GROUP,
    "v1",
    "clusterroles",
    "ClusterRole",
    False,
    struct(
        ("rules", listof(POLICY_RULE)), ("aggregationRule", struct(("clusterRoleSelectors", listof(LABEL_SELECTOR))))
    ),
)
ROLE_BINDING = Kind(
    RBAC_GROUP,
    "v1",
    "rolebindings",
    "RoleBinding",
    True,
    struct(("subjects", listof(SUBJECT)), ("roleRef", ROLE_REF)),
    columns=_binding_columns("roleBinding"),
    cells=_binding_cells,
)
CLUSTER_ROLE_BINDING = Kind(
    RBAC_GROUP,
    "v1",
    "clusterrolebindings",
    "ClusterRoleBinding",
    False,
    struct(("subjects", listof(SUBJECT)), ("roleRef", ROLE_REF)),
    columns=_binding_columns("clusterRoleBinding"),
    cells=_binding_cells,
)
NAMESPACE = Kind(
    "",
    "v1",
    "namespaces",
    "Namespace",
    False,
    struct(
        ("spec", struct(("finalizers", listof(STR)))), ("status", struct(("phase", STR), ("conditions", listof(ANY))))
    ),
    verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    short_names=("ns",),
    columns=(NAME_COLUMN, column("Status", "The status of the namespace"), AGE_COLUMN),
    cells=lambda obj, age: [obj["metadata"]["name"], (obj.get("status") or {}).get("phase", ""), age],
    # pkg/registry/core/namespace/strategy.go NamespaceToSelectableFields: status.phase, name
    field_labels={"status.phase": lambda obj: (obj.get("status") or {}).get("phase", "")},
)


def _csr_condition(obj):
    """``extractCSRStatus`` of printers.go: Denied/Approved/Pending, then ``,Failed``, ``,Issued``."""
    types = {c.get("type") for c in (obj.get("status") or {}).get("conditions") or []}
    text = "Denied" if "Denied" in types else "Approved" if "Approved" in types else "Pending"
    if "Failed" in types:
        text += ",Failed"
    if (obj.get("status") or {}).get("certificate"):
        text += ",Issued"
    return text


def _csr_fields(obj):
    from .csr import selectable_fields  # the CSR registry's SelectableFields

    return selectable_fields(obj)


def _csr_cells(obj, age):
    """``printCertificateSigningRequest``; RequestedDuration is ``duration.HumanDuration``."""
    from .wire import human_duration

    spec = obj.get("spec") or {}
    seconds = spec.get("expirationSeconds")
    return [
        obj["metadata"]["name"],
        age,
        spec.get("signerName") or "<none>",
        spec.get("username", ""),
        human_duration(seconds) if seconds is not None else "<none>",
        _csr_condition(obj),
    ]


_CSR_CONDITION = struct(
    ("type", STR),
    ("status", STR),
    ("reason", STR),
    ("message", STR),
    ("lastUpdateTime", STR),
    ("lastTransitionTime", STR),
)
CERTIFICATE_SIGNING_REQUEST = Kind(
    "certificates.k8s.io",
    "v1",
    "certificatesigningrequests",
    "CertificateSigningRequest",
    False,
    struct(
        (
            "spec",
            struct(
                ("request", STR),
                ("signerName", STR),
                ("expirationSeconds", INT),
                ("usages", listof(STR)),
                ("username", STR),
                ("uid", STR),
                ("groups", listof(STR)),
                ("extra", mapof(listof(STR))),
            ),
        ),
        ("status", struct(("conditions", listof(_CSR_CONDITION)), ("certificate", STR))),
    ),
    short_names=("csr",),
    columns=(
        NAME_COLUMN,
        AGE_COLUMN,
        column(
            "SignerName",
            "Requested signer for the request. It is a qualified name in the form: "
            "`scope-hostname.io/name`. If empty, it will be defaulted:\n 1. If it's a kubelet "
            'client certificate, it is assigned\n    "kubernetes.io/kube-apiserver-client-kubelet".'
            "\n 2. If it's a kubelet serving certificate, it is assigned\n    "
            '"kubernetes.io/kubelet-serving".\n 3. Otherwise, it is assigned '
            '"kubernetes.io/legacy-unknown".\nDistribution of trust for signers happens out of '
            "band. You can select on this field using `spec.signerName`.",
        ),
        column("Requestor", "Base64-encoded PKCS#10 CSR data"),
        column(
            "RequestedDuration",
            "expirationSeconds is the requested duration of validity of the issued "
            "certificate. The certificate signer may issue a certificate with a different "
            "validity duration so a client must check the delta between the notBefore "
            "and and notAfter fields in the issued certificate to determine the actual "
            "duration.\n\nThe v1.22+ in-tree implementations of the well-known Kubernetes "
            "signers will honor this field as long as the requested duration is not "
            "greater than the maximum duration they will honor per the "
            "--cluster-signing-duration CLI flag to the Kubernetes controller manager."
            "\n\nCertificate signers may not honor this field for various reasons:\n\n"
            "  1. Old signer that is unaware of the field (such as the in-tree\n     "
            "implementations prior to v1.22)\n  2. Signer whose configured maximum is "
            "shorter than the requested duration\n  3. Signer whose configured minimum "
            "is longer than the requested duration\n\nThe minimum valid value for "
            "expirationSeconds is 600, i.e. 10 minutes.",
        ),
        column("Condition", "Conditions applied to the request, such as approval or denial."),
    ),
    cells=_csr_cells,
    field_labels={"spec.signerName": lambda obj: _csr_fields(obj)["spec.signerName"]},
)

STORED_KINDS = (ROLE, CLUSTER_ROLE, ROLE_BINDING, CLUSTER_ROLE_BINDING, NAMESPACE, CERTIFICATE_SIGNING_REQUEST)
RBAC_KINDS = (ROLE, CLUSTER_ROLE, ROLE_BINDING, CLUSTER_ROLE_BINDING)


def by_resource(group_version, resource, kinds=STORED_KINDS):
    return next((k for k in kinds if k.group_version == group_version and k.resource == resource), None)


def by_kind(api_version, kind, kinds=STORED_KINDS):
    return next((k for k in kinds if k.group_version == api_version and k.kind == kind), None)


def ordered(schema, value):
    """``value`` with its keys in Go's field order (unknown keys kept, last), recursively."""
    if isinstance(schema, tuple) and schema[0] == "struct" and isinstance(value, dict):
        out = {}
        for name, sub in schema[1]:
            if name in value:
                out[name] = ordered(sub, value[name])
        for name in value:
            if name not in out:
                out[name] = value[name]
        return out
    if isinstance(schema, tuple) and schema[0] == "list" and isinstance(value, list):
        return [ordered(schema[1], v) for v in value]
    if isinstance(schema, tuple) and schema[0] == "map" and isinstance(value, dict):
        return {k: ordered(schema[1], v) for k, v in sorted(value.items())}
    return value


def unknown_fields(schema, value, path=""):
    """Dotted paths of fields the schema does not know (``strict decoding error: unknown field``)."""
    found = []
    if isinstance(schema, tuple) and schema[0] == "struct" and isinstance(value, dict):
        known = dict(schema[1])
        for name, sub in value.items():
            here = f"{path}.{name}" if path else name
            if name not in known:
                found.append(here)
            else:
                found.extend(unknown_fields(known[name], sub, here))
    elif isinstance(schema, tuple) and schema[0] == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(unknown_fields(schema[1], item, f"{path}[{i}]"))
    elif isinstance(schema, tuple) and schema[0] == "map" and isinstance(value, dict):
        for key, item in value.items():
            found.extend(unknown_fields(schema[1], item, f"{path}.{key}"))
    return found


def prune_unknown(schema, value):
    """``value`` without the fields the schema does not know (the decoder drops them unless Strict)."""
    if isinstance(schema, tuple) and schema[0] == "struct" and isinstance(value, dict):
        known = dict(schema[1])
        return {k: prune_unknown(known[k], v) for k, v in value.items() if k in known}
    if isinstance(schema, tuple) and schema[0] == "list" and isinstance(value, list):
        return [prune_unknown(schema[1], v) for v in value]
    if isinstance(schema, tuple) and schema[0] == "map" and isinstance(value, dict):
        return {k: prune_unknown(schema[1], v) for k, v in value.items()}
    return value


def type_errors(schema, value, path=""):
    """Values of the wrong JSON type, as ``(path, expected type)`` (decoding errors, 400)."""
    if value is None:
        return []
    if isinstance(schema, tuple):
        shape = schema[0]
        if shape == "struct":
            if not isinstance(value, dict):
                return [(path, "object")]
            known = dict(schema[1])
            return [
                e
                for name, sub in value.items()
                if name in known
                for e in type_errors(known[name], sub, f"{path}.{name}" if path else name)
            ]
        if shape == "list":
            if not isinstance(value, list):
                return [(path, "array")]
            return [e for i, item in enumerate(value) for e in type_errors(schema[1], item, f"{path}[{i}]")]
        if not isinstance(value, dict):
            return [(path, "object")]
        return [e for key, item in value.items() for e in type_errors(schema[1], item, f"{path}.{key}")]
    expected = {STR: str, INT: int, BOOL: bool, ANY: object}[schema]
    if schema == INT and isinstance(value, bool) or not isinstance(value, expected):
        return [(path, schema)]
    return []
