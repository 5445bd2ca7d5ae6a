#include "core/train/lbfgs.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace modelserver {
namespace {

// Wolfe constants (sufficient decrease, curvature).
constexpr double kC1 = 1e-4;
constexpr double kC2 = 0.9;
// Objective evaluations per strong Wolfe line search.
constexpr int kMaxLineSearchEvaluations = 20;
// Halvings per OWL-QN backtracking line search.
constexpr int kMaxBacktracks = 40;
// A pair (s, y) is kept only when s'y > kCurvatureEpsilon * |s| |y|.
constexpr double kCurvatureEpsilon = 1e-10;
// The relative-decrease test uses tolerance * kRelativeDecreaseFactor.
constexpr double kRelativeDecreaseFactor = 1e-3;

double InfNorm(const Eigen::VectorXd& v) {
  return v.size() == 0 ? 0.0 : v.lpNorm<Eigen::Infinity>();
}

// The last `capacity` curvature pairs in a ring buffer, and the two-loop
// recursion. All storage is allocated once.
class LbfgsMemory {
 public:
  LbfgsMemory(Eigen::Index n, int capacity)
      : s_(n, capacity), y_(n, capacity), rho_(capacity), alpha_(capacity) {}

  int size() const { return size_; }
  void Clear() { size_ = 0; }

  // Adds s = w_new - w, y = g_new - g unless the curvature s'y is not safely
  // positive (then the pair is skipped and the memory is unchanged).
  void Update(const Eigen::VectorXd& w_new, const Eigen::VectorXd& w,
              const Eigen::VectorXd& g_new, const Eigen::VectorXd& g) {
    const double sy = (w_new - w).dot(g_new - g);
    const double ss = (w_new - w).squaredNorm();
    const double yy = (g_new - g).squaredNorm();
    if (!(sy > kCurvatureEpsilon * std::sqrt(ss) * std::sqrt(yy))) return;
    const int capacity = static_cast<int>(rho_.size());
    const int slot = (start_ + size_) % capacity;
    s_.col(slot) = w_new - w;
    y_.col(slot) = g_new - g;
    rho_[slot] = 1.0 / sy;
    gamma_ = sy / yy;
    if (size_ < capacity) {
      ++size_;
    } else {
      start_ = (start_ + 1) % capacity;
    }
  }

  // *d = -H g, H the L-BFGS inverse Hessian approximation with initial
  // scaling gamma = s'y / y'y of the newest pair (the identity when empty).
  void Direction(const Eigen::VectorXd& g, Eigen::VectorXd* d) {
    const int capacity = static_cast<int>(rho_.size());
    *d = -g;
    for (int k = size_ - 1; k >= 0; --k) {
      const int i = (start_ + k) % capacity;
      alpha_[i] = rho_[i] * s_.col(i).dot(*d);
      d->noalias() -= alpha_[i] * y_.col(i);
    }
    if (size_ > 0) *d *= gamma_;
    for (int k = 0; k < size_; ++k) {
      const int i = (start_ + k) % capacity;
      const double beta = rho_[i] * y_.col(i).dot(*d);
      d->noalias() += (alpha_[i] - beta) * s_.col(i);
    }
  }

 private:
  Eigen::MatrixXd s_;
  Eigen::MatrixXd y_;
  Eigen::VectorXd rho_;
  Eigen::VectorXd alpha_;
  int start_ = 0;  // slot of the oldest pair
  int size_ = 0;
  double gamma_ = 1.0;
};

// phi(alpha) = f(w + alpha d) and phi'(alpha) at one step length.
struct Trial {
  double alpha = 0.0;
  double f = 0.0;
  double slope = 0.0;
  bool finite = true;
};

// Evaluates the smooth objective along w + alpha d; the last trial point and
// its gradient are left in *w_trial and *g_trial.
class LineFunction {
 public:
  LineFunction(Objective& objective, const Eigen::VectorXd& w,
               const Eigen::VectorXd& d, Eigen::VectorXd* w_trial,
               Eigen::VectorXd* g_trial)
      : objective_(objective),
        w_(w),
        d_(d),
        w_trial_(w_trial),
        g_trial_(g_trial) {}

  Trial operator()(double alpha) {
    w_trial_->noalias() = w_ + alpha * d_;
    Trial t;
    t.alpha = alpha;
    t.f = objective_.Evaluate(*w_trial_, g_trial_);
    t.slope = g_trial_->dot(d_);
    t.finite = std::isfinite(t.f) && g_trial_->allFinite();
    return t;
  }

