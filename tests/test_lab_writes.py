"""The lab as a cluster to keep learning on: writes, RBAC enforcement of what was written,
impersonation, CSRs, field selectors, default ClusterRoles and refusals, with real kubectl
(its own --cache-dir each run), curl and the official Python client.

One lab serves the module; every test uses its own names.
"""

import base64
import json
import secrets
import shutil
import subprocess

import pytest
import requests
import yaml

import k8sauthlib as k8s

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None or shutil.which("openssl") is None, reason="needs kubectl and openssl on PATH"
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    directory = tmp_path_factory.mktemp("lab") / "kubernetes"
    with k8s.LabServer(directory) as server:
        yield server


@pytest.fixture(scope="module")
def ca(lab):
    return k8s.CA.load(lab.directory / "pki" / "ca.crt", lab.directory / "pki" / "ca.key")


def name(prefix):
    return f"{prefix}-{secrets.token_hex(3)}"


def kubeconfig_for(lab, tmp_path, user, groups=()):
    """A kubeconfig with a fresh client certificate for ``user``, written with ``kubectl config``."""
    cert = k8s.CA.load(lab.directory / "pki" / "ca.crt", lab.directory / "pki" / "ca.key").issue_client_cert(
        user, list(groups), key="ecdsa-p256"
    )
    cert_file, key_file = tmp_path / f"{user}.pem", tmp_path / f"{user}-key.pem"
    cert_file.write_bytes(cert.cert_pem)
    cert.write_key(key_file, overwrite=True)
    path = tmp_path / f"{user}.kubeconfig"
    for args in (
        ["set-cluster", "lab", f"--server={lab.url}", f"--certificate-authority={lab.ca_file}", "--embed-certs"],
        ["set-credentials", user, f"--client-certificate={cert_file}", f"--client-key={key_file}", "--embed-certs"],
        ["set-context", "lab", "--cluster=lab", f"--user={user}"],
        ["use-context", "lab"],
    ):
        subprocess.run(["kubectl", "config", f"--kubeconfig={path}", *args], check=True, capture_output=True)
    return path


