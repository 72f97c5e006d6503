#!/usr/bin/env bash
# Set up (first time) and run every check: ruff format, ruff lint, unit, API and browser tests.
# Browser tests need Debian's chromium and chromium-driver (see CONTRIBUTING.md / .ci/run).
# Extra arguments go to pytest, e.g. scripts/test.sh -k registry
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh requirements-dev.txt
.venv/bin/ruff format --check .
.venv/bin/ruff check .
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: treating that as a failure" >&2
  exit 1
fi
exit "$status"
