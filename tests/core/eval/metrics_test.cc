#include "core/eval/metrics.h"

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "Eigen/Core"
#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr double kTol = 1e-12;

Eigen::VectorXd Vec(std::vector<double> v) {
  return Eigen::Map<Eigen::VectorXd>(v.data(),
                                     static_cast<Eigen::Index>(v.size()));
}

Eigen::MatrixXd Rows(const std::vector<std::vector<double>>& rows) {
  Eigen::MatrixXd m(rows.size(), rows.empty() ? 0 : rows[0].size());
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = 0; j < rows[i].size(); ++j) m(i, j) = rows[i][j];
  }
  return m;
}

// ------------------------------------------------------------- regression

TEST(RegressionMetricsTest, HandComputed) {
  // scikit-learn's r2_score docstring example.
  // errors y - p = 0.5, -0.5, 0, -1; squares 0.25, 0.25, 0, 1 (sum 1.5).
  // mse = 1.5 / 4 = 0.375, rmse = sqrt(0.375), mae = (0.5+0.5+0+1)/4 = 0.5.
  // mean(y) = 11.5 / 4 = 2.875; deviations 0.125, -3.375, -0.875, 4.125;
  // squares 0.015625 + 11.390625 + 0.765625 + 17.015625 = 29.1875.
  // r2 = 1 - 1.5 / 29.1875 = 0.9486081370449679.
  auto m = ComputeRegressionMetrics(Vec({3, -0.5, 2, 7}), Vec({2.5, 0, 2, 8}));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->count, 4);
  EXPECT_NEAR(m->mse, 0.375, kTol);
  EXPECT_NEAR(m->rmse, 0.6123724356957945, kTol);
  EXPECT_NEAR(m->mae, 0.5, kTol);
  EXPECT_NEAR(m->r2, 0.9486081370449679, kTol);
}

TEST(RegressionMetricsTest, PerfectPredictions) {
  auto m = ComputeRegressionMetrics(Vec({1, 2, 3}), Vec({1, 2, 3}));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->mse, 0.0);
  EXPECT_EQ(m->rmse, 0.0);
  EXPECT_EQ(m->mae, 0.0);
  EXPECT_EQ(m->r2, 1.0);
}

TEST(RegressionMetricsTest, WorseThanTheMeanGivesNegativeR2) {
  // y = 1,2,3; p = 3,2,1: SSE = 4 + 0 + 4 = 8, SST = 1 + 0 + 1 = 2,
  // r2 = 1 - 8/2 = -3; mse = 8/3, mae = 4/3.
  auto m = ComputeRegressionMetrics(Vec({1, 2, 3}), Vec({3, 2, 1}));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_NEAR(m->r2, -3.0, kTol);
  EXPECT_NEAR(m->mse, 8.0 / 3.0, kTol);
  EXPECT_NEAR(m->mae, 4.0 / 3.0, kTol);
}

TEST(RegressionMetricsTest, ConstantTargetR2) {
  // scikit-learn: 1.0 when the predictions are exact, 0.0 otherwise.
  auto exact = ComputeRegressionMetrics(Vec({2, 2, 2}), Vec({2, 2, 2}));
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->r2, 1.0);
  auto off = ComputeRegressionMetrics(Vec({2, 2, 2}), Vec({2, 2, 3}));
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->r2, 0.0);
  EXPECT_NEAR(off->mse, 1.0 / 3.0, kTol);
  // 0.1 + 0.1 + 0.1 = 0.30000000000000004 in doubles, so a total sum of
  // squares around the computed mean is ~1e-34, not 0: the constant target
  // must still be recognised (else r2 would be about -1e31).
  auto rounding =
      ComputeRegressionMetrics(Vec({0.1, 0.1, 0.1}), Vec({0.1, 0.1, 0.2}));
  ASSERT_TRUE(rounding.ok());
  EXPECT_EQ(rounding->r2, 0.0);
  auto single = ComputeRegressionMetrics(Vec({5}), Vec({4}));
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->r2, 0.0);
  EXPECT_EQ(single->mse, 1.0);
}

