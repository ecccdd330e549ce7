"""kubeconfig files, written byte for byte the way kubectl writes them.

``kubectl config set-cluster / set-credentials / set-context / use-context`` load the file,
change one entry and write the whole file back through client-go's ``clientcmd.Write``: JSON
first, then ``sigs.k8s.io/yaml`` turns that JSON into YAML with go-yaml v2. Three things follow,
and :class:`Kubeconfig` reproduces all of them so that a notebook can put our file next to
kubectl's and ``diff`` shows nothing:

- every mapping's keys are sorted (go-yaml's "natural" order), so ``apiVersion``, ``clusters``,
  ``contexts``, ``current-context``, ``kind``, ``preferences``, ``users``; ``name`` after
  ``cluster``; and the named lists are sorted by name;
- empty fields disappear (``omitempty``) except ``server``, a context's ``cluster`` and ``user``,
  ``current-context`` (``""``) and the three lists (``null`` when empty);
- strings are quoted only when go-yaml would read them back as something else (``"yes"``,
  ``"123"``, ``""``), and long lines are folded at 80 columns.

File paths follow kubectl too: a path given to ``set_*`` is made absolute, and on writing it is
made relative to the kubeconfig's directory when that needs no ``..``.

kubeadm writes ``admin.conf`` and ``kubeadm kubeconfig user`` prints its output through the same
``clientcmd.Write``, so the same class also reproduces those (see :func:`kubeconfig_for_user`).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import functools
import os
import re
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Iterable

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .errors import InputError, K8sAuthError, KeyMismatchError
from .files import KEY_MODE, BareFiles, atomic_write, read_file, write_bare

#: What ``kubectl config view`` prints instead of embedded certificate and key data.
DATA_OMITTED = "DATA+OMITTED"
#: What ``kubectl config view`` prints instead of a token.
REDACTED = "REDACTED"

# Fields of client-go's v1 types (k8s.io/client-go/tools/clientcmd/api/v1/types.go) and the
# Python types a YAML file must give them. Anything else is dropped on load, as kubectl does.
_CLUSTER_FIELDS = {
    "server": str, "tls-server-name": str, "insecure-skip-tls-verify": bool,
    "certificate-authority": str, "certificate-authority-data": bytes, "proxy-url": str,
    "disable-compression": bool, "extensions": list,
}
_USER_FIELDS = {
    "client-certificate": str, "client-certificate-data": bytes, "client-key": str,
    "client-key-data": bytes, "token": str, "tokenFile": str, "as": str, "as-uid": str,
    "as-groups": list, "as-user-extra": dict, "username": str, "password": str,
    "auth-provider": dict, "exec": dict, "extensions": list,
}
_CONTEXT_FIELDS = {"cluster": str, "user": str, "namespace": str, "extensions": list}
# Fields without ``omitempty``: written even when empty.
_ALWAYS = {"cluster": {"server"}, "user": set(), "context": {"cluster", "user"}}
# File references that clientcmd resolves against the kubeconfig's directory.
_PATH_FIELDS = {"cluster": ("certificate-authority",), "user": ("client-certificate", "client-key", "tokenFile"),
                "context": ()}
_KINDS = {"cluster": ("clusters", _CLUSTER_FIELDS), "user": ("users", _USER_FIELDS),
          "context": ("contexts", _CONTEXT_FIELDS)}


# =============================================================================== go-yaml v2 form
# go-yaml v2 resolve.go: plain scalars that decode to something other than a string.
_GO_MAP_SCALARS = frozenset(
    "y Y yes Yes YES true True TRUE on On ON n N no No NO false False FALSE off Off OFF "
    "~ null Null NULL .nan .NaN .NAN .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF".split()) | {""}
_GO_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_GO_INT = re.compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_GO_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))"
    r"|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?))?")


def _go_int(s: str) -> bool:
    m = _GO_INT.fullmatch(s)
    if not m:
        return False
    digits = m.group(2)
    if len(digits) > 1 and digits[0] == "0" and digits[1] in "xXoObB":
        value = int(digits[2:], {"x": 16, "o": 8, "b": 2}[digits[1].lower()])
    else:
        value = int(digits, 8) if len(digits) > 1 and digits[0] == "0" else int(digits)
    # strconv.ParseInt, then ParseUint for non-negative values: anything beyond fails.
    return value <= (2 ** 63 if m.group(1) == "-" else 2 ** 64 - 1)


def _go_timestamp(s: str) -> bool:
    m = _GO_TIMESTAMP.fullmatch(s)
    if not m:
        return False
    import calendar
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return False
    hms = [g for g in m.groups()[3:] if g is not None]
    return not hms or (int(hms[0]) < 24 and int(hms[1]) < 60 and int(hms[2]) < 60)


def _go_resolves_non_string(s: str) -> bool:
    """True when go-yaml v2 would decode the plain scalar ``s`` as a bool, null, number or time."""
    if s in _GO_MAP_SCALARS:
        return True
    hint = s[0]
    if hint == ".":
        return re.fullmatch(r"\.[0-9]+([eE][-+]?[0-9]+)?", s) is not None
    if hint in "+-0123456789":
        if hint in "0123456789" and _go_timestamp(s):
            return True
        plain = s.replace("_", "")
        if _go_int(plain) or _GO_FLOAT.fullmatch(plain):
            return True
        for prefix in ("0b", "-0b"):
            if plain.startswith(prefix) and re.fullmatch(r"[01]+", plain[len(prefix):]):
                return True
    return False


def _go_string_style(s: str):
    """The scalar style go-yaml v2's encoder asks for (PyYAML then falls back exactly as libyaml)."""
    if "\n" in s:
        return "|"
    if _go_resolves_non_string(s) or _GO_BASE60.fullmatch(s):
        return '"'
    return None  # plain if the emitter allows it, else single-quoted, else double-quoted


