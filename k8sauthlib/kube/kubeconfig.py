"""kubeconfig files, written byte for byte the way kubectl writes them.

``kubectl config set-cluster / set-credentials / set-context / use-context`` load the file,
change one entry and write the whole file back through client-go's ``clientcmd.Write``: JSON
first, then ``sigs.k8s.io/yaml`` turns that JSON into YAML with go-yaml v2. Three things follow,
and :class:`Kubeconfig` reproduces all of them so that a notebook can put our file next to
kubectl's and ``diff`` shows nothing:

- every mapping's keys are sorted (go-yaml's "natural" order), so ``apiVersion``, ``clusters``,
  ``contexts``, ``current-context``, ``kind``, ``preferences``, ``users``; ``name`` after
  ``cluster``; and the named lists are sorted by name;
- empty fields disappear (``omitempty``) except ``server``, a context's ``cluster`` and ``user``,
  ``current-context`` (``""``) and the three lists (``null`` when empty);
- strings are quoted only when go-yaml would read them back as something else (``"yes"``,
  ``"123"``, ``""``), and long lines are folded at 80 columns.

File paths follow kubectl too: a path given to ``set_*`` is made absolute, and on writing it is
made relative to the kubeconfig's directory when that needs no ``..``.

kubeadm writes ``admin.conf`` and ``kubeadm kubeconfig user`` prints its output through the same
``clientcmd.Write``, so the same class also reproduces those (see :func:`kubeconfig_for_user`).
Reading a file the way kubectl does is :mod:`k8sauthlib.kube.kubeconfig_input`; writing it and
``kubectl config view`` are :mod:`k8sauthlib.kube.kubeconfig_output`.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from ..errors import InputError
from ..pki.fields import load_cert
from ..pki.keys import load_private_key
from .kubeconfig_input import parse_kubeconfig
from .kubeconfig_output import (
    DATA_OMITTED,
    PATH_FIELDS,
    REDACTED,
    KubeconfigOutput,
    check_pair,
    pem_bytes,
    read_kubeconfig_file,
    type_name,
)


# ==================================================================================== Kubeconfig
class Kubeconfig(KubeconfigOutput):
    """A kubeconfig: clusters, users (credentials), contexts and the current context.

    Build one the way the article does with kubectl::

        kc = k8s.Kubeconfig()
        kc.set_cluster("kubernetes", "https://127.0.0.1:6443", certificate_authority="ca.crt", embed=True)
        kc.set_credentials("alice", client_certificate="alice.pem", client_key="alice-key.pem", embed=True)
        kc.set_context("alice@kubernetes", cluster="kubernetes", user="alice")
        kc.use_context("alice@kubernetes")
        kc.write("alice.kubeconfig")          # mode 0600, same bytes kubectl would write

    Entries are plain dicts keyed by the kubeconfig's field names; ``*-data`` fields hold the
    decoded bytes (PEM), not base64.

    Attributes:
        path: the file this kubeconfig was loaded from or last written to, or None.
        current_context: the current context's name ("" when none).
    """

    def __init__(self):
        self.path: Path | None = None
        self.current_context: str = ""
        self._entries: dict[str, dict[str, dict]] = {"cluster": {}, "user": {}, "context": {}}
        self._preferences: dict = {}
        self._extensions: list | None = None
        self._dirty: set[tuple[str, str]] = set()  # entries changed through set_*: their paths are absolute

    # ----------------------------------------------------------------------------- reading
    @classmethod
    def load(cls, path) -> Kubeconfig:
        """Read a kubeconfig file.

        Args:
            path: the file.

        Raises:
            InputError: the file is missing or unreadable, is not YAML, or has fields of the wrong
                kind (e.g. ``clusters`` not a list, a duplicate name, bad base64 data).
        """
        data = read_kubeconfig_file(path, "kubeconfig")
        return cls.from_yaml(data, path=path)

    @classmethod
    def from_yaml(cls, text, *, path=None) -> Kubeconfig:
        """Parse kubeconfig YAML (text or bytes); ``path`` names its file for relative paths and messages."""
        where = str(path) if path is not None else "kubeconfig"
        doc = parse_kubeconfig(text, where)
        kc = cls()
        kc.path = Path(path) if path is not None else None
        if doc is not None:
            kc._entries, kc.current_context = doc["entries"], doc["current_context"]
            kc._preferences, kc._extensions = doc["preferences"], doc["extensions"]
        return kc

    # ------------------------------------------------------------------------ accessors
    @property
    def clusters(self) -> dict[str, dict]:
        """Clusters by name (copies; ``certificate-authority-data`` as bytes)."""
        return copy.deepcopy(self._entries["cluster"])

    @property
    def users(self) -> dict[str, dict]:
        """Users (credentials) by name (copies; ``client-*-data`` as bytes)."""
        return copy.deepcopy(self._entries["user"])

    @property
    def contexts(self) -> dict[str, dict]:
        """Contexts by name (copies)."""
        return copy.deepcopy(self._entries["context"])

    def _current(self) -> dict:
        if not self.current_context:
            raise InputError("this kubeconfig has no current context; choose one with use_context(NAME)")
        ctx = self._entries["context"].get(self.current_context)
        if ctx is None:
            raise InputError(
                f'current context "{self.current_context}" is not defined in this kubeconfig '
                f"(contexts: {', '.join(sorted(self._entries['context'])) or 'none'})"
            )
        return ctx

    def current_user(self) -> str:
        """The name of the current context's user.

        Raises:
            InputError: no current context, or it names a user this kubeconfig does not define.
        """
        user = self._current().get("user", "")
        if user not in self._entries["user"]:
            raise InputError(self._missing("user", self.current_context, user))
        return user

    def current_cluster(self) -> str:
        """The name of the current context's cluster (InputError if missing, like :meth:`current_user`)."""
        cluster = self._current().get("cluster", "")
        if cluster not in self._entries["cluster"]:
            raise InputError(self._missing("cluster", self.current_context, cluster))
        return cluster

    @property
    def server(self) -> str:
        """The current cluster's API server URL."""
        return self._entries["cluster"][self.current_cluster()].get("server", "")

    def _missing(self, kind: str, context: str, name: str) -> str:
        known = ", ".join(f'"{n}"' for n in sorted(self._entries[kind])) or "none"
        if not name:
            return f'context "{context}" names no {kind}' + (
                "; kubectl would then prompt for a user name" if kind == "user" else ""
            )
        return (
            f'context "{context}" names {kind} "{name}", which this kubeconfig does not define '
            f"({kind}s: {known}); add it with set_{'credentials' if kind == 'user' else 'cluster'}"
            f'("{name}", ...) first'
        )

    # -------------------------------------------------------------------------- changing
    def _base_dir(self) -> Path:
        return (self.path.parent if self.path is not None else Path.cwd()).absolute()

    def _start_edit(self, kind: str, name: str) -> dict:
        """Copy of an entry with its file references made absolute (clientcmd ResolveLocalPaths)."""
        if not isinstance(name, str):
            raise InputError(f"a {kind} name must be a string, not {type_name(name)}")
        entry = copy.deepcopy(self._entries[kind].get(name, {}))
        if (kind, name) not in self._dirty:
            for field in PATH_FIELDS[kind]:
                if entry.get(field) and not os.path.isabs(entry[field]):
                    entry[field] = str(self._base_dir() / entry[field])
        return entry

    def _commit(self, kind: str, name: str, entry: dict) -> None:
        self._entries[kind][name] = entry
        self._dirty.add((kind, name))

    def set_cluster(
        self,
        name: str,
        server: str | None = None,
        *,
        certificate_authority=None,
        certificate_authority_data=None,
        embed: bool = False,
        insecure_skip_tls_verify: bool | None = None,
        tls_server_name: str | None = None,
    ) -> Kubeconfig:
        """Add or change a cluster, like ``kubectl config set-cluster``.

        Only the arguments given change; the rest of an existing entry stays.

        Args:
            name: the cluster's name (kubeadm: ``kubernetes``).
            server: the API server URL, e.g. ``https://127.0.0.1:6443``.
            certificate_authority: path of the CA bundle that signed the server certificate.
            certificate_authority_data: the CA bundle itself (PEM), embedded.
            embed: read ``certificate_authority`` and embed it (``--embed-certs``).
            insecure_skip_tls_verify: True turns server verification off (and drops the CA, as
                kubectl does); only for demonstrating why that is a bad idea.
            tls_server_name: the name to check the server certificate against, when it differs
                from the URL's host. Like kubectl, setting ``server`` alone clears it.

        Returns:
            self, for chaining.

        Raises:
            InputError: a file is missing, or data is not a PEM certificate.
        """
        entry = self._start_edit("cluster", name)
        if server is not None:
            entry["server"] = server
            # kubectl: a new --server drops a tls-server-name chosen for the old one.
            entry.pop("tls-server-name", None)
        if tls_server_name is not None:
            entry["tls-server-name"] = tls_server_name
        if certificate_authority is not None:
            if embed:
                entry["certificate-authority-data"] = self._pem_file(certificate_authority, "certificate authority")
                entry.pop("certificate-authority", None)
                entry.pop("insecure-skip-tls-verify", None)
            else:
                ca_path = os.path.abspath(certificate_authority)
                self._pem_file(ca_path, "certificate authority")  # must exist and be a certificate
                entry["certificate-authority"] = ca_path
                entry.pop("certificate-authority-data", None)
                entry.pop("insecure-skip-tls-verify", None)
        elif embed and certificate_authority_data is None:
            raise InputError("embed=True needs certificate_authority=PATH: the file to embed")
        if certificate_authority_data is not None:
            data = pem_bytes(certificate_authority_data, "certificate_authority_data")
            self._check_cert(data, "certificate_authority_data")
            entry["certificate-authority-data"] = data
            entry.pop("certificate-authority", None)
            entry.pop("insecure-skip-tls-verify", None)
        if insecure_skip_tls_verify is not None:
            entry["insecure-skip-tls-verify"] = bool(insecure_skip_tls_verify)
            if insecure_skip_tls_verify:
                entry.pop("certificate-authority", None)
                entry.pop("certificate-authority-data", None)
        self._commit("cluster", name, entry)
        return self

    def set_server(self, url: str, cluster: str | None = None) -> Kubeconfig:
        """Change a cluster's server URL (default: the current context's cluster)."""
        return self.set_cluster(cluster if cluster is not None else self.current_cluster(), url)

    def set_credentials(
        self,
        name: str,
        *,
        client_certificate=None,
        client_key=None,
        embed: bool = False,
        client_certificate_data=None,
        client_key_data=None,
        token: str | None = None,
    ) -> Kubeconfig:
        """Add or change a user, like ``kubectl config set-credentials``.

        Only the arguments given change. When the entry ends up with both a certificate and a key
        that can be read, they are checked to belong together.

        Args:
            name: the user's name in this kubeconfig (any label; the API server reads the user
                name from the certificate's CN, not from here).
            client_certificate: path of the client certificate (PEM).
            client_key: path of its private key (PEM).
            embed: read the two files and embed them (``--embed-certs``).
            client_certificate_data: the certificate itself (PEM), embedded.
            client_key_data: the key itself (PEM), embedded.
            token: a bearer token (for completeness; this book uses certificates).

        Returns:
            self, for chaining.

        Raises:
            InputError: a file is missing, or data is not PEM of the right kind.
            KeyMismatchError: the key does not belong to the certificate.
        """
        entry = self._start_edit("user", name)
        if embed and client_certificate is None and client_key is None:
            raise InputError("embed=True needs client_certificate=PATH and/or client_key=PATH: the files to embed")
        for field, path, data, what in (
            ("client-certificate", client_certificate, client_certificate_data, "client certificate"),
            ("client-key", client_key, client_key_data, "client key"),
        ):
            if path is not None:
                content = read_kubeconfig_file(path, what)
                if embed:
                    entry[field + "-data"] = content
                    entry.pop(field, None)
                else:
                    entry[field] = os.path.abspath(path)
                    entry.pop(field + "-data", None)
            if data is not None:
                entry[field + "-data"] = pem_bytes(data, field.replace("-", "_") + "_data")
                entry.pop(field, None)
        if token is not None:
            entry["token"] = token
        self._check_user(entry, name)
        self._commit("user", name, entry)
        return self

    def set_context(
        self, name: str, cluster: str | None = None, user: str | None = None, *, namespace: str | None = None
    ) -> Kubeconfig:
        """Add or change a context, like ``kubectl config set-context``.

        As with kubectl, the cluster and user may be defined later; :meth:`write` checks that they
        exist by then.

        Args:
            name: the context's name (kubeadm's convention: ``USER@CLUSTER``).
            cluster: the cluster it uses.
            user: the user it uses.
            namespace: the default namespace.

        Returns:
            self, for chaining.
        """
        entry = self._start_edit("context", name)
        for field, value in (("cluster", cluster), ("user", user), ("namespace", namespace)):
            if value is not None:
                if not isinstance(value, str):
                    raise InputError(f"context {field} must be a string, not {type_name(value)}")
                entry[field] = value
        self._commit("context", name, entry)
        return self

    def use_context(self, name: str) -> Kubeconfig:
        """Make ``name`` the current context (``kubectl config use-context``).

        Raises:
            InputError: no such context (kubectl: ``no context exists with the name: "NAME"``).
        """
        if name not in self._entries["context"]:
            raise InputError(
                f'no context exists with the name: "{name}" (contexts: '
                f"{', '.join(sorted(self._entries['context'])) or 'none'})"
            )
        self.current_context = name
        return self

    # --------------------------------------------------------------------------- checking
    def _pem_file(self, path, what: str) -> bytes:
        data = read_kubeconfig_file(path, what)
        self._check_cert(data, f"{what} file {path}")
        return data

    @staticmethod
    def _check_cert(data: bytes, what: str) -> None:
        try:
            load_cert(data)
        except InputError as exc:
            raise InputError(f"{what}: {exc}") from None

    def _user_material(self, entry: dict, name: str):
        """(cert PEM, where) and (key PEM, where) of a user entry, None where absent."""
        out = []
        for field, what in (("client-certificate", "certificate"), ("client-key", "key")):
            if entry.get(field + "-data"):
                out.append((entry[field + "-data"], f'user "{name}" {field}-data'))
            elif entry.get(field):
                path = entry[field]
                if not os.path.isabs(path):
                    path = str(self._base_dir() / path)
                out.append((read_kubeconfig_file(path, f'user "{name}" client {what}'), f"file {path}"))
            else:
                out.append(None)
        return out

    def _check_user(self, entry: dict, name: str) -> None:
        cert, key = self._user_material(entry, name)
        if cert is not None and key is not None:
            check_pair(cert[0], key[0], cert[1], key[1])
        elif cert is not None:
            self._check_cert(cert[0], cert[1])
        elif key is not None:
            try:
                load_private_key(key[0])
            except InputError as exc:
                raise InputError(f"{key[1]}: {exc}") from None

    def validate(self) -> None:
        """Check what kubectl would trip over: dangling names, half credentials, mismatched keys.

        Raises:
            InputError: the current context or a name a context uses is not defined, a cluster
                used by a context has no server, or a user has a certificate without a key.
            KeyMismatchError: an embedded (or referenced) key does not belong to its certificate.
        """
        if self.current_context and self.current_context not in self._entries["context"]:
            raise InputError(f'current context "{self.current_context}" is not defined in this kubeconfig')
        for ctx_name, ctx in sorted(self._entries["context"].items()):
            for kind in ("cluster", "user"):
                if ctx.get(kind, "") not in self._entries[kind]:
                    raise InputError(self._missing(kind, ctx_name, ctx.get(kind, "")))
            if not self._entries["cluster"][ctx["cluster"]].get("server"):
                raise InputError(
                    f'cluster "{ctx["cluster"]}" has no server URL; set one with '
                    f'set_cluster("{ctx["cluster"]}", "https://HOST:PORT")'
                )
        for user_name, entry in sorted(self._entries["user"].items()):
            has_cert = bool(entry.get("client-certificate") or entry.get("client-certificate-data"))
            has_key = bool(entry.get("client-key") or entry.get("client-key-data"))
            if has_cert != has_key:
                raise InputError(
                    f'user "{user_name}" has a client {"certificate" if has_cert else "key"} but no '
                    f"{'key' if has_cert else 'certificate'}; TLS client authentication needs both"
                )
            self._check_user(entry, user_name)

    # ------------------------------------------------------------------------ serializing
    def __repr__(self):
        def names(kind):
            return ",".join(sorted(self._entries[kind])) or "-"

        return (
            f"<Kubeconfig current-context={self.current_context or '-'} clusters={names('cluster')} "
            f"users={names('user')} contexts={names('context')}>"
        )


__all__ = ["DATA_OMITTED", "REDACTED", "Kubeconfig"]