TEST(RegressionMetricsTest, Errors) {
  auto empty = ComputeRegressionMetrics(Eigen::VectorXd(), Eigen::VectorXd());
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("empty"));

  auto mismatch = ComputeRegressionMetrics(Vec({1, 2, 3}), Vec({1, 2}));
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(mismatch.status().message()),
              HasSubstr("y_true has 3 rows but y_pred has 2"));

  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  auto bad_true = ComputeRegressionMetrics(Vec({1, nan, 3}), Vec({1, 2, 3}));
  EXPECT_EQ(bad_true.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad_true.status().message()),
              HasSubstr("y_true row 1"));
  auto bad_pred = ComputeRegressionMetrics(Vec({1, 2, 3}), Vec({1, 2, inf}));
  EXPECT_EQ(bad_pred.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad_pred.status().message()),
              HasSubstr("y_pred row 2"));
}

// --------------------------------------------------------- classification

// 10 rows, 3 classes. Confusion matrix (rows true, columns predicted):
//        a  b  c   support
//   a    3  1  0   4
//   b    1  2  1   4
//   c    0  0  2   2
//   predicted: 4  3  3
// The predicted class gets probability 0.6, the two others 0.2.
struct ThreeClassCase {
  std::vector<int32_t> y_true;
  Eigen::MatrixXd probabilities;
};

ThreeClassCase MakeThreeClassCase() {
  const std::vector<std::pair<int32_t, int32_t>> true_pred = {
      {0, 0}, {0, 0}, {0, 0}, {0, 1}, {1, 0},
      {1, 1}, {1, 1}, {1, 2}, {2, 2}, {2, 2}};
  ThreeClassCase c;
  c.probabilities = Eigen::MatrixXd::Constant(10, 3, 0.2);
  for (size_t i = 0; i < true_pred.size(); ++i) {
    c.y_true.push_back(true_pred[i].first);
    c.probabilities(i, true_pred[i].second) = 0.6;
  }
  return c;
}

TEST(ClassificationMetricsTest, ThreeClassHandComputed) {
  ThreeClassCase c = MakeThreeClassCase();
  auto m =
      ComputeClassificationMetrics(c.y_true, c.probabilities, {"a", "b", "c"});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->count, 10);
  ConfusionMatrix expected(3, 3);
  expected << 3, 1, 0, 1, 2, 1, 0, 0, 2;
  EXPECT_EQ(m->confusion, expected);
  // accuracy = trace / n = (3 + 2 + 2) / 10.
  EXPECT_NEAR(m->accuracy, 0.7, kTol);

  ASSERT_EQ(m->per_class.size(), 3u);
  // a: P = 3/4, R = 3/4, F = 3/4.
  EXPECT_EQ(m->per_class[0].label, "a");
  EXPECT_NEAR(m->per_class[0].precision, 0.75, kTol);
  EXPECT_NEAR(m->per_class[0].recall, 0.75, kTol);
  EXPECT_NEAR(m->per_class[0].f1, 0.75, kTol);
  EXPECT_EQ(m->per_class[0].support, 4);
  // b: P = 2/3, R = 2/4, F = 2 (2/3)(1/2) / (2/3 + 1/2) = (2/3)/(7/6) = 4/7.
  EXPECT_EQ(m->per_class[1].label, "b");
  EXPECT_NEAR(m->per_class[1].precision, 2.0 / 3.0, kTol);
  EXPECT_NEAR(m->per_class[1].recall, 0.5, kTol);
  EXPECT_NEAR(m->per_class[1].f1, 4.0 / 7.0, kTol);
  EXPECT_EQ(m->per_class[1].support, 4);
  // c: P = 2/3, R = 2/2, F = 2 (2/3)(1) / (5/3) = 4/5.
  EXPECT_EQ(m->per_class[2].label, "c");
  EXPECT_NEAR(m->per_class[2].precision, 2.0 / 3.0, kTol);
  EXPECT_NEAR(m->per_class[2].recall, 1.0, kTol);
  EXPECT_NEAR(m->per_class[2].f1, 0.8, kTol);
  EXPECT_EQ(m->per_class[2].support, 2);

  // macro P = (3/4 + 2/3 + 2/3) / 3 = 25/36.
  EXPECT_NEAR(m->precision_macro, 25.0 / 36.0, kTol);
  // macro R = (3/4 + 1/2 + 1) / 3 = 3/4.
  EXPECT_NEAR(m->recall_macro, 0.75, kTol);
  // macro F = (3/4 + 4/7 + 4/5) / 3 = (297/140) / 3 = 99/140.
  EXPECT_NEAR(m->f1_macro, 99.0 / 140.0, kTol);
  // weighted P = (4 * 3/4 + 4 * 2/3 + 2 * 2/3) / 10 = (3 + 4) / 10.
  EXPECT_NEAR(m->precision_weighted, 0.7, kTol);
  // weighted R = (4 * 3/4 + 4 * 1/2 + 2 * 1) / 10 = 7/10 (= accuracy).
  EXPECT_NEAR(m->recall_weighted, 0.7, kTol);
  // weighted F = (4 * 3/4 + 4 * 4/7 + 2 * 4/5) / 10 = (241/35) / 10.
  EXPECT_NEAR(m->f1_weighted, 241.0 / 350.0, kTol);
  // p(true class) = 0.6 on the 7 right rows, 0.2 on the 3 wrong ones:
  // -(7 ln 0.6 + 3 ln 0.2) / 10.
  EXPECT_NEAR(m->log_loss, 0.8404093103664236, kTol);
  // ROC AUC is for binary problems only.
  EXPECT_FALSE(m->roc_auc.has_value());
}

