// File: core/train/lr_schedule.h
// Learning-rate schedules of the epoch-based optimizers (SGD, Adam). With
// base rate b, epochs E (1-based epoch e) and the spec's fields:
//   constant  b in every epoch
//   step      b * gamma^floor((e - 1) / step_size)
//   cosine    warm-up: b * e / W for e <= W (W = warmup_epochs), then with
//             t = e - W - 1 and T = E - W - 1:
//             min + (b - min) * (1 + cos(pi * t / T)) / 2
//             (b in the first epoch after the warm-up, min in the last; b
//             throughout when T = 0)
//   plateau   starts at b; after an epoch whose watched loss (the trainer
//             passes the validation loss, else the training loss) is not
//             lower than the best so far for `patience` epochs in a row,
//             the rate becomes max(rate * factor, min) from the next epoch
//             on and the count restarts
// The constant schedule returns b itself, so training with it is
// bit-identical to training without a schedule.
//
// Thread-safety: LrSchedule is a value; one thread at a time.
#ifndef MODELSERVER_CORE_TRAIN_LR_SCHEDULE_H_
#define MODELSERVER_CORE_TRAIN_LR_SCHEDULE_H_

#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace modelserver {

// Stored in checkpoints: never renumber.
enum class LrScheduleKind : uint8_t {
  kConstant = 0,
  kStep = 1,
  kCosine = 2,
  kPlateau = 3,
};
absl::string_view LrScheduleKindName(LrScheduleKind kind);  // "constant", ...
// INVALID_ARGUMENT naming the accepted names.
absl::StatusOr<LrScheduleKind> ParseLrScheduleKind(absl::string_view name);

struct LrScheduleSpec {
  LrScheduleKind kind = LrScheduleKind::kConstant;
  int step_size = 10;              // step: epochs per decay, >= 1
  double gamma = 0.5;              // step: in (0, 1]
  double min_learning_rate = 0.0;  // cosine, plateau: >= 0, <= the base rate
  int warmup_epochs = 0;           // cosine: >= 0, < epochs
  int patience = 5;                // plateau: >= 1
  double factor = 0.5;             // plateau: in (0, 1)
};

// Checks the fields alone; INVALID_ARGUMENT "lr_schedule.<field>: ...".
absl::Status ValidateLrScheduleSpec(const LrScheduleSpec& spec);
// Also checks them against the resolved base rate and epoch count
// (min_learning_rate <= base_rate, warmup_epochs < epochs).
absl::Status ValidateLrScheduleFor(const LrScheduleSpec& spec, double base_rate,
                                   int epochs);

class LrSchedule {
 public:
  // What a checkpoint keeps (plateau only changes it).
  struct State {
    double rate = 0;  // plateau: the current rate
    double best_loss = std::numeric_limits<double>::infinity();
    int bad_epochs = 0;
  };

  // REQUIRES: ValidateLrScheduleFor(spec, base_rate, epochs) is OK.
  LrSchedule(const LrScheduleSpec& spec, double base_rate, int epochs);

  // The rate of epoch `epoch` (1-based). For plateau: the current rate.
  double Rate(int epoch) const;
  // After an epoch: its watched loss (plateau only; others ignore it).
  void Observe(double loss);

  const State& state() const { return state_; }
  void Restore(const State& state) { state_ = state; }

 private:
  LrScheduleSpec spec_;
  double base_rate_;
  int epochs_;
  State state_;
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_TRAIN_LR_SCHEDULE_H_
