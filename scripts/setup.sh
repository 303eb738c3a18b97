#!/usr/bin/env bash
# One command from a fresh machine: install what is needed, fetch the default
# model, build, and run the main job on the default model.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$CNAI_ROOT/scripts/install_deps.sh"
"$CNAI_ROOT/scripts/fetch_model.sh"
"$CNAI_ROOT/scripts/fetch_gemma.sh"
"$CNAI_ROOT/scripts/build.sh"
if [[ "${CNAI_SKIP_DEMO:-0}" != 1 ]]; then
  "$CNAI_ROOT/scripts/demo.sh"
fi
