#include "core/train/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "Eigen/Core"
#include "Eigen/Dense"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/util/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// Test objectives.

// mean_i (x_i'w - y_i)^2 + l1 * sum_j mask_j |w_j|.
class LeastSquares : public Objective {
 public:
  LeastSquares(Eigen::MatrixXd x, Eigen::VectorXd y, double l1 = 0.0,
               Eigen::VectorXd mask = Eigen::VectorXd())
      : x_(std::move(x)), y_(std::move(y)), l1_(l1), mask_(std::move(mask)) {
    if (mask_.size() == 0) mask_ = Eigen::VectorXd::Ones(x_.cols());
  }
  int64_t num_examples() const override { return x_.rows(); }
  int64_t num_parameters() const override { return x_.cols(); }
  double EvaluateBatch(const Eigen::VectorXd& w, absl::Span<const int64_t> rows,
                       Eigen::VectorXd* gradient) override {
    if (gradient != nullptr) gradient->setZero(w.size());
    double loss = 0.0;
    for (int64_t i : rows) {
      const double r = x_.row(i).dot(w) - y_[i];
      loss += r * r;
      if (gradient != nullptr) *gradient += 2.0 * r * x_.row(i).transpose();
    }
    const double n = static_cast<double>(rows.size());
    if (gradient != nullptr) *gradient /= n;
    return loss / n;
  }
  double Evaluate(const Eigen::VectorXd& w,
                  Eigen::VectorXd* gradient) override {
    std::vector<int64_t> all(static_cast<size_t>(x_.rows()));
    std::iota(all.begin(), all.end(), int64_t{0});
    return EvaluateBatch(w, all, gradient);
  }
  double l1() const override { return l1_; }
  const Eigen::VectorXd& penalty_mask() const override { return mask_; }

 private:
  Eigen::MatrixXd x_;
  Eigen::VectorXd y_;
  double l1_;
  Eigen::VectorXd mask_;
};

// Rosenbrock's function as a one-example objective; minimum 0 at (1, 1).
class Rosenbrock : public Objective {
 public:
  int64_t num_examples() const override { return 1; }
  int64_t num_parameters() const override { return 2; }
  double EvaluateBatch(const Eigen::VectorXd& w, absl::Span<const int64_t>,
                       Eigen::VectorXd* gradient) override {
    return Evaluate(w, gradient);
  }
  double Evaluate(const Eigen::VectorXd& w,
                  Eigen::VectorXd* gradient) override {
    const double a = w[0], b = w[1];
    if (gradient != nullptr) {
      gradient->resize(2);
      (*gradient)[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
      (*gradient)[1] = 200.0 * (b - a * a);
    }
    return (1.0 - a) * (1.0 - a) + 100.0 * (b - a * a) * (b - a * a);
  }
  const Eigen::VectorXd& penalty_mask() const override { return mask_; }

 private:
  Eigen::VectorXd mask_ = Eigen::VectorXd::Ones(2);
};

// Mean logistic loss of labels y in {0, 1} + l1 on every column but the last
// (the bias, a column of ones).
class Logistic : public Objective {
 public:
  Logistic(Eigen::MatrixXd x, Eigen::VectorXd y, double l1)
      : x_(std::move(x)),
        y_(std::move(y)),
        l1_(l1),
        mask_(Eigen::VectorXd::Ones(x_.cols())) {
    mask_[x_.cols() - 1] = 0.0;
  }
  int64_t num_examples() const override { return x_.rows(); }
  int64_t num_parameters() const override { return x_.cols(); }
  double EvaluateBatch(const Eigen::VectorXd& w, absl::Span<const int64_t> rows,
                       Eigen::VectorXd* gradient) override {
    if (gradient != nullptr) gradient->setZero(w.size());
    double loss = 0.0;
    for (int64_t i : rows) {
      const double z = x_.row(i).dot(w);
      const double softplus =
          z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
      loss += softplus - y_[i] * z;
      if (gradient != nullptr) {
        const double p = 1.0 / (1.0 + std::exp(-z));
        *gradient += (p - y_[i]) * x_.row(i).transpose();
      }
    }
    const double n = static_cast<double>(rows.size());
    if (gradient != nullptr) *gradient /= n;
    return loss / n;
  }
  double Evaluate(const Eigen::VectorXd& w,
                  Eigen::VectorXd* gradient) override {
    std::vector<int64_t> all(static_cast<size_t>(x_.rows()));
    std::iota(all.begin(), all.end(), int64_t{0});
    return EvaluateBatch(w, all, gradient);
  }
  double l1() const override { return l1_; }
  const Eigen::VectorXd& penalty_mask() const override { return mask_; }

 private:
  Eigen::MatrixXd x_;
  Eigen::VectorXd y_;
  double l1_;
  Eigen::VectorXd mask_;
};

// Forwards to another objective and records every batch it is asked for.
class Recording : public Objective {
 public:
  explicit Recording(Objective* inner) : inner_(inner) {}
  int64_t num_examples() const override { return inner_->num_examples(); }
  int64_t num_parameters() const override { return inner_->num_parameters(); }
  double EvaluateBatch(const Eigen::VectorXd& w, absl::Span<const int64_t> rows,
                       Eigen::VectorXd* gradient) override {
    const double loss = inner_->EvaluateBatch(w, rows, gradient);
    batches.emplace_back(rows.begin(), rows.end());
    losses.push_back(loss);
    return loss;
  }
  double Evaluate(const Eigen::VectorXd& w,
                  Eigen::VectorXd* gradient) override {
    return inner_->Evaluate(w, gradient);
  }
  double l1() const override { return inner_->l1(); }
  const Eigen::VectorXd& penalty_mask() const override {
    return inner_->penalty_mask();
  }

