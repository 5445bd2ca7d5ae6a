#include "core/tune/tune.h"

#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/data/csv_reader.h"
#include "core/util/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/test_tables.h"

namespace modelserver {
namespace {

using test_tables::Load;

using ::testing::HasSubstr;
using ::testing::Pair;

// y = 1 + 2*x1 - 3*x2 exactly, 40 rows of seeded x.
Table LinearTable() {
  Rng rng(5);
  std::vector<double> x1, x2, y;
  for (int i = 0; i < 40; ++i) {
    x1.push_back(rng.Uniform() * 10);
    x2.push_back(rng.Uniform() * 10 - 5);
    y.push_back(1 + 2 * x1.back() - 3 * x2.back());
  }
  Table t;
  EXPECT_TRUE(t.AddColumn(Column::Numeric("x1", x1)).ok());
  EXPECT_TRUE(t.AddColumn(Column::Numeric("x2", x2)).ok());
  EXPECT_TRUE(t.AddColumn(Column::Numeric("y", y)).ok());
  return t;
}

TuneOptions L2Grid() {
  TuneOptions o;
  o.base.kind = ModelKind::kLinearRegression;
  o.base.target = "y";
  o.space.l2.values = {1.0, 0.0, 0.1};
  o.folds = 4;
  return o;
}

std::string Param(const TuneParams& p, const std::string& key) {
  for (const auto& [k, v] : p) {
    if (k == key) return v;
  }
  return "<unset>";
}

TEST(TuneTest, GridIsTheCartesianProductLastParameterFastest) {
  TuneOptions o;
  o.base.target = "y";
  o.space.l2.values = {0, 0.5};
  o.space.epochs = {5, 10};
  o.space.scaling = {ScalingMethod::kStandard, ScalingMethod::kMinMax};
  EXPECT_EQ(PlannedTrials(o), 8);
  auto plan = PlanTrials(o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->size(), 8u);
  const std::vector<std::vector<std::string>> want = {
      {"0", "5", "standard"},    {"0", "5", "minmax"},
      {"0", "10", "standard"},   {"0", "10", "minmax"},
      {"0.5", "5", "standard"},  {"0.5", "5", "minmax"},
      {"0.5", "10", "standard"}, {"0.5", "10", "minmax"}};
  for (size_t i = 0; i < want.size(); ++i) {
    const TuneCandidate& c = (*plan)[i];
    ASSERT_EQ(c.params.size(), 3u);
    EXPECT_THAT(c.params[0], Pair("l2", want[i][0])) << i;
    EXPECT_THAT(c.params[1], Pair("epochs", want[i][1])) << i;
    EXPECT_THAT(c.params[2], Pair("scaling", want[i][2])) << i;
    EXPECT_EQ(c.spec.l2, std::stod(want[i][0]));
    EXPECT_EQ(c.spec.epochs, std::stoi(want[i][1]));
    EXPECT_EQ(c.spec.target, "y");  // the base spec is kept
  }
  EXPECT_EQ((*plan)[1].spec.preprocessing.scaling, ScalingMethod::kMinMax);
}

TEST(TuneTest, GridOfModelsAndLayers) {
  TuneOptions o;
  o.base.target = "y";
  o.space.kinds = {ModelKind::kLinearRegression, ModelKind::kMlpRegressor};
  o.space.hidden_layers = {{8}, {16, 4}};
  auto plan = PlanTrials(o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->size(), 4u);
  EXPECT_EQ(Param((*plan)[0].params, "model"), "linear_regression");
  EXPECT_EQ(Param((*plan)[0].params, "hidden_layers"), "8");
  EXPECT_EQ(Param((*plan)[3].params, "model"), "mlp_regressor");
  EXPECT_EQ(Param((*plan)[3].params, "hidden_layers"), "16,4");
  EXPECT_EQ((*plan)[3].spec.hidden_layers, (std::vector<int>{16, 4}));
}

TEST(TuneTest, RandomDrawsFollowTheSeededSequenceAndStayInRange) {
  TuneOptions o;
  o.base.target = "y";
  o.mode = TuneMode::kRandom;
  o.max_trials = 50;
  o.seed = 7;
  o.space.kinds = {ModelKind::kLinearRegression, ModelKind::kMlpRegressor};
  o.space.learning_rate.range = TuneRange{1e-4, 1e-1, /*log=*/true};
  o.space.l2.range = TuneRange{0.0, 2.0, /*log=*/false};
  o.space.epochs = {10, 20, 30};
  auto plan = PlanTrials(o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->size(), 50u);
  // The documented draw order: model, learning_rate, l2, epochs.
  Rng rng(7);
  for (const TuneCandidate& c : *plan) {
    const ModelKind kind = rng.UniformInt(2) == 0
                               ? ModelKind::kLinearRegression
                               : ModelKind::kMlpRegressor;
    const double lr =
        std::exp(std::log(1e-4) + (std::log(1e-1) - std::log(1e-4)) *
                                      rng.Uniform());
    const double l2 = 2.0 * rng.Uniform();
    const int epochs = std::vector<int>{10, 20, 30}[rng.UniformInt(3)];
    EXPECT_EQ(c.spec.kind, kind);
    EXPECT_DOUBLE_EQ(c.spec.learning_rate, lr);
    EXPECT_EQ(c.spec.l2, l2);
    EXPECT_EQ(c.spec.epochs, epochs);
    EXPECT_GE(c.spec.learning_rate, 1e-4);
    EXPECT_LE(c.spec.learning_rate, 1e-1);
    EXPECT_GE(c.spec.l2, 0.0);
    EXPECT_LE(c.spec.l2, 2.0);
  }
  // Reproducible; another seed gives other draws.
  auto again = PlanTrials(o);
  ASSERT_TRUE(again.ok());
  for (size_t i = 0; i < plan->size(); ++i) {
    EXPECT_EQ((*plan)[i].params, (*again)[i].params);
  }
  o.seed = 8;
  auto other = PlanTrials(o);
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*plan)[0].params, (*other)[0].params);
  // Random mode without max_trials: 20 draws.
  o.max_trials = 0;
  EXPECT_EQ(PlanTrials(o)->size(), 20u);
}

