#!/usr/bin/env bash
# Runs the whole test suite: C++ (doctest) and Python (pytest) through ctest.
# Needs scripts/setup.sh first (it installs, fetches the model and builds).
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$CNAI_ROOT/scripts/build.sh"
export CNAI_MODEL="${CNAI_MODEL:-$CNAI_DEFAULT_MODEL}"
cd "$CNAI_BUILD_DIR"
ctest --output-on-failure -j "$CNAI_JOBS" "$@"
