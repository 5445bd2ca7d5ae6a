#!/bin/sh
# Generates the Python stubs of modelserver.v1.ModelService from
# proto/modelserver/v1/model_service.proto.
#
# Usage: examples/python/generate.sh [OUT_DIR]     (default: examples/python/gen)
#
# Writes OUT_DIR/modelserver/v1/model_service_pb2.py (messages) and
# model_service_pb2_grpc.py (the ModelServiceStub), plus the __init__.py
# files that make `modelserver.v1` an importable package once OUT_DIR is on
# sys.path. Works from any directory; a relative OUT_DIR is taken relative to
# the current directory. Needs Debian's protobuf-compiler (protoc) and
# protobuf-compiler-grpc (grpc_python_plugin); the generated code runs on
# python3-protobuf and python3-grpcio.
set -eu

script_dir=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$script_dir/../.." && pwd)
out=${1:-$script_dir/gen}

mkdir -p "$out"
out=$(cd "$out" && pwd)  # absolute, before we change directory

plugin=/usr/bin/grpc_python_plugin
command -v protoc >/dev/null 2>&1 || {
  echo "generate.sh: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
[ -x "$plugin" ] || {
  echo "generate.sh: $plugin not found (apt-get install protobuf-compiler-grpc)" >&2; exit 1; }

cd "$repo_root"
protoc --python_out="$out" --grpc_out="$out" --plugin=protoc-gen-grpc="$plugin" \
  -I proto proto/modelserver/v1/model_service.proto

# protoc writes no __init__.py; add them so that the stubs' own
# `from modelserver.v1 import model_service_pb2` works as a regular package.
touch "$out/modelserver/__init__.py" "$out/modelserver/v1/__init__.py"
echo "stubs written to $out/modelserver/v1"
