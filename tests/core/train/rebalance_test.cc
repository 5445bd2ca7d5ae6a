// Class weights (weighted losses and their gradients), oversampling and
// noise augmentation (core/train/rebalance.h), alone and through Train.
#include "core/train/rebalance.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/data/csv_reader.h"
#include "core/model/linear_model.h"
#include "core/model/mlp.h"
#include "core/train/holdout.h"
#include "core/train/model_objective.h"
#include "core/train/trainer.h"
#include "core/util/parallel.h"
#include "core/util/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/test_tables.h"

namespace modelserver {
namespace {

using test_tables::Load;

using ::testing::HasSubstr;

TrainResult TrainOk(const Table& t, const TrainSpec& s) {
  auto r = Train(t, s);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : TrainResult();
}

Eigen::MatrixXd RandomMatrix(Rng& rng, int rows, int cols) {
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = rng.Normal();
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

std::vector<double> RandomWeights(Rng& rng, int rows) {
  std::vector<double> w(rows);
  for (double& v : w) v = 0.1 + 3.0 * rng.Uniform();
  return w;
}

// Relative error between the weighted loss's gradient and central
// differences of the weighted loss.
double WeightedGradientError(const Model& model, const Eigen::VectorXd& w,
                             const Eigen::MatrixXd& x, const Eigen::MatrixXd& y,
                             const std::vector<double>& s) {
  Eigen::VectorXd g;
  model.WeightedLoss(w, x, y, s, &g);
  EXPECT_EQ(g.size(), w.size());
  Eigen::VectorXd fd(w.size());
  const double h = 1e-5;
  for (Eigen::Index j = 0; j < w.size(); ++j) {
    Eigen::VectorXd wp = w, wm = w;
    wp[j] += h;
    wm[j] -= h;
    fd[j] = (model.WeightedLoss(wp, x, y, s, nullptr) -
             model.WeightedLoss(wm, x, y, s, nullptr)) /
            (2 * h);
  }
  EXPECT_GT(g.norm(), 1e-3);  // a zero gradient would prove nothing
  return (g - fd).norm() / std::max(g.norm(), fd.norm());
}

TEST(WeightedLossTest, GradientsMatchFiniteDifferences) {
  Rng rng(7);
  const Eigen::MatrixXd x = RandomMatrix(rng, 25, 4);
  const std::vector<double> s = RandomWeights(rng, 25);
  for (int k : {2, 3}) {
    SCOPED_TRACE(k);
    const Eigen::MatrixXd y = RandomClasses(rng, 25, k);
    auto logistic = LinearModel::Create(ModelKind::kLogisticRegression, 4, k);
    ASSERT_TRUE(logistic.ok());
    Eigen::VectorXd w = Eigen::VectorXd::Zero((*logistic)->parameters().size());
    for (Eigen::Index j = 0; j < w.size(); ++j) w[j] = 0.3 * rng.Normal();
    EXPECT_LT(WeightedGradientError(**logistic, w, x, y, s), 1e-7);
    auto mlp =
        Mlp::Create(ModelKind::kMlpClassifier, 4, {5}, Activation::kTanh, k, 3);
    ASSERT_TRUE(mlp.ok());
    EXPECT_LT(WeightedGradientError(**mlp, (*mlp)->parameters(), x, y, s),
              1e-7);
  }
}

TEST(WeightedLossTest, KnownValuesAndUnitWeights) {
  // Logistic regression with every parameter 0: each row's loss is log 2,
  // so weights {1, 3} on two rows give (1 + 3) log 2 / 2, and the gradient
  // of the bias is (1 (0.5 - 0) + 3 (0.5 - 1)) / 2 = -0.5.
  auto m = LinearModel::Create(ModelKind::kLogisticRegression, 1, 2);
  ASSERT_TRUE(m.ok());
  const Eigen::VectorXd w = Eigen::VectorXd::Zero(2);
  Eigen::MatrixXd x(2, 1);
  x << 2.0, -1.0;
  Eigen::MatrixXd y(2, 1);
  y << 0.0, 1.0;
  const std::vector<double> s = {1.0, 3.0};
  Eigen::VectorXd g;
  EXPECT_DOUBLE_EQ((*m)->WeightedLoss(w, x, y, s, &g), 2.0 * std::log(2.0));
  ASSERT_EQ(g.size(), 2);
  // d/dw = (1 * 0.5 * 2 + 3 * (-0.5) * (-1)) / 2 = 1.25.
  EXPECT_DOUBLE_EQ(g[0], 1.25);
  EXPECT_DOUBLE_EQ(g[1], -0.5);

  // Weights of 1 give the unweighted loss and gradient (to rounding: the
  // unweighted path sums in another order).
  Rng rng(3);
  const Eigen::MatrixXd xr = RandomMatrix(rng, 40, 3);
  const Eigen::MatrixXd yr = RandomClasses(rng, 40, 3);
  auto soft = LinearModel::Create(ModelKind::kLogisticRegression, 3, 3);
  ASSERT_TRUE(soft.ok());
  Eigen::VectorXd ws(12);
  for (Eigen::Index j = 0; j < ws.size(); ++j) ws[j] = rng.Normal();
  Eigen::VectorXd g1, g2;
  const std::vector<double> ones(40, 1.0);
  EXPECT_NEAR((*soft)->WeightedLoss(ws, xr, yr, ones, &g1),
              (*soft)->Loss(ws, xr, yr, &g2), 1e-13);
  EXPECT_LT((g1 - g2).norm(), 1e-13);
}

TEST(WeightedObjectiveTest, EvaluateAndBatchesUseTheRowWeights) {
  Rng rng(11);
  const int n = 3000;  // enough rows for the pool to split them
  const Eigen::MatrixXd x = RandomMatrix(rng, n, 30);
  const Eigen::MatrixXd y = RandomClasses(rng, n, 3);
  const std::vector<double> s = RandomWeights(rng, n);
  const Eigen::VectorXd sw = Eigen::Map<const Eigen::VectorXd>(s.data(), n);
  auto model = LinearModel::Create(ModelKind::kLogisticRegression, 30, 3);
  ASSERT_TRUE(model.ok());
  Eigen::VectorXd w(93);
  for (Eigen::Index j = 0; j < w.size(); ++j) w[j] = 0.2 * rng.Normal();
  const double l2 = 0.01;
  const double penalty =
      l2 * (w.head(90).array().square()).sum();  // biases are not penalised

  Eigen::VectorXd ref_g;
  const double ref = (*model)->WeightedLoss(w, x, y, s, &ref_g) + penalty;
  ThreadPool pool(2);
  for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
    auto objective = ModelObjective::Create(**model, x, y, 0, l2, p, &sw);
    ASSERT_TRUE(objective.ok()) << objective.status();
    Eigen::VectorXd g;
    EXPECT_NEAR((*objective)->Evaluate(w, &g), ref, 1e-12);
    Eigen::VectorXd expected_g = ref_g;
    expected_g.head(90) += 2 * l2 * w.head(90);
    EXPECT_LT((g - expected_g).norm(), 1e-12);

    // A batch of rows 5, 17, 5: their weights, duplicates included.
    const std::vector<int64_t> rows = {5, 17, 5};
    Eigen::MatrixXd xb(3, 30), yb(3, 3);
    std::vector<double> sb;
    for (int i = 0; i < 3; ++i) {
      xb.row(i) = x.row(rows[i]);
      yb.row(i) = y.row(rows[i]);
      sb.push_back(s[rows[i]]);
    }
    Eigen::VectorXd gb, ref_gb;
    const double batch = (*objective)->EvaluateBatch(w, rows, &gb);
    EXPECT_NEAR(batch, (*model)->WeightedLoss(w, xb, yb, sb, &ref_gb) + penalty,
                1e-12);
    ref_gb.head(90) += 2 * l2 * w.head(90);
    EXPECT_LT((gb - ref_gb).norm(), 1e-12);
  }

  Eigen::VectorXd short_weights = Eigen::VectorXd::Ones(n - 1);
  auto bad =
      ModelObjective::Create(**model, x, y, 0, l2, nullptr, &short_weights);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("row_weights has 2999 entries but x has 3000 rows"));
  Eigen::VectorXd negative = Eigen::VectorXd::Ones(n);
  negative[4] = -1;
  bad = ModelObjective::Create(**model, x, y, 0, l2, nullptr, &negative);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("row_weights[4] must be finite and >= 0, got -1"));
}

