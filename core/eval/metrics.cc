#include "core/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace modelserver {
namespace {

absl::Status CheckFinite(const Eigen::VectorXd& v, absl::string_view name) {
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, " row ", i, " is ", v[i], "; every value must be finite"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateClassificationInput(
    const std::vector<int32_t>& y_true, const Eigen::MatrixXd& probabilities,
    const std::vector<std::string>& labels) {
  const int64_t k = static_cast<int64_t>(labels.size());
  if (k < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("classification metrics need at least 2 labels, got ", k));
  }
  const int64_t n = static_cast<int64_t>(y_true.size());
  if (n == 0) {
    return absl::InvalidArgumentError(
        "classification metrics need at least one row; y_true is empty");
  }
  if (probabilities.rows() != n || probabilities.cols() != k) {
    return absl::InvalidArgumentError(absl::StrCat(
        "probabilities is ", probabilities.rows(), " x ", probabilities.cols(),
        " but y_true has ", n, " rows and there are ", k, " labels; expected ",
        n, " x ", k));
  }
  for (int64_t i = 0; i < n; ++i) {
    if (y_true[i] < 0 || y_true[i] >= k) {
      return absl::InvalidArgumentError(
          absl::StrCat("y_true row ", i, " has class index ", y_true[i],
                       "; expected a value in [0, ", k, ")"));
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      const double p = probabilities(i, j);
      if (!std::isfinite(p) || p < 0.0 || p > 1.0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "probabilities row ", i, " column ", j, " (label '", labels[j],
            "') is ", p, "; expected a finite probability in [0, 1]"));
      }
    }
  }
  return absl::OkStatus();
}

// Area under the ROC curve of `scores` for the positive rows (is_positive),
// by the Mann-Whitney statistic: the fraction of (positive, negative) pairs
// where the positive scores higher, ties counted 1/2. REQUIRES: both classes
// present.
double RocAuc(const Eigen::VectorXd& scores,
              const std::vector<bool>& is_positive) {
  const size_t n = is_positive.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double pairs_won = 0.0;  // counts halves, exact in double for n < 1e8
  double negatives_below = 0.0;
  double positives = 0.0;
  for (size_t start = 0; start < n;) {
    size_t end = start;
    double group_pos = 0.0, group_neg = 0.0;
    while (end < n && scores[order[end]] == scores[order[start]]) {
      if (is_positive[order[end]]) {
        group_pos += 1.0;
      } else {
        group_neg += 1.0;
      }
      ++end;
    }
    pairs_won += group_pos * (negatives_below + 0.5 * group_neg);
    negatives_below += group_neg;
    positives += group_pos;
    start = end;
  }
  return pairs_won / (positives * negatives_below);
}

}  // namespace

absl::StatusOr<RegressionMetrics> ComputeRegressionMetrics(
    const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred) {
  const Eigen::Index n = y_true.size();
  if (n == 0) {
    return absl::InvalidArgumentError(
        "regression metrics need at least one row; y_true is empty");
  }
  if (y_pred.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("y_true has ", n, " rows but y_pred has ", y_pred.size()));
  }
  if (absl::Status s = CheckFinite(y_true, "y_true"); !s.ok()) return s;
  if (absl::Status s = CheckFinite(y_pred, "y_pred"); !s.ok()) return s;

  double sum_squared = 0.0, sum_abs = 0.0, sum_true = 0.0;
  bool constant = true;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double d = y_true[i] - y_pred[i];
    sum_squared += d * d;
    sum_abs += std::abs(d);
    sum_true += y_true[i];
    constant = constant && y_true[i] == y_true[0];
  }
  const double count = static_cast<double>(n);
  RegressionMetrics m;
  m.count = n;
  m.mse = sum_squared / count;
  m.rmse = std::sqrt(m.mse);
  m.mae = sum_abs / count;
  // A constant y_true is detected exactly rather than through a total sum of
  // squares that rounding may leave slightly above zero.
  if (constant) {
    m.r2 = sum_squared == 0.0 ? 1.0 : 0.0;
  } else {
    const double mean = sum_true / count;
    double total = 0.0;
    for (Eigen::Index i = 0; i < n; ++i) {
      const double d = y_true[i] - mean;
      total += d * d;
    }
    m.r2 = 1.0 - sum_squared / total;
  }
  return m;
}