struct BadCase {
  std::string what;
  std::function<void(TuneOptions*)> edit;
  std::string field;
};

TEST(TuneTest, InvalidOptionsNameTheField) {
  const std::vector<BadCase> cases = {
      {"empty space", [](TuneOptions* o) { o->space = TuneSpace(); }, "space:"},
      {"negative l2",
       [](TuneOptions* o) { o->space.l2.values = {0.1, -1}; },
       "space.l2[1]: must be >= 0"},
      {"zero learning rate",
       [](TuneOptions* o) { o->space.learning_rate.values = {0}; },
       "space.learning_rates[0]: must be > 0"},
      {"range in grid mode",
       [](TuneOptions* o) {
         o->space.l2.values.clear();
         o->space.l2.range = TuneRange{0, 1, false};
       },
       "space.l2_range: ranges need mode random"},
      {"low > high",
       [](TuneOptions* o) {
         o->mode = TuneMode::kRandom;
         o->space.l2.values.clear();
         o->space.l2.range = TuneRange{1, 0.5, false};
       },
       "space.l2_range: low 1 > high 0.5"},
      {"log range at 0",
       [](TuneOptions* o) {
         o->mode = TuneMode::kRandom;
         o->space.learning_rate.range = TuneRange{0, 0.1, true};
       },
       "space.learning_rate_range: a log range needs low > 0"},
      {"list and range",
       [](TuneOptions* o) {
         o->mode = TuneMode::kRandom;
         o->space.l2.range = TuneRange{0, 1, false};
       },
       "space.l2_range: give a list (space.l2) or a range, not both"},
      {"unknown metric",
       [](TuneOptions* o) { o->metric = "accuracy"; },
       "metric: unknown metric 'accuracy' for regression"},
      {"grid larger than max_trials",
       [](TuneOptions* o) { o->max_trials = 2; },
       "max_trials: the grid has 3 configurations, more than max_trials 2"},
      {"one fold", [](TuneOptions* o) { o->folds = 1; }, "folds: must be >= 2"},
      {"mixed tasks",
       [](TuneOptions* o) {
         o->space.kinds = {ModelKind::kLinearRegression,
                           ModelKind::kLogisticRegression};
       },
       "space.models: mixes regression and classification"},
      {"empty layer list",
       [](TuneOptions* o) { o->space.hidden_layers = {{4}, {}}; },
       "space.hidden_layers[1]: an empty list of layers"},
      {"zero epochs",
       [](TuneOptions* o) { o->space.epochs = {0}; },
       "space.epochs[0]: must be >= 1"},
      {"negative budget",
       [](TuneOptions* o) { o->time_budget_seconds = -1; },
       "time_budget_seconds: must be >= 0"},
      {"no target", [](TuneOptions* o) { o->base.target.clear(); },
       "options.target: a target column is required"},
  };
  for (const BadCase& c : cases) {
    TuneOptions o = L2Grid();
    c.edit(&o);
    absl::Status s = ValidateTuneOptions(o);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_THAT(s.message(), HasSubstr(c.field)) << c.what;
  }
  // The same metric is fine for a classifier.
  TuneOptions ok = L2Grid();
  ok.base.kind = ModelKind::kLogisticRegression;
  ok.metric = "log_loss";
  EXPECT_TRUE(ValidateTuneOptions(ok).ok());
}

