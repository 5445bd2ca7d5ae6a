#include "core/model/linear_model.h"

#include <cmath>
#include <memory>
#include <string>

#include "core/model/model.h"
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

// One-hot targets for `k` >= 3 classes, 0/1 for k == 2.
Eigen::MatrixXd RandomClasses(Rng& rng, int rows, int k) {
  Eigen::MatrixXd y = Eigen::MatrixXd::Zero(rows, k == 2 ? 1 : k);
  for (int i = 0; i < rows; ++i) {
    const int c = static_cast<int>(rng.UniformInt(k));
    if (k == 2) {
      y(i, 0) = c;
    } else {
      y(i, c) = 1.0;
    }
  }
  return y;
}

// Relative error between the analytic gradient and central differences.
double GradientError(const Model& model, const Eigen::VectorXd& w,
                     const Eigen::MatrixXd& x, const Eigen::MatrixXd& y) {
  Eigen::VectorXd g;
  model.Loss(w, x, y, &g);
  EXPECT_EQ(g.size(), w.size());
  Eigen::VectorXd fd(w.size());
  const double h = 1e-5;
  for (Eigen::Index j = 0; j < w.size(); ++j) {
    Eigen::VectorXd wp = w, wm = w;
    wp[j] += h;
    wm[j] -= h;
    fd[j] = (model.Loss(wp, x, y, nullptr) - model.Loss(wm, x, y, nullptr)) /
            (2 * h);
  }
  EXPECT_GT(g.norm(), 1e-3);  // a zero gradient would prove nothing
  return (g - fd).norm() / std::max(g.norm(), fd.norm());
}

TEST(ModelKindTest, NamesRoundTrip) {
  for (ModelKind k :
       {ModelKind::kLinearRegression, ModelKind::kLogisticRegression,
        ModelKind::kMlpRegressor, ModelKind::kMlpClassifier}) {
    auto parsed = ParseModelKind(ModelKindName(k));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, k);
  }
  EXPECT_EQ(ModelKindName(ModelKind::kMlpClassifier), "mlp_classifier");
  EXPECT_TRUE(IsClassifier(ModelKind::kLogisticRegression));
  EXPECT_TRUE(IsClassifier(ModelKind::kMlpClassifier));
  EXPECT_FALSE(IsClassifier(ModelKind::kLinearRegression));
  EXPECT_FALSE(IsClassifier(ModelKind::kMlpRegressor));
  auto bad = ParseModelKind("svm");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("'svm'"));
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("linear_regression"));
}

TEST(ActivationTest, NamesRoundTrip) {
  for (Activation a :
       {Activation::kRelu, Activation::kTanh, Activation::kSigmoid}) {
    auto parsed = ParseActivation(ActivationName(a));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, a);
  }
  EXPECT_EQ(ActivationName(Activation::kTanh), "tanh");
  auto bad = ParseActivation("Relu");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("'Relu'"));
}

TEST(LinearModelTest, CreateRejectsBadArguments) {
  struct Case {
    ModelKind kind;
    int inputs;
    int classes;
    const char* message;
  };
  for (const Case& c : {
           Case{ModelKind::kMlpRegressor, 3, 0, "mlp_regressor"},
           Case{static_cast<ModelKind>(9), 3, 0, "model kind 9"},
           Case{ModelKind::kLinearRegression, 0, 0, "num_inputs"},
           Case{ModelKind::kLinearRegression, 3, 2, "num_classes"},
           Case{ModelKind::kLogisticRegression, 3, 1, "num_classes"},
           Case{ModelKind::kLogisticRegression, -1, 2, "num_inputs"},
           Case{ModelKind::kLogisticRegression, 1 << 20, 1000, "parameters"},
       }) {
    auto m = LinearModel::Create(c.kind, c.inputs, c.classes);
    ASSERT_FALSE(m.ok()) << c.message;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(m.status().message()), HasSubstr(c.message));
  }
}

TEST(LinearModelTest, SizesLayoutAndZeroStart) {
  auto reg = LinearModel::Create(ModelKind::kLinearRegression, 3, 0);
  ASSERT_TRUE(reg.ok());
  EXPECT_EQ((*reg)->num_inputs(), 3);
  EXPECT_EQ((*reg)->num_outputs(), 1);
  EXPECT_EQ((*reg)->kind(), ModelKind::kLinearRegression);
  EXPECT_EQ((*reg)->parameters(), Eigen::VectorXd::Zero(4));
  Eigen::VectorXd mask(4);
  mask << 1, 1, 1, 0;
  EXPECT_EQ((*reg)->PenaltyMask(), mask);

  auto bin = LinearModel::Create(ModelKind::kLogisticRegression, 3, 2);
  ASSERT_TRUE(bin.ok());
  EXPECT_EQ((*bin)->num_outputs(), 1);
  EXPECT_EQ((*bin)->num_classes(), 2);
  EXPECT_EQ((*bin)->parameters().size(), 4);

  auto multi = LinearModel::Create(ModelKind::kLogisticRegression, 3, 4);
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ((*multi)->num_outputs(), 4);
  EXPECT_EQ((*multi)->parameters().size(), 16);
  const Eigen::VectorXd m = (*multi)->PenaltyMask();
  EXPECT_EQ(m.head(12), Eigen::VectorXd::Ones(12));
  EXPECT_EQ(m.tail(4), Eigen::VectorXd::Zero(4));
}

