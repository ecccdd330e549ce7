"""``labelSelector`` and ``fieldSelector`` of list requests, as kube-apiserver reads them.

Label selectors: equality terms ``a=b``, ``a==b``, ``a!=b``, existence ``a`` / ``!a`` and set
terms ``a in (x,y)`` / ``a notin (x)`` (``staging/src/k8s.io/apimachinery/pkg/labels/selector.go``).

Field selectors: ``a=b``, ``a==b``, ``a!=b`` terms (``fields/selector.go``). Which fields a type
supports is its field-label conversion function: the default
(``runtime.DefaultMetaV1FieldSelectorConversion``: ``metadata.name``, ``metadata.namespace``,
else ``"<f>" is not a known field selector: only "metadata.name", "metadata.namespace"``) or a
type's own (``pkg/apis/core/v1/conversion.go`` for Pod, Node, Namespace;
``pkg/apis/certificates/v1/conversion.go`` for CSRs: else ``field label not supported: <f>``).
Either way an unsupported field is a 400 BadRequest with that text.
"""

import re
from urllib.parse import parse_qs

from ..errors import InputError

_SET_TERM = re.compile(r"^\s*(!?[A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


class SelectorError(InputError):
    """A selector kube-apiserver refuses with 400 BadRequest; the message is its text."""


def _split_terms(selector):
    """Split on commas outside parentheses."""
    terms, depth, current = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def parse_label_selector(query):
    """Terms ``(key, op, values)`` of every ``labelSelector`` parameter."""
    terms = []
    for selector in parse_qs(query or "").get("labelSelector", []):
        for term in _split_terms(selector):
            match = _SET_TERM.match(term)
            if match:
                values = tuple(v.strip() for v in match.group(3).split(",") if v.strip())
                terms.append((match.group(1), match.group(2), values))
            elif "!=" in term:
                key, value = term.split("!=", 1)
                terms.append((key.strip(), "!=", (value.strip(),)))
            elif "=" in term:
                key, value = term.split("=", 1)
                terms.append((key.strip(), "=", (value.lstrip("=").strip(),)))
            elif term.startswith("!"):
                terms.append((term[1:].strip(), "!exists", ()))
            else:
                terms.append((term, "exists", ()))
    return terms


def labels_match(labels, terms):
    for key, op, values in terms:
        present = key in labels
        if op == "=" and labels.get(key) != values[0]:
            return False
        if op == "!=" and present and labels[key] == values[0]:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
        if op == "in" and (not present or labels[key] not in values):
            return False
        if op == "notin" and present and labels[key] in values:
            return False
    return True


#: Types with their own field-label conversion function: the fields they accept.
OWN_FIELD_LABELS = {
    "Pod": (
        "metadata.name",
        "metadata.namespace",
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.podIPs",
        "status.nominatedNodeName",
    ),
    "Node": ("metadata.name", "spec.unschedulable"),
    "Namespace": ("status.phase", "metadata.name"),
    "CertificateSigningRequest": ("metadata.name", "spec.signerName"),
}


def parse_field_selector(query, kind_name):
    """Terms ``(field, op, value)``; ``SelectorError`` with kube-apiserver's text for an unknown field."""
    terms = []
    for selector in parse_qs(query or "").get("fieldSelector", []):
        for term in _split_terms(selector):
            if "!=" in term:
                key, value = term.split("!=", 1)
                op = "!="
            elif "=" in term:
                key, value = term.split("=", 1)
                value, op = value[1:] if value.startswith("=") else value, "="
            else:
                raise SelectorError(f"invalid selector: '{selector}'; can't understand '{term}'")
            key = key.strip()
            if key == "spec.host" and kind_name == "Pod":
                key = "spec.nodeName"
            own = OWN_FIELD_LABELS.get(kind_name)
            if own is not None and key not in own:
                raise SelectorError(f"field label not supported: {key}")
            if own is None and key not in ("metadata.name", "metadata.namespace"):
                raise SelectorError(
                    f'"{key}" is not a known field selector: only "metadata.name", "metadata.namespace"'
                )
            terms.append((key, op, value))
    return terms


def fields_match(fields, terms):
    """``fields`` maps field label -> the object's value as a string."""
    for key, op, value in terms:
        actual = fields.get(key, "")
        if (op == "=") != (actual == value):
            return False
    return True
