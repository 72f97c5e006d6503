#!/usr/bin/env bash
# Set up (first time) and start the console on the embedded demo registry:
#   http://127.0.0.1:8050   (PORT=... to change; pass --debug for Flask's dev server)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh requirements.txt
exec .venv/bin/python app.py "$@"