  std::vector<std::vector<int64_t>> batches;
  std::vector<double> losses;

 private:
  Objective* inner_;
};

// sqrt(1 + w^2) summed over coordinates (minimum at 0), undefined (NaN)
// outside |w_j| < 5: quasi-Newton steps on it overshoot out of the domain.
class PseudoHuberWithDomain : public Objective {
 public:
  int64_t num_examples() const override { return 1; }
  int64_t num_parameters() const override { return 2; }
  double EvaluateBatch(const Eigen::VectorXd& w, absl::Span<const int64_t>,
                       Eigen::VectorXd* gradient) override {
    return Evaluate(w, gradient);
  }
  double Evaluate(const Eigen::VectorXd& w,
                  Eigen::VectorXd* gradient) override {
    ++evaluations;
    if (gradient != nullptr) gradient->resize(2);
    double f = 0;
    for (int j = 0; j < 2; ++j) {
      if (std::abs(w[j]) >= 5) {
        ++non_finite;
        if (gradient != nullptr) gradient->setConstant(std::nan(""));
        return std::nan("");
      }
      const double r = std::sqrt(1 + w[j] * w[j]);
      f += r;
      if (gradient != nullptr) (*gradient)[j] = w[j] / r;
    }
    return f;
  }
  const Eigen::VectorXd& penalty_mask() const override { return mask_; }

  int evaluations = 0;
  int non_finite = 0;

 private:
  Eigen::VectorXd mask_ = Eigen::VectorXd::Ones(2);
};

// Always NaN.
class NanObjective : public Objective {
 public:
  int64_t num_examples() const override { return 4; }
  int64_t num_parameters() const override { return 2; }
  double EvaluateBatch(const Eigen::VectorXd& w, absl::Span<const int64_t>,
                       Eigen::VectorXd* gradient) override {
    return Evaluate(w, gradient);
  }
  double Evaluate(const Eigen::VectorXd&, Eigen::VectorXd* gradient) override {
    if (gradient != nullptr) gradient->setZero(2);
    return std::numeric_limits<double>::quiet_NaN();
  }
  const Eigen::VectorXd& penalty_mask() const override { return mask_; }

 private:
  Eigen::VectorXd mask_ = Eigen::VectorXd::Ones(2);
};

// A noise-free regression problem: y = x w_star exactly, so w_star is the
// unique minimum (loss 0) and every example's gradient vanishes there.
struct Regression {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Eigen::VectorXd w_star;
};
Regression MakeRegression(int n, int p, uint64_t seed) {
  Rng rng(seed);
  Regression r;
  r.x.resize(n, p);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < p; ++j) r.x(i, j) = rng.Normal();
  }
  r.w_star.resize(p);
  for (int j = 0; j < p; ++j) r.w_star[j] = 0.5 * (j + 1) * (j % 2 ? -1 : 1);
  r.y = r.x * r.w_star;
  return r;
}

// Orthogonal lasso: rows of the 4x4 Hadamard matrix (columns: bias, x1, x2,
// x3, with mean x_k x_l = delta_kl), repeated `copies` times, and
// y = 0.7 + 2.0 x1 + 0.3 x2 - 1.2 x3. With l1 = 1 on x1..x3 only, the
// minimiser of mean (y - x w)^2 + l1 |w| is the soft threshold of each
// coefficient by l1 / 2: (0.7, 1.5, 0, -0.7).
constexpr double kLassoL1 = 1.0;
LeastSquares MakeLasso(int copies) {
  Eigen::Matrix4d h;
  h << 1, 1, 1, 1,   //
      1, -1, 1, -1,  //
      1, 1, -1, -1,  //
      1, -1, -1, 1;
  const Eigen::Vector4d c(0.7, 2.0, 0.3, -1.2);
  Eigen::MatrixXd x(4 * copies, 4);
  for (int k = 0; k < copies; ++k) x.middleRows(4 * k, 4) = h;
  Eigen::VectorXd y = x * c;
  Eigen::VectorXd mask(4);
  mask << 0, 1, 1, 1;
  return LeastSquares(std::move(x), std::move(y), kLassoL1, std::move(mask));
}
const Eigen::Vector4d kLassoSolution(0.7, 1.5, 0.0, -0.7);

// Logistic data: labels depend on the first two of four features; the last
// column is the bias.
Logistic MakeLogistic(double l1) {
  Rng rng(11);
  const int n = 200;
  Eigen::MatrixXd x(n, 5);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < 4; ++j) x(i, j) = rng.Normal();
    x(i, 4) = 1.0;
    const double z = 1.5 * x(i, 0) - 1.0 * x(i, 1) + 0.3;
    y[i] = rng.Uniform() < 1.0 / (1.0 + std::exp(-z)) ? 1.0 : 0.0;
  }
  return Logistic(std::move(x), std::move(y), l1);
}

double FullObjective(Objective& objective, const Eigen::VectorXd& w) {
  return objective.Evaluate(w, nullptr) +
         objective.l1() *
             objective.penalty_mask().cwiseProduct(w.cwiseAbs()).sum();
}

