"""``k8sauthlib certinfo -cert FILE``: ``cfssl certinfo``'s JSON for a certificate."""

from __future__ import annotations

import json
import sys

from ..errors import PROG, K8sAuthError, UsageError
from .flags import Flags, read_input

CERTINFO = Flags(
    "certinfo",
    "-cert FILE",
    {
        "cert": ("str", "certificate file (PEM), or - for standard input"),
        "unpadded": ("bool", "print key IDs without zero padding, like Debian's 2016 cfssl"),
    },
)


def cmd_certinfo(argv: list[str]) -> int:
    parsed = CERTINFO.parse(argv)
    if parsed is None:
        return 0
    values, positional = parsed

    if not values["cert"]:
        if positional:
            raise UsageError(
                f"certinfo: give the certificate with -cert (as in cfssl): {PROG} certinfo -cert {positional[0]}"
            )
        raise UsageError("certinfo: give a certificate with -cert FILE")
    data = read_input(values["cert"], "certificate")
    if b"-----BEGIN CERTIFICATE-----" not in data:
        label = "standard input" if values["cert"] == "-" else values["cert"]
        raise K8sAuthError(f"{label} holds no PEM certificate (expected '-----BEGIN CERTIFICATE-----')")
    from ..pki.describe import describe

    info = describe(data).to_cfssl_certinfo(unpadded_key_ids=values["unpadded"])
    sys.stdout.write(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    return 0


__all__ = ["CERTINFO", "cmd_certinfo"]