TEST(ClassificationMetricsTest, BinaryLogLossAndRocAucWithTies) {
  // P(class 1) = 0.1, 0.4, 0.35, 0.8, 0.4, 0.4 for y = 0, 0, 1, 1, 0, 1.
  // Positives 0.35, 0.8, 0.4 against negatives 0.1, 0.4, 0.4:
  //   0.35 beats 0.1 only                      -> 1
  //   0.8 beats all three                      -> 3
  //   0.4 beats 0.1, ties twice (1/2 each)     -> 2
  // AUC = 6 / (3 * 3) = 2/3.
  // p(true class) = 0.9, 0.6, 0.35, 0.8, 0.6, 0.4:
  // log loss = -(ln .9 + ln .6 + ln .35 + ln .8 + ln .6 + ln .4) / 6.
  const std::vector<int32_t> y = {0, 0, 1, 1, 0, 1};
  const Eigen::MatrixXd p = Rows({{0.9, 0.1},
                                  {0.6, 0.4},
                                  {0.65, 0.35},
                                  {0.2, 0.8},
                                  {0.6, 0.4},
                                  {0.6, 0.4}});
  auto m = ComputeClassificationMetrics(y, p, {"no", "yes"});
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(m->roc_auc.has_value());
  EXPECT_NEAR(*m->roc_auc, 2.0 / 3.0, kTol);
  EXPECT_NEAR(m->log_loss, 0.5527113618128084, kTol);
  // Predicted: 0, 0, 0, 1, 0, 0 -> confusion [[3, 0], [2, 1]].
  ConfusionMatrix expected(2, 2);
  expected << 3, 0, 2, 1;
  EXPECT_EQ(m->confusion, expected);
  EXPECT_NEAR(m->accuracy, 4.0 / 6.0, kTol);
  // yes: P = 1/1, R = 1/3, F = 2 (1/3) / (4/3) = 1/2.
  EXPECT_NEAR(m->per_class[1].precision, 1.0, kTol);
  EXPECT_NEAR(m->per_class[1].recall, 1.0 / 3.0, kTol);
  EXPECT_NEAR(m->per_class[1].f1, 0.5, kTol);
  // no: P = 3/5, R = 3/3, F = 2 (3/5) / (8/5) = 3/4.
  EXPECT_NEAR(m->per_class[0].precision, 0.6, kTol);
  EXPECT_NEAR(m->per_class[0].recall, 1.0, kTol);
  EXPECT_NEAR(m->per_class[0].f1, 0.75, kTol);
}

