#!/usr/bin/env bash
# One command from a fresh clone: installs what is needed, builds everything
# (Release, -Wall -Wextra -Werror) and runs the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup.sh
bash scripts/check_layers.sh
bash scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --parallel "$(nproc)" \
  --timeout 600
# libFuzzer: the kept crash inputs, then each fuzz target for 30 s.
bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
echo "test.sh: finished in $(( $(date +%s) - start ))s"
