// Training checkpoints (core/train/checkpoint.h) through Train.
#include "core/train/checkpoint.h"

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "core/train/trainer.h"
#include "core/util/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

using ::testing::HasSubstr;

// 300 rows of y = x1 * x2 + sin(x3) + noise.
Table Data(uint64_t seed = 11) {
  Rng rng(seed);
  std::vector<double> x1, x2, x3, y;
  for (int i = 0; i < 300; ++i) {
    x1.push_back(rng.Normal());
    x2.push_back(rng.Normal());
    x3.push_back(rng.Uniform() * 6);
    y.push_back(x1.back() * x2.back() + std::sin(x3.back()) +
                0.1 * rng.Normal());
  }
  Table t;
  EXPECT_TRUE(t.AddColumn(Column::Numeric("x1", x1)).ok());
  EXPECT_TRUE(t.AddColumn(Column::Numeric("x2", x2)).ok());
  EXPECT_TRUE(t.AddColumn(Column::Numeric("x3", x3)).ok());
  EXPECT_TRUE(t.AddColumn(Column::Numeric("y", y)).ok());
  return t;
}

// Validation rows, early stopping and a plateau schedule: every piece of
// state a checkpoint keeps is in use.
TrainSpec Spec(OptimizerKind optimizer) {
  TrainSpec s;
  s.kind = ModelKind::kMlpRegressor;
  s.target = "y";
  s.hidden_layers = {12, 6};
  s.optimizer = optimizer;
  s.nesterov = optimizer == OptimizerKind::kSgd;
  s.learning_rate = optimizer == OptimizerKind::kSgd ? 0.01 : 0.01;
  s.l1 = 1e-4;
  s.epochs = 30;
  s.batch_size = 16;
  s.validation_fraction = 0.2;
  s.early_stopping_patience = 25;
  s.lr_schedule.kind = LrScheduleKind::kPlateau;
  s.lr_schedule.patience = 2;
  s.threads = 2;
  return s;
}

struct Saved {
  std::map<int, std::string> bytes;  // epoch -> checkpoint
};

CheckpointOptions Saving(Saved* saved, int every) {
  CheckpointOptions o;
  o.every_epochs = every;
  o.save = [saved](std::string bytes, int epoch) {
    saved->bytes[epoch] = std::move(bytes);
  };
  return o;
}

// Training 30 epochs straight equals training 10, checkpointing, and
// resuming from the checkpoint in a fresh Train call for the other 20:
// bit-identical parameters, for SGD (Nesterov, L1) and Adam.
TEST(CheckpointTest, ResumedTrainingIsBitIdenticalToAStraightRun) {
  for (OptimizerKind opt : {OptimizerKind::kSgd, OptimizerKind::kAdam}) {
    SCOPED_TRACE(std::string(OptimizerKindName(opt)));
    const TrainSpec spec = Spec(opt);
    std::vector<double> straight_rates;
    auto straight = Train(Data(), spec, [&](const EpochEvent& e) {
      straight_rates.push_back(e.learning_rate);
      return true;
    });
    ASSERT_TRUE(straight.ok()) << straight.status();
    ASSERT_EQ(straight->epochs_run, 30);
    EXPECT_EQ(straight->resumed_from_epoch, 0);

    // A run that saves every 10 epochs (at 10 and 20, not at 30, the last)
    // and is stopped after epoch 14, as a crash would.
    Saved saved;
    auto first = Train(
        Data(), spec, [](const EpochEvent& e) { return e.epoch < 14; },
        Saving(&saved, 10));
    EXPECT_EQ(first.status().code(), absl::StatusCode::kCancelled);
    ASSERT_EQ(saved.bytes.size(), 1u);
    ASSERT_EQ(saved.bytes.begin()->first, 10);

    CheckpointOptions resume = Saving(&saved, 10);
    resume.resume = saved.bytes[10];
    std::vector<int> epochs;
    std::vector<double> rates;
    auto resumed = Train(
        Data(), spec,
        [&](const EpochEvent& e) {
          epochs.push_back(e.epoch);
          rates.push_back(e.learning_rate);
          return true;
        },
        resume);
    ASSERT_TRUE(resumed.ok()) << resumed.status();
    EXPECT_EQ(resumed->resumed_from_epoch, 10);
    EXPECT_EQ(resumed->epochs_run, 30);
    ASSERT_EQ(epochs.size(), 20u);
    EXPECT_EQ(epochs.front(), 11);
    EXPECT_EQ(epochs.back(), 30);
    EXPECT_TRUE(resumed->model->parameters() == straight->model->parameters());
    EXPECT_EQ(resumed->validation_metrics, straight->validation_metrics);
    // The plateau schedule continued where it was.
    EXPECT_EQ(rates, std::vector<double>(straight_rates.begin() + 10,
                                         straight_rates.end()));
    EXPECT_TRUE(saved.bytes.count(20));  // saved again on the way
  }
}

