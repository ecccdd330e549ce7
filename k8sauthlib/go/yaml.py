"""go-yaml v2 as ``sigs.k8s.io/yaml`` drives it: how kubectl writes and reads kubeconfig YAML.

client-go's ``clientcmd.Write`` marshals a kubeconfig to JSON, and ``sigs.k8s.io/yaml``'s
``JSONToYAML`` re-encodes that JSON with go-yaml v2; ``clientcmd.Load`` goes the other way. So
kubectl's YAML follows go-yaml v2's rules, which :func:`go_yaml_dump` and :func:`go_yaml_load`
reproduce on top of PyYAML:

- keys sorted by ``keyList.Less`` (``gopkg.in/yaml.v2`` ``sorter.go``, v2.4.0);
- a string quoted only when ``resolve()`` would read it back as something else
  (``resolve.go``: ``yes``, ``0o17``, ``1e3``, a timestamp), folded at 80 columns;
- floats as ``strconv.FormatFloat(f, 'g', -1, 64)``, ``[]byte`` as base64 (``encoding/json``).
"""

from __future__ import annotations

import base64
import functools
import re
from decimal import Decimal

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

# go-yaml v2 resolve.go: plain scalars that decode to something other than a string.
_GO_MAP_SCALARS = frozenset(
    "y Y yes Yes YES true True TRUE on On ON n N no No NO false False FALSE off Off OFF "
    "~ null Null NULL .nan .NaN .NAN .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF".split()
) | {""}
_GO_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_GO_INT = re.compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_GO_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))"
    r"|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?))?"
)


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
    return value <= (2**63 if m.group(1) == "-" else 2**64 - 1)


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
            if plain.startswith(prefix) and re.fullmatch(r"[01]+", plain[len(prefix) :]):
                return True
    return False


def _go_string_style(s: str):
    """The scalar style go-yaml v2's encoder asks for (PyYAML then falls back exactly as libyaml)."""
    if "\n" in s:
        return "|"
    if _go_resolves_non_string(s) or _GO_BASE60.fullmatch(s):
        return '"'
    return None  # plain if the emitter allows it, else single-quoted, else double-quoted


def go_key_cmp(a: str, b: str) -> int:
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
        keys = sorted(value, key=functools.cmp_to_key(go_key_cmp))
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
        yaml.emitter.Emitter.__init__(
            self, stream, canonical=False, indent=2, width=80, allow_unicode=True, line_break="\n"
        )
        yaml.serializer.Serializer.__init__(
            self, encoding=None, explicit_start=False, explicit_end=False, version=None, tags=None
        )
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


#: Nodes a document may expand to, aliases included. go-yaml v2 (decode.go, allowedAliasRatio)
#: refuses "excessive aliasing" the same way, so a billion-laughs file fails fast, in kubectl too.
MAX_EXPANDED_NODES = 1_000_000


def _check_expansion(root) -> None:
    """Refuse a document whose aliases expand past :data:`MAX_EXPANDED_NODES` (a YAML bomb)."""
    count, stack = 0, [root]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_EXPANDED_NODES:
            raise ValueError(
                f"the YAML's aliases expand to more than {MAX_EXPANDED_NODES} nodes "
                f"(excessive aliasing, as go-yaml says)"
            )
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                stack.append(key_node)
                stack.append(value_node)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)


def go_yaml_load(text: str):
    """Parse YAML text into Python values typed as go-yaml v2 types them (``None`` for an empty document).

    A document whose aliases expand past :data:`MAX_EXPANDED_NODES` nodes is refused before it
    is expanded (a YAML bomb).

    Raises:
        yaml.YAMLError, ValueError, TypeError: the text is not YAML (or a YAML bomb); the caller
            names the file.
        RecursionError: the document is nested too deeply to be read.
    """
    node = yaml.compose(text, Loader=_ComposeLoader)
    if node is None:
        return None
    _check_expansion(node)
    return _go_value(node)


def yaml_error_text(exc: yaml.YAMLError | RecursionError) -> str:
    """A PyYAML error in one line: ``" at line L, column C: PROBLEM"`` (PyYAML's own text spans
    several lines, with the offending line quoted; a log line or a one-line error cannot hold it).
    A ``RecursionError`` of the parser is ``": nested too deeply to be read"``."""
    if isinstance(exc, RecursionError):
        return ": nested too deeply to be read"
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
    return f"{where}: {problem}"


__all__ = ["MAX_EXPANDED_NODES", "go_key_cmp", "go_yaml_dump", "go_yaml_load", "yaml_error_text"]
