// modelctl train's learning-rate schedule and checkpoint flags
// (client/train_flags.h) and the rate in the progress line
// (client/output.h).
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "client/output.h"
#include "client/train_flags.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "modelserver/v1/model_service.pb.h"

namespace modelserver::client {
namespace {

using ::testing::HasSubstr;

TEST(ScheduleFlagsTest, UnsetFlagsLeaveTheScheduleAndCheckpointsUnset) {
  TrainFlags f;
  f.target = "y";
  absl::StatusOr<v1::TrainOptions> o = BuildTrainOptions(f);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->has_lr_schedule());
  EXPECT_FALSE(o->has_checkpoint_every_epochs());
}

TEST(ScheduleFlagsTest, StepCosinePlateauAndCheckpointEvery) {
  TrainFlags f;
  f.target = "y";
  f.lr_schedule = "step";
  f.lr_step_size = 10;
  f.lr_gamma = 0.5;
  f.checkpoint_every = 0;
  absl::StatusOr<v1::TrainOptions> o = BuildTrainOptions(f);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->lr_schedule().kind(), v1::LR_SCHEDULE_STEP);
  EXPECT_EQ(o->lr_schedule().step_size(), 10);
  EXPECT_EQ(o->lr_schedule().gamma(), 0.5);
  EXPECT_TRUE(o->has_checkpoint_every_epochs());
  EXPECT_EQ(o->checkpoint_every_epochs(), 0);

  f = TrainFlags();
  f.lr_schedule = "cosine";
  f.lr_min = 1e-5;
  f.lr_warmup_epochs = 3;
  f.checkpoint_every = 25;
  o = BuildTrainOptions(f);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->lr_schedule().kind(), v1::LR_SCHEDULE_COSINE);
  EXPECT_EQ(o->lr_schedule().min_learning_rate(), 1e-5);
  EXPECT_EQ(o->lr_schedule().warmup_epochs(), 3);
  EXPECT_EQ(o->checkpoint_every_epochs(), 25);

  f = TrainFlags();
  f.lr_schedule = "plateau";
  f.lr_patience = 5;
  f.lr_factor = 0.25;
  f.lr_min = 0.001;
  o = BuildTrainOptions(f);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->lr_schedule().kind(), v1::LR_SCHEDULE_PLATEAU);
  EXPECT_EQ(o->lr_schedule().patience(), 5);
  EXPECT_EQ(o->lr_schedule().factor(), 0.25);
  EXPECT_EQ(o->lr_schedule().min_learning_rate(), 0.001);

  f = TrainFlags();
  f.lr_schedule = "constant";
  o = BuildTrainOptions(f);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->lr_schedule().kind(), v1::LR_SCHEDULE_CONSTANT);
}

TEST(ScheduleFlagsTest, ErrorsNameTheFlag) {
  TrainFlags f;
  f.lr_schedule = "linear";
  absl::Status s = BuildTrainOptions(f).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("--lr-schedule: unknown value 'linear' (expected "
                        "constant, step, cosine, plateau)"));
  f.lr_schedule = "cosine";
  f.lr_gamma = 0.5;
  EXPECT_THAT(BuildTrainOptions(f).status().message(),
              HasSubstr("--lr-gamma: applies to --lr-schedule step only"));
  f = TrainFlags();
  f.lr_patience = 3;  // no schedule at all
  EXPECT_THAT(
      BuildTrainOptions(f).status().message(),
      HasSubstr("--lr-patience: applies to --lr-schedule plateau only"));
  f = TrainFlags();
  f.lr_schedule = "step";
  f.lr_min = 0.1;
  EXPECT_THAT(
      BuildTrainOptions(f).status().message(),
      HasSubstr("--lr-min: applies to --lr-schedule cosine or plateau only"));
}

TEST(ScheduleFlagsTest, ProgressLineShowsTheRate) {
  v1::EpochProgress e;
  e.set_epoch(4);
  e.set_max_epochs(8);
  e.set_train_loss(0.5);
  e.set_validation_loss(std::numeric_limits<double>::quiet_NaN());
  e.set_learning_rate(0.05);
  e.set_elapsed_seconds(1);
  e.set_remaining_seconds(1);
  EXPECT_EQ(EpochLine(e, 4),
            "epoch 4/8 [##--] train 0.5  lr 0.05  1s elapsed, 1s left");
  e.set_learning_rate(0);  // exact solver, L-BFGS: no rate shown
  EXPECT_EQ(EpochLine(e, 4), "epoch 4/8 [##--] train 0.5  1s elapsed, 1s left");
}

TEST(ScheduleFlagsTest, JobTextShowsResumeAndCheckpoint) {
  v1::Job j;
  j.set_job_id("job-2");
  j.set_name("m");
  j.set_state(v1::JOB_STATE_RUNNING);
  j.set_epoch(45);
  j.set_max_epochs(100);
  j.set_train_loss(0.5);
  j.set_validation_loss(0.25);
  j.set_resumed_from_epoch(30);
  j.set_checkpoint_epoch(40);
  EXPECT_EQ(JobText(j),
            "job job-2 (model m): running, epoch 45/100, train loss 0.5, "
            "validation loss 0.25\n"
            "resumed after a server restart from the checkpoint of epoch 30\n"
            "last checkpoint: epoch 40\n");
}

}  // namespace
}  // namespace modelserver::client
