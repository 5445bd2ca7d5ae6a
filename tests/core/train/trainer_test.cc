#include "core/train/trainer.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "core/util/parallel.h"
#include "core/util/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/test_tables.h"

namespace modelserver {
namespace {

using test_tables::MakeTable;

using ::testing::HasSubstr;

TrainSpec LinearSpec(const std::string& target) {
  TrainSpec s;
  s.kind = ModelKind::kLinearRegression;
  s.target = target;
  s.preprocessing.scaling = ScalingMethod::kNone;
  s.validation_fraction = 0;
  return s;
}

// y = 1 + 2*x1 - 3*x2 exactly: OLS must recover (2, -3) and intercept 1.
TEST(TrainerTest, ExactOlsRecoversCoefficients) {
  Table t = MakeTable({Column::Numeric("x1", {0, 1, 2, 3, 4, 1}),
                       Column::Numeric("x2", {1, 0, 2, 1, 3, 5}),
                       Column::Numeric("y", {-2, 3, -1, 4, 0, -12})});
  auto r = Train(t, LinearSpec("y"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->optimizer, OptimizerKind::kExact);
  const Eigen::VectorXd& w = r->model->parameters();
  ASSERT_EQ(w.size(), 3);
  EXPECT_NEAR(w[0], 2.0, 1e-12);
  EXPECT_NEAR(w[1], -3.0, 1e-12);
  EXPECT_NEAR(w[2], 1.0, 1e-12);
  EXPECT_EQ(r->rows_train, 6);
  EXPECT_EQ(r->rows_validation, 0);
  EXPECT_TRUE(r->validation_metrics.empty());
  ASSERT_FALSE(r->train_metrics.empty());
  EXPECT_EQ(r->train_metrics[0].first, "mse");
  EXPECT_NEAR(r->train_metrics[0].second, 0.0, 1e-20);
}

// One feature x = [1,2,3,4] (mean 2.5), y = [2,4,5,9] (mean 5):
// sum(xc*yc) = (-1.5)(-3)+(-0.5)(-1)+(0.5)(0)+(1.5)(4) = 11, sum(xc^2) = 5.
// Ridge (mean loss + l2 w^2): w = 11 / (5 + 4*0.5) = 11/7, b = 5 - 2.5*w.
TEST(TrainerTest, ExactRidgeKnownAnswer) {
  Table t = MakeTable(
      {Column::Numeric("x", {1, 2, 3, 4}), Column::Numeric("y", {2, 4, 5, 9})});
  TrainSpec s = LinearSpec("y");
  s.l2 = 0.5;
  auto r = Train(t, s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->model->parameters()[0], 11.0 / 7.0, 1e-12);
  EXPECT_NEAR(r->model->parameters()[1], 5.0 - 2.5 * 11.0 / 7.0, 1e-12);
}

TEST(TrainerTest, LbfgsWithoutPenaltyMatchesExactSolution) {
  Table t = MakeTable(
      {Column::Numeric("x", {1, 2, 3, 4}), Column::Numeric("y", {2, 4, 5, 9})});
  TrainSpec s = LinearSpec("y");
  s.optimizer = OptimizerKind::kLbfgs;
  auto r = Train(t, s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->model->parameters()[0], 2.2, 1e-5);   // 11/5
  EXPECT_NEAR(r->model->parameters()[1], -0.5, 1e-5);  // 5 - 2.5*2.2
}

TEST(TrainerTest, RowsWithMissingTargetAreDroppedAndCounted) {
  const double nan = std::nan("");
  Table t = MakeTable({Column::Numeric("x", {1, 2, 3, 4, 5, 6}),
                       Column::Numeric("y", {3, nan, 7, 9, nan, 13})});
  auto r = Train(t, LinearSpec("y"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows_total, 6);
  EXPECT_EQ(r->rows_dropped, 2);
  EXPECT_EQ(r->rows_train, 4);
  EXPECT_NEAR(r->model->parameters()[0], 2.0, 1e-12);  // y = 2x + 1
  EXPECT_NEAR(r->model->parameters()[1], 1.0, 1e-12);
}

TEST(TrainerTest, SpecAndDataErrorsNameTheProblem) {
  Table t =
      MakeTable({Column::Numeric("x", {1, 2, 3, 4}),
                 Column::Numeric("same", {5, 5, 5, 5}),
                 Column::CategoricalFromStrings("c", {"a", "b", "a", "b"}),
                 Column::CategoricalFromStrings("one", {"k", "k", "k", "k"})});
  struct Case {
    TrainSpec spec;
    std::string message;
  };
  std::vector<Case> cases;
  {
    TrainSpec s = LinearSpec("nope");
    cases.push_back({s, "target column 'nope' is not in the data"});
  }
  {
    TrainSpec s = LinearSpec("c");
    cases.push_back({s, "needs a numeric target"});
  }
  {
    TrainSpec s = LinearSpec("same");
    cases.push_back({s, "is constant"});
  }
  {
    TrainSpec s = LinearSpec("x");
    s.features = {"x"};
    cases.push_back({s, "cannot also be a feature"});
  }
  {
    TrainSpec s = LinearSpec("x");
    s.features = {"missing_col"};
    cases.push_back({s, "feature column 'missing_col'"});
  }
  {
    TrainSpec s = LinearSpec("one");
    s.kind = ModelKind::kLogisticRegression;
    cases.push_back({s, "single class 'k'"});
  }
  {
    TrainSpec s = LinearSpec("c");
    s.kind = ModelKind::kLogisticRegression;
    s.optimizer = OptimizerKind::kExact;
    cases.push_back({s, "optimizer"});
  }
  {
    TrainSpec s = LinearSpec("x");
    s.validation_fraction = 0.95;
    cases.push_back({s, "validation_fraction"});
  }
  {
    TrainSpec s = LinearSpec("x");
    s.epochs = -1;
    cases.push_back({s, "epochs"});
  }
  {
    TrainSpec s = LinearSpec("x");
    s.learning_rate = -0.1;
    cases.push_back({s, "learning_rate"});
  }
  {
    TrainSpec s = LinearSpec("x");
    s.kind = ModelKind::kMlpRegressor;
    s.hidden_layers = {8, 0};
    cases.push_back({s, "hidden_layers"});
  }
  {
    TrainSpec s = LinearSpec("");
    cases.push_back({s, "target"});
  }
  for (const Case& c : cases) {
    auto r = Train(t, c.spec);
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
        << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.message));
  }
}

TEST(TrainerTest, AllTargetsMissingIsAnError) {
  const double nan = std::nan("");
  Table t = MakeTable(
      {Column::Numeric("x", {1, 2}), Column::Numeric("y", {nan, nan})});
  auto r = Train(t, LinearSpec("y"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("missing in all 2 rows"));
}

// Two Gaussian blobs for classification tests.
Table Blobs(int n_per_class, int classes, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> a, b;
  std::vector<std::string> label;
  for (int c = 0; c < classes; ++c) {
    for (int i = 0; i < n_per_class; ++i) {
      a.push_back(3.0 * std::cos(c * 2.1) + rng.Normal() * 0.6);
      b.push_back(3.0 * std::sin(c * 2.1) + rng.Normal() * 0.6);
      label.push_back(std::string(1, static_cast<char>('a' + c)));
    }
  }
  Table t;
  EXPECT_TRUE(t.AddColumn(Column::Numeric("a", a)).ok());
  EXPECT_TRUE(t.AddColumn(Column::Numeric("b", b)).ok());
  EXPECT_TRUE(t.AddColumn(Column::CategoricalFromStrings("label", label)).ok());
  return t;
}

// An MLP classifier of `label` (Blobs) with these layers and epochs.
TrainSpec MlpOnBlobs(std::vector<int> hidden, int epochs) {
  TrainSpec s;
  s.kind = ModelKind::kMlpClassifier;
  s.target = "label";
  s.hidden_layers = std::move(hidden);
  s.epochs = epochs;
  return s;
}

TEST(TrainerTest, StratifiedSplitKeepsClassProportions) {
  Table t = Blobs(50, 3, 1);
  TrainSpec s;
  s.kind = ModelKind::kLogisticRegression;
  s.target = "label";
  s.validation_fraction = 0.2;
  auto r = Train(t, s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows_validation, 30);
  EXPECT_EQ(r->rows_train, 120);
  EXPECT_THAT(r->class_labels, testing::ElementsAre("a", "b", "c"));
  // Validation metrics exist and the blobs are separable enough.
  ASSERT_FALSE(r->validation_metrics.empty());
  EXPECT_EQ(r->validation_metrics[0].first, "accuracy");
  EXPECT_GE(r->validation_metrics[0].second, 0.9);
}

TEST(TrainerTest, SameSeedGivesBitIdenticalModels) {
  Table t = Blobs(40, 2, 2);
  TrainSpec s = MlpOnBlobs({8, 4}, 15);
  auto r1 = Train(t, s);
  auto r2 = Train(t, s);
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_TRUE(r1->model->parameters() == r2->model->parameters());
  s.seed = 43;
  auto r3 = Train(t, s);
  ASSERT_TRUE(r3.ok());
  EXPECT_FALSE(r1->model->parameters() == r3->model->parameters());
}

TEST(TrainerTest, ProgressSeesEveryEpochAndCanCancel) {
  Table t = Blobs(30, 2, 3);
  TrainSpec s = MlpOnBlobs({4}, 7);
  s.early_stopping_patience = 0;
  s.validation_fraction = 0.2;
  std::vector<int> epochs;
  auto r = Train(t, s, [&](const EpochEvent& e) {
    epochs.push_back(e.epoch);
    EXPECT_EQ(e.max_epochs, 7);
    EXPECT_EQ(e.metric_name, "accuracy");
    EXPECT_TRUE(std::isfinite(e.train_loss));
    EXPECT_TRUE(std::isfinite(e.validation_loss));
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(epochs, testing::ElementsAre(1, 2, 3, 4, 5, 6, 7));
  EXPECT_EQ(r->epochs_run, 7);

  int seen = 0;
  auto cancelled = Train(t, s, [&](const EpochEvent& e) {
    seen = e.epoch;
    return e.epoch < 3;
  });
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(seen, 3);
}

TEST(TrainerTest, EarlyStoppingStopsWhenValidationLossStalls) {
  // Pure noise: the validation loss cannot keep improving.
  Rng rng(5);
  std::vector<double> x1, x2, y;
  for (int i = 0; i < 200; ++i) {
    x1.push_back(rng.Normal());
    x2.push_back(rng.Normal());
    y.push_back(rng.Normal());
  }
  Table t = MakeTable({Column::Numeric("x1", x1), Column::Numeric("x2", x2),
                       Column::Numeric("y", y)});
  TrainSpec s;
  s.kind = ModelKind::kMlpRegressor;
  s.target = "y";
  s.hidden_layers = {32};
  s.learning_rate = 0.01;
  s.epochs = 300;
  s.early_stopping_patience = 5;
  auto r = Train(t, s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->early_stopped);
  EXPECT_LT(r->epochs_run, 300);
}

TEST(TrainerTest, DefaultValidationDependsOnTheOptimizerAndTheRows) {
  // Exact and L-BFGS hold nothing out (nothing would use it). SGD and Adam
  // hold out 10% for early stopping, at most 10,000 rows, and nothing when
  // there are fewer than 1,000 rows.
  struct Case {
    int per_class;
    ModelKind kind;
    OptimizerKind optimizer;
    int64_t validation_rows;
  };
  for (const Case& c :
       {Case{1000, ModelKind::kLogisticRegression, OptimizerKind::kAuto, 0},
        Case{1000, ModelKind::kLogisticRegression, OptimizerKind::kSgd, 200},
        Case{1000, ModelKind::kMlpClassifier, OptimizerKind::kAuto, 200},
        Case{400, ModelKind::kMlpClassifier, OptimizerKind::kAuto, 0},
        Case{60000, ModelKind::kLogisticRegression, OptimizerKind::kSgd,
             10000}}) {
    Table t = Blobs(c.per_class, 2, 3);
    TrainSpec s;
    s.kind = c.kind;
    s.target = "label";
    s.optimizer = c.optimizer;
    s.epochs = 12;  // more than the patience (10): early stopping can act
    auto r = Train(t, s);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->rows_validation, c.validation_rows) << c.per_class;
    EXPECT_EQ(r->rows_train + r->rows_validation, 2 * c.per_class);
    // Early stopping unable to act: nothing held out.
    s.epochs = 10;
    auto short_run = Train(t, s);
    ASSERT_TRUE(short_run.ok()) << short_run.status();
    EXPECT_EQ(short_run->rows_validation, 0) << c.per_class;
    s.epochs = 12;
    s.early_stopping_patience = 0;
    auto no_stopping = Train(t, s);
    ASSERT_TRUE(no_stopping.ok()) << no_stopping.status();
    EXPECT_EQ(no_stopping->rows_validation, 0) << c.per_class;
  }
  TrainSpec bad;
  bad.target = "label";
  bad.validation_fraction = -0.5;
  EXPECT_EQ(ValidateTrainSpec(bad).code(), absl::StatusCode::kInvalidArgument);
  bad.validation_fraction = 0.95;
  EXPECT_EQ(ValidateTrainSpec(bad).code(), absl::StatusCode::kInvalidArgument);
}

TEST(TrainerTest, ThreadsAreValidatedResolvedAndDoNotChangeTheModelMuch) {
  TrainSpec s;
  s.kind = ModelKind::kLogisticRegression;
  s.target = "label";
  s.threads = -1;
  EXPECT_THAT(ValidateTrainSpec(s).message(), HasSubstr("threads"));
  // 30000 rows x 9 parameters: enough work for two parts.
  Table t = Blobs(10000, 3, 4);
  s.threads = 0;
  auto all = Train(t, s);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->spec.threads, DefaultThreadCount());
  s.threads = 1;
  auto one = Train(t, s);
  s.threads = 2;
  auto two = Train(t, s);
  auto two_again = Train(t, s);
  ASSERT_TRUE(one.ok() && two.ok() && two_again.ok());
  EXPECT_EQ(two->model->parameters(), two_again->model->parameters());
  EXPECT_TRUE(one->model->parameters().isApprox(two->model->parameters(), 1e-6));
}

TEST(TrainerTest, EarlyStoppingKeepsTrainingWhileValidationImproves) {
  // A learnable problem: the validation loss falls for many epochs, so
  // training must run past the patience window and keep the best epoch,
  // whose validation loss is the lowest reported.
  Table t = Blobs(200, 3, 6);
  TrainSpec s = MlpOnBlobs({8}, 60);
  s.early_stopping_patience = 3;
  s.validation_fraction = 0.2;
  double best = 1e300;
  auto r = Train(t, s, [&](const EpochEvent& e) {
    best = std::min(best, e.validation_loss);
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->epochs_run, 20);
  double val_log_loss = -1;
  for (const auto& [k, v] : r->validation_metrics) {
    if (k == "log_loss") val_log_loss = v;
  }
  EXPECT_NEAR(val_log_loss, best, 1e-9);
  for (const auto& [k, v] : r->validation_metrics) {
    if (k == "accuracy") {
      EXPECT_GE(v, 0.95);
    }
  }
}

TEST(TrainerTest, WithoutValidationEarlyStoppingWatchesTheTrainingLoss) {
  // y = 2x exactly, a linear model by SGD: the training loss reaches its
  // floor within a few dozen epochs and stops improving, so training ends
  // long before the 5000 epochs, keeping the (converged) last parameters.
  std::vector<double> x, y;
  for (int i = 0; i < 50; ++i) {
    x.push_back(i / 10.0);
    y.push_back(i / 5.0);
  }
  Table t = MakeTable({Column::Numeric("x", x), Column::Numeric("y", y)});
  TrainSpec s = LinearSpec("y");
  s.optimizer = OptimizerKind::kSgd;
  s.epochs = 5000;
  s.learning_rate = 0.05;
  s.early_stopping_patience = 5;
  auto r = Train(t, s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows_validation, 0);
  EXPECT_TRUE(r->early_stopped);
  EXPECT_LT(r->epochs_run, 5000);
  EXPECT_NEAR(r->model->parameters()[0], 2.0, 1e-3);
}

TEST(TrainerTest, TrainingFromAMovedTableGivesTheSameModel) {
  // Train(Table&&) frees the columns before optimising; the result, data
  // checksum included, is the same as training from a const table.
  for (int rows_dropped : {0, 1}) {
    Table t = Blobs(300, 3, 9);
    if (rows_dropped) {
      Table with_missing;
      for (const Column& c : t.columns()) {
        if (c.name() != "label") {
          ASSERT_TRUE(with_missing.AddColumn(c).ok());
          continue;
        }
        std::vector<int32_t> codes = c.codes();
        codes[5] = kMissingCode;
        ASSERT_TRUE(with_missing
                        .AddColumn(Column::Categorical("label", codes,
                                                       c.levels()))
                        .ok());
      }
      t = std::move(with_missing);
    }
    TrainSpec s = MlpOnBlobs({6}, 5);
    s.validation_fraction = 0.2;
    auto from_const = Train(t, s);
    auto from_moved = Train(Table(t), s);
    ASSERT_TRUE(from_const.ok() && from_moved.ok());
    EXPECT_EQ(from_const->model->parameters(), from_moved->model->parameters());
    EXPECT_EQ(from_const->data_checksum, from_moved->data_checksum);
    EXPECT_EQ(from_const->rows_dropped, rows_dropped);
    EXPECT_EQ(from_moved->rows_dropped, rows_dropped);
    EXPECT_EQ(from_const->validation_metrics, from_moved->validation_metrics);
  }
}

TEST(TrainerTest, ClassLabelsAreSortedNumericallyOrAsText) {
  Column numeric = Column::Numeric("n", {10, 2, 1, 2, std::nan(""), 10});
  EXPECT_THAT(ClassLabels(numeric), testing::ElementsAre("1", "2", "10"));
  Column text = Column::CategoricalFromStrings("t", {"b", "a", "c", "a"});
  EXPECT_THAT(ClassLabels(text), testing::ElementsAre("a", "b", "c"));
}

TEST(TrainerTest, NumericClassLabelsTrainAClassifier) {
  Table t =
      MakeTable({Column::Numeric("x", {0, 0.1, 0.2, 1, 1.1, 1.2, 0.05, 1.05}),
                 Column::Numeric("y", {0, 0, 0, 1, 1, 1, 0, 1})});
  TrainSpec s;
  s.kind = ModelKind::kLogisticRegression;
  s.target = "y";
  s.validation_fraction = 0;
  auto r = Train(t, s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->class_labels, testing::ElementsAre("0", "1"));
  EXPECT_EQ(r->train_metrics[0].first, "accuracy");
  EXPECT_EQ(r->train_metrics[0].second, 1.0);
}

TEST(TrainerTest, CrossValidationReportsEveryFold) {
  Table t = Blobs(30, 3, 7);
  TrainSpec s;
  s.kind = ModelKind::kLogisticRegression;
  s.target = "label";
  auto cv = CrossValidate(t, s, 5);
  ASSERT_TRUE(cv.ok()) << cv.status();
  ASSERT_EQ(cv->folds.size(), 5u);
  ASSERT_FALSE(cv->summary.empty());
  EXPECT_EQ(cv->summary[0].name, "accuracy");
  EXPECT_GE(cv->summary[0].mean, 0.9);
  EXPECT_EQ(CrossValidate(t, s, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TrainerTest, EncodeTargetRejectsUnknownClassNamingIt) {
  Column c = Column::CategoricalFromStrings("y", {"a", "b", "zebra"});
  auto e = EncodeTarget(c, ModelKind::kLogisticRegression, {"a", "b"});
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("row 3"));
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("'zebra'"));
}

}  // namespace
}  // namespace modelserver
