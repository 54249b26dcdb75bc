#!/bin/sh
# Installs the dependencies, builds mcn in Release and runs every test, then
# builds with AddressSanitizer + UndefinedBehaviorSanitizer and runs them
# again, then once more without OpenMP (the serial fallback). This is the
# README's test command and what CI runs.
#   scripts/test.sh            both suites
#   scripts/test.sh --release  the Release suite only
set -eu
cd "$(dirname "$0")/.."

sh scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

echo "== Release build and tests =="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMCN_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

if [ "${1:-}" = "--release" ]; then
	exit 0
fi

echo "== ASan + UBSan build and tests =="
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DMCN_WERROR=ON -DMCN_SANITIZER=address,undefined >/dev/null
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build-asan --output-on-failure -j "$jobs"

echo "== serial build (no OpenMP) and tests =="
cmake -S . -B build-serial -G Ninja -DCMAKE_BUILD_TYPE=Release \
	-DMCN_WERROR=ON -DMCN_OPENMP=OFF >/dev/null
cmake --build build-serial -j "$jobs"
ctest --test-dir build-serial --output-on-failure -j "$jobs"
echo "== all tests passed =="
