#!/usr/bin/env bash
# libFuzzer run of the fuzz targets (fuzz/README.md):
#   scripts/fuzz.sh [seconds-per-target]     (default 30; CI uses the default)
# Configures and builds ${FUZZ_BUILD_DIR:-build-fuzz} (clang, ASan+UBSan,
# MODELSERVER_FUZZ=ON), replays every input kept in fuzz/regressions/<target>/
# (each crash ever found, so that it stays fixed), then fuzzes each target
# for the given seconds starting from fuzz/corpus/<target>/ (read only) and
# the corpus grown by earlier runs in <build>/fuzz-corpus/<target>/. Fails on
# any crash, sanitizer report, leak, timeout (-timeout) or out-of-memory
# (-rss_limit_mb, -malloc_limit_mb); the input that did it is kept in
# <build>/fuzz-findings/<target>/. Prints each target's executions and
# coverage (libFuzzer's final cov/ft) as one line.
#   FUZZ_TARGETS="csv_fuzzer ..."  only these targets
#   FUZZ_JOBS=N                     build parallelism (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
build=${FUZZ_BUILD_DIR:-build-fuzz}
targets=(${FUZZ_TARGETS:-csv_fuzzer artifact_fuzzer request_fuzzer})
start=$(date +%s)

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -G Ninja \
    -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 \
    -DMODELSERVER_FUZZ=ON -DMODELSERVER_BUILD_TESTS=OFF -DMODELSERVER_WERROR=ON
fi
cmake --build "$build" --parallel "${FUZZ_JOBS:-$(nproc)}" --target "${targets[@]}"
echo "fuzz.sh: built in $(( $(date +%s) - start ))s"

# Findings abort (no recovery); symbolized stacks need llvm-symbolizer.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi

max_len() {
  case "$1" in
    csv_fuzzer) echo 8192 ;;
    artifact_fuzzer) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

summary=()
for t in "${targets[@]}"; do
  bin="$build/fuzz/$t"
  name=${t%_fuzzer}
  regressions=(fuzz/regressions/"$name"/*)
  if [ -e "${regressions[0]}" ]; then
    echo "fuzz.sh: $t: replaying ${#regressions[@]} regression inputs"
    "$bin" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=60 \
      "${regressions[@]}" >"$build/$t.replay.log" 2>&1 || {
      tail -n 60 "$build/$t.replay.log"
      echo "fuzz.sh: $t: a regression input fails again (log: $build/$t.replay.log)" >&2
      exit 1
    }
  fi
  corpus="$build/fuzz-corpus/$name"
  findings="$build/fuzz-findings/$name"
  mkdir -p "$corpus" "$findings"
  dict=()
  [ -f "fuzz/$name.dict" ] && dict=(-dict="fuzz/$name.dict")
  log="$build/$t.log"
  echo "fuzz.sh: $t: fuzzing for ${seconds}s (log: $log)"
  set +e
  "$bin" -max_total_time="$seconds" -max_len="$(max_len "$t")" \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=30 \
    -print_final_stats=1 -artifact_prefix="$findings/" "${dict[@]}" \
    "$corpus" "fuzz/corpus/$name" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 |
        sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/cov \1, ft \2, corpus \3/')
  line="$t: ${seconds}s, ${execs:-?} executions, ${cov:-no stats}"
  summary+=("$line")
  if [ "$rc" -ne 0 ]; then
    grep -E 'ERROR|SUMMARY|FUZZ_CHECK|runtime error|Test unit written' "$log" | head -n 20 >&2
    tail -n 80 "$log" >&2
    echo "fuzz.sh: $t FAILED (exit $rc); the input is in $findings/: fix the bug," \
         "then keep the input in fuzz/regressions/$name/" >&2
    exit 1
  fi
  echo "fuzz.sh: $line"
done
echo "fuzz.sh: every target clean; finished in $(( $(date +%s) - start ))s"
printf '  %s\n' "${summary[@]}"
