#!/usr/bin/env bash
# Builds llama.cpp's tools (llama-server, llama-bench, llama-quantize,
# llama-perplexity, llama-embedding, llama-cli) into $CNAI_CACHE_DIR/llama.cpp/bin,
# for the side-by-side benchmarks and the reference checks that use them. The
# source comes from PyPI (the llama-cpp-python sdist vendors llama.cpp): PyPI
# is what this machine can reach. Not part of setup.sh: nothing in CI needs it.
set -euo pipefail
source "$(dirname "$0")/env.sh"

version="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
dest="$CNAI_CACHE_DIR/llama.cpp"
if [[ -x "$dest/bin/llama-server" && -f "$dest/VERSION" && "$(cat "$dest/VERSION")" == "$version" ]]; then
  echo "llama.cpp $version: $dest/bin"
  exit 0
fi
src="$CNAI_CACHE_DIR/src"
mkdir -p "$src"
if [[ ! -d "$src/llama_cpp_python-$version" ]]; then
  # The sdist file itself, found on PyPI's simple index with its SHA-256 checked
  # (pip download would build every build dependency from source first).
  "$CNAI_VENV/bin/python" - "$version" "$src" <<'PY'
import hashlib, re, sys, urllib.request
version, dest = sys.argv[1], sys.argv[2]
name = f"llama_cpp_python-{version}.tar.gz"
index = urllib.request.urlopen("https://pypi.org/simple/llama-cpp-python/", timeout=60).read().decode()
m = re.search(r'href="([^"#]*/' + re.escape(name) + r')#sha256=([0-9a-f]{64})"', index)
if not m:
    sys.exit(f"{name} is not on PyPI's simple index")
data = urllib.request.urlopen(m.group(1), timeout=600).read()
if hashlib.sha256(data).hexdigest() != m.group(2):
    sys.exit(f"{name}: SHA-256 mismatch")
open(f"{dest}/{name}", "wb").write(data)
PY
  tar -xzf "$src/llama_cpp_python-$version.tar.gz" -C "$src"
fi
tree="$src/llama_cpp_python-$version/vendor/llama.cpp"
cmake -S "$tree" -B "$tree/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DGGML_NATIVE=ON \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_SERVER=ON -DBUILD_SHARED_LIBS=OFF \
  $(command -v ccache >/dev/null && echo -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache) >/dev/null
tools=(llama-server llama-bench llama-quantize llama-perplexity llama-embedding llama-cli)
cmake --build "$tree/build" -j "$CNAI_JOBS" --target "${tools[@]}"
mkdir -p "$dest/bin"
for t in "${tools[@]}"; do cp "$tree/build/bin/$t" "$dest/bin/"; done
echo "$version" >"$dest/VERSION"
echo "llama.cpp $version: $dest/bin"
