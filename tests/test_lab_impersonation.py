"""The impersonation filter (``Impersonate-*`` headers) against the lab's real RBAC authorizer.

Expected texts are kube-apiserver 1.32's (``filters/impersonation.go`` and
``responsewriters/errors.go`` of k8s.io/apiserver v0.32).
"""

import pytest

from k8sauthlib.lab import bootstrap
from k8sauthlib.lab.apierrors import StatusError
from k8sauthlib.lab.auth import Authorizer
from k8sauthlib.lab.impersonation import canonical_header, impersonate, log_text, requested, split_service_account
from k8sauthlib.lab.rbac import parse_objects

# carol may impersonate exactly: user jane, group dev, uid 1234, extra scopes=view, SA ops/robot.
POLICY = """
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: limited-impersonator}
rules:
- {apiGroups: [""], resources: ["users"], resourceNames: ["jane", "system:anonymous"], verbs: ["impersonate"]}
- {apiGroups: [""], resources: ["groups"], resourceNames: ["dev", "system:unauthenticated"], verbs: ["impersonate"]}
- {apiGroups: [""], resources: ["serviceaccounts"], resourceNames: ["robot"], verbs: ["impersonate"]}
- {apiGroups: ["authentication.k8s.io"], resources: ["uids"], resourceNames: ["1234"], verbs: ["impersonate"]}
- {apiGroups: ["authentication.k8s.io"], resources: ["userextras/scopes"], resourceNames: ["view"], verbs: ["impersonate"]}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: carol-impersonates}
subjects: [{kind: User, name: carol}]
roleRef: {kind: ClusterRole, name: limited-impersonator}
"""


@pytest.fixture(scope="module")
def authorizer(rbac_authorizer):
    return rbac_authorizer(POLICY)


@pytest.fixture(scope="module")
def bob(authenticated_user):
    return authenticated_user("bob")


@pytest.fixture(scope="module")
def carol(authenticated_user):
    return authenticated_user("carol")


def run(authorizer, headers, who, uri="/api/v1/namespaces/default/pods"):
    return impersonate(headers, who, lambda attrs: authorizer.authorize(who, attrs), request_uri=uri)


def test_no_headers_keeps_the_authenticated_identity(authorizer, bob):
    assert run(authorizer, [("Accept", "application/json")], bob) is bob
    assert run(authorizer, {}, bob) is bob


def test_user_with_groups_replaces_the_whole_identity(authorizer, kubeadm_admin):
    new = run(authorizer, [("Impersonate-User", "jane"), ("Impersonate-Group", "dev")], kubeadm_admin)
    # kubectl auth whoami --as=jane --as-group=dev: jane [dev system:authenticated], no extra from admin
    assert (new.user, new.groups, new.extra, new.uid) == ("jane", ("dev", "system:authenticated"), {}, "")
    assert log_text(kubeadm_admin, new) == (
        "kubernetes-admin[kubeadm:cluster-admins,system:authenticated] is impersonating jane[dev,system:authenticated]"
    )


def test_user_alone_gets_system_authenticated(authorizer, carol):
    new = run(authorizer, {"impersonate-user": "jane"}, carol)
    assert (new.user, new.groups) == ("jane", ("system:authenticated",))


def test_repeated_group_headers_are_separate_groups_and_commas_are_not_split(authorizer, kubeadm_admin):
    new = run(
        authorizer, [("Impersonate-User", "x"), ("Impersonate-Group", "a,b"), ("impersonate-group", "c")], kubeadm_admin
    )
    assert new.groups == ("a,b", "c", "system:authenticated")
    # a mapping with a list value carries the repeats too
    new = run(authorizer, {"Impersonate-User": "x", "Impersonate-Group": ["a", "c"]}, kubeadm_admin)
    assert new.groups == ("a", "c", "system:authenticated")


class FirstValueHeaders(dict):
    """The lab server's header mapping: lower-case name -> first value, ``get_all`` for every value."""

    def __init__(self, pairs):
        super().__init__()
        self._all = {}
        for name, value in pairs:
            self._all.setdefault(name.lower(), []).append(value)
            self.setdefault(name.lower(), value)

    def get_all(self, name):
        return list(self._all.get(name.lower(), ()))


