// File: core/train/exact_solver.h
// Closed-form (ridge) least squares for linear regression: the "exact"
// optimizer. Returns the minimiser of
//
//   mean_i (y_i - x_i . w - b)^2 + l2 * sum_j w_j^2       (b not penalised)
//
// i.e. the same objective as ModelObjective with a kLinearRegression
// LinearModel and l1 = 0, as a parameter vector in LinearModel's layout:
// the d weights, then the bias (size d + 1).
//
// Method: x and y are centred, the d x d Gram matrix Xc^T Xc + n*l2*I is
// formed (symmetric rank update) and solved by Cholesky. When Cholesky fails
// or the system is ill-conditioned (reciprocal condition estimate below
// 1e-8, e.g. a full one-hot encoding plus the intercept, a duplicated or
// constant column), the problem is solved instead by a complete orthogonal
// decomposition of [Xc; sqrt(n*l2)*I], which with l2 == 0 yields the
// minimum-norm least-squares solution, as scikit-learn's LinearRegression
// does (directions with singular value below max(n, d) * eps, at least
// 1e-12, relative to the largest are treated as zero). The bias is then
// mean(y) - mean(x) . w.
//
// Cost: O(n d^2) time. Memory O(d^2) besides x: the Gram matrix is
// accumulated from centred blocks of rows that fit in cache; only the
// ill-conditioned fallback makes a centred O(n d) copy.
// With `pool`, the rows are split into pool->num_threads() contiguous parts
// whose Gram matrices are summed in part order (deterministic for a given
// thread count).
//
// Errors: INVALID_ARGUMENT for l2 < 0 or not finite, x with no rows or no
// columns, y.size() != x.rows(), or a non-finite value in x or y (naming its
// row and column).
//
// Thread-safety: a pure function (the pool must not be used concurrently).
#ifndef MODELSERVER_CORE_TRAIN_EXACT_SOLVER_H_
#define MODELSERVER_CORE_TRAIN_EXACT_SOLVER_H_

#include "Eigen/Core"
#include "absl/status/statusor.h"
#include "core/util/parallel.h"

namespace modelserver {

absl::StatusOr<Eigen::VectorXd> SolveLinearLeastSquares(
    const Eigen::MatrixXd& x, const Eigen::VectorXd& y, double l2,
    ThreadPool* pool = nullptr);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_TRAIN_EXACT_SOLVER_H_
