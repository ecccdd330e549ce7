"""No file holding a key is ever created with a wider mode than 0600, even for an instant.

A kubeadm node is shared: a copy of ``ca.key`` or ``admin.conf`` that is ``0644`` between ``>`` and
``chmod 600`` can be opened by another user in that window and read afterwards. The library writes
keys with :func:`k8sauthlib.atomic_write` (``O_EXCL`` at ``0600``, ``fchmod`` before the first
byte); the notebooks' shell lines create key files inside ``(umask 077; ...)``. These tests read
every notebook's code and the library's source and refuse the ways a key gets a wide mode: the
shell's ``>`` without ``umask 077``, ``shutil.copy`` (it creates the copy with the umask's mode and
chmods afterwards), a ``chmod 600`` after the fact, and ``open``/``write_text``/``write_bytes`` of a
key-holding path. Each rule is shown to catch the pattern it is for.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
LIBRARY = sorted((ROOT / "k8sauthlib").rglob("*.py"))

#: A file name that holds a private key: keys, kubeconfigs (admin.conf holds client-key-data).
KEYISH = re.compile(r"key|kubeconfig|kube-config|\.conf\b", re.IGNORECASE)

#: The shell's output redirection ``> FILE`` / ``>> FILE`` (not ``2>``, ``&>`` to /dev/null or ``>&2``).
REDIRECT = re.compile(r"(?<![0-9&>])>>?\s*([^\s;|&)>]+)")


def shell_problems(line: str) -> list[str]:
    """What is wrong with one ``!`` line of a notebook."""
    problems = []
    in_umask = re.match(r"\s*!\s*\(\s*umask 077\s*;", line) is not None
    for target in REDIRECT.findall(line):
        if target != "/dev/null" and KEYISH.search(target) and not in_umask:
            problems.append(
                f"'> {target}' creates a key-holding file with the umask's mode: run it in (umask 077; ...)"
            )
    if re.search(r"\bchmod\s+0?600\b", line):
        problems.append("'chmod 600' after the file exists is too late: create it in (umask 077; ...)")
    if re.search(r"(^|[;&|(!]\s*)(sudo\s+(-n\s+)?)?(cp|install)\s", line) and KEYISH.search(line) and not in_umask:
        problems.append("cp/install of a key-holding file: run it in (umask 077; ...)")
    return problems


def python_problems(line: str) -> list[str]:
    """What is wrong with one line of Python (a notebook cell's or the library's)."""
    code = line.split("#", 1)[0]
    problems = []
    if re.search(r"\bshutil\.(copy|copy2|copyfile)\(", code):
        problems.append(
            "shutil.copy creates the copy with the umask's mode and chmods it afterwards: "
            "write it with k8s.atomic_write(dst, data, mode=...)"
        )
    if re.search(r"\.chmod\(\s*0o600\s*\)|os\.chmod\([^)]*0o600\s*\)", code):
        problems.append("chmod(0o600) after the file exists is too late: atomic_write(..., mode=0o600)")
    for target in re.findall(r"([^\s(=,]*)\)?\.write_(?:text|bytes)\(", code):
        if KEYISH.search(target):
            problems.append(f"{target}.write_*() creates a key-holding file with the umask's mode: atomic_write")
    for args in re.findall(r"\bopen\(([^)]*)\)", code):
        if re.search(r"""['"][wax]b?\+?['"]""", args) and KEYISH.search(args.split(",")[0]):
            problems.append(f"open({args}) creates a key-holding file with the umask's mode: atomic_write")
    return problems


