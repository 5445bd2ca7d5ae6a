#include "core/train/model_objective.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace modelserver {

ModelObjective::ModelObjective(const Model& model, const Eigen::MatrixXd& x,
                               const Eigen::MatrixXd& y, double l1, double l2,
                               ThreadPool* pool,
                               const Eigen::VectorXd* row_weights)
    : model_(model),
      x_(x),
      y_(y),
      l1_(l1),
      l2_(l2),
      mask_(model.PenaltyMask()),
      pool_(pool),
      row_weights_(row_weights),
      // x stays in cache between the forward and the backward product.
      block_rows_(CacheBlockRows(x.cols())) {
  const int parts = pool_ != nullptr ? pool_->num_threads() : 1;
  batch_x_.resize(parts);
  batch_y_.resize(parts);
  batch_w_.resize(parts);
  part_gradient_.resize(parts);
  part_scratch_.resize(parts);
  part_loss_.resize(parts);
}

absl::StatusOr<std::unique_ptr<ModelObjective>> ModelObjective::Create(
    const Model& model, const Eigen::MatrixXd& x, const Eigen::MatrixXd& y,
    double l1, double l2, ThreadPool* pool,
    const Eigen::VectorXd* row_weights) {
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
  if (row_weights != nullptr) {
    if (row_weights->size() != x.rows()) {
      return absl::InvalidArgumentError(
          absl::StrCat("row_weights has ", row_weights->size(),
                       " entries but x has ", x.rows(), " rows"));
    }
    for (Eigen::Index i = 0; i < row_weights->size(); ++i) {
      const double s = (*row_weights)[i];
      if (!(s >= 0.0) || !std::isfinite(s)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "row_weights[", i, "] must be finite and >= 0, got ", s));
      }
    }
  }
  return std::make_unique<ModelObjective>(model, x, y, l1, l2, pool,
                                          row_weights);
}

absl::Span<const double> ModelObjective::WeightsOf(Eigen::Index begin,
                                                   Eigen::Index len) const {
  if (row_weights_ == nullptr) return {};
  return absl::Span<const double>(row_weights_->data() + begin,
                                  static_cast<size_t>(len));
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

int ModelObjective::PartsFor(int64_t rows) const {
  return PartCount(pool_, rows, std::max<int64_t>(1, num_parameters()),
                   kMinWorkPerPart);
}

double ModelObjective::BlockedLoss(const Eigen::VectorXd& w,
                                   const Eigen::MatrixXd& x,
                                   const Eigen::MatrixXd& y, Eigen::Index begin,
                                   Eigen::Index end, Eigen::VectorXd* gradient,
                                   Eigen::VectorXd* scratch) const {
  const Eigen::Index n = end - begin;
  if (n <= block_rows_) {
    return model_.WeightedLoss(w, x.middleRows(begin, n),
                               y.middleRows(begin, n), WeightsOf(begin, n),
                               gradient);
  }
  double value = 0.0;
  if (gradient != nullptr) *gradient = Eigen::VectorXd::Zero(w.size());
  for (Eigen::Index lo = begin; lo < end; lo += block_rows_) {
    const Eigen::Index len = std::min(block_rows_, end - lo);
    const double weight = static_cast<double>(len) / static_cast<double>(n);
    value += weight * model_.WeightedLoss(
                          w, x.middleRows(lo, len), y.middleRows(lo, len),
                          WeightsOf(lo, len),
                          gradient != nullptr ? scratch : nullptr);
    if (gradient != nullptr) *gradient += weight * *scratch;
  }
  return value;
}

// Sums the parts' losses (and gradients), weighted by their rows.
double ModelObjective::Combine(int parts, int64_t n,
                               Eigen::VectorXd* gradient) const {
  double value = 0.0;
  for (int p = 0; p < parts; ++p) {
    const double weight = static_cast<double>(PartBegin(n, parts, p + 1) -
                                              PartBegin(n, parts, p)) /
                          static_cast<double>(n);
    value += weight * part_loss_[p];
    if (gradient == nullptr) continue;
    if (p == 0) {
      *gradient = weight * part_gradient_[0];
    } else {
      *gradient += weight * part_gradient_[p];
    }
  }
  return value;
}

double ModelObjective::EvaluateBatch(const Eigen::VectorXd& w,
                                     absl::Span<const int64_t> rows,
                                     Eigen::VectorXd* gradient) {
  const int64_t n = static_cast<int64_t>(rows.size());
  if (x_by_rows_.rows() != x_.rows()) x_by_rows_ = x_;  // once, on first use
  const int parts = PartsFor(n);
  auto part = [&](int p) {
    const int64_t lo = PartBegin(n, parts, p);
    const int64_t len = PartBegin(n, parts, p + 1) - lo;
    Eigen::MatrixXd& bx = batch_x_[p];
    Eigen::MatrixXd& by = batch_y_[p];
    // resize() keeps the storage when the size is unchanged.
    bx.resize(len, x_.cols());
    by.resize(len, y_.cols());
    // Each example is one contiguous row of the row-major copy (a few cache
    // lines), not one cache line per column of x.
    for (int64_t i = 0; i < len; ++i) bx.row(i) = x_by_rows_.row(rows[lo + i]);
    for (Eigen::Index c = 0; c < y_.cols(); ++c) {
      const double* src = y_.col(c).data();
      double* dst = by.col(c).data();
      for (int64_t i = 0; i < len; ++i) dst[i] = src[rows[lo + i]];
    }
    Eigen::VectorXd* g = gradient == nullptr ? nullptr
                         : parts == 1        ? gradient
                                             : &part_gradient_[p];
    absl::Span<const double> weights;
    if (row_weights_ != nullptr) {
      std::vector<double>& bw = batch_w_[p];
      bw.resize(static_cast<size_t>(len));
      for (int64_t i = 0; i < len; ++i) bw[i] = (*row_weights_)[rows[lo + i]];
      weights = bw;
    }
    part_loss_[p] = model_.WeightedLoss(w, bx, by, weights, g);
  };
  if (parts == 1) {
    part(0);
    return AddL2(w, part_loss_[0], gradient);
  }
  pool_->Run(part, parts);
  return AddL2(w, Combine(parts, n, gradient), gradient);
}

double ModelObjective::Evaluate(const Eigen::VectorXd& w,
                                Eigen::VectorXd* gradient) {
  const int64_t n = x_.rows();
  const int parts = PartsFor(n);
  if (parts == 1) {
    const double value =
        BlockedLoss(w, x_, y_, 0, n, gradient, &part_scratch_[0]);
    return AddL2(w, value, gradient);
  }
  pool_->Run(
      [&](int p) {
        part_loss_[p] = BlockedLoss(
            w, x_, y_, PartBegin(n, parts, p), PartBegin(n, parts, p + 1),
            gradient != nullptr ? &part_gradient_[p] : nullptr,
            &part_scratch_[p]);
      },
      parts);
  return AddL2(w, Combine(parts, n, gradient), gradient);
}

}  // namespace modelserver
