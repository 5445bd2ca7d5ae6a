// Learning-rate schedules and checkpoint options on the wire
// (server/proto_convert.h).
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/proto_convert.h"

namespace modelserver::server {
namespace {

using ::testing::HasSubstr;

v1::TrainOptions MlpOptions() {
  v1::TrainOptions o;
  o.set_target("y");
  o.set_model(v1::MODEL_TYPE_MLP);
  return o;
}

TEST(ScheduleConvertTest, ZeroFieldsTakeTheDefaults) {
  v1::TrainOptions o = MlpOptions();
  o.mutable_lr_schedule()->set_kind(v1::LR_SCHEDULE_STEP);
  absl::StatusOr<TrainSpec> spec = TrainSpecFromProto(o, ColumnType::kNumeric);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->lr_schedule.kind, LrScheduleKind::kStep);
  EXPECT_EQ(spec->lr_schedule.step_size, 10);
  EXPECT_EQ(spec->lr_schedule.gamma, 0.5);

  o.mutable_lr_schedule()->set_kind(v1::LR_SCHEDULE_PLATEAU);
  o.mutable_lr_schedule()->set_patience(3);
  o.mutable_lr_schedule()->set_min_learning_rate(1e-5);
  spec = TrainSpecFromProto(o, ColumnType::kNumeric);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->lr_schedule.kind, LrScheduleKind::kPlateau);
  EXPECT_EQ(spec->lr_schedule.patience, 3);
  EXPECT_EQ(spec->lr_schedule.factor, 0.5);
  EXPECT_EQ(spec->lr_schedule.min_learning_rate, 1e-5);

  spec = TrainSpecFromProto(MlpOptions(), ColumnType::kNumeric);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->lr_schedule.kind, LrScheduleKind::kConstant);
}

TEST(ScheduleConvertTest, BadValuesNameTheField) {
  v1::TrainOptions o = MlpOptions();
  o.mutable_lr_schedule()->set_kind(v1::LR_SCHEDULE_STEP);
  o.mutable_lr_schedule()->set_gamma(2);
  absl::Status s = ValidateTrainOptions(o);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("options.lr_schedule.gamma: must be in (0, 1], got 2"));

  o.mutable_lr_schedule()->set_kind(static_cast<v1::LrScheduleKind>(42));
  EXPECT_THAT(ValidateTrainOptions(o).message(),
              HasSubstr("options.lr_schedule.kind: unknown value 42"));

  // Linear models train with the exact solver or L-BFGS.
  v1::TrainOptions linear;
  linear.set_target("y");
  linear.mutable_lr_schedule()->set_kind(v1::LR_SCHEDULE_COSINE);
  s = ValidateTrainOptions(linear);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("options.lr_schedule: a 'cosine' schedule needs "
                        "optimizer sgd or adam"));
  linear.set_optimizer(v1::OPTIMIZER_SGD);
  EXPECT_TRUE(ValidateTrainOptions(linear).ok());

  v1::TrainOptions c = MlpOptions();
  c.set_checkpoint_every_epochs(-1);
  s = ValidateTrainOptions(c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("options.checkpoint_every_epochs: must be in [0, "
                        "1000000] (0 = no checkpoints), got -1"));
}

TEST(ScheduleConvertTest, CheckpointIntervalDependsOnTheOptimizer) {
  v1::TrainOptions o = MlpOptions();
  EXPECT_EQ(CheckpointEveryEpochs(o), 10);  // auto picks Adam for MLPs
  o.set_checkpoint_every_epochs(3);
  EXPECT_EQ(CheckpointEveryEpochs(o), 3);
  o.set_checkpoint_every_epochs(0);
  EXPECT_EQ(CheckpointEveryEpochs(o), 0);
  v1::TrainOptions linear;
  linear.set_target("y");
  EXPECT_EQ(CheckpointEveryEpochs(linear), 0);  // exact or L-BFGS
  linear.set_optimizer(v1::OPTIMIZER_SGD);
  EXPECT_EQ(CheckpointEveryEpochs(linear), 10);
  o.set_optimizer(v1::OPTIMIZER_LBFGS);
  o.clear_checkpoint_every_epochs();
  EXPECT_EQ(CheckpointEveryEpochs(o), 0);
}

TEST(ScheduleConvertTest, EpochProgressCarriesTheRate) {
  JobEvent event;
  event.type = JobEvent::Type::kEpoch;
  event.epoch.epoch = 4;
  event.epoch.learning_rate = 0.05;
  const v1::TrainEvent out = TrainEventToProto("job-1", "m", event);
  ASSERT_TRUE(out.has_epoch());
  EXPECT_EQ(out.epoch().learning_rate(), 0.05);
}

}  // namespace
}  // namespace modelserver::server
