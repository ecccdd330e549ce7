"""``k8sauthlib json -bare NAME``: ``cfssljson -bare``, writing NAME.pem, NAME-key.pem (0600), NAME.csr.

Imports no ``cryptography``: this command runs once per certificate in the article's pipelines.
"""

from __future__ import annotations

import json
import sys

from ..errors import K8sAuthError, UsageError
from .flags import Flags, read_input

JSON = Flags(
    "json",
    "-bare [NAME] [-f FILE|-] [-overwrite]   (reads cfssl's JSON from standard input)",
    {
        "bare": ("bool", 'the input is cfssl\'s bare {"cert","key","csr"} object (always accepted)'),
        "f": ("str", "JSON input file (default: - for standard input)"),
        "stdout": ("bool", "print the PEM blocks to standard output instead of writing files"),
        "overwrite": ("bool", "replace existing files, even a private key (cfssljson always does)"),
    },
)

PEM_KINDS = {
    "cert": ("certificate", ("CERTIFICATE",)),
    "key": ("private key", ("RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY")),
    "csr": ("certificate request", ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")),
}


def check_pem(field: str, value) -> bytes:
    """Check that a cfssl JSON field holds a well-formed PEM block of the right kind, without cryptography."""
    import re

    from ..errors import InputError
    from ..files import check_pem_blocks

    what, labels = PEM_KINDS[field]
    if not isinstance(value, str):
        raise K8sAuthError(f'the input\'s "{field}" must be a PEM string, not {type(value).__name__}')
    m = re.search(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", value, re.S)
    if not m or m.group(1) not in labels:
        found = f" (found a '{m.group(1)}' block)" if m else ""
        raise K8sAuthError(f'the input\'s "{field}" is not a PEM {what}{found}')
    try:
        check_pem_blocks(m.group(0).encode(), field)
    except InputError:
        raise K8sAuthError(f'the input\'s "{field}" is a damaged PEM {what}: its base64 body does not decode') from None
    text = value if value.endswith("\n") else value + "\n"
    return text.encode()


def parse_cfssl_output(data: bytes, label: str) -> dict:

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise K8sAuthError(f"{label} is not UTF-8 text, so it is not cfssl's JSON output") from None
    if not text.strip():
        raise K8sAuthError(
            f"{label} is empty (did the command before the pipe fail?); expected cfssl's JSON "
            f'output with "cert", "key" and "csr"'
        )
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        cut_short = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        kind = "incomplete JSON" if cut_short else "not JSON"
        raise K8sAuthError(
            f"{label} is {kind} (line {exc.lineno}, column {exc.colno}: {exc.msg}); expected "
            f"the output of 'k8sauthlib gencert' or 'cfssl gencert'"
        ) from None
    except RecursionError:
        raise K8sAuthError(f"{label} is JSON nested too deeply to be cfssl's output") from None
    except ValueError:  # a number past Python's 4300-digit conversion limit
        raise K8sAuthError(f"{label} holds a number too long to be cfssl's output") from None
    if not isinstance(obj, dict):
        raise K8sAuthError(f'{label} is JSON but not an object; expected cfssl\'s {{"cert", "key", "csr"}}')
    # The cfssl API's wrapped form: {"success": true, "result": {...}, "errors": [...]}
    if "result" in obj and "success" in obj:
        if not obj.get("success"):
            errors = (
                "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in obj.get("errors") or [])
                or "no reason given"
            )
            raise K8sAuthError(f"{label} is a failed cfssl API response: {errors}")
        obj = obj["result"] if isinstance(obj["result"], dict) else {}
    if "code" in obj and "message" in obj and not any(k in obj for k in PEM_KINDS):
        raise K8sAuthError(f"{label} is an error from cfssl (code {obj['code']}): {obj['message']}")
    if not any(obj.get(k) for k in PEM_KINDS):
        raise K8sAuthError(
            f'{label} has none of "cert", "key", "csr"; expected the output of '
            f"'k8sauthlib gencert' or 'cfssl gencert'"
        )
    return {k: check_pem(k, obj[k]) for k in PEM_KINDS if obj.get(k)}


def cmd_json(argv: list[str]) -> int:
    parsed = JSON.parse(argv)
    if parsed is None:
        return 0
    values, positional = parsed
    if len(positional) > 2:
        raise UsageError(f"json: expected a base name and at most one input file, got {' '.join(positional)}")
    name = positional[0] if positional else "cert"  # cfssljson's default base name
    source = values["f"] or (positional[1] if len(positional) > 1 else "-")
    label = "standard input" if source == "-" else source
    pems = parse_cfssl_output(read_input(source, "cfssl JSON"), label)
    if values["stdout"]:
        for k in ("cert", "key", "csr"):
            if k in pems:
                sys.stdout.write(pems[k].decode())
        return 0
    if "key" in pems:
        refuse_existing_key(name, values["overwrite"])
    write_bare(name, pems, overwrite=values["overwrite"])
    return 0


def refuse_existing_key(name: str, overwrite: bool) -> None:
    from ..errors import FileExistsRefusedError
    from ..files import bare_paths

    key_path = bare_paths(name)[1]
    if key_path.exists() and not overwrite:
        raise FileExistsRefusedError(
            f"{key_path} already exists; refusing to replace a private key (cfssljson "
            f"would overwrite it silently), remove it or pass -overwrite"
        )


def write_bare(name: str, pems: dict, *, overwrite: bool) -> None:
    """Write cfssljson's bare files for the PEM blocks in ``pems`` (``cert``, ``key``, ``csr``)."""
    from ..errors import FileExistsRefusedError
    from ..files import write_bare as write_bare_files

    if "key" in pems:
        refuse_existing_key(name, overwrite)
    # Existing certificates and CSRs are replaced like cfssljson does; only a key is protected.
    # write_bare checks for the key and writes under one directory lock: two runs at once never
    # both succeed without -overwrite, and never mix their files. (cfssl genkey's output has a key
    # and a CSR, no certificate.)
    try:
        write_bare_files(
            name,
            cert_pem=pems.get("cert"),
            key_pem=pems.get("key"),
            csr_pem=pems.get("csr"),
            overwrite=overwrite,
            replace_public=True,
        )
    except FileExistsRefusedError:
        refuse_existing_key(name, overwrite)  # the key appeared meanwhile: say it the CLI's way
        raise


__all__ = ["JSON", "cmd_json", "refuse_existing_key", "write_bare"]
