#!/bin/sh
# Network benchmark (issue 3): 3 nodes on loopback, 100,000 patients per
# site, p50/p95 latency per aggregation mode and bytes per node.
#   scripts/bench-network.sh [extra bench_network.py options, e.g. --rows 10000,100000]
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs" --target mcn >/dev/null
exec python3 bench/bench_network.py --mcn build/node/mcn "$@"