bool BitIdentical(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  if (a.size() != b.size()) return false;
  for (Eigen::Index j = 0; j < a.size(); ++j) {
    if (std::memcmp(&a[j], &b[j], sizeof(double)) != 0) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// The test objectives themselves.

void ExpectGradientMatchesFiniteDifferences(Objective& objective,
                                            const Eigen::VectorXd& w) {
  Eigen::VectorXd g;
  objective.Evaluate(w, &g);
  ASSERT_EQ(g.size(), w.size());
  for (Eigen::Index j = 0; j < w.size(); ++j) {
    const double h = 1e-6;
    Eigen::VectorXd plus = w, minus = w;
    plus[j] += h;
    minus[j] -= h;
    const double numeric = (objective.Evaluate(plus, nullptr) -
                            objective.Evaluate(minus, nullptr)) /
                           (2 * h);
    EXPECT_NEAR(g[j], numeric, 1e-6 * std::max(1.0, std::abs(numeric)))
        << "parameter " << j;
  }
}

TEST(TestObjectivesTest, GradientsMatchFiniteDifferences) {
  Regression r = MakeRegression(20, 3, 1);
  LeastSquares ls(r.x, r.y);
  ExpectGradientMatchesFiniteDifferences(ls, Eigen::Vector3d(0.3, -0.2, 1.0));
  Rosenbrock rosenbrock;
  ExpectGradientMatchesFiniteDifferences(rosenbrock,
                                         Eigen::Vector2d(-1.2, 1.0));
  Logistic logistic = MakeLogistic(0.0);
  Eigen::VectorXd w(5);
  w << 0.5, -0.4, 0.1, 0.2, -0.3;
  ExpectGradientMatchesFiniteDifferences(logistic, w);
}

// ---------------------------------------------------------------------------
// Names and options.

TEST(OptimizerKindTest, NamesRoundTrip) {
  for (OptimizerKind kind :
       {OptimizerKind::kAuto, OptimizerKind::kExact, OptimizerKind::kLbfgs,
        OptimizerKind::kSgd, OptimizerKind::kAdam}) {
    auto parsed = ParseOptimizerKind(OptimizerKindName(kind));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, kind);
  }
  EXPECT_EQ(OptimizerKindName(OptimizerKind::kLbfgs), "lbfgs");
}

TEST(OptimizerKindTest, ParseRejectsUnknownName) {
  for (const char* name : {"rmsprop", "Adam", "l-bfgs", ""}) {
    auto parsed = ParseOptimizerKind(name);
    ASSERT_FALSE(parsed.ok()) << name;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(parsed.status().message());
    EXPECT_THAT(message, HasSubstr(absl::StrCat("\"", name, "\"")));
    EXPECT_THAT(message, HasSubstr("auto, exact, lbfgs, sgd, adam"));
  }
}

TEST(ValidateOptimizerOptionsTest, DefaultsAreValidForEveryKind) {
  for (OptimizerKind kind :
       {OptimizerKind::kAuto, OptimizerKind::kExact, OptimizerKind::kLbfgs,
        OptimizerKind::kSgd, OptimizerKind::kAdam}) {
    EXPECT_TRUE(ValidateOptimizerOptions(kind, OptimizerOptions()).ok())
        << OptimizerKindName(kind);
  }
}

struct BadOptionCase {
  OptimizerKind kind;
  const char* field;
  void (*mutate)(OptimizerOptions*);
};

TEST(ValidateOptimizerOptionsTest, EachBadOptionIsNamed) {
  const std::vector<BadOptionCase> cases = {
      {OptimizerKind::kSgd, "learning_rate",
       [](OptimizerOptions* o) { o->learning_rate = 0.0; }},
      {OptimizerKind::kAdam, "learning_rate",
       [](OptimizerOptions* o) { o->learning_rate = -1.0; }},
      {OptimizerKind::kSgd, "learning_rate",
       [](OptimizerOptions* o) {
         o->learning_rate = std::numeric_limits<double>::quiet_NaN();
       }},
      {OptimizerKind::kAdam, "learning_rate",
       [](OptimizerOptions* o) {
         o->learning_rate = std::numeric_limits<double>::infinity();
       }},
      {OptimizerKind::kLbfgs, "max_epochs",
       [](OptimizerOptions* o) { o->max_epochs = 0; }},
      {OptimizerKind::kSgd, "max_epochs",
       [](OptimizerOptions* o) { o->max_epochs = -3; }},
      {OptimizerKind::kSgd, "batch_size",
       [](OptimizerOptions* o) { o->batch_size = 0; }},
      {OptimizerKind::kAdam, "batch_size",
       [](OptimizerOptions* o) { o->batch_size = -1; }},
      {OptimizerKind::kSgd, "momentum",
       [](OptimizerOptions* o) { o->momentum = 1.0; }},
      {OptimizerKind::kSgd, "momentum",
       [](OptimizerOptions* o) { o->momentum = -0.1; }},
      {OptimizerKind::kSgd, "momentum",
       [](OptimizerOptions* o) {
         o->momentum = std::numeric_limits<double>::quiet_NaN();
       }},
      {OptimizerKind::kAdam, "beta1",
       [](OptimizerOptions* o) { o->beta1 = 1.0; }},
      {OptimizerKind::kAdam, "beta1",
       [](OptimizerOptions* o) { o->beta1 = -0.5; }},
      {OptimizerKind::kAdam, "beta2",
       [](OptimizerOptions* o) { o->beta2 = 1.5; }},
      {OptimizerKind::kAdam, "epsilon",
       [](OptimizerOptions* o) { o->epsilon = 0.0; }},
      {OptimizerKind::kLbfgs, "lbfgs_memory",
       [](OptimizerOptions* o) { o->lbfgs_memory = 0; }},
      {OptimizerKind::kLbfgs, "lbfgs_memory",
       [](OptimizerOptions* o) { o->lbfgs_memory = 1000000; }},
      {OptimizerKind::kLbfgs, "tolerance",
       [](OptimizerOptions* o) { o->tolerance = -1e-6; }},
      {OptimizerKind::kAuto, "momentum",
       [](OptimizerOptions* o) { o->momentum = 2.0; }},
  };
  for (const BadOptionCase& c : cases) {
    OptimizerOptions options;
    c.mutate(&options);
    const absl::Status status = ValidateOptimizerOptions(c.kind, options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << c.field << " for " << OptimizerKindName(c.kind);
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.field));

    // Minimize validates too, before touching the objective.
    Rosenbrock objective;
    Eigen::VectorXd w = Eigen::Vector2d(0, 0);
    if (c.kind != OptimizerKind::kAuto) {
      auto result = Minimize(c.kind, options, objective, &w);
      ASSERT_FALSE(result.ok());
      EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(result.status().message()), HasSubstr(c.field));
      EXPECT_EQ(w, Eigen::VectorXd(Eigen::Vector2d(0, 0)));
    }
  }
}

