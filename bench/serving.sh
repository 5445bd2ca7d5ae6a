#!/usr/bin/env bash
# Serving performance in one command (docs/benchmarks.md, "Serving"):
# installs what it needs (scripts/setup.sh), builds the server, the client,
# the load generator and the echo baselines, and runs bench/serving.py with
# Debian's python3. Arguments go to serving.py (--quick, --rounds N,
# --seconds S, --concurrency 1,16,64,256). Results:
# bench/results/serving.{md,json}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh --target modelserver modelctl grpc_load bench_echo_server \
  bench_limits
exec /usr/bin/python3 bench/serving.py "$@"
