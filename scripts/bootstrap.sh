#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the pinned dependencies, again only when
# requirements*.lock or pyproject.toml changed. Called by `make run` and `make test`; with
# --with-browser and --with-nginx it also installs the Debian packages those need.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python310() {
    local pyenv_root candidate
    pyenv_root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
    for candidate in "${PYTHON310:-}" python3.10 "$pyenv_root"/versions/3.10*/bin/python3.10 \
                     /usr/local/bin/python3.10 /usr/bin/python3.10; do
        [ -n "$candidate" ] || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if [ ! -x .venv/bin/python ]; then
    if ! python=$(find_python310); then
        cat >&2 <<'MSG'
Python 3.10 is needed (Rasa 3.6 runs on Python 3.8-3.10) and none was found.
Install it, for example:
  pyenv install 3.10        (https://github.com/pyenv/pyenv)
  apt-get install python3.10 python3.10-venv
or point to one with PYTHON310=/path/to/python3.10, then run this command again.
MSG
        exit 1
    fi
    echo "Creating .venv with $python"
    "$python" -m venv .venv
fi

stamp=".venv/.installed-$(cat requirements.lock requirements-encoder.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "Installing pinned dependencies into .venv (first time: several minutes)"
    .venv/bin/python -m pip install --quiet --upgrade "pip==24.0"
    .venv/bin/python -m pip install --quiet -r requirements.lock
    .venv/bin/python -m pip install --quiet --no-deps --require-hashes -r requirements-encoder.lock
    .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
    rm -f .venv/.installed-*
    touch "$stamp"
fi

# Debian packages that some parts need, installed when missing from the distribution's
# packages (as root with apt-get; otherwise the command to run is printed).
#   $1 what needs them, $2 the program that shows they are there, then the packages
install_debian_packages() {
    local purpose=$1 program=$2
    shift 2
    # nginx is in /usr/sbin, which is not on every user's PATH.
    PATH="$PATH:/usr/sbin:/usr/local/sbin" command -v "$program" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing $* for $purpose (Debian packages)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
    else
        echo "$program is needed by $purpose: sudo apt-get install $*" >&2
    fi
}

for option in "$@"; do
    case "$option" in
        # The browser tests drive Debian's Chromium (no browser download at run time), with a
        # Chinese font so that Chinese pages render.
        --with-browser) install_debian_packages "the browser tests" chromium chromium fonts-wqy-microhei ;;
        # The production profile's load balancer, and the scale-out test's.
        --with-nginx) install_debian_packages "the production profile and its test" nginx nginx ;;
        *) echo "Unknown option $option (known: --with-browser, --with-nginx)" >&2; exit 2 ;;
    esac
done
