# Compile and link flags of the fuzz build (MODELSERVER_FUZZ=ON, included by
# the top CMakeLists.txt before any target exists, so they reach every
# library the fuzzers link, not only fuzz/):
#   - our code gets libFuzzer's coverage instrumentation
#     (-fsanitize=fuzzer-no-link; only the fuzzer executables link the
#     libFuzzer runtime and its main, see fuzz/CMakeLists.txt);
#   - AddressSanitizer and UndefinedBehaviorSanitizer, without recovery: a
#     finding aborts, which libFuzzer reports as a crash with its input;
#   - -O1 with assertions on (no NDEBUG): Eigen's dimension checks
#     (eigen_assert) then fire on a product of mismatched matrices instead of
#     reading out of bounds quietly. Whatever CMAKE_BUILD_TYPE says.
# The Debian libraries (protobuf, gRPC, Abseil, civetweb, nlohmann-json is
# header-only) stay uninstrumented.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "MODELSERVER_FUZZ needs clang (libFuzzer): configure "
                      "with -DCMAKE_CXX_COMPILER=clang++ (scripts/fuzz.sh)")
endif()
if(MODELSERVER_SANITIZE)
  message(FATAL_ERROR "MODELSERVER_FUZZ sets its own sanitizers; leave "
                      "MODELSERVER_SANITIZE empty")
endif()
set(CMAKE_BUILD_TYPE Fuzz)
set(CMAKE_CXX_FLAGS_FUZZ "-O1 -gline-tables-only")
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                    -fno-sanitize-recover=all -fno-omit-frame-pointer)
add_link_options(-fsanitize=address,undefined)
