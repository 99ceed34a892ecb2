#!/usr/bin/env bash
# Installs every Debian package Herald needs to build, test and benchmark.
# Idempotent and non-interactive: safe to run again on a machine that has them.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap              # Bazel 4.2.3 (WORKSPACE mode, offline)
  bazel-rules-proto bazel-rules-java bazel-skylib bazel-platforms
  g++ clang-format pkg-config
  python3                      # tools/layering/check_layers.py (CI)
  librdkafka-dev               # Kafka client + mock cluster (rdkafka_mock.h)
  libprotobuf-dev protobuf-compiler
  libabsl-dev libgoogle-glog-dev libgflags-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev libpq-dev postgresql-15
  libboost1.81-dev             # Beast/Asio; do not mix with libboost-dev 1.74
  libyaml-cpp-dev libcurl4-openssl-dev
  libjemalloc-dev              # the gateway's allocator
  libssl-dev                   # libcrypto: API key hashes, realtime tokens (base/crypto)
  chromium                     # headless browser of the realtime page's test (e2e)
  wrk                          # HTTP load generator for tools/ benchmarks
  valgrind                     # tools/bench/messaging_instructions.sh (callgrind)
  curl                         # the curl `./herald up` prints (tools/up test)
  clang libclang-rt-dev        # tools/fuzz.sh: clang 14, libFuzzer and the sanitizers
  prometheus                   # promtool: tools/observability's alert rules check
)

# One dpkg-query for all: a rerun on a machine that has them is quick
# (`./herald up` runs this each time).
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null |
  awk '$NF == "installed" && $(NF-1) == "ok" { print $1 }' || true)
missing=()
for p in "${PACKAGES[@]}"; do
  grep -qx -- "$p" <<<"$installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