absl::StatusOr<ClassificationMetrics> ComputeClassificationMetrics(
    const std::vector<int32_t>& y_true, const Eigen::MatrixXd& probabilities,
    const std::vector<std::string>& labels) {
  if (absl::Status s =
          ValidateClassificationInput(y_true, probabilities, labels);
      !s.ok()) {
    return s;
  }
  const int64_t n = static_cast<int64_t>(y_true.size());
  const int64_t k = static_cast<int64_t>(labels.size());
  const double count = static_cast<double>(n);

  ClassificationMetrics m;
  m.count = n;
  m.confusion = ConfusionMatrix::Zero(k, k);
  const double eps = std::numeric_limits<double>::epsilon();
  double log_loss_sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t predicted = 0;
    double row_sum = 0.0;
    for (int64_t j = 0; j < k; ++j) {
      const double p = probabilities(i, j);
      if (p > probabilities(i, predicted)) predicted = j;
      row_sum += std::clamp(p, eps, 1.0 - eps);
    }
    m.confusion(y_true[i], predicted) += 1;
    const double p_true =
        std::clamp(probabilities(i, y_true[i]), eps, 1.0 - eps) / row_sum;
    log_loss_sum -= std::log(p_true);
  }
  m.log_loss = log_loss_sum / count;

  int64_t correct = 0;
  m.per_class.resize(k);
  for (int64_t c = 0; c < k; ++c) {
    ClassMetrics& cm = m.per_class[c];
    const int64_t tp = m.confusion(c, c);
    const int64_t predicted = m.confusion.col(c).sum();
    cm.label = labels[c];
    cm.support = m.confusion.row(c).sum();
    cm.precision = predicted > 0 ? static_cast<double>(tp) / predicted : 0.0;
    cm.recall = cm.support > 0 ? static_cast<double>(tp) / cm.support : 0.0;
    const double denom = cm.precision + cm.recall;
    cm.f1 = denom > 0.0 ? 2.0 * cm.precision * cm.recall / denom : 0.0;
    correct += tp;

    m.precision_macro += cm.precision;
    m.recall_macro += cm.recall;
    m.f1_macro += cm.f1;
    const double weight = static_cast<double>(cm.support);
    m.precision_weighted += weight * cm.precision;
    m.recall_weighted += weight * cm.recall;
    m.f1_weighted += weight * cm.f1;
  }
  m.accuracy = static_cast<double>(correct) / count;
  const double num_labels = static_cast<double>(k);
  m.precision_macro /= num_labels;
  m.recall_macro /= num_labels;
  m.f1_macro /= num_labels;
  m.precision_weighted /= count;
  m.recall_weighted /= count;
  m.f1_weighted /= count;

  if (k == 2 && m.per_class[0].support > 0 && m.per_class[1].support > 0) {
    std::vector<bool> is_positive(n);
    for (int64_t i = 0; i < n; ++i) is_positive[i] = y_true[i] == 1;
    m.roc_auc = RocAuc(probabilities.col(1), is_positive);
  }
  return m;
}

std::vector<std::pair<std::string, double>> NamedMetrics(
    const RegressionMetrics& metrics) {
  return {{"mse", metrics.mse},
          {"rmse", metrics.rmse},
          {"mae", metrics.mae},
          {"r2", metrics.r2}};
}

std::vector<std::pair<std::string, double>> NamedMetrics(
    const ClassificationMetrics& metrics) {
  std::vector<std::pair<std::string, double>> named = {
      {"accuracy", metrics.accuracy},
      {"precision_macro", metrics.precision_macro},
      {"recall_macro", metrics.recall_macro},
      {"f1_macro", metrics.f1_macro},
      {"precision_weighted", metrics.precision_weighted},
      {"recall_weighted", metrics.recall_weighted},
      {"f1_weighted", metrics.f1_weighted},
      {"log_loss", metrics.log_loss}};
  if (metrics.roc_auc.has_value())
    named.emplace_back("roc_auc", *metrics.roc_auc);
  return named;
}

}  // namespace modelserver
