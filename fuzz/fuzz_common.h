// File: fuzz/fuzz_common.h
// Helpers shared by the libFuzzer targets of fuzz/ (fuzz/README.md):
// FUZZ_CHECK (an invariant violated by an input aborts the process, which
// libFuzzer records as a crash with that input), table comparison for the
// differential checks, and the small tables the targets run models on.
//
// Thread-safety: the functions are reentrant.
#ifndef MODELSERVER_FUZZ_FUZZ_COMMON_H_
#define MODELSERVER_FUZZ_FUZZ_COMMON_H_

#include <cstdint>
#include <string>

#include "Eigen/Core"
#include "core/artifact/artifact.h"
#include "core/data/table.h"

// Aborts with `what` and the condition when `cond` is false.
#define FUZZ_CHECK(cond, what)                                          \
  do {                                                                  \
    if (!(cond)) ::modelserver::fuzz::Fail(__FILE__, __LINE__, #cond, what); \
  } while (0)

namespace modelserver::fuzz {

[[noreturn]] void Fail(const char* file, int line, const char* cond,
                       const std::string& what);

// Bitwise equality of doubles (NaN equals NaN with the same bits; 0.0 and
// -0.0 differ).
bool SameBits(double a, double b);
bool SameBits(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b);

// "" when the tables have the same columns (names, types, values, codes,
// levels) and rows; otherwise a description of the first difference.
std::string TableDifference(const Table& a, const Table& b);

// "" when the structural invariants of a Table built by a reader hold
// (unique non-empty names, every column num_rows() long, codes in range,
// levels distinct, numeric and date values finite or NaN); otherwise the
// first violation.
std::string TableViolation(const Table& t);

// Three rows of every input column of `artifact` (values a client may
// send: seen and unseen levels, missing values, zeros, large magnitudes),
// plus the target column when `with_target` and it is not an input.
// `salt` varies the values.
Table InputsFor(const Artifact& artifact, bool with_target, uint8_t salt);

// Predict and, for artifacts whose pipeline has outputs, checks the shape
// of the result (one value or class per row, probabilities rows x classes).
void PredictAndCheck(const Artifact& artifact, const Table& table);

}  // namespace modelserver::fuzz

#endif  // MODELSERVER_FUZZ_FUZZ_COMMON_H_
