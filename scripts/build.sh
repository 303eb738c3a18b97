#!/usr/bin/env bash
# Configures and builds the Release tree (library, cnai, tests, benchmarks).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cmake -S "$CNAI_ROOT" -B "$CNAI_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
  -DCNAI_VENV_PYTHON="$CNAI_VENV/bin/python" "$@" >/dev/null
cmake --build "$CNAI_BUILD_DIR" -j "$CNAI_JOBS"
