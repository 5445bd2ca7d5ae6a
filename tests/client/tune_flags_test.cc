#include "client/tune_flags.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TuneFlags Base() {
  TuneFlags f;
  f.base.target = "species";
  return f;
}

TEST(TuneFlagsTest, ListsBecomeTheGrid) {
  TuneFlags f = Base();
  f.models = "linear, mlp";
  f.learning_rate = "0.001,0.01";
  f.l2 = "0,1e-4,1e-2";
  f.hidden_layers = {"32", "64,32"};
  f.epochs = "50,200";
  f.scaling = "standard,minmax";
  f.folds = 5;
  f.trials = 96;
  f.time_budget = "2m";
  f.metric = "f1_macro";
  f.search_seed = 7;
  auto r = BuildTuneRequest(f);
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::TuneSpace& s = r->space();
  EXPECT_THAT(s.models(),
              ElementsAre(v1::MODEL_TYPE_LINEAR, v1::MODEL_TYPE_MLP));
  EXPECT_THAT(s.learning_rates(), ElementsAre(0.001, 0.01));
  EXPECT_THAT(s.l2(), ElementsAre(0, 1e-4, 1e-2));
  EXPECT_FALSE(s.has_l2_range());
  EXPECT_FALSE(s.has_learning_rate_range());
  ASSERT_EQ(s.hidden_layers_size(), 2);
  EXPECT_THAT(s.hidden_layers(0).units(), ElementsAre(32));
  EXPECT_THAT(s.hidden_layers(1).units(), ElementsAre(64, 32));
  EXPECT_THAT(s.epochs(), ElementsAre(50, 200));
  EXPECT_THAT(s.scalings(), ElementsAre("standard", "minmax"));
  EXPECT_EQ(r->mode(), v1::TUNE_MODE_GRID);
  EXPECT_EQ(r->folds(), 5);
  EXPECT_EQ(r->max_trials(), 96);
  EXPECT_EQ(r->time_budget_seconds(), 120);
  EXPECT_EQ(r->metric(), "f1_macro");
  EXPECT_EQ(r->seed(), 7u);
  EXPECT_EQ(r->options().seed(), 7u);
  EXPECT_EQ(r->options().target(), "species");
}

TEST(TuneFlagsTest, RangesForRandomSearch) {
  TuneFlags f = Base();
  f.mode = "random";
  f.learning_rate = "1e-4:1e-1:log";
  f.l1 = "0:0.5";
  auto r = BuildTuneRequest(f);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->mode(), v1::TUNE_MODE_RANDOM);
  ASSERT_TRUE(r->space().has_learning_rate_range());
  EXPECT_EQ(r->space().learning_rate_range().low(), 1e-4);
  EXPECT_EQ(r->space().learning_rate_range().high(), 1e-1);
  EXPECT_TRUE(r->space().learning_rate_range().log());
  ASSERT_TRUE(r->space().has_l1_range());
  EXPECT_EQ(r->space().l1_range().high(), 0.5);
  EXPECT_FALSE(r->space().l1_range().log());
  EXPECT_EQ(r->space().learning_rates_size(), 0);
  EXPECT_FALSE(r->space().has_l2_range());
  EXPECT_FALSE(r->has_seed());
  EXPECT_EQ(r->time_budget_seconds(), 0);
}

