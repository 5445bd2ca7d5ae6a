#!/usr/bin/env bash
# Fails if core/ includes anything from the RPC world (DESIGN.md: core depends
# on Eigen and Abseil only). CMake cannot enforce this: those headers sit in
# the system include path.
set -euo pipefail
cd "$(dirname "$0")/.."
if grep -rnE '#include\s*[<"](grpc|grpcpp|google/protobuf|prometheus)/|\.pb\.h"' core/; then
  echo "check_layers: core/ must not include gRPC, protobuf or prometheus headers" >&2
  exit 1
fi
echo "check_layers: core/ is free of RPC dependencies"
