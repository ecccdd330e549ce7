"""Unit tests of the lab's pieces that need no server: request attributes, 403 texts, RBAC,
protobuf bodies, Go-compatible JSON and durations, manifest flags."""

import json

import pytest

from k8sauthlib.errors import InputError
from k8sauthlib.lab import LabError, bootstrap, protobuf, read_manifest_flags
from k8sauthlib.lab.apierrors import forbidden_message, go_aggregate, is_qualified_name, is_valid_label_value
from k8sauthlib.lab.attributes import RequestAttributes, normalized_verb, request_info
from k8sauthlib.lab.rbac import parse_objects
from k8sauthlib.lab.wire import UNAUTHORIZED, go_json, human_duration


# ------------------------------------------------------------------------ request attributes
@pytest.mark.parametrize(
    "method,path,query,expected",
    [
        ("GET", "/api", "", dict(verb="get", is_resource_request=False, path="/api")),
        ("GET", "/api/v1", "", dict(verb="get", is_resource_request=False)),
        ("HEAD", "/version", "", dict(verb="head", is_resource_request=False)),
        ("GET", "/apis/authorization.k8s.io/v1", "", dict(verb="get", is_resource_request=False)),
        (
            "GET",
            "/api/v1/namespaces/kube-system/pods",
            "limit=500",
            dict(verb="list", is_resource_request=True, namespace="kube-system", resource="pods", name=""),
        ),
        ("GET", "/api/v1/namespaces/kube-system/pods", "watch=true", dict(verb="watch", resource="pods")),
        (
            "GET",
            "/api/v1/namespaces/kube-system/pods",
            "fieldSelector=metadata.name%3Detcd",
            dict(verb="list", name="etcd"),
        ),
        (
            "GET",
            "/api/v1/namespaces/kube-system/pods/etcd-cp1",
            "",
            dict(verb="get", resource="pods", name="etcd-cp1", namespace="kube-system"),
        ),
        ("GET", "/api/v1/namespaces/kube-system/pods/etcd-cp1/log", "", dict(verb="get", subresource="log")),
        (
            "GET",
            "/api/v1/namespaces/kube-system",
            "",
            dict(verb="get", resource="namespaces", name="kube-system", namespace="kube-system"),
        ),
        ("GET", "/api/v1/namespaces", "", dict(verb="list", resource="namespaces", namespace="")),
        ("GET", "/api/v1/pods", "", dict(verb="list", resource="pods", namespace="")),
        ("DELETE", "/api/v1/namespaces/default/pods", "", dict(verb="deletecollection")),
        (
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            "",
            dict(
                verb="create", api_group="authorization.k8s.io", api_version="v1", resource="selfsubjectaccessreviews"
            ),
        ),
        ("GET", "/api/v1/watch/namespaces/default/pods", "", dict(verb="watch", resource="pods", namespace="default")),
    ],
)
def test_request_info_matches_kube_apiserver(method, path, query, expected):
    attrs = request_info(method, path, query)
    for key, value in expected.items():
        assert getattr(attrs, key) == value, key


@pytest.mark.parametrize(
    ("method", "path", "query", "apply", "expected"),
    [
        ("GET", "/api/v1/namespaces/kube-system/pods", "", False, "LIST"),
        ("HEAD", "/api/v1/namespaces/kube-system/pods", "", False, "LIST"),
        ("GET", "/api/v1/nodes", "", False, "LIST"),
        ("GET", "/api/v1/namespaces/kube-system/pods/etcd-cp1", "", False, "GET"),
        ("GET", "/version", "", False, "GET"),
        ("GET", "/api/v1/namespaces/default/pods", "watch=true", False, "WATCH"),
        ("GET", "/api/v1/namespaces/default/pods", "watch", False, "WATCH"),  # Go: a blank value is not false
        ("GET", "/api/v1/namespaces/default/pods", "watch=false", False, "LIST"),
        ("HEAD", "/api/v1/namespaces/default/pods", "watch=1", False, "LIST"),  # only a GET can watch
        ("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/roles", "", False, "POST"),
        ("PATCH", "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/roles/r", "", True, "APPLY"),
        ("PATCH", "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/roles/r", "", False, "PATCH"),
        ("GET", "/api/v1/namespaces/kube-system/pods/kube-apiserver-cp1/log", "", False, "CONNECT"),
        ("GET", "/api/v1/namespaces/kube-system/pods/kube-apiserver-cp1/status", "", False, "GET"),
    ],
)
def test_the_log_lines_verb_is_kube_apiservers_normalized_verb(method, path, query, apply, expected):
    assert normalized_verb(method, request_info(method, path, query), query, apply=apply) == expected


