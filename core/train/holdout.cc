#include "core/train/holdout.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/eval/cross_validation.h"
#include "core/train/trainer.h"
#include "core/util/status_macros.h"

namespace modelserver {
namespace {

// A stream of its own: the validation split inside Train uses `seed` as is.
constexpr uint64_t kHoldoutStream = 0x686f6c646f757421ULL;  // "holdout!"

}  // namespace

absl::StatusOr<HoldoutSplit> SplitHoldout(const Table& table,
                                          const std::string& target,
                                          ModelKind kind, double fraction,
                                          uint64_t seed) {
  if (!(fraction > 0 && fraction <= 0.9)) {
    return absl::InvalidArgumentError(
        absl::StrCat("holdout_fraction: must be in (0, 0.9], got ", fraction));
  }
  const Column* column = table.Find(target);
  if (column == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "holdout_fraction: target column '", target, "' is not in the data"));
  }
  const bool classifier = IsClassifier(kind);
  std::vector<std::string> labels;
  if (classifier) labels = ClassLabels(*column);
  if (classifier && labels.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("holdout_fraction: target column '", target,
                     "' has fewer than two classes"));
  }
  ASSIGN_OR_RETURN(EncodedTarget encoded, EncodeTarget(*column, kind, labels));
  const int64_t n = static_cast<int64_t>(encoded.rows.size());
  if (n < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("holdout_fraction: ", n,
                     " row(s) have a target; a holdout needs at least 2"));
  }
  absl::StatusOr<Split> split =
      TrainValidationSplit(n, fraction, seed ^ kHoldoutStream,
                           classifier ? &encoded.classes : nullptr);
  if (!split.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("holdout_fraction: ", split.status().message()));
  }
  std::vector<bool> held(table.num_rows(), false);
  for (int64_t i : split->validation) held[encoded.rows[i]] = true;
  std::vector<int64_t> train_rows, holdout_rows;
  for (int64_t r = 0; r < table.num_rows(); ++r) {
    (held[r] ? holdout_rows : train_rows).push_back(r);
  }
  return HoldoutSplit{table.SelectRows(train_rows),
                      table.SelectRows(holdout_rows)};
}

}  // namespace modelserver
