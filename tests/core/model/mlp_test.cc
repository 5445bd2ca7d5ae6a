#include "core/model/mlp.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/linear_model.h"
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
  EXPECT_GT(g.norm(), 1e-3);
  return (g - fd).norm() / std::max(g.norm(), fd.norm());
}

TEST(MlpTest, CreateRejectsBadArguments) {
  struct Case {
    ModelKind kind;
    int inputs;
    std::vector<int> hidden;
    int classes;
    const char* message;
  };
  const std::vector<Case> cases = {
      {ModelKind::kLinearRegression, 3, {4}, 0, "linear_regression"},
      {ModelKind::kMlpRegressor, 0, {4}, 0, "num_inputs"},
      {ModelKind::kMlpRegressor, 3, {4, 0}, 0, "hidden layer 1"},
      {ModelKind::kMlpRegressor, 3, {-2}, 0, "hidden layer 0"},
      {ModelKind::kMlpRegressor, 3, {(1 << 16) + 1}, 0, "hidden layer 0"},
      {ModelKind::kMlpRegressor, 3, {4}, 3, "num_classes"},
      {ModelKind::kMlpClassifier, 3, {4}, 1, "num_classes"},
      {ModelKind::kMlpClassifier, 3, std::vector<int>(65, 2), 2,
       "hidden layers"},
      {ModelKind::kMlpRegressor, 3, {1 << 16, 1 << 16}, 0, "parameters"},
  };
  for (const Case& c : cases) {
    auto m = Mlp::Create(c.kind, c.inputs, c.hidden, Activation::kRelu,
                         c.classes, 1);
    ASSERT_FALSE(m.ok()) << c.message;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(m.status().message()), HasSubstr(c.message));
  }
  auto bad_activation = Mlp::Create(ModelKind::kMlpRegressor, 3, {4},
                                    static_cast<Activation>(7), 0, 1);
  ASSERT_FALSE(bad_activation.ok());
  EXPECT_EQ(bad_activation.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad_activation.status().message()),
              HasSubstr("activation"));
}

TEST(MlpTest, ParameterCountAndMask) {
  // (3+1)*4 + (4+1)*5 + (5+1)*3 = 16 + 25 + 18 = 59; weights 12 + 20 + 15.
  auto m = Mlp::Create(ModelKind::kMlpClassifier, 3, {4, 5}, Activation::kTanh,
                       3, 7);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->parameters().size(), 59);
  EXPECT_EQ(*Mlp::ParameterCount(ModelKind::kMlpClassifier, 3, {4, 5}, 3), 59);
  EXPECT_EQ((*m)->num_outputs(), 3);
  EXPECT_EQ((*m)->num_classes(), 3);
  EXPECT_EQ((*m)->hidden_layers(), (std::vector<int>{4, 5}));
  EXPECT_EQ((*m)->activation(), Activation::kTanh);
  const Eigen::VectorXd mask = (*m)->PenaltyMask();
  EXPECT_EQ(mask.sum(), 47);
  EXPECT_EQ(mask.segment(0, 12), Eigen::VectorXd::Ones(12));
  EXPECT_EQ(mask.segment(12, 4), Eigen::VectorXd::Zero(4));
  EXPECT_EQ(mask.segment(16, 20), Eigen::VectorXd::Ones(20));
  EXPECT_EQ(mask.segment(36, 5), Eigen::VectorXd::Zero(5));
  EXPECT_EQ(mask.segment(41, 15), Eigen::VectorXd::Ones(15));
  EXPECT_EQ(mask.segment(56, 3), Eigen::VectorXd::Zero(3));
  // Weights and biases are all drawn (none is left at zero).
  const Eigen::VectorXd& w = (*m)->parameters();
  EXPECT_EQ((w.array() == 0.0).count(), 0);
}