TEST(ValidateOptimizerOptionsTest, IgnoresOptionsOfOtherOptimizers) {
  OptimizerOptions options;
  options.learning_rate = 0.0;  // not used by L-BFGS
  options.momentum = 5.0;       // not used by L-BFGS or Adam
  EXPECT_TRUE(ValidateOptimizerOptions(OptimizerKind::kLbfgs, options).ok());
  options.learning_rate = 0.001;
  EXPECT_TRUE(ValidateOptimizerOptions(OptimizerKind::kAdam, options).ok());
  options.lbfgs_memory = 0;  // not used by SGD
  options.momentum = 0.5;
  EXPECT_TRUE(ValidateOptimizerOptions(OptimizerKind::kSgd, options).ok());
}

TEST(MinimizeTest, RejectsExactAndAuto) {
  Rosenbrock objective;
  Eigen::VectorXd w = Eigen::Vector2d(0, 0);
  for (OptimizerKind kind : {OptimizerKind::kExact, OptimizerKind::kAuto}) {
    auto result = Minimize(kind, OptimizerOptions(), objective, &w);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(result.status().message()),
                HasSubstr(std::string(OptimizerKindName(kind))));
  }
}

TEST(MinimizeTest, RejectsParameterCountMismatch) {
  Rosenbrock objective;
  Eigen::VectorXd w = Eigen::Vector3d(0, 0, 0);
  for (OptimizerKind kind :
       {OptimizerKind::kLbfgs, OptimizerKind::kSgd, OptimizerKind::kAdam}) {
    auto result = Minimize(kind, OptimizerOptions(), objective, &w);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(result.status().message()),
                HasSubstr("3 parameters but the objective has 2"));
  }
}

TEST(MinimizeTest, RejectsNonFiniteStartingPoint) {
  Rosenbrock objective;
  Eigen::VectorXd w =
      Eigen::Vector2d(0, std::numeric_limits<double>::infinity());
  auto result =
      Minimize(OptimizerKind::kLbfgs, OptimizerOptions(), objective, &w);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("starting parameter 1"));
}

// ---------------------------------------------------------------------------
// L-BFGS and OWL-QN.

TEST(LbfgsTest, ReachesTheMinimumOfAQuadratic) {
  Regression r = MakeRegression(50, 5, 2);
  LeastSquares objective(r.x, r.y);
  OptimizerOptions options;
  options.tolerance = 1e-10;
  Eigen::VectorXd w = Eigen::VectorXd::Zero(5);
  auto result = Minimize(OptimizerKind::kLbfgs, options, objective, &w);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->converged);
  EXPECT_FALSE(result->stopped_early);
  EXPECT_LT(result->epochs, 50);
  EXPECT_LT((w - r.w_star).lpNorm<Eigen::Infinity>(), 1e-8);
  EXPECT_DOUBLE_EQ(result->final_loss, objective.Evaluate(w, nullptr));
}

TEST(LbfgsTest, ReachesTheMinimumOfRosenbrock) {
  Rosenbrock objective;
  OptimizerOptions options;
  options.tolerance = 1e-10;
  Eigen::VectorXd w = Eigen::Vector2d(-1.2, 1.0);
  auto result = Minimize(OptimizerKind::kLbfgs, options, objective, &w);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->converged);
  EXPECT_NEAR(w[0], 1.0, 1e-6);
  EXPECT_NEAR(w[1], 1.0, 1e-6);
  EXPECT_LT(result->final_loss, 1e-12);
}

TEST(LbfgsTest, LineSearchBacksOffFromNonFiniteValues) {
  PseudoHuberWithDomain objective;
  OptimizerOptions options;
  options.tolerance = 1e-10;
  Eigen::VectorXd w = Eigen::Vector2d(4.0, -3.0);
  auto result = Minimize(OptimizerKind::kLbfgs, options, objective, &w);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->converged);
  EXPECT_GT(objective.non_finite, 0);  // the test exercises what it says
  EXPECT_NEAR(w[0], 0.0, 1e-8);
  EXPECT_NEAR(w[1], 0.0, 1e-8);
  EXPECT_DOUBLE_EQ(result->final_loss, 2.0);
}

