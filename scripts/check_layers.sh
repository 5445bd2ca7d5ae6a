#!/usr/bin/env bash
# Enforces the layering of DESIGN.md that CMake cannot (the headers all sit
# in reachable include paths): core/ depends on Eigen and Abseil only, and
# client/ speaks to the server through the proto only (no core/ or server/).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
if grep -rnE '#include\s*[<"](grpc|grpcpp|google/protobuf|prometheus)/|\.pb\.h"' core/; then
  echo "check_layers: core/ must not include gRPC, protobuf or prometheus headers" >&2
  status=1
fi
if grep -rnE '#include\s*"(core|server)/' client/; then
  echo "check_layers: client/ must not include core/ or server/ headers" >&2
  status=1
fi
[ $status -eq 0 ] && echo "check_layers: core/ is free of RPC code; client/ uses only the proto"
exit $status
