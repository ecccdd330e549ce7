"""Units of the lab's storage side: patches, managedFields, escalation texts, bootstrap policy,
the YAML store and per-object skipping of bad RBAC files (no server, no kubectl)."""

import os
import time
from datetime import datetime, timezone

import pytest
import yaml

from k8sauthlib.lab import bootstrap, escalation
from k8sauthlib.lab.api import LabAPI
from k8sauthlib.lab.auth import Authorizer
from k8sauthlib.lab.kinds import CLUSTER_ROLE, ROLE, ROLE_BINDING
from k8sauthlib.lab.patch import PatchError, apply_patch, json_patch, merge_patch, strategic_merge_patch
from k8sauthlib.lab.rbac import RACY_NS, PolicyFiles, PolicyRule
from k8sauthlib.lab.store import ObjectStore, update_managed_fields


def test_merge_and_strategic_patches():
    current = {"metadata": {"labels": {"a": "1", "b": "2"}, "finalizers": ["x"]}, "rules": [{"verbs": ["get"]}]}
    assert merge_patch(current, {"metadata": {"labels": {"a": None, "c": "3"}}})["metadata"]["labels"] == {
        "b": "2",
        "c": "3",
    }
    patched = strategic_merge_patch(
        current,
        {"metadata": {"finalizers": ["y"], "$setElementOrder/finalizers": ["x"]}, "rules": [{"verbs": ["list"]}]},
    )
    assert patched["metadata"]["finalizers"] == ["x", "y"]  # patchStrategy merge
    assert patched["rules"] == [{"verbs": ["list"]}]  # atomic list: replaced
    assert strategic_merge_patch(current, {"metadata": {"$patch": "replace", "name": "n"}})["metadata"] == {"name": "n"}
    with pytest.raises(PatchError):
        strategic_merge_patch(current, {"metadata": {"$patch": "explode"}})


def test_json_patch_rfc6902():
    doc = {"rules": [{"verbs": ["get"]}]}
    assert json_patch(doc, [{"op": "add", "path": "/rules/0/verbs/-", "value": "list"}])["rules"][0]["verbs"] == [
        "get",
        "list",
    ]
    assert json_patch(doc, [{"op": "remove", "path": "/rules/0"}]) == {"rules": []}
    with pytest.raises(PatchError) as err:
        json_patch(doc, [{"op": "replace", "path": "/nope/0", "value": 1}])
    assert err.value.status == 422
    with pytest.raises(PatchError):
        apply_patch("application/merge-patch+json", doc, b"not json")


def test_managed_fields_follow_the_fields_each_manager_changed():
    obj = {
        "kind": "Role",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": "r", "labels": {"a": "1"}},
        "rules": [{"verbs": ["get"]}],
    }
    update_managed_fields(ROLE, None, obj, "kubectl-create", "Update", "T0")
    assert obj["metadata"]["managedFields"][0]["fieldsV1"] == {
        "f:metadata": {"f:labels": {".": {}, "f:a": {}}},
        "f:rules": {},
    }
    new = yaml.safe_load(yaml.safe_dump(obj))
    new["metadata"]["labels"]["b"] = "2"
    update_managed_fields(ROLE, obj, new, "kubectl-label", "Update", "T1")
    by_manager = {m["manager"]: m["fieldsV1"] for m in new["metadata"]["managedFields"]}
    assert by_manager["kubectl-label"] == {"f:metadata": {"f:labels": {"f:b": {}}}}
    assert by_manager["kubectl-create"]["f:rules"] == {}


def test_escalation_text_is_kube_apiservers():
    owner = [PolicyRule(("get", "list"), ("",), ("pods",))]
    wanted = [PolicyRule(("get", "delete"), ("",), ("pods", "secrets"))]
    missing = escalation.uncovered(owner, wanted)
    assert sorted(escalation.compact_string(r) for r in escalation.compact_rules(missing)) == [
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}',
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}',
    ]
    assert escalation.uncovered([PolicyRule(("*",), ("*",), ("*",))], wanted) == []


def test_bootstrap_view_edit_admin_are_aggregated():
    roles = bootstrap.cluster_roles()
    filled = bootstrap.aggregate(roles)
    view, edit, admin = filled["view"], filled["edit"], filled["admin"]
    assert all(r in edit for r in view) and all(r in admin for r in edit)
    assert not any("secrets" in r.get("resources", []) for r in view)
    policy = bootstrap.policy()
    assert ("ClusterRole", "", "system:basic-user") in policy.roles


def test_store_round_trip_and_unreadable_file_skipped(tmp_path):
    errors = []
    store = ObjectStore(tmp_path, (ROLE, ROLE_BINDING), on_error=errors.append)
    obj = {
        "kind": "Role",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": "r", "namespace": "ns", "resourceVersion": store.next_resource_version()},
        "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}],
    }
    store.put(ROLE, obj)
    (tmp_path / "rbac.authorization.k8s.io" / "roles" / "ns" / "broken.yaml").write_text("kind: [unclosed")
    again = ObjectStore(tmp_path, (ROLE, ROLE_BINDING), on_error=errors.append)
    assert again.get(ROLE, "ns", "r")["rules"] == obj["rules"]
    assert again.resource_version == obj["metadata"]["resourceVersion"]
    assert len(errors) == 1 and "broken.yaml skipped" in errors[0]
    assert again.delete(ROLE, "ns", "r") is not None and again.get(ROLE, "ns", "r") is None


