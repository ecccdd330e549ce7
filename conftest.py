"""Root pytest configuration: every notebook in book/ is a test (nbval, strict).

`pytest` (or `make test`) runs tests/ and the notebooks, `pytest tests` runs no notebooks and
`pytest book` runs only the notebooks. The options live here rather than in pyproject's addopts
so that the sanitize file is found by absolute path whatever the current directory is.

Defaults applied when the command line does not say otherwise:

* ``--nbval`` (strict: stored outputs are compared), unless ``--nbval-lax`` is given;
* ``--nbval-sanitize-with book/sanitize.cfg``;
* ``--nbval-current-env``: run the notebooks with this interpreter (the project's .venv), like
  ``make book`` does, unless ``--nbval-kernel-name`` is given.

The interpreter's bin directory (.venv/bin) is put first on PATH, as the Makefile does, so
``!k8sauthlib ...`` cells and tests that run the console script find it even when pytest is
started as ``.venv/bin/python -m pytest`` without activating the venv.

Every notebook's kernel starts in the environment of a reader on a kubeadm node (see
:func:`reader_environment`): a ``~/.kube/config`` holding embedded admin credentials, a proxy, a
CA bundle and a login shell IPython cannot run. Each notebook's first cell calls
``k8sauthlib.book.clean_env``, so strict nbval then proves that no output depends on any of it.
"""

import base64
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
SANITIZE = ROOT / "book" / "sanitize.cfg"

# Directories whose notebooks are never tests: build output, the notebooks' scratch files,
# Jupyter's autosaves.
_NEVER_COLLECT = {"_build", "work", ".ipynb_checkpoints", "_ext"}


def pytest_configure(config):
    bindir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bindir not in path.split(os.pathsep):
        os.environ["PATH"] = bindir + (os.pathsep + path if path else "")

    option = config.option
    if not getattr(option, "nbval_lax", False):
        option.nbval = True
    if not getattr(option, "nbval_sanitize_with", None):
        option.nbval_sanitize_with = str(SANITIZE)
    if not getattr(option, "nbval_kernel_name", None):
        option.nbval_current_env = True


def pytest_ignore_collect(collection_path, config):
    path = Path(collection_path)
    try:
        relative = path.resolve().relative_to(ROOT)
    except ValueError:
        return None
    if relative.parts[:1] == ("book",) and _NEVER_COLLECT.intersection(relative.parts[1:]):
        return True
    return None


# ------------------------------------------------------------------ the reader's environment
#: A proxy nothing listens on: whatever uses it fails.
READER_PROXY = "http://127.0.0.1:9"


def reader_environment(base: Path) -> tuple[Path, dict]:
    """The environment of a reader on a kubeadm node, under ``base``: a HOME whose
    ``~/.kube/config`` holds embedded admin credentials for ``https://127.0.0.1:6443`` (the lab's
    preferred port), proxy variables pointing at a closed port, a CA bundle of a foreign CA, and a
    ``SHELL`` that does not exist. Returns (home, a copy of os.environ changed so)."""
    import yaml

    import k8sauthlib as k8s

    home = base / "home"
    (home / ".kube").mkdir(parents=True)
    ca = k8s.CA.create("reader-cluster-ca", key="ecdsa-p256")
    admin = ca.issue_client_cert("kubernetes-admin", ["kubeadm:cluster-admins"], key="ecdsa-p256")

    def b64(data):
        return base64.b64encode(data).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "kubernetes-admin@kubernetes",
        "clusters": [
            {
                "name": "kubernetes",
                "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority-data": b64(ca.cert_pem)},
            }
        ],
        "users": [
            {
                "name": "kubernetes-admin",
                "user": {"client-certificate-data": b64(admin.cert_pem), "client-key-data": b64(admin.key_pem)},
            }
        ],
        "contexts": [
            {"name": "kubernetes-admin@kubernetes", "context": {"cluster": "kubernetes", "user": "kubernetes-admin"}}
        ],
    }
    k8s.atomic_write(home / ".kube" / "config", yaml.safe_dump(config).encode(), mode=0o600)
    bundle = base / "reader-bundle.pem"
    bundle.write_bytes(k8s.CA.create("reader-bundle-ca", key="ecdsa-p256").cert_pem)
    proxy = READER_PROXY
    env = dict(
        os.environ,
        HOME=str(home),
        HTTPS_PROXY=proxy,
        https_proxy=proxy,
        HTTP_PROXY=proxy,
        http_proxy=proxy,
        ALL_PROXY=proxy,
        all_proxy=proxy,
        NO_PROXY="",
        no_proxy="",
        CURL_CA_BUNDLE=str(bundle),
        SSL_CERT_FILE=str(bundle),
        REQUESTS_CA_BUNDLE=str(bundle),
        # a login shell IPython cannot find: '!' works only because clean_env pins /bin/sh
        SHELL="/nonexistent/fish",
    )
    env.pop("KUBECONFIG", None)  # kubectl falls back to ~/.kube/config
    env.pop("KUBECACHEDIR", None)
    return home, env


@pytest.fixture
def reader_env(tmp_path):
    """(home, env) of :func:`reader_environment` under the test's tmp_path."""
    return reader_environment(tmp_path)


_reader = {}  # the session's reader environment: {"dir": Path, "env": dict}, made on first use


def _session_reader_env() -> dict:
    if not _reader:
        _reader["dir"] = Path(tempfile.mkdtemp(prefix="k8sauth-reader-"))
        _reader["env"] = reader_environment(_reader["dir"])[1]
    return _reader["env"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    """Start each notebook's kernel (nbval does it in the setup of the notebook's first cell) in
    the reader's environment; restore this process's environment as soon as it runs. Then check,
    in /proc, that the kernel really has the reader's HOME."""
    from nbval.plugin import IPyNbCell

    notebook = item.parent if isinstance(item, IPyNbCell) else None
    if notebook is None or notebook.kernel is not None:
        yield
        return
    saved, reader = dict(os.environ), _session_reader_env()
    os.environ.clear()
    os.environ.update(reader)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
    kernel = notebook.kernel
    pid = getattr(getattr(getattr(kernel, "km", None), "provisioner", None), "pid", None)
    environ = Path(f"/proc/{pid}/environ")
    if pid and environ.exists():
        home = f"HOME={reader['HOME']}".encode()
        assert home in environ.read_bytes().split(b"\0"), f"{notebook.name}: the kernel did not get the reader's HOME"


def pytest_sessionfinish(session, exitstatus):
    if _reader:
        shutil.rmtree(_reader["dir"], ignore_errors=True)