def test_a_first_value_mapping_with_get_all_keeps_every_group(authorizer, kubeadm_admin):
    headers = FirstValueHeaders([("Impersonate-User", "x"), ("Impersonate-Group", "a"), ("Impersonate-Group", "b")])
    assert run(authorizer, headers, kubeadm_admin).groups == ("a", "b", "system:authenticated")
    # without get_all only the first value would be seen: the reason the filter asks for it
    assert run(authorizer, dict(headers), kubeadm_admin).groups == ("a", "system:authenticated")


def test_explicit_unauthenticated_group_suppresses_system_authenticated(authorizer, kubeadm_admin, carol):
    new = run(authorizer, [("Impersonate-User", "jane"), ("Impersonate-Group", "system:unauthenticated")], carol)
    assert new.groups == ("system:unauthenticated",)
    new = run(authorizer, [("Impersonate-User", "jane"), ("Impersonate-Group", "system:authenticated")], kubeadm_admin)
    assert new.groups == ("system:authenticated",)


def test_anonymous_gets_system_unauthenticated(authorizer, carol):
    new = run(authorizer, [("Impersonate-User", "system:anonymous")], carol)
    assert (new.user, new.groups, new.anonymous) == ("system:anonymous", ("system:unauthenticated",), True)
    new = run(authorizer, [("Impersonate-User", "system:anonymous"), ("Impersonate-Group", "dev")], carol)
    assert new.groups == ("dev", "system:unauthenticated")


def test_service_account_user_gets_service_account_groups(authorizer, carol):
    new = run(authorizer, [("Impersonate-User", "system:serviceaccount:ops:robot")], carol)
    assert new.user == "system:serviceaccount:ops:robot"
    assert new.groups == ("system:serviceaccounts", "system:serviceaccounts:ops", "system:authenticated")
    # groups given explicitly replace the service-account groups
    new = run(
        authorizer, [("Impersonate-User", "system:serviceaccount:ops:robot"), ("Impersonate-Group", "dev")], carol
    )
    assert new.groups == ("dev", "system:authenticated")


def test_service_account_check_is_on_serviceaccounts_in_the_namespace(authorizer, carol):
    err = run(authorizer, [("Impersonate-User", "system:serviceaccount:kube-system:other")], carol)
    assert err.code == 403
    assert err.message == (
        'serviceaccounts "other" is forbidden: User "carol" cannot impersonate resource '
        '"serviceaccounts" in API group "" in the namespace "kube-system"'
    )
    assert err.details == {"name": "other", "kind": "serviceaccounts"}


def test_split_service_account_follows_splitusername():
    assert split_service_account("system:serviceaccount:ops:robot") == ("ops", "robot")
    assert split_service_account("system:serviceaccount:ops:my.robot") == ("ops", "my.robot")
    # not a valid SA name -> an ordinary user name, checked on "users"
    for name in (
        "system:serviceaccount:ops",
        "system:serviceaccount:a:b:c",
        "system:serviceaccount:Ops:robot",
        "system:serviceaccount:o.ps:robot",
        "system:serviceaccount:ops:",
        "jane",
    ):
        assert split_service_account(name) is None
    kinds = requested([("Impersonate-User", "system:serviceaccount:Ops:robot")])
    assert [(k, a.resource, a.name) for k, a in kinds] == [("User", "users", "system:serviceaccount:Ops:robot")]


def test_uid_and_extra_need_authentication_group_rights(authorizer, carol):
    new = run(
        authorizer,
        [("Impersonate-User", "jane"), ("Impersonate-Uid", "1234"), ("Impersonate-Extra-Scopes", "view")],
        carol,
    )
    assert (new.uid, new.extra) == ("1234", {"scopes": ["view"]})
    err = run(authorizer, [("Impersonate-User", "jane"), ("Impersonate-Uid", "9")], carol)
    assert err.message == (
        'uids.authentication.k8s.io "9" is forbidden: User "carol" cannot impersonate resource '
        '"uids" in API group "authentication.k8s.io" at the cluster scope'
    )
    assert err.details == {"name": "9", "group": "authentication.k8s.io", "kind": "uids"}
    err = run(authorizer, [("Impersonate-User", "jane"), ("Impersonate-Extra-Scopes", "edit")], carol)
    assert err.message == (
        'userextras.authentication.k8s.io "edit" is forbidden: User "carol" cannot impersonate '
        'resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope'
    )


