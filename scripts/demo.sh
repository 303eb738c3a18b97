#!/usr/bin/env bash
# The main job on the default model: a chat answer, then the speed benchmark.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$CNAI_BUILD_DIR/cnai" version
# SmolLM2's template supplies its own system prompt when none is given, and with
# it this 135M model tends to answer in French (llama.cpp's too); so give one,
# and decode greedily: the first token is a near-tie that sampling often flips.
"$CNAI_BUILD_DIR/cnai" run --system "You are a helpful assistant." -p "What is the capital of France?" --temperature 0
"$CNAI_BUILD_DIR/cnai" bench -t 2 -p 128 -n 64