TEST(OversampleTest, ExactCountsAndReplication) {
  // 7 rows of class 0, 2 of class 1, 3 of class 2, interleaved.
  const std::vector<int32_t> classes = {0, 1, 0, 2, 0, 0, 2, 1, 0, 0, 2, 0};
  const std::vector<int64_t> rows = OversampleRows(classes, 3, 42);
  ASSERT_EQ(rows.size(), 21u);                             // 3 classes x 7
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(rows[i], i);  // originals first
  std::map<int32_t, int> per_class;
  std::map<int64_t, int> per_row;
  for (int64_t r : rows) {
    ++per_class[classes[r]];
    ++per_row[r];
  }
  EXPECT_EQ(per_class[0], 7);
  EXPECT_EQ(per_class[1], 7);
  EXPECT_EQ(per_class[2], 7);
  // Class 1 (rows 1, 7): 5 added = 2 whole copies + 1 drawn row, so one row
  // appears 4 times and the other 3. Class 2 (rows 3, 6, 10): 4 added = 1
  // whole copy + 1 drawn: counts {3, 2, 2}.
  std::vector<int> c1 = {per_row[1], per_row[7]};
  std::sort(c1.begin(), c1.end());
  EXPECT_EQ(c1, (std::vector<int>{3, 4}));
  std::vector<int> c2 = {per_row[3], per_row[6], per_row[10]};
  std::sort(c2.begin(), c2.end());
  EXPECT_EQ(c2, (std::vector<int>{2, 2, 3}));
  for (int64_t r : {0, 2, 4, 5, 8, 9, 11}) EXPECT_EQ(per_row[r], 1);
  // Deterministic for a seed.
  EXPECT_EQ(OversampleRows(classes, 3, 42), rows);
  // Balanced input: nothing added.
  EXPECT_EQ(OversampleRows({0, 1, 1, 0}, 2, 1).size(), 4u);
}