def _go_key_cmp(a: str, b: str) -> int:
    """go-yaml v2 ``keyList.Less`` for string keys: letters after other characters, numbers by value."""
    ar, br = a, b
    for i in range(min(len(ar), len(br))):
        if ar[i] == br[i]:
            continue
        al, bl = ar[i].isalpha(), br[i].isalpha()
        if al and bl:
            return -1 if ar[i] < br[i] else 1
        if al or bl:
            return -1 if bl else 1
        an = bn = 0
        if ar[i] == "0" or br[i] == "0":
            j = i - 1
            while j >= 0 and ar[j].isdecimal():
                if ar[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(ar) and ar[ai].isdecimal():
            an = an * 10 + ord(ar[ai]) - 48
            ai += 1
        bi = i
        while bi < len(br) and br[bi].isdecimal():
            bn = bn * 10 + ord(br[bi]) - 48
            bi += 1
        if an != bn:
            return -1 if an < bn else 1
        if ai != bi:
            return -1 if ai < bi else 1
        return -1 if ar[i] < br[i] else 1
    return (len(ar) > len(br)) - (len(ar) < len(br))


def _go_float(f: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64) as go-yaml writes it (``.inf``, ``.nan``)."""
    if f != f:
        return ".nan"
    if f in (float("inf"), float("-inf")):
        return ".inf" if f > 0 else "-.inf"
    sign, digits, exp = Decimal(repr(f)).normalize().as_tuple()
    digits = "".join(map(str, digits)) or "0"
    x = len(digits) + exp - 1  # decimal exponent of the first digit
    if f == 0:
        return "-0" if sign else "0"
    if x < -4 or x >= 21:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{'-' if sign else ''}{mant}e{'-' if x < 0 else '+'}{abs(x):02d}"
    return ("-" if sign else "") + format(Decimal(repr(abs(f))).normalize(), "f")


_STR = "tag:yaml.org,2002:str"


def _node(value):
    if isinstance(value, dict):
        keys = sorted(value, key=functools.cmp_to_key(_go_key_cmp))
        pairs = [(_node(str(k)), _node(value[k])) for k in keys]
        return MappingNode("tag:yaml.org,2002:map", pairs, flow_style=not pairs)
    if isinstance(value, (list, tuple)):
        items = [_node(v) for v in value]
        return SequenceNode("tag:yaml.org,2002:seq", items, flow_style=not items)
    if value is None:
        return ScalarNode(_STR, "null")
    if isinstance(value, bool):
        return ScalarNode(_STR, "true" if value else "false")
    if isinstance(value, int):
        return ScalarNode(_STR, str(value))
    if isinstance(value, float):
        return ScalarNode(_STR, _go_float(value))
    if isinstance(value, bytes):
        return ScalarNode(_STR, base64.b64encode(value).decode())
    text = str(value)
    return ScalarNode(_STR, text, style=_go_string_style(text))


class _GoDumper(yaml.emitter.Emitter, yaml.serializer.Serializer, yaml.resolver.BaseResolver):
    """PyYAML's libyaml-derived emitter with no implicit resolvers: we choose every style ourselves."""

    def __init__(self, stream, **_ignored):
        yaml.emitter.Emitter.__init__(self, stream, canonical=False, indent=2, width=80,
                                      allow_unicode=True, line_break="\n")
        yaml.serializer.Serializer.__init__(self, encoding=None, explicit_start=False,
                                            explicit_end=False, version=None, tags=None)
        yaml.resolver.BaseResolver.__init__(self)


def go_yaml_dump(data) -> str:
    """Serialize JSON-like data the way ``sigs.k8s.io/yaml`` (go-yaml v2) does in kubectl.

    Args:
        data: dicts, lists, strings, bools, numbers, None and bytes (written as base64, like
            Go's ``[]byte`` in JSON).

    Returns:
        The YAML text, ending with a newline.
    """
    return yaml.serialize(_node(data), Dumper=_GoDumper)


# ===================================================================================== durations
_GO_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 10 ** 9,
             "m": 60 * 10 ** 9, "h": 3600 * 10 ** 9}


def parse_duration(text) -> timedelta:
    """Parse a Go duration such as ``24h``, ``8760h0m0s``, ``90m`` or ``1.5h`` (``time.ParseDuration``).

    Args:
        text: the duration string; a ``timedelta`` is returned unchanged.

    Raises:
        InputError: with Go's own wording (``time: unknown unit "d" in duration "1d"``) and a hint.
    """
    if isinstance(text, timedelta):
        return text
    s = str(text)
    orig = s
    hint = "; write hours, minutes and seconds like 24h, 8760h0m0s or 90m (Go has no 'd' unit)"
    neg = False
    if s and s[0] in "+-":
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return timedelta(0)
    if not s:
        raise InputError(f'time: invalid duration "{orig}"{hint}')
    total = Decimal(0)
    while s:
        m = re.match(r"([0-9]*)(?:\.([0-9]*))?", s)
        whole, frac = m.group(1), m.group(2)
        if not whole and not frac:
            raise InputError(f'time: invalid duration "{orig}"{hint}')
        s = s[m.end():]
        u = re.match(r"[^0-9.]+", s)
        if not u:
            raise InputError(f'time: missing unit in duration "{orig}"{hint}')
        unit, s = u.group(0), s[u.end():]
        if unit not in _GO_UNITS:
            raise InputError(f'time: unknown unit "{unit}" in duration "{orig}"{hint}')
        total += Decimal(f"{whole or 0}.{frac or 0}") * _GO_UNITS[unit]
    if total >= 2 ** 63:
        raise InputError(f'time: invalid duration "{orig}"{hint}')
    ns = int(total)
    return -timedelta(microseconds=ns / 1000) if neg else timedelta(microseconds=ns / 1000)


