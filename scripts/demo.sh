#!/usr/bin/env bash
# Install mmsanalyze and run the main job on the demo capture shipped in captures/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
$PY -m pip install -q --disable-pip-version-check -e .
exec mmsanalyze pdus captures/demo.pcap "$@"
