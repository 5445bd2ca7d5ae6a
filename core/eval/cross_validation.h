// File: core/eval/cross_validation.h
// Seeded row splits for validation (a train/validation split and k folds),
// optionally stratified by class, and the summary of per-fold metrics.
//
// Splits are deterministic: the same arguments (including the seed) give the
// same index lists with any compiler or standard library (core/util/rng.h).
// Every returned index list is sorted ascending, and train and validation of
// one Split are disjoint and together cover [0, n).
//
// Strata, when given, hold one class index (>= 0) per row; they need not be
// contiguous (indices that never occur are fine).
//
// Thread-safety: all functions are pure and may be called concurrently.
#ifndef MODELSERVER_CORE_EVAL_CROSS_VALIDATION_H_
#define MODELSERVER_CORE_EVAL_CROSS_VALIDATION_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace modelserver {

struct Split {
  std::vector<int64_t> train;       // row indices, ascending
  std::vector<int64_t> validation;  // row indices, ascending
};

// Splits rows [0, n) at random into training and validation.
//
// Validation gets round(n * fraction) rows (half away from zero), at least 1
// when fraction > 0 and n >= 2, and never all of them: training keeps at least
// one row (so n == 1 gives an empty validation set). fraction == 0 gives an
// empty validation set.
//
// When `strata` is given (not owned, must outlive the call), the split is
// stratified: classes with a single row go entirely to training; the
// validation total above (capped so that every class keeps a training row) is
// shared among the other classes in proportion to their sizes, by largest
// remainder (seeded tie-break), and each class's validation rows are drawn at
// random from its rows.
//
// INVALID_ARGUMENT when n < 1, fraction is not in [0, 1), strata has a size
// other than n or a negative entry, or (stratified, fraction > 0, n >= 2)
// every class has a single row so no validation row can be drawn.
absl::StatusOr<Split> TrainValidationSplit(
    int64_t n, double fraction, uint64_t seed,
    const std::vector<int32_t>* strata = nullptr);

// k folds over rows [0, n): the validation sets of the k returned splits
// partition [0, n), and each split's training set is the complement. Rows are
// shuffled (seeded) and dealt round-robin across folds, so fold sizes differ
// by at most one (the first n % k folds get the extra row).
//
// When `strata` is given (not owned), each class in turn (increasing class
// index) is shuffled and dealt round-robin, continuing from the fold where
// the previous class stopped: every class's count differs by at most one
// between folds, and so do the fold sizes (like scikit-learn's StratifiedKFold
// in spirit, not in its exact assignment). A class with fewer than k rows is
// then absent from some validation folds.
//
// INVALID_ARGUMENT when k < 2, k > n, or strata has a size other than n or a
// negative entry.
absl::StatusOr<std::vector<Split>> KFoldSplits(
    int64_t n, int k, uint64_t seed,
    const std::vector<int32_t>* strata = nullptr);

struct MetricSummary {
  std::string name;
  double mean = 0.0;
  // Sample standard deviation (divides by folds - 1); 0 for a single fold.
  double stddev = 0.0;
};

// Mean and sample standard deviation of each named metric across folds, in
// the order of the names. Each fold is a NamedMetrics() list.
// INVALID_ARGUMENT when there are no folds, when a fold's names differ from
// the first fold's (count, name or order; e.g. "roc_auc" present in some folds
// only), or when a value is not finite.
absl::StatusOr<std::vector<MetricSummary>> SummarizeFolds(
    const std::vector<std::vector<std::pair<std::string, double>>>& folds);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_EVAL_CROSS_VALIDATION_H_