def kubectl(kubeconfig, *args, tmp_path, rc=0, stdin=None):
    cache = tmp_path / f"cache-{secrets.token_hex(4)}"
    result = subprocess.run(
        ["kubectl", f"--kubeconfig={kubeconfig}", f"--cache-dir={cache}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        input=stdin,
    )
    assert rc is None or result.returncode == rc, (args, result.stdout, result.stderr)
    return result


def admin(lab):
    return lab.directory / "admin.conf"


def session(lab, user="test-admin", groups=("system:masters",)):
    """A requests session with a client certificate for ``user`` (default: a system:masters admin)."""
    s = requests.Session()
    s.trust_env = False  # else REQUESTS_CA_BUNDLE wins over s.verify (requests#3829)
    s.verify = str(lab.ca_file)
    directory = lab.directory / "lab" / "test-certs"
    directory.mkdir(exist_ok=True)
    cert = k8s.CA.load(lab.directory / "pki" / "ca.crt", lab.directory / "pki" / "ca.key").issue_client_cert(
        user, list(groups), key="ecdsa-p256"
    )
    (directory / f"{user}.pem").write_bytes(cert.cert_pem)
    cert.write_key(directory / f"{user}-key.pem", overwrite=True)
    s.cert = (str(directory / f"{user}.pem"), str(directory / f"{user}-key.pem"))
    return s


# ------------------------------------------------------------------ RBAC objects with kubectl
def test_role_and_binding_created_with_kubectl_are_enforced(lab, tmp_path):
    user = name("alice")
    alice = kubeconfig_for(lab, tmp_path, user)
    kubectl(alice, "get", "pods", "-n", "kube-system", tmp_path=tmp_path, rc=1)
    assert (
        kubectl(
            admin(lab), "auth", "can-i", "list", "pods", "-n", "kube-system", f"--as={user}", tmp_path=tmp_path, rc=1
        ).stdout
        == "no\n"
    )
    role, binding = name("reader"), name("reader-binding")
    out = kubectl(
        admin(lab),
        "create",
        "role",
        role,
        "--verb=get",
        "--verb=list",
        "--resource=pods",
        "-n",
        "kube-system",
        tmp_path=tmp_path,
    )
    assert out.stdout == f"role.rbac.authorization.k8s.io/{role} created\n"
    out = kubectl(
        admin(lab),
        "create",
        "rolebinding",
        binding,
        f"--role={role}",
        f"--user={user}",
        "-n",
        "kube-system",
        tmp_path=tmp_path,
    )
    assert out.stdout == f"rolebinding.rbac.authorization.k8s.io/{binding} created\n"
    assert (
        kubectl(
            admin(lab), "auth", "can-i", "list", "pods", "-n", "kube-system", f"--as={user}", tmp_path=tmp_path
        ).stdout
        == "yes\n"
    )
    assert "kube-apiserver-" in kubectl(alice, "get", "pods", "-n", "kube-system", tmp_path=tmp_path).stdout
    # Only where the binding is, only what the role says.
    kubectl(alice, "get", "pods", "-n", "default", tmp_path=tmp_path, rc=1)
    denied = kubectl(alice, "delete", "rolebinding", binding, "-n", "kube-system", tmp_path=tmp_path, rc=1)
    assert f'User "{user}" cannot delete resource "rolebindings"' in denied.stderr
    # A second create is a conflict, as on a cluster.
    again = kubectl(
        admin(lab),
        "create",
        "role",
        role,
        "--verb=get",
        "--resource=pods",
        "-n",
        "kube-system",
        tmp_path=tmp_path,
        rc=1,
    )
    assert again.stderr.strip() == (
        f'Error from server (AlreadyExists): roles.rbac.authorization.k8s.io "{role}" already exists'
    )
    # Deleting the binding revokes at once.
    kubectl(admin(lab), "delete", "rolebinding", binding, "-n", "kube-system", tmp_path=tmp_path)
    kubectl(alice, "get", "pods", "-n", "kube-system", tmp_path=tmp_path, rc=1)


def test_apply_label_patch_delete_and_storage_survives_restart(lab, tmp_path):
    role = name("pod-lister")
    manifest = tmp_path / "role.yaml"
    doc = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": role},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
    }
    manifest.write_text(yaml.safe_dump(doc))
    # no --validate=false: kubectl finds fieldValidation in /openapi/v3 and lets the server validate
    assert (
        kubectl(admin(lab), "apply", "-f", str(manifest), tmp_path=tmp_path).stdout
        == f"clusterrole.rbac.authorization.k8s.io/{role} created\n"
    )
    doc["rules"][0]["verbs"].append("watch")
    manifest.write_text(yaml.safe_dump(doc))
    assert (
        kubectl(admin(lab), "apply", "-f", str(manifest), tmp_path=tmp_path).stdout
        == f"clusterrole.rbac.authorization.k8s.io/{role} configured\n"
    )
    kubectl(admin(lab), "label", "clusterrole", role, "team=blue", tmp_path=tmp_path)
    kubectl(
        admin(lab),
        "patch",
        "clusterrole",
        role,
        "--type=json",
        "-p",
        '[{"op": "add", "path": "/rules/0/resources/-", "value": "services"}]',
        tmp_path=tmp_path,
    )
    got = json.loads(
        kubectl(admin(lab), "get", "clusterrole", role, "-o", "json", "--show-managed-fields", tmp_path=tmp_path).stdout
    )
    assert got["rules"] == [{"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "list", "watch"]}]
    assert got["metadata"]["labels"] == {"team": "blue"}
    managers = {m["manager"] for m in got["metadata"]["managedFields"]}
    assert {"kubectl-client-side-apply", "kubectl-label", "kubectl-patch"} <= managers
    stored = lab.directory / "lab" / "objects" / "rbac.authorization.k8s.io" / "clusterroles" / f"{role}.yaml"
    assert yaml.safe_load(stored.read_text())["rules"] == got["rules"]  # human-readable YAML on disk
    lab.restart()
    again = json.loads(kubectl(admin(lab), "get", "clusterrole", role, "-o", "json", tmp_path=tmp_path).stdout)
    assert (again["metadata"]["uid"], again["rules"]) == (got["metadata"]["uid"], got["rules"])
    # An unknown field is refused by the server, as kube-apiserver's strict field validation does.
    doc["rules"][0]["verbz"] = ["get"]
    manifest.write_text(yaml.safe_dump(doc))
    bad = kubectl(admin(lab), "apply", "-f", str(manifest), tmp_path=tmp_path, rc=1)
    assert 'strict decoding error: unknown field "rules[0].verbz"' in bad.stderr
    assert (
        kubectl(admin(lab), "delete", "clusterrole", role, tmp_path=tmp_path).stdout
        == f'clusterrole.rbac.authorization.k8s.io "{role}" deleted\n'
    )
    assert not stored.exists()
    kubectl(admin(lab), "get", "clusterrole", role, tmp_path=tmp_path, rc=1)


def test_invalid_and_conflicting_writes(lab):
    s = session(lab)
    url = lab.url + "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles"
    bad = s.post(
        url,
        json={
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "r"},
            "rules": [{"apiGroups": [""], "resources": ["pods"]}],
        },
    )
    assert bad.status_code == 422
    assert bad.json()["message"] == (
        'Role.rbac.authorization.k8s.io "r" is invalid: rules[0].verbs: Required value: '
        "verbs must contain at least one value"
    )
    assert bad.json()["details"]["causes"] == [
        {
            "reason": "FieldValueRequired",
            "field": "rules[0].verbs",
            "message": "Required value: verbs must contain at least one value",
        }
    ]
    role = name("r")
    body = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": role},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    }
    created = s.post(url, json=body)
    assert created.status_code == 201
    meta = created.json()["metadata"]
    assert meta["resourceVersion"].isdigit() and meta["uid"] and meta["creationTimestamp"].endswith("Z")
    stale = dict(body, metadata={"name": role, "resourceVersion": "1"})
    conflict = s.put(f"{url}/{role}", json=stale)
    assert (conflict.status_code, conflict.json()["reason"]) == (409, "Conflict")
    assert conflict.json()["message"] == (
        f'Operation cannot be fulfilled on roles.rbac.authorization.k8s.io "{role}": '
        "the object has been modified; please apply your changes to the latest "
        "version and try again"
    )
    missing_ns = s.post(lab.url + "/apis/rbac.authorization.k8s.io/v1/namespaces/nope/roles", json=body)
    assert (missing_ns.status_code, missing_ns.json()["message"]) == (404, 'namespaces "nope" not found')
    gone = s.delete(f"{url}/{role}")
    assert gone.json()["status"] == "Success"
    assert s.delete(f"{url}/{role}").status_code == 404


def test_escalation_is_refused_with_kube_apiserver_text(lab, tmp_path):
    user, ns = name("deleg"), "default"
    s = session(lab)
    grant = name("role-writer")
    s.post(
        lab.url + f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
        json={
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": grant},
            "rules": [
                {
                    "apiGroups": ["rbac.authorization.k8s.io"],
                    "resources": ["roles", "rolebindings"],
                    "verbs": ["create", "get"],
                }
            ],
        },
    ).raise_for_status()
    s.post(
        lab.url + f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
        json={
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": grant},
            "subjects": [{"kind": "User", "name": user}],
            "roleRef": {"kind": "Role", "name": grant},
        },
    ).raise_for_status()
    deleg = kubeconfig_for(lab, tmp_path, user)
    role = name("pods")
    refused = kubectl(deleg, "create", "role", role, "--verb=get", "--resource=pods", "-n", ns, tmp_path=tmp_path, rc=1)
    assert refused.stderr.strip() == (
        f'Error from server (Forbidden): roles.rbac.authorization.k8s.io "{role}" is forbidden: user "{user}" '
        f'(groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n'
        '{APIGroups:[""], Resources:["pods"], Verbs:["get"]}'
    )
    # Rules the user holds may be handed on.
    kubectl(
        deleg,
        "create",
        "role",
        role,
        "--verb=get",
        "--resource=roles.rbac.authorization.k8s.io",
        "-n",
        ns,
        tmp_path=tmp_path,
    )
    binding = kubectl(
        deleg,
        "create",
        "rolebinding",
        name("b"),
        "--clusterrole=view",
        f"--user={user}",
        "-n",
        ns,
        tmp_path=tmp_path,
        rc=1,
    )
    assert "is attempting to grant RBAC permissions not currently held" in binding.stderr


# ------------------------------------------------------------- default roles, selectors, refusals
def test_view_grant_from_the_default_clusterroles(lab, tmp_path):
    user = name("viewer")
    viewer = kubeconfig_for(lab, tmp_path, user)
    assert "view" in kubectl(admin(lab), "get", "clusterroles", tmp_path=tmp_path).stdout.split()
    kubectl(
        admin(lab),
        "create",
        "rolebinding",
        name("view"),
        "--clusterrole=view",
        f"--user={user}",
        "-n",
        "kube-system",
        tmp_path=tmp_path,
    )
    assert "kube-apiserver-" in kubectl(viewer, "get", "pods", "-n", "kube-system", tmp_path=tmp_path).stdout
    assert (
        kubectl(viewer, "auth", "can-i", "get", "secrets", "-n", "kube-system", tmp_path=tmp_path, rc=1).stdout
        == "no\n"
    )
    edit = json.loads(kubectl(admin(lab), "get", "clusterrole", "edit", "-o", "json", tmp_path=tmp_path).stdout)
    view = json.loads(kubectl(admin(lab), "get", "clusterrole", "view", "-o", "json", tmp_path=tmp_path).stdout)
    assert all(rule in edit["rules"] for rule in view["rules"])  # aggregated: edit includes view


def test_field_selectors(lab, tmp_path):
    pods = kubectl(
        admin(lab),
        "get",
        "pods",
        "-A",
        "--field-selector",
        f"metadata.name=etcd-{lab.node_name}",
        "-o",
        "name",
        tmp_path=tmp_path,
    ).stdout.split()
    assert pods == [f"pod/etcd-{lab.node_name}"]
    none = kubectl(admin(lab), "get", "pods", "-A", "--field-selector", "spec.nodeName=elsewhere", tmp_path=tmp_path)
    assert none.stderr == "No resources found\n"
    bad = kubectl(admin(lab), "get", "pods", "-A", "--field-selector", "spec.foo=x", tmp_path=tmp_path, rc=1)
    assert bad.stderr.rstrip().endswith("field label not supported: spec.foo")
    bad = kubectl(admin(lab), "get", "clusterroles", "--field-selector", "spec.foo=x", tmp_path=tmp_path, rc=1)
    assert bad.stderr.rstrip().endswith(
        '"spec.foo" is not a known field selector: only "metadata.name", "metadata.namespace"'
    )


def test_unsupported_writes_are_refused_naming_the_lab(lab, tmp_path):
    out = kubectl(admin(lab), "delete", "pod", "-n", "kube-system", f"etcd-{lab.node_name}", tmp_path=tmp_path, rc=1)
    assert "the k8sauthlib lab serves pods read-only" in out.stderr
    out = kubectl(admin(lab), "get", "roles", "-w", "--request-timeout=5s", tmp_path=tmp_path, rc=1)
    assert "the k8sauthlib lab does not serve watch requests" in out.stderr
    configmaps = session(lab).get(lab.url + "/api/v1/namespaces/default/configmaps")
    assert configmaps.status_code == 404
    assert configmaps.json()["message"].startswith("the k8sauthlib lab does not serve configmaps; it serves ")
    apps = session(lab).get(lab.url + "/apis/apps/v1/deployments")
    assert apps.json()["message"].startswith("the k8sauthlib lab does not serve the API group apps;")
    out = kubectl(admin(lab), "delete", "namespace", "kube-system", tmp_path=tmp_path, rc=1)
    assert out.stderr.strip() == (
        'Error from server (Forbidden): namespaces "kube-system" is forbidden: this namespace may not be deleted'
    )


def test_namespace_lifecycle_and_python_client(lab, tmp_path):
    from kubernetes import client, config

    api_client = config.new_client_from_config(str(admin(lab)))
    core, rbac = client.CoreV1Api(api_client), client.RbacAuthorizationV1Api(api_client)
    ns = name("team")
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    assert core.read_namespace(ns).status.phase == "Active"
    rbac.create_namespaced_role(
        ns,
        client.V1Role(
            metadata=client.V1ObjectMeta(name="r"),
            rules=[client.V1PolicyRule(api_groups=[""], resources=["pods"], verbs=["get"])],
        ),
    )
    assert [r.metadata.name for r in rbac.list_namespaced_role(ns).items] == ["r"]
    kubectl(admin(lab), "delete", "namespace", ns, tmp_path=tmp_path)
    with pytest.raises(client.ApiException) as err:
        rbac.read_namespaced_role("r", ns)
    assert err.value.status == 404


# ------------------------------------------------------------------- impersonation and CSRs
def test_impersonation_answers_for_the_impersonated_user(lab, tmp_path):
    assert kubectl(admin(lab), "auth", "can-i", "list", "pods", "--as=jane", tmp_path=tmp_path, rc=1).stdout == "no\n"
    who = kubectl(admin(lab), "auth", "whoami", "--as=jane", "--as-group=dev", "-o", "json", tmp_path=tmp_path)
    assert json.loads(who.stdout)["status"]["userInfo"] == {
        "username": "jane",
        "groups": ["dev", "system:authenticated"],
    }
    user = name("plain")
    plain = kubeconfig_for(lab, tmp_path, user)
    # kubectl sends the headers on discovery too, where it prints only "unknown" for a 403
    refused = kubectl(plain, "get", "pods", "--as=jane", tmp_path=tmp_path, rc=1)
    assert refused.stderr.strip().endswith("Error from server (Forbidden): unknown")
    answer = session(lab, user, ()).get(
        lab.url + "/api/v1/namespaces/default/pods", headers={"Impersonate-User": "jane"}
    )
    assert (answer.status_code, answer.json()["message"]) == (
        403,
        f'users "jane" is forbidden: User "{user}" cannot impersonate resource "users" in API group "" '
        "at the cluster scope",
    )


def _csr_manifest(tmp_path, csr_name, subject):
    key, req = tmp_path / f"{csr_name}.key", tmp_path / f"{csr_name}.csr"
    subprocess.run(
        [
            "openssl",
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(key),
            "-subj",
            subject,
            "-out",
            str(req),
        ],
        check=True,
        capture_output=True,
    )
    doc = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": csr_name},
        "spec": {
            "request": base64.b64encode(req.read_bytes()).decode(),
            "expirationSeconds": 3600,
            "signerName": "kubernetes.io/kube-apiserver-client",
            "usages": ["client auth"],
        },
    }
    path = tmp_path / f"{csr_name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path, key


