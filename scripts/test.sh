#!/usr/bin/env bash
# Install everything the tests need (tshark, tcpdump, iproute2, nftables, tcpreplay, tmux via apt when
# missing; the package with its test extras into .venv/ via pip) and run the whole suite.
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v tshark  >/dev/null 2>&1 || need_apt+=(tshark)
command -v tcpdump >/dev/null 2>&1 || need_apt+=(tcpdump)
command -v ip      >/dev/null 2>&1 || need_apt+=(iproute2)
command -v nft     >/dev/null 2>&1 || need_apt+=(nftables)
command -v tcpreplay >/dev/null 2>&1 || need_apt+=(tcpreplay)   # live-capture load tests
command -v tmux    >/dev/null 2>&1 || need_apt+=(tmux)          # the monitor dashboard in a terminal
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing ${need_apt[*]} with apt-get" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

. scripts/_venv.sh
"$PY" -m pip install -q --disable-pip-version-check -e ".[test]"
exec "$PY" -m pytest -q -p no:cacheprovider "$@"
