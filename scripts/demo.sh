#!/usr/bin/env bash
# Install mmsanalyze into .venv/ and run the main job on the demo capture shipped in captures/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
"$PY" -m pip install -q --disable-pip-version-check -e .
# one screen: associations, service mix, slowest requests, errors, report health, traffic
exec "$PY" -m mmsanalyze summary captures/demo.pcap "$@"