def test_bad_rbac_object_is_skipped_alone_with_one_log_line(tmp_path):
    logged = []
    good = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "ok"},
        "subjects": [{"kind": "User", "name": "u"}],
        "roleRef": {"kind": "ClusterRole", "name": "view"},
    }
    bad = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "bad"},
        "rules": [{"verbs": 5}],
    }
    (tmp_path / "mixed.yaml").write_text(yaml.safe_dump_all([good, bad]))
    (tmp_path / "notyaml.yaml").write_text("a: [")
    files = PolicyFiles(tmp_path, on_error=logged.append, base=bootstrap.policy_objects)
    policy = files.current()
    assert ("ClusterRoleBinding", "", "ok") in policy.bindings
    assert ("ClusterRole", "", "bad") not in policy.roles
    assert len(logged) == 2 and all(line.startswith("RBAC object skipped: ") for line in logged)
    files.current()
    assert len(logged) == 2  # said once, not on every request


def test_bootstrap_objects_marked_autoupdate_are_reconciled(tmp_path):
    started = datetime.now(timezone.utc).replace(microsecond=0)
    api = LabAPI(None, Authorizer(PolicyFiles(None)), [], "127.0.0.1:1", started, state_dir=tmp_path)
    role = dict(api.store.get(CLUSTER_ROLE, "", "system:basic-user"))
    role["rules"] = role["rules"][:1]
    api.store.put(CLUSTER_ROLE, role)
    custom = dict(api.store.get(CLUSTER_ROLE, "", "system:discovery"))
    custom["metadata"] = dict(custom["metadata"], annotations={"rbac.authorization.kubernetes.io/autoupdate": "false"})
    custom["rules"] = []
    api.store.put(CLUSTER_ROLE, custom)
    again = LabAPI(None, Authorizer(PolicyFiles(None)), [], "127.0.0.1:1", started, state_dir=tmp_path)
    assert len(again.store.get(CLUSTER_ROLE, "", "system:basic-user")["rules"]) == 2
    assert again.store.get(CLUSTER_ROLE, "", "system:discovery")["rules"] == []  # autoupdate false: left alone


def _binding(name):
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "subjects": [{"kind": "User", "name": name}],
        "roleRef": {"kind": "ClusterRole", "name": "view"},
    }


def test_a_file_added_in_the_same_clock_tick_as_the_last_listing_is_seen(tmp_path):
    # A fresh directory time: the listing is used once, not kept, so a file added in the same
    # tick (simulated by putting the directory's time back exactly) is still found.
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(_binding("a")))
    files = PolicyFiles(tmp_path, base=bootstrap.policy_objects)
    assert ("ClusterRoleBinding", "", "a") in files.current().bindings
    st = (tmp_path).stat()
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(_binding("b")))
    os.utime(tmp_path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert ("ClusterRoleBinding", "", "b") in files.current().bindings


def test_a_settled_directory_is_not_listed_again_until_it_changes(tmp_path, monkeypatch):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(_binding("a")))
    old = time.time_ns() - 2 * RACY_NS
    os.utime(tmp_path, ns=(old, old))
    files = PolicyFiles(tmp_path, base=bootstrap.policy_objects)
    listed = []
    real_listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path: listed.append(path) or real_listdir(path))
    for _ in range(3):
        assert ("ClusterRoleBinding", "", "a") in files.current().bindings
    assert listed == []  # the listing taken at construction is kept
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(_binding("b")))  # changes the directory's time
    assert ("ClusterRoleBinding", "", "b") in files.current().bindings
    assert listed  # its time changed: listed again
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(_binding("a2")))  # content: each file is stat'ed
    policy = files.current()
    assert ("ClusterRoleBinding", "", "a2") in policy.bindings and (
        "ClusterRoleBinding",
        "",
        "a",
    ) not in policy.bindings
    (tmp_path / "b.yaml").unlink()
    assert ("ClusterRoleBinding", "", "b") not in files.current().bindings


def test_the_files_watched_are_the_files_loaded(tmp_path):
    # "..yaml" has the suffix .yaml for pathlib but none for os.path.splitext: one test decides both.
    old = time.time_ns() - 2 * RACY_NS
    (tmp_path / "..yaml").write_text(yaml.safe_dump(_binding("a")))
    os.utime(tmp_path, ns=(old, old))
    files = PolicyFiles(tmp_path, base=bootstrap.policy_objects)
    assert ("ClusterRoleBinding", "", "a") in files.current().bindings
    (tmp_path / "..yaml").write_text(yaml.safe_dump(_binding("edited")))  # in place: the directory is unchanged
    assert ("ClusterRoleBinding", "", "edited") in files.current().bindings
