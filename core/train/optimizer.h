// File: core/train/optimizer.h
// Gradient-based minimisation of an Objective: L-BFGS (full batch; with L1 it
// runs as OWL-QN), mini-batch SGD with momentum (optionally Nesterov), Adam.
// An "epoch" is one pass over the examples for SGD and Adam and one iteration
// for L-BFGS. After each epoch the callback sees the epoch number (1-based),
// the epoch's training loss (full objective including the L1 term; for
// SGD/Adam the mean of the epoch's batch losses) and the parameters, and may
// stop training by returning false.
//
// Determinism: with the same options (seed included), objective and starting
// point, the result is bit-identical.
//
// Errors: INVALID_ARGUMENT for bad options (each named); ABORTED when the loss
// or the parameters become NaN or infinite (divergence: lower the learning
// rate). Stopping through the callback is not an error.
#ifndef MODELSERVER_CORE_TRAIN_OPTIMIZER_H_
#define MODELSERVER_CORE_TRAIN_OPTIMIZER_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "Eigen/Core"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/train/objective.h"
#include "core/util/rng.h"

namespace modelserver {

// Part of the artifact format (stored in metadata): never renumber.
enum class OptimizerKind : uint8_t {
  kAuto = 0,   // exact for linear regression without L1, L-BFGS for linear
               // and logistic models otherwise, Adam for MLPs
  kExact = 1,  // closed form; linear regression only
  kLbfgs = 2,
  kSgd = 3,
  kAdam = 4,
};
absl::string_view OptimizerKindName(
    OptimizerKind kind);  // "auto", "exact", ...
absl::StatusOr<OptimizerKind> ParseOptimizerKind(absl::string_view name);

// The state of an SGD/Adam run between two epochs: with it, a run continues
// exactly as if it had never stopped (training checkpoints).
struct MiniBatchState {
  int epoch = 0;  // epochs completed
  Eigen::VectorXd w;
  // The update rule's state: SGD {velocity}; Adam {m, v} and scalars
  // {beta1^t, beta2^t}.
  std::vector<Eigen::VectorXd> vectors;
  std::vector<double> scalars;
  Rng::State rng;              // the shuffling generator
  std::vector<int64_t> order;  // the example order after the last shuffle
};

struct OptimizerOptions {
  // Step size for SGD and Adam. Default 0.01 (SGD); use 0.001 for Adam.
  double learning_rate = 0.01;
  // Maximum epochs (L-BFGS: iterations). Default 100.
  int max_epochs = 100;
  // Examples per mini-batch for SGD and Adam; clipped to the example count.
  int batch_size = 32;
  // Reshuffle examples before every SGD/Adam epoch (with `seed`).
  bool shuffle = true;
  uint64_t seed = 42;
  // SGD momentum in [0, 1); Nesterov's variant when `nesterov`.
  double momentum = 0.9;
  bool nesterov = false;
  // Adam moments.
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  // L-BFGS: history size, in [1, 1000]. Default 10.
  int lbfgs_memory = 10;
  // L-BFGS convergence (>= 0, default 1e-6): stop when the gradient's
  // infinity norm (with L1: the pseudo-gradient's) <= tolerance * max(1, |f|)
  // or the decrease of f in one iteration
  // <= tolerance * 1e-3 * max(1, |f_before|, |f_after|).
  double tolerance = 1e-6;
  // SGD/Adam: when set, called before every epoch with its number (1-based)
  // for that epoch's learning rate, which must be finite and >= 0 (else the
  // run stops with ABORTED; 0 leaves the parameters as they are); unset =
  // `learning_rate` in every epoch. core/train/lr_schedule.h computes the
  // schedules.
  std::function<double(int epoch)> epoch_learning_rate;
  // SGD/Adam: continue a run from this state (not owned; epoch must be in
  // [0, max_epochs], sizes must match the objective, else INVALID_ARGUMENT)
  // instead of starting at *w with epoch 1. *w is replaced by state.w.
  const MiniBatchState* resume = nullptr;
  // SGD/Adam: after the callback of every epoch that is a multiple of
  // checkpoint_every (> 0) and before the last epoch, unless the callback
  // stopped the run, `checkpoint` receives the run's state.
  int checkpoint_every = 0;
  std::function<void(const MiniBatchState&)> checkpoint;
};

// Returns false to stop training.
using EpochCallback =
    std::function<bool(int epoch, double train_loss, const Eigen::VectorXd& w)>;

struct OptimizeResult {
  int epochs = 0;              // epochs (iterations) run; L-BFGS: 0 when the
                               // starting point already meets the tolerance
  double final_loss = 0.0;     // objective at the returned parameters
                               // (including the L1 term)
  bool converged = false;      // L-BFGS met its tolerance
  bool stopped_early = false;  // the callback returned false
};

// Minimises `objective` from the starting point `*w` (updated in place).
// REQUIRES: w->size() == objective.num_parameters(); kind is kLbfgs, kSgd or
// kAdam (kExact and kAuto are resolved by the trainer).
// Errors: INVALID_ARGUMENT (before any evaluation, *w untouched) for those
// violations, bad options, a non-finite starting point, an objective without
// examples or parameters, an L1 strength that is negative or not finite, or
// (with L1) a penalty mask of the wrong size; ABORTED on divergence (*w then
// holds the diverged parameters).
absl::StatusOr<OptimizeResult> Minimize(OptimizerKind kind,
                                        const OptimizerOptions& options,
                                        Objective& objective,
                                        Eigen::VectorXd* w,
                                        const EpochCallback& callback = {});

// Validates the options `kind` uses; INVALID_ARGUMENT naming the bad field.
// kAuto checks the options of every iterative optimizer (any may be chosen);
// kExact uses none.
absl::Status ValidateOptimizerOptions(OptimizerKind kind,
                                      const OptimizerOptions& options);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_TRAIN_OPTIMIZER_H_
