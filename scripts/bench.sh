#!/bin/sh
# Installs the dependencies, builds mcn in Release and runs the crypto
# benchmark (2048- and 3072-bit keys, 1 thread and all cores). Extra
# arguments go to bench_crypto, e.g. --json, --bits 2048, --ops encrypt.
set -eu
cd "$(dirname "$0")/.."

sh scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
exec ./build/bench/bench_crypto "$@"
