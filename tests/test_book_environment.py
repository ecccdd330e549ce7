"""The notebooks give the same results whatever the reader's environment holds.

A reader on a kubeadm node has ``~/.kube/config`` (a copy of ``admin.conf`` with embedded
``client-certificate-data``), perhaps a proxy and a CA bundle in the environment, and may open the
notebooks from Jupyter without activating the project's virtual environment. Each notebook's
first cell calls :func:`k8sauthlib.book.clean_env`. The notebook runs themselves (strict nbval)
start every kernel in such an environment (conftest.py, ``reader_environment``); these tests show
that the environment would change the book's commands without clean_env, run chapters with a
``PATH`` that lacks ``.venv/bin``, and against the lab's other Kubernetes versions.
"""

import os
import re
import stat
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from k8sauthlib import book

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
BINDIR = str(Path(sys.executable).parent)


def test_the_readers_environment_would_change_kubectl_and_curl(tmp_path, reader_env):
    """The negative of the notebook runs (conftest.py starts every notebook's kernel in the
    reader's environment): without clean_env, the book's kubectl and curl commands fail there."""
    home, env = reader_env
    cluster = book.cluster(tmp_path, port=0)
    try:
        cert = cluster.tree.ca().issue_client_cert("jane", ["dev"], key="ecdsa-p256", validity=book.SHORT_LIVED)
        cert.write("jane", tmp_path)
        flags = [
            f"--server={cluster.url}",
            f"--certificate-authority={cluster.tree.ca_crt}",
            f"--client-certificate={tmp_path / 'jane.pem'}",
            f"--client-key={tmp_path / 'jane-key.pem'}",
        ]
        env["KUBECACHEDIR"] = str(tmp_path / "cache")
        r = subprocess.run(["kubectl", *flags, "auth", "whoami"], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and r.stderr.startswith("Error in configuration"), r
        r = subprocess.run(
            ["curl", "-sS", "--cacert", str(cluster.tree.ca_crt), f"{cluster.url}/version"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode != 0, r  # through the closed proxy

        saved = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(env)
            book.clean_env(tmp_path)
            clean = dict(os.environ)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        assert clean["KUBECONFIG"] == os.devnull and clean["PATH"].split(os.pathsep)[0] == BINDIR
        assert not {"HTTPS_PROXY", "https_proxy", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"} & set(clean)
        r = subprocess.run(
            ["kubectl", *flags, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"],
            env=clean,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (r.returncode, r.stdout) == (0, "jane"), r
        r = subprocess.run(
            ["curl", "-sS", "--cacert", str(cluster.tree.ca_crt), f"{cluster.url}/version"],
            env=clean,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0 and '"major"' in r.stdout, r
    finally:
        cluster.stop()


def execute_without_venv(notebook: Path, tmp_path: Path, **extra_env) -> None:
    """Run every cell of ``notebook`` with the project's kernel (this interpreter) and a PATH
    without this interpreter's bin directory, as a Jupyter started by its full path would.
    Raises on the first cell that fails (no output comparison)."""
    env = dict(os.environ, **extra_env)
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() != Path(BINDIR).resolve()
    )
    env["K8SAUTH_WORKDIR"] = str(tmp_path / "work")
    env.pop("VIRTUAL_ENV", None)
    env.pop("K8SAUTH_MODE", None)
    script = (
        "import sys, nbformat, nbclient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "nbclient.NotebookClient(nb, kernel_name='python3', timeout=600,\n"
        "                        resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", script, str(notebook), str(BOOK)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert r.returncode == 0, f"{notebook.name}: " + (r.stderr[-6000:] or r.stdout[-2000:])


def test_a_chapter_runs_without_the_venv_on_path(tmp_path):
    """06 calls `!k8sauthlib ...` and `!kubectl ...`: clean_env puts the interpreter's bin first."""
    assert BINDIR in os.environ["PATH"].split(os.pathsep)  # conftest put it there; the child must not have it
    execute_without_venv(BOOK / "06_new_user.ipynb", tmp_path)


@pytest.mark.parametrize("version", ["1.28", "1.33"])
@pytest.mark.parametrize(
    "chapter", ["05_kubeadm_certs.ipynb", "06_new_user.ipynb", "07_wrapup.ipynb", "appendix_troubleshooting.ipynb"]
)
def test_kubernetes_chapters_run_against_other_lab_versions(tmp_path, version, chapter):
    """kubectl's dispatcher runs kubectl 1.<minor> for the lab's minor: the chapters' cells and hidden
    checks must hold for that kubectl and that server (executed, not output-compared). What they
    leave behind is what they would leave on a real node: no private key, and no certificate from
    the cluster's CA valid later than book.SHORT_LIVED from now (an expired one, as the troubleshooting
    appendix makes, is fine)."""
    execute_without_venv(BOOK / chapter, tmp_path, K8SAUTH_LAB_VERSION=version)
    work = tmp_path / "work" / chapter.removesuffix(".ipynb")
    minted = certificates_minted_by_the_cluster_ca(work)
    # 05 only reads the tree (its warning says it creates nothing); the others issue from its CA
    assert bool(minted) == (chapter != "05_kubeadm_certs.ipynb"), (chapter, minted)
    latest = datetime.now(timezone.utc) + book.SHORT_LIVED
    too_long = {name: end for name, end in minted.items() if end > latest}
    assert not too_long, too_long
    assert not [p.name for p in work.iterdir() if p.is_file() and b"PRIVATE KEY" in p.read_bytes()]


def certificates_minted_by_the_cluster_ca(work: Path) -> dict:
    """{file name: notAfter} of the certificates in ``work`` (not below) that the chapter issued
    from the cluster's CA: signed by etc-kubernetes/pki/ca.crt and not copies of the tree's own
    certificates (apiserver.crt, admin.conf's, super-admin.conf's, which kubeadm makes for a year)."""
    import base64

    import yaml
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    tree = work / "etc-kubernetes"
    ca = x509.load_pem_x509_certificate((tree / "pki" / "ca.crt").read_bytes())
    own = set()
    for path in tree.rglob("*"):
        if path.suffix == ".crt":
            own.add(x509.load_pem_x509_certificate(path.read_bytes()).serial_number)
        elif path.suffix == ".conf":
            for user in yaml.safe_load(path.read_text()).get("users") or []:
                data = user["user"].get("client-certificate-data")
                if data:
                    own.add(x509.load_pem_x509_certificate(base64.b64decode(data)).serial_number)
    minted = {}
    for path in sorted(work.glob("*.pem")):
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except ValueError:
            continue  # a CSR or a key's PEM
        if cert.issuer == ca.subject and cert.serial_number not in own and cert.serial_number != ca.serial_number:
            try:
                cert.verify_directly_issued_by(ca)
            except InvalidSignature:  # another CA of the same name (06's rootCA.pem made by cfssl)
                continue
            minted[path.name] = cert.not_valid_after_utc
    return minted


def _kubectl_dispatches_by_server_version() -> bool:
    """kubectl here is Google Cloud CLI's dispatcher, with kubectl.1.<minor> binaries beside it."""
    import shutil

    kubectl = shutil.which("kubectl")
    return bool(kubectl) and (Path(kubectl).resolve().parent / "kubectl.1.28").exists()


@pytest.mark.skipif(not _kubectl_dispatches_by_server_version(), reason="kubectl here is a single version")
@pytest.mark.parametrize("version", ["1.28", "1.33"])
def test_the_chapters_kubectl_is_the_labs_minor(tmp_path, monkeypatch, version):
    """What makes the runs above run an older and a newer kubectl: against the lab presenting
    ``version``, kubectl as the chapters call it (no kubeconfig but flags) is kubectl of that minor,
    and against the default lab (1.32) kubectl 1.32."""
    import json

    for want, env in ((version, version), ("1.32", None)):
        if env:
            monkeypatch.setenv("K8SAUTH_LAB_VERSION", env)
        else:
            monkeypatch.delenv("K8SAUTH_LAB_VERSION", raising=False)
        cluster = book.cluster(tmp_path / want, port=0)
        try:
            cert = cluster.tree.ca().issue_client_cert("jane", ["dev"], key="ecdsa-p256", validity=book.SHORT_LIVED)
            cert.write("jane", tmp_path / want)
            r = subprocess.run(
                ["kubectl", "--kubeconfig=/dev/null", f"--server={cluster.url}"]
                + [
                    f"--certificate-authority={cluster.tree.ca_crt}",
                    f"--client-certificate={tmp_path / want / 'jane.pem'}",
                ]
                + [f"--client-key={tmp_path / want / 'jane-key.pem'}", "version", "-o", "json"],
                env=dict(os.environ, KUBECACHEDIR=str(tmp_path / want / "cache")),
                capture_output=True,
                text=True,
                timeout=60,
            )
        finally:
            cluster.stop()
        assert r.returncode == 0, r
        got = json.loads(r.stdout)
        minors = {
            key: ".".join(got[key]["gitVersion"].lstrip("v").split(".")[:2])
            for key in ("clientVersion", "serverVersion")
        }
        assert minors == {"clientVersion": want, "serverVersion": want}, (minors, got)


def test_lab_version_is_read_and_checked(monkeypatch):
    monkeypatch.delenv("K8SAUTH_LAB_VERSION", raising=False)
    assert book.lab_version() is None
    monkeypatch.setenv("K8SAUTH_LAB_VERSION", " 1.28 ")
    assert book.lab_version() == "1.28"
    for bad in ("v1.28", "1.28.3", "latest", "2"):
        monkeypatch.setenv("K8SAUTH_LAB_VERSION", bad)
        with pytest.raises(ValueError, match="use major.minor, e.g. 1.28"):
            book.lab_version()


def test_chapter_05_goes_on_without_super_admin_conf(tmp_path):
    """A control-plane node that joined (or kubeadm 1.28) has no super-admin.conf: the lab tree is
    made without it (removed as soon as KubeadmTree.create_lab has written it, in the kernel) and
    chapter 05 must say so and go on; 06 and 07 never read it."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "from k8sauthlib import KubeadmTree\n"
        "_create_lab = KubeadmTree.create_lab.__func__\n"
        "def create_lab(cls, *args, **kwargs):\n"
        "    tree = _create_lab(cls, *args, **kwargs)\n"
        "    tree.super_admin_conf.unlink()\n"
        "    return tree\n"
        "KubeadmTree.create_lab = classmethod(create_lab)\n"
    )
    execute_without_venv(BOOK / "05_kubeadm_certs.ipynb", tmp_path, PYTHONPATH=str(site))
    assert not (tmp_path / "work" / "05_kubeadm_certs" / "etc-kubernetes" / "super-admin.conf").exists()
    assert not (tmp_path / "work" / "05_kubeadm_certs" / "k8s-client-key.pem").exists()  # removed by the last cell


#: What nginx >= 1.23.4 enables when ``ssl_protocols`` is not set (ngx_http_ssl_module: "The TLSv1.3
#: parameter is used by default since 1.23.4"): written into the http block of nginx 1.22's
#: configuration, it makes Debian 12's nginx negotiate as Ubuntu 24.04's and Debian 13's do.
NEWER_NGINX_PROTOCOLS = "    ssl_protocols TLSv1.2 TLSv1.3;   # nginx >= 1.23.4's default (test)\n"


def _newer_nginx_site(tmp_path: Path) -> Path:
    """A sitecustomize directory that gives every k8s.Nginx of the process the newer default."""
    site = tmp_path / "newer-nginx-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import k8sauthlib.tls.nginx as _nginx\n"
        f"_nginx.MAIN_CONF = _nginx.MAIN_CONF.replace('http {{\\n', 'http {{\\n' + {NEWER_NGINX_PROTOCOLS!r}, 1)\n"
        f"assert {NEWER_NGINX_PROTOCOLS!r} in _nginx.MAIN_CONF\n"
    )
    return site


def test_newer_nginx_default_negotiates_tls13_unless_the_client_pins_12(tmp_path, monkeypatch):
    """The simulation below means something: with nginx >= 1.23.4's default an unpinned handshake
    is TLS 1.3 (nginx 1.22's own default gives 1.2), and curl --tls-max 1.2, as chapter 04 uses
    it, gives TLS 1.2 with either."""
    import k8sauthlib as k8s
    import k8sauthlib.tls.nginx as nginx_module

    ca = k8s.CA.create("rootCA", key="ecdsa-p256")
    ca.issue_server_cert("localhost", "127.0.0.1", key="ecdsa-p256").write("server", tmp_path)
    ca.write("rootCA", tmp_path)
    seen = {}
    for label, main_conf in (
        ("1.22 default", nginx_module.MAIN_CONF),
        ("newer default", nginx_module.MAIN_CONF.replace("http {\n", "http {\n" + NEWER_NGINX_PROTOCOLS, 1)),
    ):
        monkeypatch.setattr(nginx_module, "MAIN_CONF", main_conf)
        with k8s.Nginx(
            tmp_path / label.replace(" ", "-"),
            server_cert=tmp_path / "server.pem",
            server_key=tmp_path / "server-key.pem",
        ) as web:
            pinned = subprocess.run(
                ["curl", "-sS", "-v", "--tls-max", "1.2", "--cacert", str(tmp_path / "rootCA.pem"), web.url],
                capture_output=True,
                text=True,
                timeout=60,
            )
            seen[label] = (web.handshake(), "SSL connection using TLSv1.2" in pinned.stderr)
    out = subprocess.run([nginx_module.find_nginx(), "-v"], capture_output=True, text=True).stderr
    version = tuple(int(x) for x in out.split("nginx/")[1].split()[0].split("."))
    assert seen["newer default"] == ("TLSv1.3", True), seen
    assert seen["1.22 default"] == ("TLSv1.3" if version >= (1, 23, 4) else "TLSv1.2", True), seen


def run_nbval(notebook: Path, workdir: Path, **extra_env) -> None:
    """Strict nbval of ``notebook`` (stored outputs compared) in a new pytest process, with its
    work directories under ``workdir`` (K8SAUTH_WORKDIR) and the kernel in the reader's
    environment (conftest.py), plus ``extra_env``."""
    env = dict(os.environ, K8SAUTH_WORKDIR=str(workdir), **extra_env)
    env.pop("K8SAUTH_MODE", None)
    r = subprocess.run(
        [sys.executable, "-m", "pytest", str(notebook), "-p", "no:cacheprovider", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert r.returncode == 0, f"{notebook.name}: " + r.stdout[-6000:] + r.stderr[-2000:]


@pytest.mark.parametrize("chapter", ["03_https_nginx.ipynb", "04_mtls.ipynb"])
def test_nginx_chapters_are_the_same_book_from_a_private_folder(tmp_path, chapter):
    """A clone under /root or a ``mktemp -d`` (a 0700 folder on the way): as root, nginx's workers
    (nobody) cannot enter it. The chapters that run nginx show the same outputs (strict nbval; 03
    prints nginx.conf), and no configuration they wrote has a ``user`` directive."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    run_nbval(BOOK / chapter, private / "work")
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    configs = list((private / "work").rglob("nginx.conf"))
    assert configs and not any(re.search(r"^\s*user\s", c.read_text(), re.M) for c in configs), configs


def test_chapter_04_is_the_same_book_with_a_newer_nginx(tmp_path):
    """Chapter 04 pins TLS 1.2 on the client side (curl --tls-max 1.2, openssl s_client -tls1_2), so
    its stored outputs hold (strict nbval, compared) when nginx negotiates TLS 1.3 by default, as
    nginx >= 1.23.4 (Ubuntu 24.04, Debian 13) does."""
    run_nbval(BOOK / "04_mtls.ipynb", tmp_path / "work", PYTHONPATH=str(_newer_nginx_site(tmp_path)))
    configs = list((tmp_path / "work" / "04_mtls").rglob("nginx.conf"))
    assert configs and all(NEWER_NGINX_PROTOCOLS in c.read_text() for c in configs), configs


@pytest.mark.parametrize("notebook", sorted(BOOK.glob("*.ipynb")), ids=lambda p: p.name)
def test_every_notebook_cleans_the_environment_in_its_first_code_cell(notebook):
    """What makes every cell work whether or not the project's environment is activated, and give
    the same results whatever the reader's environment holds (the runs above execute 05-07 so;
    strict nbval runs every notebook in the reader's environment): the first code cell, before any
    `!` command, makes the chapter's work directory and calls k8s.book.clean_env on it."""
    import json

    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    first = next("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    lines = [line.split("#", 1)[0].strip() for line in first.splitlines()]
    assert "import k8sauthlib as k8s" in lines, first
    workdir = next((i for i, line in enumerate(lines) if line.startswith("work = k8s.book.workdir(")), None)
    clean = next((i for i, line in enumerate(lines) if line == "k8s.book.clean_env(work)"), None)
    shell = next((i for i, line in enumerate(lines) if line.startswith("!")), len(lines))
    assert workdir is not None and clean is not None and workdir < clean < shell, first
