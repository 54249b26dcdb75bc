#!/bin/sh
# The demo network: builds mcn, creates a consortium of 3 simulated
# hospitals on 127.0.0.1 (CA, certificates, threshold key), generates
# synthetic patients for each, imports them into each node's local store,
# starts the 3 nodes, runs example queries and shuts everything down.
#   scripts/demo.sh [--rows N] [--keep]
set -eu
cd "$(dirname "$0")/.."

rows=20000
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--rows) rows="$2"; shift 2 ;;
	--keep) keep=1; shift ;;
	*) echo "usage: scripts/demo.sh [--rows N] [--keep]" >&2; exit 2 ;;
	esac
done

sh scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
echo "== building mcn =="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs" --target mcn >/dev/null
mcn="$(pwd)/build/node/mcn"

work=$(mktemp -d /tmp/mcn-demo.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	if [ "$keep" = 1 ]; then
		echo "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT INT TERM

# A free-looking port range, so two demos (or a demo and the tests) do not collide.
base=$(( 20000 + $$ % 20000 ))
echo "== creating the consortium in $work/net (3 hospitals, ports $((base+1))-$((base+3))) =="
"$mcn" network init --sites 3 --dir "$work/net" --base-port "$base"

echo "== synthetic patients: $rows per hospital, imported into each node's store =="
for k in 1 2 3; do
	"$mcn" synth --site "$k" --rows "$rows" --seed 2026 --out "$work/site$k.csv"
	"$mcn" import --config "$work/net/site$k/node.json" --csv "$work/site$k.csv"
done

echo "== starting 3 nodes =="
for k in 1 2 3; do
	"$mcn" serve --config "$work/net/site$k/node.json" 2>"$work/site$k.log" &
	pids="$pids $!"
done
q="$work/net/querier/querier.json"
tries=0
until "$mcn" query --config "$q" --mode masked --timeout-ms 2000 "SELECT count() FROM patients" >/dev/null 2>&1; do
	tries=$((tries + 1))
	if [ $tries -ge 50 ]; then
		echo "nodes did not come up; logs:" >&2
		cat "$work"/site*.log >&2
		exit 1
	fi
	sleep 0.2
done

run() {
	echo
	echo "\$ mcn query $*"
	"$mcn" query --config "$q" "$@"
}
echo "== example queries =="
run "SELECT count() FROM patients WHERE diabetes = 'type2' AND age >= 65 AND hba1c > 8"
run "SELECT count(), mean(age), sd(age), mean(bmi), var(sbp) FROM patients GROUP BY sex"
run "SELECT histogram(hba1c, 4, 14, 10) FROM patients WHERE diagnosis LIKE 'E11%'"
run "SELECT table(smoker, diabetes) FROM patients WHERE age BETWEEN 40 AND 80"
echo "(small pooled cells - below the role's k = 5, or from one hospital only - are withheld"
echo " for everyone, with the reason; the nodes decide, the querier never sees them)"
run "SELECT count(), mean(sbp) FROM patients WHERE age >= 90 AND diabetes = 'type1' GROUP BY smoker"
run "SELECT histogram(age, 18, 98, 8) FROM patients WHERE diabetes = 'type1' AND smoker = 'current'"
run --mode masked "SELECT count(), mean(ldl) FROM patients WHERE smoker IN ('former', 'current') GROUP BY sex"
run "SELECT linear(sbp ~ age + bmi + sex) FROM patients"
run "SELECT logistic(death ~ age + bmi + sex) FROM patients WHERE diabetes <> 'no'"
run --mode masked "SELECT survival(followup_days, death, 365) FROM patients GROUP BY sex"
run "SELECT quantile(sbp, 0.9) FROM patients WHERE diabetes = 'type2'"

echo
echo "== governance: the feasibility analyst (policy role 'feasibility': counts, histograms"
echo "   and tables only, sensitivity <= 3, minimum cell 10, differential privacy) =="
a="$work/net/analyst/querier.json"
arun() {
	echo
	echo "\$ mcn query --config analyst/querier.json $*"
	"$mcn" query --config "$a" "$@" || true
}
arun "SELECT count() FROM patients WHERE diabetes = 'type2' GROUP BY sex"
echo "(asked again: the same noisy answer, and no extra privacy budget)"
arun "SELECT count() FROM patients WHERE diabetes = 'type2' GROUP BY sex"
echo "(refused by every hospital: a column above the role's sensitivity level)"
arun "SELECT count() FROM patients WHERE diagnosis LIKE 'C50%'"
echo "(refused: regression is not an analysis this role may run)"
arun "SELECT linear(sbp ~ age) FROM patients"

for k in 1 2 3; do kill -TERM "$(echo $pids | cut -d' ' -f$k)" 2>/dev/null || true; done
for p in $pids; do wait "$p" 2>/dev/null || true; done
pids=""
echo
echo "== the audit trail of hospital 1 (hash-chained, signed by the node) =="
echo "\$ mcn audit verify --log site1/audit.log --ca ca/ca.crt"
"$mcn" audit verify --log "$work/net/site1/audit.log" --ca "$work/net/ca/ca.crt"
echo "\$ mcn audit show --log site1/audit.log --querier analyst"
"$mcn" audit show --log "$work/net/site1/audit.log" --querier analyst
echo
echo "== done: every answer above is a pooled result; no node sent a row or an unencrypted partial =="