// The training rows of an imbalanced binary problem: label "a" for 80 rows,
// "b" for 20, one numeric feature that separates them noisily.
Table Imbalanced() {
  std::vector<double> x, y;
  Rng rng(5);
  for (int i = 0; i < 100; ++i) {
    const bool b = i % 5 == 0;
    x.push_back((b ? 1.0 : 0.0) + rng.Normal());
    y.push_back(b ? 1.0 : 0.0);
  }
  Table t;
  EXPECT_TRUE(t.AddColumn(Column::Numeric("x", x)).ok());
  EXPECT_TRUE(t.AddColumn(Column::Numeric("y", y)).ok());
  return t;
}

TEST(OversampleTest, TrainOversamplesTrainingRowsOnly) {
  const Table t = Imbalanced();
  TrainSpec s;
  s.kind = ModelKind::kLogisticRegression;
  s.target = "y";
  s.validation_fraction = 0.2;  // stratified: 16 + 4 validation rows
  TrainResult plain = TrainOk(t, s);
  s.rebalance = RebalanceMode::kOversample;
  TrainResult over = TrainOk(t, s);
  EXPECT_EQ(over.rows_train, 80);
  EXPECT_EQ(over.rows_validation, 20);
  EXPECT_EQ(plain.rows_validation, 20);
  // 64 training rows of class 0, 16 of class 1: 48 added.
  EXPECT_EQ(over.rows_oversampled, 48);
  EXPECT_EQ(over.rows_augmented, 0);
  // The validation rows are the same rows, unweighted: with the same
  // model they would score the same; the metrics are over 20 rows either
  // way, and the training metrics over the 80 original rows (accuracy is a
  // multiple of 1/80).
  const double acc = over.train_metrics[0].second;
  EXPECT_EQ(over.train_metrics[0].first, "accuracy");
  EXPECT_DOUBLE_EQ(std::round(acc * 80) / 80, acc);
  // Oversampling moves the decision towards the minority: the bias grows.
  EXPECT_GT(over.model->parameters()[1], plain.model->parameters()[1]);
  // Deterministic.
  TrainResult again = TrainOk(t, s);
  EXPECT_EQ(again.model->parameters(), over.model->parameters());
  // The same with explicit oversampling of the matrix: the class counts
  // the optimizer saw are 64 and 64.
  ExpansionOptions o;
  o.rebalance = RebalanceMode::kOversample;
  std::vector<int32_t> classes(80);
  for (int i = 0; i < 80; ++i) classes[i] = i < 16 ? 1 : 0;
  auto e =
      ExpandTrainingRows(Eigen::MatrixXd::Zero(80, 1),
                         Eigen::MatrixXd::Zero(80, 1), classes, 2, {true}, o);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(std::count(e->classes.begin(), e->classes.end(), 1), 64);
  EXPECT_EQ(std::count(e->classes.begin(), e->classes.end(), 0), 64);
}

