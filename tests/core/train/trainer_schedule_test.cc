// Learning-rate schedules through Train (core/train/trainer.h).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/train/trainer.h"
#include "core/util/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

using ::testing::HasSubstr;

// y = sin(x1) + x2 / 2 + noise, 120 rows.
Table Wave() {
  Rng rng(7);
  std::vector<double> x1, x2, y;
  for (int i = 0; i < 120; ++i) {
    x1.push_back(rng.Uniform() * 6 - 3);
    x2.push_back(rng.Normal());
    y.push_back(std::sin(x1.back()) + x2.back() / 2 + 0.05 * rng.Normal());
  }
  Table t;
  EXPECT_TRUE(t.AddColumn(Column::Numeric("x1", x1)).ok());
  EXPECT_TRUE(t.AddColumn(Column::Numeric("x2", x2)).ok());
  EXPECT_TRUE(t.AddColumn(Column::Numeric("y", y)).ok());
  return t;
}

TrainSpec MlpSpec(OptimizerKind optimizer, int epochs) {
  TrainSpec s;
  s.kind = ModelKind::kMlpRegressor;
  s.target = "y";
  s.hidden_layers = {8};
  s.optimizer = optimizer;
  s.learning_rate = 0.02;
  s.epochs = epochs;
  s.early_stopping_patience = 0;
  s.validation_fraction = 0;
  s.threads = 1;
  return s;
}

struct Recorded {
  Eigen::VectorXd w;
  std::vector<double> rates;
  std::vector<double> losses;
};

Recorded TrainAndRecord(const Table& t, const TrainSpec& s) {
  Recorded run;
  auto r = Train(t, s, [&](const EpochEvent& e) {
    run.rates.push_back(e.learning_rate);
    run.losses.push_back(e.train_loss);
    return true;
  });
  EXPECT_TRUE(r.ok()) << r.status();
  if (r.ok()) run.w = r->model->parameters();
  return run;
}

TEST(TrainerScheduleTest, StepRatesAreReportedPerEpoch) {
  const Table t = Wave();
  for (OptimizerKind opt : {OptimizerKind::kSgd, OptimizerKind::kAdam}) {
    TrainSpec s = MlpSpec(opt, 7);
    s.lr_schedule.kind = LrScheduleKind::kStep;
    s.lr_schedule.step_size = 3;
    s.lr_schedule.gamma = 0.5;
    const Recorded run = TrainAndRecord(t, s);
    EXPECT_THAT(run.rates, testing::ElementsAre(0.02, 0.02, 0.02, 0.01, 0.01,
                                                0.01, 0.005));
  }
}

// Without a schedule the rate is the base rate; a step schedule with gamma
// 1 and a cosine schedule whose floor is the base rate give that same rate
// in every epoch: the models are bit-identical. A real decay changes them.
TEST(TrainerScheduleTest, ConstantSchedulesEqualNoScheduleBitForBit) {
  const Table t = Wave();
  for (OptimizerKind opt : {OptimizerKind::kSgd, OptimizerKind::kAdam}) {
    const TrainSpec plain = MlpSpec(opt, 12);
    const Recorded base = TrainAndRecord(t, plain);
    EXPECT_THAT(base.rates, testing::Each(0.02));

    TrainSpec step = plain;
    step.lr_schedule.kind = LrScheduleKind::kStep;
    step.lr_schedule.step_size = 2;
    step.lr_schedule.gamma = 1.0;
    EXPECT_TRUE(TrainAndRecord(t, step).w == base.w);

    TrainSpec cosine = plain;
    cosine.lr_schedule.kind = LrScheduleKind::kCosine;
    cosine.lr_schedule.min_learning_rate = 0.02;
    EXPECT_TRUE(TrainAndRecord(t, cosine).w == base.w);

    TrainSpec decay = plain;
    decay.lr_schedule.kind = LrScheduleKind::kStep;
    decay.lr_schedule.step_size = 2;
    decay.lr_schedule.gamma = 0.5;
    EXPECT_FALSE(TrainAndRecord(t, decay).w == base.w);
  }
}

