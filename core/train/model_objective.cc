#include "core/train/model_objective.h"

#include <cmath>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace modelserver {

ModelObjective::ModelObjective(const Model& model, const Eigen::MatrixXd& x,
                               const Eigen::MatrixXd& y, double l1, double l2)
    : model_(model),
      x_(x),
      y_(y),
      l1_(l1),
      l2_(l2),
      mask_(model.PenaltyMask()) {}

absl::StatusOr<std::unique_ptr<ModelObjective>> ModelObjective::Create(
    const Model& model, const Eigen::MatrixXd& x, const Eigen::MatrixXd& y,
    double l1, double l2) {
  if (x.rows() == 0) {
    return absl::InvalidArgumentError("no training examples (x has 0 rows)");
  }
  if (x.rows() != y.rows()) {
    return absl::InvalidArgumentError(
        absl::StrCat("x has ", x.rows(), " rows but y has ", y.rows()));
  }
  if (x.cols() != model.num_inputs()) {
    return absl::InvalidArgumentError(
        absl::StrCat("x has ", x.cols(), " columns but the model takes ",
                     model.num_inputs(), " inputs"));
  }
  if (y.cols() != model.num_outputs()) {
    return absl::InvalidArgumentError(
        absl::StrCat("y has ", y.cols(), " columns but the model has ",
                     model.num_outputs(), " outputs"));
  }
  if (!(l1 >= 0.0) || !std::isfinite(l1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("l1 must be finite and >= 0, got ", l1));
  }
  if (!(l2 >= 0.0) || !std::isfinite(l2)) {
    return absl::InvalidArgumentError(
        absl::StrCat("l2 must be finite and >= 0, got ", l2));
  }
  return std::make_unique<ModelObjective>(model, x, y, l1, l2);
}

double ModelObjective::AddL2(const Eigen::VectorXd& w, double value,
                             Eigen::VectorXd* gradient) const {
  if (l2_ == 0.0) return value;
  value += l2_ * (mask_.array() * w.array().square()).sum();
  if (gradient != nullptr) {
    gradient->array() += (2.0 * l2_) * mask_.array() * w.array();
  }
  return value;
}

double ModelObjective::EvaluateBatch(const Eigen::VectorXd& w,
                                     absl::Span<const int64_t> rows,
                                     Eigen::VectorXd* gradient) {
  const Eigen::Index n = static_cast<Eigen::Index>(rows.size());
  // resize() keeps the storage when the size is unchanged.
  batch_x_.resize(n, x_.cols());
  batch_y_.resize(n, y_.cols());
  // Column by column: contiguous writes, one strided gather per column.
  for (Eigen::Index c = 0; c < x_.cols(); ++c) {
    const double* src = x_.col(c).data();
    double* dst = batch_x_.col(c).data();
    for (Eigen::Index i = 0; i < n; ++i) dst[i] = src[rows[i]];
  }
  for (Eigen::Index c = 0; c < y_.cols(); ++c) {
    const double* src = y_.col(c).data();
    double* dst = batch_y_.col(c).data();
    for (Eigen::Index i = 0; i < n; ++i) dst[i] = src[rows[i]];
  }
  const double value = model_.Loss(w, batch_x_, batch_y_, gradient);
  return AddL2(w, value, gradient);
}

double ModelObjective::Evaluate(const Eigen::VectorXd& w,
                                Eigen::VectorXd* gradient) {
  const double value = model_.Loss(w, x_, y_, gradient);
  return AddL2(w, value, gradient);
}

}  // namespace modelserver
