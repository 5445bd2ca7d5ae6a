// File: core/eval/metrics.h
// Evaluation metrics for regression and classification, with the conventions
// of scikit-learn 1.2 (docs/metrics.md states every definition, edge case and
// the few deliberate differences).
//
// Inputs are validated: every function returns INVALID_ARGUMENT, with a
// message naming the row (and column) at fault, for empty input, mismatched
// sizes, non-finite values, class indices out of range, probabilities outside
// [0, 1] and fewer than 2 labels (rows are numbered from 0 in messages).
// Results are finite unless squared errors overflow (|values| ~ 1e154).
//
// Thread-safety: all functions are pure and may be called concurrently.
#ifndef MODELSERVER_CORE_EVAL_METRICS_H_
#define MODELSERVER_CORE_EVAL_METRICS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "Eigen/Core"
#include "absl/status/statusor.h"

namespace modelserver {

// ---------------------------------------------------------------- regression

struct RegressionMetrics {
  int64_t count = 0;  // number of rows
  double mse = 0.0;   // mean of (y - p)^2
  double rmse = 0.0;  // sqrt(mse)
  double mae = 0.0;   // mean of |y - p|
  // 1 - sum (y - p)^2 / sum (y - mean y)^2. When y_true is constant (all rows
  // equal): 1.0 if the predictions are exact, else 0.0 (as scikit-learn).
  double r2 = 0.0;
};

// Metrics of predictions `y_pred` against `y_true` (same length, >= 1 row,
// all values finite); otherwise INVALID_ARGUMENT.
absl::StatusOr<RegressionMetrics> ComputeRegressionMetrics(
    const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred);

// ------------------------------------------------------------ classification

// Rows of the confusion matrix are the true class, columns the predicted one.
using ConfusionMatrix = Eigen::Matrix<int64_t, Eigen::Dynamic, Eigen::Dynamic>;

struct ClassMetrics {
  std::string label;
  // tp / (tp + fp); 0 when the class is never predicted.
  double precision = 0.0;
  // tp / (tp + fn); 0 when the class never occurs in y_true.
  double recall = 0.0;
  // 2 * precision * recall / (precision + recall); 0 when both are 0.
  double f1 = 0.0;
  int64_t support = 0;  // rows whose true class is this one
};

struct ClassificationMetrics {
  int64_t count = 0;      // number of rows
  double accuracy = 0.0;  // fraction of rows whose predicted class is right
  // One entry per label, in class-index order (all labels, including those
  // absent from both y_true and the predictions).
  std::vector<ClassMetrics> per_class;
  // Unweighted means over all labels of per_class precision/recall/f1.
  double precision_macro = 0.0;
  double recall_macro = 0.0;
  double f1_macro = 0.0;
  // Means over all labels weighted by support.
  double precision_weighted = 0.0;
  double recall_weighted = 0.0;
  double f1_weighted = 0.0;
  // Mean of -log p(true class), after clipping every probability to
  // [eps, 1 - eps] with eps = DBL_EPSILON (2.220446049250313e-16) and dividing
  // each row by its sum: scikit-learn 1.2's log_loss with eps="auto".
  double log_loss = 0.0;
  // Area under the ROC curve of the score P(class 1), by the rank statistic
  // with ties counted 1/2 (= roc_auc_score). Present only for 2 labels and
  // when y_true holds both classes.
  std::optional<double> roc_auc;
  ConfusionMatrix confusion;  // k x k
};

// The probability of class 1 in binary problems (labels.size() == 2) must be
// in column 1. Thresholds are never used: the predicted class of a row is the
// argmax of its probabilities, the lowest class index on ties.
//
// y_true: class index of each row, in [0, k), k = labels.size() >= 2.
// probabilities: n x k, n = y_true.size() >= 1; every entry finite and in
//   [0, 1]. Rows should sum to 1; like scikit-learn 1.2, rows that do not are
//   renormalised for the log loss (no error).
// labels: the class names, used only to fill ClassMetrics::label.
// Returns INVALID_ARGUMENT on any violation.
absl::StatusOr<ClassificationMetrics> ComputeClassificationMetrics(
    const std::vector<int32_t>& y_true, const Eigen::MatrixXd& probabilities,
    const std::vector<std::string>& labels);

// ------------------------------------------------------------- named lists

// Flat (name, value) lists for metadata and RPCs, always in this order:
//   regression:     mse, rmse, mae, r2
//   classification: accuracy, precision_macro, recall_macro, f1_macro,
//                   precision_weighted, recall_weighted, f1_weighted,
//                   log_loss, then roc_auc when present.
// Per-class values and the confusion matrix are not included.
std::vector<std::pair<std::string, double>> NamedMetrics(
    const RegressionMetrics& metrics);
std::vector<std::pair<std::string, double>> NamedMetrics(
    const ClassificationMetrics& metrics);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_EVAL_METRICS_H_
