#include "core/train/adam.h"

#include <cmath>

#include "core/train/sgd.h"

namespace modelserver {
namespace {

class AdamStepper : public optimizer_internal::BatchStepper {
 public:
  AdamStepper(const OptimizerOptions& options, const Objective& objective,
              Eigen::Index size)
      : learning_rate_(options.learning_rate),
        beta1_(options.beta1),
        beta2_(options.beta2),
        epsilon_(options.epsilon),
        l1_(objective.l1()),
        mask_(l1_ > 0 ? &objective.penalty_mask() : nullptr),
        m_(Eigen::VectorXd::Zero(size)),
        v_(Eigen::VectorXd::Zero(size)) {}

  void SetLearningRate(double rate) override { learning_rate_ = rate; }

  void SaveState(MiniBatchState* state) const override {
    state->vectors = {m_, v_};
    state->scalars = {beta1_power_, beta2_power_};
  }
  absl::Status RestoreState(const MiniBatchState& state) override {
    if (state.vectors.size() != 2 || state.scalars.size() != 2 ||
        state.vectors[0].size() != m_.size() ||
        state.vectors[1].size() != v_.size()) {
      return absl::InvalidArgumentError(
          "Adam: the resumed state is not an Adam state of this size");
    }
    m_ = state.vectors[0];
    v_ = state.vectors[1];
    beta1_power_ = state.scalars[0];
    beta2_power_ = state.scalars[1];
    return absl::OkStatus();
  }

  void Step(const Eigen::VectorXd& gradient, Eigen::VectorXd* w) override {
    beta1_power_ *= beta1_;
    beta2_power_ *= beta2_;
    const double correction1 = 1.0 - beta1_power_;
    const double correction2 = 1.0 - beta2_power_;
    m_ = beta1_ * m_ + (1.0 - beta1_) * gradient;
    v_ = beta2_ * v_ + (1.0 - beta2_) * gradient.cwiseAbs2();
    for (Eigen::Index j = 0; j < w->size(); ++j) {
      const double step =
          learning_rate_ / (std::sqrt(v_[j] / correction2) + epsilon_);
      double w_new = (*w)[j] - step * (m_[j] / correction1);
      if (mask_ != nullptr && (*mask_)[j] > 0) {
        w_new =
            optimizer_internal::SoftThreshold(w_new, step * l1_ * (*mask_)[j]);
      }
      (*w)[j] = w_new;
    }
  }

 private:
  double learning_rate_;
  const double beta1_;
  const double beta2_;
  const double epsilon_;
  const double l1_;
  const Eigen::VectorXd* const mask_;  // null without L1
  Eigen::VectorXd m_;
  Eigen::VectorXd v_;
  double beta1_power_ = 1.0;  // beta1^t
  double beta2_power_ = 1.0;  // beta2^t
};

}  // namespace

absl::StatusOr<OptimizeResult> MinimizeAdam(const OptimizerOptions& options,
                                            Objective& objective,
                                            Eigen::VectorXd* w,
                                            const EpochCallback& callback) {
  AdamStepper stepper(options, objective, w->size());
  return optimizer_internal::RunMiniBatchEpochs("Adam", options, objective, w,
                                                callback, stepper);
}

}  // namespace modelserver
