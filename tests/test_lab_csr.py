"""The CertificateSigningRequest API rules and the kube-apiserver-client signer.

CSRs come from real ``openssl req`` and from the library; signed certificates are checked with
``openssl verify -purpose sslclient`` and parsed back. Expected texts are kube-apiserver 1.32's
(``pkg/apis/certificates/validation``, ``plugin/pkg/admission/certificates``) and
kube-controller-manager's (``pkg/controller/certificates/signer``).
"""

import base64
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import k8sauthlib as k8s
from k8sauthlib.errors import InputError
from k8sauthlib.lab import csr as api
from k8sauthlib.lab import csradmission, csrsigner
from k8sauthlib.lab.apierrors import StatusError
from k8sauthlib.pki.identity import Identity, kubernetes_identity

CLIENT = api.KUBE_APISERVER_CLIENT
NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=timezone.utc)

APPROVERS = """
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: client-approver}
rules:
- {apiGroups: ["certificates.k8s.io"], resources: ["signers"], resourceNames: ["kubernetes.io/kube-apiserver-client"],
   verbs: ["approve"]}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: domain-approver}
rules:
- {apiGroups: ["certificates.k8s.io"], resources: ["signers"], resourceNames: ["kubernetes.io/*"], verbs: ["approve"]}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: client-signer}
rules:
- {apiGroups: ["certificates.k8s.io"], resources: ["signers"], resourceNames: ["kubernetes.io/kube-apiserver-client"],
   verbs: ["sign"]}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: anna-approves}
subjects: [{kind: User, name: anna}]
roleRef: {kind: ClusterRole, name: client-approver}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: dora-approves-domain}
subjects: [{kind: User, name: dora}]
roleRef: {kind: ClusterRole, name: domain-approver}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: sam-signs}
subjects: [{kind: User, name: sam}]
roleRef: {kind: ClusterRole, name: client-signer}
"""


@pytest.fixture(scope="module")
def authorizer(rbac_authorizer):
    return rbac_authorizer(APPROVERS)


@pytest.fixture(scope="module")
def as_user(authorizer, authenticated_user):
    """``as_user(name)``: the authorize callback for user ``name`` (group system:authenticated)."""
    return lambda name: lambda attrs: authorizer.authorize(authenticated_user(name), attrs)


def openssl_csr(tmp_path, subject, key="rsa:2048", san=None):
    """A CSR from ``openssl req``, as a user makes one on their machine."""
    args = [
        "openssl",
        "req",
        "-new",
        "-nodes",
        "-keyout",
        str(tmp_path / "k.pem"),
        "-out",
        str(tmp_path / "r.csr"),
        "-subj",
        subject,
    ]
    if key.startswith("ec"):
        args += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    else:
        args += ["-newkey", key]
    if san:
        args += ["-addext", f"subjectAltName={san}"]
    subprocess.run(args, check=True, capture_output=True)
    return (tmp_path / "r.csr").read_bytes()


def csr_object(pem, name="jane", signer=CLIENT, usages=("client auth",), seconds=None, **spec):
    body = {"request": base64.b64encode(pem).decode(), "signerName": signer, "usages": list(usages), **spec}
    if seconds is not None:
        body["expirationSeconds"] = seconds
    return {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": body,
    }


def approved(stored, authorize, kind="Approved"):
    condition = {
        "type": kind,
        "status": "True",
        "reason": "KubectlApprove",
        "message": "This CSR was approved by kubectl certificate approve.",
    }
    return csradmission.update(
        {**stored, "status": {"conditions": [condition]}}, stored, "approval", authorize, now=NOW
    )


@pytest.fixture
def jane_pem():
    return k8s.make_csr("jane", orgs=["dev"]).csr_pem


