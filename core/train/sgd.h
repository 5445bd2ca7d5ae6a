// File: core/train/sgd.h
// Internal to core/train: call Minimize() from core/train/optimizer.h.
//
// Mini-batch SGD with momentum (optionally Nesterov) and a proximal L1 step,
// plus the mini-batch epoch loop it shares with Adam (core/train/adam.h).
//
// Thread-safety: reentrant; the objective is used by this call only.
#ifndef MODELSERVER_CORE_TRAIN_SGD_H_
#define MODELSERVER_CORE_TRAIN_SGD_H_

#include <cmath>

#include "Eigen/Core"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/train/objective.h"
#include "core/train/optimizer.h"

namespace modelserver {

// Per batch, with g the batch gradient and lr the learning rate:
//   plain / heavy ball:  v = momentum * v - lr * g(w);              w += v
//   Nesterov:            v = momentum * v - lr * g(w + momentum*v); w += v
// The Nesterov iterates are PyTorch's (PyTorch stores the look-ahead point
// w + momentum * v, we store w so that the proximal step below is the last
// operation and leaves exact zeros). With L1, w is then soft-thresholded by
// lr * l1 on penalised parameters and v is set to the actual displacement
// (proximal heavy ball, "iPiano"), so the fixed points are exactly the
// minimisers of the L1-penalised objective.
// REQUIRES: as Minimize, options validated for kSgd.
// Errors: ABORTED on a non-finite loss or parameter (divergence).
absl::StatusOr<OptimizeResult> MinimizeSgd(const OptimizerOptions& options,
                                           Objective& objective,
                                           Eigen::VectorXd* w,
                                           const EpochCallback& callback);

namespace optimizer_internal {

// The update rule of a mini-batch method.
class BatchStepper {
 public:
  virtual ~BatchStepper() = default;
  // The point at which the next batch gradient is evaluated: `w` itself, or
  // a look-ahead point owned by the stepper (valid until the next call).
  virtual const Eigen::VectorXd& EvaluationPoint(const Eigen::VectorXd& w) {
    return w;
  }
  // Applies one step (including any proximal L1 step) given the batch
  // gradient at EvaluationPoint(*w).
  virtual void Step(const Eigen::VectorXd& gradient, Eigen::VectorXd* w) = 0;
  // The learning rate of the following steps.
  virtual void SetLearningRate(double rate) = 0;
  // The rule's state into state->vectors and state->scalars, and back
  // (INVALID_ARGUMENT when the counts or sizes do not fit).
  virtual void SaveState(MiniBatchState* state) const = 0;
  virtual absl::Status RestoreState(const MiniBatchState& state) = 0;
};

// The epoch loop of SGD and Adam: per epoch, set the stepper's learning rate
// (options.epoch_learning_rate, else options.learning_rate), shuffle the
// example indices
// (when options.shuffle, with one Rng seeded from options.seed for the whole
// run), evaluate consecutive batches of min(batch_size, n) indices (the last
// may be smaller) with EvaluateBatch and step; then report
//   train_loss = sum_b |b| * loss_b / n + l1 * sum_j mask_j |w_j|
// to the callback. final_loss is the full objective at the returned w.
// `name` ("SGD", "Adam") appears in divergence messages.
absl::StatusOr<OptimizeResult> RunMiniBatchEpochs(
    absl::string_view name, const OptimizerOptions& options,
    Objective& objective, Eigen::VectorXd* w, const EpochCallback& callback,
    BatchStepper& stepper);

// prox of t*|x|: 0 when |x| <= t, else x shrunk by t towards 0. NaN stays NaN
// (so that divergence is still detected).
inline double SoftThreshold(double x, double t) {
  if (std::abs(x) <= t) return 0.0;
  return x > 0 ? x - t : x + t;
}

// l1 * sum_j mask_j |w_j| (0 without L1).
inline double L1Penalty(const Objective& objective, const Eigen::VectorXd& w) {
  const double l1 = objective.l1();
  if (l1 == 0.0) return 0.0;
  return l1 * objective.penalty_mask().cwiseProduct(w.cwiseAbs()).sum();
}

}  // namespace optimizer_internal
}  // namespace modelserver

#endif  // MODELSERVER_CORE_TRAIN_SGD_H_
