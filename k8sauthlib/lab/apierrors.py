"""Field errors and Status errors as kube-apiserver 1.32 words them.

After two apimachinery packages (kubernetes/apimachinery v0.32, the library of kube-apiserver 1.32):

* ``pkg/util/validation/field/errors.go``: one :class:`FieldError` per invalid field, printed by
  ``Error.Error()`` as ``<field>: <ErrorBody>``, with ``ErrorBody`` choosing how the bad value is
  shown (``%v`` for numbers, ``%q`` for strings, ``%#v`` for the rest, so a ``[]byte`` prints as
  ``[]byte{0x2d, 0x2d, ...}``);
* ``pkg/api/errors/errors.go``: ``NewInvalid`` (422 with ``details.causes``), ``NewForbidden``
  (403) and ``NewBadRequest`` (400), the ``metav1.Status`` objects the handler writes.

:class:`StatusError` carries such a Status. A handler answers with ``err.code`` and the JSON of
``err.status``; a :class:`StatusError` made with ``plain=True`` is instead Go's ``http.Error``:
``text/plain; charset=utf-8``, body ``err.message`` plus a newline.
"""

import re

from ..go.text import go_quote
from .wire import status_object

#: ``field.ErrorType`` -> ``ErrorType.String()``
_TYPE_TEXT = {
    "FieldValueNotFound": "Not found",
    "FieldValueRequired": "Required value",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueInvalid": "Invalid value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueTooLong": "Too long",
    "FieldValueTooMany": "Too many",
    "InternalError": "Internal error",
}
# ErrorBody prints no value for these types
_NO_VALUE = ("FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong", "InternalError")