# ------------------------------------------------------------------------------- create
def test_create_takes_the_requesting_user_not_the_clients_claim(jane_pem, kubeadm_admin, authenticated_user):
    obj = csr_object(
        jane_pem, username="system:admin", groups=["system:masters"], uid="forged", extra={"x": ["y"]}, bogus="dropped"
    )
    obj["status"] = {"certificate": "Zm9v"}
    stored = csradmission.create(obj, kubeadm_admin)
    assert stored["spec"] == {
        "request": obj["spec"]["request"],
        "signerName": CLIENT,
        "usages": ["client auth"],
        "username": "kubernetes-admin",
        "groups": ["kubeadm:cluster-admins", "system:authenticated"],
        "extra": {"authentication.kubernetes.io/credential-id": ["X509SHA256=ab"]},
    }
    assert stored["status"] == {}
    assert obj["spec"]["username"] == "system:admin"  # the input is not modified
    assert csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev"))["spec"]["username"] == "jane"


def test_openssl_csr_is_accepted(tmp_path):
    pem = openssl_csr(tmp_path, "/O=dev/CN=jane", key="ec")
    assert api.validate_create(csr_object(pem)) == []
    assert api.parse_request(pem)[1] is None


def test_expiration_seconds_minimum_is_600_with_the_exact_message(jane_pem, kubeadm_admin):
    assert api.validate_create(csr_object(jane_pem, seconds=600)) == []
    with pytest.raises(StatusError) as info:
        csradmission.create(csr_object(jane_pem, name="bob-60", seconds=60), kubeadm_admin)
    err = info.value
    assert err.code == 422
    assert err.status["message"] == (
        'CertificateSigningRequest.certificates.k8s.io "bob-60" is invalid: '
        "spec.expirationSeconds: Invalid value: 60: may not specify a duration less "
        "than 600 seconds (10 minutes)"
    )
    assert err.status["reason"] == "Invalid"
    assert err.status["details"] == {
        "name": "bob-60",
        "group": "certificates.k8s.io",
        "kind": "CertificateSigningRequest",
        "causes": [
            {
                "reason": "FieldValueInvalid",
                "field": "spec.expirationSeconds",
                "message": "Invalid value: 60: may not specify a duration less than 600 seconds (10 minutes)",
            }
        ],
    }


def test_request_must_be_a_pem_certificate_request(jane_pem):
    errs = api.validate_create(csr_object(b"--\n"))
    assert [str(e) for e in errs] == [
        "spec.request: Invalid value: []byte{0x2d, 0x2d, 0xa}: PEM block type must be CERTIFICATE REQUEST"
    ]
    cert_pem = k8s.CA.create("x").cert_pem
    assert "PEM block type must be CERTIFICATE REQUEST" in str(api.validate_create(csr_object(cert_pem))[0])
    missing = csr_object(jane_pem)
    del missing["spec"]["request"]
    assert str(api.validate_create(missing)[0]) == (
        "spec.request: Invalid value: []byte(nil): PEM block type must be CERTIFICATE REQUEST"
    )


