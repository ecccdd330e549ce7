"""cfssl's JSON inputs, read and honoured the way cfssl does, and ``gencert`` on top of them.

The article makes its certificates with ``cfssl gencert`` from two kinds of JSON file: a CSR
request (``rootCA-csr.json``, ``server-csr.json``...) and a signing configuration
(``rootCA-config.json``). This module reads both and issues the same certificates cfssl would:

- the subject is built like cfssl's ``CertificateRequest.Name()`` and Go's
  ``pkix.Name.ToRDNSequence()``: ``C``, ``ST``, ``L``, ``O``, ``OU``, ``CN``, ``serialNumber``,
  then ``emailAddress``; repeated values of one attribute (two ``names`` entries with ``O``)
  share one multi-valued RDN, and strings are PrintableString when they fit, UTF8String
  otherwise, exactly as Go encodes them;
- ``hosts`` become IP, email, URI or DNS SANs by cfssl's rule (``net.ParseIP``, then
  ``mail.ParseAddress``, then ``url.ParseRequestURI``, else DNS);
- the key defaults to ECDSA P-256 when ``key`` is absent;
- ``-initca`` certificates follow cfssl's CA policy (``cert sign`` + ``crl sign``, 43800h unless
  ``ca.expiry``; DNS, email and URI SANs dropped, IP SANs kept);
- validity starts at now rounded to the minute minus five minutes (the profile's ``backdate``)
  and lasts exactly the profile's ``expiry``.

Field names match case-insensitively, as Go's ``encoding/json`` matches them.

Where cfssl silently does something the user did not mean, we stop with one sentence that names
the problem: an unknown profile (cfssl falls back to ``signing.default``), an unknown usage name
(cfssl drops it), an unknown field such as ``"host"`` for ``"hosts"`` (cfssl ignores it, and
the SANs are lost), a field given twice (cfssl keeps the last), a negative or zero expiry.

Reading a CSR request imports no ``cryptography``; checking a configuration's usage names and
issuing do.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .errors import InputError, UnknownProfileError, UnknownUsageError
from .files import read_file

#: cfssl ``initca``'s CA policy (``initca.CAPolicy``): five years, certificate and CRL signing.
CA_EXPIRY = timedelta(hours=43800)
CA_USAGES = ("cert sign", "crl sign")
#: cfssl's built-in signing profile when no ``-config`` is given (``config.DefaultConfig``).
DEFAULT_USAGES = ("signing", "key encipherment", "server auth", "client auth")
DEFAULT_EXPIRY = timedelta(hours=8760)
#: cfssl's default backdate (``signer.FillTemplate``).
DEFAULT_BACKDATE = timedelta(minutes=5)
#: cfssl's default key when a CSR request has no ``key`` (``csr.NewKeyRequest``).
DEFAULT_KEY = ("ecdsa", 256)

_RSA_SIZES = (2048, 3072, 4096)
_EC_SIZES = (256, 384)


class _Record:
    """A small immutable record: what ``@dataclass(frozen=True)`` gives, without its start-up cost.

    ``dataclasses`` builds every class's methods with ``exec`` at import time, which costs the
    command line more than the rest of this module; these records are simple enough to do without.
    """

    _fields: tuple[str, ...] = ()
    _defaults: dict[str, Any] = {}

    def __init__(self, *args, **kwargs):
        if len(args) > len(self._fields):
            raise TypeError(f"{type(self).__name__} takes at most {len(self._fields)} positional arguments")
        values = dict(zip(self._fields, args))
        for name, value in kwargs.items():
            if name not in self._fields or name in values:
                raise TypeError(f"{type(self).__name__} got an unexpected or repeated argument {name!r}")
            values[name] = value
        for name in self._fields:
            if name not in values:
                if name not in self._defaults:
                    raise TypeError(f"{type(self).__name__} is missing {name!r}")
                default = self._defaults[name]
                values[name] = default() if callable(default) and not isinstance(default, (str, tuple)) else default
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _astuple(self):
        return tuple(getattr(self, f) for f in self._fields)

    def __eq__(self, other):
        return type(other) is type(self) and other._astuple() == self._astuple()

    def __hash__(self):
        return hash((type(self).__name__,) + tuple(v if not isinstance(v, dict) else tuple(v.items())
                                                   for v in self._astuple()))

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{f}={getattr(self, f)!r}' for f in self._fields)})"

    def replace(self, **changes):
        """A copy with some fields changed."""
        return type(self)(**{**{f: getattr(self, f) for f in self._fields}, **changes})


# ------------------------------------------------------------------------------------ JSON
class _Obj(dict):
    """A JSON object that remembers every key/value pair, duplicates included."""

    pairs: list


def _pairs_hook(pairs):
    obj = _Obj(pairs)
    obj.pairs = pairs
    return obj


class _LongNumber(str):
    """A JSON integer too long to convert (Python stops at 4300 digits): kept as its digits so
    that the field reading it can name itself in the error."""


def _parse_int(digits: str):
    return int(digits) if len(digits) <= 4000 else _LongNumber(digits)


def _load_json(source, what: str) -> tuple[Any, str]:
    """Parse ``source`` (a dict, JSON text or bytes, or a path) and return it with a label for messages."""
    if isinstance(source, dict):
        return _as_obj(source), what
    label = what
    if isinstance(source, (bytes, bytearray)):
        try:
            text = bytes(source).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{what} is not UTF-8 text") from None
    elif isinstance(source, str) and (not source.strip() or source.lstrip()[:1] in ("{", "[", '"')
                                      or "\n" in source):
        text = source  # JSON text (or nothing at all), not a file name
    else:
        path = Path(source)
        label = str(path)
        try:
            text = read_file(path, what).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path} is not UTF-8 text, so it cannot be {what} JSON") from None
    if not text.strip():
        raise InputError(f"{label} is empty; expected a JSON object")
    try:
        data = json.loads(text, object_pairs_hook=_pairs_hook, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise InputError(f"{label}: incomplete JSON, the text ends at line {exc.lineno}, column {exc.colno} "
                             f"before the object is closed") from None
        raise InputError(f"{label}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{label}: JSON nested too deeply to be a cfssl request or configuration") from None
    except ValueError as exc:  # a number past Python's 4300-digit conversion limit
        raise InputError(f"{label}: JSON holds a number of more than 4300 digits, too long for any field "
                         f"({str(exc).split(':')[0]})") from None
    if not isinstance(data, dict):
        raise InputError(f"{label}: expected a JSON object {{...}} at the top, found {_json_type(data)}")
    return data, label


def _as_obj(value):
    """Give plain dicts (from Python callers) the ``pairs`` attribute parsed objects have."""
    if isinstance(value, _Obj):
        return value
    if isinstance(value, dict):
        obj = _Obj((k, _as_obj(v)) for k, v in value.items())
        obj.pairs = list(obj.items())
        return obj
    if isinstance(value, (list, tuple)):
        return [_as_obj(v) for v in value]
    return value


def _json_type(value) -> str:
    if isinstance(value, _LongNumber):
        return f"a number of {len(value.lstrip('-'))} digits"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _fields(obj, where: str, known: tuple[str, ...], unsupported: dict[str, str] | None = None,
            ignored: tuple[str, ...] = ()) -> dict[str, Any]:
    """Match the keys of a JSON object to ``known`` field names, case-insensitively like Go.

    Returns canonical name -> value, with JSON ``null`` treated as absent (Go's zero value).

    Raises:
        InputError: a key is unknown (with a "did you mean" hint), known to cfssl but not
            supported here, or given twice.
    """
    if not isinstance(obj, dict):
        raise InputError(f"{where} must be a JSON object, not {_json_type(obj)}")
    lower = {k.lower(): k for k in known}
    unsupported = {k.lower(): v for k, v in (unsupported or {}).items()}
    ignored_l = {k.lower() for k in ignored}
    out: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for key, value in getattr(obj, "pairs", obj.items()):
        kl = key.lower()
        if kl in lower:
            canon = lower[kl]
            if canon in seen:
                raise InputError(f"{where}: field {canon!r} is given twice ({seen[canon]!r} and {key!r}); "
                                 f"cfssl would silently keep only the last one")
            seen[canon] = key
            if value is not None:
                out[canon] = value
        elif kl in unsupported:
            raise InputError(f"{where}: field {key!r} ({unsupported[kl]}) is not supported by k8sauthlib")
        elif kl in ignored_l:
            continue
        else:
            close = _close_matches(kl, list(lower), n=1, cutoff=0.6)
            hint = f" (did you mean {lower[close[0]]!r}?)" if close else ""
            raise InputError(f"{where}: unknown field {key!r}{hint}, which cfssl would silently ignore; "
                             f"known fields: {', '.join(known)}")
    return out


def _close_matches(word, candidates, n=1, cutoff=0.6):
    import difflib  # only when there is an error to explain

    return difflib.get_close_matches(word, candidates, n=n, cutoff=cutoff)


def _str(value, where: str) -> str:
    if not isinstance(value, str) or isinstance(value, _LongNumber):
        raise InputError(f"{where} must be a string, not {_json_type(value)}")
    return value


def _int(value, where: str) -> int:
    if isinstance(value, _LongNumber):
        raise InputError(f"{where} is a number of {len(value.lstrip('-'))} digits, out of range for cfssl "
                         f"(a 64-bit integer)")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where} must be a whole number, not {_json_type(value)}"
                         + (f" ({value!r})" if isinstance(value, (str, float)) else ""))
    if not -2**63 <= value < 2**63:  # cfssl decodes into a Go int: json "cannot unmarshal number"
        raise InputError(f"{where} {str(value)[:20]}... is out of range for cfssl (a 64-bit integer)")
    return value


def _bool(value, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{where} must be true or false, not {_json_type(value)}")
    return value


def _str_list(value, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InputError(f"{where} must be a list of strings, not {_json_type(value)}")
    return tuple(_str(v, f"{where}[{i}]") for i, v in enumerate(value))


# ------------------------------------------------------------------------------- durations
# Go's units in nanoseconds; exact integer arithmetic, as Go does it.
_GO_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
             "h": 3600 * 10**9}
#: time.Duration is an int64 count of nanoseconds (Go's time/format.go, ParseDuration: "invalid duration")
_GO_MAX_DURATION_NS = 2**63 - 1
_GO_PART = r"(\d+)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)|\.(\d+)(ns|us|µs|μs|ms|s|m|h)"


def parse_go_duration(text: str, where: str = "duration") -> timedelta:
    """Parse a Go duration (``time.ParseDuration``): ``"8760h"``, ``"43800h"``, ``"1h30m"``, ``"90s"``.

    Go durations have no days or years: a year is ``"8760h"``.

    Raises:
        InputError: the text is not a Go duration.
    """
    text_ = _str(text, where)
    s = text_.strip()
    sign = 1
    if s[:1] in "+-" and s:
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return timedelta(0)
    total_ns = 0
    pos = 0
    part = re.compile(_GO_PART)
    while pos < len(s):
        m = part.match(s, pos)
        if not m:
            break
        whole, frac, unit = (m.group(1), m.group(2) or "", m.group(3)) if m.group(1) else ("0", m.group(4),
                                                                                          m.group(5))
        scale = _GO_UNITS[unit]
        total_ns += int(whole) * scale + (int(frac) * scale // 10 ** len(frac) if frac else 0)
        pos = m.end()
    if not s or pos != len(s):
        unit = re.search(r"[a-zA-Z]+", s)
        hint = ""
        if unit and unit.group(0).lower() in ("d", "day", "days", "y", "yr", "year", "years", "w", "week", "weeks"):
            hint = " (Go durations stop at hours: one year is \"8760h\", 30 days is \"720h\")"
        raise InputError(f"{where} {text_!r} is not a Go duration such as \"8760h\" or \"1h30m\"{hint}")
    if total_ns > _GO_MAX_DURATION_NS:  # Go: "time: invalid duration" (int64 nanoseconds overflow)
        raise InputError(f"{where} {text_!r} is out of range: a Go duration is at most 2562047h (about 292 "
                         f"years); cfssl refuses it too (\"time: invalid duration\")")
    return timedelta(microseconds=sign * round(total_ns / 1000))


def format_go_duration(delta: timedelta) -> str:
    """Format a timedelta the way Go prints a duration (``8760h0m0s``), for messages and logs."""
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h}h{m}m{s}s" if h else (f"{sign}{m}m{s}s" if m else f"{sign}{s}s")


def _positive_duration(value, where: str) -> timedelta:
    delta = parse_go_duration(value, where)
    if delta <= timedelta(0):
        raise InputError(f"{where} {value!r} must be positive (cfssl would issue a certificate that is already "
                         f"expired, or refuse the configuration)")
    return delta


# ------------------------------------------------------------------------------------ hosts
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
    h = _str(host, where)
    if not h.strip():
        raise InputError(f"{where}: an empty host name is not a valid SAN")
    if h != h.strip():
        raise InputError(f"{where}: {h!r} has white space around it, so it is not a host name, IP address, "
                         f"email address or URI")
    import ipaddress

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
        raise InputError(f"{where}: {h!r} contains white space, so it is not a host name, IP address, email "
                         f"address or URI")
    if not h.isascii():
        raise InputError(f"{where}: {h!r} is not ASCII; write an internationalized domain name in its "
                         f"xn-- (punycode) form")
    scheme = re.match(_SCHEME_RE, h)
    if scheme and h[scheme.end():].startswith("/"):
        return "uri", h
    if h.startswith("/") or h == "*":
        raise InputError(f"{where}: {h!r} is not a host name, IP address, email address or URI "
                         f"(a URI needs a scheme, as in spiffe://cluster.local/ns/default)")
    if ":" in h:
        raise InputError(f"{where}: {h!r} is not a valid host name (a SAN cannot carry a port or a "
                         f"scheme without '//')")
    if len(h.rstrip(".")) > 253 or any(len(label) > 63 for label in h.split(".")):
        # RFC 1035 2.3.4: no client resolves or matches such a name (cfssl would accept it)
        raise InputError(f"{where}: {h[:40]!r}... is not a valid DNS name: at most 253 characters, "
                         f"63 per dot-separated label (RFC 1035)")
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


def split_hosts(text: str) -> tuple[str, ...]:
    """cfssl's ``-hostname a,b,c`` (``signer.SplitHosts``): comma-separated, empty means none."""
    return tuple(text.split(",")) if text else ()


# --------------------------------------------------------------------------- CSR requests
class NameEntry(_Record):
    """One entry of a CSR request's ``names`` list (``C``, ``ST``, ``L``, ``O``, ``OU``, ``E``).

    Each non-empty field adds one attribute to the subject.
    """

    _fields = ("C", "ST", "L", "O", "OU", "E")
    _defaults = dict.fromkeys(_fields, "")

    def is_empty(self) -> bool:
        return not any(v.strip() for v in (self.C, self.ST, self.L, self.O, self.OU))


class KeyRequest(_Record):
    """A CSR request's ``key``: ``{"algo": "rsa"|"ecdsa", "size": ...}`` (fields ``algo``, ``size``)."""

    _fields = ("algo", "size")
    _defaults = {"algo": DEFAULT_KEY[0], "size": DEFAULT_KEY[1]}

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


class CAConfig(_Record):
    """A CSR request's ``ca`` section, used by ``gencert -initca``.

    Attributes:
        path_length: ``basicConstraints`` pathlen, or None for no limit.
        expiry: the CA's lifetime (cfssl: 43800h when absent).
        backdate: how far before now validity starts (cfssl: 5 minutes).
    """

    _fields = ("path_length", "expiry", "backdate")
    _defaults = dict.fromkeys(_fields)


_CSR_FIELDS = ("CN", "names", "hosts", "key", "ca", "serialnumber")
_CSR_UNSUPPORTED = {"extensions": "raw extensions", "crl_url": "a CRL distribution point",
                    "delegation_enabled": "delegated credentials"}
_NAME_FIELDS = ("C", "ST", "L", "O", "OU", "E", "SerialNumber")
_NAME_UNSUPPORTED = {"OID": "arbitrary attribute OIDs"}
_KEY_FIELDS = ("algo", "size")
_CA_FIELDS = ("pathlen", "pathlenzero", "expiry", "backdate")


class CsrRequest(_Record):
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

    _fields = ("common_name", "names", "hosts", "key", "key_given", "ca", "serial_number", "source")
    _defaults = {"common_name": "", "names": (), "hosts": (), "key": KeyRequest, "key_given": False, "ca": None,
                 "serial_number": "", "source": "CSR request"}

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
        data, label = _load_json(source, "CSR request")
        f = _fields(data, label, _CSR_FIELDS, _CSR_UNSUPPORTED)
        cn = _str(f.get("CN", ""), f"{label}: CN")
        names = []
        raw_names = f.get("names", [])
        if not isinstance(raw_names, list):
            raise InputError(f"{label}: names must be a list of objects such as [{{\"O\": \"developers\"}}], "
                             f"not {_json_type(raw_names)}")
        for i, entry in enumerate(raw_names):
            where = f"{label}: names[{i}]"
            nf = _fields(entry, where, _NAME_FIELDS, _NAME_UNSUPPORTED)
            if "SerialNumber" in nf:
                raise InputError(f"{where}: SerialNumber inside names is ignored by cfssl; put it in the "
                                 f"top-level \"serialnumber\" field")
            values = {k: _str(v, f"{where}.{k}") for k, v in nf.items()}
            names.append(NameEntry(**values))
        hosts = _str_list(f.get("hosts", []), f"{label}: hosts")
        key, key_given = _key_request(f.get("key"), label)
        ca = _ca_config(f.get("ca"), label) if "ca" in f else None
        serial = _str(f.get("serialnumber", ""), f"{label}: serialnumber")
        req = cls(common_name=cn, names=tuple(names), hosts=hosts, key=key, key_given=key_given, ca=ca,
                  serial_number=serial, source=label)
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
                raise InputError(f"{self.source}: the request has neither a CN nor names, so the certificate "
                                 f"would have an empty subject (cfssl: \"missing subject information\")")
            for i, n in enumerate(self.names):
                if n.is_empty():
                    raise InputError(f"{self.source}: names[{i}] is empty and there is no CN (cfssl: \"empty name\")")
        for i, n in enumerate(self.names):
            if n.C and len(n.C) != 2:
                raise InputError(f"{self.source}: names[{i}].C {n.C!r} must be a two-letter country code such as "
                                 f"\"KR\" (RFC 5280; cfssl would accept it, other tools reject it)")
        self.classified_hosts()

    def with_hosts(self, hosts) -> CsrRequest:
        """A copy with ``hosts`` replaced, as ``cfssl gencert -hostname a,b`` does."""
        req = self.replace(hosts=tuple(hosts))
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

        oids = {"C": NameOID.COUNTRY_NAME, "ST": NameOID.STATE_OR_PROVINCE_NAME, "L": NameOID.LOCALITY_NAME,
                "O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
                "CN": NameOID.COMMON_NAME, "serialNumber": NameOID.SERIAL_NUMBER, "E": NameOID.EMAIL_ADDRESS}

        def attr(name, value):
            kind = _ASN1Type.PrintableString if _go_printable(value) else _ASN1Type.UTF8String
            try:
                return x509.NameAttribute(oids[name], value, kind)
            except ValueError as exc:
                raise InputError(f"{self.source}: {name} {value!r} cannot go into a certificate: {exc}") from None

        return x509.Name([x509.RelativeDistinguishedName([attr(name, v) for v in values])
                          for name, values in self.attributes()])

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
    f = _fields(value, where, _KEY_FIELDS)
    if "algo" not in f or f["algo"] == "":
        raise InputError(f"{where}.algo is missing; use \"rsa\" or \"ecdsa\" (or leave out \"key\" for cfssl's "
                         f"default, ecdsa 256)")
    algo = _str(f["algo"], f"{where}.algo")
    if algo not in ("rsa", "ecdsa"):
        hint = f" (cfssl accepts lower case only: {algo.lower()!r})" if algo.lower() in ("rsa", "ecdsa") else ""
        raise InputError(f"{where}.algo {algo!r} is not supported; use \"rsa\" or \"ecdsa\"{hint}")
    if "size" not in f:
        example = "2048" if algo == "rsa" else "256"
        raise InputError(f"{where}.size is missing; give e.g. {example} for {algo} (cfssl would fail with "
                         f"\"{'RSA key is too weak' if algo == 'rsa' else 'invalid curve'}\")")
    size = _int(f["size"], f"{where}.size")
    if algo == "rsa":
        if size < 2048:
            raise InputError(f"{where}.size {size} is too small: RSA keys must have at least 2048 bits "
                             f"(cfssl: \"RSA key is too weak\")")
        if size not in _RSA_SIZES:
            raise InputError(f"{where}.size {size} is not supported for rsa; use 2048, 3072 or 4096")
    elif size not in _EC_SIZES:
        raise InputError(f"{where}.size {size} is not supported for ecdsa; use 256 (P-256) or 384 (P-384)")
    return KeyRequest(algo, size), True


def _ca_config(value, label: str) -> CAConfig:
    where = f"{label}: ca"
    f = _fields(value, where, _CA_FIELDS)
    pathlen = _int(f.get("pathlen", 0), f"{where}.pathlen")
    zero = _bool(f.get("pathlenzero", False), f"{where}.pathlenzero")
    if pathlen < 0:
        raise InputError(f"{where}.pathlen {pathlen} must not be negative")
    if pathlen and zero:
        raise InputError(f"{where}: pathlenzero contradicts pathlen {pathlen} (cfssl would ignore pathlenzero)")
    expiry = _positive_duration(f["expiry"], f"{where}.expiry") if f.get("expiry") else None
    backdate = parse_go_duration(f["backdate"], f"{where}.backdate") if f.get("backdate") else None
    # Go's basicConstraints: pathlen 0 means "no limit" unless pathlenzero says it really is 0.
    path_length = pathlen if pathlen or zero else None
    return CAConfig(path_length=path_length, expiry=expiry, backdate=backdate)


# ------------------------------------------------------------------------ signing configs
class SigningProfile(_Record):
    """One cfssl signing profile (``signing.default`` or ``signing.profiles.<name>``).

    Attributes:
        name: ``"default"`` or the profile's name.
        usages: cfssl usage names, as given.
        expiry: lifetime of certificates signed with it.
        backdate: how far before now validity starts.
        is_ca: ``ca_constraint.is_ca``: sign CA certificates.
        path_length: ``ca_constraint`` pathlen for CA certificates, None for no limit.
    """

    _fields = ("name", "usages", "expiry", "backdate", "is_ca", "path_length")
    _defaults = {"backdate": DEFAULT_BACKDATE, "is_ca": False, "path_length": None}


_CONFIG_FIELDS = ("signing",)
_CONFIG_IGNORED = ("auth_keys", "remotes")  # only remote signing uses them
_SIGNING_FIELDS = ("default", "profiles")
_PROFILE_FIELDS = ("usages", "expiry", "backdate", "ca_constraint", "auth_key")
_PROFILE_UNSUPPORTED = {
    "remote": "remote signing", "auth_remote": "remote signing", "issuer_urls": "AIA issuer URLs",
    "ocsp_url": "OCSP URLs", "crl_url": "CRL distribution points", "policies": "certificate policies",
    "ocsp_no_check": "OCSP no-check", "copy_extensions": "copying CSR extensions",
    "not_before": "fixed validity dates", "not_after": "fixed validity dates",
    "name_whitelist": "name whitelists", "allowed_extensions": "extension whitelists",
    "lint_error_level": "zlint", "ignored_lints": "zlint", "is_ca": "the old is_ca flag (use ca_constraint)",
    "cert_store": "certificate stores", "prev_auth_key": "auth key rotation",
}
_CA_CONSTRAINT_FIELDS = ("is_ca", "max_path_len", "max_path_len_zero")


class SigningConfig(_Record):
    """A cfssl signing configuration (``config.Config``), as read from ``*-config.json``.

    Attributes:
        default: ``signing.default`` (cfssl's built-in default when the file has none).
        profiles: ``signing.profiles``, by name.
        source: the file name or label, for messages.
        given: False for the built-in configuration used when no ``-config`` is given.
    """

    _fields = ("default", "profiles", "source", "given")
    _defaults = {"source": "signing config", "given": True}

    @classmethod
    def builtin(cls) -> SigningConfig:
        """cfssl's configuration when ``-config`` is not given: one default profile, 8760h, server and client auth."""
        return cls(default=SigningProfile("default", DEFAULT_USAGES, DEFAULT_EXPIRY), profiles={},
                   source="cfssl's built-in signing configuration", given=False)

    @classmethod
    def from_json(cls, source) -> SigningConfig:
        """Read a cfssl signing configuration.

        Args:
            source: JSON text or bytes, a parsed dict, or a path to a ``.json`` file.

        Raises:
            InputError: malformed or incomplete JSON, no ``signing`` section, a wrong type,
                an unknown or unsupported field, a profile without ``expiry`` or without usages,
                a bad duration.
            UnknownUsageError: a usage name cfssl does not know (cfssl would drop it).
        """
        data, label = _load_json(source, "signing config")
        f = _fields(data, label, _CONFIG_FIELDS, ignored=_CONFIG_IGNORED)
        if "signing" not in f:
            raise InputError(f"{label}: there is no \"signing\" section (cfssl: 'No \"signing\" field present')")
        s = _fields(f["signing"], f"{label}: signing", _SIGNING_FIELDS)
        if "default" in s:
            default = _profile(s["default"], "default", label, is_default=True)
        else:
            default = SigningProfile("default", DEFAULT_USAGES, DEFAULT_EXPIRY)
        raw_profiles = s.get("profiles", {})
        if not isinstance(raw_profiles, dict):
            raise InputError(f"{label}: signing.profiles must be an object of named profiles, "
                             f"not {_json_type(raw_profiles)}")
        profiles = {}
        for name, value in getattr(raw_profiles, "pairs", raw_profiles.items()):
            if name in profiles:
                raise InputError(f"{label}: profile {name!r} is defined twice; cfssl would silently keep the last")
            profiles[name] = _profile(value, name, label, is_default=False)
        return cls(default=default, profiles=profiles, source=label)

    def profile(self, name: str | None = None) -> SigningProfile:
        """The profile ``-profile=name`` selects; None or "" gives ``signing.default``.

        ``"default"`` also names ``signing.default`` unless a profile of that name exists.

        Raises:
            UnknownProfileError: no such profile (cfssl would silently sign with the default).
            InputError: the selected profile has no usages (cfssl: "no key usage available").
        """
        if name and name in self.profiles:
            chosen = self.profiles[name]
        elif not name or name == "default":
            chosen = self.default
        elif not self.given:
            raise UnknownProfileError(f"profile {name!r} was asked for but no signing configuration was given "
                                      f"(-config), so there are no profiles; cfssl would silently use its "
                                      f"built-in default")
        else:
            known = ", ".join(sorted(self.profiles)) or "(none)"
            close = _close_matches(name, list(self.profiles), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UnknownProfileError(f"{self.source} has no signing profile {name!r}{hint}; its profiles are: "
                                      f"{known} (cfssl would silently sign with signing.default instead)")
        if not chosen.usages:
            raise InputError(f"{self.source}: signing profile {chosen.name!r} has no usages, so the certificate "
                             f"would have no key usage (cfssl: \"Invalid policy: no key usage available\")")
        return chosen


def _profile(value, name: str, label: str, *, is_default: bool) -> SigningProfile:
    where = f"{label}: signing.{'default' if is_default else 'profiles.' + name}"
    f = _fields(value, where, _PROFILE_FIELDS, _PROFILE_UNSUPPORTED)
    usages = _str_list(f.get("usages", []), f"{where}.usages")
    if usages:
        # imports cryptography: only when there are usages to check
        from .certs import EXT_KEY_USAGES, KEY_USAGES, resolve_usages

        known = list(KEY_USAGES) + list(EXT_KEY_USAGES)
        for usage in usages:
            if usage not in known:
                close = _close_matches(usage.lower().replace("-", " ").replace("_", " "), known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise UnknownUsageError(f"{where}.usages: unknown usage {usage!r}{hint}, which cfssl would silently "
                                        f"drop; known usages: {', '.join(known)}")
        try:
            resolve_usages(usages)
        except InputError as exc:
            raise InputError(f"{where}.usages: {exc}") from None
    elif not is_default:
        raise InputError(f"{where} has no usages; cfssl refuses such a configuration (\"invalid configuration\"), "
                         f"add e.g. \"usages\": [\"signing\", \"key encipherment\", \"client auth\"]")
    if "expiry" not in f or f["expiry"] == "":
        raise InputError(f"{where} has no expiry; cfssl refuses such a configuration (\"empty expiry string\"), "
                         f"add e.g. \"expiry\": \"8760h\"")
    expiry = _positive_duration(f["expiry"], f"{where}.expiry")
    backdate = DEFAULT_BACKDATE
    if f.get("backdate"):
        backdate = parse_go_duration(f["backdate"], f"{where}.backdate")
        if backdate < timedelta(0):
            raise InputError(f"{where}.backdate {f['backdate']!r} must not be negative")
        if backdate == timedelta(0):
            backdate = DEFAULT_BACKDATE  # cfssl: zero means its default
    is_ca, path_length = False, None
    if "ca_constraint" in f:
        cw = f"{where}.ca_constraint"
        c = _fields(f["ca_constraint"], cw, _CA_CONSTRAINT_FIELDS)
        is_ca = _bool(c.get("is_ca", False), f"{cw}.is_ca")
        max_len = _int(c.get("max_path_len", 0), f"{cw}.max_path_len")
        zero = _bool(c.get("max_path_len_zero", False), f"{cw}.max_path_len_zero")
        if max_len < 0:
            raise InputError(f"{cw}.max_path_len {max_len} must not be negative")
        if is_ca:
            path_length = max_len if max_len or zero else None
    return SigningProfile(name=name, usages=usages, expiry=expiry, backdate=backdate, is_ca=is_ca,
                          path_length=path_length)


# ---------------------------------------------------------------------------------- issuing
def cfssl_validity(expiry: timedelta, backdate: timedelta = DEFAULT_BACKDATE,
                   now: datetime | None = None) -> tuple[datetime, datetime]:
    """cfssl's validity window: ``notBefore = round(now, minute) - backdate``, ``notAfter = notBefore + expiry``.

    Go's ``Time.Round`` rounds half up, so 10:00:30 becomes 10:01.
    """
    now = now or datetime.now(timezone.utc)
    rounded = (now + timedelta(seconds=30)).replace(second=0, microsecond=0)
    try:
        not_before = rounded - backdate
        not_after = not_before + expiry
    except OverflowError:
        not_before = not_after = None
    # X.509 times: UTCTime from 1950, GeneralizedTime up to 9999 (RFC 5280 4.1.2.5); the
    # cryptography package refuses a notBefore before 1950
    if not_before is None or not_before.year < 1950 or not_after.year > 9999:
        raise InputError(f"the validity window (expiry {format_go_duration(expiry)}, backdate "
                         f"{format_go_duration(backdate)}) falls outside 1950..9999, which a certificate "
                         f"cannot express; shorten the expiry or the backdate")
    return not_before, not_after


def _go_signature_hash(key):
    """The hash cfssl signs a CSR with (``helpers.SignerAlgo``): bigger keys get bigger hashes."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

    if isinstance(key, rsa.RSAPrivateKey):
        size = key.key_size
        return hashes.SHA512() if size >= 4096 else hashes.SHA384() if size >= 3072 else hashes.SHA256()
    size = key.curve.key_size
    return hashes.SHA512() if size >= 521 else hashes.SHA384() if size >= 384 else hashes.SHA256()


def _make_csr(req: CsrRequest, key, subject, general_names, *, ca: bool):
    """The CSR cfssl prints beside the certificate: the request's subject, SANs and, for ``ca``, basicConstraints."""
    from cryptography import x509

    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if general_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(general_names), critical=False)
    if ca and req.ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=req.ca.path_length),
                                        critical=True)
    return builder.sign(key, _go_signature_hash(key))