TEST(LinearModelTest, RegressionForwardAndLossKnownValues) {
  auto model = *LinearModel::Create(ModelKind::kLinearRegression, 3, 0);
  model->mutable_parameters() << 1, -2, 0.5, 3;  // W then bias
  Eigen::MatrixXd x(2, 3);
  x << 2, 1, 4,  // 2 - 2 + 2 + 3 = 5
      0, 0, 0;   // 3
  const Eigen::MatrixXd p = model->Predict(x);
  ASSERT_EQ(p.rows(), 2);
  ASSERT_EQ(p.cols(), 1);
  EXPECT_DOUBLE_EQ(p(0, 0), 5.0);
  EXPECT_DOUBLE_EQ(p(1, 0), 3.0);
  Eigen::MatrixXd y(2, 1);
  y << 6, 0;  // errors 1 and 3: MSE = (1 + 9) / 2 = 5, no 1/2 factor
  EXPECT_DOUBLE_EQ(model->Loss(model->parameters(), x, y, nullptr), 5.0);
}

TEST(LinearModelTest, BinaryForwardAndLossKnownValues) {
  auto model = *LinearModel::Create(ModelKind::kLogisticRegression, 2, 2);
  model->mutable_parameters() << 1, -1, 0.5;
  Eigen::MatrixXd x(1, 2);
  x << 2, 1;  // z = 2 - 1 + 0.5 = 1.5
  const double p = 1.0 / (1.0 + std::exp(-1.5));
  EXPECT_NEAR(model->Predict(x)(0, 0), 0.8175744761936437, 1e-15);
  Eigen::MatrixXd y1(1, 1), y0(1, 1);
  y1 << 1;
  y0 << 0;
  EXPECT_NEAR(model->Loss(model->parameters(), x, y1, nullptr), -std::log(p),
              1e-14);
  EXPECT_NEAR(model->Loss(model->parameters(), x, y0, nullptr),
              -std::log(1 - p), 1e-14);
}

TEST(LinearModelTest, SoftmaxForwardAndLossKnownValues) {
  auto model = *LinearModel::Create(ModelKind::kLogisticRegression, 2, 3);
  // W (2 x 3, column-major): output 0 reads input 0, output 1 input 1,
  // output 2 nothing; bias ln 2 on output 2.
  model->mutable_parameters() << 1, 0, 0, 1, 0, 0, 0, 0, std::log(2.0);
  Eigen::MatrixXd x(1, 2);
  x << std::log(3.0), std::log(2.0);  // logits ln3, ln2, ln2 => 3/7, 2/7, 2/7
  const Eigen::MatrixXd p = model->Predict(x);
  ASSERT_EQ(p.cols(), 3);
  EXPECT_NEAR(p(0, 0), 3.0 / 7, 1e-15);
  EXPECT_NEAR(p(0, 1), 2.0 / 7, 1e-15);
  EXPECT_NEAR(p(0, 2), 2.0 / 7, 1e-15);
  Eigen::MatrixXd y(1, 3);
  y << 1, 0, 0;
  EXPECT_NEAR(model->Loss(model->parameters(), x, y, nullptr),
              -std::log(3.0 / 7), 1e-14);
  y << 0, 0, 1;
  EXPECT_NEAR(model->Loss(model->parameters(), x, y, nullptr),
              -std::log(2.0 / 7), 1e-14);
}