TEST(TuneFlagsTest, MalformedFlagsAreNamed) {
  const struct {
    void (*edit)(TuneFlags*);
    const char* message;
  } cases[] = {
      {[](TuneFlags* f) { f->models = "linear,forest"; },
       "--model: 'forest' is not one of linear, logistic, mlp"},
      {[](TuneFlags* f) { f->l2 = "0,,1"; }, "--l2: empty item in '0,,1'"},
      {[](TuneFlags* f) { f->l2 = "0,x"; }, "--l2: 'x' is not a number"},
      {[](TuneFlags* f) { f->learning_rate = "1e-4:1e-1:ln"; },
       "--learning-rate: '1e-4:1e-1:ln' is not a range low:high or "
       "low:high:log"},
      {[](TuneFlags* f) { f->l1 = "a:1"; }, "--l1: 'a' is not a number"},
      {[](TuneFlags* f) { f->hidden_layers = {"64,0"}; },
       "--hidden-layers: '0' is not a positive integer"},
      {[](TuneFlags* f) { f->epochs = "10,-5"; },
       "--epochs: '-5' is not a positive integer"},
      {[](TuneFlags* f) { f->scaling = "robust"; },
       "--scaling: 'robust' is not one of standard, minmax, none"},
      {[](TuneFlags* f) { f->mode = "bayes"; },
       "--mode: 'bayes' is not grid or random"},
      {[](TuneFlags* f) { f->time_budget = "10d"; },
       "--time-budget: '10d' is not a duration"},
      {[](TuneFlags* f) { f->base.task = "ranking"; },
       "--task: unknown value 'ranking'"},
  };
  for (const auto& c : cases) {
    TuneFlags f = Base();
    c.edit(&f);
    auto r = BuildTuneRequest(f);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
        << c.message;
    EXPECT_THAT(r.status().message(), HasSubstr(c.message));
  }
}

TEST(TuneFlagsTest, Durations) {
  EXPECT_EQ(*ParseDuration("--t", "90s"), 90);
  EXPECT_EQ(*ParseDuration("--t", "2m"), 120);
  EXPECT_EQ(*ParseDuration("--t", "1.5h"), 5400);
  EXPECT_EQ(*ParseDuration("--t", "30"), 30);
  EXPECT_FALSE(ParseDuration("--t", "-1s").ok());
  EXPECT_FALSE(ParseDuration("--t", "s").ok());
}

TEST(TuneFlagsTest, ProgressLineAndTrialTableSortedByScore) {
  v1::TuneProgress p;
  p.set_trials_done(3);
  p.set_max_trials(12);
  p.set_metric("r2");
  p.mutable_trial()->set_mean(0.5);
  p.mutable_trial()->set_stddev(0.25);
  p.set_best_trial(2);
  p.set_best_score(0.75);
  EXPECT_EQ(TuneLine(p, 12),
            "trial 3/12 [###.........] r2 0.5 \xC2\xB1 0.25  best 0.75 "
            "(trial 2)");

  v1::TuneSummary s;
  s.set_metric("rmse");
  s.set_higher_is_better(false);
  s.set_folds(5);
  s.set_mode("grid");
  s.set_stop_reason("max_trials");
  s.set_max_trials(3);
  s.set_best_trial(3);
  s.set_search_seconds(1.5);
  auto add = [&](int n, double mean, const std::string& l2,
                 const std::string& error) {
    v1::TuneTrial* t = s.add_trials();
    t->set_trial(n);
    t->set_mean(mean);
    t->set_stddev(0.5);
    t->set_seconds(0.25);
    t->set_error(error);
    v1::Hyperparameter* h = t->add_params();
    h->set_key("l2");
    h->set_value(l2);
  };
  add(1, 3.0, "1", "");
  add(2, 0.0, "1e+200", "diverged");
  add(3, 2.0, "0", "");
  const std::string text = TuneSummaryText(s);
  EXPECT_THAT(text, HasSubstr("search: grid, 3 of 3 trials, 5-fold rmse "
                              "(lower is better), stopped: max_trials"));
  // Best (lowest rmse) first, the failed trial last.
  const size_t best = text.find("3 *");
  const size_t second = text.find("l2=1\n");
  const size_t failed = text.find("l2=1e+200 (diverged)");
  ASSERT_NE(best, std::string::npos) << text;
  ASSERT_NE(second, std::string::npos) << text;
  ASSERT_NE(failed, std::string::npos) << text;
  EXPECT_LT(best, second);
  EXPECT_LT(second, failed);
}

}  // namespace
}  // namespace modelserver::client