TEST(CheckpointTest, EncodingRoundTrips) {
  TrainingCheckpoint c;
  c.data_checksum = 0xdeadbeef;
  c.spec_key = "k";
  c.elapsed_seconds = 1.5;
  c.optimizer.epoch = 7;
  c.optimizer.w = Eigen::VectorXd::LinSpaced(4, -1, 1);
  c.optimizer.vectors = {Eigen::VectorXd::Constant(4, 0.25),
                         Eigen::VectorXd::Constant(4, 2)};
  c.optimizer.scalars = {0.9, 0.99};
  Rng rng(3);
  rng.Normal();  // leaves a spare normal
  c.optimizer.rng = rng.state();
  c.optimizer.order = {2, 0, 1};
  c.best_loss = 0.125;
  c.best_w = Eigen::VectorXd::Constant(4, 3);
  c.since_best = 2;
  c.schedule.rate = 0.05;
  c.schedule.best_loss = 0.5;
  c.schedule.bad_epochs = 1;
  auto d = DecodeTrainingCheckpoint(EncodeTrainingCheckpoint(c));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->data_checksum, 0xdeadbeefu);
  EXPECT_EQ(d->spec_key, "k");
  EXPECT_EQ(d->elapsed_seconds, 1.5);
  EXPECT_EQ(d->optimizer.epoch, 7);
  EXPECT_TRUE(d->optimizer.w == c.optimizer.w);
  ASSERT_EQ(d->optimizer.vectors.size(), 2u);
  EXPECT_TRUE(d->optimizer.vectors[1] == c.optimizer.vectors[1]);
  EXPECT_EQ(d->optimizer.scalars, c.optimizer.scalars);
  EXPECT_EQ(d->optimizer.order, c.optimizer.order);
  EXPECT_TRUE(d->best_w == c.best_w);
  EXPECT_EQ(d->since_best, 2);
  EXPECT_EQ(d->schedule.rate, 0.05);
  EXPECT_EQ(d->schedule.bad_epochs, 1);
  // The restored generator continues the same sequence (spare included).
  Rng restored(99);
  restored.Restore(d->optimizer.rng);
  EXPECT_EQ(restored.Normal(), rng.Normal());
  EXPECT_EQ(restored.Next(), rng.Next());
}

TEST(CheckpointTest, CorruptedTruncatedOrForeignCheckpointsAreClearErrors) {
  const TrainSpec spec = Spec(OptimizerKind::kAdam);
  Saved saved;
  ASSERT_TRUE(Train(Data(), spec, {}, Saving(&saved, 10)).ok());
  ASSERT_EQ(saved.bytes.size(), 2u);  // 10 and 20
  const std::string good = saved.bytes[10];

  CheckpointOptions o;
  o.resume = good;
  o.resume[good.size() / 2] ^= 0x40;
  auto r = Train(Data(), spec, {}, o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr("checkpoint: checksum mismatch"));

  o.resume = good.substr(0, good.size() - 100);
  r = Train(Data(), spec, {}, o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);

  o.resume = good.substr(0, 5);
  r = Train(Data(), spec, {}, o);
  EXPECT_THAT(r.status().message(),
              HasSubstr("checkpoint: the file is truncated"));

  o.resume = "not a checkpoint at all, just text";
  r = Train(Data(), spec, {}, o);
  EXPECT_THAT(r.status().message(), HasSubstr("bad magic bytes"));

  // Other data, other settings.
  o.resume = good;
  r = Train(Data(/*seed=*/12), spec, {}, o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(),
              HasSubstr("checkpoint: taken on other data"));
  TrainSpec other = spec;
  other.learning_rate = 0.02;
  r = Train(Data(), other, {}, o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(),
              HasSubstr("checkpoint: taken with other training settings"));
}

TEST(CheckpointTest, MinSecondsSkipsDueCheckpointsAndLbfgsHasNone) {
  TrainSpec spec = Spec(OptimizerKind::kAdam);
  Saved saved;
  CheckpointOptions o = Saving(&saved, 5);
  o.min_seconds = 1e9;
  ASSERT_TRUE(Train(Data(), spec, {}, o).ok());
  EXPECT_TRUE(saved.bytes.empty());

  o.min_seconds = 0;
  ASSERT_TRUE(Train(Data(), spec, {}, o).ok());
  std::vector<int> epochs;
  for (const auto& [epoch, bytes] : saved.bytes) epochs.push_back(epoch);
  EXPECT_EQ(epochs, (std::vector<int>{5, 10, 15, 20, 25}));

  saved.bytes.clear();
  spec.kind = ModelKind::kLinearRegression;
  spec.optimizer = OptimizerKind::kLbfgs;
  spec.lr_schedule = LrScheduleSpec();
  spec.hidden_layers.clear();
  ASSERT_TRUE(Train(Data(), spec, {}, o).ok());
  EXPECT_TRUE(saved.bytes.empty());
}

}  // namespace
}  // namespace modelserver