def format_duration(td: timedelta) -> str:
    """Format like Go's ``Duration.String()``: ``timedelta(days=365)`` -> ``"8760h0m0s"``."""
    us = td // timedelta(microseconds=1)
    sign = "-" if us < 0 else ""
    us = abs(us)
    if us == 0:
        return "0s"
    if us < 1_000_000:
        if us < 1000:
            return f"{sign}{us}µs"
        return f"{sign}{format((Decimal(us) / 1000).normalize(), 'f')}ms"
    h, rest = divmod(us, 3_600_000_000)
    m, rest = divmod(rest, 60_000_000)
    sec = Decimal(rest) / Decimal(1_000_000)
    sec_text = format(sec.normalize(), "f") if rest % 1_000_000 else str(rest // 1_000_000)
    if h:
        return f"{sign}{h}h{m}m{sec_text}s"
    if m:
        return f"{sign}{m}m{sec_text}s"
    return f"{sign}{sec_text}s"


# ====================================================================================== helpers
def _pem_bytes(value, what: str) -> bytes:
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, (bytes, bytearray)):
        raise InputError(f"{what} must be PEM bytes or text, not {type(value).__name__}")
    return bytes(value)


def _read_file(path, what: str) -> bytes:
    return read_file(path, what, permission_hint="root-only files such as /etc/kubernetes/admin.conf need "
                                                 "sudo; see k8sauthlib.KubeadmTree")


def _check_pair(cert_pem: bytes, key_pem: bytes, cert_what: str, key_what: str) -> None:
    """Raise KeyMismatchError unless the key belongs to the certificate (both PEM)."""
    from .certs import key_matches, load_cert, load_private_key
    try:
        cert = load_cert(cert_pem)
    except InputError as exc:
        raise InputError(f"{cert_what}: {exc}") from None
    try:
        key = load_private_key(key_pem)
    except InputError as exc:
        raise InputError(f"{key_what}: {exc}") from None
    if not key_matches(cert, key):
        subject = cert.subject.rfc4514_string() or "(empty subject)"
        raise KeyMismatchError(f"the private key ({key_what}) does not belong to the certificate ({cert_what}, "
                               f"{subject}); pair each certificate with the key it was issued for")


def _relativize(path: str, base_dir: Path) -> str:
    """clientcmd ``RelativizePathWithNoBacksteps``: relative to ``base_dir`` unless that needs ``..``."""
    if not path or not os.path.isabs(path):
        return path
    rel = os.path.relpath(path, base_dir)
    return path if rel.startswith("..") else rel


def _is_empty(value) -> bool:
    return value is None or value is False or (isinstance(value, (str, bytes, list, dict)) and not value)


class _ComposeLoader(yaml.SafeLoader):
    """Composes nodes only; :func:`_go_value` then reads scalars with go-yaml v2's rules."""

    yaml_implicit_resolvers: dict = {}

    def compose_scalar_node(self, anchor):
        event = self.peek_event()
        node = super().compose_scalar_node(anchor)
        node.explicit_tag = event.tag not in (None, "!")
        return node


def _go_int_value(plain: str) -> int:
    sign = -1 if plain[0] == "-" else 1
    digits = plain.lstrip("+-")
    if len(digits) > 1 and digits[0] == "0":
        return sign * int(digits, 0 if digits[1] in "xXoObB" else 8)
    return sign * int(digits)


def _go_value(node):
    """Python value of a composed YAML node, typed as go-yaml v2 (and so kubectl) would type it.

    Plain scalars become bools, nulls and numbers by go-yaml's table (``yes`` is true, ``0o17``
    a number, a date stays a string); quoted scalars are always strings.
    """
    if isinstance(node, MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = _go_value(key_node)
            out[key if isinstance(key, str) else str(key)] = _go_value(value_node)
        return out
    if isinstance(node, SequenceNode):
        return [_go_value(n) for n in node.value]
    text = node.value
    if getattr(node, "explicit_tag", False):
        if node.tag == _STR:
            return text
        loader = yaml.SafeLoader("")
        return loader.yaml_constructors.get(node.tag, yaml.SafeLoader.construct_scalar)(loader, node)
    if node.style is not None or node.tag != _STR:
        return text
    if text in _GO_MAP_SCALARS:
        if text in ("", "~", "null", "Null", "NULL"):
            return None
        if text.lstrip("+-").lower() in (".inf", ".nan"):
            return float(text.lower().replace(".", ""))
        return text in "y Y yes Yes YES true True TRUE on On ON".split()
    if _go_timestamp(text) or not _go_resolves_non_string(text):
        return text  # go-yaml v2 hands timestamps to interface{} as strings
    plain = text.replace("_", "")
    if _go_int(plain):
        return _go_int_value(plain)
    if plain.startswith(("0b", "-0b")):
        return int(plain.replace("0b", ""), 2)
    return float(plain)


#: Nodes a kubeconfig may expand to, aliases included. go-yaml v2 (decode.go, allowedAliasRatio)
#: refuses "excessive aliasing" the same way, so a billion-laughs file fails fast, in kubectl too.
_MAX_EXPANDED_NODES = 1_000_000


def _check_expansion(root, where: str) -> None:
    """Refuse a document whose aliases expand past :data:`_MAX_EXPANDED_NODES` (a YAML bomb)."""
    count, stack = 0, [root]
    while stack:
        node = stack.pop()
        count += 1
        if count > _MAX_EXPANDED_NODES:
            raise InputError(f"{where}: the YAML's aliases expand to more than {_MAX_EXPANDED_NODES} nodes "
                             f"(excessive aliasing, as go-yaml says); this is not a kubeconfig")
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                stack.append(key_node)
                stack.append(value_node)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)


def _type_name(value) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