def test_csr_flow_end_to_end(lab, tmp_path):
    user = name("myuser")
    manifest, key = _csr_manifest(tmp_path, user, f"/CN={user}/O=learners")
    kubectl(admin(lab), "apply", "-f", str(manifest), tmp_path=tmp_path)
    pending = kubectl(admin(lab), "get", "csr", user, tmp_path=tmp_path).stdout.split("\n")[1].split()
    assert pending[2:] == ["kubernetes.io/kube-apiserver-client", "kubernetes-admin", "60m", "Pending"]
    assert (
        kubectl(admin(lab), "certificate", "approve", user, tmp_path=tmp_path).stdout
        == f"certificatesigningrequest.certificates.k8s.io/{user} approved\n"
    )
    pem = base64.b64decode(
        kubectl(admin(lab), "get", "csr", user, "-o", "jsonpath={.status.certificate}", tmp_path=tmp_path).stdout
    )
    assert kubectl(admin(lab), "get", "csr", user, tmp_path=tmp_path).stdout.split()[-1] == "Approved,Issued"
    cert_file = tmp_path / f"{user}.crt"
    cert_file.write_bytes(pem)
    kc = tmp_path / "issued.kubeconfig"
    for args in (
        ["set-cluster", "lab", f"--server={lab.url}", f"--certificate-authority={lab.ca_file}"],
        ["set-credentials", user, f"--client-certificate={cert_file}", f"--client-key={key}"],
        ["set-context", "lab", "--cluster=lab", f"--user={user}"],
        ["use-context", "lab"],
    ):
        subprocess.run(["kubectl", "config", f"--kubeconfig={kc}", *args], check=True, capture_output=True)
    who = json.loads(kubectl(kc, "auth", "whoami", "-o", "json", tmp_path=tmp_path).stdout)["status"]["userInfo"]
    assert (who["username"], who["groups"]) == (user, ["learners", "system:authenticated"])
    kubectl(kc, "get", "pods", tmp_path=tmp_path, rc=1)  # authenticated, but no RBAC yet