def notebook_code(notebook: Path):
    """(cell index, line) of every code line of ``notebook``."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            for line in "".join(cell["source"]).splitlines():
                yield index, line


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.name for n in NOTEBOOKS])
def test_notebooks_create_key_files_0600_from_the_first_byte(notebook):
    found = []
    for index, line in notebook_code(notebook):
        problems = shell_problems(line) if line.lstrip().startswith("!") else python_problems(line)
        found += [f"cell {index}: {line.strip()}\n    {p}" for p in problems]
    assert not found, f"{notebook.name}:\n" + "\n".join(found)


#: Library lines that copy or write a file that is not key material (checked by hand).
LIBRARY_ALLOWED = {
    # an RBAC manifest the reader wrote, into the lab's RBAC directory
    ("k8sauthlib/book/__init__.py", "shutil.copyfile(manifest, target)"),
}


def test_library_creates_key_files_0600_from_the_first_byte():
    found = []
    for module in LIBRARY:
        relative = module.relative_to(ROOT).as_posix()
        for number, line in enumerate(module.read_text(encoding="utf-8").splitlines(), 1):
            if (relative, line.strip()) in LIBRARY_ALLOWED:
                continue
            found += [f"{relative}:{number}: {line.strip()}\n    {p}" for p in python_problems(line)]
    assert not found, "\n".join(found)
    # every write of a key's PEM names the key mode (or goes through write_bare, which does)
    for module in LIBRARY:
        for number, line in enumerate(module.read_text(encoding="utf-8").splitlines(), 1):
            if "atomic_write(" in line and "key_pem" in line:
                assert "KEY_MODE" in line, f"{module.relative_to(ROOT)}:{number}: {line.strip()}"


@pytest.mark.parametrize(
    "line",
    [
        "!cat admin.conf > kubeconfig && chmod 600 kubeconfig",  # the example
        "!{SUDO} cat {PKI}/ca.key > k8s-rootCA-key.pem",
        "!grep client-key-data admin.conf | awk '{print $2}' | base64 -d > k8s-client-key.pem",
        "!sudo cp /etc/kubernetes/admin.conf node-kube-config",
        "!umask 077; cat {PKI}/ca.key >> ca-key.pem",  # umask outside a subshell: only this line's shell
    ],
)
def test_shell_rules_catch_a_key_made_with_the_umasks_mode(line):
    assert shell_problems(line), line


@pytest.mark.parametrize(
    "line",
    [
        "!(umask 077; {SUDO} cat {PKI}/ca.key > k8s-rootCA-key.pem)",
        "!(umask 077; {SUDO} cat {tree.admin_conf} > kubeconfig)",
        "!{SUDO} cat {PKI}/ca.crt > k8s-rootCA.pem",
        "!cfssl gencert -initca rootCA-csr.json 2>/dev/null | cfssljson -bare rootCA",
        "!openssl s_client -connect 127.0.0.1:8443 </dev/null 2>/dev/null | grep -A1 'CA names'",
        "!k8sauthlib certinfo -cert x.pem 2>&1 >/dev/null",
    ],
)
def test_shell_rules_pass_what_the_book_does(line):
    assert not shell_problems(line), (line, shell_problems(line))


@pytest.mark.parametrize(
    "line",
    [
        'shutil.copy(src / "client-key.pem", d / "k8s-new-client-key.pem")',
        '(d / "kubeconfig").chmod(0o600)',
        '(work / "jane-key.pem").write_bytes(cert.key_pem)',
        'open("admin.conf", "w").write(text)',
        "kubeconfig.write_text(yaml.safe_dump(config))",
    ],
)
def test_python_rules_catch_a_key_made_with_the_umasks_mode(line):
    assert python_problems(line), line


@pytest.mark.parametrize(
    "line",
    [
        "k8s.atomic_write(dst, Path(src).read_bytes(), mode=stat.S_IMODE(os.stat(src).st_mode))",
        '(work / "k8s-new-client-csr.json").write_text(json.dumps(csr_json, indent=2) + "\\n")',
        'open("forged.pem", "wb").write(forged.public_bytes(serialization.Encoding.PEM))',
        'system_bundle = open("/etc/ssl/certs/ca-certificates.crt").read()',
        'key = open("client-key.pem").read()',
    ],
)
def test_python_rules_pass_what_the_book_does(line):
    assert not python_problems(line), (line, python_problems(line))