TEST(MlpTest, ForwardKnownValuesFollowTheLayout) {
  // 1 input, hidden {2} relu, regressor: W1 = [1, -1], b1 = [0, 0],
  // W2 = [2; 3], b2 = 0.5. x = 2: h = (2, 0), out = 4.5;
  // x = -1: h = (0, 1), out = 3.5.
  auto m =
      *Mlp::Create(ModelKind::kMlpRegressor, 1, {2}, Activation::kRelu, 0, 1);
  ASSERT_EQ(m->parameters().size(), 7);
  m->mutable_parameters() << 1, -1, 0, 0, 2, 3, 0.5;
  Eigen::MatrixXd x(2, 1);
  x << 2, -1;
  const Eigen::MatrixXd p = m->Predict(x);
  EXPECT_DOUBLE_EQ(p(0, 0), 4.5);
  EXPECT_DOUBLE_EQ(p(1, 0), 3.5);

  // Same with tanh and a bias on the hidden layer: x = 0 gives
  // h = tanh(0.5), tanh(-0.5) and out = 2 tanh(.5) - 3 tanh(.5) + 0.5.
  auto t =
      *Mlp::Create(ModelKind::kMlpRegressor, 1, {2}, Activation::kTanh, 0, 1);
  t->mutable_parameters() << 1, -1, 0.5, -0.5, 2, 3, 0.5;
  Eigen::MatrixXd x0(1, 1);
  x0 << 0;
  EXPECT_NEAR(t->Predict(x0)(0, 0), 0.5 - std::tanh(0.5), 1e-15);

  // Sigmoid hidden layer, binary classifier: h = sigmoid(0) = 0.5,
  // z = 0.5 * 2 + 0.5 * 2 - 1 = 1, output sigmoid(1).
  auto s = *Mlp::Create(ModelKind::kMlpClassifier, 1, {2}, Activation::kSigmoid,
                        2, 1);
  s->mutable_parameters() << 1, -1, 0, 0, 2, 2, -1;
  EXPECT_NEAR(s->Predict(x0)(0, 0), 1.0 / (1.0 + std::exp(-1.0)), 1e-15);
}

TEST(MlpTest, LargeBatchesGoInBlocksWithTheSameRowResults) {
  // 300 rows: two full blocks of 128 and a partial one; softmax head.
  auto m = *Mlp::Create(ModelKind::kMlpClassifier, 5, {16, 8},
                        Activation::kRelu, 3, 11);
  Eigen::MatrixXd x(300, 5);
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    x.data()[i] = std::sin(0.37 * static_cast<double>(i));
  }
  const Eigen::MatrixXd all = m->Predict(x);
  ASSERT_EQ(all.rows(), 300);
  ASSERT_EQ(all.cols(), 3);
  for (Eigen::Index r = 0; r < 300; ++r) {
    const Eigen::MatrixXd one = m->Predict(x.row(r));
    for (Eigen::Index c = 0; c < 3; ++c) {
      EXPECT_NEAR(all(r, c), one(0, c), 1e-14) << r << "," << c;
    }
    EXPECT_NEAR(all.row(r).sum(), 1.0, 1e-12);
  }
}

TEST(MlpTest, NoHiddenLayerIsALinearModel) {
  Rng rng(5);
  auto mlp =
      *Mlp::Create(ModelKind::kMlpClassifier, 4, {}, Activation::kRelu, 3, 9);
  auto lin = *LinearModel::Create(ModelKind::kLogisticRegression, 4, 3);
  ASSERT_EQ(mlp->parameters().size(), lin->parameters().size());
  lin->mutable_parameters() = mlp->parameters();
  const Eigen::MatrixXd x = RandomMatrix(rng, 10, 4, 1.0);
  EXPECT_TRUE(mlp->Predict(x).isApprox(lin->Predict(x), 1e-14));
  EXPECT_EQ(mlp->PenaltyMask(), lin->PenaltyMask());
}

TEST(MlpTest, ClassifierOutputsAreProbabilities) {
  Rng rng(6);
  const Eigen::MatrixXd x = RandomMatrix(rng, 30, 5, 2.0);
  auto multi = *Mlp::Create(ModelKind::kMlpClassifier, 5, {8, 6},
                            Activation::kRelu, 4, 3);
  const Eigen::MatrixXd p = multi->Predict(x);
  ASSERT_EQ(p.cols(), 4);
  for (int i = 0; i < 30; ++i) EXPECT_NEAR(p.row(i).sum(), 1.0, 1e-14);
  EXPECT_GE(p.minCoeff(), 0.0);
  auto bin =
      *Mlp::Create(ModelKind::kMlpClassifier, 5, {8}, Activation::kTanh, 2, 3);
  const Eigen::MatrixXd q = bin->Predict(x);
  ASSERT_EQ(q.cols(), 1);
  EXPECT_GT(q.minCoeff(), 0.0);
  EXPECT_LT(q.maxCoeff(), 1.0);
}

struct GradientCase {
  ModelKind kind;
  int classes;
  Activation activation;
};

class MlpGradientTest : public ::testing::TestWithParam<GradientCase> {};

