#!/usr/bin/env bash
# Every way into cnai from a host's side, as a user meets it (ci_extra.sh runs
# this; needs scripts/build.sh's tree and the default model):
#   find_package  cnai installed to a prefix from build/, the consumer configured against it;
#                 the same prefix through pkg-config (cnai.pc) with a bare compiler line
#   FetchContent  cnai cloned from this checkout's commit at configure time
#   add_subdirectory  the checkout vendored as a subdirectory
#   Conan         `conan create` (no remote; Debian's libraries as platform requirements),
#                 whose test package (tests/consumer/conan) is built with the Conan toolchain
# Each consumer (tests/consumer/*) is a tiny application that loads the default
# model and answers a question; run_answer.cmake checks the answer. The vendored
# builds sit where ccache (CCACHE_BASEDIR = the checkout) shares objects with build/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
export CNAI_REQUIRE_MODEL="${CNAI_REQUIRE_MODEL:-1}"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
version="$(sed -n 's/^project(cnai VERSION \([0-9.]*\).*/\1/p' "$CNAI_ROOT/CMakeLists.txt")"
check() { cmake -DBINARY="$1" -DEXPECT_VERSION="$version" -P "$CNAI_ROOT/tests/consumer/run_answer.cmake"; }
only="${1:-all}"

if [[ "$only" == all || "$only" == find_package ]]; then
  prefix="$CNAI_ROOT/build-consumer/prefix"
  rm -rf "$prefix"
  cmake --install "$CNAI_BUILD_DIR" --prefix "$prefix" >/dev/null
  test -f "$prefix/include/cnai/cnai.hpp" && test -f "$prefix/include/cnai/version.hpp"
  test -f "$prefix/lib/cmake/cnai/cnaiConfigVersion.cmake" && test -x "$prefix/bin/cnai"
  b="$CNAI_ROOT/build-consumer/find_package"
  cmake -S "$CNAI_ROOT/tests/consumer/find_package" -B "$b" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" "${launcher[@]}" >/dev/null
  cmake --build "$b" -j "$CNAI_JOBS"
  check "$b/answer"
  # A version the install does not satisfy must fail to configure.
  if cmake -S "$CNAI_ROOT/tests/consumer/find_package" -B "$b-v9" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCNAI_REQUIRED_VERSION=9.0 >/dev/null 2>&1; then
    echo "find_package(cnai 9.0) succeeded against cnai $version" >&2
    exit 1
  fi
  rm -rf "$b-v9"
  echo "find_package consumer: OK"

  # pkg-config: the flags of cnai.pc alone compile and link the same program.
  PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --exists --print-errors "cnai = $version"
  $(command -v ccache || true) c++ -O2 -o "$b/answer-pkg-config" "$CNAI_ROOT/tests/consumer/common/answer.cpp" \
    $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs cnai)
  check "$b/answer-pkg-config"
  echo "pkg-config consumer: OK"
fi

if [[ "$only" == all || "$only" == fetch_content ]]; then
  b="$CNAI_ROOT/build-consumer-fetch"
  cmake -S "$CNAI_ROOT/tests/consumer/fetch_content" -B "$b" -DCMAKE_BUILD_TYPE=Release \
    -DCNAI_GIT_REPOSITORY="$CNAI_ROOT" -DCNAI_GIT_TAG="$(git -C "$CNAI_ROOT" rev-parse HEAD)" "${launcher[@]}" >/dev/null
  cmake --build "$b" -j "$CNAI_JOBS" --target answer
  check "$b/answer"
  echo "FetchContent consumer: OK"
fi

if [[ "$only" == all || "$only" == add_subdirectory ]]; then
  b="$CNAI_ROOT/build-consumer-subdir"
  cmake -S "$CNAI_ROOT/tests/consumer/add_subdirectory" -B "$b" -DCMAKE_BUILD_TYPE=Release \
    -DCNAI_SOURCE_DIR="$CNAI_ROOT" -DCNAI_BINARY_DIR="$CNAI_ROOT/build-consumer-subdir-cnai" "${launcher[@]}" >/dev/null
  cmake --build "$b" -j "$CNAI_JOBS" --target answer
  check "$b/answer"
  echo "add_subdirectory consumer: OK"
fi

if [[ "$only" == all || "$only" == conan ]]; then
  # A Conan home of its own under the checkout: no remote, and its build tree
  # laid out as build/ is (conanfile.py's layout), so ccache shares objects.
  export CONAN_HOME="$CNAI_ROOT/build-conan/home"
  conan="$CNAI_VENV/bin/conan"
  "$conan" remove 'cnai/*' --confirm >/dev/null 2>&1 || true
  "$conan" create "$CNAI_ROOT" -pr:a "$CNAI_ROOT/conan/profiles/debian12" \
    --test-folder "$CNAI_ROOT/tests/consumer/conan" --build='cnai/*' --no-remote
  echo "Conan package and consumer: OK"
fi