TEST(ClassificationMetricsTest, ScikitLearnDocstringExamples) {
  // log_loss(["spam", "ham", "ham", "spam"],
  //          [[.1, .9], [.9, .1], [.8, .2], [.35, .65]]) == 0.21616...
  // (labels sorted: ham = 0, spam = 1):
  // -(ln .9 + ln .9 + ln .8 + ln .65) / 4 = 0.21616187468057912.
  auto ll = ComputeClassificationMetrics(
      {1, 0, 0, 1}, Rows({{.1, .9}, {.9, .1}, {.8, .2}, {.35, .65}}),
      {"ham", "spam"});
  ASSERT_TRUE(ll.ok()) << ll.status();
  EXPECT_NEAR(ll->log_loss, 0.21616187468057912, kTol);
  // roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75:
  // 0.35 beats 0.1 (1), 0.8 beats both (2): 3 / 4.
  auto auc = ComputeClassificationMetrics(
      {0, 0, 1, 1}, Rows({{.9, .1}, {.6, .4}, {.65, .35}, {.2, .8}}),
      {"n", "p"});
  ASSERT_TRUE(auc.ok()) << auc.status();
  EXPECT_NEAR(*auc->roc_auc, 0.75, kTol);
}

TEST(ClassificationMetricsTest, RocAucExtremes) {
  const std::vector<int32_t> y = {0, 1, 0, 1};
  auto perfect = ComputeClassificationMetrics(
      y, Rows({{.8, .2}, {.3, .7}, {.9, .1}, {.1, .9}}), {"n", "p"});
  ASSERT_TRUE(perfect.ok());
  EXPECT_EQ(*perfect->roc_auc, 1.0);
  auto inverted = ComputeClassificationMetrics(
      y, Rows({{.2, .8}, {.7, .3}, {.1, .9}, {.9, .1}}), {"n", "p"});
  ASSERT_TRUE(inverted.ok());
  EXPECT_EQ(*inverted->roc_auc, 0.0);
  // Every score tied: every pair counts 1/2.
  auto tied = ComputeClassificationMetrics(
      y, Rows({{.5, .5}, {.5, .5}, {.5, .5}, {.5, .5}}), {"n", "p"});
  ASSERT_TRUE(tied.ok());
  EXPECT_EQ(*tied->roc_auc, 0.5);
}

TEST(ClassificationMetricsTest, RocAucAbsentWhenOneClassInYTrue) {
  auto m = ComputeClassificationMetrics(
      {1, 1, 1}, Rows({{.2, .8}, {.6, .4}, {.1, .9}}), {"n", "p"});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(m->roc_auc.has_value());
  // n is never true: P_n = 0/1 predicted -> 0, R_n has no support -> 0.
  EXPECT_EQ(m->per_class[0].precision, 0.0);
  EXPECT_EQ(m->per_class[0].recall, 0.0);
  EXPECT_EQ(m->per_class[0].support, 0);
}

TEST(ClassificationMetricsTest, ArgmaxTakesFirstClassOnTies) {
  // Row 0 ties a/b -> a (right); row 1 ties all three -> a (wrong, true c).
  auto m = ComputeClassificationMetrics(
      {0, 2}, Rows({{.4, .4, .2}, {1.0 / 3, 1.0 / 3, 1.0 / 3}}),
      {"a", "b", "c"});
  ASSERT_TRUE(m.ok()) << m.status();
  ConfusionMatrix expected(3, 3);
  expected << 1, 0, 0, 0, 0, 0, 1, 0, 0;
  EXPECT_EQ(m->confusion, expected);
  EXPECT_NEAR(m->accuracy, 0.5, kTol);
}

