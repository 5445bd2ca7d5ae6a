// File: core/train/adam.h
// Internal to core/train: call Minimize() from core/train/optimizer.h.
//
// Adam (Kingma & Ba 2015) with bias correction, on mini-batches (the epoch
// loop is the one of SGD, core/train/sgd.h). Per batch, t = 1, 2, ...:
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
//   step_j = lr / (sqrt(v_j / (1 - beta2^t)) + epsilon)
//   w_j -= step_j * m_j / (1 - beta1^t)
// then with L1, penalised w_j is soft-thresholded by step_j * l1 (the
// proximal step with the coordinate's own effective step size).
//
// Thread-safety: reentrant; the objective is used by this call only.
#ifndef MODELSERVER_CORE_TRAIN_ADAM_H_
#define MODELSERVER_CORE_TRAIN_ADAM_H_

#include "Eigen/Core"
#include "absl/status/statusor.h"
#include "core/train/objective.h"
#include "core/train/optimizer.h"

namespace modelserver {

// REQUIRES: as Minimize, options validated for kAdam.
// Errors: ABORTED on a non-finite loss or parameter (divergence).
absl::StatusOr<OptimizeResult> MinimizeAdam(const OptimizerOptions& options,
                                            Objective& objective,
                                            Eigen::VectorXd* w,
                                            const EpochCallback& callback);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_TRAIN_ADAM_H_
