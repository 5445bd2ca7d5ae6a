// File: core/train/model_objective.h
// ModelObjective: the Objective (core/train/objective.h) of training a Model
// on a design matrix `x` (one row per example, num_inputs() columns) and
// targets `y` (num_outputs() columns, encoded as in core/model/model.h):
//
//   smooth(w) = model.Loss(w, rows of x, rows of y)
//               + l2 * sum_j mask_j w_j^2          (mask = PenaltyMask())
//   gradient  = d model.Loss / dw + 2 * l2 * mask .* w
//   l1()      = l1, applied by the optimizer to the same mask.
//
// Ownership: the objective keeps references to `model`, `x` and `y`; all
// three must outlive it and must not change while it is used. The model's
// own parameters are never read or written: the optimizer passes `w`.
// Evaluate works on `x` and `y` in place (no copy); EvaluateBatch gathers
// the chosen rows into member buffers that are reused, so that it allocates
// only when the batch size changes.
//
// Thread-safety: none (EvaluateBatch writes the buffers); one optimizer at a
// time.
#ifndef MODELSERVER_CORE_TRAIN_MODEL_OBJECTIVE_H_
#define MODELSERVER_CORE_TRAIN_MODEL_OBJECTIVE_H_

#include <cstdint>
#include <memory>

#include "Eigen/Core"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/model/model.h"
#include "core/train/objective.h"

namespace modelserver {

class ModelObjective : public Objective {
 public:
  // REQUIRES: x.rows() == y.rows() > 0, x.cols() == model.num_inputs(),
  // y.cols() == model.num_outputs(), l1 >= 0, l2 >= 0 (Create checks these).
  ModelObjective(const Model& model, const Eigen::MatrixXd& x,
                 const Eigen::MatrixXd& y, double l1, double l2);

  // Same after checking the REQUIRES clause: INVALID_ARGUMENT naming the
  // mismatched size or the bad penalty otherwise.
  static absl::StatusOr<std::unique_ptr<ModelObjective>> Create(
      const Model& model, const Eigen::MatrixXd& x, const Eigen::MatrixXd& y,
      double l1, double l2);

  int64_t num_examples() const override { return x_.rows(); }
  int64_t num_parameters() const override { return mask_.size(); }

  // REQUIRES: w.size() == num_parameters(); every row index in
  // [0, num_examples()), `rows` non-empty (duplicates allowed).
  double EvaluateBatch(const Eigen::VectorXd& w, absl::Span<const int64_t> rows,
                       Eigen::VectorXd* gradient) override;
  double Evaluate(const Eigen::VectorXd& w, Eigen::VectorXd* gradient) override;

  double l1() const override { return l1_; }
  double l2() const { return l2_; }
  const Eigen::VectorXd& penalty_mask() const override { return mask_; }

 private:
  // Adds the L2 term to `value` and (when not null) `gradient`.
  double AddL2(const Eigen::VectorXd& w, double value,
               Eigen::VectorXd* gradient) const;

  const Model& model_;
  const Eigen::MatrixXd& x_;
  const Eigen::MatrixXd& y_;
  const double l1_;
  const double l2_;
  const Eigen::VectorXd mask_;
  // Gathered rows for EvaluateBatch, reused across calls.
  Eigen::MatrixXd batch_x_;
  Eigen::MatrixXd batch_y_;
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_TRAIN_MODEL_OBJECTIVE_H_