# ==================================================================================== Kubeconfig
class Kubeconfig:
    """A kubeconfig: clusters, users (credentials), contexts and the current context.

    Build one the way the article does with kubectl::

        kc = k8s.Kubeconfig()
        kc.set_cluster("kubernetes", "https://127.0.0.1:6443", certificate_authority="ca.crt", embed=True)
        kc.set_credentials("alice", client_certificate="alice.pem", client_key="alice-key.pem", embed=True)
        kc.set_context("alice@kubernetes", cluster="kubernetes", user="alice")
        kc.use_context("alice@kubernetes")
        kc.write("alice.kubeconfig")          # mode 0600, same bytes kubectl would write

    Entries are plain dicts keyed by the kubeconfig's field names; ``*-data`` fields hold the
    decoded bytes (PEM), not base64.

    Attributes:
        path: the file this kubeconfig was loaded from or last written to, or None.
        current_context: the current context's name ("" when none).
    """

    def __init__(self):
        self.path: Path | None = None
        self.current_context: str = ""
        self._entries: dict[str, dict[str, dict]] = {"cluster": {}, "user": {}, "context": {}}
        self._preferences: dict = {}
        self._extensions: list | None = None
        self._dirty: set[tuple[str, str]] = set()  # entries changed through set_*: their paths are absolute

    # ----------------------------------------------------------------------------- reading
    @classmethod
    def load(cls, path) -> Kubeconfig:
        """Read a kubeconfig file.

        Args:
            path: the file.

        Raises:
            InputError: the file is missing or unreadable, is not YAML, or has fields of the wrong
                kind (e.g. ``clusters`` not a list, a duplicate name, bad base64 data).
        """
        data = _read_file(path, "kubeconfig")
        return cls.from_yaml(data, path=path)

    @classmethod
    def from_yaml(cls, text, *, path=None) -> Kubeconfig:
        """Parse kubeconfig YAML (text or bytes); ``path`` names its file for relative paths and messages."""
        where = str(path) if path is not None else "kubeconfig"
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"{where}: not UTF-8 text; a kubeconfig is a YAML file") from None
        try:
            node = yaml.compose(text, Loader=_ComposeLoader)
            if node is not None:
                _check_expansion(node, where)
            doc = _go_value(node) if node is not None else None
        except RecursionError:
            raise InputError(f"{where}: YAML nested too deeply to be a kubeconfig") from None
        except InputError:
            raise
        except (ValueError, TypeError) as exc:
            raise InputError(f"{where}: not valid YAML: {str(exc).split(';')[0]}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise InputError(f"{where}: not valid YAML{line}: {problem}") from None
        kc = cls()
        kc.path = Path(path) if path is not None else None
        if doc is None:
            return kc
        if not isinstance(doc, dict):
            raise InputError(f"{where}: a kubeconfig is a YAML mapping (apiVersion, clusters, users, ...), "
                             f"not {_type_name(doc)}")
        api_version = doc.get("apiVersion")
        if api_version not in (None, "", "v1"):
            raise InputError(f'{where}: apiVersion {api_version!r} is not a kubeconfig version; use "v1"')
        kind = doc.get("kind")
        if kind not in (None, "", "Config"):
            raise InputError(f'{where}: kind {kind!r} is not a kubeconfig; expected "Config"')
        for kind_name, (list_key, fields) in _KINDS.items():
            items = doc.get(list_key)
            if items is None:
                continue
            if not isinstance(items, list):
                raise InputError(f'{where}: "{list_key}" must be a list of entries with a name, '
                                 f"not {_type_name(items)}")
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    raise InputError(f'{where}: entry {i + 1} of "{list_key}" must be a mapping with '
                                     f'"name" and "{kind_name}"')
                name = item.get("name", "")
                if not isinstance(name, str):
                    raise InputError(f'{where}: entry {i + 1} of "{list_key}" has a name that is '
                                     f"{_type_name(name)}; quote it to make it a string")
                if name in kc._entries[kind_name]:
                    raise InputError(f'{where}: "{list_key}" has two entries named "{name}"')
                body = item.get(kind_name) or {}
                if not isinstance(body, dict):
                    raise InputError(f'{where}: {kind_name} "{name}" must be a mapping, not {_type_name(body)}')
                kc._entries[kind_name][name] = cls._parse_entry(body, fields, f'{where}: {kind_name} "{name}"')
        current = doc.get("current-context") or ""
        if not isinstance(current, str):
            raise InputError(f"{where}: current-context must be a string, not {_type_name(current)}")
        kc.current_context = current
        prefs = doc.get("preferences") or {}
        if not isinstance(prefs, dict):
            raise InputError(f"{where}: preferences must be a mapping")
        kc._preferences = {k: v for k, v in prefs.items() if k in ("colors", "extensions") and v}
        ext = doc.get("extensions")
        kc._extensions = ext if isinstance(ext, list) and ext else None
        return kc

    @staticmethod
    def _parse_entry(body: dict, fields: dict, where: str) -> dict:
        entry = {}
        for key, value in body.items():
            want = fields.get(key)
            if want is None or value is None:
                continue  # unknown fields are dropped, as client-go's decoder does
            if want is bytes:
                if not isinstance(value, str):
                    raise InputError(f"{where}: {key} must be base64 text, not {_type_name(value)}")
                try:
                    value = base64.b64decode(value.replace("\n", "").replace("\r", ""), validate=True)
                except (binascii.Error, ValueError):
                    raise InputError(f"{where}: {key} is not valid base64 (it should be the base64 of "
                                     f"a PEM file, as `base64 -w0 FILE` prints it)") from None
            elif not isinstance(value, want) or (want is int and isinstance(value, bool)):
                raise InputError(f"{where}: {key} must be {_type_name(want())}, not {_type_name(value)}"
                                 + ("; quote the value" if want is str else ""))
            entry[key] = value
        return entry

    # ------------------------------------------------------------------------ accessors
    @property
    def clusters(self) -> dict[str, dict]:
        """Clusters by name (copies; ``certificate-authority-data`` as bytes)."""
        return copy.deepcopy(self._entries["cluster"])

    @property
    def users(self) -> dict[str, dict]:
        """Users (credentials) by name (copies; ``client-*-data`` as bytes)."""
        return copy.deepcopy(self._entries["user"])

    @property
    def contexts(self) -> dict[str, dict]:
        """Contexts by name (copies)."""
        return copy.deepcopy(self._entries["context"])

    def _current(self) -> dict:
        if not self.current_context:
            raise InputError("this kubeconfig has no current context; choose one with use_context(NAME)")
        ctx = self._entries["context"].get(self.current_context)
        if ctx is None:
            raise InputError(f'current context "{self.current_context}" is not defined in this kubeconfig '
                             f"(contexts: {', '.join(sorted(self._entries['context'])) or 'none'})")
        return ctx

    def current_user(self) -> str:
        """The name of the current context's user.

        Raises:
            InputError: no current context, or it names a user this kubeconfig does not define.
        """
        user = self._current().get("user", "")
        if user not in self._entries["user"]:
            raise InputError(self._missing("user", self.current_context, user))
        return user

    def current_cluster(self) -> str:
        """The name of the current context's cluster (InputError if missing, like :meth:`current_user`)."""
        cluster = self._current().get("cluster", "")
        if cluster not in self._entries["cluster"]:
            raise InputError(self._missing("cluster", self.current_context, cluster))
        return cluster

    @property
    def server(self) -> str:
        """The current cluster's API server URL."""
        return self._entries["cluster"][self.current_cluster()].get("server", "")

    def _missing(self, kind: str, context: str, name: str) -> str:
        known = ", ".join(f'"{n}"' for n in sorted(self._entries[kind])) or "none"
        if not name:
            return f'context "{context}" names no {kind}' + (
                "; kubectl would then prompt for a user name" if kind == "user" else "")
        return (f'context "{context}" names {kind} "{name}", which this kubeconfig does not define '
                f"({kind}s: {known}); add it with set_{'credentials' if kind == 'user' else 'cluster'}"
                f'("{name}", ...) first')

    # -------------------------------------------------------------------------- changing
    def _base_dir(self) -> Path:
        return (self.path.parent if self.path is not None else Path.cwd()).absolute()

    def _start_edit(self, kind: str, name: str) -> dict:
        """Copy of an entry with its file references made absolute (clientcmd ResolveLocalPaths)."""
        if not isinstance(name, str):
            raise InputError(f"a {kind} name must be a string, not {_type_name(name)}")
        entry = copy.deepcopy(self._entries[kind].get(name, {}))
        if (kind, name) not in self._dirty:
            for field in _PATH_FIELDS[kind]:
                if entry.get(field) and not os.path.isabs(entry[field]):
                    entry[field] = str(self._base_dir() / entry[field])
        return entry

    def _commit(self, kind: str, name: str, entry: dict) -> None:
        self._entries[kind][name] = entry
        self._dirty.add((kind, name))

    def set_cluster(self, name: str, server: str | None = None, *, certificate_authority=None,
                    certificate_authority_data=None, embed: bool = False,
                    insecure_skip_tls_verify: bool | None = None, tls_server_name: str | None = None) -> Kubeconfig:
        """Add or change a cluster, like ``kubectl config set-cluster``.

        Only the arguments given change; the rest of an existing entry stays.

        Args:
            name: the cluster's name (kubeadm: ``kubernetes``).
            server: the API server URL, e.g. ``https://127.0.0.1:6443``.
            certificate_authority: path of the CA bundle that signed the server certificate.
            certificate_authority_data: the CA bundle itself (PEM), embedded.
            embed: read ``certificate_authority`` and embed it (``--embed-certs``).
            insecure_skip_tls_verify: True turns server verification off (and drops the CA, as
                kubectl does); only for demonstrating why that is a bad idea.
            tls_server_name: the name to check the server certificate against, when it differs
                from the URL's host. Like kubectl, setting ``server`` alone clears it.

        Returns:
            self, for chaining.

        Raises:
            InputError: a file is missing, or data is not a PEM certificate.
        """
        entry = self._start_edit("cluster", name)
        if server is not None:
            entry["server"] = server
            # kubectl: a new --server drops a tls-server-name chosen for the old one.
            entry.pop("tls-server-name", None)
        if tls_server_name is not None:
            entry["tls-server-name"] = tls_server_name
        if certificate_authority is not None:
            if embed:
                entry["certificate-authority-data"] = self._pem_file(certificate_authority, "certificate authority")
                entry.pop("certificate-authority", None)
                entry.pop("insecure-skip-tls-verify", None)
            else:
                ca_path = os.path.abspath(certificate_authority)
                self._pem_file(ca_path, "certificate authority")  # must exist and be a certificate
                entry["certificate-authority"] = ca_path
                entry.pop("certificate-authority-data", None)
                entry.pop("insecure-skip-tls-verify", None)
        elif embed and certificate_authority_data is None:
            raise InputError("embed=True needs certificate_authority=PATH: the file to embed")
        if certificate_authority_data is not None:
            data = _pem_bytes(certificate_authority_data, "certificate_authority_data")
            self._check_cert(data, "certificate_authority_data")
            entry["certificate-authority-data"] = data
            entry.pop("certificate-authority", None)
            entry.pop("insecure-skip-tls-verify", None)
        if insecure_skip_tls_verify is not None:
            entry["insecure-skip-tls-verify"] = bool(insecure_skip_tls_verify)
            if insecure_skip_tls_verify:
                entry.pop("certificate-authority", None)
                entry.pop("certificate-authority-data", None)
        self._commit("cluster", name, entry)
        return self

    def set_server(self, url: str, cluster: str | None = None) -> Kubeconfig:
        """Change a cluster's server URL (default: the current context's cluster)."""
        return self.set_cluster(cluster if cluster is not None else self.current_cluster(), url)

    def set_credentials(self, name: str, *, client_certificate=None, client_key=None, embed: bool = False,
                        client_certificate_data=None, client_key_data=None, token: str | None = None) -> Kubeconfig:
        """Add or change a user, like ``kubectl config set-credentials``.

        Only the arguments given change. When the entry ends up with both a certificate and a key
        that can be read, they are checked to belong together.

        Args:
            name: the user's name in this kubeconfig (any label; the API server reads the user
                name from the certificate's CN, not from here).
            client_certificate: path of the client certificate (PEM).
            client_key: path of its private key (PEM).
            embed: read the two files and embed them (``--embed-certs``).
            client_certificate_data: the certificate itself (PEM), embedded.
            client_key_data: the key itself (PEM), embedded.
            token: a bearer token (for completeness; this book uses certificates).

        Returns:
            self, for chaining.

        Raises:
            InputError: a file is missing, or data is not PEM of the right kind.
            KeyMismatchError: the key does not belong to the certificate.
        """
        entry = self._start_edit("user", name)
        if embed and client_certificate is None and client_key is None:
            raise InputError("embed=True needs client_certificate=PATH and/or client_key=PATH: the files to embed")
        for field, path, data, what in (
                ("client-certificate", client_certificate, client_certificate_data, "client certificate"),
                ("client-key", client_key, client_key_data, "client key")):
            if path is not None:
                content = _read_file(path, what)
                if embed:
                    entry[field + "-data"] = content
                    entry.pop(field, None)
                else:
                    entry[field] = os.path.abspath(path)
                    entry.pop(field + "-data", None)
            if data is not None:
                entry[field + "-data"] = _pem_bytes(data, field.replace("-", "_") + "_data")
                entry.pop(field, None)
        if token is not None:
            entry["token"] = token
        self._check_user(entry, name)
        self._commit("user", name, entry)
        return self

    def set_context(self, name: str, cluster: str | None = None, user: str | None = None, *,
                    namespace: str | None = None) -> Kubeconfig:
        """Add or change a context, like ``kubectl config set-context``.

        As with kubectl, the cluster and user may be defined later; :meth:`write` checks that they
        exist by then.

        Args:
            name: the context's name (kubeadm's convention: ``USER@CLUSTER``).
            cluster: the cluster it uses.
            user: the user it uses.
            namespace: the default namespace.

        Returns:
            self, for chaining.
        """
        entry = self._start_edit("context", name)
        for field, value in (("cluster", cluster), ("user", user), ("namespace", namespace)):
            if value is not None:
                if not isinstance(value, str):
                    raise InputError(f"context {field} must be a string, not {_type_name(value)}")
                entry[field] = value
        self._commit("context", name, entry)
        return self

    def use_context(self, name: str) -> Kubeconfig:
        """Make ``name`` the current context (``kubectl config use-context``).

        Raises:
            InputError: no such context (kubectl: ``no context exists with the name: "NAME"``).
        """
        if name not in self._entries["context"]:
            raise InputError(f'no context exists with the name: "{name}" (contexts: '
                             f"{', '.join(sorted(self._entries['context'])) or 'none'})")
        self.current_context = name
        return self

    # --------------------------------------------------------------------------- checking
    def _pem_file(self, path, what: str) -> bytes:
        data = _read_file(path, what)
        self._check_cert(data, f"{what} file {path}")
        return data

    @staticmethod
    def _check_cert(data: bytes, what: str) -> None:
        from .certs import load_cert
        try:
            load_cert(data)
        except InputError as exc:
            raise InputError(f"{what}: {exc}") from None

    def _user_material(self, entry: dict, name: str):
        """(cert PEM, where) and (key PEM, where) of a user entry, None where absent."""
        out = []
        for field, what in (("client-certificate", "certificate"), ("client-key", "key")):
            if entry.get(field + "-data"):
                out.append((entry[field + "-data"], f'user "{name}" {field}-data'))
            elif entry.get(field):
                path = entry[field]
                if not os.path.isabs(path):
                    path = str(self._base_dir() / path)
                out.append((_read_file(path, f'user "{name}" client {what}'), f"file {path}"))
            else:
                out.append(None)
        return out

    def _check_user(self, entry: dict, name: str) -> None:
        cert, key = self._user_material(entry, name)
        if cert is not None and key is not None:
            _check_pair(cert[0], key[0], cert[1], key[1])
        elif cert is not None:
            self._check_cert(cert[0], cert[1])
        elif key is not None:
            from .certs import load_private_key
            try:
                load_private_key(key[0])
            except InputError as exc:
                raise InputError(f"{key[1]}: {exc}") from None

    def validate(self) -> None:
        """Check what kubectl would trip over: dangling names, half credentials, mismatched keys.

        Raises:
            InputError: the current context or a name a context uses is not defined, a cluster
                used by a context has no server, or a user has a certificate without a key.
            KeyMismatchError: an embedded (or referenced) key does not belong to its certificate.
        """
        if self.current_context and self.current_context not in self._entries["context"]:
            raise InputError(f'current context "{self.current_context}" is not defined in this kubeconfig')
        for ctx_name, ctx in sorted(self._entries["context"].items()):
            for kind in ("cluster", "user"):
                if ctx.get(kind, "") not in self._entries[kind]:
                    raise InputError(self._missing(kind, ctx_name, ctx.get(kind, "")))
            if not self._entries["cluster"][ctx["cluster"]].get("server"):
                raise InputError(f'cluster "{ctx["cluster"]}" has no server URL; set one with '
                                 f'set_cluster("{ctx["cluster"]}", "https://HOST:PORT")')
        for user_name, entry in sorted(self._entries["user"].items()):
            has_cert = bool(entry.get("client-certificate") or entry.get("client-certificate-data"))
            has_key = bool(entry.get("client-key") or entry.get("client-key-data"))
            if has_cert != has_key:
                raise InputError(f'user "{user_name}" has a client {"certificate" if has_cert else "key"} but no '
                                 f'{"key" if has_cert else "certificate"}; TLS client authentication needs both')
            self._check_user(entry, user_name)

    # ------------------------------------------------------------------------ serializing
    def to_dict(self, *, base_dir=None, redact: bool = False) -> dict:
        """The kubeconfig as kubectl serializes it (before YAML): a JSON-like dict.

        Args:
            base_dir: directory to make changed file paths relative to (default: this file's).
            redact: replace embedded data with ``DATA+OMITTED`` and tokens with ``REDACTED``,
                as ``kubectl config view`` does without ``--raw``.
        """
        base = Path(base_dir).absolute() if base_dir is not None else (
            self._base_dir() if self.path is not None else None)

        def named(kind):
            out = []
            for name in sorted(self._entries[kind]):
                entry = {}
                for key, value in self._entries[kind][name].items():
                    if _is_empty(value) and key not in _ALWAYS[kind]:
                        continue  # omitempty
                    if base is not None and (kind, name) in self._dirty and key in _PATH_FIELDS[kind]:
                        value = _relativize(value, base)
                    if redact and isinstance(value, bytes):
                        value = DATA_OMITTED
                    elif redact and key == "token":
                        value = REDACTED
                    entry[key] = value
                for key in _ALWAYS[kind]:
                    entry.setdefault(key, "")
                out.append({"name": name, kind: entry})
            return out or None

        doc = {"apiVersion": "v1", "clusters": named("cluster"), "contexts": named("context"),
               "current-context": self.current_context, "kind": "Config",
               "preferences": dict(self._preferences), "users": named("user")}
        if self._extensions:
            doc["extensions"] = self._extensions
        return doc

    def to_yaml(self, *, base_dir=None) -> str:
        """The file's text, exactly as kubectl would write it (embedded data included)."""
        return go_yaml_dump(self.to_dict(base_dir=base_dir))

    def view(self, *, minify: bool = False, raw: bool = False) -> str:
        """What ``kubectl config view`` prints.

        Args:
            minify: keep only the current context and the cluster and user it uses (``--minify``).
            raw: show embedded data and tokens (``--raw``); otherwise certificate and key data
                read ``DATA+OMITTED`` and tokens ``REDACTED``.

        Raises:
            InputError: ``minify`` without a usable current context (kubectl's wording).
        """
        kc = self
        if minify:
            if not self.current_context:
                raise InputError("current-context must exist in order to minify")
            ctx = self._entries["context"].get(self.current_context)
            if ctx is None:
                raise InputError(f"cannot locate context {self.current_context}")
            kc = copy.deepcopy(self)
            kc._entries["context"] = {self.current_context: ctx}
            for kind in ("cluster", "user"):
                name = ctx.get(kind, "")
                if name and name not in self._entries[kind]:
                    raise InputError(f"cannot locate {kind} {name}")
                kc._entries[kind] = {name: self._entries[kind][name]} if name else {}
        return go_yaml_dump(kc.to_dict(redact=not raw))

    def write(self, path=None, *, validate: bool = True) -> Path:
        """Write the kubeconfig atomically with mode 0600, as kubectl writes it.

        Args:
            path: target file (default: the file it was loaded from or last written to).
            validate: run :meth:`validate` first; nothing is written if it fails.

        Returns:
            The path written.

        Raises:
            InputError, KeyMismatchError: see :meth:`validate`; no file is created or changed.
        """
        if path is None:
            if self.path is None:
                raise InputError("no path to write to: give write(PATH)")
            path = self.path
        path = Path(path)
        if validate:
            self.validate()
        text = self.to_yaml(base_dir=path.absolute().parent)
        atomic_write(path, text.encode("utf-8"), mode=KEY_MODE)
        if self.path is None or self.path.absolute() != path.absolute():
            # From now on the file's own directory is the base for its relative paths.
            for kind, name in list(self._dirty):
                entry = self._entries[kind].get(name, {})
                for field in _PATH_FIELDS[kind]:
                    if entry.get(field):
                        entry[field] = _relativize(entry[field], path.absolute().parent)
            self._dirty.clear()
            self.path = path
        return path

    # --------------------------------------------------------------------------- extracting
    def client_files(self, dest_dir, name: str, *, user: str | None = None, overwrite: bool = False) -> BareFiles:
        """Write a user's certificate and key to ``NAME.pem`` and ``NAME-key.pem`` (0600).

        This is the article's ``grep client-certificate-data admin.conf | awk '{print $2}' |
        base64 -d > k8s-client.pem`` (and the same for the key), in one call.

        Args:
            dest_dir: directory for the two files.
            name: base name (``k8s-client`` gives ``k8s-client.pem``, ``k8s-client-key.pem``).
            user: which user (default: the current context's).
            overwrite: replace existing files.

        Returns:
            ``BareFiles(cert, key, csr=None)``.

        Raises:
            InputError: the user is missing or has no certificate and key.
            KeyMismatchError: the key does not belong to the certificate; nothing is written.
        """
        user = user if user is not None else self.current_user()
        entry = self._entries["user"].get(user)
        if entry is None:
            raise InputError(f'user "{user}" is not defined in this kubeconfig (users: '
                             f"{', '.join(sorted(self._entries['user'])) or 'none'})")
        cert, key = self._user_material(entry, user)
        if cert is None or key is None:
            raise InputError(f'user "{user}" has no client certificate and key to extract '
                             f"(it has: {', '.join(sorted(entry)) or 'nothing'})")
        _check_pair(cert[0], key[0], cert[1], key[1])
        return write_bare(name, dest_dir, cert_pem=cert[0], key_pem=key[0], overwrite=overwrite)

    def __repr__(self):
        def names(kind):
            return ",".join(sorted(self._entries[kind])) or "-"
        return (f"<Kubeconfig current-context={self.current_context or '-'} clusters={names('cluster')} "
                f"users={names('user')} contexts={names('context')}>")


# ============================================================================ kubeadm kubeconfig user
def kubeconfig_for_user(cert_dir, client_name: str, orgs: Iterable[str] = (), validity="8760h", *,
                        server: str, cluster_name: str = "kubernetes", key="rsa-2048", reader=None) -> Kubeconfig:
    """A kubeconfig for a new user signed by the cluster CA, like ``kubeadm kubeconfig user``.

    ``kubeadm kubeconfig user --client-name NAME --org GROUP --validity-period 24h`` loads
    ``<cert-dir>/ca.crt`` and ``ca.key``, issues a client certificate (``CN=NAME``, one ``O`` per
    ``--org``, key usage digitalSignature+keyEncipherment, EKU clientAuth) and prints a kubeconfig
    with everything embedded: cluster ``kubernetes``, user ``NAME``, context ``NAME@kubernetes``
    as the current context.

    Args:
        cert_dir: the PKI directory (kubeadm: ``/etc/kubernetes/pki``). ``ca.key`` is read through
            ``sudo -n`` when this process may not read it (see :class:`k8sauthlib.KubeadmTree`).
        client_name: the user name (certificate CN).
        orgs: groups (one ``O`` each).
        validity: Go duration (``24h``, ``8760h0m0s``) or a ``timedelta``; kubeadm's default is
            one year.
        server: the API server URL.
        cluster_name: kubeadm's ``clusterName`` (default ``kubernetes``).
        key: key type for the new key pair (kubeadm's ``encryptionAlgorithm``, default RSA-2048).
        reader: optional plain ``callable(path) -> bytes`` used instead of ``Path.read_bytes``;
            a ``PermissionError`` from it still falls back to ``sudo -n cat``.

    Returns:
        The kubeconfig (not yet written; ``.to_yaml()`` is what kubeadm prints, ``.write()``
        saves it with mode 0600).

    Raises:
        InputError: missing or unreadable CA files, a bad duration, an empty name.
        KeyMismatchError: ``ca.key`` does not belong to ``ca.crt``.
    """
    from .certs import CA
    from .kubeadm import read_file
    if not client_name:
        raise InputError("the client name (the certificate's CN, i.e. the user name) must not be empty")
    if len(client_name) > 64:  # RFC 5280 ub-common-name; the cryptography package enforces it
        raise InputError(f"the client name is {len(client_name)} characters long; a certificate's CN (the user "
                         f"name) holds at most 64 (RFC 5280 ub-common-name): choose a shorter --client-name")
    if isinstance(orgs, str):
        orgs = [orgs]
    lifetime = parse_duration(validity)
    if lifetime <= timedelta(0):
        raise InputError(f"the validity must be positive, not {format_duration(lifetime)}")
    cert_dir = Path(cert_dir)
    ca_crt, ca_key = cert_dir / "ca.crt", cert_dir / "ca.key"
    ca = CA.from_pem(read_file(ca_crt, reader=reader), read_file(ca_key, reader=reader))
    user = ca.issue_client_cert(client_name, list(orgs), key=key, validity=lifetime)
    kc = Kubeconfig()
    kc.set_cluster(cluster_name, server, certificate_authority_data=ca.cert_pem)
    kc.set_credentials(client_name, client_certificate_data=user.cert_pem, client_key_data=user.key_pem)
    context = f"{client_name}@{cluster_name}"
    kc.set_context(context, cluster=cluster_name, user=client_name)
    kc.use_context(context)
    return kc


# ============================================================================================ CLI
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="k8sauthlib kubeconfig", description="kubeconfig helpers")
    sub = parser.add_subparsers(dest="command", required=True)
    user = sub.add_parser("user", help="print a kubeconfig for a new user signed by the cluster CA "
                                       "(like kubeadm kubeconfig user)")
    user.add_argument("--client-name", required=True, help="user name: the certificate's CN")
    user.add_argument("--org", action="append", default=[], help="group (O); repeat for several")
    user.add_argument("--validity", "--validity-period", dest="validity", default="8760h0m0s",
                      help="certificate lifetime as a Go duration (default 8760h0m0s)")
    user.add_argument("--cert-dir", default="/etc/kubernetes/pki", help="where ca.crt and ca.key are "
                      "(default /etc/kubernetes/pki)")
    user.add_argument("--server", required=True, help="API server URL, e.g. https://127.0.0.1:6443")
    user.add_argument("--cluster-name", default="kubernetes", help="cluster name (default kubernetes)")
    user.add_argument("--key", default="rsa-2048", help="key type: rsa-2048 (default), rsa-4096, ecdsa-p256, ...")
    user.add_argument("-o", "--output", help="write the kubeconfig to this file (mode 0600) instead of stdout")
    view = sub.add_parser("view", help="print a kubeconfig like kubectl config view")
    view.add_argument("kubeconfig", help="kubeconfig file")
    view.add_argument("--minify", action="store_true", help="only the current context and what it uses")
    view.add_argument("--raw", action="store_true", help="show certificate and key data")
    extract = sub.add_parser("client-files", help="extract a user's embedded certificate and key to "
                                                  "NAME.pem and NAME-key.pem")
    extract.add_argument("kubeconfig", help="kubeconfig file, e.g. /etc/kubernetes/admin.conf")
    extract.add_argument("--name", default="k8s-client", help="base name of the files (default k8s-client)")
    extract.add_argument("--dir", default=".", help="directory for the files (default: current)")
    extract.add_argument("--user", help="which user (default: the current context's)")
    return parser