@pytest.mark.parametrize(
    "key, text", [("rsa:2048", "crypto/rsa: verification error"), ("ec", "x509: ECDSA verification failure")]
)
def test_request_signature_must_verify(tmp_path, key, text):
    pem = openssl_csr(tmp_path, "/CN=jane", key=key)
    der = bytearray(x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x01  # inside the signature
    tampered = (
        b"-----BEGIN CERTIFICATE REQUEST-----\n"
        + base64.encodebytes(bytes(der))
        + b"-----END CERTIFICATE REQUEST-----\n"
    )
    assert api.parse_request(tampered) == (None, text)
    errs = api.validate_create(csr_object(tampered))
    assert errs[0].field == "spec.request" and errs[0].body().endswith(": " + text)


def test_usages_required_known_and_unique(jane_pem):
    assert [str(e) for e in api.validate_create(csr_object(jane_pem, usages=()))] == ["spec.usages: Required value"]
    errs = api.validate_create(csr_object(jane_pem, usages=("client auth", "Client Auth", "client auth")))
    assert errs[0].cause() == {
        "reason": "FieldValueNotSupported",
        "field": "spec.usages[1]",
        "message": (
            'Unsupported value: "Client Auth": supported values: "any", "cert sign", "client auth", "code signing", '
            '"content commitment", "crl sign", "data encipherment", "decipher only", "digital signature", '
            '"email protection", "encipher only", "ipsec end system", "ipsec tunnel", "ipsec user", "key agreement", '
            '"key encipherment", "microsoft sgc", "netscape sgc", "ocsp signing", "s/mime", "server auth", "signing", '
            '"timestamping"'
        ),
    }
    assert str(errs[1]) == 'spec.usages[2]: Duplicate value: "client auth"'
    assert (
        api.validate_create(csr_object(jane_pem, usages=("digital signature", "key encipherment", "client auth"))) == []
    )


@pytest.mark.parametrize(
    "signer, messages",
    [
        ("", ["spec.signerName: Required value"]),
        (
            "kubernetes.io/legacy-unknown",
            [
                'spec.signerName: Invalid value: "kubernetes.io/legacy-unknown": the legacy signerName is not allowed via '
                "this API version"
            ],
        ),
        (
            "kubernetes.io",
            [
                'spec.signerName: Invalid value: "kubernetes.io": must be a fully qualified domain and path '
                "of the form 'example.com/signer-name'"
            ],
        ),
        (
            "example/signer",
            [
                'spec.signerName: Invalid value: "example": should be a domain with at least two segments '
                "separated by dots"
            ],
        ),
        (
            "Example.com/x",
            [
                'spec.signerName: Invalid value: "Example.com": validating label "Example": a lowercase RFC '
                "1123 label must consist of lower case alphanumeric characters or '-', and must start and "
                "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            ],
        ),
        (
            "example.com/My_Signer",
            [
                'spec.signerName: Invalid value: "My_Signer": validating label "My_Signer": a '
                "lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                "'-' or '.', and must start and end with an alphanumeric character (e.g. "
                "'example.com', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ],
        ),
        ("example.com/" + ".".join(["a" * 60] * 10), ["spec.signerName: Too long: may not be more than 571 bytes"]),
    ],
)
def test_signer_name_rules(jane_pem, signer, messages):
    assert [str(e) for e in api.validate_create(csr_object(jane_pem, signer=signer))] == messages


def test_signer_name_valid_forms(jane_pem):
    for signer in (CLIENT, "example.com/my-signer", "example.com/ns.name", "a.b/c"):
        assert api.validate_create(csr_object(jane_pem, signer=signer)) == []


def test_several_errors_are_bracketed_in_go_order(jane_pem, kubeadm_admin):
    with pytest.raises(StatusError) as info:
        csradmission.create(
            csr_object(b"x", usages=("client auth", "client auth"), signer="x", seconds=1), kubeadm_admin
        )
    message = info.value.message
    assert message.startswith(
        'CertificateSigningRequest.certificates.k8s.io "jane" is invalid: [spec.request: '
        "Invalid value: []byte{0x78}: PEM block type must be CERTIFICATE REQUEST, "
        'spec.usages[1]: Duplicate value: "client auth", spec.signerName: Invalid value: "x": '
    )
    assert message.endswith(
        "spec.expirationSeconds: Invalid value: 1: may not specify a duration less than 600 seconds (10 minutes)]"
    )
    assert [c["field"] for c in info.value.details["causes"]] == [
        "spec.request",
        "spec.usages[1]",
        "spec.signerName",
        "spec.expirationSeconds",
    ]


def test_undecodable_fields_are_400(jane_pem, kubeadm_admin):
    obj = csr_object(jane_pem)
    obj["spec"]["request"] = "abc!"
    with pytest.raises(StatusError) as info:
        csradmission.create(obj, kubeadm_admin)
    assert (info.value.code, info.value.message) == (
        400,
        'CertificateSigningRequest in version "v1" cannot be '
        "handled as a CertificateSigningRequest: illegal base64 "
        "data at input byte 3",
    )
    obj = csr_object(jane_pem)
    obj["spec"]["expirationSeconds"] = "600"
    with pytest.raises(
        StatusError,
        match="json: cannot unmarshal string into Go struct field "
        "CertificateSigningRequestSpec.spec.expirationSeconds of type int32",
    ):
        api.check_decodable(obj)
    api.check_decodable(csr_object(jane_pem, seconds=600))


# ----------------------------------------------------------------------------- admission
def test_subject_restriction_refuses_system_masters(tmp_path, kubeadm_admin):
    pem = openssl_csr(tmp_path, "/O=system:masters/CN=mallory")
    with pytest.raises(StatusError) as info:
        csradmission.create(csr_object(pem, name="mallory"), kubeadm_admin)
    assert info.value.status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'certificatesigningrequests.certificates.k8s.io "mallory" is forbidden: use of '
        "kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed",
        "reason": "Forbidden",
        "details": {"name": "mallory", "group": "certificates.k8s.io", "kind": "certificatesigningrequests"},
        "code": 403,
    }
    # another signer, or another group: no objection from this plugin
    csradmission.create(csr_object(pem, signer="example.com/mine"), kubeadm_admin)
    csradmission.create(csr_object(openssl_csr(tmp_path, "/O=system:masterz/CN=x")), kubeadm_admin)


def test_validation_answers_before_admission(tmp_path, kubeadm_admin):
    pem = openssl_csr(tmp_path, "/O=system:masters/CN=mallory")
    with pytest.raises(StatusError) as info:
        csradmission.create(csr_object(pem, seconds=10), kubeadm_admin)
    assert info.value.code == 422


@pytest.mark.parametrize("user", ["anna", "dora"])
def test_approval_needs_approve_on_the_signer_or_its_domain(jane_pem, user, authenticated_user, as_user):
    stored = csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev"))
    result = approved(stored, as_user(user))
    assert result["status"]["conditions"] == [
        {
            "type": "Approved",
            "status": "True",
            "reason": "KubectlApprove",
            "message": "This CSR was approved by kubectl certificate approve.",
            "lastUpdateTime": "2026-12-06T12:00:00Z",
            "lastTransitionTime": "2026-12-06T12:00:00Z",
        }
    ]
    assert result["spec"] == stored["spec"]


@pytest.mark.parametrize("kind", ["Approved", "Denied"])
def test_approval_without_approve_is_403(jane_pem, kind, authenticated_user, as_user):
    stored = csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev"))
    with pytest.raises(StatusError) as info:
        approved(stored, as_user("sam"), kind)
    assert info.value.message == (
        'certificatesigningrequests.certificates.k8s.io "jane" is forbidden: user not '
        'permitted to approve requests with signerName "kubernetes.io/kube-apiserver-client"'
    )
    assert info.value.code == 403


def test_domain_wildcard_does_not_cover_another_domain(jane_pem, authenticated_user, as_user):
    stored = csradmission.create(csr_object(jane_pem, signer="example.com/mine"), authenticated_user("jane", "dev"))
    with pytest.raises(StatusError, match='signerName "example.com/mine"'):
        approved(stored, as_user("dora"))


def test_status_update_with_a_certificate_needs_sign(jane_pem, authenticated_user, as_user):
    ca = k8s.CA.create("kubernetes")
    stored = approved(csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev")), as_user("anna"))
    body = {
        **stored,
        "status": {**stored["status"], "certificate": base64.b64encode(ca.issue_client_cert("jane").cert_pem).decode()},
    }
    with pytest.raises(StatusError) as info:
        csradmission.update(body, stored, "status", as_user("anna"), now=NOW)
    assert info.value.message == (
        'certificatesigningrequests.certificates.k8s.io "jane" is forbidden: user not '
        'permitted to sign requests with signerName "kubernetes.io/kube-apiserver-client"'
    )
    signed = csradmission.update(body, stored, "status", as_user("sam"), now=NOW)
    assert signed["status"]["certificate"] == body["status"]["certificate"]
    # an unchanged /status update needs no sign permission
    assert csradmission.update(stored, stored, "status", as_user("anna"), now=NOW) == stored


# -------------------------------------------------------------------------- update rules
def test_main_resource_update_keeps_spec_and_status(jane_pem, authenticated_user):
    stored = csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev"))
    new = {
        **stored,
        "metadata": {"name": "jane", "labels": {"a": "b"}},
        "spec": {**stored["spec"], "usages": ["server auth"]},
        "status": {"conditions": [{"type": "Approved", "status": "True"}]},
    }
    result = csradmission.update(new, stored, "", lambda attrs: False)
    assert result["spec"] == stored["spec"] and result["status"] == {}
    assert result["metadata"]["labels"] == {"a": "b"}


def test_approved_and_denied_are_mutually_exclusive(jane_pem, authenticated_user, as_user):
    stored = approved(csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev")), as_user("anna"))
    both = {**stored, "status": {"conditions": stored["status"]["conditions"] + [{"type": "Denied", "status": "True"}]}}
    with pytest.raises(StatusError) as info:
        csradmission.update(both, stored, "approval", as_user("anna"), now=NOW)
    assert info.value.details["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "field": "status.conditions[1].type",
            "message": 'Invalid value: "Denied": Approved and Denied conditions are mutually exclusive',
        }
    ]


def test_conditions_cannot_be_removed_or_added_outside_approval(jane_pem, authenticated_user, as_user):
    stored = approved(csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev")), as_user("anna"))
    with pytest.raises(StatusError) as info:
        csradmission.update({**stored, "status": {}}, stored, "approval", as_user("anna"), now=NOW)
    assert [str(e) for e in api.validate_update({**stored, "status": {}}, stored, "approval")] == [
        'status.conditions: Forbidden: updates may not remove a condition of type "Approved"'
    ]
    assert info.value.code == 422
    fresh = csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev"))
    adding = {
        **fresh,
        "status": {
            "conditions": [{"type": "Approved", "status": "True", "lastUpdateTime": "x", "lastTransitionTime": "x"}]
        },
    }
    assert [str(e) for e in api.validate_update(adding, fresh, "status")] == [
        'status.conditions: Forbidden: updates may not add a condition of type "Approved"'
    ]
    assert api.validate_update(adding, fresh, "approval") == []


def test_condition_status_values(jane_pem, authenticated_user):
    fresh = csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev"))
    bad = {
        **fresh,
        "status": {
            "conditions": [{"type": "Approved", "status": "False"}, {"type": "Custom"}, {"type": "", "status": "Maybe"}]
        },
    }
    assert [str(e) for e in api.validate_update(bad, fresh, "approval")] == [
        'status.conditions[0].status: Unsupported value: "False": supported values: "True"',
        "status.conditions[1].status: Required value",
        "status.conditions[2].type: Required value",
        'status.conditions[2].status: Unsupported value: "Maybe": supported values: "False", "True", "Unknown"',
    ]


def test_status_strategy_preserves_approval_and_transition_times(jane_pem, authenticated_user, as_user):
    stored = approved(csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev")), as_user("anna"))
    later = NOW + timedelta(hours=1)
    edited = {
        **stored,
        "status": {
            "conditions": [
                {"type": "Approved", "status": "True", "reason": "Edited"},
                {"type": "Failed", "status": "True", "reason": "X"},
            ]
        },
    }
    result = api.prepare_for_update(edited, stored, "status", later)
    assert result["status"]["conditions"][0] == stored["status"]["conditions"][0]
    assert result["status"]["conditions"][1]["lastTransitionTime"] == "2026-12-06T13:00:00Z"
    # /approval keeps a transition time of the same type and status
    again = {**stored, "status": {"conditions": [{"type": "Approved", "status": "True", "reason": "Again"}]}}
    result = api.prepare_for_update(again, stored, "approval", later)
    assert result["status"]["conditions"][0]["lastUpdateTime"] == "2026-12-06T13:00:00Z"
    assert result["status"]["conditions"][0]["lastTransitionTime"] == "2026-12-06T12:00:00Z"


def test_certificate_rules_on_update(jane_pem, authenticated_user, as_user):
    stored = approved(csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev")), as_user("anna"))
    garbage = {**stored, "status": {**stored["status"], "certificate": base64.b64encode(b"nope").decode()}}
    assert [str(e) for e in api.validate_update(garbage, stored, "status")] == [
        'status.certificate: Invalid value: "<certificate data>": must contain at least one CERTIFICATE PEM block'
    ]
    assert [str(e) for e in api.validate_update(garbage, stored, "approval")][-1] == (
        "status.certificate: Forbidden: updates may not set certificate content"
    )
    signed = csrsigner.sign(stored, k8s.CA.create("kubernetes"), now=NOW)
    other = {**signed, "status": {**signed["status"], "certificate": stored_cert(k8s.CA.create("kubernetes"))}}
    assert [str(e) for e in api.validate_update(other, signed, "status")] == [
        "status.certificate: Forbidden: updates may not modify existing certificate content"
    ]


def stored_cert(ca):
    return base64.b64encode(ca.issue_client_cert("x").cert_pem).decode()


# ---------------------------------------------------------------------------------- signer
@pytest.fixture
def approve(as_user):
    return lambda stored: approved(stored, as_user("anna"))


def signed_cert(result):
    return x509.load_pem_x509_certificate(base64.b64decode(result["status"]["certificate"]))


@pytest.mark.parametrize("key", ["rsa:2048", "ec"])
def test_signer_issues_a_client_certificate_openssl_accepts(tmp_path, ca, approve, key, authenticated_user):
    pem = openssl_csr(
        tmp_path,
        "/O=dev/O=ops/CN=jane",
        key=key,
        san="DNS:jane.example,IP:10.0.0.1,email:jane@example.com,URI:spiffe://lab/jane",
    )
    stored = approve(
        csradmission.create(
            csr_object(pem, usages=("digital signature", "key encipherment", "client auth")),
            authenticated_user("jane", "dev"),
        )
    )
    result = csrsigner.sign(stored, ca)
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
    (tmp_path / "jane.crt").write_bytes(base64.b64decode(result["status"]["certificate"]))
    verify = subprocess.run(
        ["openssl", "verify", "-purpose", "sslclient", "-CAfile", str(tmp_path / "ca.crt"), str(tmp_path / "jane.crt")],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stderr
    cert = signed_cert(result)
    assert kubernetes_identity(cert).user == "jane"
    assert set(kubernetes_identity(cert).groups) == {"dev", "ops", "system:authenticated"}
    text = subprocess.run(
        [
            "openssl",
            "x509",
            "-noout",
            "-subject",
            "-ext",
            "subjectAltName,keyUsage,extendedKeyUsage",
            "-in",
            str(tmp_path / "jane.crt"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "subject=O = dev + O = ops, CN = jane" in text  # Go puts both groups in one RDN
    assert "DNS:jane.example, email:jane@example.com, IP Address:10.0.0.1, URI:spiffe://lab/jane" in text
    assert "Digital Signature, Key Encipherment" in text and "TLS Web Client Authentication" in text
    assert x509.load_pem_x509_csr(pem).public_key().public_numbers() == cert.public_key().public_numbers()
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    # the key never left the "user": the certificate matches the openssl key
    assert k8s.key_matches(cert, k8s.load_private_key((tmp_path / "k.pem").read_bytes()))


def test_signed_certificate_fails_against_another_ca(tmp_path, ca, other_ca, approve, jane_pem, authenticated_user):
    result = csrsigner.sign(approve(csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev"))), ca)
    (tmp_path / "other.crt").write_bytes(other_ca.cert_pem)
    (tmp_path / "jane.crt").write_bytes(base64.b64decode(result["status"]["certificate"]))
    verify = subprocess.run(
        [
            "openssl",
            "verify",
            "-purpose",
            "sslclient",
            "-CAfile",
            str(tmp_path / "other.crt"),
            str(tmp_path / "jane.crt"),
        ],
        capture_output=True,
        text=True,
    )
    assert verify.returncode != 0


@pytest.mark.parametrize(
    "seconds, not_after",
    [
        (None, timedelta(hours=8760) - timedelta(minutes=5)),  # --cluster-signing-duration default
        (3600, timedelta(hours=1)),  # under 8h: no backdate subtracted
        (600, timedelta(minutes=10)),
        (8 * 3600, timedelta(hours=8) - timedelta(minutes=5)),
        (10 * 365 * 86400, timedelta(hours=8760) - timedelta(minutes=5)),  # capped at one year
    ],
)
def test_certificate_lifetime(approve, jane_pem, seconds, not_after, authenticated_user):
    ca = k8s.CA.create("kubernetes")
    result = csrsigner.sign(
        approve(csradmission.create(csr_object(jane_pem, seconds=seconds), authenticated_user("jane", "dev"))),
        ca,
        now=NOW,
    )
    cert = signed_cert(result)
    assert cert.not_valid_before_utc == NOW - timedelta(minutes=5)
    assert cert.not_valid_after_utc == NOW + not_after


def test_certificate_never_outlives_the_ca(approve, jane_pem, authenticated_user):
    ca = k8s.CA.create("kubernetes", not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=2))
    cert = signed_cert(
        csrsigner.sign(
            approve(csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev"))), ca, now=NOW
        )
    )
    assert cert.not_valid_after_utc == NOW + timedelta(days=2)
    expired = k8s.CA.create("kubernetes", not_before=NOW - timedelta(days=9), not_after=NOW - timedelta(minutes=1))
    with pytest.raises(
        InputError,
        match=r"^error auto signing csr: refusing to sign a certificate that expired in "
        r"the past: NotAfter=2026-12-06 11:59:00 \+0000 UTC$",
    ):
        csrsigner.sign(
            approve(csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev"))), expired, now=NOW
        )
    long_gone = k8s.CA.create("kubernetes", not_before=NOW - timedelta(days=9), not_after=NOW - timedelta(hours=1))
    with pytest.raises(InputError, match="the signer has expired: NotAfter=2026-12-06 11:00:00"):
        csrsigner.sign(
            approve(csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev"))), long_gone, now=NOW
        )


@pytest.mark.parametrize(
    "usages, message",
    [
        (("client auth", "server auth"), "invalid usage for client certificate: server auth"),
        (("digital signature",), "missing required usage for client certificate: client auth"),
    ],
)
def test_usages_outside_the_signers_set_fail_the_request(approve, jane_pem, usages, message, authenticated_user):
    stored = approve(csradmission.create(csr_object(jane_pem, usages=usages), authenticated_user("jane", "dev")))
    later = NOW + timedelta(seconds=3)
    result = csrsigner.sign(stored, k8s.CA.create("kubernetes"), now=later)
    assert "certificate" not in result["status"]
    assert result["status"]["conditions"][-1] == {
        "type": "Failed",
        "status": "True",
        "reason": "SignerValidationFailure",
        "message": message,
        "lastUpdateTime": "2026-12-06T12:00:03Z",
        "lastTransitionTime": "2026-12-06T12:00:03Z",
    }
    assert api.validate_update(result, stored, "status") == []
    assert csrsigner.sign(result, k8s.CA.create("kubernetes")) is None  # Failed: never again


def test_signer_leaves_other_requests_alone(approve, authorizer, jane_pem, authenticated_user, as_user):
    ca = k8s.CA.create("kubernetes")
    pending = csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev"))
    assert csrsigner.sign(pending, ca) is None
    denied = approved(pending, as_user("anna"), "Denied")
    assert csrsigner.sign(denied, ca) is None
    masters = Identity("root", ("system:masters", "system:authenticated"))
    mine = csradmission.create(csr_object(jane_pem, signer="example.com/mine"), authenticated_user("jane", "dev"))
    assert csrsigner.sign(approved(mine, lambda attrs: authorizer.authorize(masters, attrs)), ca) is None
    done = csrsigner.sign(approve(pending), ca)
    assert csrsigner.sign(done, ca) is None


def test_go_subject_keeps_only_pkix_fields_in_go_order(tmp_path, approve, authenticated_user):
    pem = openssl_csr(tmp_path, "/CN=first/emailAddress=j@example.com/CN=jane/OU=team/O=b/O=a/C=KR/DC=lab")
    cert = signed_cert(
        csrsigner.sign(
            approve(csradmission.create(csr_object(pem), authenticated_user("jane", "dev"))),
            k8s.CA.create("kubernetes"),
        )
    )
    assert cert.subject.rfc4514_string() == "CN=jane,OU=team,O=a+O=b,C=KR"
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0]
    assert cn._type.name == "PrintableString"
    name = csrsigner.go_subject(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dev_team")]))
    assert name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0]._type.name == "UTF8String"


def test_repeated_subject_values_are_written_once(tmp_path, approve, authenticated_user):
    pem = openssl_csr(tmp_path, "/O=dev/O=dev/CN=jane")
    cert = signed_cert(
        csrsigner.sign(
            approve(csradmission.create(csr_object(pem), authenticated_user("jane", "dev"))),
            k8s.CA.create("kubernetes"),
        )
    )
    assert cert.subject.rfc4514_string() == "CN=jane,O=dev"


def test_go_usages_order_and_aliases():
    assert csrsigner.go_usages(["client auth", "server auth", "s/mime", "signing"]) == [
        "signing",
        "server auth",
        "client auth",
        "email protection",
    ]
    with pytest.raises(InputError, match=r'unrecognized usage values: \["nope"\]'):
        csrsigner.go_usages(["nope"])


def test_eku_comes_from_usages_only(tmp_path, approve, jane_pem, authenticated_user):
    cert = signed_cert(
        csrsigner.sign(
            approve(csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev"))),
            k8s.CA.create("kubernetes"),
        )
    )
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.KeyUsage)  # no key usage asked for, none given


def test_the_whole_kubectl_flow_gives_a_certificate_for_the_csr_user(tmp_path, kubeadm_admin, as_user):
    ca = k8s.CA.create("kubernetes")
    request = k8s.make_csr("jane", orgs=["dev"], key="ecdsa-p256")
    stored = csradmission.create(csr_object(request.csr_pem, seconds=86400), kubeadm_admin)
    stored = approved(stored, as_user("anna"))
    stored = csrsigner.sign(stored, ca)
    cert = k8s.Cert(signed_cert(stored), request.key)
    assert cert.identity.user == "jane" and cert.identity.groups == ("dev", "system:authenticated")
    assert k8s.verify_chain(cert.cert, [ca.cert], purpose="client")[-1] == ca.cert
    with pytest.raises(k8s.VerificationError):
        k8s.verify_chain(cert.cert, [k8s.CA.create("kubernetes").cert], purpose="client")


def test_selectable_fields(jane_pem, authenticated_user):
    stored = csradmission.create(csr_object(jane_pem), authenticated_user("jane", "dev"))
    assert api.selectable_fields(stored) == {"metadata.name": "jane", "spec.signerName": CLIENT}


def test_field_error_bodies_follow_go_error_body():
    from k8sauthlib.lab import apierrors as e

    assert str(e.invalid("f", True, "d")) == "f: Invalid value: true: d"
    assert str(e.invalid("f", None, "d")) == "f: Invalid value: null: d"
    assert str(e.invalid("f", 'a"b', "")) == 'f: Invalid value: "a\\"b"'
    assert str(e.required("f", "name or generateName is required")) == (
        "f: Required value: name or generateName is required"
    )
    assert str(e.forbidden("f", "no")) == "f: Forbidden: no"
    assert str(e.too_long("f", 5)) == "f: Too long: may not be more than 5 bytes"
    assert str(e.not_supported("f", "x", ())) == 'f: Unsupported value: "x"'
    # ToAggregate drops a repeated message; the causes keep every error
    err = e.new_invalid("g.io", "K", "n", [e.required("f"), e.required("f")])
    assert err.message == 'K.g.io "n" is invalid: f: Required value'
    assert len(err.details["causes"]) == 2


def test_forbidden_and_bad_request_shapes():
    from k8sauthlib.lab import apierrors as e

    assert e.new_forbidden("", "", "", "x").status["message"] == "forbidden: x"
    assert e.new_forbidden("g", "r", "", "x").status["details"] == {"group": "g", "kind": "r"}
    assert e.new_forbidden("g", "r", "", "x").message == "r.g is forbidden: x"
    assert "details" not in e.new_bad_request("bad").status


def test_undecodable_certificate_and_int32_range(jane_pem):
    obj = csr_object(jane_pem)
    obj["status"] = {"certificate": "AAA"}
    with pytest.raises(StatusError, match="illegal base64 data at input byte 0"):
        api.check_decodable(obj)
    with pytest.raises(
        StatusError,
        match="cannot unmarshal number 2147483648 into Go struct field "
        "CertificateSigningRequestSpec.spec.expirationSeconds of type int32",
    ):
        api.check_decodable(csr_object(jane_pem, seconds=2**31))
    api.check_decodable(csr_object(jane_pem, seconds=2**31 - 1))
