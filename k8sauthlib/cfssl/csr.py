"""cfssl CSR requests (``csr.CertificateRequest`` in cloudflare/cfssl v1.6, ``csr/csr.go``): ``*-csr.json``.

The subject is built like cfssl's ``CertificateRequest.Name()`` and Go's
``pkix.Name.ToRDNSequence()``; ``hosts`` follow cfssl's rule (:mod:`k8sauthlib.pki.names`); the key
defaults to ECDSA P-256 (``csr.NewKeyRequest``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

from ..errors import InputError
from ..go.duration import parse_duration
from ..pki.keys import EC_CURVES, RSA_SIZES
from ..pki.names import classify_host
from .jsonin import as_bool, as_int, as_str, as_str_list, json_type, load_json, match_fields, positive_duration

#: cfssl's default key when a CSR request has no ``key`` (``csr.NewKeyRequest``).
DEFAULT_KEY = ("ecdsa", 256)


def split_hosts(text: str) -> tuple[str, ...]:
    """cfssl's ``-hostname a,b,c`` (``signer.SplitHosts``): comma-separated, empty means none."""
    return tuple(text.split(",")) if text else ()


@dataclass(frozen=True)
class NameEntry:
    """One entry of a CSR request's ``names`` list (``C``, ``ST``, ``L``, ``O``, ``OU``, ``E``).

    Each non-empty field adds one attribute to the subject.
    """

    C: str = ""
    ST: str = ""
    L: str = ""
    O: str = ""  # noqa: E741
    OU: str = ""
    E: str = ""

    def is_empty(self) -> bool:
        return not any(v.strip() for v in (self.C, self.ST, self.L, self.O, self.OU))


@dataclass(frozen=True)
class KeyRequest:
    """A CSR request's ``key``: ``{"algo": "rsa"|"ecdsa", "size": ...}`` (fields ``algo``, ``size``)."""

    algo: str = DEFAULT_KEY[0]
    size: int = DEFAULT_KEY[1]

    @property
    def spec(self) -> str:
        """The key as a :class:`k8sauthlib.KeySpec` string, e.g. ``"rsa-2048"``, ``"ecdsa-p256"``."""
        return f"rsa-{self.size}" if self.algo == "rsa" else f"ecdsa-p{self.size}"

    def __str__(self):
        # cfssl's log line: "generating key: rsa-2048".
        return f"{self.algo}-{self.size}"

    def generate(self):
        """Generate a private key of this kind, as :meth:`k8sauthlib.KeySpec.generate` does.

        Imports only the key modules of ``cryptography``, not ``x509``, so that the command line
        can start a (slow, random-length) RSA key generation in a thread while it imports the
        rest: OpenSSL releases the GIL while it searches for primes.
        """
        if self.algo == "rsa":
            from cryptography.hazmat.primitives.asymmetric import rsa

            return rsa.generate_private_key(public_exponent=65537, key_size=self.size)
        from cryptography.hazmat.primitives.asymmetric import ec

        return ec.generate_private_key(ec.SECP384R1() if self.size == 384 else ec.SECP256R1())

    def check(self, key) -> None:
        """Make sure ``key`` is a private key of this kind.

        Raises:
            InputError: it is another algorithm or size.
        """
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        if self.algo == "rsa" and isinstance(key, rsa.RSAPrivateKey) and key.key_size == self.size:
            return
        if self.algo == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size == self.size:
            return
        raise InputError(f"the private key given is not the {self} key the request asks for")


@dataclass(frozen=True)
class CAConfig:
    """A CSR request's ``ca`` section, used by ``gencert -initca``.

    Attributes:
        path_length: ``basicConstraints`` pathlen, or None for no limit.
        expiry: the CA's lifetime (cfssl: 43800h when absent).
        backdate: how far before now validity starts (cfssl: 5 minutes).
    """

    path_length: int | None = None
    expiry: timedelta | None = None
    backdate: timedelta | None = None


_CSR_FIELDS = ("CN", "names", "hosts", "key", "ca", "serialnumber")
_CSR_UNSUPPORTED = {
    "extensions": "raw extensions",
    "crl_url": "a CRL distribution point",
    "delegation_enabled": "delegated credentials",
}
_NAME_FIELDS = ("C", "ST", "L", "O", "OU", "E", "SerialNumber")
_NAME_UNSUPPORTED = {"OID": "arbitrary attribute OIDs"}
_KEY_FIELDS = ("algo", "size")
_CA_FIELDS = ("pathlen", "pathlenzero", "expiry", "backdate")