TEST(AugmentTest, NoiseHasTheRequestedScale) {
  const int n = 20000;
  Rng rng(1);
  Eigen::MatrixXd x(n, 3);
  for (int i = 0; i < n; ++i) {
    x(i, 0) = 2.0 * rng.Normal();               // sd 2
    x(i, 1) = 10.0 + 0.5 * rng.Normal();        // sd 0.5
    x(i, 2) = rng.Uniform() < 0.5 ? 1.0 : 0.0;  // a one-hot output
  }
  const Eigen::MatrixXd y = Eigen::MatrixXd::Zero(n, 1);
  ExpansionOptions o;
  o.noise = 0.25;
  o.copies = 2;
  o.seed = 9;
  auto e = ExpandTrainingRows(x, y, {}, 0, {true, true, false}, o);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->x.rows(), 3 * n);
  EXPECT_EQ(e->rows_augmented, 2 * n);
  EXPECT_EQ(e->rows_oversampled, 0);
  EXPECT_EQ(e->x.topRows(n), x);  // the originals, unchanged, first
  for (int copy = 1; copy <= 2; ++copy) {
    const Eigen::MatrixXd d = e->x.middleRows(copy * n, n) - x;
    EXPECT_EQ(d.col(2).cwiseAbs().maxCoeff(), 0.0);  // no noise on one-hot
    for (int j = 0; j < 2; ++j) {
      const double sd_x =
          std::sqrt((x.col(j).array() - x.col(j).mean()).square().mean());
      const double expected_sd = 0.25 * sd_x;
      const double mean = d.col(j).mean();
      const double sd = std::sqrt((d.col(j).array() - mean).square().mean());
      SCOPED_TRACE(j);
      // Mean within 4 standard errors, sd within 3%.
      EXPECT_LT(std::abs(mean), 4 * expected_sd / std::sqrt(n));
      EXPECT_NEAR(sd / expected_sd, 1.0, 0.03);
    }
  }
  // Deterministic for a seed; another seed draws other noise.
  auto again = ExpandTrainingRows(x, y, {}, 0, {true, true, false}, o);
  EXPECT_EQ(again->x, e->x);
  o.seed = 10;
  auto other = ExpandTrainingRows(x, y, {}, 0, {true, true, false}, o);
  EXPECT_NE(other->x, e->x);
}

TEST(AugmentTest, TrainRecordsRowsAndZeroNoiseIsTheDefault) {
  const Table t = Load("diabetes.csv");
  TrainSpec s;
  s.kind = ModelKind::kLinearRegression;
  s.target = "progression";
  s.validation_fraction = 0.2;
  TrainResult plain = TrainOk(t, s);
  s.augment_noise = 0.0;
  s.augment_copies = 0;
  TrainResult zero = TrainOk(t, s);
  EXPECT_EQ(zero.model->parameters(), plain.model->parameters());  // bitwise
  EXPECT_EQ(zero.rows_augmented, 0);

  s.augment_noise = 0.1;
  s.augment_copies = 3;
  TrainResult noisy = TrainOk(t, s);
  EXPECT_EQ(noisy.rows_train, plain.rows_train);
  EXPECT_EQ(noisy.rows_augmented, 3 * plain.rows_train);
  EXPECT_EQ(noisy.rows_validation, plain.rows_validation);
  EXPECT_NE(noisy.model->parameters(), plain.model->parameters());
  // Noise on the inputs shrinks least-squares weights (ridge-like), never
  // by much for 0.1 sd.
  EXPECT_LT(noisy.model->parameters().head(10).norm(),
            plain.model->parameters().head(10).norm());
  EXPECT_GT(noisy.model->parameters().head(10).norm(),
            0.9 * plain.model->parameters().head(10).norm());
  TrainResult again = TrainOk(t, s);
  EXPECT_EQ(again.model->parameters(), noisy.model->parameters());
  EXPECT_EQ(noisy.spec.augment_copies, 3);
  s.augment_copies = 0;  // = 1 copy
  EXPECT_EQ(TrainOk(t, s).rows_augmented, plain.rows_train);
}

