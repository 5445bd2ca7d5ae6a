#include "core/train/lr_schedule.h"

#include <cmath>
#include <numbers>
#include <vector>

#include "core/train/objective.h"
#include "core/train/optimizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

using ::testing::HasSubstr;

std::vector<double> Rates(const LrSchedule& s, int epochs) {
  std::vector<double> out;
  for (int e = 1; e <= epochs; ++e) out.push_back(s.Rate(e));
  return out;
}

TEST(LrScheduleTest, ConstantIsTheBaseRateItself) {
  LrSchedule s(LrScheduleSpec{}, 0.1, 4);
  EXPECT_THAT(Rates(s, 4), testing::ElementsAre(0.1, 0.1, 0.1, 0.1));
}

// base 0.1, step_size 3, gamma 0.5: 0.1 x3, 0.05 x3, 0.025.
TEST(LrScheduleTest, StepHalvesEveryThreeEpochs) {
  LrScheduleSpec spec;
  spec.kind = LrScheduleKind::kStep;
  spec.step_size = 3;
  spec.gamma = 0.5;
  LrSchedule s(spec, 0.1, 7);
  EXPECT_THAT(Rates(s, 7),
              testing::ElementsAre(0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025));
}

// base 0.1, min 0, 5 epochs: t/T = 0, 1/4, 1/2, 3/4, 1:
// 0.1 (1 + cos(pi t / 4)) / 2 = 0.1, 0.0853553..., 0.05, 0.0146446..., 0.
TEST(LrScheduleTest, CosineFromBaseToMinInTheLastEpoch) {
  LrScheduleSpec spec;
  spec.kind = LrScheduleKind::kCosine;
  LrSchedule s(spec, 0.1, 5);
  const std::vector<double> r = Rates(s, 5);
  EXPECT_DOUBLE_EQ(r[0], 0.1);
  EXPECT_NEAR(r[1], 0.08535533905932738, 1e-17);
  EXPECT_NEAR(r[2], 0.05, 1e-17);
  EXPECT_NEAR(r[3], 0.014644660940672627, 1e-17);
  EXPECT_EQ(r[4], 0.0);
}

// Warm-up 2 of 6 epochs, base 0.1, min 0.01: 0.05, 0.1, then over T = 3:
// 0.1, 0.01 + 0.09 * 0.75, 0.01 + 0.09 * 0.25, 0.01.
TEST(LrScheduleTest, CosineWithWarmUp) {
  LrScheduleSpec spec;
  spec.kind = LrScheduleKind::kCosine;
  spec.warmup_epochs = 2;
  spec.min_learning_rate = 0.01;
  LrSchedule s(spec, 0.1, 6);
  const std::vector<double> r = Rates(s, 6);
  EXPECT_DOUBLE_EQ(r[0], 0.05);
  EXPECT_DOUBLE_EQ(r[1], 0.1);
  EXPECT_DOUBLE_EQ(r[2], 0.1);
  EXPECT_NEAR(r[3], 0.0775, 1e-16);
  EXPECT_NEAR(r[4], 0.0325, 1e-16);
  EXPECT_DOUBLE_EQ(r[5], 0.01);
}

// Patience 2, factor 0.5, min 0.02, on the losses below: the rate halves
// after the second epoch in a row without a new best, never below 0.02.
TEST(LrScheduleTest, PlateauOnAConstructedLossSequence) {
  LrScheduleSpec spec;
  spec.kind = LrScheduleKind::kPlateau;
  spec.patience = 2;
  spec.factor = 0.5;
  spec.min_learning_rate = 0.02;
  LrSchedule s(spec, 0.1, 10);
  const std::vector<double> losses = {1.0,  0.9, 0.95, 0.92, 0.91,
                                      0.93, 0.8, 0.85, 0.85, 0.7};
  std::vector<double> rates;
  for (int e = 1; e <= 10; ++e) {
    rates.push_back(s.Rate(e));
    s.Observe(losses[e - 1]);
  }
  EXPECT_THAT(rates, testing::ElementsAre(0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025,
                                          0.025, 0.025, 0.02));
  EXPECT_EQ(s.state().best_loss, 0.7);
  EXPECT_EQ(s.state().bad_epochs, 0);

  // The state carries over: a restored copy continues identically.
  LrSchedule copy(spec, 0.1, 10);
  copy.Restore(s.state());
  EXPECT_EQ(copy.Rate(11), 0.02);
}