@dataclass(frozen=True)
class CsrRequest:
    """A cfssl CSR request (``csr.CertificateRequest``), as read from ``*-csr.json``.

    Attributes:
        common_name: ``CN``; for a client certificate, the Kubernetes user name.
        names: the ``names`` entries, in order.
        hosts: ``hosts`` as given (see :meth:`sans` for the SANs they become).
        key: the key request; cfssl's default (ECDSA P-256) when the JSON has no ``key``.
        key_given: whether the JSON had a ``key``.
        ca: the ``ca`` section, or None.
        serial_number: the subject's ``serialNumber`` attribute (``serialnumber``), or "".
        source: the file name or label the request came from, for messages.
    """

    common_name: str = ""
    names: tuple[NameEntry, ...] = ()
    hosts: tuple[str, ...] = ()
    key: KeyRequest = field(default_factory=KeyRequest)
    key_given: bool = False
    ca: CAConfig | None = None
    serial_number: str = ""
    source: str = "CSR request"

    @classmethod
    def from_json(cls, source) -> CsrRequest:
        """Read a cfssl CSR request.

        Args:
            source: JSON text or bytes, an already parsed dict, or a path to a ``.json`` file.

        Raises:
            InputError: malformed or incomplete JSON, a wrong type, an unknown field, a bad key
                algorithm or size, a bad ``ca`` section, a subject with nothing in it, or a host
                that cannot be a SAN.
        """
        data, label = load_json(source, "CSR request")
        f = match_fields(data, label, _CSR_FIELDS, _CSR_UNSUPPORTED)
        cn = as_str(f.get("CN", ""), f"{label}: CN")
        names = []
        raw_names = f.get("names", [])
        if not isinstance(raw_names, list):
            raise InputError(
                f'{label}: names must be a list of objects such as [{{"O": "developers"}}], not {json_type(raw_names)}'
            )
        for i, entry in enumerate(raw_names):
            where = f"{label}: names[{i}]"
            nf = match_fields(entry, where, _NAME_FIELDS, _NAME_UNSUPPORTED)
            if "SerialNumber" in nf:
                raise InputError(
                    f"{where}: SerialNumber inside names is ignored by cfssl; put it in the "
                    f'top-level "serialnumber" field'
                )
            values = {k: as_str(v, f"{where}.{k}") for k, v in nf.items()}
            names.append(NameEntry(**values))
        hosts = as_str_list(f.get("hosts", []), f"{label}: hosts")
        key, key_given = _key_request(f.get("key"), label)
        ca = _ca_config(f.get("ca"), label) if "ca" in f else None
        serial = as_str(f.get("serialnumber", ""), f"{label}: serialnumber")
        req = cls(
            common_name=cn,
            names=tuple(names),
            hosts=hosts,
            key=key,
            key_given=key_given,
            ca=ca,
            serial_number=serial,
            source=label,
        )
        req.validate()
        return req

    def validate(self) -> None:
        """cfssl's request checks (``genkey.Validator``), plus a check of every host and name.

        Raises:
            InputError: no CN and no names ("missing subject information"), an entry of
                ``names`` with nothing in it ("empty name"), or a bad host.
        """
        if not self.common_name:
            if not self.names:
                raise InputError(
                    f"{self.source}: the request has neither a CN nor names, so the certificate "
                    f'would have an empty subject (cfssl: "missing subject information")'
                )
            for i, n in enumerate(self.names):
                if n.is_empty():
                    raise InputError(f'{self.source}: names[{i}] is empty and there is no CN (cfssl: "empty name")')
        for i, n in enumerate(self.names):
            if n.C and len(n.C) != 2:
                raise InputError(
                    f"{self.source}: names[{i}].C {n.C!r} must be a two-letter country code such as "
                    f'"KR" (RFC 5280; cfssl would accept it, other tools reject it)'
                )
        self.classified_hosts()

    def with_hosts(self, hosts) -> CsrRequest:
        """A copy with ``hosts`` replaced, as ``cfssl gencert -hostname a,b`` does."""
        req = replace(self, hosts=tuple(hosts))
        req.validate()
        return req

    # ----------------------------------------------------------------- what it becomes
    def attributes(self) -> list[tuple[str, list[str]]]:
        """The subject as cfssl builds it: ``[(attr, [values...]), ...]`` in RDN order, empty ones left out.

        Each tuple is one RDN (several values make a multi-valued RDN, as in Go). ``E`` values
        come last, one RDN each (Go's ``ExtraNames``).
        """
        rdns: list[tuple[str, list[str]]] = []
        for attr in ("C", "ST", "L", "O", "OU"):
            values = [getattr(n, attr) for n in self.names if getattr(n, attr)]
            if values:
                rdns.append((attr, values))
        if self.common_name:
            rdns.append(("CN", [self.common_name]))
        if self.serial_number:
            rdns.append(("serialNumber", [self.serial_number]))
        rdns.extend(("E", [n.E]) for n in self.names if n.E)
        return rdns

    @property
    def organizations(self) -> list[str]:
        """Every ``O``, in request order: the groups Kubernetes will read from the certificate."""
        return [n.O for n in self.names if n.O]

    def subject(self):
        """The subject as an ``x509.Name``, RDN for RDN and string type for string type as cfssl encodes it."""
        from cryptography import x509
        from cryptography.x509.name import _ASN1Type
        from cryptography.x509.oid import NameOID

        oids = {
            "C": NameOID.COUNTRY_NAME,
            "ST": NameOID.STATE_OR_PROVINCE_NAME,
            "L": NameOID.LOCALITY_NAME,
            "O": NameOID.ORGANIZATION_NAME,
            "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
            "CN": NameOID.COMMON_NAME,
            "serialNumber": NameOID.SERIAL_NUMBER,
            "E": NameOID.EMAIL_ADDRESS,
        }

        def attr(name, value):
            kind = _ASN1Type.PrintableString if _go_printable(value) else _ASN1Type.UTF8String
            try:
                return x509.NameAttribute(oids[name], value, kind)
            except ValueError as exc:
                raise InputError(f"{self.source}: {name} {value!r} cannot go into a certificate: {exc}") from None

        return x509.Name(
            [x509.RelativeDistinguishedName([attr(name, v) for v in values]) for name, values in self.attributes()]
        )

    def sans(self) -> list[str]:
        """The ``hosts`` normalized and in Go's SAN order (DNS, email, IP, URI)."""
        return [value for _, value in self.classified_hosts()]

    def classified_hosts(self) -> list[tuple[str, str]]:
        """``(kind, value)`` for each host (see :func:`classify_host`), in Go's SAN order."""
        cached = self.__dict__.get("_classified")
        if cached is None:
            order = {"dns": 0, "email": 1, "ip": 2, "uri": 3}
            found = [classify_host(h, f"{self.source}: hosts[{i}]") for i, h in enumerate(self.hosts)]
            cached = sorted(found, key=lambda kv: order[kv[0]])  # stable: input order within a kind
            object.__setattr__(self, "_classified", cached)
        return list(cached)