// tests/data/breast_cancer.csv made imbalanced: every benign row and the
// malignant rows whose data row index i has i % 4 == 0 (50 of 407 rows).
Table ImbalancedBreastCancer() {
  const Table all = Load("breast_cancer.csv");
  const Column* d = all.Find("diagnosis");
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < all.num_rows(); ++i) {
    const std::string& label = d->levels()[d->codes()[i]];
    if (label == "benign" || i % 4 == 0) keep.push_back(i);
  }
  return all.SelectRows(keep);
}

TEST(ClassWeightTest, BalancedLogisticRegressionMatchesScikitLearn) {
  // Reference: /usr/bin/python3 bench/sklearn_class_weight.py (scikit-learn
  // 1.2.1): LogisticRegression(C=1, class_weight='balanced', tol=1e-12,
  // solver='newton-cholesky') on the standardised 407 rows: the optimum.
  const double coef[30] = {
      0.1385918548,  0.6612123425,  0.1606028679,  0.1939097140,
      0.3004371380,  -0.3710282052, 0.8212897993,  0.4328959644,
      0.5987290015,  -0.3127673012, 0.4763982078,  -0.4412909674,
      0.6109560118,  0.4802389018,  -0.4704491035, -0.8672592872,
      -0.0242405974, -0.2174400307, -0.7302777424, -0.5731496025,
      0.8801871214,  1.4364214446,  0.7655910821,  0.8503675961,
      0.2447139559,  -0.0588383746, 1.0163278707,  1.1379099956,
      0.8285292713,  -0.0755470226};
  const double intercept = -5.6810242938;
  const Table t = ImbalancedBreastCancer();
  ASSERT_EQ(t.num_rows(), 407);
  TrainSpec s;
  s.kind = ModelKind::kLogisticRegression;
  s.target = "diagnosis";
  s.validation_fraction = 0;
  s.class_weight = ClassWeightMode::kBalanced;
  s.epochs = 5000;
  TrainResult r = TrainOk(t, s);
  ASSERT_EQ(r.class_labels, (std::vector<std::string>{"benign", "malignant"}));
  // n / (k n_c): 407 / (2 * 357), 407 / (2 * 50).
  ASSERT_EQ(r.class_weights.size(), 2u);
  EXPECT_DOUBLE_EQ(r.class_weights[0], 407.0 / 714.0);
  EXPECT_DOUBLE_EQ(r.class_weights[1], 407.0 / 100.0);
  EXPECT_DOUBLE_EQ(r.spec.l2, 0.5 / 407);
  const Eigen::VectorXd& w = r.model->parameters();
  ASSERT_EQ(w.size(), 31);
  // L-BFGS stops at its tolerance (max |gradient| <= 1e-6 of the mean
  // objective): the 30 correlated features leave up to 2e-4 in the flattest
  // directions (scikit-learn's own lbfgs stops 7e-5 from this optimum).
  for (int j = 0; j < 30; ++j) {
    EXPECT_NEAR(w[j], coef[j], 2.5e-4) << r.pipeline.output_names()[j];
  }
  EXPECT_NEAR(w[30], intercept, 2.5e-4);

  // Explicit weights proportional to 1 / n_c are rescaled to the same
  // weights: the same model (to rounding).
  s.class_weight = ClassWeightMode::kExplicit;
  s.class_weights = {{"benign", 1.0 / 357}, {"malignant", 1.0 / 50}};
  TrainResult e = TrainOk(t, s);
  EXPECT_NEAR(e.class_weights[0], 407.0 / 714.0, 1e-12);
  EXPECT_NEAR(e.class_weights[1], 407.0 / 100.0, 1e-12);
  EXPECT_LT((e.model->parameters() - w).norm(), 1e-6);
}

double MinorityRecall(const TrainResult& r, const Table& test) {
  auto x = r.pipeline.Transform(test);
  EXPECT_TRUE(x.ok()) << x.status();
  auto y = EncodeTarget(*test.Find(r.target), r.model->kind(), r.class_labels);
  EXPECT_TRUE(y.ok()) << y.status();
  auto s = ScoreModelDetailed(*r.model, *x, *y, r.class_labels);
  EXPECT_TRUE(s.ok() && s->classification.has_value());
  if (!s.ok() || !s->classification.has_value()) return -1;
  EXPECT_EQ(s->classification->per_class[1].label, "malignant");
  EXPECT_EQ(s->classification->per_class[1].support, 9);
  return s->classification->per_class[1].recall;
}