TEST(ClassificationMetricsTest, ZeroDivisionGivesZero) {
  // y = a, a, b, b; predicted a, a, a, b; c neither occurs nor is predicted.
  // a: P = 2/3, R = 1, F = 2 (2/3) / (5/3) = 4/5.
  // b: P = 1/1, R = 1/2, F = 2 (1/2) / (3/2) = 2/3.
  // c: P = 0 (never predicted), R = 0 (no support), F = 0.
  auto m = ComputeClassificationMetrics(
      {0, 0, 1, 1},
      Rows({{.8, .1, .1}, {.5, .3, .2}, {.6, .3, .1}, {.1, .7, .2}}),
      {"a", "b", "c"});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->per_class[2].precision, 0.0);
  EXPECT_EQ(m->per_class[2].recall, 0.0);
  EXPECT_EQ(m->per_class[2].f1, 0.0);
  EXPECT_EQ(m->per_class[2].support, 0);
  // Macro averages include c: P = (2/3 + 1 + 0) / 3 = 5/9,
  // R = (1 + 1/2 + 0) / 3 = 1/2, F = (4/5 + 2/3 + 0) / 3 = 22/45.
  EXPECT_NEAR(m->precision_macro, 5.0 / 9.0, kTol);
  EXPECT_NEAR(m->recall_macro, 0.5, kTol);
  EXPECT_NEAR(m->f1_macro, 22.0 / 45.0, kTol);
  // Weighted by support (c has none): P = (2 * 2/3 + 2 * 1) / 4 = 5/6.
  EXPECT_NEAR(m->precision_weighted, 5.0 / 6.0, kTol);
  EXPECT_NEAR(m->f1_weighted, (2 * 0.8 + 2 * 2.0 / 3.0) / 4, kTol);

  // A class present but never predicted: y = a, b, b all predicted a.
  // b: P = 0 (zero division), R = 0/2, F = 0; a: P = 1/3, R = 1, F = 1/2.
  auto never = ComputeClassificationMetrics(
      {0, 1, 1}, Rows({{.9, .1}, {.7, .3}, {.6, .4}}), {"a", "b"});
  ASSERT_TRUE(never.ok()) << never.status();
  EXPECT_EQ(never->per_class[1].precision, 0.0);
  EXPECT_EQ(never->per_class[1].recall, 0.0);
  EXPECT_EQ(never->per_class[1].f1, 0.0);
  EXPECT_NEAR(never->per_class[0].precision, 1.0 / 3.0, kTol);
  EXPECT_NEAR(never->per_class[0].f1, 0.5, kTol);
}

TEST(ClassificationMetricsTest, LogLossClipsAtMachineEpsilonLikeSklearn12) {
  // p(true) = 0 is clipped to eps = 2^-52 and the other entry to 1 - eps;
  // the row sums to exactly 1, so the loss is -ln(2^-52) = 52 ln 2
  // = 36.04365338911715 (scikit-learn < 1.2's eps = 1e-15 would give
  // 34.538776394910684).
  auto m = ComputeClassificationMetrics({1}, Rows({{1.0, 0.0}}), {"a", "b"});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_NEAR(m->log_loss, 36.04365338911715, 1e-12);
  EXPECT_NEAR(m->log_loss, 52 * std::log(2.0), 1e-12);
  // A certain and right prediction costs -ln(1 - eps), about 2.2e-16.
  auto sure = ComputeClassificationMetrics({0}, Rows({{1.0, 0.0}}), {"a", "b"});
  ASSERT_TRUE(sure.ok());
  EXPECT_GT(sure->log_loss, 0.0);
  EXPECT_LT(sure->log_loss, 1e-15);
}

