"""How kubectl reads a kubeconfig: the YAML document into client-go's v1 entries, or a one-line error.

Source: client-go v0.32, ``tools/clientcmd/loader.go`` (``Load``: ``yaml.Unmarshal`` into
``clientcmdapi/v1.Config``) and ``tools/clientcmd/api/v1/types.go``: named lists of clusters,
users and contexts, unknown fields dropped, ``*-data`` fields base64. A field of the wrong kind,
a duplicate name or bad base64 is an :class:`~k8sauthlib.errors.InputError` naming the file, the
entry and the field. :meth:`k8sauthlib.Kubeconfig.from_yaml` builds its object from
:func:`parse_kubeconfig`.
"""

from __future__ import annotations

import base64
import binascii

import yaml

from ..errors import InputError
from ..go.yaml import go_yaml_load, yaml_error_text
from .kubeconfig_output import KINDS, type_name


def parse_kubeconfig(text, where: str) -> dict | None:
    """Parse kubeconfig YAML (text or bytes); ``where`` names it in messages.

    Returns:
        None for an empty document, else a dict with the keys ``entries`` (for each kind,
        ``cluster``, ``user`` and ``context``, a dict of name to entry), ``current_context`` (str),
        ``preferences`` (dict) and ``extensions`` (list or None). Entries are dicts keyed by the
        kubeconfig's field names, with the ``*-data`` fields decoded to bytes.

    Raises:
        InputError: not UTF-8, not YAML, or fields of the wrong kind.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{where}: not UTF-8 text; a kubeconfig is a YAML file") from None
    try:
        doc = go_yaml_load(text)
    except RecursionError:
        raise InputError(f"{where}: YAML nested too deeply to be a kubeconfig") from None
    except (ValueError, TypeError) as exc:
        raise InputError(f"{where}: not valid YAML: {str(exc).split(';')[0]}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: not valid YAML{yaml_error_text(exc)}") from None
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise InputError(
            f"{where}: a kubeconfig is a YAML mapping (apiVersion, clusters, users, ...), not {type_name(doc)}"
        )
    api_version = doc.get("apiVersion")
    if api_version not in (None, "", "v1"):
        raise InputError(f'{where}: apiVersion {api_version!r} is not a kubeconfig version; use "v1"')
    kind = doc.get("kind")
    if kind not in (None, "", "Config"):
        raise InputError(f'{where}: kind {kind!r} is not a kubeconfig; expected "Config"')
    entries = {"cluster": {}, "user": {}, "context": {}}
    for kind_name, (list_key, fields) in KINDS.items():
        items = doc.get(list_key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise InputError(f'{where}: "{list_key}" must be a list of entries with a name, not {type_name(items)}')
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise InputError(
                    f'{where}: entry {i + 1} of "{list_key}" must be a mapping with "name" and "{kind_name}"'
                )
            name = item.get("name", "")
            if not isinstance(name, str):
                raise InputError(
                    f'{where}: entry {i + 1} of "{list_key}" has a name that is '
                    f"{type_name(name)}; quote it to make it a string"
                )
            if name in entries[kind_name]:
                raise InputError(f'{where}: "{list_key}" has two entries named "{name}"')
            body = item.get(kind_name) or {}
            if not isinstance(body, dict):
                raise InputError(f'{where}: {kind_name} "{name}" must be a mapping, not {type_name(body)}')
            entries[kind_name][name] = _parse_entry(body, fields, f'{where}: {kind_name} "{name}"')
    current = doc.get("current-context") or ""
    if not isinstance(current, str):
        raise InputError(f"{where}: current-context must be a string, not {type_name(current)}")
    prefs = doc.get("preferences") or {}
    if not isinstance(prefs, dict):
        raise InputError(f"{where}: preferences must be a mapping")
    ext = doc.get("extensions")
    return {
        "entries": entries,
        "current_context": current,
        "preferences": {k: v for k, v in prefs.items() if k in ("colors", "extensions") and v},
        "extensions": ext if isinstance(ext, list) and ext else None,
    }


def _parse_entry(body: dict, fields: dict, where: str) -> dict:
    entry = {}
    for key, value in body.items():
        want = fields.get(key)
        if want is None or value is None:
            continue  # unknown fields are dropped, as client-go's decoder does
        if want is bytes:
            if not isinstance(value, str):
                raise InputError(f"{where}: {key} must be base64 text, not {type_name(value)}")
            try:
                value = base64.b64decode(value.replace("\n", "").replace("\r", ""), validate=True)
            except (binascii.Error, ValueError):
                raise InputError(
                    f"{where}: {key} is not valid base64 (it should be the base64 of "
                    f"a PEM file, as `base64 -w0 FILE` prints it)"
                ) from None
        elif not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise InputError(
                f"{where}: {key} must be {type_name(want())}, not {type_name(value)}"
                + ("; quote the value" if want is str else "")
            )
        entry[key] = value
    return entry


__all__ = ["parse_kubeconfig"]