def test_csr_for_system_masters_is_refused(lab, tmp_path):
    csr_name = name("sneaky")
    manifest, _ = _csr_manifest(tmp_path, csr_name, f"/CN={csr_name}/O=system:masters")
    out = kubectl(admin(lab), "apply", "-f", str(manifest), tmp_path=tmp_path, rc=1)
    assert (
        f'certificatesigningrequests.certificates.k8s.io "{csr_name}" is forbidden: use of '
        "kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"
    ) in out.stderr


# ------------------------------------------------------------------------ lab/rbac/ reloads
def test_a_malformed_object_is_skipped_alone_and_a_revocation_beside_it_applies(lab, tmp_path):
    user = name("revokee")
    person = kubeconfig_for(lab, tmp_path, user)
    rbac_dir = lab.directory / "lab" / "rbac"
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": user},
        "subjects": [{"kind": "User", "name": user}],
        "roleRef": {"kind": "ClusterRole", "name": "view"},
    }
    path = rbac_dir / f"{user}.yaml"
    path.write_text(yaml.safe_dump(binding))
    kubectl(person, "get", "pods", "-n", "kube-system", tmp_path=tmp_path)
    broken = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "broken"},
        "subjects": "not-a-list",
        "roleRef": 7,
    }
    binding["subjects"] = []  # the revocation
    path.write_text(yaml.safe_dump_all([binding, broken]))
    denied = kubectl(person, "get", "pods", "-n", "kube-system", tmp_path=tmp_path, rc=1)
    assert "Forbidden" in denied.stderr  # answered, and the valid change took effect
    assert any("RBAC object skipped" in line and "'broken'" in line for line in lab.log_lines())
    path.unlink()


