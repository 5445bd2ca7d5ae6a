#include "core/train/exact_solver.h"

#include <cmath>
#include <limits>
#include <string>

#include "core/model/linear_model.h"
#include "core/train/model_objective.h"
#include "core/util/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

using ::testing::HasSubstr;

Eigen::MatrixXd Column(std::initializer_list<double> v) {
  Eigen::MatrixXd m(v.size(), 1);
  int i = 0;
  for (double d : v) m(i++, 0) = d;
  return m;
}

// x = 1..5, y = 2.1, 3.9, 6.2, 7.8, 10.0: mean x = 3, mean y = 6,
// centred x = -2..2, centred y = -3.9, -2.1, 0.2, 1.8, 4.0,
// Sxy = 7.8 + 2.1 + 0 + 1.8 + 8 = 19.7, Sxx = 10.
const Eigen::MatrixXd& X1() {
  static const Eigen::MatrixXd* x =
      new Eigen::MatrixXd(Column({1, 2, 3, 4, 5}));
  return *x;
}
Eigen::VectorXd Y1() { return Column({2.1, 3.9, 6.2, 7.8, 10.0}); }

TEST(ExactSolverTest, OrdinaryLeastSquaresOneFeature) {
  auto w = SolveLinearLeastSquares(X1(), Y1(), 0.0);
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_EQ(w->size(), 2);
  EXPECT_NEAR((*w)[0], 1.97, 1e-12);  // Sxy / Sxx
  EXPECT_NEAR((*w)[1], 0.09, 1e-12);  // 6 - 1.97 * 3
}

TEST(ExactSolverTest, RidgeOneFeature) {
  // w = Sxy / (Sxx + n * l2) = 19.7 / (10 + 5 * 0.5) = 1.576,
  // b = 6 - 3 * 1.576 = 1.272.
  auto w = SolveLinearLeastSquares(X1(), Y1(), 0.5);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_NEAR((*w)[0], 1.576, 1e-12);
  EXPECT_NEAR((*w)[1], 1.272, 1e-12);
}

TEST(ExactSolverTest, ExactFitTwoFeatures) {
  // y = 1 + 2 x1 - 3 x2 on five points in general position.
  Eigen::MatrixXd x(5, 2);
  x << 0, 0, 1, 0, 0, 1, 1, 1, 2, 1;
  Eigen::VectorXd y(5);
  y << 1, 3, -2, 0, 2;
  auto w = SolveLinearLeastSquares(x, y, 0.0);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_NEAR((*w)[0], 2.0, 1e-12);
  EXPECT_NEAR((*w)[1], -3.0, 1e-12);
  EXPECT_NEAR((*w)[2], 1.0, 1e-12);
}

TEST(ExactSolverTest, DuplicateColumnGivesMinimumNormSplit) {
  // Any w1 + w2 = 1.97 fits; the minimum-norm solution splits it equally.
  Eigen::MatrixXd x(5, 2);
  x << X1(), X1();
  auto w = SolveLinearLeastSquares(x, Y1(), 0.0);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_NEAR((*w)[0], 0.985, 1e-10);
  EXPECT_NEAR((*w)[1], 0.985, 1e-10);
  EXPECT_NEAR((*w)[2], 0.09, 1e-10);
}

TEST(ExactSolverTest, DuplicateColumnWithRidge) {
  // By symmetry w1 = w2 = a minimising mean(yc - 2 a xc)^2 + 2 l2 a^2:
  // a = Sxy / (2 Sxx + n l2) = 19.7 / 22.5; b = 6 - 3 * 2a.
  Eigen::MatrixXd x(5, 2);
  x << X1(), X1();
  auto w = SolveLinearLeastSquares(x, Y1(), 0.5);
  ASSERT_TRUE(w.ok()) << w.status();
  const double a = 19.7 / 22.5;
  EXPECT_NEAR((*w)[0], a, 1e-12);
  EXPECT_NEAR((*w)[1], a, 1e-12);
  EXPECT_NEAR((*w)[2], 6 - 6 * a, 1e-12);
}

