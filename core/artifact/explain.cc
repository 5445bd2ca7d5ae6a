#include "core/artifact/explain.h"

#include "absl/strings/str_cat.h"

namespace modelserver {

absl::Status CheckExplainable(ModelKind kind) {
  if (kind == ModelKind::kLinearRegression ||
      kind == ModelKind::kLogisticRegression) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "explain: model kind '", ModelKindName(kind),
      "' has no exact per-column contributions; explanations are available "
      "for linear_regression and logistic_regression models (permutation "
      "importance, in the version's metadata and from Evaluate, covers "
      "every kind)"));
}

absl::StatusOr<Explanations> ExplainLinear(
    const Model& model, const std::vector<int>& sources, int num_columns,
    const Eigen::Ref<const Eigen::MatrixXd>& x) {
  if (absl::Status s = CheckExplainable(model.kind()); !s.ok()) return s;
  const int p = model.num_inputs();
  const int k = model.num_outputs();
  if (x.cols() != p || static_cast<int>(sources.size()) != p ||
      model.parameters().size() != static_cast<Eigen::Index>(p + 1) * k) {
    return absl::InvalidArgumentError(
        absl::StrCat("explain: sizes disagree (", x.cols(), " features, ",
                     sources.size(), " sources, model inputs ", p, ")"));
  }
  for (int j = 0; j < p; ++j) {
    if (sources[j] < 0 || sources[j] >= num_columns) {
      return absl::InvalidArgumentError(
          absl::StrCat("explain: feature ", j, " comes from column ",
                       sources[j], " of ", num_columns));
    }
  }
  // Parameter layout (core/model/linear_model.h): W (p x k, column-major),
  // then the k biases.
  const Eigen::VectorXd& w = model.parameters();
  const Eigen::Map<const Eigen::MatrixXd> weights(w.data(), p, k);
  Explanations e;
  e.num_columns = num_columns;
  e.base_values = w.tail(k);
  if (model.kind() == ModelKind::kLinearRegression) {
    e.score = "value";
  } else if (k == 1) {
    e.score = "log_odds";
    e.score_classes = {1};
  } else {
    e.score = "logit";
    for (int s = 0; s < k; ++s) e.score_classes.push_back(s);
  }
  const Eigen::Index n = x.rows();
  e.contributions =
      Eigen::MatrixXd::Zero(n, static_cast<Eigen::Index>(k) * num_columns);
  e.scores.resize(n, k);
  for (int s = 0; s < k; ++s) {
    // As LinearModel computes its logits: one matrix-vector product each.
    e.scores.col(s).noalias() = x * weights.col(s);
    e.scores.col(s).array() += e.base_values[s];
    for (int j = 0; j < p; ++j) {
      const double wj = weights(j, s);
      if (wj == 0) continue;
      e.contributions.col(static_cast<Eigen::Index>(s) * num_columns +
                          sources[j]) += wj * x.col(j);
    }
  }
  return e;
}

}  // namespace modelserver
