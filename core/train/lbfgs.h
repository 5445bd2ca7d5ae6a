// File: core/train/lbfgs.h
// Internal to core/train: call Minimize() from core/train/optimizer.h.
//
// Full-batch L-BFGS (Nocedal & Wright, algorithms 7.4/7.5) with a strong
// Wolfe line search (algorithms 3.5/3.6, cubic interpolation). When
// objective.l1() > 0 it runs as OWL-QN (Andrew & Gao 2007): pseudo-gradient,
// direction projected onto the pseudo-gradient's orthant, and a backtracking
// line search that projects every trial point onto the current orthant, so
// penalised parameters that cross zero become exactly 0.0.
//
// Thread-safety: reentrant; the objective is used by this call only.
#ifndef MODELSERVER_CORE_TRAIN_LBFGS_H_
#define MODELSERVER_CORE_TRAIN_LBFGS_H_

#include "Eigen/Core"
#include "absl/status/statusor.h"
#include "core/train/objective.h"
#include "core/train/optimizer.h"

namespace modelserver {

// Minimises `objective` from `*w` (updated in place). One epoch = one
// iteration (one accepted line-search step). Stops when the (pseudo-)gradient
// meets the tolerance (converged), after max_epochs, when the callback returns
// false (stopped_early), or when no step along the steepest-descent direction
// lowers the objective any more (the precision limit; converged = false).
// REQUIRES: options validated for kLbfgs, w->size() ==
// objective.num_parameters() > 0, l1 >= 0 and, when l1 > 0, a penalty mask of
// that size (Minimize checks all of this).
// Errors: ABORTED when the objective is not finite at the starting point.
absl::StatusOr<OptimizeResult> MinimizeLbfgs(const OptimizerOptions& options,
                                             Objective& objective,
                                             Eigen::VectorXd* w,
                                             const EpochCallback& callback);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_TRAIN_LBFGS_H_