// Full one-hot encoding of 3 groups (sizes 2, 2, 1) plus the intercept.
// Group means 2, 6, 10. Centred, the columns sum to zero, so w is only
// determined up to adding a constant; the minimum-norm w has sum 0:
// w = means - mean(means) = (-4, 0, 4), and b = mean(means) = 6
// (check: mean(y) - mean(x).w = 5.2 - (0.4 * -4 + 0.2 * 4) = 6).
void OneHotProblem(Eigen::MatrixXd* x, Eigen::VectorXd* y) {
  x->resize(5, 3);
  *x << 1, 0, 0,  //
      1, 0, 0,    //
      0, 1, 0,    //
      0, 1, 0,    //
      0, 0, 1;
  y->resize(5);
  *y << 1, 3, 5, 7, 10;
}

TEST(ExactSolverTest, FullOneHotPlusInterceptGivesMinimumNorm) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  OneHotProblem(&x, &y);
  auto w = SolveLinearLeastSquares(x, y, 0.0);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_NEAR((*w)[0], -4.0, 1e-10);
  EXPECT_NEAR((*w)[1], 0.0, 1e-10);
  EXPECT_NEAR((*w)[2], 4.0, 1e-10);
  EXPECT_NEAR((*w)[3], 6.0, 1e-10);
}

TEST(ExactSolverTest, SmallRidgeOnSingularProblemIsNearMinimumNorm) {
  // In exact arithmetic the ridge solution has no component along the null
  // direction (1, 1, 1) and tends to the minimum-norm one as l2 -> 0; with
  // n * l2 = 5e-9 the Gram system is too ill-conditioned for Cholesky and
  // the regularised QR path must still land within ~1e-8 of it.
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  OneHotProblem(&x, &y);
  auto w = SolveLinearLeastSquares(x, y, 1e-9);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_NEAR((*w)[0], -4.0, 1e-6);
  EXPECT_NEAR((*w)[1], 0.0, 1e-6);
  EXPECT_NEAR((*w)[2], 4.0, 1e-6);
  EXPECT_NEAR((*w)[3], 6.0, 1e-6);
}

TEST(ExactSolverTest, ConstantColumnGetsZeroWeight) {
  Eigen::MatrixXd x(5, 2);
  x << X1(), Eigen::MatrixXd::Constant(5, 1, 0.7);
  auto w = SolveLinearLeastSquares(x, Y1(), 0.0);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_NEAR((*w)[0], 1.97, 1e-10);
  EXPECT_NEAR((*w)[1], 0.0, 1e-10);
  EXPECT_NEAR((*w)[2], 0.09, 1e-10);
}

TEST(ExactSolverTest, SingleRowPredictsItsTarget) {
  Eigen::MatrixXd x(1, 2);
  x << 3, 4;
  Eigen::VectorXd y(1);
  y << 2.5;
  auto w = SolveLinearLeastSquares(x, y, 0.0);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_NEAR((*w)[0], 0.0, 1e-15);
  EXPECT_NEAR((*w)[1], 0.0, 1e-15);
  EXPECT_NEAR((*w)[2], 2.5, 1e-15);
}

TEST(ExactSolverTest, IllConditionedFullRankIsSolvedAccurately) {
  // x2 = x1 + 1e-6 * noise: cond(X) ~ 1e6, cond(X^T X) ~ 1e12, beyond what
  // the normal equations solve to 6 digits.
  Rng rng(7);
  const int n = 200;
  Eigen::MatrixXd x(n, 2);
  for (int i = 0; i < n; ++i) {
    x(i, 0) = rng.Normal();
    x(i, 1) = x(i, 0) + 1e-6 * rng.Normal();
  }
  const Eigen::VectorXd y =
      (1.0 + 2.0 * x.col(0).array() - 3.0 * x.col(1).array()).matrix();
  auto w = SolveLinearLeastSquares(x, y, 0.0);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_NEAR((*w)[0], 2.0, 1e-6);
  EXPECT_NEAR((*w)[1], -3.0, 1e-6);
  EXPECT_NEAR((*w)[2], 1.0, 1e-9);
}

