// File: core/train/holdout.h
// The holdout of a promotion gate split off a training table before
// training (docs/training.md, "Promotion gates").
//
// Thread-safety: pure function.
#ifndef MODELSERVER_CORE_TRAIN_HOLDOUT_H_
#define MODELSERVER_CORE_TRAIN_HOLDOUT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/data/table.h"
#include "core/model/model.h"

namespace modelserver {

struct HoldoutSplit {
  Table train;    // every other row, in the original order
  Table holdout;  // in the original order
};

// Moves `fraction` (in (0, 0.9]) of the rows that have a target into the
// holdout, drawn with TrainValidationSplit (core/eval/cross_validation.h:
// round(fraction * n) rows, at least 1, seeded by `seed` through a stream of
// its own, stratified by class for classifiers). Rows whose target is
// missing stay in `train` (Train drops and counts them). INVALID_ARGUMENT
// naming holdout_fraction, the target, or the class when the rows cannot
// be split (no target column, fewer than 2 rows with a target, every class
// a single row).
absl::StatusOr<HoldoutSplit> SplitHoldout(const Table& table,
                                          const std::string& target,
                                          ModelKind kind, double fraction,
                                          uint64_t seed);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_TRAIN_HOLDOUT_H_
