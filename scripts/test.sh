#!/usr/bin/env bash
# One command from a fresh clone: installs what is needed, builds everything
# (Release, -Wall -Wextra -Werror) and runs the whole test suite with ctest,
# then the fuzzers, then the whole suite again under AddressSanitizer +
# UndefinedBehaviorSanitizer and under ThreadSanitizer (scripts/sanitize.sh).
#
#   SANITIZERS="asan"   only that sanitizer pass ("" for none; default both)
#   FUZZ_SECONDS=N      seconds per fuzz target (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
phases=()
phase() { phases+=("$1 $(( $(date +%s) - $2 ))s"); }

t=$(date +%s)
bash scripts/setup.sh
bash scripts/check_layers.sh
bash scripts/build.sh
phase setup+build "$t"

t=$(date +%s)
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --parallel "$(nproc)" \
  --timeout 600
phase release-tests "$t"

# libFuzzer: the kept crash inputs, then each fuzz target for 30 s.
t=$(date +%s)
bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
phase fuzz "$t"

for kind in ${SANITIZERS-asan tsan}; do
  t=$(date +%s)
  bash scripts/sanitize.sh "$kind"
  phase "$kind" "$t"
done
echo "test.sh: ${phases[*]}"
echo "test.sh: finished in $(( $(date +%s) - start ))s"