TEST(LbfgsTest, ZeroToleranceStopsAtThePrecisionLimit) {
  Regression r = MakeRegression(50, 5, 2);
  LeastSquares objective(r.x, r.y);
  OptimizerOptions options;
  options.tolerance = 0.0;
  options.max_epochs = 1000;
  Eigen::VectorXd w = Eigen::VectorXd::Zero(5);
  auto result = Minimize(OptimizerKind::kLbfgs, options, objective, &w);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_LT(result->epochs, 100);
  EXPECT_LT((w - r.w_star).lpNorm<Eigen::Infinity>(), 1e-12);
}

TEST(LbfgsTest, StopsAtMaxEpochsWithoutConverging) {
  Rosenbrock objective;
  OptimizerOptions options;
  options.max_epochs = 5;
  Eigen::VectorXd w = Eigen::Vector2d(-1.2, 1.0);
  auto result = Minimize(OptimizerKind::kLbfgs, options, objective, &w);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->converged);
  EXPECT_EQ(result->epochs, 5);
  EXPECT_LT(result->final_loss, 24.2);  // f(-1.2, 1) = 24.2
}

TEST(LbfgsTest, StartingAtTheMinimumRunsNoEpoch) {
  Rosenbrock objective;
  Eigen::VectorXd w = Eigen::Vector2d(1.0, 1.0);
  int calls = 0;
  auto result = Minimize(OptimizerKind::kLbfgs, OptimizerOptions(), objective,
                         &w, [&](int, double, const Eigen::VectorXd&) {
                           ++calls;
                           return true;
                         });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->converged);
  EXPECT_EQ(result->epochs, 0);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(result->final_loss, 0.0);
}

TEST(LbfgsTest, CallbackSeesDecreasingObjectiveAtEachIterate) {
  Rosenbrock objective;
  Eigen::VectorXd w = Eigen::Vector2d(-1.2, 1.0);
  std::vector<int> epochs;
  std::vector<double> losses;
  auto result =
      Minimize(OptimizerKind::kLbfgs, OptimizerOptions(), objective, &w,
               [&](int epoch, double loss, const Eigen::VectorXd& current) {
                 epochs.push_back(epoch);
                 losses.push_back(loss);
                 EXPECT_EQ(loss, objective.Evaluate(current, nullptr));
                 return true;
               });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(static_cast<int>(epochs.size()), result->epochs);
  for (size_t i = 0; i < epochs.size(); ++i) {
    EXPECT_EQ(epochs[i], static_cast<int>(i) + 1);
    EXPECT_LT(losses[i], i == 0 ? 24.2 : losses[i - 1]);
  }
  EXPECT_EQ(losses.back(), result->final_loss);
}

TEST(OwlqnTest, LassoGivesExactZerosAndSoftThresholdedValues) {
  LeastSquares objective = MakeLasso(1);
  OptimizerOptions options;
  options.tolerance = 1e-10;
  Eigen::VectorXd w = Eigen::VectorXd::Zero(4);
  std::vector<double> losses;
  auto result =
      Minimize(OptimizerKind::kLbfgs, options, objective, &w,
               [&](int, double loss, const Eigen::VectorXd& current) {
                 EXPECT_DOUBLE_EQ(loss, FullObjective(objective, current));
                 losses.push_back(loss);
                 return true;
               });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->converged);
  EXPECT_EQ(w[2], 0.0);  // exactly
  for (int j : {0, 1, 3}) EXPECT_NEAR(w[j], kLassoSolution[j], 1e-6) << j;
  EXPECT_DOUBLE_EQ(result->final_loss, FullObjective(objective, w));
  for (size_t i = 1; i < losses.size(); ++i)
    EXPECT_LE(losses[i], losses[i - 1]);
}

TEST(OwlqnTest, LassoFromTheWrongSideCrossesZeroOnce) {
  // Starting with every coefficient on the wrong side of zero.
  LeastSquares objective = MakeLasso(1);
  OptimizerOptions options;
  options.tolerance = 1e-10;
  Eigen::VectorXd w(4);
  w << -3, -2, -1, 4;
  auto result = Minimize(OptimizerKind::kLbfgs, options, objective, &w);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(w[2], 0.0);
  for (int j : {0, 1, 3}) EXPECT_NEAR(w[j], kLassoSolution[j], 1e-6) << j;
}

TEST(OwlqnTest, StrongL1ZeroesEveryPenalisedWeightOfALogisticModel) {
  // With every weight at 0 the best bias is the log-odds of the labels.
  Logistic objective = MakeLogistic(10.0);
  Eigen::VectorXd w = Eigen::VectorXd::Constant(5, 0.5);
  auto result =
      Minimize(OptimizerKind::kLbfgs, OptimizerOptions(), objective, &w);
  ASSERT_TRUE(result.ok()) << result.status();
  for (int j = 0; j < 4; ++j) EXPECT_EQ(w[j], 0.0) << j;
  // The bias column is all ones, so the loss gradient at w = 0 for the bias
  // is mean(sigmoid(0) - y) = 0.5 - mean label.
  Eigen::VectorXd g;
  objective.Evaluate(Eigen::VectorXd::Zero(5), &g);
  const double mean_label = 0.5 - g[4];
  EXPECT_NEAR(w[4], std::log(mean_label / (1 - mean_label)), 1e-6);
}

