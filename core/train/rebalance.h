// File: core/train/rebalance.h
// What the trainer does to the training rows of a classifier with an
// imbalanced target, and to any model's training rows for augmentation
// (docs/training.md, "Imbalanced classes and augmentation"). Only the
// training part of the split is touched: validation (and holdout) rows are
// never oversampled, augmented or weighted.
//
// Order, on the design matrix after preprocessing (the pipeline is fitted
// on the original training rows):
//   1. oversampling (RebalanceMode::kOversample): every class's rows are
//      replicated up to the majority class's count: each row of class c is
//      copied floor(d / n_c) more times, and d mod n_c of its rows (drawn
//      without replacement with the seed) once more, d = n_max - n_c. The
//      added rows are appended after the original ones, class by class.
//   2. noise augmentation (augment_noise > 0): `copies` copies of the rows
//      so far are appended, in order, each with independent Gaussian noise
//      N(0, (noise * sd_j)^2) added to every output j of a *numeric* input
//      column (sd_j: population standard deviation of output j over the
//      original training rows; one-hot and date outputs are left as they
//      are; an output with sd_j = 0 gets no noise).
//   3. class weights, per row by its class, computed on the rows after 1
//      and 2: balanced w_c = n / (k * n_c) (k: classes present in those
//      rows); explicit weights by label (unlisted classes 1), rescaled so
//      that they average 1 over the rows. The loss is the mean of
//      w_i * loss_i (core/train/model_objective.h).
//
// Determinism: draws come from core/util/rng.h seeded with the spec's seed
// (one stream for oversampling, another for the noise), so the same input
// and seed give bit-identical rows.
//
// Thread-safety: pure functions.
#ifndef MODELSERVER_CORE_TRAIN_REBALANCE_H_
#define MODELSERVER_CORE_TRAIN_REBALANCE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "Eigen/Core"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace modelserver {

enum class ClassWeightMode { kNone, kBalanced, kExplicit };
enum class RebalanceMode { kNone, kOversample };

// "none", "balanced", "explicit" / "none", "oversample".
absl::string_view ClassWeightModeName(ClassWeightMode mode);
absl::string_view RebalanceModeName(RebalanceMode mode);
// "" and "none" -> kNone; "balanced"; INVALID_ARGUMENT naming `field` and
// the accepted values otherwise ("explicit" is given by listing weights).
absl::StatusOr<ClassWeightMode> ParseClassWeightMode(absl::string_view text,
                                                     absl::string_view field);
absl::StatusOr<RebalanceMode> ParseRebalanceMode(absl::string_view text,
                                                 absl::string_view field);

// Limits of the augmentation options (ValidateTrainSpec checks them).
inline constexpr double kMaxAugmentNoise = 10.0;
inline constexpr int kMaxAugmentCopies = 100;
// The expanded training matrix may hold at most this many cells (8 bytes
// each: 2 GiB); more is INVALID_ARGUMENT naming augment_copies.
inline constexpr int64_t kMaxExpandedCells = int64_t{1} << 28;

// Row indices (into the training rows) after oversampling: 0..n-1, then the
// added rows as described at the top. `classes[i]` in [0, num_classes).
std::vector<int64_t> OversampleRows(const std::vector<int32_t>& classes,
                                    int num_classes, uint64_t seed);

// Per-class weights (num_classes entries) for rows of class `classes[i]`,
// as step 3 at the top describes. `explicit_weights` is indexed by class
// (kExplicit only; 1 for unlisted classes). A class with no row gets 0.
std::vector<double> ClassWeightsFor(
    const std::vector<int32_t>& classes, int num_classes, ClassWeightMode mode,
    const std::vector<double>& explicit_weights);

// The training rows the optimizer sees.
struct ExpandedRows {
  // False when neither oversampling nor augmentation applies: then x, y and
  // classes are empty and the caller uses its own rows.
  bool expanded = false;
  Eigen::MatrixXd x;
  Eigen::MatrixXd y;
  std::vector<int32_t> classes;
  // One weight per row the optimizer sees; empty without class weights.
  Eigen::VectorXd row_weights;
  // Per class index; empty without class weights.
  std::vector<double> class_weights;
  int64_t rows_oversampled = 0;
  int64_t rows_augmented = 0;
};

struct ExpansionOptions {
  RebalanceMode rebalance = RebalanceMode::kNone;
  double noise = 0.0;  // in units of each feature's sd; 0 = no augmentation
  int copies = 1;      // >= 1 when noise > 0
  ClassWeightMode class_weight = ClassWeightMode::kNone;
  std::vector<double> explicit_weights;  // by class index (kExplicit)
  uint64_t seed = 42;
};

// Steps 1-3 at the top on training rows x (n x p), y (n x outputs) and
// `classes` (n class indices; empty for regression, which allows only the
// noise). `noisy_columns[j]` says whether output j gets noise (p entries).
// INVALID_ARGUMENT when the expanded matrix would exceed kMaxExpandedCells.
absl::StatusOr<ExpandedRows> ExpandTrainingRows(
    const Eigen::MatrixXd& x, const Eigen::MatrixXd& y,
    const std::vector<int32_t>& classes, int num_classes,
    const std::vector<bool>& noisy_columns, const ExpansionOptions& options);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_TRAIN_REBALANCE_H_
