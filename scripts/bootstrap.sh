#!/usr/bin/env bash
# Create .venv with Python 3.10 and install lava-pinn with the pinned Lava stack.
# Fast on re-runs: the install is skipped while pyproject.toml and this script are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${LAVA_PINN_VENV:-.venv}
STAMP="$VENV/.lava-pinn-stamp"
want=$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)

is_py310() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; }

find_python() {
  local cand
  # 1. python3.10 on PATH (pyenv's shim resolves it through this repo's .python-version)
  if cand=$(command -v python3.10 2>/dev/null) && is_py310 "$cand"; then echo "$cand"; return 0; fi
  # 2. pyenv itself, even when its shims are not on PATH
  local root=""
  if command -v pyenv >/dev/null 2>&1; then root=$(pyenv root); elif [ -d "$HOME/.pyenv" ]; then root="$HOME/.pyenv"; fi
  if [ -n "$root" ]; then
    for cand in $(ls -d "$root"/versions/3.10.*/bin/python 2>/dev/null | sort -V -r); do
      if is_py310 "$cand"; then echo "$cand"; return 0; fi
    done
  fi
  # 3. common system locations
  for cand in /usr/bin/python3.10 /usr/local/bin/python3.10 /opt/homebrew/bin/python3.10; do
    if [ -x "$cand" ] && is_py310 "$cand"; then echo "$cand"; return 0; fi
  done
  return 1
}

if [ "${1:-}" = "--print-python" ]; then
  find_python || { echo "bootstrap: Python 3.10 not found" >&2; exit 1; }
  exit 0
fi

if [ -x "$VENV/bin/python" ] && ! is_py310 "$VENV/bin/python"; then
  echo "bootstrap: $VENV is not Python 3.10; recreating it" >&2
  rm -rf "$VENV"
fi

if [ ! -x "$VENV/bin/python" ]; then
  if ! PY=$(find_python); then
    cat >&2 <<'MSG'
bootstrap: Python 3.10 not found.
Lava (lava-nc 0.10.0, lava-dl 0.6.0) installs only on Python 3.10. Install it, for example:
  pyenv install 3.10        (then re-run; this repo's .python-version selects it)
  sudo apt-get install python3.10 python3.10-venv
  brew install python@3.10
MSG
    exit 1
  fi
  echo "bootstrap: creating $VENV with $PY" >&2
  "$PY" -m venv "$VENV"
fi

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi

echo "bootstrap: installing lava-pinn with the Lava stack into $VENV (first run takes a few minutes)" >&2
"$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[lava,dev]"
echo "$want" > "$STAMP"
echo "bootstrap: done" >&2