# --------------------------------------------------------------------------------- versions
@pytest.mark.parametrize("version,minor", [("1.28", "28"), ("1.33", "33")])
def test_the_lab_presents_another_kubernetes_version(tmp_path, version, minor):
    with k8s.LabServer(tmp_path / "kubernetes", kubernetes_version=version) as other:
        info = session(other).get(other.url + "/version").json()
        assert (info["minor"], info["gitVersion"].startswith(f"v1.{minor}.")) == (minor, True)
        who = json.loads(kubectl(admin(other), "auth", "whoami", "-o", "json", tmp_path=tmp_path).stdout)
        extra = who["status"]["userInfo"].get("extra", {})
        assert ("authentication.kubernetes.io/credential-id" in extra) == (int(minor) >= 32)
        # kubectl 1.28 asks /openapi/v2 (protobuf) whether the server validates fields, 1.33 /openapi/v3
        manifest = tmp_path / "role.yaml"
        manifest.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRole",
                    "metadata": {"name": "applied"},
                    "rules": [],
                }
            )
        )
        assert (
            kubectl(admin(other), "apply", "-f", str(manifest), tmp_path=tmp_path).stdout
            == "clusterrole.rbac.authorization.k8s.io/applied created\n"
        )
        agents = {r["user_agent"] for r in other.log_records()}
        assert any(a.startswith(f"kubectl/v1.{minor}.") for a in agents), agents  # the dispatcher picked it