def test_extra_keys_are_lowercased_and_percent_decoded(authorizer, kubeadm_admin):
    new = run(
        authorizer,
        [
            ("Impersonate-User", "jane"),
            ("Impersonate-Extra-Example.com%2fTeam", "a"),
            ("impersonate-extra-example.com%2fteam", "b"),
            ("Impersonate-Extra-Bad%zz", "c"),
        ],
        kubeadm_admin,
    )
    assert new.extra == {"example.com/team": ["a", "b"], "bad%zz": ["c"]}
    kinds = requested([("Impersonate-User", "jane"), ("Impersonate-Extra-Scopes", "view")])
    assert [(a.api_group, a.resource, a.subresource, a.name) for _, a in kinds][1] == (
        "authentication.k8s.io",
        "userextras",
        "scopes",
        "view",
    )


def test_denied_user_is_a_403_with_kube_apiserver_text(authorizer, bob):
    err = run(authorizer, [("Impersonate-User", "jane")], bob)
    assert isinstance(err, StatusError)
    assert err.status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'users "jane" is forbidden: User "bob" cannot impersonate resource "users" in API group "" '
        "at the cluster scope",
        "reason": "Forbidden",
        "details": {"name": "jane", "kind": "users"},
        "code": 403,
    }


def test_checks_run_in_header_order_and_the_first_refusal_answers(authorizer, carol):
    # jane is allowed for carol, group ops is not: the group is named
    err = run(authorizer, [("Impersonate-Group", "ops"), ("Impersonate-User", "jane")], carol)
    assert err.message.startswith('groups "ops" is forbidden: User "carol" cannot impersonate resource "groups"')
    # the user is checked before any group
    err = run(authorizer, [("Impersonate-Group", "ops"), ("Impersonate-User", "mallory")], carol)
    assert err.message.startswith('users "mallory" is forbidden')


def test_reason_from_the_authorizer_is_appended(authorizer, bob):
    policy = bootstrap.policy()
    policy.add(
        *parse_objects("""
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: dangling}
subjects: [{kind: User, name: bob}]
roleRef: {kind: ClusterRole, name: impersonator}
""")
    )
    dangling = Authorizer(policy)
    err = run(dangling, [("Impersonate-User", "jane")], bob)
    assert err.message.endswith(
        'at the cluster scope: RBAC: clusterrole.rbac.authorization.k8s.io "impersonator" not found'
    )


def test_group_without_user_is_a_plain_text_500(authorizer, kubeadm_admin):
    err = run(authorizer, [("Impersonate-Group", "dev")], kubeadm_admin, uri="/api/v1/pods?limit=500")
    assert (err.code, err.plain) == (500, True)
    assert err.message == (
        'Internal Server Error: "/api/v1/pods?limit=500": requested [{Group  dev    }] without impersonating a user'
    )
    err = run(authorizer, [("Impersonate-Uid", "1"), ("Impersonate-Extra-Scopes", "a<b")], kubeadm_admin, uri="/api")
    assert err.message == (
        'Internal Server Error: "/api": requested [{UserExtra  a&lt;b  authentication.k8s.io/v1  '
        "scopes} {UID  1  authentication.k8s.io/v1  }] without impersonating a user"
    )
    with pytest.raises(StatusError):
        requested([("Impersonate-Uid", "1")])


def test_empty_user_header_is_no_impersonation(authorizer, bob):
    assert run(authorizer, [("Impersonate-User", "")], bob) is bob


def test_canonical_header():
    assert canonical_header("impersonate-extra-foo") == "Impersonate-Extra-Foo"
    assert canonical_header("IMPERSONATE-USER") == "Impersonate-User"
    assert canonical_header("bad header") == "bad header"
