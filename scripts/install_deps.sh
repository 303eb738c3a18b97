#!/usr/bin/env bash
# Installs the Debian packages and the project virtualenv (PyPI packages).
set -euo pipefail
source "$(dirname "$0")/env.sh"

DEB_PACKAGES=(
  build-essential cmake pkg-config git ca-certificates unzip clang libclang-rt-14-dev
  libeigen3-dev libfmt-dev libboost1.81-dev libboost-json1.81-dev libssl-dev zlib1g-dev
  libpcre2-dev pybind11-dev doctest-dev libbenchmark-dev python3-venv openssl ccache
  libyaml-cpp-dev   # the router's YAML configs
  # the server's queues and stores (tests start their own redis-server / postgres)
  libsqlite3-dev sqlite3 libhiredis-dev redis-server libpq-dev postgresql
  g++-aarch64-linux-gnu   # ci_extra.sh: the portable kernels compile off x86
)
missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

PY="${PYTHON:-python3}"
if [[ ! -x "$CNAI_VENV/bin/python" ]]; then
  "$PY" -m venv "$CNAI_VENV"
fi
"$CNAI_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$CNAI_ROOT/scripts/requirements.txt"