# ----------------------------------------------------------------------------- 403 messages
def test_forbidden_message_namespaced_list():
    message, details = forbidden_message(request_info("GET", "/api/v1/namespaces/default/pods"), "jane")
    assert (
        message
        == 'pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default"'
    )
    assert details == {"kind": "pods"}


def test_forbidden_message_named_and_cluster_scope():
    attrs = request_info("GET", "/api/v1/namespaces/kube-system/pods/etcd")
    message, details = forbidden_message(attrs, "jane")
    assert message.startswith('pods "etcd" is forbidden: User "jane" cannot get resource "pods"')
    assert details == {"name": "etcd", "kind": "pods"}
    attrs = request_info("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews")
    message, details = forbidden_message(attrs, "system:anonymous")
    assert message == (
        'selfsubjectreviews.authentication.k8s.io is forbidden: User "system:anonymous" cannot create '
        'resource "selfsubjectreviews" in API group "authentication.k8s.io" at the cluster scope'
    )
    assert details == {"group": "authentication.k8s.io", "kind": "selfsubjectreviews"}


def test_forbidden_message_non_resource_and_reason_suffix():
    message, details = forbidden_message(request_info("GET", "/api"), "system:anonymous")
    assert message == 'forbidden: User "system:anonymous" cannot get path "/api"'
    assert details == {}
    message, _ = forbidden_message(
        request_info("GET", "/api"), "x", 'RBAC: clusterrole.rbac.authorization.k8s.io "view" not found'
    )
    assert message.endswith('cannot get path "/api": RBAC: clusterrole.rbac.authorization.k8s.io "view" not found')


def test_forbidden_message_sanitizes_its_own_text_only():
    """responsewriters.ForbiddenStatusError: forbiddenMessage goes through the HTML sanitizer,
    the reason and NewForbidden's %q of the name do not."""
    attrs = request_info("GET", "/api/v1/namespaces/a/pods/x<y")
    message, details = forbidden_message(attrs, "u<&>", "RBAC: <kept>")
    assert message == (
        'pods "x<y" is forbidden: User "u&lt;&amp;&gt;" cannot get resource "pods" in API group "" '
        'in the namespace "a": RBAC: <kept>'
    )
    assert details == {"name": "x<y", "kind": "pods"}
    plain, _ = forbidden_message(request_info("GET", "/api"), "plain")
    assert "&" not in plain  # the negative: nothing to replace, nothing replaced


def test_unauthorized_body_is_byte_exact():
    # 129 bytes on the wire: the compact object plus the newline of Go's json.Encoder.
    body = go_json(UNAUTHORIZED)
    assert body == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized",'
        b'"reason":"Unauthorized","code":401}\n'
    )
    assert len(body) == 129


def test_go_json_escapes_html_like_go():
    assert go_json({"m": "a<b>&c"}) == b'{"m":"a\\u003cb\\u003e\\u0026c"}\n'
    # WriteRawJSON (/version, /): MarshalIndent, no newline
    assert go_json({"major": "1", "minor": "32"}, indent=2) == b'{\n  "major": "1",\n  "minor": "32"\n}'