// On exactly linear data OLS (l2 = 0) fits every held-out fold perfectly
// (r2 = 1) while any ridge penalty shrinks the slopes: the search must pick
// trial 2, the l2 = 0 one, and train it on all 40 rows.
TEST(TuneTest, PicksUnpenalisedRidgeOnExactlyLinearData) {
  const Table t = LinearTable();
  auto r = Tune(t, L2Grid());
  ASSERT_TRUE(r.ok()) << r.status();
  const TuneSummary& s = r->summary;
  EXPECT_EQ(s.metric, "r2");
  EXPECT_TRUE(s.higher_is_better);
  EXPECT_EQ(s.mode, "grid");
  EXPECT_EQ(s.stop_reason, "max_trials");
  EXPECT_EQ(s.folds, 4);
  EXPECT_EQ(s.max_trials, 3);
  ASSERT_EQ(s.trials.size(), 3u);
  EXPECT_EQ(s.best_trial, 2);
  EXPECT_NEAR(s.trials[1].mean, 1.0, 1e-12);
  EXPECT_LT(s.trials[0].mean, s.trials[2].mean);  // l2 = 1 worse than 0.1
  EXPECT_LT(s.trials[2].mean, 1.0 - 1e-6);
  EXPECT_EQ(r->model.spec.l2, 0.0);
  EXPECT_EQ(r->model.rows_train, 40);
  // Minimising mse picks the same trial.
  TuneOptions by_mse = L2Grid();
  by_mse.metric = "mse";
  auto m = Search(t, by_mse);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(m->summary.higher_is_better);
  EXPECT_EQ(m->summary.best_trial, 2);
  EXPECT_NEAR(m->summary.trials[1].mean, 0.0, 1e-18);
}

TEST(TuneTest, LinearBeatsMlpOnLinearData) {
  TuneOptions o;
  o.base.target = "y";
  o.base.epochs = 20;
  o.base.hidden_layers = {4};
  o.space.kinds = {ModelKind::kMlpRegressor, ModelKind::kLinearRegression};
  o.folds = 3;
  auto r = Search(LinearTable(), o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->summary.best_trial, 2);
  EXPECT_EQ(r->best_spec.kind, ModelKind::kLinearRegression);
  EXPECT_NEAR(r->summary.trials[1].mean, 1.0, 1e-12);
}

// Each trial's score is CrossValidate's for the same spec, to the bit.
TEST(TuneTest, TrialScoresEqualCrossValidate) {
  const Table iris = Load("iris.csv");
  TuneOptions o;
  o.base.kind = ModelKind::kLogisticRegression;
  o.base.target = "species";
  o.space.l2.values = {1e-4, 1e-1};
  o.space.scaling = {ScalingMethod::kStandard, ScalingMethod::kMinMax};
  o.metric = "f1_macro";
  o.folds = 5;
  auto plan = PlanTrials(o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  auto r = Search(iris, o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->summary.trials.size(), 4u);
  for (size_t i = 0; i < plan->size(); ++i) {
    auto cv = CrossValidate(iris, (*plan)[i].spec, 5);
    ASSERT_TRUE(cv.ok()) << cv.status();
    for (const MetricSummary& m : cv->summary) {
      if (m.name != "f1_macro") continue;
      EXPECT_EQ(r->summary.trials[i].mean, m.mean) << i;
      EXPECT_EQ(r->summary.trials[i].stddev, m.stddev) << i;
    }
  }
}

// The budget is checked before each trial: with a trial callback that
// sleeps 0.3 s and a 0.5 s budget, trials 1 and 2 run (started at ~0 and
// ~0.3 s), and the check before trial 3 (~0.6 s) stops the search.
TEST(TuneTest, TimeBudgetStopsBetweenTrials) {
  TuneOptions o = L2Grid();
  o.space.l2.values = {0, 0.1, 0.2, 0.3, 0.4, 0.5};
  o.time_budget_seconds = 0.5;
  TuneCallbacks cb;
  cb.trial = [](const TuneProgress&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return true;
  };
  auto r = Search(LinearTable(), o, cb);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->summary.stop_reason, "time_budget");
  EXPECT_EQ(r->summary.trials.size(), 2u);
  EXPECT_EQ(r->summary.max_trials, 6);
  EXPECT_EQ(r->summary.best_trial, 1);
}

