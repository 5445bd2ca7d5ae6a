#!/usr/bin/env bash
# Configures and builds modelserver (Release, warnings as errors) into
# ${BUILD_DIR:-build}. Extra arguments go to `cmake --build` (e.g. --target X).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DMODELSERVER_WERROR=ON
fi
cmake --build "$BUILD_DIR" --parallel "${JOBS:-$(nproc)}" "$@"