TEST(ExactSolverTest, SolutionIsTheModelObjectiveMinimum) {
  // The solver and ModelObjective (LinearModel, MSE + l2 on weights) agree:
  // the objective's gradient vanishes at the returned parameters.
  Rng rng(8);
  const int n = 60, d = 4;
  Eigen::MatrixXd x(n, d);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = rng.Normal() + 2;
  Eigen::MatrixXd y(n, 1);
  for (int i = 0; i < n; ++i) y(i, 0) = x.row(i).sum() + rng.Normal();
  auto model = *LinearModel::Create(ModelKind::kLinearRegression, d, 0);
  for (double l2 : {0.0, 0.3}) {
    auto w = SolveLinearLeastSquares(x, y.col(0), l2);
    ASSERT_TRUE(w.ok()) << w.status();
    ModelObjective objective(*model, x, y, 0.0, l2);
    Eigen::VectorXd g;
    const double at_solution = objective.Evaluate(*w, &g);
    EXPECT_LT(g.norm(), 1e-10) << "l2=" << l2;
    // And moving away increases it.
    Eigen::VectorXd moved = *w;
    moved[1] += 1e-3;
    EXPECT_GT(objective.Evaluate(moved, nullptr), at_solution);
  }
}

TEST(ExactSolverTest, ParallelBlockedGramEqualsTheSerialSolution) {
  // 5000 rows x 20 columns: several row blocks and two parts. The answer is
  // the same for any pool size up to rounding, and y = x.w + 3 exactly
  // gives back w and the intercept.
  Rng rng(5);
  Eigen::MatrixXd x(5000, 20);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = rng.Normal() + 2;
  Eigen::VectorXd w_true(20);
  for (int j = 0; j < 20; ++j) w_true[j] = j - 9.5;
  const Eigen::VectorXd y = (x * w_true).array() + 3.0;
  auto serial = SolveLinearLeastSquares(x, y, 0.0);
  ASSERT_TRUE(serial.ok()) << serial.status();
  EXPECT_TRUE(serial->head(20).isApprox(w_true, 1e-10));
  EXPECT_NEAR((*serial)[20], 3.0, 1e-9);
  for (int threads : {2, 3}) {
    ThreadPool pool(threads);
    auto parallel = SolveLinearLeastSquares(x, y, 0.1, &pool);
    auto reference = SolveLinearLeastSquares(x, y, 0.1);
    ASSERT_TRUE(parallel.ok() && reference.ok());
    EXPECT_TRUE(parallel->isApprox(*reference, 1e-12)) << threads;
  }
}

TEST(ExactSolverTest, RejectsBadInput) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  auto expect_invalid = [](const absl::StatusOr<Eigen::VectorXd>& r,
                           const std::string& message) {
    ASSERT_FALSE(r.ok()) << message;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(message));
  };
  expect_invalid(SolveLinearLeastSquares(X1(), Y1(), -0.1), "l2");
  expect_invalid(SolveLinearLeastSquares(X1(), Y1(), nan), "l2");
  expect_invalid(SolveLinearLeastSquares(X1(), Y1(), inf), "l2");
  expect_invalid(
      SolveLinearLeastSquares(Eigen::MatrixXd(0, 2), Eigen::VectorXd(0), 0),
      "at least one row");
  expect_invalid(SolveLinearLeastSquares(Eigen::MatrixXd(5, 0), Y1(), 0),
                 "one column");
  expect_invalid(SolveLinearLeastSquares(X1(), Eigen::VectorXd::Zero(4), 0),
                 "y has 4 values but x has 5 rows");
  Eigen::MatrixXd x(5, 2);
  x << X1(), X1();
  x(2, 1) = nan;
  expect_invalid(SolveLinearLeastSquares(x, Y1(), 0), "row 2, column 1");
  Eigen::VectorXd y = Y1();
  y[4] = inf;
  expect_invalid(SolveLinearLeastSquares(X1(), y, 0), "y has a non-finite");
}

}  // namespace
}  // namespace modelserver