def go_value(value):
    """A bad value as ``field.Error.ErrorBody`` prints it.

    ``None`` is ``null``; ``bool`` and numbers ``%v``; ``str`` ``%q`` (Go prints a named string
    type such as ``KeyUsage`` with ``%#v``, which is the same double-quoted text); ``bytes`` is
    ``%#v`` of a ``[]byte``: ``[]byte{0x2d, 0xa}``. A :class:`RawValue` is shown as it is
    (``[]byte(nil)``).
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return "[]byte{" + ", ".join(f"0x{b:x}" for b in value) + "}"
    return go_quote(str(value))


class RawValue(str):
    """A bad value printed verbatim, for Go values with no Python counterpart (``[]byte(nil)``)."""


class FieldError:
    """One ``field.Error``: ``type`` (a ``FieldValue*`` cause type), ``field`` path, bad value, ``detail``."""

    def __init__(self, type_, field, value=None, detail="", *, omit_value=False):
        self.type = type_
        self.field = field
        self.value = value
        self.detail = detail
        self.omit_value = omit_value

    def body(self):
        """``ErrorBody()``: the message without the field name."""
        text = _TYPE_TEXT[self.type]
        if self.type not in _NO_VALUE and not self.omit_value:
            shown = str(self.value) if isinstance(self.value, RawValue) else go_value(self.value)
            text = f"{text}: {shown}"
        if self.detail:
            text = f"{text}: {self.detail}"
        return text

    def __str__(self):
        return f"{self.field}: {self.body()}"

    def __repr__(self):
        return f"<FieldError {self}>"

    def cause(self):
        """The ``metav1.StatusCause`` of ``NewInvalid``: ``reason``, ``message``, ``field``."""
        return {"reason": self.type, "message": self.body(), "field": self.field}


def invalid(field, value, detail):
    """``field.Invalid``."""
    return FieldError("FieldValueInvalid", field, value, detail)


def required(field, detail=""):
    """``field.Required``."""
    return FieldError("FieldValueRequired", field, "", detail)


def duplicate(field, value):
    """``field.Duplicate``."""
    return FieldError("FieldValueDuplicate", field, value)


def forbidden(field, detail):
    """``field.Forbidden``."""
    return FieldError("FieldValueForbidden", field, "", detail)


def not_supported(field, value, valid_values):
    """``field.NotSupported``: the detail lists the valid values, each ``strconv.Quote``-d."""
    detail = ("supported values: " + ", ".join(go_quote(v) for v in valid_values)) if valid_values else ""
    return FieldError("FieldValueNotSupported", field, value, detail)


def too_long(field, max_length):
    """``field.TooLong`` (1.32 wording: ``may not be more than N bytes``; the value is omitted)."""
    detail = f"may not be more than {max_length} bytes" if max_length >= 0 else "value is too long"
    return FieldError("FieldValueTooLong", field, "<value omitted>", detail)


class StatusError(Exception):
    """A ``metav1.Status`` failure to send back: ``code``, ``reason``, ``message``, ``details``.

    ``plain=True`` marks Go's ``http.Error`` answer instead of a Status: a ``text/plain;
    charset=utf-8`` body of ``message`` and a newline, with ``X-Content-Type-Options: nosniff``
    (``responsewriters.InternalError`` uses it).
    """

    def __init__(self, code, reason, message, details=None, *, plain=False):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.plain = plain

    @property
    def status(self):
        """The ``Status`` object (:func:`.wire.status_object`)."""
        return status_object(self.code, self.reason, self.message, self.details)

    def __repr__(self):
        return f"<StatusError {self.code} {self.reason}: {self.message}>"


def _details(name="", group="", kind="", causes=None):
    # metav1.StatusDetails, every field omitempty, in struct order
    details = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    if causes:
        details["causes"] = causes
    return details


def new_invalid(group, kind, name, errors):
    """``errors.NewInvalid``: 422 ``Invalid``, message ``<Kind>.<group> "<name>" is invalid: <errors>``.

    The errors are aggregated as ``ErrorList.ToAggregate`` does (duplicates dropped; one error
    as is, several as ``[a, b]``).
    """
    qualified = f"{kind}.{group}" if group else kind
    causes = [e.cause() for e in errors]
    message = f"{qualified} {go_quote(name)} is invalid"
    if errors:
        message += ": " + go_aggregate([str(e) for e in errors])
    return StatusError(422, "Invalid", message, _details(name, group, kind, causes))


def new_forbidden(group, resource, name, text):
    """``errors.NewForbidden``: 403, ``<resource>.<group> "<name>" is forbidden: <text>``."""
    qualified = f"{resource}.{group}" if group else resource
    if not qualified:
        message = f"forbidden: {text}"
    elif not name:
        message = f"{qualified} is forbidden: {text}"
    else:
        message = f"{qualified} {go_quote(name)} is forbidden: {text}"
    return StatusError(403, "Forbidden", message, _details(name, group, resource))


def new_bad_request(message):
    """``errors.NewBadRequest``: 400 ``BadRequest`` without details."""
    return StatusError(400, "BadRequest", message)


# ------------------------------------------------- apimachinery pkg/util/validation (v0.32)
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
DNS1123_LABEL_MAX_LENGTH = 63
DNS1123_SUBDOMAIN_MAX_LENGTH = 253


def _regex_error(message, fmt, *examples):
    """``RegexError``: the message, examples and the regular expression used."""
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def _max_len_error(length):
    return f"must be no more than {length} characters"


def is_dns1123_label(value):
    """``IsDNS1123Label``: a list of problems, empty when ``value`` is a lowercase RFC 1123 label."""
    errs = []
    if len(value.encode()) > DNS1123_LABEL_MAX_LENGTH:
        errs.append(_max_len_error(DNS1123_LABEL_MAX_LENGTH))
    if not re.fullmatch(_DNS1123_LABEL_FMT, value):
        if re.fullmatch(_DNS1123_SUBDOMAIN_FMT, value):
            errs.append("must not contain dots")
        else:
            errs.append(
                _regex_error(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                    "characters or '-', and must start and end with an alphanumeric character",
                    _DNS1123_LABEL_FMT,
                    "my-name",
                    "123-abc",
                )
            )
    return errs


def is_dns1123_subdomain(value):
    """``IsDNS1123Subdomain``: a list of problems, empty when ``value`` is a lowercase RFC 1123 subdomain."""
    errs = []
    if len(value.encode()) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errs.append(_max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not re.fullmatch(_DNS1123_SUBDOMAIN_FMT, value):
        errs.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character",
                _DNS1123_SUBDOMAIN_FMT,
                "example.com",
            )
        )
    return errs


_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_NAME_ERR = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
)
_LABEL_VALUE_FMT = f"({_QUALIFIED_NAME_FMT})?"
QUALIFIED_NAME_MAX_LENGTH = 63
LABEL_VALUE_MAX_LENGTH = 63


def is_qualified_name(value):
    """``IsQualifiedName``: a list of problems, empty when ``value`` is a label key (an optional DNS
    subdomain prefix and ``/``, then a name part of at most 63 characters); each problem is one
    ``field.Invalid`` of ``ValidateLabelName`` (``pkg/apis/meta/v1/validation``)."""
    parts = value.split("/")
    errs = []
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + msg for msg in is_dns1123_subdomain(prefix)]
    else:
        return [
            (
                "a qualified name "
                + _regex_error(_QUALIFIED_NAME_ERR, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            )
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name.encode()) > QUALIFIED_NAME_MAX_LENGTH:
        errs.append("name part " + _max_len_error(QUALIFIED_NAME_MAX_LENGTH))
    if not re.fullmatch(_QUALIFIED_NAME_FMT, name, re.ASCII):
        errs.append(
            "name part " + _regex_error(_QUALIFIED_NAME_ERR, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def is_valid_label_value(value):
    """``IsValidLabelValue``: a list of problems, empty when ``value`` may be a label's value."""
    errs = []
    if len(value.encode()) > LABEL_VALUE_MAX_LENGTH:
        errs.append(_max_len_error(LABEL_VALUE_MAX_LENGTH))
    if not re.fullmatch(_LABEL_VALUE_FMT, value, re.ASCII):
        errs.append(
            _regex_error(
                "a valid label must be an empty string or consist of alphanumeric characters, "
                "'-', '_' or '.', and must start and end with an alphanumeric character",
                _LABEL_VALUE_FMT,
                "MyValue",
                "my_value",
                "12345",
            )
        )
    return errs


