"""Writing certificates and keys to disk: atomically, with the right modes, never over a key.

This module imports nothing heavy: ``k8sauthlib json -bare`` (the cfssljson step) runs on it
alone, without ``cryptography``.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

from .errors import FileExistsRefusedError, InputError

#: Modes cfssljson gives the three "bare" files (its umask aside): the key is owner-only.
CERT_MODE = 0o644
KEY_MODE = 0o600
CSR_MODE = 0o644


class BareFiles:
    """The files of one ``cfssljson -bare NAME`` step.

    (A plain class rather than a dataclass: ``dataclasses`` drags in ``inspect``, and this module
    sits on the start-up path of ``k8sauthlib json -bare``.)

    Attributes:
        cert: ``NAME.pem``.
        key: ``NAME-key.pem`` (mode 0600), or None when there was no key to write
            (a certificate signed from someone else's CSR).
        csr: ``NAME.csr``, or None when there was no CSR.
    """

    __slots__ = ("cert", "key", "csr")

    def __init__(self, cert: Path, key: Path | None, csr: Path | None):
        self.cert, self.key, self.csr = cert, key, csr

    def __iter__(self):
        return iter(p for p in (self.cert, self.key, self.csr) if p is not None)

    def __eq__(self, other):
        return isinstance(other, BareFiles) and tuple(self._all()) == tuple(other._all())

    def __hash__(self):
        return hash(tuple(self._all()))

    def _all(self):
        return (self.cert, self.key, self.csr)

    def __repr__(self):
        return f"BareFiles(cert={self.cert!r}, key={self.key!r}, csr={self.csr!r})"


def read_file(path: str | os.PathLike, what: str, *, permission_hint: str = "") -> bytes:
    """Read a file, turning the usual failures into one clear sentence.

    Args:
        path: the file.
        what: what the file should hold, for the message ("certificate", "kubeconfig").
        permission_hint: added in parentheses when the file cannot be read for lack of permission.

    Raises:
        InputError: the file does not exist, is a directory, or may not be read.
    """
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} file {path} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{what} path {path} is a directory, not a file") from None
    except PermissionError:
        hint = f" ({permission_hint})" if permission_hint else ""
        raise InputError(f"cannot read {what} file {path}: permission denied{hint}") from None


def check_pem_blocks(data: bytes, what: str) -> None:
    """Check that ``data`` holds at least one PEM block and that every block is whole (BEGIN and
    a matching END line) with a body that is strict base64, without importing ``cryptography``.

    Raises:
        InputError: naming ``what`` and the first problem.
    """
    import binascii

    blocks = re.findall(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", data, re.S)
    if not blocks:
        problem = "a BEGIN line without its END line" if b"-----BEGIN" in data else "no '-----BEGIN' line"
        raise InputError(f"{what}: not PEM data ({problem})")
    for label, body in blocks:
        text = b"".join(line.strip() for line in body.splitlines() if b":" not in line)
        try:
            binascii.a2b_base64(text, strict_mode=True)
        except (binascii.Error, ValueError):
            raise InputError(
                f"{what}: the PEM {label.decode()} block is damaged (its base64 body does not decode)"
            ) from None


def bare_paths(name: str | os.PathLike, directory: str | os.PathLike = ".") -> tuple[Path, Path, Path]:
    """Return the cfssljson file names for ``name``: ``NAME.pem``, ``NAME-key.pem``, ``NAME.csr``."""
    base = Path(directory) / Path(name)
    if not base.name or base.name in (".", ".."):
        raise InputError(f"{str(name)!r} is not a usable base name for certificate files; give a name like 'server'")
    return (
        base.with_name(base.name + ".pem"),
        base.with_name(base.name + "-key.pem"),
        base.with_name(base.name + ".csr"),
    )


@contextmanager
def _directory_lock(directory: Path):
    """Hold an exclusive ``flock`` on ``directory`` itself: writers of this module in the same
    directory take turns, so "does the key exist?" and "write it" are one step for each of them.

    Locking the directory (not a lock file beside the targets) leaves nothing behind.
    """
    import fcntl

    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"cannot write in {directory}: the directory does not exist") from None
    except NotADirectoryError:
        raise InputError(f"cannot write in {directory}: it is not a directory") from None
    except PermissionError:
        fd = None  # a directory we may write but not read: no lock, the link() check still holds
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)  # closing releases the lock


def _remove_stale_temps(path: Path) -> None:
    """Remove ``.NAME.<random>.tmp`` files a killed writer left beside ``path`` (call with the
    directory lock held: every live writer's temp file is then its own, not yet created)."""
    pattern = re.compile(r"\." + re.escape(path.name) + r"\.[0-9a-f]{12}\.tmp")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if pattern.fullmatch(name):
            try:
                os.unlink(path.parent / name)
            except OSError:
                pass


def _refuse_directory(path: Path) -> None:
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a directory; give the path of a file (in it, or beside it)")


def _no_directory(path: Path) -> InputError:
    if path.parent.exists():
        return InputError(f"cannot write {path}: {path.parent} is not a directory")
    return InputError(f"cannot write {path}: directory {path.parent} does not exist")


def _stage(path: Path, data: bytes, mode: int) -> Path:
    """Write ``data`` to a hidden temporary file beside ``path`` with ``mode`` from the start."""
    if not path.parent.is_dir():
        raise _no_directory(path)
    # O_EXCL with a random name is what tempfile.mkstemp does; tempfile itself costs start-up time.
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{os.urandom(6).hex()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"could not create a temporary file beside {path}")
    try:
        # chmod before the first byte: a key must never exist, even briefly, with wider permissions.
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _commit(tmp: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        try:
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)  # never leave the staged copy (maybe a key) behind
            raise
        return
    # link() fails if the target exists: "create, never replace" without a check-then-act race.
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsRefusedError(
            f"{path} already exists; refusing to overwrite it (remove it first, or pass overwrite=True)"
        ) from None
    finally:
        os.unlink(tmp)


def atomic_write(path: str | os.PathLike, data: bytes, *, mode: int = CERT_MODE, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` all at once: readers see the old file or the new one, never half.

    Args:
        path: target file.
        data: the bytes to write.
        mode: permission bits of the new file (use 0o600 for private keys).
        overwrite: when False, an existing file is an error instead of being replaced.

    Returns:
        The path written.

    Raises:
        FileExistsRefusedError: ``overwrite`` is False and the file exists.
        InputError: the directory does not exist.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise _no_directory(path)
    with _directory_lock(path.parent):
        _refuse_directory(path)
        if not overwrite and path.exists():
            raise FileExistsRefusedError(
                f"{path} already exists; refusing to overwrite it (remove it first, or pass overwrite=True)"
            )
        _remove_stale_temps(path)
        _commit(_stage(path, data, mode), path, overwrite)
    return path


def write_bare(
    name: str | os.PathLike,
    directory: str | os.PathLike = ".",
    *,
    cert_pem: bytes | None,
    key_pem: bytes | None = None,
    csr_pem: bytes | None = None,
    overwrite: bool = False,
    replace_public: bool = False,
) -> BareFiles:
    """Write the files ``cfssljson -bare NAME`` writes: ``NAME.pem``, ``NAME-key.pem``, ``NAME.csr``.

    All files are staged first and only then moved into place, so an error (a full disk, an
    existing key) leaves none of them behind. Unlike cfssljson, an existing file is not
    replaced unless ``overwrite`` is True: a silently replaced private key cannot be undone.

    Writers in the same directory take turns (an ``flock`` on the directory), so two runs at
    once never both pass the "key exists?" check and never mix their files: the second finds
    the first's key and writes nothing. The key is moved into place last, so a writer killed
    between two renames leaves at most a certificate without a key, which a rerun replaces;
    the hidden temp files of a killed writer are removed by the next write of the same names.

    Args:
        name: base name, optionally with a directory part.
        directory: where to write (default: the current directory).
        cert_pem: the certificate, PEM.
        key_pem: the private key, PEM, written with mode 0600; None to skip.
        csr_pem: the certificate signing request, PEM; None to skip.
        overwrite: replace existing files.
        replace_public: replace an existing certificate and CSR even when ``overwrite`` is
            False (what cfssljson does); the key stays protected.

    Returns:
        The paths written.
    """
    cert_path, key_path, csr_path = bare_paths(name, directory)
    plan = []  # (path, data, mode, may replace): public files first, the key last
    if cert_pem is not None:
        plan.append((cert_path, cert_pem, CERT_MODE, overwrite or replace_public))
    if csr_pem is not None:
        plan.append((csr_path, csr_pem, CSR_MODE, overwrite or replace_public))
    if key_pem is not None:
        plan.append((key_path, key_pem, KEY_MODE, overwrite))
    if not plan:
        raise InputError(f"nothing to write for {name}: no certificate, key or CSR given")
    if not cert_path.parent.is_dir():
        raise _no_directory(cert_path)
    with _directory_lock(cert_path.parent):
        for path, data, _, replace in plan:
            if not data:
                raise InputError(f"nothing to write to {path}: the PEM data is empty")
            _refuse_directory(path)
            if not replace and path.exists():
                raise FileExistsRefusedError(
                    f"{path} already exists; refusing to overwrite it (remove it first, or pass overwrite=True)"
                )
        staged: list[tuple[Path, Path, bool]] = []
        done: list[tuple[Path, bool]] = []
        try:
            for path, data, mode, replace in plan:
                _remove_stale_temps(path)
                staged.append((_stage(path, data, mode), path, replace))
            for tmp, path, replace in staged:
                existed = path.exists()
                _commit(tmp, path, replace)
                done.append((path, existed))
        except BaseException:
            for tmp, _, _ in staged:
                tmp.unlink(missing_ok=True)
            for path, existed in done:  # only files we created; never delete what was there before
                if not existed:
                    path.unlink(missing_ok=True)
            raise
    return BareFiles(
        cert=cert_path if cert_pem is not None else None,
        key=key_path if key_pem is not None else None,
        csr=csr_path if csr_pem is not None else None,
    )
