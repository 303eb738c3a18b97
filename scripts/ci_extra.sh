#!/usr/bin/env bash
# CI extras: the consumer projects (scripts/ci_consumers.sh), a host project
# that vendors cnai for the cloud clients only, the
# portable kernels compiled for aarch64, the CUDA build (compile and link only;
# no GPU here) and a bounded fuzzing run of every libFuzzer target.
set -euo pipefail
source "$(dirname "$0")/env.sh"

# The cloud-only host: local runtime off, and pkg-config pointed at an empty
# directory so PCRE2 cannot be found; it must configure, build and run without it.
consumer="$CNAI_ROOT/build-consumer-cloud"
PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH="" cmake -S "$CNAI_ROOT/tests/consumer/cloud_only" -B "$consumer" \
  -DCMAKE_BUILD_TYPE=Release -DCNAI_SOURCE_DIR="$CNAI_ROOT" -DCNAI_WITH_LOCAL=OFF \
  $(command -v ccache >/dev/null && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache) >/dev/null
cmake --build "$consumer" -j "$CNAI_JOBS" --target cloud_consumer
"$consumer/cloud_consumer"

# Every way into cnai from a host (find_package, pkg-config, FetchContent,
# add_subdirectory): tests/consumer/* built and run on the default model.
"$CNAI_ROOT/scripts/ci_consumers.sh"
# The README's sections for each way of use, run as written: the routes
# verified so far (the others join as they pass here).
"$CNAI_VENV/bin/python" "$CNAI_ROOT/tests/readme/run_readme_routes.py" find_package

# Under CI (CI set, or CNAI_REQUIRE_MODEL=1 as .ci/run sets) nothing may be
# skipped quietly: a missing nvcc or aarch64 compiler fails the run.
under_ci=0
[[ -n "${CI:-}" || "${CNAI_REQUIRE_MODEL:-}" == 1 ]] && under_ci=1

# Off x86 only the portable kernels exist: the code below the text layer
# (core, tensor, ops, gguf, model; no third-party headers) must compile for
# aarch64 without the *_avx2/*_avx512 files.
if command -v aarch64-linux-gnu-g++ >/dev/null 2>&1; then
  ls "$CNAI_ROOT"/src/{core,tensor,ops,gguf,model,model/arch}/*.cpp | grep -v -E '_avx(2|512)\.cpp$' |
    xargs -P "$CNAI_JOBS" -I{} aarch64-linux-gnu-g++ -std=c++20 -fsyntax-only -Wall -Wextra -Werror \
      -I"$CNAI_ROOT/include" -I"$CNAI_ROOT/src" -DCNAI_X86_KERNELS=0 {}
  echo "aarch64 compile check (portable kernels): OK"
elif ((under_ci)); then
  echo "aarch64 compile check: FAILED: aarch64-linux-gnu-g++ is required under CI" >&2
  exit 1
fi

if command -v nvcc >/dev/null 2>&1 || [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH="/usr/local/cuda/bin:$PATH"
  cmake -S "$CNAI_ROOT" -B "$CNAI_ROOT/build-cuda" -DCMAKE_BUILD_TYPE=Release -DCNAI_WITH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="${CNAI_CUDA_ARCHS:-80}" \
    -DCNAI_BUILD_TESTS=OFF -DCNAI_BUILD_BENCHMARKS=OFF -DCNAI_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$CNAI_ROOT/build-cuda" -j "$CNAI_JOBS"
  echo "CUDA build: OK"
else
  echo "CUDA build: nvcc not found (install the CUDA toolkit)" >&2
  if ((under_ci)); then
    echo "CUDA build: FAILED: nvcc is required under CI" >&2
    exit 1
  fi
fi

if ls "$CNAI_ROOT"/fuzz/fuzz_*.cpp >/dev/null 2>&1; then
  CC=clang CXX=clang++ cmake -S "$CNAI_ROOT" -B "$CNAI_ROOT/build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCNAI_BUILD_FUZZERS=ON -DCNAI_BUILD_EXAMPLES=OFF -DCNAI_BUILD_TESTS=OFF -DCNAI_BUILD_BENCHMARKS=OFF -DCNAI_BUILD_TOOLS=OFF >/dev/null
  cmake --build "$CNAI_ROOT/build-fuzz" -j "$CNAI_JOBS"
  # Each run's whole output goes to build-fuzz/logs/NAME.log, its tail to the
  # CI log, and any crash/leak/timeout input to build-fuzz/artifacts/; one
  # failing fuzzer fails the script after all have run.
  logs="$CNAI_ROOT/build-fuzz/logs" artifacts="$CNAI_ROOT/build-fuzz/artifacts"
  mkdir -p "$logs" "$artifacts"
  failed=()
  for f in "$CNAI_ROOT"/fuzz/fuzz_*.cpp; do
    name="$(basename "$f" .cpp)"
    corpus="$CNAI_ROOT/build-fuzz/corpus-$name"
    mkdir -p "$corpus"
    seeds="$CNAI_ROOT/fuzz/seeds/$name"
    echo "=== fuzzing $name for ${CNAI_FUZZ_SECONDS:-30}s (log: $logs/$name.log)"
    rc=0
    "$CNAI_ROOT/build-fuzz/fuzz/$name" -max_total_time="${CNAI_FUZZ_SECONDS:-30}" -rss_limit_mb=2048 \
      -timeout=10 -artifact_prefix="$artifacts/$name-" "$corpus" $( [[ -d "$seeds" ]] && echo "$seeds" ) \
      >"$logs/$name.log" 2>&1 || rc=$?
    tail -n 25 "$logs/$name.log"
    if ((rc != 0)); then
      failed+=("$name")
      echo "=== $name FAILED (exit $rc); inputs kept:"
      ls -l "$artifacts/$name-"* 2>/dev/null || echo "(no artifact written)"
    fi
  done
  if ((${#failed[@]})); then
    echo "fuzzers failed: ${failed[*]}" >&2
    exit 1
  fi
fi
