#!/usr/bin/env bash
# The comparison with scikit-learn in one command (docs/benchmarks.md):
# installs what it needs (scripts/setup.sh: python3-sklearn, python3-pandas,
# python3-matplotlib, libopenblas0-pthread), builds the server, the client
# and the bench helpers, and runs bench/compare.py with Debian's python3.
# Arguments go to compare.py, e.g. --quick (small synthetic sets) or
# --only synthetic_cls. Results: bench/results/comparison.{md,json,png}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh --target modelserver modelctl modelserver-local \
  bench_gen bench_limits bench_csv bench_kernels
exec /usr/bin/python3 bench/compare.py "$@"