def test_unknown_version_is_refused(tmp_path):
    with pytest.raises(ValueError, match="1.28 to 1.35"):
        k8s.LabServer(tmp_path / "kubernetes", kubernetes_version="1.20").start()


# ---------------------------------------------------------------------------- node and logs
def test_get_nodes_and_the_api_server_log(lab, tmp_path):
    nodes = kubectl(admin(lab), "get", "nodes", tmp_path=tmp_path).stdout.splitlines()
    assert nodes[1].split()[:3] == [lab.node_name, "NotReady", "control-plane"]  # no kubelet: never Ready
    described = kubectl(admin(lab), "get", "node", lab.node_name, "-o", "json", tmp_path=tmp_path).stdout
    ready = json.loads(described)["status"]["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("Unknown", "NodeStatusNeverUpdated")
    marker = name("marker")
    kubectl(admin(lab), "get", "pods", "-n", "kube-system", marker, tmp_path=tmp_path, rc=1)
    logs = kubectl(admin(lab), "logs", "-n", "kube-system", f"kube-apiserver-{lab.node_name}", tmp_path=tmp_path)
    assert any(marker in line and "resp=404" in line for line in logs.stdout.splitlines())
    tail = kubectl(
        admin(lab), "logs", "-n", "kube-system", f"kube-apiserver-{lab.node_name}", "--tail=2", tmp_path=tmp_path
    )
    assert len(tail.stdout.splitlines()) == 2
    refused = kubectl(admin(lab), "logs", "-n", "kube-system", f"etcd-{lab.node_name}", tmp_path=tmp_path, rc=1)
    assert "the k8sauthlib lab runs no containers" in refused.stderr


# ------------------------------------------------------------------------------ wire details
def test_json_is_indented_for_people_and_compact_for_programs(lab):
    cert, key = session(lab).cert

    def run(*args, anonymous=False):
        auth = [] if anonymous else ["--cert", cert, "--key", key]
        return subprocess.run(
            ["curl", "-sS", "--cacert", str(lab.ca_file), *auth, *args], capture_output=True, timeout=30
        ).stdout

    assert run(lab.url + "/api").startswith(b'{\n  "kind": "APIVersions",\n')  # curl's own User-Agent
    assert run("-A", "my-program/1.0", lab.url + "/api").startswith(b'{"kind":"APIVersions",')
    assert run("-A", "my-program/1.0", lab.url + "/api?pretty=true").startswith(b'{\n  "kind"')
    assert run(lab.url + "/api?pretty=false").startswith(b'{"kind"')
    # Errors too: the anonymous 403 as a reader's curl shows it.
    body = run(lab.url + "/api/v1/namespaces", anonymous=True)
    assert body.startswith(b'{\n  "kind": "Status",\n  "apiVersion": "v1",\n  "metadata": {},\n')
    assert json.loads(body)["code"] == 403


def test_review_shapes(lab):
    s = session(lab)
    url = lab.url + "/apis/authorization.k8s.io/v1/"
    bad = s.post(
        url + "selfsubjectaccessreviews",
        json={"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1", "spec": {}},
    )
    assert bad.status_code == 422
    assert bad.json()["message"] == (
        '.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: '
        '"null": exactly one of nonResourceAttributes or resourceAttributes must be '
        "specified"
    )
    assert bad.json()["details"]["causes"][0]["field"] == "spec.resourceAttributes"
    rules = s.post(
        url + "selfsubjectrulesreviews",
        json={
            "kind": "SelfSubjectRulesReview",
            "apiVersion": "authorization.k8s.io/v1",
            "spec": {"namespace": "default"},
        },
    )
    assert (rules.status_code, rules.json()["spec"]) == (201, {})
    items = s.get(lab.url + "/api/v1/namespaces").json()["items"]
    assert items and all("kind" not in i and "apiVersion" not in i for i in items)
    table = s.get(
        lab.url + "/api/v1/namespaces/kube-system/pods",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    )
    assert table.headers["Content-Type"] == "application/json"
    assert table.json()["columnDefinitions"][1]["description"] == (
        "The aggregate readiness state of this pod for accepting traffic."
    )


def test_lab_up_presents_the_version_it_is_told(tmp_path):
    import signal
    import sys

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "k8sauthlib",
            "lab",
            "up",
            "--dir",
            str(tmp_path / "kubernetes"),
            "--port",
            "0",
            "--kubernetes-version",
            "1.29",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("https://127.0.0.1:"), proc.stderr.read() if proc.poll() is not None else url
        lab = type(
            "Lab",
            (),
            {"directory": tmp_path / "kubernetes", "ca_file": tmp_path / "kubernetes" / "pki" / "ca.crt", "url": url},
        )
        assert session(lab).get(url + "/version").json()["minor"] == "29"
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "lab: presenting Kubernetes v1.29;" in err and "lab/objects" in err
    bad = subprocess.run(
        [sys.executable, "-m", "k8sauthlib", "lab", "up", "--dir", str(tmp_path / "x"), "--kubernetes-version", "1.20"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "invalid choice: '1.20'" in bad.stderr


def test_csr_approval_needs_approve_on_the_signer(lab, tmp_path):
    csr_name, user = name("pending"), name("approver")
    manifest, _ = _csr_manifest(tmp_path, csr_name, f"/CN={csr_name}")
    kubectl(admin(lab), "apply", "-f", str(manifest), tmp_path=tmp_path)
    approver = kubeconfig_for(lab, tmp_path, user)
    kubectl(
        admin(lab),
        "create",
        "clusterrole",
        user,
        "--verb=get,list",
        "--resource=certificatesigningrequests",
        tmp_path=tmp_path,
    )
    kubectl(
        admin(lab),
        "patch",
        "clusterrole",
        user,
        "--type=json",
        "-p",
        '[{"op": "add", "path": "/rules/-", "value": {"apiGroups": ["certificates.k8s.io"], '
        '"resources": ["certificatesigningrequests/approval"], "verbs": ["update"]}}]',
        tmp_path=tmp_path,
    )
    kubectl(
        admin(lab), "create", "clusterrolebinding", user, f"--clusterrole={user}", f"--user={user}", tmp_path=tmp_path
    )
    refused = kubectl(approver, "certificate", "approve", csr_name, tmp_path=tmp_path, rc=1)
    assert (
        f'certificatesigningrequests.certificates.k8s.io "{csr_name}" is forbidden: user not permitted to '
        'approve requests with signerName "kubernetes.io/kube-apiserver-client"'
    ) in refused.stderr
    kubectl(
        admin(lab),
        "create",
        "clusterrolebinding",
        name("signer"),
        "--clusterrole=system:certificates.k8s.io:kube-apiserver-client-approver",
        f"--user={user}",
        tmp_path=tmp_path,
    )
    kubectl(approver, "certificate", "approve", csr_name, tmp_path=tmp_path)
    assert kubectl(approver, "get", "csr", csr_name, tmp_path=tmp_path).stdout.split()[-1] == "Approved,Issued"


def test_unknown_fields_warned_and_dropped_unless_strict_and_any_name_is_stored(lab, tmp_path):
    role = name("warned")
    doc = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": role},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"], "verbz": ["x"]}],
    }
    manifest = tmp_path / "warned.yaml"
    manifest.write_text(yaml.safe_dump(doc))
    out = kubectl(admin(lab), "apply", "-f", str(manifest), "--validate=warn", tmp_path=tmp_path)
    assert 'Warning: unknown field "rules[0].verbz"' in out.stderr
    stored = json.loads(kubectl(admin(lab), "get", "clusterrole", role, "-o", "json", tmp_path=tmp_path).stdout)
    assert stored["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    odd = "a name with spaces: and ünïcode " + "x" * 200  # RBAC names may be any text without / and %
    created = session(lab).post(
        lab.url + "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        json={
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": odd},
            "rules": [],
        },
    )
    assert created.status_code == 201
    lab.restart()
    assert (
        session(lab)
        .get(lab.url + "/apis/rbac.authorization.k8s.io/v1/clusterroles/" + requests.utils.quote(odd))
        .json()["metadata"]["name"]
        == odd
    )