@pytest.mark.parametrize(
    "seconds,text",
    [
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (600, "10m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 60 * 5, "3h5m"),
        (9 * 3600, "9h"),
        (50 * 3600, "2d2h"),
        (10 * 86400, "10d"),
        (800 * 86400, "2y70d"),
        (-5, "<invalid>"),
    ],
)
def test_human_duration_like_apimachinery(seconds, text):
    assert human_duration(seconds) == text


# ----------------------------------------------------------------------------------- RBAC
def _attrs(verb, resource="", namespace="", group="", name="", path=""):
    if path:
        return RequestAttributes(verb=verb, path=path)
    return RequestAttributes(
        verb=verb, is_resource_request=True, api_group=group, namespace=namespace, resource=resource, name=name
    )


def test_bootstrap_policy_discovery_and_public_info():
    policy = bootstrap.policy()
    anon = ("system:anonymous", ("system:unauthenticated",))
    assert policy.authorize(*anon, _attrs("get", path="/version")).allowed
    assert policy.authorize(*anon, _attrs("get", path="/healthz")).allowed
    denied = policy.authorize(*anon, _attrs("get", path="/api"))
    assert (denied.allowed, denied.reason) == (False, "")
    user = ("jane", ("dev", "system:authenticated"))
    decision = policy.authorize(*user, _attrs("get", path="/apis/apps/v1"))
    assert decision.reason == (
        'RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole '
        '"system:discovery" to Group "system:authenticated"'
    )
    assert policy.authorize(*user, _attrs("create", "selfsubjectreviews", group="authentication.k8s.io")).allowed
    assert not policy.authorize(*user, _attrs("list", "pods", "default")).allowed


def test_kubeadm_cluster_admins_binding():
    policy = bootstrap.policy()
    decision = policy.authorize(
        "kubernetes-admin",
        ("kubeadm:cluster-admins", "system:authenticated"),
        _attrs("delete", "secrets", "kube-system", name="x"),
    )
    assert decision.reason == (
        'RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole '
        '"cluster-admin" to Group "kubeadm:cluster-admins"'
    )


ROLE_YAML = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: kube-system}
rules:
- apiGroups: [""]
  resources: ["pods", "pods/log"]
  verbs: ["get", "list", "watch"]
  resourceNames: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: pod-readers, namespace: kube-system}