// A trial running when the budget expires is abandoned at its next epoch:
// an Adam MLP of 100,000 epochs (minutes) ends within a second, and with
// no trial scored the search is DEADLINE_EXCEEDED.
TEST(TuneTest, TimeBudgetAbandonsTheRunningTrial) {
  TuneOptions o;
  o.base.kind = ModelKind::kMlpRegressor;
  o.base.target = "y";
  o.base.early_stopping_patience = 0;
  o.space.epochs = {100000};
  o.folds = 2;
  o.time_budget_seconds = 0.2;
  const auto start = std::chrono::steady_clock::now();
  auto r = Search(LinearTable(), o);
  const double took = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(r.status().message(), HasSubstr("time_budget_seconds"));
  EXPECT_LT(took, 1.0);
}

TEST(TuneTest, CancelStopsTheSearch) {
  TuneOptions o = L2Grid();
  int calls = 0;
  TuneCallbacks cb;
  cb.trial = [&](const TuneProgress& p) {
    ++calls;
    EXPECT_EQ(p.trials_done, 1);
    EXPECT_EQ(p.max_trials, 3);
    EXPECT_EQ(p.trial.trial, 1);
    EXPECT_EQ(p.best_trial, 1);
    EXPECT_EQ(p.best_score, p.trial.mean);
    EXPECT_EQ(p.metric, "r2");
    return false;
  };
  auto r = Tune(LinearTable(), o, cb);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);

  // should_stop interrupts a running trial at its next epoch.
  TuneOptions slow;
  slow.base.kind = ModelKind::kMlpRegressor;
  slow.base.target = "y";
  slow.base.early_stopping_patience = 0;
  slow.space.epochs = {100000};
  slow.folds = 2;
  int polls = 0;
  TuneCallbacks stop;
  stop.should_stop = [&] { return ++polls > 50; };
  auto s = Search(LinearTable(), slow, stop);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kCancelled);
  // One poll before the trial, one per epoch: the 51st (epoch 50's) stops.
  EXPECT_EQ(polls, 51);
}

// A diverging trial (SGD at learning rate 1e200: the first mini-batch's
// loss is inf) is recorded with its error
// and not scored; the search goes on and picks the other one.
TEST(TuneTest, DivergedTrialIsRecordedNotScored) {
  TuneOptions o;
  o.base.target = "y";
  o.base.optimizer = OptimizerKind::kSgd;
  o.base.epochs = 50;
  o.space.learning_rate.values = {1e200, 1e-3};
  o.folds = 2;
  auto r = Search(LinearTable(), o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->summary.trials.size(), 2u);
  EXPECT_THAT(r->summary.trials[0].error, HasSubstr("SGD diverged"));
  EXPECT_TRUE(std::isnan(r->summary.trials[0].mean));
  EXPECT_TRUE(r->summary.trials[1].error.empty());
  EXPECT_EQ(r->summary.best_trial, 2);
}

TEST(TuneTest, RocAucOnThreeClassesIsInvalid) {
  TuneOptions o;
  o.base.kind = ModelKind::kLogisticRegression;
  o.base.target = "species";
  o.space.l2.values = {0.01};
  o.metric = "roc_auc";
  auto r = Search(Load("iris.csv"), o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("metric: 'roc_auc'"));
}

}  // namespace
}  // namespace modelserver