TEST(LrScheduleTest, ValidationNamesTheField) {
  LrScheduleSpec spec;
  spec.kind = LrScheduleKind::kStep;
  spec.step_size = 0;
  EXPECT_THAT(ValidateLrScheduleSpec(spec).message(),
              HasSubstr("lr_schedule.step_size: must be >= 1, got 0"));
  spec.step_size = 1;
  spec.gamma = 1.5;
  EXPECT_THAT(ValidateLrScheduleSpec(spec).message(),
              HasSubstr("lr_schedule.gamma: must be in (0, 1], got 1.5"));
  spec = LrScheduleSpec();
  spec.kind = LrScheduleKind::kPlateau;
  spec.factor = 1;
  EXPECT_THAT(ValidateLrScheduleSpec(spec).message(),
              HasSubstr("lr_schedule.factor: must be in (0, 1)"));
  spec.factor = 0.5;
  spec.patience = 0;
  EXPECT_THAT(ValidateLrScheduleSpec(spec).message(),
              HasSubstr("lr_schedule.patience"));
  spec = LrScheduleSpec();
  spec.kind = LrScheduleKind::kCosine;
  spec.min_learning_rate = -1;
  EXPECT_THAT(ValidateLrScheduleSpec(spec).message(),
              HasSubstr("lr_schedule.min_learning_rate"));
  spec.min_learning_rate = 0.5;
  EXPECT_THAT(ValidateLrScheduleFor(spec, 0.1, 10).message(),
              HasSubstr("must be <= the learning_rate (0.1), got 0.5"));
  spec.min_learning_rate = 0;
  spec.warmup_epochs = 10;
  EXPECT_THAT(ValidateLrScheduleFor(spec, 0.1, 10).message(),
              HasSubstr("lr_schedule.warmup_epochs: must be less than the "
                        "epochs (10), got 10"));
  EXPECT_TRUE(ValidateLrScheduleFor(spec, 0.1, 11).ok());
  for (const char* name : {"constant", "step", "cosine", "plateau"}) {
    auto kind = ParseLrScheduleKind(name);
    ASSERT_TRUE(kind.ok());
    EXPECT_EQ(LrScheduleKindName(*kind), name);
  }
  EXPECT_EQ(ParseLrScheduleKind("linear").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// f(w) = sum_i (w - x_i)^2 / (2n) over x = {1, 3}: gradient w - 2 on every
// batch of the full data. Plain SGD (momentum 0, batch = n): w_e = w_{e-1} -
// lr_e (w_{e-1} - 2); from w = 0 with rates 0.5, 0.25: w1 = 1, w2 = 1.25.
class MeanObjective : public Objective {
 public:
  int64_t num_parameters() const override { return 1; }
  int64_t num_examples() const override { return 2; }
  double EvaluateBatch(const Eigen::VectorXd& w, absl::Span<const int64_t> rows,
                       Eigen::VectorXd* gradient) override {
    const double x[] = {1.0, 3.0};
    double loss = 0, g = 0;
    for (int64_t r : rows) {
      loss += (w[0] - x[r]) * (w[0] - x[r]) / 2;
      g += w[0] - x[r];
    }
    const double n = static_cast<double>(rows.size());
    if (gradient != nullptr) {
      gradient->resize(1);
      (*gradient)[0] = g / n;
    }
    return loss / n;
  }
  double Evaluate(const Eigen::VectorXd& w,
                  Eigen::VectorXd* gradient) override {
    const int64_t all[] = {0, 1};
    return EvaluateBatch(w, all, gradient);
  }
  const Eigen::VectorXd& penalty_mask() const override { return mask_; }

 private:
  Eigen::VectorXd mask_ = Eigen::VectorXd::Zero(1);
};

TEST(LrScheduleTest, SgdUsesTheRateOfEachEpoch) {
  MeanObjective objective;
  OptimizerOptions o;
  o.momentum = 0;
  o.batch_size = 2;
  o.max_epochs = 2;
  o.epoch_learning_rate = [](int epoch) { return epoch == 1 ? 0.5 : 0.25; };
  Eigen::VectorXd w = Eigen::VectorXd::Zero(1);
  auto r = Minimize(OptimizerKind::kSgd, o, objective, &w);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(w[0], 1.25);

  o.epoch_learning_rate = [](int epoch) { return epoch == 1 ? 0.5 : -1.0; };
  w.setZero();
  auto bad = Minimize(OptimizerKind::kAdam, o, objective, &w);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(bad.status().message(),
              HasSubstr("the learning-rate schedule gave -1 for epoch 2"));
}

}  // namespace
}  // namespace modelserver