TEST(LinearModelTest, ExtremeLogitsGiveFiniteLossAndProbabilities) {
  auto bin = *LinearModel::Create(ModelKind::kLogisticRegression, 1, 2);
  bin->mutable_parameters() << 1000, 0;
  Eigen::MatrixXd x(2, 1);
  x << 1, -1;  // logits +1000, -1000
  const Eigen::MatrixXd p = bin->Predict(x);
  EXPECT_EQ(p(0, 0), 1.0);
  EXPECT_GE(p(1, 0), 0.0);
  EXPECT_LT(p(1, 0), 1e-300);
  Eigen::MatrixXd wrong(2, 1), right(2, 1);
  wrong << 0, 1;
  right << 1, 0;
  EXPECT_DOUBLE_EQ(bin->Loss(bin->parameters(), x, wrong, nullptr), 1000.0);
  EXPECT_EQ(bin->Loss(bin->parameters(), x, right, nullptr), 0.0);
  Eigen::VectorXd g;
  bin->Loss(bin->parameters(), x, wrong, &g);
  EXPECT_TRUE(g.allFinite());
  // d/dw = mean((p - y) * x) = ((1 - 0) * 1 + (0 - 1) * -1) / 2 = 1.
  EXPECT_DOUBLE_EQ(g[0], 1.0);

  auto multi = *LinearModel::Create(ModelKind::kLogisticRegression, 1, 3);
  multi->mutable_parameters() << 1000, -1000, 0, 0, 0, 0;
  Eigen::MatrixXd x1(1, 1);
  x1 << 1;  // logits 1000, -1000, 0
  const Eigen::MatrixXd q = multi->Predict(x1);
  EXPECT_TRUE(q.allFinite());
  EXPECT_DOUBLE_EQ(q.sum(), 1.0);
  EXPECT_EQ(q(0, 0), 1.0);
  Eigen::MatrixXd y(1, 3);
  y << 0, 1, 0;  // -log p_1 = lse - z_1 = 1000 + 1000
  EXPECT_DOUBLE_EQ(multi->Loss(multi->parameters(), x1, y, nullptr), 2000.0);
}

TEST(LinearModelTest, SoftmaxRowsSumToOne) {
  Rng rng(3);
  auto model = *LinearModel::Create(ModelKind::kLogisticRegression, 4, 5);
  model->mutable_parameters() = RandomMatrix(rng, 25, 1, 2.0);
  const Eigen::MatrixXd p = model->Predict(RandomMatrix(rng, 50, 4, 3.0));
  ASSERT_EQ(p.rows(), 50);
  for (int i = 0; i < 50; ++i) {
    EXPECT_NEAR(p.row(i).sum(), 1.0, 1e-14);
    EXPECT_GE(p.row(i).minCoeff(), 0.0);
  }
}

TEST(LinearModelTest, RegressionGradientMatchesFiniteDifferences) {
  Rng rng(11);
  auto model = *LinearModel::Create(ModelKind::kLinearRegression, 4, 0);
  const Eigen::MatrixXd x = RandomMatrix(rng, 20, 4, 1.0);
  const Eigen::MatrixXd y = RandomMatrix(rng, 20, 1, 2.0);
  const Eigen::VectorXd w = RandomMatrix(rng, 5, 1, 0.5);
  EXPECT_LT(GradientError(*model, w, x, y), 1e-6);
}

TEST(LinearModelTest, BinaryGradientMatchesFiniteDifferences) {
  Rng rng(12);
  auto model = *LinearModel::Create(ModelKind::kLogisticRegression, 4, 2);
  const Eigen::MatrixXd x = RandomMatrix(rng, 20, 4, 1.0);
  const Eigen::MatrixXd y = RandomClasses(rng, 20, 2);
  const Eigen::VectorXd w = RandomMatrix(rng, 5, 1, 0.5);
  EXPECT_LT(GradientError(*model, w, x, y), 1e-6);
}

TEST(LinearModelTest, SoftmaxGradientMatchesFiniteDifferences) {
  Rng rng(13);
  auto model = *LinearModel::Create(ModelKind::kLogisticRegression, 4, 3);
  const Eigen::MatrixXd x = RandomMatrix(rng, 20, 4, 1.0);
  const Eigen::MatrixXd y = RandomClasses(rng, 20, 3);
  const Eigen::VectorXd w = RandomMatrix(rng, 15, 1, 0.5);
  EXPECT_LT(GradientError(*model, w, x, y), 1e-6);
}

TEST(LinearModelTest, GradientOfKnownRegressionCase) {
  // One row x = (1, 2), y = 0, w = (1, 1), b = 0: yhat = 3, loss = 9,
  // dL/dyhat = 2 * 3 = 6 => dW = (6, 12), db = 6.
  auto model = *LinearModel::Create(ModelKind::kLinearRegression, 2, 0);
  Eigen::VectorXd w(3);
  w << 1, 1, 0;
  Eigen::MatrixXd x(1, 2), y(1, 1);
  x << 1, 2;
  y << 0;
  Eigen::VectorXd g;
  EXPECT_DOUBLE_EQ(model->Loss(w, x, y, &g), 9.0);
  Eigen::VectorXd expected(3);
  expected << 6, 12, 6;
  EXPECT_EQ(g, expected);
}

}  // namespace
}  // namespace modelserver
