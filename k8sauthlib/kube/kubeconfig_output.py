"""How kubectl writes and shows a kubeconfig: client-go's v1 fields, ``clientcmd.Write``, ``kubectl config view``.

Source: client-go v0.32, ``tools/clientcmd/api/v1/types.go`` (the fields and their ``omitempty``),
``tools/clientcmd/loader.go`` (``Write``, ``RelativizePathWithNoBacksteps``), and kubectl's
``pkg/cmd/config/view.go`` (``--minify``, ``--raw``; ``DATA+OMITTED`` and ``REDACTED``).
:class:`KubeconfigOutput` is the half of :class:`~k8sauthlib.Kubeconfig` that renders it.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from ..errors import InputError, KeyMismatchError
from ..files import KEY_MODE, BareFiles, atomic_write, read_file, write_bare
from ..go.yaml import go_yaml_dump
from ..pki.fields import load_cert
from ..pki.keys import key_matches, load_private_key

#: What ``kubectl config view`` prints instead of embedded certificate and key data.
DATA_OMITTED = "DATA+OMITTED"
#: What ``kubectl config view`` prints instead of a token.
REDACTED = "REDACTED"

# Fields of client-go's v1 types (k8s.io/client-go/tools/clientcmd/api/v1/types.go) and the
# Python types a YAML file must give them. Anything else is dropped on load, as kubectl does.
CLUSTER_FIELDS = {
    "server": str,
    "tls-server-name": str,
    "insecure-skip-tls-verify": bool,
    "certificate-authority": str,
    "certificate-authority-data": bytes,
    "proxy-url": str,
    "disable-compression": bool,
    "extensions": list,
}
USER_FIELDS = {
    "client-certificate": str,
    "client-certificate-data": bytes,
    "client-key": str,
    "client-key-data": bytes,
    "token": str,
    "tokenFile": str,
    "as": str,
    "as-uid": str,
    "as-groups": list,
    "as-user-extra": dict,
    "username": str,
    "password": str,
    "auth-provider": dict,
    "exec": dict,
    "extensions": list,
}
CONTEXT_FIELDS = {"cluster": str, "user": str, "namespace": str, "extensions": list}
# Fields without ``omitempty``: written even when empty.
ALWAYS_WRITTEN = {"cluster": {"server"}, "user": set(), "context": {"cluster", "user"}}
# File references that clientcmd resolves against the kubeconfig's directory.
PATH_FIELDS = {
    "cluster": ("certificate-authority",),
    "user": ("client-certificate", "client-key", "tokenFile"),
    "context": (),
}
KINDS = {
    "cluster": ("clusters", CLUSTER_FIELDS),
    "user": ("users", USER_FIELDS),
    "context": ("contexts", CONTEXT_FIELDS),
}


def pem_bytes(value, what: str) -> bytes:
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, (bytes, bytearray)):
        raise InputError(f"{what} must be PEM bytes or text, not {type(value).__name__}")
    return bytes(value)


def read_kubeconfig_file(path, what: str) -> bytes:
    return read_file(
        path,
        what,
        permission_hint="root-only files such as /etc/kubernetes/admin.conf need sudo; see k8sauthlib.KubeadmTree",
    )


def check_pair(cert_pem: bytes, key_pem: bytes, cert_what: str, key_what: str) -> None:
    """Raise KeyMismatchError unless the key belongs to the certificate (both PEM)."""
    try:
        cert = load_cert(cert_pem)
    except InputError as exc:
        raise InputError(f"{cert_what}: {exc}") from None
    try:
        key = load_private_key(key_pem)
    except InputError as exc:
        raise InputError(f"{key_what}: {exc}") from None
    if not key_matches(cert, key):
        subject = cert.subject.rfc4514_string() or "(empty subject)"
        raise KeyMismatchError(
            f"the private key ({key_what}) does not belong to the certificate ({cert_what}, "
            f"{subject}); pair each certificate with the key it was issued for"
        )


def relativize(path: str, base_dir: Path) -> str:
    """clientcmd ``RelativizePathWithNoBacksteps``: relative to ``base_dir`` unless that needs ``..``."""
    if not path or not os.path.isabs(path):
        return path
    rel = os.path.relpath(path, base_dir)
    return path if rel.startswith("..") else rel


def is_empty(value) -> bool:
    return value is None or value is False or (isinstance(value, (str, bytes, list, dict)) and not value)


def type_name(value) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


class KubeconfigOutput:
    """Rendering for :class:`~k8sauthlib.Kubeconfig`: ``to_dict``, ``to_yaml``, ``view``, ``write``, ``client_files``."""

    def to_dict(self, *, base_dir=None, redact: bool = False) -> dict:
        """The kubeconfig as kubectl serializes it (before YAML): a JSON-like dict.

        Args:
            base_dir: directory to make changed file paths relative to (default: this file's).
            redact: replace embedded data with ``DATA+OMITTED`` and tokens with ``REDACTED``,
                as ``kubectl config view`` does without ``--raw``.
        """
        base = (
            Path(base_dir).absolute() if base_dir is not None else (self._base_dir() if self.path is not None else None)
        )

        def named(kind):
            out = []
            for name in sorted(self._entries[kind]):
                entry = {}
                for key, value in self._entries[kind][name].items():
                    if is_empty(value) and key not in ALWAYS_WRITTEN[kind]:
                        continue  # omitempty
                    if base is not None and (kind, name) in self._dirty and key in PATH_FIELDS[kind]:
                        value = relativize(value, base)
                    if redact and isinstance(value, bytes):
                        value = DATA_OMITTED
                    elif redact and key == "token":
                        value = REDACTED
                    entry[key] = value
                for key in ALWAYS_WRITTEN[kind]:
                    entry.setdefault(key, "")
                out.append({"name": name, kind: entry})
            return out or None

        doc = {
            "apiVersion": "v1",
            "clusters": named("cluster"),
            "contexts": named("context"),
            "current-context": self.current_context,
            "kind": "Config",
            "preferences": dict(self._preferences),
            "users": named("user"),
        }
        if self._extensions:
            doc["extensions"] = self._extensions
        return doc

    def to_yaml(self, *, base_dir=None) -> str:
        """The file's text, exactly as kubectl would write it (embedded data included)."""
        return go_yaml_dump(self.to_dict(base_dir=base_dir))

    def view(self, *, minify: bool = False, raw: bool = False) -> str:
        """What ``kubectl config view`` prints.

        Args:
            minify: keep only the current context and the cluster and user it uses (``--minify``).
            raw: show embedded data and tokens (``--raw``); otherwise certificate and key data
                read ``DATA+OMITTED`` and tokens ``REDACTED``.

        Raises:
            InputError: ``minify`` without a usable current context (kubectl's wording).
        """
        kc = self
        if minify:
            if not self.current_context:
                raise InputError("current-context must exist in order to minify")
            ctx = self._entries["context"].get(self.current_context)
            if ctx is None:
                raise InputError(f"cannot locate context {self.current_context}")
            kc = copy.deepcopy(self)
            kc._entries["context"] = {self.current_context: ctx}
            for kind in ("cluster", "user"):
                name = ctx.get(kind, "")
                if name and name not in self._entries[kind]:
                    raise InputError(f"cannot locate {kind} {name}")
                kc._entries[kind] = {name: self._entries[kind][name]} if name else {}
        return go_yaml_dump(kc.to_dict(redact=not raw))

    def write(self, path=None, *, validate: bool = True) -> Path:
        """Write the kubeconfig atomically with mode 0600, as kubectl writes it.

        Args:
            path: target file (default: the file it was loaded from or last written to).
            validate: run :meth:`validate` first; nothing is written if it fails.

        Returns:
            The path written.

        Raises:
            InputError, KeyMismatchError: see :meth:`validate`; no file is created or changed.
        """
        if path is None:
            if self.path is None:
                raise InputError("no path to write to: give write(PATH)")
            path = self.path
        path = Path(path)
        if validate:
            self.validate()
        text = self.to_yaml(base_dir=path.absolute().parent)
        atomic_write(path, text.encode("utf-8"), mode=KEY_MODE)
        if self.path is None or self.path.absolute() != path.absolute():
            # From now on the file's own directory is the base for its relative paths.
            for kind, name in list(self._dirty):
                entry = self._entries[kind].get(name, {})
                for field in PATH_FIELDS[kind]:
                    if entry.get(field):
                        entry[field] = relativize(entry[field], path.absolute().parent)
            self._dirty.clear()
            self.path = path
        return path

    # --------------------------------------------------------------------------- extracting
    def client_files(self, dest_dir, name: str, *, user: str | None = None, overwrite: bool = False) -> BareFiles:
        """Write a user's certificate and key to ``NAME.pem`` and ``NAME-key.pem`` (0600).

        This is the article's ``grep client-certificate-data admin.conf | awk '{print $2}' |
        base64 -d > k8s-client.pem`` (and the same for the key), in one call.

        Args:
            dest_dir: directory for the two files.
            name: base name (``k8s-client`` gives ``k8s-client.pem``, ``k8s-client-key.pem``).
            user: which user (default: the current context's).
            overwrite: replace existing files.

        Returns:
            ``BareFiles(cert, key, csr=None)``.

        Raises:
            InputError: the user is missing or has no certificate and key.
            KeyMismatchError: the key does not belong to the certificate; nothing is written.
        """
        user = user if user is not None else self.current_user()
        entry = self._entries["user"].get(user)
        if entry is None:
            raise InputError(
                f'user "{user}" is not defined in this kubeconfig (users: '
                f"{', '.join(sorted(self._entries['user'])) or 'none'})"
            )
        cert, key = self._user_material(entry, user)
        if cert is None or key is None:
            raise InputError(
                f'user "{user}" has no client certificate and key to extract '
                f"(it has: {', '.join(sorted(entry)) or 'nothing'})"
            )
        check_pair(cert[0], key[0], cert[1], key[1])
        return write_bare(name, dest_dir, cert_pem=cert[0], key_pem=key[0], overwrite=overwrite)


__all__ = [
    "ALWAYS_WRITTEN",
    "CLUSTER_FIELDS",
    "CONTEXT_FIELDS",
    "DATA_OMITTED",
    "KINDS",
    "PATH_FIELDS",
    "REDACTED",
    "USER_FIELDS",
    "KubeconfigOutput",
    "check_pair",
    "is_empty",
    "pem_bytes",
    "read_kubeconfig_file",
    "relativize",
    "type_name",
]
