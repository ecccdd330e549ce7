"""Reading cfssl's JSON inputs and issuing from them (k8sauthlib.cfssl), in-process.

Every field of a CSR request and a signing configuration, every error where cfssl would fail
silently, and the certificates gencert/initca produce, read back extension by extension.
The same inputs are run through the real cfssl in test_interop_cfssl.py.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import k8sauthlib as k8s
from k8sauthlib import cfssl
from k8sauthlib.go.text import go_json_marshal
from k8sauthlib.pki.names import classify_host

# The article's four inputs (TOOLCHAIN-NOTES §4 / SEED-OUTLINE §2).
ROOT_CA_CSR = {"CN": "rootCA", "key": {"algo": "rsa", "size": 2048}, "names": [{"O": "Kubernetes"}]}
ROOT_CA_CONFIG = {
    "signing": {
        "default": {"expiry": "8760h"},
        "profiles": {
            "root-ca": {"usages": ["signing", "key encipherment", "server auth", "client auth"], "expiry": "8760h"}
        },
    }
}
SERVER_CSR = {
    "CN": "localhost",
    "hosts": ["localhost", "127.0.0.1"],
    "key": {"algo": "rsa", "size": 2048},
    "names": [{"O": "server-group"}],
}
CLIENT_CSR = {"CN": "localhost", "key": {"algo": "rsa", "size": 2048}, "names": [{"O": "client-group"}]}

CFSSL_KEYS = {"rsa-2048": {"algo": "rsa", "size": 2048}, "ecdsa-p256": {"algo": "ecdsa", "size": 256}}
NOW = datetime(2026, 11, 29, 10, 0, 10, tzinfo=timezone.utc)


def with_key(request: dict, key_type: str) -> dict:
    return {**request, "key": CFSSL_KEYS[key_type]}


def ext(cert, cls):
    cert = getattr(cert, "cert", cert)
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def san_strings(cert) -> list[str]:
    san = ext(cert, x509.SubjectAlternativeName)
    return [] if san is None else [f"{type(g).__name__}:{g.value}" for g in san]


def one_sentence(message: str) -> bool:
    return "\n" not in message and message.strip() != ""


# ------------------------------------------------------------------------------- CSR requests
def test_article_csr_requests_parse():
    root = cfssl.CsrRequest.from_json(ROOT_CA_CSR)
    assert root.common_name == "rootCA"
    assert root.organizations == ["Kubernetes"]
    assert root.key == cfssl.KeyRequest("rsa", 2048) and root.key_given
    assert root.key.spec == "rsa-2048" and str(root.key) == "rsa-2048"
    assert root.hosts == () and root.ca is None
    server = cfssl.CsrRequest.from_json(json.dumps(SERVER_CSR))
    assert server.hosts == ("localhost", "127.0.0.1")
    assert server.sans() == ["localhost", "127.0.0.1"]
    client = cfssl.CsrRequest.from_json(json.dumps(CLIENT_CSR).encode())
    assert client.attributes() == [("O", ["client-group"]), ("CN", ["localhost"])]


def test_csr_request_from_file_names_the_file_in_errors(tmp_path):
    path = tmp_path / "server-csr.json"
    path.write_text(json.dumps(SERVER_CSR))
    assert cfssl.CsrRequest.from_json(path).source == str(path)
    assert cfssl.CsrRequest.from_json(str(path)).common_name == "localhost"
    path.write_text('{"CN": "x", "host": ["a"]}')
    with pytest.raises(k8s.InputError, match="server-csr.json"):
        cfssl.CsrRequest.from_json(path)


def test_default_key_is_ecdsa_p256_like_cfssl():
    req = cfssl.CsrRequest.from_json({"CN": "alice"})
    assert req.key == cfssl.KeyRequest("ecdsa", 256)
    assert not req.key_given
    assert req.key.spec == "ecdsa-p256"
    assert cfssl.CsrRequest.from_json({"CN": "alice", "key": None}).key.spec == "ecdsa-p256"


def test_repeated_names_append_and_follow_gos_rdn_order():
    req = cfssl.CsrRequest.from_json(
        {
            "CN": "alice",
            "serialnumber": "42",
            "names": [
                {"O": "zeta", "C": "US", "E": "a@example.com"},
                {"OU": "u1", "O": "alpha", "ST": "CA"},
                {"L": "SF", "OU": "u0"},
                {"O": ""},
            ],
        }
    )
    # C, ST, L, O, OU, CN, serialNumber, then emailAddress; repeated values share one RDN.
    assert req.attributes() == [
        ("C", ["US"]),
        ("ST", ["CA"]),
        ("L", ["SF"]),
        ("O", ["zeta", "alpha"]),
        ("OU", ["u1", "u0"]),
        ("CN", ["alice"]),
        ("serialNumber", ["42"]),
        ("E", ["a@example.com"]),
    ]
    assert req.organizations == ["zeta", "alpha"]
    name = req.subject()
    assert len(name.rdns) == 8
    assert [len(rdn) for rdn in name.rdns] == [1, 1, 1, 2, 2, 1, 1, 1]
    assert {a.value for a in name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)} == {"zeta", "alpha"}


def test_subject_string_types_are_gos():
    req = cfssl.CsrRequest.from_json(
        {"CN": "plain name", "names": [{"O": "a*b&c"}, {"O": "개발자"}, {"OU": "x.y-z (1)"}]}
    )
    types = {a.value: a._type for a in req.subject()}
    assert types["plain name"] == _ASN1Type.PrintableString
    assert types["x.y-z (1)"] == _ASN1Type.PrintableString
    assert types["a*b&c"] == _ASN1Type.UTF8String  # Go leaves '*' and '&' out of PrintableString
    assert types["개발자"] == _ASN1Type.UTF8String


def test_field_names_match_case_insensitively_like_go():
    req = cfssl.CsrRequest.from_json(
        {"cn": "lower", "HOSTS": ["a.example"], "Names": [{"o": "g1"}], "KEY": {"ALGO": "ecdsa", "Size": 384}}
    )
    assert (req.common_name, req.hosts, req.organizations, req.key.spec) == (
        "lower",
        ("a.example",),
        ["g1"],
        "ecdsa-p384",
    )


def test_json_null_means_absent():
    req = cfssl.CsrRequest.from_json('{"CN": "a", "hosts": null, "names": null, "ca": null}')
    assert req.hosts == () and req.names == () and req.ca is None


def test_ca_section():
    req = cfssl.CsrRequest.from_json({"CN": "ca", "ca": {"expiry": "87600h", "pathlen": 1}})
    assert req.ca == cfssl.CAConfig(path_length=1, expiry=timedelta(hours=87600))
    assert cfssl.CsrRequest.from_json({"CN": "ca", "ca": {"pathlen": 0, "pathlenzero": True}}).ca.path_length == 0
    # pathlen 0 without pathlenzero is Go's "no limit"
    assert cfssl.CsrRequest.from_json({"CN": "ca", "ca": {"pathlen": 0}}).ca.path_length is None
    assert cfssl.CsrRequest.from_json({"CN": "ca", "ca": {"backdate": "1h"}}).ca.backdate == timedelta(hours=1)


@pytest.mark.parametrize(
    "host, kind, value",
    [
        ("127.0.0.1", "ip", "127.0.0.1"),
        ("::1", "ip", "::1"),
        ("::ffff:10.0.0.1", "ip", "10.0.0.1"),  # Go writes IPv4-mapped addresses as 4 bytes
        ("alice@example.com", "email", "alice@example.com"),
        ("Alice <alice@example.com>", "email", "alice@example.com"),  # mail.ParseAddress
        ("root@localhost", "email", "root@localhost"),
        ("spiffe://cluster.local/ns/default/sa/web", "uri", "spiffe://cluster.local/ns/default/sa/web"),
        ("https://example.com/", "uri", "https://example.com/"),
        ("localhost", "dns", "localhost"),
        ("*.example.com", "dns", "*.example.com"),
        ("kubernetes.default.svc.cluster.local", "dns", "kubernetes.default.svc.cluster.local"),
    ],
)
def test_hosts_are_classified_by_cfssls_rule(host, kind, value):
    assert classify_host(host) == (kind, value)


@pytest.mark.parametrize(
    "host, words",
    [
        ("", "empty"),
        (" localhost", "white space around it"),
        ("my host", "white space"),
        ("/var/run", "URI needs a scheme"),
        ("*", "URI needs a scheme"),
        ("localhost:8443", "port"),
        ("bücher.example", "punycode"),
    ],
)
def test_hosts_that_cannot_be_a_useful_san_fail(host, words):
    with pytest.raises(k8s.InputError, match=words) as info:
        cfssl.CsrRequest.from_json({"CN": "x", "hosts": ["ok.example", host]})
    assert "hosts[1]" in str(info.value) and one_sentence(str(info.value))


def test_sans_come_out_in_gos_order():
    req = cfssl.CsrRequest.from_json(
        {"CN": "x", "hosts": ["b@x.org", "spiffe://a/b", "10.0.0.1", "zz.example", "::1", "a.example"]}
    )
    assert req.sans() == ["zz.example", "a.example", "b@x.org", "10.0.0.1", "::1", "spiffe://a/b"]
    assert req.with_hosts(cfssl.split_hosts("a.com,1.2.3.4")).hosts == ("a.com", "1.2.3.4")
    assert cfssl.split_hosts("") == ()


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"CN": "x",\n "hosts": [}', "malformed JSON at line 2, column 12"),
        ('{"CN": "x", "hosts": ["a"]', "incomplete JSON"),
        ('{"CN": "x", ', "incomplete JSON"),
        ("", "is empty"),
        ("   \n", "is empty"),
        ('["CN", "x"]', "expected a JSON object"),
        ('{"CN": 5}', "CN must be a string, not a number"),
        ('{"CN": "x", "hosts": "a.example"}', "hosts must be a list of strings, not a string"),
        ('{"CN": "x", "hosts": [1]}', r"hosts\[0\] must be a string"),
        ('{"CN": "x", "names": {"O": "g"}}', "names must be a list of objects"),
        ('{"CN": "x", "names": ["g"]}', r"names\[0\] must be a JSON object"),
        ('{"CN": "x", "names": [{"O": 5}]}', r"names\[0\].O must be a string"),
        ('{"CN": "x", "key": "rsa-2048"}', "key must be a JSON object"),
        ('{"CN": "x", "key": {"algo": "rsa", "size": "2048"}}', "key.size must be a whole number, not a string"),
        ('{"CN": "x", "key": {"algo": "rsa", "size": 2048.0}}', "key.size must be a whole number"),
        ('{"CN": "x", "key": {"algo": "rsa", "size": true}}', "key.size must be a whole number, not a boolean"),
        ('{"CN": "x", "host": ["a"]}', "unknown field 'host' \\(did you mean 'hosts'\\?\\)"),
        ('{"CN": "x", "name": [{"O": "g"}]}', "did you mean 'names'"),
        ('{"CN": "x", "names": [{"Org": "g"}]}', "unknown field 'Org'"),
        ('{"CN": "x", "cn": "y"}', "given twice"),
        ('{"CN": "x", "CN": "y"}', "given twice"),
        ('{"CN": "x", "extensions": []}', "not supported"),
        ('{"CN": "x", "names": [{"OID": {"1.2.3": "v"}}]}', "not supported"),
        ('{"CN": "x", "names": [{"SerialNumber": "1"}]}', "serialnumber"),
        ('{"CN": "x", "key": {"algo": "rsa", "size": 1024}}', "too small.*RSA key is too weak"),
        ('{"CN": "x", "key": {"algo": "rsa", "size": 2500}}', "not supported for rsa; use 2048, 3072 or 4096"),
        ('{"CN": "x", "key": {"algo": "ecdsa", "size": 521}}', "not supported for ecdsa"),
        ('{"CN": "x", "key": {"algo": "ecdsa", "size": 2048}}', "not supported for ecdsa"),
        ('{"CN": "x", "key": {"algo": "RSA", "size": 2048}}', "lower case only"),
        ('{"CN": "x", "key": {"algo": "ed25519"}}', "not supported"),
        ('{"CN": "x", "key": {"algo": "rsa"}}', "key.size is missing"),
        ('{"CN": "x", "key": {"size": 2048}}', "key.algo is missing"),
        ('{"CN": "x", "ca": {"pathlen": -1}}', "must not be negative"),
        ('{"CN": "x", "ca": {"pathlen": 2, "pathlenzero": true}}', "contradicts"),
        ('{"CN": "x", "ca": {"pathlenzero": "yes"}}', "true or false"),
        ('{"CN": "x", "ca": {"expiry": "10y"}}', "not a Go duration.*8760h"),
        ('{"CN": "x", "ca": {"expiry": "-1h"}}', "must be positive"),
        ("{}", "neither a CN nor names"),
        ('{"names": [{"O": " "}]}', r"names\[0\] is empty"),
        ('{"CN": "x", "names": [{"C": "KOR"}]}', "two-letter country code"),
    ],
)
def test_bad_csr_requests_fail_with_one_clear_sentence(text, words):
    with pytest.raises(k8s.InputError, match=words) as info:
        cfssl.CsrRequest.from_json(text)
    assert one_sentence(str(info.value))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(k8s.InputError, match="does not exist"):
        cfssl.CsrRequest.from_json(tmp_path / "nope.json")
    with pytest.raises(k8s.InputError, match="is a directory"):
        cfssl.SigningConfig.from_json(tmp_path)


def test_empty_cn_with_groups_is_allowed():
    # Kubernetes reads a certificate without CN as anonymous; cfssl allows it when names are given.
    req = cfssl.CsrRequest.from_json({"names": [{"O": "developers"}]})
    assert req.attributes() == [("O", ["developers"])]


# --------------------------------------------------------------------------- signing configs
def test_article_signing_config():
    cfg = cfssl.SigningConfig.from_json(ROOT_CA_CONFIG)
    assert cfg.default == cfssl.SigningProfile("default", (), timedelta(hours=8760))
    profile = cfg.profile("root-ca")
    assert profile.usages == ("signing", "key encipherment", "server auth", "client auth")
    assert profile.expiry == timedelta(hours=8760)
    assert profile.backdate == timedelta(minutes=5)
    assert not profile.is_ca and profile.path_length is None


def test_unknown_profile_fails_instead_of_falling_back():
    cfg = cfssl.SigningConfig.from_json(ROOT_CA_CONFIG)
    with pytest.raises(k8s.UnknownProfileError) as info:
        cfg.profile("rootca")
    message = str(info.value)
    assert "'rootca'" in message and "did you mean 'root-ca'" in message and "root-ca" in message
    assert "signing.default" in message and one_sentence(message)
    with pytest.raises(k8s.UnknownProfileError, match="no signing configuration"):
        cfssl.SigningConfig.builtin().profile("kubernetes")


def test_default_profile_selection():
    cfg = cfssl.SigningConfig.from_json({"signing": {"default": {"usages": ["signing"], "expiry": "1h"}}})
    assert cfg.profile(None) is cfg.default and cfg.profile("") is cfg.default
    assert cfg.profile("default") is cfg.default


def test_default_profile_without_usages_cannot_sign():
    cfg = cfssl.SigningConfig.from_json(ROOT_CA_CONFIG)
    with pytest.raises(k8s.InputError, match="no key usage available"):
        cfg.profile(None)


def test_builtin_configuration_is_cfssls_default():
    profile = cfssl.SigningConfig.builtin().profile(None)
    assert profile.usages == ("signing", "key encipherment", "server auth", "client auth")
    assert profile.expiry == timedelta(hours=8760)
    # A file without signing.default gets the same default.
    cfg = cfssl.SigningConfig.from_json({"signing": {"profiles": {"p": {"usages": ["signing"], "expiry": "1h"}}}})
    assert cfg.default.usages == profile.usages


def test_ca_constraint_and_backdate():
    cfg = cfssl.SigningConfig.from_json(
        {
            "signing": {
                "profiles": {
                    "intermediate": {
                        "usages": ["cert sign", "crl sign"],
                        "expiry": "2h",
                        "backdate": "1h",
                        "ca_constraint": {"is_ca": True, "max_path_len": 0, "max_path_len_zero": True},
                    },
                    "loose": {"usages": ["cert sign"], "expiry": "2h", "ca_constraint": {"is_ca": True}},
                }
            }
        }
    )
    p = cfg.profile("intermediate")
    assert (p.is_ca, p.path_length, p.backdate) == (True, 0, timedelta(hours=1))
    assert (cfg.profile("loose").is_ca, cfg.profile("loose").path_length) == (True, None)


def test_remote_signing_sections_are_ignored_at_the_top():
    cfg = cfssl.SigningConfig.from_json(
        {
            "signing": {"default": {"usages": ["signing"], "expiry": "1h", "auth_key": "k"}},
            "auth_keys": {"k": {"type": "standard", "key": "00"}},
            "remotes": {},
        }
    )
    assert cfg.profile(None).usages == ("signing",)


@pytest.mark.parametrize(
    "config, error, words",
    [
        (
            {"signing": {"default": {"expiry": "1h", "usages": ["server-auth"]}}},
            k8s.UnknownUsageError,
            "'server-auth' \\(did you mean 'server auth'\\?\\).*silently drop",
        ),
        (
            {"signing": {"default": {"expiry": "1h", "usages": ["signing", "Client Auth"]}}},
            k8s.UnknownUsageError,
            "did you mean 'client auth'",
        ),
        ({"signing": {"profiles": {"p": {"usages": ["signing"]}}}}, k8s.InputError, "has no expiry.*empty expiry"),
        ({"signing": {"default": {"usages": ["signing"]}}}, k8s.InputError, "has no expiry"),
        ({"signing": {"profiles": {"p": {"expiry": "1h"}}}}, k8s.InputError, "p has no usages"),
        (
            {"signing": {"profiles": {"p": {"usage": ["signing"], "expiry": "1h"}}}},
            k8s.InputError,
            "did you mean 'usages'",
        ),
        (
            {"signing": {"profiles": {"p": {"usages": ["signing"], "expires": "1h"}}}},
            k8s.InputError,
            "did you mean 'expiry'",
        ),
        ({"signin": {}}, k8s.InputError, "did you mean 'signing'"),
        ({}, k8s.InputError, 'no "signing" section'),
        ({"signing": {"default": {"expiry": "1d", "usages": ["signing"]}}}, k8s.InputError, "8760h"),
        ({"signing": {"default": {"expiry": "0s", "usages": ["signing"]}}}, k8s.InputError, "must be positive"),
        ({"signing": {"default": {"expiry": "-1h", "usages": ["signing"]}}}, k8s.InputError, "must be positive"),
        ({"signing": {"default": {"expiry": 8760, "usages": ["signing"]}}}, k8s.InputError, "must be a string"),
        ({"signing": {"profiles": ["p"]}}, k8s.InputError, "object of named profiles"),
        ({"signing": {"default": {"expiry": "1h", "usages": "signing"}}}, k8s.InputError, "list of strings"),
        (
            {"signing": {"default": {"expiry": "1h", "usages": ["signing"], "ocsp_url": "http://x"}}},
            k8s.InputError,
            "OCSP URLs\\) is not supported",
        ),
        (
            {"signing": {"default": {"expiry": "1h", "usages": ["signing"], "remote": "r"}}},
            k8s.InputError,
            "remote signing",
        ),
        ({"signing": {"default": {"expiry": "1h", "usages": ["encipher only"]}}}, k8s.InputError, "key agreement"),
        (
            {
                "signing": {
                    "default": {
                        "expiry": "1h",
                        "usages": ["signing"],
                        "ca_constraint": {"is_ca": True, "max_path_len": -1},
                    }
                }
            },
            k8s.InputError,
            "must not be negative",
        ),
    ],
)
def test_bad_signing_configs(config, error, words):
    with pytest.raises(error, match=words) as info:
        cfssl.SigningConfig.from_json(config)
    assert one_sentence(str(info.value))


def test_duplicate_profile_names_fail():
    text = (
        '{"signing": {"profiles": {"p": {"usages": ["signing"], "expiry": "1h"}, '
        '"p": {"usages": ["client auth"], "expiry": "1h"}}}}'
    )
    with pytest.raises(k8s.InputError, match="defined twice"):
        cfssl.SigningConfig.from_json(text)


# ------------------------------------------------------------------------------------ issuing
def test_cfssl_validity_rounds_to_the_minute_like_go():
    assert cfssl.cfssl_validity(timedelta(hours=1), now=datetime(2026, 1, 1, 10, 0, 29, tzinfo=timezone.utc)) == (
        datetime(2026, 1, 1, 9, 55, tzinfo=timezone.utc),
        datetime(2026, 1, 1, 10, 55, tzinfo=timezone.utc),
    )
    start, end = cfssl.cfssl_validity(timedelta(hours=1), now=datetime(2026, 1, 1, 10, 0, 30, tzinfo=timezone.utc))
    assert start == datetime(2026, 1, 1, 9, 56, tzinfo=timezone.utc) and end - start == timedelta(hours=1)


@pytest.mark.parametrize("key_type", ["rsa-2048", "ecdsa-p256"])
def test_initca_follows_cfssls_ca_policy(key_type, assert_is_ca, check_key_type):
    ca = cfssl.gencert_initca(with_key(ROOT_CA_CSR, key_type), now=NOW)
    assert isinstance(ca, k8s.CA)
    assert_is_ca(ca, path_length=None, self_signed=True)
    check_key_type(ca.cert, key_type)
    assert ca.cert.subject.rfc4514_string() == "CN=rootCA,O=Kubernetes"
    assert ca.not_before == datetime(2026, 11, 29, 9, 55, tzinfo=timezone.utc)
    assert ca.not_after - ca.not_before == timedelta(hours=43800)
    assert ext(ca, x509.SubjectAlternativeName) is None
    # The CSR cfssl prints beside it: same subject and key, signed by that key.
    assert ca.csr.subject == ca.cert.subject and ca.csr.is_signature_valid
    assert ca.csr.public_key().public_numbers() == ca.cert.public_key().public_numbers()
    header = b"-----BEGIN RSA PRIVATE KEY-----" if key_type.startswith("rsa") else b"-----BEGIN EC PRIVATE KEY-----"
    assert ca.key_pem.startswith(header)


def test_initca_keeps_ip_sans_only_and_honours_the_ca_section(assert_is_ca):
    ca = cfssl.gencert_initca(
        {
            "CN": "ca",
            "hosts": ["ca.example", "ops@example.com", "10.0.0.1", "spiffe://x/y"],
            "ca": {"expiry": "1h30m", "pathlen": 1},
        },
        now=NOW,
    )
    assert_is_ca(ca, path_length=1, self_signed=True)
    assert san_strings(ca) == ["IPAddress:10.0.0.1"]
    assert ca.not_after - ca.not_before == timedelta(minutes=90)
    # The CSR keeps every SAN and asks for CA:TRUE, pathlen 1, as cfssl's does.
    assert san_strings(ca.csr) == [
        "DNSName:ca.example",
        "RFC822Name:ops@example.com",
        "IPAddress:10.0.0.1",
        "UniformResourceIdentifier:spiffe://x/y",
    ]
    bc = ca.csr.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 1
    zero = cfssl.gencert_initca({"CN": "ca", "ca": {"pathlenzero": True, "backdate": "1h"}}, now=NOW)
    assert_is_ca(zero, path_length=0, self_signed=True)
    assert zero.not_before == datetime(2026, 11, 29, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def article_ca():
    return cfssl.gencert_initca(ROOT_CA_CSR)


@pytest.mark.parametrize("key_type", ["rsa-2048", "ecdsa-p256"])
def test_gencert_server_from_the_article(article_ca, key_type, assert_is_leaf, check_key_type):
    cert = cfssl.gencert(article_ca, with_key(SERVER_CSR, key_type), ROOT_CA_CONFIG, "root-ca", now=NOW)
    both = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    assert_is_leaf(cert, issuer=article_ca, eku=both)
    check_key_type(cert.cert, key_type)
    assert cert.cert.subject.rfc4514_string() == "CN=localhost,O=server-group"
    assert san_strings(cert) == ["DNSName:localhost", "IPAddress:127.0.0.1"]
    assert cert.not_before == datetime(2026, 11, 29, 9, 55, tzinfo=timezone.utc)
    assert cert.not_after - cert.not_before == timedelta(hours=8760)
    assert cert.csr.subject == cert.cert.subject and san_strings(cert.csr) == san_strings(cert)
    assert cert.key is not None and cert.chain == []
    k8s.verify_chain(cert.cert, [article_ca.cert], purpose="server", hostname="127.0.0.1")


def test_gencert_client_from_the_article(article_ca, assert_is_leaf):
    cert = cfssl.gencert(article_ca, CLIENT_CSR, ROOT_CA_CONFIG, "root-ca")
    assert_is_leaf(cert, issuer=article_ca, eku=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    assert ext(cert, x509.SubjectAlternativeName) is None  # CN is never copied into the SANs
    assert cert.identity.user == "localhost"
    assert "client-group" in cert.identity.groups
    k8s.verify_chain(cert.cert, [article_ca.cert], purpose="client")


def test_gencert_without_config_uses_cfssls_builtin_profile(article_ca, assert_is_leaf):
    cert = cfssl.gencert(article_ca, {"CN": "alice", "names": [{"O": "dev"}, {"O": "ops"}]})
    assert_is_leaf(cert, issuer=article_ca, eku=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    assert cert.not_after - cert.not_before == timedelta(hours=8760)
    # Both groups reach Kubernetes (one multi-valued RDN, as cfssl writes it).
    assert set(cert.identity.groups) >= {"dev", "ops"}
    assert len(cert.cert.subject.rdns) == 2


def test_gencert_usages_map_like_cfssl(article_ca, assert_is_leaf):
    cfg = {
        "signing": {
            "profiles": {
                "client": {"usages": ["signing", "client auth"], "expiry": "24h"},
                "odd": {
                    "usages": [
                        "content commitment",
                        "key agreement",
                        "data encipherment",
                        "code signing",
                        "ocsp signing",
                    ],
                    "expiry": "1h",
                },
            }
        }
    }
    client = cfssl.gencert(article_ca, {"CN": "bob"}, cfg, "client")
    assert_is_leaf(client, issuer=article_ca, eku=[ExtendedKeyUsageOID.CLIENT_AUTH], key_usage={"digital_signature"})
    assert client.not_after - client.not_before == timedelta(hours=24)
    odd = cfssl.gencert(article_ca, {"CN": "odd"}, cfg, "odd")
    assert_is_leaf(
        odd,
        issuer=article_ca,
        eku=[ExtendedKeyUsageOID.CODE_SIGNING, ExtendedKeyUsageOID.OCSP_SIGNING],
        key_usage={"content_commitment", "key_agreement", "data_encipherment"},
    )


def test_gencert_ca_profile_makes_an_intermediate(article_ca, assert_is_ca):
    cfg = {
        "signing": {
            "profiles": {
                "intermediate": {
                    "usages": ["cert sign", "crl sign"],
                    "expiry": "8760h",
                    "ca_constraint": {"is_ca": True, "max_path_len": 0, "max_path_len_zero": True},
                }
            }
        }
    }
    inter = cfssl.gencert(article_ca, {"CN": "intermediate"}, cfg, "intermediate")
    assert isinstance(inter, k8s.CA)
    assert_is_ca(inter, path_length=0, self_signed=False)
    leaf = cfssl.gencert(inter, {"CN": "leaf", "hosts": ["leaf.example"]})
    assert leaf.chain == [inter.cert]
    k8s.verify_chain(
        leaf.cert, [article_ca.cert], intermediates=[inter.cert], purpose="server", hostname="leaf.example"
    )


def test_gencert_refuses_a_ca_section_and_unknown_profiles(article_ca):
    with pytest.raises(k8s.InputError, match="only allowed with -initca"):
        cfssl.gencert(article_ca, {"CN": "x", "ca": {"expiry": "1h"}})
    with pytest.raises(k8s.UnknownProfileError, match="root-ca"):
        cfssl.gencert(article_ca, CLIENT_CSR, ROOT_CA_CONFIG, "kubernetes")
    with pytest.raises(k8s.UnknownProfileError):
        cfssl.gencert(article_ca, CLIENT_CSR, None, "kubernetes")


def test_cfssl_json_output(article_ca):
    cert = cfssl.gencert(article_ca, with_key(SERVER_CSR, "ecdsa-p256"), ROOT_CA_CONFIG, "root-ca")
    out = cfssl.to_cfssl_json(cert)
    assert set(out) == {"cert", "csr", "key"}
    assert out["cert"].startswith("-----BEGIN CERTIFICATE-----\n")
    assert out["csr"].startswith("-----BEGIN CERTIFICATE REQUEST-----\n")
    assert out["key"].startswith("-----BEGIN EC PRIVATE KEY-----\n")
    text = go_json_marshal(out)
    assert text.startswith('{"cert":"-----BEGIN CERTIFICATE-----\\n') and ", " not in text
    assert list(json.loads(text)) == ["cert", "csr", "key"]  # Go sorts map keys
    loaded = x509.load_pem_x509_certificate(out["cert"].encode())
    assert loaded == cert.cert
    key = serialization.load_pem_private_key(out["key"].encode(), None)
    assert key.public_key().public_numbers() == cert.cert.public_key().public_numbers()
    # A certificate signed from someone else's CSR has no key to print.
    signed = article_ca.sign_csr(k8s.make_csr("carol", key="ecdsa-p256").csr)
    assert set(cfssl.to_cfssl_json(signed)) == {"cert", "csr"}


# -------------------------------------------------------------------------------- loading a CA
@pytest.mark.parametrize("key_format", ["TraditionalOpenSSL", "PKCS8"])
@pytest.mark.parametrize("key_type", ["rsa-2048", "ecdsa-p256"])
def test_load_ca_reads_kubeadm_and_cfssl_key_formats(tmp_path, key_type, key_format):
    ca = k8s.CA.create("kubernetes", key=key_type)
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
    (tmp_path / "ca.key").write_bytes(
        ca.key.private_bytes(
            serialization.Encoding.PEM, getattr(serialization.PrivateFormat, key_format), serialization.NoEncryption()
        )
    )
    loaded = cfssl.load_ca(tmp_path / "ca.crt", tmp_path / "ca.key")
    assert isinstance(loaded, k8s.CA) and loaded.cert == ca.cert
    leaf = cfssl.gencert(loaded, {"CN": "alice"})
    k8s.verify_chain(leaf.cert, [ca.cert], purpose="client")


def test_load_ca_gives_ca_loads_errors(tmp_path):
    ca, other = k8s.CA.create("ca", key="ecdsa-p256"), k8s.CA.create("other", key="ecdsa-p256")
    ca.write("ca", tmp_path)
    other.write("other", tmp_path)
    leaf = cfssl.gencert(ca, {"CN": "leaf"})
    leaf.write("leaf", tmp_path)
    with pytest.raises(k8s.KeyMismatchError, match="does not belong"):
        cfssl.load_ca(tmp_path / "ca.pem", tmp_path / "other-key.pem")
    with pytest.raises(k8s.InputError, match="not a CA certificate"):
        cfssl.load_ca(tmp_path / "leaf.pem", tmp_path / "leaf-key.pem")
    with pytest.raises(k8s.InputError, match="does not exist"):
        cfssl.load_ca(tmp_path / "ca.pem", tmp_path / "nope.pem")
    with pytest.raises(k8s.InputError, match="no PEM private key"):
        cfssl.load_ca(tmp_path / "ca.pem", tmp_path / "ca.pem")


def test_a_damaged_ca_key_is_caught_by_checking_the_signature(tmp_path):
    # load_ca skips OpenSSL's slow RSA key validation; the signature check after signing is what
    # stands in for it. A key whose public half matches but whose private numbers are wrong:
    from cryptography.hazmat.primitives.asymmetric import rsa

    ca = k8s.CA.create("ca", key="rsa-2048")
    n = ca.key.private_numbers()
    bad = rsa.RSAPrivateNumbers(n.p, n.q, n.d + 2, n.dmp1 + 2, n.dmq1, n.iqmp, n.public_numbers).private_key(
        unsafe_skip_rsa_key_validation=True
    )
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem)
    (tmp_path / "ca-key.pem").write_bytes(
        bad.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    damaged = cfssl.load_ca(tmp_path / "ca.pem", tmp_path / "ca-key.pem")
    with pytest.raises(k8s.InputError, match="key file is damaged"):
        cfssl.gencert(damaged, {"CN": "alice"})


@pytest.mark.parametrize(
    "key, hash_name",
    [
        ({"algo": "rsa", "size": 2048}, "sha256"),
        ({"algo": "rsa", "size": 3072}, "sha384"),
        ({"algo": "ecdsa", "size": 256}, "sha256"),
        ({"algo": "ecdsa", "size": 384}, "sha384"),
    ],
)
def test_csr_signature_hash_follows_cfssl(article_ca, key, hash_name):
    cert = cfssl.gencert(article_ca, {"CN": "x", "key": key})
    assert cert.csr.signature_hash_algorithm.name == hash_name
    assert cert.csr.is_signature_valid


@pytest.mark.parametrize("key_type", ["rsa-2048", "ecdsa-p256"])
def test_a_key_made_beforehand_is_used_and_checked(article_ca, key_type, check_key_type):
    # The command line generates the key in a thread while it imports the rest (cli._start_keygen).
    req = cfssl.CsrRequest.from_json(with_key(CLIENT_CSR, key_type))
    key = req.key.generate()
    leaf = cfssl.gencert(article_ca, req, private_key=key)
    assert leaf.key is key
    check_key_type(leaf.cert, key_type)
    root = cfssl.gencert_initca(with_key(ROOT_CA_CSR, key_type), private_key=req.key.generate())
    check_key_type(root.cert, key_type)
    other = "ecdsa-p256" if key_type == "rsa-2048" else "rsa-2048"
    wrong = cfssl.CsrRequest.from_json(with_key(CLIENT_CSR, other)).key.generate()
    with pytest.raises(k8s.InputError, match=f"not the {cfssl.KeyRequest(**CFSSL_KEYS[key_type])} key"):
        cfssl.gencert(article_ca, req, private_key=wrong)
    with pytest.raises(k8s.InputError, match="not the ecdsa-384 key"):
        cfssl.gencert_initca(
            {"CN": "x", "key": {"algo": "ecdsa", "size": 384}}, private_key=cfssl.KeyRequest("ecdsa", 256).generate()
        )