def _general_names(req: CsrRequest) -> list:
    """The request's SANs as ``x509.GeneralName`` objects, in Go's order.

    They come from the certificate core's :func:`k8sauthlib.certs.parse_hosts`, which the
    certificate will be built with too; each must be the same kind of SAN cfssl's rule gave.
    """
    from cryptography import x509

    from .certs import parse_hosts

    classified = req.classified_hosts()
    general_names = parse_hosts([value for _, value in classified])
    kinds = {x509.DNSName: "dns", x509.RFC822Name: "email", x509.IPAddress: "ip",
             x509.UniformResourceIdentifier: "uri"}
    for (kind, host), general_name in zip(classified, general_names):
        if kinds[type(general_name)] != kind:
            raise InputError(f"{req.source}: host {host!r} is ambiguous (cfssl reads it as {kind}, "
                             f"not {kinds[type(general_name)]}); write it in a plainer form")
    return general_names


def load_ca(cert_path, key_path):
    """Load the signing CA of ``-ca`` / ``-ca-key``: PEM certificate plus PKCS#1, PKCS#8 or EC key.

    The same checks as :meth:`k8sauthlib.CA.load` (the key must match the certificate, which must
    be a CA), but faster for RSA: OpenSSL's RSA key validation runs primality tests on the
    secret primes, which costs as much as a third of generating a key, on every command. We
    skip it and instead check every signature the key makes against the CA certificate
    (:func:`gencert` does), which catches a damaged key as surely. Any problem falls back to
    :meth:`k8sauthlib.CA.load`, for its precise error message.

    Raises:
        InputError: a file is missing, unreadable, or not a certificate / private key, or the
            certificate is not a CA.
        KeyMismatchError: the key does not belong to the certificate.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from .certs import CA, key_matches

    try:
        key_data = Path(key_path).read_bytes()
        key = serialization.load_pem_private_key(key_data, None, unsafe_skip_rsa_key_validation=True)
        certs = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())
        ok = isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)) and key_matches(certs[0], key)
        try:
            ok = ok and certs[0].extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            pass
    except Exception:  # noqa: BLE001 - any failure: let CA.load say precisely what is wrong
        ok = False
    if not ok:
        return CA.load(cert_path, key_path)
    return CA(certs[0], key, chain=certs[1:])


def _check_signed_by(cert, ca) -> None:
    """The new certificate's signature verifies with the CA certificate's public key.

    Only RSA keys need it (see :func:`load_ca`); loading an EC key checks it fully, and an
    ECDSA verification would cost more than the signing it checks.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not isinstance(ca.key, rsa.RSAPrivateKey):
        return
    try:
        cert.verify_directly_issued_by(ca.cert)
    except (InvalidSignature, ValueError, TypeError):
        raise InputError("the CA key made a signature that the CA certificate does not verify; the key file is "
                         "damaged") from None


