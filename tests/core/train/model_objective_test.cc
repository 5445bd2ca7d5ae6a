#include "core/train/model_objective.h"

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/model/linear_model.h"
#include "core/model/mlp.h"
#include "core/util/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

using ::testing::HasSubstr;

Eigen::MatrixXd RandomMatrix(Rng& rng, int rows, int cols, double scale) {
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i)
    m.data()[i] = scale * rng.Normal();
  return m;
}

Eigen::MatrixXd OneHot(Rng& rng, int rows, int k) {
  Eigen::MatrixXd y = Eigen::MatrixXd::Zero(rows, k);
  for (int i = 0; i < rows; ++i) y(i, rng.UniformInt(k)) = 1.0;
  return y;
}

// Relative error of `f`'s gradient against central differences.
double GradientError(
    const std::function<double(const Eigen::VectorXd&, Eigen::VectorXd*)>& f,
    const Eigen::VectorXd& w) {
  Eigen::VectorXd g;
  f(w, &g);
  EXPECT_EQ(g.size(), w.size());
  Eigen::VectorXd fd(w.size());
  const double h = 1e-5;
  for (Eigen::Index j = 0; j < w.size(); ++j) {
    Eigen::VectorXd wp = w, wm = w;
    wp[j] += h;
    wm[j] -= h;
    fd[j] = (f(wp, nullptr) - f(wm, nullptr)) / (2 * h);
  }
  EXPECT_GT(g.norm(), 1e-3);
  return (g - fd).norm() / std::max(g.norm(), fd.norm());
}

class ModelObjectiveKnownValues : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = *LinearModel::Create(ModelKind::kLinearRegression, 2, 0);
    x_.resize(2, 2);
    x_ << 1, 0,  //
        0, 1;
    y_.resize(2, 1);
    y_ << 0.5, 2.5;
    w_.resize(3);
    w_ << 1, 2, 0.5;  // predictions 1.5 and 2.5: errors 1 and 0
  }
  std::unique_ptr<LinearModel> model_;
  Eigen::MatrixXd x_, y_;
  Eigen::VectorXd w_;
};

TEST_F(ModelObjectiveKnownValues, EvaluateAddsL2OnWeightsOnly) {
  ModelObjective obj(*model_, x_, y_, /*l1=*/0.25, /*l2=*/0.1);
  EXPECT_EQ(obj.num_examples(), 2);
  EXPECT_EQ(obj.num_parameters(), 3);
  EXPECT_EQ(obj.l1(), 0.25);
  EXPECT_EQ(obj.l2(), 0.1);
  Eigen::VectorXd mask(3);
  mask << 1, 1, 0;
  EXPECT_EQ(obj.penalty_mask(), mask);
  // MSE = (1 + 0) / 2 = 0.5; L2 = 0.1 * (1 + 4) = 0.5 (bias excluded).
  Eigen::VectorXd g;
  EXPECT_DOUBLE_EQ(obj.Evaluate(w_, &g), 1.0);
  // d MSE / d yhat = 2 (yhat - y) / n = (1, 0): dW = x^T (1, 0) = (1, 0),
  // db = 1; plus 2 * 0.1 * (1, 2, 0).
  ASSERT_EQ(g.size(), 3);
  EXPECT_DOUBLE_EQ(g[0], 1.2);
  EXPECT_DOUBLE_EQ(g[1], 0.4);
  EXPECT_DOUBLE_EQ(g[2], 1.0);
  EXPECT_DOUBLE_EQ(obj.Evaluate(w_, nullptr), 1.0);
}

TEST_F(ModelObjectiveKnownValues, EvaluateBatchUsesOnlyTheChosenRows) {
  ModelObjective obj(*model_, x_, y_, 0.0, 0.1);
  const std::vector<int64_t> second = {1};
  Eigen::VectorXd g;
  // Row 1 is fitted exactly: only the L2 term remains.
  EXPECT_DOUBLE_EQ(obj.EvaluateBatch(w_, second, &g), 0.5);
  EXPECT_DOUBLE_EQ(g[0], 0.2);
  EXPECT_DOUBLE_EQ(g[1], 0.4);
  EXPECT_DOUBLE_EQ(g[2], 0.0);
  const std::vector<int64_t> first_twice = {0, 0};
  EXPECT_DOUBLE_EQ(obj.EvaluateBatch(w_, first_twice, &g), 1.5);
  EXPECT_DOUBLE_EQ(g[2], 2.0);
}