subjects:
- {kind: Group, name: dev, apiGroup: rbac.authorization.k8s.io}
- {kind: User, name: bob}
roleRef: {kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: viewers}
subjects: [{kind: Group, name: viewers}]
roleRef: {kind: ClusterRole, name: no-such-role, apiGroup: rbac.authorization.k8s.io}
"""


def test_rolebinding_from_yaml_and_missing_role_reason(tmp_path):
    (tmp_path / "dev.yaml").write_text(ROLE_YAML)
    policy = bootstrap.policy(tmp_path)
    decision = policy.authorize("jane", ("dev", "system:authenticated"), _attrs("list", "pods", "kube-system"))
    assert (
        decision.reason == 'RBAC: allowed by RoleBinding "pod-readers/kube-system" of Role "pod-reader" to Group "dev"'
    )
    decision = policy.authorize("bob", ("system:authenticated",), _attrs("get", "pods", "kube-system", name="x"))
    assert (
        decision.reason == 'RBAC: allowed by RoleBinding "pod-readers/kube-system" of Role "pod-reader" to User "bob"'
    )
    # A RoleBinding only counts in its own namespace.
    assert not policy.authorize("jane", ("dev",), _attrs("list", "pods", "default")).allowed
    # A binding to a role that does not exist: no opinion, with the lister's NotFound as reason.
    decision = policy.authorize("v", ("viewers", "system:authenticated"), _attrs("list", "pods", "default"))
    assert (decision.allowed, decision.reason) == (
        False,
        'RBAC: clusterrole.rbac.authorization.k8s.io "no-such-role" not found',
    )


def test_rbac_rule_matching_details():
    roles, bindings = parse_objects("""
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: r}
rules:
- {apiGroups: ["*"], resources: ["*/scale"], verbs: ["update"]}
- {apiGroups: [""], resources: ["configmaps"], resourceNames: ["only-me"], verbs: ["get"]}
- {nonResourceURLs: ["/logs/*"], verbs: ["get"]}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: b}
subjects: [{kind: ServiceAccount, name: robot, namespace: ops}]
roleRef: {kind: ClusterRole, name: r}
""")
    policy = bootstrap.policy()
    policy.add(roles, bindings)
    sa = ("system:serviceaccount:ops:robot", ())
    scale = RequestAttributes(
        verb="update",
        is_resource_request=True,
        api_group="apps",
        namespace="x",
        resource="deployments",
        subresource="scale",
        name="d",
    )
    assert policy.authorize(*sa, scale).reason == (
        'RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "r" to ServiceAccount "robot/ops"'
    )
    assert policy.authorize(*sa, _attrs("get", "configmaps", "x", name="only-me")).allowed
    assert not policy.authorize(*sa, _attrs("get", "configmaps", "x", name="other")).allowed
    assert policy.authorize(*sa, _attrs("get", path="/logs/kube.log")).allowed
    assert not policy.authorize(*sa, _attrs("get", path="/logs")).allowed


def test_bad_rbac_yaml_names_the_file():
    with pytest.raises(InputError, match="x.yaml: RoleBinding 'b': roleRef"):
        parse_objects(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b}\n"
            "roleRef: {kind: Secret, name: s}\n",
            source="x.yaml",
        )


def test_go_aggregate():
    assert go_aggregate(["a"]) == "a"
    assert go_aggregate(["a", "b", "a"]) == "[a, b]"


# ------------------------------------------------------------------------------- protobuf
def test_protobuf_review_round_trip():
    spec = {"resourceAttributes": {"namespace": "kube-system", "verb": "list", "resource": "pods"}}
    body = protobuf.encode_review("authorization.k8s.io/v1", "SelfSubjectAccessReview", spec)
    assert body.startswith(b"k8s\x00")
    decoded = protobuf.decode_review(body, "application/vnd.kubernetes.protobuf")
    assert decoded == {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": spec}
    body = protobuf.encode_review("authorization.k8s.io/v1", "SelfSubjectRulesReview", {"namespace": "default"})
    assert protobuf.decode_review(body)["spec"] == {"namespace": "default"}
    nonres = {"nonResourceAttributes": {"path": "/version", "verb": "get"}}
    body = protobuf.encode_review("authorization.k8s.io/v1", "SelfSubjectAccessReview", nonres)
    assert protobuf.decode_review(body)["spec"] == nonres


def test_protobuf_rejects_garbage_and_json_is_accepted():
    with pytest.raises(InputError):
        protobuf.decode_review(b"k8s\x00\x0a\xff\xff\xff", "application/vnd.kubernetes.protobuf")
    with pytest.raises(InputError, match="neither protobuf nor JSON"):
        protobuf.decode_review(b"\x00\x01", "application/json")
    obj = protobuf.decode_review(
        json.dumps({"spec": {"nonResourceAttributes": {"path": "/api", "verb": "get"}}}).encode()
    )
    assert obj["spec"]["nonResourceAttributes"]["path"] == "/api"


# ------------------------------------------------------------------------------- manifest
def test_read_manifest_flags(tmp_path):
    path = tmp_path / "kube-apiserver.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: kube-apiserver}\nspec:\n  containers:\n"
        "  - name: kube-apiserver\n    command: [kube-apiserver, --anonymous-auth=true, --secure-port=6443,"
        " --client-ca-file=/etc/kubernetes/pki/ca.crt, --anonymous-auth=false]\n    args: [--profiling]\n"
    )
    assert read_manifest_flags(path) == {
        "secure-port": "6443",
        "client-ca-file": "/etc/kubernetes/pki/ca.crt",
        "anonymous-auth": "false",
        "profiling": "true",
    }
    with pytest.raises(LabError, match="no such file"):
        read_manifest_flags(tmp_path / "missing.yaml")


def test_mirror_pod_follows_its_manifest_file_and_is_built_once_per_state(tmp_path):
    """kubelet's config.hash is the MD5 of the file as it is now; the pod is cached only while the
    file (inode, size, mtime) and the resource version stay the same."""
    import hashlib
    import os
    from datetime import datetime, timezone

    from k8sauthlib.lab.pods import load_mirror_pods

    manifest = tmp_path / "etcd.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\nspec: {}\n")
    pod = load_mirror_pods(tmp_path, "node1", datetime(2026, 12, 6, tzinfo=timezone.utc))[0]
    first = pod.to_pod("5")
    assert (
        first["metadata"]["annotations"]["kubernetes.io/config.hash"] == hashlib.md5(manifest.read_bytes()).hexdigest()
    )
    assert pod.to_pod("5") is first  # unchanged file: the same object
    assert pod.to_pod("6") is not first  # another resource version: rebuilt
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\nspec: {}\n# edited\n")
    os.utime(manifest, ns=(1, 2))
    edited = pod.to_pod("6")
    assert (
        edited["metadata"]["annotations"]["kubernetes.io/config.hash"] == hashlib.md5(manifest.read_bytes()).hexdigest()
    )
    manifest.unlink()
    assert pod.to_pod("6")["metadata"]["annotations"]["kubernetes.io/config.hash"] == hashlib.md5(b"").hexdigest()


def test_namespace_names_are_checked_by_the_one_dns_label_rule():
    """ValidateNamespaceName is NameIsDNSLabel: one field.Invalid per IsDNS1123Label problem."""
    from k8sauthlib.lab.kinds import NAMESPACE
    from k8sauthlib.lab.validation import validate

    assert validate(NAMESPACE, {"metadata": {"name": "team-a"}}) == []
    dotted = validate(NAMESPACE, {"metadata": {"name": "a.b"}})
    assert [str(e) for e in dotted] == ['metadata.name: Invalid value: "a.b": must not contain dots']
    long = validate(NAMESPACE, {"metadata": {"name": "x" * 64}})
    assert [str(e) for e in long] == [f'metadata.name: Invalid value: "{"x" * 64}": must be no more than 63 characters']


# ------------------------------------------------------------------- label keys and values
_NAME_PART = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


@pytest.mark.parametrize(
    ("key", "messages"),
    [
        ("team", []),
        ("app.kubernetes.io/name", []),
        ("bad key!", [_NAME_PART]),
        ("", ["name part must be non-empty", _NAME_PART]),
        ("x" * 64, ["name part must be no more than 63 characters"]),
        ("/x", ["prefix part must be non-empty"]),
        (
            "Example.com/x",
            [
                "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
                "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ],
        ),
        (
            "a/b/c",
            [
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix "
                "and '/' (e.g. 'example.com/MyName')"
            ],
        ),
    ],
)
def test_label_keys_get_is_qualified_names_messages(key, messages):
    # k8s.io/apimachinery pkg/util/validation IsQualifiedName, v0.32 (RegexError's double spaces included)
    assert is_qualified_name(key) == messages


def test_label_values_and_keys_are_each_an_invalid_cause():
    from k8sauthlib.lab.kinds import CLUSTER_ROLE
    from k8sauthlib.lab.validation import validate

    role = {"metadata": {"name": "r", "labels": {"ok": "", "bad key!": "fine", "k": "no spaces"}}, "rules": []}
    assert [str(e) for e in validate(CLUSTER_ROLE, role)] == [
        'metadata.labels: Invalid value: "bad key!": ' + _NAME_PART,
        'metadata.labels: Invalid value: "no spaces": a valid label must be an empty string or consist of '
        "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
        "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ]
    assert is_valid_label_value("") == [] and is_valid_label_value("x" * 64) == ["must be no more than 63 characters"]