def go_aggregate(messages):
    """Format errors like ``utilerrors.NewAggregate(...).Error()``
    (``staging/src/k8s.io/apimachinery/pkg/util/errors/errors.go``): one as-is, several as ``[a, b]``."""
    unique = list(dict.fromkeys(messages))
    if len(unique) == 1:
        return unique[0]
    return "[" + ", ".join(unique) + "]"


def sanitize_html(text):
    """The response writers' ``sanitizer``: ``&``, ``<``, ``>`` as ``&amp;``, ``&lt;``, ``&gt;``, so that
    no error "looks like valid HTML" (``staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go``,
    kubernetes v1.28 to v1.32). ``&`` goes first, so the entities it adds are not replaced again,
    as ``strings.NewReplacer`` does in one pass."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def forbidden_message(attrs, user, reason=""):
    """``ForbiddenStatusError``: ``forbiddenMessage`` + ``NewForbidden``; returns ``(message, details)``.

    Source (kubernetes v1.32): ``ForbiddenStatusError`` and ``forbiddenMessage`` in
    ``staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go``, ``NewForbidden``
    in ``staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go``. Only the ``forbiddenMessage``
    part goes through :func:`sanitize_html` (a user ``a<b`` is ``User "a&lt;b" cannot ...``); the
    authorizer's reason and the object's name (``%q`` in ``NewForbidden``) are written as they
    are. The JSON encoder then writes ``&``, ``<``, ``>`` as ``\\u0026``, ``\\u003c``, ``\\u003e``,
    which every client decodes back, so kubectl prints ``&lt;``.
    """
    q = go_quote
    if not attrs.is_resource_request:
        text = f"User {q(user)} cannot {attrs.verb} path {q(attrs.path)}"
    else:
        resource = attrs.resource + ("/" + attrs.subresource if attrs.subresource else "")
        if attrs.namespace:
            text = (
                f"User {q(user)} cannot {attrs.verb} resource {q(resource)} in API group "
                f"{q(attrs.api_group)} in the namespace {q(attrs.namespace)}"
            )
        else:
            text = (
                f"User {q(user)} cannot {attrs.verb} resource {q(resource)} in API group "
                f"{q(attrs.api_group)} at the cluster scope"
            )
    text = sanitize_html(text)
    if reason:
        text = f"{text}: {reason}"
    group_resource = (
        attrs.resource + ("." + attrs.api_group if attrs.api_group else "") if attrs.is_resource_request else ""
    )
    details = {}
    if attrs.is_resource_request and attrs.name:
        details["name"] = attrs.name
    if attrs.is_resource_request and attrs.api_group:
        details["group"] = attrs.api_group
    if group_resource:
        details["kind"] = attrs.resource
    if not group_resource:
        message = f"forbidden: {text}"
    elif not attrs.name:
        message = f"{group_resource} is forbidden: {text}"
    else:
        message = f"{group_resource} {q(attrs.name)} is forbidden: {text}"
    return message, details
