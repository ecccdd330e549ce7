"""Is a server certificate valid for the name the client asked for? Go's ``Certificate.VerifyHostname``.

Source: Go 1.22, ``src/crypto/x509/verify.go`` (``VerifyHostname``, ``validHostname``,
``matchHostnames``, ``matchExactly``, ``HostnameError.Error``): the SANs only (the CN is ignored
since Go 1.15), DNS names case-insensitively with a wildcard for one whole left-most label, IP
addresses against IP SANs. :func:`k8sauthlib.pki.verify.verify_chain` runs it for ``hostname=``.
"""

from __future__ import annotations

import ipaddress

from cryptography import x509
from cryptography.x509.oid import NameOID

from ..go.text import go_ip_string
from .describe import cert_label
from .fields import extension


def _valid_hostname(host: str, is_pattern: bool) -> bool:
    if not is_pattern:
        host = host[:-1] if host.endswith(".") else host
    if not host:
        return False
    for i, part in enumerate(host.split(".")):
        if part == "":
            return False
        if is_pattern and i == 0 and part == "*":
            continue
        for j, c in enumerate(part):
            if "a" <= c <= "z" or "0" <= c <= "9" or "A" <= c <= "Z" or c == "_" or (c == "-" and j != 0):
                continue
            return False
    return True


def _match_hostnames(pattern: str, host: str) -> bool:
    pattern = pattern.lower()
    host = (host[:-1] if host.endswith(".") else host).lower()
    if not pattern or not host:
        return False
    pp, hp = pattern.split("."), host.split(".")
    if len(pp) != len(hp):
        return False
    return all((i == 0 and p == "*") or p == h for i, (p, h) in enumerate(zip(pp, hp, strict=True)))


def _match_exactly(a: str, b: str) -> bool:
    if a in ("", ".") or b in ("", "."):
        return False
    return a.lower() == b.lower()


def _parse_ip(text: str):
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def hostname_mismatch(cert, host: str) -> tuple[str, str] | None:
    """Go's ``Certificate.VerifyHostname``: SANs only, CN ignored.

    Returns:
        None when ``cert`` is valid for ``host``; otherwise Go's ``HostnameError`` text and our
        advice, ``(go_message, message)``.
    """
    san = extension(cert, x509.SubjectAlternativeName)
    dns_names = san.value.get_values_for_type(x509.DNSName) if san else []
    ips = [_parse_ip(str(ip)) for ip in san.value.get_values_for_type(x509.IPAddress)] if san else []
    candidate_ip = host[1:-1] if len(host) >= 3 and host[0] == "[" and host[-1] == "]" else host
    ip = _parse_ip(candidate_ip)
    if ip is not None:
        if ip in ips:
            return
        shown = candidate_ip
    else:
        name = host.lower()
        valid_name = _valid_hostname(name, False)
        for pattern in dns_names:
            if valid_name and _valid_hostname(pattern, True):
                if _match_hostnames(pattern, name):
                    return
            elif _match_exactly(pattern, name):
                return
        shown = host
    # HostnameError.Error()
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[-1].value) if cns else ""
    if san is None and _match_hostnames(cn, shown):
        go = "x509: certificate relies on legacy Common Name field, use SANs instead"
        advice = (
            f"The server certificate {cert_label(cert)} names {shown!r} only in its CN, which Go ignores "
            f"since Go 1.15. Re-issue it with {shown!r} in hosts (SANs)."
        )
    elif ip is not None and not ips:
        go = f"x509: cannot validate certificate for {shown} because it doesn't contain any IP SANs"
        advice = (
            f"The server certificate {cert_label(cert)} has no IP address SANs, so it cannot be used at "
            f"https://{shown}/. Re-issue it with {shown!r} in hosts, or connect by a DNS name it lists"
            + (f" ({', '.join(dns_names)})." if dns_names else ".")
        )
    else:
        valid = ", ".join(go_ip_string(i) for i in ips) if ip is not None else ", ".join(dns_names)
        if not valid:
            go = f"x509: certificate is not valid for any names, but wanted to match {shown}"
            advice = (
                f"The server certificate {cert_label(cert)} lists no SANs at all. Re-issue it with {shown!r} in hosts."
            )
        else:
            go = f"x509: certificate is valid for {valid}, not {shown}"
            advice = (
                f"The server certificate {cert_label(cert)} is valid for {valid}, but the client asked for "
                f"{shown!r}. Connect using one of those names, or add {shown!r} to the hosts (SANs) "
                f"and re-issue the certificate (kubeadm: apiServer.certSANs)."
            )
    return go, advice


__all__ = ["hostname_mismatch"]