def gencert_initca(req: CsrRequest | Any, *, now: datetime | None = None, private_key=None):
    """``cfssl gencert -initca``: a new key and a self-signed root CA from a CSR request.

    Follows cfssl's CA policy: key usages ``cert sign`` and ``crl sign``, no extended key usage,
    ``basicConstraints`` CA:TRUE (with ``ca.pathlen``), 43800h (5 years) unless ``ca.expiry``;
    DNS, email and URI SANs are dropped (IP SANs kept), while the CSR keeps them all.

    Args:
        req: a :class:`CsrRequest`, or anything :meth:`CsrRequest.from_json` accepts.
        now: the issuing time (default: now), for reproducible tests.
        private_key: a key of the request's kind made beforehand (see :meth:`KeyRequest.generate`);
            None makes a new one.

    Returns:
        A :class:`k8sauthlib.CA` with ``key`` and ``csr`` set.
    """
    from .certs import CA, _build

    if not isinstance(req, CsrRequest):
        req = CsrRequest.from_json(req)
    ca_cfg = req.ca or CAConfig()
    expiry = ca_cfg.expiry or CA_EXPIRY
    backdate = ca_cfg.backdate if ca_cfg.backdate else DEFAULT_BACKDATE
    not_before, not_after = cfssl_validity(expiry, backdate, now)
    subject = req.subject()
    general_names = _general_names(req)
    ip_sans = [value for kind, value in req.classified_hosts() if kind == "ip"]
    key = req.key.generate() if private_key is None else private_key
    req.key.check(key)
    # What CA.create does, with our key: self-signed, CA:TRUE, no AKI.
    cert = _build(subject=subject, issuer=subject, public_key=key.public_key(), signing_key=key, issuer_ski=None,
                  hosts=ip_sans, usages=CA_USAGES, validity=expiry, not_before=not_before, not_after=not_after,
                  is_ca=True, path_length=ca_cfg.path_length)
    return CA(cert, key, csr=_make_csr(req, key, subject, general_names, ca=True))


