#!/usr/bin/env bash
# The main job on the default model: a chat answer, then the speed benchmark.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$CNAI_BUILD_DIR/cnai" version
"$CNAI_BUILD_DIR/cnai" run -p "What is the capital of France?"
"$CNAI_BUILD_DIR/cnai" bench -t 2 -p 128 -n 64