TEST(OwlqnTest, LogisticL1SatisfiesTheOptimalityConditions) {
  Logistic objective = MakeLogistic(0.05);
  OptimizerOptions options;
  options.tolerance = 1e-9;
  options.max_epochs = 500;
  Eigen::VectorXd w = Eigen::VectorXd::Zero(5);
  auto result = Minimize(OptimizerKind::kLbfgs, options, objective, &w);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->converged);
  Eigen::VectorXd g;
  objective.Evaluate(w, &g);
  int zeros = 0;
  for (int j = 0; j < 4; ++j) {
    if (w[j] == 0.0) {
      ++zeros;
      EXPECT_LE(std::abs(g[j]), 0.05 + 1e-6) << j;
    } else {
      EXPECT_NEAR(g[j] + 0.05 * (w[j] > 0 ? 1 : -1), 0.0, 1e-6) << j;
    }
  }
  EXPECT_NEAR(g[4], 0.0, 1e-6);  // the bias is not penalised
  // The two informative features survive, at least one noise feature is 0.
  EXPECT_GT(w[0], 0.5);
  EXPECT_LT(w[1], -0.3);
  EXPECT_GE(zeros, 1);
}

TEST(LbfgsTest, AbortsWhenTheObjectiveIsNotFinite) {
  NanObjective objective;
  Eigen::VectorXd w = Eigen::Vector2d(0, 0);
  auto result =
      Minimize(OptimizerKind::kLbfgs, OptimizerOptions(), objective, &w);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("L-BFGS"));
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("epoch 0"));
}

// ---------------------------------------------------------------------------
// SGD and Adam.

struct FirstOrderCase {
  const char* name;
  OptimizerKind kind;
  double learning_rate;
  double momentum;
  bool nesterov;
  int epochs;
  double tolerance;  // on max_j |w_j - w*_j|
};

class FirstOrderTest : public ::testing::TestWithParam<FirstOrderCase> {};

TEST_P(FirstOrderTest, ReachesTheLeastSquaresMinimum) {
  const FirstOrderCase& c = GetParam();
  Regression r = MakeRegression(64, 4, 3);
  LeastSquares objective(r.x, r.y);
  OptimizerOptions options;
  options.learning_rate = c.learning_rate;
  options.momentum = c.momentum;
  options.nesterov = c.nesterov;
  options.max_epochs = c.epochs;
  options.batch_size = 8;
  Eigen::VectorXd w = Eigen::VectorXd::Zero(4);
  auto result = Minimize(c.kind, options, objective, &w);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->epochs, c.epochs);
  EXPECT_FALSE(result->converged);
  EXPECT_LT((w - r.w_star).lpNorm<Eigen::Infinity>(), c.tolerance);
  EXPECT_DOUBLE_EQ(result->final_loss, objective.Evaluate(w, nullptr));
}

INSTANTIATE_TEST_SUITE_P(
    Optimizers, FirstOrderTest,
    ::testing::Values(FirstOrderCase{"Sgd", OptimizerKind::kSgd, 0.05, 0.0,
                                     false, 100, 1e-6},
                      FirstOrderCase{"Momentum", OptimizerKind::kSgd, 0.02, 0.9,
                                     false, 100, 1e-6},
                      FirstOrderCase{"Nesterov", OptimizerKind::kSgd, 0.02, 0.9,
                                     true, 100, 1e-6},
                      FirstOrderCase{"Adam", OptimizerKind::kAdam, 0.01, 0.0,
                                     false, 300, 1e-8}),
    [](const ::testing::TestParamInfo<FirstOrderCase>& info) {
      return std::string(info.param.name);
    });

struct ProximalCase {
  const char* name;
  OptimizerKind kind;
  double learning_rate;
  double momentum;
  bool nesterov;
  int epochs;
  double tolerance;
};

class ProximalTest : public ::testing::TestWithParam<ProximalCase> {};

TEST_P(ProximalTest, LassoGivesExactZeros) {
  const ProximalCase& c = GetParam();
  LeastSquares objective = MakeLasso(8);  // 32 rows, full batches
  OptimizerOptions options;
  options.learning_rate = c.learning_rate;
  options.momentum = c.momentum;
  options.nesterov = c.nesterov;
  options.max_epochs = c.epochs;
  options.batch_size = 32;
  Eigen::VectorXd w(4);
  w << 1, 1, 1, 1;
  auto result = Minimize(c.kind, options, objective, &w);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(w[2], 0.0);  // exactly
  for (int j : {0, 1, 3}) EXPECT_NEAR(w[j], kLassoSolution[j], c.tolerance);
  EXPECT_DOUBLE_EQ(result->final_loss, FullObjective(objective, w));
}

INSTANTIATE_TEST_SUITE_P(
    Optimizers, ProximalTest,
    ::testing::Values(ProximalCase{"Sgd", OptimizerKind::kSgd, 0.1, 0.0, false,
                                   200, 1e-9},
                      ProximalCase{"Momentum", OptimizerKind::kSgd, 0.05, 0.9,
                                   false, 800, 1e-9},
                      ProximalCase{"Nesterov", OptimizerKind::kSgd, 0.05, 0.9,
                                   true, 800, 1e-9},
                      ProximalCase{"Adam", OptimizerKind::kAdam, 0.01, 0.0,
                                   false, 2000, 1e-8}),
    [](const ::testing::TestParamInfo<ProximalCase>& info) {
      return std::string(info.param.name);
    });

