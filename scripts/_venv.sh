# Sourced by demo.sh and test.sh: make (once) and use the project's own virtual
# environment in .venv/, so nothing is installed into the system Python (Debian 12's
# system pip is "externally managed", PEP 668, and refuses to install).
# Sets $PY to the venv's interpreter. Override the base interpreter with PYTHON=...
VENV_DIR=${MMSANALYZE_VENV:-.venv}
BASE_PY=${PYTHON:-python3}
if [ ! -x "$VENV_DIR/bin/python" ]; then
  if ! "$BASE_PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    # stock Debian ships venv/ensurepip in a separate package
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing python3-venv with apt-get" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
  fi
  "$BASE_PY" -m venv "$VENV_DIR"
fi
PY="$VENV_DIR/bin/python"
