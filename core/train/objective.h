// File: core/train/objective.h
// Objective: what an optimizer minimises. Optimizers never see a model, only
// this interface (the ensmallen seam):
//
//   f(w) = smooth(w) + l1() * sum_j mask_j |w_j|
//   smooth(w) = mean over the chosen examples of loss_i(w)
//               + l2 * sum_j mask_j w_j^2
//
// Evaluate returns the smooth part and its gradient; the L1 term is applied by
// the optimizer (proximal step for SGD/Adam, orthant-wise L-BFGS), because it
// has no gradient at 0.
//
// Thread-safety: none; an objective is used by one optimizer at a time.
#ifndef MODELSERVER_CORE_TRAIN_OBJECTIVE_H_
#define MODELSERVER_CORE_TRAIN_OBJECTIVE_H_

#include <cstdint>

#include "Eigen/Core"
#include "absl/types/span.h"

namespace modelserver {

class Objective {
 public:
  virtual ~Objective() = default;

  virtual int64_t num_examples() const = 0;
  virtual int64_t num_parameters() const = 0;

  // Smooth part over the examples `rows` (indices in [0, num_examples()),
  // REQUIRES: non-empty) and, when `gradient` is not null, its gradient
  // (resized to num_parameters()).
  virtual double EvaluateBatch(const Eigen::VectorXd& w,
                               absl::Span<const int64_t> rows,
                               Eigen::VectorXd* gradient) = 0;
  // Same over all examples.
  virtual double Evaluate(const Eigen::VectorXd& w,
                          Eigen::VectorXd* gradient) = 0;

  // L1 strength (>= 0) and the parameters it applies to (1 or 0 each).
  virtual double l1() const { return 0.0; }
  virtual const Eigen::VectorXd& penalty_mask() const = 0;
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_TRAIN_OBJECTIVE_H_