def gencert(ca, req: CsrRequest | Any, config: SigningConfig | Any | None = None, profile: str | None = None,
            *, now: datetime | None = None, private_key=None):
    """``cfssl gencert -ca -ca-key -config -profile``: a new key and a certificate signed by ``ca``.

    Args:
        ca: the signing :class:`k8sauthlib.CA`.
        req: a :class:`CsrRequest`, or anything :meth:`CsrRequest.from_json` accepts.
        config: a :class:`SigningConfig` (or its JSON); None means cfssl's built-in default
            (usages signing, key encipherment, server auth, client auth; 8760h).
        profile: the ``-profile`` name; None or "" selects ``signing.default``.
        now: the issuing time (default: now), for reproducible tests.
        private_key: a key of the request's kind made beforehand (see :meth:`KeyRequest.generate`);
            None makes a new one.

    Returns:
        A :class:`k8sauthlib.Cert` with ``key`` and ``csr`` set.

    Raises:
        UnknownProfileError: ``profile`` is not in the configuration.
        InputError: the request has a ``ca`` section (only ``-initca`` uses it), or see
            :meth:`CsrRequest.from_json` and :meth:`SigningConfig.from_json`.
    """
    from .certs import CA

    if not isinstance(req, CsrRequest):
        req = CsrRequest.from_json(req)
    if config is None:
        config = SigningConfig.builtin()
    elif not isinstance(config, SigningConfig):
        config = SigningConfig.from_json(config)
    chosen = config.profile(profile)
    if req.ca is not None:
        raise InputError(f"{req.source}: the \"ca\" section is only allowed with -initca "
                         f"(cfssl: \"ca section only permitted in initca\")")
    not_before, not_after = cfssl_validity(chosen.expiry, chosen.backdate, now)
    subject = req.subject()
    general_names = _general_names(req)
    sans = req.sans()
    key = req.key.generate() if private_key is None else private_key
    req.key.check(key)
    csr = _make_csr(req, key, subject, general_names, ca=False)
    issued = ca.issue(subject=subject, hosts=sans, usages=chosen.usages, not_before=not_before,
                      not_after=not_after, is_ca=chosen.is_ca, path_length=chosen.path_length,
                      public_key=key.public_key(), csr=csr)
    _check_signed_by(issued.cert, ca)
    if chosen.is_ca:
        return CA(issued.cert, key, csr=csr, chain=issued.chain)
    issued.key = key  # our own fresh key for the public key just signed: no need to re-check the pair
    return issued


def to_cfssl_json(cert) -> dict[str, str]:
    """The JSON object cfssl prints for a certificate: ``cert``, ``csr`` and ``key`` PEM strings.

    Fields without a value (no key, no CSR) are left out, as cfssl leaves them out.
    """
    out = {"cert": cert.cert_pem.decode()}
    if getattr(cert, "csr", None) is not None:
        out["csr"] = cert.csr_pem.decode()
    if getattr(cert, "key", None) is not None:
        out["key"] = cert.key_pem.decode()
    return out


def dumps_cfssl_json(obj: dict[str, str]) -> str:
    """Serialize like Go's ``json.Marshal`` of a ``map[string]string``: sorted keys, no spaces."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


__all__ = ["CAConfig", "CsrRequest", "KeyRequest", "NameEntry", "SigningConfig", "SigningProfile",
           "cfssl_validity", "classify_host", "dumps_cfssl_json", "gencert", "gencert_initca",
           "go_san_order", "load_ca", "parse_go_duration", "split_hosts", "to_cfssl_json"]