 private:
  Objective& objective_;
  const Eigen::VectorXd& w_;
  const Eigen::VectorXd& d_;
  Eigen::VectorXd* w_trial_;
  Eigen::VectorXd* g_trial_;
};

// Minimiser of the cubic interpolating phi and phi' at a and b (Nocedal &
// Wright eq. 3.59); NaN when it does not exist.
double CubicMinimizer(const Trial& a, const Trial& b) {
  const double d1 = a.slope + b.slope - 3.0 * (a.f - b.f) / (a.alpha - b.alpha);
  const double discriminant = d1 * d1 - a.slope * b.slope;
  if (!(discriminant >= 0)) return std::numeric_limits<double>::quiet_NaN();
  const double d2 = std::copysign(std::sqrt(discriminant), b.alpha - a.alpha);
  const double denominator = b.slope - a.slope + 2.0 * d2;
  if (denominator == 0) return std::numeric_limits<double>::quiet_NaN();
  return b.alpha - (b.alpha - a.alpha) * (b.slope + d2 - d1) / denominator;
}

// Nocedal & Wright algorithm 3.6. `lo` satisfies sufficient decrease and has
// the lowest f seen; the minimiser lies between lo and hi. Returns true with
// the accepted point in the line function's trial vectors and its value in
// *f_out. When the evaluations run out, falls back to `lo` if it moved.
bool Zoom(LineFunction& phi, double f0, double slope0, Trial lo, Trial hi,
          int evaluations, double* f_out) {
  while (evaluations < kMaxLineSearchEvaluations) {
    const double width = hi.alpha - lo.alpha;
    double alpha;
    if (hi.finite) {
      alpha = CubicMinimizer(lo, hi);
      const double low = std::min(lo.alpha, hi.alpha) + 0.1 * std::abs(width);
      const double high = std::max(lo.alpha, hi.alpha) - 0.1 * std::abs(width);
      if (!(alpha >= low && alpha <= high)) alpha = lo.alpha + 0.5 * width;
    } else {
      // No usable value at hi (overflow): shrink quickly towards lo.
      alpha = lo.alpha + 0.1 * width;
    }
    if (alpha == lo.alpha || alpha == hi.alpha) break;  // interval exhausted
    const Trial t = phi(alpha);
    ++evaluations;
    if (!t.finite || t.f > f0 + kC1 * alpha * slope0 || t.f >= lo.f) {
      hi = t;
    } else {
      if (std::abs(t.slope) <= -kC2 * slope0) {
        *f_out = t.f;
        return true;
      }
      if (t.slope * width >= 0) hi = lo;
      lo = t;
    }
  }
  if (lo.alpha > 0) {
    const Trial t = phi(lo.alpha);  // same point, same (deterministic) value
    if (t.finite) {
      *f_out = t.f;
      return true;
    }
  }
  return false;
}

// Nocedal & Wright algorithm 3.5: a step satisfying the strong Wolfe
// conditions along a descent direction (slope0 < 0), starting at alpha.
bool StrongWolfeSearch(LineFunction& phi, double f0, double slope0,
                       double alpha, double* f_out) {
  Trial previous;
  previous.f = f0;
  previous.slope = slope0;
  int evaluations = 0;
  for (;;) {
    const Trial t = phi(alpha);
    ++evaluations;
    if (!t.finite || t.f > f0 + kC1 * alpha * slope0 ||
        (evaluations > 1 && t.f >= previous.f)) {
      return Zoom(phi, f0, slope0, previous, t, evaluations, f_out);
    }
    if (std::abs(t.slope) <= -kC2 * slope0) {
      *f_out = t.f;
      return true;
    }
    if (t.slope >= 0)
      return Zoom(phi, f0, slope0, t, previous, evaluations, f_out);
    if (evaluations >= kMaxLineSearchEvaluations) {
      *f_out = t.f;  // sufficient decrease holds: accept the longest step
      return true;
    }
    previous = t;
    alpha *= 4.0;
  }
}

// OWL-QN pseudo-gradient of f + sum_j lambda_j |w_j| (Andrew & Gao, eq. 4).
void PseudoGradient(const Eigen::VectorXd& w, const Eigen::VectorXd& g,
                    const Eigen::VectorXd& lambda, Eigen::VectorXd* pg) {
  for (Eigen::Index j = 0; j < w.size(); ++j) {
    const double l = lambda[j];
    if (l == 0) {
      (*pg)[j] = g[j];
    } else if (w[j] > 0) {
      (*pg)[j] = g[j] + l;
    } else if (w[j] < 0) {
      (*pg)[j] = g[j] - l;
    } else if (g[j] + l < 0) {
      (*pg)[j] = g[j] + l;
    } else if (g[j] - l > 0) {
      (*pg)[j] = g[j] - l;
    } else {
      (*pg)[j] = 0.0;
    }
  }
}

absl::Status NotFiniteAtStart(double loss) {
  return absl::AbortedError(absl::StrCat(
      "L-BFGS diverged at the starting point (epoch 0): the training loss is ",
      loss,
      " or its gradient is not finite; check the data for extreme values or "
      "use a stronger l2 penalty"));
}

}  // namespace

