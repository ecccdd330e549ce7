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
"""

import os
import sys
from pathlib import Path

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
