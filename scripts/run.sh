#!/usr/bin/env bash
# One command from a fresh clone: installs what is needed, builds, and starts.
# Until the gRPC server lands (issue 3) it runs the in-process demo: trains a
# model on each shipped dataset into ./var/models and evaluates it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh --target modelserver-local
MODEL_DIR=${MODEL_DIR:-./var/models}
exec "${BUILD_DIR:-build}/tools/modelserver-local" demo \
  --model-dir "$MODEL_DIR" --data-dir tests/data