TEST(ClassWeightTest, BalancedWeightsRaiseMinorityRecall) {
  // Test rows: subset row j with j % 5 == 0 (9 of them malignant); features
  // mean_texture and mean_smoothness. scikit-learn (bench/
  // sklearn_class_weight.py) reaches malignant recall 2/9 without weights
  // and 8/9 with class_weight='balanced'.
  const Table t = ImbalancedBreastCancer();
  std::vector<int64_t> train_rows, test_rows;
  for (int64_t i = 0; i < t.num_rows(); ++i) {
    (i % 5 == 0 ? test_rows : train_rows).push_back(i);
  }
  const Table train = t.SelectRows(train_rows);
  const Table test = t.SelectRows(test_rows);
  TrainSpec s;
  s.kind = ModelKind::kLogisticRegression;
  s.target = "diagnosis";
  s.features = {"mean_texture", "mean_smoothness"};
  s.validation_fraction = 0;
  EXPECT_DOUBLE_EQ(MinorityRecall(TrainOk(train, s), test), 2.0 / 9);
  s.class_weight = ClassWeightMode::kBalanced;
  const TrainResult balanced = TrainOk(train, s);
  EXPECT_DOUBLE_EQ(MinorityRecall(balanced, test), 8.0 / 9);
  // Two features: the coefficients agree to the L-BFGS tolerance (same
  // script, newton-cholesky).
  const Eigen::VectorXd& w = balanced.model->parameters();
  EXPECT_NEAR(w[0], 1.1660796361, 1e-5);
  EXPECT_NEAR(w[1], 1.3277333433, 1e-5);
  EXPECT_NEAR(w[2], -0.8347173215, 1e-5);
  // Oversampling has the same effect here; so do balanced weights on an
  // MLP (Adam).
  s.class_weight = ClassWeightMode::kNone;
  s.rebalance = RebalanceMode::kOversample;
  EXPECT_GE(MinorityRecall(TrainOk(train, s), test), 7.0 / 9);
  TrainSpec mlp = s;
  mlp.kind = ModelKind::kMlpClassifier;
  mlp.hidden_layers = {8};
  mlp.rebalance = RebalanceMode::kNone;
  const double plain = MinorityRecall(TrainOk(train, mlp), test);
  mlp.class_weight = ClassWeightMode::kBalanced;
  const double weighted = MinorityRecall(TrainOk(train, mlp), test);
  EXPECT_LE(plain, 4.0 / 9);
  EXPECT_GE(weighted, 7.0 / 9);
}

