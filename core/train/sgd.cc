#include "core/train/sgd.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/util/rng.h"
#include "core/util/status_macros.h"

namespace modelserver {
namespace optimizer_internal {
namespace {

absl::Status Diverged(absl::string_view name, int epoch, absl::string_view what,
                      double learning_rate) {
  return absl::AbortedError(absl::StrCat(
      name, " diverged in epoch ", epoch, ": ", what,
      "; try a smaller learning_rate (it is ", learning_rate, ")"));
}

}  // namespace

absl::StatusOr<OptimizeResult> RunMiniBatchEpochs(
    absl::string_view name, const OptimizerOptions& options,
    Objective& objective, Eigen::VectorXd* w, const EpochCallback& callback,
    BatchStepper& stepper) {
  const int64_t n = objective.num_examples();
  const int64_t batch = std::min<int64_t>(options.batch_size, n);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  Rng rng(options.seed);
  Eigen::VectorXd gradient(w->size());

  OptimizeResult result;
  int first_epoch = 1;
  if (options.resume != nullptr) {
    const MiniBatchState& s = *options.resume;
    if (s.epoch < 0 || s.epoch > options.max_epochs) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": the resumed state is at epoch ", s.epoch,
                       ", outside [0, ", options.max_epochs, "]"));
    }
    if (s.w.size() != w->size() ||
        s.order.size() != static_cast<size_t>(n)) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": the resumed state has ", s.w.size(), " parameters and ",
          s.order.size(), " examples, the objective ", w->size(), " and ", n));
    }
    for (int64_t i : s.order) {
      if (i < 0 || i >= n) {
        return absl::InvalidArgumentError(absl::StrCat(
            name, ": the resumed example order holds ", i,
            ", outside [0, ", n, ")"));
      }
    }
    RETURN_IF_ERROR(stepper.RestoreState(s));
    *w = s.w;
    order = s.order;
    rng.Restore(s.rng);
    first_epoch = s.epoch + 1;
    result.epochs = s.epoch;
  }
  double learning_rate = options.learning_rate;
  for (int epoch = first_epoch; epoch <= options.max_epochs; ++epoch) {
    if (options.epoch_learning_rate) {
      learning_rate = options.epoch_learning_rate(epoch);
      if (!(std::isfinite(learning_rate) && learning_rate >= 0)) {
        return absl::AbortedError(
            absl::StrCat(name, ": the learning-rate schedule gave ",
                         learning_rate, " for epoch ", epoch,
                         "; it must be a finite number >= 0"));
      }
    }
    stepper.SetLearningRate(learning_rate);
    if (options.shuffle) rng.Shuffle(&order);
    double weighted_loss = 0.0;
    for (int64_t start = 0; start < n; start += batch) {
      const int64_t size = std::min(batch, n - start);
      const double loss = objective.EvaluateBatch(
          stepper.EvaluationPoint(*w),
          absl::MakeConstSpan(order.data() + start, static_cast<size_t>(size)),
          &gradient);
      if (!std::isfinite(loss)) {
        return Diverged(name, epoch,
                        absl::StrCat("the loss of a mini-batch became ", loss),
                        learning_rate);
      }
      weighted_loss += static_cast<double>(size) * loss;
      stepper.Step(gradient, w);
    }
    if (!w->allFinite()) {
      return Diverged(name, epoch, "a parameter became NaN or infinite",
                      learning_rate);
    }
    const double train_loss =
        weighted_loss / static_cast<double>(n) + L1Penalty(objective, *w);
    if (!std::isfinite(train_loss)) {
      return Diverged(name, epoch,
                      absl::StrCat("the training loss became ", train_loss),
                      learning_rate);
    }
    result.epochs = epoch;
    if (callback && !callback(epoch, train_loss, *w)) {
      result.stopped_early = true;
      break;
    }
    if (options.checkpoint && options.checkpoint_every > 0 &&
        epoch % options.checkpoint_every == 0 && epoch < options.max_epochs) {
      MiniBatchState state;
      state.epoch = epoch;
      state.w = *w;
      stepper.SaveState(&state);
      state.rng = rng.state();
      state.order = order;
      options.checkpoint(state);
    }
  }
  result.final_loss =
      objective.Evaluate(*w, nullptr) + L1Penalty(objective, *w);
  if (!std::isfinite(result.final_loss)) {
    return Diverged(name, result.epochs,
                    absl::StrCat("the final loss is ", result.final_loss),
                    learning_rate);
  }
  return result;
}

}  // namespace optimizer_internal

namespace {

class SgdStepper : public optimizer_internal::BatchStepper {
 public:
  SgdStepper(const OptimizerOptions& options, const Objective& objective,
             Eigen::Index size)
      : learning_rate_(options.learning_rate),
        momentum_(options.momentum),
        nesterov_(options.nesterov && options.momentum > 0),
        l1_(objective.l1()),
        mask_(l1_ > 0 ? &objective.penalty_mask() : nullptr),
        velocity_(Eigen::VectorXd::Zero(size)),
        lookahead_(nesterov_ ? size : 0) {}

  const Eigen::VectorXd& EvaluationPoint(const Eigen::VectorXd& w) override {
    if (!nesterov_) return w;
    lookahead_.noalias() = w + momentum_ * velocity_;
    return lookahead_;
  }

  void SetLearningRate(double rate) override { learning_rate_ = rate; }

  void SaveState(MiniBatchState* state) const override {
    state->vectors = {velocity_};
    state->scalars.clear();
  }
  absl::Status RestoreState(const MiniBatchState& state) override {
    if (state.vectors.size() != 1 || !state.scalars.empty() ||
        state.vectors[0].size() != velocity_.size()) {
      return absl::InvalidArgumentError(
          "SGD: the resumed state is not an SGD state of this size");
    }
    velocity_ = state.vectors[0];
    return absl::OkStatus();
  }

  void Step(const Eigen::VectorXd& gradient, Eigen::VectorXd* w) override {
    if (mask_ == nullptr) {
      velocity_ = momentum_ * velocity_ - learning_rate_ * gradient;
      *w += velocity_;
      return;
    }
    const double threshold = learning_rate_ * l1_;
    for (Eigen::Index j = 0; j < w->size(); ++j) {
      const double w_old = (*w)[j];
      double v = momentum_ * velocity_[j] - learning_rate_ * gradient[j];
      double w_new = w_old + v;
      const double t = threshold * (*mask_)[j];
      if (t > 0) {
        w_new = optimizer_internal::SoftThreshold(w_new, t);
        v = w_new - w_old;
      }
      velocity_[j] = v;
      (*w)[j] = w_new;
    }
  }

 private:
  double learning_rate_;
  const double momentum_;
  const bool nesterov_;
  const double l1_;
  const Eigen::VectorXd* const mask_;  // null without L1
  Eigen::VectorXd velocity_;
  Eigen::VectorXd lookahead_;  // Nesterov only
};

}  // namespace

absl::StatusOr<OptimizeResult> MinimizeSgd(const OptimizerOptions& options,
                                           Objective& objective,
                                           Eigen::VectorXd* w,
                                           const EpochCallback& callback) {
  SgdStepper stepper(options, objective, w->size());
  return optimizer_internal::RunMiniBatchEpochs("SGD", options, objective, w,
                                                callback, stepper);
}

}  // namespace modelserver
