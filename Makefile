# Two commands for readers and CI:
#   make book   build the book into _build/html, executing every notebook (fails on any warning)
#   make test   lint (ruff check, ruff format --check), then every test: unit tests, interop tests and the notebooks (nbval, strict)
# Each one first runs .ci/setup.sh, which installs what is missing (system packages as root,
# the .venv with the pinned Python packages) and is a no-op when everything is in place.

SHELL := /bin/bash
VENV  := $(CURDIR)/.venv
# Tools installed into the venv (jupyter-book, a fallback kubectl) come first; notebooks'
# `!kubectl` cells see the same PATH.
export PATH := $(VENV)/bin:$(PATH)

.PHONY: book test lint setup clean

book: setup
	$(VENV)/bin/jupyter-book build --all -W --keep-going .

test: lint
	$(VENV)/bin/python -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# helpers
setup:
	@.ci/setup.sh

clean:
	rm -rf _build .pytest_cache

# Open the notebooks in JupyterLab, served from the project's .venv (no activation needed: each
# notebook's first cell puts .venv/bin first on PATH for its `!` commands). Jupyter listens on
# 127.0.0.1 only; as root (a kubeadm VM) it refuses to start without --allow-root, which is
# added then. Extra options: make notebook JUPYTER_ARGS="--port 9999 --no-browser"
.PHONY: notebook
notebook: setup
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --ServerApp.root_dir=$(CURDIR)/book \
		$(if $(filter 0,$(shell id -u)),--allow-root) $(JUPYTER_ARGS)
