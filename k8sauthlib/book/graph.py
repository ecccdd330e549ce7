"""Drawing helpers shared by the book's figures: graphviz defaults, the Korean font, colours, HTML labels.

Labels are Korean; the font is NanumGothic (Debian package ``fonts-nanum``), which graphviz needs
to measure and render Hangul. graphviz is the ``book`` extra of the package.

``FONT`` is a list: graphviz measures with its first family that fontconfig has (NanumGothic) and
writes the whole list into the SVG's ``font-family``, so a reader's browser without NanumGothic
falls back to another Korean font of similar width instead of one whose text overflows the boxes.
"""

from __future__ import annotations

import html

import graphviz
from cryptography import x509

FONT = "NanumGothic,Noto Sans CJK KR,Malgun Gothic,Apple SD Gothic Neo,sans-serif"

# colours: roots, intermediates, leaves, problems
ROOT_COLOR = "#fde9c8"
INTERMEDIATE_COLOR = "#fff6df"
SERVER_COLOR = "#dcecfb"
CLIENT_COLOR = "#dff3e2"
LEAF_COLOR = "#eeeeee"
BAD_COLOR = "#c62828"


def digraph(name: str, **graph_attr) -> graphviz.Digraph:
    g = graphviz.Digraph(name)
    g.attr(fontname=FONT, charset="UTF-8", **graph_attr)
    g.attr("node", fontname=FONT, fontsize="11")
    g.attr("edge", fontname=FONT, fontsize="10")
    return g


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def dn_text(name: x509.Name) -> str:
    """Distinguished name in certificate order, as openssl prints it: ``O=Kubernetes, CN=rootCA``."""
    parts = []
    for rdn in name.rdns:
        parts.append("+".join(f"{a.rfc4514_attribute_name}={a.value}" for a in rdn))
    return ", ".join(parts) if parts else "(비어 있음)"


__all__ = [
    "BAD_COLOR",
    "CLIENT_COLOR",
    "FONT",
    "INTERMEDIATE_COLOR",
    "LEAF_COLOR",
    "ROOT_COLOR",
    "SERVER_COLOR",
    "digraph",
    "dn_text",
    "esc",
]