# Go's encoding/asn1 writes a string as PrintableString when every character is in this set
# (asterisk and ampersand excluded), and as UTF8String otherwise.
_PRINTABLE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")


def _go_printable(value: str) -> bool:
    return all(c in _PRINTABLE for c in value)


def _key_request(value, label: str) -> tuple[KeyRequest, bool]:
    if value is None:
        return KeyRequest(*DEFAULT_KEY), False
    where = f"{label}: key"
    f = match_fields(value, where, _KEY_FIELDS)
    if "algo" not in f or f["algo"] == "":
        raise InputError(
            f'{where}.algo is missing; use "rsa" or "ecdsa" (or leave out "key" for cfssl\'s default, ecdsa 256)'
        )
    algo = as_str(f["algo"], f"{where}.algo")
    if algo not in ("rsa", "ecdsa"):
        hint = f" (cfssl accepts lower case only: {algo.lower()!r})" if algo.lower() in ("rsa", "ecdsa") else ""
        raise InputError(f'{where}.algo {algo!r} is not supported; use "rsa" or "ecdsa"{hint}')
    if "size" not in f:
        example = "2048" if algo == "rsa" else "256"
        raise InputError(
            f"{where}.size is missing; give e.g. {example} for {algo} (cfssl would fail with "
            f'"{"RSA key is too weak" if algo == "rsa" else "invalid curve"}")'
        )
    size = as_int(f["size"], f"{where}.size")
    if algo == "rsa":
        if size < 2048:
            raise InputError(
                f"{where}.size {size} is too small: RSA keys must have at least 2048 bits "
                f'(cfssl: "RSA key is too weak")'
            )
        if size not in RSA_SIZES:
            raise InputError(f"{where}.size {size} is not supported for rsa; use 2048, 3072 or 4096")
    elif size not in tuple(EC_CURVES):
        raise InputError(f"{where}.size {size} is not supported for ecdsa; use 256 (P-256) or 384 (P-384)")
    return KeyRequest(algo, size), True


def _ca_config(value, label: str) -> CAConfig:
    where = f"{label}: ca"
    f = match_fields(value, where, _CA_FIELDS)
    pathlen = as_int(f.get("pathlen", 0), f"{where}.pathlen")
    zero = as_bool(f.get("pathlenzero", False), f"{where}.pathlenzero")
    if pathlen < 0:
        raise InputError(f"{where}.pathlen {pathlen} must not be negative")
    if pathlen and zero:
        raise InputError(f"{where}: pathlenzero contradicts pathlen {pathlen} (cfssl would ignore pathlenzero)")
    expiry = positive_duration(f["expiry"], f"{where}.expiry") if f.get("expiry") else None
    backdate = parse_duration(f["backdate"], f"{where}.backdate") if f.get("backdate") else None
    # Go's basicConstraints: pathlen 0 means "no limit" unless pathlenzero says it really is 0.
    path_length = pathlen if pathlen or zero else None
    return CAConfig(path_length=path_length, expiry=expiry, backdate=backdate)


__all__ = ["DEFAULT_KEY", "CAConfig", "CsrRequest", "KeyRequest", "NameEntry", "split_hosts"]
