#!/usr/bin/env bash
# Regenerates the seed corpora fuzz/corpus/{csv,artifact,request}/ with
# fuzz_make_seeds (fuzz/make_seeds.cc) from the fuzz build: the artifacts of
# the four models of fuzz/fuzz_models.h, requests for them, and CSV snippets
# of tests/data. The files are committed; run this after changing the
# artifact format, the protos or the fuzz models, and commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -G Ninja \
    -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 \
    -DMODELSERVER_FUZZ=ON -DMODELSERVER_BUILD_TESTS=OFF
fi
cmake --build "$build" --target fuzz_make_seeds
rm -rf fuzz/corpus/csv fuzz/corpus/artifact fuzz/corpus/request
"$build/fuzz/fuzz_make_seeds" fuzz/corpus tests/data
du -sh fuzz/corpus