def main(argv=None) -> int:
    """``k8sauthlib kubeconfig ...``: ``user`` (like ``kubeadm kubeconfig user``), ``view``, ``client-files``.

    Args:
        argv: arguments after ``kubeconfig`` (a leading ``"kubeconfig"`` is accepted too).

    Returns:
        The exit status: 0 on success, 1 on an error (message on stderr), 2 on bad usage.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["kubeconfig"]:
        argv = argv[1:]
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if args.command == "user":
            kc = kubeconfig_for_user(args.cert_dir, args.client_name, args.org, args.validity,
                                     server=args.server, cluster_name=args.cluster_name, key=args.key)
            if args.output:
                kc.write(args.output)
            else:
                # kubeadm prints clientcmd.Write's bytes with fmt.Fprintln: one extra newline.
                sys.stdout.write(kc.to_yaml() + "\n")
        elif args.command == "view":
            from .kubeadm import read_file
            kc = Kubeconfig.from_yaml(read_file(args.kubeconfig), path=args.kubeconfig)
            sys.stdout.write(kc.view(minify=args.minify, raw=args.raw))
        elif args.command == "client-files":
            from .kubeadm import read_file
            kc = Kubeconfig.from_yaml(read_file(args.kubeconfig), path=args.kubeconfig)
            files = kc.client_files(args.dir, args.name, user=args.user)
            print(files.cert)
            print(files.key)
    except K8sAuthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["DATA_OMITTED", "REDACTED", "Kubeconfig", "format_duration", "go_yaml_dump",
           "kubeconfig_for_user", "main", "parse_duration"]