TEST(ClassificationMetricsTest, LogLossRenormalisesRows) {
  // Row (0.2, 0.2) sums to 0.4: p(true) = 0.2 / 0.4 = 0.5, loss ln 2.
  // Row (0.5, 1.0) sums to 1.5: p(true = b) = 1 / 1.5 = 2/3, loss ln 1.5.
  // But 1.0 is clipped to 1 - eps first (a difference below 1e-15).
  auto m = ComputeClassificationMetrics({0, 1}, Rows({{0.2, 0.2}, {0.5, 1.0}}),
                                        {"a", "b"});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_NEAR(m->log_loss, (std::log(2.0) + std::log(1.5)) / 2, 1e-12);
}

TEST(ClassificationMetricsTest, NamedMetricsOrder) {
  ThreeClassCase c = MakeThreeClassCase();
  auto three =
      ComputeClassificationMetrics(c.y_true, c.probabilities, {"a", "b", "c"});
  ASSERT_TRUE(three.ok());
  std::vector<std::string> names;
  for (const auto& [name, value] : NamedMetrics(*three)) names.push_back(name);
  EXPECT_THAT(names, ElementsAre("accuracy", "precision_macro", "recall_macro",
                                 "f1_macro", "precision_weighted",
                                 "recall_weighted", "f1_weighted", "log_loss"));
  EXPECT_THAT(NamedMetrics(*three)[0], Pair("accuracy", three->accuracy));
  EXPECT_THAT(NamedMetrics(*three)[7], Pair("log_loss", three->log_loss));

  auto binary = ComputeClassificationMetrics({0, 1}, Rows({{.7, .3}, {.4, .6}}),
                                             {"n", "p"});
  ASSERT_TRUE(binary.ok());
  const auto named = NamedMetrics(*binary);
  ASSERT_EQ(named.size(), 9u);
  EXPECT_THAT(named[8], Pair("roc_auc", 1.0));

  RegressionMetrics r;
  r.mse = 4;
  r.rmse = 2;
  r.mae = 1.5;
  r.r2 = 0.25;
  EXPECT_THAT(NamedMetrics(r), ElementsAre(Pair("mse", 4.0), Pair("rmse", 2.0),
                                           Pair("mae", 1.5), Pair("r2", 0.25)));
}

TEST(ClassificationMetricsTest, Errors) {
  const Eigen::MatrixXd p = Rows({{.5, .5}, {.2, .8}});
  auto expect_error = [](const absl::StatusOr<ClassificationMetrics>& m,
                         const std::string& fragment) {
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument)
        << fragment;
    EXPECT_THAT(std::string(m.status().message()), HasSubstr(fragment));
  };
  expect_error(
      ComputeClassificationMetrics({0, 0}, Rows({{1.0}, {1.0}}), {"only"}),
      "at least 2 labels, got 1");
  expect_error(
      ComputeClassificationMetrics({}, Eigen::MatrixXd(0, 2), {"a", "b"}),
      "empty");
  expect_error(ComputeClassificationMetrics({0, 1, 1}, p, {"a", "b"}),
               "probabilities is 2 x 2 but y_true has 3 rows");
  expect_error(ComputeClassificationMetrics({0, 1}, p, {"a", "b", "c"}),
               "expected 2 x 3");
  expect_error(ComputeClassificationMetrics({0, 2}, p, {"a", "b"}),
               "y_true row 1 has class index 2; expected a value in [0, 2)");
  expect_error(ComputeClassificationMetrics({-1, 0}, p, {"a", "b"}),
               "y_true row 0 has class index -1");
  expect_error(
      ComputeClassificationMetrics(
          {0, 1},
          Rows({{.5, .5}, {std::numeric_limits<double>::quiet_NaN(), .8}}),
          {"a", "b"}),
      "probabilities row 1 column 0 (label 'a')");
  expect_error(ComputeClassificationMetrics({0, 1}, Rows({{.5, .5}, {.2, 1.5}}),
                                            {"a", "b"}),
               "probabilities row 1 column 1 (label 'b') is 1.5");
  expect_error(ComputeClassificationMetrics(
                   {0, 1}, Rows({{-.1, 1.1}, {.2, .8}}), {"a", "b"}),
               "row 0 column 0");
}

}  // namespace
}  // namespace modelserver