TEST(ClassWeightTest, InvalidSpecsNameTheField) {
  auto message = [](const TrainSpec& s) {
    absl::Status st = ValidateTrainSpec(s);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
    return std::string(st.message());
  };
  TrainSpec s;
  s.target = "y";
  s.kind = ModelKind::kLinearRegression;
  s.class_weight = ClassWeightMode::kBalanced;
  EXPECT_EQ(message(s),
            "class_weight: applies to classifiers only; the model is "
            "linear_regression (a regressor)");
  s.class_weight = ClassWeightMode::kNone;
  s.rebalance = RebalanceMode::kOversample;
  s.kind = ModelKind::kMlpRegressor;
  EXPECT_EQ(message(s),
            "rebalance: applies to classifiers only; the model is "
            "mlp_regressor (a regressor)");
  s.rebalance = RebalanceMode::kNone;
  s.kind = ModelKind::kLogisticRegression;
  s.class_weight = ClassWeightMode::kExplicit;
  EXPECT_THAT(message(s), HasSubstr("class_weights: explicit class weights"));
  s.class_weights = {{"a", 1.0}, {"a", 2.0}};
  EXPECT_EQ(message(s), "class_weights: label 'a' is listed twice");
  s.class_weights = {{"a", 0.0}};
  EXPECT_EQ(message(s),
            "class_weights: the weight of 'a' must be finite and > 0, got 0");
  s.class_weight = ClassWeightMode::kBalanced;
  s.class_weights = {{"a", 1.0}};
  EXPECT_THAT(message(s), HasSubstr("go with class_weight explicit, not "
                                    "balanced"));
  s.class_weight = ClassWeightMode::kNone;
  s.class_weights.clear();
  s.augment_noise = 11;
  EXPECT_EQ(message(s), "augment_noise: must be in [0, 10] (0 = off), got 11");
  s.augment_noise = 0;
  s.augment_copies = 2;
  EXPECT_THAT(message(s), HasSubstr("augment_copies: noisy copies need "
                                    "augment_noise > 0"));
  s.augment_noise = 0.1;
  s.augment_copies = 101;
  EXPECT_THAT(message(s), HasSubstr("augment_copies: must be in [0, 100]"));

  // A label that is not a class: known only with the data.
  TrainSpec d;
  d.kind = ModelKind::kLogisticRegression;
  d.target = "y";
  d.class_weight = ClassWeightMode::kExplicit;
  d.class_weights = {{"1", 2.0}, {"7", 3.0}};
  auto r = Train(Imbalanced(), d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "class_weights: '7' is not a class of target 'y' (its classes "
            "are: 0, 1)");
  ASSERT_EQ(ParseClassWeightMode("balanced", "x").value(),
            ClassWeightMode::kBalanced);
  EXPECT_EQ(
      ParseClassWeightMode("heavy", "options.class_weight").status().message(),
      "options.class_weight: unknown class weight 'heavy': expected "
      "none or balanced (or per-label weights)");
  EXPECT_EQ(ParseRebalanceMode("smote", "options.rebalance").status().message(),
            "options.rebalance: unknown rebalance 'smote': expected none or "
            "oversample");
}

TEST(HoldoutTest, StratifiedSeededAndDisjoint) {
  // Iris: 150 rows, 50 per class; a 0.2 holdout takes 10 of each class.
  const Table t = Load("iris.csv");
  auto h = SplitHoldout(t, "species", ModelKind::kLogisticRegression, 0.2, 42);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->holdout.num_rows(), 30);
  EXPECT_EQ(h->train.num_rows(), 120);
  std::map<std::string, int> per_class;
  const Column* c = h->holdout.Find("species");
  for (int64_t i = 0; i < c->size(); ++i) {
    ++per_class[c->levels()[c->codes()[i]]];
  }
  EXPECT_EQ(per_class,
            (std::map<std::string, int>{
                {"setosa", 10}, {"versicolor", 10}, {"virginica", 10}}));
  // The same seed gives the same rows; the two parts hold every row once
  // (the sums of a column add up).
  auto again =
      SplitHoldout(t, "species", ModelKind::kLogisticRegression, 0.2, 42);
  EXPECT_EQ(again->holdout.Find("sepal_length_cm")->values(),
            h->holdout.Find("sepal_length_cm")->values());
  double total = 0, parts = 0;
  for (double v : t.Find("sepal_length_cm")->values()) total += v;
  for (const Table* p : {&h->train, &h->holdout}) {
    for (double v : p->Find("sepal_length_cm")->values()) parts += v;
  }
  EXPECT_DOUBLE_EQ(parts, total);
  auto other =
      SplitHoldout(t, "species", ModelKind::kLogisticRegression, 0.2, 7);
  EXPECT_NE(other->holdout.Find("sepal_length_cm")->values(),
            h->holdout.Find("sepal_length_cm")->values());

  // Rows without a target stay in train: airquality has 37 missing Ozone.
  const Table air = Load("airquality.csv");
  auto a = SplitHoldout(air, "Ozone", ModelKind::kLinearRegression, 0.25, 1);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->holdout.num_rows(), 29);  // round(0.25 * 116)
  EXPECT_EQ(a->train.num_rows(), 153 - 29);
  for (double v : a->holdout.Find("Ozone")->values()) {
    EXPECT_FALSE(std::isnan(v));
  }

  auto bad =
      SplitHoldout(t, "species", ModelKind::kLogisticRegression, 0.95, 1);
  EXPECT_EQ(bad.status().message(),
            "holdout_fraction: must be in (0, 0.9], got 0.95");
  bad = SplitHoldout(t, "kind", ModelKind::kLogisticRegression, 0.2, 1);
  EXPECT_EQ(bad.status().message(),
            "holdout_fraction: target column 'kind' is not in the data");
}

}  // namespace
}  // namespace modelserver
