#!/bin/sh
# The multi-hospital benchmark (issue 6): installs the dependencies, builds
# a Release mcn, runs the benchmark scenarios of bench/scenarios/ with
# bench/harness.py and writes results.jsonl, report.md and SVG charts.
#
#   scripts/bench-harness.sh [--quick] [--out DIR] [--scenarios "a b ..."]
#                            [extra harness options, e.g. --netns --runs 5]
#
# Default: feasibility, descriptive, regression and survival at their
# scenario sizes (10 sites x 100,000 patients; survival 10 x 1,000,000)
# plus the quick scaling sweep
# (3/10 sites x 10k/100k rows), into bench-out/. On a 2-core machine that
# takes about 10 minutes (see bench/README.md for the time of each
# scenario). The full scaling sweep (up to 50 sites x 1,000,000 patients,
# ~6 GB of stores) takes ~15 minutes more; run it explicitly:
#   scripts/bench-harness.sh --scenarios scaling --full
# BUILD_DIR=dir selects the build directory (default build).
set -eu
cd "$(dirname "$0")/.."

out=bench-out
scenarios="feasibility descriptive regression survival scaling"
quick_all=0
full_scaling=0
extra=""
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick_all=1; shift ;;
	--full) full_scaling=1; shift ;;
	--out) out="$2"; shift 2 ;;
	--scenarios) scenarios="$2"; shift 2 ;;
	-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
	*) extra="$extra $1"; shift ;;
	esac
done

sh scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
echo "== building mcn (Release) =="
bdir=${BUILD_DIR:-build}
cmake -S . -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$bdir" -j "$jobs" --target mcn >/dev/null
mcn="$(pwd)/$bdir/node/mcn"

rm -f "$out/results.jsonl"
mkdir -p "$out"
args=""
status=0
for s in $scenarios; do
	f="bench/scenarios/$s.json"
	[ -f "$f" ] || { echo "no scenario $f" >&2; exit 2; }
	args="$args --scenario $f"
	q=""
	if [ "$quick_all" = 1 ]; then
		q="--quick"
	elif [ "$s" = scaling ] && [ "$full_scaling" = 0 ]; then
		q="--quick"
	fi
	echo "== scenario $s $q =="
	# shellcheck disable=SC2086 # word splitting of the option lists is wanted
	python3 bench/harness.py --mcn "$mcn" --scenario "$f" --out "$out" \
		--append $q $extra || status=1
done
# one report over every scenario of this run
# shellcheck disable=SC2086
python3 bench/harness.py --mcn "$mcn" $args --out "$out" --report-only
echo "== report: $out/report.md =="
exit $status
