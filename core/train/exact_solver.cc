#include "core/train/exact_solver.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "Eigen/Cholesky"
#include "Eigen/QR"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace modelserver {
namespace {

// Below this reciprocal condition estimate of the (regularised) Gram matrix,
// the normal equations lose too many digits and the QR path is used.
constexpr double kMinRcond = 1e-8;

absl::Status CheckFinite(const Eigen::Ref<const Eigen::MatrixXd>& m,
                         const char* name) {
  if (m.allFinite()) return absl::OkStatus();
  for (Eigen::Index c = 0; c < m.cols(); ++c) {
    for (Eigen::Index r = 0; r < m.rows(); ++r) {
      if (!std::isfinite(m(r, c))) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, " has a non-finite value (", m(r, c),
                         ") at row ", r, ", column ", c, " (0-based)"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Eigen::VectorXd> SolveLinearLeastSquares(
    const Eigen::MatrixXd& x, const Eigen::VectorXd& y, double l2,
    ThreadPool* pool) {
  if (!(l2 >= 0.0) || !std::isfinite(l2)) {
    return absl::InvalidArgumentError(
        absl::StrCat("l2 must be finite and >= 0, got ", l2));
  }
  if (x.rows() == 0 || x.cols() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("x must have at least one row and one column, got ",
                     x.rows(), "x", x.cols()));
  }
  if (y.size() != x.rows()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "y has ", y.size(), " values but x has ", x.rows(), " rows"));
  }
  if (absl::Status s = CheckFinite(x, "x"); !s.ok()) return s;
  if (absl::Status s = CheckFinite(y, "y"); !s.ok()) return s;

  const Eigen::Index n = x.rows();
  const Eigen::Index d = x.cols();
  const double ridge = static_cast<double>(n) * l2;
  // Split the rows into parts (one per thread, none smaller than kMinRows)
  // and each part into cache-sized blocks.
  constexpr Eigen::Index kMinRows = 1024;
  const int parts = PartCount(pool, n, 1, kMinRows);
  auto part_begin = [&](int p) { return PartBegin(n, parts, p); };
  const Eigen::Index block_rows = CacheBlockRows(d);

  // Column means, summed per part then combined in part order.
  std::vector<Eigen::RowVectorXd> sums(parts);
  std::vector<double> y_sums(parts);
  RunParts(
      pool,
      [&](int p) {
        const Eigen::Index lo = part_begin(p), len = part_begin(p + 1) - lo;
        sums[p] = x.middleRows(lo, len).colwise().sum();
        y_sums[p] = y.segment(lo, len).sum();
      },
      parts);
  Eigen::RowVectorXd x_mean = Eigen::RowVectorXd::Zero(d);
  double y_mean = 0.0;
  for (int p = 0; p < parts; ++p) {
    x_mean += sums[p];
    y_mean += y_sums[p];
  }
  x_mean /= static_cast<double>(n);
  y_mean /= static_cast<double>(n);

  // Gram matrix and right-hand side of the centred problem.
  std::vector<Eigen::MatrixXd> grams(parts);
  std::vector<Eigen::VectorXd> rhss(parts);
  RunParts(
      pool,
      [&](int p) {
        Eigen::MatrixXd& g = grams[p];
        g = Eigen::MatrixXd::Zero(d, d);
        rhss[p] = Eigen::VectorXd::Zero(d);
        Eigen::MatrixXd xc;
        Eigen::VectorXd yc;
        for (Eigen::Index lo = part_begin(p), hi = part_begin(p + 1); lo < hi;
             lo += block_rows) {
          const Eigen::Index len = std::min(block_rows, hi - lo);
          xc = x.middleRows(lo, len).rowwise() - x_mean;
          yc = y.segment(lo, len).array() - y_mean;
          g.selfadjointView<Eigen::Lower>().rankUpdate(xc.transpose());
          rhss[p].noalias() += xc.transpose() * yc;
        }
      },
      parts);
  Eigen::MatrixXd gram = std::move(grams[0]);
  Eigen::VectorXd rhs = std::move(rhss[0]);
  for (int p = 1; p < parts; ++p) {
    gram.triangularView<Eigen::Lower>() += grams[p];
    rhs += rhss[p];
  }
  gram.diagonal().array() += ridge;

  Eigen::VectorXd w;
  const Eigen::LLT<Eigen::MatrixXd, Eigen::Lower> llt(gram);
  if (llt.info() == Eigen::Success && llt.rcond() > kMinRcond) {
    w = llt.solve(rhs);
  } else {
    // Least squares on [Xc; sqrt(n*l2) I] w ~ [yc; 0], whose normal
    // equations are the ones above; minimum norm when rank-deficient.
    const Eigen::Index rows = ridge > 0.0 ? n + d : n;
    Eigen::MatrixXd a(rows, d);
    a.topRows(n) = x.rowwise() - x_mean;
    Eigen::VectorXd b = Eigen::VectorXd::Zero(rows);
    b.head(n) = y.array() - y_mean;
    if (ridge > 0.0) {
      a.bottomRows(d) = std::sqrt(ridge) * Eigen::MatrixXd::Identity(d, d);
    }
    Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod;
    cod.setThreshold(
        std::max(1e-12, std::numeric_limits<double>::epsilon() *
                            static_cast<double>(std::max(rows, d))));
    cod.compute(a);
    w = cod.solve(b);
  }

  Eigen::VectorXd result(d + 1);
  result.head(d) = w;
  result[d] = y_mean - x_mean.dot(w);
  return result;
}

}  // namespace modelserver
