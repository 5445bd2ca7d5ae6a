#!/usr/bin/env bash
# End-to-end test of the modelserver-local tool: train, inspect, evaluate,
# predict, the demo, and error exits. Usage: modelserver_local_test.sh BIN DATA_DIR
set -uo pipefail
BIN=$1
DATA=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect_contains() {  # name, haystack, needle
  if [[ "$2" != *"$3"* ]]; then fail "$1: output lacks '$3'"; echo "$2" | head -20; fi
}

out=$("$BIN" train --model-dir "$tmp/m" --name iris --data "$DATA/iris.csv" \
  --target species --model logistic_regression --quiet 2>&1) || fail "train exit $?"
expect_contains train "$out" "saved iris version 1"
out=$("$BIN" train --model-dir "$tmp/m" --name iris --data "$DATA/iris.csv" \
  --target species --model logistic_regression --quiet 2>&1) || fail "train 2 exit $?"
expect_contains train2 "$out" "saved iris version 2"
[ -f "$tmp/m/iris/2/model.msm" ] || fail "artifact file missing"

out=$("$BIN" inspect --model-dir "$tmp/m" --name iris --version 1 2>&1) || fail "inspect exit $?"
expect_contains inspect "$out" "model iris version 1: logistic_regression, target 'species' (categorical)"
expect_contains inspect "$out" "classes: setosa, versicolor, virginica"
expect_contains inspect "$out" "petal_width_cm           numeric"
expect_contains inspect "$out" "permutation importance (accuracy drop on 150 training rows, 5 repeats, seed 42):"

out=$("$BIN" evaluate --model-dir "$tmp/m" --name iris --data "$DATA/iris.csv" 2>&1) || fail "evaluate exit $?"
expect_contains evaluate "$out" "iris version 2 on"
expect_contains evaluate "$out" "150 rows (0 without a target)"
expect_contains evaluate "$out" "confusion matrix"

# Predict on raw rows without the target column: one line per row plus header.
head -1 "$DATA/iris.csv" | cut -d, -f1-4 > "$tmp/rows.csv"
printf '5.1,3.5,1.4,0.2\n7.7,3.0,6.1,2.3\n' >> "$tmp/rows.csv"
out=$("$BIN" predict --model-dir "$tmp/m" --name iris --data "$tmp/rows.csv" 2>&1) || fail "predict exit $?"
[ "$(echo "$out" | wc -l)" -eq 3 ] || fail "predict: expected 3 lines, got: $out"
expect_contains predict "$out" "species,p(setosa),p(versicolor),p(virginica)"
[ "$(echo "$out" | sed -n 2p | cut -d, -f1)" = setosa ] || fail "row 1 should be setosa: $out"
[ "$(echo "$out" | sed -n 3p | cut -d, -f1)" = virginica ] || fail "row 2 should be virginica: $out"

# Errors: exit 1 with the status code and a message naming the problem.
printf 'a,b\n1,2\n3\n' > "$tmp/ragged.csv"
out=$("$BIN" train --model-dir "$tmp/m" --name r --data "$tmp/ragged.csv" --target b 2>&1)
[ $? -eq 1 ] || fail "ragged CSV should exit 1"
expect_contains ragged "$out" "INVALID_ARGUMENT"
expect_contains ragged "$out" "line 3"
out=$("$BIN" predict --model-dir "$tmp/m" --name nosuch --data "$tmp/rows.csv" 2>&1)
[ $? -eq 1 ] || fail "unknown model should exit 1"
expect_contains unknown "$out" "NOT_FOUND"
out=$("$BIN" train --model-dir "$tmp/m" --name a/b --data "$DATA/iris.csv" --target species 2>&1)
[ $? -eq 1 ] || fail "bad name should exit 1"
expect_contains badname "$out" "may only use letters"
printf 'sepal_length,sepal_width,petal_length\n1,2,3\n' > "$tmp/missing.csv"
out=$("$BIN" predict --model-dir "$tmp/m" --name iris --data "$tmp/missing.csv" 2>&1)
[ $? -eq 1 ] || fail "missing column should exit 1"
expect_contains missingcol "$out" "petal_width"

# The demo (what scripts/run.sh runs) trains every shipped dataset.
out=$("$BIN" demo --model-dir "$tmp/demo" --data-dir "$DATA" 2>&1) || fail "demo exit $?"
for m in diabetes iris breast-cancer airquality mpg-class; do
  [ -f "$tmp/demo/$m/1/model.msm" ] || fail "demo did not save $m"
done

if [ "$failures" -eq 0 ]; then echo "modelserver_local_test: all checks passed"; fi
exit $((failures > 0))