def test_rbac_objects_written_through_the_api_keep_granting_after_a_restart(tmp_path):
    """A Role, RoleBindings and a ClusterRoleBinding created with kubectl still grant when another
    LabServer starts on the same directory (the stored objects, not only the bootstrap policy)."""
    directory = tmp_path / "kubernetes"
    manifest = tmp_path / "rbac.yaml"
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "roleRef": {"apiGroup": "rbac.authorization.k8s.io"}}
    docs = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "pod-reader", "namespace": "t"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
        },
        {
            **binding,
            "kind": "RoleBinding",
            "metadata": {"name": "g1-pods", "namespace": "t"},
            "subjects": [{"kind": "Group", "name": "g1", "apiGroup": "rbac.authorization.k8s.io"}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
        },
        {
            **binding,
            "kind": "RoleBinding",
            "metadata": {"name": "g2-view", "namespace": "t"},
            "subjects": [{"kind": "Group", "name": "g2", "apiGroup": "rbac.authorization.k8s.io"}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        },
        {
            **binding,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "g3-view"},
            "subjects": [{"kind": "Group", "name": "g3", "apiGroup": "rbac.authorization.k8s.io"}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        },
    ]
    manifest.write_text(yaml.safe_dump_all(docs))

    def can_i(lab, group):
        result = kubectl(
            admin(lab),
            "auth",
            "can-i",
            "get",
            "pods",
            "-n",
            "t",
            "--as=x",
            f"--as-group={group}",
            tmp_path=tmp_path,
            rc=None,
        )
        return result.stdout.strip()

    expected = {"g1": "yes", "g2": "yes", "g3": "yes", "g4": "no"}  # g4: bound nowhere
    with k8s.LabServer(directory) as lab:
        kubectl(admin(lab), "create", "namespace", "t", tmp_path=tmp_path)
        kubectl(admin(lab), "apply", "-f", str(manifest), tmp_path=tmp_path)
        assert {g: can_i(lab, g) for g in expected} == expected
    with k8s.LabServer(directory) as lab:
        assert {g: can_i(lab, g) for g in expected} == expected
        names = kubectl(admin(lab), "get", "rolebindings", "-n", "t", "-o", "name", tmp_path=tmp_path).stdout.split()
        assert names == [
            "rolebinding.rbac.authorization.k8s.io/g1-pods",
            "rolebinding.rbac.authorization.k8s.io/g2-view",
        ]


def test_forbidden_text_is_html_sanitized_as_kube_apiserver_writes_it(lab, tmp_path):
    """ForbiddenStatusError sanitizes forbiddenMessage (&, <, > as entities); the JSON encoder then
    escapes the entities' '&' as \\u0026, and kubectl prints the decoded text."""
    denied = kubectl(admin(lab), "get", "pods", "-n", "default", "--as=x<y>&z", tmp_path=tmp_path, rc=1)
    assert denied.stderr.strip() == (
        'Error from server (Forbidden): pods is forbidden: User "x&lt;y&gt;&amp;z" '
        'cannot list resource "pods" in API group "" in the namespace "default"'
    )
    s = session(lab)
    s.headers["Impersonate-User"] = "x<y>&z"
    raw = s.get(f"{lab.url}/api/v1/namespaces/default/pods", timeout=30)
    assert raw.status_code == 403
    assert b'User \\"x\\u0026lt;y\\u0026gt;\\u0026amp;z\\" cannot list' in raw.content
    assert raw.json()["message"].startswith('pods is forbidden: User "x&lt;y&gt;&amp;z"')