TEST(ModelObjectiveTest, CreateValidates) {
  auto model = *LinearModel::Create(ModelKind::kLogisticRegression, 3, 3);
  const Eigen::MatrixXd x = Eigen::MatrixXd::Zero(4, 3);
  const Eigen::MatrixXd y = Eigen::MatrixXd::Zero(4, 3);
  const Eigen::MatrixXd x_short = Eigen::MatrixXd::Zero(3, 3);
  const Eigen::MatrixXd x_wide = Eigen::MatrixXd::Zero(4, 5);
  const Eigen::MatrixXd y_narrow = Eigen::MatrixXd::Zero(4, 1);
  const Eigen::MatrixXd empty_x(0, 3), empty_y(0, 3);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Case {
    const Eigen::MatrixXd* x;
    const Eigen::MatrixXd* y;
    double l1, l2;
    const char* message;
  };
  for (const Case& c : {
           Case{&x_short, &y, 0, 0, "x has 3 rows but y has 4"},
           Case{&x_wide, &y, 0, 0, "5 columns"},
           Case{&x, &y_narrow, 0, 0, "y has 1 columns"},
           Case{&empty_x, &empty_y, 0, 0, "0 rows"},
           Case{&x, &y, -1, 0, "l1"},
           Case{&x, &y, 0, nan, "l2"},
       }) {
    auto obj = ModelObjective::Create(*model, *c.x, *c.y, c.l1, c.l2);
    ASSERT_FALSE(obj.ok()) << c.message;
    EXPECT_EQ(obj.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(obj.status().message()), HasSubstr(c.message));
  }
  auto ok = ModelObjective::Create(*model, x, y, 0.5, 0.5);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)->num_parameters(), 12);
}

TEST(ModelObjectiveTest, SoftmaxGradientWithL2MatchesFiniteDifferences) {
  Rng rng(31);
  auto model = *LinearModel::Create(ModelKind::kLogisticRegression, 4, 3);
  const Eigen::MatrixXd x = RandomMatrix(rng, 30, 4, 1.0);
  const Eigen::MatrixXd y = OneHot(rng, 30, 3);
  ModelObjective obj(*model, x, y, 0.0, 0.3);
  const Eigen::VectorXd w = RandomMatrix(rng, 15, 1, 0.5);
  auto full = [&](const Eigen::VectorXd& v, Eigen::VectorXd* g) {
    return obj.Evaluate(v, g);
  };
  EXPECT_LT(GradientError(full, w), 1e-6);
  const std::vector<int64_t> rows = {3, 17, 4, 29, 0, 17};
  auto batch = [&](const Eigen::VectorXd& v, Eigen::VectorXd* g) {
    return obj.EvaluateBatch(v, rows, g);
  };
  EXPECT_LT(GradientError(batch, w), 1e-6);
}

TEST(ModelObjectiveTest, MlpGradientWithL2MatchesFiniteDifferences) {
  Rng rng(32);
  auto model = *Mlp::Create(ModelKind::kMlpClassifier, 3, {4, 3},
                            Activation::kTanh, 3, 5);
  const Eigen::MatrixXd x = RandomMatrix(rng, 20, 3, 1.0);
  const Eigen::MatrixXd y = OneHot(rng, 20, 3);
  ModelObjective obj(*model, x, y, 0.0, 0.05);
  const Eigen::VectorXd w =
      model->parameters() +
      RandomMatrix(rng, static_cast<int>(model->parameters().size()), 1, 0.2);
  EXPECT_LT(
      GradientError([&](const Eigen::VectorXd& v,
                        Eigen::VectorXd* g) { return obj.Evaluate(v, g); },
                    w),
      1e-6);
  const std::vector<int64_t> rows = {19, 2, 7, 8};
  EXPECT_LT(GradientError(
                [&](const Eigen::VectorXd& v, Eigen::VectorXd* g) {
                  return obj.EvaluateBatch(v, rows, g);
                },
                w),
            1e-6);
}

TEST(ModelObjectiveTest, BatchEqualsLossOnGatheredRowsAcrossSizes) {
  Rng rng(33);
  auto model =
      *Mlp::Create(ModelKind::kMlpRegressor, 3, {5}, Activation::kRelu, 0, 6);
  const Eigen::MatrixXd x = RandomMatrix(rng, 12, 3, 1.0);
  const Eigen::MatrixXd y = RandomMatrix(rng, 12, 1, 1.0);
  const double l2 = 0.2;
  ModelObjective obj(*model, x, y, 0.0, l2);
  const Eigen::VectorXd& w = model->parameters();
  const Eigen::VectorXd mask = model->PenaltyMask();
  const double penalty = l2 * (mask.array() * w.array().square()).sum();
  for (const std::vector<int64_t>& rows : std::vector<std::vector<int64_t>>{
           {0, 5, 11}, {1, 2, 3, 4, 1}, {11, 10, 9}, {7}}) {
    Eigen::MatrixXd xs(rows.size(), 3), ys(rows.size(), 1);
    for (size_t i = 0; i < rows.size(); ++i) {
      xs.row(i) = x.row(rows[i]);
      ys.row(i) = y.row(rows[i]);
    }
    Eigen::VectorXd g, expected_g;
    const double value = obj.EvaluateBatch(w, rows, &g);
    const double expected = model->Loss(w, xs, ys, &expected_g) + penalty;
    EXPECT_DOUBLE_EQ(value, expected);
    expected_g += 2 * l2 * mask.cwiseProduct(w);
    EXPECT_TRUE(g.isApprox(expected_g, 1e-14));
  }
  // All rows in order: the same as Evaluate.
  std::vector<int64_t> all(12);
  for (int i = 0; i < 12; ++i) all[i] = i;
  EXPECT_DOUBLE_EQ(obj.EvaluateBatch(w, all, nullptr),
                   obj.Evaluate(w, nullptr));
}

