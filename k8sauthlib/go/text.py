"""Go's way of writing strings: ``strconv.Quote`` (``%q`` in Go error messages) and ``json.Marshal``.

kube-apiserver's Forbidden messages (``User "alice" cannot list resource "pods"...``) and
Go's ``crypto/x509`` errors (``... while trying to verify candidate authority certificate
"kubernetes"``) quote with ``%q``, which is ``strconv.Quote``.

Source: Go 1.22, ``src/strconv/quote.go`` (``appendQuotedWith``, ``appendEscapedRune``):
``\\a \\b \\f \\n \\r \\t \\v``, ``\\\\`` and ``\\"`` by name; other control characters and
DEL as ``\\xNN``; non-printable runes as ``\\uNNNN`` or ``\\UNNNNNNNN``; printable runes
(``unicode.IsPrint``) as they are.
"""

from __future__ import annotations

import ipaddress
import json
import re
import unicodedata
from datetime import datetime, timezone

_NAMED = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def _is_print(ch: str) -> bool:
    # unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space (not other spaces).
    if ch == " ":
        return True
    return unicodedata.category(ch)[0] in "LMNPS"


# Printable ASCII but '"' and '\\': strconv.Quote leaves such a string as it is (the common case, checked first).
_PLAIN = re.compile(r"[ !#-\[\]-~]*")
# The same rule for every ASCII character, for str.translate (the second most common case).
_ASCII = {i: _NAMED.get(chr(i), f"\\x{i:02x}") for i in range(128) if chr(i) in _NAMED or i < 0x20 or i == 0x7F}


def go_quote(text: str) -> str:
    """``strconv.Quote(text)``: a double-quoted Go string literal."""
    if _PLAIN.fullmatch(text):
        return f'"{text}"'
    if text.isascii():
        return '"' + text.translate(_ASCII) + '"'
    out = ['"']
    for ch in text:
        if ch in _NAMED:
            out.append(_NAMED[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif _is_print(ch):
            out.append(ch)
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def _json_string(text: str, named_bf: bool = False) -> str:
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\n\r\t" or (named_bf and ch in "\b\f"):
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}[ch])
        elif ord(ch) < 0x20 or ch in "<>&\u2028\u2029":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_json_marshal(
    obj, *, sort_keys: bool = True, indent: int | None = None, newline: bool = False, named_bf: bool = False
) -> str:
    """``json.Marshal`` of maps, slices, strings, numbers, booleans and nil: sorted keys, no spaces.

    Source: Go 1.22, ``src/encoding/json/encode.go``: ``mapEncoder`` sorts the keys;
    ``appendString`` writes ``\\n``, ``\\r``, ``\\t`` by name, other control characters and the
    HTML-sensitive ``<``, ``>``, ``&`` as ``\\u00XX``, U+2028 and U+2029 as ``\\u2028``/``\\u2029``,
    and everything else as UTF-8. cfssl prints its ``gencert`` output this way (``cli.PrintCert``).

    The variations kube-apiserver's serializers use are parameters of the same rule:

    * ``sort_keys=False``: the dicts are Go structs, written in field (insertion) order, as
      ``structEncoder`` does (API objects);
    * ``indent``: ``json.MarshalIndent(obj, "", "  ")`` (``": "`` after keys), as
      apimachinery's pretty serializer and ``responsewriters.WriteRawJSON`` write;
    * ``newline``: ``json.NewEncoder(w).Encode`` appends a newline (apimachinery's
      ``runtime/serializer/json/json.go``, ``Serializer.doEncode``);
    * ``named_bf``: Go 1.22 and later write ``\\b`` and ``\\f`` by name (kube-apiserver 1.32
      is built with Go 1.23); earlier Go, such as the go1.19 build of cfssl 1.2.0, writes
      ``\\u0008`` and ``\\u000c``.

    Sorted (map) output refuses floats, which no caller writes; struct-order output is written
    through the standard library's encoder (fast enough for every API answer) and writes a float
    as Python does.
    """
    if sort_keys and indent is None:
        text = _marshal_sorted(obj, named_bf)
    else:
        separators = (",", ": ") if indent else (",", ":")
        text = json.dumps(
            obj, ensure_ascii=False, sort_keys=sort_keys, indent=indent, separators=separators, allow_nan=False
        )
        if not named_bf and ("\\b" in text or "\\f" in text):
            text = _JSON_FIXUP.sub(_fixup_bf, text)  # tell "\\b" (an escape) from "\\\\b" (a backslash, b)
        else:  # '<', '>', '&', U+2028, U+2029 never occur inside an escape the encoder wrote
            for ch in "<>&\u2028\u2029":
                if ch in text:
                    text = text.replace(ch, f"\\u{ord(ch):04x}")
    return text + "\n" if newline else text


def _marshal_sorted(obj, named_bf):
    if isinstance(obj, dict):
        return (
            "{"
            + ",".join(f"{_json_string(str(k), named_bf)}:{_marshal_sorted(obj[k], named_bf)}" for k in sorted(obj))
            + "}"
        )
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(_marshal_sorted(v, named_bf) for v in obj) + "]"
    if isinstance(obj, str):
        return _json_string(obj, named_bf)
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, int):
        return str(obj)
    raise TypeError(f"go_json_marshal cannot write {type(obj).__name__}")


# An escape the standard encoder wrote (one backslash pair), or a character Go escapes and it does not.
_JSON_FIXUP = re.compile("\\\\.|[<>&\u2028\u2029]")
_OLD_GO_ESCAPES = {"\\b": "\\u0008", "\\f": "\\u000c"}


def _fixup_bf(match):
    text = match.group()
    return _OLD_GO_ESCAPES.get(text, text) if text[0] == "\\" else f"\\u{ord(text):04x}"


def format_rfc3339(when: datetime) -> str:
    """``time.Time.Format(time.RFC3339)`` of a UTC time: ``2026-12-06T22:10:00Z`` (src/time/format.go)."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def go_ip_string(ip) -> str:
    """``net.IP.String``: an IPv4-mapped IPv6 address (Go's 16-byte form) prints as dotted IPv4 (src/net/ip.go)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


__all__ = ["format_rfc3339", "go_ip_string", "go_json_marshal", "go_quote"]
