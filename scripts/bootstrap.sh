#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the pinned dependencies, again only when
# requirements.lock or pyproject.toml changed. Called by `make run` and `make test`.
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

stamp=".venv/.installed-$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "Installing pinned dependencies into .venv (first time: several minutes)"
    .venv/bin/python -m pip install --quiet --upgrade "pip==24.0"
    .venv/bin/python -m pip install --quiet -r requirements.lock
    .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
    rm -f .venv/.installed-*
    touch "$stamp"
fi

# The browser tests drive Debian's Chromium (no browser download at run time), with a Chinese
# font so that Chinese pages render: installed here for `make test`, when missing, from the
# distribution's packages.
if [ "${1:-}" = "--with-browser" ] && ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing Chromium and a Chinese font for the browser tests (Debian packages)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }
    else
        echo "The browser tests need Chromium: sudo apt-get install chromium fonts-wqy-microhei" >&2
    fi
fi