TEST(SgdTest, EpochsShuffleIntoBatchesAndReportTheWeightedMeanLoss) {
  Regression r = MakeRegression(10, 2, 4);
  LeastSquares inner(r.x, r.y);
  Recording objective(&inner);
  OptimizerOptions options;
  options.batch_size = 4;
  options.max_epochs = 3;
  options.learning_rate = 0.01;
  Eigen::VectorXd w = Eigen::VectorXd::Zero(2);
  std::vector<double> losses;
  auto result =
      Minimize(OptimizerKind::kSgd, options, objective, &w,
               [&](int epoch, double loss, const Eigen::VectorXd&) {
                 EXPECT_EQ(epoch, static_cast<int>(losses.size()) + 1);
                 losses.push_back(loss);
                 return true;
               });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(objective.batches.size(), 9u);  // 3 epochs x (4 + 4 + 2)
  ASSERT_EQ(losses.size(), 3u);
  std::vector<std::vector<int64_t>> orders;
  for (int e = 0; e < 3; ++e) {
    std::vector<int64_t> order;
    double weighted = 0;
    for (int b = 0; b < 3; ++b) {
      const auto& batch = objective.batches[3 * e + b];
      EXPECT_EQ(batch.size(), b < 2 ? 4u : 2u);
      order.insert(order.end(), batch.begin(), batch.end());
      weighted += batch.size() * objective.losses[3 * e + b];
    }
    EXPECT_DOUBLE_EQ(losses[e], weighted / 10);
    std::vector<int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> identity(10);
    std::iota(identity.begin(), identity.end(), int64_t{0});
    EXPECT_EQ(sorted, identity) << "epoch " << e + 1 << " is a permutation";
    EXPECT_NE(order, identity);
    orders.push_back(order);
  }
  EXPECT_NE(orders[0], orders[1]);  // a new shuffle every epoch
  EXPECT_NE(orders[1], orders[2]);
}

TEST(SgdTest, WithoutShuffleBatchesFollowTheExampleOrder) {
  Regression r = MakeRegression(10, 2, 4);
  LeastSquares inner(r.x, r.y);
  Recording objective(&inner);
  OptimizerOptions options;
  options.batch_size = 100;  // clipped to the 10 examples
  options.max_epochs = 2;
  options.shuffle = false;
  Eigen::VectorXd w = Eigen::VectorXd::Zero(2);
  double first_loss = 0;
  auto result = Minimize(OptimizerKind::kSgd, options, objective, &w,
                         [&](int epoch, double loss, const Eigen::VectorXd&) {
                           if (epoch == 1) first_loss = loss;
                           return true;
                         });
  ASSERT_TRUE(result.ok()) << result.status();
  std::vector<int64_t> identity(10);
  std::iota(identity.begin(), identity.end(), int64_t{0});
  ASSERT_EQ(objective.batches.size(), 2u);
  EXPECT_EQ(objective.batches[0], identity);
  EXPECT_EQ(objective.batches[1], identity);
  // One full batch: the epoch loss is the loss at the starting point.
  EXPECT_DOUBLE_EQ(first_loss,
                   inner.Evaluate(Eigen::VectorXd::Zero(2), nullptr));
}

TEST(SgdTest, PlainStepIsMinusLearningRateTimesGradient) {
  Regression r = MakeRegression(10, 2, 5);
  LeastSquares objective(r.x, r.y);
  OptimizerOptions options;
  options.batch_size = 10;
  options.max_epochs = 2;
  options.momentum = 0.5;
  options.learning_rate = 0.1;
  Eigen::VectorXd w = Eigen::VectorXd::Zero(2);
  auto result = Minimize(OptimizerKind::kSgd, options, objective, &w);
  ASSERT_TRUE(result.ok()) << result.status();
  // By hand: v1 = -lr g(w0), w1 = w0 + v1; v2 = mu v1 - lr g(w1), w2 = w1 + v2.
  Eigen::VectorXd g0, g1;
  const Eigen::VectorXd w0 = Eigen::VectorXd::Zero(2);
  objective.Evaluate(w0, &g0);
  const Eigen::VectorXd v1 = -0.1 * g0;
  const Eigen::VectorXd w1 = w0 + v1;
  objective.Evaluate(w1, &g1);
  const Eigen::VectorXd w2 = w1 + (0.5 * v1 - 0.1 * g1);
  EXPECT_NEAR(w[0], w2[0], 1e-14);
  EXPECT_NEAR(w[1], w2[1], 1e-14);
}

TEST(SgdTest, NesterovEvaluatesTheGradientAtTheLookAheadPoint) {
  Regression r = MakeRegression(10, 2, 5);
  LeastSquares objective(r.x, r.y);
  OptimizerOptions options;
  options.batch_size = 10;
  options.max_epochs = 2;
  options.momentum = 0.5;
  options.nesterov = true;
  options.learning_rate = 0.1;
  Eigen::VectorXd w = Eigen::VectorXd::Zero(2);
  auto result = Minimize(OptimizerKind::kSgd, options, objective, &w);
  ASSERT_TRUE(result.ok()) << result.status();
  Eigen::VectorXd g0, g1;
  const Eigen::VectorXd w0 = Eigen::VectorXd::Zero(2);
  objective.Evaluate(w0, &g0);
  const Eigen::VectorXd v1 = -0.1 * g0;
  const Eigen::VectorXd w1 = w0 + v1;
  objective.Evaluate(w1 + 0.5 * v1, &g1);
  const Eigen::VectorXd w2 = w1 + (0.5 * v1 - 0.1 * g1);
  EXPECT_NEAR(w[0], w2[0], 1e-14);
  EXPECT_NEAR(w[1], w2[1], 1e-14);
}