// Without validation rows plateau watches the training loss: replaying the
// rule on the reported losses gives the reported rates.
TEST(TrainerScheduleTest, PlateauFollowsTheWatchedLoss) {
  const Table t = Wave();
  TrainSpec s = MlpSpec(OptimizerKind::kSgd, 60);
  s.learning_rate = 0.1;  // large: the loss oscillates, so the rate decays
  s.lr_schedule.kind = LrScheduleKind::kPlateau;
  s.lr_schedule.patience = 2;
  s.lr_schedule.factor = 0.5;
  s.lr_schedule.min_learning_rate = 0.01;
  const Recorded run = TrainAndRecord(t, s);
  ASSERT_EQ(run.rates.size(), 60u);
  double rate = 0.1, best = std::numeric_limits<double>::infinity();
  int bad = 0, decays = 0;
  for (size_t e = 0; e < run.rates.size(); ++e) {
    EXPECT_EQ(run.rates[e], rate) << "epoch " << e + 1;
    if (run.losses[e] < best) {
      best = run.losses[e];
      bad = 0;
    } else if (++bad >= 2) {
      rate = std::max(rate * 0.5, 0.01);
      bad = 0;
      ++decays;
    }
  }
  EXPECT_GE(decays, 1);  // the test exercised a decay
}

TEST(TrainerScheduleTest, CosineReportsTheFormula) {
  const Table t = Wave();
  TrainSpec s = MlpSpec(OptimizerKind::kAdam, 5);
  s.lr_schedule.kind = LrScheduleKind::kCosine;
  const Recorded run = TrainAndRecord(t, s);
  ASSERT_EQ(run.rates.size(), 5u);
  EXPECT_EQ(run.rates[0], 0.02);
  EXPECT_NEAR(run.rates[2], 0.01, 1e-17);
  EXPECT_EQ(run.rates[4], 0.0);
}

TEST(TrainerScheduleTest, SchedulesNeedAnEpochBasedOptimizer) {
  TrainSpec s;
  s.target = "y";
  s.lr_schedule.kind = LrScheduleKind::kStep;
  // Linear regression with auto: exact or L-BFGS.
  absl::Status st = ValidateTrainSpec(s);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(),
              HasSubstr("lr_schedule: a 'step' schedule needs optimizer sgd "
                        "or adam, but the optimizer is auto"));
  s.kind = ModelKind::kLogisticRegression;
  s.optimizer = OptimizerKind::kLbfgs;
  st = ValidateTrainSpec(s);
  EXPECT_THAT(st.message(), HasSubstr("the optimizer is 'lbfgs'"));
  s.optimizer = OptimizerKind::kSgd;
  EXPECT_TRUE(ValidateTrainSpec(s).ok());
  // MLPs under auto run Adam: fine.
  s.kind = ModelKind::kMlpRegressor;
  s.optimizer = OptimizerKind::kAuto;
  EXPECT_TRUE(ValidateTrainSpec(s).ok());
  // The exact solver reports rate 0; a constant schedule is accepted.
  s.kind = ModelKind::kLinearRegression;
  s.lr_schedule = LrScheduleSpec();
  EXPECT_TRUE(ValidateTrainSpec(s).ok());

  // Checks that need the resolved rate and epochs happen in Train.
  const Table t = Wave();
  TrainSpec c = MlpSpec(OptimizerKind::kAdam, 5);
  c.lr_schedule.kind = LrScheduleKind::kCosine;
  c.lr_schedule.warmup_epochs = 5;
  auto r = Train(t, c);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("lr_schedule.warmup_epochs: must be less than the "
                        "epochs (5), got 5"));
  c.lr_schedule.warmup_epochs = 0;
  c.learning_rate = 0;  // Adam's default 0.001
  c.lr_schedule.min_learning_rate = 0.01;
  r = Train(t, c);
  EXPECT_THAT(r.status().message(),
              HasSubstr("must be <= the learning_rate (0.001), got 0.01"));
}

}  // namespace
}  // namespace modelserver
