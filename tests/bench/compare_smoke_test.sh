#!/usr/bin/env bash
# Smoke test of the scikit-learn comparison (bench/compare.py): runs it on
# iris only (every model kind, through the real server, in process and in
# scikit-learn) and checks that it wrote the table, the JSON and the chart
# with the figures in range. Timings are not asserted (see docs/benchmarks.md).
#   compare_smoke_test.sh BUILD_DIR
set -euo pipefail
build=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
/usr/bin/python3 "$root/bench/compare.py" --quick --only iris --build "$build" \
  --results "$out" > "$out/stdout.txt"
for f in comparison.md comparison.json comparison.png; do
  [ -s "$out/$f" ] || { echo "missing $f"; exit 1; }
done
for c in iris/logistic iris/sgd iris/mlp; do
  grep -q "^| $c | accuracy |" "$out/comparison.md" || { echo "no row $c"; exit 1; }
done
grep -q "ingestion iris" "$out/comparison.md" || { echo "no ingestion line"; exit 1; }
/usr/bin/python3 - "$out/comparison.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["limits"]["gemm_gflops"] > 0 and r["limits"]["triad_gbps"] > 0, r["limits"]
assert len(r["cases"]) == 3, [c["case"] for c in r["cases"]]
for c in r["cases"]:
    for side in ("ours", "sklearn"):
        acc = c[side]["metrics"]["accuracy"]
        assert 0.8 <= acc <= 1.0, (c["case"], side, acc)
    assert c["ours"]["wall_seconds"] > 0 and c["sklearn"]["fit_seconds"] > 0
    assert c["ours"]["peak_rss"] > 0 and c["local"]["peak_rss"] > 0
print("ok:", [(c["case"], c["ours"]["metrics"]["accuracy"]) for c in r["cases"]])
PY
