"""Names in certificates: subjects, SANs from cfssl-style ``hosts``, and cfssl's usage names.

The ``hosts`` rule is cfssl's (``csr.Generate`` and ``signer.OverrideHosts`` in cloudflare/cfssl
v1.6, ``csr/csr.go`` and ``signer/signer.go``): each entry is ``net.ParseIP``, else
``mail.ParseAddress``, else ``url.ParseRequestURI``, else a DNS name; Go's ``crypto/x509``
then encodes them grouped (DNS, email, IP, URI). cfssl 1.2 (Debian's golang-cfssl) predates the
URI step and writes such entries as DNS names.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import InputError, UnknownUsageError

#: cfssl's key usage names (cfssl config/config.go ``KeyUsage``) -> cryptography KeyUsage field.
KEY_USAGES = {
    "signing": "digital_signature",
    "digital signature": "digital_signature",
    "content commitment": "content_commitment",
    "key encipherment": "key_encipherment",
    "key agreement": "key_agreement",
    "data encipherment": "data_encipherment",
    "cert sign": "key_cert_sign",
    "crl sign": "crl_sign",
    "encipher only": "encipher_only",
    "decipher only": "decipher_only",
}

#: cfssl's extended key usage names (cfssl config/config.go ``ExtKeyUsage``) -> OID.
EXT_KEY_USAGES = {
    "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "server auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "s/mime": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "ipsec end system": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
    "ipsec tunnel": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
    "ipsec user": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    "microsoft sgc": x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"),
    "netscape sgc": x509.ObjectIdentifier("2.16.840.1.113730.4.1"),
}

CA_USAGES = ("cert sign", "crl sign")
SERVER_USAGES = ("digital signature", "key encipherment", "server auth")
CLIENT_USAGES = ("digital signature", "key encipherment", "client auth")


def subject_name(common_name: str | None, orgs: Iterable[str] = ()) -> x509.Name:
    """``O=<group>`` for each group (in order), then ``CN=<user>``: the order kubeadm writes.

    An empty or None ``common_name`` leaves CN out (Kubernetes then treats the request as
    anonymous).
    """
    if isinstance(orgs, str):
        orgs = [orgs]
    orgs = list(orgs)
    for value in [common_name, *orgs]:
        if value is not None and not isinstance(value, str):
            raise InputError(f"subject values must be strings, not {type(value).__name__} ({value!r})")
    if any(not o for o in orgs):
        raise InputError("an empty O (group name) is not allowed; leave it out instead")
    rdns = [x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.ORGANIZATION_NAME, o)]) for o in orgs]
    if common_name:
        rdns.append(x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
    return x509.Name(rdns)


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_QUOTED = r'"(?:[^"\\\r\n]|\\.)*"'
_ADDR_SPEC = rf"(?:{_DOT_ATOM}|{_QUOTED})@(?:{_DOT_ATOM}|\[[^\[\]\\\s]*\])"
_ADDR_RE = rf"({_ADDR_SPEC})"
_NAMED_ADDR_RE = rf"(?:[^<>@]*?)\s*<({_ADDR_SPEC})>"
_SCHEME_RE = r"[A-Za-z][A-Za-z0-9+.-]*:"


def classify_host(host: str, where: str = "hosts") -> tuple[str, str]:
    """Classify one ``hosts`` entry the way cfssl does and normalize it as Go encodes it.

    cfssl tries, in order: ``net.ParseIP`` (an IP SAN), ``mail.ParseAddress`` (an email SAN,
    ``"Name <a@b>"`` gives ``a@b``), ``url.ParseRequestURI`` (a URI SAN, e.g. ``spiffe://...``),
    and otherwise makes a DNS SAN. An IPv4-mapped IPv6 address is written as IPv4, as Go does.

    Returns:
        ``(kind, value)`` with kind one of ``"ip"``, ``"email"``, ``"uri"``, ``"dns"``.

    Raises:
        InputError: for entries cfssl would turn into a SAN no client can ever match: empty,
            containing white space, non-ASCII, a bare path or ``*``, or a host with a port.
    """
    if not isinstance(host, str):
        raise InputError(f"{where} must be a string, not {type(host).__name__}")
    h = host
    if not h.strip():
        raise InputError(f"{where}: an empty host name is not a valid SAN")
    if h != h.strip():
        raise InputError(
            f"{where}: {h!r} has white space around it, so it is not a host name, IP address, email address or URI"
        )
    if "%" not in h:
        try:
            ip = ipaddress.ip_address(h)
        except ValueError:
            pass
        else:
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            return "ip", str(ip)
    m = "@" in h and (re.fullmatch(_ADDR_RE, h) or re.fullmatch(_NAMED_ADDR_RE, h))
    if m:
        return "email", m.group(1)
    if any(c.isspace() for c in h):
        raise InputError(
            f"{where}: {h!r} contains white space, so it is not a host name, IP address, email address or URI"
        )
    if not h.isascii():
        raise InputError(
            f"{where}: {h!r} is not ASCII; write an internationalized domain name in its xn-- (punycode) form"
        )
    scheme = re.match(_SCHEME_RE, h)
    rest = h[scheme.end() :] if scheme else ""
    # url.ParseRequestURI: "scheme:/path", "scheme://host/path" and opaque "scheme:rest" (urn:x)
    # are URIs. "localhost:8443" parses too (scheme "localhost", opaque "8443"), and cfssl would
    # write that URI SAN, which no client ever matches: that one is refused below.
    if scheme and rest and not rest.isdigit():
        return "uri", h
    if h.startswith("/") or h == "*":
        raise InputError(
            f"{where}: {h!r} is not a host name, IP address, email address or URI "
            f"(a URI needs a scheme, as in spiffe://cluster.local/ns/default)"
        )
    if ":" in h:
        raise InputError(
            f"{where}: {h!r} is not a valid host name (a SAN cannot carry a port or a scheme without '//')"
        )
    if len(h.rstrip(".")) > 253 or any(len(label) > 63 for label in h.split(".")):
        # RFC 1035 2.3.4: no client resolves or matches such a name (cfssl would accept it)
        raise InputError(
            f"{where}: {h[:40]!r}... is not a valid DNS name: at most 253 characters, "
            f"63 per dot-separated label (RFC 1035)"
        )
    return "dns", h


def go_san_order(hosts) -> list[str]:
    """Normalize cfssl ``hosts`` and order them as Go encodes SANs: DNS, email, IP, URI.

    Raises:
        InputError: see :func:`classify_host`.
    """
    groups: dict[str, list[str]] = {"dns": [], "email": [], "ip": [], "uri": []}
    for i, host in enumerate(hosts):
        kind, value = classify_host(host, f"hosts[{i}]")
        groups[kind].append(value)
    return groups["dns"] + groups["email"] + groups["ip"] + groups["uri"]


def parse_hosts(hosts: Iterable[str | x509.GeneralName]) -> list[x509.GeneralName]:
    """Turn cfssl-style ``hosts`` into SANs, classified by :func:`classify_host`.

    The SANs come out grouped as Go's ``x509`` encodes them (DNS names, email addresses, IP
    addresses, URIs), each group in input order, so our certificates list their SANs in the
    same order as cfssl's and kubeadm's. An entry that is already an ``x509.GeneralName`` (a SAN
    copied from a CSR) keeps its type.

    Raises:
        InputError: see :func:`classify_host`.
    """
    if isinstance(hosts, str):
        hosts = [hosts]
    make = {
        "dns": x509.DNSName,
        "email": x509.RFC822Name,
        "uri": x509.UniformResourceIdentifier,
        "ip": lambda v: x509.IPAddress(ipaddress.ip_address(v)),
    }
    groups: dict[str, list] = {"dns": [], "email": [], "ip": [], "uri": []}
    kinds = {x509.DNSName: "dns", x509.RFC822Name: "email", x509.IPAddress: "ip", x509.UniformResourceIdentifier: "uri"}
    for i, host in enumerate(hosts):
        if isinstance(host, x509.GeneralName):
            if type(host) not in kinds:
                raise InputError(f"unsupported SAN type {type(host).__name__}; use DNS, email, IP or URI names")
            groups[kinds[type(host)]].append(host)
            continue
        kind, value = classify_host(host, f"hosts[{i}]")
        groups[kind].append(make[kind](value))
    return groups["dns"] + groups["email"] + groups["ip"] + groups["uri"]


def resolve_usages(names: Iterable[str]) -> tuple[x509.KeyUsage | None, list[x509.ObjectIdentifier]]:
    """Map cfssl usage names to a KeyUsage extension value and a list of EKU OIDs.

    Unlike cfssl, which silently drops a name it does not know, an unknown name is an error.

    Raises:
        UnknownUsageError: a name is not one of cfssl's usage names.
    """
    if isinstance(names, str):
        names = [names]
    flags = dict.fromkeys(set(KEY_USAGES.values()), False)
    ekus: list[x509.ObjectIdentifier] = []
    for name in names:
        if name in KEY_USAGES:
            flags[KEY_USAGES[name]] = True
        elif name in EXT_KEY_USAGES:
            if EXT_KEY_USAGES[name] not in ekus:
                ekus.append(EXT_KEY_USAGES[name])
        else:
            known = sorted(KEY_USAGES) + sorted(EXT_KEY_USAGES)
            hint = next(
                (k for k in known if k.replace(" ", "") == str(name).replace(" ", "").replace("_", "").lower()), None
            )
            raise UnknownUsageError(
                f"unknown usage {name!r}"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + f"; known usages: {', '.join(known)}"
            )
    if (flags["encipher_only"] or flags["decipher_only"]) and not flags["key_agreement"]:
        raise InputError("'encipher only' and 'decipher only' need 'key agreement' as well")
    key_usage = x509.KeyUsage(**flags) if any(flags.values()) else None
    return key_usage, ekus


__all__ = [
    "CA_USAGES",
    "CLIENT_USAGES",
    "EXT_KEY_USAGES",
    "KEY_USAGES",
    "SERVER_USAGES",
    "classify_host",
    "go_san_order",
    "parse_hosts",
    "resolve_usages",
    "subject_name",
]
