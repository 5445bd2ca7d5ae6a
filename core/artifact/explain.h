// File: core/artifact/explain.h
// Per-column contributions of linear and logistic models' predictions, in
// the raw input columns' terms (docs/explanations.md).
//
// A linear model's score s (its logit: the prediction for linear
// regression, the log-odds of the second class for 2-class logistic
// regression, the softmax logit of class s for k >= 3 classes) is
//   score_s = b_s + sum_j W(j, s) x_j
// over the pipeline's outputs x_j. Each output comes from one raw column
// (Pipeline::output_sources), so grouping the terms by raw column gives
//   contribution(c, s) = sum over outputs j of column c of W(j, s) x_j
//   score_s = b_s + sum_c contribution(c, s)     (exactly, up to rounding)
// A numeric column has one term; a categorical column the terms of its
// one-hot outputs (only the row's level is non-zero); a date column its five
// parts. The transformed x_j are what the model saw: imputed, clipped and
// scaled values, so a missing value contributes through its imputed value.
//
// MLP models have no such exact decomposition: INVALID_ARGUMENT.
//
// Thread-safety: pure functions.
#ifndef MODELSERVER_CORE_ARTIFACT_EXPLAIN_H_
#define MODELSERVER_CORE_ARTIFACT_EXPLAIN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "Eigen/Core"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/model.h"

namespace modelserver {

struct Explanations {
  // "value" (linear regression), "log_odds" (2 classes: of class 1, the
  // second class label) or "logit" (k >= 3 classes: one per class).
  std::string score;
  // The class index of each score: empty for regression, {1} for 2
  // classes, {0, .., k-1} for k >= 3.
  std::vector<int32_t> score_classes;
  int num_columns = 0;  // raw input columns
  // The intercept b_s of each score (num_scores() entries).
  Eigen::VectorXd base_values;
  // rows x (num_scores() * num_columns): column s * num_columns + c holds
  // raw column c's contribution to score s.
  Eigen::MatrixXd contributions;
  // rows x num_scores(): the scores themselves (the model's logits).
  Eigen::MatrixXd scores;

  int num_scores() const { return static_cast<int>(base_values.size()); }
};

// OK for linear_regression and logistic_regression; INVALID_ARGUMENT naming
// the kind otherwise ("explain: model kind 'mlp_regressor' ...").
absl::Status CheckExplainable(ModelKind kind);

// The explanations of `model`'s predictions on the features `x` (rows x
// model.num_inputs()); `sources[j]` in [0, num_columns) is the raw column
// of feature j. INVALID_ARGUMENT when the kind is not explainable or the
// sizes disagree.
absl::StatusOr<Explanations> ExplainLinear(
    const Model& model, const std::vector<int>& sources, int num_columns,
    const Eigen::Ref<const Eigen::MatrixXd>& x);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_ARTIFACT_EXPLAIN_H_