TEST(AdamTest, FirstStepMovesEachCoordinateByTheLearningRate) {
  // With bias correction, step 1 is -lr * g / (|g| + eps) per coordinate.
  Regression r = MakeRegression(10, 3, 6);
  LeastSquares objective(r.x, r.y);
  OptimizerOptions options;
  options.batch_size = 10;
  options.max_epochs = 1;
  options.learning_rate = 0.001;
  Eigen::VectorXd w = Eigen::VectorXd::Zero(3);
  Eigen::VectorXd g;
  objective.Evaluate(w, &g);
  auto result = Minimize(OptimizerKind::kAdam, options, objective, &w);
  ASSERT_TRUE(result.ok()) << result.status();
  for (int j = 0; j < 3; ++j) {
    EXPECT_NEAR(w[j], -0.001 * g[j] / (std::abs(g[j]) + 1e-8), 1e-15) << j;
  }
}

// ---------------------------------------------------------------------------
// Shared behaviour.

class AllOptimizersTest : public ::testing::TestWithParam<OptimizerKind> {};

TEST_P(AllOptimizersTest, CallbackSeesEpochsInOrderAndCanStop) {
  Regression r = MakeRegression(40, 3, 7);
  LeastSquares objective(r.x, r.y);
  OptimizerOptions options;
  options.batch_size = 8;
  options.tolerance = 0.0;
  std::vector<int> epochs;
  std::vector<double> losses;
  Eigen::VectorXd seen;
  Eigen::VectorXd w = Eigen::VectorXd::Zero(3);
  auto result =
      Minimize(GetParam(), options, objective, &w,
               [&](int epoch, double loss, const Eigen::VectorXd& current) {
                 epochs.push_back(epoch);
                 losses.push_back(loss);
                 seen = current;
                 return epoch < 3;
               });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->stopped_early);
  EXPECT_EQ(result->epochs, 3);
  EXPECT_EQ(epochs, (std::vector<int>{1, 2, 3}));
  for (double loss : losses) {
    EXPECT_TRUE(std::isfinite(loss));
    EXPECT_GT(loss, 0.0);
  }
  EXPECT_LT(losses[2], losses[0]);
  EXPECT_TRUE(BitIdentical(seen, w));
  EXPECT_DOUBLE_EQ(result->final_loss, objective.Evaluate(w, nullptr));
}

TEST_P(AllOptimizersTest, SameOptionsGiveBitIdenticalResults) {
  Logistic objective = MakeLogistic(0.01);
  OptimizerOptions options;
  options.max_epochs = 20;
  options.batch_size = 16;
  auto run = [&](Eigen::VectorXd* w, std::vector<double>* losses) {
    *w = Eigen::VectorXd::Zero(5);
    return Minimize(GetParam(), options, objective, w,
                    [&](int, double loss, const Eigen::VectorXd&) {
                      losses->push_back(loss);
                      return true;
                    });
  };
  Eigen::VectorXd w1, w2;
  std::vector<double> losses1, losses2;
  auto r1 = run(&w1, &losses1);
  auto r2 = run(&w2, &losses2);
  ASSERT_TRUE(r1.ok()) << r1.status();
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_TRUE(BitIdentical(w1, w2));
  EXPECT_EQ(r1->epochs, r2->epochs);
  EXPECT_EQ(std::memcmp(&r1->final_loss, &r2->final_loss, sizeof(double)), 0);
  EXPECT_EQ(losses1, losses2);
  EXPECT_FALSE(losses1.empty());
}

INSTANTIATE_TEST_SUITE_P(Optimizers, AllOptimizersTest,
                         ::testing::Values(OptimizerKind::kLbfgs,
                                           OptimizerKind::kSgd,
                                           OptimizerKind::kAdam),
                         [](const ::testing::TestParamInfo<OptimizerKind>& i) {
                           return std::string(OptimizerKindName(i.param));
                         });

TEST(DeterminismTest, DifferentSeedsGiveDifferentSgdPaths) {
  Regression r = MakeRegression(40, 3, 8);
  LeastSquares objective(r.x, r.y);
  OptimizerOptions options;
  options.max_epochs = 2;
  options.batch_size = 4;
  Eigen::VectorXd a = Eigen::VectorXd::Zero(3);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(3);
  ASSERT_TRUE(Minimize(OptimizerKind::kSgd, options, objective, &a).ok());
  options.seed = 43;
  ASSERT_TRUE(Minimize(OptimizerKind::kSgd, options, objective, &b).ok());
  EXPECT_GT((a - b).lpNorm<Eigen::Infinity>(), 1e-6);
}

TEST(DivergenceTest, SgdWithAHugeLearningRateAborts) {
  Regression r = MakeRegression(32, 3, 9);
  LeastSquares objective(r.x, r.y);
  OptimizerOptions options;
  options.learning_rate = 1e3;
  Eigen::VectorXd w = Eigen::VectorXd::Zero(3);
  auto result = Minimize(OptimizerKind::kSgd, options, objective, &w);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted);
  const std::string message(result.status().message());
  EXPECT_THAT(message, HasSubstr("SGD diverged in epoch "));
  EXPECT_THAT(message, HasSubstr("smaller learning_rate"));
}

TEST(DivergenceTest, AdamOnANanLossAbortsInEpochOne) {
  NanObjective objective;
  Eigen::VectorXd w = Eigen::Vector2d(0, 0);
  auto result =
      Minimize(OptimizerKind::kAdam, OptimizerOptions(), objective, &w);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted);
  const std::string message(result.status().message());
  EXPECT_THAT(message, HasSubstr("Adam diverged in epoch 1"));
  EXPECT_THAT(message, HasSubstr("learning_rate"));
}

}  // namespace
}  // namespace modelserver
