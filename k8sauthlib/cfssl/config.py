"""cfssl signing configurations (``config.Config`` in cloudflare/cfssl v1.6, ``config/config.go``): ``*-config.json``.

A profile's ``expiry`` and ``backdate`` are Go durations; ``usages`` are cfssl's names
(:mod:`k8sauthlib.pki.names`). Unlike cfssl, an unknown profile or usage is an error rather than a
silent fallback to ``signing.default`` or a dropped usage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..errors import InputError, UnknownProfileError, UnknownUsageError
from ..go.duration import parse_duration
from ..pki.names import EXT_KEY_USAGES, KEY_USAGES, resolve_usages
from .jsonin import as_bool, as_int, as_str_list, close_matches, json_type, load_json, match_fields, positive_duration

#: cfssl's built-in signing profile when no ``-config`` is given (``config.DefaultConfig``).
DEFAULT_USAGES = ("signing", "key encipherment", "server auth", "client auth")
DEFAULT_EXPIRY = timedelta(hours=8760)
#: cfssl's default backdate (``signer.FillTemplate``).
DEFAULT_BACKDATE = timedelta(minutes=5)


@dataclass(frozen=True)
class SigningProfile:
    """One cfssl signing profile (``signing.default`` or ``signing.profiles.<name>``).

    Attributes:
        name: ``"default"`` or the profile's name.
        usages: cfssl usage names, as given.
        expiry: lifetime of certificates signed with it.
        backdate: how far before now validity starts.
        is_ca: ``ca_constraint.is_ca``: sign CA certificates.
        path_length: ``ca_constraint`` pathlen for CA certificates, None for no limit.
    """

    name: str
    usages: tuple[str, ...]
    expiry: timedelta
    backdate: timedelta = DEFAULT_BACKDATE
    is_ca: bool = False
    path_length: int | None = None


_CONFIG_FIELDS = ("signing",)
_CONFIG_IGNORED = ("auth_keys", "remotes")  # only remote signing uses them
_SIGNING_FIELDS = ("default", "profiles")
_PROFILE_FIELDS = ("usages", "expiry", "backdate", "ca_constraint", "auth_key")
_PROFILE_UNSUPPORTED = {
    "remote": "remote signing",
    "auth_remote": "remote signing",
    "issuer_urls": "AIA issuer URLs",
    "ocsp_url": "OCSP URLs",
    "crl_url": "CRL distribution points",
    "policies": "certificate policies",
    "ocsp_no_check": "OCSP no-check",
    "copy_extensions": "copying CSR extensions",
    "not_before": "fixed validity dates",
    "not_after": "fixed validity dates",
    "name_whitelist": "name whitelists",
    "allowed_extensions": "extension whitelists",
    "lint_error_level": "zlint",
    "ignored_lints": "zlint",
    "is_ca": "the old is_ca flag (use ca_constraint)",
    "cert_store": "certificate stores",
    "prev_auth_key": "auth key rotation",
}
_CA_CONSTRAINT_FIELDS = ("is_ca", "max_path_len", "max_path_len_zero")


@dataclass(frozen=True)
class SigningConfig:
    """A cfssl signing configuration (``config.Config``), as read from ``*-config.json``.

    Attributes:
        default: ``signing.default`` (cfssl's built-in default when the file has none).
        profiles: ``signing.profiles``, by name.
        source: the file name or label, for messages.
        given: False for the built-in configuration used when no ``-config`` is given.
    """

    default: SigningProfile
    profiles: dict[str, SigningProfile]
    source: str = "signing config"
    given: bool = True

    @classmethod
    def builtin(cls) -> SigningConfig:
        """cfssl's configuration when ``-config`` is not given: one default profile, 8760h, server and client auth."""
        return cls(
            default=SigningProfile("default", DEFAULT_USAGES, DEFAULT_EXPIRY),
            profiles={},
            source="cfssl's built-in signing configuration",
            given=False,
        )

    @classmethod
    def from_json(cls, source) -> SigningConfig:
        """Read a cfssl signing configuration.

        Args:
            source: JSON text or bytes, a parsed dict, or a path to a ``.json`` file.

        Raises:
            InputError: malformed or incomplete JSON, no ``signing`` section, a wrong type,
                an unknown or unsupported field, a profile without ``expiry`` or without usages,
                a bad duration.
            UnknownUsageError: a usage name cfssl does not know (cfssl would drop it).
        """
        data, label = load_json(source, "signing config")
        f = match_fields(data, label, _CONFIG_FIELDS, ignored=_CONFIG_IGNORED)
        if "signing" not in f:
            raise InputError(f'{label}: there is no "signing" section (cfssl: \'No "signing" field present\')')
        s = match_fields(f["signing"], f"{label}: signing", _SIGNING_FIELDS)
        if "default" in s:
            default = _profile(s["default"], "default", label, is_default=True)
        else:
            default = SigningProfile("default", DEFAULT_USAGES, DEFAULT_EXPIRY)
        raw_profiles = s.get("profiles", {})
        if not isinstance(raw_profiles, dict):
            raise InputError(
                f"{label}: signing.profiles must be an object of named profiles, not {json_type(raw_profiles)}"
            )
        profiles = {}
        for name, value in getattr(raw_profiles, "pairs", raw_profiles.items()):
            if name in profiles:
                raise InputError(f"{label}: profile {name!r} is defined twice; cfssl would silently keep the last")
            profiles[name] = _profile(value, name, label, is_default=False)
        return cls(default=default, profiles=profiles, source=label)

    def profile(self, name: str | None = None) -> SigningProfile:
        """The profile ``-profile=name`` selects; None or "" gives ``signing.default``.

        ``"default"`` also names ``signing.default`` unless a profile of that name exists.

        Raises:
            UnknownProfileError: no such profile (cfssl would silently sign with the default).
            InputError: the selected profile has no usages (cfssl: "no key usage available").
        """
        if name and name in self.profiles:
            chosen = self.profiles[name]
        elif not name or name == "default":
            chosen = self.default
        elif not self.given:
            raise UnknownProfileError(
                f"profile {name!r} was asked for but no signing configuration was given "
                f"(-config), so there are no profiles; cfssl would silently use its "
                f"built-in default"
            )
        else:
            known = ", ".join(sorted(self.profiles)) or "(none)"
            close = close_matches(name, list(self.profiles), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UnknownProfileError(
                f"{self.source} has no signing profile {name!r}{hint}; its profiles are: "
                f"{known} (cfssl would silently sign with signing.default instead)"
            )
        if not chosen.usages:
            raise InputError(
                f"{self.source}: signing profile {chosen.name!r} has no usages, so the certificate "
                f'would have no key usage (cfssl: "Invalid policy: no key usage available")'
            )
        return chosen


def _profile(value, name: str, label: str, *, is_default: bool) -> SigningProfile:
    where = f"{label}: signing.{'default' if is_default else 'profiles.' + name}"
    f = match_fields(value, where, _PROFILE_FIELDS, _PROFILE_UNSUPPORTED)
    usages = as_str_list(f.get("usages", []), f"{where}.usages")
    if usages:
        # imports cryptography: only when there are usages to check

        known = list(KEY_USAGES) + list(EXT_KEY_USAGES)
        for usage in usages:
            if usage not in known:
                close = close_matches(usage.lower().replace("-", " ").replace("_", " "), known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise UnknownUsageError(
                    f"{where}.usages: unknown usage {usage!r}{hint}, which cfssl would silently "
                    f"drop; known usages: {', '.join(known)}"
                )
        try:
            resolve_usages(usages)
        except InputError as exc:
            raise InputError(f"{where}.usages: {exc}") from None
    elif not is_default:
        raise InputError(
            f'{where} has no usages; cfssl refuses such a configuration ("invalid configuration"), '
            f'add e.g. "usages": ["signing", "key encipherment", "client auth"]'
        )
    if "expiry" not in f or f["expiry"] == "":
        raise InputError(
            f'{where} has no expiry; cfssl refuses such a configuration ("empty expiry string"), '
            f'add e.g. "expiry": "8760h"'
        )
    expiry = positive_duration(f["expiry"], f"{where}.expiry")
    backdate = DEFAULT_BACKDATE
    if f.get("backdate"):
        backdate = parse_duration(f["backdate"], f"{where}.backdate")
        if backdate < timedelta(0):
            raise InputError(f"{where}.backdate {f['backdate']!r} must not be negative")
        if backdate == timedelta(0):
            backdate = DEFAULT_BACKDATE  # cfssl: zero means its default
    is_ca, path_length = False, None
    if "ca_constraint" in f:
        cw = f"{where}.ca_constraint"
        c = match_fields(f["ca_constraint"], cw, _CA_CONSTRAINT_FIELDS)
        is_ca = as_bool(c.get("is_ca", False), f"{cw}.is_ca")
        max_len = as_int(c.get("max_path_len", 0), f"{cw}.max_path_len")
        zero = as_bool(c.get("max_path_len_zero", False), f"{cw}.max_path_len_zero")
        if max_len < 0:
            raise InputError(f"{cw}.max_path_len {max_len} must not be negative")
        if is_ca:
            path_length = max_len if max_len or zero else None
    return SigningProfile(
        name=name, usages=usages, expiry=expiry, backdate=backdate, is_ca=is_ca, path_length=path_length
    )


__all__ = ["DEFAULT_BACKDATE", "DEFAULT_EXPIRY", "DEFAULT_USAGES", "SigningConfig", "SigningProfile"]