// Parallel and blocked evaluation: the parts are combined weighted by rows,
// so every configuration gives the single-threaded value and gradient up to
// rounding, and one configuration gives bit-identical results every time.
TEST(ModelObjectiveTest, ParallelAndBlockedPassesEqualTheSerialOne) {
  Rng rng(44);
  // 3 classes, 40 inputs: 2000 rows is several cache blocks
  // (block = max(256, 65536 / 40) = 1638 rows) and enough work for parts.
  auto softmax = *LinearModel::Create(ModelKind::kLogisticRegression, 40, 3);
  auto mlp =
      *Mlp::Create(ModelKind::kMlpClassifier, 40, {16}, Activation::kTanh, 3, 5);
  const Eigen::MatrixXd x = RandomMatrix(rng, 2000, 40, 1.0);
  const Eigen::MatrixXd y = OneHot(rng, 2000, 3);
  for (const Model* model : {static_cast<const Model*>(softmax.get()),
                             static_cast<const Model*>(mlp.get())}) {
    Eigen::VectorXd w = RandomMatrix(rng, model->parameters().size(), 1, 0.3);
    // Reference: one Loss over every row, plus the penalty.
    Eigen::VectorXd ref_g;
    const double l2 = 0.01;
    const Eigen::VectorXd mask = model->PenaltyMask();
    const double ref = model->Loss(w, x, y, &ref_g) +
                       l2 * (mask.array() * w.array().square()).sum();
    ref_g += 2 * l2 * mask.cwiseProduct(w);
    std::vector<int64_t> rows(1500);
    for (int64_t i = 0; i < 1500; ++i) rows[i] = (i * 7) % 2000;
    Eigen::MatrixXd xs(1500, 40), ys(1500, 3);
    for (int64_t i = 0; i < 1500; ++i) {
      xs.row(i) = x.row(rows[i]);
      ys.row(i) = y.row(rows[i]);
    }
    Eigen::VectorXd ref_batch_g;
    const double ref_batch = model->Loss(w, xs, ys, &ref_batch_g) +
                             l2 * (mask.array() * w.array().square()).sum();
    ref_batch_g += 2 * l2 * mask.cwiseProduct(w);

    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      ModelObjective obj(*model, x, y, 0.0, l2, &pool);
      Eigen::VectorXd g1, g2, gb;
      const double v1 = obj.Evaluate(w, &g1);
      const double v2 = obj.Evaluate(w, &g2);
      EXPECT_NEAR(v1, ref, 1e-12 * std::abs(ref)) << threads;
      EXPECT_TRUE(g1.isApprox(ref_g, 1e-12)) << threads;
      EXPECT_EQ(v1, v2);  // bit-identical when repeated
      EXPECT_EQ(g1, g2);
      EXPECT_NEAR(obj.Evaluate(w, nullptr), ref, 1e-12 * std::abs(ref));
      const double vb = obj.EvaluateBatch(w, rows, &gb);
      EXPECT_NEAR(vb, ref_batch, 1e-12 * std::abs(ref_batch)) << threads;
      EXPECT_TRUE(gb.isApprox(ref_batch_g, 1e-12)) << threads;
    }
  }
}

TEST(ModelObjectiveTest, ParallelGradientMatchesFiniteDifferences) {
  Rng rng(45);
  auto model =
      *Mlp::Create(ModelKind::kMlpRegressor, 30, {8}, Activation::kTanh, 0, 6);
  const Eigen::MatrixXd x = RandomMatrix(rng, 3000, 30, 1.0);
  const Eigen::MatrixXd y = RandomMatrix(rng, 3000, 1, 1.0);
  ThreadPool pool(2);
  ModelObjective obj(*model, x, y, 0.0, 0.05, &pool);
  EXPECT_LT(GradientError(
                [&](const Eigen::VectorXd& w, Eigen::VectorXd* g) {
                  return obj.Evaluate(w, g);
                },
                model->parameters()),
            1e-6);
}

}  // namespace
}  // namespace modelserver