TEST_P(MlpGradientTest, TwoHiddenLayersMatchFiniteDifferences) {
  const GradientCase& c = GetParam();
  Rng rng(100 + static_cast<int>(c.activation) * 10 + c.classes);
  auto m = *Mlp::Create(c.kind, 3, {5, 4}, c.activation, c.classes, 21);
  const Eigen::MatrixXd x = RandomMatrix(rng, 16, 3, 1.0);
  const Eigen::MatrixXd y = c.kind == ModelKind::kMlpRegressor
                                ? RandomMatrix(rng, 16, 1, 1.0)
                                : RandomClasses(rng, 16, c.classes);
  // Random biases too, so that every parameter is exercised.
  Eigen::VectorXd w =
      m->parameters() +
      RandomMatrix(rng, static_cast<int>(m->parameters().size()), 1, 0.3);
  EXPECT_LT(GradientError(*m, w, x, y), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(
    AllHeadsAndActivations, MlpGradientTest,
    ::testing::Values(
        GradientCase{ModelKind::kMlpRegressor, 0, Activation::kRelu},
        GradientCase{ModelKind::kMlpRegressor, 0, Activation::kTanh},
        GradientCase{ModelKind::kMlpRegressor, 0, Activation::kSigmoid},
        GradientCase{ModelKind::kMlpClassifier, 2, Activation::kRelu},
        GradientCase{ModelKind::kMlpClassifier, 2, Activation::kTanh},
        GradientCase{ModelKind::kMlpClassifier, 2, Activation::kSigmoid},
        GradientCase{ModelKind::kMlpClassifier, 3, Activation::kRelu},
        GradientCase{ModelKind::kMlpClassifier, 3, Activation::kTanh},
        GradientCase{ModelKind::kMlpClassifier, 3, Activation::kSigmoid}),
    [](const ::testing::TestParamInfo<GradientCase>& info) {
      return absl::StrCat(info.param.kind == ModelKind::kMlpRegressor
                              ? "Regressor"
                              : absl::StrCat("Classes", info.param.classes),
                          "_", ActivationName(info.param.activation));
    });

TEST(MlpTest, InitialisationIsDeterministicPerSeed) {
  auto a = *Mlp::Create(ModelKind::kMlpClassifier, 6, {10, 7},
                        Activation::kRelu, 3, 42);
  auto b = *Mlp::Create(ModelKind::kMlpClassifier, 6, {10, 7},
                        Activation::kRelu, 3, 42);
  auto c = *Mlp::Create(ModelKind::kMlpClassifier, 6, {10, 7},
                        Activation::kRelu, 3, 43);
  EXPECT_EQ(a->parameters(), b->parameters());  // bit-identical
  EXPECT_EQ(std::memcmp(a->parameters().data(), b->parameters().data(),
                        a->parameters().size() * sizeof(double)),
            0);
  const Eigen::VectorXd mask = a->PenaltyMask();
  const Eigen::ArrayXd diff = (a->parameters() - c->parameters()).array();
  // Every parameter (weights and biases) differs across seeds.
  EXPECT_EQ((diff != 0.0).count(), diff.size());
}

// Mean and standard deviation of the first layer's weights and of the
// output layer's weights, checked against U(-a, a): std a / sqrt(3).
void ExpectUniformScale(const Eigen::VectorXd& w, Eigen::Index offset,
                        Eigen::Index count, double limit) {
  const Eigen::ArrayXd v = w.segment(offset, count).array();
  const double mean = v.mean();
  const double std = std::sqrt((v - mean).square().mean());
  EXPECT_NEAR(mean, 0.0, 0.02 * limit);
  EXPECT_NEAR(std, limit / std::sqrt(3.0), 0.02 * limit / std::sqrt(3.0));
  EXPECT_LE(v.abs().maxCoeff(), limit);
  EXPECT_GT(v.abs().maxCoeff(), 0.95 * limit);
}

TEST(MlpTest, GlorotInitialisationOfWeightsAndBiasesLikeScikitLearn) {
  // Layout: W1 (200 x 300) at 0, b1 (300) at 60000, W2 (300 x 1) at 60300,
  // b2 at 60600. a = sqrt(f / (fan_in + fan_out)), f = 6 (relu, tanh) or 2
  // (sigmoid): for layer 1, variance a^2 / 3 = f / 1500.
  for (Activation act :
       {Activation::kRelu, Activation::kTanh, Activation::kSigmoid}) {
    const double f = act == Activation::kSigmoid ? 2.0 : 6.0;
    auto m = *Mlp::Create(ModelKind::kMlpRegressor, 200, {300}, act, 0, 1);
    const Eigen::VectorXd& w = m->parameters();
    ASSERT_EQ(w.size(), 60601);
    ExpectUniformScale(w, 0, 60000, std::sqrt(f / 500));
    const double std = std::sqrt(w.head(60000).array().square().mean());
    EXPECT_NEAR(std, std::sqrt(f / 1500), 0.02 * std::sqrt(f / 1500));
    // Biases are drawn too, with their layer's bound.
    EXPECT_LE(w.segment(60000, 300).array().abs().maxCoeff(), std::sqrt(f / 500));
    EXPECT_GT(w.segment(60000, 300).array().abs().maxCoeff(),
              0.9 * std::sqrt(f / 500));
    const double out_bound = std::sqrt(f / 301);
    EXPECT_LE(w.segment(60300, 301).array().abs().maxCoeff(), out_bound);
    EXPECT_GT(w.segment(60300, 300).array().abs().maxCoeff(), 0.9 * out_bound);
  }
}

}  // namespace
}  // namespace modelserver
