#!/usr/bin/env bash
# One command from a fresh clone: installs what is needed, builds, and starts
# the server on 127.0.0.1:50051 with the model directory ./var/models.
# Environment: LISTEN (default 127.0.0.1:50051), METRICS_LISTEN (Prometheus
# /metrics, default 127.0.0.1:9464), HTTP_LISTEN (Open Inference Protocol
# REST endpoints, default 127.0.0.1:8080), MODEL_DIR (./var/models), DATA_DIR
# (optional, enables server-side Dataset.path), BUILD_DIR, JOBS.
# Extra arguments go to modelserver (see `modelserver --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh --target modelserver modelctl
BUILD=${BUILD_DIR:-build}
args=(--listen "${LISTEN:-127.0.0.1:50051}" --metrics-listen "${METRICS_LISTEN:-127.0.0.1:9464}"
      --http-listen "${HTTP_LISTEN:-127.0.0.1:8080}"
      --model-dir "${MODEL_DIR:-./var/models}")
[ -n "${DATA_DIR:-}" ] && args+=(--data-dir "$DATA_DIR")
echo "modelctl is $BUILD/client/modelctl; try: $BUILD/client/modelctl train --name iris --data tests/data/iris.csv --target species" >&2
exec "$BUILD/server/modelserver" "${args[@]}" "$@"