absl::StatusOr<OptimizeResult> MinimizeLbfgs(const OptimizerOptions& options,
                                             Objective& objective,
                                             Eigen::VectorXd* w,
                                             const EpochCallback& callback) {
  const Eigen::Index n = w->size();
  const bool owlqn = objective.l1() > 0;
  Eigen::VectorXd lambda;  // per-parameter L1 strength (OWL-QN only)
  if (owlqn) lambda = objective.l1() * objective.penalty_mask();
  auto l1_term = [&](const Eigen::VectorXd& v) {
    return owlqn ? lambda.dot(v.cwiseAbs()) : 0.0;
  };

  Eigen::VectorXd g(n), d(n), w_new(n), g_new(n), pg_storage(owlqn ? n : 0),
      orthant(owlqn ? n : 0);
  // The (pseudo-)gradient that drives the direction: g itself without L1.
  // g and g_new exchange contents by swap, which keeps this pointer valid.
  const Eigen::VectorXd& pg = owlqn ? pg_storage : g;
  LbfgsMemory memory(n, std::min(options.lbfgs_memory, options.max_epochs));

  double f = objective.Evaluate(*w, &g) + l1_term(*w);
  if (!std::isfinite(f) || !g.allFinite()) return NotFiniteAtStart(f);
  if (owlqn) PseudoGradient(*w, g, lambda, &pg_storage);

  OptimizeResult result;
  result.final_loss = f;
  if (InfNorm(pg) <= options.tolerance * std::max(1.0, std::abs(f))) {
    result.converged = true;
    return result;
  }

  for (int epoch = 1; epoch <= options.max_epochs; ++epoch) {
    bool stepped = false;
    double f_new = 0.0;
    // Attempt 0 uses the quasi-Newton direction; when it is not a descent
    // direction or its line search fails, the memory is dropped and the
    // steepest-descent direction is tried once.
    for (int attempt = 0; attempt < 2 && !stepped; ++attempt) {
      if (attempt == 1) {
        if (memory.size() == 0) break;
        memory.Clear();
      }
      memory.Direction(pg, &d);
      if (owlqn) {
        for (Eigen::Index j = 0; j < n; ++j) {
          if (lambda[j] > 0 && d[j] * pg[j] >= 0) d[j] = 0.0;
        }
      }
      const double slope = d.dot(pg);
      if (!(slope < 0)) continue;
      // The first step (and any step after a reset) has length 1.
      const double alpha = memory.size() == 0 ? 1.0 / d.norm() : 1.0;

      if (!owlqn) {
        LineFunction phi(objective, *w, d, &w_new, &g_new);
        stepped = StrongWolfeSearch(phi, f, slope, alpha, &f_new);
        continue;
      }
      for (Eigen::Index j = 0; j < n; ++j) {
        const double wj = (*w)[j];
        orthant[j] = wj > 0      ? 1.0
                     : wj < 0    ? -1.0
                     : pg[j] < 0 ? 1.0
                     : pg[j] > 0 ? -1.0
                                 : 0.0;
      }
      double step = alpha;
      for (int k = 0; k < kMaxBacktracks; ++k, step *= 0.5) {
        w_new.noalias() = *w + step * d;
        for (Eigen::Index j = 0; j < n; ++j) {
          if (lambda[j] > 0 && w_new[j] * orthant[j] <= 0) w_new[j] = 0.0;
        }
        f_new = objective.Evaluate(w_new, &g_new) + l1_term(w_new);
        if (std::isfinite(f_new) && g_new.allFinite() &&
            f_new <= f + kC1 * pg.dot(w_new - *w)) {
          stepped = true;
          break;
        }
      }
    }
    if (!stepped) break;  // no step lowers f: the precision limit

    memory.Update(w_new, *w, g_new, g);
    const double f_old = f;
    w->swap(w_new);
    g.swap(g_new);
    f = f_new;
    if (owlqn) PseudoGradient(*w, g, lambda, &pg_storage);
    result.epochs = epoch;
    result.final_loss = f;
    result.converged =
        InfNorm(pg) <= options.tolerance * std::max(1.0, std::abs(f)) ||
        f_old - f <= options.tolerance * kRelativeDecreaseFactor *
                         std::max({1.0, std::abs(f_old), std::abs(f)});
    if (callback && !callback(epoch, f, *w)) {
      result.stopped_early = true;
      break;
    }
    if (result.converged) break;
  }
  return result;
}

}  // namespace modelserver
