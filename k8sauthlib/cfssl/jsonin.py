"""Reading cfssl's JSON inputs the way Go's ``encoding/json`` reads them into cfssl's structs.

Field names match case-insensitively (``encoding/json``'s ``Unmarshal`` folds case when it looks
a key up in a struct); ``null`` is the field's zero value. Where Go silently ignores something
(an unknown field such as ``"host"`` for ``"hosts"``, a key given twice), we stop with one
sentence naming it, because the user loses a SAN or a setting without a word otherwise.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..files import read_file
from ..go.duration import parse_duration


class JsonObject(dict):
    """A JSON object that remembers every key/value pair, duplicates included."""

    pairs: list


def _pairs_hook(pairs):
    obj = JsonObject(pairs)
    obj.pairs = pairs
    return obj


class _LongNumber(str):
    """A JSON integer too long to convert (Python stops at 4300 digits): kept as its digits so
    that the field reading it can name itself in the error."""


def _parse_int(digits: str):
    return int(digits) if len(digits) <= 4000 else _LongNumber(digits)


def load_json(source, what: str) -> tuple[Any, str]:
    """Parse ``source`` (a dict, JSON text or bytes, or a path) and return it with a label for messages."""
    if isinstance(source, dict):
        return as_json_object(source), what
    label = what
    if isinstance(source, (bytes, bytearray)):
        try:
            text = bytes(source).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{what} is not UTF-8 text") from None
    elif isinstance(source, str) and (not source.strip() or source.lstrip()[:1] in ("{", "[", '"') or "\n" in source):
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
            raise InputError(
                f"{label}: incomplete JSON, the text ends at line {exc.lineno}, column {exc.colno} "
                f"before the object is closed"
            ) from None
        raise InputError(f"{label}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{label}: JSON nested too deeply to be a cfssl request or configuration") from None
    except ValueError as exc:  # a number past Python's 4300-digit conversion limit
        raise InputError(
            f"{label}: JSON holds a number of more than 4300 digits, too long for any field ({str(exc).split(':')[0]})"
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"{label}: expected a JSON object {{...}} at the top, found {json_type(data)}")
    return data, label


def as_json_object(value):
    """Give plain dicts (from Python callers) the ``pairs`` attribute parsed objects have."""
    if isinstance(value, JsonObject):
        return value
    if isinstance(value, dict):
        obj = JsonObject((k, as_json_object(v)) for k, v in value.items())
        obj.pairs = list(obj.items())
        return obj
    if isinstance(value, (list, tuple)):
        return [as_json_object(v) for v in value]
    return value


def json_type(value) -> str:
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


def match_fields(
    obj, where: str, known: tuple[str, ...], unsupported: dict[str, str] | None = None, ignored: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Match the keys of a JSON object to ``known`` field names, case-insensitively like Go.

    Returns canonical name -> value, with JSON ``null`` treated as absent (Go's zero value).

    Raises:
        InputError: a key is unknown (with a "did you mean" hint), known to cfssl but not
            supported here, or given twice.
    """
    if not isinstance(obj, dict):
        raise InputError(f"{where} must be a JSON object, not {json_type(obj)}")
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
                raise InputError(
                    f"{where}: field {canon!r} is given twice ({seen[canon]!r} and {key!r}); "
                    f"cfssl would silently keep only the last one"
                )
            seen[canon] = key
            if value is not None:
                out[canon] = value
        elif kl in unsupported:
            raise InputError(f"{where}: field {key!r} ({unsupported[kl]}) is not supported by k8sauthlib")
        elif kl in ignored_l:
            continue
        else:
            close = close_matches(kl, list(lower), n=1, cutoff=0.6)
            hint = f" (did you mean {lower[close[0]]!r}?)" if close else ""
            raise InputError(
                f"{where}: unknown field {key!r}{hint}, which cfssl would silently ignore; "
                f"known fields: {', '.join(known)}"
            )
    return out


def close_matches(word, candidates, n=1, cutoff=0.6):
    import difflib  # only when there is an error to explain

    return difflib.get_close_matches(word, candidates, n=n, cutoff=cutoff)


def as_str(value, where: str) -> str:
    if not isinstance(value, str) or isinstance(value, _LongNumber):
        raise InputError(f"{where} must be a string, not {json_type(value)}")
    return value


def as_int(value, where: str) -> int:
    if isinstance(value, _LongNumber):
        raise InputError(
            f"{where} is a number of {len(value.lstrip('-'))} digits, out of range for cfssl (a 64-bit integer)"
        )
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(
            f"{where} must be a whole number, not {json_type(value)}"
            + (f" ({value!r})" if isinstance(value, (str, float)) else "")
        )
    if not -(2**63) <= value < 2**63:  # cfssl decodes into a Go int: json "cannot unmarshal number"
        raise InputError(f"{where} {str(value)[:20]}... is out of range for cfssl (a 64-bit integer)")
    return value


def as_bool(value, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{where} must be true or false, not {json_type(value)}")
    return value


def as_str_list(value, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InputError(f"{where} must be a list of strings, not {json_type(value)}")
    return tuple(as_str(v, f"{where}[{i}]") for i, v in enumerate(value))


def positive_duration(value, where: str) -> timedelta:
    delta = parse_duration(value, where)
    if delta <= timedelta(0):
        raise InputError(
            f"{where} {value!r} must be positive (cfssl would issue a certificate that is already "
            f"expired, or refuse the configuration)"
        )
    return delta


__all__ = [
    "JsonObject",
    "as_bool",
    "as_int",
    "as_json_object",
    "as_str",
    "as_str_list",
    "close_matches",
    "json_type",
    "load_json",
    "match_fields",
    "positive_duration",
]
