#include "core/train/optimizer.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/train/adam.h"
#include "core/train/lbfgs.h"
#include "core/train/sgd.h"

namespace modelserver {
namespace {

constexpr int kMaxLbfgsMemory = 1000;

constexpr OptimizerKind kAllKinds[] = {
    OptimizerKind::kAuto, OptimizerKind::kExact, OptimizerKind::kLbfgs,
    OptimizerKind::kSgd, OptimizerKind::kAdam};

absl::Status BadOption(OptimizerKind kind, absl::string_view field,
                       absl::string_view expected, double value) {
  return absl::InvalidArgumentError(
      absl::StrCat("optimizer option ", field, " must be ", expected, " (got ",
                   value, ") for optimizer '", OptimizerKindName(kind), "'"));
}

bool FiniteAndPositive(double x) { return std::isfinite(x) && x > 0; }
bool InUnitInterval(double x) { return x >= 0 && x < 1; }  // false for NaN

}  // namespace

absl::string_view OptimizerKindName(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kAuto:
      return "auto";
    case OptimizerKind::kExact:
      return "exact";
    case OptimizerKind::kLbfgs:
      return "lbfgs";
    case OptimizerKind::kSgd:
      return "sgd";
    case OptimizerKind::kAdam:
      return "adam";
  }
  return "unknown";
}

absl::StatusOr<OptimizerKind> ParseOptimizerKind(absl::string_view name) {
  for (OptimizerKind kind : kAllKinds) {
    if (name == OptimizerKindName(kind)) return kind;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown optimizer \"", name,
                   "\"; expected one of auto, exact, lbfgs, sgd, adam"));
}

absl::Status ValidateOptimizerOptions(OptimizerKind kind,
                                      const OptimizerOptions& options) {
  bool lbfgs = false, sgd = false, adam = false;
  switch (kind) {
    case OptimizerKind::kExact:
      return absl::OkStatus();  // the closed form uses no option
    case OptimizerKind::kAuto:
      lbfgs = sgd = adam = true;  // any of them may be chosen
      break;
    case OptimizerKind::kLbfgs:
      lbfgs = true;
      break;
    case OptimizerKind::kSgd:
      sgd = true;
      break;
    case OptimizerKind::kAdam:
      adam = true;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown optimizer kind ", static_cast<int>(kind),
                       "; expected one of auto, exact, lbfgs, sgd, adam"));
  }
  if (options.max_epochs < 1) {
    return BadOption(kind, "max_epochs", ">= 1", options.max_epochs);
  }
  if (sgd || adam) {
    if (!FiniteAndPositive(options.learning_rate)) {
      return BadOption(kind, "learning_rate", "a finite number > 0",
                       options.learning_rate);
    }
    if (options.batch_size < 1) {
      return BadOption(kind, "batch_size", ">= 1", options.batch_size);
    }
  }
  if (sgd && !InUnitInterval(options.momentum)) {
    return BadOption(kind, "momentum", "in [0, 1)", options.momentum);
  }
  if (adam) {
    if (!InUnitInterval(options.beta1)) {
      return BadOption(kind, "beta1", "in [0, 1)", options.beta1);
    }
    if (!InUnitInterval(options.beta2)) {
      return BadOption(kind, "beta2", "in [0, 1)", options.beta2);
    }
    if (!FiniteAndPositive(options.epsilon)) {
      return BadOption(kind, "epsilon", "a finite number > 0", options.epsilon);
    }
  }
  if (lbfgs) {
    if (options.lbfgs_memory < 1 || options.lbfgs_memory > kMaxLbfgsMemory) {
      return BadOption(kind, "lbfgs_memory",
                       absl::StrCat("in [1, ", kMaxLbfgsMemory, "]"),
                       options.lbfgs_memory);
    }
    if (!(std::isfinite(options.tolerance) && options.tolerance >= 0)) {
      return BadOption(kind, "tolerance", "a finite number >= 0",
                       options.tolerance);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<OptimizeResult> Minimize(OptimizerKind kind,
                                        const OptimizerOptions& options,
                                        Objective& objective,
                                        Eigen::VectorXd* w,
                                        const EpochCallback& callback) {
  if (kind == OptimizerKind::kAuto || kind == OptimizerKind::kExact) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Minimize needs an iterative optimizer (lbfgs, sgd or adam), got '",
        OptimizerKindName(kind), "': the trainer resolves it"));
  }
  if (auto status = ValidateOptimizerOptions(kind, options); !status.ok()) {
    return status;
  }
  if (w == nullptr) {
    return absl::InvalidArgumentError("Minimize: the parameter vector is null");
  }
  const int64_t p = objective.num_parameters();
  if (p < 1) {
    return absl::InvalidArgumentError(
        "Minimize: the objective has no parameters");
  }
  if (w->size() != p) {
    return absl::InvalidArgumentError(
        absl::StrCat("Minimize: the starting point has ", w->size(),
                     " parameters but the objective has ", p));
  }
  for (Eigen::Index j = 0; j < w->size(); ++j) {
    if (!std::isfinite((*w)[j])) {
      return absl::InvalidArgumentError(
          absl::StrCat("Minimize: starting parameter ", j, " is ", (*w)[j]));
    }
  }
  if (objective.num_examples() < 1) {
    return absl::InvalidArgumentError(
        "Minimize: the objective has no examples");
  }
  const double l1 = objective.l1();
  if (!(std::isfinite(l1) && l1 >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Minimize: the L1 strength must be finite and >= 0, got ", l1));
  }
  if (l1 > 0 && objective.penalty_mask().size() != p) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Minimize: the penalty mask has ", objective.penalty_mask().size(),
        " entries but the objective has ", p, " parameters"));
  }
  switch (kind) {
    case OptimizerKind::kLbfgs:
      return MinimizeLbfgs(options, objective, w, callback);
    case OptimizerKind::kSgd:
      return MinimizeSgd(options, objective, w, callback);
    case OptimizerKind::kAdam:
      return MinimizeAdam(options, objective, w, callback);
    default:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown optimizer kind ", static_cast<int>(kind)));
}

}  // namespace modelserver
